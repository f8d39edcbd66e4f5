"""The one error family of the HTTP API: every error answers ``{"status", "error"}``."""

from __future__ import annotations


class OtastatsError(Exception):
    """An error with an HTTP status, a short ``status`` sentence and an exact ``error``."""

    http_status = 500
    status = "Internal error"

    def __init__(self, error: str, *, status: str | None = None) -> None:
        super().__init__(error)
        self.error = error
        if status is not None:
            self.status = status

    def body(self) -> dict[str, str]:
        return {"status": self.status, "error": self.error}


class InvalidBody(OtastatsError):
    http_status = 400
    status = "Invalid body"


class InvalidApiKey(OtastatsError):
    http_status = 401
    status = "Invalid API key"


class AppForbidden(OtastatsError):
    """Also raised for apps that do not exist, so that keys cannot probe app ids."""

    http_status = 403
    status = "You can't access this app"

    def __init__(self) -> None:
        super().__init__("The API key may not access this app, or the app does not exist")


class OrgForbidden(OtastatsError):
    http_status = 403
    status = "You can't access this organization"

    def __init__(self) -> None:
        super().__init__(
            "The API key may not access this organization, or the organization does not exist"
        )


class NoOrganizations(OtastatsError):
    http_status = 404
    status = "No organizations found"

    def __init__(self) -> None:
        super().__init__("The API key's user is a member of no organization it may read")


class PayloadTooLarge(OtastatsError):
    http_status = 413
    status = "Payload too large"


class TooManyRequests(OtastatsError):
    http_status = 429
    status = "Too many requests"

    def __init__(self, error: str, retry_after: int) -> None:
        super().__init__(error)
        self.retry_after = max(1, retry_after)


class NotFound(OtastatsError):
    http_status = 404
    status = "Not found"


class Conflict(OtastatsError):
    """An administrative action that contradicts stored state (used by the CLI)."""

    http_status = 409
    status = "Conflict"


class RequestTimeout(OtastatsError):
    """Answered by the HTTP server itself when headers or body come too slowly."""

    http_status = 408
    status = "Request timeout"


class HeadersTooLarge(OtastatsError):
    """Answered by the HTTP server itself, before any route runs."""

    http_status = 431
    status = "Request headers too large"
