import bz2
import re
import urllib.request
import warnings
from pathlib import Path

import numpy as np
import pytest
import scipy.io

from sparsebox.data import (
    DatasetNotFoundError,
    GraphFileError,
    catalogue,
    data_root,
    fetch,
    load_graph,
    read_edge_list,
    read_matrix_market,
    read_metis,
    read_planetoid_graph,
)
from sparsebox.data.sources import PLANETOID_RAW_PARTS, get_dataset
from sparsebox.exceptions import InputFileError
from sparsebox.structure import SparseStructure


@pytest.fixture
def offline(monkeypatch):
    """No network: every ``urllib.request.urlopen`` fails as offline; the list of the URLs it was
    asked for."""
    opened = []

    def no_network(url, *args, **kwargs):
        opened.append(url)
        raise urllib.error.URLError("no route to host")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    return opened


def _metis_header(path: Path) -> tuple[int, int]:
    opener = bz2.open if path.suffix == ".bz2" else open
    with opener(path, "rt") as fh:
        for line in fh:
            if not line.startswith("%"):
                n, m = line.split()[:2]
                return int(n), int(m)
    raise AssertionError(f"no header in {path}")


GRAPHS = [d for d in catalogue().values() if d.kind in ("metis", "matrix-market")]


@pytest.mark.parametrize("info", GRAPHS, ids=[d.name for d in GRAPHS])
def test_every_shared_graph_loads_with_header_counts(info, data_dir):
    path = data_dir / info.main_file.path
    g = load_graph(info.name)
    assert g.is_undirected
    if info.kind == "metis":
        n, m = _metis_header(path)
        assert (g.num_nodes, g.num_edges) == (n, m)
    else:
        rows, cols, entries, _, field, symmetry = scipy.io.mminfo(path)
        a = scipy.io.mmread(path).tocoo()
        off = a.row != a.col
        assert g.num_nodes == rows == cols
        if symmetry == "symmetric":
            assert g.num_edges == entries - int(np.count_nonzero(~off))
        else:  # |A| + |A|^T: each unordered off-diagonal pair once
            pairs = {(min(r, c), max(r, c)) for r, c in zip(a.row[off], a.col[off], strict=True)}
            assert g.num_edges == len(pairs)


def test_known_sizes_from_the_issue(data_dir):
    wave = load_graph("wave")
    assert (wave.num_nodes, wave.num_edges) == (156_317, 1_059_331)
    assert load_graph("fe_4elt2").num_nodes == 11_143


def test_weighted_metis_keeps_weights(data_dir):
    g = load_graph("lesmis")
    assert g.is_weighted and g.weights.max() > 1


def test_planetoid_and_ogb_load_from_a_read_only_root(data_dir):
    from graphsparse.datasets import load_ogbg, load_planetoid

    cora = load_planetoid("cora")
    assert cora.num_nodes == 2708 and int(cora.train_mask.sum()) == 140
    graph = load_graph("cora")  # the same edges as PyG's, each of weight 1 (151 neighbours
    assert graph.num_edges == cora.edge_index.shape[1] // 2  # are listed twice in the file)
    assert set(graph.weights.tolist()) == {1.0}
    ours = {(int(u), int(v)) for u, v in zip(graph.rows, graph.cols, strict=True)}
    assert ours == {(min(u, v), max(u, v)) for u, v in cora.edge_index.t().tolist()}
    for _ in range(2):  # the second load reads ogb's processed file under weights_only
        ds = load_ogbg("ogbg-molbace")
        assert len(ds) == 1513
    split = ds.get_idx_split()
    assert set(split) == {"train", "valid", "test"}


def test_data_root_precedence(tmp_path, monkeypatch):
    monkeypatch.setenv("SPARSEBOX_DATA", str(tmp_path / "env"))
    assert data_root() == tmp_path / "env"
    assert data_root(tmp_path / "arg") == tmp_path / "arg"
    monkeypatch.delenv("SPARSEBOX_DATA")
    assert data_root().name == "datasets"


def test_missing_file_offline_names_file_folder_and_source(tmp_path):
    with pytest.raises(DatasetNotFoundError) as err:
        fetch("karate", tmp_path, download=False)
    msg = str(err.value)
    assert "karate.graph" in msg and str(tmp_path) in msg and "https://" in msg


def test_failed_download_gives_one_clear_error(tmp_path, offline):
    with pytest.raises(DatasetNotFoundError, match="download from https://.* failed"):
        load_graph("karate", tmp_path)
    assert not list(tmp_path.rglob("*.part"))


def test_planetoid_missing_offline(tmp_path):
    from graphsparse.datasets import load_planetoid

    with pytest.raises(DatasetNotFoundError, match="ind.pubmed.x"):
        load_planetoid("pubmed", tmp_path, download=False)
    with pytest.raises(DatasetNotFoundError, match="download failed"):  # this machine is offline
        load_planetoid("pubmed", tmp_path, download=True)
    assert list(tmp_path.iterdir()) == []  # no empty planetoid/PubMed/raw/ left behind


def test_fetch_verifies_checksums(data_dir):
    (path,) = fetch("karate", verify=True)
    assert path.exists()


