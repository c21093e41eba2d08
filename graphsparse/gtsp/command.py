"""The body of `sparsebox graph gtsp` (the option parsing lives in :mod:`graphsparse.cli`).

Mistakes raise ``typer.BadParameter`` naming the option; the face turns them into one ``error:``
line. Records are written to ``OUT/results.json`` as they arrive, so a stopped run keeps them
and ``--resume`` runs only what is missing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from sparsebox.exceptions import InvalidParameterError
from sparsebox.outputs import json_text

__all__ = ["previous_records", "run_gtsp_command"]


def _parsed(parse: Any, text: str, option: str) -> Any:
    """``parse(text)``, its error told as a usage error of ``option``."""
    try:
        return parse(text)
    except InvalidParameterError as err:
        raise typer.BadParameter(str(err), param_hint=option) from None


def _options(dataset: str, axes: str, keep: str, baselines: str) -> tuple:
    from graphsparse.gtsp.data import molecule_datasets
    from graphsparse.gtsp.protocol import BASELINES, parse_axes, parse_keeps
    from sparsebox.options import names_option

    known = molecule_datasets()
    if dataset.lower() not in known:
        raise typer.BadParameter(f"must be an ogb graph-property dataset ({', '.join(known)}), "
                                 f"got {dataset!r}", param_hint="--dataset")
    axis_list = _parsed(parse_axes, axes, "--axes")
    keeps = _parsed(parse_keeps, keep, "--keep")
    # each given once (twins would train twice, and --resume refuse them)
    wanted = names_option(baselines, BASELINES, "--baselines", what="baseline", empty=True)
    return dataset.lower(), axis_list, keeps, wanted


def _record_fields() -> dict[str, Any]:
    """What every record of :func:`graphsparse.gtsp.protocol.run_seed` holds, with a check of
    its type (the report and the re-timing read them all)."""
    from graphsparse.resume import is_int, is_number

    def text(v: Any) -> bool:
        return isinstance(v, str)

    return {"dataset": text, "axes": text, "keep": is_number, "seed": is_int,
            # a diverged run's metric is NaN, written as null
            "metric_name": text, "metric": lambda v: v is None or is_number(v), "flops": is_number,
            "flops_sparse_kernel": is_number, "inference_seconds": is_number, "epochs": is_int,
            "heads": lambda v: isinstance(v, list) and bool(v) and all(is_int(h) for h in v)}


def _record_rules(dataset: str) -> dict[str, tuple[Any, str]]:
    """What the values of a record can be (:func:`graphsparse.resume.check_record_values`)."""
    import inspect

    from graphsparse.gtsp.model import GTSPModel
    from graphsparse.gtsp.protocol import AXES, BASELINES

    model = inspect.signature(GTSPModel).parameters  # the command trains the default model
    layers, heads = model["num_layers"].default, model["heads"].default

    def labels(v: str) -> bool:
        parts = v.split("+")
        return v in ("dense", *BASELINES) or (set(parts) <= set(AXES)
                                              and len(set(parts)) == len(parts))

    def matched(v: Any) -> bool:
        return (isinstance(v, dict) and isinstance(v.get("axes"), str) and labels(v["axes"])
                and isinstance(v.get("keep"), (int, float)) and 0 < v["keep"] <= 1)

    return {"dataset": (lambda v: v == dataset, f"must be {dataset} (the run's --dataset)"),
            "axes": (labels, "must be dense, a baseline or axes joined by +"),
            "keep": (lambda v: 0 < v <= 1, "must be in (0, 1]"),
            "seed": (lambda v: v >= 0, "must be an integer >= 0"),
            "flops": (lambda v: v >= 0, "must be >= 0"),
            "flops_sparse_kernel": (lambda v: v >= 0, "must be >= 0"),
            "inference_seconds": (lambda v: v >= 0, "must be >= 0"),
            "heads": (lambda v: len(v) == layers and all(0 <= h <= heads for h in v),
                      f"must be {layers} counts in 0 .. {heads} (the model's layers and heads)"),
            "at_flops_of": (matched, "must be {\"axes\": a run's axes, \"keep\": in (0, 1]}")}


def previous_records(out: Path, run: dict, resume: bool) -> list[dict]:
    """The records to keep: none for a new folder; with ``--resume`` those of
    ``OUT/results.json`` (checked against ``OUT/run.json``), once each holds the values a run
    writes and no run is there twice; else an error naming ``--resume`` and the record."""
    from graphsparse.gtsp.protocol import record_key
    from graphsparse.resume import (
        check_new_folder,
        check_record_values,
        check_unique_records,
        resumable_records,
    )

    if not resume:
        check_new_folder(out)
        return []
    path = out / "results.json"
    records = resumable_records(out, run, _record_fields(), "GTSP")
    check_record_values(records, path, _record_rules(run["dataset"]), "--resume")
    check_unique_records(records, path, lambda r: (
        (r["seed"], *record_key(r)), f"{r['axes']} at keep {r['keep']:g}, seed {r['seed']}"),
        "--resume")
    return records


def run_gtsp_command(*, dataset: str, axes: str, keep: str, seeds: int, epochs: int, out: Path,
                     resume: bool, jobs: int, executor: str, address: str | None,
                     baselines: str, max_graphs: int | None, batch_size: int, lr: float) -> None:
    """Validate, plan, run (one executor task per seed) and report."""
    from graphsparse.gtsp.protocol import plan_runs, runs_to_do
    from sparsebox.options import executor_from_options
    from sparsebox.outputs import check_output_folder, folders_to_make, remove_if_empty, write_text_atomic

    dataset, axis_list, keeps, wanted = _options(dataset, axes, keep, baselines)
    if max_graphs is not None and max_graphs < 3:
        raise typer.BadParameter(f"must be >= 3, got {max_graphs}", param_hint="--max-graphs")
    runner = executor_from_options(executor, jobs, address)
    run = {"dataset": dataset, "epochs": epochs, "max_graphs": max_graphs,
           "batch_size": batch_size, "lr": lr}
    if out.exists() and not out.is_dir():
        raise typer.BadParameter(f"{out} is a file, not a folder", param_hint="--out")
    records = previous_records(out, run, resume)
    specs = plan_runs(axis_list, keeps, baselines=wanted)
    records, todo = runs_to_do(records, specs, list(range(seeds)))
    _check_dataset(dataset, max_graphs, batch_size)  # a missing dataset, too few graphs: here
    made, had_run = folders_to_make(out), (out / "run.json").is_file()
    out = check_output_folder(out, option="--out")
    write_text_atomic(out / "run.json", json_text(run, indent=2))
    try:
        _run_and_report(runner, out, dataset, records, todo, run, had_run)
    except BaseException:
        if not records and not had_run:  # nothing ran (an executor that would not start, Ctrl-C)
            (out / "run.json").unlink(missing_ok=True)
            remove_if_empty(made)
        raise


def _run_and_report(runner: Any, out: Path, dataset: str, records: list[dict], todo: dict,
                    run: dict, had_run: bool) -> None:
    """The seeds of ``todo`` on ``runner``, each record appended to ``records`` and
    ``out/results.json`` as it arrives; then every run timed again and the report. ``had_run``:
    ``out/run.json`` was there before (else a failure before any record removes it)."""
    from graphsparse.gtsp.protocol import gtsp_seed_task, spec_dicts
    from graphsparse.gtsp.report import write_gtsp_report
    from graphsparse.resume import settings_notes
    from sparsebox.outputs import counted, write_text_atomic
    from sparsebox.parallel import TaskError
    from sparsebox.progress import make_progress

    title, notes = f"GTSP on {dataset}", settings_notes(run)
    total = sum(len(v) for v in todo.values())
    if hasattr(runner, "connect"):  # a Ray cluster that does not answer: one error line, no bar
        runner.connect()
    with make_progress() as progress:
        task = progress.add_task(f"gtsp {dataset}", total=total)

        def on_record(rec: dict) -> None:
            records.append(rec)
            write_text_atomic(out / "results.json", json_text(records, indent=2))
            progress.advance(task)

        tasks = [{"dataset": dataset, "seed": seed, "specs": spec_dicts(todo[seed]),
                  "done": [r for r in records if r["seed"] == seed],
                  "epochs": run["epochs"], "max_graphs": run["max_graphs"],
                  "batch_size": run["batch_size"], "lr": run["lr"]} for seed in sorted(todo)]
        try:
            runner.run(gtsp_seed_task, tasks, on_record=on_record)
        except TaskError as err:
            reasons = "; ".join(f"seed {t['seed']}: {why}" for t, why in err.failures)
            failed = f"{counted(len(err.failures), 'seed')} failed ({reasons})"
            if not records:  # the caller removes what this run made, unless it resumed
                raise TaskError(err.failures, err.results).with_message(
                    f"{failed}; no run finished, " + ("run again with --resume to try again"
                                                     if had_run else "nothing was kept")) from None
            write_gtsp_report(records, out, title=title, notes=notes)
            raise TaskError(err.failures, err.results).with_message(
                f"{failed}; the finished runs' records are in {out / 'results.json'}: run again "
                "with --resume to finish") from None
    if records:  # the times taken beside the other seeds' training are not comparable
        from graphsparse.gtsp.timing import retime_in_place

        retime_in_place(records, dataset, max_graphs=run["max_graphs"], progress=True)
    write_text_atomic(out / "results.json", json_text(records, indent=2))
    write_gtsp_report(records, out, title=title, notes=notes)
    typer.echo(f"wrote {out / 'results.json'}, results.md and pareto.png")


def _check_dataset(dataset: str, max_graphs: int | None, batch_size: int) -> None:
    """Load (and on first use process) the dataset once in this process before any output is
    written; with ``max_graphs``, take the subset the runs will take (a quick run's splits must
    keep both labels of some task); with ``batch_size`` 1, look for a one-atom molecule among
    the training graphs (batch norm cannot train on it alone)."""
    from graphsparse.datasets import load_ogbg
    from graphsparse.gtsp.data import load_molecules
    from graphsparse.gtsp.train import check_lone_atoms
    from sparsebox.options import parameter_errors

    with parameter_errors({"max_graphs": "--max-graphs", "batch_size": "--batch-size"}):
        if max_graphs is None:
            data = load_ogbg(dataset)
            if batch_size == 1:
                check_lone_atoms([data[int(i)] for i in data.get_idx_split()["train"]], 1)
            return
        check_lone_atoms(load_molecules(dataset, max_graphs=max_graphs).train, batch_size)
