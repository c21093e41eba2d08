"""The scene methods, as the registry knows them (imported by the registry through the
``sparsebox.methods`` entry point; nothing heavy is imported here)."""

from sparsebox.registry import register

#: the class of every built-in Gaussian score (prune-splats runs these, and only these)
GAUSSIAN_PRUNER = "scenesparse.importance:GaussianPruner"
for name, summary, reference in (
        ("radsplat", "max blending weight alpha T over all rays", "Niemeyer et al., 2024"),
        ("lightgaussian", "global significance: sum of opacity T over the pixels hit, times "
         "a volume factor", "Fan et al., NeurIPS 2024"),
        ("minisplatting", "sum of blending weights alpha T", "Fang, Wang, ECCV 2024"),
        ("pup", "PUP 3D-GS sensitivity: log det of the Fisher information of mean and scale",
         "Hanson et al., 2024"),
        ("opacity", "the opacity alone (no rendering)", ""),
        ("volume", "the ellipsoid's volume alone (no rendering)", "")):
    register(name, item="gaussian", target=GAUSSIAN_PRUNER, data="splats", params={"score": name},
             summary=summary, reference=reference)

register("graph", item="point", target="scenesparse.points:GraphResampler", data="points",
         summary="graph-based resampling: curvature-weighted draw at an exact count",
         reference="Chen et al., IEEE TSP 2018")
register("voxel", item="point", target="scenesparse.points:VoxelDownsampler", data="points",
         summary="open3d voxel down-sampling, one point per voxel, exact count")
register("fps", item="point", target="scenesparse.points:FarthestPointSampler", data="points",
         summary="open3d farthest-point sampling")
register("uniform", item="point", target="scenesparse.points:UniformDownsampler", data="points",
         summary="evenly spaced in file order")
register("statistical", item="point", target="scenesparse.points:StatisticalOutlierRemover",
         data="points", summary="open3d statistical outlier removal (a filter, no size)")
register("radius", item="point", target="scenesparse.points:RadiusOutlierRemover",
         data="points", summary="open3d radius outlier removal (a filter, no size)")
register("queen", item="residual", target="scenesparse.queen.encoder:QueenResiduals",
         data="splat-frames", summary="QUEEN's gated position residuals from one frame to the "
         "next (hard-concrete L0 gates, quantised latent residuals)",
         reference="Girish et al., NeurIPS 2024")
register("hollownerf", item="hash cell", target="scenesparse.nerf.estimator:HollowNeRF",
         data="nerf-views", summary="hash-grid NeRF whose table entries are pruned by a "
         "trainable saliency grid held to a budget (augmented Lagrangian)",
         reference="Xie et al., ICCV 2023")
