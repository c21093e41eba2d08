"""Prune a splat file end to end: score, select, recover, write, compare renders, draw a
side-by-side."""

from __future__ import annotations

import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from scenesparse.gaussians import GaussianScene, read_ply, write_ply
from scenesparse.imagemetrics import psnr, ssim
from scenesparse.importance import GaussianPruner, cameras_seeing, default_cameras
from scenesparse.rendering import check_render_backend, render
from sparsebox._validation import check_colour, check_int
from sparsebox.outputs import StagedOutputs, check_output_file, counted, json_text
from sparsebox.progress import progress_bar

__all__ = ["prune_splat_file", "lpips_distance"]


def lpips_distance(a: list[np.ndarray], b: list[np.ndarray]) -> float | None:
    """Mean LPIPS (VGG) of image pairs where the ``lpips`` package is installed and its VGG
    weights load, else None (with a warning where they do not: torchvision downloads them on
    first use, which fails offline, after all the pruning)."""
    try:
        import lpips
    except ImportError:
        return None
    try:
        model = lpips.LPIPS(net="vgg", verbose=False)
    except OSError as err:  # urllib's URLError and HTTPError are OSErrors
        warnings.warn(f"LPIPS left out of the report: lpips could not load its VGG weights "
                      f"({err})", stacklevel=2)
        return None

    def tensor(x: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(x)).permute(2, 0, 1)[None].float() * 2 - 1

    with torch.no_grad():
        return float(np.mean([float(model(tensor(x), tensor(y))) for x, y in
                              zip(a, b, strict=True)]))


#: the render width where none is given (the orbit's square; at most the photos' width)
_RESOLUTION = 256


def _views(scene, *, views: int, resolution: int, eval_views: int, images: Path | None,
           cameras_json: Path | None, background=(0.0, 0.0, 0.0)) -> dict[str, Any]:
    """The cameras to score and recover with, their photos (or None), and the held-out views to
    evaluate on, with a description of where they came from."""
    if images is not None:
        from scenesparse.photos import photo_views

        found = photo_views(images, cameras_json=cameras_json, resolution=resolution,
                            background=background)
        if not found.test_cameras:
            raise ValueError(f"{cameras_json or images}: one view only, none to hold out to "
                             "evaluate on (give at least two)")
        return {"cameras": found.train_cameras, "targets": found.train_images,
                "held_out": found.test_cameras, "photos": found.test_images,
                "description": found.description, "source": cameras_json or images}
    if cameras_json is not None:
        from scenesparse.cameras import cameras_from_json
        from scenesparse.photos import by_image_name

        cams, _ = by_image_name(*cameras_from_json(cameras_json))  # held out as photo_views does
        cams = [c.resized(resolution, max(1, round(c.height * resolution / c.width)))
                for c in cams]
        held = cams[::8]
        train = [c for i, c in enumerate(cams) if i % 8] or cams
        split = ("every 8th held out" if len(cams) > 1 else
                 "evaluated on the view it scores: none to hold out")
        return {"cameras": train, "targets": None, "held_out": held, "photos": None,
                "description": f"{Path(cameras_json).name} ({counted(len(cams), 'view')}, {split}), no "
                               "photos: against the unpruned model's renders",
                "source": cameras_json}
    return {"cameras": default_cameras(scene, views, resolution), "targets": None,
            "held_out": default_cameras(scene, eval_views, resolution, phase=0.5),
            "photos": None,
            "description": f"orbit ({views} views at {resolution} px, {eval_views} held out "
                           "between them), against the unpruned model's renders",
            "source": None}


def _psnr_words(value: float) -> str:
    """``PSNR 31.2 dB``, or ``identical`` where the renders are (an infinite PSNR)."""
    return f"PSNR {value:.1f} dB" if np.isfinite(value) else "identical"


def _check_in_view(scene: GaussianScene, setup: dict[str, Any], scene_path: Path) -> None:
    """Refuse the user's cameras where no view, or no held-out view, sees a Gaussian
    (:func:`~scenesparse.importance.cameras_seeing`), and warn where some views see none: poses
    in another convention (world-to-camera where camera-to-world is meant, OpenGL axes for
    OpenCV ones) scored every Gaussian 0, kept the first ones of the file and compared empty
    renders."""
    hint = ("check the poses' convention (cameras.json: camera-to-world rotation, OpenCV axes x "
            "right, y down, z forward; COLMAP: world-to-camera; transforms.json: camera-to-world, "
            "OpenGL axes)")
    train, held, source = setup["cameras"], setup["held_out"], setup["source"]
    seen = np.fromiter(cameras_seeing(scene, [*train, *held]), dtype=bool)
    for looks, count, what in ((seen[:len(train)], len(train), "scoring views"),
                               (seen[len(train):], len(held), "held-out views")):
        if not looks.any():
            raise ValueError(f"{source}: none of its {count} {what} sees a Gaussian of "
                             f"{scene_path}: {hint}")
    blind = int((~seen).sum())
    if blind:
        warnings.warn(f"{source}: {blind} of its {len(seen)} views see no Gaussian of "
                      f"{scene_path}: {hint}", stacklevel=2)


