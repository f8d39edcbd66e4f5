"""``otastats serve``: the HTTP API, with the alerts' delivery worker, until the process stops."""

from __future__ import annotations

import gc
import sys
from typing import Annotated

import typer

from otastats.cli import (
    BadInput,
    DatabaseOption,
    JsonFlag,
    _demo_output,
    _demo_text,
    _emit,
    _open,
    _settings,
    cli,
)
from otastats.config import SettingsError
from otastats.timeparse import datetime_to_micros


@cli.command("serve")
def serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8000,
    demo_data: Annotated[
        bool,
        typer.Option(
            "--demo", help="Load demo data into an empty database and print a read key first."
        ),
    ] = False,
    database: DatabaseOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Serve the HTTP API."""
    from otastats.alerts.worker import start_for_server
    from otastats.app import create_app
    from otastats.context import clock_for
    from otastats.http_server import run_server

    settings = _settings(database)
    clock = clock_for(settings)
    if settings.fake_now is not None:
        # A test and demo aid: an operator who finds it set by mistake is told at once.
        sys.stderr.write(f"warning: OTASTATS_FAKE_NOW is set: the clock starts at {clock()}\n")
    store = _open(database)
    alerts, worker = start_for_server(settings, store, lambda: datetime_to_micros(clock()))
    try:
        app = create_app(settings, store=store, clock=clock, alerts=alerts)
    except SettingsError as exc:
        worker.stop()
        store.close()
        raise BadInput(str(exc)) from None
    if demo_data:
        from otastats.admin.demo_key import demo_key_for

        found = demo_key_for(store, datetime_to_micros(clock()))
        if found is None:
            _emit(as_json, {"demo": None}, "the database holds other data: no demo key")
        else:
            output = _demo_output(*found, base=f"http://{host}:{port}", today=clock().date())
            _emit(as_json, output, _demo_text(output))
        sys.stdout.flush()
    elif as_json:
        _emit(True, {"url": f"http://{host}:{port}"}, "")
    # The objects made at start (the framework, the routes, the schemas) live as long as the
    # process: moved out of the collector's sight, a full collection during a request no
    # longer walks them all (it did, and added ~20 ms to some large answers).
    gc.collect()
    gc.freeze()
    try:
        run_server(app, host, port, settings)
    finally:
        worker.stop()
        alerts.close()
        store.close()
