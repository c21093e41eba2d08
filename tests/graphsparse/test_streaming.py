import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import scipy.io

from graphsparse.dynamic import EdgeEvent
from graphsparse.streaming import EventParseError, load_state, parse_events
from sparsebox.data import load_graph

CLI = [sys.executable, "-m", "sparsebox.cli"]


def write_events(path: Path, num: int, seed: int = 0) -> list[str]:
    g = load_graph("airfoil1")
    rng = np.random.default_rng(seed)
    present = {(int(u), int(v)) for u, v in zip(g.rows, g.cols, strict=True)}
    lines = []
    while len(lines) < num:
        if rng.random() < 0.3 and present:
            u, v = sorted(present)[rng.integers(len(present))]
            present.discard((u, v))
            lines.append(f"- {u} {v}")
        else:
            u, v = (int(x) for x in rng.integers(0, g.num_nodes, 2))
            if u == v:
                continue
            present.add((min(u, v), max(u, v)))
            lines.append(f"+ {u} {v} {rng.uniform(0.5, 2):.3f}" if len(lines) % 2 else
                         json.dumps({"op": "+", "u": u, "v": v, "w": 1.25}))
    path.write_text("# generated events\n" + "\n".join(lines) + "\n")
    return lines


def run(args, **kwargs):
    env = {**os.environ}
    return subprocess.run([*CLI, *args], capture_output=True, text=True, env=env, **kwargs)


def exported(state: Path, tmp: Path, graph: bool = False) -> np.ndarray:
    out = tmp / f"export_{state.name}_{graph}.mtx"
    res = run(["stream", "export", str(state), "-o", str(out), *(["--graph"] if graph else [])])
    assert res.returncode == 0, res.stderr
    return scipy.io.mmread(out).toarray()


def test_parse_events_reads_a_whole_text_line_by_line():
    """A whole text was read character by character ("line 1: ... got '+'"), bytes failed with
    AttributeError ("'int' object has no attribute 'removeprefix'")."""
    expected = [(1, ("+", 0, 5, 1.0)), (2, ("-", 0, 1, 1.0))]
    for text in ("+ 0 5\n- 0 1\n", b"+ 0 5\r\n- 0 1", "+ 0 5\x0c\n- 0 1"):  # a form feed
        assert [(n, tuple(e)) for n, e in parse_events(text)] == expected  # is not a line end


def test_parse_events_formats_and_errors():
    lines = ["# c", "", "+ 1 2", "+ 1 3 2.5", "- 4 5", '{"op": "-", "u": 6, "v": 7}',
             "% a comment as an edge list has it"]
    parsed = list(parse_events(lines))
    assert [n for n, _ in parsed] == [3, 4, 5, 6]
    # a text deletion with a weight was told only "expected '+ u v [w]' or '- u v'"
    with pytest.raises(EventParseError, match=r"line 1: a deletion removes the whole edge and "
                       r"takes no weight, got '- 1 2 2.0': give '- u v'"):
        list(parse_events(["- 1 2 2.0"]))
    assert parsed[1][1].weight == 2.5 and parsed[3][1].op == "-"
    # a byte-order mark opening the file (bytes or text) is not part of the first event
    for first in (b"\xef\xbb\xbf+ 1 2\n", "\ufeff+ 1 2\n"):
        assert list(parse_events([first, "- 1 2"])) == [(1, ("+", 1, 2, 1.0)), (2, ("-", 1, 2, 1.0))]
    with pytest.raises(EventParseError, match="line 2"):
        list(parse_events(["+ 1 2", "\ufeff- 1 2"]))
    for bad, lineno in [(["+ 1"], 1), (["+ 1 2", "* 1 2"], 2), (["- 1 2 3"], 1),
                        (["+ a b"], 1), (['{"op": "+"}'], 1),
                        (['{"op": "+", "u": 1, "v": 2, "weigth": 3}'], 1),  # not weight 1
                        # Python's own number syntax had read these as node 10, node 1, weight 10
                        (["+ 0 1", "+ 0 1_0"], 2), (["+ 0 \u0661"], 1), (["+ 0 3 1_0"], 1)]:
        with pytest.raises(EventParseError, match=f"line {lineno}"):
            list(parse_events(bad))


def test_stream_cli_runs_resumes_and_exports(tmp_path, data_dir):
    events = tmp_path / "events.txt"
    write_events(events, 120)
    state = tmp_path / "state"
    res = run(["stream", "airfoil1", "--events", str(events), "--state", str(state),
               "--batch-size", "25", "--json", "--kappa-every", "2"])
    assert res.returncode == 0, res.stderr
    lines = [json.loads(x) for x in res.stdout.splitlines()]
    assert [x["batch"] for x in lines[:-1]] == [1, 2, 3, 4, 5]
    assert lines[1]["kappa"] > 1 and lines[0]["kappa"] is None
    assert lines[-1]["summary"]["events_applied"] == 120
    # the same command again applies nothing new
    res = run(["stream", "airfoil1", "--events", str(events), "--state", str(state),
               "--batch-size", "25", "--json", "--kappa-every", "2"])
    assert res.returncode == 0 and json.loads(res.stdout.splitlines()[-1])["summary"]["batches"] == 5
    h = exported(state, tmp_path)
    g = exported(state, tmp_path, graph=True)
    assert np.all((h != 0) <= (g != 0)) and np.allclose(h[h != 0], g[h != 0])
    # another graph in the same state folder is refused
    res = run(["stream", "power", "--events", str(events), "--state", str(state)])
    assert res.returncode != 0 and "holds a stream of graph 'airfoil1'" in res.stderr
    # so is another deletion recovery, which would change what the log replays to
    res = run(["stream", "airfoil1", "--events", str(events), "--state", str(state),
               "--recovery", "1.0"])
    assert res.returncode != 0 and "recovery 1.5 (now 1.0)" in res.stderr


def test_malformed_line_is_reported_and_its_batch_not_applied(tmp_path, data_dir):
    events = tmp_path / "events.txt"
    events.write_text("+ 0 5\n+ 0 6\n+ 0 7\n+ 0 8\n+ 0 9 oops\n+ 0 10\n")
    state = tmp_path / "state"
    res = run(["stream", "airfoil1", "--events", str(events), "--state", str(state),
               "--batch-size", "3", "--json"])
    assert res.returncode == 2
    assert "line 5" in res.stderr and "nothing of its batch was applied" in res.stderr
    assert load_state(state).batches_ == 1  # lines 1-3; the batch of lines 4-6 was not applied
    # a batch rejected by validation (deleting an absent edge) names its line
    events.write_text("+ 0 5\n- 0 4000\n")
    res = run(["stream", "airfoil1", "--events", str(events), "--state", str(tmp_path / "s2")])
    assert res.returncode == 2 and "line 2" in res.stderr and "not in the graph" in res.stderr
    # weights that only overflow once added up are refused before the log, and the state goes on
    events.write_text("+ 0 5 1\n+ 0 6 1e308\n+ 0 6 1e308\n")
    res = run(["stream", "airfoil1", "--events", str(events), "--state", str(tmp_path / "s3")])
    assert res.returncode == 2 and "line 3" in res.stderr and "would become inf" in res.stderr
    events.write_text("+ 0 5 1\n")
    res = run(["stream", "airfoil1", "--events", str(events), "--state", str(tmp_path / "s3")])
    assert res.returncode == 0, res.stderr


def test_standard_input(tmp_path, data_dir):
    events = tmp_path / "events.txt"
    write_events(events, 30)
    res = run(["stream", "airfoil1", "--events", "-", "--state", str(tmp_path / "s"), "--json"],
              input=events.read_text())
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout.splitlines()[-1])["summary"]["events_applied"] == 30


