"""API key material: generation and the hash that is all the database keeps."""

from __future__ import annotations

import hashlib
import hmac
import secrets

KEY_PREFIX = "ota_"


def generate_key() -> str:
    """A new key: a recognisable prefix and 256 bits of randomness."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str, secret: bytes) -> str:
    """The stored form of a key: HMAC-SHA-256 under the database's secret, so that the stored
    hashes alone cannot even be checked against guessed keys."""
    return hmac.new(secret, key.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()
