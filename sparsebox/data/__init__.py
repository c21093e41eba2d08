"""Data root, dataset catalogue and loaders."""

from sparsebox.data.graphs import (
    GraphFileError,
    load_graph,
    read_edge_list,
    read_matrix_market,
    read_metis,
)
from sparsebox.data.registry import (
    DatasetInfo,
    DatasetNotFoundError,
    catalogue,
    fetch,
    get_dataset,
)
from sparsebox.data.root import cache_root, data_root

__all__ = [
    "DatasetInfo",
    "DatasetNotFoundError",
    "GraphFileError",
    "cache_root",
    "catalogue",
    "data_root",
    "fetch",
    "get_dataset",
    "load_graph",
    "read_edge_list",
    "read_matrix_market",
    "read_metis",
]
