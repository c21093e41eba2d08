"""Outputs that appear whole or not at all, checked before any work starts.

A command names its output files first (:func:`check_output_file`: the folder exists and is
writable, the name is not a folder and not one of the inputs), then writes each one under a
temporary name beside its final place and moves them all into place only when the whole command
has succeeded (:class:`StagedOutputs`). A failure, or an interrupt, leaves no half-written file
and never touches an input.

Examples
--------
>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> with StagedOutputs(out=folder / "a.txt") as paths:
...     _ = paths["out"].write_text("done")
>>> (folder / "a.txt").read_text(), sorted(p.name for p in folder.iterdir())
('done', ['a.txt'])
"""

from __future__ import annotations

import json
import math
import os
import stat
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from sparsebox.exceptions import InvalidParameterError

__all__ = ["counted", "check_output_file", "check_output_folder", "folders_to_make", "remove_if_empty",
           "StagedOutputs", "write_text_atomic", "write_figure_and_text", "json_text", "is_writable",
           "unwritable_folder", "same_place"]


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """``count`` and ``noun``, in the plural (``plural``, else ``noun + "s"``) unless ``count``
    is 1: what the commands' lines say of a number of things ("1 events" read wrong).

    Examples
    --------
    >>> counted(1, "event"), counted(0, "event"), counted(2, "batch", "batches")
    ('1 event', '0 events', '2 batches')
    """
    return f"{count} {noun if count == 1 else plural or noun + 's'}"


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def is_writable(folder: str | os.PathLike[str]) -> bool:
    """Whether files may be written into ``folder`` (or, where it does not exist yet, into the
    nearest folder above it that does). For root, who may write anywhere, a folder without any
    write bit counts as read-only.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> is_writable(folder / "not" / "made" / "yet")
    True
    >>> folder.chmod(0o555)
    >>> is_writable(folder)
    False
    >>> folder.chmod(0o755)
    """
    folder = _nearest_existing(Path(folder))
    writable = os.access(folder, os.W_OK)
    if writable and os.geteuid() == 0:
        writable = bool(folder.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    return writable


def _nearest_existing(path: Path) -> Path:
    """``path``, or the nearest folder above it that exists."""
    return next((p for p in (path, *path.parents) if p.exists()), path)


def check_output_file(path: str | os.PathLike[str], *, option: str,
                      inputs: Iterable[str | os.PathLike[str]] = (),
                      outputs: Mapping[str, str | os.PathLike[str] | None] | None = None,
                      suffixes: Iterable[str] | None = None) -> Path:
    """``path`` as a :class:`Path` once it is a place a file can be written to: its folder exists
    and is writable, it is not a folder, it is none of ``inputs`` and none of the command's other
    ``outputs`` (``{option: path}``, None skipped), and its suffix is one of ``suffixes`` (any
    case) when they are given. The error names ``option`` (the command-line option or argument
    that gave the path).

    Examples
    --------
    >>> try:
    ...     check_output_file("out.ply", option="--report", outputs={"TARGET": "out.ply"})
    ... except InvalidParameterError as err:
    ...     print(err)
    --report: out.ply is also TARGET; give each output its own name
    >>> try:
    ...     check_output_file(".ply", option="-o", suffixes=[".ply"])
    ... except InvalidParameterError as err:
    ...     print(err)
    -o: .ply is a suffix with no name before it; give a file name such as out.ply
    """
    path = Path(path)
    folder = path.parent
    if path.is_dir():
        raise InvalidParameterError(f"{option}: {path} is a folder; give a file name")
    for other_option, other in (outputs or {}).items():
        if other is not None and same_place(path, Path(other)):
            raise InvalidParameterError(f"{option}: {path} is also {other_option}; give each "
                                        "output its own name")
    if suffixes is not None:
        suffixes = sorted(suffixes)
        if path.name.lower() in suffixes:  # ".mtx": a hidden file's name, with no suffix
            raise InvalidParameterError(f"{option}: {path} is a suffix with no name before it; "
                                        f"give a file name such as out{path.name}")
        if path.suffix.lower() not in suffixes:
            which = suffixes[0] if len(suffixes) == 1 else f"one of {', '.join(suffixes)}"
            raise InvalidParameterError(f"{option}: {path} must end in {which} (the format "
                                        "follows the name)")
    if not folder.is_dir():
        raise InvalidParameterError(f"{option}: {folder} is a file, not a folder" if folder.exists()
                                    else f"{option}: the folder {folder} does not exist")
    if not is_writable(folder):
        raise InvalidParameterError(f"{option}: the folder {folder} is not writable")
    for source in inputs:  # an input may not exist yet (a dataset about to be downloaded)
        if same_place(path, Path(source)):
            raise InvalidParameterError(f"{option}: {path} is the input file; write to another "
                                        "name (inputs are never overwritten)")
    return path


def same_place(a: Path, b: Path) -> bool:
    """Whether two paths, which need not exist yet, name one file (the same file, through a
    link or a case-insensitive file system, or the same resolved path).

    Examples
    --------
    >>> from pathlib import Path
    >>> same_place(Path("out/../a.ply"), Path("a.ply")), same_place(Path("a.ply"), Path("b.ply"))
    (True, False)
    """
    return _same_file(a, b) or a.resolve() == b.resolve()


def folders_to_make(path: str | os.PathLike[str]) -> list[Path]:
    """The folders that making ``path`` would create (it and its missing parents), deepest
    first: what :func:`remove_if_empty` takes away again after a run that wrote nothing.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> base = pathlib.Path(tempfile.mkdtemp())
    >>> [p.relative_to(base).as_posix() for p in folders_to_make(base / "a" / "b")]
    ['a/b', 'a']
    """
    path = Path(path)
    return [d for d in (path, *path.parents) if not d.exists()]


def remove_if_empty(made: Iterable[Path]) -> None:
    """Remove the folders ``made`` (deepest first, from :func:`folders_to_make`) while they are
    empty: a failed run leaves no folder it made.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> base = pathlib.Path(tempfile.mkdtemp())
    >>> made = folders_to_make(base / "a" / "b")
    >>> (base / "a" / "b").mkdir(parents=True)
    >>> remove_if_empty(made)
    >>> (base / "a").exists()
    False
    """
    for folder in made:
        if not folder.is_dir() or any(folder.iterdir()):
            return
        folder.rmdir()


def unwritable_folder(path: str | os.PathLike[str]) -> str | None:
    """Why files cannot be written into the folder ``path`` (made where it does not exist yet),
    in words, or None where they can.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> unwritable_folder(folder / "new") is None
    True
    >>> folder.chmod(0o555)
    >>> unwritable_folder(folder / "new").endswith(f"new: {folder} is not writable")
    True
    >>> folder.chmod(0o755)
    """
    path = Path(path)
    if is_writable(path):
        return None
    there = _nearest_existing(path)
    why = "a file, not a folder" if not there.is_dir() else "not writable"
    return (f"the folder {path} is not writable" if there == path
            else f"cannot make the folder {path}: {there} is {why}")


def check_output_folder(path: str | os.PathLike[str], *, option: str) -> Path:
    """``path`` as a folder to write into: made (with its parents) if it does not exist; an
    error naming ``option`` when it is a file or not writable."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise InvalidParameterError(f"{option}: {path} is a file, not a folder")
    why = unwritable_folder(path)  # before making it: root could make it in a read-only folder
    if why is not None:
        raise InvalidParameterError(f"{option}: {why}")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise InvalidParameterError(f"{option}: cannot make the folder {path} ({err.strerror})") \
            from None
    return path


class StagedOutputs:
    """Temporary names for output files, moved into place together on success.

    Use as a context manager over ``name=final_path`` pairs (None values are skipped); it yields
    ``{name: temporary_path}``. Temporary names keep the final suffix (writers choose the format
    by it) and sit in the same folder (the move is an atomic rename). A final path that is a
    folder is refused when made, before any work (its move would fail after the others had
    moved); no temporary file outlives the block.
    """

    def __init__(self, **finals: str | os.PathLike[str] | None) -> None:
        self.finals = {k: Path(v) for k, v in finals.items() if v is not None}
        places = [p.resolve() for p in self.finals.values()]
        if len(set(places)) < len(places):
            raise ValueError(f"two outputs share a name: {sorted(map(str, self.finals.values()))}")
        for path in self.finals.values():
            if path.is_dir():
                raise InvalidParameterError(f"{path} is a folder, where an output file of that "
                                            "name goes; move the folder away")
        tag = f"partial-{os.getpid()}"
        self.temps = {k: p.with_name(f".{p.stem}.{tag}{p.suffix}") for k, p in self.finals.items()}

    def __enter__(self) -> dict[str, Path]:
        return dict(self.temps)

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        try:
            if exc_type is None:
                for key, temp in self.temps.items():
                    if not temp.exists():
                        raise RuntimeError(f"output {self.finals[key]} was not written")
                for key, temp in self.temps.items():
                    try:
                        os.replace(temp, self.finals[key])
                    except OSError as err:  # named by the output, not its temporary name
                        raise OSError(err.errno, f"cannot be written ({err.strerror})",
                                      str(self.finals[key])) from None
        finally:  # written ones not moved (a failed move, an error in the block) go
            for temp in self.temps.values():
                temp.unlink(missing_ok=True)


def write_figure_and_text(figure: Any, png: Path, md: Path, text: str, *, dpi: int = 120) -> None:
    """A matplotlib ``figure`` saved to ``png`` and ``text`` to ``md`` together, through
    :class:`StagedOutputs` (a run stopped while writing leaves the earlier pair as it was); the
    figure is closed."""
    import matplotlib.pyplot as plt

    try:
        with StagedOutputs(png=png, md=md) as staged:
            figure.savefig(staged["png"], dpi=dpi)
            staged["md"].write_text(text)
    finally:
        plt.close(figure)


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Replace the file ``path`` with ``text`` in one step (:class:`StagedOutputs`: a temporary
    file beside it, then a rename), so that a reader, or a run stopped at any moment, sees the
    old file or the new one, never a half-written one.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "records.json"
    >>> write_text_atomic(target, "[]"); target.read_text()
    '[]'
    """
    with StagedOutputs(text=path) as staged:
        staged["text"].write_text(text)


def json_text(value: Any, *, indent: int | None = None) -> str:
    """``value`` as strict JSON, as reports and ``--json`` lines are written: a float that is not
    finite (the PSNR of a render identical to its reference) becomes ``null``. Python's ``json``
    would write ``Infinity`` or ``NaN``, which strict parsers (JavaScript, ``jq``, most languages)
    refuse or misread. Where ``null`` already means "not measured" (a stream batch's ``kappa``),
    no infinite value is expected: dyGRASS keeps H spanning G.

    Examples
    --------
    >>> json_text({"psnr": float("inf"), "ssim": 1.0, "runs": [float("nan"), 2]})
    '{"psnr": null, "ssim": 1.0, "runs": [null, 2]}'
    """
    return json.dumps(_finite_or_null(value), indent=indent, allow_nan=False)


def _finite_or_null(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {k: _finite_or_null(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite_or_null(v) for v in value]
    return value
