"""Where each metric's figure comes from: one provider per metric, ``(store, app_id, now)`` in,
a ``Figure`` out (``evaluation.py``).

The figures are the ones the Statistics API answers for the current UTC day: ``mau`` and
``storage`` are the day's levels, ``bandwidth`` the day's own bytes; ``rollback_rate`` and
``crash_rate`` the rates of the app's newest version in the health answer (SPEC section 8) up to
that day, computed by the health answer's own code from the newest version's counters only.
"""

from __future__ import annotations

from collections.abc import Callable

from otastats.alerts.evaluation import METRICS, Figure
from otastats.health.answer import health_answer
from otastats.health.classes import DEVICES, INSTALLS
from otastats.stats.parser import StatsQuery
from otastats.storage.base import Store
from otastats.timeparse import MICROS_PER_DAY

Provider = Callable[[Store, str, int], Figure]


def _today(store: Store, app_id: str, now: int) -> tuple[int, int, int]:
    """(mau, storage, bandwidth) of the app on the UTC day of ``now``."""
    day = now // MICROS_PER_DAY
    rows = store.metric_rows([app_id], day, day, by_app=True)
    mau_delta, storage_delta, bandwidth = rows.days.get(app_id, {}).get(day, (0, 0, 0))
    return (
        rows.mau_base.get(app_id, 0) + mau_delta,
        rows.storage_base.get(app_id, 0) + storage_delta,
        bandwidth,
    )


def mau(store: Store, app_id: str, now: int) -> Figure:
    return Figure(_today(store, app_id, now)[0], None, None)


def storage(store: Store, app_id: str, now: int) -> Figure:
    return Figure(_today(store, app_id, now)[1], None, None)


def bandwidth(store: Store, app_id: str, now: int) -> Figure:
    return Figure(_today(store, app_id, now)[2], None, None)


def _newest(store: Store, app_id: str, now: int, rate: str, divisor: str) -> Figure:
    """A rate of the newest version, as ``GET .../health`` with ``to`` = today answers it."""
    day = now // MICROS_PER_DAY
    versions = health_answer(store.newest_health_rows(app_id, day), StatsQuery(day, day))[
        "versions"
    ]
    if not versions:
        return Figure(None, None, None)
    newest = versions[-1]
    return Figure(newest["rates"][rate], newest["version"], newest["totals"][divisor])


def rollback_rate(store: Store, app_id: str, now: int) -> Figure:
    return _newest(store, app_id, now, "rollback", INSTALLS)


def crash_rate(store: Store, app_id: str, now: int) -> Figure:
    return _newest(store, app_id, now, "crash", DEVICES)


PROVIDERS: dict[str, Provider] = {
    "rollback_rate": rollback_rate,
    "crash_rate": crash_rate,
    "mau": mau,
    "bandwidth": bandwidth,
    "storage": storage,
}
assert set(PROVIDERS) == set(METRICS)
