"""HTTP route of ingestion: authenticate, read the body within its limits, call the service."""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from otastats.auth.dependencies import Context, Writer
from otastats.errors import AppForbidden, InvalidBody
from otastats.ingest.body import decode_body
from otastats.ingest.schemas_openapi import IngestAnswer, request_body
from otastats.ingest.service import IngestResult, prepare
from otastats.request_body import read_limited_body
from otastats.schemas import API_KEY, PAYLOAD_TOO_LARGE, error_response, key_errors

router = APIRouter(tags=["ingestion"], dependencies=API_KEY)


@router.post(
    "/ingest/events",
    summary="Report events (NDJSON or a JSON array)",
    openapi_extra={"requestBody": request_body()},
    responses={
        200: {"model": IngestAnswer, "description": "What became of each event"},
        400: error_response(
            InvalidBody.status,
            "a body that cannot be parsed (not a JSON array, or NDJSON of which no line is JSON),"
            " JSON nested too deep or holding too many values, or a malformed content-length",
        ),
        403: error_response(
            AppForbidden.status, "the key has mode `read` (answered before the body is read)"
        ),
        413: PAYLOAD_TOO_LARGE,
        **key_errors("Cannot ingest events"),
    },
)
async def ingest_events(request: Request, principal: Writer, context: Context) -> Response:
    # The key was judged (Writer) before this line: a read key's body is never read.
    body = await read_limited_body(request)
    content_type = request.headers.get("content-type")
    now = context.now()

    # Decoding too runs off the event loop: a large body takes tens of milliseconds.
    def validate_and_write() -> IngestResult:
        events = decode_body(body, content_type)
        prepared = prepare(context.store, events, now, principal.write_refusal)
        return context.writes.write(prepared)

    result = await run_in_threadpool(validate_and_write)
    return Response(orjson.dumps(result.as_dict()), media_type="application/json")
