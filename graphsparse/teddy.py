"""TEDDY's degree-based one-shot edge scores and pruning.

Reference: Seo, Yun, Yang, "TEDDY: Trimming Edges with Degree-based Discrimination strategY",
ICLR 2024. With ``d = A 1`` the degrees, ``g_v = sum_{u in N(v)} d_u^(-1/2)`` (one sparse
mat-vec) and ``t_v = g_v / d_v^2``, edge ``(u, v)`` scores ``t_u * t_v``: edges between
low-degree nodes whose neighbours are also of low degree score high and are kept, edges that
hubs would dominate anyway go first. Self-loops are never pruned.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from sparsebox._validation import check_fraction
from sparsebox.base import Sparsifier
from sparsebox.exceptions import InvalidParameterError
from sparsebox.select import select
from sparsebox.structure import SparseStructure, as_structure

__all__ = ["teddy_node_terms", "teddy_edge_scores", "level_keep_ratios", "TeddyPruner"]


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


def level_keep_ratios(level: int) -> tuple[float, float]:
    """TEDDY's level schedule: ``(edge keep ratio 0.95^i, weight keep ratio 0.9^i)``.

    Examples
    --------
    >>> [round(r, 4) for r in level_keep_ratios(20)]
    [0.3585, 0.1216]
    """
    return 0.95**level, 0.9**level


def sizing_from_edge_sparsity(keep_ratio: float | None, edge_sparsity: float | None,
                               owner: str) -> float | None:
    """The keep ratio an old ``edge_sparsity`` argument means (with a deprecation warning)."""
    if edge_sparsity is None:
        return keep_ratio
    warnings.warn(f"{owner}(edge_sparsity=s) is deprecated and will be removed; pass "
                  "keep_ratio=1 - s (the fraction of edges kept)", DeprecationWarning,
                  stacklevel=3)
    if keep_ratio is not None:
        raise InvalidParameterError("give keep_ratio, not both keep_ratio and edge_sparsity")
    return 1.0 - check_fraction("edge_sparsity", edge_sparsity, low_open=False, high_open=True)


class TeddyPruner(Sparsifier):
    """TEDDY's one-shot edge pruning: keep the highest-scoring edges (``t_u t_v``, see
    :func:`teddy_edge_scores`) to an exact count of the non-loop edges; self-loops always stay
    and are not counted. An undirected edge (both directions) is one item.

    Parameters
    ----------
    keep_ratio, budget, density : float, int, float (at most one; default keep_ratio 0.5)
        Fraction of the non-loop edges kept, their exact count, or kept edges per node.
    add_self_loops : bool
        Count a self-loop on every node in the degrees (what a GAT layer adds).
    edge_sparsity : float, optional
        Deprecated: the fraction removed, ``1 - keep_ratio``.

    Attributes
    ----------
    scores_ : ndarray of float
        TEDDY's score per item of the fitted graph (``inf`` on self-loops).
    mask_ : ndarray of bool

    References
    ----------
    Seo, Yun, Yang. TEDDY: Trimming Edges with Degree-based Discrimination strategY. ICLR 2024.

    Examples
    --------
    >>> import networkx as nx
    >>> from sparsebox import as_structure
    >>> g = as_structure(nx.karate_club_graph())
    >>> TeddyPruner(keep_ratio=0.5).fit_transform(g).num_edges
    39
    """

    item = "edge"
    sizing = ("keep_ratio", "budget", "density")
    default_size = ("keep_ratio", 0.5)
    _parameter_constraints = {"add_self_loops": [bool]}

    def __init__(self, *, keep_ratio: float | None = None, budget: int | None = None,
                 density: float | None = None, add_self_loops: bool = False,
                 edge_sparsity: float | None = None) -> None:
        self.keep_ratio = keep_ratio
        self.budget = budget
        self.density = density
        self.add_self_loops = add_self_loops
        self.edge_sparsity = edge_sparsity

    def fit(self, graph: Any, y: Any = None) -> TeddyPruner:
        sizes = {"keep_ratio": sizing_from_edge_sparsity(self.keep_ratio, self.edge_sparsity,
                                                          type(self).__name__)}
        self._validate_params(sizes)
        g = as_structure(graph)
        self.scores_ = teddy_edge_scores(g, add_self_loops=self.add_self_loops)
        loops = g.rows == g.cols
        keep = self._size(int((~loops).sum()), num_nodes=g.num_nodes, overrides=sizes)
        self.mask_ = select(self.scores_, budget=keep + int(loops.sum()), protected=loops)
        return self

    def _apply(self, graph: Any) -> SparseStructure:
        return as_structure(graph).subgraph(self.mask_)

    def _num_items(self, graph: Any) -> int:
        return as_structure(graph).num_items
