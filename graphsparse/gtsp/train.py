"""Training a GTSP model on a molecule task: AdamW, one optimizer step per batch, the strategy's
hooks, the best-validation checkpoint; and inference timed on the exported model."""

from __future__ import annotations

import contextlib
import copy
import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import torch
from torch_geometric.data import Batch
from torch_geometric.loader import DataLoader

from graphsparse.gtsp.data import MoleculeTask, one_by_one
from graphsparse.gtsp.model import GTSPModel, prunable_weights
from graphsparse.gtsp.strategy import GTSPStrategy
from sparsebox._validation import check_int
from sparsebox.base import with_gradients
from sparsebox.exceptions import InvalidParameterError
from sparsebox.seeding import seeded_generator, seeded_torch

__all__ = ["TrainResult", "train_gtsp", "evaluate", "steps_per_epoch", "drops_lone_graph",
           "check_lone_atoms", "inference_seconds", "torch_threads"]


@contextlib.contextmanager
def torch_threads(threads: int | None) -> Iterator[None]:
    """Run the block on ``threads`` torch CPU threads (None: as they are), then restore them.
    Training and timing use one: two processes of two threads on two cores run many times
    slower than two of one."""
    before = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@dataclass
class TrainResult:
    """The best-validation model and its scores.

    ``best_epoch`` is 1-based; with a strategy only epochs that end after its freeze count
    (before it, the network is not yet the one inference runs).
    """

    val: float
    test: float
    best_epoch: int
    epochs: int
    seconds: float
    model: GTSPModel


def drops_lone_graph(num_graphs: int, batch_size: int) -> bool:
    """Whether an epoch leaves out its last batch, which would hold one graph: batch norm cannot
    train on a one-atom molecule alone (ogbg-molfreesolv's 513 training graphs in batches of 128
    ended so, now and then on a one-atom one); a different graph is left out each epoch."""
    return 1 < batch_size < num_graphs and num_graphs % batch_size == 1


def check_lone_atoms(graphs: Sequence, batch_size: int) -> None:
    """Refuse a training set whose batches would hold a one-atom molecule alone (batch norm
    cannot train on one atom): a batch of one graph comes with ``batch_size`` 1, or with one
    graph in all (:func:`drops_lone_graph` leaves out a last one otherwise)."""
    if min(batch_size, len(graphs)) != 1:
        return
    lone = next((i for i, g in enumerate(graphs) if int(g.num_nodes) == 1), None)
    if lone is None:
        return
    if len(graphs) == 1:
        raise InvalidParameterError("the training graphs are one molecule of one atom: batch "
                                    "norm cannot train on one atom; give more graphs")
    raise InvalidParameterError(f"batch_size 1 puts training graph {lone}, a molecule of one "
                                "atom, alone in a batch, and batch norm cannot train on one "
                                "atom; use a batch_size of 2 or more")


def steps_per_epoch(num_graphs: int, batch_size: int) -> int:
    """Optimizer steps in one epoch (the last batch may be smaller; one of a single graph is
    left out, :func:`drops_lone_graph`)."""
    if drops_lone_graph(num_graphs, batch_size):
        return num_graphs // batch_size
    return math.ceil(num_graphs / batch_size)


@torch.no_grad()
def evaluate(model: GTSPModel, task: MoleculeTask, graphs: Sequence,
             batch_size: int = 256) -> float:
    """The task's metric of ``model`` (in eval mode) on ``graphs``."""
    was = model.training
    model.eval()
    preds, ys = [], []
    for batch in DataLoader(list(graphs), batch_size=batch_size):
        preds.append(model(batch))
        ys.append(batch.y.view(-1, task.num_tasks))
    model.train(was)
    return task.score(torch.cat(ys), torch.cat(preds))


def _better(task: MoleculeTask, new: float, old: float | None) -> bool:
    if old is None or math.isnan(old):
        return not math.isnan(new)
    return new > old if task.higher_is_better else new < old


def train_gtsp(model: GTSPModel, task: MoleculeTask, *, epochs: int,
               strategy: GTSPStrategy | None = None,
               weight_masks: Sequence[torch.Tensor] | None = None, lr: float = 1e-3,
               weight_decay: float = 1e-5, batch_size: int = 128, seed: int = 0,
               on_epoch: Callable[[int, float], None] | None = None,
               threads: int | None = 1) -> TrainResult:
    """Train ``model`` on ``task.train`` for ``epochs`` epochs and keep the state of best
    validation score (the test score is taken there).

    AdamW on ``model.network_parameters()`` with a cosine decay of the learning rate to 5% of
    ``lr``, one step per batch (:func:`steps_per_epoch`: a last batch of one graph is left
    out); ``strategy`` (its ``total_steps`` must be ``epochs * steps_per_epoch``) runs its
    hooks around every step; ``weight_masks`` (one per :func:`prunable_weights` tensor) hold
    fixed zeros after every step (a pruned model fine-tuned without regrowth). ``on_epoch``
    sees ``(epoch, validation score)``. Training runs on ``threads`` torch threads (one, as
    the GTSP protocol asks; None leaves torch's setting). ``seed`` fixes the batches' order and
    the training's draws from torch's generator (dropout, Gumbel noise, the layer gates): the
    same model trained twice with one seed ends the same; the global random state is left as it
    was (a ``model.generator``, the random-tokens baseline's, draws on its own).
    """
    with torch_threads(threads), seeded_torch(seed):  # the CPU's generator: training runs there
        return _train(model, task, epochs=epochs, strategy=strategy, weight_masks=weight_masks,
                      lr=lr, weight_decay=weight_decay, batch_size=batch_size, seed=seed,
                      on_epoch=on_epoch)


