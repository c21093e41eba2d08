"""Durable streaming of edge updates: event parsing, a checkpoint and an append-only log.

A state folder holds

* ``checkpoint.npz``: G, H and the estimator's state after some batch (written atomically);
* ``log.jsonl``: every applied batch, appended and fsynced BEFORE it is applied (write-ahead);
* ``metrics.jsonl``: one line per batch (edges, density, time, kappa every N batches).

After a crash at any moment, reopening loads the checkpoint and replays the logged batches after
it; updates are deterministic under the seed, so the state is exactly the one an uninterrupted run
reaches. A torn last log line (the crash came mid-write) was never applied and is dropped; a
line that is not a record anywhere else is an error naming it. A replayed batch adds no metrics
line when it has one; one whose line the crash lost gets it again, marked ``"replayed": true``
(its ``seconds`` are the replay's).
"""

from __future__ import annotations

import fcntl
import io
import json
import os
import warnings
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np

from graphsparse.dynamic import BatchError, BatchReport, DynamicSpectralSparsifier, EdgeEvent
from sparsebox._validation import scalar_item, text_number
from sparsebox.exceptions import InputFileError, InvalidParameterError
from sparsebox.outputs import counted, folders_to_make, json_text, remove_if_empty
from sparsebox.structure import as_structure

__all__ = ["EventParseError", "SettingsMismatchError", "parse_events", "StreamState"]

CHECKPOINT = "checkpoint.npz"
LOG = "log.jsonl"
METRICS = "metrics.jsonl"
#: The parameters that define a stream: resuming with other values is refused. The others
#: (``on_missing``, ``backend``) are how this run treats events and may change between runs.
IDENTITY = ("keep_ratio", "budget", "density", "max_density", "distortion",
            "calibration_quantile", "recovery", "num_walkers", "max_steps", "seed")
#: Where this run does its work: never stored, free to change between runs.
RUN_OPTIONS = ("executor",)


class SettingsMismatchError(ValueError):
    """A state resumed with other :data:`IDENTITY` parameters than it was made with; ``differs``
    is ``{parameter: (stored value, value now)}``."""

    def __init__(self, folder: Path, differs: dict[str, tuple[Any, Any]]) -> None:
        self.folder, self.differs = folder, differs
        super().__init__(self.explain())

    def explain(self, name: Callable[[str], str] = str,
                value: Callable[[str, Any], str] = lambda _, v: repr(v)) -> str:
        """The message, with each parameter called ``name(parameter)`` and each value shown as
        ``value(parameter, value)`` (a command line speaks of its options).

        Examples
        --------
        >>> err = SettingsMismatchError(Path("run1"), {"max_density": (None, 2.0)})
        >>> err.explain(lambda p: "--" + p.replace("_", "-"), lambda p, v: f"{v}").split(";")[0]
        'run1 holds a stream made with --max-density None (now 2.0)'
        """
        shown = ", ".join(f"{name(k)} {value(k, a)} (now {value(k, b)})"
                          for k, (a, b) in self.differs.items())
        return (f"{self.folder} holds a stream made with {shown}; resume with the same settings "
                "or use another --state")


class EventParseError(ValueError):
    """A malformed event line; ``lineno`` is 1-based."""

    def __init__(self, source: str, lineno: int, message: str) -> None:
        super().__init__(f"{source}: line {lineno}: {message}")
        self.source, self.lineno, self.detail = source, lineno, message


