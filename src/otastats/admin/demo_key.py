"""The demo a freshly set-up server shows: loaded once, then a new read key at each start."""

from __future__ import annotations

from otastats.admin import service as admin
from otastats.admin.demo import DEMO_EMAIL, create_demo
from otastats.storage.base import Store


def demo_key_for(store: Store, now: int) -> tuple[str, list[str], str] | None:
    """(org_id, app_ids, read key) of the demo; None when the database holds other data.

    Keys are kept only as hashes, so a restart cannot show the earlier key: it makes another.
    """
    if store.is_empty():
        made = create_demo(store, now)
        return made.org_id, made.app_ids, made.key
    user = store.find_user_by_email(DEMO_EMAIL)
    if user is None:
        return None
    org_ids = sorted(store.memberships(user.user_id))
    apps = [app.app_id for app in store.apps_of_orgs(org_ids) if not app.deleted]
    if not org_ids or not apps:
        return None
    key = admin.create_key(store, user.user_id, "read", now)
    return org_ids[0], apps, key.key
