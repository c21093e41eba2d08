import re
import warnings
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from sparsebox import SparseStructure, as_structure

TRIANGLE_PLUS_TAIL = np.array([[0, 1, 1, 2, 2, 0, 2, 3], [1, 0, 2, 1, 0, 2, 3, 2]])


# ---------------------------------------------------------------- hand-made cases
def test_undirected_edge_is_one_item_with_two_entries():
    s = as_structure(TRIANGLE_PLUS_TAIL)
    assert s.is_undirected and s.num_edges == 4 and s.nnz == 8
    assert s.rows.tolist() == [0, 0, 1, 2] and s.cols.tolist() == [1, 2, 2, 3]
    # each id appears exactly twice in the CSR view, once per direction
    assert np.bincount(s.entry_ids).tolist() == [2, 2, 2, 2]
    assert s.indptr.tolist() == [0, 2, 4, 7, 8]
    assert s.degree().tolist() == [2, 2, 3, 1]


def test_self_loop_is_one_item_one_entry_and_stays_out_of_the_laplacian():
    s = as_structure(np.array([[0, 0, 1], [0, 1, 0]]))
    assert s.num_edges == 2 and s.nnz == 3
    assert s.laplacian().toarray().tolist() == [[1, -1], [-1, 1]]


def test_directed_input_is_detected():
    s = as_structure(np.array([[0, 1], [1, 2]]))
    assert not s.is_undirected and s.num_edges == 2 and s.nnz == 2


def test_arrays_are_read_only_and_input_is_not_modified():
    ei = TRIANGLE_PLUS_TAIL.copy()
    w = np.arange(1.0, 9.0)
    w[1], w[3], w[5], w[7] = w[0], w[2], w[4], w[6]
    before = (ei.copy(), w.copy())
    s = as_structure(ei, edge_weight=w)
    assert np.array_equal(ei, before[0]) and np.array_equal(w, before[1])
    with pytest.raises(ValueError):
        s.indices[0] = 5
    with pytest.raises(ValueError):
        s.weights[0] = 5.0


def test_subgraph_keeps_ids_and_weights():
    s = as_structure(sp.csr_array(np.array([[0, 2.0, 3.0], [2.0, 0, 4.0], [3.0, 4.0, 0]])))
    sub = s.subgraph(np.array([True, False, True]))
    assert sub.ids.tolist() == [0, 2]
    assert sub.weights.tolist() == [2.0, 4.0]
    assert sub.num_nodes == 3
    # ids survive a second masking
    assert sub.subgraph(np.array([False, True])).ids.tolist() == [2]


def test_laplacian_of_weighted_path():
    s = as_structure(sp.csr_array(np.array([[0, 2.0, 0], [2.0, 0, 5.0], [0, 5.0, 0]])))
    assert s.laplacian().toarray().tolist() == [[2, -2, 0], [-2, 7, -5], [0, -5, 5]]


def test_symmetrize_sum_and_max():
    a = sp.csr_array(np.array([[0, 1.0], [3.0, 0]]))
    assert as_structure(a, symmetrize="sum").weights.tolist() == [4.0]
    assert as_structure(a, symmetrize="max").weights.tolist() == [3.0]
    # no entries left to sum (a general Matrix Market file of only its diagonal): no edges,
    # where the sum's empty integer array failed to double the diagonal
    empty = SparseStructure.from_edges(np.zeros(0, int), np.zeros(0, int), np.zeros(0),
                                       num_nodes=3, symmetrize="sum")
    assert empty.num_nodes == 3 and empty.num_edges == 0 and empty.weights.dtype == np.float64


def test_duplicates_sum_or_error():
    ei = np.array([[0, 0], [1, 1]])
    s = as_structure(ei, edge_weight=np.array([1.0, 2.0]), undirected=False)
    assert s.num_edges == 1 and s.weights.tolist() == [3.0]
    with pytest.raises(ValueError, match="duplicate edge \\(0, 1\\)"):
        as_structure(ei, undirected=False, duplicates="error")


def test_self_loop_options():
    ei = np.array([[0, 1, 1], [1, 0, 1]])
    assert as_structure(ei, self_loops="drop").num_edges == 1
    with pytest.raises(ValueError, match="self-loop on node 1"):
        as_structure(ei, self_loops="error")


def test_torch_sparse_and_dense_inputs_agree():
    dense = torch.tensor([[0.0, 1.5, 0.0], [1.5, 0.0, 2.0], [0.0, 2.0, 0.0]])
    a = as_structure(dense)
    b = as_structure(dense.to_sparse())
    c = as_structure(dense.to_sparse_csr())
    d = as_structure(dense.numpy())
    assert a.equals(b) and a.equals(c) and a.equals(d)


def test_torch_edge_index_with_weights():
    ei = torch.tensor([[0, 1], [1, 0]])
    s = as_structure(ei, edge_weight=torch.tensor([2.0, 2.0]))
    assert s.weights.tolist() == [2.0]


def test_networkx_relabel_needed():
    for g in (nx.Graph([("a", "b")]), nx.Graph([(1, 2), (2, 3)]), nx.Graph([(True, 0)])):
        with pytest.raises(ValueError, match="convert_node_labels_to_integers"):
            as_structure(g)


def test_networkx_nodes_0_to_n_minus_1_in_any_order_keep_their_labels():
    """Relabelling (as the error used to advise) would renumber 1 -> 0, 2 -> 1, 0 -> 2."""
    s = as_structure(nx.Graph([(1, 2), (0, 1)]))
    edges = sorted(zip(s.rows.tolist(), s.cols.tolist(), strict=True))
    assert s.num_nodes == 3 and edges == [(0, 1), (1, 2)]


