"""`graph teddy-report` and `graph teddy --resume` refuse records no run could have written."""

from __future__ import annotations

import json

import pytest

GOOD = {"method": "teddy", "level": 1, "edge_keep": 0.95, "weight_keep": 0.9, "seed": 0,
        "test_acc": 0.8, "val_acc": 0.78, "seconds": 1.5}
DENSE = {**GOOD, "method": "dense", "level": 0, "edge_keep": 1.0, "weight_keep": 1.0}


def results_folder(tmp_path, records: list[dict]):
    folder = tmp_path / "teddy"
    folder.mkdir()
    (folder / "results.json").write_text(json.dumps(records))
    return folder


@pytest.mark.parametrize("key, value, need", [
    ("test_acc", 2.5, "must be in [0, 1]"),
    ("test_acc", -0.1, "must be in [0, 1]"),
    ("val_acc", 1.5, "must be a number in [0, 1]"),
    ("edge_keep", 7, "must be in [0, 1]"),
    ("weight_keep", -1, "must be in [0, 1]"),
    ("seconds", -1, "must be >= 0"),
    ("level", -3, "must be an integer >= 0"),
    ("seed", -1, "must be an integer >= 0"),
    ("method", "foo", "must be one of dense, teddy, random, ugs"),
])
def test_teddy_report_refuses_impossible_values(cli, tmp_path, key, value, need):
    folder = results_folder(tmp_path, [DENSE, {**GOOD, key: value}])
    before = (folder / "results.json").read_bytes()
    line = cli("graph", "teddy-report", folder).error_line()
    assert f"{folder / 'results.json'}: record 2: {key} {need}, got {json.dumps(value)}" in line
    assert sorted(p.name for p in folder.iterdir()) == ["results.json"]
    assert (folder / "results.json").read_bytes() == before


def test_teddy_report_names_the_record_with_a_nan(cli, tmp_path):
    folder = results_folder(tmp_path, [DENSE, GOOD])
    (folder / "results.json").write_text(json.dumps([DENSE, {**GOOD, "test_acc": float("nan")}]))
    line = cli("graph", "teddy-report", folder).error_line()
    assert "TEDDY records" in line and "record 2: test_acc is NaN" in line
    assert sorted(p.name for p in folder.iterdir()) == ["results.json"]


@pytest.mark.parametrize("records, need", [
    ([{**DENSE, "level": 2}, GOOD], "record 1: dense at level 2"),
    ([DENSE, {**GOOD, "level": 0}], "record 2: teddy at level 0"),
])
def test_teddy_report_refuses_a_level_that_does_not_fit_its_method(cli, tmp_path, records, need):
    """The report reads the dense model at level 0: a dense record at level 2 gave "error: 0"."""
    folder = results_folder(tmp_path, records)
    line = cli("graph", "teddy-report", folder).error_line()
    assert f"{folder / 'results.json'}: {need}; the dense model is level 0" in line
    assert sorted(p.name for p in folder.iterdir()) == ["results.json"]


def test_teddy_report_refuses_a_run_recorded_twice(cli, tmp_path):
    folder = results_folder(tmp_path, [DENSE, GOOD, {**GOOD, "seed": 1}, {**GOOD, "test_acc": 0.7}])
    line = cli("graph", "teddy-report", folder).error_line()
    assert (f"{folder / 'results.json'}: records 2 and 4 are both method teddy, level 1, seed 0"
            in line)
    assert sorted(p.name for p in folder.iterdir()) == ["results.json"]


def test_teddy_report_of_good_records_counts_each_seed_once(cli, tmp_path):
    folder = results_folder(tmp_path, [DENSE, GOOD, {**GOOD, "seed": 1, "test_acc": 0.7}])
    result = cli("graph", "teddy-report", folder)
    assert result.exit_code == 0, result.output
    assert "| teddy | 1 | 0.950 | 0.900 | 0.750 +- 0.050 | 2 |" in (folder / "results.md").read_text()


def test_teddy_resume_refuses_impossible_records_before_any_work(cli, tmp_path):
    folder = results_folder(tmp_path, [DENSE, {**GOOD, "seconds": -1}])
    (folder / "run.json").write_text(json.dumps({"dataset": "cora", "model": "gcn", "epochs": 1,
                                                 "distill_lambda": 0.1}))
    line = cli("graph", "teddy", "--resume", "--out", folder, "--levels", "1",
               "--seeds", "1", "--epochs", "1").error_line()
    assert f"{folder / 'results.json'}: record 2: seconds must be >= 0, got -1" in line
    assert sorted(p.name for p in folder.iterdir()) == ["results.json", "run.json"]


