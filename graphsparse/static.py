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
import scipy.sparse as sp
from numba import njit, prange

from graphsparse.resistance import (
    graph_grounded_laplacian,
    grounded_laplacian,
    grounded_rows,
    laplacian_solver,
    sketch_right_hand_sides,
)
from graphsparse.trees import TreeResistance, max_spanning_forest, spanning_tree_scores
from sparsebox._validation import SEED, Interval, Options, check_int
from sparsebox.base import Sparsifier
from sparsebox.select import check_size_floor
from sparsebox.structure import SparseStructure, as_structure, require_undirected

__all__ = ["FeGrassSparsifier", "recover_off_tree", "recover_reference", "refine_by_stretch"]


@njit(cache=True)
def _recover(order, rows, cols, indptr, indices, budget, num_nodes, hops):
    """Take off-tree edges in ``order`` unless an endpoint is marked; each taken edge marks its
    endpoints and their ``hops``-neighbourhoods in the spanning tree (``indptr``/``indices``).
    When a pass ends short of the budget, marks are cleared and the pass repeats over what is
    left. Returns ``(taken, passes)``."""
    taken = np.zeros(order.shape[0], dtype=np.bool_)
    count = 0
    passes = 0
    while count < budget:
        passes += 1
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
    return taken, passes


def recover_reference(order: np.ndarray, rows: np.ndarray, cols: np.ndarray, indptr: np.ndarray,
                      indices: np.ndarray, budget: int, num_nodes: int,
                      hops: int) -> tuple[np.ndarray, int]:
    """The specification of the numba kernel ``_recover``, in plain Python (slow; for tests).

    Passes over ``order`` take an item unless an endpoint is marked; a taken item marks both
    endpoints and, with ``hops`` 1, their neighbours in the kept subgraph (CSR ``indptr`` /
    ``indices``). A pass that ends short of ``budget`` clears the marks and the next pass goes
    over what is left; a pass that takes nothing ends the search. Returns the mask of taken
    items and the number of passes.

    Examples
    --------
    >>> path = np.array([0, 1, 2]), np.array([1, 2, 3])  # items 0-1, 1-2, 2-3
    >>> recover_reference(np.arange(3), *path, np.zeros(5, np.int64), np.zeros(0, np.int64),
    ...                   budget=2, num_nodes=4, hops=0)[0].tolist()
    [True, False, True]
    """
    taken = [False] * len(order)
    count = passes = 0
    while count < budget:
        passes += 1
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
    return np.array(taken, dtype=bool), passes


@njit(cache=True)
def _recover_counting(order, rows, cols, indptr, indices, budget, num_nodes, scan, spread):
    """feGRASS's off-tree recovery: scans over the first ``scan`` items of ``order`` take an item
    when both endpoints have been marked fewer than ``uplink`` times; a taken item marks each
    endpoint once and, with ``spread``, each of their neighbours in the kept subgraph once (the
    CSR ``indptr``/``indices`` plus the items taken so far). Every scan that reaches its end
    raises ``uplink`` by one (or, where no item is left that one more would let in, to the least
    that lets one in: the scans in between take nothing). Where every item of the scan is taken
    short of ``budget``, the scan goes on over the whole order. Returns the taken mask."""
    n = order.shape[0]
    taken = np.zeros(n, dtype=np.bool_)
    mark = np.zeros(num_nodes, dtype=np.int64)
    visited = np.zeros(num_nodes, dtype=np.int64)  # the last taken item (its rank) that marked it
    size = 2 * max(min(budget, n), 1)  # (a budget past the candidates: all of them)
    head = np.full(num_nodes, -1, dtype=np.int64)  # the taken items' adjacency, as linked lists
    nxt = np.empty(size, dtype=np.int64)
    to = np.empty(size, dtype=np.int64)
    limit = min(scan, n)
    uplink = 1
    count = 0
    ptr = 0
    while count < budget:
        if ptr >= limit:
            need = np.iinfo(np.int64).max
            for i in range(limit):
                if not taken[i]:
                    need = min(need, max(mark[rows[order[i]]], mark[cols[order[i]]]) + 1)
            if need == np.iinfo(np.int64).max:  # all of the scan taken
                if limit == n:
                    break
                limit = n
            else:
                uplink = max(uplink + 1, need)
            ptr = 0
            continue
        i = ptr
        ptr += 1
        p, q = rows[order[i]], cols[order[i]]
        if taken[i] or mark[p] >= uplink or mark[q] >= uplink:
            continue
        taken[i] = True
        count += 1
        for end in (p, q):
            mark[end] += 1
            if not spread:
                continue
            for k in range(indptr[end], indptr[end + 1]):
                x = indices[k]
                if visited[x] < count:
                    visited[x] = count
                    mark[x] += 1
            e = head[end]
            while e >= 0:
                x = to[e]
                if visited[x] < count:
                    visited[x] = count
                    mark[x] += 1
                e = nxt[e]
        slot = 2 * (count - 1)
        to[slot], nxt[slot], head[p] = q, head[p], slot
        to[slot + 1], nxt[slot + 1], head[q] = p, head[q], slot + 1
    return taken


