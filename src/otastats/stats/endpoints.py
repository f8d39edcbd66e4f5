"""HTTP routes of the Statistics API: authenticate, parse the query, call one service, and
write the answer as JSON, or as CSV when the client asks for it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import orjson
from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from otastats.auth.dependencies import Authenticated, Context
from otastats.schemas import error_responses
from otastats.stats import service
from otastats.stats.csv_export import breakdown_csv, bundle_usage_csv, points_csv
from otastats.stats.parser import StatsQuery, parse_query
from otastats.stats.response_format import CSV_MEDIA_TYPE, wants_csv
from otastats.stats.schemas import BundleUsage, OrgBreakdown, StatsPoint
from otastats.timeparse import day_to_iso, today

router = APIRouter(prefix="/statistics", tags=["statistics"])

DateParam = Annotated[
    str | None,
    Query(
        description="YYYY-MM-DD, or an RFC 3339 date-time with an offset (its UTC date); inclusive",
        examples=["2024-01-01"],
    ),
]
FlagParam = Annotated[str | None, Query(description="true or false (default false)")]
FormatParam = Annotated[
    str | None,
    Query(
        alias="format",
        description="csv or json; without it, CSV when the Accept header asks for text/csv",
    ),
]
ERRORS = error_responses(400, 401, 403, 429, 500)


def _ok(model: object, example: str) -> dict[int | str, dict[str, Any]]:
    """The 200 answer: the JSON model, or CSV text."""
    return {
        200: {
            "model": model,
            "content": {CSV_MEDIA_TYPE: {"schema": {"type": "string"}, "example": example}},
        }
    }


POINTS_EXAMPLE = "date,mau,storage,bandwidth\r\n2024-01-01,1500,536870912,1073741824\r\n"


def _json(value: Any) -> Response:
    return Response(orjson.dumps(value), media_type="application/json", headers={"Vary": "Accept"})


def _csv(text: str, name: str, query: StatsQuery) -> Response:
    days = day_to_iso(query.from_day)
    if query.to_day > query.from_day:
        days += "-" + day_to_iso(query.to_day)
    daily = "-daily" if query.no_accumulate else ""
    return Response(
        text.encode(),
        media_type=f"{CSV_MEDIA_TYPE}; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="otastats-{name}-{days}{daily}.csv"',
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


@_route(
    "/app/{app_id}",
    summary="Daily statistics of one app",
    responses={**_ok(list[StatsPoint], POINTS_EXAMPLE), **ERRORS},
)
def app_statistics(
    app_id: str,
    request: Request,
    principal: Authenticated,
    context: Context,
    from_: Annotated[DateParam, Query(alias="from")] = None,
    to: DateParam = None,
    noAccumulate: FlagParam = None,
    format_: FormatParam = None,
) -> Response:
    query = parse_query(request.query_params, today(context.clock()), ("noAccumulate",))
    as_csv = _as_csv(request)
    points = service.app_statistics(context.store, principal, app_id, query)
    if as_csv:
        return _csv(points_csv(points), f"app-{app_id}", query)
    return _json(points)


@_route(
    "/org/{org_id}",
    summary="Daily statistics of one organization, optionally broken down by app",
    responses={
        **_ok(list[StatsPoint] | OrgBreakdown, POINTS_EXAMPLE),
        **ERRORS,
    },
)
def org_statistics(
    org_id: str,
    request: Request,
    principal: Authenticated,
    context: Context,
    from_: Annotated[DateParam, Query(alias="from")] = None,
    to: DateParam = None,
    breakdown: FlagParam = None,
    noAccumulate: FlagParam = None,
    format_: FormatParam = None,
) -> Response:
    query = parse_query(request.query_params, today(context.clock()), ("breakdown", "noAccumulate"))
    as_csv = _as_csv(request)
    answer = service.org_statistics(context.store, principal, org_id, query)
    if not as_csv:
        return _json(answer)
    if isinstance(answer, dict):
        return _csv(breakdown_csv(answer["byApp"]), f"org-{org_id}-by-app", query)
    return _csv(points_csv(answer), f"org-{org_id}", query)


@_route(
    "/user",
    summary="Daily statistics summed over what the key may read",
    responses={
        **_ok(list[StatsPoint], POINTS_EXAMPLE),
        **error_responses(400, 401, 404, 429, 500),
    },
)
def user_statistics(
    request: Request,
    principal: Authenticated,
    context: Context,
    from_: Annotated[DateParam, Query(alias="from")] = None,
    to: DateParam = None,
    noAccumulate: FlagParam = None,
    format_: FormatParam = None,
) -> Response:
    query = parse_query(request.query_params, today(context.clock()), ("noAccumulate",))
    as_csv = _as_csv(request)
    points = service.user_statistics(context.store, principal, query)
    if as_csv:
        return _csv(points_csv(points), "user", query)
    return _json(points)


@_route(
    "/app/{app_id}/bundle_usage",
    summary="Share of the app's active devices on each bundle version, by day",
    responses={
        **_ok(
            BundleUsage,
            "date,1.0.0 %,1.0.1 %,1.0.0 devices,1.0.1 devices\r\n2024-01-01,60.5,39.5,605,395\r\n",
        ),
        **ERRORS,
    },
)
def bundle_usage(
    app_id: str,
    request: Request,
    principal: Authenticated,
    context: Context,
    from_: Annotated[DateParam, Query(alias="from")] = None,
    to: DateParam = None,
    format_: FormatParam = None,
) -> Response:
    query = parse_query(request.query_params, today(context.clock()))
    as_csv = _as_csv(request)
    answer = service.app_bundle_usage(context.store, principal, app_id, query)
    if as_csv:
        return _csv(bundle_usage_csv(answer), f"bundle-usage-{app_id}", query)
    return _json(answer)
