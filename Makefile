PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SAM_VENV := .venv-sam
CHECKOV_VENV := .venv-checkov
OLDEST_VENV := .venv-oldest
export SAM_CLI_TELEMETRY := 0

.DEFAULT_GOAL := help
.PHONY: help install sam checkov lock run test test-oldest lint docs bench mutation clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

install: $(BIN)/predictor ## Create .venv with exactly the locked tools and the package

# A lock change makes a new virtualenv, so nothing the lock dropped stays behind.
$(BIN)/predictor: requirements/dev.txt pyproject.toml
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes --no-deps -r requirements/dev.txt
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	$(BIN)/pip check
	touch $@

sam: $(SAM_VENV)/bin/sam ## Install the locked aws-sam-cli into its own virtualenv

$(SAM_VENV)/bin/sam: requirements/sam.txt
	rm -rf $(SAM_VENV)
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet --require-hashes --no-deps -r requirements/sam.txt
	touch $@

# checkov pins boto3 and botocore far below the dev lock's, so it has a virtualenv of its own.
checkov: $(CHECKOV_VENV)/bin/checkov ## Install the locked checkov into its own virtualenv

$(CHECKOV_VENV)/bin/checkov: requirements/checkov.txt
	rm -rf $(CHECKOV_VENV)
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --require-hashes --no-deps -r requirements/checkov.txt
	touch $@

lock: install ## Re-resolve every lock from pyproject's ranges, then run the suite on them
	$(BIN)/python requirements/lock.py --upgrade
	$(MAKE) test

run: install ## Serve the example function on http://127.0.0.1:8000 from its embedded artifacts
	$(BIN)/predictor serve functions/iris --port $${PORT:-8000}

lint: install ## ruff and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: install sam checkov lint ## Lint, type-check and run the whole test suite
	PATH="$(CURDIR)/$(SAM_VENV)/bin:$(CURDIR)/$(CHECKOV_VENV)/bin:$$PATH" $(BIN)/pytest

# The library's ranges are promises to users who install it beside their own packages:
# resolve each of them to its lowest version (dev tools stay as locked) and run the suite.
test-oldest: install sam checkov ## Run the suite on the lowest version each dependency range allows
	rm -rf $(OLDEST_VENV)
	$(PYTHON) -m venv $(OLDEST_VENV)
	$(BIN)/python requirements/lock.py --oldest $(OLDEST_VENV)/requirements.txt
	$(OLDEST_VENV)/bin/pip install --quiet --no-deps -r $(OLDEST_VENV)/requirements.txt
	$(OLDEST_VENV)/bin/pip install --quiet --no-deps --no-build-isolation -e .
	$(OLDEST_VENV)/bin/pip check
	PATH="$(CURDIR)/$(SAM_VENV)/bin:$(CURDIR)/$(CHECKOV_VENV)/bin:$$PATH" PREDICTOR_TEST_LOCK=$(OLDEST_VENV)/requirements.txt \
		$(OLDEST_VENV)/bin/pytest -p no:cacheprovider

docs: install ## Build the docs site into site/ in strict mode (a broken link or reference fails)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

bench: install ## Print the benchmark tables
	$(BIN)/python -m benchmarks

mutation: install ## Mutation-test the modules listed in pyproject's [tool.mutmut] (slow; not in CI)
	rm -rf mutants
	$(BIN)/mutmut run --max-children 2 || true
	$(BIN)/mutmut results

clean: ## Remove virtualenvs and build output
	rm -rf $(VENV) $(SAM_VENV) $(CHECKOV_VENV) $(OLDEST_VENV) site .aws-sam .pytest_cache .mypy_cache .ruff_cache mutants
