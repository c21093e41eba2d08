"""The benchmark scripts refuse a user's mistake at once: one ``error:`` line, exit code 2, before
any work, and never delete a folder they did not make."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


#: hollownerf.py at its smallest (the settings of its end-to-end test)
TINY_NERF = ["--resolution", "16", "--steps", "2", "--table-size", "300", "--levels", "2",
             "--finest-resolution", "16", "--batch-rays", "64", "--warmup-steps", "1",
             "--throughput-steps", "1", "--seeds", "1", "--jobs", "1"]


def run(script: str, *args: str, tmp_path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(BENCHMARKS / script), *args,
                           "--out", str(tmp_path / "out")], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)


@pytest.mark.parametrize("script, args, message", [
    ("queen.py", ["--frames", "1"], "argument --frames: must be >= 2, got 1"),
    ("queen.py", ["--cameras", "4", "--test-camera", "4"], "--test-camera must be in 0..3"),
    ("queen_gates.py", ["--frames", "3", "--encode", "3"], "--encode must be at most 2 "
                                                           "(--frames 3)"),
    ("queen_gates.py", ["--lambdas", "0.1", "0.1"], "--lambdas names a value twice: [0.1, 0.1]"),
    ("queen_gates.py", ["--lambdas", "0"], "argument --lambdas: must be > 0.0, got 0.0"),
    ("queen_gates.py", ["--cameras", "4", "--test-camera", "4"], "--test-camera must be in 0..3"),
    ("splats.py", ["--keep-ratio", "1.5"], "argument --keep-ratio: must be in (0, 1], got 1.5"),
    ("splats.py", ["--keep-ratio", "0"], "argument --keep-ratio: must be in (0, 1], got 0.0"),
    ("points.py", ["--points", "-5"], "argument --points: must be >= 1000, got -5"),
    ("points.py", ["--points", "150"], "argument --points: must be >= 1000, got 150"),
    ("points.py", ["--points", "5000", "--keep-ratio", "0.00001"], "--keep-ratio 1e-05 of "
                                                                   "--points 5000 keeps no point"),
    ("walks.py", ["--queries", "x"], "argument --queries: 'x' is not an integer"),
    ("walks.py", ["--big-points", "5"], "--big-points must be 0 (no generated graph) or at least 10"),
    ("static_sparsifier.py", ["--refine-rounds", "-1"], "argument --refine-rounds: give auto or "
                                                        "a count: must be >= 0, got -1"),
    ("splat_training.py", ["--lego-steps", "-1"], "argument --lego-steps: must be >= 1"),
    ("hollownerf.py", ["--saliency-budgets", "0.1", "-1"], "must be > 0.0, got -1.0"),
    ("gtsp.py", ["--datasets", ","], "argument --datasets: give at least one value"),
    ("gtsp.py", ["--baselines", "bogus"], "--baselines must be among random-tokens, magnitude, "
                                          "got 'bogus'"),
    ("gtsp.py", ["--datasets", "ogbg-molbace,ogbg-molbace"], "--datasets must name one or more "
                                                             "different datasets"),
    ("splat_training.py", ["--parts"], "argument --parts: expected at least one argument"),
    ("scaleout.py", ["--parts", "sweep,sweep"], "argument --parts: names a value twice: "
                                                "['sweep', 'sweep']"),
    ("gpu_timings.py", ["--parts", "foo"], "argument --parts: invalid choice: 'foo'"),
    ("teddy_lambda.py", ["--lambdas", "1,1"], "--lambdas names a value twice: [1.0, 1.0]"),
    ("teddy_lambda.py", ["--model", "foo"], "argument --model: invalid choice: 'foo'"),
    ("dygrass.py", ["--big-points", "3"], "--big-points must be 0 (no generated graph) or at "
                                          "least 10, got 3"),
    ("dygrass.py", ["--graphs", "delaunay_5000"], "--graphs: delaunay_5000 is not a dataset; the "
                                                  "generated Delaunay graph is --big-points N"),
    ("dygrass.py", ["--graphs", "bogus"], "--graphs: unknown dataset 'bogus'"),
    ("static_sparsifier.py", ["--graphs", "bogus"], "--graphs: unknown dataset 'bogus'"),
    ("dygrass.py", ["--graphs", "ogbg-molbace", "--big-points", "0"],
     "--graphs: ogbg-molbace is not a graph but a dataset of kind ogbg"),
    ("static_sparsifier.py", ["--graphs", "ogbg-molbace"], "--graphs: ogbg-molbace is not a graph"),
    ("dygrass.py", ["--graphs", "--big-points", "0"], "nothing to run: --graphs names no graph"),
    ("gtsp.py", ["--max-graphs", "2"], "argument --max-graphs: must be >= 3, got 2"),
    ("gtsp.py", ["--datasets", "cora"], "--datasets: cora is not a set of ogbg molecules but a "
                                        "dataset of kind planetoid"),
    # these three named no option ("gtsp.py needs the dataset 'foo'", "the model settings")
    ("gtsp.py", ["--datasets", "ogbg-molbace,foo"], "error: --datasets: unknown dataset 'foo'; "
                                                    "known: ogbg-molbace, ogbg-molbbbp, ogbg-molesol,"),
    ("dygrass.py", ["--graphs", "karat"], "--graphs: unknown dataset 'karat' (did you mean "
                                          "'karate'?); known: 4elt, adder_dcop_05, airfoil1,"),
    ("hollownerf.py", ["--seed", str(2**70)], "error: --seed: seed must be an integer in"),
    # a value named twice ran twice (hours), or in two rows of one table
    ("gtsp.py", ["--keeps", "0.5,0.5"], "--keeps names a value twice: [0.5, 0.5]"),
    # runs are told apart by the keep ratio to 6 decimals (as `graph gtsp --keep` refuses them)
    ("gtsp.py", ["--keeps", "0.5,0.5000001"], "--keeps names a value twice: [0.5, 0.5]"),
    ("gtsp.py", ["--baselines", "magnitude,magnitude"], "--baselines names a value twice"),
    ("dygrass.py", ["--graphs", "karate", "karate", "--big-points", "0"],
     "--graphs names a value twice: ['karate', 'karate']"),
    ("static_sparsifier.py", ["--graphs", "karate", "karate"], "--graphs names a value twice"),
    ("static_sparsifier.py", ["--graphs", "karate", "KARATE"], "--graphs names a value twice"),
    ("static_sparsifier.py", ["--densities", "1.1", "1.10"],
     "--densities names a value twice: [1.1, 1.1]"),
    ("gpu_timings.py", ["--device", "cpu", "--parts", "gtsp-step", "gtsp-step"],
     "argument --parts: names a value twice: ['gtsp-step', 'gtsp-step']"),
    # values the methods refuse: a traceback after the scoring, the throughput part or the
    # teacher's training, or once the other models had trained
    ("splats.py", ["--resolution", "4"], "argument --resolution: must be >= 8, got 4"),
    ("splats.py", ["--views", "1", "--resolution", "8", "--keep-ratio", "0.000001"],
     "--keep-ratio 1e-06 keeps none of the donut's 45,624 Gaussians"),
    ("hollownerf.py", [*TINY_NERF, "--saliency-budgets", "0.1", "1.5"],
     "--saliency-budgets: saliency_budget must be in (0, 1), got 1.5"),
    ("hollownerf.py", [*TINY_NERF, "--finest-resolution", "8"],
     "--finest-resolution: finest_resolution must be >= base_resolution (16), got 8"),
    ("teddy_lambda.py", ["--lambdas", "nan", "--levels", "1", "--seeds", "1", "--epochs", "1"],
     "--lambdas must be finite non-negative numbers, got [nan]"),
    ("static_sparsifier.py", ["--graphs", "karate", "--densities", "inf"],
     "argument --densities: must be a finite number, got inf"),
    # argparse named the parsing function: "invalid <lambda> value", "invalid _floats value"
    ("gtsp.py", ["--keeps", "0.5,x"], "argument --keeps: 'x' is not a number"),
    ("teddy_lambda.py", ["--lambdas", "0.1,x"], "argument --lambdas: 'x' is not a number"),
    ("teddy_lambda.py", ["--levels", "5,ten"], "argument --levels: 'ten' is not an integer"),
    # every list option takes its values space- or comma-separated, and mixed
    ("gtsp.py", ["--keeps", "0.5", "0.25,0.5"], "--keeps names a value twice: [0.5, 0.25, 0.5]"),
    ("teddy_lambda.py", ["--lambdas", "1", "1"], "--lambdas names a value twice: [1.0, 1.0]"),
    ("queen_gates.py", ["--lambdas", "0.1,0.1"], "--lambdas names a value twice: [0.1, 0.1]"),
    ("static_sparsifier.py", ["--graphs", "karate,karate"], "--graphs names a value twice"),
    ("dygrass.py", ["--graphs", "karate,", "karate", "--big-points", "0"],
     "--graphs names a value twice: ['karate', 'karate']"),
    ("splat_training.py", ["--donut-scores", "pup,bogus"], "argument --donut-scores: invalid "
                                                           "choice: 'bogus' (choose from"),
    ("static_sparsifier.py", ["--graphs", ","], "argument --graphs: give at least one value"),
    ("teddy_lambda.py", ["--dataset", "bogus"], "error: --dataset: dataset must be one of"),
    # run_levels refused them with a traceback: in scaleout.py in every task, once the Ray
    # cluster had started and the walks and costs parts had run
    ("teddy_lambda.py", ["--levels", "5,500"], "error: --levels: levels go deeper than the graph "
                                               "allows: level 500 keeps none of its 5,278 edges"),
    ("scaleout.py", ["--parts", "sweep", "walks", "--levels", "500"],
     "error: --levels: levels go deeper than the graph allows: level 500"),
])
def test_bad_values_fail_before_any_work(tmp_path, script, args, message):
    result = run(script, *args, tmp_path=tmp_path)
    assert result.returncode == 2, result.stderr
    errors = [line for line in result.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1 and message in errors[0], result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()  # splats.py and teddy_lambda.py left it made, empty


@pytest.mark.parametrize("script, args, module, extra", [
    ("gtsp.py", ["--datasets", "ogbg-molbace"], "ogb", "ogb"),
    ("dygrass.py", ["--graphs", "karate", "--big-points", "0"], "networkit", "bench"),
    ("static_sparsifier.py", ["--graphs", "karate"], "networkit", "bench"),
    ("scaleout.py", ["--parts", "costs"], "ray", "ray"),
])
def test_a_missing_optional_package_is_named_with_its_extra(tmp_path, script, args, module,
                                                            extra):
    """gtsp.py without ogb was a traceback (graphsparse.gtsp imports it) before its check."""
    import os

    hidden = tmp_path / "hidden"
    hidden.mkdir()  # a module of that name that is not installed, first on the path
    (hidden / f"{module}.py").write_text(
        f'raise ModuleNotFoundError("No module named {module!r}", name={module!r})\n')
    path = os.pathsep.join(filter(None, [str(hidden), os.environ.get("PYTHONPATH")]))
    result = subprocess.run([sys.executable, str(BENCHMARKS / script), *args, "--out",
                             str(tmp_path / "out")], capture_output=True, text=True, timeout=120,
                            cwd=tmp_path, env={**os.environ, "PYTHONPATH": path})
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [
        f"error: {script} needs {module}, which is not installed: pip install 'sparsebox[{extra}]'"]
    assert not (tmp_path / "out").exists()  # it was made before the check, and left empty


def test_queen_refuses_a_shift_or_angle_that_is_not_finite(tmp_path):
    """--shift nan rendered a video of NaN positions into --work, then failed reading it back
    (a traceback), and its ground_truth.json held a bare NaN."""
    work = tmp_path / "video"
    for option in ("--shift", "--angle"):
        result = run("queen.py", "--frames", "2", "--cameras", "2", "--resolution", "8",
                     "--epochs", "1", option, "nan", "--work", str(work), tmp_path=tmp_path)
        assert result.returncode == 2, result.stderr
        errors = [line for line in result.stderr.splitlines() if "error:" in line]
        assert errors == [f"queen.py: error: argument {option}: must be a finite number, got nan"]
        assert not work.exists() and not (tmp_path / "out").exists()


def test_queen_keeps_a_work_folder_it_did_not_make(tmp_path):
    work = tmp_path / "precious"
    (work / "sub").mkdir(parents=True)
    (work / "IMPORTANT.txt").write_text("keep me")
    result = run("queen.py", "--work", str(work), tmp_path=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: --work: {work} holds files but no video this script made; name a new or "
        "empty folder"]
    assert (work / "IMPORTANT.txt").read_text() == "keep me" and (work / "sub").is_dir()
    (work / "ground_truth.json").write_text('{"frames": 2}')  # a file of the same name is not enough
    assert run("queen.py", "--work", str(work), tmp_path=tmp_path).returncode == 2
    assert (work / "IMPORTANT.txt").is_file()
    result = run("queen.py", "--work", str(tmp_path / "out" / "video"), tmp_path=tmp_path)
    assert result.returncode == 2 and "must not hold one another" in result.stderr


def test_startup_checks_its_console_script_before_making_out(tmp_path):
    result = run("startup.py", "--sparsebox", str(tmp_path / "nowhere"), tmp_path=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: --sparsebox: {tmp_path / 'nowhere'} is not an executable file (make install makes "
        ".venv/bin/sparsebox)"]
    assert not (tmp_path / "out").exists()  # it was made before the check, and left empty


def test_a_check_that_fails_after_out_is_made_leaves_no_folder_it_made(tmp_path):
    """A check made after --out (the keep ratio against the scene, a command that fails while
    it is timed) left the folder it had made, empty; one that was there before is kept."""
    fake = tmp_path / "sparsebox"
    fake.write_text("#!/bin/sh\necho boom >&2\nexit 3\n")
    fake.chmod(0o755)
    result = run("startup.py", "--sparsebox", str(fake), "--runs", "1", tmp_path=tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [
        f"error: --sparsebox: `{fake} --help` exited with 3: boom"]
    assert not (tmp_path / "out").exists()
    before = tmp_path / "before"
    before.mkdir()
    for out in (tmp_path / "new" / "deeper", before):
        result = subprocess.run([sys.executable, str(BENCHMARKS / "splats.py"), "--views", "1",
                                 "--resolution", "8", "--keep-ratio", "0.000001", "--out",
                                 str(out)], capture_output=True, text=True, timeout=120,
                                cwd=tmp_path)
        assert result.returncode == 2 and "keeps none of the donut" in result.stderr
    assert not (tmp_path / "new").exists() and before.is_dir()


def test_a_run_stopped_before_it_wrote_a_file_leaves_no_folder_it_made(tmp_path):
    """Only a failed check took the --out it had made away: a run stopped later (an exception
    in its work, Ctrl-C) before it wrote a file left it there, empty."""
    import os

    before = tmp_path / "before"
    before.mkdir()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        filter(None, [str(BENCHMARKS), os.environ.get("PYTHONPATH")]))}
    for out, work in [(tmp_path / "new" / "deeper", ""), (before, ""),
                      (tmp_path / "written", "(out / 'a.json').write_text('{}'); ")]:
        code = (f"from _common import output_folder; out = output_folder({str(out)!r}); {work}"
                "raise KeyboardInterrupt")
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                timeout=60, cwd=tmp_path, env=env)
        assert result.returncode != 0 and "KeyboardInterrupt" in result.stderr, result.stderr
    assert not (tmp_path / "new").exists() and before.is_dir()
    assert [p.name for p in (tmp_path / "written").iterdir()] == ["a.json"]


def test_a_run_terminated_before_it_wrote_a_file_leaves_no_folder_it_made(tmp_path):
    """SIGTERM (`timeout`, `kill`) ended a run at once, past its clean-up: an empty --out was
    left, and queen.py's half-rendered video in a hidden folder beside --work."""
    import os
    import signal
    import time

    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        filter(None, [str(BENCHMARKS), os.environ.get("PYTHONPATH")]))}
    out = tmp_path / "new" / "deeper"
    code = (f"import time; from _common import output_folder; output_folder({str(out)!r}); "
            "print('made', flush=True); time.sleep(60)")
    run = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                           cwd=tmp_path, env=env)
    assert run.stdout.readline().strip() == "made" and out.is_dir()
    start = time.monotonic()
    run.send_signal(signal.SIGTERM)
    assert run.wait(timeout=30) == 128 + signal.SIGTERM and time.monotonic() - start < 10
    assert not (tmp_path / "new").exists()


