"""Gaussian-splat scenes in the INRIA 3DGS PLY layout.

Layout (binary little-endian float32, one ``vertex`` element): ``x y z``, optionally
``nx ny nz``, ``f_dc_0..2``, ``f_rest_0..(3K-1)`` channel-major (all K coefficients of red, then
green, then blue; ``K = (degree + 1)^2 - 1``), ``opacity`` (logit), ``scale_0..2`` (log),
``rot_0..3`` (quaternion, w first, not necessarily normalised). Any other property is carried
through untouched, and the file's property order is remembered: reading and writing an unmodified
scene gives a byte-identical file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from scenesparse.pointio import PointFileError, open_ply

__all__ = ["GaussianScene", "read_ply", "write_ply", "SH_C0"]

SH_C0 = 0.28209479177387814
_REQUIRED = ("x", "y", "z", "f_dc_0", "f_dc_1", "f_dc_2", "opacity", "scale_0", "scale_1",
             "scale_2", "rot_0", "rot_1", "rot_2", "rot_3")
_KNOWN = set(_REQUIRED) | {"nx", "ny", "nz"}


@dataclass
class GaussianScene:
    """A 3D Gaussian-splat scene (float32 tensors, one row per Gaussian).

    Attributes
    ----------
    means : (N, 3)
    quats : (N, 4)
        Rotation quaternions, w first, as stored (normalise when rendering).
    log_scales : (N, 3)
    opacity_logits : (N,)
    sh_dc : (N, 3)
    sh_rest : (N, K, 3)
        Higher-order SH coefficients, ``K = (degree + 1)^2 - 1`` (0 for degree 0).
    normals : (N, 3) or None
    extra : dict of name -> ndarray
        Other per-Gaussian properties, written back as they came.
    """

    means: torch.Tensor
    quats: torch.Tensor
    log_scales: torch.Tensor
    opacity_logits: torch.Tensor
    sh_dc: torch.Tensor
    sh_rest: torch.Tensor
    normals: torch.Tensor | None = None
    extra: dict[str, np.ndarray] = field(default_factory=dict)
    layout: list[tuple[str, str]] | None = None  # the PLY property order and dtypes
    comments: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return int(self.means.shape[0])

    @property
    def sh_degree(self) -> int:
        return int(round((self.sh_rest.shape[1] + 1) ** 0.5)) - 1

    @property
    def opacities(self) -> torch.Tensor:
        return torch.sigmoid(self.opacity_logits)

    @property
    def scales(self) -> torch.Tensor:
        return torch.exp(self.log_scales)

    def subset(self, mask: Any) -> GaussianScene:
        """The Gaussians where ``mask`` is true, with every property (a new scene)."""
        m = torch.as_tensor(np.asarray(mask))
        if m.dtype != torch.bool or m.shape != (len(self),):
            raise ValueError(f"mask must be a boolean array of shape ({len(self)},), got "
                             f"{tuple(m.shape)} {m.dtype}")
        mn = m.numpy()
        return replace(
            self, means=self.means[m], quats=self.quats[m], log_scales=self.log_scales[m],
            opacity_logits=self.opacity_logits[m], sh_dc=self.sh_dc[m], sh_rest=self.sh_rest[m],
            normals=None if self.normals is None else self.normals[m],
            extra={k: v[mn] for k, v in self.extra.items()},
        )

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        pts = self.means.detach().numpy()
        return pts.min(axis=0), pts.max(axis=0)


def _rest_names(k: int) -> list[str]:
    return [f"f_rest_{i}" for i in range(3 * k)]


def read_ply(path: str | os.PathLike[str], *, allow_empty: bool = True) -> GaussianScene:
    """Read an INRIA-layout Gaussian-splat PLY; a clear error names the file and the property
    for missing properties, truncated or corrupt files and NaN/inf values (and, without
    ``allow_empty``, a file of no Gaussians)."""
    path = Path(path)
    ply = open_ply(path)
    data = ply["vertex"].data
    if not allow_empty and len(data) == 0:
        raise PointFileError(f"{path}: no Gaussians (its vertex element is empty)")
    names = list(data.dtype.names or ())
    for prop in _REQUIRED:
        if prop not in names:
            raise PointFileError(f"{path}: missing property {prop!r} of the 3DGS layout")
    rest = [n for n in names if n.startswith("f_rest_")]
    k = len(rest) // 3
    if len(rest) % 3 or (k + 1) ** 0.5 % 1 or k > 15 or rest != _rest_names(k):
        raise PointFileError(f"{path}: {len(rest)} f_rest_* properties; expected 0, 9, 24 or 45 "
                             "numbered from f_rest_0")
    for n in names:
        col = data[n]
        if col.dtype.kind == "f" and not np.all(np.isfinite(col)):
            i = int(np.flatnonzero(~np.isfinite(col))[0])
            raise PointFileError(f"{path}: property {n!r} is {col[i]} at vertex {i}")

    def cols(*props: str) -> torch.Tensor:
        return torch.from_numpy(np.column_stack([data[p] for p in props]).astype(np.float32))

    sh_rest = (cols(*_rest_names(k)).reshape(-1, 3, k).transpose(1, 2).contiguous() if k
               else torch.zeros((len(data), 0, 3), dtype=torch.float32))
    has_normals = all(n in names for n in ("nx", "ny", "nz"))
    extra = {n: np.array(data[n]) for n in names
             if n not in _KNOWN and not n.startswith("f_rest_")}
    return GaussianScene(
        means=cols("x", "y", "z"), quats=cols("rot_0", "rot_1", "rot_2", "rot_3"),
        log_scales=cols("scale_0", "scale_1", "scale_2"),
        opacity_logits=torch.from_numpy(np.array(data["opacity"], dtype=np.float32)),
        sh_dc=cols("f_dc_0", "f_dc_1", "f_dc_2"), sh_rest=sh_rest,
        normals=cols("nx", "ny", "nz") if has_normals else None, extra=extra,
        layout=[(n, data.dtype[n].str) for n in names], comments=list(ply.comments),
    )


def write_ply(path: str | os.PathLike[str], scene: GaussianScene) -> None:
    """Write the scene in the INRIA layout (the order it was read in, if any)."""
    from plyfile import PlyData, PlyElement

    n = len(scene)
    k = scene.sh_rest.shape[1]
    values: dict[str, np.ndarray] = {}

    def put(names: list[str], t: torch.Tensor) -> None:
        arr = t.detach().cpu().numpy().reshape(n, -1)
        for i, name in enumerate(names):
            values[name] = arr[:, i]

    put(["x", "y", "z"], scene.means)
    if scene.normals is not None:
        put(["nx", "ny", "nz"], scene.normals)
    put(["f_dc_0", "f_dc_1", "f_dc_2"], scene.sh_dc)
    if k:
        put(_rest_names(k), scene.sh_rest.transpose(1, 2))  # channel-major
    put(["opacity"], scene.opacity_logits)
    put(["scale_0", "scale_1", "scale_2"], scene.log_scales)
    put(["rot_0", "rot_1", "rot_2", "rot_3"], scene.quats)
    values.update(scene.extra)
    default = [(name, "<f4") for name in values]
    layout = [(nm, dt) for nm, dt in (scene.layout or default) if nm in values]
    layout += [(nm, dt) for nm, dt in default if nm not in dict(layout)]
    data = np.empty(n, dtype=layout)
    for name, _ in layout:
        data[name] = values[name]
    PlyData([PlyElement.describe(data, "vertex")], text=False, byte_order="<",
            comments=scene.comments).write(str(path))
