import shutil
import subprocess

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp

from sparsebox import as_structure
from sparsebox.backend import has_cuda
from sparsebox.exceptions import InvalidParameterError
from sparsebox.walks import random_walks

CPU_BACKENDS = ["numpy", "numba"]


def path_graph(n, weights=None):
    if weights is None:
        return as_structure(nx.path_graph(n))
    a = sp.lil_array((n, n))
    for i, w in enumerate(weights):
        a[i, i + 1] = a[i + 1, i] = w
    return as_structure(a.tocsr())


@pytest.mark.parametrize("backend", CPU_BACKENDS)
def test_non_backtracking_walk_on_a_path_never_turns_back(backend):
    g = path_graph(10)
    res = random_walks(g, [0], [9], num_walkers=8, max_steps=20, seed=3, backend=backend,
                       return_paths=True)
    # from an end of a path there is one way on: every walker arrives in exactly 9 hops
    assert res.hits[0] == 8 and res.resistance[0] == 9.0
    assert res.path_nodes[0].tolist() == list(range(10))
    assert res.num_steps == 8 * 9


@pytest.mark.parametrize("backend", CPU_BACKENDS)
def test_free_walk_from_the_middle_of_a_path_stops_at_an_end(backend):
    g = path_graph(7)
    res = random_walks(g, [3] * 50, num_walkers=1, max_steps=100, seed=0, backend=backend)
    assert not res.reached.any()
    assert res.num_steps == 50 * 3  # 3 hops to either end, then a dead end


@pytest.mark.parametrize("backend", CPU_BACKENDS)
def test_cycle_walks_around(backend):
    g = as_structure(nx.cycle_graph(6))
    # node 3 is opposite node 0: every walker arrives in 3 hops, whichever way it set off
    res = random_walks(g, [0], [3], num_walkers=16, max_steps=3, seed=1, backend=backend,
                       return_paths=True)
    assert res.hits[0] == 16 and res.resistance[0] == 3.0
    nodes = res.path_nodes[0].tolist()
    assert nodes in ([0, 1, 2, 3], [0, 5, 4, 3])
    # a free non-backtracking walker on a cycle never meets a dead end: it uses every step
    res = random_walks(g, [0], [-1], num_walkers=4, max_steps=12, seed=2, backend=backend)
    assert res.num_steps == 4 * 12


@pytest.mark.parametrize("backend", CPU_BACKENDS)
def test_star_walks_stop_at_a_leaf_after_two_hops(backend):
    g = as_structure(nx.star_graph(6))  # centre 0, leaves 1..6
    res = random_walks(g, [1] * 20, num_walkers=5, max_steps=50, seed=4, backend=backend)
    assert res.num_steps == 20 * 5 * 2


@pytest.mark.parametrize("backend", CPU_BACKENDS)
def test_directed_walks_exclude_the_previous_node_only_when_it_is_an_out_neighbour(backend):
    # 0 <-> 1 -> 2: at 1 the walker may not go back to 0, so it goes to 2, a dead end
    g = as_structure(np.array([[0, 1, 1], [1, 0, 2]]))
    assert not g.is_undirected
    res = random_walks(g, [0] * 10, num_walkers=3, max_steps=50, seed=0, backend=backend)
    assert res.num_steps == 10 * 3 * 2
    # a directed 3-cycle: the node just left is never an out-neighbour, walks use every step
    res = random_walks(np.array([[0, 1, 2], [1, 2, 0]]), [0], num_walkers=3, max_steps=7,
                       backend=backend)
    assert res.num_steps == 3 * 7


@pytest.mark.parametrize("backend", CPU_BACKENDS)
def test_backtracking_walks_can_turn_back(backend):
    g = path_graph(3)
    res = random_walks(g, [1] * 200, num_walkers=1, max_steps=2, seed=0, backend=backend,
                       non_backtracking=False, targets=[1] * 200)
    # from the middle of 0-1-2 every walker returns to 1 after two hops
    assert res.reached.all() and np.all(res.resistance == 2.0)


