"""GTSP: token selection, attention over the selected tokens, head / layer / weight pruning,
the exported model, the FLOPs count against FlopCounterMode, the ogb loaders and the command."""

from __future__ import annotations

import copy
import gzip
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch_geometric.data import Batch, Data

from graphsparse.gtsp.attention import TokenAttention
from graphsparse.gtsp.data import load_molecules
from graphsparse.gtsp.flops import count_flops, counted_flops
from graphsparse.gtsp.model import GTSPModel, prunable_weights
from graphsparse.gtsp.protocol import (
    RunSpec,
    build_run,
    parse_axes,
    parse_keeps,
    plan_runs,
    run_seed,
    runs_to_do,
)
from graphsparse.gtsp.report import baseline_phrase, compare_to_dense, summarize_runs
from graphsparse.gtsp.strategy import GTSPState, GTSPStrategy, cubic_keep_ratio
from graphsparse.gtsp.tokens import gumbel_top_k_per_graph, tokens_per_graph, top_k_per_graph
from graphsparse.gtsp.train import inference_seconds, steps_per_epoch, torch_threads, train_gtsp
from sparsebox.data import DatasetNotFoundError
from sparsebox.exceptions import InvalidParameterError
from sparsebox.masks import l0_project_

RECORD_KEYS = {"dataset", "axes", "keep", "seed", "metric_name", "metric", "flops",
               "flops_sparse_kernel", "inference_seconds", "epochs"}


# ----------------------------------------------------------------------------------- helpers
def molecule(n: int, seed: int, *, walk: int = 16, label: float = 0.0, chords: int = 0) -> Data:
    """A ring of ``n`` atoms (plus ``chords`` random bonds) with ogb-style integer features and
    a random-walk encoding."""
    g = torch.Generator().manual_seed(seed)
    ring = torch.arange(n)
    src, dst = [ring], [(ring + 1) % n]
    if chords:
        src.append(torch.randint(0, n, (chords,), generator=g))
        dst.append(torch.randint(0, n, (chords,), generator=g))
    a, b = torch.cat(src), torch.cat(dst)
    keep = a != b
    edges = torch.stack([torch.cat([a[keep], b[keep]]), torch.cat([b[keep], a[keep]])])
    return Data(x=torch.randint(0, 2, (n, 9), generator=g), edge_index=edges,
                edge_attr=torch.randint(0, 2, (edges.shape[1], 3), generator=g),
                random_walk_pe=torch.rand(n, walk, generator=g), y=torch.tensor([[label]]))


def batch_of(sizes, seed: int = 0) -> Batch:
    return Batch.from_data_list([molecule(n, seed + i, chords=2) for i, n in enumerate(sizes)])


def tiny_model(**options) -> GTSPModel:
    torch.manual_seed(0)
    return GTSPModel(2, hidden=16, num_layers=3, heads=4, **options)


def _write_csv_gz(path: Path, rows, fmt: str = "%d") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt") as f:
        np.savetxt(f, np.asarray(rows), fmt=fmt, delimiter=",")


def write_tiny_ogbg(root: Path, name: str = "ogbg-molhiv", num_graphs: int = 40,
                    num_tasks: int = 1, seed: int = 0, one_atom: int | None = None,
                    one_label: bool = False) -> Path:
    """``num_graphs`` small molecules in the ogb package's on-disk layout of ``name`` (bonds
    stored once, ogb adds the reverse edges), labels that follow the atoms (some missing when
    there are several tasks), a scaffold split of 60/20/20%; graph ``one_atom`` (when given) is
    a molecule of one atom and no bond; ``one_label``: every label 0."""
    rng = np.random.default_rng(seed)
    folder = root / "ogb" / name.replace("-", "_")
    sizes = rng.integers(5, 16, num_graphs)
    if one_atom is not None:
        sizes[one_atom] = 1
    edges, edge_feat, node_feat, labels, edge_counts = [], [], [], [], []
    for n in sizes:
        ring = np.stack([np.arange(n), (np.arange(n) + 1) % n], 1)[: n if n > 1 else 0]
        edges.append(ring)
        edge_counts.append(len(ring))
        edge_feat.append(rng.integers(0, 2, (len(ring), 3)))
        atoms = rng.integers(0, 2, (n, 9))
        node_feat.append(atoms)
        label = float(atoms[:, 0].mean() > 0.5)
        row = np.full(num_tasks, label)
        if num_tasks > 1:
            row[rng.random(num_tasks) < 0.3] = np.nan
            row[:2] = [0.0, 1.0] if label else [1.0, 0.0]
        labels.append(row)
    labels = np.array(labels)
    labels[:2, 0] = [0.0, 1.0]  # both classes in every part of the split
    if one_label:
        labels[:] = 0.0
    raw = folder / "raw"
    _write_csv_gz(raw / "edge.csv.gz", np.concatenate(edges))
    _write_csv_gz(raw / "edge-feat.csv.gz", np.concatenate(edge_feat))
    _write_csv_gz(raw / "node-feat.csv.gz", np.concatenate(node_feat))
    _write_csv_gz(raw / "num-node-list.csv.gz", sizes.reshape(-1, 1))
    _write_csv_gz(raw / "num-edge-list.csv.gz", np.array(edge_counts).reshape(-1, 1))
    with gzip.open(raw / "graph-label.csv.gz", "wt") as f:
        for row in labels:
            f.write(",".join("" if np.isnan(v) else str(int(v)) for v in row) + "\n")
    order = np.arange(num_graphs)
    parts = np.split(order, [int(0.6 * num_graphs), int(0.8 * num_graphs)])
    for part, idx in zip(("train", "valid", "test"), parts, strict=True):
        idx = np.sort(np.concatenate([idx, [0, 1]])) if part != "train" else idx
        _write_csv_gz(folder / "split" / "scaffold" / f"{part}.csv.gz", idx.reshape(-1, 1))
    (folder / "RELEASE_v1.txt").write_text("tiny test copy in the ogb layout\n")
    return folder


# ----------------------------------------------------------------------------------- tokens
def test_tokens_per_graph_is_a_ceiling_of_the_graphs_own_size():
    counts = torch.tensor([1, 2, 3, 24, 30, 97, 0])
    assert tokens_per_graph(counts, 0.5).tolist() == [1, 1, 2, 12, 15, 49, 0]
    assert tokens_per_graph(counts, 0.1).tolist() == [1, 1, 1, 3, 3, 10, 0]
    assert tokens_per_graph(counts, 1.0).tolist() == counts.tolist()
    with pytest.raises(InvalidParameterError, match=r"keep_ratio must be in \(0, 1\], got 0"):
        tokens_per_graph(counts, 0)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, 30), min_size=1, max_size=8), st.floats(0.05, 1.0),
       st.integers(0, 2**16))
def test_every_graph_keeps_exactly_its_k_tokens(sizes, ratio, seed):
    batch = torch.repeat_interleave(torch.arange(len(sizes)), torch.tensor(sizes))
    g = torch.Generator().manual_seed(seed)
    scores = torch.randn(batch.numel(), generator=g).requires_grad_(True)
    expected = [math.ceil(ratio * n - 1e-9) for n in sizes]
    keep, weight = gumbel_top_k_per_graph(scores, batch, len(sizes), ratio, generator=g)
    assert torch.bincount(batch[keep], minlength=len(sizes)).tolist() == expected
    assert torch.equal(weight.detach(), keep.float())  # the forward value is the hard mask
    deterministic = top_k_per_graph(scores.detach(), batch, len(sizes), ratio)
    assert torch.bincount(batch[deterministic], minlength=len(sizes)).tolist() == expected
    for i in range(len(sizes)):  # the top-k of each graph, exactly
        own = scores.detach()[batch == i]
        kept = own[deterministic[batch == i]]
        if expected[i] < sizes[i]:
            assert kept.min() >= own[~deterministic[batch == i]].max()


def test_the_straight_through_weight_carries_a_gradient_to_the_scores():
    batch = torch.tensor([0] * 6 + [1] * 4)
    scores = torch.randn(10, generator=torch.Generator().manual_seed(1)).requires_grad_(True)
    _, weight = gumbel_top_k_per_graph(scores, batch, 2, 0.5,
                                       generator=torch.Generator().manual_seed(2))
    (weight * torch.arange(1.0, 11.0)).sum().backward()
    assert scores.grad is not None and bool((scores.grad != 0).all())


# ----------------------------------------------------------------------------------- attention
def _reference_attention(attn: TokenAttention, x: torch.Tensor, batch: torch.Tensor) -> torch.Tensor:
    """Each graph on its own, with torch's multi-head attention (same weights)."""
    mha = torch.nn.MultiheadAttention(attn.channels, attn.heads, batch_first=True)
    with torch.no_grad():
        mha.in_proj_weight.copy_(attn.qkv.weight)
        mha.in_proj_bias.copy_(attn.qkv.bias)
        mha.out_proj.weight.copy_(attn.out.weight)
        mha.out_proj.bias.copy_(attn.out.bias)
    mha.eval()
    out = torch.empty_like(x)
    for g in batch.unique():
        rows = batch == g
        out[rows] = mha(x[rows][None], x[rows][None], x[rows][None], need_weights=False)[0][0]
    return out


def test_attention_is_multi_head_attention_within_each_graph_whatever_the_grouping():
    torch.manual_seed(0)
    attn = TokenAttention(16, 4).eval()
    sizes = torch.randint(1, 12, (70,), generator=torch.Generator().manual_seed(3))
    batch = torch.repeat_interleave(torch.arange(70), sizes)
    x = torch.randn(batch.numel(), 16)
    reference = _reference_attention(attn, x, batch)
    with torch.no_grad():
        for chunk in (1000, 32, 5):  # one padded call, and graphs grouped by size
            attn.chunk_graphs = chunk
            assert torch.allclose(attn(x, batch, 70), reference, atol=1e-5)


def test_pruned_heads_are_removed_not_zeroed():
    torch.manual_seed(0)
    attn = TokenAttention(16, 4)
    attn.head_mask.copy_(torch.tensor([1.0, 0.0, 1.0, 0.0]))
    small = attn.pruned()
    assert small.heads == 2
    assert small.qkv.weight.shape == (3 * 2 * 4, 16) and small.out.weight.shape == (16, 8)
    x, batch = torch.randn(9, 16), torch.tensor([0] * 5 + [1] * 4)
    with torch.no_grad():
        assert torch.allclose(small.eval()(x, batch, 2), attn.eval()(x, batch, 2), atol=1e-6)


def test_head_importance_is_the_gradient_of_the_heads_scale():
    """``|sum grad * head output|`` taken before the output projection: the derivative of the
    loss with respect to each head's multiplier (checked by finite differences)."""
    torch.manual_seed(0)
    attn = TokenAttention(8, 4).double().train()
    attn.record_head_importance = True
    x, batch = torch.randn(7, 8, dtype=torch.float64), torch.tensor([0, 0, 0, 1, 1, 1, 1])
    attn(x, batch, 2).pow(2).sum().backward()
    grad = attn.head_probe.grad.clone()
    attn.record_head_importance = False
    for h in range(4):
        eps = 1e-6
        with torch.no_grad():
            attn.head_mask[h] = 1.0 + eps
            up = attn(x, batch, 2).pow(2).sum()
            attn.head_mask[h] = 1.0 - eps
            down = attn(x, batch, 2).pow(2).sum()
            attn.head_mask[h] = 1.0
        assert float(grad[h]) == pytest.approx(float((up - down) / (2 * eps)), rel=1e-5)


