"""Start-up checks shared by the benchmark scripts, so that a run fails in its first seconds, not
after its work: the output folder is made and tested for writing up front, and the optional
packages and datasets a script needs are loaded before anything is measured. A failed check
prints one ``error: ...`` line and exits with code 2.

Results go to ``out/benchmarks`` in the repository unless ``--out`` says otherwise; the committed
record in ``benchmarks/results`` is only written with ``--out benchmarks/results``.

Standard library only (``startup.py`` times the command line with nothing else loaded). The
scripts import it as ``from _common import ...`` (Python puts a script's folder on sys.path).
"""

from __future__ import annotations

import argparse
import importlib
import os
import shlex
import sys
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import NoReturn

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO_ROOT / "out" / "benchmarks"

# Optional packages (import name) -> the extra of sparsebox that installs them, and a note.
EXTRAS = {
    "networkit": ("bench", ""),
    "open3d": ("points", "open3d-cpu needs the system library libusb-1.0-0"),
    "gsplat": ("splat-gpu", ""),
    "ogb": ("ogb", ""),
    "ray": ("ray", ""),
}


def fail(message: str) -> NoReturn:
    """One ``error:`` line on stderr, exit code 2."""
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(2)


def script_name() -> str:
    return Path(sys.argv[0]).name or "this benchmark"


def command_line(argv: Sequence[str] | None) -> str:
    """The command that ran the script, as it would be typed again (for the records)."""
    args = sys.argv[1:] if argv is None else list(argv)
    return "python " + shlex.join([sys.argv[0], *args])


def add_out_option(parser: argparse.ArgumentParser, files: str) -> None:
    """``--out``: default ``out/benchmarks`` in the repository (wherever the script runs from)."""
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT,
        help=f"folder for {files} (default: {DEFAULT_OUT}; made if missing); "
             "--out benchmarks/results overwrites the committed record")


def output_folder(path: str | os.PathLike[str], option: str = "--out") -> Path:
    """``path`` made (with its parents) and checked writable by writing a file into it."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        fail(f"{option}: {path} is a file, not a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as err:
        fail(f"{option}: cannot write into the folder {path} ({err.strerror or err})")
    return path


def require(module: str, reason: str = "") -> None:
    """Import the optional package ``module`` now, or fail naming the extra that installs it."""
    extra, note = EXTRAS[module]
    try:
        importlib.import_module(module)
    except (ImportError, OSError) as err:
        absent = isinstance(err, ModuleNotFoundError) and (err.name or "").split(".")[0] == module
        state = "which is not installed" if absent else f"which fails to import ({err})"
        hint = f"pip install 'sparsebox[{extra}]'" + (f" ({note})" if note else "")
        fail(f"{script_name()} needs {module}{reason}, {state}: {hint}")


def require_datasets(names: Iterable[str], *, download: bool = True) -> None:
    """Locate (or download, as the loaders would) the catalogue datasets ``names``."""
    from sparsebox.data import fetch

    for name in names:
        try:
            fetch(name, download=download)
        except (OSError, ValueError) as err:
            fail(f"{script_name()} needs the dataset {name!r}: {err}")


def check_startup(out: str | os.PathLike[str], *, packages: Iterable[str] = (),
                  datasets: Iterable[str] = (), download: bool = True) -> Path:
    """Every start-up check of a script: its output folder (returned, made), its optional
    packages, its datasets."""
    folder = output_folder(out)
    for module in packages:
        require(module)
    require_datasets(datasets, download=download)
    return folder
