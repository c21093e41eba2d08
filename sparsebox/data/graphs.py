"""Graph file readers (METIS, Matrix Market, edge lists) and name-or-path loading."""

from __future__ import annotations

import bz2
import functools
import gzip
import math
import os
import pickle
import re
import warnings
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import scipy.io
import scipy.sparse as sp

from sparsebox._validation import plain_numerals, text_number
from sparsebox.data.root import data_root
from sparsebox.data.sources import DatasetInfo, catalogue, fetch, find_unshipped, get_dataset
from sparsebox.exceptions import InputFileError, InvalidParameterError
from sparsebox.outputs import counted
from sparsebox.structure import SparseStructure, as_structure

__all__ = ["read_metis", "read_matrix_market", "read_edge_list", "read_planetoid_graph",
           "load_graph", "write_graph", "check_graph_writable", "GraphFileError", "node_count_limit",
           "EDGE_LIST_COLUMNS", "READABLE_GRAPH_SUFFIXES", "COMPRESSION_SUFFIXES"]


class GraphFileError(InputFileError):
    """A graph file is malformed; the message names the file and the line."""


def _open_text(path: Path):
    """A text file, plain or compressed, as UTF-8 (a byte-order mark is dropped)."""
    if path.suffix.lower() == ".bz2":
        return bz2.open(path, "rt", encoding="utf-8-sig")
    if path.suffix.lower() == ".gz":
        return gzip.open(path, "rt", encoding="utf-8-sig")
    return open(path, encoding="utf-8-sig")


def _file_errors_named(reader: Callable[..., SparseStructure]) -> Callable[..., SparseStructure]:
    """A reader whose file that is not text, or compressed and damaged, is refused naming it
    (:func:`_read_graph_file`), called directly as through :func:`load_graph`: a bare
    UnicodeDecodeError or BadGzipFile had named no file."""
    @functools.wraps(reader)
    def read(path: str | os.PathLike[str], *args: Any, **kwargs: Any) -> SparseStructure:
        return _read_graph_file(Path(path), lambda p: reader(p, *args, **kwargs))
    return read


@_file_errors_named
def read_metis(path: str | os.PathLike[str]) -> SparseStructure:
    """Read a METIS graph file (plain, ``.bz2`` or ``.gz``) as an undirected structure.

    Header ``n m [fmt [ncon]]``; ``fmt`` is up to three digits ``abc``: ``a`` vertex sizes, ``b``
    vertex weights (``ncon`` of them, default 1), ``c`` edge weights. Then one line per vertex with
    its 1-based neighbours (each followed by its weight when ``c`` is 1). Lines starting with ``%``
    are comments. Vertex sizes and weights are read and checked, not kept.
    """
    path = Path(path)
    with _open_text(path) as fh:
        numbered = [(k, ln) for k, ln in enumerate(fh.read().splitlines(), start=1)
                    if not ln.startswith("%")]
    lines = [ln for _, ln in numbered]
    line_of = [k for k, _ in numbered[1:]]  # the file's line number of each vertex's line
    if not lines:
        raise GraphFileError(f"{path}: empty METIS file (no header line)")
    header = lines[0].split()
    try:
        n, m = text_number(header[0], int), text_number(header[1], int)
        fmt = header[2] if len(header) > 2 else "0"
        ncon = text_number(header[3], int) if len(header) > 3 else 1
    except (ValueError, IndexError):
        raise GraphFileError(f"{path}: bad METIS header {lines[0]!r} (want 'n m [fmt [ncon]]')") from None
    if len(fmt) > 3 or any(ch not in "01" for ch in fmt):
        raise GraphFileError(f"{path}: bad METIS fmt code {fmt!r} in the header")
    if n == 0:
        raise GraphFileError(f"{path}: no edges (the header declares 0 vertices)")
    fmt = fmt.zfill(3)
    has_size, has_vweight, has_eweight = fmt[0] == "1", fmt[1] == "1", fmt[2] == "1"
    lead = int(has_size) + (ncon if has_vweight else 0)
    body = lines[1:]
    # Trailing blank lines past the n vertex lines are padding, not vertices.
    while len(body) > n and not body[-1].strip():
        body.pop()
    if len(body) != n:
        raise GraphFileError(f"{path}: header says {n} vertices but {len(body)} vertex lines follow")
    tokens_per_line = np.fromiter((len(ln.split()) for ln in body), dtype=np.int64, count=n)
    try:
        text = " ".join(body)
        tokens = text.split()  # (any whitespace separates, as Python splits)
        if not plain_numerals(text) and not all(map(plain_numerals, tokens)):  # Python reads "1_0" as 10
            raise ValueError
        values = np.array(tokens, dtype=np.float64 if has_eweight else np.int64)
    except OverflowError:  # (numpy's "Python int too large to convert to C long")
        bad, token = next((i, tok) for i, ln in enumerate(body) for tok in ln.split()
                          if abs(int(tok)) > np.iinfo(np.int64).max)
        raise GraphFileError(f"{path}: line {line_of[bad]} (vertex {bad + 1}) holds {token}, a "
                             f"number past int64 (the vertices are 1..{n})") from None
    except ValueError:
        bad = next(i for i, ln in enumerate(body) for tok in ln.split()
                   if not _is_number(tok, float if has_eweight else int))
        raise GraphFileError(f"{path}: line {line_of[bad]} (vertex {bad + 1}) holds a token that is "
                             "not a number") from None
    stride = 2 if has_eweight else 1
    nbr_tokens = tokens_per_line - lead
    bad = np.flatnonzero((nbr_tokens < 0) | (nbr_tokens % stride != 0))
    if bad.size:
        i = int(bad[0])
        raise GraphFileError(f"{path}: line {line_of[i]} (vertex {i + 1}) has a malformed token "
                             "count")
    starts = np.concatenate([[0], np.cumsum(tokens_per_line)[:-1]])
    keep = np.ones(values.shape[0], dtype=bool)
    if lead:
        for j in range(lead):
            keep[starts[tokens_per_line > j] + j] = False
    nbr = values[keep]
    degree = nbr_tokens // stride
    if has_eweight:
        col, weight = nbr[0::2], nbr[1::2]
    else:
        col, weight = nbr, None
    if has_eweight:
        _check_metis_entries(path, body, line_of, degree, lead, col, weight)
    col = np.asarray(col, dtype=np.int64) - 1
    if col.size and (col.min() < 0 or col.max() >= n):
        i = int(np.flatnonzero((col < 0) | (col >= n))[0])
        row_of = _metis_vertex_of(degree, i)
        raise GraphFileError(
            f"{path}: line {line_of[row_of]} names vertex {col[i] + 1}, outside 1..{n}"
        )
    if col.shape[0] != 2 * m:
        raise GraphFileError(
            f"{path}: header says {m} edges ({2 * m} adjacency entries) but the file lists "
            f"{col.shape[0]} entries"
        )
    row = np.repeat(np.arange(n, dtype=np.int64), degree)
    key = row * n + col
    order = np.argsort(key, kind="stable")
    twice = np.flatnonzero(key[order][1:] == key[order][:-1])
    if twice.size:  # in the file's 1-based vertex numbers, with the line that lists it
        u, v = int(row[order[twice[0]]]) + 1, int(col[order[twice[0]]]) + 1
        raise GraphFileError(f"{path}: line {line_of[u - 1]} (vertex {u}) lists vertex {v} "
                             "twice; METIS lists each edge once at each end")
    from sparsebox.structure import _mirror_mismatch

    i = _mirror_mismatch(row, col, weight if weight is not None else np.ones(row.size), None, n)
    if i is not None:
        u, v = int(row[i]) + 1, int(col[i]) + 1
        raise GraphFileError(f"{path}: line {line_of[u - 1]} (vertex {u}) lists vertex {v}, but "
                             f"vertex {v} (line {line_of[v - 1]}) does not list {u}"
                             f"{' with the same weight' if weight is not None else ''}; METIS "
                             "lists each edge at both ends")
    try:
        return SparseStructure.from_edges(row, col, weight, num_nodes=n, undirected=True,
                                          duplicates="error")
    except ValueError as err:
        raise GraphFileError(f"{path}: {err}") from err


