"""Point-cloud down-sampling side by side: graph resampling vs open3d and random sampling.

    python benchmarks/points.py               # 1 M points on the bunny, keep ratio 0.1
    python benchmarks/points.py --with-fps    # also open3d farthest-point sampling (minutes)

Points are sampled uniformly on ../shared/data/3d/meshes/bunny_trimesh_res2.ply (seed 0). For each
method: seconds, points kept, Chamfer and Hausdorff distance to the input, and the fraction of the
top-decile high-curvature points kept (local-PCA surface variation over 10 neighbours; uniform
sampling keeps about the keep ratio of them). "uniform" takes the evenly spaced positions
floor(i * N / count), open3d's uniform_down_sample (every k-th point) when N / count is an integer;
the voxel grid meets the count exactly. open3d's remove_statistical_outlier(20, 2.0) is timed on
the same cloud as the kNN-bound reference. Writes points.{json,md,png} into --out (default
out/benchmarks in the repository; `--out benchmarks/results` updates the committed record). Needs
open3d: pip install 'sparsebox[points]'.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

os.environ.setdefault("NUMBA_THREADING_LAYER", "omp")

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from _common import add_out_option, check_startup, command_line, count, keep_ratio, to_json  # noqa: E402
from rich.console import Console  # noqa: E402

from scenesparse import points as P  # noqa: E402
from scenesparse.points import (  # noqa: E402
    FarthestPointSampler,
    GraphResampler,
    StatisticalOutlierRemover,
    UniformDownsampler,
    VoxelDownsampler,
)
from scenesparse.surface import read_mesh, sample_surface  # noqa: E402
from sparsebox.data import fetch  # noqa: E402


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--points", type=count(1000), default=1_000_000,
                    help="points sampled on the bunny (at least 1,000: the kNN graph and the "
                         "kernels' warm-up take a thousand)")
    ap.add_argument("--keep-ratio", type=keep_ratio, default=0.1,
                    help="keep ratio in (0, 1]: the fraction of the points every method keeps "
                         "(default 0.1)")
    ap.add_argument("--with-fps", action="store_true",
                    help="also time open3d's farthest-point sampling (minutes)")
    add_out_option(ap, "points.json, points.md and points.png")
    args = ap.parse_args(argv)
    if round(args.keep_ratio * args.points) < 1:
        ap.error(f"--keep-ratio {args.keep_ratio:g} of --points {args.points} keeps no point")
    args.out = check_startup(args.out, packages=["open3d"], datasets=["bunny"], download=False,
                             outputs=["points.json", "points.md", "points.png"])
    console = Console()
    (mesh_path,) = fetch("bunny", download=False)
    v, f = read_mesh(mesh_path)
    pts = sample_surface(v, f, args.points, seed=0)
    with console.status("surface variation (reference for 'high curvature')"):
        _, idx = P.knn(pts, 10)
        _, variation = P.local_pca(pts, idx)
        top = variation >= np.quantile(variation, 0.9)
        del idx
    budget = round(args.keep_ratio * len(pts))
    GraphResampler(budget=200).fit(pts[:2000])  # load or compile the numba kernels once
    rng = np.random.default_rng(1)  # not 0: that stream placed the points
    methods = {
        "graph (ours)": lambda: GraphResampler(budget=budget, seed=0).fit(pts).mask_,
        "graph, uniform_share=0.2": lambda: GraphResampler(budget=budget, seed=0,
                                                           uniform_share=0.2).fit(pts).mask_,
        "random": lambda: np.isin(np.arange(len(pts)), rng.choice(len(pts), budget,
                                                                  replace=False)),
        "uniform (evenly spaced)": lambda: UniformDownsampler(
            keep_ratio=args.keep_ratio).fit(pts).mask_,
        "open3d voxel (same count)": lambda: VoxelDownsampler(budget=budget).fit(pts).mask_,
    }
    if args.with_fps:
        methods["open3d farthest_point"] = lambda: FarthestPointSampler(
            budget=budget).fit(pts).mask_
    rows = []
    _, stat_seconds = timed(lambda: StatisticalOutlierRemover(nb_neighbors=20, std_ratio=2.0)
                            .fit(pts).mask_)
    console.print(f"open3d remove_statistical_outlier(20, 2.0): {stat_seconds:.2f} s")
    for name, fn in methods.items():
        with console.status(name):
            mask, seconds = timed(fn)
            chamfer, hausdorff = P.chamfer_hausdorff(pts[mask], pts)
        row = {"method": name, "seconds": seconds, "kept": int(mask.sum()), "chamfer": chamfer,
               "hausdorff": hausdorff, "top_decile_kept": float(mask[top].mean()),
               "vs_statistical_outlier_time": seconds / stat_seconds}
        rows.append(row)
        console.print(f"{name:28} {seconds:7.2f} s  kept {row['kept']:7d}  chamfer {chamfer:.3g}"
                      f"  hausdorff {hausdorff:.3g}  top-decile kept {row['top_decile_kept']:.3f}")
    meta = {"command": command_line(argv),
            "date": time.strftime("%Y-%m-%d"), "machine": platform.machine(),
            "points": len(pts), "keep_ratio": args.keep_ratio,
            "statistical_outlier_seconds": stat_seconds}
    (args.out / "points.json").write_text(to_json({"meta": meta, "runs": rows}, indent=2))
    md = [f"Command: `{meta['command']}` ({meta['date']}; {len(pts):,} points on the bunny, keep "
          f"ratio {args.keep_ratio}; open3d remove_statistical_outlier(20, 2.0) took "
          f"{stat_seconds:.2f} s)", "",
          "| method | seconds | x statistical-outlier time | kept | Chamfer | Hausdorff | "
          "top-decile curvature kept |", "|---|---|---|---|---|---|---|"]
    md += [f"| {r['method']} | {r['seconds']:.2f} | {r['vs_statistical_outlier_time']:.2f} | "
           f"{r['kept']:,} | {r['chamfer']:.3g} | {r['hausdorff']:.3g} | "
           f"{r['top_decile_kept']:.3f} |" for r in rows]
    (args.out / "points.md").write_text("\n".join(md) + "\n")
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    names = [r["method"] for r in rows]
    axes[0].barh(names, [r["top_decile_kept"] for r in rows])
    axes[0].axvline(args.keep_ratio, color="k", ls=":", lw=1)
    axes[0].set(xlabel="fraction of top-decile curvature points kept")
    axes[1].barh(names, [r["chamfer"] for r in rows])
    axes[1].set(xlabel="Chamfer distance to the input")
    axes[1].set_yticklabels([])
    fig.tight_layout()
    fig.savefig(args.out / "points.png", dpi=120)
    plt.close(fig)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
