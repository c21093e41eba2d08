"""HollowNeRF against plain hash grids on the NeRF-synthetic lego subset, in one run.

Same photos, resolution and steps for every model:

- the unpruned hash grid (table T, no saliency grid);
- the same grid pruned by the same scores (the light each entry carries, saliency 1);
- HollowNeRF at each saliency budget (trained under ``mean(sigmoid(G)) <= C``, then pruned:
  the fewest entries carrying 99% of the salient light of the training rays are kept and the
  table compacted);
- a plain hash grid whose smaller table gives it the parameter count of the pruned HollowNeRF at
  the first budget (the equal-parameter baseline).

The first budget's HollowNeRF and its equal-parameter table are trained with ``--seeds`` seeds
(each seed's table matched to that seed's pruned HollowNeRF) and compared seed by seed. The
report ends with the issue's targets for the first budget over those seeds: at most a third of
the unpruned grid's parameters, PSNR within 0.5 dB of it (trained with ``--seed`` only) and above
the equal-parameter table. Models train side by side in ``--jobs`` processes of one torch thread
each, so their training seconds (scoring included) are only roughly comparable. It also gives
the share of the occupancy grid's cells the plain grid left occupied: a budget C below it
cannot keep every occupied cell salient.

PSNR / SSIM on the subset's 10 held-out views (held out from the source's train split: not
comparable with published test-split figures). Also the hash grid's training throughput on this
CPU (samples per second) with sparse table gradients (RowAdam) and with a dense Adam step over
the whole table, side by side in this process.

Writes hollownerf.json, hollownerf.md and hollownerf.png into --out.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import sys
import time
from pathlib import Path

from _common import (
    add_list_option,
    add_out_option,
    at_least,
    check_startup,
    command_line,
    count,
    fail,
    to_json,
)


def _views(resolution: int):
    from scenesparse.photos import photo_views
    from sparsebox.data import fetch

    return photo_views(fetch("lego")[0].parent, resolution=resolution, background=(1.0, 1.0, 1.0))


def _settings(args, **over) -> dict:
    return {"levels": args.levels, "table_size": args.table_size,
            "finest_resolution": args.finest_resolution, "steps": args.steps,
            "batch_rays": args.batch_rays, "seed": args.seed, **over}


#: The options that set a model's parameters, by the parameter's name.
OPTIONS = {"levels": "--levels", "table_size": "--table-size", "finest_resolution":
           "--finest-resolution", "steps": "--steps", "batch_rays": "--batch-rays",
           "saliency_budget": "--saliency-budgets", "seed": "--seed"}


def _check_settings(args) -> None:
    """Every model's settings, checked as ``HollowNeRF.fit`` checks them, before any work: a
    value it refuses failed the throughput part, or each task after the others had trained."""
    from scenesparse.nerf.estimator import HollowNeRF
    from sparsebox.exceptions import InvalidParameterError

    for budget in (None, *args.saliency_budgets):
        try:
            HollowNeRF(**_settings(args, saliency_budget=budget))._validate_params()
        except InvalidParameterError as err:
            named = [option for name, option in OPTIONS.items()
                     if re.search(rf"\b{name}\b", str(err))]
            fail(f"{', '.join(named) or 'the model settings'}: {err}")


def _equal_table(args, params: int) -> int:
    """The table size whose plain grid has ``params`` parameters (or just under)."""
    from scenesparse.nerf.estimator import HollowNeRF

    def count(t: int) -> int:
        return HollowNeRF(**_settings(args, table_size=t, saliency_budget=None))._build_field() \
            .num_parameters()

    lo, hi = 1, args.table_size
    while lo < hi:
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if count(mid) <= params else (lo, mid - 1)
    return lo


def _fit_task(task: dict, emit) -> dict:
    """One model trained in its own process and evaluated on the held-out views: its rows and
    its renders of the first held-out view for the figure. HollowNeRF is pruned (one row, after
    pruning); a plain grid with ``flow_pruned`` gives a second row, the same grid pruned by
    flow. Progress and each row go back as records."""
    from scenesparse.nerf.estimator import HollowNeRF

    views = _views(task["resolution"])
    model = HollowNeRF(**task["settings"])
    label = task["label"]

    def report(trainer) -> None:
        if trainer.step_count % 20 == 0:
            emit({"label": label, "step": trainer.step_count})

    start = time.perf_counter()
    model.fit(views, callback=report)
    seconds = time.perf_counter() - start
    row = {"model": label, "seed": model.seed, "table_size": model.table_size,
           "saliency_budget": model.saliency_budget, "train_seconds": seconds,
           "params": model.num_parameters(), "bytes": model.saved_bytes(),
           **model.evaluate(views.test_cameras, views.test_images)}
    out = {"rows": [row], "images": [], "occupied_fraction": model.occupancy_.occupied_fraction()}
    if model.saliency_budget is not None:
        row["mean_saliency"] = model.trainer_.history[-1]["saliency_mean"]
        row["bytes_before"] = row.pop("bytes")
        row["psnr_before"], row["ssim_before"], row["params_before"] = (
            row.pop("psnr"), row.pop("ssim"), row.pop("params"))
        _prune_into(row, model, views)
    elif task["flow_pruned"]:
        # the same scores and selection on the plain grid (saliency 1 everywhere): what the
        # saliency grid adds beyond pruning by the light each entry carries
        emit({"label": label, "row": row})
        out["images"].append(_first_view(model, views))
        row = {**row, "model": label + ", pruned by flow (no saliency)"}
        _prune_into(row, model, views)
        out["rows"].append(row)
    out["images"].append(_first_view(model, views))
    emit({"label": label, "row": row, "done": True})
    return out


def _prune_into(row: dict, model, views) -> None:
    model.prune()
    row.update(model.evaluate(views.test_cameras, views.test_images))
    row["params"] = model.num_parameters()
    row["bytes"] = model.saved_bytes()
    row["levels"] = model.pruning_["levels"]


def _first_view(model, views):
    return model.render(views.test_cameras[0]).numpy()


def _run_tasks(tasks: list[dict], jobs: int) -> list[dict]:
    """The tasks in ``jobs`` processes of one torch thread each, a progress bar per model."""
    from sparsebox.parallel import LocalExecutor
    from sparsebox.progress import make_progress

    with make_progress() as progress:  # one more step for scoring, evaluating and pruning
        totals = {t["label"]: t["settings"]["steps"] + 1 for t in tasks}
        bars = {label: progress.add_task(label, total=total) for label, total in totals.items()}

        def on_record(record: dict) -> None:
            bar = bars[record["label"]]
            if "step" in record:
                progress.update(bar, completed=record["step"])
                return
            row = record["row"]
            progress.console.print(f"{row['model']}: {row['psnr']:.2f} dB, "
                                   f"{row['params']:,} parameters")
            if record.get("done"):
                progress.update(bar, completed=totals[record["label"]])

        return LocalExecutor(jobs, threads=1).run(_fit_task, tasks, on_record=on_record)


def _throughput(args, views, sparse: bool) -> dict:
    """Samples per second over ``--throughput-steps`` steps, after the occupancy warm-up."""
    from scenesparse.nerf.estimator import HollowNeRF

    model = HollowNeRF(**_settings(args, saliency_budget=None, sparse_gradients=sparse))
    trainer = model._build_trainer(model._build_field(), views)
    for _ in range(args.warmup_steps):
        trainer.step()
    records = [trainer.step() for _ in range(args.throughput_steps)]
    seconds = sum(r["seconds"] for r in records)
    samples = sum(r["samples"] for r in records)
    return {"sparse_gradients": sparse, "steps": len(records), "seconds": seconds,
            "samples_per_second": samples / seconds, "seconds_per_step": seconds / len(records)}


def _figure(views, images: list, rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(images) + 1, figsize=(3 * (len(images) + 1), 3.3))
    axes[0].imshow(views.test_images[0].numpy())
    axes[0].set_title("ground truth (held out)", fontsize=8)
    for ax, image, row in zip(axes[1:], images, rows, strict=True):
        ax.imshow(image)
        ax.set_title(f"{row['model']}\n{row['params']:,} params, "
                     f"{row['psnr']:.2f} dB (10 views)", fontsize=8)
    for ax in axes:
        ax.set_axis_off()
    fig.tight_layout()
    fig.savefig(path, dpi=110, bbox_inches="tight")  # two-line titles stay whole
    plt.close(fig)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--resolution", type=count(1), default=128,
                    help="width in pixels the lego photos are resized to (default 128)")
    ap.add_argument("--steps", type=count(1), default=2000,
                    help="training steps of every model (default 2000)")
    add_list_option(ap, "--saliency-budgets", item=at_least(0.0, above=True), default=[0.04, 0.1],
                    metavar="C",
                    help="saliency budgets C > 0, space- or comma-separated (default 0.04 0.1); the "
                         "first is the one compared with the equal-parameter table")
    ap.add_argument("--table-size", type=count(1), default=2**19,
                    help="hash table size T: the most rows a level holds (default 2^19 = 524288)")
    ap.add_argument("--levels", type=count(1), default=16,
                    help="levels of the hash grid (default 16)")
    ap.add_argument("--finest-resolution", type=count(1), default=256,
                    help="grid resolution (cells per axis) of the finest level (default 256)")
    ap.add_argument("--batch-rays", type=count(1), default=1024,
                    help="rays per training step (default 1024)")
    ap.add_argument("--warmup-steps", type=count(0), default=80,
                    help="training steps before the throughput timing, not timed (default 80)")
    ap.add_argument("--throughput-steps", type=count(1), default=40,
                    help="training steps timed for the throughput (samples/s; default 40)")
    ap.add_argument("--seed", type=count(0), default=0,
                    help="seed of every model; the first of the --seeds seeds (default 0)")
    ap.add_argument("--seeds", type=count(1), default=3,
                    help="seeds (from --seed on) for the first budget's HollowNeRF and its "
                         "equal-parameter table, the pair the target compares (default 3)")
    ap.add_argument("--jobs", type=count(1), default=os.cpu_count() or 1,
                    help="models trained side by side, one torch thread each (default: the "
                         "machine's CPUs)")
    add_out_option(ap, "hollownerf.json, hollownerf.md and hollownerf.png")
    args = ap.parse_args(argv)
    if len({f"{b:g}" for b in args.saliency_budgets}) < len(args.saliency_budgets):
        ap.error("--saliency-budgets must differ from one another")
    _check_settings(args)
    out = check_startup(args.out, datasets=["lego"],
                        outputs=["hollownerf.json", "hollownerf.md", "hollownerf.png"])
    import torch

    torch.set_num_threads(1)
    views = _views(args.resolution)
    result = {"meta": {"command": command_line(argv), "date": time.strftime("%Y-%m-%d"),
                       "python": platform.python_version(), "torch_threads": 1,
                       "views": views.description, "resolution": args.resolution,
                       "steps": args.steps, "jobs": args.jobs}}
    # timed alone, before any training process starts
    result["throughput"] = [_throughput(args, views, sparse) for sparse in (True, False)]
    seeds = range(args.seed, args.seed + args.seeds)

    def task(label: str, seed: int = args.seed, flow_pruned: bool = False, **over) -> dict:
        if seed != args.seed:
            label += f", seed {seed}"
        return {"label": label, "settings": _settings(args, seed=seed, **over),
                "resolution": args.resolution, "flow_pruned": flow_pruned}

    t = args.table_size
    size = f"2^{t.bit_length() - 1}" if t & (t - 1) == 0 else f"{t:,}"
    grid = task(f"hash grid, T = {size}", flow_pruned=True, saliency_budget=None)
    c = args.saliency_budgets[0]
    first = [task(f"HollowNeRF, C = {c:g}", seed, saliency_budget=c) for seed in seeds]
    others = [task(f"HollowNeRF, C = {b:g}", saliency_budget=b) for b in args.saliency_budgets[1:]]
    done = _run_tasks([grid, *first, *others], args.jobs)
    grid_out, first_out, others_out = done[0], done[1:1 + len(first)], done[1 + len(first):]
    # each seed's table holds (just under) the parameters of that seed's pruned HollowNeRF
    sizes = [_equal_table(args, d["rows"][0]["params"]) for d in first_out]
    # at --table-size a table holds every entry it can: where that is still fewer parameters
    # than the pruned HollowNeRF's (its saliency grid counts), the pair is not at equal ones
    tables = _run_tasks([task(f"hash grid, T = {size:,} ("
                              + ("same parameters" if size < args.table_size else
                                 "--table-size: fewer parameters than HollowNeRF's") + ")", seed,
                              table_size=size, saliency_budget=None)
                         for seed, size in zip(seeds, sizes, strict=True)], args.jobs)
    result["occupied_fraction"] = grid_out["occupied_fraction"]
    shown = [grid_out, first_out[0], *others_out, tables[0]]
    result["rows"] = [row for d in shown for row in d["rows"]]
    keys = ("model", "seed", "table_size", "params", "psnr", "ssim")
    result["seeds"] = [{"hollow": {k: h["rows"][0][k] for k in keys},
                        "table": {k: t["rows"][0][k] for k in keys}}
                       for h, t in zip(first_out, tables, strict=True)]
    _figure(views, [im for d in shown for im in d["images"]], result["rows"],
            out / "hollownerf.png")
    (out / "hollownerf.json").write_text(to_json(result, indent=2))
    (out / "hollownerf.md").write_text(_markdown(result))
    print(f"wrote {out / 'hollownerf.json'}, hollownerf.md and hollownerf.png")


def _markdown(result: dict) -> str:
    import numpy as np

    meta = result["meta"]
    base = result["rows"][0]
    md = [f"Command: `{meta['command']}` ({meta['date']}, 1 torch thread per model, up to "
          f"{meta['jobs']} models side by side; their training seconds, scoring included, are "
          "only roughly comparable)", "",
          f"Lego subset at {meta['resolution']} px, {meta['steps']} steps per model; PSNR / SSIM "
          f"on the 10 held-out views ({meta['views']}; held out from the source's train split, "
          "so not comparable with published test-split figures).", "",
          "| model | parameters | of the unpruned grid | bytes on disk | PSNR | SSIM | "
          "before pruning | mean saliency | train s |", "|---|---|---|---|---|---|---|---|---|"]
    for r in result["rows"]:
        before = (f"{r['psnr_before']:.2f} dB, {r['params_before']:,} params"
                  if "psnr_before" in r else "")
        sal = f"{r['mean_saliency']:.4f}" if "mean_saliency" in r else ""
        md.append(f"| {r['model']} | {r['params']:,} | {r['params'] / base['params']:.1%} | "
                  f"{r['bytes']:,} | {r['psnr']:.2f} | {r['ssim']:.4f} | {before} | {sal} | "
                  f"{r['train_seconds']:.0f} |")
    md += ["", "Hash-grid training throughput on this CPU (plain grid, same settings, after "
           "the occupancy warm-up, side by side in one process):", "",
           "| table gradients | samples / s | s / step |", "|---|---|---|"]
    for t in result["throughput"]:
        kind = ("sparse (RowAdam, the rows read)" if t["sparse_gradients"]
                else "dense (Adam over the table)")
        md.append(f"| {kind} | {t['samples_per_second']:,.0f} | {t['seconds_per_step']:.3f} |")
    md += ["", f"The plain grid's occupancy grid keeps {result['occupied_fraction']:.1%} of its "
           "cells occupied (a budget C below that cannot keep all of them salient)."]
    pairs = result["seeds"]
    name = pairs[0]["hollow"]["model"]
    gaps = [p["hollow"]["psnr"] - p["table"]["psnr"] for p in pairs]
    short = [p for p in pairs if p["table"]["params"] < p["hollow"]["params"]
             and p["table"]["table_size"] == base["table_size"]]
    md += ["", f"{name} against its equal-parameter table, seed by seed (the table sized to "
           "each seed's pruned HollowNeRF" + (
               f"; in {len(short)} of {len(pairs)} seeds no table holds as many parameters, "
               "its saliency grid counted, and the table at --table-size has fewer: not an "
               "equal-parameter comparison" if short else "") + "):", "",
           "| seed | HollowNeRF params | PSNR | table T | table params | PSNR | difference |",
           "|---|---|---|---|---|---|---|"]
    for p, gap in zip(pairs, gaps, strict=True):
        h, t = p["hollow"], p["table"]
        md.append(f"| {h['seed']} | {h['params']:,} ({h['params'] / base['params']:.1%}) | "
                  f"{h['psnr']:.2f} | {t['table_size']:,} | {t['params']:,} | {t['psnr']:.2f} | "
                  f"{gap:+.2f} |")
    mean_psnr = float(np.mean([p["hollow"]["psnr"] for p in pairs]))
    share = max(p["hollow"]["params"] for p in pairs) / base["params"]
    spread = f" (standard deviation {np.std(gaps, ddof=1):.2f})" if len(gaps) > 1 else ""
    md += ["", f"Targets, {name} over {len(pairs)} seed(s): at most {share:.1%} of the unpruned "
           f"grid's parameters ({'at most' if share <= 1 / 3 else 'more than'} a third); mean "
           f"PSNR {mean_psnr - base['psnr']:+.2f} dB against the unpruned grid (seed "
           f"{base['seed']}; {'within' if mean_psnr >= base['psnr'] - 0.5 else 'not within'} "
           f"0.5 dB) and {np.mean(gaps):+.2f} dB{spread} against the equal-parameter table, above "
           f"it in {sum(g > 0 for g in gaps)} of {len(gaps)} seeds."]
    for r in result["rows"]:
        if "levels" in r:
            md += ["", f"Entries kept per level, {r['model']}: " + ", ".join(
                f"{lv['resolution']}: {lv['kept']:,}/{lv['entries']:,}" for lv in r["levels"])]
    return "\n".join(md) + "\n"


if __name__ == "__main__":
    sys.exit(main())
