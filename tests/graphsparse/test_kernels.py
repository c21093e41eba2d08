"""The numba kernels of the graph methods against their plain-Python specifications."""

import networkx as nx
import numpy as np
import pytest

from graphsparse import static
from graphsparse.metrics import grounded_laplacian_nodes
from graphsparse.resistance import grounded_rows
from graphsparse.static import _recover, _recover_counting, _spread_best, recover_reference
from graphsparse.trees import (
    _accumulate,
    _lca_many,
    _lift_tables,
    _multi_source_bfs,
    accumulate_reference,
    bfs_reference,
    component_roots,
    lca_reference,
    max_spanning_forest,
    spanning_tree_scores,
)
from sparsebox import SparseStructure, as_structure


def _graphs():
    yield as_structure(nx.convert_node_labels_to_integers(nx.grid_2d_graph(9, 7)))
    yield as_structure(nx.gnm_random_graph(300, 900, seed=1))  # several components
    g = nx.random_labeled_tree(200, seed=2)
    yield as_structure(nx.convert_node_labels_to_integers(g))
    rng = np.random.default_rng(3)
    w = nx.gnm_random_graph(150, 600, seed=3)
    for u, v in w.edges:
        w[u][v]["weight"] = float(rng.uniform(0.1, 5.0))
    yield as_structure(w)


@pytest.mark.parametrize("g", list(_graphs()))
def test_bfs_matches_the_reference(g):
    roots = component_roots(g)
    got = _multi_source_bfs(g.indptr, g.indices, roots, g.num_nodes)
    want = bfs_reference(g.indptr, g.indices, roots, g.num_nodes)
    for a, b in zip(got, want, strict=True):
        assert np.array_equal(a, b)


@pytest.mark.parametrize("g", list(_graphs()))
def test_lca_and_tree_distances_match_the_references(g):
    tree = g.subgraph(max_spanning_forest(g, spanning_tree_scores(g)))
    roots = component_roots(tree)
    depth, parent, parent_entry, order = _multi_source_bfs(tree.indptr, tree.indices, roots,
                                                           tree.num_nodes)
    up = _lift_tables(parent, order, max(1, int(depth.max()).bit_length()))
    rng = np.random.default_rng(0)
    _, labels = tree.connected_components()
    a = rng.integers(0, tree.num_nodes, 500)
    b = np.array([rng.choice(np.flatnonzero(labels == labels[x])) for x in a])  # same tree
    assert np.array_equal(_lca_many(up, depth, a, b), lca_reference(parent, depth, a, b))
    step = np.zeros(tree.num_nodes)
    has = parent_entry >= 0
    step[has] = 1.0 / tree.weight[parent_entry[has]]
    assert np.allclose(_accumulate(order, parent, step), accumulate_reference(parent, depth, step),
                       rtol=1e-12, atol=0)


