"""Selectors: turn one score per item into a boolean keep-mask.

Every method in sparsebox scores items (edges, Gaussians, points, hash cells); these functions make
the keep/drop decision, so that budgets, tie-breaking and protected items behave the same
everywhere. Higher score means more worth keeping.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from sparsebox._validation import check_1d, check_fraction, check_int, exactly_one

__all__ = ["select", "budget_from_keep_ratio", "resolve_budget"]


def budget_from_keep_ratio(keep_ratio: float, num_items: int) -> int:
    """The exact number of items a keep ratio means: ``floor(keep_ratio * num_items + 0.5)``."""
    keep_ratio = check_fraction("keep_ratio", keep_ratio)
    return min(num_items, math.floor(keep_ratio * num_items + 0.5))


def resolve_budget(num_items: int, *, keep_ratio: float | None = None,
                   budget: int | None = None) -> int:
    """The exact count that ``keep_ratio`` or ``budget`` (exactly one) means for ``num_items``.

    Examples
    --------
    >>> resolve_budget(10, keep_ratio=0.25), resolve_budget(10, budget=4)
    (3, 4)
    """
    kind, value = exactly_one(keep_ratio=keep_ratio, budget=budget)
    if kind == "keep_ratio":
        return budget_from_keep_ratio(value, num_items)
    return check_int("budget", value, minimum=0, maximum=num_items)


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
        Keep the units scoring ``>=`` the q-th quantile of the scores.
    groups : array_like of int, shape (n,), optional
        Entries that share a group label are kept or dropped together, and a unit is a group: for
        instance the two directions of an undirected edge in a PyG ``edge_index``. A group's score
        is the mean of its entries' scores.
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
    scores = check_1d("scores", scores, dtype=np.float64)
    n = scores.shape[0]
    if np.isnan(scores).any():
        raise ValueError(f"scores must not contain NaN (position {int(np.flatnonzero(np.isnan(scores))[0])})")
    if protected is not None:
        protected = check_1d("protected", protected, length=n)
        if protected.dtype != bool:
            raise TypeError(f"protected must be a boolean array, got dtype {protected.dtype}")

    if groups is not None:
        groups = check_1d("groups", groups, length=n)
        labels, inverse = np.unique(groups, return_inverse=True)
        counts = np.bincount(inverse, minlength=labels.shape[0])
        unit_scores = np.bincount(inverse, weights=scores, minlength=labels.shape[0]) / counts
        unit_protected = (
            None if protected is None
            else np.bincount(inverse, weights=protected, minlength=labels.shape[0]) > 0
        )
    else:
        inverse = None
        unit_scores, unit_protected = scores, protected

    kind, value = exactly_one(keep_ratio=keep_ratio, budget=budget, threshold=threshold,
                              quantile=quantile)
    units = unit_scores.shape[0]
    if kind in ("keep_ratio", "budget"):
        keep = _top_k(unit_scores, resolve_budget(units, **{kind: value}), unit_protected)
    elif kind == "threshold":
        keep = unit_scores >= float(value)
        if unit_protected is not None:
            keep |= unit_protected
    else:
        q = check_fraction("quantile", value, low_open=False)
        cut = np.quantile(unit_scores, q) if units else 0.0
        keep = unit_scores >= cut
        if unit_protected is not None:
            keep |= unit_protected
    return keep if inverse is None else keep[inverse]


def _top_k(scores: np.ndarray, k: int, protected: np.ndarray | None) -> np.ndarray:
    keep = np.zeros(scores.shape[0], dtype=bool)
    if protected is not None:
        num_protected = int(protected.sum())
        if num_protected > k:
            raise ValueError(
                f"budget {k} is smaller than the {num_protected} protected items, which are "
                "always kept"
            )
        keep |= protected
        k -= num_protected
        candidates = np.flatnonzero(~protected)
    else:
        candidates = np.arange(scores.shape[0])
    # Stable sort on -score: equal scores keep their index order, so ties go to the lower index.
    order = np.argsort(-scores[candidates], kind="stable")
    keep[candidates[order[:k]]] = True
    return keep
