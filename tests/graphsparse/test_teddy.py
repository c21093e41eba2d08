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


def test_old_edge_sparsity_means_one_minus_it_in_decimals():
    """1.0 - 0.9 is 0.09999999999999998: it kept one edge of a 15-edge path where
    keep_ratio=0.1 keeps two, and the transform's repr said so."""
    import networkx as nx

    path = as_structure(nx.path_graph(16))
    with pytest.warns(DeprecationWarning):
        old = TeddyPruner(edge_sparsity=0.9).fit(path).mask_
        transform = TeddyTransform(edge_sparsity=0.9)
    assert np.array_equal(old, TeddyPruner(keep_ratio=0.1).fit(path).mask_) and old.sum() == 2
    assert repr(transform) == "TeddyTransform(keep_ratio=0.1)"
    with pytest.warns(DeprecationWarning):  # (float32's 0.9 as written, not as a double)
        assert TeddyTransform(edge_sparsity=np.float32(0.9)).keep_ratio == 0.1


def test_an_edge_index_set_as_a_numpy_array_is_read_or_refused_by_name():
    """TeddyPruner and RandomEdgePruner failed on it with "'numpy.ndarray' object has no
    attribute 'detach'" where as_structure and the other methods read it; floats were cut."""
    from torch_geometric.data import Data

    from graphsparse import RandomEdgePruner
    from sparsebox.exceptions import InvalidParameterError

    triangle = np.array([[0, 1, 1, 2, 2, 0], [1, 0, 2, 1, 0, 2]])
    for method in (TeddyPruner, RandomEdgePruner):
        numpy_data = Data(num_nodes=3)
        numpy_data.edge_index = triangle
        kept = method(budget=2)
        torch_kept = kept.fit(Data(edge_index=torch.from_numpy(triangle), num_nodes=3)).mask_
        assert np.array_equal(kept.fit(numpy_data).mask_, torch_kept), method
    with pytest.raises(InvalidParameterError, match=r"TeddyTransform needs data.edge_index as a "
                                                    r"torch tensor.*got ndarray"):
        TeddyTransform(budget=1)(numpy_data)
    numpy_data.edge_index = triangle + 0.5
    for read in (TeddyPruner(budget=1).fit, as_structure):
        with pytest.raises(ValueError, match=r"data.edge_index must hold integers \(PyG's is "
                                             r"torch.long\), got float64"):
            read(numpy_data)


def test_teddy_helpers_refuse_what_has_no_meaning():
    """level_keep_ratios(-1) gave keep ratios above 1 (NaN for NaN), teddy_node_terms read node
    -1 as the last node, TeddyTransform(add_self_loops="no") was refused only when called, its
    repr saying add_self_loops=True (what PyG records of a pre_transform)."""
    from graphsparse.teddy import level_keep_ratios, teddy_node_terms
    from sparsebox.exceptions import InvalidParameterError

    for level, message in ((-1, "level must be >= 0, got -1"), (float("nan"), "level must be an "
                           "integer"), (True, "level must be an integer, got True")):
        with pytest.raises(InvalidParameterError, match=message):
            level_keep_ratios(level)
    assert level_keep_ratios(np.int64(0)) == (1.0, 1.0)
    with pytest.raises(InvalidParameterError, match=r"row holds node -1, outside 0..1"):
        teddy_node_terms(np.array([0, -1]), np.array([1, 0]), 2)
    with pytest.raises(InvalidParameterError, match=r"col holds node 2, outside 0..1"):
        teddy_node_terms(np.array([0, 1]), np.array([1, 2]), 2)
    with pytest.raises(InvalidParameterError, match=r"row and col must be 1-D integer arrays of "
                                                    r"one length, got shapes \[2\] and \[1\]"):
        teddy_node_terms(np.array([0, 1]), np.array([1]), 2)
    assert teddy_node_terms(np.array([]), np.array([]), 2).tolist() == [0.0, 0.0]
    with pytest.raises(InvalidParameterError, match="add_self_loops must be a boolean, got 'no'"):
        TeddyTransform(add_self_loops="no")


@pytest.mark.parametrize("size", [{"keep_ratio": 0.5}, {"budget": 5}, {"density": 1.0}])
def test_old_edge_sparsity_beside_another_size_is_refused_by_the_names_given(size):
    """With budget or density the message named keep_ratio, which the caller had not given:
    "give one of keep_ratio, budget, density, not several; got keep_ratio, budget"."""
    from sparsebox.exceptions import InvalidParameterError

    (name, _), = size.items()
    with pytest.raises(InvalidParameterError, match=rf"^give {name}, not both {name} and "
                                                    r"edge_sparsity$"), \
            pytest.warns(DeprecationWarning):
        TeddyPruner(edge_sparsity=0.3, **size).fit(_karate())
    if "density" not in size:  # the transform has no density
        with pytest.raises(InvalidParameterError, match=rf"^give {name}, not both {name} and "
                                                        r"edge_sparsity$"), \
                pytest.warns(DeprecationWarning):
            TeddyTransform(edge_sparsity=0.3, **size)


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


