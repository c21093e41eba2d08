"""HollowNeRF's trainable saliency grid: ``p(x) = sigmoid(trilinear(G, x))`` on a coarse grid.

``G`` holds one logit per vertex of an ``R^3`` lattice spanning the unit cube (vertex ``i`` at
``i / (R - 1)``); ``p`` scales the hash features of every point (``v = p * f``), and its mean
``mean(sigmoid(G))`` is the quantity the training constrains to a budget.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from sparsebox.exceptions import InvalidParameterError

__all__ = ["SaliencyGrid"]


class SaliencyGrid(nn.Module):
    """A grid of logits ``G`` ``(R, R, R)``, indexed ``[z, y, x]``, and its trilinear sigmoid.

    Parameters
    ----------
    resolution : int
        Vertices per axis (64 in HollowNeRF).
    init : float
        Initial logit of every vertex (``sigmoid(init)`` is the initial saliency).

    Examples
    --------
    >>> grid = SaliencyGrid(8, init=0.0)
    >>> grid(torch.rand(4, 3)).tolist()
    [0.5, 0.5, 0.5, 0.5]
    >>> float(grid.mean_saliency().detach())
    0.5
    """

    def __init__(self, resolution: int = 64, *, init: float = 0.0) -> None:
        super().__init__()
        if int(resolution) < 2:
            raise InvalidParameterError(f"resolution must be an integer >= 2, got {resolution!r}")
        self.resolution = int(resolution)
        self.logits = nn.Parameter(torch.full((self.resolution,) * 3, float(init)))

    def num_parameters(self) -> int:
        return int(self.logits.numel())

    def logit(self, x: Tensor) -> Tensor:
        """``trilinear(G, x)`` at points ``x`` ``(n, 3)`` in ``[0, 1]^3`` (clamped)."""
        grid = (x.clamp(0.0, 1.0) * 2.0 - 1.0).reshape(1, -1, 1, 1, 3)
        out = F.grid_sample(self.logits[None, None], grid.to(self.logits.dtype),
                            mode="bilinear", align_corners=True)
        return out.reshape(-1)

    def forward(self, x: Tensor) -> Tensor:
        """The saliency ``p(x) = sigmoid(trilinear(G, x))`` ``(n,)``."""
        return torch.sigmoid(self.logit(x))

    def mean_saliency(self) -> Tensor:
        """``mean(sigmoid(G))`` (differentiable): what the budget bounds."""
        return torch.sigmoid(self.logits).mean()

    @torch.no_grad()
    def salient_cells(self, threshold: float) -> Tensor:
        """Cells of the lattice (``(m, 3)`` integer ``x, y, z`` of their lowest vertex, each in
        ``0..R-2``) in which ``p`` can exceed ``threshold``: trilinear interpolation never leaves
        the range of a cell's 8 corner values, so a cell whose largest corner logit is at most
        ``logit(threshold)`` holds no point with ``p > threshold``."""
        g = self.logits
        corner_max = g.unfold(0, 2, 1).unfold(1, 2, 1).unfold(2, 2, 1).amax((-3, -2, -1))
        bound = torch.logit(torch.tensor(float(threshold), dtype=g.dtype))
        zyx = (corner_max > bound).nonzero()
        return zyx.flip(1)

    @torch.no_grad()
    def cell_bounds(self, cells: Tensor) -> Tensor:
        """The largest saliency any point of each cell ``(m, 3)`` (``x, y, z``) can have."""
        g = self.logits
        corner_max = g.unfold(0, 2, 1).unfold(1, 2, 1).unfold(2, 2, 1).amax((-3, -2, -1))
        return torch.sigmoid(corner_max[cells[:, 2], cells[:, 1], cells[:, 0]])
