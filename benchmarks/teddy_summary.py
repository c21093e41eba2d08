"""One table over every `sparsebox graph teddy` run in <out>/teddy/<dataset>_<model>/.

    python benchmarks/teddy_summary.py                         # out/benchmarks/teddy/README.md
    python benchmarks/teddy_summary.py --out benchmarks/results  # the committed runs and table

reads the run folders under <out>/teddy (--out: default out/benchmarks in the repository, as for
every benchmark; --folder names the folder of run folders directly) and writes README.md there.
Each run folder is made by `make bench-teddy` (all six, under $(BENCH_OUT)/teddy), or one at a
time:
    sparsebox graph teddy --dataset cora --model gcn --distill-lambda 10 --levels 20 \\
        --seeds 3 --jobs 2 --out out/benchmarks/teddy/cora_gcn
and holds its own results.md (every level) and accuracy.png. A run stopped early keeps the
records it finished (the table says how many seeds each level has), and the same command with
--resume runs the seeds it lacks.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from _common import DEFAULT_OUT, command_line, fail, folder_path, output_folder

from graphsparse.teddy_report import compare_teddy, summarize_levels


def _acc(summary: dict, method: str, level: int) -> str:
    v = summary.get(method, {}).get(level)
    return "-" if v is None else f"{v['mean']:.3f} +- {v['std']:.3f} ({v['seeds']})"


def run_folders(folder: Path) -> list[Path]:
    """The run folders (those with a results.json) in ``folder``, by name."""
    return sorted(p for p in folder.iterdir() if (p / "results.json").is_file())


def levels_of(run: Path) -> dict:
    """The levels of the run folder ``run`` (summarize_levels); a results.json that is not a
    level run's records (another command's, a damaged copy) is named with an ``error:`` line."""
    path = run / "results.json"
    try:
        records = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        fail(f"{path}: cannot read the records ({err})")
    try:
        if not isinstance(records, list):
            raise TypeError
        return summarize_levels(records)
    except (KeyError, TypeError) as err:
        missing = f" (a record has no {err})" if isinstance(err, KeyError) else ""
        fail(f"{path}: not the records of a `sparsebox graph teddy` run{missing}")


def summary_rows(folder: Path) -> list[str]:
    from graphsparse.gnn import DISTILL_LAMBDA  # imports torch: not for --help

    rows = ["| run | TEDDY lambda | dense | TEDDY L10 | random L10 | UGS L10 | TEDDY L20 "
            "| random L20 | UGS L20 | largest TEDDY drop below dense (points) "
            "| levels TEDDY not above random | TEDDY / UGS wall time "
            "| TEDDY / UGS time to one ticket |", "|" + "---|" * 13]
    for run in run_folders(folder):
        s = levels_of(run)
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
    ap.add_argument("--out", type=folder_path, default=None,
                    help=f"benchmark folder whose teddy/ holds the runs (default: {DEFAULT_OUT}); "
                         "--out benchmarks/results rewrites the committed table")
    ap.add_argument("--folder", type=folder_path, default=None,
                    help="the folder of run folders itself, read and written (default: <out>/teddy)")
    args = ap.parse_args(argv)
    if args.folder is not None and args.out is not None:  # (--out was ignored)
        fail("--out and --folder name the same thing (--folder is <out>/teddy); give one")
    folder = args.folder if args.folder is not None else (args.out or DEFAULT_OUT) / "teddy"
    option = "--folder" if args.folder is not None else "--out"
    if folder.exists() and not folder.is_dir():
        fail(f"{option}: {folder} is a file, not a folder of TEDDY runs")
    if not folder.is_dir() or not run_folders(folder):
        fail(f"{option}: no TEDDY runs (folders with a results.json) in {folder}; make them with "
             "`make bench-teddy` or `sparsebox graph teddy --out ...`, or summarise the committed "
             "ones with --out benchmarks/results")
    output_folder(folder, option)
    text = ["# TEDDY against random pruning and UGS", "",
            f"Written by `{command_line(argv)}` from the `results.json` of each run "
            "folder (commands in the script's docstring). Test accuracy mean +- std over seeds "
            "(seed count in brackets); level i keeps 0.95^i of the edges and 0.9^i of the "
            "weights.", "", *summary_rows(folder)]
    (folder / "README.md").write_text("\n".join(text) + "\n")
    print("\n".join(text))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