# ----------------------------------------------------------------------------------- model
def test_dropped_tokens_leave_the_attention_but_keep_the_mpnn_path():
    model = tiny_model(token_keep_ratio=0.5).eval()
    b = batch_of([6, 8, 10])
    layer = model.layers[0]
    with torch.no_grad():
        x, e = model.encode(b)
        index, _ = layer.select_tokens(x, b.batch, 3, 0.5, "learned", 1.0, None)
        assert torch.bincount(b.batch[index], minlength=3).tolist() == [3, 4, 5]
        seen = {}
        layer.attn.register_forward_hook(lambda m, args, out: seen.update(rows=args[0].shape[0]))
        out = layer(x, b.edge_index, e, b.batch, 3, keep_ratio=0.5)
    assert seen["rows"] == 12  # only the kept tokens entered the attention
    assert torch.isfinite(out).all() and out.shape == x.shape


@pytest.mark.parametrize("options", [{}, {"token_keep_ratio": 0.5}, {"layer_keep_ratio": 0.5},
                                     {"token_keep_ratio": 0.34, "layer_keep_ratio": 0.6}],
                         ids=["dense", "tokens", "layers", "tokens+layers"])
def test_export_pruned_computes_the_same_function_with_less(options):
    model = tiny_model(**options)
    model.layers[1].attn.head_mask.copy_(torch.tensor([1.0, 0.0, 0.0, 1.0]))
    if model.layer_gate is not None:
        with torch.no_grad():
            model.layer_gate.log_alpha.copy_(torch.tensor([3.0, 2.0, -3.0]))  # the last shut
    b = batch_of([5, 7, 9, 11])
    model.eval()
    small = model.export_pruned()
    with torch.no_grad():
        assert torch.allclose(small(b), model(b), atol=1e-5)
    heads = small.heads_per_layer()
    assert heads[1] == 2 and small.layers[1].attn.qkv.weight.shape[0] == 3 * 2 * 4
    if model.layer_gate is not None:
        assert heads[2] == 0 and small.layers[2].attn is None  # a closed block is gone
        assert sum(h > 0 for h in heads) <= model.layer_budget
        assert sum(p.numel() for p in small.parameters()) < sum(
            p.numel() for p in model.network_parameters())


def test_layer_gates_open_at_most_the_budget_at_inference():
    model = tiny_model(layer_keep_ratio=0.34)  # ceil(0.34 * 3) = 2
    with torch.no_grad():
        model.layer_gate.log_alpha.copy_(torch.tensor([5.0, 4.0, 6.0]))  # all would be open
    scales = model.inference_layer_scales()
    assert int((scales > 0).sum()) == 2 and float(scales[1]) == 0.0
    with torch.no_grad():
        model.layer_gate.log_alpha.fill_(-30.0)  # all closed by the gates themselves
    assert int((model.inference_layer_scales() > 0).sum()) == 0
    assert model.export_pruned().heads_per_layer() == [0, 0, 0]


# ----------------------------------------------------------------------------------- FLOPs
@pytest.mark.parametrize("options,heads,gates", [
    ({}, None, None),
    ({"token_keep_ratio": 0.5}, None, None),
    ({"token_keep_ratio": 0.25, "token_selection": "random"}, None, None),
    ({}, [1.0, 0.0, 1.0, 0.0], None),
    ({"layer_keep_ratio": 0.5}, None, [4.0, -4.0, 3.0]),
    ({"token_keep_ratio": 0.5, "layer_keep_ratio": 0.5}, [0.0, 0.0, 1.0, 1.0], [4.0, 3.0, -1.0]),
], ids=["dense", "tokens", "random-tokens", "heads", "layers", "combined"])
def test_analytic_flops_match_the_flop_counter(options, heads, gates):
    """Graphs of one size (no padding): every matrix product the analytic count has is the one
    ``FlopCounterMode`` sees in the exported model, to the FLOP."""
    model = tiny_model(**options)
    model.generator = torch.Generator().manual_seed(0)
    if heads is not None:
        model.layers[0].attn.head_mask.copy_(torch.tensor(heads))
    if gates is not None:
        with torch.no_grad():
            model.layer_gate.log_alpha.copy_(torch.tensor(gates))
    b = batch_of([8, 8, 8, 8])
    report = count_flops(model, b)
    assert report.matmul == counted_flops(model.export_pruned(), b)
    dense = count_flops(tiny_model(), b)
    n, e, c = 32, int(b.edge_index.shape[1]), 16
    assert dense.dense["mpnn_messages"] == 3 * 2 * e * c
    assert dense.dense["qkv"] == 3 * 6 * n * c * c and dense.dense["ffn"] == 3 * 8 * n * c * c
    assert dense.dense["attention"] == 3 * 4 * 4 * 8**2 * c
    if options or heads:
        assert report.total < dense.total


def test_weight_sparsity_lowers_only_the_sparse_kernel_count():
    model = tiny_model()
    b = batch_of([6, 9])
    before = count_flops(model, b)
    l0_weights = [w for _, w in prunable_weights(model)]
    from sparsebox.masks import l0_project_

    l0_project_(l0_weights, keep_ratio=0.25)
    after = count_flops(model, b)
    assert after.total == before.total  # dense kernels run the zeros
    assert after.total_sparse_kernel < 0.5 * before.total_sparse_kernel
    assert counted_flops(model, b) == counted_flops(tiny_model(), b)


def test_tokens_at_half_cut_attention_flops_by_70_percent_on_molbace(data_dir):
    """The issue's bar, on the real graphs: scores and A V fall with k_g^2."""
    task = load_molecules("ogbg-molbace", max_graphs=300)
    dense = count_flops(GTSPModel(1), task.test)
    half = count_flops(GTSPModel(1, token_keep_ratio=0.5), task.test)
    assert 1 - half.dense["attention"] / dense.dense["attention"] >= 0.70
    assert half.attention_block() < dense.attention_block()


# ----------------------------------------------------------------------------------- strategy
def test_cubic_schedule_runs_from_one_to_the_final_keep_ratio():
    ratios = [cubic_keep_ratio(t, 10, 80, 0.25) for t in range(0, 101)]
    assert ratios[:11] == [1.0] * 11 and ratios[80:] == [0.25] * 21
    assert all(a >= b for a, b in zip(ratios, ratios[1:], strict=False))


def test_strategy_schedule_and_validation():
    s = GTSPStrategy(total_steps=1000, head_keep_ratio=0.5, weight_keep_ratio=0.3)
    assert s.freeze_step == 800 and s.head_update_steps() == [200, 400, 600, 800]
    steps = s.weight_update_steps()
    assert steps[0] > 100 and steps[-1] == 800 and len(steps) >= 10
    with pytest.raises(InvalidParameterError, match="head_keep_ratio"):
        GTSPStrategy(total_steps=10, head_keep_ratio=1.5)
    with pytest.raises(InvalidParameterError, match="total_steps"):
        GTSPStrategy(total_steps=0)


def test_heads_regrow_when_their_gradient_ranks_them_back_in():
    model = tiny_model()
    s = GTSPStrategy(total_steps=10, head_keep_ratio=0.5)
    state = s.initialize_state(model)
    model.layers[0].attn.head_mask.copy_(torch.tensor([1.0, 1.0, 0.0, 0.0]))
    state.head_importance[0] = torch.tensor([0.1, 0.2, 5.0, 0.3])
    s._update_heads(model, state)
    assert model.layers[0].attn.head_mask.tolist() == [0.0, 0.0, 1.0, 1.0]
    assert float(state.head_importance.abs().sum()) == 0.0


def test_weight_regrowth_takes_the_pruned_entries_of_largest_gradient():
    model = tiny_model()
    s = GTSPStrategy(total_steps=100, weight_keep_ratio=0.5, regrow_fraction=0.2)
    state = s.initialize_state(model)
    weights = [w for _, w in prunable_weights(model)]
    total = sum(w.numel() for w in weights)
    for w in weights:
        w.grad = torch.rand_like(w)
    before = [w.detach().clone() for w in weights]
    state.steps = s.weight_update_steps()[0]
    keep_ratio = s._update_weights(model, state)
    masks = list(state.weight_masks.values())
    kept = sum(int(m.sum()) for m in masks)
    assert kept == math.floor(keep_ratio * total + 0.5)
    by_magnitude = l0_project_([b.clone() for b in before], k=kept - int(0.2 * kept))
    regrown = [m & ~k for m, k in zip(masks, by_magnitude, strict=True)]
    assert sum(int(r.sum()) for r in regrown) == int(0.2 * kept)
    pruned_grad = torch.cat([w.grad[~m] for w, m in zip(weights, masks, strict=True)])
    grown_grad = torch.cat([w.grad[r] for w, r in zip(weights, regrown, strict=True)])
    assert grown_grad.min() >= pruned_grad.max()
    # all were in the mask before (a dense model): the regrown ones keep their values (RigL);
    # they were zeroed, as if new
    for w, b, m in zip(weights, before, masks, strict=True):
        assert torch.equal(w.detach()[m], b[m]) and not w.detach()[~m].any()
    # at the next update an entry new to the mask starts at zero
    for w in weights:
        w.grad = torch.rand_like(w)
    previous = [m.clone() for m in masks]
    state.steps = s.weight_update_steps()[1]
    s._update_weights(model, state)
    new = [m & ~p for m, p in zip(state.weight_masks.values(), previous, strict=True)]
    assert sum(int(n.sum()) for n in new) > 0
    assert not torch.cat([w.detach()[n] for w, n in zip(weights, new, strict=True)]).any()


def test_a_model_or_graphs_of_the_wrong_kind_are_named():
    """A list of graphs was told "the batch has no random_walk_pe" (each had one); count_flops
    of another model, of graphs without edges or of a text raised bare AttributeErrors."""
    from torch_geometric.nn.models import GIN

    graphs = [molecule(5, 0), molecule(6, 1)]
    with pytest.raises(TypeError, match=r"^GTSPModel takes a PyG Batch or one Data, got a list "
                                        r"of 2: collate it with .*Batch\.from_data_list"):
        tiny_model().eval()(graphs)
    with pytest.raises(InvalidParameterError, match="^model must be a GTSPModel, got GIN$"):
        count_flops(GIN(4, 8, 2), graphs)
    with pytest.raises(ValueError, match=r"^graphs\[0\] has no edge_index$"):
        count_flops(tiny_model(), [Data(x=graphs[0].x)])
    for wrong, kind in (("abc", "str"), (5, "int")):
        with pytest.raises(TypeError, match=f"^graphs must be PyG graphs .* got {kind}$"):
            count_flops(tiny_model(), wrong)


def test_weight_keep_ratio_1_leaves_the_weights_as_they_are():
    """Every update pruned to keep - regrow and regrew the same entries at zero: a tenth of a
    dense model's weights were wiped each time, the masks saying all were kept; and a keep
    ratio that keeps no weight was taken."""
    model = tiny_model()
    s = GTSPStrategy(total_steps=100, weight_keep_ratio=1.0)
    state = s.initialize_state(model)
    weights = [w for _, w in prunable_weights(model)]
    before = [w.detach().clone() for w in weights]
    for step in s.weight_update_steps():
        for w in weights:
            w.grad = torch.rand_like(w)
        state.steps = step
        assert s._update_weights(model, state) == 1.0
        assert all(torch.equal(w.detach(), b) for w, b in zip(weights, before, strict=True))
    bare = GTSPState()  # a state made by hand, without masks: every weight held
    bare.steps = s.weight_update_steps()[0]
    s._update_weights(model, bare)
    assert all(torch.equal(w.detach(), b) for w, b in zip(weights, before, strict=True))
    total = sum(w.numel() for w in weights)
    with pytest.raises(InvalidParameterError, match=rf"^weight_keep_ratio 1e-09 keeps none of "
                                                    rf"the {total} weights; give a larger one$"):
        GTSPStrategy(total_steps=100, weight_keep_ratio=1e-9).initialize_state(model)


