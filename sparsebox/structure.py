"""`SparseStructure`: a CSR graph whose items (edges) carry stable ids that survive masking.

An undirected edge ``{u, v}`` is ONE item: it is stored once as ``u <= v`` in the item arrays
(``rows``, ``cols``, ``weights``, ``ids``) and twice in the CSR arrays (``indptr``, ``indices``,
``weight``, ``entry_ids``), once per direction, both entries carrying the same id. A self-loop is one
item and one CSR entry. Counting edges therefore never disagrees between the two views.

Scores and masks are per item, aligned with ``structure.ids``.
"""

from __future__ import annotations

import numbers
import os
import sys
import warnings
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp

from sparsebox._validation import (
    _is_integer,
    caller_level,
    check_1d,
    check_choice,
    check_finite_positive,
    scalar_item,
)
from sparsebox.exceptions import InvalidParameterError
from sparsebox.outputs import counted

Duplicates = Literal["sum", "error"]
SelfLoops = Literal["keep", "drop", "error"]
Symmetrize = Literal["sum", "max"] | None

__all__ = ["SparseStructure", "as_structure", "is_networkx_graph", "is_pyg_data", "pyg_edge_index",
           "sorted_positions", "undirected_pair_keys", "require_undirected"]


def sorted_positions(keys: np.ndarray, values: Any, sorter: np.ndarray | None = None) -> np.ndarray:
    """The index in ``keys`` of each of ``values``, -1 where a value is absent.

    ``keys`` must be sorted, or sorted by ``sorter`` (as for ``np.searchsorted``); with repeated
    keys the first in sorted order is found. ``O(len(values) log len(keys))``.

    Examples
    --------
    >>> sorted_positions(np.array([2, 5, 9]), [5, 3, 9, 10]).tolist()
    [1, -1, 2, -1]
    >>> sorted_positions(np.array([9, 2, 5]), [2, 7], sorter=np.array([1, 2, 0])).tolist()
    [1, -1]
    """
    values = np.asarray(values)
    if keys.shape[0] == 0:
        return np.full(values.shape, -1, dtype=np.int64)
    pos = np.minimum(np.searchsorted(keys, values, sorter=sorter), keys.shape[0] - 1)
    if sorter is not None:
        pos = sorter[pos]
    return np.where(keys[pos] == values, pos, -1)


def undirected_pair_keys(rows: Any, cols: Any, num_nodes: int) -> np.ndarray:
    """One int64 key per undirected pair: ``min(u, v) * num_nodes + max(u, v)``, the same for both
    directions of an edge and increasing in ``(min, max)`` order. The one pair key of sparsebox
    (item order, edge lookups, PyG edge pairs, seeded random edges all use it).

    Examples
    --------
    >>> undirected_pair_keys([0, 1, 1, 2], [1, 0, 2, 1], 3).tolist()
    [1, 1, 5, 5]
    """
    r = np.asarray(rows, dtype=np.int64)
    c = np.asarray(cols, dtype=np.int64)
    return np.minimum(r, c) * max(int(num_nodes), 1) + np.maximum(r, c)


def _readonly(a: np.ndarray) -> np.ndarray:
    """A read-only view of ``a`` (``a``'s own flags, perhaps a caller's array, stay as they are)."""
    view = a.view()
    view.flags.writeable = False
    return view


