"""Selectors: turn one score per item into a boolean keep-mask.

Every method in sparsebox scores items (edges, Gaussians, points, hash cells); these functions make
the keep/drop decision, so that budgets, tie-breaking and protected items behave the same
everywhere. Higher score means more worth keeping.
"""

from __future__ import annotations

import math
import numbers
from fractions import Fraction
from typing import Any

import numpy as np

from sparsebox._validation import (
    _is_real,
    check_1d,
    check_fraction,
    check_int,
    check_threshold,
    exact_fraction,
    exactly_one,
    scalar_item,
    threshold_cut,
)
from sparsebox.exceptions import InvalidParameterError
from sparsebox.outputs import counted

__all__ = ["select", "budget_from_keep_ratio", "resolve_budget", "check_size_floor",
           "check_budget_fits"]


def budget_from_keep_ratio(keep_ratio: float, num_items: int) -> int:
    """The exact number of items a keep ratio means: ``floor(keep_ratio * num_items + 0.5)``
    (half up), worked out exactly for the number as written, a float as its shortest decimal and
    an integer or a Fraction as it is: 0.58 of 25 items is 14.5, so 15 (in floats ``0.58 * 25``
    is 14.499999999999998).

    Examples
    --------
    >>> budget_from_keep_ratio(0.58, 25), budget_from_keep_ratio(0.5, 5)
    (15, 3)
    """
    check_fraction("keep_ratio", scalar_item(keep_ratio))
    num_items = check_int("num_items", scalar_item(num_items), minimum=0)
    return min(num_items, _round_half_up(keep_ratio, num_items))


def _round_half_up(value: Any, count: int) -> int:
    """``floor(value * count + 1/2)``, exactly, for ``value`` as written: an integer or a
    Fraction as it is, a float (a numpy one, a 0-d array or tensor) as its shortest decimal
    (:func:`~sparsebox._validation.exact_fraction`). The one rounding of keep_ratio and
    density."""
    return math.floor(exact_fraction(value) * count + Fraction(1, 2))


def check_budget_fits(budget: int | None, num_prunable: int, num_loops: int, *,
                      dropped_by: str | None = None) -> None:
    """Refuse a ``budget`` above the edges a graph method sizes against, those that are not
    self-loops, saying that self-loops are kept apart (or, with ``dropped_by``, that the method
    of that name drops them); a graph of self-loops only gets its own message
    (:meth:`~sparsebox.base.Sparsifier._size` calls it when given ``num_loops``).

    Examples
    --------
    >>> check_budget_fits(1, 0, 3)
    Traceback (most recent call last):
    ...
    sparsebox.exceptions.InvalidParameterError: budget 1 counts edges other than self-loops, and \
the graph has none: only 3 self-loops, which are always kept
    >>> check_budget_fits(5, 4, 1, dropped_by="dyGRASS")
    Traceback (most recent call last):
    ...
    sparsebox.exceptions.InvalidParameterError: budget 5 is more than the 4 edges other than \
self-loops (dyGRASS drops the graph's self-loop)
    """
    if budget is None or budget <= num_prunable:
        return
    loops = counted(num_loops, "self-loop")
    if num_prunable == 0:
        fate = f"which {dropped_by} drops" if dropped_by else "which are always kept"
        has = f"none: only {loops}, {fate}" if num_loops else "no edges at all"
        raise InvalidParameterError(
            f"budget {budget} counts edges other than self-loops, and the graph has {has}")
    if not num_loops:
        raise InvalidParameterError(f"budget {budget} is more than the graph's "
                                    f"{counted(num_prunable, 'edge')}")
    if dropped_by:
        fate = f"{dropped_by} drops the graph's {'self-loop' if num_loops == 1 else loops}"
    else:
        fate = (f"the {'self-loop is' if num_loops == 1 else f'{num_loops} self-loops are'} "
                "always kept and not counted")
    raise InvalidParameterError(f"budget {budget} is more than the "
                                f"{counted(num_prunable, 'edge')} other than self-loops ({fate})")