def _official_teddy_scores(edge_index, num_nodes):
    """The official formula (hyunjin72/TEDDY ``compute_edge_score``) on a dense ``adj_t``:
    ``adj_t[target, source] = 1``, degrees its row sums, one score per stored entry."""
    adj_t = torch.zeros(num_nodes, num_nodes)
    adj_t[edge_index[1], edge_index[0]] = 1.0
    deg = adj_t.sum(1)
    deg_inv = torch.where(deg > 0, 1 / deg, torch.zeros_like(deg))
    deg_inv_sqrt = torch.where(deg > 0, deg.rsqrt(), torch.zeros_like(deg))
    norm = (adj_t @ deg_inv_sqrt) * deg_inv
    target, source = adj_t.nonzero().t()
    scores = norm[target] * deg_inv[target] * norm[source] * deg_inv[source]
    return {(int(s), int(t)): float(x) for s, t, x in zip(source, target, scores, strict=True)}


def test_directed_scores_count_in_degrees_at_the_target():
    from torch_geometric.data import Data

    # 0->1, 1->2, 2->0, 0->2, 3->0: in-degrees d = (2, 1, 2, 0)
    ei = torch.tensor([[0, 1, 2, 0, 3], [1, 2, 0, 2, 0]])
    r = 2 ** -0.5
    t = np.array([r / 4, r, (1 + r) / 4, 0.0])  # g = (d2^-1/2, d0^-1/2, d1^-1/2 + d0^-1/2, 0)
    g = as_structure(ei.numpy())
    assert not g.is_undirected
    scores = teddy_edge_scores(Data(edge_index=ei, num_nodes=4))
    got = {(int(u), int(v)): s for u, v, s in zip(g.rows, g.cols, scores, strict=True)}
    assert got == pytest.approx({(u, v): t[u] * t[v] for u, v in ei.t().tolist()})
    assert got[(0, 1)] == pytest.approx(0.125) and got[(3, 0)] == 0.0
    assert got == pytest.approx(_official_teddy_scores(ei, 4))


def test_scores_match_the_official_formula_on_directed_and_undirected_graphs():
    from torch_geometric.data import Data

    sources_only = torch.tensor([[1, 2, 3, 1, 4], [0, 0, 0, 2, 3]])  # 1 and 4 have no in-edges
    karate = _karate().edge_index
    for ei, n in ((sources_only, 5), (karate, 34)):
        g = as_structure(ei.numpy())
        scores = teddy_edge_scores(Data(edge_index=ei, num_nodes=n))
        official = _official_teddy_scores(ei, n)
        assert scores == pytest.approx([official[(int(u), int(v))]
                                        for u, v in zip(g.rows, g.cols, strict=True)])


def test_run_levels_records_python_ints_and_names_a_bad_level_or_seed(data_dir):
    import json

    from graphsparse.datasets import load_planetoid
    from graphsparse.levels import run_levels
    from sparsebox.exceptions import InvalidParameterError

    data = load_planetoid("cora")
    records = run_levels(data, "gcn", np.array([1]), np.arange(1), methods="random", epochs=1)
    assert [(type(r["level"]), type(r["seed"])) for r in records] == [(int, int)]
    assert [r["method"] for r in records] == ["random"]  # one name, not its letters ("got 'r'")
    json.dumps(records)  # what results.json holds
    for levels, seeds, message in (([-1], [0], "levels must be >= 1, got -1"),
                                   ([0], [0], "levels must be >= 1, got 0"),
                                   (3, [0], r"levels must be a list .*got 3; for levels 1..N give "
                                            r"range\(1, N \+ 1\)"),
                                   ([1], 0, "seeds must be a list of integers >= 0, got 0"),
                                   ([1.5], [0], "levels must be an integer, got 1.5"),
                                   ([1], [-2], "seeds must be >= 0, got -2")):
        with pytest.raises(InvalidParameterError, match=message):
            run_levels(data, "gcn", levels, seeds, methods=("random",), epochs=1)