def _tiny_task(num_graphs: int = 40, tasks: int = 1):
    from graphsparse.gtsp.data import MoleculeTask

    graphs = [molecule(5 + i % 7, i, label=float((i * 7) % 3 == 0), chords=1)
              for i in range(num_graphs)]
    for g in graphs:
        g.y = g.y.repeat(1, tasks)
    return MoleculeTask("ogbg-molbace", graphs[:24], graphs[24:32], graphs[32:], tasks,
                        "binary classification", "rocauc")


@pytest.mark.parametrize("axes", [("heads",), ("layers",), ("weights",),
                                  ("tokens", "heads", "layers", "weights")],
                         ids=lambda a: "+".join(a))
def test_training_with_the_strategy_ends_at_the_budgets(axes):
    task = _tiny_task()
    epochs = 4
    total = epochs * steps_per_epoch(len(task.train), 8)
    model, strategy = build_run(RunSpec(axes, 0.5), 1, total, seed=0,
                                model_options={"hidden": 16, "num_layers": 3})
    result = train_gtsp(model, task, epochs=epochs, strategy=strategy, batch_size=8)
    assert result.best_epoch >= math.ceil(0.8 * epochs)  # only after the freeze
    small = result.model.export_pruned()
    if "heads" in axes:
        assert all(h in (0, 2) for h in small.heads_per_layer())
    if "layers" in axes:
        assert sum(h > 0 for h in small.heads_per_layer()) <= 2
    if "weights" in axes:
        weights = [w for _, w in prunable_weights(result.model)]
        nonzero = sum(int(torch.count_nonzero(w)) for w in weights)
        assert nonzero <= math.floor(0.5 * sum(w.numel() for w in weights) + 0.5)
    assert count_flops(result.model, task.test).total < count_flops(
        GTSPModel(1, hidden=16, num_layers=3), task.test).total or axes == ("weights",)


def test_optimizer_must_leave_the_gates_to_the_strategy():
    model = tiny_model(layer_keep_ratio=0.5)
    s = GTSPStrategy(total_steps=10)
    with pytest.raises(InvalidParameterError, match="network_parameters"):
        s.check_sanity(model, torch.optim.AdamW(model.parameters()))
    s.check_sanity(model, torch.optim.AdamW(model.network_parameters()))


def test_a_checkpoint_continues_exactly():
    """Model, optimizer, strategy state and RNG saved mid-training: the resumed run ends with the
    same weights, masks and gates as the one that went on."""
    task = _tiny_task()
    b = Batch.from_data_list(task.train[:16])
    model = tiny_model(token_keep_ratio=0.5, layer_keep_ratio=0.5)
    s = GTSPStrategy(total_steps=12, head_keep_ratio=0.5, weight_keep_ratio=0.5,
                     head_update_every=3)
    opt = torch.optim.AdamW(model.network_parameters(), lr=1e-2)
    state = s.initialize_state(model)

    def steps(model, opt, state, start, stop):
        with torch_threads(1):
            for step in range(start, stop):
                opt.zero_grad()
                loss = model(b).pow(2).mean() + s.step_pre_backward(model, opt, state, step)
                loss.backward()
                opt.step()
                s.step_post_backward(model, opt, state, step)

    torch.manual_seed(5)
    steps(model, opt, state, 0, 5)
    saved = (copy.deepcopy(model.state_dict()), copy.deepcopy(opt.state_dict()),
             copy.deepcopy(state.state_dict()), torch.get_rng_state())
    steps(model, opt, state, 5, 12)
    twin = tiny_model(token_keep_ratio=0.5, layer_keep_ratio=0.5)
    twin.load_state_dict(saved[0])
    twin_opt = torch.optim.AdamW(twin.network_parameters(), lr=1e-2)
    twin_opt.load_state_dict(saved[1])
    twin_state = s.initialize_state(twin)
    twin_state.load_state_dict(saved[2])
    torch.set_rng_state(saved[3])
    steps(twin, twin_opt, twin_state, 5, 12)
    for (name, a), (_, b_) in zip(model.state_dict().items(), twin.state_dict().items(),
                                  strict=True):
        assert torch.equal(a, b_), name
    assert state.frozen and twin_state.frozen


# ----------------------------------------------------------------------------------- data
def test_a_tiny_molhiv_in_the_ogb_layout_loads_and_trains(tmp_path):
    write_tiny_ogbg(tmp_path, "ogbg-molhiv")
    task = load_molecules("ogbg-molhiv", tmp_path, download=False)
    assert (len(task.train), len(task.valid), len(task.test)) == (24, 10, 10)
    assert task.metric_name == "rocauc" and task.num_tasks == 1
    g = task.train[0]
    assert g.random_walk_pe.shape == (g.num_nodes, 16)
    assert g.edge_index.shape[1] == 2 * g.num_nodes  # ogb added the reverse bonds
    records = run_seed(task, plan_runs(["tokens"], [0.5]), 0, epochs=1, batch_size=8)
    assert [r["axes"] for r in records] == ["dense", "tokens"]
    assert all(RECORD_KEYS <= set(r) for r in records)


def test_baselines_run_at_the_combined_runs_flops(tmp_path):
    write_tiny_ogbg(tmp_path, "ogbg-molhiv")
    task = load_molecules("ogbg-molhiv", tmp_path, download=False)
    specs = plan_runs(["tokens", "weights"], [0.5], baselines=["random-tokens", "magnitude"])
    options = {"hidden": 16, "num_layers": 2, "heads": 2}
    records = run_seed(task, specs, 0, epochs=1, batch_size=8, model_options=options)
    combined = next(r for r in records if r["axes"] == "tokens+weights")
    matched = {r["axes"]: r for r in records if r.get("at_flops_of")}
    assert set(matched) == {"random-tokens", "magnitude"}
    assert all(r["at_flops_of"] == {"axes": "tokens+weights", "keep": 0.5}
               for r in matched.values())
    tokens = matched["random-tokens"]
    assert tokens["flops"] <= combined["flops"]
    if tokens["keep"] == 0.5:  # the planned run at keep 0.5 serves, not trained twice
        plain = next(r for r in records if r["axes"] == "random-tokens" and "at_flops_of" not in r)
        assert {**plain, "at_flops_of": tokens["at_flops_of"]} == tokens
    dearer = GTSPModel(1, token_keep_ratio=tokens["keep"] + 0.01, token_selection="random",
                       **options)
    assert count_flops(dearer, task.test).per_graph() > combined["flops"]
    weights = matched["magnitude"]
    assert weights["flops_sparse_kernel"] <= combined["flops_sparse_kernel"]
    assert weights["weight_keep"] < 0.5  # the attention's sparse kernels cost it
    assert runs_to_do(records, specs, [0])[1] == {}
    # resumed with the combined run done earlier: the same keep ratios
    again = run_seed(task, [s for s in specs if s.at_flops_of], 0, epochs=1, batch_size=8,
                     model_options=options, done=[combined])
    assert [r["keep"] for r in again] == [tokens["keep"], weights["keep"]]
    with pytest.raises(InvalidParameterError, match="needs that run of seed 0 first"):
        run_seed(task, [s for s in specs if s.at_flops_of], 0, epochs=1, batch_size=8,
                 model_options=options)


def test_retimed_architectures_have_each_runs_flops(tmp_path, monkeypatch):
    from graphsparse.gtsp.timing import architecture, retime_records

    write_tiny_ogbg(tmp_path, "ogbg-molhiv")
    task = load_molecules("ogbg-molhiv", tmp_path, download=False)
    options = {"hidden": 16, "num_layers": 2, "heads": 2}
    specs = plan_runs(["tokens", "heads", "layers"], [0.5], baselines=["random-tokens"])
    records = run_seed(task, specs, 0, epochs=1, batch_size=8, model_options=options)
    assert {tuple(r["heads"]) for r in records} >= {(2, 2), (1, 1)}
    assert any(0 in r["heads"] for r in records)  # a skipped block
    for r in records:
        model = architecture(r, task.num_tasks, **options)
        assert model.export_pruned().heads_per_layer() == r["heads"], r["axes"]
        assert count_flops(model, task.test).per_graph() == pytest.approx(r["flops"]), r["axes"]
    import graphsparse.gtsp.timing as timing

    calls = []
    real = timing.inference_seconds
    monkeypatch.setattr(timing, "inference_seconds",
                        lambda model, graphs, **kw: calls.append(model) or real(model, graphs, **kw))
    twice = [*records, {**records[0]}]  # the same architecture twice: timed once per round
    seconds = retime_records(twice, task.test, task.num_tasks, rounds=2, **options)
    assert len(seconds) == len(twice) and all(s > 0 for s in seconds)
    assert seconds[0] == seconds[-1]
    def shape(r):
        tokens = r["axes"] == "random-tokens" or "tokens" in r["axes"].split("+")
        return r["axes"] == "random-tokens", r["keep"] if tokens else None, tuple(r["heads"])

    shapes = {shape(r) for r in records}
    assert len(calls) == 2 * len(shapes)
    bars = []  # a bar over every timing of every round, drawn when asked for

    def bar(items, description, enabled):
        bars.append((len(items), enabled))
        return iter(items)

    monkeypatch.setattr(timing, "progress_bar", bar)
    retime_records(twice, task.test, task.num_tasks, rounds=2, progress=True, **options)
    retime_records(twice, task.test, task.num_tasks, rounds=1, **options)
    assert bars == [(2 * len(shapes), True), (len(shapes), False)]
    with pytest.raises(InvalidParameterError, match="rounds"):
        retime_records(records, task.test, task.num_tasks, rounds=0, **options)


def test_a_tiny_molpcba_with_missing_labels_trains(tmp_path):
    write_tiny_ogbg(tmp_path, "ogbg-molpcba", num_tasks=128)
    task = load_molecules("ogbg-molpcba", tmp_path, download=False)
    assert task.metric_name == "ap" and task.num_tasks == 128
    assert any(torch.isnan(g.y).any() for g in task.train)
    model, _ = build_run(RunSpec(), 128, 3, seed=0, model_options={"hidden": 16})
    result = train_gtsp(model, task, epochs=1, batch_size=8)
    assert 0.0 <= result.test <= 1.0
    # a split with no task of both labels failed in the training's first evaluation: "No
    # positively labeled data available. Cannot compute Average Precision."
    with pytest.raises(InvalidParameterError, match="max_graphs 3 leaves the valid split of "
                                                    "ogbg-molpcba .* average precision needs"):
        load_molecules("ogbg-molpcba", tmp_path, max_graphs=3, download=False)


def test_too_few_graphs_for_roc_auc_name_the_fewest_that_do():
    """--max-graphs 12 was refused with "use more graphs", under a help that said 3 would do."""
    with pytest.raises(InvalidParameterError, match=r"max_graphs 24 leaves the test split of "
                       r"ogbg-molbace .* ROC-AUC needs; 25 is the fewest that gives both$"):
        load_molecules("ogbg-molbace", max_graphs=24)
    task = load_molecules("ogbg-molbace", max_graphs=25)
    assert len(task.train) + len(task.valid) + len(task.test) == 25


def test_a_split_without_both_labels_is_named_whatever_max_graphs_is(tmp_path):
    """Without max_graphs the check failed with a TypeError (None + 1) looking for a count."""
    write_tiny_ogbg(tmp_path, "ogbg-molhiv", one_label=True)
    for max_graphs in (None, 5):
        with pytest.raises(InvalidParameterError, match=r"^the valid split of ogbg-molhiv has no "
                                                        r"task with both labels, which ROC-AUC "
                                                        r"needs$"):
            load_molecules("ogbg-molhiv", tmp_path, max_graphs=max_graphs, download=False)


