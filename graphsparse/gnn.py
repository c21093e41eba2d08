"""Node classification with sparsified graphs and weights: the TEDDY recipe and its baselines.

* ``teddy``: at level ``i`` the graph keeps the ``0.95^i`` of its undirected edges that score
  highest under TEDDY's degree score of the original graph (one-shot, as in the paper's code, so
  the levels are nested; for GAT the self-loops count in the degrees); the student is trained
  with its weights projected onto the l0 ball (``0.9^i`` of them kept, globally, after every
  optimizer step) and distilled from a dense teacher: ``CE + lambda KL(teacher || student)`` over all nodes.
* ``random``: random undirected edges to the same count, the same weight projection, no
  distillation.
* ``ugs``: the UGS baseline (:mod:`graphsparse.ugs`): learned edge and weight masks, pruned
  round by round to the same counts, each ticket retrained from the initialization.
* ``dense``: the unpruned model (level 0).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch_geometric.nn import GATConv, GCNConv, GINConv
from torch_geometric.nn.dense.linear import Linear as PygLinear

from graphsparse.teddy import TeddyTransform
from graphsparse.ugs import pair_keys
from sparsebox._validation import check_choice, check_int
from sparsebox.masks import l0_project_
from sparsebox.select import budget_from_keep_ratio, select

__all__ = ["make_model", "train_node_classifier", "TrainResult", "level_keep_ratios",
           "prune_edges_random", "run_levels", "METHODS", "accuracy", "ogb_node_scorer",
           "dropout", "sparse_linear"]

MODELS = ("gcn", "gat", "gin")
METHODS = ("dense", "teddy", "random", "ugs")
#: TEDDY's distillation weight unless told otherwise (the paper code's default).
DISTILL_LAMBDA = 0.1


def dropout(x: torch.Tensor, p: float, training: bool) -> torch.Tensor:
    """Inverted dropout (the distribution of ``F.dropout``) at less than half its CPU cost.

    ``F.dropout`` draws its Bernoulli mask through a slow CPU path (about 20 ms for a
    2708 x 512 activation, forward and backward, on one core); comparing uniform draws with
    ``p`` costs 8 ms. Each entry is kept with probability ``1 - p`` and scaled by
    ``1 / (1 - p)``.

    Examples
    --------
    >>> x = torch.ones(1000)
    >>> y = dropout(x, 0.25, training=True)
    >>> torch.unique(y)
    tensor([0.0000, 1.3333])
    >>> dropout(x, 0.25, training=False) is x
    True
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p must be in [0, 1], got {p}")
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * 0.0
    keep = (torch.rand_like(x) >= p).to(x.dtype).mul_(1.0 / (1.0 - p))
    return x * keep


def feature_dropout(x: torch.Tensor, p: float, training: bool) -> torch.Tensor:
    """Dropout on node features that keeps a sparse CSR matrix sparse.

    Only stored values can be dropped, so the result has the distribution of dense dropout on the
    same matrix; on bag-of-words features (about 1% non-zero) it skips drawing a random number for
    every zero, which dominates a Cora epoch on a CPU.
    """
    if x.layout != torch.sparse_csr:
        return dropout(x, p, training)
    values = dropout(x.values(), p, training)
    with _quiet_csr():
        return torch.sparse_csr_tensor(x.crow_indices(), x.col_indices(), values, x.shape)


@contextmanager
def _quiet_csr() -> Iterator[None]:
    """Silence torch's notice that sparse CSR support is in beta."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sparse (CSR tensor support|invariant checks)")
        yield


class _CSRMatmul(torch.autograd.Function):
    """``x @ weight.T`` for a sparse CSR ``x``, differentiable in ``weight``.

    torch's own ``F.linear`` on a CSR input multiplies by the non-contiguous ``weight.T`` and
    differentiates through a generic path: on Cora's features (2708 x 1433, 1.3% non-zero) times
    a 512-channel weight it takes 2.3x as long forward and 1.3x forward and backward.
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        ctx.x = x
        return x @ weight.t().contiguous()

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[None, torch.Tensor]:
        with _quiet_csr():
            xt = ctx.x.t().to_sparse_csr()
        return None, (xt @ grad.contiguous()).t()