def parse_event_line(line: str, lineno: int, source: str = "events") -> EdgeEvent | None:
    """One event from ``+ u v [w]``, ``- u v`` or a JSON object; None for blanks and comments
    (``#`` or ``%``, as the edge lists take)."""
    text = line.strip()
    if not text or text.startswith(("#", "%")):
        return None
    if text.startswith("{"):
        try:
            obj = json.loads(text)
            event = EdgeEvent.coerce(obj)
        except (ValueError, KeyError, TypeError) as err:
            raise EventParseError(source, lineno, f"bad JSON event {text!r} ({err})") from None
    else:
        parts = text.split()
        if parts[0] == "-" and len(parts) == 4:  # as a JSON deletion with a weight is told
            raise EventParseError(source, lineno, f"a deletion removes the whole edge and takes "
                                                  f"no weight, got {text!r}: give '- u v'")
        if parts[0] not in ("+", "-") or len(parts) not in ((3, 4) if parts[0] == "+" else (3,)):
            raise EventParseError(source, lineno,
                                  f"expected '+ u v [w]' or '- u v', got {text!r}")
        try:
            u, v = text_number(parts[1], int), text_number(parts[2], int)
            w = text_number(parts[3]) if len(parts) == 4 else 1.0
        except ValueError:
            raise EventParseError(source, lineno, f"node ids must be integers and the weight "
                                                  f"a number, got {text!r}") from None
        event = EdgeEvent(parts[0], u, v, w)
    if event.op not in ("+", "-"):
        raise EventParseError(source, lineno, f"op must be '+' or '-', got {event.op!r}")
    return event


def parse_events(lines: Iterable[str | bytes],
                 source: str = "events") -> Iterator[tuple[int, EdgeEvent]]:
    """``(line number, event)`` for every event line; lines may be ``str`` or UTF-8 ``bytes``
    (a line that is not UTF-8 is an :class:`EventParseError` naming it), and a whole text is
    read line by line (it had been read character by character); a byte-order mark opening the
    first line (as some Windows editors write) is skipped."""
    if isinstance(lines, str):  # (str.splitlines also splits at \x0c or \u2028, as a file does not)
        lines = io.StringIO(lines, newline=None)
    elif isinstance(lines, bytes):
        lines = lines.splitlines()
    for lineno, line in enumerate(lines, start=1):
        if isinstance(line, bytes):
            try:
                line = line.decode("utf-8-sig" if lineno == 1 else "utf-8")
            except UnicodeDecodeError as err:
                raise EventParseError(source, lineno, f"not UTF-8 text (byte "
                                      f"{line[err.start]:#04x} at column {err.start + 1})") from None
        if lineno == 1:
            line = line.removeprefix("\ufeff")
        event = parse_event_line(line, lineno, source)
        if event is not None:
            yield lineno, event


