"""ogb molecule datasets for GTSP: the graphs with their random-walk encoding, the official
(scaffold) split, and ``ogb.graphproppred.Evaluator`` as the metric."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from sparsebox._validation import described
from sparsebox.exceptions import InvalidParameterError

__all__ = ["MoleculeTask", "check_molecules", "load_molecules", "molecule_datasets"]


def molecule_datasets() -> list[str]:
    """The ogb graph-property datasets the catalogue knows (``ogbg-*``)."""
    from sparsebox.data.sources import catalogue

    return sorted(name for name, info in catalogue().items() if info.kind == "ogbg")


@dataclass
class MoleculeTask:
    """A graph-property task ready to train on.

    Attributes
    ----------
    name : str
        The ogb name (``ogbg-molbace``).
    train, valid, test : list of Data
        The split's graphs, each with ``random_walk_pe``.
    num_tasks : int
        Outputs per graph.
    task_type : str
        ogb's ``task_type`` ("binary classification" or "regression").
    metric_name : str
        The evaluator's metric (``rocauc``, ``ap``, ``rmse``...).
    """

    name: str
    train: list
    valid: list
    test: list
    num_tasks: int
    task_type: str
    metric_name: str

    @property
    def classification(self) -> bool:
        return "classification" in self.task_type

    @property
    def higher_is_better(self) -> bool:
        return self.metric_name not in ("rmse", "mae")

    def loss(self, pred: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Binary cross-entropy (classification) or mean squared error (regression) over the
        labelled entries (ogb marks missing labels as NaN); 0 for a batch with none (the mean
        of nothing is NaN, which would spoil every weight at the next step)."""
        y = y.view(pred.shape).to(pred.dtype)
        labelled = ~torch.isnan(y)
        if not bool(labelled.any()):
            return pred.sum() * 0.0
        if self.classification:
            return F.binary_cross_entropy_with_logits(pred[labelled], y[labelled])
        return F.mse_loss(pred[labelled], y[labelled])

    def score(self, y_true: torch.Tensor, y_pred: torch.Tensor) -> float:
        """The evaluator's metric of predictions (logits for classification: ROC-AUC and AP
        depend only on their order). NaN where a prediction is not finite (a diverged model:
        the evaluator's ROC-AUC refuses NaN, its RMSE would be NaN or infinite)."""
        from ogb.graphproppred import Evaluator

        if not bool(torch.isfinite(y_pred).all()):
            return float("nan")
        evaluator = Evaluator(self.name)
        result = evaluator.eval({"y_true": y_true.view(-1, self.num_tasks).numpy(),
                                 "y_pred": y_pred.view(-1, self.num_tasks).numpy()})
        return float(result[self.metric_name])


def _with_random_walk_pe(graphs: Any, walk_length: int) -> list:
    from torch_geometric.transforms import AddRandomWalkPE

    transform = AddRandomWalkPE(walk_length=walk_length, attr_name="random_walk_pe")
    out = []
    for g in graphs:
        g = transform(g.clone())
        if g.y is not None:
            g.y = g.y.to(torch.float32)
        out.append(g)
    return out


def one_by_one(graphs: Any) -> list:
    """The graphs one by one, of a list of ``Data``, a PyG ``Batch`` (its graphs, not their
    union), one ``Data`` (not iterated: its iteration gives ``(key, value)`` pairs) or batches
    (a ``DataLoader``). A batch made by hand (``Batch(x=..., edge_index=..., batch=...)``, or a
    ``Data`` with a ``batch`` vector) is split by its ``batch`` vector, as is one that was given
    fields after ``Batch.from_data_list`` (which ``to_data_list`` would leave out).

    Examples
    --------
    >>> import torch
    >>> from torch_geometric.data import Batch, Data
    >>> g = Data(edge_index=torch.tensor([[0, 1], [1, 0]]), num_nodes=2)
    >>> [h.num_nodes for h in one_by_one([Batch.from_data_list([g, g]), g])]
    [2, 2, 2]
    >>> hand = Batch(x=torch.zeros(5, 1), edge_index=torch.tensor([[3, 4], [4, 3]]),
    ...              batch=torch.tensor([0, 0, 0, 1, 1]))
    >>> [(h.num_nodes, h.edge_index.tolist()) for h in one_by_one(hand)]
    [(3, [[], []]), (2, [[0, 1], [1, 0]])]
    """
    from torch_geometric.data import Batch
    from torch_geometric.data.data import BaseData

    out = []
    for g in [graphs] if isinstance(graphs, BaseData) else graphs:
        if isinstance(g, Batch) and _collated_whole(g):
            out += g.to_data_list()
        elif isinstance(g, BaseData) and getattr(g, "batch", None) is not None:
            out += _split_by_batch(g)
        else:
            out.append(g)
    return out


