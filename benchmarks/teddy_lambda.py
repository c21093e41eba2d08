"""Choose TEDDY's distillation weight lambda by validation accuracy, never by test accuracy.

    python benchmarks/teddy_lambda.py --dataset cora --model gcn --lambdas 0.1,1,10 \\
        --levels 5,10,15,20 --seeds 1

trains the dense teacher and TEDDY's students at the given levels for every lambda (the loss is
CE + lambda KL(teacher || student)) and writes teddy_lambda_<dataset>_<model>.json (the command
and every record) and .md into --out (default out/benchmarks in the repository; `--out
benchmarks/results` updates the committed record): mean validation and test accuracy per lambda
over the levels and seeds. The chosen lambda is the one of highest mean validation accuracy; the
test column is printed for the record only. The full protocol then runs with it:
    sparsebox graph teddy --dataset cora --model gcn --distill-lambda LAMBDA ...
"""

from __future__ import annotations

import argparse
import math
import platform
import sys
import time

import numpy as np
import torch
from _common import (
    add_list_option,
    add_out_option,
    check_levels,
    check_startup,
    command_line,
    count,
    fail,
    refuse_repeats,
    require,
    to_json,
)

from graphsparse.datasets import load_node_dataset
from graphsparse.gnn.models import MODELS
from graphsparse.levels import run_levels
from sparsebox.progress import make_progress


def sweep(data, model: str, lambdas: list[float], levels: list[int], seeds: int,
          epochs: int) -> list[dict]:
    """TEDDY's records (with ``distill_lambda``) for every lambda on the node dataset ``data``;
    the dense teacher is the same for every lambda, since it is trained from the same seed before
    any student. A bar on standard error counts the records (one per lambda, level and seed)
    while standard output is a terminal too (rich then prints the JSON lines above it)."""
    records = []
    with make_progress(transient=True, enabled=sys.stdout.isatty()) as progress:
        bar = progress.add_task("teddy lambdas", total=len(lambdas) * len(levels) * seeds)
        for lam in lambdas:
            for rec in run_levels(data, model, levels, list(range(seeds)), methods=("teddy",),
                                  epochs=epochs, distill_lambda=lam,
                                  progress=lambda _: progress.advance(bar)):
                records.append({**rec, "distill_lambda": lam})
                print(to_json(records[-1]), flush=True)
    return records


def table(records: list[dict]) -> tuple[list[str], float]:
    """Markdown rows (mean val and test accuracy per lambda) and the lambda of best validation."""
    rows = ["| lambda | runs | mean val acc | mean test acc |", "|---|---|---|---|"]
    best, best_val = None, -1.0
    for lam in sorted({r["distill_lambda"] for r in records}):
        mine = [r for r in records if r["distill_lambda"] == lam]
        val = float(np.mean([r["val_acc"] for r in mine]))
        test = float(np.mean([r["test_acc"] for r in mine]))
        rows.append(f"| {lam:g} | {len(mine)} | {val:.4f} | {test:.4f} |")
        if val > best_val:
            best, best_val = lam, val
    assert best is not None
    return rows, best


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--dataset", default="cora",
                    help="node dataset: cora, citeseer, pubmed or ogbn-arxiv (default cora)")
    ap.add_argument("--model", default="gcn", choices=MODELS, help="GNN to train (default gcn)")
    add_list_option(ap, "--lambdas", item=float, default=[0.1, 1.0, 10.0], metavar="LAMBDA",
                    help="distillation weights >= 0 to try, space- or comma-separated (default "
                         "0.1 1 10)")
    add_list_option(ap, "--levels", item=count(1), default=[5, 10, 15, 20], metavar="LEVEL",
                    help="TEDDY levels >= 1, space- or comma-separated (keep ratios 0.95^i edges, "
                         "0.9^i weights; default 5 10 15 20)")
    ap.add_argument("--seeds", type=count(1), default=1, help="seeds 0 to N-1 (default 1)")
    ap.add_argument("--epochs", type=count(1), default=200,
                    help="training epochs of the teacher and of each student (default 200)")
    add_out_option(ap, "teddy_lambda_<dataset>_<model>.json and .md")
    args = ap.parse_args(argv)
    args.dataset = args.dataset.lower()  # CORA is cora, and its records' file names say so
    if not args.lambdas or not all(0 <= lam < math.inf for lam in args.lambdas):  # nan too
        ap.error(f"--lambdas must be finite non-negative numbers, got {args.lambdas}")
    refuse_repeats("--lambdas", args.lambdas)
    refuse_repeats("--levels", args.levels)
    if not args.levels or min(args.levels) < 1:
        ap.error(f"--levels must be levels >= 1, got {args.levels}")
    name = f"teddy_lambda_{args.dataset}_{args.model}"
    args.out = check_startup(args.out, outputs=[f"{name}.json", f"{name}.md"])
    if args.dataset.lower().startswith("ogbn-"):
        require("ogb", f" for {args.dataset}")
    try:
        data = load_node_dataset(args.dataset)
    except (OSError, ValueError) as err:
        fail(f"--dataset: {err}")
    check_levels(data, args.model, args.levels)
    torch.set_num_threads(1)
    records = sweep(data, args.model, args.lambdas, args.levels, args.seeds, args.epochs)
    rows, best = table(records)
    stem = args.out / name
    meta = {"command": command_line(argv), "date": time.strftime("%Y-%m-%d"),
            "machine": platform.machine()}
    stem.with_suffix(".json").write_text(to_json({"meta": meta, "runs": records}, indent=2))
    text = [f"# TEDDY's distillation weight on {args.dataset} / {args.model}", "",
            f"`{meta['command']}` (levels {args.levels}, {args.seeds} seed(s), {args.epochs} epochs). "
            "Chosen by validation accuracy; the test column is for the record.", "", *rows, "",
            f"Highest mean validation accuracy: lambda = {best:g}."]
    stem.with_suffix(".md").write_text("\n".join(text) + "\n")
    print("\n".join(text))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
