"""UGS baseline: learned edge and weight masks, pruned round by round to TEDDY's level counts."""

import math

import numpy as np
import pytest
import torch

from graphsparse.datasets import load_planetoid
from graphsparse.gnn import make_model, prunable_weights, train_node_classifier
from graphsparse.levels import count_edge_pairs, random_pruned, run_levels
from graphsparse.ugs import (
    UgsPruner,
    edge_pairs,
    ugs_levels,
    ugs_mask_search,
    ugs_round_counts,
    ugs_rounds,
)
from sparsebox.exceptions import InvalidParameterError
from sparsebox.select import budget_from_keep_ratio


@pytest.fixture(scope="module")
def cora(data_dir):
    return load_planetoid("cora")


def small_gcn(data):
    return lambda: make_model("gcn", data.num_features, int(data.y.max()) + 1, hidden=16)


def karate(self_loops: bool = False):
    """Zachary's karate club (34 nodes, 78 undirected edges, 4 labelled nodes) as a node task,
    with a self-loop on every node when asked."""
    from torch_geometric.datasets import KarateClub
    from torch_geometric.transforms import AddSelfLoops

    data = KarateClub()[0]
    data.val_mask = data.test_mask = ~data.train_mask
    return AddSelfLoops()(data) if self_loops else data


def test_edge_pairs_number_each_undirected_edge_once():
    ei = torch.tensor([[0, 1, 2, 1, 3], [1, 0, 1, 2, 0]])
    pair, n = edge_pairs(ei, 4)
    assert n == 3 and pair[0] == pair[1] and pair[2] == pair[3]
    assert len({pair[0], pair[2], pair[4]}) == 3


def test_ugs_levels_hit_the_level_counts_and_prune_pairs_together(cora):
    num_pairs = int((cora.edge_index[0] < cora.edge_index[1]).sum())
    records = list(ugs_levels(cora, small_gcn(cora), [1, 3], seed=0, epochs=3))
    assert [r["level"] for r in records] == [1, 3]
    total = sum(w.numel() for w in prunable_weights(small_gcn(cora)()))
    for r in records:
        kept_pairs = math.floor(0.95 ** r["level"] * num_pairs + 0.5)
        assert r["edge_keep"] == pytest.approx(kept_pairs / num_pairs)
        kept_weights = math.floor(0.9 ** r["level"] * total + 0.5)
        assert r["weight_keep"] == pytest.approx(kept_weights / total, abs=1.5 / total)
        assert r["seconds"] > 0 and 0 <= r["test_acc"] <= 1


def test_mask_search_learns_scores_from_the_loss(cora):
    torch.manual_seed(0)
    model = small_gcn(cora)()
    masks = [torch.ones_like(w, dtype=torch.bool) for w in prunable_weights(model)]
    edge_scores, weight_scores = ugs_mask_search(model, cora, masks, epochs=5, graph_l1=1e-3,
                                                 generator=torch.Generator().manual_seed(0))
    _, num_pairs = edge_pairs(cora.edge_index, cora.num_nodes)
    assert edge_scores.shape == (num_pairs,)
    assert [s.shape for s in weight_scores] == [m.shape for m in masks]
    # Initial noise is 1e-5; five Adam steps at lr 0.01 move masks far beyond it.
    assert np.abs(edge_scores - 1).max() > 0.02
    assert max(float((s - 1).abs().max()) for s in weight_scores) > 0.02
    # The model is left without the explanation masks set during the search.
    assert not any(getattr(m, "explain", False) for m in model.modules())


def test_mask_search_keeps_pruned_weights_at_zero_score(cora):
    torch.manual_seed(0)
    model = small_gcn(cora)()
    masks = [torch.rand_like(w) < 0.5 for w in prunable_weights(model)]
    _, scores = ugs_mask_search(model, cora, masks, epochs=2)
    assert all(bool((s[~m] == 0).all()) for s, m in zip(scores, masks, strict=True))