def _metis_vertex_of(degree: np.ndarray, entry: int) -> int:
    """The 0-based vertex whose line holds adjacency entry ``entry`` (lines hold ``degree``)."""
    return int(np.searchsorted(np.cumsum(degree), entry, side="right"))


def _check_metis_entries(path: Path, body: list[str], line_of: list[int], degree: np.ndarray,
                         lead: int, col: np.ndarray, weight: np.ndarray) -> None:
    """Raise a :class:`GraphFileError` naming the line, the vertex and the token of the first
    neighbour that is not a whole number or edge weight that is not positive and finite (the
    tokens of a METIS file with edge weights are read as floats)."""
    bad_col = ~np.isfinite(col) | (col != np.round(col))
    bad_weight = ~(np.isfinite(weight) & (weight > 0))
    if not (bad_col.any() or bad_weight.any()):
        return
    entry = int(np.flatnonzero(bad_col | bad_weight)[0])
    vertex = _metis_vertex_of(degree, entry)
    first_entry = int(np.cumsum(degree)[vertex] - degree[vertex])
    tokens = body[vertex].split()[lead + 2 * (entry - first_entry):]
    where = f"{path}: line {line_of[vertex]} (vertex {vertex + 1})"
    if bad_col[entry]:
        raise GraphFileError(f"{where}: a neighbour must be a vertex number, got {tokens[0]}")
    raise GraphFileError(f"{where}: weight must be positive and finite, got {tokens[1]}")


def _reads_as_number(token: str) -> bool:
    """Whether Python's float() reads ``token``: such a first field ("1_0") is a number the
    edge lines then refuse, not a header's column name (a header of "1_0 2" dropped an edge)."""
    try:
        float(token)
    except ValueError:
        return False
    return True


def _is_number(token: str, kind: type) -> bool:
    try:
        text_number(token, kind)
    except ValueError:
        return False
    return True


#: a header comment line of the Matrix Market files whose diagonal holds self-loops (written
#: by :func:`write_graph`); other files' diagonals are not edges
MTX_LOOPS_MARKER = "sparsebox: the diagonal holds self-loops"


def _has_loops_marker(path: Path) -> bool:
    with _open_text(path) as f:
        for line in f:
            if not line.startswith("%"):
                return False
            if line.lstrip("%").strip() == MTX_LOOPS_MARKER:
                return True
    return False


#: the most nodes a graph file may declare per edge (or entry) it holds, past a floor of
#: :data:`NODE_COUNT_FLOOR`: node ids must be ``0..n-1`` with few gaps, since every node up to
#: the largest id takes memory
NODES_PER_EDGE = 16
NODE_COUNT_FLOOR = 1 << 20
#: the pair keys ``u * n + v`` of :mod:`sparsebox.structure` must fit in int64
_PAIR_KEY_NODE_LIMIT = math.isqrt(int(np.iinfo(np.int64).max))


def node_count_limit(num_edges: int) -> int:
    """The most nodes a graph file holding ``num_edges`` edges (or matrix entries) is read with:
    :data:`NODES_PER_EDGE` per edge, at least :data:`NODE_COUNT_FLOOR`, at most what pair keys
    hold. Larger node ids are refused before any memory is allocated for them.

    Examples
    --------
    >>> node_count_limit(10) == NODE_COUNT_FLOOR, node_count_limit(10**6)
    (True, 16000016)
    """
    return min(max(NODE_COUNT_FLOOR, NODES_PER_EDGE * (num_edges + 1)), _PAIR_KEY_NODE_LIMIT)