@with_gradients
def _train(model: GTSPModel, task: MoleculeTask, *, epochs: int, strategy: GTSPStrategy | None,
           weight_masks: Sequence[torch.Tensor] | None, lr: float, weight_decay: float,
           batch_size: int, seed: int, on_epoch: Callable[[int, float], None] | None
           ) -> TrainResult:
    epochs = check_int("epochs", epochs, minimum=1)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    for split in ("train", "valid", "test"):  # (an empty one failed in torch.cat, after an epoch)
        if len(getattr(task, split)) == 0:
            raise InvalidParameterError(f"task.{split} holds no graphs: train_gtsp trains on "
                                        "train, picks the epoch by valid and scores test there")
    check_lone_atoms(task.train, batch_size)
    per_epoch = steps_per_epoch(len(task.train), batch_size)
    if model.layer_gate is not None and strategy is None:
        raise ValueError("a model with layer gates trains with a GTSPStrategy (its budget)")
    if strategy is not None and strategy.total_steps != epochs * per_epoch:
        raise ValueError(f"strategy.total_steps must be epochs * steps per epoch = "
                         f"{epochs * per_epoch}, got {strategy.total_steps}")
    generator = seeded_generator(seed)
    loader = DataLoader(task.train, batch_size=batch_size, shuffle=True, generator=generator,
                        drop_last=drops_lone_graph(len(task.train), batch_size))
    optimizer = torch.optim.AdamW(model.network_parameters(), lr=lr, weight_decay=weight_decay)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs * per_epoch,
                                                          eta_min=0.05 * lr)
    state = None
    if strategy is not None:
        strategy.check_sanity(model, optimizer)
        state = strategy.initialize_state(model)
    weights = [w for _, w in prunable_weights(model)]
    if weight_masks is not None:
        weight_masks = [m.to(torch.bool) for m in weight_masks]
        if [m.shape for m in weight_masks] != [w.shape for w in weights]:
            raise ValueError("weight_masks must match the shapes of prunable_weights(model)")

    @torch.no_grad()
    def hold_masks() -> None:
        for w, m in zip(weights, weight_masks or [], strict=False):
            w.masked_fill_(~m, 0.0)

    hold_masks()
    best_val: float | None = None
    best = (float("nan"), 0, None)
    start = time.perf_counter()
    step = 0
    for epoch in range(1, epochs + 1):
        model.train()
        for batch in loader:
            optimizer.zero_grad(set_to_none=True)
            loss = task.loss(model(batch), batch.y)
            if strategy is not None:
                loss = loss + strategy.step_pre_backward(model, optimizer, state, step)
            loss.backward()
            optimizer.step()
            schedule.step()
            if strategy is not None:
                strategy.step_post_backward(model, optimizer, state, step)
            hold_masks()
            step += 1
        val = evaluate(model, task, task.valid)
        if on_epoch is not None:
            on_epoch(epoch, val)
        eligible = state is None or state.frozen
        if eligible and _better(task, val, best_val):
            best_val = val
            best = (evaluate(model, task, task.test), epoch, copy.deepcopy(model.state_dict()))
    seconds = time.perf_counter() - start
    test, best_epoch, weights_at_best = best
    if weights_at_best is not None:
        model.load_state_dict(weights_at_best)
    model.eval()
    return TrainResult(val=float("nan") if best_val is None else best_val, test=test,
                       best_epoch=best_epoch, epochs=epochs, seconds=seconds, model=model)


@torch.no_grad()
def inference_seconds(model: GTSPModel, graphs: Sequence, *, batch_size: int = 128,
                      repeats: int = 5, threads: int | None = 1) -> float:
    """Measured wall time of inference per 1,000 ``graphs`` (a list of ``Data``, a PyG
    ``Batch``, one ``Data`` or batches, as :func:`~graphsparse.gtsp.flops.count_flops` takes
    them): the model as :meth:`GTSPModel.export_pruned` gives it, batches of ``batch_size``
    graphs of similar size (sorted by node count, so that little padding is run; the same for
    every model), collated beforehand; the fastest of ``repeats`` passes after one warm-up pass,
    on ``threads`` torch threads."""
    batch_size = check_int("batch_size", batch_size, minimum=1)
    repeats = check_int("repeats", repeats, minimum=1)
    with torch_threads(threads):
        return _time_inference(model, graphs, batch_size, repeats)


@torch.no_grad()
def _time_inference(model: GTSPModel, graphs: Sequence, batch_size: int, repeats: int) -> float:
    small = model.export_pruned()
    ordered = sorted(one_by_one(graphs), key=lambda g: g.num_nodes)
    batches = [Batch.from_data_list(ordered[i:i + batch_size])
               for i in range(0, len(ordered), batch_size)]
    best = float("inf")
    for attempt in range(repeats + 1):
        start = time.perf_counter()
        for batch in batches:
            small(batch)
        if attempt:
            best = min(best, time.perf_counter() - start)
    return 1000.0 * best / max(len(ordered), 1)
