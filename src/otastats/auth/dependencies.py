"""The FastAPI dependency that authenticates a request and applies the rate limits."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from otastats.auth.permissions import Principal
from otastats.auth.service import authenticate, presented_key
from otastats.context import ServiceContext
from otastats.errors import AppForbidden, InvalidApiKey


def service_context(request: Request) -> ServiceContext:
    context: ServiceContext = request.app.state.context
    return context


Context = Annotated[ServiceContext, Depends(service_context)]


async def current_principal(request: Request, context: Context) -> Principal:
    address = request.client.host if request.client else "unknown"
    # Looked up in the headers as they came (a scan each): a dict of them was quadratic.
    key = presented_key(request.headers)
    # In a worker thread: the key lookup and the rate-limit counters (in the database or in
    # Redis) may wait on I/O, which must not stall the other requests of the event loop.
    return await run_in_threadpool(_authenticate_limited, context, address, key)


def _authenticate_limited(context: ServiceContext, address: str, key: str | None) -> Principal:
    context.limits.check_address(address)
    try:
        principal = authenticate(context.store, key, context.now())
    except InvalidApiKey:
        context.limits.record_failure(address)
        raise
    context.limits.hit_key(principal.key.key_id)
    return principal


Authenticated = Annotated[Principal, Depends(current_principal)]


async def current_writer(principal: Authenticated) -> Principal:
    """The principal of a key that may write; judged, like the key, before any body is read."""
    if not principal.may_write:
        raise AppForbidden()
    return principal


Writer = Annotated[Principal, Depends(current_writer)]
