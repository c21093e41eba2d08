"""PyG transforms: the graph methods applied to a ``torch_geometric.data.Data``, every
message-passing edge attribute sliced with its edges (supervision labels left alone)."""

from __future__ import annotations

import warnings
from typing import Any

import torch
from torch_geometric.data import Batch
from torch_geometric.transforms import BaseTransform

from graphsparse.teddy import TeddyPruner, sizing_from_edge_sparsity, unweighted_structure
from sparsebox._validation import exactly_one, validate_params
from sparsebox.base import SIZING_CONSTRAINTS
from sparsebox.exceptions import DensityCapWarning, InvalidParameterError

__all__ = ["TeddyTransform", "keep_edge_columns", "is_column_attribute"]

#: Keys holding this are link-prediction supervision (``edge_label``, ``edge_label_index``,
#: ``pos_edge_label``, ... of ``RandomLinkSplit`` and the link loaders), never sliced.
SUPERVISION_KEY_PART = "edge_label"


def is_column_attribute(data: Any, key: str, num_columns: int) -> bool:
    """Whether ``data[key]`` is a per-column attribute of ``data.edge_index`` that must be cut
    with its columns (see :func:`keep_edge_columns` for the rule)."""
    value = data[key]
    return (key != "edge_index" and SUPERVISION_KEY_PART not in key
            and torch.is_tensor(value) and value.dim() > 0 and value.shape[0] == num_columns
            and data.__cat_dim__(key, value) == 0 and data.is_edge_attr(key))


def keep_edge_columns(data: Any, keep: Any) -> Any:
    """A copy of the PyG ``data`` with the columns ``keep`` (a bool tensor, one per column of
    ``edge_index``) of ``edge_index`` and of every per-column attribute, in their order, and with
    ``num_nodes`` stored (nodes left without edges stay).

    The rule: besides ``edge_index`` a tensor attribute is cut when PyG's ``is_edge_attr``
    reports it, it is stacked along its first dimension (``__cat_dim__`` 0: not an ``*_index``
    such as ``edge_label_index``, whose columns are other edges), that dimension has one entry
    per column of ``edge_index`` and its key does not contain ``"edge_label"``. So
    ``edge_weight``, ``edge_attr``, ``edge_type``, ``edge_time`` and masks over the columns
    (``edge_mask``, ``train_edge_mask``) are cut and stay aligned with ``edge_index``, while the
    supervision of link prediction (``edge_label``, ``edge_label_index``, ``pos_edge_label``,
    ...) and node attributes are left as they are, even when their size equals the number of
    columns. An ``adj_t`` beside ``edge_index`` (``ToSparseTensor(remove_edge_index=False)``,
    a torch sparse tensor or a ``torch_sparse.SparseTensor``) loses the entries ``(v, u)`` of
    the columns ``(u, v)`` that leave (and that no kept column repeats); its other entries stay
    (a self-loop a normalization added).

    Examples
    --------
    >>> import torch
    >>> from torch_geometric.data import Data
    >>> data = Data(edge_index=torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]]),
    ...             edge_attr=torch.arange(4.0), edge_label=torch.ones(4), num_nodes=3)
    >>> kept = keep_edge_columns(data, torch.tensor([True, True, False, False]))
    >>> kept.edge_index.tolist(), kept.edge_attr.tolist(), kept.edge_label.shape[0]
    ([[0, 1], [1, 0]], [0.0, 1.0], 4)
    """
    out = data.clone()
    num_columns = data.edge_index.shape[1]
    out.edge_index = data.edge_index[:, keep]
    for key in list(data.keys()):
        if is_column_attribute(data, key, num_columns):
            out[key] = data[key][keep]
    if getattr(data, "adj_t", None) is not None:  # models read it, not edge_index
        out.adj_t = _without_pairs(data.adj_t, data.edge_index[1][~keep], data.edge_index[0][~keep],
                                   data.edge_index[1][keep], data.edge_index[0][keep])
    if data.num_nodes is not None:
        out.num_nodes = int(data.num_nodes)
    return out


def _without_pairs(adj: Any, rows: Any, cols: Any, kept_rows: Any, kept_cols: Any) -> Any:
    """The matrix ``adj`` (a torch tensor: sparse COO, CSR or CSC, or dense; or a
    ``torch_sparse.SparseTensor``) without its entries at ``(rows, cols)`` that are not also at
    ``(kept_rows, kept_cols)``, in its own layout."""
    if isinstance(adj, torch.Tensor):
        layout = adj.layout
        coo = (adj.to_sparse_coo() if layout != torch.sparse_coo else adj).coalesce()
        (r, c), values = coo.indices(), coo.values()
    else:  # torch_sparse.SparseTensor
        r, c, values = adj.coo()
    size = adj.size(1)
    gone = rows * size + cols
    gone = gone[~torch.isin(gone, kept_rows * size + kept_cols)]
    stay = ~torch.isin(r * size + c, gone)
    if not isinstance(adj, torch.Tensor):
        return type(adj)(row=r[stay], col=c[stay], value=None if values is None else values[stay],
                         sparse_sizes=adj.sparse_sizes())
    out = torch.sparse_coo_tensor(torch.stack([r[stay], c[stay]]), values[stay], adj.shape,
                                  is_coalesced=True)
    if layout == torch.sparse_coo:
        return out
    return out.to_dense() if layout == torch.strided else out.to_sparse(layout=layout)


