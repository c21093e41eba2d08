"""PyG transforms: the graph methods applied to a ``torch_geometric.data.Data``, every per-edge
attribute sliced with its edges."""

from __future__ import annotations

from typing import Any

import numpy as np
from torch_geometric.transforms import BaseTransform

from graphsparse.teddy import sizing_from_edge_sparsity, teddy_node_terms
from sparsebox._validation import exactly_one, validate_params
from sparsebox.base import SIZING_CONSTRAINTS
from sparsebox.select import resolve_budget, select
from sparsebox.structure import undirected_pair_keys

__all__ = ["TeddyTransform", "keep_edge_columns"]


def keep_edge_columns(data: Any, keep: Any) -> Any:
    """A copy of the PyG ``data`` with the columns ``keep`` (a bool tensor, one per column of
    ``edge_index``) of ``edge_index`` and of every per-edge attribute (``edge_weight``,
    ``edge_attr``, ...), in their order.

    Examples
    --------
    >>> import torch
    >>> from torch_geometric.data import Data
    >>> data = Data(edge_index=torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]]),
    ...             edge_attr=torch.arange(4.0), num_nodes=3)
    >>> kept = keep_edge_columns(data, torch.tensor([True, True, False, False]))
    >>> kept.edge_index.tolist(), kept.edge_attr.tolist()
    ([[0, 1], [1, 0]], [0.0, 1.0])
    """
    import torch

    out = data.clone()
    num_cols = data.edge_index.shape[1]
    for key, value in data.items():
        if key == "edge_index":
            out.edge_index = data.edge_index[:, keep]
        elif torch.is_tensor(value) and data.is_edge_attr(key) and value.shape[0] == num_cols:
            out[key] = value[keep]
    return out


class TeddyTransform(BaseTransform):
    """PyG transform: drop the lowest-scoring edges of ``data.edge_index`` (both directions of an
    undirected pair together, self-loops kept) and every per-edge attribute with them, in the
    original column order; ``data.edge_mask`` says which columns stayed.

    Sized like :class:`TeddyPruner`: ``keep_ratio`` of the undirected non-loop pairs (default
    0.5) or an exact ``budget`` of them; ``edge_sparsity`` is the deprecated ``1 - keep_ratio``.

    Examples
    --------
    >>> from torch_geometric.datasets import KarateClub
    >>> data = TeddyTransform(budget=30)(KarateClub()[0])
    >>> data.edge_index.shape[1], int(data.edge_mask.sum())
    (60, 60)
    """

    def __init__(self, *, keep_ratio: float | None = None, budget: int | None = None,
                 add_self_loops: bool = False, edge_sparsity: float | None = None) -> None:
        self.keep_ratio = sizing_from_edge_sparsity(keep_ratio, edge_sparsity,
                                                     type(self).__name__)
        self.budget = budget
        self.add_self_loops = add_self_loops
        if self.keep_ratio is None and budget is None:
            self.keep_ratio = 0.5
        exactly_one(keep_ratio=self.keep_ratio, budget=budget)
        validate_params({"keep_ratio": self.keep_ratio, "budget": budget}, SIZING_CONSTRAINTS)

    def forward(self, data: Any) -> Any:
        import torch

        ei = data.edge_index.cpu().numpy()
        n = int(data.num_nodes)
        row, col = ei[0], ei[1]
        t = teddy_node_terms(row, col, n, add_self_loops=self.add_self_loops)
        scores = t[row] * t[col]
        loops = row == col
        scores[loops] = np.inf
        pair = undirected_pair_keys(row, col, n)
        num_pairs = np.unique(pair[~loops]).size
        keep_pairs = resolve_budget(num_pairs, keep_ratio=self.keep_ratio, budget=self.budget)
        budget = keep_pairs + np.unique(pair[loops]).size
        mask = select(scores, budget=budget, groups=pair, protected=loops)
        keep = torch.from_numpy(mask)
        out = keep_edge_columns(data, keep)
        out.edge_mask = keep
        return out
