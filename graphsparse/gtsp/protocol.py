"""The GTSP protocol: the dense reference, each axis alone, the axes combined and the baselines,
per seed, one record per run.

A record is ``{dataset, axes, keep, seed, metric_name, metric, flops, flops_sparse_kernel,
inference_seconds, epochs}`` (``axes`` is ``"dense"``, an axis, the axes joined by ``+``, or a
baseline) plus ``val_metric``, ``best_epoch``, ``attention_flops`` (scores and A V),
``attention_block_flops`` (with the scorer and the Q/K/V and output projections), ``heads``
(per layer), ``open_layers``, ``weight_keep`` and ``train_seconds``. FLOPs are per graph, the
mean over the test split; ``inference_seconds`` is the measured wall time per 1,000 test graphs
(:func:`~graphsparse.gtsp.train.inference_seconds`). `sparsebox graph gtsp` times every run again
side by side once all have trained (:func:`~graphsparse.gtsp.timing.retime_in_place`), keeping
the time measured beside the training as ``inference_seconds_beside_training``. A ``magnitude``
record's ``epochs`` counts its fine-tuning too.

Baselines: ``random-tokens`` (tokens dropped uniformly at random, at the same ``k_g``, in training
and at inference) and ``magnitude`` (the seed's trained dense model pruned once by weight
magnitude, :func:`sparsebox.masks.l0_project_`, and fine-tuned with the mask fixed for a fifth of
the epochs, as long as the GTSP runs train after their freeze). Each runs at every keep ratio of
the plan and once more at the FLOPs of each combined run (``at_flops_of``): random tokens at the
largest keep ratio (on a 0.01 grid) whose dense-kernel FLOPs are no more than the combined run's
of the same seed, magnitude pruning at the largest weight keep ratio whose sparse-kernel FLOPs
are no more than its sparse-kernel FLOPs (all that magnitude pruning cuts). Those records carry
``at_flops_of: {"axes", "keep"}`` and their own keep ratio.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import torch

from sparsebox._validation import check_fraction
from sparsebox.exceptions import InvalidParameterError
from sparsebox.seeding import seeded_generator, seeded_torch

__all__ = ["AXES", "BASELINES", "RunSpec", "record_key", "plan_runs", "parse_axes", "parse_keeps",
           "build_run", "largest_keep_within", "run_seed", "gtsp_seed_task", "runs_to_do",
           "finetune_epochs"]

AXES = ("tokens", "heads", "layers", "weights")
BASELINES = ("random-tokens", "magnitude")


@dataclass(frozen=True)
class RunSpec:
    """One run of the protocol: the axes it prunes (none: dense) at ``keep``, or a baseline."""

    axes: tuple[str, ...] = ()
    keep: float = 1.0
    baseline: str | None = None
    #: a baseline run at the FLOPs of the run of this label at ``keep`` (its own keep ratio is
    #: chosen when that run's FLOPs are known)
    at_flops_of: str | None = None

    @property
    def label(self) -> str:
        """``dense``, ``tokens``, ``tokens+heads+layers+weights``, ``random-tokens``..."""
        if self.baseline:
            return self.baseline
        return "+".join(self.axes) if self.axes else "dense"

    @property
    def key(self) -> tuple:
        """What identifies the run in a seed's records (:func:`record_key`)."""
        if self.at_flops_of:
            return self.label, "at_flops_of", self.at_flops_of, round(self.keep, 6)
        return self.label, round(self.keep, 6)


def record_key(record: dict) -> tuple:
    """The :attr:`RunSpec.key` of the run that made ``record``.

    Examples
    --------
    >>> record_key({"axes": "tokens", "keep": 0.5})
    ('tokens', 0.5)
    >>> spec = RunSpec((), 0.5, "magnitude", at_flops_of="tokens+weights")
    >>> record_key({"axes": "magnitude", "keep": 0.21,
    ...             "at_flops_of": {"axes": "tokens+weights", "keep": 0.5}}) == spec.key
    True
    """
    matched = record.get("at_flops_of")
    if matched:
        return (record["axes"], "at_flops_of", matched["axes"],
                round(float(matched["keep"]), 6))
    return record["axes"], round(float(record["keep"]), 6)