def test_masks_start_at_one_with_the_reference_codes_noise_of_1e_5():
    # UGS's code starts its masks at 1 + U(-1e-5, 1e-5) (soft_mask_init "all_one"); with lr 0
    # the masks of the best epoch are the initial ones.
    data = karate()
    model = small_gcn(data)()
    masks = [torch.ones_like(w, dtype=torch.bool) for w in prunable_weights(model)]
    edge_scores, weight_scores = ugs_mask_search(model, data, masks, epochs=1, lr=0.0,
                                                 generator=torch.Generator().manual_seed(0))
    deviations = [np.abs(edge_scores - 1)] + [(s - 1).abs().numpy().ravel() for s in weight_scores]
    assert all(d.max() <= 1.1e-5 for d in deviations)  # (float32's spacing near 1: 1.2e-7)
    assert all((d > 0).mean() > 0.9 for d in deviations)  # noise there, to break ties


@pytest.mark.parametrize("value", [-2.0, math.nan])
def test_a_scorer_below_minus_one_or_nan_still_picks_an_epoch(value):
    """The best epoch was searched from -1: a score below it (a negative loss) or NaN picked
    none, and the search crashed on its masks (TypeError: 'NoneType' is not subscriptable)."""
    data = karate()
    model = small_gcn(data)()
    masks = [torch.ones_like(w, dtype=torch.bool) for w in prunable_weights(model)]
    edge_scores, weight_scores = ugs_mask_search(model, data, masks, epochs=2,
                                                 score=lambda out, y, nodes: value)
    assert np.isfinite(edge_scores).any() and len(weight_scores) == len(masks)


def path_task(num_nodes: int = 9):
    """A path 0 - 1 - ... with one-hot features, nodes 0 and 1 for training and 2 for validation:
    the edges past node 3 lie outside a two-layer GNN's view of the training nodes."""
    from torch_geometric.data import Data

    src = torch.arange(num_nodes - 1)
    data = Data(x=torch.eye(num_nodes), y=torch.arange(num_nodes) % 2, num_nodes=num_nodes,
                edge_index=torch.stack([torch.cat([src, src + 1]), torch.cat([src + 1, src])]))
    data.train_mask = torch.arange(num_nodes) < 2
    data.val_mask = data.test_mask = torch.arange(num_nodes) == 2
    return data


@pytest.mark.parametrize("weight_decay", [0.0, 5e-4])
def test_the_masks_are_under_the_optimizers_weight_decay(weight_decay):
    # UGS's code gives every parameter, masks included, to one Adam with weight decay: a mask
    # the loss does not reach decays all the same (Adam steps lr against a constant gradient).
    data = path_task()
    model = small_gcn(data)()
    masks = [torch.ones_like(w, dtype=torch.bool) for w in prunable_weights(model)]
    scores, _ = ugs_mask_search(model, data, masks, epochs=1, lr=0.1, graph_l1=0.0,
                                weight_l1=0.0, weight_decay=weight_decay)
    pair, _ = edge_pairs(data.edge_index, data.num_nodes)
    far = scores[pair[(data.edge_index.min(0).values >= 5).numpy()]]
    assert far.size == 6
    if weight_decay:
        assert far == pytest.approx(0.9, abs=1e-3)
    else:
        assert np.abs(far - 1).max() <= 1.1e-5


def test_fixed_weight_masks_hold_through_training(cora):
    torch.manual_seed(0)
    model = small_gcn(cora)()
    masks = [torch.rand_like(w) < 0.3 for w in prunable_weights(model)]
    train_node_classifier(model, cora, epochs=3, weight_masks=masks)
    for w, m in zip(prunable_weights(model), masks, strict=True):
        assert bool((w[~m] == 0).all()) and bool((w[m] != 0).all())
    with pytest.raises(ValueError, match="not both"):
        train_node_classifier(model, cora, epochs=1, weight_masks=masks, weight_keep_ratio=0.5)
    with pytest.raises(ValueError, match="shapes"):
        train_node_classifier(model, cora, epochs=1, weight_masks=masks[:1])


def test_run_levels_rejects_unknown_methods(cora):
    with pytest.raises(ValueError, match="methods"):
        run_levels(cora, "gcn", [1], [0], methods=("teddy", "lottery"), epochs=1)


