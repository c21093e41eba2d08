import numpy as np

from graphsparse import graph_summary
from sparsebox import as_structure


def test_summary_of_two_components_with_a_loop():
    g = as_structure(np.array([[0, 1, 2, 3, 3], [1, 0, 3, 2, 3]]), num_nodes=5)
    s = graph_summary(g)
    assert (s["num_nodes"], s["num_edges"], s["self_loops"]) == (5, 3, 1)
    assert s["components"] == 3 and s["largest_component"] == 2
    assert (s["degree_min"], s["degree_max"]) == (0.0, 2.0)


def test_summary_takes_what_as_structure_takes():
    """A PyG Data failed with AttributeError: 'GlobalStorage' object has no attribute 'degree'."""
    import networkx as nx
    import torch
    from torch_geometric.data import Data

    edges = np.array([[0, 1, 2, 3, 3], [1, 0, 3, 2, 3]])
    expected = graph_summary(as_structure(edges, num_nodes=5))
    assert graph_summary(Data(edge_index=torch.from_numpy(edges), num_nodes=5)) == expected
    tensor = graph_summary(torch.from_numpy(edges))  # node 4 unseen: 4 nodes
    assert (tensor["num_nodes"], tensor["num_edges"], tensor["components"]) == (4, 3, 2)
    path = graph_summary(nx.path_graph(4))
    assert (path["num_nodes"], path["num_edges"], path["components"]) == (4, 3, 1)
