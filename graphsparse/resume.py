"""Resuming a protocol run in an output folder: the records already there, checked against the
settings the folder was run with. Shared by the commands that write ``results.json`` and
``run.json`` (`graph teddy`, `graph gtsp`); errors name the option."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
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
    if run_path.is_file():  # checked even without results: a run would overwrite it
        before = read_json(run_path, "--resume")
        if not isinstance(before, dict):
            raise typer.BadParameter(f"{run_path} is not a JSON object", param_hint="--resume")
        differs = {k: before[k] for k in run if k in before and before[k] != run[k]}
        if differs:
            raise typer.BadParameter(f"{run_path} was run with {differs}; resume with the same "
                                     "settings or choose another --out", param_hint="--resume")
    if not path.is_file():
        return []
    if not run_path.is_file():
        raise typer.BadParameter(f"{path} has no {run_path.name} beside it, so its settings "
                                 "cannot be checked; resume in the folder a run made, or choose "
                                 "another --out", param_hint="--resume")
    return check_records(read_json(path, "--resume"), path, fields, what, "--resume")


def check_records(records: Any, path: Path, fields: Mapping[str, Any], what: str,
                  param_hint: str) -> list[dict]:
    """``records`` (read from ``path``) when they are a list of objects that hold every key of
    ``fields`` and whose values pass its check (``None``: any value); otherwise an error naming
    ``param_hint`` that calls them not a list of ``what`` records."""
    if not isinstance(records, list) or not all(
            isinstance(r, dict) and set(fields) <= set(r)
            and all(ok is None or ok(r[k]) for k, ok in fields.items()) for r in records):
        raise typer.BadParameter(f"{path} is not a list of {what} records (objects with "
                                 f"{', '.join(sorted(fields))})", param_hint=param_hint)
    return records


def is_number(value: Any) -> bool:
    """A JSON number (not a boolean, not NaN or infinite)."""
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def read_json(path: Path, param_hint: str) -> Any:
    """``path``'s JSON; an error naming ``param_hint`` when it is not JSON."""
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise typer.BadParameter(f"{path} is not JSON ({err})", param_hint=param_hint) from None