@pytest.mark.parametrize("record", [
    '{"meta": {"command": "c"}, "walks": {}}',  # no meta.date for the walks it keeps
    '{"meta": {"command": "c", "date": "d"}, "sweep": {}}',  # no meta.sweep
    '{"meta": {"command": "c", "date": "d"}, "walks": {"queries": 5}}',  # not a table's fields
    '{"meta": "command", "walks": {}}',
    # another script's record in its place (walks.py's, of no part of this one) was replaced
    '{"meta": {"command": "python benchmarks/walks.py", "date": "d"}, "runs": []}',
])
def test_scaleout_update_checks_the_parts_it_keeps_before_starting_ray(tmp_path, monkeypatch,
                                                                        capsys, record):
    """A record whose kept parts lack a field was a traceback once the Ray cluster had started
    (keep_parts), or once every part had run (the table)."""
    scaleout = _load_benchmark("scaleout")

    class Started(Exception):
        pass

    def ray_executor(**kwargs):
        raise Started

    monkeypatch.setattr(scaleout, "RayExecutor", ray_executor)
    out = tmp_path / "out"
    out.mkdir()
    (out / "scaleout.json").write_text(record)
    with pytest.raises(SystemExit) as stop:
        scaleout.main(["--parts", "costs", "--update", "--out", str(out)])
    assert stop.value.code == 2
    errors = capsys.readouterr().err.strip().splitlines()
    assert len(errors) == 1 and errors[0].startswith(
        f"error: --update: {out / 'scaleout.json'} is not a record of this script"), errors
    assert [p.name for p in out.iterdir()] == ["scaleout.json"]
    assert (out / "scaleout.json").read_text() == record


