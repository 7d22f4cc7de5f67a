"""Confidence intervals every layer may use (a domain rule reporting a share, a calibration
reporting a rate): the Wilson interval of a proportion and the exact interval of a Poisson rate."""

from __future__ import annotations

import math

from crmsim._lazy import lazy_module

special = lazy_module("scipy.special")


__all__ = ["proportion_ci", "poisson_rate_ci"]

_Z = 1.959963984540054


def proportion_ci(k: int, n: int) -> tuple[float, float]:
    """Wilson 95% interval of a proportion.

    >>> [round(x, 3) for x in proportion_ci(30, 100)]
    [0.219, 0.396]
    """
    if n <= 0:
        return math.nan, math.nan
    p, z = k / n, _Z
    c = (p + z * z / (2 * n)) / (1 + z * z / n)
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (0.0 if k == 0 else max(0.0, c - h)), (1.0 if k == n else min(1.0, c + h))


def poisson_rate_ci(n: int, exposure: float) -> tuple[float, float]:
    """Exact 95% interval of a Poisson rate (n events over ``exposure``).

    >>> [round(float(x), 2) for x in poisson_rate_ci(10, 2.0)]
    [2.4, 9.2]
    """
    lo = special.chdtri(2 * n, 0.975) / 2 if n else 0.0   # chi2.ppf(0.025, 2n)
    hi = special.chdtri(2 * n + 2, 0.025) / 2
    return lo / exposure, hi / exposure
