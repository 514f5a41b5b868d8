# tfq-ssl: every target sets itself up from nothing (creates .venv, installs the pinned stack).
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEMO_DIR ?= runs/demo
PYTEST_ARGS ?=

export TF_USE_LEGACY_KERAS := 1
export TF_CPP_MIN_LOG_LEVEL := 2

.PHONY: setup test test-fast demo bench clean

setup: $(STAMP)

$(STAMP): requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -r requirements.txt
	touch $(STAMP)

# Two worker processes, each test file on one (its module fixtures are built once),
# files in collection order: tests/conftest.py collects the longest first.
XDIST := -n 2 --dist loadfile --no-loadscope-reorder

test: $(STAMP)
	$(PY) -m pytest -q $(XDIST) $(PYTEST_ARGS)

# Everything but the tests marked slow (end-to-end runs, kills, Ray, subprocess CLIs).
test-fast: $(STAMP)
	$(PY) -m pytest -q $(XDIST) -m "not slow" $(PYTEST_ARGS)

demo: $(STAMP)
	$(PY) -m train.demo --out $(DEMO_DIR)

bench: $(STAMP)
	$(PY) -m bench.qnn --width 8 --batch 512

clean:
	rm -rf $(VENV) .pytest_cache
