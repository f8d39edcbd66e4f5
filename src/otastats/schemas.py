"""Shapes shared by every endpoint's OpenAPI description: the error body and its statuses."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class ErrorBody(BaseModel):
    status: str
    error: str


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    descriptions = {
        400: "Invalid body: a missing or malformed parameter",
        401: "Invalid API key: none, unknown, expired or revoked",
        403: "The key may not access this app or organization (or it does not exist)",
        404: "No organizations found",
        413: "Payload too large",
        429: "Too many requests (see the Retry-After header)",
        500: "Internal error, with an error id",
    }
    return {
        status: {"model": ErrorBody, "description": descriptions[status]} for status in statuses
    }
