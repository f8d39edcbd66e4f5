"""Recording the plugin's traffic: validate each event on its own, then hand the valid ones to
the write path of `/ingest/events` (group commit, event-id deduplication, the exact engine).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from otastats.ingest.group_commit import GroupCommit
from otastats.ingest.rules import EventError
from otastats.ingest.schemas import Event
from otastats.ingest.service import Prepared
from otastats.plugin.events import stats_event, update_check


@dataclass(frozen=True, slots=True)
class StatsOutcome:
    errors: dict[int, str]
    """index -> message of each rejected event; the others are committed (or duplicates)."""


def record_stats(
    writes: GroupCommit, app_id: str, raw_events: Sequence[object], received: int
) -> StatsOutcome:
    accepted: list[Event] = []
    positions: list[int] = []
    errors: dict[int, str] = {}
    for index, raw in enumerate(raw_events):
        try:
            accepted.append(stats_event(raw, app_id, received))
            positions.append(index)
        except EventError as exc:
            errors[index] = str(exc)
    if accepted:
        # No plugin event carries bytes, so the byte limits of the write path reject none.
        writes.write(Prepared(accepted, {}, positions))
    return StatsOutcome(errors)


def record_update_check(writes: GroupCommit, app_id: str, raw: object, received: int) -> None:
    """Raises EventError when the request is not a valid check-in; nothing is then written."""
    writes.write(Prepared([update_check(raw, app_id, received)], {}, [0]))
