"""The statistics: authorize the principal, read the kept state, shape the answer."""

from __future__ import annotations

from otastats.auth.permissions import Principal
from otastats.errors import AppForbidden, NoOrganizations, OrgForbidden
from otastats.health.answer import health_answer, versions_answered
from otastats.stats.adoption import Answer, adoption, read_range
from otastats.stats.answer_size import check_answer_rows
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
    store: Store, principal: Principal, org_id: str, query: StatsQuery, max_rows: int = 0
) -> list[Point] | dict[str, list[Point]]:
    if not principal.may_read_org(org_id):
        raise OrgForbidden()
    app_ids = [app.app_id for app in store.apps_of_orgs([org_id])]
    if query.breakdown:
        check_answer_rows(len(app_ids), "apps", query, max_rows, "or leave out breakdown=true")
    rows = store.metric_rows(app_ids, query.from_day, query.to_day, by_app=query.breakdown)
    if not query.breakdown:
        return points(rows, None, query)
    # Global is the sum of the apps' rows from the same read, so the two always agree.
    rows.add_total()
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
    store: Store, principal: Principal, app_id: str, query: StatsQuery, max_rows: int = 0
) -> dict[str, list[object]]:
    _readable_app(store, principal, app_id)
    rows = store.version_rows(app_id, query.from_day, query.to_day)
    # An upper bound of the versions answered (some may have no device on any day of the
    # range), known before the answer is built.
    check_answer_rows(len(set(rows.base) | set(rows.days)), "versions", query, max_rows)
    return bundle_usage(rows, query)


def app_adoption(store: Store, principal: Principal, app_id: str, day: int) -> Answer:
    _readable_app(store, principal, app_id)
    from_day, to_day = read_range(day)
    return adoption(store.version_rows(app_id, from_day, to_day), day)


def app_health(
    store: Store, principal: Principal, app_id: str, query: StatsQuery, max_rows: int = 0
) -> dict[str, object]:
    _readable_app(store, principal, app_id)
    rows = store.health_rows(app_id, query.from_day, query.to_day)
    # Every version with a total is listed, with a value for each day of the range.
    check_answer_rows(versions_answered(rows), "versions", query, max_rows)
    return health_answer(rows, query)
