"""The common contract, checked for every registered method (the registry is the list).

Each data kind a method may take has a small input here; adding a method of a known kind needs no
edit to this file.
"""

from __future__ import annotations

import inspect
import math
import pickle

import networkx as nx
import numpy as np
import pytest
import sklearn.exceptions
import torch
from sklearn.base import clone
from sklearn.utils.validation import check_is_fitted

from sparsebox import as_structure, select
from sparsebox.base import StreamingSparsifier
from sparsebox.exceptions import InvalidParameterError, NotFittedError
from sparsebox.registry import DATA_KINDS, methods

ENTRIES = methods()


def _grid():
    return as_structure(nx.convert_node_labels_to_integers(nx.grid_2d_graph(8, 8)))  # 112 edges


def _node_graph():
    from torch_geometric.datasets import KarateClub

    data = KarateClub()[0]  # 34 nodes, 78 undirected edges, shipped with PyG
    data.val_mask = data.test_mask = ~data.train_mask
    return data


def _splats():
    from scenesparse.gaussians import GaussianScene
    from scenesparse.importance import default_cameras

    g = torch.Generator().manual_seed(0)
    n = 300
    scene = GaussianScene(means=torch.rand(n, 3, generator=g) * 0.2,
                          quats=torch.randn(n, 4, generator=g),
                          log_scales=torch.full((n, 3), -4.0),
                          opacity_logits=torch.randn(n, generator=g),
                          sh_dc=torch.randn(n, 3, generator=g), sh_rest=torch.zeros(n, 0, 3))
    return scene, default_cameras(scene, 3, 32)


def _molecules():
    """Twelve small labelled molecules (rings with ogb-style integer atom and bond features)."""
    from torch_geometric.data import Data

    g = torch.Generator().manual_seed(0)
    graphs = []
    for i, n in enumerate((4, 5, 6, 7, 8, 9) * 2):
        ring = torch.arange(n)
        edges = torch.stack([torch.cat([ring, (ring + 1) % n]), torch.cat([(ring + 1) % n, ring])])
        graphs.append(Data(x=torch.randint(0, 2, (n, 9), generator=g), edge_index=edges,
                           edge_attr=torch.randint(0, 2, (2 * n, 3), generator=g),
                           y=torch.tensor([[float(i % 2)]])))
    return graphs


def _splat_frames():
    """Frame t-1 (the small scene), its cameras, the photos of frame t (one Gaussian in five
    moved) and of frame t-1."""
    from scenesparse.rendering import render

    scene, cams = _splats()
    moved = scene.means.clone()
    moved[::5] += 0.02
    after = type(scene)(means=moved, quats=scene.quats, log_scales=scene.log_scales,
                        opacity_logits=scene.opacity_logits, sh_dc=scene.sh_dc,
                        sh_rest=scene.sh_rest)
    with torch.no_grad():
        now = [render(after, c).image.clamp(0, 1) for c in cams]
        before = [render(scene, c).image.clamp(0, 1) for c in cams]
    return scene, (cams, now, before)


def _points():
    x = np.random.default_rng(0).normal(size=(400, 3))
    return x / np.linalg.norm(x, axis=1, keepdims=True)


_NERF_FAST = {"levels": 2, "table_size": 256, "finest_resolution": 32, "steps": 3,
              "batch_rays": 32, "saliency_resolution": 4, "occupancy_resolution": 8}


def _nerf_views():
    """Three 8x8 views of a red ball of radius 0.5 at the origin on white."""
    from scenesparse.cameras import orbit_cameras
    from scenesparse.nerf.volume import camera_rays
    from scenesparse.photos import PhotoViews

    cams = orbit_cameras((0.0, 0.0, 0.0), 4.0, 3, width=8, height=8)
    images = []
    for cam in cams:
        origins, dirs = camera_rays(cam)
        along = -(origins * dirs).sum(1)
        miss = (origins + along[:, None] * dirs).norm(dim=1) > 0.5
        image = torch.tensor([1.0, 0.1, 0.1]).repeat(len(dirs), 1)
        image[miss] = 1.0
        images.append(image.reshape(8, 8, 3))
    return PhotoViews(cams, images, cams, images, "a red ball")


def _hash_entries(views):
    from scenesparse.nerf.hashgrid import HashGrid

    keys = ("levels", "table_size", "finest_resolution")
    return HashGrid(**{k: _NERF_FAST[k] for k in keys}).num_entries


