# `make demo` and `make test` work on a fresh machine: each creates .venv if it is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# pip on this machine takes torch 2.13.0's CPU build from local disk; never let an unpinned torch in.
PIP_INSTALL := $(BIN)/pip install --quiet --disable-pip-version-check

.PHONY: install demo test lint typecheck bench clean

$(BIN)/edusdk-installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP_INSTALL) --upgrade pip
	$(PIP_INSTALL) -e '.[dev]'
	touch $@

install: $(BIN)/edusdk-installed

demo: install
	$(BIN)/edusdk demo -o out/demo/lesson.mp4

lint: install
	$(BIN)/ruff check edusdk tests benchmarks
	$(BIN)/ruff format --check edusdk tests benchmarks

typecheck: install
	$(BIN)/mypy --strict edusdk

test: lint typecheck
	$(BIN)/pytest -n 2 -q

bench: install
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) out .mypy_cache .ruff_cache .pytest_cache
