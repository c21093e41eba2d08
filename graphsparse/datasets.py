"""PyG-facing loaders: Planetoid citation graphs and OGB node- and graph-property datasets.

Both libraries write ``processed/`` next to ``raw/``; when the data root is read-only (a shared
folder) they work in a cache mirror whose entries link to the original files.
"""

from __future__ import annotations

import http.client
import os
import pickle
from pathlib import Path
from typing import Any

from sparsebox.data.root import data_root, download_folder, download_root, move_into_place, writable_mirror
from sparsebox.data.sources import (
    PLANETOID_FOLDERS,
    PLANETOID_RAW_PARTS,
    DatasetNotFoundError,
    catalogue,
    get_dataset,
    sha256_of,
)
from sparsebox.exceptions import InputFileError, InvalidParameterError

__all__ = ["load_planetoid", "load_ogbg", "load_ogbn", "load_node_dataset",
           "register_pyg_safe_globals"]


def _download_errors() -> tuple[type[BaseException], ...]:
    """What a download by PyG (urllib, or fsspec over aiohttp) raises when there is no network
    or the connection breaks."""
    errors: list[type[BaseException]] = [OSError, http.client.HTTPException]
    try:
        import aiohttp
    except ImportError:
        pass
    else:
        errors.append(aiohttp.ClientError)
    return tuple(errors)


def load_planetoid(name: str, root: str | os.PathLike[str] | None = None, *,
                   download: bool = True) -> Any:
    """A Planetoid dataset's graph (PyG ``Data``, public split) from ``<root>/planetoid/<Name>/raw``.

    Missing raw files are downloaded by PyG when ``download`` is true and the network is there,
    into the cache when the data root is read-only
    (:func:`~sparsebox.data.root.download_root`), where later runs find them. Files PyG cannot
    read raise :class:`~sparsebox.exceptions.InputFileError`, naming the raw files that differ
    from the catalogue's, or the ``processed/`` folder to delete.
    """
    from torch_geometric.datasets import Planetoid

    key = str(name).lower()
    if key not in PLANETOID_FOLDERS:
        raise InvalidParameterError(f"dataset must be one of {', '.join(PLANETOID_FOLDERS)} "
                                    f"(Planetoid), got {name!r}")
    pyg_name = PLANETOID_FOLDERS[key]
    base = data_root(root) / "planetoid"
    raw = base / pyg_name / "raw"

    def missing_in(folder: Path) -> list[str]:
        return [f"ind.{key}.{s}" for s in PLANETOID_RAW_PARTS
                if not (folder / pyg_name / "raw" / f"ind.{key}.{s}").exists()]

    missing = missing_in(base)
    if missing:  # a read-only data root's downloads are in the cache
        base = download_root(data_root(root)) / "planetoid"
        missing = missing_in(base)
    if missing and not download:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise DatasetNotFoundError(
            f"Planetoid {pyg_name}: missing {missing[0]}{more} in {raw}; "
            "allow download=True or place the raw files there"
        )
    if missing:  # into a private folder: a failed download leaves nothing behind
        with download_folder(base) as tmp:
            try:
                Planetoid(str(tmp), pyg_name, split="public")
            except _download_errors() as err:
                raise DatasetNotFoundError(f"Planetoid {pyg_name}: raw files missing in {raw} and "
                                           f"the download failed ({err}); place its raw files "
                                           f"(ind.{key}.x, ...) there") from err
            move_into_place(tmp / pyg_name, base / pyg_name)
    work = writable_mirror(base / pyg_name, f"planetoid/{pyg_name}").parent
    folder = work / pyg_name
    processed = (folder / "processed").is_dir() and any((folder / "processed").iterdir())
    try:
        return Planetoid(str(work), pyg_name, split="public")[0]
    except (*_download_errors(), *_UNREADABLE) as err:  # a damaged file (PyG named none)
        prefix = f"planetoid/{pyg_name}/"
        files = [(f.path[len(prefix):], f.sha256) for f in get_dataset(key).files
                 if f.path.startswith(prefix)]
        raise InputFileError(_unreadable(None, folder, processed, err, dataset=f"Planetoid {pyg_name}",
                                         reader="PyG", files=files)) from err


def register_pyg_safe_globals() -> None:
    """Let ``torch.load(weights_only=True)`` (the default since torch 2.6) read the files that ogb
    1.3.6 saves with PyG's storage classes."""
    import torch
    from torch_geometric.data.data import DataEdgeAttr, DataTensorAttr
    from torch_geometric.data.storage import GlobalStorage

    torch.serialization.add_safe_globals([DataEdgeAttr, DataTensorAttr, GlobalStorage])


