"""Authentication: from the key a request presents to a Principal, or InvalidApiKey."""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from otastats.auth.keys import hash_key
from otastats.auth.permissions import Principal
from otastats.errors import InvalidApiKey
from otastats.storage.base import Store


def authenticate(store: Store, presented: str | None, now: int) -> Principal:
    if not presented:
        raise InvalidApiKey(
            "No API key: send it in the authorization header (or capgkey, x-api-key)"
        )
    presented_hash = hash_key(presented, store.key_secret())
    key = store.key_by_hash(presented_hash)
    # The lookup is by an index over hashes: its timing says nothing about the key presented.
    if key is None or not hmac.compare_digest(key.key_hash, presented_hash):
        raise InvalidApiKey("The API key is not known")
    if key.revoked_at is not None and key.revoked_at <= now:
        raise InvalidApiKey("The API key was revoked")
    if key.expires_at is not None and key.expires_at <= now:
        raise InvalidApiKey("The API key has expired")
    return Principal(key, store.memberships(key.user_id))


def presented_key(headers: Mapping[str, str]) -> str | None:
    """The key from ``authorization`` (bare or ``Bearer``), ``capgkey`` or ``x-api-key``."""
    value = headers.get("authorization")
    if value:
        scheme, _, rest = value.strip().partition(" ")
        if scheme.lower() == "bearer" and rest.strip():
            return rest.strip()
        return value.strip()
    for name in ("capgkey", "x-api-key"):
        value = headers.get(name)
        if value:
            return value.strip()
    return None
