"""`sparsebox demo` / `make demo`: every registered method on a default dataset, in one go.

The methods come from the registry; each kind of data a method takes has a demo runner in its
domain (graphs in ``graphsparse/demo.py``, scenes in ``scenesparse/demo.py``), so a newly
registered method shows up here without an edit. A progress bar counts the steps.
"""

from __future__ import annotations

import importlib
import time
from pathlib import Path
from typing import Any

from sparsebox.outputs import json_text

#: The demo runner of each data kind: ``"module:function"`` taking ``(entry, out)``.
RUNNERS = {
    "graph": "graphsparse.demo:graph_method",
    "node-graph": "graphsparse.demo:node_graph_method",
    "edge-stream": "graphsparse.demo:stream_method",
    "splats": "scenesparse.demo:splat_method",
    "splat-frames": "scenesparse.demo:splat_frames_method",
    "points": "scenesparse.demo:point_method",
    "molecules": "graphsparse.demo:molecule_method",
    "nerf-views": "scenesparse.demo:nerf_views_method",
}
#: Runs beyond one-method-at-a-time: a method in its full protocol, with files written to OUT.
EXTRAS = ("graphsparse.demo:teddy_short", "scenesparse.demo:prune_splats")


def create_accepting(entry: Any, **params: Any) -> Any:
    """The estimator of a registered method with those of ``params`` its class takes: a runner
    passes the demo's settings (a small size, few epochs) to any method, one registered by
    another package included, and each takes what applies to it.

    Examples
    --------
    >>> from sparsebox.registry import get_method
    >>> create_accepting(get_method("teddy", item="edge"), density=1.5, epochs=3)  # no epochs
    TeddyPruner(density=1.5)
    """
    takes = set(entry.load()._get_param_names())
    return entry.create(**{name: value for name, value in params.items() if name in takes})


def _method_step(entry: Any, out: Path) -> dict[str, Any]:
    """One registered method on its default data; a method that fails is a row saying so (the
    others still run, and the demo then exits non-zero)."""
    start = time.perf_counter()
    try:
        return _function(RUNNERS[entry.data])(entry, out)
    except Exception as err:
        import traceback

        return {"method": entry.name, "data": entry.data, "failed": True,
                "result": f"failed: {type(err).__name__}: {' '.join(str(err).split())}",
                "seconds": time.perf_counter() - start, "traceback": traceback.format_exc()}


def _function(target: str) -> Any:
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


def run_demo(out: Path) -> dict[str, Any]:
    """Run the demo, print its tables, write ``out/summary.json``; returns the summary."""
    from rich.console import Console
    from rich.table import Table

    from sparsebox.progress import make_progress
    from sparsebox.registry import methods

    console = Console(markup=False, highlight=False)
    start = time.perf_counter()
    entries = methods()
    steps = [("graph facts", lambda: _function("graphsparse.demo:graph_facts")(out))]
    steps += [(f"{e.item} method {e.name}", lambda e=e: _method_step(e, out)) for e in entries]
    steps += [(target.partition(":")[2].replace("_", " "), lambda t=target: _function(t)(out))
              for target in EXTRAS]
    results = []
    with make_progress() as progress:
        task = progress.add_task("demo", total=len(steps))
        for label, run in steps:
            progress.update(task, description=f"demo: {label}")
            results.append(run())
            progress.advance(task)
    graphs, rows = results[0], results[1:]
    table = Table(title="graphs")
    columns = ("graph", "num_nodes", "num_edges", "components", "degree_mean", "degree_max")
    for col in columns:
        table.add_column(col)
    for r in graphs:
        table.add_row(*(f"{r[c]:.3g}" if isinstance(r[c], float) else str(r[c]) for c in columns))
    console.print(table)
    runs = Table(title="methods")
    for col in ("method", "data", "result", "seconds"):
        runs.add_column(col)
    for m in rows:
        runs.add_row(m["method"], m["data"], m["result"], f"{m['seconds']:.2f}")
    console.print(runs)
    summary = {"graphs": graphs, "methods": rows}
    (out / "summary.json").write_text(json_text(summary, indent=2))
    console.print(f"demo finished in {time.perf_counter() - start:.1f} s; "
                  f"output in {out.resolve()}")
    return summary
