"""The answers of the plugin URLs that are not a success, in the plugin ecosystem's shape
``{"error": "<code>", "message": "<what is wrong>"}`` (not the ``{"status", "error"}`` of the
rest of the API: the plugin and the servers it talks to use this one)."""

from __future__ import annotations

import orjson
from starlette.responses import Response


class PluginError(Exception):
    def __init__(
        self, http_status: int, code: str, message: str, *, retry_after: int | None = None
    ) -> None:
        super().__init__(message)
        self.http_status = http_status
        self.code = code
        self.message = message
        self.retry_after = retry_after

    def response(self) -> Response:
        headers = {} if self.retry_after is None else {"Retry-After": str(self.retry_after)}
        return Response(
            orjson.dumps({"error": self.code, "message": self.message}),
            status_code=self.http_status,
            media_type="application/json",
            headers=headers,
        )


UNKNOWN_URL = PluginError(
    404,
    "unknown_plugin_url",
    "This plugin URL is not known: it may have been revoked; create one with"
    " `otastats plugin create APP_ID`",
)
"""One answer for every unknown, malformed or revoked token and every deleted app, so that
the answer tells nothing about which tokens exist."""


def invalid_json(message: str) -> PluginError:
    return PluginError(400, "invalid_json_body", message)


def invalid_event(message: str) -> PluginError:
    return PluginError(400, "invalid_event", message)


def too_large(message: str) -> PluginError:
    return PluginError(413, "payload_too_large", message)


def too_many(message: str, retry_after: int) -> PluginError:
    return PluginError(429, "too_many_requests", message, retry_after=max(1, retry_after))


def upstream_unavailable(message: str) -> PluginError:
    return PluginError(502, "upstream_unavailable", message)