@pytest.mark.parametrize("backend", CPU_BACKENDS)
def test_threshold_stops_exactly_where_the_arithmetic_says(backend):
    g = path_graph(6, weights=[2.0, 4.0, 1.0, 1.0, 1.0])  # hop resistances 0.5, 0.25, 1, 1, 1
    # R after hops: 0.5, 0.75, 1.75, 2.75; with scale 2 and threshold 3.5:
    # 2*0.75 = 1.5 < 3.5 (node 2 reachable), 2*1.75 = 3.5 >= 3.5 (stops before counting node 3)
    kw = dict(num_walkers=2, max_steps=10, seed=0, backend=backend, scale=2.0,
              stop_resistance=3.5)
    assert random_walks(g, [0], [2], **kw).reached[0]
    assert not random_walks(g, [0], [3], **kw).reached[0]
    assert random_walks(g, [0], [3], **{**kw, "stop_resistance": 3.5001}).reached[0]
    res = random_walks(g, [0], [-1], **kw)
    assert res.num_steps == 2 * 3
    # per-query scales: the second query's larger scale stops it earlier
    res = random_walks(g, [0, 0], [3, 3], **{**kw, "scale": np.array([1.0, 2.0])})
    assert res.reached.tolist() == [True, False]


@pytest.mark.parametrize("backend", CPU_BACKENDS)
def test_weighted_choice_follows_weights(backend):
    # star with leaf weights 1 and 9: first hop from the centre goes to leaf 2 about 90% of the time
    a = sp.csr_array(np.array([[0, 1.0, 9.0], [1.0, 0, 0], [9.0, 0, 0]]))
    res = random_walks(a, [0] * 4000, [2] * 4000, num_walkers=1, max_steps=1, seed=5,
                       weighted=True, backend=backend)
    rate = res.reached.mean()
    assert abs(rate - 0.9) < 4 * np.sqrt(0.9 * 0.1 / 4000)


def test_paths_are_edges_of_the_graph_with_their_ids():
    g = as_structure(nx.convert_node_labels_to_integers(nx.grid_2d_graph(6, 6)))
    rng = np.random.default_rng(0)
    s, t = rng.integers(0, 36, 30), rng.integers(0, 36, 30)
    res = random_walks(g, s, t, num_walkers=64, max_steps=30, seed=9, return_paths=True,
                       backend="numba")
    id_of = {(int(u), int(v)): int(i) for u, v, i in zip(g.rows, g.cols, g.ids, strict=True)}
    for i in np.flatnonzero(res.reached):
        nodes = res.path_nodes[i]
        assert nodes[0] == s[i] and nodes[-1] == t[i]
        ids = [id_of[(min(a, b), max(a, b))] for a, b in zip(nodes[:-1], nodes[1:], strict=True)]
        assert ids == res.paths[i].tolist()
        assert res.resistance[i] == len(ids)  # unit weights
    assert all(len(p) == 0 for p in np.array(res.paths, dtype=object)[~res.reached])


def test_self_loops_are_never_walked():
    g = as_structure(np.array([[0, 0, 1, 1, 2], [0, 1, 0, 2, 1]]))
    res = random_walks(g, [0], [2], num_walkers=4, max_steps=2, seed=0, backend="numpy")
    assert res.hits[0] == 4 and res.resistance[0] == 2.0


def test_seeded_determinism_and_seed_sensitivity():
    g = as_structure(nx.convert_node_labels_to_integers(nx.grid_2d_graph(15, 15)))
    s, t = np.arange(0, 50), np.arange(100, 150)
    a = random_walks(g, s, t, num_walkers=32, max_steps=40, seed=11)
    b = random_walks(g, s, t, num_walkers=32, max_steps=40, seed=11)
    c = random_walks(g, s, t, num_walkers=32, max_steps=40, seed=12)
    assert np.array_equal(a.hits, b.hits) and a.num_steps == b.num_steps
    assert not np.array_equal(a.hits, c.hits)


