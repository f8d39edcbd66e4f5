"""Reading a plugin request's body: its size checked before it is parsed, then one JSON value.

The plugin sends at most 200 events a request; 1,000 events and 1 MiB leave room for other
clients of the same protocol while keeping one request's work small.
"""

from __future__ import annotations

import orjson
from starlette.requests import Request

from otastats.plugin.errors import invalid_json, too_large

MAX_PLUGIN_BODY_BYTES = 1024 * 1024
MAX_PLUGIN_EVENTS = 1000
_TOO_LARGE = f"body: larger than {MAX_PLUGIN_BODY_BYTES:,} bytes"


async def read_body(request: Request) -> bytes:
    """The body, refused with 413 as soon as it is known to pass 1 MiB."""
    declared = request.headers.get("content-length")
    if (
        declared is not None
        and declared.strip().isdigit()
        and int(declared) > MAX_PLUGIN_BODY_BYTES
    ):
        raise too_large(_TOO_LARGE)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_PLUGIN_BODY_BYTES:
            raise too_large(_TOO_LARGE)
        chunks.append(chunk)
    return b"".join(chunks)


def parse_json(body: bytes) -> object:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        raise invalid_json("body: not valid JSON") from None


def events_of(value: object) -> tuple[list[object], bool]:
    """(the events, whether the body was an array) of a `/stats` body."""
    if isinstance(value, dict):
        return [value], False
    if isinstance(value, list):
        if len(value) > MAX_PLUGIN_EVENTS:
            raise too_large(f"body: more than {MAX_PLUGIN_EVENTS:,} events in one request")
        return value, True
    raise invalid_json("body: must be one event object or an array of event objects")
