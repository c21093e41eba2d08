"""Tables and the Pareto plot of GTSP records (:mod:`graphsparse.gtsp.protocol`)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

__all__ = ["summarize_runs", "compare_to_dense", "write_gtsp_report", "baseline_phrase",
           "FLOPS_CUT_TARGET"]

#: The issue's bar for "fewer inference FLOPs": a cut of at least 30% (dense-kernel count).
FLOPS_CUT_TARGET = 0.30


def summarize_runs(records: list[dict]) -> dict[str, dict[tuple[str, float], dict]]:
    """``{dataset: {(axes, keep): {metric, std, seeds, flops, ...}}}``: means over seeds.

    Examples
    --------
    >>> rec = lambda seed, m: {"dataset": "d", "axes": "tokens", "keep": 0.5, "seed": seed,
    ...     "metric_name": "rocauc", "metric": m, "flops": 10.0, "flops_sparse_kernel": 10.0,
    ...     "inference_seconds": 1.0, "epochs": 2}
    >>> s = summarize_runs([rec(0, 0.7), rec(1, 0.8)])["d"][("tokens", 0.5)]
    >>> round(s["metric"], 3), round(s["std"], 3), s["seeds"]
    (0.75, 0.05, 2)
    """
    out: dict[str, dict[tuple[str, float], dict]] = {}
    for dataset in dict.fromkeys(r["dataset"] for r in records):
        mine = [r for r in records if r["dataset"] == dataset]
        table: dict[tuple[str, float], dict] = {}
        keys = dict.fromkeys((r["axes"], float(r["keep"])) for r in mine)
        for key in sorted(keys, key=lambda k: k != ("dense", 1.0)):  # dense first
            group = [r for r in mine if (r["axes"], float(r["keep"])) == key]
            at = _once(group)
            metric = np.array([r["metric"] for r in at], dtype=float)
            row = {"metric": float(metric.mean()), "std": float(metric.std()), "seeds": len(at),
                   "metric_name": at[0]["metric_name"], "epochs": at[0]["epochs"],
                   "at_flops_of": sorted({f"{m['axes']} at keep {m['keep']:g}" for r in group
                                          if (m := r.get("at_flops_of"))})}
            for field in ("flops", "flops_sparse_kernel", "inference_seconds", "attention_flops",
                          "attention_block_flops", "weight_keep", "open_layers"):
                values = [r[field] for r in at if field in r]
                row[field] = float(np.mean(values)) if values else math.nan
            table[key] = row
        out[dataset] = table
    return out


def _once(records: list[dict]) -> list[dict]:
    """``records`` without the copies a baseline run at a combined run's FLOPs makes of a run
    that was planned anyway (the same record but for ``at_flops_of``)."""
    seen, out = set(), []
    for r in records:
        key = json.dumps({k: v for k, v in r.items() if k != "at_flops_of"}, sort_keys=True)
        if key not in seen:
            seen.add(key)
            out.append(r)
    return out


def _points(name: str, value: float) -> float:
    """A metric difference in points where the metric is a fraction (ROC-AUC, AP)."""
    return 100.0 * value if name in ("rocauc", "ap", "acc") else value


def compare_to_dense(table: dict[tuple[str, float], dict]) -> dict:
    """What the issue's targets ask of one dataset's summary.

    Returns ``dense`` (its row), ``rows`` (per run: FLOPs cut, sparse-kernel cut, wall-time
    ratio and metric difference to dense, in points for ROC-AUC / AP), ``attention_cut`` (per
    keep ratio of the token axis: the cut of the scores-and-A V FLOPs and of the whole attention
    block), and ``baselines`` (tokens against random tokens, weights against magnitude pruning,
    at the same keep ratio).

    Examples
    --------
    >>> row = lambda m, f, a: {"metric": m, "std": 0.0, "seeds": 1, "metric_name": "rocauc",
    ...     "flops": f, "flops_sparse_kernel": f, "inference_seconds": f / 10,
    ...     "attention_flops": a, "attention_block_flops": a}
    >>> c = compare_to_dense({("dense", 1.0): row(0.80, 100, 40), ("tokens", 0.5): row(0.795, 60, 10),
    ...                       ("random-tokens", 0.5): row(0.78, 60, 10)})
    >>> c["rows"][("tokens", 0.5)]["flops_cut"], round(c["rows"][("tokens", 0.5)]["delta"], 2)
    (0.4, -0.5)
    >>> c["attention_cut"][0.5]["scores"], round(c["baselines"][0]["margin"], 2)
    (0.75, 1.5)
    """
    dense = table.get(("dense", 1.0))
    out: dict = {"dense": dense, "rows": {}, "attention_cut": {}, "baselines": []}
    if dense is None:
        return out
    name = dense["metric_name"]
    sign = -1.0 if name in ("rmse", "mae") else 1.0
    for key, row in table.items():
        if key == ("dense", 1.0):
            continue
        out["rows"][key] = {
            "flops_cut": 1.0 - row["flops"] / dense["flops"],
            "sparse_cut": 1.0 - row["flops_sparse_kernel"] / dense["flops_sparse_kernel"],
            "wall_ratio": row["inference_seconds"] / dense["inference_seconds"],
            "delta": _points(name, row["metric"] - dense["metric"]),
            "better": sign * (row["metric"] - dense["metric"]),
        }
        if key[0] == "tokens":
            out["attention_cut"][key[1]] = {
                "scores": 1.0 - row["attention_flops"] / dense["attention_flops"],
                "block": 1.0 - row["attention_block_flops"] / dense["attention_block_flops"]}
    for key, row in out["rows"].items():
        if row["flops_cut"] >= FLOPS_CUT_TARGET and key[0] not in BASELINE_LABELS:
            row["baselines_at_flops"] = _baselines_at_flops(table, key, name, sign)
    for method, baseline in (("tokens", "random-tokens"), ("weights", "magnitude")):
        for (label, keep), row in table.items():
            other = table.get((baseline, keep))
            if label == method and other is not None:
                out["baselines"].append({
                    "method": method, "baseline": baseline, "keep": keep,
                    "margin": _points(name, sign * (row["metric"] - other["metric"]))})
    return out


#: Labels of the baseline runs.
BASELINE_LABELS = ("random-tokens", "magnitude")


def _baselines_at_flops(table: dict, key: tuple[str, float], name: str, sign: float) -> dict:
    """For each baseline, ``{"margin", "as_cheap", "flops"}``: the margin of run ``key`` over the
    baseline's best run that costs no more (random tokens: dense-kernel FLOPs; magnitude
    pruning: sparse-kernel FLOPs, since that is all it cuts), or, when no run of the baseline is
    that cheap, over its cheapest run (``as_cheap`` False); ``flops`` is what that run costs.
    0.5% of slack absorbs the ceilings of ``k_g``."""
    row = table[key]
    out: dict = {}
    for baseline, field in (("random-tokens", "flops"), ("magnitude", "flops_sparse_kernel")):
        mine = [r for (label, _), r in table.items() if label == baseline]
        if not mine:
            continue
        runs = [r for r in mine if r[field] <= 1.005 * row[field]]
        as_cheap = bool(runs)
        best = max(runs, key=lambda r: sign * r["metric"]) if runs else \
            min(mine, key=lambda r: r[field])
        out[baseline] = {"margin": _points(name, sign * (row["metric"] - best["metric"])),
                         "as_cheap": as_cheap, "flops": best[field]}
    return out


def baseline_phrase(baseline: str, found: dict) -> str:
    """One baseline comparison of :func:`compare_to_dense`'s ``baselines_at_flops``, in words.

    Examples
    --------
    >>> baseline_phrase("random-tokens", {"margin": 3.79, "as_cheap": True, "flops": 7.59e6})
    'vs random-tokens at no more FLOPs (7.59 M): +3.79'
    >>> baseline_phrase("random-tokens", {"margin": 1.46, "as_cheap": False, "flops": 5.64e6})
    'vs random-tokens at its fewest FLOPs, more (5.64 M): +1.46'
    """
    where = "at no more FLOPs" if found["as_cheap"] else "at its fewest FLOPs, more"
    return f"vs {baseline} {where} ({_fmt_flops(found['flops'])}): {found['margin']:+.2f}"


def _change(cut: float) -> str:
    """A cut of FLOPs as a signed change in percent; none is +0.0%, not -0.0%.

    Examples
    --------
    >>> _change(0.235), _change(0.0), _change(-1e-12)
    ('-23.5%', '+0.0%', '+0.0%')
    """
    return f"{round(-100 * cut, 1) + 0.0:+.1f}%"


def _fmt_flops(value: float) -> str:
    return f"{value / 1e6:.2f} M"


def _dataset_lines(dataset: str, table: dict, compared: dict) -> list[str]:
    dense = compared["dense"]
    metric = next(iter(table.values()))["metric_name"]
    lines = [f"## {dataset}", "",
             f"| axes | keep | {metric} (mean +- std) | seeds | FLOPs / graph (dense kernels) | "
             "vs dense | FLOPs / graph (sparse kernels) | attention FLOPs (scores + AV) | "
             "s / 1,000 graphs | vs dense |", "|---|---|---|---|---|---|---|---|---|---|"]
    for (label, keep), row in table.items():
        cmp = compared["rows"].get((label, keep))
        cut = _change(cmp["flops_cut"]) if cmp else ""
        wall = f"x{cmp['wall_ratio']:.2f}" if cmp else ""
        lines.append(f"| {label} | {keep:g} | {row['metric']:.4f} +- {row['std']:.4f} | "
                     f"{row['seeds']} | {_fmt_flops(row['flops'])} | {cut} | "
                     f"{_fmt_flops(row['flops_sparse_kernel'])} | "
                     f"{_fmt_flops(row['attention_flops'])} | "
                     f"{row['inference_seconds']:.3f} | {wall} |")
    matched = [f"{label} at keep {keep:g}: at the FLOPs of {', '.join(row['at_flops_of'])}"
               for (label, keep), row in table.items() if row.get("at_flops_of")]
    if matched:
        lines += ["", "Baseline runs at the FLOPs of a combined run: " + "; ".join(matched) + "."]
    if dense is None:
        return [*lines, "", "No dense run: no comparison."]
    unit = "points" if metric in ("rocauc", "ap", "acc") else metric
    lower = metric in ("rmse", "mae")  # (the sign of compare_to_dense's margins)
    lines += ["", f"Runs with at least {100 * FLOPS_CUT_TARGET:.0f}% fewer inference FLOPs "
              f"(dense-kernel count) than dense, their {metric} minus dense's "
              f"({'lower' if lower else 'higher'} is better) and their measured inference wall "
              "time; against a baseline, the margin over it (positive = better than the "
              "baseline, as below):", ""]
    cut_rows = [(k, c) for k, c in compared["rows"].items()
                if c["flops_cut"] >= FLOPS_CUT_TARGET]
    for (label, keep), c in cut_rows:
        against = "; ".join(baseline_phrase(b, found)
                            for b, found in c.get("baselines_at_flops", {}).items())
        lines.append(f"- {label} at keep {keep:g}: {100 * c['flops_cut']:.1f}% fewer FLOPs, "
                     f"{c['delta']:+.2f} {unit}, wall time x{c['wall_ratio']:.2f}"
                     + (f"; {against}" if against else ""))
    if not cut_rows:
        lines.append("- none")
    lines += ["", "Each axis alone, FLOPs against dense (dense kernels / sparse kernels):", ""]
    for (label, keep), c in compared["rows"].items():
        if label in ("tokens", "heads", "layers", "weights"):
            lines.append(f"- {label} at keep {keep:g}: {_change(c['flops_cut'])} / "
                         f"{_change(c['sparse_cut'])}")
    for keep, cut in compared["attention_cut"].items():
        lines.append(f"- tokens at keep {keep:g} cut the attention's scores and A V by "
                     f"{100 * cut['scores']:.1f}% and the whole attention block (scorer, Q/K/V, "
                     f"scores, A V, output projection) by {100 * cut['block']:.1f}%")
    if compared["baselines"]:
        lines += ["", f"Against the baselines at the same keep ratio (margin in {unit}, "
                  "positive = better than the baseline):", ""]
        lines += [f"- {b['method']} vs {b['baseline']} at keep {b['keep']:g}: "
                  f"{b['margin']:+.2f}" for b in compared["baselines"]]
    return lines


def write_gtsp_report(records: list[dict], out: Path, *, title: str = "GTSP",
                      notes: list[str] | None = None) -> None:
    """Write ``out/results.md`` (mean and std per axis and keep ratio, FLOPs, wall time, the
    comparisons the targets ask for) and ``out/pareto.png`` (metric against inference FLOPs per
    graph, dense kernels on the left, sparse kernels on the right), together: a run stopped while
    writing leaves the earlier pair as it was."""
    import matplotlib

    from sparsebox.outputs import write_figure_and_text

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    summary = summarize_runs(records)
    lines = [f"# {title}", "", *(notes or [])]
    fig, axes = plt.subplots(len(summary), 2, figsize=(11, 4.2 * max(len(summary), 1)),
                             squeeze=False)
    for row_axes, (dataset, table) in zip(axes, summary.items(), strict=True):
        compared = compare_to_dense(table)
        lines += ["", *_dataset_lines(dataset, table, compared)]
        labels = list(dict.fromkeys(label for label, _ in table))
        colors = {label: plt.cm.tab10(i % 10) for i, label in enumerate(labels)}
        for ax, field, kind in ((row_axes[0], "flops", "dense kernels"),
                                (row_axes[1], "flops_sparse_kernel", "sparse kernels")):
            for label in labels:
                rows = sorted(((k, r) for (lab, k), r in table.items() if lab == label),
                              key=lambda kr: kr[1][field])
                x = [r[field] / 1e6 for _, r in rows]
                y = [r["metric"] for _, r in rows]
                err = [r["std"] for _, r in rows]
                marker = "*" if label == "dense" else "o"
                ax.errorbar(x, y, yerr=err, marker=marker, ms=12 if label == "dense" else 5,
                            capsize=2, label=label, color="k" if label == "dense" else
                            colors[label], ls="-" if len(rows) > 1 else "none")
                for (keep, _), xi, yi in zip(rows, x, y, strict=True):
                    if label != "dense":
                        ax.annotate(f"{keep:g}", (xi, yi), fontsize=7,
                                    textcoords="offset points", xytext=(3, 3))
            ax.set(xlabel=f"inference MFLOPs per graph ({kind})",
                   ylabel=next(iter(table.values()))["metric_name"], title=f"{dataset}")
            ax.grid(alpha=0.3)
        # beside the panels, not over the runs; the numbers beside the points are keep ratios
        row_axes[1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1),
                           title="point labels: keep ratio", title_fontsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    write_figure_and_text(fig, out / "pareto.png", out / "results.md", "\n".join(lines) + "\n")