@pytest.mark.parametrize("g", list(_graphs()))
@pytest.mark.parametrize("hops", [0, 1])
def test_off_tree_recovery_matches_the_reference(g, hops):
    tree_mask = max_spanning_forest(g, spanning_tree_scores(g))
    tree = g.subgraph(tree_mask)
    candidates = np.flatnonzero(~tree_mask)
    order = candidates[np.random.default_rng(5).permutation(candidates.size)]
    for budget in (0, 3, candidates.size // 3, candidates.size):
        got, passes = _recover(order, g.rows, g.cols, tree.indptr, tree.indices, budget,
                               g.num_nodes, hops)
        want, want_passes = recover_reference(order, g.rows, g.cols, tree.indptr, tree.indices,
                                              budget, g.num_nodes, hops)
        assert np.array_equal(got, want) and passes == want_passes
        assert got.sum() == min(budget, candidates.size)


def _fegrass_addedges(order, rows, cols, tree_edges, budget, num_nodes, scan, spread,
                      max_scans=None):
    """feGRASS's recovery as its authors' addedges does it, step by step: scans over the first
    ``scan`` items; an item goes in when both endpoints are marked fewer than ``uplink`` times;
    it marks each endpoint and (``spread``) each distinct neighbour of theirs in the sparsifier
    so far, once; ``uplink`` rises by one after every scan, and the search stops past
    ``num_nodes``."""
    adjacency = [set() for _ in range(num_nodes)]
    for p, q in tree_edges:
        adjacency[p].add(q)
        adjacency[q].add(p)
    mark = [0] * num_nodes
    taken = [False] * len(order)
    uplink, count, ptr = 1, 0, 0
    while count < budget:
        if ptr >= min(scan, len(order)):
            ptr, uplink = 0, uplink + 1
            if uplink > num_nodes or (max_scans is not None and uplink > max_scans):
                break
            continue
        p, q = int(rows[order[ptr]]), int(cols[order[ptr]])
        if not taken[ptr] and mark[p] < uplink and mark[q] < uplink:
            taken[ptr], count = True, count + 1
            reached = {p, q} | ((adjacency[p] | adjacency[q]) if spread else set())
            for x in reached:
                mark[x] += 1
            adjacency[p].add(q)
            adjacency[q].add(p)
        ptr += 1
    return np.array(taken, dtype=bool)


@pytest.mark.parametrize("g", list(_graphs()))
@pytest.mark.parametrize("spread", [False, True])
def test_fegrass_recovery_matches_its_authors_procedure(g, spread):
    """Counted marks in the growing sparsifier, scans over the best half, a bar raised per scan
    (feGRASS's addedges); the kernel skips the scans that take nothing, and goes on past the
    half only where the half runs out (where the authors' code stops short)."""
    tree_mask = max_spanning_forest(g, spanning_tree_scores(g))
    tree = g.subgraph(tree_mask)
    candidates = np.flatnonzero(~tree_mask)
    order = candidates[np.random.default_rng(5).permutation(candidates.size)]
    scan = g.num_items // 2
    reachable = min(scan, candidates.size)
    for budget in sorted({0, min(3, reachable), reachable // 3, reachable}):
        got = _recover_counting(order, g.rows, g.cols, tree.indptr, tree.indices, budget,
                                g.num_nodes, scan, spread)
        want = _fegrass_addedges(order, g.rows, g.cols, zip(tree.rows, tree.cols, strict=True), budget,
                                 g.num_nodes, scan, spread)
        assert np.array_equal(got, want) and got.sum() == budget
    more = _recover_counting(order, g.rows, g.cols, tree.indptr, tree.indices, candidates.size,
                             g.num_nodes, scan, spread)
    assert more.all()  # past the half where it runs out: the budget is met
    huge = _recover_counting(order, g.rows, g.cols, tree.indptr, tree.indices, 10**12,
                             g.num_nodes, scan, spread)  # its arrays are sized by the candidates
    assert huge.all()
    # the first scan takes what one pass of plain marking (the kernel before it, and
    # refinement's _recover) takes: FeGrassSparsifier's default recovers no more than that
    first = _fegrass_addedges(order, g.rows, g.cols, zip(tree.rows, tree.cols, strict=True),
                              len(order), g.num_nodes, scan, spread, max_scans=1)
    budget = int(first.sum())
    old, passes = _recover(order, g.rows, g.cols, tree.indptr, tree.indices, budget,
                           g.num_nodes, int(spread))
    assert passes == min(budget, 1) and np.array_equal(old, first)
    assert np.array_equal(_recover_counting(order, g.rows, g.cols, tree.indptr, tree.indices,
                                            budget, g.num_nodes, scan, spread), first)


@pytest.mark.parametrize("g", list(_graphs()))
@pytest.mark.parametrize("first_prefix", [1, 16])
def test_spreading_the_best_sorts_a_prefix_but_takes_what_the_whole_order_gives(
        g, first_prefix, monkeypatch):
    # refinement's pick: _recover over every finite score in descending order, ties by position;
    # _spread_best sorts only a prefix. Scores with many ties (rounded) and excluded items (-inf,
    # nan, +inf), and budgets from one item to more than one pass can take. A first prefix of
    # one item per item to take makes the prefix grow, and passes over it end short.
    monkeypatch.setattr(static, "_FIRST_PREFIX", first_prefix)
    tree = g.subgraph(max_spanning_forest(g, spanning_tree_scores(g)))
    rng = np.random.default_rng(7)
    score = np.round(rng.random(g.num_items), 1)
    score[rng.random(g.num_items) < 0.2] = -np.inf
    score[:3] = [np.nan, np.inf, -np.inf]
    full = np.argsort(-score, kind="stable")
    full = full[np.isfinite(score[full])]
    for take in (0, 1, 5, g.num_items // 20, g.num_items // 4, g.num_items):
        want, _ = _recover(full, g.rows, g.cols, tree.indptr, tree.indices, take, g.num_nodes, 1)
        assert np.array_equal(np.sort(_spread_best(g, tree, score, take)),
                              np.sort(full[want]))


_ISOLATED = SparseStructure.from_edges([1, 3], [3, 5], num_nodes=7, symmetrize="sum")


@pytest.mark.parametrize("g", [*_graphs(), _ISOLATED])  # the last: 4 isolated nodes
def test_grounding_drops_the_first_node_of_each_component(g):
    _, labels = g.connected_components()
    first = np.unique(labels, return_index=True)[1]
    assert np.array_equal(grounded_laplacian_nodes(g), np.setdiff1d(np.arange(g.num_nodes), first))


@pytest.mark.parametrize("g", list(_graphs()))
def test_the_growing_sketch_is_h_grounded_and_sketches_its_resistances(g):
    # refinement's L_H and JL right-hand sides, grown edge by edge, against H built at once
    from graphsparse.resistance import laplacian_solver, pair_resistances

    forest = max_spanning_forest(g, spanning_tree_scores(g))
    rng = np.random.default_rng(4)
    extra = np.flatnonzero(~forest & (g.rows != g.cols))
    extra = rng.choice(extra, size=min(40, extra.size), replace=False)
    keep, index = grounded_rows(g)
    sketch = static._GrowingSketch(g, index, keep.size, num_vectors=4000)
    sketch.add(np.flatnonzero(forest))
    sketch.add(extra[:20])
    sketch.add(extra[20:])
    mask = forest.copy()
    mask[extra] = True
    h = g.subgraph(mask)
    assert np.allclose(sketch.laplacian.toarray(),
                       h.laplacian().toarray()[np.ix_(keep, keep)])
    z = np.zeros((g.num_nodes, 4000))
    z[keep] = laplacian_solver(sketch.laplacian, "direct")(sketch.rhs(rng))
    estimate = pair_resistances(z, h.rows, h.cols)
    exact_pinv = np.linalg.pinv(h.laplacian().toarray())
    exact = (exact_pinv[h.rows, h.rows] + exact_pinv[h.cols, h.cols]
             - 2 * exact_pinv[h.rows, h.cols])
    assert np.median(np.abs(estimate / exact - 1)) < 0.05


def test_the_fused_score_is_stretch_times_heat():
    from graphsparse.resistance import pair_resistances

    g = list(_graphs())[1]  # several components: several grounded nodes
    rng = np.random.default_rng(5)
    keep, index = grounded_rows(g)
    z, powered = rng.standard_normal((2, keep.size, 3))
    full_z, full_p = np.zeros((2, g.num_nodes, 3))
    full_z[keep], full_p[keep] = z, powered
    skip = rng.random(g.num_items) < 0.3
    score = static._stretch_times_heat(z, powered, index, g.rows, g.cols, g.weights, skip,
                                       np.empty(g.num_items))
    expected = (g.weights ** 2 * pair_resistances(full_z, g.rows, g.cols)
                * pair_resistances(full_p, g.rows, g.cols))
    assert np.allclose(score[~skip], expected[~skip])
    assert np.all(score[skip] == -np.inf)
    grounded_ends = (index[g.rows] < 0) | (index[g.cols] < 0)
    assert (grounded_ends & ~skip).sum() >= 2  # the -1 rows were exercised
