"""Batches of files: a folder or a glob in, one output per file in --out, a broken file named while
the others finish."""

import json
import warnings

import networkx as nx
import numpy as np
import pytest
import torch

from scenesparse.gaussians import GaussianScene, read_ply, write_ply
from sparsebox import as_structure
from sparsebox.data.graphs import load_graph, write_graph


@pytest.fixture
def graphs(tmp_path):
    folder = tmp_path / "graphs"
    folder.mkdir()
    write_graph(as_structure(nx.convert_node_labels_to_integers(nx.grid_2d_graph(6, 6))),
                folder / "grid.mtx")
    write_graph(as_structure(nx.cycle_graph(30)), folder / "ring.graph")
    (folder / "broken.mtx").write_text("%%MatrixMarket matrix coordinate real general\n3 4 1\n")
    return folder


def write_tiny_splats(path):
    """A scene of 20 small Gaussians of degree 0 in the unit cube, written to ``path``."""
    g = torch.Generator().manual_seed(0)
    write_ply(path, GaussianScene(
        means=torch.rand(20, 3, generator=g), quats=torch.tensor([[1.0, 0, 0, 0]] * 20),
        log_scales=torch.full((20, 3), -3.0), opacity_logits=torch.zeros(20),
        sh_dc=torch.zeros(20, 3), sh_rest=torch.zeros(20, 0, 3)))


def test_sparsify_a_folder(graphs, tmp_path, cli):
    out = tmp_path / "out"
    result = cli("graph", "sparsify", graphs, "--out", out, "--method", "fegrass",
                 "--density", "1.2", "--jobs", "2")
    assert result.exit_code == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: 1 of 3 files failed") and "broken.mtx" in line
    assert sorted(p.name for p in out.iterdir()) == ["grid.mtx", "ring.mtx"]
    summaries = [json.loads(ln) for ln in result.stdout.splitlines()]
    assert {s["graph"].rsplit("/", 1)[-1]: s["edges_out"] for s in summaries} == {
        "grid.mtx": 43, "ring.graph": 30}
    assert load_graph(out / "grid.mtx").num_edges == 43


def test_sparsify_a_glob_and_the_usage_errors(graphs, tmp_path, cli):
    out = tmp_path / "out"
    result = cli("graph", "sparsify", str(graphs / "g*.mtx"), "--out", out, "--method", "teddy")
    assert result.exit_code == 0, result.output
    assert [p.name for p in out.iterdir()] == ["grid.mtx"]
    for args, hint in ([[graphs], "--out"], [[graphs, "-o", tmp_path / "x.mtx"], "--out"],
                       [[graphs / "grid.mtx", "--out", out],
                        "--out: is for a folder or glob of graphs; give -o"],
                       [[str(graphs / "nothing*.mtx"), "--out", out], "GRAPH"]):
        bad = cli("graph", "sparsify", *args)
        assert bad.exit_code == 2 and hint in bad.stderr, bad.stderr


@pytest.mark.parametrize("argv", [
    ["graph", "sparsify", "{graphs}", "--out", "{graphs}", "--keep-ratio", "0.5"],
    ["scene", "prune-points", "{graphs}", "--out", "{graphs}"],
])
def test_a_batch_into_its_own_input_folder_is_refused_before_any_work(graphs, cli, argv):
    (graphs / "cloud.xyz").write_text("0 0 0\n1 0 0\n0 1 0\n")
    before = {p.name: p.read_bytes() for p in graphs.iterdir()}
    result = cli(*[a.format(graphs=graphs) for a in argv])
    assert result.exit_code == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: --out:") and "folder of the input files" in line, line
    assert {p.name: p.read_bytes() for p in graphs.iterdir()} == before
    assert result.stdout == ""  # no file was even tried


