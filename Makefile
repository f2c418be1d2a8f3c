# HXB Lab. The two commands a user needs are `make demo` and `make test`; see README.md.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
ARGS ?=
STAMP := $(VENV)/.hxb-installed

.PHONY: demo test check bench install plotly-bundles test-deps test-extension clean

## Create .venv and install the project (editable) with its JupyterLab extension.
install: $(STAMP) plotly-bundles

## The partial plotly.js bundles reports inline (fetched with npm, cached; not committed).
plotly-bundles: $(STAMP)
	PYTHON=$(BIN)/python bash tools/fetch-plotly-bundles.sh

$(STAMP): pyproject.toml extensions/hxb-lab/package.json extensions/hxb-lab/yarn.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet uv
	$(BIN)/uv pip install --python $(BIN)/python -e ".[dev]"
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/jupyter-builder develop --overwrite .
	$(BIN)/jupyter server extension enable --sys-prefix hxb_lab
	touch $@

## Seed the embedded demo platform and start JupyterLab on notebooks/ (ARGS=--no-lab: seed only).
demo: install
	$(BIN)/hxb-lab demo --lab $(ARGS)

## Everything the tests need (Debian packages, binaries built from Go modules), then the suite.
test-deps: install
	bash tools/install-test-deps.sh

## The JupyterLab extension: its jest tests, then a build of the current sources (the browser
## test runs what was built).
test-extension: install
	cd extensions/hxb-lab && PATH="$(CURDIR)/$(BIN):$$PATH" jlpm install >/dev/null \
		&& PATH="$(CURDIR)/$(BIN):$$PATH" jlpm test --ci \
		&& PATH="$(CURDIR)/$(BIN):$$PATH" jlpm build >/dev/null

test: test-deps test-extension
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## Lint, format and type checks. Fails on problems; never rewrites files.
check: install
	$(BIN)/ruff format --check hxb_lab tests
	$(BIN)/ruff check hxb_lab tests
	$(BIN)/mypy
	$(BIN)/lint-imports
	cd extensions/hxb-lab && PATH="$(CURDIR)/$(BIN):$$PATH" jlpm install >/dev/null \
		&& PATH="$(CURDIR)/$(BIN):$$PATH" jlpm lint:check

## Benchmarks: one line each with our figure, the peer's, and the ratio. Not run in CI.
bench: test-deps
	$(BIN)/python -m tests.benchmarks $(ARGS)

clean:
	rm -rf $(VENV) build dist hxb_lab/labextension hxb_lab/runbooks/plotlyjs extensions/hxb-lab/lib extensions/hxb-lab/node_modules
