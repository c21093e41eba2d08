"""Start-up checks shared by the benchmark scripts, so that a run fails in its first seconds, not
after its work: the output folder is made and tested for writing up front, and the optional
packages and datasets a script needs are loaded before anything is measured. A failed check
prints one ``error: ...`` line and exits with code 2, and takes away the output folders the script
made that are still empty (never a folder that was there before): a refused run leaves nothing,
and neither does a run stopped (an exception, Ctrl-C, SIGTERM) before it wrote a file.

Results go to ``out/benchmarks`` in the repository unless ``--out`` says otherwise; the committed
record in ``benchmarks/results`` is only written with ``--out benchmarks/results``. Their JSON is
strict (:func:`to_json`): a float that is not finite is written as a string.

Standard library only (``startup.py`` times the command line with nothing else loaded). The
scripts import it as ``from _common import ...`` (Python puts a script's folder on sys.path).
"""

from __future__ import annotations

import argparse
import atexit
import importlib
import json
import math
import os
import shlex
import signal
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn

from sparsebox.outputs import folders_to_make, is_writable, remove_if_empty

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO_ROOT / "out" / "benchmarks"

# Optional packages (import name) -> the extra of sparsebox that installs them, and a note.
EXTRAS = {
    "networkit": ("bench", ""),
    "open3d": ("points", "open3d-cpu needs the system library libusb-1.0-0"),
    "gsplat": ("splat-gpu", ""),
    "ogb": ("ogb", ""),
    "ray": ("ray", ""),
    "cupy": ("gpu", ""),
}

# The dataset kinds sparsebox.data.load_graph reads as a graph.
GRAPH_KINDS = ("metis", "matrix-market", "planetoid")

#: How the benchmarks' JSON holds a float that is not finite (an infinite kappa: H leaves G's
#: components apart): as these strings, which Python's float() and JavaScript's Number() read
#: back. Python's json would write the bare tokens Infinity and NaN, which are not JSON (jq and
#: JSON.parse refuse them); null is no choice, since it already means "not measured".
NON_FINITE = {"Infinity": math.inf, "-Infinity": -math.inf, "NaN": math.nan}


#: The folders :func:`output_folder` made in this process, in the order it made them.
MADE: list[Path] = []


def fail(message: str) -> NoReturn:
    """One ``error:`` line on stderr, exit code 2; the folders made by :func:`output_folder` that
    are still empty are removed (a check that fails after ``--out`` was made leaves no folder)."""
    print(f"error: {message}", file=sys.stderr)
    remove_made_folders()
    raise SystemExit(2)


def remove_made_folders() -> None:
    """Remove the folders :func:`output_folder` made, deepest first, while they are empty."""
    remove_if_empty(reversed(MADE))
    MADE.clear()


# and at exit: a run stopped by an exception or Ctrl-C before it wrote a file left --out empty
atexit.register(remove_made_folders)


def _terminated(signum: int, frame: Any) -> NoReturn:
    raise SystemExit(128 + signum)


# SIGTERM (`timeout`, `kill`) ends the run as Ctrl-C does, through its clean-up (Python's default
# ends it at once: an empty --out, a half-rendered video's hidden folder were left behind)
if threading.current_thread() is threading.main_thread():
    signal.signal(signal.SIGTERM, _terminated)


def repeats(values: Sequence) -> bool:
    """Whether ``values`` name one value twice (names in any case: the catalogue reads KARATE as
    karate)."""
    return len({v.lower() if isinstance(v, str) else v for v in values}) != len(values)


def refuse_repeats(option: str, values: Sequence) -> None:
    """Fail (``error:`` line, exit code 2) when ``values``, the values of ``option``, name one
    value twice (:func:`repeats`)."""
    if repeats(values):
        fail(f"{option} names a value twice: {list(values)}")


def count(minimum: int = 1):
    """An argparse ``type``: an integer >= ``minimum``. argparse refuses a bad value with an
    ``error:`` line and exit code 2 while it parses, before any work."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be >= {minimum}, got {value}")
        return value
    parse.__name__ = "integer"
    return parse


def at_least(minimum: float, *, above: bool = False):
    """An argparse ``type``: a finite number >= ``minimum`` (> ``minimum`` when ``above``)."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not math.isfinite(value):  # float() reads nan, inf and infinity
            raise argparse.ArgumentTypeError(f"must be a finite number, got {value}")
        if not (value > minimum if above else value >= minimum):
            raise argparse.ArgumentTypeError(f"must be {'>' if above else '>='} {minimum}, "
                                             f"got {value}")
        return value
    parse.__name__ = "number"
    return parse