def test_missing_ogbg_files_name_the_folder_offline(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="ogbg_molhiv"):
        load_molecules("ogbg-molhiv", tmp_path, download=False)
    with pytest.raises(DatasetNotFoundError, match="ogbg-molhiv: not in .* download failed"):
        load_molecules("ogbg-molhiv", tmp_path)  # the tests refuse the network
    folder = write_tiny_ogbg(tmp_path, "ogbg-molhiv")
    (folder / "RELEASE_v1.txt").unlink()
    with pytest.raises(DatasetNotFoundError, match="RELEASE_v1.txt"):
        load_molecules("ogbg-molhiv", tmp_path, download=False)


# ----------------------------------------------------------------------------------- protocol
def test_plan_and_parse():
    specs = plan_runs(["tokens", "heads", "layers", "weights"], [0.75, 0.5, 0.25],
                      baselines=["random-tokens", "magnitude"])
    labels = [s.label for s in specs]
    assert labels.count("dense") == 1 and labels.count("tokens+heads+layers+weights") == 3
    assert len(specs) == 1 + 12 + 3 + 6 + 6
    assert parse_axes("weights,tokens") == ("tokens", "weights")
    for bad in ("tokens,nodes", "", "heads,heads"):
        with pytest.raises(InvalidParameterError, match="axes"):
            parse_axes(bad)
    for bad in ("0", "1.5", "-0.5", "half", "0.5,0.5"):
        with pytest.raises(InvalidParameterError, match="keep ratio"):
            parse_keeps(bad)


def test_keep_ratios_that_one_run_key_would_merge_are_refused():
    # runs are told apart by the keep ratio to 6 decimals: 0.5 and 0.5000001 ran as two runs
    # whose records --resume then refused as one run recorded twice
    with pytest.raises(InvalidParameterError, match="must not repeat"):
        parse_keeps("0.5,0.5000001")
    assert parse_keeps("0.5,0.500001") == (0.5, 0.500001)


def test_resume_runs_only_what_is_missing():
    specs = plan_runs(["tokens"], [0.5, 0.25])
    done = [{"axes": "dense", "keep": 1.0, "seed": 0}, {"axes": "tokens", "keep": 0.5, "seed": 0}]
    kept, todo = runs_to_do(done, specs, [0, 1])
    assert kept == done
    assert [s.key for s in todo[0]] == [("tokens", 0.25)] and len(todo[1]) == 3


def test_report_compares_each_run_with_dense():
    def rec(axes, keep, seed, metric, flops, attention):
        return {"dataset": "d", "axes": axes, "keep": keep, "seed": seed,
                "metric_name": "rocauc", "metric": metric, "flops": flops,
                "flops_sparse_kernel": flops, "inference_seconds": flops / 100, "epochs": 2,
                "attention_flops": attention, "attention_block_flops": 2 * attention}
    records = [rec("dense", 1.0, s, 0.80 + 0.01 * s, 100.0, 40.0) for s in (0, 1)]
    records += [rec("tokens", 0.25, s, 0.79 + 0.01 * s, 60.0, 4.0) for s in (0, 1)]
    records += [rec("random-tokens", 0.25, s, 0.75, 60.0, 4.0) for s in (0, 1)]
    table = summarize_runs(records)["d"]
    compared = compare_to_dense(table)
    row = compared["rows"][("tokens", 0.25)]
    assert row["flops_cut"] == pytest.approx(0.4) and row["delta"] == pytest.approx(-1.0)
    assert row["wall_ratio"] == pytest.approx(0.6)
    assert compared["attention_cut"][0.25]["scores"] == pytest.approx(0.9)
    assert compared["baselines"][0]["margin"] == pytest.approx(4.5)
    found = row["baselines_at_flops"]["random-tokens"]  # same FLOPs
    assert found["margin"] == pytest.approx(4.5) and found["as_cheap"]
    records += [rec("magnitude", 0.25, 0, 0.85, 100.0, 40.0)]  # costs more, but is all there is
    row = compare_to_dense(summarize_runs(records)["d"])["rows"][("tokens", 0.25)]
    found = row["baselines_at_flops"]["magnitude"]
    assert found["margin"] == pytest.approx(-5.5) and not found["as_cheap"]
    assert "magnitude at its fewest FLOPs, more (0.00 M): -5.50" in baseline_phrase("magnitude", found)
    records += [rec("magnitude", 0.1, 0, 0.70, 50.0, 40.0)]  # no dearer than tokens: it counts
    row = compare_to_dense(summarize_runs(records)["d"])["rows"][("tokens", 0.25)]
    found = row["baselines_at_flops"]["magnitude"]
    assert found["margin"] == pytest.approx(9.5) and found["as_cheap"] and found["flops"] == 50.0
    # a copy of a record for a baseline at a combined run's FLOPs counts once; another run of
    # the same seed and keep ratio still counts
    copied = summarize_runs([*records, {**records[-1], "at_flops_of": {"axes": "t", "keep": 1}}])
    assert copied["d"][("magnitude", 0.1)]["seeds"] == 1
    other = summarize_runs([*records, {**records[-1], "metric": 0.5}])
    assert other["d"][("magnitude", 0.1)]["seeds"] == 2


def test_inference_time_is_measured_on_the_exported_model(monkeypatch):
    """Every timed pass (and the warm-up) runs the exported model on every batch, never the
    training model."""
    task = _tiny_task()
    model = tiny_model(token_keep_ratio=0.5)
    ran, exported = [], []
    model.register_forward_hook(lambda module, inputs, output: ran.append(module))
    export = model.export_pruned

    def export_and_watch():
        exported.append(export())  # a copy: it carries the hook above
        return exported[-1]

    monkeypatch.setattr(model, "export_pruned", export_and_watch)
    assert inference_seconds(model, task.test, batch_size=4, repeats=2) > 0
    assert len(exported) == 1 and exported[0] is not model
    assert len(ran) == 3 * math.ceil(len(task.test) / 4)
    assert all(m is exported[0] for m in ran)


# ----------------------------------------------------------------------------------- command
def test_ci_sized_run_of_the_command(cli, data_dir, tmp_path, monkeypatch):
    """2 epochs, 256 graphs of ogbg-molbace, every axis alone and combined, one seed."""
    import graphsparse.gtsp.timing as timing

    out = tmp_path / "gtsp"
    bars, real_bar = [], timing.progress_bar
    monkeypatch.setattr(timing, "progress_bar", lambda items, description, enabled: bars.append(
        enabled) or real_bar(items, description, enabled=enabled))
    result = cli("graph", "gtsp", "--dataset", "ogbg-molbace", "--axes",
                 "tokens,heads,layers,weights", "--keep", "0.5", "--seeds", "1", "--epochs", "2",
                 "--max-graphs", "256", "--out", out)
    assert result.exit_code == 0, result.output
    records = json.loads((out / "results.json").read_text())
    assert all(RECORD_KEYS <= set(r) for r in records)
    by = {r["axes"]: r for r in records}
    assert set(by) == {"dense", "tokens", "heads", "layers", "weights",
                       "tokens+heads+layers+weights"}
    dense = by["dense"]
    assert dense["keep"] == 1.0 and dense["epochs"] == 2 and dense["metric_name"] == "rocauc"
    for axis in ("tokens", "heads", "layers"):
        assert by[axis]["flops"] < dense["flops"], axis
    assert by["weights"]["flops"] == pytest.approx(dense["flops"])
    assert by["weights"]["flops_sparse_kernel"] < 0.7 * dense["flops_sparse_kernel"]
    assert by["tokens"]["attention_flops"] <= 0.3 * dense["attention_flops"]
    assert by["heads"]["heads"] == [2, 2, 2, 2] and by["layers"]["open_layers"] <= 2
    combined = by["tokens+heads+layers+weights"]
    assert combined["flops"] < min(by[a]["flops"] for a in ("tokens", "heads", "layers"))
    assert all(r["inference_seconds"] > 0 and 0 <= r["metric"] <= 1 for r in records)
    assert all(r["inference_seconds_beside_training"] > 0 for r in records)  # and re-timed
    text = (out / "results.md").read_text()
    assert "| tokens | 0.5 |" in text and "rocauc" in text
    assert "Run with --epochs 2, --max-graphs 256, --batch-size 128, --lr 0.001 (run.json)." in text
    assert (out / "pareto.png").stat().st_size > 0
    assert "gtsp" in result.stderr and bars == [True]  # the progress bars (the re-timing's too)
    helped = "".join(cli("graph", "gtsp", "--help").stdout.split()).split("--out<path>")[1]
    helped = helped.split("--resume/--no-resume")[0]  # --out's own help
    assert all(p.name in helped for p in out.iterdir())  # --out's help left out run.json


def test_resume_adds_seeds_and_keeps_records(cli, tmp_path, monkeypatch):
    write_tiny_ogbg(tmp_path / "data", "ogbg-molhiv")
    monkeypatch.setenv("SPARSEBOX_DATA", str(tmp_path / "data"))
    out = tmp_path / "hiv"
    args = ["graph", "gtsp", "--dataset", "ogbg-molhiv", "--axes", "tokens", "--keep",
            "0.5,0.25", "--epochs", "1", "--batch-size", "8", "--out", out]
    assert cli(*args, "--seeds", "1").exit_code == 0
    first = json.loads((out / "results.json").read_text())
    assert len(first) == 3
    result = cli(*args, "--seeds", "2", "--resume")
    assert result.exit_code == 0, result.output
    records = json.loads((out / "results.json").read_text())
    timed = ("inference_seconds", "inference_seconds_beside_training")

    def untimed(rs):
        return [{k: v for k, v in r.items() if k not in timed} for r in rs]

    assert untimed(records[:3]) == untimed(first)  # every run's time is measured again
    assert sorted(r["seed"] for r in records[3:]) == [1, 1, 1]
    assert [r["inference_seconds_beside_training"] for r in records[:3]] == \
        [r["inference_seconds_beside_training"] for r in first]


def test_the_token_pruner_is_seeded_and_leaves_the_global_random_state_alone(data_dir):
    from graphsparse.gtsp.estimator import GtspTokenPruner

    graphs = load_molecules("ogbg-molbace", max_graphs=40).train
    torch.manual_seed(123)
    before = torch.get_rng_state()
    a = GtspTokenPruner(keep_ratio=0.5, epochs=1, hidden=8, num_layers=1, heads=2).fit(graphs)
    assert torch.equal(torch.get_rng_state(), before)
    b = GtspTokenPruner(keep_ratio=0.5, epochs=1, hidden=8, num_layers=1, heads=2).fit(graphs)
    np.testing.assert_array_equal(a.scores_, b.scores_)
    c = GtspTokenPruner(keep_ratio=0.5, epochs=1, hidden=8, num_layers=1, heads=2,
                        seed=np.int64(0)).fit(graphs)  # a bare TypeError in torch's manual_seed
    np.testing.assert_array_equal(a.scores_, c.scores_)


def _spoiled(field: str) -> list[Data]:
    """Four good molecules, the third with ``field`` spoiled as a PyG user might."""
    graphs = [molecule(n, seed=n, label=n % 2) for n in (4, 5, 6, 7)]
    bad = graphs[2]
    if field == "no edge_attr":
        del bad.edge_attr
    elif field == "float x":
        bad.x = torch.rand(bad.num_nodes, 9)
    elif field == "x of too few columns":
        bad.x = bad.x[:, :4]
    elif field == "edge_attr out of the vocabulary":
        bad.edge_attr[1, 0] = 99
    elif field == "edge_index beyond the nodes":
        bad.edge_index = bad.edge_index.clone()
        bad.edge_index[0, 0] = bad.num_nodes + 3
    elif field == "float edge_index":
        bad.edge_index = bad.edge_index.float()
    elif field == "no y":
        del bad.y
    elif field == "two labels":
        bad.y = torch.tensor([[0.0, 1.0]])
    return graphs