def parse_axes(text: str) -> tuple[str, ...]:
    """``"tokens,heads"`` -> ``("tokens", "heads")``; unknown or repeated axes are refused.

    Examples
    --------
    >>> parse_axes("tokens, layers")
    ('tokens', 'layers')
    """
    axes = tuple(a.strip().lower() for a in text.split(",") if a.strip())  # in any case
    unknown = [a for a in axes if a not in AXES]
    if unknown or not axes:
        raise InvalidParameterError(f"axes must be among {', '.join(AXES)}, got {text!r}")
    if len(set(axes)) != len(axes):
        raise InvalidParameterError(f"axes must not repeat, got {text!r}")
    return tuple(a for a in AXES if a in axes)


def parse_keeps(text: str) -> tuple[float, ...]:
    """``"0.75,0.5"`` -> ``(0.75, 0.5)``; each keep ratio must be in (0, 1], and no two may
    agree to 6 decimals (what tells runs apart).

    Examples
    --------
    >>> parse_keeps("0.75, 0.5")
    (0.75, 0.5)
    """
    keeps = []
    for part in (p.strip() for p in text.split(",")):
        try:
            value = float(part)
        except ValueError:
            raise InvalidParameterError(f"keep ratios must be numbers in (0, 1], got {part!r}") \
                from None
        keeps.append(check_fraction("keep ratio", value))
    # runs are told apart by the keep ratio to 6 decimals (RunSpec.key, record_key): two that
    # agree there would be recorded as one run twice, which --resume then refuses
    if len({round(k, 6) for k in keeps}) != len(keeps):
        raise InvalidParameterError(f"keep ratios must not repeat (to 6 decimals), got {text!r}")
    return tuple(keeps)


def plan_runs(axes: Sequence[str], keeps: Sequence[float], *, baselines: Sequence[str] = (),
              combined: bool = True) -> list[RunSpec]:
    """Dense; every axis alone at every keep ratio; all of ``axes`` together at every keep
    ratio (when there are several and ``combined``); the baselines at every keep ratio, and at
    the FLOPs of every combined run.

    Examples
    --------
    >>> specs = plan_runs(["tokens", "heads"], [0.5], baselines=["random-tokens"])
    >>> [(s.label, s.at_flops_of) for s in specs][3:]
    [('tokens+heads', None), ('random-tokens', None), ('random-tokens', 'tokens+heads')]
    """
    for b in baselines:
        if b not in BASELINES:
            raise InvalidParameterError(f"baselines must be among {', '.join(BASELINES)}, "
                                        f"got {b!r}")
    specs = [RunSpec()]
    specs += [RunSpec((axis,), keep) for keep in keeps for axis in axes]
    together = combined and len(axes) > 1
    if together:
        specs += [RunSpec(tuple(axes), keep) for keep in keeps]
    specs += [RunSpec((), keep, b) for b in baselines for keep in keeps]
    if together:
        label = "+".join(axes)
        specs += [RunSpec((), keep, b, at_flops_of=label) for b in baselines for keep in keeps]
    return specs


def finetune_epochs(epochs: int) -> int:
    """Fine-tuning epochs of the magnitude baseline: a fifth of the training (at least one)."""
    return max(1, round(0.2 * epochs))


def build_run(spec: RunSpec, num_tasks: int, total_steps: int, *, seed: int,
              model_options: dict | None = None) -> tuple[Any, Any]:
    """The model and the strategy (None when it needs none) of one run."""
    from graphsparse.gtsp.model import GTSPModel
    from graphsparse.gtsp.strategy import GTSPStrategy

    options = dict(model_options or {})
    axes = set(spec.axes)
    if "tokens" in axes:
        options["token_keep_ratio"] = spec.keep
    if spec.baseline == "random-tokens":
        options.update(token_keep_ratio=spec.keep, token_selection="random")
    if "layers" in axes:
        options["layer_keep_ratio"] = spec.keep
    with seeded_torch(seed):  # the initial weights; the caller's state (and the GPUs') left alone
        model = GTSPModel(num_tasks, **options)
    model.generator = seeded_generator(seed) if spec.baseline else None
    strategy = None
    if axes & {"heads", "layers", "weights"}:
        strategy = GTSPStrategy(
            total_steps=total_steps,
            head_keep_ratio=spec.keep if "heads" in axes else None,
            weight_keep_ratio=spec.keep if "weights" in axes else None)
    return model, strategy


