"""Graph file readers (METIS, Matrix Market, edge lists) and name-or-path loading."""

from __future__ import annotations

import bz2
import gzip
import math
import os
import pickle
import zlib
from pathlib import Path

import numpy as np
import scipy.io
import scipy.sparse as sp

from sparsebox.data.root import data_root
from sparsebox.data.sources import catalogue, fetch, get_dataset
from sparsebox.exceptions import InputFileError, InvalidParameterError
from sparsebox.structure import SparseStructure

__all__ = ["read_metis", "read_matrix_market", "read_edge_list", "read_planetoid_graph",
           "load_graph", "write_graph", "check_graph_writable", "GraphFileError"]


class GraphFileError(InputFileError):
    """A graph file is malformed; the message names the file and the line."""


def _open_text(path: Path):
    """A text file, plain or compressed, as UTF-8 (a byte-order mark is dropped)."""
    if path.suffix.lower() == ".bz2":
        return bz2.open(path, "rt", encoding="utf-8-sig")
    if path.suffix.lower() == ".gz":
        return gzip.open(path, "rt", encoding="utf-8-sig")
    return open(path, encoding="utf-8-sig")


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
        n, m = int(header[0]), int(header[1])
        fmt = header[2] if len(header) > 2 else "0"
        ncon = int(header[3]) if len(header) > 3 else 1
    except (ValueError, IndexError):
        raise GraphFileError(f"{path}: bad METIS header {lines[0]!r} (want 'n m [fmt [ncon]]')") from None
    if len(fmt) > 3 or any(ch not in "01" for ch in fmt):
        raise GraphFileError(f"{path}: bad METIS fmt code {fmt!r} in the header")
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
        values = np.array(" ".join(body).split(), dtype=np.float64 if has_eweight else np.int64)
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
    col = np.asarray(col, dtype=np.int64) - 1
    if col.size and (col.min() < 0 or col.max() >= n):
        i = int(np.flatnonzero((col < 0) | (col >= n))[0])
        row_of = int(np.searchsorted(np.cumsum(degree), i, side="right"))
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


def _is_number(token: str, kind: type) -> bool:
    try:
        kind(token)
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


def read_matrix_market(path: str | os.PathLike[str]) -> SparseStructure:
    """Read a Matrix Market file as the undirected graph of ``|A|`` (symmetric files) or
    ``|A| + |A|^T`` (general, e.g. circuit matrices), without the diagonal (unless a symmetric
    file's header holds :data:`MTX_LOOPS_MARKER`: then its diagonal entries are self-loops)."""
    path = Path(path)
    try:
        info = scipy.io.mminfo(path)
        a = sp.coo_array(scipy.io.mmread(path))
    except (ValueError, OSError) as err:
        raise GraphFileError(f"{path}: not a readable Matrix Market file ({err})") from err
    if a.shape[0] != a.shape[1]:
        raise GraphFileError(f"{path}: matrix is {a.shape[0]} x {a.shape[1]}, not square")
    symmetry = info[5]
    if info[4] != "pattern" and not np.all(np.isfinite(a.data)):
        i = int(np.flatnonzero(~np.isfinite(a.data))[0])
        raise GraphFileError(f"{path}: entry ({a.row[i] + 1}, {a.col[i] + 1}) has the value "
                             f"{a.data[i]}; weights must be finite")
    loops = symmetry != "general" and _has_loops_marker(path)
    off = ((a.row != a.col) | loops) & (a.data != 0)
    row, col, w = a.row[off], a.col[off], np.abs(a.data[off]).astype(np.float64)
    weight = None if info[4] == "pattern" else w
    try:
        if symmetry == "general":
            return SparseStructure.from_edges(row, col, weight, num_nodes=a.shape[0],
                                              symmetrize="sum")
        return SparseStructure.from_edges(row, col, weight, num_nodes=a.shape[0], undirected=True)
    except ValueError as err:
        raise GraphFileError(f"{path}: {err}") from None


