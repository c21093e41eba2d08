"""The scene part of `sparsebox demo`."""

from __future__ import annotations

import json
import time
from pathlib import Path


def prune_splats(out: Path) -> dict[str, object]:
    """Prune the shared Gaussian-splat scene to a third (what `sparsebox scene prune-splats`
    does) and write the pruned PLY, its report and the side-by-side PNG into ``out``."""
    from scenesparse.splatjob import prune_splat_file
    from sparsebox.data import fetch

    (scene,) = fetch("donut", download=False)
    start = time.perf_counter()
    r = prune_splat_file(scene, out / "donut_pruned.ply", keep_ratio=0.34,
                         image=out / "donut_side_by_side.png")
    (out / "splats_report.json").write_text(json.dumps(r, indent=2))
    return {"method": "splat pruning (radsplat, 3 rounds)", "data": "donut",
            "result": f"kept {r['kept']:,} of {r['total']:,}, PSNR {r['psnr']:.1f} dB, "
                      f"SSIM {r['ssim']:.3f}", "seconds": time.perf_counter() - start}
