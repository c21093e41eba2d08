"""Where datasets come from: the catalogue (``catalogue.json``, package data beside this
module), and locating, checking and fetching its files."""

from __future__ import annotations

import hashlib
import json
import os
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from sparsebox.data.root import data_root, download_root
from sparsebox.exceptions import InvalidParameterError

__all__ = ["DatasetFile", "DatasetInfo", "DatasetNotFoundError", "catalogue", "get_dataset", "fetch",
           "find_unshipped"]

#: where the data root comes from, for the messages that name it
_ROOT_ORIGIN = "data root from the argument, $SPARSEBOX_DATA or datasets/"


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
        base = data_root(root)
        return bool(self.files) and all((base / f.path).exists() for f in self.files)


@lru_cache(maxsize=1)
def catalogue() -> dict[str, DatasetInfo]:
    """Every dataset sparsebox knows, by name."""
    raw = json.loads((Path(__file__).with_name("catalogue.json")).read_text())
    out = {}
    for d in raw["datasets"]:
        files = tuple(DatasetFile(f["path"], f.get("sha256"), f.get("size"), f.get("url"))
                      for f in d["files"])
        out[d["name"]] = DatasetInfo(d["name"], d["kind"], d["licence"], d["source"],
                                     d["description"], files)
    return out


def get_dataset(name: str) -> DatasetInfo:
    cat = catalogue()
    key = name.lower()
    if key not in cat:
        raise InvalidParameterError(f"unknown dataset {name!r}; known: {', '.join(sorted(cat))}")
    return cat[key]


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

    Files already under the root are used as they are (``verify=True`` checks their sha256). A
    missing file is downloaded from its source when ``download`` is true; when it cannot be (no
    network, or ``download=False``), one :class:`DatasetNotFoundError` names the file, the folder
    searched and where to get it.
    """
    info = get_dataset(name)
    base = data_root(root)
    paths = []
    for f in info.files:
        path = base / f.path
        if not path.exists():  # a read-only data root's downloads are in the cache
            target = download_root(base) / f.path
            if not target.exists():
                _download(f, path, target, download=download, dataset=info.name)
            path = target
        elif verify and f.sha256 and sha256_of(path) != f.sha256:
            raise ValueError(f"{path}: sha256 differs from the catalogue's {f.sha256}")
        paths.append(path)
    return paths


def find_unshipped(
    name: str,
    pattern: str,
    root: str | os.PathLike[str] | None = None,
    *,
    how: str,
) -> Path:
    """The file of dataset ``name`` that matches the glob ``pattern`` (relative to the data
    root), for a dataset whose files the catalogue does not ship (its own loader downloads them):
    looked for under the data root, then where downloads go when the root is read-only.

    Raises
    ------
    DatasetNotFoundError
        When no file matches: says that the dataset is not under the data root, where it was
        looked for, and ``how`` to get it.
    """
    info = get_dataset(name)
    base = data_root(root)
    folders = list(dict.fromkeys([base, download_root(base)]))
    for folder in folders:
        found = sorted(folder.glob(pattern))
        if found:
            return found[0]
    raise DatasetNotFoundError(
        f"dataset {info.name!r} is not under the data root: no {pattern} in "
        f"{' or '.join(map(str, folders))} ({_ROOT_ORIGIN}); the catalogue ships no files for it: "
        f"{how}")


def _download(f: DatasetFile, path: Path, target: Path, *, download: bool, dataset: str) -> None:
    """Download ``f``, missing at ``path`` under the data root, to ``target`` (``path`` itself,
    or its place in the cache when the data root is read-only)."""
    where = f"missing file {f.path!r} of dataset {dataset!r}: searched {path.parent} ({_ROOT_ORIGIN})"
    if not download or not f.url:
        raise DatasetNotFoundError(f"{where}; get it from {f.url or 'its source'} and place it there")
    tmp = target.with_name(target.name + ".part")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with urllib.request.urlopen(f.url, timeout=60) as resp, open(tmp, "wb") as out:
            for block in iter(lambda: resp.read(1 << 20), b""):
                out.write(block)
    except (urllib.error.URLError, OSError) as err:
        tmp.unlink(missing_ok=True)
        raise DatasetNotFoundError(f"{where}; download from {f.url} failed ({err})") from err
    if f.sha256 and sha256_of(tmp) != f.sha256:
        tmp.unlink(missing_ok=True)
        raise DatasetNotFoundError(f"{where}; the download from {f.url} has the wrong sha256")
    tmp.replace(target)
