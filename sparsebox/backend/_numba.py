"""Random walks on the CPU with numba: parallel over walkers, one counter-based stream each.

Same semantics and same random stream as :mod:`sparsebox.backend._reference` (bit for bit).
Imported only when the numba backend is used; kernels compile on their first call.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from sparsebox.backend import _rng

_GOLDEN = np.uint64(_rng.GOLDEN)
_MIX1 = np.uint64(_rng.MIX1)
_MIX2 = np.uint64(_rng.MIX2)
_WALKER_MULT = np.uint64(_rng.WALKER_MULT)
_S11, _S27, _S30, _S31 = np.uint64(11), np.uint64(27), np.uint64(30), np.uint64(31)
_TWO_POW_M53 = _rng.TWO_POW_M53


@njit(cache=True, nogil=True)
def _walk(g, src, tgt, seed, indptr, indices, weight, reverse, max_steps, weighted,
          non_backtracking, scale, stop_resistance, path):
    record = path.shape[0] > 0
    state = seed ^ (np.uint64(g + 1) * _WALKER_MULT)
    cur = src
    prev_entry = -1
    resistance = 0.0
    steps = 0
    while steps < max_steps:
        start = indptr[cur]
        end = indptr[cur + 1]
        excluded = -1
        if non_backtracking and prev_entry >= 0:
            excluded = reverse[prev_entry]
        count = end - start
        if excluded >= 0:
            count -= 1
        if count == 0:
            break
        state = state + _GOLDEN
        z = state
        z = (z ^ (z >> _S30)) * _MIX1
        z = (z ^ (z >> _S27)) * _MIX2
        z = z ^ (z >> _S31)
        u = float(z >> _S11) * _TWO_POW_M53
        if weighted:
            total = 0.0
            for k in range(start, end):
                if k != excluded:
                    total += weight[k]
            t = u * total
            acc = 0.0
            k_pick = -1
            for k in range(start, end):
                if k != excluded:
                    acc += weight[k]
                    k_pick = k
                    if t < acc:
                        break
            k = k_pick
        else:
            k = start + np.int64(u * count)
            if excluded >= 0 and k >= excluded:
                k += 1
        resistance += 1.0 / weight[k]
        if record:
            path[steps] = k
        steps += 1
        prev_entry = k
        cur = indices[k]
        if stop_resistance > 0.0 and scale * resistance >= stop_resistance:
            break
        if cur == tgt:
            return True, resistance, steps
    return False, resistance, steps


@njit(cache=True, parallel=True, nogil=True)
def _run(sources, targets, num_walkers, seed, indptr, indices, weight, reverse, max_steps,
         weighted, non_backtracking, scale, stop_resistance, reached, resistance, steps):
    total = sources.shape[0] * num_walkers
    no_path = np.empty(0, dtype=np.int64)
    for g in prange(total):
        q = g // num_walkers
        ok, r, s = _walk(g, sources[q], targets[q], seed, indptr, indices, weight, reverse,
                         max_steps, weighted, non_backtracking, scale, stop_resistance, no_path)
        reached[g] = ok
        resistance[g] = r if ok else np.inf
        steps[g] = s


def _args(p):
    return (p.indptr, p.indices, p.weight, p.reverse, p.max_steps, p.weighted,
            p.non_backtracking, p.scale, p.stop_resistance)


def run_walkers(p) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    total = p.sources.shape[0] * p.num_walkers
    reached = np.zeros(total, dtype=np.bool_)
    resistance = np.empty(total, dtype=np.float64)
    steps = np.zeros(total, dtype=np.int64)
    _run(p.sources, p.targets, p.num_walkers, np.uint64(p.seed & _rng.MASK64), *_args(p),
         reached, resistance, steps)
    return reached, resistance, steps


def walker_path(p, g: int) -> np.ndarray:
    q = g // p.num_walkers
    path = np.empty(p.max_steps, dtype=np.int64)
    _, _, steps = _walk(g, p.sources[q], p.targets[q], np.uint64(p.seed & _rng.MASK64),
                        *_args(p), path)
    return path[:steps]