def _ogb_folder(info: Any, root: str | os.PathLike[str] | None, download: bool
                ) -> tuple[Path, bool]:
    """The folder to hand to an ogb dataset class as ``root``: the data root's ``ogb/`` (or a
    writable mirror of it) when ``<root>/ogb/<name_>/raw`` is there, else ``ogb/`` of
    :func:`~sparsebox.data.root.download_root` (where an earlier download may be, else to
    download into: then the second value is true); errors name the folder and the missing
    piece."""
    folder = data_root(root) / "ogb" / info.name.replace("-", "_")

    def has_raw(folder: Path) -> bool:
        return (folder / "raw").is_dir() and any((folder / "raw").iterdir())

    if not has_raw(folder):  # a read-only data root's downloads are in the cache
        downloads = download_root(data_root(root)) / "ogb"
        if has_raw(downloads / folder.name):
            return downloads, False
        if not download:
            raise DatasetNotFoundError(
                f"OGB {info.name}: no raw/ folder in {folder}; allow download=True or place it there"
            )
        return downloads, True
    if not (folder / "RELEASE_v1.txt").exists():
        raise DatasetNotFoundError(
            f"OGB {info.name}: {folder / 'RELEASE_v1.txt'} is missing; ogb would stop to ask "
            "whether to download again. Create it (any content) to use the files as they are"
        )
    missing = [rel for rel, _ in _ogb_catalogue_files(info) if not (folder / rel).exists()]
    if missing:  # ogb would try to download the whole dataset again, over what is there
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise DatasetNotFoundError(
            f"OGB {info.name}: {folder / missing[0]} is missing{more}; place the dataset's "
            f"files there (their sources: sparsebox.data.get_dataset({info.name!r}).files)")
    return writable_mirror(folder, f"ogb/{folder.name}").parent, False


def _ogb_catalogue_files(info: Any) -> list[tuple[str, str | None]]:
    """``(path in the dataset's folder, sha256)`` of the files of ``raw/`` and ``split/`` (what
    ogb reads) the catalogue lists for the OGB dataset ``info``; none for a dataset it ships no
    files for."""
    prefix = f"ogb/{info.name.replace('-', '_')}/"
    return [(f.path[len(prefix):], f.sha256) for f in info.files
            if f.path.startswith(prefix) and f.path[len(prefix):].split("/")[0] in ("raw", "split")]


#: what ogb and PyG raise on files they cannot read: truncated or garbled archives and CSVs,
#: short label files, damaged ``processed/`` pickles
_UNREADABLE = (EOFError, ValueError, LookupError, TypeError, RuntimeError, pickle.UnpicklingError)


def _unreadable(info: Any, folder: Path, processed: bool, err: BaseException, *,
                dataset: str | None = None, reader: str = "ogb",
                files: list[tuple[str, str | None]] | None = None) -> str:
    """Why the dataset ``info`` in ``folder`` (the one ``reader`` was given: the data root's, or
    a cache mirror of it) could not be read, in words: with ``processed``, the files ``reader``
    made in ``folder/processed`` before; else the files it was processing, those of ``files``
    (paths in ``folder`` and their sha256; by default the OGB catalogue's) that differ from the
    catalogue named. ``dataset`` names it (by default ``OGB <name>``)."""
    dataset = dataset or f"OGB {info.name}"
    why = f"{type(err).__name__}: {(str(err).strip().splitlines() or [''])[0]}"  # torch's run on
    if processed:
        return (f"{dataset}: cannot read {folder / 'processed'} ({why}); {reader} made it from "
                "the raw files: delete that folder to process them again")
    source = (folder / "raw").resolve().parent  # a mirror's entries link to the data root's
    files = _ogb_catalogue_files(info) if files is None else files
    differ = [rel for rel, sha in files
              if sha and (source / rel).is_file() and sha256_of(source / rel) != sha]
    which = (f"{', '.join(str(source / rel) for rel in differ)} "
             f"{'differs' if len(differ) == 1 else 'differ'} from the catalogue's (sha256)"
             if differ else "check them, or place the dataset's files there again")
    return f"{dataset}: cannot read the files in {source} ({why}); {which}"


