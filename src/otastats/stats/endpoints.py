"""HTTP routes of the Statistics API: authenticate, parse the query, call one service."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import orjson
from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from otastats.auth.dependencies import Authenticated, Context
from otastats.schemas import error_responses
from otastats.stats import service
from otastats.stats.parser import parse_query
from otastats.stats.schemas import BundleUsage, OrgBreakdown, StatsPoint
from otastats.timeparse import today

router = APIRouter(prefix="/statistics", tags=["statistics"])

DateParam = Annotated[
    str | None,
    Query(
        description="YYYY-MM-DD, or an RFC 3339 date-time with an offset (its UTC date); inclusive",
        examples=["2024-01-01"],
    ),
]
FlagParam = Annotated[str | None, Query(description="true or false (default false)")]
ERRORS = error_responses(400, 401, 403, 429, 500)


def _json(value: Any) -> Response:
    return Response(orjson.dumps(value), media_type="application/json")


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
    responses={200: {"model": list[StatsPoint]}, **ERRORS},
)
def app_statistics(
    app_id: str,
    request: Request,
    principal: Authenticated,
    context: Context,
    from_: Annotated[DateParam, Query(alias="from")] = None,
    to: DateParam = None,
    noAccumulate: FlagParam = None,
) -> Response:
    query = parse_query(request.query_params, today(context.clock()), ("noAccumulate",))
    return _json(service.app_statistics(context.store, principal, app_id, query))


@_route(
    "/org/{org_id}",
    summary="Daily statistics of one organization, optionally broken down by app",
    responses={200: {"model": list[StatsPoint] | OrgBreakdown}, **ERRORS},
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
) -> Response:
    query = parse_query(request.query_params, today(context.clock()), ("breakdown", "noAccumulate"))
    return _json(service.org_statistics(context.store, principal, org_id, query))


@_route(
    "/user",
    summary="Daily statistics summed over what the key may read",
    responses={200: {"model": list[StatsPoint]}, **error_responses(400, 401, 404, 429, 500)},
)
def user_statistics(
    request: Request,
    principal: Authenticated,
    context: Context,
    from_: Annotated[DateParam, Query(alias="from")] = None,
    to: DateParam = None,
    noAccumulate: FlagParam = None,
) -> Response:
    query = parse_query(request.query_params, today(context.clock()), ("noAccumulate",))
    return _json(service.user_statistics(context.store, principal, query))


@_route(
    "/app/{app_id}/bundle_usage",
    summary="Share of the app's active devices on each bundle version, by day",
    responses={200: {"model": BundleUsage}, **ERRORS},
)
def bundle_usage(
    app_id: str,
    request: Request,
    principal: Authenticated,
    context: Context,
    from_: Annotated[DateParam, Query(alias="from")] = None,
    to: DateParam = None,
) -> Response:
    query = parse_query(request.query_params, today(context.clock()))
    return _json(service.app_bundle_usage(context.store, principal, app_id, query))
