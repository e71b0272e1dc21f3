"""Multi-dimensional root cause (rootcause.py) and `ops-pipeline explain`, on hand-built leaves.

Every leaf is expected at 100; the causes' leaves drop by a stated amount and
the others carry a little noise of distinct sizes both ways, so the answers
and their shares can be worked out by hand."""

from __future__ import annotations

import json
import subprocess
import sys
from itertools import product
from pathlib import Path

import pandas as pd
import pytest

from ops_pipeline.alerts.attribution import SliceObservation, explain
from ops_pipeline.alerts.leaves_csv import LeavesError, read_leaves
from ops_pipeline.alerts.rootcause import find_root_causes
from ops_pipeline.cli import main

CHANNELS = ["douyin_ads", "search", "organic"]
PLATFORMS = ["android", "ios"]
REGIONS = ["north", "south"]
# actual - expected of the 12 leaves before any cause, ups and downs of distinct sizes:
#   douyin_ads android north +1.0, south -1.5; ios north -0.5, south +2.0
#   search     android north +1.5, south -2.0; ios north -1.0, south +0.5
#   organic    android north +2.5, south -0.7; ios north +0.7, south -2.5
NOISE = [1.0, -1.5, -0.5, 2.0, 1.5, -2.0, -1.0, 0.5, 2.5, -0.7, 0.7, -2.5]


def leaves(causes: dict[tuple[str, ...], float] | None = None) -> pd.DataFrame:
    """channel x platform x region, expected 100 each; a leaf matching a cause (a tuple of values) gets its actual."""
    rows = []
    for (channel, platform, region), noise in zip(product(CHANNELS, PLATFORMS, REGIONS), NOISE):
        real = 100 + noise
        for values, actual in (causes or {}).items():
            if set(values) <= {channel, platform, region}:
                real = actual
        rows.append({"channel": channel, "platform": platform, "region": region, "real": real, "predict": 100.0})
    return pd.DataFrame(rows)


def gross_drop(frame: pd.DataFrame) -> float:
    moved = frame["real"] - frame["predict"]
    return float(-moved[moved < 0].sum())


def test_a_combination_of_two_dimensions_is_found_with_its_share_of_the_drop():
    # android x douyin_ads (north and south) from 100 to 40: a drop of 120 (replacing their noise +1.0, -1.5);
    # the other downs: 0.5 + 2.0 + 1.0 + 0.7 + 2.5 = 6.7
    frame = leaves({("douyin_ads", "android"): 40.0})
    (cause,) = find_root_causes(frame)
    assert dict(cause.element) == {"channel": "douyin_ads", "platform": "android"}
    assert cause.label == "douyin_ads x android"
    assert gross_drop(frame) == pytest.approx(126.7)
    assert cause.share == pytest.approx(120 / 126.7)
    assert (cause.actual, cause.expected) == (80.0, 200.0)


def test_one_element_over_three_dimensions():
    frame = leaves({("search", "ios", "south"): 30.0})
    (cause,) = find_root_causes(frame)
    assert dict(cause.element) == {"channel": "search", "platform": "ios", "region": "south"}
    # a drop of 70 (replacing that leaf's +0.5); every noise down stays: 1.5 + 0.5 + 2.0 + 1.0 + 0.7 + 2.5 = 8.2
    assert cause.share == pytest.approx(70 / 78.2)


def test_one_dimension_value_is_an_element_of_one_dimension():
    frame = leaves({("organic",): 50.0})
    assert [dict(c.element) for c in find_root_causes(frame)] == [{"channel": "organic"}]


def test_two_simultaneous_elements_share_the_drop_without_exceeding_it():
    # search everywhere -50% (4 leaves: 200), android x douyin_ads -60% (2 leaves: 120); downs left: 0.5, 0.7, 2.5
    frame = leaves({("search",): 50.0, ("douyin_ads", "android"): 40.0})
    causes = find_root_causes(frame)
    assert [dict(c.element) for c in causes] == [
        {"channel": "search"},
        {"channel": "douyin_ads", "platform": "android"},
    ]
    gross = 200 + 120 + 0.5 + 0.7 + 2.5
    assert [c.share for c in causes] == pytest.approx([200 / gross, 120 / gross])
    assert sum(c.share for c in causes) <= 1.0


def test_a_rise_is_explained_the_same_way():
    frame = leaves({("ios", "north"): 180.0})
    (cause,) = find_root_causes(frame)
    assert dict(cause.element) == {"platform": "ios", "region": "north"}
    # 3 leaves +80 each (replacing -0.5, -1.0, +0.7); the other ups: 1.0 + 2.0 + 1.5 + 0.5 + 2.5 = 7.5
    assert cause.share == pytest.approx(240 / 247.5)


