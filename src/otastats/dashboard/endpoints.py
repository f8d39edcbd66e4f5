"""Routes of the dashboard: the page and its assets, served with a strict Content-Security-Policy.

The page needs no key to load: it asks for one in the browser, and every figure it shows comes
from the Statistics API, called with that key.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.exceptions import HTTPException
from starlette.responses import FileResponse, Response

from otastats.dashboard.assets import ASSETS, PAGE, Asset

router = APIRouter(include_in_schema=False)

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
        "img-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    )
)
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # Revalidated at each load (a 304 when unchanged), so an upgrade shows at once.
    "Cache-Control": "no-cache",
}


@router.get("/dashboard")
async def dashboard(request: Request) -> Response:
    return _file(request, Asset(PAGE, "text/html; charset=utf-8"))


@router.get("/dashboard/assets/{name}")
async def dashboard_asset(name: str, request: Request) -> Response:
    asset = ASSETS.get(name)
    if asset is None:
        raise HTTPException(404)
    return _file(request, asset)


def _file(request: Request, asset: Asset) -> Response:
    stat = asset.path.stat()
    etag = f'"{stat.st_mtime_ns:x}-{stat.st_size:x}"'
    headers = {**HEADERS, "ETag": etag}
    if etag in (tag.strip() for tag in request.headers.get("if-none-match", "").split(",")):
        return Response(status_code=304, headers=headers)
    return FileResponse(asset.path, media_type=asset.media_type, headers=headers, stat_result=stat)