def test_torn_log_line_is_dropped(tmp_path, data_dir):
    events = tmp_path / "events.txt"
    write_events(events, 40)
    state = tmp_path / "state"
    assert run(["stream", "airfoil1", "--events", str(events), "--state", str(state),
                "--batch-size", "10", "--checkpoint-every", "100"]).returncode == 0
    with open(state / "log.jsonl", "a") as fh:
        fh.write('{"batch": 5, "first_event": 40, "events": [["+", 1')
    assert load_state(state).batches_ == 4


def test_kill_minus_nine_at_any_moment_loses_nothing(tmp_path, data_dir):
    events = tmp_path / "events.txt"
    write_events(events, 2500, seed=1)
    args = ["--events", str(events), "--batch-size", "10", "--checkpoint-every", "7"]
    reference = tmp_path / "reference"
    assert run(["stream", "airfoil1", *args, "--state", str(reference)]).returncode == 0

    crashed = tmp_path / "crashed"
    log = crashed / "log.jsonl"
    rng = random.Random(0)
    kills = 0
    while True:
        size = log.stat().st_size if log.exists() else 0
        proc = subprocess.Popen([*CLI, "stream", "airfoil1", *args, "--state", str(crashed)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if kills < 6:
            # wait until it is applying batches, then kill it at a random moment
            deadline = time.monotonic() + 60
            while proc.poll() is None and time.monotonic() < deadline:
                if log.exists() and log.stat().st_size > size:
                    break
                time.sleep(0.005)
            time.sleep(rng.uniform(0.0, 0.25))
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                kills += 1
                continue
        assert proc.wait(timeout=120) == 0
        break
    assert kills == 6
    assert np.array_equal(exported(crashed, tmp_path), exported(reference, tmp_path))
    assert np.array_equal(exported(crashed, tmp_path, True), exported(reference, tmp_path, True))
    assert load_state(crashed).batches_ == load_state(reference).batches_ == 250


def test_a_new_state_whose_first_batch_fails_is_not_left_behind(tmp_path, data_dir):
    events = tmp_path / "events.txt"
    events.write_text("+ 0 5\n+ 0 999999\n")
    state = tmp_path / "deep" / "state"
    res = run(["stream", "airfoil1", "--events", str(events), "--state", str(state)])
    assert res.returncode == 2 and "line 2" in res.stderr
    assert not state.exists()
    events.write_text("+ 0 5\n")  # so other settings are free to start it afresh
    res = run(["stream", "airfoil1", "--events", str(events), "--state", str(state),
               "--density", "1.2"])
    assert res.returncode == 0, res.stderr


def test_a_damaged_log_is_named_by_its_line(tmp_path, data_dir):
    events = tmp_path / "events.txt"
    events.write_text("+ 0 5\n+ 0 6\n")
    state = tmp_path / "state"
    res = run(["stream", "airfoil1", "--events", str(events), "--state", str(state),
               "--batch-size", "1"])
    assert res.returncode == 0, res.stderr
    log = state / "log.jsonl"
    whole = log.read_text()  # batches 1 and 2, in the checkpoint
    record = json.loads(whole.splitlines()[-1])
    for text, message in ((json.dumps({**record, "batch": 5}),
                           "line 3: batch 5 follows 2; the log is out of order"),
                          ('{"events": []}', "line 3 is not a batch record"),
                          (json.dumps({**record, "batch": 3, "events": [["+", 0]]}),
                           "line 3 holds an event that is not (op, u, v, weight)")):
        log.write_text(whole + text + "\n")
        res = run(["stream", "export", str(state), "-o", str(tmp_path / "h.mtx")])
        assert res.returncode == 2 and message in res.stderr, res.stderr


def test_an_unreadable_log_line_before_the_last_is_refused_and_the_state_left_alone(cli, grid_file,
                                                                                    tmp_path):
    events = tmp_path / "events.txt"
    events.write_text("+ 0 7\n+ 1 8\n+ 2 9\n")
    state = tmp_path / "state"
    args = ["stream", grid_file, "--events", events, "--state", state, "--batch-size", "1"]
    assert cli(*args).exit_code == 0
    log = state / "log.jsonl"
    lines = log.read_text().splitlines(keepends=True)
    log.write_text(lines[0] + "not json\n" + lines[2])
    files = {p.name: p.read_bytes() for p in state.iterdir()}
    for command in (["stream", "export", state, "-o", tmp_path / "h.mtx"], args):
        line = cli(*command).error_line()
        assert line == (f"error: {log}: line 2 is not JSON, and only a torn last line (a crash "
                        "mid-write) may be; the log is damaged")
        assert {p.name: p.read_bytes() for p in state.iterdir()} == files


@pytest.mark.parametrize("distortion", [None, "3"], ids=["calibrated", "given"])
def test_walks_past_the_memory_name_their_options_and_leave_no_state(cli, grid_file, tmp_path,
                                                                     distortion):
    """A huge --num-walkers was "error: internal error, MemoryError: Unable to allocate 3.73
    TiB ..." (exit 1), in the calibration of a new state or in its first batch (with
    --distortion given, no calibration walks). 10**15 walkers per edge pass any machine's
    address space."""
    events = tmp_path / "events.txt"
    events.write_text("+ 0 7\n+ 1 8\n")
    state = tmp_path / "state"
    line = cli("stream", grid_file, "--events", events, "--state", state, "--num-walkers",
               str(10**15), *(["--distortion", distortion] if distortion else [])).error_line(
        "--num-walkers / --batch-size")
    assert "the random walks need more memory than this machine has (Unable to allocate" in line
    assert line.endswith(f"--num-walkers ({10**15}) walkers for each edge they test, and a batch "
                         "tests up to --batch-size (1000) edges: lower them")
    assert not state.exists()


def test_walks_past_the_memory_of_a_resumed_state_name_the_batch_size(cli, grid_file, tmp_path):
    """A resumed state's walkers are its own (another --num-walkers is refused): the error
    names what this run can lower. Its first run deleted an edge, which walks nothing."""
    state, first, more = tmp_path / "state", tmp_path / "first.txt", tmp_path / "more.txt"
    first.write_text("- 0 1\n")
    more.write_text("- 0 1\n+ 0 7\n")
    common = ["--state", state, "--num-walkers", str(10**15), "--distortion", "3"]
    assert cli("stream", grid_file, "--events", first, *common).exit_code == 0
    logs = {name: (state / name).read_bytes() for name in ("log.jsonl", "metrics.jsonl")}
    result = cli("stream", grid_file, "--events", more, *common)
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    line = result.stderr.splitlines()[-1]  # after "resumed STATE: 1 event already read ..."
    assert line.startswith("error: Invalid value for --batch-size: the random walks need more ")
    assert line.endswith("edges: lower --batch-size, or start a new --state with fewer walkers")
    # the batch is not logged, nor applied (the checkpoint counts more.txt among its inputs)
    assert {name: (state / name).read_bytes() for name in logs} == logs


@pytest.mark.parametrize("damage", ["missing", "unreadable", "first batch lost"])
def test_a_log_that_lost_applied_events_is_refused(cli, grid_file, tmp_path, damage):
    """A state whose log was gone, or held one unreadable line (read as a torn write), resumed
    with other events: it skipped as many as its checkpoint counted without checking them
    against the log, and applied the rest (from a new-user trial)."""
    events = tmp_path / "events.txt"
    events.write_text("+ 0 7\n+ 1 8\n+ 2 9\n")
    state = tmp_path / "state"
    assert cli("stream", grid_file, "--events", events, "--state", state,
               "--batch-size", "1").exit_code == 0
    log = state / "log.jsonl"
    if damage == "missing":
        log.unlink()
    elif damage == "unreadable":
        log.write_text("garbage\n")
    else:  # the two later batches' records are whole
        log.write_text("".join(log.read_text().splitlines(keepends=True)[1:]))
    other = tmp_path / "other.txt"
    other.write_text("+ 3 10\n+ 4 11\n+ 5 12\n+ 6 13\n")
    files = {p.name: p.read_bytes() for p in state.iterdir()}
    has = {"missing": "is missing", "unreadable": "holds 0 events of them",
           "first batch lost": "holds 2 events of them"}[damage]
    for command in (["stream", grid_file, "--events", other, "--state", state],
                    ["stream", "export", state, "-o", tmp_path / "h.mtx"]):
        line = cli(*command).error_line()
        assert line == (f"error: {state / 'checkpoint.npz'} counts 3 events applied and {log} "
                        f"{has}: the log is damaged; start the stream again in a new state "
                        "folder")
        assert {p.name: p.read_bytes() for p in state.iterdir()} == files
    assert not (tmp_path / "h.mtx").exists()


@pytest.mark.parametrize(("record", "message"), [
    # a hand-edited record: node 99 is not in the 36-node grid
    ({"events": [["+", 0, 99, 1.0]]}, "line 2: event 0: v = 99 is out of range (0..35)"),
    # an on_missing the model refuses was named without the log's name or line
    ({"events": [["-", 1, 8, 1.0]], "on_missing": "ignore"},
     "line 2: on_missing must be one of 'error', 'skip', got 'ignore'"),
], ids=["node", "on_missing"])
def test_a_log_record_the_model_refuses_is_named_by_its_line(cli, grid_file, tmp_path, record,
                                                            message):
    events = tmp_path / "events.txt"
    events.write_text("+ 0 7\n")
    state = tmp_path / "state"
    args = ["stream", grid_file, "--events", events, "--state", state]
    assert cli(*args).exit_code == 0
    log = state / "log.jsonl"
    with open(log, "a") as fh:
        fh.write(json.dumps({"batch": 2, "first_event": 1, **record}) + "\n")
    files = {p.name: p.read_bytes() for p in state.iterdir()}
    for command in (["stream", "export", state, "-o", tmp_path / "h.mtx"], args):
        line = cli(*command).error_line()
        assert line == f"error: {log}: {message}; the log is damaged"
    assert {p.name: p.read_bytes() for p in state.iterdir()} == files


def test_a_replayed_batch_adds_no_second_metrics_line(cli, grid_file, tmp_path):
    events = tmp_path / "events.txt"
    events.write_text("+ 0 7\n+ 1 8\n")
    state = tmp_path / "state"
    args = ["stream", grid_file, "--events", events, "--state", state, "--batch-size", "1"]
    assert cli(*args).exit_code == 0
    early = (state / "checkpoint.npz").read_bytes()
    events.write_text("+ 0 7\n+ 1 8\n+ 2 9\n+ 3 10\n")
    assert cli(*args).exit_code == 0
    # a crash after batch 4 was logged, while its metrics line was written, before the checkpoint
    (state / "checkpoint.npz").write_bytes(early)
    metrics = state / "metrics.jsonl"
    lines = metrics.read_text().splitlines(keepends=True)
    metrics.write_text("".join(lines[:3]) + lines[3][:20])
    result = cli(*args)
    assert result.exit_code == 0, result.output
    assert "(2 batches replayed from the log)" in result.stderr
    lines = [json.loads(x) for x in metrics.read_text().splitlines()]
    assert [x["batch"] for x in lines] == [1, 2, 3, 4]  # each batch once
    assert [x.get("replayed", False) for x in lines] == [False, False, False, True]


def test_a_run_resumed_with_another_batch_size_says_so(cli, grid_file, tmp_path):
    """Each batch's randomness comes from its number: batches of another size from here on
    make a state that neither size alone reaches (said, not refused: a stream may change pace)."""
    events = tmp_path / "events.txt"
    events.write_text("+ 0 7\n+ 1 8\n+ 2 9\n+ 3 10\n")
    state = tmp_path / "state"
    base = ["stream", grid_file, "--events", events, "--state", state]
    assert cli(*base, "--batch-size", "2").exit_code == 0
    assert [json.loads(x)["batch_size"] for x in (state / "log.jsonl").read_text().splitlines()] \
        == [2, 2]
    events.write_text("+ 0 7\n+ 1 8\n+ 2 9\n+ 3 10\n+ 4 11\n+ 5 12\n")
    result = cli(*base, "--batch-size", "3")
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [
        f"resumed {state}: 4 events already read (0 batches replayed from the log); batches of "
        "3 events from here on, where the last run took 2: the state will not be the one a run "
        "of either size reaches"]
    events.write_text("+ 0 7\n+ 1 8\n+ 2 9\n+ 3 10\n+ 4 11\n+ 5 12\n+ 6 13\n")
    # the last run's size: nothing to say (events appended after a run's last, partial batch
    # start a batch, as every stream fed a growing file does)
    result = cli(*base, "--batch-size", "3")
    assert result.stderr.splitlines() == [
        f"resumed {state}: 6 events already read (0 batches replayed from the log)"]


def test_a_resumed_run_with_no_new_event_says_nothing_of_its_batch_size(cli, grid_file, tmp_path):
    """It warned that batches of the new size would make another state, and then applied none."""
    events = tmp_path / "events.txt"
    events.write_text("+ 0 7\n+ 1 8\n")
    state = tmp_path / "state"
    assert cli("stream", grid_file, "--events", events, "--state", state).exit_code == 0
    result = cli("stream", grid_file, "--events", events, "--state", state, "--batch-size", "5")
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [
        f"resumed {state}: 2 events already read (0 batches replayed from the log)",
        f"no new events in {events}: its 2 events were read by earlier runs of {state} (2 in all)"]


def test_a_batch_whose_work_fails_is_named_by_its_lines(cli, tmp_path):
    """An edge of weight 1e-16 is a valid event, but once in H a later batch's refinement
    cannot factor L_H: the error named no file, line or batch, nor said nothing was applied."""
    import networkx as nx

    from sparsebox.data.graphs import load_graph

    grids = nx.convert_node_labels_to_integers(nx.disjoint_union(nx.grid_2d_graph(6, 6),
                                                                 nx.grid_2d_graph(6, 6)))
    graph = tmp_path / "g.edges"
    graph.write_text("".join(f"{u} {v}\n" for u, v in grids.edges()))
    events, state = tmp_path / "events.txt", tmp_path / "state"
    events.write_text("+ 0 40 1e-16\n")
    assert cli("stream", graph, "--events", events, "--state", state).exit_code == 0
    assert cli("stream", "export", state, "-o", tmp_path / "h1.mtx").exit_code == 0
    h = load_graph(tmp_path / "h1.mtx")
    deletions = [f"- {u} {v}\n" for u, v in list(zip(h.rows, h.cols, strict=True))[::4]
                 if {int(u), int(v)} != {0, 40}]
    events.write_text("+ 0 40 1e-16\n" + "".join(deletions))
    result = cli("stream", graph, "--events", events, "--state", state)
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == (
        f"error: {events}: the batch of lines 2-{len(deletions) + 1} was not applied: the graph's "
        "Laplacian cannot be factored in float64 (the matrix is not positive definite (pivot of "
        "row 35)); a pivot cancels to rounding")
    assert cli("stream", "export", state, "-o", tmp_path / "h2.mtx").exit_code == 0
    assert (tmp_path / "h2.mtx").read_text() == (tmp_path / "h1.mtx").read_text()


def test_a_resumed_run_says_so_before_a_bad_first_new_line(cli, grid_file, tmp_path):
    events = tmp_path / "events.txt"
    events.write_text("+ 0 7\n+ 1 8\n")
    state = tmp_path / "state"
    assert cli("stream", grid_file, "--events", events, "--state", state).exit_code == 0
    events.write_text("+ 0 7\n+ 1 8\n+ 5 x\n")
    result = cli("stream", grid_file, "--events", events, "--state", state, "--batch-size", "5")
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert lines[0] == f"resumed {state}: 2 events already read (0 batches replayed from the log)"
    assert lines[1].startswith(f"error: {events}: line 3:") and len(lines) == 2


def test_a_batch_applied_before_its_metrics_failed_is_said_applied(cli, grid_file, tmp_path,
                                                                    monkeypatch):
    """A failure after the update (kappa, the metrics line) was worded as the batch's own."""
    from graphsparse.streaming import StreamState

    def failing(self, report):
        raise ValueError("kappa failed")

    monkeypatch.setattr(StreamState, "_add_kappa", failing)
    events = tmp_path / "events.txt"
    events.write_text("+ 0 7\n")
    result = cli("stream", grid_file, "--events", events, "--state", tmp_path / "state",
                 "--kappa-every", "1")
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == (f"error: {events}: the batch of line 1 was applied "
                                              "(its metrics were not written): kappa failed")


def test_the_stream_command_warns_of_a_density_only_where_given(cli, tmp_path):
    """Without --density it warned "density 1.1 asks for 6 edges, more than the graph's 5" of a
    density the user had not given (the Python API, left to its default, says nothing)."""
    graph = tmp_path / "cycle.edges"
    graph.write_text("0 1\n1 2\n2 3\n3 4\n4 0\n")
    events = tmp_path / "events.txt"
    events.write_text("+ 0 2\n")
    result = cli("stream", graph, "--events", events, "--state", tmp_path / "a")
    assert result.exit_code == 0 and "warning" not in result.stderr, result.stderr
    result = cli("stream", graph, "--events", events, "--state", tmp_path / "b", "--density", "1.1")
    assert result.exit_code == 0 and "warning: density 1.1 asks for 6 edges" in result.stderr


def test_a_replayed_batch_gets_its_kappa_and_its_json_line(cli, grid_file, tmp_path):
    """A batch logged but stopped before its metrics line was replayed with kappa null where
    --kappa-every asked for it, and --json printed it in neither run."""
    events = tmp_path / "events.txt"
    events.write_text("+ 0 7\n+ 1 8\n")
    state = tmp_path / "state"
    args = ["stream", grid_file, "--events", events, "--state", state, "--batch-size", "1",
            "--kappa-every", "2", "--json"]
    assert cli(*args).exit_code == 0  # batches 1 and 2: a checkpoint there
    early = (state / "checkpoint.npz").read_bytes()
    events.write_text("+ 0 7\n+ 1 8\n+ 2 9\n+ 3 10\n")
    assert cli(*args).exit_code == 0
    (state / "checkpoint.npz").write_bytes(early)  # stopped after batch 4 was logged, before
    metrics = state / "metrics.jsonl"  # its metrics line and the checkpoint
    metrics.write_text("".join(metrics.read_text().splitlines(keepends=True)[:3]))
    result = cli(*args)
    assert result.exit_code == 0, result.output
    printed = [json.loads(x) for x in result.stdout.splitlines()]
    assert [(x.get("batch"), x.get("replayed")) for x in printed[:-1]] == [(4, True)]
    assert printed[0]["kappa"] > 1
    last = json.loads(metrics.read_text().splitlines()[-1])
    assert last["batch"] == 4 and last["replayed"] and last["kappa"] == printed[0]["kappa"]


# ------------------------------------------------------------------ the command line's contract
@pytest.fixture
def grid_file(tmp_path) -> Path:
    """A 6 x 6 grid graph as ``tmp_path/grid.mtx`` (0-based node ids 0..35)."""
    import networkx as nx

    from sparsebox import as_structure
    from sparsebox.data.graphs import write_graph

    path = tmp_path / "grid.mtx"
    write_graph(as_structure(nx.convert_node_labels_to_integers(nx.grid_2d_graph(6, 6))), path)
    return path


def test_a_graph_file_changed_since_the_state_was_made_is_refused(cli, grid_file, tmp_path):
    """An edge added to the graph file was never used: a resumed stream goes on from the G its
    checkpoint holds, and said nothing. Now it is refused, naming the file; the file as it was,
    or none at all (G is in the checkpoint), resumes."""
    events = tmp_path / "events.txt"
    events.write_text("+ 0 7\n")
    state = tmp_path / "state"
    args = ["stream", grid_file, "--events", events, "--state", state]
    assert cli(*args).exit_code == 0
    original = grid_file.read_bytes()
    kept = (state / "checkpoint.npz").read_bytes()
    lines = original.decode().splitlines()
    size = lines[-61].split()  # the size line (6 x 6 grid: 60 edges after it)
    lines[-61] = f"{size[0]} {size[1]} {int(size[2]) + 1}"
    grid_file.write_text("\n".join([*lines, "36 1 1"]) + "\n")  # edge (0, 35) added
    events.write_text("+ 0 7\n+ 1 8\n")
    cli(*args).error_line(str(grid_file), "has changed since", "restore the file")
    assert (state / "checkpoint.npz").read_bytes() == kept
    # an export reads the checkpoint alone: the file's edit does not stop it
    result = cli("stream", "export", state, "-o", tmp_path / "h.mtx")
    assert result.exit_code == 0, result.output
    grid_file.write_bytes(original)
    assert cli(*args).exit_code == 0
    grid_file.unlink()
    events.write_text("+ 0 7\n+ 1 8\n+ 2 9\n")
    result = cli(*args)
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("existing", [True, False], ids=["empty_folder", "new_folders"])
def test_a_failed_first_run_leaves_the_state_folder_as_it_was(cli, grid_file, tmp_path, existing):
    events = tmp_path / "badop.txt"
    events.write_text("+ 0 33\n* 1 2\n")
    state = tmp_path / "np3" / "a" / "b"
    if existing:
        state.mkdir(parents=True)
    line = cli("stream", grid_file, "--events", events, "--state", state).error_line()
    assert "line 2" in line and str(events) in line
    if existing:
        assert list(state.iterdir()) == []
    else:
        assert not (tmp_path / "np3").exists()
    events.write_text("+ 0 33\n")  # the failed run fixed no setting
    result = cli("stream", grid_file, "--events", events, "--state", state, "--density", "1.3")
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("content", ["", "# only a comment\n\n"], ids=["empty", "comments"])
@pytest.mark.parametrize("existing", [True, False], ids=["empty_folder", "new_folder"])
def test_events_without_any_event_are_refused_on_a_new_state(cli, grid_file, tmp_path, content,
                                                            existing):
    events = tmp_path / "empty.txt"
    events.write_text(content)
    state = tmp_path / "new" / "state"
    if existing:
        state.mkdir(parents=True)
    line = cli("stream", grid_file, "--events", events, "--state", state).error_line()
    assert line == f"error: {events}: no events"
    assert (list(state.iterdir()) == []) if existing else not (tmp_path / "new").exists()
    assert events.read_text() == content


def test_events_from_a_named_pipe_or_a_process_substitution(cli, grid_file, tmp_path):
    """A pipe is read once, as it streams: a new state from a FIFO (mkfifo), then a resumed
    one from ``<(...)`` (a /dev/fd path); what is not a file of events keeps its message."""
    fifo = tmp_path / "events.fifo"
    os.mkfifo(fifo)

    def write_fifo():
        with open(fifo, "w") as fh:
            fh.write("+ 0 7\n+ 1 8\n")

    writer = threading.Thread(target=write_fifo, daemon=True)
    writer.start()
    state = tmp_path / "state"
    result = cli("stream", grid_file, "--events", fifo, "--state", state, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout.splitlines()[-1])["summary"]["events_applied"] == 2
    read, write = os.pipe()
    os.write(write, b"+ 0 7\n+ 1 8\n+ 2 9\n")
    os.close(write)
    try:
        result = cli("stream", grid_file, "--events", f"/dev/fd/{read}", "--state", state, "--json")
    finally:
        os.close(read)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout.splitlines()[-1])["summary"]["events_applied"] == 3
    for events, why in ((tmp_path / "missing.txt", "no such file"),
                        (tmp_path, "is a folder, not a file of events")):
        line = cli("stream", grid_file, "--events", events, "--state", tmp_path / "s2").error_line()
        assert line.endswith(f"{events}: {why}"), line


def test_options_may_come_before_the_graph(cli, grid_file, tmp_path):
    events = tmp_path / "events.txt"
    events.write_text("+ 0 7\n")
    state = tmp_path / "state"
    result = cli("stream", "--events", events, "--state", state, "--json", grid_file)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout.splitlines()[-1])["summary"]["events_applied"] == 1
    result = cli("stream", "--events=" + str(events), "--batch-size", "5", grid_file, "--state",
                 state)
    assert result.exit_code == 0, result.output
    assert cli("stream", "export", state, "-o", tmp_path / "h.mtx").exit_code == 0
    for group_help in (cli("stream", "--help"), cli("stream")):
        assert group_help.exit_code == 0 and "export" in group_help.stdout
    assert "Usage: sparsebox stream run" in cli("stream", "--events", events, "--help").stdout


