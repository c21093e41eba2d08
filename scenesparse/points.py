"""Point-cloud pruning: graph-based resampling, open3d's down-sampling and outlier removal, and
floater removal for Gaussian splats. Every method is an estimator (:class:`sparsebox.base.Sparsifier`)
whose ``fit(points)`` sets a keep-mask over the input points, so all attributes survive (apply it
with ``transform`` or :meth:`PointCloud.subset`).

Reference for the graph method: S. Chen, D. Tian, C. Feng, A. Vetro, J. Kovacevic, "Fast
Resampling of Three-Dimensional Point Clouds via Graphs", IEEE Trans. Signal Processing 66(3),
2018.
"""

from __future__ import annotations

import math
import numbers
import os
import sys
from typing import Any, NoReturn

import numpy as np
from scipy.spatial import cKDTree

from sparsebox._validation import SEED, Interval, check_int
from sparsebox.base import Sparsifier, values_digest
from sparsebox.exceptions import InvalidParameterError
from sparsebox.select import select
from sparsebox.structure import SparseStructure, _from_torch

__all__ = [
    "knn",
    "knn_graph",
    "local_pca",
    "curvature_scores",
    "geometry_reference",
    "GraphResampler",
    "VoxelDownsampler",
    "UniformDownsampler",
    "FarthestPointSampler",
    "StatisticalOutlierRemover",
    "RadiusOutlierRemover",
    "chamfer_hausdorff",
]