def test_a_recursive_glob_that_matches_earlier_outputs_names_the_output_folder(tmp_path, cli):
    """A second run of 'scans/**/*.ply' --out scans/out matched the first run's outputs, and
    was told to rename one of two inputs of the same stem."""
    scans = tmp_path / "scans"
    scans.mkdir()
    np.savetxt(scans / "a.xyz", np.random.default_rng(0).random((50, 3)))
    argv = ["scene", "prune-points", "--out", scans / "out", "--method", "uniform",
            "--keep-ratio", "0.5"]
    assert cli(*argv[:2], scans, *argv[2:]).exit_code == 0
    before = sorted(p.relative_to(scans) for p in scans.rglob("*"))
    line = cli(*argv[:2], f"{scans}/**/*.xyz", *argv[2:]).error_line()
    assert line == (f"error: --out: {scans / 'out'} is the folder of the input files; write to "
                    "another folder (inputs are never overwritten)")
    assert sorted(p.relative_to(scans) for p in scans.rglob("*")) == before


def test_a_batch_whose_inputs_share_a_stem_is_refused_before_any_work(graphs, tmp_path, cli):
    write_graph(as_structure(nx.cycle_graph(12)), graphs / "grid.graph")  # beside grid.mtx
    out = tmp_path / "out"
    result = cli("graph", "sparsify", graphs, "--out", out, "--keep-ratio", "0.5")
    assert result.exit_code == 2
    (line,) = result.stderr.splitlines()
    assert "grid.graph and grid.mtx would write the same outputs" in line, line
    assert not out.exists() and result.stdout == ""


def test_a_batch_with_a_bad_size_fails_before_any_file(graphs, tmp_path, cli):
    out = tmp_path / "out"
    result = cli("graph", "sparsify", graphs, "--out", out, "--budget", "0")
    assert result.exit_code == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: Invalid value for --budget") and "got 0" in line, line
    assert not out.exists() and result.stdout == ""


@pytest.mark.parametrize("command", [["graph", "sparsify"], ["scene", "prune-points"],
                                     ["scene", "remove-floaters"]])
def test_a_batch_with_a_bad_executor_makes_no_output_folder(graphs, tmp_path, cli, command):
    folder = graphs
    if command[0] == "scene":  # two small clouds
        import numpy as np

        from scenesparse.pointio import PointCloud, write_points

        folder = tmp_path / "clouds"
        folder.mkdir()
        for name in ("a.xyz", "b.xyz"):
            write_points(folder / name,
                         PointCloud.from_xyz(np.random.default_rng(0).random((50, 3))))
    out = tmp_path / "out" / "new"
    result = cli(*command, folder, "--out", out, "--executor", "bogus")
    assert result.exit_code == 2 and "--executor" in result.stderr, result.output
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("command, option", [
    (["scene", "prune-points", "--method", "uniform"], "--report"),
    (["scene", "remove-floaters"], "--report"),
    (["scene", "prune-splats"], "--report"), (["scene", "prune-splats"], "--image")])
def test_a_one_file_option_given_to_a_batch_makes_no_output_folder(tmp_path, cli, command,
                                                                   option):
    import numpy as np

    from scenesparse.pointio import PointCloud, write_points

    folder = tmp_path / "clouds"
    folder.mkdir()
    for name in ("a.ply", "b.ply"):
        write_points(folder / name, PointCloud.from_xyz(np.random.default_rng(0).random((50, 3))))
    out = tmp_path / "out"
    result = cli(*command[:2], folder, *command[2:], "--out", out, option, tmp_path / "r.json")
    assert result.exit_code == 2 and f"{option}: a batch writes" in result.stderr, result.output
    assert not out.exists() and result.stdout == ""


def test_a_batch_whose_every_file_fails_says_none_was_written(tmp_path, cli):
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "a.mtx").write_text("%%MatrixMarket matrix coordinate real general\n3 4 1\n")
    result = cli("graph", "sparsify", folder, "--out", tmp_path / "out" / "new", "--keep-ratio",
                 "0.5")
    assert result.exit_code == 2
    assert result.stderr.rstrip().endswith("no file was written"), result.stderr
    assert not (tmp_path / "out").exists()  # the folders it made are gone again
    kept = tmp_path / "kept"  # a folder the user made stays
    kept.mkdir()
    assert cli("graph", "sparsify", folder, "--out", kept, "--keep-ratio", "0.5").exit_code == 2
    assert kept.is_dir()


