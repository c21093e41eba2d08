"""scenesparse: pruning for Gaussian splats and point clouds, built on the sparsebox core."""

from scenesparse.cameras import Camera, cameras_from_transforms, orbit_cameras
from scenesparse.gaussians import GaussianScene, read_ply, write_ply
from scenesparse.importance import GaussianPruner, importance_scores, render_statistics
from scenesparse.pointio import PointCloud, read_points, write_points
from scenesparse.render import render, render_fast, render_gsplat
from scenesparse.strategy import PruneStrategy, prune_

__all__ = [
    "Camera",
    "GaussianPruner",
    "GaussianScene",
    "PointCloud",
    "PruneStrategy",
    "cameras_from_transforms",
    "importance_scores",
    "orbit_cameras",
    "prune_",
    "read_ply",
    "read_points",
    "render",
    "render_fast",
    "render_gsplat",
    "render_statistics",
    "write_ply",
    "write_points",
]
