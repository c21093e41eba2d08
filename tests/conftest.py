"""Shared test set-up: the data root, no network, and the GPU marker."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
_shared = REPO.parent / "shared" / "data"
if "SPARSEBOX_DATA" not in os.environ and _shared.is_dir():
    os.environ["SPARSEBOX_DATA"] = str(_shared)
os.environ.setdefault("NUMBA_THREADING_LAYER", "omp")


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The real data (``../shared/data``); tests that need it fail, not skip, without it."""
    root = Path(os.environ.get("SPARSEBOX_DATA", ""))
    if not (root / "MANIFEST.tsv").exists():
        pytest.fail(f"real data not found at {root!s}; set SPARSEBOX_DATA to ../shared/data")
    return root


@pytest.fixture(autouse=True)
def _no_network(monkeypatch):
    """Tests never download: any attempt to open a network connection fails loudly."""

    def refuse(*args, **kwargs):
        raise OSError("network access attempted in a test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def _gpu_available() -> bool:
    try:
        import torch

        if torch.cuda.is_available():
            return True
    except Exception:
        pass
    try:
        import cupy

        return bool(cupy.is_available())
    except Exception:
        return False


def pytest_collection_modifyitems(config, items):
    if _gpu_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU (CuPy or torch.cuda)")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


class CliResult:
    """What one run of the command line did: exit code, standard output and error."""

    def __init__(self, code: int, out: str, err: str) -> None:
        self.exit_code, self.stdout, self.stderr = code, out, err
        self.output = out + err

    def error_line(self, *names: str) -> str:
        """The one ``error:`` line of a run refused as a user's mistake (exit code 2, no
        traceback, nothing else on stderr, not even a blank line a progress bar left), checked
        to name each of ``names``."""
        assert self.exit_code == 2, (self.exit_code, self.output)
        assert "Traceback" not in self.output, self.output
        lines = self.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), self.stderr
        for name in names:
            assert name in lines[0], (name, lines[0])
        return lines[0]


@pytest.fixture
def deadline():
    """``with deadline(seconds):`` fails the block, rather than hang the run, when it takes
    longer than ``seconds`` (a SIGALRM timer)."""

    @contextlib.contextmanager
    def within(seconds: float):
        def expire(signum, frame):
            raise TimeoutError(f"still running after {seconds} s")

        previous = signal.signal(signal.SIGALRM, expire)
        signal.setitimer(signal.ITIMER_REAL, seconds)
        try:
            yield
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)

    return within


@pytest.fixture
def cli(capsys):
    """Run ``sparsebox ARGS...`` in this process through the real entry point (the one that turns
    errors into ``error:`` lines); returns a :class:`CliResult`."""
    from sparsebox.cli import main

    def run(*args) -> CliResult:
        capsys.readouterr()
        code = main([str(a) for a in args])
        out, err = capsys.readouterr()
        return CliResult(code, out, err)

    return run
