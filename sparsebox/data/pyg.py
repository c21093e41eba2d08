"""PyG-facing loaders: Planetoid citation graphs and OGB graph-property datasets.

Both libraries write ``processed/`` next to ``raw/``; when the data root is read-only (a shared
folder) they work in a cache mirror whose entries link to the original files.
"""

from __future__ import annotations

import os
import urllib.error
from pathlib import Path
from typing import Any

from sparsebox.data.registry import DatasetNotFoundError, get_dataset
from sparsebox.data.root import data_root, writable_mirror

__all__ = ["load_planetoid", "load_ogbg", "register_pyg_safe_globals"]

_PLANETOID_NAMES = {"cora": "Cora", "citeseer": "CiteSeer", "pubmed": "PubMed"}
_PLANETOID_RAW = ("x", "tx", "allx", "y", "ty", "ally", "graph", "test.index")


def load_planetoid(name: str, root: str | os.PathLike[str] | None = None, *,
                   download: bool = True) -> Any:
    """A Planetoid dataset's graph (PyG ``Data``, public split) from ``<root>/planetoid/<Name>/raw``.

    Missing raw files are downloaded by PyG when ``download`` is true and the network is there.
    """
    from torch_geometric.datasets import Planetoid

    key = name.lower()
    if key not in _PLANETOID_NAMES:
        raise ValueError(f"name must be one of {sorted(_PLANETOID_NAMES)}, got {name!r}")
    pyg_name = _PLANETOID_NAMES[key]
    base = data_root(root) / "planetoid"
    raw = base / pyg_name / "raw"
    missing = [f"ind.{key}.{s}" for s in _PLANETOID_RAW if not (raw / f"ind.{key}.{s}").exists()]
    if missing and not download:
        raise DatasetNotFoundError(
            f"Planetoid {pyg_name}: missing {missing[0]} (and {len(missing) - 1} more) in {raw}; "
            "allow download=True or place the raw files there"
        )
    if missing:
        base.mkdir(parents=True, exist_ok=True)
        work = base
    else:
        work = writable_mirror(base / pyg_name, f"planetoid/{pyg_name}").parent
    try:
        return Planetoid(str(work), pyg_name, split="public")[0]
    except (urllib.error.URLError, OSError) as err:
        raise DatasetNotFoundError(
            f"Planetoid {pyg_name}: raw files missing in {raw} and the download failed ({err})"
        ) from err


def register_pyg_safe_globals() -> None:
    """Let ``torch.load(weights_only=True)`` (the default since torch 2.6) read the files that ogb
    1.3.6 saves with PyG's storage classes."""
    import torch
    from torch_geometric.data.data import DataEdgeAttr, DataTensorAttr
    from torch_geometric.data.storage import GlobalStorage

    torch.serialization.add_safe_globals([DataEdgeAttr, DataTensorAttr, GlobalStorage])


def load_ogbg(name: str, root: str | os.PathLike[str] | None = None, *,
              download: bool = True) -> Any:
    """An OGB graph-property dataset (``PygGraphPropPredDataset``) from ``<root>/ogb/<name_>``.

    The folder must hold ``RELEASE_v1.txt`` or ogb stops to ask whether to re-download; where the
    files are missing and ``download`` is false, a :class:`DatasetNotFoundError` says so.
    """
    try:
        from ogb.graphproppred import PygGraphPropPredDataset
    except ImportError as err:
        raise ImportError("OGB datasets need the 'ogb' extra: pip install 'sparsebox[ogb]'") from err
    info = get_dataset(name)
    if info.kind != "ogbg":
        raise ValueError(f"{name!r} is a {info.kind} dataset, not an OGB graph-property one")
    folder = data_root(root) / "ogb" / info.name.replace("-", "_")
    if not (folder / "raw").exists():
        if not download:
            raise DatasetNotFoundError(
                f"OGB {info.name}: no raw/ folder in {folder}; allow download=True or place it there"
            )
        folder.parent.mkdir(parents=True, exist_ok=True)
        work = folder.parent
    else:
        if not (folder / "RELEASE_v1.txt").exists():
            raise DatasetNotFoundError(
                f"OGB {info.name}: {folder / 'RELEASE_v1.txt'} is missing; ogb would stop to ask "
                "whether to download again. Create it (any content) to use the files as they are"
            )
        work = writable_mirror(folder, f"ogb/{folder.name}").parent
    register_pyg_safe_globals()
    try:
        return PygGraphPropPredDataset(name=info.name, root=str(Path(work)))
    except (urllib.error.URLError, OSError) as err:
        raise DatasetNotFoundError(f"OGB {info.name}: not in {folder} and download failed ({err})") from err
