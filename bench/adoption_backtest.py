"""Backtest of the adoption forecast: predict from the first days of past releases, compare with
what happened.

    python bench/adoption_backtest.py [--events 3e5] [--seed 1] [--end YYYY-MM-DD]
                                      [--demo-seed 1] [--horizon 30] [--markdown]

1. generates the bench workload (bench/workload.py) and loads it into a fresh SQLite database in a
   temporary directory, with the real ingest path; loads the demo data (``otastats demo``'s
   generator, src/otastats/admin/demo.py) into a second one;
2. reads every app's share curves through the adoption endpoint's own pipeline
   (otastats.stats.adoption.share_curves: bundle_usage's figures);
3. for every release that starts after the first day of the data, and for k = 3, 5 and 7, runs the
   forecast on the release's first k days and compares the days it gives for 50 % and 90 % with
   the first day the share actually reached them;
4. prints the table (median and 90th-percentile error in days; then the mean errors; then the
   median and 90th percentile of the dates returned alone), beside two baselines measured on
   the same cases: "no forecast" (always null) and the same fit without the rule that returns
   null for far-off days; then the mean errors for other values of that rule's limit, and where
   each is worse than no forecast (the chosen limit, MAX_REACH, must be worse nowhere).

Scoring, over the release's first ``--horizon`` days: a null forecast, a forecast after the
horizon and a level not reached within it all stand for the horizon's last day, and the error is
the distance in days between the forecast and what happened, so each is comparable with "no
forecast". A level already reached within the first k days is not a case (the answer is then null
by rule); a release whose data end before the horizon without reaching the level is left out.
The data end at the end of ``--end`` (default today, UTC; then at the moment the program starts):
with a past ``--end``, the figures are the same on every run. Everything runs in a temporary
directory that is removed at the end.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from adoption_alternatives import fitted_ceiling, straight_line  # noqa: E402
from host import quantile  # noqa: E402
from otastats.admin import service as admin  # noqa: E402
from otastats.admin.demo import DEMO_DAYS, create_demo  # noqa: E402
from otastats.ingest.file_loader import load_files  # noqa: E402
from otastats.stats.adoption import LEVELS, share_curves  # noqa: E402
from otastats.stats.adoption_forecast import MAX_REACH, forecast  # noqa: E402
from otastats.storage.base import Store  # noqa: E402
from otastats.storage.sqlite import SQLiteStore  # noqa: E402
from otastats.timeparse import MICROS_PER_DAY, datetime_to_micros  # noqa: E402
from workload import day_of, generate, parse_count  # noqa: E402

PREFIXES = (3, 5, 7)
SWEEP = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0, math.inf)
WORSE_BY = 0.05
"""Days of mean error above "no forecast" that count as worse (below it: rounding noise)."""

Release = list[float]
"""A release's shares (percent), day by day from its first day to the end of the data."""


@dataclass
class Cell:
    """The errors (days) of one data set, prefix and level, per forecast variant."""

    cases: int = 0
    reached: int = 0
    already: int = 0
    errors: dict[str, list[int]] = field(default_factory=dict)
    returned: dict[str, int] = field(default_factory=dict)
    when_returned: dict[str, list[int]] = field(default_factory=dict)
    """The errors of the dates returned alone."""


def releases(store: Store, app_ids: Sequence[str], start: int, end: int) -> list[Release]:
    found = []
    for app_id in app_ids:
        for curve in share_curves(store.version_rows(app_id, start, end), start, end):
            if curve.first_day > start:
                history = curve.since_first_day()
                assert history is not None
                found.append(history)
    return found


def first_reach(shares: Release, level: float) -> int | None:
    return next((t for t, share in enumerate(shares) if share >= level), None)


def variants() -> dict[str, Callable[[Release], dict[float, int | None]]]:
    """The chosen fit with each limit of the null rule, the alternatives, and no forecast."""
    found: dict[str, Callable[[Release], dict[float, int | None]]] = {
        "no forecast": lambda shares: dict.fromkeys(LEVELS),
    }
    for limit in SWEEP:
        found[f"limit {limit:g}"] = lambda shares, limit=limit: forecast(
            shares, LEVELS, max_reach=limit
        )
    for name, model in (("fitted ceiling", fitted_ceiling), ("straight line", straight_line)):
        for limit in (MAX_REACH, math.inf):
            found[f"{name}, limit {limit:g}"] = lambda shares, limit=limit, model=model: forecast(
                shares, LEVELS, max_reach=limit, model=model
            )
    return found


def score(data: list[Release], horizon: int) -> dict[tuple[int, float], Cell]:
    cells: dict[tuple[int, float], Cell] = {}
    methods = variants()
    for shares in data:
        for k in PREFIXES:
            if len(shares) < k:
                continue
            answers = {name: method(shares[:k]) for name, method in methods.items()}
            for level in LEVELS:
                cell = cells.setdefault((k, level), Cell())
                truth = first_reach(shares, level)
                if truth is not None and truth < k:
                    cell.already += 1
                    continue
                if truth is None and len(shares) <= horizon:
                    continue  # not reached, and the data end before the horizon: unknown
                cell.cases += 1
                cell.reached += truth is not None and truth <= horizon
                actual = horizon if truth is None else min(truth, horizon)
                for name, answer in answers.items():
                    said = answer[level]
                    cell.returned[name] = cell.returned.get(name, 0) + (said is not None)
                    guess = horizon if said is None else min(said, horizon)
                    cell.errors.setdefault(name, []).append(abs(guess - actual))
                    if said is not None:
                        cell.when_returned.setdefault(name, []).append(abs(guess - actual))
    return cells


def mean(errors: Sequence[float]) -> float:
    return sum(errors) / max(len(errors), 1)


