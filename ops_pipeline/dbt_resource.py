"""The dbt project as Dagster sees it: the DbtProject, its CLI resource, and its manifest (parsed
on demand so a fresh clone just works)."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path

from dagster_dbt import DbtCliResource, DbtProject
from dagster_dbt.compat import DBT_PYTHON_VERSION

from ops_pipeline.settings import DBT_PROJECT_DIR

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)

# The dbt installed beside this Python, even when the venv is not on PATH.
DBT_EXECUTABLE = (
    str(Path(sys.executable).parent / "dbt")
    if (Path(sys.executable).parent / "dbt").exists()
    else shutil.which("dbt") or "dbt"
)


class OpsDbtCliResource(DbtCliResource):
    """DbtCliResource without two costs that every dbt invocation pays for nothing here
    (about 2 s a run, measured): it would start `dbt --version` in a second Python to learn
    the version of the dbt-core installed beside this one, and load dbt's macros into an
    in-process adapter that only fetch_row_counts / fetch_column_metadata use (row counts
    are read from DuckDB once dbt has finished, assets/dbt.py)."""

    @cached_property
    def _cli_version(self):
        return DBT_PYTHON_VERSION

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> None:
        return None

    def cli_with_env(self, args: Sequence[str], env: Mapping[str, str], **kwargs):
        """cli(), with `env` added to the dbt process's environment.

        DbtCliResource.cli (dagster-dbt 0.29) takes no environment: it starts dbt with a copy of
        os.environ, taken during the call. So `env` is set for the call and restored at once,
        here and nowhere else; the process keeps the copy."""
        with _environment(env):
            return self.cli(args, **kwargs)


@contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def dbt_resource() -> OpsDbtCliResource:
    return OpsDbtCliResource(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE)


def _sources_newer_than(path: Path) -> bool:
    built = path.stat().st_mtime
    watched = [DBT_PROJECT_DIR / "dbt_project.yml", DBT_PROJECT_DIR / "profiles.yml"]
    for folder in ("models", "macros", "tests", "seeds", "snapshots"):
        watched.extend((DBT_PROJECT_DIR / folder).rglob("*"))
    return any(p.is_file() and p.stat().st_mtime > built for p in watched)


def ensure_manifest() -> Path:
    """(Re)parse the dbt project when its manifest is missing or older than its files."""
    manifest = dbt_project.manifest_path
    if not manifest.exists() or _sources_newer_than(manifest):
        dbt_resource().cli(["parse", "--quiet"], manifest={}, target_path=manifest.parent).wait()
    return manifest
