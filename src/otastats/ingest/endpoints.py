"""HTTP route of ingestion: authenticate, read the body within its limits, call the service."""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from otastats.auth.dependencies import Authenticated, Context
from otastats.config import MAX_BODY_BYTES
from otastats.errors import AppForbidden, InvalidBody, PayloadTooLarge
from otastats.ingest.body import decode_body
from otastats.ingest.schemas_openapi import IngestAnswer, request_body
from otastats.ingest.service import IngestResult, prepare
from otastats.schemas import API_KEY, PAYLOAD_TOO_LARGE, error_response, key_errors

router = APIRouter(tags=["ingestion"], dependencies=API_KEY)

_TOO_LARGE = f"body: larger than {MAX_BODY_BYTES:,} bytes; send the events in several requests"


async def read_limited_body(request: Request) -> bytes:
    """The body, refused with 413 as soon as it is known to pass the size limit."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            if int(declared) > MAX_BODY_BYTES:
                raise PayloadTooLarge(_TOO_LARGE)
        except ValueError:
            raise InvalidBody("content-length: must be a whole number") from None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise PayloadTooLarge(_TOO_LARGE)
        chunks.append(chunk)
    return b"".join(chunks)


@router.post(
    "/ingest/events",
    summary="Report events (NDJSON or a JSON array)",
    openapi_extra={"requestBody": request_body()},
    responses={
        200: {"model": IngestAnswer, "description": "What became of each event"},
        400: error_response(
            InvalidBody.status,
            "a body that cannot be parsed (not a JSON array, or NDJSON of which no line is JSON),"
            " or a malformed content-length",
        ),
        403: error_response(AppForbidden.status, "the key has mode `read`"),
        413: PAYLOAD_TOO_LARGE,
        **key_errors("Cannot ingest events"),
    },
)
async def ingest_events(request: Request, principal: Authenticated, context: Context) -> Response:
    body = await read_limited_body(request)
    events = decode_body(body, request.headers.get("content-type"))
    if not principal.may_write:
        raise AppForbidden()
    now = context.now()

    def validate_and_write() -> IngestResult:
        prepared = prepare(context.store, events, now, principal.write_refusal)
        return context.writes.write(prepared)

    result = await run_in_threadpool(validate_and_write)
    return Response(orjson.dumps(result.as_dict()), media_type="application/json")