def _collated_whole(batch: Any) -> bool:
    """Whether ``batch`` came from ``Batch.from_data_list`` and was given no field since
    (``num_nodes``, which ogb's graphs state, is kept apart from the slices)."""
    slices = getattr(batch, "_slice_dict", None)
    return slices is not None and all(k in slices for k in batch.keys()
                                      if k not in ("batch", "ptr", "num_nodes"))


def _split_by_batch(batch: Any) -> list:
    """The graphs of a batch that ``to_data_list`` cannot take apart, by its ``batch`` vector:
    node fields by node, ``edge_index`` (renumbered in each graph) and edge fields by edge, a
    tensor with one row per graph by graph, anything else as it is."""
    from torch_geometric.data import Data

    vector = batch.batch
    if not torch.is_tensor(vector) or vector.dim() != 1 or vector.is_floating_point():
        raise InvalidParameterError(f"batch must be a 1-D integer tensor (the graph of each node), "
                                    f"got {getattr(vector, 'shape', type(vector))}")
    num_nodes = int(batch.num_nodes)
    if vector.numel() != num_nodes:
        raise InvalidParameterError(f"batch must name the graph of each of the {num_nodes} "
                                    f"nodes, got {vector.numel()} entries")
    if num_nodes and int(vector.min()) < 0:
        raise InvalidParameterError(f"batch must hold graph numbers >= 0, got {int(vector.min())}")
    num_graphs = int(vector.max()) + 1 if num_nodes else 0
    counts = torch.bincount(vector, minlength=num_graphs)
    nodes = torch.argsort(vector, stable=True)
    local = torch.empty_like(vector)
    local[nodes] = torch.arange(num_nodes, device=vector.device) - (counts.cumsum(0) - counts)[vector[nodes]]
    edge_index = getattr(batch, "edge_index", None)
    edge_graph = None
    if edge_index is not None:
        edge_graph = vector[edge_index[0]]
        across = edge_graph != vector[edge_index[1]]
        if bool(across.any()):
            e = int(torch.nonzero(across)[0, 0])
            raise InvalidParameterError(
                f"edge_index joins graphs of the batch: edge {e} runs from node "
                f"{int(edge_index[0, e])} of graph {int(edge_graph[e])} to node "
                f"{int(edge_index[1, e])} of graph {int(vector[edge_index[1, e]])}")
        edges = torch.argsort(edge_graph, stable=True)
        edges = edges.split(torch.bincount(edge_graph, minlength=num_graphs).tolist())
    nodes = nodes.split(counts.tolist())
    out = []
    for i in range(num_graphs):
        g = Data()
        for key, value in batch:
            if key in ("batch", "ptr"):
                continue
            if key == "edge_index":
                g.edge_index = local[value[:, edges[i]]]
            elif not torch.is_tensor(value) or value.dim() == 0:
                g[key] = value
            elif batch.is_node_attr(key) and batch.__cat_dim__(key, value) == 0:
                g[key] = value[nodes[i]]
            elif (edge_graph is not None and batch.is_edge_attr(key)
                  and batch.__cat_dim__(key, value) == 0):
                g[key] = value[edges[i]]
            elif value.shape[0] == num_graphs:
                g[key] = value[i:i + 1]
            else:
                g[key] = value
        g.num_nodes = int(counts[i])
        out.append(g)
    return out