def test_run_levels_runs_a_repeated_level_or_seed_once(data_dir):
    """Each (method, level, seed) is recorded once, as UGS already did: a repeat was trained again
    and the report counted it as a second seed."""
    from graphsparse.datasets import load_planetoid
    from graphsparse.levels import run_levels
    from graphsparse.teddy_report import summarize_levels

    data = load_planetoid("cora")
    records = run_levels(data, "gcn", [1, 1], [0, 0], methods=("random",), epochs=1)
    assert [(r["method"], r["level"], r["seed"]) for r in records] == [("random", 1, 0)]
    assert summarize_levels(records)["random"][1]["seeds"] == 1


@pytest.mark.parametrize("change, methods, message", [
    ("y", ("dense",), "lacks y"),                     # was AttributeError: 'NoneType' ... 'max'
    ("x", ("dense",), "lacks x"),                     # was torch's LazyModule error
    ("train_mask", ("ugs",), "lacks train_mask"),     # was AttributeError from ugs
])
def test_run_levels_names_what_the_data_lacks(data_dir, change, methods, message):
    from graphsparse.datasets import load_planetoid
    from graphsparse.levels import run_levels
    from sparsebox.exceptions import InvalidParameterError

    data = load_planetoid("cora").clone()
    del data[change]
    with pytest.raises(InvalidParameterError, match=message):
        run_levels(data, "gcn", [1], [0], methods=methods, epochs=1)


@pytest.mark.parametrize("lam, message", [(-1.0, "got -1.0"), (float("inf"), "got inf")])
def test_run_levels_refuses_a_bad_distillation_weight_before_training(data_dir, lam, message):
    """Not after the dense model trained (and its record went out) as the first TEDDY student
    started."""
    from graphsparse.datasets import load_planetoid
    from graphsparse.levels import run_levels
    from sparsebox.exceptions import InvalidParameterError

    seen: list = []
    with pytest.raises(InvalidParameterError, match=f"distill_lambda must be a finite number >= 0, "
                                                    f"{message}"):
        run_levels(load_planetoid("cora"), "gcn", [1], [0], methods=("dense", "teddy"), epochs=1,
                   distill_lambda=lam, progress=seen.append)
    assert seen == []


@pytest.mark.parametrize("keep, message", [(3, "keep must be <= 2, got 3"),
                                           (-1, "keep must be >= 0, got -1"),
                                           (1.5, "keep must be an integer, got 1.5")])
def test_teddy_pruned_names_a_bad_keep_as_random_pruned_does(keep, message):
    """Not "budget must be <= 4, got 5" (the loops added to a budget the caller never gave)."""
    from torch_geometric.data import Data

    from graphsparse.levels import random_pruned, teddy_pruned
    from sparsebox.exceptions import InvalidParameterError

    data = Data(edge_index=torch.tensor([[0, 1, 1, 2, 0, 1], [1, 0, 2, 1, 0, 1]]), num_nodes=3)
    for prune in (lambda: teddy_pruned(data, keep), lambda: random_pruned(data, keep, seed=0)):
        with pytest.raises(InvalidParameterError, match=message):
            prune()


@pytest.mark.parametrize("flag", ["no", 1, None])
def test_the_score_functions_take_add_self_loops_as_a_boolean_only(flag):
    """As TeddyPruner does: a string "no" was true and counted a loop on every node."""
    from graphsparse.teddy import teddy_node_terms
    from sparsebox.exceptions import InvalidParameterError

    ei = torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]])
    with pytest.raises(InvalidParameterError, match="add_self_loops must be a boolean"):
        teddy_edge_scores(ei, add_self_loops=flag)
    with pytest.raises(InvalidParameterError, match="add_self_loops must be a boolean"):
        teddy_node_terms(ei[0].numpy(), ei[1].numpy(), 3, add_self_loops=flag)


def test_too_deep_levels_name_what_ends_them():
    """GCN on Cora: the graph allows 141 levels, the model's 737,280 weights 134; "deeper than the
    graph allows ... give levels up to 134" left the user to guess why 134."""
    from graphsparse.levels import check_levels_keep_some
    from sparsebox.exceptions import InvalidParameterError

    with pytest.raises(InvalidParameterError) as err:
        check_levels_keep_some([200], ("teddy",), 5278, 737_280)
    assert str(err.value) == ("levels go deeper than the graph allows: level 200 keeps none of its "
                              "5,278 edges (0.95^200); give levels up to 134: level 135 keeps none "
                              "of the model's 737,280 weights (0.9^135)")
    with pytest.raises(InvalidParameterError, match=r"model allows: level 140 keeps none of its "
                                                    r"737,280 weights \(0.9\^140\); give levels up "
                                                    r"to 134$"):
        check_levels_keep_some([140], ("teddy",), 5278, 737_280)
