import json
import subprocess
import sys

import pytest

from sparsebox import __version__


def test_help_lists_the_groups(cli):
    result = cli("--help")
    assert result.exit_code == 0
    for group in ("data", "graph", "scene", "stream", "methods", "demo"):
        assert group in result.stdout


def test_the_scene_group_names_every_kind_of_scene_it_has_commands_for(cli):
    """It said "Pruning for Gaussian splats and point clouds" beside hollownerf and queen."""
    for text in (cli("--help").stdout, cli("scene", "--help").stdout.split("Options:")[0]):
        assert all(word in " ".join(text.split()) for word in ("QUEEN", "HollowNeRF", "point clouds"))


def test_version_and_python_dash_m():
    for argv in (["-m", "sparsebox", "--version"], ["-m", "sparsebox.cli", "--version"]):
        done = subprocess.run([sys.executable, *argv], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0 and done.stdout.strip() == f"sparsebox {__version__}"


def test_help_and_data_list_import_neither_torch_nor_numba():
    """The face loads a domain only when one of its commands runs."""
    code = ("import sys\nfrom sparsebox.cli import main\n"
            "for argv in (['--help'], ['data', 'list', '--json'], ['graph', '--help'], "
            "['scene', '--help'], ['stream', '--help'], ['methods']):\n"
            "    try:\n        main(argv)\n    except SystemExit:\n        pass\n"
            "heavy = [m for m in ('torch', 'numba', 'scipy', 'open3d', 'torch_geometric', 'ray') "
            "if m in sys.modules]\nprint('HEAVY', heavy)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "HEAVY []"


def test_shell_completion_reaches_the_domains_commands(cli):
    """One completion for the whole command line (typer's --install-completion on the root): it
    completes a domain's commands and options, which load lazily; the domains' groups offer no
    completion of their own (theirs answered every key press with "Shell bash not supported")."""
    import os

    def complete(words: str) -> list[str]:
        env = {**os.environ, "_SPARSEBOX_COMPLETE": "complete_bash", "COMP_WORDS": words,
               "COMP_CWORD": str(len(words.split()) - 1)}
        done = subprocess.run([sys.executable, "-m", "sparsebox"], env=env, capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0 and not done.stderr, done.stderr
        return done.stdout.split()

    assert complete("sparsebox gr") == ["graph"]
    assert complete("sparsebox graph spa") == ["sparsify"]
    assert "--method" in complete("sparsebox graph sparsify --me")
    assert "--install-completion" in cli("--help").stdout
    for group in (["graph"], ["stream"], ["scene"], ["scene", "queen"]):
        assert "completion" not in cli(*group, "--help").stdout, group


def test_help_text_is_not_console_markup(cli):
    """'[w]' in a help text is an optional weight, not a markup tag to swallow."""
    result = cli("stream", "run", "--help")
    assert result.exit_code == 0 and "'+ u v [w]'" in " ".join(result.stdout.split())


def test_data_list_json_marks_present_files(data_dir, cli):
    result = cli("data", "list", "--json")
    assert result.exit_code == 0, result.output
    rows = {r["name"]: r for r in json.loads(result.stdout)["datasets"]}
    assert rows["wave"]["present"] and rows["cora"]["present"]
    assert not rows["ogbn-arxiv"]["present"]


def test_data_list_counts_a_truncated_file_as_missing(data_dir, cli, tmp_path):
    """An empty karate.graph, or 7 of cora's 8 files, were listed as "present"/"8" alike: a
    file counts where it has the catalogue's size, and the table says how many of them do."""
    from sparsebox.data.sources import get_dataset

    cora = get_dataset("cora")
    for f in cora.files[:-1]:
        (tmp_path / f.path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / f.path).write_bytes((data_dir / f.path).read_bytes())
    karate = tmp_path / get_dataset("karate").main_file.path
    karate.parent.mkdir(parents=True, exist_ok=True)
    karate.write_bytes((data_dir / get_dataset("karate").main_file.path).read_bytes()[:-10])
    rows = {r["name"]: r for r in json.loads(cli("data", "list", "--json", "--root", tmp_path)
                                             .stdout)["datasets"]}
    assert (rows["karate"]["present"], rows["karate"]["files_present"]) == (False, 0)
    assert (rows["cora"]["present"], rows["cora"]["files_present"]) == (False, len(cora.files) - 1)
    table = cli("data", "list", "--root", tmp_path).stdout
    assert any(line.split("│")[1:5] == ["cora", "planetoid", "no", f"7/{len(cora.files)}"]
               for line in table.replace(" ", "").splitlines())


def test_graph_info_json(data_dir, cli):
    result = cli("graph", "info", "fe_4elt2", "--json")
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert info["num_nodes"] == 11143 and info["num_edges"] == 32818
    assert info["components"] == 1


def test_planetoid_graph_is_read_without_pyg_as_pyg_builds_it(data_dir):
    """The core reads Planetoid's raw graph itself; PyG's loader gives the same edges."""
    import numpy as np

    from graphsparse.datasets import load_planetoid
    from sparsebox import as_structure
    from sparsebox.data import load_graph

    for name in ("cora", "citeseer"):
        ours = load_graph(name)
        data = load_planetoid(name)
        theirs = as_structure(data.edge_index.numpy(), num_nodes=data.num_nodes)
        assert ours.num_nodes == theirs.num_nodes
        assert np.array_equal(ours.rows, theirs.rows) and np.array_equal(ours.cols, theirs.cols)


def test_methods_lists_the_registry(cli):
    result = cli("methods", "--json")
    listed = {(r["item"], r["name"]): r for r in json.loads(result.stdout)}
    assert {("edge", "teddy"), ("edge", "dygrass"), ("gaussian", "radsplat"),
            ("point", "graph")} <= set(listed)
    # every field of an entry (the JSON had left out whether it streams and its reference)
    assert listed["edge", "dygrass"]["streaming"] is True
    assert listed["edge", "teddy"]["streaming"] is False and listed["edge", "teddy"]["reference"]
    assert cli("methods", "--item", "nope").exit_code == 2
    both = cli("methods", "--json", "--markdown")
    assert both.exit_code == 2 and "--json/--markdown" in both.stderr


@pytest.mark.parametrize("argv, code", [(["graph", "info", "nope"], 2), (["nope"], 2),
                                        (["graph", "info"], 2), (["data"], 0)])
def test_errors_are_one_line(cli, argv, code):
    result = cli(*argv)
    assert result.exit_code == code
    if code:
        lines = result.stderr.splitlines()  # no blank line from a progress bar either
        assert len(lines) == 1 and lines[0].startswith("error: ")
        assert "Traceback" not in result.output


def test_graph_info_of_an_empty_name_names_the_argument(cli):
    """It read the working folder: "error: .: is a folder, not a graph file"."""
    assert cli("graph", "info", " ").error_line() == (
        "error: Invalid value for GRAPH: is empty; give a dataset name or a file")


def test_an_empty_path_option_is_refused_not_taken_for_the_working_folder(cli, tmp_path,
                                                                          monkeypatch):
    """``--out "$OUT"`` with OUT unset wrote a batch's outputs into the working folder (exit 0),
    as ``--state ""`` did a stream's checkpoint; ``--events ""`` was "a folder", and an empty
    stream GRAPH "name_or_path must be a dataset name"."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "graphs").mkdir()
    (tmp_path / "graphs" / "ring.txt").write_text("0 1\n1 2\n2 0\n")
    (tmp_path / "events.txt").write_text("- 0 1\n")
    runs = [(["graph", "sparsify", "graphs", "--method", "random", "--keep-ratio", "0.5",
              "--out", ""], "--out"),
            (["graph", "sparsify", "graphs", "--method", "random", "--keep-ratio", "0.5",
              "--out= "], "--out"),
            (["graph", "sparsify", "graphs/ring.txt", "-o", "", "--method", "random"], "--output"),
            (["stream", "graphs/ring.txt", "--events", "events.txt", "--state", ""], "--state"),
            (["stream", "graphs/ring.txt", "--events", "", "--state", "s"], "--events"),
            (["scene", "prune-points", "x.ply", "y.ply", "--report", ""], "--report")]
    for argv, option in runs:
        assert cli(*argv).error_line() == f"error: {option}: is empty; give a file or folder name"
    assert cli("graph", "sparsify", "graphs", "--out", "", "--help").exit_code == 0  # its help
    assert cli("stream", "", "--events", "events.txt", "--state", "s").error_line() == (
        "error: Invalid value for GRAPH: is empty; give a dataset name or a file")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["events.txt", "graphs"]
    assert [p.name for p in (tmp_path / "graphs").iterdir()] == ["ring.txt"]


def test_debug_shows_the_traceback(cli):
    result = cli("--debug", "graph", "info", "nope")
    assert result.exit_code == 2
    assert "Traceback" in result.stderr and result.stderr.rstrip().splitlines()[-1].startswith(
        "error: nope: no such file")


def test_staged_outputs_refuse_two_outputs_on_one_file(tmp_path):
    from sparsebox.outputs import StagedOutputs

    with pytest.raises(ValueError, match="share a name"):
        StagedOutputs(target=tmp_path / "a.ply", report=tmp_path / "sub" / ".." / "a.ply")


def test_outputs_are_refused_in_a_folder_without_write_bits_even_for_root(tmp_path):
    """os.access lets root write anywhere: `stream export -o` and `graph gtsp --out` wrote into
    the read-only data folder (mode 555) as root."""
    from sparsebox.exceptions import InvalidParameterError
    from sparsebox.outputs import check_output_file, check_output_folder

    locked = tmp_path / "data"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        with pytest.raises(InvalidParameterError, match="--out: the folder .*data is not writable"):
            check_output_folder(locked, option="--out")
        with pytest.raises(InvalidParameterError,  # the folder tested is named
                           match="--out: cannot make the folder .*data/run/a: .*data is not writable"):
            check_output_folder(locked / "run" / "a", option="--out")
        notes = tmp_path / "notes.txt"
        notes.write_text("")
        notes.chmod(0o444)
        with pytest.raises(InvalidParameterError, match="notes.txt/run: .*notes.txt is a file, not a"):
            check_output_folder(notes / "run", option="--out")
        with pytest.raises(InvalidParameterError, match="--output: the folder .*data is not writable"):
            check_output_file(locked / "h.mtx", option="--output")
        assert list(locked.iterdir()) == []
    finally:
        locked.chmod(0o755)


def test_ctrl_c_in_a_command_says_interrupted(monkeypatch, cli):
    """typer turns a KeyboardInterrupt into Exit(130), which main() returned with no line."""
    import sparsebox.registry

    def interrupted(**kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(sparsebox.registry, "methods", interrupted)
    result = cli("methods")
    assert (result.exit_code, result.stderr) == (130, "error: interrupted\n")


def test_ctrl_c_that_says_something_keeps_it(monkeypatch, cli):
    """A KeyboardInterrupt that says where its checkpoint is (HollowNeRF's) came out as a bare
    "error: interrupted": typer turns it into Exit(130) and drops the message."""
    import sparsebox.registry

    def interrupted(**kwargs):
        raise KeyboardInterrupt("stopped after step 3 of 12; the checkpoint c.pt holds it")

    monkeypatch.setattr(sparsebox.registry, "methods", interrupted)
    result = cli("methods")
    assert (result.exit_code, result.stderr) == (
        130, "error: interrupted (stopped after step 3 of 12; the checkpoint c.pt holds it)\n")


def test_an_interrupt_that_reached_compiled_code_is_an_interrupt(monkeypatch, capsys):
    """Ctrl-C inside a numba kernel surfaces as a SystemError: it was an "internal error"."""
    import sparsebox.cli as cli

    class Interrupted:
        def main(self, **kwargs):
            try:
                raise KeyboardInterrupt
            except KeyboardInterrupt:
                raise SystemError("CPUDispatcher(<function f>) returned a result with an "
                                  "exception set") from None

    monkeypatch.setattr(cli, "command", lambda: Interrupted())
    assert cli.main(["methods"]) == 130
    assert capsys.readouterr().err.strip() == "error: interrupted"


def test_methods_markdown_keeps_to_the_item_asked_for(cli):
    """`methods --item point --markdown` printed every method's row."""
    rows = cli("methods", "--item", "point", "--markdown").stdout.splitlines()
    assert rows[:2] == ["| method | prunes | class | what |", "|---|---|---|---|"]
    names = {r["name"] for r in json.loads(cli("methods", "--item", "point", "--json").stdout)}
    assert {row.split("`")[1] for row in rows[2:]} == names
    assert all(row.split(" | ")[1] == "point" for row in rows[2:])
    assert cli("methods", "--item", "weight", "--markdown").stdout.splitlines()[2:] == []


def test_data_list_root_takes_a_tilde_as_the_data_root_does(tmp_path, monkeypatch, cli):
    """`data list --root=~/data` (no shell expands that ~) was refused: no such folder."""
    (tmp_path / "data").mkdir()
    monkeypatch.setenv("HOME", str(tmp_path))
    result = cli("data", "list", "--json", "--root=~/data")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["root"] == str(tmp_path / "data")
    cli("data", "list", "--root=~/nope").error_line("--root", "no such folder")


def test_data_list_refuses_an_empty_root(cli):
    """`--root "$DATA"` with DATA unset listed this folder as the data root, without a word."""
    cli("data", "list", "--root", "").error_line("--root", "is empty")


def test_graph_info_table_shows_large_degrees_in_full(tmp_path, cli):
    """The table showed a hub's degree 12345 as 1.234e+04 (4 significant digits)."""
    star = tmp_path / "star.txt"
    star.write_text("".join(f"0 {i}\n" for i in range(1, 12346)))
    result = cli("graph", "info", star)
    assert result.exit_code == 0, result.output
    rows = {line.split("│")[1].strip(): line.split("│")[2].strip()
            for line in result.stdout.splitlines() if line.count("│") == 3}
    assert rows["degree_max"] == "12345" and rows["num_edges"] == "12345"
    assert rows["degree_min"] == "1" and rows["density"] == "0.9999"


def test_sparsify_says_the_edges_its_size_counted_beside_the_self_loops(tmp_path, cli):
    """`--budget 3` on a graph with 2 self-loops said "kept 5 of 7 edges": the budget was met
    (3 of the 5 other edges), but the line counted the loops, which always stay."""
    graph = tmp_path / "loops.txt"
    graph.write_text("0 0\n0 1\n1 2\n2 3\n3 0\n1 1\n0 2\n")
    out = tmp_path / "h.mtx"
    result = cli("graph", "sparsify", graph, "-o", out, "--budget", "3")
    assert result.exit_code == 0, result.output
    assert result.stdout == (f"teddy: kept 5 of 7 edges -> {out} (3 of the 5 edges other than "
                             "self-loops; the 2 self-loops always stay)\n")
    plain = tmp_path / "plain.txt"
    plain.write_text("0 1\n1 2\n2 3\n3 0\n0 2\n")
    result = cli("graph", "sparsify", plain, "-o", out, "--budget", "3")
    assert result.stdout == f"teddy: kept 3 of 5 edges -> {out}\n"


def test_graph_commands_count_one_thing_in_the_singular(tmp_path, cli):
    """"kept 1 of 1 edges", "1 of the 1 edges other than self-loops", "names 1 graph files",
    "(1 records)"."""
    from sparsebox.outputs import counted

    assert (counted(1, "edge"), counted(0, "edge"), counted(3, "batch", "batches")) == \
        ("1 edge", "0 edges", "3 batches")
    graph = tmp_path / "pair.txt"
    graph.write_text("0 1\n")
    out = tmp_path / "h.mtx"
    result = cli("graph", "sparsify", graph, "-o", out)
    assert result.stdout == f"teddy: kept 1 of 1 edge -> {out}\n", result.output
    graph.write_text("0 1\n1 1\n")
    result = cli("graph", "sparsify", graph, "-o", tmp_path / "h2.mtx")
    assert "(1 of the 1 edge other than self-loops; the self-loop always stays)" in result.stdout
    folder = tmp_path / "one"
    folder.mkdir()
    (folder / "a.txt").write_text("0 1\n1 2\n")
    line = cli("graph", "sparsify", folder, "-o", out).error_line()
    assert line.endswith(f"-o/--output: is for a single graph file, and {folder} is a folder (1 "
                         "graph file): give --out FOLDER for their outputs"), line
    # -o beside --out: -o is the option at fault, not --out
    line = cli("graph", "sparsify", folder, "--out", tmp_path / "o", "-o", out).error_line()
    assert line.endswith(f"-o/--output: is for a single graph file, and {folder} is a folder (1 "
                         "graph file): drop -o"), line
    report = tmp_path / "teddy"
    report.mkdir()
    (report / "results.json").write_text(json.dumps([
        {"method": "dense", "level": 0, "edge_keep": 1.0, "weight_keep": 1.0, "seed": 0,
         "test_acc": 0.8, "val_acc": 0.78, "seconds": 1.5}]))
    result = cli("graph", "teddy-report", report)
    assert result.exit_code == 0, result.output
    assert result.stdout.rstrip().endswith("accuracy.png (1 record)"), result.output
    line = cli("graph", "teddy", "--methods", "teddy,foo", "--out", tmp_path / "t").error_line()
    assert "unknown method 'foo'; choose from dense, teddy" in line, line
    line = cli("graph", "teddy", "--methods", "foo,bar", "--out", tmp_path / "t").error_line()
    assert "unknown methods 'bar', 'foo'; choose from" in line, line


def test_graph_info_help_says_what_its_density_and_degrees_count(cli):
    """networkx's density is 2|E| / (|V|(|V| - 1)) and its degree counts a self-loop twice; the
    table's density (2.294 for karate, where networkx says 0.139) was not explained."""
    text = " ".join(cli("graph", "info", "--help").stdout.split())
    assert "density is non-loop edges per node, |E| / |V|" in text
    assert "a self-loop adds 1 to its node's degree" in text


def test_graph_sparsify_help_names_every_suffix_it_writes(cli):
    """The help named .mtx, .graph, .csv and .txt, but .edges and .el are written too."""
    from sparsebox.data.graphs import WRITABLE_GRAPH_SUFFIXES

    text = " ".join(cli("graph", "sparsify", "--help").stdout.split())
    assert all(suffix in text for suffix in WRITABLE_GRAPH_SUFFIXES)


def test_data_list_says_when_the_data_root_of_the_environment_does_not_exist(tmp_path, monkeypatch, cli):
    """`SPARSEBOX_DATA=<typo> sparsebox data list` said "no" for every dataset without a word,
    while `--root <typo>` is refused as no such folder."""
    monkeypatch.setenv("SPARSEBOX_DATA", str(tmp_path / "typo"))
    result = cli("data", "list", "--json")
    assert result.exit_code == 0 and json.loads(result.stdout)["root"] == str(tmp_path / "typo")
    assert result.stderr.splitlines() == [f"warning: data root {tmp_path / 'typo'} ($SPARSEBOX_DATA) does "
                                          "not exist: no dataset is present (downloads would make it)"]
    monkeypatch.setenv("SPARSEBOX_DATA", str(tmp_path))
    assert cli("data", "list", "--json").stderr == ""
    assert not (tmp_path / "typo").exists()


def test_methods_item_reads_any_case_and_names_a_close_kind(cli):
    """`--item Edge` was refused though dataset names read in any case, and `--item edgee`
    suggested nothing."""
    import json

    assert {r["item"] for r in json.loads(cli("methods", "--item", "Edge", "--json").stdout)} == \
        {"edge"}
    result = cli("methods", "--item", "edgee")
    assert result.exit_code == 2 and "(did you mean 'edge'?)" in result.error_line()


def test_files_a_shell_glob_expanded_are_told_how_to_give_several(cli, tmp_path):
    """``sparsebox graph sparsify g/*.graph ...`` unquoted: the shell passes every file, and
    click's "unexpected extra argument" said nothing of how to give several."""
    for name in ("a.graph", "b.graph"):
        (tmp_path / name).write_text("2 1\n2\n1\n")
    result = cli("graph", "sparsify", tmp_path / "a.graph", tmp_path / "b.graph", "--out",
                 tmp_path / "out", "--method", "random", "--keep-ratio", "0.5")
    assert result.exit_code == 2
    assert "quote the glob" in result.error_line() and "give their folder" in result.error_line()
    assert not (tmp_path / "out").exists()
    stray = cli("graph", "sparsify", tmp_path / "a.graph", "--out", tmp_path / "out", "nothing")
    assert stray.exit_code == 2 and "quote the glob" not in stray.error_line()


def test_staged_outputs_refuse_a_folder_at_once_and_leave_no_temporary_file(tmp_path,
                                                                             monkeypatch):
    """A folder where an output goes failed at the move, after the other outputs had moved, and
    left its temporary file; a move that fails for another reason left the others' too."""
    import os

    from sparsebox.exceptions import InvalidParameterError
    from sparsebox.outputs import StagedOutputs

    (tmp_path / "b.md").mkdir()
    with pytest.raises(InvalidParameterError, match=r"b\.md is a folder, where an output file"):
        StagedOutputs(a=tmp_path / "a.png", b=tmp_path / "b.md")
    (tmp_path / "b.md").rmdir()
    real_replace = os.replace

    def failing(src, dst):
        if str(dst).endswith("b.md"):  # as os.replace says it: both names, the temporary first
            raise OSError(28, "No space left on device", str(src), None, str(dst))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", failing)
    with pytest.raises(OSError, match="No space") as failed:
        with StagedOutputs(a=tmp_path / "a.png", b=tmp_path / "b.md") as staged:
            staged["a"].write_text("a")
            staged["b"].write_text("b")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png"]
    # named by the output the user asked for, never by its hidden temporary name
    assert failed.value.filename == str(tmp_path / "b.md") and "partial" not in str(failed.value)


def test_methods_of_an_item_no_method_prunes_say_so(cli):
    """--item head printed an empty table and nothing else."""
    result = cli("methods", "--item", "head")
    assert result.exit_code == 0
    assert result.stdout.strip() == "no registered method prunes head items on its own"
    assert cli("methods", "--item", "head", "--json").stdout.strip() == "[]"


def test_method_names_are_read_in_any_case_as_dataset_names_are(cli, tmp_path, monkeypatch):
    """`graph teddy --dataset Cora --model GCN` ran, `--methods Teddy` was an unknown method."""
    import graphsparse.cli
    from graphsparse.gtsp.command import _options
    from sparsebox.data.graphs import load_graph

    out = tmp_path / "h.mtx"
    result = cli("graph", "sparsify", "karate", "--method", "FeGrass", "--budget", "40", "-o", out)
    assert result.exit_code == 0 and load_graph(out).num_edges == 40, result.output
    bad = cli("graph", "sparsify", "karate", "--method", "FeGras", "-o", tmp_path / "g.mtx")
    assert "got 'FeGras'" in bad.error_line()  # named as given
    ran = {}
    monkeypatch.setattr(graphsparse.cli, "_run_teddy",
                        lambda runner, out, run, levels, wanted, *rest, **kw:
                        ran.update(methods=wanted))
    result = cli("graph", "teddy", "--methods", "Teddy,RANDOM", "--levels", "1",
                 "--seeds", "1", "--epochs", "1", "--out", tmp_path / "teddy")
    assert result.exit_code == 0 and ran["methods"] == ("teddy", "random"), result.output
    # a method named twice in two cases is one named twice, as gtsp's --baselines says
    twice = cli("graph", "teddy", "--methods", "Teddy,random,teddy", "--out", tmp_path / "t3")
    assert "--methods" in twice.error_line() and "names 'teddy' twice" in twice.error_line()
    assert not (tmp_path / "t3").exists()
    assert "'Tedy'" in cli("graph", "teddy", "--methods", "Tedy", "--out",
                           tmp_path / "t2").error_line()
    assert _options("OGBG-MOLBACE", "Layers, TOKENS", "0.5", "Random-Tokens") == (
        "ogbg-molbace", ("tokens", "layers"), (0.5,), ("random-tokens",))
    # a plugin registered with capitals runs by its name in any case, as it did as given
    from sparsebox import registry

    registry.methods()  # the built-ins, which monkeypatch puts back with the dict
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    registry.register("MyRandom", item="edge", target="graphsparse.random_edges:RandomEdgePruner",
                      summary="", data="graph")
    for name in ("MyRandom", "myrandom"):
        done = cli("graph", "sparsify", "karate", "--method", name, "--budget", "30", "-o",
                   tmp_path / f"{name}.mtx")
        assert done.exit_code == 0 and load_graph(tmp_path / f"{name}.mtx").num_edges == 30, \
            done.output
    cloud = tmp_path / "c.xyz"
    cloud.write_text("".join(f"{i} {i % 3} {i % 5}\n" for i in range(20)))
    result = cli("scene", "prune-points", cloud, tmp_path / "k.xyz", "--method", "Uniform",
                 "--keep-ratio", "0.5")
    assert result.exit_code == 0 and len((tmp_path / "k.xyz").read_text().splitlines()) == 10, \
        result.output


def test_typers_own_checks_of_an_option_name_the_value_they_refuse(cli, tmp_path):
    """typer's min= check (pydantic's words) said "Input should be greater than or equal to 1"
    and not what was given, where the project's own checks say "got 0"."""
    out = tmp_path / "teddy"
    for value, said in (("0", "greater than or equal to 1, got 0"),
                        ("x", "a valid integer, unable to parse string as an integer, got 'x'")):
        line = cli("graph", "teddy", "--epochs", value, "--out", out).error_line()
        assert line.startswith("error: Invalid value for '--epochs': Input should be ") \
            and line.endswith(said), line
    assert not out.exists()
