"""Effective resistances by random projections, and Spielman-Srivastava sampling.

Reference: D. A. Spielman, N. Srivastava, "Graph Sparsification by Effective Resistances",
SIAM J. Comput. 40(6), 2011.
"""

from __future__ import annotations

import importlib.util
import numbers
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from numba import njit

from graphsparse.elimination import EliminationFactor
from graphsparse.metrics import grounded_laplacian_nodes
from graphsparse.trees import max_spanning_forest, spanning_tree_scores
from sparsebox._validation import SEED, Interval, Options, check_choice, check_int
from sparsebox.base import Sparsifier
from sparsebox.exceptions import InvalidParameterError
from sparsebox.select import check_size_floor
from sparsebox.structure import SparseStructure, as_structure, require_undirected

__all__ = ["effective_resistances", "resistance_embedding", "pair_resistances",
           "grounded_rows", "grounded_laplacian", "graph_grounded_laplacian",
           "sketch_right_hand_sides", "laplacian_solver",
           "LaplacianSolver", "EffectiveResistanceSampler", "ForestFloorError"]


@dataclass(frozen=True)
class LaplacianSolver:
    """Solves ``lap x = b`` (``b`` one vector or a block of columns) by ``method``; made by
    :func:`laplacian_solver`, whose example shows it."""

    method: str  # "direct" (elimination and sparse LU) or "amg"
    solve: Callable[..., np.ndarray]

    def __call__(self, b: np.ndarray, overwrite_b: bool = False) -> np.ndarray:
        """``x`` with ``lap @ x = b``; with ``overwrite_b`` the direct solver may overwrite
        ``b`` and return it (AMG never does)."""
        return self.solve(b, overwrite_b=overwrite_b)


def _unfactorable(lap: sp.spmatrix, err: ValueError) -> str:
    """Why a grounded Laplacian (positive definite in exact arithmetic) failed to factor: in
    float64, a pivot cancels to rounding when the edge weights span too many orders."""
    coo = sp.coo_matrix(lap)
    weights = -coo.data[(coo.row != coo.col) & (coo.data < 0)]
    span = (f"its edge weights span {weights.min():.3g} to {weights.max():.3g}, more orders of "
            "magnitude than float64 resolves: rescale or clip them" if weights.size
            and weights.max() > 1e12 * weights.min() else "a pivot cancels to rounding")
    return f"the graph's Laplacian cannot be factored in float64 ({err}); {span}"


