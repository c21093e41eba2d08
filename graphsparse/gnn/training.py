"""Training a node classifier: best-validation test score, weights projected onto the l0 ball or
held by fixed masks, and distillation from a teacher (TEDDY's recipe)."""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from graphsparse.gnn.models import check_edge_index, model_inputs, prunable_weights
from sparsebox._validation import check_fraction, check_int, check_real
from sparsebox.base import with_gradients
from sparsebox.exceptions import InvalidParameterError
from sparsebox.masks import l0_project_
from sparsebox.select import budget_from_keep_ratio

__all__ = ["TrainResult", "Scorer", "accuracy", "ogb_node_scorer", "train_node_classifier",
           "distillation_loss", "check_node_task", "check_weight_keep_ratio", "DISTILL_LAMBDA"]

#: TEDDY's distillation weight unless told otherwise (the paper code's default).
DISTILL_LAMBDA = 0.1


@dataclass
class TrainResult:
    val_acc: float
    test_acc: float
    seconds: float
    weight_keep: float
    logits: torch.Tensor


Scorer = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], float]


def accuracy(logits: torch.Tensor, y: torch.Tensor, mask: torch.Tensor) -> float:
    """The fraction of the nodes in ``mask`` whose arg-max logit is their label.

    Examples
    --------
    >>> logits = torch.tensor([[2.0, 0.0], [0.0, 1.0], [3.0, 1.0]])
    >>> accuracy(logits, torch.tensor([0, 0, 0]), torch.tensor([True, True, False]))
    0.5
    """
    return float((logits[mask].argmax(1) == y[mask]).float().mean())


def ogb_node_scorer(name: str) -> Scorer:
    """A scorer ``(logits, y, mask) -> float`` that asks ``ogb.nodeproppred.Evaluator(name)``
    (its own metric: accuracy for ogbn-arxiv)."""
    from ogb.nodeproppred import Evaluator

    evaluator = Evaluator(name)

    def score(logits: torch.Tensor, y: torch.Tensor, mask: torch.Tensor) -> float:
        result = evaluator.eval({"y_true": y[mask].view(-1, 1),
                                 "y_pred": logits[mask].argmax(1, keepdim=True)})
        return float(result[evaluator.eval_metric])

    return score


