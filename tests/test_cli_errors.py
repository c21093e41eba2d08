"""A catalogue of bad inputs to the command line, and what each must do.

Every case ends with exit code 2 and exactly one line on stderr, ``error: ...``, that names the
option or the file (and the line or property where there is one); no traceback; the input files
keep their bytes; no output file, and no temporary ``.<stem>.partial-<pid><suffix>`` beside one,
is left behind.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest
import typer

DONUT = Path("3d/gaussians/gshairlod_donut_fused_sh0.ply")

# The interpreter hides libraries' deprecation warnings from a user; pytest shows them, so the
# test that first imports torch_geometric (torch.jit.script is deprecated) saw two more lines
# than a user does, and failed when run alone.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


# ----------------------------------------------------------------------------------- helpers
class Case(NamedTuple):
    """A command line and what its error line must contain; ``inputs`` keep their bytes."""

    argv: list
    names: list[str]
    inputs: list[Path] = []


def _snapshot(paths) -> dict[Path, bytes]:
    return {Path(p): Path(p).read_bytes() for p in paths if Path(p).is_file()}


def _listing(folder: Path, ignore: tuple[str, ...] = ()) -> list[str]:
    names = (str(p.relative_to(folder)) for p in folder.rglob("*"))
    return sorted(n for n in names if n.split("/")[0] not in ignore)


def run_bad(cli, case: Case, out: Path, ignore: tuple[str, ...] = ()) -> str:
    """Run ``case``; check the error contract, the inputs' bytes and that nothing appeared in
    ``out`` (but in its subfolders ``ignore``); return the error line."""
    before = _snapshot(case.inputs)
    listing = _listing(out, ignore)
    line = cli(*case.argv).error_line()
    for name in case.names:
        assert name in line, (name, line)
    assert _snapshot(case.inputs) == before, "an input file changed"
    assert _listing(out, ignore) == listing, f"left behind in {out}: {_listing(out, ignore)}"
    return line


def write(path: Path, text: str | bytes) -> Path:
    if isinstance(text, str):
        path.write_text(text)
    else:
        path.write_bytes(text)
    return path


def donut_bytes(data_dir: Path) -> tuple[bytes, bytes, int]:
    """The donut splat PLY as (header up to end_header, vertex data, bytes per vertex)."""
    raw = (data_dir / DONUT).read_bytes()
    end = raw.index(b"end_header\n") + len(b"end_header\n")
    header = raw[:end]
    count = int(re.search(rb"element vertex (\d+)", header).group(1))
    return header, raw[end:], (len(raw) - end) // count


def small_splats(data_dir: Path, path: Path, n: int = 300, *, declared: int | None = None,
                 nan_at: int | None = None) -> Path:
    """The first ``n`` splats of the donut as a binary PLY whose header says ``declared``
    vertices (default ``n``); ``nan_at``: that vertex's x is NaN."""
    header, body, row = donut_bytes(data_dir)
    header = re.sub(rb"element vertex \d+", b"element vertex %d" % (declared or n), header)
    data = bytearray(body[:n * row])
    if nan_at is not None:
        data[nan_at * row:nan_at * row + 4] = np.array([np.nan], dtype="<f4").tobytes()
    return write(path, header + bytes(data))


# ----------------------------------------------------------------------------------- graph info
MTX = "%%MatrixMarket matrix coordinate real "


def _graph_info_cases() -> dict[str, Callable]:
    def non_square(tmp):
        p = write(tmp / "wide.mtx", MTX + "general\n3 4 2\n1 2 1.0\n2 4 1.0\n")
        return Case(["graph", "info", p], [str(p), "3 x 4", "not square"], [p])

    def nan_weight(tmp):
        p = write(tmp / "nan.mtx", MTX + "symmetric\n3 3 2\n2 1 nan\n3 2 1.0\n")
        return Case(["graph", "info", p], [str(p), "(2, 1)", "nan"], [p])

    def mtx_index_out_of_range(tmp):
        p = write(tmp / "range.mtx", MTX + "symmetric\n3 3 2\n2 1 1.0\n7 2 1.0\n")
        return Case(["graph", "info", p], [str(p), "Line 4", "out of bounds"], [p])

    def metis_wrong_edge_count(tmp):
        p = write(tmp / "edges.graph", "4 5\n2\n1 3\n2 4\n3\n")
        return Case(["graph", "info", p], [str(p), "header says 5 edges"], [p])

    def metis_wrong_vertex_count(tmp):
        p = write(tmp / "vertices.graph", "5 3\n2\n1 3\n2 4\n3\n")
        return Case(["graph", "info", p], [str(p), "header says 5 vertices"], [p])

    def metis_vertex_out_of_range(tmp):
        p = write(tmp / "range.graph", "4 3\n2\n1 7\n2 4\n3\n")
        return Case(["graph", "info", p], [str(p), "line 3", "vertex 7"], [p])

    def missing_file(tmp):
        p = tmp / "absent.mtx"
        return Case(["graph", "info", p], [str(p), "no such file"])

    def unknown_dataset(tmp):
        return Case(["graph", "info", "no_such_dataset"], ["no_such_dataset", "dataset name"])

    return {f.__name__: f for f in (non_square, nan_weight, mtx_index_out_of_range,
                                    metis_wrong_edge_count, metis_wrong_vertex_count,
                                    metis_vertex_out_of_range, missing_file, unknown_dataset)}


GRAPH_INFO = _graph_info_cases()


@pytest.mark.parametrize("name", GRAPH_INFO)
def test_graph_info_refuses(cli, tmp_path, name):
    out = tmp_path / "out"
    out.mkdir()
    run_bad(cli, GRAPH_INFO[name](tmp_path), out)


# ----------------------------------------------------------------------------------- graph sparsify
def _sparsify(out: Path, *options) -> list:
    return ["graph", "sparsify", "fe_4elt2", "-o", out / "h.mtx", *options]


@pytest.mark.parametrize("value", ["0", "1.5", "-1"])
def test_sparsify_keep_ratio_out_of_range(cli, data_dir, tmp_path, value):
    line = run_bad(cli, Case(_sparsify(tmp_path, "--keep-ratio", value),
                             ["--keep-ratio", f"--keep-ratio: must be in (0, 1], got {float(value)}"]),
                   tmp_path)
    assert line


@pytest.mark.parametrize("options, names", [
    (["--keep-ratio", "1.5"], ["--keep-ratio", "got 1.5"]),
    (["--budget", "0"], ["--budget", ">= 1, got 0"]),
])
def test_sparsify_bad_size_fails_before_loading(cli, tmp_path, monkeypatch, options, names):
    import sparsebox.data.graphs

    def refuse(*args, **kwargs):
        raise AssertionError("the graph was loaded before its size was checked")

    monkeypatch.setattr(sparsebox.data.graphs, "load_graph", refuse)
    run_bad(cli, Case(_sparsify(tmp_path, *options), names), tmp_path)


def test_sparsify_below_the_spanning_forest_in_the_users_words(cli, data_dir, tmp_path):
    argv = _sparsify(tmp_path, "--method", "fegrass", "--keep-ratio", "0.1")
    line = run_bad(cli, Case(argv, ["--keep-ratio: 0.1 is below the spanning forest, 0.340 of the "
                                    "edges"]), tmp_path)
    assert "--keep-ratio" in line
    # 0.340 is fe_4elt2's spanning forest, |V| - components edges, as a share of its edges
    from graphsparse.stats import graph_summary
    from sparsebox.data.graphs import load_graph

    facts = graph_summary(load_graph("fe_4elt2"))
    forest = (facts["num_nodes"] - facts["components"]) / facts["num_edges"]
    assert f"{forest:.3f}" == "0.340"


def test_the_samplers_forest_floor_names_what_the_caller_can_set(cli, tmp_path):
    """The effective-resistance sampler's floor named keep_tree=True, which the command line
    cannot set: there, the size alone is named (in a batch too); from Python, keep_tree."""
    from graphsparse.resistance import EffectiveResistanceSampler
    from sparsebox.data.graphs import load_graph

    graph = tmp_path / "square.txt"
    graph.write_text("0 1\n1 2\n2 3\n3 0\n0 2\n")
    for option, value in (("--budget", "1"), ("--keep-ratio", "0.2"), ("--density", "0.2")):
        argv = ["graph", "sparsify", graph, "-o", tmp_path / "h.mtx",
                "--method", "effective-resistance", option, value]
        line = run_bad(cli, Case(argv, [option, "is below the spanning forest the sampler keeps"],
                                 [graph]), tmp_path)
        assert "keep_tree" not in line, line
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.txt").write_text(graph.read_text())
    result = cli("graph", "sparsify", tmp_path / "in", "--out", tmp_path / "out",
                 "--method", "effective-resistance", "--budget", "1")
    assert result.exit_code != 0 and "below the spanning forest" in result.stderr, result.output
    assert "keep_tree" not in result.stderr, result.stderr
    with pytest.raises(ValueError, match=r"budget 1 is below the spanning forest the sampler "
                       r"keeps, 3 edges \(keep_tree=True; keep_tree=False samples without it\)"):
        EffectiveResistanceSampler(budget=1).fit(load_graph(str(graph)))
    assert EffectiveResistanceSampler(budget=1, keep_tree=False).fit(
        load_graph(str(graph))).mask_.sum() == 1


