"""Spanning forests and tree resistances (the skeleton of feGRASS-style sparsifiers)."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
from numba import njit
from scipy.sparse.csgraph import minimum_spanning_tree

from sparsebox.structure import SparseStructure

__all__ = ["bfs_levels", "max_spanning_forest", "spanning_tree_scores", "TreeResistance", "bfs_reference",
           "lca_reference", "accumulate_reference"]


@njit(cache=True)
def _multi_source_bfs(indptr, indices, roots, n):
    level = np.full(n, -1, dtype=np.int64)
    parent = np.full(n, -1, dtype=np.int64)
    parent_entry = np.full(n, -1, dtype=np.int64)
    queue = np.empty(n, dtype=np.int64)
    head, tail = 0, 0
    for r in roots:
        level[r] = 0
        queue[tail] = r
        tail += 1
    while head < tail:
        u = queue[head]
        head += 1
        for k in range(indptr[u], indptr[u + 1]):
            v = indices[k]
            if level[v] < 0:
                level[v] = level[u] + 1
                parent[v] = u
                parent_entry[v] = k
                queue[tail] = v
                tail += 1
    return level, parent, parent_entry, queue[:tail]


def component_roots(graph: SparseStructure, labels: np.ndarray | None = None) -> np.ndarray:
    """The highest-degree node of each connected component (lowest id on ties); ``labels``:
    ``graph.connected_components()[1]`` when the caller has it."""
    if labels is None:
        _, labels = graph.connected_components()
    deg = graph.degree()
    order = np.lexsort((np.arange(graph.num_nodes), -deg, labels))
    first = np.concatenate([[True], labels[order][1:] != labels[order][:-1]])[:order.size]
    return order[first]


def bfs_levels(graph: SparseStructure) -> np.ndarray:
    """BFS level of every node, from the highest-degree node of its component."""
    level, _, _, _ = _multi_source_bfs(graph.indptr, graph.indices, component_roots(graph),
                                       graph.num_nodes)
    return level


def spanning_tree_scores(graph: SparseStructure) -> np.ndarray:
    """feGRASS effective weights ``w * log(max(deg_i, deg_j)) / (level_i + level_j)``, with BFS
    levels from the highest-degree node of each component. A spanning tree that maximises them
    favours heavy edges near hubs and near the root, which keeps tree paths short."""
    deg = graph.degree()
    level = bfs_levels(graph).astype(np.float64)
    r, c = graph.rows, graph.cols
    depth = np.maximum(level[r] + level[c], 1.0)
    return graph.weights * np.log(np.maximum(deg[r], deg[c])) / depth


def max_first_costs(score: np.ndarray) -> np.ndarray:
    """Costs 1, 2, ... by descending ``score`` (equal scores, equal costs), so that scipy's
    ``minimum_spanning_tree`` finds a maximum spanning forest under ``score``: positive (it
    ignores zero entries) and exact at any scale, where ``max + 1 - score`` rounds scores of
    1e17 to a cost of 0 (no edge) and ties scores that span many orders.

    Examples
    --------
    >>> max_first_costs(np.array([1e17, 1.0, 3e-6, 1e-6, 3e-6])).tolist()
    [1.0, 2.0, 3.0, 4.0, 3.0]
    """
    distinct, rank = np.unique(np.asarray(score, dtype=np.float64), return_inverse=True)
    return (distinct.size - rank.reshape(-1)).astype(np.float64)


def max_spanning_forest(graph: SparseStructure, score: np.ndarray) -> np.ndarray:
    """Boolean item mask of a maximum spanning forest under ``score`` (one per item; Kruskal).

    Self-loops are never in it. Scores may be zero or negative.
    """
    score = np.asarray(score, dtype=np.float64)
    off = graph.rows != graph.cols
    cost = max_first_costs(score[off])
    # scipy breaks ties by its own traversal order, which is deterministic for a given input
    a = sp.csr_array((cost, (graph.rows[off], graph.cols[off])),
                     shape=(graph.num_nodes, graph.num_nodes))
    t = minimum_spanning_tree(a).tocoo()
    mask = np.zeros(graph.num_items, dtype=bool)
    found = graph.find_items(t.row, t.col)
    mask[found] = True
    return mask


@njit(cache=True)
def _lift_tables(parent, order, levels_count):
    n = parent.shape[0]
    up = np.empty((levels_count, n), dtype=np.int64)
    for v in range(n):
        up[0, v] = parent[v] if parent[v] >= 0 else v
    for j in range(1, levels_count):
        for v in range(n):
            up[j, v] = up[j - 1, up[j - 1, v]]
    return up


@njit(cache=True)
def _lca_many(up, depth, a, b):
    out = np.empty(a.shape[0], dtype=np.int64)
    levels_count = up.shape[0]
    for i in range(a.shape[0]):
        u, v = a[i], b[i]
        if depth[u] < depth[v]:
            u, v = v, u
        diff = depth[u] - depth[v]
        j = 0
        while diff:
            if diff & 1:
                u = up[j, u]
            diff >>= 1
            j += 1
        if u != v:
            for j in range(levels_count - 1, -1, -1):
                if up[j, u] != up[j, v]:
                    u = up[j, u]
                    v = up[j, v]
            u = up[0, u]
        out[i] = u
    return out


class TreeResistance:
    """Resistances along a spanning forest: ``R_T(p, q) = r(p) + r(q) - 2 r(lca(p, q))`` with
    ``r(v)`` the resistance ``sum 1/w`` from v's root, infinite between two trees. LCA by binary
    lifting: ``O(n log n)`` to build, ``O(log n)`` per query.

    Parameters
    ----------
    tree : SparseStructure
        A forest (undirected, no cycles).
    roots : ndarray of int, optional
        One root per tree; by default the highest-degree node of each.
    """

    def __init__(self, tree: SparseStructure, roots: np.ndarray | None = None) -> None:
        if not tree.is_undirected:
            raise ValueError("tree must be undirected")
        n = tree.num_nodes
        _, self._tree_of = tree.connected_components()
        if roots is None:
            roots = component_roots(tree, self._tree_of)
        depth, parent, parent_entry, order = _multi_source_bfs(tree.indptr, tree.indices,
                                                               np.asarray(roots, np.int64), n)
        if order.shape[0] != n:
            raise ValueError("roots do not reach every node of the forest")
        step = np.zeros(n)
        has_parent = parent_entry >= 0
        weights = tree.weight[parent_entry[has_parent]]
        with np.errstate(over="ignore"):  # (numpy's "overflow encountered in divide" said no more)
            step[has_parent] = 1.0 / weights
        dist = _accumulate(order, parent, step)  # BFS order: parents before children
        # resistance() takes twice a distance: past half float64's largest number it is inf or
        # NaN (weights near 1e-308, or 1e-320 alone)
        if not (np.isfinite(dist).all() and dist.max(initial=0.0) <= np.finfo(np.float64).max / 2):
            raise ValueError(  # (of the graph, not of a parameter: the command names the file)
                f"edge weights as small as {float(weights.min())!r} make the tree's resistances "
                "(sums of 1 / weight along it) too large for float64: rescale the weights")
        self.depth, self.parent, self.dist = depth, parent, dist
        self._up = _lift_tables(parent, order, max(1, int(depth.max(initial=0)).bit_length()))

    def _pairs(self, a: Any, b: Any) -> tuple[np.ndarray, np.ndarray]:
        """``a`` and ``b`` as int64 arrays of one (broadcast) shape, nodes of the forest: the
        kernel reads them without bounds checks."""
        a, b = np.broadcast_arrays(np.asarray(a, np.int64), np.asarray(b, np.int64))
        n = self.depth.shape[0]
        if a.size and not (min(a.min(), b.min()) >= 0 and max(a.max(), b.max()) < n):
            raise ValueError(f"nodes must be in 0..{n - 1}, got "
                             f"{min(a.min(), b.min())}..{max(a.max(), b.max())}")
        return a, b

    def lca(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        a, b = self._pairs(a, b)
        return _lca_many(self._up, self.depth, np.ascontiguousarray(a).reshape(-1),
                         np.ascontiguousarray(b).reshape(-1)).reshape(a.shape)

    def resistance(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        a, b = self._pairs(a, b)
        r = self.dist[a] + self.dist[b] - 2.0 * self.dist[self.lca(a, b)]
        return np.where(self._tree_of[a] == self._tree_of[b], r, np.inf)


@njit(cache=True)
def _accumulate(order, parent, step):
    dist = np.zeros(parent.shape[0])
    for v in order:
        if parent[v] >= 0:
            dist[v] = dist[parent[v]] + step[v]
    return dist


# ------------------------------------------------------------------ references (the specification)
def bfs_reference(indptr: np.ndarray, indices: np.ndarray, roots: np.ndarray,
                  n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """What ``_multi_source_bfs`` computes, in plain Python: ``(level, parent, parent_entry,
    order)``, -1 where a node is not reached; neighbours in CSR order, roots in the given order.

    Examples
    --------
    >>> level, parent, _, order = bfs_reference(np.array([0, 1, 3, 4]), np.array([1, 0, 2, 1]),
    ...                                          np.array([0]), 3)
    >>> level.tolist(), parent.tolist(), order.tolist()
    ([0, 1, 2], [-1, 0, 1], [0, 1, 2])
    """
    from collections import deque

    level = [-1] * n
    parent = [-1] * n
    parent_entry = [-1] * n
    order = []
    queue = deque()
    for r in roots:
        level[int(r)] = 0
        queue.append(int(r))
    while queue:
        u = queue.popleft()
        order.append(u)
        for k in range(int(indptr[u]), int(indptr[u + 1])):
            v = int(indices[k])
            if level[v] < 0:
                level[v], parent[v], parent_entry[v] = level[u] + 1, u, k
                queue.append(v)
    as_array = lambda x: np.array(x, dtype=np.int64)  # noqa: E731
    return as_array(level), as_array(parent), as_array(parent_entry), as_array(order)


def lca_reference(parent: np.ndarray, depth: np.ndarray, a: np.ndarray,
                  b: np.ndarray) -> np.ndarray:
    """Lowest common ancestors by climbing parent links one step at a time (what binary lifting
    computes in ``O(log n)``).

    Examples
    --------
    >>> parent, depth = np.array([-1, 0, 0, 1]), np.array([0, 1, 1, 2])
    >>> lca_reference(parent, depth, np.array([3, 3]), np.array([2, 1])).tolist()
    [0, 1]
    """
    out = np.empty(len(a), dtype=np.int64)
    for i, (u, v) in enumerate(zip(a.tolist(), b.tolist(), strict=True)):
        while depth[u] > depth[v]:
            u = parent[u]
        while depth[v] > depth[u]:
            v = parent[v]
        while u != v:
            u, v = parent[u], parent[v]
        out[i] = u
    return out


def accumulate_reference(parent: np.ndarray, depth: np.ndarray, step: np.ndarray) -> np.ndarray:
    """``dist[v] = dist[parent[v]] + step[v]`` (0 at roots), one tree level at a time with
    numpy.

    Examples
    --------
    >>> accumulate_reference(np.array([-1, 0, 1]), np.array([0, 1, 2]),
    ...                      np.array([0.0, 0.5, 2.0])).tolist()
    [0.0, 0.5, 2.5]
    """
    dist = np.zeros(parent.shape[0])
    for d in range(1, int(depth.max(initial=0)) + 1):
        at = np.flatnonzero(depth == d)
        dist[at] = dist[parent[at]] + step[at]
    return dist
