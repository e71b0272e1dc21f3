"""The metric registry: marts.metrics_daily generated from it, on hand-computed inputs, and a new
metric added with one registry entry.

The cases of tests/fixtures/metrics_daily_cases.yml are loaded into the tables the registry's
semantic models read (and kpi_daily, the reporting dates), then the real dbt model is built with
`dbt run --select metrics_daily` and must hold exactly the expected rows.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest
import yaml

from ops_pipeline.alerts.evaluation import evaluate_monitors
from ops_pipeline.alerts.monitors import parse_monitors
from ops_pipeline.alerts.series import COLUMNS, MetricStore
from ops_pipeline.metrics import RegistryError, load_registry
from tests.table_compare import dbt_executable, same_value

PROJECT_DIR = Path(__file__).resolve().parents[1] / "dbt_project"
CASES = yaml.safe_load((Path(__file__).parent / "fixtures" / "metrics_daily_cases.yml").read_text(encoding="utf-8"))
KEY = ("date", "metric", "dimension", "dimension_value")
METRICS_YAML = Path("models/marts/monitoring/_monitoring__metrics.yml")

NEW_RATIO = """
  - name: refund_rate
    label: Refund rate
    description: Refunds / placed GMV.
    type: ratio
    type_params:
      numerator: refund_amount
      denominator: gmv
    config:
      meta: {label_zh: 退款率, unit: ratio, format: percent, good_direction: down, dimensions: [channel]}
"""


def _relation(ref: str) -> tuple[str, str]:
    name = ref.removeprefix("ref('").removesuffix("')")
    return ("marts" if name == "kpi_daily" else "intermediate"), name


def _columns(project_dir: Path) -> dict[str, list[str]]:
    """The columns of each measure table, from its model YAML (kpi_daily: only its date is read)."""
    columns = {"kpi_daily": ["date"]}
    models = yaml.safe_load(
        (project_dir / "models/intermediate/metric_inputs/_metric_inputs__models.yml").read_text(encoding="utf-8")
    )["models"]
    for model in models:
        columns[model["name"]] = [column["name"] for column in model["columns"]]
    return columns


def _load_inputs(warehouse: Path, project_dir: Path) -> None:
    """Every case's `given` rows, together: the cases use disjoint tables or dates."""
    rows: dict[str, list[dict]] = {}
    for case in CASES["cases"]:
        for given in case["given"]:
            rows.setdefault(given["input"], [])
            rows[given["input"]] += [r for r in given["rows"] if r not in rows[given["input"]]]
    columns = _columns(project_dir)
    conn = duckdb.connect(str(warehouse))
    try:
        for ref, table_rows in rows.items():
            schema, name = _relation(ref)
            names = columns[name]
            types = ["date" if c == "date" else "varchar" if c.startswith("dimension") else "double" for c in names]
            conn.execute(f"create schema if not exists {schema}")
            conn.execute(
                f"create or replace table {schema}.{name} (" + ", ".join(f"{c} {t}" for c, t in zip(names, types)) + ")"
            )
            for row in table_rows:
                conn.execute(
                    f"insert into {schema}.{name} values ({', '.join('?' for _ in names)})", [row.get(c) for c in names]
                )
    finally:
        conn.close()


def _build_metrics_daily(project_dir: Path, warehouse: Path, work: Path) -> list[dict]:
    command = [
        dbt_executable(),
        "run",
        "--select",
        "metrics_daily",
        "--project-dir",
        str(project_dir),
        "--profiles-dir",
        str(project_dir),
        "--target-path",
        str(work / "target"),
        "--log-path",
        str(work / "logs"),
    ]
    result = subprocess.run(
        command, env={**os.environ, "OPS_WAREHOUSE": str(warehouse)}, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, f"dbt run failed:\n{result.stdout[-4000:]}\n{result.stderr[-2000:]}"
    conn = duckdb.connect(str(warehouse), read_only=True)
    try:
        cursor = conn.execute("select * from marts.metrics_daily")
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]
    finally:
        conn.close()


def _key(row: dict) -> tuple:
    return tuple(str(row[k]) for k in KEY)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> list[dict]:
    work = tmp_path_factory.mktemp("metrics_daily_cases")
    warehouse = work / "cases.duckdb"
    _load_inputs(warehouse, PROJECT_DIR)
    return _build_metrics_daily(PROJECT_DIR, warehouse, work)