@_file_errors_named
def read_matrix_market(path: str | os.PathLike[str]) -> SparseStructure:
    """Read a Matrix Market file as an undirected graph.

    A ``symmetric`` file gives the graph of ``|A|``; a ``general`` one (e.g. a circuit matrix)
    that of ``|A| + |A|^T``, whose edge weights are the sums of their two entries. A ``pattern``
    file gives an unweighted graph, every edge of weight 1, as ``scipy.io.mmread`` and networkx
    read a pattern: an entry listed at both ends of a general file is one edge, not a weight of
    2. The diagonal is not edges, unless a symmetric file's header holds
    :data:`MTX_LOOPS_MARKER`: then its entries are self-loops.

    Raises
    ------
    GraphFileError
        The file is not Matrix Market, its matrix is not square, is 0 x 0 (no edges) or has far
        more rows than entries (see :func:`node_count_limit`), or a weight is not finite.
    """
    path = Path(path)
    try:
        rows, cols, entries, layout, field, symmetry = scipy.io.mminfo(path)
    except (ValueError, OSError, OverflowError) as err:  # (a size past int64: OverflowError)
        raise GraphFileError(f"{path}: not a readable Matrix Market file ({err})") from err
    _check_matrix_size(path, rows, cols, entries, layout, symmetry)
    try:
        a = sp.coo_array(scipy.io.mmread(path))
    except (ValueError, OSError, OverflowError) as err:  # (an integer entry past int64)
        raise GraphFileError(f"{path}: not a readable Matrix Market file ({err})") from err
    if field != "pattern" and not np.all(np.isfinite(a.data)):
        i = int(np.flatnonzero(~np.isfinite(a.data))[0])
        raise GraphFileError(f"{path}: entry ({a.row[i] + 1}, {a.col[i] + 1}) has the value "
                             f"{a.data[i]}; weights must be finite")
    loops = symmetry != "general" and _has_loops_marker(path)
    off = ((a.row != a.col) | loops) & (a.data != 0)
    row, col, weight = a.row[off], a.col[off], np.abs(a.data[off]).astype(np.float64)
    if field == "pattern":
        (row, col), weight = _distinct_pairs(row, col), None
    try:
        if symmetry == "general":
            return SparseStructure.from_edges(row, col, weight, num_nodes=rows,
                                              symmetrize="max" if weight is None else "sum")
        return SparseStructure.from_edges(row, col, weight, num_nodes=rows, undirected=True)
    except ValueError as err:
        raise GraphFileError(f"{path}: {err}") from None


