"""A method from outside the project: the base class takes any graph form for an edge method,
checks the declaration a method author writes, says what ``fit`` forgot, and the registry skips
a plugin that fails to load instead of failing every command."""

from __future__ import annotations

import importlib
import sys
import textwrap

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp

from sparsebox import as_structure, registry
from sparsebox.base import Sparsifier
from sparsebox.select import select

PLUGIN = '''
import numpy as np

from sparsebox.base import Sparsifier
from sparsebox import register
from sparsebox.select import select
from sparsebox.structure import as_structure


class DegreeProduct(Sparsifier):
    """Keep the edges whose ends have the smallest degree product.

    Examples
    --------
    >>> DegreeProduct(keep_ratio=0.5).fit(np.array([[0, 1, 1, 2], [1, 0, 2, 1]])).mask_.sum()
    np.int64(1)
    """

    item = "edge"
    sizing = ("keep_ratio",)
    default_size = ("keep_ratio", 0.5)

    def __init__(self, *, keep_ratio=None):
        self.keep_ratio = keep_ratio

    def fit(self, graph, y=None):
        self._validate_params()
        g = as_structure(graph)
        degree = np.bincount(np.r_[g.rows, g.cols], minlength=g.num_nodes)
        self.scores_ = -(degree[g.rows] * degree[g.cols]).astype(float)
        self.mask_ = select(self.scores_, budget=self._size(g.num_items))
        return self


register("degree-product", item="edge", target="PLUGIN_MODULE:DegreeProduct",
         summary="smallest degree products", data="graph")
'''


class _KeepFirst(Sparsifier):
    item = "edge"
    sizing = ("budget",)
    default_size = ("budget", 2)

    def __init__(self, *, budget=None):
        self.budget = budget

    def fit(self, graph, y=None):
        self._validate_params()
        g = as_structure(graph)
        self.scores_ = -np.arange(g.num_items, dtype=float)
        self.mask_ = select(self.scores_, budget=self._size(g.num_items))
        return self


@pytest.mark.parametrize("form", ["edge_index", "networkx", "scipy", "structure"])
def test_an_edge_method_of_its_own_transforms_any_graph_form(form):
    grid = nx.convert_node_labels_to_integers(nx.grid_2d_graph(4, 4))
    structure = as_structure(grid)
    data = {"edge_index": np.array([np.r_[structure.rows, structure.cols],
                                    np.r_[structure.cols, structure.rows]]),
            "networkx": grid, "scipy": sp.csr_array(nx.to_scipy_sparse_array(grid)),
            "structure": structure}[form]
    kept = _KeepFirst(budget=5).fit_transform(data)
    assert kept.num_edges == 5 and kept.num_nodes == 16


def test_a_method_s_declaration_is_checked_when_its_class_is_made():
    with pytest.raises(TypeError, match="Copied.sizing names 'budget', which "
                                        "Copied.__init__ does not take"):
        class Copied(Sparsifier):  # sizing copied from another method, __init__ not
            item, sizing = "edge", ("keep_ratio", "budget")

            def __init__(self, *, keep_ratio=None):
                self.keep_ratio = keep_ratio
    with pytest.raises(TypeError, match="'keep-ratio'; sizing parameters are keep_ratio, budget"):
        class Typo(Sparsifier):
            item, sizing = "edge", ("keep-ratio",)

            def __init__(self, *, keep_ratio=None):
                self.keep_ratio = keep_ratio
    with pytest.raises(TypeError, match="default_size sizes by 'budget', which is not in its "
                                        "sizing"):
        class Default(Sparsifier):
            item, sizing, default_size = "edge", ("keep_ratio",), ("budget", 10)

            def __init__(self, *, keep_ratio=None):
                self.keep_ratio = keep_ratio


def test_what_fit_forgot_is_named():
    class NoMask(_KeepFirst):
        def fit(self, graph, y=None):
            return self

    class Indices(_KeepFirst):
        def fit(self, graph, y=None):
            super().fit(graph)
            self.mask_ = np.flatnonzero(self.mask_)
            return self

    class AList(_KeepFirst):
        def fit(self, graph, y=None):
            super().fit(graph)
            self.mask_ = self.mask_.tolist()
            return self

    path = np.array([[0, 1, 1, 2, 2, 3], [1, 0, 2, 1, 3, 2]])
    with pytest.raises(TypeError, match="NoMask.fit must set mask_"):
        NoMask().fit_transform(path)
    with pytest.raises(TypeError, match=r"Indices.mask_ must be a one-dimensional boolean numpy array "
                                        r"\(one entry per edge\), got int64"):
        Indices().fit_transform(path)
    with pytest.raises(TypeError, match="AList.mask_ must be a one-dimensional boolean numpy "
                                        "array .* got list"):
        AList().fit_transform(path)