@pytest.mark.parametrize("backend", CPU_BACKENDS)
def test_a_query_walks_its_own_streams_whatever_the_other_queries_scales(backend):
    g = as_structure(nx.convert_node_labels_to_integers(nx.grid_2d_graph(6, 6)))
    kw = dict(num_walkers=16, max_steps=40, seed=0, return_paths=True, backend=backend)
    s, t = [0, 7, 14, 21], [35] * 4
    plain = random_walks(g, s, t, **kw)
    scaled = random_walks(g, s, t, scale=[1.0, 2.0, 3.0, 4.0], **kw)  # no threshold: no effect
    assert np.array_equal(plain.hits, scaled.hits) and plain.num_steps == scaled.num_steps
    same = random_walks(g, [0, 0], [35, 35], scale=[1.0, 2.0], **kw)  # one query, twice
    assert not np.array_equal(same.path_nodes[0], same.path_nodes[1])  # two streams
    alone = random_walks(g, s, t, scale=[1.0, 2.0, 1.0, 1.0], stop_resistance=60.0, **kw)
    mixed = random_walks(g, s, t, scale=[2.0, 2.0, 3.0, 1.0], stop_resistance=60.0, **kw)
    for i in (1, 3):  # the same scale in both runs, beside other queries of other scales
        assert (alone.hits[i], alone.resistance[i]) == (mixed.hits[i], mixed.resistance[i])


def _grid_queries():
    g = as_structure(nx.convert_node_labels_to_integers(nx.grid_2d_graph(12, 12)))
    w = np.random.default_rng(1).uniform(0.5, 2.0, g.num_edges)
    g = as_structure(sp.coo_array((np.concatenate([w, w]), (np.concatenate([g.rows, g.cols]),
                                                            np.concatenate([g.cols, g.rows])))))
    rng = np.random.default_rng(2)
    return g, rng.integers(0, 144, 40), rng.integers(0, 144, 40)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("non_backtracking", [False, True])
def test_numba_matches_the_reference_exactly(weighted, non_backtracking):
    g, s, t = _grid_queries()
    kw = dict(num_walkers=24, max_steps=30, seed=7, weighted=weighted,
              non_backtracking=non_backtracking, stop_resistance=25.0, return_paths=True,
              scale=np.random.default_rng(3).choice([0.5, 1.0, 2.0], s.size))
    ref = random_walks(g, s, t, backend="numpy", **kw)
    nb = random_walks(g, s, t, backend="numba", **kw)
    assert ref.num_steps == nb.num_steps
    assert np.array_equal(ref.hits, nb.hits)
    assert np.array_equal(ref.resistance, nb.resistance)
    for a, b in zip(ref.paths, nb.paths, strict=True):
        assert np.array_equal(a, b)


def test_statistical_parity_with_independent_seeds():
    """Different seeds on each backend: hit rates and mean resistance agree within confidence
    bounds (a check that does not lean on the shared stream)."""
    g, s, t = _grid_queries()
    kw = dict(num_walkers=200, max_steps=30)
    a = random_walks(g, s, t, backend="numpy", seed=1, **kw)
    b = random_walks(g, s, t, backend="numba", seed=2, **kw)
    n = s.size * 200
    pa, pb = a.hits.sum() / n, b.hits.sum() / n
    se = np.sqrt(pa * (1 - pa) / n + pb * (1 - pb) / n)
    assert abs(pa - pb) < 4 * se + 1e-9
    both = a.reached & b.reached
    assert abs(a.resistance[both].mean() - b.resistance[both].mean()) < 0.15 * a.resistance[
        both].mean()


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(sources=[0, 99]), r"sources\[1\] = 99 is out of range"),
        (dict(sources=[-1]), r"sources\[0\] = -1 is out of range \(0..9\)"),
        (dict(targets=[10]), r"targets\[0\] = 10 is out of range \(-1 or 0..9\)"),
        (dict(num_walkers=0), "num_walkers must be >= 1"),
        (dict(max_steps=0), "max_steps must be >= 1"),
        (dict(stop_resistance=-1.0), "stop_resistance must be a finite number > 0"),
        (dict(chunk_queries=0), "chunk_queries must be >= 1"),
        (dict(weighted="no"), "weighted must be True or False, got 'no'"),
        (dict(scale=0.0), "scale must be positive"),
        (dict(backend="gpu"), "backend must be one of"),
        (dict(targets=[1, 2]), "targets must be integers of shape"),
        (dict(seed=-1), "seed must be >= 0"),  # as every estimator's seed
        # the stream takes the seed modulo 2**64: 2**64 + 5 walked exactly as seed 5 did
        (dict(seed=2**64 + 5), "seed must be <= 18446744073709551615"),
    ],
)
def test_bad_input_gives_clear_errors(kwargs, message):
    args = dict(sources=[0], targets=None, num_walkers=2, max_steps=3)
    args.update(kwargs)
    with pytest.raises((ValueError, TypeError), match=message):
        random_walks(path_graph(10), **args)