def test_positions_of_ids():
    s = as_structure(TRIANGLE_PLUS_TAIL).subgraph(np.array([False, True, True, True]))
    assert s.positions([3, 1]).tolist() == [2, 0]
    with pytest.raises(KeyError, match="0"):
        s.positions([0])


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(x=np.ones((2, 3))), "square adjacency"),
        (dict(x=sp.csr_array(np.ones((2, 3)))), "must be square"),
        (dict(x=np.array([[0, 1], [1, 0]]), edge_weight=np.array([-1.0, -1.0])),
         "weight must be positive"),
        (dict(x=np.array([[0, 1], [1, 0]]), edge_weight=np.array([np.nan, 1.0])),
         "weight must be finite"),
        (dict(x=np.array([[0, 1], [1, 0]]), edge_weight=np.array([np.inf, 1.0])),
         "weight must be finite"),
        (dict(x=np.array([[0, 5], [1, 0]]), num_nodes=3), "indices out of range"),
        (dict(x=np.array([[0, -1], [1, 0]])), "row must be non-negative"),
        (dict(x=np.array([[0, 1], [1, 2]]), undirected=True), "not symmetric"),
        (dict(x=np.array([[0, 1], [1, 0]]), symmetrize="both"), "symmetrize must be one of"),
        (dict(x=np.array([[0, 1], [1, 0]]), duplicates="max"), "duplicates must be one of"),
        (dict(x=np.array([[0, 1], [1, 0]]), edge_weight=np.ones(3)), "weight must have length 2"),
    ],
)
def test_bad_input_names_the_argument(kwargs, message):
    with pytest.raises((ValueError, TypeError), match=message):
        as_structure(**kwargs)


def test_bad_mask():
    s = as_structure(TRIANGLE_PLUS_TAIL)
    with pytest.raises(ValueError, match=r"mask must have shape \(4,\)"):
        s.subgraph(np.ones(8, dtype=bool))
    with pytest.raises(TypeError, match="boolean"):
        s.subgraph(np.ones(4))


def test_laplacian_needs_undirected():
    with pytest.raises(ValueError, match="undirected"):
        as_structure(np.array([[0], [1]])).laplacian()


# ---------------------------------------------------------------- property-based round trips
@st.composite
def weighted_graphs(draw, max_nodes=12):
    n = draw(st.integers(1, max_nodes))
    pairs = draw(st.sets(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=40))
    pairs = sorted({(min(u, v), max(u, v)) for u, v in pairs})
    weights = draw(st.lists(st.floats(0.01, 100.0), min_size=len(pairs), max_size=len(pairs)))
    ids = draw(st.permutations(range(len(pairs)))) if pairs else []
    return n, pairs, weights, list(ids)


def _build(n, pairs, weights, ids):
    r = np.array([p[0] for p in pairs], dtype=np.int64)
    c = np.array([p[1] for p in pairs], dtype=np.int64)
    w = np.array(weights, dtype=np.float64)
    i = np.array(ids, dtype=np.int64)
    off = r != c
    return SparseStructure.from_edges(
        np.concatenate([r, c[off]]), np.concatenate([c, r[off]]), np.concatenate([w, w[off]]),
        num_nodes=n, undirected=True, ids=np.concatenate([i, i[off]]),
    )


@settings(max_examples=60, deadline=None)
@given(weighted_graphs())
def test_round_trips_keep_edges_weights_and_ids(graph):
    s = _build(*graph)
    assert s.num_edges == len(graph[1])
    # networkx keeps ids as an edge attribute
    assert as_structure(s.to_networkx()).equals(s)
    # edge_index + weights + entry ids
    ei, w = s.to_edge_index()
    assert as_structure(ei, edge_weight=w, num_nodes=s.num_nodes, ids=s.entry_ids).equals(s)
    # torch edge_index
    ei_t, w_t = s.to_edge_index(as_torch=True, weight_dtype=torch.float64)
    assert as_structure(ei_t, edge_weight=w_t, num_nodes=s.num_nodes, ids=s.entry_ids).equals(s)
    # scipy keeps edges and weights (it has no slot for ids)
    back = as_structure(s.to_scipy(), undirected=True)
    assert np.array_equal(back.rows, s.rows) and np.array_equal(back.weights, s.weights)
    # the Laplacian has zero row sums and the weighted degree off the loops on its diagonal
    lap = s.laplacian()
    assert np.allclose(lap.sum(axis=1), 0.0)


@settings(max_examples=60, deadline=None)
@given(weighted_graphs(), st.data())
def test_subgraph_is_a_subset_with_same_ids_and_weights(graph, data):
    s = _build(*graph)
    mask = np.array(data.draw(st.lists(st.booleans(), min_size=s.num_edges,
                                       max_size=s.num_edges)), dtype=bool)
    sub = s.subgraph(mask)
    assert sub.num_edges == int(mask.sum())
    kept = dict(zip(s.ids.tolist(), zip(s.rows.tolist(), s.cols.tolist(), s.weights.tolist(),
                                        strict=True), strict=True))
    for u, v, w, i in zip(sub.rows, sub.cols, sub.weights, sub.ids, strict=True):
        assert kept[int(i)] == (u, v, w)
    # the CSR view agrees with the item view
    assert sub.nnz == 2 * sub.num_edges - int(np.count_nonzero(sub.rows == sub.cols))


# ---------------------------------------------------------------- edits
def _same_views(a: SparseStructure, b: SparseStructure) -> bool:
    return (a.equals(b) and np.array_equal(a.indptr, b.indptr)
            and np.array_equal(a.indices, b.indices) and np.array_equal(a.entry_ids, b.entry_ids)
            and np.array_equal(a.weight, b.weight))