@with_gradients
def train_node_classifier(model: nn.Module, data: Any, *, epochs: int = 200, lr: float = 0.01,
                          weight_decay: float = 5e-4, weight_keep_ratio: float | None = None,
                          weight_masks: list[torch.Tensor] | None = None,
                          teacher_logits: torch.Tensor | None = None,
                          distill_lambda: float = DISTILL_LAMBDA,
                          score: Scorer | None = None) -> TrainResult:
    """Train on ``data.train_mask``; the test accuracy is taken at the best validation epoch.

    With ``weight_keep_ratio`` the weights are projected onto the l0 ball after every step; with
    ``weight_masks`` (one boolean mask per :func:`prunable_weights` tensor) the same fixed entries
    are zeroed after every step, as a lottery ticket is retrained. With ``teacher_logits`` the loss
    adds ``distill_lambda * KL(teacher || student)`` over all nodes. ``score`` (default
    :func:`accuracy`) rates the validation and test nodes. ``data`` must hold a node
    classification task (:func:`check_node_task`). The models are unweighted: an
    ``edge_weight`` of ``data`` is not read (TEDDY's and UGS's models are the same).
    """
    score = score or accuracy
    epochs = check_int("epochs", epochs, minimum=1)
    distill_lambda = check_real("distill_lambda", distill_lambda, minimum=0)  # inf: a NaN loss
    check_node_task(data)
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    weights = prunable_weights(model)
    if weight_keep_ratio is not None and weight_masks is not None:
        raise ValueError("give weight_keep_ratio or weight_masks, not both")
    if weight_keep_ratio is not None:
        check_weight_keep_ratio(weight_keep_ratio, sum(w.numel() for w in weights))
    if weight_masks is not None:
        weight_masks = list(weight_masks)
        if [m.shape for m in weight_masks] != [w.shape for w in weights]:
            raise ValueError("weight_masks must match the shapes of prunable_weights(model): "
                             f"{[tuple(w.shape) for w in weights]}")
        if any(not torch.is_tensor(m) or m.dtype != torch.bool for m in weight_masks):
            raise ValueError("weight_masks must be boolean tensors (True: the weight is kept), "
                             f"got {[getattr(m, 'dtype', type(m).__name__) for m in weight_masks]}")
    if teacher_logits is not None and not (torch.is_tensor(teacher_logits) and teacher_logits.dim() == 2
                                           and teacher_logits.shape[0] == data.num_nodes):
        # (softmax over dim 1 failed on a vector with torch's 'Dimension out of range')
        shape = f" of shape {list(teacher_logits.shape)}" if hasattr(teacher_logits, "shape") else ""
        raise ValueError(f"teacher_logits must be a tensor of the model's output shape, [{data.num_nodes}, "
                         f"classes] (a row per node, a column per class), got a "
                         f"{type(teacher_logits).__name__}{shape}")

    @torch.no_grad()
    def sparsify_weights() -> None:
        if weight_keep_ratio is not None:
            l0_project_(weights, keep_ratio=weight_keep_ratio)
        for w, m in zip(weights, weight_masks or [], strict=False):
            w.masked_fill_(~m, 0.0)

    sparsify_weights()
    teacher = None if teacher_logits is None else F.softmax(teacher_logits, dim=1)
    # from -inf: a scorer below -1 (a negative loss) or NaN left no best epoch, the test score 0
    # and no logits, and TEDDY's students then trained with no teacher, silently
    best_val, best_test, best_logits = -math.inf, 0.0, None
    start = time.perf_counter()
    x, edges = model_inputs(model, data)
    train, val_nodes, test_nodes = (node_mask(data, k) for k in ("train_mask", "val_mask",
                                                                  "test_mask"))
    for epoch in range(epochs):
        model.train()
        opt.zero_grad()
        out = model(x, edges) if epoch else _first_output(model, x, edges, data,
                                                          (train, val_nodes, test_nodes))
        loss = F.cross_entropy(out[train], data.y[train].long())
        if teacher is not None:
            if teacher.shape != out.shape:
                raise ValueError(f"teacher_logits must have the shape of the model's output, "
                                 f"{list(out.shape)} (a row per node, a column per class), got "
                                 f"{list(teacher.shape)}")
            loss = loss + distill_lambda * distillation_loss(out, teacher)
        loss.backward()
        opt.step()
        sparsify_weights()
        model.eval()
        with torch.no_grad():
            out = model(x, edges)
        val = score(out, data.y, val_nodes)
        if best_logits is None or val > best_val or math.isnan(best_val):
            best_val, best_test, best_logits = val, score(out, data.y, test_nodes), out
    kept = sum(int(torch.count_nonzero(w)) for w in weights) / sum(w.numel() for w in weights)
    return TrainResult(best_val, best_test, time.perf_counter() - start, kept, best_logits)


def _first_output(model: nn.Module, x: Any, edges: Any, data: Any, nodes: tuple) -> torch.Tensor:
    """``model(x, edges)``, refused by name where the model is not made for ``data``: features
    of another width (torch's "mat1 and mat2 shapes cannot be multiplied"), or fewer outputs
    than ``data.y`` has classes on the ``nodes`` (masks or indices) scored (cross-entropy's
    "Target 2 is out of bounds")."""
    remake = ("make it for data, as model_factory(data, name) does: make_model(name, "
              "data.num_features, int(data.y.max()) + 1)")
    try:
        out = model(x, edges)
    except RuntimeError as err:
        # the first layer's "(nodes x features and in x out)": not a failure inside the model
        shapes = re.search(r"shapes cannot be multiplied \((\d+)x(\d+) and (\d+)x(\d+)\)",
                           str(err))
        if shapes is None or tuple(int(k) for k in shapes.groups()[:2]) != tuple(x.shape):
            raise
        raise InvalidParameterError(f"the model does not take data.x's {x.shape[-1]} features "
                                    f"per node ({err}); {remake}") from None
    classes = max(int(data.y[n].max()) for n in nodes) + 1
    if out.dim() != 2 or out.shape[0] != data.num_nodes or out.shape[1] < classes:
        raise InvalidParameterError(f"the model gives outputs of shape {list(out.shape)}, where "
                                    f"data needs [{data.num_nodes}, {classes}] (a row per node, a "
                                    f"column per class of data.y); {remake}")
    return out


