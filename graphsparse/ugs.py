"""UGS, the unified GNN sparsification baseline (Chen et al., "A Unified Lottery Ticket Hypothesis
for Graph Neural Networks", ICML 2021), in the TEDDY level harness.

Every round trains the model from its initialization with two kinds of trainable masks: one
score per undirected edge, multiplied (through ``relu``) into the messages of every PyG
``MessagePassing`` layer in both directions, and one score per weight, multiplied into the
weights. Both carry an L1 penalty. The masks of the best validation epoch rank what is left: the
round keeps the highest-scoring edges and weights down to the level's counts, and the ticket is
evaluated by retraining from the same initialization (rewinding) with the pruned graph and fixed
weight masks.

Self-loops are never pruned and not counted, as in TEDDY: their mask is fixed at 1, the sizes
count the non-loop undirected edges, and every pruned graph keeps all the loops it had.

The counts follow TEDDY's level schedule (``0.95^i`` of the edges, ``0.9^i`` of the weights), so
every method is compared at the same sparsity: a round removes 5% of the remaining edges, as in
UGS, but 10% of the remaining weights, where UGS's own schedule removes 20%.

Notes
-----
As in UGS's released code (VITA-Group/Unified-LTH-GNN, ``NodeClassification``): the masks start at
1 plus uniform noise in [-1e-5, 1e-5]; their L1 penalties are ``graph_l1 * sum|edge mask|`` and
``weight_l1 * sum|weight mask|`` (the code's ``s1`` and ``s2``, added there as sign subgradients;
our defaults, 1e-4, are its argparse defaults); one Adam (lr 0.01, weight decay 5e-4) trains the
weights and the masks alike, weight decay on the masks included; the masks are taken at the first
epoch of the best validation accuracy (scored after that epoch's step, dropout off); the weight
masks are ranked by magnitude with one threshold over all layers; every round starts from the
same initialization and the ticket is retrained from it, 200 epochs each. Where we differ:

* The code learns one mask entry per directed edge (a dense N x N mask for GCN, one per DGL
  edge for GAT and GIN) and ranks the directed entries, so the two directions of an edge are
  pruned independently and a pruned graph may be directed. Here one score per undirected pair
  is shared by both directions (their gradients add up against one L1 term) and a pair is kept
  or pruned whole.
* Where the mask acts: GCN's code multiplies it into the adjacency before the normalisation
  (a mask also changes the degrees), GAT's into the attention logits before the softmax (a zero
  entry gives logit 0, not a removed message), GIN's into the messages. Here, for every model,
  it multiplies the messages after the normalisation or the softmax.
* The code uses the raw mask (it may turn negative) and ranks edges and weights by its absolute
  value; here the edge mask passes through ``relu`` and ranks by ``relu(mask)``, so an edge whose
  mask went negative scores 0 (weight masks rank by absolute value, as in the code).
* Counts: the code prunes the entries at or below the ``int(p * n)``-th smallest of the ``n``
  still there (``p`` 0.05 for edges and 0.2 for weights in its README runs; ties at the threshold
  all go); here the exact counts of TEDDY's levels above.
* Self-loops: GCN's code adds the identity after the mask, so those loops stay as here, but loops
  already in its raw adjacency (CiteSeer's 124) are masked and prunable, as are the loops its GAT
  adds to the graph; here no loop is ever masked or pruned.
* Hyper-parameters: the README runs of the code set ``s1``/``s2`` per dataset and model (GCN on
  Cora and CiteSeer 1e-2/1e-2, on PubMed 1e-6/1e-3; GIN and GAT from 1e-7 to 1e-2) and lr 0.008,
  weight decay 8e-5 on Cora; :mod:`graphsparse.levels` keeps the defaults everywhere. The code's
  GCN has no biases and its weight masks cover its ``Linear`` weights; here every parameter of two
  or more dimensions is masked (PyG GAT's attention vectors included, biases not).
* The code's GAT and GIN scripts switch the model to eval mode after the first epoch and never
  back, so their dropout acts in that epoch only; here dropout acts in every training epoch.
* The code reseeds the masks' noise identically every round; here one generator seeded by
  ``seed`` runs on through the rounds.
"""

