"""What the domains' command modules share beyond outputs: a method's parameter errors in the
command line's words (the face, :mod:`sparsebox.cli`, prints them as one ``error:`` line)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping

import typer

from sparsebox.exceptions import InvalidParameterError

__all__ = ["parameter_errors"]


@contextlib.contextmanager
def parameter_errors(options: Mapping[str, str], source: object = None) -> Iterator[None]:
    """A method's parameter errors in the command line's words: an ``InvalidParameterError``
    whose message starts with a parameter of ``options`` (``"keep_ratio must be in (0, 1], got
    1.5"``) becomes a usage error that names its option (``--keep-ratio``); any other one names
    ``source`` (the input file), when given.

    Examples
    --------
    >>> try:
    ...     with parameter_errors({"keep_ratio": "--keep-ratio"}):
    ...         raise InvalidParameterError("keep_ratio must be in (0, 1], got 2")
    ... except typer.BadParameter as err:
    ...     print(err.param_hint)
    --keep-ratio
    """
    try:
        yield
    except InvalidParameterError as err:
        text = str(err)
        name = text.split(" ", 1)[0]
        if name in options:
            raise typer.BadParameter(text, param_hint=options[name]) from None
        if source is not None:
            raise InvalidParameterError(f"{source}: {text}") from None
        raise
