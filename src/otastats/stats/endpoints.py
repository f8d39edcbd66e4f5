"""HTTP routes of the Statistics API: authenticate, parse the query, call one service, and
write the answer as JSON, or as CSV when the client asks for it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import APIRouter, Request
from starlette.responses import Response

from otastats.auth.dependencies import Authenticated, Context
from otastats.health.schemas import HEALTH_CSV, Health
from otastats.schemas import API_KEY
from otastats.stats import service
from otastats.stats.csv_export import (
    adoption_csv,
    breakdown_csv,
    bundle_usage_csv,
    health_csv,
    points_csv,
)
from otastats.stats.json_answer import encode
from otastats.stats.parser import StatsQuery, parse_adoption_day, parse_query
from otastats.stats.response_format import CSV_MEDIA_TYPE, wants_csv
from otastats.stats.schemas import (
    ADOPTION_CSV,
    APP_ERRORS,
    APP_ID,
    BUNDLE_USAGE_CSV,
    ORG_ERRORS,
    ORG_ID,
    POINTS,
    POINTS_CSV,
    USER_ERRORS,
    Adoption,
    BundleUsage,
    OrgBreakdown,
    StatsPoint,
    ok,
    parameters,
)
from otastats.timeparse import day_to_iso, today

router = APIRouter(prefix="/statistics", tags=["statistics"], dependencies=API_KEY)


def _json(value: Any) -> Response:
    return Response(encode(value), media_type="application/json", headers={"Vary": "Accept"})


def _csv(text: str, name: str, query: StatsQuery) -> Response:
    days = day_to_iso(query.from_day)
    if query.to_day > query.from_day:
        days += "-" + day_to_iso(query.to_day)
    daily = "-daily" if query.no_accumulate else ""
    return _csv_file(text, f"{name}-{days}{daily}")


def _csv_file(text: str, name: str) -> Response:
    return Response(
        text.encode(),
        media_type=f"{CSV_MEDIA_TYPE}; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="otastats-{name}.csv"',
            "Vary": "Accept",
        },
    )


def _as_csv(request: Request) -> bool:
    return wants_csv(request.query_params, request.headers.get("accept"))


Handler = TypeVar("Handler", bound=Callable[..., Response])


def _route(path: str, **kwargs: Any) -> Callable[[Handler], Handler]:
    """Registers a GET route that also answers, directly, with a trailing slash."""

    def register(func: Handler) -> Handler:
        router.add_api_route(path, func, methods=["GET"], **kwargs)
        router.add_api_route(path + "/", func, methods=["GET"], include_in_schema=False)
        return func

    return register


# The handlers read their parameters from the request (see otastats.stats.schemas).
@_route(
    "/app/{app_id}",
    summary="Daily statistics of one app",
    openapi_extra=parameters(APP_ID, query=("from", "to", "noAccumulate", "format")),
    responses={**ok(list[StatsPoint], POINTS_CSV, POINTS), **APP_ERRORS},
)
def app_statistics(request: Request, principal: Authenticated, context: Context) -> Response:
    app_id: str = request.path_params["app_id"]
    query = parse_query(request.query_params, today(context.clock()), ("noAccumulate",))
    as_csv = _as_csv(request)
    points = service.app_statistics(context.store, principal, app_id, query)
    if as_csv:
        return _csv(points_csv(points), f"app-{app_id}", query)
    return _json(points)


@_route(
    "/org/{org_id}",
    summary="Daily statistics of one organization, optionally broken down by app",
    openapi_extra=parameters(ORG_ID, query=("from", "to", "breakdown", "noAccumulate", "format")),
    responses={
        **ok(
            list[StatsPoint] | OrgBreakdown,
            POINTS_CSV,
            POINTS + "; with `breakdown=true`, an object that also holds one row per app and day"
            " (in CSV, those rows alone)",
        ),
        **ORG_ERRORS,
    },
)
def org_statistics(request: Request, principal: Authenticated, context: Context) -> Response:
    org_id: str = request.path_params["org_id"]
    query = parse_query(request.query_params, today(context.clock()), ("breakdown", "noAccumulate"))
    as_csv = _as_csv(request)
    answer = service.org_statistics(
        context.store, principal, org_id, query, context.settings.max_answer_rows
    )
    if not as_csv:
        return _json(answer)
    if isinstance(answer, dict):
        return _csv(breakdown_csv(answer["byApp"]), f"org-{org_id}-by-app", query)
    return _csv(points_csv(answer), f"org-{org_id}", query)


@_route(
    "/user",
    summary="Daily statistics summed over what the key may read",
    openapi_extra=parameters(query=("from", "to", "noAccumulate", "format")),
    responses={**ok(list[StatsPoint], POINTS_CSV, POINTS), **USER_ERRORS},
)
def user_statistics(request: Request, principal: Authenticated, context: Context) -> Response:
    query = parse_query(request.query_params, today(context.clock()), ("noAccumulate",))
    as_csv = _as_csv(request)
    points = service.user_statistics(context.store, principal, query)
    if as_csv:
        return _csv(points_csv(points), "user", query)
    return _json(points)


@_route(
    "/app/{app_id}/bundle_usage",
    summary="Share of the app's active devices on each bundle version, by day",
    openapi_extra=parameters(APP_ID, query=("from", "to", "format")),
    responses={
        **ok(
            BundleUsage,
            BUNDLE_USAGE_CSV,
            "The day labels, and one dataset per version in use on at least one of them",
        ),
        **APP_ERRORS,
    },
)
def bundle_usage(request: Request, principal: Authenticated, context: Context) -> Response:
    app_id: str = request.path_params["app_id"]
    query = parse_query(request.query_params, today(context.clock()))
    as_csv = _as_csv(request)
    answer = service.app_bundle_usage(
        context.store, principal, app_id, query, context.settings.max_answer_rows
    )
    if as_csv:
        return _csv(bundle_usage_csv(answer), f"bundle-usage-{app_id}", query)
    return _json(answer)


@_route(
    "/app/{app_id}/health",
    summary="Update health of each version of the app: installs, rollbacks, crashes, by day",
    openapi_extra=parameters(APP_ID, query=("from", "to", "format")),
    responses={
        **ok(
            Health,
            HEALTH_CSV,
            "The day labels, and one entry per version with a non-zero total: its distinct"
            " devices of each class up to `to`, per label day, and its rates (CSV: a `total`"
            " row, then one row per day, for each version)",
        ),
        **APP_ERRORS,
    },
)
def health(request: Request, principal: Authenticated, context: Context) -> Response:
    app_id: str = request.path_params["app_id"]
    query = parse_query(request.query_params, today(context.clock()))
    as_csv = _as_csv(request)
    answer = service.app_health(
        context.store, principal, app_id, query, context.settings.max_answer_rows
    )
    if as_csv:
        return _csv(health_csv(answer), f"health-{app_id}", query)
    return _json(answer)


@_route(
    "/app/{app_id}/adoption",
    summary="Each version's share on one day, its first day, and when it may reach 50 % and 90 %",
    openapi_extra=parameters(APP_ID, query=("date", "format")),
    responses={
        **ok(
            Adoption,
            ADOPTION_CSV,
            "The date, and every version with devices on it: bundle_usage's share and count, the"
            " version's first day, and the forecast days",
        ),
        **APP_ERRORS,
    },
)
def adoption(request: Request, principal: Authenticated, context: Context) -> Response:
    app_id: str = request.path_params["app_id"]
    day = parse_adoption_day(request.query_params, today(context.clock()))
    as_csv = _as_csv(request)
    answer = service.app_adoption(context.store, principal, app_id, day)
    if as_csv:
        return _csv_file(adoption_csv(answer), f"adoption-{app_id}-{day_to_iso(day)}")
    return _json(answer)