#: Per data kind: (make the input, number of items, extra fit arguments, fast parameters).
INPUTS = {
    "graph": (_grid, lambda g: as_structure(g).num_items, lambda data: (), {}),
    "edge-stream": (_grid, lambda g: as_structure(g).num_items, lambda data: (), {}),
    "node-graph": (_node_graph, lambda d: int((d.edge_index[0] < d.edge_index[1]).sum()),
                   lambda data: (), {"epochs": 3}),
    "splats": (lambda: _splats()[0], len, lambda data: (_splats()[1],),
               {"rounds": 1, "views": 3, "resolution": 32}),
    "splat-frames": (lambda: _splat_frames()[0], len, lambda data: _splat_frames()[1],
                     {"epochs": 1}),
    "points": (_points, len, lambda data: (), {}),
    "molecules": (_molecules, lambda gs: sum(g.num_nodes for g in gs), lambda data: (),
                  {"epochs": 1, "hidden": 8, "num_layers": 1, "heads": 2}),
    "nerf-views": (_nerf_views, _hash_entries, lambda data: (), _NERF_FAST),
}


def test_every_data_kind_has_an_input():
    assert set(INPUTS) == set(DATA_KINDS)


def _make(entry, **params):
    cls = entry.load()
    fast = {k: v for k, v in INPUTS[entry.data][3].items() if k in cls._get_param_names()}
    return entry.create(**{**fast, **params})


def _fit(entry, estimator):
    make, _, extra, _ = INPUTS[entry.data]
    data = make()
    return estimator.fit(data, *extra(data)), data


ids = [f"{e.item}:{e.name}" for e in ENTRIES]


@pytest.mark.parametrize("entry", ENTRIES, ids=ids)
def test_constructs_with_defaults_and_documents_itself(entry):
    cls = entry.load()
    est = entry.create()
    assert set(est.get_params()) == set(cls._get_param_names())
    assert repr(est).startswith(cls.__name__ + "(")
    doc = cls.__doc__ or ""
    assert "Examples" in doc and ">>>" in doc, f"{cls.__name__} needs a runnable example"
    assert entry.summary and entry.item in ("edge", "weight", "gaussian", "point", "token",
                                            "head", "layer", "hash cell", "residual")
    assert cls.item == entry.item, (f"{entry.name} is registered as a {entry.item} method, but "
                                    f"{cls.__name__}.item is {cls.item!r}")
    if not cls.__module__.startswith(("sparsebox.", "graphsparse.", "scenesparse.")):
        # another package's method: its example runs here (ours run with --doctest-modules)
        import doctest

        runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
        for test in doctest.DocTestFinder(recurse=False).find(cls):
            runner.run(test)
        assert runner.summarize(verbose=False).failed == 0, f"{cls.__name__}'s example fails"


@pytest.mark.parametrize("entry", ENTRIES, ids=ids)
def test_clone_round_trip_and_set_params(entry):
    est = _make(entry)
    twin = clone(est)
    assert twin is not est and type(twin) is type(est)
    assert twin.get_params() == est.get_params()
    name = sorted(est.get_params())[0]
    assert twin.set_params(**{name: est.get_params()[name]}) is twin
    with pytest.raises(InvalidParameterError, match="has no parameter 'no_such_parameter'"):
        twin.set_params(no_such_parameter=1)
    # the registry's constructor gave Python's own TypeError, naming no valid parameter
    with pytest.raises(InvalidParameterError, match="has no parameter 'no_such_parameter'; valid: "):
        entry.create(no_such_parameter=1)
    # a call with an unknown name sets none of the others (it set those before it)
    with pytest.raises(InvalidParameterError, match="has no parameter 'no_such_parameter'"):
        twin.set_params(**{name: object(), "no_such_parameter": 1})
    assert twin.get_params() == est.get_params()


