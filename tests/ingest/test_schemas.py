"""Event validation details that every storage backend relies on."""

from __future__ import annotations

import pytest

from otastats.ingest.rules import EventError
from otastats.ingest.schemas import validate_event

NOW = 1_710_504_000_000_000  # 2024-03-15T12:00:00Z


def check_in(**fields: object) -> dict[str, object]:
    event: dict[str, object] = {
        "type": "device_seen",
        "app_id": "com.example.app",
        "device_id": "device-1",
        "timestamp": "2024-03-15T10:00:00Z",
        "version_name": "1.0.0",
        "platform": "ios",
    }
    event.update(fields)
    return event


@pytest.mark.parametrize("field", ["device_id", "version_name", "event_id", "channel"])
def test_a_nul_character_is_rejected_naming_the_field(field: str) -> None:
    # PostgreSQL text cannot hold U+0000: such an event must be rejected on its own, not fail
    # the whole batch at write time.
    with pytest.raises(EventError, match=f"^{field}: must not contain the NUL character"):
        validate_event(check_in(**{field: "a\x00b"}), NOW)


def test_other_control_characters_are_kept() -> None:
    event = validate_event(check_in(device_id="a\tb\u0001"), NOW)
    assert event.device_id == "a\tb\u0001"


@pytest.mark.parametrize(
    "timestamp",
    [
        "1999-12-31T23:59:59.999999Z",
        "2000-01-01T00:30:00+01:00",  # 1999-12-31T23:30:00Z
        "0001-01-01T00:00:00Z",
    ],
)
def test_a_timestamp_before_2000_is_rejected(timestamp: str) -> None:
    with pytest.raises(EventError, match=r"^timestamp: must not be before 2000-01-01T00:00:00Z"):
        validate_event(check_in(timestamp=timestamp), NOW)


def test_the_first_instant_of_2000_is_accepted() -> None:
    assert validate_event(check_in(timestamp="2000-01-01T00:00:00Z"), NOW).ts == 946_684_800_000_000


@pytest.mark.parametrize(
    "timestamp", ["２024-03-15T10:00:00Z", "2024-03-15T1０:00:00Z", "2024-03-15T10:00:00.５Z"]
)
def test_a_timestamp_with_a_digit_that_is_not_ascii_is_rejected(timestamp: str) -> None:
    with pytest.raises(EventError, match=r"^timestamp: must be an RFC 3339 date-time"):
        validate_event(check_in(timestamp=timestamp), NOW)
