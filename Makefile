# caseload: `make run` serves the app with demo data; `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app caseload
PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
# The port `make run` serves on: `make run PORT=8080`.
PORT ?= 5000

.PHONY: install run test lint bench clean

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

clean:
	rm -rf $(VENV) node_modules .pytest_cache .mypy_cache .ruff_cache .hypothesis
