"""GPU timings of the scene and graph-transformer paths, each beside the CPU backend's.

    python benchmarks/gpu_timings.py --out OUT                 # on a machine with a CUDA GPU
    python benchmarks/gpu_timings.py --out OUT --device cpu    # a dry run of the same code here

Every part is guarded: a failure is recorded with its message and the next part runs. Writes
gpu_timings.json into --out: per part, the CPU's run and the device's (``cpu`` and ``device``,
each naming its backend) and ``cpu_over_device``, the ratio of their times. Parts:

* splat-scores: one scoring pass (render statistics) of the 45,624-Gaussian donut from 32 views at
  256 px, gsplat on the GPU against numba on the CPU;
* splat-step: one training step (render, 0.8 L1 + 0.2 D-SSIM, backward, Adam) at 256 px, median of
  10, same pair;
* queen-frame: one QUEEN frame (12 cameras at 128 px, 10 epochs) of a two-frame donut video;
* gtsp-step: one training step of the GTSP model (all four axes at keep 0.5) on a batch of 128
  ogbg-molbace molecules, on the device against one CPU thread.

`benchmarks/gpu_check.sh` runs this after the gpu-marked tests and the walk benchmark.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import tempfile
import time
import traceback

import torch
from _common import (
    add_out_option,
    add_parts_option,
    check_startup,
    command_line,
    fail,
    to_json,
)


def _synchronize(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def _scene_on(scene, device: str):
    from scenesparse.gaussians import GaussianScene

    return GaussianScene(*(t.to(device) for t in (scene.means, scene.quats, scene.log_scales,
                                                   scene.opacity_logits, scene.sh_dc,
                                                   scene.sh_rest)))


def _backend(device: str) -> str:
    return "gsplat" if device == "cuda" else "numba"


def _with_ratio(out: dict, key: str) -> dict:
    """``out`` (the CPU's and the device's runs, by role) with the CPU's time over the
    device's: the figure to quote, from one process run."""
    return {**out, "cpu_over_device": out["cpu"][key] / out["device"][key]}


def splat_scores(device: str) -> dict:
    from scenesparse.gaussians import read_ply
    from scenesparse.importance import default_cameras, render_statistics
    from sparsebox.data import fetch

    donut = read_ply(fetch("donut", download=False)[0])
    cams = default_cameras(donut, 32, 256)
    out = {}
    for role, scene, backend in (("cpu", donut, "numba"),
                                 ("device", _scene_on(donut, device), _backend(device))):
        render_statistics(scene, cams[:2], backend=backend)  # compile / warm up
        _synchronize(device)
        start = time.perf_counter()
        stats = render_statistics(scene, cams, backend=backend)
        _synchronize(device)
        out[role] = {"backend": backend, "seconds": time.perf_counter() - start,
                     "max_weight_sum": float(stats.max_weight.sum())}
    return _with_ratio(out, "seconds")


def splat_step(device: str) -> dict:
    from scenesparse.gaussians import read_ply
    from scenesparse.importance import default_cameras
    from scenesparse.rendering import render
    from scenesparse.training import SplatTrainer
    from sparsebox.data import fetch

    donut = read_ply(fetch("donut", download=False)[0])
    cams = default_cameras(donut, 8, 256)
    with torch.no_grad():
        targets = [render(donut, c).image.clamp(0, 1) for c in cams]
    out = {}
    for role, where, backend in (("cpu", "cpu", "numba"), ("device", device, _backend(device))):
        trainer = SplatTrainer(_scene_on(donut, where), cams, [t.to(where) for t in targets],
                               backend=backend)
        trainer.train(2)
        times = []
        for _ in range(10):
            _synchronize(where)
            start = time.perf_counter()
            trainer.step()
            _synchronize(where)
            times.append(time.perf_counter() - start)
        out[role] = {"backend": backend, "median_seconds": statistics.median(times),
                     "steps": len(times)}
    return _with_ratio(out, "median_seconds")


