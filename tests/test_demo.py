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