from __future__ import annotations

import math
import numbers
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from graphsparse.gnn.models import (
    check_edge_index,
    count_prunable_weights,
    model_factory,
    model_inputs,
    prunable_weights,
)
from graphsparse.gnn.training import (
    accuracy,
    check_node_task,
    check_weight_keep_ratio,
    node_mask,
    train_node_classifier,
)
from graphsparse.teddy import level_keep_ratios, unweighted_structure
from graphsparse.transforms import keep_edge_columns
from sparsebox._validation import SEED, Interval, Options, check_int
from sparsebox.base import Sparsifier, with_gradients
from sparsebox.exceptions import InvalidParameterError
from sparsebox.masks import l0_project_
from sparsebox.seeding import seeded_generator, seeded_torch
from sparsebox.select import budget_from_keep_ratio, select
from sparsebox.structure import SparseStructure, undirected_pair_keys

__all__ = ["edge_pairs", "loop_pairs", "ugs_round_counts", "ugs_mask_search", "ugs_rounds",
           "ugs_levels", "UgsPruner"]


def edge_pairs(edge_index: torch.Tensor, num_nodes: int) -> tuple[np.ndarray, int]:
    """``(pair, num_pairs)``: the undirected pair (0 .. num_pairs-1) of every directed edge.

    Examples
    --------
    >>> pair, n = edge_pairs(torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]]), 3)
    >>> pair.tolist(), n
    ([0, 0, 1, 1], 2)
    """
    ei = edge_index.cpu().numpy()
    _, pair = np.unique(undirected_pair_keys(ei[0], ei[1], num_nodes), return_inverse=True)
    return pair.reshape(-1), int(pair.max()) + 1 if pair.size else 0


def loop_pairs(edge_index: torch.Tensor, pair: np.ndarray, num_pairs: int) -> np.ndarray:
    """Which of the ``num_pairs`` undirected pairs (``pair``: :func:`edge_pairs` of
    ``edge_index``) are self-loops, the pairs UGS never prunes.

    Examples
    --------
    >>> ei = torch.tensor([[0, 1, 1, 2], [1, 0, 1, 2]])
    >>> loop_pairs(ei, *edge_pairs(ei, 3)).tolist()
    [False, True, True]
    """
    ei = edge_index.cpu().numpy()
    is_loop = np.zeros(num_pairs, dtype=bool)
    is_loop[pair[ei[0] == ei[1]]] = True
    return is_loop


def ugs_round_counts(num_edges: int, target: int, round_fraction: float) -> list[int]:
    """The edges left after each pruning round: every round removes ``round_fraction`` of the
    edges still there (rounded to the nearest count) but at least one, and the last round lands
    exactly on ``target``.

    At least one per round, or a round of a small graph (``count <= 0.5 / round_fraction``) would
    round back to the count it started from and the schedule never end.

    Examples
    --------
    >>> ugs_round_counts(12, 9, 0.05)
    [11, 10, 9]
    >>> ugs_round_counts(100, 80, 0.05)
    [95, 90, 86, 82, 80]
    >>> ugs_round_counts(5, 5, 0.05)
    []
    """
    if not 0 < round_fraction < 1:
        raise InvalidParameterError(f"round_fraction must be in (0, 1), got {round_fraction}")
    if not 0 <= target <= num_edges:
        raise InvalidParameterError(f"target must be in [0, {num_edges}], got {target}")
    counts, count = [], num_edges
    while count > target:
        fewer = budget_from_keep_ratio(1.0 - round_fraction, count)
        count = max(target, min(count - 1, fewer))
        counts.append(count)
    return counts


