"""Statistics over replications: mean and CI per metric, paired difference to the baseline."""

from __future__ import annotations

import numpy as np
import pandas as pd

from crmsim._lazy import lazy_module

special = lazy_module("scipy.special")  # stdtrit = Student-t quantile (scipy.stats takes ~0.5 s more)


__all__ = ["mean_ci", "compare", "ID_COLUMNS", "replications_needed", "select_best"]

ID_COLUMNS = ("variant", "replication", "seed")


def mean_ci(x, level: float = 0.95) -> tuple[float, float, float]:
    """(mean, low, high): Student-t interval; NaN bounds with fewer than 2 finite values.

    Examples
    --------
    >>> m, lo, hi = mean_ci([1.0, 2.0, 3.0])
    >>> round(m, 3), round(lo, 3), round(hi, 3)
    (2.0, -0.484, 4.484)
    """
    a = np.asarray(x, dtype=float)
    a = a[np.isfinite(a)]
    if a.size == 0:
        return np.nan, np.nan, np.nan
    m = float(a.mean())
    if a.size < 2:
        return m, np.nan, np.nan
    half = float(special.stdtrit(a.size - 1, 0.5 + level / 2) * a.std(ddof=1) / np.sqrt(a.size))
    return m, m - half, m + half


def compare(summary: pd.DataFrame, *, baseline: str = "baseline", metrics: list[str] | None = None,
            level: float = 0.95, bounds: dict[str, tuple[float, float]] | None = None) -> pd.DataFrame:
    """Per variant and metric: mean with its CI, and the paired difference to ``baseline``.

    Replications are paired by their ``replication`` number: replication i of every variant ran on
    the same seed (common random numbers), so the difference's CI is much tighter than the
    difference of two independent CIs. ``bounds`` (metric -> (low, high), e.g. a count's
    ``(0, inf)``, a share's ``(0, 1)``) keeps each mean's interval inside the metric's possible
    range (a Student-t interval on a few replications of a rare count can reach below zero).

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> base = rng.normal(100, 10, 8)
    >>> summary = pd.DataFrame({"variant": ["baseline"] * 8 + ["b"] * 8 + ["c"] * 8, "replication": list(range(8)) * 3,
    ...                         "revenue": np.r_[base, base + 5 + rng.normal(0, 1, 8), base - 2 + rng.normal(0, 1, 8)]})
    >>> c = compare(summary)
    >>> c[c["variant"] == "b"][["metric", "diff", "diff_ci_low", "diff_ci_high"]].round(1).values.tolist()
    [['revenue', 4.1, 3.5, 4.7]]
    """
    bounds = bounds or {}
    if metrics is None:
        metrics = [c for c in summary.columns if c not in ID_COLUMNS]
    if baseline not in set(summary["variant"]):
        raise ValueError(f"baseline variant '{baseline}' is not in the summary")
    base = summary[summary["variant"] == baseline].set_index("replication")
    rows = []
    for variant, grp in summary.groupby("variant", sort=False):
        g = grp.set_index("replication")
        common = g.index.intersection(base.index)
        for m in metrics:
            mean, lo, hi = mean_ci(g[m], level)
            if m in bounds and lo == lo:
                lo, hi = max(lo, bounds[m][0]), min(hi, bounds[m][1])
            d, dlo, dhi = mean_ci(g.loc[common, m] - base.loc[common, m], level)
            rows.append({"variant": variant, "metric": m, "n": int(g[m].notna().sum()),
                         "mean": mean, "ci_low": lo, "ci_high": hi,
                         "diff": d, "diff_ci_low": dlo, "diff_ci_high": dhi})
    return pd.DataFrame(rows)


def replications_needed(x, half_width: float, *, level: float = 0.95, max_n: int = 100_000) -> int:
    """Smallest n >= len(x) with t(level, n-1) * s / sqrt(n) <= half_width, s the standard
    deviation of the pilot replications ``x`` (the sequential procedure re-estimates s as
    replications are added; see :func:`crmsim.experiments.runner.run_to_precision`).

    Examples
    --------
    >>> replications_needed([98.0, 103.0, 101.0, 95.0, 104.0], half_width=1.0)
    56
    """
    a = np.asarray(x, dtype=float)
    a = a[np.isfinite(a)]
    if a.size < 2:
        raise ValueError("need at least 2 pilot replications")
    if half_width <= 0:
        raise ValueError(f"half_width(={half_width}) must be > 0.")
    s = a.std(ddof=1)
    n = a.size
    while n < max_n and special.stdtrit(n - 1, 0.5 + level / 2) * s / np.sqrt(n) > half_width:
        n += 1
    return int(n)


def select_best(summary: pd.DataFrame, metric: str, *, maximize: bool = True,
                confidence: float = 0.95) -> pd.DataFrame:
    """Subset selection (screening with paired t-tests, Bonferroni-corrected): variant i stays
    if no other variant beats it by more than the paired-t margin. With probability at least
    ``confidence`` the truly best variant is in the subset (``attrs["subset"]``); when the subset
    has one variant, it is the best at that confidence. Replications are paired by number
    (common random numbers).

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> base = rng.normal(100, 10, 8)
    >>> summary = pd.DataFrame({"variant": ["baseline"] * 8 + ["b"] * 8 + ["c"] * 8, "replication": list(range(8)) * 3,
    ...                         "revenue": np.r_[base, base + 5 + rng.normal(0, 1, 8), base - 2 + rng.normal(0, 1, 8)]})
    >>> s = select_best(summary, "revenue")
    >>> s.attrs["subset"]
    ['b']
    """
    wide = summary.pivot(index="replication", columns="variant", values=metric).dropna()
    if not maximize:
        wide = -wide
    names = list(wide.columns)
    k, n = len(names), len(wide)
    if k < 2 or n < 2:
        raise ValueError("select_best needs at least 2 variants and 2 replications")
    t = special.stdtrit(n - 1, 1 - (1 - confidence) / (k - 1))
    mean = wide.mean()
    keep = {}
    for i in names:
        ok = True
        for j in names:
            if i == j:
                continue
            d = wide[i] - wide[j]
            if d.mean() < -t * d.std(ddof=1) / np.sqrt(n):
                ok = False
                break
        keep[i] = ok
    sign = 1 if maximize else -1
    out = pd.DataFrame({"variant": names, "mean": [sign * mean[v] for v in names],
                        "in_subset": [keep[v] for v in names]})
    out["best"] = False
    out.loc[out["mean"].idxmax() if maximize else out["mean"].idxmin(), "best"] = True
    out.attrs["subset"] = [v for v in names if keep[v]]
    out.attrs["confidence"] = confidence
    return out
