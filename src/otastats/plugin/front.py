"""The ASGI front of the plugin URLs: it answers their operations before the framework does.

The plugin URLs take most of the requests of a deployment, each small: the framework's routing,
dependency solving and error layers cost more CPU than the work of such a request. This front
recognises the three operations by their path and method (``GET`` and ``POST
/plugin/:token/stats``, ``POST /plugin/:token/updates``) and answers them with
otastats.plugin.handlers; any other request, ``/plugin/`` paths with other methods included (405),
goes on to the application, whose routes describe the operations in the OpenAPI document.
Unexpected errors get the 500 answer of every route (otastats.http_errors).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from otastats.http_errors import InternalErrorMiddleware
from otastats.plugin.errors import PluginError
from otastats.plugin.handlers import PluginUrls

Handler = Callable[[PluginUrls, Request, str], Awaitable[Response]]
_PREFIX = "/plugin/"
_OPERATIONS: dict[tuple[str, str], Handler] = {
    ("GET", "stats"): PluginUrls.get_stats,
    ("POST", "stats"): PluginUrls.post_stats,
    ("POST", "updates"): PluginUrls.post_updates,
}


def _operation(scope: Scope) -> tuple[Handler, str] | None:
    """The handler and token of a plugin URL operation, else None."""
    path: str = scope["path"]
    if not path.startswith(_PREFIX):
        return None
    token, _, kind = path[len(_PREFIX) :].partition("/")
    handler = _OPERATIONS.get((scope["method"], kind))
    if handler is None or not token:
        return None
    return handler, token


class PluginFront:
    """Pure ASGI middleware, outermost of the application's own."""

    def __init__(self, app: ASGIApp, plugin: PluginUrls) -> None:
        self.app = app
        self.plugin = plugin
        self.guarded = InternalErrorMiddleware(self.answer)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # The prefix first: the other requests pay one string comparison.
        if (
            scope["type"] == "http"
            and scope["path"].startswith(_PREFIX)
            and _operation(scope) is not None
        ):
            await self.guarded(scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def answer(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = _operation(scope)
        assert found is not None
        handler, token = found
        try:
            response = await handler(self.plugin, Request(scope, receive), token)
        except PluginError as exc:
            response = exc.response()
        await response(scope, receive, send)
