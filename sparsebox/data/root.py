"""Where data lives: the data root (inputs) and the cache (files we derive and may write)."""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path

__all__ = ["data_root", "root_origin", "cache_root", "writable_mirror", "default_data_root",
           "is_writable", "download_root", "download_folder"]

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
    :func:`default_data_root`. One that exists but is not a folder is refused (with where it
    came from): nothing could be read from it or downloaded into it.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> data_root(pathlib.Path(tempfile.mkdtemp()) / "not-made-yet").name
    'not-made-yet'
    >>> data_root(tempfile.mkstemp()[1])
    Traceback (most recent call last):
    ...
    sparsebox.exceptions.InvalidParameterError: data root /tmp/... (the argument) is not a folder
    """
    path = Path(root).expanduser() if root is not None else None
    if path is None:
        env = os.environ.get(ENV_DATA)
        path = Path(env).expanduser() if env else default_data_root()
    if path.exists() and not path.is_dir():
        from sparsebox.exceptions import InvalidParameterError

        raise InvalidParameterError(f"data root {path} ({root_origin(root)}) is not a folder")
    return path


def root_origin(root: str | os.PathLike[str] | None = None) -> str:
    """Where :func:`data_root` takes the data root from, given ``root``, in words for messages.

    Examples
    --------
    >>> root_origin("/data")
    'the argument'
    """
    if root is not None:
        return "the argument"
    if os.environ.get(ENV_DATA):
        return f"${ENV_DATA}"
    return "the default: $SPARSEBOX_DATA is not set"


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
    """``folder`` itself when it is writable; otherwise a folder in the cache (one per ``folder``:
    ``name`` under a digest of its path) whose entries are symbolic links to ``folder``'s, so
    that libraries which write ``processed/`` beside ``raw/`` (PyG, ogb) can work on a
    read-only data root without copying or touching it. Links to entries that left ``folder``
    since the mirror was made are removed (a library would find them in its way)."""
    if is_writable(folder):
        return folder
    # one mirror per source folder: what a library processed from one data root's files must
    # not be handed to another's
    source = hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:16]
    mirror = cache_root() / "mirrors" / source / name
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


@contextlib.contextmanager
def download_folder(folder: str | os.PathLike[str]) -> Iterator[Path]:
    """``folder``, made (with the folders above it that are missing) for a download into it.
    When the block fails or is interrupted, the folders made for it or during it that hold no
    file are removed again: a failed download, or one into a mistyped data root, leaves no trace.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> try:
    ...     with download_folder(root / "typo" / "graphs") as folder:
    ...         (folder / "raw").mkdir()
    ...         raise OSError("no network")
    ... except OSError:
    ...     pass
    >>> list(root.iterdir())
    []
    """
    folder = Path(folder)
    made = [f for f in (folder, *folder.parents) if not f.exists()]
    before = {p for p in folder.rglob("*") if p.is_dir()} if folder.is_dir() else set()
    folder.mkdir(parents=True, exist_ok=True)
    try:
        yield folder
    except BaseException:
        new = [p for p in folder.rglob("*") if p.is_dir() and p not in before]
        for p in sorted(new, key=lambda p: len(p.parts), reverse=True) + made:  # deepest first
            with contextlib.suppress(OSError):  # one that holds a file stays
                p.rmdir()
        raise
