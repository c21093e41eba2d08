import warnings

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp

from graphsparse.metrics import grounded_laplacian_nodes, relative_condition_number
from graphsparse.resistance import (
    EffectiveResistanceSampler,
    effective_resistances,
    graph_grounded_laplacian,
    grounded_laplacian,
    grounded_rows,
    laplacian_solver,
    pair_resistances,
    resistance_embedding,
)
from sparsebox import as_structure
from sparsebox.data import load_graph
from sparsebox.exceptions import InvalidParameterError


def exact_resistances(g):
    lp = np.linalg.pinv(g.laplacian().toarray())
    r, c = g.rows, g.cols
    return lp[r, r] + lp[c, c] - 2 * lp[r, c]


@pytest.mark.parametrize("solver", ["amg", "direct", "auto"])
def test_projected_resistances_approach_exact_ones(solver):
    g = as_structure(nx.connected_watts_strogatz_graph(80, 6, 0.3, seed=0))
    exact = exact_resistances(g)
    approx = effective_resistances(g, num_vectors=400, solver=solver, seed=1)
    assert np.median(np.abs(approx / exact - 1)) < 0.1
    # Foster's theorem: sum of w_e R_e = n - 1
    assert exact.sum() == pytest.approx(g.num_nodes - 1)
    assert approx.sum() == pytest.approx(g.num_nodes - 1, rel=0.1)


def test_auto_solver_factorizes_unless_the_factor_fills_in():
    g = load_graph("airfoil1")
    keep = grounded_laplacian_nodes(g)
    lap = g.laplacian().tocsr()[keep][:, keep]
    b = np.random.default_rng(0).standard_normal((lap.shape[0], 2))
    exact = laplacian_solver(lap, "direct")(b)
    lu = laplacian_solver(lap, "auto")
    assert lu.method == "direct"
    assert np.allclose(lu(b), exact)
    amg = laplacian_solver(lap, "auto", max_fill=1.0, small_factor=0, tol=1e-10)
    assert amg.method == "amg"
    assert np.allclose(amg(b), exact, atol=1e-6 * np.abs(exact).max())


def test_resistances_solve_by_the_factorization_unless_told_otherwise():
    """The default was AMG, one CG per column: 100x the time of the factorization on
    PGPgiantcompo (21.5 s against 0.04 s) for the same sample."""
    g = load_graph("airfoil1")
    default = EffectiveResistanceSampler(density=1.2, seed=0).fit(g)
    direct = EffectiveResistanceSampler(density=1.2, solver="direct", seed=0).fit(g)
    assert np.array_equal(default.resistances_, direct.resistances_)
    assert np.array_equal(default.mask_, direct.mask_)
    assert np.array_equal(effective_resistances(g, num_vectors=4),
                          effective_resistances(g, num_vectors=4, solver="direct"))


def test_sampler_budget_tree_and_reweighting():
    g = load_graph("airfoil1")
    s = EffectiveResistanceSampler(density=1.5, seed=0).fit(g)
    h = s.sparsifier_
    assert h.num_edges == round(1.5 * g.num_nodes)
    assert h.connected_components()[0] == 1
    assert relative_condition_number(g, h, method="ground") < np.inf
    plain = EffectiveResistanceSampler(density=1.5, reweight=False, seed=0).fit_transform(g)
    pos = g.positions(plain.ids)
    assert np.array_equal(plain.weights, g.weights[pos])
    # reweighting changes sampled, non-tree edges only
    assert not np.array_equal(h.weights, plain.weights)


def test_sampler_argument_errors():
    g = load_graph("karate")
    with pytest.raises(ValueError, match="give one of keep_ratio, budget, density, not several"):
        EffectiveResistanceSampler(keep_ratio=0.5, density=1.2).fit(g)
    with pytest.raises(ValueError, match=r"keep_ratio 0.1 is below the spanning forest"):
        EffectiveResistanceSampler(keep_ratio=0.1).fit(g)
    with pytest.raises(ValueError, match="below the spanning forest"):
        EffectiveResistanceSampler(budget=5).fit(g)
    with pytest.raises(ValueError, match="solver must be one of"):
        effective_resistances(g, solver="cholmod")


