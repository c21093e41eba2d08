"""Multi-view videos on disk: reading the frame layout, encoding it, and making a synthetic one.

Layout of ``FRAMES_DIR``::

    frame_0000/transforms.json   NeRF-synthetic cameras: camera_angle_x, frames[].file_path,
                                 frames[].transform_matrix (camera-to-world, Blender/OpenGL axes)
    frame_0000/<images>          the photos it names (RGB or RGBA PNG, black background)
    frame_0000/point_cloud.ply   the trained first frame (INRIA layout)
    frame_0001/transforms.json   the same cameras, the next frame's photos
    ...

:func:`make_moving_video` writes one from a trained scene: a known set of Gaussians moves
rigidly and another changes colour, so a gate's precision and recall can be measured
(``ground_truth.json`` lists both sets).
"""

from __future__ import annotations

import json
import math
import os
import re
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from scenesparse.cameras import Camera, orbit_cameras, transforms_json
from scenesparse.gaussians import GaussianScene, check_finite, read_ply, write_ply
from scenesparse.imagemetrics import psnr
from scenesparse.rendering import render
from sparsebox._validation import check_int
from sparsebox.exceptions import InputFileError, InvalidParameterError
from sparsebox.outputs import counted

__all__ = ["VideoFrame", "read_video", "make_moving_video", "moved_gaussians",
           "check_stream_output", "encode_video"]


@dataclass
class VideoFrame:
    folder: Path
    cameras: list[Camera]
    photos: list[Path]

    def images(self) -> list[torch.Tensor]:
        from scenesparse.photos import load_image

        return [load_image(p, c.width, c.height, resize=False) for c, p in  # never stretched
                zip(self.cameras, self.photos, strict=True)]


def read_video(frames_dir: str | os.PathLike[str]) -> list[VideoFrame]:
    """The frames of ``frames_dir`` (see the module docstring), checked: every frame has a
    ``transforms.json`` with the same cameras as frame 0 (poses and intrinsics), every photo has
    its camera's size, and frame 0 has ``point_cloud.ply``."""
    from PIL import Image

    from scenesparse.photos import transforms_views

    root = Path(frames_dir)
    if not root.is_dir():
        if root.exists():
            raise NotADirectoryError(f"{root}: is a file, not a folder of frames")
        raise FileNotFoundError(f"{root}: no such folder of frames")
    named = {d.name: d for d in root.iterdir()  # frame_0000_old is no frame
             if d.is_dir() and re.fullmatch(r"frame_[0-9]+", d.name)}
    if len(named) < 2:
        raise InputFileError(f"{root}: needs at least two frame_NNNN folders, found "
                             f"{len(named)}")
    folders = [named.get(f"frame_{t:04d}") for t in range(len(named))]
    if None in folders:  # frames are numbered from 0 without gaps, four digits: frame_0000...
        t = folders.index(None)
        raise InputFileError(f"{root}: frame_{t:04d} is missing; frames are frame_0000, "
                             f"frame_0001, ... without gaps (found {', '.join(sorted(named))})")
    if not (folders[0] / "point_cloud.ply").is_file():
        raise InputFileError(f"{folders[0]}: no point_cloud.ply (the trained first frame)")
    frames = []
    for folder in folders:
        meta = folder / "transforms.json"
        if not meta.is_file():
            raise InputFileError(f"{folder}: no transforms.json")
        try:
            cams, photos = transforms_views(meta)
        except (KeyError, TypeError) as err:
            raise InputFileError(f"{meta}: not a NeRF transforms.json ({err})") from None
        except ValueError as err:  # read_transforms and cameras_from_transforms name the file
            raise InputFileError(str(err)) from None
        frames.append(VideoFrame(folder, cams, photos))
    first = frames[0].cameras
    for frame in frames[1:]:
        if len(frame.cameras) != len(first):
            raise InputFileError(f"{frame.folder / 'transforms.json'}: "
                                 f"{counted(len(frame.cameras), 'camera')}, where "
                                 f"{frames[0].folder.name} has {len(first)}")
        moved = next((i for i, (a, b) in enumerate(zip(frame.cameras, first, strict=True))
                      if not torch.allclose(a.world_to_cam, b.world_to_cam, atol=1e-5)), None)
        if moved is not None:
            raise InputFileError(f"{frame.folder / 'transforms.json'}: camera {moved}'s pose "
                                 f"differs from {frames[0].folder.name}'s")
        if (frame.cameras[0].width, frame.cameras[0].height) != (first[0].width, first[0].height):
            raise InputFileError(  # the first photo sets a frame's image size
                f"{frame.photos[0]}: {frame.cameras[0].width}x{frame.cameras[0].height} pixels, "
                f"where {frames[0].folder.name}'s photos are {first[0].width}x{first[0].height}")
        changed = next((i for i, (a, b) in enumerate(zip(frame.cameras, first, strict=True))
                        if not _same_intrinsics(a, b)), None)
        if changed is not None:  # trained and scored against frame 0's cameras: not the same views
            a, b = (", ".join(f"{v:.6g}" for v in (c.fx, c.fy, c.cx, c.cy, c.width, c.height))
                    for c in (frame.cameras[changed], first[changed]))
            raise InputFileError(f"{frame.folder / 'transforms.json'}: camera {changed}'s intrinsics "
                                 f"differ from {frames[0].folder.name}'s (fx, fy, cx, cy, width, "
                                 f"height: {a}, where {frames[0].folder.name} has {b})")
    for frame in frames:  # every photo whole and of its size, before any work (not when its
        for cam, photo in zip(frame.cameras, frame.photos, strict=True):  # frame is trained)
            try:
                with Image.open(photo) as im:  # its header read: transforms_views opened it
                    size = im.size
                    # a truncated or damaged file: a PNG's chunk checksums (read, not inflated);
                    # other formats (JPEG: verify() checks nothing) decoded
                    if im.format == "PNG":
                        im.verify()
                    else:
                        im.load()
            except (OSError, SyntaxError) as err:  # PIL's "broken PNG file" is a SyntaxError
                raise InputFileError(f"{photo}: not a readable image ({err})") from None
            if size != (cam.width, cam.height):
                raise InputFileError(f"{photo}: {size[0]}x{size[1]} pixels, where its camera is "
                                     f"{cam.width}x{cam.height}")
    return frames