def test_noise_alone_explains_nothing():
    assert find_root_causes(leaves()) == []


def test_no_change_explains_nothing():
    frame = leaves()
    frame["real"] = frame["predict"]
    assert find_root_causes(frame) == []


def test_a_slice_that_moved_the_other_way_is_never_returned():
    # ios x organic rose by 60% while android x douyin_ads dropped by 60%: the total dropped
    frame = leaves({("douyin_ads", "android"): 40.0, ("organic", "ios"): 130.0})
    causes = find_root_causes(frame)
    assert [dict(c.element) for c in causes] == [{"channel": "douyin_ads", "platform": "android"}]
    for cause in causes:
        assert cause.actual < cause.expected


def _write(path: Path, frame: pd.DataFrame) -> Path:
    frame.to_csv(path, index=False)
    return path


def test_explain_prints_the_elements_as_json(tmp_path, capsys):
    csv = _write(tmp_path / "leaves.csv", leaves({("search",): 50.0, ("douyin_ads", "android"): 40.0}))
    assert main(["explain", "--leaves", str(csv)]) == 0
    assert json.loads(capsys.readouterr().out) == [
        {"channel": "search"},
        {"channel": "douyin_ads", "platform": "android"},
    ]


def test_explain_as_a_command(tmp_path):
    csv = _write(tmp_path / "leaves.csv", leaves({("organic",): 50.0}))
    result = subprocess.run(
        [Path(sys.executable).parent / "ops-pipeline", "explain", "--leaves", csv],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [{"channel": "organic"}]


def test_explain_names_the_file_line_and_problem_of_a_bad_csv(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("channel,real,predict\nsearch,10,12\norganic,n/a,5\n")
    assert main(["explain", "--leaves", str(bad)]) == 2
    assert capsys.readouterr().err == f"ops-pipeline explain: {bad}, line 3: real is 'n/a', not a number\n"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("channel,real\nsearch,10\n", "no column 'predict' (columns: ['channel', 'real'])"),
        ("channel,actual,expected\nsearch,10,12\n", "no column 'real' and 'predict'"),
        ("real,predict\n10,12\n", "no dimension column beside 'real' and 'predict'"),
        ("channel,real,predict\nsearch,10,\n", "line 2: predict is '', not a number"),
        ("channel,real,predict\nsearch,-3,4\n", "line 2: real is '-3'; an additive metric is never negative"),
    ],
)
def test_read_leaves_errors(tmp_path, text, problem):
    path = tmp_path / "leaves.csv"
    path.write_text(text)
    with pytest.raises(LeavesError) as error:
        read_leaves(path)
    assert problem in str(error.value)
    assert str(path) in str(error.value)


def test_the_one_dimension_drill_down_lists_shares_adding_up_to_at_most_100_percent():
    # total 100 -> 60 (-40); ios -60 and android -30 dropped (90 of gross drop), web rose +50
    slices = [SliceObservation("ios", 40, 100), SliceObservation("android", 70, 100), SliceObservation("web", 150, 100)]
    drill = explain(260, 300, {"platform": slices})
    # of the net change ios is 150% and android 75%; of the gross drop of 90, 2/3 and 1/3
    assert [(s.dimension_value, s.share) for s in drill.top] == [("ios", pytest.approx(60 / 90)), ("android", 30 / 90)]
    assert sum(s.share for s in drill.top) <= 1.0


def test_the_one_dimension_drill_down_never_names_a_slice_that_moved_against_the_total():
    # a pay rate, expected 0.3 = 50% ios at 0.1 + 50% web at 0.5; on D ios is 80% of the visits at 0.1 still and
    # web 20% at 0.55 (+10% on its own): the total falls to 0.19 (-0.11), all of it from the mix. Effects:
    # ios 0.8 x 0 + (0.8 - 0.5) x (0.1 - 0.3) = -0.06, web 0.2 x 0.05 + (0.2 - 0.5) x (0.5 - 0.3) = -0.05
    slices = [
        SliceObservation("ios", 0.1, 0.1, actual_weight=80, expected_weight=50),
        SliceObservation("web", 0.55, 0.5, actual_weight=20, expected_weight=50),
    ]
    drill = explain(0.19, 0.3, {"platform": slices}, ratio=True)
    # web has 45% of the drop by the mix, but rose on its own: not named
    assert [(s.dimension_value, s.share) for s in drill.top] == [("ios", pytest.approx(0.06 / 0.11))]
