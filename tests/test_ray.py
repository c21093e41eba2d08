"""Scale-out on a real local Ray cluster: the same sweep, batch and walks as one machine gives, and
a worker killed mid-sweep loses no finished record."""

from __future__ import annotations

import json
import os
import re
import signal
import textwrap

import numpy as np
import pytest

ray = pytest.importorskip("ray", reason="the ray extra is part of the test extras")

from graphsparse.dynamic import DynamicSpectralSparsifier  # noqa: E402
from sparsebox import as_structure  # noqa: E402
from sparsebox.data import load_graph  # noqa: E402
from sparsebox.parallel import LocalExecutor, RayExecutor, TaskError  # noqa: E402
from sparsebox.walks import random_walks  # noqa: E402

SWEEP = ["graph", "teddy", "--dataset", "cora", "--levels", "2", "--seeds", "2", "--epochs", "2",
         "--methods", "dense,teddy,random"]


@pytest.fixture(scope="module")
def cluster():
    """A real local Ray cluster of two CPUs (and no GPU, on any machine) for the whole module,
    shut down at the end."""
    if ray.is_initialized():
        ray.shutdown()
    ray.init(num_cpus=2, num_gpus=0, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def _records(path):
    return sorted(json.loads(path.read_text()), key=lambda r: (r["seed"], r["method"], r["level"]))


def _same_records(a, b):
    assert [(r["seed"], r["method"], r["level"]) for r in a] == \
        [(r["seed"], r["method"], r["level"]) for r in b]
    assert [r["test_acc"] for r in a] == pytest.approx([r["test_acc"] for r in b], abs=0.01)


def _ray_task_pids():
    import psutil

    return [p.pid for p in psutil.process_iter(["cmdline"])
            if any("ray::_ray_generator" in part for part in (p.info["cmdline"] or []))]


def test_sweep_gives_the_local_records(cluster, data_dir, tmp_path, cli):
    local = cli(*SWEEP, "--out", tmp_path / "local", "--jobs", "2")
    on_ray = cli(*SWEEP, "--out", tmp_path / "ray", "--executor", "ray")
    assert local.exit_code == 0 and on_ray.exit_code == 0, on_ray.output
    _same_records(_records(tmp_path / "local" / "results.json"),
                  _records(tmp_path / "ray" / "results.json"))


def test_a_batch_of_files_finishes_the_good_ones_and_names_the_broken_one(cluster, data_dir,
                                                                          tmp_path, cli):
    from scenesparse.pointio import PointCloud, write_points

    rng = np.random.default_rng(0)
    inputs = tmp_path / "in"
    inputs.mkdir()
    for name in ("a.ply", "b.ply"):
        write_points(inputs / name, PointCloud.from_xyz(rng.random((500, 3))))
    (inputs / "broken.ply").write_bytes(b"ply\nformat binary_little_endian 1.0\nend_header\n")
    outputs = {}
    for kind in ("local", "ray"):
        out = tmp_path / kind
        result = cli("scene", "prune-points", inputs, "--out", out, "--method", "uniform",
                     "--keep-ratio", "0.5", "--executor", kind, "--jobs", "2")
        assert result.exit_code == 2
        lines = [ln for ln in result.stderr.splitlines() if ln.startswith("error:")]
        assert len(lines) == 1 and "1 of 3 files failed" in lines[0] and "broken.ply" in lines[0]
        assert sorted(p.name for p in out.iterdir()) == ["a.ply", "a_report.json", "b.ply",
                                                         "b_report.json"]
        assert len(result.stdout.splitlines()) == 2  # one summary line per good file
        outputs[kind] = {name: (out / name).read_bytes() for name in ("a.ply", "b.ply")}
    assert outputs["local"] == outputs["ray"]


def test_a_gpu_share_the_cluster_cannot_give_is_refused_at_once(cluster, tmp_path, cli):
    """Ray waits forever for a task larger than the cluster: the batch is refused instead."""
    from scenesparse.pointio import PointCloud, write_points

    inputs = tmp_path / "in"
    inputs.mkdir()
    write_points(inputs / "a.ply", PointCloud.from_xyz(np.random.default_rng(0).random((50, 3))))
    out = tmp_path / "out"
    result = cli("scene", "prune-splats", inputs, "--out", out, "--executor", "ray",
                 "--gpus-per-file", "0.25")
    assert result.exit_code == 2
    lines = [ln for ln in result.stderr.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1 and "--gpus-per-file" in lines[0] and "0 GPUs" in lines[0], lines
    assert not out.exists()
    with pytest.raises(Exception, match="cpus_per_task 64 is more than the Ray cluster has"):
        RayExecutor(cpus_per_task=64).run(abs, [1])


def test_a_cluster_at_an_address_without_the_gpus_asked_for_is_warned_of(cluster, monkeypatch,
                                                                         cli, tmp_path):
    """A cluster at an address may gain nodes, so its tasks wait: they waited in silence."""
    monkeypatch.setenv("RAY_ADDRESS", "192.0.2.2:6379")  # (the fixture's cluster is connected)
    with pytest.warns(UserWarning, match=r"the Ray cluster at 192.0.2.2:6379 has 0 GPUs now: "
                                         r"tasks that reserve 0.25 \(gpus_per_task\) wait"):
        RayExecutor(gpus_per_task=0.25)._check_resources(ray)
    with pytest.raises(ValueError, match="^gpus_per_task must be a whole number above 1 .*1.5"):
        RayExecutor(gpus_per_task=1.5)  # Ray's own error was a tuple that named no option
    line = cli("scene", "prune-splats", tmp_path, "--out", tmp_path / "out", "--executor", "ray",
               "--gpus-per-file", "1.5").error_line()
    assert line.startswith("error: Invalid value for --gpus-per-file: must be a "
                           "whole number above 1"), line


def test_walks_on_ray_are_bit_identical_to_one_process(cluster, data_dir):
    g = load_graph("fe_4elt2")
    rng = np.random.default_rng(1)
    src, tgt = rng.integers(0, g.num_nodes, 700), rng.integers(0, g.num_nodes, 700)
    scale = rng.choice([0.5, 1.0, 2.0], 700)  # a scale per query, sliced with the tasks
    kwargs = dict(num_walkers=16, max_steps=60, seed=9, scale=scale, stop_resistance=40.0,
                  return_paths=True)
    one = random_walks(g, src, tgt, **kwargs)
    spread = random_walks(g, src, tgt, executor=RayExecutor(), chunk_queries=64, **kwargs)
    local = random_walks(g, src, tgt, executor=LocalExecutor(2), chunk_queries=100, **kwargs)
    for other in (spread, local):
        assert np.array_equal(one.reached, other.reached) and np.array_equal(one.hits, other.hits)
        assert np.array_equal(one.resistance, other.resistance)
        assert one.num_steps == other.num_steps
        assert all(np.array_equal(a, b) for a, b in zip(one.paths, other.paths, strict=True))


def test_dygrass_batches_with_an_executor_reach_the_same_state(cluster):
    import networkx as nx

    g = as_structure(nx.convert_node_labels_to_integers(nx.grid_2d_graph(12, 12)))
    batch = [("+", 0, 143, 1.0), ("-", 0, 1), ("+", 5, 77, 2.0), ("-", 40, 41)]
    plain = DynamicSpectralSparsifier(seed=2).fit(g)
    spread = DynamicSpectralSparsifier(seed=2, executor=RayExecutor()).fit(g)
    plain.update(batch)
    spread.update(batch)
    assert plain.sparsifier_.equals(spread.sparsifier_) and plain.graph_.equals(spread.graph_)


def test_a_worker_killed_mid_sweep_loses_no_record(cluster, data_dir, tmp_path, cli, monkeypatch):
    """kill -9 of a worker: Ray runs its task again, the records it had sent are not sent twice,
    and the sweep gives the records a run without the kill gives."""
    import sparsebox.outputs

    write = sparsebox.outputs.write_text_atomic
    killed = []

    def write_and_kill(path, text):
        write(path, text)
        if not killed:
            pids = _ray_task_pids()
            if pids:
                os.kill(pids[0], signal.SIGKILL)
                killed.append(pids[0])

    monkeypatch.setattr(sparsebox.outputs, "write_text_atomic", write_and_kill)
    result = cli(*SWEEP, "--epochs", "20", "--out", tmp_path / "killed", "--executor", "ray")
    assert result.exit_code == 0, result.output
    assert killed, "no Ray worker was running a task when the first record arrived"
    monkeypatch.setattr(sparsebox.outputs, "write_text_atomic", write)
    calm = cli(*SWEEP, "--epochs", "20", "--out", tmp_path / "calm", "--executor", "ray")
    assert calm.exit_code == 0
    _same_records(_records(tmp_path / "killed" / "results.json"),
                  _records(tmp_path / "calm" / "results.json"))


def test_without_retries_the_failed_seed_is_named_and_resume_finishes(cluster, data_dir,
                                                                     tmp_path, cli, monkeypatch):
    import sparsebox.outputs
    import sparsebox.parallel

    write = sparsebox.outputs.write_text_atomic
    killed = []

    def write_and_kill(path, text):
        write(path, text)
        if not killed:
            pids = _ray_task_pids()
            if pids:
                os.kill(pids[0], signal.SIGKILL)
                killed.append(pids[0])

    monkeypatch.setattr(sparsebox.outputs, "write_text_atomic", write_and_kill)
    monkeypatch.setattr(sparsebox.parallel, "make_executor",
                        lambda *a, **k: RayExecutor(max_retries=0))
    out = tmp_path / "sweep"
    failed = cli(*SWEEP, "--epochs", "20", "--out", out, "--executor", "ray")
    assert killed and failed.exit_code == 1
    line = failed.stderr.strip().splitlines()[-1]
    assert re.match(r"error: \d+ seeds? failed \(seed \d", line) and "--resume" in line
    done = json.loads((out / "results.json").read_text())
    assert done and len(done) < 10  # the finished records are kept, and only those
    monkeypatch.undo()
    resumed = cli(*SWEEP, "--epochs", "20", "--out", out, "--executor", "ray", "--resume")
    assert resumed.exit_code == 0, resumed.output
    assert len(json.loads((out / "results.json").read_text())) == 10


def test_a_task_that_raises_is_reported_not_retried(cluster, tmp_path, monkeypatch):
    module = tmp_path / "failing_tasks.py"
    module.write_text(textwrap.dedent('''
        def fail_on_two(task, emit):
            emit({"task": task})
            if task == 2:
                raise ValueError("task two is broken")
            return task


        def emit_pairs(task, emit):
            import numpy as np

            emit((np.arange(3), task))  # a pair whose first item is an array
            emit(("result", task))  # or a word
            return -task
    '''))
    monkeypatch.syspath_prepend(str(tmp_path))
    import importlib

    import ray.cloudpickle

    tasks = importlib.import_module("failing_tasks")
    ray.cloudpickle.register_pickle_by_value(tasks)  # the workers do not share our sys.path
    seen = []
    with pytest.raises(TaskError, match="task 2 failed: ValueError: task two is broken") as info:
        RayExecutor().run(tasks.fail_on_two, [1, 2, 3], on_record=seen.append)
    assert info.value.results == [1, None, 3]
    assert sorted(r["task"] for r in seen) == [1, 2, 3]
    # records of any form are passed on as records (a pair holding an array broke the run)
    seen = []
    assert RayExecutor().run(tasks.emit_pairs, [1, 2], on_record=seen.append) == [-1, -2]
    words = sorted(r for r in seen if isinstance(r[0], str))
    arrays = sorted((r[0].tolist(), r[1]) for r in seen if not isinstance(r[0], str))
    assert words == [("result", 1), ("result", 2)] and arrays == [([0, 1, 2], 1), ([0, 1, 2], 2)]


def test_ray_missing_is_a_clear_error(monkeypatch, cli):
    import builtins

    real_import = builtins.__import__

    def no_ray(name, *args, **kwargs):
        if name == "ray" or name.startswith("ray."):
            raise ImportError("No module named 'ray'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_ray)
    result = cli(*SWEEP, "--executor", "ray")
    assert result.exit_code == 1
    assert result.stderr.strip() == ("error: --executor ray needs Ray: pip install "
                                     "'sparsebox[ray]'")


def test_an_interrupted_run_stops_its_tasks_in_the_cluster(cluster, tmp_path, monkeypatch):
    """Ctrl-C (or an on_record that raised) left every task running in the cluster, each writing
    its outputs after the caller had given up on the run."""
    module = tmp_path / "marking_tasks_ray.py"
    module.write_text(textwrap.dedent('''
        import time
        from pathlib import Path


        def mark_when_done(task, emit):
            folder, name = task
            emit(name)
            time.sleep(4.0)  # long enough for a slow, loaded machine to stop it first
            Path(folder, f"{name}.done").write_text("")
            return name
    '''))
    monkeypatch.syspath_prepend(str(tmp_path))
    import importlib
    import time

    import ray.cloudpickle

    tasks = importlib.import_module("marking_tasks_ray")
    ray.cloudpickle.register_pickle_by_value(tasks)

    def interrupt(record):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        RayExecutor().run(tasks.mark_when_done, [(tmp_path, i) for i in range(4)],
                          on_record=interrupt)
    time.sleep(5.0)  # two of the tasks (two CPUs) would have ended by now
    assert not list(tmp_path.glob("*.done"))


def test_an_address_no_cluster_answers_at_is_refused_at_once(tmp_path):
    """`--address HOST:PORT` with no cluster there: Ray waited for it for ever (ten minutes and
    counting), printing its own warnings; now one error line names the option."""
    import subprocess
    import sys

    import networkx as nx

    from sparsebox.data.graphs import write_graph

    folder = tmp_path / "graphs"
    folder.mkdir()
    write_graph(as_structure(nx.cycle_graph(12)), folder / "ring.mtx")
    out = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, "-m", "sparsebox", "graph", "sparsify", str(folder), "--out", str(out),
         "--executor", "ray", "--address", "127.0.0.1:1"],
        capture_output=True, text=True, timeout=90, env={**os.environ, "RAY_ADDRESS": ""})
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [
        "error: --address 127.0.0.1:1: no Ray cluster answers there (Connection refused); start "
        "one (ray start --head) or give the address it printed"]
    assert not out.exists()


def test_a_teddy_run_whose_executor_never_starts_leaves_no_folder(tmp_path, data_dir):
    """`graph teddy` wrote OUT/run.json before the executor connected, and left it (so the next
    run without --resume was refused: the folder was not empty). In a process of its own: this
    one's Ray connection would be used instead of --address."""
    import subprocess
    import sys

    out = tmp_path / "teddy"
    result = subprocess.run([sys.executable, "-m", "sparsebox", *SWEEP, "--out", str(out),
                             "--executor", "ray", "--address", "127.0.0.1:1"],
                            capture_output=True, text=True, timeout=120,
                            env={**os.environ, "RAY_ADDRESS": ""})
    assert result.returncode == 2, result.stderr
    assert "error: --address 127.0.0.1:1: no Ray cluster" in result.stderr
    assert not out.exists()


def test_a_ray_run_prints_only_its_results(tmp_path):
    """Ray's start-up notices (a token-authentication warning, "Started a local Ray instance")
    came on stderr with every run."""
    import subprocess
    import sys

    import networkx as nx

    from sparsebox.data.graphs import write_graph

    folder = tmp_path / "graphs"
    folder.mkdir()
    write_graph(as_structure(nx.cycle_graph(12)), folder / "ring.mtx")
    result = subprocess.run(
        [sys.executable, "-m", "sparsebox", "graph", "sparsify", str(folder), "--out",
         str(tmp_path / "out"), "--method", "random", "--keep-ratio", "0.5", "--executor", "ray"],
        capture_output=True, text=True, timeout=180, env={**os.environ, "RAY_ADDRESS": ""})
    assert result.returncode == 0, result.stderr
    assert result.stderr == "" and json.loads(result.stdout)["edges_out"] == 6


CALLER_TASKS = '''
import os
from pathlib import Path


def where(task, emit):
    return os.getcwd(), os.environ.get("SPARSEBOX_DATA"), Path(task).read_text()


def exit_once(task, emit):
    with open(task, "a") as runs:
        runs.write("run\\n")
    raise SystemExit(3)


def probe(task, emit):
    return os.getpid(), os.getcwd(), os.environ.get("SPARSEBOX_PROBE")


class PairError(Exception):
    def __init__(self, first, second):  # arguments of its own: it does not unpickle
        super().__init__(f"{first} and {second}")


def raise_pair_error(task, emit):
    raise PairError(task, "b")


def identity(task, emit):
    return task
'''


def _caller_tasks(tmp_path, monkeypatch, name):
    import importlib

    import ray.cloudpickle

    (tmp_path / f"{name}.py").write_text(CALLER_TASKS)
    monkeypatch.syspath_prepend(str(tmp_path))
    tasks = importlib.import_module(name)
    ray.cloudpickle.register_pickle_by_value(tasks)  # the workers do not share our sys.path
    return tasks


def test_tasks_run_in_the_callers_folder_with_its_data_root(cluster, tmp_path, monkeypatch):
    """The workers of a cluster started elsewhere (`ray start --head` in another folder) ran in
    their own folder with their own environment: every relative path of a batch was "no such
    file", and `graph teddy` looked for its dataset under the default data root."""
    tasks = _caller_tasks(tmp_path, monkeypatch, "caller_tasks")
    here = tmp_path / "here"
    here.mkdir()
    (here / "in.txt").write_text("relative")
    monkeypatch.chdir(here)  # after the cluster started: its workers are elsewhere
    monkeypatch.setenv("SPARSEBOX_DATA", str(tmp_path / "data"))
    assert RayExecutor().run(tasks.where, ["in.txt"]) == [
        (os.getcwd(), str(tmp_path / "data"), "relative")]


def test_a_run_leaves_its_folder_and_variables_to_no_later_run(cluster, tmp_path, monkeypatch):
    """A worker runs the tasks of later runs: a $SPARSEBOX_* variable the caller had since unset
    was still set in them, and where the caller's folder is not on the node they ran in an
    earlier caller's folder."""
    import sparsebox.parallel

    tasks = _caller_tasks(tmp_path, monkeypatch, "probing_tasks")
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    monkeypatch.setenv("SPARSEBOX_PROBE", "set")
    first = RayExecutor().run(tasks.probe, range(6))
    assert {(cwd, probe) for _, cwd, probe in first} == {(str(here), "set")}
    monkeypatch.delenv("SPARSEBOX_PROBE")
    monkeypatch.setattr(sparsebox.parallel, "_caller", lambda: (str(tmp_path / "gone"), {}))
    later = RayExecutor().run(tasks.probe, range(6))
    assert {pid for pid, _, _ in first} & {pid for pid, _, _ in later}  # the same workers
    assert {(cwd == str(here), probe) for _, cwd, probe in later} == {(False, None)}


def test_a_task_that_exits_is_reported_not_run_again(cluster, tmp_path, monkeypatch):
    """SystemExit in a task ended its worker: Ray ran it four times, then said the worker
    crashed."""
    tasks = _caller_tasks(tmp_path, monkeypatch, "exiting_tasks")
    runs = tmp_path / "runs.txt"
    with pytest.raises(TaskError, match=r"^task .* failed: SystemExit: 3$"):
        RayExecutor().run(tasks.exit_once, [str(runs)])
    assert runs.read_text() == "run\n"


def test_an_address_ray_refuses_keeps_rays_whole_advice_on_one_line(tmp_path):
    """Ray's message was cut at its first line: "... To fix this, either:" and nothing after."""
    import subprocess
    import sys

    import networkx as nx

    from sparsebox.data.graphs import write_graph

    folder = tmp_path / "graphs"
    folder.mkdir()
    write_graph(as_structure(nx.cycle_graph(12)), folder / "ring.mtx")
    result = subprocess.run(
        [sys.executable, "-m", "sparsebox", "graph", "sparsify", str(folder), "--out",
         str(tmp_path / "out"), "--executor", "ray", "--address", "http://127.0.0.1:1"],
        capture_output=True, text=True, timeout=120, env={**os.environ, "RAY_ADDRESS": ""})
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: --address http://127.0.0.1:1: ValueError: ") and \
        "To fix this, either: 1." in line and "(e.g. <head_node_ip>:6379)" in line, line
    assert not (tmp_path / "out").exists()


def test_a_new_local_cluster_starts_where_ray_start_left_its_address(tmp_path):
    """A forgotten `ray start --head` (or its stale address file) made every run without an
    address try to join that cluster: "When connecting to an existing cluster, num_cpus and
    num_gpus must not be provided"."""
    import subprocess
    import sys

    if not sys.platform.startswith("linux"):
        pytest.skip("Ray's address file is in /tmp/ray on Linux")
    marker = "/tmp/ray/ray_current_cluster"
    if os.path.exists(marker):
        pytest.skip(f"{marker} exists: a cluster of `ray start` may be running here")
    script = textwrap.dedent("""
        from sparsebox.parallel import RayExecutor
        def double(t, emit):
            return 2 * t
        print(RayExecutor(num_cpus=1).run(double, [1, 2, 3]))
    """)
    os.makedirs(os.path.dirname(marker), exist_ok=True)
    with open(marker, "w") as fh:
        fh.write("192.0.2.2:6391")  # an address no cluster answers at (TEST-NET-1)
    try:
        run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                             timeout=300, cwd=tmp_path, env={**os.environ, "RAY_ADDRESS": ""})
    finally:
        os.remove(marker)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[2, 4, 6]"


