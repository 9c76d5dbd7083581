"""`wildrydes predict --explain` over real HTTP against the deployed handler (see test_predict.py)."""
from __future__ import annotations

import math

import pytest
from test_predict import (  # noqa: F401
    BIAS,
    RIDE_FLAGS,
    WEIGHTS,
    classifier_bytes,
    endpoint,
    expected,
)

from wildrydes_cli.cli import explain_view

FEATURES = ("distance", "healthpoints", "magicpoints", "TMIN", "TMAX", "PRCP")
RIDE = dict(zip(FEATURES, (30, 30, 2500, 300, 333, 0)))


def test_explain_as_json_is_the_sum_behind_the_score(wildrydes, endpoint):  # noqa: F811
    result = wildrydes.json("predict", *RIDE_FLAGS, "--explain", "--url", endpoint)
    assert result["score"] == pytest.approx(expected(30, 30, 2500, 300, 333, 0), rel=1e-6)
    assert result["contributions"] == pytest.approx({n: w * RIDE[n] for n, w in zip(FEATURES, WEIGHTS)})
    assert result["intercept"] == pytest.approx(BIAS)
    total = result["intercept"] + sum(result["contributions"].values())
    assert total == pytest.approx(math.log(result["score"] / (1 - result["score"])), rel=1e-9)


def test_explain_as_text_is_a_bar_chart_sorted_by_size(wildrydes, endpoint):  # noqa: F811
    out = wildrydes("predict", *RIDE_FLAGS, "--explain", "--url", endpoint, json_output=False).stdout
    assert "why this score" in out and "█" in out and "intercept -1.5" in out
    # magicpoints (+1.0) first, then TMIN (+0.9), TMAX (-0.666), distance (+0.6), healthpoints (-0.03), PRCP (0)
    rows = [line.split()[1] for line in out.splitlines() if line.startswith("│ ")]
    assert rows == ["magicpoints", "TMIN", "TMAX", "distance", "healthpoints", "PRCP"]


def test_without_explain_nothing_is_added(wildrydes, endpoint):  # noqa: F811
    result = wildrydes.json("predict", *RIDE_FLAGS, "--url", endpoint)
    assert "contributions" not in result
    out = wildrydes("predict", *RIDE_FLAGS, "--url", endpoint, json_output=False).stdout
    assert "why this score" not in out


def test_batch_explain_carries_one_explanation_per_ride(wildrydes, endpoint, tmp_path):  # noqa: F811
    rides = tmp_path / "rides.csv"
    rides.write_text("TMIN,TMAX,PRCP,distance,healthpoints,magicpoints\n300,333,0,30,30,2500\n250,300,12,5,80,100\n")
    result = wildrydes.json("predict", "--file", str(rides), "--explain", "--url", endpoint)
    assert [p["contributions"]["PRCP"] for p in result["predictions"]] == pytest.approx([0.0, 0.12])


def test_bars_grow_left_for_negative_terms_and_right_for_positive():
    left, right = explain_view.bar(-2.0, 4.0, width=8)
    assert left == "   -▐███" and right == " " * 8            # 3.5 of 7 cells, the sign at the tip
    left, right = explain_view.bar(4.0, 4.0, width=8)
    assert left == " " * 8 and right == "███████+"
    assert explain_view.bar(0.001, 4.0, width=8)[1] == "▏+      "   # small but not nothing
    assert explain_view.bar(0.0, 4.0, width=8) == (" " * 8, " " * 8)
    assert [n for n, _ in explain_view.sorted_terms({"a": 0.1, "b": -3.0, "c": 2.0})] == ["b", "c", "a"]


def test_a_tiny_term_and_a_small_one_look_different():
    """The README's ride: healthpoints -0.0005 and TMAX -0.68 next to magicpoints +10.87."""
    tiny, small = explain_view.bar(-0.0005, 10.87)[0], explain_view.bar(-0.68, 10.87)[0]
    assert tiny != small
    assert tiny.strip() == "-▕" and small.strip() == "-█"
    assert explain_view.bar(-6.679, 10.87)[0].strip() == "-" + "█" * 9   # 18 of 30 half cells
    assert explain_view.bar(10.87, 10.87)[1].strip() == "█" * 15 + "+"
    assert all(len(half) == explain_view.BAR_WIDTH for v in (-10.87, -0.68, 0.0005, 10.87)
               for half in explain_view.bar(v, 10.87))
