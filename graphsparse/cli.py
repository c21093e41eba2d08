"""`sparsebox graph ...` and `sparsebox stream ...` commands."""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.table import Table

from graphsparse.stats import graph_summary
from sparsebox.data import load_graph

graph_app = typer.Typer(help="Graph sparsification and graph facts.", no_args_is_help=True)
stream_app = typer.Typer(help="Streaming spectral sparsification of edge updates.",
                         no_args_is_help=True)


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


@stream_app.callback()
def stream() -> None:
    """Streaming spectral sparsification (dyGRASS): apply edge insertions and deletions."""