@pytest.mark.parametrize("record", [
    '{"meta": {}, "runs": [{"graph": "wave"}]}',
    '{"meta": {}, "runs": [1]}',
    '{"meta": {"command": "c"}, "runs": [{"graph": "wave", "mode": "insert", "batches": []}]}',
])
def test_dygrass_update_checks_the_runs_it_keeps_before_any_work(tmp_path, monkeypatch, capsys,
                                                                  record):
    """A recorded run that lacks a field was a traceback after every graph had run (hours)."""
    dygrass = _load_benchmark("dygrass")

    class Started(Exception):
        pass

    def run_protocol(*args):
        raise Started

    monkeypatch.setattr(dygrass, "run_protocol", run_protocol)
    monkeypatch.setattr(dygrass, "load_graph", lambda name: None)
    monkeypatch.setattr(dygrass, "check_startup", lambda out, **kw: Path(out))
    out = tmp_path / "out"
    out.mkdir()
    (out / "dygrass.json").write_text(record)
    with pytest.raises(SystemExit) as stop:
        dygrass.main(["--graphs", "karate", "--big-points", "0", "--update", "--out", str(out)])
    assert stop.value.code == 2
    errors = capsys.readouterr().err.strip().splitlines()
    assert len(errors) == 1 and errors[0].startswith(
        f"error: --update: {out / 'dygrass.json'} holds a run this script did not write"), errors
    assert [p.name for p in out.iterdir()] == ["dygrass.json"]


@pytest.mark.parametrize("results, run_json, message", [
    ("{", None, "--resume: {path} has no run.json beside it"),
    ("{", '{"dataset": "ogbg-molbace", "epochs": 1, "max_graphs": 30, "batch_size": 128, '
          '"lr": 0.001}', "--resume: {path} is not JSON"),
    ('[{"seed": 0}]', '{"dataset": "ogbg-molbace", "epochs": 1, "max_graphs": 30, '
                      '"batch_size": 128, "lr": 0.001}', "--resume: {path} is not a list of GTSP"),
    ("[]", "[]", "--resume: {run} is not a JSON object"),
    # the settings named by their options; it printed a Python dict: "was run with {'epochs': 2}"
    ("[]", '{"dataset": "ogbg-molbace", "epochs": 2, "max_graphs": 30, "batch_size": 128, '
           '"lr": 0.001}', "--resume: {run} was run with --epochs 2, this run has --epochs 1; "
                           "resume with the same settings"),
    # run.json alone (a run stopped before its first record) is checked too
    (None, '{"dataset": "ogbg-molbace", "epochs": 1, "max_graphs": null, "batch_size": 128, '
           '"lr": 0.001}', "--resume: {run} was run with no --max-graphs, this run has "
                           "--max-graphs 30"),
])
def test_gtsp_resume_checks_the_records_it_goes_on_with_before_training(tmp_path, monkeypatch,
                                                                        capsys, results, run_json,
                                                                        message):
    """--resume over a damaged results.json was a traceback, after the datasets before it had
    trained."""
    import graphsparse.gtsp.data

    gtsp = _load_benchmark("gtsp")
    monkeypatch.setattr(gtsp, "check_startup", lambda out, **kw: Path(out))
    monkeypatch.setattr(graphsparse.gtsp.data, "load_molecules", lambda name, **kw: None)
    folder = tmp_path / "gtsp" / "ogbg-molbace"
    folder.mkdir(parents=True)
    if results is not None:
        (folder / "results.json").write_text(results)
    if run_json is not None:
        (folder / "run.json").write_text(run_json)
    with pytest.raises(SystemExit) as stop:
        gtsp.main(["--datasets", "ogbg-molbace", "--resume", "--epochs", "1", "--max-graphs", "30",
                   "--out", str(tmp_path)])
    assert stop.value.code == 2
    errors = capsys.readouterr().err.strip().splitlines()
    expected = "error: " + message.format(path=folder / "results.json", run=folder / "run.json")
    assert len(errors) == 1 and errors[0].startswith(expected), errors
    assert results is None or (folder / "results.json").read_text() == results
    assert run_json is None or (folder / "run.json").read_text() == run_json


def test_queen_leaves_no_half_video_when_its_render_stops(tmp_path, monkeypatch):
    """A render stopped half-way (Ctrl-C) left frames without ground_truth.json (written last) in
    --work, and every later run refused the folder as one the script had not made."""
    import argparse

    queen = _load_benchmark("queen")
    monkeypatch.setattr(queen, "read_ply", lambda path: None)
    monkeypatch.setattr(queen, "fetch", lambda name: [None])
    truth = {"frames": 2, "gaussians": 3, "moving": [0], "recoloured": [1], "angle_deg": 45.0,
             "shift": 0.25, "axis": [1.0, 0.0, 0.0], "cameras": 2, "resolution": 8}

    def render(scene, root, stop: bool, **kwargs):
        for t in range(2):
            (Path(root) / f"frame_{t:04d}").mkdir()
            (Path(root) / f"frame_{t:04d}" / "r_000.png").write_bytes(b"")
            if stop:
                raise KeyboardInterrupt
        (Path(root) / "ground_truth.json").write_text(json.dumps(truth))
        return truth

    class Quiet:
        def print(self, *args, **kwargs):
            pass

    work = tmp_path / "work"
    work.mkdir()  # check_video_options made it
    args = argparse.Namespace(work=work, frames=2, cameras=2, resolution=8, angle=45.0, shift=0.25)
    monkeypatch.setattr(queen, "make_moving_video", lambda *a, **k: render(*a, stop=True, **k))
    with pytest.raises(KeyboardInterrupt):
        queen.video(args, Quiet())
    assert not work.exists() or not any(work.iterdir())
    assert [p for p in tmp_path.iterdir() if p != work] == []  # no partial render beside it
    monkeypatch.setattr(queen, "make_moving_video", lambda *a, **k: render(*a, stop=False, **k))
    assert queen.video(args, Quiet()) == (work, truth)
    assert queen.own_video(work) and sorted(p.name for p in work.iterdir()) == [
        "frame_0000", "frame_0001", "ground_truth.json"]
    assert work.stat().st_mode & 0o055 == 0o055  # readable as a folder made by mkdir is


def test_gpu_timings_renders_its_queen_video_outside_out(tmp_path, monkeypatch):
    """queen-frame rendered its video into OUT/queen_video: a second run into the same --out
    failed the part (make_moving_video takes an empty folder), and --out benchmarks/results
    would hold it."""
    import scenesparse.queen.video

    timings = _load_benchmark("gpu_timings")
    used = []

    def render(scene, root, **kwargs):
        used.append(Path(root))
        (Path(root) / "frame_0000").mkdir()
        raise RuntimeError("stopped here")

    monkeypatch.setattr(scenesparse.queen.video, "make_moving_video", render)
    out = tmp_path / "out"
    for _ in range(2):
        assert timings.main(["--device", "cpu", "--parts", "queen-frame", "--out", str(out)]) == 1
        part = json.loads((out / "gpu_timings.json").read_text())["parts"]["queen-frame"]
        assert part["error"] == "RuntimeError: stopped here"
    assert [p.name for p in out.iterdir()] == ["gpu_timings.json"]
    assert len(used) == 2 and not any(p.exists() for p in used)