@pytest.mark.parametrize(
    "text, message",
    [
        ("3 2\n2\n1 3\n2\n", None),
        ("3 2\n2\n1 3\n", "header says 3 vertices but 2 vertex lines"),
        ("3 5\n2\n1 3\n2\n", "header says 5 edges"),
        ("3 2\n2\n1 4\n2\n", "line 3 names vertex 4"),
        ("x y\n", "bad METIS header"),
        ("3 2 011\n5 2 1\n1 1 1 3 2\n1 2 2\n", None),
        ("3 2 001\n2 1\n1 1 3\n2 1\n", "malformed token count"),
        ("2 1\n2\n2\n", r"line 2 \(vertex 1\) lists vertex 2, but vertex 2 \(line 3\) does "
                          "not list 1; METIS lists each edge at both ends"),
        ("3 2 1\n2 5 3 1\n1 5\n1 2\n", "vertex 3 .line 4. does not list 1 with the same weight"),
        ("% c\n% c\n3 2\n2 3\n1 3\n\n", r"line 4 \(vertex 1\) lists vertex 3, but vertex 3 "
                                       r"\(line 6\)"),
        ("3 2 001\n2 5 2 3\n1 3 1 5\n\n", r"line 2 \(vertex 1\) lists vertex 2 twice"),
        ("3 2\n2\n1 3\n2_0\n", r"line 4 \(vertex 3\) holds a token that is not a number"),
        ("3 2 001\n2 5\n1 5 3 \u0661\n2 1\n", r"line 3 \(vertex 2\) holds a token"),
        ("3 2\n2\n1\u00a03\n2\n", None),  # a no-break space separates, as Python splits
        ("3_0 2\n2\n1 3\n2\n", "bad METIS header"),
        # numpy's "Python int too large to convert to C long", as an internal error
        ("3 2\n2\n1 99999999999999999999\n2\n", r"line 3 \(vertex 2\) holds "
                                                 r"99999999999999999999, a number past int64"),
    ],
)
def test_metis_parser_cases(tmp_path, text, message):
    path = tmp_path / "g.graph"
    path.write_text(text)
    if message is None:
        g = read_metis(path)
        assert g.num_nodes == 3 and g.num_edges == 2
    else:
        with pytest.raises(GraphFileError, match=message) as err:
            read_metis(path)
        assert str(path) in str(err.value)


def test_metis_vertex_and_edge_weights(tmp_path):
    path = tmp_path / "w.graph"
    path.write_text("% comment\n3 2 011\n5 2 1\n1 1 1 3 2\n1 2 2\n")
    g = read_metis(path)
    assert g.weights.tolist() == [1.0, 2.0]


def test_edge_list_csv_with_header_and_errors(tmp_path):
    path = tmp_path / "e.csv"
    path.write_text("source,target,weight\n0,1,2.5\n1,2,1.0\n# comment\n")
    g = read_edge_list(path, delimiter=",")
    assert g.num_edges == 2 and g.weights.tolist() == [2.5, 1.0]
    bad = tmp_path / "bad.txt"
    bad.write_text("0 1\n1 2 3 4\n")
    with pytest.raises(GraphFileError, match="line 2"):
        read_edge_list(bad)
    bad.write_text("# weights\n0 1 1\n1 2 -2\n")
    with pytest.raises(GraphFileError, match="line 3: a weight must be positive and finite, "
                                             "got -2$"):
        read_edge_list(bad)


def test_networkx_write_edgelist_with_data_is_named_with_the_writer_to_use(tmp_path):
    """networkx's default write_edgelist writes "0 1 {'weight': 4}": the error said only that
    'u v [w]' was expected."""
    import networkx as nx

    graph = nx.Graph()
    graph.add_edge(0, 1, weight=4)
    graph.add_edge(1, 2, weight=2)
    path = tmp_path / "g.txt"
    nx.write_edgelist(graph, path)
    with pytest.raises(GraphFileError, match=r"line 1: expected .*; networkx's write_edgelist "
                                             r"wrote its data dicts: write the file with "
                                             r"write_weighted_edgelist"):
        read_edge_list(path)
    nx.write_weighted_edgelist(graph, path)
    assert read_edge_list(path).weights.tolist() == [4.0, 2.0]


def test_edge_list_first_lines_that_are_numbers_are_edges_and_node_ids_are_checked(tmp_path):
    path = tmp_path / "e.txt"
    path.write_text("1e0 2\n0 1\n2 3\n")  # a number, though not written as an integer
    assert read_edge_list(path).num_edges == 3
    path.write_text("+1 2\n0 3\n")
    assert read_edge_list(path).num_edges == 2
    for text, line, shown in (("0 1\n1.5 2\n", 2, "1.5"), ("0 1\n2 -1\n", 2, "-1"),
                              ("0.5 1\n", 1, "0.5"), ("0 inf\n", 1, "inf")):
        path.write_text(text)
        with pytest.raises(GraphFileError, match=f"line {line}: a node id must be a non-negative "
                                                 f"integer, got {shown}$"):
            read_edge_list(path)
    # Python's own number syntax had read these as nodes 10 and 1
    for text, line, shown in (("0 1\n1 1_0\n", 2, "'1_0'"), ("0 \u0661\n", 1, "'\u0661'"),
                              ("1_0 2\n0 1\n", 1, "'1_0'")):  # not a header of two names
        path.write_text(text)
        with pytest.raises(GraphFileError, match=f"line {line}: a node id must be a non-negative "
                                                 f"integer .*, got {shown} in"):
            read_edge_list(path)
    path.write_text("0 1\n1 2\n2 9223372036854775808\n")  # past int64
    with pytest.raises(GraphFileError, match="line 3: a node id must be a non-negative integer"):
        read_edge_list(path)
    path.write_bytes("\ufeff0,1\n1,2\n".encode())  # a byte-order mark is not a header
    assert read_edge_list(path, delimiter=",").num_edges == 2
    path.write_text("source,target\n")  # a header alone holds no graph
    with pytest.raises(GraphFileError, match="no edges$"):
        read_edge_list(path, delimiter=",")
    path.write_text("0;1\n")  # a lone line of numbers split otherwise: named so
    with pytest.raises(GraphFileError, match="line 1: '0;1' holds numbers separated by semicolons"):
        read_edge_list(path)
    path.write_text("a;b\n")  # a lone line that is neither edges nor a header: another format
    with pytest.raises(GraphFileError, match="line 1 is not 'u v \\[w\\]' and no edge follows"):
        read_edge_list(path)


