"""The routes of the plugin URLs: `POST /plugin/:token/stats` (and its GET reachability check)
and `POST /plugin/:token/updates`, as the OpenAPI document describes them.

Their requests are answered before they reach these routes, by the ASGI front
(otastats.plugin.front), with the same handlers (otastats.plugin.handlers); the routes answer
what the front passes on (another method on these paths: 405) and any request to an application
built without the front. Each handler finds the token's app and counts the request against the
rate limit before it reads the body; errors answer in the plugin's shape.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, FastAPI, Path, Request
from starlette.responses import Response

from otastats.context import ServiceContext
from otastats.plugin import errors, schemas
from otastats.plugin.front import PluginFront
from otastats.plugin.handlers import PluginUrls
from otastats.schemas import Responses

router = APIRouter(tags=["Capgo updater plugin"])
Token = Annotated[str, Path(description=schemas.TOKEN_DESCRIPTION)]

_COMMON: Responses = {
    404: schemas.UNKNOWN_URL,
    413: schemas.TOO_LARGE,
    429: schemas.TOO_MANY,
    500: schemas.INTERNAL,
}


def install(app: FastAPI, context: ServiceContext) -> None:
    """Add the front, the routes, and the answer of their errors (after the error handlers of
    the application: the front is then the outermost of its middleware)."""
    app.state.plugin = plugin = PluginUrls.of(context)

    async def on_plugin_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, errors.PluginError)
        return exc.response()

    app.add_exception_handler(errors.PluginError, on_plugin_error)
    app.include_router(router)
    app.add_middleware(PluginFront, plugin=plugin)


def _plugin(request: Request) -> PluginUrls:
    plugin: PluginUrls = request.app.state.plugin
    return plugin


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
async def post_stats(token: Token, request: Request) -> Response:
    return await _plugin(request).post_stats(request, token)


@router.get(
    "/plugin/{token}/stats",
    summary="The plugin's reachability check of its statsUrl",
    responses={200: {"model": schemas.Ok, "description": "A valid token"}, **_COMMON},
)
async def get_stats(token: Token, request: Request) -> Response:
    return await _plugin(request).get_stats(request, token)


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
async def post_updates(token: Token, request: Request) -> Response:
    return await _plugin(request).post_updates(request, token)
