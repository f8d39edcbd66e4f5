"""API keys: a recognisable prefix, 256 random bits, kept only as a keyed hash."""

from __future__ import annotations

import base64
import hashlib
import sqlite3

from otastats.auth.keys import KEY_PREFIX, generate_key, hash_key
from otastats.storage.sqlite import SQLiteStore
from tests.conftest import Tenants


def test_keys_carry_a_prefix_and_256_random_bits() -> None:
    keys = {generate_key() for _ in range(100)}
    assert len(keys) == 100
    for key in keys:
        assert key.startswith(KEY_PREFIX)
        body = key.removeprefix(KEY_PREFIX)
        assert len(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))) == 32


def test_the_hash_depends_on_the_secret() -> None:
    assert hash_key("ota_x", b"a" * 32) != hash_key("ota_x", b"b" * 32)
    assert hash_key("ota_x", b"a" * 32) == hash_key("ota_x", b"a" * 32)


def test_the_database_keeps_no_key_in_plain_or_plain_hashed_form(
    store: SQLiteStore, tenants: Tenants
) -> None:
    key = tenants.key(tenants.user("hash@example.com"), "read")
    with sqlite3.connect(store._path) as conn:
        dump = "\n".join(conn.iterdump())
    assert key not in dump
    assert hashlib.sha256(key.encode()).hexdigest() not in dump
    assert hash_key(key, store.key_secret()) in dump
