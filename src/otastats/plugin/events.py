"""The mapping of the plugin's events to otastats events, with the rules of SPEC section 7.

A `/stats` event becomes an action event (otastats.ingest.schemas.action_event, the same
function `/ingest/events` uses), taken at its `timestamp` when that is plausible, else at its
moment of receipt. An event with a numeric `timestamp` gets an event id derived from its
content, so that a batch the plugin sends again after a failure is recognised and stores
nothing twice. A `/updates` request becomes a device_seen at the moment of receipt.
"""

from __future__ import annotations

import hashlib

import orjson

from otastats.ingest.rules import EventError, plugin_millis, plugin_time
from otastats.ingest.schemas import DEVICE_SEEN, Event, action_event

PLUGIN_EVENT_ID_PREFIX = "plugin:"
"""Derived event ids start with this, apart from the ids of `/ingest/events` clients."""
UPDATE_CHECK = "update_check"
"""The name a `/updates` request's fields are read under (it carries no action)."""


def _app_id(raw: dict[str, object], app_id: str) -> str:
    sent = raw.get("app_id")
    if sent is None:
        raise EventError("app_id: is required")
    if sent != app_id:
        raise EventError("app_id: must be the app this plugin URL reports for")
    return app_id


def stats_event(raw: object, app_id: str, received: int) -> Event:
    """One `/stats` event of the token's app; raises EventError naming the field at fault."""
    if type(raw) is not dict:
        raise EventError("event: must be a JSON object")
    _app_id(raw, app_id)
    sent_at = raw.get("timestamp")
    event = action_event(raw.get, app_id, plugin_time(sent_at, received))
    millis = plugin_millis(sent_at)
    if millis is not None:
        event.event_id = derived_event_id(event, raw, millis)
    return event


def derived_event_id(event: Event, raw: dict[str, object], millis: int | float) -> str:
    """The same for the same event sent again: its device, action, bundle as sent, timestamp,
    previous bundle and metadata."""
    content = (
        event.device_id,
        event.action,
        raw.get("version_name"),
        millis,
        raw.get("old_version_name") if type(raw.get("old_version_name")) is str else None,
        event.metadata,
    )
    digest = hashlib.blake2b(
        orjson.dumps(content, option=orjson.OPT_SORT_KEYS), digest_size=16
    ).hexdigest()
    return PLUGIN_EVENT_ID_PREFIX + digest


def update_check(raw: object, app_id: str, received: int) -> Event:
    """The check-in of a `/updates` request: a device_seen at the moment of receipt, read with
    the `/stats` rules (no action needed)."""
    if type(raw) is not dict:
        raise EventError("body: must be one JSON object")
    _app_id(raw, app_id)
    fields = {**raw, "action": UPDATE_CHECK}
    read = action_event(fields.get, app_id, received)
    seen = Event(DEVICE_SEEN, app_id, received, read.version_name, read.device_id)
    seen.platform = read.platform
    seen.is_emulator = read.is_emulator
    seen.is_prod = read.is_prod
    seen.extra = read.extra
    return seen
