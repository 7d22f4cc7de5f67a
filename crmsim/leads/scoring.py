"""Lead scoring and grading (FEATURES L2C-2): points from conditions declared as data."""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from crmsim.conditions import Condition, evaluate_all
from crmsim.config import Config

__all__ = ["PointsRule", "BehaviourRule", "TagRule", "ScoringRule"]


class PointsRule(Config):
    """Add ``points`` to every lead that meets all ``when`` conditions and, if ``any_of`` is
    given, at least one of those (AND of ORs).

    Examples
    --------
    >>> import pandas as pd
    >>> r = PointsRule(points=15, when=[{"field": "company_size", "op": "in", "value": ["50-249", "250+"]}],
    ...                any_of=[{"field": "channel", "op": "eq", "value": "referral"}, {"field": "engagement", "op": "ge", "value": 5}])
    >>> r.hits(pd.DataFrame({"company_size": ["250+", "250+", "1-9"], "channel": ["referral", "ads", "referral"],
    ...                      "engagement": [0, 1, 9]})).tolist()
    [True, False, False]
    """

    points: float
    when: tuple[Condition, ...] = ()
    any_of: tuple[Condition, ...] = ()
    name: str = ""

    @model_validator(mode="after")
    def _some(self) -> PointsRule:
        if not self.when and not self.any_of:
            raise ValueError("a points rule needs 'when' and/or 'any_of' conditions")
        return self

    @property
    def label(self) -> str:
        if self.name:
            return self.name
        parts = [f"{c.field} {c.op} {c.value}" if c.value is not None else f"{c.field} {c.op}" for c in self.when]
        if self.any_of:
            parts.append("(" + " or ".join(f"{c.field} {c.op} {c.value}" for c in self.any_of) + ")")
        return " and ".join(parts)

    def hits(self, leads: pd.DataFrame) -> np.ndarray:
        out = evaluate_all(self.when, leads).to_numpy()
        if self.any_of:
            out = out & np.logical_or.reduce([c.evaluate(leads).to_numpy() for c in self.any_of])
        return out


class BehaviourRule(Config):
    """Points per behaviour event of kind ``event`` (visit, download, email_open...).

    Each event's points decay by half every ``half_life_days`` (none: no decay); only events in
    the last ``period_days`` count (none: all); the rule gives at most ``cap`` points.

    Examples
    --------
    >>> import pandas as pd
    >>> r = BehaviourRule(event="visit", points=10, half_life_days=7, cap=15)
    >>> ev = pd.DataFrame({"lead_id": ["a", "a", "b"], "event": "visit",
    ...                    "t": pd.to_datetime(["2025-03-10", "2025-03-03", "2025-03-03"])})
    >>> r.score(pd.Series(["a", "b", "c"]), ev, now="2025-03-10").tolist()
    [15.0, 5.0, 0.0]
    """

    event: str
    points: float
    half_life_days: float | None = Field(default=None, gt=0)
    period_days: float | None = Field(default=None, gt=0)
    cap: float | None = None
    name: str = ""

    @property
    def label(self) -> str:
        return self.name or f"{self.event} x {self.points:g}"

    def score(self, lead_ids: pd.Series, events: pd.DataFrame, now) -> np.ndarray:
        now = pd.Timestamp(now)
        e = events[events["event"] == self.event]
        age = (now - pd.to_datetime(e["t"])) / pd.Timedelta(days=1)
        keep = age >= 0
        if self.period_days is not None:
            keep &= age <= self.period_days
        e, age = e[keep], age[keep]
        w = self.points * (0.5 ** (age / self.half_life_days) if self.half_life_days else 1.0)
        per = pd.Series(np.asarray(w, dtype=float), index=e.index).groupby(e["lead_id"].to_numpy()).sum()
        pts = lead_ids.map(per).fillna(0.0).to_numpy(dtype=float)
        return np.minimum(pts, self.cap) if self.cap is not None else pts


class TagRule(Config):
    """Tag leads meeting all ``when`` conditions.

    Examples
    --------
    >>> import pandas as pd
    >>> rule = ScoringRule(tags=[TagRule(tag="enterprise", when=[{"field": "company_size", "op": "eq", "value": "250+"}])])
    >>> rule.tag(pd.DataFrame({"company_size": ["250+", "1-9"]})).tolist()
    ['enterprise', '']
    """

    tag: str
    when: tuple[Condition, ...] = Field(min_length=1)


