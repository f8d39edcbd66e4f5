"""Rendering the error family as JSON, including the 500 answer for unexpected failures."""

from __future__ import annotations

import logging
import uuid

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.responses import Response
from starlette.routing import Match, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from otastats.errors import InvalidBody, OtastatsError, TooManyRequests
from otastats.plugin.redaction import redact

log = logging.getLogger("otastats.errors")

_INTERNAL_STATUS = (
    ("/statistics/app", "Cannot get app statistics"),
    ("/statistics/org", "Cannot get organization statistics"),
    ("/statistics/user", "Cannot get user statistics"),
    ("/ingest", "Cannot ingest events"),
    ("/alerts", "Cannot get alerts"),
    ("/plugin", "Cannot record plugin events"),
)


def error_response(error: OtastatsError) -> Response:
    headers = {}
    if isinstance(error, TooManyRequests):
        headers["Retry-After"] = str(error.retry_after)
    return Response(
        orjson.dumps(error.body()),
        status_code=error.http_status,
        media_type="application/json",
        headers=headers,
    )


def install_error_handlers(app: FastAPI) -> None:
    async def on_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, OtastatsError)
        return error_response(exc)

    async def on_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(part) for part in first.get("loc", ())[1:]) or "request"
        return error_response(InvalidBody(f"{where}: {first.get('msg', 'is not valid')}"))

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if exc.status_code == 405:
            error = OtastatsError(
                f"{request.method} is not allowed on {redact(request.url.path)}",
                status="Method not allowed",
            )
        else:
            error = OtastatsError(f"No such path: {redact(request.url.path)}", status="Not found")
        error.http_status = exc.status_code
        response = error_response(error)
        if exc.headers:
            response.headers.update(exc.headers)
        if exc.status_code == 405:
            # Starlette names the methods of the first route of the path only; a path served
            # by several routes (one a method) allows all of theirs.
            response.headers["Allow"] = ", ".join(_allowed_methods(request))
        return response

    app.add_exception_handler(OtastatsError, on_error)
    app.add_exception_handler(HTTPException, on_http)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_middleware(InternalErrorMiddleware)


def _allowed_methods(request: Request) -> list[str]:
    methods: set[str] = set()
    for route in request.app.routes:
        if (
            isinstance(route, Route)
            and route.methods
            and route.matches(request.scope)[0] != Match.NONE
        ):
            methods |= route.methods
    return sorted(methods)


class InternalErrorMiddleware:
    """Answers an unexpected exception with a generic 500 whose error id is also logged."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except ClientDisconnect:
            # The client went away before its body was all sent: nothing to answer, no fault.
            client = scope.get("client") or ("unknown", 0)
            log.info(
                "%s:%s went away before its request body was complete (%s %s)",
                *client,
                scope["method"],
                scope["path"],
            )
        except Exception:
            if started:
                raise
            error_id = uuid.uuid4().hex[:16]
            log.exception(
                "internal error %s on %s %s", error_id, scope["method"], redact(scope["path"])
            )
            path: str = scope["path"]
            status = next(
                (text for prefix, text in _INTERNAL_STATUS if path.startswith(prefix)),
                "Internal error",
            )
            body = OtastatsError(
                f"An internal error occurred; quote error id {error_id} when reporting it",
                status=status,
            )
            await error_response(body)(scope, receive, send)
