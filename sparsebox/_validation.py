"""Checks at the public boundary. Every message names the argument, what was expected, what came.

Two layers: the ``check_*`` functions for plain function arguments, and declarative constraints
(:class:`Interval`, :class:`Options`, a type, ``None``) that an estimator lists once per class in
``_parameter_constraints`` and checks in ``fit`` with :func:`validate_params`. Both raise
:class:`~sparsebox.exceptions.InvalidParameterError` with one message format:
``"<name> must be <what>, got <value>"``.
"""

from __future__ import annotations

import math
import numbers
import sys
from collections.abc import Iterable, Mapping
from fractions import Fraction
from typing import Any

import numpy as np

from sparsebox.exceptions import InvalidParameterError

__all__ = ["Interval", "Options", "validate_params", "check_choice", "check_fraction",
           "check_int", "NAMED_COLOURS", "check_colour", "is_unit_colour", "check_finite_positive",
           "check_1d", "exactly_one",
           "scalar_item", "exact_fraction", "text_number", "plain_numerals"]


def _bad(name: str, what: str, value: Any) -> InvalidParameterError:
    shown = repr(value)
    if len(shown) > 80:  # an integer of 400 digits, a long list: its start and its length
        shown = f"{shown[:40]}... ({len(shown)} characters)"
    return InvalidParameterError(f"{name} must be {what}, got {shown}")


def _is_integer(value: Any) -> bool:
    return isinstance(value, (numbers.Integral, np.integer)) and not isinstance(value, (bool, np.bool_))


def _is_real(value: Any) -> bool:
    return isinstance(value, (numbers.Real, np.floating, np.integer)) and not isinstance(
        value, (bool, np.bool_))


class Interval:
    """Numbers of one kind (``numbers.Integral`` or ``numbers.Real``) between two bounds.

    ``closed`` says which bounds belong to the interval: ``"both"``, ``"left"``, ``"right"`` or
    ``"neither"``; a missing bound (None) is open. NaN and infinities never satisfy it.

    Examples
    --------
    >>> str(Interval(numbers.Real, 0, 1, closed="right"))
    'in (0, 1]'
    >>> Interval(numbers.Integral, 1, None, closed="left").is_satisfied_by(0)
    False
    >>> Interval(numbers.Integral, 0, 2**64 - 1).is_satisfied_by(2**64 - 1)  # compared exactly
    True
    >>> Interval(numbers.Real, 0, None).is_satisfied_by(10**400)  # beyond a float
    False
    """

    def __init__(self, kind: type, low: float | None, high: float | None, *,
                 closed: str = "both") -> None:
        if kind not in (numbers.Integral, numbers.Real):
            raise ValueError(f"kind must be numbers.Integral or numbers.Real, got {kind!r}")
        check_choice("closed", closed, ("both", "left", "right", "neither"))
        self.kind, self.low, self.high, self.closed = kind, low, high, closed

    def is_satisfied_by(self, value: Any) -> bool:
        if not (_is_integer(value) if self.kind is numbers.Integral else _is_real(value)):
            return False
        if self.kind is numbers.Integral:  # exactly: float(2**64 - 1) is 2**64, past 2**64 - 1
            x = int(value)
        else:
            try:
                x = float(value)
            except OverflowError:  # an integer beyond a float (10**400)
                return False
            if not math.isfinite(x):
                return False
        if self.low is not None:
            if x < self.low or (x == self.low and self.closed in ("right", "neither")):
                return False
        if self.high is not None:
            if x > self.high or (x == self.high and self.closed in ("left", "neither")):
                return False
        return True

    def __str__(self) -> str:
        noun = "an integer" if self.kind is numbers.Integral else "a finite number"
        low_in = self.closed in ("both", "left")
        high_in = self.closed in ("both", "right")
        low, high = ("" if b is None else f"{b:d}" if isinstance(b, int) else f"{b:g}"
                     for b in (self.low, self.high))
        if self.low is not None and self.high is not None:
            left, right = "[" if low_in else "(", "]" if high_in else ")"
            interval = f"in {left}{low}, {high}{right}"
            return interval if self.kind is numbers.Real else f"{noun} {interval}"
        if self.low is not None:
            return f"{noun} {'>=' if low_in else '>'} {low}"
        if self.high is not None:
            return f"{noun} {'<=' if high_in else '<'} {high}"
        return noun


