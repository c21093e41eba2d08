"""What the terminal shows while work runs, on standard error: progress bars (rich) for every
step that can take more than two seconds, and warnings as one ``warning:`` line each.

Examples
--------
>>> sum(progress_bar(range(3), "adding", enabled=False))
3
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

__all__ = ["progress_bar", "make_progress", "progress_steps", "warning_line"]

T = TypeVar("T")


def warning_line(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                 file: Any = None, line: str | None = None) -> None:
    """A ``warnings.showwarning`` for the command line and its workers: one ``warning:`` line on
    standard error (what the user's data lost, say), not Python's file, line and source.

    Examples
    --------
    >>> import contextlib, io, sys
    >>> with contextlib.redirect_stderr(io.StringIO()) as err:
    ...     warning_line(UserWarning("a.ply:   its edge element is not read"), UserWarning, "x", 1)
    >>> err.getvalue().splitlines()
    ['warning: a.ply: its edge element is not read']
    """
    # one write of the whole line: print's text and newline, two writes, let the workers of a
    # batch interleave their lines on the shared standard error ("...verticeswarning: ...")
    sys.stderr.write("warning: " + " ".join(str(message).split()) + "\n")
    sys.stderr.flush()


def make_progress(label: str = "", *, transient: bool = False, enabled: bool = True) -> Any:
    """A ``rich.progress.Progress`` on standard error that never interprets text as markup:
    a bar, done/total, elapsed and remaining time. Messages printed through its ``console``
    appear above the bar and are never wrapped (a path or a line of JSON stays whole, whatever
    the width). A ``transient`` bar is drawn only on a terminal or in Jupyter: elsewhere (a log,
    a pipe) it would show nothing but leave a blank line, and an error that follows must be the
    only line."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    console = Console(stderr=True, markup=False, highlight=False, soft_wrap=True)
    return Progress(TextColumn("{task.description}", markup=False), BarColumn(),
                    MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn(),
                    console=console, transient=transient,
                    disable=not enabled or (transient and not (console.is_terminal
                                                               or console.is_jupyter)))


def progress_bar(items: Iterable[T], description: str, *, enabled: bool = True,
                 total: int | None = None) -> Iterator[T]:
    """Yield ``items`` while a bar counts them (nothing is drawn when ``enabled`` is false)."""
    if not enabled:
        yield from items
        return
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    with make_progress(transient=True) as progress:
        task = progress.add_task(description, total=total)
        for item in items:
            yield item
            progress.advance(task)


class progress_steps:
    """A bar over the named steps of one command (load, fit, write...): call the object to move
    to the next step; each step's name is shown while it runs.

    Examples
    --------
    >>> with progress_steps(["load", "fit"], enabled=False) as step:
    ...     step()
    ...     step()
    """

    def __init__(self, names: list[str], *, enabled: bool = True) -> None:
        self.names = list(names)
        self.enabled = enabled
        self._done = 0

    def __enter__(self) -> progress_steps:
        self._progress = make_progress(transient=True, enabled=self.enabled)
        self._progress.__enter__()
        self._task = self._progress.add_task(self.names[0] if self.names else "",
                                             total=len(self.names))
        return self

    def __call__(self) -> None:
        self._done += 1
        label = self.names[self._done] if self._done < len(self.names) else "done"
        self._progress.update(self._task, advance=1, description=label)

    def __exit__(self, *exc: Any) -> None:
        self._progress.__exit__(*exc)