def test_a_data_folder_without_write_bits_is_mirrored_even_for_root(tmp_path, monkeypatch):
    from sparsebox.data.root import writable_mirror

    monkeypatch.setenv("SPARSEBOX_CACHE", str(tmp_path / "cache"))
    data = tmp_path / "data"
    (data / "raw").mkdir(parents=True)
    assert writable_mirror(data, "ds") == data
    data.chmod(0o555)
    try:
        mirror = writable_mirror(data, "ds")
    finally:
        data.chmod(0o755)
    assert mirror != data and (mirror / "raw").resolve() == (data / "raw").resolve()


def test_a_mirror_drops_links_to_what_left_the_data_folder(tmp_path, monkeypatch):
    """Cora's processed/ left the read-only data root: its dangling link made PyG's
    makedirs fail with FileExistsError."""
    from sparsebox.data.root import writable_mirror

    monkeypatch.setenv("SPARSEBOX_CACHE", str(tmp_path / "cache"))
    data = tmp_path / "data"
    (data / "raw").mkdir(parents=True)
    (data / "processed").mkdir()
    data.chmod(0o555)
    try:
        mirror = writable_mirror(data, "ds")
        assert (mirror / "processed").is_symlink()
        data.chmod(0o755)
        (data / "processed").rmdir()
        data.chmod(0o555)
        mirror = writable_mirror(data, "ds")
    finally:
        data.chmod(0o755)
    assert not (mirror / "processed").is_symlink() and (mirror / "raw").exists()
    (mirror / "processed").mkdir()  # what PyG does next


def test_unknown_path_or_name():
    with pytest.raises(FileNotFoundError, match="^no-such-graph: no such file, and not a dataset name"):
        load_graph("no-such-graph")
    # the name is quoted where a space at an end would not show ("karate : no such file")
    with pytest.raises(FileNotFoundError, match="^' karate': no such file, .*did you mean 'karate'"):
        load_graph(" karate")


@pytest.mark.parametrize("suffix", [".mtx", ".graph", ".metis", ".csv", ".txt"])
@pytest.mark.parametrize("weighted", [False, True])
def test_write_graph_reads_back_the_same_graph(tmp_path, suffix, weighted):
    from sparsebox.data.graphs import write_graph

    weights = [2.0, 3.0, 5.0] if weighted else None
    g = SparseStructure.from_edges([0, 1, 2], [1, 2, 3], weights, symmetrize="max")
    path = tmp_path / f"g{suffix}"
    write_graph(g, path)
    back = load_graph(path)
    assert sorted(zip(back.rows.tolist(), back.cols.tolist(), back.weights.tolist(),
                      strict=True)) == sorted(zip(g.rows.tolist(), g.cols.tolist(),
                                                  g.weights.tolist(), strict=True))
    if suffix in (".mtx", ".graph", ".metis"):  # formats that say whether there are weights
        assert back.is_weighted == weighted


def test_write_graph_refuses_what_its_format_cannot_hold(tmp_path):
    from sparsebox.data.graphs import write_graph

    lonely = SparseStructure.from_edges([0, 1], [1, 2], None, symmetrize="max", num_nodes=5)
    with pytest.raises(ValueError, match="the 2 nodes after node 2"):
        write_graph(lonely, tmp_path / "g.txt")
    write_graph(lonely, tmp_path / "g.mtx")
    assert load_graph(tmp_path / "g.mtx").num_nodes == 5
    assert not (tmp_path / "g.txt").exists()
    looped = SparseStructure.from_edges([0, 1, 2], [1, 2, 2], [1.0, 1.0, 4.0], symmetrize="max")
    with pytest.raises(ValueError, match="METIS files cannot hold self-loops"):
        write_graph(looped, tmp_path / "looped.graph")
    assert not (tmp_path / "looped.graph").exists()


@pytest.mark.parametrize("suffix", [".mtx", ".txt"])
def test_self_loops_read_back_from_the_formats_that_hold_them(tmp_path, suffix):
    """A Matrix Market diagonal is not edges, unless write_graph marked it as loops."""
    from sparsebox.data.graphs import MTX_LOOPS_MARKER, write_graph

    looped = SparseStructure.from_edges([0, 1, 2], [1, 2, 2], [1.0, 1.0, 4.0], symmetrize="max")
    write_graph(looped, tmp_path / f"looped{suffix}", comment="mine")
    back = load_graph(tmp_path / f"looped{suffix}")
    assert sorted(zip(back.rows.tolist(), back.cols.tolist(), back.weights.tolist(),
                      strict=True)) == [(0, 1, 1.0), (1, 2, 1.0), (2, 2, 4.0)]
    if suffix == ".mtx":
        text = (tmp_path / "looped.mtx").read_text()
        assert "%mine" in text and MTX_LOOPS_MARKER in text
        unmarked = tmp_path / "unmarked.mtx"
        unmarked.write_text(text.replace(MTX_LOOPS_MARKER, "another comment"))
        assert load_graph(unmarked).num_items == 2  # a matrix's diagonal


