"""Keep a spectral sparsifier of a FEM mesh up to date while edges come and go.

Run: python examples/stream_updates.py
"""

import numpy as np

from graphsparse import DynamicSpectralSparsifier, relative_condition_number
from sparsebox.data import load_graph

graph = load_graph("airfoil1")
rng = np.random.default_rng(0)
removed = rng.choice(graph.num_edges, graph.num_edges // 10, replace=False)
start = graph.subgraph(~np.isin(np.arange(graph.num_edges), removed))

model = DynamicSpectralSparsifier(density=1.10, seed=0).fit(start)
print(f"initial sparsifier: {model.sparsifier_.num_edges} edges, "
      f"kappa {relative_condition_number(start, model.sparsifier_):.1f}")

events = [("+", int(graph.rows[i]), int(graph.cols[i])) for i in removed]
events += [("-", int(graph.rows[i]), int(graph.cols[i])) for i in removed[:50]]
for report in model.stream(events, batch_size=300):
    print(f"batch {report.batch}: +{report.insertions} -{report.deletions}, "
          f"{report.inserted_into_sparsifier} into H, density {report.density:.3f}")

kappa = relative_condition_number(model.graph_, model.sparsifier_)
print(f"final: kappa {kappa:.1f}")
assert kappa < 1000