def check_molecules(graphs: list[Any]) -> None:
    """Refuse, naming the graph and the field, what the GTSP model cannot read: every graph must be
    a PyG ``Data`` with an integer ``edge_index`` of shape ``[2, E]``, ogb's atom features ``x``
    (integers, one column per :func:`ogb.utils.features.get_atom_feature_dims` entry, each within
    its vocabulary), ogb's bond features ``edge_attr`` (likewise, one row per edge) and labels
    ``y``, as many for every graph.

    Examples
    --------
    >>> from torch_geometric.data import Data
    >>> ring = torch.tensor([[0, 1, 2, 1, 2, 0], [1, 2, 0, 0, 1, 2]])
    >>> good = Data(x=torch.zeros(3, 9, dtype=torch.long), edge_index=ring,
    ...             edge_attr=torch.zeros(6, 3, dtype=torch.long), y=torch.tensor([[1.0]]))
    >>> check_molecules([good, good])
    >>> try:
    ...     check_molecules([good, Data(x=good.x.float(), edge_index=ring, y=good.y)])
    ... except InvalidParameterError as err:
    ...     print(err)
    graph 1: x must hold ogb's atom features as integers, got float32 of shape [3, 9]
    """
    from ogb.utils.features import get_atom_feature_dims, get_bond_feature_dims

    if not graphs:
        raise InvalidParameterError(_MOLECULES)
    for i, g in enumerate(graphs):
        if getattr(g, "edge_index", None) is None or not hasattr(g, "num_nodes"):
            raise InvalidParameterError(f"{_MOLECULES}; graph {i} is a {type(g).__name__}")
        _check_edge_index(i, g.edge_index)
        if int(g.num_nodes) == 0:  # in a batch with a one-atom molecule: torch's batch norm error
            raise InvalidParameterError(f"graph {i} has no atoms (num_nodes 0): a molecule needs "
                                        "at least one")
        _check_categorical(i, g, "x", "atom", get_atom_feature_dims(), int(g.num_nodes))
        _check_edge_nodes(i, g.edge_index, int(g.num_nodes))
        _check_categorical(i, g, "edge_attr", "bond", get_bond_feature_dims(),
                           int(g.edge_index.shape[1]))
        _check_labels(i, g, graphs[0])


_MOLECULES = ("graphs must be a non-empty sequence of PyG Data graphs with edge_index, x "
              "(ogb atom features), edge_attr (ogb bond features) and y (a graph-level task)")


def _check_edge_index(i: int, edge_index: Any) -> None:
    """``edge_index`` must be an integer tensor of shape ``[2, E]``."""
    if (not torch.is_tensor(edge_index) or edge_index.is_floating_point()
            or edge_index.dtype == torch.bool or edge_index.dim() != 2
            or edge_index.shape[0] != 2):
        raise InvalidParameterError(f"graph {i}: edge_index must be an integer tensor of shape "
                                    f"[2, E], got {described(edge_index)}")


def _check_edge_nodes(i: int, edge_index: Any, num_nodes: int) -> None:
    """``edge_index`` must name nodes ``0 .. num_nodes - 1``."""
    outside = (edge_index < 0) | (edge_index >= num_nodes)
    if bool(outside.any()):
        node = int(edge_index[outside][0])
        raise InvalidParameterError(f"graph {i}: edge_index must name nodes 0 .. "
                                    f"{num_nodes - 1}, got {node}")


def _check_categorical(i: int, g: Any, name: str, kind: str, vocabulary: list[int],
                       rows: int) -> None:
    """``g[name]`` must be ``rows`` rows of ogb's ``kind`` features: integer codes, one column per
    entry of ``vocabulary``, each below its entry."""
    value = getattr(g, name, None)
    needs = f"ogb's {kind} features, an integer tensor of shape [{rows}, {len(vocabulary)}]"
    if value is None:
        raise InvalidParameterError(f"graph {i} has no {name} ({needs})")
    if not torch.is_tensor(value) or value.is_floating_point() or value.dtype == torch.bool:
        raise InvalidParameterError(f"graph {i}: {name} must hold ogb's {kind} features as "
                                    f"integers, got {described(value)}")
    if tuple(value.shape) != (rows, len(vocabulary)):
        raise InvalidParameterError(f"graph {i}: {name} must be {needs}, got shape "
                                    f"{list(value.shape)}")
    bad = (value < 0) | (value >= torch.tensor(vocabulary))
    if bool(bad.any()):
        row, col = (int(k) for k in bad.nonzero()[0])
        raise InvalidParameterError(
            f"graph {i}: {name}[{row}, {col}] is {int(value[row, col])}, outside ogb's {kind} "
            f"feature {col} (0 .. {vocabulary[col] - 1})")


def _check_labels(i: int, g: Any, first: Any) -> None:
    """``g.y`` must be numbers, as many as the first graph's."""
    y = getattr(g, "y", None)
    if y is None:
        raise InvalidParameterError(f"graph {i} has no y (its labels, a graph-level task)")
    if not torch.is_tensor(y) or y.dtype == torch.bool or y.is_complex():
        raise InvalidParameterError(f"graph {i}: y must be a tensor of numbers, got "
                                    f"{described(y)}")
    if y.numel() == 0:  # "all missing (NaN)" later, of labels that are not there
        raise InvalidParameterError(f"graph {i}: y holds no labels (shape {list(y.shape)}); a "
                                    "graph-level task needs at least one")
    infinite = torch.isinf(y)
    if bool(infinite.any()):
        raise InvalidParameterError(f"graph {i}: y holds {float(y[infinite][0]):g}; labels must be "
                                    "finite numbers (NaN marks a missing one)")
    if y.numel() != first.y.numel():
        raise InvalidParameterError(f"graph {i}: y has {y.numel()} labels, graph 0 has "
                                    f"{first.y.numel()}; every graph needs the same tasks")


