"""Statistics over replications: mean and CI per metric, paired difference to the baseline."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["mean_ci", "compare", "ID_COLUMNS"]

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
    half = float(stats.t.ppf(0.5 + level / 2, a.size - 1) * a.std(ddof=1) / np.sqrt(a.size))
    return m, m - half, m + half


def compare(summary: pd.DataFrame, *, baseline: str = "baseline", metrics: list[str] | None = None,
            level: float = 0.95) -> pd.DataFrame:
    """Per variant and metric: mean with its CI, and the paired difference to ``baseline``.

    Replications are paired by their ``replication`` number: replication i of every variant ran on
    the same seed (common random numbers), so the difference's CI is much tighter than the
    difference of two independent CIs.
    """
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
            d, dlo, dhi = mean_ci(g.loc[common, m] - base.loc[common, m], level)
            rows.append({"variant": variant, "metric": m, "n": int(g[m].notna().sum()),
                         "mean": mean, "ci_low": lo, "ci_high": hi,
                         "diff": d, "diff_ci_low": dlo, "diff_ci_high": dhi})
    return pd.DataFrame(rows)