class Options:
    """One of a fixed set of values.

    Examples
    --------
    >>> str(Options(["amg", "direct"]))
    "one of 'amg', 'direct'"
    """

    def __init__(self, values: Iterable[Any]) -> None:
        self.values = tuple(values)

    def is_satisfied_by(self, value: Any) -> bool:
        # a str subclass is a string (numpy's str_, from an array of names), as in scikit-learn
        return any(value == v and (type(value) is type(v) or isinstance(v, str) and isinstance(value, str))
                   for v in self.values)

    def __str__(self) -> str:
        return "one of " + ", ".join(repr(v) for v in self.values)


def _satisfies(constraint: Any, value: Any) -> bool:
    if constraint is None:
        return value is None
    if isinstance(constraint, type):
        if constraint is bool:
            return isinstance(value, (bool, np.bool_))
        if constraint in (int, numbers.Integral):
            return _is_integer(value)
        if constraint in (float, numbers.Real):
            return _is_real(value)
        return isinstance(value, constraint)
    if callable(constraint) and not hasattr(constraint, "is_satisfied_by"):
        return bool(constraint(value))
    return constraint.is_satisfied_by(value)


def _describe(constraint: Any) -> str:
    if isinstance(constraint, type):
        return {bool: "a boolean", int: "an integer", numbers.Integral: "an integer",
                float: "a number", numbers.Real: "a number", str: "a string"}.get(
            constraint, f"a {constraint.__name__}")
    if callable(constraint) and not hasattr(constraint, "is_satisfied_by"):
        return getattr(constraint, "description", constraint.__name__)
    return str(constraint)


def validate_params(params: Mapping[str, Any], constraints: Mapping[str, list]) -> None:
    """Check every parameter that has constraints; raise for the first that meets none.

    ``constraints`` maps a name to a list of alternatives (an :class:`Interval`, an
    :class:`Options`, a type, a predicate with a ``description`` attribute, or None); a value
    passes when it satisfies one of them. ``None`` is left out of the message: it is the "not
    given" of an optional parameter.

    Examples
    --------
    >>> validate_params({"keep_ratio": 1.5},
    ...                 {"keep_ratio": [Interval(numbers.Real, 0, 1, closed="right"), None]})
    Traceback (most recent call last):
    ...
    sparsebox.exceptions.InvalidParameterError: keep_ratio must be in (0, 1], got 1.5
    >>> validate_params({"keep_ratio": "0.5"},
    ...                 {"keep_ratio": [Interval(numbers.Real, 0, 1, closed="right"), None]})
    Traceback (most recent call last):
    ...
    sparsebox.exceptions.InvalidParameterError: keep_ratio must be in (0, 1], got '0.5' (a str, \
not a number)
    """
    for name, alternatives in constraints.items():
        if name not in params:
            continue
        value = params[name]
        if any(_satisfies(c, value) for c in alternatives):
            continue
        shown = [_describe(c) for c in alternatives if c is not None] or ["None"]
        error = _bad(name, " or ".join(shown), value)
        held = scalar_item(value)
        if held is not value and any(_satisfies(c, held) for c in alternatives):
            # keep_ratio=torch.tensor(0.5): "must be in (0, 1], got tensor(0.5000)" alone puzzles
            kind = "tensor" if type(value).__module__.startswith("torch") else "array"
            error = InvalidParameterError(f"{error} (a 0-d {kind}: pass its .item(), {held!r})")
        elif (not _is_real(held) and alternatives
              and all(c is None or isinstance(c, Interval) for c in alternatives)):
            # keep_ratio="0.5": "must be in (0, 1], got '0.5'" reads as a value out of range
            error = InvalidParameterError(f"{error} (a {type(held).__name__}, not a number)")
        raise error


