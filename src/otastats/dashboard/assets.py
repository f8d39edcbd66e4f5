"""The dashboard's files: its own page, script and style, and the installed charting library.

plotly.js comes from the installed ``plotly`` package (a pinned dependency), never from a CDN,
so the dashboard works offline and its version is the one in requirements.lock.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Asset:
    path: Path
    media_type: str


def _own(name: str) -> Path:
    return Path(str(resources.files("otastats.dashboard").joinpath("static", name)))


def _plotly() -> Path:
    return Path(str(resources.files("plotly").joinpath("package_data", "plotly.min.js")))


PAGE = _own("index.html")
MODULES = (
    "dashboard.js",
    "api.js",
    "format.js",
    "charts.js",
    "section-usage.js",
    "section-bundles.js",
    "section-health.js",
    "section-alerts.js",
)
"""The page's own scripts: ``dashboard.js`` and the modules it imports (a new section's too)."""
ASSETS: dict[str, Asset] = {
    **{name: Asset(_own(name), "text/javascript") for name in MODULES},
    "dashboard.css": Asset(_own("dashboard.css"), "text/css"),
    "favicon.svg": Asset(_own("favicon.svg"), "image/svg+xml"),
    "plotly.min.js": Asset(_plotly(), "text/javascript"),
}
"""Every file under /dashboard/assets/, by name: nothing else is served from there."""
