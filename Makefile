# One-command entry points. Everything installs into a local virtual environment (.venv).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
QUARTER ?= 2026Q4
PREVIOUS ?= 2026Q3
TRIALS ?= 100000

.PHONY: report test test-fast simulate benchmark dashboard wheel clean

$(BIN)/riskmodel: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.test-deps: $(BIN)/riskmodel
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

## report: install, then run the quarterly reports for every shipped practice (previous and current quarter) and the portfolio review of the three
report: $(BIN)/riskmodel
	$(BIN)/riskmodel report --quarter $(PREVIOUS) --trials $(TRIALS)
	$(BIN)/riskmodel report --quarter $(QUARTER) --previous $(PREVIOUS) --trials $(TRIALS)
	$(BIN)/riskmodel portfolio --quarter $(QUARTER) --trials $(TRIALS) --report outputs/$(QUARTER)

## simulate: print the simulation summary of every shipped practice
simulate: $(BIN)/riskmodel
	for f in registers/*/$(QUARTER).*; do $(BIN)/riskmodel simulate $$f --trials $(TRIALS) || exit 1; done

## test: install with test dependencies and run the whole test suite (notebooks, browser, wheel, slow tests)
test: $(VENV)/.test-deps
	$(BIN)/python -m pytest -q -m ""

## test-fast: the quick selection for the edit-test loop (what plain `pytest` runs; see pyproject.toml)
test-fast: $(VENV)/.test-deps
	$(BIN)/python -m pytest -q

benchmark: $(VENV)/.test-deps
	$(BIN)/pip install --quiet -e '.[bench]'
	$(BIN)/python benchmarks/bench_engine.py
	$(BIN)/python benchmarks/bench_dashboard.py
	$(BIN)/python benchmarks/bench_dashboard.py --practice northgate-multisite
	if command -v chromium >/dev/null; then $(BIN)/python benchmarks/bench_dashboard_browser.py; \
	else echo "browser benchmark skipped: apt-get install chromium"; fi

dashboard: $(BIN)/riskmodel
	$(BIN)/riskmodel dashboard

## wheel: build dist/riskmodel-<version>-py3-none-any.whl (notebooks and example practices inside)
wheel: $(BIN)/riskmodel
	$(BIN)/pip wheel --quiet --no-deps --wheel-dir dist .
	@ls dist/riskmodel-*.whl

clean:
	rm -rf $(VENV) outputs/20* .pytest_cache build dist riskmodel.egg-info