@pytest.mark.parametrize("entry", ENTRIES, ids=ids)
def test_repr_shows_the_parameters_that_are_not_the_defaults(entry):
    """As scikit-learn's ``print_changed_only``: a value equal to the default but not it
    (``hops=1.0``, ``seed=False``, ``seed=torch.tensor(0)``, which ``fit`` refuses) was hidden, so
    the repr read as an estimator that works."""
    cls, est = entry.load(), entry.create()
    defaults = {name: p.default for name, p in inspect.signature(cls.__init__).parameters.items()}
    changed = [f"{k}={v!r}" for k, v in sorted(entry.params.items()) if v != defaults[k]]
    assert repr(est) == f"{cls.__name__}({', '.join(changed)})"
    for name, default in est.get_params().items():
        if type(default) in (int, bool):
            others = [float(default), torch.tensor(default)]
            if default in (0, 1):
                others.append(int(default) if type(default) is bool else bool(default))
            for other in others:
                assert f"{name}={other!r}" in repr(clone(est).set_params(**{name: other}))


@pytest.mark.parametrize("entry", ENTRIES, ids=ids)
def test_use_before_fit_names_fit(entry):
    make = INPUTS[entry.data][0]
    with pytest.raises(NotFittedError, match=r"fit"):
        _make(entry).transform(make())
    with pytest.raises(NotFittedError, match=r"fit"):  # checked first: gtsp read its input first
        _make(entry).transform([1, 2])
    with pytest.raises(sklearn.exceptions.NotFittedError):  # scikit-learn's own check
        check_is_fitted(_make(entry))


def _same_data(a, b) -> bool:
    """Whether two inputs hold the same values (arrays, tensors, structures, dataclasses)."""
    import dataclasses

    from sparsebox import SparseStructure

    if isinstance(a, SparseStructure):
        return a.equals(b)
    if isinstance(a, torch.Tensor):
        return torch.equal(a, b)
    if isinstance(a, np.ndarray):
        return np.array_equal(a, b, equal_nan=a.dtype.kind == "f")
    if dataclasses.is_dataclass(a):
        return all(_same_data(getattr(a, f.name), getattr(b, f.name))
                   for f in dataclasses.fields(a))
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same_data(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same_data(a[k], b[k]) for k in a)
    return True  # other kinds (PyG data, views) are not compared here


@pytest.mark.parametrize("entry", [e for e in ENTRIES if e.data in ("graph", "points", "splats")],
                         ids=lambda e: f"{e.item}:{e.name}")
def test_fit_leaves_its_input_as_it_was(entry):
    import copy

    make, _, extra, _ = INPUTS[entry.data]
    data = make()
    before = copy.deepcopy(data)
    _make(entry).fit(data, *extra(data))
    assert _same_data(before, data), f"{entry.name}.fit changed its input"


@pytest.mark.parametrize("entry", ENTRIES, ids=ids)
def test_fit_sets_scores_and_mask_aligned_with_the_items(entry):
    est, data = _fit(entry, _make(entry))
    check_is_fitted(est)
    n = INPUTS[entry.data][1](data)
    assert est.mask_.dtype == bool and est.mask_.shape == (n,)
    scores = np.asarray(est.scores_)
    assert scores.shape == (n,) and np.issubdtype(scores.dtype, np.floating)
    assert not np.isnan(scores).any()
    assert est.transform(data) is not None


@pytest.mark.parametrize("entry", [e for e in ENTRIES if e.data not in ("splats", "splat-frames")],
                         ids=[i for e, i in zip(ENTRIES, ids, strict=True)
                              if e.data not in ("splats", "splat-frames")])
def test_fit_takes_scikit_learns_y_none(entry):
    """A pipeline calls ``fit_transform(X, y)`` with ``y=None``; splat methods take cameras
    second instead."""
    make = INPUTS[entry.data][0]
    data = make()
    est = _make(entry).fit(data, None)
    assert est.mask_.shape == (INPUTS[entry.data][1](data),)


@pytest.mark.parametrize("entry", [e for e in ENTRIES if "keep_ratio" in e.load().sizing],
                         ids=[i for e, i in zip(ENTRIES, ids, strict=True)
                              if "keep_ratio" in e.load().sizing])
@pytest.mark.parametrize("bad", [0, 1.5, -1, math.nan, "half"])
def test_bad_keep_ratio_gives_the_standard_message(entry, bad):
    with pytest.raises(InvalidParameterError, match=r"keep_ratio must be in \(0, 1\], got "):
        _fit(entry, _make(entry, keep_ratio=bad))


@pytest.mark.parametrize("entry", [e for e in ENTRIES if "budget" in e.load().sizing],
                         ids=[i for e, i in zip(ENTRIES, ids, strict=True)
                              if "budget" in e.load().sizing])
