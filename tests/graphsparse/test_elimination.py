import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.linalg import spsolve

from graphsparse.elimination import EliminationFactor
from graphsparse.metrics import grounded_laplacian_nodes
from sparsebox import as_structure


def grounded(graph, seed=0):
    rng = np.random.default_rng(seed)
    g = nx.convert_node_labels_to_integers(graph)
    for u, v in g.edges:
        g[u][v]["weight"] = float(rng.choice([1e-3, 1.0, 7.0, 1e3]))
    s = as_structure(g)
    keep = grounded_laplacian_nodes(s)
    return s.laplacian().tocsr()[keep][:, keep]


GRAPHS = {
    "tree": nx.random_labeled_tree(200, seed=1),
    "tree plus edges": nx.compose(nx.random_labeled_tree(200, seed=2),
                                  nx.gnm_random_graph(200, 25, seed=3)),
    "grid": nx.grid_2d_graph(9, 9),
    "two components": nx.disjoint_union(nx.cycle_graph(12), nx.petersen_graph()),
    "star": nx.star_graph(30),
    "complete": nx.complete_graph(12),
    "lollipop": nx.lollipop_graph(4, 20),  # degree-2 nodes whose neighbours are adjacent
    "wheel": nx.wheel_graph(15),
}


@pytest.mark.parametrize("name", GRAPHS)
@pytest.mark.parametrize("max_degree", [0, 1, 2])
def test_solves_equal_a_sparse_lu(name, max_degree):
    lap = grounded(GRAPHS[name])
    b = np.random.default_rng(4).standard_normal((lap.shape[0], 3))
    factor = EliminationFactor(lap, max_degree=max_degree)
    exact = spsolve(sp.csc_matrix(lap), b)
    assert np.allclose(factor.solve(b), exact, rtol=1e-8, atol=1e-10 * np.abs(exact).max())
    assert np.allclose(factor.solve(b[:, 1]), exact[:, 1], rtol=1e-8,
                       atol=1e-10 * np.abs(exact).max())
    if max_degree == 0:  # only nodes already isolated from the rest are eliminated
        off = sp.csr_matrix(lap - sp.diags(lap.diagonal()))
        off.eliminate_zeros()
        assert factor.core_size == int((np.diff(off.indptr) > 0).sum())


def test_the_core_is_what_low_degree_elimination_leaves():
    # a forest leaves nothing; so does a lollipop (grounding at node 0 leaves a triangle, which
    # degree-2 steps collapse); the 2-core of a tree plus edges, with paths contracted, is left
    assert EliminationFactor(grounded(GRAPHS["tree"])).core_size == 0
    lollipop = nx.lollipop_graph(4, 20)
    assert EliminationFactor(grounded(lollipop)).core_size == 0
    g = nx.convert_node_labels_to_integers(GRAPHS["tree plus edges"])
    core = nx.k_core(g, 2)
    branch_nodes = sum(1 for _, d in core.degree() if d >= 3)
    factor = EliminationFactor(grounded(g))
    assert 0 < factor.core_size <= branch_nodes
    assert factor.nnz < 3 * g.number_of_nodes() + factor.core_size ** 2


@pytest.mark.parametrize("graph", [nx.path_graph(6), nx.cycle_graph(7), nx.complete_graph(6)])
@pytest.mark.parametrize("seed", range(5))
def test_a_singular_matrix_is_refused(graph, seed):
    # not grounded: the last pivot (or the core's LU) cancels to rounding error, not to 0
    rng = np.random.default_rng(seed)
    for u, v in graph.edges:
        graph[u][v]["weight"] = float(rng.choice([0.1, 0.3, 7.0]))
    lap = nx.laplacian_matrix(graph, weight="weight").astype(float)
    with pytest.raises(ValueError, match="not positive definite"):
        EliminationFactor(lap)


def test_bad_arguments():
    lap = grounded(GRAPHS["grid"])
    with pytest.raises(ValueError, match="max_degree"):
        EliminationFactor(lap, max_degree=3)
    with pytest.raises(ValueError, match="not symmetric"):
        EliminationFactor(sp.triu(lap).tocsr())
    skewed = lap.copy()  # the same pattern, one value off
    skewed.data[np.flatnonzero(skewed.indices != np.repeat(np.arange(lap.shape[0]),
                                                            np.diff(lap.indptr)))[0]] *= 1.01
    with pytest.raises(ValueError, match="not symmetric"):
        EliminationFactor(skewed)
    # an entry whose mirror is absent (not merely different): it is compared with 0
    n = lap.shape[0]
    far = next((i, j) for i in range(n) for j in range(n) if i != j and lap[i, j] == 0)
    one_sided = (lap + sp.csr_matrix(([-0.5], ([far[0]], [far[1]])), shape=lap.shape)).tocsr()
    assert one_sided[far[1], far[0]] == 0 and one_sided[far] == -0.5
    with pytest.raises(ValueError, match="not symmetric"):
        EliminationFactor(one_sided)


def test_duplicates_are_summed_and_the_input_stays():
    lap = grounded(GRAPHS["tree plus edges"])
    twice = np.repeat(np.arange(lap.nnz), 2)  # every entry twice, halved: not canonical
    halves = sp.csr_matrix((lap.data[twice] / 2, lap.indices[twice], 2 * lap.indptr),
                           shape=lap.shape)
    assert not halves.has_canonical_format
    data, indices = halves.data.copy(), halves.indices.copy()
    b = np.random.default_rng(6).standard_normal(lap.shape[0])
    x = EliminationFactor(halves).solve(b)
    assert np.allclose(x, spsolve(sp.csc_matrix(lap), b))
    assert np.array_equal(halves.data, data) and np.array_equal(halves.indices, indices)


def test_overwrite_b_solves_in_place_and_only_when_asked():
    lap = grounded(GRAPHS["tree plus edges"])
    b = np.random.default_rng(5).standard_normal((lap.shape[0], 4))
    factor = EliminationFactor(lap)
    kept = b.copy()
    x = factor.solve(b)
    assert np.array_equal(b, kept)  # untouched by default
    y = factor.solve(b, overwrite_b=True)
    assert np.shares_memory(y, b) and np.array_equal(y, x)
    strided = np.asfortranarray(kept)  # not C-contiguous: copied even when allowed
    assert np.array_equal(factor.solve(strided, overwrite_b=True), x)
    assert np.array_equal(strided, kept)


def test_an_indefinite_core_is_refused():
    """A pivot of the core's factorization below 0 passed: the check read its absolute value,
    so a matrix with a negative eigenvalue was factored and solved as if positive definite."""
    lap = nx.laplacian_matrix(nx.complete_graph(6)).astype(float)
    indefinite = sp.csr_matrix(lap - 0.5 * sp.eye(6))  # eigenvalues -0.5 and 5.5
    assert np.linalg.eigvalsh(indefinite.toarray()).min() < 0
    with pytest.raises(ValueError, match="not positive definite"):
        EliminationFactor(indefinite)
