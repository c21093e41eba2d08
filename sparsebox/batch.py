"""Batches of files: one command over a folder or a glob, one task per file on an executor.

A command that takes one input file also takes a folder or a glob (``scenes/``, ``'scans/*.ply'``)
with ``--out FOLDER``; each file is one task (:mod:`sparsebox.parallel`), a failed file is
reported with its name while the others finish, and each file's outputs appear whole (the task
writes them through :class:`sparsebox.outputs.StagedOutputs`).

Examples
--------
>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> for name in ("b.ply", "a.ply", ".hidden.ply", "notes.txt"):
...     _ = (folder / name).write_text("")
>>> [p.name for p in batch_sources(str(folder), suffixes=(".ply",))]
['a.ply', 'b.ply']
>>> batch_sources(str(folder / "a.ply"), suffixes=(".ply",)) is None
True
"""

from __future__ import annotations

import functools
import glob
import os
import re
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from sparsebox.exceptions import InvalidParameterError
from sparsebox.outputs import json_text

__all__ = ["batch_sources", "check_batch_folder", "run_batch"]


def batch_sources(source: str, *, suffixes: Sequence[str], option: str = "SOURCE",
                  kind: str | None = None) -> list[Path] | None:
    """The files a folder or a glob names (sorted; hidden files and other suffixes left out;
    ``**`` in a glob takes subfolders at any depth, this one included, as the shells do), or
    None when ``source`` is one file or not a path at all (a dataset name). A folder or glob that
    names no file is an error naming ``option`` and the files it looked for: ``kind`` (``".mtx
    or .graph file"``), by default the suffixes. An empty ``source`` (an unset shell variable) is
    refused, not taken for the working folder; a file whose name holds ``[``, ``*`` or ``?`` is
    one file, not a pattern."""
    if not source.strip():
        raise InvalidParameterError(f"{option}: is empty; give a file, a folder or a glob")
    path = Path(source)
    wanted = tuple(s.lower() for s in suffixes)

    def ours(p: Path) -> bool:
        name = p.name.lower()
        return p.is_file() and not p.name.startswith(".") and name.endswith(wanted)

    if path.is_dir():
        files = sorted(p for p in path.iterdir() if ours(p))
        where = f"the folder {path}"
    elif path.is_file():
        return None
    elif glob.has_magic(source):
        files = sorted(Path(p) for p in glob.glob(source, recursive=True) if ours(Path(p)))
        where = f"the pattern {source!r}"
    elif source.endswith(("/", os.sep)):  # a folder by its spelling: mistyped, or not made yet
        raise InvalidParameterError(f"{option}: no such folder: {source}")
    else:
        return None
    if not files:
        raise InvalidParameterError(f"{option}: {where} holds no "
                                    f"{kind or ' / '.join(suffixes) + ' file'}")
    return files


def check_source_exists(source: str, *, option: str = "SOURCE") -> None:
    """Refuse ``source`` where it is neither a path nor a catalogue dataset's name: before an
    error about the options given with it (``--out`` is for a folder...), which misleads where a
    folder's name was mistyped.

    Examples
    --------
    >>> check_source_exists("cora")  # a dataset's name
    >>> check_source_exists("graphz", option="GRAPH")
    Traceback (most recent call last):
    ...
    sparsebox.exceptions.InvalidParameterError: GRAPH: no such file, folder or dataset: graphz
    """
    from sparsebox.data.sources import catalogue

    if not Path(source).exists() and source.lower() not in catalogue():
        raise InvalidParameterError(f"{option}: no such file, folder or dataset: {source}")


def check_batch_folder(out: Path, files: Sequence[Path], *, stems: Sequence[str] | None = None,
                       option: str = "--out") -> Path:
    """``out`` as the folder a batch writes into (made if need be: see
    :func:`~sparsebox.outputs.check_output_folder`), refused when it holds any of the batch's
    input ``files`` (outputs take their inputs' names, and inputs are never overwritten) or when
    two inputs share a stem (``stems``, one per file; default ``Path.stem``), whose outputs
    would overwrite each other.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> try:
    ...     check_batch_folder(folder / "out", [folder / "a.ply", folder / "a.xyz"])
    ... except InvalidParameterError as err:
    ...     print(str(err).split(";")[0])
    --out: a.ply and a.xyz would write the same outputs
    """
    from sparsebox.outputs import check_output_folder

    if any(Path(f).parent.resolve() == Path(out).resolve() for f in files):  # (before the
        # stems: a recursive glob that matched a run's outputs in it also repeats their stems)
        raise InvalidParameterError(f"{option}: {out} is the folder of the input files; write "
                                    "to another folder (inputs are never overwritten)")
    stems = [Path(f).stem for f in files] if stems is None else list(stems)
    first: dict[str, Path] = {}
    for f, stem in zip(files, stems, strict=True):
        if stem in first:
            a, b = Path(first[stem]), Path(f)
            if a.name != b.name:  # (the same names, from two folders of a glob: their paths)
                a, b = Path(a.name), Path(b.name)
            raise InvalidParameterError(
                f"{option}: {a} and {b} would write the same outputs; outputs are named after "
                f"the input ({stem}), so rename one")
        first[stem] = f
    return check_output_folder(out, option=option)