@pytest.mark.parametrize("case", CASES["cases"], ids=[case["name"] for case in CASES["cases"]])
def test_metrics_daily_holds_the_hand_computed_rows(built, case):
    tables = {given["input"] for given in case["given"] if given["rows"]} - {"ref('kpi_daily')"}
    registry = load_registry()
    metrics = {row["metric"] for row in case["expect"]["rows"]}
    assert metrics <= {name for name, m in registry.items() if m.published}
    actual = {_key(row): row for row in built if row["metric"] in metrics}
    expected = {_key(row): row for row in case["expect"]["rows"]}
    assert tables, "a case gives rows to at least one measure table"
    missing, extra = sorted(expected.keys() - actual.keys()), sorted(actual.keys() - expected.keys())
    assert not missing and not extra, f"rows missing: {missing}\nrows not expected: {extra}"
    wrong = [
        (key, {c: (expected[key][c], actual[key][c]) for c in ("value", "numerator", "denominator")})
        for key in sorted(expected)
        if not all(same_value(expected[key][c], actual[key][c]) for c in ("value", "numerator", "denominator"))
    ]
    assert not wrong, "rows differ (expected, actual):\n" + "\n".join(map(str, wrong))


def test_every_published_metric_is_in_a_case():
    covered = {row["metric"] for case in CASES["cases"] for row in case["expect"]["rows"]}
    assert {name for name, m in load_registry().items() if m.published} == covered


