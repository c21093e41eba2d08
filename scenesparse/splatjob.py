"""Prune a splat file end to end: score, select, write, compare renders, draw a side-by-side."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from scenesparse.gaussians import read_ply, write_ply
from scenesparse.imagemetrics import psnr, ssim
from scenesparse.importance import GaussianPruner, default_cameras
from scenesparse.render import render_fast

__all__ = ["prune_splat_file"]


def prune_splat_file(source: Path, target: Path, *, keep_ratio: float = 0.34,
                     score: str = "radsplat", rounds: int = 3, views: int = 32,
                     resolution: int = 256, eval_views: int = 8, image: Path | None = None,
                     progress: bool = False) -> dict[str, Any]:
    """Prune the scene in ``source`` with :class:`GaussianPruner`, write it to ``target`` and a
    side-by-side PNG (``image``, by default ``<target stem>_side_by_side.png``), and return the
    report: ``total``, ``kept``, ``bytes_in``, ``bytes_out``, ``psnr`` and ``ssim`` (means over
    ``eval_views`` held-out orbit views, pruned against unpruned), ``psnr_min``, ``seconds`` (of
    the scoring and selection) and the settings."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    source, target = Path(source), Path(target)
    scene = read_ply(source)
    start = time.perf_counter()
    pruner = GaussianPruner(score, keep_ratio=keep_ratio, rounds=rounds, views=views,
                            resolution=resolution).fit(scene, progress=progress)
    seconds = time.perf_counter() - start
    pruned = scene.subset(pruner.mask_)
    write_ply(target, pruned)
    held_out = default_cameras(scene, eval_views, resolution, phase=0.5)
    before = [render_fast(scene, c, scores=False).image.clamp(0, 1).numpy() for c in held_out]
    after = [render_fast(pruned, c, scores=False).image.clamp(0, 1).numpy() for c in held_out]
    psnrs = [psnr(a, b) for a, b in zip(after, before, strict=True)]
    report = {
        "input": str(source), "output": str(target), "score": score, "rounds": rounds,
        "total": len(scene), "kept": len(pruned), "bytes_in": source.stat().st_size,
        "bytes_out": target.stat().st_size, "psnr": float(np.mean(psnrs)),
        "ssim": float(np.mean([ssim(a, b) for a, b in zip(after, before, strict=True)])),
        "psnr_min": float(np.min(psnrs)), "seconds": seconds, "views": views,
        "resolution": resolution, "eval_views": eval_views,
    }
    image = Path(image) if image is not None else target.with_name(
        target.stem + "_side_by_side.png")
    shown = min(3, eval_views)
    fig, axes = plt.subplots(shown, 2, figsize=(6, 3 * shown), squeeze=False)
    for i in range(shown):
        axes[i, 0].imshow(before[i])
        axes[i, 1].imshow(after[i])
        for ax in axes[i]:
            ax.axis("off")
    axes[0, 0].set_title(f"unpruned ({len(scene):,})")
    axes[0, 1].set_title(f"{score}, kept {len(pruned):,}: {report['psnr']:.1f} dB")
    fig.tight_layout()
    fig.savefig(image, dpi=100)
    plt.close(fig)
    report["image"] = str(image)
    return report
