# The targets CI and the README use, so that local runs and CI match.
VENV ?= .venv
PY := $(VENV)/bin/python
export PYTHONHASHSEED := 0

.PHONY: install demo test test-fast lint bench clean-demo

install:
	@scripts/install.sh

## README command 1: synthetic world -> Beam pipeline -> base BART -> KILM + two controls -> report. (`make demo DEMO_ARGS="--seeds 3"`: three training seeds)
demo: install
	@$(PY) -m demo --workdir runs/demo $(DEMO_ARGS)

## README command 2 (and .ci/run): the whole test suite, install included.
test: install
	@$(PY) -m pytest -q

test-fast: install
	@$(PY) -m pytest -q -m "not slow"

lint: install
	@$(VENV)/bin/ruff check .
	@$(VENV)/bin/hadolint --config .hadolint.yaml docker/*.Dockerfile

bench: install
	@for script in bench/*.py; do echo "== $$script"; $(PY) $$script || exit 1; done

clean-demo:
	rm -rf runs/demo
