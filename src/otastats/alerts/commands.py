"""The ``otastats alert`` commands: create, list, delete, and the delivery log."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import typer

from otastats.alerts import service
from otastats.cli import DatabaseOption, JsonFlag, _now, _run, cli
from otastats.storage import Store
from otastats.storage.alerts_base import alert_store_for

alert_cli = typer.Typer(
    help="Alerts: webhook calls when an app's figure crosses a threshold.", no_args_is_help=True
)


def _with_alerts(action: Callable[[Store, Any], dict[str, Any]]) -> Callable[[Store], Any]:
    def run(store: Store) -> dict[str, Any]:
        alerts = alert_store_for(store)
        try:
            return action(store, alerts)
        finally:
            alerts.close()

    return run


@alert_cli.command("create")
def alert_create(
    app: Annotated[str, typer.Option("--app", help="The app id.")],
    metric: Annotated[
        str, typer.Option("--metric", help="rollback_rate, crash_rate, mau, bandwidth, storage.")
    ],
    above: Annotated[str, typer.Option("--above", help="Fire when the figure is above this.")],
    webhook: Annotated[str, typer.Option("--webhook", help="The http(s) URL to call.")],
    min_devices: Annotated[
        int | None,
        typer.Option("--min-devices", help="A rate fires once its divisor reaches this (50)."),
    ] = None,
    database: DatabaseOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Create an alert; its secret (to verify the calls' signatures) is shown only here."""

    def action(store: Store, alerts: Any) -> dict[str, Any]:
        created = service.create_alert(
            store,
            alerts,
            app_id=app,
            metric=metric,
            above=above,
            min_devices=min_devices,
            webhook=webhook,
            now=_now(),
        )
        return {"alert_id": created.alert_id, "secret": created.secret}

    _run(
        as_json,
        database,
        _with_alerts(action),
        lambda r: (
            f"alert id {r['alert_id']}\nsecret   {r['secret']}\n(the secret is not shown again)"
        ),
    )


@alert_cli.command("list")
def alert_list(
    app: Annotated[str | None, typer.Option("--app", help="Only this app's alerts.")] = None,
    database: DatabaseOption = None,
    as_json: JsonFlag = False,
) -> None:
    """List the alerts (of one app), with their state."""
    _run(
        as_json,
        database,
        _with_alerts(lambda store, alerts: {"alerts": service.list_alerts(alerts, app)}),
        lambda r: (
            "\n".join(
                f"{a['alert_id']}  {a['app_id']}  {a['metric']} > {a['above']:g}  {a['state']}"
                f"  {a['webhook']}"
                for a in r["alerts"]
            )
            or "no alerts"
        ),
    )


@alert_cli.command("delete")
def alert_delete(
    alert_id: Annotated[str, typer.Argument(help="The alert id printed by 'alert create'.")],
    database: DatabaseOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Delete an alert, with its pending calls and its delivery log."""

    def action(store: Store, alerts: Any) -> dict[str, Any]:
        service.delete_alert(alerts, alert_id)
        return {"alert_id": alert_id, "deleted": True}

    _run(as_json, database, _with_alerts(action), lambda r: f"deleted alert {alert_id}")


@alert_cli.command("deliveries")
def alert_deliveries(
    alert_id: Annotated[str, typer.Argument(help="The alert id.")],
    database: DatabaseOption = None,
    as_json: JsonFlag = False,
) -> None:
    """The delivery log of an alert: every attempt, its time, HTTP status and error."""
    _run(
        as_json,
        database,
        _with_alerts(lambda store, alerts: service.deliveries(alerts, alert_id)),
        lambda r: "\n".join(
            [f"{r['pending']} call(s) pending"]
            + [
                f"call {a['call']} attempt {a['attempt']}  {a['at']}"
                f"  {a['http_status'] if a['http_status'] is not None else '-'}"
                f"  {a['error'] or 'delivered'}"
                for a in r["attempts"]
            ]
        ),
    )


cli.add_typer(alert_cli, name="alert")
