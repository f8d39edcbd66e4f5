"""When will a version's share reach 50 % (or 90 %)? A logistic fit of its share curve.

Pure: a version's daily shares in, day offsets out; nothing here knows about storage or HTTP.
The method, and the backtest that chose its rules, are in docs/metrics.md ("Adoption forecast").

The model is the logistic ``s(t) = 100 / (1 + exp(-r (t - m)))`` of the share ``s`` (percent)
on day ``t`` since the version's first day: growth rate ``r`` per day, midpoint ``m``. Its logit
``ln(s / (100 - s))`` is the line ``r (t - m)``, so the fit is a weighted least-squares line, in
closed form. The ceiling is fixed at 100 % (the forecast assumes no newer version comes): a
fitted ceiling cannot be told apart from the curve's bend in the first days' data and settles
just above the highest share seen, so the curve rarely reaches 50 %. Days further ahead than
``MAX_REACH`` times the days seen get no forecast: the backtest (bench/adoption_backtest.py)
shows such forecasts to be worse than none, mostly because a newer release takes over first.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

CEILING = 100.0
"""The curve's plateau: every active device ends on the version if no newer one comes."""
MIN_POINTS = 3
"""Days with a share above zero needed before a fit is tried."""
RISING_LOOKBACK = 3
"""The share must be higher on the last day than this many days before (or on the first day)."""
MAX_REACH = 0.5
"""No forecast further ahead than this many times the days already seen (the backtest's rule)."""
_MAX_EXP = 700.0


class Curve(Protocol):
    def reaches(self, level: float) -> float | None:
        """The time (days since the first day) at which the curve reaches ``level``, or None."""


@dataclass(frozen=True, slots=True)
class Logistic:
    ceiling: float
    rate: float
    midpoint: float

    def share(self, t: float) -> float:
        return self.ceiling / (1.0 + math.exp(min(_MAX_EXP, -self.rate * (t - self.midpoint))))

    def reaches(self, level: float) -> float | None:
        """The time at which the curve reaches ``level``; None when it never does."""
        if self.rate <= 0 or not 0 < level < self.ceiling:
            return None
        return self.midpoint + math.log(level / (self.ceiling - level)) / self.rate


def forecast(
    shares: Sequence[float],
    levels: Sequence[float] = (50.0, 90.0),
    *,
    max_reach: float = MAX_REACH,
    model: Callable[[Sequence[float]], Curve | None] | None = None,
) -> dict[float, int | None]:
    """For each level, the first day offset (0 = the version's first day) on which the share is
    expected to reach it, or None.

    ``shares[i]`` is the share (percent) on day ``i`` since the version's first day; the last one
    is the day of the answer, so a forecast is always a later offset. None when the level was
    already reached, when the share is not rising, when the fit levels off below the level, or
    when the day lies further ahead than ``max_reach`` times the days seen (``math.inf``: never).
    ``model`` fits the curve (``fit`` by default; the backtest compares others).
    """
    result: dict[float, int | None] = dict.fromkeys(levels)
    pending = [level for level in levels if max(shares, default=0.0) < level]
    if not pending or not _rising(shares):
        return result
    curve = (model or fit)(shares)
    if curve is None:
        return result
    last = len(shares) - 1
    for level in pending:
        at = curve.reaches(level)
        if at is None:
            continue
        day = max(last + 1, math.ceil(at - 1e-9))
        if day - last > max_reach * len(shares):
            continue
        result[level] = day
    return result


def _rising(shares: Sequence[float]) -> bool:
    if len(shares) < 2:
        return False
    return shares[-1] > shares[-1 - min(RISING_LOOKBACK, len(shares) - 1)]


def fit(shares: Sequence[float], ceiling: float = CEILING) -> Logistic | None:
    """The logistic of that ceiling (percent) through the days with a share strictly between 0
    and the ceiling, or None when there are fewer than MIN_POINTS of them or the fitted curve is
    not rising."""
    # For a fixed ceiling K the logit ln(s / (K - s)) is linear in t: a weighted least-squares
    # line, in closed form. The weights (p(1-p))^2 turn logit residuals into share residuals to
    # first order, so that the line is close to the least-squares curve in share points (an
    # unweighted line lets the noisy first days, of a few devices, steer it).
    sw = swt = swy = swtt = swty = 0.0
    used = 0
    for t, s in enumerate(shares):
        if not 0.0 < s < ceiling:
            continue
        p = s / ceiling
        w = (p * (1.0 - p)) ** 2
        y = math.log(s / (ceiling - s))
        sw += w
        swt += w * t
        swy += w * y
        swtt += w * t * t
        swty += w * t * y
        used += 1
    spread = sw * swtt - swt * swt
    if used < MIN_POINTS or spread <= 1e-12 * sw * swtt:
        return None
    rate = (sw * swty - swt * swy) / spread
    if rate <= 0:
        return None
    intercept = (swy - rate * swt) / sw
    return Logistic(ceiling, rate, -intercept / rate)