def sparse_linear(x: torch.Tensor, weight: torch.Tensor,
                  bias: torch.Tensor | None = None) -> torch.Tensor:
    """``F.linear(x, weight, bias)``, faster when ``x`` is a sparse CSR matrix.

    No gradient reaches ``x`` through the CSR path (node features are inputs, not parameters).

    Examples
    --------
    >>> x, w = torch.eye(3)[[0, 2]], torch.arange(6.0).reshape(2, 3)
    >>> sparse_linear(x.to_sparse_csr(), w).tolist()
    [[0.0, 3.0], [2.0, 5.0]]
    """
    if x.layout != torch.sparse_csr:
        return F.linear(x, weight, bias)
    out = _CSRMatmul.apply(x, weight)
    return out if bias is None else out + bias


class _SparseInputLinear(PygLinear):
    """PyG's ``Linear`` with :func:`sparse_linear` as its product; the parameters are the same."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return sparse_linear(x, self.weight, self.bias)


class _GCN(nn.Module):
    """Two ``GCNConv`` layers without biases and dropout on the hidden layer only, as in the
    TEDDY paper's code (its GCN drops no input features)."""

    accepts_sparse_features = accepts_sparse_adjacency = True

    def __init__(self, cin: int, cout: int, hidden: int = 512, dropout: float = 0.5):
        super().__init__()
        self.conv1 = GCNConv(cin, hidden, bias=False)
        self.conv1.lin.__class__ = _SparseInputLinear  # a faster product, nothing else changes
        self.conv2 = GCNConv(hidden, cout, bias=False)
        self.dropout = dropout

    def forward(self, x, edge_index):
        x = F.relu(self.conv1(x, edge_index))
        x = dropout(x, self.dropout, self.training)
        return self.conv2(x, edge_index)


class _GAT(nn.Module):
    accepts_sparse_features = True

    def __init__(self, cin: int, cout: int, hidden: int = 8, heads: int = 8,
                 dropout: float = 0.6):
        super().__init__()
        self.conv1 = GATConv(cin, hidden, heads=heads, dropout=dropout)
        self.conv2 = GATConv(hidden * heads, cout, heads=1, dropout=dropout)
        self.dropout = dropout

    def forward(self, x, edge_index):
        x = feature_dropout(x, self.dropout, self.training)
        x = F.elu(self.conv1(x, edge_index))
        x = dropout(x, self.dropout, self.training)
        return self.conv2(x, edge_index)


class _LinearFirstGINConv(GINConv):
    """``GINConv`` whose MLP starts with a ``Linear``, applied before the neighbour sum.

    ``W ((1 + eps) x_v + sum_u x_u) + b = (1 + eps) W x_v + sum_u W x_u + b``: the same
    function, but the sum runs over ``hidden`` channels instead of the raw features, and sparse
    features never need to be made dense (on CiteSeer, 3703 bag-of-words channels to 64).
    """

    def forward(self, x, edge_index):
        first = self.nn[0]
        h = sparse_linear(x, first.weight)
        out = self.propagate(edge_index, x=(h, h)) + (1 + self.eps) * h + first.bias
        return self.nn[1:](out)


class _GIN(nn.Module):
    accepts_sparse_features = accepts_sparse_adjacency = True

    def __init__(self, cin: int, cout: int, hidden: int = 64, dropout: float = 0.5):
        super().__init__()
        self.conv1 = _LinearFirstGINConv(nn.Sequential(nn.Linear(cin, hidden), nn.ReLU(),
                                                       nn.Linear(hidden, hidden)))
        self.conv2 = _LinearFirstGINConv(nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU(),
                                                       nn.Linear(hidden, cout)))
        self.dropout = dropout

    def forward(self, x, edge_index):
        x = feature_dropout(x, self.dropout, self.training)
        x = F.relu(self.conv1(x, edge_index))
        x = dropout(x, self.dropout, self.training)
        return self.conv2(x, edge_index)


def model_inputs(model: nn.Module, data: Any, max_density: float = 0.1, *,
                 sparse_adjacency: bool = True) -> tuple[Any, Any]:
    """``(x, edges)`` in the form that trains ``model`` fastest, computing the same function.

    Features become sparse CSR when the model sets ``accepts_sparse_features`` and at most
    ``max_density`` of them are non-zero; edges become the transposed sparse adjacency (PyG's
    ``adj_t``) when it sets ``accepts_sparse_adjacency`` and ``sparse_adjacency`` is true (edge
    masks need the edge list). Other models get ``data.x`` and
    ``data.edge_index`` as they are.
    """
    x, edges = data.x, data.edge_index
    if (getattr(model, "accepts_sparse_features", False) and x.layout == torch.strided
            and x.dim() == 2 and float(torch.count_nonzero(x)) <= max_density * x.numel()):
        with _quiet_csr():
            x = x.to_sparse_csr()
    if sparse_adjacency and getattr(model, "accepts_sparse_adjacency", False):
        from torch_geometric.utils import to_torch_csr_tensor

        n = data.num_nodes
        with _quiet_csr():
            edges = to_torch_csr_tensor(edges.flip(0), size=(n, n))
    return x, edges


