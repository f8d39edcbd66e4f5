"""The Statistics API in the OpenAPI document: response shapes, parameters and answers.

The endpoints read their parameters from the request themselves (otastats.stats.parser), so that
every error is a 400 in the API's own words; the parameters are declared here as they are
accepted, and given to each route as ``openapi_extra``.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from otastats.errors import AppForbidden, InvalidBody, NoOrganizations, OrgForbidden
from otastats.schemas import INVALID_PARAMETER, NO_ROUTE, Responses, error_response, key_errors
from otastats.stats.parser import MAX_SPAN_DAYS
from otastats.stats.response_format import CSV_MEDIA_TYPE

Count = Annotated[int, Field(ge=0)]


class StatsPoint(BaseModel):
    model_config = ConfigDict(extra="forbid")

    date: dt.date
    mau: Count = Field(description="Distinct counted devices over the 30 days ending this day")
    storage: Count = Field(description="Bytes of the bundles that exist at the end of this day")
    bandwidth: Count = Field(
        description="Bytes downloaded: a running total from `from`, or this day's own with"
        " `noAccumulate=true`"
    )


class AppStatsPoint(StatsPoint):
    app_id: str


class OrgBreakdown(BaseModel):
    """The answer with ``breakdown=true``."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    global_: list[StatsPoint] = Field(alias="global", description="The answer without breakdown")
    byApp: list[AppStatsPoint] = Field(
        description="One row per app of the organization and per day, sorted by app_id, then date"
    )


