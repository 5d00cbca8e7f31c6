"""Mean opinion scores with Student-t confidence intervals (no SciPy): the numbers `report` prints.

    t_quantile(0.975, 19)          # 2.0930...: the two-sided 95% critical value for 20 ratings
    mean_ci([3, 4, 5])             # MeanCI(n=3, mean=4.0, std=1.0, half_width=2.484..., ...)

The t quantile inverts the t CDF, written with the regularised incomplete beta function (continued fraction,
Lentz's method), by bisection to ~1e-13: no table, any real df > 0. Checked in tests/test_mos.py against closed
forms (df 1 and 2) and the printed tables (12.706, 4.303, 2.776, 2.093, 1.984).
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from typing import Iterable


def _beta_continued_fraction(a: float, b: float, x: float) -> float:
    # Numerical Recipes' betacf (modified Lentz); converges for x < (a + 1) / (a + b + 2).
    tiny, eps = 1e-300, 1e-16
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 100_000):
        m2 = 2 * m
        for numerator in (m * (b - m) * x / ((a + m2 - 1.0) * (a + m2)),
                          -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1.0))):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            delta = c * d
            h *= delta
        if abs(delta - 1.0) < eps:
            return h
    raise ArithmeticError(f"incomplete beta did not converge (a={a}, b={b}, x={x})")


def betainc(a: float, b: float, x: float) -> float:
    """Regularised incomplete beta I_x(a, b) for a, b > 0 and x in [0, 1]."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _beta_continued_fraction(a, b, x) / a
    return 1.0 - math.exp(log_front) * _beta_continued_fraction(b, a, 1.0 - x) / b


def t_cdf(t: float, df: float) -> float:
    """P(T <= t) for Student's t with `df` > 0 degrees of freedom (df = inf: the standard normal)."""
    if not df > 0:
        raise ValueError(f"degrees of freedom must be > 0, got {df}")
    if math.isinf(df):
        return statistics.NormalDist().cdf(t)
    tail = 0.5 * betainc(0.5 * df, 0.5, df / (df + t * t))  # P(T > |t|)
    return 1.0 - tail if t > 0 else tail


def t_quantile(p: float, df: float) -> float:
    """The p-quantile of Student's t with `df` > 0 degrees of freedom; p in (0, 1). Accurate to ~1e-12."""
    if not 0.0 < p < 1.0:
        raise ValueError(f"p must be in (0, 1), got {p}")
    if not df > 0:
        raise ValueError(f"degrees of freedom must be > 0, got {df}")
    if math.isinf(df):
        return statistics.NormalDist().inv_cdf(p)
    if p == 0.5:
        return 0.0
    upper = max(p, 1.0 - p)  # solve on the positive side; the distribution is symmetric
    lo, hi = 0.0, 1.0
    while t_cdf(hi, df) < upper:
        lo, hi = hi, 2.0 * hi
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if t_cdf(mid, df) < upper:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-13 * hi:
            break
    t = 0.5 * (lo + hi)
    return t if p > 0.5 else -t


@dataclasses.dataclass(frozen=True)
class MeanCI:
    """Mean of n scores with a two-sided confidence interval from the t distribution (n - 1 df).

    std is the sample standard deviation (n - 1); half_width = t(1 - (1 - level) / 2, n - 1) * std / sqrt(n).
    With n < 2 the spread is unknown: std and half_width are nan.
    """

    n: int
    mean: float
    std: float
    half_width: float
    level: float

    @property
    def low(self) -> float:
        return self.mean - self.half_width

    @property
    def high(self) -> float:
        return self.mean + self.half_width


def mean_ci(scores: Iterable[float], level: float = 0.95) -> MeanCI:
    """Mean and t-distribution confidence interval of `scores` (see MeanCI). Empty input: everything nan."""
    values = [float(v) for v in scores]
    n = len(values)
    if n == 0:
        return MeanCI(0, math.nan, math.nan, math.nan, level)
    mean = math.fsum(values) / n
    if n < 2:
        return MeanCI(n, mean, math.nan, math.nan, level)
    std = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (n - 1))
    half = t_quantile(1.0 - (1.0 - level) / 2.0, n - 1) * std / math.sqrt(n)
    return MeanCI(n, mean, std, half, level)
