"""HTTP routes of the plugin URLs: `POST /plugin/:token/stats` (and its GET reachability check)
and `POST /plugin/:token/updates`. Each finds the token's app and counts the request against
the rate limit before it reads the body; errors answer in the plugin's shape."""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, FastAPI, Path, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from otastats.auth.dependencies import Context
from otastats.context import ServiceContext
from otastats.errors import TooManyRequests
from otastats.ingest.rules import EventError
from otastats.plugin import errors, schemas
from otastats.plugin.body import events_of, parse_body, read_body
from otastats.plugin.service import record_stats, record_update_check
from otastats.plugin.tokens import resolve
from otastats.plugin.upstream import Upstream, UpstreamFailed
from otastats.schemas import Responses
from otastats.storage.records import PluginToken

router = APIRouter(tags=["Capgo updater plugin"])
Token = Annotated[str, Path(description=schemas.TOKEN_DESCRIPTION)]

_OK = b'{"status":"ok"}'
_UP_TO_DATE = orjson.dumps(
    {
        "error": "no_new_version_available",
        "message": "No new version available",
        "kind": "up_to_date",
    }
)
_COMMON: Responses = {
    404: schemas.UNKNOWN_URL,
    413: schemas.TOO_LARGE,
    429: schemas.TOO_MANY,
    500: schemas.INTERNAL,
}


def install(app: FastAPI, context: ServiceContext) -> None:
    """Add the routes, the answer of their errors, and the client of upstream servers."""
    app.state.plugin_upstream = Upstream(context.settings.upstream_timeout_ms)

    async def on_plugin_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, errors.PluginError)
        return exc.response()

    app.add_exception_handler(errors.PluginError, on_plugin_error)
    app.include_router(router)


def _json(body: bytes, status: int = 200) -> Response:
    return Response(body, status_code=status, media_type="application/json")


def _client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def _token(request: Request, context: ServiceContext, token: str) -> PluginToken:
    """The live token of the URL, counted against the rate limit; before any body is read."""
    address = _client_address(request)

    def check() -> PluginToken:
        found = resolve(context.store, token)
        if found is None:
            raise errors.UNKNOWN_URL
        try:
            context.limits.hit_plugin(found.token_id, address)
        except TooManyRequests as exc:
            raise errors.too_many(exc.error, exc.retry_after) from None
        return found

    return await run_in_threadpool(check)


@router.post(
    "/plugin/{token}/stats",
    summary="The plugin's statsUrl: one event or an array of events",
    openapi_extra={"requestBody": schemas.stats_body()},
    responses={
        200: {
            "model": schemas.Ok | schemas.BatchOk,
            "description": "One event accepted (`{status}`), or an array's result per event",
        },
        400: schemas.plugin_error(
            "one event, rejected (`invalid_event`, the message begins with the field); a body"
            " that is not JSON, or neither an object nor an array (`invalid_json_body`)",
            "invalid_event",
            "invalid_json_body",
        ),
        **_COMMON,
    },
)
async def post_stats(token: Token, request: Request, context: Context) -> Response:
    found = await _token(request, context, token)
    raw_events, is_array = events_of(await parse_body(await read_body(request)))
    received = context.now()
    outcome = await run_in_threadpool(
        record_stats, context.writes, found.app_id, raw_events, received
    )
    if not is_array:
        if outcome.errors:
            raise errors.invalid_event(outcome.errors[0])
        return _json(_OK)
    results = [
        {"status": "ok", "index": index}
        if index not in outcome.errors
        else {
            "status": "error",
            "index": index,
            "error": "invalid_event",
            "message": outcome.errors[index],
        }
        for index in range(len(raw_events))
    ]
    return _json(orjson.dumps({"status": "ok", "results": results}))


@router.get(
    "/plugin/{token}/stats",
    summary="The plugin's reachability check of its statsUrl",
    responses={200: {"model": schemas.Ok, "description": "A valid token"}, **_COMMON},
)
async def get_stats(token: Token, request: Request, context: Context) -> Response:
    await _token(request, context, token)
    return _json(_OK)


@router.post(
    "/plugin/{token}/updates",
    summary="The plugin's updateUrl: a check-in, then the update server's answer",
    openapi_extra={"requestBody": schemas.updates_body()},
    responses={
        200: {
            "model": schemas.UpToDate,
            "description": "No update (`kind: up_to_date`); with `--upstream`, the update"
            " server's answer, whatever its status, as it is",
        },
        400: schemas.plugin_error(
            "a body that is not one JSON object, or that the `/stats` rules reject; it is not"
            " forwarded",
            "invalid_json_body",
        ),
        502: schemas.plugin_error(
            "with `--upstream`: the update server failed or took longer than"
            " `OTASTATS_UPSTREAM_TIMEOUT_MS`",
            "upstream_unavailable",
        ),
        "default": {
            "description": "With `--upstream`: the update server's answer (any status, body and"
            " content type), as it is"
        },
        **_COMMON,
    },
)
async def post_updates(token: Token, request: Request, context: Context) -> Response:
    found = await _token(request, context, token)
    body = await read_body(request)
    raw = await parse_body(body)
    received = context.now()
    try:
        await run_in_threadpool(record_update_check, context.writes, found.app_id, raw, received)
    except EventError as exc:
        raise errors.invalid_json(str(exc)) from None
    if found.upstream is None:
        return _json(_UP_TO_DATE)
    upstream: Upstream = request.app.state.plugin_upstream
    try:
        answer = await upstream.forward(found.upstream, bytes(body), dict(request.headers))
    except UpstreamFailed as exc:
        raise errors.upstream_unavailable(str(exc)) from None
    # The content type as the update server wrote it (a media_type would gain a charset).
    headers = {} if answer.content_type is None else {"content-type": answer.content_type}
    return Response(answer.body, status_code=answer.status, headers=headers)
