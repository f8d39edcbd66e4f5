"""The Statistics answers written as CSV: one row per day, or per app and day for a breakdown.

The figures are those of the JSON answer, written the same way (integers, one-decimal
percentages); only the layout differs. Rows end with CRLF, as RFC 4180 has it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

POINT_COLUMNS = ("date", "mau", "storage", "bandwidth")
BREAKDOWN_COLUMNS = ("app_id", *POINT_COLUMNS)
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def points_csv(points: Iterable[Mapping[str, Any]]) -> str:
    """``date,mau,storage,bandwidth``: one row per point."""
    return _table(POINT_COLUMNS, ([point[name] for name in POINT_COLUMNS] for point in points))


def breakdown_csv(rows: Iterable[Mapping[str, Any]]) -> str:
    """``app_id,date,mau,storage,bandwidth``: the ``byApp`` rows of an organization."""
    return _table(
        BREAKDOWN_COLUMNS,
        ([_text(row["app_id"]), *(row[name] for name in POINT_COLUMNS)] for row in rows),
    )


def bundle_usage_csv(answer: Mapping[str, Sequence[Any]]) -> str:
    """``date``, then ``<version> %`` for each version, then ``<version> devices`` for each.

    Versions come in the order of the JSON ``datasets``; each row is one label day.
    """
    labels: Sequence[str] = answer["labels"]
    datasets: Sequence[Mapping[str, Any]] = answer["datasets"]
    header = [
        "date",
        *(_text(f"{dataset['label']} %") for dataset in datasets),
        *(_text(f"{dataset['label']} devices") for dataset in datasets),
    ]
    rows = (
        [
            label,
            *(f"{dataset['data'][index]:.1f}" for dataset in datasets),
            *(dataset["counts"][index] for dataset in datasets),
        ]
        for index, label in enumerate(labels)
    )
    return _table(header, rows)


HEALTH_CLASSES = (
    "devices",
    "installs",
    "install_failures",
    "rollbacks",
    "download_failures",
    "crashes",
    "js_errors",
)


def health_csv(answer: Mapping[str, Any]) -> str:
    """``version,date,<classes>,rollback_rate,crash_rate``: for each version in the JSON order,
    a row whose date is ``total`` (the totals and the rates, empty when null), then one row per
    label day (the daily counts; no rates)."""
    header = ("version", "date", *HEALTH_CLASSES, "rollback_rate", "crash_rate")
    rows: list[list[object]] = []
    for item in answer["versions"]:
        version = _text(item["version"])
        rates = item["rates"]
        rows.append(
            [
                version,
                "total",
                *(item["totals"][name] for name in HEALTH_CLASSES),
                *(
                    "" if rates[name] is None else repr(rates[name])
                    for name in ("rollback", "crash")
                ),
            ]
        )
        for index, label in enumerate(answer["labels"]):
            daily = item["daily"]
            rows.append([version, label, *(daily[name][index] for name in HEALTH_CLASSES), "", ""])
    return _table(header, rows)


def _text(value: str) -> str:
    """A text cell that a spreadsheet would take for a formula gets a leading apostrophe."""
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


def _table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


ADOPTION_COLUMNS = ("version", "share", "count", "first_day", "forecast_50", "forecast_90")


def adoption_csv(answer: Mapping[str, Any]) -> str:
    """``version,share,count,first_day,forecast_50,forecast_90``: one row per version, in the
    order of the JSON ``versions``; a null forecast is an empty cell."""
    versions: Sequence[Mapping[str, Any]] = answer["versions"]
    rows = (
        [
            _text(row["version"]),
            f"{row['share']:.1f}",
            row["count"],
            row["first_day"],
            row["forecast"]["50"] or "",
            row["forecast"]["90"] or "",
        ]
        for row in versions
    )
    return _table(ADOPTION_COLUMNS, rows)