def test_budgets_are_met_exactly(entry):
    make, count, _, _ = INPUTS[entry.data]
    n = count(make())
    for budget in (int(0.9 * n), int(0.7 * n)):
        est, data = _fit(entry, _make(entry, budget=budget))
        assert int(est.mask_.sum()) == budget
    for bad in (-3, 0):  # nothing kept is no sparsifier, as keep_ratio 0 is refused
        with pytest.raises(InvalidParameterError, match=rf"budget must be an integer >= 1, got {bad}"):
            _fit(entry, _make(entry, budget=bad))
    with pytest.raises(InvalidParameterError, match="give one of"):
        _fit(entry, _make(entry, budget=budget, keep_ratio=0.5))


@pytest.mark.parametrize("entry", [e for e in ENTRIES if "density" in e.load().sizing],
                         ids=[i for e, i in zip(ENTRIES, ids, strict=True)
                              if "density" in e.load().sizing])
def test_a_density_above_the_graphs_own_keeps_every_edge_and_says_so(entry):
    """A budget above the edges is refused; a density above the graph's kept every edge without
    a word (a user's --density 100 on a graph of 13.85 edges per node)."""
    import warnings

    make, count, _, _ = INPUTS[entry.data]
    n = count(make())
    with pytest.warns(UserWarning, match=r"^density 1000 asks for .* edges, more than the "
                                         rf"graph's {n:,} .*: every edge is kept$"):
        est, _ = _fit(entry, _make(entry, density=1000))
    assert int(est.mask_.sum()) == n
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _fit(entry, _make(entry, density=1.5))


def test_the_density_warning_is_for_a_density_given_once_per_fit():
    """The class's default density on a sparser graph warned as if the user had asked for it,
    dyGRASS warned twice (its own size and its static sparsifier's), and TeddyTransform once per
    small graph of a dataset."""
    import warnings

    import networkx as nx

    from graphsparse import DynamicSpectralSparsifier
    from sparsebox import as_structure
    from sparsebox.exceptions import DensityCapWarning

    path = as_structure(nx.path_graph(10))  # density 0.9, below the default 1.10
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        DynamicSpectralSparsifier(seed=0).fit(path)
    for cap in (None, 4.0):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            DynamicSpectralSparsifier(seed=0, density=3, max_density=cap).fit(path)
        assert [w.category for w in caught] == [DensityCapWarning], caught
        assert caught[0].filename == __file__  # pointed at the caller, not the library
    import torch
    from torch_geometric.data import Data

    from graphsparse.transforms import TeddyTransform

    data = Data(edge_index=torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]]), num_nodes=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert TeddyTransform(density=5)(data).edge_index.shape[1] == 4  # every edge kept


@pytest.mark.parametrize("entry", [e for e in ENTRIES if e.streaming],
                         ids=[i for e, i in zip(ENTRIES, ids, strict=True) if e.streaming])
def test_streaming_state_round_trip(entry):
    """A fresh estimator that loads a state goes on exactly as the one that saved it."""
    est, data = _fit(entry, _make(entry, seed=3))
    assert isinstance(est, StreamingSparsifier)
    est.update([("+", 0, 63, 2.0), ("-", 0, 1)])
    saved = est.state_dict()
    twin = clone(est).load_state_dict(saved)
    batch = [("+", 5, 40, 1.0), ("-", 9, 10), ("+", 2, 61, 1.0)]
    a, b = est.update(batch), twin.update(batch)
    assert a.to_dict() | {"seconds": 0} == b.to_dict() | {"seconds": 0}
    assert est.graph_.equals(twin.graph_) and est.sparsifier_.equals(twin.sparsifier_)


@pytest.mark.parametrize("entry", [e for e in ENTRIES if "seed" in e.load()._get_param_names()],
                         ids=[i for e, i in zip(ENTRIES, ids, strict=True)
                              if "seed" in e.load()._get_param_names()])
def test_a_seed_out_of_range_is_refused_by_name(entry):
    # 2**64 passed, and torch.manual_seed (UGS) then failed with "Overflow when unpacking long"
    for seed in (-1, 2**64):
        with pytest.raises(InvalidParameterError,
                           match=fr"seed must be an integer in \[0, 18446744073709551615\], got {seed}"):
            _make(entry, seed=seed)._validate_params()
    # the bounds are compared exactly: float(2**64 - 1) rounds up past the top seed
    _make(entry, seed=2**64 - 1)._validate_params()


