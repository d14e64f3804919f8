# Two commands do all set-up on a fresh machine: `make run` and `make test`.
PY ?= python3
UV_VERSION := 0.13.9
VENV := .venv
UV := .tools/bin/uv
BIN := $(VENV)/bin
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: install test-deps run test test-fast test-prod lint format soak bench clean

$(UV):
	$(PY) -m venv .tools
	.tools/bin/pip install -q --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.synced: pyproject.toml uv.lock $(UV)
	$(UV) sync --frozen --python $(PY)
	@touch $@

install: $(VENV)/.synced

# The official AsyncAPI parser, from the committed lockfile (tests/gateway/test_asyncapi_parser.py);
# no install script runs, so no tool downloads a browser.
ASYNCAPI_CHECK := tools/asyncapi/node_modules/.installed
$(ASYNCAPI_CHECK): tools/asyncapi/package.json tools/asyncapi/package-lock.json
	cd tools/asyncapi && PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
	@touch $@

## the PostgreSQL and Redis binaries the suite starts its own throwaway servers from
test-deps: install $(ASYNCAPI_CHECK)
	@bash scripts/test-deps.sh
	@$(BIN)/python -m cadrekit.testing.kafka

## run the whole system in the embedded mode (SQLite + Tansu), gateway on :8000
run: install
	$(BIN)/python -m deploy.launcher

## lint, type-check, then the whole suite on SQLite and PostgreSQL; the Kafka tiers on Apache Kafka
test: install test-deps lint
	$(BIN)/pytest -q --broker kafka

test-fast: install test-deps
	$(BIN)/pytest -q -m "not e2e"

## the production path as processes: own PostgreSQL database and role per service, replicas, 6 partitions
test-prod: install test-deps
	$(BIN)/pytest -q -s --broker kafka tests/production

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy cadrekit contracts services gateway deploy bench

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install test-deps
	$(BIN)/python bench/report.py

soak: install test-deps
	$(BIN)/pytest -q -s -m soak --run-soak --broker kafka

clean:
	rm -rf $(VENV) .tools var .pytest_cache .mypy_cache .ruff_cache
