"""Start-up time of the command line: `sparsebox --help` and `sparsebox data list`, whole processes.

    python benchmarks/startup.py                          # 10 timed runs per command
    python benchmarks/startup.py --runs 30 --sparsebox ~/env/bin/sparsebox

Each command runs once as a warm-up (file cache, bytecode), then --runs times; each run is the
wall time of subprocess.run (time.perf_counter around it, output captured) and the report gives
min / median / max seconds. One more run per command with PYTHONPROFILEIMPORTTIME=1 (Python's
-X importtime) lists the modules that process imports: neither command may import torch or numba.
Targets per command: median under 0.5 s, no torch or numba; PASS / FAIL printed for each, and the
exit code is 1 when one fails. Writes startup.json and startup.md (with the command and the date)
into --out (default out/benchmarks in the repository; `--out benchmarks/results` updates the
committed record). Standard library only; the console script is .venv/bin/sparsebox in the
repository unless --sparsebox says otherwise.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _common import REPO_ROOT, add_out_option, check_startup, command_line, fail, to_json

COMMANDS = (("--help",), ("data", "list"))
MEDIAN_TARGET_S = 0.5
FORBIDDEN = ("torch", "numba")
DEFAULT_SPARSEBOX = REPO_ROOT / ".venv" / "bin" / "sparsebox"


def run_once(exe: Path, args: tuple[str, ...], env: dict[str, str]) -> float:
    """Wall seconds of one whole process; an error naming the command if it fails."""
    start = time.perf_counter()
    proc = subprocess.run([str(exe), *args], capture_output=True, text=True, env=env, check=False)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        fail(f"--sparsebox: `{exe} {' '.join(args)}` exited with {proc.returncode}: {last}")
    return seconds


def imported_modules(exe: Path, args: tuple[str, ...], env: dict[str, str]) -> list[str]:
    """Every module the process imports, from Python's import-time log on stderr."""
    proc = subprocess.run([str(exe), *args], capture_output=True, text=True, check=False,
                          env={**env, "PYTHONPROFILEIMPORTTIME": "1"})
    # lines "import time: <self us> | <cumulative us> | <indented module name>", after a header
    fields = [line.removeprefix("import time:").split("|") for line in proc.stderr.splitlines()
              if line.startswith("import time:")]
    names = [f[2].strip() for f in fields if len(f) == 3 and f[0].strip().isdigit()]
    if proc.returncode != 0 or not names:
        fail(f"--sparsebox: cannot read the imports of `{exe} {' '.join(args)}` (exit code "
             f"{proc.returncode}, {len(names)} modules logged; does its Python ignore "
             "PYTHONPROFILEIMPORTTIME?)")
    return names


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--runs", type=int, default=10, help="timed runs per command (default 10)")
    ap.add_argument("--sparsebox", type=Path, default=DEFAULT_SPARSEBOX,
                    help=f"the console script to time (default: {DEFAULT_SPARSEBOX})")
    add_out_option(ap, "startup.json and startup.md")
    args = ap.parse_args(argv)
    if args.runs < 1:
        ap.error(f"--runs must be at least 1, got {args.runs}")
    exe = args.sparsebox
    if not (exe.is_file() and os.access(exe, os.X_OK)):  # before --out is made
        fail(f"--sparsebox: {exe} is not an executable file (make install makes "
             f"{DEFAULT_SPARSEBOX.relative_to(REPO_ROOT)})")
    args.out = check_startup(args.out, outputs=["startup.json", "startup.md"])
    env = dict(os.environ)
    shown = exe.resolve()
    shown = shown.relative_to(REPO_ROOT) if shown.is_relative_to(REPO_ROOT) else shown

    results = []
    for cmd in COMMANDS:
        run_once(exe, cmd, env)  # warm-up, not counted
        times = [run_once(exe, cmd, env) for _ in range(args.runs)]
        modules = imported_modules(exe, cmd, env)
        heavy = sorted({m.split(".")[0] for m in modules} & set(FORBIDDEN))
        median = statistics.median(times)
        results.append({
            "command": "sparsebox " + " ".join(cmd), "runs": args.runs,
            "min_s": min(times), "median_s": median, "max_s": max(times), "times_s": times,
            "modules_imported": len(modules), "forbidden_imported": heavy,
            "median_pass": median < MEDIAN_TARGET_S, "imports_pass": not heavy})

    meta = {"command": command_line(argv), "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
            "sparsebox": str(shown), "machine": platform.machine(), "cpu_count": os.cpu_count(),
            "python": platform.python_version(), "platform": platform.platform(),
            "sparsebox_data": os.environ.get("SPARSEBOX_DATA"),
            "median_target_s": MEDIAN_TARGET_S, "forbidden_modules": list(FORBIDDEN),
            "warm_up_runs": 1}
    (args.out / "startup.json").write_text(to_json({"meta": meta, "results": results}, indent=2)
                                           + "\n")
    verdict = {True: "PASS", False: "FAIL"}
    md = [f"Command: `{meta['command']}` ({meta['date']}; {meta['cpu_count']} cores, Python "
          f"{meta['python']}; console script {shown}; 1 warm-up run, then {args.runs} timed runs "
          "per command, wall seconds of the whole process)", "",
          f"| command | min s | median s | max s | median < {MEDIAN_TARGET_S} s | imports torch "
          "or numba |", "|---|---|---|---|---|---|"]
    for r in results:
        md.append(f"| `{r['command']}` | {r['min_s']:.3f} | {r['median_s']:.3f} | {r['max_s']:.3f} "
                  f"| {verdict[r['median_pass']]} | "
                  f"{', '.join(r['forbidden_imported']) or 'neither'}: {verdict[r['imports_pass']]} |")
    (args.out / "startup.md").write_text("\n".join(md) + "\n")

    for r in results:
        print(f"{r['command']:22} min {r['min_s']:.3f} s  median {r['median_s']:.3f} s  "
              f"max {r['max_s']:.3f} s  ({r['runs']} runs)")
        print(f"  {verdict[r['median_pass']]}  median under {MEDIAN_TARGET_S} s")
        print(f"  {verdict[r['imports_pass']]}  imports neither torch nor numba"
              + (f" (imports {', '.join(r['forbidden_imported'])})" if r["forbidden_imported"]
                 else ""))
    print(f"wrote {args.out / 'startup.json'} and startup.md")
    ok = all(r["median_pass"] and r["imports_pass"] for r in results)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
