PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SAM_VENV := .venv-sam
export SAM_CLI_TELEMETRY := 0

.DEFAULT_GOAL := help
.PHONY: help install sam run test lint bench mutation clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

install: $(BIN)/predictor ## Create .venv with the package and every dev tool

$(BIN)/predictor: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

sam: $(SAM_VENV)/bin/sam ## Install aws-sam-cli into its own virtualenv

$(SAM_VENV)/bin/sam:
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet aws-sam-cli
	touch $@

run: install ## Serve the example function on http://127.0.0.1:8000 from its embedded artifacts
	$(BIN)/predictor serve functions/iris --port $${PORT:-8000}

lint: install ## ruff and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: install sam lint ## Lint, type-check and run the whole test suite
	PATH="$(CURDIR)/$(SAM_VENV)/bin:$$PATH" $(BIN)/pytest

bench: install ## Print the benchmark tables
	$(BIN)/python -m benchmarks

mutation: install ## Mutation testing (mutmut; modules listed in pyproject.toml [tool.mutmut]), survivors listed
	rm -rf mutants
	$(BIN)/mutmut run --max-children 2
	$(BIN)/mutmut results

clean: ## Remove virtualenvs and build output
	rm -rf $(VENV) $(SAM_VENV) .aws-sam .pytest_cache .mypy_cache .ruff_cache mutants
