import math
import re

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp

from graphsparse.metrics import relative_condition_number
from graphsparse.static import FeGrassSparsifier, refine_by_stretch
from graphsparse.trees import TreeResistance, bfs_levels, max_spanning_forest, spanning_tree_scores
from sparsebox import as_structure
from sparsebox.data import load_graph
from sparsebox.exceptions import InvalidParameterError


def test_spanning_tree_scores_by_hand():
    # path 0-1-2 plus edge 1-3 (weight 2); degrees 1,3,1,1; root = node 1 (highest degree)
    a = np.zeros((4, 4))
    a[0, 1] = a[1, 0] = 1.0
    a[1, 2] = a[2, 1] = 1.0
    a[1, 3] = a[3, 1] = 2.0
    g = as_structure(a)
    assert bfs_levels(g).tolist() == [1, 0, 1, 1]
    # every edge touches the root: level sum 1, log(max degree) = log 3
    assert np.allclose(spanning_tree_scores(g), np.array([1.0, 1.0, 2.0]) * math.log(3))


def test_tree_resistance_matches_networkx_paths():
    rng = np.random.default_rng(0)
    t = nx.random_labeled_tree(80, seed=2)
    for u, v in t.edges:
        t[u][v]["weight"] = float(rng.uniform(0.5, 3.0))
    tr = TreeResistance(as_structure(t))
    a, b = rng.integers(0, 80, 60), rng.integers(0, 80, 60)
    want = [nx.shortest_path_length(t, x, y, weight=lambda u, v, d: 1 / d["weight"])
            for x, y in zip(a, b, strict=True)]
    assert np.allclose(tr.resistance(a, b), want)


def test_max_spanning_forest_is_maximal_and_spans_components():
    g = as_structure(nx.disjoint_union(nx.cycle_graph(5), nx.complete_graph(4)))
    score = np.arange(g.num_edges, dtype=float)
    mask = max_spanning_forest(g, score)
    assert mask.sum() == g.num_nodes - 2
    nxg = g.to_networkx()
    for (_, _, d), s in zip(sorted(nxg.edges(data=True), key=lambda e: e[2]["id"]), score,
                            strict=True):
        d["weight"] = s
    best = nx.maximum_spanning_tree(nxg).size(weight="weight")
    assert score[mask].sum() == pytest.approx(best)


@pytest.mark.parametrize("name", ["airfoil1", "power", "lesmis", "hep-th"])
def test_fegrass_guarantees_on_real_graphs(name):
    g = load_graph(name)
    fit = FeGrassSparsifier(density=1.10).fit(g)
    h = fit.sparsifier_
    budget = max(g.num_nodes - g.connected_components()[0], math.floor(1.1 * g.num_nodes + 0.5))
    assert h.num_edges == min(budget, g.num_edges)
    # a subgraph with G's weights and ids, spanning every component of G
    pos = g.positions(h.ids)
    assert np.array_equal(g.weights[pos], h.weights)
    assert h.connected_components()[0] == g.connected_components()[0]
    assert fit.tree_mask_.sum() == g.num_nodes - g.connected_components()[0]
    assert np.all(fit.mask_[fit.tree_mask_])


def test_fegrass_beats_a_random_subgraph_of_the_same_size():
    g = load_graph("airfoil1")
    h = FeGrassSparsifier(density=1.10).fit_transform(g)
    rng = np.random.default_rng(0)
    tree = max_spanning_forest(g, rng.random(g.num_edges))
    extra = rng.choice(np.flatnonzero(~tree), h.num_edges - int(tree.sum()), replace=False)
    tree[extra] = True
    k_fe = relative_condition_number(g, h, method="ground")
    k_random = relative_condition_number(g, g.subgraph(tree), method="ground")
    assert k_fe < k_random / 5


def test_refinement_needs_both_stretch_and_its_powered_form():
    # the power grid: stretch alone in H reaches kappa 17.3 here, GRASS's heat 10.2
    g = load_graph("power")
    h = FeGrassSparsifier(density=1.10).fit_transform(g)
    assert relative_condition_number(g, h, method="ground") < 14
    g = load_graph("fe_4elt2")  # heat alone reaches 266 here, stretch alone 120
    h = FeGrassSparsifier(density=1.10).fit_transform(g)
    assert relative_condition_number(g, h, method="ground") < 120


