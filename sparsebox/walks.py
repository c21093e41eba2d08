"""Random walks over a :class:`~sparsebox.structure.SparseStructure`, many walkers per query.

The engine under dyGRASS: from each query's source, ``num_walkers`` walkers hop along edges,
accumulating the path resistance ``R = sum(1 / w_e)``, until they reach the target, hit a dead end,
exceed a resistance threshold, or run out of steps.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

import numpy as np

from sparsebox._validation import check_choice, check_int, check_real
from sparsebox.backend import BACKENDS, is_cupy_array, resolve_backend
from sparsebox.exceptions import InvalidParameterError
from sparsebox.structure import SparseStructure, as_structure

__all__ = ["random_walks", "WalkResult"]


@dataclass(frozen=True)
class WalkResult:
    """Per-query results of :func:`random_walks`.

    Attributes
    ----------
    reached : ndarray of bool, shape (Q,)
        Some walker reached the target (within the resistance threshold).
    resistance : ndarray of float, shape (Q,)
        Smallest path resistance among the walkers that reached the target; ``inf`` otherwise.
    hits : ndarray of int, shape (Q,)
        How many of the query's walkers reached the target.
    num_steps : int
        Hops taken by all walkers together (for throughput figures).
    paths : list of ndarray or None
        With ``return_paths=True``: per query, the item ids along the path of the walker with the
        smallest resistance (lowest walker index on ties); empty where no walker arrived. For a
        free walk (target -1), the path of the query's first walker.
    path_nodes : list of ndarray or None
        The same paths as node sequences, source first.
    backend : str
    """

    reached: np.ndarray
    resistance: np.ndarray
    hits: np.ndarray
    num_steps: int
    paths: list[np.ndarray] | None
    path_nodes: list[np.ndarray] | None
    backend: str


@dataclass(frozen=True)
class _WalkParams:
    indptr: np.ndarray
    indices: np.ndarray
    weight: np.ndarray
    entry_ids: np.ndarray
    undirected: bool
    unit_weights: bool  # every weight is 1: R counts hops (lets kernels skip weight loads)
    sources: np.ndarray
    targets: np.ndarray
    num_walkers: int
    max_steps: int
    seed: int
    weighted: bool
    non_backtracking: bool
    scale: np.ndarray  # per query, float64
    stop_resistance: float  # 0 means no threshold
    walker_offset: int = 0  # the first walker's index in the whole run (its random stream)


def walk_arrays(structure: SparseStructure) -> tuple[np.ndarray, ...]:
    """CSR arrays for walking, built once per structure: self-loops removed (a walker never takes
    one), int32 node indices where they fit; ``(indptr, indices, weight, entry_ids)``."""
    cache = structure._cache
    if "walk_arrays" not in cache:
        src = structure.entry_rows
        keep = structure.indices != src
        counts = np.bincount(src[keep], minlength=structure.num_nodes)
        indptr = np.concatenate([[0], np.cumsum(counts)])
        indices, weight, ids = structure.indices[keep], structure.weight[keep], structure.entry_ids[keep]
        idx_dtype = np.int32 if structure.num_nodes < 2**31 else np.int64
        cache["walk_arrays"] = (
            np.ascontiguousarray(indptr, dtype=np.int64),
            np.ascontiguousarray(indices, dtype=idx_dtype),
            np.ascontiguousarray(weight, dtype=np.float64),
            np.ascontiguousarray(ids, dtype=np.int64),
        )
        cache["unit_weights"] = bool(np.all(weight == 1.0))
    return cache["walk_arrays"]  # type: ignore[return-value]


def random_walks(
    structure: Any,
    sources: Any,
    targets: Any = None,
    *,
    num_walkers: int = 32,
    max_steps: int = 100,
    seed: int = 0,
    weighted: bool = False,
    non_backtracking: bool = True,
    scale: Any = 1.0,
    stop_resistance: float | None = None,
    return_paths: bool = False,
    backend: str = "auto",
    executor: Any = None,
    chunk_queries: int | None = None,
) -> WalkResult:
    """Run ``num_walkers`` random walks for each ``(source, target)`` query.

    Parameters
    ----------
    structure : SparseStructure or graph-like
        The graph (anything :func:`~sparsebox.as_structure` takes). Weights are conductances:
        a hop over edge ``e`` adds ``1 / w_e`` to the path resistance.
    sources : array_like of int, shape (Q,)
    targets : array_like of int, shape (Q,), optional
        ``-1`` (or ``None`` for all) means a free walk with no target.
    num_walkers : int
        Walkers per query (>= 1).
    max_steps : int
        Most hops per walker (>= 1).
    seed : int
        In ``0 .. 2**64 - 1``. Walker ``g`` of query ``i`` draws from stream
        ``i * num_walkers + g`` of the seed: a query's walks depend on the seed and its own
        position only, never on the other queries or the backend's thread or block count.
    weighted : bool
        Choose the next hop with probability proportional to edge weight (else uniformly).
    non_backtracking : bool
        After the first hop, never go straight back along the edge just taken; a walker at a node
        whose only neighbour is the one it came from stops there (dead end).
    scale : float or array_like, shape (Q,)
        Multiplies the resistance for the threshold test (dyGRASS: the inserted edge's weight).
    stop_resistance : float, optional
        A walker stops, without reaching, once ``scale * R >= stop_resistance``. This is checked
        before the target, so ``reached`` means reached with ``scale * R < stop_resistance``.
    return_paths : bool
        Also return the best walker's path per query (regenerated from its random stream).
    backend : {"auto", "numpy", "numba", "cuda"}
        ``"auto"``: cuda for CuPy inputs, else numba when installed, else the numpy reference.
    executor : sparsebox.parallel.Executor, optional
        Spread the queries over an executor's workers (a Ray cluster, local processes): the CSR
        arrays are shared once, each task walks ``chunk_queries`` queries with the same backend,
        and the results, gathered in query order, are bit for bit those of one process.
    chunk_queries : int, optional
        Queries per task (default: about 50,000 walks per task).

    Returns
    -------
    WalkResult

    Notes
    -----
    Cost ``O(Q * num_walkers * max_steps)`` hops, each ``O(1)`` (``O(degree)`` when weighted,
    or non-backtracking on a directed graph). Self-loops are never walked. A walker has not
    reached its source by standing on it: a query whose target is its source asks for a return,
    and its resistance is that of the walk back (a non-backtracking walker on a tree never
    returns). All backends draw from one counter-based splitmix64 stream per walker and agree
    exactly.

    Examples
    --------
    >>> import numpy as np
    >>> path = np.array([[0, 1, 1, 2, 2, 3], [1, 0, 2, 1, 3, 2]])
    >>> res = random_walks(path, [0], [3], num_walkers=4, max_steps=5, backend="numpy")
    >>> bool(res.reached[0]), float(res.resistance[0])
    (True, 3.0)
    """
    structure = as_structure(structure, name="structure")
    backend = resolve_backend(check_choice("backend", backend, ("auto", *BACKENDS)), sources, targets)
    sources = _to_host(sources)
    src = np.atleast_1d(np.asarray(sources))
    if src.ndim != 1 or (src.size and not np.issubdtype(src.dtype, np.integer)):
        raise InvalidParameterError(f"sources must be a one-dimensional integer array, got {src.dtype} "
                                    f"{src.shape}")
    q = src.shape[0]
    if targets is None:
        tgt = np.full(q, -1, dtype=np.int64)
    else:
        tgt = np.atleast_1d(np.asarray(_to_host(targets)))
        if tgt.shape != (q,) or (tgt.size and not np.issubdtype(tgt.dtype, np.integer)):
            raise InvalidParameterError(f"targets must be integers of shape ({q},), got {tgt.dtype} "
                                        f"{tgt.shape}")
    n = structure.num_nodes
    _check_nodes("sources", src, n, allow_free=False)
    _check_nodes("targets", tgt, n, allow_free=True)
    num_walkers = check_int("num_walkers", num_walkers, minimum=1)
    # a cap past 2**63 - 1 hops caps nothing a walk reaches; the kernels count hops in int64
    max_steps = min(check_int("max_steps", max_steps, minimum=1), 2**63 - 1)
    seed = check_int("seed", seed, minimum=0, maximum=2**64 - 1)
    if chunk_queries is not None:
        chunk_queries = check_int("chunk_queries", chunk_queries, minimum=1)
    if executor is not None and not callable(getattr(executor, "run", None)):
        raise InvalidParameterError(f"executor must be a sparsebox.parallel.Executor (such as "
                                    f"make_executor('ray')), got {executor!r}")
    for name, flag in (("weighted", weighted), ("non_backtracking", non_backtracking),
                       ("return_paths", return_paths)):
        if not isinstance(flag, (bool, np.bool_)):
            raise InvalidParameterError(f"{name} must be True or False, got {flag!r}")
    if stop_resistance is not None:
        stop_resistance = check_real("stop_resistance", stop_resistance, above=0)
    try:
        scale_arr = np.asarray(_to_host(scale), dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidParameterError(f"scale must be a number or an array of numbers, got {scale!r}") from None
    if scale_arr.ndim not in (0, 1) or (scale_arr.ndim == 1 and scale_arr.shape != (q,)):
        raise InvalidParameterError(f"scale must be a number or an array of shape ({q},), got "
                                    f"{scale_arr.shape}")
    bad = ~(np.isfinite(scale_arr) & (scale_arr > 0))
    if bad.any():
        at = f" at position {int(np.flatnonzero(bad)[0])}" if scale_arr.ndim else ""
        raise InvalidParameterError(f"scale must be positive and finite, got "
                                    f"{float(scale_arr[bad][0])}{at}")

    indptr, indices, weight, entry_ids = walk_arrays(structure)
    common = dict(indptr=indptr, indices=indices, weight=weight, entry_ids=entry_ids,
                  undirected=structure.is_undirected,
                  unit_weights=structure._cache["unit_weights"], num_walkers=num_walkers,
                  max_steps=max_steps, seed=seed,
                  weighted=bool(weighted), non_backtracking=bool(non_backtracking),
                  stop_resistance=float(stop_resistance or 0.0))
    impl = _backend_module(backend)
    src64, tgt64 = src.astype(np.int64), tgt.astype(np.int64)
    scale_arr = np.array(np.broadcast_to(scale_arr, (q,)), dtype=np.float64)  # writable: one
    # numba compilation for every call

    paths = path_nodes = None
    if executor is not None and q:
        summary = _walk_chunks_on(executor, backend, src64, tgt64, scale_arr, common,
                                  chunk_queries or max(1, 50_000 // num_walkers))
    else:
        p = _WalkParams(sources=src64, targets=tgt64, scale=scale_arr, **common)
        summary = _per_query(impl.run_walkers(p), num_walkers)
    hits, resistance, winner, num_steps = summary
    reached = hits > 0
    if return_paths:
        # the winning walker of each query (first among equal minima; walker 0 for free walks),
        # regenerated from its stream
        paths = [np.zeros(0, dtype=np.int64)] * q
        path_nodes = [np.zeros(0, dtype=np.int64)] * q
        p = _WalkParams(sources=src64, targets=tgt64, scale=scale_arr, **common)
        local = np.flatnonzero(reached | (tgt64 < 0))
        best = np.where(tgt64[local] < 0, 0, winner[local])
        offsets, entries = _path_module(backend).walker_paths(
            p, (local * num_walkers + best).astype(np.int64))
        for j, i in enumerate(local):
            e = entries[offsets[j]:offsets[j + 1]]
            paths[i] = entry_ids[e]
            path_nodes[i] = np.concatenate([[src64[i]], indices[e].astype(np.int64)])
    return WalkResult(reached, resistance, hits, num_steps, paths, path_nodes, backend)


def _per_query(walkers: tuple[np.ndarray, ...], num_walkers: int) -> tuple:
    """Per query, from per-walker ``(reached, resistance, steps)``: ``(hits, smallest
    resistance, the walker that has it, steps of all walkers)``."""
    w_reached, w_res, w_steps = walkers
    w_res = w_res.reshape(-1, num_walkers)
    hits = w_reached.reshape(-1, num_walkers).sum(axis=1)
    return hits, w_res.min(axis=1), np.argmin(w_res, axis=1), int(w_steps.sum())


def _walk_chunk(task: dict, emit: Any, shared: tuple) -> tuple:
    """An executor task: the walkers of a slice of the queries, with the stream offset of its
    first walker, summed up per query (a task sends back a few numbers per query, not per
    walker)."""
    indptr, indices, weight, entry_ids = shared
    p = _WalkParams(indptr=indptr, indices=indices, weight=weight, entry_ids=entry_ids,
                    **task["params"])
    return _per_query(_backend_module(task["backend"]).run_walkers(p), p.num_walkers)


def _walk_chunks_on(executor: Any, backend: str, src: np.ndarray, tgt: np.ndarray,
                    scale: np.ndarray, common: dict, chunk: int) -> tuple:
    """The per-query summary (see :func:`_per_query`) of all queries, computed in tasks of
    ``chunk`` queries on ``executor`` and put back in order."""
    arrays = ("indptr", "indices", "weight", "entry_ids")
    shared = tuple(common[k] for k in arrays)
    rest = {k: v for k, v in common.items() if k not in arrays}
    tasks = [{"backend": backend, "params": {
        **rest, "sources": src[start:start + chunk], "targets": tgt[start:start + chunk],
        "scale": scale[start:start + chunk], "walker_offset": start * common["num_walkers"]}}
        for start in range(0, src.shape[0], chunk)]
    results = executor.run(_walk_chunk, tasks, shared=shared)
    return (*(np.concatenate([r[i] for r in results]) for i in range(3)),
            sum(r[3] for r in results))


def _to_host(x: Any) -> Any:
    """CuPy arrays and torch tensors (on a GPU, or one that requires grad, such as a weight
    given as ``scale``) as numpy arrays; anything else unchanged."""
    if is_cupy_array(x):
        return x.get()
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(x, torch.Tensor):
        x = x.detach().cpu()
        return (x.float() if x.dtype == torch.bfloat16 else x).numpy()
    return x


def _check_nodes(name: str, nodes: np.ndarray, n: int, *, allow_free: bool) -> None:
    low = -1 if allow_free else 0
    bad = (nodes < low) | (nodes >= n)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        allowed = f"-1 or 0..{n - 1}" if allow_free else f"0..{n - 1}"
        if n == 0:
            allowed = "the graph has no nodes"
        raise InvalidParameterError(f"{name}[{i}] = {int(nodes[i])} is out of range ({allowed})")


def _backend_module(backend: str):
    if backend == "numba":
        from sparsebox.backend import _numba as impl
    elif backend == "cuda":
        from sparsebox.backend import _cuda as impl
    else:
        from sparsebox.backend import _reference as impl
    return impl


def _path_module(backend: str):
    """Paths are regenerated on the CPU: with numba when it is there, else the reference."""
    from sparsebox.backend import has_numba

    return _backend_module("numba" if backend != "numpy" and has_numba() else "numpy")