@pytest.mark.parametrize("field, words", [
    ("no edge_attr", ["graph 2", "no edge_attr", "bond"]),
    ("float x", ["graph 2", "x must hold", "integers", "float32"]),
    ("x of too few columns", ["graph 2", "x must be", "[6, 9]", "[6, 4]"]),
    ("edge_attr out of the vocabulary", ["graph 2", "edge_attr[1, 0] is 99", "0 .. 4"]),
    ("edge_index beyond the nodes", ["graph 2", "edge_index", "0 .. 5", "got 9"]),
    ("float edge_index", ["graph 2", "edge_index must be an integer tensor"]),
    ("no y", ["graph 2", "no y"]),
    ("two labels", ["graph 2", "y has 2 labels", "graph 0 has 1"]),
])
def test_the_token_pruner_names_the_graph_and_the_field_it_cannot_read(field, words):
    """A graph without edge_attr failed with "'NoneType' object has no attribute 'shape'", a
    float x deep in an embedding."""
    from graphsparse.gtsp.estimator import GtspTokenPruner

    pruner = GtspTokenPruner(keep_ratio=0.5, epochs=1, hidden=8, num_layers=1, heads=2)
    with pytest.raises(InvalidParameterError) as caught:
        pruner.fit(_spoiled(field))
    for word in words:
        assert word in str(caught.value), (word, str(caught.value))
    assert int(pruner.fit(_spoiled("nothing")).mask_.sum()) == 2 + 3 + 3 + 4


def test_the_token_pruner_refuses_to_transform_other_graphs_than_it_was_fitted_on():
    """Its masks fell on any graphs of the fitted node counts (other molecules of 4, 5, 6 and 7
    atoms were pruned with the fitted ones' masks), where the edge methods refuse another
    graph; graphs of other counts, or in another order, were refused already."""
    from graphsparse.gtsp.estimator import GtspTokenPruner

    graphs = [molecule(n, seed=n, label=n % 2) for n in (4, 5, 6, 7)]
    pruner = GtspTokenPruner(keep_ratio=0.5, epochs=1, hidden=8, num_layers=1, heads=2).fit(graphs)
    kept = pruner.transform(graphs)
    assert [g.num_nodes for g in kept] == [2, 3, 3, 4]
    same = [molecule(n, seed=n, label=n % 2) for n in (4, 5, 6, 7)]  # equal, not the same objects
    assert [g.num_nodes for g in pruner.transform(same)] == [2, 3, 3, 4]
    others = [molecule(n, seed=n + 100, label=n % 2) for n in (4, 5, 6, 7)]
    other_bond = [molecule(n, seed=n, label=n % 2) for n in (4, 5, 6, 7)]
    other_bond[3].edge_attr = 1 - other_bond[3].edge_attr
    for bad, index in ((others, 0), (other_bond, 3)):
        with pytest.raises(InvalidParameterError, match=f"graph {index} has as many nodes as fit's "
                                                        "but other atoms, bonds or bond features"):
            pruner.transform(bad)
    with pytest.raises(InvalidParameterError, match="graph 0 has 7 nodes, fit's had 4"):
        pruner.transform(graphs[::-1])


def test_a_batch_without_the_walk_encoding_is_refused_by_name():
    """A plain ogb loader's batches reached the model and failed with an AttributeError."""
    batch = batch_of([5, 6])
    del batch.random_walk_pe
    with pytest.raises(ValueError, match="no random_walk_pe: .*AddRandomWalkPE"):
        tiny_model()(batch)