#: PSNR of the unpruned scene against its held-out photos below which they are taken for
#: photos of other cameras (a trained 3DGS scene scores 20-35 dB on its held-out views; the
#: donut seen through cameras of twice the stated size scored 7 dB, a misplaced frame less)
_PHOTOS_MATCH_PSNR = 15.0


def _check_photos_match(before: list[np.ndarray], setup: dict[str, Any], scene_path: Path
                        ) -> None:
    """Warn where the unpruned scene's renders ``before`` score below
    :data:`_PHOTOS_MATCH_PSNR` against the held-out photos: cameras of another size, frame or
    capture than the scene was trained with, or photos over another background, and recovery
    would train towards them. A heuristic: cameras a little off (focal lengths 1.3x) stay
    above it, and a scene from very few views may fall below it on its own cameras."""
    score = float(np.mean([psnr(a, p.numpy()) for a, p in zip(before, setup["photos"],
                                                               strict=True)]))
    if score < _PHOTOS_MATCH_PSNR:
        warnings.warn(f"{setup['source']}: the unpruned {scene_path} scores {score:.1f} dB "
                      f"against the held-out photos: are these the cameras and photos it was "
                      "trained on (sizes and focal lengths, frame, convention), over this "
                      "background colour? Its pruning is measured, and recovered, against them",
                      stacklevel=2)


