"""What the domains' command modules share beyond outputs: a method's parameter errors in the
command line's words (the face, :mod:`sparsebox.cli`, prints them as one ``error:`` line), and the
executor that ``--executor`` / ``--jobs`` / ``--address`` ask for."""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import typer

from sparsebox.exceptions import InvalidParameterError

__all__ = ["parameter_errors", "executor_from_options", "memory_error_cause"]


@contextlib.contextmanager
def parameter_errors(options: Mapping[str, str], source: object = None) -> Iterator[None]:
    """A method's parameter errors in the command line's words: an ``InvalidParameterError``
    whose message starts with a parameter of ``options`` (``"keep_ratio must be in (0, 1], got
    1.5"``) becomes a usage error of its option (``--keep-ratio``: ``must be in (0, 1], got
    1.5``, the option named once); one about several
    parameters (its ``params``: ``"give one of keep_ratio, budget, not several"``) a usage error
    naming their options, with every parameter it lists spelled as its option; any other one
    names ``source`` (the input file), when given.

    Examples
    --------
    >>> try:
    ...     with parameter_errors({"keep_ratio": "--keep-ratio"}):
    ...         raise InvalidParameterError("keep_ratio must be in (0, 1], got 2")
    ... except typer.BadParameter as err:
    ...     print(err.param_hint, "|", err.message)
    --keep-ratio | must be in (0, 1], got 2
    >>> try:  # the parameter is the sentence's subject: it stays
    ...     with parameter_errors({"levels": "--levels"}):
    ...         raise InvalidParameterError("levels go deeper than the graph allows")
    ... except typer.BadParameter as err:
    ...     print(err.param_hint, "|", err.message)
    --levels | levels go deeper than the graph allows
    >>> try:
    ...     with parameter_errors({"keep_ratio": "--keep-ratio", "budget": "--budget"}):
    ...         raise InvalidParameterError("give one of keep_ratio, budget, not several",
    ...                                     params=("keep_ratio", "budget"))
    ... except typer.BadParameter as err:
    ...     print(err.param_hint, "|", err.message)
    --keep-ratio/--budget | give one of --keep-ratio, --budget, not several
    """
    try:
        yield
    except InvalidParameterError as err:
        text = str(err)
        name = text.split(" ", 1)[0]
        if name in options:
            # "--keep-ratio: must be ..." (or "... 0.1 is below ..."), not "--keep-ratio:
            # keep_ratio must be ..."; a sentence the name is the subject of stays whole
            # ("--levels: levels go deeper than ...")
            rest = text[len(name):].lstrip()
            plain = rest.startswith("must ") or rest[:1].isdigit() or rest[:1] in ("-", "+", ".")
            raise typer.BadParameter(rest if plain else text, param_hint=options[name]) from None
        named = [n for n in err.params if n in options]
        if named:
            for n in options:  # the names as the message lists them: between spaces or commas
                text = re.sub(rf"(?<=[\s(,]){re.escape(n)}(?=[\s),;]|$)", options[n], text)
            raise typer.BadParameter(text, param_hint="/".join(options[n] for n in named)) \
                from None
        if source is not None:
            raise InvalidParameterError(f"{source}: {text}") from None
        raise


def memory_error_cause(error: BaseException | str) -> str:
    """The first sentence of an out-of-memory error's first line, without the library's advice
    after it ("out of memory" where it says nothing). Not a number's full stop: numpy's "Unable
    to allocate 836. GiB for an array ..." lost its unit at "836.".

    Examples
    --------
    >>> memory_error_cause(MemoryError("Unable to allocate 836. GiB for an array with shape (9,). Nope"))
    'Unable to allocate 836. GiB for an array with shape (9,)'
    >>> memory_error_cause("CUDA out of memory. Tried to allocate 20.00 MiB. GPU 0 has ...")
    'CUDA out of memory'
    >>> memory_error_cause(MemoryError())
    'out of memory'
    """
    lines = str(error).splitlines()
    return re.split(r"(?<!\d)\.\s", lines[0], maxsplit=1)[0] if lines else "out of memory"


def finite(value: float | None) -> float | None:
    """A typer callback: a float option must be a finite number (typer takes ``inf`` and
    ``nan``).

    Examples
    --------
    >>> finite(0.5)
    0.5
    >>> try:
    ...     finite(float("inf"))
    ... except typer.BadParameter as err:
    ...     print(err.message)
    must be a finite number, got inf
    """
    if value is not None and not math.isfinite(value):
        raise typer.BadParameter(f"must be a finite number, got {value}")
    return value


def finite_at_least(minimum: float, *, above: bool = False) -> Callable[[float | None], float | None]:
    """A typer callback: :func:`finite`, and at least ``minimum`` (above it with ``above``, for an
    option whose ``minimum`` does nothing, as a learning rate of 0). typer's own ``min`` checks
    before any callback, calls NaN "not >= 0" instead of no number, and takes ``minimum`` itself.

    Examples
    --------
    >>> for check, value in ((finite_at_least(0), -0.5), (finite_at_least(0, above=True), 0.0)):
    ...     try:
    ...         check(value)
    ...     except typer.BadParameter as err:
    ...         print(err.message)
    must be a finite number >= 0, got -0.5
    must be a finite number > 0, got 0.0
    """
    def check(value: float | None) -> float | None:
        value = finite(value)
        if value is not None and not (value > minimum if above else value >= minimum):
            raise typer.BadParameter(f"must be a finite number {'>' if above else '>='} "
                                     f"{minimum:g}, got {value}")
        return value

    return check


