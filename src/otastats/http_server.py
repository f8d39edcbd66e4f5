"""The HTTP server of ``otastats serve``: uvicorn's httptools protocol, with the limits that
must apply before any route runs.

- Header floods: the request target and header fields are counted as the parser reads them,
  and a request over ``max_header_count`` fields or ``max_header_bytes`` bytes is answered 431
  at once, before the rest is kept in memory or reaches the application.
- Slow senders: a request's headers must be complete ``header_timeout`` after its first byte
  (or after the connection opened), and its body ``body_timeout`` after its headers; past
  that, the request is answered 408 (when nothing was answered yet) and the connection closed.
- A response given before the body was read (a 401 or 403 on an upload, for example) closes
  the connection: the rest of the body is never read.

These work for every route, present and future: nothing in a route has to opt in.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any, ClassVar, cast

import httptools
import orjson
import uvicorn
from uvicorn.config import LOGGING_CONFIG
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from otastats.config import Settings
from otastats.errors import HeadersTooLarge, OtastatsError, RequestTimeout
from otastats.plugin.redaction import serve_log_config

log = logging.getLogger("otastats.http")


@dataclass(frozen=True, slots=True)
class ServerLimits:
    max_header_count: int = 100
    """0: no limit."""
    max_header_bytes: int = 16_384
    """0: no limit."""
    header_timeout_s: float = 10.0
    """0: no limit."""
    body_timeout_s: float = 60.0
    """0: no limit."""

    @classmethod
    def from_settings(cls, settings: Settings) -> ServerLimits:
        return cls(
            max_header_count=settings.max_header_count,
            max_header_bytes=settings.max_header_bytes,
            header_timeout_s=settings.header_timeout_ms / 1000,
            body_timeout_s=settings.body_timeout_ms / 1000,
        )


LINGER_S = 2.0
"""How long a connection answered early still reads (and drops) what the client sends."""


class _OverLimit(Exception):
    """Raised from a parser callback to stop parsing a request that passed a header limit."""


def early_answer(error: OtastatsError, extra_headers: list[tuple[bytes, bytes]]) -> bytes:
    """A whole HTTP response for ``error``, in the error family's JSON, closing the connection."""
    body = orjson.dumps(error.body())
    lines = [STATUS_LINE[error.http_status]]
    for name, value in [
        *extra_headers,
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]:
        lines.extend([name, b": ", value, b"\r\n"])
    return b"".join([*lines, b"\r\n", body])


class GuardedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, bounded by ``limits`` (set by ``protocol_class``)."""

    limits: ClassVar[ServerLimits] = ServerLimits()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_count = 0
        self._header_bytes = 0
        self._request_begun = False
        self._begun_in_chunk = False
        self._awaiting_headers = True
        self._unparsed_header_bytes = 0
        self._finished = False
        self._deadline: asyncio.TimerHandle | None = None

    # --- connection ---------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(self.limits.header_timeout_s, "headers")

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._finished:
            return
        self._unset_keepalive_if_required()
        self._begun_in_chunk = False
        try:
            self.parser.feed_data(data)
            self._count_unparsed(len(data))
        except _OverLimit as exc:
            self._finish(HeadersTooLarge(str(exc)))
        except httptools.HttpParserCallbackError as exc:
            if isinstance(exc.__context__, _OverLimit):
                self._finish(HeadersTooLarge(str(exc.__context__)))
            else:
                self._invalid_request()
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
        except httptools.HttpParserError:
            self._invalid_request()

    def _invalid_request(self) -> None:
        message = "Invalid HTTP request received."
        self.logger.warning(message)
        self.send_400_response(message)

    # --- parser callbacks ---------------------------------------------------------------------
    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._header_count = 0
        self._header_bytes = 0
        self._request_begun = True
        self._begun_in_chunk = True
        self._arm(self.limits.header_timeout_s, "headers")

    def on_url(self, url: bytes) -> None:
        self._count(len(url), 0)
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value), 1)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._awaiting_headers = False
        self._unparsed_header_bytes = 0
        self._disarm()
        super().on_headers_complete()
        self._arm(self.limits.body_timeout_s, "body")

    def on_message_complete(self) -> None:
        self._disarm()
        self._request_begun = False
        self._awaiting_headers = True
        super().on_message_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        cycle = self.cycle
        # Answered before its body was all read: the rest of the body is not waited for.
        if cycle is not None and cycle.response_complete and cycle.more_body:
            self._finished = True
            self._disarm()
            self._close_softly()

    # --- limits -------------------------------------------------------------------------------
    def _count(self, size: int, fields: int) -> None:
        self._header_bytes += size
        self._header_count += fields
        limits = self.limits
        if limits.max_header_count and self._header_count > limits.max_header_count:
            raise _OverLimit(
                f"headers: more than {limits.max_header_count} header fields; send fewer"
            )
        if limits.max_header_bytes and self._header_bytes > limits.max_header_bytes:
            raise self._too_many_bytes()

    def _too_many_bytes(self) -> _OverLimit:
        return _OverLimit(
            f"headers: the request target and header fields pass"
            f" {self.limits.max_header_bytes:,} bytes; send shorter ones"
        )

    def _count_unparsed(self, size: int) -> None:
        """The parser hands over a header field only once it is complete, and keeps it until
        then: a field that never ends is bounded here, by the bytes received while the headers
        are incomplete (all of a chunk read after the request began; its first chunk, which
        may hold the end of the previous request, is not counted)."""
        if not self._awaiting_headers or not self._request_begun or self._begun_in_chunk:
            return
        self._unparsed_header_bytes += size
        limit = self.limits.max_header_bytes
        # Room for what the fields count does not (": ", line ends), then the same refusal.
        if limit and self._unparsed_header_bytes > 2 * limit + 8192:
            raise self._too_many_bytes()

    def _arm(self, seconds: float, part: str) -> None:
        self._disarm()
        if seconds > 0:
            self._deadline = self.loop.call_later(seconds, self._timed_out, part, seconds)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _timed_out(self, part: str, seconds: float) -> None:
        self._deadline = None
        if part == "headers" and not self._request_begun:
            # A connection that opened and sent nothing: closed without a word.
            self._finish(None)
            return
        self._finish(
            RequestTimeout(
                f"{part}: not received within {seconds:g} s; send the whole request at once"
            )
        )

    def _finish(self, error: OtastatsError | None) -> None:
        """Answers ``error`` unless a response is under way, then closes the connection."""
        self._finished = True
        self._disarm()
        if self.transport.is_closing():
            return
        cycle = self.cycle
        in_flight = cycle is not None and not cycle.response_complete
        if error is not None:
            client = f"{self.client[0]}:{self.client[1]}" if self.client else "unknown"
            log.info("%d to %s: %s", error.http_status, client, error.error)
            if not (in_flight and cycle is not None and cycle.response_started):
                self.transport.write(early_answer(error, self.server_state.default_headers))
        if in_flight and cycle is not None:
            # The application sees the client as gone: its reads end, its answer is dropped.
            cycle.disconnected = True
            cycle.message_event.set()
        self._close_softly()

    def _close_softly(self) -> None:
        """Closes after the answer, reading (and dropping) what the client still sends for a
        moment: a socket closed with unread data resets the connection, and the reset can
        reach the client before it read the answer."""
        if self.transport.is_closing():
            return
        if not self.transport.can_write_eof():
            self.transport.close()
            return
        self.transport.write_eof()
        self.loop.call_later(LINGER_S, self.transport.close)


def protocol_class(limits: ServerLimits) -> type[asyncio.Protocol]:
    """The protocol class for uvicorn's ``http`` option, bound to ``limits``."""
    return cast(
        "type[asyncio.Protocol]",
        type("OtastatsHttpProtocol", (GuardedHttpProtocol,), {"limits": limits}),
    )


def run_server(app: Any, host: str, port: int, settings: Settings) -> None:
    """Serves ``app`` until the process is stopped, with the limits of ``settings``."""
    # otastats' own log lines (timeouts, refusals, internal errors) go where uvicorn's go.
    # Every handler drops the plugin URLs' tokens from what it writes (access log included).
    log_config = serve_log_config(LOGGING_CONFIG)
    log_config["loggers"]["otastats"] = {"handlers": ["default"], "level": "INFO"}
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level="info",
        log_config=log_config,
        http=protocol_class(ServerLimits.from_settings(settings)),
    )
