"""The only code that makes outbound HTTP calls: one signed POST of a webhook call.

Redirects are not followed (a redirect is a failed attempt), proxies of the environment are not
used, and the whole attempt (connecting, sending, the answer's status line) has one deadline, so
a receiver that trickles bytes cannot hold it longer. The answer's body is never read.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import httpx2

from otastats import __version__
from otastats.alerts.signing import signature


@dataclass(frozen=True, slots=True)
class Outcome:
    http_status: int | None
    error: str | None


def new_client(timeout_s: float) -> httpx2.AsyncClient:
    return httpx2.AsyncClient(follow_redirects=False, trust_env=False, timeout=timeout_s)


async def post_call(
    client: httpx2.AsyncClient,
    url: str,
    body: bytes,
    secret: str,
    *,
    timestamp: int,
    timeout_s: float,
) -> Outcome:
    """POST ``body`` to ``url``, signed at ``timestamp`` (unix seconds)."""
    headers = {
        "content-type": "application/json",
        "otastats-signature": signature(secret, timestamp, body),
        "user-agent": f"otastats/{__version__}",
    }
    try:
        async with asyncio.timeout(timeout_s):
            async with client.stream("POST", url, content=body, headers=headers) as response:
                status = response.status_code
    except (TimeoutError, httpx2.TimeoutException):
        return Outcome(None, f"no answer within {timeout_s:g} s")
    except httpx2.HTTPError as exc:
        return Outcome(None, f"{type(exc).__name__}: {exc}".removesuffix(": "))
    if 200 <= status < 300:
        return Outcome(status, None)
    if 300 <= status < 400:
        return Outcome(status, f"the receiver answered {status}, a redirect (not followed)")
    return Outcome(status, f"the receiver answered {status}")
