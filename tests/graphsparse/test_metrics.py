import warnings

import networkx as nx
import numpy as np
import pytest
import scipy.linalg

from graphsparse.metrics import pcg_iterations, relative_condition_number
from sparsebox import as_structure


def random_weighted_graph(n=40, p=0.2, seed=0):
    g = nx.connected_watts_strogatz_graph(n, 6, p, seed=seed)
    rng = np.random.default_rng(seed)
    for u, v in g.edges:
        g[u][v]["weight"] = float(rng.uniform(0.2, 3.0))
    return as_structure(g)


def dense_kappa(lg, lh):
    vals = scipy.linalg.eigh(lg, lh, eigvals_only=True)
    return vals.max() / vals.min()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_kappa_matches_dense_eigh(seed):
    g = random_weighted_graph(seed=seed)
    rng = np.random.default_rng(seed)
    tree = nx.minimum_spanning_tree(g.to_networkx())
    mask = np.isin(g.ids, [d["id"] for _, _, d in tree.edges(data=True)])
    mask |= rng.random(g.num_edges) < 0.2
    h = g.subgraph(mask)
    lg, lh = g.laplacian().toarray(), h.laplacian().toarray()
    grounded = dense_kappa(lg[1:, 1:], lh[1:, 1:])
    assert relative_condition_number(g, h, method="ground") == pytest.approx(grounded, rel=1e-5)
    shift = 1e-6 * np.diag(lg).mean()  # relative to G's mean weighted degree
    shifted = dense_kappa(lg + shift * np.eye(g.num_nodes), lh + shift * np.eye(g.num_nodes))
    assert relative_condition_number(g, h) == pytest.approx(shifted, rel=1e-5)


def test_kappa_of_g_against_itself_is_one_and_disconnected_h_is_infinite():
    g = random_weighted_graph()
    assert relative_condition_number(g, g, method="ground") == pytest.approx(1.0, abs=1e-8)
    h = g.subgraph(np.arange(g.num_edges) % 3 == 0)
    assert h.connected_components()[0] > 1
    # with either method: shifted, L_H + shift I is definite and the value would be finite
    assert relative_condition_number(g, h, method="ground") == np.inf
    assert relative_condition_number(g, h, method="shift") == np.inf
    fewer_nodes = as_structure(nx.path_graph(g.num_nodes - 1))  # inputs are checked first
    for method in ("ground", "shift"):
        with pytest.raises(ValueError, match="graph has 40 nodes but sparsifier has 39"):
            relative_condition_number(g, fewer_nodes, method=method)


def test_kappa_of_a_subgraph_built_apart_from_g_matches_dense_eigh():
    """H's edges are matched to G's by their ends: H made on its own carries other ids."""
    g, h = as_structure(nx.complete_graph(6)), as_structure(nx.path_graph(6))
    assert not np.isin(g.ids[g.find_items(h.rows, h.cols)], h.ids).all()
    lg, lh = g.laplacian().toarray(), h.laplacian().toarray()
    expected = dense_kappa(lg[1:, 1:], lh[1:, 1:])
    assert relative_condition_number(g, h, method="ground") == pytest.approx(expected, rel=1e-5)


def test_pcg_iterations_fall_with_a_better_preconditioner():
    g = random_weighted_graph(n=200, seed=3)
    tree = nx.maximum_spanning_tree(g.to_networkx())
    mask = np.isin(g.ids, [d["id"] for _, _, d in tree.edges(data=True)])
    assert pcg_iterations(g, g) <= 2
    richer = mask | (np.arange(g.num_edges) % 2 == 0)
    assert pcg_iterations(g, g.subgraph(richer)) < pcg_iterations(g, g.subgraph(mask))


def test_bad_method():
    g = random_weighted_graph()
    with pytest.raises(ValueError, match="method must be one of"):
        relative_condition_number(g, g, method="exact")


@pytest.mark.parametrize("method", ["ground", "shift"])
def test_subgraph_shortcut_for_lambda_min_agrees_with_the_full_computation(method, monkeypatch):
    import graphsparse.metrics as m

    g = random_weighted_graph(n=60, seed=4)
    tree = nx.maximum_spanning_tree(g.to_networkx())
    mask = np.isin(g.ids, [d["id"] for _, _, d in tree.edges(data=True)])
    mask |= np.arange(g.num_edges) % 4 == 0
    h = g.subgraph(mask)
    fast = relative_condition_number(g, h, method=method)
    monkeypatch.setattr(m, "_positions_in", lambda g, h: None)
    full = relative_condition_number(g, h, method=method)
    assert fast == pytest.approx(full, rel=1e-5)


