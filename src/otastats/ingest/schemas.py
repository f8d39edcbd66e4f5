"""The four event types and their validation, with errors that name the field at fault."""

from __future__ import annotations

import re
from dataclasses import dataclass

from otastats.timeparse import parse_instant

DEVICE_SEEN, DOWNLOAD, BUNDLE_CREATED, BUNDLE_DELETED = 0, 1, 2, 3
TYPES = {
    "device_seen": DEVICE_SEEN,
    "download": DOWNLOAD,
    "bundle_created": BUNDLE_CREATED,
    "bundle_deleted": BUNDLE_DELETED,
}
PLATFORMS = frozenset({"ios", "android", "electron", "web"})
APP_ID = re.compile(r"[A-Za-z0-9._-]{1,128}\Z")
MAX_BYTES = 2**53
MAX_FUTURE_MICROS = 5 * 60 * 1_000_000
MAX_TEXT = 255
MAX_EVENT_ID = 128
OPTIONAL_TEXT = ("version_build", "plugin_version", "os_version", "channel")


class EventError(ValueError):
    """An event that cannot be accepted; the message starts with the field at fault."""


@dataclass(slots=True)
class Event:
    kind: int
    app_id: str
    ts: int
    version_name: str
    device_id: str | None = None
    bytes: int | None = None
    platform: str | None = None
    is_emulator: bool = False
    is_prod: bool = True
    event_id: str | None = None
    extra: dict[str, str] | None = None

    @property
    def counted(self) -> bool:
        """Counted activity: a production check-in from a real device."""
        return self.kind == DEVICE_SEEN and self.is_prod and not self.is_emulator


def validate_event(raw: object, now: int) -> Event:
    """Turn one decoded JSON value into an Event, or raise EventError naming the field."""
    if not isinstance(raw, dict):
        raise EventError("event: must be a JSON object")
    kind_name = raw.get("type")
    kind = TYPES.get(kind_name) if isinstance(kind_name, str) else None
    if kind is None:
        raise EventError("type: must be one of " + ", ".join(TYPES))
    app_id = raw.get("app_id")
    if app_id is None:
        raise EventError("app_id: is required")
    if not isinstance(app_id, str) or APP_ID.match(app_id) is None:
        raise EventError("app_id: must be 1 to 128 characters of A-Z, a-z, 0-9, '.', '_', '-'")
    event = Event(kind, app_id, 0, "")
    if kind in (DEVICE_SEEN, DOWNLOAD):
        event.device_id = _text(raw, "device_id", MAX_TEXT)
    event.ts = _timestamp(raw, now)
    event.version_name = _text(raw, "version_name", MAX_TEXT)
    if kind == DEVICE_SEEN:
        platform = raw.get("platform")
        if platform is None:
            raise EventError("platform: is required")
        if platform not in PLATFORMS:
            raise EventError("platform: must be one of ios, android, electron, web")
        event.platform = platform
        event.is_emulator = _flag(raw, "is_emulator", default=False)
        event.is_prod = _flag(raw, "is_prod", default=True)
        extra = {}
        for name in OPTIONAL_TEXT:
            value = raw.get(name)
            if value is not None:
                if not isinstance(value, str) or len(value) > MAX_TEXT:
                    raise EventError(f"{name}: must be a string of at most {MAX_TEXT} characters")
                extra[name] = value
        event.extra = extra or None
    if kind in (DOWNLOAD, BUNDLE_CREATED):
        event.bytes = _size(raw)
    event_id = raw.get("event_id")
    if event_id is not None:
        if not isinstance(event_id, str) or not 0 < len(event_id) <= MAX_EVENT_ID:
            raise EventError(f"event_id: must be a string of 1 to {MAX_EVENT_ID} characters")
        event.event_id = event_id
    return event


def _text(raw: dict[str, object], name: str, limit: int) -> str:
    value = raw.get(name)
    if value is None:
        raise EventError(f"{name}: is required")
    if not isinstance(value, str) or not 0 < len(value) <= limit:
        raise EventError(f"{name}: must be a string of 1 to {limit} characters")
    return value


def _timestamp(raw: dict[str, object], now: int) -> int:
    value = raw.get("timestamp")
    if value is None:
        raise EventError("timestamp: is required")
    ts = parse_instant(value) if isinstance(value, str) else None
    if ts is None:
        raise EventError(
            "timestamp: must be an RFC 3339 date-time with an offset, like 2024-01-01T12:00:00Z"
        )
    if ts > now + MAX_FUTURE_MICROS:
        raise EventError("timestamp: must not be more than 5 minutes in the future")
    return ts


def _flag(raw: dict[str, object], name: str, *, default: bool) -> bool:
    value = raw.get(name, default)
    if not isinstance(value, bool):
        raise EventError(f"{name}: must be true or false")
    return value


def _size(raw: dict[str, object]) -> int:
    value = raw.get("bytes")
    if value is None:
        raise EventError("bytes: is required")
    if type(value) is not int:
        raise EventError(f"bytes: must be an integer from 0 to {MAX_BYTES}")
    if value < 0:
        raise EventError("bytes: must be >= 0")
    if value > MAX_BYTES:
        raise EventError(f"bytes: must be <= {MAX_BYTES}")
    return value
