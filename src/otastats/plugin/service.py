"""Recording the plugin's traffic: validate each event on its own, then hand the valid ones to
the write path of `/ingest/events` (group commit, event-id deduplication, the exact engine).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from otastats.ingest.rules import EventError
from otastats.ingest.schemas import Event
from otastats.ingest.service import Prepared
from otastats.plugin.events import stats_event, update_check


@dataclass(frozen=True, slots=True)
class StatsBatch:
    prepared: Prepared | None
    """The valid events, for the write path; None when there is none."""
    errors: dict[int, str]
    """index -> message of each rejected event."""
    count: int
    """Events in all."""


def validate_stats(app_id: str, raw_events: Sequence[object], received: int) -> StatsBatch:
    accepted: list[Event] = []
    positions: list[int] = []
    errors: dict[int, str] = {}
    for index, raw in enumerate(raw_events):
        try:
            accepted.append(stats_event(raw, app_id, received))
            positions.append(index)
        except EventError as exc:
            errors[index] = str(exc)
    # No plugin event carries bytes, so the byte limits of the write path reject none.
    return StatsBatch(
        Prepared(accepted, {}, positions) if accepted else None, errors, len(raw_events)
    )


def validate_update_check(app_id: str, raw: object, received: int) -> Prepared:
    """Raises EventError when the request is not a valid check-in."""
    return Prepared([update_check(raw, app_id, received)], {}, [0])