def test_write_graph_keeps_weights_an_unweighted_graph_summed_up(tmp_path):
    from sparsebox.data.graphs import write_graph

    # a pattern file's parallel entries add up to 2: the graph says unweighted, its weights do not
    g = SparseStructure.from_edges([0, 0, 1], [1, 1, 2], None, symmetrize="sum",
                                   duplicates="sum")
    assert not g.is_weighted and sorted(g.weights.tolist()) == [1.0, 2.0]
    for suffix in (".mtx", ".txt"):
        write_graph(g, tmp_path / f"g{suffix}")
        back = load_graph(tmp_path / f"g{suffix}")
        assert sorted(back.weights.tolist()) == [1.0, 2.0]


def test_load_graph_reads_upper_case_suffixes(tmp_path):
    from sparsebox.data.graphs import write_graph

    g = SparseStructure.from_edges([0, 1], [1, 2], None, symmetrize="max")
    write_graph(g, tmp_path / "H.MTX")
    assert load_graph(tmp_path / "H.MTX").num_edges == 2


def test_a_read_only_data_root_is_never_written_and_its_downloads_go_to_the_cache(
        tmp_path, monkeypatch):
    """A missing dataset made its folders in the data root before the download (which the tests
    refuse) failed; on a read-only root they go to the cache, where later runs find them."""
    import os
    import shutil

    from graphsparse.datasets import load_planetoid
    from graphsparse.gtsp.data import load_molecules
    from sparsebox.data.sources import DatasetNotFoundError, fetch, get_dataset

    monkeypatch.setenv("SPARSEBOX_CACHE", str(tmp_path / "cache"))
    root = tmp_path / "data"
    root.mkdir()
    root.chmod(0o555)
    try:
        for load in (lambda: load_planetoid("pubmed", root), lambda: fetch("karate", root),
                     lambda: load_molecules("ogbg-molhiv", root)):
            with pytest.raises(DatasetNotFoundError):
                load()
            assert list(root.iterdir()) == []
    finally:
        root.chmod(0o755)
    karate = get_dataset("karate").files[0].path
    cached = tmp_path / "cache" / "downloads" / karate
    cached.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(Path(os.environ["SPARSEBOX_DATA"]) / karate, cached)
    root.chmod(0o555)
    try:
        assert fetch("karate", root) == [cached]
    finally:
        root.chmod(0o755)


class _BrokenStream:
    """What ``urlopen`` gives when the connection breaks after the first block."""

    def __init__(self, error: BaseException) -> None:
        self.error, self.blocks = error, 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def read(self, size):
        self.blocks += 1
        if self.blocks > 1:
            raise self.error
        return b"x" * 10


@pytest.mark.parametrize("error", ["IncompleteRead", "KeyboardInterrupt"])
def test_a_download_that_breaks_leaves_no_part_file_and_no_folder(tmp_path, monkeypatch, error):
    """A broken connection (not an OSError) escaped as an internal error and left
    ``karate.graph.part``; the folders made for it (a mistyped data root's too) stayed."""
    import http.client

    raised = (http.client.IncompleteRead(b"x") if error == "IncompleteRead"
              else KeyboardInterrupt())
    monkeypatch.setattr(urllib.request, "urlopen", lambda *a, **k: _BrokenStream(raised))
    root = tmp_path / "typo" / "data"
    expected = DatasetNotFoundError if error == "IncompleteRead" else KeyboardInterrupt
    with pytest.raises(expected):
        load_graph("karate", root)
    assert list(tmp_path.iterdir()) == []


def test_a_data_root_that_is_a_file_is_refused_with_where_it_came_from(tmp_path, monkeypatch):
    from sparsebox.cli import main
    from sparsebox.exceptions import InvalidParameterError

    file = tmp_path / "data.txt"
    file.write_text("not a folder")
    monkeypatch.setenv("SPARSEBOX_DATA", str(file))
    with pytest.raises(InvalidParameterError, match=r"data root .*data.txt \(\$SPARSEBOX_DATA\) "
                                                   "is not a folder"):
        load_graph("karate")
    assert main(["graph", "info", "karate"]) == 2
    assert file.read_text() == "not a folder"


def test_each_read_only_data_root_gets_its_own_mirror(tmp_path, monkeypatch):
    """Two read-only roots shared one mirror: the second got the first one's files (and what
    PyG had processed from them)."""
    from sparsebox.data.root import writable_mirror

    monkeypatch.setenv("SPARSEBOX_CACHE", str(tmp_path / "cache"))
    mirrors = []
    for name in ("a", "b"):
        data = tmp_path / name / "Cora"
        (data / "raw").mkdir(parents=True)
        (data / "raw" / "ind.cora.graph").write_text(name)
        data.chmod(0o555)
        try:
            mirrors.append(writable_mirror(data, "planetoid/Cora"))
        finally:
            data.chmod(0o755)
    assert mirrors[0] != mirrors[1]
    assert [(m / "raw" / "ind.cora.graph").read_text() for m in mirrors] == ["a", "b"]


def test_present_and_verify_see_the_cache_downloads_of_a_read_only_root(tmp_path, monkeypatch):
    """``data list`` said "no" for a dataset the loaders found in the cache, and
    ``fetch(verify=True)`` did not check the file it found there."""
    import os
    import shutil

    from sparsebox.data.sources import get_dataset

    monkeypatch.setenv("SPARSEBOX_CACHE", str(tmp_path / "cache"))
    info = get_dataset("karate")
    cached = tmp_path / "cache" / "downloads" / info.files[0].path
    cached.parent.mkdir(parents=True)
    shutil.copy(Path(os.environ["SPARSEBOX_DATA"]) / info.files[0].path, cached)
    root = tmp_path / "data"
    root.mkdir()
    root.chmod(0o555)
    try:
        assert info.present(root)
        assert fetch("karate", root, verify=True) == [cached]
        with cached.open("a") as fh:
            fh.write("% tampered\n")
        with pytest.raises(ValueError, match="sha256 differs"):
            fetch("karate", root, verify=True)
    finally:
        root.chmod(0o755)
    assert not info.present(root)


