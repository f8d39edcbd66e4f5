"""The ``otastats alert`` commands, run as users run them, and ``otastats ingest`` evaluating
the alerts of the apps it loads."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.cli_helpers import CliResult, db_url, failed, ok, run_cli

APP = "com.acme.app"


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = db_url(tmp_path / "otastats.db")
    org = ok(run_cli("org", "create", "--name", "Acme", database=url, cwd=tmp_path))["org_id"]
    ok(run_cli("app", "create", APP, "--org", org, database=url, cwd=tmp_path))
    return url


def alert(db: str, cwd: Path, *args: str, json_flag: bool = True) -> CliResult:
    return run_cli("alert", *args, database=db, cwd=cwd, json_flag=json_flag)


def create_args(**options: str) -> list[str]:
    values = {"app": APP, "metric": "storage", "above": "50", "webhook": "https://h.test/x"}
    values.update(options)
    return ["create", *(arg for name, value in values.items() for arg in (f"--{name}", value))]


def test_create_list_deliveries_delete(db: str, tmp_path: Path) -> None:
    made = ok(alert(db, tmp_path, *create_args()))
    assert set(made) == {"alert_id", "secret"}
    assert made["secret"].startswith("whsec_")
    listed = ok(alert(db, tmp_path, "list"))
    [shown] = listed["alerts"]
    assert shown["alert_id"] == made["alert_id"]
    assert (shown["metric"], shown["above"], shown["state"]) == ("storage", 50.0, "ok")
    assert shown["webhook"] == "https://h.test/x"
    assert made["secret"] not in json.dumps(listed)
    assert ok(alert(db, tmp_path, "list", "--app", "com.other")) == {"alerts": []}
    log = ok(alert(db, tmp_path, "deliveries", made["alert_id"]))
    assert log == {"alert_id": made["alert_id"], "pending": 0, "attempts": []}
    deleted = ok(alert(db, tmp_path, "delete", made["alert_id"]))
    assert deleted == {"alert_id": made["alert_id"], "deleted": True}
    assert failed(alert(db, tmp_path, "delete", made["alert_id"])) == (
        f"alert: no alert {made['alert_id']!r}"
    )


def test_the_human_output_shows_the_secret_once(db: str, tmp_path: Path) -> None:
    result = alert(db, tmp_path, *create_args(), json_flag=False)
    assert result.code == 0
    assert "(the secret is not shown again)" in result.stdout
    listing = alert(db, tmp_path, "list", json_flag=False).stdout
    assert "storage > 50  ok  https://h.test/x" in listing


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"metric": "dau"}, "metric: 'dau' is not a metric"),
        ({"app": "com.nope"}, "app: no app 'com.nope'"),
        ({"above": "nan"}, "above: 'nan' must be a finite number >= 0"),
        ({"above": "-1"}, "above: '-1' must be a finite number >= 0"),
        ({"webhook": "file:///etc/passwd"}, "webhook: 'file:///etc/passwd' is not an http(s) URL"),
        ({"min-devices": "10"}, "min-devices: applies only to rollback_rate and crash_rate"),
    ],
)
def test_bad_alerts_are_refused(
    db: str, tmp_path: Path, options: dict[str, str], error: str
) -> None:
    assert failed(alert(db, tmp_path, *create_args(**options))).startswith(error)
    assert ok(alert(db, tmp_path, "list")) == {"alerts": []}


def test_otastats_ingest_evaluates_the_alerts_of_what_it_loads(db: str, tmp_path: Path) -> None:
    made = ok(alert(db, tmp_path, *create_args()))
    stamp = datetime.now(UTC).isoformat()
    event = {"type": "bundle_created", "app_id": APP, "version_name": "1.0", "bytes": 100,
             "timestamp": stamp}  # fmt: skip
    path = tmp_path / "events.ndjson"
    path.write_text(json.dumps(event) + "\n")
    ok(run_cli("ingest", str(path), database=db, cwd=tmp_path))
    [shown] = ok(alert(db, tmp_path, "list"))["alerts"]
    assert shown["state"] == "firing"
    # Queued for the server's delivery worker: pending, not yet attempted.
    log = ok(alert(db, tmp_path, "deliveries", made["alert_id"]))
    assert log == {"alert_id": made["alert_id"], "pending": 1, "attempts": []}


def test_otastats_ingest_fires_a_rate_alert_on_the_newest_version(db: str, tmp_path: Path) -> None:
    """A crash-rate alert made with the command line, then ``otastats ingest`` of a release on
    which 2 of 3 devices crash: it fires, about that version."""
    made = ok(alert(db, tmp_path, *create_args(**{
        "metric": "crash_rate", "above": "0.5", "min-devices": "3",
    })))  # fmt: skip
    stamp = datetime.now(UTC).isoformat()
    events = [
        {"type": "action", "app_id": APP, "device_id": device, "action": action,
         "version_name": "2.0.0", "timestamp": stamp, "platform": "android"}
        for device, action in (("a", "set"), ("b", "set"), ("c", "set"), ("a", "app_crash"),
                               ("b", "app_crash"))
    ]  # fmt: skip
    path = tmp_path / "events.ndjson"
    path.write_text("".join(json.dumps(event) + "\n" for event in events))
    [shown] = ok(alert(db, tmp_path, "list"))["alerts"]
    assert (shown["metric"], shown["min_devices"], shown["state"]) == ("crash_rate", 3, "ok")
    ok(run_cli("ingest", str(path), database=db, cwd=tmp_path))
    [shown] = ok(alert(db, tmp_path, "list"))["alerts"]
    assert shown["state"] == "firing"
    log = ok(alert(db, tmp_path, "deliveries", made["alert_id"]))
    assert log["pending"] == 1
