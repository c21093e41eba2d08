"""Effective resistances by random projections, and Spielman-Srivastava sampling.

Reference: D. A. Spielman, N. Srivastava, "Graph Sparsification by Effective Resistances",
SIAM J. Comput. 40(6), 2011.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import splu

from graphsparse.metrics import grounded_laplacian_nodes
from graphsparse.static import spanning_tree_scores
from graphsparse.trees import max_spanning_forest
from sparsebox._validation import Interval, Options, check_choice, check_int
from sparsebox.base import Sparsifier
from sparsebox.exceptions import InvalidParameterError
from sparsebox.select import check_size_floor
from sparsebox.structure import SparseStructure, as_structure

__all__ = ["effective_resistances", "EffectiveResistanceSampler"]


def _solver(lap: sp.csr_array, method: str, tol: float):
    if method == "direct":
        lu = splu(lap.tocsc())
        return lu.solve
    try:
        import pyamg
    except ImportError as err:
        raise ImportError("solver='amg' needs pyamg: pip install 'sparsebox[amg]'") from err
    ml = pyamg.smoothed_aggregation_solver(lap.tocsr())
    return lambda b: np.column_stack([ml.solve(b[:, i], tol=tol, accel="cg")
                                      for i in range(b.shape[1])])


def effective_resistances(graph: Any, *, num_vectors: int = 64, solver: str = "amg",
                          tol: float = 1e-8, seed: int = 0) -> np.ndarray:
    """Approximate effective resistance of every item (edge), by the Johnson-Lindenstrauss
    projection of Spielman and Srivastava: ``R(u, v) ~ ||Z e_u - Z e_v||^2`` with
    ``Z = Q W^{1/2} B L^+`` and ``Q`` a random ``num_vectors x m`` sign matrix.

    Each of the ``num_vectors`` rows costs one Laplacian solve (``solver="amg"``: pyamg smoothed
    aggregation with CG; ``"direct"``: a sparse LU of the grounded Laplacian). The relative error
    shrinks like ``1 / sqrt(num_vectors)``. Self-loops get resistance 0.
    """
    g = as_structure(graph)
    check_choice("solver", solver, ("amg", "direct"))
    k = check_int("num_vectors", num_vectors, minimum=1)
    rng = np.random.default_rng(seed)
    off = g.rows != g.cols
    rows, cols = g.rows[off], g.cols[off]
    sqrt_w = np.sqrt(g.weights[off])
    signs = rng.choice([-1.0, 1.0], size=(off.sum(), k)) / math.sqrt(k)
    # Y = Q W^{1/2} B, built column block by column block: node contributions of each edge
    y = np.zeros((g.num_nodes, k))
    np.add.at(y, rows, signs * sqrt_w[:, None])
    np.add.at(y, cols, -signs * sqrt_w[:, None])
    keep = grounded_laplacian_nodes(g)
    lap = g.laplacian().tocsr()[keep][:, keep]
    z = np.zeros((g.num_nodes, k))
    z[keep] = _solver(lap, solver, tol)(y[keep])
    out = np.zeros(g.num_items)
    out[off] = ((z[rows] - z[cols]) ** 2).sum(axis=1)
    return out


class EffectiveResistanceSampler(Sparsifier):
    """Spielman-Srivastava sparsification: sample edges with probability ``p_e ~ w_e R_e``, with
    replacement, until ``budget`` distinct edges are drawn; optionally keep a spanning forest
    (so that H stays connected) and reweight each sampled edge to ``w_e c_e / (q p_e)`` (``c_e``
    draws of e among ``q``), which makes ``L_H`` an unbiased estimate of ``L_G``.

    Parameters
    ----------
    keep_ratio, budget, density : float, int, float (at most one; default density 1.5)
        The size of H: a fraction of G's edges, an edge count, or ``|E_H| / |V|``. The default
        is above any spanning forest (``< |V|`` edges); sampling needs far more edges than a
        tree to approximate the spectrum.
    keep_tree : bool
        Keep a maximum spanning forest (feGRASS effective weights); it counts toward the size,
        which therefore cannot be below it.
    reweight : bool
        Reweight sampled edges (H is then not a subgraph with G's weights).
    num_vectors, solver, seed
        See :func:`effective_resistances`.

    Attributes
    ----------
    resistances_ : ndarray
    scores_ : ndarray
        ``w_e R_e`` per item (the sampling weight; ``inf`` on the kept forest).
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
        "solver": [Options(("amg", "direct"))], "seed": [int],
    }

    def __init__(self, *, keep_ratio: float | None = None, budget: int | None = None,
                 density: float | None = None, keep_tree: bool = True, reweight: bool = True,
                 num_vectors: int = 64, solver: str = "amg", seed: int = 0) -> None:
        self.keep_ratio, self.budget, self.density = keep_ratio, budget, density
        self.keep_tree, self.reweight = keep_tree, reweight
        self.num_vectors, self.solver, self.seed = num_vectors, solver, seed

    def fit(self, graph: Any) -> EffectiveResistanceSampler:
        self._validate_params()
        g = as_structure(graph)
        if not g.is_undirected:
            raise InvalidParameterError("EffectiveResistanceSampler needs an undirected graph")
        budget = self._size(g.num_items, num_nodes=g.num_nodes)
        r = effective_resistances(g, num_vectors=self.num_vectors, solver=self.solver,
                                  seed=self.seed)
        p = g.weights * r
        p /= p.sum()
        mask = max_spanning_forest(g, spanning_tree_scores(g)) if self.keep_tree else \
            np.zeros(g.num_items, dtype=bool)
        check_size_floor(budget, int(mask.sum()), g.num_items, num_nodes=g.num_nodes,
                         what="the spanning forest (keep_tree=True)", **self._sizing_in_use())
        rng = np.random.default_rng(self.seed)
        counts = np.zeros(g.num_items, dtype=np.int64)
        draws = 0
        sampled = np.zeros(g.num_items, dtype=bool)
        need = budget - int(mask.sum())
        candidates = ~mask
        while need > 0 and (candidates & (p > 0)).any():
            chunk = rng.choice(g.num_items, size=max(64, 2 * need), p=p)
            for e in chunk:  # in draw order, so the budget is met exactly
                draws += 1
                counts[e] += 1
                if candidates[e] and not sampled[e]:
                    sampled[e] = True
                    need -= 1
                    if need == 0:
                        break
        mask |= sampled
        weights = g.weights.copy()
        if self.reweight and draws:
            weights[sampled] = g.weights[sampled] * counts[sampled] / (draws * p[sampled])
        h = g.subgraph(mask)
        if self.reweight:
            h = h.reweight_items(g.ids[mask], weights[mask])
        self.resistances_ = r
        self.scores_ = np.where(mask & ~sampled, np.inf, g.weights * r)
        self.mask_ = mask
        self.sparsifier_ = h
        return self

    def transform(self, graph: Any) -> SparseStructure:
        """H (reweighted when ``reweight``); ``graph`` must be the fitted graph."""
        self._check_fitted()
        if as_structure(graph).num_items != self.mask_.shape[0]:
            raise InvalidParameterError("transform needs the graph that was fitted")
        return self.sparsifier_
