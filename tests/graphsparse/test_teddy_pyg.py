"""TEDDY, random pruning and the PyG transform on the ``Data`` a PyG user has: link-prediction
splits, processed datasets, inferred node counts, arbitrary edge weights."""

import numpy as np
import pytest
import torch
from torch_geometric.data import Data, InMemoryDataset

from graphsparse.random_edges import RandomEdgePruner
from graphsparse.teddy import TeddyPruner, teddy_edge_scores, unweighted_structure
from graphsparse.transforms import TeddyTransform, keep_edge_columns
from sparsebox import as_structure
from sparsebox.exceptions import InvalidParameterError

PATH = torch.tensor([[0, 1, 1, 2, 2, 3], [1, 0, 2, 1, 3, 2]])  # 0-1-2-3, no num_nodes given


def _karate():
    from torch_geometric.datasets import KarateClub

    return KarateClub()[0]


def _edges(edge_index):
    """The undirected edges ``(min, max)`` an edge_index holds."""
    return {(min(a, b), max(a, b)) for a, b in edge_index.t().tolist()}


def _pruner_edges(structure):
    return {(int(a), int(b)) for a, b in zip(structure.rows, structure.cols, strict=True)}


# ---------------------------------------------------------------- supervision is left alone
def test_link_split_labels_survive_the_transform(data_dir):
    import torch_geometric.transforms as T

    from graphsparse.datasets import load_planetoid

    torch.manual_seed(0)
    train, _, _ = T.RandomLinkSplit(num_val=0.1, num_test=0.1, is_undirected=True)(
        load_planetoid("cora"))
    assert train.edge_label.shape[0] == train.edge_index.shape[1]  # the size that misled
    out = TeddyTransform(keep_ratio=0.5)(train)
    assert out.edge_index.shape[1] == train.edge_index.shape[1] // 2
    assert torch.equal(out.edge_label, train.edge_label)
    assert torch.equal(out.edge_label_index, train.edge_label_index)


def test_keep_edge_columns_cuts_message_passing_attributes_only():
    num = 6  # as many nodes as columns: PyG then tells edge from node attributes by name
    keep = torch.tensor([True, False, True, False, True, False])
    data = Data(edge_index=torch.tensor([[0, 1, 2, 3, 4, 5], [1, 2, 3, 4, 5, 0]]),
                x=torch.arange(num * 2.0).view(num, 2), y=torch.arange(num),
                edge_weight=torch.arange(6.0), edge_attr=torch.arange(18.0).view(6, 3),
                edge_type=torch.arange(6), edge_mask=torch.ones(6, dtype=torch.bool),
                edge_label=torch.arange(6.0), edge_label_index=torch.arange(12).view(2, 6),
                pos_edge_label=torch.ones(6), pos_edge_label_index=torch.arange(12).view(2, 6))
    out = keep_edge_columns(data, keep)
    for key in ("edge_weight", "edge_attr", "edge_type", "edge_mask"):
        assert torch.equal(out[key], data[key][keep]), key
    for key in ("x", "y", "edge_label", "edge_label_index", "pos_edge_label",
                "pos_edge_label_index"):
        assert torch.equal(out[key], data[key]), key
    assert torch.equal(out.edge_index, data.edge_index[:, keep])


# ---------------------------------------------------------------- repr, as PyG compares it
def test_repr_shows_the_parameters():
    assert repr(TeddyTransform(keep_ratio=0.5)) == "TeddyTransform(keep_ratio=0.5)"
    assert repr(TeddyTransform()) == "TeddyTransform(keep_ratio=0.5)"
    assert repr(TeddyTransform(budget=30, add_self_loops=True)) == \
        "TeddyTransform(budget=30, add_self_loops=True)"
    assert repr(TeddyTransform(keep_ratio=0.25)) != repr(TeddyTransform(keep_ratio=0.5))


class _KarateDataset(InMemoryDataset):
    """KarateClub processed once under ``pre_transform`` (PyG warns if a later one differs)."""

    def __init__(self, root, pre_transform):
        super().__init__(str(root), pre_transform=pre_transform)
        self.load(self.processed_paths[0])

    @property
    def raw_file_names(self):
        return []

    @property
    def processed_file_names(self):
        return ["data.pt"]

    def download(self):
        pass

    def process(self):
        self.save([self.pre_transform(_karate())], self.processed_paths[0])