@settings(max_examples=80, deadline=None)
@given(weighted_graphs(), st.data())
def test_edits_match_a_rebuild_from_scratch(graph, data):
    s = _build(*graph)
    n = s.num_nodes
    # remove a random subset of ids
    drop = data.draw(st.lists(st.sampled_from(s.ids.tolist()), unique=True)) if s.num_edges else []
    removed = s.remove_items(drop)
    assert _same_views(removed, s.subgraph(~np.isin(s.ids, drop)))
    # add new edges with fresh ids
    pairs = data.draw(st.sets(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=8))
    pairs = sorted({(min(u, v), max(u, v)) for u, v in pairs})
    pairs = [p for p in pairs if removed.find_items([p[0]], [p[1]])[0] < 0]
    if not pairs:
        return
    r = np.array([p[1] for p in pairs])  # reversed orientation on purpose
    c = np.array([p[0] for p in pairs])
    w = np.linspace(0.5, 2.0, len(pairs))
    new_ids = np.arange(1000, 1000 + len(pairs))
    added = removed.add_items(r, c, w, new_ids)
    rebuilt = _build(n, [*zip(removed.rows.tolist(), removed.cols.tolist(), strict=True), *pairs],
                     [*removed.weights.tolist(), *w.tolist()],
                     [*removed.ids.tolist(), *new_ids.tolist()])
    assert _same_views(added, rebuilt)
    assert added.find_items(r, c).tolist() == added.positions(new_ids).tolist()
    # reweighting touches only the named items
    re = added.reweight_items(new_ids[:1], [7.0])
    assert re.weights[re.positions(new_ids[:1])][0] == 7.0
    assert np.count_nonzero(re.weights != added.weights) <= 1


def test_edit_errors():
    s = as_structure(TRIANGLE_PLUS_TAIL)
    with pytest.raises(ValueError, match="exists already"):
        s.add_items([1], [0], [1.0], [10])
    with pytest.raises(ValueError, match="ids that are not new"):
        s.add_items([0], [3], [1.0], [2])
    # an id below the largest one is fine when no item has it (looked up, not assumed)
    gap = s.remove_items([1])
    assert gap.add_items([0], [3], [1.0], [1]).positions([1]).size == 1
    with pytest.raises(ValueError, match="weights must be positive"):
        s.add_items([0], [3], [-1.0], [10])
    with pytest.raises(KeyError):
        s.remove_items([42])


def test_from_csr_matches_from_edges_and_checks_rows():
    indptr, indices, w = [0, 2, 3, 3], [0, 2, 1], [1.0, 2.0, 3.0]
    s = SparseStructure.from_csr(indptr, indices, w)
    ref = SparseStructure.from_edges([0, 0, 1], [0, 2, 1], w, num_nodes=3, undirected=False)
    assert s.equals(ref) and np.array_equal(s.indptr, ref.indptr)
    with pytest.raises(ValueError, match="strictly increasing"):
        SparseStructure.from_csr([0, 2, 2], [1, 1])
    with pytest.raises(ValueError, match="out of range"):
        SparseStructure.from_csr([0, 1], [5])
    # num_nodes as from_edges takes it: int() read 2.9 as 2 and True as 1
    for bad in (2.9, True):
        with pytest.raises(TypeError, match=f"^num_nodes must be an integer, got {bad}$"):
            SparseStructure.from_csr([0, 1, 1], [0], num_nodes=bad)
    assert SparseStructure.from_csr([0, 1, 1], [0], num_nodes=torch.tensor(2)).num_nodes == 2


def test_a_pyg_data_object_is_its_edge_index_nodes_and_weights():
    from torch_geometric.data import Data

    edge_index = torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]])
    plain = as_structure(Data(edge_index=edge_index, num_nodes=5))
    assert (plain.num_nodes, plain.num_edges, plain.is_undirected) == (5, 2, True)
    assert not plain.is_weighted
    weighted = as_structure(Data(edge_index=edge_index, edge_weight=torch.tensor([2., 2., 3., 3.]),
                                 num_nodes=3))
    assert weighted.weights.tolist() == [2.0, 3.0]


def test_as_structure_applies_self_loops_to_a_structure_too():
    s = SparseStructure.from_edges([0, 1, 1, 2], [1, 0, 1, 2])
    assert as_structure(s) is s
    dropped = as_structure(s, self_loops="drop")
    assert dropped.num_items == 1 and (dropped.rows != dropped.cols).all()
    with pytest.raises(ValueError, match="item 1 is a self-loop on node 1"):
        as_structure(s, self_loops="error")


def test_find_items_finds_no_edge_at_a_node_outside_the_graph():
    g = as_structure(np.array([[0, 1, 1, 2, 2, 3, 3, 0], [1, 0, 2, 1, 3, 2, 0, 3]]))  # a 4-cycle
    assert g.find_items([0, -1, 1, 4, 2], [6, 5, 2, 0, 1]).tolist() == [-1, -1, 2, -1, 2]
    d = as_structure(np.array([[0, 1], [1, 2]]))  # directed: key u * n + v collides too
    assert d.find_items([0, 1, 0], [4, 2, 1]).tolist() == [-1, 1, 0]


def test_reweight_items_needs_one_weight_per_id():
    g = as_structure(np.array([[0, 1, 1, 2], [1, 0, 2, 1]]))
    with pytest.raises(ValueError, match="weights must have length 2, got 1"):
        g.reweight_items([0, 1], [2.0])
    assert g.reweight_items([0, 1], [2.0, 3.0]).weights.tolist() == [2.0, 3.0]


def test_reweight_items_refuses_an_id_given_twice_rather_than_keep_one_weight():
    g = as_structure(np.array([[0, 1, 1, 2], [1, 0, 2, 1]]))
    with pytest.raises(ValueError, match="ids must be distinct: id 1 is given twice"):
        g.reweight_items([1, 0, 1], [2.0, 3.0, 4.0])  # the last weight silently won


def test_find_items_names_rows_and_cols_when_their_lengths_differ():
    g = as_structure(np.array([[0, 1, 1, 2], [1, 0, 2, 1]]))
    with pytest.raises(ValueError, match=r"rows and cols must have the same shape, got \(3,\) and "
                                         r"\(2,\)"):
        g.find_items([0, 1, 2], [1, 2])
    assert g.find_items([0, 1], 2).tolist() == [-1, 1]  # a scalar still pairs with each


def test_a_dense_adjacency_of_strings_or_non_numbers_is_refused_naming_its_dtype():
    text = np.array([["0", "1", "0"], ["1", "0", "1"], ["0", "1", "0"]])  # "0" is truthy
    with pytest.raises(ValueError, match="adjacency matrix must hold numbers, got dtype <U1"):
        as_structure(text)
    with pytest.raises(ValueError, match="must hold numbers, got dtype object with entries"):
        as_structure(np.array([[0, "a"], ["a", 0]], dtype=object))  # was numpy's cast error
    for odd in ("1", None, 1j):  # a string of digits is no number, as in a <U1 matrix
        with pytest.raises(ValueError, match="must hold numbers, got dtype object with entries"):
            as_structure(np.array([[0, odd], [odd, 0]], dtype=object))
    numbers = as_structure(np.array([[0, 1, 0], [1, 0, 2], [0, 2, 0]], dtype=object))
    assert numbers.weights.tolist() == [1.0, 2.0] and numbers.is_undirected


