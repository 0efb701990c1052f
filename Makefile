# caseload: `make run` serves the app with demo data; `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app caseload
PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
# The port `make run` serves on: `make run PORT=8080`.
PORT ?= 5000

.PHONY: install run test lint bench clean audit reliability load

$(PY_STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[test]'
	touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(PY_STAMP) $(NODE_STAMP)

run: install
	$(FLASK) db upgrade
	$(FLASK) seed-demo --if-empty
	@echo "Serving caseload at http://127.0.0.1:$(PORT)"
	$(FLASK) run --host 127.0.0.1 --port $(PORT)

lint: install
	$(BIN)/ruff check caseload tests bench
	$(BIN)/ruff format --check caseload tests bench
	$(BIN)/mypy caseload

test: install lint
	./scripts/ensure-chromium
	$(BIN)/pytest

bench: install
	$(BIN)/python -m bench

# The load test of docs/PERFORMANCE.md: simulated staff against gunicorn for 60 s on
# PostgreSQL (4 processes, 32 users; the server named by CASELOAD_RELIABILITY_PG, default
# the test server) and SQLite (one process with threads, 16 users), then one process under
# cProfile for the top costs, and the first case page in a cold browser. Writes
# bench/load-results.json; fails on any error.
load: install
	status=0; \
	$(BIN)/python scripts/load/run.py --database postgresql --gunicorn-workers 4 --threads 4 --users 32 --seconds 60 || status=1; \
	$(BIN)/python scripts/load/run.py --database sqlite --gunicorn-workers 1 --threads 8 --users 16 --seconds 60 || status=1; \
	$(BIN)/python scripts/load/run.py --database sqlite --gunicorn-workers 1 --threads 8 --users 16 --seconds 30 --profile || status=1; \
	./scripts/ensure-chromium && $(BIN)/python scripts/load/first_page.py --runs 5 || status=1; \
	exit $$status

# Known vulnerabilities in the locked dependencies (docs/RELIABILITY.md). Needs the PyPI
# advisory service and the npm registry, so it is not part of `make test`.
audit: install
	$(BIN)/python -m pip_audit --version >/dev/null 2>&1 || $(BIN)/python -m pip install --quiet pip-audit
	$(BIN)/python -m pip_audit -r constraints.txt --disable-pip --no-deps
	npm audit --omit=dev --audit-level=low

# The long reliability runs of docs/RELIABILITY.md (hostile input at 500 examples a form,
# the sign-in races and the saves under concurrency, and scripts/reliability: concurrency,
# kill -9 faults and sign-in under attack, on SQLite and on the PostgreSQL server named by
# CASELOAD_RELIABILITY_PG, default postgresql+psycopg://postgres@127.0.0.1:5432/test).
reliability: install
	CASELOAD_HOSTILE_EXAMPLES=500 $(BIN)/pytest -p no:cacheprovider -q \
		tests/web/test_hostile_input.py tests/web/test_reliability_input.py \
		tests/web/test_reliability_saves.py tests/services/test_signin_races.py \
		tests/test_reliability_secrets.py tests/web/test_access_matrix.py \
		tests/web/test_stored_output.py tests/web/test_database_busy.py
	status=0; for db in sqlite postgresql; do \
		$(BIN)/python scripts/reliability/concurrency.py --database $$db --seconds 60 || status=1; \
		$(BIN)/python scripts/reliability/faults.py --database $$db --kills 20 || status=1; \
		$(BIN)/python scripts/reliability/signin_attack.py --database $$db --seconds 30 || status=1; \
	done; exit $$status

clean:
	rm -rf $(VENV) node_modules .pytest_cache .mypy_cache .ruff_cache .hypothesis
