"""Inference FLOPs of a :class:`~graphsparse.gtsp.model.GTSPModel`, counted analytically.

Per layer, with ``N`` nodes, ``E`` directed edges, width ``C``, attention width ``C'`` (the kept
heads times the head width), ``k_g`` tokens of graph g attending and ``K = sum_g k_g``:

========================  ===================================
MPNN (GINE)               ``2 E C`` message adds + ``4 N C^2`` (its two-layer MLP)
token scorer              ``2 N C`` (learned token selection only)
Q, K, V                   ``6 K C C'``  (``6 N C^2`` dense)
scores and A V            ``4 sum_g k_g^2 C'``
output projection         ``2 K C' C``  (``2 N C^2`` dense)
FFN                       ``8 N C^2``
========================  ===================================

plus the random-walk encoder (``2 N W C``) and the head (``2 G C^2 + 2 G C T``). A closed
attention block (layer axis) counts nothing but its MPNN and FFN. A multiply-add is two FLOPs,
as ``torch.utils.flop_counter.FlopCounterMode`` counts them; every term but the MPNN's message
adds is a matrix product that the counter sees, and :func:`counted_flops` runs it (the tests
hold the two equal on small models). Norms, activations, the softmax and embedding look-ups are
not counted (they are linear in ``N`` and small).

Weight sparsity saves only where a sparse kernel runs: ``dense`` counts every weight,
``sparse_kernel`` counts ``2 rows nnz(W)`` for each pruned matrix.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from graphsparse.gtsp.data import one_by_one
from graphsparse.gtsp.model import GTSPModel
from graphsparse.gtsp.tokens import tokens_per_graph
from sparsebox.exceptions import InvalidParameterError

__all__ = ["FlopsReport", "count_flops", "counted_flops", "PARTS", "ATTENTION_PARTS"]

PARTS = ("encoder", "mpnn_messages", "mpnn_mlp", "token_scorer", "qkv", "attention", "out_proj",
         "ffn", "head")
#: The parts of the attention block (what the token, head and layer axes cut).
ATTENTION_PARTS = ("token_scorer", "qkv", "attention", "out_proj")


@dataclass
class FlopsReport:
    """FLOPs of one pass over ``graphs`` graphs, by part.

    ``dense`` assumes dense kernels (zeros in the weights still cost); ``sparse_kernel`` counts
    only the non-zero weights of the linear layers.
    """

    graphs: int
    dense: dict[str, float] = field(default_factory=lambda: dict.fromkeys(PARTS, 0.0))
    sparse_kernel: dict[str, float] = field(default_factory=lambda: dict.fromkeys(PARTS, 0.0))

    @property
    def total(self) -> float:
        return sum(self.dense.values())

    @property
    def total_sparse_kernel(self) -> float:
        return sum(self.sparse_kernel.values())

    @property
    def matmul(self) -> float:
        """Everything but the MPNN's message adds: what ``FlopCounterMode`` sees."""
        return self.total - self.dense["mpnn_messages"]

    def per_graph(self, part: str | None = None, *, sparse_kernel: bool = False) -> float:
        """Mean FLOPs per graph, of one part or of the whole model."""
        table = self.sparse_kernel if sparse_kernel else self.dense
        value = sum(table.values()) if part is None else table[part]
        return value / max(self.graphs, 1)

    def attention_block(self) -> float:
        """FLOPs of the attention blocks (scorer, Q/K/V, scores and A V, output projection)."""
        return sum(self.dense[p] for p in ATTENTION_PARTS)


def _linear(report: FlopsReport, part: str, rows: float, weight: Tensor,
            out_rows: Tensor | None = None) -> None:
    """A linear layer applied to ``rows`` inputs (only the output rows ``out_rows`` of
    ``weight`` when given)."""
    w = weight if out_rows is None else weight[out_rows]
    report.dense[part] += 2.0 * rows * w.numel()
    report.sparse_kernel[part] += 2.0 * rows * int(torch.count_nonzero(w))