def queen_frame(device: str) -> dict:
    from scenesparse.gaussians import read_ply
    from scenesparse.queen.encoder import QueenEncoder
    from scenesparse.queen.residuals import QueenConfig
    from scenesparse.queen.video import make_moving_video, read_video
    from sparsebox.data import fetch

    donut = read_ply(fetch("donut", download=False)[0])
    # a scratch folder, not --out: a second run into the same --out found the first one's
    # frames there and the part failed (make_moving_video takes an empty folder)
    with tempfile.TemporaryDirectory(prefix="queen_video_") as work:
        make_moving_video(donut, work, frames=2, cameras=12, resolution=128)
        first, second = read_video(work)
        cameras, before, after = first.cameras, first.images(), second.images()
    out = {}
    for role, where, backend in (("cpu", "cpu", "numba"), ("device", device, _backend(device))):
        encoder = QueenEncoder(QueenConfig(), backend=backend)
        encoder.start(_scene_on(donut, where), cameras, [t.to(where) for t in before])
        _synchronize(where)
        start = time.perf_counter()
        record = encoder.encode_frame(cameras, [t.to(where) for t in after])
        _synchronize(where)
        out[role] = {"backend": backend, "seconds": time.perf_counter() - start,
                     "gated": int(len(record.gated)), "steps": encoder.frames_[-1].steps}
    return _with_ratio(out, "seconds")


def gtsp_step(device: str) -> dict:
    from torch_geometric.data import Batch

    from graphsparse.gtsp.data import load_molecules
    from graphsparse.gtsp.protocol import RunSpec, build_run

    task = load_molecules("ogbg-molbace", max_graphs=400)
    out = {}
    for role, where in (("cpu", "cpu"), ("device", device)):
        torch.set_num_threads(1) if role == "cpu" else None
        model, strategy = build_run(RunSpec(("tokens", "heads", "layers", "weights"), 0.5),
                                    task.num_tasks, 100, seed=0)
        model = model.to(where)
        optimizer = torch.optim.AdamW(model.network_parameters(), lr=1e-3)
        state = strategy.initialize_state(model)
        batch = Batch.from_data_list(task.train[:128]).to(where)
        times = []
        for step in range(6):
            _synchronize(where)
            start = time.perf_counter()
            optimizer.zero_grad(set_to_none=True)
            loss = task.loss(model(batch), batch.y) + strategy.step_pre_backward(
                model, optimizer, state, step).to(where)
            loss.backward()
            optimizer.step()
            strategy.step_post_backward(model, optimizer, state, step)
            _synchronize(where)
            times.append(time.perf_counter() - start)
        out[role] = {"where": where, "median_seconds": statistics.median(times[1:]),
                     "graphs": 128}
    return _with_ratio(out, "median_seconds")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--device", default="cuda", choices=("cuda", "cpu"),
                    help="device timed beside the CPU: cuda, or cpu for a dry run (default cuda)")
    add_parts_option(ap, ["splat-scores", "splat-step", "queen-frame", "gtsp-step"],
                     what="parts to time", metavar="PART")
    add_out_option(ap, "gpu_timings.json")
    args = ap.parse_args(argv)
    device = args.device
    if device == "cuda" and not torch.cuda.is_available():
        fail("no CUDA device: run with --device cpu for a dry run")
    splats = device == "cuda" and any(p != "gtsp-step" for p in args.parts)
    gtsp = "gtsp-step" in args.parts
    out = check_startup(args.out, packages=["gsplat"] * splats + ["ogb"] * gtsp,
                        datasets=["donut"] * any(p != "gtsp-step" for p in args.parts)
                        + ["ogbg-molbace"] * gtsp, outputs=["gpu_timings.json"])
    result = {"meta": {"command": command_line(argv), "date": time.strftime("%Y-%m-%d %H:%M"),
                       "python": platform.python_version(), "torch": torch.__version__,
                       "device": torch.cuda.get_device_name(0) if device == "cuda" else "cpu"},
              "parts": {}}
    runs = {"splat-scores": lambda: splat_scores(device),
            "splat-step": lambda: splat_step(device),
            "queen-frame": lambda: queen_frame(device),
            "gtsp-step": lambda: gtsp_step(device)}
    for name in args.parts:
        start = time.perf_counter()
        try:
            value = {"ok": True, **runs[name]()}
        except Exception as err:  # a failed part is recorded; the others still run
            value = {"ok": False, "error": f"{type(err).__name__}: {err}",
                     "traceback": traceback.format_exc(limit=8)}
        value["wall_seconds"] = time.perf_counter() - start
        result["parts"][name] = value
        print(to_json({name: {k: v for k, v in value.items() if k != "traceback"}}),
              flush=True)
        (out / "gpu_timings.json").write_text(to_json(result, indent=2))
    return 0 if all(p["ok"] for p in result["parts"].values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
