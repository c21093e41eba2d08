"""Plain descriptive statistics of a graph."""

from __future__ import annotations

from typing import Any

import numpy as np

from sparsebox.structure import as_structure

__all__ = ["graph_summary"]


def graph_summary(graph: Any) -> dict[str, Any]:
    """Nodes, edges, density, components and degree statistics, as plain Python values.

    ``graph`` is anything :func:`sparsebox.as_structure` takes: a ``SparseStructure``, a PyG
    ``Data``, a ``[2, E]`` edge_index, a scipy sparse matrix, a networkx graph...

    ``weighted`` is a fact about the weights: true when the graph says it is weighted or any
    weight is not 1 (as where parallel entries were summed), the rule by which
    :func:`sparsebox.data.graphs.write_graph` writes weights. ``density`` counts the edges that
    are not self-loops per node, as the ``density`` a sparsifier is sized by does.

    Examples
    --------
    >>> from sparsebox.structure import SparseStructure
    >>> summed = SparseStructure.from_edges([0, 0], [1, 1], None, symmetrize="sum")
    >>> summed.is_weighted, graph_summary(summed)["weighted"]
    (False, True)
    >>> import networkx as nx
    >>> graph_summary(nx.path_graph(3))["num_edges"]
    2
    >>> looped = SparseStructure.from_edges([0, 1], [0, 2], None, num_nodes=4, symmetrize="sum")
    >>> graph_summary(looped)["num_edges"], graph_summary(looped)["density"]
    (2, 0.25)
    """
    graph = as_structure(graph, name="graph")
    deg = graph.degree()
    if deg.size == 0:
        deg = np.zeros(1)
    num_components, labels = graph.connected_components()
    largest = int(np.bincount(labels).max()) if graph.num_nodes else 0
    loops = graph.num_self_loops
    return {
        "num_nodes": graph.num_nodes,
        "num_edges": graph.num_edges,
        "undirected": graph.is_undirected,
        "weighted": graph.is_weighted or bool(np.any(graph.weights != 1.0)),
        "self_loops": loops,
        "density": (graph.num_edges - loops) / max(graph.num_nodes, 1),
        "components": int(num_components),
        "largest_component": largest,
        "degree_min": float(deg.min()),
        "degree_mean": float(deg.mean()),
        "degree_median": float(np.median(deg)),
        "degree_max": float(deg.max()),
    }