@pytest.mark.parametrize("name, data", [
    ("ugs", "a networkx graph"), ("gtsp", "an array"), ("gtsp", "an empty list")])
def test_fit_on_the_wrong_kind_of_data_names_what_it_needs(name, data):
    import networkx as nx

    from sparsebox.exceptions import InvalidParameterError
    from sparsebox.registry import get_method

    x = {"a networkx graph": nx.karate_club_graph(), "an array": np.zeros((5, 3)),
         "an empty list": []}[data]
    with pytest.raises(InvalidParameterError, match="PyG Data"):
        get_method(name).create().fit(x)


def test_transform_slices_every_per_edge_attribute_with_its_edges(cora):
    from graphsparse.ugs import UgsPruner

    data = cora.clone()
    num_cols = data.edge_index.shape[1]
    data.edge_weight = torch.arange(num_cols, dtype=torch.float32)
    data.edge_attr = torch.arange(2 * num_cols, dtype=torch.float32).view(num_cols, 2)
    unweighted = data.clone()
    del unweighted.edge_weight  # UGS trains an unweighted GNN; the weights travel with transform
    out = UgsPruner(keep_ratio=0.8, epochs=2).fit(unweighted).transform(data)
    kept = out.edge_index.shape[1]
    assert 0 < kept < num_cols and out.edge_weight.shape == (kept,)
    assert out.edge_attr.shape == (kept, 2)
    columns = out.edge_weight.long()  # each kept column's original position
    assert torch.equal(data.edge_index[:, columns], out.edge_index)
    assert torch.equal(data.edge_attr[columns], out.edge_attr)


# ------------------------------------------------------------------------ the round schedule
@pytest.mark.parametrize("num_edges, target, fraction", [
    (78, 9, 0.05), (78, 8, 0.05), (78, 39, 0.01), (10, 1, 0.05), (1, 0, 0.05), (5000, 7, 0.3),
    (10556, 10000, 0.05)])
def test_round_schedule_removes_at_least_one_edge_a_round_and_ends_on_the_target(
        num_edges, target, fraction):
    """The schedule stuck where rounding gave the count back (count <= 0.5 / round_fraction)."""
    counts = ugs_round_counts(num_edges, target, fraction)
    assert counts[-1] == target
    steps = np.diff([num_edges, *counts])
    assert (steps <= -1).all()
    assert len(counts) <= num_edges - target


def test_round_schedule_keeps_the_five_percent_rounds_of_large_graphs():
    counts = ugs_round_counts(10556, 8000, 0.05)
    assert counts[:3] == [10028, 9527, 9051] and counts[-1] == 8000
    assert ugs_round_counts(5, 5, 0.05) == []


@pytest.mark.parametrize("size", [{"budget": 9}, {"keep_ratio": 0.1},
                                  {"keep_ratio": 0.5, "round_fraction": 0.01}])
def test_small_targets_and_small_round_fractions_finish_on_the_exact_size(size, deadline):
    data = karate()
    with deadline(120):
        ugs = UgsPruner(epochs=1, **size).fit(data)
    target = size.get("budget") or budget_from_keep_ratio(size["keep_ratio"], 78)
    assert int(ugs.mask_.sum()) == target
    assert ugs.rounds_ == len(ugs_round_counts(78, target, size.get("round_fraction", 0.05)))


# ------------------------------------------------------------------------ random state
def test_fit_leaves_the_callers_random_state_alone_and_is_reproducible_by_its_seed():
    data = karate()
    torch.manual_seed(123)
    first = UgsPruner(keep_ratio=0.8, epochs=3, seed=5).fit(data)
    after_fit = torch.rand(4)
    torch.manual_seed(123)
    assert torch.equal(after_fit, torch.rand(4))  # fit drew nothing from the caller's stream
    torch.manual_seed(999)
    again = UgsPruner(keep_ratio=0.8, epochs=3, seed=5).fit(data)
    assert np.array_equal(first.scores_, again.scores_)
    numpy_seed = UgsPruner(keep_ratio=0.8, epochs=3, seed=np.int64(5)).fit(data)  # a TypeError
    assert np.array_equal(first.scores_, numpy_seed.scores_)


