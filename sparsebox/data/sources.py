"""Where datasets come from: the catalogue (``catalogue.json``, package data beside this
module), and locating, checking and fetching its files."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import urllib.request
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType

from sparsebox._validation import caller_level
from sparsebox.data.root import data_root, download_folder, download_root, move_into_place, root_origin
from sparsebox.exceptions import InvalidParameterError

__all__ = ["DatasetFile", "DatasetInfo", "DatasetNotFoundError", "catalogue", "get_dataset", "fetch",
           "find_unshipped", "PLANETOID_RAW_PARTS", "PLANETOID_FOLDERS"]

#: the raw files of a Planetoid dataset, ``ind.<name>.<part>``, all of which PyG's loader reads
PLANETOID_RAW_PARTS = ("x", "tx", "allx", "y", "ty", "ally", "graph", "test.index")
#: the folder under ``planetoid/`` of each Planetoid dataset, PyG's name of it: the one folder
#: its loader reads (PyG's ``Planetoid(root, name)`` reads ``<root>/<name as given>/raw``)
PLANETOID_FOLDERS = {"cora": "Cora", "citeseer": "CiteSeer", "pubmed": "PubMed"}
#: for the datasets the catalogue ships no files for (their loader's package downloads them), by
#: kind: the file under the data root (a glob) that says where the dataset is, what must sit
#: beside it for the loader to use it, and how to get it
_UNSHIPPED = {
    "planetoid": ("planetoid/{pyg}/raw/ind.{name}.graph",
                  tuple(f"ind.{{name}}.{part}" for part in PLANETOID_RAW_PARTS),
                  "PyG's Planetoid downloads its raw files there (graphsparse.datasets."
                  "load_planetoid, or `sparsebox graph teddy --dataset {name}`), or place them there"),
    "ogbn": ("ogb/{folder}/RELEASE_v1.txt", ("raw",),
             "ogb downloads it there (graphsparse.datasets.load_ogbn), or place its files there"),
    "ogbg": ("ogb/{folder}/RELEASE_v1.txt", ("raw",),
             "ogb downloads it there (graphsparse.datasets.load_ogbg), or place its files there"),
}


class DatasetNotFoundError(FileNotFoundError):
    """A dataset file is missing and could not be downloaded."""


@dataclass(frozen=True)
class DatasetFile:
    path: str  # relative to the data root
    sha256: str | None
    size: int | None
    url: str | None


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    kind: str
    licence: str
    source: str
    description: str
    files: tuple[DatasetFile, ...] = field(default_factory=tuple)

    @property
    def main_file(self) -> DatasetFile:
        if not self.files:
            raise DatasetNotFoundError(
                f"dataset {self.name!r} ships no files in the catalogue; "
                "its loader downloads it through its own package"
            )
        return self.files[0]

    def present(self, root: str | os.PathLike[str] | None = None) -> bool:
        """Whether the loaders find the dataset: every catalogue file under the data root or
        where a read-only root's downloads go; for a dataset the catalogue ships no files for,
        what its loader's package leaves there."""
        base = data_root(root)
        if not self.files:
            return _locate_unshipped(self, base) is not None
        return self.files_present(base) == len(self.files)

    def files_present(self, root: str | os.PathLike[str] | None = None) -> int:
        """How many of the catalogue's files are under the data root (or a read-only root's
        downloads) at the catalogue's size: an empty or truncated copy is not one.

        Examples
        --------
        >>> import tempfile
        >>> get_dataset("karate").files_present(tempfile.mkdtemp())  # an empty root
        0
        """
        here = _searched(data_root(root))
        return sum(any(_whole(folder / f.path, f.size) for folder in here) for f in self.files)


def _whole(path: Path, size: int | None) -> bool:
    """Whether ``path`` is a file of ``size`` bytes (of any size where the catalogue gives none)."""
    try:
        found = path.stat()
    except OSError:
        return False
    return stat.S_ISREG(found.st_mode) and (size is None or found.st_size == size)


