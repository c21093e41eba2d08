import numpy as np

from graphsparse import graph_summary
from sparsebox import as_structure


def test_summary_of_two_components_with_a_loop():
    g = as_structure(np.array([[0, 1, 2, 3, 3], [1, 0, 3, 2, 3]]), num_nodes=5)
    s = graph_summary(g)
    assert (s["num_nodes"], s["num_edges"], s["self_loops"]) == (5, 3, 1)
    assert s["components"] == 3 and s["largest_component"] == 2
    assert (s["degree_min"], s["degree_max"]) == (0.0, 2.0)
