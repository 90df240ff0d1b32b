# One-command set-up on a fresh Debian 12 machine: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
WORKERS ?= 1
# Debian packages: PostGIS for the local cluster, GDAL's tools for the benchmark, the label font,
# faketime for the clock tests.
DEB_PACKAGES := postgresql-15-postgis-3 gdal-bin fonts-dejavu-core poppler-utils chromium redis-server faketime
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: help deps venv web db demo run test lint fmt clean-db bench

help:
	@echo "make run   - install what is missing, start PostGIS, load the Huế demo, serve on http://$(HOST):$(PORT)"
	@echo "make test  - the same set-up, then lint, type checks and the whole test suite"

deps:
	@missing=""; for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	@touch $@

# The map's browser dependencies (MapLibre, axe-core, the style validator) from npm, no CDN.
web: api/web/node_modules/.installed

api/web/node_modules/.installed: api/web/package.json api/web/package-lock.json
	cd api/web && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

db: deps venv web
	$(BIN)/planning db up
	$(BIN)/planning db migrate

demo: db
	$(BIN)/planning demo --if-missing

run: demo
	$(BIN)/planning serve --host $(HOST) --port $(PORT) --workers $(WORKERS)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

fmt: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: db lint
	@set +e; $(BIN)/pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; exit $$rc

clean-db: venv
	-$(BIN)/planning db down
	rm -rf .local/pgdata .local/postgres.log

bench: demo
	@echo "see bench/README.md"
