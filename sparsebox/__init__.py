"""sparsebox: the shared sparse-structure core.

Score, then select, then apply: methods score items (edges, Gaussians, points), :func:`select`
turns scores into a keep-mask at an exact budget, and :meth:`SparseStructure.subgraph` applies it.
Other names are imported on first use, so ``import sparsebox`` stays cheap.
"""

from sparsebox._lazy import lazy_exports

# Imported now, not lazily: the submodule `sparsebox.select` shares its name with the function,
# and binding the function here is what keeps `from sparsebox import select` the function.
from sparsebox.select import budget_from_keep_ratio, resolve_budget, select

__version__ = "0.1.0"

_EXPORTS = {
    "SparseStructure": ".structure", "as_structure": ".structure",
    "Sparsifier": ".base", "StreamingSparsifier": ".base", "Strategy": ".base",
    "StrategyState": ".base",
    "get_method": ".registry", "methods": ".registry", "register": ".registry",
}
__all__ = [*sorted(_EXPORTS), "budget_from_keep_ratio", "resolve_budget", "select",
           "__version__"]
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
