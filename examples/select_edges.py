"""Score, select, apply: keep 45% of a FEM mesh's edges and stay connected: a spanning tree
(about a third of the edges) is protected, the rest of the budget goes to the edges of heaviest
degree.

Run: python examples/select_edges.py
"""

import numpy as np
from scipy.sparse.csgraph import minimum_spanning_tree

from sparsebox import select
from sparsebox.data import load_graph

graph = load_graph("fe_4elt2")
deg = graph.degree()
scores = deg[graph.rows] + deg[graph.cols]  # one score per undirected edge

# protect a spanning tree so the sparsified graph stays connected
tree = minimum_spanning_tree(graph.to_scipy()).tocoo()
tree_keys = set(zip(np.minimum(tree.row, tree.col), np.maximum(tree.row, tree.col), strict=True))
protected = np.array([(u, v) in tree_keys for u, v in zip(graph.rows, graph.cols, strict=True)])

keep = select(scores, keep_ratio=0.45, protected=protected)
sparse = graph.subgraph(keep)
print(f"kept {sparse.num_edges} of {graph.num_edges} edges "
      f"(keep ratio {sparse.num_edges / graph.num_edges:.3f}), "
      f"components: {sparse.connected_components()[0]}")
assert sparse.connected_components()[0] == 1