@pytest.fixture
def plugins(tmp_path, monkeypatch):
    """Install plugin distributions (``name -> module source``) where importlib.metadata finds
    them, with a registry that loads its entry points afresh; both are put back afterwards."""
    registry.methods()  # the built-ins loaded first: what is put back afterwards holds them
    monkeypatch.setattr(registry, "_REGISTRY", {})
    monkeypatch.setattr(registry, "_LOADED", False)
    for name in ("graphsparse.methods", "scenesparse.methods"):  # registered again on import
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.syspath_prepend(str(tmp_path))

    def install(**modules: str) -> None:
        for name, source in modules.items():
            (tmp_path / f"{name}.py").write_text(source.replace("PLUGIN_MODULE", name))
            info = tmp_path / f"{name}-1.0.dist-info"
            info.mkdir()
            (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
            (info / "entry_points.txt").write_text(f"[sparsebox.methods]\n{name} = {name}\n")
        importlib.invalidate_caches()

    yield install
    for name in list(sys.modules):
        if name.startswith("plugin_"):
            del sys.modules[name]


def test_a_plugin_that_fails_to_load_is_named_and_skipped(plugins):
    plugins(plugin_broken=textwrap.dedent('''
                from sparsebox import register
                register("half-made", item="edge", target="plugin_broken:X", summary="",
                         data="graph")
                import not_installed_anywhere
            '''),
            plugin_clash=textwrap.dedent('''
                from sparsebox.registry import register
                register("teddy", item="edge", target="plugin_clash:X", summary="", data="graph")
            '''),
            plugin_good=PLUGIN)
    with pytest.warns(UserWarning) as caught:
        names = [e.name for e in registry.methods(item="edge")]
    messages = sorted(str(w.message) for w in caught)
    assert len(messages) == 2
    assert messages[0].startswith("the sparsebox.methods plugin plugin_broken (plugin_broken) is "
                                  "skipped: it failed to load (ModuleNotFoundError")
    assert messages[1].startswith("the sparsebox.methods plugin plugin_clash (plugin_clash) is "
                                  "skipped") and "'teddy' is registered already" in messages[1]
    assert "teddy" in names and "degree-product" in names  # the built-in kept its name
    assert "half-made" not in names  # what a skipped plugin registered before failing is gone
    assert registry.get_method("teddy", item="edge").target.startswith("graphsparse.")


def test_a_registered_method_runs_from_the_command_line_and_refuses_sizes_it_lacks(
        plugins, tmp_path, cli):
    plugins(plugin_good=PLUGIN)
    grid = as_structure(nx.convert_node_labels_to_integers(nx.grid_2d_graph(4, 4)))
    from sparsebox.data.graphs import write_graph

    source = tmp_path / "grid.mtx"
    write_graph(grid, source)
    out = tmp_path / "kept.mtx"
    result = cli("graph", "sparsify", source, "-o", out, "--method", "degree-product",
                 "--keep-ratio", "0.5")
    assert result.exit_code == 0, result.output
    assert as_structure(sp.coo_array(__import__("scipy.io").io.mmread(out))).num_edges == 12
    line = cli("graph", "sparsify", source, "-o", tmp_path / "b.mtx", "--method",
               "degree-product", "--budget", "10").error_line("--budget")
    assert line.endswith("does not apply to --method degree-product, which sizes by "
                         "--keep-ratio")


def test_prune_splats_says_a_gaussian_method_of_another_package_runs_from_python(
        plugins, tmp_path, cli):
    import torch

    from scenesparse.gaussians import GaussianScene, write_ply

    plugins(plugin_splats=textwrap.dedent('''
        from sparsebox import register
        register("big-opacity", item="gaussian", target="plugin_splats:X", summary="",
                 data="splats")
    '''))
    n = 20
    write_ply(tmp_path / "s.ply", GaussianScene(
        means=torch.rand(n, 3), quats=torch.tensor([[1.0, 0, 0, 0]] * n),
        log_scales=torch.full((n, 3), -3.0), opacity_logits=torch.zeros(n),
        sh_dc=torch.zeros(n, 3), sh_rest=torch.zeros(n, 0, 3)))
    line = cli("scene", "prune-splats", tmp_path / "s.ply", tmp_path / "o.ply", "--score",
               "big-opacity").error_line("--score")
    assert line.endswith("got 'big-opacity'; big-opacity is a Gaussian method of another "
                         "package, and prune-splats runs GaussianPruner's scores (their rounds, "
                         "recovery and photos): use it from Python")