def test_an_unknown_item_or_data_kind_is_refused():
    from sparsebox.registry import get_method

    with pytest.raises(InvalidParameterError, match="item must be one of .* got 'bogus'"):
        get_method("teddy", item="bogus")
    with pytest.raises(InvalidParameterError, match="data must be one of .* got 'bogus'"):
        methods(data="bogus")


def test_registering_a_built_in_name_before_the_registry_loads_is_refused_at_once(monkeypatch):
    """A fresh process: the user's register() ran before anything listed the methods, took
    'teddy', and the built-ins then failed to load on every later call, blaming graphsparse."""
    import sys

    from sparsebox import registry

    methods()  # what monkeypatch puts back holds the built-ins
    monkeypatch.setattr(registry, "_REGISTRY", {})
    monkeypatch.setattr(registry, "_LOADED", False)
    for name in ("graphsparse.methods", "scenesparse.methods"):  # registered again on import
        monkeypatch.delitem(sys.modules, name)
    with pytest.raises(InvalidParameterError, match="^an edge method named 'teddy' is registered "
                                                    "already"):  # (it said "a edge method")
        registry.register("teddy", item="edge", target="mine:Teddy", summary="", data="graph")
    assert registry.get_method("teddy", item="edge").target == "graphsparse.teddy:TeddyPruner"
    registry.register("mine", item="edge", target="mine:Mine", summary="", data="graph")
    assert [e.name for e in methods(item="edge")][-1] == "mine"  # after the built-ins


def test_a_registered_method_s_params_are_read_only_and_checked_when_it_is_made(monkeypatch):
    """``get_method("opacity").params["score"] = "volume"`` made every later ``create()`` of
    "opacity" a volume pruner; an entry's parameter its class does not take failed at create()
    with Python's bare TypeError, naming neither the entry nor the method; a name of "" was
    registered."""
    import copy
    import dataclasses
    import json
    import pickle

    from sparsebox import registry
    from sparsebox.registry import get_method

    entry = get_method("opacity")
    with pytest.raises(TypeError):
        entry.params["score"] = "volume"
    assert entry.create().score == "opacity"
    assert pickle.loads(pickle.dumps(entry)) == entry == copy.deepcopy(entry)
    assert json.loads(json.dumps(entry.params)) == dataclasses.asdict(entry)["params"] == {
        "score": "opacity"}  # still a dict (a read-only mappingproxy was neither)
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))  # put back after
    with pytest.raises(InvalidParameterError, match="name must be a non-empty string, got ''"):
        registry.register("", item="edge", target="mine:Mine", summary="", data="graph")
    broken = registry.register("broken", item="edge", target="graphsparse.teddy:TeddyPruner",
                               summary="", data="graph", params={"bogus": 1})
    with pytest.raises(InvalidParameterError, match=r"the registered edge method 'broken' \("
                       r"graphsparse.teddy:TeddyPruner\) is broken: TeddyPruner has no parameter "
                       "'bogus'"):
        broken.create()


