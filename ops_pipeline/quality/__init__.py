"""Data quality: Great Expectations suites (expectations/*.yml) run as Dagster asset checks.

suites.py   load the suites declared in expectations/ (no GE import)
params.py   the run window and how values are rendered into SQL and messages
learned.py  volume ranges learned from the previous weeks, in SQL
engine.py   SQLAlchemy engines on DuckDB that GE can use (buffered results)
runner.py   run suites through GE for a window
docs.py     the Data Docs page: one static HTML page of every suite's latest result
results.py  what a check found, in words
report.py   results as Dagster metadata, and back as lines for the CLI
"""
