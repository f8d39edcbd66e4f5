"""Who may read and write what: the rules of the Statistics API, for one authenticated key."""

from __future__ import annotations

from dataclasses import dataclass

from otastats.storage.records import ApiKey, App

WRITE_MODES = frozenset({"upload", "write", "all"})


@dataclass(frozen=True, slots=True)
class Principal:
    key: ApiKey
    memberships: dict[str, str]
    """org_id -> role of the key's user."""

    def may_read_org(self, org_id: str) -> bool:
        limited = self.key.limited_to_orgs
        return (
            org_id in self.memberships
            and (not limited or org_id in limited)
            and not self.key.limited_to_apps
        )

    def may_read_app(self, app: App | None) -> bool:
        if app is None or app.deleted or app.org_id not in self.memberships:
            return False
        if self.key.limited_to_orgs and app.org_id not in self.key.limited_to_orgs:
            return False
        return not self.key.limited_to_apps or app.app_id in self.key.limited_to_apps

    @property
    def may_write(self) -> bool:
        return self.key.mode in WRITE_MODES

    def write_refusal(self, app: App | None) -> str | None:
        """Why an event for this app may not be written with this key, or None."""
        if not self.may_read_app(app):
            return "app_id: the API key may not write to this app, or the app does not exist"
        assert app is not None
        if self.memberships[app.org_id] == "read":
            return "app_id: the key's user has the read role in this app's organization"
        return None

    def readable_org_ids(self) -> list[str]:
        """The organizations the key's user is a member of, after ``limited_to_orgs``."""
        limited = self.key.limited_to_orgs
        return sorted(org for org in self.memberships if not limited or org in limited)