def test_an_error_of_the_tasks_own_class_is_told_as_one_process_tells_it(cluster, tmp_path,
                                                                         monkeypatch):
    """An error whose class does not unpickle (an ``__init__`` with arguments of its own) came
    back as "UnserializableException: Failed to deserialize exception", its words lost."""
    tasks = _caller_tasks(tmp_path, monkeypatch, "pair_error_tasks")
    told = []
    for executor in (LocalExecutor(1), RayExecutor()):
        with pytest.raises(TaskError) as info:
            executor.run(tasks.raise_pair_error, ["a"])
        told.append(info.value.failures)
    assert told[1] == told[0] == [("a", "PairError: a and b")]


def test_a_task_that_does_not_pickle_fails_alone_as_one_process_tells_it(cluster, tmp_path,
                                                                         monkeypatch):
    """On Ray a task holding a lock ended the whole run in Ray's bare "TypeError: Could not
    serialize the argument", nothing run and no TaskError; LocalExecutor named the task and ran
    the others."""
    import threading

    tasks = _caller_tasks(tmp_path, monkeypatch, "identity_tasks")
    lock = threading.Lock()
    for executor in (LocalExecutor(2), RayExecutor()):  # (one local job runs in this process)
        with pytest.raises(TaskError) as info:
            executor.run(tasks.identity, [1, lock, 3])
        assert info.value.results == [1, None, 3]
        [(task, message)] = info.value.failures
        assert task is lock and message.startswith("TypeError: ") and "lock" in message, message