def test_refinement_helps_and_bad_arguments():
    g = load_graph("4elt")
    plain = FeGrassSparsifier(refine_rounds=0).fit_transform(g)
    refined = FeGrassSparsifier().fit_transform(g)
    assert plain.num_edges == refined.num_edges
    assert (relative_condition_number(g, refined, method="ground")
            < relative_condition_number(g, plain, method="ground"))
    with pytest.raises(ValueError, match="budget 10 is below the spanning forest, 15605 edges"):
        FeGrassSparsifier(budget=10).fit(g)
    with pytest.raises(ValueError, match=r"hops must be an integer in \[0, 1\], got 2"):
        FeGrassSparsifier(hops=2).fit(g)
    with pytest.raises(ValueError, match="solver must be one of"):
        FeGrassSparsifier(solver="cholmod").fit(g)
    tree = max_spanning_forest(g, spanning_tree_scores(g))
    partial = tree.copy()
    partial[np.flatnonzero(tree)[0]] = False
    with pytest.raises(ValueError, match="mask must hold tree_mask"):
        refine_by_stretch(g, partial, tree, 10, rounds=1)
    directed = as_structure(sp.csr_array(([1.0, 1.0], ([0, 1], [1, 2])), shape=(3, 3)))
    with pytest.raises(ValueError, match="needs an undirected graph"):
        refine_by_stretch(directed, np.ones(2, bool), np.ones(2, bool), 0, rounds=1)


def test_auto_rounds_keep_each_round_to_20_edges_up_to_1024_rounds(monkeypatch):
    import graphsparse.static as static

    g = as_structure(nx.convert_node_labels_to_integers(nx.grid_2d_graph(100, 100)))
    seen = []  # 9,999 tree edges

    def spy(graph, mask, tree_mask, extra, *, rounds, **kw):
        seen.append((extra, rounds))
        return mask

    monkeypatch.setattr(static, "refine_by_stretch", spy)
    FeGrassSparsifier(density=1.95).fit(g)  # 9,501 off-tree edges, 90% to refinement
    FeGrassSparsifier(density=1.1).fit(g)  # 999 off-tree edges: 899 in 64 rounds
    FeGrassSparsifier(density=1.5, refine_rounds=10).fit(g)
    big = as_structure(nx.convert_node_labels_to_integers(nx.grid_2d_graph(250, 250)))
    FeGrassSparsifier(density=1.5).fit(big)  # 31,251 off-tree edges, 90% to refinement
    assert [r for _, r in seen] == [math.ceil(8550 / 20), 64, 10, 1024]
    with pytest.raises(InvalidParameterError, match="refine_rounds"):
        FeGrassSparsifier(refine_rounds="fast").fit(g)


def test_self_loops_stay_and_the_size_counts_the_other_edges():
    g = load_graph("karate")
    loops = np.array([0, 5, 9])
    with_loops = as_structure(np.c_[np.r_[g.rows, g.cols, loops], np.r_[g.cols, g.rows, loops]].T)
    for size, edges in [({"budget": 70}, 70), ({"keep_ratio": 0.5}, 39), ({"density": 1.5}, 51)]:
        est = FeGrassSparsifier(**size).fit(with_loops)
        is_loop = with_loops.rows == with_loops.cols
        assert int(est.mask_[~is_loop].sum()) == edges and est.mask_[is_loop].all()
        assert np.isinf(est.scores_[is_loop]).all()
        assert est.sparsifier_.num_items == edges + loops.size


@pytest.mark.parametrize("scale", [1e17, 1e-12])
def test_spanning_forests_and_sparsifiers_do_not_depend_on_the_unit_of_the_weights(scale):
    """Costs were max + 1 - score: at 1e17 the heaviest edges cost 0 (no edge to scipy) and the
    forest lost them; tiny weights all rounded to one cost. Costs are now ranks."""
    from graphsparse.dynamic import DynamicSpectralSparsifier
    from graphsparse.resistance import EffectiveResistanceSampler

    g = as_structure(nx.convert_node_labels_to_integers(nx.grid_2d_graph(6, 6)))
    rng = np.random.default_rng(0)
    g = g.reweight_items(g.ids, rng.uniform(1, 4, g.num_edges))
    scaled = g.reweight_items(g.ids, g.weights * scale)
    assert np.array_equal(max_spanning_forest(scaled, scaled.weights),
                          max_spanning_forest(g, g.weights))
    assert np.array_equal(FeGrassSparsifier(budget=45, seed=0).fit(scaled).mask_,
                          FeGrassSparsifier(budget=45, seed=0).fit(g).mask_)
    assert EffectiveResistanceSampler(budget=40, solver="direct").fit(scaled).sparsifier_ \
        .connected_components()[0] == 1
    assert DynamicSpectralSparsifier(budget=40).fit(scaled).sparsifier_.connected_components()[0] == 1


def test_a_maximum_spanning_forest_is_exact_over_many_orders_of_weight():
    s = as_structure(np.array([[0, 1, 1, 2, 2, 3, 3, 1], [1, 0, 2, 1, 3, 2, 1, 3]]),
                     edge_weight=np.array([1e12, 1e12, 1e-6, 1e-6, 3e-6, 3e-6, 2e-6, 2e-6]))
    kept = {(int(a), int(b)) for a, b, k in zip(s.rows, s.cols, max_spanning_forest(s, s.weights),
                                               strict=True) if k}
    assert kept == {(0, 1), (2, 3), (1, 3)}  # networkx's maximum spanning tree
    p = as_structure(nx.path_graph(4))
    p = p.reweight_items(p.ids, np.array([1e17, 1.0, 1.0]))
    assert max_spanning_forest(p, p.weights).all()  # a path keeps all its edges