def test_resume_refuses_records_no_run_wrote_in_one_line(cli, tmp_path, monkeypatch):
    """A record without its metric gave `error: metric`, one with keep null or axes 5 an
    internal error, and a record of another dataset or one recorded twice was reported."""
    write_tiny_ogbg(tmp_path / "data", "ogbg-molhiv")
    monkeypatch.setenv("SPARSEBOX_DATA", str(tmp_path / "data"))
    out = tmp_path / "hiv"
    args = ["graph", "gtsp", "--dataset", "ogbg-molhiv", "--axes", "tokens", "--keep", "0.5",
            "--seeds", "1", "--epochs", "1", "--batch-size", "8", "--out", out]
    assert cli(*args).exit_code == 0
    path = out / "results.json"
    good = json.loads(path.read_text())
    spoiled = {
        "record 2 has no metric": lambda rs: rs[1].pop("metric"),
        "record 2: keep is null": lambda rs: rs[1].update(keep=None),
        "record 2: axes is 5": lambda rs: rs[1].update(axes=5),
        "record 2: heads is": lambda rs: rs[1].update(heads="4"),
        "record 1: dataset must be ogbg-molhiv": lambda rs: rs[0].update(dataset="ogbg-molbace"),
        "record 2: axes must be": lambda rs: rs[1].update(axes="tokens+speed"),
        "records 2 and 3 are both tokens at keep 0.5, seed 0": lambda rs: rs.append(dict(rs[1])),
    }
    for words, spoil in spoiled.items():
        records = copy.deepcopy(good)
        spoil(records)
        path.write_text(json.dumps(records))
        before = {p.name: p.read_bytes() for p in out.iterdir()}
        result = cli(*args, "--resume")
        assert result.exit_code == 2, (words, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error:"), (words, result.stderr)
        assert "--resume" in lines[0] and str(path) in lines[0] and words in lines[0], lines[0]
        assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # nothing rewritten


def test_the_report_is_written_whole_or_not_at_all(tmp_path, monkeypatch):
    """pareto.png was saved in place before results.md was written: a failure between the two
    left a new plot beside the old table."""
    from graphsparse.gtsp.report import write_gtsp_report

    def rec(axes, keep, metric, flops):
        return {"dataset": "d", "axes": axes, "keep": keep, "seed": 0, "metric_name": "rocauc",
                "metric": metric, "flops": flops, "flops_sparse_kernel": flops,
                "inference_seconds": flops / 100, "epochs": 1, "attention_flops": flops / 4,
                "attention_block_flops": flops / 2}

    records = [rec("dense", 1.0, 0.8, 100.0), rec("tokens", 0.5, 0.7, 60.0)]
    write_gtsp_report(records, tmp_path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert set(before) == {"results.md", "pareto.png"}

    def full_disk(self, *args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "write_text", full_disk)
    with pytest.raises(OSError, match="No space left"):
        write_gtsp_report([*records, rec("tokens", 0.25, 0.6, 40.0)], tmp_path)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_the_token_pruner_refuses_labels_binary_cross_entropy_cannot_learn():
    """Labels 4..7 were read as probabilities by the binary cross-entropy and trained on."""
    from graphsparse.gtsp.estimator import GtspTokenPruner

    graphs = [molecule(n, seed=n, label=float(n)) for n in (4, 5, 6, 7)]
    pruner = GtspTokenPruner(keep_ratio=0.5, epochs=1, hidden=8, num_layers=1, heads=2)
    with pytest.raises(InvalidParameterError, match=r"graph 0: y holds 4; task_type 'binary "
                                                    r"classification' needs labels 0 or 1"):
        pruner.fit(graphs)
    assert pruner.set_params(task_type="regression").fit(graphs).mask_.sum() == 2 + 3 + 3 + 4
    for g, label in zip(graphs, (0.0, float("nan"), 1.0, 0.0), strict=True):  # NaN: missing
        g.y = torch.tensor([[label]])
    assert pruner.set_params(task_type="binary classification").fit(graphs).mask_.sum() == 12
    with pytest.raises(InvalidParameterError, match=r"got one Data: pass \[graph\]"):
        pruner.fit(graphs[0])  # "graph 0 is a tuple": a Data iterates as (key, value) pairs
    with pytest.raises(InvalidParameterError, match=r"got one Data: pass \[graph\]"):
        pruner.transform(graphs[0])


@pytest.mark.parametrize("option, value, words", [
    ("max_graphs", "10", "max_graphs must be an integer, got '10'"),
    ("max_graphs", 2.5, "max_graphs must be an integer, got 2.5"),
    ("walk_length", 0, "walk_length must be >= 1, got 0"),
])
def test_load_molecules_names_a_size_it_cannot_take(option, value, words):
    """max_graphs="10" failed with "'<' not supported between 'str' and 'int'"; walk_length=0
    gave graphs with a one-column encoding the model cannot read."""
    with pytest.raises(InvalidParameterError, match=words):
        load_molecules("ogbg-molbace", **{option: value})


def test_the_report_shows_no_change_of_flops_as_plus_zero(tmp_path):
    """The weights axis (dense-kernel FLOPs as dense's) read "-0.0%", a cut that is not there."""
    from graphsparse.gtsp.report import write_gtsp_report

    def rec(axes, flops, sparse):
        return {"dataset": "d", "axes": axes, "keep": 0.5 if axes != "dense" else 1.0,
                "seed": 0, "metric_name": "rocauc", "metric": 0.8, "flops": flops,
                "flops_sparse_kernel": sparse, "inference_seconds": 1.0, "epochs": 1,
                "attention_flops": 10.0, "attention_block_flops": 20.0}

    write_gtsp_report([rec("dense", 100.0, 100.0), rec("weights", 100.0, 60.0)], tmp_path)
    text = (tmp_path / "results.md").read_text()
    assert "-0.0%" not in text
    assert "| weights | 0.5 | 0.8000 +- 0.0000 | 1 | 0.00 M | +0.0% |" in text
    assert "- weights at keep 0.5: +0.0% / -40.0%" in text


def test_the_report_says_which_sign_is_better_for_each_comparison(tmp_path):
    """On an RMSE dataset one line read "-0.02 rmse, ...; vs random-tokens ...: +0.01": a
    difference where lower is better beside a margin where higher is, neither said."""
    from graphsparse.gtsp.report import write_gtsp_report

    def rec(axes, keep, metric, name):
        return {"dataset": "d", "axes": axes, "keep": keep, "seed": 0, "metric_name": name,
                "metric": metric, "flops": 100.0 * keep, "flops_sparse_kernel": 100.0 * keep,
                "inference_seconds": 1.0, "epochs": 1, "attention_flops": 10.0 * keep,
                "attention_block_flops": 20.0 * keep}

    for name, better in (("rmse", "lower"), ("rocauc", "higher")):
        write_gtsp_report([rec("dense", 1.0, 1.0, name), rec("layers", 0.5, 0.98, name),
                           rec("random-tokens", 0.5, 0.99, name)], tmp_path)
        text = " ".join((tmp_path / "results.md").read_text().split())
        assert (f"their {name} minus dense's ({better} is better) and their measured inference "
                "wall time; against a baseline, the margin over it (positive = better than the "
                "baseline") in text, text
    assert "- layers at keep 0.5: 50.0% fewer FLOPs, -2.00 points" in text
    assert "vs random-tokens at no more FLOPs (0.00 M): -1.00" in text


def test_the_weight_schedule_must_end_by_the_freeze():
    """weight_end past freeze_at froze the masks mid-schedule: weight_keep_ratio 0.2 with
    freeze_at 0.5 ended near 0.3 kept, silently."""
    with pytest.raises(InvalidParameterError, match="weight_end must be at most freeze_at.*step 80"):
        GTSPStrategy(total_steps=100, weight_keep_ratio=0.2, freeze_at=0.5)
    with pytest.raises(InvalidParameterError, match="weight_end must be at most freeze_at"):
        GTSPStrategy(total_steps=100, weight_keep_ratio=0.2, weight_end=1.0)
    # within freeze_at, but too few steps for the window once rounded: said so, not that
    # weight_end 0.8 must be at most freeze_at 0.8
    with pytest.raises(InvalidParameterError, match=r"^total_steps 4 is too few for the weight "
                                                    r"schedule .* starts at step 3 and would end at "
                                                    r"step 4 of 4, after the freeze at step 3; give "
                                                    r"more total_steps"):
        GTSPStrategy(total_steps=4, weight_keep_ratio=0.5, weight_start=0.75, weight_end=0.8,
                     freeze_at=0.8)
    GTSPStrategy(total_steps=20, weight_keep_ratio=0.5, weight_start=0.75, weight_end=0.8,
                 freeze_at=0.8)  # with more steps the same window fits
    GTSPStrategy(total_steps=100, head_keep_ratio=0.5, freeze_at=0.5)  # no weight axis: fine
    s = GTSPStrategy(total_steps=100, weight_keep_ratio=0.2, weight_end=0.5, freeze_at=0.5)
    assert s.weight_update_steps()[-1] <= s.freeze_step
    for total in range(1, 60):  # the defaults fit at every length
        s = GTSPStrategy(total_steps=total, weight_keep_ratio=0.5)
        assert s.weight_update_steps()[-1] <= s.freeze_step


def test_train_gtsp_is_seeded_and_leaves_the_global_random_state_alone():
    """The seed ordered the batches only: dropout and the Gumbel noise drew from torch's global
    state, so one model trained twice with one seed ended differently."""
    task = _tiny_task()
    torch.manual_seed(0)
    model = GTSPModel(1, hidden=16, num_layers=2, heads=2, token_keep_ratio=0.5)
    before = torch.get_rng_state()
    results = [train_gtsp(copy.deepcopy(model), task, epochs=1, batch_size=8, seed=3).model
               for _ in range(2)]
    assert torch.equal(torch.get_rng_state(), before)
    for (name, a), (_, b) in zip(results[0].state_dict().items(), results[1].state_dict().items(),
                                 strict=True):
        assert torch.equal(a, b), name
    other = train_gtsp(copy.deepcopy(model), task, epochs=1, batch_size=8, seed=4).model
    assert not torch.equal(other.layers[0].attn.qkv.weight, results[0].layers[0].attn.qkv.weight)


@pytest.mark.parametrize("split", ["train", "valid", "test"])
def test_train_gtsp_refuses_an_empty_split_before_training(split):
    """A user's MoleculeTask with no validation graphs trained a whole epoch, then failed in
    torch.cat."""
    import dataclasses

    task = dataclasses.replace(_tiny_task(), **{split: []})
    model = GTSPModel(1, hidden=16, num_layers=2, heads=2, token_keep_ratio=0.5)
    with pytest.raises(InvalidParameterError, match=f"task.{split} holds no graphs"):
        train_gtsp(model, task, epochs=1, batch_size=8)


def test_the_model_reads_one_graph_and_names_what_a_batch_lacks():
    """One Data gave "'GlobalStorage' object has no attribute 'num_graphs'", an encoding of
    another walk length "running_mean should contain 16 elements not 20", no x an
    AttributeError on None."""
    model = tiny_model(token_keep_ratio=0.5).eval()
    g = molecule(7, 1, chords=2)
    assert torch.allclose(model(g), model(Batch.from_data_list([g])), atol=1e-6)
    assert count_flops(model, g).dense == count_flops(model, [g]).dense
    longer = batch_of([5, 6])
    longer.random_walk_pe = torch.rand(11, 20)
    with pytest.raises(ValueError, match=r"walk_length 16, got shape \[11, 20\].*walk_length=20"):
        model(longer)
    for name, kind in (("x", "atom"), ("edge_attr", "bond")):
        batch = batch_of([5, 6])
        del batch[name]
        with pytest.raises(ValueError, match=f"no {name}: .*ogb's {kind} features"):
            model(batch)


@pytest.mark.parametrize("options, words", [
    ({"hidden": 4, "heads": 8}, r"heads must be at most hidden \(4\).*got 8"),
    ({"hidden": 0}, "hidden must be >= 1, got 0"),
    ({"walk_length": 0}, "walk_length must be >= 1, got 0"),
    ({"tau": 0.0}, "tau must be a finite number > 0, got 0"),
    ({"attn_dropout": 1.5}, r"attn_dropout must be in \[0, 1\), got 1.5"),
    ({"dropout": -0.1}, r"dropout must be in \[0, 1\), got -0.1"),
])
def test_the_model_names_a_size_it_cannot_take(options, words):
    """heads above hidden said "head_dim must be >= 1, got 0" (no head_dim was given); a zero
    walk length built a model; tau 0 failed at the first training step; an attention dropout
    of 1.5 built a model whose first pass said "p must be in [0, 1], got 1.5"."""
    with pytest.raises(InvalidParameterError, match=words):
        GTSPModel(1, token_keep_ratio=0.5, **options)


def test_the_token_pruner_transforms_the_graphs_it_fitted_in_their_order():
    """Graphs in another order with as many nodes in all took each other's masks, silently; a
    generator was counted, then found empty: transform returned []."""
    from graphsparse.gtsp.estimator import GtspTokenPruner

    graphs = [molecule(n, seed=n, label=n % 2) for n in (4, 5, 6, 7)]
    pruner = GtspTokenPruner(keep_ratio=0.5, epochs=1, hidden=8, num_layers=1, heads=2)
    pruner.fit(graphs)
    with pytest.raises(InvalidParameterError, match="graph 0 has 7 nodes, fit's had 4"):
        pruner.transform(graphs[::-1])
    kept = [g.num_nodes for g in pruner.transform(iter(graphs))]
    assert kept == [2, 3, 3, 4]
    assert [g.num_nodes for g in pruner.fit_transform(g for g in graphs)] == kept


def test_an_epoch_leaves_out_a_last_batch_of_one_graph():
    """ogbg-molfreesolv's 513 training graphs in batches of 128 left one graph alone at the end of
    each epoch; when it was a one-atom molecule, batch norm failed ("Expected more than 1 value
    per channel"), on the same seed and epoch again at every --resume."""
    from graphsparse.gtsp.estimator import GtspTokenPruner
    from graphsparse.gtsp.train import drops_lone_graph

    assert steps_per_epoch(513, 128) == 4 and drops_lone_graph(513, 128)
    assert steps_per_epoch(514, 128) == 5 and steps_per_epoch(1, 128) == 1
    assert not drops_lone_graph(5, 1) and not drops_lone_graph(1, 8)
    task = _tiny_task()
    task.train = [molecule(1, i, label=float(i % 2)) for i in range(9)]  # one atom each
    torch.manual_seed(0)
    model = GTSPModel(1, hidden=16, num_layers=1, heads=2)
    strategy = GTSPStrategy(total_steps=2 * steps_per_epoch(9, 8), head_keep_ratio=0.5)
    result = train_gtsp(model, task, epochs=2, batch_size=8, strategy=strategy)
    assert result.best_epoch == 2
    pruner = GtspTokenPruner(keep_ratio=0.5, epochs=1, batch_size=8, hidden=8, num_layers=1,
                             heads=2)
    assert int(pruner.fit(task.train).mask_.sum()) == 9


def test_seeded_training_leaves_the_gpus_random_state_alone(monkeypatch):
    """torch.manual_seed(seed) inside fork_rng(devices=[]) reseeded every GPU (lazily, where
    CUDA was not started yet), which fork_rng did not give back: the caller's GPU draws changed."""
    from graphsparse.gtsp.estimator import GtspTokenPruner

    seeded = []
    monkeypatch.setattr(torch.cuda, "manual_seed_all", seeded.append)
    task = _tiny_task()
    train_gtsp(GTSPModel(1, hidden=8, num_layers=1, heads=2), task, epochs=1, batch_size=8, seed=3)
    GtspTokenPruner(keep_ratio=0.5, epochs=1, hidden=8, num_layers=1, heads=2).fit(task.train)
    GTSPModel(1, hidden=8, num_layers=2, heads=2, layer_keep_ratio=0.5).inference_layer_scales()
    assert seeded == []


def test_a_batch_without_labels_leaves_the_weights_finite():
    """ogb marks missing labels NaN: a batch with none gave a NaN loss (the mean of nothing),
    and the next step made every weight NaN."""
    task = _tiny_task()
    pred = torch.randn(4, 1, requires_grad=True)
    loss = task.loss(pred, torch.full((4, 1), float("nan")))
    loss.backward()
    assert float(loss) == 0.0 and torch.equal(pred.grad, torch.zeros(4, 1))


def test_the_token_pruner_refuses_graphs_without_labels():
    """Every label missing: it trained on NaN losses and pruned by NaN scores, without a word."""
    from graphsparse.gtsp.estimator import GtspTokenPruner

    graphs = [molecule(n, n, label=float("nan")) for n in (4, 5, 6, 7)]
    with pytest.raises(InvalidParameterError, match=r"labels y are all missing \(NaN\)"):
        GtspTokenPruner(keep_ratio=0.5, epochs=1, hidden=8, num_layers=1, heads=2).fit(graphs)


def test_build_run_seeds_the_model_and_leaves_the_callers_and_the_gpus_random_state(monkeypatch):
    """build_run called torch.manual_seed: it reseeded every GPU and left the caller's CPU
    stream at the seed."""
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    reseeded = []
    monkeypatch.setattr(torch.cuda, "manual_seed_all", reseeded.append)
    a, _ = build_run(RunSpec(), 1, 10, seed=4, model_options={"hidden": 16})
    assert torch.equal(torch.rand(3), expected) and reseeded == []
    b, _ = build_run(RunSpec(), 1, 10, seed=4, model_options={"hidden": 16})
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(),
                                                 b.state_dict().values(), strict=True))


def test_flops_and_inference_time_read_the_graphs_of_batches_one_by_one():
    """A DataLoader (or a list of batches) counted each batch as one graph of all its atoms:
    FLOPs per graph several times too high, the attention's as if every token of the batch
    attended every other; inference_seconds failed on a Batch or one Data ("'tuple' object has
    no attribute 'num_nodes'"), which count_flops takes, and returned inf for repeats=0."""
    from torch_geometric.loader import DataLoader

    graphs = [molecule(n, n, chords=1) for n in (3, 5, 7, 9, 11, 4, 6)]
    model = tiny_model(token_keep_ratio=0.5).eval()
    one_by_one = count_flops(model, graphs)
    for batches in (DataLoader(graphs, batch_size=3), list(DataLoader(graphs, batch_size=2))):
        report = count_flops(model, batches)
        assert report.graphs == len(graphs)
        assert report.dense == one_by_one.dense and report.sparse_kernel == one_by_one.sparse_kernel
    for graphs_in in (Batch.from_data_list(graphs), graphs[0], DataLoader(graphs, batch_size=3)):
        assert 0 < inference_seconds(model, graphs_in, batch_size=4, repeats=1) < math.inf
    for option in ("repeats", "batch_size"):
        with pytest.raises(InvalidParameterError, match=f"{option} must be >= 1, got 0"):
            inference_seconds(model, graphs, **{option: 0})


@pytest.mark.parametrize("option, value", [("gate_lr", math.inf), ("gate_rho", math.nan),
                                           ("gate_lr", 0.0)])
def test_the_strategy_refuses_gate_settings_that_spoil_the_gates(option, value):
    """An infinite gate learning rate was taken and turned the layer gates (and the model's
    output) to NaN; a NaN rho was refused only at initialize_state, as "rho"."""
    with pytest.raises(InvalidParameterError, match=f"{option} must be a finite number > 0"):
        GTSPStrategy(total_steps=10, **{option: value})


