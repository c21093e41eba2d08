"""Gaussian-splat scenes in the INRIA 3DGS PLY layout.

Layout (binary little-endian float32, one ``vertex`` element): ``x y z``, optionally
``nx ny nz``, ``f_dc_0..2``, ``f_rest_0..(3K-1)`` channel-major (all K coefficients of red, then
green, then blue; ``K = (degree + 1)^2 - 1``), ``opacity`` (logit), ``scale_0..2`` (log),
``rot_0..3`` (quaternion, w first, not necessarily normalised). Any other property is carried
through untouched (in its type in the file, unless it was edited to values that type cannot hold,
such as 1.5 or 300 in a uchar: then in theirs), and the file's property order is remembered:
reading and writing an unmodified float32 little-endian scene gives a byte-identical file. Not
kept: elements other than ``vertex`` and ``obj_info`` lines (reading warns of them), a big-endian
byte order (files are written little-endian) and the precision of core properties stored as
float64 (they are read as float32 and written back in their type).
A list property of the vertex element is refused when read.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from scenesparse.pointio import PointFileError, _same_values, open_ply, warn_unread
from sparsebox.exceptions import InvalidParameterError

__all__ = ["GaussianScene", "read_ply", "write_ply", "check_finite", "SH_C0"]

SH_C0 = 0.28209479177387814
_REQUIRED = ("x", "y", "z", "f_dc_0", "f_dc_1", "f_dc_2", "opacity", "scale_0", "scale_1",
             "scale_2", "rot_0", "rot_1", "rot_2", "rot_3")
_KNOWN = set(_REQUIRED) | {"nx", "ny", "nz"}
#: the number of higher-order SH coefficients per channel of degrees 0 to 3
_SH_REST_COUNTS = (0, 3, 8, 15)


@dataclass
class GaussianScene:
    """A 3D Gaussian-splat scene (float32 tensors, one row per Gaussian; a scene wholly in
    float64 renders too, on the torch backend in double precision).

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

    def __eq__(self, other: object) -> bool:
        """Equal tensors (shape, dtype and values, wherever they live; NaN equal to NaN, so that
        a scene equals itself), extra properties, layout and comments; the dataclass's own
        equality compared tensors with ``==`` and raised
        "Boolean value of Tensor ... ambiguous".

        >>> import copy
        >>> one = GaussianScene(torch.zeros(1, 3), torch.tensor([[1.0, 0, 0, 0]]), torch.zeros(1, 3),
        ...                     torch.zeros(1), torch.zeros(1, 3), torch.zeros(1, 0, 3))
        >>> other = copy.deepcopy(one)
        >>> one == other, one == GaussianScene(*(t + 1 for t in (one.means, one.quats,
        ...     one.log_scales, one.opacity_logits, one.sh_dc, one.sh_rest)))
        (True, False)
        """
        if not isinstance(other, GaussianScene):
            return NotImplemented

        def same(a: torch.Tensor | None, b: torch.Tensor | None) -> bool:
            if a is None or b is None:
                return a is b
            if a.shape != b.shape or a.dtype != b.dtype:
                return False
            a, b = a.detach().cpu(), b.detach().cpu()
            return torch.equal(a, b) or bool(torch.isclose(a, b, rtol=0.0, atol=0.0,
                                                           equal_nan=True).all())

        return (all(same(getattr(self, k), getattr(other, k)) for k in (
                    "means", "quats", "log_scales", "opacity_logits", "sh_dc", "sh_rest",
                    "normals"))
                and self.extra.keys() == other.extra.keys()
                and all(_same_values(v, other.extra[k]) for k, v in self.extra.items())
                and self.layout == other.layout and self.comments == other.comments)

    def __post_init__(self) -> None:
        for name in ("means", "quats", "log_scales", "opacity_logits", "sh_dc", "sh_rest",
                     "normals"):
            value = getattr(self, name)
            if not torch.is_tensor(value) and (value is not None or name != "normals"):
                raise InvalidParameterError(f"GaussianScene: {name} must be a torch tensor, got "
                                            f"{type(value).__module__}.{type(value).__name__} "
                                            "(torch.as_tensor turns an array into one)")
        n = self.means.shape[0] if self.means.dim() == 2 else -1
        shapes = {"means": (n, 3), "quats": (n, 4), "log_scales": (n, 3), "opacity_logits": (n,),
                  "sh_dc": (n, 3)}
        if self.normals is not None:
            shapes["normals"] = (n, 3)
        for name, shape in shapes.items():
            if tuple(getattr(self, name).shape) != shape or n < 0:
                raise InvalidParameterError(
                    f"GaussianScene: {name} must have shape {_shape(shape)}, got "
                    f"{tuple(getattr(self, name).shape)}")
        # float64 means beside float32 quats were taken, then every render failed with torch's
        # "expected scalar type Double but found Float"; a scene wholly in float64 renders (the
        # torch backend's gradient checks run in double precision)
        dtype = self.means.dtype
        if not dtype.is_floating_point:
            raise InvalidParameterError(f"GaussianScene: means must be floating point (float32, "
                                        f"as read_ply gives), got {dtype}")
        for name in ("quats", "log_scales", "opacity_logits", "sh_dc", "sh_rest"):
            other = getattr(self, name).dtype
            if other != dtype:
                raise InvalidParameterError(
                    f"GaussianScene: {name} is {other} where means is {dtype}: give the rendered "
                    "attributes one floating dtype (float32, as read_ply gives; .float() "
                    "converts)")
        k = self.sh_rest.shape[1] if self.sh_rest.dim() == 3 else -1
        if tuple(self.sh_rest.shape) != (n, k, 3) or k not in _SH_REST_COUNTS:
            raise InvalidParameterError(
                f"GaussianScene: sh_rest must have shape (N, K, 3) with K in "
                f"{_SH_REST_COUNTS} (SH degree 0-3) and N = {n}, got {tuple(self.sh_rest.shape)}")
        self._check_extra()

    def _check_extra(self) -> None:
        """Refuse an ``extra`` property that is not one value per Gaussian: checked when the
        scene is made and again where it is used (``subset``, ``write_ply``), since the dict can
        be filled afterwards (such a property failed there with numpy's broadcast error or an
        IndexError)."""
        n = len(self)
        for name, values in self.extra.items():
            if np.shape(values)[:1] != (n,) or np.ndim(values) != 1:
                raise InvalidParameterError(f"GaussianScene: extra[{name!r}] must have shape "
                                            f"({n},), got {np.shape(values)}")

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
        self._check_extra()
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
        """The corners ``(lowest, highest)`` of the box around the means (an error for a scene
        of no Gaussian, which has none)."""
        if not len(self):
            raise InvalidParameterError("the scene has no Gaussian, so no bounds")
        pts = self.means.detach().cpu().numpy()
        return pts.min(axis=0), pts.max(axis=0)