def test_tree_resistance_between_two_trees_is_infinite():
    forest = as_structure(nx.disjoint_union(nx.path_graph(3), nx.path_graph(3)))
    r = TreeResistance(forest).resistance([0, 0, 3], [4, 2, 5])
    assert r[0] == np.inf and r[1:].tolist() == [2.0, 2.0]


def test_refinement_names_a_bad_number_of_edges_or_rounds():
    """Zero rounds or a negative number of edges returned the mask unchanged, saying nothing."""
    g = as_structure(nx.convert_node_labels_to_integers(nx.grid_2d_graph(5, 5)))
    tree = max_spanning_forest(g, spanning_tree_scores(g))
    with pytest.raises(ValueError, match="rounds must be"):
        refine_by_stretch(g, tree, tree, 5, rounds=0)
    with pytest.raises(ValueError, match="extra must be"):
        refine_by_stretch(g, tree, tree, -1, rounds=2)
    assert refine_by_stretch(g, tree, tree, 0, rounds=0).sum() == tree.sum()


def test_refinement_refuses_a_tree_mask_that_does_not_span_g():
    """A tree_mask that is not a spanning forest leaves L_H singular: the error says so instead
    of blaming float64 rounding."""
    g = as_structure(nx.convert_node_labels_to_integers(nx.grid_2d_graph(5, 5)))
    tree = max_spanning_forest(g, spanning_tree_scores(g))
    short = tree.copy()
    short[np.flatnonzero(tree)[0]] = False
    with pytest.raises(ValueError, match="tree_mask must be a spanning forest of G .* it leaves 2 "
                                         "components where G has 1"):
        refine_by_stretch(g, short, short, 5, rounds=2)
    assert refine_by_stretch(g, tree, tree, 5, rounds=2).sum() == tree.sum() + 5


def test_tree_resistance_broadcasts_its_pairs_and_refuses_nodes_outside_the_forest():
    """The LCA kernel read b[i] for every i of a: a shorter b (or a scalar) was read past its
    end, a segmentation fault, and a node outside the forest read stray memory."""
    tr = TreeResistance(as_structure(nx.path_graph(4)))
    assert tr.resistance([0, 1, 2, 3], [3]).tolist() == [3.0, 2.0, 1.0, 0.0]
    assert tr.resistance([0, 1], 3).tolist() == [3.0, 2.0] and float(tr.resistance(0, 2)) == 2.0
    assert tr.lca(np.array([[0, 3]]), 2).tolist() == [[1, 2]]
    for a, b in [([0], [4]), ([0], [-1])]:
        with pytest.raises(ValueError, match="nodes must be in 0..3"):
            tr.resistance(a, b)


def test_refinement_names_a_sketch_without_vectors_or_a_negative_power():
    """num_vectors=0 gave every edge score 0 (with a divide-by-zero warning) and refinement
    took edges in item order, saying nothing."""
    g = as_structure(nx.convert_node_labels_to_integers(nx.grid_2d_graph(5, 5)))
    tree = max_spanning_forest(g, spanning_tree_scores(g))
    for kw, message in [({"num_vectors": 0}, "num_vectors must be >= 1, got 0"),
                        ({"power_steps": -1}, "power_steps must be >= 0, got -1"),
                        ({"seed": -1}, "seed must be >= 0, got -1")]:
        with pytest.raises(ValueError, match=message):
            refine_by_stretch(g, tree, tree, 5, rounds=2, **kw)


def test_a_size_that_keeps_every_edge_returns_g_without_recovery_or_refinement(monkeypatch):
    """keep_ratio=1 (or a density past the graph's) ran a hundred refinement rounds to find G's
    own edges: 8 s on jazz (198 nodes), two minutes on polblogs (1,490)."""
    import graphsparse.static as static

    def unneeded(*args, **kwargs):
        raise AssertionError("nothing is left to choose")

    monkeypatch.setattr(static, "recover_off_tree", unneeded)
    monkeypatch.setattr(static, "refine_by_stretch", unneeded)
    g = load_graph("karate")
    loops = np.array([0, 5])
    with_loops = as_structure(np.c_[np.r_[g.rows, g.cols, loops], np.r_[g.cols, g.rows, loops]].T)
    for size in [{"keep_ratio": 1.0}, {"budget": g.num_edges}, {"density": 100.0}]:
        est = FeGrassSparsifier(**size).fit(with_loops)
        assert est.mask_.all() and est.sparsifier_.num_items == with_loops.num_items
        assert est.tree_mask_.sum() == g.num_nodes - 1


