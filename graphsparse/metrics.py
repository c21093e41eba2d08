"""Spectral quality of a sparsifier: relative condition number and PCG iterations."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator, cg, eigsh, splu

from sparsebox._validation import check_choice, check_int, check_real
from sparsebox.exceptions import InvalidParameterError
from sparsebox.structure import SparseStructure, as_structure, require_undirected

__all__ = ["relative_condition_number", "pcg_iterations", "grounded_laplacian_nodes"]


def grounded_laplacian_nodes(graph: SparseStructure,
                             components: tuple[int, np.ndarray] | None = None) -> np.ndarray:
    """All nodes but the first of each connected component: deleting those rows and columns
    (grounding) leaves a positive definite Laplacian with exactly the non-trivial spectrum.
    ``components`` is ``graph.connected_components()`` (or a spanning subgraph's), when known."""
    count, labels = components or graph.connected_components()
    first = np.full(count, graph.num_nodes)
    np.minimum.at(first, labels, np.arange(graph.num_nodes))
    keep = np.ones(graph.num_nodes, dtype=bool)
    keep[first] = False
    return np.flatnonzero(keep)


def _graphs(graph: Any, sparsifier: Any) -> tuple[SparseStructure, SparseStructure]:
    """``graph`` and ``sparsifier`` as structures; an argument that is no graph is named (a
    fitted sparsifier given for its H is told where H is)."""
    out = []
    for name, value in (("graph", graph), ("sparsifier", sparsifier)):
        if hasattr(value, "mask_") and hasattr(value, "transform"):
            raise InvalidParameterError(f"{name} must be a graph, got a fitted "
                                        f"{type(value).__name__}: pass its transform(graph) (H)")
        try:
            out.append(as_structure(value, name=name))
        except InvalidParameterError as err:  # one about its weights, say: whose they are
            text = str(err)
            raise InvalidParameterError(text if text.startswith(f"{name} ")
                                        else f"{name}: {text}") from None
        # (laplacian()'s own error named neither argument, and advised symmetrize='sum')
        require_undirected(out[-1], f"{name}: a Laplacian")
    return out[0], out[1]


def _pencil(graph: Any, sparsifier: Any, method: str, shift: float):
    g, h = _graphs(graph, sparsifier)
    if g.num_nodes != h.num_nodes:
        raise ValueError(f"graph has {g.num_nodes} nodes but sparsifier has {h.num_nodes}")
    lg, lh = g.laplacian().tocsc(), h.laplacian().tocsc()
    if method == "ground":
        # one node per component of G deleted: both definite (if H spans G)
        keep = grounded_laplacian_nodes(g)
        lg, lh = lg[keep][:, keep].tocsc(), lh[keep][:, keep].tocsc()
    else:  # relative to G's mean weighted degree: the same kappa in any unit of weight
        eye = sp.identity(g.num_nodes, format="csc") * (shift * _mean_degree(lg))
        lg, lh = (lg + eye).tocsc(), (lh + eye).tocsc()
    return lg, lh


def _mean_degree(lap: sp.spmatrix) -> float:
    """The mean of a Laplacian's diagonal (1 for a graph without edges, where any shift will do)."""
    mean = float(lap.diagonal().mean()) if lap.shape[0] else 0.0
    return mean if mean > 0 else 1.0


class _SingularPencil(RuntimeError):
    """The right-hand matrix of a pencil has no LU."""


def _largest_generalized(a, b, tol: float) -> float:
    """Largest eigenvalue of ``a x = lambda b x`` (both symmetric, ``b`` positive definite):
    ARPACK's generalized mode, iterating in the ``b`` inner product with a sparse LU of ``b``.
    A singular ``b`` raises :class:`_SingularPencil`; ARPACK's own errors pass through."""
    try:
        lu = splu(b)
    except RuntimeError as err:  # SuperLU: "Factor is exactly singular"
        raise _SingularPencil(str(err)) from None
    if a.shape[0] <= 2:
        return float(np.max(np.real(np.linalg.eigvals(lu.solve(a.toarray())))))
    b_inv = LinearOperator(a.shape, matvec=lu.solve, dtype=np.float64)
    val = eigsh(a, k=1, M=b, Minv=b_inv, which="LA", tol=tol, return_eigenvectors=False,
                v0=np.ones(a.shape[0]) + np.linspace(0, 1, a.shape[0]))
    return float(val[0])


def relative_condition_number(
    graph: Any, sparsifier: Any, *, method: str = "shift", shift: float = 1e-6, tol: float = 1e-6
) -> float:
    """``kappa(L_G, L_H) = lambda_max / lambda_min`` of the pencil ``L_G x = lambda L_H x``.

    Parameters
    ----------
    graph, sparsifier : graph-like
        G and its sparsifier H (same nodes).
    method : {"shift", "ground"}
        ``"shift"`` follows dyGRASS: both Laplacians get a small shift on the diagonal.
        ``"ground"`` deletes one node per component of G, which leaves exactly the non-trivial
        eigenvalues. They agree where 1 lies between the pencil's non-trivial eigenvalues (a
        subgraph of G with G's weights, as every sparsifier here but effective-resistance
        sampling gives); otherwise the shift adds the eigenvalue 1 of the constant vector, and
        kappa is ``max(lambda_max, 1) / min(lambda_min, 1)``: H with every weight doubled has
        kappa 2 shifted, 1 grounded. Use ``"ground"`` for a reweighted H.
    shift : float
        Diagonal shift for ``method="shift"``, relative to G's mean weighted degree (the mean of
        ``L_G``'s diagonal), so that rescaling both graphs' weights leaves kappa unchanged; it
        must be positive (without it both Laplacians are singular).
    tol : float
        ARPACK's relative tolerance on the eigenvalues (0: machine precision).

    Returns
    -------
    float
        ``inf`` when H does not connect every component of G (``L_H`` singular where ``L_G``
        is not), or joins two of them (a vector constant on each component of G, other on two
        that H joins, has ``x' L_G x = 0 < x' L_H x``: ``lambda_min = 0``), with either method;
        1 for a graph without edges.

    Notes
    -----
    ``lambda_max`` is found by ARPACK in generalized mode with a sparse LU of ``L_H``;
    ``lambda_min`` as ``1 / lambda_max`` of the reversed pencil (LU of ``L_G``, which dominates the
    cost on large graphs). When H is a subgraph of G with G's weights (what the sparsifiers here
    produce; edges are matched by their ends, not ids), ``L_G - L_H`` is the Laplacian of the
    left-out edges, so every eigenvalue is at least 1, and 1 is attained by a vector constant on
    the components of those edges: then ``lambda_min = 1`` is used without factorizing G
    (checked against the full computation in the tests).
    """
    check_choice("method", method, ("shift", "ground"))
    if method == "shift":
        shift = check_real("shift", shift, above=0)
    tol = check_real("tol", tol, minimum=0)
    g, h = _graphs(graph, sparsifier)
    lg, lh = _pencil(g, h, method, shift)  # checks the inputs
    if not _connects_each_component(g, h, joining=False):
        # shifted, L_H + shift I is definite: the value would be finite (and grounded, for two
        # paths that H joins, 5.0 where the shift gave 250003)
        return float("inf")
    if lg.shape[0] == 0 or g.num_items == h.num_items == 0:
        return 1.0  # no edges (grounded: no node left): nothing to approximate
    try:
        lam_max = _largest_generalized(lg, lh, tol)
    except _SingularPencil:  # H spans G, but L_H is singular up to rounding
        return float("inf")
    in_g = _positions_in(g, h)
    if in_g is not None and _one_is_attained(g, in_g, method):
        lam_min = 1.0  # exact: see Notes
    else:
        lam_min = 1.0 / _largest_generalized(lh, lg, tol)
    return lam_max / lam_min


def _connects_each_component(g: SparseStructure, h: SparseStructure, *,
                             joining: bool = True) -> bool:
    """Whether every component of G is connected in H: each pairs with one component of H (H
    may not split one; it may join components of G only where ``joining``)."""
    count, in_g = g.connected_components()
    if not joining and np.any(in_g[h.rows] != in_g[h.cols]):
        return False
    _, in_h = h.connected_components()
    return np.unique(in_g.astype(np.int64) * max(h.num_nodes, 1) + in_h).size == count


def _positions_in(g: SparseStructure, h: SparseStructure) -> np.ndarray | None:
    """The positions in G of H's items when every edge of H is in G with the same weight
    (matched by endpoints: H's ids need not be G's), else ``None``."""
    if h.num_items > g.num_items:
        return None
    pos = g.find_items(h.rows, h.cols)
    if np.all(pos >= 0) and np.array_equal(g.weights[pos], h.weights):
        return pos
    return None


def _one_is_attained(g: SparseStructure, in_g: np.ndarray, method: str) -> bool:
    """With H inside G, ``L_G x = L_H x`` for x constant on each component of G minus H: the
    all-ones vector does it for the shifted pencil; grounded, it takes a component of G minus H
    that holds no grounded node, which exists when G minus H has more components than G."""
    if method == "shift":
        return True
    left_out = np.ones(g.num_items, dtype=bool)
    left_out[in_g] = False
    rest = g.subgraph(left_out)
    if rest.num_items == g.num_items and in_g.size:
        return False
    return rest.connected_components()[0] > g.connected_components()[0]


def pcg_iterations(
    graph: Any, sparsifier: Any, *, tol: float = 1e-6, seed: int = 0, max_iter: int = 10_000
) -> int:
    """Conjugate-gradient iterations to solve ``L_G x = b`` to relative residual ``tol``, with
    the preconditioner ``L_H^{-1}`` (a sparse LU of L_H, grounded at one node per component);
    ``b`` is random (standard normal) on the grounded system. ``ValueError`` when H does not
    connect every component of G (its grounded Laplacian is singular); where CG does not reach
    ``tol`` in ``max_iter`` iterations, ``max_iter`` with a ``RuntimeWarning`` that says so."""
    tol = check_real("tol", tol, above=0)
    seed = check_int("seed", seed, minimum=0)
    max_iter = check_int("max_iter", max_iter, minimum=1)
    g, h = _graphs(graph, sparsifier)
    lg, lh = _pencil(g, h, "ground", 0.0)
    if not _connects_each_component(g, h):
        raise ValueError("sparsifier does not connect every component of graph: L_H is singular "
                         "and cannot precondition L_G")
    lu = splu(lh)
    b = np.random.default_rng(seed).standard_normal(lg.shape[0])
    count = 0

    def tick(_):
        nonlocal count
        count += 1

    m = LinearOperator(lg.shape, matvec=lu.solve, dtype=np.float64)
    _, info = cg(lg, b, rtol=tol, M=m, maxiter=max_iter, callback=tick)
    if info > 0:  # else indistinguishable from converging at the last iteration
        warnings.warn(f"pcg_iterations: CG did not reach tol {tol:g} in max_iter {max_iter} "
                      "iterations; returned max_iter", RuntimeWarning, stacklevel=2)
        return max_iter
    return count
