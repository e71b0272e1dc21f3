# The two commands of the README: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
JAVA_PACKAGE := openjdk-17-jre-headless

.PHONY: install demo test lint ui bench docs lock clean

install: $(STAMP)

# Exact versions come from requirements.lock (regenerate with `make lock`).
$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c requirements.lock -e '.[dev,postgres,semantic,spark]'
	@# pyspark (dbt --target spark, tests/test_spark_portability.py) needs a Java runtime: Debian's, when there is none.
	command -v java >/dev/null || apt-get install -y --no-install-recommends $(JAVA_PACKAGE) \
		|| { apt-get update && apt-get install -y --no-install-recommends $(JAVA_PACKAGE); }
	cd dbt_project && ../$(BIN)/dbt parse --quiet --profiles-dir . >/dev/null
	touch $(STAMP)

demo: install
	$(BIN)/ops-pipeline demo

test: install lint
	$(BIN)/pytest

# ruff (lint and format) on the Python, sqlfluff with the dbt templater on the SQL (.sqlfluff).
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	OPS_WAREHOUSE=$$(mktemp -d)/lint.duckdb $(BIN)/sqlfluff lint dbt_project/models dbt_project/tests dbt_project/macros

ui: install
	$(BIN)/ops-pipeline ui

bench: install
	$(BIN)/ops-pipeline bench

# dbt docs (models, columns, tests, lineage, and the tables as built) of the warehouse
# OPS_WAREHOUSE (default data/warehouse.duckdb) on http://127.0.0.1:$DOCS_PORT (default 8080).
# Built into dbt_project/target/docs, apart from the manifest Dagster loads.
docs: install
	@warehouse="$(abspath $(or $(OPS_WAREHOUSE),data/warehouse.duckdb))"; \
	test -f "$$warehouse" || { echo "no warehouse at $$warehouse: run make demo first"; exit 1; }; \
	cd dbt_project && OPS_WAREHOUSE="$$warehouse" ../$(BIN)/dbt docs generate --profiles-dir . --target-path target/docs \
		&& ../$(BIN)/dbt docs serve --profiles-dir . --target-path target/docs --port $${DOCS_PORT:-8080} --no-browser

lock:
	$(BIN)/pip freeze --exclude-editable > requirements.lock

clean:
	rm -rf data .dagster_home dbt_project/target dbt_project/logs
