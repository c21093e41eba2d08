"""Resuming a protocol run in an output folder: the records already there, checked against the
settings the folder was run with. Shared by the commands that write ``results.json`` and
``run.json`` (`graph teddy`, `graph gtsp`); errors name the option."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import typer


def check_new_folder(out: Path) -> None:
    """Refuse to start a run over the results of another: ``out`` must be missing or empty
    unless the command resumes (``--resume``)."""
    if out.is_dir() and any(out.iterdir()):
        raise typer.BadParameter(f"{out} exists and is not empty; pass --resume to go on with "
                                 "its runs, or choose another folder", param_hint="--out")


def resumable_records(out: Path, run: dict, fields: Mapping[str, Any], what: str) -> list[dict]:
    """The records of ``out/results.json`` (none when absent), checked against ``out/run.json``
    and by :func:`check_records`."""
    path, run_path = out / "results.json", out / "run.json"
    if (out.is_dir() and not path.exists() and not run_path.exists()
            and any(out.iterdir())):  # a new run would mix its files with others
        raise typer.BadParameter(f"{out} holds no run to resume (no {path.name} or "
                                 f"{run_path.name}) and is not empty; choose a new or empty "
                                 "folder", param_hint="--resume")
    for file in (path, run_path):  # a run writes them: a folder of that name is in its way
        if file.exists() and not file.is_file():
            what = "a folder, not a file" if file.is_dir() else "not a file"
            raise typer.BadParameter(f"{file} is {what}", param_hint="--resume")
    before = None
    if run_path.is_file():  # checked even without results: a run would overwrite it
        before = read_json(run_path, "--resume")
        if not isinstance(before, dict):
            raise typer.BadParameter(f"{run_path} is not a JSON object", param_hint="--resume")
        # names in another case are the same setting (runs before names were lower-cased)
        differs = {k: before[k] for k in run if k in before and before[k] != run[k]
                   and not (isinstance(before[k], str) and isinstance(run[k], str)
                            and before[k].lower() == run[k].lower())}
        if differs:  # named by their options, as the user gave them
            said = ", ".join(_setting(k, before[k]) for k in differs)
            now = ", ".join(_setting(k, run[k]) for k in differs)
            raise typer.BadParameter(f"{run_path} was run with {said}, this run has {now}; resume "
                                     "with the same settings or choose another --out",
                                     param_hint=" / ".join(map(_option, differs)))
    if not path.is_file():
        return []
    if not run_path.is_file():
        raise typer.BadParameter(f"{path} has no {run_path.name} beside it, so its settings "
                                 "cannot be checked; resume in the folder a run made, or choose "
                                 "another --out", param_hint="--resume")
    records = check_records(read_json(path, "--resume"), path, fields, what, "--resume")
    unrecorded = [k for k in run if k not in before]
    if records and unrecorded:  # (a run.json edited by hand): records of other settings mixed in
        said = ", ".join(_setting(k, run[k]) for k in unrecorded)
        raise typer.BadParameter(f"{run_path} does not record the {', '.join(map(_option, unrecorded))}"
                                 " its runs were made with, so they cannot be checked against this "
                                 f"run's ({said}); "
                                 "resume in the folder a run made, or choose another --out",
                                 param_hint="--resume")
    return records


def settings_notes(run: Mapping[str, Any], *, titled: Sequence[str] = ("dataset",)) -> list[str]:
    """The settings of ``run`` (a run.json) as the options that give them, a note for a report
    (none where ``run`` holds only those of ``titled``, which its title gives).

    Examples
    --------
    >>> settings_notes({"dataset": "cora", "epochs": 200, "max_graphs": None})
    ['Run with --epochs 200, no --max-graphs (run.json).']
    >>> settings_notes({"dataset": "cora"})
    []
    """
    said = ", ".join(_setting(k, v) for k, v in run.items() if k not in titled)
    return [f"Run with {said} (run.json)."] if said else []


def _option(key: str) -> str:
    """The command-line option of a run.json key: ``max_graphs`` is ``--max-graphs``."""
    return "--" + key.replace("_", "-")


def _setting(key: str, value: Any) -> str:
    """A run.json setting as its option: ``--epochs 1``; ``no --max-graphs`` for one not given.

    Examples
    --------
    >>> _setting("epochs", 1), _setting("max_graphs", None)
    ('--epochs 1', 'no --max-graphs')
    """
    return f"no {_option(key)}" if value is None else f"{_option(key)} {value}"


def check_records(records: Any, path: Path, fields: Mapping[str, Any], what: str,
                  param_hint: str) -> list[dict]:
    """``records`` (read from ``path``) when they are a list of objects that hold every key of
    ``fields`` and whose values pass its check (``None``: any value); otherwise an error naming
    ``param_hint`` that calls them not a list of ``what`` records and says which record is not."""
    problem = _records_problem(records, fields)
    if problem is not None:
        raise typer.BadParameter(f"{path} is not a list of {what} records (objects with "
                                 f"{', '.join(sorted(fields))}): {problem}", param_hint=param_hint)
    return records


def _records_problem(records: Any, fields: Mapping[str, Any]) -> str | None:
    """Why ``records`` are not a list of objects with the ``fields`` of :func:`check_records`
    (the first record that is not, counted from 1), or None."""
    if not isinstance(records, list):
        return "it is not a list"
    for number, record in enumerate(records, start=1):
        if not isinstance(record, dict):
            return f"record {number} is not an object"
        missing = [k for k in fields if k not in record]
        if missing:
            return f"record {number} has no {', '.join(missing)}"
        wrong = next((k for k, ok in fields.items() if ok is not None and not ok(record[k])), None)
        if wrong is not None:
            return f"record {number}: {wrong} is {json.dumps(record[wrong])}"
    return None


def check_record_values(records: list[dict], path: Path,
                        rules: Mapping[str, tuple[Callable[[Any], bool], str]],
                        param_hint: str) -> None:
    """Refuse a value no run writes: each key of ``rules`` that a record holds must pass its
    check, ``{key: (check, what the value must be)}``; the error names ``param_hint``, the record
    (counted from 1), the key, what it must be and what it was.

    Examples
    --------
    >>> rules = {"test_acc": (lambda v: 0 <= v <= 1, "must be in [0, 1]")}
    >>> try:
    ...     check_record_values([{"test_acc": 0.5}, {"test_acc": 2.5}], Path("r.json"), rules, "FOLDER")
    ... except typer.BadParameter as err:
    ...     print(err.message)
    r.json: record 2: test_acc must be in [0, 1], got 2.5
    """
    for number, record in enumerate(records, start=1):
        for key, (ok, must) in rules.items():
            if key in record and not ok(record[key]):
                raise typer.BadParameter(f"{path}: record {number}: {key} {must}, got "
                                         f"{json.dumps(record[key])}", param_hint=param_hint)


def check_unique_records(records: list[dict], path: Path,
                         run: Sequence[str] | Callable[[dict], tuple[tuple, str]],
                         param_hint: str) -> None:
    """Refuse a run recorded twice: no two records may share their run, which is the values of
    the keys ``run`` names or, where ``run`` is a function, the first item of its ``(key,
    description)`` of a record; the error names ``param_hint`` and both records (counted from 1).

    Examples
    --------
    >>> runs = [{"seed": 0, "acc": 0.5}, {"seed": 1, "acc": 0.5}, {"seed": 0, "acc": 0.6}]
    >>> try:
    ...     check_unique_records(runs, Path("r.json"), ["seed"], "FOLDER")
    ... except typer.BadParameter as err:
    ...     print(err.message)
    r.json: records 1 and 3 are both seed 0; each run is recorded once
    """
    if callable(run):
        run_of = run
    else:
        keys = tuple(run)

        def run_of(record: dict) -> tuple[tuple, str]:
            values = tuple(record[k] for k in keys)
            return values, ", ".join(f"{k} {v}" for k, v in zip(keys, values, strict=True))

    first: dict[tuple, int] = {}
    for number, record in enumerate(records, start=1):
        key, same = run_of(record)
        if key in first:
            raise typer.BadParameter(f"{path}: records {first[key]} and {number} are both "
                                     f"{same}; each run is recorded once", param_hint=param_hint)
        first[key] = number


def is_number(value: Any) -> bool:
    """A JSON number (not a boolean, not NaN or infinite)."""
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def read_json(path: Path, param_hint: str) -> Any:
    """``path``'s JSON (a UTF-8 byte-order mark before it, as some editors write, is read); an
    error naming ``param_hint`` when it is not JSON."""
    try:
        return json.loads(path.read_text(encoding="utf-8-sig"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise typer.BadParameter(f"{path} is not JSON ({err})", param_hint=param_hint) from None
