"""HTTP route of alerts: GET /alerts/app/:app_id, what the dashboard shows of an app's alerts.
Alerts are created and deleted with the command line only."""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from otastats.alerts.app_view import app_alerts
from otastats.alerts.schemas import AppAlerts
from otastats.auth.dependencies import Authenticated, Context
from otastats.errors import AppForbidden
from otastats.schemas import API_KEY, NO_ROUTE, error_response, key_errors
from otastats.stats.schemas import APP_ID

router = APIRouter(prefix="/alerts", tags=["alerts"], dependencies=API_KEY)

_RESPONSES = {
    200: {"model": AppAlerts, "description": "The app's alerts and their state"},
    403: error_response(
        AppForbidden.status,
        "the key may not read the app, or the app does not exist or is deleted, or the id is"
        " malformed: the same answer in every case",
    ),
    404: NO_ROUTE,
    **key_errors("Cannot get alerts"),
}


async def alerts_of_app(request: Request, principal: Authenticated, context: Context) -> Response:
    app_id: str = request.path_params["app_id"]
    body = await run_in_threadpool(
        app_alerts, context.store, context.alerts.alerts, principal, app_id, context.now()
    )
    return Response(orjson.dumps(body), media_type="application/json")


router.add_api_route(
    "/app/{app_id}",
    alerts_of_app,
    methods=["GET"],
    summary="The alerts of one app and their state",
    openapi_extra={"parameters": [APP_ID]},
    responses=_RESPONSES,
)
router.add_api_route("/app/{app_id}/", alerts_of_app, methods=["GET"], include_in_schema=False)
