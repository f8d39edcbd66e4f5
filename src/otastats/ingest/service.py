"""The ingestion pipeline: validate, authorize, deduplicate, then apply in one transaction."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from otastats.ingest.apply import apply_events
from otastats.ingest.body import Undecodable
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
    for index, event in valid:
        reason = reasons[event.app_id]
        if reason is None:
            allowed.append(event)
        else:
            rejected[index] = reason
    return Prepared(allowed, rejected)


def write_prepared(tx: WriteTx, prepared: Prepared) -> IngestResult:
    """Deduplicate and apply one prepared request inside an open write transaction."""
    allowed = prepared.allowed
    with_ids = [event for event in allowed if event.event_id is not None]
    claimed = tx.claim_event_ids([(e.app_id, e.event_id or "") for e in with_ids])
    duplicate = {id(event) for event, new in zip(with_ids, claimed, strict=True) if not new}
    fresh = [event for event in allowed if id(event) not in duplicate]
    apply_events(tx, fresh)
    return IngestResult(len(fresh), len(duplicate), sorted(prepared.rejected.items()))


def write_all(tx: WriteTx, batches: Sequence[Prepared]) -> list[IngestResult]:
    """Write prepared batches in one transaction, in order, after locking every app they
    touch at once (all of them before any write, so that concurrent writers cannot deadlock)."""
    tx.lock_apps(sorted({event.app_id for batch in batches for event in batch.allowed}))
    return [write_prepared(tx, batch) for batch in batches]


def ingest(store: Store, raw_events: Sequence[object], now: int, check: AppCheck) -> IngestResult:
    """Validate, authorize and write one batch in its own transaction."""
    prepared = prepare(store, raw_events, now, check)
    with store.writer() as tx:
        return write_all(tx, [prepared])[0]