def prune_splat_file(source: Path, target: Path, *, keep_ratio: float | None = None,
                     budget: int | None = None, score: str = "radsplat", rounds: int = 3,
                     recover_steps: int = 0, views: int = 32, resolution: int | None = None,
                     eval_views: int = 8, image: Path | None = None, report: Path | None = None,
                     backend: str = "auto", images: Path | None = None,
                     cameras_json: Path | None = None, sh_degree: int | None = None,
                     sh_steps: int = 500, background=(0.0, 0.0, 0.0),
                     progress: bool = False) -> dict[str, Any]:
    """Prune the scene in ``source`` with :class:`GaussianPruner` to ``keep_ratio`` or
    ``budget`` (at most one; neither: keep ratio 0.34) and write it to ``target``,
    a side-by-side PNG (``image``, by default ``<target stem>_side_by_side.png``) and, when
    given, the JSON ``report``; return the report: ``total``, ``kept``, ``bytes_in``,
    ``bytes_out``, ``psnr`` and ``ssim`` (means over the held-out views, pruned against
    unpruned), ``psnr_min``, ``seconds`` (scoring, selection, recovery, SH refit), ``cameras``
    (which views were used) and, with photos, ``photos``: PSNR / SSIM (and LPIPS where the ``lpips``
    package is installed) of the unpruned and of the pruned scene against the held-out photos.

    ``images`` (a folder of photos with their cameras, see :func:`scenesparse.photos.photo_views`)
    or ``cameras_json`` (INRIA ``cameras.json``) replace the default orbit; ``resolution`` is the
    render width (default 256; the orbit's views are square); with ``images`` it is at most the
    widest photo's width, to which the default drops (a wider one is refused, as are photos
    narrower than 8 pixels, the least resolution); ``recover_steps``
    fine-tunes after each round towards the photos, else towards the unpruned renders;
    ``sh_degree`` refits the colours at a lower SH degree (``sh_steps`` steps) before writing.
    Everything is rendered over ``background`` (RGB in [0, 1]), and photos with an alpha channel
    are composited over it.
    Every output is checked before the work starts and appears only when all of it succeeded.
    The user's cameras are refused where none of the scoring views, or none of the held-out
    ones, sees a Gaussian (poses in another convention), and warned of
    where some views have none.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.backend_bases import FigureCanvasBase

    source = Path(source)
    inputs = [source] if cameras_json is None else [source, Path(cameras_json)]
    target = check_output_file(target, option="TARGET", inputs=inputs, suffixes=[".ply"])
    image = Path(image) if image is not None else target.with_name(
        target.stem + "_side_by_side.png")
    # not PGF: matplotlib runs LaTeX for it, after all the work, and writes each picture of the
    # renders to a PNG of its own beside the file
    image_formats = ["." + name for name in FigureCanvasBase.get_supported_filetypes()
                     if name != "pgf"]
    image = check_output_file(image, option="--image", inputs=inputs,
                              outputs={"TARGET": target}, suffixes=image_formats)
    if report is not None:
        report = check_output_file(report, option="--report", inputs=inputs,
                                   outputs={"TARGET": target, "--image": image}, suffixes=(".json",))
    pruner = GaussianPruner(score, keep_ratio=keep_ratio, budget=budget, rounds=rounds,
                            recover_steps=recover_steps, views=views,
                            resolution=_RESOLUTION if resolution is None else resolution,
                            backend=backend, background=background)
    pruner._validate_params()  # a bad option fails before the file is read
    check_int("sh_steps", sh_steps, minimum=0)
    check_int("eval_views", eval_views, minimum=1)
    check_render_backend(backend)  # as does a renderer this machine cannot run
    scene = read_ply(source, allow_empty=False)
    if sh_degree is not None and not 0 <= sh_degree <= scene.sh_degree:
        raise ValueError(f"--sh-degree must be in 0..{scene.sh_degree} (the degree of {source}), "
                         f"got {sh_degree}")
    if images is not None:  # nor over a photo or camera file of --images (none decoded yet)
        from scenesparse.photos import photo_resolution, photo_sources

        sources = photo_sources(images, cameras_json=cameras_json)
        for option, path in (("TARGET", target), ("--image", image), ("--report", report)):
            if path is not None:
                check_output_file(path, option=option, inputs=sources)
        # scored at their width or below: photos resized up are blurred, and score the scene low
        least = GaussianPruner._parameter_constraints["resolution"][0].low
        resolution = photo_resolution(resolution, sources, default=_RESOLUTION, minimum=least,
                                      folder=images)
    resolution = _RESOLUTION if resolution is None else resolution
    setup = _views(scene, views=views, resolution=resolution, eval_views=eval_views,
                   images=images, cameras_json=cameras_json, background=background)
    if setup["source"] is not None:
        _check_in_view(scene, setup, source)
    held = setup["held_out"]

    def renders(s: GaussianScene, label: str) -> list[np.ndarray]:
        """``s`` from the held-out cameras (140 s with the torch backend at 256 px: a bar)."""
        with torch.no_grad():
            return [render(s, c, backend=backend, background=background).image
                    .clamp(0, 1).cpu().numpy()
                    for c in progress_bar(held, label, enabled=progress)]

    before = renders(scene, "rendering the held-out views")
    if setup["photos"] is not None:
        _check_photos_match(before, setup, source)
    start = time.perf_counter()
    pruner.fit(scene, setup["cameras"], setup["targets"], progress=progress)
    pruned = pruner.transform(scene)
    if sh_degree is not None and sh_degree < scene.sh_degree:
        from scenesparse.training import distill_sh

        pruned = distill_sh(pruned, setup["cameras"], sh_degree, steps=sh_steps,
                            backend=backend, background=background, progress=progress)
    seconds = time.perf_counter() - start
    after = renders(pruned, "rendering the pruned views")
    psnrs = np.array([psnr(a, b) for a, b in zip(after, before, strict=True)])
    changed = np.isfinite(psnrs)  # a view pruning left as it was has an infinite PSNR
    summary = {
        "input": str(source), "output": str(target), "score": score, "rounds": rounds,
        "recover_steps": recover_steps, "total": len(scene), "kept": len(pruned),
        "sh_degree": pruned.sh_degree, "bytes_in": source.stat().st_size,
        # means over the views pruning changed (one unchanged view made the PSNR infinite)
        "psnr": float(np.mean(psnrs[changed])) if changed.any() else float("inf"),
        "unchanged_views": int((~changed).sum()),
        "ssim": float(np.mean([ssim(after[i], before[i]) for i in np.flatnonzero(changed)]))
        if changed.any() else 1.0,
        "psnr_min": float(np.min(psnrs)), "seconds": seconds, "views": len(setup["cameras"]),
        "resolution": resolution, "eval_views": len(held), "cameras": setup["description"],
        "background": list(check_colour("background", background)),
        "image": str(image), "history": pruner.history_,
    }
    if setup["photos"] is not None:
        photos = [p.numpy() for p in setup["photos"]]
        summary["photos"] = {
            name: {"psnr": float(np.mean([psnr(x, p) for x, p in zip(imgs, photos,
                                                                      strict=True)])),
                   "ssim": float(np.mean([ssim(x, p) for x, p in zip(imgs, photos,
                                                                      strict=True)])),
                   "lpips": lpips_distance(imgs, photos)}
            for name, imgs in (("unpruned", before), ("pruned", after))}
    with StagedOutputs(target=target, image=image, report=report) as staged:
        write_ply(staged["target"], pruned, name=target)
        summary["bytes_out"] = staged["target"].stat().st_size
        shown = min(3, len(held))
        fig, axes = plt.subplots(shown, 2, figsize=(6, 3 * shown), squeeze=False)
        for i in range(shown):
            axes[i, 0].imshow(before[i])
            axes[i, 1].imshow(after[i])
            for ax in axes[i]:
                ax.axis("off")
            # each row's own PSNR: the summary's is the mean over the views pruning changed
            axes[i, 1].set_title(_psnr_words(psnrs[i]), fontsize=9)
        axes[0, 0].set_title(f"unpruned: {len(scene):,} Gaussians", fontsize=9)
        axes[0, 1].set_title(f"{score}: {len(pruned):,} kept, {_psnr_words(psnrs[0])}", fontsize=9)
        fig.suptitle(f"{source.name}, evaluation views (PSNR against the unpruned render)",
                     fontsize=9)
        fig.tight_layout()
        fig.savefig(staged["image"], dpi=100)
        plt.close(fig)
        if report is not None:
            staged["report"].write_text(json_text(summary, indent=2))
    return summary
