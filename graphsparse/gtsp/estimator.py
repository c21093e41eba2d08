"""GTSP's token axis as an estimator (the method contract): which atoms of each molecule the
trained graph transformer lets into its attention."""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import torch

from sparsebox._validation import SEED, Interval, Options
from sparsebox.base import Sparsifier, values_digest, with_gradients
from sparsebox.exceptions import InvalidParameterError
from sparsebox.seeding import seeded_generator, seeded_torch

__all__ = ["GtspTokenPruner"]


class GtspTokenPruner(Sparsifier):
    """Learned token selection of GTSP (Liu et al., "Exploring Sparsity in Graph Transformers",
    Neural Networks 2024) on a list of molecules.

    ``fit`` trains a :class:`~graphsparse.gtsp.model.GTSPModel` with the token axis at
    ``keep_ratio`` on the graphs' labels (AdamW, ``epochs`` passes, batches of ``batch_size``);
    the first layer's scorer then rates every atom, and each molecule keeps its
    ``ceil(keep_ratio n_g)`` best. The items are the nodes of all graphs, in order; ``transform``
    returns each graph restricted to its kept tokens. Every graph needs ogb's integer atom
    features ``x`` and bond features ``edge_attr``, an ``edge_index`` and labels ``y`` (``fit``'s
    own ``y`` is ignored, as the method contract has it: labels are read from each graph)
    (:func:`~graphsparse.gtsp.data.check_molecules`; a missing or malformed field is an
    ``InvalidParameterError`` naming the graph and the field). For the full protocol (heads, layers,
    weights, FLOPs, timing) use :mod:`graphsparse.gtsp.protocol` or `sparsebox graph gtsp`.

    Parameters
    ----------
    keep_ratio : float in (0, 1], default 0.5
        Fraction of each graph's tokens kept.
    task_type : {"binary classification", "regression"}
        How ``y`` is learned (binary cross-entropy on labels 0 and 1, or squared error; NaN
        labels are skipped).
    epochs, batch_size : int
    lr : float
    hidden, num_layers, heads : int
        The transformer's size.
    seed : int

    Attributes
    ----------
    scores_ : ndarray of float
        The first layer's token score of every node (all 1 at ``keep_ratio=1``, where every
        token is kept and the model has no scorer).
    mask_ : ndarray of bool
        The tokens kept (exactly ``ceil(keep_ratio n_g)`` per graph).
    model_ : GTSPModel
        The trained model (all its layers select their own tokens).

    Examples
    --------
    >>> from torch_geometric.data import Data
    >>> def molecule(n, label):
    ...     ring = torch.arange(n)
    ...     edges = torch.stack([torch.cat([ring, (ring + 1) % n]), torch.cat([(ring + 1) % n, ring])])
    ...     return Data(x=torch.zeros(n, 9, dtype=torch.long), edge_index=edges,
    ...                 edge_attr=torch.zeros(2 * n, 3, dtype=torch.long), y=torch.tensor([[label]]))
    >>> graphs = [molecule(n, n % 2) for n in (4, 5, 6, 7)]
    >>> pruner = GtspTokenPruner(keep_ratio=0.5, epochs=1, hidden=8, num_layers=1, heads=2)
    >>> int(pruner.fit(graphs).mask_.sum()), [g.num_nodes for g in pruner.transform(graphs)]
    (12, [2, 3, 3, 4])
    """

    item = "token"
    sizing = ("keep_ratio",)
    default_size = ("keep_ratio", 0.5)
    _parameter_constraints = {
        "task_type": [Options(("binary classification", "regression"))],
        "epochs": [Interval(numbers.Integral, 1, None, closed="left")],
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "lr": [Interval(numbers.Real, 0, None, closed="neither")],
        "hidden": [Interval(numbers.Integral, 1, None, closed="left")],
        "num_layers": [Interval(numbers.Integral, 1, None, closed="left")],
        "heads": [Interval(numbers.Integral, 1, None, closed="left")],
        "seed": SEED,
    }

    def __init__(self, *, keep_ratio: float | None = None,
                 task_type: str = "binary classification", epochs: int = 10,
                 batch_size: int = 128, lr: float = 1e-3, hidden: int = 64, num_layers: int = 4,
                 heads: int = 4, seed: int = 0) -> None:
        self.keep_ratio = keep_ratio
        self.task_type = task_type
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.hidden = hidden
        self.num_layers = num_layers
        self.heads = heads
        self.seed = seed

    @with_gradients
    def fit(self, graphs: Sequence[Any], y: Any = None) -> GtspTokenPruner:
        from torch_geometric.data import Batch, Data
        from torch_geometric.loader import DataLoader

        from graphsparse.gtsp.data import MoleculeTask, _with_random_walk_pe, check_molecules
        from graphsparse.gtsp.model import GTSPModel
        from graphsparse.gtsp.tokens import top_k_per_graph
        from graphsparse.gtsp.train import check_lone_atoms, drops_lone_graph, torch_threads

        self._validate_params()
        (_, keep_ratio), = self._sizing_in_use().items()
        graphs = _graph_list(graphs)
        check_molecules(graphs)  # names the graph and the field the model could not read
        if self.task_type == "binary classification":
            _check_binary_labels(graphs)
        if all(bool(torch.isnan(g.y.double()).all()) for g in graphs):
            raise InvalidParameterError("the graphs' labels y are all missing (NaN): the "
                                        "scorer learns from the task's loss, so it needs labels")
        check_lone_atoms(graphs, self.batch_size)
        # only the fields the model reads: graphs that differ in others (a hand-made graph
        # beside ogb's, which store num_nodes; an attribute only some have) collate together;
        # an edge_weight is dropped too, so the random-walk encoding is of the unweighted graph,
        # as for ogb's molecules
        prepared = _with_random_walk_pe(
            (Data(x=g.x, edge_index=g.edge_index, edge_attr=g.edge_attr, y=g.y.reshape(1, -1),
                  num_nodes=int(g.num_nodes)) for g in graphs), 16)
        num_tasks = int(prepared[0].y.numel())
        task = MoleculeTask("", prepared, [], [], num_tasks, self.task_type, "")
        # the model's initial weights and the Gumbel noise come from the seed; the caller's
        # global random state is left as it was
        with seeded_torch(self.seed):
            model = GTSPModel(num_tasks, hidden=self.hidden, num_layers=self.num_layers,
                              heads=self.heads, token_keep_ratio=keep_ratio)
            optimizer = torch.optim.AdamW(model.network_parameters(), lr=self.lr)
            loader = DataLoader(prepared, batch_size=self.batch_size, shuffle=True,
                                generator=seeded_generator(self.seed),
                                drop_last=drops_lone_graph(len(prepared), self.batch_size))
            model.train()
            with torch_threads(1):
                for _ in range(self.epochs):
                    for batch in loader:
                        optimizer.zero_grad(set_to_none=True)
                        task.loss(model(batch), batch.y).backward()
                        optimizer.step()
        model.eval()
        batch = Batch.from_data_list(prepared)
        with torch.no_grad():
            x, _ = model.encode(batch)
            scorer = model.layers[0].scorer
            scores = torch.ones(x.shape[0]) if scorer is None else scorer(x).squeeze(-1)
            bad = int((~torch.isfinite(scores)).sum())
            if bad:  # (as scikit-learn's MLP refuses non-finite weights) the mask was arbitrary
                raise InvalidParameterError(
                    f"training diverged: {bad} of the {scores.numel()} token scores are not "
                    f"finite; give a smaller lr (got {self.lr:g})", params=("lr",))
            keep = top_k_per_graph(scores, batch.batch, batch.num_graphs, keep_ratio)
        self.model_ = model
        self.scores_ = scores.numpy().astype(np.float64)
        self.mask_ = keep.numpy()
        self._graph_sizes = [int(g.num_nodes) for g in graphs]
        self._graph_digests = [_graph_digest(g) for g in graphs]
        return self

    def transform(self, graphs: Iterable[Any]) -> list:
        """Each graph restricted to its kept tokens (``graphs``: those ``fit`` saw, in order)."""
        self._check_fitted()  # before the graphs are read (a generator is read once)
        return super().transform(_graph_list(graphs))

    def fit_transform(self, graphs: Iterable[Any], y: Any = None) -> list:
        graphs = _graph_list(graphs)
        return self.fit(graphs, y).transform(graphs)

    def _num_items(self, graphs: Sequence[Any]) -> int:
        return sum(int(g.num_nodes) for g in _graph_list(graphs))

    def _other_than_fitted(self, graphs: Sequence[Any], n: int) -> str | None:
        """Why ``graphs``, of as many nodes in all as ``fit`` saw, are not the graphs it saw, in
        its order (the masks would fall on other nodes): another node count per graph, or
        other atoms, bonds or bond features (of a fit before digests were kept: sizes only)."""
        graphs = _graph_list(graphs)
        sizes = [int(g.num_nodes) for g in graphs]
        fitted = getattr(self, "_graph_sizes", sizes)
        if sizes != fitted:
            i = next((i for i, (a, b) in enumerate(zip(sizes, fitted, strict=False)) if a != b), None)
            got = (f"{len(sizes)} graphs, fit had {len(fitted)}" if i is None else
                   f"graph {i} has {sizes[i]} nodes, fit's had {fitted[i]}")
            return f"transform needs the graphs fit saw, in its order: {got}"
        digests = getattr(self, "_graph_digests", None)
        if digests is not None:
            i = next((i for i, g in enumerate(graphs) if _graph_digest(g) != digests[i]), None)
            if i is not None:
                return (f"transform needs the graphs fit saw, in its order: graph {i} has as many "
                        "nodes as fit's but other atoms, bonds or bond features; call fit on them")
        return None

    def _apply(self, graphs: Sequence[Any]) -> list:
        graphs = _graph_list(graphs)
        out, start = [], 0
        for g in graphs:
            keep = torch.from_numpy(self.mask_[start:start + g.num_nodes])
            out.append(g.subgraph(keep))
            start += g.num_nodes
        return out