def test_remove_floaters_on_a_folder_writes_each_cloud_as_one_file_would(tmp_path, cli):
    """remove-floaters took one file only, where the other point commands take a folder."""
    from scenesparse.pointio import PointCloud, read_points, write_points

    folder, one = tmp_path / "scans", tmp_path / "one"
    folder.mkdir()
    one.mkdir()
    rng = np.random.default_rng(0)
    for name in ("a.ply", "b.xyz"):  # a cluster with three far floaters each
        points = np.vstack([rng.normal(size=(200, 3)), rng.uniform(20, 30, size=(3, 3))])
        write_points(folder / name, PointCloud.from_xyz(points, intensity=rng.random(203)))
    (folder / "c.ply").write_text("ply\nformat ascii 1.0\n")  # broken: named, the others written
    out = tmp_path / "clean"
    result = cli("scene", "remove-floaters", folder, "--out", out, "--std-ratio", "1.5",
                 "--jobs", "2")
    assert result.exit_code == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: 1 of 3 files failed") and "c.ply" in line, line
    assert sorted(p.name for p in out.iterdir()) == ["a.ply", "a_report.json", "b.xyz",
                                                     "b_report.json"]
    for name in ("a.ply", "b.xyz"):
        alone = cli("scene", "remove-floaters", folder / name, one / name, "--std-ratio", "1.5")
        assert alone.exit_code == 0, alone.output
        batch, single = read_points(out / name), read_points(one / name)
        assert batch.fields == single.fields == ("x", "y", "z", "intensity")
        np.testing.assert_array_equal(batch.data, single.data)
        assert len(batch) <= 200 and batch.points.max() < 20  # the floaters are gone
        report = json.loads((out / f"{name.split('.')[0]}_report.json").read_text())
        assert report["method"] == "floaters" and report["total"] == 203


def test_prune_splats_on_a_folder_writes_each_scene(tmp_path, cli):
    folder = tmp_path / "scenes"
    folder.mkdir()
    for name, seed in (("one.ply", 0), ("two.ply", 1)):
        g = torch.Generator().manual_seed(seed)
        n = 400
        write_ply(folder / name, GaussianScene(
            means=torch.rand(n, 3, generator=g) * 0.2, quats=torch.randn(n, 4, generator=g),
            log_scales=torch.full((n, 3), -4.0), opacity_logits=torch.randn(n, generator=g),
            sh_dc=torch.randn(n, 3, generator=g), sh_rest=torch.zeros(n, 0, 3)))
    out = tmp_path / "pruned"
    result = cli("scene", "prune-splats", folder, "--out", out, "--budget", "100", "--views", "3",
                 "--resolution", "32", "--eval-views", "1", "--rounds", "1")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == [
        "one.ply", "one_report.json", "one_side_by_side.png", "two.ply", "two_report.json",
        "two_side_by_side.png"]
    assert len(read_ply(out / "two.ply")) == 100
    assert json.loads((out / "one_report.json").read_text())["kept"] == 100
    image = cli("scene", "prune-splats", folder, "--out", out, "--image", tmp_path / "x.png")
    assert image.exit_code == 2 and "--image" in image.stderr
    assert np.all([json.loads(ln)["kept"] == 100 for ln in result.stdout.splitlines()])


