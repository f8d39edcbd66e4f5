"""Alert secrets and the ``otastats-signature`` header of webhook calls.

An alert's secret is never stored: it is an HMAC of the alert's id and a random salt under the
database's key secret, so it can be computed again to sign each call (an API key, in contrast,
is kept only as a hash and can never be recovered). See docs/security.md.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix that says what the string is)


def new_salt() -> str:
    return secrets.token_hex(16)


def alert_secret(key_secret: bytes, alert_id: str, salt: str) -> str:
    message = b"otastats alert secret\0" + alert_id.encode() + b"\0" + salt.encode()
    digest = hmac.new(key_secret, message, hashlib.sha256).digest()
    return SECRET_PREFIX + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The header value: ``t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">``."""
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(secret: str, header: str, body: bytes) -> bool:
    """What a receiver does (also used by the tests): recompute and compare in constant time."""
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    if "t" not in parts or "v1" not in parts or not parts["t"].isdigit():
        return False
    expected = signature(secret, int(parts["t"]), body).rsplit("v1=", 1)[1]
    return hmac.compare_digest(expected, parts["v1"])