def _check_binary_labels(graphs: Sequence[Any]) -> None:
    """Binary cross-entropy reads any number as a probability: refuse, naming the graph, a label
    that is neither 0, 1 nor NaN (missing)."""
    for i, g in enumerate(graphs):
        y = g.y.reshape(-1).double()
        bad = ~(torch.isnan(y) | (y == 0) | (y == 1))
        if bool(bad.any()):
            raise InvalidParameterError(
                f"graph {i}: y holds {float(y[bad][0]):g}; task_type 'binary classification' "
                "needs labels 0 or 1 (NaN: missing); for values use task_type='regression'")


def _graph_list(graphs: Any) -> list:
    """``graphs`` as a list; one PyG graph (iterable too, as its ``(key, value)`` pairs) is
    refused, naming what to pass, and so are items that are no graph and batches among the
    graphs (a ``DataLoader``'s: each was taken for one graph)."""
    from torch_geometric.data import Batch
    from torch_geometric.data.data import BaseData

    if isinstance(graphs, BaseData):
        raise InvalidParameterError(f"graphs must be a list of graphs, got one "
                                    f"{type(graphs).__name__}: pass [graph] (or a Batch's "
                                    "to_data_list())")
    graphs = list(graphs) if isinstance(graphs, Iterable) else []
    for i, g in enumerate(graphs):
        if not isinstance(g, BaseData):
            raise InvalidParameterError(f"graphs must be a list of PyG Data graphs, got "
                                        f"{type(g).__name__} at {i}")
        if isinstance(g, Batch):
            raise InvalidParameterError(
                f"graphs must be a list of graphs, got a {type(g).__name__} of {g.num_graphs} "
                f"graphs at {i} (a DataLoader's batches?): pass the dataset or the graphs "
                "themselves (a Batch's to_data_list())")
    return graphs


def _graph_digest(graph: Any) -> bytes:
    """A digest of what the model reads of a molecule: its atoms, bonds and bond features."""
    fields = (getattr(graph, name, None) for name in ("x", "edge_index", "edge_attr"))
    return values_digest(v for v in fields if v is not None)
