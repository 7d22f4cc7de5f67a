"""Customer grading and classification (FEATURES L2C-4): ABC, RFM, potential x value, tiers."""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import Field

from crmsim.conditions import Condition, evaluate_all
from crmsim.config import Config

__all__ = ["abc_classes", "rfm_scores", "potential_value_matrix", "Tier", "TierRules"]


def abc_classes(value: pd.Series, *, a: float = 0.8, b: float = 0.95) -> pd.Series:
    """ABC by Pareto share: A = the top customers carrying the first ``a`` of total value, B up to
    ``b``, C the rest (a customer straddling a boundary falls in the upper class).

    Examples
    --------
    >>> abc_classes(pd.Series([50.0, 30.0, 15.0, 4.0, 1.0])).tolist()
    ['A', 'A', 'B', 'C', 'C']
    """
    if not 0 < a < b <= 1:
        raise ValueError(f"need 0 < a < b <= 1, got a={a}, b={b}")
    v = value.astype(float)
    if (v < 0).any():
        raise ValueError(f"values must be >= 0; negative at index {v.index[v < 0].tolist()[:10]}")
    order = v.sort_values(ascending=False, kind="stable")
    total = order.sum()
    before = (order.cumsum() - order) / total if total else order * 0
    cls = np.where(before < a, "A", np.where(before < b, "B", "C"))
    return pd.Series(cls, index=order.index, name="abc").reindex(v.index)


def rfm_scores(recency_days: pd.Series, frequency: pd.Series, monetary: pd.Series, *,
               bins: int = 5) -> pd.DataFrame:
    """R, F, M scores 1..``bins`` by quantile (5 = best: most recent, most frequent, most spent)
    and the combined ``rfm`` code (e.g. "545"). Ties share a score (ranks, then quantiles).

    Examples
    --------
    >>> import pandas as pd
    >>> s = rfm_scores(pd.Series([5, 40, 200, 10]), pd.Series([12, 3, 1, 6]), pd.Series([900, 200, 50, 400]), bins=4)
    >>> s["rfm"].tolist()
    ['444', '222', '111', '333']
    """
    def score(x: pd.Series, best_high: bool) -> pd.Series:
        r = x.rank(method="average", pct=True, ascending=best_high)
        return np.ceil(r * bins).clip(1, bins).astype(np.int64)

    out = pd.DataFrame({"R": score(recency_days, False), "F": score(frequency, True),
                        "M": score(monetary, True)})
    out["rfm"] = out["R"].astype(str) + out["F"].astype(str) + out["M"].astype(str)
    return out


def potential_value_matrix(potential: pd.Series, value: pd.Series, *, potential_cut=None,
                           value_cut=None) -> pd.Series:
    """Quadrants: ``develop`` (high potential, low value), ``key`` (both high), ``maintain`` (low
    potential, high value), ``serve`` (both low); cuts default to the medians.

    Examples
    --------
    >>> import pandas as pd
    >>> potential_value_matrix(pd.Series([10, 90, 20, 80]), pd.Series([5, 50, 60, 1])).tolist()
    ['serve', 'key', 'maintain', 'develop']
    """
    pc = potential.median() if potential_cut is None else potential_cut
    vc = value.median() if value_cut is None else value_cut
    hp, hv = potential >= pc, value >= vc
    return pd.Series(np.select([hp & hv, hp & ~hv, ~hp & hv], ["key", "develop", "maintain"], "serve"),
                     index=potential.index, name="quadrant")


class Tier(Config):
    """A tier: who is in it (all conditions) and the process it drives elsewhere.

    Examples
    --------
    >>> t = Tier(name="key", when=[{"field": "revenue", "op": "ge", "value": 100_000}], visit_every_days=14)
    >>> t.visit_every_days, t.when[0].field
    (14, 'revenue')
    """

    name: str
    when: tuple[Condition, ...] = ()
    visit_every_days: int = Field(default=30, ge=0)
    reclaim_limit_days: int = Field(default=30, ge=0)


class TierRules(Config):
    """Tiers checked in order, the first match wins; ``default`` for the rest.

    Examples
    --------
    >>> rules = TierRules(tiers=[Tier(name="key", when=[{"field": "abc", "op": "eq", "value": "A"}],
    ...                               visit_every_days=14, reclaim_limit_days=60)],
    ...                   default=Tier(name="standard"))
    >>> rules.assign(pd.DataFrame({"abc": ["A", "C"]}))["tier"].tolist()
    ['key', 'standard']
    """

    tiers: tuple[Tier, ...] = ()
    default: Tier = Tier(name="standard")

    def assign(self, customers: pd.DataFrame) -> pd.DataFrame:
        """``tier``, ``visit_every_days`` and ``reclaim_limit_days`` per customer."""
        name = pd.Series(self.default.name, index=customers.index, dtype="object")
        taken = np.zeros(len(customers), dtype=bool)
        for t in self.tiers:
            hit = evaluate_all(t.when, customers).to_numpy() & ~taken
            name[hit] = t.name
            taken |= hit
        by = {t.name: t for t in (*self.tiers, self.default)}
        return pd.DataFrame({"tier": name,
                             "visit_every_days": name.map(lambda n: by[n].visit_every_days),
                             "reclaim_limit_days": name.map(lambda n: by[n].reclaim_limit_days)})