def test_grounded_rows_number_the_kept_nodes_and_mark_the_grounded_ones():
    g = as_structure(nx.disjoint_union(nx.path_graph(4), nx.cycle_graph(5)))
    keep, index = grounded_rows(g)
    assert np.array_equal(keep, grounded_laplacian_nodes(g))
    assert np.array_equal(index[keep], np.arange(keep.size))
    assert sorted(np.flatnonzero(index < 0).tolist()) == [0, 4]  # one per component


def test_grounded_laplacian_is_the_laplacian_without_the_grounded_rows():
    g = load_graph("power")
    g = g.reweight_items(g.ids, np.random.default_rng(0).uniform(0.5, 2.0, g.num_items))
    keep, index = grounded_rows(g)
    off = g.rows != g.cols
    lap = grounded_laplacian(index[g.rows[off]], index[g.cols[off]], g.weights[off], keep.size)
    expected = g.laplacian().tocsr()[keep][:, keep]
    assert abs(lap - expected).max() < 1e-12
    assert lap.has_canonical_format
    from_csr = graph_grounded_laplacian(g, index, keep.size)
    assert from_csr.has_canonical_format and abs(from_csr - expected).max() < 1e-12


def test_grounded_laplacian_sums_repeated_edges_and_sorts_long_rows():
    # a hub with 80 neighbours (rows past the insertion sort), repeated edges in both
    # orientations, self-loops (ignored) and grounded ends (-1), against scipy's COO sum
    rng = np.random.default_rng(3)
    p = np.r_[np.zeros(120, dtype=np.int64), rng.integers(-1, 90, 300)]
    q = np.r_[rng.integers(1, 81, 120), rng.integers(-1, 90, 300)]
    w = rng.uniform(0.5, 2.0, p.size)
    lap = grounded_laplacian(p, q, w, 90)
    live = p != q
    rows, cols = np.r_[p, q, p, q][np.tile(live, 4)], np.r_[p, q, q, p][np.tile(live, 4)]
    vals = np.r_[w, w, -w, -w][np.tile(live, 4)]
    inside = (rows >= 0) & (cols >= 0)
    expected = sp.csr_matrix((vals[inside], (rows[inside], cols[inside])), shape=(90, 90))
    assert lap.has_canonical_format and abs(lap - expected).max() < 1e-12


def test_grounded_laplacians_refuse_rows_out_of_range_and_read_directed_items_as_edges():
    """A directed structure's items are edges to the grounded Laplacians; the resistances
    refuse one, as EffectiveResistanceSampler does: a networkx DiGraph that lists each edge both
    ways (G.to_directed()) counted each twice and gave half of every resistance (from a
    new-user trial)."""
    with pytest.raises(ValueError, match="rows must lie in -1..1"):
        grounded_laplacian(np.array([0, 1]), np.array([3, 0]), np.ones(2), 2)
    with pytest.raises(ValueError, match="one length"):
        grounded_laplacian(np.array([0, 1]), np.array([1]), np.ones(2), 2)
    path = as_structure(nx.path_graph(4))
    keep, index = grounded_rows(path)
    with pytest.raises(ValueError, match="index must give"):
        graph_grounded_laplacian(path, index, 2)
    directed = as_structure(nx.DiGraph([(0, 1), (1, 2), (2, 3)]))
    expected = grounded_laplacian(index[path.rows], index[path.cols], path.weights, keep.size)
    lap = graph_grounded_laplacian(directed, index, keep.size)
    assert abs(lap - expected).max() == 0
    both_ways = nx.path_graph(3).to_directed()
    for function, name in ((resistance_embedding, "resistance_embedding"),
                           (effective_resistances, "effective_resistances")):
        for graph in (directed, both_ways):
            with pytest.raises(InvalidParameterError, match=f"{name} needs an undirected graph, "
                                                            "and this one is directed; read it"):
                function(graph, num_vectors=4, solver="direct")
    r = effective_resistances(nx.Graph(both_ways), num_vectors=2000, solver="direct", seed=0)
    assert np.allclose(r, 1.0, atol=0.15)


def test_graph_grounded_laplacian_ignores_self_loops():
    g = as_structure(nx.Graph([(0, 1, {"weight": 2.0}), (1, 1, {"weight": 5.0}),
                               (2, 2, {"weight": 7.0}), (0, 2, {"weight": 3.0})]))
    keep, index = grounded_rows(g)
    lap = graph_grounded_laplacian(g, index, keep.size)
    assert lap.toarray().tolist() == [[2.0, 0.0], [0.0, 3.0]]  # nodes 1 and 2, grounded at 0


