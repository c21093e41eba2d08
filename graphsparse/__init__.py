"""graphsparse: sparsifiers and quality metrics for graphs, built on the sparsebox core."""

from graphsparse.dynamic import BatchError, BatchReport, DynamicSpectralSparsifier, EdgeEvent
from graphsparse.metrics import pcg_iterations, relative_condition_number
from graphsparse.resistance import EffectiveResistanceSampler, effective_resistances
from graphsparse.static import FeGrassSparsifier
from graphsparse.stats import graph_summary

__all__ = [
    "BatchError",
    "BatchReport",
    "DynamicSpectralSparsifier",
    "EdgeEvent",
    "EffectiveResistanceSampler",
    "FeGrassSparsifier",
    "effective_resistances",
    "graph_summary",
    "pcg_iterations",
    "relative_condition_number",
]
