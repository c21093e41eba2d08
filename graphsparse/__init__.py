"""graphsparse: sparsifiers and quality metrics for graphs, built on the sparsebox core.

Names are imported on first use (``from graphsparse import TeddyPruner`` loads only what TEDDY
needs).
"""

from sparsebox._lazy import lazy_exports

_EXPORTS = {
    "BatchError": ".dynamic", "BatchReport": ".dynamic", "DynamicSpectralSparsifier": ".dynamic",
    "EdgeEvent": ".dynamic",
    "pcg_iterations": ".metrics", "relative_condition_number": ".metrics",
    "EffectiveResistanceSampler": ".resistance", "effective_resistances": ".resistance",
    "FeGrassSparsifier": ".static",
    "graph_summary": ".stats",
    "TeddyPruner": ".teddy", "TeddyTransform": ".transforms", "teddy_edge_scores": ".teddy",
    "RandomEdgePruner": ".random_edges",
    "UgsPruner": ".ugs",
    "GTSPModel": ".gtsp", "GTSPStrategy": ".gtsp", "GtspTokenPruner": ".gtsp",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
