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
# OUT/summary.txt lists each step's exit status. Copy what it printed into
# benchmarks/results/gpu.md with the date and the device.
set -u
OUT=${OUT:-out/gpu}
mkdir -p "$OUT"
export SPARSEBOX_DATA=${SPARSEBOX_DATA:-$PWD/../shared/data}
: > "$OUT/summary.txt"

step() {
    local name=$1
    shift
    local start=$SECONDS
    "$@" > "$OUT/$name.log" 2>&1
    local code=$?
    echo "$name: exit $code in $((SECONDS - start)) s" | tee -a "$OUT/summary.txt"
    tail -n 15 "$OUT/$name.log"
}

if [ -d wheels ]; then
    step install python -m pip install --no-index --find-links wheels --no-deps wheels/*.whl
fi
step device python -c "import torch, cupy; print(torch.__version__, torch.cuda.get_device_name(0)); print('cupy', cupy.__version__, 'CUDA runtime', cupy.cuda.runtime.runtimeGetVersion())"
step pytest_gpu python -m pytest -m gpu -p no:cacheprovider -q -rs tests
step walks python benchmarks/walks.py --out "$OUT/walks"
step timings python benchmarks/gpu_timings.py --out "$OUT/timings"
cat "$OUT/summary.txt"
