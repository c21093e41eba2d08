"""Random walks on the CPU with numba: parallel over walkers, one counter-based stream each.

Same semantics and same random stream as :mod:`sparsebox.backend._reference` (bit for bit).
Imported only when the numba backend is used; kernels compile on their first call.

A hop is latency-bound (each load depends on the last), so each thread advances ``LANES``
walkers in lockstep: their independent cache misses overlap, which a one-walker-at-a-time loop
cannot do.
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
LANES = 16


@njit(inline="always")
def _hop(state, cur, prev, indptr, indices, weight, weighted, non_backtracking, undirected):
    """One hop: ``(new_state, entry)``, entry -1 at a dead end (state then unchanged)."""
    start = indptr[cur]
    end = indptr[cur + 1]
    exclude = False
    if non_backtracking and prev >= 0:
        if undirected:
            exclude = True
        else:
            for k in range(start, end):
                if indices[k] == prev:
                    exclude = True
                    break
    count = end - start
    if exclude:
        count -= 1
    if count == 0:
        return state, -1
    state = state + _GOLDEN
    z = state
    z = (z ^ (z >> _S30)) * _MIX1
    z = (z ^ (z >> _S27)) * _MIX2
    z = z ^ (z >> _S31)
    u = float(z >> _S11) * _TWO_POW_M53
    if weighted:
        total = 0.0
        for k in range(start, end):
            if not (exclude and indices[k] == prev):
                total += weight[k]
        t = u * total
        acc = 0.0
        k_pick = -1
        for k in range(start, end):
            if not (exclude and indices[k] == prev):
                acc += weight[k]
                k_pick = k
                if t < acc:
                    break
        return state, k_pick
    k = start + np.int64(u * count)
    if exclude and indices[k] == prev:
        k = end - 1
    return state, k


@njit(cache=True, nogil=True)
def _walk(g, src, tgt, seed, indptr, indices, weight, max_steps, weighted, non_backtracking,
          undirected, unit_weights, scale, stop_resistance, path):
    """One walker, recording its entries into ``path`` as far as it reaches (the path
    regenerator; an empty ``path`` only counts the steps)."""
    state = seed ^ (np.uint64(g + 1) * _WALKER_MULT)
    cur = src
    prev = -1
    resistance = 0.0
    steps = 0
    while steps < max_steps:
        state, k = _hop(state, cur, prev, indptr, indices, weight, weighted, non_backtracking,
                        undirected)
        if k < 0:
            break
        resistance += 1.0 if unit_weights else 1.0 / weight[k]
        if steps < path.shape[0]:
            path[steps] = k
        steps += 1
        prev = cur
        cur = indices[k]
        if stop_resistance > 0.0 and scale * resistance >= stop_resistance:
            break
        if cur == tgt:
            return True, resistance, steps
    return False, resistance, steps


@njit(cache=True, parallel=True, nogil=True)
def _run(sources, targets, num_walkers, seed, indptr, indices, weight, max_steps, weighted,
         non_backtracking, undirected, unit_weights, scale, stop_resistance, walker_offset,
         reached, resistance, steps):
    total = sources.shape[0] * num_walkers
    num_chunks = (total + LANES - 1) // LANES
    for c in prange(num_chunks):
        g0 = c * LANES
        m = min(LANES, total - g0)
        state = np.empty(LANES, dtype=np.uint64)
        cur = np.empty(LANES, dtype=np.int64)
        tgt = np.empty(LANES, dtype=np.int64)
        prev = np.full(LANES, -1, dtype=np.int64)
        res = np.zeros(LANES, dtype=np.float64)
        nstep = np.zeros(LANES, dtype=np.int64)
        live = np.zeros(LANES, dtype=np.bool_)
        lane_scale = np.empty(LANES, dtype=np.float64)
        for b in range(m):
            g = g0 + b
            q = g // num_walkers
            state[b] = seed ^ (np.uint64(g + walker_offset + 1) * _WALKER_MULT)
            cur[b] = sources[q]
            tgt[b] = targets[q]
            lane_scale[b] = scale[q]
            live[b] = True
            reached[g] = False
        active = m
        while active > 0:
            for b in range(m):
                if not live[b]:
                    continue
                s, k = _hop(state[b], cur[b], prev[b], indptr, indices, weight, weighted,
                            non_backtracking, undirected)
                done = k < 0
                if not done:
                    state[b] = s
                    res[b] += 1.0 if unit_weights else 1.0 / weight[k]
                    nstep[b] += 1
                    prev[b] = cur[b]
                    cur[b] = indices[k]
                    if stop_resistance > 0.0 and lane_scale[b] * res[b] >= stop_resistance:
                        done = True
                    elif cur[b] == tgt[b]:
                        reached[g0 + b] = True
                        done = True
                    elif nstep[b] >= max_steps:
                        done = True
                if done:
                    live[b] = False
                    active -= 1
        for b in range(m):
            g = g0 + b
            resistance[g] = res[b] if reached[g] else np.inf
            steps[g] = nstep[b]


def _args(p):
    return (p.indptr, p.indices, p.weight, p.max_steps, p.weighted, p.non_backtracking,
            p.undirected, p.unit_weights, p.scale, p.stop_resistance)


def run_walkers(p) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    total = p.sources.shape[0] * p.num_walkers
    reached = np.zeros(total, dtype=np.bool_)
    resistance = np.empty(total, dtype=np.float64)
    steps = np.zeros(total, dtype=np.int64)
    _run(p.sources, p.targets, p.num_walkers, np.uint64(p.seed & _rng.MASK64), *_args(p),
         np.int64(p.walker_offset), reached, resistance, steps)
    return reached, resistance, steps


@njit(cache=True, nogil=True)
def _paths(gs, sources, targets, num_walkers, seed, indptr, indices, weight, max_steps,
           weighted, non_backtracking, undirected, unit_weights, scale, stop_resistance):
    # two passes, counting then recording: a buffer of max_steps per walker would not fit in
    # memory where max_steps is a generous cap (10**8) on walks of a few hops
    offsets = np.zeros(gs.shape[0] + 1, dtype=np.int64)
    for record in (False, True):
        buffer = np.empty(offsets[-1], dtype=np.int64)
        for j in range(gs.shape[0]):
            g = gs[j]
            q = g // num_walkers
            start = offsets[j]
            _, _, steps = _walk(g, sources[q], targets[q], seed, indptr, indices, weight,
                                max_steps, weighted, non_backtracking, undirected, unit_weights,
                                scale[q], stop_resistance,
                                buffer[start:offsets[j + 1]] if record else buffer[:0])
            if not record:
                offsets[j + 1] = start + steps
    return offsets, buffer


def walker_paths(p, gs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """CSR entries of the walkers ``gs``, regenerated from their streams: ``(offsets, entries)``."""
    return _paths(gs, p.sources, p.targets, p.num_walkers, np.uint64(p.seed & _rng.MASK64),
                  *_args(p))
