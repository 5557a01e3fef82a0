# One command per job; each target installs what it needs first (a second run skips the install).
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
PYTHON ?= python3.11
NETWORK ?= local
SCENARIO ?= crash
export APE_FOUNDRY_HOST ?= auto
# xdist workers for `make test`, each with its own Anvil (APE_FOUNDRY_HOST=auto); the machine has 2 cores
WORKERS ?= 2
export PATH := $(CURDIR)/$(VENV)/bin:$(CURDIR)/bin:$(CURDIR)/node_modules/.bin:$(PATH)

# root (CI) installs system packages directly, anyone else through sudo
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: help install chromium demo dashboard test bench lint format audit clean

help:
	@echo "make demo    deploy, fund, crash and liquidate on a fresh Anvil (NETWORK=fork for the fork)"
	@echo "make dashboard  the live dashboard on a fresh Anvil with the crash replayed slowly (PORT=8700)"
	@echo "make test    every test (installs first, Debian's chromium included)"
	@echo "make bench   gas and keeper benchmarks: prints tables, writes bench/results.json"
	@echo "make lint    ruff check + ruff format --check"
	@echo "make audit   the deep hypothesis campaign (HYPOTHESIS_PROFILE=deep)"
	@echo "make clean   remove build output, caches and reports"

$(VENV)/.installed: pyproject.toml requirements.lock
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet -r requirements.lock
	$(VENV)/bin/pip install --quiet --no-deps --no-build-isolation -e .
	@touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

install: $(VENV)/.installed node_modules/.installed

# The dashboard's browser tests drive Debian's chromium (Playwright's own browser download cannot work here):
# installed when none is on PATH; the package lists are refreshed only when the install cannot find it
chromium:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || { \
	  export DEBIAN_FRONTEND=noninteractive; \
	  $(SUDO) apt-get install -y chromium || { $(SUDO) apt-get update && $(SUDO) apt-get install -y chromium; }; }

demo: install
	ape run demo --scenario $(SCENARIO) $(if $(filter fork,$(NETWORK)),--fork,)

# Anvil (started by ape-foundry), the demo's deployment, the crash replayed a step every few seconds with the
# keeper, and the dashboard on it at http://127.0.0.1:$(PORT) until Ctrl-C
PORT ?= 8700
dashboard: install
	ape compile
	ape run dashboard --demo --port $(PORT) --open --network ethereum:local:foundry

# Compile once in this process first: workers compiling at the same time can leave stale bytecode in .build.
# loadscope runs each module whole on one worker, in the order it has when run alone (tests/conftest.py hands out
# the longest first); the fork module's two tests share the upstream's fixed port and so take turns.
# The tests marked `alone` (their clock is the wall clock) run afterwards, with the machine to themselves; the
# summary at the end covers both parts (ALA_TEST_TIMES).
test: install chromium
	ape compile
	rm -f .build/test-times.json
	ALA_TEST_TIMES=.build/test-times.json ape test -n $(WORKERS) --dist loadscope -m "not alone"
	ALA_TEST_TIMES=.build/test-times.json ape test -m alone

bench: install
	ape run bench

lint: install
	ruff check .
	ruff format --check .

format: install
	ruff check --fix .
	ruff format .

audit: install
	HYPOTHESIS_PROFILE=deep ape test tests/stateful tests/property -s

clean:
	rm -rf .build .cache .hypothesis .pytest_cache .ruff_cache reports/*.json reports/*.png
	find . -name __pycache__ -not -path './$(VENV)/*' -not -path './node_modules/*' -prune -exec rm -rf {} +
