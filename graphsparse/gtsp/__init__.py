"""GTSP: a GPS graph transformer made sparse on four axes (tokens, heads, layers, weights), with
savings that are real at inference (Liu et al., "Exploring Sparsity in Graph Transformers",
Neural Networks 2024).

* :mod:`.model`: :class:`GTSPModel` (PyG ``GINEConv`` + token attention, ogb encoders, random-walk
  encoding) and ``export_pruned()``;
* :mod:`.tokens`, :mod:`.attention`: per-graph Gumbel top-k token selection, attention over the
  selected tokens with prunable heads;
* :mod:`.strategy`: :class:`GTSPStrategy`, the hooks a training loop calls (heads, layer gates,
  weights);
* :mod:`.flops`: the analytic FLOPs count (checked against ``FlopCounterMode``);
* :mod:`.data`, :mod:`.train`, :mod:`.protocol`, :mod:`.report`: ogb molecule tasks, training with
  the best-validation checkpoint, the benchmark protocol and its report;
* :mod:`.estimator`: :class:`GtspTokenPruner`, the token axis under the method contract.
"""

from graphsparse.gtsp.estimator import GtspTokenPruner
from graphsparse.gtsp.flops import FlopsReport, count_flops, counted_flops
from graphsparse.gtsp.model import GTSPModel, prunable_weights
from graphsparse.gtsp.strategy import GTSPState, GTSPStrategy

__all__ = ["GTSPModel", "GTSPStrategy", "GTSPState", "GtspTokenPruner", "FlopsReport",
           "count_flops", "counted_flops", "prunable_weights"]