def _edge_mask_slots(edge_index: torch.Tensor, num_nodes: int
                     ) -> tuple[np.ndarray, int, torch.Tensor]:
    """``(learned, num_pairs, column_slot)``: the undirected pairs that get a learned mask (all
    but the self-loops, in :func:`edge_pairs` order), the number of pairs, and per column of
    ``edge_index`` the index of its pair's mask in ``learned`` order, ``-1`` for a self-loop
    (the slot of a constant 1 appended after the learned masks).

    Examples
    --------
    >>> learned, n, slot = _edge_mask_slots(torch.tensor([[0, 1, 1, 2], [1, 0, 1, 2]]), 3)
    >>> learned.tolist(), n, slot.tolist()
    ([0], 3, [0, 0, -1, -1])
    """
    pair, num_pairs = edge_pairs(edge_index, num_nodes)
    learned = np.flatnonzero(~loop_pairs(edge_index, pair, num_pairs))
    slot = np.full(num_pairs, -1)
    slot[learned] = np.arange(learned.size)
    return learned, num_pairs, torch.from_numpy(slot[pair])


@with_gradients
def ugs_mask_search(model: nn.Module, data: Any, weight_masks: list[torch.Tensor], *,
                    epochs: int = 200, lr: float = 0.01, weight_decay: float = 5e-4,
                    graph_l1: float = 1e-4, weight_l1: float = 1e-4,
                    generator: torch.Generator | None = None, score: Any = None
                    ) -> tuple[np.ndarray, list[torch.Tensor]]:
    """Train ``model`` jointly with an edge mask and weight masks; return the masks of the best
    validation epoch as ``(score per undirected pair, score per weight)``.

    ``weight_masks`` (booleans, one per weight matrix) fixes the weights pruned in earlier
    rounds at zero. Masks start at 1 with uniform noise of at most 1e-5 to break ties and share
    the model's Adam, weight decay included, as in UGS's code. Self-loops are not masked (their
    messages pass whole) and score ``inf``: UGS never prunes them.

    Examples
    --------
    >>> from torch_geometric.datasets import KarateClub
    >>> g = KarateClub()[0]  # 34 nodes, 78 undirected edges, 4 labelled nodes
    >>> g.val_mask = g.test_mask = ~g.train_mask
    >>> from graphsparse.gnn.models import make_model
    >>> model = make_model("gcn", 34, 4, hidden=8)
    >>> keep_all = [torch.ones_like(w, dtype=torch.bool) for w in prunable_weights(model)]
    >>> edge_scores, weight_scores = ugs_mask_search(model, g, keep_all, epochs=5)
    >>> edge_scores.shape, [tuple(s.shape) for s in weight_scores]
    ((78,), [(8, 34), (4, 8)])
    """
    from torch.func import functional_call
    from torch_geometric.explain.algorithm.utils import clear_masks, set_masks

    score = score or accuracy
    epochs = check_int("epochs", epochs, minimum=1)
    names = [n for n, p in model.named_parameters() if p.dim() >= 2]
    params = dict(model.named_parameters())
    if len(weight_masks) != len(names):
        raise ValueError(f"weight_masks must hold {len(names)} masks, got {len(weight_masks)}")
    learned, num_pairs, column_slot = _edge_mask_slots(data.edge_index, data.num_nodes)

    def noisy_ones(shape: torch.Size) -> nn.Parameter:
        noise = torch.rand(shape, generator=generator) * 2e-5 - 1e-5
        return nn.Parameter(1.0 + noise)

    edge_mask = noisy_ones(torch.Size([learned.size]))
    unmasked = torch.ones(1)  # the slot of every self-loop column
    fixed = {n: m.to(params[n].dtype) for n, m in zip(names, weight_masks, strict=True)}
    wmask = {n: noisy_ones(params[n].shape) for n in names}
    # One Adam for the weights and the masks alike, weight decay included, as UGS's code has it.
    opt = torch.optim.Adam([*model.parameters(), edge_mask, *wmask.values()], lr=lr,
                           weight_decay=weight_decay)
    x, edge_index = model_inputs(model, data, sparse_adjacency=False)

    def forward() -> torch.Tensor:
        column_mask = torch.cat([torch.relu(edge_mask), unmasked])[column_slot]
        set_masks(model, column_mask, edge_index, apply_sigmoid=False)
        masked = {n: params[n] * wmask[n] * fixed[n] for n in names}
        return functional_call(model, masked, (x, edge_index))

    best_val, best = -math.inf, None  # from -inf: a scorer below -1 or NaN left no best epoch
    train, val_nodes = node_mask(data, "train_mask"), node_mask(data, "val_mask")
    try:
        for _ in range(epochs):
            model.train()
            opt.zero_grad()
            out = forward()
            loss = F.cross_entropy(out[train], data.y[train].long())
            loss = loss + graph_l1 * edge_mask.abs().sum()
            loss = loss + weight_l1 * sum((wmask[n] * fixed[n]).abs().sum() for n in names)
            loss.backward()
            opt.step()
            model.eval()
            with torch.no_grad():
                val = score(forward(), data.y, val_nodes)
            if best is None or val > best_val or math.isnan(best_val):
                best_val = val
                best = (torch.relu(edge_mask).detach().clone(),
                        [(wmask[n] * fixed[n]).detach().abs() for n in names])
    finally:
        clear_masks(model)
    edge_scores = np.full(num_pairs, np.inf)
    edge_scores[learned] = best[0].numpy()  # epochs >= 1, so some epoch was the best
    return edge_scores, best[1]


