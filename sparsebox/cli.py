"""The `sparsebox` command line: `sparsebox data|graph|scene|stream|demo ...`.

The face of the project: it assembles each domain's own typer sub-app (``graphsparse/cli.py``,
``scenesparse/cli.py``) so that commands live beside the code they drive.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from graphsparse.cli import graph_app, stream_app
from scenesparse.cli import scene_app
from sparsebox.data import catalogue, data_root

app = typer.Typer(
    help="Make graphs and 3D scenes sparse while keeping what matters.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
data_app = typer.Typer(help="The dataset catalogue and the data root.", no_args_is_help=True)
app.add_typer(data_app, name="data")
app.add_typer(graph_app, name="graph")
app.add_typer(scene_app, name="scene")
app.add_typer(stream_app, name="stream")


@data_app.command("list")
def data_list(
    root: Path = typer.Option(None, help="Data root (default: $SPARSEBOX_DATA or datasets/)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Every dataset in the catalogue, and whether its files are under the data root."""
    rows = [
        {"name": d.name, "kind": d.kind, "present": d.present(root), "files": len(d.files),
         "licence": d.licence, "description": d.description}
        for d in catalogue().values()
    ]
    if as_json:
        typer.echo(json.dumps({"root": str(data_root(root)), "datasets": rows}, indent=2))
        return
    table = Table(title=f"datasets (data root: {data_root(root)})")
    for col in ("name", "kind", "present", "files", "description"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(r["name"], r["kind"], "yes" if r["present"] else "no", str(r["files"]),
                      r["description"])
    Console().print(table)


@app.command("demo")
def demo(
    out: Path = typer.Option(Path("out/demo"), help="Folder for the demo's files."),
) -> None:
    """The main job: every method on a default dataset, a table here and files in OUT."""
    from sparsebox.demo import run_demo

    run_demo(out)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