@dataclass
class Resumed:
    events_applied: int
    replayed_batches: int
    #: the replayed batches that had no metrics line yet (a run stopped before writing it), as
    #: written now: a run that prints its batches prints these too
    reports: list = field(default_factory=list)
    #: the batch size of the run that logged the last batch (None: no batch logged, or one
    #: logged before batch sizes were)
    last_batch_size: int | None = None


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class StreamState:
    """A :class:`DynamicSpectralSparsifier` kept durable in a folder.

    Use :meth:`open` to start or resume, :meth:`apply` for each batch, :meth:`close` at the end.
    """

    def __init__(self, folder: Path, model: DynamicSpectralSparsifier, source: str,
                 events_applied: int, made: list[Path] | None = None,
                 events_files: list[str] | None = None, self_loops: int | None = 0,
                 source_sha256: str | None = None) -> None:
        self.folder = folder
        self.model = model
        self.source = source
        self.events_applied = events_applied
        self.events_files = list(events_files or [])  # the event files runs read (resolved)
        self.self_loops = self_loops  # the graph's, which G leaves out (None: not recorded)
        self.source_sha256 = source_sha256  # the graph file's, as it was fitted (None: a dataset)
        self._events_file: str | None = None  # this run's, counted once an event of it applies
        self._made = made  # a new state: the folders opening it made (None: resumed)
        self._log: IO[str] | None = None
        self._metrics: IO[str] | None = None
        self._lock: int | None = None  # the folder's lock (flock), held while open

    # ------------------------------------------------------------------ opening
    @classmethod
    def open(cls, folder: str | os.PathLike[str], graph_source: str | os.PathLike[str],
             load_graph: Any, params: dict[str, Any],
             events_file: str | os.PathLike[str] | None = None,
             kappa_every: int = 0) -> tuple[StreamState, Resumed]:
        """Resume the state in ``folder``, or fit a new one on ``load_graph()``.

        ``graph_source`` names the graph (a resolved path, a ``str`` or a ``Path``, or a dataset
        name); resuming with another graph or other :data:`IDENTITY` parameters is an error that
        names both.
        ``events_file``, the file this run reads its events from (None: standard input or a
        pipe), joins the state's inputs (:func:`state_input_files`), which its exports must not
        overwrite, once an event of it is applied or found to be one the state applied
        (:meth:`count_events_file`).
        The state's ``self_loops`` counts the graph's self-loops, which G leaves out (they add
        nothing to a Laplacian); None for a state whose checkpoint did not record them.
        Batches the log holds past the checkpoint are replayed; one whose metrics line is
        missing gets it, with kappa where its number is a multiple of ``kappa_every`` (this
        run's setting: the log does not record the stopped run's).
        """
        folder, graph_source = Path(folder), os.fspath(graph_source)  # (the checkpoint's JSON)
        made = folders_to_make(folder)
        lock = _lock(folder) if folder.is_dir() else None
        state = None
        try:
            if (folder / CHECKPOINT).exists():
                state = cls._from_checkpoint(folder, graph_source, params)
                state._check_source_unchanged()  # (an export reads the checkpoint alone)
            else:
                if lock is not None:
                    _check_no_state(folder)
                digest = _graph_file_digest(graph_source)  # before it is read: what it read
                graph = load_graph()
                model = DynamicSpectralSparsifier(**params).fit(graph)
                folder.mkdir(parents=True, exist_ok=True)
                if lock is None:  # the folder is new: another run may have made it meanwhile
                    lock = _lock(folder)
                    if (folder / CHECKPOINT).exists():
                        raise ValueError(f"{folder}: another run made a stream state here while "
                                         "this one fitted its graph; run again to resume it")
                    _check_no_state(folder)
                state = cls(folder, model, graph_source, 0, made=made,
                            self_loops=as_structure(graph).num_self_loops,  # G has none
                            source_sha256=digest)
                state.checkpoint()
            state._lock = lock
            replayed, reports, last_size = state._replay_log(kappa_every=kappa_every)
            state._events_file = None if events_file is None else str(Path(events_file).resolve())
        except BaseException:
            if state is not None:
                state.remove_if_unused()
            if lock is not None:
                os.close(lock)
            raise
        return state, Resumed(state.events_applied, replayed, reports, last_size)

    @classmethod
    def _from_checkpoint(cls, folder: Path, graph_source: str | None = None,
                         params: dict[str, Any] | None = None):
        """The state of a checkpoint; ``graph_source`` and the :data:`IDENTITY` part of
        ``params``, when given, must match the stored ones (``None``: take what is stored)."""
        meta, arrays = _read_checkpoint(folder)
        stored = meta["params"]
        graph_source = meta["source"] if graph_source is None else graph_source
        params = stored if params is None else params
        made, now = _identity(stored), _identity(params)
        differs = {k: (made[k], now[k]) for k in IDENTITY if made[k] != now[k]}
        if meta["source"] != graph_source:
            raise ValueError(f"{folder} holds a stream of graph {meta['source']!r}, not of "
                             f"{graph_source!r}; use another --state")
        if differs:
            raise SettingsMismatchError(folder, differs)
        model = DynamicSpectralSparsifier(**{**stored, **params})
        model._validate_params()  # this run's parameters: an error here is not the file's
        try:
            model.load_state_dict(arrays)
        except InvalidParameterError as err:  # arrays that are not a state: name the file
            raise InputFileError(f"{folder / CHECKPOINT}: {err}") from None
        return cls(folder, model, graph_source, int(meta["events_applied"]),
                   events_files=meta.get("events_files"), self_loops=meta.get("self_loops"),
                   source_sha256=meta.get("source_sha256"))

    def _check_source_unchanged(self) -> None:
        """Refuse to go on with a graph file that has changed since the state was made from it
        (the stream goes on from the G it read then, which an edit would not reach)."""
        known = self.source_sha256  # (none: a dataset, or a state written before it was kept)
        if known is not None and _graph_file_digest(self.source) not in (None, known):
            raise InputFileError(
                f"{self.source} has changed since {self.folder} was made from it; the stream "
                f"goes on from the graph it read then (G is in {self.folder / CHECKPOINT}, with "
                "every event applied since): restore the file, or use another --state to start "
                "from it as it is now")

    def logged_events(self) -> Iterator[EdgeEvent]:
        """The events applied so far, in order, as the log holds them (read when called)."""
        path = self.folder / LOG
        if not path.exists():
            return
        for number, _, record in _log_records(path, path.read_bytes()):
            yield from _record_events(path, number, record)

    def _replay_log(self, repair: bool = True, kappa_every: int = 0
                    ) -> tuple[int, list, int | None]:
        """Replay the logged batches the checkpoint lacks: how many, the reports of those that
        had no metrics line, and the last logged batch's batch size (:class:`Resumed`)."""
        path = self.folder / LOG
        raw = path.read_bytes() if path.exists() else b""
        records = list(_log_records(path, raw))  # a damaged log fails before any replay
        # every applied event is logged before it is applied: a log whose batches in the
        # checkpoint hold fewer lost some, and a resumed stream, which checks the events it skips
        # against the log, would skip them unseen
        held = sum(len(record["events"]) for _, _, record in records
                   if record["batch"] <= self.model.batches_)
        if held < self.events_applied:
            has = f"holds {counted(held, 'event')} of them" if path.exists() else "is missing"
            raise InputFileError(f"{self.folder / CHECKPOINT} counts "
                                 f"{counted(self.events_applied, 'event')} applied and {path} "
                                 f"{has}: the log is damaged; start the stream again in a new "
                                 "state folder")
        if not path.exists():
            return 0, [], None
        logged = _metrics_batches(self.folder / METRICS) if repair else set()
        good_end, replayed, written = 0, 0, []
        for number, end, record in records:
            good_end = end
            if record["batch"] <= self.model.batches_:
                continue  # already in the checkpoint
            if record["batch"] != self.model.batches_ + 1:
                raise InputFileError(f"{path}: line {number}: batch {record['batch']} follows "
                                     f"{self.model.batches_}; the log is out of order")
            # a batch replays under the on_missing it was applied with
            run_setting = self.model.on_missing
            self.model.on_missing = record.get("on_missing", run_setting)
            try:
                report = self.model.update(_record_events(path, number, record))
            except (BatchError, InvalidParameterError) as err:  # the events, or on_missing
                raise InputFileError(f"{path}: line {number}: {err}; the log is damaged") from None
            finally:
                self.model.on_missing = run_setting
            self.events_applied = record["first_event"] + len(record["events"])
            if report.batch not in logged:  # the crash came before its metrics line
                if kappa_every and report.batch % kappa_every == 0:
                    self._add_kappa(report)
                self._write_metrics(report, replayed=True)
                written.append(report)
            replayed += 1
        if repair and good_end != len(raw):
            with open(path, "r+b") as fh:
                fh.truncate(good_end)
                fh.flush()
                os.fsync(fh.fileno())
        return replayed, written, records[-1][2].get("batch_size") if records else None

    # ------------------------------------------------------------------ applying
    def count_events_file(self) -> None:
        """Count this run's events file among the state's inputs (a checkpoint is written when
        it is new): once an event of it is applied, or found to be one the state applied."""
        if self._events_file is not None and self._events_file not in self.events_files:
            self.events_files.append(self._events_file)
            self.checkpoint()

    def apply(self, events: Iterable[Any], kappa: bool = False,
              batch_size: int | None = None) -> BatchReport:
        """Validate, log (fsync), apply. A batch that fails validation is neither logged nor
        applied (:class:`~graphsparse.dynamic.BatchError`), and one whose logging or update raises
        (``MemoryError``, Ctrl-C) is cut from the log again: a caller that goes on logs its next
        batch under the same number. A process killed during the update replays the logged batch
        when the state is opened again. Events are those
        :meth:`~graphsparse.dynamic.DynamicSpectralSparsifier.update` takes (tuples, dicts,
        :class:`~graphsparse.dynamic.EdgeEvent`), a generator of them included. ``batch_size``,
        the size of the run's batches, is logged with the batch (a resumed run's
        :class:`Resumed` reads it back)."""
        if isinstance(events, Iterator):  # read once: validated, logged and applied alike
            events = list(events)
        self.model.validate(events)
        events = [EdgeEvent.coerce(e) for e in events]  # valid: the log holds (op, u, v, w)
        self.count_events_file()  # before the log holds an event of it
        record = {"batch": self.model.batches_ + 1, "first_event": self.events_applied,
                  "on_missing": self.model.on_missing,
                  **({} if batch_size is None else {"batch_size": int(batch_size)}),
                  "events": [[e.op, e.u, e.v, e.weight] for e in events]}
        if self._log is None:
            self._log = open(self.folder / LOG, "a")
        # the file's end, not tell(): after a truncate the append-mode offset still points past
        # the cut record (a second cut there would leave this record and zeros behind it)
        end = self._log.seek(0, os.SEEK_END)
        try:  # (Ctrl-C in a slow fsync left a whole record of a batch never applied)
            self._log.write(json.dumps(record) + "\n")
            self._log.flush()
            os.fsync(self._log.fileno())
            report = self.model.update(events)
        except BaseException:  # not applied, so not logged: the next batch takes its number
            self._log.truncate(end)
            self._log.flush()
            os.fsync(self._log.fileno())
            raise
        self.events_applied += len(events)
        if kappa:
            self._add_kappa(report)
        self._write_metrics(report)
        return report

    def _add_kappa(self, report: BatchReport) -> None:
        """``report.kappa`` of G and H now: a diagnostic, so ARPACK that does not converge
        leaves it null (with a warning), not the run."""
        from scipy.sparse.linalg import ArpackNoConvergence

        from graphsparse.metrics import relative_condition_number

        try:
            report.kappa = relative_condition_number(self.model.graph_, self.model.sparsifier_)
        except ArpackNoConvergence as err:
            warnings.warn(f"batch {report.batch}: kappa not computed ({err})", stacklevel=3)

    def _write_metrics(self, report: BatchReport, **extra: Any) -> None:
        if self._metrics is None:
            self._metrics = open(self.folder / METRICS, "a")
        self._metrics.write(json_text({**report.to_dict(), **extra}) + "\n")
        self._metrics.flush()

    def checkpoint(self) -> None:
        """Write the state atomically (temporary file, fsync, rename, fsync the folder)."""
        m = self.model
        # numpy's numbers as Python's, which JSON writes (seed=np.int64(3) failed to save)
        params = {k: scalar_item(v) for k, v in m.get_params().items() if k not in RUN_OPTIONS}
        meta = {"source": self.source, "params": params, "events_applied": self.events_applied,
                "events_files": self.events_files, "self_loops": self.self_loops,
                "source_sha256": self.source_sha256}
        tmp = self.folder / (CHECKPOINT + ".tmp")
        try:
            with open(tmp, "wb") as fh:
                np.savez(fh, meta=np.array(json.dumps(meta)), **m.state_dict())
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.folder / CHECKPOINT)
        except BaseException:  # an interrupt (Ctrl-C) or a full disk leaves no temporary file
            tmp.unlink(missing_ok=True)
            raise
        _fsync_dir(self.folder)

    def remove_if_unused(self) -> None:
        """Leave no trace of a new state that applied no batch (its run failed): remove the
        files it wrote and the folders opening it made; a folder that was there stays, as empty
        as it was. A resumed state, or one that applied a batch, is kept."""
        if self._made is None or self.model.batches_:
            return
        for name in (CHECKPOINT, CHECKPOINT + ".tmp", LOG, METRICS):
            (self.folder / name).unlink(missing_ok=True)
        remove_if_empty(self._made)

    def close(self) -> None:
        for fh in (self._log, self._metrics):
            if fh is not None:
                fh.close()
        self._log = self._metrics = None
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None


