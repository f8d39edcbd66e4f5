"""Decoding an ingest body (NDJSON or a JSON array) into one value per event."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import orjson

from otastats.config import MAX_EVENTS_PER_REQUEST, MAX_JSON_DEPTH
from otastats.errors import InvalidBody, PayloadTooLarge
from otastats.request_body import (
    SCAN_WINDOW,
    Body,
    check_json_depth,
    check_json_size,
    loads_bounded,
)

_NOT_SPACE = re.compile(rb"\S")


@dataclass(frozen=True, slots=True)
class Undecodable:
    """An NDJSON line that is not JSON: rejected on its own, the other lines go on."""

    error: str


def decode_body(body: Body, content_type: str | None) -> list[object]:
    """The events of a body; a JSON array when the content type says so or the body starts
    with ``[``, NDJSON otherwise (blank lines skipped)."""
    media = (content_type or "").split(";")[0].strip().lower()
    if media == "application/json":
        return _decode_array(body)
    if media != "application/x-ndjson" and _first_non_space(body) == b"[":
        return _decode_array(body)
    return _decode_ndjson(body)


def _decode_array(body: Body) -> list[object]:
    value = loads_bounded(body)
    if not isinstance(value, list):
        raise InvalidBody("body: must be a JSON array of events, or NDJSON (one event a line)")
    _check_count(len(value))
    return value


def _decode_ndjson(body: Body) -> list[object]:
    check_json_size(body)
    events: list[object] = []
    for line in _non_blank_lines(body):
        if len(events) >= MAX_EVENTS_PER_REQUEST:
            _check_count(len(events) + 1)
        try:
            event = orjson.loads(line)
        except orjson.JSONDecodeError:
            events.append(Undecodable("event: this line is not valid JSON"))
            continue
        # A line is one element of the body, as an event is in an array.
        check_json_depth(event, MAX_JSON_DEPTH - 1)
        events.append(event)
    if events and all(isinstance(event, Undecodable) for event in events):
        raise InvalidBody("body: not valid NDJSON (no line is a JSON value)")
    return events


def _first_non_space(body: Body) -> bytes:
    for start in range(0, len(body), SCAN_WINDOW):
        found = _NOT_SPACE.search(body, start, start + SCAN_WINDOW)
        if found is not None:
            return bytes(found.group())
    return b""


def _non_blank_lines(body: Body) -> Iterator[Body]:
    """Each line that is not blank, from its first non-space byte. Runs of blank lines are
    skipped by the regex engine (a window at a time), not by a Python step each."""
    size, position = len(body), 0
    while position < size:
        window_end = min(size, position + SCAN_WINDOW)
        found = _NOT_SPACE.search(body, position, window_end)
        if found is None:
            position = window_end
            continue
        end = body.find(b"\n", found.start())
        end = size if end < 0 else end
        yield body[found.start() : end]
        position = end + 1


def _check_count(count: int) -> None:
    if count > MAX_EVENTS_PER_REQUEST:
        raise PayloadTooLarge(
            f"body: more than {MAX_EVENTS_PER_REQUEST:,} events in one request;"
            " send them in several requests"
        )
