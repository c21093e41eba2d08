"""`sparsebox scene ...` commands."""

from __future__ import annotations

import json
import time
from enum import Enum
from pathlib import Path

import typer

scene_app = typer.Typer(help="Pruning for Gaussian splats and point clouds.", no_args_is_help=True)


class PointMethod(str, Enum):
    graph = "graph"
    voxel = "voxel"
    fps = "fps"
    uniform = "uniform"
    statistical = "statistical"
    radius = "radius"


@scene_app.command("prune-points")
def prune_points(
    source: Path = typer.Argument(..., help="Input cloud (.ply, .pcd, .xyz)."),
    target: Path = typer.Argument(..., help="Output cloud; every attribute is kept."),
    method: PointMethod = typer.Option(PointMethod.graph, help="How to choose the points."),
    keep_ratio: float = typer.Option(None, help="Fraction of points to keep (graph, voxel, "
                                     "fps, uniform)."),
    voxel_size: float = typer.Option(None, help="voxel: edge length instead of a keep ratio."),
    k: int = typer.Option(10, help="graph: neighbours in the kNN graph."),
    uniform_share: float = typer.Option(0.5, help="graph: share of uniform sampling."),
    nb_neighbors: int = typer.Option(20, help="statistical: neighbours."),
    std_ratio: float = typer.Option(2.0, help="statistical: standard deviations."),
    radius: float = typer.Option(None, help="radius: search radius."),
    min_points: int = typer.Option(16, help="radius: neighbours needed within the radius."),
    seed: int = typer.Option(0),
    ascii_out: bool = typer.Option(False, "--ascii", help="Write ASCII instead of binary."),
    report: Path = typer.Option(None, help="JSON report: total, kept, chamfer, hausdorff, "
                                "seconds."),
) -> None:
    """Down-sample or clean a point cloud; writes the kept points with all their attributes."""
    from scenesparse import points as P
    from scenesparse.pointio import read_points, write_points

    cloud = read_points(source)
    xyz = cloud.points
    start = time.perf_counter()
    needs_ratio = method in (PointMethod.graph, PointMethod.fps, PointMethod.uniform)
    if needs_ratio and keep_ratio is None:
        raise typer.BadParameter(f"--keep-ratio is needed for --method {method.value}")
    if method is PointMethod.graph:
        mask = P.graph_resample_mask(xyz, keep_ratio=keep_ratio, k=k, uniform_share=uniform_share,
                                     seed=seed)
    elif method is PointMethod.voxel:
        if (keep_ratio is None) == (voxel_size is None):
            raise typer.BadParameter("--method voxel takes --keep-ratio or --voxel-size")
        mask = P.voxel_mask(xyz, voxel_size=voxel_size, keep_ratio=keep_ratio)
    elif method is PointMethod.fps:
        mask = P.farthest_point_mask(xyz, keep_ratio=keep_ratio)
    elif method is PointMethod.uniform:
        mask = P.uniform_mask(xyz, keep_ratio=keep_ratio)
    elif method is PointMethod.statistical:
        mask = P.statistical_outlier_mask(xyz, nb_neighbors=nb_neighbors, std_ratio=std_ratio)
    else:
        if radius is None:
            raise typer.BadParameter("--method radius needs --radius")
        mask = P.radius_outlier_mask(xyz, radius=radius, min_points=min_points)
    seconds = time.perf_counter() - start
    kept = cloud.subset(mask)
    write_points(target, kept, binary=not ascii_out)
    _report(report, source, target, len(cloud), kept.points, xyz, seconds, method.value)


@scene_app.command("prune-splats")
def prune_splats(
    source: Path = typer.Argument(..., help="A Gaussian-splat PLY (INRIA layout)."),
    target: Path = typer.Argument(..., help="The pruned PLY (same layout)."),
    keep_ratio: float = typer.Option(0.34, help="Fraction of Gaussians kept."),
    score: str = typer.Option("radsplat", help="radsplat | lightgaussian | minisplatting | "
                              "opacity | volume"),
    rounds: int = typer.Option(3, min=1, help="Prune in rounds, re-scoring what is left."),
    views: int = typer.Option(32, min=1, help="Orbit views used for scoring."),
    resolution: int = typer.Option(256, min=16, help="Render size (square) for scoring."),
    eval_views: int = typer.Option(8, min=1, help="Held-out views for PSNR and SSIM."),
    report: Path = typer.Option(None, help="JSON report (total, kept, bytes_in, bytes_out, psnr, "
                                "ssim, seconds)."),
    image: Path = typer.Option(None, help="Side-by-side PNG (default: next to TARGET)."),
) -> None:
    """Prune a trained splat scene on the CPU, without the training checkpoint."""
    from scenesparse.splatjob import prune_splat_file

    summary = prune_splat_file(source, target, keep_ratio=keep_ratio, score=score,
                               rounds=rounds, views=views, resolution=resolution,
                               eval_views=eval_views, image=image, progress=True)
    if report is not None:
        report.write_text(json.dumps(summary, indent=2))
    typer.echo(json.dumps(summary))


@scene_app.command("remove-floaters")
def remove_floaters(
    source: Path = typer.Argument(..., help="A Gaussian-splat PLY (or any point cloud)."),
    target: Path = typer.Argument(..., help="Output with the floaters removed."),
    nb_neighbors: int = typer.Option(20, help="Neighbours of each splat centre."),
    std_ratio: float = typer.Option(2.0, help="Standard deviations past the mean distance."),
    report: Path = typer.Option(None, help="JSON report."),
) -> None:
    """Remove isolated splats (floaters) by the statistical outlier test on their centres; every
    splat property is written back unchanged."""
    from scenesparse.pointio import read_points, write_points
    from scenesparse.points import floater_mask

    cloud = read_points(source)
    start = time.perf_counter()
    mask = floater_mask(cloud.points, nb_neighbors=nb_neighbors, std_ratio=std_ratio)
    seconds = time.perf_counter() - start
    kept = cloud.subset(mask)
    write_points(target, kept)
    _report(report, source, target, len(cloud), kept.points, cloud.points, seconds, "floaters")


def _report(path, source, target, total, kept_xyz, all_xyz, seconds, method) -> None:
    from scenesparse.points import chamfer_hausdorff

    chamfer, hausdorff = chamfer_hausdorff(kept_xyz, all_xyz)
    summary = {"method": method, "input": str(source), "output": str(target), "total": total,
               "kept": len(kept_xyz), "chamfer": chamfer, "hausdorff": hausdorff,
               "seconds": seconds}
    if path is not None:
        Path(path).write_text(json.dumps(summary, indent=2))
    typer.echo(json.dumps(summary))
