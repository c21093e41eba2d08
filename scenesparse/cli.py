"""`sparsebox scene ...` commands.

Errors are raised, never printed here: the face (:mod:`sparsebox.cli`) turns each into one
``error:`` line. Outputs are checked before any work and written whole or not at all
(:mod:`sparsebox.outputs`). Inputs are files or dataset names from the catalogue (``bunny``,
``donut``).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer

from scenesparse.queen.cli import queen_app
from sparsebox.outputs import (
    StagedOutputs,
    check_output_file,
    counted,
    folders_to_make,
    json_text,
    remove_if_empty,
)

scene_app = typer.Typer(help="Scenes made sparse: Gaussian splats (pruning with recovery, QUEEN "
                        "streaming video), HollowNeRF (hash-grid NeRF pruning) and point clouds "
                        "or meshes.", no_args_is_help=True,
                        rich_markup_mode=None, add_completion=False)
scene_app.add_typer(queen_app, name="queen")

#: The options of `prune-points` that configure a method, by estimator parameter.
_POINT_OPTIONS = {"keep_ratio": "--keep-ratio", "budget": "--budget",
                  "voxel_size": "--voxel-size", "k": "--k", "uniform_share": "--uniform-share",
                  "nb_neighbors": "--nb-neighbors", "std_ratio": "--std-ratio",
                  "radius": "--radius", "min_points": "--min-points", "seed": "--seed"}


#: the catalogue's kinds of dataset that are clouds of points (a splat file's are its centres)
_CLOUD_KINDS = ("mesh-ply", "gaussian-ply")


def _input_path(source: str, argument: str = "SOURCE",
                kinds: tuple[str, ...] = _CLOUD_KINDS) -> Path:
    """A file given on the command line, or the file of a catalogue dataset of one of ``kinds``
    (fetched when missing and the network is there)."""
    path = Path(source)
    if path.exists():
        if path.is_dir():
            raise typer.BadParameter(f"{path} is a folder, not a file", param_hint=argument)
        return path
    from sparsebox.data.sources import catalogue, fetch

    found = catalogue().get(source.lower())
    if found is not None:
        if found.kind not in kinds:
            raise typer.BadParameter(f"{source} is a {found.kind} dataset; this takes "
                                     f"{' or '.join(kinds)}", param_hint=argument)
        return fetch(source.lower())[0]
    raise FileNotFoundError(f"{source}: no such file, and not a dataset name (see `sparsebox "
                            "data list`)")


def _finite_positions(cloud: Any, path: Path) -> None:
    import numpy as np

    for name in ("x", "y", "z"):
        column = cloud.data[name]
        bad = ~np.isfinite(column)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(f"{path}: property {name!r} is {column[i]} at vertex {i}; "
                             "pass --drop-nonfinite to drop such points")


def _point_method_names() -> list[str]:
    from sparsebox.registry import methods

    return [e.name for e in methods(item="point")]


#: the options of a batch, which every command that takes one file also takes
_OUT = typer.Option(None, help="Output folder of a batch (SOURCE a folder or glob).")
_EXECUTOR = typer.Option("local", help="Where a batch's files run: local (processes on this "
                         "machine) or ray (a Ray cluster: --address, $RAY_ADDRESS, or a new local "
                         "one).")
_JOBS = typer.Option(1, min=1, help="Files side by side (with --executor ray: the CPUs of a new "
                     "local cluster; a running cluster's own decide).")
_ADDRESS = typer.Option(None, help="Address of a running Ray cluster.")
#: the point commands' choice to drop points with NaN or infinite coordinates (open3d's
#: remove_nan_points and remove_infinite_points)
_DROP_NONFINITE = typer.Option(False, "--drop-nonfinite", help="Drop the points whose position "
                               "holds NaN or an infinity (an organized cloud's missing returns) "
                               "instead of refusing the file.")
#: the point commands' choice of text over binary output
_ASCII = typer.Option(False, "--ascii", help="Write ASCII PLY or PCD instead of binary (.xyz, "
                      ".txt, .pts, .xyzn and .xyzrgb are always text).")


def _one_or_batch(source: str, target: Path | None, out: Path | None,
                  suffixes: tuple[str, ...], one_file_only: dict[str, Any] | None = None,
                  per_file: str = "") -> list[Path] | None:
    """The files of a batch (SOURCE a folder or a glob, with --out), or None for one file (with
    TARGET); the wrong combination is a usage error naming the options, as is an option of
    ``one_file_only`` (its name and value) given to a batch, which writes ``per_file`` instead
    (both refused before the batch's folder is made)."""
    from sparsebox.batch import batch_sources, check_batch_folder, check_source_exists

    files = batch_sources(source, suffixes=suffixes)
    if files is None:
        if target is None or out is not None:  # a mistyped folder is no misused option
            check_source_exists(source)
        if target is None:
            raise typer.BadParameter("give TARGET for one file (or a folder or glob as SOURCE "
                                     "with --out FOLDER)", param_hint="TARGET")
        if out is not None:
            raise typer.BadParameter("--out is for a folder or glob of inputs; give TARGET for "
                                     "one file", param_hint="--out")
        return None
    if target is not None:  # the argument at fault, whether --out is given or not
        what = "a folder" if Path(source).is_dir() else "a glob"
        then = "drop TARGET" if out is not None else "give --out FOLDER for their outputs instead"
        raise typer.BadParameter(f"is for a single file, and {source} is {what} "
                                 f"({counted(len(files), 'file')}): {then}", param_hint="TARGET")
    if out is None:
        raise typer.BadParameter(f"{source} names {counted(len(files), 'file')}: give --out "
                                 "FOLDER for their outputs", param_hint="--out")
    given = [name for name, value in (one_file_only or {}).items() if value is not None]
    if given:
        raise typer.BadParameter(f"a batch writes {per_file} per file",
                                 param_hint="/".join(given))
    check_batch_folder(out, files, option="--out")
    return files


@scene_app.command("prune-points")
def prune_points(
    source: str = typer.Argument(..., help="Input cloud or mesh (.ply, .pcd, .xyz, .txt, .pts, "
                                 ".xyzn, .xyzrgb), a dataset name (bunny), or a folder or glob of "
                                 "them (with --out)."),
    target: Path = typer.Argument(None, help="Output cloud (.ply, .pcd, .xyz, .txt, .pts, .xyzn, "
                                  ".xyzrgb); every attribute is kept (.pts, .xyzn and .xyzrgb "
                                  "refuse fields outside their columns), and a mesh's faces whose "
                                  "vertices all stay (a mesh's TARGET must be .ply)."),
    method: str = typer.Option("graph", help="A registered point method (`sparsebox methods "
                               "--item point`): graph, voxel, fps, uniform, statistical, radius."),
    keep_ratio: float = typer.Option(None, help="Fraction of points kept (samplers; default "
                                     "0.1 when neither this nor --budget is given)."),
    budget: int = typer.Option(None, help="Exact number of points kept (samplers)."),
    voxel_size: float = typer.Option(None, help="voxel: edge length instead of a size."),
    k: int = typer.Option(None, help="graph: neighbours in the kNN graph (10)."),
    uniform_share: float = typer.Option(None, help="graph: share of uniform sampling (0.5)."),
    nb_neighbors: int = typer.Option(None, help="statistical: neighbours, the point itself "
                                     "included (20; at least 2)."),
    std_ratio: float = typer.Option(None, help="statistical: standard deviations (2.0)."),
    radius: float = typer.Option(None, help="radius: search radius (default: the median distance "
                                 "to the (2 x min-points)-th nearest neighbour)."),
    min_points: int = typer.Option(None, help="radius: neighbours needed within the radius (16)."),
    seed: int = typer.Option(None, help="graph: seed of the draw (0)."),
    drop_nonfinite: bool = _DROP_NONFINITE,
    ascii_out: bool = _ASCII,
    report: Path = typer.Option(None, help="JSON report: total, kept, chamfer, hausdorff, "
                                "seconds (a batch writes OUT/<name>_report.json per file)."),
    out: Path = _OUT,
    executor: str = _EXECUTOR,
    jobs: int = _JOBS,
    address: str = _ADDRESS,
) -> None:
    """Down-sample or clean a point cloud (or a batch of them); writes the kept points with all
    their attributes."""
    from sparsebox.options import method_option, parameter_errors
    from sparsebox.registry import get_method

    method = method_option(method, _point_method_names())
    entry = get_method(method, item="point")
    accepted = entry.load()._get_param_names()
    given = {name: value for name, value in {
        "keep_ratio": keep_ratio, "budget": budget, "voxel_size": voxel_size, "k": k,
        "uniform_share": uniform_share, "nb_neighbors": nb_neighbors, "std_ratio": std_ratio,
        "radius": radius, "min_points": min_points, "seed": seed}.items() if value is not None}
    for name in given:
        if name not in accepted:
            what = ("keeps the points that pass its test and takes no size"
                    if name in ("keep_ratio", "budget") else "does not take it")
            raise typer.BadParameter(f"does not apply to --method {method}, which {what}",
                                     param_hint=_POINT_OPTIONS[name])
    with parameter_errors(_POINT_OPTIONS):
        entry.create(**given)._validate_params()  # bad values fail before any file is read
    task = {"method": method, "params": given, "ascii": ascii_out, "label": method,
            "kept_by": f"--method {method}", "drop_nonfinite": drop_nonfinite}
    _prune_points_files(task, source, target, report, out, executor, jobs, address)


def _prune_points_files(task: dict, source: str, target: Path | None, report: Path | None,
                        out: Path | None, executor: str, jobs: int, address: str | None) -> None:
    """Run a point command's ``task`` on one file (SOURCE to TARGET, its summary printed) or on
    a batch (a folder or glob to --out)."""
    from scenesparse.pointio import POINT_SUFFIXES
    from sparsebox.options import executor_from_options, refuse_batch_options

    # a batch's executor options are checked before --out is made
    runner = executor_from_options(executor, jobs, address) if out is not None else None
    made = folders_to_make(out) if out is not None else []
    files = _one_or_batch(source, target, out, POINT_SUFFIXES, {"--report": report},
                          "OUT/<name>_report.json")
    if files is None:
        refuse_batch_options(executor, jobs, address)
        summary = _prune_points_file({**task, "source": source, "target": str(target),
                                      "report": None if report is None else str(report)},
                                     progress=True)
        typer.echo(json_text(summary))
        return
    from sparsebox.batch import run_batch

    tasks = [{**task, "source": str(f), "target": str(out / f.name),
              "report": str(out / f"{f.stem}_report.json")} for f in files]
    run_batch(runner, _prune_points_task, tasks, made=made, outputs=("target", "report"))


def _prune_points_task(task: dict, emit: Any) -> dict:
    """One file of a `prune-points` or `remove-floaters` batch (an executor task)."""
    summary = _prune_points_file(task, progress=False)
    emit(summary)
    return summary


def _prune_points_file(task: dict, *, progress: bool) -> dict:
    """Prune one cloud: read, check, fit the method, write the kept points (and the report).
    ``task["label"]`` names the method in the summary and the progress, ``task["kept_by"]`` what
    kept no point."""
    import numpy as np

    from scenesparse.pointio import POINT_SUFFIXES, read_points, write_points
    from sparsebox.progress import progress_steps
    from sparsebox.registry import get_method

    method, label = task["method"], task["label"]
    estimator = get_method(method, item="point").create(**task["params"])
    path = _input_path(task["source"])
    target = check_output_file(task["target"], option="TARGET", inputs=[path],
                               suffixes=POINT_SUFFIXES)
    report = task["report"]
    if report is not None:
        report = check_output_file(report, option="--report", inputs=[path],
                                   outputs={"TARGET": target}, suffixes=(".json",))
    with progress_steps([f"reading {path.name}", f"{label}: fitting", "writing"],
                        enabled=progress) as step:
        cloud = read_points(path)
        dropped, faces_read = 0, None if cloud.faces is None else len(cloud.faces)
        if task["drop_nonfinite"]:
            finite = np.isfinite(cloud.points).all(axis=1)
            dropped = int((~finite).sum())
            if dropped:
                cloud = cloud.subset(finite)
        _check_cloud(cloud, path, target, dropped)
        xyz = cloud.points
        step()
        start = time.perf_counter()
        with _fit_errors(path):
            mask = estimator.fit(xyz).mask_
        seconds = time.perf_counter() - start
        step()
        _check_kept(mask, task["kept_by"], path, method)
        kept = cloud.subset(mask)
        summary = _summary(path, target, cloud, kept, seconds, label)
        if task["drop_nonfinite"]:
            summary["dropped_nonfinite"] = dropped
            if faces_read is not None:  # the faces of a dropped point went with it
                summary["faces"]["total"] = faces_read
        with StagedOutputs(target=target, report=report) as staged:
            write_points(staged["target"], kept, binary=not task["ascii"], name=target)
            if report is not None:
                staged["report"].write_text(json_text(summary, indent=2))
    return summary


#: the least --resolution of prune-splats (GaussianPruner's), and of hollownerf (photos narrower
#: are refused)
_SPLAT_MIN_RESOLUTION, _NERF_MIN_RESOLUTION = 8, 8


def _colour(text: str) -> tuple[float, float, float]:
    """A colour option: ``black``, ``white`` or ``R,G,B`` with each in [0, 1]."""
    from sparsebox._validation import NAMED_COLOURS, check_colour, is_unit_colour
    from sparsebox.exceptions import InvalidParameterError

    try:
        rgb = check_colour("colour", text if text.strip().lower() in NAMED_COLOURS
                           else [float(p) for p in text.split(",")])
    except (ValueError, InvalidParameterError):
        rgb = None
    if rgb is None or not is_unit_colour(rgb):
        hint = " (divide 8-bit colours by 255)" if rgb is not None else ""
        raise typer.BadParameter(f"must be black, white or R,G,B with each in [0, 1]{hint}, got "
                                 f"{text!r}") from None
    return rgb


@scene_app.command("prune-splats")
def prune_splats(
    context: typer.Context,
    source: str = typer.Argument(..., help="A Gaussian-splat PLY (INRIA layout), a dataset "
                                 "name (donut), or a folder or glob of them (with --out)."),
    target: Path = typer.Argument(None, help="The pruned PLY (same layout)."),
    keep_ratio: float = typer.Option(None, help="Fraction of Gaussians kept (default 0.34)."),
    budget: int = typer.Option(None, help="Exact number of Gaussians kept."),
    score: str = typer.Option("radsplat", help="A GaussianPruner score (`sparsebox methods "
                              "--item gaussian`): radsplat, lightgaussian, minisplatting, "
                              "pup, opacity, volume."),
    rounds: int = typer.Option(3, min=1, help="Prune in rounds, re-scoring what is left."),
    recover_steps: int = typer.Option(0, min=0, help="Training steps after each round (towards "
                                      "the photos, else the unpruned model's renders)."),
    images: Path = typer.Option(None, help="Your photos with their cameras: a folder with "
                                "transforms_*.json (or nerfstudio's transforms.json), a COLMAP "
                                "text model (sparse/0) or photos "
                                "named in --cameras; scores, recovery and evaluation use them."),
    cameras: Path = typer.Option(None, help="cameras.json as the INRIA 3DGS code writes it "
                                 "(with --images: the photos it names)."),
    sh_degree: int = typer.Option(None, min=0, help="Refit the colours at this lower SH degree "
                                  "(LightGaussian's truncation; colours only)."),
    sh_steps: int = typer.Option(500, min=1, help="Training steps of the SH refit."),
    views: int = typer.Option(32, min=1, help="Orbit views for scoring, recovery and the SH "
                              "refit (without --images or --cameras)."),
    resolution: int = typer.Option(256, min=_SPLAT_MIN_RESOLUTION, help="Render width for "
                                   "scoring, recovery and the held-out views: the orbit's "
                                   "square, the width your photos are resized to (at most "
                                   "theirs: the default drops to it), or, with --cameras alone, "
                                   "the width each camera is scaled to (up or down)."),
    eval_views: int = typer.Option(8, min=1, help="Orbit views held out for PSNR and SSIM "
                                   "(without --images or --cameras, which hold out their own: "
                                   "transforms_test.json; of a transforms.json, nerfstudio's 10% "
                                   "by file name; else every 8th view)."),
    backend: str = typer.Option("auto", help="Renderer: auto, numba, torch or gsplat (a CUDA "
                                "GPU)."),
    report: Path = typer.Option(None, help="JSON report (total, kept, bytes_in, bytes_out, psnr, "
                                "ssim over the held-out views pruning changed, unchanged_views, "
                                "seconds; a batch writes OUT/<name>_report.json per file)."),
    image: Path = typer.Option(None, help="Side-by-side PNG (default: next to TARGET)."),
    background: str = typer.Option("black", callback=_colour, metavar="COLOUR", help="What the scene "
                                   "is rendered, scored and recovered over, and photos with an "
                                   "alpha channel are put on: black, white or R,G,B in [0, 1] "
                                   "(use the background the splat was trained over: "
                                   "NeRF-synthetic splats often have white)."),
    out: Path = _OUT,
    executor: str = _EXECUTOR,
    jobs: int = _JOBS,
    address: str = _ADDRESS,
    gpus_per_file: float = typer.Option(0.0, min=0.0, help="--executor ray: the share of a GPU "
                                        "each file reserves (0.25: four files per device)."),
) -> None:
    """Prune a trained splat scene (or a batch of them) without the training checkpoint."""
    from scenesparse.methods import GAUSSIAN_PRUNER
    from sparsebox.options import executor_from_options, parameter_errors, refuse_batch_options
    from sparsebox.registry import methods

    registered = methods(item="gaussian")
    names = [e.name for e in registered if e.target == GAUSSIAN_PRUNER]
    if score not in names:
        other = (f"; {score} is a Gaussian method of another package, and prune-splats runs "
                 "GaussianPruner's scores (their rounds, recovery and photos): use it from Python"
                 if score in {e.name for e in registered} else "")
        raise typer.BadParameter(f"must be one of {', '.join(names)}, got {score!r}{other}",
                                 param_hint="--score")
    if keep_ratio is not None and budget is not None:
        raise typer.BadParameter("give one of --keep-ratio, --budget", param_hint="--budget")
    if keep_ratio is None and budget is None:
        keep_ratio = 0.34
    for path, hint in ((images, "--images"), (cameras, "--cameras")):
        if path is not None and not path.exists():
            raise typer.BadParameter(f"{path}: no such file or folder", param_hint=hint)
    if images is not None and not images.is_dir():
        raise typer.BadParameter(f"{images} is a file, not a folder of photos",
                                 param_hint="--images")
    if cameras is not None and cameras.is_dir():
        inside = cameras / "cameras.json"
        raise typer.BadParameter(f"{cameras} is a folder; give the cameras.json file the INRIA "
                                 "3DGS code writes" + (f" ({inside} is one)" if inside.is_file()
                                                       else ""), param_hint="--cameras")
    _refuse_options_that_do_not_apply(context, sh_degree, images, cameras)
    if images is not None:  # photos scored at a width above theirs are compared upscaled
        from scenesparse.photos import photo_sources
        from sparsebox.options import given_options

        try:
            sources = photo_sources(images, cameras_json=cameras)
        except (OSError, ValueError):
            sources = []  # reading the photos names what is wrong with them
        resolution = _check_resolution(resolution, sources,
                                       given=bool(given_options(context, "resolution")),
                                       minimum=_SPLAT_MIN_RESOLUTION, folder=images)
    settings = {"keep_ratio": keep_ratio, "budget": budget, "score": score, "rounds": rounds,
                "recover_steps": recover_steps, "views": views, "resolution": resolution,
                "eval_views": eval_views, "backend": backend,
                "images": None if images is None else str(images),
                "cameras_json": None if cameras is None else str(cameras),
                "sh_degree": sh_degree, "sh_steps": sh_steps, "background": background}
    if executor == "local":  # on Ray the tasks may run where there is a GPU
        from scenesparse.rendering import check_render_backend

        with parameter_errors(_SPLAT_OPTIONS):
            check_render_backend(backend)
    # a batch's executor options are checked before --out is made
    runner = (executor_from_options(executor, jobs, address, gpus_per_task=gpus_per_file)
              if out is not None else None)
    made = folders_to_make(out) if out is not None else []
    files = _one_or_batch(source, target, out, (".ply",), {"--image": image, "--report": report},
                          "OUT/<name>_side_by_side.png and OUT/<name>_report.json")
    if files is None:
        refuse_batch_options(executor, jobs, address, gpus_per_file)
        with parameter_errors(_SPLAT_OPTIONS):
            summary = _prune_splats_file({**settings, "source": source, "target": str(target),
                                          "image": image, "report": report}, progress=True)
        typer.echo(json_text(summary))
        return
    from sparsebox.batch import run_batch

    # how many files share this machine's memory (a new local Ray cluster's --jobs CPUs too, not
    # a running cluster's), and how many share a GPU
    here = executor == "local" or not (address or os.environ.get("RAY_ADDRESS"))
    at_once = {"jobs": min(jobs, len(files)) if here else 1,
               "gpus_per_file": gpus_per_file if len(files) > 1 else 0.0}
    tasks = [{**settings, "source": str(f), "target": str(out / f.name),
              "image": str(out / f"{f.stem}_side_by_side.png"),
              "report": str(out / f"{f.stem}_report.json"), "at_once": at_once} for f in files]
    with parameter_errors(_SPLAT_OPTIONS):
        run_batch(runner, _prune_splats_task, tasks, made=made,
                  outputs=("target", "image", "report"))


def _refuse_options_that_do_not_apply(context: typer.Context, sh_degree: int | None,
                                      images: Path | None, cameras: Path | None) -> None:
    """prune-splats options given where they do nothing: --sh-steps without --sh-degree, the
    orbit's --views and --eval-views with the user's own cameras."""
    from sparsebox.options import given_options

    if sh_degree is None and given_options(context, "sh_steps"):
        raise typer.BadParameter("trains the SH refit of --sh-degree, which is not given",
                                 param_hint="--sh-steps")
    own = "--images" if images is not None else "--cameras" if cameras is not None else None
    for name in given_options(context, "views", "eval_views") if own else ():
        raise typer.BadParameter(f"counts orbit views, and {own} gives its own cameras",
                                 param_hint="--" + name.replace("_", "-"))


_SPLAT_OPTIONS = {"keep_ratio": "--keep-ratio", "budget": "--budget", "rounds": "--rounds",
                  "recover_steps": "--recover-steps", "views": "--views",
                  "resolution": "--resolution", "backend": "--backend",
                  "gpus_per_task": "--gpus-per-file"}


def _prune_splats_file(task: dict, *, progress: bool) -> dict:
    import torch

    from scenesparse.splatjob import prune_splat_file
    from sparsebox.options import memory_error_cause

    settings = {k: task[k] for k in ("keep_ratio", "budget", "score", "rounds", "recover_steps",
                                     "views", "resolution", "eval_views", "backend",
                                     "sh_degree", "sh_steps", "background")}
    settings["images"] = None if task["images"] is None else Path(task["images"])
    settings["cameras_json"] = None if task["cameras_json"] is None else Path(task["cameras_json"])
    source = _input_path(task["source"], kinds=("gaussian-ply",))
    try:
        return prune_splat_file(source, task["target"], image=task["image"],
                                report=task["report"], progress=progress, **settings)
    # numpy's and numba's arrays raise MemoryError, gsplat's on a GPU torch's OutOfMemoryError
    # (its first sentence is enough: the rest is a paragraph of allocator advice), torch's on the
    # CPU a RuntimeError
    except (MemoryError, torch.cuda.OutOfMemoryError) as err:
        why = memory_error_cause(err)
        raise _past_memory(task, source, why,
                           gpu=isinstance(err, torch.cuda.OutOfMemoryError)) from None
    except RuntimeError as err:
        _, cpu, why = str(err).partition("DefaultCPUAllocator: ")
        if not cpu:
            raise
        raise _past_memory(task, source, "torch " + memory_error_cause(why), gpu=False) from None


def _past_memory(task: dict, source: Path, why: str, *, gpu: bool) -> Exception:
    """Out of memory pruning ``source``: what the user can lower. The render size always; the
    orbit's views where their renders are all kept to train towards (recovery, the SH refit);
    the files of a batch side by side in this machine's memory (--jobs) or on one GPU
    (--gpus-per-file, for the GPU's memory)."""
    from sparsebox.exceptions import InvalidParameterError

    lower = [f"--resolution ({task['resolution']})"]
    if (task["images"] is None and task["cameras_json"] is None
            and (task["recover_steps"] or task["sh_degree"] is not None)):
        lower.append(f"--views ({task['views']})")
    at_once = task.get("at_once", {})
    fewer = ([f"fewer --jobs than {at_once['jobs']}"] if at_once.get("jobs", 1) > 1 else []) + (
        [f"a larger --gpus-per-file than {at_once['gpus_per_file']:g}"]
        if gpu and 0 < at_once.get("gpus_per_file", 0) < 1 else [])
    side = f", or fewer files side by side ({' or '.join(fewer)})" if fewer else ""
    return InvalidParameterError(f"{source}: pruning needs more memory than this machine has "
                                 f"({why}): lower {' or '.join(lower)}{side}")


def _prune_splats_task(task: dict, emit: Any) -> dict:
    """One file of a `prune-splats` batch (an executor task); an option the task finds wrong
    (on Ray: --backend gsplat on a worker without a GPU) is named as the option."""
    from sparsebox.options import parameter_errors

    with parameter_errors(_SPLAT_OPTIONS):
        summary = _prune_splats_file(task, progress=False)
    emit(summary)
    return summary


@scene_app.command("remove-floaters")
def remove_floaters(
    source: str = typer.Argument(..., help="A Gaussian-splat PLY (or any point cloud or mesh: "
                                 ".ply, .pcd, .xyz, .txt, .pts, .xyzn, .xyzrgb), a dataset name, "
                                 "or a folder or glob of them (with --out)."),
    target: Path = typer.Argument(None, help="Output with the floaters removed (.ply, .pcd, "
                                  ".xyz, .txt, .pts, .xyzn, .xyzrgb); a mesh keeps the faces whose "
                                  "vertices all stay (a mesh's TARGET must be .ply)."),
    nb_neighbors: int = typer.Option(20, help="Neighbours of each splat centre, itself "
                                     "included (open3d's count; at least 2)."),
    std_ratio: float = typer.Option(2.0, help="Standard deviations past the mean distance."),
    drop_nonfinite: bool = _DROP_NONFINITE,
    ascii_out: bool = _ASCII,
    report: Path = typer.Option(None, help="JSON report (a batch writes OUT/<name>_report.json "
                                "per file)."),
    out: Path = _OUT,
    executor: str = _EXECUTOR,
    jobs: int = _JOBS,
    address: str = _ADDRESS,
) -> None:
    """Remove isolated splats (floaters) by the statistical outlier test on their centres (or
    from a batch of files); every splat property is written back unchanged."""
    from sparsebox.options import parameter_errors
    from sparsebox.registry import get_method

    params = {"nb_neighbors": nb_neighbors, "std_ratio": std_ratio}
    with parameter_errors(_POINT_OPTIONS):  # the method the files are fitted with
        get_method("statistical", item="point").create(**params)._validate_params()
    task = {"method": "statistical", "params": params, "ascii": ascii_out, "label": "floaters",
            "kept_by": f"the test (--nb-neighbors {nb_neighbors}, --std-ratio {std_ratio:g})",
            "drop_nonfinite": drop_nonfinite}
    _prune_points_files(task, source, target, report, out, executor, jobs, address)


@contextlib.contextmanager
def _fit_errors(path: Path) -> Iterator[None]:
    """A point method's errors while it is fitted on the points of ``path``: one about an option
    (too many neighbours for the points there are) names the option and the file."""
    from sparsebox.options import parameter_errors

    try:
        with parameter_errors(_POINT_OPTIONS, source=path):
            yield
    except typer.BadParameter as err:
        raise typer.BadParameter(f"{path}: {err.message}", param_hint=err.param_hint) from None


#: what to try when a filter (a point method that takes no size) keeps no point
_KEEP_MORE = {"radius": "try a larger --radius or a smaller --min-points",
              "statistical": "try a larger --std-ratio or --nb-neighbors"}


def _check_kept(mask: Any, what: str, path: Path, method: str) -> None:
    """Refuse to write a cloud with no point left, saying what to try where ``method`` is a
    filter."""
    if not mask.any():
        advice = f"; {_KEEP_MORE[method]}" if method in _KEEP_MORE else ""
        raise ValueError(f"{what} keeps none of the {counted(len(mask), 'point')} of {path}{advice}")


def _check_cloud(cloud, path: Path, target: Path, dropped: int = 0) -> None:
    """Refuse, before any work, a cloud of no points (no option can help it; ``dropped``: the
    non-finite ones --drop-nonfinite took away), one that TARGET's format cannot hold (a mesh's
    faces outside PLY, fields outside a .pts, .xyzn or .xyzrgb layout) and positions that are not finite."""
    from scenesparse.pointio import PointFileError, check_format_holds

    if not len(cloud):
        raise PointFileError(f"{path}: holds no points" + (
            f" with finite positions (--drop-nonfinite dropped all {dropped})" if dropped else ""))
    if cloud.faces is not None and target.suffix.lower() != ".ply":
        raise typer.BadParameter(f"{path} is a mesh with {len(cloud.faces)} faces; a "
                                 f"{target.suffix} file cannot hold them: write .ply",
                                 param_hint="TARGET")
    try:
        check_format_holds(target, cloud)
    except PointFileError as err:
        raise typer.BadParameter(str(err), param_hint="TARGET") from None
    _finite_positions(cloud, path)


def _summary(source, target, cloud, kept, seconds, method) -> dict:
    """What a point command prints: points kept of the cloud's, the distances from the kept to
    all of them, and a mesh's faces kept."""
    from scenesparse.points import chamfer_hausdorff

    chamfer, hausdorff = chamfer_hausdorff(kept.points, cloud.points)
    summary = {"method": method, "input": str(source), "output": str(target), "total": len(cloud),
               "kept": len(kept), "chamfer": chamfer, "hausdorff": hausdorff, "seconds": seconds}
    if kept.faces is not None:
        summary["faces"] = {"total": len(cloud.faces), "kept": len(kept.faces)}
    return summary


_NERF_OPTIONS = {"steps": "--steps", "saliency_budget": "--saliency-budget", "table_size": "--table-size",
                 "levels": "--levels", "finest_resolution": "--finest-resolution",
                 "batch_rays": "--batch-rays", "march_steps": "--march-steps",
                 "keep_mass": "--keep-mass", "score_rays": "--score-rays", "seed": "--seed"}


@scene_app.command("hollownerf")
def hollownerf(
    ctx: typer.Context,
    data: str = typer.Option(..., help="Posed photos: a dataset name (lego) or a folder with "
                             "transforms_train.json (and transforms_test.json for held-out "
                             "views), nerfstudio's transforms.json or a COLMAP text model."),
    out: Path = typer.Option(..., help="Output folder: report.json, model.pt, renders.png, "
                             "curve.png and checkpoint.pt (run again to resume from it)."),
    resolution: int = typer.Option(128, min=_NERF_MIN_RESOLUTION, help="Width the photos are "
                                   "resized to (at most their own; the default becomes their "
                                   "width where they are narrower)."),
    steps: int = typer.Option(2000, min=1, help="Training steps."),
    saliency_budget: float = typer.Option(0.04, help="C: the mean saliency of the grid is "
                                          "held <= C (HollowNeRF's 0.04); not a count of "
                                          "entries (that is --budget elsewhere)."),
    table_size: int = typer.Option(2**19, min=1, help="Rows of each hashed level's table."),
    levels: int = typer.Option(16, min=1, help="Levels of the hash encoding (at most 128)."),
    finest_resolution: int = typer.Option(256, min=16, help="Resolution of the finest level (at "
                                          "least the coarsest's, 16)."),
    batch_rays: int = typer.Option(1024, min=1, help="Rays per training step (at most the "
                                   "training photos' pixels)."),
    march_steps: int = typer.Option(256, min=1, help="Samples along the scene box's diagonal "
                                    "when a ray is marched (fewer: faster and coarser)."),
    keep_mass: float = typer.Option(0.99, help="Keep the fewest hash entries that carry this "
                                    "fraction of the salient light of the training rays."),
    score_rays: int = typer.Option(2**18, min=1, help="Training rays rendered to score the hash "
                                   "entries for pruning (capped at the training photos' "
                                   "pixels; fewer: faster and noisier)."),
    seed: int = typer.Option(0, min=0, help="Initial weights and the rays drawn."),
) -> None:
    """Train HollowNeRF (a hash-grid NeRF with a saliency grid under a budget), prune its hash
    table and report quality, parameters and bytes before and after."""
    from scenesparse.nerf.command import CHECKPOINT, OUTPUTS, SUBSET_NOTE, run_hollownerf, shipped_subset
    from scenesparse.nerf.estimator import HollowNeRF
    from scenesparse.photos import photo_sources, photo_views
    from sparsebox.options import parameter_errors
    from sparsebox.outputs import check_output_folder
    from sparsebox.progress import progress_steps

    estimator = HollowNeRF(steps=steps, saliency_budget=saliency_budget, table_size=table_size,
                           levels=levels, finest_resolution=finest_resolution,
                           batch_rays=batch_rays, march_steps=march_steps,
                           keep_mass=keep_mass, score_rays=score_rays, seed=seed)
    with parameter_errors(_NERF_OPTIONS):
        estimator._validate_params()
    folder = _photo_folder(data)
    from sparsebox.data.root import data_root

    where = out.resolve()
    try:  # the folders holding photos or camera files (lego/train took the run's files)
        holders = {p.resolve().parent for p in photo_sources(folder)}
    except (ValueError, OSError):  # a folder it cannot read: the run names why, after these checks
        holders = set()
    if where == folder.resolve() or where in holders:
        raise typer.BadParameter(f"{out} is {'the' if where == folder.resolve() else 'a'} folder "
                                 "of the photos; write elsewhere", param_hint="--out")
    root = data_root().resolve()
    if root in (where, *where.parents):
        raise typer.BadParameter(f"{out} is in the data folder {root} (SPARSEBOX_DATA); write "
                                 "elsewhere", param_hint="--out")
    made = folders_to_make(out)
    check_output_folder(out, option="--out")
    ours = [name for name in OUTPUTS.values() if (out / name).exists()]
    if ours and not (out / CHECKPOINT).exists():  # a user's files, or a run's gone with it
        raise typer.BadParameter(f"{out} holds {', '.join(ours)}, which a run writes over, and no "
                                 f"{CHECKPOINT} of a run to resume; choose a new or empty folder",
                                 param_hint="--out")
    try:
        sources = photo_sources(folder)  # no output over a photo or camera file
        for name in (*OUTPUTS.values(), CHECKPOINT):  # (fit named it "checkpoint")
            check_output_file(out / name, option="--out", inputs=sources)
        resolution = _check_resolution(resolution, sources, given=ctx.get_parameter_source(
            "resolution").name != "DEFAULT", minimum=_NERF_MIN_RESOLUTION, folder=folder)
        with progress_steps([f"reading the photos of {folder}"]):
            views = photo_views(folder, resolution=resolution, background=(1.0, 1.0, 1.0))
        with parameter_errors(_NERF_OPTIONS):
            report = run_hollownerf(views, out, estimator, data=data, resolution=resolution,
                                    note=SUBSET_NOTE if shipped_subset(folder) else None)
    except BaseException:
        remove_if_empty(made)  # no checkpoint to resume from: leave no trace
        raise
    typer.echo(json_text({k: report[k] for k in ("psnr", "ssim", "psnr_before",
                                                  "params_before", "params_after",
                                                  "bytes_before", "bytes_after")}))
    if report["saliency_budget_met"] is False:
        typer.echo(f"note: the mean saliency ended at {report['mean_saliency']:.3f}, above "
                   f"--saliency-budget {saliency_budget:g}: the constraint had not settled in "
                   f"{report['steps']} steps (more --steps let it settle); the hash entries were "
                   "scored as trained", err=True)


def _check_resolution(resolution: int, sources: list[Path], *, given: bool, minimum: int = 1,
                      folder: Path | None = None) -> int:
    """The width to resize the photos to (:func:`~scenesparse.photos.photo_resolution`): a
    --resolution wider than the widest of the photos (``sources``: camera files, then photos) is
    refused where the user ``given`` it (resizing up adds no detail, only memory: the photos and
    a ray per pixel), and the default is lowered to it; photos narrower than ``minimum``, the
    option's least value, are refused naming their ``folder``."""
    from scenesparse.photos import photo_resolution
    from sparsebox.options import parameter_errors

    with parameter_errors({"resolution": "--resolution"}):
        return photo_resolution(resolution if given else None, sources, default=resolution,
                                minimum=minimum, folder=folder)


def _photo_folder(data: str) -> Path:
    """The folder of ``--data``: a folder as given, or a catalogued scene's."""
    path = Path(data)
    if path.is_dir():
        return path
    if path.is_file():  # nerfstudio's --data takes its transforms.json too
        raise typer.BadParameter(f"{data} is a file; give the folder that holds it (its "
                                 "transforms files and photos are read from there)",
                                 param_hint="--data")
    from sparsebox.data.sources import catalogue, fetch

    found = catalogue().get(data.lower())  # LEGO is lego, as for every dataset name
    if found is None:
        raise typer.BadParameter(f"{data}: neither a folder nor a dataset name (for instance "
                                 "lego)", param_hint="--data")
    if found.kind != "nerf-synthetic":
        raise typer.BadParameter(f"{data} is a {found.kind} dataset; this takes "
                                 "posed photos (nerf-synthetic, for instance lego)",
                                 param_hint="--data")
    return fetch(data.lower())[0].parent
