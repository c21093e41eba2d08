"""Generated graphs shared by the benchmarks."""

from __future__ import annotations

import numpy as np
from _common import fail
from scipy.spatial import Delaunay

from sparsebox import SparseStructure


def check_big_points(points: int) -> None:
    """Refuse (:func:`_common.fail`) a ``--big-points`` of 1 to 9: 0 means no generated graph,
    and a triangulation of fewer than 10 points is no graph to time."""
    if 0 < points < 10:
        fail(f"--big-points must be 0 (no generated graph) or at least 10, got {points}")


def delaunay_graph(num_points: int, seed: int = 0, spatial_order: bool = False) -> SparseStructure:
    """Delaunay triangulation of uniform random points in the unit square (about 3 edges per
    point). Node ids follow the random draw, or with ``spatial_order`` a row-major walk over a
    grid of cells, as a mesh generator would number them (neighbours get nearby ids)."""
    pts = np.random.default_rng(seed).random((num_points, 2))
    if spatial_order:
        cells = int(np.sqrt(num_points))
        cell = np.minimum((pts * cells).astype(np.int64), cells - 1)
        pts = pts[np.lexsort((cell[:, 0], cell[:, 1]))]
    tri = Delaunay(pts).simplices.astype(np.int64)
    a = np.concatenate([tri[:, [0, 1]], tri[:, [1, 2]], tri[:, [0, 2]]])
    a.sort(axis=1)
    key = np.unique(a[:, 0] * num_points + a[:, 1])
    u, v = key // num_points, key % num_points
    return SparseStructure(u, v, np.ones(u.size), np.arange(u.size), num_nodes=num_points,
                           undirected=True, weighted=False)