def scalar_item(value: Any) -> Any:
    """A 0-d numpy array or torch tensor as the Python number it holds (``.item()``: detached,
    copied to the CPU), so that ``threshold=scores.mean()`` reads as the number it is; anything
    else unchanged, for the check that follows to judge.

    Examples
    --------
    >>> scalar_item(np.array(0.5)), scalar_item(np.int64(3)), scalar_item([1])
    (0.5, 3, [1])
    """
    if getattr(value, "ndim", None) == 0 and hasattr(value, "item"):
        return value.item()
    return value


def check_choice(name: str, value: Any, choices: Iterable[Any]) -> Any:
    choices = tuple(choices)
    if value not in choices:
        raise InvalidParameterError(f"{name} must be one of {choices}, got {value!r}")
    return value


def check_fraction(name: str, value: Any, *, low_open: bool = True, high_open: bool = False) -> float:
    """A float in (0, 1] by default; the brackets are part of the message. An integer or a
    Fraction is compared exactly, and its float too (``Fraction(10**20 + 1, 10**20)`` is above 1
    though its float is 1.0; ``10**400`` has no float)."""
    interval = f"{'(' if low_open else '['}0, 1{')' if high_open else ']'}"
    if not _is_real(value):
        raise _bad(name, f"a number in {interval}", value)

    def inside(v: Any) -> bool:
        return (v > 0 if low_open else v >= 0) and (v < 1 if high_open else v <= 1)

    if isinstance(value, numbers.Rational) and not inside(value):
        raise _bad(name, f"in {interval}", value)
    x = float(value)  # in [0, 1] if rational: no overflow
    if not (math.isfinite(x) and inside(x)):
        raise _bad(name, f"in {interval}", value)
    return x


def exact_fraction(value: Any) -> Fraction:
    """A finite real number (or a 0-d array or tensor holding one) as the exact fraction it is
    written as: an integer or a Fraction exactly, a float as its shortest decimal, the digits
    ``repr`` shows (numpy's for a numpy float, in its own precision), so that 0.58 is 29/50 and
    not the double just below it, 0.57999999999999996003...

    Examples
    --------
    >>> exact_fraction(0.58), exact_fraction(np.float32(0.58)), exact_fraction(Fraction(7, 10))
    (Fraction(29, 50), Fraction(29, 50), Fraction(7, 10))
    """
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(value, torch.Tensor) and value.ndim == 0:
        value = value.detach().cpu()
        if value.dtype == torch.bfloat16:  # numpy has no bfloat16 (float32's digits of 0.7 in
            return _shortest_bfloat16(value)  # bfloat16 are 0.69921875)
        value = value.numpy()
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]  # the numpy scalar, in its own precision (.item() widens float32)
    if isinstance(value, numbers.Integral):
        return Fraction(int(value))
    if isinstance(value, numbers.Rational):
        return Fraction(value.numerator, value.denominator)
    return Fraction(str(value) if isinstance(value, np.floating) else repr(float(value)))


def _shortest_bfloat16(value: Any) -> Fraction:
    """The shortest decimal that rounds to the 0-d bfloat16 tensor ``value``, as a fraction (as
    ``repr`` gives a float's); a value no decimal of up to 9 digits rounds to, as it is."""
    import torch

    x = float(value)
    if math.isfinite(x):
        for digits in range(1, 10):
            text = f"{x:.{digits}g}"
            if torch.tensor(float(text), dtype=torch.bfloat16) == value:
                return Fraction(text)
    return Fraction(repr(x))