class TeddyTransform(BaseTransform):
    """PyG transform: drop the lowest-scoring edges of ``data.edge_index`` and every per-column
    attribute with them (see :func:`keep_edge_columns`), in the original column order, keeping
    ``num_nodes``; ``data.edge_mask`` says which columns of the input stayed (replacing, with
    a warning, an ``edge_mask`` of the input's own; silently where it is all true, as after a
    step that kept every column, since that loses nothing).

    It keeps exactly the edges :class:`~graphsparse.teddy.TeddyPruner` keeps on the same
    ``edge_index`` (the same scores, sizing and messages): both directions of an undirected
    pair and repeated columns leave together, self-loops stay, and ``edge_weight`` is never
    read. Sized by ``keep_ratio`` of the non-loop edges (default 0.5), an exact ``budget`` of
    them or a ``density`` (kept edges per node), as the pruner; ``edge_sparsity`` is the
    deprecated ``1 - keep_ratio``. The repr shows the parameters,
    so a PyG dataset built with another ``pre_transform`` is noticed.

    Examples
    --------
    >>> from torch_geometric.datasets import KarateClub
    >>> data = TeddyTransform(budget=30)(KarateClub()[0])
    >>> data.edge_index.shape[1], int(data.edge_mask.sum())
    (60, 60)
    >>> TeddyTransform(keep_ratio=0.25)
    TeddyTransform(keep_ratio=0.25)
    """

    def __init__(self, *, keep_ratio: float | None = None, budget: int | None = None,
                 density: float | None = None, add_self_loops: bool = False,
                 edge_sparsity: float | None = None) -> None:
        self.keep_ratio = sizing_from_edge_sparsity(keep_ratio, edge_sparsity,
                                                     type(self).__name__, budget=budget,
                                                     density=density)
        self.budget, self.density = budget, density
        validate_params({"add_self_loops": add_self_loops}, TeddyPruner._parameter_constraints)
        self.add_self_loops = add_self_loops  # (checked here: the repr recorded "no" as True)
        if self.keep_ratio is None and budget is None and density is None:
            self.keep_ratio = 0.5
        exactly_one(keep_ratio=self.keep_ratio, budget=budget, density=density)
        validate_params({"keep_ratio": self.keep_ratio, "budget": budget, "density": density},
                        SIZING_CONSTRAINTS)

    def __repr__(self) -> str:
        size = (f"budget={self.budget!r}" if self.budget is not None
                else f"density={self.density!r}" if self.density is not None
                else f"keep_ratio={self.keep_ratio!r}")
        loops = ", add_self_loops=True" if self.add_self_loops else ""
        return f"{type(self).__name__}({size}{loops})"

    def forward(self, data: Any) -> Any:
        if isinstance(data, Batch):  # (its per-graph edge offsets went stale: to_data_list failed)
            raise InvalidParameterError(
                f"{type(self).__name__} takes one graph, not a Batch of {data.num_graphs}: it "
                "would prune them to one size together; give it to the dataset "
                "(transform= or pre_transform=) so that each graph is pruned before batching")
        if ("edge_mask" in data and is_column_attribute(data, "edge_mask",
                                                        data.edge_index.shape[1])
                and not (data.edge_mask.dtype == torch.bool and bool(data.edge_mask.all()))):
            # one per column: a user's own (this transform's is one per column of its input,
            # which the pruned graph has fewer of, or all true where it kept every column:
            # replacing that loses nothing), cut and then replaced: said, not silent
            warnings.warn(f"{type(self).__name__} replaces the data's edge_mask (one value per "
                          "edge_index column) with the input columns it keeps; rename yours to "
                          "keep it (data.my_mask = data.edge_mask; del data.edge_mask)",
                          UserWarning, stacklevel=3)  # (forward, BaseTransform's __call__)
        edges = unweighted_structure(data)  # (its errors name a missing or misshapen edge_index)
        if not isinstance(data.edge_index, torch.Tensor):  # (AttributeError: no .cpu())
            raise InvalidParameterError(
                f"{type(self).__name__} needs data.edge_index as a torch tensor, as PyG keeps it, "
                f"got {type(data.edge_index).__name__}: torch.as_tensor(data.edge_index)")
        with warnings.catch_warnings():  # a density above a small graph's own, graph by graph: a
            warnings.simplefilter("ignore", DensityCapWarning)  # flood, each message different
            pruner = TeddyPruner(keep_ratio=self.keep_ratio, budget=self.budget,
                                 density=self.density, add_self_loops=self.add_self_loops).fit(edges)
        ei = data.edge_index.cpu().numpy()
        keep = torch.from_numpy(pruner.mask_[edges.find_items(ei[0], ei[1])])  # every column an item
        out = keep_edge_columns(data, keep)
        out.edge_mask = keep
        return out