def laplacian_solver(lap: sp.spmatrix, method: str = "direct", *, tol: float = 1e-8,
                     max_fill: float = 10.0, small_factor: int = 2_000_000) -> LaplacianSolver:
    """A solver of ``lap x = b`` for a grounded, positive definite Laplacian.

    ``"direct"``: exact, by :class:`~graphsparse.elimination.EliminationFactor` (nodes of degree
    at most 2 eliminated first, a sparse LU for the rest). ``"amg"``: pyamg smoothed
    aggregation as a preconditioner of CG, to relative residual ``tol``. ``"auto"``: the
    direct factorization, unless its factors hold more than
    ``max_fill`` times the nonzeros of ``lap`` (3D meshes and dense subgraphs fill in fast) and
    more than ``small_factor`` entries (below that, solving with the factors is cheaper than a
    few AMG cycles) and pyamg is installed; then AMG. An AMG solve that stops short of ``tol``
    (pyamg's 100 iterations, or an indefinite step when the weights span too many orders) warns
    with a ``RuntimeWarning``.

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> lap = sp.csr_matrix([[2.0, -1.0], [-1.0, 1.0]])  # path 0-1-2, grounded at node 0
    >>> solve = laplacian_solver(lap, "auto")
    >>> solve.method, solve(np.array([1.0, 0.0])).round(6).tolist()
    ('direct', [1.0, 1.0])
    """
    check_choice("solver", method, ("auto", "direct", "amg"))
    if method != "amg":
        try:
            factor = EliminationFactor(lap)
        except ValueError as err:
            raise ValueError(_unfactorable(lap, err)) from None
        if method == "direct" or factor.nnz <= max(max_fill * lap.nnz, small_factor) \
                or importlib.util.find_spec("pyamg") is None:
            return LaplacianSolver("direct", factor.solve)
    try:
        import pyamg
    except ImportError as err:
        raise ImportError("solver='amg' needs pyamg, a dependency of sparsebox that is not "
                          "installed here: pip install pyamg") from err
    # pyamg estimates spectral radii from numpy's global random stream: seed it for this call
    # only, so that a solver (and what it solves) is the same in every run
    outside = np.random.get_state()  # noqa: NPY002 - the stream pyamg draws from
    np.random.seed(0)  # noqa: NPY002 - the stream pyamg draws from
    try:
        ml = pyamg.smoothed_aggregation_solver(sp.csr_matrix(lap))
    finally:
        np.random.set_state(outside)  # noqa: NPY002 - the stream pyamg draws from

    def solve_one(b: np.ndarray) -> np.ndarray:
        x, info = ml.solve(b, tol=tol, accel="cg", return_info=True)
        if info != 0:  # pyamg stops at maxiter (or an indefinite step) and returns what it has
            warnings.warn(f"AMG did not reach relative residual {tol:g} (pyamg's CG info {info}): "
                          "the solution is inaccurate; solver='direct' is exact", RuntimeWarning,
                          stacklevel=3)
        return x

    def solve(b: np.ndarray, overwrite_b: bool = False) -> np.ndarray:
        if b.ndim == 1:
            return solve_one(b)
        return np.column_stack([solve_one(b[:, i]) for i in range(b.shape[1])])

    return LaplacianSolver("amg", solve)


@njit(cache=True)
def _squared_distances(z, rows, cols, out):
    for e in range(rows.shape[0]):
        p, q = rows[e], cols[e]
        total = 0.0
        for k in range(z.shape[1]):
            d = z[p, k] - z[q, k]
            total += d * d
        out[e] = total
    return out