def test_negative_weights_are_rejected_at_the_boundary():
    with pytest.raises(ValueError, match="weight must be positive"):
        random_walks(sp.csr_array(np.array([[0, -1.0], [-1.0, 0]])), [0])


@pytest.mark.skipif(has_cuda(), reason="this machine has a GPU")
def test_cuda_without_a_gpu_is_a_clear_error():
    with pytest.raises(RuntimeError, match="needs CuPy and a CUDA GPU"):
        random_walks(path_graph(4), [0], backend="cuda")


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="nvcc not installed")
def test_cuda_kernel_source_compiles(tmp_path):
    from sparsebox.backend._cuda import kernel_source

    src = tmp_path / "walks.cu"
    src.write_text(kernel_source())
    result = subprocess.run(["nvcc", "-std=c++14", "-c", str(src), "-o", str(tmp_path / "w.o")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@pytest.mark.gpu
@pytest.mark.parametrize("weighted", [False, True])
def test_cuda_matches_the_reference_exactly(weighted):
    from sparsebox.parallel import LocalExecutor

    g, s, t = _grid_queries()
    kw = dict(num_walkers=40, max_steps=30, seed=7, weighted=weighted, stop_resistance=25.0,
              scale=np.random.default_rng(3).choice([0.5, 1.0, 2.0], s.size))
    ref = random_walks(g, s, t, backend="numba", **kw)
    gpu = random_walks(g, s, t, backend="cuda", **kw)
    chunked = random_walks(g, s, t, backend="cuda", executor=LocalExecutor(1), chunk_queries=7,
                           **kw)  # each chunk's streams start at its walker offset
    for other in (gpu, chunked):
        assert ref.num_steps == other.num_steps
        assert np.array_equal(ref.hits, other.hits)
        assert np.array_equal(ref.resistance, other.resistance)


def test_free_walk_paths_are_the_first_walkers():
    g = as_structure(nx.star_graph(5))
    res = random_walks(g, [1, 2], num_walkers=3, max_steps=10, seed=0, return_paths=True,
                       backend="numpy")
    for i, src in enumerate([1, 2]):
        nodes = res.path_nodes[i]
        assert nodes[0] == src and nodes[1] == 0 and len(nodes) == 3 and nodes[2] not in (0, src)
        assert len(res.paths[i]) == 2


def test_no_queries_give_empty_results():
    res = random_walks(path_graph(4), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64),
                       scale=np.zeros(0) + 1.0, return_paths=True)
    assert res.reached.shape == (0,) and res.num_steps == 0 and res.paths == []


@pytest.mark.parametrize("kwargs, message", [
    (dict(stop_resistance="3"), "stop_resistance must be a finite number > 0, got '3'"),
    (dict(stop_resistance=True), "stop_resistance must be a finite number > 0, got True"),
    (dict(scale="a"), "scale must be a number or an array of numbers, got 'a'"),
])
def test_a_setting_of_the_wrong_type_is_named(kwargs, message):
    # numpy's own errors ("ufunc 'isfinite' not supported", "could not convert string") before,
    # and True ran as a threshold of 1
    with pytest.raises(ValueError, match=message):
        random_walks(path_graph(4), [0], [3], num_walkers=2, max_steps=3, **kwargs)


@pytest.mark.parametrize("backend", CPU_BACKENDS)
def test_paths_of_short_walks_under_a_generous_step_cap_fit_in_memory(backend):
    # numba's path regenerator allocated queries * max_steps entries: MemoryError here (80 GB)
    # for walks of 9 hops, which the reference returned at once
    res = random_walks(path_graph(10), [0] * 100, [9] * 100, num_walkers=2, max_steps=10**8,
                       seed=0, return_paths=True, backend=backend)
    assert res.reached.all() and all(p.tolist() == list(range(10)) for p in res.path_nodes)


def test_a_graph_without_nodes_says_so_rather_than_give_a_range_of_0_to_minus_1():
    with pytest.raises(ValueError, match=r"sources\[0\] = 0 is out of range \(the graph has no nodes\)"):
        random_walks(as_structure(np.zeros((2, 0), dtype=np.int64)), [0], [0])


@pytest.mark.parametrize("backend", CPU_BACKENDS)
def test_torch_queries_and_a_scale_that_requires_grad_are_read(backend):
    # dyGRASS's scale is an edge's weight: one taken from a trained weight tensor requires grad,
    # and numpy refused it ("Can't call numpy() on Tensor that requires grad"), as it refuses a
    # tensor on a GPU
    torch = pytest.importorskip("torch")
    weight = torch.tensor([2.0, 1.0], requires_grad=True)
    kwargs = dict(num_walkers=4, max_steps=5, stop_resistance=5.0, backend=backend)
    res = random_walks(path_graph(4), torch.tensor([0, 0]), torch.tensor([3, 3]), scale=weight, **kwargs)
    assert res.reached.tolist() == [False, True] and res.resistance[1] == 3.0
    same = random_walks(path_graph(4), [0, 0], [3, 3], scale=[2.0, 1.0], **kwargs)
    assert np.array_equal(res.hits, same.hits)


@pytest.mark.parametrize("backend", CPU_BACKENDS)
def test_a_query_whose_target_is_its_source_asks_for_a_return(backend):
    # as the Notes say: standing on the source is not reaching it
    kwargs = dict(num_walkers=4, max_steps=10, backend=backend)
    around = random_walks(as_structure(nx.cycle_graph(5)), [2], [2], **kwargs)
    assert around.hits.tolist() == [4] and around.resistance.tolist() == [5.0]
    assert not random_walks(path_graph(4), [1], [1], **kwargs).reached[0]  # no way back on a tree
    back = random_walks(path_graph(4), [0], [0], non_backtracking=False, **kwargs)
    assert back.reached[0] and back.resistance[0] == 2.0


@pytest.mark.parametrize("backend", CPU_BACKENDS)
def test_a_step_cap_past_int64_caps_nothing_on_every_backend(backend):
    # the reference took max_steps=2**64 (DynamicSpectralSparsifier passes any cap >= 1 on), and
    # numba failed on it with its own traceback (a TypingError, or "int too big to convert")
    kwargs = dict(num_walkers=4, seed=3, return_paths=True, backend=backend)
    capped = random_walks(path_graph(10), [0, 4], [9, -1], max_steps=100, **kwargs)
    for max_steps in (2**64, 10**30):
        res = random_walks(path_graph(10), [0, 4], [9, -1], max_steps=max_steps, **kwargs)
        assert np.array_equal(res.hits, capped.hits) and res.num_steps == capped.num_steps
        assert all(np.array_equal(a, b) for a, b in zip(res.paths, capped.paths, strict=True))


def test_an_executor_that_is_not_one_is_named():
    # "'str' object has no attribute 'run'" from inside the chunking before
    with pytest.raises(ValueError, match=r"executor must be a sparsebox.parallel.Executor \(such as "
                                         r"make_executor\('ray'\)\), got 'ray'"):
        random_walks(path_graph(4), [0], [3], executor="ray")


def test_the_cuda_launch_passes_each_argument_in_the_type_the_kernel_declares(monkeypatch):
    # no GPU needed: a stand-in for CuPy records the launch. max_steps went as int32, an
    # OverflowError for the caps from 2**31 up that numba and the reference take
    import re
    import sys
    import types

    import sparsebox.backend
    from sparsebox.backend import _cuda

    launches = []
    fake = types.SimpleNamespace(asarray=lambda a, dtype=None: np.asarray(a, dtype=dtype),
                                 zeros=np.zeros, empty=np.empty, asnumpy=np.asarray,
                                 int64=np.int64, float64=np.float64, bool_=np.bool_)
    monkeypatch.setitem(sys.modules, "cupy", fake)
    monkeypatch.setattr(sparsebox.backend, "has_cuda", lambda: True)
    monkeypatch.setattr(_cuda, "_kernel", lambda: lambda grid, block, args: launches.append(args))
    for max_steps in (100, 2**31, 2**64):
        random_walks(path_graph(4), [0, 1], [3, -1], num_walkers=3, max_steps=max_steps,
                     backend="cuda")
    signature = re.search(r"random_walks\((.*?)\)\s*\{", _cuda.KERNEL_SOURCE, re.S).group(1)
    c_types = {"long long": np.int64, "int": np.int32, "unsigned long long": np.uint64,
               "double": np.float64, "bool": np.bool_}
    for args in launches:
        for declared, arg in zip(signature.split(","), args, strict=True):
            c_type = re.sub(r"\bconst\b|__restrict__|\w+$", "", declared.strip()).strip()
            if c_type.endswith("*"):
                assert arg.dtype == c_types[c_type.rstrip("* ")], declared
            else:
                assert type(arg) is c_types[c_type], declared
    assert [int(args[8]) for args in launches] == [100, 2**31, 2**63 - 1]


@pytest.mark.parametrize("kwargs, message", [
    (dict(sources=[0.0]), "sources must be a one-dimensional integer array"),
    (dict(sources=[7]), r"sources\[0\] = 7 is out of range \(0..3\)"),
    (dict(targets=[-2]), r"targets\[0\] = -2 is out of range \(-1 or 0..3\)"),
    (dict(targets=[1, 2]), r"targets must be integers of shape \(1,\)"),
    (dict(scale=[1.0, 2.0]), r"scale must be a number or an array of shape \(1,\)"),
    (dict(scale=-2.0), "scale must be positive and finite, got -2.0"),
    (dict(sources=[0, 1], targets=[3, 3], scale=[1.0, float("nan")]),
     "scale must be positive and finite, got nan at position 1"),
    (dict(backend="gpu"), r"backend must be one of \('auto', 'numpy', 'numba', 'cuda'\), got 'gpu'"),
])
def test_bad_queries_and_settings_are_invalid_parameter_errors(kwargs, message):
    # bare ValueError / TypeError before, which `except InvalidParameterError` missed
    args = dict(sources=[0], targets=[3], num_walkers=2, max_steps=3, backend="numpy")
    args.update(kwargs)
    with pytest.raises(InvalidParameterError, match=message):
        random_walks(path_graph(4), **args)


def _effective_resistance(g):
    lap = np.linalg.pinv(g.laplacian().toarray())
    d = np.diag(lap)
    return d[:, None] + d[None, :] - 2 * lap


@pytest.mark.parametrize("backend", CPU_BACKENDS)
@pytest.mark.parametrize("graph", ["tree", "cycle_with_chord"])
def test_walk_resistance_is_a_path_s_bounded_below_by_the_effective_resistance(graph, backend):
    # a path's resistance is at least the effective resistance (Rayleigh), with equality on a tree
    if graph == "tree":
        edges, w = [(0, 1), (1, 2), (1, 3), (3, 4)], [1.0, 2.0, 0.5, 4.0]
    else:
        edges, w = [(0, 1), (1, 2), (2, 3), (3, 0), (0, 2)], [1.0, 2.0, 3.0, 4.0, 5.0]
    n = max(max(e) for e in edges) + 1
    rows, cols = np.array(edges).T
    g = as_structure(sp.csr_array((w + w, (np.r_[rows, cols], np.r_[cols, rows])), shape=(n, n)))
    exact = _effective_resistance(g)
    s, t = (a.ravel() for a in np.nonzero(~np.eye(n, dtype=bool)))
    res = random_walks(g, s, t, num_walkers=64, max_steps=20, seed=1, backend=backend)
    assert res.reached.all()
    assert np.all(res.resistance >= exact[s, t] - 1e-12)
    if graph == "tree":
        np.testing.assert_allclose(res.resistance, exact[s, t], rtol=1e-12)


def test_no_structure_is_named_by_random_walks_parameter():
    """random_walks(None, ...) said "x must be a [2, E] integer edge_index" (as_structure's
    name for its argument)."""
    from sparsebox.exceptions import InvalidParameterError
    from sparsebox.walks import random_walks

    with pytest.raises(InvalidParameterError, match="^structure must be a"):
        random_walks(None, [0], [1])