def _same_intrinsics(a: Camera, b: Camera) -> bool:
    return (a.width, a.height) == (b.width, b.height) and all(
        math.isclose(x, y, rel_tol=1e-5, abs_tol=1e-6)
        for x, y in ((a.fx, b.fx), (a.fy, b.fy), (a.cx, b.cx), (a.cy, b.cy)))


# ---------------------------------------------------------------------------- a synthetic video
def _quat_multiply(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    w1, x1, y1, z1 = a.unbind(-1)
    w2, x2, y2, z2 = b.unbind(-1)
    return torch.stack([w1 * w2 - x1 * x2 - y1 * y2 - z1 * z2,
                        w1 * x2 + x1 * w2 + y1 * z2 - z1 * y2,
                        w1 * y2 - x1 * z2 + y1 * w2 + z1 * x2,
                        w1 * z2 + x1 * y2 - y1 * x2 + z1 * w2], dim=-1)


def _ball(points: np.ndarray, center: np.ndarray, count: int,
          exclude: np.ndarray | None = None) -> np.ndarray:
    d = np.linalg.norm(points - center, axis=1)
    if exclude is not None:
        d[exclude] = np.inf
    return np.sort(np.argsort(d, kind="stable")[:count])


def make_moving_video(scene: GaussianScene, frames_dir: str | os.PathLike[str], *,
                      frames: int = 30, cameras: int = 12, resolution: int = 128,
                      moving_fraction: float = 0.05, recolour_fraction: float = 0.05,
                      angle_deg: float = 20.0, shift: float = 0.08, seed: int = 0,
                      backend: str = "auto", progress: bool = False) -> dict[str, Any]:
    """Write a ``frames``-frame video of ``scene`` to ``frames_dir``: a ball of Gaussians (the
    ``moving_fraction`` nearest to a random Gaussian) turns by up to ``angle_deg`` about its own
    centre and slides by up to ``shift`` x the scene's extent; another ball changes colour
    towards red. ``cameras`` views on orbits at ``resolution`` px. Returns the ground truth
    (also written to ``ground_truth.json``).

    Raises
    ------
    InvalidParameterError
        Before anything is written, naming the argument: ``frames`` must be an integer >= 2 (a
        reader needs two), ``cameras`` and ``resolution`` integers >= 1, the two fractions in
        (0, 1] adding up to at most 1 (the balls do not overlap), ``angle_deg`` and ``shift``
        finite, and ``scene`` must hold at least two Gaussians."""
    from PIL import Image

    from sparsebox._validation import SEED, check_fraction, check_int, check_real, validate_params
    from sparsebox.progress import make_progress

    frames = check_int("frames", frames, minimum=2)
    cameras = check_int("cameras", cameras, minimum=1)
    resolution = check_int("resolution", resolution, minimum=1)
    moving_fraction = check_fraction("moving_fraction", moving_fraction)
    recolour_fraction = check_fraction("recolour_fraction", recolour_fraction)
    if moving_fraction + recolour_fraction > 1:
        raise InvalidParameterError(f"moving_fraction + recolour_fraction must be <= 1 (the balls "
                                    f"do not overlap), got {moving_fraction} + {recolour_fraction}")
    angle_deg, shift = check_real("angle_deg", angle_deg), check_real("shift", shift)
    validate_params({"seed": seed}, {"seed": SEED})
    if len(scene) < 2:
        raise InvalidParameterError(f"scene must hold at least 2 Gaussians (one moves, another "
                                    f"changes colour), got {len(scene)}")
    check_finite(scene)  # (its frames' PLYs would be refused after frame 0's photos were written)
    root = Path(frames_dir)
    root.mkdir(parents=True, exist_ok=True)
    if any(d.name.startswith("frame_") for d in root.iterdir()):
        # a reader takes every frame_NNNN folder: frames of another video would join this one
        raise InvalidParameterError(f"{root} already holds frame_NNNN folders; write the video "
                                    "into a new or empty folder")
    rng = np.random.default_rng(seed)
    pts = scene.means.detach().numpy()
    lo, hi = np.percentile(pts, 1, 0), np.percentile(pts, 99, 0)
    extent = float(np.linalg.norm(hi - lo))
    n = len(scene)
    moving = _ball(pts, pts[rng.integers(n)], max(1, round(moving_fraction * n)))
    recoloured = _ball(pts, pts[rng.integers(n)], max(1, round(recolour_fraction * n)),
                       exclude=moving)
    centre = pts[moving].mean(axis=0)
    axis = rng.normal(size=3)
    axis /= np.linalg.norm(axis)
    direction = rng.normal(size=3)
    direction /= np.linalg.norm(direction)
    cams = orbit_cameras((lo + hi) / 2, 1.1 * extent, cameras, width=resolution,
                         height=resolution)
    names = [f"r_{i:03d}.png" for i in range(cameras)]
    truth = {"frames": frames, "gaussians": n, "moving": moving.tolist(),
             "recoloured": recoloured.tolist(), "angle_deg": angle_deg, "shift": shift,
             "extent": extent, "centre": centre.tolist(), "axis": axis.tolist(),
             "direction": direction.tolist(), "resolution": resolution, "cameras": cameras,
             "seed": seed}
    with make_progress(enabled=progress, transient=True) as bar:
        task = bar.add_task("rendering the video", total=frames)
        for t in range(frames):
            s = t / max(frames - 1, 1)
            means, quats = moved_gaussians(truth, scene.means.detach(), scene.quats.detach(), t)
            sh_dc = scene.sh_dc.detach().clone()
            r = torch.from_numpy(recoloured)
            sh_dc[r] = sh_dc[r] + s * torch.tensor([1.2, -0.6, -0.6])
            frame = GaussianScene(means=means, quats=quats, log_scales=scene.log_scales.detach(),
                                  opacity_logits=scene.opacity_logits.detach(), sh_dc=sh_dc,
                                  sh_rest=scene.sh_rest.detach())
            folder = root / f"frame_{t:04d}"
            folder.mkdir(exist_ok=True)
            with torch.no_grad():
                for cam, name in zip(cams, names, strict=True):
                    image = render(frame, cam, backend=backend).image.clamp(0, 1)
                    Image.fromarray((image.cpu().numpy() * 255 + 0.5).astype(np.uint8)).save(
                        folder / name)
            (folder / "transforms.json").write_text(json.dumps(transforms_json(cams, names)))
            if t == 0:
                write_ply(folder / "point_cloud.ply", frame)
            bar.update(task, advance=1)
    (root / "ground_truth.json").write_text(json.dumps(truth))
    return truth


def moved_gaussians(truth: dict[str, Any], means: torch.Tensor, quats: torch.Tensor,
                    t: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Frame ``t``'s means and quaternions in a video of :func:`make_moving_video`, from frame
    0's and the video's ``ground_truth.json``: the moving ball turns by ``t / (frames - 1)`` x
    ``angle_deg`` about ``axis`` through ``centre`` and slides by as much of ``shift`` x
    ``extent`` along ``direction``.

    Examples
    --------
    >>> truth = {"frames": 3, "moving": [1], "angle_deg": 0.0, "axis": [0, 0, 1],
    ...          "centre": [0, 0, 0], "shift": 0.5, "extent": 2.0, "direction": [1, 0, 0]}
    >>> means, _ = moved_gaussians(truth, torch.zeros(2, 3), torch.tensor([[1.0, 0, 0, 0]] * 2), 2)
    >>> means.tolist()
    [[0.0, 0.0, 0.0], [1.0, 0.0, 0.0]]
    """
    s = t / max(truth["frames"] - 1, 1)
    half = math.radians(truth["angle_deg"] * s) / 2
    axis = torch.tensor(truth["axis"], dtype=torch.float32)
    q = torch.cat([torch.tensor([math.cos(half)]), math.sin(half) * axis])
    m = torch.tensor(truth["moving"], dtype=torch.int64)
    c = torch.tensor(truth["centre"], dtype=torch.float32)
    slide = truth["shift"] * truth["extent"] * s * torch.tensor(truth["direction"],
                                                                 dtype=torch.float32)
    means, quats = means.clone(), quats.clone()
    means[m] = (means[m] - c) @ _quat_to_matrix(q).T + c + slide
    quats[m] = _quat_multiply(q.expand(len(m), 4), quats[m])
    return means, quats


def _quat_to_matrix(q: torch.Tensor) -> torch.Tensor:
    from scenesparse.rendering import quat_to_rotmat

    return quat_to_rotmat(q[None])[0]


# ---------------------------------------------------------------------------- encoding a video
def check_stream_output(frames_dir: str | os.PathLike[str], frames: list[VideoFrame],
                        output: str | os.PathLike[str], *, option: str = "output",
                        frames_option: str = "frames_dir",
                        beside: dict[str, Path] | None = None) -> Path:
    """``output`` (a ``.qsv`` stream of the video ``frames`` read from ``frames_dir``) as a
    Path once it is a file that can be written and overwrites no input: it is outside
    ``frames_dir`` and no photo a ``transforms.json`` names (they may name any path). The
    files written ``beside`` it (``{what: path}``, a report) are checked alike. Errors name
    ``option`` (and ``frames_option``, where ``frames_dir`` holds the output).

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> check_stream_output(folder / "frames", [], folder / "video.qsv").name
    'video.qsv'
    >>> try:
    ...     check_stream_output(folder, [], folder / "video.qsv")
    ... except ValueError as err:
    ...     print(str(err).split(";")[0].replace(str(folder), "FOLDER"))
    output: FOLDER/video.qsv is inside frames_dir FOLDER
    """
    from sparsebox.outputs import check_output_file, same_place

    output = check_output_file(output, option=option, suffixes=[".qsv"])
    if output.resolve().is_relative_to(Path(frames_dir).resolve()):
        raise InvalidParameterError(f"{option}: {output} is inside {frames_option} {frames_dir}; "
                                    "write the stream elsewhere (inputs are never overwritten)")
    for what, path in {"the stream": output, **(beside or {})}.items():
        if path is not output:
            check_output_file(path, option=f"{option} ({what}, {path.name})")
        named = next((f.folder for f in frames for p in f.photos if same_place(path, p)), None)
        if named is not None:
            raise InvalidParameterError(
                f"{option}: {what}, {path}, would overwrite a photo that "
                f"{named / 'transforms.json'} names; name the stream otherwise (inputs are "
                "never overwritten)")
    return output


def encode_video(frames_dir: str | os.PathLike[str], output: str | os.PathLike[str], *,
                 test_camera: int | None = None, config: Any = None, backend: str = "auto",
                 seed: int = 0, progress: bool = False, on_frame: Any = None,
                 frames: list[VideoFrame] | None = None) -> dict[str, Any]:
    """Encode ``frames_dir`` into the stream ``output``; returns the report (per frame: bytes in
    the file, PSNR of the decoded frame on the held-out camera, or on the training cameras when
    none is held out, gated Gaussians, the training-time rate estimate against the coded size,
    seconds). ``on_frame(report_row, encoder)`` is called after each frame. ``output`` is
    checked before any work (:func:`check_stream_output`) and appears only once the whole stream
    is written. ``frames``: what :func:`read_video` returned for ``frames_dir``, where the
    caller read it already (read again, every photo checked, when not given)."""
    from scenesparse.queen.encoder import QueenEncoder
    from scenesparse.queen.residuals import QueenConfig
    from scenesparse.queen.stream import (
        QueenStreamWriter,
        frame0_chunks,
        record_chunks,
        scene_of_state,
        stream_header,
    )
    from sparsebox.progress import make_progress

    frames = read_video(frames_dir) if frames is None else frames
    output = check_stream_output(frames_dir, frames, output)
    count = len(frames[0].cameras)
    if test_camera is not None and count < 2:  # before its range: "in 0..0" would offer camera 0
        raise InvalidParameterError("test_camera leaves no camera to train on (the frames have "
                                    "1 camera)")
    if test_camera is not None:  # an integer (True was camera 1), as the int it is
        test_camera = check_int("test_camera", test_camera)
    if test_camera is not None and not 0 <= test_camera < count:
        raise InvalidParameterError(f"test_camera must be in 0..{count - 1} (the frames have "
                                    f"{count} cameras), got {test_camera}")
    train = [i for i in range(count) if i != test_camera]
    config = config or QueenConfig()
    ply = frames[0].folder / "point_cloud.ply"
    scene = read_ply(ply, allow_empty=False)
    normals = scene.normals is not None and bool(scene.normals.any())  # INRIA writes zeros
    uncoded = ["nx, ny, nz"] * normals + list(scene.extra)
    if uncoded:
        warnings.warn(f"{ply}: {', '.join(uncoded)} are not Gaussian attributes QUEEN codes: the "
                      "stream does not keep them", stacklevel=2)
    encoder = QueenEncoder(config, backend=backend, seed=seed)

    def evaluate(state, images) -> float:
        view = [test_camera] if test_camera is not None else train
        decoded = scene_of_state(state)
        with torch.no_grad():
            scores = [psnr(render(decoded, frames[0].cameras[i], backend=backend).image
                           .clamp(0, 1).cpu().numpy(), images[i].numpy()) for i in view]
        return float(np.mean(scores))

    rows = []
    with make_progress(enabled=progress) as bar, \
            QueenStreamWriter(output, {}) as writer:
        task = bar.add_task("QUEEN", total=len(frames))
        images = frames[0].images()
        state = encoder.start(scene, [frames[0].cameras[i] for i in train],
                              [images[i] for i in train])
        writer.header = stream_header(state, config.latent_dims)
        size = writer.write(frame0_chunks(state.params))
        rows.append({"index": 0, "bytes": size, "psnr": evaluate(state, images),
                     "gated": 0, "seconds": 0.0})
        bar.update(task, advance=1, description=f"frame 0: {size} bytes")
        for t, frame in enumerate(frames[1:], start=1):
            images = frame.images()
            started = time.perf_counter()
            record = encoder.encode_frame([frame.cameras[i] for i in train],
                                          [images[i] for i in train])
            chunks = record_chunks(record, len(state))
            size = writer.write(chunks)
            info = encoder.frames_[-1]
            coded = 8 * sum(len(v) for k, v in chunks.items()
                            if k == "gated" or k.startswith("latent."))
            row = {"index": t, "bytes": size, "psnr": evaluate(encoder.state_, images),
                   "gated": int(len(record.gated)), "steps": info.steps,
                   "estimate_bits": float(sum(info.estimate_bits.values())),
                   "coded_bits": coded, "seconds": time.perf_counter() - started}
            rows.append(row)
            if on_frame is not None:
                on_frame(row, encoder)
            bar.update(task, advance=1, description=f"frame {t}: {size} bytes, PSNR "
                                                    f"{row['psnr']:.2f} dB")
        header = len(writer.header_bytes())
    file_bytes = header + sum(r["bytes"] for r in rows)
    residual = rows[1:]
    return {"frames_dir": str(frames_dir), "output": str(output), "frames": rows,
            "header_bytes": header, "file_bytes": file_bytes,
            "mean_bytes_per_frame": file_bytes / len(rows),
            "mean_residual_frame_bytes": float(np.mean([r["bytes"] for r in residual])),
            "ply_bytes": ply.stat().st_size, "test_camera": test_camera,
            "mean_psnr": float(np.mean([r["psnr"] for r in residual])),
            "seconds_per_frame": float(np.mean([r["seconds"] for r in residual])),
            "estimate_bits": float(sum(r["estimate_bits"] for r in residual)),
            "coded_bits": int(sum(r["coded_bits"] for r in residual)),
            "epochs": config.epochs, "gaussians": len(scene)}