def test_a_dataset_the_catalogue_ships_no_files_for_is_found_where_its_loader_puts_it(tmp_path):
    """``data list`` could never say "yes" for pubmed, and ``fetch("pubmed")`` gave []."""
    from sparsebox.data.sources import get_dataset

    info = get_dataset("pubmed")
    assert not info.present(tmp_path)
    with pytest.raises(DatasetNotFoundError, match="ships no files for it: PyG's Planetoid"):
        fetch("pubmed", tmp_path)
    raw = tmp_path / "planetoid" / "PubMed" / "raw"
    raw.mkdir(parents=True)
    for part in PLANETOID_RAW_PARTS[1:]:
        (raw / f"ind.pubmed.{part}").write_bytes(b"")
    assert not info.present(tmp_path)  # the loader needs every raw file
    (raw / "ind.pubmed.x").write_bytes(b"")
    assert info.present(tmp_path)
    assert fetch("pubmed", tmp_path) == sorted(raw.iterdir())


def test_planetoid_and_ogb_downloads_that_break_leave_nothing(tmp_path, monkeypatch):
    """PyG (fsspec over aiohttp) and ogb raise neither OSError nor HTTPException when a
    download breaks, and left their partial files for the next run to trip over."""
    import aiohttp
    from ogb.graphproppred import PygGraphPropPredDataset
    from torch_geometric.datasets import Planetoid

    from graphsparse.datasets import load_ogbg, load_planetoid

    def half_then(error):
        def download(self):
            Path(self.raw_dir).mkdir(parents=True, exist_ok=True)
            (Path(self.raw_dir) / "half.bin").write_bytes(b"half")
            raise error
        return download

    monkeypatch.setattr(Planetoid, "download",
                        half_then(aiohttp.ClientPayloadError("connection broke")))
    with pytest.raises(DatasetNotFoundError, match="download failed .connection broke"):
        load_planetoid("pubmed", tmp_path)
    monkeypatch.setattr(PygGraphPropPredDataset, "download",
                        half_then(RuntimeError("Stopped downloading due to interruption.")))
    with pytest.raises(DatasetNotFoundError, match="download failed .Stopped downloading"):
        load_ogbg("ogbg-molhiv", tmp_path)
    assert list(tmp_path.iterdir()) == []


def _ogb_copy(data_dir: Path, root: Path) -> Path:
    """A writable copy of the shared ogbg-molbace under ``root`` (its raw files and split)."""
    import shutil

    folder = root / "ogb" / "ogbg_molbace"
    shutil.copytree(data_dir / "ogb" / "ogbg_molbace", folder, ignore=shutil.ignore_patterns("processed"))
    for path in (folder, *folder.rglob("*")):
        path.chmod(path.stat().st_mode | 0o200)
    return folder


def test_an_ogb_dataset_with_a_missing_file_names_it_and_downloads_nothing(tmp_path, data_dir):
    """A raw file missing made ogb try to download the whole dataset: `error: <urlopen error>`."""
    from graphsparse.datasets import load_ogbg

    folder = _ogb_copy(data_dir, tmp_path)
    (folder / "raw" / "edge-feat.csv.gz").unlink()
    with pytest.raises(DatasetNotFoundError, match=r"ogbg-molbace: .*raw/edge-feat\.csv\.gz is missing"):
        load_ogbg("ogbg-molbace", tmp_path)


