"""The scene part of `sparsebox demo`: every registered Gaussian score and point method on the
shared scenes, and a full `prune-splats` run with its side-by-side picture."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from sparsebox.demo import create_accepting

#: Quick settings for comparing the Gaussian scores in the demo (the full run uses the CLI's).
DEMO_VIEWS, DEMO_RESOLUTION, DEMO_KEEP = 16, 128, 0.34


def splat_method(entry: Any, out: Path) -> dict[str, object]:
    """A registered Gaussian score on the donut: keep 0.34 in one round of 16 views at 128 px,
    PSNR of the pruned scene against the unpruned one on 4 held-out views."""
    from scenesparse.gaussians import read_ply
    from scenesparse.imagemetrics import psnr
    from scenesparse.importance import default_cameras
    from scenesparse.rendering import render
    from sparsebox.data.sources import fetch

    scene = read_ply(fetch("donut", download=False)[0])
    pruner = create_accepting(entry, keep_ratio=DEMO_KEEP, rounds=1, views=DEMO_VIEWS,
                              resolution=DEMO_RESOLUTION)
    start = time.perf_counter()
    pruner.fit(scene)
    seconds = time.perf_counter() - start
    pruned = scene.subset(pruner.mask_)
    held = default_cameras(scene, 4, DEMO_RESOLUTION, phase=0.5)
    quality = np.mean([psnr(render(pruned, c).image.clamp(0, 1).numpy(),
                            render(scene, c).image.clamp(0, 1).numpy()) for c in held])
    return {"method": entry.name, "data": "donut", "seconds": seconds,
            "result": f"kept {len(pruned):,} of {len(scene):,}, PSNR {quality:.1f} dB (1 round)"}


def splat_frames_method(entry: Any, out: Path) -> dict[str, object]:
    """A registered frame-to-frame method on a two-frame video of the donut (a ball of 5% of its
    Gaussians turns and slides; 4 cameras at 64 px, 2 epochs): gated Gaussians against the
    ones that really moved."""
    from scenesparse.gaussians import read_ply
    from scenesparse.queen.video import make_moving_video, read_video
    from sparsebox.data.sources import fetch

    scene = read_ply(fetch("donut", download=False)[0])
    with tempfile.TemporaryDirectory(prefix="queen_video_", dir=out) as video:
        # an input made for this run only, so that the demo can run again into the same --out
        truth = make_moving_video(scene, Path(video), frames=2, cameras=4, resolution=64,
                                  angle_deg=20, shift=0.1)
        before, after = read_video(Path(video))
        est = create_accepting(entry, epochs=2)
        start = time.perf_counter()
        est.fit(scene, before.cameras, after.images(), before.images())
        seconds = time.perf_counter() - start
    hits = int(est.mask_[truth["moving"]].sum())
    return {"method": entry.name, "data": "donut video", "seconds": seconds,
            "result": f"gated {int(est.mask_.sum()):,} of {len(scene):,} Gaussians, "
                      f"{hits:,} of the {len(truth['moving']):,} that moved"}


def nerf_views_method(entry: Any, out: Path) -> dict[str, object]:
    """A registered hash-cell method on the lego photos at 32 px (a small grid, 300 steps):
    entries kept and PSNR on two held-out views after pruning."""
    from scenesparse.photos import photo_views
    from sparsebox.data.sources import fetch

    views = photo_views(fetch("lego", download=False)[0].parent, resolution=32,
                        background=(1.0, 1.0, 1.0))
    est = create_accepting(entry, levels=4, table_size=2**12, base_resolution=4,
                           finest_resolution=64, saliency_resolution=16, occupancy_resolution=16,
                           steps=300, batch_rays=256, saliency_budget=0.1)
    start = time.perf_counter()
    est.fit(views).prune()
    seconds = time.perf_counter() - start
    quality = est.evaluate(views.test_cameras[:2], views.test_images[:2])
    return {"method": entry.name, "data": "lego at 32 px", "seconds": seconds,
            "result": f"kept {int(est.mask_.sum()):,} of {est.mask_.size:,} hash entries, "
                      f"{quality['psnr']:.1f} dB"}


def point_method(entry: Any, out: Path) -> dict[str, object]:
    """A registered point method on the bunny mesh's vertices (samplers at keep ratio 0.25):
    kept points and the Chamfer distance to the mesh's vertices."""
    from scenesparse.pointio import read_points
    from scenesparse.points import chamfer_hausdorff
    from sparsebox.data.sources import fetch

    cloud = read_points(fetch("bunny", download=False)[0])
    est = entry.create()
    if "keep_ratio" in est.sizing:
        est.set_params(keep_ratio=0.25)
    start = time.perf_counter()
    mask = est.fit(cloud.points).mask_
    seconds = time.perf_counter() - start
    kept = cloud.subset(mask)
    chamfer, _ = chamfer_hausdorff(kept.points, cloud.points)
    return {"method": entry.name, "data": "bunny", "seconds": seconds,
            "result": f"kept {len(kept):,} of {len(cloud):,} points ({len(kept.faces):,} of "
                      f"{len(cloud.faces):,} faces), Chamfer {chamfer:.2e}"}


def prune_splats(out: Path) -> dict[str, object]:
    """Prune the shared Gaussian-splat scene to a third (what `sparsebox scene prune-splats`
    does) and write the pruned PLY, its report and the side-by-side PNG into ``out``."""
    from scenesparse.splatjob import prune_splat_file
    from sparsebox.data.sources import fetch

    (scene,) = fetch("donut", download=False)
    start = time.perf_counter()
    r = prune_splat_file(scene, out / "donut_pruned.ply", keep_ratio=DEMO_KEEP,
                         image=out / "donut_side_by_side.png", report=out / "splats_report.json")
    return {"method": "prune-splats (radsplat, 3 rounds)", "data": "donut",
            "result": f"kept {r['kept']:,} of {r['total']:,}, PSNR {r['psnr']:.1f} dB, "
                      f"SSIM {r['ssim']:.3f}", "seconds": time.perf_counter() - start}
