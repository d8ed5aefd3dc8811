# Two commands do all the set-up on a fresh clone: `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench bench-smoke clean

$(STAMP): setup.cfg pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev,bench]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/augur estimate resnet50 --hw jetson_tx2 --processor gpu

test: $(STAMP)
	$(BIN)/python -m pytest tests

# ruff (lint rules and their reasons in pyproject.toml) and mypy on the package.
lint: $(STAMP)
	$(BIN)/ruff check augur_sim tests bench scripts
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python -m pytest bench --benchmark-only --benchmark-json=bench/results.json
	$(BIN)/python bench/coldstart.py
	$(BIN)/python bench/report.py bench/results.json

bench-smoke: $(STAMP)
	$(BIN)/python -m pytest bench --benchmark-disable -q

clean:
	rm -rf $(VENV) build *.egg-info