def check_weight_keep_ratio(weight_keep_ratio: Any, num_weights: int) -> float:
    """``weight_keep_ratio`` as a float in (0, 1] that keeps at least one of ``num_weights``
    weights (one that keeps none leaves a model of constant outputs).

    Examples
    --------
    >>> check_weight_keep_ratio(0.5, 304)
    0.5
    >>> try:
    ...     check_weight_keep_ratio(1e-4, 304)
    ... except ValueError as err:
    ...     print(err)
    weight_keep_ratio 0.0001 keeps none of the 304 weights; give a larger one
    """
    ratio = check_fraction("weight_keep_ratio", weight_keep_ratio)
    if num_weights > 0 and budget_from_keep_ratio(ratio, num_weights) == 0:
        raise InvalidParameterError(f"weight_keep_ratio {ratio:g} keeps none of the {num_weights} "
                                    "weights; give a larger one")
    return ratio


def node_mask(data: Any, name: str) -> Any:
    """``data``'s mask ``name`` as training indexes with it: a uint8 mask (an old PyG or
    file-read layout, which torch still indexes with, but deprecated) as a boolean one; a
    boolean mask or an index of nodes as it is.

    Examples
    --------
    >>> from torch_geometric.data import Data
    >>> node_mask(Data(train_mask=torch.tensor([1, 0, 1], dtype=torch.uint8)), "train_mask")
    tensor([ True, False,  True])
    """
    mask = getattr(data, name)
    return mask.bool() if torch.is_tensor(mask) and mask.dtype == torch.uint8 else mask


def _check_finite_features(x: torch.Tensor) -> None:
    """Refuse NaN or infinite features, naming the first node that holds one (trained on, every
    logit was NaN: a chance-level result, or UGS's "scores must not contain NaN" after its
    first round). Sparse features (any layout) are read through their stored values."""
    if not (x.is_floating_point() or x.is_complex()):
        return
    if x.layout != torch.strided:
        x = x.to_sparse_coo().coalesce()
        bad = ~torch.isfinite(x.values())
        rows = x.indices()[0][bad.flatten(1).any(dim=1) if bad.dim() > 1 else bad]
    else:
        rows = torch.nonzero(~torch.isfinite(x).flatten(1).all(dim=1)
                             if x.dim() > 1 else ~torch.isfinite(x)).reshape(-1)
    if rows.numel():
        raise InvalidParameterError(
            f"data.x holds NaN or infinite features (node {int(rows.min())} is the first); fill "
            "or drop them before training")