def resolve_budget(num_items: int, *, keep_ratio: float | None = None,
                   budget: int | None = None, density: float | None = None,
                   num_nodes: int | None = None) -> int:
    """The exact count that one sizing option means for ``num_items`` items.

    The one vocabulary of sparsebox: ``keep_ratio`` (the fraction kept, in (0, 1]), ``budget``
    (an exact count) or ``density`` (graphs only: kept edges per node, ``|E_H| / |V|``, which
    needs ``num_nodes``; capped at ``num_items``). Exactly one must be given; a 0-d array or
    tensor reads as the number it holds (``num_items`` and ``num_nodes`` too). A keep ratio or a
    density rounds half up, ``floor(keep_ratio * num_items + 0.5)`` and ``floor(density *
    num_nodes + 0.5)``, worked out exactly for the number as written: a float as its shortest
    decimal (0.58, not the double below it), an integer or a Fraction as it is.

    Examples
    --------
    >>> resolve_budget(10, keep_ratio=0.25), resolve_budget(10, budget=4)
    (3, 4)
    >>> resolve_budget(30, density=1.1, num_nodes=20)
    22
    """
    kind, given = exactly_one(keep_ratio=keep_ratio, budget=budget, density=density)
    value = scalar_item(given)
    num_items = check_int("num_items", scalar_item(num_items), minimum=0)
    if kind == "keep_ratio":
        return budget_from_keep_ratio(given, num_items)
    if kind == "budget":
        return check_int("budget", value, minimum=0, maximum=num_items)
    if num_nodes is None:
        raise InvalidParameterError("density is kept edges per node: it needs num_nodes")
    num_nodes = check_int("num_nodes", scalar_item(num_nodes), minimum=0)
    # any real number, as keep_ratio takes (a Fraction too); an int or a Fraction is finite, even
    # one beyond a float
    if not (_is_real(value) and (isinstance(value, numbers.Rational) or math.isfinite(value))
            and value > 0):
        raise InvalidParameterError(f"density must be a finite number > 0, got {value!r}")
    return min(num_items, _round_half_up(given, num_nodes))


def check_size_floor(count: int, floor: int, num_items: int, *, what: str,
                     keep_ratio: float | None = None, budget: int | None = None,
                     density: float | None = None, num_nodes: int | None = None) -> None:
    """Refuse a size below what a method always keeps (``floor`` items, ``what`` they are), in
    the words the caller used: ``"keep_ratio 0.1 is below the spanning forest, 0.340 of the
    edges"``, ``"budget 10 is below ..., 33 edges"``, ``"density 0.5 is below ..., 0.970 edges
    per node"``. A share is rounded up, so that the one named is enough (0.50049 of the edges is
    "0.501": a keep ratio of 0.500 keeps too few).

    Examples
    --------
    >>> check_size_floor(3, 5, 10, what="the tree", keep_ratio=0.3)
    Traceback (most recent call last):
    ...
    sparsebox.exceptions.InvalidParameterError: keep_ratio 0.3 is below the tree, 0.500 of the edges
    """
    if count >= floor:
        return
    if keep_ratio is not None:
        raise InvalidParameterError(f"keep_ratio {float(keep_ratio):g} is below {what}, "
                                    f"{_share_up(floor, num_items)} of the edges")
    if density is not None:
        raise InvalidParameterError(f"density {float(density):g} is below {what}, "
                                    f"{_share_up(floor, num_nodes or 1)} edges per node")
    raise InvalidParameterError(f"budget {budget if budget is not None else count} is below {what}, "
                                f"{counted(floor, 'edge')}")