def given_options(context: typer.Context, *names: str) -> list[str]:
    """Those of a command's parameters ``names`` that its command line gave (not left at their
    defaults): an option that does not apply is refused only when the user gave it.

    Examples
    --------
    >>> app = typer.Typer()
    >>> @app.command()
    ... def run(seed: int = 0, k: int = 1):
    ...     pass
    >>> context = typer.main.get_command(app).make_context("run", ["--seed", "0"])
    >>> given_options(context, "seed", "k")  # given, though at its default value
    ['seed']
    """
    return [n for n in names
            if getattr(context.get_parameter_source(n), "name", None) == "COMMANDLINE"]


def refuse_batch_options(executor: str, jobs: int, address: str | None,
                         gpus_per_file: float = 0.0) -> None:
    """For one file: ``--executor``, ``--jobs``, ``--address`` and ``--gpus-per-file`` run the
    files of a batch, so any of them set to other than its default is a usage error naming it.

    Examples
    --------
    >>> refuse_batch_options("local", 1, None)  # the defaults: nothing to refuse
    >>> try:
    ...     refuse_batch_options("local", 4, None)
    ... except typer.BadParameter as err:
    ...     print(err.param_hint)
    --jobs
    """
    _check_executor_kind(executor)
    given = [name for name, value, default in (("--executor", executor, "local"),
                                                ("--jobs", jobs, 1), ("--address", address, None),
                                                ("--gpus-per-file", gpus_per_file, 0.0))
             if value != default]
    if given:
        raise typer.BadParameter("runs the files of a batch (a folder or glob with --out); one "
                                 "file takes none", param_hint="/".join(given))


def method_option(method: str, names: Sequence[str]) -> str:
    """``--method``'s value as registered among ``names``, given in any case (as a dataset's
    name is); another is a usage error naming the option and the names.

    Examples
    --------
    >>> method_option("FeGrass", ["teddy", "fegrass", "MyPruner"]), method_option("mypruner",
    ...                                                                             ["MyPruner"])
    ('fegrass', 'MyPruner')
    """
    if method in names:
        return method
    by_case = {name.lower(): name for name in names}
    if method.lower() not in by_case:
        raise typer.BadParameter(f"must be one of {', '.join(names)}, got {method!r}",
                                 param_hint="--method")
    return by_case[method.lower()]


def names_option(text: str, names: Sequence[str], option: str, *, what: str = "method",
                 empty: bool = False) -> tuple[str, ...]:
    """A comma-separated list of ``names`` (``--methods dense,teddy``), each given in any case
    and returned as registered, in the order given; an unknown name, one given twice (it would
    run twice) or, unless ``empty``, none at all is a usage error naming ``option`` and the names
    (``what``: the word for one of them).

    Examples
    --------
    >>> names_option("Teddy, random", ["dense", "teddy", "random"], "--methods")
    ('teddy', 'random')
    >>> names_option("", ["magnitude"], "--baselines", what="baseline", empty=True)
    ()
    """
    by_case = {name.lower(): name for name in names}
    given = [n.strip() for n in text.split(",") if n.strip()]
    unknown = sorted({n for n in given if n.lower() not in by_case})
    wanted = [by_case[n.lower()] for n in given if n.lower() in by_case]
    twice = sorted({n for n in wanted if wanted.count(n) > 1})
    choices = f"choose from {', '.join(names)}"
    if unknown:
        raise typer.BadParameter(f"unknown {what}{'s' if len(unknown) > 1 else ''} "
                                 f"{', '.join(map(repr, unknown))}; {choices}", param_hint=option)
    if twice:
        raise typer.BadParameter(f"names {', '.join(map(repr, twice))} twice; each runs once",
                                 param_hint=option)
    if not wanted and not empty:
        raise typer.BadParameter(f"names no {what}; {choices}", param_hint=option)
    return tuple(wanted)


def _check_executor_kind(kind: str) -> None:
    if kind not in ("local", "ray"):
        raise typer.BadParameter(f"must be local or ray, got {kind!r}", param_hint="--executor")


def executor_from_options(kind: str, jobs: int, address: str | None,
                          gpus_per_task: float = 0.0) -> Any:
    """The executor of ``--executor local|ray``, ``--jobs N`` and ``--address ADDR``: local
    processes, or a Ray cluster (the address, else ``$RAY_ADDRESS``, else a new local cluster of
    ``jobs`` CPUs; each task reserves ``gpus_per_task`` of a GPU). Ray missing is a clear error
    naming the extra.

    Examples
    --------
    >>> executor_from_options("local", 2, None).jobs
    2
    """
    from sparsebox.parallel import make_executor

    _check_executor_kind(kind)
    if address is not None and not address.strip():  # an unset shell variable: not a new cluster
        raise typer.BadParameter("is empty; give the address of a running Ray cluster, or leave "
                                 "--address out for a new local one", param_hint="--address")
    if address is not None and kind != "ray":
        raise typer.BadParameter("an address is for --executor ray", param_hint="--address")
    if gpus_per_task and kind != "ray":
        raise typer.BadParameter("a GPU share is for --executor ray", param_hint="--gpus-per-file")
    with parameter_errors({"gpus_per_task": "--gpus-per-file"}):
        executor = make_executor(kind, jobs=jobs, address=address, gpus_per_task=gpus_per_task)
    if kind == "ray":
        executor.address_name = "--address"  # its errors name the option
    return executor
