"""scenesparse: pruning for Gaussian splats, point clouds and hash-grid NeRFs."""

__all__: list[str] = []