def test_as_structure_refuses_options_that_would_change_a_structure():
    d = as_structure(np.array([[0, 1], [1, 2]]))  # directed, 3 nodes
    for options in (dict(undirected=True), dict(symmetrize="sum"), dict(edge_weight=[5.0, 6.0]),
                    dict(num_nodes=10), dict(ids=[7, 8])):
        with pytest.raises(ValueError, match=f"{next(iter(options))} would change it"):
            as_structure(d, **options)
    assert as_structure(d, undirected=False, num_nodes=3) is d  # what it is already


def test_a_two_row_integer_array_is_an_edge_index_even_when_square():
    assert as_structure(np.array([[0, 3], [3, 0]])).num_nodes == 4  # edges 0-3 and 3-0
    assert as_structure(np.array([[0, 3], [3, 0]], dtype=float)).num_nodes == 2  # an adjacency


def test_from_csr_leaves_the_caller_s_arrays_writable():
    a = sp.random(30, 30, density=0.2, format="csr", random_state=0)
    a.sort_indices()
    ip, ix, w = a.indptr.astype(np.int64), a.indices.astype(np.int64), a.data + 1.0
    for check in (True, False):
        s = SparseStructure.from_csr(ip, ix, w, check=check)
        ip[0], ix[0], w[0] = ip[0], ix[0], w[0]  # still writable
        with pytest.raises(ValueError):
            s.indptr[0] = 1
    s = SparseStructure.from_csr(ip, ix, w)  # checked: copies, so the caller's edits stay out
    ip[1], w[0] = 0, 99.0
    assert s.indptr[1] != 0 and s.weights[0] != 99.0


def test_a_pyg_batch_and_a_networkx_subclass_are_recognised():
    from torch_geometric.data import Batch, Data

    from sparsebox.structure import is_pyg_data

    ring = torch.tensor([[0, 1, 1, 2, 2, 0], [1, 0, 2, 1, 0, 2]])
    batch = Batch.from_data_list([Data(edge_index=ring, num_nodes=3)] * 2)  # a class made at run time
    assert is_pyg_data(batch)
    s = as_structure(batch)
    assert (s.num_nodes, s.num_edges, s.is_undirected) == (6, 6, True)

    class MyGraph(nx.Graph):
        pass

    assert as_structure(MyGraph([(0, 1), (1, 2)])).equals(as_structure(nx.path_graph(3)))


def test_a_matrix_or_networkx_graph_refuses_edge_index_options_rather_than_ignoring_them():
    dense = np.array([[0.0, 2.0], [2.0, 0.0]])
    for graph, kind in ((dense, "matrix"), (sp.csr_array(dense), "matrix"),
                        (torch.tensor(dense).to_sparse(), "matrix"), (nx.path_graph(2), "networkx graph")):
        with pytest.raises(ValueError, match=f"edge_weight is only for an edge_index; a {kind}"):
            as_structure(graph, edge_weight=[5.0])
        with pytest.raises(ValueError, match=f"num_nodes is only for an edge_index; this {kind} has 2"):
            as_structure(graph, num_nodes=5)
        assert as_structure(graph, num_nodes=2).num_nodes == 2  # what it is already


def test_bfloat16_tensors_are_read():
    ei = torch.tensor([[0, 1], [1, 0]])
    w = torch.tensor([1.5, 1.5], dtype=torch.bfloat16)
    assert as_structure(ei, edge_weight=w).weights.tolist() == [1.5]
    adjacency = torch.tensor([[0.0, 1.5], [1.5, 0.0]], dtype=torch.bfloat16)
    assert as_structure(adjacency).weights.tolist() == [1.5]
    assert as_structure(adjacency.to_sparse()).weights.tolist() == [1.5]


def test_a_networkx_digraph_stays_directed_even_when_its_edges_are_symmetric():
    # "undirected=None detects it (networkx: the graph's kind)": a DiGraph whose edges come in
    # pairs read as one undirected edge (num_edges 1 against networkx's 2), and an empty one
    # as undirected, while undirected=True on a DiGraph is refused
    d = nx.DiGraph([(0, 1, {"weight": 2.0}), (1, 0, {"weight": 2.0})])
    s = as_structure(d)
    assert not s.is_undirected and s.num_edges == d.number_of_edges() == 2
    assert not as_structure(nx.DiGraph()).is_undirected
    assert as_structure(d, symmetrize="max").is_undirected  # asked for


def test_a_networkx_graph_s_own_id_attributes_are_not_taken_for_item_ids():
    # nx.read_graphml keeps each edge's GraphML id ("e0", ...) as an "id" attribute: that crashed
    # with "invalid literal for int() with base 10: 'e0'"
    g = nx.Graph()
    g.add_edge(0, 1, id="e0", weight=2.0)
    g.add_edge(1, 2, id="e1", weight=3.0)
    s = as_structure(g)
    assert s.ids.tolist() == [0, 1] and s.weights.tolist() == [2.0, 3.0]
    h = as_structure(nx.path_graph(3)).subgraph(np.array([False, True]))
    assert as_structure(h.to_networkx()).ids.tolist() == [1]  # sparsebox's own ids are kept


def test_a_pyg_edge_index_keeps_its_isolated_trailing_nodes():
    from torch_geometric import EdgeIndex

    ei = EdgeIndex(torch.tensor([[0, 1], [1, 0]]), sparse_size=(5, 5))
    assert as_structure(ei).num_nodes == 5  # was 2: the sparse size was dropped
    assert as_structure(EdgeIndex(torch.tensor([[0, 1], [1, 0]]))).num_nodes == 2
    assert as_structure(ei, num_nodes=7).num_nodes == 7
    bipartite = EdgeIndex(torch.tensor([[0, 1], [6, 0]]), sparse_size=(5, 7))
    with pytest.raises(ValueError, match=r"sparse size \(5, 7\) joins two node sets"):
        as_structure(bipartite)  # not "node 6 appears but num_nodes is 5", a count never given
    assert as_structure(bipartite, num_nodes=7).num_nodes == 7


