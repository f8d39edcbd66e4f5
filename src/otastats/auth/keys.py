"""API key material: generation and the hash that is all the database keeps."""

from __future__ import annotations

import hashlib
import secrets

KEY_PREFIX = "ota_"


def generate_key() -> str:
    """A new key: a recognisable prefix and 256 bits of randomness."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    """The stored form of a key; keys are random, so a plain SHA-256 cannot be reversed."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