def _ogb_info(name: str, kind: str) -> Any:
    info = get_dataset(name)
    if info.kind != kind:
        raise InvalidParameterError(f"{name!r} is a dataset of kind {info.kind}, not {kind}")
    return info


def _ogb_dataset(module: str, cls_name: str, name: str, kind: str,
                 root: str | os.PathLike[str] | None, download: bool) -> Any:
    """``ogb.<module>.<cls_name>`` of the dataset ``name`` (of catalogue kind ``kind``), read
    from the data root's ``ogb/`` folder or a writable mirror of it."""
    import importlib

    try:
        dataset_cls = getattr(importlib.import_module(f"ogb.{module}"), cls_name)
    except ImportError as err:
        raise ImportError("OGB datasets need the 'ogb' extra: pip install 'sparsebox[ogb]'") from err
    info = _ogb_info(name, kind)
    work, downloads = _ogb_folder(info, root, download)
    register_pyg_safe_globals()
    if downloads:  # into a private folder: a failed download leaves nothing behind
        name_ = info.name.replace("-", "_")
        with download_folder(work) as tmp:
            try:
                dataset_cls(name=info.name, root=str(tmp))
            except (*_download_errors(), RuntimeError) as err:  # ogb's for any failure
                folder = data_root(root) / "ogb" / name_
                elsewhere = f" nor in {work}" if work != folder.parent else ""
                raise DatasetNotFoundError(
                    f"OGB {info.name}: not in {folder}{elsewhere}, and the download failed "
                    f"({err}); place its files (raw/ and RELEASE_v1.txt) in {folder}") from err
            move_into_place(tmp / name_, work / name_)
    folder = work / info.name.replace("-", "_")
    processed = (folder / "processed").is_dir() and any((folder / "processed").iterdir())
    try:
        return dataset_cls(name=info.name, root=str(work))
    except (*_download_errors(), *_UNREADABLE) as err:  # a damaged or incomplete dataset
        raise InputFileError(_unreadable(info, folder, processed, err)) from err


def load_ogbg(name: str, root: str | os.PathLike[str] | None = None, *,
              download: bool = True) -> Any:
    """An OGB graph-property dataset (``PygGraphPropPredDataset``) from ``<root>/ogb/<name_>``.

    The folder must hold ``RELEASE_v1.txt`` or ogb stops to ask whether to re-download; where the
    files are missing and ``download`` is false, a :class:`DatasetNotFoundError` says so.
    """
    return _ogb_dataset("graphproppred", "PygGraphPropPredDataset", name, "ogbg", root, download)


def load_ogbn(name: str, root: str | os.PathLike[str] | None = None, *,
              download: bool = True) -> Any:
    """An OGB node-property graph (``PygNodePropPredDataset``) from ``<root>/ogb/<name_>`` as one
    PyG ``Data`` in the Planetoid form: ``y`` flattened to one label per node, the official split
    as ``train_mask``/``val_mask``/``test_mask``, and the edges made undirected (ogbn-arxiv
    stores each citation once; GCN, GAT and GIN read it both ways, as in OGB's own baselines).
    Score it with :func:`graphsparse.gnn.training.ogb_node_scorer`.
    """
    import torch
    from torch_geometric.utils import to_undirected

    dataset = _ogb_dataset("nodeproppred", "PygNodePropPredDataset", name, "ogbn", root, download)
    data = dataset[0]
    data.y = data.y.view(-1)
    data.edge_index = to_undirected(data.edge_index, num_nodes=data.num_nodes)
    for part, idx in dataset.get_idx_split().items():
        mask = torch.zeros(data.num_nodes, dtype=torch.bool)
        mask[idx] = True
        data[{"valid": "val"}.get(part, part) + "_mask"] = mask
    return data


def load_node_dataset(name: str, root: str | os.PathLike[str] | None = None, *,
                      download: bool = True) -> Any:
    """A node-classification graph by name: Planetoid (``cora``, ``citeseer``, ``pubmed``) or
    OGB (the catalogue's ``ogbn-...``), with ``train_mask``, ``val_mask`` and ``test_mask``."""
    key = str(name).lower()
    ogbn = [n for n, info in catalogue().items() if info.kind == "ogbn"]
    if key not in (*PLANETOID_FOLDERS, *ogbn):
        raise InvalidParameterError(f"dataset must be one of {', '.join((*PLANETOID_FOLDERS, *ogbn))}, "
                                    f"got {name!r}")
    if key in ogbn:
        return load_ogbn(key, root, download=download)
    return load_planetoid(key, root, download=download)