@pytest.mark.parametrize("argv, hint", [
    (["graph", "sparsify", "{grid}", "-o", "{out}/g.mtx", "--jobs", "2"], "--jobs"),
    (["scene", "prune-points", "{cloud}", "{out}/c.xyz", "--executor", "ray", "--address",
      "1.2.3.4"], "--executor/--address"),
    (["scene", "prune-splats", "{splats}", "{out}/s.ply", "--jobs", "3"], "--jobs"),
    (["scene", "prune-splats", "{splats}", "{out}/s.ply", "--gpus-per-file", "0.5"],
     "--gpus-per-file"),
    (["scene", "prune-splats", "{splats_folder}", "--out", "{out}", "--gpus-per-file", "0.5"],
     "Invalid value for --gpus-per-file: a GPU share is for --executor ray"),
    (["graph", "sparsify", "{grid}", "-o", "{out}/g.mtx", "--out", "{out}"], "--out"),
    (["scene", "prune-points", "{graphs}", "--out", "{out}", "--report", "{out}/r.json"],
     "--report"),
])
def test_options_of_a_batch_with_one_file_and_of_one_file_with_a_batch_are_refused(
        graphs, tmp_path, cli, argv, hint):
    (graphs / "cloud.xyz").write_text("0 0 0\n1 0 0\n0 1 0\n")
    write_tiny_splats(tmp_path / "s.ply")
    out = tmp_path / "out"
    names = {"grid": graphs / "grid.mtx", "cloud": graphs / "cloud.xyz", "graphs": graphs,
             "splats": tmp_path / "s.ply", "splats_folder": tmp_path, "out": out}
    result = cli(*[a.format(**names) for a in argv])
    assert result.exit_code == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith("error:") and hint in line, line
    assert not out.exists() or not any(out.iterdir())


def test_a_batch_keeps_the_self_loops_of_its_graphs(tmp_path, cli):
    """Outputs are .mtx: their diagonal is marked as loops, which the methods keep."""
    folder = tmp_path / "looped"
    folder.mkdir()
    edges = [(i, (i + 1) % 12) for i in range(12)] + [(i, i + 6) for i in range(6)] + [(2, 2)]
    (folder / "ring.txt").write_text("".join(f"{u} {v}\n" for u, v in edges))
    out = tmp_path / "out"
    result = cli("graph", "sparsify", folder, "--out", out, "--method", "fegrass",
                 "--keep-ratio", "0.8")
    assert result.exit_code == 0, result.output
    back = load_graph(out / "ring.mtx")
    assert back.num_items == 15 and (back.rows == back.cols).sum() == 1  # 14 edges and the loop
    # the summary's keep ratio is --keep-ratio's: of the 18 non-loop edges (the loop stays)
    (summary,) = [json.loads(line) for line in result.stdout.splitlines()]
    assert summary["edges_in"] == 19 and summary["keep_ratio"] == 14 / 18


def test_a_batch_takes_every_graph_file_one_file_takes(tmp_path, cli):
    """A folder skipped compressed edge lists and Matrix Market files (and .metis) that
    `graph sparsify FILE` reads; outputs are named without the compression suffix."""
    import bz2
    import gzip

    from sparsebox.data.graphs import _READERS, WRITABLE_GRAPH_SUFFIXES

    grid = as_structure(nx.convert_node_labels_to_integers(nx.grid_2d_graph(4, 4)))
    folder = tmp_path / "graphs"
    folder.mkdir()
    compressors = {"": lambda raw: raw, ".gz": gzip.compress, ".bz2": bz2.compress}
    stems = []
    for suffix in _READERS:
        plain = tmp_path / f"plain{suffix if suffix in WRITABLE_GRAPH_SUFFIXES else '.graph'}"
        write_graph(grid, plain)
        for compression, compress in compressors.items():
            stem = f"{suffix[1:]}{compression.replace('.', '_')}"
            name = folder / f"{stem}{suffix}{compression}"
            name.write_bytes(compress(plain.read_bytes()))
            assert load_graph(name).num_edges == grid.num_edges  # what one file reads
            stems.append(stem)
    out = tmp_path / "out"
    result = cli("graph", "sparsify", folder, "--out", out, "--method", "random",
                 "--keep-ratio", "0.5")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{s}.mtx" for s in stems)
    assert len(result.stdout.splitlines()) == len(stems)
    glob = cli("graph", "sparsify", str(folder / "mtx*.mtx.*"), "--out", tmp_path / "globbed",
               "--method", "random", "--keep-ratio", "0.5")
    assert glob.exit_code == 0, glob.output
    assert sorted(p.name for p in (tmp_path / "globbed").iterdir()) == ["mtx_bz2.mtx", "mtx_gz.mtx"]


