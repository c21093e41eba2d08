"""Which hash-table entries a render can read, and how much salient light flows through each.

:func:`contribution_scores` (what HollowNeRF prunes by) renders rays and credits every entry with
the rendering weight x saliency x trilinear weight of each sample that reads it.
:func:`entry_scores` bounds what any render can read at all:

Rendering evaluates the field only at samples inside occupied cells of the occupancy grid
(:class:`~scenesparse.nerf.occupancy.OccupancyGrid`). A sample at a unit-cube point reads, at
every level of the hash grid, the 8 corners of its cell there, scaled by the saliency
``p(x) <= max`` of the saliency logits around it (trilinear interpolation never leaves the range of
the corner values). :func:`entry_scores` walks every occupied cell and gives each table entry the
largest saliency with which any point of those cells can read it (0: no render reads it; 1 for
every entry read when the field has no saliency grid). Entries at 0
can be dropped without changing a single pixel.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

from scenesparse.nerf.field import NerfField
from scenesparse.nerf.occupancy import OccupancyGrid
from scenesparse.nerf.volume import render_rays

__all__ = ["entry_scores", "contribution_scores", "cell_saliency_bounds", "level_report",
           "mass_budget"]

#: Cells enumerated per block (bounds the memory of the vertex index arrays).
_BLOCK = 2048


def _axis_cover(cells: int, vertices: int) -> Tensor:
    """``(cells, vertices)``: whether saliency vertex ``i`` (at ``i / (vertices - 1)``) bounds
    the value inside occupancy cell ``c`` (``[c / cells, (c + 1) / cells]``) along one axis."""
    lo = torch.arange(cells, dtype=torch.float64) / cells * (vertices - 1)
    hi = (torch.arange(cells, dtype=torch.float64) + 1) / cells * (vertices - 1)
    first = lo.floor().clamp(0, vertices - 1)
    last = hi.ceil().clamp(0, vertices - 1)
    i = torch.arange(vertices, dtype=torch.float64)
    return (i[None] >= first[:, None]) & (i[None] <= last[:, None])


@torch.no_grad()
def cell_saliency_bounds(field: NerfField, resolution: int) -> Tensor:
    """The largest saliency any point of each cell of an ``resolution^3`` grid can have,
    ``(R, R, R)`` indexed ``[z, y, x]`` (ones without a saliency grid)."""
    r = int(resolution)
    if field.saliency is None:
        return torch.ones(r, r, r)
    logits = field.saliency.logits.detach().float().cpu()  # [z, y, x] at the vertices
    cover = _axis_cover(r, logits.shape[0])  # the same along every axis
    low = torch.tensor(-math.inf)
    out = logits
    for axis in (2, 1, 0):  # a box maximum is separable: one axis at a time
        moved = out.movedim(axis, -1)  # (..., vertices)
        boxed = torch.where(cover, moved[..., None, :], low).amax(-1)  # (..., cells)
        out = boxed.movedim(-1, axis)
    return torch.sigmoid(out)


#: Slack (in cells of a level) on the range of cells a region touches: far above the float32
#: rounding of the encoder's ``x * N`` (about 1e-4 cells at N = 2048), so the range is a superset.
_SLACK = 1e-3


def _level_range(cells: Tensor, resolution_o: int, level_res: int) -> tuple[Tensor, Tensor]:
    """First and last vertex (inclusive, per axis) of a level's lattice that points of the
    occupancy cells ``cells`` ``(m, 3)`` can read: the corners of every level cell they touch
    (with a slack, so that float rounding in the encoder cannot reach outside)."""
    n = level_res
    lo = cells.to(torch.float64) / resolution_o * n
    hi = (cells.to(torch.float64) + 1) / resolution_o * n
    first = (lo - _SLACK).floor().clamp(0, n - 1)
    last = (hi + _SLACK).floor().clamp(0, n - 1) + 1  # the far corner of the last cell
    return first.to(torch.int64), last.to(torch.int64)


@torch.no_grad()
def entry_scores(field: NerfField, occupancy: OccupancyGrid) -> Tensor:
    """For every entry of ``field.grid``'s table (before any compaction), the largest saliency
    with which a sample in an occupied cell can read it; 0 where no sample reads it.

    Notes
    -----
    Time O(sum over levels of the vertices inside occupied cells), in blocks of cells; the
    bound is conservative (a superset of what rendering reads), so dropping the entries at 0
    leaves every render unchanged.
    """
    grid = field.grid
    r = occupancy.resolution
    flat = occupancy.occupied.nonzero().reshape(-1).cpu()
    cells = torch.stack([flat % r, (flat // r) % r, flat // (r * r)], 1)
    bounds = cell_saliency_bounds(field, r)[cells[:, 2], cells[:, 1], cells[:, 0]]
    scores = torch.zeros(grid.num_entries)
    for level, n in enumerate(grid.resolutions):
        first, last = _level_range(cells, r, n)
        width = int((last - first).max()) + 1 if len(cells) else 0
        steps = torch.arange(width)
        for start in range(0, len(cells), _BLOCK):
            f, la = first[start:start + _BLOCK], last[start:start + _BLOCK]
            # (m, 3, width); past a cell's last vertex, repeats of it (harmless for a maximum)
            coords = torch.minimum(f[:, :, None] + steps, la[:, :, None])
            rows = grid._rows(coords[:, 0, :, None, None], coords[:, 1, None, :, None],
                              coords[:, 2, None, None, :], level)  # (m, w, w, w)
            b = bounds[start:start + _BLOCK, None, None, None].expand_as(rows)
            scores.scatter_reduce_(0, rows.reshape(-1), b.reshape(-1), reduce="amax")
    return scores


def level_report(field: NerfField, keep: Tensor) -> list[dict[str, int]]:
    """Entries kept per level: ``[{level, resolution, hashed, entries, kept}]``."""
    grid = field.grid
    out = []
    for level, (n, size, off) in enumerate(zip(grid.resolutions, grid.sizes, grid.offsets,
                                               strict=True)):
        out.append({"level": level, "resolution": n, "hashed": not grid.dense[level],
                    "entries": int(size), "kept": int(keep[off:off + size].sum())})
    return out


@torch.no_grad()
def contribution_scores(field: NerfField, occupancy: OccupancyGrid, origins: Tensor,
                        dirs: Tensor, *, step: float, near: float = 0.0,
                        chunk: int = 4096, progress: bool = False) -> Tensor:
    """For every table entry, how much of the rendered light of the rays ``(origins, dirs)``
    flows through it: the sum over the rays' samples of the rendering weight
    ``T_i (1 - exp(-sigma_i dt))`` times the saliency ``p(x_i)`` times the entry's trilinear
    weight at ``x_i`` (float64, ``(entries,)``; 0 for an entry no sample reads with weight).

    Notes
    -----
    One forward render of the rays, plus ``8 L`` scattered additions per evaluated sample.
    """
    grid = field.grid
    scores = torch.zeros(grid.num_entries, dtype=torch.float64)

    def add(points: Tensor, weights: Tensor) -> None:
        unit = field.to_unit(points).clamp(0.0, 1.0)
        if field.saliency is not None:
            weights = weights * field.saliency(unit)
        rows, trilinear = grid.corners(unit)  # (L, n, 2, 2, 2), original rows
        flow = trilinear * weights[None, :, None, None, None]
        scores.index_add_(0, rows.reshape(-1), flow.reshape(-1).double())

    from sparsebox.progress import progress_bar

    white = torch.ones(3)
    for i in progress_bar(range(0, len(origins), chunk), "scoring the hash entries",
                          enabled=progress):
        render_rays(field, occupancy, origins[i:i + chunk], dirs[i:i + chunk], step=step,
                    background=white, near=near, on_samples=add)
    return scores


def mass_budget(scores: np.ndarray, mass: float) -> int:
    """The fewest entries whose scores add up to ``mass`` of the total (all of them when
    ``mass`` is 1; none when every score is 0).

    Examples
    --------
    >>> mass_budget(np.array([5.0, 3.0, 1.0, 1.0]), 0.8)
    2
    """
    total = float(scores.sum())
    if total <= 0:
        return 0
    if mass >= 1.0:
        return int((scores > 0).sum())
    ordered = np.cumsum(np.sort(scores)[::-1])
    return int(np.searchsorted(ordered, mass * total) + 1)
