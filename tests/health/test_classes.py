"""The classes of SPEC section 8, action by action, and the legacy download_fail rule."""

from __future__ import annotations

import pytest

from otastats.health.classes import plugin_sends_real_download_fail, report_classes


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        (None, ("devices",)),
        ("app_moved_to_foreground", ("devices",)),
        ("blocked_by_server_url", ("devices",)),
        ("set", ("devices", "installs")),
        ("set_fail", ("install_failures",)),
        ("update_fail", ("rollbacks",)),
        ("download_manifest_file_fail", ("download_failures",)),
        ("unzip_fail", ("download_failures",)),
        ("insufficient_disk_space", ("download_failures",)),
        ("app_anr", ("crashes",)),
        ("webview_content_process_terminated", ("crashes",)),
        ("webview_unhandled_rejection", ("js_errors",)),
        ("webview_page_loaded", ()),
        ("fail", ()),
        ("set_failure", ()),
    ],
)
def test_each_action_counts_in_its_classes(action: str | None, expected: tuple[str, ...]) -> None:
    assert report_classes(action, "android", "8.0.0") == expected


@pytest.mark.parametrize(
    ("version", "real"),
    [
        ("7.17.0", True),
        ("7.17.1", True),
        ("8.0.0", True),
        ("7.17.0+build.5", True),
        ("7.17.0-beta.1", False),
        ("7.16.99", False),
        ("6.14.25", True),
        ("6.14.24", False),
        ("6.99.0", True),
        ("5.99.99", False),
        ("07.17.0", False),
        ("7.17", False),
        ("７.17.0", False),
        (None, False),
    ],
)
def test_old_capacitor_plugins_send_download_fail_for_no_update(
    version: str | None, real: bool
) -> None:
    assert plugin_sends_real_download_fail(version) is real
    kept = ("download_failures",) if real else ()
    for platform in ("ios", "android"):
        assert report_classes("download_fail", platform, version) == kept
    for platform in ("electron", "web", None):
        assert report_classes("download_fail", platform, version) == ("download_failures",)
