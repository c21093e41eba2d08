"""dyGRASS side by side: streaming updates vs rebuilding, keeping everything, networkit, ER sampling.

    python benchmarks/dygrass.py                         # all graphs, ~10 M-edge graph included
    python benchmarks/dygrass.py --graphs fe_4elt2 4elt  # a subset
    python benchmarks/dygrass.py --big-points 0          # no generated graph
    python benchmarks/dygrass.py --graphs wave --big-points 0 --update  # redo wave, keep the rest

Protocol (as in the dyGRASS paper): remove a random 10% of the edges, sparsify the rest, reinsert
them in 10 batches; separately, sparsify the whole graph and delete 10% of its edges in 10
batches. Per batch: update time, density |E_H|/|V| and the relative condition number kappa
(grounded, exact to ARPACK's tolerance) where the graph is small enough for it. In the same run:
(a) rebuilding the static sparsifier from scratch on the current graph at dyGRASS's current
edge count (an update's time includes merging the insertions G defers whenever G is read, and
G is read after the last batch), (b) a baseline that only follows the events: keeping every inserted edge, or
deleting from H without recovery, (c) networkit's LocalDegree, ForestFire and Random sparsifiers
and (d) effective-resistance sampling at dyGRASS's final edge count (reweighted, so its kappa
needs an LU of L_G: only on the graphs small enough for kappa after every batch). Writes
dygrass.{json,md,png} into --out (default out/benchmarks in the repository; `--out
benchmarks/results` updates the committed record, with --update keeping the other graphs' runs of
the dygrass.json there). Needs networkit: pip install 'sparsebox[bench]'.
"""

from __future__ import annotations

import argparse
import io
import json
import platform
import re
import sys
import time
from pathlib import Path

import matplotlib
import numba

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from _common import (  # noqa: E402
    add_list_option,
    add_out_option,
    at_least,
    check_startup,
    command_line,
    count,
    dropped_entries,
    fail,
    from_json,
    refuse_dropping,
    refuse_repeats,
    require_datasets_of,
    to_json,
)
from _graphs import check_big_points, delaunay_graph  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.progress import track  # noqa: E402

from graphsparse import (  # noqa: E402
    DynamicSpectralSparsifier,
    EffectiveResistanceSampler,
    FeGrassSparsifier,
    relative_condition_number,
)
from sparsebox import SparseStructure  # noqa: E402
from sparsebox.data import load_graph  # noqa: E402

GRAPHS = ["fe_4elt2", "4elt", "airfoil1", "power", "delaunay_n15", "wing", "wave",
          "hep-th", "astro-ph", "PGPgiantcompo", "polblogs"]  # the last four: social graphs
NETWORKIT_PEERS = ("LocalDegree", "ForestFire", "Random")
KAPPA_EVERY_BATCH_MAX_NODES = 35_000  # kappa after every batch below this; at the end below
KAPPA_AT_END_MAX_NODES = 160_000  # ... this (the LU of L_G dominates); never above
REBUILD_SAMPLES_LARGE = 2  # rebuilds timed per protocol on graphs past the first limit


def generated(name: str) -> bool:
    """A graph name that stands for the generated Delaunay graph (not a dataset)."""
    return name.startswith("delaunay_") and name != "delaunay_n15"


def kappa(g: SparseStructure, h: SparseStructure) -> float:
    return relative_condition_number(g, h, method="ground")


def run_seed(run: dict) -> int:
    """The seed of a run: its own, or for a record made before runs kept it, the one its
    command gave (``--seed``; 0 where it gives none)."""
    if "seed" in run:
        return run["seed"]
    found = re.search(r"--seed[ =](\d+)", run.get("run", {}).get("command", ""))
    return int(found.group(1)) if found else 0


def seed_label(run: dict) -> str:
    """`` (seed S)`` after a graph's name in a row of another seed than 0."""
    return f" (seed {run_seed(run)})" if run_seed(run) else ""


def cap_label(run: dict) -> str:
    """`` (1.30)`` for a run under a density cap, else nothing."""
    return f" ({run['max_density']:.2f})" if run.get("max_density") else ""