def check_finite(scene: GaussianScene, name: str = "scene") -> None:
    """Refuse a scene holding NaN or infinite values (as :func:`read_ply` refuses a file that
    does), naming the attribute and the first Gaussian: one such value turns the scores into
    NaN or ranks the Gaussian arbitrarily, and a training step spreads NaN to every Gaussian.

    Examples
    --------
    >>> scene = GaussianScene(means=torch.tensor([[0.0, 0, 0], [0, float("nan"), 0]]),
    ...                       quats=torch.tensor([[1.0, 0, 0, 0]] * 2),
    ...                       log_scales=torch.zeros(2, 3), opacity_logits=torch.zeros(2),
    ...                       sh_dc=torch.zeros(2, 3), sh_rest=torch.zeros(2, 0, 3))
    >>> try:
    ...     check_finite(scene)
    ... except ValueError as err:
    ...     print(err)
    scene.means is nan at Gaussian 1: scoring and training need finite values
    """
    for attr in ("means", "quats", "log_scales", "opacity_logits", "sh_dc", "sh_rest"):
        values = getattr(scene, attr).detach().reshape(len(scene), -1) if len(scene) else None
        if values is None or bool(torch.isfinite(values).all()):
            continue
        row = int((~torch.isfinite(values)).any(dim=1).nonzero()[0, 0])
        value = float(values[row][~torch.isfinite(values[row])][0])
        raise InvalidParameterError(f"{name}.{attr} is {value} at Gaussian {row}: scoring and "
                                    "training need finite values")