def test_an_ogb_dataset_with_a_damaged_file_names_the_dataset_and_the_file(tmp_path, data_dir):
    """A truncated raw file gave `error: an input file ends early` (no file named), a damaged
    processed/ file `error: 105` or `error: [Errno 22] Invalid argument`."""
    from graphsparse.datasets import load_ogbg
    from sparsebox.exceptions import InputFileError

    folder = _ogb_copy(data_dir, tmp_path)
    raw = folder / "raw" / "node-feat.csv.gz"
    good = raw.read_bytes()
    raw.write_bytes(good[: len(good) // 4])
    with pytest.raises(InputFileError, match=r"ogbg-molbace: cannot read .*raw/node-feat\.csv\.gz "
                                             r"differs from the catalogue"):
        load_ogbg("ogbg-molbace", tmp_path)
    raw.write_bytes(good)
    (folder / "processed").mkdir(exist_ok=True)
    (folder / "processed" / "geometric_data_processed.pt").write_bytes(b"not a torch file\n")
    with pytest.raises(InputFileError, match=r"ogbg-molbace: cannot read .*processed .*delete that"):
        load_ogbg("ogbg-molbace", tmp_path)
    assert raw.read_bytes() == good  # the inputs are left as they were


def test_a_mistyped_dataset_name_is_answered_with_the_closest_names():
    """`graph info coraa` and get_dataset("fe_4elt") listed every name but suggested none."""
    from sparsebox.data.sources import get_dataset

    with pytest.raises(ValueError, match=r"unknown dataset 'fe_4elt' \(did you mean 'fe_4elt2'\?\); known: "):
        get_dataset("fe_4elt")
    with pytest.raises(FileNotFoundError, match=r"not a dataset name \(did you mean 'cora'\?\)"):
        load_graph("coraa")
    with pytest.raises(FileNotFoundError, match=r"not a dataset name \(see"):  # nothing close
        load_graph("zzzzzz")


def test_a_data_root_below_a_file_is_refused_naming_the_file(tmp_path, monkeypatch):
    """`$SPARSEBOX_DATA=data.txt/sub` gave `error: .../data.txt/sub/graphs/networkit: Not a
    directory`, naming neither the data root nor where it came from."""
    from sparsebox.cli import main
    from sparsebox.exceptions import InvalidParameterError

    file = tmp_path / "data.txt"
    file.write_text("not a folder")
    monkeypatch.setenv("SPARSEBOX_DATA", str(file / "sub"))
    with pytest.raises(InvalidParameterError, match=r"data root .*data.txt/sub \(\$SPARSEBOX_DATA\) "
                                                   r"is not a folder: .*data.txt is a file"):
        load_graph("karate")
    assert main(["graph", "info", "karate"]) == 2
    assert file.read_text() == "not a folder"


def test_a_pyg_planetoid_folder_in_another_case_is_not_present(tmp_path):
    """PyG's `Planetoid(root, "pubmed")` leaves `pubmed/raw`: `data list` said pubmed was there
    and `graph info pubmed` read it, while `graph teddy --dataset pubmed` looked in `PubMed/raw`
    only and set off a download."""
    from sparsebox.data.sources import get_dataset

    raw = tmp_path / "planetoid" / "pubmed" / "raw"
    raw.mkdir(parents=True)
    for part in PLANETOID_RAW_PARTS:
        (raw / f"ind.pubmed.{part}").write_bytes(b"")
    if (tmp_path / "planetoid" / "PubMed").exists():  # a file system that ignores case
        pytest.skip("names differing only in case are one folder here")
    assert not get_dataset("pubmed").present(tmp_path)
    with pytest.raises(DatasetNotFoundError, match=r"no planetoid/PubMed/raw/ind\.pubmed\.graph in"):
        load_graph("pubmed", tmp_path)


def test_a_damaged_dataset_file_loaded_by_name_is_named_as_by_its_path(tmp_path, data_dir,
                                                                        offline):
    """By name, a file of bytes that are not text was "'utf-8' codec can't decode byte 0x84"
    and a cut bz2 file "Compressed file ended before the end-of-stream marker" (no file named,
    also in `sparsebox graph info`), a folder in a file's place an IsADirectoryError; by path
    each was a GraphFileError naming the file."""
    folder = tmp_path / "graphs" / "networkit"
    folder.mkdir(parents=True)
    (folder / "jazz.graph").write_bytes(b"\x84" + bytes(range(256)))
    (folder / "wave.graph.bz2").write_bytes(
        (data_dir / "graphs" / "networkit" / "wave.graph.bz2").read_bytes()[:1000])
    (folder / "karate.graph").mkdir()
    for name, file, message in (
            ("jazz", "jazz.graph", "jazz.graph: .*line 1"),
            ("wave", "wave.graph.bz2", "wave.graph.bz2: the compressed file is truncated or damaged")):
        for given in (name, folder / file):
            with pytest.raises(GraphFileError, match=message):
                load_graph(given, tmp_path, download=False)
    with pytest.raises(InputFileError, match="karate.graph: is a folder, not a graph file"):
        load_graph("karate", tmp_path, download=False)


def test_a_dataset_file_of_another_size_is_read_with_a_warning(tmp_path, data_dir, offline):
    """`sparsebox data list` counted a karate.graph of 3 nodes absent, while load_graph("karate")
    read it without a word."""
    folder = tmp_path / "graphs" / "networkit"
    folder.mkdir(parents=True)
    (folder / "karate.graph").write_text("3 2\n2\n1 3\n2\n")
    with pytest.warns(UserWarning, match=r"karate.graph: 12 bytes, where the catalogue's karate "
                      r"file has 450: not the catalogue's copy \(`sparsebox data list` counts it "
                      r"absent\)"):
        assert load_graph("karate", tmp_path, download=False).num_nodes == 3
    assert get_dataset("karate").files_present(tmp_path) == 0
    (folder / "karate.graph").write_bytes((data_dir / "graphs/networkit/karate.graph").read_bytes())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load_graph("karate", tmp_path, download=False).num_nodes == 34


def test_the_catalogue_is_read_only():
    """catalogue() gave its one cached dict: a caller's pop made karate unknown to the process."""
    with pytest.raises(AttributeError):
        catalogue().pop("karate")
    with pytest.raises(TypeError):
        catalogue()["mine"] = catalogue()["karate"]
    with pytest.raises(TypeError):
        del catalogue()["karate"]
    assert "karate" in catalogue() and "mine" not in catalogue()


def test_a_download_that_fails_says_where_to_place_the_file(tmp_path, offline):
    folder = tmp_path / "graphs" / "networkit"
    with pytest.raises(DatasetNotFoundError, match=rf"failed \(.*no route to host.*\): get it from there "
                                                   rf"and place it in {folder}$"):
        fetch("karate", tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_node_dataset_names_are_checked_against_the_catalogue(tmp_path):
    """`load_node_dataset("karate")` said `must be one of [...] or ogbn-*` while ogbn-products
    was refused, and `load_planetoid("ogbn-arxiv")` that ogbn-* would do."""
    from graphsparse.datasets import load_node_dataset, load_planetoid
    from sparsebox.exceptions import InvalidParameterError

    for name in ("karate", "ogbn-products"):
        with pytest.raises(InvalidParameterError, match=rf"dataset must be one of cora, citeseer, pubmed, "
                                                        rf"ogbn-arxiv, got '{name}'$"):
            load_node_dataset(name, tmp_path, download=False)
    with pytest.raises(InvalidParameterError, match=r"one of cora, citeseer, pubmed \(Planetoid\), got "):
        load_planetoid("ogbn-arxiv", tmp_path, download=False)
    (tmp_path / "planetoid" / "Cora" / "raw").mkdir(parents=True)
    for part in PLANETOID_RAW_PARTS[1:]:
        (tmp_path / "planetoid" / "Cora" / "raw" / f"ind.cora.{part}").write_bytes(b"")
    with pytest.raises(DatasetNotFoundError, match=r"missing ind\.cora\.x in "):  # not "(and 0 more)"
        load_planetoid("cora", tmp_path, download=False)


@pytest.mark.parametrize("lines, message", [
    ("# by hand\n0 1\n1 2 3\n", "line 3: expected 2 fields ('u v'), as line 2 has, got '1 2 3'"),
    ("0 1 2\n1 2\n", "line 2: expected 3 fields ('u v w'), as line 1 has, got '1 2'"),
])
def test_an_edge_list_names_the_width_its_first_edge_set(tmp_path, lines, message):
    """Without a header the first edge sets the width; a later line of the other width was told
    "expected 'u v [w]'", which it is."""
    path = tmp_path / "e.txt"
    path.write_text(lines)
    with pytest.raises(GraphFileError, match=re.escape(f"{path}: {message}")):
        read_edge_list(path)


def test_data_list_on_a_read_only_root_makes_no_cache_folder(tmp_path, monkeypatch, cli):
    """`data list` made ~/.cache/sparsebox (or $SPARSEBOX_CACHE) only to say where downloads of
    a read-only root would go."""
    monkeypatch.setenv("SPARSEBOX_CACHE", str(tmp_path / "cache"))
    root = tmp_path / "data"
    root.mkdir()
    root.chmod(0o555)
    try:
        assert cli("data", "list", "--root", root).exit_code == 0
    finally:
        root.chmod(0o755)
    assert not (tmp_path / "cache").exists()


def test_a_file_the_source_names_otherwise_is_to_be_placed_under_the_catalogue_name(tmp_path, offline):
    """Offline, `fetch("donut")` said to get `.../fused.ply` and place it in the folder: saved
    under its source's name, the file was still missing."""
    folder = tmp_path / "3d" / "gaussians"
    with pytest.raises(DatasetNotFoundError, match=rf"fused\.ply failed .*: get it from there and place it "
                                                   rf"in {folder} as gshairlod_donut_fused_sh0\.ply$"):
        fetch("donut", tmp_path)
    with pytest.raises(DatasetNotFoundError, match=r"place it there as bunny_trimesh_res2\.ply$"):
        fetch("bunny", tmp_path, download=False)
    assert list(tmp_path.iterdir()) == []


def test_a_file_made_from_its_source_is_not_downloaded(tmp_path, offline):
    """lego's transforms_train.json is filtered from the source's: its catalogue url
    `.../transforms_train.json (filtered)` was opened (`URL can't contain control characters`)
    and the error said to place the source's unfiltered file there."""
    (tmp_path / "3d" / "nerf_synthetic_lego_subset").mkdir(parents=True)
    (tmp_path / "3d" / "nerf_synthetic_lego_subset" / "transforms_train_original100.json").write_text("{}")
    made = (r"'.*/transforms_train\.json' of dataset 'lego'.*; it is made from "
            r"https://\S+/transforms_train\.json \(filtered\), not downloaded: place")
    with pytest.raises(DatasetNotFoundError, match=made):
        fetch("lego", tmp_path)
    assert offline == []  # no URL was opened


def test_an_empty_data_root_argument_is_refused(tmp_path, monkeypatch):
    """`load_graph("karate", root="")` (an unset variable) took the current folder as the data
    root, and would download into it."""
    from sparsebox.exceptions import InvalidParameterError

    monkeypatch.chdir(tmp_path)
    with pytest.raises(InvalidParameterError, match=r"data root '' \(the argument\) is empty"):
        fetch("karate", "")
    assert list(tmp_path.iterdir()) == []


def test_an_offline_error_names_every_missing_file_of_the_dataset(tmp_path, offline):
    """Offline, `load_graph("cora")` named ind.cora.x only: a user who placed it was told of
    ind.cora.tx next, and so on, one run per file of the eight."""
    raw = tmp_path / "planetoid" / "Cora" / "raw"
    raw.mkdir(parents=True)
    (raw / "ind.cora.tx").write_bytes(b"")  # present: not named
    with pytest.raises(DatasetNotFoundError, match=re.escape(
            "missing file 'planetoid/Cora/raw/ind.cora.x' of dataset 'cora' (and 6 more of its "
            "files: planetoid/Cora/raw/ind.cora.allx, planetoid/Cora/raw/ind.cora.y, planetoid/Cora/"
            "raw/ind.cora.ty, planetoid/Cora/raw/ind.cora.ally, planetoid/Cora/raw/ind.cora.graph, "
            "...): searched ")):
        load_graph("cora", tmp_path)
    with pytest.raises(DatasetNotFoundError, match="of dataset 'cora' .and 6 more of its files: "):
        fetch("cora", tmp_path, download=False)
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["Cora", "ind.cora.tx", "planetoid", "raw"]


def test_write_graph_takes_any_graph_form_and_load_graph_names_a_bad_argument(tmp_path):
    """write_graph(networkx graph) was AttributeError: 'Graph' object has no attribute
    'is_undirected'; load_graph(None) a TypeError of Path's, load_graph("") read the working
    folder ("is a folder, not a graph file")."""
    import networkx as nx
    import torch

    from sparsebox.data.graphs import write_graph
    from sparsebox.exceptions import InvalidParameterError

    write_graph(nx.path_graph(4), tmp_path / "path.mtx")
    write_graph(torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]]), tmp_path / "ei.txt")
    assert (load_graph(tmp_path / "path.mtx").num_edges, load_graph(tmp_path / "ei.txt").num_edges) \
        == (3, 2)
    for bad, hint in ((None, ""), ("", ""), ("  ", ""), (nx.path_graph(3), "as_structure")):
        with pytest.raises(InvalidParameterError, match="name_or_path must be a dataset name or a "
                                                        f"graph file's path, got .*{hint}"):
            load_graph(bad)


