"""The dashboard's routes through the real app: the page, its assets and their headers."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from importlib import resources
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from otastats.dashboard.assets import MODULES
from otastats.dashboard.endpoints import CONTENT_SECURITY_POLICY

STATIC = Path(__file__).resolve().parents[2] / "src" / "otastats" / "dashboard" / "static"
OWN_FILES = {"index.html", "dashboard.css", "favicon.svg", *MODULES}
IMPORT = re.compile(r"^import [^;]*? from \"\./([\w.-]+)\";$", re.MULTILINE)


class References(HTMLParser):
    """Every src and href of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.extend(value for name, value in attrs if name in ("src", "href") and value)


def test_the_page_is_served_with_a_strict_content_security_policy(client: TestClient) -> None:
    response = client.get("/dashboard")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    policy = dict(
        directive.split(" ", 1)
        for directive in response.headers["content-security-policy"].split("; ")
    )
    assert policy["default-src"] == "'none'"
    for directive in ("script-src", "style-src", "connect-src"):
        assert policy[directive] == "'self'", directive
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"


def test_the_page_loads_only_its_own_assets(client: TestClient) -> None:
    parser = References()
    parser.feed(client.get("/dashboard").text)
    assert sorted(parser.found) == [
        "dashboard/assets/dashboard.css",
        "dashboard/assets/dashboard.js",
        "dashboard/assets/favicon.svg",
        "dashboard/assets/plotly.min.js",
    ]
    for reference in parser.found:
        assert client.get(f"/{reference}").status_code == 200, reference


def test_every_module_the_page_imports_is_served(client: TestClient) -> None:
    """From dashboard.js, each relative import, followed to the end, is an asset of the page."""
    seen: set[str] = set()
    waiting = ["dashboard.js"]
    while waiting:
        name = waiting.pop()
        seen.add(name)
        response = client.get(f"/dashboard/assets/{name}")
        assert response.status_code == 200, name
        assert response.headers["content-type"] == "text/javascript; charset=utf-8"
        waiting += [found for found in IMPORT.findall(response.text) if found not in seen]
    assert seen == set(MODULES)
    assert "section-bundles.js" in seen


def test_no_inline_script_or_style_in_the_page(client: TestClient) -> None:
    page = client.get("/dashboard").text
    assert re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page) is None
    assert "<style" not in page
    assert " style=" not in page


@pytest.mark.parametrize(
    ("name", "media_type"),
    [
        ("dashboard.js", "text/javascript; charset=utf-8"),
        ("dashboard.css", "text/css; charset=utf-8"),
        ("favicon.svg", "image/svg+xml"),
        ("plotly.min.js", "text/javascript; charset=utf-8"),
    ],
)
def test_each_asset_has_its_media_type(client: TestClient, name: str, media_type: str) -> None:
    response = client.get(f"/dashboard/assets/{name}")
    assert response.status_code == 200
    assert response.headers["content-type"] == media_type
    assert response.headers["cache-control"] == "no-cache"


def test_the_charting_library_is_the_installed_packages_file(client: TestClient) -> None:
    installed = resources.files("plotly").joinpath("package_data", "plotly.min.js").read_bytes()
    served = client.get("/dashboard/assets/plotly.min.js").content
    assert served == installed
    assert served.startswith(b"/**\n* plotly.js v")


def test_an_unchanged_asset_is_answered_304(client: TestClient) -> None:
    first = client.get("/dashboard/assets/dashboard.js")
    etag = first.headers["etag"]
    again = client.get("/dashboard/assets/dashboard.js", headers={"if-none-match": etag})
    assert again.status_code == 304
    assert again.content == b""
    other = client.get("/dashboard/assets/dashboard.js", headers={"if-none-match": '"other"'})
    assert other.status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/dashboard/assets/unknown.js",
        "/dashboard/assets/..%2Fendpoints.py",
        "/dashboard/assets/index.html",
        "/dashboard/",
    ],
)
def test_anything_else_is_a_json_404(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert response.json()["status"] == "Not found"


def test_the_dashboard_is_not_in_the_openapi_description(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert not [path for path in paths if path.startswith("/dashboard")]


def test_no_third_party_file_is_kept_with_the_dashboard() -> None:
    assert {path.name for path in STATIC.iterdir()} == OWN_FILES
    assert all(path.stat().st_size < 40_000 for path in STATIC.iterdir())