def run_batch(executor: Any, fn: Callable[..., Any], tasks: list[dict], *,
              label: str = "files", made: Sequence[Path] = (), outputs: Sequence[str] = (),
              option: str = "--out") -> list[Any]:
    """Run one task per file on ``executor`` with a progress bar; print each file's summary as a
    JSON line as it finishes. Returns the summaries; when files failed, the others finish first
    and one ``InvalidParameterError`` names every failed file and why (exit code 2 on the
    command line). ``made``: the folders the command made for the batch
    (:func:`~sparsebox.outputs.folders_to_make`), removed again when no file was written.
    ``outputs``: the keys of a task that give the files it writes in the batch's folder
    (``option``): where one of them is a folder, nothing runs and the error names ``option``
    (each file's own check named the single-file option, ``TARGET``, after other files ran)."""
    import typer

    from sparsebox.outputs import remove_if_empty
    from sparsebox.parallel import TaskError
    from sparsebox.progress import make_progress

    for task in tasks:
        for key in outputs:
            if task.get(key) is not None and Path(task[key]).is_dir():
                remove_if_empty(made)
                raise InvalidParameterError(
                    f"{option}: {task[key]} is a folder, where the batch writes "
                    f"{Path(task['source']).name}'s output; move it or give another {option}")

    with make_progress(transient=True) as progress:
        bar = progress.add_task(label, total=len(tasks))

        def on_record(summary: Any) -> None:
            typer.echo(json_text(summary))
            progress.advance(bar)

        try:
            return executor.run(functools.partial(_warnings_name_the_file, fn, tuple(outputs)),
                                tasks, on_record=on_record)
        except TaskError as err:
            reasons = "; ".join(_reason(task["source"], why) for task, why in err.failures)
            rest = ("the other files were written" if len(err.failures) < len(tasks) else
                    "no file was written")
            remove_if_empty(made)  # only when no file was written: then it is empty
            raise InvalidParameterError(
                f"{len(err.failures)} of {len(tasks)} files failed ({reasons}); {rest}") from None
        except BaseException:  # the executor refused the batch, or Ctrl-C stopped it
            remove_if_empty(made)  # (then files written before it stay, and so their folder)
            raise


def _warnings_name_the_file(fn: Callable[..., Any], outputs: Sequence[str], task: dict,
                            emit: Any) -> Any:
    """``fn(task, emit)``, its warnings naming the task's file where they name none of its
    files (``source`` and the ``outputs`` of :func:`run_batch`): the warnings of a batch's files
    come out on one standard error, in any order ("density 2.5 asks for 10 edges, more than
    the graph's 4" three times, of no file)."""
    from sparsebox.progress import warning_line

    files = [str(task[key]) for key in ("source", *outputs) if task.get(key) is not None]

    def show(message: Any, category: type[Warning], filename: str, lineno: int,
             file: Any = None, line: str | None = None) -> None:
        text = str(message)
        named = any(name in text for name in files)
        warning_line(text if named else f"{task['source']}: {text}", category, filename, lineno)

    left = None
    try:
        with warnings.catch_warnings():  # (which also shows each file's warnings anew)
            warnings.showwarning = show
            try:
                return fn(task, emit)
            finally:
                left = list(warnings.filters)
    finally:  # the filters as the task left them (a library it imported set its own) stay for
        if left is not None:  # the next tasks, in their places, as without the wrapper
            warnings.filters[:] = left


def _reason(source: Any, why: str) -> str:
    """Why the file ``source`` failed (``why``: ``"Error: message"``), naming it once, in one
    form whatever raised it: ``file: message (Error)``; a command line's usage error (click's
    ``BadParameter``, which says "Invalid value for --option") without its name, as a single
    file's error line says it.

    Examples
    --------
    >>> _reason("in/a.mtx", "GraphFileError: in/a.mtx: not a Matrix Market file")
    'in/a.mtx: not a Matrix Market file (GraphFileError)'
    >>> _reason("in/a.mtx", "InvalidParameterError: keep_ratio 0.01 keeps none of its 3 edges")
    'in/a.mtx: keep_ratio 0.01 keeps none of its 3 edges (InvalidParameterError)'
    >>> _reason("in/a.mtx", "BadParameter: Invalid value for --k: in/a.mtx: 9 neighbours of 3 points")
    'in/a.mtx: Invalid value for --k: 9 neighbours of 3 points'
    >>> _reason("a.ply", "BadParameter: Invalid value for TARGET: out/a.ply: cannot hold it")
    'a.ply: Invalid value for TARGET: out/a.ply: cannot hold it'
    >>> _reason("in/a.mtx", "MemoryError: ")
    'in/a.mtx: MemoryError'
    >>> _reason("in/a.mtx", "its worker process died (BrokenProcessPool: terminated)")
    'in/a.mtx: its worker process died (BrokenProcessPool: terminated)'
    """
    kind, _, text = why.partition(": ")
    if not kind.isidentifier():  # no error's name in front: said as it is
        return f"{source}: {why}"
    # the error names the file already (first, or after another's "...: "; not inside a path)
    text = re.sub(rf"(^|: ){re.escape(source)}: ", r"\1", text, count=1)
    if kind in _USAGE_ERRORS and text:
        return f"{source}: {text}"
    return f"{source}: {text} ({kind})" if text else f"{source}: {kind}"


#: click's errors of a command line's options: their message names the option already
_USAGE_ERRORS = ("BadParameter", "UsageError", "MissingParameter", "NoSuchOption")
