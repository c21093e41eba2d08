"""Exact solves with a grounded Laplacian that is nearly a forest (a sparsifier: a spanning tree
and a few more edges): eliminate the nodes of degree at most 2 first, then factorize what is left.

Eliminating a node of degree 1 removes a leaf; one of degree 2 joins its two neighbours by one
edge (resistors in series), so the pattern never grows. On the 3D mesh ``wave`` (156,317 nodes)
a sparsifier at density 1.10 leaves a core of about 13,000 nodes for the sparse LU, instead of
every node.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
from numba import njit
from scipy.sparse.linalg import splu

from sparsebox._validation import check_int

__all__ = ["EliminationFactor"]


@njit(cache=True)
def _eliminate(indptr, indices, data, diag, max_degree, tiny):
    """Greedy elimination of the nodes of (current) degree ``<= max_degree`` of the symmetric
    matrix with off-diagonal CSR ``(indptr, indices, data)`` (modified in place: a row keeps
    its live entries first, ``count`` of them) and diagonal ``diag`` (the Schur complement's on
    return). Returns the elimination order, pivots, each step's neighbours and their entries,
    the live counts and the status (0, or 1 + the node whose pivot was not above ``tiny`` times
    its original diagonal: a singular matrix cancels to rounding error there)."""
    n = diag.shape[0]
    floor = tiny * np.abs(diag)
    count = (indptr[1:] - indptr[:-1]).astype(np.int64)
    gone = np.zeros(n, dtype=np.bool_)
    queued = np.zeros(n, dtype=np.bool_)
    stack = np.empty(n, dtype=np.int64)
    top = 0
    for v in range(n):
        if count[v] <= max_degree:
            stack[top] = v
            top += 1
            queued[v] = True
    order = np.empty(n, dtype=np.int64)
    pivots = np.empty(n)
    nbrs = np.full((n, max_degree), -1, dtype=np.int64)
    values = np.zeros((n, max_degree))
    steps = 0
    while top > 0:
        top -= 1
        v = stack[top]
        queued[v] = False
        d = diag[v]
        if not d > floor[v]:
            return order[:steps], pivots[:steps], nbrs[:steps], values[:steps], count, v + 1
        deg = count[v]
        for i in range(deg):
            nbrs[steps, i] = indices[indptr[v] + i]
            values[steps, i] = data[indptr[v] + i]
        order[steps] = v
        pivots[steps] = d
        for i in range(deg):
            a = nbrs[steps, i]
            m = values[steps, i]
            diag[a] -= m * m / d
            for p in range(indptr[a], indptr[a] + count[a]):  # drop v from a's row
                if indices[p] == v:
                    last = indptr[a] + count[a] - 1
                    indices[p], data[p] = indices[last], data[last]
                    count[a] -= 1
                    break
        for i in range(deg):  # fill between the two neighbours (max_degree <= 2)
            a = nbrs[steps, i]
            for j in range(deg):
                if j == i:
                    continue
                b = nbrs[steps, j]
                fill = -values[steps, i] * values[steps, j] / d
                found = False
                for p in range(indptr[a], indptr[a] + count[a]):
                    if indices[p] == b:
                        data[p] += fill
                        found = True
                        break
                if not found:  # a just lost v, so its row has a free slot
                    p = indptr[a] + count[a]
                    indices[p] = b
                    data[p] = fill
                    count[a] += 1
        count[v] = 0
        gone[v] = True
        steps += 1
        for i in range(deg):
            a = nbrs[steps - 1, i]
            if not gone[a] and not queued[a] and count[a] <= max_degree:
                stack[top] = a
                top += 1
                queued[a] = True
    return order[:steps], pivots[:steps], nbrs[:steps], values[:steps], count, 0


@njit(cache=True)
def _forward(x, order, pivots, nbrs, values):
    """The unit lower-triangular solve of the eliminated steps, in place on ``x``."""
    for s in range(order.shape[0]):
        v = order[s]
        for i in range(nbrs.shape[1]):
            a = nbrs[s, i]
            if a < 0:
                break
            f = values[s, i] / pivots[s]
            for c in range(x.shape[1]):
                x[a, c] -= f * x[v, c]


@njit(cache=True)
def _backward(x, order, pivots, nbrs, values):
    """The upper-triangular (pivot-scaled) solve of the eliminated steps, in reverse order."""
    for s in range(order.shape[0] - 1, -1, -1):
        v = order[s]
        for i in range(nbrs.shape[1]):
            a = nbrs[s, i]
            if a < 0:
                break
            m = values[s, i]
            for c in range(x.shape[1]):
                x[v, c] -= m * x[a, c]
        for c in range(x.shape[1]):
            x[v, c] /= pivots[s]


def _check_symmetric(off: sp.csr_matrix) -> None:
    """Refuse an off-diagonal part (canonical CSR) that differs from its transpose by more than
    ``1e-12`` of its largest entry (same pattern: the values are compared in place)."""
    flipped = off.T.tocsr()
    flipped.sort_indices()
    if np.array_equal(flipped.indptr, off.indptr) and np.array_equal(flipped.indices,
                                                                      off.indices):
        gap = np.abs(flipped.data - off.data)
    else:
        gap = abs(off - flipped).data
    if gap.size and gap.max() > 1e-12 * np.abs(off.data).max():
        raise ValueError("the matrix is not symmetric")


class EliminationFactor:
    """An exact factorization of a symmetric positive definite matrix with nonpositive
    off-diagonal entries (a grounded Laplacian): nodes of degree at most ``max_degree`` are
    eliminated greedily (their Schur complement keeps the pattern), the rest, the core, goes to
    a sparse LU.

    Parameters
    ----------
    matrix : scipy.sparse matrix
        Symmetric, positive definite, off-diagonal entries ``<= 0``.
    max_degree : {0, 1, 2}
        Eliminate nodes of degree up to this first (0: only nodes without neighbours).

    Attributes
    ----------
    core_size : int
        Nodes left for the LU.
    nnz : int
        Entries of the factors (2 per neighbour of an eliminated node and pivot, plus the LU's).

    Raises
    ------
    ValueError
        If the matrix is not symmetric or not positive definite (a pivot cancels to rounding
        error, or the LU of the core is singular).

    Examples
    --------
    >>> import numpy as np
    >>> import scipy.sparse as sp
    >>> lap = sp.csr_matrix([[2.0, -1.0], [-1.0, 1.0]])  # path 0-1-2, grounded at node 0
    >>> factor = EliminationFactor(lap)
    >>> factor.core_size, factor.solve(np.array([1.0, 0.0])).round(6).tolist()
    (0, [1.0, 1.0])
    """

    def __init__(self, matrix: Any, max_degree: int = 2) -> None:
        # an eliminated node frees one slot in each neighbour's row: room for the fill of 2
        max_degree = check_int("max_degree", max_degree, minimum=0, maximum=2)
        a = sp.csr_matrix(matrix, dtype=np.float64)
        if not a.has_canonical_format:  # sorted, no duplicates (on a copy: the input stays)
            a = a.copy()
            a.sum_duplicates()
        n = a.shape[0]
        row = np.repeat(np.arange(n), np.diff(a.indptr))
        on_diag = a.indices == row
        diag = np.zeros(n)
        diag[row[on_diag]] = a.data[on_diag]
        live = ~on_diag & (a.data != 0)
        indices, data = a.indices[live].astype(np.int64), a.data[live]
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(row[live], minlength=n), out=indptr[1:])
        _check_symmetric(sp.csr_matrix((data, indices, indptr), shape=(n, n)))
        tiny = 64 * np.finfo(np.float64).eps
        order, pivots, nbrs, values, count, status = _eliminate(
            indptr, indices, data, diag, max_degree, tiny)
        if status:
            raise ValueError(f"the matrix is not positive definite (pivot of row {status - 1})")
        self._order, self._pivots, self._nbrs, self._values = order, pivots, nbrs, values
        core = np.ones(n, dtype=bool)
        core[order] = False
        self._core = np.flatnonzero(core)
        self.core_size = int(self._core.size)
        self._lu = None
        self.nnz = int(2 * (nbrs >= 0).sum() + order.size)
        if self.core_size:
            # the live entries lead each row, and join core nodes only: relabel them in the core
            k = self.core_size
            at = np.full(n, -1, dtype=np.int64)
            at[self._core] = np.arange(k)
            rows = np.repeat(np.arange(n), count)
            starts = np.repeat(indptr[:-1], count)
            pos = starts + np.arange(rows.size) - np.repeat(np.cumsum(count) - count, count)
            ends = np.arange(k)
            schur = sp.csc_matrix((np.r_[data[pos], diag[self._core]],
                                   (np.r_[at[rows], ends], np.r_[at[indices[pos]], ends])),
                                  shape=(k, k))
            try:
                self._lu = splu(schur, permc_spec="MMD_AT_PLUS_A",
                                diag_pivot_thresh=0.0, options={"SymmetricMode": True})
            except RuntimeError as err:  # SuperLU: "Factor is exactly singular"
                raise ValueError(f"the matrix is not positive definite ({err})") from None
            core_pivots = np.abs(self._lu.U.diagonal())
            if core_pivots.min() <= tiny * diag[self._core].max():  # singular up to rounding
                raise ValueError("the matrix is not positive definite (a pivot of its core "
                                 "cancels to rounding error)")
            self.nnz += int(self._lu.L.nnz + self._lu.U.nnz)

    def solve(self, b: np.ndarray, overwrite_b: bool = False) -> np.ndarray:
        """Solve ``matrix @ x = b``.

        Parameters
        ----------
        b : ndarray, shape (n,) or (n, k)
            One right-hand side or a block of them.
        overwrite_b : bool
            Let a writeable, C-contiguous float64 ``b`` become ``x`` (no copy: on wave's 156,317
            nodes a fresh 16-column block costs about as much as the elimination's passes).

        Returns
        -------
        ndarray, the shape of ``b``
        """
        b = np.asarray(b, dtype=np.float64)
        reuse = overwrite_b and b.flags.c_contiguous and b.flags.writeable
        x = b if reuse else np.array(b, order="C")
        x = x[:, None] if x.ndim == 1 else x  # views: x is C-contiguous
        _forward(x, self._order, self._pivots, self._nbrs, self._values)
        if self._lu is not None:
            x[self._core] = self._lu.solve(np.ascontiguousarray(x[self._core]))
        _backward(x, self._order, self._pivots, self._nbrs, self._values)
        return x.reshape(b.shape)