_DEFAULT_RULES = (
    PointsRule(points=25, when=(Condition(field="engagement", op="ge", value=3),)),
    PointsRule(points=20, when=(Condition(field="engagement", op="ge", value=6),)),
    PointsRule(points=20, when=(Condition(field="channel", op="in", value=["events", "search"]),)),
    PointsRule(points=15, when=(Condition(field="company_size", op="in", value=["50-249", "250+"]),)),
    PointsRule(points=20, when=(Condition(field="job_level", op="in", value=["director", "executive"]),)),
)


class ScoringRule(Config):
    """Score = sum of the points of every matching rule; grade by thresholds; MQL at a threshold.

    Parameters
    ----------
    rules : points rules (default: engagement, channel, company size and job level).
    grades : minimum score per grade, best first; a lead below every threshold gets ``fallback_grade``.
    mql_threshold : a lead with score >= this becomes a marketing-qualified lead (MQL).

    Examples
    --------
    >>> import pandas as pd
    >>> rule = ScoringRule(mql_threshold=40)
    >>> leads = pd.DataFrame({"engagement": [7, 0], "channel": ["search", "ads"],
    ...                       "company_size": ["250+", "1-9"], "job_level": ["staff", "staff"]})
    >>> rule.apply(leads)[["score", "grade", "mql"]].values.tolist()
    [[80.0, 'A', True], [0.0, 'D', False]]
    """

    rules: tuple[PointsRule, ...] = _DEFAULT_RULES
    behaviour: tuple[BehaviourRule, ...] = ()
    tags: tuple[TagRule, ...] = ()
    grades: dict[str, float] = {"A": 70.0, "B": 50.0, "C": 30.0}
    fallback_grade: str = "D"
    mql_threshold: float = 40.0

    @model_validator(mode="after")
    def _grades_descending(self) -> ScoringRule:
        v = list(self.grades.values())
        if any(a <= b for a, b in zip(v, v[1:])):
            raise ValueError(f"grades must have strictly decreasing thresholds, got {self.grades}")
        if self.fallback_grade in self.grades:
            raise ValueError(f"fallback_grade '{self.fallback_grade}' is also in grades")
        return self

    def _points(self, leads: pd.DataFrame, events: pd.DataFrame | None, now) -> list[tuple[str, np.ndarray]]:
        out = [(r.label, np.where(r.hits(leads), r.points, 0.0)) for r in self.rules]
        if self.behaviour:
            if events is None or now is None:
                raise ValueError("behaviour rules need the lead events table and 'now'")
            if "lead_id" not in leads.columns:
                raise KeyError("behaviour rules need a 'lead_id' column on leads")
            out += [(b.label, b.score(leads["lead_id"], events, now)) for b in self.behaviour]
        return out

    def score(self, leads: pd.DataFrame, events: pd.DataFrame | None = None, now=None) -> pd.Series:
        total = np.zeros(len(leads))
        for _, pts in self._points(leads, events, now):
            total += pts
        return pd.Series(total, index=leads.index, name="score")

    def explain(self, leads: pd.DataFrame, events: pd.DataFrame | None = None, now=None) -> pd.DataFrame:
        """Which rules fired for each lead and for how many points (long format, non-zero only)."""
        parts = []
        for label, pts in self._points(leads, events, now):
            hit = pts != 0
            parts.append(pd.DataFrame({"lead": leads.index[hit], "rule": label, "points": pts[hit]}))
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["lead", "rule", "points"])

    def grade(self, score: pd.Series) -> pd.Series:
        """Grade per score, as a categorical ordered best first."""
        conds = [score.to_numpy() >= t for t in self.grades.values()]
        codes = np.select(conds, list(range(len(self.grades))), len(self.grades))
        cats = [*self.grades, self.fallback_grade]
        return pd.Series(pd.Categorical.from_codes(codes, categories=cats), index=score.index,
                         name="grade")

    def tag(self, leads: pd.DataFrame) -> pd.Series:
        """Comma-separated tags per lead (empty string when none)."""
        hits = [(t.tag, evaluate_all(t.when, leads).to_numpy()) for t in self.tags]
        return pd.Series([",".join(tag for tag, h in hits if h[k]) for k in range(len(leads))],
                         index=leads.index, name="tags", dtype="str")

    def apply(self, leads: pd.DataFrame, events: pd.DataFrame | None = None, now=None) -> pd.DataFrame:
        """``score``, ``grade`` and ``mql`` columns for every lead (same index), and ``tags``
        when tag rules are declared."""
        s = self.score(leads, events, now)
        out = pd.DataFrame({"score": s, "grade": self.grade(s), "mql": s >= self.mql_threshold})
        if self.tags:
            out["tags"] = self.tag(leads)
        return out