def ugs_rounds(data: Any, factory: Callable[[], nn.Module], seed: int,
               counts: list[tuple[int, int]], *, epochs: int = 200, graph_l1: float = 1e-4,
               weight_l1: float = 1e-4, score: Any = None
               ) -> Iterator[tuple[np.ndarray, list[torch.Tensor], Any, np.ndarray]]:
    """UGS's pruning rounds: round ``r`` searches masks on the graph left by round ``r - 1``
    (from the same initialization) and keeps the ``counts[r][0]`` best undirected non-loop edges
    (and every self-loop) and the ``counts[r][1]`` best weights (never one pruned before). Yields,
    per round, ``(pair_kept, weight_masks, graph, scores)``: the kept pairs (in :func:`edge_pairs`
    order, self-loops included), the weight masks, the pruned PyG graph (every per-edge attribute
    sliced with its edges), and this round's mask scores of the pairs it saw (NaN for the others,
    ``inf`` for self-loops).

    The models are built and trained with torch's global random state seeded by ``seed``; the
    caller's random state is left as it was."""
    pair, num_pairs = edge_pairs(data.edge_index, data.num_nodes)
    is_loop = loop_pairs(data.edge_index, pair, num_pairs)
    pair_kept = np.ones(num_pairs, dtype=bool)
    with seeded_torch(seed):
        weight_masks = [torch.ones_like(w, dtype=torch.bool) for w in prunable_weights(factory())]
    generator = seeded_generator(seed)
    current = data
    for edge_count, weight_count in counts:
        with seeded_torch(seed):  # rewind: every round starts from the same initialization
            edge_scores, weight_scores = ugs_mask_search(
                factory(), current, weight_masks, epochs=epochs, graph_l1=graph_l1,
                weight_l1=weight_l1, generator=generator, score=score)
        # Scores of the pairs still in the graph, in the order of edge_pairs(current).
        live = np.flatnonzero(pair_kept)
        pair_kept[live] = _keep_best_pairs(edge_scores, is_loop[live], edge_count)
        current = keep_edge_columns(data, torch.from_numpy(pair_kept[pair]))
        k = min(weight_count, sum(int(m.sum()) for m in weight_masks))
        ranked = l0_project_([s.clone() for s in weight_scores], k=k)
        weight_masks = [new & old for new, old in zip(ranked, weight_masks, strict=True)]
        seen = np.full(num_pairs, np.nan)
        seen[live] = edge_scores
        yield pair_kept.copy(), weight_masks, current, seen