@pytest.mark.parametrize(("change", "message"), [
    ({"edge_index": torch.tensor([[0, 1], [1, 0], [1, 2]])},
     r"data.edge_index must have shape \[2, E\] \(a row of sources, a row of targets\), got \[3, 2\]; "
     r"a list of \(source, target\) pairs: data.edge_index.t\(\)"),
    ({"edge_index": torch.tensor([0, 1, 2])}, r"data.edge_index must have shape \[2, E\].*got \[3\]$"),
    ({"edge_weight": torch.ones(4, 1)}, r"data.edge_weight must be one-dimensional, got shape \(4, 1\)"),
    ({"edge_weight": torch.tensor([0.0, 0.0, 1.0, 1.0])},
     r"data.edge_weight must be positive, got 0.0 at position 0"),
    ({"edge_weight": torch.ones(3)}, r"data.edge_weight must have length 4, got 3"),
])
def test_a_pyg_data_s_bad_edges_are_named_as_its_attributes(change, message):
    """A transposed edge_index was refused as "x must be a [2, E] integer edge_index" (x: the name
    of the data's node features), a bad edge_weight as "weight must ...", a name it does not
    have."""
    from torch_geometric.data import Data

    data = Data(edge_index=torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]]), num_nodes=3)
    for key, value in change.items():
        data[key] = value
    with pytest.raises(ValueError, match=message):
        as_structure(data)
    with pytest.raises(ValueError, match=r"edge_weight must have length 2, got 3"):
        as_structure(np.array([[0, 1], [1, 0]]), edge_weight=np.ones(3))


@pytest.mark.parametrize("tensor", [
    torch.sparse_coo_tensor(torch.tensor([[0, 1], [1, 0]]), torch.ones(2, 3), (2, 2, 3)),
    torch.sparse_coo_tensor(torch.tensor([[0, 0], [0, 1], [1, 0]]), torch.ones(2), (1, 2, 2)),
    # one sparse and one dense dimension, 3 x 3 in all: a bare IndexError
    torch.sparse_coo_tensor(torch.tensor([[0, 2]]), torch.ones(2, 3), (3, 3)),
])
def test_a_sparse_tensor_of_more_than_two_dimensions_is_refused_by_its_shape(tensor):
    """A sparse tensor of edge features (values of several channels) or a batch of adjacencies
    failed in scipy: "mismatching number of index arrays for shape; got 2, expected 3"."""
    shape = re.escape(str(tuple(tensor.shape)))
    with pytest.raises(ValueError, match=f"adjacency matrix must be square, got a sparse tensor of "
                                         f"shape {shape} .* give one N x N matrix"):
        as_structure(tensor)


def test_a_sparse_edge_weight_is_named_as_the_weights():
    """A sparse data.edge_weight was refused as an adjacency matrix that must be square."""
    from torch_geometric.data import Data

    weight = torch.sparse_coo_tensor(torch.tensor([[0, 1]]), torch.ones(2), (2,))
    data = Data(edge_index=torch.tensor([[0, 1], [1, 0]]), edge_weight=weight, num_nodes=2)
    with pytest.raises(ValueError, match=r"data.edge_weight must be a dense tensor, got a sparse one"):
        as_structure(data)
    with pytest.raises(ValueError, match=r"^edge_weight must be a dense tensor"):
        as_structure(torch.tensor([[0, 1], [1, 0]]), edge_weight=weight)


def test_a_negative_num_nodes_is_named():
    # was "indices out of range: node -1 appears but num_nodes is -1" for a graph without edges
    with pytest.raises(ValueError, match="num_nodes must be >= 0, got -1"):
        as_structure(np.zeros((2, 0), dtype=np.int64), num_nodes=-1)


def test_undirected_must_be_a_bool_or_none():
    # "no" is truthy: it read as undirected=True
    pair = np.array([[0, 1], [1, 0]])
    for bad in ("no", "false", 1):
        for build in (lambda u: as_structure(pair, undirected=u),
                      lambda u: as_structure(nx.path_graph(2), undirected=u),
                      lambda u: SparseStructure.from_edges([0, 1], [1, 0], undirected=u)):
            with pytest.raises(ValueError, match=f"undirected must be True, False or None, got {bad!r}"):
                build(bad)
    assert as_structure(pair, undirected=np.bool_(False)).num_edges == 2


def test_neighbors_of_a_node_outside_the_graph_is_refused():
    s = as_structure(TRIANGLE_PLUS_TAIL)
    assert s.neighbors(2).tolist() == [0, 1, 3] and s.neighbors(np.int64(3)).tolist() == [2]
    # -1 gave an empty array, num_nodes numpy's IndexError
    for bad in (-1, 4, 1.0):
        with pytest.raises(ValueError, match=rf"node must be an integer in 0..3, got {bad!r}"):
            s.neighbors(bad)


def test_a_complex_adjacency_or_weight_is_refused_not_cast():
    # 1j read as weight 0 ("weight must be positive, got 0.0"), 1 + 1j silently as 1
    for adj in (np.array([[0, 1j], [1j, 0]]), np.array([[0, 1 + 1j], [1 + 1j, 0]]),
                sp.csr_array(np.array([[0, 1 + 1j], [1 + 1j, 0]])),
                torch.tensor([[0, 1 + 1j], [1 + 1j, 0]])):
        with pytest.raises(ValueError, match="adjacency matrix must hold real weights, got dtype complex"):
            as_structure(adj)
    with pytest.raises(ValueError, match="weight must be real numbers, got dtype complex128"):
        as_structure(np.array([[0, 1], [1, 0]]), edge_weight=np.array([1 + 1j, 1 + 1j]))
    s = as_structure(np.array([[0, 1], [1, 0]]))
    with pytest.raises(ValueError, match="weights must be real numbers"):
        s.reweight_items([0], np.array([2 + 0j]))


