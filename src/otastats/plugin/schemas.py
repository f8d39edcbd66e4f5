"""The plugin URLs in the OpenAPI description: request bodies and every answer's shape."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from otastats.plugin.body import MAX_PLUGIN_BODY_BYTES, MAX_PLUGIN_EVENTS

TOKEN_DESCRIPTION = "The token of the app's plugin URLs, from `otastats plugin create`"  # noqa: S105


class PluginErrorBody(BaseModel):
    """Every error answer of the plugin URLs (the plugin ecosystem's shape)."""

    model_config = ConfigDict(extra="forbid")

    error: str = Field(description="A code that depends only on the kind of error")
    message: str = Field(description="What exactly is wrong; for an event, the field at fault")


class Ok(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Literal["ok"]


class EventResult(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Literal["ok", "error"]
    index: int = Field(ge=0, description="0-based position of the event in the array")
    error: Literal["invalid_event"] | None = Field(default=None, description="When rejected")
    message: str | None = Field(default=None, description="The field at fault and the rule")


class BatchOk(BaseModel):
    """An array's answer: one result per event, in order."""

    model_config = ConfigDict(extra="forbid")

    status: Literal["ok"]
    results: list[EventResult]


class UpToDate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    error: Literal["no_new_version_available"]
    message: str
    kind: Literal["up_to_date"]


def plugin_error(description: str, *codes: str) -> dict[str, Any]:
    """An error answer whose ``error`` is one of ``codes``."""
    named = " or ".join(f"`{code}`" for code in codes)
    return {
        "model": PluginErrorBody,
        "description": f"{named}: {description}",
        "content": {
            "application/json": {"schema": {"properties": {"error": {"enum": list(codes)}}}}
        },
    }


UNKNOWN_URL = plugin_error(
    "an unknown, malformed or revoked token, or a deleted app (the same answer in every case)",
    "unknown_plugin_url",
)
TOO_LARGE = plugin_error(
    f"a body over {MAX_PLUGIN_BODY_BYTES:,} bytes, or an array of more than"
    f" {MAX_PLUGIN_EVENTS:,} events; nothing of it is stored",
    "payload_too_large",
)
TOO_MANY = {
    **plugin_error(
        "over `OTASTATS_PLUGIN_RATE_LIMIT` requests a minute from this address to this token",
        "too_many_requests",
    ),
    "headers": {
        "Retry-After": {
            "description": "Whole seconds until the next request may go through",
            "required": True,
            "schema": {"type": "integer", "minimum": 1},
        }
    },
}
INTERNAL = {
    "description": "An internal failure (the plugin sends the batch again later); the body is"
    " the API's error shape with an error id, also written to the server log",
    "content": {"application/json": {"schema": {"type": "object"}}},
}

_EVENT: dict[str, Any] = {
    "type": "object",
    "description": "One device event as the plugin sends it; each is checked on its own"
    " (SPEC section 7), unknown fields are ignored",
    "properties": {
        "app_id": {"type": "string"},
        "device_id": {"type": "string"},
        "action": {"type": "string"},
        "version_name": {"type": "string"},
        "timestamp": {"type": "number", "description": "Epoch milliseconds"},
    },
}


def stats_body() -> dict[str, Any]:
    return {
        "required": False,
        "description": f"One event object, or an array of at most {MAX_PLUGIN_EVENTS:,} of them;"
        f" at most {MAX_PLUGIN_BODY_BYTES:,} bytes",
        "content": {
            "application/json": {
                "schema": {
                    "anyOf": [
                        _EVENT,
                        {"type": "array", "items": _EVENT, "maxItems": MAX_PLUGIN_EVENTS},
                    ]
                }
            }
        },
    }


def updates_body() -> dict[str, Any]:
    return {
        "required": False,
        "description": "The device object (the event fields without `action`)",
        "content": {"application/json": {"schema": _EVENT}},
    }
