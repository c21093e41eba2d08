"""UGS baseline: learned edge and weight masks, pruned round by round to TEDDY's level counts."""

import math

import numpy as np
import pytest
import torch

from graphsparse.datasets import load_planetoid
from graphsparse.gnn import make_model, prunable_weights, train_node_classifier
from graphsparse.levels import run_levels
from graphsparse.ugs import edge_pairs, ugs_levels, ugs_mask_search


@pytest.fixture(scope="module")
def cora(data_dir):
    return load_planetoid("cora")


def small_gcn(data):
    return lambda: make_model("gcn", data.num_features, 7, hidden=16)


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
    # Initial noise is 1e-3; five Adam steps at lr 0.01 move masks far beyond it.
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
    out = UgsPruner(keep_ratio=0.8, epochs=2).fit(data).transform(data)
    kept = out.edge_index.shape[1]
    assert 0 < kept < num_cols and out.edge_weight.shape == (kept,)
    assert out.edge_attr.shape == (kept, 2)
    columns = out.edge_weight.long()  # each kept column's original position
    assert torch.equal(data.edge_index[:, columns], out.edge_index)
    assert torch.equal(data.edge_attr[columns], out.edge_attr)