def networkit_sparsifier(g: SparseStructure, edges: int, kind: str, seed: int) -> SparseStructure:
    """networkit's ``kind`` sparsifier of ``g`` asked for ``edges`` edges (as a ratio), seeded
    and on one thread (networkit draws from generators of its own, one per thread, which the
    script's --seed had left alone, and threads share out the edges differently each run)."""
    import networkit as nk

    ng = nk.Graph(g.num_nodes, weighted=True, directed=False)
    ng.addEdges((g.weights, (g.rows, g.cols)))
    ng.indexEdges()
    algorithm = {"LocalDegree": nk.sparsification.LocalDegreeSparsifier,
                 "ForestFire": lambda: nk.sparsification.ForestFireSparsifier(0.6, 5.0),
                 "Random": nk.sparsification.RandomEdgeSparsifier}[kind]()
    threads = nk.getMaxNumberOfThreads()
    nk.setNumberOfThreads(1)
    try:
        nk.setSeed(seed, False)
        sparse = algorithm.getSparsifiedGraphOfSize(ng, edges / g.num_edges)
    finally:
        nk.setNumberOfThreads(threads)
    u, v = zip(*sparse.iterEdges(), strict=True) if sparse.numberOfEdges() else ((), ())
    mask = np.zeros(g.num_items, dtype=bool)
    mask[g.find_items(np.array(u, dtype=np.int64), np.array(v, dtype=np.int64))] = True
    return g.subgraph(mask)


