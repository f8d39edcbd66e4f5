"""Shapes shared by every endpoint's OpenAPI description: the error body, its statuses, and the
headers that carry the API key."""

from __future__ import annotations

from typing import Any

from fastapi import Security
from fastapi.params import Depends
from fastapi.security import APIKeyHeader
from pydantic import BaseModel, ConfigDict, Field

from otastats.errors import (
    HeadersTooLarge,
    InvalidApiKey,
    InvalidBody,
    PayloadTooLarge,
    RequestTimeout,
    TooManyRequests,
)

Responses = dict[int | str, dict[str, Any]]


class ErrorBody(BaseModel):
    """Every error answer."""

    model_config = ConfigDict(extra="forbid")

    status: str = Field(description="A short sentence that depends only on the kind of error")
    error: str = Field(description="What exactly is wrong; for bad input, the parameter at fault")


def error_response(status: str, description: str) -> dict[str, Any]:
    """One error answer, whose ``status`` sentence is always ``status``."""
    return {
        "model": ErrorBody,
        "description": f"`{status}`: {description}",
        # Merged with the reference to ErrorBody: the sentence is fixed for this HTTP status here.
        "content": {"application/json": {"schema": {"properties": {"status": {"const": status}}}}},
    }


INVALID_KEY = error_response(InvalidApiKey.status, "no key, or an unknown, revoked or expired key")
INVALID_PARAMETER = error_response(
    InvalidBody.status, "a missing or malformed parameter; `error` names it and the rule"
)
PAYLOAD_TOO_LARGE = error_response(
    PayloadTooLarge.status, "a body over 10,485,760 bytes, or with more than 10,000 events"
)
TOO_MANY_REQUESTS = {
    **error_response(
        TooManyRequests.status,
        "over a rate limit (requests a minute per key, or failed authentications per client"
        " address)",
    ),
    "headers": {
        "Retry-After": {
            "description": "Whole seconds until the next request may go through",
            "required": True,
            "schema": {"type": "integer", "minimum": 1},
        }
    },
}
NO_ROUTE = error_response(
    "Not found", "an empty path parameter, or one holding a `/`, leaves a path that is no route"
)


SERVER_ANSWERS: Responses = {
    408: error_response(
        RequestTimeout.status,
        "the headers or the body came too slowly (`OTASTATS_HEADER_TIMEOUT_MS`,"
        " `OTASTATS_BODY_TIMEOUT_MS`); answered by the server, which then closes the connection",
    ),
    431: error_response(
        HeadersTooLarge.status,
        "too many header fields, or too many bytes in them and the request target"
        " (`OTASTATS_MAX_HEADER_COUNT`, `OTASTATS_MAX_HEADER_BYTES`); answered by the server,"
        " before any route runs",
    ),
}
"""What the HTTP server may answer to any request (see otastats.http_server)."""


def internal_error(status: str) -> dict[str, Any]:
    return error_response(
        status,
        "an internal failure; `error` carries an error id, also written to the server log",
    )


def key_errors(internal_status: str) -> Responses:
    """The answers every endpoint that needs a key may give, whatever it does."""
    return {401: INVALID_KEY, 429: TOO_MANY_REQUESTS, 500: internal_error(internal_status)}


# The key is read by otastats.auth.service.presented_key; these declare its headers in the
# OpenAPI description (alternatives: any one of them), and read nothing themselves.
_KEY_HEADERS = (
    APIKeyHeader(
        name="authorization",
        scheme_name="authorization",
        description="The API key, bare or as `Bearer <key>`. Used when present and not empty.",
        auto_error=False,
    ),
    APIKeyHeader(
        name="capgkey",
        scheme_name="capgkey",
        description="The API key; used when `authorization` is absent or empty.",
        auto_error=False,
    ),
    APIKeyHeader(
        name="x-api-key",
        scheme_name="x-api-key",
        description="The API key; used when `authorization` and `capgkey` are absent or empty.",
        auto_error=False,
    ),
)
API_KEY: list[Depends] = [Security(header) for header in _KEY_HEADERS]
"""Route dependencies that document the API key headers."""