def _identity(params: dict[str, Any]) -> dict[str, Any]:
    """The :data:`IDENTITY` parameters an estimator made with ``params`` uses: those left out
    take their defaults, and the default size its value (``{"seed": 0}`` is the stream that
    ``{"seed": 0, "density": 1.1, "num_walkers": 64}`` is).

    Examples
    --------
    >>> _identity({"seed": 0}) == _identity({"seed": 0, "density": 1.1, "num_walkers": 64})
    True
    """
    model = DynamicSpectralSparsifier(**params)
    resolved = {**model.get_params(), **dict.fromkeys(model.sizing), **model._sizing_in_use()}
    return {k: resolved[k] for k in IDENTITY}


def _graph_file_digest(source: str) -> str | None:
    """The SHA-256 of the graph file a stream is made from (None for a dataset of the catalogue,
    whose files the data root keeps, and for a file that is not there: G is in the checkpoint)."""
    from sparsebox.data.sources import catalogue, sha256_of

    path = Path(source)
    if source.lower() in catalogue() or not path.is_file():
        return None
    return sha256_of(path)


def _lock(folder: Path) -> int:
    """An exclusive lock on the state folder (``flock`` on it), or a ``ValueError`` when another
    run holds it: two runs on one state would interleave their log records."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise ValueError(f"{folder}: another run is streaming into this state; wait for it to "
                         "end or use another --state") from None
    return fd


def _check_no_state(folder: Path) -> None:
    """A folder without a checkpoint becomes a new state only when it holds nothing else: not
    a log whose checkpoint is gone, nor a user's files."""
    if (folder / LOG).exists():
        raise ValueError(f"{folder} holds {LOG} but no {CHECKPOINT}, so it cannot be resumed; "
                         "use another --state")
    others = sorted(p.name for p in folder.iterdir() if not p.name.startswith(CHECKPOINT))
    if others:
        raise ValueError(f"{folder} is not empty ({', '.join(others[:3])}"
                         f"{', ...' if len(others) > 3 else ''}) and holds no stream state; "
                         "give a new or empty folder")


