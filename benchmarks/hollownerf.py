"""HollowNeRF against plain hash grids on the NeRF-synthetic lego subset, in one run.

Same photos, resolution and steps for every model:

- the unpruned hash grid (table T, no saliency grid);
- the same grid pruned by the same scores (the light each entry carries, saliency 1);
- HollowNeRF at each saliency budget (trained under ``mean(sigmoid(G)) <= C``, then pruned:
  the fewest entries carrying 99% of the salient light of the training rays are kept and the
  table compacted);
- a plain hash grid whose smaller table gives it the parameter count of the pruned HollowNeRF at
  the first budget (the equal-parameter baseline).

The report ends with the issue's targets for the first budget: at most a third of the unpruned
grid's parameters, PSNR within 0.5 dB of it and above the equal-parameter table. It also gives
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
import copy
import json
import platform
import sys
import time
from pathlib import Path

from _common import add_out_option, check_startup, command_line


def _views(resolution: int):
    from scenesparse.photos import photo_views
    from sparsebox.data import fetch

    return photo_views(fetch("lego")[0].parent, resolution=resolution, background=(1.0, 1.0, 1.0))


def _settings(args, **over) -> dict:
    return {"levels": args.levels, "table_size": args.table_size,
            "finest_resolution": args.finest_resolution, "steps": args.steps,
            "batch_rays": args.batch_rays, "seed": args.seed, **over}


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


def _fit(args, views, console, label: str, **over) -> tuple[dict, object]:
    from scenesparse.nerf.estimator import HollowNeRF

    model = HollowNeRF(**_settings(args, **over))
    start = time.perf_counter()
    model.fit(views, progress=True)
    seconds = time.perf_counter() - start
    row = {"model": label, "table_size": model.table_size,
           "saliency_budget": model.saliency_budget, "train_seconds": seconds,
           "params": model.num_parameters(), **model.evaluate(views.test_cameras,
                                                              views.test_images)}
    history = model.trainer_.history
    if model.saliency_budget is not None:
        row["mean_saliency"] = history[-1]["saliency_mean"]
    console.print(f"{label}: {row['psnr']:.2f} dB, {row['params']:,} parameters, "
                  f"{seconds:.0f} s")
    return row, model


def _bytes(model, folder: Path) -> int:
    path = folder / ".hollownerf-size.pt"
    try:
        return model.save(path)
    finally:
        path.unlink(missing_ok=True)


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


def _figure(views, models: list, rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cam, truth = views.test_cameras[0], views.test_images[0]
    fig, axes = plt.subplots(1, len(models) + 1, figsize=(3 * (len(models) + 1), 3.3))
    axes[0].imshow(truth.numpy())
    axes[0].set_title("ground truth (held out)", fontsize=8)
    for ax, model, row in zip(axes[1:], models, rows, strict=True):
        ax.imshow(model.render(cam).numpy())
        ax.set_title(f"{row['model']}\n{row['params'] / 1e6:.2f} M params, "
                     f"{row['psnr']:.2f} dB (10 views)", fontsize=8)
    for ax in axes:
        ax.set_axis_off()
    fig.tight_layout()
    fig.savefig(path, dpi=110, bbox_inches="tight")  # two-line titles stay whole
    plt.close(fig)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--resolution", type=int, default=128)
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--budgets", type=float, nargs="+", default=[0.04, 0.1],
                    help="saliency budgets C; the first is the one compared with the "
                         "equal-parameter table")
    ap.add_argument("--table-size", type=int, default=2**19)
    ap.add_argument("--levels", type=int, default=16)
    ap.add_argument("--finest-resolution", type=int, default=256)
    ap.add_argument("--batch-rays", type=int, default=1024)
    ap.add_argument("--warmup-steps", type=int, default=80)
    ap.add_argument("--throughput-steps", type=int, default=40)
    ap.add_argument("--seed", type=int, default=0)
    add_out_option(ap, "hollownerf.json, hollownerf.md and hollownerf.png")
    args = ap.parse_args(argv)
    out = check_startup(args.out, datasets=["lego"])
    import torch
    from rich.console import Console

    torch.set_num_threads(1)
    console = Console(markup=False, highlight=False)
    views = _views(args.resolution)
    result = {"meta": {"command": command_line(argv), "date": time.strftime("%Y-%m-%d"),
                       "python": platform.python_version(), "torch_threads": 1,
                       "views": views.description, "resolution": args.resolution,
                       "steps": args.steps}}
    result["throughput"] = [_throughput(args, views, sparse) for sparse in (True, False)]
    rows, models = [], []
    row, model = _fit(args, views, console, f"hash grid, T = 2^{args.table_size.bit_length() - 1}",
                      saliency_budget=None)
    row["bytes"] = _bytes(model, out)
    result["occupied_fraction"] = model.occupancy_.occupied_fraction()
    rows.append(row)
    models.append(model)
    # the same scores and selection on the plain grid (saliency 1 everywhere): what the saliency
    # grid adds beyond pruning by the light each entry carries
    flow = copy.deepcopy(model).prune()
    rows.append({**row, "model": row["model"] + ", pruned by flow (no saliency)",
                 **flow.evaluate(views.test_cameras, views.test_images),
                 "params": flow.num_parameters(), "bytes": _bytes(flow, out),
                 "levels": flow.pruning_["levels"]})
    models.append(flow)
    for budget in args.budgets:
        row, model = _fit(args, views, console, f"HollowNeRF, C = {budget:g}",
                          saliency_budget=budget)
        row["bytes_before"] = _bytes(model, out)
        row["psnr_before"], row["ssim_before"], row["params_before"] = (
            row.pop("psnr"), row.pop("ssim"), row.pop("params"))
        model.prune()
        row.update(model.evaluate(views.test_cameras, views.test_images))
        row["params"] = model.num_parameters()
        row["bytes"] = _bytes(model, out)
        row["levels"] = model.pruning_["levels"]
        rows.append(row)
        models.append(model)
    target = rows[2]["params"]
    small = _equal_table(args, target)
    row, model = _fit(args, views, console, f"hash grid, T = {small:,} (same parameters)",
                      table_size=small, saliency_budget=None)
    row["bytes"] = _bytes(model, out)
    rows.append(row)
    models.append(model)
    result["rows"] = rows
    _figure(views, models, rows, out / "hollownerf.png")
    (out / "hollownerf.json").write_text(json.dumps(result, indent=2))
    (out / "hollownerf.md").write_text(_markdown(result))
    console.print(f"wrote {out / 'hollownerf.json'}, hollownerf.md and hollownerf.png")


def _markdown(result: dict) -> str:
    meta = result["meta"]
    base = result["rows"][0]
    md = [f"Command: `{meta['command']}` ({meta['date']}, 1 torch thread)", "",
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
    hollow, small = result["rows"][2], result["rows"][-1]
    share = hollow["params"] / base["params"]
    md += ["", f"Targets, {hollow['model']}: {share:.1%} of the unpruned grid's parameters "
           f"({'at most' if share <= 1 / 3 else 'more than'} a third); PSNR "
           f"{hollow['psnr'] - base['psnr']:+.2f} dB against the unpruned grid "
           f"({'within' if hollow['psnr'] >= base['psnr'] - 0.5 else 'not within'} 0.5 dB) and "
           f"{hollow['psnr'] - small['psnr']:+.2f} dB against the equal-parameter table "
           f"({'above' if hollow['psnr'] > small['psnr'] else 'not above'} it)."]
    for r in result["rows"]:
        if "levels" in r:
            md += ["", f"Entries kept per level, {r['model']}: " + ", ".join(
                f"{lv['resolution']}: {lv['kept']:,}/{lv['entries']:,}" for lv in r["levels"])]
    return "\n".join(md) + "\n"


if __name__ == "__main__":
    sys.exit(main())
