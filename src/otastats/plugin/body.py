"""Reading a plugin request's body: its size checked while it arrives, then one JSON value within
the shape bounds of every body (otastats.request_body), with the errors in the plugin's shape.

The plugin sends at most 200 events a request; 1,000 events and 1 MiB leave room for other
clients of the same protocol while keeping one request's work small.
"""

from __future__ import annotations

from starlette.requests import Request

from otastats.errors import InvalidBody, PayloadTooLarge
from otastats.plugin.errors import invalid_json, too_large
from otastats.request_body import Body, loads_bounded, read_limited_body

MAX_PLUGIN_BODY_BYTES = 1024 * 1024
MAX_PLUGIN_EVENTS = 1000
PARSED_ON_LOOP_BYTES = 64 * 1024
"""A body up to this size is parsed and validated on the event loop (well under a millisecond);
a larger one in a worker thread, so that it cannot hold up the other requests."""
_TOO_LARGE = f"body: larger than {MAX_PLUGIN_BODY_BYTES:,} bytes"


async def read_body(request: Request) -> bytearray:
    """The body, refused with 413 as soon as it is known to pass 1 MiB."""
    try:
        return await read_limited_body(request, MAX_PLUGIN_BODY_BYTES, _TOO_LARGE)
    except PayloadTooLarge as exc:
        raise too_large(exc.error) from None
    except InvalidBody as exc:
        raise invalid_json(exc.error) from None


def parse_json(body: Body) -> object:
    """One JSON value within the size and depth bounds; 400 ``invalid_json_body`` otherwise."""
    try:
        return loads_bounded(body)
    except InvalidBody as exc:
        raise invalid_json(exc.error) from None


def events_of(value: object) -> tuple[list[object], bool]:
    """(the events, whether the body was an array) of a `/stats` body."""
    if isinstance(value, dict):
        return [value], False
    if isinstance(value, list):
        if len(value) > MAX_PLUGIN_EVENTS:
            raise too_large(f"body: more than {MAX_PLUGIN_EVENTS:,} events in one request")
        return value, True
    raise invalid_json("body: must be one event object or an array of event objects")
