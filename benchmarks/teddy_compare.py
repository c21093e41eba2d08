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
    return records


def _settings(folder: Path) -> str:
    """`` (new run: {...})`` from the new run's run.json, or nothing where it has none."""
    path = folder / "run.json"
    if not path.is_file():
        return ""
    try:
        settings = json.loads(path.read_text(encoding="utf-8"))
        return f" (new run: {json.dumps(settings)})"
    except (OSError, ValueError) as err:  # ValueError: JSON's and UTF-8's
        fail(f"{path}: cannot read the run's settings ({err})")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("new", type=Path, help="Folder of the new run (its results.json is read).")
    ap.add_argument("recorded", type=Path,
                    help="Folder of the recorded run (its results.json is read).")
    ap.add_argument("--out", type=folder_path,
                    help="Also write teddy_compare.md into this folder (made if missing).")
    args = ap.parse_args()
    if args.out is not None:
        args.out = output_folder(args.out)
    # every error below removes the folder made for the report (fail)
    recorded = {(r["method"], r["level"], r["seed"]): r for r in _records(args.recorded)}
    new = _records(args.new)
    settings = _settings(args.new) if args.out is not None else ""
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