@lru_cache(maxsize=1)
def catalogue() -> Mapping[str, DatasetInfo]:
    """Every dataset sparsebox knows, by name: read-only (one mapping, read once, that every
    caller shares: a ``pop`` broke ``load_graph`` for the process)."""
    raw = json.loads((Path(__file__).with_name("catalogue.json")).read_text())
    out = {}
    for d in raw["datasets"]:
        files = tuple(DatasetFile(f["path"], f.get("sha256"), f.get("size"), f.get("url"))
                      for f in d["files"])
        out[d["name"]] = DatasetInfo(d["name"], d["kind"], d["licence"], d["source"],
                                     d["description"], files)
    return MappingProxyType(out)


def get_dataset(name: str) -> DatasetInfo:
    """The catalogue's entry of ``name`` (any case); an unknown name is refused with the
    closest known names and the list.

    Examples
    --------
    >>> try:
    ...     get_dataset("Coraa")
    ... except ValueError as err:
    ...     print(str(err).split(";")[0])
    unknown dataset 'Coraa' (did you mean 'cora'?)
    """
    cat = catalogue()
    key = str(name).lower()
    if key not in cat:
        raise InvalidParameterError(f"unknown dataset {name!r}{did_you_mean(key)}; known: "
                                    f"{', '.join(sorted(cat))}")
    return cat[key]


def did_you_mean(name: str) -> str:
    """`` (did you mean 'cora'?)`` for the catalogue's names closest to a mistyped ``name``; ""
    when none is close.

    Examples
    --------
    >>> did_you_mean("coraa"), did_you_mean("zzzz")
    (" (did you mean 'cora'?)", '')
    """
    from sparsebox._validation import did_you_mean_among

    return did_you_mean_among(str(name).lower(), catalogue(), n=3, cutoff=0.75)


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def fetch(
    name: str,
    root: str | os.PathLike[str] | None = None,
    *,
    download: bool = True,
    verify: bool = False,
) -> list[Path]:
    """Paths of a dataset's files under the data root, downloading the missing ones.

    Files already under the root (or, for a read-only root, in the cache's downloads) are used
    as they are (``verify=True`` checks their sha256; one of another size than the catalogue's
    is warned of, as `sparsebox data list` counts it absent). A missing file is downloaded from its
    source when ``download`` is true; when it cannot be (no network, or ``download=False``), one
    :class:`DatasetNotFoundError` names the file, the folder searched and where to get it, and
    no trace of the attempt is left. For a dataset the catalogue ships no files for (its loader's
    package downloads them), the files of the folder that package left, or that error.
    """
    info = get_dataset(name)
    base = data_root(root)
    if not info.files:
        return sorted(p for p in find_unshipped(info.name, root).parent.rglob("*") if p.is_file())
    paths = []
    for i, f in enumerate(info.files):
        path = base / f.path
        if not path.exists():  # a read-only data root's downloads are in the cache
            target = download_root(base) / f.path
            if not target.exists():
                here = _searched(base)  # (only where a file is missing: a fetch stats no more)
                later = [g.path for g in info.files[i + 1:]  # named now, not one error each
                         if not any((folder / g.path).exists() for folder in here)]
                _download(f, path, target, download=download, dataset=info.name, root=root,
                          later=later)
            path = target
        if verify and f.sha256 and sha256_of(path) != f.sha256:
            raise ValueError(f"{path}: sha256 differs from the catalogue's {f.sha256}")
        if f.size is not None and path.is_file() and not _whole(path, f.size):
            warnings.warn(f"{path}: {path.stat().st_size:,} bytes, where the catalogue's "
                          f"{info.name} file has {f.size:,}: not the catalogue's copy (`sparsebox "
                          "data list` counts it absent); read as it is (remove it, and the "
                          "loader downloads the catalogue's)", stacklevel=caller_level())
        paths.append(path)
    return paths


