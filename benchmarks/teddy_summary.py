"""One table over every `sparsebox graph teddy` run in benchmarks/results/teddy/<dataset>_<model>/.

    python benchmarks/teddy_summary.py    # writes benchmarks/results/teddy/README.md

Each run folder is made by `make bench-teddy` (all six), or one at a time:
    sparsebox graph teddy --dataset cora --model gcn --distill-lambda 10 --levels 20 \\
        --seeds 3 --jobs 2 --out benchmarks/results/teddy/cora_gcn
and holds its own results.md (every level) and accuracy.png. A run stopped early keeps the
records it finished (the table says how many seeds each level has), and the same command with
--resume runs the seeds it lacks.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from graphsparse.gnn import DISTILL_LAMBDA
from graphsparse.teddy_report import compare_teddy, summarize_levels


def _acc(summary: dict, method: str, level: int) -> str:
    v = summary.get(method, {}).get(level)
    return "-" if v is None else f"{v['mean']:.3f} +- {v['std']:.3f} ({v['seeds']})"


def summary_rows(folder: Path) -> list[str]:
    rows = ["| run | TEDDY lambda | dense | TEDDY L10 | random L10 | UGS L10 | TEDDY L20 "
            "| random L20 | UGS L20 | largest TEDDY drop below dense (points) "
            "| levels TEDDY not above random | TEDDY / UGS wall time "
            "| TEDDY / UGS time to one ticket |", "|" + "---|" * 13]
    for run in sorted(p for p in folder.iterdir() if (p / "results.json").is_file()):
        s = summarize_levels(json.loads((run / "results.json").read_text()))
        c = compare_teddy(s)
        drop = "-" if c["drop"] is None else f"{c['drop']:.1f}"
        behind = "-" if c["behind_random"] is None else c["behind_random"]
        ratio = ("-" if c["wall_ratio"] is None
                 else f"{c['wall_ratio']:.2f} ({len(c['wall_levels'])} levels)")
        ticket = ("-" if c["ticket_ratio"] is None
                  else f"{c['ticket_ratio']:.3f} (level {c['ticket_level']})")
        settings = run / "run.json"
        # Runs made before --distill-lambda existed used the default.
        lam = (json.loads(settings.read_text()) if settings.is_file() else {}).get(
            "distill_lambda", DISTILL_LAMBDA)
        rows.append(f"| {run.name} | {lam:g} | {_acc(s, 'dense', 0)} | {_acc(s, 'teddy', 10)} | "
                    f"{_acc(s, 'random', 10)} | {_acc(s, 'ugs', 10)} | {_acc(s, 'teddy', 20)} | "
                    f"{_acc(s, 'random', 20)} | {_acc(s, 'ugs', 20)} | {drop} | {behind} | "
                    f"{ratio} | {ticket} |")
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--folder", type=Path, default=Path(__file__).parent / "results" / "teddy")
    args = ap.parse_args(argv)
    text = ["# TEDDY against random pruning and UGS", "",
            "Written by `python benchmarks/teddy_summary.py` from the `results.json` of each run "
            "folder (commands in the script's docstring). Test accuracy mean +- std over seeds "
            "(seed count in brackets); level i keeps 0.95^i of the edges and 0.9^i of the "
            "weights.", "", *summary_rows(args.folder)]
    (args.folder / "README.md").write_text("\n".join(text) + "\n")
    print("\n".join(text))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
