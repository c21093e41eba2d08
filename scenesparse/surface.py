"""Triangle meshes from PLY and uniform point sampling on their surface."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from scenesparse.pointio import PointFileError, face_index_property, open_ply
from sparsebox._validation import check_int

__all__ = ["read_mesh", "sample_surface"]


def read_mesh(path: str | os.PathLike[str]) -> tuple[np.ndarray, np.ndarray]:
    """``(vertices (V, 3), triangles (F, 3))`` from a PLY mesh (faces with more than three
    corners are fanned into triangles)."""
    path = Path(path)
    ply = open_ply(path, ("vertex", "face"))
    v = ply["vertex"].data
    vertices = np.column_stack([v["x"], v["y"], v["z"]]).astype(np.float64)
    face_prop = face_index_property(ply["face"].data, path)
    tris = []
    for face in ply["face"].data[face_prop]:
        face = np.asarray(face, dtype=np.int64)
        for i in range(1, len(face) - 1):
            tris.append((face[0], face[i], face[i + 1]))
    triangles = np.array(tris, dtype=np.int64).reshape(-1, 3)
    if triangles.size and (triangles.min() < 0 or triangles.max() >= len(vertices)):
        raise PointFileError(f"{path}: a face names a vertex outside 0..{len(vertices) - 1}")
    return vertices, triangles


def sample_surface(vertices: np.ndarray, triangles: np.ndarray, count: int,
                   seed: int = 0) -> np.ndarray:
    """``count`` points uniformly distributed over the mesh surface (area-weighted triangles,
    uniform barycentric coordinates)."""
    count = check_int("count", count, minimum=0)
    rng = np.random.default_rng(seed)
    a, b, c = (vertices[triangles[:, i]] for i in range(3))
    area = 0.5 * np.linalg.norm(np.cross(b - a, c - a), axis=1)
    if not area.sum() > 0:
        raise ValueError("the mesh has no area")
    tri = rng.choice(len(triangles), size=count, p=area / area.sum())
    r1, r2 = rng.random(count), rng.random(count)
    s = np.sqrt(r1)
    w0, w1, w2 = 1 - s, s * (1 - r2), s * r2
    return w0[:, None] * a[tri] + w1[:, None] * b[tri] + w2[:, None] * c[tri]
