"""GTSP on ogb molecules: every axis alone, all four combined, and the baselines, in one run.

    python benchmarks/gtsp.py                              # the issue's protocol (hours here)
    python benchmarks/gtsp.py --epochs 10 --resume         # a reduced run, continued

For each dataset (default ogbg-molbace and ogbg-molbbbp, ROC-AUC) and seed: the dense GPS model;
tokens, heads, layers and weights alone at each keep ratio (default 0.75, 0.5, 0.25); the four
combined at each keep ratio; random token dropping at the same k and magnitude pruning of the
trained dense model without regrowth (fine-tuned a fifth of the epochs), at each keep ratio and
at the FLOPs of each combined run. Once a dataset's runs are done, their inference wall times
are measured again side by side in this process (the runs' own, taken beside the other seeds'
training, stay in the records as inference_seconds_beside_training). Writes, into --out
(default out/benchmarks in the repository; `--out benchmarks/results` updates the committed
record), gtsp/<dataset>/ (results.json as the records arrive, results.md, pareto.png, as
`sparsebox graph gtsp` writes them), gtsp.json (the command and every record) and gtsp.md: the
command, the protocol and what it leaves out of the issue's, the tables, and each target of the
issue with the figures that meet or miss it.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from _common import (
    add_list_option,
    add_out_option,
    check_startup,
    command_line,
    count,
    dropped_entries,
    fail,
    from_json,
    refuse_dropping,
    refuse_repeats,
    require,
    require_datasets_of,
    to_json,
)

#: The issue's protocol; a run that differs says how in gtsp.md.
FULL = {"datasets": ["ogbg-molbace", "ogbg-molbbbp"], "keeps": [0.75, 0.5, 0.25], "seeds": 3,
        "epochs": 30, "baselines": ["random-tokens", "magnitude"], "max_graphs": None}


def differences(args: argparse.Namespace) -> list[str]:
    """How this run's protocol differs from the issue's (empty: the full protocol; the lists in
    another order are the same protocol)."""
    out = []
    for key, full in FULL.items():
        value = getattr(args, key)
        if (sorted(value) != sorted(full)) if isinstance(full, list) else value != full:
            out.append(f"{key} {value} instead of {full}")
    return out


def recorded_protocol(records: list[dict], args: argparse.Namespace) -> list[str]:
    """How the protocol the ``records`` hold differs from the issue's (:func:`differences`): a
    run resumed with other keep ratios, seeds or baselines holds the earlier ones' records
    too, and a keep ratio or baseline of fewer seeds than the others is said."""
    from graphsparse.gtsp.protocol import BASELINES

    plain = [r for r in records if not r.get("at_flops_of")]  # (baselines at a run's FLOPs)
    seeds: dict[str, set] = {}  # per keep ratio, or per baseline: the (dataset, seed) it has
    for r in plain:
        if r["axes"] != "dense":
            label = r["axes"] if r["axes"] in BASELINES else f"keep {round(float(r['keep']), 6):g}"
            seeds.setdefault(label, set()).add((r["dataset"], r["seed"]))
    every = {(r["dataset"], r["seed"]) for r in records}
    held = argparse.Namespace(**{
        **vars(args),
        "keeps": sorted({round(float(r["keep"]), 6) for r in plain
                         if r["axes"] not in ("dense", *BASELINES)}, reverse=True),
        "seeds": len({r["seed"] for r in records}),
        "baselines": sorted(b for b in BASELINES if b in seeds)})
    fewer = [f"{label} with {len(have)} of the {len(every)} dataset seeds"
             for label, have in seeds.items() if have != every]
    return differences(held) + fewer


def earlier_commands(path: Path, resumed: list[str]) -> list[dict]:
    """The commands (and dates) that made the records of the gtsp.json ``path`` that a run
    resuming the datasets ``resumed`` goes on with; none where it holds none of them (or is a
    record of before commands were kept)."""
    try:
        record = from_json(path.read_text())
        if not {r["dataset"] for r in record["runs"]} & set(resumed):
            return []
        meta = record["meta"]
        return list(meta.get("commands", [{"command": meta["command"], "date": meta["date"]}]))
    except (OSError, ValueError, TypeError, KeyError):
        return []


def check_dataset_folder(dataset: str, args: argparse.Namespace, folder: Path) -> dict:
    """This run's settings for ``dataset``, after checking that ``folder`` may take them: its
    records are continued only with --resume and the same settings. ``main`` calls it for every
    dataset before any training, so a conflict in the last one does not wait for the first."""
    for part in (folder.parent, folder):
        if part.exists() and not part.is_dir():
            fail(f"{part} is a file, not a folder: choose another --out")
    path = folder / "results.json"
    if path.is_file() and not args.resume:
        fail(f"{path} exists: pass --resume to go on with it, or choose another --out")
    run = {"dataset": dataset, "epochs": args.epochs, "max_graphs": args.max_graphs,
           "batch_size": 128, "lr": 1e-3}
    if args.resume:  # the settings and records run_dataset goes on with, checked now
        import typer

        from graphsparse.gtsp.command import previous_records

        try:
            previous_records(folder, run, True)
        except typer.BadParameter as err:
            fail(f"--resume: {err.message}")
    return run


def run_dataset(dataset: str, args: argparse.Namespace, folder: Path) -> list[dict]:
    """The protocol on one dataset into ``folder`` (resumable); its records."""
    from graphsparse.gtsp.protocol import AXES, gtsp_seed_task, plan_runs, runs_to_do, spec_dicts
    from graphsparse.gtsp.report import write_gtsp_report
    from graphsparse.resume import settings_notes
    from sparsebox.outputs import json_text, write_text_atomic
    from sparsebox.parallel import LocalExecutor
    from sparsebox.progress import make_progress

    run = check_dataset_folder(dataset, args, folder)
    folder.mkdir(parents=True, exist_ok=True)
    path, run_path = folder / "results.json", folder / "run.json"
    records = from_json(path.read_text()) if path.is_file() else []
    specs = plan_runs(AXES, args.keeps, baselines=args.baselines)
    records, todo = runs_to_do(records, specs, list(range(args.seeds)))
    # the folder is as `sparsebox graph gtsp` writes it (a diverged run's NaN metric as null),
    # so that the command's --resume reads it
    write_text_atomic(run_path, json_text(run, indent=2))
    total = sum(len(v) for v in todo.values())
    print(f"{dataset}: {total} runs to do ({len(records)} recorded)", flush=True)
    start = time.perf_counter()
    # a bar of the runs on standard error, as long as standard output is a terminal too: then
    # rich prints the record lines above it; redirected, they go to their file as before
    progress = make_progress(transient=True, enabled=sys.stdout.isatty())
    bar = progress.add_task(f"gtsp {dataset}", total=total)

    def on_record(rec: dict) -> None:
        records.append(rec)
        write_text_atomic(path, json_text(records, indent=2))
        print(f"  [{len(records)}] seed {rec['seed']} {rec['axes']} keep {rec['keep']:g}: "
              f"{rec['metric_name']} {rec['metric']:.4f}, {rec['flops'] / 1e6:.2f} MFLOPs/graph, "
              f"{rec['inference_seconds']:.3f} s/1k graphs ({time.perf_counter() - start:.0f} s)",
              flush=True)
        progress.advance(bar)

    tasks = [{"dataset": dataset, "seed": seed, "specs": spec_dicts(todo[seed]),
              "done": [r for r in records if r["seed"] == seed],
              "epochs": args.epochs, "max_graphs": args.max_graphs} for seed in sorted(todo)]
    with progress:
        LocalExecutor(args.jobs, threads=1).run(gtsp_seed_task, tasks, on_record=on_record)
    retime(dataset, records, args.max_graphs)
    write_text_atomic(path, json_text(records, indent=2))
    write_gtsp_report(records, folder, title=f"GTSP on {dataset}", notes=settings_notes(run))
    return records


def retime(dataset: str, records: list[dict], max_graphs: int | None) -> None:
    """Every record's inference wall time measured again side by side in this process, once
    the training processes are done (:func:`graphsparse.gtsp.timing.retime_in_place`)."""
    from graphsparse.gtsp.timing import retime_in_place

    start = time.perf_counter()
    retime_in_place(records, dataset, max_graphs=max_graphs, progress=True)
    print(f"{dataset}: inference of {len(records)} runs re-timed side by side in "
          f"{time.perf_counter() - start:.0f} s", flush=True)


def target_lines(records: list[dict]) -> list[str]:
    """The issue's targets, one verdict each, from the records of every dataset."""
    from graphsparse.gtsp.report import FLOPS_CUT_TARGET, baseline_phrase, compare_to_dense, summarize_runs

    lines = []
    for dataset, table in summarize_runs(records).items():
        c = compare_to_dense(table)
        if c["dense"] is None:
            continue
        lines += [f"### {dataset}", ""]
        cut = {k: r for k, r in c["rows"].items() if r["flops_cut"] >= FLOPS_CUT_TARGET
               and k[0] not in ("random-tokens", "magnitude")}
        for (label, keep), r in cut.items():
            within = r["delta"] >= -1.0
            faster = r["wall_ratio"] < 1.0
            found = r.get("baselines_at_flops", {})
            above = bool(found) and all(f["margin"] > 0 for f in found.values())
            as_cheap = all(f["as_cheap"] for f in found.values())
            shown = "; ".join(baseline_phrase(b, f) for b, f in found.items())
            verdict = "met" if within and faster and above else "not met"
            lines.append(f"- {label} at keep {keep:g}: {100 * r['flops_cut']:.1f}% fewer FLOPs, "
                         f"wall time x{r['wall_ratio']:.2f}, {r['delta']:+.2f} points vs dense; "
                         f"{shown} -> **{verdict}** (within 1 point: {within}, faster: {faster}, "
                         f"above both baselines: {above}"
                         + ("" if as_cheap else "; a baseline has no run as cheap") + ")")
        if not cut:
            lines.append("- no run reached 30% fewer FLOPs -> **not met**")
        singles = {k: r for k, r in c["rows"].items() if k[0] in ("tokens", "heads", "layers",
                                                                   "weights")}
        fewer = all((r["sparse_cut"] if k[0] == "weights" else r["flops_cut"]) > 0
                    for k, r in singles.items())
        lines.append(f"- each axis alone reduces inference FLOPs (weights: sparse-kernel count): "
                     f"**{'met' if fewer and singles else 'not met'}**")
        half = c["attention_cut"].get(0.5)
        if half is not None:
            lines.append(f"- tokens at keep 0.5 cut the attention FLOPs (scores and A V) by "
                         f"{100 * half['scores']:.1f}% (the whole attention block by "
                         f"{100 * half['block']:.1f}%): "
                         f"**{'met' if half['scores'] >= 0.70 else 'not met'}**")
        lines.append("")
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    # dataset names in lower case, as the catalogue (which reads any case) spells them:
    # OGBG-MOLBACE is ogbg-molbace, its runs and its folder gtsp/ogbg-molbace
    add_list_option(ap, "--datasets", item=str.lower, default=FULL["datasets"], metavar="NAME",
                    help="ogbg-* molecule datasets, space- or comma-separated (default "
                         "ogbg-molbace ogbg-molbbbp).")
    add_list_option(ap, "--keeps", item=float, default=FULL["keeps"], metavar="KEEP",
                    help="Keep ratios in (0, 1], space- or comma-separated (default 0.75 0.5 0.25).")
    ap.add_argument("--seeds", type=count(1), default=FULL["seeds"],
                    help="Seeds of every run: 0 to N-1 (default 3).")
    ap.add_argument("--epochs", type=count(1), default=FULL["epochs"],
                    help="Training epochs of each run (default 30; magnitude fine-tunes a fifth).")
    add_list_option(ap, "--baselines", default=FULL["baselines"], metavar="NAME",
                    help="Baselines, space- or comma-separated, among random-tokens and magnitude "
                         "(default both).")
    ap.add_argument("--max-graphs", type=count(3), default=None,
                    help="About this many graphs per dataset, at least 3 (one per part of the split; "
                         "more where ROC-AUC or average precision needs both labels in each: the "
                         "error names how many; default all).")
    ap.add_argument("--jobs", type=count(1), default=1, help="Seeds side by side (one thread each).")
    ap.add_argument("--resume", action="store_true", help="Keep the recorded runs of --out.")
    add_out_option(ap, "gtsp.json, gtsp.md and gtsp/<dataset>/")
    args = ap.parse_args(argv)
    if not args.datasets or len(set(args.datasets)) != len(args.datasets):
        ap.error(f"--datasets must name one or more different datasets, got {args.datasets}")
    if not args.keeps or not all(0 < k <= 1 for k in args.keeps):
        ap.error(f"--keeps must be keep ratios in (0, 1], got {args.keeps}")
    # to 6 decimals, as `sparsebox graph gtsp --keep` does: runs are told apart by them
    refuse_repeats("--keeps", [round(k, 6) for k in args.keeps])
    refuse_repeats("--baselines", args.baselines)
    require_datasets_of(args.datasets, "--datasets", kinds=["ogbg"], what="a set of ogbg molecules")
    require("ogb")  # graphsparse.gtsp imports it: a traceback without it
    from graphsparse.gtsp.protocol import BASELINES

    unknown = [b for b in args.baselines if b not in BASELINES]
    if unknown:
        ap.error(f"--baselines must be among {', '.join(BASELINES)}, got {unknown[0]!r}")
    # gtsp.json holds the runs of this run's datasets only: another dataset's would be dropped
    refuse_dropping(args.out / "gtsp.json", dropped_entries(
        args.out / "gtsp.json", set(args.datasets), entries=lambda record: record["runs"],
        key=lambda r: r["dataset"], label=lambda r: f"runs of {r['dataset']}"),
        keep="name their datasets in --datasets too, with --resume to go on with their records")
    args.out = check_startup(args.out, packages=["ogb"], datasets=args.datasets,
                             outputs=["gtsp.json", "gtsp.md"])
    for dataset in args.datasets:
        check_dataset_folder(dataset, args, args.out / "gtsp" / dataset)
    from graphsparse.gtsp.data import load_molecules

    for dataset in args.datasets:  # loaded (or downloaded) now, not after the ones before it
        try:
            load_molecules(dataset, max_graphs=args.max_graphs)
        except (OSError, ValueError) as err:  # (too few graphs for the metric: --max-graphs)
            fail(f"{'--max-graphs' if str(err).startswith('max_graphs') else '--datasets'}: {err}")
    resumed = [d for d in args.datasets  # the datasets whose records this run goes on with
               if args.resume and (args.out / "gtsp" / d / "results.json").is_file()]
    earlier = earlier_commands(args.out / "gtsp.json", resumed)
    start = time.perf_counter()
    records = []
    for dataset in args.datasets:
        records += run_dataset(dataset, args, args.out / "gtsp" / dataset)
    seconds = time.perf_counter() - start
    meta = {"command": command_line(argv), "date": datetime.now(timezone.utc).strftime("%Y-%m-%d"),
            "machine": platform.machine()}
    meta["commands"] = [*earlier, {"command": meta["command"], "date": meta["date"]}]
    (args.out / "gtsp.json").write_text(to_json({"meta": meta, "runs": records}, indent=2))
    reduced = recorded_protocol(records, args)
    unknown = ([f"Records of {', '.join(resumed)} resumed from a run that left no gtsp.json "
                "here (stopped before its end): its command is not known."]
               if resumed and not earlier else [])
    text = [
        "# GTSP: sparse graph transformers on four axes", "",
        *[f"Records from `{c['command']}` ({c['date']}), continued by --resume below." for c in
          earlier], *unknown, *([""] if earlier or unknown else []),
        f"`{meta['command']}` on {meta['date']}, {meta['machine']} with {os.cpu_count()} cores, "
        f"one torch thread per process, {args.jobs} process(es); {seconds / 60:.0f} minutes "
        "for the runs this invocation made.", "",
        ("**Reduced protocol**: " + "; ".join(reduced) + ". The figures below are from this "
         "reduced run, not from the issue's full protocol.") if reduced else
        "The issue's full protocol.", "",
        "Model: GPS layers (PyG GINEConv with the ogb Atom/Bond encoders, attention over the "
        "selected tokens), 4 layers, hidden 64, 4 heads, 16-step random-walk encoding, mean "
        "pooling, AdamW 1e-3 with a cosine decay, batch 128; best-validation checkpoint (after "
        "the masks freeze at 80% of training for the heads, layers and weights axes); metric "
        "on the scaffold test split by ogb's Evaluator. FLOPs per graph (mean over the test "
        "split) from the analytic count, on dense kernels and on sparse kernels; wall time: "
        "inference per 1,000 test graphs (size-sorted batches of 128, one thread), measured "
        "again after the training, side by side in one process: every run's exported "
        "architecture (its tokens, heads and skipped blocks; dense kernels, so the weights' "
        "values do not matter), 5 interleaved rounds, the fastest kept. Baselines: random "
        "tokens and magnitude pruning at each keep ratio, and again at the FLOPs of each "
        "combined run (random tokens: the largest keep ratio on a 0.01 grid of no more "
        "dense-kernel FLOPs; magnitude: the largest weight keep ratio of no more sparse-kernel "
        "FLOPs); a comparison \"at its fewest FLOPs, more\" means the baseline has no run as "
        "cheap as the combined one.", "",
        "## Targets", "", *target_lines(records),
        "## Tables", "",
        *[f"- `{d}`: [gtsp/{d}/results.md](gtsp/{d}/results.md), "
          f"![pareto](gtsp/{d}/pareto.png)" for d in args.datasets],
    ]
    for dataset in args.datasets:
        body = (args.out / "gtsp" / dataset / "results.md").read_text().splitlines()
        text += ["", *[line.replace("## ", "### ", 1) if line.startswith("## ") else line
                       for line in body[1:]]]
    (args.out / "gtsp.md").write_text("\n".join(text) + "\n")
    print("\n".join(text))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
