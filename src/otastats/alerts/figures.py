"""Where each metric's figure comes from: one provider per metric, ``(store, app_id, now)`` in,
a ``Figure`` out (``evaluation.py``).

The figures are the ones the Statistics API answers for the current UTC day: ``mau`` and
``storage`` are the day's levels, ``bandwidth`` the day's own bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from otastats.alerts.evaluation import METRICS, Figure
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


PROVIDERS: dict[str, Provider] = {
    "mau": mau,
    "bandwidth": bandwidth,
    "storage": storage,
    # rollback_rate and crash_rate (of the app's newest version, the divisor its installs or
    # devices) come from the update health state: each is one entry here once it is kept.
}
assert set(PROVIDERS) <= set(METRICS)


def unavailable(metric: str, providers: Mapping[str, Provider] = PROVIDERS) -> str:
    """The error for a metric of the contract that this build cannot watch yet."""
    available = ", ".join(m for m in METRICS if m in providers)
    return (
        f"metric: {metric!r} is not available yet (this otastats does not keep update health"
        f" figures); available: {available}"
    )
