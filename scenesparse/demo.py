"""The scene part of `sparsebox demo`."""

from __future__ import annotations

import time
from pathlib import Path

from typer.testing import CliRunner


def prune_splats(out: Path) -> dict[str, object]:
    """Prune the shared Gaussian-splat scene to a third through the command line."""
    import json

    from sparsebox.cli import app
    from sparsebox.data import fetch

    (scene,) = fetch("donut", download=False)
    report = out / "splats_report.json"
    start = time.perf_counter()
    result = CliRunner().invoke(app, [
        "scene", "prune-splats", str(scene), str(out / "donut_pruned.ply"), "--keep-ratio",
        "0.34", "--report", str(report),
        "--image", str(out / "donut_side_by_side.png")])
    if result.exit_code != 0:
        raise RuntimeError(result.output)
    r = json.loads(report.read_text())
    return {"method": "splat pruning (radsplat, 3 rounds)", "data": "donut",
            "result": f"kept {r['kept']:,} of {r['total']:,}, PSNR {r['psnr']:.1f} dB, "
                      f"SSIM {r['ssim']:.3f}", "seconds": time.perf_counter() - start}