def pair_resistances(z: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """``||z_p - z_q||^2`` for each pair of the coordinates of :func:`resistance_embedding`
    (without the ``pairs x columns`` temporaries of doing it in numpy).

    Examples
    --------
    >>> z = np.array([[0.0, 0.0], [3.0, 4.0]])
    >>> pair_resistances(z, np.array([0]), np.array([1])).tolist()
    [25.0]
    """
    z = np.ascontiguousarray(z, dtype=np.float64)
    rows, cols = np.asarray(rows), np.asarray(cols)
    if z.ndim != 2 or rows.ndim != 1 or rows.shape != cols.shape:
        raise ValueError(f"z must be 2-D and rows, cols 1-D of one length, got shapes {z.shape}, "
                         f"{rows.shape} and {cols.shape}")
    for ids in (rows, cols):  # each: uint64 beside int64 concatenates to float64
        if ids.size and not np.issubdtype(ids.dtype, np.integer):
            raise ValueError(f"rows and cols must be integer node ids, got {ids.dtype}")
    if rows.size:  # each array's bounds as Python ints: uint64 beside int64 is float64
        low = min(int(rows.min()), int(cols.min()))
        high = max(int(rows.max()), int(cols.max()))
        if low < 0 or high >= z.shape[0]:
            raise ValueError(f"rows and cols must be nodes of z (its {z.shape[0]} rows), got "
                             f"{low}..{high}")
    rows, cols = rows.astype(np.int64, copy=False), cols.astype(np.int64, copy=False)
    return _squared_distances(z, rows, cols, np.empty(rows.shape[0]))


def resistance_embedding(graph: Any, *, num_vectors: int = 64, solver: str = "auto",
                         tol: float = 1e-8, seed: int = 0, return_solver: bool = False):
    """Node coordinates ``Z`` (``num_nodes x num_vectors``) with ``R(u, v) ~ ||Z_u - Z_v||^2``
    for any two nodes of one component: the Johnson-Lindenstrauss projection of Spielman and
    Srivastava, ``Z = L^+ B' W^{1/2} Q'`` with ``Q`` a random ``num_vectors x m`` sign matrix.

    Each column costs one Laplacian solve (see :func:`laplacian_solver` for ``solver``); the
    relative error of a resistance shrinks like ``1 / sqrt(num_vectors)``. With
    ``return_solver``, also the solver of the grounded Laplacian (nodes
    :func:`~graphsparse.metrics.grounded_laplacian_nodes`), for more solves with it.

    Examples
    --------
    >>> import networkx as nx
    >>> path = nx.path_graph(3)  # unit resistors: R(0, 2) = 2
    >>> z = resistance_embedding(path, num_vectors=2000, solver="direct", seed=0)
    >>> bool(abs(pair_resistances(z, np.array([0]), np.array([2]))[0] - 2.0) < 0.3)
    True
    """
    g = as_structure(graph, name="graph")
    require_undirected(g, "resistance_embedding")  # (a DiGraph of both directions: half of R)
    k = check_int("num_vectors", num_vectors, minimum=1)
    seed = check_int("seed", seed, minimum=0)
    keep, index = grounded_rows(g)
    off = g.rows != g.cols
    rhs = sketch_right_hand_sides(index[g.rows[off]], index[g.cols[off]], g.weights[off],
                                  keep.size, k, np.random.default_rng(seed))
    lap = graph_grounded_laplacian(g, index, keep.size)
    z = np.zeros((g.num_nodes, k))
    solve = laplacian_solver(lap, solver, tol=tol)
    z[keep] = solve(rhs, overwrite_b=True)
    return (z, solve) if return_solver else z


def grounded_rows(graph: SparseStructure, components: tuple[int, np.ndarray] | None = None
                  ) -> tuple[np.ndarray, np.ndarray]:
    """The nodes of the grounded Laplacian (:func:`~graphsparse.metrics.grounded_laplacian_nodes`,
    which takes ``components`` when known) and, for every node, its row there (-1 for a grounded
    node).

    Examples
    --------
    >>> import networkx as nx
    >>> keep, index = grounded_rows(as_structure(nx.path_graph(3)))
    >>> keep.tolist(), index.tolist()
    ([1, 2], [-1, 0, 1])
    """
    keep = grounded_laplacian_nodes(graph, components)
    index = np.full(graph.num_nodes, -1, dtype=np.int64)
    index[keep] = np.arange(keep.size)
    return keep, index


def grounded_laplacian(p: np.ndarray, q: np.ndarray, weights: np.ndarray,
                       size: int) -> sp.csr_matrix:
    """The grounded Laplacian of the edges ``(p, q)`` (no self-loops), given by their rows
    there (:func:`grounded_rows`; -1 is a grounded node, whose row and column are gone).

    Examples
    --------
    >>> lap = grounded_laplacian(np.array([-1, 0]), np.array([0, 1]), np.array([1.0, 2.0]), 2)
    >>> lap.toarray().tolist()  # path 0-1-2 grounded at node 0, weights 1 and 2
    [[3.0, -2.0], [-2.0, 2.0]]
    """
    p, q = np.asarray(p, dtype=np.int64), np.asarray(q, dtype=np.int64)
    weights = np.asarray(weights, dtype=np.float64)
    if not p.shape == q.shape == weights.shape or p.ndim != 1:
        raise ValueError(f"p, q and weights must be 1-D of one length, got shapes {p.shape}, "
                         f"{q.shape} and {weights.shape}")
    ends = np.concatenate([p, q])
    if ends.size and not (ends.min() >= -1 and ends.max() < size):
        raise ValueError(f"rows must lie in -1..{size - 1}, got {ends.min()}..{ends.max()}")
    indptr, indices, data = _edge_list_csr(p, q, weights, size)
    return sp.csr_matrix((data, indices, indptr), shape=(size, size))


@njit(cache=True)
def _edge_list_csr(p, q, weights, size):
    """Canonical CSR arrays (sorted columns, repeated edges summed) of :func:`grounded_laplacian`:
    the entries go to their rows in one pass, then each row is sorted and merged."""
    count = np.ones(size, dtype=np.int64)  # the diagonal
    for e in range(p.shape[0]):
        if p[e] >= 0 and q[e] >= 0 and p[e] != q[e]:
            count[p[e]] += 1
            count[q[e]] += 1
    start = np.zeros(size + 1, dtype=np.int64)
    start[1:] = np.cumsum(count)
    cols = np.empty(start[-1], dtype=np.int64)
    vals = np.empty(start[-1])
    fill = start[:-1].copy()
    for r in range(size):
        cols[fill[r]] = r
        vals[fill[r]] = 0.0
        fill[r] += 1
    for e in range(p.shape[0]):
        a, b, w = p[e], q[e], weights[e]
        if a == b:
            continue
        if a >= 0:
            vals[start[a]] += w
        if b >= 0:
            vals[start[b]] += w
        if a >= 0 and b >= 0:
            cols[fill[a]], vals[fill[a]] = b, -w
            fill[a] += 1
            cols[fill[b]], vals[fill[b]] = a, -w
            fill[b] += 1
    indptr = np.zeros(size + 1, dtype=np.int64)
    out = 0
    for r in range(size):
        lo, hi = start[r], start[r + 1]
        if hi - lo > 32:  # a long row (a hub): sort by argsort
            order = np.argsort(cols[lo:hi], kind="mergesort") + lo
            cols[lo:hi], vals[lo:hi] = cols[order], vals[order]
        else:  # insertion sort in place
            for k in range(lo + 1, hi):
                c, v = cols[k], vals[k]
                j = k - 1
                while j >= lo and cols[j] > c:
                    cols[j + 1], vals[j + 1] = cols[j], vals[j]
                    j -= 1
                cols[j + 1], vals[j + 1] = c, v
        first = out  # merge repeated columns, moving the row down to ``out``
        for k in range(lo, hi):
            if out > first and cols[out - 1] == cols[k]:
                vals[out - 1] += vals[k]
            else:
                cols[out], vals[out] = cols[k], vals[k]
                out += 1
        indptr[r + 1] = out
    return indptr, cols[:out].copy(), vals[:out].copy()


def graph_grounded_laplacian(graph: SparseStructure, index: np.ndarray,
                             size: int) -> sp.csr_matrix:
    """:func:`grounded_laplacian` of all of ``graph``'s edges (self-loops ignored), read off
    its CSR arrays in one pass: no coordinate list to sort. ``index`` is :func:`grounded_rows`'s
    (``0 .. size - 1`` in node order over the nodes kept). A directed structure's items count as
    undirected edges, as in :func:`grounded_laplacian` (its CSR holds one direction only, so
    that path is taken).

    Examples
    --------
    >>> import networkx as nx
    >>> path = as_structure(nx.path_graph(3))
    >>> keep, index = grounded_rows(path)
    >>> graph_grounded_laplacian(path, index, keep.size).toarray().tolist()
    [[2.0, -1.0], [-1.0, 1.0]]
    """
    index = np.asarray(index, dtype=np.int64)
    kept = index[index >= 0]
    if index.shape != (graph.num_nodes,) or not np.array_equal(kept, np.arange(size)):
        raise ValueError(f"index must give the {graph.num_nodes} nodes rows 0..{size - 1} in "
                         "node order, -1 for a grounded node (as grounded_rows does)")
    if not graph.is_undirected:
        off = graph.rows != graph.cols
        return grounded_laplacian(index[graph.rows[off]], index[graph.cols[off]],
                                  graph.weights[off], size)
    indptr, indices, data = _grounded_csr(graph.indptr, graph.indices, graph.weight, index, size)
    return sp.csr_matrix((data, indices, indptr), shape=(size, size))


@njit(cache=True)
def _grounded_csr(indptr, indices, weight, index, size):
    """CSR arrays of the grounded Laplacian: row ``index[x]`` holds ``x``'s weighted degree on
    the diagonal and ``-w`` for each kept neighbour, columns in order (CSR rows are sorted)."""
    out_ptr = np.zeros(size + 1, dtype=np.int64)
    for x in range(indptr.shape[0] - 1):
        if index[x] >= 0:
            count = 1
            for k in range(indptr[x], indptr[x + 1]):
                if indices[k] != x and index[indices[k]] >= 0:
                    count += 1
            out_ptr[index[x] + 1] = count
    out_ptr = np.cumsum(out_ptr)
    out_idx = np.empty(out_ptr[-1], dtype=np.int64)
    out_val = np.empty(out_ptr[-1])
    for x in range(indptr.shape[0] - 1):
        r = index[x]
        if r < 0:
            continue
        pos = out_ptr[r]
        diag = -1
        degree = 0.0
        for k in range(indptr[x], indptr[x + 1]):
            y = indices[k]
            if y == x:
                continue
            degree += weight[k]
            if index[y] < 0:
                continue
            if diag < 0 and index[y] > r:
                diag = pos
                pos += 1
            out_idx[pos] = index[y]
            out_val[pos] = -weight[k]
            pos += 1
        if diag < 0:
            diag = pos
        out_idx[diag] = r
        out_val[diag] = degree
    return out_ptr, out_idx, out_val


def sketch_right_hand_sides(p: np.ndarray, q: np.ndarray, weights: np.ndarray, size: int,
                            num_vectors: int, rng: np.random.Generator) -> np.ndarray:
    """``B' W^{1/2} Q'`` for the edges ``(p, q)`` of a grounded Laplacian (rows ``0..size-1``;
    an endpoint -1 is a grounded node, whose row is gone), ``Q`` random signs scaled by
    ``1 / sqrt(num_vectors)``: solving with these gives :func:`resistance_embedding`.

    Examples
    --------
    >>> y = sketch_right_hand_sides(np.array([0]), np.array([-1]), np.array([4.0]), 1, 1,
    ...                             np.random.default_rng(0))
    >>> float(abs(y[0, 0]))  # sqrt(4 / 1)
    2.0
    """
    m = p.shape[0]
    bits = np.unpackbits(np.frombuffer(rng.bytes((m * num_vectors + 7) // 8), dtype=np.uint8))
    return _signed_incidence(p, q, np.sqrt(weights / num_vectors),
                             bits[:m * num_vectors].reshape(m, num_vectors),
                             np.zeros((size, num_vectors)))


@njit(cache=True)
def _signed_incidence(p, q, scale, bits, out):
    """``out += B' diag(scale) Q'`` with signs ``Q = 2 bits - 1`` (rows of ``out`` at ``p`` and
    ``q``; index -1 is skipped)."""
    for e in range(p.shape[0]):
        for c in range(bits.shape[1]):
            s = scale[e] if bits[e, c] else -scale[e]
            if p[e] >= 0:
                out[p[e], c] += s
            if q[e] >= 0:
                out[q[e], c] -= s
    return out


def effective_resistances(graph: Any, *, num_vectors: int = 64, solver: str = "auto",
                          tol: float = 1e-8, seed: int = 0) -> np.ndarray:
    """Approximate effective resistance of every item (edge), from
    :func:`resistance_embedding` (self-loops get 0).

    ``solver``: ``"auto"`` (the default: the direct factorization unless it fills in, then
    AMG), ``"direct"`` (a sparse LU of the grounded Laplacian) or ``"amg"`` (pyamg smoothed
    aggregation with CG, one column at a time: slower wherever the factors stay small); see
    :func:`laplacian_solver`.
    """
    g = as_structure(graph, name="graph")
    require_undirected(g, "effective_resistances")
    z = resistance_embedding(g, num_vectors=num_vectors, solver=solver, tol=tol, seed=seed)
    return pair_resistances(z, g.rows, g.cols)


class ForestFloorError(InvalidParameterError):
    """A size of :class:`EffectiveResistanceSampler` below the spanning forest it keeps with
    ``keep_tree=True``; ``size_message`` says so without naming ``keep_tree``, for a caller that
    cannot set it (the command line, where a larger size is the way out).

    Examples
    --------
    >>> err = ForestFloorError("budget 1 is below ... (keep_tree=True)", "budget 1 is below ...")
    >>> err.size_message
    'budget 1 is below ...'
    """

    def __init__(self, message: str, size_message: str) -> None:
        super().__init__(message)
        self.size_message = size_message

    def __reduce__(self) -> tuple:  # (a worker's error crosses to the parent pickled)
        return type(self), (str(self), self.size_message)


class EffectiveResistanceSampler(Sparsifier):
    """Spielman-Srivastava sparsification: sample edges with probability ``p_e ~ w_e R_e``, with
    replacement, until ``budget`` distinct edges are drawn; optionally keep a spanning forest
    (so that H stays connected) and reweight each sampled edge to ``w_e c_e / (q p_e)`` (``c_e``
    draws of e among ``q``). For a fixed number of draws ``q`` that makes ``L_H`` an unbiased
    estimate of ``L_G`` (Spielman-Srivastava); here the draws stop at the ``budget``-th distinct
    edge, an exact size at the price of a bias upward, the larger the fewer edges remain to be
    drawn (a budget barely above the kept forest).

    Parameters
    ----------
    keep_ratio, budget, density : float, int, float (at most one; default density 1.5)
        The size of H: a fraction of G's edges, an edge count, or ``|E_H| / |V|``. The default
        is above any spanning forest (``< |V|`` edges); sampling needs far more edges than a
        tree to approximate the spectrum. Self-loops add nothing to a Laplacian: they always
        stay and the size counts the other edges.
    keep_tree : bool
        Keep a maximum spanning forest (feGRASS effective weights); it counts toward the size,
        which therefore cannot be below it.
    reweight : bool
        Reweight sampled edges (H is then not a subgraph with G's weights). A size that keeps
        every edge (``keep_ratio=1``) draws nothing: H is G, with G's weights.
    num_vectors, solver, seed
        See :func:`effective_resistances`.

    Attributes
    ----------
    resistances_ : ndarray
    scores_ : ndarray
        ``w_e R_e`` per item (the sampling weight; ``inf`` on the kept forest and the
        self-loops, which always stay).
    mask_ : ndarray of bool
    sparsifier_ : SparseStructure

    References
    ----------
    Spielman, Srivastava. Graph Sparsification by Effective Resistances. SIAM J. Comput. 2011.

    Examples
    --------
    >>> import networkx as nx
    >>> g = nx.convert_node_labels_to_integers(nx.grid_2d_graph(6, 6))
    >>> er = EffectiveResistanceSampler(budget=40, solver="direct").fit(g)
    >>> int(er.mask_.sum()), er.sparsifier_.connected_components()[0]
    (40, 1)
    """

    item = "edge"
    sizing = ("keep_ratio", "budget", "density")
    default_size = ("density", 1.5)
    _parameter_constraints = {
        "keep_tree": [bool], "reweight": [bool],
        "num_vectors": [Interval(numbers.Integral, 1, None, closed="left")],
        "solver": [Options(("auto", "amg", "direct"))], "seed": SEED,
    }

    def __init__(self, *, keep_ratio: float | None = None, budget: int | None = None,
                 density: float | None = None, keep_tree: bool = True, reweight: bool = True,
                 num_vectors: int = 64, solver: str = "auto", seed: int = 0) -> None:
        self.keep_ratio, self.budget, self.density = keep_ratio, budget, density
        self.keep_tree, self.reweight = keep_tree, reweight
        self.num_vectors, self.solver, self.seed = num_vectors, solver, seed

    def fit(self, graph: Any, y: Any = None) -> EffectiveResistanceSampler:
        self._validate_params()
        g = as_structure(graph, name="graph")
        require_undirected(g, "EffectiveResistanceSampler")
        loops = g.rows == g.cols  # nothing in a Laplacian: kept, and not counted in the size
        num_edges = g.num_items - int(loops.sum())
        budget = self._size(num_edges, num_nodes=g.num_nodes, num_loops=int(loops.sum()))
        forest = max_spanning_forest(g, spanning_tree_scores(g)) if self.keep_tree else \
            np.zeros(g.num_items, dtype=bool)
        mask = forest.copy()
        try:  # before the solves: a size too small fails at once
            check_size_floor(budget, int(mask.sum()), num_edges, num_nodes=g.num_nodes,
                             what="the spanning forest the sampler keeps", **self._sizing_in_use())
        except InvalidParameterError as err:
            raise ForestFloorError(f"{err} (keep_tree=True; keep_tree=False samples without it)",
                                   str(err)) from None
        r = effective_resistances(g, num_vectors=self.num_vectors, solver=self.solver,
                                  seed=self.seed)
        p = g.weights * r
        if p.sum() > 0:
            p /= p.sum()
        if budget >= num_edges:  # every edge: H is G, its weights exact (draws would add noise)
            mask[:] = True
        rng = np.random.default_rng([self.seed, 1])  # not the stream of the sketch's signs
        counts = np.zeros(g.num_items)
        draws = 0.0
        sampled = np.zeros(g.num_items, dtype=bool)
        need = budget - int(mask.sum())
        open_ = np.flatnonzero(~mask & ~loops & (p > 0))  # edges a draw can add
        if need > 0 and open_.size:
            # the draws, with replacement, as a rate-1 Poisson process: edge e is first drawn
            # at an Exp(p_e) time, the budget-th distinct edge stops the draws at time t, and
            # by then e was drawn 1 + Poisson(p_e (t - first)) times, a kept edge Poisson(p_e t)
            # times: the same law as drawing one at a time, without the 1 / min p_e draws that
            # took hours where the budget needs an edge of tiny w R (keep_ratio=1, say)
            first = rng.exponential(size=open_.size) / p[open_]
            order = np.argsort(first, kind="stable")[:need]
            chosen, t = open_[order], first[order[-1]]
            sampled[chosen] = True
            need -= chosen.size
            kept = np.flatnonzero(mask & (p > 0))
            lam = np.r_[p[chosen] * (t - first[order]), p[kept] * t]
            drawn = np.where(lam < 1e12, rng.poisson(np.minimum(lam, 1e12)), np.round(lam))
            counts[chosen] = 1 + drawn[:chosen.size]
            counts[kept] = drawn[chosen.size:]
            draws = counts.sum()
        mask |= sampled
        if need > 0:  # every edge of positive probability drawn: the rest, in item order
            mask[np.flatnonzero(~mask & ~loops)[:need]] = True
        mask |= loops
        weights = g.weights.copy()
        if self.reweight and draws:
            weights[sampled] = g.weights[sampled] * counts[sampled] / (draws * p[sampled])
        h = g.subgraph(mask)
        if self.reweight:
            h = h.reweight_items(g.ids[mask], weights[mask])
        self.resistances_ = r
        self.scores_ = np.where(forest | loops, np.inf, g.weights * r)
        self.mask_ = mask
        self.sparsifier_ = h
        self._fitted_graph = g
        return self

    def transform(self, graph: Any) -> SparseStructure:
        """H (reweighted when ``reweight``); ``graph`` must be the fitted graph (its nodes,
        edges and weights: H is not made for another graph of as many edges)."""
        self._check_fitted()
        s, g = as_structure(graph, name="graph"), getattr(self, "_fitted_graph", None)
        if g is None:  # fitted before the graph was kept (a pickle): its edge count only
            same = s.num_items == self.mask_.shape[0]
        else:
            same = (s.num_nodes == g.num_nodes and np.array_equal(s.rows, g.rows)
                    and np.array_equal(s.cols, g.cols) and np.array_equal(s.weights, g.weights))
        if not same:
            raise InvalidParameterError(
                f"transform got a graph of {s.num_nodes} nodes and {s.num_items} edges that is "
                "not the one this EffectiveResistanceSampler was fitted on; call fit on it, or "
                "read sparsifier_")
        return self.sparsifier_
