"""Graph files a user trial found misread or refused badly: edge-list headers, huge node ids,
files without edges, METIS weights, pattern Matrix Market weights, a dataset not downloaded.

A user's mistake is one ``error: ...`` line naming the file (and the line), exit code 2, and no
output written.
"""

from __future__ import annotations

import gzip
import pickle
import resource
import warnings
from pathlib import Path

import numpy as np
import pytest
import scipy.io

from graphsparse.stats import graph_summary
from sparsebox.data import DatasetNotFoundError, GraphFileError, load_graph, read_edge_list
from sparsebox.data.graphs import NODE_COUNT_FLOOR, read_matrix_market, read_metis, write_graph
from sparsebox.data.sources import catalogue
from sparsebox.exceptions import InputFileError
from sparsebox.structure import SparseStructure


def edges_of(graph: SparseStructure) -> list[tuple[int, int, float]]:
    return list(zip(graph.rows.tolist(), graph.cols.tolist(), graph.weights.tolist(), strict=True))


def _address_space_in_use() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmSize:"):
            return int(line.split()[1]) * 1024
    raise OSError("no VmSize in /proc/self/status")


@pytest.fixture
def capped_memory():
    """This process may allocate at most 4 GiB more while the test runs: a reader that allocates
    for a huge node id fails with ``MemoryError`` rather than exhausting the machine."""
    try:
        cap = _address_space_in_use() + (4 << 30)
    except OSError:
        pytest.skip("needs Linux's /proc/self/status")
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (cap if hard == resource.RLIM_INFINITY else min(cap, hard),
                                            hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


# ------------------------------------------------------------------ 1. edge-list headers
PANDAS_CSV = ",source,target\n0,0,1\n1,1,2\n2,2,3\n3,5,4\n"  # DataFrame.to_csv with its index


def test_a_pandas_csv_is_read_by_its_column_names_without_the_index(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text(PANDAS_CSV)
    g = read_edge_list(path, delimiter=",")
    assert edges_of(g) == [(0, 1, 1.0), (1, 2, 1.0), (2, 3, 1.0), (4, 5, 1.0)]
    assert g.num_nodes == 6 and not g.is_weighted


def test_a_pandas_file_of_any_separator_skips_its_index(tmp_path):
    """pandas writes its index column with an empty name, which a line's strip drops for tab
    and space separated files: the rows then have one field more than the header."""
    for sep, delimiter in (("\t", "\t"), (" ", None)):
        path = tmp_path / "x.txt"
        path.write_text(PANDAS_CSV.replace(",", sep))
        g = read_edge_list(path, delimiter=delimiter)
        assert edges_of(g) == [(0, 1, 1.0), (1, 2, 1.0), (2, 3, 1.0), (4, 5, 1.0)]


@pytest.mark.parametrize("text, expected", [
    ("weight,target,source\n2.5,1,0\n4,2,1\n", [(0, 1, 2.5), (1, 2, 4.0)]),
    ("Unnamed: 0,Dst,Src\n7,1,0\n8,2,1\n", [(0, 1, 1.0), (1, 2, 1.0)]),
    ("index,weight,to,from\n0,3,1,0\n", [(0, 1, 3.0)]),
    ("a,b,c\n0,1,2\n1,2,3\n", [(0, 1, 2.0), (1, 2, 3.0)]),  # other names: u v w by position
    (",a,b\n5,0,1\n", [(0, 1, 1.0)]),
    # 2 or 3 columns not all named by role, as read before names were: u v w by position
    ("source,target,timestamp\n0,1,5\n", [(0, 1, 5.0)]),
    ("i,j,weight\n0,1,2\n", [(0, 1, 2.0)]),
    (",0,1\n0,0,1\n1,1,2\n", [(0, 1, 1.0), (1, 2, 1.0)]),  # pandas' DataFrame(edges).to_csv()
    (",0,1,weight\n0,0,1,2.5\n", [(0, 1, 2.5)]),  # ... with a weight column added
])
def test_header_names_place_the_columns(tmp_path, text, expected):
    path = tmp_path / "e.csv"
    path.write_text(text)
    assert edges_of(read_edge_list(path, delimiter=",")) == expected


@pytest.mark.parametrize("header, why", [
    ("source,target,weight,time", "name the columns source, target"),
    ("source,source", "it names 2 source columns"),
    ("source,weight", "it names no target column"),
    ("source,,target", "name the columns source, target"),
    ("id", "name the columns source, target"),
    # an edge with a typo (letter O for 0) was read as a header and dropped, without a word
    ("O,1", "a header names its columns, and '1' is a number: is the line an edge with a typo"),
    # read by position, the weights were taken for the sources
    ("weight,0,1", "it names weight column 1, but other names leave the columns read by position"),
    ("time,source,target", "it names source column 2"),
])
def test_a_header_that_cannot_be_understood_is_refused_at_its_line(tmp_path, header, why):
    path = tmp_path / "e.csv"
    path.write_text(f"# made by hand\n{header}\n0,1,2\n")
    with pytest.raises(GraphFileError, match=f"line 2: cannot read the header .*{why}") as err:
        read_edge_list(path, delimiter=",")
    assert str(path) in str(err.value)


def test_edge_lines_must_have_the_header_s_fields(tmp_path):
    path = tmp_path / "e.csv"
    path.write_text("source,target\n0,1\n1,2,5\n")
    with pytest.raises(GraphFileError, match="line 3: expected 2 fields, as the header has"):
        read_edge_list(path, delimiter=",")


def test_graph_info_reads_a_pandas_csv_and_names_a_bad_header(cli, tmp_path):
    path = tmp_path / "x.csv"
    path.write_text(PANDAS_CSV)
    result = cli("graph", "info", path, "--json")
    assert result.exit_code == 0, result.output
    assert '"self_loops": 0' in result.stdout and '"weighted": false' in result.stdout
    path.write_text("source,target,weight,time\n0,1,5,7\n")
    cli("graph", "info", path).error_line(str(path), "line 1", "name the columns source, target")


# ------------------------------------------------------------------ 2. huge node ids
@pytest.mark.parametrize("node", [3_000_000_000, 9_000_000_000_000_000_000])
def test_a_node_id_far_beyond_the_edges_is_refused_with_its_line(tmp_path, capped_memory, node):
    path = tmp_path / "big.txt"
    path.write_text(f"0 1\n1 {node}\n")
    with pytest.raises(GraphFileError, match=f"big.txt: line 2: node id {node} is too large.*"
                                             "relabel the nodes 0..n-1"):
        read_edge_list(path)


def test_node_ids_with_gaps_are_isolated_nodes_up_to_the_limit(tmp_path):
    path = tmp_path / "gaps.txt"
    path.write_text(f"0 1\n1 {NODE_COUNT_FLOOR - 1}\n")
    assert read_edge_list(path).num_nodes == NODE_COUNT_FLOOR
    path.write_text(f"0 1\n1 {NODE_COUNT_FLOOR}\n")
    with pytest.raises(GraphFileError, match="line 2: node id"):
        read_edge_list(path)
    assert read_edge_list(path, num_nodes=NODE_COUNT_FLOOR + 1).num_nodes == NODE_COUNT_FLOOR + 1


def test_a_matrix_market_size_far_beyond_its_entries_is_refused(tmp_path, capped_memory):
    path = tmp_path / "big.mtx"
    path.write_text("%%MatrixMarket matrix coordinate pattern symmetric\n% a comment\n"
                    "3000000000 3000000000 1\n2 1\n")
    with pytest.raises(GraphFileError, match="big.mtx: line 3: the header declares a 3000000000 x "
                                             "3000000000 matrix for 1 entries"):
        read_matrix_market(path)


def test_graph_info_refuses_a_huge_node_id(cli, tmp_path, capped_memory):
    path = tmp_path / "big.txt"
    path.write_text("0 1\n1 3000000000\n")
    cli("graph", "info", path).error_line(str(path), "line 2", "3000000000")


# ------------------------------------------------------------------ 3. no edges
@pytest.mark.parametrize("name, text", [
    ("empty.txt", ""), ("comments.txt", "# nothing yet\n\n"), ("header.csv", "source,target\n"),
    ("zero.graph", "0 0\n"), ("zero.mtx", "%%MatrixMarket matrix coordinate pattern symmetric\n0 0 0\n"),
])
def test_a_file_without_edges_is_refused(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(GraphFileError, match=f"{name}: no edges"):
        load_graph(path)


def test_sparsify_writes_nothing_for_a_header_only_csv(cli, tmp_path):
    path = tmp_path / "h.csv"
    path.write_text("source,target\n")
    output = tmp_path / "out.mtx"
    assert cli("graph", "sparsify", path, "-o", output).error_line() == f"error: {path}: no edges"
    assert not output.exists()


# ------------------------------------------------------------------ 4. METIS edge weights
@pytest.mark.parametrize("weight", ["-1", "0", "nan", "inf"])
def test_a_bad_metis_weight_names_its_line_and_vertex(tmp_path, weight):
    path = tmp_path / "w.graph"
    path.write_text(f"% weights\n3 3 1\n2 1 3 1\n1 1 3 {weight}\n1 1 2 {weight}\n")
    with pytest.raises(GraphFileError, match=rf"w.graph: line 4 \(vertex 2\): weight must be "
                                             rf"positive and finite, got {weight}$"):
        read_metis(path)


def test_a_fractional_metis_neighbour_is_refused(tmp_path):
    path = tmp_path / "f.graph"
    path.write_text("3 2 001\n2.7 1\n1 1 3 1\n2 1\n")
    with pytest.raises(GraphFileError, match=r"line 2 \(vertex 1\): a neighbour must be a vertex "
                                             "number, got 2.7$"):
        read_metis(path)


def test_graph_info_names_the_line_of_a_negative_metis_weight(cli, tmp_path):
    path = tmp_path / "negw.graph"
    path.write_text("3 3 1\n2 -1 3 1\n1 -1 3 1\n1 1 2 1\n")
    line = cli("graph", "info", path).error_line(str(path))
    assert line.endswith("line 2 (vertex 1): weight must be positive and finite, got -1")


# ------------------------------------------------------------------ 5. weighted or not
MTX_GENERAL = "%%MatrixMarket matrix coordinate {field} general\n3 3 4\n1 2{a}\n2 1{b}\n2 3{a}\n2 3{a}\n"


def test_a_pattern_general_file_is_unweighted_as_scipy_and_networkx_read_it(tmp_path):
    import networkx as nx

    path = tmp_path / "p.mtx"
    path.write_text(MTX_GENERAL.format(field="pattern", a="", b=""))  # (2, 3) listed twice
    g = read_matrix_market(path)
    reference = nx.from_scipy_sparse_array(scipy.io.mmread(path))
    assert edges_of(g) == [(0, 1, 1.0), (1, 2, 1.0)] == [
        (u, v, float(w)) for u, v, w in sorted(reference.edges(data="weight"))]
    assert not g.is_weighted and not graph_summary(g)["weighted"]


def test_a_real_general_file_sums_both_entries_of_an_edge(tmp_path):
    path = tmp_path / "r.mtx"
    path.write_text(MTX_GENERAL.format(field="real", a=" 1.5", b=" -2"))
    g = read_matrix_market(path)
    assert edges_of(g) == [(0, 1, 3.5), (1, 2, 3.0)] and g.is_weighted


def test_rajat01_is_unweighted_and_sparsifies_to_a_pattern_file(cli, data_dir, tmp_path):
    g = load_graph("rajat01")
    assert np.all(g.weights == 1.0) and not graph_summary(g)["weighted"]
    result = cli("graph", "info", "rajat01", "--json")
    assert result.exit_code == 0 and '"weighted": false' in result.stdout
    output = tmp_path / "h.mtx"
    assert cli("graph", "sparsify", "rajat01", "-o", output).exit_code == 0
    assert output.read_text().startswith("%%MatrixMarket matrix coordinate pattern symmetric")


def test_the_summary_calls_weights_other_than_one_weighted():
    summed = SparseStructure.from_edges([0, 0, 1], [1, 1, 2], None, symmetrize="sum")
    assert not summed.is_weighted and graph_summary(summed)["weighted"]


def test_an_unweighted_edge_listed_twice_is_one_edge_of_weight_one(tmp_path):
    path = tmp_path / "twice.txt"
    path.write_text("0 1\n0 1\n1 0\n1 2\n")
    g = read_edge_list(path)
    assert edges_of(g) == [(0, 1, 1.0), (1, 2, 1.0)] and not graph_summary(g)["weighted"]
    assert edges_of(read_edge_list(path, undirected=False)) == [(0, 1, 1.0), (1, 0, 1.0),
                                                                (1, 2, 1.0)]


# ------------------------------------------------------------------ 6. a dataset not downloaded
@pytest.fixture
def empty_data_root(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "data"
    root.mkdir()
    monkeypatch.setenv("SPARSEBOX_DATA", str(root))
    monkeypatch.setenv("SPARSEBOX_CACHE", str(tmp_path / "cache"))
    return root


def test_a_dataset_missing_from_the_data_root_says_so_and_how_to_get_it(cli, empty_data_root):
    with pytest.raises(DatasetNotFoundError, match="dataset 'pubmed' is not under the data root: "
                                                   f"no planetoid/.*ind.pubmed.graph in {empty_data_root}"):
        load_graph("pubmed")
    cli("graph", "info", "pubmed").error_line("'pubmed' is not under the data root",
                                              str(empty_data_root),
                                              "sparsebox graph teddy --dataset pubmed")


def test_a_dataset_downloaded_by_pyg_is_read_from_its_raw_folder(empty_data_root):
    raw = empty_data_root / "planetoid" / "PubMed" / "raw"
    raw.mkdir(parents=True)
    (raw / "ind.pubmed.graph").write_bytes(pickle.dumps({0: [1], 1: [0, 2], 2: [1]}))
    assert edges_of(load_graph("pubmed")) == [(0, 1, 1.0), (1, 2, 1.0)]


def test_weights_beyond_float64_s_range_are_named_not_a_failed_pivot(cli, tmp_path):
    """feGRASS factors the Laplacian: weights 1e-15 .. 1e15 cancel its pivots to rounding, and
    the error says so, naming the file and the method, with nothing written."""
    rng = np.random.default_rng(0)
    rows = [(5 * r + c, 5 * r + c + 1) for r in range(5) for c in range(4)]
    rows += [(5 * r + c, 5 * r + c + 5) for r in range(4) for c in range(5)]  # a 5x5 grid
    path = tmp_path / "g.txt"
    path.write_text("".join(f"{u} {v} {10.0 ** rng.integers(-15, 16)}\n" for u, v in rows))
    out = tmp_path / "o.txt"
    line = cli("graph", "sparsify", path, "-o", out, "--method", "fegrass",
               "--density", "1.2").error_line()
    assert line.startswith(f"error: {path}: fegrass: the graph's Laplacian cannot be factored")
    assert line.endswith("to 1e+15, more orders of magnitude than float64 resolves: rescale or "
                         "clip them")
    assert not out.exists()


@pytest.mark.parametrize("text", ["0 1 2.0\n0 1 2.0\n1 2 1\n", "0 1 2.0\n1 0 2.0\n1 2 1\n",
                                  "0 1 1.5\n1 0 2.0\n0 1 0.5\n1 2 1\n"],
                         ids=["same direction", "both directions", "different weights"])
def test_an_edge_listed_more_than_once_is_one_edge_of_its_largest_weight(tmp_path, text):
    path = tmp_path / "g.txt"
    path.write_text(text)
    g = read_edge_list(path)
    assert g.is_undirected and g.weights.tolist() == [2.0, 1.0]


def test_a_seed_given_to_a_method_that_draws_none_is_refused(cli, tmp_path):
    path = tmp_path / "g.txt"
    path.write_text("0 1\n1 2\n2 3\n3 0\n")
    line = cli("graph", "sparsify", path, "-o", tmp_path / "o.mtx", "--method", "teddy",
               "--seed", "3").error_line("--seed")
    assert line.endswith("does not apply to --method teddy, which draws no random numbers")
    assert cli("graph", "sparsify", path, "-o", tmp_path / "o.mtx", "--method", "teddy"
               ).exit_code == 0  # the default seed is no mistake


def test_a_metis_weight_too_large_for_a_64_bit_integer_is_refused_not_written_negative(cli, tmp_path):
    """An integral weight of 1e20 was cast to int64 and written as -9223372036854775808: a file
    that its own reader then refused. It is refused before anything is written."""
    from sparsebox.data.graphs import check_graph_writable, write_graph

    g = SparseStructure.from_edges([0, 1], [1, 2], [1e20, 5.0], num_nodes=3, symmetrize="max")
    out = tmp_path / "big.graph"
    with pytest.raises(ValueError, match=r"big.graph: METIS edge weights must be integers below "
                                         r"2\*\*63, got 1e\+20; write .mtx"):
        check_graph_writable(g, out)
    with pytest.raises(ValueError, match="below 2"):
        write_graph(g, out)
    assert not out.exists()
    path = tmp_path / "g.txt"
    path.write_text("0 1 100000000000000000000\n1 2 5\n2 0 3\n")
    line = cli("graph", "sparsify", path, "-o", out, "--method", "random", "--keep-ratio",
               "1").error_line()
    assert line.startswith("error: ") and "METIS edge weights must be integers below 2**63" in line
    assert not out.exists()
    write_graph(g, tmp_path / "big.mtx")  # Matrix Market holds it
    assert load_graph(tmp_path / "big.mtx").weights.max() == 1e20


@pytest.mark.parametrize("name", sorted(n for n, d in catalogue().items()
                                         if d.kind not in ("metis", "matrix-market", "planetoid")))
def test_a_dataset_that_is_not_a_graph_says_what_reads_it(name):
    """It said "'ogbg-molbace' is a ogbg dataset, not a graph", naming nothing that reads it."""
    from sparsebox.exceptions import InvalidParameterError

    with pytest.raises(InvalidParameterError, match=fr"'{name}' is an? .*, not a graph: `sparsebox "):
        load_graph(name)


# ------------------------------------------------------------------ 5. a second user trial
def test_a_byte_that_is_not_utf8_is_named_by_its_line_and_offset_in_the_file(cli, tmp_path):
    """The offset was the decoder's in the block it was decoding (byte 3222 of a file whose bad
    byte is at 27798), and no line was named."""
    lines = [f"{i} {i + 1}\n".encode() for i in range(5000)]
    lines[3000] = b"3000 3001 # caf\xe9\n"
    data = b"".join(lines)
    offset = data.index(b"\xe9")
    for name, packed in (("bad.txt", data), ("bad.txt.gz", gzip.compress(data))):
        path = tmp_path / name
        path.write_bytes(packed)
        with pytest.raises(GraphFileError, match=f"{name}: line 3001: not a text graph file "
                                                 f"\\(invalid continuation byte at byte {offset},"):
            load_graph(path)
        cli("graph", "info", path).error_line(str(path), "line 3001", f"byte {offset}")


def test_a_byte_that_is_not_utf8_in_a_truncated_compressed_file_is_named_with_the_file(cli, tmp_path):
    """Naming the bad byte read the whole file again, and a download cut short ended that read
    early: "error: an input file ends early, truncated or corrupt (Compressed file ended ...)",
    naming no file (the reader had stopped at the byte, before the cut)."""
    lines = [f"{i} {i + 1}\n".encode() for i in range(20000)]
    lines[10] = b"10 11 # caf\xe9\n"
    data = b"".join(lines)
    offset = data.index(b"\xe9")
    path = tmp_path / "cut.txt.gz"
    packed = gzip.compress(data)
    path.write_bytes(packed[:len(packed) // 2])
    with pytest.raises(GraphFileError, match="cut.txt.gz: line 11: not a text graph file "
                                             f"\\(invalid continuation byte at byte {offset},"):
        load_graph(path)
    cli("graph", "info", path).error_line(str(path), "line 11", f"byte {offset}")


def test_a_planetoid_graph_file_is_read_by_its_path_as_by_the_dataset_name(cli, data_dir):
    """``sparsebox graph info .../raw/ind.cora.graph`` read PyG's pickle as METIS text: "not a
    text graph file (invalid start byte at byte 0)"."""
    path = data_dir / "planetoid" / "Cora" / "raw" / "ind.cora.graph"
    g = load_graph(path)
    assert edges_of(g) == edges_of(load_graph("cora")) and g.num_nodes == 2708
    result = cli("graph", "info", path, "--json")
    assert result.exit_code == 0, result.output
    assert '"num_edges": 5278' in result.stdout


def test_a_pickle_named_graph_of_another_kind_is_refused_as_not_planetoid(tmp_path):
    path = tmp_path / "x.graph"
    path.write_bytes(pickle.dumps([1, 2], protocol=2))
    with pytest.raises(GraphFileError, match="x.graph: not a Planetoid graph file"):
        load_graph(path)


@pytest.mark.parametrize("name, text, line, words", [
    ("g.txt", "0,1\n1,2\n2,0\n", 1, "separated by commas, not by whitespace"),
    ("g.txt", "# made by a database export\n0, 1, 2.5\n1, 2, 1\n", 2,
     "separated by commas, not by whitespace"),
    ("g.csv", "0 1\n1 2\n", 1, "separated by whitespace, not by commas"),
    ("g.csv", "0\t1\t3\n1\t2\t4\n", 1, "separated by tabs, not by commas"),
    ("g.csv", "0;1\n1;2\n", 1, "separated by semicolons, not by commas"),
    ("g.csv", "u v\n0 1\n1 2\n", 2, "separated by whitespace, not by commas"),
])
def test_edges_split_by_another_separator_are_named_not_read_as_a_header(cli, tmp_path, name, text,
                                                                         line, words):
    """A comma-separated .txt (or a space-separated .csv) was refused as "cannot read the header
    '0,1': name the columns source, target", though it has no header."""
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(GraphFileError, match=f"{name}: line {line}: .* holds numbers {words}: a "
                                             r"\.csv edge list is read comma-separated"):
        load_graph(path)
    cli("graph", "info", path).error_line(str(path), f"line {line}", words)


def test_percent_comment_lines_are_comments(tmp_path):
    """KONECT and Network Repository files start with ``%`` lines; the first was read as a header
    of three names, and the next refused: "line 2: expected 3 fields, as the header has"."""
    path = tmp_path / "out.edges"
    path.write_text("% sym unweighted\n% 3 3 3\n0 1\n1 2\n  % indented\n2 0\n")
    assert edges_of(load_graph(path)) == [(0, 1, 1.0), (0, 2, 1.0), (1, 2, 1.0)]
    path.write_text("%\nsource target weight\n0 1 2\n")
    assert edges_of(load_graph(path)) == [(0, 1, 2.0)]


def test_an_edge_list_whose_ids_start_at_1_warns_of_the_isolated_node_0(cli, tmp_path):
    """KONECT's files (``%`` lines) count nodes from 1: a triangle was read as 4 nodes in 2
    components, without a word; the ids stay as they are (events and labels are keyed by them),
    with a warning. An edge list of ours whose node 0 lost its edges reads back without one."""
    path = tmp_path / "out.edges"
    path.write_text("% sym unweighted\n1 2\n2 3\n3 1\n")
    with pytest.warns(UserWarning, match="out.edges: no edge touches node 0: .*subtract 1"):
        g = load_graph(path)
    assert g.num_nodes == 4
    result = cli("graph", "info", path, "--json")
    assert result.exit_code == 0
    assert [ln for ln in result.stderr.splitlines() if ln.startswith("warning:")] == [
        f"warning: {path}: no edge touches node 0: node ids are read from 0, so node 0 is an "
        "isolated node; if the file numbers its nodes from 1, subtract 1 from every id"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for text in ("0 1\n1 2\n", "# a graph of our own, node 0 pruned away\n1 2\n2 3\n"):
            path.write_text(text)  # 0-based, or no sign of a file that counts from 1
            load_graph(path)


@pytest.mark.parametrize("name, fmt", [("edges.gz", "''"), ("edges.data.bz2", "'.data'"),
                                       ("edges.dat", "'.dat'")])
def test_an_unknown_format_is_named_not_its_compression(tmp_path, name, fmt):
    """``edges.gz`` was refused as of an "unknown graph format '.gz'", a compression it reads."""
    path = tmp_path / name
    path.write_bytes(b"0 1\n")
    with pytest.raises(InputFileError, match=f"{name}: unknown graph format {fmt}; known: .*, each "
                                             "plain or .bz2 / .gz"):
        load_graph(path)


@pytest.mark.parametrize(("text", "message"), [
    ("alice bob\nbob carol\n", r"line 2: a node id must be a non-negative integer \(nodes named "
                               r"by text are not read: number them from 0 first\), got 'bob'"),
    ("0 1 x\n1 2 1\n", r"line 1: a weight must be a number, got 'x'"),
])
def test_an_edge_list_field_that_is_no_number_is_named(tmp_path, text, message):
    """Both were "not numbers: 'bob carol'", which left a file of named nodes unexplained."""
    path = tmp_path / "g.txt"
    path.write_text(text)
    with pytest.raises(GraphFileError, match=message):
        read_edge_list(path)


def test_a_tsv_edge_list_is_read_and_written_tab_separated(cli, tmp_path):
    """A .tsv edge list (pandas' to_csv(sep="\\t"), database exports) was an unknown format."""
    pandas_tsv = "\tsource\ttarget\tweight\n0\t0\t1\t2.5\n1\t1\t2\t1\n2\t3\t2\t4\n"
    path = tmp_path / "g.tsv"
    path.write_text(pandas_tsv)
    g = load_graph(path)
    assert (g.num_nodes, g.num_edges) == (4, 3)
    assert g.weights[g.find_items([0, 2], [1, 3])].tolist() == [2.5, 4.0]
    out = tmp_path / "back.tsv"
    write_graph(g, out)
    assert out.read_text().splitlines()[0] == "0\t1\t2.5"
    back = load_graph(out)
    assert np.array_equal(back.rows, g.rows) and np.array_equal(back.weights, g.weights)
    spaced = tmp_path / "spaced.tsv"
    spaced.write_text("0 1\n1 2\n")
    with pytest.raises(GraphFileError, match=r"spaced.tsv: line 1: .* holds numbers separated by "
                                             r"whitespace, not by tabs: .* a \.tsv one "
                                             "tab-separated"):
        load_graph(spaced)
    twice = tmp_path / "twice.tsv"  # the header is wrong, not the tab-separated edges
    twice.write_text("source\tsource\n0\t1\n1\t2\n")
    with pytest.raises(GraphFileError, match=r"twice.tsv: line 1: cannot read the header"):
        load_graph(twice)
    mixed = tmp_path / "mixed.tsv"  # a space inside the first edge: it was read as a header
    mixed.write_text("0 1\t2\n1\t2\n2\t3\n")
    with pytest.raises(GraphFileError, match=r"mixed.tsv: line 1: .* holds numbers separated by "
                                             "whitespace, not by tabs"):
        load_graph(mixed)
    later = tmp_path / "later.tsv"  # a spaced edge after tab-separated ones: "expected 3 fields
    later.write_text("0\t1\t2.5\n1 2 1\n")  # ('u v w'), as line 1 has", and it had 3
    with pytest.raises(GraphFileError, match=r"later.tsv: line 2: '1 2 1' holds numbers "
                                             "separated by whitespace, not by tabs"):
        load_graph(later)
    result = cli("graph", "sparsify", path, "-o", tmp_path / "h.tsv", "--method", "random",
                 "--keep-ratio", "1")
    assert result.exit_code == 0, result.stderr
    assert load_graph(tmp_path / "h.tsv").num_edges == 3
