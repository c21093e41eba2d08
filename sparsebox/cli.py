"""The `sparsebox` command line: `sparsebox data|methods|graph|scene|stream|demo ...`.

The face of the project and the only code that knows both domains. Each domain keeps its commands
beside the code they drive (``graphsparse/cli.py``, ``scenesparse/cli.py``); this module loads a
domain's sub-app only when one of its commands runs, so ``sparsebox --help`` imports neither torch
nor numba.

Every error a user can cause ends as one line ``error: ...`` on stderr, exit code 2; anything
else as one line and exit code 1. ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import importlib
import os
import pickle
import sys
import traceback
import warnings
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import typer
import typer.core

from sparsebox import __version__
from sparsebox.outputs import json_text
from sparsebox.progress import warning_line

#: The domains' sub-apps, loaded when one of their commands runs: name -> (target, help).
DOMAIN_APPS = {
    "graph": ("graphsparse.cli:graph_app",
              "Graph sparsification (TEDDY, feGRASS, UGS, ...) and graph facts."),
    "stream": ("graphsparse.cli:stream_app",
               "Streaming spectral sparsification (dyGRASS) of edge updates, durable."),
    "scene": ("scenesparse.cli:scene_app",
              "Gaussian splats (pruning with recovery, QUEEN video), HollowNeRF, point clouds."),
}

app = typer.Typer(
    help="Make graphs and 3D scenes sparse while keeping what matters.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    add_completion=True,
)
data_app = typer.Typer(help="The dataset catalogue and the data root.", no_args_is_help=True,
                       rich_markup_mode=None)
app.add_typer(data_app, name="data")


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"sparsebox {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_show_version, is_eager=True,
                                 help="Print the version and exit."),
    debug: bool = typer.Option(False, "--debug", help="Show the traceback of an error."),
) -> None:
    """Make graphs and 3D scenes sparse while keeping what matters."""


@data_app.command("list")
def data_list(
    given_root: str = typer.Option(None, "--root", metavar="<path>", help="Data root (default: "
                                   "$SPARSEBOX_DATA, else the repository's datasets/ or "
                                   "~/sparsebox_data)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Every dataset in the catalogue, and whether its files are under the data root (files:
    how many of them are there, at the catalogue's size)."""
    from sparsebox.data.root import data_root
    from sparsebox.data.sources import catalogue

    if given_root == "":  # an unset shell variable: Path("") would be this folder
        raise typer.BadParameter("is empty; give a folder, or leave --root out", param_hint="--root")
    # ~ expanded as $SPARSEBOX_DATA's is (main expands --root=~/data; a quoted "~/data" is not)
    root = Path(given_root).expanduser() if given_root is not None else None
    if root is not None and not root.is_dir():
        raise typer.BadParameter(f"{root}: a file, not a folder" if root.exists()
                                 else f"{root}: no such folder", param_hint="--root")
    if root is None and os.environ.get("SPARSEBOX_DATA") and not (named := data_root()).exists():
        warnings.warn(f"data root {named} ($SPARSEBOX_DATA) does not exist: no dataset is "
                      "present (downloads would make it)", stacklevel=1)  # (a typo?)
    rows = [
        {"name": d.name, "kind": d.kind, "present": d.present(root), "files": len(d.files),
         "files_present": d.files_present(root), "licence": d.licence,
         "description": d.description}
        for d in catalogue().values()
    ]
    if as_json:
        typer.echo(json_text({"root": str(data_root(root)), "datasets": rows}, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"datasets (data root: {data_root(root)})")
    for col in ("name", "kind", "present", "files", "description"):
        table.add_column(col, overflow="fold")
    for r in rows:
        files = f"{r['files_present']}/{r['files']}" if r["files"] else "0"
        table.add_row(r["name"], r["kind"], "yes" if r["present"] else "no", files,
                      r["description"])
    Console(markup=False, highlight=False).print(table)


@app.command("methods")
def methods_command(
    item: str = typer.Option(None, help="Only methods that prune this kind of item."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    markdown: bool = typer.Option(False, "--markdown", help="Print the README's Markdown table."),
) -> None:
    """Every registered method: its name, what it prunes, its data and a summary (--json and
    --markdown give its class and parameters too, --json also whether it streams and the paper
    or tool it follows)."""
    from sparsebox.options import parameter_errors
    from sparsebox.registry import methods, methods_markdown

    if markdown and as_json:
        raise typer.BadParameter("give one of --json, --markdown", param_hint="--json/--markdown")
    item = item.lower() if item else item  # "Edge" is edge, as dataset names read in any case
    with parameter_errors({"item": "--item"}):
        entries = methods(item=item)
    if markdown:  # the README's table, or its rows of the methods that --item names
        typer.echo(methods_markdown(item), nl=False)
        return
    rows = [{"name": e.name, "item": e.item, "class": e.target, "params": dict(e.params),
             "data": e.data, "summary": e.summary, "streaming": e.streaming,
             "reference": e.reference} for e in entries]
    if as_json:
        typer.echo(json_text(rows, indent=2))
        return
    if not rows:  # an item kind no method prunes on its own (GTSP's heads, layers, weights)
        typer.echo(f"no registered method prunes {item} items on its own")
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="methods")
    for col in ("name", "item", "data", "summary"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(r["name"], r["item"], r["data"], r["summary"])
    Console(markup=False, highlight=False).print(table)


@app.command("demo")
def demo(
    out: Path = typer.Option(Path("out/demo"), help="Folder for the demo's files."),
) -> None:
    """The main job: every registered method on a default dataset, a table here and files in
    OUT."""
    from sparsebox.demo import run_demo
    from sparsebox.outputs import check_output_folder

    summary = run_demo(check_output_folder(out, option="--out"))
    failed = [m["method"] for m in summary["methods"] if m.get("failed")]
    if failed:  # every other method ran: their rows and files are there
        print(f"error: {len(failed)} method(s) failed in the demo: {', '.join(failed)} (their "
              f"rows above say why; {out / 'summary.json'} holds their tracebacks)",
              file=sys.stderr)
        raise typer.Exit(1)


class _LazyGroup(typer.core.TyperGroup):
    """A domain's command group, imported when one of its commands is parsed; until then it
    only knows its name and one line of help (what the root's ``--help`` shows)."""

    def __init__(self, name: str, target: str, help_line: str) -> None:
        super().__init__(name=name, help=help_line, short_help=help_line, rich_markup_mode=None)
        self._target = target
        self._real: Any = None

    def _load(self) -> Any:
        if self._real is None:
            module, _, attr = self._target.partition(":")
            typer_app = getattr(importlib.import_module(module), attr)
            self._real = typer.main.get_command(typer_app)
            self._real.name = self.name
        return self._real

    def make_context(self, info_name: str | None, args: list[str], parent: Any = None,
                     **extra: Any) -> Any:
        return self._load().make_context(info_name, args, parent=parent, **extra)

    def invoke(self, ctx: Any) -> Any:
        return self._load().invoke(ctx)


def command() -> typer.core.TyperGroup:
    """The whole command line as one command group (domains attached lazily)."""
    root = typer.main.get_command(app)
    for name, (target, help_line) in DOMAIN_APPS.items():
        root.add_command(_LazyGroup(name, target, help_line), name)
    invoke = root.invoke

    def invoke_keeping_why(ctx: Any) -> Any:
        try:
            return invoke(ctx)
        except KeyboardInterrupt as err:  # typer makes it a bare Exit(130): keep what it says
            if not err.args:
                raise
            raise _Interrupted(str(err)) from err

    root.invoke = invoke_keeping_why  # type: ignore[method-assign]
    return root


class _Interrupted(Exception):
    """A Ctrl-C whose ``KeyboardInterrupt`` says something (where its checkpoint is, say)."""


def _message(err: BaseException) -> str:
    if isinstance(err, typer.TyperException):
        text = err.format_message() + _given_value(err)
    elif isinstance(err, OSError) and err.filename and err.strerror:
        text = f"{err.filename}: {err.strerror}"
    elif isinstance(err, KeyError) and err.args:
        text = str(err.args[0])
    else:
        text = str(err) or type(err).__name__
    return " ".join(text.split())  # one line


def _given_value(err: BaseException) -> str:
    """``, got 0`` where typer's own check of an option (``min=1``: pydantic's "Input should be
    greater than or equal to 1") refused a value without saying which; else nothing."""
    errors = getattr(err.__cause__, "errors", None)
    if not callable(errors) or type(err.__cause__).__name__ != "ValidationError":
        return ""
    given = [e["input"] for e in errors() if "input" in e]
    if len(given) != 1:
        return ""
    try:  # a number as it was typed, anything else quoted (as the other options say it)
        float(given[0])
        return f", got {given[0]}"
    except (TypeError, ValueError):
        return f", got {given[0]!r}"


def _user_error(err: BaseException) -> bool:
    """Errors the user's input or command line caused (exit code 2): usage errors (bad options),
    bad values and files (``ValueError`` and its kin: sparsebox's ``InvalidParameterError``,
    ``InputFileError``...), missing or unreadable files (``OSError``)."""
    if isinstance(err, typer.TyperException):
        return getattr(err, "exit_code", 1) == 2
    return isinstance(err, (ValueError, OSError, KeyError, *_CORRUPT_FILE))


#: what a damaged input file raises where it is read (a checkpoint's zip, a dataset's pickle)
_CORRUPT_FILE = (zipfile.BadZipFile, pickle.UnpicklingError)


def _interrupted(err: BaseException) -> bool:
    """Whether ``err`` comes of a Ctrl-C: compiled code (numba) that the interrupt reached turns
    it into a ``SystemError`` whose context is the ``KeyboardInterrupt``."""
    seen = set()
    while err is not None and id(err) not in seen:
        if isinstance(err, KeyboardInterrupt):
            return True
        seen.add(id(err))
        err = err.__cause__ or err.__context__
    return False


def _home_expanded(arg: str) -> str:
    """``--opt=~/x`` as ``--opt ~/x`` reads: the shell expands the ``~`` of a word of its own,
    not one after ``=`` (``--out=~/runs`` made a folder named ``~`` here)."""
    name, equals, value = arg.partition("=")
    if arg.startswith("--") and equals and (value == "~" or value.startswith("~/")):
        return f"{name}={os.path.expanduser(value)}"
    return arg


#: the options that name a file or folder (``--root`` says more of its own): typer reads an
#: empty value (an unset shell variable, ``--out "$OUT"``) as ``Path("")``, the current folder,
#: and outputs went there
_PATH_OPTIONS = ("--out", "-o", "--output", "--state", "--events", "--report", "--image",
                 "--images", "--cameras")


def _empty_path_option(args: Sequence[str]) -> str | None:
    """The first of :data:`_PATH_OPTIONS` that ``args`` give an empty value, by its long name
    (as the commands' other errors name it), or None.

    Examples
    --------
    >>> _empty_path_option(["graph", "sparsify", "g/", "-o", ""]), _empty_path_option(["--report="])
    ('--output', '--report')
    >>> _empty_path_option(["graph", "sparsify", "g/", "--out", "sparse/"]) is None
    True
    """
    for i, arg in enumerate(args):
        name, equals, value = arg.partition("=")  # (--report=x; a short option's -o=x is "=x")
        if arg in _PATH_OPTIONS and i + 1 < len(args) and not args[i + 1].strip():
            return "--output" if arg == "-o" else arg
        if arg.startswith("--") and equals and name in _PATH_OPTIONS and not value.strip():
            return name
    return None


def _unquoted_glob_hint(err: BaseException) -> str:
    """Where extra arguments are files (a glob the shell expanded: ``scans/*.ply`` unquoted), how
    to give several files: a quoted glob or their folder.

    Examples
    --------
    >>> import click
    >>> _unquoted_glob_hint(click.UsageError("Got unexpected extra argument (README.md)"))
    "; to give several files, quote the glob ('scans/*.ply') or give their folder"
    """
    text = _message(err)
    if not text.startswith("Got unexpected extra argument") or not text.endswith(")"):
        return ""
    extra = text[text.index("(", len("Got unexpected extra argument") + 1) + 1:-1].split()
    if not extra or not all(os.path.exists(a) for a in extra):
        return ""
    return "; to give several files, quote the glob ('scans/*.ply') or give their folder"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (the console script exits with it)."""
    args = list(sys.argv[1:] if argv is None else argv)
    cut = args.index("--") if "--" in args else len(args)
    debug = "--debug" in args[:cut]
    if debug:
        args = [a for i, a in enumerate(args) if not (a == "--debug" and i < cut)]
    cut = args.index("--") if "--" in args else len(args)
    args = [_home_expanded(a) for a in args[:cut]] + args[cut:]
    empty = None if "--help" in args[:cut] else _empty_path_option(args[:cut])
    if empty is not None:
        print(f"error: {empty}: is empty; give a file or folder name", file=sys.stderr)
        return 2
    try:
        with warnings.catch_warnings():
            warnings.showwarning = warning_line
            result = command().main(args=args, prog_name="sparsebox", standalone_mode=False)
    except typer.TyperException as err:
        if type(err).__name__ == "NoArgsIsHelpError":  # a group run with nothing: its help
            typer.echo(err.format_message())
            return 0
        if debug:
            traceback.print_exc()
        print(f"error: {_message(err)}{_unquoted_glob_hint(err)}", file=sys.stderr)
        return 2 if _user_error(err) else 1
    except (typer.Abort, KeyboardInterrupt) as err:
        if isinstance(err.__cause__, EOFError):  # click reads a file's early end as an abort
            print(f"error: an input file ends early, truncated or corrupt ({_message(err.__cause__)})",
                  file=sys.stderr)
            return 2
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as err:  # every error ends here: one line, or the traceback with --debug
        if debug:
            traceback.print_exc()
        if _interrupted(err):
            said = f" ({_message(err)})" if isinstance(err, _Interrupted) else ""
            print(f"error: interrupted{said}", file=sys.stderr)
            return 130
        if _user_error(err):
            what = (f"an input file is corrupt ({type(err).__name__}: {_message(err)})"
                    if isinstance(err, _CORRUPT_FILE) else _message(err))
            print(f"error: {what}", file=sys.stderr)
            return 2
        from sparsebox.parallel import TaskError

        if isinstance(err, (ImportError, TaskError)):  # a missing extra; tasks that failed
            from sparsebox.exceptions import missing_extra

            if isinstance(err, ImportError):  # "No module named 'ogb'" says which extra
                err = missing_extra(err, "this command") or err
            print(f"error: {_message(err)}", file=sys.stderr)
            return 1
        print(f"error: internal error, {type(err).__name__}: {_message(err)} "
              "(run again with --debug for the traceback)", file=sys.stderr)
        return 1
    if result == 130:  # typer turns Ctrl-C into Exit(130), which standalone_mode=False returns
        print("error: interrupted", file=sys.stderr)
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    raise SystemExit(main())