def read_edge_list(
    path: str | os.PathLike[str],
    *,
    delimiter: str | None = None,
    undirected: bool = True,
    num_nodes: int | None = None,
) -> SparseStructure:
    """Read ``u v [w]`` lines (whitespace or ``delimiter`` separated, ``#`` comments, 0-based ids;
    a first line whose first field is not a number is taken as a header, and must be followed
    by edges). Undirected edge lists may list each edge once or in both directions."""
    path = Path(path)
    with _open_text(path) as fh:
        lines = [ln.split("#", 1)[0].strip() for ln in fh]
    rows = [(i + 1, ln) for i, ln in enumerate(lines) if ln]
    if rows and not _is_number(rows[0][1].replace(delimiter or " ", " ").split()[0], float):
        fields = rows[0][1].split(delimiter) if delimiter else rows[0][1].split()
        if len(rows) == 1 and len(fields) not in (2, 3):  # a header alone has 2 or 3 names
            raise GraphFileError(f"{path}: line {rows[0][0]} is not 'u v [w]' and no edge "
                                 f"follows it: not an edge list ({rows[0][1][:40]!r})")
        rows = rows[1:]
    parsed = []
    width = None
    for lineno, ln in rows:
        parts = ln.split(delimiter) if delimiter else ln.split()
        if len(parts) not in (2, 3) or (width is not None and len(parts) != width):
            raise GraphFileError(f"{path}: line {lineno}: expected 'u v [w]', got {ln!r}")
        width = len(parts)
        try:
            parsed.append([float(p) for p in parts])
        except ValueError:
            raise GraphFileError(f"{path}: line {lineno}: not numbers: {ln!r}") from None
        for node, text in zip(parsed[-1][:2], parts, strict=False):
            if not (math.isfinite(node) and 0 <= node < 2**63 and node == int(node)):
                raise GraphFileError(f"{path}: line {lineno}: a node id must be a non-negative "
                                     f"integer, got {text}")
        if width == 3 and not (math.isfinite(parsed[-1][2]) and parsed[-1][2] > 0):
            raise GraphFileError(f"{path}: line {lineno}: a weight must be positive and finite, "
                                 f"got {parts[2]}")
    arr = np.array(parsed, dtype=np.float64).reshape(-1, width or 2)
    weight = arr[:, 2] if width == 3 else None
    try:
        return SparseStructure.from_edges(
            arr[:, 0].astype(np.int64), arr[:, 1].astype(np.int64), weight, num_nodes=num_nodes,
            undirected=undirected, symmetrize="max" if undirected else None,
        )
    except (ValueError, TypeError) as err:
        raise GraphFileError(f"{path}: {err}") from err


class _PlanetoidUnpickler(pickle.Unpickler):
    """Reads Planetoid's pickled adjacency dict and nothing else (no arbitrary classes)."""

    _ALLOWED = {("collections", "defaultdict"), ("builtins", "list"), ("builtins", "dict"),
                ("builtins", "int"), ("__builtin__", "list"), ("__builtin__", "dict")}

    def find_class(self, module: str, name: str):
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"unexpected object {module}.{name}")
        return super().find_class("builtins" if module == "__builtin__" else module, name)


