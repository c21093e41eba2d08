"""Static spectral sparsifiers: the feGRASS-style tree + off-tree recovery.

Reference: Liu, Yu, Feng, "feGRASS: Fast and Effective Graph Spectral Sparsification for Scalable
Power Grid Analysis", IEEE TCAD 2022; Feng, "GRASS: Graph Spectral Sparsification Leveraging
Scalable Spectral Perturbation Analysis", IEEE TCAD 2020.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np
from numba import njit
from scipy.sparse.linalg import splu

from graphsparse.metrics import grounded_laplacian_nodes
from graphsparse.trees import TreeResistance, bfs_levels, max_spanning_forest
from sparsebox._validation import Interval
from sparsebox.base import Sparsifier
from sparsebox.exceptions import InvalidParameterError
from sparsebox.select import check_size_floor
from sparsebox.structure import SparseStructure, as_structure

__all__ = ["FeGrassSparsifier", "spanning_tree_scores", "recover_off_tree", "recover_reference"]


def spanning_tree_scores(graph: SparseStructure) -> np.ndarray:
    """feGRASS effective weights ``w * log(max(deg_i, deg_j)) / (level_i + level_j)``, with BFS
    levels from the highest-degree node of each component. A spanning tree that maximises them
    favours heavy edges near hubs and near the root, which keeps tree paths short."""
    deg = graph.degree()
    level = bfs_levels(graph).astype(np.float64)
    r, c = graph.rows, graph.cols
    depth = np.maximum(level[r] + level[c], 1.0)
    return graph.weights * np.log(np.maximum(deg[r], deg[c])) / depth


@njit(cache=True)
def _recover(order, rows, cols, indptr, indices, budget, num_nodes, hops):
    """Take off-tree edges in ``order`` unless an endpoint is marked; each taken edge marks its
    endpoints and their ``hops``-neighbourhoods in the spanning tree (``indptr``/``indices``).
    When a pass ends short of the budget, marks are cleared and the pass repeats over what is
    left."""
    taken = np.zeros(order.shape[0], dtype=np.bool_)
    count = 0
    while count < budget:
        mark = np.zeros(num_nodes, dtype=np.bool_)
        progress = False
        for i in range(order.shape[0]):
            if count >= budget:
                break
            if taken[i]:
                continue
            p, q = rows[order[i]], cols[order[i]]
            if mark[p] or mark[q]:
                continue
            taken[i] = True
            count += 1
            progress = True
            for end in (p, q):
                mark[end] = True
                if hops >= 1:
                    for k in range(indptr[end], indptr[end + 1]):
                        mark[indices[k]] = True
        if not progress:
            break
    return taken


def recover_reference(order: np.ndarray, rows: np.ndarray, cols: np.ndarray, indptr: np.ndarray,
                      indices: np.ndarray, budget: int, num_nodes: int, hops: int) -> np.ndarray:
    """The specification of the numba kernel ``_recover``, in plain Python (slow; for tests).

    Passes over ``order`` take an item unless an endpoint is marked; a taken item marks both
    endpoints and, with ``hops`` 1, their neighbours in the kept subgraph (CSR ``indptr`` /
    ``indices``). A pass that ends short of ``budget`` clears the marks and the next pass goes
    over what is left; a pass that takes nothing ends the search.

    Examples
    --------
    >>> path = np.array([0, 1, 2]), np.array([1, 2, 3])  # items 0-1, 1-2, 2-3
    >>> recover_reference(np.arange(3), *path, np.zeros(5, np.int64), np.zeros(0, np.int64),
    ...                   budget=2, num_nodes=4, hops=0).tolist()
    [True, False, True]
    """
    taken = [False] * len(order)
    count = 0
    while count < budget:
        marked: set[int] = set()
        progressed = False
        for i, item in enumerate(order):
            if count >= budget:
                break
            p, q = int(rows[item]), int(cols[item])
            if taken[i] or p in marked or q in marked:
                continue
            taken[i], count, progressed = True, count + 1, True
            for end in (p, q):
                marked.add(end)
                if hops >= 1:
                    marked.update(int(x) for x in indices[indptr[end]:indptr[end + 1]])
        if not progressed:
            break
    return np.array(taken, dtype=bool)


def recover_off_tree(graph: SparseStructure, tree_mask: np.ndarray, scores: np.ndarray,
                     budget: int, *, hops: int = 1) -> np.ndarray:
    """Item mask: ``tree_mask`` (the items kept so far: a spanning forest, or more) plus up to
    ``budget`` other items in descending score, spread out by marking neighbourhoods in the kept
    subgraph (see :func:`_recover`)."""
    candidates = np.flatnonzero(~tree_mask & (graph.rows != graph.cols))
    order = candidates[np.argsort(-scores[candidates], kind="stable")]
    tree = graph.subgraph(tree_mask)
    taken = _recover(order, graph.rows, graph.cols, tree.indptr, tree.indices, budget,
                     graph.num_nodes, hops)
    mask = tree_mask.copy()
    mask[order[taken]] = True
    return mask


def refine_by_heat(graph: SparseStructure, mask: np.ndarray, tree_mask: np.ndarray, extra: int,
                   *, rounds: int, power_steps: int = 2, num_vectors: int = 4,
                   max_fill: float = 10.0, seed: int = 0) -> tuple[np.ndarray, int]:
    """GRASS-style refinement: in each round, approximate the dominant generalized eigenvectors
    of ``(L_G, L_H)`` by ``power_steps`` products ``L_H^{-1} L_G`` on random vectors, and add the
    off-subgraph edges with the most heat ``w_e (x_p - x_q)^2`` (the edges that most raise
    ``x' L_G x / x' L_H x``), spread out like feGRASS recovery by marking the spanning tree's
    neighbourhoods (taking the hottest edges blindly clusters them and helps far less).
    ``extra`` edges in all, spread evenly over the rounds.

    Each round factorizes ``L_H``; on 3D meshes the fill grows fast with H's density, so the
    rounds stop once the factor holds more than ``max_fill`` times the nonzeros of ``L_H``.
    Returns the new mask and the number of rounds done (the caller spends what is left of the
    budget otherwise)."""
    rng = np.random.default_rng(seed)
    tree = graph.subgraph(tree_mask)
    keep = grounded_laplacian_nodes(graph)
    lg = graph.laplacian().tocsc()[keep][:, keep].tocsc()
    candidates = graph.rows != graph.cols
    mask = mask.copy()
    for r in range(rounds):
        take = extra // rounds + (1 if r < extra % rounds else 0)
        if take == 0:
            continue
        lh = graph.subgraph(mask).laplacian().tocsc()[keep][:, keep].tocsc()
        lu = splu(lh)
        if lu.L.nnz + lu.U.nnz > max_fill * lh.nnz:
            return mask, r
        x = rng.standard_normal((keep.shape[0], num_vectors))
        for _ in range(power_steps):
            x = lu.solve(lg @ x)
        x /= np.sqrt(np.einsum("ik,ik->k", x, lh @ x))
        full = np.zeros((graph.num_nodes, num_vectors))
        full[keep] = x
        heat = graph.weights * ((full[graph.rows] - full[graph.cols]) ** 2).sum(axis=1)
        heat[mask | ~candidates] = -np.inf
        order = np.argsort(-heat, kind="stable")
        order = order[np.isfinite(heat[order])]
        taken = _recover(order, graph.rows, graph.cols, tree.indptr, tree.indices, take,
                         graph.num_nodes, 1)
        mask[order[taken]] = True
    return mask, rounds


class FeGrassSparsifier(Sparsifier):
    """Spectral sparsifier: a maximum spanning forest under feGRASS effective weights, plus the
    off-tree edges of largest stretch ``w * R_T`` (tree resistance through the LCA), recovered
    with 1-hop tree-neighbourhood marking so that they spread over the graph; then, by default,
    GRASS-style refinement rounds that add the edges the current sparsifier approximates worst.

    Parameters
    ----------
    keep_ratio, budget, density : float, int, float (at most one; default density 1.10)
        The size of H: the fraction of G's edges kept, their exact count, or ``|E_H| / |V|``. It
        cannot be below the spanning forest (``|V| - components`` edges): the error says so in
        the unit given.
    hops : int
        Marking radius (0 or 1).
    refine_rounds : int
        Refinement rounds (0: plain feGRASS).
    refine_fraction : float
        Share of the off-tree budget left to refinement (default 0.5). Refinement stops early
        when factorizing H fills in past 10 times its nonzeros (dense 3D meshes); the rest of
        its share then goes to stretch recovery (``refine_rounds_done_`` says how many ran).
    seed : int
        Seed of the refinement's random vectors.

    Attributes
    ----------
    mask_ : ndarray of bool
        Items of G kept in H (aligned with ``graph.ids``).
    sparsifier_ : SparseStructure
        H, a subgraph of G with G's weights and ids.
    tree_mask_ : ndarray of bool
    scores_ : ndarray of float
        Off-tree stretch ``w * R_T`` per item, ``inf`` on the spanning forest (always kept).

    References
    ----------
    Liu, Yu, Feng. feGRASS: Fast and Effective Graph Spectral Sparsification for Scalable Power
    Grid Analysis. IEEE TCAD 2022. Feng. GRASS. IEEE TCAD 2020.

    Examples
    --------
    >>> import networkx as nx
    >>> from sparsebox import as_structure
    >>> g = as_structure(nx.convert_node_labels_to_integers(nx.grid_2d_graph(10, 10)))
    >>> h = FeGrassSparsifier(density=1.1).fit(g).sparsifier_
    >>> h.num_edges, h.connected_components()[0]
    (110, 1)
    """

    item = "edge"
    sizing = ("keep_ratio", "budget", "density")
    default_size = ("density", 1.10)
    _parameter_constraints = {
        "hops": [Interval(numbers.Integral, 0, 1, closed="both")],
        "refine_rounds": [Interval(numbers.Integral, 0, None, closed="left")],
        "refine_fraction": [Interval(numbers.Real, 0, 1, closed="both")],
        "seed": [int],
    }

    def __init__(self, *, keep_ratio: float | None = None, budget: int | None = None,
                 density: float | None = None, hops: int = 1, refine_rounds: int = 16,
                 refine_fraction: float = 0.5, seed: int = 0):
        self.keep_ratio = keep_ratio
        self.budget = budget
        self.density = density
        self.hops = hops
        self.refine_rounds = refine_rounds
        self.refine_fraction = refine_fraction
        self.seed = seed

    def fit(self, graph: Any) -> FeGrassSparsifier:
        self._validate_params()
        g = as_structure(graph)
        if not g.is_undirected:
            raise InvalidParameterError("FeGrassSparsifier needs an undirected graph")
        tree_mask = max_spanning_forest(g, spanning_tree_scores(g))
        num_tree = int(tree_mask.sum())
        budget = self._size(g.num_items, num_nodes=g.num_nodes)
        check_size_floor(budget, num_tree, g.num_items, what="the spanning forest",
                         num_nodes=g.num_nodes, **self._sizing_in_use())
        tree = g.subgraph(tree_mask)
        off = ~tree_mask & (g.rows != g.cols)
        stretch = np.zeros(g.num_items)
        stretch[off] = g.weights[off] * TreeResistance(tree).resistance(g.rows[off], g.cols[off])
        self.tree_mask_ = tree_mask
        rounds = self.refine_rounds
        extra = budget - num_tree
        refined = math.floor(self.refine_fraction * extra) if rounds else 0
        mask = recover_off_tree(g, tree_mask, stretch, extra - refined, hops=self.hops)
        self.refine_rounds_done_ = 0
        if refined:
            mask, self.refine_rounds_done_ = refine_by_heat(
                g, mask, tree_mask, budget - int(mask.sum()), rounds=rounds, seed=self.seed)
            left = budget - int(mask.sum())
            if left > 0:  # refinement stopped early: spend the rest on tree stretch
                mask = recover_off_tree(g, mask, stretch, left, hops=self.hops)
        self.scores_ = np.where(tree_mask, np.inf, stretch)
        self.mask_ = mask
        self.sparsifier_ = g.subgraph(self.mask_)
        return self

    def _apply(self, graph: Any) -> SparseStructure:
        return as_structure(graph).subgraph(self.mask_)

    def _num_items(self, graph: Any) -> int:
        return as_structure(graph).num_items
