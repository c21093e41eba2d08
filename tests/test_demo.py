import json

from sparsebox.registry import methods


def test_demo_runs_every_registered_method(tmp_path, data_dir, cli):
    result = cli("demo", "--out", tmp_path)
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert {r["graph"] for r in summary["graphs"]} >= {"fe_4elt2", "cora"}
    shown = {r["method"] for r in summary["methods"]}
    assert {e.name for e in methods()} <= shown  # built from the registry
    assert (tmp_path / "degree_distribution.png").stat().st_size > 0
    assert (tmp_path / "dygrass_stream.png").stat().st_size > 0
    assert (tmp_path / "fe_4elt2_sparsifier.mtx").exists()
    assert (tmp_path / "donut_side_by_side.png").stat().st_size > 0
    assert (tmp_path / "donut_pruned.ply").exists()
    assert (tmp_path / "teddy_cora_level20.json").exists()
    assert str(tmp_path) in result.stdout.replace("\n", "")
    assert "demo" in result.stderr  # the progress bar


def test_the_video_runner_runs_again_into_the_same_folder(tmp_path, data_dir):
    from scenesparse.demo import splat_frames_method

    entry = next(e for e in methods() if e.data == "splat-frames")
    first = splat_frames_method(entry, tmp_path)
    second = splat_frames_method(entry, tmp_path)  # refused before: the folder held a video
    assert first["result"] == second["result"]
    assert not any(tmp_path.iterdir())  # the video was an input for that run only


def test_a_method_gets_the_demo_settings_it_takes_and_a_failure_is_a_row(tmp_path, monkeypatch):
    """A method registered by another package may lack the built-ins' parameters (density,
    epochs, rounds...): it gets those it takes; one that fails is a row, not the end of the demo."""
    import sparsebox.demo as demo
    from sparsebox.registry import get_method

    teddy = get_method("teddy", item="edge")
    est = demo.create_accepting(teddy, density=1.5, epochs=3, rounds=2)  # only density applies
    assert est.get_params()["density"] == 1.5

    def broken(entry, out):
        raise ValueError("no such\n   thing")

    monkeypatch.setitem(demo.RUNNERS, "graph", "tests_broken:run")
    monkeypatch.setattr(demo, "_function", lambda target: broken)
    row = demo._method_step(teddy, tmp_path)
    assert row["failed"] and row["result"] == "failed: ValueError: no such thing"
    assert row["method"] == "teddy" and row["seconds"] >= 0
    assert "Traceback" in row["traceback"] and "raise ValueError" in row["traceback"]


def test_a_demo_with_a_failed_method_ends_with_one_error_line_and_exit_1(tmp_path, monkeypatch,
                                                                          cli):
    import sparsebox.demo as demo

    monkeypatch.setattr(demo, "run_demo", lambda out: {"methods": [
        {"method": "teddy", "failed": False}, {"method": "mine", "failed": True}]})
    result = cli("demo", "--out", tmp_path)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.stderr.splitlines() == [
        f"error: 1 method(s) failed in the demo: mine (their rows above say why; "
        f"{tmp_path / 'summary.json'} holds their tracebacks)"]
