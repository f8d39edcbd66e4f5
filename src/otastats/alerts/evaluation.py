"""The evaluation of an alert, pure: an alert's rule, its state and a figure in, a change out.

A figure is ``(value, version, divisor)``: for a rate, ``divisor`` is the number of devices it is
a share of (installs for the rollback rate, devices for the crash rate) and ``version`` the
version it is about; for a level (mau, bandwidth, storage), both are None.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import orjson

from otastats.timeparse import micros_to_datetime

RATE_METRICS = frozenset({"rollback_rate", "crash_rate"})
METRICS = ("rollback_rate", "crash_rate", "mau", "bandwidth", "storage")
DEFAULT_MIN_DEVICES = 50


class Figure(NamedTuple):
    value: float | None
    """None when there is nothing to divide by."""
    version: str | None
    divisor: int | None


@dataclass(frozen=True, slots=True)
class Rule:
    metric: str
    threshold: float
    min_devices: int = DEFAULT_MIN_DEVICES


def is_above(rule: Rule, figure: Figure) -> bool | None:
    """Whether the figure is strictly above the threshold; None when a rate rests on fewer
    devices than ``min_devices`` (or none): too few to decide either way."""
    too_few = figure.divisor is None or figure.divisor < rule.min_devices
    if rule.metric in RATE_METRICS and too_few:
        return None
    if figure.value is None or math.isnan(figure.value):
        return None
    return figure.value > rule.threshold


def change(firing: bool, rule: Rule, figure: Figure) -> bool | None:
    """The alert's new state (True: firing, False: resolved) when the figure changes it, else
    None. A figure too thin to decide keeps the state as it is: an alert fires once its divisor
    reaches ``min_devices``, and resolves only on a figure that shows the rate is back down."""
    above = is_above(rule, figure)
    if above is None or above == firing:
        return None
    return above


def call_body(
    alert_id: str, app_id: str, rule: Rule, figure: Figure, firing: bool, at: int
) -> bytes:
    """The JSON body of the webhook call of a state change, exactly what is sent and signed."""
    return orjson.dumps(
        {
            "alert_id": alert_id,
            "app_id": app_id,
            "metric": rule.metric,
            "version": figure.version,
            "value": figure.value,
            "threshold": rule.threshold,
            "state": "firing" if firing else "resolved",
            "at": micros_to_datetime(at).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        }
    )
