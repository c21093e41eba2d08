"""Random edge pruning, the baseline every edge method must beat: undirected edges kept uniformly
at random, both directions together, the same pairs for a seed in any edge order."""

from __future__ import annotations

from typing import Any

import numpy as np

from graphsparse.teddy import kept_part, unweighted_structure
from sparsebox._validation import SEED, check_int
from sparsebox.base import Sparsifier
from sparsebox.exceptions import InvalidParameterError
from sparsebox.select import select
from sparsebox.structure import SparseStructure, undirected_pair_keys

__all__ = ["RandomEdgePruner", "prune_edges_random"]


class RandomEdgePruner(Sparsifier):
    """Keep edges uniformly at random, to an exact count of the non-loop edges; self-loops always
    stay and are not counted, as in :class:`~graphsparse.teddy.TeddyPruner` and UGS.

    Edge ``{u, v}`` (``u <= v``) scores the number at position ``u * num_nodes + v`` of the
    stream ``np.random.default_rng(seed).random(...)``, and the highest scores are kept: a seed
    keeps the same edges however the graph lists them (:func:`prune_edges_random` scores the
    pairs of a PyG ``edge_index`` the same way, but counts every pair it is given: pass it the
    non-loop columns, as :func:`~graphsparse.levels.random_pruned` does). Time and memory grow
    with the edges, not with ``num_nodes**2``.
    Edge weights are never read: a PyG ``Data`` may carry any ``edge_weight`` (see
    :func:`~graphsparse.teddy.unweighted_structure`).

    Parameters
    ----------
    keep_ratio, budget, density : float, int, float (at most one; default keep_ratio 0.5)
        The fraction of the non-loop edges kept, their exact count, or kept non-loop edges per
        node.
    seed : int

    Attributes
    ----------
    scores_ : ndarray of float
        The seed's stream at each edge's pair key (one per item of the graph; ``inf`` on
        self-loops, which are always kept).
    mask_ : ndarray of bool

    Examples
    --------
    >>> import numpy as np
    >>> triangle = np.array([[0, 1, 1, 2, 2, 0], [1, 0, 2, 1, 0, 2]])
    >>> RandomEdgePruner(budget=2, seed=0).fit(triangle).mask_.sum()
    np.int64(2)
    """

    item = "edge"
    sizing = ("keep_ratio", "budget", "density")
    default_size = ("keep_ratio", 0.5)
    _parameter_constraints = {"seed": SEED}

    def __init__(self, *, keep_ratio: float | None = None, budget: int | None = None,
                 density: float | None = None, seed: int = 0) -> None:
        self.keep_ratio = keep_ratio
        self.budget = budget
        self.density = density
        self.seed = seed

    def fit(self, graph: Any, y: Any = None) -> RandomEdgePruner:
        self._validate_params()
        g = unweighted_structure(graph)
        loops = g.rows == g.cols
        num_prunable, num_loops = int((~loops).sum()), int(loops.sum())
        keep = self._size(num_prunable, num_nodes=g.num_nodes, num_loops=num_loops)
        keys = (undirected_pair_keys(g.rows, g.cols, g.num_nodes) if g.is_undirected
                else g.rows * max(g.num_nodes, 1) + g.cols)
        order = np.argsort(keys, kind="stable")
        scores = np.empty(g.num_items)
        scores[order] = _stream_at(self.seed, keys[order])
        scores[loops] = np.inf  # always kept: the top of the scores, as TEDDY's and UGS's
        self.scores_, self.mask_ = scores, select(scores, budget=keep + num_loops, protected=loops)
        self._fitted_on(g)
        return self

    def _apply(self, graph: Any) -> SparseStructure:
        return kept_part(graph, self.mask_)

    def _edge_structure(self, graph: Any) -> SparseStructure:
        return unweighted_structure(graph)


def prune_edges_random(edge_index: Any, num_nodes: int, keep: int, seed: int) -> Any:
    """``keep`` undirected edges chosen uniformly at random (both directions together).

    Pair ``{u, v}`` (``u <= v``) scores the number at position ``u * num_nodes + v`` of the
    stream ``np.random.default_rng(seed).random(...)``, so a seed picks the same pairs in any
    edge order and in any graph on the same nodes; time and memory grow with the edges, not with
    ``num_nodes**2``. ``edge_index`` is PyG's ``[2, num_edges]`` tensor (or an array, and then
    the kept columns are an array).

    Examples
    --------
    >>> import torch
    >>> ei = torch.tensor([[0, 1, 1, 2, 2, 0], [1, 0, 2, 1, 0, 2]])
    >>> prune_edges_random(ei, 3, keep=2, seed=0).shape
    torch.Size([2, 4])
    """
    ei = edge_index.cpu().numpy() if hasattr(edge_index, "cpu") else np.asarray(edge_index)
    if ei.ndim != 2 or ei.shape[0] != 2 or not (ei.size == 0 or np.issubdtype(ei.dtype, np.integer)):
        raise InvalidParameterError(f"edge_index must be integer node ids of shape [2, num_edges] "
                                    f"(PyG's layout), got {ei.dtype} of shape {list(ei.shape)}")
    num_nodes = check_int("num_nodes", num_nodes, minimum=0)
    seed = check_int("seed", seed, minimum=0)
    if ei.size and (ei.min() < 0 or ei.max() >= num_nodes):  # else pair keys of two pairs meet
        raise InvalidParameterError(f"edge_index must hold nodes 0..{num_nodes - 1} (num_nodes "
                                    f"{num_nodes}), got {ei.min()}..{ei.max()}")
    pair = undirected_pair_keys(ei[0], ei[1], num_nodes)
    keys, inverse = np.unique(pair, return_inverse=True)
    keep = check_int("keep", keep, minimum=0, maximum=keys.size)
    mask = select(_stream_at(seed, keys)[inverse], budget=keep, groups=pair)
    if not hasattr(edge_index, "cpu"):
        return ei[:, mask]
    import torch

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