def test_a_matrix_s_repeated_entry_is_named_as_one_under_duplicates_error():
    # 1 and -1 at (0, 1) were refused as "weight must be positive, got -1.0"
    coo = sp.coo_array(([1.0, -1.0, 2.0, 2.0], ([0, 0, 1, 2], [1, 1, 2, 1])), shape=(3, 3))
    with pytest.raises(ValueError, match=r"duplicate edge \(0, 1\)"):
        as_structure(coo, duplicates="error")
    assert as_structure(coo).num_edges == 1  # summed, (0, 1) is no edge
    loops = sp.coo_array(([1.0, 1.0, 2.0], ([0, 0, 0], [0, 0, 1])), shape=(2, 2))
    assert as_structure(loops, duplicates="error", self_loops="drop").num_edges == 1
    # a torch sparse tensor's repeated entries too (coalescing summed them unseen)
    t = torch.sparse_coo_tensor([[0, 0], [1, 1]], [1.0, 1.0], (2, 2))
    with pytest.raises(ValueError, match=r"duplicate edge \(0, 1\)"):
        as_structure(t, duplicates="error", undirected=False)
    assert as_structure(t, undirected=False).weights.tolist() == [2.0]


def test_symmetrize_sum_of_a_networkx_graph_doubles_its_adjacency_as_scipy_does():
    # A + A^T of an undirected graph's (symmetric) adjacency: every edge doubled, self-loops too
    g = nx.Graph()
    g.add_weighted_edges_from([(0, 1, 3.0), (1, 1, 5.0), (1, 2, 7.0)])
    for how in ("sum", "max"):
        from_nx = as_structure(g, symmetrize=how)
        from_scipy = as_structure(nx.to_scipy_sparse_array(g), symmetrize=how)
        assert from_nx.equals(from_scipy)
    assert as_structure(g, symmetrize="sum").weights.tolist() == [6.0, 10.0, 14.0]
    # a graph to_networkx wrote carries ids, which symmetrize made an error the caller never gave
    assert as_structure(as_structure(g).to_networkx(), symmetrize="max").equals(as_structure(g))


def test_ids_of_a_networkx_graph_of_the_wrong_length_are_named():
    # an undirected graph's ids were mirrored before any check: numpy's IndexError ("boolean index
    # did not match indexed array") for one id short or one too many
    for ids in ([10, 20], [10, 20, 30, 40]):
        with pytest.raises(ValueError, match=f"ids must have length 3, got {len(ids)}"):
            as_structure(nx.path_graph(4), ids=ids)
    assert as_structure(nx.path_graph(4), ids=[10, 20, 30]).ids.tolist() == [10, 20, 30]


def test_num_nodes_may_be_a_0_d_tensor_as_edge_index_max_plus_1_is():
    ei = torch.tensor([[0, 1], [1, 0]])
    assert as_structure(ei, num_nodes=torch.tensor(5)).num_nodes == 5
    assert as_structure(ei, num_nodes=ei.max() + 1).num_nodes == 2
    assert as_structure(ei, num_nodes=np.array(3)).num_nodes == 3


def test_find_items_and_positions_refuse_fractional_nodes_and_ids_rather_than_truncate():
    # 0.9 and 1.2 were cast to 0 and 1 and found edge (0, 1); id 1.7 found item 1
    s = as_structure(nx.path_graph(4))
    with pytest.raises(TypeError, match="rows must hold integers, got dtype float64"):
        s.find_items([0.9], [1.2])
    with pytest.raises(TypeError, match="ids must hold integers, got dtype float64"):
        s.positions([1.7])
    with pytest.raises(TypeError, match="ids must hold integers"):
        s.remove_items([np.nan])
    assert s.find_items(np.array([0.0, 2.0]), np.array([1.0, 3.0])).tolist() == [0, 2]
    assert s.positions(np.array([1.0])).tolist() == [1] and s.find_items([], []).tolist() == []


def test_num_self_loops_counts_loop_items_once_each():
    """An undirected loop is one item, as every edge; a directed graph counts its own."""
    undirected = SparseStructure.from_edges([0, 0, 1], [0, 1, 1], None, num_nodes=3,
                                            symmetrize="sum")
    assert undirected.num_items == 3 and undirected.num_self_loops == 2
    directed = SparseStructure.from_edges([0, 1, 2], [1, 0, 2], None, num_nodes=3)
    assert directed.num_self_loops == 1
    assert SparseStructure.from_edges([], [], None, num_nodes=2).num_self_loops == 0


def test_a_networkx_edge_whose_weight_is_no_positive_number_is_named_by_its_nodes():
    # a string weight raised numpy's "could not convert string to float: 'a'", naming nothing;
    # None or 0 "weight must be ... at position 1", a place in a list the caller never saw
    # 10**400, past float64, raised a bare OverflowError
    for bad, got in (("a", "'a'"), (None, "None"), (0, "0"), (-2.0, "-2.0"), ([1.0], "[1.0]"),
                     (10**400, "an integer of 1329 bits"),
                     (-(10**5000), "a negative integer of 16610 bits")):
        g = nx.Graph([(0, 1, {"weight": 1.0}), (1, 2, {"weight": bad})])
        with pytest.raises(ValueError, match=re.escape(
                f"networkx graph edge (1, 2): weight must be a finite number > 0, got {got}")):
            as_structure(g)
    g = nx.DiGraph([(0, 1, {"weight": 2}), (1, 2, {"weight": "2.5"}), (2, 0)])
    assert as_structure(g).weights.tolist() == [2.0, 2.5, 1.0]


