"""The errors sparsebox raises for a caller's mistakes.

Each one is a subclass of the built-in exception a Python user would catch for it, so that
``except ValueError`` keeps working; the command line turns every one of them into a single
``error:`` line with exit code 2 (see :mod:`sparsebox.cli`).
"""

from __future__ import annotations

__all__ = ["InvalidParameterError", "NotFittedError", "InputFileError", "MissingExtraError",
           "DensityCapWarning", "EXTRAS", "missing_extra"]


class InvalidParameterError(ValueError, TypeError):
    """A parameter has a value or type it cannot take; the message names the parameter, what it
    must be and what it was (``"keep_ratio must be in (0, 1], got 1.5"``). An error about
    several parameters at once lists them in ``params`` (the command line names their options).

    Examples
    --------
    >>> InvalidParameterError("give one of keep_ratio, budget", params=("keep_ratio", "budget")).params
    ('keep_ratio', 'budget')
    """

    def __init__(self, message: str = "", *, params: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.params = tuple(params)


class NotFittedError(ValueError, AttributeError):
    """An estimator was used before ``fit``; the message names the method to call."""


class InputFileError(ValueError):
    """A file the caller gave is malformed; the message names the file and, where there is one,
    the line or property."""


class DensityCapWarning(UserWarning):
    """A ``density`` given asks for more edges than the graph has: every edge is kept (a
    ``budget`` above the edges is refused; a density, which reads the same on graphs of any
    size, is capped)."""


#: the extra that installs each optional top-level module (``pip install 'sparsebox[EXTRA]'``)
EXTRAS = {"open3d": "points", "ogb": "ogb", "ray": "ray", "cupy": "gpu", "gsplat": "splat-gpu"}


class MissingExtraError(ImportError):
    """What the caller asked for needs an optional dependency that is not installed; the message
    names the extra that installs it."""


def missing_extra(err: ImportError, what: str) -> MissingExtraError | None:
    """The error to raise instead of ``err`` when ``err`` says that a module one of the
    :data:`EXTRAS` provides is not installed (None otherwise); ``what`` is what needs it.

    Examples
    --------
    >>> str(missing_extra(ModuleNotFoundError("No module named 'ogb'", name="ogb"), "GTSPModel"))
    "GTSPModel needs the 'ogb' extra (ogb is not installed): pip install 'sparsebox[ogb]'"
    """
    extra = EXTRAS.get(err.name or "") if isinstance(err, ModuleNotFoundError) else None
    if extra is None:
        return None
    return MissingExtraError(f"{what} needs the {extra!r} extra ({err.name} is not installed): "
                             f"pip install 'sparsebox[{extra}]'", name=err.name)