def _record(spec: RunSpec, task: Any, seed: int, result: Any, epochs: int) -> dict:
    from graphsparse.gtsp.flops import count_flops
    from graphsparse.gtsp.model import prunable_weights
    from graphsparse.gtsp.train import inference_seconds

    model = result.model
    flops = count_flops(model, task.test)
    weights = [w for _, w in prunable_weights(model)]
    nonzero = sum(int(torch.count_nonzero(w)) for w in weights)
    small = model.export_pruned()
    return {
        "dataset": task.name, "axes": spec.label, "keep": spec.keep, "seed": seed,
        "metric_name": task.metric_name, "metric": result.test,
        "flops": flops.per_graph(), "flops_sparse_kernel": flops.per_graph(sparse_kernel=True),
        "inference_seconds": inference_seconds(model, task.test), "epochs": epochs,
        "val_metric": result.val, "best_epoch": result.best_epoch,
        "attention_flops": flops.per_graph("attention"),
        "attention_block_flops": flops.attention_block() / max(flops.graphs, 1),
        "heads": small.heads_per_layer(),
        "open_layers": sum(h > 0 for h in small.heads_per_layer()),
        "weight_keep": nonzero / sum(w.numel() for w in weights),
        "train_seconds": result.seconds,
    }


def largest_keep_within(cost: Callable[[float], float], limit: float, *,
                        upto: float = 1.0, grid: int = 100) -> float | None:
    """The largest keep ratio ``i / grid`` (at most ``upto``) whose ``cost`` is no more than
    ``limit``, for a ``cost`` that does not fall as the keep ratio grows; None when not even
    ``1 / grid`` is that cheap.

    Examples
    --------
    >>> largest_keep_within(lambda k: 10 * k, 3.14)
    0.31
    >>> largest_keep_within(lambda k: 1 + k, 0.5) is None
    True
    """
    lo, hi = 1, max(1, int(math.floor(upto * grid + 1e-9)))
    if cost(hi / grid) <= limit:
        return hi / grid
    if cost(lo / grid) > limit:
        return None
    while hi - lo > 1:  # cost(lo) is within the limit, cost(hi) is not
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if cost(mid / grid) <= limit else (lo, mid)
    return lo / grid


def run_seed(task: Any, specs: Sequence[RunSpec], seed: int, *, epochs: int,
             batch_size: int = 128, lr: float = 1e-3, model_options: dict | None = None,
             emit: Callable[[dict], None] | None = None,
             done: Sequence[dict] = ()) -> list[dict]:
    """Every run of ``specs`` for one seed on a loaded :class:`~graphsparse.gtsp.data.
    MoleculeTask`; each record goes to ``emit`` as soon as it is made. ``done``: this seed's
    records of earlier invocations (a baseline at a combined run's FLOPs reads that run's
    record from there, or from this invocation's records)."""
    from graphsparse.gtsp.flops import count_flops
    from graphsparse.gtsp.model import GTSPModel, prunable_weights
    from graphsparse.gtsp.train import steps_per_epoch, train_gtsp
    from sparsebox.masks import l0_project_

    total = epochs * steps_per_epoch(len(task.train), batch_size)
    train = dict(epochs=epochs, batch_size=batch_size, lr=lr, seed=seed)
    options = dict(model_options or {})
    records: list[dict] = []
    dense = None

    def out(record: dict) -> None:
        records.append(record)
        if emit is not None:
            emit(record)

    def dense_model() -> Any:
        nonlocal dense
        if dense is None:
            model, _ = build_run(RunSpec(), task.num_tasks, total, seed=seed,
                                 model_options=options)
            dense = train_gtsp(model, task, **train)
        return dense

    def magnitude_pruned(keep: float) -> tuple[Any, list]:
        model = copy.deepcopy(dense_model().model)
        return model, l0_project_([w for _, w in prunable_weights(model)], keep_ratio=keep)

    def run(spec: RunSpec) -> dict:
        if spec.baseline == "magnitude":
            model, masks = magnitude_pruned(spec.keep)
            tune = finetune_epochs(epochs)
            result = train_gtsp(model, task, weight_masks=masks, **{**train, "epochs": tune})
            return _record(spec, task, seed, result, epochs + tune)
        model, strategy = build_run(spec, task.num_tasks, total, seed=seed, model_options=options)
        return _record(spec, task, seed, train_gtsp(model, task, strategy=strategy, **train),
                       epochs)

    def at_flops(spec: RunSpec) -> RunSpec | None:
        """The baseline run whose FLOPs come closest to (and do not pass) the matched run's;
        None when its cheapest run costs more."""
        target = next((r for r in (*done, *records) if r["seed"] == seed
                       and record_key(r) == (spec.at_flops_of, round(spec.keep, 6))), None)
        if target is None:
            raise InvalidParameterError(f"{spec.label} at the FLOPs of {spec.at_flops_of} at "
                                        f"keep {spec.keep:g} needs that run of seed {seed} first")
        if spec.baseline == "random-tokens":
            def cost(k: float) -> float:
                model = GTSPModel(task.num_tasks, token_keep_ratio=k, token_selection="random",
                                  **options)
                return count_flops(model, task.test).per_graph()
            keep = largest_keep_within(cost, target["flops"])
        else:
            keep = largest_keep_within(
                lambda w: count_flops(magnitude_pruned(w)[0], task.test).per_graph(
                    sparse_kernel=True), target["flops_sparse_kernel"])
        return None if keep is None else RunSpec((), keep, spec.baseline)

    for spec in specs:
        if spec.label == "dense":
            out(_record(spec, task, seed, dense_model(), epochs))
        elif spec.at_flops_of:
            same = at_flops(spec)
            if same is None:  # nothing to match: the report compares with the cheapest run
                continue
            twin = next((r for r in (*done, *records) if r["seed"] == seed
                         and (r["axes"], round(float(r["keep"]), 6)) == same.key), None)
            record = {k: v for k, v in twin.items() if k != "at_flops_of"} \
                if twin is not None else run(same)
            record["at_flops_of"] = {"axes": spec.at_flops_of, "keep": spec.keep}
            out(record)
        else:
            out(run(spec))
    return records


