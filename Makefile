# OptionsFlow: two commands on a fresh machine with Python 3.11+ and Node.js 20.19+.
#   make up    install into .venv, build the dashboard, run the system on embedded defaults
#   make test  install with test extras, build the dashboard, run lint, types and every test

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
DASHBOARD := dashboard
DASHBOARD_SOURCES := $(shell find $(DASHBOARD)/src -type f 2>/dev/null) \
	$(DASHBOARD)/index.html $(DASHBOARD)/vite.config.ts $(DASHBOARD)/tsconfig.json

.PHONY: up test unit lint bench clean dashboard-test chromium deploy-check

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

# npm ci installs exactly package-lock.json; the build lands in dashboard/dist, served at /.
$(DASHBOARD)/node_modules/.installed: $(DASHBOARD)/package-lock.json
	cd $(DASHBOARD) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(DASHBOARD)/dist/index.html: $(DASHBOARD)/node_modules/.installed $(DASHBOARD_SOURCES)
	cd $(DASHBOARD) && npm run build --silent

# The browser tests drive Debian's Chromium (no browser download); installed once, as root.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
		echo "installing Debian's chromium for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

up: $(VENV)/.installed $(DASHBOARD)/dist/index.html
	$(BIN)/optionsflow-up

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-logo --no-cache

dashboard-test: $(DASHBOARD)/node_modules/.installed
	cd $(DASHBOARD) && npm run lint --silent && npm test --silent

# Offline checks of Dockerfile, docker-compose.yml, ops/ and the Helm chart; the tools are
# cached in var/tools (removed by clean with the rest of var/).
deploy-check:
	bash scripts/check_deploy.sh

# The unit tests spread over three processes (one per core and one more: many wait on a
# private Redis or a spawned process); then the integration tests over three, a file to a
# process (each file's servers start once, and most of their time is spent waiting on
# those servers); then the e2e tests over two, a file to a process (each runs make up's
# whole process set, on free ports and a VAR_DIR of its own, and mostly waits on it and on
# Chromium); then chaos and load in one, since they measure recoveries and the machine.
# Coverage is appended run to run: the report at the end covers all four.
TEST_UNIT_WORKERS ?= 3
TEST_INTEGRATION_WORKERS ?= 3
TEST_E2E_WORKERS ?= 2
test: lint dashboard-test deploy-check $(DASHBOARD)/dist/index.html chromium
	$(BIN)/pytest tests/unit -n $(TEST_UNIT_WORKERS) --dist worksteal --cov-report=
	$(BIN)/pytest tests/integration -n $(TEST_INTEGRATION_WORKERS) --dist loadfile --cov-append --cov-report=
	$(BIN)/pytest tests/e2e -n $(TEST_E2E_WORKERS) --dist loadfile --cov-append --cov-report=
	$(BIN)/pytest --ignore=tests/unit --ignore=tests/integration --ignore=tests/e2e --cov-append

# The quick loop while coding, beside make test (which still runs everything): the unit tests
# without coverage, lint or the tests marked slow, spread by pytest-xdist over one process per
# core and one more (many tests wait on Redis or a socket), handed out as workers free up.
# Under a minute on 2 cores (README, "Development").
UNIT_WORKERS ?= $(shell echo $$(( $$(nproc) + 1 )))
unit: $(VENV)/.installed-dev
	$(BIN)/pytest tests/unit -n $(UNIT_WORKERS) --dist worksteal --no-cov -q -m "not slow"

bench: $(VENV)/.installed
	OMP_NUM_THREADS=1 $(BIN)/python bench/enrich.py
	$(BIN)/python bench/feed.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache .coverage test-artifacts \
		$(DASHBOARD)/node_modules $(DASHBOARD)/dist
