"""The route GET /me: authenticate, then describe what the key may read."""

from __future__ import annotations

import orjson
from fastapi import APIRouter
from starlette.responses import Response

from otastats.auth.dependencies import Authenticated, Context
from otastats.me.schemas import Me
from otastats.me.service import describe_key
from otastats.schemas import API_KEY, key_errors

router = APIRouter(tags=["key"], dependencies=API_KEY)


@router.get(
    "/me",
    summary="The key's user, and the organizations and apps the key may read",
    responses={
        200: {"model": Me, "description": "What the key may read"},
        **key_errors("Internal error"),
    },
)
def me(principal: Authenticated, context: Context) -> Response:
    body = describe_key(context.store, principal)
    return Response(orjson.dumps(body), media_type="application/json")