def make_model(name: str, in_channels: int, out_channels: int, **kwargs: Any) -> nn.Module:
    """A two-layer PyG model: ``"gcn"`` (hidden 512), ``"gat"`` (8 heads x 8) or ``"gin"``."""
    check_choice("model", name, MODELS)
    return {"gcn": _GCN, "gat": _GAT, "gin": _GIN}[name](in_channels, out_channels, **kwargs)


def prunable_weights(model: nn.Module) -> list[torch.Tensor]:
    """The weight matrices (parameters with two or more dimensions); biases are not pruned."""
    return [p for p in model.parameters() if p.dim() >= 2]


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
    :func:`accuracy`) rates the validation and test nodes.
    """
    score = score or accuracy
    epochs = check_int("epochs", epochs, minimum=1)
    if not distill_lambda >= 0:
        raise ValueError(f"distill_lambda must be >= 0, got {distill_lambda}")
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    weights = prunable_weights(model)
    if weight_keep_ratio is not None and weight_masks is not None:
        raise ValueError("give weight_keep_ratio or weight_masks, not both")
    if weight_masks is not None:
        weight_masks = list(weight_masks)
        if [m.shape for m in weight_masks] != [w.shape for w in weights]:
            raise ValueError("weight_masks must match the shapes of prunable_weights(model): "
                             f"{[tuple(w.shape) for w in weights]}")

    @torch.no_grad()
    def sparsify_weights() -> None:
        if weight_keep_ratio is not None:
            l0_project_(weights, keep_ratio=weight_keep_ratio)
        for w, m in zip(weights, weight_masks or [], strict=False):
            w.masked_fill_(~m, 0.0)

    sparsify_weights()
    teacher = None if teacher_logits is None else F.softmax(teacher_logits, dim=1)
    best_val, best_test, best_logits = -1.0, 0.0, None
    start = time.perf_counter()
    x, edges = model_inputs(model, data)
    for _ in range(epochs):
        model.train()
        opt.zero_grad()
        out = model(x, edges)
        loss = F.cross_entropy(out[data.train_mask], data.y[data.train_mask])
        if teacher is not None:
            loss = loss + distill_lambda * distillation_loss(out, teacher)
        loss.backward()
        opt.step()
        sparsify_weights()
        model.eval()
        with torch.no_grad():
            out = model(x, edges)
        val = score(out, data.y, data.val_mask)
        if val > best_val:
            best_val, best_test, best_logits = val, score(out, data.y, data.test_mask), out
    kept = sum(int(torch.count_nonzero(w)) for w in weights) / sum(w.numel() for w in weights)
    return TrainResult(best_val, best_test, time.perf_counter() - start, kept, best_logits)


def distillation_loss(student_logits: torch.Tensor, teacher_probs: torch.Tensor) -> torch.Tensor:
    """``KL(teacher || student)`` averaged over nodes (``sum_i sum_c p_t log(p_t / p_s) / N``)."""
    return F.kl_div(F.log_softmax(student_logits, dim=1), teacher_probs,
                    reduction="sum") / student_logits.shape[0]


def level_keep_ratios(level: int) -> tuple[float, float]:
    """TEDDY's schedule: ``(edge keep ratio 0.95^i, weight keep ratio 0.9^i)``."""
    return 0.95**level, 0.9**level


def prune_edges_random(edge_index: torch.Tensor, num_nodes: int, keep: int,
                       seed: int) -> torch.Tensor:
    """``keep`` undirected edges chosen uniformly at random (both directions together).

    Pair ``{u, v}`` (``u <= v``) scores the number at position ``u * num_nodes + v`` of the
    stream ``np.random.default_rng(seed).random(...)``, so a seed picks the same pairs in any
    edge order and in any graph on the same nodes; time and memory grow with the edges, not with
    ``num_nodes**2``.

    Examples
    --------
    >>> ei = torch.tensor([[0, 1, 1, 2, 2, 0], [1, 0, 2, 1, 0, 2]])
    >>> prune_edges_random(ei, 3, keep=2, seed=0).shape
    torch.Size([2, 4])
    """
    pair = pair_keys(edge_index, num_nodes)
    keys, inverse = np.unique(pair, return_inverse=True)
    mask = select(_stream_at(seed, keys)[inverse], budget=keep, groups=pair)
    return edge_index[:, torch.from_numpy(mask)]


