"""The dashboard as the browser tests see it: the demo server, a browser tab, what they show.

The date is pinned, on both sides: the server's clock starts at ``SERVER_NOW``
(``OTASTATS_FAKE_NOW``, so the demo data end on that day), and each page's clock is fixed with
Playwright (``Tab.pin_clock``), so the tests draw the same ranges whatever day they run on.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.cli_helpers import Server, http_get
from tests.dashboard.browser import CHART_PROBE, DRAWN

SERVER_NOW = datetime(2028, 3, 1, 12, 0, tzinfo=UTC)
"""The server's "now": the 1st of a month after a 29 February; 90 days of demo data end then."""
TODAY = SERVER_NOW.date()
LINE_CHARTS = {"chart-mau": "mau", "chart-storage": "storage"}
PEOPLE_NUMBER = re.compile(r"^(\d+(?:\.\d)?) ?(B|kB|MB|GB|TB|k|M|bn)?$")
UNIT_POWERS = {None: 0, "B": 0, "k": 1, "kB": 1, "M": 2, "MB": 2, "GB": 3, "bn": 3, "TB": 4}
CSP_LISTENER = """
window.cspViolations = [];
document.addEventListener('securitypolicyviolation', (event) => {
  window.cspViolations.push({directive: event.effectiveDirective, blocked: event.blockedURI});
});
"""


@dataclass
class Demo:
    server: Server
    key: str
    org_id: str
    app_ids: list[str]
    database: str = ""
    """The server's database URL, for the command line (``otastats alert create``)."""

    @property
    def base(self) -> str:
        return self.server.base

    def api(self, path: str, **params: str) -> Any:
        query = "&".join(f"{name}={value}" for name, value in params.items())
        status, body = http_get(f"{self.base}{path}?{query}", {"authorization": self.key})
        assert status == 200, body
        return body


@dataclass
class Tab:
    """One browser tab, with what it asked the network for and the errors it met."""

    page: Any
    demo: Demo
    urls: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    draws: int = 0
    """The number of the last drawing seen: a wait is for a later one."""
    today: date = TODAY

    def pin_clock(self, day: date) -> None:
        """The page's clock reads noon (UTC) of ``day``, always (timers still run)."""
        self.today = day
        self.page.clock.set_fixed_time(datetime.combine(day, SERVER_NOW.timetz()))

    def sign_in(self, key: str | None = None) -> None:
        self.page.goto(self.demo.base + "/dashboard")
        self.page.fill("#key", key or self.demo.key)
        self.page.click("#key-form button[type=submit]")

    def reload(self) -> None:
        """Load the page again: its count of drawings starts again from zero."""
        self.page.reload()
        self.draws = 0

    def wait_drawn(self, **wanted: str) -> dict[str, str]:
        """The board's dataset once a new drawing with the ``wanted`` values is on screen."""
        self.page.wait_for_function(
            DRAWN, arg={"after": self.draws, "wanted": wanted}, timeout=30_000
        )
        board: dict[str, str] = self.page.evaluate(
            "({...document.getElementById('board').dataset})"
        )
        self.draws = int(board["draw"])
        return board

    def show(self, target: str, preset: str = "30") -> dict[str, str]:
        """Choose a target and a preset range; the board's dataset once drawn."""
        self.page.select_option("#preset", preset)
        self.page.select_option("#target", target)
        first, last = preset_range(preset, self.today)
        return self.wait_drawn(target=target, **{"from": first, "to": last})

    def custom(self, target: str, first: str, last: str) -> dict[str, str]:
        """Choose a target and a custom range; the board's dataset once drawn."""
        self.page.select_option("#target", target)
        self.wait_drawn(target=target)
        self.page.select_option("#preset", "custom")
        self.page.fill("#from", first)
        self.page.fill("#to", last)
        self.page.click("#apply")
        return self.wait_drawn(target=target, **{"from": first, "to": last})

    def chart(self, chart_id: str) -> dict[str, Any]:
        probe: dict[str, Any] = self.page.evaluate(CHART_PROBE, chart_id)
        return probe

    def shown(self, output_id: str) -> tuple[str, str]:
        """(the text, the exact value) of one of the summary figures."""
        element = self.page.locator(f"#{output_id}")
        return element.inner_text(), element.get_attribute("data-value") or ""


def preset_range(preset: str, end: date) -> tuple[str, str]:
    if preset == "month":
        return end.replace(day=1).isoformat(), end.isoformat()
    if preset == "last-month":
        last = end.replace(day=1) - timedelta(days=1)
        return last.replace(day=1).isoformat(), last.isoformat()
    return (end - timedelta(days=int(preset) - 1)).isoformat(), end.isoformat()


def assert_for_people(text: str, value: int) -> None:
    """``text`` is ``value`` in short form (1.2 GB, 15.3 k, 820), rounded to one decimal."""
    found = PEOPLE_NUMBER.match(text)
    assert found is not None, text
    scale = 1000 ** UNIT_POWERS[found.group(2)]
    assert abs(float(found.group(1)) * scale - value) <= 0.05 * scale, (text, value)


def csv_rows(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def drawn_points(chart: dict[str, Any]) -> list[int]:
    """Points drawn on screen by each line trace: the vertices of its line, or its markers."""
    return [max(pair) for pair in zip(chart["lines"], chart["markers"], strict=True)]


def dates(first: str, last: str) -> list[str]:
    """Every day from ``first`` to ``last``, ISO."""
    start = date.fromisoformat(first)
    count = (date.fromisoformat(last) - start).days + 1
    return [(start + timedelta(days=n)).isoformat() for n in range(count)]