def test_a_dataset_processed_with_another_teddy_pre_transform_is_noticed(tmp_path):
    assert _KarateDataset(tmp_path, TeddyTransform(keep_ratio=0.5))[0].edge_index.shape[1] == 78
    with pytest.warns(UserWarning, match="pre_transform"):
        _KarateDataset(tmp_path, TeddyTransform(keep_ratio=0.25))


# ---------------------------------------------------------------- nodes are kept
@pytest.mark.filterwarnings("ignore:Unable to accurately infer 'num_nodes'")  # PyG's, as meant
def test_inferred_nodes_survive_pruning():
    out = TeddyTransform(budget=1)(Data(edge_index=PATH))
    assert out.edge_index.shape[1] == 2 and out.num_nodes == 4
    kept = keep_edge_columns(Data(edge_index=PATH, x=torch.ones(5, 1)), torch.zeros(6, dtype=bool))
    assert kept.num_nodes == 5 and kept.edge_index.shape[1] == 0


# ---------------------------------------------------------------- weights are never read
@pytest.mark.parametrize("weight", [torch.tensor([1.0, 1.0, 0.0, 0.0, 2.0, 2.0]),
                                    torch.tensor([-1.0, -1.0, 3.0, 3.0, 2.0, 2.0]),
                                    torch.tensor([float("nan")] * 6),
                                    torch.ones(6, 1)],
                         ids=["zeros", "negative", "nan", "column"])
@pytest.mark.parametrize("method", [TeddyPruner, RandomEdgePruner])
def test_weight_blind_methods_accept_any_edge_weight(method, weight):
    plain = Data(edge_index=PATH, num_nodes=4)
    weighted = Data(edge_index=PATH, edge_weight=weight, num_nodes=4)
    est = method(budget=2).fit(weighted)
    assert np.array_equal(est.mask_, method(budget=2).fit(plain).mask_)
    assert est.transform(weighted).num_edges == 2


@pytest.mark.parametrize("edge_index", [PATH, PATH[:, ::2], torch.cat([PATH, PATH[:, :3]], 1),
                                        torch.tensor([[0, 1, 2, 2], [1, 0, 2, 0]]),
                                        torch.zeros(2, 0, dtype=torch.long)],
                         ids=["undirected", "directed", "repeated", "loop", "empty"])
def test_the_edges_of_a_data_are_what_as_structure_sees_in_its_distinct_columns(edge_index):
    data = Data(edge_index=edge_index, edge_weight=-torch.ones(edge_index.shape[1]), num_nodes=5)
    distinct = np.unique(edge_index.numpy(), axis=1)
    assert unweighted_structure(data).equals(as_structure(distinct, num_nodes=5))


def test_edges_out_of_range_are_refused_by_name():
    with pytest.raises(ValueError, match="node 3 appears but num_nodes is 2"):
        unweighted_structure(Data(edge_index=PATH, num_nodes=2))
    with pytest.raises(ValueError, match="must be non-negative"):
        unweighted_structure(Data(edge_index=-PATH, num_nodes=4))


def test_weight_blind_scores_and_transform_accept_any_edge_weight():
    weighted = Data(edge_index=PATH, edge_weight=torch.tensor([1.0, 1.0, 0.0, 0.0, -2.0, 2.0]),
                    num_nodes=4)
    plain = Data(edge_index=PATH, num_nodes=4)
    assert np.array_equal(teddy_edge_scores(weighted), teddy_edge_scores(plain))
    out = TeddyTransform(budget=1)(weighted)
    assert torch.equal(out.edge_weight, weighted.edge_weight[out.edge_mask])


def test_networkx_weights_are_ignored_too():
    import networkx as nx

    graph = nx.path_graph(4)
    nx.set_edge_attributes(graph, {(0, 1): 0.0, (1, 2): -1.0, (2, 3): float("nan")}, "weight")
    plain = TeddyPruner(budget=2).fit(nx.path_graph(4))
    assert np.array_equal(TeddyPruner(budget=2).fit(graph).mask_, plain.mask_)
    assert not TeddyPruner(budget=2).fit_transform(graph).is_weighted

    class Roads(nx.Graph):  # a user's subclass is a networkx graph too
        pass

    subclassed = Roads(graph)
    assert np.array_equal(TeddyPruner(budget=2).fit(subclassed).mask_, plain.mask_)


