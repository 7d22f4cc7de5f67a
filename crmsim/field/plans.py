"""Visit cadence and visit plans (FEATURES SFE), run as a PDCA cycle: plan, do, check coverage,
adjust the cadence."""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import Field, field_validator

from crmsim.config import Config

__all__ = ["Cadence", "plan_visits", "coverage", "adjust"]


class Cadence(Config):
    """How often each customer grade is visited, and how many visits a rep makes a day.

    Parameters
    ----------
    every_days : grade -> days between visits (e.g. A weekly, B fortnightly, C monthly).
    visits_per_day : a rep's capacity.
    workdays : weekdays worked (0 = Monday).
    accompany_grade / accompany_per_month : a manager joins this many visits per rep a month, to
        customers of this grade.

    Examples
    --------
    >>> import pandas as pd
    >>> cust = pd.DataFrame({"customer_id": ["a", "b", "c"], "owner_id": "r1", "grade": ["A", "B", "C"]})
    >>> plan, overflow = plan_visits(cust, Cadence(every_days={"A": 7, "B": 14, "C": 28}, visits_per_day=2),
    ...                              start="2025-03-03", days=28)
    >>> plan.groupby("grade").size().to_dict(), len(overflow)
    ({'A': 4, 'B': 2, 'C': 1}, 0)
    """

    every_days: dict[str, int] = {"A": 7, "B": 14, "C": 30, "D": 60}
    visits_per_day: int = Field(default=8, ge=1)
    workdays: tuple[int, ...] = (0, 1, 2, 3, 4)
    accompany_grade: str | None = "A"
    accompany_per_month: int = Field(default=2, ge=0)

    @field_validator("every_days")
    @classmethod
    def _positive(cls, v: dict[str, int]) -> dict[str, int]:
        bad = {g: d for g, d in v.items() if d < 1}
        if bad:
            raise ValueError(f"every_days must be >= 1, got {bad}")
        return v