@pytest.mark.parametrize("options, hint, why", [
    (["--sh-steps", "5"], "--sh-steps", "trains the SH refit of --sh-degree, which is not given"),
    (["--images", "{photos}", "--views", "3"], "--views", "counts orbit views, and --images gives"),
    (["--cameras", "{cameras}", "--eval-views", "2"], "--eval-views", "and --cameras gives its own"),
])
def test_prune_splats_refuses_options_that_would_do_nothing(tmp_path, cli, options, hint, why):
    write_tiny_splats(tmp_path / "s.ply")
    (tmp_path / "photos").mkdir()
    (tmp_path / "cameras.json").write_text("[]")
    names = {"photos": tmp_path / "photos", "cameras": tmp_path / "cameras.json"}
    out = tmp_path / "out.ply"
    result = cli("scene", "prune-splats", tmp_path / "s.ply", out,
                 *[a.format(**names) for a in options])
    assert why in result.error_line(hint) and not out.exists()


MARKING_TASKS = '''
import time
from pathlib import Path


def mark_when_done(task, emit):
    folder, name = task
    emit(name)
    time.sleep(2.0)  # long enough for a slow, loaded machine to stop the run first
    Path(folder, f"{name}.done").write_text("")
    return name
'''


def _interrupt(record):
    raise KeyboardInterrupt  # as Ctrl-C in the parent would, while the tasks run


def test_an_interrupted_run_starts_none_of_its_queued_tasks(tmp_path, monkeypatch):
    """Ctrl-C stopped the parent only once the pool's workers had run every queued task (and
    written its outputs): a batch of many files went on to its end."""
    import importlib

    from sparsebox.parallel import LocalExecutor

    (tmp_path / "marking_tasks.py").write_text(MARKING_TASKS)
    monkeypatch.syspath_prepend(str(tmp_path))  # the spawned workers inherit sys.path
    tasks = importlib.import_module("marking_tasks")
    done = tmp_path / "done"
    done.mkdir()
    with pytest.raises(KeyboardInterrupt):
        LocalExecutor(2, threads=1).run(tasks.mark_when_done, [(done, i) for i in range(8)],
                                        on_record=_interrupt)
    assert len(list(done.iterdir())) <= 2  # at most the two that had started


def test_an_interrupted_batch_leaves_no_output_folder_it_made(tmp_path):
    from sparsebox.batch import run_batch
    from sparsebox.outputs import folders_to_make

    out = tmp_path / "out" / "new"
    made = folders_to_make(out)
    out.mkdir(parents=True)

    class Interrupted:
        def run(self, fn, tasks, on_record=None):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_batch(Interrupted(), abs, [{"source": "a.mtx"}], made=made)
    assert not (tmp_path / "out").exists()


def test_two_inputs_of_one_name_from_two_folders_are_told_apart(tmp_path, cli):
    """A glob over folders: "a.mtx and a.mtx would write the same outputs" named neither."""
    for folder in ("one", "two"):
        (tmp_path / folder).mkdir()
        write_graph(as_structure(nx.cycle_graph(12)), tmp_path / folder / "a.mtx")
    out = tmp_path / "out"
    result = cli("graph", "sparsify", str(tmp_path / "*" / "*.mtx"), "--out", out,
                 "--keep-ratio", "0.5")
    line = result.error_line("--out")
    assert f"{tmp_path / 'one' / 'a.mtx'} and {tmp_path / 'two' / 'a.mtx'} would write" in line
    assert not out.exists()


@pytest.mark.parametrize("address", ["", " "])
def test_an_empty_address_is_refused_not_taken_for_a_new_local_cluster(graphs, tmp_path, cli,
                                                                       address):
    """`--address "$HEAD"` with HEAD unset started a new local cluster and ran the batch there."""
    out = tmp_path / "out"
    result = cli("graph", "sparsify", graphs, "--out", out, "--keep-ratio", "0.5", "--executor",
                 "ray", "--address", address)
    assert "is empty" in result.error_line("--address")
    assert not out.exists() and result.stdout == ""