def test_a_one_atom_molecule_alone_in_a_batch_is_refused_by_name(cli, tmp_path, monkeypatch):
    """With batch size 1 (or a single graph in all) a one-atom molecule trained alone, and batch
    norm failed ("Expected more than 1 value per channel when training") in the middle of the
    training; the command wrote its folder first and then asked for --resume, which failed the
    same way."""
    from graphsparse.gtsp.estimator import GtspTokenPruner

    write_tiny_ogbg(tmp_path / "data", "ogbg-molhiv", one_atom=2)
    task = load_molecules("ogbg-molhiv", tmp_path / "data", download=False)
    assert task.train[2].num_nodes == 1
    model = GTSPModel(1, hidden=8, num_layers=1, heads=2)
    with pytest.raises(InvalidParameterError, match="batch_size 1 puts training graph 2, a "
                                                    "molecule of one atom, alone in a batch"):
        train_gtsp(model, task, epochs=1, batch_size=1)
    atom = task.train[2]
    small = GtspTokenPruner(keep_ratio=0.5, epochs=1, hidden=8, num_layers=1, heads=2)
    with pytest.raises(InvalidParameterError, match="one molecule of one atom"):
        small.fit([atom])
    with pytest.raises(InvalidParameterError, match="batch_size 1 puts training graph 1"):
        small.set_params(batch_size=1).fit([task.train[0], atom])
    monkeypatch.setenv("SPARSEBOX_DATA", str(tmp_path / "data"))
    out = tmp_path / "hiv"
    result = cli("graph", "gtsp", "--dataset", "ogbg-molhiv", "--axes", "tokens", "--seeds", "1",
                 "--epochs", "1", "--batch-size", "1", "--out", out)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[-1].startswith("error:") and "--batch-size" in lines[-1]
    assert not out.exists()


def test_a_molecule_of_no_atoms_is_refused_by_name():
    """Batched with a one-atom molecule it failed inside training with torch's batch norm error
    "Expected more than 1 value per channel when training"."""
    from graphsparse.gtsp.estimator import GtspTokenPruner

    graphs = [molecule(1, 0, label=1.0), molecule(0, 1), molecule(4, 2, label=1.0), molecule(5, 3)]
    small = GtspTokenPruner(keep_ratio=0.5, epochs=1, hidden=8, num_layers=1, heads=2,
                            batch_size=2)
    with pytest.raises(InvalidParameterError, match=r"graph 1 has no atoms \(num_nodes 0\)"):
        small.fit(graphs)


def test_resume_does_not_train_again_a_run_a_matched_baseline_already_made():
    """A --resume that added a keep ratio planned the plain magnitude run a baseline at a
    combined run's FLOPs had already made, trained it again and counted its seed twice."""
    matched = {"axes": "magnitude", "keep": 0.21, "seed": 0,
               "at_flops_of": {"axes": "tokens+weights", "keep": 0.5}}
    specs = [RunSpec((), 0.21, "magnitude"), RunSpec((), 0.5, "magnitude")]
    _, todo = runs_to_do([matched], specs, [0])
    assert [s.keep for s in todo[0]] == [0.5]


def test_the_token_pruner_refuses_a_data_loaders_batches_by_name():
    """A DataLoader's batches were each taken for one graph: four graphs in two batches of two
    trained as two graphs with two tasks each (or failed inside the Gumbel top-k)."""
    from torch_geometric.loader import DataLoader

    from graphsparse.gtsp.estimator import GtspTokenPruner

    graphs = [molecule(n, seed=n, label=n % 2) for n in (4, 5, 6, 7)]
    pruner = GtspTokenPruner(keep_ratio=0.5, epochs=1, hidden=8, num_layers=1, heads=2)
    with pytest.raises(InvalidParameterError, match="DataBatch of 2 graphs at 0 .*DataLoader"):
        pruner.fit(DataLoader(graphs, batch_size=2))
    pruner.fit(graphs)
    with pytest.raises(InvalidParameterError, match="DataBatch of 2 graphs at 1"):
        pruner.transform([graphs[0], Batch.from_data_list(graphs[1:3]), graphs[3]])


@pytest.mark.parametrize("field", ["x", "edge_index", "y"])
def test_a_numpy_field_is_named_as_a_numpy_array(field):
    """A numpy x of int64 was refused as "... as integers, got int64", an edge_index of shape
    [2, 10] as "... of shape [2, E], got [2, 10]": right-looking values, no word of numpy."""
    from graphsparse.gtsp.estimator import GtspTokenPruner

    graphs = [molecule(n, seed=n, label=n % 2) for n in (4, 5, 6, 7)]
    graphs[2][field] = graphs[2][field].numpy()
    pruner = GtspTokenPruner(keep_ratio=0.5, epochs=1, hidden=8, num_layers=1, heads=2)
    with pytest.raises(InvalidParameterError, match=rf"graph 2: {field} must .*got a numpy array "
                                                    r"\(int64 of shape .*\); give a torch tensor"):
        pruner.fit(graphs)


def test_a_diverged_fit_is_refused_naming_lr():
    """lr 1e10 fitted without a word: every score NaN, and a mask of arbitrary tokens."""
    from graphsparse.gtsp.estimator import GtspTokenPruner

    graphs = [molecule(n, seed=n, label=n % 2) for n in (4, 5, 6, 7)]
    pruner = GtspTokenPruner(keep_ratio=0.5, epochs=2, hidden=8, num_layers=1, heads=2, lr=1e10)
    with pytest.raises(InvalidParameterError, match=r"training diverged: \d+ of the 22 token "
                                                    r"scores are not finite; give a smaller lr "
                                                    r"\(got 1e\+10\)"):
        pruner.fit(graphs)
    assert not hasattr(pruner, "mask_")


def test_labels_that_are_not_there_are_not_called_missing():
    """Empty labels were refused as "the graphs' labels y are all missing (NaN)"."""
    from graphsparse.gtsp.estimator import GtspTokenPruner

    graphs = [molecule(n, seed=n) for n in (4, 5, 6, 7)]
    for g in graphs:
        g.y = torch.empty(1, 0)
    pruner = GtspTokenPruner(keep_ratio=0.5, epochs=1, hidden=8, num_layers=1, heads=2,
                             task_type="regression")
    with pytest.raises(InvalidParameterError, match=r"graph 0: y holds no labels \(shape \[1, 0\]\)"):
        pruner.fit(graphs)


def test_the_token_pruner_reads_graphs_that_differ_in_fields_it_does_not_use():
    """ogb's graphs store num_nodes, a hand-made one did not: fit failed with KeyError
    'num_nodes' in PyG's collation (likewise an attribute only some graphs have, or labels of
    shape [1] beside [1, 1]); transform keeps each graph's own fields."""
    from graphsparse.gtsp.estimator import GtspTokenPruner

    graphs = [molecule(n, seed=n, label=n % 2) for n in (4, 5, 6, 7)]
    graphs[0].num_nodes = 4
    graphs[1].smiles = "CCCCC"
    graphs[2].y = graphs[2].y.reshape(-1)
    lone = Data(x=torch.zeros(3, 9, dtype=torch.long), edge_index=torch.zeros(2, 0, dtype=torch.long),
                edge_attr=torch.zeros(0, 3, dtype=torch.long), y=torch.tensor([[1.0]]))
    pruner = GtspTokenPruner(keep_ratio=0.5, epochs=1, hidden=8, num_layers=1, heads=2, batch_size=5)
    out = pruner.fit_transform([*graphs, lone])
    assert [g.num_nodes for g in out] == [2, 3, 3, 4, 2]
    assert out[1].smiles == "CCCCC" and int(pruner.mask_.sum()) == 14


def test_flops_and_inference_time_split_a_batch_made_by_hand_by_its_batch_vector():
    """A Batch(x=..., edge_index=..., batch=...) failed in count_flops and inference_seconds with
    "Cannot reconstruct 'Data' object from 'Batch' because 'Batch' was not created via
    'Batch.from_data_list()'"; a Data with a batch vector was counted as one graph, and the
    model failed on it ("'GlobalStorage' object has no attribute 'num_graphs'"); a collated
    batch given its random_walk_pe afterwards lost it in to_data_list ("the batch has no
    random_walk_pe")."""
    graphs = [molecule(n, n, chords=1) for n in (3, 5, 4)]
    collated = Batch.from_data_list(graphs)
    fields = {k: collated[k] for k in ("x", "edge_index", "edge_attr", "random_walk_pe", "batch")}
    model = tiny_model(token_keep_ratio=0.5).eval()
    expected = count_flops(model, graphs)
    late = Batch.from_data_list([Data(**{k: g[k] for k in ("x", "edge_index", "edge_attr")})
                                 for g in graphs])
    late.random_walk_pe = collated.random_walk_pe
    for batch in (Batch(**fields), Data(**fields), late):
        report = count_flops(model, batch)
        assert report.graphs == 3 and report.dense == expected.dense
        assert torch.allclose(model(batch), model(collated), atol=1e-6)
        assert 0 < inference_seconds(model, batch, batch_size=2, repeats=1) < math.inf
    across = Batch(**{**fields, "edge_index": torch.tensor([[0, 3], [3, 0]])})
    with pytest.raises(InvalidParameterError, match="edge_index joins graphs of the batch: edge 0 "
                                                    "runs from node 0 of graph 0 to node 3 of graph 1"):
        count_flops(model, across)


def _with(g: Data, **fields) -> Data:
    g = g.clone()
    for key, value in fields.items():
        g[key] = value
    return g


@pytest.mark.parametrize("field, words", [
    ("float edge_attr", [r"edge_attr must hold ogb's bond features, an integer tensor of shape "
                         r"\[20, 3\] .*got float32 of shape \[20, 3\]"]),
    ("one-hot x", [r"x must hold ogb's atom features.*got float32"]),
    ("atom code 200", [r"x\[5, 0\] is 200, outside ogb's atom feature 0 \(0 \.\. 118\)"]),
    ("atom code -1", [r"x\[5, 2\] is -1, outside ogb's atom feature 2 \(0 \.\. "]),
    ("bond code 9", [r"edge_attr\[3, 1\] is 9, outside ogb's bond feature 1 \(0 \.\. 5\)"]),
    ("edge_attr of another graph", [r"edge_attr must be .*\[20, 3\] \(one row per edge of "
                                    r"edge_index\), got shape \[8, 3\]"]),
    ("1-d x", [r"x must be ogb's atom features.*got shape \[10\]"]),
    ("integer encoding", [r"random_walk_pe must be a float tensor, got int64"]),
    ("edge_index beyond x", [r"edge_index must name nodes 0 \.\. 9 .*got 10"]),
])
def test_the_model_names_the_field_and_the_codes_it_cannot_embed(field, words):
    """A float edge_attr failed in torch's embedding ("Expected tensor for argument #1 'indices'
    to have one of the following scalar types: Long, Int"), an atom or bond code beyond ogb's
    vocabulary with "index out of range in self", an edge_attr of other edges with "The size of
    tensor a (20) must match the size of tensor b (8)": none named the field."""
    g = molecule(5, 0)
    b = Batch.from_data_list([g, g])
    spoiled = {
        "float edge_attr": lambda: _with(b, edge_attr=b.edge_attr.float()),
        "one-hot x": lambda: _with(b, x=torch.rand(10, 9)),
        "atom code 200": lambda: _with(b, x=b.x.clone().index_put_((torch.tensor(5), torch.tensor(0)),
                                                                    torch.tensor(200))),
        "atom code -1": lambda: _with(b, x=b.x.clone().index_put_((torch.tensor(5), torch.tensor(2)),
                                                                   torch.tensor(-1))),
        "bond code 9": lambda: _with(b, edge_attr=b.edge_attr.clone().index_put_(
            (torch.tensor(3), torch.tensor(1)), torch.tensor(9))),
        "edge_attr of another graph": lambda: _with(b, edge_attr=b.edge_attr[:8]),
        "1-d x": lambda: _with(b, x=b.x[:, 0]),
        "integer encoding": lambda: _with(b, random_walk_pe=b.random_walk_pe.long()),
        "edge_index beyond x": lambda: _with(b, edge_index=b.edge_index.clone().index_put_(
            (torch.tensor(0), torch.tensor(0)), torch.tensor(10))),
    }[field]()
    model = tiny_model().eval()
    with pytest.raises(InvalidParameterError, match=words[0]):
        model(spoiled)
    small = _with(b, x=b.x.to(torch.uint8), edge_attr=b.edge_attr.to(torch.int16))
    assert torch.equal(model(small), model(b))


