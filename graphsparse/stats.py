"""Plain descriptive statistics of a graph."""

from __future__ import annotations

from typing import Any

import numpy as np

from sparsebox.structure import SparseStructure

__all__ = ["graph_summary"]


def graph_summary(graph: SparseStructure) -> dict[str, Any]:
    """Nodes, edges, density, components and degree statistics, as plain Python values."""
    deg = graph.degree()
    if deg.size == 0:
        deg = np.zeros(1)
    num_components, labels = graph.connected_components()
    largest = int(np.bincount(labels).max()) if graph.num_nodes else 0
    return {
        "num_nodes": graph.num_nodes,
        "num_edges": graph.num_edges,
        "undirected": graph.is_undirected,
        "weighted": graph.is_weighted,
        "self_loops": int(np.count_nonzero(graph.rows == graph.cols)),
        "density": graph.density,
        "components": int(num_components),
        "largest_component": largest,
        "degree_min": float(deg.min()),
        "degree_mean": float(deg.mean()),
        "degree_median": float(np.median(deg)),
        "degree_max": float(deg.max()),
    }