def plan_visits(customers: pd.DataFrame, cadence: Cadence, *, start, days: int,
                owner_col: str = "owner_id") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Each rep's visit plan for ``days`` days from ``start``.

    A customer is due every ``every_days[grade]`` days, first on a day staggered by its position
    (so a rep's A customers do not all fall on Monday) or, when ``customers`` has a
    ``last_visit`` date, ``every_days`` after it (on the first day if that is already past); a due visit goes to the owner's next
    working day with free capacity, at most ``every_days`` days late. Returns ``(plan, overflow)``:
    ``plan`` has ``rep_id, customer_id, date, grade, kind`` (``regular`` / ``accompanied``);
    ``overflow`` the visits that found no capacity in time (never silently dropped).

    Examples
    --------
    >>> import pandas as pd
    >>> cust = pd.DataFrame({"customer_id": ["a", "b"], "owner_id": "r1", "grade": "A",
    ...                      "last_visit": pd.to_datetime(["2025-02-28", "2025-02-10"])})
    >>> plan, overflow = plan_visits(cust, Cadence(every_days={"A": 7}), start="2025-03-03", days=7)
    >>> plan[["customer_id", "date"]].astype(str).values.tolist()
    [['b', '2025-03-03'], ['a', '2025-03-07']]
    """
    for c in ("customer_id", "grade", owner_col):
        if c not in customers.columns:
            raise KeyError(f"customers: column '{c}' missing; columns are {list(customers.columns)}")
    start = pd.Timestamp(start).normalize()
    dates = pd.date_range(start, periods=days, freq="D")
    work = np.isin(dates.day_of_week, cadence.workdays)
    c = customers[customers[owner_col].notna()]
    unknown = sorted(set(c["grade"]) - set(cadence.every_days))
    if unknown:
        raise KeyError(f"cadence has no every_days for grade(s) {unknown}")
    first = np.full(len(c), -1)
    if "last_visit" in c.columns:
        last = pd.to_datetime(c["last_visit"], errors="coerce")
        since = ((start - last) / pd.Timedelta(days=1)).to_numpy()
        step_of = c["grade"].map(cadence.every_days).to_numpy(float)
        first = np.where(np.isfinite(since), np.maximum(0, step_of - since), -1).astype(int)
    due = []
    for k, (cid, g, rep) in enumerate(zip(c["customer_id"], c["grade"], c[owner_col])):
        step = cadence.every_days[g]
        for d in range(k % step if first[k] < 0 else int(first[k]), days, step):
            due.append((rep, cid, g, d, step))
    due.sort(key=lambda x: (x[3], x[4], str(x[1])))  # by due day, most frequent grades first
    load: dict[tuple[str, int], int] = {}
    plan, overflow = [], []
    for rep, cid, g, d, step in due:
        placed = False
        for day in range(d, min(days, d + step)):
            if work[day] and load.get((rep, day), 0) < cadence.visits_per_day:
                load[(rep, day)] = load.get((rep, day), 0) + 1
                plan.append((rep, cid, dates[day], g))
                placed = True
                break
        if not placed:
            overflow.append((rep, cid, dates[d], g))
    cols = ["rep_id", "customer_id", "date", "grade"]
    plan_df = pd.DataFrame(plan, columns=cols)
    plan_df["kind"] = "regular"
    if cadence.accompany_grade and cadence.accompany_per_month and len(plan_df):
        month = plan_df["date"].dt.to_period("M")
        cand = plan_df[plan_df["grade"] == cadence.accompany_grade]
        pick = cand.groupby([cand["rep_id"], month[cand.index]]).head(cadence.accompany_per_month).index
        plan_df.loc[pick, "kind"] = "accompanied"
    return plan_df.sort_values(["rep_id", "date"], kind="stable").reset_index(drop=True), pd.DataFrame(overflow, columns=cols)


def coverage(visits: pd.DataFrame, customers: pd.DataFrame, cadence: Cadence, *, days: int) -> pd.DataFrame:
    """Check: per grade, visits required by the cadence over ``days`` days, visits made (or
    planned), coverage = made / required, and customers not visited at all.

    Examples
    --------
    >>> import pandas as pd
    >>> cust = pd.DataFrame({"customer_id": ["a", "b"], "owner_id": "r1", "grade": ["A", "B"]})
    >>> visits = pd.DataFrame({"customer_id": ["a", "a", "a"], "date": pd.to_datetime(["2025-03-03", "2025-03-10", "2025-03-17"])})
    >>> coverage(visits, cust, Cadence(every_days={"A": 7, "B": 14}), days=28)[["grade", "required", "visits", "coverage", "not_visited"]].values.tolist()
    [['A', 4.0, 3, 0.75, 0], ['B', 2.0, 0, 0.0, 1]]
    """
    for c in ("customer_id", "grade"):
        if c not in customers.columns:
            raise KeyError(f"customers: column '{c}' missing; columns are {list(customers.columns)}")
    unknown = sorted(set(customers["grade"].dropna()) - set(cadence.every_days), key=str)
    if unknown:
        raise ValueError(f"customers: column 'grade' has grades {unknown} that the cadence does not list "
                         f"(every_days has {list(cadence.every_days)})")
    if "grade" not in visits.columns:   # a visit log without grades: the customer's grade
        if "customer_id" not in visits.columns:
            raise KeyError(f"visits: column 'customer_id' (or 'grade') missing; columns are {list(visits.columns)}")
        visits = visits.assign(grade=visits["customer_id"].map(customers.set_index("customer_id")["grade"]))
    req = customers.groupby("grade").size().rename("customers").to_frame()
    req["required"] = [n * days / cadence.every_days[g] for g, n in zip(req.index, req["customers"])]
    made = visits.groupby("grade").size().reindex(req.index, fill_value=0)
    seen = visits.groupby("grade")["customer_id"].nunique().reindex(req.index, fill_value=0)
    req["visits"] = made
    req["coverage"] = req["visits"] / req["required"]
    req["not_visited"] = req["customers"] - seen
    return req.reset_index()


def adjust(cadence: Cadence, cov: pd.DataFrame, *, target: float = 0.95) -> Cadence:
    """Adjust (the A of PDCA): lengthen the interval of grades covered below ``target`` in
    proportion to the shortfall, lowest grades first, so the plan fits the team's capacity.

    Examples
    --------
    >>> import pandas as pd
    >>> cov = pd.DataFrame({"grade": ["A", "B"], "required": [40, 20], "made": [40, 10], "coverage": [1.0, 0.5]})
    >>> adjust(Cadence(every_days={"A": 7, "B": 14}), cov).every_days
    {'A': 7, 'B': 28}
    """
    every = dict(cadence.every_days)
    for _, r in cov.sort_values("grade", ascending=False).iterrows():
        if r["coverage"] < target and r["coverage"] > 0:
            every[r["grade"]] = int(np.ceil(every[r["grade"]] / max(r["coverage"], 0.1)))
    return Cadence.model_validate({**cadence.model_dump(), "every_days": every})