def test_the_token_pruner_refuses_infinite_labels_and_items_that_are_no_graph():
    """An infinite label in a regression turned every score to NaN and kept tokens at random,
    silently; transform([1, 2]) failed with "'int' object has no attribute 'num_nodes'"."""
    from graphsparse.gtsp.estimator import GtspTokenPruner

    graphs = [molecule(n, seed=n, label=float(n)) for n in (4, 5, 6, 7)]
    graphs[1].y = torch.tensor([[math.inf]])
    pruner = GtspTokenPruner(keep_ratio=0.5, task_type="regression", epochs=1, hidden=8,
                             num_layers=1, heads=2)
    with pytest.raises(InvalidParameterError, match="graph 1: y holds inf; labels must be finite"):
        pruner.fit(graphs)
    graphs[1].y = torch.tensor([[5.0]])
    pruner.fit(graphs)
    assert np.isfinite(pruner.scores_).all()
    with pytest.raises(InvalidParameterError, match="list of PyG Data graphs, got int at 0"):
        pruner.transform([1, 2])


# ------------------------------------------------------ the command: failures and --resume
def _gtsp_args(out: Path, *more: str) -> list:
    return ["graph", "gtsp", "--dataset", "ogbg-molhiv", "--axes", "tokens", "--keep", "0.5",
            "--seeds", "1", "--epochs", "1", "--batch-size", "8", "--out", out, *more]


def test_a_run_that_cannot_start_or_finishes_no_run_leaves_no_folder(cli, tmp_path, monkeypatch):
    """A Ray address nobody answers at (a user's mistake) left OUT/run.json behind, so the same
    command with the address put right was refused ("exists and is not empty"); a seed that
    failed before any run finished said "seeds [0] failed" and pointed to a results.json that
    was not there."""
    import typer

    import graphsparse.gtsp.protocol as protocol
    import sparsebox.options as options

    write_tiny_ogbg(tmp_path / "data", "ogbg-molhiv")
    load_molecules("ogbg-molhiv", tmp_path / "data", download=False)  # processed: no ogb bars
    monkeypatch.setenv("SPARSEBOX_DATA", str(tmp_path / "data"))
    out = tmp_path / "runs" / "hiv"

    class Unanswered:  # as sparsebox.parallel.RayExecutor at an address nobody answers at
        def connect(self):
            raise typer.BadParameter("127.0.0.1:1: no Ray cluster answers there",
                                     param_hint="--address")

        def run(self, fn, tasks, on_record=None):
            self.connect()

    real = options.executor_from_options
    monkeypatch.setattr(options, "executor_from_options", lambda *args: Unanswered())
    cli(*_gtsp_args(out)).error_line("--address", "no Ray cluster")
    assert not (tmp_path / "runs").exists()
    monkeypatch.setattr(options, "executor_from_options", real)

    def fails(task, emit):
        raise RuntimeError("out of memory")

    monkeypatch.setattr(protocol, "gtsp_seed_task", fails)
    result = cli(*_gtsp_args(out))
    assert result.exit_code == 1, result.output
    assert ("1 seed failed (seed 0: RuntimeError: out of memory); no run finished, nothing was "
            "kept") in result.stderr, result.stderr
    assert not (tmp_path / "runs").exists()


def test_a_seed_that_fails_after_a_run_is_told_in_the_singular(cli, tmp_path, monkeypatch):
    import graphsparse.gtsp.protocol as protocol

    write_tiny_ogbg(tmp_path / "data", "ogbg-molhiv")
    monkeypatch.setenv("SPARSEBOX_DATA", str(tmp_path / "data"))
    out = tmp_path / "hiv"
    real = protocol.gtsp_seed_task

    def dense_then_fails(task, emit):
        real({**task, "specs": task["specs"][:1]}, emit)
        raise RuntimeError("out of memory")

    monkeypatch.setattr(protocol, "gtsp_seed_task", dense_then_fails)
    result = cli(*_gtsp_args(out))
    assert result.exit_code == 1, result.output
    assert "seeds" not in result.stderr and "1 seed failed (seed 0: RuntimeError: out of " \
        f"memory); the finished runs' records are in {out / 'results.json'}" in result.stderr
    assert [r["axes"] for r in json.loads((out / "results.json").read_text())] == ["dense"]
    assert "| dense | 1 |" in (out / "results.md").read_text()


def _resumable_folder(out: Path, monkeypatch) -> Path:
    """The files a run of ``_gtsp_args`` writes, made by hand (no training), beside a tiny
    ogbg-molhiv as the data root (a check that let them pass would not go looking for it)."""
    write_tiny_ogbg(out.parent / "data", "ogbg-molhiv")
    monkeypatch.setenv("SPARSEBOX_DATA", str(out.parent / "data"))
    out.mkdir(parents=True)
    (out / "run.json").write_text(json.dumps({"dataset": "ogbg-molhiv", "epochs": 1,
                                              "max_graphs": None, "batch_size": 8, "lr": 1e-3}))
    records = [{"dataset": "ogbg-molhiv", "axes": axes, "keep": keep, "seed": 0,
                "metric_name": "rocauc", "metric": 0.7, "flops": 1e6, "flops_sparse_kernel": 1e6,
                "inference_seconds": 1.0, "epochs": 1, "heads": [4, 4, 4, 4]}
               for axes, keep in (("dense", 1.0), ("tokens", 0.5))]
    (out / "results.json").write_text(json.dumps(records))
    return out / "results.json"


@pytest.mark.parametrize("heads", [[4, 4], [4, 9, 4, 4]], ids=["two layers", "nine heads"])
def test_resume_refuses_heads_the_model_has_not(cli, tmp_path, monkeypatch, heads):
    """Heads of another number of layers passed the check and failed after the training, in the
    re-timing, as "the record has 2 layers, the model 4" (neither the file nor the option
    named); more heads than the model's were timed as if they were there."""
    path = _resumable_folder(tmp_path / "hiv", monkeypatch)
    records = json.loads(path.read_text())
    records[1]["heads"] = heads
    path.write_text(json.dumps(records))
    before = {p.name: p.read_bytes() for p in path.parent.iterdir()}
    cli(*_gtsp_args(path.parent, "--resume")).error_line(
        "--resume", str(path), "record 2: heads must be 4 counts in 0 .. 4")
    assert {p.name: p.read_bytes() for p in path.parent.iterdir()} == before


@pytest.mark.parametrize("name", ["results.json", "run.json"])
def test_resume_names_a_folder_where_a_file_of_the_run_belongs(cli, tmp_path, monkeypatch, name):
    """A results.json that was a folder was trained on and then failed as
    "error: OUT/.results.json.123.tmp: Is a directory"; a run.json that was one was reported
    missing."""
    path = _resumable_folder(tmp_path / "hiv", monkeypatch)
    (path.parent / name).unlink()
    (path.parent / name).mkdir()
    cli(*_gtsp_args(path.parent, "--resume")).error_line(
        "--resume", f"{path.parent / name} is a folder, not a file")


def test_a_collated_batch_of_graphs_that_state_num_nodes_is_taken_apart_by_pyg():
    """ogb's graphs state num_nodes, which PyG keeps out of a batch's slices: such a batch was
    taken for a hand-made one and split by its batch vector, every graph given the batch's whole
    list of a per-graph string field."""
    from torch_geometric.data import Batch, Data

    from graphsparse.gtsp.data import one_by_one

    g = Data(x=torch.zeros(3, 1, dtype=torch.long), edge_index=torch.tensor([[0, 1], [1, 0]]),
             num_nodes=3, name="mol")
    graphs = one_by_one(Batch.from_data_list([g, g]))
    assert [(h.name, h.num_nodes) for h in graphs] == [("mol", 3), ("mol", 3)]


def test_a_record_of_one_layer_is_told_in_the_singular():
    from graphsparse.gtsp.timing import architecture

    with pytest.raises(ValueError, match="^the record has 1 layer, the model 4$"):
        architecture({"axes": "dense", "keep": 1.0, "heads": [4]}, 1)


@pytest.mark.parametrize("name,task_type,metric", [
    ("ogbg-molbace", "binary classification", "rocauc"),
    ("ogbg-molesol", "regression", "rmse")])
def test_a_diverged_models_score_is_nan_not_an_error(name, task_type, metric):
    # a record's metric is NaN (null) for a diverged run; ogb's ROC-AUC raised "Input contains
    # NaN" instead, and `graph gtsp --lr 1e30` failed the seed with nothing kept
    from graphsparse.gtsp.data import MoleculeTask

    task = MoleculeTask(name, [], [], [], 1, task_type, metric)
    y_true = torch.tensor([[0.0], [1.0], [1.0], [0.0]])
    for bad in (float("nan"), float("inf")):
        assert math.isnan(task.score(y_true, torch.tensor([[0.1], [bad], [0.7], [0.2]])))
    assert math.isfinite(task.score(y_true, torch.tensor([[0.1], [0.9], [0.7], [0.2]])))


def test_the_dataset_help_names_every_molecule_dataset_it_takes(cli):
    """The --dataset help left out ogbg-molfreesolv, which the command takes, and ended in '...'."""
    from graphsparse.gtsp.data import molecule_datasets

    text = "".join(cli("graph", "gtsp", "--help").stdout.split())  # (wrapped at any hyphen)
    assert all(name in text for name in molecule_datasets()) and "molpcba..." not in text
    assert "--max-graphs<int>Useaboutthismanygraphs(atleast3:" in text  # what it refuses


def test_the_token_pruner_trains_under_no_grad(data_dir):
    """fit under a caller's torch.no_grad() failed with torch's "element 0 of tensors does not
    require grad"; it trains as it does outside."""
    from graphsparse.gtsp.estimator import GtspTokenPruner

    graphs = load_molecules("ogbg-molbace", max_graphs=40).train
    params = dict(keep_ratio=0.5, epochs=1, hidden=8, num_layers=1, heads=2)
    outside = GtspTokenPruner(**params).fit(graphs)
    with torch.no_grad():
        inside = GtspTokenPruner(**params).fit(graphs)
    assert np.array_equal(outside.scores_, inside.scores_)


def test_the_token_axis_at_keep_1_starts_from_the_dense_weights(data_dir):
    """At keep 1 the layers' scorers (never read: every token attends) were drawn between
    their other weights, so tokens at keep 1 started elsewhere than dense with the same seed
    and the report showed a difference that pruning did not make."""
    from graphsparse.gtsp.estimator import GtspTokenPruner

    dense, _ = build_run(RunSpec(), 1, 10, seed=3)
    full, _ = build_run(RunSpec(("tokens",), 1.0), 1, 10, seed=3)
    assert full.state_dict().keys() == dense.state_dict().keys()
    assert all(torch.equal(a, full.state_dict()[k]) for k, a in dense.state_dict().items())
    half, _ = build_run(RunSpec(("tokens",), 0.5), 1, 10, seed=3)
    assert all(layer.scorer is not None for layer in half.layers)
    graphs = load_molecules("ogbg-molbace", max_graphs=40).train
    pruner = GtspTokenPruner(keep_ratio=1.0, epochs=1, hidden=8, num_layers=1, heads=2).fit(graphs)
    assert pruner.mask_.all() and (pruner.scores_ == 1).all()