def test_level_runs_leave_the_callers_random_state_alone():
    data = karate()
    torch.manual_seed(7)
    list(ugs_levels(data, small_gcn(data), [1], seed=0, epochs=2))
    after = torch.rand(4)
    torch.manual_seed(7)
    assert torch.equal(after, torch.rand(4))


# ------------------------------------------------------------------------ edge weights
def test_edge_weights_are_refused_not_ignored():
    data = karate()
    data.edge_weight = torch.linspace(0.5, 2.0, data.edge_index.shape[1])
    with pytest.raises(InvalidParameterError, match="edge_weight.*unweighted"):
        UgsPruner(keep_ratio=0.8, epochs=1).fit(data)
    data.edge_weight = torch.ones(data.edge_index.shape[1])  # the unweighted graph, as weights
    assert int(UgsPruner(keep_ratio=0.8, epochs=1).fit(data).mask_.sum()) == 62


# ------------------------------------------------------------------------ self-loops
def test_self_loops_are_never_masked_pruned_or_counted():
    data = karate(self_loops=True)  # 78 undirected edges and 34 loops
    loops = data.edge_index[0] == data.edge_index[1]
    model = small_gcn(data)()
    masks = [torch.ones_like(w, dtype=torch.bool) for w in prunable_weights(model)]
    scores, _ = ugs_mask_search(model, data, masks, epochs=2)
    pair, _ = edge_pairs(data.edge_index, data.num_nodes)
    assert np.isinf(scores[pair[loops.numpy()]]).all() and np.isfinite(scores).sum() == 78
    rounds = list(ugs_rounds(data, small_gcn(data), 0, [(70, 10**9), (60, 10**9)], epochs=1))
    for (kept, _, graph, _), edges in zip(rounds, (70, 60), strict=True):
        assert count_edge_pairs(graph.edge_index, graph.num_nodes) == edges
        assert int((graph.edge_index[0] == graph.edge_index[1]).sum()) == 34
        assert kept.sum() == edges + 34
    ugs = UgsPruner(budget=70, epochs=1).fit(data)
    assert int(ugs.mask_.sum()) == 70 + 34 and np.isinf(ugs.scores_[pair[loops.numpy()]]).all()
    assert int((ugs.transform(data).edge_index[0] == ugs.transform(data).edge_index[1]).sum()) == 34


def test_random_pruning_keeps_every_self_loop_outside_its_budget():
    data = karate(self_loops=True)
    data.edge_attr = torch.arange(data.edge_index.shape[1])
    pruned = random_pruned(data, 40, seed=3)
    assert count_edge_pairs(pruned.edge_index, 34) == 40
    assert int((pruned.edge_index[0] == pruned.edge_index[1]).sum()) == 34
    assert torch.equal(data.edge_index[:, pruned.edge_attr], pruned.edge_index)


def test_random_pruning_of_a_loop_free_graph_is_unchanged(cora):
    from graphsparse.random_edges import prune_edges_random

    pruned = random_pruned(cora, 3000, seed=11)
    assert torch.equal(pruned.edge_index, prune_edges_random(cora.edge_index, cora.num_nodes,
                                                             3000, 11))


