"""The TEDDY level protocol: dense, TEDDY, random pruning and UGS, level by level.

* ``teddy``: at level ``i`` the graph keeps the ``0.95^i`` of its undirected edges that score
  highest under TEDDY's degree score of the original graph (one-shot, as in the paper's code, so
  the levels are nested; for GAT the self-loops count in the degrees); the student is trained
  with its weights projected onto the l0 ball (``0.9^i`` of them kept, globally, after every
  optimizer step) and distilled from a dense teacher: ``CE + lambda KL(teacher || student)`` over
  all nodes.
* ``random``: random undirected edges to the same count, the same weight projection, no
  distillation.
* ``ugs``: the UGS baseline (:mod:`graphsparse.ugs`): learned edge and weight masks, pruned
  round by round to the same counts, each ticket retrained from the initialization.
* ``dense``: the unpruned model (level 0).

Every method keeps the same number of undirected non-loop edges at a level and all the
self-loops (loops never compete for the budget, and, unlike TEDDY's code for GAT, they do not
count in the total the level's share is taken of), and a record's ``edge_keep`` is the share of
the graph's non-loop edges the method's pruned graph actually holds.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from graphsparse.gnn.models import count_prunable_weights, model_factory
from graphsparse.gnn.training import DISTILL_LAMBDA, Scorer, check_node_task, train_node_classifier
from graphsparse.random_edges import prune_edges_random
from graphsparse.teddy import level_keep_ratios, teddy_edge_scores, unweighted_structure
from graphsparse.teddy_report import METHODS
from graphsparse.transforms import keep_edge_columns
from graphsparse.ugs import ugs_levels
from sparsebox._validation import check_choice, check_int, check_real, scalar_item
from sparsebox.exceptions import InvalidParameterError
from sparsebox.seeding import seeded_torch
from sparsebox.select import budget_from_keep_ratio, select
from sparsebox.structure import undirected_pair_keys

__all__ = ["METHODS", "level_keep_ratios", "run_levels", "count_edge_pairs", "random_pruned",
           "teddy_pruned", "check_levels_fit", "check_levels_keep_some"]


def run_levels(data: Any, model_name: str, levels: list[int], seeds: list[int], *,
               methods: tuple[str, ...] = ("dense", "teddy", "random"), epochs: int = 200,
               factory: Callable[..., nn.Module] | None = None,
               progress: Callable[[dict], None] | None = None,
               score: Scorer | None = None,
               distill_lambda: float = DISTILL_LAMBDA, executor: Any = None) -> list[dict]:
    """The level protocol; one record per (method, level, seed):
    ``{method, level, edge_keep, weight_keep, seed, test_acc, val_acc, seconds}``. ``methods`` is
    any of ``METHODS``; ``levels`` start at 1 (the dense model is level 0), and a level or a seed
    given twice runs once. The dense model is trained in any case when TEDDY needs it as
    teacher, and ``distill_lambda`` weighs TEDDY's distillation term. ``data`` must be a node
    classification task (:func:`~graphsparse.gnn.training.check_node_task`); it and every
    parameter are checked before any training. With an ``executor``
    (:mod:`sparsebox.parallel`) every seed is one task, the graph shared once, and ``progress``
    sees each record as it arrives (``factory`` and ``score`` must then be picklable)."""
    if isinstance(methods, str):  # a string is a sequence: it was read letter by letter
        methods = (methods,)
    for method in methods:
        check_choice("methods", method, METHODS)
    levels = _distinct_ints("levels", levels, minimum=1)  # level 0 is the dense model's
    seeds = _distinct_ints("seeds", seeds, minimum=0)
    # all of it before any training (the dense model trained before a bad lambda was seen)
    check_node_task(data)  # before a model is sized from data.x and data.y
    epochs = check_int("epochs", epochs, minimum=1)
    distill_lambda = check_real("distill_lambda", distill_lambda, minimum=0)
    make = factory or model_factory(data, model_name)
    num_pairs = check_levels_fit(data, make, levels, methods)
    if executor is not None:
        options = {"model_name": model_name, "levels": list(levels), "methods": tuple(methods),
                   "epochs": epochs, "factory": factory, "score": score,
                   "distill_lambda": distill_lambda}
        results = executor.run(_seed_task, [{**options, "seed": s} for s in seeds],
                               on_record=progress, shared=data)
        return [record for seed_records in results for record in seed_records]
    factory = make
    records: list[dict] = []

    def emit(record: dict) -> None:
        records.append(record)
        if progress:
            progress(record)
    for seed in seeds:
        _run_seed(data, seed, levels, methods, model_name, factory, epochs, score,
                  distill_lambda, num_pairs, emit)
        if "ugs" in methods:
            records.extend(ugs_levels(data, factory, levels, seed, epochs=epochs,
                                      progress=progress, score=score))
    return records


def _distinct_ints(name: str, values: Any, *, minimum: int) -> list[int]:
    """``values`` (levels or seeds) as Python ints (records hold them), each once: a repeated
    one was trained and recorded again, and the report counted it as another seed.

    Examples
    --------
    >>> _distinct_ints("seeds", [0, 1, 0], minimum=0), _distinct_ints("levels", torch.arange(1, 3), minimum=1)
    ([0, 1], [1, 2])
    """
    try:
        items = None if isinstance(values, str) else list(values)
    except TypeError:  # a number (a 0-d array too)
        items = None
    if items is None:
        raise InvalidParameterError(f"{name} must be a list of integers >= {minimum}, got "
                                    f"{values!r}" + (f"; for {name} 1..N give range(1, N + 1)"
                                                     if name == "levels" else ""))
    return list(dict.fromkeys(check_int(name, scalar_item(v), minimum=minimum) for v in items))


def check_levels_fit(data: Any, model: str | Callable[[], nn.Module], levels: list[int],
                     methods: tuple[str, ...] = ("teddy",)) -> int:
    """:func:`check_levels_keep_some` for the node dataset ``data`` and ``model`` (a model name of
    :func:`~graphsparse.gnn.models.model_factory`, or a factory); returns the graph's edge
    count (:func:`count_edge_pairs`). The command line and the benchmarks check a user's levels
    with it before any work, as :func:`run_levels` does.

    Examples
    --------
    >>> from torch_geometric.datasets import KarateClub
    >>> data = KarateClub()[0]  # 78 undirected edges, shipped with PyG
    >>> check_levels_fit(data, "gcn", [1, 2, 3])
    78
    >>> try:
    ...     check_levels_fit(data, "gcn", [100])
    ... except ValueError as err:
    ...     print(str(err).split(";")[0])
    levels go deeper than the graph allows: level 100 keeps none of its 78 edges (0.95^100)
    """
    make = model_factory(data, model) if isinstance(model, str) else model
    num_pairs = count_edge_pairs(data.edge_index, data.num_nodes)
    check_levels_keep_some(list(levels), methods, num_pairs, count_prunable_weights(make))
    return num_pairs


def check_levels_keep_some(levels: list[int], methods: tuple[str, ...], num_pairs: int,
                           num_weights: int) -> None:
    """Refuse levels whose pruned models keep no edge (``0.95^i`` of ``num_pairs``) or no
    weight (``0.9^i`` of ``num_weights``): their runs would train models of constant outputs,
    or fail half-way through a job. The dense model alone prunes nothing.

    Examples
    --------
    >>> check_levels_keep_some([1, 2], ("teddy",), 5278, 1_437_447)
    >>> try:
    ...     check_levels_keep_some([1, 200], ("teddy",), 5278, 1_437_447)
    ... except ValueError as err:
    ...     message = str(err)
    >>> message.split(": ")[0]
    'levels go deeper than the graph allows'
    >>> message.split(": ")[1]
    'level 200 keeps none of its 5,278 edges (0.95^200); give levels up to 141'
    >>> message.split(": ")[2]  # what ends the levels at 141: the model, not the graph
    "level 142 keeps none of the model's 1,437,447 weights (0.9^142)"
    """
    if not levels or set(methods) <= {"dense"}:
        return

    def what_is_lost(level: int) -> tuple[str, str] | None:
        """(what limits the level, the graph or the model; its count) where it keeps none."""
        edge_keep, weight_keep = level_keep_ratios(level)
        if budget_from_keep_ratio(edge_keep, num_pairs) < 1:
            return "graph", f"{num_pairs:,} edges (0.95^{level})"
        if budget_from_keep_ratio(weight_keep, num_weights) < 1:
            return "model", f"{num_weights:,} weights (0.9^{level})"
        return None

    deepest = 0
    while what_is_lost(deepest + 1) is None:
        deepest += 1
    level = max(levels)
    if level > deepest:
        (who, lost), (limit, limit_lost) = what_is_lost(level), what_is_lost(deepest + 1)
        # the deepest level is named by what ends it ("deeper than the graph allows ... up to
        # 134" when the graph allows 141 and the model's weights end at 135 sent users astray)
        why = "" if limit == who else f": level {deepest + 1} keeps none of the {limit}'s {limit_lost}"
        raise InvalidParameterError(f"levels go deeper than the {who} allows: level {level} keeps "
                                    f"none of its {lost}; give levels up to {deepest}{why}")


def _run_seed(data: Any, seed: int, levels: Any, methods: Any, model_name: str,
              factory: Callable[[], nn.Module], epochs: int, score: Any, distill_lambda: float,
              num_pairs: int, emit: Callable[[dict], None]) -> None:
    """The dense model, then TEDDY and random pruning at each level, for one seed."""
    dense = None
    if "dense" in methods or "teddy" in methods:
        with seeded_torch(seed):
            dense = train_node_classifier(factory(), data, epochs=epochs, score=score)
    if "dense" in methods:
        emit({"method": "dense", "level": 0, "edge_keep": 1.0, "weight_keep": 1.0,
              "seed": seed, "test_acc": dense.test_acc, "val_acc": dense.val_acc,
              "seconds": dense.seconds})
    for level in sorted(levels):
        edge_keep, weight_keep = level_keep_ratios(level)
        target = budget_from_keep_ratio(edge_keep, num_pairs)
        if "teddy" in methods:
            start = time.perf_counter()
            pruned = teddy_pruned(data, target, add_self_loops=model_name == "gat")
            with seeded_torch(seed):
                res = train_node_classifier(factory(), pruned, epochs=epochs,
                                            weight_keep_ratio=weight_keep,
                                            teacher_logits=dense.logits, score=score,
                                            distill_lambda=distill_lambda)
            emit(_record("teddy", level, _edge_keep(pruned, num_pairs), seed, res, start))
        if "random" in methods:
            start = time.perf_counter()
            pruned = random_pruned(data, target, seed * 1000 + level)
            with seeded_torch(seed):
                res = train_node_classifier(factory(), pruned, epochs=epochs,
                                            weight_keep_ratio=weight_keep, score=score)
            emit(_record("random", level, _edge_keep(pruned, num_pairs), seed, res, start))


def count_edge_pairs(edge_index: torch.Tensor, num_nodes: int) -> int:
    """The undirected non-loop edges of ``edge_index`` (both directions of one count once).

    Examples
    --------
    >>> count_edge_pairs(torch.tensor([[0, 1, 1, 2, 2], [1, 0, 2, 1, 2]]), 3)
    2
    """
    ei = edge_index.cpu().numpy()
    non_loop = ei[0] != ei[1]
    return int(np.unique(undirected_pair_keys(ei[0][non_loop], ei[1][non_loop], num_nodes)).size)


def random_pruned(data: Any, keep: int, seed: int) -> Any:
    """``data`` with ``keep`` of its undirected non-loop edges chosen at random
    (:func:`~graphsparse.random_edges.prune_edges_random`) and all its self-loops, which do not
    compete for the ``keep``; per-edge attributes are sliced with their columns, in order.

    Examples
    --------
    >>> from torch_geometric.data import Data
    >>> ei = torch.tensor([[0, 1, 1, 2, 0, 1], [1, 0, 2, 1, 0, 1]])  # a path and two loops
    >>> random_pruned(Data(edge_index=ei, num_nodes=3), 1, seed=0).edge_index.shape
    torch.Size([2, 4])
    """
    ei, n = data.edge_index, int(data.num_nodes)
    loops = ei[0] == ei[1]
    kept = prune_edges_random(ei[:, ~loops], n, keep, seed).cpu().numpy()
    rows, cols = ei.cpu().numpy()
    in_kept_pair = np.isin(undirected_pair_keys(rows, cols, n), undirected_pair_keys(*kept, n))
    return keep_edge_columns(data, loops | torch.from_numpy(in_kept_pair).to(loops.device))


def teddy_pruned(data: Any, keep: int, *, add_self_loops: bool = False) -> Any:
    """``data`` with the ``keep`` undirected non-loop edges of highest TEDDY score
    (:func:`~graphsparse.teddy.teddy_edge_scores`) and all its self-loops; per-edge attributes
    are sliced with their columns, in order.

    The unit is the undirected pair, as for :func:`random_pruned` and UGS, also on a directed
    graph, where :class:`~graphsparse.transforms.TeddyTransform` counts each direction (its two
    directions both score ``t_u t_v``); on an undirected graph it keeps the transform's edges.

    Examples
    --------
    >>> from torch_geometric.data import Data
    >>> ei = torch.tensor([[0, 1, 1, 2, 2], [1, 0, 2, 3, 1]])  # 0 - 1 - 2 -> 3: directed
    >>> teddy_pruned(Data(edge_index=ei, num_nodes=4), 2).edge_index.tolist()  # 2 -> 3, 0 - 1
    [[0, 1, 2], [1, 0, 3]]
    """
    edges = unweighted_structure(data)
    ei = data.edge_index.cpu().numpy()
    scores = teddy_edge_scores(edges, add_self_loops=add_self_loops)[edges.find_items(ei[0], ei[1])]
    # every column of a pair scores the same; one per pair, not their mean, which moved the ties
    # of a pair with three columns (the mean of three equal floats is not always that float)
    _, first, pair = np.unique(undirected_pair_keys(ei[0], ei[1], int(data.num_nodes)),
                               return_index=True, return_inverse=True)
    loops = (ei[0] == ei[1])[first]
    keep = check_int("keep", keep, minimum=0, maximum=int((~loops).sum()))  # as random_pruned says
    kept = select(scores[first], budget=keep + int(loops.sum()), protected=loops)[pair.reshape(-1)]
    return keep_edge_columns(data, torch.from_numpy(kept).to(data.edge_index.device))


def _edge_keep(pruned: Any, num_pairs: int) -> float:
    """The share of the graph's ``num_pairs`` non-loop edges that ``pruned`` holds."""
    return count_edge_pairs(pruned.edge_index, pruned.num_nodes) / max(num_pairs, 1)


def _record(method: str, level: int, edge_keep: float, seed: int, result: Any,
            start: float) -> dict:
    """One record of the protocol (``seconds``: since ``start``)."""
    return {"method": method, "level": level, "edge_keep": edge_keep,
            "weight_keep": result.weight_keep, "seed": seed, "test_acc": result.test_acc,
            "val_acc": result.val_acc, "seconds": time.perf_counter() - start}


def _seed_task(task: dict, emit: Callable[[dict], None], data: Any) -> list[dict]:
    """One seed of :func:`run_levels` as an executor task."""
    options = {k: v for k, v in task.items() if k not in ("model_name", "levels", "seed")}
    return run_levels(data, task["model_name"], task["levels"], [task["seed"]], progress=emit,
                      **options)
