"""Token selection per graph: ``k_g = ceil(r n_g)`` tokens of each graph of a batch.

In training the choice is a Gumbel top-k (scores plus Gumbel noise, divided by the temperature
``tau``) whose hard 0/1 mask passes a gradient straight through (:func:`sparsebox.masks.
straight_through_mask` around each graph's own threshold); at eval it is the deterministic top-k
of the scores. Ties go to the lower node index. Padding never counts: ``n_g`` is the graph's own
node count.
"""

from __future__ import annotations

import torch
from torch import Tensor

from sparsebox._validation import check_fraction
from sparsebox.masks import straight_through_mask

__all__ = ["tokens_per_graph", "rank_in_graph", "top_k_per_graph", "gumbel_top_k_per_graph"]


def tokens_per_graph(counts: Tensor, keep_ratio: float) -> Tensor:
    """``k_g = ceil(keep_ratio * n_g)`` per graph (an empty graph keeps none).

    Examples
    --------
    >>> tokens_per_graph(torch.tensor([1, 4, 5, 24, 0]), 0.5).tolist()
    [1, 2, 3, 12, 0]
    """
    r = check_fraction("keep_ratio", keep_ratio)
    # the 1e-9 keeps 0.1 * 30 at 3 (floating point gives 3.0000000000000004)
    return torch.ceil(counts.to(torch.float64) * r - 1e-9).clamp_(min=0).long()


def rank_in_graph(scores: Tensor, batch: Tensor, num_graphs: int) -> Tensor:
    """Each node's rank among the nodes of its graph by descending score (0 = best); equal
    scores rank by node index. ``batch`` must be sorted (PyG's batches are).

    Examples
    --------
    >>> rank_in_graph(torch.tensor([0.1, 0.9, 0.5, 0.3, 0.3]), torch.tensor([0, 0, 0, 1, 1]), 2)
    tensor([2, 0, 1, 0, 1])
    """
    order = torch.argsort(scores, descending=True, stable=True)
    order = order[torch.argsort(batch[order], stable=True)]
    counts = torch.bincount(batch, minlength=num_graphs)
    starts = torch.cumsum(counts, 0) - counts
    rank = torch.empty_like(order)
    rank[order] = torch.arange(order.numel(), device=order.device) - starts[batch[order]]
    return rank


def top_k_per_graph(scores: Tensor, batch: Tensor, num_graphs: int, keep_ratio: float) -> Tensor:
    """The keep-mask of the ``ceil(keep_ratio n_g)`` highest-scoring nodes of every graph.

    Examples
    --------
    >>> keep = top_k_per_graph(torch.tensor([0.1, 0.9, 0.5, 0.3, 0.2]),
    ...                        torch.tensor([0, 0, 0, 1, 1]), 2, 0.5)
    >>> keep.tolist()
    [False, True, True, True, False]
    """
    counts = torch.bincount(batch, minlength=num_graphs)
    k = tokens_per_graph(counts, keep_ratio)
    return rank_in_graph(scores, batch, num_graphs) < k[batch]


def gumbel_top_k_per_graph(scores: Tensor, batch: Tensor, num_graphs: int, keep_ratio: float, *,
                           tau: float = 1.0, generator: torch.Generator | None = None
                           ) -> tuple[Tensor, Tensor]:
    """A Gumbel top-k sample per graph with a straight-through gradient.

    Returns ``(keep, weight)``: the boolean keep-mask (exactly ``k_g`` nodes per graph) and a
    float tensor equal to ``keep`` in the forward pass whose gradient is that of
    ``sigmoid((scores + gumbel - t_g) / tau)``, ``t_g`` being the midpoint between graph g's
    ``k_g``-th and ``(k_g+1)``-th perturbed scores: multiplying the selected tokens by
    ``weight`` lets the task loss train the scorer.
    """
    if not tau > 0:
        raise ValueError(f"tau must be positive, got {tau}")
    u = torch.rand(scores.shape, generator=generator, device=scores.device, dtype=scores.dtype)
    gumbel = -torch.log(-torch.log(u.clamp_(1e-10, 1.0 - 1e-7)))
    perturbed = (scores + gumbel) / tau
    counts = torch.bincount(batch, minlength=num_graphs)
    k = tokens_per_graph(counts, keep_ratio)
    rank = rank_in_graph(perturbed.detach(), batch, num_graphs)
    keep = rank < k[batch]
    # each graph's threshold halfway between its last kept and first dropped perturbed score
    detached = perturbed.detach()
    last_kept = torch.full((num_graphs,), float("inf"), dtype=scores.dtype, device=scores.device)
    first_dropped = torch.full_like(last_kept, -float("inf"))
    last_kept = last_kept.scatter_reduce(0, batch[keep], detached[keep], "amin")
    first_dropped = first_dropped.scatter_reduce(0, batch[~keep], detached[~keep], "amax")
    threshold = torch.where(torch.isinf(first_dropped), last_kept - 1.0,
                            torch.where(torch.isinf(last_kept), first_dropped + 1.0,
                                        0.5 * (last_kept + first_dropped)))
    relaxed = straight_through_mask(perturbed - threshold[batch], threshold=0.0)
    # the forward value is exactly ``keep`` even where perturbed scores tie at a threshold
    weight = keep.to(scores.dtype) + (relaxed - relaxed.detach())
    return keep, weight