def test_valid_weights_still_come_back_with_the_kept_edges():
    data = Data(edge_index=PATH, edge_weight=torch.tensor([5.0, 5.0, 6.0, 6.0, 7.0, 7.0]),
                num_nodes=4)
    kept = TeddyPruner(budget=2).fit_transform(data)
    assert kept.is_weighted and set(kept.weights.tolist()) <= {5.0, 6.0, 7.0}
    asymmetric = Data(edge_index=PATH, edge_weight=torch.arange(1.0, 7.0), num_nodes=4)
    kept = TeddyPruner(budget=2).fit_transform(asymmetric)  # weights on other items than TEDDY's
    assert kept.num_edges == 2 and kept.is_undirected and not kept.is_weighted


# ---------------------------------------------------------------- one rule for both
def test_too_small_a_keep_ratio_is_refused_by_both():
    message = "keep_ratio 0.001 keeps none of the 78 edges"
    with pytest.raises(InvalidParameterError, match=message):
        TeddyPruner(keep_ratio=0.001).fit(_karate())
    with pytest.raises(InvalidParameterError, match=message):
        TeddyTransform(keep_ratio=0.001)(_karate())


def test_repeated_columns_are_one_edge_for_both():
    data = Data(edge_index=torch.tensor([[0, 1, 0, 1, 1, 2], [1, 0, 1, 0, 2, 1]]), num_nodes=3)
    out = TeddyTransform(budget=1)(data)
    assert _edges(out.edge_index) == _pruner_edges(TeddyPruner(budget=1).fit_transform(data)) \
        == {(0, 1)}
    assert out.edge_index.shape[1] == 4  # both repeated columns of the kept edge stay


@pytest.mark.parametrize("size", [{"keep_ratio": 0.5}, {"keep_ratio": 0.3}, {"budget": 7}])
def test_transform_and_pruner_keep_the_same_edges(size):
    gen = torch.Generator().manual_seed(0)
    pairs = torch.randint(0, 12, (2, 30), generator=gen)
    both = torch.cat([pairs, pairs.flip(0), pairs[:, :5]], dim=1)  # symmetric, some repeated
    data = Data(edge_index=torch.cat([both, torch.tensor([[3, 4], [3, 4]])], dim=1), num_nodes=12)
    out = TeddyTransform(**size)(data)
    assert _edges(out.edge_index) == _pruner_edges(TeddyPruner(**size).fit_transform(data))


def test_a_graph_of_self_loops_only_gets_a_clear_message():
    loops = Data(edge_index=torch.tensor([[0, 1], [0, 1]]), num_nodes=2)
    message = "budget 1 counts edges other than self-loops, and the graph has none: only 2 self-loops"
    with pytest.raises(InvalidParameterError, match=message):
        TeddyPruner(budget=1).fit(loops)
    with pytest.raises(InvalidParameterError, match=message):
        TeddyTransform(budget=1)(loops)
    assert TeddyTransform(keep_ratio=0.5)(loops).edge_index.shape[1] == 2  # nothing to prune
    with pytest.raises(InvalidParameterError, match="budget 9 is more than the 3 edges other "
                                                    "than self-loops"):
        TeddyPruner(budget=9).fit(Data(edge_index=torch.cat([PATH, loops.edge_index], 1), num_nodes=4))


@pytest.mark.parametrize("method", [TeddyPruner, RandomEdgePruner])
def test_self_loops_always_stay_and_do_not_count_toward_the_size(method):
    loops = torch.tensor([[0, 2], [0, 2]])
    data = Data(edge_index=torch.cat([PATH, loops], 1), num_nodes=4)  # 3 edges, 2 self-loops
    for size, non_loops in [(dict(budget=1), 1), (dict(keep_ratio=2 / 3), 2), (dict(density=0.75), 3)]:
        est = method(**size).fit(data)
        kept = est.transform(data)
        assert (kept.rows == kept.cols).sum() == 2 and (kept.rows != kept.cols).sum() == non_loops
    with pytest.raises(InvalidParameterError, match="budget 4 is more than the 3 edges other than"):
        method(budget=4).fit(data)
    # a graph without self-loops is not told of "the 0 self-loops"
    with pytest.raises(InvalidParameterError, match=r"^budget 4 is more than the graph's 3 edges$"):
        method(budget=4).fit(Data(edge_index=PATH, num_nodes=4))


