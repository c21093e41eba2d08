#!/usr/bin/env bash
# Every GPU path on a real GPU, in one run (issue "Every GPU path proven on a real GPU").
#
# Prepare on the CPU machine (the GPU machine downloads nothing; it already has a CUDA build of
# torch, cupy-cuda13x, PyG, numba and scipy):
#     pip download --no-deps -d wheels gsplat plyfile ogb constriction typer rich jaxtyping \
#         outdated littleutils
#     pip wheel --no-deps -w wheels .
# then run, with wheels/ carried:   OUT=$OUT bash benchmarks/gpu_check.sh
# gsplat compiles its CUDA kernels on first use (minutes) unless a wheel built for the device's
# torch and CUDA is among the wheels: check `python -c "import torch; print(torch.__version__)"`
# there first, if a call can be spared.
#
# Each step is guarded (a failure is recorded and the next step runs) and writes OUT/<step>.log;
# OUT/summary.txt lists each step's exit status, and the script exits 1 when a step failed.
# Where torch sees no CUDA GPU it runs no step and exits 2 with one error line (there the GPU
# tests are all skipped, which pytest counts as a pass, and the walks run on the CPU alone).
# It takes no argument (-h / --help prints this). `python` is the device's own (CUDA torch); set
# PYTHON to use another. Copy what it printed into benchmarks/results/gpu.md with the date and
# the device.
set -u
case "${1:-}" in
    -h|--help) sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    "") ;;
    *) echo "error: gpu_check.sh takes no argument (got '$1'); set OUT=FOLDER to choose the output" >&2
       exit 2 ;;
esac
PYTHON=${PYTHON:-python}
if ! command -v "$PYTHON" > /dev/null; then
    echo "error: no $PYTHON on PATH (set PYTHON to the interpreter with CUDA torch)" >&2
    exit 2
fi
gpu=$("$PYTHON" -c "import torch; print(torch.cuda.is_available())" 2> /dev/null | tail -n 1)
if [ "$gpu" != True ]; then
    if [ "$gpu" = False ]; then
        echo "error: no CUDA GPU: torch in $PYTHON sees none (torch.cuda.is_available() is" \
             "False); gpu_check.sh proves the GPU paths on a machine with one, and ran nothing" >&2
    else
        echo "error: $PYTHON cannot import torch (set PYTHON to the interpreter with CUDA torch)" >&2
    fi
    exit 2
fi
OUT=${OUT:-out/gpu}
if ! mkdir -p "$OUT" 2> /dev/null || [ ! -w "$OUT" ]; then
    echo "error: OUT=$OUT: cannot write into it" >&2
    exit 2
fi
export SPARSEBOX_DATA=${SPARSEBOX_DATA:-$PWD/../shared/data}
: > "$OUT/summary.txt"
failed=0

step() {
    local name=$1
    shift
    local start=$SECONDS
    "$@" > "$OUT/$name.log" 2>&1
    local code=$?
    [ "$code" -eq 0 ] || failed=1
    echo "$name: exit $code in $((SECONDS - start)) s" | tee -a "$OUT/summary.txt"
    tail -n 15 "$OUT/$name.log"
}

if [ -d wheels ]; then
    step install "$PYTHON" -m pip install --no-index --find-links wheels --no-deps wheels/*.whl
fi
step device "$PYTHON" -c "import torch, cupy; print(torch.__version__, torch.cuda.get_device_name(0)); print('cupy', cupy.__version__, 'CUDA runtime', cupy.cuda.runtime.runtimeGetVersion())"
step pytest_gpu "$PYTHON" -m pytest -m gpu -p no:cacheprovider -q -rs tests
step walks "$PYTHON" benchmarks/walks.py --out "$OUT/walks"
step timings "$PYTHON" benchmarks/gpu_timings.py --out "$OUT/timings"
cat "$OUT/summary.txt"
exit "$failed"
