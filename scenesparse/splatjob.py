"""Prune a splat file end to end: score, select, write, compare renders, draw a side-by-side."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from scenesparse.gaussians import read_ply, write_ply
from scenesparse.imagemetrics import psnr, ssim
from scenesparse.importance import GaussianPruner, default_cameras
from scenesparse.render import render
from sparsebox.outputs import StagedOutputs, check_output_file

__all__ = ["prune_splat_file"]


def prune_splat_file(source: Path, target: Path, *, keep_ratio: float | None = 0.34,
                     budget: int | None = None, score: str = "radsplat", rounds: int = 3,
                     views: int = 32, resolution: int = 256, eval_views: int = 8,
                     image: Path | None = None, report: Path | None = None,
                     backend: str = "auto", progress: bool = False) -> dict[str, Any]:
    """Prune the scene in ``source`` with :class:`GaussianPruner` and write it to ``target``,
    a side-by-side PNG (``image``, by default ``<target stem>_side_by_side.png``) and, when
    given, the JSON ``report``; return the report: ``total``, ``kept``, ``bytes_in``,
    ``bytes_out``, ``psnr`` and ``ssim`` (means over ``eval_views`` held-out orbit views, pruned
    against unpruned), ``psnr_min``, ``seconds`` (of the scoring and selection) and the settings.

    Every output is checked before the work starts and appears only when all of it succeeded.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    source = Path(source)
    target = check_output_file(target, option="TARGET", inputs=[source])
    image = Path(image) if image is not None else target.with_name(
        target.stem + "_side_by_side.png")
    image = check_output_file(image, option="--image", inputs=[source])
    if report is not None:
        report = check_output_file(report, option="--report", inputs=[source])
    pruner = GaussianPruner(score, keep_ratio=keep_ratio, budget=budget, rounds=rounds,
                            views=views, resolution=resolution, backend=backend)
    pruner._validate_params()  # a bad option fails before the file is read
    scene = read_ply(source)
    start = time.perf_counter()
    pruner.fit(scene, progress=progress)
    seconds = time.perf_counter() - start
    pruned = scene.subset(pruner.mask_)
    held_out = default_cameras(scene, eval_views, resolution, phase=0.5)
    before = [render(scene, c, backend=backend).image.clamp(0, 1).cpu().numpy() for c in held_out]
    after = [render(pruned, c, backend=backend).image.clamp(0, 1).cpu().numpy() for c in held_out]
    psnrs = [psnr(a, b) for a, b in zip(after, before, strict=True)]
    summary = {
        "input": str(source), "output": str(target), "score": score, "rounds": rounds,
        "total": len(scene), "kept": len(pruned), "bytes_in": source.stat().st_size,
        "psnr": float(np.mean(psnrs)),
        "ssim": float(np.mean([ssim(a, b) for a, b in zip(after, before, strict=True)])),
        "psnr_min": float(np.min(psnrs)), "seconds": seconds, "views": views,
        "resolution": resolution, "eval_views": eval_views, "image": str(image),
    }
    with StagedOutputs(target=target, image=image, report=report) as staged:
        write_ply(staged["target"], pruned)
        summary["bytes_out"] = staged["target"].stat().st_size
        shown = min(3, eval_views)
        fig, axes = plt.subplots(shown, 2, figsize=(6, 3 * shown), squeeze=False)
        for i in range(shown):
            axes[i, 0].imshow(before[i])
            axes[i, 1].imshow(after[i])
            for ax in axes[i]:
                ax.axis("off")
        axes[0, 0].set_title(f"unpruned ({len(scene):,})")
        axes[0, 1].set_title(f"{score}, kept {len(pruned):,}: {summary['psnr']:.1f} dB")
        fig.tight_layout()
        fig.savefig(staged["image"], dpi=100)
        plt.close(fig)
        if report is not None:
            staged["report"].write_text(json.dumps(summary, indent=2))
    return summary
