"""Other curve fits that the adoption backtest measures beside the chosen one.

They plug into otastats.stats.adoption_forecast.forecast (its ``model`` argument), so that they
go through the same rules (already reached, not rising, the null rule's limit) and differ only in
the curve:

- ``fitted_ceiling``: the logistic with its ceiling fitted too (three parameters): the closed-form
  line of ``fit`` for each ceiling between the highest share seen and 100 %, and the ceiling with
  the smallest squared error in share points (a grid, refined by golden-section search);
- ``straight_line``: the least-squares line through the shares.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from otastats.stats.adoption_forecast import MIN_POINTS, Logistic, fit

GRID = 24
REFINE = 12


def fitted_ceiling(shares: Sequence[float]) -> Logistic | None:
    points = [(t, s) for t, s in enumerate(shares) if s > 0]
    if len(points) < MIN_POINTS or max(s for _, s in points) >= 100.0:
        return None
    top = max(s for _, s in points)
    low = top + (100.0 - top) * 1e-3
    ceilings = [low + (100.0 - low) * (j / (GRID - 1)) ** 2 for j in range(GRID)]

    def error(ceiling: float) -> tuple[float, Logistic | None]:
        model = fit(shares, ceiling)
        if model is None:
            return math.inf, None
        return sum((model.share(t) - s) ** 2 for t, s in points), model

    scored = [error(ceiling) for ceiling in ceilings]
    best = min(range(GRID), key=lambda j: scored[j][0])
    found = scored[best]
    a, b = ceilings[max(0, best - 1)], ceilings[min(GRID - 1, best + 1)]
    ratio = (math.sqrt(5) - 1) / 2
    for _ in range(REFINE):
        c, d = b - ratio * (b - a), a + ratio * (b - a)
        at_c, at_d = error(c), error(d)
        found = min(found, at_c, at_d, key=lambda item: item[0])
        if at_c[0] <= at_d[0]:
            b = d
        else:
            a = c
    return found[1]


@dataclass(frozen=True, slots=True)
class Line:
    slope: float
    intercept: float

    def reaches(self, level: float) -> float | None:
        return None if self.slope <= 0 else (level - self.intercept) / self.slope


def straight_line(shares: Sequence[float]) -> Line | None:
    if len(shares) < MIN_POINTS:
        return None
    n = len(shares)
    mean_t = (n - 1) / 2
    mean_s = sum(shares) / n
    spread = sum((t - mean_t) ** 2 for t in range(n))
    slope = sum((t - mean_t) * (s - mean_s) for t, s in enumerate(shares)) / spread
    return Line(slope, mean_s - slope * mean_t)