def test_a_second_executor_is_told_which_cluster_this_process_is_on(tmp_path):
    """Ray takes one cluster per process: a RayExecutor of another address ran its tasks on the
    local cluster an earlier one had made, and one of other num_cpus on its CPUs, in silence.
    In a process of its own (this one's cluster is the fixture's), with the GCS port pinned, as
    `ray start` pins 6379: the caller's own cluster after ray.shutdown() has the same address."""
    import socket
    import subprocess
    import sys

    with socket.socket() as probe:  # a free port
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    script = textwrap.dedent("""
        import warnings
        import ray
        from sparsebox.exceptions import InvalidParameterError
        from sparsebox.parallel import RayExecutor
        def double(t, emit):
            return 2 * t
        print(RayExecutor(num_cpus=1).run(double, [1]))
        try:
            RayExecutor(address="127.0.0.1:1").run(double, [2])
        except InvalidParameterError as err:
            print("refused:", str(err).replace(ray.get_runtime_context().gcs_address, "GCS"))
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            print(RayExecutor(num_cpus=2).run(double, [3]), RayExecutor().run(double, [4]),
                  RayExecutor(address=ray.get_runtime_context().gcs_address).run(double, [5]))
        print("warned:", [str(w.message) for w in seen])
        ray.shutdown()  # then another cluster is this process's to make
        ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False)
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            # the caller's, used as it is, but said so (it ran there in silence)
            print(RayExecutor(address="127.0.0.1:1").run(double, [6]),
                  RayExecutor(address=ray.get_runtime_context().gcs_address).run(double, [7]),
                  RayExecutor(address="auto").run(double, [8]))
        print("warned:", [str(w.message).replace(ray.get_runtime_context().gcs_address, "GCS")
                          for w in seen])
    """)
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=300, cwd=tmp_path,
                         env={**os.environ, "RAY_ADDRESS": "", "RAY_GCS_SERVER_PORT": str(port)})
    assert run.returncode == 0, run.stderr
    lines = run.stdout.strip().splitlines()
    assert lines[0] == "[2]"
    assert lines[1] == ("refused: this process is connected to the Ray cluster at GCS (by an "
                        "earlier RayExecutor), and Ray takes one cluster per process: call "
                        "ray.shutdown() first to connect to 127.0.0.1:1")
    assert lines[2] == "[6] [8] [10]"  # its own address is the same cluster
    assert lines[3].startswith("warned: ['num_cpus 2: this process already runs a local Ray "
                               "cluster made by an earlier RayExecutor (num_cpus 1)") and \
        lines[3].count("num_cpus 2") == 1  # RayExecutor() asks for no number of CPUs
    assert lines[4] == "[12] [14] [16]"
    assert lines[5] == ("warned: ['address 127.0.0.1:1: this process is connected (by ray.init) to "
                        "the Ray cluster at GCS, and Ray takes one cluster per process: the tasks "
                        "run there; call ray.shutdown() first to run them at 127.0.0.1:1']")
