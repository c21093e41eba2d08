"""Compute backends: the numpy reference (the specification), numba (CPU) and CuPy (GPU).

Optional packages are probed once, lazily, on first use; importing sparsebox never compiles a
kernel and never fails because numba, CuPy or a GPU is missing.
"""

from __future__ import annotations

from functools import lru_cache

BACKENDS = ("numpy", "numba", "cuda")

__all__ = ["BACKENDS", "has_numba", "has_cuda", "resolve_backend"]


@lru_cache(maxsize=1)
def has_numba() -> bool:
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


@lru_cache(maxsize=1)
def has_cuda() -> bool:
    """CuPy is installed and sees a CUDA device."""
    try:
        import cupy
    except ImportError:
        return False
    try:
        return bool(cupy.is_available())
    except Exception:
        return False


def is_cupy_array(x: object) -> bool:
    return type(x).__module__.startswith("cupy")


def resolve_backend(backend: str, *arrays: object) -> str:
    """The backend to use: ``"auto"`` picks cuda for CuPy inputs, else numba, else numpy.

    Asking for one that is not available is an error that says what to install.
    """
    if backend == "auto":
        if any(is_cupy_array(a) for a in arrays):
            backend = "cuda"
        else:
            return "numba" if has_numba() else "numpy"
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {('auto', *BACKENDS)}, got {backend!r}")
    if backend == "numba" and not has_numba():
        raise ImportError("backend='numba' needs numba: pip install numba")
    if backend == "cuda" and not has_cuda():
        raise RuntimeError(
            "backend='cuda' needs CuPy and a CUDA GPU (pip install 'sparsebox[gpu]'); "
            "none is available here. Use backend='numba' or 'numpy'."
        )
    return backend