def _undirected(edges, n):
    r, c = [a for a, _ in edges], [b for _, b in edges]
    return as_structure(np.array([r + c, c + r]), num_nodes=n)


@pytest.mark.parametrize("method", ["shift", "ground"])
def test_kappa_does_not_depend_on_the_unit_of_the_weights(method):
    g = as_structure(nx.convert_node_labels_to_integers(nx.grid_2d_graph(8, 8)))
    g = g.reweight_items(g.ids, np.random.default_rng(0).uniform(1, 3, g.num_edges))
    from graphsparse.trees import max_spanning_forest

    h = g.subgraph(max_spanning_forest(g, g.weights)
                   | (np.random.default_rng(1).random(g.num_items) < 0.3))
    scaled = [s.reweight_items(s.ids, s.weights * 1e-6) for s in (g, h)]
    # the same pencil up to a factor: equal to the eigensolver's tolerance (the shift was 1e-6
    # absolute, 1e6 times the shrunken Laplacians' scale: kappa fell from 330 to 8)
    assert relative_condition_number(*scaled, method=method) == pytest.approx(
        relative_condition_number(g, h, method=method), rel=1e-3)


def test_the_shift_counts_the_constant_vector_where_h_is_on_another_scale():
    """As the docstring says: H = 2 G has kappa 1 grounded and 2 shifted (the constant vector's
    eigenvalue 1 joins the pencil's 1/2), as does H = G / 2; a subgraph with G's weights agrees."""
    g = as_structure(nx.karate_club_graph())
    for factor in (2.0, 0.5):
        h = g.reweight_items(g.ids, factor * g.weights)
        assert relative_condition_number(g, h, method="ground") == pytest.approx(1.0, rel=1e-6)
        assert relative_condition_number(g, h, method="shift") == pytest.approx(2.0, rel=1e-4)
    from graphsparse.trees import max_spanning_forest

    h = g.subgraph(max_spanning_forest(g, g.weights) | (np.arange(g.num_items) % 3 == 0))
    assert relative_condition_number(g, h, method="shift") == pytest.approx(
        relative_condition_number(g, h, method="ground"), rel=1e-3)


def test_kappa_is_infinite_exactly_when_h_splits_or_joins_components_of_g():
    """H that joins two components of G has lambda_min 0 (a vector constant on each component
    of G, other on the two joined, gives x' L_G x = 0 < x' L_H x). Grounded, it had a finite
    kappa that depended on the nodes grounded (6.0 grounding 0 and 2, 3.0 grounding 1 and 2),
    and shifted one near 1 / shift."""
    g = _undirected([(0, 1), (2, 3), (3, 4), (4, 2)], 5)  # two components
    joins = _undirected([(0, 1), (2, 3), (3, 4), (1, 2)], 5)  # one: joins them, splits none
    lg, lh = (s.laplacian().toarray() for s in (g, joins))
    grounded = [scipy.linalg.eigh(lg[np.ix_(keep, keep)], lh[np.ix_(keep, keep)],
                                  eigvals_only=True) for keep in ([1, 3, 4], [0, 3, 4])]
    assert abs(grounded[0].max() / grounded[0].min() - grounded[1].max() / grounded[1].min()) > 1
    x = np.array([0.0, 0.0, 1.0, 1.0, 1.0])  # constant on G's components
    assert x @ lg @ x == 0 < x @ lh @ x
    for method in ("shift", "ground"):
        assert relative_condition_number(g, joins, method=method) == np.inf
    g = _undirected([(0, 1), (1, 2), (3, 4)], 5)
    splits = _undirected([(0, 1), (1, 2), (2, 3)], 5)  # as many components, 3-4 split apart
    for method in ("shift", "ground"):
        assert relative_condition_number(g, splits, method=method) == np.inf
    empty = as_structure(np.zeros((2, 0), dtype=np.int64), num_nodes=3)
    for method in ("shift", "ground"):
        assert relative_condition_number(empty, empty, method=method) == 1.0
    one_edge = _undirected([(0, 1)], 3)  # not a sparsifier of an edgeless G: not kappa 1
    assert relative_condition_number(empty, one_edge, method="shift") == np.inf