def test_export_never_writes_over_the_graph_or_into_the_state(cli, grid_file, tmp_path):
    events = tmp_path / "events.txt"
    events.write_text("+ 0 7\n")
    state = tmp_path / "state"
    assert cli("stream", grid_file, "--events", events, "--state", state).exit_code == 0
    graph = grid_file.read_bytes()
    files = {p.name: p.read_bytes() for p in state.iterdir()}
    line = cli("stream", "export", state, "-o", grid_file).error_line()
    assert line == (f"error: --output: {grid_file} is the input file; write to another name "
                    "(inputs are never overwritten)")
    line = cli("stream", "export", state, "-o", state / "h.mtx").error_line()
    assert line == (f"error: --output: {state / 'h.mtx'} is inside the state folder {state}, "
                    "which holds only the stream's own files; write to another folder")
    cli("stream", "export", state, "-o", state / "log.jsonl").error_line()
    # "-o .mtx" had been told it must end in one of ..., .mtx, ...
    line = cli("stream", "export", state, "-o", tmp_path / ".MTX").error_line()
    assert line == (f"error: --output: {tmp_path / '.MTX'} is a suffix with no name before it; "
                    "give a file name such as out.MTX")
    assert not (tmp_path / ".MTX").exists()
    assert grid_file.read_bytes() == graph
    assert {p.name: p.read_bytes() for p in state.iterdir()} == files


