"""`sparsebox demo` / `make demo`: what exists, run on default datasets, in one go."""

from __future__ import annotations

import json
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table


def run_demo(out: Path) -> None:
    from graphsparse.demo import dygrass_stream, graph_facts, teddy_short
    from scenesparse.demo import prune_splats

    out.mkdir(parents=True, exist_ok=True)
    console = Console()
    start = time.perf_counter()
    rows = graph_facts(out)
    columns = ("graph", "num_nodes", "num_edges", "components", "degree_mean", "degree_max")
    table = Table(title="graphs")
    for col in columns:
        table.add_column(col)
    for r in rows:
        table.add_row(*(f"{r[c]:.3g}" if isinstance(r[c], float) else str(r[c]) for c in columns))
    console.print(table)
    methods = [teddy_short(out), dygrass_stream(out), prune_splats(out)]
    runs = Table(title="methods")
    for col in ("method", "data", "result", "seconds"):
        runs.add_column(col)
    for m in methods:
        runs.add_row(m["method"], m["data"], m["result"], f"{m['seconds']:.2f}")
    console.print(runs)
    (out / "summary.json").write_text(json.dumps({"graphs": rows, "methods": methods}, indent=2))
    console.print(f"demo finished in {time.perf_counter() - start:.1f} s; "
                  f"output in {out.resolve()}")
