"""Statistics answers encoded as JSON, with integers exact at any size.

orjson is fast but refuses integers outside 64 bits, and an organization's or a user's bytes
are sums over apps that may pass them. Such an answer, which is rare, is encoded again by the
standard library, whose integers have no bound; every other answer pays nothing for it.
"""

from __future__ import annotations

import json
from typing import Any

import orjson


def encode(value: Any) -> bytes:
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError as exc:
        if "64-bit" not in str(exc):
            raise
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
