"""`sparsebox graph ...` and `sparsebox stream ...` commands.

Errors are raised, never printed here: the face (:mod:`sparsebox.cli`) turns each into one
``error:`` line. Outputs are checked before any work and written whole or not at all
(:mod:`sparsebox.outputs`).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer
from typer.core import TyperGroup

from graphsparse.resume import (
    check_new_folder,
    check_record_values,
    check_records,
    check_unique_records,
    is_int,
    is_number,
    read_json,
    resumable_records,
    settings_notes,
)
from sparsebox.options import finite_at_least
from sparsebox.outputs import (
    StagedOutputs,
    check_output_file,
    check_output_folder,
    counted,
    folders_to_make,
    json_text,
    remove_if_empty,
    unwritable_folder,
)


class _RunByDefault(TyperGroup):
    """`sparsebox stream GRAPH ...` runs a stream (its options before or after GRAPH);
    `sparsebox stream export DIR` is a command, and `sparsebox stream --help` the group's help."""

    def parse_args(self, ctx, args):
        word = _first_word(args, self.commands["run"])
        if word is None and all(a in ctx.help_option_names for a in args):
            pass  # nothing, or only --help: the group's
        elif word not in self.commands:
            _refuse_a_mistyped_command(ctx, word, self.commands)
            args = ["run", *args]
        return super().parse_args(ctx, args)


def _refuse_a_mistyped_command(ctx: Any, word: str | None, commands: Any) -> None:
    """A word close to a command's name that is no file and no dataset is that command mistyped
    (`stream exprot DIR -o H.mtx` ran a stream of a graph "exprot": "No such option: -o")."""
    from sparsebox._validation import did_you_mean_among

    hint = did_you_mean_among(word or "", commands)
    if not hint or ctx.resilient_parsing or Path(word).exists():  # (completing: no errors)
        return
    from sparsebox.data.graphs import catalogue

    if word.lower() not in catalogue():
        ctx.fail(f"no such command {word!r}{hint}, nor a graph file or dataset of that name")


def _first_word(args: list[str], command: Any) -> str | None:
    """The first of ``args`` that is neither an option of ``command`` nor an option's value
    (``--events ev.txt two.mtx``: ``two.mtx``), or None."""
    takes_value = {name for p in command.params
                   if p.param_type_name == "option" and not p.is_flag and not p.count
                   for name in (*p.opts, *p.secondary_opts)}
    words = iter(args)
    for arg in words:
        if arg == "--":
            return next(words, None)
        if arg.startswith("-") and arg != "-":
            if arg in takes_value:
                next(words, None)
            continue
        return arg
    return None


graph_app = typer.Typer(help="Graph sparsification and graph facts (a stream of edge updates: "
                        "`sparsebox stream`).", no_args_is_help=True,
                        rich_markup_mode=None, add_completion=False)
stream_app = typer.Typer(cls=_RunByDefault, no_args_is_help=True, rich_markup_mode=None,
                         add_completion=False,
                         help="Streaming spectral sparsification (dyGRASS): "
                              "`sparsebox stream GRAPH --events FILE --state DIR`, "
                              "`sparsebox stream export DIR -o H.mtx`.")


def _graph_methods() -> list[str]:
    """The methods `graph sparsify` runs: the registry's edge methods that take a graph."""
    from sparsebox.registry import methods

    return [e.name for e in methods(item="edge", data="graph")]


@graph_app.command("info")
def info(
    graph: str = typer.Argument(..., help="A dataset name (see `sparsebox data list`) or a file."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Nodes, edges, components and degree statistics of a graph. Its density is non-loop edges
    per node, |E| / |V|, as `graph sparsify --density` counts (not networkx's 2|E| / (|V|(|V| -
    1))), and a self-loop adds 1 to its node's degree (networkx's degree counts it twice)."""
    from graphsparse.stats import graph_summary
    from sparsebox.data.graphs import load_graph
    from sparsebox.progress import progress_steps

    _check_graph_given(graph)
    with progress_steps([f"loading {graph}"]) as step:
        summary = {"graph": graph, **graph_summary(load_graph(graph))}
        step()
    if as_json:
        typer.echo(json_text(summary, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"graph {graph}", show_header=False)
    for key, value in summary.items():
        table.add_row(key, _table_number(value) if isinstance(value, float) else str(value))
    Console(markup=False, highlight=False).print(table)


def _table_number(value: float) -> str:
    """A statistic of `graph info`'s table: a whole number in full (a hub's degree 12345, not
    1.234e+04), another to 4 significant digits (never in powers of ten from 10,000 up)."""
    if value.is_integer():
        return str(int(value))
    return f"{value:.4g}" if abs(value) < 1e4 else f"{value:.0f}"


#: what a TEDDY record (``graphsparse/levels.py``) holds for the report and for resuming
TEDDY_RECORD_KEYS = {"method": lambda v: isinstance(v, str), "level": is_int, "seed": is_int,
                     **dict.fromkeys(("edge_keep", "weight_keep", "test_acc", "seconds"),
                                     is_number)}


def _graph_suffixes() -> tuple[str, ...]:
    """The names `graph sparsify FILE` reads (:func:`sparsebox.data.graphs.load_graph`): each
    format's suffix, plain or compressed; a batch takes the same files."""
    from sparsebox.data.graphs import COMPRESSION_SUFFIXES, READABLE_GRAPH_SUFFIXES

    return tuple(fmt + packed for fmt in READABLE_GRAPH_SUFFIXES
                 for packed in ("", *COMPRESSION_SUFFIXES))


