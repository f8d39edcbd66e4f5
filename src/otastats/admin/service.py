"""Administrative actions, with the validation that gives bad input a clear error."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from otastats.auth.keys import generate_key, hash_key
from otastats.errors import InvalidBody, NotFound
from otastats.ingest.schemas import APP_ID
from otastats.storage.base import Store
from otastats.storage.records import KEY_MODES, ROLES, ApiKey
from otastats.timeparse import MICROS_PER_DAY, parse_day, parse_instant


def _uuid(value: str, name: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise InvalidBody(
            f"{name}: must be a UUID, like 3f2c8a8e-9a4b-4d0e-8f51-0c2c1d7a9b10"
        ) from None


def create_org(store: Store, name: str, now: int) -> str:
    name = name.strip()
    if not name or len(name) > 200:
        raise InvalidBody("name: must be 1 to 200 characters")
    org_id = str(uuid.uuid4())
    store.create_org(org_id, name, now)
    return org_id


def create_user(store: Store, email: str, now: int) -> str:
    email = email.strip()
    local, at, domain = email.rpartition("@")
    if not at or not local or not domain or len(email) > 254 or " " in email:
        raise InvalidBody(f"email: {email!r} is not an email address")
    user_id = str(uuid.uuid4())
    store.create_user(user_id, email, now)
    return user_id


def add_member(store: Store, org_id: str, user_id: str, role: str) -> None:
    org_id, user_id = _uuid(org_id, "org"), _uuid(user_id, "user")
    if role not in ROLES:
        raise InvalidBody("role: must be one of " + ", ".join(ROLES))
    if store.get_org(org_id) is None:
        raise NotFound(f"org: no organization {org_id}")
    if store.get_user(user_id) is None:
        raise NotFound(f"user: no user {user_id}")
    store.set_member(org_id, user_id, role)


def create_app(store: Store, app_id: str, org_id: str, now: int) -> None:
    if APP_ID.match(app_id) is None:
        raise InvalidBody("app_id: must be 1 to 128 characters of A-Z, a-z, 0-9, '.', '_', '-'")
    org_id = _uuid(org_id, "org")
    if store.get_org(org_id) is None:
        raise NotFound(f"org: no organization {org_id}")
    store.create_app(app_id, org_id, now)


def delete_app(store: Store, app_id: str, now: int) -> None:
    store.delete_app(app_id, now)


@dataclass(frozen=True, slots=True)
class CreatedKey:
    key_id: str
    key: str


def parse_expiry(value: str) -> int:
    """``YYYY-MM-DD`` means the end of that UTC day; otherwise an RFC 3339 instant."""
    if len(value) == 10:
        day = parse_day(value)
        if day is not None:
            return (day + 1) * MICROS_PER_DAY
    instant = parse_instant(value)
    if instant is None:
        raise InvalidBody("expires: must be YYYY-MM-DD or an RFC 3339 date-time with an offset")
    return instant


def create_key(
    store: Store,
    user_id: str,
    mode: str,
    now: int,
    *,
    orgs: Sequence[str] = (),
    apps: Sequence[str] = (),
    expires: str | None = None,
) -> CreatedKey:
    user_id = _uuid(user_id, "user")
    if mode not in KEY_MODES:
        raise InvalidBody("mode: must be one of " + ", ".join(KEY_MODES))
    if store.get_user(user_id) is None:
        raise NotFound(f"user: no user {user_id}")
    org_ids = tuple(dict.fromkeys(_uuid(org, "org") for org in orgs))
    for app_id in apps:
        if APP_ID.match(app_id) is None:
            raise InvalidBody(f"app: {app_id!r} is not a valid app id")
    key = generate_key()
    record = ApiKey(
        key_id=str(uuid.uuid4()),
        user_id=user_id,
        key_hash=hash_key(key, store.key_secret()),
        mode=mode,
        limited_to_orgs=org_ids,
        limited_to_apps=tuple(dict.fromkeys(apps)),
        expires_at=parse_expiry(expires) if expires is not None else None,
        created_at=now,
    )
    store.create_key(record)
    return CreatedKey(record.key_id, key)


def revoke_key(store: Store, key_id: str, now: int) -> None:
    store.revoke_key(_uuid(key_id, "key_id"), now)