def test_a_report_stopped_while_writing_leaves_the_earlier_one(tmp_path, monkeypatch):
    from pathlib import Path

    from graphsparse.teddy_report import write_teddy_report

    folder = tmp_path / "teddy"
    folder.mkdir()
    write_teddy_report([DENSE, GOOD], folder, title="first")
    before = {p.name: p.read_bytes() for p in folder.iterdir()}

    def interrupted(self, *args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(Path, "write_text", interrupted)  # stopped once the plot is written
    with pytest.raises(KeyboardInterrupt):
        write_teddy_report([DENSE, {**GOOD, "test_acc": 0.5}], folder, title="second")
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


def test_teddy_report_takes_its_title_from_the_run(cli, tmp_path):
    """Without --title, the report is titled as `graph teddy` titled it (dataset / model from
    run.json), not after the folder, and says the run's other settings (it left out its
    epochs); a folder without a readable run.json gives its name."""
    folder = results_folder(tmp_path, [DENSE, GOOD])
    assert cli("graph", "teddy-report", folder).exit_code == 0
    lines = (folder / "results.md").read_text().splitlines()
    assert "teddy" in lines[0] and not any(line.startswith("Run with") for line in lines)
    # a run.json of the title's settings alone gives no note ("Run with  (run.json).")
    (folder / "run.json").write_text(json.dumps({"dataset": "cora", "model": "gcn"}))
    assert cli("graph", "teddy-report", folder).exit_code == 0
    lines = (folder / "results.md").read_text().splitlines()
    assert lines[0] == "# cora / gcn" and lines[2].startswith("| method |"), lines[:3]
    (folder / "run.json").write_text(json.dumps({"dataset": "cora", "model": "gcn", "epochs": 3,
                                                 "distill_lambda": 0.1}))
    assert cli("graph", "teddy-report", folder).exit_code == 0
    lines = (folder / "results.md").read_text().splitlines()
    assert "cora / gcn" in lines[0]
    assert lines[1:4] == ["", "Run with --epochs 3, --distill-lambda 0.1 (run.json).", ""]
    assert cli("graph", "teddy-report", folder, "--title", "mine").exit_code == 0
    assert (folder / "results.md").read_text().splitlines()[:3] == [
        "# mine", "", "Run with --epochs 3, --distill-lambda 0.1 (run.json)."]


def test_teddy_report_of_records_that_took_no_time_gives_no_ratio(cli, tmp_path):
    """Records of 0 seconds pass the checks ("must be >= 0"), and the ratios to UGS's time
    ended in an internal ZeroDivisionError."""
    ugs = {**GOOD, "method": "ugs"}
    folder = results_folder(tmp_path, [{**r, "seconds": 0} for r in (DENSE, GOOD, ugs)])
    result = cli("graph", "teddy-report", folder)
    assert result.exit_code == 0, result.output
    text = (folder / "results.md").read_text()
    assert "| ugs | 1 | 0.0 |" in text and "TEDDY / UGS wall time" not in text


def test_the_report_takes_a_string_and_makes_a_missing_folder(tmp_path):
    """A string failed with "unsupported operand type(s) for /", and a missing folder with a
    FileNotFoundError naming a temporary file the caller never heard of."""
    from graphsparse.teddy_report import write_teddy_report

    write_teddy_report([DENSE, GOOD], str(tmp_path / "a" / "b"), title="cora / gcn")
    assert sorted(p.name for p in (tmp_path / "a" / "b").iterdir()) == ["accuracy.png", "results.md"]
    assert (tmp_path / "a" / "b" / "results.md").read_text().startswith("# cora / gcn")


def test_the_report_counts_no_dense_teacher_where_none_was_run(cli, tmp_path):
    """Without dense records the wall-time line still said "(x counting the dense teacher TEDDY
    distils from)", the same ratio again, as if the teacher had been timed; then it said nothing
    of the teacher, which TEDDY trains all the same, as if the ratio held its time."""
    ugs = {**GOOD, "method": "ugs", "seconds": 3.0}
    folder = results_folder(tmp_path, [GOOD, ugs])
    assert cli("graph", "teddy-report", folder).exit_code == 0
    text = (folder / "results.md").read_text()
    assert ("TEDDY / UGS wall time: 0.50 (not counting the dense teacher TEDDY distils from, "
            "which is not timed in runs without dense among the methods)." in text)
    assert text.count("teacher") == 1  # no ratio with a teacher's time
    (tmp_path / "with").mkdir()
    folder = results_folder(tmp_path / "with", [{**DENSE, "seconds": 1.5}, GOOD, ugs])
    assert cli("graph", "teddy-report", folder).exit_code == 0
    assert ("TEDDY / UGS wall time: 0.50 (1.00 counting the dense teacher TEDDY distils from)."
            in (folder / "results.md").read_text())


@pytest.mark.parametrize("name", ["results.md", "accuracy.png"])
def test_teddy_report_refuses_an_output_that_is_a_folder(cli, tmp_path, name):
    """A folder named results.md (or accuracy.png) gave "error: .../.results.partial-123.md: Is a
    directory", left the hidden temporary files behind, and the other file of the pair replaced."""
    folder = results_folder(tmp_path, [DENSE, GOOD])
    (folder / name).mkdir()
    other = ({"results.md", "accuracy.png"} - {name}).pop()
    (folder / other).write_text("earlier")
    line = cli("graph", "teddy-report", folder).error_line()
    assert f"{folder / name} is a folder, where an output file of that name goes" in line
    assert sorted(p.name for p in folder.iterdir()) == sorted(["results.json", name, other])
    assert (folder / other).read_text() == "earlier"


def test_teddy_report_reads_a_json_with_a_byte_order_mark_and_names_a_folder(cli, tmp_path):
    """An editor's UTF-8 byte-order mark made results.json "not JSON"; a folder named results.json
    was said not to exist."""
    folder = results_folder(tmp_path, [DENSE, GOOD])
    text = (folder / "results.json").read_text()
    (folder / "results.json").write_bytes(b"\xef\xbb\xbf" + text.encode())
    assert cli("graph", "teddy-report", folder).exit_code == 0
    assert (folder / "results.md").is_file()
    (tmp_path / "other" / "results.json").mkdir(parents=True)
    line = cli("graph", "teddy-report", tmp_path / "other").error_line()
    assert "results.json is a folder, not the records of `graph teddy`" in line