@pytest.mark.parametrize("method", ["fegrass", "random"])
def test_sparsify_refuses_self_loops_for_metis_before_fitting(cli, tmp_path, monkeypatch, method):
    """Every edge method keeps G's self-loops, which METIS cannot hold: refused after the fit."""
    from sparsebox.registry import get_method

    def refuse(self, *args, **kwargs):
        raise AssertionError("the graph was fitted before its output format was checked")

    monkeypatch.setattr(get_method(method, item="edge").load(), "fit", refuse)
    graph = write(tmp_path / "g.txt", "0 1\n1 1\n1 2\n2 0\n")
    for name in ("h.graph", "h.metis"):  # METIS under either name load_graph reads
        run_bad(cli, Case(["graph", "sparsify", graph, "-o", tmp_path / name, "--method", method,
                           "--budget", "2"], [name, "cannot hold self-loops", "g.txt has 1"],
                          [graph]), tmp_path)


def test_sparsify_to_metis_refuses_only_what_the_result_holds(cli, tmp_path):
    """A fractional weight of G that H does not keep, and a sample that draws nothing (H is G
    with G's weights), are written to .graph; reweighted draws are refused, naming the file."""
    from sparsebox.data.graphs import load_graph

    graph = write(tmp_path / "g.txt", "0 1 1\n1 2 1\n2 3 1\n3 0 1\n1 3 0.5\n")
    result = cli("graph", "sparsify", graph, "-o", tmp_path / "tree.graph", "--method", "fegrass",
                 "--budget", "3")
    assert result.exit_code == 0 and load_graph(tmp_path / "tree.graph").num_edges == 3, \
        result.output
    square = write(tmp_path / "sq.txt", "0 1\n1 2\n2 3\n3 0\n0 2\n1 3\n")
    assert cli("graph", "sparsify", square, "-o", tmp_path / "k.graph", "--method",
               "effective-resistance", "--keep-ratio", "1").exit_code == 0
    assert load_graph(tmp_path / "k.graph").num_edges == 6
    run_bad(cli, Case(["graph", "sparsify", square, "-o", tmp_path / "h.graph", "--method",
                       "effective-resistance", "--budget", "4"],
                      ["h.graph", "METIS edge weights must be integers"], [square]), tmp_path,
            ignore=())


def test_sparsify_names_weights_too_small_for_their_resistances(cli, tmp_path):
    """fegrass on a weight of 1e-320 (1 / weight is inf) wrote its output with numpy's bare
    "warning: overflow encountered in divide"; effective-resistance refused it naming the file."""
    graph = write(tmp_path / "tiny.txt", "0 1 1e-320\n1 2 1\n")
    run_bad(cli, Case(["graph", "sparsify", graph, "-o", tmp_path / "h.mtx", "--method", "fegrass"],
                      ["tiny.txt: fegrass: edge weights as small as 1e-320 make the tree",
                       "rescale"], [graph]), tmp_path)


def test_sparsify_missing_output_folder_fails_before_loading(cli, tmp_path, monkeypatch):
    import sparsebox.data.graphs

    def refuse(*args, **kwargs):
        raise AssertionError("the graph was loaded before the output was checked")

    monkeypatch.setattr(sparsebox.data.graphs, "load_graph", refuse)
    bad = write(tmp_path / "wide.mtx", MTX + "general\n3 4 2\n1 2 1.0\n2 4 1.0\n")
    target = tmp_path / "missing_dir" / "h.mtx"
    run_bad(cli, Case(["graph", "sparsify", bad, "-o", target], ["--output", "missing_dir"],
                      [bad]), tmp_path)
    assert not target.parent.exists()


def test_sparsify_refuses_the_file_a_dataset_would_be_downloaded_to(cli, tmp_path, monkeypatch):
    # not on disk yet, and a file of the same name in the working folder does not hide it
    root = tmp_path / "root"
    monkeypatch.setenv("SPARSEBOX_DATA", str(root))
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "karate", "0 1\n")
    own = root / "graphs" / "networkit" / "karate.graph"
    own.parent.mkdir(parents=True)
    run_bad(cli, Case(["graph", "sparsify", "karate", "-o", own], ["--output", "input"]), root)
    assert not own.exists()


def test_sparsify_refuses_to_write_over_a_datasets_own_file(cli, data_dir, tmp_path,
                                                              monkeypatch):
    # a catalogue name is read from its file under the data root: -o must not name that file
    source = data_dir / "graphs" / "networkit" / "karate.graph"
    root = tmp_path / "root"
    (root / "graphs" / "networkit").mkdir(parents=True)
    own = root / "graphs" / "networkit" / "karate.graph"
    own.write_bytes(source.read_bytes())
    monkeypatch.setenv("SPARSEBOX_DATA", str(root))
    line = run_bad(cli, Case(["graph", "sparsify", "karate", "-o", own], ["--output", "input"],
                             [own]), root)
    assert str(own) in line


@pytest.mark.parametrize("options, names", [
    (["--method", "nope"], ["--method", "'nope'"]),
    (["--keep-ratio", "0.5", "--budget", "10"], ["--keep-ratio", "--budget"]),
])
def test_sparsify_bad_options(cli, tmp_path, options, names):
    run_bad(cli, Case(_sparsify(tmp_path, *options), names), tmp_path)


def test_sparsify_out_for_one_graph_names_out(cli, tmp_path):
    """``--out FOLDER`` with one graph was told "Invalid value for --output: give -o/--output",
    naming the option not given rather than the one given."""
    path = write(tmp_path / "g.txt", "0 1\n1 2\n2 0\n")
    line = run_bad(cli, Case(["graph", "sparsify", path, "--out", tmp_path / "sparse"],
                             ["--out", str(path)], [path]), tmp_path)
    assert "for a folder or glob of graphs; give -o for one graph" in line
    assert "--output" not in line


