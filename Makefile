# Two commands do everything on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8000
# The PostgreSQL leg uses TEST_DATABASE_URL when it is set, else the local server.
PG_TEST_URL := $(or $(TEST_DATABASE_URL),postgresql://postgres@127.0.0.1:5432/test)
export FLASK_APP := wsgi

.PHONY: run test lint test-sqlite test-postgres bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: requirements.txt $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements-dev.txt $(VENV)/.installed
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@

## run: migrate the embedded SQLite database, load demo data if empty, then serve on
## 127.0.0.1:$(PORT) with gunicorn and the background worker (stopped together by Ctrl-C)
run: $(VENV)/.installed
	$(BIN)/flask db upgrade
	$(BIN)/flask demo load --if-empty
	$(BIN)/flask volunteers demo --if-empty
	@$(BIN)/huey_consumer app.worker.huey --workers 2 --worker-type thread & worker=$$!; \
	  trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT INT TERM; \
	  PORT=$(PORT) $(BIN)/gunicorn -c deploy/gunicorn.conf.py wsgi:app

## test: lint, then the whole suite on SQLite and on PostgreSQL
test: lint test-sqlite test-postgres

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

test-sqlite: $(VENV)/.installed-dev
	TEST_DATABASE_URL=sqlite $(BIN)/pytest

test-postgres: $(VENV)/.installed-dev
	TEST_DATABASE_URL=$(PG_TEST_URL) $(BIN)/pytest

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