def _stream_at(seed: int, positions: np.ndarray) -> np.ndarray:
    """``np.random.default_rng(seed).random(positions.max() + 1)[positions]`` for sorted unique
    ``positions``, jumping the generator over the numbers in between instead of drawing them."""
    bits = np.random.PCG64(seed)  # what default_rng(seed) wraps; one 64-bit draw per number
    draw = np.random.Generator(bits).random
    out, at = np.empty(len(positions)), 0
    for i, position in enumerate(positions.tolist()):
        bits.advance(position - at)
        out[i], at = draw(), position + 1
    return out


def run_levels(data: Any, model_name: str, levels: list[int], seeds: list[int], *,
               methods: tuple[str, ...] = ("dense", "teddy", "random"), epochs: int = 200,
               factory: Callable[..., nn.Module] | None = None,
               progress: Callable[[dict], None] | None = None,
               score: Scorer | None = None,
               distill_lambda: float = DISTILL_LAMBDA) -> list[dict]:
    """The level protocol; one record per (method, level, seed):
    ``{method, level, edge_keep, weight_keep, seed, test_acc, val_acc, seconds}``. ``methods`` is
    any of ``METHODS``; the dense model is trained in any case when TEDDY needs it as teacher,
    and ``distill_lambda`` weighs TEDDY's distillation term."""
    for method in methods:
        check_choice("methods", method, METHODS)
    factory = factory or (lambda: make_model(model_name, data.num_features,
                                             int(data.y.max()) + 1))
    num_pairs = int((data.edge_index[0] < data.edge_index[1]).sum())
    records = []
    for seed in seeds:
        dense = None
        if "dense" in methods or "teddy" in methods:
            torch.manual_seed(seed)
            dense = train_node_classifier(factory(), data, epochs=epochs, score=score)
        if "dense" in methods:
            rec = {"method": "dense", "level": 0, "edge_keep": 1.0, "weight_keep": 1.0,
                   "seed": seed, "test_acc": dense.test_acc, "val_acc": dense.val_acc,
                   "seconds": dense.seconds}
            records.append(rec)
            progress and progress(rec)
        for level in sorted(levels):
            edge_keep, weight_keep = level_keep_ratios(level)
            target = budget_from_keep_ratio(edge_keep, num_pairs)
            if "teddy" in methods:
                start = time.perf_counter()
                pruned = TeddyTransform(edge_sparsity=1.0 - target / num_pairs,
                                        add_self_loops=model_name == "gat")(data)
                torch.manual_seed(seed)
                res = train_node_classifier(factory(), pruned, epochs=epochs,
                                            weight_keep_ratio=weight_keep,
                                            teacher_logits=dense.logits, score=score,
                                            distill_lambda=distill_lambda)
                rec = {"method": "teddy", "level": level, "edge_keep": target / num_pairs,
                       "weight_keep": res.weight_keep, "seed": seed, "test_acc": res.test_acc,
                       "val_acc": res.val_acc, "seconds": time.perf_counter() - start}
                records.append(rec)
                progress and progress(rec)
            if "random" in methods:
                start = time.perf_counter()
                pruned = data.clone()
                pruned.edge_index = prune_edges_random(data.edge_index, data.num_nodes, target,
                                                       seed * 1000 + level)
                torch.manual_seed(seed)
                res = train_node_classifier(factory(), pruned, epochs=epochs,
                                            weight_keep_ratio=weight_keep, score=score)
                rec = {"method": "random", "level": level, "edge_keep": target / num_pairs,
                       "weight_keep": res.weight_keep, "seed": seed, "test_acc": res.test_acc,
                       "val_acc": res.val_acc, "seconds": time.perf_counter() - start}
                records.append(rec)
                progress and progress(rec)
        if "ugs" in methods:
            from graphsparse.ugs import ugs_levels

            records.extend(ugs_levels(data, factory, levels, seed, epochs=epochs,
                                      progress=progress, score=score))
    return records
