"""Lead scoring and grading (FEATURES L2C-2): points from conditions declared as data."""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from crmsim.conditions import Condition, evaluate_all
from crmsim.config import Config

__all__ = ["PointsRule", "ScoringRule"]


class PointsRule(Config):
    """Add ``points`` to every lead that meets all ``when`` conditions."""

    points: float
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

    def score(self, leads: pd.DataFrame) -> pd.Series:
        total = np.zeros(len(leads))
        for r in self.rules:
            total += np.where(evaluate_all(r.when, leads).to_numpy(), r.points, 0.0)
        return pd.Series(total, index=leads.index, name="score")

    def grade(self, score: pd.Series) -> pd.Series:
        """Grade per score, as a categorical ordered best first."""
        conds = [score.to_numpy() >= t for t in self.grades.values()]
        codes = np.select(conds, list(range(len(self.grades))), len(self.grades))
        cats = [*self.grades, self.fallback_grade]
        return pd.Series(pd.Categorical.from_codes(codes, categories=cats), index=score.index,
                         name="grade")

    def apply(self, leads: pd.DataFrame) -> pd.DataFrame:
        """``score``, ``grade`` and ``mql`` columns for every lead (same index)."""
        s = self.score(leads)
        return pd.DataFrame({"score": s, "grade": self.grade(s), "mql": s >= self.mql_threshold})
