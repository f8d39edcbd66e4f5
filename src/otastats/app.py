"""The HTTP application: routes, error handling, and the shared service context."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline
from starlette.responses import Response

from otastats import __version__
from otastats.alerts.endpoints import router as alerts_router
from otastats.alerts.hook import AlertHook
from otastats.auth.rate_limits import RateLimits
from otastats.config import Settings
from otastats.context import Clock, ServiceContext, clock_for
from otastats.dashboard.endpoints import router as dashboard_router
from otastats.http_errors import install_error_handlers
from otastats.ingest.endpoints import router as ingest_router
from otastats.ingest.group_commit import GroupCommit
from otastats.me.endpoints import router as me_router
from otastats.plugin.endpoints import install as install_plugin_urls
from otastats.schemas import SERVER_ANSWERS
from otastats.stats.endpoints import router as stats_router
from otastats.storage import Store, open_store
from otastats.timeparse import datetime_to_micros

log = logging.getLogger("otastats")


def create_app(
    settings: Settings | None = None,
    *,
    store: Store | None = None,
    clock: Clock | None = None,
    alerts: AlertHook | None = None,
) -> FastAPI:
    settings = settings or Settings.from_env()
    if store is None:
        store = open_store(settings.database_url, query_timeout_ms=settings.query_timeout_ms)
    # The interactive docs are served from the installed package's assets, never from a CDN.
    app = FastAPIOffline(
        title="otastats",
        version=__version__,
        description="Exact, real-time usage statistics for live-update (OTA) platforms.",
        redirect_slashes=False,
        redoc_url=None,
        static_url="/docs-assets",
        lifespan=_close_rate_limits,
        # Every operation, present and future, documents what the server answers before it.
        responses=SERVER_ANSWERS,
    )
    app_clock = clock or clock_for(settings)
    if alerts is None:
        alerts = AlertHook(store, clock=lambda: datetime_to_micros(app_clock()))
    app.state.context = context = ServiceContext(
        settings=settings,
        store=store,
        clock=app_clock,
        limits=RateLimits.from_settings(settings, store),
        writes=GroupCommit(store, after_commit=alerts.after_commit),
        alerts=alerts,
    )
    install_error_handlers(app)
    install_plugin_urls(app, context)
    app.include_router(stats_router)
    app.include_router(ingest_router)
    app.include_router(me_router)
    app.include_router(dashboard_router)
    app.include_router(alerts_router)

    @app.get("/healthz", tags=["service"], summary="Liveness check; needs no key")
    def healthz() -> Response:
        return Response(b'{"status":"ok"}', media_type="application/json")

    return app


@asynccontextmanager
async def _close_rate_limits(app: FastAPI) -> AsyncIterator[None]:
    yield
    context: ServiceContext = app.state.context
    context.limits.close()
    context.alerts.close()
    await app.state.plugin.upstream.close()
