"""Tables and plots for the TEDDY level protocol (records from :func:`graphsparse.gnn.run_levels`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["summarize_levels", "compare_teddy", "write_teddy_report", "seeds_to_run",
           "TEDDY_RUN_KEYS", "teddy_record_rules", "METHODS"]

#: the methods of the level protocol (:func:`graphsparse.levels.run_levels`), here where
#: reading its records does not load torch
METHODS = ("dense", "teddy", "random", "ugs")
#: what names one run of the level protocol: two records of one run would count it twice
TEDDY_RUN_KEYS = ("method", "level", "seed")


def teddy_record_rules() -> dict[str, tuple[Callable[[Any], bool], str]]:
    """What each value of a record of :func:`graphsparse.levels.run_levels` can be, as
    ``{key: (check, what it must be)}`` (the types are checked before: numbers are finite,
    ``level`` and ``seed`` integers); ``val_acc``, which older records lack, when it is there."""
    from graphsparse.resume import is_number

    fraction = (lambda v: 0 <= v <= 1, "must be in [0, 1]")
    count = (lambda v: v >= 0, "must be an integer >= 0")
    return {"method": (lambda v: v in METHODS, f"must be one of {', '.join(METHODS)}"),
            "level": count, "seed": count, "edge_keep": fraction, "weight_keep": fraction,
            "test_acc": fraction,
            "val_acc": (lambda v: is_number(v) and 0 <= v <= 1, "must be a number in [0, 1]"),
            "seconds": (lambda v: v >= 0, "must be >= 0")}


def summarize_levels(records: list[dict]) -> dict[str, dict[int, dict]]:
    """``{method: {level: {edge_keep, weight_keep, mean, std, seeds, seconds}}}``; ``seconds``
    is the mean over seeds of the time that level took.

    Examples
    --------
    >>> rec = lambda seed, acc: {"method": "teddy", "level": 3, "edge_keep": 0.86,
    ...                          "weight_keep": 0.73, "seed": seed, "test_acc": acc, "seconds": 2}
    >>> s = summarize_levels([rec(0, 0.80), rec(1, 0.78)])["teddy"][3]
    >>> round(s["mean"], 3), round(s["std"], 3), s["seeds"]
    (0.79, 0.01, 2)
    """
    out: dict[str, dict[int, dict]] = {}
    for method in dict.fromkeys(r["method"] for r in records):
        mine = [r for r in records if r["method"] == method]
        out[method] = {}
        for level in sorted({r["level"] for r in mine}):
            at = [r for r in mine if r["level"] == level]
            acc = np.array([r["test_acc"] for r in at])
            out[method][level] = {
                "edge_keep": float(np.mean([r["edge_keep"] for r in at])),
                "weight_keep": float(np.mean([r["weight_keep"] for r in at])),
                "mean": float(acc.mean()), "std": float(acc.std()), "seeds": len(at),
                "seconds": float(np.mean([r["seconds"] for r in at])),
            }
    return out


def seeds_to_run(records: list[dict], methods: tuple[str, ...], levels: list[int],
                 seeds: list[int]) -> tuple[list[dict], list[int]]:
    """Resume a stopped level run: ``(records to keep, seeds still to run)``.

    A seed is complete when ``records`` hold every ``(method, level)`` that
    :func:`graphsparse.gnn.run_levels` writes for it (``dense`` at level 0, the others at each
    of ``levels``); every seed trains from its own seed, so a complete seed needs no re-run. A
    seed still to run runs again from its start, so its records of what it will write again are
    dropped; its records of other methods or levels (an earlier run's, with other ``methods``)
    are kept.

    Examples
    --------
    >>> rec = lambda m, lv, s: {"method": m, "level": lv, "seed": s}
    >>> done = [rec("dense", 0, 0), rec("teddy", 1, 0), rec("dense", 0, 1), rec("ugs", 1, 1)]
    >>> kept, todo = seeds_to_run(done, ("dense", "teddy"), [1], [0, 1, 2])
    >>> kept == done[:2] + done[3:], todo
    (True, [1, 2])
    """
    wanted = {(m, lv) for m in methods if m != "dense" for lv in levels}
    wanted |= {("dense", 0)} if "dense" in methods else set()
    todo = [s for s in seeds
            if not wanted <= {(r["method"], r["level"]) for r in records if r["seed"] == s}]
    return [r for r in records
            if r["seed"] not in todo or (r["method"], r["level"]) not in wanted], todo


def compare_teddy(summary: dict[str, dict[int, dict]]) -> dict:
    """What the targets ask of TEDDY, from :func:`summarize_levels`'s output.

    Returns a dict with ``dense`` (mean accuracy), ``worst_level`` and ``drop`` (TEDDY's lowest
    level and its distance below dense, in points), ``behind_random`` (levels where TEDDY's mean
    is not above random's), ``wall_ratio`` / ``wall_levels`` (TEDDY's over UGS's wall time on
    the levels both ran) and ``ticket_ratio`` / ``ticket_level``: the time to one ticket at the
    deepest level both ran, where TEDDY trains the dense teacher and that level's student and
    UGS runs every round up to the level; each is None where the methods it needs are missing
    (or UGS's records say it took no time).

    Examples
    --------
    >>> rec = lambda m, lv, acc, s: {"method": m, "level": lv, "edge_keep": 1.0,
    ...                              "weight_keep": 1.0, "test_acc": acc, "seconds": s}
    >>> c = compare_teddy(summarize_levels([rec("dense", 0, 0.8, 1), rec("teddy", 1, 0.78, 2),
    ...                                     rec("random", 1, 0.79, 2), rec("ugs", 1, 0.7, 8)]))
    >>> c["worst_level"], round(c["drop"], 1), c["behind_random"], c["wall_ratio"]
    (1, 2.0, [1], 0.25)
    >>> c["ticket_level"], c["ticket_ratio"]
    (1, 0.375)
    """
    teddy = summary.get("teddy", {})
    dense = summary.get("dense", {}).get(0, {}).get("mean")
    out: dict = dict.fromkeys(("dense", "worst_level", "drop", "behind_random", "wall_ratio",
                               "wall_levels", "ticket_ratio", "ticket_level"))
    out["dense"] = dense
    if teddy and dense is not None:
        out["worst_level"] = min(teddy, key=lambda lv: teddy[lv]["mean"])
        out["drop"] = 100 * (dense - teddy[out["worst_level"]]["mean"])
    if teddy and "random" in summary:
        random = summary["random"]
        out["behind_random"] = [lv for lv in sorted(set(teddy) & set(random))
                                if teddy[lv]["mean"] <= random[lv]["mean"]]
    shared = sorted(set(teddy) & set(summary.get("ugs", {})))
    ugs_seconds = sum(summary["ugs"][lv]["seconds"] for lv in shared)  # 0 when none is shared
    if ugs_seconds > 0:  # (records that say 0 seconds, as a hand-made file may, give no ratio)
        out["wall_ratio"] = sum(teddy[lv]["seconds"] for lv in shared) / ugs_seconds
        out["wall_levels"] = shared
        ugs, level = summary["ugs"], shared[-1]
        if "dense" in summary and set(range(1, level + 1)) <= set(ugs):
            teacher = summary["dense"][0]["seconds"]
            rounds = sum(ugs[lv]["seconds"] for lv in range(1, level + 1))
            if rounds > 0:
                out["ticket_level"] = level
                out["ticket_ratio"] = (teacher + teddy[level]["seconds"]) / rounds
    return out


def _wall_time_lines(summary: dict[str, dict[int, dict]], compared: dict) -> list[str]:
    """Mean wall time per seed of each method over all its levels, and TEDDY against UGS."""
    totals = {m: sum(v["seconds"] for v in levels.values()) for m, levels in summary.items()}
    lines = ["| method | levels | wall time per seed (s) |", "|---|---|---|"]
    lines += [f"| {m} | {len(summary[m])} | {t:.1f} |" for m, t in totals.items()]
    if compared["wall_ratio"] is not None and set(summary["teddy"]) == set(summary["ugs"]):
        # without dense records the teacher TEDDY trained was not timed: the ratio says so
        teacher = (f" ({(totals['teddy'] + totals['dense']) / totals['ugs']:.2f} counting the "
                   "dense teacher TEDDY distils from)" if "dense" in totals else
                   " (not counting the dense teacher TEDDY distils from, which is not timed "
                   "in runs without dense among the methods)")
        lines += ["", f"TEDDY / UGS wall time: {compared['wall_ratio']:.2f}{teacher}."]
    if compared["ticket_ratio"] is not None:
        lines += ["", f"Time to one level-{compared['ticket_level']} ticket, TEDDY (the dense "
                  f"teacher and one student) / UGS (rounds 1-{compared['ticket_level']}): "
                  f"{compared['ticket_ratio']:.3f}."]
    return lines


def _comparison_lines(compared: dict) -> list[str]:
    """TEDDY's largest drop below the dense model and the levels where it is not above random.

    Examples
    --------
    >>> _comparison_lines({"dense": 0.783, "drop": -0.2, "worst_level": 3, "behind_random": None})
    ['TEDDY is at or above dense (0.783) at every level, by 0.2 points or more (level 3).']
    """
    lines = []
    if compared["drop"] is not None and compared["drop"] > 0:
        lines.append(f"Largest TEDDY drop below dense ({compared['dense']:.3f}): "
                     f"{compared['drop']:.1f} points at level {compared['worst_level']}.")
    elif compared["drop"] is not None:  # above dense at every level: its closest is no drop
        lines.append(f"TEDDY is at or above dense ({compared['dense']:.3f}) at every level, by "
                     f"{-compared['drop']:.1f} points or more (level {compared['worst_level']}).")
    if compared["behind_random"] is not None:
        lines.append("Levels where TEDDY is not above random: "
                     f"{compared['behind_random'] or 'none'}.")
    return lines


def write_teddy_report(records: list[dict], out: str | Path, *, title: str,
                       notes: list[str] | None = None) -> None:
    """Write ``out/results.md`` (``notes`` under its title, then mean +- std per method and
    level, wall times) and
    ``out/accuracy.png`` (accuracy against graph sparsity, every method), together: a run
    stopped while writing leaves the earlier pair as it was. The folder ``out`` (a path or a
    string) is made when missing."""
    import matplotlib

    from sparsebox.outputs import write_figure_and_text

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out)  # (a string failed on "/"; a missing folder was named by a temporary file)
    out.mkdir(parents=True, exist_ok=True)
    summary = summarize_levels(records)
    rows = [f"# {title}", "", *(f"{note}\n" for note in notes or ()),
            "| method | level | edge keep | weight keep | test acc (mean +- std) | seeds | "
            "seconds |", "|---|---|---|---|---|---|---|"]
    fig, ax = plt.subplots(figsize=(6, 4))
    for method, levels in summary.items():
        for level, v in levels.items():
            rows.append(f"| {method} | {level} | {v['edge_keep']:.3f} | {v['weight_keep']:.3f} | "
                        f"{v['mean']:.3f} +- {v['std']:.3f} | {v['seeds']} | "
                        f"{v['seconds']:.1f} |")
        if method == "dense":
            ax.axhline(levels[0]["mean"], color="k", ls=":", label="dense")
            continue
        vals = list(levels.values())
        ax.errorbar([1 - v["edge_keep"] for v in vals], [v["mean"] for v in vals],
                    yerr=[v["std"] for v in vals], marker="o", ms=3, capsize=2, label=method)
    compared = compare_teddy(summary)
    rows += ["", *_wall_time_lines(summary, compared), "", *_comparison_lines(compared)]
    ax.set(xlabel="graph sparsity (fraction of edges removed)", ylabel="test accuracy",
           title=title)
    ax.legend()
    fig.tight_layout()
    write_figure_and_text(fig, out / "accuracy.png", out / "results.md", "\n".join(rows) + "\n")
