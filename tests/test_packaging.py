"""The built wheel, installed (not editable) into a fresh virtual environment, works on its own:
the catalogue ships as package data, the console script runs, graphs load from files."""

import json
import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import networkx as nx
import pytest

from sparsebox import as_structure
from sparsebox.data.graphs import write_graph

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    """The project's wheel, built offline with this environment's setuptools."""
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "--no-index", "-q", "-w", str(out), str(REPO)], check=True, timeout=300,
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
    """Effective-resistance sampling solves with pyamg by default: pyamg was only in the `amg`
    extra, so `sparsebox graph sparsify --method effective-resistance` failed after `pip install
    .` (with no option to choose another solver)."""
    import inspect

    from graphsparse.resistance import EffectiveResistanceSampler

    assert inspect.signature(EffectiveResistanceSampler).parameters["solver"].default == "amg"
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
