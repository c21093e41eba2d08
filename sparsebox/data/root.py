"""Where data lives: the data root (inputs) and the cache (files we derive and may write)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

__all__ = ["data_root", "cache_root", "writable_mirror", "default_data_root", "is_writable",
           "download_root"]

ENV_DATA = "SPARSEBOX_DATA"
ENV_CACHE = "SPARSEBOX_CACHE"
# In a checkout of the repository, its datasets/ folder (git-ignored downloads land there).
_CHECKOUT_DATASETS = Path(__file__).resolve().parents[2] / "datasets"


def default_data_root() -> Path:
    """Where data lives when neither an argument nor ``$SPARSEBOX_DATA`` says: the repository's
    ``datasets/`` folder in a checkout, else ``~/sparsebox_data`` (an installed package has no
    repository beside it)."""
    if (_CHECKOUT_DATASETS / "README.md").is_file():
        return _CHECKOUT_DATASETS
    return Path.home() / "sparsebox_data"


def data_root(root: str | os.PathLike[str] | None = None) -> Path:
    """The data root: ``root`` if given, else ``$SPARSEBOX_DATA``, else
    :func:`default_data_root`."""
    if root is not None:
        return Path(root).expanduser()
    env = os.environ.get(ENV_DATA)
    if env:
        return Path(env).expanduser()
    return default_data_root()


def cache_root() -> Path:
    """Writable folder for processed files: ``$SPARSEBOX_CACHE`` or ``~/.cache/sparsebox``."""
    env = os.environ.get(ENV_CACHE)
    path = Path(env).expanduser() if env else Path.home() / ".cache" / "sparsebox"
    path.mkdir(parents=True, exist_ok=True)
    return path


def is_writable(folder: str | os.PathLike[str]) -> bool:
    """Whether files may be written into ``folder`` (or, where it does not exist yet, into the
    nearest folder above it that does). For root, who may write anywhere, a folder without any
    write bit counts as read-only.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> is_writable(folder / "not" / "made" / "yet")
    True
    >>> folder.chmod(0o555)
    >>> is_writable(folder)
    False
    >>> folder.chmod(0o755)
    """
    folder = Path(folder)
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    writable = os.access(folder, os.W_OK)
    if writable and os.geteuid() == 0:
        writable = bool(folder.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    return writable


def download_root(root: str | os.PathLike[str]) -> Path:
    """Where files missing from the data root ``root`` are downloaded, in the same layout: the
    data root itself when it is writable, else the cache's ``downloads/`` (a read-only data root
    is never written).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> download_root(root) == root
    True
    >>> root.chmod(0o555)
    >>> download_root(root) == cache_root() / "downloads"
    True
    >>> root.chmod(0o755)
    """
    return Path(root) if is_writable(root) else cache_root() / "downloads"


def writable_mirror(folder: Path, name: str) -> Path:
    """``folder`` itself when it is writable; otherwise a folder in the cache whose entries are
    symbolic links to ``folder``'s, so that libraries which write ``processed/`` beside ``raw/``
    (PyG, ogb) can work on a read-only data root without copying or touching it. Links to
    entries that left ``folder`` since the mirror was made are removed (a library would find
    them in its way)."""
    if is_writable(folder):
        return folder
    mirror = cache_root() / "mirrors" / name
    mirror.mkdir(parents=True, exist_ok=True)
    for link in mirror.iterdir():
        if link.is_symlink() and not link.exists():  # what it named left the data folder
            link.unlink(missing_ok=True)
    for entry in folder.iterdir():
        link = mirror / entry.name
        if not link.exists() and not link.is_symlink():
            try:
                link.symlink_to(entry.resolve(), target_is_directory=entry.is_dir())
            except FileExistsError:  # another process made it meanwhile
                pass
    return mirror
