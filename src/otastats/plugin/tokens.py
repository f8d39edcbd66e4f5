"""The tokens of the plugin URLs: made for one app, kept only as keyed hashes, revoked at once.

A plugin URL is in every copy of the app's binary, so its token is public in practice: it can do
nothing but report activity of its app. Like API keys, only the HMAC-SHA-256 of the token under
the database's secret is stored, so that the stored hashes cannot even be checked against
guessed tokens.
"""

from __future__ import annotations

import re
import secrets
import uuid
from dataclasses import dataclass

from otastats.auth.keys import hash_key
from otastats.errors import InvalidBody, NotFound
from otastats.storage.base import Store
from otastats.storage.records import PluginToken
from otastats.timeparse import micros_to_datetime

TOKEN_PREFIX = "otp_"  # noqa: S105 - a prefix, not a secret
TOKEN_SHAPE = re.compile(r"otp_[A-Za-z0-9_-]{43}\Z")
"""What generate_token makes: anything else is unknown without a database read."""
DEFAULT_BASE_URL = "http://127.0.0.1:8000"


@dataclass(frozen=True, slots=True)
class CreatedToken:
    token_id: str
    app_id: str
    stats_url: str
    updates_url: str


def generate_token() -> str:
    """A new token: a recognisable prefix and 256 bits of randomness, URL-safe."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def _http_url(value: str, name: str) -> str:
    if not value.startswith(("http://", "https://")) or len(value) <= len("https://"):
        raise InvalidBody(f"{name}: must be an http:// or https:// URL")
    if any(ch.isspace() for ch in value):
        raise InvalidBody(f"{name}: must not contain spaces")
    return value


def create_token(
    store: Store,
    app_id: str,
    now: int,
    *,
    base_url: str | None = None,
    upstream: str | None = None,
) -> CreatedToken:
    """A new token of a live app, and its two URLs under ``base_url``."""
    app = store.get_apps([app_id]).get(app_id)
    if app is None or app.deleted:
        raise NotFound(f"no app {app_id!r}" if app is None else f"the app {app_id!r} is deleted")
    base = _http_url(base_url or DEFAULT_BASE_URL, "--base-url").rstrip("/")
    if upstream is not None:
        upstream = _http_url(upstream, "--upstream")
    token = generate_token()
    token_id = str(uuid.uuid4())
    store.create_plugin_token(
        PluginToken(token_id, app_id, hash_key(token, store.key_secret()), upstream, now)
    )
    return CreatedToken(
        token_id, app_id, f"{base}/plugin/{token}/stats", f"{base}/plugin/{token}/updates"
    )


def list_tokens(store: Store, app_id: str) -> list[dict[str, object]]:
    if app_id not in store.get_apps([app_id]):
        raise NotFound(f"no app {app_id!r}")
    return [
        {
            "token_id": token.token_id,
            "app_id": token.app_id,
            "created_at": micros_to_datetime(token.created_at).isoformat().replace("+00:00", "Z"),
            "revoked": token.revoked_at is not None,
            "upstream": token.upstream,
        }
        for token in store.plugin_tokens_of(app_id)
    ]


def revoke_token(store: Store, token_id: str, now: int) -> None:
    store.revoke_plugin_token(token_id, now)
