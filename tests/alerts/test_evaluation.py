"""The pure evaluation: figures in, state changes out (``--min-devices`` included)."""

from __future__ import annotations

import orjson
import pytest

from otastats.alerts.evaluation import Figure, Rule, call_body, change, is_above


def rate(value: float | None, divisor: int, version: str = "1.7.0") -> Figure:
    return Figure(value, version, divisor)


@pytest.mark.parametrize(
    ("value", "above"), [(1001, True), (1000, False), (999, False), (0, False)]
)
def test_a_level_fires_strictly_above_its_threshold(value: int, above: bool) -> None:
    assert is_above(Rule("mau", 1000.0), Figure(value, None, None)) is above


def test_a_level_fires_then_resolves_once_each() -> None:
    rule = Rule("bandwidth", 100.0)
    states, firing = [], False
    for value in (50, 101, 150, 100, 20, 101):
        new = change(firing, rule, Figure(value, None, None))
        if new is not None:
            firing = new
            states.append((value, new))
    assert states == [(101, True), (100, False), (101, True)]


def test_a_rate_below_min_devices_changes_nothing() -> None:
    rule = Rule("crash_rate", 0.05, min_devices=50)
    # 10 crashes of 49 devices: far above, but on too few devices to decide.
    assert is_above(rule, rate(10 / 49, 49)) is None
    assert change(False, rule, rate(10 / 49, 49)) is None
    # The 50th device: the same kind of rate now fires.
    assert change(False, rule, rate(10 / 50, 50)) is True
    # A firing alert does not resolve on a thin figure (a new version with 3 devices)...
    assert change(True, rule, rate(0.0, 3, "1.7.1")) is None
    # ... but does on one with enough devices.
    assert change(True, rule, rate(0.01, 60, "1.7.1")) is False


def test_min_devices_applies_to_both_rates_and_zero_allows_any_divisor() -> None:
    for metric in ("rollback_rate", "crash_rate"):
        assert change(False, Rule(metric, 0.1, min_devices=5), rate(0.5, 4)) is None
        assert change(False, Rule(metric, 0.1, min_devices=5), rate(0.5, 5)) is True
        assert change(False, Rule(metric, 0.1, min_devices=0), rate(0.5, 1)) is True


def test_a_rate_without_a_divisor_or_value_decides_nothing() -> None:
    rule = Rule("rollback_rate", 0.0, min_devices=0)
    assert is_above(rule, rate(None, 0)) is None
    assert is_above(rule, Figure(0.5, "1.0", None)) is None
    assert is_above(rule, rate(float("nan"), 100)) is None


def test_min_devices_does_not_apply_to_levels() -> None:
    # A level's figure has no divisor: it is never too thin.
    assert change(False, Rule("storage", 10.0, min_devices=50), Figure(11, None, None)) is True


def test_the_body_holds_the_fields_of_the_contract_and_nothing_else() -> None:
    body = call_body(
        "a1", "com.x", Rule("crash_rate", 0.05), rate(0.25, 80), True, 1_710_504_000_123_456
    )
    assert orjson.loads(body) == {
        "alert_id": "a1",
        "app_id": "com.x",
        "metric": "crash_rate",
        "version": "1.7.0",
        "value": 0.25,
        "threshold": 0.05,
        "state": "firing",
        "at": "2024-03-15T12:00:00.123Z",
    }
    resolved = orjson.loads(
        call_body("a1", "com.x", Rule("mau", 5.0), Figure(5, None, None), False, 0)
    )
    assert resolved["state"] == "resolved"
    assert resolved["value"] == 5
    assert resolved["version"] is None
    assert resolved["at"] == "1970-01-01T00:00:00.000Z"