def test_export_never_writes_over_the_events_the_stream_read(cli, grid_file, tmp_path):
    first, more = tmp_path / "events.txt", tmp_path / "more.txt"
    first.write_text("+ 0 7\n")
    more.write_text("+ 0 7\n+ 1 8\n")
    state = tmp_path / "state"
    assert cli("stream", grid_file, "--events", first, "--state", state).exit_code == 0
    assert cli("stream", grid_file, "--events", more, "--state", state).exit_code == 0  # resumed
    for events, text in ((first, "+ 0 7\n"), (more, "+ 0 7\n+ 1 8\n")):
        line = cli("stream", "export", state, "-o", events).error_line()
        assert line == (f"error: --output: {events} is the input file; write to another name "
                        "(inputs are never overwritten)")
        assert events.read_text() == text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["events.txt", "grid.mtx", "more.txt",
                                                          "state"]
    # a run refused before applying any event read no input: the file is not the state's
    other = tmp_path / "other.txt"
    other.write_text("+ 2 9\n")  # the log's first event is + 0 7
    assert cli("stream", grid_file, "--events", other, "--state", state).exit_code == 2
    assert cli("stream", "export", state, "-o", other).exit_code == 0
    # a run stopped by a bad event after applying some (no final checkpoint), and a file whose
    # events were all applied before (by that run), are inputs all the same
    stopped, again = tmp_path / "stopped.txt", tmp_path / "again.txt"
    stopped.write_text("+ 2 9\n+ 3 10\n- 0 35\n")  # (0, 35) is no edge
    fresh = tmp_path / "fresh"
    assert cli("stream", grid_file, "--events", stopped, "--state", fresh,
               "--batch-size", "1").exit_code == 2
    again.write_text("+ 2 9\n+ 3 10\n")
    assert cli("stream", grid_file, "--events", again, "--state", fresh).exit_code == 0
    for events in (stopped, again):
        assert "is the input file" in cli("stream", "export", fresh, "-o", events).error_line()


