"""`sparsebox scene queen ...`: encode a multi-view video of Gaussians into a stream, decode any
frame, describe a stream. Errors are raised; the face turns each into one ``error:`` line."""

from __future__ import annotations

from pathlib import Path

import typer

from sparsebox.outputs import counted, json_text

queen_app = typer.Typer(help="QUEEN: streaming free-viewpoint video of Gaussians (encode, "
                        "decode, info).", no_args_is_help=True, rich_markup_mode=None)


def _report_paths(output: Path) -> tuple[Path, Path]:
    stem = output.with_suffix("")
    return stem.with_name(stem.name + ".report.json"), stem.with_name(stem.name + ".report.png")


@queen_app.command("encode")
def encode(
    frames_dir: Path = typer.Argument(..., help="Folder of frame_0000/, frame_0001/, ... each "
                                      "with transforms.json and its photos; frame_0000/ also "
                                      "holds point_cloud.ply, the trained first frame."),
    output: Path = typer.Option(..., "-o", "--output", help="The stream to write (.qsv); its "
                                "report goes beside it (NAME.report.json and NAME.report.png)."),
    test_camera: int = typer.Option(None, help="Hold this camera (its index in transforms.json) "
                                    "out of training; the report's PSNR is measured on it."),
    epochs: int = typer.Option(10, min=1, help="Training steps per frame = EPOCHS x training "
                               "cameras."),
    backend: str = typer.Option("auto", help="Renderer: auto, numba, torch or gsplat (a CUDA "
                                "GPU)."),
    seed: int = typer.Option(0, min=0, max=2**64 - 1, help="Camera order and the decoders' "
                             "first weights."),
) -> None:
    """Encode a multi-view video: frame 0 as it is, every later frame as coded residuals."""
    from scenesparse.queen.residuals import QueenConfig
    from scenesparse.queen.video import check_stream_output, encode_video, read_video
    from scenesparse.rendering import check_render_backend
    from sparsebox.options import parameter_errors
    from sparsebox.outputs import StagedOutputs, check_output_file

    with parameter_errors({"backend": "--backend"}):
        check_render_backend(backend)  # one this machine can run, before any work
    if not frames_dir.is_dir():
        what = "is a file, not a folder of frames" if frames_dir.exists() else "no such folder"
        raise typer.BadParameter(f"{frames_dir}: {what}", param_hint="FRAMES_DIR")
    video = read_video(frames_dir)  # the layout, checked before any work
    check_output_file(output, option="--output", suffixes=[".qsv"])
    report_json, report_png = _report_paths(output)  # from a checked name ("" has no stem)
    check_stream_output(frames_dir, video, output, option="--output", frames_option="FRAMES_DIR",
                        beside={"its report": report_json, "its report's plot": report_png})
    with (StagedOutputs(stream=output, report=report_json, plot=report_png) as staged,
          parameter_errors({"test_camera": "--test-camera"})):
        report = encode_video(frames_dir, staged["stream"], frames=video, test_camera=test_camera,
                              config=QueenConfig(epochs=epochs), backend=backend, seed=seed,
                              progress=True)
        report["output"] = str(output)
        staged["report"].write_text(json_text(report, indent=2))
        _plot(report, staged["plot"])
    typer.echo(json_text({k: report[k] for k in ("output", "file_bytes", "mean_bytes_per_frame",
                                                  "ply_bytes", "mean_psnr",
                                                  "seconds_per_frame")}))


def _plot(report: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    rows = report["frames"]
    t = [r["index"] for r in rows]
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.6))
    a.bar(t, [r["bytes"] / 1024 for r in rows])
    a.set(xlabel="frame", ylabel="KiB", title="bytes per frame in the stream", yscale="log")
    coded = [r for r in rows if r["index"] > 0] or rows  # frame 0 is the scene itself, not coded
    b.plot([r["index"] for r in coded], [r["psnr"] for r in coded], "o-")
    where = "held-out camera" if report["test_camera"] is not None else "training cameras"
    b.set(xlabel="frame", ylabel="PSNR (dB)", title=f"decoded residual frames, {where}")
    for axis in (a, b):
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.suptitle(f"QUEEN stream {Path(report['output']).name}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


@queen_app.command("decode")
def decode(
    stream: Path = typer.Argument(..., help="A stream written by `sparsebox scene queen encode`."),
    frame: int = typer.Option(..., help="The frame to decode (0 is the first)."),
    output: Path = typer.Option(..., "-o", "--output", help="The frame as a PLY (INRIA layout)."),
) -> None:
    """Decode one frame of a stream to a PLY."""
    from scenesparse.gaussians import write_ply
    from scenesparse.queen.stream import QueenStream
    from sparsebox.outputs import StagedOutputs, check_output_file

    check_output_file(output, option="--output", inputs=[stream], suffixes=[".ply"])
    reader = QueenStream(stream)
    if not len(reader):
        raise typer.BadParameter(f"{stream} holds no frames, got {frame}", param_hint="--frame")
    if not 0 <= frame < len(reader):
        which = "be 0" if len(reader) == 1 else f"be in 0..{len(reader) - 1}"
        raise typer.BadParameter(f"must {which} ({stream} holds {counted(len(reader), 'frame')}), "
                                 f"got {frame}", param_hint="--frame")
    scene = reader.frame(frame)
    with StagedOutputs(ply=output) as staged:
        write_ply(staged["ply"], scene, name=output)
    typer.echo(json_text({"stream": str(stream), "frame": frame, "gaussians": len(scene),
                           "output": str(output)}))


@queen_app.command("info")
def info(
    stream: Path = typer.Argument(..., help="A stream written by `sparsebox scene queen encode`."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable: {header_bytes, frames: "
                                 "[{index, bytes}]}, the byte counts adding up to the file."),
) -> None:
    """Describe a stream: its header and every record's size (each record checked)."""
    from scenesparse.queen.stream import QueenStream

    reader = QueenStream(stream)
    layout = reader.info()
    if as_json:
        typer.echo(json_text(layout))
        return
    h = reader.header
    sizes = [f["bytes"] for f in layout["frames"]]
    typer.echo(f"{stream}: QUEEN stream v{h['format_version']}, {counted(len(reader), 'frame')} "
               f"of {h['gaussians']:,} Gaussian{'' if h['gaussians'] == 1 else 's'} "
               f"(SH degree {h['sh_degree']})")
    first = f"frame 0 {sizes[0]:,} bytes" if sizes else "no frames"  # a header alone is a stream
    typer.echo(f"  header {layout['header_bytes']:,} bytes, {first}")
    if len(sizes) == 2:
        typer.echo(f"  frame 1 {sizes[1]:,} bytes")
    elif len(sizes) > 2:
        rest = sizes[1:]
        typer.echo(f"  frames 1..{len(sizes) - 1}: mean {sum(rest) / len(rest):,.0f} bytes "
                   f"(min {min(rest):,}, max {max(rest):,})")
    typer.echo(f"  total {layout['header_bytes'] + sum(sizes):,} bytes")
