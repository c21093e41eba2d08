"""Random walks on an NVIDIA GPU with a CuPy RawKernel.

One block per query, its threads (a multiple of 32) striding over the query's walkers; each walker
draws from the same splitmix64 stream as the reference, so results match it bit for bit. Paths are
regenerated on the CPU from the winning walker's stream (see :mod:`sparsebox.walks`).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from sparsebox.backend import _rng

KERNEL_SOURCE = r"""
extern "C" __global__ void random_walks(
    const long long* __restrict__ indptr, const int* __restrict__ indices,
    const double* __restrict__ weight,
    const long long* __restrict__ sources, const long long* __restrict__ targets,
    const long long num_queries, const int num_walkers, const unsigned long long seed,
    const long long max_steps, const int weighted, const int non_backtracking, const int undirected,
    const double* __restrict__ scale, const double stop_resistance,
    const long long walker_offset,
    bool* __restrict__ reached, double* __restrict__ resistance, long long* __restrict__ steps)
{
    const long long q = blockIdx.x;
    if (q >= num_queries) return;
    const long long src = sources[q];
    const long long tgt = targets[q];
    const double query_scale = scale[q];
    for (int w = threadIdx.x; w < num_walkers; w += blockDim.x) {
        const long long g = q * num_walkers + w;
        unsigned long long state =
            seed ^ ((unsigned long long)(g + walker_offset + 1) * GOLDEN_WALKER_MULT);
        long long cur = src, prev = -1;
        double r = 0.0;
        long long s = 0;
        bool ok = false;
        while (s < max_steps) {
            const long long start = indptr[cur], end = indptr[cur + 1];
            bool exclude = false;
            if (non_backtracking && prev >= 0) {
                if (undirected) exclude = true;
                else for (long long e = start; e < end; ++e)
                    if (indices[e] == prev) { exclude = true; break; }
            }
            const long long count = end - start - (exclude ? 1 : 0);
            if (count == 0) break;
            state += GOLDEN_GAMMA;
            unsigned long long z = state;
            z = (z ^ (z >> 30)) * MIX_1;
            z = (z ^ (z >> 27)) * MIX_2;
            z ^= z >> 31;
            const double u = (double)(z >> 11) * TWO_POW_M53;
            long long k;
            if (weighted) {
                double total = 0.0;
                for (long long e = start; e < end; ++e)
                    if (!(exclude && indices[e] == prev)) total += weight[e];
                const double t = u * total;
                double acc = 0.0;
                long long pick = -1;
                for (long long e = start; e < end; ++e) {
                    if (exclude && indices[e] == prev) continue;
                    acc += weight[e];
                    pick = e;
                    if (t < acc) break;
                }
                k = pick;
            } else {
                k = start + (long long)(u * (double)count);
                if (exclude && indices[k] == prev) k = end - 1;
            }
            r += 1.0 / weight[k];
            ++s;
            prev = cur;
            cur = indices[k];
            if (stop_resistance > 0.0 && query_scale * r >= stop_resistance) break;
            if (cur == tgt) { ok = true; break; }
        }
        reached[g] = ok;
        resistance[g] = ok ? r : __longlong_as_double(0x7ff0000000000000LL);
        steps[g] = s;
    }
}
"""


def kernel_source() -> str:
    """The CUDA source with the stream's constants filled in (compilable by NVRTC or nvcc)."""
    return (
        KERNEL_SOURCE.replace("GOLDEN_WALKER_MULT", f"{_rng.WALKER_MULT:#x}ULL")
        .replace("GOLDEN_GAMMA", f"{_rng.GOLDEN:#x}ULL")
        .replace("MIX_1", f"{_rng.MIX1:#x}ULL")
        .replace("MIX_2", f"{_rng.MIX2:#x}ULL")
        .replace("TWO_POW_M53", "1.1102230246251565e-16")
    )


@lru_cache(maxsize=1)
def _kernel():
    import cupy

    return cupy.RawKernel(kernel_source(), "random_walks", options=("-std=c++14",))


def run_walkers(p) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Run on the GPU; returns host arrays (per walker)."""
    import cupy

    if p.indices.dtype != np.int32:
        raise ValueError("the CUDA walk kernel needs fewer than 2**31 nodes")
    indptr, indices, weight = (cupy.asarray(a) for a in (p.indptr, p.indices, p.weight))
    sources = cupy.asarray(p.sources, dtype=cupy.int64)
    targets = cupy.asarray(p.targets, dtype=cupy.int64)
    scale = cupy.asarray(p.scale, dtype=cupy.float64)
    q = int(p.sources.shape[0])
    total = q * p.num_walkers
    reached = cupy.zeros(total, dtype=cupy.bool_)
    resistance = cupy.empty(total, dtype=cupy.float64)
    steps = cupy.zeros(total, dtype=cupy.int64)
    threads = min(256, max(32, -(-p.num_walkers // 32) * 32))
    if q:
        _kernel()(
            (q,), (threads,),
            (indptr, indices, weight, sources, targets, np.int64(q),
             np.int32(p.num_walkers), np.uint64(p.seed & _rng.MASK64), np.int64(p.max_steps),
             np.int32(p.weighted), np.int32(p.non_backtracking), np.int32(p.undirected),
             scale, np.float64(p.stop_resistance), np.int64(p.walker_offset), reached, resistance,
             steps),
        )
    return cupy.asnumpy(reached), cupy.asnumpy(resistance), cupy.asnumpy(steps)
