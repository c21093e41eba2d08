"""The built wheel, installed (not editable) into a fresh virtual environment, works on its own:
the catalogue ships as package data, the console script runs, graphs load from files."""

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import textwrap
import zipfile
from pathlib import Path

import networkx as nx
import pytest

from sparsebox import as_structure
from sparsebox.data.graphs import write_graph

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    """The project's wheel, built offline with this environment's setuptools from a copy of
    what the wheel is built from (the packages and the project's metadata files): setuptools'
    ``build/`` folder in the repository would otherwise carry a deleted module into every later
    wheel."""
    out, source = tmp_path_factory.mktemp("wheel"), tmp_path_factory.mktemp("source")
    skip = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(REPO / name, source / name)
    for package in ("sparsebox", "graphsparse", "scenesparse"):
        shutil.copytree(REPO / package, source / package, ignore=skip)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "--no-index", "-q", "-w", str(out), str(source)], check=True, timeout=300,
                   capture_output=True)
    (path,) = out.glob("sparsebox-*.whl")
    return path


def test_wheel_ships_the_catalogue_the_licence_and_the_entry_points(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert "sparsebox/data/catalogue.json" in names
    assert any(n.endswith("licenses/LICENSE") for n in names)
    points = next(n for n in names if n.endswith("entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(points).decode()
    assert "[sparsebox.methods]" in text and "sparsebox = sparsebox.cli:main" in text
    assert not any(n.startswith(("tests/", "benchmarks/", "datasets/")) for n in names)


def test_a_core_install_has_what_the_methods_use_by_default(wheel):
    """Effective-resistance sampling solves with pyamg where the factorization fills in (its
    default solver, "auto"): pyamg was only in the `amg` extra, so `sparsebox graph sparsify
    --method effective-resistance` failed after `pip install .` (with no option to choose
    another solver)."""
    import inspect

    from graphsparse.resistance import EffectiveResistanceSampler

    assert inspect.signature(EffectiveResistanceSampler).parameters["solver"].default == "auto"
    names = zipfile.ZipFile(wheel).namelist()
    metadata = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("METADATA")))
    core = [line.split(":", 1)[1].strip() for line in metadata.decode().splitlines()
            if line.startswith("Requires-Dist:") and "extra ==" not in line]
    assert any(req.startswith("pyamg") for req in core), core


def test_installed_wheel_runs_in_a_fresh_venv(wheel, tmp_path):
    """The dependencies come from this environment through a .pth file (no download); the
    sparsebox that runs is the wheel's, from a folder outside the repository."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index",
                    str(wheel)], check=True, timeout=300, capture_output=True)
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()"
                           "['purelib'])"], capture_output=True, text=True, check=True).stdout
    (Path(site.strip()) / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    graph = tmp_path / "ring.mtx"
    write_graph(as_structure(nx.cycle_graph(12)), graph)
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "SPARSEBOX_DATA"}
    env |= {"HOME": str(home), "PYTHONNOUSERSITE": "1"}
    sparsebox = venv / "bin" / "sparsebox"

    def run(*args):
        done = subprocess.run([str(sparsebox), *args], capture_output=True, text=True,
                              cwd=tmp_path, env=env, timeout=300)
        assert done.returncode == 0, done.stderr
        return done.stdout

    where = subprocess.run([str(python), "-c", "import sparsebox; print(sparsebox.__file__)"],
                           capture_output=True, text=True, cwd=tmp_path, env=env).stdout
    assert where.startswith(str(venv))  # the installed package, not the checkout
    listing = json.loads(run("data", "list", "--json"))
    assert listing["root"] == str(home / "sparsebox_data")
    assert {"fe_4elt2", "donut", "cora"} <= {d["name"] for d in listing["datasets"]}
    info = json.loads(run("graph", "info", str(graph), "--json"))
    assert info["num_nodes"] == 12 and info["num_edges"] == 12 and info["components"] == 1
    assert run("--version").strip().startswith("sparsebox ")


def _requirements(wheel):
    """The wheel's ``Requires-Dist`` lines as ``packaging`` requirements."""
    from packaging.requirements import Requirement

    names = zipfile.ZipFile(wheel).namelist()
    metadata = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("METADATA")))
    return [Requirement(line.split(":", 1)[1].strip()) for line in metadata.decode().splitlines()
            if line.startswith("Requires-Dist:")]


def _extra_of(requirement):
    """The extra a requirement belongs to, None for a core dependency."""
    found = re.search(r'extra == "([^"]+)"', str(requirement.marker or ""))
    return found and found.group(1)


def _normalized(name):
    return re.sub(r"[-_.]+", "-", name).lower()