def test_amg_results_do_not_depend_on_numpys_global_random_state():
    # pyamg draws from numpy's global stream; two runs with one seed must agree bit for bit
    g = load_graph("power")
    np.random.seed(1)  # noqa: NPY002 - the stream pyamg draws from
    first = effective_resistances(g, num_vectors=8, solver="amg", seed=0)
    np.random.seed(2)  # noqa: NPY002 - the stream pyamg draws from
    state = np.random.get_state()  # noqa: NPY002 - the stream pyamg draws from
    second = effective_resistances(g, num_vectors=8, solver="amg", seed=0)
    assert np.array_equal(first, second)
    kept = np.random.get_state()[1]  # noqa: NPY002 - the stream pyamg draws from
    assert np.array_equal(kept, state[1])  # the caller's stream is as it was


def with_self_loops(graph, nodes):
    """``graph`` with a self-loop on each of ``nodes`` (as PyG's add_self_loops makes)."""
    g = as_structure(graph)
    return as_structure(np.c_[np.r_[g.rows, g.cols, nodes], np.r_[g.cols, g.rows, nodes]].T)


@pytest.mark.parametrize("size, edges", [
    ({"keep_ratio": 1.0}, 20), ({"budget": 20}, 20), ({"density": 1.5}, 20),
    ({"keep_ratio": 0.5}, 10), ({"budget": 10}, 10), ({"density": 0.5}, 10)])
def test_sampler_keeps_self_loops_and_sizes_the_other_edges(size, edges):
    """A self-loop has resistance 0, so it is never drawn: sampling used to wait for it."""
    ring = with_self_loops(nx.cycle_graph(20), np.arange(20))
    er = EffectiveResistanceSampler(solver="direct", keep_tree=False, **size).fit(ring)
    loops = ring.rows == ring.cols
    assert int(er.mask_[~loops].sum()) == edges and er.mask_[loops].all()
    assert np.isfinite(er.sparsifier_.weights).all()


def test_an_amg_solve_that_stops_short_of_its_tolerance_warns():
    """Weights over 12 orders of magnitude: pyamg's CG stops at its 100 iterations and returned
    resistances off by up to 50% in silence; exact solves (and well-scaled weights) stay quiet."""
    grid = nx.convert_node_labels_to_integers(nx.grid_2d_graph(12, 12))
    rng = np.random.default_rng(0)
    for u, v in grid.edges:
        grid[u][v]["weight"] = 10.0 ** rng.integers(-6, 7)
    with pytest.warns(RuntimeWarning, match="AMG did not reach relative residual 1e-08"):
        effective_resistances(grid, num_vectors=4, solver="amg")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        effective_resistances(grid, num_vectors=4, solver="direct")
        effective_resistances(nx.convert_node_labels_to_integers(nx.grid_2d_graph(12, 12)),
                              num_vectors=4, solver="amg")


def test_pair_resistances_refuse_nodes_outside_z_and_pairs_of_two_lengths():
    """The numba kernel reads without bounds checks: a node past z's rows read stray memory
    (0.0 here, a crash elsewhere), -1 wrapped to the last node, and a shorter cols was read
    past its end."""
    z = np.array([[0.0, 0.0], [3.0, 4.0]])
    with pytest.raises(ValueError, match=r"rows and cols must be nodes of z \(its 2 rows\), got 0..5"):
        pair_resistances(z, np.array([0]), np.array([5]))
    with pytest.raises(ValueError, match="got -1..0"):
        pair_resistances(z, np.array([0]), np.array([-1]))
    with pytest.raises(ValueError, match=r"one length, got shapes \(2, 2\), \(2,\) and \(1,\)"):
        pair_resistances(z, np.array([0, 1]), np.array([1]))
    with pytest.raises(ValueError, match="must be integer node ids, got float64"):
        pair_resistances(z, np.array([0.7]), np.array([1.9]))  # not truncated to (0, 1)
    assert pair_resistances(z, np.array([0], np.uint64), np.array([1])).tolist() == [25.0]
    assert pair_resistances(z, [0, 1], [1, 1]).tolist() == [25.0, 0.0]  # lists too