def test_an_empty_data_root_variable_is_said_to_be_empty(monkeypatch):
    """SPARSEBOX_DATA= (set, to nothing) was read as unset, and messages said "is not set"."""
    from sparsebox.data.root import default_data_root, root_origin

    monkeypatch.setenv("SPARSEBOX_DATA", "")
    assert root_origin() == "the default: $SPARSEBOX_DATA is empty"
    assert data_root() == default_data_root()
    monkeypatch.delenv("SPARSEBOX_DATA")
    assert root_origin() == "the default: $SPARSEBOX_DATA is not set"


@pytest.mark.parametrize("adjacency, message", [
    ({0: [30_000_000]}, "node id 30000000 is too large: .* a file of 1 adjacency entry may have "
                        "at most 1048576 nodes"),  # 30 M nodes in 1.1 GB for one edge
    ({0: [10**12]}, "node id 1000000000000 is too large"),  # MemoryError: 7.28 TiB
    ({0: [-1]}, "node id -1 is negative"),  # "col must be non-negative ... at position 0"
    ({0: [10**30]}, "node id 10+ is too large"),  # an internal OverflowError
    ({0: ["a"]}, "node ids must be integers, got 'a'"),  # "invalid literal", naming no file
    ({0: [1.5]}, "node ids must be integers, got 1.5"),  # read as node 1
    ({"0": [1]}, "node ids must be integers, got '0'"),  # read as node 0
])
def test_a_planetoid_pickle_s_node_ids_are_checked(tmp_path, adjacency, message):
    import pickle

    path = tmp_path / "ind.mine.graph"
    path.write_bytes(pickle.dumps(adjacency, protocol=4))
    with pytest.raises(GraphFileError, match=message) as err:
        load_graph(path)
    assert str(path) in str(err.value)


