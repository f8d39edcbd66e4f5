"""Keeping the plugin URLs' tokens out of every log line and error message.

A token is the only credential of a plugin URL, and uvicorn's access log prints each request's
path: every path and message that may hold one goes through ``redact`` first, and serve's log
handlers carry a filter that applies it to every record they write.
"""

from __future__ import annotations

import copy
import logging
import re
from typing import Any

REDACTED = "[token]"
_IN_PATH = re.compile(r"(/plugin/)[^/?#\s\"]+", re.IGNORECASE)
_BARE = re.compile(r"otp_[A-Za-z0-9_-]{8,}")
"""A token anywhere else (a mistyped path, a query string)."""


def redact(text: str) -> str:
    if "/plugin/" not in text.lower() and "otp_" not in text:
        return text
    return _BARE.sub(REDACTED, _IN_PATH.sub(r"\1" + REDACTED, text))


class RedactTokens(logging.Filter):
    """Rewrites a record's message and string arguments with their tokens redacted."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(arg) if isinstance(arg, str) else arg for arg in record.args)
        return True


def serve_log_config(base: dict[str, Any]) -> dict[str, Any]:
    """uvicorn's logging configuration ``base`` with the filter on each of its handlers."""
    config = copy.deepcopy(base)
    config.setdefault("filters", {})["redact_tokens"] = {"()": RedactTokens}
    for handler in config.get("handlers", {}).values():
        handler.setdefault("filters", []).append("redact_tokens")
    return config
