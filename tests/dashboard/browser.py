"""Driving Debian's headless Chromium with Playwright, and reading what the dashboard drew.

Playwright is used with the system browser only: it never downloads one of its own. Where no
Chromium can be had, the browser tests are skipped with the reason.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 900}
OUTPUT = Path(__file__).resolve().parents[2] / "test-output"
"""Where the browser tests leave their screenshots and timings (ignored by git)."""


def why_no_browser() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if importlib.util.find_spec("playwright") is None:
        return "the playwright package is not installed (it is in the dev extra: make test)"
    if not CHROMIUM.exists():
        return (
            f"no Chromium at {CHROMIUM}: install Debian's package with"
            " `apt-get install -y chromium` (.ci/run does this on CI)"
        )
    if not os.access(CHROMIUM, os.X_OK):
        return f"{CHROMIUM} is not executable"
    return None


@contextmanager
def chromium(user_data_dir: Path) -> Iterator[Any]:
    """A fresh persistent browser context of the system Chromium; closed on exit."""
    reason = why_no_browser()
    if reason is not None:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        # No browser of Playwright's own: it is told where the system one is.
        context = playwright.chromium.launch_persistent_context(
            str(user_data_dir),
            executable_path=str(CHROMIUM),
            args=CHROMIUM_ARGS,
            headless=True,
            viewport=VIEWPORT,
            accept_downloads=True,
            locale="en-US",
            timezone_id="UTC",
        )
        try:
            yield context
        finally:
            context.close()


def save_screenshot(page: Any, name: str) -> Path:
    OUTPUT.mkdir(exist_ok=True)
    path = OUTPUT / name
    page.screenshot(path=str(path), full_page=True)
    return path


def write_output(name: str, text: str) -> Path:
    OUTPUT.mkdir(exist_ok=True)
    path = OUTPUT / name
    path.write_text(text, encoding="utf-8")
    return path


# What one chart draws now: its traces, the points the library computed for each, and, in the
# SVG, the vertices of each trace's line, its markers, and its bars with their widths in pixels.
CHART_PROBE = """(id) => {
  const chart = document.getElementById(id);
  const vertices = (path) => {
    const d = path ? path.getAttribute('d') : '';
    return d ? d.split('L').length : 0;
  };
  const scatter = [...chart.querySelectorAll('.scatterlayer .trace')];
  const bars = [...chart.querySelectorAll('.barlayer .point path')];
  return {
    traces: chart.data.length,
    types: chart._fullData.map((trace) => trace.type),
    modes: chart._fullData.map((trace) => trace.mode || null),
    computed: chart.calcdata.map((trace) => trace.length),
    lines: scatter.map((trace) => vertices(trace.querySelector('path.js-line'))),
    markers: scatter.map((trace) => trace.querySelectorAll('.points path.point').length),
    bars: bars.length,
    barWidths: bars.map((bar) => Math.round(bar.getBBox().width)),
    barHeights: bars.map((bar) => Math.round(bar.getBBox().height)),
    stacks: [...chart.querySelectorAll('.barlayer .trace')].map((trace) =>
      [...trace.querySelectorAll('.point path')].map((bar) => bar.getBBox().height)),
    yRange: [...chart._fullLayout.yaxis.range],
    xRange: [...chart._fullLayout.xaxis.range],
    names: chart.data.map((trace) => trace.name || null),
    x: chart.data.map((trace) => [...trace.x]),
    y: chart.data.map((trace) => [...trace.y]),
  };
}"""

DRAWN = """({after, wanted}) => {
  const board = document.getElementById('board');
  return board.dataset.state === 'drawn'
    && Number(board.dataset.draw) > after
    && Object.entries(wanted).every(([name, value]) => board.dataset[name] === value);
}"""
"""The board is drawn, by a drawing later than the ``after``-th, with the ``wanted`` dataset."""
