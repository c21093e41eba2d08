"""QUEEN on a synthetic multi-view video of the donut, beside training every frame in full.

    python benchmarks/queen.py                       # 30 frames, 12 cameras, 128 px
    python benchmarks/queen.py --frames 5            # a quick look

The video (made once into --work, default out/queen_video): a ball of 5% of the
donut's Gaussians turns by 45 degrees about its centre and slides by a quarter of the scene's
extent over the frames; another 5% turns red. Camera --test-camera is held out of training.
A --work folder is reused when it holds this video, made afresh when it holds another video
this script made (its ground_truth.json), and refused when it holds anything else.

Side by side, from the same frame 0 and for the same steps per frame (epochs x training cameras):

* QUEEN: gated position residuals and quantised latent residuals, coded into a real stream
  (``sparsebox scene queen encode``'s path); the PSNR is that of the frame a reader decodes.
* full: every attribute of every Gaussian trained from the previous frame with 3DGS's rates, no
  coding (the quality reference).

Reports, per frame: bytes in the file, PSNR on the held-out camera, the gate's precision and
recall against the Gaussians that really move (all of them, and those that can be seen: blending
weight >= 0.05 in a training view of frame 0), the training-time rate estimate against the
coder's bytes, seconds. Writes queen.json, queen.md, queen.png and the encoded stream video.qsv into --out.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

import numba
import numpy as np
import torch
from _common import (
    DEFAULT_OUT,
    add_out_option,
    check_startup,
    command_line,
    count,
    fail,
    finite,
    folder_path,
    output_folder,
    to_json,
)
from rich.console import Console

from scenesparse.gaussians import read_ply
from scenesparse.imagemetrics import psnr
from scenesparse.queen.residuals import QueenConfig
from scenesparse.queen.stream import QueenStream
from scenesparse.queen.video import encode_video, make_moving_video, read_video
from scenesparse.rendering import render
from scenesparse.training import SplatTrainer
from sparsebox.data import fetch
from sparsebox.outputs import is_writable


def own_video(folder: Path) -> bool:
    """Whether ``folder`` holds only a video of ``make_moving_video`` (its ground truth and its
    frame folders), which this script may replace."""
    try:
        truth = json.loads((folder / "ground_truth.json").read_text())
    except (OSError, ValueError):
        return False
    keys = {"frames", "gaussians", "moving", "recoloured", "angle_deg", "shift"}
    return isinstance(truth, dict) and keys <= truth.keys() and all(
        p.name == "ground_truth.json" or (p.is_dir() and p.name.startswith("frame_"))
        for p in folder.iterdir())


def add_video_options(ap: argparse.ArgumentParser) -> None:
    """The video's options (shared with ``queen_gates.py``)."""
    ap.add_argument("--frames", type=count(2), default=30, help="frames of the video (default 30)")
    ap.add_argument("--cameras", type=count(2), default=12,
                    help="cameras of the video, the test camera included (default 12)")
    ap.add_argument("--resolution", type=count(1), default=128,
                    help="width and height of the rendered views in pixels (default 128)")
    ap.add_argument("--angle", type=finite, default=45.0,
                    help="degrees the moving ball turns over the video (default 45)")
    ap.add_argument("--shift", type=finite, default=0.25,
                    help="slide of the moving ball over the video, as a share of the scene's "
                         "extent (default 0.25)")
    ap.add_argument("--test-camera", type=count(0), default=0,
                    help="index of the camera held out of training, 0 to --cameras - 1 (default 0)")
    ap.add_argument("--epochs", type=count(1), default=QueenConfig().epochs,
                    help=f"epochs per frame: steps = epochs x training cameras "
                         f"(default {QueenConfig().epochs})")
    ap.add_argument("--work", type=folder_path, default=None,
                    help="folder of the video (default: out/queen_video in the repository, beside "
                         "--out's default, as --out must not hold it)")


