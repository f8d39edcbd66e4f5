"""The five event types and their validation, with errors that name the field at fault."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from otastats.ingest.rules import (
    CHECK_IN_ACTIONS,
    MAX_FUTURE_MICROS,
    MAX_TEXT,
    MIN_TIMESTAMP,
    NUL_ERROR,
    PLATFORMS,
    EventError,
    Getter,
    action_of,
    device_id_of,
    flag_of,
    metadata_of,
    optional_text,
    platform_of,
    version_of,
)
from otastats.timeparse import parse_instant

DEVICE_SEEN, DOWNLOAD, BUNDLE_CREATED, BUNDLE_DELETED, ACTION = 0, 1, 2, 3, 4
TYPES = {
    "device_seen": DEVICE_SEEN,
    "download": DOWNLOAD,
    "bundle_created": BUNDLE_CREATED,
    "bundle_deleted": BUNDLE_DELETED,
    "action": ACTION,
}
APP_ID = re.compile(r"[A-Za-z0-9._-]{1,128}\Z")
MAX_BYTES = 2**53
MAX_EVENT_ID = 128
OPTIONAL_TEXT = ("version_build", "plugin_version", "os_version", "channel")


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
    """Optional text fields kept as sent: version_build, plugin_version, os_version, channel."""
    action: str | None = None
    """The action name of an ACTION event (any name of A-Za-z0-9_, unknown ones included)."""
    metadata: dict[str, str] | None = None
    """The `metadata` object of an ACTION event."""

    @property
    def checks_in(self) -> bool:
        """A device_seen, or an action that stands for one (SPEC section 7's check-ins)."""
        return self.kind == DEVICE_SEEN or (self.kind == ACTION and self.action in CHECK_IN_ACTIONS)

    @property
    def counted(self) -> bool:
        """Counted activity: a production check-in from a real device."""
        return self.checks_in and self.is_prod and not self.is_emulator

    @property
    def plugin_version(self) -> str | None:
        return self.extra.get("plugin_version") if self.extra else None


def validate_event(raw: object, now: int) -> Event:
    """Turn one decoded JSON value into an Event, or raise EventError naming the field."""
    # Written for speed (it runs once per ingested event): local lookups, few calls.
    if type(raw) is not dict:
        raise EventError("event: must be a JSON object")
    get = raw.get
    kind_name = get("type")
    kind = TYPES.get(kind_name) if type(kind_name) is str else None
    if kind is None:
        raise EventError("type: must be one of " + ", ".join(TYPES))
    app_id = get("app_id")
    if app_id is None:
        raise EventError("app_id: is required")
    if type(app_id) is not str or APP_ID.match(app_id) is None:
        raise EventError("app_id: must be 1 to 128 characters of A-Z, a-z, 0-9, '.', '_', '-'")
    if kind == ACTION:
        event = action_event(get, app_id, _timestamp(get("timestamp"), now))
        _event_id(get("event_id"), event)
        return event
    device_id = _text(get("device_id"), "device_id") if kind <= DOWNLOAD else None
    ts = _timestamp(get("timestamp"), now)
    event = Event(kind, app_id, ts, _text(get("version_name"), "version_name"), device_id)
    if kind == DEVICE_SEEN:
        platform = get("platform")
        if type(platform) is not str or platform not in PLATFORMS:
            if platform is None:
                raise EventError("platform: is required")
            raise EventError("platform: must be one of ios, android, electron, web")
        event.platform = platform
        emulator = get("is_emulator", False)
        if emulator is not True and emulator is not False:
            raise EventError("is_emulator: must be true or false")
        prod = get("is_prod", True)
        if prod is not True and prod is not False:
            raise EventError("is_prod: must be true or false")
        event.is_emulator = emulator
        event.is_prod = prod
        event.extra = _extra(get)
    elif kind != BUNDLE_DELETED:
        event.bytes = _size(get("bytes"))
    _event_id(get("event_id"), event)
    return event


def action_event(get: Getter, app_id: str, ts: int) -> Event:
    """An ACTION event of ``app_id`` at ``ts`` from the fields of one sent object, with the
    rules of SPEC section 7 (shared by `/ingest/events` and the plugin URLs)."""
    device_id = device_id_of(get("device_id"))
    action = action_of(get("action"))
    extra: dict[str, str] = {}
    for name in ("version_build", "plugin_version"):
        value = optional_text(get(name), name)
        if value:
            extra[name] = value
    sent_version = get("version_name")
    version = version_of(sent_version, extra.get("version_build"))
    if version != sent_version:
        assert isinstance(sent_version, str)
        extra["version_name_sent"] = sent_version
    event = Event(ACTION, app_id, ts, version, device_id, action=action)
    event.platform = platform_of(get("platform"))
    event.is_emulator = flag_of(get("is_emulator"), "is_emulator", False)
    event.is_prod = flag_of(get("is_prod"), "is_prod", True)
    event.metadata = metadata_of(get("metadata"))
    event.extra = extra or None
    return event


def _event_id(event_id: object, event: Event) -> None:
    if event_id is not None:
        if type(event_id) is not str or not 0 < len(event_id) <= MAX_EVENT_ID:
            raise EventError(f"event_id: must be a string of 1 to {MAX_EVENT_ID} characters")
        if "\x00" in event_id:
            raise EventError(NUL_ERROR.format("event_id"))
        event.event_id = event_id


def _extra(get: Callable[[str], object]) -> dict[str, str] | None:
    extra = {}
    for name in OPTIONAL_TEXT:
        value = get(name)
        if value is not None:
            if type(value) is not str or len(value) > MAX_TEXT:
                raise EventError(f"{name}: must be a string of at most {MAX_TEXT} characters")
            if "\x00" in value:
                raise EventError(NUL_ERROR.format(name))
            extra[name] = value
    return extra or None


def _text(value: object, name: str) -> str:
    if type(value) is str and 0 < len(value) <= MAX_TEXT:
        if "\x00" in value:
            raise EventError(NUL_ERROR.format(name))
        return value
    if value is None:
        raise EventError(f"{name}: is required")
    raise EventError(f"{name}: must be a string of 1 to {MAX_TEXT} characters")


def _timestamp(value: object, now: int) -> int:
    if value is None:
        raise EventError("timestamp: is required")
    ts = parse_instant(value) if type(value) is str else None
    if ts is None:
        raise EventError(
            "timestamp: must be an RFC 3339 date-time with an offset, like 2024-01-01T12:00:00Z"
        )
    if ts < MIN_TIMESTAMP:
        raise EventError("timestamp: must not be before 2000-01-01T00:00:00Z")
    if ts > now + MAX_FUTURE_MICROS:
        raise EventError("timestamp: must not be more than 5 minutes in the future")
    return ts


def _size(value: object) -> int:
    if value is None:
        raise EventError("bytes: is required")
    if type(value) is not int:
        raise EventError(f"bytes: must be an integer from 0 to {MAX_BYTES}")
    if value < 0:
        raise EventError("bytes: must be >= 0")
    if value > MAX_BYTES:
        raise EventError(f"bytes: must be <= {MAX_BYTES}")
    return value