def check_threshold(value: Any) -> Any:
    """A selection threshold: a real number, infinities included (``inf`` keeps nothing, ``-inf``
    everything), NaN refused; a 0-d array or tensor as the number it holds.

    Examples
    --------
    >>> check_threshold(np.float32(0.5)), check_threshold(float("-inf"))
    (0.5, -inf)
    """
    value = scalar_item(value)
    # (an integer or a fraction is never NaN: math.isnan of one beyond a float raised
    # OverflowError)
    if not _is_real(value) or (not isinstance(value, numbers.Rational) and math.isnan(value)):
        raise InvalidParameterError(f"threshold must be a number (not NaN), got {value!r}")
    return value


def threshold_cut(threshold: Any, *, integers: tuple[int, int] | None = None,
                  round_to: Any = float, next_up: Any = None) -> Any:
    """The least number ``c`` of a type with ``x >= c`` exactly where ``x >= threshold`` for
    each ``x`` of the type (a checked threshold: :func:`check_threshold`); None where no value
    of the type passes. The type is an integer one of the range ``integers`` (min, max), or a
    float one that ``round_to`` rounds a float to (to nearest, overflowing to inf) and
    ``next_up`` steps up in (default: float64's). A float, an integer or a Fraction is the
    number it is; another (a numpy longdouble) is taken as the float it rounds to.

    Examples
    --------
    >>> threshold_cut(2.5, integers=(0, 255)), threshold_cut(300, integers=(0, 255))
    (3, None)
    >>> threshold_cut(2**53 + 1)  # float(2**53 + 1) is 2**53, which is below it
    9007199254740994.0
    """
    if not isinstance(threshold, (numbers.Integral, Fraction)):
        threshold = float(threshold)
    if integers is not None:
        low, high = integers
        if isinstance(threshold, float) and math.isinf(threshold):
            return low if threshold < 0 else None
        cut = int(threshold) if isinstance(threshold, numbers.Integral) else math.ceil(threshold)
        return None if cut > high else max(cut, low)
    if isinstance(threshold, float) and math.isinf(threshold):
        return threshold
    next_up = next_up or (lambda x: math.nextafter(x, math.inf))
    try:
        cut = round_to(float(threshold))
    except OverflowError:  # an integer or fraction beyond a float: above every finite value
        cut = round_to(math.inf if threshold > 0 else -math.inf)
    if cut == -math.inf or (math.isfinite(cut) and Fraction(cut) < threshold):
        cut = next_up(cut)
    return cut


def check_real(name: str, value: Any, *, above: float | None = None,
               below: float | None = None, minimum: float | None = None) -> float:
    """A finite real number as a float, ``> above``, ``< below`` and ``>= minimum`` where given.

    Examples
    --------
    >>> check_real("beta", float("nan"), above=0)
    Traceback (most recent call last):
    ...
    sparsebox.exceptions.InvalidParameterError: beta must be a finite number > 0, got nan
    """
    bounds = [f"> {above:g}" if above is not None else "", f"< {below:g}" if below is not None
              else "", f">= {minimum:g}" if minimum is not None else ""]
    what = " ".join(["a finite number", " and ".join(b for b in bounds if b)]).strip()
    value = scalar_item(value)
    if not _is_real(value):
        raise _bad(name, what, value)
    try:
        x = float(value)
    except OverflowError:  # an integer beyond a float (10**400)
        raise _bad(name, what, value) from None
    if not (math.isfinite(x) and (above is None or x > above) and (below is None or x < below)
            and (minimum is None or x >= minimum)):
        raise _bad(name, what, value)
    return x


def check_int(name: str, value: Any, *, minimum: int | None = None, maximum: int | None = None) -> int:
    if not _is_integer(value):
        raise _bad(name, "an integer", value)
    value = int(value)
    if minimum is not None and value < minimum:
        raise _bad(name, f">= {minimum}", value)
    if maximum is not None and value > maximum:
        raise _bad(name, f"<= {maximum}", value)
    return value