@pytest.mark.parametrize("command", [["graph", "sparsify"], ["scene", "prune-splats"],
                                     ["scene", "prune-points"], ["scene", "remove-floaters"]])
def test_a_mistyped_batch_folder_is_named_not_the_out_option(tmp_path, cli, command):
    """``graph sparsify graphz/ --out o`` said --out is for a folder of graphs (give -o for one
    graph): the folder's name had a typo."""
    out = tmp_path / "out"
    result = cli(*command, f"{tmp_path / 'graphz'}/", "--out", out)
    assert result.exit_code == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith("error:") and f"no such folder: {tmp_path / 'graphz'}/" in line, line
    for args in (["--out", out], []):  # without the slash, with --out or without any output
        result = cli(*command, tmp_path / "graphz", *args)
        assert result.exit_code == 2
        (line,) = result.stderr.splitlines()
        assert line.startswith("error:") and line.endswith(
            f"no such file, folder or dataset: {tmp_path / 'graphz'}"), line
    assert not out.exists()


def test_prune_splats_takes_the_least_resolution_that_gaussian_pruner_takes(tmp_path, cli):
    """The command refused --resolution below 16, where GaussianPruner and prune_splat_file take 8."""
    from scenesparse.importance import GaussianPruner

    least = GaussianPruner._parameter_constraints["resolution"][0].low
    write_tiny_splats(tmp_path / "s.ply")
    out = tmp_path / "out.ply"
    result = cli("scene", "prune-splats", tmp_path / "s.ply", out, "--budget", "10", "--views", "2",
                 "--eval-views", "1", "--resolution", str(least))
    assert result.exit_code == 0, result.output
    assert len(read_ply(out)) == 10
    result = cli("scene", "prune-splats", tmp_path / "s.ply", tmp_path / "o2.ply", "--resolution",
                 str(least - 1))
    assert "--resolution" in result.error_line() and not (tmp_path / "o2.ply").exists()


@pytest.mark.parametrize("command, taken", [
    (("graph", "sparsify", "{graphs}", "--keep-ratio", "0.5"), "ring.mtx"),
    (("scene", "prune-points", "{points}", "--method", "uniform"), "b_report.json"),
    (("scene", "prune-splats", "{splats}", "--budget", "10", "--views", "3"), "s_side_by_side.png"),
])
def test_a_batch_output_taken_by_a_folder_is_refused_before_any_file(graphs, tmp_path, cli,
                                                                     command, taken):
    """A folder named as one file's output failed that file only, after the others ran, and the
    error named TARGET or --output, options a batch does not take."""
    points, splats = tmp_path / "points", tmp_path / "splats"
    points.mkdir(), splats.mkdir()
    np.savetxt(points / "a.xyz", np.random.default_rng(0).random((50, 3)))
    np.savetxt(points / "b.xyz", np.random.default_rng(1).random((50, 3)))
    write_tiny_splats(splats / "s.ply")
    write_tiny_splats(splats / "t.ply")
    (graphs / "broken.mtx").unlink()
    out = tmp_path / "out"
    (out / taken).mkdir(parents=True)
    args = [a.format(graphs=graphs, points=points, splats=splats) for a in command]
    result = cli(*args, "--out", out)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: --out: {out / taken} is a folder, where the batch writes")
    assert sorted(p.name for p in out.iterdir()) == [taken]  # no file written


@pytest.mark.parametrize("command, one", [(("graph", "sparsify"), "-o"),
                                          (("scene", "prune-points"), None)])