def check_node_task(data: Any, masks: tuple[str, ...] = ("train_mask", "val_mask", "test_mask")
                    ) -> None:
    """Refuse what a node classifier cannot train on: anything but a PyG graph of a
    node-classification task, with edges among its nodes (:func:`check_edge_index`), a feature
    row and one integer class per node and, for each of ``masks``, one non-empty mask (or index)
    over the nodes, all of them with a class (not -1): the nodes trained on, those whose score
    picks the best epoch, those scored at it."""
    missing = [k for k in ("edge_index", "x", "y", *masks) if getattr(data, k, None) is None]
    if missing:
        hint = ("; a heterogeneous graph needs one node and edge type: data.to_homogeneous(), "
                "or a metapath's homogeneous graph" if type(data).__name__ == "HeteroData"
                else "")
        raise InvalidParameterError(
            f"data must be a PyG Data of a node-classification task (edge_index, x, y, "
            f"{', '.join(masks)}); a {type(data).__name__} lacks {', '.join(missing)}{hint}")
    check_edge_index(data.edge_index, int(data.num_nodes))
    # one row per node; features in 2-D (1-D ones: torch's IndexError deep in the model), node
    # ids for an embedding as they are
    ids = len(data.x.shape) == 1 and not torch.is_floating_point(torch.as_tensor(data.x))
    if (len(data.x.shape) != 2 and not ids) or data.x.shape[0] != data.num_nodes:
        hint = "; one feature per node: data.x.view(-1, 1)" if len(data.x.shape) == 1 and not ids else ""
        raise InvalidParameterError(
            f"data.x must hold a row of features per node ({data.num_nodes}, data.num_nodes), got "
            f"shape {list(data.x.shape)}{hint}")
    _check_finite_features(data.x)
    if data.y.is_floating_point() or data.y.is_complex() or data.y.dtype == torch.bool:
        raise InvalidParameterError(
            f"data.y must hold a class id per node (integers), got {data.y.dtype}; for classes "
            "stored as floats, use data.y.long()")
    if data.y.dim() != 1 or data.y.shape[0] != data.num_nodes:
        raise InvalidParameterError(
            f"data.y must hold one class per node (shape [{data.num_nodes}]), got shape "
            f"{list(data.y.shape)}; OGB's node datasets give [N, 1]: use data.y.view(-1) (as "
            "graphsparse.datasets.load_ogbn does)")
    roles = {"train_mask": "the model trains on the train nodes",
             "val_mask": "the validation nodes pick the best epoch",
             "test_mask": "the test nodes are scored at the best epoch"}
    for name in masks:  # an empty one: a NaN loss, or no best epoch, or a NaN score
        mask = torch.as_tensor(getattr(data, name))
        if mask.is_floating_point() or mask.is_complex():  # torch's IndexError named no mask
            raise InvalidParameterError(
                f"data.{name} must be a boolean mask or an integer index of nodes, got "
                f"{mask.dtype}; for a mask stored as 0/1 numbers, use data.{name}.bool()")
        if mask.dtype == torch.uint8:  # torch indexes with it as a mask, as with a boolean one
            mask = mask.bool()
        if (mask.dtype != torch.bool and mask.dim() == 1 and mask.shape[0] == data.num_nodes > 2
                and bool(((mask == 0) | (mask == 1)).all())):  # torch reads it as node ids
            raise InvalidParameterError(
                f"data.{name} holds a 0 or 1 per node, a mask stored as integers, but torch "
                f"reads integers as node ids (nodes 0 and 1 over and over): make it boolean, "
                f"data.{name}.bool()")
        if mask.dim() != 1 or (mask.dtype == torch.bool and mask.shape[0] != data.num_nodes):
            raise InvalidParameterError(
                f"data.{name} must be one mask over the nodes (shape [{data.num_nodes}]), got "
                f"shape {list(mask.shape)}; datasets with several splits (WebKB, WikiCS) give "
                f"[N, splits]: pick one, data.{name}[:, i]")
        if not (mask.any() if mask.dtype == torch.bool else mask.numel()):
            raise InvalidParameterError(
                f"data.{name} selects no node, but {roles.get(name, 'it is read')}: give it some")
        if mask.dtype != torch.bool:  # an index of nodes
            low, high = int(mask.min()), int(mask.max())
            if low < 0 or high >= data.num_nodes:
                raise InvalidParameterError(
                    f"data.{name} holds node {low if low < 0 else high}, but the nodes are "
                    f"0..{data.num_nodes - 1}")
        lowest = int(data.y[mask].min())
        if lowest < 0:  # -1 marks unlabelled nodes in some datasets
            raise InvalidParameterError(
                f"data.{name} selects nodes without a class (data.y holds {lowest} there), but "
                f"{roles.get(name, 'it is read')}: leave them out of the mask")


def distillation_loss(student_logits: torch.Tensor, teacher_probs: torch.Tensor) -> torch.Tensor:
    """``KL(teacher || student)`` averaged over nodes (``sum_i sum_c p_t log(p_t / p_s) / N``)."""
    return F.kl_div(F.log_softmax(student_logits, dim=1), teacher_probs,
                    reduction="sum") / student_logits.shape[0]
