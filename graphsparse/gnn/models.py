"""GNN models for node classification, and the inputs that train them fastest on a CPU.

GCN as in the TEDDY paper's code, GAT and GIN from PyG layers; :func:`sparse_linear`,
:func:`dropout` and :func:`feature_dropout` compute the same functions as their torch
counterparts at less CPU time (each tested against them).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch_geometric.nn import GATConv, GCNConv, GINConv
from torch_geometric.nn.dense.linear import Linear as PygLinear

from sparsebox._validation import check_choice, described
from sparsebox.exceptions import InvalidParameterError

__all__ = ["MODELS", "make_model", "model_inputs", "prunable_weights", "dropout",
           "feature_dropout", "sparse_linear"]

MODELS = ("gcn", "gat", "gin")

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
    adds_self_loops = True  # GCNConv: one loop of weight 1 per node, in place of the graph's

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

    Features take the dtype of the model's parameters (float64 features, or a one-hot of
    integers, met float32 weights with a dtype error; a vector of integers, node ids for an
    ``nn.Embedding``, is left as it is), and become sparse CSR when the model sets
    ``accepts_sparse_features`` and they are a COO or CSC matrix or at most ``max_density`` of them
    are non-zero (other sparse layouts are made dense first, and so is any sparse matrix for
    other models); edges become the transposed sparse adjacency (PyG's ``adj_t``) when it sets
    ``accepts_sparse_adjacency`` and ``sparse_adjacency`` is true (edge masks need the edge
    list), after :func:`check_edge_index`. Other models get ``data.edge_index`` as it is.

    The adjacency keeps the edge list's function: a repeated column is an entry of that
    multiplicity (its message is summed once per column), and for a model that sets
    ``adds_self_loops`` (GCN) the graph's own self-loops are left out, as ``GCNConv`` replaces
    them by its own on an edge list but would add one more to each on a sparse matrix.
    """
    x, edges = data.x, data.edge_index
    param = next(model.parameters(), None)
    dtype = param.dtype if param is not None and param.is_floating_point() else None
    if dtype is not None and x.dtype != dtype and (x.is_floating_point() or x.dim() == 2):
        x = x.to(dtype)  # (a vector of integers is node ids, as an nn.Embedding reads them)
    sparse = getattr(model, "accepts_sparse_features", False)
    if x.layout != torch.strided and not (sparse and x.layout == torch.sparse_csr):
        with _quiet_csr():  # dropout cannot draw over COO, CSC, ..., nor a model not made for them
            to_csr = sparse and x.layout in (torch.sparse_coo, torch.sparse_csc)
            x = x.to_sparse_csr() if to_csr else x.to_dense()  # (blocked ones: made sparse below)
    if (sparse and x.layout == torch.strided
            and x.dim() == 2 and float(torch.count_nonzero(x)) <= max_density * x.numel()):
        with _quiet_csr():
            x = x.to_sparse_csr()
    if sparse_adjacency and getattr(model, "accepts_sparse_adjacency", False):
        from torch_geometric.utils import remove_self_loops, to_torch_csr_tensor

        n = data.num_nodes
        check_edge_index(edges, n)  # a sparse matrix built over nodes beyond n corrupts memory
        if hasattr(edges, "as_tensor"):  # a PyG EdgeIndex, on which PyG's coalesce fails
            edges = edges.as_tensor()
        count = torch.ones(edges.shape[1], dtype=dtype, device=edges.device)  # summed per column
        if getattr(model, "adds_self_loops", False):
            edges, count = remove_self_loops(edges, count)
        with _quiet_csr():
            edges = to_torch_csr_tensor(edges.flip(0), count, size=(n, n))
    return x, edges


def check_edge_index(edge_index: Any, num_nodes: int) -> None:
    """Refuse an ``edge_index`` that is no ``[2, E]`` integer tensor of nodes in
    ``[0, num_nodes)``, naming the node: the sparse adjacency of :func:`model_inputs` would be
    built over nodes that do not exist (torch does not check it, and the process aborts).

    Examples
    --------
    >>> check_edge_index(torch.tensor([[0, 1], [1, 3]]), 3)
    Traceback (most recent call last):
    ...
    sparsebox.exceptions.InvalidParameterError: data.edge_index holds node 3, but data.num_nodes is 3
    """
    if not (torch.is_tensor(edge_index) and edge_index.dim() == 2 and edge_index.shape[0] == 2
            and not (edge_index.is_floating_point() or edge_index.is_complex()
                     or edge_index.dtype == torch.bool)):
        raise InvalidParameterError(
            f"data.edge_index must be an integer tensor of shape [2, E], got {described(edge_index)}")
    if edge_index.numel() == 0:
        return
    low, high = int(edge_index.min()), int(edge_index.max())
    if low < 0 or high >= num_nodes:
        raise InvalidParameterError(f"data.edge_index holds node {low if low < 0 else high}, but "
                                    f"data.num_nodes is {num_nodes}")


def make_model(name: str, in_channels: int, out_channels: int, **kwargs: Any) -> nn.Module:
    """A two-layer PyG model: ``"gcn"`` (hidden 512), ``"gat"`` (8 heads x 8) or ``"gin"``."""
    check_choice("model", name, MODELS)
    return {"gcn": _GCN, "gat": _GAT, "gin": _GIN}[name](in_channels, out_channels, **kwargs)


def model_factory(data: Any, name: str) -> Callable[[], nn.Module]:
    """A function that makes a fresh :func:`make_model` ``name`` model for ``data``: its
    features in, one output per class of ``data.y`` out.

    Examples
    --------
    >>> from torch_geometric.datasets import KarateClub
    >>> make = model_factory(KarateClub()[0], "gcn")   # 34 features, 4 classes
    >>> make().conv2.out_channels, make() is make()
    (4, False)
    """
    return lambda: make_model(name, data.num_features, int(data.y.max()) + 1)


def prunable_weights(model: nn.Module) -> list[torch.Tensor]:
    """The weight matrices (parameters with two or more dimensions); biases are not pruned."""
    return [p for p in model.parameters() if p.dim() >= 2]


def count_prunable_weights(factory: Callable[[], nn.Module]) -> int:
    """The prunable weights of a model of ``factory``, built without touching the caller's random
    state."""
    with torch.random.fork_rng(devices=[]):
        return sum(int(w.numel()) for w in prunable_weights(factory()))