@pytest.mark.parametrize("source", ["", " "])
def test_an_empty_source_is_refused_not_taken_for_the_working_folder(tmp_path, cli, monkeypatch,
                                                                      command, one, source):
    """``sparsebox scene prune-points "$SCANS" --out thinned`` with SCANS unset ran every file of
    the working folder; with one output the error named no source ("names 2 files")."""
    write_graph(as_structure(nx.cycle_graph(8)), tmp_path / "ring.mtx")
    np.savetxt(tmp_path / "cloud.xyz", np.random.default_rng(0).random((50, 3)))
    monkeypatch.chdir(tmp_path)
    hint = "GRAPH" if command[0] == "graph" else "SOURCE"
    for args in (["--out", tmp_path / "out"], [one, tmp_path / "x.mtx"] if one else
                 [tmp_path / "x.xyz"]):
        result = cli(*command, source, *args)
        assert result.exit_code == 2
        assert result.stderr.splitlines() == [f"error: {hint}: is empty; give a file, a folder "
                                              "or a glob"], result.stderr
        assert result.stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cloud.xyz", "ring.mtx"]


def test_one_file_whose_name_holds_glob_characters_is_that_file(tmp_path, cli):
    """``scan[v2].ply`` was taken for a pattern, which matched no file: "the pattern holds no
    .ply file", and the file could not be given at all."""
    graph, cloud = tmp_path / "ring[1].mtx", tmp_path / "scan[v2]*.xyz"
    write_graph(as_structure(nx.cycle_graph(8)), graph)
    np.savetxt(cloud, np.random.default_rng(0).random((50, 3)))
    result = cli("graph", "sparsify", graph, "-o", tmp_path / "ring.mtx", "--method", "random",
                 "--budget", "4")
    assert result.exit_code == 0, result.output
    assert load_graph(tmp_path / "ring.mtx").num_edges == 4
    result = cli("scene", "prune-points", cloud, tmp_path / "kept.xyz", "--method", "uniform",
                 "--budget", "5")
    assert result.exit_code == 0, result.output
    assert np.loadtxt(tmp_path / "kept.xyz").shape == (5, 3)


def test_a_double_star_glob_takes_subfolders_at_any_depth(tmp_path):
    """'scans/**/*.xyz' took '**' for '*': it matched scans/sub/a.xyz but not scans/b.xyz."""
    from sparsebox.batch import batch_sources

    for name in ("b.xyz", "sub/a.xyz", "sub/deeper/c.xyz", "sub/skip.ply"):
        (tmp_path / "scans" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "scans" / name).write_text("0 0 0\n")
    files = batch_sources(f"{tmp_path}/scans/**/*.xyz", suffixes=(".xyz",))
    assert [p.relative_to(tmp_path / "scans").as_posix() for p in files] == [
        "b.xyz", "sub/a.xyz", "sub/deeper/c.xyz"]


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_file_that_fails_an_option_names_the_option(graphs, tmp_path, cli, jobs):
    """The failure of one file of a batch crosses from its task as text: a BadParameter's text
    had lost the option its single-file run names ("Invalid value for --budget")."""
    (graphs / "broken.mtx").unlink()
    result = cli("graph", "sparsify", graphs, "--out", tmp_path / "out", "--method", "random",
                 "--budget", "40", "--jobs", jobs)
    assert result.exit_code == 2
    assert "ring.graph: Invalid value for --budget: 40 is more than" in result.error_line()
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["grid.mtx"]


