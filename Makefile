# Fresh-machine entry points: `make demo` runs the main job, `make test` the whole suite.
# Each target creates .venv and installs the project into it first (only once).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# torch is installed first and pinned, so that pip never resolves a newer (multi-GB CUDA)
# build for it. TORCH_SPEC picks the release, TORCH_INDEX the index it comes from:
#   (empty)   the configured index: on this project's machines a local mirror serving the CPU
#             wheel of torch 2.13.0; on PyPI the Linux wheel of 2.13.0 is the CUDA build
#   make TORCH_INDEX="--index-url https://download.pytorch.org/whl/cpu"    CPU only, ~200 MB
#   make TORCH_INDEX="--index-url https://download.pytorch.org/whl/cu128"  CUDA 12.8
TORCH_SPEC ?= torch==2.13.0
TORCH_INDEX ?=

.PHONY: setup test lint demo bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --progress-bar on --upgrade pip
	@echo "== installing $(TORCH_SPEC) $(TORCH_INDEX) (see TORCH_SPEC / TORCH_INDEX in the Makefile)"
	$(BIN)/python -m pip install --progress-bar on $(TORCH_INDEX) "$(TORCH_SPEC)"
	@echo "== installing tsattn and its dependencies (a few minutes on a fresh machine)"
	$(BIN)/python -m pip install --progress-bar on -e ".[dev]"
	touch $@

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: setup lint
	$(BIN)/python -m pytest -q

demo: setup
	$(BIN)/tsattn demo

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