def finite(text: str) -> float:
    """An argparse ``type``: a finite number (``float`` alone takes nan and inf)."""
    return at_least(-math.inf)(text)


def keep_ratio(text: str) -> float:
    """An argparse ``type``: a keep ratio (fraction kept) in (0, 1], refused in the library's
    words whichever side it falls on (``must be in (0, 1], got 1.5``)."""
    value = finite(text)
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"must be in (0, 1], got {value}")
    return value


def to_json(value: Any, *, indent: int | None = None) -> str:
    """``value`` as strict JSON, every float that is not finite written as its string in
    :data:`NON_FINITE`; :func:`from_json` reads it back.

    Examples
    --------
    >>> to_json({"kappa": float("inf"), "runs": [float("nan"), 2.5]})
    '{"kappa": "Infinity", "runs": ["NaN", 2.5]}'
    """
    def spelled(v: Any) -> Any:
        if isinstance(v, float) and not math.isfinite(v):
            return "NaN" if math.isnan(v) else "Infinity" if v > 0 else "-Infinity"
        if isinstance(v, dict):
            return {k: spelled(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [spelled(x) for x in v]
        return v

    return json.dumps(spelled(value), indent=indent, allow_nan=False)


def from_json(text: str) -> Any:
    """The value of a benchmark's JSON ``text`` (:func:`to_json`, or an older record with bare
    ``Infinity`` tokens), the strings of :data:`NON_FINITE` read back as floats.

    Examples
    --------
    >>> from_json('{"kappa": "Infinity", "runs": [Infinity, 2.5], "graph": "wave"}')
    {'kappa': inf, 'runs': [inf, 2.5], 'graph': 'wave'}
    """
    def read(v: Any) -> Any:
        if isinstance(v, str):
            return NON_FINITE.get(v, v)
        if isinstance(v, dict):
            return {k: read(x) for k, x in v.items()}
        if isinstance(v, list):
            return [read(x) for x in v]
        return v

    return read(json.loads(text))


def script_name() -> str:
    return Path(sys.argv[0]).name or "this benchmark"


def command_line(argv: Sequence[str] | None) -> str:
    """The command that ran the script, as it would be typed again (for the records)."""
    args = sys.argv[1:] if argv is None else list(argv)
    return "python " + shlex.join([sys.argv[0], *args])


class _ListValues(argparse.Action):
    """The values of a list option (:func:`add_list_option`): split at commas as well, each
    piece through ``item`` and among ``allowed`` where given (and then once only), gathered in
    one flat list."""

    def __init__(self, *args: Any, item: Any = str, allowed: Sequence[str] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.item, self.allowed = item, allowed

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:
        items = []
        for piece in (p.strip() for text in values for p in text.split(",") if p.strip()):
            try:
                items.append(self.item(piece))
            except argparse.ArgumentTypeError as err:
                raise argparse.ArgumentError(self, str(err)) from None
            except ValueError:  # a plain type (float, int) says nothing of its own
                kind = {float: "a number", int: "an integer"}.get(self.item, "a value")
                raise argparse.ArgumentError(self, f"{piece!r} is not {kind}") from None
            if self.allowed is not None and items[-1] not in self.allowed:
                raise argparse.ArgumentError(self, f"invalid choice: {piece!r} (choose from "
                                                   f"{', '.join(self.allowed)})")
        if not items and self.nargs != "*":  # "," or "" gave none
            raise argparse.ArgumentError(self, "give at least one value")
        if self.allowed is not None and repeats(items):  # a part run twice
            raise argparse.ArgumentError(self, f"names a value twice: {items}")
        setattr(namespace, self.dest, items)


def add_list_option(parser: argparse.ArgumentParser, name: str, *, item: Any = str,
                    choices: Sequence[str] | None = None, empty: bool = False,
                    **kwargs: Any) -> None:
    """A list option of every benchmark, its values given space- or comma-separated (``--keeps
    0.5 0.25``, ``--keeps 0.5,0.25``), each through ``item`` (an argparse ``type``) and among
    ``choices``; ``empty``: it may be given with no value (``kwargs``: more of
    ``add_argument``'s).

    Examples
    --------
    >>> ap = argparse.ArgumentParser()
    >>> add_list_option(ap, "--keeps", item=float, default=[0.5])
    >>> ap.parse_args(["--keeps", "0.75,0.5", "0.25"]).keeps
    [0.75, 0.5, 0.25]
    """
    parser.add_argument(name, nargs="*" if empty else "+", action=_ListValues, item=item,
                        allowed=None if choices is None else list(choices), **kwargs)


def add_parts_option(parser: argparse.ArgumentParser, parts: Sequence[str], *,
                     what: str = "parts to run", **kwargs: Any) -> None:
    """``--parts``: some of ``parts`` (space- or comma-separated; default all), said in its help
    as ``what`` (``kwargs``: more of ``add_argument``'s, a ``metavar`` say)."""
    add_list_option(parser, "--parts", default=list(parts), choices=parts,
                    help=f"{what}, space- or comma-separated, among {', '.join(parts)} (default all)",
                    **kwargs)


def folder_path(text: str) -> Path:
    """An argparse type for an output folder: an empty one (an unset shell variable) is refused,
    not taken for the working folder."""
    if not text.strip():
        raise argparse.ArgumentTypeError("is empty; give a folder")
    return Path(text)


def add_out_option(parser: argparse.ArgumentParser, files: str) -> None:
    """``--out``: default ``out/benchmarks`` in the repository (wherever the script runs from)."""
    parser.add_argument(
        "--out", type=folder_path, default=DEFAULT_OUT,
        help=f"folder for {files} (default: {DEFAULT_OUT}; made if missing); "
             "--out benchmarks/results overwrites the committed record")


def output_folder(path: str | os.PathLike[str], option: str = "--out") -> Path:
    """``path`` made (with its parents) and checked writable by writing a file into it; the
    folders it makes are kept in :data:`MADE`, for :func:`fail` to take away. A folder without
    write permission is refused, for root too (:func:`sparsebox.outputs.is_writable`)."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        fail(f"{option}: {path} is a file, not a folder")
    if not is_writable(path):
        fail(f"{option}: cannot write into the folder {path} (it is read-only)")
    try:
        for folder in reversed(folders_to_make(path)):
            try:
                folder.mkdir()
            except FileExistsError:  # made meanwhile by another process: not ours to remove
                continue
            MADE.append(folder)
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
    """Locate (or download, as the loaders would) the catalogue datasets ``names``; one the
    catalogue ships no files for is left to its loader's package (PyG, ogb) to download."""
    from sparsebox.data import fetch, get_dataset

    for name in names:
        try:  # an unknown name too (get_dataset's error names the known ones)
            if download and not get_dataset(name).files:
                continue
            fetch(name, download=download)
        except (OSError, ValueError) as err:
            fail(f"{script_name()} needs the dataset {name!r}: {err}")


def check_levels(data: Any, model: str, levels: Iterable[int], option: str = "--levels") -> None:
    """Fail (an ``error:`` line naming ``option``) when the deepest of TEDDY's ``levels`` keeps no
    edge of the node dataset ``data`` or no weight of ``model``: run_levels refuses such levels
    with a traceback (in scaleout.py, in a task once the Ray cluster had started)."""
    from graphsparse.levels import check_levels_fit

    try:
        check_levels_fit(data, model, list(levels))
    except ValueError as err:
        fail(f"{option}: {err}")


def require_datasets_of(names: Iterable[str], option: str = "--graphs",
                        kinds: Sequence[str] = GRAPH_KINDS, what: str = "a graph") -> None:
    """Fail when one of the catalogue datasets ``names`` is unknown or not of ``kinds`` (by
    default a graph ``load_graph`` reads, not a scene or a set of molecules), naming ``option``;
    call it before :func:`check_startup`, which makes the output folder and fetches the
    datasets."""
    from sparsebox.data import catalogue, get_dataset
    from sparsebox.data.sources import did_you_mean

    for name in names:
        try:
            kind = get_dataset(name).kind
        except ValueError:  # an unknown name: the known ones of the kinds wanted (not scenes)
            known = sorted(key for key, info in catalogue().items() if info.kind in kinds)
            fail(f"{option}: unknown dataset {name!r}{did_you_mean(name.lower())}; known: "
                 f"{', '.join(known)}")
        if kind not in kinds:
            fail(f"{option}: {name} is not {what} but a dataset of kind {kind}")


def check_startup(out: str | os.PathLike[str], *, packages: Iterable[str] = (),
                  datasets: Iterable[str] = (), download: bool = True,
                  outputs: Iterable[str] = ()) -> Path:
    """Every start-up check of a script: its optional packages, its output folder (returned,
    made), the files it writes there (``outputs``: no folder in a file's place, which failed
    with a traceback after the work), its datasets."""
    for module in packages:
        require(module)
    for name in outputs:
        if (Path(out) / name).exists() and not (Path(out) / name).is_file():
            fail(f"--out: {Path(out) / name} is in the way of the {name} this script writes "
                 "there (it is not a file): move it away or choose another --out")
    folder = output_folder(out)
    require_datasets(datasets, download=download)
    return folder


def recorded_parts(path: Path, every: Sequence[str]) -> list[str]:
    """The parts of ``every`` that the record ``path`` (a script's JSON) holds; none where there
    is no such file or it is no record (nothing in it to keep)."""
    try:
        record = from_json(path.read_text())
    except (OSError, ValueError):
        return []
    return [part for part in every if isinstance(record, dict) and part in record]


def dropped_entries(path: Path, keys: set, *, entries: Callable[[Any], Iterable[dict]],
                    key: Callable[[dict], Any], label: Callable[[dict], str]) -> list[str]:
    """What a run measuring ``keys`` and writing its record in place of ``path`` drops, for
    :func:`refuse_dropping`: the ``label`` (in words, each once) of every one of the record's
    ``entries`` whose ``key`` is not in ``keys``; none where the file is no record."""
    try:
        record = from_json(path.read_text())
        labels = [label(e) for e in entries(record) if key(e) not in keys]
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return []
    return list(dict.fromkeys(labels))


def refuse_dropping(path: Path, dropped: Sequence[str], keep: str = "pass --update to keep {} "
                    "beside this run's") -> None:
    """Without --update, a run writes its record in place of ``path``: refuse (before any work)
    where that drops what the record holds and the run does not measure again, ``dropped`` (in
    words: "the donut part", "runs of karate"); ``keep``: how to keep them ({}: "it" or "them")."""
    if dropped:
        them = "them" if len(dropped) > 1 or dropped[0].startswith(("runs", "rows")) else "it"
        fail(f"--out: {path} holds {', '.join(dropped)}, which this run does not measure and "
             f"would drop: {keep.format(them)}, or choose another --out")


def keep_parts(result: dict, kept: dict, parts: Sequence[str], every: Sequence[str],
               carried: Mapping[str, str] | None = None) -> None:
    """Into ``result``, the parts of an earlier record ``kept`` (of ``every``) that this run,
    measuring ``parts``, does not, each with the command and date of the run that measured it
    (which ``kept`` may itself have kept from an earlier one) and the entry of ``kept["meta"]``
    that ``carried`` names for it."""
    for part in every:
        if part not in parts and part in kept:
            result[part] = kept[part]
            meta = kept["meta"]
            result["meta"][f"{part}_from"] = meta.get(f"{part}_from", meta["command"])
            result["meta"][f"{part}_date"] = meta.get(  # a part kept before dates were kept:
                f"{part}_date", "unknown" if f"{part}_from" in meta else meta["date"])
            if carried and part in carried:
                result["meta"][carried[part]] = meta[carried[part]]


def kept_parts_lines(meta: dict, every: Sequence[str]) -> list[str]:
    """The lines of a Markdown record that say which parts were kept from which command."""
    return [f"The {part} part is kept from `{meta[f'{part}_from']}` ({meta[f'{part}_date']}).\n"
            for part in every if f"{part}_from" in meta]


def read_kept(previous: Path, parts: Sequence[str], every: Sequence[str], markdown: Any, *,
              meta: Mapping[str, Any] | None = None,
              carried: Mapping[str, str] | None = None) -> dict | None:
    """The record ``previous`` that --update keeps the parts of ``every`` that this run, measuring
    ``parts``, does not (None where there is none yet), read and checked before anything starts:
    the script's ``markdown`` of a record of those kept parts (:func:`keep_parts`, ``carried``
    as there; ``meta``: the fields its table reads of this run besides its command and date)
    must come out, as of a record the script wrote; else an error naming --update."""
    if not previous.is_file():
        return None
    try:
        kept = from_json(previous.read_text())
        if not isinstance(kept, dict) or not isinstance(kept.get("meta"), dict) \
                or "command" not in kept["meta"]:
            raise ValueError("no meta.command")
        if f"{previous.stem}.py" not in str(kept["meta"]["command"]):  # another script's
            raise ValueError(f"made by `{kept['meta']['command']}`, not {previous.stem}.py")
        trial = {"meta": {"command": "", "date": "", **(meta or {})}}
        keep_parts(trial, kept, parts, every, carried)
        markdown(trial)
    except (OSError, ValueError, TypeError, AttributeError, KeyError, IndexError) as err:
        fail(f"--update: {previous} is not a record of this script ({type(err).__name__}: "
             f"{err}); move it away or drop --update")
    return kept
