"""A webhook receiver for the tests: a real HTTP server on a free loopback port that records every
request it gets and answers each with the next planned answer."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson

from otastats.alerts.signing import verify


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float

    @property
    def json(self) -> dict[str, Any]:
        value: dict[str, Any] = orjson.loads(self.body)
        return value

    def signed_with(self, secret: str) -> bool:
        return verify(secret, self.headers["otastats-signature"], self.body)


@dataclass
class Receiver:
    """``plan``: the answers to give, in order (a status code, ``"hang"`` to answer nothing for
    ``hang_s``, or ``"redirect"``); once it is used up, 200."""

    plan: list[int | str] = field(default_factory=list)
    hang_s: float = 30.0
    received: list[Received] = field(default_factory=list)
    url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wait_for(self, count: int, timeout: float = 20.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.received) >= count:
                    return list(self.received)
            time.sleep(0.02)
        raise AssertionError(f"{len(self.received)} calls received, not {count}")


@contextmanager
def receiver(
    plan: list[int | str] | None = None, *, hang_s: float = 30.0, port: int = 0
) -> Iterator[Receiver]:
    state = Receiver(list(plan or []), hang_s)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            with state.lock:
                state.received.append(
                    Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body,
                             time.monotonic())
                )  # fmt: skip
                answer = state.plan.pop(0) if state.plan else 200
            if answer == "hang":
                time.sleep(state.hang_s)
                return
            if answer == "redirect":
                self.send_response(307)
                self.send_header("location", "/elsewhere")
            else:
                assert isinstance(answer, int)
                self.send_response(answer)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
