"""Instant-NGP's multiresolution hash encoding, in plain PyTorch (CPU or GPU).

``L`` levels of grid vertices at resolutions growing geometrically from ``base_resolution`` to
``finest_resolution``; a level whose ``(N + 1)^3`` vertices fit in the table is indexed densely,
a finer one through the spatial hash ``(x * 1) ^ (y * 2654435761) ^ (z * 805459861)`` (on 32
bits) modulo the table size ``T``. Each vertex holds ``F`` features; a point's encoding is the
trilinear interpolation of its cell's 8 corners at every level, concatenated (``L * F`` values).

One table holds every level (level ``l`` owns rows ``offsets[l]:offsets[l] + sizes[l]``), so a
point's ``8 L`` look-ups are one gather. With ``sparse=True`` the gather's gradient is a sparse
tensor (the rows touched only), for :class:`~scenesparse.nerf.optim.RowAdam`; otherwise the
gradient is a dense table-sized tensor and Adam updates every row each step.

After pruning, :meth:`HashGrid.compact_` keeps only the rows of a keep-mask and looks the others
up as zeros through a remap, so the table (and the file :meth:`HashGrid.export` writes) shrinks.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from sparsebox.exceptions import InvalidParameterError

__all__ = ["HashGrid", "PRIMES", "level_resolutions"]

#: Instant-NGP's hash primes, one per axis.
PRIMES = (1, 2654435761, 805459861)
_MASK32 = 0xFFFFFFFF


def level_resolutions(levels: int, base_resolution: int, finest_resolution: int) -> list[int]:
    """The grid resolution of each level: ``floor(base * b^l)`` with the growth ``b`` that puts
    the last level at ``finest_resolution``.

    Examples
    --------
    >>> level_resolutions(4, 16, 128)
    [16, 32, 64, 128]
    """
    if levels == 1:
        return [int(base_resolution)]
    growth = math.exp((math.log(finest_resolution) - math.log(base_resolution)) / (levels - 1))
    # the small epsilon keeps exact powers (16 * 2^3 = 128) from flooring one below
    return [int(math.floor(base_resolution * growth**level + 1e-6)) for level in range(levels)]


def _hash(cx: Tensor, cy: Tensor, cz: Tensor, size: int) -> Tensor:
    """Instant-NGP's spatial hash of integer vertices (broadcast together) modulo ``size``,
    computed on 32 bits as in the reference (int64 products, low 32 bits kept)."""
    if size & (size - 1) == 0:  # a power of two: the mask commutes with the XOR
        mask = size - 1
        return ((cx * PRIMES[0]) & mask) ^ ((cy * PRIMES[1]) & mask) ^ ((cz * PRIMES[2]) & mask)
    h = ((cx * PRIMES[0]) & _MASK32) ^ ((cy * PRIMES[1]) & _MASK32) ^ ((cz * PRIMES[2]) & _MASK32)
    return h % size


class _Gather(torch.autograd.Function):
    """``out[l, i] = sum_k w[l, i, k] table[rows[l, i, k]]``, with the table's gradient
    accumulated by one flat ``scatter_add_`` (about 20x faster on a CPU than the row-wise
    ``index_add_`` behind ``embedding``'s backward) and returned either dense or as a coalesced
    sparse tensor of the rows touched (for :class:`~scenesparse.nerf.optim.RowAdam`). No
    gradient flows to the weights (the sample positions are not trained)."""

    @staticmethod
    def forward(ctx: Any, table: Tensor, rows: Tensor, weights: Tensor, sparse: bool) -> Tensor:
        levels, n, _ = weights.shape
        feats = table.index_select(0, rows).reshape(levels, n, 8, table.shape[1])
        ctx.save_for_backward(rows, weights)
        ctx.sparse, ctx.shape = sparse, table.shape
        return (feats * weights[..., None]).sum(2)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, None, None, None]:
        rows, weights = ctx.saved_tensors
        entries, features = ctx.shape
        values = (grad[:, :, None, :] * weights[..., None]).reshape(-1)
        flat = (rows[:, None] * features + torch.arange(features, device=rows.device))
        dense = torch.zeros(entries * features, dtype=grad.dtype, device=grad.device)
        dense.scatter_add_(0, flat.reshape(-1), values)
        dense = dense.view(entries, features)
        if not ctx.sparse:
            return dense, None, None, None
        touched = torch.zeros(entries, dtype=torch.bool, device=rows.device)
        touched[rows] = True
        index = touched.nonzero().reshape(1, -1)  # sorted and unique: already coalesced
        out = torch.sparse_coo_tensor(index, dense.index_select(0, index[0]), (entries, features),
                                      is_coalesced=True, check_invariants=False)
        return out, None, None, None


class HashGrid(nn.Module):
    """Multiresolution hash encoding of points in the unit cube ``[0, 1]^3``.

    Parameters
    ----------
    levels : int
        Number of levels ``L``.
    features : int
        Features per vertex ``F`` (2 in Instant-NGP).
    table_size : int
        Rows ``T`` of a hashed level's table (a level with fewer vertices is dense and smaller).
    base_resolution, finest_resolution : int
        Resolutions of the coarsest and the finest level.
    sparse : bool
        Sparse gradients for the table (for :class:`~scenesparse.nerf.optim.RowAdam`).
    seed : int
        Initial features are uniform in ``[-1e-4, 1e-4]`` (Instant-NGP), drawn from this seed.

    Notes
    -----
    Time and memory O(n L) per batch of n points (8 look-ups per level); the table holds
    ``sum_l min(T, (N_l + 1)^3)`` rows of F features.

    References
    ----------
    T. Mueller, A. Evans, C. Schied, A. Keller. Instant Neural Graphics Primitives with a
    Multiresolution Hash Encoding. SIGGRAPH 2022.

    Examples
    --------
    >>> grid = HashGrid(levels=2, table_size=2**10, base_resolution=4, finest_resolution=16)
    >>> grid.resolutions, grid.sizes, grid.dense
    ([4, 16], [125, 1024], [True, False])
    >>> grid(torch.rand(5, 3)).shape
    torch.Size([5, 4])
    """

    def __init__(self, *, levels: int = 8, features: int = 2, table_size: int = 2**19,
                 base_resolution: int = 16, finest_resolution: int = 256, sparse: bool = True,
                 seed: int = 0) -> None:
        super().__init__()
        for name, value in (("levels", levels), ("features", features),
                            ("table_size", table_size), ("base_resolution", base_resolution)):
            if int(value) < 1:
                raise InvalidParameterError(f"{name} must be an integer >= 1, got {value!r}")
        if finest_resolution < base_resolution:
            raise InvalidParameterError(f"finest_resolution must be >= base_resolution "
                                        f"({base_resolution}), got {finest_resolution!r}")
        if table_size > 2**32:
            raise InvalidParameterError(f"table_size must be <= 2^32, got {table_size}")
        self.levels, self.features, self.table_size = int(levels), int(features), int(table_size)
        self.sparse = bool(sparse)
        self.resolutions = level_resolutions(self.levels, base_resolution, finest_resolution)
        self.dense = [(n + 1) ** 3 <= self.table_size for n in self.resolutions]
        self.sizes = [(n + 1) ** 3 if d else self.table_size
                      for n, d in zip(self.resolutions, self.dense, strict=True)]
        self.offsets = [0, *np.cumsum(self.sizes)[:-1].tolist()]
        self.num_entries = int(sum(self.sizes))
        g = torch.Generator().manual_seed(int(seed))
        init = (torch.rand(self.num_entries, self.features, generator=g) * 2 - 1) * 1e-4
        self.table = nn.Parameter(init)
        # per-level constants, to broadcast against (L, n, ...) index arrays
        self.register_buffer("_res", torch.tensor(self.resolutions, dtype=torch.float32),
                             persistent=False)
        self.register_buffer("_stride", torch.tensor([n + 1 for n in self.resolutions]),
                             persistent=False)
        self.register_buffer("_offset", torch.tensor(self.offsets), persistent=False)
        #: After :meth:`compact_`: the kept entries (a bool per original entry) and the row of
        #: each original entry in the compact table (-1: pruned, read as zeros).
        self.register_buffer("keep", None, persistent=False)
        self.register_buffer("remap", None, persistent=False)

    @property
    def output_dim(self) -> int:
        return self.levels * self.features

    def num_parameters(self) -> int:
        """Trainable numbers in the table (after :meth:`compact_`: the kept rows only)."""
        return int(self.table.numel())

    # ------------------------------------------------------------------ indexing
    def _rows(self, cx: Tensor, cy: Tensor, cz: Tensor, level: int) -> Tensor:
        """Table rows of integer vertices of one level; the coordinates broadcast together."""
        offset, size, stride = self.offsets[level], self.sizes[level], self.resolutions[level] + 1
        if self.dense[level]:
            return cx + stride * cy + (stride * stride) * cz + offset
        return _hash(cx, cy, cz, size) + offset

    def vertex_rows(self, level: int, vertices: Tensor) -> Tensor:
        """The table row of each integer vertex ``(m, 3)`` of one level (before compaction's
        remap), for instance to find the entries a region of space touches."""
        v = vertices.to(torch.int64)
        return self._rows(v[:, 0], v[:, 1], v[:, 2], level)

    def corners(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Rows ``(L, n, 2, 2, 2)`` of the 8 corners of each point's cell at every level and
        their trilinear weights (same shape)."""
        pos = x.to(torch.float32)[None] * self._res[:, None, None]  # (L, n, 3)
        cell = torch.minimum(pos.floor(), (self._res - 1)[:, None, None]).clamp_min(0)
        frac = pos - cell
        # per axis the two vertex coordinates (L, n, 3, 2): the 8 corners are their products
        c = cell.to(torch.int64)[..., None] + torch.tensor([0, 1], device=x.device)
        first_hashed = self.dense.index(False) if False in self.dense else self.levels
        groups = []
        for lo, hi in ((0, first_hashed), (first_hashed, self.levels)):
            if lo == hi:
                continue
            cx, cy, cz = c[lo:hi, :, 0], c[lo:hi, :, 1], c[lo:hi, :, 2]
            ax, ay, az = cx[..., :, None, None], cy[..., None, :, None], cz[..., None, None, :]
            if lo == 0 and first_hashed > 0:  # dense levels: strides differ per level
                stride = self._stride[lo:hi, None, None]
                offset = self._offset[lo:hi, None, None, None, None]
                groups.append((ax + (stride * cy)[..., None, :, None]
                               + (stride * stride * cz)[..., None, None, :]) + offset)
            else:  # hashed levels share the table size
                groups.append(_hash(ax, ay, az, self.table_size)
                              + self._offset[lo:hi, None, None, None, None])
        rows = torch.cat(groups) if len(groups) > 1 else groups[0]
        fx, fy, fz = frac.unbind(-1)
        wx = torch.stack([1 - fx, fx], -1)[..., :, None, None]
        wy = torch.stack([1 - fy, fy], -1)[..., None, :, None]
        wz = torch.stack([1 - fz, fz], -1)[..., None, None, :]
        return rows, wx * wy * wz

    def forward(self, x: Tensor) -> Tensor:
        """Encode points ``x`` ``(n, 3)`` in ``[0, 1]^3`` (clamped) as ``(n, L * F)``."""
        n = x.shape[0]
        if not len(self.table):  # compacted to no row: every look-up reads zeros
            return self.table.new_zeros(n, self.output_dim)
        rows, weights = self.corners(x.clamp(0.0, 1.0))
        rows, weights = rows.reshape(-1), weights.reshape(self.levels, n, 8)
        if self.remap is not None:
            rows = self.remap[rows]
            weights = weights * (rows >= 0).reshape(weights.shape)
            rows = rows.clamp_min(0)
        out = _Gather.apply(self.table, rows, weights, self.sparse)  # (L, n, F)
        return out.permute(1, 0, 2).reshape(n, self.output_dim)

    # ------------------------------------------------------------------ pruning
    def level_of_rows(self) -> Tensor:
        """The level of every original table row ``(num_entries,)``."""
        return torch.repeat_interleave(torch.arange(self.levels), torch.tensor(self.sizes))

    @torch.no_grad()
    def compact_(self, keep: Tensor) -> None:
        """Keep only the rows ``keep`` (a bool per original entry) and read the others as zeros:
        the table becomes ``table[keep]`` and a remap sends each original row to its new place.
        Renders are those of the full table with the dropped rows set to zero, exactly."""
        keep = torch.as_tensor(keep, dtype=torch.bool, device=self.table.device)
        if keep.shape != (self.num_entries,):
            raise InvalidParameterError(f"keep must have one entry per table row "
                                        f"({self.num_entries}), got shape {tuple(keep.shape)}")
        if self.keep is None and bool(keep.all()):
            return  # nothing dropped: the full table, with no mask to store
        if self.keep is not None:  # already compact: keep a subset of what is there
            full = torch.zeros(self.num_entries, self.features, dtype=self.table.dtype,
                               device=self.table.device)
            full[self.keep] = self.table
            keep = keep & self.keep
            table = full[keep]
        else:
            table = self.table[keep]
        self.table = nn.Parameter(table.clone())
        self._set_keep(keep)

    def _set_keep(self, keep: Tensor) -> None:
        self.keep = keep
        remap = torch.full((self.num_entries,), -1, dtype=torch.int64, device=keep.device)
        remap[keep] = torch.arange(int(keep.sum()), device=keep.device)
        self.remap = remap

    # ------------------------------------------------------------------ files
    def export(self) -> dict[str, Any]:
        """The table (and, when compact, which rows it keeps) for :func:`torch.save`. The rows
        kept are written as packed bits (1 per original row) or as the int32 positions of the
        rows dropped, whichever is smaller: a prune of few rows then costs 4 bytes per row
        where it saves ``4 * features``."""
        out: dict[str, Any] = {"table": self.table.detach().cpu().clone()}
        if self.keep is not None:
            keep = self.keep.cpu().numpy()
            dropped = np.flatnonzero(~keep).astype(np.int32)
            if dropped.nbytes < (keep.size + 7) // 8:
                out["dropped_rows"] = torch.from_numpy(dropped)
            else:
                out["keep_bits"] = torch.from_numpy(np.packbits(keep))
        return out

    @torch.no_grad()
    def load_export(self, state: dict[str, Any]) -> None:
        """Inverse of :meth:`export` on a grid built with the same settings."""
        table = state["table"]
        if "keep_bits" in state or "dropped_rows" in state:
            if "keep_bits" in state:
                keep = np.unpackbits(state["keep_bits"].numpy(), count=self.num_entries) > 0
            else:
                keep = np.ones(self.num_entries, dtype=bool)
                keep[state["dropped_rows"].numpy()] = False
            self._set_keep(torch.from_numpy(keep).to(self.table.device))
        else:
            self.keep = self.remap = None
        self.table = nn.Parameter(table.to(self.table.device).clone())