def recover_off_tree(graph: SparseStructure, tree_mask: np.ndarray, scores: np.ndarray,
                     budget: int, *, hops: int = 1) -> np.ndarray:
    """Item mask: ``tree_mask`` (the items kept so far: a spanning forest, or more) plus up to
    ``budget`` other items in descending score, spread out as feGRASS's recovery spreads them
    (:func:`_recover_counting`, following the authors' ``addedges``): marks are counts that
    rise with each item taken at or next to a node, in the subgraph kept so far; scans go over
    the best half of G's edges (then over the rest, where those run out) and each lets in nodes
    marked once more. With ``hops`` 1 a taken item marks its endpoints' neighbours too, with 0
    only the endpoints. (The authors' code also stops marking neighbours once the items
    recovered pass 0.3 per node, through its cap of ``0.6 / that share`` on the nodes a mark
    reaches; here they are always marked, which spread the edges better on the meshes at
    density 1.3.) The first scan takes what one pass of plain marking takes, so FeGrassSparsifier's
    default, which recovers a tenth of its off-tree edges this way, is unchanged by the later
    scans; clearing the marks and passing again, as this function did before, spread the edges
    much worse at higher densities without refinement."""
    loops = graph.rows == graph.cols
    candidates = np.flatnonzero(~tree_mask & ~loops)
    order = candidates[np.argsort(-scores[candidates], kind="stable")]
    tree = graph.subgraph(tree_mask)
    taken = _recover_counting(order, graph.rows, graph.cols, tree.indptr, tree.indices, budget,
                              graph.num_nodes, int((~loops).sum()) // 2, hops >= 1)
    mask = tree_mask.copy()
    mask[order[taken]] = True
    return mask


def refine_by_stretch(graph: SparseStructure, mask: np.ndarray, tree_mask: np.ndarray,
                      extra: int, *, rounds: int, power_steps: int = 3, num_vectors: int = 16,
                      solver: str = "auto", seed: int = 0,
                      components: tuple[int, np.ndarray] | None = None) -> np.ndarray:
    """GRASS-style refinement: in each round, add the edges of G that the current H
    approximates worst, spread out like feGRASS recovery (by marking the spanning tree's
    neighbourhoods); ``extra`` edges in all, spread evenly over the rounds. Returns the new mask.

    An edge's score is the product of two quadratic forms of the pencil ``(L_G, L_H)`` at
    ``b_e``: its stretch in H, ``w_e R_H(e) = w_e b_e' L_H^+ b_e`` (each is a lower bound on
    ``lambda_max``; over the edges outside H they sum to ``trace(L_H^+ L_G) - (n - c)``), and
    the same after ``power_steps`` steps of power iteration, ``w_e b_e' (L_H^+ L_G)^s L_H^+
    (L_G L_H^+)^s b_e`` with ``s = power_steps`` (GRASS's heat of the dominant generalized
    eigenvectors, measured along the edge). Stretch alone spreads edges over many small defects
    and misses the global ones; heat alone does the opposite. Grounded kappa at density 1.10
    (stretch alone / heat alone, GRASS's 2 steps / this product): power grid 17.3 / 10.2 / 11.1,
    fe_4elt2 120 / 266 / 103, airfoil1 72 / 103 / 59. Both come from one ``num_vectors``-column
    Johnson-Lindenstrauss sketch of H (as :func:`~graphsparse.resistance.resistance_embedding`,
    fresh signs each round; H's edge list grows with H, and ``L_H`` is assembled from it in one
    pass) and ``power_steps`` more block solves, with a factorization of ``L_H`` per
    round (:func:`~graphsparse.resistance.laplacian_solver`: H is nearly a tree, so eliminating
    its nodes of degree at most 2 leaves a small core) or AMG where it fills in (``solver``).
    ``components`` is ``graph.connected_components()`` when the caller knows it (H's, which
    spans G, are the same).

    Examples
    --------
    >>> import networkx as nx
    >>> from sparsebox import as_structure
    >>> from graphsparse.trees import max_spanning_forest, spanning_tree_scores
    >>> g = as_structure(nx.convert_node_labels_to_integers(nx.grid_2d_graph(10, 10)))
    >>> tree = max_spanning_forest(g, spanning_tree_scores(g))
    >>> mask = refine_by_stretch(g, tree, tree, 10, rounds=2)
    >>> int(tree.sum()), int(mask.sum()), bool(mask[tree].all())
    (99, 109, True)
    """
    if not graph.is_undirected:
        raise ValueError("refine_by_stretch needs an undirected graph")
    if not mask[tree_mask].all():
        raise ValueError("refine_by_stretch: mask must hold tree_mask (a spanning forest of G)")
    extra = check_int("extra", extra, minimum=0)
    rounds = check_int("rounds", rounds, minimum=1 if extra else 0)  # 0 rounds add nothing
    power_steps = check_int("power_steps", power_steps, minimum=0)
    num_vectors = check_int("num_vectors", num_vectors, minimum=1)
    seed = check_int("seed", seed, minimum=0)
    tree = graph.subgraph(tree_mask)
    loops = graph.rows == graph.cols
    keep, index = grounded_rows(graph, components)  # H spans G: the same nodes ground L_H
    lg = graph_grounded_laplacian(graph, index, keep.size)
    mask = mask.copy()
    sketch = _GrowingSketch(graph, index, keep.size, num_vectors)
    rng = np.random.default_rng(seed)
    sketch.add(np.flatnonzero(mask & ~loops))
    for r in range(rounds):
        take = extra // rounds + (1 if r < extra % rounds else 0)
        if take == 0:
            continue
        try:
            solve = laplacian_solver(sketch.laplacian, solver, tol=1e-3)
        except ValueError:  # L_H singular: name the cause where it is a tree_mask that is no
            _check_spans(graph, tree, components)  # spanning forest (checked only then: cost)
            raise
        z = solve(sketch.rhs(rng), overwrite_b=True)
        powered = z  # lg @ powered is a new array: z stays
        for _ in range(power_steps):
            powered = solve(lg @ powered, overwrite_b=True)
        score = _stretch_times_heat(z, powered, index, graph.rows, graph.cols, graph.weights,
                                    mask | loops, np.empty(graph.num_items))
        best = _spread_best(graph, tree, score, take)
        mask[best] = True
        sketch.add(best)
    return mask


def _check_spans(graph: SparseStructure, tree: SparseStructure,
                 components: tuple[int, np.ndarray] | None) -> None:
    """Raise where ``tree`` has more components than ``graph``."""
    count = components[0] if components is not None else graph.connected_components()[0]
    parts = tree.connected_components()[0]
    if parts != count:
        raise ValueError("refine_by_stretch: tree_mask must be a spanning forest of G (one tree "
                         f"per component): it leaves {parts} components where G has {count}")


class _GrowingSketch:
    """H's edges, kept up to date as edges join H: its grounded Laplacian (built from them in
    one pass, :func:`~graphsparse.resistance.grounded_laplacian`) and the right-hand sides
    ``B' W^{1/2} Q'`` of its Johnson-Lindenstrauss resistance sketch
    (:func:`~graphsparse.resistance.sketch_right_hand_sides`), with fresh signs ``Q`` at each
    call."""

    def __init__(self, graph: SparseStructure, index: np.ndarray, size: int,
                 num_vectors: int) -> None:
        self.graph, self.index, self.num_vectors, self.size = graph, index, num_vectors, size
        self._p = np.zeros(0, dtype=np.int64)
        self._q = np.zeros(0, dtype=np.int64)
        self._w = np.zeros(0)

    def add(self, items: np.ndarray) -> None:
        """Edges (item positions of G, no self-loops) that join H."""
        g = self.graph
        p, q, w = self.index[g.rows[items]], self.index[g.cols[items]], g.weights[items]
        self._p, self._q, self._w = np.r_[self._p, p], np.r_[self._q, q], np.r_[self._w, w]

    @property
    def laplacian(self) -> sp.csr_matrix:
        return grounded_laplacian(self._p, self._q, self._w, self.size)

    def rhs(self, rng: np.random.Generator) -> np.ndarray:
        """The right-hand sides with signs drawn from ``rng``."""
        return sketch_right_hand_sides(self._p, self._q, self._w, self.size, self.num_vectors,
                                       rng)


@njit(cache=True, parallel=True)
def _stretch_times_heat(z, powered, index, rows, cols, weights, skip, out):
    """``w_e^2 ||z_p - z_q||^2 ||P_p - P_q||^2`` per edge (``-inf`` where ``skip``), with the
    rows of ``z`` and ``P`` at ``index[node]`` (a grounded node, index -1, has coordinates 0):
    the score of :func:`refine_by_stretch` in one pass over the edges, two
    :func:`~graphsparse.resistance.pair_resistances` fused."""
    for e in prange(rows.shape[0]):
        if skip[e]:
            out[e] = -np.inf
            continue
        p, q = index[rows[e]], index[cols[e]]
        stretch = 0.0
        heat = 0.0
        for k in range(z.shape[1]):
            zp = z[p, k] if p >= 0 else 0.0
            zq = z[q, k] if q >= 0 else 0.0
            pp = powered[p, k] if p >= 0 else 0.0
            pq = powered[q, k] if q >= 0 else 0.0
            stretch += (zp - zq) * (zp - zq)
            heat += (pp - pq) * (pp - pq)
        out[e] = weights[e] * weights[e] * stretch * heat
    return out


#: the first prefix :func:`_spread_best` sorts, in items per item to take
_FIRST_PREFIX = 16


def _spread_best(graph: SparseStructure, tree: SparseStructure, score: np.ndarray,
                 take: int) -> np.ndarray:
    """Items :func:`_recover` takes (1-hop marking in ``tree``) over the items of finite score in
    descending order (ties by position), sorting only the best.

    The prefix is every item scoring at least the ``size``-th best, so it is the start of that
    order. When one pass over it fills the budget, a pass over the whole order stops inside it
    and takes the same items; otherwise the prefix grows fourfold (up to the whole order)."""
    candidates = np.flatnonzero(np.isfinite(score))
    if take <= 0 or candidates.size == 0:
        return candidates[:0]
    scores = score[candidates]
    size = min(candidates.size, _FIRST_PREFIX * take)
    while True:
        prefix = candidates
        if size < candidates.size:
            kth = np.partition(scores, candidates.size - size)[candidates.size - size]
            prefix = candidates[scores >= kth]  # ties at the cut stay in
        order = prefix[np.argsort(-score[prefix], kind="stable")]
        taken, passes = _recover(order, graph.rows, graph.cols, tree.indptr, tree.indices, take,
                                 graph.num_nodes, 1)
        if (passes <= 1 and taken.sum() == take) or prefix.size == candidates.size:
            return order[taken]
        size *= 4


class FeGrassSparsifier(Sparsifier):
    """Spectral sparsifier: a maximum spanning forest under feGRASS effective weights, plus the
    off-tree edges of largest stretch ``w * R_T`` (tree resistance through the LCA), recovered
    as feGRASS recovers them so that they spread over the graph (counted marks on the endpoints
    and their neighbours in the sparsifier so far, :func:`recover_off_tree`); then, by default,
    GRASS-style refinement rounds that add the edges the current sparsifier approximates worst.

    Parameters
    ----------
    keep_ratio, budget, density : float, int, float (at most one; default density 1.10)
        The size of H: the fraction of G's edges kept, their exact count, or ``|E_H| / |V|``. It
        cannot be below the spanning forest (``|V| - components`` edges): the error says so in
        the unit given. Self-loops add nothing to a Laplacian: they always stay and the size
        counts the other edges (as :class:`~graphsparse.teddy.TeddyPruner`).
    hops : int
        Marking radius (0 or 1).
    refine_rounds : int or "auto"
        Refinement rounds (0: plain feGRASS): see :func:`refine_by_stretch`. ``"auto"``: 64
        rounds, or more where refinement adds more than 1,280 edges, so that no round adds more
        than 20, up to 1,024 rounds (finer rounds place the edges better but each costs a
        factorization and a pass over G's edges: on the 3D mesh ``wave`` at density 1.10,
        grounded kappa 411 in rounds of at most 128 edges (`benchmarks/results/static_meshes` as
        committed in 8a59b0f) and 289 in 704 rounds, in 172 s on this project's 2-core machine on
        2026-12-04 and 238 s on 2026-12-07).
    refine_fraction : float
        Share of the off-tree budget left to refinement (the rest goes to tree stretch first).
    solver : {"auto", "direct", "amg"}
        How refinement solves with ``L_H`` (see :func:`~graphsparse.resistance.laplacian_solver`:
        ``"auto"`` factorizes, and switches to pyamg where the factor fills in past 10 times
        ``L_H``'s nonzeros and 2 million entries). ``"amg"`` throughout is slow where H is nearly
        a tree, as a sparsifier is (hep-th: 141 s, against 8 s with ``"auto"``).
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
        Off-tree stretch ``w * R_T`` per item, ``inf`` on the spanning forest and on self-loops
        (always kept). ``mask_`` is not their top: recovery spreads its picks (one per tree
        neighbourhood), and refinement adds the edges H approximates worst.

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
    fit_reads_weights = True
    sizing = ("keep_ratio", "budget", "density")
    default_size = ("density", 1.10)
    _parameter_constraints = {
        "hops": [Interval(numbers.Integral, 0, 1, closed="both")],
        "refine_rounds": [Interval(numbers.Integral, 0, None, closed="left"), Options(["auto"])],
        "refine_fraction": [Interval(numbers.Real, 0, 1, closed="both")],
        "solver": [Options(("auto", "direct", "amg"))],
        "seed": SEED,
    }

    def __init__(self, *, keep_ratio: float | None = None, budget: int | None = None,
                 density: float | None = None, hops: int = 1, refine_rounds: int | str = "auto",
                 refine_fraction: float = 0.9, solver: str = "auto", seed: int = 0):
        self.keep_ratio = keep_ratio
        self.budget = budget
        self.density = density
        self.hops = hops
        self.refine_rounds = refine_rounds
        self.refine_fraction = refine_fraction
        self.solver = solver
        self.seed = seed

    def fit(self, graph: Any, y: Any = None) -> FeGrassSparsifier:
        self._validate_params()
        g = as_structure(graph, name="graph")
        require_undirected(g, "FeGrassSparsifier")
        tree_mask = max_spanning_forest(g, spanning_tree_scores(g))
        num_tree = int(tree_mask.sum())
        loops = g.rows == g.cols  # nothing in a Laplacian: kept, and not counted in the size
        num_edges = g.num_items - int(loops.sum())
        budget = self._size(num_edges, num_nodes=g.num_nodes, num_loops=int(loops.sum()))
        check_size_floor(budget, num_tree, num_edges, what="the spanning forest",
                         num_nodes=g.num_nodes, **self._sizing_in_use())
        tree = g.subgraph(tree_mask)
        off = ~tree_mask & (g.rows != g.cols)
        stretch = np.zeros(g.num_items)
        stretch[off] = g.weights[off] * TreeResistance(tree).resistance(g.rows[off], g.cols[off])
        extra = budget - num_tree
        every = budget >= num_edges  # H is G: recovery and refinement would only find its edges
        refined = math.floor(self.refine_fraction * extra) if self.refine_rounds and not every else 0
        mask = ~loops if every else recover_off_tree(g, tree_mask, stretch, extra - refined,
                                                     hops=self.hops)
        if refined:
            rounds = self.refine_rounds
            if rounds == "auto":
                rounds = min(max(64, math.ceil(refined / 20)), 1024)
            mask = refine_by_stretch(g, mask, tree_mask, budget - int(mask.sum()),
                                     rounds=rounds, solver=self.solver, seed=self.seed)
        # set together at the end: a refit that fails (refinement's factorization, Ctrl-C)
        # leaves the last fit whole
        self.tree_mask_ = tree_mask
        self.scores_ = np.where(tree_mask | loops, np.inf, stretch)
        self.mask_ = mask | loops
        self.sparsifier_ = g.subgraph(self.mask_)
        self._fitted_on(g)
        return self