@pytest.mark.parametrize("text", ["0 0\n1 1\n", None], ids=["only self-loops", "no edges"])
def test_the_keep_ratio_of_a_graph_with_nothing_to_prune_is_one(tmp_path, cli, text):
    """A graph whose edges are all self-loops (or a Matrix Market file of explicit zeros: no
    edges) keeps every edge it has: its summary's keep ratio was 0 / 0 read as 0.0."""
    path = tmp_path / ("g.txt" if text else "g.mtx")
    path.write_text(text or "%%MatrixMarket matrix coordinate real symmetric\n3 3 1\n2 1 0\n")
    result = cli("graph", "sparsify", path, "-o", tmp_path / "o.mtx", "--method", "random",
                 "--keep-ratio", "0.5", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["edges_out"] == summary["edges_in"] and summary["keep_ratio"] == 1.0


def test_prune_splats_on_ray_names_the_backend_a_task_cannot_run(monkeypatch):
    """On Ray the backend is checked where the task runs (a worker may have a GPU): gsplat on a
    worker without one was told as a failed file, without the option."""
    import typer

    import scenesparse.cli as scene_cli
    from sparsebox.exceptions import InvalidParameterError

    def no_gpu(task, progress):
        raise InvalidParameterError("backend 'gsplat' needs a CUDA GPU; use 'numba' or 'torch'")

    monkeypatch.setattr(scene_cli, "_prune_splats_file", no_gpu)
    with pytest.raises(typer.BadParameter) as err:
        scene_cli._prune_splats_task({}, print)
    assert err.value.param_hint == "--backend"


def test_a_target_given_for_a_folder_of_inputs_is_the_argument_named(tmp_path, cli):
    """``prune-points scans scans/out.ply`` said "Invalid value for --out: scans names 1 files",
    naming an option the user had not given; as `graph sparsify` does for -o, TARGET is named."""
    scans = tmp_path / "scans"
    scans.mkdir()
    np.savetxt(scans / "a.xyz", np.random.default_rng(0).random((50, 3)))
    for args, then in (([scans / "out.ply"], "give --out FOLDER for their outputs instead"),
                       ([tmp_path / "x.ply", "--out", tmp_path / "o"], "drop TARGET")):
        line = cli("scene", "prune-points", scans, *args).error_line()
        assert line == (f"error: Invalid value for TARGET: is for a single file, and {scans} is a "
                        f"folder (1 file): {then}"), line
    line = cli("scene", "prune-points", scans).error_line()
    assert line == f"error: Invalid value for --out: {scans} names 1 file: give --out FOLDER for " \
                   "their outputs", line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scans"]
    assert sorted(p.name for p in scans.iterdir()) == ["a.xyz"]


def test_a_warning_of_a_file_in_a_batch_names_the_file(tmp_path, cli, capsys):
    """A batch printed "warning: density 2.5 asks for 10 edges, more than the graph's 4 ..."
    once per file, without the file (and in any order with --jobs). A warning that names one of
    the task's files already is left as it is (the edge element of a.ply, an output's F 8)."""
    folder, out = tmp_path / "in", tmp_path / "out"
    folder.mkdir()
    (folder / "a.txt").write_text("0 1\n1 2\n2 3\n3 0\n")
    (folder / "b.txt").write_text("0 1\n1 2\n2 3\n3 0\n")  # the same warning: each is shown
    (folder / "c.txt").write_text("0 1\n1 2\n2 3\n3 0\n0 2\n1 3\n")
    result = cli("graph", "sparsify", folder, "--out", out, "--density", "1.2",
                 "--method", "random")
    assert result.exit_code == 0, result.output
    assert sorted(result.stderr.splitlines()) == [
        f"warning: {folder / n}: density 1.2 asks for 5 edges, more than the graph's 4 (its own "
        "density is 1.00): every edge is kept" for n in ("a.txt", "b.txt")]

    from sparsebox.batch import _warnings_name_the_file

    def warns(task, emit):
        warnings.warn(f"{task['target']}: written as 8-byte floats", stacklevel=2)
        warnings.warn("no colours", stacklevel=2)
        return task

    def imports_a_library(task, emit):  # which sets its filters as it is imported
        warnings.filterwarnings("ignore", message="noisy", module="some_library")
        warnings.filterwarnings("ignore", message="quiet", append=True)  # below the others
        return task

    capsys.readouterr()
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        _warnings_name_the_file(warns, ("target",), {"source": "a.ply", "target": "o/a.pcd"}, None)
        # the filters a task added stay for the next tasks of its process (the library is
        # imported once)
        _warnings_name_the_file(imports_a_library, (), {"source": "b.ply"}, None)
        assert warnings.filters[0][0] == "ignore" and warnings.filters[0][1].pattern == "noisy"
        assert warnings.filters[0][3].pattern == "some_library"
        # one added below the others stays below them (it was put back in front of them)
        assert warnings.filters[-1][0] == "ignore" and warnings.filters[-1][1].pattern == "quiet"
        assert warnings.filters[1][0] == "always"
    assert capsys.readouterr().err.splitlines() == [
        "warning: o/a.pcd: written as 8-byte floats", "warning: a.ply: no colours"]