def test_a_state_under_a_file_is_refused_naming_the_option(cli, grid_file, tmp_path):
    events = tmp_path / "events.txt"
    events.write_text("+ 0 7\n")
    for state in (events, events / "state", events / "deeper" / "state"):
        line = cli("stream", grid_file, "--events", events, "--state", state).error_line()
        assert line == f"error: Invalid value for --state: {events} is a file, not a folder"
    assert events.read_text() == "+ 0 7\n"


def test_no_events_on_standard_input_creates_no_state(tmp_path, grid_file):
    state = tmp_path / "state"
    res = run(["stream", str(grid_file), "--events", "-", "--state", str(state)], input="")
    assert res.returncode == 2 and res.stderr == "error: standard input: no events\n", res.stderr
    assert not state.exists()


def test_an_empty_events_file_on_a_resumed_state_says_what_is_true(cli, grid_file, tmp_path):
    state = tmp_path / "state"
    first = tmp_path / "first.txt"
    first.write_text("+ 0 7\n+ 1 8\n")
    assert cli("stream", grid_file, "--events", first, "--state", state).exit_code == 0
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    result = cli("stream", grid_file, "--events", empty, "--state", state)
    assert result.exit_code == 0, result.output
    assert f"no new events: {empty} holds no events" in result.stderr
    assert "its 0 events" not in result.stderr
    result = cli("stream", grid_file, "--events", first, "--state", state)
    assert result.exit_code == 0, result.output
    assert f"its 2 events were read by earlier runs of {state}" in result.stderr


@pytest.mark.parametrize("option, shown", [
    (["--max-density", "2"], "--max-density no cap (now 2.0)"),
    (["--density", "1.3"], "--density 1.1 (now 1.3)"),
    (["--distortion", "4"], "--distortion calibrated (now 4.0)"),
    (["--num-walkers", "8"], "--num-walkers 64 (now 8)"),
])
def test_resuming_with_other_settings_names_the_options(cli, grid_file, tmp_path, option, shown):
    events = tmp_path / "events.txt"
    events.write_text("+ 0 7\n")
    state = tmp_path / "state"
    assert cli("stream", grid_file, "--events", events, "--state", state).exit_code == 0
    line = cli("stream", grid_file, "--events", events, "--state", state,
               *option).error_line()
    assert f"{state} holds a stream made with {shown}" in line, line
    assert "None" not in line and "_" not in line.replace(str(tmp_path), "")


