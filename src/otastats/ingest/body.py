"""Decoding an ingest body (NDJSON or a JSON array) into one value per event."""

from __future__ import annotations

from dataclasses import dataclass

import orjson

from otastats.config import MAX_EVENTS_PER_REQUEST
from otastats.errors import InvalidBody, PayloadTooLarge


@dataclass(frozen=True, slots=True)
class Undecodable:
    """An NDJSON line that is not JSON: rejected on its own, the other lines go on."""

    error: str


def decode_body(body: bytes, content_type: str | None) -> list[object]:
    """The events of a body; a JSON array when the content type says so or the body starts
    with ``[``, NDJSON otherwise (empty lines skipped)."""
    media = (content_type or "").split(";")[0].strip().lower()
    stripped = body.lstrip()
    if media == "application/json" or (media != "application/x-ndjson" and stripped[:1] == b"["):
        return _decode_array(body)
    return _decode_ndjson(body)


def _decode_array(body: bytes) -> list[object]:
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidBody(f"body: not valid JSON ({exc.args[0]})") from None
    if not isinstance(value, list):
        raise InvalidBody("body: must be a JSON array of events, or NDJSON (one event a line)")
    _check_count(len(value))
    return value


def _decode_ndjson(body: bytes) -> list[object]:
    events: list[object] = []
    for line in body.split(b"\n"):
        if not line.strip():
            continue
        if len(events) >= MAX_EVENTS_PER_REQUEST:
            _check_count(len(events) + 1)
        try:
            events.append(orjson.loads(line))
        except orjson.JSONDecodeError:
            events.append(Undecodable("event: this line is not valid JSON"))
    if events and all(isinstance(event, Undecodable) for event in events):
        raise InvalidBody("body: not valid NDJSON (no line is a JSON value)")
    return events


def _check_count(count: int) -> None:
    if count > MAX_EVENTS_PER_REQUEST:
        raise PayloadTooLarge(
            f"body: more than {MAX_EVENTS_PER_REQUEST:,} events in one request;"
            " send them in several requests"
        )
