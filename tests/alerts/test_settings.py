"""The settings of alerts: read from OTASTATS_* variables, checked at start, given to the
worker."""

from __future__ import annotations

import pytest

from otastats.alerts.retry import RetryPolicy
from otastats.alerts.worker import WorkerSettings, worker_settings
from otastats.config import Settings, SettingsError


def test_the_defaults_are_those_of_the_contract() -> None:
    settings = worker_settings(Settings.from_env({}))
    assert settings == WorkerSettings(
        poll_ms=1_000, timeout_ms=10_000, claim_ms=60_000, evaluate_every_ms=60_000,
        retry=RetryPolicy(first_ms=5_000, max_ms=3_600_000, retry_for_ms=86_400_000),
    )  # fmt: skip


def test_each_variable_reaches_the_worker() -> None:
    env = {
        "OTASTATS_WEBHOOK_TIMEOUT_MS": "500", "OTASTATS_WEBHOOK_RETRY_FIRST_MS": "10",
        "OTASTATS_WEBHOOK_RETRY_MAX_MS": "20", "OTASTATS_WEBHOOK_RETRY_FOR_MS": "30",
        "OTASTATS_ALERT_POLL_MS": "40", "OTASTATS_ALERT_CLAIM_MS": "600",
        "OTASTATS_ALERT_EVALUATE_EVERY_MS": "0",
    }  # fmt: skip
    assert worker_settings(Settings.from_env(env)) == WorkerSettings(
        poll_ms=40, timeout_ms=500, claim_ms=600, evaluate_every_ms=0,
        retry=RetryPolicy(first_ms=10, max_ms=20, retry_for_ms=30),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("env", "error"),
    [
        ({"OTASTATS_ALERT_POLL_MS": "0"}, "OTASTATS_ALERT_POLL_MS=0 cannot be used"),
        ({"OTASTATS_WEBHOOK_TIMEOUT_MS": "0"}, "OTASTATS_WEBHOOK_TIMEOUT_MS=0 cannot be used"),
        ({"OTASTATS_WEBHOOK_RETRY_FIRST_MS": "0"}, "OTASTATS_WEBHOOK_RETRY_FIRST_MS=0 cannot"),
        ({"OTASTATS_WEBHOOK_RETRY_MAX_MS": "-1"}, "OTASTATS_WEBHOOK_RETRY_MAX_MS='-1' is negat"),
        ({"OTASTATS_ALERT_CLAIM_MS": "soon"}, "OTASTATS_ALERT_CLAIM_MS='soon' is not a whole"),
        ({"OTASTATS_ALERT_CLAIM_MS": "10000"}, "OTASTATS_ALERT_CLAIM_MS must be longer than"),
    ],
)
def test_unusable_values_are_refused_saying_how_to_fix_them(
    env: dict[str, str], error: str
) -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.from_env(env)
    assert str(raised.value).startswith(error)