def test_a_state_named_after_its_dataset_resumes(cli, data_dir, tmp_path, monkeypatch):
    # `--state karate` is a folder called karate once the first run made it; `karate` still
    # names the dataset (load_graph looks the catalogue up first), so the second run resumes
    monkeypatch.chdir(tmp_path)
    events = tmp_path / "events.txt"
    events.write_text("+ 0 9\n")
    assert cli("stream", "karate", "--events", events, "--state", "karate").exit_code == 0
    events.write_text("+ 0 9\n+ 4 9\n")
    result = cli("stream", "karate", "--events", events, "--state", "karate", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout.splitlines()[-1])["summary"]["events_applied"] == 2


def test_messages_and_the_summary_are_never_wrapped(cli, grid_file, tmp_path):
    events = tmp_path / "events.txt"
    events.write_text("+ 0 7\n")
    state = tmp_path / ("a_state_folder_with_a_long_name_" * 3)
    assert cli("stream", grid_file, "--events", events, "--state", state).exit_code == 0
    events.write_text("+ 0 7\n+ 1 8\n")
    result = cli("stream", grid_file, "--events", events, "--state", state)
    assert result.exit_code == 0, result.output
    (resumed,) = result.stderr.splitlines()
    assert resumed == f"resumed {state}: 1 event already read (0 batches replayed from the log)"
    (summary,) = result.stdout.splitlines()
    assert summary.startswith(f"stream {state}: 2 events in 2 batches; H keeps ")
    as_json = cli("stream", grid_file, "--events", events, "--state", state, "--json")
    assert json.loads(as_json.stdout.splitlines()[-1])["summary"]["events_applied"] == 2


def test_a_state_another_run_made_while_this_one_fitted_is_left_alone(tmp_path, data_dir):
    """Two first runs on one new --state: the one that finishes its fit second must not write
    its fresh state over the other's (the folder lock is only taken once the folder exists)."""
    from graphsparse.streaming import StreamState

    folder = tmp_path / "new" / "state"
    params = {"seed": 0}

    def graph_while_another_run_streams():
        other, _ = StreamState.open(folder, "airfoil1", lambda: load_graph("airfoil1"), params)
        other.apply([EdgeEvent("+", 0, 5, 1.0)])
        other.close()
        return load_graph("airfoil1")

    with pytest.raises(ValueError, match="another run made a stream state here while this one "
                                         "fitted its graph; run again to resume it"):
        StreamState.open(folder, "airfoil1", graph_while_another_run_streams, params)
    assert load_state(folder).batches_ == 1  # the other run's batch is still there


def grid_graph():
    import networkx as nx

    return nx.convert_node_labels_to_integers(nx.grid_2d_graph(6, 6))


def test_a_state_opened_with_some_parameters_resumes_with_the_same_ones(tmp_path):
    from graphsparse.streaming import SettingsMismatchError, StreamState

    folder = tmp_path / "state"
    for params in ({"seed": 0}, {"seed": 0}, {"seed": 0, "density": 1.1, "num_walkers": 64}):
        state, _ = StreamState.open(folder, "grid", grid_graph, params)  # the defaults are theirs
        state.apply([EdgeEvent("+", 0, 7 + state.model.batches_)])
        state.close()
    with pytest.raises(SettingsMismatchError, match="num_walkers 64 \\(now 8\\)") as err:
        StreamState.open(folder, "grid", grid_graph, {"seed": 0, "num_walkers": 8})
    assert err.value.differs == {"num_walkers": (64, 8)}
    assert load_state(folder).batches_ == 3


def test_a_state_opened_with_numpy_numbers_saves_and_resumes(tmp_path):
    """seed=np.int64(3), which the estimator takes, failed to save: "Object of type int64 is not
    JSON serializable"."""
    import numpy as np

    from graphsparse.streaming import StreamState

    folder = tmp_path / "state"
    params = {"seed": np.int64(3), "max_density": np.float64(1.5)}
    state, _ = StreamState.open(folder, "grid", grid_graph, params)
    state.apply([EdgeEvent("+", 0, 7)])
    state.close()
    state, _ = StreamState.open(folder, "grid", grid_graph, params)
    assert state.model.batches_ == 1 and state.model.seed == 3
    state.close()


def test_apply_takes_the_events_update_takes_a_generator_included(tmp_path):
    from graphsparse.streaming import StreamState

    folder = tmp_path / "state"
    state, _ = StreamState.open(folder, "grid", grid_graph, {"seed": 0})
    state.apply([("+", 0, 7), {"op": "+", "u": 1, "v": 8, "w": 2.0}])
    state.apply(EdgeEvent("+", 2, k) for k in (9, 10))  # read once, not lost to validation
    state.close()
    assert state.events_applied == 4
    assert list(load_state(folder).graph_.find_items([0, 1, 2, 2], [7, 8, 9, 10]) >= 0) == [True] * 4
    assert list(state.logged_events()) == [("+", 0, 7, 1.0), ("+", 1, 8, 2.0), ("+", 2, 9, 1.0),
                                           ("+", 2, 10, 1.0)]


def test_a_checkpoint_that_is_not_an_archive_is_named(cli, grid_file, tmp_path):
    events = tmp_path / "events.txt"
    events.write_text("+ 0 7\n")
    state = tmp_path / "state"
    assert cli("stream", grid_file, "--events", events, "--state", state).exit_code == 0
    (state / "checkpoint.npz").write_text("not a checkpoint\n")
    for args in (("stream", grid_file, "--events", events, "--state", state),
                 ("stream", "export", state, "-o", tmp_path / "h.mtx")):
        assert cli(*args).error_line() == (f"error: {state / 'checkpoint.npz'}: not a readable "
                                           "stream checkpoint (not an .npz archive)")
    assert not (tmp_path / "h.mtx").exists()


@pytest.mark.parametrize("meta, says", [
    ({"source": "grid"}, "its meta is not a stream's"),
    ([1, 2], "its meta is not a stream's"),
    ({"source": "grid", "params": {"epochs": 3}, "events_applied": 0}, "its meta is not"),
    ({"source": "GRID", "params": {"seed": 0}, "events_applied": 0}, "no 'graph_meta'"),
], ids=["no_params", "a_list", "other_params", "no_arrays"])
def test_another_program_s_checkpoint_with_a_meta_entry_is_named(cli, grid_file, tmp_path, meta,
                                                                 says):
    events = tmp_path / "events.txt"
    events.write_text("+ 0 7\n")
    state = tmp_path / "state"
    state.mkdir()
    if isinstance(meta, dict) and meta["source"] == "GRID":  # the graph this run gives
        meta = {**meta, "source": str(grid_file.resolve())}
    np.savez(state / "checkpoint.npz", meta=np.array(json.dumps(meta)), weights=np.zeros(3))
    before = (state / "checkpoint.npz").read_bytes()
    for args in (("stream", grid_file, "--events", events, "--state", state),
                 ("stream", "export", state, "-o", tmp_path / "h.mtx")):
        result = cli(*args)
        line = result.error_line()
        assert result.exit_code == 2 and line.startswith(f"error: {state / 'checkpoint.npz'}: ")
        assert says in line, line
    assert (state / "checkpoint.npz").read_bytes() == before
    assert sorted(p.name for p in state.iterdir()) == ["checkpoint.npz"]
    assert not (tmp_path / "h.mtx").exists()


