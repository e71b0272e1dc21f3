"""Monitors are configuration: the shipped file loads, mistakes are named."""

import pytest

from ops_pipeline.alerts.monitors import MonitorConfigError, load_monitors, parse_monitors
from ops_pipeline.settings import Settings


def test_the_default_monitors_cover_the_contract():
    monitors = {m.name: m for m in load_monitors()}
    metrics = {m.metric for m in monitors.values()}
    assert {
        "dau",
        "new_users",
        "orders",
        "paid_gmv",
        "pay_rate",
        "visit_to_pay",
        "ctr",
        "cac",
        "roas",
        "events",
        "tracking_completeness",
    } <= metrics
    assert {m for m in metrics if m.startswith("funnel_")} == {
        "funnel_product_view_conversion",
        "funnel_add_to_cart_conversion",
        "funnel_order_submit_conversion",
        "funnel_pay_success_conversion",
    }
    assert monitors["ctr_by_channel"].dimension == "channel"
    assert monitors["events_by_platform"].dimension == "platform"
    assert all(m.label and m.owner and m.severity for m in monitors.values())
    assert monitors["dau"].drill_down == ("channel", "platform", "region")


def test_labels_and_drill_downs_come_from_the_metric_registry():
    """monitors.yml names metrics; what people read and how a metric slices is the registry's."""
    from ops_pipeline.metrics import load_registry

    registry = load_registry()
    for monitor in load_monitors():
        metric = registry[monitor.metric]
        assert monitor.label == metric.display_name
        assert set(monitor.drill_down) <= set(metric.dimensions)
    (new_users,) = parse_monitors({"monitors": [{"metric": "new_users"}]})
    assert (new_users.label, new_users.drill_down) == ("新注册用户 New users", ("channel", "region"))


def test_defaults_apply_and_entries_override(tmp_path):
    monitors = parse_monitors(
        {
            "defaults": {"sensitivity": 4, "severity": "info"},
            "monitors": [{"metric": "dau"}, {"metric": "orders", "sensitivity": 2.5}],
        }
    )
    assert [(m.name, m.sensitivity, m.severity) for m in monitors] == [("dau", 4.0, "info"), ("orders", 2.5, "info")]
    assert monitors[0].min_relative_change == 0.2 and monitors[0].direction == "both"


def test_env_override_path(tmp_path, monkeypatch):
    path = tmp_path / "m.yml"
    path.write_text("monitors:\n  - metric: dau\n    label: 日活\n", encoding="utf-8")
    monkeypatch.setenv("OPS_MONITORS", str(path))
    assert [(m.name, m.label) for m in load_monitors(Settings.from_env().monitors_file)] == [("dau", "日活")]


@pytest.mark.parametrize(
    "document, words",
    [
        ({"monitors": [{"metric": "dau", "direction": "sideways"}]}, "direction must be one of"),
        ({"monitors": [{"metric": "dau", "min_volume": "lots"}]}, "min_volume must be a number"),
        ({"monitors": [{"metric": "dau", "treshold": 3}]}, "unknown key(s) treshold"),
        ({"monitors": [{"label": "no metric"}]}, "'metric' is required"),
        ({"monitors": [{"metric": "dau"}, {"metric": "dau"}]}, "used twice"),
        ({"monitors": [{"metric": "dau", "dimension_value": "ios"}]}, "needs a dimension"),
        ({"monitor": []}, "'monitors:' list"),
        ({"monitors": [{"metric": "dua"}]}, "'dua' is not a metric of marts.metrics_daily"),
        ({"monitors": [{"metric": "funnel_visit_persons"}]}, "is not a metric of marts.metrics_daily"),
        ({"monitors": [{"metric": "new_users", "dimension": "platform"}]}, "new_users has no slices by 'platform'"),
        ({"monitors": [{"metric": "ctr", "drill_down": ["region"]}]}, "ctr has no slices by 'region'"),
    ],
)
def test_mistakes_are_named(document, words):
    with pytest.raises(MonitorConfigError, match=None) as error:
        parse_monitors(document, where="m.yml")
    assert words in str(error.value) and "m.yml" in str(error.value)
