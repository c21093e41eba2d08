"""The graph part of `sparsebox demo`: graph facts, every registered edge method on a default
graph (by the kind of data it takes), TEDDY's accuracy against random pruning, a dyGRASS
stream."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from graphsparse.stats import graph_summary  # noqa: E402
from sparsebox.data.graphs import load_graph, write_graph  # noqa: E402
from sparsebox.demo import create_accepting  # noqa: E402

DEMO_GRAPHS = ("fe_4elt2", "cora")
#: The size every graph method is run at in the demo: kept edges per node.
DEMO_DENSITY = 1.5


def graph_method(entry: Any, out: Path) -> dict[str, object]:
    """A registered method that takes a graph, on fe_4elt2 at density 1.5: kept edges and the
    relative condition number kappa(L_G, L_H) (grounded, exact)."""
    from graphsparse.metrics import relative_condition_number

    g = load_graph("fe_4elt2")
    estimator = create_accepting(entry, density=DEMO_DENSITY)
    start = time.perf_counter()
    h = estimator.fit(g).transform(g)
    seconds = time.perf_counter() - start
    kappa = relative_condition_number(g, h, method="ground")
    return {"method": entry.name, "data": "fe_4elt2", "seconds": seconds,
            "result": f"kept {h.num_edges:,} of {g.num_edges:,} edges, kappa {kappa:.4g}"}


def node_graph_method(entry: Any, out: Path) -> dict[str, object]:
    """A registered method that learns from a labelled graph, on Cora to keep ratio 0.9 with
    short trainings (60 epochs)."""
    from graphsparse.datasets import load_planetoid

    data = load_planetoid("cora")
    est = create_accepting(entry, keep_ratio=0.9, epochs=60)
    start = time.perf_counter()
    est.fit(data)
    seconds = time.perf_counter() - start
    return {"method": entry.name, "data": "cora", "seconds": seconds,
            "result": f"kept {int(est.mask_.sum()):,} of {est.mask_.size:,} edges in "
                      f"{getattr(est, 'rounds_', 1)} rounds"}


def molecule_method(entry: Any, out: Path) -> dict[str, object]:
    """A registered method that learns from labelled molecules, on 200 graphs of ogbg-molbace
    (3 epochs) at keep ratio 0.5."""
    from graphsparse.gtsp.data import load_molecules

    task = load_molecules("ogbg-molbace", max_graphs=200)
    est = create_accepting(entry, keep_ratio=0.5, epochs=3)
    start = time.perf_counter()
    est.fit(task.train)
    seconds = time.perf_counter() - start
    return {"method": entry.name, "data": "ogbg-molbace", "seconds": seconds,
            "result": f"kept {int(est.mask_.sum()):,} of {est.mask_.size:,} tokens of "
                      f"{len(task.train)} molecules"}


def stream_method(entry: Any, out: Path) -> dict[str, object]:
    """A streaming method: :func:`dygrass_stream` with the registered class."""
    return {**dygrass_stream(out, cls=entry.load()), "method": entry.name}


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


def dygrass_stream(out: Path, graph_name: str = "fe_4elt2", seed: int = 0,
                   cls: Any = None) -> dict[str, object]:
    """Remove 10% of a FEM graph's edges, sparsify the rest, stream them back in 10 batches;
    plot kappa and density per batch and write the final sparsifier."""
    from graphsparse.dynamic import DynamicSpectralSparsifier
    from graphsparse.metrics import relative_condition_number

    cls = cls or DynamicSpectralSparsifier
    g = load_graph(graph_name)
    rng = np.random.default_rng(seed)
    removed = rng.choice(g.num_edges, g.num_edges // 10, replace=False)
    keep = np.ones(g.num_edges, dtype=bool)
    keep[removed] = False
    model = cls(seed=seed).fit(g.subgraph(keep))
    events = [("+", int(g.rows[i]), int(g.cols[i]), float(g.weights[i])) for i in removed]
    kappas = [relative_condition_number(model.graph_, model.sparsifier_, method="ground")]
    densities = [model.sparsifier_.density]
    seconds = 0.0
    for report in model.stream(events, batch_size=-(-len(events) // 10)):
        kappas.append(relative_condition_number(model.graph_, model.sparsifier_, method="ground"))
        densities.append(report.density)
        seconds += report.seconds
    fig, (a, b) = plt.subplots(1, 2, figsize=(8, 3.2))
    a.plot(kappas, "o-", ms=3)
    a.set(xlabel="batch", ylabel="kappa(L_G, L_H)", title=f"dyGRASS on {graph_name}")
    b.plot(densities, "o-", ms=3)
    b.set(xlabel="batch", ylabel="|E_H| / |V|", title="sparsifier density")
    fig.tight_layout()
    fig.savefig(out / "dygrass_stream.png", dpi=120)
    plt.close(fig)
    h = model.sparsifier_
    write_graph(h, out / f"{graph_name}_sparsifier.mtx")
    return {"method": "dyGRASS stream", "data": graph_name, "events": len(events),
            "result": f"kappa {kappas[0]:.0f} -> {kappas[-1]:.0f}, density {densities[0]:.3f} -> "
                      f"{densities[-1]:.3f}", "seconds": seconds}


def teddy_short(out: Path, epochs: int = 60) -> dict[str, object]:
    """TEDDY vs random pruning on Cora at level 20 (35.8% of the edges, 12.2% of the weights
    kept), one seed: a short version of `sparsebox graph teddy`."""
    from graphsparse.datasets import load_planetoid
    from graphsparse.levels import run_levels
    from sparsebox.outputs import json_text

    data = load_planetoid("cora")
    records = run_levels(data, "gcn", [20], [0], epochs=epochs)
    (out / "teddy_cora_level20.json").write_text(json_text(records, indent=2))
    acc = {r["method"]: r["test_acc"] for r in records}
    return {"method": "teddy (GCN, level 20)", "data": "cora",
            "result": f"test acc {acc['teddy']:.3f} vs random {acc['random']:.3f}, dense "
                      f"{acc['dense']:.3f}", "seconds": sum(r["seconds"] for r in records)}