def check_video_options(args, outputs: list[str]) -> Path:
    """Check the video's options and --out (where the script writes ``outputs``) before any
    work; returns --out, made."""
    if args.test_camera >= args.cameras:
        fail(f"--test-camera must be in 0..{args.cameras - 1} (--cameras {args.cameras})")
    out = check_startup(args.out, datasets=["donut"], outputs=outputs)
    args.work = args.work or DEFAULT_OUT.parent / "queen_video"  # not in --out's default
    work, where = args.work.resolve(), out.resolve()
    if work == where or work in where.parents or where in work.parents:
        fail(f"--work {args.work} and --out {args.out} must not hold one another (the video is "
             "replaced when its settings change)")
    if args.work.is_dir() and any(args.work.iterdir()) and not own_video(args.work):
        # the video is rendered afresh into --work: only this script's own cache is replaced
        fail(f"--work: {args.work} holds files but no video this script made; name a new or "
             "empty folder")
    args.work = output_folder(args.work, option="--work")
    return out


def video(args, console) -> tuple[Path, dict]:
    folder = args.work
    truth_file = folder / "ground_truth.json"
    wanted = {"frames": args.frames, "cameras": args.cameras, "resolution": args.resolution,
              "angle_deg": args.angle, "shift": args.shift}
    if truth_file.is_file():
        truth = json.loads(truth_file.read_text())
        if all(truth.get(k) == v for k, v in wanted.items()) and "axis" in truth and \
                len(list(folder.glob("frame_*"))) == args.frames:
            console.print(f"video: reusing {folder}")
            return folder, truth
    console.print(f"video: rendering {args.frames} frames x {args.cameras} cameras into {folder}")
    if not is_writable(folder.resolve().parent):  # checked before the cached video goes
        fail(f"--work: the folder above {folder} is not writable (the video is rendered beside "
             "--work and moved in whole)")
    if folder.is_dir() and any(folder.iterdir()):  # main checked: own_video(folder)
        shutil.rmtree(folder)
    donut = read_ply(fetch("donut")[0])
    # rendered beside the folder and moved in whole: a render stopped half-way (Ctrl-C) left
    # frames without the ground_truth.json that is written last, which the next run refused
    partial = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        truth = make_moving_video(donut, partial, frames=args.frames, cameras=args.cameras,
                                  resolution=args.resolution, angle_deg=args.angle,
                                  shift=args.shift, progress=True)
        mask = os.umask(0)
        os.umask(mask)
        partial.chmod(0o777 & ~mask)  # mkdtemp's folder is private
        partial.replace(folder)  # folder is gone or empty
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return folder, truth


def visible(scene, cameras, threshold=0.05) -> np.ndarray:
    weight = torch.zeros(len(scene))
    with torch.no_grad():
        for cam in cameras:
            weight = torch.maximum(weight, render(scene, cam, scores=True).max_weight)
    return (weight >= threshold).numpy()


def gate_scores(gated_indices, moving: np.ndarray, seen: np.ndarray) -> dict:
    """Gaussians gated, and the gates' precision and recall against the ``moving`` ones (all,
    and those ``seen``); None where nothing was gated or nothing seen moves (0 of 0 is no
    measure, not 0)."""
    gated = np.zeros(len(moving), dtype=bool)
    gated[gated_indices] = True
    hit = int((gated & moving).sum())
    visible_moving = int((moving & seen).sum())
    return {"gated": int(gated.sum()),
            "precision": hit / int(gated.sum()) if gated.any() else None,
            "recall": hit / int(moving.sum()),
            "recall_visible": (int((gated & moving & seen).sum()) / visible_moving
                               if visible_moving else None)}


def mean_of(values: list) -> float | None:
    """The mean of the frames' measures that exist (None where none does)."""
    values = [v for v in values if v is not None]
    return float(np.mean(values)) if values else None


def shown(value: float | None, digits: int) -> str:
    """A measure as the tables show it: ``n/a`` where it does not exist."""
    return "n/a" if value is None else f"{value:.{digits}f}"


