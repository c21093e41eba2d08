"""The numpy reference for random walks: one walker at a time, written to be read.

This is the specification the numba and CUDA kernels are checked against (bit for bit, since all
three draw from the same counter-based stream). It is slow; use it on small graphs.
"""

from __future__ import annotations

import numpy as np

from sparsebox.backend._rng import initial_state, next_uniform


def walk_one(g, src, tgt, scale, seed, p) -> tuple[bool, float, int, list[int]]:
    """Walk walker ``g`` from ``src``, its resistance tested times ``scale``; return
    ``(reached, resistance, steps, entries)``.

    ``p`` holds the walk arrays and parameters (see :func:`sparsebox.walks.random_walks`).
    """
    state = initial_state(seed, g)
    cur, prev = src, -1
    resistance, steps, entries = 0.0, 0, []
    while steps < p.max_steps:
        start, end = int(p.indptr[cur]), int(p.indptr[cur + 1])
        # exclude the node just left, when it is a neighbour (always, in an undirected graph)
        exclude = p.non_backtracking and prev >= 0 and (
            p.undirected or bool(np.any(p.indices[start:end] == prev)))
        count = end - start - int(exclude)
        if count == 0:
            break  # dead end
        state, u = next_uniform(state)
        if p.weighted:
            total = 0.0
            for k in range(start, end):
                if not (exclude and p.indices[k] == prev):
                    total += p.weight[k]
            t, acc, k_pick = u * total, 0.0, -1
            for k in range(start, end):
                if not (exclude and p.indices[k] == prev):
                    acc += p.weight[k]
                    k_pick = k
                    if t < acc:
                        break
            k = k_pick
        else:
            # a uniform slot among the first `count`; the slot holding `prev` stands for the last
            k = start + int(u * count)
            if exclude and p.indices[k] == prev:
                k = end - 1
        resistance += 1.0 / p.weight[k]
        steps += 1
        prev, cur = cur, int(p.indices[k])
        entries.append(k)
        if p.stop_resistance > 0 and scale * resistance >= p.stop_resistance:
            break
        if cur == tgt:
            return True, resistance, steps, entries
    return False, resistance, steps, entries


def run_walkers(p) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every walker of every query: per-walker ``reached``, ``resistance`` and ``steps``."""
    total = p.sources.shape[0] * p.num_walkers
    reached = np.zeros(total, dtype=bool)
    resistance = np.full(total, np.inf)
    steps = np.zeros(total, dtype=np.int64)
    for g in range(total):
        q = g // p.num_walkers
        ok, r, s, _ = walk_one(g + p.walker_offset, int(p.sources[q]), int(p.targets[q]),
                               float(p.scale[q]), p.seed, p)
        reached[g], steps[g] = ok, s
        resistance[g] = r if ok else np.inf
    return reached, resistance, steps


def walker_paths(p, gs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """CSR entries of the walkers ``gs``, regenerated from their streams: ``(offsets, entries)``."""
    chunks = []
    for g in gs:
        q = int(g) // p.num_walkers
        _, _, _, entries = walk_one(int(g), int(p.sources[q]), int(p.targets[q]),
                                    float(p.scale[q]), p.seed, p)
        chunks.append(np.asarray(entries, dtype=np.int64))
    offsets = np.concatenate([[0], np.cumsum([len(c) for c in chunks])]).astype(np.int64)
    return offsets, (np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int64))