def test_a_batch_whose_update_raises_is_cut_from_the_log(tmp_path, monkeypatch):
    # the record stayed: the next batch was logged under the same number, and a replay kept the
    # first record, so a resumed state was not the one in memory
    from graphsparse.dynamic import DynamicSpectralSparsifier
    from graphsparse.streaming import StreamState

    folder = tmp_path / "state"
    state, _ = StreamState.open(folder, "grid", grid_graph, {"seed": 0})
    state.apply([("+", 0, 7)])
    update = DynamicSpectralSparsifier.update

    def out_of_memory(self, batch):
        raise MemoryError("Unable to allocate")

    with monkeypatch.context() as patch:
        patch.setattr(DynamicSpectralSparsifier, "update", out_of_memory)
        with pytest.raises(MemoryError):
            state.apply([("+", 1, 8)])
    assert DynamicSpectralSparsifier.update is update
    state.apply([("+", 2, 9)])
    state.close()
    assert list(state.logged_events()) == [("+", 0, 7, 1.0), ("+", 2, 9, 1.0)]
    resumed = load_state(folder)
    assert resumed.batches_ == 2
    assert list(resumed.graph_.find_items([0, 1, 2], [7, 8, 9]) >= 0) == [True, False, True]



def test_batches_whose_updates_raise_one_after_another_are_all_cut_from_the_log(tmp_path, monkeypatch):
    # the second cut went to the offset tell() gave, past the file's end once the first was cut:
    # the second record stayed, zeros followed it, and a replay applied that batch, not the next
    from graphsparse.dynamic import DynamicSpectralSparsifier
    from graphsparse.streaming import StreamState

    folder = tmp_path / "state"
    state, _ = StreamState.open(folder, "grid", grid_graph, {"seed": 0})
    state.apply([("+", 0, 7)])

    def interrupted(self, batch):
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(DynamicSpectralSparsifier, "update", interrupted)
        for batch in ([("+", 1, 8), ("+", 2, 9), ("+", 3, 10)], [("+", 4, 11)]):
            with pytest.raises(KeyboardInterrupt):
                state.apply(batch)
    state.apply([("+", 5, 12)])
    state.close()
    assert b"\0" not in (folder / "log.jsonl").read_bytes()
    assert list(state.logged_events()) == [("+", 0, 7, 1.0), ("+", 5, 12, 1.0)]
    resumed = load_state(folder)
    assert list(resumed.graph_.find_items([4, 5], [11, 12]) >= 0) == [False, True]


def test_a_batch_interrupted_while_its_record_is_synced_is_cut_from_the_log(tmp_path, monkeypatch):
    # Ctrl-C in the log's fsync, before the update: the whole record stayed, and a caller that
    # went on logged its next batch under the same number (a replay applied the interrupted one)
    import graphsparse.streaming as streaming

    folder = tmp_path / "state"
    state, _ = streaming.StreamState.open(folder, "grid", grid_graph, {"seed": 0})
    fsync, calls = os.fsync, []

    def interrupted_once(fd):
        calls.append(fd)
        if len(calls) == 1:
            raise KeyboardInterrupt
        fsync(fd)

    with monkeypatch.context() as patch:
        patch.setattr(streaming.os, "fsync", interrupted_once)
        with pytest.raises(KeyboardInterrupt):
            state.apply([("+", 1, 8)])
    state.apply([("+", 2, 9)])
    state.close()
    assert list(state.logged_events()) == [("+", 2, 9, 1.0)]
    resumed = load_state(folder)
    assert resumed.batches_ == 1
    assert list(resumed.graph_.find_items([1, 2], [8, 9]) >= 0) == [False, True]


def test_a_checkpoint_interrupted_while_written_leaves_no_temporary_file(tmp_path, monkeypatch):
    # Ctrl-C while checkpoint.npz.tmp was written left it in the state folder (the next run
    # removed it; the file-writing promise is temporary names that never outlive a failure)
    import graphsparse.streaming as streaming

    folder = tmp_path / "state"
    state, _ = streaming.StreamState.open(folder, "grid", grid_graph, {"seed": 0})
    state.apply([("+", 1, 8)])
    state.checkpoint()
    written = (folder / "checkpoint.npz").read_bytes()
    savez = np.savez

    def interrupted(fh, **arrays):
        savez(fh, **arrays)
        raise KeyboardInterrupt

    state.apply([("+", 2, 9)])
    with monkeypatch.context() as patch:
        patch.setattr(streaming.np, "savez", interrupted)
        with pytest.raises(KeyboardInterrupt):
            state.checkpoint()
    state.close()
    assert sorted(p.name for p in folder.iterdir() if "tmp" in p.name) == []
    assert (folder / "checkpoint.npz").read_bytes() == written
    assert load_state(folder).batches_ == 2  # the log holds the batch the checkpoint missed


def test_a_kappa_that_arpack_cannot_compute_is_null_and_the_batch_stays(tmp_path, monkeypatch):
    # since ARPACK's non-convergence is raised (not read as kappa = inf), it ended a stream run
    # whose --kappa-every only asked for a diagnostic
    from scipy.sparse.linalg import ArpackNoConvergence

    import graphsparse.metrics
    from graphsparse.streaming import StreamState

    def no_convergence(*args, **kwargs):
        raise ArpackNoConvergence("ARPACK error -1: No convergence", np.array([]), np.array([]))

    folder = tmp_path / "state"
    state, _ = StreamState.open(folder, "grid", grid_graph, {"seed": 0})
    monkeypatch.setattr(graphsparse.metrics, "relative_condition_number", no_convergence)
    with pytest.warns(UserWarning, match="batch 1: kappa not computed"):
        report = state.apply([("+", 0, 7)], kappa=True)
    state.close()
    assert report.kappa is None and state.model.batches_ == 1
    metrics = [json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines()]
    assert metrics[-1]["batch"] == 1 and metrics[-1]["kappa"] is None


def test_a_state_opened_with_a_path_as_its_graph_resumes_with_a_string(tmp_path):
    """A Path as graph_source failed when the checkpoint's JSON was written (TypeError)."""
    from graphsparse.streaming import StreamState

    folder, graph = tmp_path / "state", tmp_path / "grid.mtx"
    state, _ = StreamState.open(folder, graph, grid_graph, {"seed": 0})
    state.apply([EdgeEvent("+", 0, 7)])
    state.close()
    state, _ = StreamState.open(folder, str(graph), grid_graph, {"seed": 0})
    state.close()
    assert state.events_applied == 1


@pytest.mark.parametrize("applied, given", [("0.1", "0.1000001"), ("1234567.5", "1234567")])
def test_a_changed_weight_on_resuming_is_shown_as_it_differs(cli, grid_file, tmp_path, applied,
                                                             given):
    """Weights were shown to 6 digits: "event 1 is + 0 7 0.1, but event 1 of ... was + 0 7 0.1"."""
    events = tmp_path / "events.txt"
    events.write_text(f"+ 0 7 {applied}\n")
    state = tmp_path / "state"
    assert cli("stream", grid_file, "--events", events, "--state", state).exit_code == 0
    events.write_text(f"+ 0 7 {given}\n+ 1 8\n")
    line = cli("stream", grid_file, "--events", events, "--state", state).error_line()
    assert f"event 1 is + 0 7 {float(given)!r}, but event 1 of {state} was + 0 7 {applied}" in line


