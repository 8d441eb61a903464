# The README's two commands: `make run` (main job) and `make test`. Both create .venv themselves.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv test lint pytest run bench conformance clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check hasim tests benchmarks
	$(BIN)/mypy hasim

pytest: $(STAMP)
	$(BIN)/pytest -q -n 2

test: lint pytest

conformance: $(STAMP)
	$(BIN)/python -m hasim.conformance --output CONFORMANCE.md -- -n 2

run: $(STAMP)
	$(BIN)/hasim sweep experiments/sync_vs_skip/sweep.toml --workers 2 --force
	$(BIN)/hasim report results/sync_vs_skip

bench: $(STAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
