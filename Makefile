# Two commands do all the set-up: `make demo` and `make test` (see README.md).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

# Data root: ../shared/data when it exists (CI and the developers' machines), else datasets/.
SHARED_DATA := $(wildcard ../shared/data)
ifneq ($(SHARED_DATA),)
export SPARSEBOX_DATA ?= $(abspath $(SHARED_DATA))
endif
# numba's default threading layer clashes with open3d's OpenMP runtime.
export NUMBA_THREADING_LAYER ?= omp

OUT ?= out/demo

.PHONY: install install-test demo test lint bench bench-teddy clean

# open3d (the `points` extra, which the demo and the tests use) loads the system library
# libusb-1.0 when imported. Installed here when missing and we may (root with apt-get); otherwise
# the set-up stops at once and says what to run.
$(VENV)/.system:
	@if ! ldconfig -p 2>/dev/null | grep -q 'libusb-1\.0\.so\.0'; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing the system library libusb-1.0-0 (open3d needs it)"; \
	    apt-get update -qq && apt-get install -y -qq libusb-1.0-0 >/dev/null || exit 1; \
	  else \
	    echo "error: open3d needs the system library libusb-1.0-0; install it, then run make again:" >&2; \
	    echo "    sudo apt-get install libusb-1.0-0" >&2; \
	    exit 1; \
	  fi; \
	fi
	@mkdir -p $(VENV) && touch $@

# The demo runs every registered method, so the base install has the extras they need (points,
# ogb); the tests add theirs.
$(VENV)/.base: pyproject.toml $(VENV)/.system
	$(PYTHON) -m venv $(VENV)
	# The CPU build of torch first, where it is on offer; then pin whatever torch is there so
	# that no other package makes pip resolve (and download) a CUDA build of its own (read from
	# its metadata: importing torch before numpy is installed warns "Failed to initialize NumPy").
	$(BIN)/pip install -q torch==2.13.0 || $(BIN)/pip install -q "torch>=2.3"
	$(BIN)/python -c "from importlib.metadata import version; print('torch==' + version('torch').split('+')[0])" > $(VENV)/constraints.txt
	$(BIN)/pip install -q -c $(VENV)/constraints.txt -e ".[points,ogb]"
	touch $@

$(VENV)/.test: $(VENV)/.base
	$(BIN)/pip install -q -c $(VENV)/constraints.txt -e ".[test]"
	touch $@

install: $(VENV)/.base
install-test: $(VENV)/.test

demo: $(VENV)/.base
	$(BIN)/sparsebox demo --out $(OUT)

test: $(VENV)/.test
	$(BIN)/python -m pytest

lint: $(VENV)/.test
	$(BIN)/ruff check .

$(VENV)/.bench: $(VENV)/.test
	$(BIN)/pip install -q -c $(VENV)/constraints.txt -e ".[test,bench]"
	touch $@

# Benchmarks write into BENCH_OUT (out/benchmarks by default); `make bench BENCH_OUT=benchmarks/results`
# records, overwriting the committed results.
BENCH_OUT ?= out/benchmarks
bench: $(VENV)/.bench
	$(BIN)/python benchmarks/walks.py --out $(BENCH_OUT)
	$(BIN)/python benchmarks/dygrass.py --graphs fe_4elt2 4elt airfoil1 power delaunay_n15 hep-th \
	    PGPgiantcompo polblogs --big-points 0 --update --out $(BENCH_OUT)
	$(BIN)/python benchmarks/points.py --out $(BENCH_OUT)
	$(BIN)/python benchmarks/splats.py --out $(BENCH_OUT)
	$(BIN)/python benchmarks/startup.py --out $(BENCH_OUT)

# TEDDY, random pruning and UGS, 20 levels x 3 seeds per dataset:model:distillation weight (10 for
# GCN, chosen on Cora-GCN's validation accuracy by benchmarks/teddy_lambda.py), seeds side by side on
# TEDDY_JOBS processes: hours on 2 cores. One run folder each in $(BENCH_OUT)/teddy, summarised there.
TEDDY_RUNS ?= cora:gcn:10 cora:gat:0.1 cora:gin:0.1 citeseer:gcn:10 citeseer:gat:0.1 citeseer:gin:0.1
TEDDY_JOBS ?= 2
bench-teddy: $(VENV)/.bench
	for run in $(TEDDY_RUNS); do \
	  data=$${run%%:*}; rest=$${run#*:}; model=$${rest%%:*}; lambda=$${rest#*:}; \
	  $(BIN)/sparsebox graph teddy --dataset $$data --model $$model --distill-lambda $$lambda \
	    --levels 20 --seeds 3 --jobs $(TEDDY_JOBS) --resume \
	    --out $(BENCH_OUT)/teddy/$${data}_$${model} || exit 1; \
	done
	$(BIN)/python benchmarks/teddy_summary.py --out $(BENCH_OUT)

clean:
	rm -rf $(VENV) out .pytest_cache