def _keep_best_pairs(scores: np.ndarray, is_loop: np.ndarray, count: int) -> np.ndarray:
    """Keep-mask over pairs: every self-loop, and the ``count`` best-scoring other pairs (all of
    them when there are fewer).

    Examples
    --------
    >>> _keep_best_pairs(np.array([0.3, np.inf, 0.9, 0.5]), np.array([0, 1, 0, 0], bool), 1)
    array([False,  True,  True, False])
    """
    keep = is_loop.copy()
    candidates = np.flatnonzero(~is_loop)
    keep[candidates[select(scores[candidates], budget=min(count, candidates.size))]] = True
    return keep


def ugs_levels(data: Any, factory: Callable[[], nn.Module], levels: list[int], seed: int, *,
               epochs: int = 200, graph_l1: float = 1e-4, weight_l1: float = 1e-4,
               progress: Callable[[dict], None] | None = None,
               score: Any = None) -> Iterator[dict]:
    """Run UGS rounds ``1 .. max(levels)`` to TEDDY's level counts; yield a record per requested
    level, its ticket retrained from the initialization with the pruned graph and weight masks.

    The counts are of the undirected non-loop edges, as TEDDY's; self-loops always stay, and a
    record's ``edge_keep`` is the share of the non-loop edges kept. A record's ``seconds`` is the
    time since the previous record (mask searches of skipped rounds included), so the sum over
    records is UGS's wall time to reach the last level. The caller's torch random state is left
    as it was.

    Examples
    --------
    >>> from torch_geometric.datasets import KarateClub
    >>> g = KarateClub()[0]
    >>> g.val_mask = g.test_mask = ~g.train_mask
    >>> from graphsparse.gnn.models import make_model
    >>> records = ugs_levels(g, lambda: make_model("gcn", 34, 4, hidden=8), [2, 4], seed=0,
    ...                      epochs=5)
    >>> [(r["level"], round(r["edge_keep"], 2), round(r["weight_keep"], 2)) for r in records]
    [(2, 0.9, 0.81), (4, 0.82, 0.65)]
    """
    levels = sorted(set(levels))
    pair, num_pairs = edge_pairs(data.edge_index, data.num_nodes)
    is_loop = loop_pairs(data.edge_index, pair, num_pairs)
    num_edges, total_weights = int((~is_loop).sum()), count_prunable_weights(factory)
    counts = [(budget_from_keep_ratio(level_keep_ratios(level)[0], num_edges),
               budget_from_keep_ratio(level_keep_ratios(level)[1], total_weights))
              for level in range(1, levels[-1] + 1)]
    start = time.perf_counter()
    rounds = ugs_rounds(data, factory, seed, counts, epochs=epochs, graph_l1=graph_l1,
                        weight_l1=weight_l1, score=score)
    for level, (pair_kept, weight_masks, current, _) in enumerate(rounds, start=1):
        if level not in levels:
            continue
        with seeded_torch(seed):
            res = train_node_classifier(factory(), current, epochs=epochs,
                                        weight_masks=weight_masks, score=score)
        edge_keep = int(pair_kept[~is_loop].sum()) / max(num_edges, 1)
        rec = {"method": "ugs", "level": level, "edge_keep": edge_keep,
               "weight_keep": res.weight_keep, "seed": seed, "test_acc": res.test_acc,
               "val_acc": res.val_acc, "seconds": time.perf_counter() - start}
        start = time.perf_counter()
        if progress:
            progress(rec)
        yield rec


