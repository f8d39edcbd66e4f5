"""The dashboard's alerts section in a real browser, on the demo server (conftest.py): alerts
created with the real ``otastats alert create`` against the server's database, on the demo's
pinned date, shown as ``GET /alerts/app/:app_id`` answers them."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from tests.cli_helpers import free_port, ok, run_cli
from tests.dashboard.board import SERVER_NOW, Demo, Tab
from tests.dashboard.browser import save_screenshot


def create(demo: Demo, cwd: Path, app_id: str, *options: str, later_s: int = 0) -> str:
    # A closed loopback port: the server's delivery attempts fail there, and are only retried.
    webhook = f"http://127.0.0.1:{free_port()}/deploy-hook"
    when = (SERVER_NOW + timedelta(seconds=later_s)).isoformat()
    made = ok(
        run_cli(
            "alert", "create", "--app", app_id, *options, "--webhook", webhook,
            database=demo.database, cwd=cwd, env={"OTASTATS_FAKE_NOW": when},
        )
    )  # fmt: skip
    alert_id: str = made["alert_id"]
    return alert_id


def test_the_apps_alerts_and_their_state_are_the_apis(tab: Tab, demo: Demo, tmp_path: Path) -> None:
    app_id, other_app = demo.app_ids[0], demo.app_ids[1]
    # The demo's newest release rolls back: above 0 on 1 install, it fires at creation.
    firing = create(demo, tmp_path, app_id, "--metric", "rollback_rate", "--above", "0",
                    "--min-devices", "1")  # fmt: skip
    calm = create(demo, tmp_path, app_id, "--metric", "mau", "--above", "1e12", later_s=1)
    create(demo, tmp_path, other_app, "--metric", "storage", "--above", "0")
    answer = demo.api(f"/alerts/app/{app_id}")["alerts"]
    assert [(a["alert_id"], a["state"]) for a in answer] == [(firing, "firing"), (calm, "ok")]

    tab.sign_in()
    tab.wait_drawn()
    tab.show(f"app:{app_id}", "30")
    assert tab.page.is_visible("#alerts")
    rows = tab.page.eval_on_selector_all(
        "#alerts-table tbody tr",
        "(rows) => rows.map((row) => [row.dataset.alertId, row.dataset.state,"
        " ...[...row.cells].map((cell) => cell.dataset.value), row.cells[0].textContent,"
        " row.cells[3].textContent])",
    )
    assert rows == [
        [
            a["alert_id"], a["state"], a["metric"], str(a["above"]).removesuffix(".0"),
            "" if a["value"] is None else str(a["value"]), a["state"], a["changed_at"] or "",
            a["webhook_origin"], rows[i][8], "Firing" if a["state"] == "firing" else "OK",
        ]
        for i, a in enumerate(answer)
    ]  # fmt: skip
    # The rate names its version, the newest in the health answer.
    today = SERVER_NOW.date().isoformat()
    health = demo.api(f"/statistics/app/{app_id}/health", **{"from": today, "to": today})
    assert rows[0][8] == f"Rollback rate ({health['versions'][-1]['version']})"
    assert answer[0]["version"] == health["versions"][-1]["version"]
    assert rows[1][8] == "Monthly active devices"
    caption = tab.page.text_content("#alerts-caption")
    assert caption == "2 alerts, 1 firing"
    tab.page.locator("#alerts").scroll_into_view_if_needed()
    save_screenshot(tab.page, "dashboard-alerts.png")

    # An app without alerts says so; an organization has no alerts section.
    assert demo.api(f"/alerts/app/{demo.app_ids[2]}")["alerts"] == []
    tab.show(f"app:{demo.app_ids[2]}", "30")
    assert tab.page.eval_on_selector_all("#alerts-table tbody tr", "(rows) => rows.length") == 0
    assert tab.page.text_content("#alerts-caption", timeout=1000) == (
        "No alert watches this app (otastats alert create adds one)."
    )
    tab.show(f"org:{demo.org_id}", "30")
    assert not tab.page.is_visible("#alerts")
    assert tab.errors == []
