"""Where data lives: the data root (inputs) and the cache (files we derive and may write)."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from sparsebox.outputs import is_writable

__all__ = ["data_root", "root_origin", "cache_root", "writable_mirror", "default_data_root",
           "download_root", "download_folder", "move_into_place"]

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
    :func:`default_data_root`. One that exists but is not a folder, or lies below a file, is
    refused (with where it came from): nothing could be read from it or downloaded into it.

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
    if root is not None and not os.fspath(root):  # Path("") would be the current folder
        from sparsebox.exceptions import InvalidParameterError

        raise InvalidParameterError("data root '' (the argument) is empty; give a folder, or None for "
                                    f"${ENV_DATA} or the default")
    path = Path(root).expanduser() if root is not None else None
    if path is None:
        env = os.environ.get(ENV_DATA)
        path = Path(env).expanduser() if env else default_data_root()
    # a root below a file (a mistyped path) could not be made either
    blocker = next((p for p in (path, *path.parents) if p.exists() and not p.is_dir()), None)
    if blocker is not None:
        from sparsebox.exceptions import InvalidParameterError

        inside = "" if blocker == path else f": {blocker} is a file"
        raise InvalidParameterError(f"data root {path} ({root_origin(root)}) is not a folder{inside}")
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
    # set to nothing (an unset shell variable exported), it is read as not set: said so
    how = "is empty" if ENV_DATA in os.environ else "is not set"
    return f"the default: ${ENV_DATA} {how}"


def cache_root() -> Path:
    """Writable folder for processed files: ``$SPARSEBOX_CACHE`` or ``~/.cache/sparsebox``
    (made if need be)."""
    path = _cache_path()
    path.mkdir(parents=True, exist_ok=True)
    return path


def _cache_path() -> Path:
    """Where :func:`cache_root` is, without making it (a command that only says where files
    would go makes no folder)."""
    env = os.environ.get(ENV_CACHE)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "sparsebox"


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
    return Path(root) if is_writable(root) else _cache_path() / "downloads"  # made on download


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
    """A private temporary folder inside ``folder`` (made, with the folders above it that are
    missing) to download into; the caller moves what it downloaded into place with
    :func:`move_into_place` before the block ends. The temporary folder goes when the block
    ends, and when the block fails or is interrupted, so do the folders made for it (those that
    hold nothing another process put there): a failed download, or one into a mistyped data
    root, leaves no trace, and two processes downloading at once never see each other's
    partial files.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> try:
    ...     with download_folder(root / "typo" / "graphs") as tmp:
    ...         _ = (tmp / "part.bin").write_bytes(b"half")
    ...         raise OSError("no network")
    ... except OSError:
    ...     pass
    >>> list(root.iterdir())
    []
    """
    folder = Path(folder)
    made = [f for f in (folder, *folder.parents) if not f.exists()]  # deepest first
    folder.mkdir(parents=True, exist_ok=True)
    try:
        with tempfile.TemporaryDirectory(dir=folder, prefix=".download-") as tmp:
            yield Path(tmp)
    except BaseException:
        for f in made:
            with contextlib.suppress(OSError):  # one that holds something stays
                f.rmdir()
        raise


def move_into_place(source: Path, target: Path) -> None:
    """Move the file or folder ``source`` (in a :func:`download_folder`) to ``target``, in one
    rename; where ``target`` is there already (another process was first), the entries of a
    folder it lacks are moved into it and the rest is left to go with the temporary folder.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> tmp, root = pathlib.Path(tempfile.mkdtemp()), pathlib.Path(tempfile.mkdtemp())
    >>> (tmp / "raw").mkdir(); _ = (tmp / "raw" / "a").write_text("new")
    >>> move_into_place(tmp / "raw", root / "raw"); (root / "raw" / "a").read_text()
    'new'
    """
    if not target.exists():
        try:
            source.rename(target)
            return
        except OSError:
            if not target.exists():  # not another process's folder in the way
                raise
    if source.is_dir() and target.is_dir():
        for entry in source.iterdir():
            move_into_place(entry, target / entry.name)
