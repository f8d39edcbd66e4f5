"""Reading a request body within bounds: its size while it arrives, then its JSON shape.

Any route that takes a body uses these, after its key has been judged (so that a key that may
not write never has its body read):

    body = await read_limited_body(request)              # 413 past MAX_BODY_BYTES
    value = await run_in_threadpool(loads_bounded, body)  # 400 past the shape bounds

The shape is bounded before the JSON is parsed, from counts of its structural bytes (a C-speed
scan): what a parsed value costs in memory grows with the number of values, up to 35 times
the bytes they take in the body (``{},`` is 3 bytes and an empty dict 64), so the number of
objects and arrays and the number of separators are capped, not only the bytes.
"""

from __future__ import annotations

import orjson
from fastapi import Request

from otastats.config import (
    MAX_BODY_BYTES,
    MAX_JSON_CONTAINERS,
    MAX_JSON_DEPTH,
    MAX_JSON_SEPARATORS,
)
from otastats.errors import InvalidBody, PayloadTooLarge

Body = bytes | bytearray
"""A request body as read (a growing buffer) or as given."""

SCAN_WINDOW = 256 * 1024
"""Bytes scanned by one C call: a scan of a whole 10 MiB body would hold the interpreter lock,
and so stall the event loop, for tens of milliseconds; in windows, other requests go between."""

TOO_LARGE = f"body: larger than {MAX_BODY_BYTES:,} bytes; send the events in several requests"


async def read_limited_body(
    request: Request, max_bytes: int = MAX_BODY_BYTES, too_large: str = TOO_LARGE
) -> bytearray:
    """The body, refused with 413 (``too_large``) as soon as it is known to pass ``max_bytes``."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            if int(declared) > max_bytes:
                raise PayloadTooLarge(too_large)
        except ValueError:
            raise InvalidBody("content-length: must be a whole number") from None
    # One buffer that grows: a list of chunks joined at the end held the body twice.
    body = bytearray()
    async for chunk in request.stream():
        if len(body) + len(chunk) > max_bytes:
            raise PayloadTooLarge(too_large)
        body += chunk
    return body


def check_json_size(body: Body) -> None:
    """400 when the body holds more JSON objects, arrays or separators than any request needs.

    Counted on the raw bytes, so a ``{`` or ``,`` inside a string counts too: the bounds leave
    room for that (4 objects or arrays and 40 separators for each of 10,000 events).
    """
    containers = _count(body, b"{") + _count(body, b"[")
    if containers > MAX_JSON_CONTAINERS:
        raise InvalidBody(
            f"body: more than {MAX_JSON_CONTAINERS:,} JSON objects and arrays; an event is one"
            " flat object: leave out nested values the service does not read"
        )
    if _count(body, b",") > MAX_JSON_SEPARATORS:
        raise InvalidBody(
            f"body: more than {MAX_JSON_SEPARATORS:,} commas; leave out fields the service"
            " does not read, or send the events in several requests"
        )


def _count(body: Body, byte: bytes) -> int:
    return sum(
        body.count(byte, start, start + SCAN_WINDOW) for start in range(0, len(body), SCAN_WINDOW)
    )


def check_json_depth(value: object, levels: int = MAX_JSON_DEPTH) -> None:
    """400 when ``value`` nests more than ``levels`` levels (``value`` itself is level 1)."""
    if not isinstance(value, dict | list):
        return
    # Level by level, the containers of each level gathered by a comprehension: a step of the
    # interpreter for each value, rather than several (this runs on every body).
    level: list[dict[str, object] | list[object]] = [value]
    depth = 1
    while True:
        below: list[dict[str, object] | list[object]] = []
        for item in level:
            children = item.values() if isinstance(item, dict) else item
            below.extend([child for child in children if isinstance(child, _CONTAINERS)])
        if not below:
            return
        depth += 1
        if depth > levels:
            raise InvalidBody(
                f"body: JSON nested more than {MAX_JSON_DEPTH} levels deep (an NDJSON line"
                " counts as an element of an array); events are flat objects"
            )
        level = below


_CONTAINERS = (dict, list)


def loads_bounded(body: Body) -> object:
    """The JSON value of ``body``, within the size and depth bounds; 400 otherwise."""
    check_json_size(body)
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidBody(f"body: not valid JSON ({exc.args[0]})") from None
    check_json_depth(value)
    return value