def test_teddy_compare_checks_its_out_and_records(tmp_path):
    new, recorded = tmp_path / "new", tmp_path / "recorded"
    for folder in (new, recorded):
        folder.mkdir()
        (folder / "results.json").write_text('{"not": "a list"}')
    (tmp_path / "afile").write_text("")
    script = str(BENCHMARKS / "teddy_compare.py")
    result = subprocess.run([sys.executable, script, str(new), str(recorded), "--out",
                             str(tmp_path / "afile")], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: --out: {tmp_path / 'afile'} is a file, not a folder"
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)  # read-only, for root too
    for out, message in ((locked, f"error: --out: cannot write into the folder {locked} (it is "
                                  "read-only)"), ("", "error: argument --out: is empty; give a "
                                                      "folder")):  # (argparse's usage above)
        result = subprocess.run([sys.executable, script, str(new), str(recorded), "--out",
                                 str(out)], capture_output=True, text=True, timeout=60,
                                cwd=tmp_path)  # ("" had written into the working folder)
        assert result.returncode == 2, result.stderr
        assert result.stderr.strip().splitlines()[-1].endswith(message)
    assert not list(locked.iterdir()) and not (tmp_path / "teddy_compare.md").exists()
    result = subprocess.run([sys.executable, script, str(new), str(recorded)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: {recorded / 'results.json'}: not a list of TEDDY records"
    (recorded / "results.json").write_text('[{"method": "teddy", "level": 1, "seed": 0}]')
    result = subprocess.run([sys.executable, script, str(new), str(recorded)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: {recorded / 'results.json'}: record 1 has no test_acc"
    for acc, told in (('"x"', "'x'"), ("null", "None")):  # (tracebacks in the table's format)
        (recorded / "results.json").write_text(
            f'[{{"method": "teddy", "level": 1, "seed": 0, "test_acc": {acc}}}]')
        result = subprocess.run([sys.executable, script, str(new), str(recorded)],
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 2
        assert result.stderr.strip() == (f"error: {recorded / 'results.json'}: record 1 has a "
                                         f"test_acc that is no number: {told}")
    (new / "results.json").write_text("[]")  # a run that recorded nothing compares nothing
    (recorded / "results.json").write_text("[]")
    result = subprocess.run([sys.executable, script, str(new), str(recorded), "--out",
                             str(tmp_path / "report" / "here")], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: {new / 'results.json'}: no records to compare"
    assert not (tmp_path / "report").exists()  # the folder it made for nothing is gone
    (recorded / "results.json").write_text("{")  # unreadable records: no folder left either
    result = subprocess.run([sys.executable, script, str(new), str(recorded), "--out",
                             str(tmp_path / "report" / "here")], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 2 and "cannot read the records" in result.stderr
    assert not (tmp_path / "report").exists()
    record = '[{"method": "teddy", "level": 1, "seed": 0, "test_acc": 0.5}]'
    (new / "results.json").write_text(record)
    (recorded / "results.json").write_text(record)
    (new / "run.json").write_text("{oops")  # a traceback after the table, and exit 1 (differs)
    result = subprocess.run([sys.executable, script, str(new), str(recorded), "--out",
                             str(tmp_path / "report")], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith(f"error: {new / 'run.json'}: cannot read the run's settings")
    assert not (tmp_path / "report").exists()
    (new / "run.json").write_bytes(b'{"epochs": "\xff"}')  # not UTF-8: it was a traceback
    result = subprocess.run([sys.executable, script, str(new), str(recorded), "--out",
                             str(tmp_path / "report")], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert not (tmp_path / "report").exists()


def test_gtsp_checks_every_dataset_folder_before_training(tmp_path):
    folder = tmp_path / "out" / "gtsp" / "ogbg-molbbbp"
    folder.mkdir(parents=True)
    (folder / "results.json").write_text("[]")
    result = run("gtsp.py", "--datasets", "ogbg-molbace,ogbg-molbbbp", tmp_path=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: {folder / 'results.json'} exists: pass --resume to go on with it, or choose "
        "another --out"]
    assert not (tmp_path / "out" / "gtsp" / "ogbg-molbace").exists()


def test_gtsp_refuses_a_file_where_a_dataset_folder_goes_before_training(tmp_path):
    (tmp_path / "out" / "gtsp").mkdir(parents=True)
    (tmp_path / "out" / "gtsp" / "ogbg-molbbbp").write_text("")
    result = run("gtsp.py", "--datasets", "ogbg-molbace,ogbg-molbbbp", "--epochs", "1", "--seeds",
                 "1", "--max-graphs", "20", "--keeps", "0.5", tmp_path=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: {tmp_path / 'out' / 'gtsp' / 'ogbg-molbbbp'} is a file, not a folder: choose "
        "another --out"]
    assert not (tmp_path / "out" / "gtsp" / "ogbg-molbace").exists()


def test_queen_runs_with_its_default_out_and_work(tmp_path, monkeypatch):
    """The default --work must not lie in the default --out, which check_video_options refuses."""
    import argparse
    import importlib.util

    monkeypatch.syspath_prepend(str(BENCHMARKS))
    spec = importlib.util.spec_from_file_location("queen", BENCHMARKS / "queen.py")
    queen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(queen)
    default_out = tmp_path / "out" / "benchmarks"  # stands for the repository's out/benchmarks
    monkeypatch.setattr(queen, "DEFAULT_OUT", default_out)
    ap = argparse.ArgumentParser()
    queen.add_video_options(ap)
    ap.add_argument("--out", type=Path, default=default_out)
    args = ap.parse_args([])
    assert queen.check_video_options(args, ["queen.json"]) == default_out
    assert args.work == tmp_path / "out" / "queen_video" and args.work.is_dir()


@pytest.mark.parametrize("big_points, graphs", [("10", 3), ("0", 1)])  # 0: wave alone
def test_walks_runs_where_numba_has_one_thread(tmp_path, big_points, graphs):
    import os

    result = subprocess.run(
        [sys.executable, str(BENCHMARKS / "walks.py"), "--big-points", big_points, "--queries", "4",
         "--ref-queries", "1", "--no-cuda", "--out", str(tmp_path / "out")], capture_output=True,
        text=True, timeout=120, cwd=tmp_path, env={**os.environ, "NUMBA_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stderr
    rows = [line for line in (tmp_path / "out" / "walks.md").read_text().splitlines()
            if "| numba |" in line]
    assert len(rows) == graphs and all("| numba | 1 |" in line for line in rows)
    # a record without a CUDA row says why it has none
    assert "CUDA backend: not timed: --no-cuda." in (tmp_path / "out" / "walks.md").read_text()


def test_splat_training_writes_what_its_help_promises(tmp_path):
    result = run("splat_training.py", "--parts", "step", "--step-repeats", "1", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["splat_training.json",
                                                                   "splat_training.md"]
    shown = subprocess.run([sys.executable, str(BENCHMARKS / "splat_training.py"), "--help"],
                           capture_output=True, text=True, timeout=60).stdout
    writes = shown[shown.index("Writes"):].split("--out")[0]
    assert "picture" not in writes and "png" not in writes, writes


def test_hollownerf_runs_end_to_end_at_a_tiny_size(tmp_path):
    """The whole script, every model and the throughput part, at 16 px and 2 steps: a script
    that only fails after its first model is trained is caught here, not by its next user."""
    result = run("hollownerf.py", "--resolution", "16", "--steps", "2", "--table-size", "300",
                 "--levels", "2", "--finest-resolution", "16", "--batch-rays", "64",
                 "--warmup-steps", "1", "--throughput-steps", "1", "--seeds", "1", "--jobs", "1",
                 tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    out = tmp_path / "out"
    assert {p.name for p in out.iterdir()} >= {"hollownerf.json", "hollownerf.md", "hollownerf.png"}
    text = (out / "hollownerf.md").read_text()
    assert "hash grid, T = 300" in text and "HollowNeRF, C = " in text
    # its 64^3 saliency grid outweighs a 300-row table: the table at --table-size was named as
    # the "same parameters" one, with 23x fewer
    assert "(same parameters)" not in text and "not an equal-parameter comparison" in text
    assert json.loads((out / "hollownerf.json").read_text())


def test_scaleout_update_keeps_the_command_that_measured_each_kept_part():
    scaleout = _load_benchmark("scaleout")
    full = {"meta": {"command": "scaleout.py", "date": "d1", "sweep": {"seeds": 4}},
            "sweep": [1], "walks": [2], "costs": [3]}
    first = {"meta": {"command": "scaleout.py --parts walks costs --update", "date": "d2"},
             "walks": [5], "costs": [6]}  # what it measured
    scaleout.keep_parts(first, full, ["walks", "costs"], scaleout.PARTS, carried={"sweep": "sweep"})
    second = {"meta": {"command": "scaleout.py --parts costs --update", "date": "d3"}}
    scaleout.keep_parts(second, first, ["costs"], scaleout.PARTS,  # the first run measured the
                        carried={"sweep": "sweep"})                  # sweep
    assert (second["meta"]["sweep_from"], second["meta"]["sweep_date"]) == ("scaleout.py", "d1")
    assert second["meta"]["walks_from"] == "scaleout.py --parts walks costs --update"
    assert second["sweep"] == [1] and second["meta"]["sweep"] == {"seeds": 4}
    assert "costs_from" not in second["meta"]


@pytest.mark.parametrize("content", ["{not json", "[1]", '{"meta": {}}'])
def test_scaleout_update_refuses_a_record_it_cannot_read_before_starting_ray(tmp_path, content):
    """A malformed scaleout.json gave a traceback after the Ray cluster had started."""
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "scaleout.json").write_text(content)
    result = run("scaleout.py", "--parts", "costs", "--update", tmp_path=tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith(
        f"error: --update: {tmp_path / 'out' / 'scaleout.json'} is not a record of this script")
    assert "Traceback" not in result.stderr and "ray" not in result.stdout.lower()
    assert (tmp_path / "out" / "scaleout.json").read_text() == content


def test_gpu_timings_dry_run_keeps_both_runs_and_their_ratio(tmp_path):
    """On --device cpu both runs of a part were stored under one key (the second overwrote the
    first), and no part gave the ratio of the CPU's time to the device's."""
    result = run("gpu_timings.py", "--device", "cpu", "--parts", "gtsp-step", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    part = json.loads((tmp_path / "out" / "gpu_timings.json").read_text())["parts"]["gtsp-step"]
    assert part["ok"] and {"cpu", "device"} <= set(part)
    assert part["cpu_over_device"] == part["cpu"]["median_seconds"] / part["device"]["median_seconds"]


def test_gpu_check_takes_no_argument_and_fails_when_a_step_fails(tmp_path):
    import os

    script = str(BENCHMARKS / "gpu_check.sh")

    def check(*args, **env):
        return subprocess.run(["bash", script, *args], capture_output=True, text=True,
                              timeout=60, cwd=tmp_path, env={**os.environ, **env})

    shown = check("--help")
    assert shown.returncode == 0 and "exits 1 when a step failed" in shown.stdout
    assert not (tmp_path / "out").exists()  # help runs no step
    wrong = check("--quick")
    assert wrong.returncode == 2 and wrong.stderr.startswith("error: gpu_check.sh takes no argument")
    steps_fail = check(OUT=str(tmp_path / "gpu"), PYTHON=_fake_python(tmp_path, "True"))
    assert steps_fail.returncode == 1  # a GPU is seen, and every step exits 1
    assert (tmp_path / "gpu" / "summary.txt").read_text().count("exit 1") == 4


def _fake_python(tmp_path: Path, cuda: str) -> str:
    """An interpreter whose torch answers ``cuda`` to torch.cuda.is_available() and that fails
    everything else."""
    fake = tmp_path / f"python_{cuda}"
    fake.write_text(f'#!/bin/sh\ncase "$*" in *cuda.is_available*) echo {cuda} ;; *) exit 1 ;; esac\n')
    fake.chmod(0o755)
    return str(fake)


@pytest.mark.parametrize("cuda, message", [
    ("False", "error: no CUDA GPU: torch in {python} sees none"),
    ("", "error: {python} cannot import torch"),
])
def test_gpu_check_says_there_is_no_gpu_and_runs_nothing(tmp_path, cuda, message):
    """Without a GPU every step ran: the gpu tests were all skipped (pytest's exit 0, so
    'pytest_gpu: exit 0'), the walks ran for minutes on the CPU alone and said exit 0."""
    import os

    python = _fake_python(tmp_path, cuda)
    result = subprocess.run(["bash", str(BENCHMARKS / "gpu_check.sh")], capture_output=True,
                            text=True, timeout=60, cwd=tmp_path,
                            env={**os.environ, "OUT": str(tmp_path / "gpu"), "PYTHON": python})
    assert result.returncode == 2, result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(message.format(python=python)), result.stderr
    assert result.stdout == "" and not (tmp_path / "gpu").exists()


def _load_benchmark(name: str):
    import importlib.util

    sys.path.insert(0, str(BENCHMARKS))
    try:
        spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(BENCHMARKS))
    return module


def _strict_json(text: str):
    """``text`` read as strict JSON: the bare tokens Infinity and NaN (Python's json writes them)
    are refused, as jq and JavaScript's JSON.parse refuse them."""
    def refuse(token):
        raise ValueError(f"{token} is not JSON")

    return json.loads(text, parse_constant=refuse)


@pytest.mark.parametrize("path", sorted((BENCHMARKS / "results").rglob("*.json")),
                         ids=lambda p: str(p.relative_to(BENCHMARKS / "results")))
def test_the_committed_results_are_strict_json(path):
    _strict_json(path.read_text())


def test_queen_gate_measures_of_nothing_are_none_and_shown_as_n_a():
    """A video whose moving Gaussians no camera sees reported visible recall 0.000: 0 of 0."""
    import numpy as np

    queen = _load_benchmark("queen")
    moving = np.array([True, True, False, False])
    seen = np.array([False, False, True, True])
    scores = queen.gate_scores([0, 2], moving, seen)
    assert scores == {"gated": 2, "precision": 0.5, "recall": 0.5, "recall_visible": None}
    assert queen.gate_scores([], moving, seen)["precision"] is None
    assert queen.mean_of([None, 0.5, 0.25]) == 0.375 and queen.mean_of([None]) is None
    assert (queen.shown(None, 3), queen.shown(0.25, 3)) == ("n/a", "0.250")


def test_the_committed_tables_are_what_their_json_gives():
    """The committed JSON, its infinite kappas written as strings, gives the committed tables."""
    common, dygrass = _load_benchmark("_common"), _load_benchmark("dygrass")
    static = _load_benchmark("static_sparsifier")
    results = BENCHMARKS / "results"
    for path in [results / "dygrass.json", *sorted(results.glob("dygrass_seeds/*/dygrass.json"))]:
        record = common.from_json(path.read_text())
        assert "\n".join(dygrass.markdown(record["runs"])) + "\n" == \
            path.with_suffix(".md").read_text(), path
    for path in sorted(results.glob("static_*/static_sparsifier.json")):
        record = common.from_json(path.read_text())
        assert static.table(record["rows"], record["meta"]) == path.with_suffix(".md").read_text()
    assert "inf" in (results / "static_social" / "static_sparsifier.md").read_text()
    # a record without refinement says so; one of the default says nothing of it
    plain = static.table([], {"command": "c", "date": "d", "machine": "m", "refine_rounds": 0})
    assert "FeGrassSparsifier(refine_rounds=0): plain feGRASS" in plain
    assert "refine_rounds" not in static.table([], {"command": "c", "date": "d", "machine": "m"})


def _static_measuring(monkeypatch, peer: dict):
    """static_sparsifier.py with a ``measure`` that fits nothing: feGRASS at kappa 12.5 and
    every networkit peer as ``peer`` (networkit, the bench extra, is then not needed)."""
    static = _load_benchmark("static_sparsifier")

    def measure(name, g, density, seed, refine_rounds="auto"):
        return {"graph": name, "num_nodes": 34, "num_edges": 78, "components": 1,
                "density": density, "edges": 37, "fit_seconds": 0.1, "kappa": 12.5,
                "extra_components": 0, **{kind: dict(peer) for kind in static.NETWORKIT_PEERS}}

    monkeypatch.setattr(static, "measure", measure)
    startup = static.check_startup
    monkeypatch.setattr(static, "check_startup", lambda out, **kw: startup(out, **{**kw, "packages": []}))
    return static


def test_an_infinite_kappa_is_written_as_strict_json(tmp_path, monkeypatch):
    """static_sparsifier.json held `"kappa": Infinity` (a peer that leaves G's components apart),
    which is not JSON."""
    static = _static_measuring(monkeypatch, {"edges": 70, "extra_components": 3,
                                             "kappa": float("inf")})
    common = _load_benchmark("_common")
    out = tmp_path / "out"
    assert static.main(["--graphs", "karate", "--densities", "1.1", "--out", str(out)]) == 0
    text = (out / "static_sparsifier.json").read_text()
    row = _strict_json(text)["rows"][0]
    assert row["LocalDegree"]["kappa"] == "Infinity" and row["kappa"] == 12.5
    assert common.from_json(text)["rows"][0]["Random"]["kappa"] == float("inf")
    assert "| 12.5 |" in (out / "static_sparsifier.md").read_text()
    assert " inf (+3)" in (out / "static_sparsifier.md").read_text()


@pytest.mark.parametrize("script, args, written", [
    ("teddy_lambda.py", ["--levels", "1", "--seeds", "1", "--epochs", "1", "--lambdas", "1",
                         "--dataset", "CORA"], "teddy_lambda_cora_gcn"),  # (as the records are)
    ("gtsp.py", ["--datasets", "ogbg-molbace", "--keeps", "0.5", "--seeds", "1", "--epochs", "1",
                 "--max-graphs", "30", "--baselines", "random-tokens"], "gtsp"),
])
def test_the_json_of_a_benchmark_records_the_command_that_wrote_it(tmp_path, script, args,
                                                                     written):
    """teddy_lambda's and gtsp's JSON held the records only: which command (and so which
    settings) made them was in the markdown alone."""
    result = run(script, *args, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    out = tmp_path / "out"
    record = _strict_json((out / f"{written}.json").read_text())
    assert record["meta"]["command"].startswith(f"python {BENCHMARKS / script} {args[0]}")
    assert f"`{record['meta']['command']}`" in (out / f"{written}.md").read_text()
    assert record["runs"] and all("seed" in r for r in record["runs"])
    if script == "gtsp.py":  # its dataset folder is one `sparsebox graph gtsp --resume` reads
        from graphsparse.gtsp.command import previous_records

        folder = out / "gtsp" / "ogbg-molbace"
        records = json.loads((folder / "results.json").read_text())
        assert previous_records(folder, json.loads((folder / "run.json").read_text()),
                                 True) == records


def test_a_resumed_gtsp_run_names_every_command_and_the_protocol_its_records_hold(tmp_path):
    """gtsp.md after --resume quoted the last command alone and said "keeps [0.75] instead of
    ...", beside the keep-0.5 runs of the first command, named nowhere."""
    common = ["--datasets", "ogbg-molbace", "--seeds", "1", "--epochs", "1", "--max-graphs",
              "30", "--baselines", "random-tokens"]
    assert run("gtsp.py", *common, "--keeps", "0.5", tmp_path=tmp_path).returncode == 0
    out = tmp_path / "out"
    first = json.loads((out / "gtsp.json").read_text())["meta"]["command"]
    result = run("gtsp.py", *common, "--keeps", "0.75", "--resume", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    meta = json.loads((out / "gtsp.json").read_text())["meta"]
    assert [c["command"] for c in meta["commands"]] == [first, meta["command"]]
    text = (out / "gtsp.md").read_text()
    assert f"Records from `{first}` (" in text and f"`{meta['command']}` on " in text
    assert "keeps [0.75, 0.5] instead of [0.75, 0.5, 0.25]" in text


def test_benchmark_mistakes_found_by_a_trial_are_refused_naming_their_option(tmp_path, capsys,
                                                                             monkeypatch):
    """static_sparsifier at a density past the graph's own kept every edge and wrote the density
    asked for as if it had been reached; gtsp blamed --datasets for a --max-graphs too small."""
    static = _load_benchmark("static_sparsifier")
    startup = static.check_startup  # networkit (the bench extra) is not needed to refuse
    monkeypatch.setattr(static, "check_startup", lambda out, **kw: startup(out, **{**kw, "packages": []}))
    with pytest.raises(SystemExit) as stop:
        static.main(["--graphs", "karate", "--densities", "1.5", "2.28", "--out",
                     str(tmp_path / "out")])  # 2.28 x 34 rounds to karate's 78 edges
    assert stop.value.code == 2 and capsys.readouterr().err.strip().splitlines() == [
        "error: --densities: 2.28 keeps every edge of karate, whose own density is 2.29; give a "
        "smaller one"]
    assert not (tmp_path / "out").exists()
    result = run("gtsp.py", "--datasets", "ogbg-molbace", "--keeps", "0.5", "--seeds", "1",
                 "--epochs", "1", "--max-graphs", "3", tmp_path=tmp_path)
    assert result.returncode == 2 and result.stderr.startswith(
        "error: --max-graphs: max_graphs 3 leaves the valid split"), result.stderr


def test_every_option_of_every_benchmark_says_what_it_does(monkeypatch):
    """Most options of the benchmarks had no help, and lists did not say how to write them
    (`--keeps 0.5 0.25`: unrecognized arguments)."""
    import argparse
    import inspect

    parsers = []

    def capture(parser, *args, **kwargs):  # the parser each script builds, before it parses
        parsers.append(parser)
        raise SystemExit(0)

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", capture)
    missing = {}
    for path in sorted(BENCHMARKS.glob("*.py")):
        module = _load_benchmark(path.stem)
        if path.stem.startswith("_") or not hasattr(module, "main"):
            continue
        monkeypatch.setattr(sys, "argv", [str(path), "--help"])
        before = len(parsers)
        with pytest.raises(SystemExit):
            module.main(["--help"]) if inspect.signature(module.main).parameters else module.main()
        assert len(parsers) == before + 1, f"{path.stem} stopped before it parsed its options"
        actions = [a for a in parsers[-1]._actions if a.option_strings and a.dest != "help"]
        missing[path.stem] = [a.option_strings[0] for a in actions if not a.help]
    assert len(missing) >= 15 and not any(missing.values()), missing


def test_splat_training_has_a_quick_look_at_the_donut(tmp_path):
    """Its donut part had 32 views at 256 px and six prunes built in: no small run (a trial killed
    it after 90 s)."""
    result = run("splat_training.py", "--parts", "donut", "--donut-views", "2",
                 "--donut-held-out", "1", "--donut-resolution", "16", "--donut-scores", "pup",
                 "--rounds", "1", "--recover-steps", "1", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    donut = json.loads((tmp_path / "out" / "splat_training.json").read_text())["donut"]
    assert (donut["views"], donut["held_out"], donut["resolution"]) == (2, 1, 16)
    assert [(r["score"], r["keep_ratio"]) for r in donut["rows"]] == [("pup", 0.1)]
    assert "1 held-out view (recovery towards the unpruned renders from 2 orbit views at 16 px)" \
        in (tmp_path / "out" / "splat_training.md").read_text()


def test_queen_needs_to_write_beside_its_work_folder(tmp_path):
    """The video is rendered beside --work and moved in whole: a read-only folder above --work
    was a PermissionError traceback (as a user) once the render began."""
    work = tmp_path / "locked" / "video"
    work.mkdir(parents=True)
    (tmp_path / "locked").chmod(0o555)
    try:
        result = run("queen.py", "--work", str(work), tmp_path=tmp_path)
    finally:
        (tmp_path / "locked").chmod(0o755)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [
        f"error: --work: the folder above {work} is not writable (the video is rendered beside "
        "--work and moved in whole)"]
    assert list((tmp_path / "locked").iterdir()) == [work]


def test_teddy_compare_records_the_command_that_wrote_its_report(tmp_path):
    """teddy_compare.md named `python benchmarks/teddy_compare.py NEW RECORDED`, which writes no
    report: the --out that wrote it was left out."""
    record = '[{"method": "teddy", "level": 1, "seed": 0, "test_acc": 0.5}]'
    for name in ("new", "recorded"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "results.json").write_text(record)
    script = str(BENCHMARKS / "teddy_compare.py")
    args = [str(tmp_path / "new"), str(tmp_path / "recorded"), "--out", str(tmp_path / "report")]
    result = subprocess.run([sys.executable, script, *args], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    first = (tmp_path / "report" / "teddy_compare.md").read_text().splitlines()[0]
    assert first.startswith(f"`python {script} {' '.join(args)}` (")
    assert first.endswith("1 of 1 records identical.")


def test_teddy_compare_refuses_runs_of_other_settings_and_reads_a_results_json(tmp_path):
    """A cora/gcn run against the citeseer/gat record gave every row "differs" and exit 1; a
    results.json given for its folder was looked for as results.json/results.json."""
    record = '[{"method": "teddy", "level": 1, "seed": 0, "test_acc": 0.5}]'
    for name, settings in (("new", {"dataset": "cora", "model": "gcn", "epochs": 200}),
                           ("recorded", {"dataset": "citeseer", "model": "gcn", "epochs": 200})):
        (tmp_path / name).mkdir()
        (tmp_path / name / "results.json").write_text(record)
        (tmp_path / name / "run.json").write_text(json.dumps(settings))
    script = str(BENCHMARKS / "teddy_compare.py")
    result = subprocess.run([sys.executable, script, str(tmp_path / "new"),
                             str(tmp_path / "recorded" / "results.json")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and result.stderr.strip() == (
        f"error: {tmp_path / 'new'} and {tmp_path / 'recorded'} are runs of other settings "
        "(dataset 'cora' against 'citeseer'): compare a run with a record of the same settings")
    (tmp_path / "recorded" / "run.json").write_text(json.dumps(
        {"dataset": "cora", "model": "gcn", "epochs": 200}))
    result = subprocess.run([sys.executable, script, str(tmp_path / "new" / "results.json"),
                             str(tmp_path / "recorded" / "results.json")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "| teddy | 1 | 0 | 0.5000 | identical |" in result.stdout


def test_gtsp_calls_the_full_protocol_in_another_order_full():
    """--keeps 0.25,0.5,0.75 (the issue's keeps, ascending) was recorded as a reduced protocol."""
    import argparse

    gtsp = _load_benchmark("gtsp")
    args = argparse.Namespace(**{**gtsp.FULL, "keeps": [0.25, 0.5, 0.75],
                                 "datasets": ["ogbg-molbbbp", "ogbg-molbace"]})
    assert gtsp.differences(args) == []
    args.keeps = [0.5, 0.25]
    assert gtsp.differences(args) == ["keeps [0.5, 0.25] instead of [0.75, 0.5, 0.25]"]


def test_gtsp_says_a_keep_ratio_or_baseline_of_fewer_seeds_than_the_others():
    """Keep 0.5 on three seeds, then 0.75 and 0.25 on one with --resume: the records hold every
    keep ratio and seed of the issue's protocol, and read as the full protocol."""
    import argparse

    gtsp = _load_benchmark("gtsp")
    args = argparse.Namespace(**{**gtsp.FULL, "datasets": ["d"], "keeps": [0.75, 0.25],
                                 "seeds": 1})

    def rec(axes, keep, seed, **more):
        return {"dataset": "d", "axes": axes, "keep": keep, "seed": seed, **more}

    records = [rec("dense", 1.0, s) for s in range(3)]
    records += [rec(axes, 0.5, s) for s in range(3)
                for axes in ("tokens", "random-tokens", "magnitude")]
    records += [rec("tokens", k, 0) for k in (0.75, 0.25)]
    records += [rec("magnitude", 0.4, 0, at_flops_of={"axes": "tokens", "keep": 0.75})]
    assert gtsp.recorded_protocol(records, args) == [
        "datasets ['d'] instead of ['ogbg-molbace', 'ogbg-molbbbp']",
        "keep 0.75 with 1 of the 3 dataset seeds", "keep 0.25 with 1 of the 3 dataset seeds"]


def test_dygrass_rows_name_their_command_and_update_keeps_other_seeds(tmp_path, monkeypatch):
    """dygrass.md listed several commands with no word of which made a row, and a run with
    --seed 1 --update replaced seed 0's rows of the same graph."""
    dygrass = _load_benchmark("dygrass")

    def run_protocol(name, g, mode, args, console):
        batch = {"batch": 0, "density": 1.1, "baseline_density": 1.2, "kappa": 5.0 + args.seed,
                 "seconds": 0.01}
        return {"graph": name, "mode": mode, "max_density": None, "num_edges": 78, "baseline": "b",
                "distortion": 3.0, "batches": [batch, batch], "update_seconds_mean": 0.01,
                "rebuild_seconds_mean": 0.2, "speedup_vs_rebuild": 20.0}

    monkeypatch.setattr(dygrass, "run_protocol", run_protocol)
    startup = dygrass.check_startup  # networkit (the bench extra) is not needed here
    monkeypatch.setattr(dygrass, "check_startup", lambda out, **kw: startup(out, **{**kw, "packages": []}))
    out = tmp_path / "out"
    base = ["--graphs", "karate", "--big-points", "0", "--out", str(out)]
    assert dygrass.main(base) == 0
    assert dygrass.main([*base, "--seed", "1", "--update"]) == 0
    md = (out / "dygrass.md").read_text().splitlines()
    assert md[0].startswith("Command 1: `") and "--seed" not in md[0]
    assert md[1].startswith("Command 2: `") and "--seed 1 --update" in md[1]
    rows = [line.split(" | ") for line in md if line.startswith("| karate")]
    assert [(r[0], r[1], r[-1]) for r in rows] == [
        ("| karate", "insert", "1 |"), ("| karate (seed 1)", "insert", "2 |"),
        ("| karate", "delete", "1 |"), ("| karate (seed 1)", "delete", "2 |")]
    # a record made before runs kept their seed: the seed its command gave
    assert dygrass.run_seed({"run": {"command": "python benchmarks/dygrass.py --seed 3"}}) == 3
    assert dygrass.run_seed({"run": {"command": "python benchmarks/dygrass.py"}}) == 0


def test_splat_training_without_recovery_prunes_each_score_once(monkeypatch):
    """--recover-steps 0 ran (and recorded) each 66% prune without recovery twice."""
    import argparse

    import numpy as np

    bench = _load_benchmark("splat_training")
    fits = []

    class Pruner:
        def __init__(self, score, keep_ratio, rounds, recover_steps):
            fits.append((score, keep_ratio, recover_steps))
            self.mask_ = np.ones(3, dtype=bool)

        def fit(self, scene, cams, progress):
            return self

        def transform(self, scene):
            return scene

    for name, value in {"read_ply": lambda path: None, "fetch": lambda name: ["donut.ply"],
                        "default_cameras": lambda *a, **kw: [], "renders": lambda scene, cams: [],
                        "quality": lambda images, refs: {"psnr": 40.0}, "GaussianPruner": Pruner}.items():
        monkeypatch.setattr(bench, name, value)
    from rich.console import Console

    bench.donut(argparse.Namespace(recover_steps=0, rounds=1, donut_views=32, donut_held_out=8,
                                   donut_resolution=256, donut_scores=list(bench.DONUT_SCORES)),
                Console(quiet=True))
    assert len(fits) == len(set(fits)) == 6


def test_gtsp_reads_a_dataset_name_in_any_case(tmp_path, monkeypatch, capsys):
    """--datasets ogbg-molbace,OGBG-MOLBACE trained the dataset twice (hours), and --datasets
    OGBG-MOLBACE --resume started afresh in gtsp/OGBG-MOLBACE beside gtsp/ogbg-molbace's records."""
    import graphsparse.gtsp.data

    gtsp = _load_benchmark("gtsp")
    used = []

    class Started(Exception):
        pass

    def run_dataset(dataset, args, folder):
        used.append((dataset, folder))
        raise Started

    monkeypatch.setattr(gtsp, "check_startup", lambda out, **kw: Path(out))
    monkeypatch.setattr(graphsparse.gtsp.data, "load_molecules", lambda name, **kw: None)
    monkeypatch.setattr(gtsp, "run_dataset", run_dataset)
    with pytest.raises(SystemExit) as stop:
        gtsp.main(["--datasets", "ogbg-molbace,OGBG-MOLBACE", "--out", str(tmp_path)])
    assert stop.value.code == 2 and used == []
    assert "--datasets must name one or more different datasets" in capsys.readouterr().err
    folder = tmp_path / "gtsp" / "ogbg-molbace"
    folder.mkdir(parents=True)
    (folder / "results.json").write_text("[]")
    (folder / "run.json").write_text(json.dumps({  # as the run that wrote results.json left it
        "dataset": "ogbg-molbace", "epochs": gtsp.FULL["epochs"], "max_graphs": None,
        "batch_size": 128, "lr": 1e-3}))
    with pytest.raises(Started):
        gtsp.main(["--datasets", "OGBG-MOLBACE", "--resume", "--out", str(tmp_path)])
    assert used == [("ogbg-molbace", folder)]


def test_dygrass_update_replaces_a_graph_named_in_another_case(tmp_path, monkeypatch):
    """The records spell PGPgiantcompo, `sparsebox data list` pgpgiantcompo: --update with the
    latter kept the recorded rows beside the new ones (two rows, two panels, for one graph)."""
    dygrass = _load_benchmark("dygrass")

    def run_protocol(name, g, mode, args, console):
        batch = {"batch": 0, "density": 1.1, "baseline_density": 1.2, "kappa": 5.0,
                 "seconds": 0.01}
        return {"graph": name, "mode": mode, "max_density": None, "num_edges": 78, "baseline": "b",
                "distortion": 3.0, "batches": [batch, batch], "update_seconds_mean": 0.01,
                "rebuild_seconds_mean": 0.2, "speedup_vs_rebuild": 20.0}

    monkeypatch.setattr(dygrass, "run_protocol", run_protocol)
    monkeypatch.setattr(dygrass, "load_graph", lambda name: None)
    monkeypatch.setattr(dygrass, "check_startup", lambda out, **kw: Path(out))
    out = tmp_path / "out"
    out.mkdir()
    for graphs in (["PGPgiantcompo", "karate"], ["pgpgiantcompo", "--update"],
                   ["KARATE", "--update"]):
        assert dygrass.main(["--graphs", *graphs, "--big-points", "0", "--out", str(out)]) == 0
    runs = _load_benchmark("_common").from_json((out / "dygrass.json").read_text())["runs"]
    assert [(r["graph"], r["mode"]) for r in runs] == [
        ("PGPgiantcompo", "insert"), ("PGPgiantcompo", "delete"), ("KARATE", "insert"),
        ("KARATE", "delete")]


@pytest.mark.parametrize("content, message", [
    ("{", "cannot read the records"),
    ('[{"dataset": "ogbg-molbace", "seed": 0}]', "not the records of a `sparsebox graph teddy` "
                                                  "run (a record has no 'method')"),
    ('{"method": "teddy"}', "not the records of a `sparsebox graph teddy` run"),
])
def test_teddy_summary_names_a_results_json_it_cannot_read(tmp_path, content, message):
    """A damaged results.json, or --folder naming the runs of another command (out/benchmarks/gtsp
    holds dataset folders with a results.json too), was a traceback."""
    run_folder = tmp_path / "runs" / "cora_gcn"
    run_folder.mkdir(parents=True)
    (run_folder / "results.json").write_text(content)
    result = subprocess.run([sys.executable, str(BENCHMARKS / "teddy_summary.py"), "--folder",
                             str(tmp_path / "runs")], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {run_folder / 'results.json'}: {message}")
    assert "Traceback" not in result.stderr and not (tmp_path / "runs" / "README.md").exists()


def test_networkit_peers_are_seeded_by_the_script_s_seed():
    """networkit draws from generators of its own, which --seed had left alone: its Random and
    ForestFire columns came out differently in each process."""
    pytest.importorskip("networkit")
    dygrass = _load_benchmark("dygrass")
    from sparsebox.data import load_graph

    g = load_graph("karate")
    for kind in ("Random", "ForestFire"):
        first, again = (dygrass.networkit_sparsifier(g, 40, kind, seed=3) for _ in range(2))
        assert first.ids.tolist() == again.ids.tolist(), kind


def test_teddy_summary_refuses_out_beside_folder(tmp_path):
    """--out beside --folder was ignored without a word (--folder is <out>/teddy)."""
    result = subprocess.run([sys.executable, str(BENCHMARKS / "teddy_summary.py"), "--folder",
                             str(tmp_path / "runs"), "--out", str(tmp_path / "other")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip() == ("error: --out and --folder name the same thing (--folder is "
                                     "<out>/teddy); give one")
    assert not (tmp_path / "other").exists()


def test_teddy_summary_names_a_file_given_as_its_folder(tmp_path):
    """A file was said to hold "no TEDDY runs (folders with a results.json)"."""
    (tmp_path / "runs").write_text("mine")
    result = subprocess.run([sys.executable, str(BENCHMARKS / "teddy_summary.py"), "--folder",
                             str(tmp_path / "runs")], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip() == (f"error: --folder: {tmp_path / 'runs'} is a file, not a "
                                     "folder of TEDDY runs")
    assert (tmp_path / "runs").read_text() == "mine"


@pytest.mark.parametrize("script, argv, wanted", [
    ("splat_training", ["--parts", "lego"], ["lego"]),
    ("splat_training", ["--parts", "donut"], ["donut"]),
    ("splat_training", ["--parts", "step", "lego"], ["donut", "lego"]),
    ("gpu_timings", ["--device", "cpu", "--parts", "gtsp-step"], ["ogbg-molbace"]),
    ("gpu_timings", ["--device", "cpu", "--parts", "splat-step"], ["donut"]),
])
def test_parts_ask_only_for_the_datasets_they_read(script, argv, wanted, tmp_path):
    """--parts lego (and gpu_timings' gtsp-step) asked for the donut, which they never read:
    with only their own data at hand, they stopped on a dataset they did not need."""
    module = _load_benchmark(script)
    asked = []

    def check_startup(out, *, packages=(), datasets=(), **kwargs):
        asked.extend(datasets)
        raise SystemExit(0)  # stop before any work

    module.check_startup = check_startup
    with pytest.raises(SystemExit):
        module.main([*argv, "--out", str(tmp_path / "out")])
    assert asked == wanted


def test_splat_training_keeps_the_parts_it_skips_only_with_update(tmp_path):
    """--parts donut on a record of the step part wrote a record of the donut alone: the step's
    figures were gone without a word."""
    donut = ["--parts", "donut", "--donut-views", "2", "--donut-held-out", "1",
             "--donut-resolution", "16", "--donut-scores", "pup", "--rounds", "1",
             "--recover-steps", "1"]
    assert run("splat_training.py", "--parts", "step", "--step-repeats", "1",
               tmp_path=tmp_path).returncode == 0
    record = (tmp_path / "out" / "splat_training.json").read_text()
    refused = run("splat_training.py", *donut, tmp_path=tmp_path)
    assert refused.returncode == 2 and refused.stderr.strip().splitlines()[-1] == (
        f"error: --out: {tmp_path / 'out' / 'splat_training.json'} holds the step part, which "
        "this run does not measure and would drop: pass --update to keep it beside this "
        "run's, or choose another --out")
    assert (tmp_path / "out" / "splat_training.json").read_text() == record
    updated = run("splat_training.py", *donut, "--update", tmp_path=tmp_path)
    assert updated.returncode == 0, updated.stderr
    both = json.loads((tmp_path / "out" / "splat_training.json").read_text())
    assert both["step"] == json.loads(record)["step"] and both["donut"]["rows"]
    md = (tmp_path / "out" / "splat_training.md").read_text()
    assert "The step part is kept from `" in md and "--parts step --step-repeats 1 --out" in md
    assert "One training step on the donut" in md and "| pup | 90% |" in md


def test_dygrass_without_update_refuses_to_drop_the_other_graphs_runs(tmp_path, monkeypatch,
                                                                       capsys):
    """A run on lesmis into a folder that held karate's runs dropped them without a word."""
    dygrass = _load_benchmark("dygrass")

    def run_protocol(name, g, mode, args, console):
        batch = {"batch": 0, "density": 1.1, "baseline_density": 1.2, "kappa": 5.0,
                 "seconds": 0.01}
        return {"graph": name, "mode": mode, "max_density": args.max_density, "num_edges": 78,
                "baseline": "b", "distortion": 3.0, "batches": [batch, batch],
                "update_seconds_mean": 0.01, "rebuild_seconds_mean": 0.2,
                "speedup_vs_rebuild": 20.0}

    monkeypatch.setattr(dygrass, "run_protocol", run_protocol)
    monkeypatch.setattr(dygrass, "load_graph", lambda name: None)
    monkeypatch.setattr(dygrass, "check_startup", lambda out, **kw: Path(out))
    out = tmp_path / "out"
    out.mkdir()
    base = ["--big-points", "0", "--out", str(out)]
    assert dygrass.main(["--graphs", "karate", *base]) == 0
    assert dygrass.main(["--graphs", "KARATE", *base]) == 0  # the same runs again: replaced
    record = (out / "dygrass.json").read_text()
    capsys.readouterr()
    for other in (["--graphs", "lesmis"], ["--graphs", "karate", "--max-density", "1.3"]):
        with pytest.raises(SystemExit) as stop:
            dygrass.main([*other, *base])
        assert stop.value.code == 2
        assert capsys.readouterr().err.strip() == (
            f"error: --out: {out / 'dygrass.json'} holds runs of KARATE, which this run does not "
            "measure and would drop: pass --update to keep them beside this run's, or choose "
            "another --out")
        assert (out / "dygrass.json").read_text() == record
    assert dygrass.main(["--graphs", "lesmis", "--update", *base]) == 0
    # a record made before runs kept their command: its seed is the one the record's gave
    legacy = {"meta": {"command": "dygrass.py --graphs karate --seed 2", "date": "d"},
              "runs": [{"graph": "karate", "mode": mode, "max_density": None}
                       for mode in ("insert", "delete")]}
    (out / "dygrass.json").write_text(json.dumps(legacy))
    assert dygrass.main(["--graphs", "karate", "--seed", "2", *base]) == 0  # the same runs
    (out / "dygrass.json").write_text(json.dumps(legacy))
    with pytest.raises(SystemExit):
        dygrass.main(["--graphs", "karate", *base])  # seed 0 would drop seed 2's runs
    assert "holds runs of karate (seed 2)" in capsys.readouterr().err


@pytest.mark.parametrize("script, name", [("startup.py", "startup.md"), ("walks.py", "walks.md"),
                                          ("points.py", "points.png"), ("splats.py", "splats.json"),
                                          ("queen_gates.py", "queen_gates.md"),
                                          ("teddy_lambda.py", "teddy_lambda_cora_gcn.json")])
def test_a_folder_in_the_place_of_an_output_file_is_refused_before_the_work(tmp_path, script,
                                                                            name):
    """startup.py with a folder startup.md in --out ran, wrote startup.json, then ended in
    "IsADirectoryError: [Errno 21] Is a directory" (walks.py and points.py alike)."""
    out = tmp_path / "out"
    (out / name).mkdir(parents=True)
    result = run(script, tmp_path=tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip() == (
        f"error: --out: {out / name} is in the way of the {name} this script writes there (it is "
        "not a file): move it away or choose another --out")
    assert sorted(p.name for p in out.iterdir()) == [name]


def test_gtsp_refuses_to_drop_another_datasets_records(tmp_path):
    """A run on ogbg-molesol into a folder whose gtsp.json held 84 runs of ogbg-molbace and 84 of
    ogbg-molbbbp rewrote it with its own 8 (and gtsp.md with them), without a word."""
    out = tmp_path / "out"
    out.mkdir()
    runs = [{"dataset": d, "axes": "dense", "keep": 1.0, "seed": 0} for d in
            ("ogbg-molbace", "ogbg-molbbbp")]
    record = json.dumps({"meta": {"command": "python benchmarks/gtsp.py", "date": "2026-12-01"},
                         "runs": runs})
    (out / "gtsp.json").write_text(record)
    result = run("gtsp.py", "--datasets", "ogbg-molbace", "--seeds", "1", tmp_path=tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip() == (
        f"error: --out: {out / 'gtsp.json'} holds runs of ogbg-molbbbp, which this run does not "
        "measure and would drop: name their datasets in --datasets too, with --resume to go on "
        "with their records, or choose another --out")
    assert (out / "gtsp.json").read_text() == record and sorted(p.name for p in out.iterdir()) \
        == ["gtsp.json"]


def test_static_sparsifier_without_update_refuses_to_drop_other_rows(tmp_path, monkeypatch,
                                                                       capsys):
    """A run on airfoil1 into a folder that held power's row dropped it without a word (the
    committed static_meshes record would lose six graphs to its --help's example)."""
    static = _static_measuring(monkeypatch, {"edges": 70, "extra_components": 0, "kappa": 20.0})
    common = _load_benchmark("_common")
    out = tmp_path / "out"
    base = ["--densities", "1.1", "--out", str(out)]
    assert static.main(["--graphs", "karate", *base]) == 0
    assert static.main(["--graphs", "KARATE", *base]) == 0  # the same row again: replaced
    record = (out / "static_sparsifier.json").read_text()
    capsys.readouterr()
    for other in (["--graphs", "lesmis", *base], ["--graphs", "karate", "--densities", "1.2",
                                                  "--out", str(out)]):
        with pytest.raises(SystemExit) as stop:
            static.main(other)
        assert stop.value.code == 2
        assert capsys.readouterr().err.strip() == (
            f"error: --out: {out / 'static_sparsifier.json'} holds rows of KARATE at 1.10, which "
            "this run does not measure and would drop: pass --update to keep them beside this "
            "run's, or choose another --out")
        assert (out / "static_sparsifier.json").read_text() == record
    first = common.from_json(record)["meta"]["command"]
    assert static.main(["--graphs", "lesmis", "--densities", "1.1", "1.2", "--update", "--out",
                        str(out)]) == 0
    rows = common.from_json((out / "static_sparsifier.json").read_text())["rows"]
    assert [(r["graph"], r["density"]) for r in rows] == [("KARATE", 1.1), ("lesmis", 1.1),
                                                          ("lesmis", 1.2)]
    assert rows[0]["run"]["command"] == first and "run" not in rows[1]
    assert f"Kept from `{first}`" in (out / "static_sparsifier.md").read_text()
    # a table holds one setting: --update with another seed is refused, the record untouched
    record = (out / "static_sparsifier.json").read_text()
    with pytest.raises(SystemExit):
        static.main(["--graphs", "karate", "--densities", "1.2", "--seed", "3", "--update",
                     "--out", str(out)])
    assert "holds rows made with --refine-rounds auto and --seed 0, this run's are auto and 3" \
        in capsys.readouterr().err
    assert (out / "static_sparsifier.json").read_text() == record


def test_scaleout_without_update_refuses_to_drop_a_part_before_starting_ray(tmp_path,
                                                                           monkeypatch, capsys):
    scaleout = _load_benchmark("scaleout")
    monkeypatch.setattr(scaleout, "RayExecutor", lambda **kwargs: pytest.fail("Ray started"))
    out = tmp_path / "out"
    out.mkdir()
    record = '{"meta": {"command": "scaleout.py", "date": "d"}, "sweep": {}, "costs": {}}'
    (out / "scaleout.json").write_text(record)
    with pytest.raises(SystemExit) as stop:
        scaleout.main(["--parts", "costs", "--out", str(out)])
    assert stop.value.code == 2
    assert capsys.readouterr().err.strip().startswith(
        f"error: --out: {out / 'scaleout.json'} holds the sweep part, which this run does not "
        "measure")
    assert (out / "scaleout.json").read_text() == record
