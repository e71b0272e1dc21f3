# The two commands of the README: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
JAVA_PACKAGE := openjdk-17-jre-headless

.PHONY: install system-packages demo test lint ui bench docs lock clean

install: $(STAMP) system-packages

# What the weekly report needs from the system at run time: a CJK font (Chinese in the PDF and the
# charts), Pango (WeasyPrint's text layout) and HarfBuzz's subsetter (embeds the font's used glyphs in
# a second; without it WeasyPrint falls back to fontTools, about a minute per report). Installed with
# apt-get when missing and root; otherwise a message says what to install.
SYSTEM_PACKAGES := fonts-noto-cjk libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0
system-packages:
	@missing=""; \
	fc-list :lang=zh family 2>/dev/null | grep -q . || missing="$$missing fonts-noto-cjk"; \
	ldconfig -p 2>/dev/null | grep -q libpangoft2-1.0 || missing="$$missing libpango-1.0-0 libpangoft2-1.0-0"; \
	ldconfig -p 2>/dev/null | grep -q libharfbuzz-subset || missing="$$missing libharfbuzz-subset0"; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "installing$$missing (the weekly report's font and PDF libraries)"; \
			DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing >/dev/null \
				|| { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing >/dev/null; }; \
		else \
			echo "the weekly report needs the Debian packages$$missing: install them (sudo apt-get install$$missing)"; \
		fi; \
	fi

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
