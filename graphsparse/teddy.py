"""TEDDY's degree-based one-shot edge scores and pruning.

Reference: Seo, Yun, Yang, "TEDDY: Trimming Edges with Degree-based Discrimination strategY",
ICLR 2024. With ``d_v`` the in-degree of node ``v`` (the number of edges ``u -> v``: messages
aggregate at the target, PyG's ``source_to_target`` flow, as the official code's row sums of
``adj_t``), ``g_v = sum_{u -> v} d_u^(-1/2)`` (one sparse mat-vec) and ``t_v = g_v / d_v^2``,
edge ``(u, v)`` scores ``t_u * t_v``: edges between low-degree nodes whose neighbours are also of
low degree score high and are kept, edges that hubs would dominate anyway go first. On an
undirected graph in- and out-degrees agree. Self-loops are never pruned.

TEDDY reads no edge weights: its functions and :class:`TeddyPruner` take a graph's edges only
(:func:`unweighted_structure`), so any ``edge_weight`` a PyG ``Data`` carries is accepted.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from sparsebox._validation import check_fraction, check_int, exact_fraction, validate_params
from sparsebox.base import Sparsifier
from sparsebox.exceptions import InvalidParameterError
from sparsebox.select import select
from sparsebox.structure import (
    SparseStructure,
    _from_torch,
    as_structure,
    is_networkx_graph,
    is_pyg_data,
    pyg_edge_index,
    warn_if_nearly_symmetric,
)

__all__ = ["teddy_node_terms", "teddy_edge_scores", "level_keep_ratios", "TeddyPruner",
           "unweighted_structure"]


def unweighted_structure(graph: Any) -> SparseStructure:
    """The edges of ``graph`` as an unweighted :class:`~sparsebox.SparseStructure`, its weights
    ignored: what a method that never reads weights (TEDDY, random pruning) works on.

    A PyG ``Data`` gives its ``edge_index`` (repeated columns merged) and ``num_nodes`` only, so
    an ``edge_weight`` of any sign, NaN or shape is accepted; a networkx graph loses its
    ``weight`` attributes (other attributes, ``id`` among them, stay); a structure is returned
    as it is; anything else (an ``edge_index``, a matrix) is read by
    :func:`~sparsebox.as_structure`, then its distinct edges kept without their weights.
    Undirectedness is detected on the edges alone: a repeated column of an ``edge_index``, or
    the unequal entries ``A[u, v]`` and ``A[v, u]`` of a normalized adjacency, do not make an
    undirected graph directed.

    Examples
    --------
    >>> import torch
    >>> from torch_geometric.data import Data
    >>> data = Data(edge_index=torch.tensor([[0, 1, 0], [1, 0, 1]]),
    ...             edge_weight=torch.tensor([0.0, -1.0, float("nan")]), num_nodes=3)
    >>> unweighted_structure(data)
    SparseStructure(num_nodes=3, num_edges=1, undirected, unweighted)
    """
    if isinstance(graph, SparseStructure):
        return graph
    if is_pyg_data(graph):
        edge_index = _from_torch(pyg_edge_index(graph), "data.edge_index")  # or a numpy array
        return _distinct_edges(edge_index, int(graph.num_nodes), advice=_PYG_UNDIRECTED)
    if is_networkx_graph(graph):
        return as_structure(_without_weights(graph))
    # every entry (weights summed over repeated ones, then dropped): undirectedness is the edges'
    g = as_structure(graph, name="graph", undirected=False)
    return _distinct_edges(np.stack([g.rows, g.cols]), g.num_nodes)


#: how a PyG graph read as directed, with nearly every column mirrored, is made undirected
_PYG_UNDIRECTED = ("make it undirected first with torch_geometric.transforms.ToUndirected("
                   "reduce='max') (its default, 'add', doubles the weights of the edges that "
                   "had their mirror), or ignore this warning to keep it directed")


def _distinct_edges(edge_index: np.ndarray, num_nodes: int,
                    advice: str | None = None) -> SparseStructure:
    """The unweighted structure of the distinct columns of an ``edge_index``, undirected when
    every column has its mirror (no weights, so repeated columns cannot make a symmetric edge
    set look directed); what ``as_structure`` builds from the distinct columns, in one sort.
    ``advice``: how the warning of a nearly symmetric one says to read it otherwise."""
    ei = np.asarray(edge_index, dtype=np.int64)
    if ei.ndim != 2 or ei.shape[0] != 2 or (ei.size and (ei.min() < 0 or ei.max() >= num_nodes)):
        return as_structure(ei, num_nodes=num_nodes)  # its error names what is wrong
    n = max(num_nodes, 1)
    keys = np.sort(ei[0] * n + ei[1])  # (row, col) order, as items are
    keys = keys[np.concatenate([[True], keys[1:] != keys[:-1]])] if keys.size else keys
    rows, cols = np.divmod(keys, n)
    mirrors = np.sort(cols * n + rows)
    undirected = bool(np.array_equal(mirrors, keys))
    if not undirected:
        lone = ~np.isin(keys, mirrors, assume_unique=True)
        first = int(np.flatnonzero(lone)[0]) if lone.any() else 0
        warn_if_nearly_symmetric(int(lone.sum()), keys.size, (int(rows[first]), int(cols[first])),
                                 advice=advice)
    if undirected:
        upper = rows <= cols
        rows, cols = rows[upper], cols[upper]
    return SparseStructure(rows, cols, np.ones(rows.shape[0]), np.arange(rows.shape[0]),
                           num_nodes=num_nodes, undirected=undirected, weighted=False)


def _without_weights(graph: Any) -> Any:
    """A copy of the networkx ``graph`` without its ``weight`` edge attributes."""
    plain = type(graph)()
    plain.add_nodes_from(graph.nodes)
    plain.add_edges_from((u, v, {k: x for k, x in attrs.items() if k != "weight"})
                         for u, v, attrs in graph.edges(data=True))
    return plain


def teddy_node_terms(row: np.ndarray, col: np.ndarray, num_nodes: int, *,
                     add_self_loops: bool = False) -> np.ndarray:
    """``t_v = g_v / d_v^2`` for the entries ``(row, col)`` of an adjacency matrix, read as
    edges ``row -> col`` (PyG's ``edge_index``: source, target).

    ``d_v`` is the in-degree of ``v`` (entries whose target is ``v``; a self-loop counts once,
    a repeated entry each time) and ``g_v`` sums ``d_u^(-1/2)`` over the sources ``u`` of those
    entries: messages aggregate at the target, as in the official code's ``adj_t`` row sums.
    A node without in-edges has ``t_v = 0``. With ``add_self_loops`` every node without one gets
    a self-loop first (what a GAT layer adds).

    Examples
    --------
    >>> t = teddy_node_terms(np.array([1, 2, 2]), np.array([0, 0, 1]), 3)  # 1->0, 2->0, 2->1
    >>> t.round(4).tolist()  # in-degrees d = (2, 1, 0), g = (1, 0, 0)
    [0.25, 0.0, 0.0]
    """
    validate_params({"add_self_loops": add_self_loops}, {"add_self_loops": [bool]})  # "no" is true
    num_nodes = check_int("num_nodes", num_nodes, minimum=0)
    row, col = np.asarray(row), np.asarray(col)
    if row.ndim != 1 or row.shape != col.shape or any(
            ends.size and ends.dtype.kind not in "iu" for ends in (row, col)):
        raise InvalidParameterError(f"row and col must be 1-D integer arrays of one length, got "
                                    f"shapes {list(row.shape)} and {list(col.shape)} of "
                                    f"{row.dtype} and {col.dtype}")
    for name, ends in (("row", row), ("col", col)):  # (a negative node wrapped around to the end)
        low, high = (int(ends.min()), int(ends.max())) if ends.size else (0, -1)
        if low < 0 or high >= num_nodes:
            raise InvalidParameterError(f"{name} holds node {low if low < 0 else high}, outside "
                                        f"0..{num_nodes - 1} (num_nodes={num_nodes})")
    row, col = row.astype(np.int64, copy=False), col.astype(np.int64, copy=False)  # ([] is float)
    if add_self_loops:
        missing = np.setdiff1d(np.arange(num_nodes), row[row == col])
        row, col = np.concatenate([row, missing]), np.concatenate([col, missing])
    deg = np.bincount(col, minlength=num_nodes).astype(np.float64)
    inv_sqrt = np.zeros(num_nodes)
    has_in_edges = deg > 0
    inv_sqrt[has_in_edges] = deg[has_in_edges] ** -0.5
    g = np.bincount(col, weights=inv_sqrt[row], minlength=num_nodes)
    t = np.zeros(num_nodes)
    t[has_in_edges] = g[has_in_edges] / deg[has_in_edges] ** 2
    return t


def teddy_edge_scores(graph: Any, *, add_self_loops: bool = False) -> np.ndarray:
    """TEDDY's score per item (edge) of ``graph``; self-loops score ``inf``. Weights are ignored
    (see :func:`unweighted_structure`); degrees are in-degrees (see :func:`teddy_node_terms`).

    ``add_self_loops=True`` counts a self-loop on every node in the degrees first (what a GAT
    layer adds before message passing).
    """
    g = unweighted_structure(graph)
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
    level = check_int("level", level, minimum=0)  # (-1 gave keep ratios above 1, NaN NaN)
    return 0.95**level, 0.9**level


def sizing_from_edge_sparsity(keep_ratio: float | None, edge_sparsity: float | None,
                               owner: str, **other_sizes: Any) -> float | None:
    """The keep ratio an old ``edge_sparsity`` argument means (with a deprecation warning);
    another size given with it (``keep_ratio``, or ``other_sizes`` such as ``budget=...``) is
    refused by its own name."""
    if edge_sparsity is None:
        return keep_ratio
    warnings.warn(f"{owner}(edge_sparsity=s) is deprecated and will be removed; pass "
                  "keep_ratio=1 - s (the fraction of edges kept)", DeprecationWarning,
                  stacklevel=3)
    sizes = {"keep_ratio": keep_ratio, **other_sizes}
    given = [name for name, value in sizes.items() if value is not None]
    if given:  # (not "got keep_ratio, budget" when the caller gave edge_sparsity and budget)
        raise InvalidParameterError(f"give {given[0]}, not both {given[0]} and edge_sparsity")
    check_fraction("edge_sparsity", edge_sparsity, low_open=False, high_open=True)
    # 1 - s as written (1.0 - 0.9 is 0.09999999999999998, which kept one edge of 15 where
    # keep_ratio=0.1 keeps two)
    return float(1 - exact_fraction(edge_sparsity))


def kept_part(graph: Any, mask: np.ndarray) -> SparseStructure:
    """The items ``mask`` keeps of :func:`unweighted_structure` ``(graph)``, with the graph's own
    weights where it has valid ones on the same items (else unweighted)."""
    edges = unweighted_structure(graph)
    try:  # read as the edges were (weights never make it directed: no warning of it either)
        weighted = as_structure(graph, undirected=edges.is_undirected)
    except ValueError:  # weights a weight-blind method accepts but a structure cannot hold
        return edges.subgraph(mask)
    same_items = (weighted.is_undirected == edges.is_undirected
                  and np.array_equal(weighted.rows, edges.rows)
                  and np.array_equal(weighted.cols, edges.cols))
    return (weighted if same_items else edges).subgraph(mask)


class TeddyPruner(Sparsifier):
    """TEDDY's one-shot edge pruning: keep the highest-scoring edges (``t_u t_v``, see
    :func:`teddy_edge_scores`) to an exact count of the non-loop edges; self-loops always stay
    and are not counted. An undirected edge (both directions) is one item, a directed one (an
    asymmetric ``edge_index``, degrees then counted at the target) one item per direction;
    repeated columns of an ``edge_index`` are one edge, and edge weights are never read (a PyG
    ``edge_weight`` or a networkx ``weight`` may be anything; a matrix's nonzero entries must
    still be finite and positive, as :func:`~sparsebox.as_structure` reads them).
    :class:`~graphsparse.transforms.TeddyTransform` keeps the same edges.

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
                                                          type(self).__name__, budget=self.budget,
                                                          density=self.density)}
        self._validate_params(sizes)
        g = unweighted_structure(graph)
        loops = g.rows == g.cols
        num_prunable, num_loops = int((~loops).sum()), int(loops.sum())
        # sized before anything is set: a refit that fails leaves the last fit whole
        keep = self._size(num_prunable, num_nodes=g.num_nodes, num_loops=num_loops, overrides=sizes)
        scores = teddy_edge_scores(g, add_self_loops=self.add_self_loops)
        self.scores_, self.mask_ = scores, select(scores, budget=keep + num_loops, protected=loops)
        self._fitted_on(g)
        return self

    def _apply(self, graph: Any) -> SparseStructure:
        return kept_part(graph, self.mask_)

    def _edge_structure(self, graph: Any) -> SparseStructure:
        return unweighted_structure(graph)
