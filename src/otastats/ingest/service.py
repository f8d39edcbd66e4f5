"""The ingestion pipeline: validate, authorize, deduplicate, then apply in one transaction."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from otastats.ingest.apply import apply_events
from otastats.ingest.body import Undecodable
from otastats.ingest.byte_limits import ByteLimits
from otastats.ingest.rules import EventError
from otastats.ingest.schemas import Event, validate_event
from otastats.storage.base import Store, WriteTx
from otastats.storage.records import App

AppCheck = Callable[[App | None], str | None]
"""Given the app an event names (None when unknown), the reason it may not be written, or None."""


@dataclass(slots=True)
class IngestResult:
    accepted: int = 0
    duplicates: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)
    """(index, error) of each rejected event, by index."""

    def as_dict(self) -> dict[str, object]:
        return {
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "rejected": [{"index": index, "error": error} for index, error in self.rejected],
        }

    def add(self, other: IngestResult, offset: int) -> None:
        """Fold in the result of a later part whose first event had index ``offset``."""
        self.accepted += other.accepted
        self.duplicates += other.duplicates
        self.rejected.extend((index + offset, error) for index, error in other.rejected)


def existing_app(app: App | None) -> str | None:
    """The check of the command line, which writes with no key: the app must exist."""
    if app is None:
        return "app_id: no such app"
    if app.deleted:
        return "app_id: the app is deleted"
    return None


@dataclass(slots=True)
class Prepared:
    """A request's events after validation and authorization, ready to be written."""

    allowed: list[Event]
    rejected: dict[int, str]
    positions: list[int]
    """The index of each allowed event in the request."""


def prepare(store: Store, raw_events: Sequence[object], now: int, check: AppCheck) -> Prepared:
    rejected: dict[int, str] = {}
    valid: list[tuple[int, Event]] = []
    for index, raw in enumerate(raw_events):
        if isinstance(raw, Undecodable):
            rejected[index] = raw.error
            continue
        try:
            valid.append((index, validate_event(raw, now)))
        except EventError as exc:
            rejected[index] = str(exc)
    apps = store.get_apps({event.app_id for _, event in valid})
    reasons = {app_id: check(apps.get(app_id)) for app_id in {e.app_id for _, e in valid}}
    allowed: list[Event] = []
    positions: list[int] = []
    for index, event in valid:
        reason = reasons[event.app_id]
        if reason is None:
            allowed.append(event)
            positions.append(index)
        else:
            rejected[index] = reason
    return Prepared(allowed, rejected, positions)


def write_prepared(tx: WriteTx, prepared: Prepared) -> IngestResult:
    """Deduplicate, check the byte limits and apply one prepared request inside an open write
    transaction. Only an accepted event keeps its event id: one rejected for its bytes leaves
    the id free, for a later event of the same request too."""
    return write_all(tx, [prepared])[0]


def write_all(tx: WriteTx, batches: Sequence[Prepared]) -> list[IngestResult]:
    """Write prepared batches in one transaction, in order, after locking every app they
    touch at once (all of them before any write, so that concurrent writers cannot deadlock).

    The batches are written as one batch of all their events, in order (one statement of each
    kind for all, not for each): what each batch keeps is what it would keep written after the
    ones before it, since the event ids, the byte limits and the metric state all take the
    events one after the other."""
    every = [event for batch in batches for event in batch.allowed]
    tx.lock_apps(sorted({event.app_id for event in every}))
    keys = [(e.app_id, e.event_id) for e in every if e.event_id is not None]
    claimed = tx.claim_event_ids(keys)
    new_keys = {key for key, new in zip(keys, claimed, strict=True) if new}
    kept: set[tuple[str, str]] = set()
    limits = ByteLimits(tx, every)
    fresh: list[Event] = []
    results: list[IngestResult] = []
    for batch in batches:
        rejected = dict(batch.rejected)
        accepted = duplicates = 0
        for position, event in zip(batch.positions, batch.allowed, strict=True):
            key = None if event.event_id is None else (event.app_id, event.event_id)
            if key is not None and (key not in new_keys or key in kept):
                duplicates += 1
                continue
            error = limits.admit(event)
            if error is not None:
                rejected[position] = error
                continue
            fresh.append(event)
            accepted += 1
            if key is not None:
                kept.add(key)
        results.append(IngestResult(accepted, duplicates, sorted(rejected.items())))
    tx.release_event_ids(sorted(new_keys - kept))
    apply_events(tx, fresh)
    return results


def ingest(store: Store, raw_events: Sequence[object], now: int, check: AppCheck) -> IngestResult:
    """Validate, authorize and write one batch in its own transaction."""
    prepared = prepare(store, raw_events, now, check)
    with store.writer() as tx:
        return write_all(tx, [prepared])[0]
