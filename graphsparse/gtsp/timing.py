"""Inference wall time of the protocol's runs, measured again side by side.

Each run of :mod:`graphsparse.gtsp.protocol` times its exported model right after training, in a
process that may share the machine with the other seeds' training: those times are not
comparable across runs. On dense kernels a model's inference time depends on its architecture
only (the tokens that attend, the heads of each attention, the blocks skipped), not on its
weights' values, so :func:`retime_records` rebuilds every run's architecture from its record and
times them all in one process, round after round, the fastest round of each kept.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from graphsparse.gtsp.model import GTSPModel
from graphsparse.gtsp.train import inference_seconds
from sparsebox._validation import check_int
from sparsebox.outputs import counted
from sparsebox.progress import progress_bar

__all__ = ["architecture", "retime_records", "retime_in_place"]


def _tokens(record: dict) -> tuple[float | None, str]:
    """The token keep ratio and selection of a record's run."""
    if record["axes"] == "random-tokens":
        return float(record["keep"]), "random"
    if "tokens" in record["axes"].split("+"):
        return float(record["keep"]), "learned"
    return None, "learned"


def architecture(record: dict, num_tasks: int, **options) -> GTSPModel:
    """An untrained :class:`GTSPModel` shaped like the exported model of ``record``'s run: its
    token keep ratio and selection, ``record["heads"]`` heads in each layer (0: the block is
    skipped). ``options`` are the model's other arguments (``hidden``...).

    Examples
    --------
    >>> model = architecture({"axes": "heads+layers", "keep": 0.5, "heads": [2, 0, 2, 0]}, 1)
    >>> model.export_pruned().heads_per_layer()
    [2, 0, 2, 0]
    """
    keep, selection = _tokens(record)
    model = GTSPModel(num_tasks, token_keep_ratio=keep, token_selection=selection, **options)
    heads = record["heads"]
    if len(heads) != len(model.layers):
        raise ValueError(f"the record has {counted(len(heads), 'layer')}, the model "
                         f"{len(model.layers)}")
    with torch.no_grad():
        for layer, kept in zip(model.layers, heads, strict=True):
            layer.attn.head_mask.zero_()
            layer.attn.head_mask[:kept] = 1.0
    if selection == "random":
        model.generator = torch.Generator().manual_seed(0)
    return model.eval()


def retime_records(records: Sequence[dict], graphs: Sequence, num_tasks: int, *,
                   rounds: int = 5, progress: bool = False, **options) -> list[float]:
    """Inference seconds per 1,000 ``graphs`` for each record (:func:`~graphsparse.gtsp.train.
    inference_seconds` on one thread): each distinct architecture is timed once per round, the
    rounds interleaving them so that a slow spell of the machine hits them all, and its fastest
    round is kept. ``progress``: a bar on standard error counts the timings (a minute for
    ogbg-molbace's 84 runs).

    Examples
    --------
    >>> from torch_geometric.data import Data
    >>> g = Data(x=torch.zeros(6, 9, dtype=torch.long), edge_attr=torch.zeros(2, 3, dtype=torch.long),
    ...          edge_index=torch.tensor([[0, 1], [1, 0]]), random_walk_pe=torch.zeros(6, 16))
    >>> runs = [{"axes": "dense", "keep": 1.0, "heads": [4, 4, 4, 4]},
    ...         {"axes": "layers", "keep": 0.5, "heads": [4, 0, 4, 0]}]
    >>> seconds = retime_records(runs, [g] * 8, 1, rounds=2)
    >>> len(seconds), all(s > 0 for s in seconds)
    (2, True)
    """
    check_int("rounds", rounds, minimum=1)
    key = [(_tokens(r), tuple(r["heads"])) for r in records]
    models = {k: architecture(r, num_tasks, **options) for k, r in zip(key, records, strict=True)}
    best = dict.fromkeys(models, float("inf"))
    timings = [(k, model) for _ in range(rounds) for k, model in models.items()]
    for k, model in progress_bar(timings, "re-timing inference side by side", enabled=progress):
        best[k] = min(best[k], inference_seconds(model, graphs, repeats=3))
    return [best[k] for k in key]


def retime_in_place(records: list[dict], dataset: str, *, max_graphs: int | None = None,
                    root=None, progress: bool = False) -> None:
    """:func:`retime_records` on the test split of ``dataset`` (as the runs loaded it), written
    into the records' ``inference_seconds``; the time each run took beside the training stays
    as ``inference_seconds_beside_training``. ``progress``: as :func:`retime_records`'s.

    Examples
    --------
    >>> import json, pathlib
    >>> records = json.loads(pathlib.Path("out/gtsp/results.json").read_text())  # doctest: +SKIP
    >>> retime_in_place(records, "ogbg-molbace")                                  # doctest: +SKIP
    """
    from graphsparse.gtsp.data import load_molecules

    task = load_molecules(dataset, root, max_graphs=max_graphs)
    seconds = retime_records(records, task.test, task.num_tasks, progress=progress)
    for record, value in zip(records, seconds, strict=True):
        record.setdefault("inference_seconds_beside_training", record["inference_seconds"])
        record["inference_seconds"] = value
