"""Instant-NGP's occupancy grid: a coarse ``R^3`` grid of the box that marks where the density
may be non-zero, so that ray marching skips the rest.

Each update decays the stored densities (``* decay``) and raises the cells it samples to the
density at a random point inside them (``max``); a cell is occupied while its density is above
``min(threshold, mean density)``. Until the first update every cell is occupied.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import Tensor

from sparsebox.exceptions import InvalidParameterError

__all__ = ["OccupancyGrid"]


class OccupancyGrid:
    """Occupied cells of the unit cube, ``[x, y, z]`` order of the flat index ``x + R (y + R z)``.

    Parameters
    ----------
    resolution : int
        Cells per axis (64).
    threshold : float
        Density above which a cell is occupied (capped at the mean density of the grid).
    decay : float
        Factor applied to every stored density at each update.

    Examples
    --------
    >>> occ = OccupancyGrid(4, threshold=1.0)
    >>> occ.update(lambda x: (x[:, 0] < 0.5).float() * 10.0, torch.Generator().manual_seed(0))
    >>> occ.query(torch.tensor([[0.1, 0.5, 0.5], [0.9, 0.5, 0.5]])).tolist()
    [True, False]
    """

    def __init__(self, resolution: int = 64, *, threshold: float = 0.01, decay: float = 0.95
                 ) -> None:
        if int(resolution) < 1:
            raise InvalidParameterError(f"resolution must be an integer >= 1, got {resolution!r}")
        self.resolution = int(resolution)
        self.threshold, self.decay = float(threshold), float(decay)
        cells = self.resolution**3
        self.density = torch.zeros(cells)
        self.occupied = torch.ones(cells, dtype=torch.bool)
        self.updates = 0

    def cell_index(self, unit: Tensor) -> Tensor:
        """Flat cell index of unit-cube points ``(n, 3)``."""
        r = self.resolution
        c = (unit * r).to(torch.int64).clamp_(0, r - 1)
        return c[:, 0] + r * (c[:, 1] + r * c[:, 2])

    def query(self, unit: Tensor) -> Tensor:
        """Whether each unit-cube point lies in an occupied cell."""
        return self.occupied[self.cell_index(unit)]

    def occupied_fraction(self) -> float:
        return float(self.occupied.float().mean())

    @torch.no_grad()
    def update(self, density: Callable[[Tensor], Tensor], generator: torch.Generator, *,
               fraction: float = 1.0, chunk: int = 65536) -> None:
        """Decay, then evaluate ``density`` (unit-cube points to densities) at a random point of
        every cell (``fraction`` 1) or of ``fraction * R^3`` cells drawn at random."""
        r = self.resolution
        cells = r**3
        if fraction >= 1.0:
            index = torch.arange(cells)
        else:
            index = torch.randint(0, cells, (max(1, int(fraction * cells)),), generator=generator)
        xyz = torch.stack([index % r, (index // r) % r, index // (r * r)], 1).float()
        points = (xyz + torch.rand(len(index), 3, generator=generator)) / r
        values = torch.cat([density(points[i:i + chunk]).float()
                            for i in range(0, len(points), chunk)])
        self.density.mul_(self.decay)
        self.density.scatter_reduce_(0, index, values, reduce="amax")
        cut = min(self.threshold, float(self.density.mean()))
        self.occupied = self.density > cut
        self.updates += 1

    def state_dict(self) -> dict[str, Any]:
        return {"resolution": self.resolution, "threshold": self.threshold,
                "decay": self.decay, "density": self.density.clone(),
                "occupied": self.occupied.clone(), "updates": self.updates}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.resolution = int(state["resolution"])
        self.threshold, self.decay = float(state["threshold"]), float(state["decay"])
        self.density = state["density"].clone()
        self.occupied = state["occupied"].clone()
        self.updates = int(state["updates"])

    def packed(self) -> Tensor:
        """The occupied cells as packed bits (what a saved model keeps: 1 bit per cell)."""
        return torch.from_numpy(np.packbits(self.occupied.numpy()))

    def load_packed(self, bits: Tensor) -> None:
        occupied = np.unpackbits(bits.numpy(), count=self.resolution**3).astype(bool)
        self.occupied = torch.from_numpy(occupied)
        self.density = self.occupied.float()
        self.updates = max(self.updates, 1)
