"""`sparsebox graph ...` and `sparsebox stream ...` commands."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from typer.core import TyperGroup

from graphsparse.stats import graph_summary
from sparsebox.data import load_graph


class _RunByDefault(TyperGroup):
    """`sparsebox stream GRAPH ...` runs a stream; `sparsebox stream export DIR` is a command."""

    def parse_args(self, ctx, args):
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


graph_app = typer.Typer(help="Graph sparsification and graph facts.", no_args_is_help=True)
stream_app = typer.Typer(cls=_RunByDefault, no_args_is_help=True,
                         help="Streaming spectral sparsification (dyGRASS): "
                              "`sparsebox stream GRAPH --events FILE --state DIR`, "
                              "`sparsebox stream export DIR -o H.mtx`.")


@graph_app.command("info")
def info(
    graph: str = typer.Argument(..., help="A dataset name (see `sparsebox data list`) or a file."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Nodes, edges, components and degree statistics of a graph."""
    summary = {"graph": graph, **graph_summary(load_graph(graph))}
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
        return
    table = Table(title=f"graph {graph}", show_header=False)
    for key, value in summary.items():
        table.add_row(key, f"{value:.4g}" if isinstance(value, float) else str(value))
    Console().print(table)


@graph_app.command("sparsify")
def sparsify(
    graph: str = typer.Argument(..., help="A dataset name or graph file."),
    output: Path = typer.Option(..., "-o", "--output", help="Output graph (.mtx, .graph, .csv)."),
    method: str = typer.Option("teddy", help="teddy | fegrass | effective-resistance"),
    keep_ratio: float = typer.Option(..., help="Fraction of the edges kept (self-loops, "
                                     "which TEDDY never drops, are not counted)."),
    seed: int = typer.Option(0),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Sparsify a graph file with one of graphsparse's methods."""
    from graphsparse.resistance import EffectiveResistanceSampler
    from graphsparse.static import FeGrassSparsifier
    from graphsparse.teddy import TeddyPruner
    from sparsebox.data.graphs import write_graph
    from sparsebox.select import budget_from_keep_ratio

    g = load_graph(graph)
    budget = budget_from_keep_ratio(keep_ratio, g.num_edges)
    if method == "teddy":
        h = TeddyPruner(edge_sparsity=1.0 - keep_ratio).fit_transform(g)
    elif method == "fegrass":
        h = FeGrassSparsifier(budget=budget, seed=seed).fit_transform(g)
    elif method == "effective-resistance":
        h = EffectiveResistanceSampler(budget=budget, seed=seed).fit_transform(g)
    else:
        raise typer.BadParameter(f"--method must be teddy, fegrass or effective-resistance, "
                                 f"got {method!r}")
    write_graph(h, output)
    summary = {"graph": graph, "method": method, "output": str(output), "edges_in": g.num_edges,
               "edges_out": h.num_edges, "keep_ratio": h.num_edges / max(g.num_edges, 1)}
    typer.echo(json.dumps(summary) if as_json else
               f"{method}: kept {h.num_edges} of {g.num_edges} edges -> {output}")


@graph_app.command("teddy")
def teddy(
    dataset: str = typer.Option("cora", help="cora, citeseer, pubmed (Planetoid) or ogbn-arxiv."),
    model: str = typer.Option("gcn", help="gcn | gat | gin"),
    levels: int = typer.Option(20, min=1, help="Levels 1..N: edge keep 0.95^i, weights 0.9^i."),
    seeds: int = typer.Option(3, min=1),
    epochs: int = typer.Option(200, min=1),
    methods: str = typer.Option("dense,teddy,random,ugs", help="Comma-separated methods."),
    out: Path = typer.Option(Path("out/teddy"), help="Folder for results.json, results.md, "
                             "accuracy.png."),
    resume: bool = typer.Option(False, help="Keep the seeds OUT/results.json already has in "
                                "full and run only the others."),
    distill_lambda: float = typer.Option(0.1, min=0.0, help="Weight of TEDDY's distillation "
                                         "term, CE + lambda KL(teacher || student)."),
    jobs: int = typer.Option(1, min=1, help="Seeds trained side by side, each in its own "
                             "process with an equal share of the CPU threads."),
) -> None:
    """TEDDY against random pruning, UGS and the dense model on a node-classification graph,
    level by level. results.json is rewritten after every run, so a stopped job keeps its
    results, and --resume goes on from them (OUT/run.json records the dataset, model and epochs
    that a resumed run must share)."""
    from graphsparse.gnn import METHODS, run_levels
    from graphsparse.teddy_report import seeds_to_run, write_teddy_report
    from sparsebox.data.pyg import load_node_dataset

    wanted = tuple(m.strip() for m in methods.split(",") if m.strip())
    unknown = sorted(set(wanted) - set(METHODS))
    if unknown or not wanted:
        raise typer.BadParameter(f"unknown methods {unknown}; choose from {', '.join(METHODS)}",
                                 param_hint="--methods")
    run = {"dataset": dataset, "model": model, "epochs": epochs, "distill_lambda": distill_lambda}
    level_list = list(range(1, levels + 1))
    records: list[dict] = _resumable_records(out, run) if resume else []
    records, todo = seeds_to_run(records, wanted, level_list, list(range(seeds)))
    data = load_node_dataset(dataset)
    out.mkdir(parents=True, exist_ok=True)
    (out / "run.json").write_text(json.dumps(run, indent=2))

    console = Console(stderr=True)
    total = len(todo) * ((len(wanted) - ("dense" in wanted)) * levels + ("dense" in wanted))
    with Progress(TextColumn("teddy"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console) as progress:
        task = progress.add_task("runs", total=total)
        options = {"methods": wanted, "epochs": epochs, "distill_lambda": distill_lambda}

        def on_record(rec: dict) -> None:
            records.append(rec)
            (out / "results.json").write_text(json.dumps(records, indent=2))
            progress.advance(task)

        if jobs == 1 or len(todo) == 1:
            run_levels(data, model, level_list, todo, progress=on_record,
                       score=_node_scorer(dataset), **options)
        else:
            _run_seeds_side_by_side(dataset, model, level_list, todo, jobs, on_record, options)
    write_teddy_report(records, out, title=f"{dataset} / {model}")
    typer.echo(f"wrote {out / 'results.json'}, results.md and accuracy.png")


def _node_scorer(dataset: str) -> Any:
    """OGB's Evaluator for ``ogbn-*`` datasets, else None (plain accuracy)."""
    from graphsparse.gnn import ogb_node_scorer

    return ogb_node_scorer(dataset) if dataset.lower().startswith("ogbn-") else None


_records_queue: Any = None  # a worker process's queue back to the command


def _init_seed_worker(queue: Any) -> None:
    global _records_queue
    _records_queue = queue


def _seed_worker(dataset: str, model: str, levels: list[int], seed: int, threads: int,
                 options: dict) -> None:
    """One seed of the level protocol in a worker process: each record, then ``{"done": seed}``,
    goes to the queue the pool was started with."""
    import torch

    from graphsparse.gnn import run_levels
    from sparsebox.data.pyg import load_node_dataset

    torch.set_num_threads(threads)
    run_levels(load_node_dataset(dataset), model, levels, [seed], progress=_records_queue.put,
               score=_node_scorer(dataset), **options)
    _records_queue.put({"done": seed})


def _run_seeds_side_by_side(dataset: str, model: str, levels: list[int], seeds: list[int],
                            jobs: int, on_record: Callable[[dict], None], options: dict) -> None:
    """Run every seed in a pool of ``jobs`` processes (spawned, so no OpenMP state is forked);
    ``on_record`` sees each record as it arrives. A worker's error is raised here."""
    import multiprocessing as mp
    import os
    import queue as queue_module
    from concurrent.futures import ProcessPoolExecutor

    ctx = mp.get_context("spawn")
    records = ctx.Queue()
    threads = max(1, (os.cpu_count() or 1) // jobs)
    with ProcessPoolExecutor(jobs, mp_context=ctx, initializer=_init_seed_worker,
                             initargs=(records,)) as pool:
        futures = [pool.submit(_seed_worker, dataset, model, levels, seed, threads, options)
                   for seed in seeds]
        running = set(seeds)
        while running:
            try:
                item = records.get(timeout=0.5)
            except queue_module.Empty:
                for f in futures:
                    if f.done():
                        f.result()  # raises a worker's error
                continue
            if "done" in item:
                running.discard(item["done"])
            else:
                on_record(item)


def _resumable_records(out: Path, run: dict) -> list[dict]:
    """The records of ``out/results.json`` (none when absent), checked against ``out/run.json``."""
    path, run_path = out / "results.json", out / "run.json"
    if not path.is_file():
        return []
    if run_path.is_file():
        before = _read_json(run_path, "--resume")
        differs = {k: before[k] for k in run if k in before and before[k] != run[k]}
        if differs:
            raise typer.BadParameter(f"{run_path} was run with {differs}; resume with the same "
                                     "settings or choose another --out", param_hint="--resume")
    return _read_json(path, "--resume")


def _read_json(path: Path, param_hint: str) -> Any:
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise typer.BadParameter(f"{path} is not JSON ({err})", param_hint=param_hint) from err


@graph_app.command("teddy-report")
def teddy_report(
    folder: Path = typer.Argument(..., help="A folder with the results.json of `graph teddy`."),
    title: str = typer.Option("", help="Plot and table title (default: the folder's name)."),
) -> None:
    """Write results.md and accuracy.png again from results.json (for example of a stopped run)."""
    from graphsparse.teddy_report import write_teddy_report

    path = folder / "results.json"
    if not path.is_file():
        raise typer.BadParameter(f"{path} does not exist", param_hint="FOLDER")
    records = _read_json(path, "FOLDER")
    write_teddy_report(records, folder, title=title or folder.name)
    typer.echo(f"wrote {folder / 'results.md'} and accuracy.png ({len(records)} records)")


@stream_app.command("run")
def stream_run(
    graph: str = typer.Argument(..., help="A dataset name or graph file (0-based node ids)."),
    events: str = typer.Option(..., "--events", help="Event file ('+ u v [w]', '- u v' or "
                               "JSON lines), or - for standard input."),
    state: Path = typer.Option(..., "--state", help="Folder for the checkpoint and the log."),
    batch_size: int = typer.Option(1000, "--batch-size", min=1),
    density: float = typer.Option(1.10, help="|E_H| / |V| of the initial sparsifier."),
    distortion: float = typer.Option(None, help="Threshold K (default: calibrated)."),
    num_walkers: int = typer.Option(64, min=1),
    max_steps: int = typer.Option(100, min=1),
    seed: int = typer.Option(0),
    skip_missing: bool = typer.Option(False, help="Skip deletions of absent edges."),
    checkpoint_every: int = typer.Option(10, min=1, help="Batches between checkpoints."),
    kappa_every: int = typer.Option(0, min=0, help="Compute kappa every N batches (0: never)."),
    as_json: bool = typer.Option(False, "--json", help="One JSON line per batch on stdout."),
) -> None:
    """Apply edge updates in batches, durably: a killed run restarted with the same command
    loses nothing and ends in the state an uninterrupted run reaches."""
    from graphsparse.dynamic import BatchError
    from graphsparse.streaming import EventParseError, StreamState, parse_events

    params = {"density": density, "distortion": distortion, "calibration_quantile": 0.9,
              "num_walkers": num_walkers, "max_steps": max_steps,
              "on_missing": "skip" if skip_missing else "error", "seed": seed}
    console = Console(stderr=True)
    st, resumed = StreamState.open(state, graph, lambda: load_graph(graph), params)
    if resumed.events_applied:
        console.print(f"resumed {state}: {resumed.events_applied} events already applied "
                      f"({resumed.replayed_batches} batches replayed from the log)")
    source = "stdin" if events == "-" else events
    handle = sys.stdin if events == "-" else open(events)
    total = None
    if events != "-":
        with open(events) as counting:
            total = sum(1 for _ in counting)
    skip = st.events_applied
    code = 0
    progress = Progress(TextColumn("stream"), BarColumn(), MofNCompleteColumn(),
                        TextColumn("lines"), TimeElapsedColumn(), console=console,
                        disable=as_json)
    try:
        with progress:
            task = progress.add_task("stream", total=total)
            batch, seen = [], 0
            for lineno, event in parse_events(handle, source):
                progress.update(task, completed=lineno)
                seen += 1
                if seen <= skip:
                    continue
                batch.append((lineno, event))
                if len(batch) == batch_size:
                    _apply(st, batch, kappa_every, checkpoint_every, as_json)
                    batch = []
            if batch:
                _apply(st, batch, kappa_every, checkpoint_every, as_json)
            progress.update(task, completed=total)
        st.checkpoint()
    except EventParseError as err:
        console.print(f"[red]error[/]: {err}; nothing of its batch was applied")
        code = 2
    except BatchError as err:
        console.print(f"[red]error[/]: {err}; nothing of this batch was applied")
        code = 2
    finally:
        st.close()
        if handle is not sys.stdin:
            handle.close()
    m = st.model
    summary = {"state": str(state), "events_applied": st.events_applied, "batches": m.batches_,
               "graph_edges": m.graph_.num_edges, "sparsifier_edges": m.sparsifier_.num_edges,
               "density": m.sparsifier_.num_edges / m.graph_.num_nodes,
               "distortion": m.distortion_}
    if as_json:
        typer.echo(json.dumps({"summary": summary}))
    else:
        console.print(summary)
    raise typer.Exit(code)


def _apply(st, numbered, kappa_every, checkpoint_every, as_json) -> None:
    from graphsparse.dynamic import BatchError

    events = [e for _, e in numbered]
    kappa = bool(kappa_every) and (st.model.batches_ + 1) % kappa_every == 0
    try:
        report = st.apply(events, kappa=kappa)
    except BatchError as err:
        lineno = numbered[err.index][0]
        raise BatchError(f"line {lineno}: {err}", err.index) from None
    if as_json:
        typer.echo(json.dumps(report.to_dict()))
    if st.model.batches_ % checkpoint_every == 0:
        st.checkpoint()


@stream_app.command("export")
def stream_export(
    state: Path = typer.Argument(..., help="A state folder of `sparsebox stream`."),
    output: Path = typer.Option(..., "-o", "--output", help="Matrix Market file to write."),
    graph: bool = typer.Option(False, "--graph", help="Write G instead of the sparsifier H."),
) -> None:
    """Write the current sparsifier (or graph) of a stream as a symmetric Matrix Market file."""
    import scipy.io
    import scipy.sparse as sp

    from graphsparse.streaming import load_state

    model = load_state(state)
    s = model.graph_ if graph else model.sparsifier_
    lower = sp.coo_array((s.weights, (s.cols, s.rows)), shape=(s.num_nodes, s.num_nodes))
    scipy.io.mmwrite(output, lower, symmetry="symmetric",
                     comment=f"sparsebox stream export of {state} after batch {model.batches_}")
    typer.echo(f"wrote {output}: {s.num_nodes} nodes, {s.num_edges} edges")