def gtsp_seed_task(task: dict, emit: Callable[[dict], None]) -> int:
    """One seed of the protocol as an executor task (:mod:`sparsebox.parallel`): loads the
    dataset, trains on one torch thread, emits each record; returns the number of runs."""
    from graphsparse.gtsp.data import load_molecules
    from graphsparse.gtsp.train import torch_threads

    with torch_threads(1):
        data = load_molecules(task["dataset"], walk_length=task.get("walk_length", 16),
                              max_graphs=task.get("max_graphs"))
        specs = [RunSpec(tuple(s["axes"]), s["keep"], s["baseline"], s.get("at_flops_of"))
                 for s in task["specs"]]
        return len(run_seed(data, specs, task["seed"], epochs=task["epochs"],
                            batch_size=task.get("batch_size", 128), lr=task.get("lr", 1e-3),
                            emit=emit, done=task.get("done", ())))


def spec_dicts(specs: Iterable[RunSpec]) -> list[dict]:
    """Specs as plain dicts (what an executor task carries)."""
    return [asdict(s) for s in specs]


def runs_to_do(records: list[dict], specs: Sequence[RunSpec], seeds: Sequence[int]
               ) -> tuple[list[dict], dict[int, list[RunSpec]]]:
    """Resume: ``(records to keep, {seed: specs still to run})``. A run is done when a record
    of its seed and :func:`record_key` exists, a plain run also when a baseline at a combined
    run's FLOPs came to the same keep ratio (its record is that run's: training it again counted
    the seed twice); records of runs no longer planned are kept.

    Examples
    --------
    >>> specs = plan_runs(["tokens"], [0.5])
    >>> done = [{"axes": "dense", "keep": 1.0, "seed": 0}]
    >>> kept, todo = runs_to_do(done, specs, [0, 1])
    >>> [s.label for s in todo[0]], [s.label for s in todo[1]]
    (['tokens'], ['dense', 'tokens'])
    >>> matched = {"axes": "magnitude", "keep": 0.21, "seed": 0,
    ...            "at_flops_of": {"axes": "tokens+weights", "keep": 0.5}}
    >>> runs_to_do([matched], [RunSpec((), 0.21, "magnitude")], [0])[1]
    {}
    """
    have = {(r["seed"], *record_key(r)) for r in records}
    have |= {(r["seed"], r["axes"], round(float(r["keep"]), 6)) for r in records}
    todo = {}
    for seed in seeds:
        missing = [s for s in specs if (seed, *s.key) not in have]
        if missing:
            todo[seed] = missing
    return list(records), todo