def figures(cell: Cell, name: str, *, returned: bool = False) -> str:
    errors = (cell.when_returned if returned else cell.errors).get(name, [])
    if not errors:
        return "-"
    return f"{quantile(errors, 0.5):g} / {quantile(errors, 0.9):g}"


def load_bench(
    folder: Path, events: int, seed: int, end: date, now: int
) -> tuple[Store, list[str], int]:
    """The bench workload in a fresh database: the store, the app ids, the first day."""
    setup = generate(events, folder / "workload", seed, end, 120, 1_000_000)
    store = SQLiteStore(folder / "bench.db")
    orgs = {org["name"]: admin.create_org(store, org["name"], now) for org in setup["orgs"]}
    app_ids = [app["app_id"] for app in setup["apps"]]
    for app in setup["apps"]:
        admin.create_app(store, app["app_id"], orgs[app["org"]], now)
    names = [str(folder / "workload" / name) for name in setup["files"]]
    load_files(store, names, lambda: now, chunk=10_000)
    return store, app_ids, day_of(date.fromisoformat(setup["start"]))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=parse_count, default=300_000, help="bench workload size")
    parser.add_argument("--seed", type=int, default=1, help="bench workload seed")
    parser.add_argument("--end", type=date.fromisoformat, default=None, help="last day (today)")
    parser.add_argument("--demo-seed", type=int, default=1)
    parser.add_argument("--horizon", type=int, default=30, help="days after a release scored")
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    clock = datetime.now(UTC)
    end = args.end or clock.date()
    # The data end at the end of --end (or now): with a past --end, every figure is the same
    # whenever the program runs.
    now = min(datetime_to_micros(clock), (day_of(end) + 1) * MICROS_PER_DAY - 1)
    data: dict[str, list[Release]] = {}
    with tempfile.TemporaryDirectory(prefix="otastats-backtest-") as tmp:
        folder = Path(tmp)
        bench, app_ids, start = load_bench(folder, args.events, args.seed, end, now)
        try:
            data["bench"] = releases(bench, app_ids, start, start + 119)
        finally:
            bench.close()
        demo_store = SQLiteStore(folder / "demo.db")
        try:
            demo = create_demo(demo_store, now, seed=args.demo_seed)
            today = now // MICROS_PER_DAY
            data["demo"] = releases(demo_store, demo.app_ids, today - DEMO_DAYS + 1, today)
        finally:
            demo_store.close()
    report(data, args)
    sys.stdout.write(f"{time.perf_counter() - started:.0f} s\n")


def report(data: dict[str, list[Release]], args: argparse.Namespace) -> None:
    chosen = f"limit {MAX_REACH:g}"
    columns = (
        "data", "first days", "level", "cases", "reached", "forecast returned",
        "forecast", "no forecast", "without the null rule", "mean: forecast / none",
        "dates returned",
    )  # fmt: skip
    rows: list[list[str]] = []
    # (data set, level) -> variant -> errors of every prefix
    groups: dict[tuple[str, float], dict[str, list[int]]] = {}
    for name, releases_of in data.items():
        cells = score(releases_of, args.horizon)
        for (k, level), cell in sorted(cells.items()):
            returned = cell.returned.get(chosen, 0)
            rows.append(
                [
                    f"{name} ({len(releases_of)} releases)",
                    str(k),
                    f"{level:.0f} %",
                    str(cell.cases),
                    str(cell.reached),
                    f"{returned} ({100 * returned / max(cell.cases, 1):.0f} %)",
                    figures(cell, chosen),
                    figures(cell, "no forecast"),
                    figures(cell, "limit inf"),
                    " / ".join(
                        f"{mean(cell.errors.get(v, [])):.2f}" for v in (chosen, "no forecast")
                    ),
                    figures(cell, chosen, returned=True),
                ]
            )
            for variant, errors in cell.errors.items():
                groups.setdefault((name, level), {}).setdefault(variant, []).extend(errors)
    show(
        f"Adoption forecast backtest: error in days (median / p90) over the first {args.horizon}"
        f" days of a release (bench --events {args.events:g} --seed {args.seed}; demo --seed"
        f" {args.demo_seed})",
        columns,
        rows,
        markdown=args.markdown,
    )
    baseline = [mean(group["no forecast"]) for group in groups.values()]
    sweep = []
    for variant in variants():
        means = [mean(group[variant]) for group in groups.values()]
        worse = [
            f"{name} {level:.0f} %"
            for (name, level), value, base in zip(groups, means, baseline, strict=True)
            if value > base + WORSE_BY
        ]
        sweep.append(
            [
                variant + (" (served)" if variant == chosen else ""),
                *(f"{value:.2f}" for value in means),
                f"{mean(means):.2f}",
                ", ".join(worse) or "-",
            ]
        )
    show(
        "Mean error in days (k = 3, 5 and 7 together) of each limit of the null rule and of two"
        " other fits; the limit served is the lowest mean of the columns among those worse than"
        " no forecast nowhere",
        ["variant", *(f"{name} {level:.0f} %" for name, level in groups), "mean", "worse in"],
        sweep,
        markdown=args.markdown,
    )


def show(title: str, columns: Sequence[str], rows: list[list[str]], *, markdown: bool) -> None:
    if markdown:
        lines = [f"| {' | '.join(columns)} |", "|" + "---|" * len(columns)]
        lines += [f"| {' | '.join(row)} |" for row in rows]
        sys.stdout.write(f"{title}:\n\n" + "\n".join(lines) + "\n\n")
        return
    table = Table(title=title)
    for column in columns:
        table.add_column(column, justify="right")
    for row in rows:
        table.add_row(*row)
    Console(width=200).print(table)


if __name__ == "__main__":
    main()
