import json

from typer.testing import CliRunner

from sparsebox.cli import app

runner = CliRunner()


def test_help_lists_the_groups():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for group in ("data", "graph", "scene", "stream"):
        assert group in result.output


def test_data_list_json_marks_present_files(data_dir):
    result = runner.invoke(app, ["data", "list", "--json"])
    assert result.exit_code == 0, result.output
    rows = {r["name"]: r for r in json.loads(result.output)["datasets"]}
    assert rows["wave"]["present"] and rows["cora"]["present"]
    assert not rows["ogbn-arxiv"]["present"]


def test_graph_info_json(data_dir):
    result = runner.invoke(app, ["graph", "info", "fe_4elt2", "--json"])
    assert result.exit_code == 0, result.output
    info = json.loads(result.output)
    assert info["num_nodes"] == 11143 and info["num_edges"] == 32818
    assert info["components"] == 1


def test_graph_info_bad_name_is_an_error():
    result = runner.invoke(app, ["graph", "info", "nope"])
    assert result.exit_code != 0
    assert "neither a file nor a dataset" in str(result.exception)