def run_protocol(name: str, g: SparseStructure, mode: str, args, console: Console) -> dict:
    rng = np.random.default_rng(args.seed)
    m = g.num_edges
    picked = rng.choice(m, m // 10, replace=False)
    if mode == "insert":
        keep = np.ones(m, dtype=bool)
        keep[picked] = False
        start_graph = g.subgraph(keep)
        events = [("+", int(g.rows[i]), int(g.cols[i]), float(g.weights[i])) for i in picked]
    else:
        start_graph = g
        events = [("-", int(g.rows[i]), int(g.cols[i])) for i in picked]
    batches = np.array_split(np.arange(len(events)), 10)
    small = g.num_nodes <= KAPPA_EVERY_BATCH_MAX_NODES
    end_kappa = g.num_nodes <= KAPPA_AT_END_MAX_NODES

    t = time.perf_counter()
    model = DynamicSpectralSparsifier(seed=args.seed, max_density=args.max_density).fit(
        start_graph)
    fit_seconds = time.perf_counter() - t
    baseline = model.sparsifier_
    baseline_name = "keep every insert" if mode == "insert" else "delete, no recovery"
    rows = [{"batch": 0, "density": model.sparsifier_.density,
             "baseline_density": baseline.density, "seconds": 0.0,
             "kappa": kappa(start_graph, model.sparsifier_) if end_kappa else None}]
    rebuild_batches = (set(range(1, 11)) if small else {5, 10} if end_kappa else {10})
    rebuild_times = []
    next_baseline_id = int(start_graph.ids.max()) + 1
    for b, idx in enumerate(track(batches, description=f"{name} {mode}", console=console,
                                  disable=not console.is_terminal), start=1):
        batch = [events[i] for i in idx]
        report = model.update(batch)
        seconds = report.seconds
        rebuild = b in rebuild_batches and len(rebuild_times) < (10 if small else
                                                                  REBUILD_SAMPLES_LARGE)
        kappa_now = small or (end_kappa and b == 10)
        if mode == "delete" or rebuild or kappa_now or b == len(batches):
            # Reading G merges the insertions it has deferred: that time counts as update time.
            t = time.perf_counter()
            graph = model.graph_
            seconds += time.perf_counter() - t
        if mode == "insert":
            u = np.array([e[1] for e in batch])
            v = np.array([e[2] for e in batch])
            w = np.array([e[3] for e in batch])
            missing = baseline.find_items(u, v) < 0
            ids = np.arange(next_baseline_id, next_baseline_id + int(missing.sum()))
            next_baseline_id += ids.size
            baseline = baseline.add_items(u[missing], v[missing], w[missing], ids)
        else:
            baseline = baseline.subgraph(np.isin(baseline.ids, graph.ids))
        row = {"batch": b, "density": report.density, "baseline_density": baseline.density,
               "seconds": seconds, "sparsifier_into": report.inserted_into_sparsifier,
               "recovered": report.recovered_edges + report.reconnected_edges}
        if rebuild:
            t = time.perf_counter()
            rebuilt = FeGrassSparsifier(budget=model.sparsifier_.num_edges,
                                        seed=args.seed).fit_transform(graph)
            rebuild_times.append(time.perf_counter() - t)
            if small:
                row["rebuild_kappa"] = kappa(graph, rebuilt)
        if kappa_now:
            row["kappa"] = kappa(graph, model.sparsifier_)
            row["baseline_kappa"] = kappa(graph, baseline)
        rows.append(row)
    update_mean = float(np.mean([r["seconds"] for r in rows[1:]]))
    out = {"graph": name, "mode": mode, "max_density": args.max_density,
           "baseline": baseline_name, "num_nodes": g.num_nodes,
           "num_edges": g.num_edges,
           "num_components": int(model.graph_.connected_components()[0]),
           "events": len(events), "fit_seconds": fit_seconds, "distortion": model.distortion_,
           "update_seconds_mean": update_mean,
           "rebuild_seconds_mean": float(np.mean(rebuild_times)),
           "speedup_vs_rebuild": float(np.mean(rebuild_times)) / update_mean, "batches": rows}
    final_edges = model.sparsifier_.num_edges
    if end_kappa:
        peers = {}
        for kind in NETWORKIT_PEERS:
            h = networkit_sparsifier(model.graph_, final_edges, kind, args.seed)
            peers[f"networkit_{kind}"] = {"edges": h.num_edges,
                                          "components": int(h.connected_components()[0]),
                                          "kappa": kappa(model.graph_, h)}
        if small:  # reweighted, so not a subgraph: its kappa needs an LU of L_G
            er = EffectiveResistanceSampler(budget=final_edges, seed=args.seed).fit_transform(
                model.graph_)
            peers["effective_resistance"] = {"edges": er.num_edges,
                                             "components": int(er.connected_components()[0]),
                                             "kappa": kappa(model.graph_, er)}
        out["peers_at_final_size"] = peers
    return out


def plot(results: list[dict], path: Path | io.BytesIO) -> None:
    graphs = sorted({r["graph"] for r in results if r["batches"][-1].get("kappa")})
    if not graphs:
        return
    fig, axes = plt.subplots(2, len(graphs), figsize=(3.2 * len(graphs), 6), squeeze=False)
    for j, name in enumerate(graphs):
        for r in results:
            if r["graph"] != name:
                continue
            b = [x["batch"] for x in r["batches"]]
            style = "-" if r["mode"] == "insert" else "--"
            ks = [x.get("kappa") for x in r["batches"]]
            if all(k is not None for k in ks):
                axes[0, j].plot(b, ks, "o" + style, ms=3, label=f"dyGRASS {r['mode']}")
            kk = [x.get("baseline_kappa") for x in r["batches"][1:]]
            if all(k is not None and np.isfinite(k) for k in kk):
                axes[0, j].plot(b[1:], kk, "s:", ms=3, label=r["baseline"])
            kr = [x.get("rebuild_kappa") for x in r["batches"][1:]]
            if all(k is not None for k in kr):
                axes[0, j].plot(b[1:], kr, "^" + style, ms=3, label=f"rebuild {r['mode']}")
            axes[1, j].plot(b, [x["density"] for x in r["batches"]], "o" + style, ms=3,
                            label=f"dyGRASS {r['mode']}")
            axes[1, j].plot(b, [x["baseline_density"] for x in r["batches"]], "s:", ms=3,
                            label=r["baseline"])
        axes[0, j].set(title=name, yscale="log", ylabel="kappa" if j == 0 else None)
        axes[1, j].set(xlabel="batch", ylabel="|E_H| / |V|" if j == 0 else None)
    axes[0, 0].legend(fontsize=7)
    axes[1, 0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def markdown(results: list[dict]) -> list[str]:
    """The lines of dygrass.md: the commands of the runs, then one table row per run."""
    runs = {json.dumps(r["run"], sort_keys=True): r["run"] for r in results}
    number = {key: i for i, key in enumerate(runs, start=1)}
    md = [*(f"Command {i}: `{r['command']}` ({r['date']}, {r['numba_threads']} numba thread(s))"
            for i, r in enumerate(runs.values(), start=1)), "",
          "Baseline: keep every insert (insert), delete from H with no recovery (delete). Rebuild "
          "and ER sampling run at dyGRASS's final edge count, networkit is asked for it (as a ratio, "
          "which it meets only roughly). Command: the command above that made the row.", "",
          "| graph | mode (max density) | edges | K | density start -> end (baseline) | kappa start -> end "
          "(baseline) | rebuild kappa | update s/batch | rebuild s | speed-up | networkit "
          "LocalDegree / ForestFire / Random kappa (components past G's) | ER sampling kappa "
          "| threads | command |", "|" + "---|" * 14]
    def k(x):
        return "-" if x is None else ("inf" if not np.isfinite(x) else f"{x:.1f}")

    def peer(p, r):
        if p is None:
            return "-"
        extra = p["components"] - r.get("num_components", p["components"])
        return k(p["kappa"]) + (f" ({extra:+d})" if extra else "")

    for r in results:
        first, last = r["batches"][0], r["batches"][-1]
        peers = r.get("peers_at_final_size", {})

        md.append(
            f"| {r['graph']}{seed_label(r)} | {r['mode']}{cap_label(r)} | {r['num_edges']:,} | "
            f"{r['distortion']:.1f} | "
            f"{first['density']:.3f} -> {last['density']:.3f} ({last['baseline_density']:.3f}) | "
            f"{k(first.get('kappa'))} -> {k(last.get('kappa'))} ({k(last.get('baseline_kappa'))}) "
            f"| {k(last.get('rebuild_kappa'))} "
            f"| {r['update_seconds_mean']:.4f} | {r['rebuild_seconds_mean']:.2f} | "
            f"{r['speedup_vs_rebuild']:.0f}x | "
            + " / ".join(peer(peers.get(f"networkit_{p}"), r) for p in NETWORKIT_PEERS)
            + f" | {k(peers.get('effective_resistance', {}).get('kappa'))}"
            + f" | {r['run']['numba_threads']} | {number[json.dumps(r['run'], sort_keys=True)]} |")
    return md


def run_key(run: dict) -> tuple:
    """What a run measured (a run of --update replaces the recorded run of the same key)."""
    return run["graph"].lower(), run["mode"], run.get("max_density"), run_seed(run)


def with_their_command(record: dict) -> list[dict]:
    """The runs of a dygrass.json, each with the command that made it (a run recorded before
    runs kept their own: the record's)."""
    return [r | {"run": r.get("run", record["meta"])} for r in record["runs"]]


def recorded_runs(path: Path) -> list[dict] | None:
    """The runs of the record ``path`` that --update keeps (None where there is none yet), each
    with the command that made it; checked before any work, so that a record that does not give
    its table and plot is refused now, not after the runs."""
    if not path.exists():
        return None
    try:
        previous = from_json(path.read_text())
    except (OSError, ValueError) as err:
        fail(f"--update: cannot read {path} ({err})")
    if not (isinstance(previous, dict) and isinstance(previous.get("runs"), list)
            and isinstance(previous.get("meta"), dict)):
        fail(f"--update: {path} holds no dygrass runs (no 'runs' and 'meta')")
    try:
        runs = with_their_command(previous)
        for r in runs:
            run_key(r)
        markdown(runs)
        plot(runs, io.BytesIO())
    except (TypeError, ValueError, KeyError, IndexError, AttributeError) as err:
        fail(f"--update: {path} holds a run this script did not write ({type(err).__name__}: "
             f"{err}); move it away or drop --update")
    return runs


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    add_list_option(ap, "--graphs", empty=True, default=GRAPHS, metavar="GRAPH",
                    help="catalogue graphs, space- or comma-separated; none: only the generated "
                         "graph (default: the 11 graphs)")
    ap.add_argument("--big-points", type=count(0), default=3_400_000,
                    help="points of a generated Delaunay graph (~3 edges each; 0: none; default 3,400,000)")
    ap.add_argument("--seed", type=count(0), default=0,
                    help="seed of the edges removed or deleted and of every sparsifier (default 0)")
    ap.add_argument("--max-density", type=at_least(1.0), default=None,
                    help="cap on |E_H| / |V| >= 1 for dyGRASS (a run of its own in the table; default none)")
    add_out_option(ap, "dygrass.json, dygrass.md and dygrass.png")
    ap.add_argument("--update", action="store_true",
                    help="keep the other graphs' runs from the dygrass.json in --out")
    args = ap.parse_args(argv)
    check_big_points(args.big_points)
    # the catalogue reads any case: a name is spelled as GRAPHS (and so the records) spell it, or
    # --update kept the recorded PGPgiantcompo beside a new pgpgiantcompo (sparsebox data list)
    args.graphs = [next((g for g in GRAPHS if g.lower() == n.lower()), n) for n in args.graphs]
    refuse_repeats("--graphs", args.graphs)  # a graph named twice ran twice, in two rows
    for name in args.graphs:
        if generated(name):
            fail(f"--graphs: {name} is not a dataset; the generated Delaunay graph is "
                 "--big-points N")
    names = list(args.graphs) + ([f"delaunay_{args.big_points}"] if args.big_points else [])
    if not names:
        fail("nothing to run: --graphs names no graph and --big-points is 0")
    require_datasets_of(n for n in names if not generated(n))
    path = args.out / "dygrass.json"
    previous = recorded_runs(path) if args.update else None  # before --out is made and the work
    if not args.update:
        keys = {(name.lower(), mode, args.max_density, args.seed)
                for name in names for mode in ("insert", "delete")}
        refuse_dropping(path, dropped_entries(
            path, keys, entries=with_their_command, key=run_key,
            label=lambda r: f"runs of {r['graph']}{cap_label(r)}{seed_label(r)}"))
    args.out = check_startup(args.out, packages=["networkit"],
                             datasets=[n for n in names if not generated(n)],
                             outputs=["dygrass.json", "dygrass.md", "dygrass.png"])
    if args.update and previous is None:
        print(f"note: no {path} yet, --update has no other runs to keep", file=sys.stderr)
    run_info = {"command": command_line(argv),
                "date": time.strftime("%Y-%m-%d"), "machine": platform.machine(),
                "numba_threads": numba.config.NUMBA_NUM_THREADS}
    console = Console()
    results = []
    for name in names:
        g = delaunay_graph(args.big_points, spatial_order=True) if generated(name) else load_graph(name)
        for mode in ("insert", "delete"):
            r = run_protocol(name, g, mode, args, console)
            r["run"], r["seed"] = run_info, args.seed
            results.append(r)
            last = r["batches"][-1]
            console.print(
                f"{name:>16} {mode:6}{cap_label(r)}: density {r['batches'][0]['density']:.3f} -> "
                f"{last['density']:.3f} ({r['baseline']} {last['baseline_density']:.3f}), kappa "
                f"{r['batches'][0]['kappa'] or float('nan'):.1f} -> "
                f"{last.get('kappa') or float('nan'):.1f}, update {r['update_seconds_mean']:.3f} s"
                f"/batch, rebuild {r['rebuild_seconds_mean']:.2f} s "
                f"({r['speedup_vs_rebuild']:.0f}x)")
    if previous is not None:
        done = {run_key(r) for r in results}
        kept = [r for r in previous if run_key(r) not in done]
        order = {name: i for i, name in enumerate(GRAPHS)}
        results = sorted(kept + results, key=lambda r: (order.get(r["graph"], len(order)),
                                                        r["mode"] != "insert",
                                                        r.get("max_density") or 0,
                                                        run_seed(r)))
    path.write_text(to_json({"meta": run_info, "runs": results}, indent=1))
    plot(results, args.out / "dygrass.png")
    md = markdown(results)
    (args.out / "dygrass.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))  # as the file holds it: rich would wrap the rows at the terminal's width
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