def load_state(folder: str | os.PathLike[str]) -> DynamicSpectralSparsifier:
    """The current estimator of a state folder (checkpoint plus replayed log), read-only use."""
    folder = Path(folder)
    _check_is_state(folder)
    state = StreamState._from_checkpoint(folder)
    state._metrics = open(os.devnull, "w")  # replaying to read: no metrics lines
    state._replay_log(repair=False)
    state.close()
    return state.model


def state_input_files(folder: str | os.PathLike[str]) -> list[Path]:
    """The files the state in ``folder`` read (what its outputs must not overwrite): those of
    the graph it streams and the event files its runs read, from the checkpoint alone.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> state_input_files(tempfile.mkdtemp())
    Traceback (most recent call last):
    ...
    FileNotFoundError: /tmp/...: no checkpoint.npz; is this a `sparsebox stream` state?
    """
    from sparsebox.data.graphs import graph_files

    folder = Path(folder)
    _check_is_state(folder)
    meta = _read_checkpoint(folder, arrays=False)[0]
    return [*graph_files(meta["source"]), *map(Path, meta.get("events_files", []))]


def _check_is_state(folder: Path) -> None:
    if not (folder / CHECKPOINT).exists():
        raise FileNotFoundError(f"{folder}: no {CHECKPOINT}; is this a `sparsebox stream` state?")


