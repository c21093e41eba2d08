"""Package attributes imported on first use (PEP 562), so that importing a package, or running
``sparsebox --help``, never loads scipy, torch or numba until a name that needs them is used. A
name whose module needs an extra that is not installed raises
:class:`~sparsebox.exceptions.MissingExtraError`, which says what to install."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, exports: Mapping[str, str]) -> tuple[Callable[[str], Any],
                                                                       Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``: ``exports`` maps each public name to the
    module (relative to the package when it starts with a dot) that defines it."""

    def __getattr__(name: str) -> Any:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        try:
            module = importlib.import_module(exports[name], package)
        except ModuleNotFoundError as err:
            from sparsebox.exceptions import missing_extra

            needs = missing_extra(err, f"{package}.{name}")
            if needs is None:
                raise
            raise needs from err
        value = getattr(module, name)
        globals_of_package = importlib.import_module(package).__dict__
        globals_of_package[name] = value  # later lookups skip this function
        return value

    def __dir__() -> list[str]:
        return sorted(set(importlib.import_module(package).__dict__) | set(exports))

    return __getattr__, __dir__
