"""The graph part of `sparsebox demo`."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from graphsparse.stats import graph_summary  # noqa: E402
from sparsebox.data import load_graph  # noqa: E402

DEMO_GRAPHS = ("fe_4elt2", "cora")


def graph_facts(out: Path) -> list[dict[str, object]]:
    """Load the demo graphs, plot their degree distributions, return one summary row each."""
    rows = []
    fig, ax = plt.subplots(figsize=(6, 4))
    for name in DEMO_GRAPHS:
        g = load_graph(name)
        rows.append({"graph": name, **graph_summary(g)})
        deg = g.degree().astype(int)
        counts = np.bincount(deg)
        ax.plot(np.flatnonzero(counts), counts[counts > 0], "o-", ms=3, label=name)
    ax.set(xscale="log", yscale="log", xlabel="degree", ylabel="nodes",
           title="degree distribution")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "degree_distribution.png", dpi=120)
    plt.close(fig)
    return rows
