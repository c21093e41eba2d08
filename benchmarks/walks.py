"""Walk steps per second: numpy reference vs numba (1 and 2 threads) vs CuPy (where a GPU is lent).

    python benchmarks/walks.py                      # wave + a generated ~10 M-edge Delaunay graph
    python benchmarks/walks.py --big-points 200000  # a smaller generated graph
    python benchmarks/walks.py --big-points 0       # wave alone

Writes walks.json and walks.md into --out (default out/benchmarks in the repository;
`--out benchmarks/results` updates the committed record). Each backend runs the same kind of queries
(random sources and targets, non-backtracking, 32 walkers, 100 steps) on the same graph in one
process; the reference gets fewer queries because it is slow, and throughput is steps / second.
"""

from __future__ import annotations

import argparse
import platform
import time

import numba
import numpy as np
from _common import add_out_option, check_startup, command_line, count, require, to_json
from _graphs import check_big_points, delaunay_graph
from rich.console import Console

from sparsebox.backend import has_cuda
from sparsebox.data import load_graph
from sparsebox.walks import random_walks, walk_arrays

CACHE_LINE = 64
# Per hop on an unweighted graph a walker reads indptr[cur], indptr[cur + 1] (one line) and the
# neighbour row indices[start:end] (one line, int32): 8 + 8 + 4 = 20 useful bytes over 2 cache lines
# when nothing is cached. (A weighted walk also reads the row's weights: a third line.)
USEFUL_BYTES_PER_STEP = 20
LINES_PER_STEP = 2


def memory_bandwidth_gbs() -> float:
    """Read bandwidth of this machine from summing a 1 GiB array (best of 3)."""
    x = np.ones(1 << 27)
    best = np.inf
    for _ in range(3):
        t = time.perf_counter()
        x.sum()
        best = min(best, time.perf_counter() - t)
    return x.nbytes / best / 1e9


def time_walks(graph, backend, queries, threads=None, repeats=2):
    rng = np.random.default_rng(0)
    s = rng.integers(0, graph.num_nodes, queries)
    t = rng.integers(0, graph.num_nodes, queries)
    if threads is not None:
        numba.set_num_threads(threads)
    random_walks(graph, s[:8], t[:8], num_walkers=32, max_steps=100, backend=backend)  # warm-up
    best, steps = np.inf, 0
    for _ in range(repeats):
        start = time.perf_counter()
        res = random_walks(graph, s, t, num_walkers=32, max_steps=100, seed=1, backend=backend)
        best = min(best, time.perf_counter() - start)
        steps = res.num_steps
    return {"backend": backend, "threads": threads, "queries": queries, "walkers": 32,
            "max_steps": 100, "steps": steps, "seconds": best, "steps_per_s": steps / best}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--big-points", type=count(0), default=3_400_000,
                    help="points of the generated Delaunay graph (about 3 edges per point; 0: "
                         "none; default 3,400,000)")
    ap.add_argument("--ref-queries", type=count(1), default=30,
                    help="walk queries (source, target pairs) for the numpy reference (default 30)")
    ap.add_argument("--queries", type=count(1), default=20_000,
                    help="walk queries for numba (default 20,000); CUDA runs 10 times as many")
    ap.add_argument("--no-cuda", action="store_true",
                    help="leave out the CUDA row even where a GPU is present")
    add_out_option(ap, "walks.json and walks.md")
    args = ap.parse_args(argv)
    check_big_points(args.big_points)
    args.out = check_startup(args.out, datasets=["wave"], outputs=["walks.json", "walks.md"])
    import torch

    if torch.cuda.is_available() and not args.no_cuda:  # else its row would be left out
        require("cupy", " to time the CUDA walks on this machine's GPU")
    timed_cuda = has_cuda() and not args.no_cuda
    cuda = ("timed" if timed_cuda else "not timed: --no-cuda" if args.no_cuda
            else "not timed: no CUDA GPU here (CuPy is not installed or sees no device)")
    console = Console()
    numba_threads = [n for n in (1, 2) if n <= numba.config.NUMBA_NUM_THREADS]
    if len(numba_threads) < 2:
        console.print("note: numba has one thread here (NUMBA_NUM_THREADS): no 2-thread row")
    bandwidth = memory_bandwidth_gbs()
    graphs = {"wave": load_graph("wave")}
    for order in ("random", "spatial") if args.big_points else ():  # --big-points 0: none
        with console.status(f"triangulating {args.big_points:,} random points ({order} ids)"):
            graphs[f"delaunay_{args.big_points}_{order}_ids"] = delaunay_graph(
                args.big_points, spatial_order=order == "spatial")
    rows = []
    for name in list(graphs):
        g = graphs.pop(name)  # one big graph in memory at a time
        walk_arrays(g)  # built once per structure; not part of the timing
        console.print(f"[bold]{name}[/]: {g.num_nodes:,} nodes, {g.num_edges:,} edges")
        runs = [time_walks(g, "numpy", args.ref_queries, repeats=1),
                *(time_walks(g, "numba", args.queries, threads=n) for n in numba_threads)]
        if timed_cuda:
            runs.append(time_walks(g, "cuda", args.queries * 10))
        ref = runs[0]["steps_per_s"]
        for r in runs:
            r.update(graph=name, num_edges=g.num_edges, vs_reference=r["steps_per_s"] / ref,
                     per_core_vs_reference=r["steps_per_s"] / ref / (r["threads"] or 1),
                     dram_gbs_if_all_miss=r["steps_per_s"] * LINES_PER_STEP * CACHE_LINE / 1e9)
            rows.append(r)
            console.print(f"  {r['backend']:6} threads={r['threads']}: {r['steps_per_s']:.3g} "
                          f"steps/s ({r['vs_reference']:.0f}x the reference)")
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    meta = {"command": command_line(argv),
            "date": time.strftime("%Y-%m-%d"), "machine": platform.machine(),
            "cpu_count": numba.config.NUMBA_NUM_THREADS, "read_bandwidth_gbs": bandwidth,
            "useful_bytes_per_step": USEFUL_BYTES_PER_STEP, "cache_lines_per_step": LINES_PER_STEP,
            "cuda": cuda}
    (args.out / "walks.json").write_text(to_json({"meta": meta, "runs": rows}, indent=2))
    cols = ["graph", "backend", "threads", "steps_per_s", "vs_reference", "per_core_vs_reference",
            "dram_gbs_if_all_miss"]
    md = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        cells = [f"{r[c]:.3g}" if isinstance(r[c], float) else str(r[c]) for c in cols]
        md.append("| " + " | ".join(cells) + " |")
    text = (f"Command: `{meta['command']}` ({meta['date']}, {meta['cpu_count']} cores, read "
            f"bandwidth {bandwidth:.1f} GB/s)\n\nCUDA backend: {cuda}.\n\n" + "\n".join(md) + "\n")
    (args.out / "walks.md").write_text(text)
    print(text, end="")  # as the file holds it: a rich table cut its headers at the terminal's width
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
