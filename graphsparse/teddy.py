"""TEDDY's degree-based one-shot edge scores and pruning.

Reference: Seo, Yun, Yang, "TEDDY: Trimming Edges with Degree-based Discrimination strategY",
ICLR 2024. With ``d = A 1`` the degrees, ``g_v = sum_{u in N(v)} d_u^(-1/2)`` (one sparse
mat-vec) and ``t_v = g_v / d_v^2``, edge ``(u, v)`` scores ``t_u * t_v``: edges between
low-degree nodes whose neighbours are also of low degree score high and are kept, edges that
hubs would dominate anyway go first. Self-loops are never pruned.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sparsebox._validation import check_fraction
from sparsebox.select import budget_from_keep_ratio, select
from sparsebox.structure import SparseStructure, as_structure

__all__ = ["teddy_node_terms", "teddy_edge_scores", "TeddyPruner", "TeddyTransform"]


def teddy_node_terms(row: np.ndarray, col: np.ndarray, num_nodes: int, *,
                     add_self_loops: bool = False) -> np.ndarray:
    """``t_v = g_v / d_v^2`` for the entries ``(row, col)`` of an adjacency matrix (each stored
    direction an entry; self-loops count once in the degree, as in ``A 1``). With
    ``add_self_loops`` every node without one gets a self-loop first (what a GAT layer adds)."""
    if add_self_loops:
        missing = np.setdiff1d(np.arange(num_nodes), row[row == col])
        row, col = np.concatenate([row, missing]), np.concatenate([col, missing])
    deg = np.bincount(row, minlength=num_nodes).astype(np.float64)
    inv_sqrt = np.zeros(num_nodes)
    nz = deg > 0
    inv_sqrt[nz] = deg[nz] ** -0.5
    g = np.bincount(row, weights=inv_sqrt[col], minlength=num_nodes)
    t = np.zeros(num_nodes)
    t[nz] = g[nz] / deg[nz] ** 2
    return t


def teddy_edge_scores(graph: Any, *, add_self_loops: bool = False) -> np.ndarray:
    """TEDDY's score per item (edge) of ``graph``; self-loops score ``inf``.

    ``add_self_loops=True`` counts a self-loop on every node in the degrees first (what a GAT
    layer adds before message passing).
    """
    g = as_structure(graph)
    t = teddy_node_terms(g.entry_rows, np.asarray(g.indices), g.num_nodes,
                         add_self_loops=add_self_loops)
    scores = t[g.rows] * t[g.cols]
    scores[g.rows == g.cols] = np.inf
    return scores


def _keep_count(num_prunable: int, edge_sparsity: float) -> int:
    keep_ratio = 1.0 - check_fraction("edge_sparsity", edge_sparsity, low_open=False,
                                      high_open=True)
    return budget_from_keep_ratio(keep_ratio, num_prunable)


class TeddyPruner:
    """Remove the lowest-scoring edges so that exactly ``round((1 - edge_sparsity) * E)`` of the
    ``E`` non-loop edges remain (an undirected edge, both directions, counts once); self-loops
    stay.

    Attributes
    ----------
    scores_, mask_ : ndarray (one per item of the fitted graph)
    """

    def __init__(self, edge_sparsity: float, *, add_self_loops: bool = False) -> None:
        self.edge_sparsity = edge_sparsity
        self.add_self_loops = add_self_loops

    def fit(self, graph: Any) -> TeddyPruner:
        g = as_structure(graph)
        self.scores_ = teddy_edge_scores(g, add_self_loops=self.add_self_loops)
        loops = g.rows == g.cols
        keep = _keep_count(int((~loops).sum()), self.edge_sparsity)
        self.mask_ = select(self.scores_, budget=keep + int(loops.sum()), protected=loops)
        return self

    def transform(self, graph: Any) -> SparseStructure:
        if not hasattr(self, "mask_"):
            raise RuntimeError("call fit(graph) before transform()")
        return as_structure(graph).subgraph(self.mask_)

    def fit_transform(self, graph: Any) -> SparseStructure:
        return self.fit(graph).transform(graph)


def _base_transform():
    from torch_geometric.transforms import BaseTransform

    return BaseTransform


class TeddyTransform(_base_transform()):
    """PyG transform: drop the lowest-scoring edges of ``data.edge_index`` (both directions of an
    undirected pair together, self-loops kept) and every per-edge attribute with them, in the
    original column order; ``data.edge_mask`` says which columns stayed."""

    def __init__(self, edge_sparsity: float, *, add_self_loops: bool = False) -> None:
        self.edge_sparsity = edge_sparsity
        self.add_self_loops = add_self_loops

    def forward(self, data: Any) -> Any:
        import torch

        ei = data.edge_index.cpu().numpy()
        n = int(data.num_nodes)
        row, col = ei[0], ei[1]
        t = teddy_node_terms(row, col, n, add_self_loops=self.add_self_loops)
        scores = t[row] * t[col]
        loops = row == col
        scores[loops] = np.inf
        pair = np.minimum(row, col) * n + np.maximum(row, col)
        num_pairs = np.unique(pair[~loops]).size
        keep_pairs = _keep_count(num_pairs, self.edge_sparsity)
        budget = keep_pairs + np.unique(pair[loops]).size
        mask = select(scores, budget=budget, groups=pair, protected=loops)
        out = data.clone()
        keep = torch.from_numpy(mask)
        num_cols = ei.shape[1]
        for key, value in data.items():
            if key == "edge_index":
                out.edge_index = data.edge_index[:, keep]
            elif torch.is_tensor(value) and data.is_edge_attr(key) and \
                    value.shape[0] == num_cols:
                out[key] = value[keep]
        out.edge_mask = keep
        return out