@pytest.mark.parametrize("name", ["teddy", "random", "effective-resistance", "ugs", "fegrass"])
def test_a_budget_above_the_non_loop_edges_says_that_self_loops_are_apart(name):
    """The graph baselines size the same edges, so they refuse the same budgets the same way:
    effective resistances and UGS said ``budget must be <= 24`` of a graph of 40 edges. The
    methods that keep the top of their scores keep it with self-loops too."""
    from torch_geometric.transforms import AddSelfLoops

    from sparsebox.registry import get_method

    entry = get_method(name, item="edge")
    if entry.data == "graph":
        grid = nx.convert_node_labels_to_integers(nx.grid_2d_graph(4, 4))  # 24 edges
        data, edges, loops = as_structure(nx.Graph([*grid.edges, *((i, i) for i in grid)])), 24, 16
    else:
        data, edges, loops = AddSelfLoops()(_node_graph()), 78, 34
    est = _make(entry, budget=edges).fit(data)
    assert int(est.mask_.sum()) == edges + loops
    if name in ("teddy", "random", "ugs"):  # (feGRASS spreads its picks, ER draws by its scores)
        # random scored its self-loops as any edge: its mask was not the top of its scores
        half = _make(entry, budget=edges // 2).fit(data)
        assert np.array_equal(half.mask_, select(half.scores_, budget=edges // 2 + loops))
    with pytest.raises(InvalidParameterError, match=rf"budget {edges + 1} is more than the {edges} "
                       rf"edges other than self-loops \(the {loops} self-loops are always kept"):
        _make(entry, budget=edges + 1).fit(data)


@pytest.mark.parametrize("name", ["teddy", "random", "effective-resistance", "fegrass"])
def test_a_refit_refused_for_its_budget_leaves_the_last_fit_whole(name):
    """TEDDY set the new graph's scores_ before it refused the budget: scores_ of 4 edges beside
    a mask_ of 78."""
    from sparsebox.registry import get_method

    est = _make(get_method(name, item="edge"), budget=40).fit(nx.karate_club_graph())
    before = (est.scores_.copy(), est.mask_.copy())
    with pytest.raises(InvalidParameterError, match="budget 40 is more than the graph's 4 edges"):
        est.fit(nx.path_graph(5))
    assert np.array_equal(est.scores_, before[0]) and np.array_equal(est.mask_, before[1])


def test_dygrass_refuses_a_budget_above_the_edges_in_the_same_words():
    """dyGRASS said ``budget must be <= 24``; it drops self-loops (G has none), which it says."""
    from sparsebox.registry import get_method

    grid = nx.convert_node_labels_to_integers(nx.grid_2d_graph(4, 4))  # 24 edges
    looped = nx.Graph([*grid.edges, *((i, i) for i in grid)])
    for graph, words in ((grid, "the graph's 24 edges$"), (looped, r"the 24 edges other than "
                         r"self-loops \(dyGRASS drops the graph's 16 self-loops\)$")):
        fitted = _make(get_method("dygrass", item="edge"), budget=24).fit(graph)
        assert fitted.mask_.sum() == 24
        assert fitted.graph_.ids.tolist() == list(range(24))  # numbered past the dropped loops
        for data in (graph, as_structure(graph)):
            with pytest.raises(InvalidParameterError, match=rf"^budget 25 is more than {words}"):
                _make(get_method("dygrass", item="edge"), budget=25).fit(data)
    only_loops = nx.Graph([(i, i) for i in range(3)])  # it said "the graph has no edges at all"
    with pytest.raises(InvalidParameterError, match=r"^budget 1 counts edges other than "
                       r"self-loops, and the graph has none: only 3 self-loops, which dyGRASS "
                       "drops$"):
        _make(get_method("dygrass", item="edge"), budget=1).fit(only_loops)


@pytest.mark.parametrize("entry", [e for e in ENTRIES if "keep_ratio" in e.load().sizing],
                         ids=[i for e, i in zip(ENTRIES, ids, strict=True)
                              if "keep_ratio" in e.load().sizing])
def test_a_size_given_as_a_0d_tensor_or_array_says_so(entry):
    """``keep_ratio=torch.tensor(0.5)`` was refused as ``keep_ratio must be in (0, 1], got
    tensor(0.5000)``: a value in (0, 1], by the message's own words."""
    with pytest.raises(InvalidParameterError, match=r"keep_ratio must be in \(0, 1\], got "
                       r"tensor\(0.5000\) \(a 0-d tensor: pass its .item\(\), 0.5\)$"):
        _make(entry, keep_ratio=torch.tensor(0.5))._validate_params()
    if "budget" in entry.load().sizing:
        with pytest.raises(InvalidParameterError, match=r"budget must be an integer >= 1, got "
                           r"array\(2\) \(a 0-d array: pass its .item\(\), 2\)$"):
            _make(entry, budget=np.array(2))._validate_params()
    with pytest.raises(InvalidParameterError, match=r"got tensor\(1.5000\)$"):  # no hint: 1.5 is out
        _make(entry, keep_ratio=torch.tensor(1.5))._validate_params()


def test_a_default_size_that_keeps_nothing_says_it_is_the_default():
    """With no size given, ``keep_ratio 0.1 keeps none of the 4 points`` named a keep ratio the
    user never gave."""
    from sparsebox.base import Sparsifier
    from sparsebox.select import select

    class Top(Sparsifier):
        item = "point"
        sizing = ("keep_ratio", "budget")
        default_size = ("keep_ratio", 0.1)

        def __init__(self, *, keep_ratio=None, budget=None):
            self.keep_ratio, self.budget = keep_ratio, budget

        def fit(self, x, y=None):
            self._validate_params()
            self.scores_ = np.asarray(x, dtype=float)
            self.mask_ = select(self.scores_, budget=self._size(len(x)))
            return self

    with pytest.raises(InvalidParameterError,
                       match=r"^keep_ratio 0.1 \(the default\) keeps none of the 4 points; give"):
        Top().fit([1.0, 2.0, 3.0, 4.0])
    with pytest.raises(InvalidParameterError, match=r"^keep_ratio 0.1 keeps none of the 4 points"):
        Top(keep_ratio=0.1).fit([1.0, 2.0, 3.0, 4.0])
    with pytest.raises(InvalidParameterError, match=r"^keep_ratio 0.1 keeps none of the 1 point;"):
        Top(keep_ratio=0.1).fit([1.0])  # (it said "the 1 points")
    assert Top().fit(np.arange(10.0)).mask_.tolist() == [False] * 9 + [True]


def test_a_size_given_as_a_fraction_reads_as_the_number_it_is():
    """``select(keep_ratio=Fraction(1, 2))`` works, and the estimators' constraints take any real
    number; but ``density=Fraction(3, 2)`` was refused as ``density must be a finite number > 0,
    got Fraction(3, 2)``, and a Fraction keep ratio that keeps nothing failed formatting its
    message (``unsupported format string passed to Fraction.__format__``)."""
    from fractions import Fraction

    from graphsparse import TeddyPruner

    g = _grid()  # 64 nodes, 112 edges
    assert int(TeddyPruner(density=Fraction(3, 2)).fit(g).mask_.sum()) == 96
    assert int(TeddyPruner(keep_ratio=Fraction(1, 2)).fit(g).mask_.sum()) == 56
    with pytest.raises(InvalidParameterError, match=r"^keep_ratio 0.001 keeps none of the 112 edges"):
        TeddyPruner(keep_ratio=Fraction(1, 1000)).fit(g)
    with pytest.raises(InvalidParameterError, match=r"^density 0.001 keeps none of the 112 edges"):
        TeddyPruner(density=Fraction(1, 1000)).fit(g)


def _string_options():
    """(entry, parameter, its default) of every registered method's string option."""
    from sparsebox._validation import Options

    found = []
    for entry in ENTRIES:
        cls = entry.load()
        for name, alternatives in cls._parameter_constraints.items():
            default = entry.create().get_params()[name]
            if isinstance(default, str) and any(isinstance(c, Options) for c in alternatives):
                found.append((entry, name, default))
    return found


@pytest.mark.parametrize("entry,name,default", _string_options(),
                         ids=[f"{e.item}:{e.name}:{n}" for e, n, _ in _string_options()])
def test_a_string_option_may_be_a_numpy_string(entry, name, default):
    """An option read from a numpy array of names (``np.str_``, a ``str``) was refused as
    ``solver must be one of 'auto', 'direct', 'amg', got np.str_('auto') (a 0-d array: pass its
    .item(), 'auto')``; scikit-learn's ``StrOptions`` takes it."""
    est = _make(entry, **{name: np.array([default])[0]})
    est._validate_params()
    if name in entry.params:  # what the entry is (a score of GaussianPruner): the registry's
        message = rf"^the {entry.item} method {entry.name!r} is .* {name}=np.str_\('bogus'\) would"
    else:
        message = rf"^{name} must be .*one of .*got np.str_\('bogus'\)$"
    with pytest.raises(InvalidParameterError, match=message):
        _make(entry, **{name: np.str_("bogus")})._validate_params()


def test_a_spectral_sparsifier_refuses_its_edges_with_other_weights():
    """FeGrass's mask is chosen by the weights: on lesmis's edges with every weight 1 it gave
    kappa 29.6, where a fit on them gives 11.6, without a word. Methods that read no weights
    (random edges) take the same edges with any weights."""
    from graphsparse import FeGrassSparsifier
    from graphsparse.random_edges import RandomEdgePruner
    from sparsebox.data.graphs import load_graph

    g = load_graph("lesmis")
    assert len(set(g.weights.tolist())) > 1
    ones = as_structure(np.stack([np.r_[g.rows, g.cols], np.r_[g.cols, g.rows]]),
                        num_nodes=g.num_nodes)
    assert np.array_equal(ones.rows, g.rows) and np.array_equal(ones.cols, g.cols)
    est = FeGrassSparsifier(density=1.3).fit(g)
    with pytest.raises(InvalidParameterError, match="not the same ones or not of the same weights"):
        est.transform(ones)
    assert est.transform(g).num_items == int(est.mask_.sum())
    blind = RandomEdgePruner(keep_ratio=0.5, seed=0).fit(g)
    assert blind.transform(ones).num_items == int(blind.mask_.sum())
    # an estimator pickled before the weights were kept holds a digest of its edges alone
    from sparsebox.base import _edges_digest

    old = pickle.loads(pickle.dumps(est))
    del old._fitted_weights
    old._fitted_edges = _edges_digest(g)
    assert old.transform(g).num_items == int(est.mask_.sum())


def test_ugs_transform_refuses_another_graph_of_as_many_edges():
    """As below, for UGS's PyG Data: the karate club with its nodes relabelled."""
    entry = next(e for e in ENTRIES if e.name == "ugs")
    est, data = _fit(entry, _make(entry))
    other = data.clone()
    shuffled = torch.from_numpy(np.random.default_rng(0).permutation(data.num_nodes))
    other.edge_index = shuffled[data.edge_index]
    with pytest.raises(InvalidParameterError, match="not the same ones"):
        est.transform(other)
    assert 0 < est.transform(data).edge_index.shape[1] < data.edge_index.shape[1]  # the same


@pytest.mark.parametrize("entry", [e for e in ENTRIES if e.data == "graph"], ids=lambda e: e.name)
def test_transform_refuses_another_graph_of_as_many_edges(entry):
    """The mask keeps edges by position: on another graph of as many edges it kept others than the
    scores chose (a 10 x 10 grid's FeGrass mask gave 11 components on a graph of 180 edges)."""
    est, data = _fit(entry, _make(entry))
    grid = nx.convert_node_labels_to_integers(nx.grid_2d_graph(8, 8))
    shuffled = np.random.default_rng(0).permutation(64).tolist()
    other = as_structure(nx.relabel_nodes(grid, dict(enumerate(shuffled))))
    assert other.num_items == as_structure(data).num_items and other.num_nodes == 64
    with pytest.raises(InvalidParameterError, match="not the same ones|not the one"):
        est.transform(other)
    assert est.transform(as_structure(grid)).num_items == int(est.mask_.sum())  # the same graph
    with pytest.raises(InvalidParameterError):  # no graph at all: refused, not an internal error
        est.transform(None)


def _fit_takes_data_alone(entry) -> bool:
    """Whether ``fit`` needs nothing but its data (QUEEN's needs cameras and images too)."""
    params = list(inspect.signature(entry.load().fit).parameters.values())[2:]
    return all(p.default is not inspect.Parameter.empty for p in params)


@pytest.mark.parametrize("entry", [e for e in ENTRIES if _fit_takes_data_alone(e)],
                         ids=[i for e, i in zip(ENTRIES, ids, strict=True)
                              if _fit_takes_data_alone(e)])
def test_fit_of_no_data_names_its_parameter(entry):
    """The edge methods said "x must be a [2, E] integer edge_index" (as_structure's name for
    its argument) where their fit calls it graph."""
    name = list(inspect.signature(entry.load().fit).parameters)[1]
    with pytest.raises(InvalidParameterError, match=rf"^{name} must "):
        _make(entry).fit(None)
    transform = list(inspect.signature(entry.load().transform).parameters.values())[1]
    if entry.item == "edge" and transform.default is inspect.Parameter.empty:
        # and transform of a fitted one (dyGRASS's transform() gives H): the graph by that name
        make = INPUTS[entry.data][0]
        with pytest.raises(InvalidParameterError, match=rf"^({name} must |\w+.transform takes)"):
            _make(entry).fit(make()).transform(None)


def test_create_refuses_to_override_the_parameter_that_defines_a_method():
    """get_method("lightgaussian").create(score="opacity") made GaussianPruner(score='opacity')
    under the name lightgaussian."""
    from sparsebox.registry import get_method

    entry = get_method("lightgaussian")
    with pytest.raises(InvalidParameterError, match=r"^the gaussian method 'lightgaussian' is "
                       r"GaussianPruner with score='lightgaussian': score='opacity' would make "
                       "another method"):
        entry.create(score="opacity")
    assert entry.create(score="lightgaussian", keep_ratio=0.5).score == "lightgaussian"
    with pytest.raises(InvalidParameterError, match="would make another method"):
        entry.create(score=np.array(["opacity", "radsplat"]))  # was numpy's "ambiguous"