def test_a_new_ratio_metric_is_one_registry_entry(tmp_path):
    """refund_rate = refund_amount / gmv by channel: one YAML entry, no SQL, and it is in metrics_daily
    with its numerator and denominator, and in the registry the monitors and messages read."""
    project = tmp_path / "dbt_project"
    shutil.copytree(PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs"))
    with open(project / METRICS_YAML, "a", encoding="utf-8") as registry_file:
        registry_file.write(NEW_RATIO)
    warehouse = tmp_path / "cases.duckdb"
    _load_inputs(warehouse, project)

    rows = [r for r in _build_metrics_daily(project, warehouse, tmp_path) if r["metric"] == "refund_rate"]

    by_slice = {(r["dimension"], r["dimension_value"]): r for r in rows}
    assert set(by_slice) == {("all", "all"), ("channel", "douyin_ads")}  # no platform or region slices
    assert {r["date"] for r in rows} == {date(2026, 11, 1)}  # Nov 3 is not a reporting date
    company, douyin = by_slice["all", "all"], by_slice["channel", "douyin_ads"]
    assert (company["numerator"], company["denominator"], company["value"]) == (50, 800, 50 / 800)
    assert (douyin["numerator"], douyin["denominator"], douyin["value"]) == (0, 300, 0)

    # monitorable: a monitor names it, and the evaluation reads its series like any other metric's
    (monitor,) = parse_monitors(
        {"monitors": [{"metric": "refund_rate", "dimension": "channel"}]}, registry=load_registry(project)
    )
    assert monitor.label == "退款率 Refund rate" and monitor.drill_down == ("channel",)
    store = MetricStore.from_frame(pd.DataFrame(rows, columns=COLUMNS))
    (evaluation,) = evaluate_monitors(store, [monitor], [date(2026, 11, 1)])
    assert (evaluation.dimension_value, evaluation.detection.value) == ("douyin_ads", 0)
    assert not evaluation.fired and "history" in evaluation.detection.reason

    metric = load_registry(project)["refund_rate"]
    assert (metric.kind, metric.numerator, metric.denominator, metric.dimensions) == (
        "ratio",
        "refund_amount",
        "gmv",
        ("channel",),
    )
    assert metric.display_name == "退款率 Refund rate" and metric.format_value(0.0625) == "6.25%"
    assert "refund_rate" not in load_registry()


def test_a_ratio_of_unknown_metrics_is_refused(tmp_path):
    project = tmp_path / "dbt_project"
    (project / METRICS_YAML).parent.mkdir(parents=True)
    (project / METRICS_YAML).write_text("metrics:" + NEW_RATIO.replace("refund_amount", "refunds"), encoding="utf-8")
    with pytest.raises(RegistryError, match=r"_monitoring__metrics.yml: metric refund_rate: ratio input 'refunds'"):
        load_registry(project)


def test_the_metric_reference_in_docs_is_generated_from_the_registry():
    from ops_pipeline.metrics import reference

    assert reference.main(["--check"]) == 0, "run: python -m ops_pipeline.metrics.reference"
    for metric in load_registry().values():
        assert f"| `{metric.name}` | {metric.display_name} |" in reference.DOC.read_text(encoding="utf-8")


def test_kpi_daily_ratios_are_the_registry_ratios(generated_run):
    """kpi_daily keeps its own ratio columns (dbt's unit tests of kpi_daily run without the registry):
    on a built warehouse they equal the company rows of the registry's ratios in metrics_daily."""
    registry = load_registry()
    columns = {"pay_rate": "pay_rate", "arpu": "arpu", "aov": "aov", "visit_to_pay": "visit_to_pay_rate"}
    conn = duckdb.connect(str(generated_run.warehouse), read_only=True)
    try:
        for metric, column in columns.items():
            assert registry[metric].kind == "ratio"
            pairs = conn.execute(
                f"select kpi.{column}, metrics.value from marts.kpi_daily as kpi "
                "inner join marts.metrics_daily as metrics on metrics.date = kpi.date "
                "and metrics.metric = ? and metrics.dimension = 'all'",
                [metric],
            ).fetchall()
            assert len(pairs) == conn.execute("select count(*) from marts.kpi_daily").fetchone()[0]
            assert all(same_value(kpi, value) for kpi, value in pairs), metric
    finally:
        conn.close()


def test_metricflow_serves_the_same_registry(generated_run, tmp_path):
    """The registry is dbt's semantic layer spec: MetricFlow (`mf`, dbt-metricflow) validates it and its
    queries give the values of marts.metrics_daily, for a count, a sum and a ratio of each measure table."""
    mf = Path(sys.executable).with_name("mf")
    project = tmp_path / "dbt_project"
    shutil.copytree(PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs"))
    env = {**os.environ, "OPS_WAREHOUSE": str(generated_run.warehouse), "DBT_PROFILES_DIR": str(project)}
    served = tmp_path / "served.csv"
    metrics = ["dau", "paid_gmv", "pay_rate", "roas", "tracking_completeness", "visit_to_pay", "new_users", "events"]

    parse = subprocess.run(
        [dbt_executable(), "parse", "--quiet"], cwd=project, env=env, capture_output=True, text=True, timeout=300
    )
    assert parse.returncode == 0, parse.stdout[-3000:]
    validation = subprocess.run(
        [str(mf), "validate-configs", "--skip-dw"], cwd=project, env=env, capture_output=True, text=True, timeout=300
    )
    assert validation.returncode == 0 and "ERRORS: 0" in validation.stdout, validation.stdout[-3000:]
    for metric in metrics:
        model = {
            "dau": "trade_slice",
            "paid_gmv": "trade_slice",
            "pay_rate": "trade_slice",
            "roas": "acquisition_slice",
            "tracking_completeness": "payment_slice",
            "visit_to_pay": "funnel_slice",
            "new_users": "registration_slice",
            "events": "event_slice",
        }[metric]
        query = subprocess.run(
            [
                str(mf),
                "query",
                "--metrics",
                metric,
                "--quiet",
                "--csv",
                str(served),
                "--group-by",
                f"metric_time__day,{model}__dimension,{model}__dimension_value",
            ],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert query.returncode == 0, query.stdout[-3000:] + query.stderr[-3000:]
        conn = duckdb.connect(str(generated_run.warehouse), read_only=True)
        try:
            table = {
                (str(d), dim, value): v
                for d, dim, value, v in conn.execute(
                    "select date, dimension, dimension_value, value from marts.metrics_daily where metric = ?", [metric]
                ).fetchall()
            }
            mf_rows = conn.execute(
                f"select cast(metric_time__day as date), {model}__dimension, {model}__dimension_value, {metric} "
                f"from read_csv('{served}', all_varchar = true, auto_type_candidates = ['DOUBLE', 'VARCHAR']) "
                f"where cast(metric_time__day as date) in (select date from marts.kpi_daily)"
            ).fetchall()
        finally:
            conn.close()
        mf_values = {(str(d), dim, value): (float(v) if v not in (None, "") else None) for d, dim, value, v in mf_rows}
        common = table.keys() & mf_values.keys()
        assert len(common) >= 0.9 * len(table), f"{metric}: MetricFlow has {len(common)} of {len(table)} rows"
        wrong = [key for key in common if not same_value(table[key], mf_values[key])]
        assert not wrong, f"{metric}: MetricFlow and metrics_daily differ on {wrong[:5]}"