def _take(idx: Any, share: int) -> np.ndarray:
    """``share`` entries of ``idx`` evenly spaced through it (the first and the last
    included)."""
    idx = np.asarray(idx)
    if share >= idx.size:
        return idx
    return idx[np.unique(np.linspace(0, idx.size - 1, share).round().astype(np.int64))]


def _subset(parts: dict[str, Any], max_graphs: int) -> dict[str, np.ndarray]:
    """About ``max_graphs`` graphs of the split ``parts``, evenly spaced through each part in
    proportion to its size (:func:`load_molecules`)."""
    total = sum(len(v) for v in parts.values())
    return {k: _take(v, max(1, round(max_graphs * len(v) / total))) for k, v in parts.items()}


def _fewest_graphs(dataset: Any, parts: dict[str, Any], start: int) -> int | None:
    """The smallest ``max_graphs`` above ``start`` whose valid and test parts each hold a task
    with both labels (None where even the whole split does not): for the error that names it
    (a subset is no part of a larger one, so a larger count may lack them again). Reads each
    graph it tries once."""
    read: dict[int, Any] = {}

    def graph(i: Any) -> Any:
        return read[int(i)] if int(i) in read else read.setdefault(int(i), dataset[int(i)])

    if not all(_has_both_labels([graph(i) for i in parts[k]]) for k in ("valid", "test")):
        return None
    total = sum(len(v) for v in parts.values())
    for count in range(start + 1, total + 1):
        taken = _subset(parts, count)
        if all(_has_both_labels([graph(i) for i in taken[k]]) for k in ("valid", "test")):
            return count
    return None


def _has_both_labels(graphs: list[Any]) -> bool:
    """Whether some task (column of ``y``) has a 0 and a 1 among the labelled graphs."""
    import torch

    y = torch.cat([g.y.reshape(1, -1) for g in graphs]).float()
    labelled = ~torch.isnan(y)
    return bool(((y == 1) & labelled).any(0).logical_and(((y == 0) & labelled).any(0)).any())


def load_molecules(name: str, root: str | os.PathLike[str] | None = None, *,
                   walk_length: int = 16, max_graphs: int | None = None,
                   download: bool = True) -> MoleculeTask:
    """An ogb graph-property dataset (``ogbg-molbace``, ``ogbg-molbbbp``, ``ogbg-molesol``,
    ``ogbg-molhiv``, ``ogbg-molpcba``...) from ``<data root>/ogb/<name_>`` through
    :func:`graphsparse.datasets.load_ogbg`, with a ``walk_length``-step random-walk structural
    encoding on every graph and the official split.

    ``max_graphs`` keeps graphs evenly spaced through each part of the split, in proportion to
    the part's size, about ``max_graphs`` in all (quick runs and tests).
    """
    from graphsparse.datasets import load_ogbg
    from sparsebox._validation import check_int

    walk_length = check_int("walk_length", walk_length, minimum=1)
    if max_graphs is not None:
        max_graphs = check_int("max_graphs", max_graphs, minimum=3)
    dataset = load_ogbg(name, root, download=download)
    split = dataset.get_idx_split()
    parts = {"train": split["train"], "valid": split["valid"], "test": split["test"]}
    whole = parts
    if max_graphs is not None:
        parts = _subset(whole, max_graphs)
    graphs = {k: _with_random_walk_pe((dataset[int(i)] for i in v), walk_length)
              for k, v in parts.items()}
    metric = {"rocauc": "ROC-AUC", "ap": "average precision"}.get(str(dataset.eval_metric))
    if metric is not None:  # the evaluator scores only the tasks with both labels, and fails
        for part in ("valid", "test"):  # where there is none
            if not _has_both_labels(graphs[part]):
                fewest = None if max_graphs is None else _fewest_graphs(dataset, whole,
                                                                        max_graphs)
                if fewest is None:  # the split as the dataset gives it
                    raise InvalidParameterError(
                        f"the {part} split of {dataset.name} has no task with both labels, "
                        f"which {metric} needs")
                raise InvalidParameterError(
                    f"max_graphs {max_graphs} leaves the {part} split of {dataset.name} without "
                    f"a task that has both labels, which {metric} needs; {fewest} is the fewest "
                    "that gives both")
    return MoleculeTask(dataset.name, graphs["train"], graphs["valid"], graphs["test"],
                        int(dataset.num_tasks), str(dataset.task_type), str(dataset.eval_metric))