def _share_up(part: int, whole: int) -> str:
    """``part / whole`` with three decimals, rounded up (exactly, in integers)."""
    thousandths = -(-part * 1000 // max(whole, 1))
    return f"{thousandths // 1000}.{thousandths % 1000:03d}"


def select(
    scores: Any,
    *,
    keep_ratio: float | None = None,
    budget: int | None = None,
    threshold: float | None = None,
    quantile: float | None = None,
    groups: Any = None,
    protected: Any = None,
) -> np.ndarray:
    """Keep-mask from scores, by exactly one criterion.

    Parameters
    ----------
    scores : array_like of float, shape (n,)
        One score per entry; NaN is an error.
    keep_ratio : float in (0, 1], optional
        Keep ``budget_from_keep_ratio(keep_ratio, units)`` units, exactly.
    budget : int, optional
        Keep exactly this many units (0 <= budget <= units).
    threshold : float, optional
        Keep the units scoring ``>= threshold`` (and every protected unit).
    quantile : float in [0, 1], optional
        Keep the units scoring ``>=`` the q-th quantile of the scores. Each of these four may
        also be a 0-d numpy array or torch tensor (``threshold=scores.mean()``), read as the
        number it holds (an integer one for ``budget``).
    groups : array_like of int, shape (n,), optional
        Entries that share a group label are kept or dropped together, and a unit is a group: for
        instance the two directions of an undirected edge in a PyG ``edge_index``. A group's score
        is the mean of its entries' scores (a group holding both inf and -inf is an error).
    protected : array_like of bool, shape (n,), optional
        Entries (or, through ``groups``, their whole groups) that are never dropped. They count
        toward ``budget`` / ``keep_ratio``; a budget below the protected count is an error.

    Returns
    -------
    ndarray of bool, shape (n,)

    Notes
    -----
    Ties are broken deterministically: among equal scores the unit that comes first (the lowest
    group label, or the lowest index) is kept first. ``O(n log n)``.

    Examples
    --------
    >>> select([0.1, 0.9, 0.5, 0.5], budget=2)
    array([False,  True,  True, False])
    >>> select([3.0, 1.0, 1.0, 3.0], keep_ratio=0.5, groups=[0, 1, 1, 0])
    array([ True, False, False,  True])
    """
    scores = check_1d("scores", scores)
    if np.iscomplexobj(scores) or scores.dtype.kind in "USV":  # numpy's cast ranked complex
        # numbers by their real parts, with a warning, and read text ("10", "1e3") as numbers
        raise InvalidParameterError(f"scores must be real numbers, got dtype {scores.dtype}")
    if scores.dtype.kind == "O":  # None became NaN, refused as one; text (a pandas column of
        where = next((i for i, x in enumerate(scores)  # strings) was read as numbers
                      if x is None or isinstance(x, (str, bytes))), None)
        if where is not None:
            raise InvalidParameterError(f"scores must be real numbers, got {scores[where]!r} at "
                                        f"position {where}")
    if scores.dtype.kind not in "iu":  # integers are ranked as themselves: as float64,
        scores = check_1d("scores", scores, dtype=np.float64)  # 2**53 + 1 tied with 2**53
    n = scores.shape[0]
    if np.isnan(scores).any():
        first = int(np.flatnonzero(np.isnan(scores))[0])
        raise InvalidParameterError(f"scores must not contain NaN (position {first})")
    if protected is not None:
        protected = check_1d("protected", protected, length=n)
        if protected.dtype != bool:
            raise InvalidParameterError(f"protected must be a boolean array, got dtype {protected.dtype}")

    if groups is not None:
        groups = check_1d("groups", groups, length=n)
        try:
            labels, inverse = np.unique(groups, return_inverse=True)
        except TypeError as err:  # labels of kinds that do not sort together: None among integers
            raise InvalidParameterError(f"groups must hold labels that sort together, such as "
                                        f"integers ({err})") from None
        counts = np.bincount(inverse, minlength=labels.shape[0])
        # each score over its group's size, then summed: a sum of 1.7e308s overflowed to inf
        unit_scores = np.bincount(inverse, weights=scores / counts[inverse],
                                  minlength=labels.shape[0])
        if np.isnan(unit_scores).any():  # ranked as nothing, it was dropped (quantile: all units)
            label = labels[int(np.flatnonzero(np.isnan(unit_scores))[0])].item()
            raise InvalidParameterError(f"scores of group {label!r} hold both inf and -inf: the "
                                        "group's mean score is not defined")
        unit_protected = (
            None if protected is None
            else np.bincount(inverse, weights=protected, minlength=labels.shape[0]) > 0
        )
    else:
        inverse = None
        unit_scores, unit_protected = scores, protected

    kind, given = exactly_one(keep_ratio=keep_ratio, budget=budget, threshold=threshold,
                              quantile=quantile)
    value = scalar_item(given)  # threshold=scores.mean() of a tensor: the number it holds
    units = unit_scores.shape[0]
    if kind in ("keep_ratio", "budget"):
        if kind == "budget" and groups is not None and isinstance(value, numbers.Integral) and value > units:
            # "budget must be <= 3" of 6 scores read as a bug: the budget counts groups
            raise InvalidParameterError(f"budget must be <= {units}, the number of groups (a budget "
                                        f"counts groups, not the {n} entries), got {value}")
        k = resolve_budget(units, **{kind: given})  # a float32 keep ratio in its own digits
        num_protected = 0 if unit_protected is None else int(unit_protected.sum())
        if num_protected > k:  # in the caller's words: a budget, or what the keep ratio keeps
            what = "items" if groups is None else "groups"
            asked = (f"budget {k} is smaller than" if kind == "budget" else
                     f"keep_ratio {float(value):g} keeps {k} of the {units} {what}, fewer than")
            raise InvalidParameterError(f"{asked} the {num_protected} protected {what}, which "
                                        "are always kept")
        keep = _top_k(unit_scores, k, unit_protected)
    elif kind == "threshold":
        value = check_threshold(value)  # +-inf are thresholds
        keep = _at_least(unit_scores, value)
        if unit_protected is not None:
            keep |= unit_protected
    else:
        q = check_fraction("quantile", value, low_open=False)
        keep = unit_scores >= _quantile_cut(unit_scores, q) if units else np.zeros(0, dtype=bool)
        if unit_protected is not None:
            keep |= unit_protected
    return keep if inverse is None else keep[inverse]


def _at_least(scores: np.ndarray, threshold: Any) -> np.ndarray:
    """``scores >= threshold`` compared exactly: against
    :func:`~sparsebox._validation.threshold_cut` in the scores' dtype (integer scores were
    compared with a float threshold as float64, float ones with an integer rounded to a float,
    and an integer threshold beyond a float raised OverflowError)."""
    if scores.dtype.kind in "iu":  # (select reads every other kind as float64)
        info = np.iinfo(scores.dtype)
        cut = threshold_cut(threshold, integers=(int(info.min), int(info.max)))
        return np.zeros(scores.shape, dtype=bool) if cut is None else scores >= cut
    kind = scores.dtype.type
    with np.errstate(over="ignore"):  # (to inf, as a float type rounds what it cannot hold)
        cut = threshold_cut(threshold, round_to=lambda x: float(kind(x)),
                            next_up=lambda x: float(np.nextafter(kind(x), kind(np.inf))))
    return scores >= cut


def _quantile_cut(scores: np.ndarray, q: float) -> float | int:
    """The linear quantile (numpy's default) of ``scores``, with its position ``q (n - 1)``
    taken as ``q`` is written (0.28 of 25 is 7, where numpy's float 7.000000000000001 put the
    cut a hair past the eighth score on small scores and not on others). Between the order
    statistics ``a <= b`` around it: ``a`` where the position is whole or ``a == b`` (``inf``
    between two ``inf``, where numpy's ``inf - inf`` gave NaN), ``inf`` where ``b`` is ``inf``
    (of ``-inf`` and ``inf``, the upper one: the cut keeps ``inf``), ``-inf`` where only ``a``
    is. Integer scores get the least integer at or above the exact quantile (float64 merged
    integers past 2^53: quantile 1.0 of three nanosecond timestamps kept all three).

    Examples
    --------
    >>> t = np.array([2**62 + 1, 2**62 + 2, 2**62 + 3])
    >>> _quantile_cut(t, 0.5) - 2**62, _quantile_cut(np.arange(26), 0.28), _quantile_cut([1.0, np.inf], 0.0)
    (2, 7, 1.0)
    """
    scores = np.asarray(scores)
    position = exact_fraction(q) * (scores.size - 1)
    low = math.floor(position)
    high = min(low + 1, scores.size - 1)
    ordered = np.partition(scores, [low, high])
    fraction = position - low
    if scores.dtype.kind in "iu":
        a, b = int(ordered[low]), int(ordered[high])
        return math.ceil(a + fraction * (b - a))
    a, b = float(ordered[low]), float(ordered[high])
    if fraction == 0 or a == b:
        return a
    if b == math.inf or a == -math.inf:
        return b if b == math.inf else a
    return a + float(fraction) * (b - a)


def _top_k(scores: np.ndarray, k: int, protected: np.ndarray | None) -> np.ndarray:
    """The ``k`` best, the protected ones (at most ``k``) first."""
    keep = np.zeros(scores.shape[0], dtype=bool)
    if protected is not None:
        keep |= protected
        k -= int(protected.sum())
        candidates = np.flatnonzero(~protected)
    else:
        candidates = np.arange(scores.shape[0])
    # Stable sort on -score: equal scores keep their index order, so ties go to the lower index
    # (of integers on ~score, -score - 1, which no integer overflows)
    ranked = scores[candidates]
    order = np.argsort(~ranked if ranked.dtype.kind in "iu" else -ranked, kind="stable")
    keep[candidates[order[:k]]] = True
    return keep
