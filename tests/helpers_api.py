"""Helpers for tests that go through the real HTTP app: event builders, ingest and GET calls."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from typing import Any

import orjson
from fastapi.testclient import TestClient

NDJSON = "application/x-ndjson"

APP_FORBIDDEN = {
    "status": "You can't access this app",
    "error": "The API key may not access this app, or the app does not exist",
}
ORG_FORBIDDEN = {
    "status": "You can't access this organization",
    "error": "The API key may not access this organization, or the organization does not exist",
}
NO_ORGANIZATIONS = {
    "status": "No organizations found",
    "error": "The API key's user is a member of no organization it may read",
}


def at(day: str, time: str = "12:00:00") -> str:
    """An RFC 3339 UTC timestamp on ``day`` (YYYY-MM-DD)."""
    return f"{day}T{time}Z"


def seen(
    app_id: str,
    device_id: str,
    timestamp: str,
    version: str = "1.0.0",
    platform: str = "ios",
    **extra: Any,
) -> dict[str, Any]:
    return {
        "type": "device_seen",
        "app_id": app_id,
        "device_id": device_id,
        "timestamp": timestamp,
        "version_name": version,
        "platform": platform,
        **extra,
    }


def download(
    app_id: str,
    device_id: str,
    timestamp: str,
    size: int,
    version: str = "1.0.0",
    **extra: Any,
) -> dict[str, Any]:
    return {
        "type": "download",
        "app_id": app_id,
        "device_id": device_id,
        "timestamp": timestamp,
        "version_name": version,
        "bytes": size,
        **extra,
    }


def created(app_id: str, version: str, size: int, timestamp: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "bundle_created",
        "app_id": app_id,
        "version_name": version,
        "bytes": size,
        "timestamp": timestamp,
        **extra,
    }


def deleted(app_id: str, version: str, timestamp: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "bundle_deleted",
        "app_id": app_id,
        "version_name": version,
        "timestamp": timestamp,
        **extra,
    }


def ndjson(events: Iterable[object]) -> bytes:
    return b"".join(orjson.dumps(event) + b"\n" for event in events)


def auth(key: str) -> dict[str, str]:
    return {"authorization": key}


def post_events(
    client: TestClient,
    key: str | None,
    events: Iterable[object] | bytes,
    *,
    content_type: str = NDJSON,
    headers: Mapping[str, str] | None = None,
) -> Any:
    """POST /ingest/events; ``events`` is sent as NDJSON unless it is already bytes."""
    body = events if isinstance(events, bytes) else ndjson(events)
    all_headers = {"content-type": content_type, **(headers or {})}
    if key is not None:
        all_headers["authorization"] = key
    return client.post("/ingest/events", content=body, headers=all_headers)


def ingest_ok(client: TestClient, key: str, events: list[dict[str, Any]]) -> None:
    """Ingest events that must all be accepted."""
    response = post_events(client, key, events)
    assert response.status_code == 200, response.text
    assert response.json() == {"accepted": len(events), "duplicates": 0, "rejected": []}


def get(client: TestClient, key: str | None, path: str, **params: str) -> Any:
    """A GET that does not follow redirects, so that a redirect would show."""
    headers = auth(key) if key is not None else {}
    return client.get(path, params=params, headers=headers, follow_redirects=False)


def get_ok(client: TestClient, key: str, path: str, **params: str) -> Any:
    """The JSON of a GET that must answer 200."""
    response = get(client, key, path, **params)
    assert response.status_code == 200, response.text
    return response.json()


def day_range(first: str, last: str) -> list[str]:
    start, end = date.fromisoformat(first), date.fromisoformat(last)
    return [(start + timedelta(days=i)).isoformat() for i in range((end - start).days + 1)]


def series(
    dates: list[str], mau: list[int], storage: list[int], bandwidth: list[int]
) -> list[dict[str, Any]]:
    """Expected points, one per date."""
    assert len(dates) == len(mau) == len(storage) == len(bandwidth)
    return [
        {"date": d, "mau": m, "storage": s, "bandwidth": b}
        for d, m, s, b in zip(dates, mau, storage, bandwidth, strict=True)
    ]
