"""The ingestion request and answer in the OpenAPI description.

Events are validated one by one by otastats.ingest.schemas, not by these models: an event that
does not match them is rejected on its own, in the 200 answer, and the others are accepted.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from otastats.config import MAX_BODY_BYTES, MAX_EVENTS_PER_REQUEST
from otastats.ingest.rules import (
    MAX_DEVICE_ID,
    MAX_METADATA_KEYS,
    MAX_METADATA_VALUE,
    MAX_TEXT,
    MAX_VERSION_NAME,
)
from otastats.ingest.schemas import MAX_BYTES, MAX_EVENT_ID

AppId = Annotated[str, Field(pattern=r"^[A-Za-z0-9._-]{1,128}$", description="An existing app")]
NO_NUL = r"^[^\u0000]*$"
"""Text fields may not hold U+0000."""
Text = Annotated[str, Field(min_length=1, max_length=MAX_TEXT, pattern=NO_NUL)]
OptionalText = Annotated[str, Field(max_length=MAX_TEXT, pattern=NO_NUL)]
Timestamp = Annotated[
    str,
    Field(
        json_schema_extra={"format": "date-time"},
        description="RFC 3339 with an offset, ASCII digits; not before 2000-01-01T00:00:00Z,"
        " at most 5 minutes in the future",
        examples=["2024-01-01T12:00:00Z"],
    ),
]
Bytes = Annotated[
    int,
    Field(
        ge=0,
        le=MAX_BYTES,
        description="Rejected when it would take one of the app's byte figures past 2^63 - 1",
    ),
]
EventId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_EVENT_ID,
        pattern=NO_NUL,
        description="An event whose (app_id, event_id) was already accepted is a duplicate",
    ),
]


class _Event(BaseModel):
    # Unknown fields are ignored.
    model_config = ConfigDict(extra="allow")

    app_id: AppId
    timestamp: Timestamp
    event_id: EventId | None = None


class DeviceSeen(_Event):
    """A check-in of a device: counted activity unless from an emulator or a development build."""

    type: Literal["device_seen"]
    device_id: Text
    version_name: Text
    platform: Literal["ios", "android", "electron", "web"]
    is_emulator: bool = False
    is_prod: bool = True
    version_build: OptionalText | None = None
    plugin_version: OptionalText | None = None
    os_version: OptionalText | None = None
    channel: OptionalText | None = None


class Download(_Event):
    type: Literal["download"]
    device_id: Text
    version_name: Text
    bytes: Bytes


class BundleCreated(_Event):
    type: Literal["bundle_created"]
    version_name: Text
    bytes: Bytes


class BundleDeleted(_Event):
    type: Literal["bundle_deleted"]
    version_name: Text


class Action(_Event):
    """A device action, as the Capgo updater plugin reports them (SPEC section 7). Check-in
    actions (app_moved_to_foreground, app_moved_to_background, app_launch_start,
    app_launch_ready, set, blocked_by_server_url) count like a device_seen on the bundle;
    every action is stored. Null optional fields are taken as absent."""

    type: Literal["action"]
    device_id: Annotated[
        str,
        Field(
            min_length=1,
            max_length=MAX_DEVICE_ID,
            pattern=NO_NUL,
            description="Lower-cased when stored",
        ),
    ]
    action: Annotated[str, Field(pattern=r"^[A-Za-z0-9_]{1,64}$", description="Any action name")]
    version_name: Annotated[
        str,
        Field(
            max_length=MAX_VERSION_NAME,
            pattern=NO_NUL,
            description='"<version>:<file>" stands for <version>; "" and "builtin" for the'
            ' version_build (or "builtin")',
        ),
    ]
    is_emulator: bool | None = False
    is_prod: bool | None = True
    platform: Literal["ios", "android", "electron", "web"] | None = None
    version_build: OptionalText | None = None
    plugin_version: OptionalText | None = None
    metadata: (
        Annotated[
            dict[str, Annotated[str, Field(max_length=MAX_METADATA_VALUE, pattern=NO_NUL)]],
            Field(max_length=MAX_METADATA_KEYS),
        ]
        | None
    ) = None


Event = Annotated[
    DeviceSeen | Download | BundleCreated | BundleDeleted | Action, Field(discriminator="type")
]


class Rejection(BaseModel):
    model_config = ConfigDict(extra="forbid")

    index: int = Field(
        ge=0, description="0-based position in the array, or among the non-empty NDJSON lines"
    )
    error: str = Field(description="The field at fault and the rule it breaks")


class IngestAnswer(BaseModel):
    """``accepted + duplicates + len(rejected)`` is the number of events sent."""

    model_config = ConfigDict(extra="forbid")

    accepted: int = Field(ge=0, description="Events stored")
    duplicates: int = Field(ge=0, description="Events whose event_id was already accepted")
    rejected: list[Rejection] = Field(description="Events refused, by index")


def request_body() -> dict[str, Any]:
    """The ``requestBody`` of POST /ingest/events."""
    events = _inlined(TypeAdapter(list[Event]).json_schema())
    limits = (
        f"At most {MAX_EVENTS_PER_REQUEST:,} events and {MAX_BODY_BYTES:,} bytes. Each event is"
        " checked on its own: one that does not match its type is rejected in the 200 answer,"
        " and the others are accepted. Without a body, or with an empty NDJSON body, there is no"
        " event: 200 with zero counts (an empty `application/json` body is not JSON: 400)."
    )
    return {
        "required": False,
        "description": limits,
        "content": {
            "application/json": {"schema": {**events, "maxItems": MAX_EVENTS_PER_REQUEST}},
            "application/x-ndjson": {
                "schema": {"type": "string", "description": "One JSON event a line"}
            },
        },
    }


def _inlined(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema with its ``$defs`` written in place: in an OpenAPI document, a local reference
    would point into the document, not into this schema."""
    definitions = schema.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return inline(definitions[node["$ref"].rsplit("/", 1)[-1]])
            # The type constant of each alternative tells them apart; the mapping would need refs.
            dropped = "discriminator" if "oneOf" in node else None
            return {key: inline(value) for key, value in node.items() if key != dropped}
        if isinstance(node, list):
            return [inline(item) for item in node]
        return node

    inlined: dict[str, Any] = inline(schema)
    return inlined
