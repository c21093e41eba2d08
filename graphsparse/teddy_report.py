"""Tables and plots for the TEDDY level protocol (records from :func:`graphsparse.gnn.run_levels`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["summarize_levels", "write_teddy_report"]


def summarize_levels(records: list[dict]) -> dict[str, dict[int, dict]]:
    """``{method: {level: {edge_keep, weight_keep, mean, std, seeds, seconds}}}``; ``seconds``
    is the mean over seeds of the time that level took."""
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


def _wall_time_lines(summary: dict[str, dict[int, dict]]) -> list[str]:
    """Mean wall time per seed of each method over all its levels, and TEDDY against UGS."""
    totals = {m: sum(v["seconds"] for v in levels.values()) for m, levels in summary.items()}
    lines = ["| method | levels | wall time per seed (s) |", "|---|---|---|"]
    lines += [f"| {m} | {len(summary[m])} | {t:.1f} |" for m, t in totals.items()]
    if "teddy" in totals and "ugs" in totals and set(summary["teddy"]) == set(summary["ugs"]):
        teacher = totals.get("dense", 0.0)
        lines += ["", f"TEDDY / UGS wall time: {totals['teddy'] / totals['ugs']:.2f} "
                  f"({(totals['teddy'] + teacher) / totals['ugs']:.2f} counting the dense "
                  "teacher TEDDY distils from)."]
    return lines


def _comparison_lines(summary: dict[str, dict[int, dict]]) -> list[str]:
    """TEDDY's largest drop below the dense model and the levels where it is not above random."""
    lines = []
    teddy = summary.get("teddy", {})
    if teddy and 0 in summary.get("dense", {}):
        dense = summary["dense"][0]["mean"]
        worst = min(teddy, key=lambda lv: teddy[lv]["mean"])
        lines.append(f"Largest TEDDY drop below dense ({dense:.3f}): "
                     f"{100 * (dense - teddy[worst]['mean']):.1f} points at level {worst}.")
    if teddy and "random" in summary:
        shared = sorted(set(teddy) & set(summary["random"]))
        behind = [lv for lv in shared if teddy[lv]["mean"] <= summary["random"][lv]["mean"]]
        lines.append(f"Levels where TEDDY is not above random: {behind or 'none'}.")
    return lines


def write_teddy_report(records: list[dict], out: Path, *, title: str) -> None:
    """Write ``out/results.md`` (mean +- std per method and level, wall times) and
    ``out/accuracy.png`` (accuracy against graph sparsity, every method)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    summary = summarize_levels(records)
    rows = [f"# {title}", "",
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
    rows += ["", *_wall_time_lines(summary), "", *_comparison_lines(summary)]
    ax.set(xlabel="graph sparsity (fraction of edges removed)", ylabel="test accuracy",
           title=title)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "accuracy.png", dpi=120)
    plt.close(fig)
    (out / "results.md").write_text("\n".join(rows) + "\n")
