"""The static spectral sparsifier beside networkit's, at equal edge counts.

    python benchmarks/static_sparsifier.py                        # every graph, density 1.10 and 1.20
    python benchmarks/static_sparsifier.py --graphs wave --densities 1.10
    python benchmarks/static_sparsifier.py --refine-rounds 0  # plain feGRASS, no refinement

For each graph and density: FeGrassSparsifier's fit time, its grounded kappa(L_G, L_H) and
components; then networkit's LocalDegree, ForestFire and Random sparsifiers at the same edge
count, with their kappa (infinite when they leave more components than G has: "connected" here
means spanning every component of G). Writes static_sparsifier.{json,md} into --out (default
out/benchmarks in the repository; `--out benchmarks/results` updates the committed record). A
run refuses to drop the rows of other graphs or densities that the record there holds, unless
--update keeps them (each with the command that made it).
Needs networkit: pip install 'sparsebox[bench]'.
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

from _common import (
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
from _graphs import delaunay_graph
from dygrass import NETWORKIT_PEERS, networkit_sparsifier, run_seed
from rich.console import Console
from rich.progress import track

from graphsparse import FeGrassSparsifier, relative_condition_number
from sparsebox import SparseStructure
from sparsebox.data import load_graph
from sparsebox.select import resolve_budget

GRAPHS = ["fe_4elt2", "4elt", "airfoil1", "power", "delaunay_n15", "wing", "wave",
          "hep-th", "astro-ph", "PGPgiantcompo", "polblogs"]


def measure(name: str, g: SparseStructure, density: float, seed: int,
            refine_rounds: int | str = "auto") -> dict:
    components = int(g.connected_components()[0])
    start = time.perf_counter()
    h = FeGrassSparsifier(density=density, seed=seed, refine_rounds=refine_rounds).fit_transform(g)
    seconds = time.perf_counter() - start
    row = {"graph": name, "num_nodes": g.num_nodes, "num_edges": g.num_edges,
           "components": components, "density": density, "edges": h.num_edges,
           "fit_seconds": seconds,
           "kappa": relative_condition_number(g, h, method="ground"),
           "extra_components": int(h.connected_components()[0]) - components}
    for kind in NETWORKIT_PEERS:
        peer = networkit_sparsifier(g, h.num_edges, kind, seed)
        row[kind] = {"edges": peer.num_edges,
                     "extra_components": int(peer.connected_components()[0]) - components,
                     "kappa": relative_condition_number(g, peer, method="ground")}
    return row


def refine_rounds(text: str) -> int | str:
    """``--refine-rounds``: ``auto`` or a count of at least 0."""
    if text == "auto":
        return text
    try:
        return count(0)(text)
    except argparse.ArgumentTypeError as err:
        raise argparse.ArgumentTypeError(f"give auto or a count: {err}") from None


def table(rows: list[dict], run: dict) -> str:
    def k(x):
        return "inf" if x == float("inf") else f"{x:.1f}"

    def peer(p):
        extra = p["extra_components"]
        return k(p["kappa"]) + (f" ({extra:+d})" if extra else "")

    rounds = run.get("refine_rounds", "auto")
    lines = [f"Command: `{run['command']}` ({run['date']}, {run['machine']})", "",
             "Kappa is grounded kappa(L_G, L_H); networkit's sparsifiers are asked for feGRASS's "
             "edge count (as a ratio, which they meet only roughly: their edge counts are in "
             "the JSON); (+n): components past G's (kappa then infinite)."
             + ("" if rounds == "auto" else f" FeGrassSparsifier(refine_rounds={rounds})"
                + (": plain feGRASS, no refinement." if rounds == 0 else ".")), "",
             "| graph | nodes | edges | density | feGRASS kappa | fit s | networkit "
             + " / ".join(NETWORKIT_PEERS) + " kappa |", "|" + "---|" * 7]
    kept: dict[tuple, list[str]] = {}  # rows an --update kept, by the run that made them
    for r in rows:
        if r.get("run", run)["command"] != run["command"]:
            kept.setdefault((r["run"]["command"], r["run"]["date"]), []).append(
                f"{r['graph']} at {r['density']:.2f}")
    lines[1:1] = [f"Kept from `{command}` ({date}): {', '.join(which)}." for (command, date), which
                  in kept.items()] + ([""] if kept else [])
    for r in rows:
        lines.append(f"| {r['graph']} | {r['num_nodes']:,} | {r['num_edges']:,} | "
                     f"{r['density']:.2f} | {k(r['kappa'])} | {r['fit_seconds']:.1f} | "
                     + " / ".join(peer(r[p]) for p in NETWORKIT_PEERS) + " |")
    return "\n".join(lines) + "\n"


def row_key(row: dict) -> tuple:
    """What a row measured: a run replaces the recorded row of the same graph and density."""
    return row["graph"].lower(), round(float(row["density"]), 6)


def recorded_rows(path: Path) -> tuple[list[dict], dict] | None:
    """The rows of the record ``path``, each with the run that made it (``run``: its command
    and date), and the record's ``meta``; None where there is no record. An unreadable one is
    refused naming --update, before any work."""
    if not path.is_file():
        return None
    try:
        record = from_json(path.read_text())
        meta = record["meta"]
        made = {key: meta[key] for key in ("command", "date")}
        rows = [{**r, "run": r.get("run", made)} for r in record["rows"]]
        table(rows, meta)
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as err:
        fail(f"--update: {path} is not a record of this script ({type(err).__name__}: {err}); "
             "move it away or drop --update")
    return rows, meta


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    add_list_option(ap, "--graphs", default=GRAPHS, metavar="GRAPH",
                    help="catalogue graphs, space- or comma-separated (default: the 11 graphs of the "
                         "study)")
    add_list_option(ap, "--densities", item=at_least(1.0), default=[1.10, 1.20], metavar="DENSITY",
                    help="sparsifier sizes |E_H| / |V| >= 1, space- or comma-separated (default "
                         "1.10 1.20)")
    ap.add_argument("--seed", type=count(0), default=0,
                    help="seed of FeGrassSparsifier (its refinement's random vectors) and of "
                         "networkit's sparsifiers (default 0)")
    ap.add_argument("--refine-rounds", type=refine_rounds, default="auto",
                    help="FeGrassSparsifier's refine_rounds: auto, or a count (0: plain feGRASS)")
    add_out_option(ap, "static_sparsifier.json and static_sparsifier.md")
    ap.add_argument("--update", action="store_true",
                    help="keep the rows of other graphs and densities that --out's record holds "
                         "(made with the same --refine-rounds and --seed)")
    args = ap.parse_args(argv)
    # spelt as GRAPHS spells them (the catalogue reads any case), so that rows sort and replace
    args.graphs = [next((g for g in GRAPHS if g.lower() == n.lower()), n) for n in args.graphs]
    refuse_repeats("--graphs", args.graphs)  # each named twice ran twice, in two rows
    refuse_repeats("--densities", args.densities)
    require_datasets_of(args.graphs)
    path = Path(args.out) / "static_sparsifier.json"
    keys = {row_key({"graph": g, "density": d}) for g in args.graphs for d in args.densities}
    previous = recorded_rows(path) if args.update else None  # before any work
    if previous is not None:
        meta = previous[1]
        settings = (meta.get("refine_rounds", "auto"), meta.get("seed", run_seed({"run": meta})))
        if settings != (args.refine_rounds, args.seed) and any(
                row_key(r) not in keys for r in previous[0]):  # (a row kept in another setting)
            fail(f"--update: {path} holds rows made with --refine-rounds {settings[0]} and "
                 f"--seed {settings[1]}, this run's are {args.refine_rounds} and {args.seed}: "
                 "one table holds one setting; choose another --out")
    elif not args.update:
        refuse_dropping(path, dropped_entries(
            path, keys, entries=lambda record: record["rows"], key=row_key,
            label=lambda r: f"rows of {r['graph']} at {r['density']:.2f}"))
    out = check_startup(args.out, packages=["networkit"], datasets=args.graphs,
                        outputs=["static_sparsifier.json", "static_sparsifier.md"])
    graphs = {name: load_graph(name) for name in args.graphs}
    for name, g in graphs.items():  # a density G's own reaches keeps G: its row would say it did
        whole = [d for d in args.densities  # (rounded as the sparsifier rounds it)
                 if resolve_budget(g.num_edges, density=d, num_nodes=g.num_nodes) >= g.num_edges]
        if whole:
            fail(f"--densities: {whole[0]:g} keeps every edge of {name}, whose own density is "
                 f"{g.num_edges / g.num_nodes:.2f}; give a smaller one")
    run = {"command": command_line(argv), "date": time.strftime("%Y-%m-%d"),
           "machine": platform.machine(), "refine_rounds": args.refine_rounds, "seed": args.seed}
    console = Console()
    # numba compiles the sparsifier's kernels at their first call: on a small graph, not timed
    FeGrassSparsifier(density=1.1, seed=args.seed, refine_rounds=args.refine_rounds).fit(
        delaunay_graph(2000))
    rows = []
    pairs = [(name, density) for name in args.graphs for density in args.densities]
    for name, density in track(pairs, description="static", console=console,
                               disable=not console.is_terminal):
        row = measure(name, graphs[name], density, args.seed, args.refine_rounds)
        rows.append(row)
        console.print(f"{name:>14} density {density:.2f}: kappa {row['kappa']:.1f} in "
                      f"{row['fit_seconds']:.1f} s; networkit "
                      + ", ".join(f"{p} {row[p]['kappa']:.1f}" for p in NETWORKIT_PEERS))
    if previous is not None:  # the study's graphs in its order, then others by name
        order = {name.lower(): i for i, name in enumerate(GRAPHS)}
        rows = sorted([r for r in previous[0] if row_key(r) not in keys] + rows,
                      key=lambda r: (order.get(r["graph"].lower(), len(order)), *row_key(r)))
    (out / "static_sparsifier.json").write_text(to_json({"meta": run, "rows": rows},
                                                           indent=1))
    md = table(rows, run)
    (out / "static_sparsifier.md").write_text(md)
    print(md)  # as the file holds it: rich would wrap the rows at the terminal's width
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