def find_unshipped(name: str, root: str | os.PathLike[str] | None = None, *,
                   alone: bool = False) -> Path:
    """For a dataset whose files the catalogue does not ship (its own loader's package downloads
    them), the file that package leaves (``ind.<name>.graph`` for Planetoid, with the other raw
    files beside it; ``RELEASE_v1.txt`` for OGB, with ``raw/``): looked for under the data
    root, then where downloads go when the root is read-only. With ``alone``, that file is
    enough (what :func:`~sparsebox.data.load_graph` reads of a Planetoid dataset).

    Raises
    ------
    DatasetNotFoundError
        When there is none: says that the dataset is not under the data root, where it was
        looked for, and how to get it.
    """
    info = get_dataset(name)
    base = data_root(root)
    found = _locate_unshipped(info, base, alone)
    if found is not None:
        return found
    pattern, beside = _unshipped_files(info, alone)
    how = _UNSHIPPED[info.kind][2].format(name=info.name)
    folders = " or ".join(map(str, _searched(base)))
    together = f"; its loader reads {', '.join(beside)} there" if beside else ""
    raise DatasetNotFoundError(
        f"dataset {info.name!r} is not under the data root: no {pattern} in {folders} (data "
        f"root from {root_origin(root)}{together}); the catalogue ships no files for it: {how}")


def _locate_unshipped(info: DatasetInfo, base: Path, alone: bool = False) -> Path | None:
    pattern, beside = _unshipped_files(info, alone)
    for folder in _searched(base):
        for found in sorted(p for p in folder.glob(pattern) if p.is_file()):
            if all((found.parent / b).exists() for b in beside):
                return found
    return None


def _unshipped_files(info: DatasetInfo, alone: bool = False) -> tuple[str, tuple[str, ...]]:
    """The glob of the file that says where an unshipped dataset is, and the names that must
    sit beside it (none with ``alone``), for ``info``."""
    pattern, beside, _ = _UNSHIPPED[info.kind]
    beside = () if alone else tuple(b.format(name=info.name) for b in beside)
    return pattern.format(name=info.name, folder=info.name.replace("-", "_"),
                          pyg=PLANETOID_FOLDERS.get(info.name, info.name)), beside


def _searched(base: Path) -> list[Path]:
    """Where a dataset's files are looked for: the data root ``base``, then where its downloads
    go when it is read-only."""
    return list(dict.fromkeys([base, download_root(base)]))


def _download(f: DatasetFile, path: Path, target: Path, *, download: bool, dataset: str,
              root: str | os.PathLike[str] | None, later: list[str] | None = None) -> None:
    """Download ``f``, missing at ``path`` under the data root, to ``target`` (``path`` itself,
    or its place in the cache when the data root is read-only). A download that fails or is
    interrupted leaves nothing behind: no partial file, no folder made for it. A file the
    catalogue says is made from its source (``"<url> (filtered)"``) is not downloaded. The
    error names the dataset's ``later`` files too (missing, and not tried yet), up to five."""
    later = later or []
    more = (f" (and {len(later)} more of its files: {', '.join(later[:5])}"
            f"{', ...' if len(later) > 5 else ''})" if later else "")
    where = (f"missing file {f.path!r} of dataset {dataset!r}{more}: searched {path.parent} (data "
             f"root from {root_origin(root)})")
    url, _, made = (f.url or "").partition(" ")
    # the source's file name may differ from the catalogue's: a user saves it under the former
    named = f" as {target.name}" if url.rsplit("/", 1)[-1] != target.name else ""
    if made:
        raise DatasetNotFoundError(f"{where}; it is made from {url} {made}, not downloaded: place the "
                                   f"dataset's copy of it in {target.parent}{named}")
    if not download or not url:
        raise DatasetNotFoundError(f"{where}; get it from {url or 'its source'} and place it there{named}")
    with download_folder(target.parent) as folder:
        tmp = folder / target.name
        try:
            with urllib.request.urlopen(url, timeout=60) as resp, open(tmp, "wb") as out:
                for block in iter(lambda: resp.read(1 << 20), b""):
                    out.write(block)
        except Exception as err:  # no network, a broken connection, a full disk
            raise DatasetNotFoundError(f"{where}; download from {url} failed ({err}): get it "
                                       f"from there and place it in {target.parent}{named}") from err
        if f.sha256 and sha256_of(tmp) != f.sha256:
            raise DatasetNotFoundError(f"{where}; the download from {url} has the wrong sha256")
        move_into_place(tmp, target)