def test_pcg_iterations_refuse_a_sparsifier_that_splits_a_component_of_g():
    """A non-spanning H has a singular grounded Laplacian: named, not scipy's 'Factor is exactly
    singular' from deep inside the LU."""
    g = as_structure(nx.cycle_graph(6))
    mask = np.zeros(g.num_items, dtype=bool)
    mask[g.find_items(np.array([0, 1, 2]), np.array([1, 2, 3]))] = True  # nodes 4, 5 left out
    h = g.subgraph(mask)
    assert h.connected_components()[0] > 1
    with pytest.raises(ValueError, match="does not connect every component of graph"):
        pcg_iterations(g, h)


def test_a_shift_or_tolerance_that_cannot_work_is_named():
    """shift=0 left both Laplacians singular and kappa(G, G) came out as 250 instead of 1; a
    negative shift made them indefinite; pcg_iterations reported 0 iterations for max_iter=0."""
    g = random_weighted_graph()
    for shift in (0.0, -1e-6, float("nan"), float("inf"), "1e-6"):
        with pytest.raises(ValueError, match="shift must be a finite number > 0"):
            relative_condition_number(g, g, shift=shift)
    assert relative_condition_number(g, g, method="ground", shift=0.0) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="tol must be a finite number >= 0, got -1"):
        relative_condition_number(g, g, tol=-1.0)
    with pytest.raises(ValueError, match="tol must be a finite number > 0, got 0"):
        pcg_iterations(g, g, tol=0.0)
    with pytest.raises(ValueError, match="max_iter must be >= 1, got 0"):
        pcg_iterations(g, g, max_iter=0)
    with pytest.raises(ValueError, match="seed must be >= 0, got -1"):
        pcg_iterations(g, g, seed=-1)


def test_arpack_that_does_not_converge_is_an_error_not_an_infinite_kappa(monkeypatch):
    # any RuntimeError read as "H does not span G": ARPACK's ArpackNoConvergence (a
    # RuntimeError) gave kappa = inf for a sparsifier that spans G
    from scipy.sparse.linalg import ArpackNoConvergence

    import graphsparse.metrics as metrics

    def no_convergence(*args, **kwargs):
        raise ArpackNoConvergence("ARPACK error -1: No convergence", np.array([]), np.array([]))

    monkeypatch.setattr(metrics, "eigsh", no_convergence)
    g = nx.convert_node_labels_to_integers(nx.grid_2d_graph(6, 6))
    with pytest.raises(ArpackNoConvergence):
        relative_condition_number(g, g, method="ground")


def test_an_argument_that_is_no_graph_is_named():
    """as_structure names its argument x: a fitted sparsifier passed for H was told "x must be a
    [2, E] integer edge_index"."""
    from graphsparse.static import FeGrassSparsifier
    from sparsebox.exceptions import InvalidParameterError

    g = as_structure(nx.convert_node_labels_to_integers(nx.grid_2d_graph(5, 5)))
    est = FeGrassSparsifier(density=1.1).fit(g)
    with pytest.raises(InvalidParameterError, match=r"^sparsifier must be a graph, got a fitted "
                       r"FeGrassSparsifier: pass its transform\(graph\)"):
        relative_condition_number(g, est)
    with pytest.raises(InvalidParameterError, match="^graph must be a graph, not a file name"):
        relative_condition_number("g.mtx", est.transform(g))
    assert relative_condition_number(g, est.transform(g)) >= 1.0
    # each edge in one direction: laplacian()'s error named neither argument
    one_way = np.stack([g.rows, g.cols])
    for call in (relative_condition_number, pcg_iterations):
        with pytest.raises(InvalidParameterError, match=r"^sparsifier: a Laplacian needs an "
                           r"undirected graph, .*symmetrize='max'"):
            call(g, one_way)
        with pytest.raises(InvalidParameterError, match=r"^graph: a Laplacian needs"):
            call(one_way, g)


def test_pcg_iterations_say_when_cg_does_not_converge():
    """max_iter came back for a CG that had not converged, as if it had at its last iteration."""
    g = random_weighted_graph(n=200, seed=3)
    tree = nx.maximum_spanning_tree(g.to_networkx())
    h = g.subgraph(np.isin(g.ids, [d["id"] for _, _, d in tree.edges(data=True)]))
    with pytest.warns(RuntimeWarning, match="did not reach tol 1e-06 in max_iter 2 iterations"):
        assert pcg_iterations(g, h, max_iter=2) == 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert pcg_iterations(g, g) <= 2
