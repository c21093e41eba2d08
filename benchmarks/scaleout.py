"""Scale-out: the same work on local processes and on a Ray cluster, side by side in one run.

    python benchmarks/scaleout.py                   # the TEDDY sweep and the walks
    python benchmarks/scaleout.py --parts walks     # only the walks

Writes scaleout.json and scaleout.md into --out (default out/benchmarks in the repository;
`--out benchmarks/results` updates the committed record).

* sweep: TEDDY's level protocol on Cora-GCN (dense, TEDDY and random, --levels levels x --seeds
  seeds, 200 epochs), one task per seed, on (a) local processes, one per CPU, each pinned to one
  thread; (b) the same tasks on a local Ray cluster of as many CPUs; (c) local processes that each
  let torch take every core (what happens without pinning). Wall time of the tasks (the cluster's
  start is timed apart), and whether the records agree.
* walks: non-backtracking walks on wave (1.06 M edges), one process with numba on every core
  against Ray tasks of --chunk queries on one thread each; steps per second, and the bit-for-bit
  check of every query's result.
* costs: Ray's per-task overhead (no-op tasks) and putting wave's CSR arrays into the object
  store, the figures behind the README's estimate for a larger cluster.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
from _common import (
    add_out_option,
    add_parts_option,
    check_levels,
    check_startup,
    command_line,
    count,
    keep_parts,
    kept_parts_lines,
    read_kept,
    recorded_parts,
    refuse_dropping,
    to_json,
)
from rich.console import Console

from graphsparse.cli import _teddy_seed
from graphsparse.datasets import load_node_dataset
from sparsebox.data import load_graph
from sparsebox.parallel import LocalExecutor, RayExecutor
from sparsebox.progress import make_progress
from sparsebox.walks import random_walks, walk_arrays


def _noop(task, emit):
    return task


def sweep(args, console: Console, ray_executor: RayExecutor) -> dict:
    tasks = [{"dataset": "cora", "model": "gcn", "levels": list(range(1, args.levels + 1)),
              "methods": ("dense", "teddy", "random"), "epochs": args.epochs,
              "distill_lambda": 10.0, "seed": s} for s in range(args.seeds)]
    cpus = os.cpu_count() or 1
    variants = {"local, pinned (1 thread per process)": LocalExecutor(cpus, threads=1),
                "ray (1 CPU per task)": ray_executor,
                f"local, unpinned ({cpus} threads per process)": LocalExecutor(cpus, threads=cpus)}
    # a record of the dense model, then one of each other method per level, per seed
    per_variant = sum(1 + (len(t["methods"]) - 1) * len(t["levels"]) for t in tasks)
    out, records = {}, {}
    for name, executor in variants.items():
        got: list[dict] = []
        # a bar of the records on standard error, gone before the variant's line is printed
        with make_progress(transient=True, enabled=console.is_terminal) as progress:
            bar = progress.add_task(f"sweep, {name}", total=per_variant)

            def on_record(rec: dict, got=got, bar=bar) -> None:  # this variant's list and bar
                got.append(rec)
                progress.advance(bar)

            start = time.perf_counter()
            executor.run(_teddy_seed, tasks, on_record=on_record)
            seconds = time.perf_counter() - start
        records[name] = sorted(got, key=lambda r: (r["seed"], r["method"], r["level"]))
        out[name] = {"seconds": seconds, "records": len(got)}
        console.print(f"sweep, {name}: {seconds:.1f} s, {len(got)} records")
    base = records["local, pinned (1 thread per process)"]
    for name, got in records.items():
        same_keys = [(r["seed"], r["method"], r["level"]) for r in got] == \
            [(r["seed"], r["method"], r["level"]) for r in base]
        out[name]["identical_to_local"] = same_keys and all(
            a["test_acc"] == b["test_acc"] and a["val_acc"] == b["val_acc"]
            for a, b in zip(got, base, strict=True))
    local = out["local, pinned (1 thread per process)"]["seconds"]
    for row in out.values():
        row["ratio_to_local"] = row["seconds"] / local
    return out


def walks(args, console: Console, ray_executor: RayExecutor) -> dict:
    import numba

    g = load_graph("wave")
    rng = np.random.default_rng(0)
    src = rng.integers(0, g.num_nodes, args.queries)
    tgt = rng.integers(0, g.num_nodes, args.queries)
    kwargs = dict(num_walkers=32, max_steps=100, seed=1)
    walk_arrays(g)  # built once, as a long-lived graph would be
    numba.set_num_threads(os.cpu_count() or 1)
    random_walks(g, src[:64], tgt[:64], **kwargs)  # compile
    start = time.perf_counter()
    one = random_walks(g, src, tgt, **kwargs)
    single = time.perf_counter() - start
    random_walks(g, src[:256], tgt[:256], executor=ray_executor, chunk_queries=16,
                 **kwargs)  # every worker loads the kernels
    start = time.perf_counter()
    spread = random_walks(g, src, tgt, executor=ray_executor, chunk_queries=args.chunk, **kwargs)
    on_ray = time.perf_counter() - start
    identical = bool(np.array_equal(one.reached, spread.reached)
                     and np.array_equal(one.resistance, spread.resistance)
                     and np.array_equal(one.hits, spread.hits) and one.num_steps == spread.num_steps)
    row = {"queries": args.queries, "walkers": 32, "steps": one.num_steps,
           "single_process_steps_per_s": one.num_steps / single,
           "ray_steps_per_s": spread.num_steps / on_ray, "ray_over_single": single / on_ray,
           "chunk_queries": args.chunk, "tasks": -(-args.queries // args.chunk),
           "identical": identical, "threads": numba.get_num_threads()}
    console.print(f"walks: one process {row['single_process_steps_per_s']:.3g} steps/s, "
                  f"Ray {row['ray_steps_per_s']:.3g} steps/s, identical: {identical}")
    return row


def costs(ray_executor: RayExecutor) -> dict:
    ray = ray_executor.connect()
    n = 2000
    ray_executor.run(_noop, range(50))  # warm the workers
    start = time.perf_counter()
    ray_executor.run(_noop, range(n))
    per_task = (time.perf_counter() - start) / n
    arrays = walk_arrays(load_graph("wave"))
    size = sum(a.nbytes for a in arrays)
    start = time.perf_counter()
    ref = ray.put(arrays)
    put = time.perf_counter() - start
    del ref
    return {"noop_task_ms": per_task * 1e3, "wave_csr_bytes": size, "put_seconds": put}


#: the parts of a record, in the order the table gives them
PARTS = ("sweep", "walks", "costs")
#: the entry of a record's meta that a kept part takes along (the sweep's settings)
CARRIED = {"sweep": "sweep"}


def markdown(result: dict) -> list[str]:
    """The lines of scaleout.md for ``result``, the record of scaleout.json."""
    meta = result["meta"]
    cpus, cluster_start = meta["cpus"], meta["ray_cluster_start_seconds"]
    md = [f"Command: `{meta['command']}` ({meta['date']}, {cpus} CPUs; a "
          f"local Ray cluster of {cpus} CPUs started in {cluster_start:.1f} s, timed apart)", ""]
    md += kept_parts_lines(meta, PARTS)
    if "sweep" in result:
        s = meta["sweep"]
        md += [f"TEDDY sweep, Cora-GCN, dense + TEDDY + random, {s['levels']} levels x "
               f"{s['seeds']} seeds, {s['epochs']} epochs, one task per seed:", "",
               "| executor | seconds | / local pinned | records | identical to local |",
               "|---|---|---|---|---|"]
        md += [f"| {k} | {v['seconds']:.1f} | {v['ratio_to_local']:.3f} | {v['records']} | "
               f"{v['identical_to_local']} |" for k, v in result["sweep"].items()]
        md.append("")
    if "walks" in result:
        w = result["walks"]
        md += [f"Walks on wave: {w['queries']:,} queries x {w['walkers']} walkers, "
               f"{w['steps']:,} steps; one process (numba, {w.get('threads', 'unrecorded')} threads) "
               f"{w['single_process_steps_per_s']:.3g} steps/s, Ray ({w['tasks']} tasks of "
               f"{w['chunk_queries']:,} queries, 1 thread each) {w['ray_steps_per_s']:.3g} "
               f"steps/s ({w['ray_over_single']:.2f} x); identical results: {w['identical']}.", ""]
    if "costs" in result:
        c = result["costs"]
        md += [f"Ray costs: {c['noop_task_ms']:.2f} ms per no-op task (2,000 tasks); putting "
               f"wave's walk arrays ({c['wave_csr_bytes'] / 1e6:.1f} MB) into the object store: "
               f"{c['put_seconds']:.3f} s.", ""]
    return md


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    add_parts_option(ap, PARTS)
    ap.add_argument("--levels", type=count(1), default=5,
                    help="TEDDY levels 1 to N of the sweep (default 5)")
    ap.add_argument("--seeds", type=count(1), default=4,
                    help="seeds 0 to N-1 of the sweep, one task each (default 4)")
    ap.add_argument("--epochs", type=count(1), default=200,
                    help="training epochs of each model in the sweep (default 200)")
    ap.add_argument("--queries", type=count(1), default=20_000,
                    help="walk queries (source, target pairs) on wave (walks; default 20,000)")
    ap.add_argument("--chunk", type=count(1), default=1_000,
                    help="queries per Ray task (walks; default 1,000)")
    ap.add_argument("--update", action="store_true",
                    help="keep the parts of an existing OUT/scaleout.json that this run skips")
    add_out_option(ap, "scaleout.json and scaleout.md")
    args = ap.parse_args(argv)
    datasets = (["cora"] if "sweep" in args.parts else []) + (
        ["wave"] if {"walks", "costs"} & set(args.parts) else [])
    # read before --out is made and the cluster starts
    record = args.out / "scaleout.json"
    kept = read_kept(record, args.parts, PARTS, markdown, carried=CARRIED,
                     meta={"cpus": 1, "ray_cluster_start_seconds": 0.0}) if args.update else None
    if not args.update:
        refuse_dropping(record, [f"the {part} part" for part in recorded_parts(record, PARTS)
                                 if part not in args.parts])
    out = check_startup(args.out, packages=["ray"], datasets=datasets,
                        outputs=["scaleout.json", "scaleout.md"])
    if "sweep" in args.parts:  # a level too deep failed in every task, after the other parts
        check_levels(load_node_dataset("cora"), "gcn", range(1, args.levels + 1))
    console = Console(markup=False, highlight=False)
    cpus = os.cpu_count() or 1
    ray_executor = RayExecutor(num_cpus=cpus)
    start = time.perf_counter()
    ray_executor.connect()
    cluster_start = time.perf_counter() - start
    result = {"meta": {"command": command_line(argv), "date": time.strftime("%Y-%m-%d"),
                       "cpus": cpus, "python": platform.python_version(),
                       "ray_cluster_start_seconds": cluster_start}}
    if kept is not None:
        keep_parts(result, kept, args.parts, PARTS, carried=CARRIED)
    if "costs" in args.parts:
        result["costs"] = costs(ray_executor)
    if "walks" in args.parts:
        result["walks"] = walks(args, console, ray_executor)
    if "sweep" in args.parts:
        result["sweep"] = sweep(args, console, ray_executor)
        result["meta"]["sweep"] = {"levels": args.levels, "seeds": args.seeds,
                                   "epochs": args.epochs}
    (out / "scaleout.json").write_text(to_json(result, indent=2))
    (out / "scaleout.md").write_text("\n".join(markdown(result)))
    console.print(f"wrote {out / 'scaleout.json'} and scaleout.md")


if __name__ == "__main__":
    main()
