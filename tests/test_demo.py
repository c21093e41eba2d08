import json

from typer.testing import CliRunner

from sparsebox.cli import app


def test_demo_writes_its_table_and_plots(tmp_path, data_dir):
    result = CliRunner().invoke(app, ["demo", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert {r["graph"] for r in summary["graphs"]} >= {"fe_4elt2", "cora"}
    assert (tmp_path / "degree_distribution.png").stat().st_size > 0
    assert (tmp_path / "dygrass_stream.png").stat().st_size > 0
    assert (tmp_path / "fe_4elt2_sparsifier.mtx").exists()
    assert any(m["method"] == "dyGRASS stream" for m in summary["methods"])
    assert (tmp_path / "donut_side_by_side.png").stat().st_size > 0
    assert (tmp_path / "donut_pruned.ply").exists()
    assert (tmp_path / "teddy_cora_level20.json").exists()
    assert str(tmp_path) in result.output.replace("\n", "")
