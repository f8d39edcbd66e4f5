"""Decoding an ingest body (NDJSON or a JSON array) into one value per event."""

from __future__ import annotations

import re
from dataclasses import dataclass

import orjson

from otastats.config import MAX_EVENTS_PER_REQUEST, MAX_JSON_DEPTH
from otastats.errors import InvalidBody, PayloadTooLarge
from otastats.request_body import check_json_depth, check_json_size, loads_bounded

_LINE = re.compile(rb"\S[^\n]*")
"""A non-blank NDJSON line, from its first non-space byte: found by the regex engine, so that
runs of blank lines cost no Python step each."""


@dataclass(frozen=True, slots=True)
class Undecodable:
    """An NDJSON line that is not JSON: rejected on its own, the other lines go on."""

    error: str


def decode_body(body: bytes, content_type: str | None) -> list[object]:
    """The events of a body; a JSON array when the content type says so or the body starts
    with ``[``, NDJSON otherwise (blank lines skipped)."""
    media = (content_type or "").split(";")[0].strip().lower()
    stripped = body.lstrip()
    if media == "application/json" or (media != "application/x-ndjson" and stripped[:1] == b"["):
        return _decode_array(body)
    return _decode_ndjson(body)


def _decode_array(body: bytes) -> list[object]:
    value = loads_bounded(body)
    if not isinstance(value, list):
        raise InvalidBody("body: must be a JSON array of events, or NDJSON (one event a line)")
    _check_count(len(value))
    return value


def _decode_ndjson(body: bytes) -> list[object]:
    check_json_size(body)
    events: list[object] = []
    for match in _LINE.finditer(body):
        if len(events) >= MAX_EVENTS_PER_REQUEST:
            _check_count(len(events) + 1)
        try:
            event = orjson.loads(match.group())
        except orjson.JSONDecodeError:
            events.append(Undecodable("event: this line is not valid JSON"))
            continue
        # A line is one element of the body, as an event is in an array.
        check_json_depth(event, MAX_JSON_DEPTH - 1)
        events.append(event)
    if events and all(isinstance(event, Undecodable) for event in events):
        raise InvalidBody("body: not valid NDJSON (no line is a JSON value)")
    return events


def _check_count(count: int) -> None:
    if count > MAX_EVENTS_PER_REQUEST:
        raise PayloadTooLarge(
            f"body: more than {MAX_EVENTS_PER_REQUEST:,} events in one request;"
            " send them in several requests"
        )