# ------------------------------------------------------------------------------ neighbours
def knn(points: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Distances and indices of each point's ``k`` nearest other points, ``(N, k)`` each, in
    increasing distance (scipy's ``cKDTree``, all cores). A point's duplicates count as
    neighbours at distance 0; the point itself does not.

    Examples
    --------
    >>> d, i = knn(np.array([[0.0, 0, 0], [1.0, 0, 0], [3.0, 0, 0]]), 1)
    >>> d.ravel().tolist(), i.ravel().tolist()
    ([1.0, 1.0, 2.0], [1, 0, 1])
    """
    k = check_int("k", k, minimum=1)
    pts = _check_points(points)
    _span(pts)
    n = pts.shape[0]
    if n <= k:
        raise InvalidParameterError(f"k = {k} neighbours need more than {k} points, got {n}")
    dist, idx = cKDTree(pts).query(pts, k + 1, workers=-1)
    # drop the point itself (at distance 0; with duplicates it may not come first)
    itself = idx == np.arange(n)[:, None]
    keep = ~itself
    keep[~itself.any(axis=1), -1] = False
    return dist[keep].reshape(n, k), idx[keep].reshape(n, k)


def _check_points(points: Any) -> np.ndarray:
    """Positions as a C-contiguous float64 ``(N, 3)`` array of finite numbers."""
    if points is None or isinstance(points, (str, bytes, os.PathLike)):  # None read as [nan]
        raise InvalidParameterError(
            f"points must be an (N, 3) array of positions or a point cloud, got "
            f"{type(points).__name__}" + (": read a file with scenesparse.read_points(path)"
                                          if points is not None else ""))
    given = getattr(points, "dtype", None)
    if isinstance(given, np.dtype) and given.names:  # a PointCloud's records
        raise InvalidParameterError(
            f"points must be an (N, 3) array of positions or a point cloud, got a structured "
            f"array of fields {', '.join(given.names)}: pass the PointCloud itself, or its "
            ".points")
    if type(points).__name__ == "TriangleMesh":  # open3d's: its vertices, and faces to keep
        raise InvalidParameterError(
            "points must be an (N, 3) array of positions or a point cloud, got an open3d "
            "TriangleMesh: pass np.asarray(mesh.vertices), or read the file with "
            "scenesparse.read_points(path), whose cloud keeps the faces")
    def refuse(what: str) -> NoReturn:
        raise InvalidParameterError(f"points must be an (N, 3) array of real numbers or a point "
                                    f"cloud, got {what}")

    try:
        pts = np.asarray(points)
    except (TypeError, ValueError) as err:  # a ragged list
        refuse(f"{type(points).__name__} ({err})")
    if pts.dtype.kind in "bcmMUSV":  # a mask's booleans, complex numbers (their imaginary
        refuse(f"an array of {pts.dtype}")  # parts were dropped with a warning), times, text,
    if pts.dtype.kind == "O":               # records; objects that are no numbers
        odd = next((x for x in pts.flat if x is None or isinstance(x, (str, bytes))), 0)
        if odd != 0:
            refuse(f"{type(points).__name__} holding {odd!r}")
    try:
        pts = np.ascontiguousarray(pts, dtype=np.float64)  # objects: Fraction, pandas' NA...
    except (TypeError, ValueError) as err:
        refuse(f"{type(points).__name__} ({err})")
    if pts.ndim != 2 or pts.shape[1] != 3:
        raise InvalidParameterError(f"points must have shape (N, 3), got {pts.shape}")
    if not np.all(np.isfinite(pts)):
        i = int(np.flatnonzero(~np.isfinite(pts).all(axis=1))[0])
        raise InvalidParameterError(f"points must be finite, got {pts[i].tolist()} at point {i}")
    return pts


def _span(pts: np.ndarray) -> float:
    """The largest extent of ``pts`` (checked) along an axis, refused where it is more than
    squared distances can span: the statistical test kept no point with NaN scores, silently,
    the graph sampler failed on NaN."""
    extent = float(np.ptp(pts, axis=0).max()) if len(pts) else 0.0
    if extent > _MAX_EXTENT:
        raise InvalidParameterError(
            f"points span {extent:.3g} along an axis, beyond the {_MAX_EXTENT:.0e} whose squared "
            "distances float64 holds; scale the cloud (a unit change) before pruning it")
    return extent


#: the largest span of a cloud along an axis: squares of distances up to it, and sums of many,
#: stay finite in float64
_MAX_EXTENT = 1e150


def knn_graph(points: np.ndarray, k: int = 10, *, dist: np.ndarray | None = None,
              idx: np.ndarray | None = None) -> SparseStructure:
    """The directed kNN graph as a :class:`SparseStructure` with Gaussian weights
    ``exp(-d^2 / sigma^2)``, ``sigma^2`` the mean squared neighbour distance. ``O(N k)``."""
    if dist is None or idx is None:
        dist, idx = knn(points, k)
    n, k = idx.shape
    order = np.argsort(idx, axis=1, kind="stable")  # CSR rows in increasing neighbour order
    cols = np.take_along_axis(idx, order, axis=1).astype(np.int64)
    d = np.take_along_axis(dist, order, axis=1)
    sigma2 = max(float(np.mean(d**2)), np.finfo(float).tiny)
    w = np.maximum(np.exp(-(d**2) / sigma2), np.finfo(float).tiny)
    # rows sorted and free of duplicates by construction (a point's k distinct neighbours)
    return SparseStructure.from_csr(np.arange(0, n * k + 1, k), cols.reshape(-1), w.reshape(-1),
                                    num_nodes=n, check=False)


def local_pca(points: np.ndarray, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit normals (smallest principal axis) and surface variation ``l0 / (l0 + l1 + l2)`` of
    each point's neighbourhood (the point and its neighbours ``idx``, ``(N, k)``)."""
    pts = np.ascontiguousarray(points, dtype=np.float64)
    n, k = idx.shape
    indptr = np.arange(0, n * k + 1, k, dtype=np.int64)
    _, normals, variation = _geometry(pts, indptr, idx.reshape(-1), np.ones(n * k),
                                      np.ones(n))
    return normals, variation


def curvature_scores(points: np.ndarray, k: int = 10) -> np.ndarray:
    """Per-point geometric detail: the graph high-pass response of the positions,
    ``x_i - sum_j a_ij x_j`` (``A`` the row-normalised Gaussian kNN graph), projected on the
    local normal and divided by the mean squared neighbour distance.

    What it measures: the normal component of that response approximates the local mean
    curvature times the squared sampling spacing; dividing by the spacing leaves a curvature-like
    number that is large on edges, creases and fine detail and small on flat or gently curved
    parts. The raw response ``|x_i - sum_j a_ij x_j|`` is dominated by the tangential offsets of
    irregular sampling, which is why the projection matters. A point whose ``k`` neighbours all
    coincide with it (duplicates) scores 0. ``O(N k)`` after the kNN search.
    """
    pts = _check_points(points)
    # in units of a power of two near the cloud's span (exact: the same scores at any scale;
    # the kernel's fourth powers of coordinates overflowed at 1e100 and vanished at 1e-100)
    span = _span(pts)
    unit = 2.0 ** round(math.log2(span)) if span > 0 else 1.0
    pts = pts / unit
    dist, idx = knn(pts, k)
    graph = knn_graph(pts, k, dist=dist, idx=idx)
    score, _, _ = _geometry(pts, graph.indptr, graph.indices, graph.weight,
                            np.mean(dist**2, axis=1))
    return score / unit


def _geometry(*args):
    from scenesparse._points_numba import geometry

    return geometry(*args)


def geometry_reference(points: np.ndarray, indptr: np.ndarray, indices: np.ndarray,
                       weight: np.ndarray, squared_dist_mean: np.ndarray
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The specification of the numba kernel behind :func:`curvature_scores` and
    :func:`local_pca`, in numpy (one ``eigh`` per point; slow): per point the normal component
    of ``x_i - sum_j a_ij x_j`` (weights normalised per row) over ``squared_dist_mean[i]``, the
    unit normal (smallest principal axis of the point and its CSR neighbours) and the surface
    variation ``l0 / (l0 + l1 + l2)``. A point whose neighbours all coincide with it
    (``squared_dist_mean[i]`` 0) scores 0. Normals are defined up to sign."""
    n = points.shape[0]
    score, normals, variation = np.empty(n), np.empty((n, 3)), np.empty(n)
    for i in range(n):
        nbrs = indices[indptr[i]:indptr[i + 1]]
        w = weight[indptr[i]:indptr[i + 1]]
        hood = np.vstack([points[i], points[nbrs]])
        centred = hood - hood.mean(axis=0)
        values, vectors = np.linalg.eigh(centred.T @ centred / hood.shape[0])
        normals[i] = vectors[:, 0]
        total = values.sum()
        variation[i] = max(values[0], 0.0) / total if total > 0 else 0.0
        high_pass = points[i] - (w[:, None] * points[nbrs]).sum(axis=0) / w.sum()
        spread = squared_dist_mean[i]  # 0: every neighbour at the point, nothing to measure
        score[i] = abs(high_pass @ normals[i]) / spread if spread > 0 else 0.0
    return score, normals, variation


def _open3d() -> Any:
    # numba's default threading layer clashes with the OpenMP runtime open3d loads
    os.environ.setdefault("NUMBA_THREADING_LAYER", "omp")
    try:
        import open3d as o3d
    except ImportError as err:
        raise ImportError(
            "this method needs open3d: pip install 'sparsebox[points]' (on Linux open3d needs "
            "the system library libusb-1.0-0)") from err
    return o3d


def _o3d_cloud(points: np.ndarray) -> Any:
    o3d = _open3d()
    cloud = o3d.geometry.PointCloud()
    # (open3d takes only writable arrays: a read-only one, np.load(mmap_mode="r"), is copied)
    cloud.points = o3d.utility.Vector3dVector(
        np.require(points, dtype=np.float64, requirements=["C", "W"]))
    return cloud


def _mask_from(indices: Any, n: int) -> np.ndarray:
    mask = np.zeros(n, dtype=bool)
    mask[np.asarray(indices, dtype=np.int64)] = True
    return mask


class _PointMethod(Sparsifier):
    """What the point methods share: the item is a point, ``fit`` takes an ``(N, 3)`` array
    (numpy, or a torch tensor on any device), a
    :class:`~scenesparse.pointio.PointCloud`, an open3d ``PointCloud`` or a Gaussian splat
    scene (:class:`~scenesparse.gaussians.GaussianScene`, a point per Gaussian: floaters),
    ``transform`` returns the kept rows of it (of the same kind; open3d's with their colours and
    normals, a scene's Gaussians whole).

    ``fit(points, y=None)`` and ``fit_transform(points, y=None)`` take scikit-learn's target
    argument and ignore it, as its transformers do, so the methods work in a ``Pipeline``."""

    item = "point"
    #: whether the method measures distances between points (a cloud too wide for their squares
    #: is refused; the voxel sampler's, to a voxel's mean, too); the uniform sampler does not
    _measures_distances = True

    @classmethod
    def _positions(cls, points: Any) -> np.ndarray:
        pts = _check_points(_xyz_of(points))
        if cls._measures_distances:
            _span(pts)
        return pts

    def _num_items(self, points: Any) -> int:
        return len(_xyz_of(points))

    def _fitted_on_points(self, pts: np.ndarray) -> None:
        """Remember which positions ``fit`` read (``pts``, checked), in order, for ``transform``
        to refuse other points of the same count: the mask keeps points by position."""
        self._fitted_points = values_digest([pts])

    def _other_than_fitted(self, points: Any, n: int) -> str | None:
        """Why ``points`` are not the ones ``fit`` saw, in that order (None where they are, or
        for an estimator pickled before positions were remembered)."""
        fitted = getattr(self, "_fitted_points", None)
        if fitted is None or values_digest([self._positions(points)]) == fitted:
            return None
        return (f"transform got other points than the {n} {type(self).__name__} was fitted on "
                "(as many, but not the same positions in the same order); call fit on them")

    def _apply(self, points: Any) -> Any:
        if hasattr(points, "subset"):
            return points.subset(self.mask_)
        torch = sys.modules.get("torch")
        if torch is not None and isinstance(points, torch.Tensor):  # a tensor, on its device
            return points[torch.from_numpy(self.mask_).to(points.device)]
        if _is_tensor_cloud(points):  # open3d.t: a mask on the cloud's device
            if not self.mask_.size:  # open3d's select_by_mask fails on an empty cloud
                return points.clone()
            return points.select_by_mask(_open3d().core.Tensor(self.mask_, device=points.device))
        if hasattr(points, "select_by_index"):  # open3d
            return points.select_by_index(np.flatnonzero(self.mask_).tolist())
        return np.asarray(points)[self.mask_]




def _is_tensor_cloud(points: Any) -> bool:
    """An ``open3d.t.geometry.PointCloud`` (its positions in ``point.positions``)."""
    return hasattr(points, "point") and hasattr(points, "select_by_mask")


def _xyz_of(points: Any) -> Any:
    """The positions of what a point method takes: an array (numpy, or a torch tensor, which
    ``transform`` returns as a tensor on its device), a
    :class:`~scenesparse.pointio.PointCloud`, an open3d ``PointCloud`` (legacy or tensor), or a
    :class:`~scenesparse.gaussians.GaussianScene` (its Gaussians' centres)."""
    if hasattr(points, "means") and hasattr(points, "subset"):  # a GaussianScene: its centres
        return points.means.detach().cpu().numpy()
    if _is_tensor_cloud(points):
        if "positions" not in points.point:  # an empty cloud, unless it holds other attributes
            if len(points.point):
                raise InvalidParameterError(f"the open3d.t PointCloud has no positions, only "
                                            f"{', '.join(sorted(points.point))}: set its "
                                            "point.positions")
            return np.zeros((0, 3))
        return points.point.positions.cpu().numpy()
    # a torch tensor as numpy (detached: one that requires grad raised numpy's own error)
    return _from_torch(points.points if hasattr(points, "points") else points, name="points")


class _PointSampler(_PointMethod):
    """A method that keeps a given number of points: ``keep_ratio`` or ``budget`` (at most one;
    default keep ratio 0.1)."""

    sizing = ("keep_ratio", "budget")
    default_size = ("keep_ratio", 0.1)

    def __init__(self, *, keep_ratio: float | None = None, budget: int | None = None) -> None:
        self.keep_ratio, self.budget = keep_ratio, budget


class GraphResampler(_PointSampler):
    """Graph-based resampling at an exact count (Chen et al., IEEE TSP 2018).

    Points are drawn without replacement with probability ``pi_i ~ uniform_share + (1 -
    uniform_share) * s_i / mean(s)``, ``s`` from :func:`curvature_scores`: detail is kept at a
    higher rate than flat parts while the uniform share keeps every region covered
    (``uniform_share=1`` is uniform random sampling). The draw uses exponential keys
    ``log(u_i) / pi_i`` (Efraimidis-Spirakis) and the core's selector for the exact budget.

    Parameters
    ----------
    keep_ratio, budget : float, int (at most one; default keep_ratio 0.1)
    k : int
        Neighbours in the kNN graph.
    uniform_share : float in [0, 1]
    seed : int

    Attributes
    ----------
    scores_ : ndarray
        The draw keys (the kept points have the highest).
    curvature_ : ndarray
        :func:`curvature_scores` of the points.
    mask_ : ndarray of bool

    Examples
    --------
    >>> pts = np.random.default_rng(0).random((500, 3))
    >>> int(GraphResampler(budget=50).fit(pts).mask_.sum())
    50
    """

    _parameter_constraints = {"k": [Interval(numbers.Integral, 1, None, closed="left")],
                              "uniform_share": [Interval(numbers.Real, 0, 1, closed="both")],
                              "seed": SEED}

    def __init__(self, *, keep_ratio: float | None = None, budget: int | None = None,
                 k: int = 10, uniform_share: float = 0.5, seed: int = 0) -> None:
        self.keep_ratio, self.budget = keep_ratio, budget
        self.k, self.uniform_share, self.seed = k, uniform_share, seed

    def fit(self, points: Any, y: Any = None) -> GraphResampler:
        self._validate_params()
        pts = self._positions(points)
        n = pts.shape[0]
        if n <= self.k:
            raise InvalidParameterError(f"graph resampling with k {self.k} neighbours needs "
                                        f"more than {self.k} points, got {n}", params=("k",))
        count = self._size(n)
        scores = curvature_scores(pts, self.k)
        share = self.uniform_share
        pi = share + (1.0 - share) * scores / max(float(scores.mean()), np.finfo(float).tiny)
        # a stream of its own: the same seed elsewhere (say, the one that sampled the points)
        # must not correlate the draw with the positions
        u = np.random.default_rng(np.random.SeedSequence([self.seed, 0x6E5A])).random(n)
        self.scores_ = np.log(np.maximum(u, np.finfo(float).tiny)) / np.maximum(pi, 1e-12)
        self.curvature_ = scores
        self.mask_ = select(self.scores_, budget=count)
        self._fitted_on_points(pts)
        return self


class VoxelDownsampler(_PointSampler):
    """open3d voxel down-sampling as a subset: one point per occupied voxel, the one nearest the
    voxel's mean. The grid is the one open3d's ``voxel_down_sample`` lays: it starts half a voxel
    below the points' minimum bound, so a ``voxel_size`` keeps as many points as
    ``voxel_down_sample(voxel_size)`` returns.

    With ``voxel_size`` every occupied voxel keeps one point. With ``keep_ratio`` / ``budget``
    (default keep_ratio 0.1) the voxel size is the largest, found by bisection, whose grid has
    at least that many occupied voxels, and the count is met exactly by keeping the points of the
    most populated voxels (ties to the lower voxel index); where there are fewer distinct places
    than the count (duplicate points), every voxel's point and then the others nearest to their
    voxel's mean.

    Parameters
    ----------
    keep_ratio, budget : float, int (at most one)
    voxel_size : float, optional
        An edge length instead of a size. One so small that the grid would number more voxels
        along an axis than a 32-bit int holds is refused (open3d's limit).

    Attributes
    ----------
    scores_ : ndarray
        Per point: the population of its voxel if it represents it, else minus its squared
        distance to the voxel's mean (a representative always outranks the rest).
    voxel_size_ : float
    mask_ : ndarray of bool

    Examples
    --------
    >>> pts = np.random.default_rng(0).random((2000, 3))
    >>> int(VoxelDownsampler(budget=100).fit(pts).mask_.sum())
    100
    """

    size_alternatives = ("voxel_size",)
    _parameter_constraints = {"voxel_size": [Interval(numbers.Real, 0, None, closed="neither"),
                                             None]}

    def __init__(self, *, keep_ratio: float | None = None, budget: int | None = None,
                 voxel_size: float | None = None) -> None:
        self.keep_ratio, self.budget, self.voxel_size = keep_ratio, budget, voxel_size

    def fit(self, points: Any, y: Any = None) -> VoxelDownsampler:
        self._validate_params()
        pts = self._positions(points)
        if len(pts) == 0:  # nothing to keep, as the other samplers (a budget above 0 is refused)
            if self.voxel_size is None:
                self._size(0)
            self.scores_, self.voxel_size_ = np.zeros(0), float(self.voxel_size or 0.0)
            self.mask_ = np.zeros(0, dtype=bool)
            self._fitted_on_points(pts)
            return self
        cloud = _o3d_cloud(pts)
        target = None
        size = self.voxel_size
        if size is None:
            target = self._size(len(pts))
            size = _voxel_size_for(pts, target)
        else:
            _check_voxel_size(pts, size)
        lo, hi = _voxel_grid_bounds(pts, size)
        down, _, groups = cloud.voxel_down_sample_and_trace(size, lo, hi, False)
        means = np.asarray(down.points)
        scores = np.empty(len(pts))
        reps = np.empty(len(groups), dtype=np.int64)
        population = np.empty(len(groups))
        for i, members in enumerate(groups):
            members = np.asarray(members)
            d2 = ((pts[members] - means[i]) ** 2).sum(axis=1)
            scores[members] = -d2
            reps[i] = members[np.argmin(d2)]
            population[i] = members.size
        scores[reps] = population
        if target is None:
            mask = _mask_from(reps, len(pts))
        elif target <= reps.size:
            mask = _mask_from(reps[select(population, budget=target)], len(pts))
        else:  # fewer distinct places than the count (duplicates): the nearest to their means
            mask = select(scores, budget=target)
        self.scores_, self.voxel_size_ = scores, float(size)
        self.mask_ = mask
        self._fitted_on_points(pts)
        return self


#: open3d numbers the voxels along an axis with a C ``int``
_MAX_VOXELS_PER_AXIS = np.iinfo(np.int32).max


def _voxel_grid_bounds(pts: np.ndarray, size: float) -> tuple[np.ndarray, np.ndarray]:
    """The bounds of the grid open3d's ``voxel_down_sample(size)`` lays over the points: their
    bounding box grown by half a voxel on every side (computed as open3d does, so that the
    points fall in the same voxels)."""
    half = size * 0.5
    return pts.min(axis=0) - half, pts.max(axis=0) + half


def _check_voxel_size(pts: np.ndarray, size: float) -> None:
    """Refuse a voxel edge too small for the points' extent: open3d's own test (which it fails
    with a bare ``RuntimeError``), ``size * INT_MAX`` below the grid's longest side."""
    lo, hi = _voxel_grid_bounds(pts, size)
    if size * _MAX_VOXELS_PER_AXIS < float(np.max(hi - lo)):
        extent = float(np.max(pts.max(axis=0) - pts.min(axis=0)))
        smallest = extent / (_MAX_VOXELS_PER_AXIS - 1)
        raise InvalidParameterError(
            f"voxel_size {size:g} is too small for points spanning {extent:g}: open3d numbers "
            f"the voxels along an axis with a 32-bit int; the smallest it takes is about "
            f"{smallest:.3g}")


def _occupied_voxels(pts: np.ndarray, size: float) -> int:
    """Occupied voxels of open3d's ``voxel_down_sample(size)`` grid (see
    :func:`_voxel_grid_bounds`): the number of points it returns."""
    lo, _ = _voxel_grid_bounds(pts, size)
    cell = np.floor((pts - lo) / size).astype(np.int64)
    dims = cell.max(axis=0) + 1
    return int(np.unique((cell[:, 0] * dims[1] + cell[:, 1]) * dims[2] + cell[:, 2]).size)


def _voxel_size_for(pts: np.ndarray, target: int) -> float:
    """A voxel size whose grid (open3d's, see :func:`_voxel_grid_bounds`) has at least
    ``target`` occupied voxels, by bisection: the first size tried with exactly ``target``, else
    the largest (to a relative 1e-6) with more (the count is not monotone in the size, so
    another size may also give ``target``)."""
    extent = float(np.max(pts.max(axis=0) - pts.min(axis=0)))
    if extent == 0.0:  # every point at one place: one voxel of any size
        return 1.0
    small, large = extent * 1e-6, extent  # small: about every point alone; large: few voxels
    if _occupied_voxels(pts, large) >= target:
        return large
    for _ in range(60):
        mid = np.sqrt(small * large)
        count = _occupied_voxels(pts, mid)
        if count == target:
            return mid
        small, large = (mid, large) if count > target else (small, mid)
        if large / small < 1 + 1e-6:
            break
    return small


class UniformDownsampler(_PointSampler):
    """Points evenly spaced in file order: positions ``floor(i * N / count)`` (open3d's
    ``uniform_down_sample`` takes every k-th point, the same when ``N / count`` is an integer;
    this one meets any count exactly).

    Parameters
    ----------
    keep_ratio, budget : float, int (at most one; default keep_ratio 0.1)

    Attributes
    ----------
    scores_ : ndarray
        1 at the kept positions, 0 elsewhere.
    mask_ : ndarray of bool

    Examples
    --------
    >>> UniformDownsampler(keep_ratio=0.25).fit(np.zeros((8, 3))).mask_.nonzero()[0].tolist()
    [0, 4]
    """

    _measures_distances = False

    def fit(self, points: Any, y: Any = None) -> UniformDownsampler:
        self._validate_params()
        pts = self._positions(points)
        n = len(pts)
        count = self._size(n)
        keep = (np.arange(count, dtype=np.int64) * n) // max(count, 1)
        self.mask_ = _mask_from(keep, n)
        self.scores_ = self.mask_.astype(np.float64)
        self._fitted_on_points(pts)
        return self


class FarthestPointSampler(_PointSampler):
    """open3d farthest-point down-sampling, mapped back to the input points (each sample to a
    distinct input point: of exact copies, the first, as open3d keeps it). Where there are fewer
    distinct places than the count, the duplicates left complete it in input order.

    Parameters
    ----------
    keep_ratio, budget : float, int (at most one; default keep_ratio 0.1)

    Attributes
    ----------
    scores_ : ndarray
        ``count - i`` for the ``i``-th sample in the order open3d returns them, which is input
        order, not the order of selection (open3d does not give that: a prefix of the ranking
        is no farthest-point sample), then the duplicates that complete the count; 0 elsewhere.
    mask_ : ndarray of bool

    Examples
    --------
    >>> pts = np.random.default_rng(0).random((300, 3))
    >>> int(FarthestPointSampler(budget=30).fit(pts).mask_.sum())
    30
    """

    def fit(self, points: Any, y: Any = None) -> FarthestPointSampler:
        self._validate_params()
        pts = self._positions(points)
        count = self._size(len(pts))
        scores = np.zeros(len(pts))
        if count:
            down = np.asarray(_o3d_cloud(pts).farthest_point_down_sample(count).points)
            reach = min(len(pts), 8)
            dist, near = cKDTree(pts).query(down, reach, workers=-1)
            dist, near = dist.reshape(len(down), reach), near.reshape(len(down), reach)
            # of equally near points (exact copies) the first in input order, as open3d keeps it
            # (the tree gives copies in no particular order)
            by = np.lexsort((near, dist), axis=1)
            near = np.take_along_axis(near, by, axis=1)
            taken = np.zeros(len(pts), dtype=bool)
            for order, candidates in enumerate(near):
                pick = next((c for c in candidates if not taken[c]), None)
                if pick is None:  # every nearby point taken (many duplicates): the first free
                    pick = int(np.flatnonzero(~taken)[0])
                taken[pick] = True
                scores[pick] = count - order
            # open3d stops at the distinct places (every distance left is 0): duplicates, in order
            rest = np.flatnonzero(~taken)[:count - len(down)]
            scores[rest] = count - len(down) - np.arange(len(rest))
        self.scores_ = scores
        self.mask_ = scores > 0
        self._fitted_on_points(pts)
        return self


class StatisticalOutlierRemover(_PointMethod):
    """open3d ``remove_statistical_outlier``: keep the points whose mean distance to their
    ``nb_neighbors`` nearest neighbours is below ``mean + std_ratio * std`` of that figure
    (strictly, and ``std`` the sample standard deviation, as open3d computes them: on a regular
    lattice, where every point has the same figure, none is kept).
    A filter, not a sampler: it takes no size.

    As in open3d, the point itself is one of its ``nb_neighbors`` (at distance 0), so at least
    2 are needed, and a point with every neighbour at distance 0 (duplicates) is dropped.

    Attributes
    ----------
    scores_ : ndarray
        Minus each point's mean distance to its neighbours (the figure open3d tests).
    mask_ : ndarray of bool

    Examples
    --------
    >>> pts = np.vstack([np.random.default_rng(0).random((200, 3)), [[9.0, 9.0, 9.0]]])
    >>> bool(StatisticalOutlierRemover().fit(pts).mask_[-1])
    False
    """

    _parameter_constraints = {
        "nb_neighbors": [Interval(numbers.Integral, 2, None, closed="left")],
        "std_ratio": [Interval(numbers.Real, 0, None, closed="neither")],
    }

    def __init__(self, *, nb_neighbors: int = 20, std_ratio: float = 2.0) -> None:
        self.nb_neighbors, self.std_ratio = nb_neighbors, std_ratio

    def fit(self, points: Any, y: Any = None) -> StatisticalOutlierRemover:
        self._validate_params()
        pts = self._positions(points)
        if len(pts) < self.nb_neighbors:
            raise InvalidParameterError(f"the statistical test with nb_neighbors "
                                        f"{self.nb_neighbors} needs at least "
                                        f"{self.nb_neighbors} points, got {len(pts)}",
                                        params=("nb_neighbors",))
        _, ind = _o3d_cloud(pts).remove_statistical_outlier(self.nb_neighbors,
                                                            float(self.std_ratio))
        dist, _ = knn(pts, self.nb_neighbors - 1)  # the other neighbours; the point is at 0
        self.scores_ = -dist.sum(axis=1) / self.nb_neighbors
        self.mask_ = _mask_from(ind, len(pts))
        self._fitted_on_points(pts)
        return self


#: how far past a distance between points :class:`RadiusOutlierRemover`'s default radius lies
_RADIUS_MARGIN = 1e-6


class RadiusOutlierRemover(_PointMethod):
    """open3d ``remove_radius_outlier``: keep the points with at least ``min_points``
    neighbours within ``radius``. A filter: it takes no size.

    Parameters
    ----------
    radius : float, optional
        None: the median distance from a point to its ``2 * min_points``-th nearest neighbour
        (over the distinct points: duplicates are counted once), a millionth more (clear of
        the distances between points), so that the median point has twice the neighbours
        ``min_points`` asks and only points in sparse places go. (Three
        median nearest-neighbour distances held about 16 neighbours on an evenly sampled
        surface, as many as the default ``min_points``: a clean scan of the Stanford bunny lost
        42% of its points.)
    min_points : int

    Attributes
    ----------
    scores_ : ndarray
        Each point's count of other points closer than the radius (strictly, as open3d
        counts them: one exactly at the radius is not a neighbour).
    radius_ : float
    mask_ : ndarray of bool

    Examples
    --------
    >>> pts = np.vstack([np.random.default_rng(0).random((500, 3)), [[9.0, 9.0, 9.0]]])
    >>> bool(RadiusOutlierRemover(min_points=2).fit(pts).mask_[-1])
    False
    """

    _parameter_constraints = {
        "radius": [Interval(numbers.Real, 0, None, closed="neither"), None],
        "min_points": [Interval(numbers.Integral, 1, None, closed="left")],
    }

    def __init__(self, *, radius: float | None = None, min_points: int = 16) -> None:
        self.radius, self.min_points = radius, min_points

    def fit(self, points: Any, y: Any = None) -> RadiusOutlierRemover:
        self._validate_params()
        pts = self._positions(points)
        radius = self.radius
        if radius is None:
            distinct = np.unique(pts, axis=0)  # a duplicate's nearest neighbour is its twin
            if len(distinct) < 2:
                what = ("all the points coincide" if len(pts) > 1 else
                        f"there {'is 1 point' if len(pts) else 'are no points'}")
                raise InvalidParameterError(f"radius: {what}, so there is no distance to take "
                                            "it from; give one", params=("radius",))
            rank = min(2 * self.min_points, len(distinct) - 1)  # (the column of that neighbour
            far, _ = cKDTree(distinct).query(distinct, k=[rank + 1], workers=-1)  # only)
            # a hair past it: at a distance between points, open3d's rounding decided whether
            # a neighbour there counted (a grid kept other points at another spacing)
            radius = float(np.median(far)) * (1.0 + _RADIUS_MARGIN)
        if len(pts) == 0:  # as open3d, which has no tree to search: nothing kept
            self.scores_, self.radius_, self.mask_ = np.zeros(0), float(radius), np.zeros(0, bool)
            self._fitted_on_points(pts)
            return self
        _, ind = _o3d_cloud(pts).remove_radius_outlier(self.min_points, float(radius))
        tree = cKDTree(pts)
        self.scores_ = tree.query_ball_point(pts, np.nextafter(radius, 0.0), return_length=True,
                                             workers=-1).astype(np.float64) - 1.0
        self.radius_ = float(radius)
        self.mask_ = _mask_from(ind, len(pts))
        self._fitted_on_points(pts)
        return self


# ------------------------------------------------------------------------------ quality
def chamfer_hausdorff(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Symmetric Chamfer distance ``mean_a d(a, B) + mean_b d(b, A)`` (Euclidean, not squared)
    and Hausdorff distance ``max(max_a d(a, B), max_b d(b, A))``."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if len(a) == 0 or len(b) == 0:
        return float("inf"), float("inf")
    d_ab, _ = cKDTree(b).query(a, 1, workers=-1)
    d_ba, _ = cKDTree(a).query(b, 1, workers=-1)
    return float(d_ab.mean() + d_ba.mean()), float(max(d_ab.max(), d_ba.max()))
