"""Forwarding update checks to an app's own update server (`plugin create --upstream URL`).

The only outbound HTTP of the plugin URLs. One client for the process keeps connections to
each update server open between requests; every call is bounded by
``OTASTATS_UPSTREAM_TIMEOUT_MS`` (0: no bound). The answer is passed back as it is (status,
body, content type); a failure to get one is UpstreamFailed.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx2

_FORWARDED_HEADERS = ("content-type", "user-agent", "accept", "accept-language")
"""Request headers passed on; the others (host, connection, lengths) belong to each hop."""


class UpstreamFailed(Exception):
    """No answer from the update server: unreachable, refused, or too slow."""


@dataclass(frozen=True, slots=True)
class UpstreamAnswer:
    status: int
    body: bytes
    content_type: str | None


class Upstream:
    def __init__(self, timeout_ms: int) -> None:
        self._timeout = httpx2.Timeout(timeout_ms / 1000 if timeout_ms else None)
        self._client: httpx2.AsyncClient | None = None

    def _http(self) -> httpx2.AsyncClient:
        # Made on first use, inside the server's event loop, which its connections belong to.
        if self._client is None:
            self._client = httpx2.AsyncClient(
                timeout=self._timeout,
                follow_redirects=False,
                trust_env=False,
                limits=httpx2.Limits(max_connections=100, max_keepalive_connections=20),
            )
        return self._client

    async def forward(self, url: str, body: bytes, headers: dict[str, str]) -> UpstreamAnswer:
        sent = {name: headers[name] for name in _FORWARDED_HEADERS if name in headers}
        try:
            response = await self._http().post(url, content=body, headers=sent)
        except httpx2.TimeoutException:
            raise UpstreamFailed("the update server did not answer in time") from None
        except (httpx2.HTTPError, httpx2.InvalidURL, ValueError):
            raise UpstreamFailed("the update server could not be reached") from None
        return UpstreamAnswer(
            response.status_code, response.content, response.headers.get("content-type")
        )

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
