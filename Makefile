# Intake: `make dev` runs the whole flow locally, `make test` is what CI runs.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: browser install dev test e2e unit lint fmt demo bench doctor package clean reliability fuzz

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

# The official Adaptive Cards renderer for /dev/channel, from npm (served locally, no CDN).
node_modules/.installed: package.json
	npm install --no-audit --no-fund --silent
	touch node_modules/.installed

# Debian's chromium for the browser test of /dev/channel (playwright never downloads one).
# Installed with apt-get when missing (as root, or through sudo); elsewhere, install it yourself.
browser:
	@command -v chromium >/dev/null || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  command -v apt-get >/dev/null || { echo "Install chromium (the browser test needs it)."; exit 1; }; \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium; }

install: $(STAMP) node_modules/.installed

# Install everything, then run the local host on http://127.0.0.1:7071 (INTAKE_PORT overrides).
dev: install
	$(PY) -m intake dev

# Everything CI runs: unit, contract and end-to-end tests, then the linters.
test: install browser
	$(PY) -m pytest
	$(MAKE) --no-print-directory lint

# The reliability figures: the fault matrices' tables (intake flow, and the full decision
# matrix; make test runs a bounded slice of it), the refused callers, then the fuzzers and
# security tests with their case count (docs/reliability.md).
reliability: install
	$(PY) -m tests.faults.report
	$(PY) -m pytest -q tests/faults tests/fuzz tests/e2e/test_injection.py \
	  tests/e2e/test_secrets_never_logged.py tests/unit/test_auth_levels.py tests/unit/test_limits.py \
	  tests/unit/test_card_limits.py tests/unit/test_messages_trigger.py

# The long fuzzing run: 20x the bounded run's examples (about 21,000 cases).
fuzz: install
	HYPOTHESIS_PROFILE=fuzz $(PY) -m pytest -q --timeout 3600 tests/fuzz

# Only the end-to-end tests (they drive a local host over HTTP).
e2e: install
	$(PY) -m pytest -m e2e

# ruff (lint + format check) and mypy --strict on the application package.
lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

# Reformat and autofix.
fmt: $(STAMP)
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

# Check each configured real system with read-only calls: one line per check, ✓ or ✗ and the fix.
doctor: $(STAMP)
	$(PY) -m intake doctor

# Benchmarks against loopback doubles (docs/benchmarks.md); writes bench/results.json.
# `make bench ARGS=--quick` is the small run `make test` checks; never timed assertions.
bench: $(STAMP)
	$(PY) -m bench.run $(ARGS)

# Submit the bundled sample form response to the running local host.
demo:
	curl -sS -X POST -H 'Content-Type: application/json' \
	  --data @forms/sample-submission.json http://127.0.0.1:$${INTAKE_PORT:-7071}/api/intake; echo

# The Teams app zip (dist/intake-teams-app.zip) with INTAKE_BOT_APP_ID and INTAKE_PUBLIC_BASE_URL.
package: $(STAMP)
	$(PY) -m intake package

clean:
	rm -rf $(VENV) node_modules .intake .pytest_cache .ruff_cache .mypy_cache