#: import name -> the distribution that provides it, where the two differ
DISTRIBUTIONS = {"PIL": "pillow", "open3d": "open3d-cpu", "cupy": "cupy-cuda12x"}
#: modules imported where present, with no extra to install them
OPTIONAL = {"lpips": "LPIPS is reported where the package is installed",
            "aiohttp": "PyG's download errors are caught where it is there",
            "sklearn": "__sklearn_tags__ is called by scikit-learn only"}


def test_every_module_the_packages_import_is_a_declared_dependency(wheel):
    """A module the code imports that no requirement names works only where something else
    happens to pull it in (PIL came through matplotlib; pyamg was in an extra while the default
    solver needed it). Each module is a core dependency, or behind the extra that
    ``sparsebox.exceptions.EXTRAS`` names in its error message."""
    import ast

    from sparsebox.exceptions import EXTRAS

    requirements = _requirements(wheel)
    core = {_normalized(r.name) for r in requirements if _extra_of(r) is None}
    modules = set()
    for package in ("sparsebox", "graphsparse", "scenesparse"):
        for path in (REPO / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Import):
                    modules |= {alias.name.partition(".")[0] for alias in node.names}
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    modules.add(node.module.partition(".")[0])
    first_party = {"sparsebox", "graphsparse", "scenesparse", "__future__"}
    third_party = modules - first_party - set(sys.stdlib_module_names) - set(OPTIONAL)
    for module in sorted(third_party):
        distribution = _normalized(DISTRIBUTIONS.get(module, module))
        if module in EXTRAS:
            extra = {_normalized(r.name) for r in requirements if _extra_of(r) == EXTRAS[module]}
            assert distribution in extra, (module, EXTRAS[module], extra)
        else:
            assert distribution in core, (module, sorted(core))


@pytest.mark.parametrize("platform", [("linux", "x86_64"), ("linux", "aarch64"),
                                      ("darwin", "arm64"), ("win32", "AMD64")])
def test_the_points_extra_installs_on_every_platform(wheel, platform):
    """open3d-cpu has wheels for x86-64 Linux only: `pip install 'sparsebox[points]'` (what the
    error of every open3d method says to run) found no distribution on macOS or Windows."""
    env = {"sys_platform": platform[0], "platform_machine": platform[1], "extra": "points"}
    wanted = sorted(r.name for r in _requirements(wheel)
                    if _extra_of(r) == "points" and r.marker.evaluate(env))
    assert wanted == (["open3d-cpu"] if platform == ("linux", "x86_64") else ["open3d"])


def test_a_name_that_needs_a_missing_extra_says_which_to_install():
    """After a plain `pip install sparsebox` (no extras), the packages import and a name whose
    module needs an extra names it: `from graphsparse import GtspTokenPruner` was a bare
    "No module named 'ogb'"."""
    from sparsebox.exceptions import EXTRAS

    code = textwrap.dedent(f"""
        import sys

        class NoExtras:  # the extras' modules are not installed
            def find_spec(self, name, path=None, target=None):
                if name.partition(".")[0] in {sorted(EXTRAS)!r}:
                    raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)

        sys.meta_path.insert(0, NoExtras())
        import graphsparse, scenesparse, sparsebox
        from sparsebox.exceptions import MissingExtraError
        try:
            from graphsparse import GtspTokenPruner
        except MissingExtraError as err:
            print(err)
        """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ("graphsparse.GtspTokenPruner needs the 'ogb' extra (ogb is not "
                                   "installed): pip install 'sparsebox[ogb]'")


def test_a_command_that_needs_a_missing_extra_says_which_to_install(tmp_path):
    """`sparsebox graph gtsp` without ogb ended "error: No module named 'ogb'"."""
    code = textwrap.dedent(f"""
        import sys

        class NoOgb:
            def find_spec(self, name, path=None, target=None):
                if name.partition(".")[0] == "ogb":
                    raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)

        sys.meta_path.insert(0, NoOgb())
        from sparsebox.cli import main
        sys.exit(main(["graph", "gtsp", "--dataset", "ogbg-molbace", "--out",
                       {str(tmp_path / "out")!r}]))
        """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 1, done.stderr
    assert done.stderr.strip().splitlines() == [
        "error: this command needs the 'ogb' extra (ogb is not installed): pip install "
        "'sparsebox[ogb]'"]
    assert not (tmp_path / "out").exists()


def test_only_a_missing_extra_is_reported_as_one():
    from sparsebox.exceptions import missing_extra

    assert missing_extra(ModuleNotFoundError("No module named 'scipy'", name="scipy"), "x") is None
    # ray is there, one of its modules is not: not a missing extra
    assert missing_extra(ModuleNotFoundError("...", name="ray.util.x"), "x") is None
    assert missing_extra(ImportError("cannot import name 'y' from 'ray'", name="ray"), "x") is None
    assert "pip install 'sparsebox[points]'" in str(
        missing_extra(ModuleNotFoundError("No module named 'open3d'", name="open3d"), "voxel"))