def test_a_matrix_entry_that_is_no_edge_weight_is_named_by_its_row_and_column():
    # "weight must be positive, got -1.0 at position 0": a parameter the caller never gave, and a
    # place among the matrix's nonzeros
    laplacian = np.array([[1.0, -1.0, 0.0], [-1.0, 2.0, -1.0], [0.0, -1.0, 1.0]])
    for adj in (laplacian, sp.csr_array(laplacian), torch.tensor(laplacian).to_sparse()):
        with pytest.raises(ValueError, match=re.escape(
                "adjacency matrix entry (0, 1): an edge's weight must be positive (a Laplacian or a "
                "signed matrix is no adjacency), got -1.0")):
            as_structure(adj)
    with pytest.raises(ValueError, match=re.escape(
            "adjacency matrix entry (1, 0): an edge's weight must be finite, got nan")):
        as_structure(sp.coo_array(([1.0, np.nan], ([0, 1], [1, 0])), shape=(2, 2)))


def test_a_file_name_or_a_list_of_pairs_given_as_x_says_what_to_do():
    # "got an array of shape () and dtype <U9" for a file name, no word on transposing pairs
    for name in ("graph.mtx", Path("graph.mtx")):
        with pytest.raises(ValueError, match="x must be a graph, not a file name, got .*graph.mtx.*: "
                                             "read the file with sparsebox.data.load_graph"):
            as_structure(name)
    with pytest.raises(ValueError, match=r"got None$"):
        as_structure(None)
    pairs = np.array(nx.path_graph(4).edges())  # shape (3, 2)
    for x in (pairs, torch.from_numpy(pairs)):
        with pytest.raises(ValueError, match=r"shape \(3, 2\) and dtype int64; a list of \(source, "
                                             r"target\) pairs: pass its transpose"):
            as_structure(x)
    assert as_structure(pairs.T, symmetrize="max").equals(as_structure(nx.path_graph(4)))


def test_a_heterogeneous_graph_is_told_how_to_become_one_graph():
    """as_structure(HeteroData) said only "has no edge_index"."""
    import torch
    from torch_geometric.data import HeteroData

    data = HeteroData()
    data["paper"].x = torch.zeros(3, 2)
    data["paper", "cites", "paper"].edge_index = torch.tensor([[0, 1], [1, 2]])
    with pytest.raises(ValueError, match=r"has no edge_index; a heterogeneous graph holds one per "
                                         r"edge type: .*data\.to_homogeneous\(\)"):
        as_structure(data)


def test_a_pyg_data_with_weights_under_another_name_warns_that_they_are_not_read():
    """torch_geometric.utils.from_networkx writes a weighted networkx graph's weights as
    data.weight: as_structure read the graph as unweighted without a word."""
    import networkx as nx
    from torch_geometric.data import Data
    from torch_geometric.utils import from_networkx

    g = nx.Graph()
    g.add_edge(0, 1, weight=2.0)
    g.add_edge(1, 2, weight=5.0)
    data = from_networkx(g)
    with pytest.warns(UserWarning, match=r"its weight \(one value per edge, .*\) is not read.*"
                                         r"set data.edge_weight = data.weight.view\(-1\)") as caught:
        plain = as_structure(data)
    assert caught[0].filename == __file__  # the caller's line, not the library's
    assert plain.weights.tolist() == [1.0, 1.0]
    data.edge_weight = data.weight.view(-1)  # as the warning says
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert sorted(as_structure(data).weights.tolist()) == [2.0, 5.0]
        # edge features are no weights: ZINC's bond types (one per edge), ogb's three columns
        for attr in (torch.ones(4, dtype=torch.long), torch.ones(4, 3)):
            as_structure(Data(edge_index=data.edge_index, edge_attr=attr, num_nodes=3))


def test_equals_of_anything_but_a_structure_is_false():
    """equals(None) raised AttributeError: 'NoneType' object has no attribute 'num_nodes'."""
    s = as_structure(TRIANGLE_PLUS_TAIL)
    assert s.equals(as_structure(TRIANGLE_PLUS_TAIL))
    assert not s.equals(None) and not s.equals(TRIANGLE_PLUS_TAIL)



def test_a_nearly_symmetric_edge_index_read_as_directed_is_warned_of():
    """An undirected PyG graph with one one-way column was read as directed in silence, and a
    pruner then kept one direction of many of its pairs."""
    import warnings

    ring = np.arange(40)
    both = np.stack([np.r_[ring, (ring + 1) % 40], np.r_[(ring + 1) % 40, ring]])
    one_way = np.concatenate([both, [[0], [20]]], axis=1)  # 81 columns, one without its mirror
    with pytest.warns(UserWarning, match=r"read as directed: 1 of its 81 entries has no mirror "
                                         r"of the same weight \(\(0, 20\) for one\)"):
        assert not as_structure(one_way).is_undirected
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not as_structure(one_way, undirected=False).is_undirected  # as asked: no warning
        assert as_structure(one_way, undirected=True, symmetrize="max").num_edges == 41
        assert not as_structure(np.array([[0, 1, 2], [1, 2, 3]])).is_undirected  # directed
        assert as_structure(both).is_undirected


def test_weight_blind_methods_warn_of_a_one_way_column_in_fit_and_not_of_weights():
    """RandomEdgePruner read a PyG graph with one one-way column as directed in silence (and kept
    one direction of many pairs); its transform warned instead, of unequal weights that a
    weight-blind method never reads, pointing into this library."""
    import warnings

    import torch
    from torch_geometric.data import Data

    from graphsparse.random_edges import RandomEdgePruner
    from graphsparse.transforms import TeddyTransform

    ring = torch.arange(40)
    both = torch.stack([torch.cat([ring, (ring + 1) % 40]), torch.cat([(ring + 1) % 40, ring])])
    one_way = Data(edge_index=torch.cat([both, torch.tensor([[0], [20]])], dim=1), num_nodes=40)
    with pytest.warns(UserWarning, match=r"read as directed: 1 of its 81 entries has no mirror "
                                         r"\(\(0, 20\) for one\)") as caught:
        RandomEdgePruner(keep_ratio=0.5).fit(one_way)
    assert caught[0].filename == __file__  # the caller's line, not the library's
    # advice a PyG user can follow, with a Data (fit takes no undirected= or symmetrize=, and a
    # TeddyTransform returns a Data: it said "read it with as_structure(...)")
    assert "make it undirected first with torch_geometric.transforms.ToUndirected(reduce='max')" \
        in str(caught[0].message)
    import torch_geometric.transforms as T

    with pytest.warns(UserWarning, match="ToUndirected") as caught:  # through PyG's __call__
        TeddyTransform(keep_ratio=0.5)(one_way.clone())
    assert caught[0].filename == __file__
    ring_weights = torch.arange(1.0, 41.0)
    one_way.edge_weight = torch.cat([ring_weights, ring_weights, torch.tensor([5.0])])
    fixed = T.ToUndirected(reduce="max")(one_way.clone())
    assert fixed.edge_weight.max() == 40  # as advised: not doubled (ToUndirected() gives 80)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        RandomEdgePruner(keep_ratio=0.5).fit(fixed)
        assert as_structure(TeddyTransform(keep_ratio=0.5)(fixed)).is_undirected
    weights = torch.ones(80)
    weights[0] = 2.0  # one pair of unequal weights: the edges are still undirected
    uneven = Data(edge_index=both, edge_weight=weights, num_nodes=40)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pruned = RandomEdgePruner(keep_ratio=0.5).fit(uneven).transform(uneven)
    assert as_structure(pruned).is_undirected


