PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

.PHONY: demo test bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e .
	touch $@

SARIF_SCHEMA := $(VENV)/sarif/package/lib/schemas/sarif-2.1.0-rtm.5.json

$(TEST_STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	@# The official SARIF 2.1.0 schema, for the test that validates gitplane's SARIF output
	@# (shipped in an npm package; the test skips with a reason when npm is not available).
	@mkdir -p $(VENV)/sarif && cd $(VENV)/sarif && \
	  (npm pack --silent @microsoft/jest-sarif@1.0.0-beta.0 >/dev/null 2>&1 && \
	   tar xzf microsoft-jest-sarif-1.0.0-beta.0.tgz package/lib/schemas/sarif-2.1.0-rtm.5.json) || \
	  echo "note: SARIF schema not installed (npm unavailable); its test will skip"
	@# A wheelhouse of gitplane's dependencies and build backend, served as a local package
	@# index by the test that runs 'pre-commit try-repo' (no network in the tests).
	@$(BIN)/pip download -q -d $(VENV)/wheelhouse . hatchling >/dev/null 2>&1 || \
	  echo "note: wheelhouse not downloaded; the pre-commit try-repo test will skip"
	@# Debian's Chromium for the report's browser tests (never a browser download); they
	@# skip with a reason when it cannot be installed (not root, no apt-get, no network).
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  { DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null 2>&1 || \
	    { apt-get update -q >/dev/null 2>&1 && \
	      DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null 2>&1; }; }; } || \
	  echo "note: chromium not installed; the report's browser tests will skip"
	touch $(STAMP) $@

demo: $(STAMP)
	rm -rf demo
	$(BIN)/gitplane init demo
	$(BIN)/gitplane -C demo apps
	$(BIN)/gitplane -C demo check
	$(BIN)/gitplane -C demo report -o report.html
	@echo "open report.html in a browser"

test: $(TEST_STAMP)
	$(BIN)/ruff check src tests benchmarks tools
	$(BIN)/mypy
	$(BIN)/python -m pytest -n 2 -rs tests

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py
	$(BIN)/python benchmarks/validate.py

clean:
	rm -rf $(VENV) demo
