"""BI readers query the serving copy while the pipeline rebuilds: no lock errors, never a torn read."""

import threading
import time
from dataclasses import replace

import sqlalchemy
from sqlalchemy.pool import NullPool

from ops_pipeline.pipeline import run
from ops_pipeline.serving import sqlalchemy_url
from ops_pipeline.settings import Settings


def read_consistently(engine) -> str:
    """One read as a BI tool does it; asserts the version it sees is whole; returns that version."""
    with engine.connect() as conn:
        published = conn.execute(
            sqlalchemy.text("select version, table_name, row_count from marts._publication")
        ).fetchall()
        versions = {version for version, _, _ in published}
        assert len(versions) == 1, versions
        for _, table, rows in published:
            assert conn.execute(sqlalchemy.text(f'select count(*) from marts."{table}"')).scalar() == rows, table
        return versions.pop()


def test_readers_never_fail_or_see_a_partial_publication(generated_run, tmp_path):
    assert generated_run.exit_code == 0, generated_run.output
    settings = replace(
        Settings.from_env(),
        landing_dir=generated_run.landing,
        warehouse=generated_run.warehouse,
        partition_start="2026-01-01",
    )
    serving = settings.serving_path
    assert serving.exists(), "the CLI run publishes the serving copy"
    engine = sqlalchemy.create_engine(sqlalchemy_url(serving), poolclass=NullPool)
    first_version = read_consistently(engine)

    errors: list[BaseException] = []
    seen: list[str] = []
    stop = threading.Event()

    def reader():
        deadline = time.monotonic() + 600  # bounded even if the main thread dies
        while not stop.is_set() and time.monotonic() < deadline:
            try:
                seen.append(read_consistently(engine))
            except BaseException as error:
                errors.append(error)

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        outcomes = [run(settings, log_file=tmp_path / f"run{i}.log", everything=True) for i in range(2)]
    finally:
        stop.set()
        thread.join()
    assert all(o.success for o in outcomes), [o.failures for o in outcomes]
    assert errors == []
    assert len(seen) > 10
    versions = list(dict.fromkeys(seen))  # in the order readers first saw them
    assert versions == sorted(versions), "a reader went back to an older version"
    assert versions[0] >= first_version and len(versions) >= 2, "readers saw the rebuilds' publications"
    assert read_consistently(engine) > first_version
