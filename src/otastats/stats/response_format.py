"""Choosing how a Statistics answer is written: JSON by default, CSV when the client asks."""

from __future__ import annotations

from collections.abc import Mapping

from otastats.errors import InvalidBody

CSV_MEDIA_TYPE = "text/csv"
JSON_MEDIA_TYPE = "application/json"


def wants_csv(params: Mapping[str, str], accept: str | None) -> bool:
    """True for ``format=csv``; without ``format``, when the Accept header asks for CSV.

    The header asks for CSV when it names ``text/csv`` with a quality above zero that is not
    below the quality it gives ``application/json``. Wildcards (``*/*``, ``text/*``) keep JSON,
    so a client that accepts anything, as browsers and curl do, gets JSON.
    """
    chosen = params.get("format")
    if chosen is not None:
        if chosen not in ("csv", "json"):
            raise InvalidBody("format: must be csv or json")
        return chosen == "csv"
    qualities = _qualities(accept or "")
    csv_quality = qualities.get(CSV_MEDIA_TYPE, 0.0)
    return csv_quality > 0 and csv_quality >= qualities.get(JSON_MEDIA_TYPE, 0.0)


def _qualities(accept: str) -> dict[str, float]:
    """Media type -> quality of each media range of an Accept header (the highest if repeated)."""
    found: dict[str, float] = {}
    for media_range in accept.split(","):
        media_type, *parameters = (part.strip() for part in media_range.split(";"))
        quality = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if not 0.0 <= quality <= 1.0:
            quality = 0.0
        media_type = media_type.lower()
        found[media_type] = max(found.get(media_type, 0.0), quality)
    return found