def test_to_edge_index_gives_pyg_s_float32_weights_that_two_gcn_layers_take():
    """Its float64 weights made the first GCNConv's output float64, and the second refused it
    ("expected m1 and m2 to have the same dtype")."""
    from torch_geometric.nn import GCNConv

    g = as_structure(nx.karate_club_graph())
    ei, w = g.to_edge_index(as_torch=True)
    assert ei.dtype == torch.int64 and w.dtype == torch.float32
    x = torch.eye(g.num_nodes)
    out = GCNConv(16, 2)(GCNConv(g.num_nodes, 16)(x, ei, w), ei, w)
    assert out.dtype == torch.float32 and out.shape == (g.num_nodes, 2)
    exact = g.to_edge_index(as_torch=True, weight_dtype=torch.float64)[1]
    assert exact.dtype == torch.float64 and np.array_equal(exact.numpy(), g.to_edge_index()[1])


def test_a_pyg_dataset_loader_or_an_edge_index_and_weight_pair_is_refused_saying_what_to_pass():
    """A dataset ended in PyG's "'KarateClub' object has no attribute 'num_nodes'", and the pair
    to_edge_index returns in numpy's "inhomogeneous shape"."""
    from torch_geometric.datasets import KarateClub

    from graphsparse import FeGrassSparsifier, TeddyPruner
    from sparsebox.exceptions import InvalidParameterError

    dataset = KarateClub()
    for method in (FeGrassSparsifier(), TeddyPruner()):
        with pytest.raises(InvalidParameterError, match=r"graph is a PyG dataset \(KarateClub, 1 "
                                                        r"graph\), not a graph: .*dataset\[i\]"):
            method.fit(dataset)
    # a loader: "this PyG DataLoader has no edge_index"
    from torch_geometric.loader import DataLoader

    loader = DataLoader(dataset, batch_size=1)
    with pytest.raises(InvalidParameterError, match=r"graph is a PyG DataLoader \(batches of "
                                                    r"graphs\), not a graph: pass one of its batches"):
        FeGrassSparsifier().fit(loader)
    batch = as_structure(next(iter(loader)))  # a batch is a graph
    assert np.array_equal(batch.to_edge_index()[0], as_structure(dataset[0]).to_edge_index()[0])
    pair = as_structure(dataset[0]).to_edge_index(as_torch=True)
    for as_given in (pair, list(pair)):
        with pytest.raises(InvalidParameterError, match=r"graph must be one graph, got a pair: an "
                                                        r"\(edge_index, edge_weight\) pair"):
            FeGrassSparsifier().fit(as_given)
    with pytest.raises(InvalidParameterError, match=r"got a list of 2 PyG graphs: pass one of "
                                                    r"them, or Batch.from_data_list"):
        as_structure([dataset[0], dataset[0]])
    with pytest.raises(InvalidParameterError, match=r"edge_index or a square adjacency matrix, got "
                                                    r"a tuple that is no array"):
        as_structure(((0, 1, 2), (1, 2)))  # no pair, whatever its length
    assert as_structure(((0, 1), (1, 2))).num_edges == 2  # a tuple edge_index is still one


@pytest.mark.parametrize("dtype", [torch.int64, np.int32, "float32", torch.bfloat16])
def test_to_edge_index_refuses_a_weight_dtype_other_than_a_float(dtype):
    """torch.int64 cut 0.5 to 0; "float32" was torch's "Invalid device string"."""
    from sparsebox.exceptions import InvalidParameterError

    g = as_structure(np.array([[0, 1], [1, 0]]), edge_weight=np.array([0.5, 0.5]))
    if dtype == "float32":  # numpy's name: read as numpy reads it
        assert g.to_edge_index(as_torch=True, weight_dtype=dtype)[1].dtype == torch.float32
        return
    for as_torch in (True, False):
        with pytest.raises(InvalidParameterError, match="weight_dtype must be a floating dtype"):
            g.to_edge_index(as_torch=as_torch, weight_dtype=dtype)
    assert g.to_edge_index(weight_dtype=torch.float32)[1].dtype == np.float32


@pytest.mark.parametrize("weight", [1e39, 1e-50])
def test_to_edge_index_refuses_a_weight_that_float32_cannot_hold(weight):
    """float32 (the default of as_torch=True) made a weight of 1e39 inf and one of 1e-50 zero,
    silently: a GCNConv's output turned NaN, or the edge weighed nothing."""
    from sparsebox.exceptions import InvalidParameterError

    g = as_structure(np.array([[0, 1], [1, 2]]), edge_weight=np.array([1.0, weight]))
    message = f"edge weight {re.escape(repr(weight))} does not fit in float32.*torch.float64"
    for call in (lambda: g.to_edge_index(as_torch=True),
                 lambda: g.to_edge_index(weight_dtype=np.float32)):
        with pytest.raises(InvalidParameterError, match=message):
            call()
    assert g.to_edge_index(as_torch=True, weight_dtype=torch.float64)[1].tolist() == [1.0, weight]