def test_a_data_without_an_integer_edge_index_is_refused_by_name():
    """After ToSparseTensor (adj_t, no edge_index) the message spoke of "x" and an object
    array; a float edge_index went through and came back float."""
    import torch_geometric.transforms as T

    data = Data(edge_index=torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]]), num_nodes=3,
                x=torch.zeros(3, 1))
    sparse = T.ToSparseTensor(layout=torch.sparse_csr)(data.clone())
    for fit in (lambda d: TeddyTransform()(d), lambda d: TeddyPruner().fit(d), as_structure):
        with pytest.raises(ValueError, match="has no edge_index; it has adj_t"):
            fit(sparse)
        with pytest.raises(ValueError, match="edge_index must hold integers"):
            fit(Data(edge_index=data.edge_index.float(), num_nodes=3))


@pytest.mark.filterwarnings("ignore:Sparse CSR tensor support is in beta")
@pytest.mark.parametrize("layout", [torch.sparse_csr, torch.sparse_coo, torch.sparse_csc,
                                    torch.strided])
def test_an_adj_t_beside_edge_index_is_pruned_with_it(layout):
    """ToSparseTensor(remove_edge_index=False), as the refusal above advises, kept every entry
    of adj_t while edge_index lost columns: a model reading adj_t trained on the whole graph.
    An entry no column holds (a self-loop a normalization added) stays."""
    import torch_geometric.transforms as T

    weights = torch.arange(1.0, 9.0)
    data = Data(edge_index=torch.tensor([[0, 1, 1, 2, 2, 0, 2, 3], [1, 0, 2, 1, 0, 2, 3, 2]]),
                edge_weight=weights, num_nodes=4)
    sparse = T.ToSparseTensor(remove_edge_index=False)(data.clone())
    loop = torch.sparse_coo_tensor([[1], [1]], [9.0], (4, 4))
    adj = (sparse.adj_t.to_sparse_coo() + loop).coalesce()  # (a dense or CSC one made by hand)
    sparse.adj_t = adj.to_dense() if layout == torch.strided else adj.to_sparse(layout=layout)
    out = TeddyTransform(budget=2)(sparse)
    assert out.edge_index.shape[1] == 4 and out.adj_t.layout == layout
    expected = torch.sparse_coo_tensor(out.edge_index.flip(0), out.edge_weight, (4, 4)).to_dense()
    assert torch.equal(out.adj_t.to_dense(), expected + loop.to_dense())
    # the entries of every column stay where the pruning keeps all
    assert torch.equal(TeddyTransform(budget=4)(sparse).adj_t.to_dense(),
                       sparse.adj_t.to_dense())


def test_a_torch_sparse_adj_t_beside_edge_index_is_pruned_with_it():
    """The same with torch_sparse installed, whose SparseTensor ToSparseTensor makes."""
    torch_sparse = pytest.importorskip("torch_sparse")
    data = Data(edge_index=torch.tensor([[0, 1, 1, 2, 2, 0, 2, 3], [1, 0, 2, 1, 0, 2, 3, 2]]),
                edge_weight=torch.arange(1.0, 9.0), num_nodes=4)
    data.adj_t = torch_sparse.SparseTensor(row=data.edge_index[1], col=data.edge_index[0],
                                           value=data.edge_weight, sparse_sizes=(4, 4))
    out = TeddyTransform(budget=2)(data)
    assert isinstance(out.adj_t, torch_sparse.SparseTensor)
    expected = torch.sparse_coo_tensor(out.edge_index.flip(0), out.edge_weight, (4, 4))
    assert torch.equal(out.adj_t.to_dense(), expected.to_dense())