def test_the_random_baseline_refuses_an_edge_list_that_is_not_pygs_layout():
    """An [E, 2] edge list (networkx's, scipy's) was read as two rows of its first two edges and
    three columns came back, at random; a numpy edge_index raised AttributeError ('cpu')."""
    import torch

    from graphsparse.random_edges import prune_edges_random

    for ei, got in [(torch.tensor([[0, 1], [1, 2], [2, 0]]), "int64 of shape [3, 2]"),
                    (torch.tensor([0, 1, 2]), "int64 of shape [3]"),
                    (torch.tensor([[0.0, 1.0], [1.0, 0.0]]), "float32 of shape [2, 2]")]:
        with pytest.raises(InvalidParameterError, match=re.escape(
                f"edge_index must be integer node ids of shape [2, num_edges] (PyG's layout), got {got}")):
            prune_edges_random(ei, 3, keep=1, seed=0)
    pairs = np.array([[0, 1, 1, 2], [1, 0, 2, 1]])
    kept = prune_edges_random(pairs, 3, keep=1, seed=0)
    assert isinstance(kept, np.ndarray)
    assert kept.tolist() == prune_edges_random(torch.from_numpy(pairs), 3, keep=1, seed=0).tolist()


@pytest.mark.parametrize("method", ["FeGrassSparsifier", "DynamicSpectralSparsifier",
                                    "EffectiveResistanceSampler"])
def test_a_directed_graph_is_refused_saying_how_to_read_it_as_undirected(method):
    """A symmetric networkx DiGraph or an upper-triangle matrix was refused with "needs an
    undirected graph" alone; the hint it gives works."""
    import graphsparse

    karate = nx.karate_club_graph()
    upper = sp.triu(nx.to_scipy_sparse_array(karate, weight=None)).tocsr()
    make = getattr(graphsparse, method)
    for graph in (nx.DiGraph(karate), upper):
        with pytest.raises(InvalidParameterError, match=rf"^{method} needs an undirected graph, "
                           r"and this one is directed; read it as undirected: nx.Graph\(graph\)"):
            make(keep_ratio=0.6, seed=0).fit(graph)
    # a column listed twice (summed, so edge (0, 1) weighs 2 one way): symmetrize='max', the
    # advice for a graph held one way, would have kept the 2
    twice = np.array([[0, 1, 1, 2, 2, 0, 0], [1, 0, 2, 1, 0, 2, 1]])
    with pytest.raises(
            InvalidParameterError, match=r"lists edge \(0, 1\) both ways, with weight 2 one way "
            r"and 1 the other \(an edge_index column listed twice, for one, is summed"):
        make(budget=2, seed=0).fit(twice)
    fitted = make(keep_ratio=0.6, seed=0).fit(as_structure(upper, undirected=True, symmetrize="max"))
    assert fitted.transform(None if method == "DynamicSpectralSparsifier" else
                            as_structure(upper, undirected=True, symmetrize="max")).num_edges > 33


def test_tree_resistances_past_float64_are_refused_naming_the_weights():
    """Weights of 1e-308 on a path gave a resistance of inf between its ends and NaN between a
    middle node and an end, with numpy's bare overflow warnings; 1e-320 alone overflowed 1 / w."""
    def path(w):
        return as_structure(np.array([[0, 1, 1, 2], [1, 0, 2, 1]]), edge_weight=np.array(w + w))

    for weights in ([1e-308, 1e-308], [1e-320, 1e-320]):
        with pytest.raises(ValueError, match=f"edge weights as small as {weights[0]!r} make the "
                                             "tree's resistances .* too large for float64"):
            TreeResistance(path(weights))
    assert TreeResistance(path([1e-300, 1e-300])).resistance([0, 1], [2, 2]).tolist() == \
        pytest.approx([2e300, 1e300])


def test_a_refit_that_fails_in_refinement_leaves_the_last_fit_whole(monkeypatch):
    """tree_mask_ was set before recovery and refinement: a refit that failed there left the new
    graph's tree beside the old mask_."""
    import graphsparse.static as static

    est = FeGrassSparsifier(density=1.5, seed=0).fit(nx.karate_club_graph())
    before = (est.tree_mask_.copy(), est.scores_.copy(), est.mask_.copy())

    def fails(*args, **kwargs):
        raise ValueError("the graph's Laplacian cannot be factored in float64")

    monkeypatch.setattr(static, "refine_by_stretch", fails)
    grid = nx.convert_node_labels_to_integers(nx.grid_2d_graph(8, 8))
    with pytest.raises(ValueError, match="cannot be factored"):
        est.fit(grid)
    assert all(np.array_equal(a, b) for a, b in
               zip((est.tree_mask_, est.scores_, est.mask_), before, strict=True))
