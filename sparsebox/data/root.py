"""Where data lives: the data root (inputs) and the cache (files we derive and may write)."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["data_root", "cache_root", "writable_mirror", "REPO_DATASETS"]

ENV_DATA = "SPARSEBOX_DATA"
ENV_CACHE = "SPARSEBOX_CACHE"
# The repository's datasets/ folder: the catalogue and the default data root.
REPO_DATASETS = Path(__file__).resolve().parents[2] / "datasets"


def data_root(root: str | os.PathLike[str] | None = None) -> Path:
    """The data root: ``root`` if given, else ``$SPARSEBOX_DATA``, else the repository's
    ``datasets/`` folder."""
    if root is not None:
        return Path(root).expanduser()
    env = os.environ.get(ENV_DATA)
    if env:
        return Path(env).expanduser()
    return REPO_DATASETS


def cache_root() -> Path:
    """Writable folder for processed files: ``$SPARSEBOX_CACHE`` or ``~/.cache/sparsebox``."""
    env = os.environ.get(ENV_CACHE)
    path = Path(env).expanduser() if env else Path.home() / ".cache" / "sparsebox"
    path.mkdir(parents=True, exist_ok=True)
    return path


def writable_mirror(folder: Path, name: str) -> Path:
    """``folder`` itself when it is writable; otherwise a folder in the cache whose entries are
    symbolic links to ``folder``'s, so that libraries which write ``processed/`` beside ``raw/``
    (PyG, ogb) can work on a read-only data root without copying or touching it."""
    if os.access(folder, os.W_OK):
        return folder
    mirror = cache_root() / "mirrors" / name
    mirror.mkdir(parents=True, exist_ok=True)
    for entry in folder.iterdir():
        link = mirror / entry.name
        if not link.exists() and not link.is_symlink():
            link.symlink_to(entry.resolve(), target_is_directory=entry.is_dir())
    return mirror
