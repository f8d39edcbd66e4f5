"""`otastats plugin create|list|revoke`: the plugin URLs of an app, for the command line."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

import typer

from otastats.cli import DatabaseOption, JsonFlag, _now, _run, _settings
from otastats.plugin import tokens
from otastats.storage import Store

plugin_cli = typer.Typer(
    help="URLs for the Capgo updater plugin (statsUrl, updateUrl).", no_args_is_help=True
)


@plugin_cli.command("create")
def plugin_create(
    app_id: Annotated[str, typer.Argument(help="The app the URLs report for.")],
    base_url: Annotated[
        str | None,
        typer.Option("--base-url", help="Where devices reach otastats ($OTASTATS_PUBLIC_URL)."),
    ] = None,
    upstream: Annotated[
        str | None,
        typer.Option("--upstream", help="An update server to forward update checks to."),
    ] = None,
    database: DatabaseOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Create the statsUrl and updateUrl of an app; their token is shown only here."""
    base = base_url or _settings(database).public_url

    def action(store: Store) -> dict[str, Any]:
        made = tokens.create_token(store, app_id, _now(), base_url=base, upstream=upstream)
        return dataclasses.asdict(made)

    _run(
        as_json,
        database,
        action,
        lambda r: (
            f"token id    {r['token_id']}\nstatsUrl    {r['stats_url']}\n"
            f"updateUrl   {r['updates_url']}\n(the URLs are not shown again)"
        ),
    )


@plugin_cli.command("list")
def plugin_list(
    app_id: Annotated[str, typer.Argument(help="The app.")],
    database: DatabaseOption = None,
    as_json: JsonFlag = False,
) -> None:
    """List the plugin URL tokens of an app (never the tokens themselves)."""

    def action(store: Store) -> dict[str, Any]:
        return {"tokens": tokens.list_tokens(store, app_id)}

    _run(
        as_json,
        database,
        action,
        lambda r: (
            "\n".join(
                f"{t['token_id']}  {t['created_at']}  {'revoked' if t['revoked'] else 'active'}"
                for t in r["tokens"]
            )
            or "no plugin URLs"
        ),
    )


@plugin_cli.command("revoke")
def plugin_revoke(
    token_id: Annotated[str, typer.Argument(help="The token id printed by 'plugin create'.")],
    database: DatabaseOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Revoke the plugin URLs of a token, at once."""

    def action(store: Store) -> dict[str, Any]:
        tokens.revoke_token(store, token_id, _now())
        return {"token_id": token_id, "revoked": True}

    _run(as_json, database, action, lambda r: f"revoked plugin token {token_id}")
