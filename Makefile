# Two commands for a fresh machine:
#   make lab   - set up .venv and open the course (JupyterLab on notebooks/)
#   make test  - set up .venv with the test tools and run the whole test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python

.PHONY: lab test lint notebooks bench bench-training bench-widgets bench-grading chromium sandbox \
	hub-env clean

# Installs go through uv (from PyPI, into the venv: a 13 s install instead of pip's 2 min);
# `make lab USE_UV=0` installs with plain pip instead.
USE_UV ?= 1
ifeq ($(USE_UV),1)
INSTALL := $(BIN)/uv pip install --quiet --python $(PY)
else
INSTALL := $(PY) -m pip install --quiet
endif

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	@if [ "$(USE_UV)" = 1 ]; then $(PY) -m pip install --quiet "uv>=0.5"; \
	  else $(PY) -m pip install --quiet --upgrade pip; fi

$(VENV)/.installed: pyproject.toml | $(BIN)/activate
	$(INSTALL) -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/activate
	$(INSTALL) -e ".[test]"
	touch $@ $(VENV)/.installed

# --allow-root: containers and cloud VMs run as root; the flag changes nothing for other users.
lab: $(VENV)/.installed
	$(BIN)/jupyter lab --allow-root notebooks/

# Debian's Chromium for the widget tests; never a downloaded browser build.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	  else sudo apt-get update -qq && sudo apt-get install -y -qq chromium >/dev/null; fi; }

# Debian's bubblewrap (and prlimit): grading runs every student's kernel in this sandbox.
sandbox:
	@{ command -v bwrap && command -v prlimit && command -v setpriv; } >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq bubblewrap util-linux >/dev/null; \
	  else sudo apt-get update -qq && sudo apt-get install -y -qq bubblewrap util-linux >/dev/null; fi; }

# For tests/test_jupyterhub.py: a venv that the test's system users can run (Debian's python3:
# the default one may live under /root, which they cannot enter) and configurable-http-proxy
# from npm, both inside .venv/.
HUB_PYTHON ?= $(shell test -x /usr/bin/python3 && echo /usr/bin/python3 || echo $(PYTHON))
HUB_VENV   := $(VENV)/hub
$(HUB_VENV)/.installed: pyproject.toml | $(BIN)/activate
	$(HUB_PYTHON) -m venv $(HUB_VENV)
	@if [ "$(USE_UV)" = 1 ]; then $(BIN)/uv pip install --quiet --python $(HUB_VENV)/bin/python -e ".[test]"; \
	  else $(HUB_VENV)/bin/python -m pip install --quiet -e ".[test]"; fi
	@if command -v npm >/dev/null; then \
	  npm install --silent --no-audit --no-fund --prefix $(VENV)/node configurable-http-proxy@5; \
	  else echo "npm not found: tests/test_jupyterhub.py will be skipped"; fi
	touch $@

hub-env: $(HUB_VENV)/.installed

lint: $(VENV)/.installed-test
	$(BIN)/ruff check nnlib autograder tests bench solutions

# The browser tests run after the rest, alone, so that their widget latencies are measured on
# an otherwise idle machine, as a student's would be; both runs always happen.
test: $(VENV)/.installed-test chromium sandbox hub-env
	$(BIN)/ruff check nnlib autograder tests bench solutions
	@status=0; \
	$(BIN)/python -m pytest -n 2 --dist loadgroup -m "not browser" || status=$$?; \
	$(BIN)/python -m pytest -p no:xdist -m browser || status=$$?; \
	exit $$status

# Regenerate solutions/*/*.ipynb from their jupytext sources, then notebooks/ with nbgrader.
notebooks: $(VENV)/.installed-test
	$(PY) -m autograder.build

bench: bench-training bench-widgets bench-grading

bench-training: $(VENV)/.installed
	$(PY) -m pip install --quiet "torch==2.13.0"
	$(PY) bench/bench_training.py

# Slider latency in JupyterLab + Chromium: the course's panels against interact, Output, ipympl.
bench-widgets: $(VENV)/.installed-test chromium
	$(PY) -m pip install --quiet "ipympl>=0.9,<0.11"
	$(PY) bench/bench_widgets.py

# Grading speed: sandboxed grading against plain nbgrader and the previous pipeline.
bench-grading: $(VENV)/.installed-test sandbox
	$(PY) bench/bench_grading.py

clean:
	rm -rf $(VENV) .pytest_cache test-artifacts grading
