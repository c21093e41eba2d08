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


@njit(cache=True)
def _split_diagonal(indptr, indices, data):
    """The diagonal and the nonzero off-diagonal entries (CSR, int64) of a CSR matrix."""
    n = indptr.shape[0] - 1
    diag = np.zeros(n)
    out_ptr = np.zeros(n + 1, dtype=np.int64)
    for i in range(n):
        live = 0
        for k in range(indptr[i], indptr[i + 1]):
            if indices[k] == i:
                diag[i] = data[k]
            elif data[k] != 0:
                live += 1
        out_ptr[i + 1] = out_ptr[i] + live
    out_idx = np.empty(out_ptr[n], dtype=np.int64)
    out_val = np.empty(out_ptr[n])
    pos = 0
    for i in range(n):
        for k in range(indptr[i], indptr[i + 1]):
            if indices[k] != i and data[k] != 0:
                out_idx[pos], out_val[pos] = indices[k], data[k]
                pos += 1
    return diag, out_ptr, out_idx, out_val


@njit(cache=True)
def _schur_complement(indptr, indices, data, count, diag, core):
    """``(data, indices, indptr)`` of what :func:`_eliminate` leaves, on the nodes ``core``
    (renumbered in order): each row's diagonal, then its ``count`` live entries, which lead the
    row and join core nodes only. The matrix is symmetric, so these rows are its columns too."""
    at = np.full(diag.shape[0], -1, dtype=np.int64)
    for r in range(core.shape[0]):
        at[core[r]] = r
    ptr = np.zeros(core.shape[0] + 1, dtype=np.int64)
    for r in range(core.shape[0]):
        ptr[r + 1] = ptr[r] + count[core[r]] + 1
    idx = np.empty(ptr[-1], dtype=np.int64)
    val = np.empty(ptr[-1])
    for r in range(core.shape[0]):
        v, p = core[r], ptr[r]
        idx[p], val[p] = r, diag[v]
        for t in range(count[v]):
            idx[p + 1 + t], val[p + 1 + t] = at[indices[indptr[v] + t]], data[indptr[v] + t]
    return val, idx, ptr


def _check_symmetric(indptr: np.ndarray, indices: np.ndarray, data: np.ndarray) -> None:
    """Refuse an off-diagonal part (CSR rows with sorted columns, no duplicates) that differs
    from its transpose by more than ``1e-12`` of its largest entry (a missing mirror counts as
    0)."""
    if data.size and _asymmetry(indptr, indices, data) > 1e-12 * np.abs(data).max():
        raise ValueError("the matrix is not symmetric")


@njit(cache=True)
def _asymmetry(indptr, indices, data):
    """``max |a_ij - a_ji|`` over the entries, each mirror found by bisection in its row."""
    gap = 0.0
    for i in range(indptr.shape[0] - 1):
        for k in range(indptr[i], indptr[i + 1]):
            j = indices[k]
            lo, hi = indptr[j], indptr[j + 1]
            while lo < hi:
                mid = (lo + hi) // 2
                if indices[mid] < i:
                    lo = mid + 1
                else:
                    hi = mid
            mirror = data[lo] if lo < indptr[j + 1] and indices[lo] == i else 0.0
            gap = max(gap, abs(data[k] - mirror))
    return gap


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
        If the matrix is not symmetric or not positive definite (a pivot is negative or
        cancels to rounding error, or the LU of the core is singular).

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
        diag, indptr, indices, data = _split_diagonal(a.indptr, a.indices, a.data)
        _check_symmetric(indptr, indices, data)
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
            k = self.core_size
            schur = sp.csc_matrix(_schur_complement(indptr, indices, data, count, diag,
                                                    self._core), shape=(k, k))
            try:
                self._lu = splu(schur, permc_spec="MMD_AT_PLUS_A",
                                diag_pivot_thresh=0.0, options={"SymmetricMode": True})
            except RuntimeError as err:  # SuperLU: "Factor is exactly singular"
                raise ValueError(f"the matrix is not positive definite ({err})") from None
            # positive definite: pivots on the diagonal (rows in the columns' order: SuperLU
            # swaps rows only at a zero pivot) and positive (an absolute value passed a negative
            # one, and an indefinite matrix was solved as if it were positive definite)
            core_pivots = self._lu.U.diagonal()
            if (not np.array_equal(self._lu.perm_r, self._lu.perm_c)
                    or core_pivots.min() <= tiny * diag[self._core].max()):
                raise ValueError("the matrix is not positive definite (a pivot of its core is "
                                 "negative or cancels to rounding error)")
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