def test_a_mistyped_command_of_stream_is_named(cli, grid_file, tmp_path, monkeypatch):
    """`stream exprot STATE -o H.mtx` ran a stream of a graph "exprot": "No such option: -o"."""
    events = tmp_path / "events.txt"
    events.write_text("+ 0 7\n")
    state = tmp_path / "state"
    assert cli("stream", grid_file, "--events", events, "--state", state).exit_code == 0
    line = cli("stream", "exprot", state, "-o", tmp_path / "h.mtx").error_line()
    assert "'exprot'" in line and "did you mean 'export'" in line, line
    assert not (tmp_path / "h.mtx").exists()
    monkeypatch.chdir(tmp_path)
    (tmp_path / "exprt").write_text("")  # a file of a close name is a graph, as before
    line = cli("stream", "exprt", "--events", events, "--state", "other").error_line("exprt")
    assert "export" not in line and "unknown graph format" in line


def test_the_help_says_how_events_number_the_nodes_of_a_1_based_file(cli):
    """GRAPH's help said "graph file (0-based node ids)", as if a METIS or Matrix Market file
    (1-based) could not be streamed; events number nodes from 0 whatever the file does."""
    text = " ".join(cli("stream", "run", "--help").stdout.split())
    assert "graph file (0-based node ids)" not in text
    assert "node k of a 1-based METIS or Matrix Market file is k - 1" in text


def test_the_help_says_that_inserting_an_edge_g_holds_adds_to_its_weight(cli, tmp_path):
    """`+ 0 1` on an edge the graph holds doubled its weight (L_G gains w b b^T) while the help
    said only '+ u v [w]': a networkx user reads that as add_edge, which adds no weight."""
    text = " ".join(cli("stream", "run", "--help").stdout.split())
    assert "'+' on an edge G holds adds w to its weight; '-' removes the whole edge" in text
    graph, events = tmp_path / "g.txt", tmp_path / "events.txt"
    graph.write_text("0 1\n1 2\n2 0\n")
    events.write_text("+ 0 1\n")
    assert cli("stream", graph, "--events", events, "--state", tmp_path / "s").exit_code == 0
    assert cli("stream", "export", tmp_path / "s", "-o", tmp_path / "g2.txt", "--graph"
               ).exit_code == 0
    assert (tmp_path / "g2.txt").read_text().splitlines()[0] == "0 1 2"
    # and --state's help names every file the folder holds ("the checkpoint and the log")
    state_help = text.split("--state <path>")[1].split("--batch-size")[0]
    assert all(f.name in state_help for f in (tmp_path / "s").iterdir())


def test_the_summary_says_the_self_loops_the_stream_leaves_out(cli, tmp_path):
    """G drops the graph's self-loops (they add nothing to a Laplacian), and the summary said
    "H keeps 4 of 4 edges" of a file of 6 lines without a word of the 2 it left out."""
    graph = tmp_path / "loops.txt"
    graph.write_text("0 1\n1 2\n2 3\n3 0\n1 1\n3 3\n")
    events = tmp_path / "events.txt"
    events.write_text("+ 0 2\n")
    state = tmp_path / "state"
    said = "; G leaves out the graph's 2 self-loops, which add nothing to a Laplacian"
    for _ in range(2):  # the new state, then the resumed one: from its checkpoint
        result = cli("stream", graph, "--events", events, "--state", state)
        assert result.exit_code == 0, result.output
        (summary,) = result.stdout.splitlines()
        assert summary.startswith(f"stream {state}: 1 event in 1 batch; H keeps ")
        assert summary.endswith(said) and "of 5 edges" in summary, summary
    result = cli("stream", graph, "--events", events, "--state", state, "--json")
    assert json.loads(result.stdout.splitlines()[-1])["summary"]["self_loops_dropped"] == 2
    graph.write_text("0 1\n1 2\n2 0\n1 1\n")  # one: in the singular; none: not a word
    result = cli("stream", graph, "--events", events, "--state", tmp_path / "one")
    assert result.stdout.rstrip().endswith("; G leaves out the graph's self-loop, which adds "
                                           "nothing to a Laplacian"), result.output
    graph.write_text("0 1\n1 2\n2 0\n")
    result = cli("stream", graph, "--events", events, "--state", tmp_path / "none", "--json")
    assert json.loads(result.stdout.splitlines()[-1])["summary"]["self_loops_dropped"] == 0
    result = cli("stream", graph, "--events", events, "--state", tmp_path / "none")
    assert "self-loop" not in result.output


def test_counts_of_one_read_in_the_singular(cli, tmp_path):
    """"1 events applied in 1 batches", "its 1 events were applied", "1 of 1 edges"."""
    graph = tmp_path / "pair.txt"
    graph.write_text("0 1\n")
    events = tmp_path / "events.txt"
    events.write_text("+ 0 1\n")
    state = tmp_path / "state"
    result = cli("stream", graph, "--events", events, "--state", state)
    assert result.stdout.startswith(f"stream {state}: 1 event in 1 batch; H keeps 1 of "
                                    "1 edge (density"), result.output
    result = cli("stream", graph, "--events", events, "--state", state)
    assert f"no new events in {events}: its event was read by earlier runs of {state}" \
        in result.stderr, result.output
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    result = cli("stream", graph, "--events", empty, "--state", state)
    assert f"{state} keeps the 1 event earlier runs read" in result.stderr, result.output
    out = tmp_path / "h.txt"
    result = cli("stream", "export", state, "-o", out)
    assert result.stdout == f"wrote {out}: 2 nodes, 1 edge\n", result.output


def test_a_log_of_a_deletion_with_a_weight_still_resumes(cli, grid_file, tmp_path):
    """A deletion took a weight (and deleted the whole edge) before deletions came to take none;
    a state whose log holds one was refused ("holds an event that is not (op, u, v, weight)")."""
    state = tmp_path / "state"
    first = tmp_path / "first.txt"
    first.write_text("+ 0 7\n- 0 1\n")
    assert cli("stream", grid_file, "--events", first, "--state", state).exit_code == 0
    log = state / "log.jsonl"
    text = log.read_text()
    old = text.replace('["-", 0, 1, 1.0]', '["-", 0, 1, 2.0]')
    assert old != text
    log.write_text(old)
    more = tmp_path / "more.txt"
    more.write_text("+ 0 7\n- 0 1\n+ 2 9\n")
    result = cli("stream", grid_file, "--events", more, "--state", state)
    assert result.exit_code == 0, result.output


def test_the_summary_says_how_many_deletions_of_absent_edges_skip_missing_skipped(cli, tmp_path):
    """With --skip-missing, "3 events applied in 1 batch" counted deletions of edges the graph
    never had as applied, without a word that they were skipped (then "2 events applied" of
    which 2 were skipped: the line no longer says applied). The events are every run's (a
    resumed run counts on from them); the skips, this run's."""
    graph, events = tmp_path / "g.txt", tmp_path / "events.txt"
    graph.write_text("0 1\n1 2\n2 0\n2 3\n")
    events.write_text("- 0 3\n- 1 3\n+ 0 3\n")
    state = tmp_path / "s"
    result = cli("stream", graph, "--events", events, "--state", state, "--skip-missing")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"stream {state}: 3 events in 1 batch; this run "
                                    "skipped 2 deletions of edges not in the graph; "), result.stdout
    events.write_text("- 0 3\n- 1 3\n+ 0 3\n- 0 2\n- 1 0\n")  # resumed: one more skip
    result = cli("stream", graph, "--events", events, "--state", state, "--skip-missing",
                 "--json")
    summary = json.loads(result.stdout.splitlines()[-1])["summary"]
    assert (summary["events_applied"], summary["deletions_skipped_this_run"]) == (5, 0)
    events.write_text("- 0 3\n+ 0 3\n")
    result = cli("stream", graph, "--events", events, "--state", tmp_path / "one",
                 "--skip-missing")
    assert "2 events in 1 batch; this run skipped 1 deletion of an edge not in" in (
        result.stdout)
