"""Checks at the public boundary. Every message names the argument, what was expected, what came."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np


def check_choice(name: str, value: Any, choices: Iterable[Any]) -> Any:
    choices = tuple(choices)
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")
    return value


def check_fraction(name: str, value: Any, *, low_open: bool = True, high_open: bool = False) -> float:
    """A float in (0, 1] by default; the brackets are part of the message."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number, got {value!r}") from None
    low_ok = x > 0 if low_open else x >= 0
    high_ok = x < 1 if high_open else x <= 1
    if not (np.isfinite(x) and low_ok and high_ok):
        interval = f"{'(' if low_open else '['}0, 1{')' if high_open else ']'}"
        raise ValueError(f"{name} must be in {interval}, got {value!r}")
    return x


def check_int(name: str, value: Any, *, minimum: int | None = None, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {value}")
    return value


def check_finite_positive(name: str, values: np.ndarray) -> None:
    """Weights: finite and > 0. Names the first offending position."""
    bad = ~np.isfinite(values)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{name} must be finite, got {values[i]!r} at position {i}")
    bad = values <= 0
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{name} must be positive, got {values[i]!r} at position {i}")


def check_1d(name: str, values: Any, length: int | None = None, dtype: Any = None) -> np.ndarray:
    arr = np.asarray(values, dtype=dtype)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if length is not None and arr.shape[0] != length:
        raise ValueError(f"{name} must have length {length}, got {arr.shape[0]}")
    return arr


def exactly_one(**options: Any) -> tuple[str, Any]:
    """Of several keyword options exactly one must be given (not None)."""
    given = {k: v for k, v in options.items() if v is not None}
    if len(given) != 1:
        names = ", ".join(options)
        got = ", ".join(given) or "none"
        raise ValueError(f"give exactly one of {names}; got {got}")
    return next(iter(given.items()))