@graph_app.command("sparsify")
def sparsify(
    context: typer.Context,
    graph: str = typer.Argument(..., help="A dataset name or graph file, or a folder or glob of "
                                "graph files (with --out)."),
    output: Path = typer.Option(None, "-o", "--output", help="Output graph (.mtx, .graph or .metis, "
                                "or an edge list: .csv, .tsv, .txt, .edges, .el)."),
    method: str = typer.Option("teddy", help="A registered edge method that takes a graph: "
                               "teddy, fegrass, effective-resistance, random (`sparsebox methods "
                               "--item edge` also lists ugs, which trains a GNN, and dygrass, "
                               "which runs as `sparsebox stream`)."),
    keep_ratio: float = typer.Option(None, help="Fraction of the non-loop edges kept (every "
                                     "method keeps self-loops apart: they always stay)."),
    budget: int = typer.Option(None, help="Exact number of non-loop edges kept (self-loops "
                               "always stay)."),
    density: float = typer.Option(None, help="Kept non-loop edges per node, |E_H| / |V| "
                                  "(self-loops always stay)."),
    seed: int = typer.Option(0, help="Seed of the methods that draw random numbers."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON (a batch "
                                 "prints one JSON line per file, with or without it)."),
    out: Path = typer.Option(None, help="Output folder of a batch: OUT/<name>.mtx per file."),
    executor: str = typer.Option("local", help="Where a batch's files run: local (processes on "
                                 "this machine) or ray (a Ray cluster)."),
    jobs: int = typer.Option(1, min=1, help="Files side by side (with --executor ray: the "
                             "CPUs of a new local cluster; a running cluster's own decide)."),
    address: str = typer.Option(None, help="Address of a running Ray cluster."),
) -> None:
    """Sparsify a graph (or a batch of graph files) with a registered method; give at most one
    of --keep-ratio, --budget, --density (none: the method's default size)."""
    from sparsebox.batch import batch_sources, check_batch_folder, check_source_exists, run_batch
    from sparsebox.options import executor_from_options, method_option, refuse_batch_options

    method = method_option(method, _graph_methods())
    sizes = {k: v for k, v in {"keep_ratio": keep_ratio, "budget": budget,
                               "density": density}.items() if v is not None}
    from sparsebox.options import given_options

    task = {"method": method, "sizes": sizes, "seed": seed,
            "seed_given": bool(given_options(context, "seed"))}
    _edge_estimator(task)  # bad options fail before any file is read
    files = batch_sources(graph, suffixes=_graph_suffixes(), option="GRAPH",
                          kind=_graph_files_kind())
    if files is None:
        if out is not None or output is None:  # a mistyped folder is no misused option
            check_source_exists(graph, option="GRAPH")
        if out is not None:  # before a missing -o: the option given is the one to name
            raise typer.BadParameter(f"is for a folder or glob of graphs; give -o for one graph "
                                     f"({graph})", param_hint="--out")
        if output is None:
            raise typer.BadParameter("give -o/--output for one graph (or a folder or glob of "
                                     "graphs with --out FOLDER)", param_hint="--output")
        refuse_batch_options(executor, jobs, address)
        summary = _sparsify_file({**task, "graph": graph, "output": str(output)}, progress=True)
        typer.echo(json_text(summary) if as_json else _kept_line(summary))
        return
    if output is not None:  # the option at fault, whether --out is given or not
        what = "a folder" if Path(graph).is_dir() else "a glob"
        then = "drop -o" if out is not None else "give --out FOLDER for their outputs"
        raise typer.BadParameter(f"is for a single graph file, and {graph} is {what} "
                                 f"({counted(len(files), 'graph file')}): {then}",
                                 param_hint="-o/--output")
    if out is None:
        raise typer.BadParameter(f"{graph} names {counted(len(files), 'graph file')}: give --out "
                                 "FOLDER for their outputs", param_hint="--out")
    runner = executor_from_options(executor, jobs, address)  # checked before --out is made
    made = folders_to_make(out)
    check_batch_folder(out, files, stems=[_graph_stem(f) for f in files], option="--out")
    tasks = [{**task, "source": str(f), "graph": str(f),
              "output": str(out / (_graph_stem(f) + ".mtx"))} for f in files]
    run_batch(runner, _sparsify_task, tasks, made=made, outputs=("output",))


def _kept_line(summary: dict) -> str:
    """What `graph sparsify FILE` did, in words; where the graph has self-loops, also the edges
    its size counted (``--budget 3`` keeps 5 of 7 edges where 2 are loops, which always stay)."""
    kept, total, loops = summary["edges_out"], summary["edges_in"], summary["self_loops"]
    line = f"{summary['method']}: kept {kept} of {counted(total, 'edge')} -> {summary['output']}"
    if not loops:
        return line
    stay = "the self-loop always stays" if loops == 1 else f"the {loops} self-loops always stay"
    others = counted(total - loops, "edge")
    return f"{line} ({kept - loops} of the {others} other than self-loops; {stay})"


def _graph_files_kind() -> str:
    """The graph files a batch takes, in words (``.graph / .metis / ... file, plain or .bz2 /
    .gz``)."""
    from sparsebox.data.graphs import COMPRESSION_SUFFIXES, READABLE_GRAPH_SUFFIXES

    return (f"{' / '.join(READABLE_GRAPH_SUFFIXES)} file, plain or "
            f"{' / '.join(COMPRESSION_SUFFIXES)}")


def _graph_stem(path: Path) -> str:
    """The name of a graph file without its format and compression suffixes (``a.mtx.gz``:
    ``a``): the name of its output in a batch."""
    name = path.name
    for suffix in sorted(_graph_suffixes(), key=len, reverse=True):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return path.stem


def _sparsify_task(task: dict, emit: Any) -> dict:
    """One file of a `graph sparsify` batch (an executor task)."""
    summary = _sparsify_file(task, progress=False)
    emit(summary)
    return summary


def _edge_estimator(task: dict) -> tuple[Any, dict[str, str]]:
    """The edge method of a `graph sparsify` task, made and checked before any graph is read
    (a bad option, or a size or a given seed the method does not take, is a usage error naming
    it), and the options its parameters came from."""
    from sparsebox.options import parameter_errors
    from sparsebox.registry import get_method

    entry = get_method(task["method"], item="edge")
    cls = entry.load()
    options = {name: "--" + name.replace("_", "-")
               for name in ("keep_ratio", "budget", "density", "seed")}
    for name in task["sizes"]:
        if name not in cls.sizing:
            takes = (f"sizes by {', '.join(options[s] for s in cls.sizing)}" if cls.sizing
                     else "takes no size")
            raise typer.BadParameter(f"does not apply to --method {task['method']}, which {takes}",
                                     param_hint=options[name])
    seeded = "seed" in cls._get_param_names()
    if task.get("seed_given") and not seeded:
        raise typer.BadParameter(f"does not apply to --method {task['method']}, which draws no "
                                 "random numbers", param_hint="--seed")
    params = {**task["sizes"], **({"seed": task["seed"]} if seeded else {})}
    with parameter_errors(options):
        estimator = entry.create(**params)
        estimator._validate_params()
    return estimator, options


def _sparsify_file(task: dict, *, progress: bool) -> dict:
    """Sparsify one graph with one method and write it; the summary of what was done."""
    from sparsebox.data.graphs import (
        METIS_SUFFIXES,
        WRITABLE_GRAPH_SUFFIXES,
        check_graph_writable,
        graph_files,
        load_graph,
        write_graph,
    )
    from sparsebox.exceptions import InputFileError, InvalidParameterError
    from sparsebox.options import parameter_errors
    from sparsebox.progress import progress_steps

    graph, method = task["graph"], task["method"]
    output = check_output_file(task["output"], option="--output", inputs=graph_files(graph),
                               suffixes=WRITABLE_GRAPH_SUFFIXES)
    estimator, options = _edge_estimator(task)
    with parameter_errors(options), progress_steps(
            ["loading the graph", f"{method}: fitting", "writing"], enabled=progress) as step:
        g = load_graph(graph)
        if g.num_self_loops and Path(output).suffix.lower() in METIS_SUFFIXES:  # known before the fit
            raise ValueError(f"{output}: METIS files cannot hold self-loops, and {graph} has "
                             f"{g.num_self_loops}, which every edge method keeps; write .mtx")
        step()
        try:
            h = estimator.fit(g).transform(g)
        except ValueError as err:
            from graphsparse.resistance import ForestFloorError

            if isinstance(err, ForestFloorError):  # keep_tree is no option here: name the size
                raise InvalidParameterError(err.size_message) from None
            if isinstance(err, (InvalidParameterError, InputFileError)):
                raise
            raise ValueError(f"{graph}: {method}: {err}") from None
        step()
        check_graph_writable(h, output)
        with StagedOutputs(output=output) as staged:
            write_graph(h, staged["output"])
    # the keep ratio of the sizing options: non-loop edges kept (self-loops always stay); a
    # graph without such edges lost none of them (1.0, not 0 of 0 read as 0.0)
    prunable = g.num_edges - g.num_self_loops
    return {"graph": graph, "method": method, "output": str(output), "edges_in": g.num_edges,
            "edges_out": h.num_edges, "self_loops": g.num_self_loops,
            "keep_ratio": (h.num_edges - h.num_self_loops) / prunable if prunable else 1.0}


@graph_app.command("teddy")
def teddy(
    dataset: str = typer.Option("cora", help="cora, citeseer, pubmed (Planetoid) or ogbn-arxiv."),
    model: str = typer.Option("gcn", help="gcn | gat | gin"),
    levels: int = typer.Option(20, min=1, help="Levels 1..N: edge keep 0.95^i, weights 0.9^i."),
    seeds: int = typer.Option(3, min=1),
    epochs: int = typer.Option(200, min=1),
    methods: str = typer.Option("dense,teddy,random,ugs", help="Comma-separated methods."),
    out: Path = typer.Option(Path("out/teddy"), help="Folder for run.json (the run's options, "
                             "which --resume checks), results.json, results.md, accuracy.png "
                             "(new or empty, unless --resume)."),
    resume: bool = typer.Option(False, help="Keep the seeds OUT/results.json already has in "
                                "full and run only the others."),
    distill_lambda: float = typer.Option(0.1, callback=finite_at_least(0), help="Weight of "
                                         "TEDDY's distillation term, CE + lambda "
                                         "KL(teacher || student); at least 0."),
    jobs: int = typer.Option(1, min=1, help="Seeds trained side by side, each in its own "
                             "process with an equal share of the CPU threads (with --executor "
                             "ray and no address: the local cluster's CPUs)."),
    executor: str = typer.Option("local", help="local (processes on this machine) or ray (a "
                                 "Ray cluster: --address, $RAY_ADDRESS, or a new local one)."),
    address: str = typer.Option(None, help="Address of a running Ray cluster."),
) -> None:
    """TEDDY against random pruning, UGS and the dense model on a node-classification graph,
    level by level. results.json is rewritten after every run, so a stopped job keeps its
    results, and --resume goes on from them (OUT/run.json records the dataset, model, epochs and
    --distill-lambda that a resumed run must share)."""
    from graphsparse.teddy_report import METHODS, seeds_to_run
    from sparsebox.options import executor_from_options, names_option, parameter_errors
    from sparsebox.outputs import write_text_atomic

    runner = executor_from_options(executor, jobs, address)
    wanted = names_option(methods, METHODS, "--methods")
    # names in any case, recorded in lower case: a run of CORA resumes as one of cora
    dataset, model = dataset.lower(), model.lower()
    if model not in ("gcn", "gat", "gin"):
        raise typer.BadParameter(f"must be gcn, gat or gin, got {model!r}", param_hint="--model")
    _check_ogbn_name(dataset)
    run = {"dataset": dataset, "model": model, "epochs": epochs, "distill_lambda": distill_lambda}
    level_list = list(range(1, levels + 1))
    if not resume:
        check_new_folder(out)
    records: list[dict] = _teddy_records(resumable_records(out, run, TEDDY_RECORD_KEYS, "TEDDY"),
                                         out / "results.json", "--resume") if resume else []
    records, todo = seeds_to_run(records, wanted, level_list, list(range(seeds)))
    with parameter_errors({"dataset": "--dataset"}):
        data = _load_node_dataset(dataset)  # a missing dataset fails here, before --out is made
    _check_levels(data, model, level_list, wanted)
    made = folders_to_make(out)
    out = check_output_folder(out, option="--out")
    write_text_atomic(out / "run.json", json_text(run, indent=2))
    try:
        _run_teddy(runner, out, run, level_list, wanted, records, todo, resume)
    except BaseException:
        if not resume and not records:  # nothing ran (an executor that would not start)
            (out / "run.json").unlink(missing_ok=True)
            remove_if_empty(made)
        raise


def _check_levels(data: Any, model: str, level_list: list[int], methods: tuple[str, ...]) -> None:
    """Refuse a --levels whose deepest level keeps no edge or no weight of ``model`` on
    ``data`` (before --out is made)."""
    from graphsparse.levels import check_levels_fit
    from sparsebox.options import parameter_errors

    with parameter_errors({"levels": "--levels"}):
        check_levels_fit(data, model, level_list, methods)


def _run_teddy(runner: Any, out: Path, run: dict, level_list: list[int],
               wanted: tuple[str, ...], records: list[dict], todo: list[int],
               resume: bool) -> None:
    """The seeds ``todo`` of `graph teddy` on ``runner`` with the settings ``run`` (its
    run.json), each record appended to ``records`` and ``out/results.json`` as it arrives, then
    the report."""
    from graphsparse.teddy_report import write_teddy_report
    from sparsebox.outputs import write_text_atomic
    from sparsebox.parallel import TaskError
    from sparsebox.progress import make_progress

    title = f"{run['dataset']} / {run['model']}"
    notes = settings_notes(run, titled=("dataset", "model"))
    levels = len(level_list)
    total = len(todo) * ((len(wanted) - ("dense" in wanted)) * levels + ("dense" in wanted))
    if hasattr(runner, "connect"):  # a Ray cluster that does not answer: one error line, no bar
        runner.connect()
    with make_progress() as progress:
        task = progress.add_task("teddy runs", total=total)

        def on_record(rec: dict) -> None:
            records.append(rec)
            write_text_atomic(out / "results.json", json_text(records, indent=2))
            progress.advance(task)

        options = {**run, "levels": level_list, "methods": wanted}
        try:
            runner.run(_teddy_seed, [{**options, "seed": s} for s in todo], on_record=on_record)
        except TaskError as err:
            reasons = "; ".join(f"seed {task['seed']}: {why}" for task, why in err.failures)
            failed = f"{counted(len(err.failures), 'seed')} failed ({reasons})"
            if not records:  # without --resume the caller removes what this run made
                raise TaskError(err.failures, err.results).with_message(
                    f"{failed}; no run finished, "
                    + ("run again with --resume to try again" if resume
                       else "nothing was kept")) from None
            write_teddy_report(records, out, title=title, notes=notes)
            raise TaskError(err.failures, err.results).with_message(
                f"{failed}; the finished runs' records are in {out / 'results.json'}: run again "
                "with --resume to finish") from None
    write_teddy_report(records, out, title=title, notes=notes)
    typer.echo(f"wrote {out / 'results.json'}, results.md and accuracy.png")


def _teddy_records(records: list[dict], path: Path, param_hint: str) -> list[dict]:
    """``records`` of ``path`` once each holds values a TEDDY run writes and no run (method,
    level, seed) is there twice; else an error naming ``param_hint`` and the records."""
    from graphsparse.teddy_report import TEDDY_RUN_KEYS, teddy_record_rules

    check_record_values(records, path, teddy_record_rules(), param_hint)
    for number, record in enumerate(records, start=1):  # the report reads dense at level 0
        if (record["method"] == "dense") != (record["level"] == 0):
            raise typer.BadParameter(
                f"{path}: record {number}: {record['method']} at level {record['level']}; the "
                "dense model is level 0 and the pruning methods' levels start at 1",
                param_hint=param_hint)
    check_unique_records(records, path, TEDDY_RUN_KEYS, param_hint)
    return records


def _check_ogbn_name(dataset: str) -> None:
    """An ``ogbn-`` name of `graph teddy` must be one of the catalogue's node-property datasets
    (else the catalogue's error listed every dataset, graphs and scenes too, and named no
    option)."""
    from sparsebox.data.sources import catalogue

    known = sorted(name for name, info in catalogue().items() if info.kind == "ogbn")
    if dataset.lower().startswith("ogbn-") and dataset.lower() not in known:
        raise typer.BadParameter(f"must be cora, citeseer, pubmed or {', '.join(known)}, got "
                                 f"{dataset!r}", param_hint="--dataset")


def _load_node_dataset(dataset: str) -> Any:
    from graphsparse.datasets import load_node_dataset

    return load_node_dataset(dataset)


def _teddy_seed(task: dict, emit: Any) -> None:
    """One seed of the level protocol (an executor task): each record goes to ``emit``."""
    from graphsparse.gnn import ogb_node_scorer
    from graphsparse.levels import run_levels

    dataset = task["dataset"]
    score = ogb_node_scorer(dataset) if dataset.lower().startswith("ogbn-") else None
    run_levels(_load_node_dataset(dataset), task["model"], task["levels"], [task["seed"]],
               methods=task["methods"], epochs=task["epochs"],
               distill_lambda=task["distill_lambda"], progress=emit, score=score)


@graph_app.command("teddy-report")
def teddy_report(
    folder: Path = typer.Argument(..., help="A folder with the results.json of `graph teddy`."),
    title: str = typer.Option("", help="Plot and table title (default: the run's dataset / model "
                              "from its run.json, as `graph teddy` titles it; else the folder's "
                              "name)."),
) -> None:
    """Write results.md and accuracy.png again from results.json (for example of a stopped run)."""
    from graphsparse.teddy_report import write_teddy_report

    if folder.exists() and not folder.is_dir():
        raise typer.BadParameter(f"{folder} is a file, not a folder", param_hint="FOLDER")
    path = folder / "results.json"
    if not path.is_file():
        raise typer.BadParameter(f"{path} is a folder, not the records of `graph teddy`"
                                 if path.is_dir() else f"{path} does not exist", param_hint="FOLDER")
    why = unwritable_folder(folder)  # results.md and accuracy.png are written beside it
    if why is not None:
        raise typer.BadParameter(why, param_hint="FOLDER")
    records = _teddy_records(check_records(read_json(path, "FOLDER"), path, TEDDY_RECORD_KEYS,
                                           "TEDDY", "FOLDER"), path, "FOLDER")
    if not records:
        raise typer.BadParameter(f"{path} holds no records to report", param_hint="FOLDER")
    run = _teddy_run(folder)
    write_teddy_report(records, folder, title=title or (
        f"{run['dataset']} / {run['model']}" if run else folder.name),
        notes=settings_notes(run, titled=("dataset", "model")) if run else None)
    typer.echo(f"wrote {folder / 'results.md'} and accuracy.png ({counted(len(records), 'record')})")


def _teddy_run(folder: Path) -> dict | None:
    """The run.json of `graph teddy` in ``folder`` (its settings), or None where there is none
    that holds at least the dataset and model."""
    import json

    try:
        run = json.loads((folder / "run.json").read_text())
    except (OSError, ValueError):
        return None
    return run if isinstance(run, dict) and {"dataset", "model"} <= set(run) else None


@graph_app.command("gtsp")
def gtsp(
    dataset: str = typer.Option("ogbg-molbace", help="An ogb molecule dataset: ogbg-molbace, "
                                "ogbg-molbbbp, ogbg-molesol, ogbg-molfreesolv, ogbg-molhiv or "
                                "ogbg-molpcba (`sparsebox data list` says which are on disk; "
                                "ogb downloads the others)."),
    axes: str = typer.Option("tokens,heads,layers,weights", help="Comma-separated axes; each "
                             "runs alone, and all of them together when there are several."),
    keep: str = typer.Option("0.5", help="Keep ratio (fraction kept) of every axis, in (0, 1]; "
                             "a comma-separated list runs each."),
    seeds: int = typer.Option(3, min=1),
    epochs: int = typer.Option(30, min=1),
    out: Path = typer.Option(Path("out/gtsp"), help="Folder for run.json (the run's options, "
                             "which --resume checks), results.json, results.md, pareto.png "
                             "(new or empty, unless --resume)."),
    resume: bool = typer.Option(False, help="Keep the runs OUT/results.json already has and "
                                "run only the missing ones."),
    baselines: str = typer.Option("", help="Also run baselines at each keep ratio: "
                                  "random-tokens, magnitude (comma-separated)."),
    max_graphs: int = typer.Option(None, help="Use about this many graphs (at least 3: one "
                                   "per part of the split; where the metric is ROC-AUC or "
                                   "average precision, enough that the valid and test parts "
                                   "each hold both labels: the error names how many), evenly "
                                   "spaced through each part in proportion (quick runs)."),
    batch_size: int = typer.Option(128, min=1),
    lr: float = typer.Option(1e-3, callback=finite_at_least(0, above=True),
                             help="Learning rate, a finite number > 0."),
    jobs: int = typer.Option(1, min=1, help="Seeds trained side by side, one process and one "
                             "torch thread each."),
    executor: str = typer.Option("local", help="local (processes on this machine) or ray."),
    address: str = typer.Option(None, help="Address of a running Ray cluster."),
) -> None:
    """GTSP: a GPS graph transformer pruned on four axes (tokens, heads, layers, weights), each
    alone and combined, against each seed's dense model (--resume keeps its record, and trains it
    again only where a magnitude baseline still needs its weights); FLOPs counted and inference
    timed on the exported model."""
    from graphsparse.gtsp.command import run_gtsp_command

    run_gtsp_command(dataset=dataset, axes=axes, keep=keep, seeds=seeds, epochs=epochs, out=out,
                     resume=resume, jobs=jobs, executor=executor, address=address,
                     baselines=baselines, max_graphs=max_graphs, batch_size=batch_size, lr=lr)


def _graph_source(graph: str) -> str:
    """How a stream names its graph, looked up as :func:`~sparsebox.data.graphs.load_graph`
    does: a dataset by its catalogue name (even where a file or folder of that name is here,
    such as a --state named after the graph), else a file by its resolved path (so `./g.mtx`,
    `g.mtx` and the same file from another folder agree)."""
    from sparsebox.data.graphs import catalogue

    if graph.lower() in catalogue():
        return graph.lower()
    return str(Path(graph).resolve())


def _check_graph_given(graph: str) -> None:
    """Refuse an empty GRAPH (an unset shell variable), which no dataset or file is."""
    if not graph.strip():
        raise typer.BadParameter("is empty; give a dataset name or a file", param_hint="GRAPH")


@stream_app.command("run")
def stream_run(
    graph: str = typer.Argument(..., help="A dataset name or graph file."),
    events: str = typer.Option(..., "--events", help="Event file ('+ u v [w]', '- u v' or "
                               "JSON lines), a pipe (read once), or - for standard input; "
                               "node ids from 0, as the graph is loaded (node k of a 1-based "
                               "METIS or Matrix Market file is k - 1). '+' on an edge G holds "
                               "adds w to its weight; '-' removes the whole edge."),
    state: Path = typer.Option(..., "--state", help="Folder for checkpoint.npz (G, H, the "
                               "state), log.jsonl (each batch, written before it is applied) "
                               "and metrics.jsonl (one line per batch)."),
    batch_size: int = typer.Option(1000, "--batch-size", min=1),
    density: float = typer.Option(None, help="|E_H| / |V| of the initial sparsifier (default "
                                  "1.10; one above the graph's own is warned of where given)."),
    max_density: float = typer.Option(None, "--max-density", help="Cap on |E_H| / |V| that "
                                      "every batch honours (default: none)."),
    distortion: float = typer.Option(None, help="Threshold K (default: calibrated)."),
    recovery: float = typer.Option(1.5, help="Edges refinement adds to H per H edge a deletion "
                                   "batch removes."),
    num_walkers: int = typer.Option(64, min=1),
    max_steps: int = typer.Option(100, min=1),
    seed: int = typer.Option(0),
    skip_missing: bool = typer.Option(False, help="Skip deletions of absent edges (may change "
                                      "from one run of a state to the next; they count among "
                                      "the summary's events, which a resumed run goes on "
                                      "after)."),
    checkpoint_every: int = typer.Option(10, min=1, help="Batches between checkpoints."),
    kappa_every: int = typer.Option(0, min=0, help="Compute kappa every N batches (0: never)."),
    as_json: bool = typer.Option(False, "--json", help="One JSON line per batch on stdout, then "
                                 "one {\"summary\": ...} line."),
) -> None:
    """Apply edge updates in batches, durably: a killed run restarted with the same command
    loses nothing and ends in the state an uninterrupted run reaches. A run on an existing
    --state reads the events from the first again: those earlier runs read are skipped (and
    must be the same events), the rest are applied. G leaves out the graph's self-loops (they
    add nothing to a Laplacian; the summary counts them), and an event that is one is refused."""
    from graphsparse.streaming import CHECKPOINT
    from sparsebox.options import memory_error_cause

    _check_graph_given(graph)  # (it was "name_or_path must be a dataset name ...")
    if events != "-" and (Path(events).is_dir() or not Path(events).exists()):
        why = "is a folder, not a file of events" if Path(events).is_dir() else "no such file"
        raise typer.BadParameter(f"{events}: {why}", param_hint="--events")
    there = next((p for p in (state, *state.parents) if p.exists()), state)  # what is there
    if there.exists() and not there.is_dir():  # before the graph is loaded and fitted
        raise typer.BadParameter(f"{there} is a file, not a folder", param_hint="--state")
    why = unwritable_folder(state)  # a run writes its checkpoint and log there, resumed or not
    if why is not None:
        raise typer.BadParameter(why, param_hint="--state")
    resumed_state = (state / CHECKPOINT).exists()
    if events != "-" and Path(events).is_file() and not resumed_state:
        _refuse_a_file_without_events(events)  # before the graph is loaded and fitted
    params = {"density": density, "max_density": max_density, "distortion": distortion,
              "calibration_quantile": 0.9, "recovery": recovery,
              "num_walkers": num_walkers, "max_steps": max_steps,
              "on_missing": "skip" if skip_missing else "error", "seed": seed}
    try:
        st, resumed = _open_stream(state, graph, params,
                                   events if events != "-" and Path(events).is_file() else None,
                                   kappa_every)
        try:
            skipped = _stream_events(st, state, events, resumed, batch_size, kappa_every,
                                     checkpoint_every, as_json)
        except BaseException:
            st.remove_if_unused()  # a new state that took no batch leaves no trace
            raise
        finally:
            st.close()
    except MemoryError as err:  # (a batch not applied is not logged, a new state not left)
        if not _raised_in(err, "sparsebox.walks"):
            raise
        said = f"the random walks need more memory than this machine has " \
               f"({memory_error_cause(err)}): they hold --num-walkers ({num_walkers}) walkers " \
               f"for each edge they test, and a batch tests up to --batch-size ({batch_size}) edges"
        if resumed_state:  # its walkers are the state's
            raise typer.BadParameter(f"{said}: lower --batch-size, or start a new --state with "
                                     "fewer walkers", param_hint="--batch-size") from None
        raise typer.BadParameter(f"{said}: lower them",
                                 param_hint="--num-walkers / --batch-size") from None
    _report_stream(st, state, as_json, skipped)


def _raised_in(error: BaseException, module: str) -> bool:
    """Whether ``error`` was raised in (or below) a function of ``module``."""
    tb = error.__traceback__
    while tb is not None:
        if tb.tb_frame.f_globals.get("__name__") == module:
            return True
        tb = tb.tb_next
    return False


#: the options of `stream` that set a stream's parameters (those a resumed run must repeat)
_STREAM_OPTIONS = {name: "--" + name.replace("_", "-")
                   for name in ("density", "max_density", "distortion", "recovery",
                                "num_walkers", "max_steps", "seed")}
#: how a stream's parameter left unset reads
_UNSET_SETTINGS = {"max_density": "no cap", "distortion": "calibrated"}


def _open_stream(state: Path, graph: str, params: dict, events_file: str | None,
                 kappa_every: int = 0) -> tuple[Any, Any]:
    """:meth:`StreamState.open` in the command line's words: a bad or changed parameter is
    named by its option, and its values as the options read."""
    from graphsparse.streaming import SettingsMismatchError, StreamState
    from sparsebox.data.graphs import load_graph
    from sparsebox.exceptions import InvalidParameterError
    from sparsebox.options import parameter_errors

    try:
        with parameter_errors(_STREAM_OPTIONS):
            return StreamState.open(state, _graph_source(graph), lambda: load_graph(graph),
                                    params, events_file, kappa_every=kappa_every)
    except SettingsMismatchError as err:
        raise InvalidParameterError(err.explain(lambda name: _STREAM_OPTIONS.get(name, name),
                                                _setting_shown)) from None


def _setting_shown(name: str, value: Any) -> str:
    """A stream parameter's value as its option reads (``no cap``, ``1.1``, ``64``)."""
    return _UNSET_SETTINGS.get(name, "none") if value is None else str(value)


def _no_events(source: str) -> Exception:
    """The error of events that hold none (``source``: the file, or standard input)."""
    from sparsebox.exceptions import InputFileError

    return InputFileError(f"{source}: no events")


def _refuse_a_file_without_events(events: str) -> None:
    """A new stream needs an event: a file without one (empty, or only blank and comment lines)
    is refused. A malformed line is left to the run, which reports it with its batch."""
    from graphsparse.streaming import EventParseError, parse_events

    with open(events, "rb") as handle:
        try:
            if next(parse_events(handle, events), None) is None:
                raise _no_events(events)
        except EventParseError:
            return


def _check_repeated(event: Any, logged: Any, lineno: int, seen: int, source: str,
                    state: Path) -> None:
    """A resumed stream skips the events earlier runs of its state read: refuse one that is not
    the event read there (other events were given: skipping them would drop them unseen)."""
    if logged is None or _same_event(event) == _same_event(logged):
        return
    from sparsebox.exceptions import InputFileError

    raise InputFileError(
        f"{source}: line {lineno}: event {seen} is {_shown(event)}, but event {seen} of "
        f"{state} was {_shown(logged)}; a resumed stream gives all its "
        "events again from the first (those read are skipped): give the same events "
        "followed by the new ones, or use a new --state")


def _same_event(e: Any) -> tuple:
    """What an event does: edges are undirected, and a deletion's weight is not used."""
    return (e.op, min(e.u, e.v), max(e.u, e.v), e.weight if e.op == "+" else None)


def _shown(e: Any) -> str:
    """An event as its line reads, its weight in full where 6 digits would hide it (``0.1`` and
    ``0.1000001`` differ, and so must their text)."""
    short = f"{e.weight:g}"
    return f"{e.op} {e.u} {e.v}" + (
        f" {short if float(short) == e.weight else repr(float(e.weight))}" if e.op == "+" else "")


def _stream_events(st: Any, state: Path, events: str, resumed: Any, batch_size: int,
                   kappa_every: int, checkpoint_every: int, as_json: bool) -> int:
    """Apply the events of ``events`` to the opened state ``st`` in batches and report; returns
    how many deletions of absent edges this run skipped (``--skip-missing``)."""
    from graphsparse.streaming import EventParseError, parse_events
    from sparsebox.progress import make_progress

    progress = make_progress(transient=True, enabled=not as_json)
    console = progress.console  # messages above the bar, never wrapped

    def announce(more: bool) -> None:  # once the skipped events are known to be the applied
        if resumed.events_applied:  # ones; another batch size said only where ``more`` follow
            before = resumed.last_batch_size
            other = (f"; batches of {batch_size} events from here on, where the last run took "
                     f"{before}: the state will not be the one a run of either size reaches"
                     if more and before is not None and before != batch_size else "")
            console.print(f"resumed {state}: {counted(resumed.events_applied, 'event')} already "
                          f"read ({counted(resumed.replayed_batches, 'batch', 'batches')} "
                          f"replayed from the log){other}")

    if as_json:  # the batches a stopped run applied without printing them, replayed from the log
        for report in resumed.reports:
            typer.echo(json_text({**report.to_dict(), "replayed": True}))
    source = "standard input" if events == "-" else events
    handle = sys.stdin.buffer if events == "-" else open(events, "rb")
    total = None
    if events != "-" and Path(events).is_file():  # a pipe is read once, as it streams
        with open(events, "rb") as counting:
            total = sum(1 for _ in counting)

    skip = st.events_applied
    applied = st.logged_events()  # what the skipped events must repeat
    seen = skipped = 0
    try:
        with progress:
            task = progress.add_task("stream: lines", total=total)
            batch: list[tuple[int, Any]] = []
            for lineno, event in parse_events(handle, source):
                progress.update(task, completed=lineno)
                seen += 1
                if seen <= skip:
                    _check_repeated(event, next(applied, None), lineno, seen, source, state)
                    if seen == 1:  # the file holds the state's events: one of its inputs
                        st.count_events_file()
                    continue
                if seen == skip + 1 and skip:  # the first new event
                    announce(more=True)
                batch.append((lineno, event))
                if len(batch) == batch_size:
                    skipped += _apply(st, batch, batch_size, kappa_every, checkpoint_every,
                                      as_json, source)
                    batch = []
            if batch:
                skipped += _apply(st, batch, batch_size, kappa_every, checkpoint_every, as_json,
                                  source)
            progress.update(task, completed=total)
        if not seen and not skip:
            raise _no_events(source)
        st.checkpoint()
    except EventParseError as err:
        if skip and seen == skip:  # the first new event's line: the resumed state said first
            announce(more=False)
        raise EventParseError(err.source, err.lineno,
                              f"{err.detail}; nothing of its batch was applied") from None
    finally:
        if handle is not sys.stdin.buffer:
            handle.close()
    if seen <= skip:  # no new event: a run of another batch size changes nothing
        announce(more=False)
        console.print(_nothing_new(source, seen, skip, state))
    return skipped


def _nothing_new(source: str, seen: int, applied: int, state: Path) -> str:
    """What a resumed run that applied no event says: ``source`` held ``seen`` events, all among
    the ``applied`` ones earlier runs of ``state`` read (a deletion ``--skip-missing`` skipped
    is read, never applied)."""
    if not seen:
        return (f"no new events: {source} holds no events; {state} keeps the "
                f"{counted(applied, 'event')} earlier runs read")
    its = "its event was" if seen == 1 else f"its {seen} events were"
    return f"no new events in {source}: {its} read by earlier runs of {state} ({applied} in all)"


def _report_stream(st: Any, state: Path, as_json: bool, skipped: int) -> None:
    """The summary of a run: a JSON line on standard output with ``--json``, else one line
    saying what the stream holds (and how many deletions of absent edges this run skipped; the
    events applied are every run's, as a resumed run counts them)."""
    m = st.model
    summary = {"state": str(state), "events_applied": st.events_applied, "batches": m.batches_,
               "graph_edges": m.graph_.num_edges, "sparsifier_edges": m.sparsifier_.num_edges,
               "density": m.sparsifier_.num_edges / m.graph_.num_nodes,
               "distortion": m.distortion_, "self_loops_dropped": st.self_loops,
               "deletions_skipped_this_run": skipped}
    if as_json:
        typer.echo(json_text({"summary": summary}))
        return
    loops = st.self_loops  # dropped when the stream was made: say so, as `graph sparsify` does
    dropped = ("" if not loops else "; G leaves out the graph's self-loop, which adds nothing to "
               "a Laplacian" if loops == 1 else f"; G leaves out the graph's {loops} self-loops, "
               "which add nothing to a Laplacian")
    # the events count every run's (a resumed run goes on after them), the skips this run's
    absent = "" if not skipped else (
        f"; this run skipped {counted(skipped, 'deletion')} of "
        + ("an edge" if skipped == 1 else "edges") + " not in the graph")
    # "applied" would be wrong where the events are deletions this run skipped
    typer.echo(f"stream {state}: {counted(summary['events_applied'], 'event')} in "
               f"{counted(summary['batches'], 'batch', 'batches')}{absent}; H keeps "
               f"{summary['sparsifier_edges']} of {counted(summary['graph_edges'], 'edge')} "
               f"(density {summary['density']:.3f}, distortion {summary['distortion']:.3g})"
               f"{dropped}")


def _apply(st: Any, numbered: list, batch_size: int, kappa_every: int, checkpoint_every: int,
           as_json: bool, source: str) -> int:
    """Apply one batch of ``numbered`` events (line number, event) to ``st``, a run of
    ``batch_size``-event batches; returns how many deletions of absent edges it skipped."""
    from graphsparse.dynamic import BatchError

    events = [e for _, e in numbered]
    kappa = bool(kappa_every) and (st.model.batches_ + 1) % kappa_every == 0
    batches = st.model.batches_
    try:
        report = st.apply(events, kappa=kappa, batch_size=batch_size)
    except BatchError as err:
        lineno = numbered[err.index][0]
        if err.reason == "missing":
            e = events[err.index]
            where = (" a second time (an earlier line of its batch deletes it)"
                     if _deleted_before(events, err.index) else ", which is not in the graph")
            message = (f"{source}: line {lineno}: deletes edge ({e.u}, {e.v}){where}; nothing of "
                       "its batch was applied (rerun with --skip-missing to skip such deletions)")
        else:
            detail = str(err).split(": ", 1)[-1]
            message = f"{source}: line {lineno}: {detail}; nothing of its batch was applied"
        raise BatchError(message, err.index, err.reason) from None
    except ValueError as err:  # valid events the batch's work failed on (a Laplacian that float64
        # cannot factor once an edge of weight 1e-16 had joined): said with the batch's lines
        first, last = numbered[0][0], numbered[-1][0]
        lines = f"line {first}" if first == last else f"lines {first}-{last}"
        applied = ("was applied (its metrics were not written)" if st.model.batches_ > batches
                   else "was not applied")
        raise ValueError(f"{source}: the batch of {lines} {applied}: {err}") from err
    if as_json:
        typer.echo(json_text(report.to_dict()))
    if st.model.batches_ % checkpoint_every == 0:
        st.checkpoint()
    return report.skipped


def _deleted_before(events: list, index: int) -> bool:
    """Whether the last event before ``index`` on the edge that event ``index`` names deletes
    it (the batch deleted the edge already; else it was never in the graph)."""
    e = events[index]
    edge = {int(e.u), int(e.v)}
    last = [x.op for x in events[:index] if {int(x.u), int(x.v)} == edge]
    return bool(last) and last[-1] == "-"


@stream_app.command("export")
def stream_export(
    state: Path = typer.Argument(..., help="A state folder of `sparsebox stream`."),
    output: Path = typer.Option(..., "-o", "--output", help="The graph file to write; the "
                                "format follows the suffix, as for `graph sparsify` (.mtx: "
                                "symmetric Matrix Market)."),
    graph: bool = typer.Option(False, "--graph", help="Write G instead of the sparsifier H."),
) -> None:
    """Write the current sparsifier (or graph) of a stream as a graph file (never over the
    stream's graph or event files, nor into its state folder)."""
    from graphsparse.streaming import load_state, state_input_files
    from sparsebox.data.graphs import WRITABLE_GRAPH_SUFFIXES, check_graph_writable, write_graph
    from sparsebox.exceptions import InvalidParameterError

    if not state.is_dir():  # not "no checkpoint.npz", as if the folder were there
        raise typer.BadParameter(f"{state} is a file, not a state folder" if state.exists()
                                 else f"{state}: no such folder", param_hint="STATE")
    output = check_output_file(output, option="--output", inputs=state_input_files(state),
                               suffixes=WRITABLE_GRAPH_SUFFIXES)
    if state.resolve() in output.resolve().parents:
        raise InvalidParameterError(f"--output: {output} is inside the state folder {state}, "
                                    "which holds only the stream's own files; write to another "
                                    "folder")
    model = load_state(state)
    s = model.graph_ if graph else model.sparsifier_
    check_graph_writable(s, output)
    with StagedOutputs(output=output) as staged:
        write_graph(s, staged["output"],
                    comment=f"sparsebox stream export of {state} after batch {model.batches_}")
    typer.echo(f"wrote {output}: {counted(s.num_nodes, 'node')}, {counted(s.num_edges, 'edge')}")
