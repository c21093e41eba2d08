"""Gaussian-splat pruning: scoring time and quality per score, CPU renderer vs gsplat on a GPU.

    python benchmarks/splats.py
    python benchmarks/splats.py --views 4 --resolution 64   # a quick look

On ../shared/data/3d/gaussians/gshairlod_donut_fused_sh0.ply: time to score 32 orbit views at
256x256 on this machine (best of 2 after a warm-up), then for every score and 1 or 3 rounds the
PSNR / SSIM of the pruned scene (keep ratio 0.34) against the unpruned one on 8 held-out views.
On a machine with CUDA, the same views through gsplat.rasterization: time and PSNR against the
CPU renderer; gsplat is then required (pip install 'sparsebox[splat-gpu]', checked at start-up
with one warm-up render) unless --no-gsplat. Writes splats.{json,md,png} into --out (default
out/benchmarks in the repository; `--out benchmarks/results` updates the committed record).
"""

from __future__ import annotations

import argparse
import platform
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from _common import add_out_option, check_startup, command_line, count, fail, keep_ratio, require, to_json  # noqa: E402

from scenesparse.gaussians import read_ply  # noqa: E402
from scenesparse.imagemetrics import psnr, ssim  # noqa: E402
from scenesparse.importance import GaussianPruner, default_cameras, render_statistics  # noqa: E402
from scenesparse.rendering import render  # noqa: E402
from sparsebox.data import fetch  # noqa: E402
from sparsebox.select import budget_from_keep_ratio  # noqa: E402

SCORES = ("radsplat", "minisplatting", "lightgaussian", "opacity", "volume")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--keep-ratio", type=keep_ratio, default=0.34,
                    help="keep ratio in (0, 1]: the fraction of the Gaussians kept (default 0.34)")
    ap.add_argument("--views", type=count(1), default=32,
                    help="orbit views scored (and timed) per pruning (default 32)")
    ap.add_argument("--resolution", type=count(8), default=256,  # GaussianPruner takes >= 8
                    help="width and height of every view in pixels, at least 8 (default 256)")
    ap.add_argument("--no-gsplat", action="store_true",
                    help="skip the gsplat comparison on a CUDA machine (then gsplat is not needed)")
    add_out_option(ap, "splats.json, splats.md and splats.png")
    args = ap.parse_args(argv)
    args.out = check_startup(args.out, datasets=["donut"], download=False,
                             outputs=["splats.json", "splats.md", "splats.png"])
    use_gsplat = torch.cuda.is_available() and not args.no_gsplat
    if use_gsplat:
        require("gsplat", " on a CUDA machine (or pass --no-gsplat)")
    (path,) = fetch("donut", download=False)
    scene = read_ply(path)
    if budget_from_keep_ratio(args.keep_ratio, len(scene)) == 0:  # else refused after scoring
        fail(f"--keep-ratio {args.keep_ratio:g} keeps none of the donut's {len(scene):,} Gaussians")
    cams = default_cameras(scene, args.views, args.resolution)
    if use_gsplat:
        try:  # the warm-up (and any compilation) before the work, so a failure comes first
            render(scene, cams[0], backend="gsplat")
            torch.cuda.synchronize()
        except Exception as err:
            fail(f"gsplat fails on this machine ({type(err).__name__}: {err}); "
                 "pass --no-gsplat to run without it")
    render_statistics(scene, cams[:1])  # compile the kernel
    times = []
    for _ in range(2):
        start = time.perf_counter()
        render_statistics(scene, cams)
        times.append(time.perf_counter() - start)
    scoring = min(times)
    print(f"scoring {args.views} views at {args.resolution}^2: {scoring:.2f} s")
    held = default_cameras(scene, 8, args.resolution, phase=0.5)
    refs = [render(scene, c, backend="numba").image.clamp(0, 1).numpy() for c in held]
    rows = []
    for score in SCORES:
        for rounds in (1, 3):
            if score in ("opacity", "volume") and rounds > 1:
                continue
            start = time.perf_counter()
            pruned = GaussianPruner(score, keep_ratio=args.keep_ratio, rounds=rounds,
                                    views=args.views, resolution=args.resolution
                                    ).fit_transform(scene)
            seconds = time.perf_counter() - start
            imgs = [render(pruned, c, backend="numba").image.clamp(0, 1).numpy() for c in held]
            p = [psnr(a, b) for a, b in zip(imgs, refs, strict=True)]
            s = [ssim(a, b) for a, b in zip(imgs, refs, strict=True)]
            rows.append({"score": score, "rounds": rounds, "kept": len(pruned),
                         "psnr": float(np.mean(p)), "psnr_min": float(np.min(p)),
                         "ssim": float(np.mean(s)), "seconds": seconds})
            print(f"{score:14} rounds {rounds}: {np.mean(p):.2f} dB (min {np.min(p):.2f}), "
                  f"SSIM {np.mean(s):.4f}, {seconds:.1f} s")
    gpu = {"ran": False, "why": ("skipped (--no-gsplat)" if torch.cuda.is_available()
                                 else "no CUDA GPU on this machine")}
    if use_gsplat:
        start = time.perf_counter()
        # the timing includes bringing each image back to the CPU, where it is compared
        out = [render(scene, c, backend="gsplat").image.cpu() for c in cams]
        torch.cuda.synchronize()
        gs_time = time.perf_counter() - start
        cpu = [render(scene, c, backend="numba").image for c in cams]
        gpu = {"ran": True, "gsplat_seconds": gs_time, "psnr_vs_cpu": float(np.mean(
            [psnr(a.clamp(0, 1).numpy(), b.clamp(0, 1).numpy()) for a, b in
             zip(out, cpu, strict=True)]))}
    meta = {"command": command_line(argv),
            "date": time.strftime("%Y-%m-%d"), "machine": platform.machine(),
            "threads": torch.get_num_threads(), "gaussians": len(scene),
            "scoring_seconds": scoring, "views": args.views, "resolution": args.resolution,
            "keep_ratio": args.keep_ratio, "gpu": gpu}
    (args.out / "splats.json").write_text(to_json({"meta": meta, "runs": rows}, indent=2))
    md = [f"Command: `{meta['command']}` ({meta['date']}; {len(scene):,} Gaussians; scoring "
          f"{args.views} views at {args.resolution}x{args.resolution}: {scoring:.2f} s; keep "
          f"ratio {args.keep_ratio}; 8 held-out views; gsplat: "
          f"{gpu.get('why') or 'see splats.json'})", "",
          "| score | rounds | kept | PSNR dB (min) | SSIM | seconds |", "|---|---|---|---|---|---|"]
    md += [f"| {r['score']} | {r['rounds']} | {r['kept']:,} | {r['psnr']:.2f} ({r['psnr_min']:.2f})"
           f" | {r['ssim']:.4f} | {r['seconds']:.1f} |" for r in rows]
    (args.out / "splats.md").write_text("\n".join(md) + "\n")
    fig, ax = plt.subplots(figsize=(6, 3.2))
    labels = [f"{r['score']} x{r['rounds']}" for r in rows]
    ax.barh(labels, [r["psnr"] for r in rows])
    ax.axvline(30, color="k", ls=":", lw=1)
    ax.set(xlabel=f"PSNR vs unpruned (dB), keep ratio {args.keep_ratio}")
    fig.tight_layout()
    fig.savefig(args.out / "splats.png", dpi=120)
    plt.close(fig)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