def full_training(folder: Path, test_camera: int, epochs: int, console) -> list[dict]:
    frames = read_video(folder)
    cams = frames[0].cameras
    train = [i for i in range(len(cams)) if i != test_camera]
    scene = read_ply(frames[0].folder / "point_cloud.ply")
    rows = []
    for t, frame in enumerate(frames[1:], start=1):
        images = frame.images()
        started = time.perf_counter()
        trainer = SplatTrainer(scene, [cams[i] for i in train], [images[i] for i in train],
                               seed=t)
        trainer.train(epochs * len(train))
        scene = trainer.scene()
        seconds = time.perf_counter() - started
        with torch.no_grad():
            image = render(scene, cams[test_camera]).image.clamp(0, 1).numpy()
        rows.append({"index": t, "psnr": psnr(image, images[test_camera].numpy()),
                     "seconds": seconds})
        console.print(f"full {t}: PSNR {rows[-1]['psnr']:.2f} dB, {seconds:.0f} s")
    return rows


def plot(result, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = result["queen"]["frames"][1:]
    t = [r["index"] for r in rows]
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.6))
    a.bar(t, [r["bytes"] / 1024 for r in rows], color="tab:blue")
    a.axhline(result["summary"]["ply_bytes"] / 20 / 1024, color="tab:red", ls="--",
              label="1/20 of the frame as a PLY")
    a.set(xlabel="frame", ylabel="KiB in the stream", title="bytes per frame")
    a.legend()
    b.plot(t, [r["psnr"] for r in rows], "o-", label="QUEEN (decoded)")
    b.plot(t, [r["psnr"] for r in result["full"]], "s-", label="full training, uncoded")
    b.set(xlabel="frame", ylabel="PSNR (dB), held-out camera", title="quality")
    b.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    add_video_options(ap)
    add_out_option(ap, "queen.json, queen.md, queen.png and video.qsv")
    args = ap.parse_args(argv)
    out = check_video_options(args, ["queen.json", "queen.md", "queen.png"])
    console = Console(markup=False, highlight=False)
    torch.set_num_threads(1)
    folder, truth = video(args, console)
    frames = read_video(folder)
    scene0 = read_ply(frames[0].folder / "point_cloud.ply")
    train_cams = [c for i, c in enumerate(frames[0].cameras) if i != args.test_camera]
    moving = np.zeros(len(scene0), dtype=bool)
    moving[truth["moving"]] = True
    seen = visible(scene0, train_cams)
    gates = []

    def on_frame(row, encoder):
        g = {"index": row["index"], **gate_scores(encoder.frames_[-1].gated, moving, seen)}
        gates.append(g)
        console.print(f"QUEEN {row['index']}: {row['bytes']:,} B, PSNR {row['psnr']:.2f} dB, "
                      f"gated {g['gated']}, precision {shown(g['precision'], 2)}, recall "
                      f"{g['recall']:.2f} (visible {shown(g['recall_visible'], 2)}), "
                      f"{row['seconds']:.0f} s")

    config = QueenConfig(epochs=args.epochs)
    stream_path = out / "video.qsv"
    started = time.perf_counter()
    report = encode_video(folder, stream_path, test_camera=args.test_camera, config=config,
                          on_frame=on_frame)
    queen_seconds = time.perf_counter() - started
    # what a reader gets: replay the whole file and compare with the encoder's last frame
    stream = QueenStream(stream_path)
    info = stream.info()
    assert info["header_bytes"] + sum(f["bytes"] for f in info["frames"]) == \
        stream_path.stat().st_size
    last = stream.frame(len(stream) - 1)
    with torch.no_grad():
        image = render(last, frames[0].cameras[args.test_camera]).image.clamp(0, 1).numpy()
    decoded_psnr = psnr(image, frames[-1].images()[args.test_camera].numpy())
    full = full_training(folder, args.test_camera, args.epochs, console)
    rows = report["frames"]
    summary = {
        "frames": len(rows), "gaussians": report["gaussians"], "ply_bytes": report["ply_bytes"],
        "file_bytes": stream_path.stat().st_size,
        "mean_bytes_per_frame": stream_path.stat().st_size / len(rows),
        "mean_residual_frame_bytes": report["mean_residual_frame_bytes"],
        "frame0_bytes": rows[0]["bytes"],
        "coded_over_estimate": report["coded_bits"] / max(report["estimate_bits"], 1e-9),
        "queen_psnr": float(np.mean([r["psnr"] for r in rows[1:]])),
        "full_psnr": float(np.mean([r["psnr"] for r in full])),
        "last_frame_psnr_decoded_from_file": decoded_psnr,
        "precision": mean_of([g["precision"] for g in gates]),
        "recall": float(np.mean([g["recall"] for g in gates])),
        "recall_visible": mean_of([g["recall_visible"] for g in gates]),
        "queen_seconds_per_frame": report["seconds_per_frame"],
        "full_seconds_per_frame": float(np.mean([r["seconds"] for r in full])),
        "steps_per_frame": rows[1]["steps"], "queen_total_seconds": queen_seconds}
    video_meta = truth | {"moving": None, "recoloured": None}
    result = {"meta": {"command": command_line(argv), "date": time.strftime("%Y-%m-%d"),
                       "python": platform.python_version(),
                       "numba_threads": numba.config.NUMBA_NUM_THREADS, "video": video_meta,
                       "moving": int(moving.sum()), "moving_visible": int((moving & seen).sum()),
                       "test_camera": args.test_camera, "epochs": args.epochs},
              "summary": summary, "queen": report, "gates": gates, "full": full}
    (out / "queen.json").write_text(to_json(result, indent=2))
    plot(result, out / "queen.png")
    s = summary
    md = [f"Command: `{result['meta']['command']}` ({result['meta']['date']}, "
          f"{result['meta']['numba_threads']} numba thread(s))", "",
          f"Donut video: {s['frames']} frames, {args.cameras} cameras at {args.resolution} px "
          f"(camera {args.test_camera} held out), {s['gaussians']:,} Gaussians, "
          f"{result['meta']['moving']:,} moving ({result['meta']['moving_visible']:,} of them "
          f"visible), {s['steps_per_frame']} steps per frame for both methods.", "",
          "| measure | value |", "|---|---|",
          f"| stream file | {s['file_bytes']:,} bytes ({s['frame0_bytes']:,} for frame 0) |",
          f"| mean bytes per frame (file / frames) | {s['mean_bytes_per_frame']:,.0f} |",
          f"| mean bytes per residual frame | {s['mean_residual_frame_bytes']:,.0f} |",
          f"| one frame as a PLY | {s['ply_bytes']:,} (1/20: {s['ply_bytes'] / 20:,.0f}) |",
          f"| coder's bytes / training-time entropy estimate | {s['coded_over_estimate']:.4f} |",
          f"| PSNR, QUEEN decoded (mean of frames 1..) | {s['queen_psnr']:.2f} dB |",
          f"| PSNR, full training uncoded | {s['full_psnr']:.2f} dB |",
          f"| last frame decoded from the file | {s['last_frame_psnr_decoded_from_file']:.2f} dB |",
          f"| gate precision (mean over frames) | {shown(s['precision'], 3)} |",
          f"| gate recall, all moving / visible moving | {s['recall']:.3f} / "
          f"{shown(s['recall_visible'], 3)} |",
          f"| seconds per frame, QUEEN / full (CPU) | {s['queen_seconds_per_frame']:.1f} / "
          f"{s['full_seconds_per_frame']:.1f} |", "",
          "| frame | bytes | PSNR QUEEN | PSNR full | gated | precision | recall (visible) |",
          "|---|---|---|---|---|---|---|"]
    for r, f, g in zip(rows[1:], full, gates, strict=True):
        md.append(f"| {r['index']} | {r['bytes']:,} | {r['psnr']:.2f} | {f['psnr']:.2f} | "
                  f"{g['gated']} | {shown(g['precision'], 2)} | {g['recall']:.2f} "
                  f"({shown(g['recall_visible'], 2)}) |")
    (out / "queen.md").write_text("\n".join(md) + "\n")
    console.print(f"wrote {out / 'queen.json'}, queen.md, queen.png and video.qsv")


if __name__ == "__main__":
    main()