def test_a_pyg_edge_index_tensor_is_an_edge_index():
    """PyG's EdgeIndex (a tensor subclass) was taken for a Data and refused."""
    from torch_geometric import EdgeIndex

    ei = EdgeIndex(torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]]), sparse_size=(3, 3))
    assert as_structure(ei).num_edges == unweighted_structure(ei).num_edges == 2
    assert TeddyPruner(budget=1).fit(ei).mask_.sum() == 1


@pytest.mark.parametrize("method", [TeddyPruner, RandomEdgePruner])
def test_a_bare_edge_index_or_matrix_is_read_on_its_edges_alone(method):
    """A repeated column of a bare edge_index (summed to a weight of 2 in one direction) or the
    unequal entries of a row-normalized adjacency made the graph directed: twice the items,
    and a pruned graph that kept one direction of some edges."""
    import scipy.sparse as sp

    repeated = torch.cat([PATH, PATH[:, :1]], 1)  # 0 -> 1 twice
    data = Data(edge_index=PATH, num_nodes=4)
    adjacency = sp.csr_array(as_structure(PATH).to_scipy())
    row_normalized = sp.diags(1.0 / np.asarray(adjacency.sum(axis=1)).ravel()) @ adjacency
    for graph in (repeated, repeated.numpy(), row_normalized):
        assert unweighted_structure(graph).equals(unweighted_structure(data))
        est = method(budget=2).fit(graph)
        assert np.array_equal(est.mask_, method(budget=2).fit(data).mask_)
        kept = est.transform(graph)
        assert kept.is_undirected and kept.num_edges == 2


def test_teddy_transform_refuses_a_batch():
    """A Batch was pruned to one size across its graphs, and its to_data_list() then failed."""
    from torch_geometric.data import Batch

    batch = Batch.from_data_list([Data(edge_index=PATH, num_nodes=4)] * 2)
    with pytest.raises(InvalidParameterError, match="takes one graph, not a Batch of 2"):
        TeddyTransform(budget=2)(batch)


def test_teddy_transform_warns_that_it_replaces_an_edge_mask_of_the_data_s_own():
    """A user's edge_mask was cut with the columns and then replaced by the transform's mask
    over the input columns: lost, silently. The transform's own output goes through again
    without a word (its edge_mask is one per column of its input)."""
    import warnings

    ei = torch.tensor([[0, 1, 1, 2, 2, 3, 0, 3], [1, 0, 2, 1, 3, 2, 3, 0]])
    mine = torch.tensor([1, 1, 0, 0, 1, 1, 0, 0], dtype=torch.bool)
    data = Data(edge_index=ei, edge_mask=mine, num_nodes=5)
    with pytest.warns(UserWarning, match="replaces the data's edge_mask") as caught:
        TeddyTransform(budget=3)(data)
    assert caught[0].filename == __file__  # the caller's line, not PyG's
    data.my_mask = data.edge_mask
    del data.edge_mask
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = TeddyTransform(budget=3)(data)
        assert torch.equal(out.my_mask, mine[out.edge_mask])
        again = TeddyTransform(budget=2)(out)  # pruning in steps
    assert again.edge_index.shape[1] == 4 and again.edge_mask.shape == (6,)
    with warnings.catch_warnings():  # a step that kept every column, then another
        warnings.simplefilter("error")
        whole = TeddyTransform(keep_ratio=1.0)(data)
        assert bool(whole.edge_mask.all()) and whole.edge_mask.shape == (8,)
        assert TeddyTransform(budget=2)(whole).edge_index.shape[1] == 4
    data.edge_mask = torch.ones(8, dtype=torch.bool)  # a user's, all true: nothing to lose
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        TeddyTransform(budget=2)(data)


def test_the_transform_speaks_density_as_the_pruner_does():
    """TeddyTransform took keep_ratio and budget but not density, the third word of the sizing
    vocabulary that TeddyPruner speaks."""
    from torch_geometric.datasets import KarateClub

    data = KarateClub()[0]
    out = TeddyTransform(density=1.0)(data)
    expected = TeddyPruner(density=1.0).fit(as_structure(data.edge_index)).mask_
    assert int(out.edge_mask.sum()) == 2 * 34 == 2 * int(expected.sum())
    assert repr(TeddyTransform(density=1.0)) == "TeddyTransform(density=1.0)"
    with pytest.raises(InvalidParameterError, match="density"):
        TeddyTransform(density=1.0, budget=3)
