"""Likely cause (pure): pipeline before tracking before business, on the evidence given."""

from ops_pipeline.alerts.cause import BUSINESS, PIPELINE, TRACKING, Evidence, likely_cause


def test_backend_steady_while_tracked_payments_drop_on_ios_is_tracking():
    cause = likely_cause(
        Evidence(
            completeness_change={"all": -0.33, "ios": -0.95, "android": 0.01},
            paid_orders_change={"all": 0.02, "ios": 0.04, "android": 0.0},
        )
    )
    assert cause.kind == TRACKING
    assert any("on ios -95%" in r for r in cause.reasons)
    assert not any("android" in r for r in cause.reasons)


def test_tracking_and_backend_moving_together_is_business():
    cause = likely_cause(Evidence(completeness_change={"all": -0.25}, paid_orders_change={"all": -0.3}))
    assert cause.kind == BUSINESS


def test_collapsed_event_volume_or_quarantine_jump_is_tracking():
    assert likely_cause(Evidence(event_volume_change={"app_version ios 5.3.1": -0.97})).kind == TRACKING
    assert likely_cause(Evidence(event_volume_change={"platform web": -0.5})).kind == BUSINESS
    jump = likely_cause(Evidence(quarantine_rate=0.08, quarantine_rate_expected=0.002))
    assert jump.kind == TRACKING and "8.0%" in jump.reasons[0]
    assert likely_cause(Evidence(quarantine_rate=0.004, quarantine_rate_expected=0.002)).kind == BUSINESS


def test_a_missing_file_or_failed_blocking_check_is_the_pipeline_even_if_tracking_looks_broken():
    missing = likely_cause(
        Evidence(missing_sources=["events: no file for 2026-05-01"], event_volume_change={"platform ios": -1.0})
    )
    assert missing.kind == PIPELINE and "events: no file" in missing.reasons[0]
    check = likely_cause(Evidence(failed_checks=["marts/metrics_daily: not_null_metrics_daily_date"]))
    assert check.kind == PIPELINE


def test_no_evidence_is_business():
    assert likely_cause(Evidence()).kind == BUSINESS
