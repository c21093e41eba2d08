"""Does a new TEDDY level run reproduce a recorded one? Record by record, bit for bit.

    sparsebox graph teddy --dataset cora --model gcn --distill-lambda 10 --levels 2 --seeds 1 \\
        --out out/teddy_check
    python benchmarks/teddy_compare.py out/teddy_check benchmarks/results/teddy/cora_gcn

Every record of the new run (method, level, seed) is looked up in the recorded ``results.json``;
``test_acc``, ``val_acc``, ``edge_keep`` and ``weight_keep`` must be equal (training is seeded, so
on the same machine and thread count they are identical). Prints one line per record and exits 1
if any differs or is missing, 2 when the new run holds no record (or a file or ``--out`` is
unusable). With ``--out DIR`` it also writes ``DIR/teddy_compare.md``.
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime, timezone
from pathlib import Path

from _common import command_line, fail, folder_path, output_folder

from graphsparse.resume import is_number

FIELDS = ("test_acc", "val_acc", "edge_keep", "weight_keep")
KEYS = ("method", "level", "seed", "test_acc")  # what every record has (older ones lack val_acc)


def _records(folder: Path) -> list[dict]:
    path = folder / "results.json"
    try:
        records = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:  # ValueError: JSON's and UTF-8's
        fail(f"{path}: cannot read the records ({err})")
    if not isinstance(records, list):
        fail(f"{path}: not a list of TEDDY records")
    for i, record in enumerate(records, start=1):
        missing = [k for k in KEYS if not isinstance(record, dict) or k not in record]
        if missing:
            fail(f"{path}: record {i} has no {', '.join(missing)}")
        if not is_number(record["test_acc"]):  # a traceback in the table's format
            fail(f"{path}: record {i} has a test_acc that is no number: {record['test_acc']!r}")
    return records


def _run_folder(text: str) -> Path:
    """An argparse type: a run's folder, or its ``results.json`` (read as the folder)."""
    path = Path(text)
    return path.parent if path.name == "results.json" else path


def _settings(folder: Path) -> dict | None:
    """The run's settings (its run.json: dataset, model, epochs, distill_lambda), or None where
    it has none."""
    path = folder / "run.json"
    if not path.is_file():
        return None
    try:
        settings = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:  # ValueError: JSON's and UTF-8's
        fail(f"{path}: cannot read the run's settings ({err})")
    if not isinstance(settings, dict):
        fail(f"{path}: not the settings of a `sparsebox graph teddy` run")
    return settings


def _check_same_settings(new: dict | None, recorded: dict | None, new_run: Path,
                         recorded_run: Path) -> None:
    """Refuse runs whose settings differ (another dataset or model cannot give the same
    records: every one would read as differing)."""
    if new is None or recorded is None:
        return
    differ = [f"{k} {new[k]!r} against {recorded[k]!r}" for k in new
              if k in recorded and new[k] != recorded[k]]
    if differ:
        fail(f"{new_run} and {recorded_run} are runs of other settings ({', '.join(differ)}): "
             "compare a run with a record of the same settings")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("new", type=_run_folder,
                    help="Folder of the new run (its results.json is read), or that file.")
    ap.add_argument("recorded", type=_run_folder,
                    help="Folder of the recorded run (its results.json is read), or that file.")
    ap.add_argument("--out", type=folder_path,
                    help="Also write teddy_compare.md into this folder (made if missing).")
    args = ap.parse_args()
    if args.out is not None:
        args.out = output_folder(args.out)
    # every error below removes the folder made for the report (fail)
    recorded = {(r["method"], r["level"], r["seed"]): r for r in _records(args.recorded)}
    new = _records(args.new)
    new_settings = _settings(args.new)
    _check_same_settings(new_settings, _settings(args.recorded), args.new, args.recorded)
    settings = "" if new_settings is None else f" (new run: {json.dumps(new_settings)})"
    if not new:  # a comparison of nothing
        fail(f"{args.new / 'results.json'}: no records to compare")
    lines, bad = [], 0
    for r in new:
        key = (r["method"], r["level"], r["seed"])
        old = recorded.get(key)
        if old is None:
            verdict = "missing in the recorded run"
        else:
            differs = [f for f in FIELDS if r.get(f) != old.get(f)]
            verdict = "identical" if not differs else "differs in " + ", ".join(differs)
        bad += verdict != "identical"
        lines.append(f"| {key[0]} | {key[1]} | {key[2]} | {r['test_acc']:.4f} | {verdict} |")
    table = ["| method | level | seed | test acc | against the record |", "|---|---|---|---|---|",
             *lines]
    print("\n".join(table))
    if args.out is not None:
        when = datetime.now(timezone.utc).strftime("%Y-%m-%d")
        (args.out / "teddy_compare.md").write_text(
            f"`{command_line(None)}` ({when}): "
            f"{len(lines) - bad} of {len(lines)} records identical{settings}.\n\n"
            + "\n".join(table) + "\n")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