def test_a_budget_that_needs_an_edge_of_tiny_w_r_does_not_draw_for_hours(deadline):
    """Draws went one at a time until the budget-th distinct edge: keep_ratio=1 needed the one
    chord of w R ~ 1e-7 drawn, some 1e8 Python steps (hours); the draws are now simulated at
    once (a Poisson process), with the same law."""
    grid = nx.convert_node_labels_to_integers(nx.grid_2d_graph(6, 6))
    nx.set_edge_attributes(grid, 1e3, "weight")
    grid.add_edge(0, 7, weight=1e-4)  # across a cell of heavy edges
    edges = grid.number_of_edges()
    with deadline(30):
        er = EffectiveResistanceSampler(budget=edges - 1, solver="direct", seed=3).fit(grid)
    assert er.mask_.sum() == edges - 1 and np.isfinite(er.sparsifier_.weights).all()
    again = EffectiveResistanceSampler(budget=edges - 1, solver="direct", seed=3).fit(grid)
    assert np.array_equal(er.sparsifier_.weights, again.sparsifier_.weights)


@pytest.mark.parametrize("size", [{"keep_ratio": 1.0}, {"budget": 60}])
def test_keeping_every_edge_keeps_the_graph_and_its_weights(size):
    """Every edge kept: H was G with each weight replaced by a random estimate of it (the draws'
    counts), where G itself is the exact answer."""
    grid = as_structure(nx.convert_node_labels_to_integers(nx.grid_2d_graph(6, 6)))
    er = EffectiveResistanceSampler(solver="direct", seed=3, **size).fit(grid)
    assert er.mask_.all()
    assert np.array_equal(er.sparsifier_.weights, grid.weights)


def test_sampler_draws_from_another_stream_than_the_sketchs_signs(monkeypatch):
    """The random signs of the resistance sketch and the sampler's draws came from one seed's
    stream: the first draws' uniforms were the bits that made the signs."""
    made = []
    default_rng = np.random.default_rng

    def recording(seed=None):
        made.append(np.random.SeedSequence(seed).entropy if not isinstance(seed, list)
                    else tuple(seed))
        return default_rng(seed)

    monkeypatch.setattr(np.random, "default_rng", recording)
    EffectiveResistanceSampler(budget=30, solver="direct", seed=3).fit(
        nx.convert_node_labels_to_integers(nx.grid_2d_graph(5, 5)))
    assert len(made) == 2 and made[0] != made[1], made


def test_effective_resistance_transform_refuses_another_graph_of_as_many_edges():
    """transform compared edge counts only: another graph of as many edges got the fitted H."""
    grid = nx.convert_node_labels_to_integers(nx.grid_2d_graph(5, 5))  # 40 edges
    sampler = EffectiveResistanceSampler(density=1.2, seed=0).fit(grid)
    assert sampler.transform(as_structure(grid)).equals(sampler.sparsifier_)
    other = nx.gnm_random_graph(25, 40, seed=1)
    with pytest.raises(InvalidParameterError, match="not the one this EffectiveResistanceSampler"):
        sampler.transform(other)
    heavier = nx.Graph(grid)
    nx.set_edge_attributes(heavier, 2.0, "weight")
    with pytest.raises(InvalidParameterError, match="not the one"):
        sampler.transform(heavier)
    del sampler._fitted_graph  # one fitted (and pickled) before the graph was kept
    assert sampler.transform(grid).equals(sampler.sparsifier_)


def test_the_sampler_scores_are_infinite_only_on_the_forest_and_the_self_loops():
    """A size that keeps every edge scored every edge inf, where the docs give w R on all but the
    kept forest (from a new-user trial)."""
    from graphsparse import EffectiveResistanceSampler

    path = nx.path_graph(4)
    path.add_edge(2, 2)
    g = as_structure(path)
    loops = g.rows == g.cols
    every = EffectiveResistanceSampler(keep_ratio=1.0, keep_tree=False, num_vectors=8,
                                       solver="direct").fit(g)
    assert every.mask_.all()
    assert np.isinf(every.scores_[loops]).all()
    assert np.array_equal(every.scores_[~loops], (g.weights * every.resistances_)[~loops])
    tree = EffectiveResistanceSampler(keep_ratio=1.0, num_vectors=8, solver="direct").fit(g)
    assert np.isinf(tree.scores_).all()  # a path is its own spanning tree
    cycle = EffectiveResistanceSampler(budget=4, num_vectors=8, solver="direct").fit(
        nx.cycle_graph(5))
    assert np.isinf(cycle.scores_).sum() == 4 and np.isfinite(cycle.scores_).sum() == 1
