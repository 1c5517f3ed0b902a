# Two entry points for a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# A Chromium that is not on PATH as `chromium`: `make test CHROMIUM=/path/to/chromium`.
export CHROMIUM

.PHONY: demo test install install-test chromium lint clean mutation mutation-resume

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .

# The test extra takes xgboost-cpu, the same `xgboost` module without NVIDIA's NCCL (470 MB).
# A venv that already has the CUDA build gets it removed first: installed side by side, the
# two would share one `xgboost` folder, and removing either would break the other.
install-test: $(BIN)/python
	@if [ "$$(uname -s)" = Linux ] && $(BIN)/python -m pip show xgboost >/dev/null 2>&1; then \
	  echo "Replacing xgboost (CUDA build) by xgboost-cpu"; \
	  $(BIN)/python -m pip uninstall -qq -y xgboost xgboost-cpu; \
	  $(BIN)/python -c "import importlib.metadata as m, sys; sys.exit(any( \
	    r.startswith('nvidia-nccl') for d in m.distributions() for r in d.requires or []))" \
	  && $(BIN)/python -m pip uninstall -qq -y nvidia-nccl-cu12 || true; \
	fi
	$(BIN)/python -m pip install --quiet -e '.[test]'

# Chromium for the browser tests: Debian's package, never a browser a tool downloads.
# Checked before anything else, so a machine without it stops here, not at the end of the run.
chromium:
	@if [ -n "$$CHROMIUM" ]; then \
	  [ -x "$$CHROMIUM" ] || { echo "make test: CHROMIUM=$$CHROMIUM is not an executable." >&2; exit 2; }; \
	elif command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then \
	  :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "Installing Chromium for the browser tests: apt-get install chromium"; \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
	  || { echo "make test: apt-get could not install chromium (see above)." >&2; exit 2; }; \
	elif command -v apt-get >/dev/null 2>&1; then \
	  echo "make test: the browser tests need Chromium, which is not installed. Run:" >&2; \
	  echo "    sudo apt-get update && sudo apt-get install -y chromium" >&2; \
	  exit 2; \
	else \
	  echo "make test: the browser tests need Chromium, which is not installed. Install it" >&2; \
	  echo "with your package manager, then run:" >&2; \
	  echo "    make test CHROMIUM=/path/to/chromium" >&2; \
	  exit 2; \
	fi

demo: install
	$(BIN)/rasad demo --force

test: chromium install-test
	$(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)

# Mutation testing of the integrity core (not part of `make test`; several hours on two
# cores). Configured in pyproject.toml [tool.mutmut]; docs/testing.md has the last scores.
MUTATION_JOBS ?= 2
mutation: install-test
	$(BIN)/python -m pip install --quiet -e '.[test,mutation]'
	rm -rf mutants
	$(BIN)/mutmut run --max-children $(MUTATION_JOBS)
	$(BIN)/python .ci/mutation_score.py --min 95

# Carry on from the verdicts saved in .ci/mutation_results.json (docs/testing.md).
mutation-resume: install-test
	$(BIN)/python -m pip install --quiet -e '.[test,mutation]'
	[ -d mutants ] || $(BIN)/python .ci/mutation_carry.py restore
	rm -f mutants/mutmut-stats.json
	$(BIN)/mutmut run --max-children $(MUTATION_JOBS); status=$$?; \
	  $(BIN)/python .ci/mutation_carry.py save && exit $$status
	$(BIN)/python .ci/mutation_score.py --min 95

lint: install-test
	$(BIN)/ruff check src tests
	$(BIN)/mypy
	$(BIN)/lint-imports

clean:
	rm -rf $(VENV) rasad-demo
