"""Splat training on the CPU and pruning that recovers, side by side in one run.

    python benchmarks/splat_training.py                         # every part
    python benchmarks/splat_training.py --parts step donut      # some of them
    python benchmarks/splat_training.py --parts donut --donut-views 2 --donut-held-out 1 \\
        --donut-resolution 32 --donut-scores radsplat --rounds 1 --recover-steps 2  # a quick look

Writes splat_training.json and .md into --out (default out/benchmarks in the repository;
`--out benchmarks/results` updates the committed record). The side-by-side picture beside them
there, donut_recovered_side_by_side.png, is made by `sparsebox scene prune-splats ... --image`.

* step: one training step (render, 0.8 L1 + 0.2 D-SSIM, backward, Adam) on the 45,624-Gaussian
  donut at 256x256, numba backend, median of --step-repeats steps (target: <= 1 s on 2 cores).
* donut: prune the donut with and without recovery (--recover-steps after each of --rounds
  rounds, towards the unpruned model's renders from --donut-views orbit views at
  --donut-resolution px: 32 at 256), and at 90% removed with every score of --donut-scores, PUP's
  sensitivity included; PSNR / SSIM against the unpruned renders on --donut-held-out (8) held-out
  views.
* lego: train a splat model from the lego subset's photos at --lego-resolution (visual-hull
  initialisation, --lego-steps steps, SH degree 3), prune 66% with recovery, PSNR on the 10 held-out
  photos; then refit its colours from SH degree 3 to 1 (output sizes and PSNR).
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from pathlib import Path

import numpy as np
import torch
from _common import (
    add_list_option,
    add_out_option,
    add_parts_option,
    check_startup,
    command_line,
    count,
    keep_parts,
    kept_parts_lines,
    read_kept,
    recorded_parts,
    refuse_dropping,
    to_json,
)
from rich.console import Console

from scenesparse.gaussians import read_ply, write_ply
from scenesparse.imagemetrics import psnr, ssim
from scenesparse.importance import GaussianPruner, default_cameras
from scenesparse.photos import photo_views
from scenesparse.rendering import render
from scenesparse.training import SplatTrainer, distill_sh, scene_from_views
from sparsebox.data import fetch
from sparsebox.outputs import counted


def renders(scene, cams):
    with torch.no_grad():
        return [render(scene, c).image.clamp(0, 1).numpy() for c in cams]


def quality(images, references) -> dict:
    return {"psnr": float(np.mean([psnr(a, b) for a, b in zip(images, references, strict=True)])),
            "ssim": float(np.mean([ssim(a, b) for a, b in zip(images, references, strict=True)]))}


def step_time(args, console) -> dict:
    donut = read_ply(fetch("donut")[0])
    cams = default_cameras(donut, 8, 256)
    targets = [torch.from_numpy(x) for x in renders(donut, cams)]
    trainer = SplatTrainer(donut, cams, targets)
    trainer.train(2)  # compile the kernels
    times = []
    for _ in range(args.step_repeats):
        start = time.perf_counter()
        trainer.step()
        times.append(time.perf_counter() - start)
    row = {"gaussians": len(donut), "resolution": 256, "median_s": statistics.median(times),
           "min_s": min(times), "max_s": max(times), "steps": len(times)}
    console.print(f"step: {row['median_s']:.3f} s (median of {len(times)})")
    return row


#: the scores the donut part compares at 90% removed (the first two also at 66%)
DONUT_SCORES = ("radsplat", "lightgaussian", "minisplatting", "pup")


def donut(args, console) -> dict:
    scene = read_ply(fetch("donut")[0])
    cams = default_cameras(scene, args.donut_views, args.donut_resolution)
    held = default_cameras(scene, args.donut_held_out, args.donut_resolution, phase=0.5)
    reference = renders(scene, held)
    rows = []
    runs = [(score, 0.34, steps) for score in ("radsplat", "lightgaussian")
            for steps in sorted({0, args.recover_steps})]  # --recover-steps 0: each once
    runs += [(score, 0.10, args.recover_steps) for score in DONUT_SCORES]
    runs = [run for run in runs if run[0] in args.donut_scores]
    for score, keep, steps in runs:
        start = time.perf_counter()
        pruner = GaussianPruner(score, keep_ratio=keep, rounds=args.rounds, recover_steps=steps)
        pruner.fit(scene, cams, progress=True)
        seconds = time.perf_counter() - start
        row = {"score": score, "keep_ratio": keep, "removed": 1 - keep, "rounds": args.rounds,
               "recover_steps": steps, "kept": int(pruner.mask_.sum()), "seconds": seconds,
               **quality(renders(pruner.transform(scene), held), reference)}
        rows.append(row)
        console.print(f"donut {score} keep {keep} recovery {steps}: {row['psnr']:.2f} dB")
    return {"rows": rows, "views": args.donut_views, "held_out": args.donut_held_out,
            "resolution": args.donut_resolution}


def lego(args, console, out: Path) -> dict:
    folder = fetch("lego")[0].parent
    views = photo_views(folder, resolution=args.lego_resolution)
    start = time.perf_counter()
    init = scene_from_views(views.train_cameras, views.train_masks, views.train_images,
                            args.lego_gaussians, sh_degree=3, seed=0)
    trainer = SplatTrainer(init, views.train_cameras, views.train_images,
                           schedule_steps=args.lego_steps)
    trainer.train(args.lego_steps, progress=True, label="lego")
    trained = trainer.scene()
    train_seconds = time.perf_counter() - start
    photos = [p.numpy() for p in views.test_images]
    unpruned = quality(renders(trained, views.test_cameras), photos)
    console.print(f"lego trained: {unpruned['psnr']:.2f} dB on the held-out photos")
    start = time.perf_counter()
    pruner = GaussianPruner("radsplat", keep_ratio=0.34, rounds=args.rounds,
                            recover_steps=args.lego_recover_steps)
    pruner.fit(trained, views.train_cameras, views.train_images, progress=True)
    pruned = pruner.transform(trained)
    prune_seconds = time.perf_counter() - start
    pruned_quality = quality(renders(pruned, views.test_cameras), photos)
    low = distill_sh(trained, views.train_cameras, 1, steps=args.sh_steps, progress=True)
    low_quality = quality(renders(low, views.test_cameras), photos)
    sizes = {}
    for name, scene in (("sh3", trained), ("sh1", low)):
        path = out / f"lego_{name}.ply"
        write_ply(path, scene)
        sizes[name] = path.stat().st_size
        path.unlink()
    row = {"resolution": args.lego_resolution, "gaussians": len(trained),
           "train_steps": args.lego_steps, "train_seconds": train_seconds,
           "unpruned": unpruned, "pruned": {**pruned_quality, "kept": len(pruned),
                                            "recover_steps": args.lego_recover_steps,
                                            "rounds": args.rounds, "seconds": prune_seconds},
           "sh1": {**low_quality, "steps": args.sh_steps}, "bytes": sizes}
    console.print(f"lego pruned: {pruned_quality['psnr']:.2f} dB; SH 1: "
                  f"{low_quality['psnr']:.2f} dB")
    return row


#: the parts of a record, in the order the table gives them
PARTS = ("step", "donut", "lego")


def markdown(result: dict) -> list[str]:
    """The lines of splat_training.md for ``result``, the record of splat_training.json."""
    md = [f"Command: `{result['meta']['command']}` ({result['meta']['date']})", ""]
    md += kept_parts_lines(result["meta"], PARTS)
    if "step" in result:
        s = result["step"]
        md += [f"One training step on the donut ({s['gaussians']:,} Gaussians) at 256x256, numba "
               f"backend: median {s['median_s']:.3f} s (min {s['min_s']:.3f}, max "
               f"{s['max_s']:.3f}, {s['steps']} steps).", ""]
    if "donut" in result:
        d = result["donut"]
        md += [f"Donut, against the unpruned renders on {counted(d['held_out'], 'held-out view')} "
               f"(recovery towards the unpruned renders from {counted(d['views'], 'orbit view')} "
               f"at {d['resolution']} px):", "",
               "| score | removed | rounds | recovery steps / round | kept | PSNR | SSIM | "
               "seconds |", "|---|---|---|---|---|---|---|---|"]
        md += [f"| {r['score']} | {r['removed']:.0%} | {r['rounds']} | {r['recover_steps']} | "
               f"{r['kept']:,} | {r['psnr']:.2f} | {r['ssim']:.4f} | {r['seconds']:.0f} |"
               for r in result["donut"]["rows"]]
        md.append("")
    if "lego" in result:
        lg = result["lego"]
        md += [f"Lego from its photos at {lg['resolution']} px ({lg['gaussians']:,} Gaussians, "
               f"{lg['train_steps']} steps, {lg['train_seconds']:.0f} s), PSNR / SSIM on the 10 "
               "held-out photos (from the source's train split, so not comparable with "
               "published test-split figures):", "",
               "| model | PSNR | SSIM | Gaussians | bytes |", "|---|---|---|---|---|",
               f"| trained, SH 3 | {lg['unpruned']['psnr']:.2f} | {lg['unpruned']['ssim']:.4f} | "
               f"{lg['gaussians']:,} | {lg['bytes']['sh3']:,} |",
               f"| pruned 66% (radsplat, {lg['pruned']['rounds']} rounds x "
               f"{lg['pruned']['recover_steps']} steps) | {lg['pruned']['psnr']:.2f} | "
               f"{lg['pruned']['ssim']:.4f} | {lg['pruned']['kept']:,} | |",
               f"| SH 3 -> 1 ({lg['sh1']['steps']} steps) | {lg['sh1']['psnr']:.2f} | "
               f"{lg['sh1']['ssim']:.4f} | {lg['gaussians']:,} | {lg['bytes']['sh1']:,} |", ""]
    return md


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    add_parts_option(ap, PARTS)
    ap.add_argument("--step-repeats", type=count(1), default=10,
                    help="training steps timed, the median reported (step; default 10)")
    ap.add_argument("--rounds", type=count(1), default=3,
                    help="pruning rounds (donut and lego; default 3)")
    ap.add_argument("--recover-steps", type=count(0), default=300,
                    help="recovery training steps after each pruning round (donut; default 300)")
    ap.add_argument("--donut-views", type=count(1), default=32,
                    help="orbit views the donut is scored and recovered from (default 32)")
    ap.add_argument("--donut-held-out", type=count(1), default=8,
                    help="held-out orbit views the donut's PSNR is measured on (default 8)")
    ap.add_argument("--donut-resolution", type=count(8), default=256,
                    help="width and height of the donut's views in pixels (default 256)")
    add_list_option(ap, "--donut-scores", choices=DONUT_SCORES, default=list(DONUT_SCORES),
                    metavar="SCORE", help="scores compared on the donut, space- or comma-separated, "
                    "among " + ", ".join(DONUT_SCORES) + " (default all; a small run: one)")
    ap.add_argument("--lego-resolution", type=count(1), default=200,
                    help="width in pixels the lego photos are resized to (default 200)")
    ap.add_argument("--lego-gaussians", type=count(1), default=60_000,
                    help="Gaussians the lego model starts from (default 60,000)")
    ap.add_argument("--lego-steps", type=count(1), default=3000,
                    help="training steps of the lego model (default 3000)")
    ap.add_argument("--lego-recover-steps", type=count(0), default=500,
                    help="recovery training steps after each pruning round (lego; default 500)")
    ap.add_argument("--sh-steps", type=count(1), default=1000,
                    help="steps refitting the lego colours from SH degree 3 to 1 (default 1000)")
    add_out_option(ap, "splat_training.json and splat_training.md")
    ap.add_argument("--update", action="store_true",
                    help="keep the parts of an existing OUT/splat_training.json that this run skips")
    args = ap.parse_args(argv)
    record = args.out / "splat_training.json"  # read before --out is made and the work
    kept = read_kept(record, args.parts, PARTS, markdown) if args.update else None
    if not args.update:
        refuse_dropping(record, [f"the {part} part" for part in recorded_parts(record, PARTS)
                                 if part not in args.parts])
    # the step and donut parts train the donut, the lego part only the lego photos
    datasets = (["donut"] if {"step", "donut"} & set(args.parts) else []) + (
        ["lego"] if "lego" in args.parts else [])
    out = check_startup(args.out, datasets=datasets, outputs=["splat_training.json", "splat_training.md"])
    console = Console(markup=False, highlight=False)
    result = {"meta": {"command": command_line(argv), "date": time.strftime("%Y-%m-%d"),
                       "python": platform.python_version(), "torch_threads":
                       torch.get_num_threads()}}
    if kept is not None:
        keep_parts(result, kept, args.parts, PARTS)
    if "step" in args.parts:
        result["step"] = step_time(args, console)
    if "donut" in args.parts:
        result["donut"] = donut(args, console)
    if "lego" in args.parts:
        result["lego"] = lego(args, console, out)
    (out / "splat_training.json").write_text(to_json(result, indent=2))
    md = markdown(result)
    (out / "splat_training.md").write_text("\n".join(md))
    console.print(f"wrote {out / 'splat_training.json'} and splat_training.md")


if __name__ == "__main__":
    main()
