"""What the plugin URLs answer, shared by the ASGI front that serves them (plugin/front.py) and
the routes that describe them in the OpenAPI document (plugin/endpoints.py).

A plugin request is small and frequent, so its usual path does all its work on the event loop,
with no worker thread: the token from the cache of live tokens, the rate limit counted in
memory, the body (up to 64 KiB) parsed and validated in place, and the write handed to the group
commit, which answers the loop when the transaction is durable. A token not read within the last
second, a limit counted in Redis, or a larger body take a worker thread for that step.
Errors are raised as PluginError (the plugin's shape).
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from otastats.context import ServiceContext
from otastats.errors import TooManyRequests
from otastats.ingest.rules import EventError
from otastats.ingest.service import Prepared
from otastats.plugin import errors
from otastats.plugin.body import PARSED_ON_LOOP_BYTES, events_of, parse_json, read_body
from otastats.plugin.service import StatsBatch, validate_stats, validate_update_check
from otastats.plugin.token_cache import LiveTokens
from otastats.plugin.upstream import Upstream, UpstreamFailed
from otastats.request_body import Body
from otastats.storage.records import PluginToken

_OK = b'{"status":"ok"}'
_UP_TO_DATE = orjson.dumps(
    {
        "error": "no_new_version_available",
        "message": "No new version available",
        "kind": "up_to_date",
    }
)


def _json(body: bytes, status: int = 200) -> Response:
    return Response(body, status_code=status, media_type="application/json")


@dataclass(frozen=True)
class PluginUrls:
    context: ServiceContext
    tokens: LiveTokens
    upstream: Upstream

    @classmethod
    def of(cls, context: ServiceContext) -> PluginUrls:
        upstream = Upstream(context.settings.upstream_timeout_ms)
        return cls(context, LiveTokens(context.store), upstream)

    async def token(self, request: Request, token: str) -> PluginToken:
        """The live token of the URL, counted against the rate limit; before any body is read."""
        address = request.client.host if request.client else "unknown"
        found = self.tokens.kept(token)
        if found is not None and self.context.limits.plugin_counted_in_memory:
            self._count(found, address)
            return found
        # A database read, or a count in Redis: not on the event loop.
        return await run_in_threadpool(self._read_and_count, token, found, address)

    def _read_and_count(self, token: str, found: PluginToken | None, address: str) -> PluginToken:
        if found is None:
            found = self.tokens.read(token)
            if found is None:
                raise errors.UNKNOWN_URL
        self._count(found, address)
        return found

    def _count(self, found: PluginToken, address: str) -> None:
        try:
            self.context.limits.hit_plugin(found.token_id, address)
        except TooManyRequests as exc:
            raise errors.too_many(exc.error, exc.retry_after) from None

    async def get_stats(self, request: Request, token: str) -> Response:
        await self.token(request, token)
        return _json(_OK)

    async def post_stats(self, request: Request, token: str) -> Response:
        found = await self.token(request, token)
        body = await read_body(request)
        received = self.context.now()
        if len(body) <= PARSED_ON_LOOP_BYTES:
            is_array, batch = _stats_of(body, found.app_id, received)
        else:
            is_array, batch = await run_in_threadpool(_stats_of, body, found.app_id, received)
        if batch.prepared is not None:
            await self.context.writes.write_async(batch.prepared)
        failed = batch.errors
        if not is_array:
            if failed:
                raise errors.invalid_event(failed[0])
            return _json(_OK)
        results: list[dict[str, object]] = [
            {"status": "ok", "index": index}
            if index not in failed
            else {
                "status": "error",
                "index": index,
                "error": "invalid_event",
                "message": failed[index],
            }
            for index in range(batch.count)
        ]
        return _json(orjson.dumps({"status": "ok", "results": results}))

    async def post_updates(self, request: Request, token: str) -> Response:
        found = await self.token(request, token)
        body = await read_body(request)
        received = self.context.now()
        if len(body) <= PARSED_ON_LOOP_BYTES:
            prepared = _check_in_of(body, found.app_id, received)
        else:
            prepared = await run_in_threadpool(_check_in_of, body, found.app_id, received)
        # Recorded whatever the update server answers.
        await self.context.writes.write_async(prepared)
        if found.upstream is None:
            return _json(_UP_TO_DATE)
        try:
            answer = await self.upstream.forward(found.upstream, bytes(body), dict(request.headers))
        except UpstreamFailed as exc:
            raise errors.upstream_unavailable(str(exc)) from None
        # The content type as the update server wrote it (a media_type would gain a charset).
        headers = {} if answer.content_type is None else {"content-type": answer.content_type}
        return Response(answer.body, status_code=answer.status, headers=headers)


def _stats_of(body: Body, app_id: str, received: int) -> tuple[bool, StatsBatch]:
    """(whether the body is an array, its events validated)."""
    raw_events, is_array = events_of(parse_json(body))
    return is_array, validate_stats(app_id, raw_events, received)


def _check_in_of(body: Body, app_id: str, received: int) -> Prepared:
    raw = parse_json(body)
    try:
        return validate_update_check(app_id, raw, received)
    except EventError as exc:
        raise errors.invalid_json(str(exc)) from None