def _check_matrix_size(path: Path, rows: int, cols: int, entries: int, layout: str,
                       symmetry: str) -> None:
    """Refuse, before reading its entries, a matrix that is not a graph file's: not square, 0 x
    0, with far more rows than entries, or with more entries than the file can hold."""
    if rows != cols:
        raise GraphFileError(f"{path}: matrix is {rows} x {cols}, not square")
    if rows == 0:
        raise GraphFileError(f"{path}: no edges (the header declares a 0 x 0 matrix)")
    # scipy allocates for the entries declared first (3 x 3 with 99999999999 entries: "Unable to
    # allocate 373 GiB"): a coordinate entry takes a line of 4 bytes at least ("1 1" and its
    # newline), a value of an array (a dense matrix, its lower triangle where symmetric) 2 ("0")
    stored, least = ((entries, 4) if layout == "coordinate"  # (skew: no diagonal)
                     else (rows * cols if symmetry == "general" else rows * (rows - 1) // 2, 2))
    size = path.stat().st_size
    if path.suffix.lower() not in COMPRESSION_SUFFIXES and stored * least > size:
        what = (f"declares {entries} entries" if layout == "coordinate"
                else f"declares a dense {rows} x {cols} matrix")
        raise GraphFileError(
            f"{path}: line {_size_line(path)}: the header {what}, more than the file's {size} "
            f"bytes can hold ({least} bytes at least each)")
    limit = node_count_limit(entries)
    if rows > limit:
        raise GraphFileError(
            f"{path}: line {_size_line(path)}: the header declares a {rows} x {cols} matrix for "
            f"{entries} entries; a graph file's rows are its nodes, at most {limit} for them: "
            "drop the empty rows and columns (relabel the nodes 0..n-1) first")


def _size_line(path: Path) -> int:
    """The line number of a Matrix Market file's size line (the first after the comments)."""
    with _open_text(path) as fh:
        for lineno, line in enumerate(fh, start=1):
            if line.strip() and not line.lstrip().startswith("%"):
                return lineno
    return 1


def _distinct_pairs(row: np.ndarray, col: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each ``(row, col)`` pair once."""
    pairs = np.unique(np.column_stack([row, col]).astype(np.int64), axis=0)
    return pairs[:, 0], pairs[:, 1]


def _heaviest_of_pairs(row: np.ndarray, col: np.ndarray, weight: np.ndarray
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each ``(row, col)`` pair once, with the largest of its weights."""
    pairs, inverse = np.unique(np.column_stack([row, col]).astype(np.int64), axis=0,
                               return_inverse=True)
    heaviest = np.zeros(len(pairs))
    np.maximum.at(heaviest, inverse.reshape(-1), weight)
    return pairs[:, 0], pairs[:, 1], heaviest


#: the header names of an edge list's columns, by role, compared in lower case
EDGE_LIST_COLUMNS = {
    "source": ("source", "src", "from", "u", "node1"),
    "target": ("target", "dst", "to", "v", "node2"),
    "weight": ("weight", "w"),
}
_ROLE_OF_NAME = {name: role for role, names in EDGE_LIST_COLUMNS.items() for name in names}
#: the name of a leading index column, skipped: pandas writes it without a name, and reads it
#: back as "Unnamed: 0"
_INDEX_COLUMN = re.compile(r"|index|unnamed: ?\d+")


class _Columns(NamedTuple):
    """Where an edge's fields are on a line of ``width`` fields; ``layout`` says it in words."""

    width: int
    source: int
    target: int
    weight: int | None
    layout: str


@_file_errors_named
def read_edge_list(
    path: str | os.PathLike[str],
    *,
    delimiter: str | None = None,
    undirected: bool = True,
    num_nodes: int | None = None,
) -> SparseStructure:
    """Read an edge list: ``u v [w]`` lines, whitespace or ``delimiter`` separated, with ``#``
    comments (and ``%`` comment lines, as KONECT and Network Repository files start) and 0-based
    node ids (a file with ``%`` lines whose smallest id is 1, as KONECT's and Network
    Repository's count from 1, warns that node 0 is isolated, unless ``num_nodes`` is given).

    A first line whose first field is not a number is a header. A header that names every
    column by its role (:data:`EDGE_LIST_COLUMNS`: ``source``, ``target`` and optionally
    ``weight``, or their other names, in any case and order) is followed; a header of 2 or 3
    names that do not all name a role is read by position as ``u v [w]`` (``source,target,time``
    weighs the edges by time; names that are all numbers, as pandas writes a frame's unnamed
    columns, are read so too, but some numbers among names are refused: ``O 1`` is an edge with a
    typo). A leading column without a name (the index pandas writes, found
    by its name or, where splitting lost the empty name, by rows one field wider than the
    header) is skipped. Undirected
    edge lists may list each edge once or in both directions. An edge listed more than once (in
    either direction) is one edge: of weight 1 without a weight column, as networkx reads it,
    else of its largest weight (networkx keeps the last; they agree when the repeats agree).

    Raises
    ------
    GraphFileError
        Naming the file and the line: a header naming columns it cannot place, numbers
        separated otherwise than by ``delimiter`` where a header or the first edge should be, a
        line that is not an edge, a node id that is not a non-negative integer or is too large
        for the file (ids must be ``0..n-1`` with few gaps, see :func:`node_count_limit`), a
        weight that is not positive and finite; or no edges at all.
    """
    path = Path(path)
    with _open_text(path) as fh:
        texts = [(k, text) for k, ln in enumerate(fh, start=1)
                 if (text := ln.split("#", 1)[0].strip())]
    rows = [(k, text) for k, text in texts if not text.startswith("%")]
    konect = len(rows) < len(texts)  # % lines: KONECT's or Network Repository's, ids from 1
    columns, rows = _edge_list_header(path, rows, delimiter)
    if not rows:
        raise GraphFileError(f"{path}: no edges")
    lines, edges = _parse_edges(path, rows, delimiter, columns)
    _check_node_ids(path, lines, edges, num_nodes)
    u, v = edges[:, 0].astype(np.int64), edges[:, 1].astype(np.int64)
    if konect and num_nodes is None and min(u.min(), v.min()) == 1:
        warnings.warn(f"{path}: no edge touches node 0: node ids are read from 0, so node 0 is an "
                      "isolated node; if the file numbers its nodes from 1, subtract 1 from every "
                      "id", UserWarning, stacklevel=2)
    weight = edges[:, 2] if edges.shape[1] == 3 else None
    if weight is None:
        u, v = _distinct_pairs(u, v)
    else:
        u, v, weight = _heaviest_of_pairs(u, v, weight)
    try:
        return SparseStructure.from_edges(u, v, weight, num_nodes=num_nodes, undirected=undirected,
                                          symmetrize="max" if undirected else None)
    except (ValueError, TypeError) as err:
        raise GraphFileError(f"{path}: {err}") from err


def _fields(text: str, delimiter: str | None) -> list[str]:
    return text.split(delimiter) if delimiter else text.split()


def _edge_list_header(path: Path, rows: list[tuple[int, str]], delimiter: str | None
                      ) -> tuple[_Columns | None, list[tuple[int, str]]]:
    """The columns a header line names (``None`` without a header) and the lines after it."""
    if not rows or _reads_as_number(_fields(rows[0][1], delimiter)[0]):
        return None, rows
    lineno, text = rows[0]
    _check_separator(path, lineno, text, delimiter)  # numbers, not names
    names = [f.strip().strip("\"'").lower() for f in _fields(text, delimiter)]
    if len(rows) > 1 and len(_fields(rows[1][1], delimiter)) == len(names) + 1:
        names.insert(0, "")  # an unnamed index column whose empty name the line's strip dropped
    try:
        return _named_columns(names), rows[1:]
    except ValueError as err:
        if len(rows) == 1:
            raise GraphFileError(f"{path}: line {lineno} is not 'u v [w]' and no edge follows it: "
                                 f"not an edge list ({text[:40]!r})") from None
        _check_separator(path, *rows[1], delimiter)  # a header, then edges split otherwise
        raise GraphFileError(f"{path}: line {lineno}: cannot read the header {text[:60]!r}: "
                             f"{err}") from None


def _check_separator(path: Path, lineno: int, text: str, delimiter: str | None) -> None:
    """Refuse, naming the line and its separator, a line that is 2 or 3 numbers separated by
    another separator than ``delimiter`` (``0,1`` in a whitespace-separated file, ``0 1`` in a
    comma-separated one): an edge line in a file named for another separator."""
    for sep, words in ((",", "commas"), (";", "semicolons"), ("\t", "tabs"), (None, "whitespace")):
        if sep == delimiter or (delimiter is None and sep == "\t"):  # whitespace holds tabs
            continue
        if delimiter == "\t" and sep is None and _edge_fields(text, delimiter):
            continue  # an edge split by tabs, read as whitespace too
        if _edge_fields(text, sep):
            expected = {None: "whitespace", ",": "commas", "\t": "tabs"}.get(delimiter,
                                                                            repr(delimiter))
            raise GraphFileError(f"{path}: line {lineno}: {text[:40]!r} holds numbers separated by "
                                 f"{words}, not by {expected}: a .csv edge list is read "
                                 "comma-separated, a .tsv one tab-separated, .txt, .edges and "
                                 ".el ones whitespace-separated")


def _edge_fields(text: str, delimiter: str | None) -> bool:
    """Whether ``text`` split by ``delimiter`` is 2 or 3 numbers: an edge line."""
    parts = _fields(text, delimiter)
    return len(parts) in (2, 3) and all(_is_number(f.strip(), float) for f in parts)


def _named_columns(names: list[str]) -> _Columns:
    """Where a header's ``names`` put an edge's fields; ``ValueError`` saying why not."""
    skip = int(len(names) > 1 and _INDEX_COLUMN.fullmatch(names[0]) is not None)
    roles = [_ROLE_OF_NAME.get(name) for name in names[skip:]]
    if not all(roles):  # not every column named by role: 2 or 3 named columns are u v [w]
        numbers = [name for name in names[skip:] if _reads_as_number(name)]
        others = [name for name, role in zip(names[skip:], roles, strict=True)
                  if role is None and not _reads_as_number(name)]
        if numbers and others:  # (pandas numbers its unnamed columns: ",0,1,weight" is a header)
            raise ValueError(f"a header names its columns, and {numbers[0]!r} is a number: is "
                             "the line an edge with a typo? (a header line is skipped, so the "
                             "edge would be lost)")
        if len(roles) in (2, 3) and all(names[skip:]):
            misplaced = next(((k, role) for k, role in enumerate(roles) if role is not None
                              and k != ("source", "target", "weight").index(role)), None)
            if misplaced is not None:  # read by position, "weight,0,1" took weights for sources
                k, role = misplaced
                raise ValueError(f"it names {role} column {k + 1}, but other names leave the "
                                 "columns read by position as u v [w]: name every column "
                                 "(source, target [, weight]) or put it in its place")
            return _Columns(len(names), skip, skip + 1, skip + 2 if len(roles) == 3 else None,
                            f"{len(names)} fields, as the header has")
        raise ValueError("name the columns source, target [, weight] (or give 2 or 3 other names, "
                         "read as u v [w])")
    for role in roles:
        if roles.count(role) > 1:
            raise ValueError(f"it names {roles.count(role)} {role} columns")
    missing = [role for role in ("source", "target") if role not in roles]
    if missing:
        raise ValueError(f"it names no {missing[0]} column")
    at = {role: skip + k for k, role in enumerate(roles)}
    return _Columns(len(names), at["source"], at["target"], at.get("weight"),
                    f"{len(names)} fields, as the header has")


def _parse_edges(path: Path, rows: list[tuple[int, str]], delimiter: str | None,
                 columns: _Columns | None) -> tuple[np.ndarray, np.ndarray]:
    """The line numbers and the ``[u, v(, w)]`` values of the edge lines (ids and weights
    checked); without a header the first line's 2 or 3 fields set the layout."""
    lines, edges = [], []
    for lineno, text in rows:
        parts = _fields(text, delimiter)
        if columns is None and len(parts) in (2, 3):  # (not "'u v [w]'": the width is set now)
            layout = f"{len(parts)} fields ('u v{' w' if len(parts) == 3 else ''}'), as line {lineno} has"
            columns = _Columns(len(parts), 0, 1, 2 if len(parts) == 3 else None, layout)
        if columns is None or len(parts) != columns.width:
            _check_separator(path, lineno, text, delimiter)  # "1 2 1" in a .tsv: 3 fields to see
            # networkx's write_edgelist writes each edge's data as a dict: "0 1 {'weight': 4}"
            hint = ("; networkx's write_edgelist wrote its data dicts: write the file with "
                    "write_weighted_edgelist, or data=False") if "{" in text else ""
            raise GraphFileError(f"{path}: line {lineno}: expected "
                                 f"{columns.layout if columns else repr('u v [w]')}, got {text!r}"
                                 f"{hint}")
        picked = [parts[columns.source], parts[columns.target]]
        if columns.weight is not None:
            picked.append(parts[columns.weight])
        edges.append(_edge_values(path, lineno, text, [p.strip() for p in picked]))
        lines.append(lineno)
    return np.array(lines), np.array(edges, dtype=np.float64)


def _edge_values(path: Path, lineno: int, text: str, fields: list[str]) -> list[float]:
    """``fields`` (``u v [w]``) as numbers: ids non-negative integers, a weight positive."""
    try:
        values = [text_number(f) for f in fields]
    except ValueError:  # "not numbers: 'bob carol'" left a file of named nodes unexplained
        bad = next(i for i, f in enumerate(fields) if not _is_number(f, float))
        what = ("a weight must be a number" if bad == 2 else "a node id must be a non-negative "
                "integer (nodes named by text are not read: number them from 0 first)")
        raise GraphFileError(f"{path}: line {lineno}: {what}, got {fields[bad]!r} in "
                             f"{text!r}") from None
    for node, field in zip(values[:2], fields, strict=False):
        if not (math.isfinite(node) and 0 <= node < 2**63 and node == int(node)):
            raise GraphFileError(f"{path}: line {lineno}: a node id must be a non-negative "
                                 f"integer, got {field}")
    if len(values) == 3 and not (math.isfinite(values[2]) and values[2] > 0):
        raise GraphFileError(f"{path}: line {lineno}: a weight must be positive and finite, "
                             f"got {fields[2]}")
    return values


def _check_node_ids(path: Path, lines: np.ndarray, edges: np.ndarray,
                    num_nodes: int | None) -> None:
    """Refuse a node id too large for the file's edges (or past ``num_nodes``, when larger)."""
    limit = max(node_count_limit(edges.shape[0]), num_nodes or 0)
    largest = np.maximum(edges[:, 0], edges[:, 1])
    if largest.max() < limit:
        return
    k = int(np.flatnonzero(largest >= limit)[0])
    raise _node_id_error(f"{path}: line {lines[k]}", int(largest[k]),
                         counted(edges.shape[0], "edge"), limit)


def _node_id_error(where: str, node: int, holding: str, limit: int) -> GraphFileError:
    """The refusal of a node id below 0 or past ``limit``, the most nodes a file ``holding``
    its edges (or adjacency entries) is read with (:func:`node_count_limit`)."""
    return GraphFileError(
        f"{where}: node id {node} is {'negative' if node < 0 else 'too large'}: node ids are read "
        f"as 0..n-1, and a file of {holding} may have at most {limit} nodes; relabel the nodes "
        "0..n-1 (consecutive ids) first")


class _PlanetoidUnpickler(pickle.Unpickler):
    """Reads Planetoid's pickled adjacency dict and nothing else (no arbitrary classes)."""

    _ALLOWED = {("collections", "defaultdict"), ("builtins", "list"), ("builtins", "dict"),
                ("builtins", "int"), ("__builtin__", "list"), ("__builtin__", "dict")}

    def find_class(self, module: str, name: str):
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"unexpected object {module}.{name}")
        return super().find_class("builtins" if module == "__builtin__" else module, name)


@_file_errors_named
def read_planetoid_graph(path: str | os.PathLike[str]) -> SparseStructure:
    """The graph of a Planetoid ``ind.<name>.graph`` file (a pickled ``{node: [neighbours]}``
    dict) as an undirected, unweighted structure without self-loops, as PyG's ``Planetoid``
    builds it: a neighbour listed twice (Cora's file lists 151 so) is one edge of weight 1."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            adjacency = _PlanetoidUnpickler(fh, encoding="latin1").load()
        pairs = [(u, v) for u, nbrs in adjacency.items() for v in nbrs]
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, TypeError,
            ValueError) as err:  # (ValueError: "unsupported pickle protocol")
        raise GraphFileError(f"{path}: not a Planetoid graph file ({err})") from None
    # node ids as the text readers take them: integers (1.5 and "0" had been read as 1 and 0)
    # in 0..n-1 for the file's size (10**12 allocated 7 TiB, 10**30 overflowed)
    other = next((x for pair in pairs for x in pair if type(x) is not int), None)
    if other is not None:
        raise GraphFileError(f"{path}: node ids must be integers, got {other!r}")
    largest = max((max(pair) for pair in pairs), default=-1)
    smallest = min((min(pair) for pair in pairs), default=0)
    limit = max(node_count_limit(len(pairs)), len(adjacency))
    if smallest < 0 or largest >= limit:  # as the text readers refuse it (10**12: 7 TiB)
        raise _node_id_error(str(path), smallest if smallest < 0 else largest,
                             counted(len(pairs), "adjacency entry", "adjacency entries"), limit)
    edges = np.unique(np.array(pairs, dtype=np.int64).reshape(-1, 2), axis=0)  # a neighbour once
    try:
        return SparseStructure.from_edges(edges[:, 0], edges[:, 1],
                                          num_nodes=max(len(adjacency), largest + 1),
                                          symmetrize="max", self_loops="drop")
    except ValueError as err:
        raise GraphFileError(f"{path}: {err}") from None


def _read_csv(path: Path) -> SparseStructure:
    return read_edge_list(path, delimiter=",")


def _read_tsv(path: Path) -> SparseStructure:
    return read_edge_list(path, delimiter="\t")


_READERS = {".graph": read_metis, ".metis": read_metis, ".mtx": read_matrix_market,
            ".csv": _read_csv, ".tsv": _read_tsv, ".txt": read_edge_list, ".edges": read_edge_list,
            ".el": read_edge_list}
#: the graph file formats :func:`load_graph` reads, by suffix; each also compressed
READABLE_GRAPH_SUFFIXES = tuple(_READERS)
#: the compressions every graph file format is read in (:func:`_open_text`)
COMPRESSION_SUFFIXES = (".bz2", ".gz")


#: what each kind of dataset that load_graph does not read is, and what reads it
_NOT_A_GRAPH = {
    "ogbg": ("a set of graphs for graph classification",
             "`sparsebox graph gtsp` or graphsparse.datasets.load_ogbg read it"),
    "ogbn": ("a node-classification dataset (graph, features and labels)",
             "`sparsebox graph teddy` or graphsparse.datasets.load_ogbn read it"),
    "gaussian-ply": ("a Gaussian-splat scene", "`sparsebox scene prune-splats` reads it"),
    "mesh-ply": ("a mesh", "`sparsebox scene prune-points` reads it"),
    "nerf-synthetic": ("a set of posed photos", "`sparsebox scene hollownerf` reads it"),
}


def load_graph(
    name_or_path: str | os.PathLike[str],
    root: str | os.PathLike[str] | None = None,
    *,
    download: bool = True,
) -> SparseStructure:
    """A graph by catalogue name (``"fe_4elt2"``, ``"wave"``, ``"cora"``) or by file path: read
    by its suffix (:data:`READABLE_GRAPH_SUFFIXES`, each also compressed); a ``.graph`` file that
    is a pickle is a Planetoid ``ind.<name>.graph`` file (:func:`read_planetoid_graph`)."""
    if not isinstance(name_or_path, (str, os.PathLike)) or not str(name_or_path).strip():
        raise InvalidParameterError(  # (None was a TypeError of Path's; "" the working folder)
            "name_or_path must be a dataset name or a graph file's path, got "
            f"{name_or_path!r}" + (": a graph in memory is read by sparsebox.as_structure"
                                   if not isinstance(name_or_path, (str, bytes))
                                   and name_or_path is not None else ""))
    key = str(name_or_path)
    cat = catalogue()
    if key.lower() in cat:
        info = cat[key.lower()]
        if info.kind in ("metis", "matrix-market"):
            (path,) = fetch(key, root, download=download)  # a damaged one named as by its path
            return (read_metis if info.kind == "metis" else read_matrix_market)(path)
        if info.kind == "planetoid":
            return read_planetoid_graph(_planetoid_graph_file(info, root, download))
        what, reader = _NOT_A_GRAPH[info.kind]
        raise InvalidParameterError(f"dataset {key!r} is {what}, not a graph: {reader}")
    path = Path(name_or_path)
    if not path.exists():
        from sparsebox.data.sources import did_you_mean

        shown = key if key == key.strip() else repr(key)  # " karate" showed no space
        raise FileNotFoundError(f"{shown}: no such file, and not a dataset name{did_you_mean(key)} "
                                "(see `sparsebox data list`)")
    if path.is_dir():
        raise InputFileError(f"{path}: is a folder, not a graph file")
    suffixes = [s.lower() for s in path.suffixes if s.lower() not in COMPRESSION_SUFFIXES]
    compressed = path.suffix.lower() in COMPRESSION_SUFFIXES
    reader = _READERS.get(suffixes[-1] if suffixes else "")
    if reader is None:
        raise InputFileError(
            f"{path}: unknown graph format {(suffixes[-1:] or [''])[0]!r}; known: "
            f"{', '.join(sorted(_READERS))}, each plain or {' / '.join(COMPRESSION_SUFFIXES)}"
        )
    if reader is read_metis and not compressed and _is_pickle(path):
        reader = read_planetoid_graph  # PyG's raw ind.<name>.graph, not METIS
    return reader(path)


def _read_graph_file(path: Path, reader: Callable[[Path], SparseStructure]) -> SparseStructure:
    """``reader(path)``, a file that is not text, or a compressed one that is damaged, refused
    naming it (a folder in its place too); a missing file is a FileNotFoundError whatever the
    format (scipy's Matrix Market reader had raised a ValueError)."""
    if path.is_dir():
        raise InputFileError(f"{path}: is a folder, not a graph file")
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    compressed = path.suffix.lower() in COMPRESSION_SUFFIXES
    try:
        return reader(path)
    except UnicodeDecodeError as err:
        raise GraphFileError(f"{path}: {_undecodable(path, err)}") from None
    except (EOFError, zlib.error, OSError) as err:
        # bz2 and gzip: an early end (EOFError), damaged data (zlib.error, or an OSError that
        # names no file, as bz2's "Invalid data stream" and gzip's "Not a gzipped file")
        if isinstance(err, OSError) and (err.filename is not None or not compressed):
            raise
        raise GraphFileError(f"{path}: the compressed file is truncated or damaged "
                             f"({err})") from None


def _is_pickle(path: Path) -> bool:
    """Whether ``path`` starts as a pickle of protocol 2 or later does (a METIS file is text)."""
    with open(path, "rb") as fh:
        return fh.read(1) == b"\x80"


def _undecodable(path: Path, err: UnicodeDecodeError) -> str:
    """Why ``path`` is not a text graph file, in words: the line and the offset in the file of
    its first byte (decompressed) that is not UTF-8; ``err``'s offset is that in the block the
    reader was decoding; a compressed file that ends early or is damaged past that byte is read
    up to where it breaks."""
    opener = {".bz2": bz2.open, ".gz": gzip.open}.get(path.suffix.lower(), open)
    data = bytearray()
    with opener(path, "rb") as fh:
        try:
            while block := fh.read1(1 << 20):
                data += block
        except (EOFError, zlib.error, OSError):
            pass  # the reader met the byte before the break (else it had named the break)
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as found:
        line = data.count(b"\n", 0, found.start) + 1
        return f"line {line}: not a text graph file ({found.reason} at byte {found.start}, not UTF-8)"
    return f"not a text graph file ({err.reason}, not UTF-8)"


def _planetoid_graph_file(info: DatasetInfo, root: str | os.PathLike[str] | None,
                          download: bool) -> Path:
    """The ``ind.<name>.graph`` file of a Planetoid dataset: one of its catalogue files, or,
    where the catalogue ships none, the file that PyG's Planetoid (which ``graphsparse``'s
    loader runs) downloads to ``planetoid/<Name>/raw``."""
    if not info.files:
        return find_unshipped(info.name, root, alone=True)  # the graph file is enough
    paths = fetch(info.name, root, download=download)
    pickled = [p for p in paths if p.name.endswith(".graph")]
    if len(pickled) != 1:
        raise InvalidParameterError(f"dataset {info.name!r}: its files ({', '.join(p.name for p in paths)})"
                                    " hold no '.graph' file to read the graph from")
    return pickled[0]


_EDGE_LIST_SUFFIXES = (".csv", ".tsv", ".txt", ".edges", ".el")
#: METIS, under either name load_graph reads it by
METIS_SUFFIXES = (".graph", ".metis")
#: the suffixes :func:`write_graph` writes (the format follows the name)
WRITABLE_GRAPH_SUFFIXES = (".mtx", *METIS_SUFFIXES, *_EDGE_LIST_SUFFIXES)


def graph_files(name_or_path: str | os.PathLike[str], root=None) -> list[Path]:
    """The files :func:`load_graph` reads (or downloads to) for ``name_or_path``, looked up as
    it does (a catalogue name first, then a path): what an output must not overwrite.

    Examples
    --------
    >>> graph_files("no/such/file.mtx")
    [PosixPath('no/such/file.mtx')]
    """
    key = str(name_or_path)
    if key.lower() in catalogue():
        base = data_root(root)
        return [base / f.path for f in get_dataset(key).files]
    return [Path(key)]


def write_graph(graph: Any, path: str | os.PathLike[str], *,
                comment: str = "") -> None:
    """Write an undirected graph (a :class:`SparseStructure`, or any form
    :func:`~sparsebox.as_structure` reads: networkx, scipy, an ``edge_index``, a PyG ``Data``)
    by suffix (:data:`WRITABLE_GRAPH_SUFFIXES`): ``.mtx``
    (symmetric Matrix Market, lower triangle; ``comment`` in its header, and
    :data:`MTX_LOOPS_MARKER` when the diagonal holds self-loops), ``.graph`` or ``.metis``
    (METIS; no self-loops), or
    ``.csv``/``.tsv``/``.txt``/``.edges``/``.el`` (``u v w`` lines, 0-based; separated by commas,
    tabs, or spaces). A graph whose weights are
    all 1 and that says it is unweighted is written without weights (``pattern`` Matrix
    Market, ``u v`` lines), so that it reads back unweighted.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "path.mtx"
    >>> write_graph(SparseStructure.from_edges([0, 1], [1, 2], symmetrize="max"), path)
    >>> path.read_text().splitlines()[0], load_graph(path).is_weighted
    ('%%MatrixMarket matrix coordinate pattern symmetric', False)
    """
    path = Path(path)
    graph = as_structure(graph, name="graph")
    check_graph_writable(graph, path)
    suffix = path.suffix.lower()
    weighted = _written_weighted(graph)
    if suffix == ".mtx":
        lower = sp.coo_array((graph.weights, (graph.cols, graph.rows)),
                             shape=(graph.num_nodes, graph.num_nodes))
        if np.any(graph.rows == graph.cols):  # else the diagonal is not read as edges
            comment = f"{comment}\n{MTX_LOOPS_MARKER}" if comment else MTX_LOOPS_MARKER
        with path.open("wb") as f:  # a name is given a .mtx suffix by mmwrite; a file is not
            scipy.io.mmwrite(f, lower, comment=comment, symmetry="symmetric",
                             field="real" if weighted else "pattern")
    elif suffix in METIS_SUFFIXES:
        lines = [f"{graph.num_nodes} {graph.num_edges}{' 001' if weighted else ''}"]
        for v in range(graph.num_nodes):
            nbrs = graph.indices[graph.indptr[v]:graph.indptr[v + 1]] + 1
            if weighted:
                w = graph.weight[graph.indptr[v]:graph.indptr[v + 1]].astype(np.int64)
                lines.append(" ".join(f"{a} {b}" for a, b in zip(nbrs, w, strict=True)))
            else:
                lines.append(" ".join(map(str, nbrs)))
        path.write_text("\n".join(lines) + "\n")
    else:
        sep = {".csv": ",", ".tsv": "\t"}.get(suffix, " ")
        columns = [graph.rows, graph.cols, *([graph.weights] if weighted else [])]
        np.savetxt(path, np.column_stack(columns), fmt=["%d", "%d", "%.17g"][:len(columns)],
                   delimiter=sep)


def _written_weighted(graph: SparseStructure) -> bool:
    # weights other than 1 are kept even where the graph says it is unweighted (summed parallel
    # entries of a pattern file are 2)
    return graph.is_weighted or bool(np.any(graph.weights != 1))


def check_graph_writable(graph: SparseStructure, path: str | os.PathLike[str]) -> None:
    """Raise ``ValueError`` naming ``path`` when :func:`write_graph` cannot write ``graph`` there
    so that it reads back the same: call it with the final name before writing under another.

    Examples
    --------
    >>> lonely = SparseStructure.from_edges([0], [1], None, symmetrize="max", num_nodes=3)
    >>> check_graph_writable(lonely, "g.mtx")  # Matrix Market holds the node count
    >>> try:
    ...     check_graph_writable(lonely, "g.txt")
    ... except ValueError as err:
    ...     print(str(err).split(";")[0])
    g.txt: an edge list cannot hold the 1 node after node 1, which has no edges
    """
    suffix = Path(path).suffix.lower()
    if not graph.is_undirected:
        raise ValueError("write_graph writes undirected graphs")
    if suffix in METIS_SUFFIXES:
        if np.any(graph.rows == graph.cols):
            raise ValueError(f"{path}: METIS files cannot hold self-loops")
        if _written_weighted(graph):
            if np.any(graph.weights != np.round(graph.weights)):
                raise ValueError(f"{path}: METIS edge weights must be integers; write .mtx")
            if np.any(graph.weights >= 2.0**63):
                raise ValueError(f"{path}: METIS edge weights must be integers below 2**63, got "
                                 f"{graph.weights.max():g}; write .mtx")
    elif suffix in _EDGE_LIST_SUFFIXES:
        last = int(max(graph.rows.max(), graph.cols.max())) if graph.num_edges else -1
        if last + 1 < graph.num_nodes:  # an edge list's node count is its largest node id + 1
            after = graph.num_nodes - last - 1
            raise ValueError(f"{path}: an edge list cannot hold the {counted(after, 'node')} "
                             f"after node {last}, which {'has' if after == 1 else 'have'} no "
                             "edges; write .mtx or .graph")
    elif suffix != ".mtx":
        raise ValueError(f"{path}: unknown graph format {suffix!r} "
                         f"({', '.join(WRITABLE_GRAPH_SUFFIXES)})")