def _sizes(graphs) -> tuple[Tensor, Tensor]:
    """Nodes and directed edges per graph (each graph of a batch on its own)."""
    if isinstance(graphs, (str, bytes)) or not (isinstance(graphs, Iterable)
                                                or hasattr(graphs, "num_nodes")):
        raise TypeError(f"graphs must be PyG graphs (a list of Data, a Batch, one Data or "
                        f"batches), got {type(graphs).__name__}")
    graphs = one_by_one(graphs)
    lacking = next((i for i, g in enumerate(graphs) if getattr(g, "edge_index", None) is None), None)
    if lacking is not None:  # ("'NoneType' object has no attribute 'shape'")
        raise ValueError(f"graphs[{lacking}] has no edge_index")
    return (torch.tensor([int(g.num_nodes) for g in graphs], dtype=torch.long),
            torch.tensor([int(g.edge_index.shape[1]) for g in graphs], dtype=torch.long))


@torch.no_grad()
def count_flops(model: nn.Module, graphs: Sequence | object) -> FlopsReport:
    """The analytic inference FLOPs of ``model`` (as :meth:`GTSPModel.export_pruned` would run
    it) over ``graphs`` (a list of ``Data``, a PyG ``Batch``, one ``Data``, or batches such as a
    ``DataLoader``'s; a batch made by hand is split by its ``batch`` vector).

    Examples
    --------
    >>> from torch_geometric.data import Data
    >>> from graphsparse.gtsp.model import GTSPModel
    >>> g = Data(x=torch.zeros(4, 9, dtype=torch.long), edge_index=torch.tensor([[0, 1], [1, 0]]))
    >>> dense = count_flops(GTSPModel(1, num_layers=1, hidden=8, heads=2), [g])
    >>> dense.dense["qkv"], dense.dense["attention"]      # 6 N C^2, 4 n^2 C
    (1536.0, 512.0)
    >>> half = count_flops(GTSPModel(1, num_layers=1, hidden=8, heads=2, token_keep_ratio=0.5), [g])
    >>> half.dense["qkv"], half.dense["attention"]        # 6 K C^2, 4 k^2 C with k = 2
    (768.0, 128.0)
    """
    model = getattr(model, "_orig_mod", model)  # torch.compile's wrapper: the model it compiled
    if not isinstance(model, GTSPModel):  # ("'GIN' object has no attribute 'hidden'")
        raise InvalidParameterError(f"model must be a GTSPModel, got {type(model).__name__}")
    small = model.export_pruned()
    nodes, edges = _sizes(graphs)
    n, e, g = float(nodes.sum()), float(edges.sum()), int(nodes.numel())
    c = small.hidden
    report = FlopsReport(graphs=g)
    _linear(report, "encoder", n, small.pe.weight)
    r = small.token_keep_ratio
    k = nodes if r is None or r >= 1.0 else tokens_per_graph(nodes, r)
    tokens, square = float(k.sum()), float((k.double() ** 2).sum())
    for layer in small.layers:
        report.dense["mpnn_messages"] += 2.0 * e * c
        report.sparse_kernel["mpnn_messages"] += 2.0 * e * c
        for module in layer.conv.nn:
            if isinstance(module, nn.Linear):
                _linear(report, "mpnn_mlp", n, module.weight)
        if layer.attn is not None:
            if layer.scorer is not None and r is not None and r < 1.0:
                _linear(report, "token_scorer", n, layer.scorer.weight)
            _linear(report, "qkv", tokens, layer.attn.qkv.weight)
            width = layer.attn.width
            report.dense["attention"] += 4.0 * square * width
            report.sparse_kernel["attention"] += 4.0 * square * width
            _linear(report, "out_proj", tokens, layer.attn.out.weight)
        for module in layer.mlp:
            if isinstance(module, nn.Linear):
                _linear(report, "ffn", n, module.weight)
    for module in small.head:
        if isinstance(module, nn.Linear):
            _linear(report, "head", g, module.weight)
    return report


@torch.no_grad()
def counted_flops(model: nn.Module, batch: object) -> int:
    """FLOPs of one inference pass of ``model`` on ``batch`` as
    ``torch.utils.flop_counter.FlopCounterMode`` counts them (matrix products only; padded
    attention positions count, so compare with :func:`count_flops` on graphs of one size)."""
    from torch.utils.flop_counter import FlopCounterMode

    was = model.training
    model.eval()
    with FlopCounterMode(display=False) as counter:
        model(batch)
    model.train(was)
    return int(counter.get_total_flops())