def test_a_pickle_of_another_protocol_is_not_called_bad_node_ids(tmp_path):
    path = tmp_path / "ind.mine.graph"
    path.write_bytes(b"\x80\x09" + pickle_of_ints())  # a protocol this Python does not know
    with pytest.raises(GraphFileError, match=r"not a Planetoid graph file \(unsupported pickle "
                                             r"protocol: 9\)"):
        load_graph(path)


def pickle_of_ints() -> bytes:
    import pickle

    return pickle.dumps({0: [1]}, protocol=4)[2:]


def test_a_dense_matrix_market_file_is_read(tmp_path):
    """The bound on a header's entries for the file's size, made for coordinate files (4 bytes
    an entry at least), refused an array file, whose values take 2 ("0" and a newline)."""
    path = tmp_path / "dense.mtx"
    a = np.zeros((30, 30), dtype=np.int64)
    a[np.arange(29), np.arange(1, 30)] = a[np.arange(1, 30), np.arange(29)] = 1
    scipy.io.mmwrite(path, a)
    g = read_matrix_market(path)
    assert (g.num_nodes, g.num_edges) == (30, 29)
    skew = np.zeros((60, 60))
    skew[np.arange(59), np.arange(1, 60)] = 1.0
    scipy.io.mmwrite(path, skew - skew.T, symmetry="skew-symmetric")  # no diagonal stored
    assert read_matrix_market(path).num_edges == 59
    path.write_text("%%MatrixMarket matrix array integer general\n100000 100000\n0\n")
    with pytest.raises(GraphFileError, match="header declares a dense 100000 x 100000 matrix, more "
                                             "than the file's"):
        read_matrix_market(path)


@pytest.mark.parametrize("text, message", [
    ("2 2 1\n2 1 99999999999999999999\n", "Integer out of range"),  # both an internal
    ("99999999999999999999 99999999999999999999 1\n2 1 3\n", "Integer out of range"),  # OverflowError
    # scipy allocates for the entries declared: "Unable to allocate 373. GiB"
    ("3 3 99999999999\n2 1 3\n", "line 2: the header declares 99999999999 entries, more than "
                                  "the file's 73 bytes can hold"),
])
def test_a_matrix_market_file_of_numbers_past_int64_or_memory_is_refused(tmp_path, text, message):
    path = tmp_path / "g.mtx"
    path.write_text("%%MatrixMarket matrix coordinate integer symmetric\n" + text)
    with pytest.raises(GraphFileError, match=message) as err:
        read_matrix_market(path)
    assert str(path) in str(err.value)


def test_the_readers_called_directly_name_the_file_they_cannot_read(tmp_path):
    """Through load_graph they did; called directly, a binary file was a bare
    UnicodeDecodeError, a damaged gzip a bare BadGzipFile, and a missing Matrix Market file a
    GraphFileError where the other readers raise FileNotFoundError."""
    binary = tmp_path / "g.txt"
    binary.write_bytes(b"\x00\xff\xfe garbage")
    for reader in (read_edge_list, read_metis):
        with pytest.raises(GraphFileError, match="g.txt: line 1: not a text graph file"):
            reader(binary)
    damaged = tmp_path / "g.txt.gz"
    damaged.write_text("not gzip")
    with pytest.raises(GraphFileError, match="g.txt.gz: the compressed file is truncated or damaged"):
        read_edge_list(damaged)
    for reader, name in ((read_edge_list, "no.txt"), (read_matrix_market, "no.mtx"),
                         (read_metis, "no.graph"), (read_planetoid_graph, "ind.no.graph")):
        with pytest.raises(FileNotFoundError, match=f"{name}: no such file"):
            reader(tmp_path / name)
