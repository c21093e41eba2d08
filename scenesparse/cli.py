"""`sparsebox scene ...` commands."""

from __future__ import annotations

import typer

scene_app = typer.Typer(help="Pruning for Gaussian splats and point clouds.", no_args_is_help=True)


@scene_app.callback()
def scene() -> None:
    """Prune Gaussian-splat scenes and point clouds."""
