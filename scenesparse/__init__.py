"""scenesparse: pruning for Gaussian splats and point clouds, built on the sparsebox core.

Names are imported on first use.
"""

from sparsebox._lazy import lazy_exports

_EXPORTS = {
    "Camera": ".cameras", "cameras_from_transforms": ".cameras", "orbit_cameras": ".cameras",
    "GaussianScene": ".gaussians", "read_ply": ".gaussians", "write_ply": ".gaussians",
    "GaussianPruner": ".importance", "importance_scores": ".importance",
    "render_statistics": ".importance",
    "PointCloud": ".pointio", "read_points": ".pointio", "write_points": ".pointio",
    "GraphResampler": ".points", "VoxelDownsampler": ".points", "UniformDownsampler": ".points",
    "FarthestPointSampler": ".points", "StatisticalOutlierRemover": ".points",
    "RadiusOutlierRemover": ".points",
    "render": ".rendering",
    "PruneStrategy": ".strategy", "PruneState": ".strategy", "prune_": ".training",
    "SplatTrainer": ".training",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
