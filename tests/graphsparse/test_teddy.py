import numpy as np
import pytest
import torch

from graphsparse.teddy import TeddyPruner, teddy_edge_scores
from graphsparse.transforms import TeddyTransform
from sparsebox import as_structure, budget_from_keep_ratio
from sparsebox.data import load_graph
from sparsebox.exceptions import NotFittedError


def test_score_formula_on_a_hand_computed_graph():
    # path 0-1-2 plus leaf 3 on 1: degrees 1, 3, 1, 1
    ei = np.array([[0, 1, 1, 2, 1, 3], [1, 0, 2, 1, 3, 1]])
    g = as_structure(ei)
    d = np.array([1.0, 3.0, 1.0, 1.0])
    gsum = np.array([3 ** -0.5, 3.0, 3 ** -0.5, 3 ** -0.5])  # sum of d_u^-1/2 over neighbours
    t = gsum / d**2
    expected = {(0, 1): t[0] * t[1], (1, 2): t[1] * t[2], (1, 3): t[1] * t[3]}
    scores = teddy_edge_scores(g)
    for u, v, s in zip(g.rows, g.cols, scores, strict=True):
        assert s == pytest.approx(expected[(int(u), int(v))])


def test_self_loops_are_never_pruned_and_gat_loops_change_degrees():
    ei = np.array([[0, 0, 1, 1, 2], [0, 1, 0, 2, 1]])
    g = as_structure(ei)
    assert np.isinf(teddy_edge_scores(g)[(g.rows == 0) & (g.cols == 0)]).all()
    pruned = TeddyPruner(keep_ratio=0.5).fit_transform(g)
    assert ((pruned.rows == 0) & (pruned.cols == 0)).any() and pruned.num_edges == 2
    assert not np.allclose(teddy_edge_scores(g, add_self_loops=True)[1:],
                           teddy_edge_scores(g)[1:])


@pytest.mark.parametrize("level", [1, 5, 10, 20])
def test_exact_edge_counts_per_level_on_cora(level, data_dir):
    g = load_graph("cora")
    kept = TeddyPruner(keep_ratio=0.95**level).fit_transform(g)
    assert kept.num_edges == budget_from_keep_ratio(0.95**level, g.num_edges)
    assert kept.is_undirected  # pairs leave together


def test_pyg_transform_removes_pairs_and_slices_edge_attributes(data_dir):
    from graphsparse.datasets import load_planetoid

    data = load_planetoid("cora")
    data.edge_weight = torch.arange(data.edge_index.shape[1], dtype=torch.float32)
    out = TeddyTransform(keep_ratio=0.95**10)(data)
    ei = out.edge_index.numpy()
    pairs = {(int(a), int(b)) for a, b in ei.T}
    assert all((b, a) in pairs for a, b in pairs)
    assert ei.shape[1] == 2 * budget_from_keep_ratio(0.95**10, data.edge_index.shape[1] // 2)
    assert torch.equal(out.edge_weight, data.edge_weight[out.edge_mask])
    assert torch.equal(out.edge_index, data.edge_index[:, out.edge_mask])
    assert data.edge_index.shape[1] == 10556  # the input is not modified
    # the transform and the estimator keep the same edges
    est = TeddyPruner(keep_ratio=0.95**10).fit_transform(as_structure(data.edge_index.numpy()))
    assert {(int(a), int(b)) for a, b in zip(est.rows, est.cols, strict=True)} == \
        {(a, b) for a, b in pairs if a < b}


def test_bad_sizes_and_use_before_fit():
    edge = as_structure(np.array([[0, 1], [1, 0]]))
    with pytest.raises(ValueError, match=r"keep_ratio must be in \(0, 1\], got 1.5"):
        TeddyPruner(keep_ratio=1.5).fit(edge)
    with pytest.raises(ValueError, match="give one of keep_ratio, budget, density"):
        TeddyPruner(keep_ratio=0.5, budget=1).fit(edge)
    with pytest.raises(NotFittedError, match=r"fit\(\.\.\.\)"):
        TeddyPruner(keep_ratio=0.5).transform(edge)


def test_old_edge_sparsity_name_warns_and_still_works(data_dir):
    g = load_graph("cora")
    with pytest.warns(DeprecationWarning, match="keep_ratio=1 - s"):
        old = TeddyPruner(edge_sparsity=0.25).fit(g).mask_
    assert np.array_equal(old, TeddyPruner(keep_ratio=0.75).fit(g).mask_)
    with pytest.warns(DeprecationWarning):
        kept = TeddyTransform(edge_sparsity=0.25)(_karate())
    assert kept.edge_index.shape[1] == 2 * budget_from_keep_ratio(0.75, 78)
    with pytest.raises(ValueError, match=r"edge_sparsity must be in \[0, 1\)"), \
            pytest.warns(DeprecationWarning):
        TeddyPruner(edge_sparsity=1.0).fit(g)


def _karate():
    from torch_geometric.datasets import KarateClub

    return KarateClub()[0]


@pytest.mark.parametrize("method, suffix", [("teddy", ".mtx"), ("fegrass", ".graph"),
                                            ("effective-resistance", ".csv")])
def test_sparsify_cli_writes_a_graph_that_loads(tmp_path, data_dir, method, suffix, cli):
    import json



    out = tmp_path / f"h{suffix}"
    result = cli(*["graph", "sparsify", "airfoil1", "-o", str(out),
                                      "--method", method, "--keep-ratio", "0.5", "--json"])
    assert result.exit_code == 0, result.output
    r = json.loads(result.output)
    assert r["edges_out"] == budget_from_keep_ratio(0.5, 12289) == 6145  # half rounds up
    assert load_graph(out).num_edges == r["edges_out"]


@pytest.mark.parametrize("size, message", [({"budget": 0}, "budget must be an integer >= 1"),
                                           ({"keep_ratio": 1.5}, r"keep_ratio must be in \(0, 1\]")])
def test_the_transform_speaks_the_sizing_vocabulary(size, message):
    from sparsebox.exceptions import InvalidParameterError

    with pytest.raises(InvalidParameterError, match=message):
        TeddyTransform(**size)
