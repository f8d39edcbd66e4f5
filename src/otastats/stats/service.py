"""The five statistics: authorize the principal, read the kept state, shape the points."""

from __future__ import annotations

from otastats.auth.permissions import Principal
from otastats.errors import AppForbidden, NoOrganizations, OrgForbidden
from otastats.health.answer import health_answer
from otastats.stats.bundle_usage import bundle_usage
from otastats.stats.parser import StatsQuery
from otastats.stats.series import Point, iso_dates, points
from otastats.storage.base import Store
from otastats.storage.records import App


def _readable_app(store: Store, principal: Principal, app_id: str) -> App:
    app = store.get_apps([app_id]).get(app_id)
    if not principal.may_read_app(app):
        raise AppForbidden()
    assert app is not None
    return app


def app_statistics(
    store: Store, principal: Principal, app_id: str, query: StatsQuery
) -> list[Point]:
    _readable_app(store, principal, app_id)
    rows = store.metric_rows([app_id], query.from_day, query.to_day, by_app=False)
    return points(rows, None, query)


def org_statistics(
    store: Store, principal: Principal, org_id: str, query: StatsQuery
) -> list[Point] | dict[str, list[Point]]:
    if not principal.may_read_org(org_id):
        raise OrgForbidden()
    app_ids = [app.app_id for app in store.apps_of_orgs([org_id])]
    rows = store.metric_rows(app_ids, query.from_day, query.to_day, by_app=query.breakdown)
    if not query.breakdown:
        return points(rows, None, query)
    # Global is the sum of the apps' rows from the same read, so the two always agree.
    rows.mau_base[None] = sum(rows.mau_base.values())
    rows.storage_base[None] = sum(rows.storage_base.values())
    summed: dict[int, tuple[int, int, int]] = {}
    for by_day in list(rows.days.values()):
        for day, (mau, storage, bandwidth) in by_day.items():
            before = summed.get(day, (0, 0, 0))
            summed[day] = (before[0] + mau, before[1] + storage, before[2] + bandwidth)
    rows.days[None] = summed
    dates = iso_dates(query)
    by_app: list[Point] = []
    for app_id in sorted(app_ids):
        by_app.extend(points(rows, app_id, query, dates, named=True))
    return {"global": points(rows, None, query, dates), "byApp": by_app}


def user_statistics(store: Store, principal: Principal, query: StatsQuery) -> list[Point]:
    org_ids = principal.readable_org_ids()
    if not org_ids:
        raise NoOrganizations()
    apps = store.apps_of_orgs(org_ids)
    if principal.key.limited_to_apps:
        app_ids = [app.app_id for app in apps if principal.may_read_app(app)]
    else:
        app_ids = [app.app_id for app in apps]
    rows = store.metric_rows(app_ids, query.from_day, query.to_day, by_app=False)
    return points(rows, None, query)


def app_bundle_usage(
    store: Store, principal: Principal, app_id: str, query: StatsQuery
) -> dict[str, list[object]]:
    _readable_app(store, principal, app_id)
    return bundle_usage(store.version_rows(app_id, query.from_day, query.to_day), query)


def app_health(
    store: Store, principal: Principal, app_id: str, query: StatsQuery
) -> dict[str, object]:
    _readable_app(store, principal, app_id)
    return health_answer(store.health_rows(app_id, query.from_day, query.to_day), query)
