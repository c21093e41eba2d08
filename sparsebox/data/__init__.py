"""Data root, dataset catalogue and graph readers (imported on first use)."""

from sparsebox._lazy import lazy_exports

_EXPORTS = {
    "GraphFileError": ".graphs", "load_graph": ".graphs", "read_edge_list": ".graphs",
    "read_matrix_market": ".graphs", "read_metis": ".graphs", "read_planetoid_graph": ".graphs",
    "write_graph": ".graphs",
    "DatasetInfo": ".sources", "DatasetNotFoundError": ".sources", "catalogue": ".sources",
    "fetch": ".sources", "get_dataset": ".sources",
    "cache_root": ".root", "data_root": ".root",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