class BundleDataset(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: str = Field(description="The version name")
    data: list[Annotated[float, Field(ge=0, le=100)]] = Field(
        description="Percentage of the active devices on this version, one per label day"
    )
    counts: list[Count] = Field(description="Active devices on this version, one per label day")


class BundleUsage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    labels: list[dt.date] = Field(description="Every day of the range")
    datasets: list[BundleDataset]


class AdoptionForecast(BaseModel):
    model_config = ConfigDict(extra="forbid")

    at_50: dt.date | None = Field(
        alias="50", description="The first day the share is expected to reach 50 %, or null"
    )
    at_90: dt.date | None = Field(
        alias="90", description="The first day the share is expected to reach 90 %, or null"
    )


class AdoptionVersion(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: str
    share: float = Field(ge=0, le=100, description="bundle_usage's percentage on the date")
    count: Count = Field(description="bundle_usage's device count on the date")
    first_day: dt.date = Field(
        description="The day of the version's first `bundle_created` or counted activity"
    )
    forecast: AdoptionForecast = Field(
        description="null when the share is not rising, the level was already reached, or the"
        " day lies too far ahead (see docs/metrics.md)"
    )


class Adoption(BaseModel):
    model_config = ConfigDict(extra="forbid")

    date: dt.date
    versions: list[AdoptionVersion] = Field(
        description="Every version with devices on the date, in bundle_usage's order"
    )


_DATE_RULE = (
    "`YYYY-MM-DD` (ASCII digits), or an RFC 3339 date-time with an offset (taken as its UTC date,"
    " which must lie"
    " from 0001-01-01 to 9999-12-31); inclusive."
    f" `from` must not be after `to`, and they may be at most {MAX_SPAN_DAYS} days apart;"
    " days after today (UTC) are left out"
)
_DESCRIPTIONS = {
    "from": "The first day. " + _DATE_RULE,
    "to": "The last day. " + _DATE_RULE,
    "noAccumulate": "`true`: `bandwidth` is each day's own bytes, not a running total",
    "breakdown": "`true`: also one row per app and day",
    "format": "`csv` or `json`; without it, CSV when the Accept header prefers `text/csv`",
    "date": "The day, `YYYY-MM-DD` in ASCII digits, not after today (UTC); default: today",
}
_DAY = [{"type": "string", "format": "date"}, {"type": "string", "format": "date-time"}]
_SCHEMAS: dict[str, dict[str, Any]] = {
    "from": {"anyOf": _DAY, "examples": ["2024-01-01"]},
    "to": {"anyOf": _DAY, "examples": ["2024-01-31"]},
    "noAccumulate": {"type": "string", "enum": ["true", "false"], "default": "false"},
    "breakdown": {"type": "string", "enum": ["true", "false"], "default": "false"},
    "format": {"type": "string", "enum": ["csv", "json"]},
    "date": {"type": "string", "format": "date", "examples": ["2024-01-31"]},
}


def parameters(*path: dict[str, Any], query: tuple[str, ...]) -> dict[str, Any]:
    """The ``openapi_extra`` that declares an endpoint's path and query parameters.

    ``from`` and ``to`` are required: without either (or with an empty one), the answer is 400.
    """
    return {"parameters": [*path, *_query_parameters(query)]}


def _query_parameters(names: tuple[str, ...]) -> list[dict[str, Any]]:
    return [
        {
            "name": name,
            "in": "query",
            "required": name in ("from", "to"),
            "description": _DESCRIPTIONS[name],
            "schema": _SCHEMAS[name],
        }
        for name in names
    ]


APP_ID = {
    "name": "app_id",
    "in": "path",
    "required": True,
    "description": "The app id. Any other string gets the same 403 as an app the key may not read",
    "schema": {"type": "string", "pattern": "^[A-Za-z0-9._-]{1,128}$"},
}
ORG_ID = {
    "name": "org_id",
    "in": "path",
    "required": True,
    "description": "The organization id. Any other string gets the same 403 as an organization"
    " the key may not read",
    "schema": {"type": "string", "format": "uuid"},
}
TOO_MANY_ROWS = error_response(
    InvalidBody.status,
    "a missing or malformed parameter, `error` names it and the rule; or, for an organization"
    " with `breakdown=true` and for `bundle_usage`, an answer that would hold more rows (apps or"
    " versions times days) than `OTASTATS_MAX_ANSWER_ROWS`, `error` says how many days fit",
)
APP_ERRORS: Responses = {
    400: TOO_MANY_ROWS,
    403: error_response(
        AppForbidden.status,
        "the key may not read the app, or the app does not exist or is deleted, or the id is"
        " malformed: the same answer in every case",
    ),
    404: NO_ROUTE,
    **key_errors("Cannot get app statistics"),
}
ORG_ERRORS: Responses = {
    400: TOO_MANY_ROWS,
    403: error_response(
        OrgForbidden.status,
        "the key may not read the organization (a key limited to apps never may), or it does not"
        " exist, or the id is malformed: the same answer in every case",
    ),
    404: NO_ROUTE,
    **key_errors("Cannot get organization statistics"),
}
USER_ERRORS: Responses = {
    400: INVALID_PARAMETER,
    404: error_response(
        NoOrganizations.status,
        "the key's user is a member of no organization it may read",
    ),
    **key_errors("Cannot get user statistics"),
}
_HEADERS_200 = {
    "Vary": {
        "description": "`Accept`: the answer depends on it",
        "required": True,
        "schema": {"type": "string"},
    },
    "Content-Disposition": {
        "description": 'CSV answers only: `attachment; filename="otastats-….csv"`',
        "schema": {"type": "string"},
    },
}


def ok(model: object, example: str, description: str) -> Responses:
    """The 200 answer: the JSON model, or CSV text."""
    return {
        200: {
            "model": model,
            "description": description,
            "headers": _HEADERS_200,
            "content": {CSV_MEDIA_TYPE: {"schema": {"type": "string"}, "example": example}},
        }
    }


POINTS_CSV = "date,mau,storage,bandwidth\r\n2024-01-01,1500,536870912,1073741824\r\n"
POINTS = "One point a day, sorted by date; every day of the range, zero-filled"
BUNDLE_USAGE_CSV = (
    "date,1.0.0 %,1.0.1 %,1.0.0 devices,1.0.1 devices\r\n2024-01-01,60.5,39.5,605,395\r\n"
)
ADOPTION_CSV = (
    "version,share,count,first_day,forecast_50,forecast_90\r\n"
    "1.0.0,60.5,605,2023-12-20,,\r\n1.0.1,39.5,395,2023-12-30,2024-01-03,\r\n"
)
