"""How far QUEEN's gates can go on the donut video of ``queen.py``: the gates trained on the
position residuals the encoder learns, beside the same gates trained on the true residuals.

    python benchmarks/queen_gates.py                         # frames 1-3, lambda_l0 0.1 and 0.01
    python benchmarks/queen_gates.py --lambdas 0.1 --encode 1

Both runs are the encoder of ``sparsebox scene queen encode`` with the same gate initialisation,
masks, steps and L0 penalty (``--lambdas``). In the second the position residual of every
Gaussian is fixed, before training, to the displacement that takes it from where the previous
decoded frame has it to where the video's ground truth has it (0 for a Gaussian that stays
where it should be); only the gates and the other attributes train. What those gates select is
limited by what the training views show of each Gaussian (its photometric gain against the L0
penalty), not by how well its residual is learned: a ceiling for this video.

Reports, per setting and frame: Gaussians gated, precision, recall against every moving
Gaussian and against those that can be seen (blending weight >= 0.05 in a training view of
frame 0), PSNR of the decoded frame on the held-out camera. Writes queen_gates.json and
queen_gates.md into --out; the video is ``queen.py``'s (--work, made there or here).
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np
import torch
from _common import (
    add_list_option,
    add_out_option,
    at_least,
    command_line,
    count,
    fail,
    refuse_repeats,
    to_json,
)
from queen import add_video_options, check_video_options, gate_scores, shown, video, visible
from rich.console import Console

from scenesparse.gaussians import read_ply
from scenesparse.imagemetrics import psnr
from scenesparse.queen.encoder import QueenEncoder
from scenesparse.queen.residuals import FrameResiduals, QueenConfig
from scenesparse.queen.video import moved_gaussians, read_video
from scenesparse.rendering import render


class TrueResidualEncoder(QueenEncoder):
    """QUEEN's encoder with every position residual fixed to the true one (see the module
    docstring); everything else trains as in :class:`QueenEncoder`."""

    def __init__(self, truth: dict, first, config: QueenConfig) -> None:
        super().__init__(config)
        self.truth = truth
        self.first = first

    def make_residuals(self, gate_init: torch.Tensor) -> FrameResiduals:
        residuals = super().make_residuals(gate_init)
        target, _ = moved_gaussians(self.truth, self.first.means.detach(),
                                    self.first.quats.detach(), self.state_.index + 1)
        with torch.no_grad():
            residuals.delta.copy_(target - self.state_.params["means"])
        residuals.delta.requires_grad_(False)  # Adam leaves a parameter without gradient alone
        return residuals


def run(encoder: QueenEncoder, frames, scene0, train, test_camera, moving, seen, encode,
        label, console) -> list[dict]:
    cams = frames[0].cameras
    encoder.start(scene0, [cams[i] for i in train], [frames[0].images()[i] for i in train])
    rows = []
    for t in range(1, encode + 1):
        images = frames[t].images()
        started = time.perf_counter()
        encoder.encode_frame([cams[i] for i in train], [images[i] for i in train])
        with torch.no_grad():
            image = render(encoder.scene(), cams[test_camera]).image.clamp(0, 1).numpy()
        rows.append({"index": t, **gate_scores(encoder.frames_[-1].gated, moving, seen),
                     "psnr": psnr(image, images[test_camera].numpy()),
                     "seconds": time.perf_counter() - started})
        r = rows[-1]
        console.print(f"{label} frame {t}: gated {r['gated']}, precision "
                      f"{shown(r['precision'], 2)}, recall {r['recall']:.3f} (visible "
                      f"{shown(r['recall_visible'], 2)}), PSNR "
                      f"{r['psnr']:.2f} dB, {r['seconds']:.0f} s")
    return rows


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    add_video_options(ap)
    ap.add_argument("--encode", type=count(1), default=3,
                    help="frames encoded after frame 0 (at most --frames - 1; default 3)")
    add_list_option(ap, "--lambdas", item=at_least(0.0, above=True), default=[0.1, 0.01],
                    metavar="LAMBDA",
                    help="weights > 0 of the gates' L0 penalty (QueenConfig.lambda_l0), "
                         "space- or comma-separated (default 0.1 0.01)")
    add_out_option(ap, "queen_gates.json and queen_gates.md")
    args = ap.parse_args(argv)
    if args.encode >= args.frames:
        fail(f"--encode must be at most {args.frames - 1} (--frames {args.frames})")
    refuse_repeats("--lambdas", args.lambdas)
    out = check_video_options(args, ["queen_gates.json", "queen_gates.md"])
    console = Console(markup=False, highlight=False)
    torch.set_num_threads(1)
    folder, truth = video(args, console)
    frames = read_video(folder)
    scene0 = read_ply(frames[0].folder / "point_cloud.ply")
    train = [i for i in range(len(frames[0].cameras)) if i != args.test_camera]
    moving = np.zeros(len(scene0), dtype=bool)
    moving[truth["moving"]] = True
    seen = visible(scene0, [frames[0].cameras[i] for i in train])
    settings = []
    for lam in args.lambdas:
        config = QueenConfig(epochs=args.epochs, lambda_l0=lam)
        for residuals, encoder in (("learned", QueenEncoder(config)),
                                   ("true", TrueResidualEncoder(truth, scene0, config))):
            rows = run(encoder, frames, scene0, train, args.test_camera, moving, seen,
                       args.encode, f"lambda_l0 {lam:g}, {residuals} residuals", console)
            settings.append({"lambda_l0": lam, "residuals": residuals, "frames": rows})
    result = {"meta": {"command": command_line(argv), "date": time.strftime("%Y-%m-%d"),
                       "python": platform.python_version(), "epochs": args.epochs,
                       "video": truth | {"moving": None, "recoloured": None},
                       "moving": int(moving.sum()), "moving_visible": int((moving & seen).sum()),
                       "test_camera": args.test_camera},
              "settings": settings}
    (out / "queen_gates.json").write_text(to_json(result, indent=2))
    md = [f"Command: `{result['meta']['command']}` ({result['meta']['date']})", "",
          f"Donut video of `benchmarks/queen.py`: {args.frames} frames, {args.cameras} cameras at "
          f"{args.resolution} px (camera {args.test_camera} held out), {len(scene0):,} Gaussians, "
          f"{result['meta']['moving']:,} moving ({result['meta']['moving_visible']:,} of them "
          f"visible); frames 1-{args.encode} encoded, {args.epochs} x {len(train)} steps each.",
          "", "| lambda_l0 | position residuals | frame | gated | precision | recall | "
          "recall (visible) | PSNR |", "|---|---|---|---|---|---|---|---|"]
    for s in settings:
        for r in s["frames"]:
            md.append(f"| {s['lambda_l0']:g} | {s['residuals']} | {r['index']} | {r['gated']:,} "
                      f"| {shown(r['precision'], 2)} | {r['recall']:.3f} | "
                      f"{shown(r['recall_visible'], 2)} | "
                      f"{r['psnr']:.2f} |")
    (out / "queen_gates.md").write_text("\n".join(md) + "\n")
    console.print(f"wrote {out / 'queen_gates.json'} and queen_gates.md")


if __name__ == "__main__":
    main()
