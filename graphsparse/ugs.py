"""UGS, the unified GNN sparsification baseline (Chen et al., "A Unified Lottery Ticket Hypothesis
for Graph Neural Networks", ICML 2021), in the TEDDY level harness.

Every round trains the model from its initialization with two kinds of trainable masks: one
score per undirected edge, multiplied (through ``relu``) into the messages of every PyG
``MessagePassing`` layer in both directions, and one score per weight, multiplied into the
weights. Both carry an L1 penalty. The masks of the best validation epoch rank what is left: the
round keeps the highest-scoring edges and weights down to the level's counts, and the ticket is
evaluated by retraining from the same initialization (rewinding) with the pruned graph and fixed
weight masks.

The counts follow TEDDY's level schedule (``0.95^i`` of the edges, ``0.9^i`` of the weights), so
every method is compared at the same sparsity: a round removes 5% of the remaining edges, as in
UGS, but 10% of the remaining weights, where UGS's own schedule removes 20%.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from sparsebox._validation import check_int
from sparsebox.masks import l0_project_
from sparsebox.select import budget_from_keep_ratio, select

__all__ = ["pair_keys", "edge_pairs", "ugs_mask_search", "ugs_levels"]


def pair_keys(edge_index: torch.Tensor, num_nodes: int) -> np.ndarray:
    """``min(u, v) * num_nodes + max(u, v)`` for every directed edge ``(u, v)``: one key per
    undirected pair, shared by both directions.

    Examples
    --------
    >>> pair_keys(torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]]), 3).tolist()
    [1, 1, 5, 5]
    """
    ei = edge_index.numpy().astype(np.int64)
    return np.minimum(ei[0], ei[1]) * num_nodes + np.maximum(ei[0], ei[1])


def edge_pairs(edge_index: torch.Tensor, num_nodes: int) -> tuple[np.ndarray, int]:
    """``(pair, num_pairs)``: the undirected pair (0 .. num_pairs-1) of every directed edge.

    Examples
    --------
    >>> pair, n = edge_pairs(torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]]), 3)
    >>> pair.tolist(), n
    ([0, 0, 1, 1], 2)
    """
    _, pair = np.unique(pair_keys(edge_index, num_nodes), return_inverse=True)
    return pair.reshape(-1), int(pair.max()) + 1 if pair.size else 0


def ugs_mask_search(model: nn.Module, data: Any, weight_masks: list[torch.Tensor], *,
                    epochs: int = 200, lr: float = 0.01, weight_decay: float = 5e-4,
                    graph_l1: float = 1e-4, weight_l1: float = 1e-4,
                    generator: torch.Generator | None = None, score: Any = None
                    ) -> tuple[np.ndarray, list[torch.Tensor]]:
    """Train ``model`` jointly with an edge mask and weight masks; return the masks of the best
    validation epoch as ``(score per undirected pair, score per weight)``.

    ``weight_masks`` (booleans, one per weight matrix) fixes the weights pruned in earlier
    rounds at zero. Masks start at 1 with noise of 1e-3 to break ties, as in UGS.

    Examples
    --------
    >>> from torch_geometric.datasets import KarateClub
    >>> from graphsparse.gnn import make_model, prunable_weights
    >>> g = KarateClub()[0]  # 34 nodes, 78 undirected edges, 4 labelled nodes
    >>> g.val_mask = g.test_mask = ~g.train_mask
    >>> model = make_model("gcn", 34, 4, hidden=8)
    >>> keep_all = [torch.ones_like(w, dtype=torch.bool) for w in prunable_weights(model)]
    >>> edge_scores, weight_scores = ugs_mask_search(model, g, keep_all, epochs=5)
    >>> edge_scores.shape, [tuple(s.shape) for s in weight_scores]
    ((78,), [(8, 34), (4, 8)])
    """
    from torch.func import functional_call
    from torch_geometric.explain.algorithm.utils import clear_masks, set_masks

    from graphsparse.gnn import accuracy, model_inputs

    score = score or accuracy
    epochs = check_int("epochs", epochs, minimum=1)
    names = [n for n, p in model.named_parameters() if p.dim() >= 2]
    params = dict(model.named_parameters())
    if len(weight_masks) != len(names):
        raise ValueError(f"weight_masks must hold {len(names)} masks, got {len(weight_masks)}")
    pair_np, num_pairs = edge_pairs(data.edge_index, data.num_nodes)
    pair = torch.from_numpy(pair_np)

    def noisy_ones(shape: torch.Size) -> nn.Parameter:
        noise = torch.rand(shape, generator=generator) * 2e-3 - 1e-3
        return nn.Parameter(1.0 + noise)

    edge_mask = noisy_ones(torch.Size([num_pairs]))
    fixed = {n: m.to(params[n].dtype) for n, m in zip(names, weight_masks, strict=True)}
    wmask = {n: noisy_ones(params[n].shape) for n in names}
    opt = torch.optim.Adam([
        {"params": list(model.parameters()), "weight_decay": weight_decay},
        {"params": [edge_mask, *wmask.values()], "weight_decay": 0.0},
    ], lr=lr)
    x, edge_index = model_inputs(model, data, sparse_adjacency=False)

    def forward() -> torch.Tensor:
        set_masks(model, torch.relu(edge_mask)[pair], edge_index, apply_sigmoid=False)
        masked = {n: params[n] * wmask[n] * fixed[n] for n in names}
        return functional_call(model, masked, (x, edge_index))

    best_val, best = -1.0, None
    try:
        for _ in range(epochs):
            model.train()
            opt.zero_grad()
            out = forward()
            loss = F.cross_entropy(out[data.train_mask], data.y[data.train_mask])
            loss = loss + graph_l1 * edge_mask.abs().sum()
            loss = loss + weight_l1 * sum((wmask[n] * fixed[n]).abs().sum() for n in names)
            loss.backward()
            opt.step()
            model.eval()
            with torch.no_grad():
                val = score(forward(), data.y, data.val_mask)
            if val > best_val:
                best_val = val
                best = (torch.relu(edge_mask).detach().clone(),
                        [(wmask[n] * fixed[n]).detach().abs() for n in names])
    finally:
        clear_masks(model)
    assert best is not None
    return best[0].numpy(), best[1]


def ugs_levels(data: Any, factory: Callable[[], nn.Module], levels: list[int], seed: int, *,
               epochs: int = 200, graph_l1: float = 1e-4, weight_l1: float = 1e-4,
               progress: Callable[[dict], None] | None = None,
               score: Any = None) -> Iterator[dict]:
    """Run UGS rounds ``1 .. max(levels)``; yield a record per requested level.

    A record's ``seconds`` is the time since the previous record (mask searches of skipped rounds
    included), so the sum over records is UGS's wall time to reach the last level.

    Examples
    --------
    >>> from torch_geometric.datasets import KarateClub
    >>> from graphsparse.gnn import make_model
    >>> g = KarateClub()[0]
    >>> g.val_mask = g.test_mask = ~g.train_mask
    >>> records = ugs_levels(g, lambda: make_model("gcn", 34, 4, hidden=8), [2, 4], seed=0,
    ...                      epochs=5)
    >>> [(r["level"], round(r["edge_keep"], 2), round(r["weight_keep"], 2)) for r in records]
    [(2, 0.9, 0.81), (4, 0.82, 0.65)]
    """
    from graphsparse.gnn import level_keep_ratios, prunable_weights, train_node_classifier

    levels = sorted(set(levels))
    pair, num_pairs = edge_pairs(data.edge_index, data.num_nodes)
    pair_kept = np.ones(num_pairs, dtype=bool)
    torch.manual_seed(seed)
    weight_masks = [torch.ones_like(w, dtype=torch.bool) for w in prunable_weights(factory())]
    total_weights = sum(int(m.numel()) for m in weight_masks)
    generator = torch.Generator().manual_seed(seed)
    current = data
    start = time.perf_counter()
    for level in range(1, levels[-1] + 1):
        torch.manual_seed(seed)  # rewind: every round starts from the same initialization
        edge_scores, weight_scores = ugs_mask_search(
            factory(), current, weight_masks, epochs=epochs, graph_l1=graph_l1,
            weight_l1=weight_l1, generator=generator, score=score)
        edge_keep, weight_keep = level_keep_ratios(level)
        # Scores of the pairs still in the graph, in the order of edge_pairs(current).
        live = np.flatnonzero(pair_kept)
        keep_live = select(edge_scores, budget=budget_from_keep_ratio(edge_keep, num_pairs))
        pair_kept[live[~keep_live]] = False
        current = data.clone()
        current.edge_index = data.edge_index[:, torch.from_numpy(pair_kept[pair])]
        k = min(budget_from_keep_ratio(weight_keep, total_weights),
                sum(int(m.sum()) for m in weight_masks))
        ranked = l0_project_([s.clone() for s in weight_scores], k=k)
        weight_masks = [new & old for new, old in zip(ranked, weight_masks, strict=True)]
        if level not in levels:
            continue
        torch.manual_seed(seed)
        res = train_node_classifier(factory(), current, epochs=epochs, weight_masks=weight_masks,
                                    score=score)
        rec = {"method": "ugs", "level": level, "edge_keep": float(pair_kept.mean()),
               "weight_keep": res.weight_keep, "seed": seed, "test_acc": res.test_acc,
               "val_acc": res.val_acc, "seconds": time.perf_counter() - start}
        start = time.perf_counter()
        if progress:
            progress(rec)
        yield rec
