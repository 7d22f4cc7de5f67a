"""Key-account teams and plans (FEATURES MCR): the "iron triangle" with responsibilities and
hand-offs, an account plan with its cadence, the plan checked against activity, and the voice
of the customer (surveys with an SLA, NPS/CSAT trends)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import Field

from crmsim.config import Config

__all__ = ["IRON_TRIANGLE", "TeamMember", "AccountTeam", "AccountPlan", "plan_vs_activity",
           "SurveyPolicy", "survey_sla", "nps"]

#: The iron triangle: account manager (relationship, commercial lead), solution manager
#: (solution and technical fit), fulfilment manager (delivery and payment).
IRON_TRIANGLE = ("account_manager", "solution_manager", "fulfilment_manager")


class TeamMember(Config):
    """A person on an account team, their role, and whose side they are on (ours, or the
    customer's: e.g. the customer's sponsor).

    Examples
    --------
    >>> team = AccountTeam(account_id="acme", members=[TeamMember(person="ann", role="account_manager"),
    ...                                                TeamMember(person="bo", role="solution_manager"),
    ...                                                TeamMember(person="kim", role="sponsor", side="customer")])
    >>> team.gaps()
    ['missing role: fulfilment_manager']
    """

    person: str
    role: str
    side: str = "ours"  # "ours" or "customer" (e.g. the customer's sponsor)


class AccountTeam(Config):
    """An account's team, the roles it must have, who does what, and the hand-offs between them.

    Examples
    --------
    >>> team = AccountTeam(account_id="acme", members=[TeamMember(person="ann", role="account_manager")])
    >>> team.owner_at("qualify"), team.owner_at("propose"), team.owner_at("won")
    ('solution_manager', 'solution_manager', 'fulfilment_manager')
    """

    account_id: str
    members: tuple[TeamMember, ...]
    required_roles: tuple[str, ...] = IRON_TRIANGLE
    require_sponsor: bool = True
    responsibilities: dict[str, tuple[str, ...]] = {
        "account_manager": ("account plan", "executive relationships", "commercial terms"),
        "solution_manager": ("requirements", "solution design", "proposal"),
        "fulfilment_manager": ("delivery plan", "acceptance", "invoicing and collection"),
    }
    handoffs: tuple[tuple[str, str, str], ...] = (
        ("account_manager", "solution_manager", "qualify"),
        ("solution_manager", "account_manager", "negotiate"),
        ("account_manager", "fulfilment_manager", "won"),
    )

    def gaps(self) -> list[str]:
        """What the team lacks: missing roles, a missing customer sponsor, roles held twice."""
        ours = [m.role for m in self.members if m.side == "ours"]
        out = [f"missing role: {r}" for r in self.required_roles if r not in ours]
        if self.require_sponsor and not any(m.side == "customer" and m.role == "sponsor" for m in self.members):
            out.append("missing customer sponsor")
        out += [f"role held twice: {r}" for r in sorted({r for r in ours if ours.count(r) > 1})]
        return out

    stages: tuple[str, ...] = ("qualify", "discover", "propose", "negotiate", "won")

    def owner_at(self, stage: str) -> str | None:
        """Who leads the account at a pipeline stage: the receiver of the last hand-off at or
        before that stage (before the first hand-off, its giver)."""
        if stage not in self.stages:
            raise ValueError(f"unknown stage '{stage}'; stages are {list(self.stages)}")
        lead = self.handoffs[0][0] if self.handoffs else None
        for _giver, receiver, at in sorted(self.handoffs, key=lambda h: self.stages.index(h[2])):
            if self.stages.index(at) <= self.stages.index(stage):
                lead = receiver
        return lead


class AccountPlan(Config):
    """An account strategy with its cadence of visits and executive interactions.

    Examples
    --------
    >>> import pandas as pd
    >>> plans = [AccountPlan(account_id="acme", visit_every_days=14, executive_every_days=90)]
    >>> act = pd.DataFrame({"account_id": ["acme", "acme"], "t": pd.to_datetime(["2025-01-10", "2025-02-20"]),
    ...                     "kind": ["visit", "visit"]})
    >>> out = plan_vs_activity(plans, act, start="2025-01-01", end="2025-04-01").round(1)
    >>> out[["visits_expected", "visits_done", "executive_expected", "executive_done", "on_plan"]].values.tolist()
    [[6.4, 2, 1.0, 0, False]]
    """

    account_id: str
    strategy: str = ""
    visit_every_days: int = Field(default=14, ge=1)
    executive_every_days: int = Field(default=90, ge=1)


def plan_vs_activity(plans, activities: pd.DataFrame, *, start, end) -> pd.DataFrame:
    """Per account: visits and executive meetings the plan expects in [start, end), those done,
    the gap and the days since the last contact. ``activities``: ``account_id, t, kind``
    (``visit`` / ``executive``).

    Examples
    --------
    >>> import pandas as pd
    >>> act = pd.DataFrame({"account_id": ["a", "b"], "t": pd.to_datetime(["2025-03-01", "2025-03-05"]), "kind": ["visit", "executive"]})
    >>> out = plan_vs_activity([AccountPlan(account_id="a"), AccountPlan(account_id="b")], act, start="2025-01-01", end="2025-04-01")
    >>> out.columns.tolist()
    ['account_id', 'visits_expected', 'visits_done', 'executive_expected', 'executive_done', 'visit_gap', 'executive_gap', 'days_since_contact', 'on_plan']
    """
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    days = (end - start) / pd.Timedelta(days=1)
    a = activities[(pd.to_datetime(activities["t"]) >= start) & (pd.to_datetime(activities["t"]) < end)]
    rows = []
    for p in plans:
        mine = a[a["account_id"] == p.account_id]
        last = pd.to_datetime(activities.loc[activities["account_id"] == p.account_id, "t"]).max()
        exp_v, exp_e = days / p.visit_every_days, days / p.executive_every_days
        n_v, n_e = int((mine["kind"] == "visit").sum()), int((mine["kind"] == "executive").sum())
        rows.append({"account_id": p.account_id, "visits_expected": exp_v, "visits_done": n_v,
                     "executive_expected": exp_e, "executive_done": n_e,
                     "visit_gap": max(0.0, exp_v - n_v), "executive_gap": max(0.0, exp_e - n_e),
                     "days_since_contact": (end - last) / pd.Timedelta(days=1) if pd.notna(last) else np.nan,
                     "on_plan": n_v >= np.floor(exp_v) and n_e >= np.floor(exp_e)})
    return pd.DataFrame(rows)


class SurveyPolicy(Config):
    """Voice of the customer with an SLA: a survey every ``every_days`` per account, answered within
    ``answer_days``; a score <= ``low_score`` (0-10) is followed up within ``follow_up_days``.

    Examples
    --------
    >>> import pandas as pd
    >>> s = pd.DataFrame({"account_id": ["a", "b"], "sent_at": pd.to_datetime(["2025-03-01", "2025-03-01"]),
    ...                   "answered_at": pd.to_datetime(["2025-03-03", None]), "score": [4, None],
    ...                   "followed_up_at": pd.to_datetime([None, None])})
    >>> survey_sla(s, SurveyPolicy(), accounts=["a", "b", "c"], now="2025-03-31").values.tolist()
    [['a', 1, ['low_score_no_follow_up'], False], ['b', 1, ['unanswered'], False], ['c', 0, ['not_sent'], False]]
    """

    every_days: int = Field(default=90, ge=1)
    answer_days: int = Field(default=14, ge=1)
    low_score: int = Field(default=6, ge=0, le=10)
    follow_up_days: int = Field(default=7, ge=1)


def survey_sla(surveys: pd.DataFrame, policy: SurveyPolicy, *, accounts, now) -> pd.DataFrame:
    """SLA breaches per account: ``not_sent`` (no survey within ``every_days`` before ``now``),
    ``unanswered`` (sent, no answer after ``answer_days``), ``low_score_no_follow_up``.
    ``surveys``: ``account_id, sent_at, answered_at, score, followed_up_at``.

    Examples
    --------
    >>> import pandas as pd
    >>> s = pd.DataFrame({"account_id": ["a"], "sent_at": pd.to_datetime(["2024-10-01"]), "answered_at": pd.to_datetime(["2024-10-02"]),
    ...                   "score": [9], "followed_up_at": pd.to_datetime([None])})
    >>> survey_sla(s, SurveyPolicy(every_days=90), accounts=["a"], now="2025-03-31").values.tolist()
    [['a', 1, ['not_sent'], False]]
    """
    now = pd.Timestamp(now)
    s = surveys.copy()
    for c in ("sent_at", "answered_at", "followed_up_at"):
        s[c] = pd.to_datetime(s[c])
    rows = []
    for acc in accounts:
        mine = s[s["account_id"] == acc]
        last = mine["sent_at"].max()
        breaches = []
        if pd.isna(last) or (now - last) / pd.Timedelta(days=1) > policy.every_days:
            breaches.append("not_sent")
        late = mine[mine["answered_at"].isna() & ((now - mine["sent_at"]) / pd.Timedelta(days=1) > policy.answer_days)]
        breaches += ["unanswered"] * len(late)
        low = mine[mine["score"].notna() & (mine["score"] <= policy.low_score)]
        due = low["answered_at"] + pd.Timedelta(days=policy.follow_up_days)
        missed = low[(low["followed_up_at"].isna() & (due < now)) | (low["followed_up_at"] > due)]
        breaches += ["low_score_no_follow_up"] * len(missed)
        rows.append({"account_id": acc, "surveys": len(mine), "breaches": breaches, "ok": not breaches})
    return pd.DataFrame(rows)


def nps(surveys: pd.DataFrame, *, by=("account_id",), freq: str = "QE") -> pd.DataFrame:
    """Net promoter score (promoters 9-10 minus detractors 0-6, in %) and CSAT (mean score) per
    group and period of the answer date.

    Examples
    --------
    >>> import pandas as pd
    >>> s = pd.DataFrame({"account_id": "a", "answered_at": pd.to_datetime(["2025-01-10", "2025-02-10", "2025-03-10", "2025-03-20"]),
    ...                   "score": [10, 9, 7, 3]})
    >>> nps(s)[["nps", "csat"]].values.tolist()
    [[25.0, 7.25]]
    """
    s = surveys[surveys["score"].notna()].copy()
    s["period"] = pd.to_datetime(s["answered_at"]).dt.to_period(freq.rstrip("E") or "Q").dt.start_time
    g = s.groupby([*by, "period"])["score"]
    out = pd.DataFrame({"answers": g.size(), "csat": g.mean(),
                        "nps": g.apply(lambda x: 100 * ((x >= 9).mean() - (x <= 6).mean()))})
    return out.reset_index()
