# Quick start: `make run` starts the fleet, `make test` runs the whole test suite.
# Both install what they need into .venv first (Python 3.11+).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-fast fuzz bench soak chaos lint clean

$(STAMP): requirements.txt setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -r requirements.txt
	$(BIN)/pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/dialer run

test: $(STAMP)
	$(BIN)/pytest

test-fast: $(STAMP)
	$(BIN)/pytest tests/unit

# The API fuzzed long (schemathesis, random seeds): FUZZ_EXAMPLES per operation; `make test` runs 50, repeatable.
FUZZ_EXAMPLES ?= 2000
fuzz: $(STAMP)
	DIALER_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/pytest --timeout=0 tests/integration/test_fuzz.py

bench: $(STAMP)
	$(BIN)/python -m bench.intake
	$(BIN)/python -m bench.sim
	$(BIN)/python -m bench.engine

chaos: $(STAMP)
	$(BIN)/python -m bench.chaos

bench-predictive: $(STAMP)
	$(BIN)/python -m bench.predictive_model --clockwork
	$(BIN)/python -m bench.predictive

lint: $(STAMP)
	$(BIN)/ruff check dialer api workers sim tests bench

clean:
	rm -rf .state build *.egg-info
