"""What a key may read: its user, its organizations with their readable apps, and its apps."""

from __future__ import annotations

from typing import Any

from otastats.auth.permissions import Principal
from otastats.errors import InvalidApiKey
from otastats.storage.base import Store


def describe_key(store: Store, principal: Principal) -> dict[str, Any]:
    """The answer of GET /me, following the same rules as the Statistics endpoints.

    An organization is listed when the key may read its totals, or when it holds an app that the
    key may read (a key limited to apps reads no organization totals, but its apps have owners).
    """
    user = store.get_user(principal.key.user_id)
    if user is None:
        raise InvalidApiKey("The API key is not known")
    org_ids = principal.readable_org_ids()
    names = store.get_orgs(org_ids)
    apps_by_org: dict[str, list[str]] = {}
    for app in store.apps_of_orgs(org_ids):
        if principal.may_read_app(app):
            apps_by_org.setdefault(app.org_id, []).append(app.app_id)
    organizations = [
        {
            "org_id": org_id,
            "name": names[org_id].name,
            "readable": principal.may_read_org(org_id),
            "apps": sorted(apps_by_org.get(org_id, [])),
        }
        for org_id in org_ids
        if org_id in names and (principal.may_read_org(org_id) or org_id in apps_by_org)
    ]
    organizations.sort(key=lambda org: (org["name"], org["org_id"]))
    return {
        "user": {"user_id": user.user_id, "email": user.email},
        "organizations": organizations,
        "apps": sorted(app_id for app_ids in apps_by_org.values() for app_id in app_ids),
    }