def test_every_level_method_keeps_the_same_edges_and_every_self_loop(monkeypatch):
    """On a graph with self-loops random pruning spent its budget on loops and UGS counted them
    as edges, while every record claimed the same edge_keep."""
    import graphsparse.levels
    import graphsparse.ugs

    data = karate(self_loops=True)
    trained_on = []

    def spy(train):
        def record_and_train(model, graph, **kwargs):
            loops = int((graph.edge_index[0] == graph.edge_index[1]).sum())
            trained_on.append((count_edge_pairs(graph.edge_index, graph.num_nodes), loops))
            return train(model, graph, **kwargs)
        return record_and_train

    for module in (graphsparse.levels, graphsparse.ugs):
        monkeypatch.setattr(module, "train_node_classifier", spy(module.train_node_classifier))
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    reseeded = []  # torch.manual_seed in the levels' runs reseeded every GPU, and left them so
    monkeypatch.setattr(torch.cuda, "manual_seed_all", reseeded.append)
    records = run_levels(data, "gcn", [2], [0], methods=("teddy", "random", "ugs"), epochs=1,
                         factory=small_gcn(data))
    assert torch.equal(torch.rand(3), expected)  # the caller's RNG is left as it was
    assert reseeded == []
    target = budget_from_keep_ratio(0.95**2, 78)
    assert trained_on == [(78, 34)] + [(target, 34)] * 3  # the dense teacher, then each method
    assert [r["method"] for r in records] == ["teddy", "random", "ugs"]
    assert {r["edge_keep"] for r in records} == {target / 78}


def test_weights_are_pruned_when_every_edge_stays():
    """With keep_ratio 1 no edge round ran, so weight_keep_ratio was ignored without a word."""
    ugs = UgsPruner(keep_ratio=1.0, weight_keep_ratio=0.5, epochs=2).fit(karate())
    assert ugs.mask_.all() and ugs.rounds_ == 14  # 0.95 ** 14 <= 0.5 < 0.95 ** 13
    kept = sum(int(m.sum()) for m in ugs.weight_masks_)
    assert kept / sum(m.numel() for m in ugs.weight_masks_) == pytest.approx(0.5, abs=1e-3)


def test_labels_of_shape_n_by_1_are_refused_by_name():
    data = karate()
    data.y = data.y.view(-1, 1)  # as OGB's node datasets give them
    with pytest.raises(InvalidParameterError, match=r"data.y must hold one class per node"):
        UgsPruner(keep_ratio=0.9, epochs=1).fit(data)


@pytest.mark.parametrize("name", ["train_mask", "val_mask"])
def test_an_empty_train_or_validation_mask_is_refused_by_name(name):
    """An empty val_mask failed with "'NoneType' object is not subscriptable" (no epoch was
    best); an empty train_mask trained on a NaN loss and pruned by NaN scores, without a word."""
    data = karate()
    data[name] = torch.zeros(data.num_nodes, dtype=torch.bool)
    with pytest.raises(InvalidParameterError, match=rf"data.{name} selects no node"):
        UgsPruner(keep_ratio=0.9, epochs=1).fit(data)


def test_masks_of_several_splits_are_refused_by_name():
    """WebKB's and WikiCS's masks hold one column per split: UGS failed with a bare IndexError
    from deep in its training loop."""
    data = karate()
    data.val_mask = data.val_mask.view(-1, 1).repeat(1, 10)
    with pytest.raises(InvalidParameterError, match=r"data.val_mask must be one mask over the nodes"):
        UgsPruner(keep_ratio=0.9, epochs=1).fit(data)


def test_a_weight_keep_ratio_that_keeps_no_weight_is_refused():
    """It pruned every weight over the rounds, its masks all False, without a word."""
    with pytest.raises(InvalidParameterError, match=r"weight_keep_ratio 1e-09 keeps none of the"):
        UgsPruner(keep_ratio=0.9, weight_keep_ratio=1e-9, epochs=1).fit(karate())


def test_transform_of_a_bare_edge_index_names_what_it_takes():
    """It failed with "'Tensor' object has no attribute 'edge_index'"."""
    data = karate()
    ugs = UgsPruner(keep_ratio=0.9, epochs=1).fit(data)
    with pytest.raises(InvalidParameterError, match=r"UgsPruner.transform takes a PyG Data"):
        ugs.transform(data.edge_index)


def test_a_numpy_edge_index_is_named_as_a_numpy_array():
    """It was refused as "got int64 of shape [2, 156]": what a right edge_index holds."""
    data = karate()
    data.edge_index = data.edge_index.numpy()
    with pytest.raises(InvalidParameterError, match=r"data.edge_index must be an integer tensor of "
                       r"shape \[2, E\], got a numpy array \(int64 of shape \[2, 156\]\); give a "
                       "torch tensor"):
        UgsPruner(keep_ratio=0.9, epochs=1).fit(data)