def read_planetoid_graph(path: str | os.PathLike[str]) -> SparseStructure:
    """The graph of a Planetoid ``ind.<name>.graph`` file (a pickled ``{node: [neighbours]}``
    dict) as an undirected structure without self-loops, as PyG's ``Planetoid`` builds it."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            adjacency = _PlanetoidUnpickler(fh, encoding="latin1").load()
        rows = np.fromiter((u for u, nbrs in adjacency.items() for _ in nbrs), dtype=np.int64)
        cols = np.fromiter((v for nbrs in adjacency.values() for v in nbrs), dtype=np.int64)
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, TypeError) as err:
        raise GraphFileError(f"{path}: not a Planetoid graph file ({err})") from None
    n = max(len(adjacency), int(max(rows.max(initial=-1), cols.max(initial=-1))) + 1)
    try:
        return SparseStructure.from_edges(rows, cols, num_nodes=n, symmetrize="max",
                                          self_loops="drop")
    except ValueError as err:
        raise GraphFileError(f"{path}: {err}") from None


def _read_csv(path: Path) -> SparseStructure:
    return read_edge_list(path, delimiter=",")


_READERS = {".graph": read_metis, ".metis": read_metis, ".mtx": read_matrix_market,
            ".csv": _read_csv, ".txt": read_edge_list, ".edges": read_edge_list,
            ".el": read_edge_list}


def load_graph(
    name_or_path: str | os.PathLike[str],
    root: str | os.PathLike[str] | None = None,
    *,
    download: bool = True,
) -> SparseStructure:
    """A graph by catalogue name (``"fe_4elt2"``, ``"wave"``, ``"cora"``) or by file path."""
    key = str(name_or_path)
    cat = catalogue()
    if key.lower() in cat:
        info = cat[key.lower()]
        if info.kind in ("metis", "matrix-market"):
            (path,) = fetch(key, root, download=download)
            return read_metis(path) if info.kind == "metis" else read_matrix_market(path)
        if info.kind == "planetoid":
            paths = fetch(key, root, download=download)
            pickled = [p for p in paths if p.name.endswith(".graph")]
            if len(pickled) != 1:  # the catalogue lists no graph file for this dataset
                raise InvalidParameterError(
                    f"dataset {key!r}: its files ({', '.join(p.name for p in paths) or 'none'}) "
                    "hold no '.graph' file to read the graph from")
            return read_planetoid_graph(pickled[0])
        raise InvalidParameterError(f"dataset {key!r} is a {info.kind} dataset, not a graph")
    path = Path(name_or_path)
    if not path.exists():
        raise FileNotFoundError(
            f"{key}: no such file, and not a dataset name (see `sparsebox data list`)"
        )
    if path.is_dir():
        raise InputFileError(f"{path}: is a folder, not a graph file")
    suffixes = [s.lower() for s in path.suffixes if s.lower() not in (".bz2", ".gz")]
    compressed = path.suffix.lower() in (".bz2", ".gz")
    reader = _READERS.get(suffixes[-1] if suffixes else "")
    if reader is None:
        raise InputFileError(
            f"{path}: unknown graph format {path.suffix!r}; known: {', '.join(sorted(_READERS))}"
        )
    try:
        return reader(path)
    except UnicodeDecodeError as err:
        raise GraphFileError(f"{path}: not a text graph file ({err.reason} at byte "
                             f"{err.start})") from None
    except (EOFError, zlib.error, OSError) as err:
        # bz2 and gzip: an early end (EOFError), damaged data (zlib.error, or an OSError that
        # names no file, as bz2's "Invalid data stream" and gzip's "Not a gzipped file")
        if isinstance(err, OSError) and (err.filename is not None or not compressed):
            raise
        raise GraphFileError(f"{path}: the compressed file is truncated or damaged "
                             f"({err})") from None


_EDGE_LIST_SUFFIXES = (".csv", ".txt", ".edges", ".el")
#: the suffixes :func:`write_graph` writes (the format follows the name)
WRITABLE_GRAPH_SUFFIXES = (".mtx", ".graph", *_EDGE_LIST_SUFFIXES)


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


def write_graph(graph: SparseStructure, path: str | os.PathLike[str], *,
                comment: str = "") -> None:
    """Write an undirected graph by suffix (:data:`WRITABLE_GRAPH_SUFFIXES`): ``.mtx``
    (symmetric Matrix Market, lower triangle; ``comment`` in its header, and
    :data:`MTX_LOOPS_MARKER` when the diagonal holds self-loops), ``.graph`` (METIS; no
    self-loops), or
    ``.csv``/``.txt``/``.edges``/``.el`` (``u v w`` lines, 0-based). A graph whose weights are
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
    elif suffix == ".graph":
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
        sep = "," if suffix == ".csv" else " "
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
    g.txt: an edge list cannot hold the 1 nodes after node 1, which have no edges
    """
    suffix = Path(path).suffix.lower()
    if not graph.is_undirected:
        raise ValueError("write_graph writes undirected graphs")
    if suffix == ".graph":
        if np.any(graph.rows == graph.cols):
            raise ValueError(f"{path}: METIS files cannot hold self-loops")
        if _written_weighted(graph) and np.any(graph.weights != np.round(graph.weights)):
            raise ValueError(f"{path}: METIS edge weights must be integers; write .mtx")
    elif suffix in _EDGE_LIST_SUFFIXES:
        last = int(max(graph.rows.max(), graph.cols.max())) if graph.num_edges else -1
        if last + 1 < graph.num_nodes:  # an edge list's node count is its largest node id + 1
            raise ValueError(f"{path}: an edge list cannot hold the {graph.num_nodes - last - 1} "
                             f"nodes after node {last}, which have no edges; write .mtx or "
                             ".graph")
    elif suffix != ".mtx":
        raise ValueError(f"{path}: unknown graph format {suffix!r} "
                         f"({', '.join(WRITABLE_GRAPH_SUFFIXES)})")