class SparseStructure:
    """A sparse graph in CSR form with stable item ids.

    Build one with :func:`as_structure` or :meth:`from_edges`; the constructor takes canonical
    item arrays and is meant for internal use.

    Attributes
    ----------
    num_nodes : int
    is_undirected : bool
    is_weighted : bool
        False when no weights were given: each weight is then 1.0, or the number of times a
        repeated edge was listed when ``duplicates="sum"`` adds them up.
    rows, cols, weights, ids : ndarray
        One entry per item; for undirected structures ``rows <= cols``. Sorted by ``(row, col)``.
    indptr, indices, weight, entry_ids, entry_item : ndarray
        The CSR view: ``entry_item[k]`` is the position in the item arrays of CSR entry ``k``.
    """

    def __init__(
        self,
        rows: np.ndarray,
        cols: np.ndarray,
        weights: np.ndarray,
        ids: np.ndarray,
        *,
        num_nodes: int,
        undirected: bool,
        weighted: bool = True,
    ) -> None:
        order = np.lexsort((cols, rows))
        self.rows = _readonly(np.ascontiguousarray(rows[order], dtype=np.int64))
        self.cols = _readonly(np.ascontiguousarray(cols[order], dtype=np.int64))
        self.weights = _readonly(np.ascontiguousarray(weights[order], dtype=np.float64))
        self.ids = _readonly(np.ascontiguousarray(ids[order], dtype=np.int64))
        self.num_nodes = int(num_nodes)
        self.is_undirected = bool(undirected)
        self.is_weighted = bool(weighted)
        self._cache: dict[str, object] = {}  # derived arrays (e.g. for walks), built on demand
        self._build_csr()

    @classmethod
    def _assemble(cls, rows, cols, weights, ids, indptr, indices, entry_item, *, num_nodes,
                  undirected, weighted) -> SparseStructure:
        """Build from parts that are already sorted and consistent (internal, no checks)."""
        self = cls.__new__(cls)
        self.rows, self.cols = _readonly(rows), _readonly(cols)
        self.weights, self.ids = _readonly(weights), _readonly(ids)
        self.num_nodes, self.is_undirected, self.is_weighted = num_nodes, undirected, weighted
        self._cache = {}
        self.indptr, self.indices = _readonly(indptr), _readonly(indices)
        self.entry_item = _readonly(entry_item)
        self.weight = _readonly(self.weights[entry_item])
        self.entry_ids = _readonly(self.ids[entry_item])
        return self

    def _build_csr(self) -> None:
        item = np.arange(self.rows.shape[0], dtype=np.int64)
        src, dst = self.rows, self.cols
        if self.is_undirected:
            off = src != dst
            src = np.concatenate([src, self.cols[off]])
            dst = np.concatenate([dst, self.rows[off]])
            item = np.concatenate([item, item[off]])
        order = np.lexsort((dst, src))
        counts = np.bincount(src, minlength=self.num_nodes)
        indptr = np.zeros(self.num_nodes + 1, dtype=np.int64)
        np.cumsum(counts, out=indptr[1:])
        self.indptr = _readonly(indptr)
        self.indices = _readonly(dst[order])
        self.entry_item = _readonly(item[order])
        self.weight = _readonly(self.weights[self.entry_item])
        self.entry_ids = _readonly(self.ids[self.entry_item])

    # ----------------------------------------------------------------- construction
    @classmethod
    def from_edges(
        cls,
        row: Any,
        col: Any,
        weight: Any = None,
        *,
        num_nodes: int | None = None,
        undirected: bool | None = None,
        ids: Any = None,
        symmetrize: Symmetrize = None,
        duplicates: Duplicates = "sum",
        self_loops: SelfLoops = "keep",
    ) -> SparseStructure:
        """Build from coordinate lists (one entry per stored direction).

        Parameters
        ----------
        row, col : array_like of int
            Entry coordinates.
        weight : array_like of float, optional
            Positive finite weights; ``None`` means unweighted (all 1.0).
        num_nodes : int, optional
            Defaults to ``max(row, col) + 1``.
        undirected : bool, optional
            ``None`` detects it: undirected when the entries are symmetric (or ``symmetrize`` is
            given). ``True`` with asymmetric entries is an error unless ``symmetrize`` is given.
        ids : array_like of int, optional
            An id per entry; both directions of an undirected edge must carry the same id.
            Defaults to ``0 .. num_items - 1`` in ``(row, col)`` order.
        symmetrize : {"sum", "max"}, optional
            Make the entries symmetric: ``A + A^T`` or ``max(A, A^T)``.
        duplicates : {"sum", "error"}
            What to do with repeated ``(row, col)`` entries.
        self_loops : {"keep", "drop", "error"}
        """
        check_choice("duplicates", duplicates, ("sum", "error"))
        check_choice("self_loops", self_loops, ("keep", "drop", "error"))
        check_choice("symmetrize", symmetrize, (None, "sum", "max"))
        _check_undirected(undirected)
        row = _as_index_array("row", row)
        col = _as_index_array("col", col, length=row.shape[0])
        if weight is None:
            w = np.ones(row.shape[0], dtype=np.float64)
            weighted = False
        else:
            w = _as_weights("weight", weight, row.shape[0])
            weighted = True
        if ids is not None:
            ids = _as_index_array("ids", ids, length=row.shape[0])
        n = _infer_num_nodes(num_nodes, row, col)

        loops = row == col
        if loops.any():
            if self_loops == "error":
                i = int(np.flatnonzero(loops)[0])
                raise ValueError(
                    f"self_loops='error' but entry {i} is a self-loop on node {int(row[i])}"
                )
            if self_loops == "drop":
                keep = ~loops
                row, col, w = row[keep], col[keep], w[keep]
                ids = None if ids is None else ids[keep]

        row, col, w, ids = _coalesce(row, col, w, ids, n, duplicates)

        if symmetrize is not None:
            if undirected is False:
                raise ValueError("symmetrize was given but undirected=False")
            if ids is not None:
                raise ValueError("ids cannot be combined with symmetrize (entries are merged)")
            r, c, w = _symmetrize(row, col, w, n, symmetrize)
            return cls(r, c, w, np.arange(r.shape[0]), num_nodes=n, undirected=True,
                       weighted=weighted)

        if undirected is None:
            undirected = _is_symmetric(row, col, w, ids, n)
        elif undirected:
            _require_symmetric(row, col, w, ids, n)
        if undirected:
            upper = row <= col
            row, col, w = row[upper], col[upper], w[upper]
            ids = None if ids is None else ids[upper]
        if ids is None:  # default ids follow (row, col) order
            order = np.lexsort((col, row))
            row, col, w = row[order], col[order], w[order]
            ids = np.arange(row.shape[0], dtype=np.int64)
        elif np.unique(ids).shape[0] != ids.shape[0]:
            raise ValueError("ids must be unique per item (per edge; both directions share one)")
        return cls(row, col, w, ids, num_nodes=n, undirected=bool(undirected), weighted=weighted)

    @classmethod
    def from_csr(cls, indptr: Any, indices: Any, weight: Any = None, *,
                 num_nodes: int | None = None, check: bool = True) -> SparseStructure:
        """A directed structure from CSR arrays whose rows are sorted and free of duplicates
        (checked), without sorting again: ``O(nnz)``. Items are the entries, ids ``0..nnz-1``.

        ``check=False`` skips the checks for arrays that are valid by construction (int64
        ``indptr``/``indices``, float64 positive weights); the arrays are then used as given,
        not copied: change them afterwards and the structure changes."""
        if not check:
            indptr = np.asarray(indptr, dtype=np.int64)
            indices = np.asarray(indices, dtype=np.int64)
            n = indptr.shape[0] - 1 if num_nodes is None else int(num_nodes)
            w = (np.ones(indices.shape[0]) if weight is None
                 else np.asarray(weight, dtype=np.float64))
            rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(indptr))
            item = np.arange(indices.shape[0], dtype=np.int64)
            return cls._assemble(rows, indices, w, item, indptr, indices, item, num_nodes=n,
                                 undirected=False, weighted=weight is not None)
        indptr = _as_index_array("indptr", indptr)
        n = indptr.shape[0] - 1 if num_nodes is None else _checked_num_nodes(num_nodes)
        if indptr.shape[0] != n + 1 or indptr[0] != 0 or np.any(np.diff(indptr) < 0):
            raise ValueError("indptr must start at 0, be non-decreasing and have num_nodes + 1 "
                             "entries")
        indices = _as_index_array("indices", indices, length=int(indptr[-1]))
        if indices.size and indices.max() >= n:
            raise ValueError(f"indices out of range: node {int(indices.max())} >= num_nodes {n}")
        rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(indptr))
        same_row = rows[1:] == rows[:-1]
        if np.any(same_row & (indices[1:] <= indices[:-1])):
            raise ValueError("indices must be strictly increasing within each row")
        if weight is None:
            w, weighted = np.ones(indices.shape[0]), False
        else:
            w = _as_weights("weight", weight, indices.shape[0])
            weighted = True
        item = np.arange(indices.shape[0], dtype=np.int64)
        return cls._assemble(rows, indices, w, item.copy(), indptr, indices, item,
                             num_nodes=n, undirected=False, weighted=weighted)

    # ----------------------------------------------------------------- sizes
    @property
    def num_items(self) -> int:
        """Number of items: edges, an undirected edge counted once."""
        return int(self.rows.shape[0])

    num_edges = num_items

    @property
    def nnz(self) -> int:
        """Number of stored CSR entries (an undirected non-loop edge counts twice)."""
        return int(self.indices.shape[0])

    @property
    def num_self_loops(self) -> int:
        """Number of items that are self-loops (``u == v``).

        Examples
        --------
        >>> SparseStructure.from_edges([0, 1, 2], [0, 2, 2], None, num_nodes=3).num_self_loops
        2
        """
        return int(np.count_nonzero(self.rows == self.cols))

    @property
    def density(self) -> float:
        """Edges other than self-loops per node, ``|E| / |V|``: what the sizing ``density``
        counts, and ``graph info`` reports (self-loops add nothing to a Laplacian).

        Examples
        --------
        >>> import networkx as nx
        >>> as_structure(nx.Graph([(0, 1), (1, 2), (2, 0), (2, 2)])).density  # a loop at 2
        1.0
        """
        return (self.num_items - self.num_self_loops) / max(self.num_nodes, 1)

    def __repr__(self) -> str:
        kind = "undirected" if self.is_undirected else "directed"
        w = "weighted" if self.is_weighted else "unweighted"
        return (
            f"SparseStructure(num_nodes={self.num_nodes}, num_edges={self.num_items}, {kind}, {w})"
        )

    def __len__(self) -> int:
        return self.num_items

    # ----------------------------------------------------------------- queries
    @property
    def entry_rows(self) -> np.ndarray:
        """The source node of every CSR entry (the row index that ``indptr`` encodes)."""
        if "entry_rows" not in self._cache:
            self._cache["entry_rows"] = _readonly(
                np.repeat(np.arange(self.num_nodes, dtype=np.int64), np.diff(self.indptr)))
        return self._cache["entry_rows"]  # type: ignore[return-value]

    def _item_keys(self) -> np.ndarray:
        """``rows * n + cols`` of the items: sorted, since items are in (row, col) order."""
        if "item_keys" not in self._cache:
            self._cache["item_keys"] = self.rows * max(self.num_nodes, 1) + self.cols
        return self._cache["item_keys"]  # type: ignore[return-value]

    def _lookup_ids(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(positions, found)`` of item ids (positions meaningless where not found)."""
        if "id_order" not in self._cache:
            self._cache["id_order"] = np.argsort(self.ids, kind="stable")
        pos = sorted_positions(self.ids, ids, sorter=self._cache["id_order"])
        return np.maximum(pos, 0), pos >= 0

    def _all_new_ids(self, ids: np.ndarray) -> bool:
        """No item carries any of ``ids``; ids above every existing one (the usual case: fresh
        ids from a counter) need no lookup."""
        if self.num_items == 0 or ids.size == 0 or ids.min() > self.ids.max():
            return True
        return not self._lookup_ids(ids)[1].any()

    def degree(self, weighted: bool = False) -> np.ndarray:
        """Row sums of the adjacency matrix (``A @ 1``); a self-loop counts once."""
        if weighted:
            return np.bincount(self.entry_rows, weights=self.weight, minlength=self.num_nodes)
        return np.diff(self.indptr).astype(np.float64)

    def neighbors(self, node: int) -> np.ndarray:
        """The nodes that ``node`` (one of ``0 .. num_nodes - 1``) has an edge to, sorted."""
        n, node = self.num_nodes, scalar_item(node)
        if not _is_integer(node) or not 0 <= node < n:
            raise InvalidParameterError(f"node must be an integer in 0..{n - 1}, got {node!r}" if n
                                        else f"this structure has no nodes, got node={node!r}")
        return self.indices[self.indptr[node] : self.indptr[node + 1]]

    def connected_components(self) -> tuple[int, np.ndarray]:
        """``(count, labels)``; weak components for directed structures."""
        from scipy.sparse.csgraph import connected_components

        return connected_components(self.to_scipy(), directed=not self.is_undirected,
                                    connection="weak")

    def positions(self, ids: Any) -> np.ndarray:
        """Positions in the item arrays of the given item ids (error if one is absent)."""
        ids = _as_int64("ids", ids)
        pos, found = self._lookup_ids(ids)
        if not np.all(found):
            raise KeyError(f"ids not in this structure: {ids[~found][:5].tolist()}")
        return pos

    # ----------------------------------------------------------------- masking and edits
    def subgraph(self, mask: Any) -> SparseStructure:
        """The structure with only the items where ``mask`` is true; ids and weights are kept.

        ``mask`` is a boolean array aligned with :attr:`ids` (one entry per item). ``O(nnz)``.
        """
        mask = np.asarray(mask)
        if mask.dtype != bool:
            raise TypeError(f"mask must be a boolean array, got dtype {mask.dtype}")
        if mask.shape != (self.num_items,):
            raise ValueError(
                f"mask must have shape ({self.num_items},) (one entry per item), got {mask.shape}"
            )
        return self._masked(mask)

    def _masked(self, keep: np.ndarray) -> SparseStructure:
        entry_keep = keep[self.entry_item]
        new_item = np.cumsum(keep) - 1
        kept_before = np.concatenate([[0], np.cumsum(entry_keep)])
        return SparseStructure._assemble(
            self.rows[keep], self.cols[keep], self.weights[keep], self.ids[keep],
            kept_before[self.indptr], self.indices[entry_keep],
            new_item[self.entry_item[entry_keep]],
            num_nodes=self.num_nodes, undirected=self.is_undirected, weighted=self.is_weighted,
        )

    def find_items(self, rows: Any, cols: Any) -> np.ndarray:
        """Positions in the item arrays of the edges ``(rows[i], cols[i])``, -1 where absent
        (a node outside ``0..num_nodes-1`` has no edge).

        For undirected structures the orientation does not matter.
        """
        r, c = _as_int64("rows", rows), _as_int64("cols", cols)
        try:
            r, c = np.broadcast_arrays(r, c)
        except ValueError:  # numpy's "arg 0 with shape (3,)" named neither
            raise InvalidParameterError(f"rows and cols must have the same shape, got {r.shape} "
                                        f"and {c.shape}") from None
        n = self.num_nodes
        inside = (r >= 0) & (r < n) & (c >= 0) & (c < n)
        if not inside.all():
            out = np.full(r.shape, -1, dtype=np.int64)
            out[inside] = self.find_items(r[inside], c[inside])
            return out
        if self.is_undirected:
            return sorted_positions(self._item_keys(), undirected_pair_keys(r, c, n))
        return sorted_positions(self._item_keys(), r * max(n, 1) + c)

    def remove_items(self, ids: Any) -> SparseStructure:
        """A new structure without the items with these ids (``KeyError`` if one is absent).
        ``O(nnz)`` copies, no sorting."""
        keep = np.ones(self.num_items, dtype=bool)
        keep[self.positions(ids)] = False
        return self._masked(keep)

    def reweight_items(self, ids: Any, weights: Any) -> SparseStructure:
        """A new structure whose items ``ids`` carry new (positive, finite) ``weights``, one per
        id; an id given twice is refused (which of its weights would it take?)."""
        w = _as_weights("weights", weights, np.size(ids))
        pos = self.positions(ids)
        seen = np.zeros(self.num_items, dtype=bool)  # (np.unique sorts: 13x the cost on 1M ids)
        seen[pos] = True
        if np.count_nonzero(seen) != pos.size:
            twice = np.sort(pos)[np.flatnonzero(np.diff(np.sort(pos)) == 0)[0]]
            raise InvalidParameterError(f"ids must be distinct: id {int(self.ids[twice])} is "
                                        "given twice, with a weight each")
        new_w = np.array(self.weights)
        new_w[pos] = w
        return SparseStructure._assemble(
            self.rows, self.cols, new_w, self.ids, self.indptr, self.indices, self.entry_item,
            num_nodes=self.num_nodes, undirected=self.is_undirected,
            weighted=self.is_weighted or bool(np.any(w != 1.0)),
        )

    def add_items(self, rows: Any, cols: Any, weights: Any, ids: Any) -> SparseStructure:
        """A new structure with extra items; none may exist already, ids must be new.

        ``O(nnz + k log k)`` for k new items: both views are kept sorted by insertion, not by
        sorting again.
        """
        r = _as_index_array("rows", rows)
        c = _as_index_array("cols", cols, length=r.shape[0])
        w = _as_weights("weights", weights, r.shape[0])
        new_ids = _as_index_array("ids", ids, length=r.shape[0])
        n = self.num_nodes
        if r.size and max(r.max(), c.max()) >= n:
            raise ValueError(f"indices out of range: node {max(r.max(), c.max())} >= num_nodes {n}")
        if self.is_undirected:
            r, c = np.minimum(r, c), np.maximum(r, c)
        key = r * n + c
        order = np.argsort(key, kind="stable")
        r, c, w, new_ids, key = r[order], c[order], w[order], new_ids[order], key[order]
        if np.any(key[1:] == key[:-1]):
            raise ValueError("add_items got the same edge twice")
        if np.any(self.find_items(r, c) >= 0):
            raise ValueError("add_items got an edge that exists already")
        if np.unique(new_ids).size != new_ids.size or not self._all_new_ids(new_ids):
            raise ValueError("add_items got ids that are not new")
        item_pos = np.searchsorted(self._item_keys(), key)
        rows2 = np.insert(self.rows, item_pos, r)
        cols2 = np.insert(self.cols, item_pos, c)
        weights2 = np.insert(self.weights, item_pos, w)
        ids2 = np.insert(self.ids, item_pos, new_ids)
        new_item_index = item_pos + np.arange(r.shape[0])  # where np.insert put them
        # old item i moves up by the number of new items inserted at or before it
        old_item_index = np.arange(self.num_items) + np.cumsum(
            np.bincount(item_pos, minlength=self.num_items + 1))[: self.num_items]
        # CSR entries of the new items: both directions for undirected non-loops
        e_src, e_dst, e_item = r, c, new_item_index
        if self.is_undirected:
            off = r != c
            e_src = np.concatenate([r, c[off]])
            e_dst = np.concatenate([c, r[off]])
            e_item = np.concatenate([new_item_index, new_item_index[off]])
        e_order = np.argsort(e_src * n + e_dst, kind="stable")
        e_src, e_dst, e_item = e_src[e_order], e_dst[e_order], e_item[e_order]
        entry_pos = np.searchsorted(self.entry_rows * n + self.indices, e_src * n + e_dst)
        indices2 = np.insert(self.indices, entry_pos, e_dst)
        entry_item2 = np.insert(old_item_index[self.entry_item], entry_pos, e_item)
        indptr2 = self.indptr + np.concatenate([[0], np.cumsum(np.bincount(e_src, minlength=n))])
        out = SparseStructure._assemble(
            rows2, cols2, weights2, ids2, indptr2, indices2, entry_item2, num_nodes=n,
            undirected=self.is_undirected, weighted=self.is_weighted or bool(np.any(w != 1.0)),
        )
        out._cache["item_keys"] = np.insert(self._item_keys(), item_pos, key)
        return out

    # ----------------------------------------------------------------- conversions
    def to_scipy(self, format: str = "csr") -> sp.sparray:
        """The adjacency matrix (both directions for undirected edges)."""
        a = sp.csr_array(
            (np.array(self.weight), np.array(self.indices), np.array(self.indptr)),
            shape=(self.num_nodes, self.num_nodes),
        )
        return a.asformat(format)

    def to_edge_index(self, as_torch: bool = False, *, weight_dtype: Any = None
                      ) -> tuple[Any, Any]:
        """``(edge_index [2, nnz], edge_weight [nnz])`` with both directions of undirected edges
        (PyG's convention); :attr:`entry_ids` gives the item id of each column.

        ``as_torch``: torch tensors, ``edge_index`` int64 and ``edge_weight`` of ``weight_dtype``
        (default torch's default dtype, float32, as PyG's layers take it: float64 weights made a
        ``GCNConv``'s output float64 and the next layer refused it; ``torch.float64`` keeps the
        weights exactly). Without it, numpy arrays, the weights float64 unless ``weight_dtype``.

        Examples
        --------
        >>> import torch
        >>> s = as_structure(np.array([[0, 1], [1, 2]]), edge_weight=np.array([0.5, 2.0]))
        >>> ei, w = s.to_edge_index(as_torch=True)
        >>> ei.tolist(), w.tolist(), w.dtype
        ([[0, 1], [1, 2]], [0.5, 2.0], torch.float32)
        """
        ei = np.stack([np.array(self.entry_rows), np.array(self.indices)])
        w = np.array(self.weight)
        if as_torch:
            import torch

            dtype = _float_dtype(torch.get_default_dtype() if weight_dtype is None
                                 else weight_dtype)
            return torch.from_numpy(ei), torch.from_numpy(_weights_as(w, dtype))
        return ei, (w if weight_dtype is None else _weights_as(w, _float_dtype(weight_dtype)))

    def to_networkx(self) -> Any:
        """A networkx (Di)Graph with ``weight`` and ``id`` edge attributes."""
        import networkx as nx

        g = nx.Graph() if self.is_undirected else nx.DiGraph()
        g.add_nodes_from(range(self.num_nodes))
        g.add_edges_from(
            (int(u), int(v), {"weight": float(w), "id": int(i)})
            for u, v, w, i in zip(self.rows, self.cols, self.weights, self.ids, strict=True)
        )
        return g

    def laplacian(self) -> sp.csr_array:
        """The combinatorial Laplacian ``L = D - A`` (self-loops do not enter it)."""
        if not self.is_undirected:
            raise ValueError(
                "laplacian() needs an undirected structure; build one with "
                "as_structure(..., symmetrize='sum')"
            )
        a = self.to_scipy("coo")
        off = a.row != a.col
        a = sp.csr_array((a.data[off], (a.row[off], a.col[off])), shape=a.shape)
        deg = np.asarray(a.sum(axis=1)).ravel()
        return (sp.diags_array(deg) - a).tocsr()

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The item arrays and sizes as plain numpy arrays (``numpy.savez`` takes them);
        :meth:`from_arrays` rebuilds the same structure.

        Examples
        --------
        >>> s = as_structure(np.array([[0, 1], [1, 0]]))
        >>> SparseStructure.from_arrays(s.to_arrays()).equals(s)
        True
        """
        return {"rows": np.asarray(self.rows), "cols": np.asarray(self.cols),
                "weights": np.asarray(self.weights), "ids": np.asarray(self.ids),
                "meta": np.array([self.num_nodes, self.is_undirected, self.is_weighted],
                                 dtype=np.int64)}

    @classmethod
    def from_arrays(cls, arrays: Any) -> SparseStructure:
        """The structure :meth:`to_arrays` described."""
        num_nodes, undirected, weighted = (int(x) for x in arrays["meta"])
        return cls(np.asarray(arrays["rows"]), np.asarray(arrays["cols"]),
                   np.asarray(arrays["weights"]), np.asarray(arrays["ids"]),
                   num_nodes=num_nodes, undirected=bool(undirected), weighted=bool(weighted))

    def equals(self, other: Any) -> bool:
        """Same nodes, direction, items, ids and weights; False for anything that is no
        ``SparseStructure`` (as pandas' ``equals``; convert a graph with :func:`as_structure`)."""
        return (
            isinstance(other, SparseStructure)
            and self.num_nodes == other.num_nodes
            and self.is_undirected == other.is_undirected
            and np.array_equal(self.rows, other.rows)
            and np.array_equal(self.cols, other.cols)
            and np.array_equal(self.ids, other.ids)
            and np.array_equal(self.weights, other.weights)
        )


# --------------------------------------------------------------------- helpers
def _as_index_array(name: str, values: Any, length: int | None = None) -> np.ndarray:
    arr = _as_int64(name, check_1d(name, values), copy=True)
    if length is not None and arr.shape[0] != length:
        raise ValueError(f"{name} must have length {length}, got {arr.shape[0]}")
    if arr.size and arr.min() < 0:
        i = int(np.argmin(arr))
        raise ValueError(f"{name} must be non-negative, got {int(arr[i])} at position {i}")
    return arr


def _as_int64(name: str, values: Any, *, copy: bool = False) -> np.ndarray:
    """Integers of any shape as int64 (a new array with ``copy``); floats only where they are
    whole (1.7 is refused, where a cast would read it as 1 and answer for another edge)."""
    arr = np.asarray(values)
    if arr.size and not np.issubdtype(arr.dtype, np.integer) and not (
            np.issubdtype(arr.dtype, np.floating) and np.all(np.mod(arr, 1) == 0)):
        raise TypeError(f"{name} must hold integers, got dtype {arr.dtype}")
    return arr.astype(np.int64, copy=copy)


def _as_weights(name: str, values: Any, length: int) -> np.ndarray:
    """Positive finite weights, one per entry, as a new float64 array. Complex ones are refused:
    numpy would drop their imaginary parts (``1j`` read as a weight of 0)."""
    w = check_1d(name, values, length=length)
    if np.iscomplexobj(w):
        raise InvalidParameterError(f"{name} must be real numbers, got dtype {w.dtype}")
    try:
        w = w.astype(np.float64)  # a new array: never the caller's
    except (TypeError, ValueError) as err:
        raise InvalidParameterError(f"{name} must be real numbers ({err})") from None
    check_finite_positive(name, w)
    return w


def _check_undirected(undirected: Any) -> None:
    """``undirected`` is True, False or None: a string such as ``"no"`` would read as True."""
    if not (undirected is None or isinstance(undirected, (bool, np.bool_))):
        raise InvalidParameterError(f"undirected must be True, False or None, got {undirected!r}")


def _checked_num_nodes(num_nodes: Any) -> int:
    """``num_nodes`` given: an integer >= 0 (a 0-d array or tensor of one: ``edge_index.max()
    + 1``), refused otherwise (``int()`` truncated 2.9 to 2 and read True as 1)."""
    num_nodes = scalar_item(num_nodes)
    if isinstance(num_nodes, (bool, np.bool_)) or not isinstance(num_nodes, (int, np.integer)):
        raise TypeError(f"num_nodes must be an integer, got {num_nodes!r}")
    if num_nodes < 0:
        raise ValueError(f"num_nodes must be >= 0, got {int(num_nodes)}")
    return int(num_nodes)


def _infer_num_nodes(num_nodes: int | None, row: np.ndarray, col: np.ndarray) -> int:
    top = int(max(row.max(initial=-1), col.max(initial=-1))) + 1
    if num_nodes is None:
        return top
    num_nodes = _checked_num_nodes(num_nodes)
    if num_nodes < top:
        raise ValueError(
            f"indices out of range: node {top - 1} appears but num_nodes is {int(num_nodes)}"
        )
    return int(num_nodes)


def _coalesce(row, col, w, ids, n, duplicates):
    """Merge repeated (row, col) entries (weights summed) or reject them."""
    key = row * n + col
    order = np.argsort(key, kind="stable")
    skey = key[order]
    dup = np.flatnonzero(skey[1:] == skey[:-1])
    if dup.size == 0:
        return row, col, w, ids
    if duplicates == "error":
        k = int(skey[dup[0]])
        raise ValueError(
            f"duplicate edge ({k // n}, {k % n}); pass duplicates='sum' to add their weights"
        )
    if ids is not None:
        raise ValueError("duplicate edges cannot be summed when ids are given (ids would clash)")
    uniq, start = np.unique(skey, return_index=True)
    wsum = np.add.reduceat(w[order], start)
    return uniq // n, uniq % n, wsum, None


def _mirror_mismatches(row, col, w, ids, n) -> np.ndarray:
    """Indices of the entries whose mirror is missing or differs (none when symmetric)."""
    key = row * n + col
    mkey = col * n + row
    if key.shape[0] == 0:
        return np.zeros(0, dtype=np.int64)
    found = sorted_positions(key, mkey, sorter=np.argsort(key))
    ok = found >= 0
    mate = np.maximum(found, 0)
    ok &= np.isclose(w[mate], w, rtol=1e-12, atol=0.0)
    if ids is not None:
        ok &= ids[mate] == ids
    return np.flatnonzero(~ok)


def _mirror_mismatch(row, col, w, ids, n) -> int | None:
    """Index of the first entry whose mirror is missing or differs; None when symmetric."""
    bad = _mirror_mismatches(row, col, w, ids, n)
    return int(bad[0]) if bad.size else None


#: where at most this share of the entries lack a mirror, a graph read as directed is warned of
_NEARLY_SYMMETRIC = 0.05


def _is_symmetric(row, col, w, ids, n) -> bool:
    """Whether every entry has its mirror; a graph where nearly all have (an undirected graph
    with a one-way column or two) is read as directed with a warning that says how not to."""
    bad = _mirror_mismatches(row, col, w, ids, n)
    if bad.size:
        warn_if_nearly_symmetric(bad.size, row.shape[0], (int(row[bad[0]]), int(col[bad[0]])),
                                 "of the same weight")
    return bad.size == 0


def warn_if_nearly_symmetric(unmirrored: int, entries: int, example: tuple[int, int],
                             mirror: str = "", advice: str | None = None) -> None:
    """Warn that a graph is read as directed where only ``unmirrored`` of its ``entries`` (at
    most :data:`_NEARLY_SYMMETRIC` of them; ``example`` one) lack a ``mirror``: most likely an
    undirected graph with a one-way column, whose pairs a pruner would then split. ``advice``
    says how to read it otherwise (by default, with :func:`as_structure`'s options). The warning
    names the caller's line, not one of this library's (nor PyG's or scikit-learn's, which
    call a transform or an estimator for the user).

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warn_if_nearly_symmetric(1, 81, (0, 20))  # 1 of 81: warned
    ...     warn_if_nearly_symmetric(30, 81, (0, 20))  # many one-way: a directed graph
    >>> [str(w.message)[:55] for w in caught]
    ['the graph is read as directed: 1 of its 81 entries has ']
    """
    if not 0 < unmirrored <= _NEARLY_SYMMETRIC * entries:
        return
    verb = "has" if unmirrored == 1 else "have"
    warnings.warn(f"the graph is read as directed: {unmirrored} of its {entries} entries {verb} "
                  f"no mirror{' ' + mirror if mirror else ''} ({example} for one), all the others "
                  "do; " + (advice or "read it with as_structure(graph, undirected=True, "
                            "symmetrize='max') to make it undirected, or undirected=False to keep "
                            "it directed without this warning (a method fits the structure either "
                            "returns)"),
                  stacklevel=caller_level())


def _require_symmetric(row, col, w, ids, n) -> None:
    i = _mirror_mismatch(row, col, w, ids, n)
    if i is not None:
        raise ValueError(
            f"undirected=True but the input is not symmetric: entry ({int(row[i])}, {int(col[i])}) "
            f"has no mirror with the same weight{' and id' if ids is not None else ''}; pass "
            "symmetrize='max' (edge lists with one direction) or 'sum' (A + A^T)"
        )


def _symmetrize(row, col, w, n, how):
    lo, hi = np.minimum(row, col), np.maximum(row, col)
    key = lo * n + hi
    uniq, inv = np.unique(key, return_inverse=True)
    if how == "sum":
        # A + A^T: an off-diagonal entry appears in both halves; the diagonal doubles.
        wsum = np.bincount(inv, weights=w, minlength=uniq.shape[0]).astype(np.float64)  # int if empty
        diag = uniq // n == uniq % n
        wsum[diag] *= 2.0
        out = wsum
    else:
        out = np.zeros(uniq.shape[0])
        np.maximum.at(out, inv, w)
    return uniq // n, uniq % n, out


# --------------------------------------------------------------------- as_structure
def _structure_self_loops(s: SparseStructure, self_loops: SelfLoops) -> SparseStructure:
    """``s`` under the ``self_loops`` option of :meth:`SparseStructure.from_edges`."""
    check_choice("self_loops", self_loops, ("keep", "drop", "error"))
    if self_loops == "keep":
        return s
    loops = s.rows == s.cols
    if not loops.any():
        return s
    if self_loops == "error":
        i = int(np.flatnonzero(loops)[0])
        raise ValueError(f"self_loops='error' but item {i} is a self-loop on node {int(s.rows[i])}")
    return s.subgraph(~loops)


def require_undirected(structure: SparseStructure, who: str) -> None:
    """Refuse a directed ``structure`` for ``who`` (a method of undirected graphs), saying how to
    read the graph as undirected.

    Examples
    --------
    >>> import numpy as np
    >>> require_undirected(as_structure(np.array([[0, 1], [1, 0]])), "FeGrassSparsifier")
    """
    if structure.is_undirected:
        return
    read = ("read it as undirected: nx.Graph(graph) for a networkx DiGraph, as_structure(graph, "
            "undirected=True, symmetrize='max') for a matrix or edge_index that holds each edge "
            "in one direction")
    row, col, n = structure.rows, structure.cols, structure.num_nodes
    i = _mirror_mismatch(row, col, structure.weights, None, n)
    if i is None or _mirror_mismatch(row, col, np.ones(row.shape[0]), None, n) is not None:
        raise InvalidParameterError(f"{who} needs an undirected graph, and this one is "
                                    f"directed; {read}")
    # every edge both ways, of other weights: symmetrize='max' would hide a repeated column
    u, v = int(row[i]), int(col[i])
    back = int(np.flatnonzero((row == v) & (col == u))[0])
    raise InvalidParameterError(
        f"{who} needs an undirected graph, and this one is directed: it lists edge ({u}, {v}) "
        f"both ways, with weight {structure.weights[i]:g} one way and "
        f"{structure.weights[back]:g} the other (an edge_index column listed twice, for one, is "
        f"summed: as_structure(graph, duplicates='error') names it). Give each direction once "
        f"with one weight, or {read}")


def as_structure(
    x: Any,
    *,
    undirected: bool | None = None,
    edge_weight: Any = None,
    num_nodes: int | None = None,
    ids: Any = None,
    symmetrize: Symmetrize = None,
    duplicates: Duplicates = "sum",
    self_loops: SelfLoops = "keep",
    name: str = "x",
) -> SparseStructure:
    """Turn a graph in any common form into a :class:`SparseStructure`.

    Accepts a ``[2, E]`` integer edge_index (numpy or torch), a PyG ``Data`` (its
    ``edge_index``, ``num_nodes`` and ``edge_weight`` when it has one), any scipy sparse matrix
    or array (an entry stored as 0 is no edge: a weight must be positive), a networkx graph, a
    torch sparse tensor, a dense square adjacency (numpy or torch), or a
    :class:`SparseStructure` (returned as is, less its self-loops under ``self_loops="drop"``;
    an option that would change it is refused). The input is never modified.

    An integer array with two rows is always an edge_index, as in PyG, so a 2 x 2 integer
    adjacency reads as two edges: give a 2-node adjacency as floats, bools or a scipy matrix.

    Parameters
    ----------
    x : graph-like
    undirected : bool, optional
        ``None`` detects it (networkx: the graph's kind; otherwise symmetric entries).
    edge_weight : array_like, optional
        Weights for an edge_index (one per column); a matrix or a networkx graph carries its own
        and refuses it.
    num_nodes : int, optional
        For an edge_index; defaults to the largest index + 1 (a PyG ``EdgeIndex``: its sparse
        size, when it has one). A matrix or a networkx graph has its own and refuses another.
    ids, symmetrize, duplicates, self_loops
        See :meth:`SparseStructure.from_edges`. A networkx graph whose edges all carry an integer
        ``id`` attribute (as :meth:`SparseStructure.to_networkx` writes them) keeps those ids.
    name : str
        What the caller calls ``x``, for the error when ``x`` is no graph.

    Examples
    --------
    >>> import numpy as np
    >>> s = as_structure(np.array([[0, 1, 1, 2], [1, 0, 2, 1]]))
    >>> s.num_edges, s.is_undirected
    (2, True)
    """
    _check_undirected(undirected)
    opts = dict(ids=ids, symmetrize=symmetrize, duplicates=duplicates, self_loops=self_loops)
    if isinstance(x, SparseStructure):
        given = {"undirected": undirected is not None and undirected != x.is_undirected,
                 "edge_weight": edge_weight is not None,
                 "num_nodes": num_nodes is not None and num_nodes != x.num_nodes,
                 "ids": ids is not None, "symmetrize": symmetrize is not None}
        if any(given.values()):
            names = ", ".join(name for name, on in given.items() if on)
            raise ValueError(f"as_structure takes a SparseStructure as it is: {names} would "
                             "change it; build a new one with SparseStructure.from_edges")
        return _structure_self_loops(x, self_loops)
    if is_networkx_graph(x):
        _matrix_options("networkx graph", x.number_of_nodes(), edge_weight, num_nodes)
        return _from_networkx(x, undirected=undirected, **opts)
    if is_pyg_data(x):
        edge_index = pyg_edge_index(x)
        weight = getattr(x, "edge_weight", None)  # PyG's name for one weight per edge
        if edge_weight is None and weight is not None:  # its errors name it as the user knows it
            edge_weight = _as_weights("data.edge_weight", _from_torch(weight, "data.edge_weight"),
                                      np.shape(edge_index)[1])
        elif edge_weight is None:
            _warn_of_unread_weights(x, np.shape(edge_index)[1])
        return as_structure(edge_index, undirected=undirected, edge_weight=edge_weight,
                            num_nodes=num_nodes if num_nodes is not None else x.num_nodes, **opts)
    if num_nodes is None and _from_package(x, "torch_geometric") and hasattr(x, "sparse_size"):
        # a PyG EdgeIndex knows its node count, isolated trailing nodes included (as Data reads it)
        rows, cols = x.sparse_size(0), x.sparse_size(1)
        if rows is not None and cols is not None and rows != cols:  # bipartite: no one node set
            raise ValueError(f"an EdgeIndex of sparse size ({rows}, {cols}) joins two node sets; "
                             "a graph here has one (pass num_nodes to read it as one)")
        num_nodes = rows if rows is not None else cols
    if _is_pyg_dataset(x):  # PyG's own error: "'KarateClub' object has no attribute 'num_nodes'"
        try:
            size = counted(len(x), "graph")
        except (TypeError, NotImplementedError):  # a dataset without len(): still refused
            size = "graphs"
        raise InvalidParameterError(f"{name} is a PyG dataset ({type(x).__name__}, {size}), not "
                                    "a graph: pass one of its graphs (dataset[i])")
    if _from_package(x, "torch_geometric") and _is_data_loader(x):  # was "has no edge_index"
        raise InvalidParameterError(f"{name} is a PyG {type(x).__name__} (batches of graphs), not "
                                    "a graph: pass one of its batches (for batch in loader: ...) "
                                    "or a graph it loads from")
    x = _from_torch(x)
    if edge_weight is not None:
        edge_weight = _from_torch(edge_weight, "edge_weight")
    if sp.issparse(x):
        if x.ndim != 2 or x.shape[0] != x.shape[1]:
            raise ValueError(f"adjacency matrix must be square, got shape {x.shape}")
        _matrix_options("matrix", x.shape[0], edge_weight, num_nodes)
        _check_real_matrix(x.dtype)
        coo = sp.coo_array(x)
        if duplicates == "sum":
            coo.sum_duplicates()
        keep = coo.data != 0  # explicit zeros are not edges
        if duplicates == "error":  # named as the repeated entry, not by a part (1 of 1 and -1)
            listed = keep & (coo.row != coo.col) if self_loops == "drop" else keep
            _coalesce(coo.row[listed].astype(np.int64), coo.col[listed].astype(np.int64), None, None,
                      x.shape[0], "error")
        rows, cols, values = coo.row[keep], coo.col[keep], coo.data[keep]
        _check_matrix_weights(rows, cols, values)
        return SparseStructure.from_edges(rows, cols, values, num_nodes=x.shape[0],
                                          undirected=undirected, **opts)
    try:
        arr = np.asarray(x)
    except ValueError:  # numpy's "inhomogeneous shape" named nothing
        raise InvalidParameterError(_not_one_array(name, x)) from None
    if arr.ndim == 2 and arr.shape[0] == 2 and np.issubdtype(arr.dtype, np.integer):
        if edge_weight is not None:  # (from_edges would name it weight)
            edge_weight = _as_weights("edge_weight", edge_weight, arr.shape[1])
        return SparseStructure.from_edges(
            arr[0], arr[1], edge_weight, num_nodes=num_nodes, undirected=undirected, **opts
        )
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1]:
        # a file name or None read as "an array of shape () and dtype <U9", and a list of
        # (source, target) pairs (np.array(g.edges())) got no word on what to do
        if isinstance(x, (str, bytes, os.PathLike)):
            raise InvalidParameterError(f"{name} must be a graph, not a file name, got {x!r}: read the "
                                        "file with sparsebox.data.load_graph")
        got = (f"an array of shape {arr.shape} and dtype {arr.dtype}" if arr.ndim else
               repr(x) if len(repr(x)) <= 40 else f"a {type(x).__name__}")
        pairs = arr.ndim == 2 and arr.shape[1] == 2 and np.issubdtype(arr.dtype, np.integer)
        hint = "; a list of (source, target) pairs: pass its transpose" if pairs else ""
        raise InvalidParameterError(
            f"{name} must be a [2, E] integer edge_index or a square adjacency matrix, got {got}"
            f"{hint}")
    _matrix_options("matrix", arr.shape[0], edge_weight, num_nodes)
    _check_real_matrix(arr.dtype)
    arr = _numeric_matrix(arr)
    r, c = np.nonzero(arr)
    values = arr[r, c]
    _check_matrix_weights(r, c, values)
    return SparseStructure.from_edges(
        r, c, values.astype(np.float64), num_nodes=arr.shape[0], undirected=undirected, **opts
    )


def _not_one_array(name: str, x: Any) -> str:
    """Why ``x``, which numpy does not read as one array, is no graph: an ``(edge_index,
    edge_weight)`` pair, a list of PyG graphs, or rows of different lengths."""
    parts = list(x) if isinstance(x, (tuple, list)) else []
    if parts and all(is_pyg_data(p) for p in parts):
        return (f"{name} must be one graph, got a {type(x).__name__} of "
                f"{counted(len(parts), 'PyG graph')}: pass one of them, or "
                "Batch.from_data_list(graphs) for their disjoint union")

    def ndim(value: Any) -> int:
        try:
            return np.ndim(value)
        except (AttributeError, TypeError, ValueError):  # (ragged, or no array at all)
            return -1

    if len(parts) == 2 and ndim(parts[0]) == 2 and ndim(parts[1]) == 1:
        return (f"{name} must be one graph, got a pair: an (edge_index, edge_weight) pair, as "
                "to_edge_index gives it, goes in as a PyG Data(edge_index=..., edge_weight=...) "
                "or as_structure(edge_index, edge_weight=...)")
    return (f"{name} must be a [2, E] integer edge_index or a square adjacency matrix, got a "
            f"{type(x).__name__} that is no array (its rows differ in length or kind)")


def is_networkx_graph(x: Any) -> bool:
    """Whether ``x`` is a networkx graph (of any of its classes, or a user's subclass of one).

    Examples
    --------
    >>> import networkx as nx
    >>> class Roads(nx.Graph):
    ...     pass
    >>> is_networkx_graph(nx.path_graph(3)), is_networkx_graph(Roads()), is_networkx_graph([(0, 1)])
    (True, True, False)
    """
    return _from_package(x, "networkx")


def is_pyg_data(x: Any) -> bool:
    """Whether ``x`` is a PyG data object (``Data``, ``HeteroData``, a ``Batch``), not a PyG
    tensor such as ``EdgeIndex`` (an edge_index itself).

    Examples
    --------
    >>> import torch
    >>> from torch_geometric import EdgeIndex
    >>> from torch_geometric.data import Data
    >>> ei = torch.tensor([[0, 1], [1, 0]])
    >>> is_pyg_data(Data(edge_index=ei)), is_pyg_data(EdgeIndex(ei)), is_pyg_data(ei)
    (True, False, False)
    """
    if not _from_package(x, "torch_geometric") or _is_pyg_dataset(x) or _is_data_loader(x):
        return False  # (a Batch, made at run time, is one)
    torch = sys.modules.get("torch")
    return torch is None or not isinstance(x, torch.Tensor)


def _float_dtype(dtype: Any) -> np.dtype:
    """A floating dtype given as numpy's or torch's (``torch.float32``), as numpy's; anything
    else refused naming ``weight_dtype`` (an integer one cut 0.5 to 0)."""
    name = str(dtype).removeprefix("torch.") if _from_package(dtype, "torch") else dtype
    try:
        out = np.dtype(name)
    except TypeError:
        out = None
    if out is None or out.kind != "f":
        raise InvalidParameterError(f"weight_dtype must be a floating dtype (torch.float32, "
                                    f"numpy.float64, ...), got {dtype!r}")
    return out


def _weights_as(w: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """The weights ``w`` as ``dtype``, refused where one does not fit in it: a finite weight
    would become inf (1e39 in float32), or a nonzero one 0 (an edge of weight 0)."""
    out = w.astype(dtype)
    lost = (np.isfinite(w) & ~np.isfinite(out)) | ((w != 0) & (out == 0))
    if lost.any():
        raise InvalidParameterError(
            f"edge weight {float(w[lost][0])!r} does not fit in {dtype} (it would be "
            f"{float(out[lost][0])!r}); pass weight_dtype=torch.float64 (or numpy.float64), or "
            "rescale the weights")
    return out


def _is_pyg_dataset(x: Any) -> bool:
    """Whether ``x`` is a PyG dataset (graphs, not a graph: ``dataset[0]`` is one)."""
    if not _from_package(x, "torch_geometric"):
        return False
    from torch_geometric.data import Dataset

    return isinstance(x, Dataset)


def _is_data_loader(x: Any) -> bool:
    """Whether ``x`` is a torch DataLoader (PyG's loaders are ones)."""
    from torch.utils.data import DataLoader

    return isinstance(x, DataLoader)


def pyg_edge_index(data: Any) -> Any:
    """The ``edge_index`` of a PyG ``Data``, refused with a message that says what is wrong when
    there is none (``ToSparseTensor`` replaces it by ``adj_t``), it does not hold integers or it
    is not of shape ``[2, E]``.

    Examples
    --------
    >>> import torch
    >>> from torch_geometric.data import Data
    >>> pyg_edge_index(Data(edge_index=torch.tensor([[0], [1]]))).tolist()
    [[0], [1]]
    >>> pyg_edge_index(Data(edge_index=torch.tensor([[0.0], [1.0]])))
    Traceback (most recent call last):
    ...
    ValueError: data.edge_index must hold integers (PyG's is torch.long), got torch.float32
    """
    edge_index = getattr(data, "edge_index", None)
    if edge_index is None:
        kind = type(data).__name__
        hint = ("; it has adj_t (ToSparseTensor drops edge_index: give it "
                "remove_edge_index=False, or prune before it)"
                if getattr(data, "adj_t", None) is not None
                else "; a heterogeneous graph holds one per edge type: give one type's graph, "
                "or data.to_homogeneous()" if kind == "HeteroData" else "")
        raise ValueError(f"this PyG {kind} has no edge_index{hint}")
    import torch  # PyG needs it

    if isinstance(edge_index, torch.Tensor):
        integers = not (edge_index.is_floating_point() or edge_index.is_complex()
                        or edge_index.dtype == torch.bool)
    else:  # a numpy array (or a list) set by hand: its floats were truncated (an empty list
        array = np.asarray(edge_index)  # is read as floats)
        integers = array.dtype.kind in "iu" or array.size == 0
    if not integers:
        raise ValueError(f"data.edge_index must hold integers (PyG's is torch.long), got "
                         f"{getattr(edge_index, 'dtype', type(edge_index).__name__)}")
    shape = list(np.shape(edge_index))
    if len(shape) != 2 or shape[0] != 2:  # (as_structure named it x, the name of data's features)
        hint = "; a list of (source, target) pairs: data.edge_index.t()" if shape[-1:] == [2] else ""
        raise ValueError(f"data.edge_index must have shape [2, E] (a row of sources, a row of "
                         f"targets), got {shape}{hint}")
    return edge_index


def _from_package(x: Any, package: str) -> bool:
    """Whether ``x``'s class, or a class it derives from, comes from ``package`` (a PyG ``Batch``
    is of a class made at run time, a user's graph may subclass ``networkx.Graph``)."""
    return any(c.__module__.split(".")[0] == package for c in type(x).__mro__)


def _warn_of_unread_weights(data: Any, num_edges: int) -> None:
    """Warn where a PyG ``data`` without ``edge_weight`` holds one ``weight`` per edge:
    ``torch_geometric.utils.from_networkx`` writes a networkx graph's weights so, and a graph
    read as unweighted from it changed without a word."""
    value = getattr(data, "weight", None)  # (edge_attr holds features: ZINC's bond types)
    if value is not None and tuple(np.shape(value)) in ((num_edges,), (num_edges, 1)):
        warnings.warn("as_structure reads a PyG Data's weights from edge_weight, which this one "
                      "lacks: its weight (one value per edge, as from_networkx writes a graph's "
                      "weights) is not read, and every edge weighs 1; set data.edge_weight = "
                      "data.weight.view(-1) to use it", UserWarning, stacklevel=caller_level())


def _matrix_options(kind: str, n: int, edge_weight: Any, num_nodes: int | None) -> None:
    """Refuse the options that only an edge_index takes, rather than ignore them: a matrix or a
    networkx graph carries its own weights and node count."""
    if edge_weight is not None:
        raise ValueError(f"edge_weight is only for an edge_index; a {kind} carries its weights")
    if num_nodes is not None and num_nodes != n:
        raise ValueError(f"num_nodes is only for an edge_index; this {kind} has {n} nodes, "
                         f"got num_nodes={num_nodes!r}")


def _check_real_matrix(dtype: Any) -> None:
    """Refuse a complex adjacency, rather than read ``1j`` as a weight of 0 (numpy's cast)."""
    if np.issubdtype(dtype, np.complexfloating):
        raise InvalidParameterError(f"adjacency matrix must hold real weights, got dtype {dtype}")


def _numeric_matrix(arr: np.ndarray) -> np.ndarray:
    """A dense adjacency as numbers: an object array of numbers as float64; strings (a matrix read
    as text) and other non-numbers are refused, rather than read by truthiness (``"0"`` is a
    non-empty string, so it was an edge) or failing inside numpy's cast."""
    if arr.dtype.kind in "biufc":
        return arr
    if arr.dtype.kind == "O" and all(isinstance(v, numbers.Real) for v in arr.flat):
        return arr.astype(np.float64)  # (not a string of digits, as a matrix of strings is not)
    raise InvalidParameterError(f"adjacency matrix must hold numbers, got dtype {arr.dtype}"
                                + (" with entries that are not numbers" if arr.dtype.kind == "O"
                                   else ""))


def _check_matrix_weights(rows: np.ndarray, cols: np.ndarray, values: np.ndarray) -> None:
    """Refuse a nonzero entry that is no edge weight (a negative one of a Laplacian or a signed
    matrix, a NaN), named by its row and column: "weight must be positive ... at position 0" named
    a place among the nonzeros and a parameter the caller never gave."""
    try:
        values = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):  # from_edges says what they are
        return
    with np.errstate(invalid="ignore"):
        bad = ~(np.isfinite(values) & (values > 0))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        what = ("finite" if not np.isfinite(values[i]) else
                "positive (a Laplacian or a signed matrix is no adjacency)")
        raise InvalidParameterError(
            f"adjacency matrix entry ({int(rows[i])}, {int(cols[i])}): an edge's weight must be "
            f"{what}, got {float(values[i])}")


def _from_torch(x: Any, name: str = "adjacency matrix") -> Any:
    """A torch tensor as numpy (dense) or scipy (sparse layouts); anything else unchanged.
    ``name`` is what a refused sparse tensor is called (a matrix unless said otherwise)."""
    if not type(x).__module__.startswith("torch"):
        return x
    import torch

    if not isinstance(x, torch.Tensor):
        return x
    if x.dtype == torch.bfloat16:  # numpy has no bfloat16; float32 holds it exactly
        x = x.float()
    if x.layout == torch.strided:
        return x.detach().cpu().numpy()
    if name != "adjacency matrix":
        raise ValueError(f"{name} must be a dense tensor, got a sparse one of shape "
                         f"{tuple(x.shape)}")
    if x.dim() != 2 or x.dense_dim() != 0:  # a batch of matrices, or channels per entry
        raise ValueError(f"adjacency matrix must be square, got a sparse tensor of shape "
                         f"{tuple(x.shape)} ({x.dense_dim()} of them dense); give one N x N "
                         "matrix with one value per entry")
    coo = x.detach().cpu()
    coo = coo if coo.layout == torch.sparse_coo else coo.to_sparse_coo()
    # not coalesced: repeated entries reach the matrix path, which sums or refuses them as the
    # caller's `duplicates` says (coalescing summed them, and cancelled 1 and -1, unseen)
    idx = coo._indices().numpy()
    return sp.coo_array((coo._values().numpy(), (idx[0], idx[1])), shape=tuple(coo.shape))


def _networkx_weights(edges: list) -> np.ndarray:
    """The ``weight`` attribute of each edge (1.0 where it has none); an edge whose weight is no
    finite number > 0 is named by its nodes (numpy's "could not convert string to float: 'a'"
    named nothing, and a weight of 0 was "at position 3" of a list the caller never saw)."""
    try:
        w = np.fromiter((d.get("weight", 1.0) for _, _, d in edges), dtype=np.float64,
                        count=len(edges))
        if np.all(np.isfinite(w) & (w > 0)):
            return w
    except (TypeError, ValueError, OverflowError):  # (an int past float64: 10**400)
        pass
    w = np.empty(len(edges))
    for i, (u, v, d) in enumerate(edges):
        x = d.get("weight", 1.0)
        try:
            w[i] = float(x)
        except (TypeError, ValueError, OverflowError):
            w[i] = np.nan
        if not (np.isfinite(w[i]) and w[i] > 0):
            got = (f"a{' negative' if x < 0 else 'n'} integer of {x.bit_length()} bits" if
                   isinstance(x, int) and x.bit_length() > 1024 else repr(x))  # (past float64)
            raise InvalidParameterError(f"networkx graph edge ({u!r}, {v!r}): weight must be a "
                                        f"finite number > 0, got {got}")
    return w


def _from_networkx(g, *, undirected, ids, symmetrize, duplicates, self_loops) -> SparseStructure:
    if g.is_multigraph():
        raise ValueError("multigraphs are not supported; collapse parallel edges first")
    nodes = list(g.nodes())  # any order: a node's label is its id
    if not (all(isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_))
                for x in nodes) and set(nodes) == set(range(len(nodes)))):
        raise ValueError(
            "networkx graph nodes must be the integers 0..n-1; relabel with "
            "networkx.convert_node_labels_to_integers(g) first"
        )
    edges = list(g.edges(data=True))
    r = np.fromiter((u for u, _, _ in edges), dtype=np.int64, count=len(edges))
    c = np.fromiter((v for _, v, _ in edges), dtype=np.int64, count=len(edges))
    weighted = any("weight" in d for _, _, d in edges)
    w = _networkx_weights(edges) if weighted else None
    # sparsebox's own ids, as to_networkx writes them; other "id" attributes (GraphML's "e0", ...)
    # are not item ids
    has_ids = bool(edges) and all(isinstance(d.get("id"), (int, np.integer))
                                  and not isinstance(d["id"], (bool, np.bool_)) for _, _, d in edges)
    if ids is not None:  # one per edge as networkx lists them, checked before the mirroring below
        ids = _as_index_array("ids", ids, length=len(edges))
    if ids is None and has_ids and symmetrize is None:  # symmetrize merges entries: new ids
        ids = np.fromiter((d["id"] for _, _, d in edges), dtype=np.int64, count=len(edges))
    nx_undirected = not g.is_directed()
    if undirected is not None and undirected != nx_undirected and symmetrize is None:
        raise ValueError(
            f"undirected={undirected} but the networkx graph is "
            f"{'undirected' if nx_undirected else 'directed'}"
        )
    if nx_undirected:
        # networkx lists each undirected edge once: store both directions, the graph's symmetric
        # adjacency A, so that symmetrize="sum" doubles every edge (A + A^T), self-loops too
        off = r != c
        r, c = np.concatenate([r, c[off]]), np.concatenate([c, r[off]])
        w = None if w is None else np.concatenate([w, w[off]])
        ids = None if ids is None else np.concatenate([ids, np.asarray(ids)[off]])
        if symmetrize is None:
            return SparseStructure.from_edges(r, c, w, num_nodes=len(nodes), undirected=True,
                                              ids=ids, duplicates=duplicates, self_loops=self_loops)
    return SparseStructure.from_edges(r, c, w, num_nodes=len(nodes),
                                      undirected=symmetrize is not None,  # a DiGraph is directed
                                      ids=ids, symmetrize=symmetrize, duplicates=duplicates,
                                      self_loops=self_loops)