def _shape(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join("N" if i == 0 else str(d) for i, d in enumerate(shape)) + (
        ",)" if len(shape) == 1 else ")")


def _ply_type(name: str, values: np.ndarray) -> str:
    """The PLY type an extra property is written as: its own where PLY has it, float32 for
    float16, 32-bit for 64-bit integers whose values fit (PLY has no 64-bit integers), else an
    error."""
    kind, size = values.dtype.kind, values.dtype.itemsize
    if kind == "b":
        return "u1"
    if kind == "f" and size == 2:  # PLY has no float16: widened, exactly
        return "<f4"
    if kind == "f" and size in (4, 8) or kind in "iu" and size <= 4:
        return values.dtype.newbyteorder("<").str
    if kind in "iu" and size == 8:
        small = np.dtype(f"<{kind}4")
        info = np.iinfo(small)
        if values.size == 0 or (values.min() >= info.min and values.max() <= info.max):
            return small.str
        raise InvalidParameterError(f"extra property {name!r} holds 64-bit integers beyond "
                                    "32 bits, which PLY cannot store")
    raise InvalidParameterError(f"extra property {name!r} has type {values.dtype}, which PLY "
                                "cannot store (numbers of at most 32 bits, or float64)")


def _holds(dtype: Any, values: Any) -> bool:
    """Whether ``dtype`` stores ``values``: exactly (none wrapped, cut or rounded), except
    float values in a float type, which are rounded to its precision (as the core properties
    are to float32) but must neither overflow nor vanish to 0."""
    values, dtype = np.asarray(values), np.dtype(dtype)
    with np.errstate(invalid="ignore", over="ignore", under="ignore"):
        stored = values.astype(dtype)
        if dtype.kind == "f" and values.dtype.kind == "f":  # rounded, not lost to inf or 0
            return bool(np.all(np.isfinite(stored) & ((stored != 0) | (values == 0))))
        return bool(np.array_equal(stored.astype(values.dtype), values))


def _rest_names(k: int) -> list[str]:
    return [f"f_rest_{i}" for i in range(3 * k)]


def read_ply(path: str | os.PathLike[str], *, allow_empty: bool = True) -> GaussianScene:
    """Read an INRIA-layout Gaussian-splat PLY; a clear error names the file and the property
    for missing properties, truncated or corrupt files, NaN/inf values and list properties
    (and, without ``allow_empty``, a file of no Gaussians)."""
    path = Path(path)
    ply = open_ply(path)
    warn_unread(path, ply, ("vertex",), "scene")
    data = ply["vertex"].data
    if not allow_empty and len(data) == 0:
        raise PointFileError(f"{path}: no Gaussians (its vertex element is empty)")
    names = list(data.dtype.names or ())
    if "packed_position" in names:  # each property asked for was "missing": name the format
        raise PointFileError(f"{path}: a compressed PLY (SuperSplat / PlayCanvas: packed_* "
                             "properties in chunks), not the INRIA 3DGS layout; export it "
                             "uncompressed (SuperSplat's 'Export > PLY', or splat-transform) "
                             "and give that file")
    for prop in _REQUIRED:
        if prop not in names:
            raise PointFileError(f"{path}: missing property {prop!r} of the 3DGS layout")
    rest = [n for n in names if n.startswith("f_rest_")]
    k = len(rest) // 3
    if len(rest) % 3 or (k + 1) ** 0.5 % 1 or k > 15:
        raise PointFileError(f"{path}: {len(rest)} f_rest_* properties; expected 0, 9, 24 or 45")
    if set(rest) != set(_rest_names(k)):  # in any order, as INRIA's reader sorts them
        odd = sorted(set(rest) - set(_rest_names(k)))[0]
        raise PointFileError(f"{path}: {len(rest)} f_rest_* properties must be f_rest_0 .. "
                             f"f_rest_{len(rest) - 1}, but one is {odd}")
    for n in names:
        col = data[n]
        if col.dtype.kind == "O":  # found out only when written, after all the work
            raise PointFileError(f"{path}: property {n!r} is a list, which a Gaussian-splat scene "
                                 "cannot carry through (one number per Gaussian)")
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


def write_ply(path: str | os.PathLike[str], scene: GaussianScene, *,
              name: str | os.PathLike[str] | None = None) -> None:
    """Write the scene in the INRIA layout (the order it was read in, if any). A scene holding
    NaN or infinite values is refused (``ValueError``, naming the file as ``name``, default
    ``path``: a staged file's final name) before the file is opened: :func:`read_ply` would
    refuse what it wrote."""
    from plyfile import PlyData, PlyElement

    if not isinstance(scene, GaussianScene):  # was "'dict' object has no attribute 'sh_rest'"
        raise InvalidParameterError(f"write_ply takes a GaussianScene, got "
                                    f"{type(scene).__name__} (a point cloud: "
                                    "scenesparse.pointio.write_points)")
    scene._check_extra()
    n = len(scene)
    k = scene.sh_rest.shape[1]
    values: dict[str, np.ndarray] = {}

    def put(names: list[str], t: torch.Tensor) -> None:
        arr = t.detach().cpu().numpy().reshape(n, len(names))
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
    shown = path if name is None else name
    for prop, col in values.items():  # read_ply refuses such a file: write none
        col = np.asarray(col)
        if col.dtype.kind == "f" and not np.all(np.isfinite(col)):
            i = int(np.flatnonzero(~np.isfinite(col))[0])
            raise ValueError(f"{shown}: not written: property {prop!r} is {col[i]} at Gaussian "
                             f"{i} (a PLY of non-finite values does not read back)")
    default = {name: _ply_type(name, np.asarray(scene.extra[name])) if name in scene.extra
               else "<f4" for name in values}
    # the file's own types, but an extra property whose values its type no longer holds (edited
    # since it was read: 1.7 in a short, 300 in a uchar) is written in the values' own type
    layout = [(nm, dt if nm not in scene.extra or _holds(dt, values[nm]) else default[nm])
              for nm, dt in (scene.layout or default.items()) if nm in values]
    # a property the file had not (SH coefficients added since it was read) goes where the INRIA
    # layout puts it, after the last one before it there (it was appended after rot_3)
    order = {nm: i for i, nm in enumerate(values)}
    placed = {nm for nm, _ in layout}
    for nm, dt in default.items():
        if nm not in placed:
            at = max((j + 1 for j, (other, _) in enumerate(layout) if order[other] < order[nm]),
                     default=0)
            layout.insert(at, (nm, dt))
    data = np.empty(n, dtype=layout)
    for name, _ in layout:
        data[name] = values[name]
    PlyData([PlyElement.describe(data, "vertex")], text=False, byte_order="<",
            comments=scene.comments).write(str(path))


def gaussians_digest(scene: GaussianScene) -> bytes:
    """A digest of the Gaussians' values, in order, whatever their dtype or device: what an
    estimator's ``transform`` compares with the fitted scene's (edited in place after ``fit``,
    a scene is another).

    Examples
    --------
    >>> scene = GaussianScene(torch.zeros(2, 3), torch.tensor([[1.0, 0, 0, 0]] * 2),
    ...                       torch.zeros(2, 3), torch.zeros(2), torch.zeros(2, 3),
    ...                       torch.zeros(2, 0, 3))
    >>> before = gaussians_digest(scene)
    >>> before == gaussians_digest(scene.subset(np.ones(2, dtype=bool)))  # an equal copy
    True
    >>> _ = scene.means.add_(1.0)  # edited in place: another scene
    >>> gaussians_digest(scene) == before
    False
    """
    from sparsebox.base import values_digest

    return values_digest(getattr(scene, name) for name in (
        "means", "quats", "log_scales", "opacity_logits", "sh_dc", "sh_rest"))
