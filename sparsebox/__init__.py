"""sparsebox: the shared sparse-structure core.

Score, then select, then apply: methods score items (edges, Gaussians, points), :func:`select`
turns scores into a keep-mask at an exact budget, and :meth:`SparseStructure.subgraph` applies it.
"""

from sparsebox.select import budget_from_keep_ratio, resolve_budget, select
from sparsebox.structure import SparseStructure, as_structure

__version__ = "0.1.0"

__all__ = ["SparseStructure", "as_structure", "select", "budget_from_keep_ratio", "resolve_budget",
           "__version__"]