def _read_checkpoint(folder: Path, arrays: bool = True) -> tuple[dict, dict[str, np.ndarray]]:
    """The meta and (with ``arrays``) the arrays of the checkpoint in ``folder``; one that cannot
    be read is a ``ValueError`` naming it."""
    if (folder / CHECKPOINT).is_file() and not zipfile.is_zipfile(folder / CHECKPOINT):
        # (numpy's own message for such a file offers to load it as a pickle)
        raise ValueError(f"{folder / CHECKPOINT}: not a readable stream checkpoint (not an .npz "
                         "archive)")
    try:
        with np.load(folder / CHECKPOINT, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            found = {k: data[k] for k in data.files if k != "meta"} if arrays else {}
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as err:
        raise ValueError(f"{folder / CHECKPOINT}: not a readable stream checkpoint "
                         f"({err})") from None
    known = DynamicSpectralSparsifier().get_params()
    if not (isinstance(meta, dict) and isinstance(meta.get("source"), str)
            and isinstance(meta.get("params"), dict) and set(meta["params"]) <= set(known)
            and isinstance(meta.get("events_applied"), int)
            and isinstance(meta.get("events_files", []), list)
            and isinstance(meta.get("self_loops"), (int, type(None)))):
        # (another program's checkpoint.npz that holds a "meta" entry)
        raise ValueError(f"{folder / CHECKPOINT}: not a readable stream checkpoint (its meta "
                         "is not a stream's source, params and events_applied)")
    return meta, found


def _metrics_batches(path: Path) -> set[int]:
    """The batches ``path`` (a state's metrics) has a line for; a torn last line (a crash
    mid-write) is cut off, so that the next line starts on its own, and other lines that are not
    records are skipped."""
    if not path.exists():
        return set()
    raw = path.read_bytes()
    if not raw.endswith(b"\n"):
        raw = raw[:raw.rfind(b"\n") + 1]
        with open(path, "r+b") as fh:
            fh.truncate(len(raw))
    batches = set()
    for line in raw.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and isinstance(record.get("batch"), int):
            batches.add(record["batch"])
    return batches


def _log_records(path: Path, raw: bytes) -> Iterator[tuple[int, int, dict]]:
    """``(line number, offset after it, record)`` of each whole record of the log ``raw`` (the
    bytes of ``path``), in order. A torn or unreadable last line ends the log (that batch was
    never applied); an unreadable line before the last, or a record without its fields, is a
    file error naming its line."""
    end = 0
    lines = raw.splitlines(keepends=True)
    for number, line in enumerate(lines, start=1):
        last = number == len(lines)
        if last and not line.endswith(b"\n"):
            return  # torn write
        try:
            record = json.loads(line)
        except ValueError:
            if last:
                return
            raise InputFileError(f"{path}: line {number} is not JSON, and only a torn last line "
                                 "(a crash mid-write) may be; the log is damaged") from None
        end += len(line)
        if not (isinstance(record, dict) and isinstance(record.get("batch"), int)
                and isinstance(record.get("events"), list)
                and isinstance(record.get("first_event"), int)):
            raise InputFileError(f"{path}: line {number} is not a batch record (batch, "
                                 "first_event and events)")
        yield number, end, record


def _as_logged(event: Any) -> Any:
    """A logged event as it reads now: a deletion logged with a weight (before deletions came to
    take none) deleted the whole edge, as one without does."""
    if isinstance(event, list) and len(event) == 4 and event[0] == "-":
        return event[:3]
    return event


def _record_events(path: Path, number: int, record: dict) -> list[EdgeEvent]:
    """The events of the log record on line ``number``; one that is not an event is a file
    error naming the line."""
    try:
        return [EdgeEvent.coerce(_as_logged(e)) for e in record["events"]]
    except ValueError:
        raise InputFileError(f"{path}: line {number} holds an event that is not (op, u, v, "
                             "weight)") from None