#: the colours :func:`check_colour` takes by name (as ``--background`` does)
NAMED_COLOURS = {"black": (0.0, 0.0, 0.0), "white": (1.0, 1.0, 1.0)}


def check_colour(name: str, value: Any, *, unit: bool = False) -> tuple[float, float, float]:
    """An RGB colour: three finite numbers (a sequence, array or tensor), as floats, or one of
    :data:`NAMED_COLOURS` by name; with ``unit``, each in [0, 1] (the range of images read as
    floats).

    Examples
    --------
    >>> check_colour("background", [1, 1, 1]), check_colour("background", "White")
    ((1.0, 1.0, 1.0), (1.0, 1.0, 1.0))
    >>> try:
    ...     check_colour("background", 1.0)
    ... except ValueError as err:
    ...     print(err)
    background must be black, white or three finite numbers (R, G, B), got 1.0
    >>> try:
    ...     check_colour("background", (255, 255, 255), unit=True)
    ... except ValueError as err:
    ...     print(err)
    background must lie in [0, 1], got (255, 255, 255) (divide 8-bit colours by 255)
    """
    if isinstance(value, str) and value.strip().lower() in NAMED_COLOURS:
        return NAMED_COLOURS[value.strip().lower()]
    try:  # not another string: "101" is three characters, not (1, 0, 1)
        rgb = () if isinstance(value, (str, bytes)) else tuple(float(v) for v in value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: an int past a float's range
        rgb = ()
    if len(rgb) != 3 or not all(math.isfinite(v) for v in rgb):
        raise _bad(name, "black, white or three finite numbers (R, G, B)", value)
    if unit and not all(0.0 <= v <= 1.0 for v in rgb):
        # a white of (255, 255, 255) was taken, and showed through wherever alpha < 1
        raise InvalidParameterError(f"{name} must lie in [0, 1], got {value!r} (divide 8-bit "
                                    "colours by 255)")
    return rgb  # type: ignore[return-value]


def is_unit_colour(value: Any) -> bool:
    """Whether ``value`` is an RGB colour in [0, 1] (:func:`check_colour` with ``unit``): a
    constraint of :func:`validate_params`.

    Examples
    --------
    >>> is_unit_colour((1, 1, 1)), is_unit_colour((255, 255, 255)), is_unit_colour("101")
    (True, False, False)
    >>> try:
    ...     validate_params({"background": (255, 0, 0)}, {"background": [is_unit_colour]})
    ... except ValueError as err:
    ...     print(err)  # doctest: +NORMALIZE_WHITESPACE
    background must be black, white or three numbers in [0, 1] (R, G, B; divide 8-bit colours
    by 255), got (255, 0, 0)
    """
    try:
        check_colour("colour", value, unit=True)
    except InvalidParameterError:
        return False
    return True


is_unit_colour.description = ("black, white or three numbers in [0, 1] (R, G, B; divide 8-bit "
                              "colours by 255)")


def described(value: Any) -> str:
    """What a refusal of a tensor field says was given: a tensor's dtype and shape, a numpy
    array's said to be a numpy array's (they read as a right tensor's), else the type.

    Examples
    --------
    >>> described(np.zeros((2, 3), dtype=np.int64))
    'a numpy array (int64 of shape [2, 3]); give a torch tensor'
    >>> described([1, 2])
    'list'
    """
    dtype, shape = getattr(value, "dtype", None), getattr(value, "shape", None)
    if dtype is None or shape is None:
        return type(value).__name__
    said = f"{str(dtype).replace('torch.', '')} of shape {list(shape)}"
    return f"a numpy array ({said}); give a torch tensor" if isinstance(value, np.ndarray) else said


def check_finite_positive(name: str, values: np.ndarray) -> None:
    """Weights: finite and > 0. Names the first offending position."""
    bad = ~np.isfinite(values)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InvalidParameterError(f"{name} must be finite, got {float(values[i])} at position "
                                    f"{i}")
    bad = values <= 0
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InvalidParameterError(f"{name} must be positive, got {float(values[i])} at position "
                                    f"{i}")


def check_1d(name: str, values: Any, length: int | None = None, dtype: Any = None) -> np.ndarray:
    """``values`` as a one-dimensional numpy array (a torch tensor detached and copied to the
    CPU first), of ``length`` where given."""
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(values, torch.Tensor):
        values = values.detach().cpu()
        if values.dtype == torch.bfloat16:  # numpy has no bfloat16; float32 holds it exactly
            values = values.float()
    try:
        arr = np.asarray(values, dtype=dtype)
    except (TypeError, ValueError) as err:
        raise InvalidParameterError(f"{name} must be a one-dimensional array ({err})") from None
    if arr.ndim != 1:
        raise InvalidParameterError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if length is not None and arr.shape[0] != length:
        raise InvalidParameterError(f"{name} must have length {length}, got {arr.shape[0]}")
    return arr


def did_you_mean_among(name: str, choices: Iterable[str], *, n: int = 1,
                       cutoff: float = 0.6) -> str:
    """`` (did you mean 'edge'?)`` for the ``n`` of ``choices`` closest to a mistyped ``name``
    (difflib's ratio at least ``cutoff``); "" when none is close.

    Examples
    --------
    >>> did_you_mean_among("edgee", ["edge", "weight"]), did_you_mean_among("zzz", ["edge"])
    (" (did you mean 'edge'?)", '')
    """
    import difflib

    close = difflib.get_close_matches(name, list(choices), n=n, cutoff=cutoff)
    return f" (did you mean {' or '.join(map(repr, close))}?)" if close else ""


def exactly_one(**options: Any) -> tuple[str, Any]:
    """Of several keyword options exactly one must be given (not None)."""
    given = {k: v for k, v in options.items() if v is not None}
    if len(given) != 1:
        names = ", ".join(options)
        got = ", ".join(given) or "none"
        raise InvalidParameterError(f"give exactly one of {names}; got {got}")
    return next(iter(given.items()))


#: the constraint of every ``seed`` parameter: numpy's generators take integers >= 0, and
#: torch.manual_seed those below 2**64
SEED = [Interval(numbers.Integral, 0, 2**64 - 1, closed="both")]


def plain_numerals(text: str) -> bool:
    """Whether ``text`` holds nothing a data file's numbers never do but Python's ``int()`` and
    ``float()`` read: an underscore (``1_0`` for 10) or a character outside ASCII (digits of
    other scripts, such as ``١``).

    Examples
    --------
    >>> plain_numerals("0 1 2.5e3"), plain_numerals("1_0")
    (True, False)
    """
    return text.isascii() and "_" not in text


def text_number(token: str, kind: type = float) -> Any:
    """``kind(token)`` for a number as data files write it: Python's own syntax beyond that
    (:func:`plain_numerals`) is a ``ValueError``, as pandas and numpy's ``loadtxt`` refuse it,
    not another number.

    Examples
    --------
    >>> text_number("2.5"), text_number("7", int)
    (2.5, 7)
    >>> text_number("1_0")
    Traceback (most recent call last):
    ...
    ValueError: not a plain number: '1_0'
    """
    if not plain_numerals(token):
        raise ValueError(f"not a plain number: {token!r}")
    return kind(token)


def caller_level() -> int:
    """The ``stacklevel`` at which a warning given by the function that calls this one names
    the first caller outside sparsebox, graphsparse and scenesparse, and PyG and scikit-learn
    (a dataset's transform, a pipeline's step, a search's joblib jobs): the user's line, however
    deep in the library the warning was found."""
    level, frame = 2, sys._getframe(2)  # (stacklevel 2: the warning function's caller)
    while frame is not None and frame.f_globals.get("__name__", "").partition(".")[0] in (
            "sparsebox", "graphsparse", "scenesparse", "torch_geometric", "sklearn", "joblib"):
        level, frame = level + 1, frame.f_back
    return level