def test_transform_of_edges_past_num_nodes_names_the_node():
    """Pairs of nodes past ``num_nodes`` shared keys: the mask was applied to pairs merged under
    them (here their count came out the same) without a word, or refused by a count of edges."""
    data = karate()
    ugs = UgsPruner(keep_ratio=0.9, epochs=1).fit(data)
    data.num_nodes = 30
    with pytest.raises(InvalidParameterError, match=r"data.edge_index holds node 33, but "
                                                    r"data.num_nodes is 30"):
        ugs.transform(data)


def test_seeded_ugs_blocks_leave_the_gpus_random_state_alone(monkeypatch):
    # torch.manual_seed inside fork_rng(devices=[]) reseeded every GPU, which fork_rng does not
    # give back
    from sparsebox.seeding import seeded_torch

    seeded = []
    monkeypatch.setattr(torch.cuda, "manual_seed_all", seeded.append)
    with seeded_torch(5):
        torch.rand(1)
    assert seeded == []


def test_teddy_keeps_as_many_undirected_edges_as_random_pruning_on_a_directed_graph():
    """On a directed edge_index TEDDY's level graphs counted each direction as one edge: at
    level 4 of this karate club they held 55 of its 78 undirected edges, random pruning 64."""
    data = karate()
    ei = data.edge_index
    data.edge_index = ei[:, (ei[0] < ei[1]) | (torch.arange(ei.shape[1]) % 7 == 0)]
    assert count_edge_pairs(data.edge_index, data.num_nodes) == 78
    records = run_levels(data, "gcn", [4], [0], methods=("teddy", "random"), epochs=1,
                         factory=small_gcn(data))
    target = budget_from_keep_ratio(0.95**4, 78)
    assert [(r["method"], r["edge_keep"]) for r in records] == [("teddy", target / 78),
                                                                ("random", target / 78)]


@pytest.mark.parametrize("self_loops", [False, True])
def test_teddy_level_graphs_of_an_undirected_graph_are_the_transforms(cora, self_loops):
    from torch_geometric.transforms import AddSelfLoops

    from graphsparse.levels import teddy_pruned
    from graphsparse.transforms import TeddyTransform

    data = AddSelfLoops()(cora) if self_loops else cora
    for keep in (1, 2000, 5000):
        for gat in (False, True):
            expected = TeddyTransform(budget=keep, add_self_loops=gat)(data)
            assert torch.equal(teddy_pruned(data, keep, add_self_loops=gat).edge_index,
                               expected.edge_index)


def test_teddy_level_graphs_break_ties_as_the_transform_with_a_repeated_column():
    """A pair's score was the mean of its columns': for three columns of 0.1821... it came out
    below the score of the pair's twin, and the twin of higher index was kept instead."""
    from torch_geometric.data import Data

    from graphsparse.levels import teddy_pruned
    from graphsparse.transforms import TeddyTransform

    # two copies of the path 2 - 0 - 1 - 3, the edge 0 - 1 given three columns
    ei = torch.tensor([[0, 1, 0, 0, 2, 1, 3, 4, 5, 4, 6, 5, 7],
                       [1, 0, 1, 2, 0, 3, 1, 5, 4, 6, 4, 7, 5]])
    data = Data(edge_index=ei, num_nodes=8)
    for keep in range(1, 7):
        assert torch.equal(teddy_pruned(data, keep).edge_index,
                           TeddyTransform(budget=keep)(data).edge_index)


def test_features_of_float64_and_labels_of_int32_train():
    """They failed in the mask search: "expected scalar type Double but found Float", "expected
    target dtype to be Long or Byte, but got Int"."""
    data = karate()
    expected = UgsPruner(keep_ratio=0.9, epochs=2).fit(data)
    data.x, data.y = data.x.double(), data.y.int()
    ugs = UgsPruner(keep_ratio=0.9, epochs=2).fit(data)
    assert np.array_equal(ugs.mask_, expected.mask_)
