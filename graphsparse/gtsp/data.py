"""ogb molecule datasets for GTSP: the graphs with their random-walk encoding, the official
(scaffold) split, and ``ogb.graphproppred.Evaluator`` as the metric."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from sparsebox.exceptions import InvalidParameterError

__all__ = ["MoleculeTask", "load_molecules", "molecule_datasets"]


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
        labelled entries (ogb marks missing labels as NaN)."""
        y = y.view(pred.shape).to(pred.dtype)
        labelled = ~torch.isnan(y)
        if self.classification:
            return F.binary_cross_entropy_with_logits(pred[labelled], y[labelled])
        return F.mse_loss(pred[labelled], y[labelled])

    def score(self, y_true: torch.Tensor, y_pred: torch.Tensor) -> float:
        """The evaluator's metric of predictions (logits for classification: ROC-AUC and AP
        depend only on their order)."""
        from ogb.graphproppred import Evaluator

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


def _take(idx: Any, share: int) -> np.ndarray:
    """``share`` entries of ``idx`` evenly spaced through it (the first and the last
    included)."""
    idx = np.asarray(idx)
    if share >= idx.size:
        return idx
    return idx[np.unique(np.linspace(0, idx.size - 1, share).round().astype(np.int64))]


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

    if max_graphs is not None and max_graphs < 3:
        raise InvalidParameterError(f"max_graphs must be >= 3, got {max_graphs}")
    dataset = load_ogbg(name, root, download=download)
    split = dataset.get_idx_split()
    parts = {"train": split["train"], "valid": split["valid"], "test": split["test"]}
    if max_graphs is not None:
        total = sum(len(v) for v in parts.values())
        parts = {k: _take(v, max(1, round(max_graphs * len(v) / total))) for k, v in parts.items()}
    graphs = {k: _with_random_walk_pe((dataset[int(i)] for i in v), walk_length)
              for k, v in parts.items()}
    if str(dataset.eval_metric) == "rocauc":
        for part in ("valid", "test"):
            if not _has_both_labels(graphs[part]):
                raise InvalidParameterError(
                    f"max_graphs {max_graphs} leaves the {part} split of {dataset.name} without "
                    "a task that has both labels, which ROC-AUC needs; use more graphs")
    return MoleculeTask(dataset.name, graphs["train"], graphs["valid"], graphs["test"],
                        int(dataset.num_tasks), str(dataset.task_type), str(dataset.eval_metric))
