"""The packages' public names, imported on first use (:func:`sparsebox._lazy.lazy_exports`)."""

import importlib
import subprocess
import sys
import types
from pathlib import Path

import pytest

PACKAGES = ("sparsebox", "graphsparse", "scenesparse", "scenesparse.queen")


@pytest.mark.parametrize("package", PACKAGES)
def test_no_public_name_turns_into_a_submodule(package):
    """Importing a submodule binds its name on the package, so a function exported under the
    name of a module (``scenesparse.render`` was both) became that module once any import had
    loaded it. With every top-level submodule imported, each public name is still itself."""
    module = importlib.import_module(package)
    folder = Path(module.__file__).parent
    for path in sorted(folder.glob("*.py")):
        if path.stem not in ("__init__", "__main__"):
            importlib.import_module(f"{package}.{path.stem}")
    for name in module.__all__:
        assert not isinstance(getattr(module, name), types.ModuleType), name


def test_render_is_the_function_whatever_was_imported_first():
    code = ("from scenesparse import GaussianPruner, render; "
            "import scenesparse.training; from scenesparse import render as again; "
            "print(callable(render), callable(again))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=300)
    assert out.stdout.split() == ["True", "True"]


def test_the_classes_the_readme_names_import_from_where_it_names_them():
    from scenesparse import SplatTrainer
    from scenesparse.queen import QueenConfig, QueenEncoder, QueenStream

    assert {c.__name__ for c in (SplatTrainer, QueenConfig, QueenEncoder, QueenStream)} == {
        "SplatTrainer", "QueenConfig", "QueenEncoder", "QueenStream"}