class UgsPruner(Sparsifier):
    """UGS as an estimator: a graph's edges pruned in rounds by learned masks (Chen et al., "A
    Unified Lottery Ticket Hypothesis for Graph Neural Networks", ICML 2021).

    Each round trains ``model`` on the node-classification task from the same initialization,
    with an L1-penalized score per undirected edge (multiplied into every layer's messages) and
    per weight, and keeps the best-scoring ``1 - round_fraction`` of the edges still there (5%
    removed per round, as in UGS; at least one edge, so small graphs get there too), the last
    round landing on the exact size (:func:`ugs_round_counts`). Self-loops always stay and are
    not counted, as in TEDDY. Weights are pruned alongside to ``weight_keep_ratio`` when it is
    given (``weight_masks_``), over the same rounds (or, where every edge stays, over the
    rounds that ``round_fraction`` per round would take the weights there).

    The models train on the unweighted graph (``x`` and ``edge_index``): a ``data.edge_weight``
    other than all ones is refused rather than ignored. To prune a weighted graph by its
    structure, fit on a copy without the weights; ``transform`` slices ``edge_weight`` and every
    other per-edge attribute with the kept edges. ``fit`` seeds its models with ``seed`` and
    leaves torch's global random state as it was.

    Parameters
    ----------
    keep_ratio, budget, density : float, int, float (at most one; default keep_ratio 0.5)
        Fraction of the undirected non-loop edges kept, their exact count, or kept edges per
        node.
    model : {"gcn", "gat", "gin"}
    epochs : int
        Training epochs of each round's mask search.
    round_fraction : float in (0, 1)
        Share of the remaining edges each round removes (at least one edge).
    weight_keep_ratio : float in (0, 1], optional
        Prune the weights to this fraction over the same rounds.
    graph_l1, weight_l1 : float
        The masks' L1 penalties.
    seed : int

    Attributes
    ----------
    scores_ : ndarray of float
        Per undirected edge (in :func:`edge_pairs` order): the rounds it survived plus its rank in
        the last round that scored it, scaled into [0, 1); ``inf`` for self-loops.
        ``select(scores_, budget=kept edges + self-loops)`` gives ``mask_``.
    mask_ : ndarray of bool
    weight_masks_ : list of Tensor or None
    rounds_ : int

    Examples
    --------
    >>> from torch_geometric.datasets import KarateClub
    >>> g = KarateClub()[0]
    >>> g.val_mask = g.test_mask = ~g.train_mask
    >>> ugs = UgsPruner(keep_ratio=0.8, epochs=5).fit(g)
    >>> int(ugs.mask_.sum()), ugs.rounds_, ugs.transform(g).edge_index.shape[1]
    (62, 5, 124)
    """

    item = "edge"
    sizing = ("keep_ratio", "budget", "density")
    default_size = ("keep_ratio", 0.5)
    _parameter_constraints = {
        "model": [Options(("gcn", "gat", "gin"))],
        "epochs": [Interval(numbers.Integral, 1, None, closed="left")],
        "round_fraction": [Interval(numbers.Real, 0, 1, closed="neither")],
        "weight_keep_ratio": [Interval(numbers.Real, 0, 1, closed="right"), None],
        "graph_l1": [Interval(numbers.Real, 0, None, closed="left")],
        "weight_l1": [Interval(numbers.Real, 0, None, closed="left")],
        "seed": SEED,
    }

    def __init__(self, *, keep_ratio: float | None = None, budget: int | None = None,
                 density: float | None = None, model: str = "gcn", epochs: int = 200,
                 round_fraction: float = 0.05, weight_keep_ratio: float | None = None,
                 graph_l1: float = 1e-4, weight_l1: float = 1e-4, seed: int = 0) -> None:
        self.keep_ratio = keep_ratio
        self.budget = budget
        self.density = density
        self.model = model
        self.epochs = epochs
        self.round_fraction = round_fraction
        self.weight_keep_ratio = weight_keep_ratio
        self.graph_l1 = graph_l1
        self.weight_l1 = weight_l1
        self.seed = seed

    def fit(self, data: Any, y: Any = None) -> UgsPruner:
        self._validate_params()
        _check_node_task(data)
        pair, num_pairs = edge_pairs(data.edge_index, data.num_nodes)
        is_loop = loop_pairs(data.edge_index, pair, num_pairs)
        num_edges = int((~is_loop).sum())
        target = self._size(num_edges, num_nodes=int(data.num_nodes), num_loops=int(is_loop.sum()))
        factory = model_factory(data, self.model)
        total_weights = count_prunable_weights(factory)
        if self.weight_keep_ratio is not None:
            check_weight_keep_ratio(self.weight_keep_ratio, total_weights)
        counts = self._round_budgets(self._edge_rounds(num_edges, target), total_weights)
        scores = np.zeros(num_pairs)
        last: tuple[np.ndarray, Any] = (np.ones(num_pairs, dtype=bool), None)
        for r, (kept, weight_masks, _, seen) in enumerate(ugs_rounds(
                data, factory, self.seed, counts, epochs=self.epochs, graph_l1=self.graph_l1,
                weight_l1=self.weight_l1)):
            last = (kept, weight_masks)
            live = ~np.isnan(seen)
            scores[live] = r + _ranks(seen[live])  # pairs dropped later, or never, score higher
        kept, weight_masks = last
        scores[kept] += 1.0  # above every pair dropped, the last round's included
        scores[is_loop] = np.inf
        self.scores_, self.mask_ = scores, kept
        self.weight_masks_ = weight_masks if self.weight_keep_ratio is not None else None
        self.rounds_ = len(counts)
        self._fitted_on(self._edge_structure(data))
        return self

    def _edge_rounds(self, num_edges: int, target: int) -> list[int]:
        """The edges kept after each round; where the edges need no round but the weights are
        to be pruned, as many rounds keeping every edge as ``round_fraction`` would take the
        weights to ``weight_keep_ratio``."""
        counts = ugs_round_counts(num_edges, target, self.round_fraction)
        weight_keep = self.weight_keep_ratio or 1.0
        if counts or weight_keep == 1.0:
            return counts
        return [num_edges] * max(1, math.ceil(math.log(weight_keep) / math.log1p(-self.round_fraction)))

    def _round_budgets(self, edge_counts: list[int], total_weights: int) -> list[tuple[int, int]]:
        """``(edges, weights)`` kept after each round: the weights go geometrically to
        ``weight_keep_ratio`` (all of them without one) over the same rounds."""
        weight_keep = self.weight_keep_ratio or 1.0
        return [(c, budget_from_keep_ratio(weight_keep ** ((r + 1) / len(edge_counts)),
                                           total_weights)) for r, c in enumerate(edge_counts)]

    def _edge_structure(self, data: Any) -> SparseStructure:
        return unweighted_structure(data)

    def _num_items(self, data: Any) -> int:
        if getattr(data, "edge_index", None) is None:
            raise InvalidParameterError(
                f"{type(self).__name__}.transform takes a PyG Data (with edge_index and "
                f"num_nodes), got a {type(data).__name__}")
        check_edge_index(data.edge_index, int(data.num_nodes))  # pairs of nodes past it would merge
        return edge_pairs(data.edge_index, data.num_nodes)[1]

    def _apply(self, data: Any) -> Any:
        pair, _ = edge_pairs(data.edge_index, data.num_nodes)
        return keep_edge_columns(data, torch.from_numpy(self.mask_[pair]))


def _ranks(values: np.ndarray) -> np.ndarray:
    """Each value's rank among ``values`` (ties in order), scaled into [0, 1).

    Examples
    --------
    >>> _ranks(np.array([0.5, 0.1, 0.9, 0.3])).tolist()
    [0.5, 0.0, 0.75, 0.25]
    """
    rank = np.empty(values.size)
    rank[np.argsort(values, kind="stable")] = np.arange(values.size) / max(values.size, 1)
    return rank


def _check_node_task(data: Any) -> None:
    """Refuse what UGS cannot train on: anything but a PyG graph of a node-classification task
    (one class per node, one non-empty train and validation mask), and edge weights, which its
    unweighted models would ignore."""
    check_node_task(data, ("train_mask", "val_mask"))
    weight = getattr(data, "edge_weight", None)
    if weight is not None and not bool((torch.as_tensor(weight) == 1).all()):
        raise InvalidParameterError(
            "data has an edge_weight, but UGS trains its GNN on the unweighted graph and would "
            "ignore it; to prune by structure alone, fit on a copy without it (del "
            "copy.edge_weight): transform keeps the weights of the kept edges")