# ----------------------------------------------------------------------------------- scene
def _bad_ply(kind: str, data_dir: Path, tmp: Path) -> tuple[Path, list[str]]:
    """A broken splat PLY and what its error must name besides the file."""
    if kind == "truncated":
        raw = (data_dir / DONUT).read_bytes()
        return write(tmp / "cut.ply", raw[:len(raw) // 2]), []
    if kind == "declares_fewer":
        return small_splats(data_dir, tmp / "fewer.ply", 300, declared=200), ["more data"]
    if kind == "declares_more":
        return small_splats(data_dir, tmp / "more.ply", 300, declared=400), []
    if kind == "nan":
        return small_splats(data_dir, tmp / "nan.ply", 300, nan_at=7), ["'x'", "vertex 7"]
    raise AssertionError(kind)


@pytest.mark.parametrize("command", ["prune-points", "prune-splats", "remove-floaters"])
@pytest.mark.parametrize("kind", ["truncated", "declares_fewer", "declares_more", "nan"])
def test_scene_refuses_broken_ply(cli, data_dir, tmp_path, command, kind):
    source, names = _bad_ply(kind, data_dir, tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    run_bad(cli, Case(["scene", command, source, out / "kept.ply"], [str(source), *names],
                      [source]), out)


@pytest.mark.parametrize("command", ["prune-points", "prune-splats"])
@pytest.mark.parametrize("value", ["0", "1.5", "-1"])
def test_scene_keep_ratio_out_of_range(cli, data_dir, tmp_path, command, value):
    source = small_splats(data_dir, tmp_path / "s.ply")
    out = tmp_path / "out"
    out.mkdir()
    run_bad(cli, Case(["scene", command, source, out / "kept.ply", "--keep-ratio", value],
                      ["--keep-ratio", f"--keep-ratio: must be in (0, 1], got {float(value)}"],
                      [source]), out)


@pytest.mark.parametrize("options, names", [
    (["--keep-ratio", "0.5", "--budget", "10"], ["--keep-ratio", "--budget", "not several"]),
    (["--method", "voxel", "--keep-ratio", "0.5", "--voxel-size", "0.01"],
     ["--voxel-size", "--keep-ratio", "not both"]),
])
def test_prune_points_sizes_that_clash_are_named_as_options(cli, data_dir, tmp_path, options,
                                                            names):
    source = small_splats(data_dir, tmp_path / "s.ply")
    out = tmp_path / "out"
    out.mkdir()
    line = run_bad(cli, Case(["scene", "prune-points", source, out / "kept.ply", *options],
                             names, [source]), out)
    assert "keep_ratio" not in line and str(source) not in line


def test_prune_points_keep_ratio_does_not_apply_to_statistical(cli, data_dir, tmp_path):
    source = small_splats(data_dir, tmp_path / "s.ply")
    out = tmp_path / "out"
    out.mkdir()
    run_bad(cli, Case(["scene", "prune-points", source, out / "kept.ply", "--method",
                       "statistical", "--keep-ratio", "0.5"],
                      ["--keep-ratio", "does not apply", "statistical"], [source]), out)


def test_prune_points_graph_method_on_two_points(cli, data_dir, tmp_path):
    source = small_splats(data_dir, tmp_path / "two.ply", 2)
    out = tmp_path / "out"
    out.mkdir()
    run_bad(cli, Case(["scene", "prune-points", source, out / "kept.ply", "--method", "graph"],
                      [str(source), "got 2"], [source]), out)


def test_prune_splats_missing_image_folder_fails_fast(cli, data_dir, tmp_path):
    import scenesparse.splatjob  # noqa: F401  (imports are not what is timed)

    source = data_dir / DONUT
    out = tmp_path / "out"
    out.mkdir()
    start = time.perf_counter()
    run_bad(cli, Case(["scene", "prune-splats", source, out / "kept.ply", "--image",
                       tmp_path / "missing_dir" / "x.png"], ["--image", "missing_dir"],
                      [source]), out)
    assert time.perf_counter() - start < 3.0  # scoring alone takes far longer


@pytest.mark.parametrize("command", ["prune-points", "prune-splats", "remove-floaters"])
def test_scene_report_on_the_target_is_refused_before_any_work(cli, data_dir, tmp_path,
                                                                command):
    source = small_splats(data_dir, tmp_path / "s.ply")
    out = tmp_path / "out"
    out.mkdir()
    precious = write(out / "keep.ply", "a file of the user's")
    run_bad(cli, Case(["scene", command, source, precious, "--report", precious],
                      ["--report", str(precious), "TARGET"], [source, precious]), out)


@pytest.mark.parametrize("command", ["prune-points", "prune-splats", "remove-floaters"])
def test_a_scene_report_must_be_named_json(cli, data_dir, tmp_path, command):
    """JSON was written into r.ply or r.png (TARGET and --image are checked for their format)."""
    source = small_splats(data_dir, tmp_path / "s.ply")
    out = tmp_path / "out"
    out.mkdir()
    run_bad(cli, Case(["scene", command, source, out / "kept.ply", "--report", out / "r.png"],
                      ["--report", "r.png", "must end in .json"], [source]), out)


@pytest.mark.parametrize("options, names", [
    (["kept.xyz"], ["TARGET", "kept.xyz", ".ply"]),
    (["kept.ply", "--image", "side.txt"], ["--image", "side.txt", ".png"]),
    (["kept.ply", "--image", "kept.ply"], ["--image", "TARGET"]),
])
def test_prune_splats_output_names_are_checked_before_any_work(cli, data_dir, tmp_path,
                                                               options, names):
    import scenesparse.splatjob  # noqa: F401  (imports are not what is timed)

    source = data_dir / DONUT
    out = tmp_path / "out"
    out.mkdir()
    argv = ["scene", "prune-splats", source, *[out / o if o.endswith(("ply", "xyz", "txt"))
                                               else o for o in options]]
    start = time.perf_counter()
    run_bad(cli, Case(argv, names, [source]), out)
    assert time.perf_counter() - start < 3.0  # scoring alone takes far longer


def test_prune_points_unknown_target_format_is_refused_before_any_work(cli, data_dir, tmp_path):
    source = small_splats(data_dir, tmp_path / "s.ply")
    out = tmp_path / "out"
    out.mkdir()
    run_bad(cli, Case(["scene", "prune-points", source, out / "kept.abc"],
                      ["TARGET", "kept.abc", ".pcd"], [source]), out)


def test_remove_floaters_of_a_mesh_into_xyz_names_target_before_any_work(cli, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    run_bad(cli, Case(["scene", "remove-floaters", "bunny", out / "kept.xyz"],
                      ["TARGET", "faces", "write .ply"], []), out)


def test_remove_floaters_counts_the_point_itself_and_never_keeps_none(cli, data_dir, tmp_path):
    source = small_splats(data_dir, tmp_path / "s.ply")
    out = tmp_path / "out"
    out.mkdir()
    run_bad(cli, Case(["scene", "remove-floaters", source, out / "kept.ply", "--nb-neighbors",
                       "1"], ["--nb-neighbors", "1", ">= 2"], [source]), out)
    twice = np.repeat(np.random.default_rng(0).random((20, 3)), 2, axis=0)
    pairs = write(tmp_path / "pairs.xyz", "\n".join(" ".join(map(str, p)) for p in twice))
    run_bad(cli, Case(["scene", "remove-floaters", pairs, out / "kept.xyz", "--nb-neighbors",
                       "2"], ["keeps none of the 40 points", str(pairs),
                              "try a larger --std-ratio or --nb-neighbors"], [pairs]), out)



@pytest.mark.parametrize("argv, option", [
    (["prune-points", "--method", "statistical", "--nb-neighbors", "50"], "--nb-neighbors"),
    (["remove-floaters", "--nb-neighbors", "50"], "--nb-neighbors"),
    (["prune-points", "--method", "statistical"], "--nb-neighbors"),  # its default, 20
    (["prune-points", "--method", "graph"], "--k"),  # its default, 10
], ids=["prune_points", "remove_floaters", "default_nb_neighbors", "graph_k"])
def test_more_neighbours_than_points_names_the_option_and_the_file(cli, tmp_path, argv, option):
    """The error named the file and the Python name (nb_neighbors = 50), not the option."""
    source = write(tmp_path / "ten.xyz", "\n".join(f"{i} {i * i % 7} {i % 3}" for i in range(10)))
    out = tmp_path / "out"
    out.mkdir()
    command, *options = argv
    line = run_bad(cli, Case(["scene", command, source, out / "kept.xyz", *options],
                             [f"Invalid value for {option}:", str(source), "got 10"], [source]),
                   out)
    assert "nb_neighbors" not in line and " k " not in line


def test_point_help_lists_every_format_pointio_reads_and_writes(cli):
    from scenesparse.pointio import POINT_SUFFIXES

    for command in ("prune-points", "remove-floaters"):
        result = cli("scene", command, "--help")
        assert result.exit_code == 0, result.output
        for suffix in POINT_SUFFIXES:
            assert suffix in result.output, (command, suffix)

def test_prune_points_help_says_a_mesh_is_written_as_ply_only(cli):
    # a mesh's TARGET in another format is refused (not written without its faces)
    result = cli("scene", "prune-points", "--help")
    assert result.exit_code == 0, result.output
    # words joined without spaces: click wraps lines at spaces and after hyphens
    assert "amesh'sTARGETmustbe.ply" in "".join(result.output.split())


def test_teddy_help_names_every_setting_a_resumed_run_must_share(cli):
    # OUT/run.json holds --distill-lambda too, and --resume refuses another value
    result = cli("graph", "teddy", "--help")
    assert result.exit_code == 0, result.output
    assert "recordsthedataset,model,epochsand--distill-lambda" in "".join(result.output.split())


# ----------------------------------------------------------------------------------- stream
@pytest.fixture
def grid(tmp_path) -> Path:
    """A 6 x 6 grid graph as ``tmp_path/g0.mtx`` (0-based node ids 0..35)."""
    import networkx as nx

    from sparsebox import as_structure
    from sparsebox.data.graphs import write_graph

    g = nx.convert_node_labels_to_integers(nx.grid_2d_graph(6, 6))
    path = tmp_path / "g0.mtx"
    write_graph(as_structure(g), path)
    return path


def _leftovers(state: Path) -> list[str]:
    return [p.name for p in state.glob("*") if p.name.endswith(".tmp") or ".partial-" in p.name]


def _events(tmp: Path, content: str | bytes, name: str = "events.txt") -> Path:
    return write(tmp / name, content)


def _summary(result) -> dict:
    """The summary of a `stream ... --json` run."""
    return json.loads(result.stdout.strip().splitlines()[-1])["summary"]


STREAM_CASES = {
    "not_utf8": (b"+ 0 7\n+ 1 \xff\xfe 2\n", ["line 2", "UTF-8"]),
    "markup_brackets": ("+ 0 7\n+ 1 [/] 2\n", ["line 2", "[/]"]),
    "json_float_node": ('{"op": "+", "u": 0, "v": 7}\n{"op": "+", "u": 1.7, "v": 2}\n',
                        ["line 2", "1.7"]),
    "json_bool_node": ('{"op": "+", "u": true, "v": 2}\n', ["line 1", "True"]),
    "absent_edge": ("+ 0 7\n- 0 35\n", ["line 2", "--skip-missing"]),
    # an edge deleted twice was said not to be in the graph, where the user sees it
    "deleted_twice": ("- 0 1\n- 1 0\n", ["line 2", "deletes edge (1, 0) a second time"]),
    # read as "lower the weight by 2", it deleted the whole edge
    "json_deletion_weight": ('{"op": "-", "u": 0, "v": 1, "w": 2}\n', ["line 1", "takes no weight"]),
}


@pytest.mark.parametrize("name", STREAM_CASES)
def test_stream_refuses_bad_events(cli, grid, tmp_path, name):
    content, names = STREAM_CASES[name]
    events = _events(tmp_path, content)
    state = tmp_path / "state"
    line = run_bad(cli, Case(["stream", grid, "--events", events, "--state", state],
                             [str(events), *names], [grid, events]), tmp_path, ("state",))
    assert "on_missing" not in line
    if state.exists():  # the fitted start may be kept; nothing of the failed batch is in it
        from graphsparse.streaming import load_state

        assert not _leftovers(state) and load_state(state).batches_ == 0


def test_stream_absent_edge_then_skip_missing_succeeds(cli, grid, tmp_path):
    events = _events(tmp_path, "+ 0 7\n- 0 35\n+ 1 8\n")
    state = tmp_path / "state"
    argv = ["stream", grid, "--events", events, "--state", state]
    line = cli(*argv).error_line()
    assert "--skip-missing" in line and "on_missing" not in line and "line 2" in line
    result = cli(*argv, "--skip-missing", "--json")
    assert result.exit_code == 0, result.output
    assert _summary(result)["events_applied"] == 3


def test_stream_max_density_below_the_start_is_refused_and_otherwise_honoured(cli, grid,
                                                                            tmp_path):
    events = _events(tmp_path, "".join(f"+ {i} {35 - i}\n" for i in range(12)))
    state = tmp_path / "state"
    argv = ["stream", grid, "--events", events, "--state", state]
    line = cli(*argv, "--max-density", "1.05").error_line()
    assert "--max-density" in line and "below the initial sparsifier" in line
    assert not state.exists()
    result = cli(*argv, "--max-density", "1.12", "--json")
    assert result.exit_code == 0, result.output
    summary = _summary(result)
    assert summary["events_applied"] == 12 and summary["density"] <= 1.12


def test_stream_resumes_the_same_graph_spelled_differently(cli, grid, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _events(tmp_path, "+ 0 7\n")
    result = cli("stream", "g0.mtx", "--events", "events.txt", "--state", "state")
    assert result.exit_code == 0, result.output
    _events(tmp_path, "+ 0 7\n+ 1 8\n")
    result = cli("stream", "./g0.mtx", "--events", "events.txt", "--state", "state")
    assert result.exit_code == 0, result.output
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    _events(tmp_path, "+ 0 7\n+ 1 8\n+ 2 9\n")
    result = cli("stream", "../g0.mtx", "--events", "../events.txt", "--state", "../state",
                 "--json")
    assert result.exit_code == 0, result.output
    assert _summary(result)["events_applied"] == 3


def test_stream_empty_events_on_a_resumed_state_says_so(cli, grid, tmp_path):
    state = tmp_path / "state"
    first = _events(tmp_path, "+ 0 7\n", "first.txt")
    assert cli("stream", grid, "--events", first, "--state", state).exit_code == 0
    empty = _events(tmp_path, "", "empty.txt")
    result = cli("stream", grid, "--events", empty, "--state", state)
    assert result.exit_code == 0, result.output
    assert "no new events" in result.stderr and str(empty) in result.stderr


def test_stream_resumed_with_other_events_is_refused_not_skipped(cli, grid, tmp_path):
    # a resumed stream skips as many events as its state applied: they must be those events
    result = cli("stream", grid, "--events", _events(tmp_path, "+ 0 20\n"), "--state",
                 tmp_path / "state", "--json")
    assert result.exit_code == 0, result.output
    state_files = _snapshot((tmp_path / "state").iterdir())
    new = _events(tmp_path, "+ 3 30\n+ 1 25\n", "new.txt")
    line = run_bad(cli, Case(["stream", grid, "--events", new, "--state", tmp_path / "state"],
                             ["new.txt", "line 1", "+ 3 30", "+ 0 20"], [new]), tmp_path / "state")
    assert _snapshot((tmp_path / "state").iterdir()) == state_files, line
    both = _events(tmp_path, "+ 20 0\n+ 3 30\n", "both.txt")  # the same first (either way
    # round: edges are undirected), then new ones
    result = cli("stream", grid, "--events", both, "--state", tmp_path / "state", "--json")
    assert result.exit_code == 0 and _summary(result)["events_applied"] == 2, result.output


def test_stream_resumed_over_a_damaged_log_line_names_it(cli, grid, tmp_path):
    events = _events(tmp_path, "+ 0 20\n")
    state = tmp_path / "state"
    assert cli("stream", grid, "--events", events, "--state", state).exit_code == 0
    log = state / "log.jsonl"
    record = json.loads(log.read_text())
    record["events"] = [["+", 0]]  # the checkpoint covers it, so only the resume check reads it
    log.write_text(json.dumps(record) + "\n")
    run_bad(cli, Case(["stream", grid, "--events", events, "--state", state],
                      [str(log), "line 1"], [log]), state)


def test_stream_export_of_a_folder_that_is_not_a_state(cli, tmp_path):
    folder = tmp_path / "NOT_A_STATE"
    folder.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    run_bad(cli, Case(["stream", "export", folder, "-o", out / "x.mtx"],
                      [str(folder), "checkpoint"]), out)


def test_stream_export_unknown_format_is_refused_and_known_ones_written(cli, grid, tmp_path):
    from sparsebox.data import load_graph

    state = tmp_path / "state"
    events = _events(tmp_path, "+ 0 7\n")
    assert cli("stream", grid, "--events", events, "--state", state).exit_code == 0
    out = tmp_path / "out"
    out.mkdir()
    run_bad(cli, Case(["stream", "export", state, "-o", out / "h.mm"],
                      ["--output", "h.mm", ".mtx"]), out)
    for name in ("h.mtx", "h.csv"):
        result = cli("stream", "export", state, "-o", out / name, "--graph")
        assert result.exit_code == 0, result.output
        g = load_graph(out / name)
        assert g.num_edges == load_graph(grid).num_edges + 1
    assert sorted(p.name for p in out.iterdir()) == ["h.csv", "h.mtx"]
    assert not load_graph(out / "h.mtx").is_weighted  # unit weights stay unweighted


def test_stream_export_a_format_cannot_hold_is_named_by_its_own_name(cli, grid, tmp_path):
    state = tmp_path / "state"
    # a fractional weight (METIS holds integers) and node 35 left without edges (an edge list
    # ends at its largest node id)
    events = _events(tmp_path, "+ 0 7 0.5\n- 34 35\n- 29 35\n")
    assert cli("stream", grid, "--events", events, "--state", state).exit_code == 0
    out = tmp_path / "out"
    out.mkdir()
    run_bad(cli, Case(["stream", "export", state, "-o", out / "h.graph", "--graph"],
                      [str(out / "h.graph"), "METIS edge weights must be integers"]), out)
    run_bad(cli, Case(["stream", "export", state, "-o", out / "h.txt", "--graph"],
                      [str(out / "h.txt"), "the 1 node after node 34, which has no edges"]), out)


def test_stream_events_that_are_a_folder_are_called_a_folder(cli, grid, tmp_path):
    folder = tmp_path / "events"
    folder.mkdir()
    line = run_bad(cli, Case(["stream", grid, "--events", folder, "--state", tmp_path / "st"],
                             ["--events", str(folder), "is a folder"]), tmp_path)
    assert "no such file" not in line


def test_data_list_with_a_root_that_does_not_exist(cli, tmp_path):
    run_bad(cli, Case(["data", "list", "--root", tmp_path / "nowhere"],
                      ["--root", "nowhere", "no such folder"]), tmp_path)


def test_data_list_with_a_root_that_is_a_file(cli, tmp_path):
    root = tmp_path / "notes.txt"
    root.write_text("a file")
    line = run_bad(cli, Case(["data", "list", "--root", root], ["--root", "notes.txt",
                                                                 "a file, not a folder"]), tmp_path)
    assert "no such" not in line


def test_stream_export_of_a_missing_folder(cli, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    run_bad(cli, Case(["stream", "export", tmp_path / "NOT_A_STATE", "-o", out / "x.mtx"],
                      ["STATE", "NOT_A_STATE", "no such folder"]), out)


def test_stream_export_of_a_file_calls_it_a_file(cli, grid, tmp_path):
    """A graph file given as STATE read "no checkpoint.npz", as if it were a folder."""
    out = tmp_path / "out"
    out.mkdir()
    line = run_bad(cli, Case(["stream", "export", grid, "-o", out / "x.mtx"],
                             ["STATE", f"{grid} is a file, not a state folder"], [grid]), out)
    assert "checkpoint" not in line


def _read_only(folder: Path) -> Path:
    """``folder``, made, without write bits (read-only even for root, as the project treats it)."""
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o555)
    return folder


def test_stream_state_in_a_read_only_folder_is_refused(cli, grid, tmp_path):
    """root wrote a new state into a folder without write bits (and resumed one there)."""
    events = _events(tmp_path, "+ 0 7\n")
    locked = _read_only(tmp_path / "locked")
    try:
        for state, names in ((locked, ["the folder", "not writable"]),
                             (locked / "a" / "state", ["cannot make the folder", f"{locked} is "
                                                       "not writable"])):
            run_bad(cli, Case(["stream", grid, "--events", events, "--state", state],
                              ["--state", str(state), *names], [grid, events]), tmp_path)
            assert not any(locked.iterdir())
    finally:
        locked.chmod(0o755)


# ----------------------------------------------------------------------------------- graph teddy
@pytest.mark.parametrize("with_results", [True, False])
@pytest.mark.parametrize("content", ['{"dataset": "cora", "model":', "[1]", b"\xff\xfe{}"],
                         ids=["cut", "not_an_object", "not_utf8"])
def test_teddy_resume_with_a_broken_run_json(cli, tmp_path, with_results, content):
    out = tmp_path / "teddy"
    out.mkdir()
    run_json = write(out / "run.json", content)
    inputs = [run_json]
    if with_results:
        inputs.append(write(out / "results.json", "[]"))
    run_bad(cli, Case(["graph", "teddy", "--resume", "--out", out, "--levels", "1", "--seeds",
                       "1", "--epochs", "1"], [str(run_json), "--resume"], inputs), out)


def test_teddy_resume_with_other_settings_names_their_options(cli, tmp_path):
    """It said "Invalid value for --resume: ... was run with {'epochs': 1}": a Python dict,
    and not the option to change."""
    out = tmp_path / "teddy"
    out.mkdir()
    run_json = write(out / "run.json", '{"dataset": "cora", "model": "gcn", "epochs": 1, '
                                       '"distill_lambda": 1.0}')
    run_bad(cli, Case(["graph", "teddy", "--resume", "--out", out, "--levels", "1", "--seeds",
                       "1", "--epochs", "2", "--distill-lambda", "0.5"],
                      ["Invalid value for --epochs / --distill-lambda:", f"{run_json} was run "
                       "with --epochs 1, --distill-lambda 1.0, this run has --epochs 2, "
                       "--distill-lambda 0.5; resume with the same settings"], [run_json]), out)


@pytest.mark.parametrize("content", ['{"a": 1}', '[{"method": "random"}]', "[]"],
                         ids=["an_object", "records_without_fields", "no_records"])
def test_teddy_report_of_results_that_are_not_records(cli, tmp_path, content):
    out = tmp_path / "teddy"
    out.mkdir()
    results = write(out / "results.json", content)
    line = run_bad(cli, Case(["graph", "teddy-report", out], [str(results), "FOLDER"], [results]),
                   out)
    assert "records" in line


@pytest.mark.parametrize("bad", ['"method": ["teddy"]', '"test_acc": null', '"level": true'])
def test_teddy_report_of_records_with_wrong_types(cli, tmp_path, bad):
    fields = {"method": '"teddy"', "level": "1", "edge_keep": "0.8", "weight_keep": "0.7",
              "seed": "0", "test_acc": "0.5", "seconds": "1"}
    key = bad.split(":")[0].strip('"')
    fields[key] = bad.split(": ", 1)[1]
    out = tmp_path / "teddy"
    out.mkdir()
    results = write(out / "results.json",
                    "[{" + ", ".join(f'"{k}": {v}' for k, v in fields.items()) + "}]")
    run_bad(cli, Case(["graph", "teddy-report", out], [str(results), "TEDDY records"],
                      [results]), out)


@pytest.mark.parametrize("command", ["teddy", "gtsp"])
def test_resume_in_a_folder_of_other_files_is_refused(cli, tmp_path, command):
    """--resume in a non-empty folder that holds no run (no run.json, no results.json) started
    a new run there, its files among the user's (without --resume such a folder is refused)."""
    out = tmp_path / "mine"
    out.mkdir()
    notes = write(out / "notes.txt", "mine")
    argv = (["graph", "teddy", "--resume", "--out", out, "--levels", "1", "--seeds", "1",
             "--epochs", "1"] if command == "teddy" else _gtsp(out, "--resume"))
    run_bad(cli, Case(argv, ["--resume", str(out), "holds no run to resume"], [notes]), out)


def test_teddy_resume_of_results_that_are_not_records(cli, tmp_path):
    out = tmp_path / "teddy"
    out.mkdir()
    run = write(out / "run.json", "{}")
    results = write(out / "results.json", '{"a": 1}')
    run_bad(cli, Case(["graph", "teddy", "--resume", "--out", out, "--levels", "1", "--seeds", "1",
                       "--epochs", "1"], [str(results), "--resume", "TEDDY records"],
                      [run, results]), out)


def test_teddy_unknown_dataset_names_the_option_and_makes_no_folder(cli, tmp_path):
    out = tmp_path / "teddy"
    run_bad(cli, Case(["graph", "teddy", "--dataset", "nosuch", "--out", out],
                      ["--dataset", "nosuch"]), tmp_path)
    assert not out.exists()
    # an unknown ogbn- name listed every dataset of the catalogue (graphs, scenes) as "known"
    line = run_bad(cli, Case(["graph", "teddy", "--dataset", "ogbn-arxive", "--out", out],
                             ["--dataset", "'ogbn-arxive'", "ogbn-arxiv", "cora"]), tmp_path)
    assert "karate" not in line and "donut" not in line
    assert not out.exists()


_TEDDY_RECORDS = json.dumps([
    {"method": "dense", "level": 0, "edge_keep": 1.0, "weight_keep": 1.0, "seed": 0,
     "test_acc": 0.71, "val_acc": 0.7, "seconds": 1.0},
    {"method": "random", "level": 1, "edge_keep": 0.95, "weight_keep": 0.9, "seed": 0,
     "test_acc": 0.7, "val_acc": 0.69, "seconds": 1.2}])


def test_teddy_report_refuses_a_read_only_folder_and_a_file(cli, tmp_path):
    """root wrote results.md and accuracy.png into a folder without write bits."""
    folder = tmp_path / "teddy"
    folder.mkdir()
    results = write(folder / "results.json", _TEDDY_RECORDS)
    _read_only(folder)
    try:
        run_bad(cli, Case(["graph", "teddy-report", folder],
                          ["FOLDER", f"the folder {folder} is not writable"], [results]), folder)
    finally:
        folder.chmod(0o755)
    run_bad(cli, Case(["graph", "teddy-report", results],
                      ["FOLDER", f"{results} is a file, not a folder"], [results]), folder)
    result = cli("graph", "teddy-report", folder)  # the same records, where it may write
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in folder.iterdir()) == ["accuracy.png", "results.json",
                                                        "results.md"]


def test_teddy_over_earlier_results_without_resume_is_refused(cli, tmp_path):
    out = tmp_path / "teddy"
    out.mkdir()
    results = write(out / "results.json", "[]")
    run_bad(cli, Case(["graph", "teddy", "--out", out, "--levels", "1", "--seeds", "1",
                       "--epochs", "1"], ["--out", "not empty", "--resume"], [results]), out)


def test_teddy_unknown_methods(cli, tmp_path):
    out = tmp_path / "teddy"
    run_bad(cli, Case(["graph", "teddy", "--methods", "nope", "--out", out],
                      ["--methods", "nope"]), tmp_path)
    run_bad(cli, Case(["graph", "teddy", "--methods", " , ", "--out", out],
                      ["--methods", "names no method; choose from"]), tmp_path)
    assert not out.exists()


def test_teddy_levels_deeper_than_the_graph_allows_are_refused_before_any_run(cli, tmp_path):
    # level 200 kept no edge of Cora: its runs failed half-way through the job (weights of
    # models past level 140 rounded to none, and were trained as constant models)
    out = tmp_path / "teddy"
    run_bad(cli, Case(["graph", "teddy", "--levels", "200", "--seeds", "1", "--epochs", "1",
                       "--methods", "teddy", "--out", out],
                      ["--levels", "level 200 keeps none of its", "give levels up to"]), tmp_path)
    assert not out.exists()


# ----------------------------------------------------------------------------------- graph gtsp
def _gtsp(out: Path, *options) -> list:
    return ["graph", "gtsp", "--seeds", "1", "--epochs", "1", "--max-graphs", "64", "--out", out,
            *options]


@pytest.mark.parametrize("options,names", [
    (["--dataset", "ogbg-nope"], ["--dataset", "ogbg-nope"]),
    (["--dataset", "cora"], ["--dataset", "cora"]),
    (["--axes", "tokens,nodes"], ["--axes", "nodes"]),
    (["--axes", "heads,heads"], ["--axes", "repeat"]),
    (["--keep", "0"], ["--keep", "(0, 1]", "0"]),
    (["--keep", "1.5"], ["--keep", "(0, 1]", "1.5"]),
    (["--keep", "0.5,-1"], ["--keep", "-1"]),
    (["--keep", "half"], ["--keep", "half"]),
    (["--baselines", "dropout"], ["--baselines", "dropout"]),
    (["--baselines", "magnitude,magnitude"], ["--baselines", "twice"]),  # trained twice
    (["--max-graphs", "2"], ["--max-graphs", "2"]),
    (["--max-graphs", "10"], ["--max-graphs", "valid split", "both labels", "25 is the fewest"]),
    (["--lr", "0"], ["Invalid value for '--lr'", "> 0", "0.0"]),  # accepted, and trained nothing
    (["--lr", "-0.5"], ["Invalid value for '--lr'", "> 0", "-0.5"]),
], ids=["unknown_dataset", "node_dataset", "unknown_axis", "repeated_axis", "keep_zero",
        "keep_above_one", "keep_negative", "keep_not_a_number", "unknown_baseline", "repeated_baseline",
        "too_few_graphs", "splits_without_both_labels", "lr_zero", "lr_negative"])
def test_gtsp_bad_options(cli, tmp_path, options, names):
    out = tmp_path / "gtsp"
    run_bad(cli, Case(_gtsp(out, *options), names), tmp_path)
    assert not out.exists()


def test_gtsp_existing_results_without_resume(cli, tmp_path):
    out = tmp_path / "gtsp"
    out.mkdir()
    results = write(out / "results.json", "[]")
    run_bad(cli, Case(_gtsp(out), ["--out", str(out), "--resume"], [results]), out)


def test_gtsp_resume_with_results_that_are_not_records(cli, tmp_path):
    out = tmp_path / "gtsp"
    out.mkdir()
    results = write(out / "results.json", '[{"dataset": "ogbg-molbace"}]')
    run_json = write(out / "run.json", "{}")
    line = run_bad(cli, Case(_gtsp(out, "--resume"), [str(out / "results.json"), "--resume"],
                             [results, run_json]), out)
    assert "not a list of GTSP records" in line


def test_teddy_resume_of_results_without_their_run_json(cli, tmp_path):
    out = tmp_path / "teddy"
    out.mkdir()
    results = write(out / "results.json", "[]")
    run_bad(cli, Case(["graph", "teddy", "--resume", "--out", out, "--levels", "1", "--seeds",
                       "1", "--epochs", "1"], ["--resume", "no run.json"], [results]), out)


def test_gtsp_dataset_missing_offline_names_the_folder(cli, tmp_path, monkeypatch):
    """ogbg-molhiv is not in the data root and the network is not there: one error naming the
    dataset and the folder searched, nothing written."""
    root = tmp_path / "data"
    root.mkdir()
    monkeypatch.setenv("SPARSEBOX_DATA", str(root))
    out = tmp_path / "gtsp"
    for _ in range(2):  # the failed download leaves no empty folder to confuse the next run
        run_bad(cli, Case(_gtsp(out, "--dataset", "ogbg-molhiv"),
                          ["ogbg-molhiv", str(root / "ogb"), "download failed"]), tmp_path,
                ignore=("data",))
        assert not out.exists()
        assert not (root / "ogb" / "ogbg_molhiv").exists()


# ----------------------------------------------------------------------------------- scene queen
@pytest.fixture(scope="module")
def tiny_video(tmp_path_factory) -> Path:
    """Two frames of 60 Gaussians from two cameras at 16 px, and a stream of them."""
    import torch

    from scenesparse.gaussians import GaussianScene
    from scenesparse.queen.residuals import QueenConfig
    from scenesparse.queen.video import encode_video, make_moving_video

    g = torch.Generator().manual_seed(0)
    scene = GaussianScene(means=torch.rand(60, 3, generator=g) * 0.4,
                          quats=torch.tensor([[1.0, 0, 0, 0]] * 60),
                          log_scales=torch.full((60, 3), -3.0),
                          opacity_logits=torch.zeros(60), sh_dc=torch.rand(60, 3, generator=g),
                          sh_rest=torch.zeros(60, 0, 3))
    root = tmp_path_factory.mktemp("queen")
    make_moving_video(scene, root / "frames", frames=2, cameras=2, resolution=16)
    encode_video(root / "frames", root / "video.qsv", config=QueenConfig(epochs=1))
    return root


def _frame_files(root: Path) -> list[Path]:
    return sorted(p for p in (root / "frames").rglob("*") if p.is_file())


def test_queen_encode_bad_inputs(cli, tiny_video, tmp_path):
    frames = tiny_video / "frames"
    inputs = _frame_files(tiny_video)
    out = tmp_path / "v.qsv"
    for options, names in (
        (["--test-camera", "5"], ["--test-camera", "0..1", "5"]),
        (["--backend", "vulkan"], ["--backend", "vulkan"]),
        (["--epochs", "0"], ["--epochs"]),
        (["--seed", str(2**64)], ["--seed", str(2**64 - 1)]),  # was "seed must be <= ..."
    ):
        run_bad(cli, Case(["scene", "queen", "encode", frames, "-o", out, *options], names,
                          inputs), tmp_path)
    run_bad(cli, Case(["scene", "queen", "encode", tmp_path / "nope", "-o", out],
                      [str(tmp_path / "nope")]), tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    run_bad(cli, Case(["scene", "queen", "encode", empty, "-o", out],
                      [str(empty), "frame_NNNN"]), tmp_path)
    nowhere = tmp_path / "missing" / "v.qsv"
    run_bad(cli, Case(["scene", "queen", "encode", frames, "-o", nowhere],
                      ["--output", str(nowhere.parent)], inputs), tmp_path)
    for inside, names in ((frames / "frame_0000" / "point_cloud.ply", [".qsv"]),
                          (frames / "frame_0000" / "v.qsv", ["inside FRAMES_DIR"])):
        run_bad(cli, Case(["scene", "queen", "encode", frames, "-o", inside],
                          ["--output", str(inside), *names], inputs), tmp_path)
    assert sorted(p.name for p in (frames / "frame_0000").iterdir()) == sorted(
        p.name for p in inputs if p.parent.name == "frame_0000")


def test_queen_decode_and_info_refuse_damaged_streams(cli, tiny_video, tmp_path):
    data = (tiny_video / "video.qsv").read_bytes()
    truncated = write(tmp_path / "cut.qsv", data[:-10])
    for argv in (["scene", "queen", "info", truncated],
                 ["scene", "queen", "decode", truncated, "--frame", "1", "-o",
                  tmp_path / "f.ply"]):
        line = run_bad(cli, Case(argv, [str(truncated), "record 1"], [truncated]), tmp_path)
        assert "frames 0..0 decode" in line or "truncated" in line
    junk = write(tmp_path / "junk.qsv", b"not a stream at all")
    run_bad(cli, Case(["scene", "queen", "info", junk], [str(junk), "not a QUEEN stream"],
                      [junk]), tmp_path)
    good = tiny_video / "video.qsv"
    run_bad(cli, Case(["scene", "queen", "decode", good, "--frame", "7", "-o",
                       tmp_path / "f.ply"], ["--frame", "0..1", "7"], [good]), tmp_path)


# ----------------------------------------------------------------------------------- scene hollownerf
_NERF_TINY = ["--resolution", "16", "--steps", "4", "--table-size", "256", "--levels", "2",
              "--finest-resolution", "16", "--batch-rays", "16"]


@pytest.mark.parametrize("options, names", [
    (["--saliency-budget", "0"], ["--saliency-budget", "(0, 1)", "0"]),
    (["--saliency-budget", "1.5"], ["--saliency-budget", "1.5"]),
    (["--keep-mass", "2"], ["--keep-mass", "2"]),
    (["--data", "no_such_scene"], ["--data", "no_such_scene"]),
], ids=["budget_zero", "budget_above_one", "keep_mass_above_one", "unknown_data"])
def test_hollownerf_bad_options(cli, data_dir, tmp_path, options, names):
    out = tmp_path / "nerf"
    run_bad(cli, Case(["scene", "hollownerf", "--data", "lego", "--out", out, *_NERF_TINY,
                       *options], names), tmp_path)
    assert not out.exists()


@pytest.mark.parametrize("options, names", [
    (["--resolution", "99999999"], ["--resolution", "99999999", "at most 800"]),
    (["--levels", "100000"], ["--levels", "<= 128", "100000"]),
    (["--levels", "128", "--table-size", str(2**26), "--finest-resolution", "4096"],
     ["--levels", "--table-size", "2^31"]),
    (["--finest-resolution", str(10**20)], ["--finest-resolution", "2^24", str(10**20)]),
    (["--finest-resolution", "8"], ["--finest-resolution", "greater than or equal to 16"]),
], ids=["resolution_past_the_photos", "levels", "rows_past_int32", "finest_past_float32",
        "finest_below_base"])
def test_hollownerf_sizes_past_what_it_supports_are_refused_before_the_photos(
        cli, data_dir, tmp_path, monkeypatch, options, names):
    """--resolution 99999999 ran out of memory (an internal error); --levels 100000 ran for
    minutes; --finest-resolution 10^20 said "Overflow when unpacking long long"."""
    import scenesparse.photos

    def refuse(*args, **kwargs):
        raise AssertionError("the photos were read before the sizes were checked")

    monkeypatch.setattr(scenesparse.photos, "photo_views", refuse)
    out = tmp_path / "nerf"
    start = time.perf_counter()
    run_bad(cli, Case(["scene", "hollownerf", "--data", "lego", "--out", out, *_NERF_TINY,
                       *options], names), tmp_path)
    assert time.perf_counter() - start < 5.0
    assert not out.exists()


def test_hollownerf_table_past_the_memory_here(cli, data_dir, tmp_path, monkeypatch):
    import scenesparse.nerf.estimator

    out = tmp_path / "nerf"
    monkeypatch.setattr(scenesparse.nerf.estimator, "_physical_memory", lambda: 2**29)
    # Instant-NGP's 16 levels up to 256 at 2^22 rows: 20 M rows of 2 float32 features, 4 copies
    run_bad(cli, Case(["scene", "hollownerf", "--data", "lego", "--out", out, *_NERF_TINY,
                       "--levels", "16", "--finest-resolution", "256", "--table-size", str(2**22)],
                      ["--levels/--table-size", "needs 0.6 GiB", "0.5 GiB of memory here"]),
            tmp_path)
    assert not out.exists()


def test_hollownerf_batch_past_the_pixels(cli, data_dir, tmp_path):
    """--batch-rays 10^9 ran out of memory drawing the rays (an internal error)."""
    out = tmp_path / "nerf"
    # 50 training photos of 16 x 16 pixels: a step draws its rays from 12,800 of them
    run_bad(cli, Case(["scene", "hollownerf", "--data", "lego", "--out", out, *_NERF_TINY,
                       "--batch-rays", "12801"], ["--batch-rays", "12,800 pixels", "12801"]),
            tmp_path)
    assert not out.exists()


def test_hollownerf_data_given_as_its_transforms_file_names_the_folder(cli, tmp_path):
    """nerfstudio's --data takes a transforms.json too; this said "neither a folder nor a
    dataset name"."""
    (tmp_path / "photos").mkdir()
    transforms = write(tmp_path / "photos" / "transforms.json", "{}")
    out = tmp_path / "nerf"
    run_bad(cli, Case(["scene", "hollownerf", "--data", transforms, "--out", out, *_NERF_TINY],
                      ["--data", f"{transforms} is a file; give the folder that holds it"],
                      [transforms]), tmp_path)
    assert not out.exists()


def test_hollownerf_out_is_a_file(cli, data_dir, tmp_path):
    out = write(tmp_path / "nerf", "keep me")
    run_bad(cli, Case(["scene", "hollownerf", "--data", "lego", "--out", out, *_NERF_TINY],
                      ["--out", str(out), "is a file"], [out]), tmp_path)


def test_hollownerf_out_holding_other_files_is_refused(cli, data_dir, tmp_path):
    """A folder of the user's own report.json and model.pt was written over (exit 0); a folder
    of the command's own run (its checkpoint.pt) goes on from it."""
    out = tmp_path / "nerf"
    out.mkdir()
    mine = [write(out / "report.json", '{"mine": true}'), write(out / "model.pt", "my model")]
    run_bad(cli, Case(["scene", "hollownerf", "--data", "lego", "--out", out, *_NERF_TINY],
                      ["--out", f"{out} holds report.json, model.pt, which a run writes over",
                       "no checkpoint.pt", "new or empty"], mine), out)
    other = tmp_path / "other"  # files of no other name are left beside the run's
    other.mkdir()
    write(other / ".DS_Store", "")
    assert cli("scene", "hollownerf", "--data", "lego", "--out", other, *_NERF_TINY).exit_code == 0
    assert (other / "model.pt").is_file() and (other / ".DS_Store").is_file()


def test_hollownerf_checkpoint_of_other_settings(cli, data_dir, tmp_path):
    out = tmp_path / "nerf"
    assert cli("scene", "hollownerf", "--data", "lego", "--out", out, *_NERF_TINY).exit_code == 0
    checkpoint = out / "checkpoint.pt"
    run_bad(cli, Case(["scene", "hollownerf", "--data", "lego", "--out", out, *_NERF_TINY,
                       "--seed", "1"], [str(checkpoint), "--seed 0"], [checkpoint]), out)
    # the same settings on other views (here the photos at another width) are refused too
    run_bad(cli, Case(["scene", "hollownerf", "--data", "lego", "--out", out, *_NERF_TINY,
                       "--resolution", "24"], [str(checkpoint), "other views"], [checkpoint]), out)


def test_hollownerf_without_cameras_leaves_no_folder(cli, tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    write(photos / "r_0.png", b"not read")
    out = tmp_path / "new" / "nerf"
    run_bad(cli, Case(["scene", "hollownerf", "--data", photos, "--out", out, *_NERF_TINY],
                      [str(photos), "cannot tell where the photos were taken"], []), tmp_path)
    assert not (tmp_path / "new").exists()


def test_hollownerf_never_writes_into_its_photos_or_the_data_folder(cli, data_dir, tmp_path,
                                                                     monkeypatch):
    """A trial wrote its outputs into ../shared/data (root may write in read-only folders); the
    refusal comes first, and the test works on a copy of the data root."""
    import shutil

    root = tmp_path / "data"
    lego = root / "3d" / "nerf_synthetic_lego_subset"
    lego.mkdir(parents=True)
    shutil.copy(data_dir / "3d" / "nerf_synthetic_lego_subset" / "transforms_train.json", lego)
    monkeypatch.setenv("SPARSEBOX_DATA", str(root))
    mine = tmp_path / "photos"
    shutil.copytree(lego, mine)
    for data, out, names in ((lego, lego / "run", ["--out", "in the data folder"]),
                             (lego, root, ["--out", "in the data folder"]),
                             (mine, mine, ["--out", "is the folder of the photos"])):
        run_bad(cli, Case(["scene", "hollownerf", "--data", data, "--out", out, *_NERF_TINY],
                          names, [lego / "transforms_train.json"]), tmp_path)
        assert sorted(p.name for p in lego.iterdir()) == ["transforms_train.json"]
        assert sorted(p.name for p in mine.iterdir()) == ["transforms_train.json"]


def test_hollownerf_never_writes_into_a_folder_of_its_photos(cli, tmp_path):
    """`--out lego/train` wrote the run's files among the photos; a new folder beside them (a
    nerfstudio user's `scene/run`) stays allowed."""
    import json

    from PIL import Image

    photos = tmp_path / "photos"
    (photos / "train").mkdir(parents=True)
    Image.new("RGB", (8, 8)).save(photos / "train" / "r_0.png")
    frame = {"file_path": "./train/r_0", "transform_matrix": np.eye(4).tolist()}
    write(photos / "transforms_train.json", json.dumps({"camera_angle_x": 0.7, "frames": [frame]}))
    run_bad(cli, Case(["scene", "hollownerf", "--data", photos, "--out", photos / "train",
                       *_NERF_TINY], ["--out", "is a folder of the photos"],
                      [photos / "train" / "r_0.png"]), tmp_path)
    assert sorted(p.name for p in (photos / "train").iterdir()) == ["r_0.png"]
    result = cli("scene", "hollownerf", "--data", photos, "--out", photos / "run", *_NERF_TINY)
    assert "folder of the photos" not in result.stderr


@pytest.mark.parametrize("content, names", [
    ('{"camera_angle_x": 0.7, "frames": []}', ["transforms_train.json", "no frames"]),
    ("{camera_angle_x: 0.7}", ["transforms_train.json", "not valid JSON"]),
], ids=["no_frames", "not_json"])
def test_photos_whose_transforms_json_is_empty_or_broken_are_named(cli, tmp_path, content,
                                                                   names):
    photos = tmp_path / "photos"
    photos.mkdir()
    write(photos / "transforms_train.json", content)
    run_bad(cli, Case(["scene", "hollownerf", "--data", photos, "--out", tmp_path / "nerf",
                       *_NERF_TINY], names, [photos / "transforms_train.json"]), tmp_path)
    run_bad(cli, Case(["scene", "prune-splats", "donut", tmp_path / "out.ply", "--images", photos,
                       "--resolution", "16", "--rounds", "1"], names,
                      [photos / "transforms_train.json"]), tmp_path)


def test_a_splat_file_of_no_gaussians_is_named(cli, data_dir, tmp_path):
    empty = small_splats(data_dir, tmp_path / "empty.ply", n=0)
    run_bad(cli, Case(["scene", "prune-splats", empty, tmp_path / "out.ply", "--views", "2",
                       "--resolution", "16", "--rounds", "1"], [str(empty), "no Gaussians"],
                      [empty]), tmp_path)


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="this machine has a GPU")
def test_gsplat_without_a_gpu_and_a_negative_seed_name_their_options(cli, data_dir, tiny_video,
                                                                     tmp_path):
    splats = small_splats(data_dir, tmp_path / "in.ply")
    run_bad(cli, Case(["scene", "prune-splats", splats, tmp_path / "out.ply", "--views", "2",
                       "--resolution", "16", "--rounds", "1", "--backend", "gsplat"],
                      ["--backend", "CUDA"], [splats]), tmp_path)
    batch = tmp_path / "batch"
    batch.mkdir()
    small_splats(data_dir, batch / "a.ply")
    run_bad(cli, Case(["scene", "prune-splats", batch, "--out", tmp_path / "out", "--backend",
                       "gsplat"], ["--backend", "CUDA"], [batch / "a.ply"]), tmp_path)
    for option, value, names in (("--backend", "gsplat", ["--backend", "CUDA"]),
                                 ("--seed", "-1", ["--seed", "greater than or equal to 0, got -1"])):
        run_bad(cli, Case(["scene", "queen", "encode", tiny_video / "frames", "-o",
                           tmp_path / "v.qsv", "--epochs", "1", option, value], names),
                tmp_path)


@pytest.mark.parametrize("argv, names", [
    (["scene", "prune-points", "lego", "{tmp}/out.ply"], ["SOURCE", "lego is a nerf-synthetic"]),
    (["scene", "prune-splats", "bunny", "{tmp}/out.ply"], ["SOURCE", "bunny is a mesh-ply"]),
    (["scene", "remove-floaters", "karate", "{tmp}/out.ply"], ["SOURCE", "karate is a metis"]),
    (["scene", "hollownerf", "--data", "donut", "--out", "{tmp}/nerf"],
     ["--data", "donut is a gaussian-ply"]),
], ids=["points_lego", "splats_bunny", "floaters_karate", "nerf_donut"])
def test_a_dataset_of_another_kind_is_named_as_such(cli, data_dir, tmp_path, argv, names):
    run_bad(cli, Case([a.format(tmp=tmp_path) for a in argv], names), tmp_path)


def test_a_file_where_a_folder_is_wanted_is_called_a_file(cli, data_dir, tmp_path):
    source = small_splats(data_dir, tmp_path / "in.ply")
    a_file = write(tmp_path / "text.ply", "not a folder")
    run_bad(cli, Case(["scene", "prune-points", source, a_file / "x.ply"],
                      ["TARGET", f"{a_file} is a file, not a folder"], [source, a_file]), tmp_path)
    run_bad(cli, Case(["scene", "prune-splats", source, tmp_path / "out.ply", "--images", a_file],
                      ["--images", f"{a_file} is a file, not a folder of photos"],
                      [source, a_file]), tmp_path)


def test_prune_splats_cameras_that_are_a_folder_name_the_option(cli, data_dir, tmp_path):
    """--cameras FOLDER said "not a cameras.json ([Errno 21] Is a directory: ...)"."""
    source = small_splats(data_dir, tmp_path / "in.ply")
    folder = tmp_path / "scene"
    folder.mkdir()
    argv = ["scene", "prune-splats", source, tmp_path / "out.ply", "--cameras", folder]
    line = run_bad(cli, Case(argv, ["--cameras", f"{folder} is a folder", "cameras.json"],
                             [source]), tmp_path)
    assert "Errno" not in line
    inside = write(folder / "cameras.json", "[]")
    run_bad(cli, Case(argv, ["--cameras", f"({inside} is one)"], [source, inside]), tmp_path)


def test_truncated_or_damaged_files_are_user_errors(cli, grid, tmp_path):
    """click read a compressed file's early end (EOFError) as an abort: 'interrupted', 130, then
    an unnamed file after an empty line; a damaged gzip file (zlib.error) and a damaged
    checkpoint (BadZipFile) were internal errors."""
    import bz2
    import gzip

    text = b"3 2\n2\n1 3\n2\n"
    damaged = bytearray(gzip.compress(text * 50))
    damaged[15] ^= 0xFF
    damaged[20] ^= 0xFF
    for name, data in (("cut.graph.bz2", bz2.compress(text)[:-8]),
                       ("cut.graph.gz", gzip.compress(text)[:-8]),
                       ("damaged.graph.gz", bytes(damaged)),
                       ("plain.graph.gz", text)):
        path = write(tmp_path / name, data)
        run_bad(cli, Case(["graph", "info", path],
                          [str(path), "the compressed file is truncated or damaged"], [path]),
                tmp_path)
    state = tmp_path / "state"
    result = cli("stream", grid, "--events", _events(tmp_path, "+ 0 7\n"), "--state", state)
    assert result.exit_code == 0, result.output
    checkpoint = state / "checkpoint.npz"
    checkpoint.write_bytes(checkpoint.read_bytes()[:100])
    run_bad(cli, Case(["stream", "export", state, "-o", tmp_path / "h.mtx"],
                      [str(checkpoint), "not a readable stream checkpoint"], [checkpoint]),
            tmp_path)


def test_a_state_is_used_by_one_run_and_only_a_state_or_empty_folder_becomes_one(cli, grid,
                                                                                  tmp_path):
    import os

    from graphsparse.streaming import _lock

    state = tmp_path / "state"
    events = _events(tmp_path, "+ 0 7\n")
    assert cli("stream", grid, "--events", events, "--state", state).exit_code == 0
    held = _lock(state)  # as a run streaming into it holds it
    try:  # two runs at once interleaved their log records
        run_bad(cli, Case(["stream", grid, "--events", events, "--state", state],
                          [str(state), "another run"], [state / "log.jsonl"]), tmp_path)
    finally:
        os.close(held)
    assert cli("stream", grid, "--events", events, "--state", state).exit_code == 0
    (state / "checkpoint.npz").unlink()  # a log without its checkpoint is not replayed anew
    run_bad(cli, Case(["stream", grid, "--events", events, "--state", state],
                      [str(state), "no checkpoint.npz"], [state / "log.jsonl"]), tmp_path)
    mine = tmp_path / "mine"
    mine.mkdir()
    notes = write(mine / "notes.txt", "important")
    run_bad(cli, Case(["stream", grid, "--events", events, "--state", mine],
                      [str(mine), "not empty (notes.txt)"], [notes]), tmp_path)
    assert sorted(p.name for p in mine.iterdir()) == ["notes.txt"]


@pytest.mark.parametrize("argv, option", [
    (["graph", "teddy", "--levels", "1", "--seeds", "1", "--epochs", "1", "--distill-lambda",
      "inf"], "--distill-lambda"),
    (["graph", "teddy", "--levels", "1", "--seeds", "1", "--epochs", "1", "--distill-lambda",
      "nan"], "--distill-lambda"),  # it was "should be greater than or equal to 0"
    (["graph", "gtsp", "--seeds", "1", "--epochs", "1", "--lr", "inf"], "--lr"),
], ids=["distill_lambda", "distill_lambda_nan", "lr"])
def test_infinite_float_options_are_refused(cli, tmp_path, argv, option):
    """--lr inf trained to NaN and left a folder no later run could use."""
    out = tmp_path / "run"
    run_bad(cli, Case([*argv, "--out", out], [option, "finite"]), tmp_path)
    assert not out.exists()


def test_hollownerf_default_resolution_takes_the_width_of_narrower_photos(tmp_path):
    """The default --resolution 128 on 64-pixel photos was refused as "wider than the photos",
    naming an option the user never gave; a value the user gives still is."""
    from PIL import Image

    from scenesparse.cli import _check_resolution

    photo = tmp_path / "r_0.png"
    Image.new("RGB", (64, 48)).save(photo)
    assert _check_resolution(128, [tmp_path / "transforms_train.json", photo], given=False) == 64
    assert _check_resolution(32, [photo], given=True) == 32
    with pytest.raises(typer.BadParameter, match="128 is wider than the photos"):
        _check_resolution(128, [photo], given=True)


def test_an_option_value_after_equals_has_its_home_expanded(cli, data_dir, tmp_path, monkeypatch):
    """The shell leaves the ~ of --out=~/runs as it is: it made a folder named ~ here (which a
    user then removes with rm -rf ~)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    result = cli("graph", "sparsify", "karate", "--method", "random", "--output=~/karate.mtx")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "home" / "karate.mtx").is_file()
    assert not (tmp_path / "~").exists()
    # a value of its own word is the shell's to expand; one after -- is no option's
    run_bad(cli, Case(["graph", "sparsify", "--output=~/x.mtx", "--", "--x=~/y"],
                      ["--x=~/y"]), tmp_path)


@pytest.mark.parametrize("argv", [
    ["prune-points"], ["prune-points", "--method", "uniform"], ["remove-floaters"],
], ids=["graph", "uniform", "remove_floaters"])
@pytest.mark.parametrize("content", ["", "ply\nformat ascii 1.0\nelement vertex 0\nproperty float x"
                                         "\nproperty float y\nproperty float z\nend_header\n"],
                         ids=["empty_xyz", "ply_of_no_vertex"])
def test_a_cloud_of_no_points_is_named_not_an_option(cli, tmp_path, argv, content):
    """An empty file was blamed on an option the user never gave ("--k 10 neighbours needs more
    than 10 points, got 0", "--nb-neighbors 20") or on the method ("keeps none of the 0
    points")."""
    source = write(tmp_path / ("empty.xyz" if not content else "empty.ply"), content)
    out = tmp_path / "out"
    out.mkdir()
    command, *options = argv
    line = run_bad(cli, Case(["scene", command, source, out / "kept.ply", *options],
                             [str(source), "holds no points"], [source]), out)
    assert "--" not in line


def test_hollownerf_takes_a_dataset_name_in_any_case(data_dir):
    """--data LEGO said "neither a folder nor a dataset name", where every other command takes
    KARATE or BUNNY as their datasets."""
    from scenesparse.cli import _photo_folder

    assert _photo_folder("LEGO") == _photo_folder("lego")


# ------------------------------------------------------------------ prune-splats (prunesplats)
def test_prune_splats_image_in_pgf_is_refused_before_any_work(cli, data_dir, tmp_path):
    """--image side.pgf was taken, then after all the work matplotlib's PGF writer wanted LaTeX
    ('internal error, RuntimeError: xelatex not found', exit 1), and with LaTeX it writes each
    render beside the figure as a PNG named after the staged file."""
    source = small_splats(data_dir, tmp_path / "s.ply")
    out = tmp_path / "out"
    out.mkdir()
    run_bad(cli, Case(["scene", "prune-splats", source, out / "kept.ply", "--image",
                       out / "side.pgf", "--views", "2", "--eval-views", "1", "--resolution",
                       "16", "--rounds", "1", "--score", "opacity"],
                      ["--image", "side.pgf", ".png"], [source]), out)


@pytest.mark.parametrize("command, options", [
    ("prune-points", ["--method", "uniform", "--keep-ratio", "0.5"]),
    ("remove-floaters", []),
])
def test_points_with_a_nan_position_are_dropped_on_request(cli, data_dir, tmp_path, command,
                                                            options):
    """An organized cloud (a sensor's) marks missing returns with NaN: the file was refused with
    no way to keep its other points short of editing it."""
    from scenesparse.pointio import read_points

    source = small_splats(data_dir, tmp_path / "nan.ply", 300, nan_at=7)
    out = tmp_path / "out"
    out.mkdir()
    run_bad(cli, Case(["scene", command, source, out / "kept.ply", *options],
                      [str(source), "vertex 7", "pass --drop-nonfinite"], [source]), out)
    result = cli("scene", command, source, out / "kept.ply", *options, "--drop-nonfinite")
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert (summary["total"], summary["dropped_nonfinite"]) == (299, 1)
    kept = read_points(out / "kept.ply")
    assert len(kept) == summary["kept"] and np.isfinite(kept.points).all()


def test_a_mesh_with_a_nan_vertex_reports_the_faces_of_the_file(cli, tmp_path):
    """--drop-nonfinite takes a dropped vertex's faces with it: the report's faces.total had
    counted the faces left after the drop, so none seemed lost."""
    from plyfile import PlyData, PlyElement

    vertices = np.array([(0, 0, 0), (1, 0, 0), (0, 1, 0), (np.nan, 1, 1), (1, 1, 0)],
                        dtype=[("x", "f4"), ("y", "f4"), ("z", "f4")])
    faces = np.array([([0, 1, 2],), ([1, 2, 3],), ([1, 4, 2],)], dtype=[("vertex_indices", "i4", (3,))])
    source = tmp_path / "mesh.ply"
    PlyData([PlyElement.describe(vertices, "vertex"), PlyElement.describe(faces, "face")]).write(
        str(source))
    result = cli("scene", "prune-points", source, tmp_path / "kept.ply", "--method", "uniform",
                 "--keep-ratio", "1", "--drop-nonfinite")
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert (summary["total"], summary["kept"], summary["dropped_nonfinite"]) == (4, 4, 1)
    assert summary["faces"] == {"total": 3, "kept": 2}
