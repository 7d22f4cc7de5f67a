"""Lead lifecycle rules (FEATURES L2C-3): recycling unworked leads, and the response-time effect."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from crmsim.calendar import WorkCalendar
from crmsim.conditions import Condition, evaluate_all
from crmsim.config import Config
from crmsim.tables import LEAD_STAGES

__all__ = ["RecycleRule", "RecallRule", "ResponseCurve", "HBR_2011_RESPONSE", "Lifecycle", "TransitionError",
           "LIFECYCLE_STAGES", "stage_metrics"]


class RecycleRule(Config):
    """Recycle a lead to marketing when it has waited more than ``max_wait_days`` for first contact.

    ``max_wait_days = 0`` switches the rule off. The wait is strictly greater than the limit, as in
    the public-pool reclaim rules.

    Examples
    --------
    >>> import pandas as pd
    >>> leads = pd.DataFrame({"assigned_at": [0.0, 2.5, 1.0], "first_contact_at": [None, None, 1.5]})
    >>> RecycleRule(max_wait_days=3).due(leads, today=4.0).tolist()
    [True, False, False]
    """

    max_wait_days: float = Field(default=5.0, ge=0)

    def due(self, leads: pd.DataFrame, today) -> pd.Series:
        """True for leads assigned, not yet contacted and waiting longer than the limit.

        ``assigned_at``/``first_contact_at`` may be days (float) or timestamps (then ``today`` is too).
        """
        if self.max_wait_days == 0:
            return pd.Series(False, index=leads.index)
        waited = today - leads["assigned_at"]
        if pd.api.types.is_timedelta64_dtype(waited):
            waited = waited / pd.Timedelta(days=1)
        return (leads["first_contact_at"].isna() & (waited > self.max_wait_days)).astype(bool)

    def due_days(self, assigned_at: np.ndarray, today: float) -> np.ndarray:
        """Vector form for waiting leads (none contacted yet): assigned times in days."""
        if self.max_wait_days == 0:
            return np.zeros(len(assigned_at), dtype=bool)
        return (today - np.asarray(assigned_at)) > self.max_wait_days

    def first_due_night(self, assigned_at: np.ndarray) -> np.ndarray:
        """The first nightly run (a whole day number) at which each waiting lead is due by
        :meth:`due_days` (inf when the rule is off): what a simulation that knows a lead is
        still waiting asks, instead of asking every night.

        >>> RecycleRule(max_wait_days=3).first_due_night(np.array([0.5, 2.0])).tolist()
        [4.0, 6.0]
        """
        a = np.asarray(assigned_at, dtype=float)
        if self.max_wait_days == 0:
            return np.full(a.shape, np.inf)
        m = np.floor(a + self.max_wait_days) + 1.0
        m = np.where(self.due_days(a, m - 1.0) & (m - 1.0 >= a), m - 1.0, m)   # exact as due_days rounds
        return np.where(self.due_days(a, m), m, m + 1.0)


class RecallRule(Config):
    """Recall a lead from its owner when it has not been contacted within ``max_working_hours``
    of assignment (working hours of ``calendar``); the lead is then reassigned, not to the same
    rep (pass ``previous_owner`` to :meth:`AssignmentRule.assign_table`).

    Examples
    --------
    >>> import pandas as pd
    >>> leads = pd.DataFrame({"assigned_at": pd.to_datetime(["2025-03-07 16:00", "2025-03-10 09:00"]),
    ...                       "first_contact_at": pd.to_datetime([None, None])})
    >>> RecallRule(max_working_hours=4).due(leads, "2025-03-10 12:30").tolist()  # 4.5 h and 3.5 h
    [True, False]
    """

    max_working_hours: float = Field(default=24.0, gt=0)
    calendar: WorkCalendar = WorkCalendar()
    #: an unassign condition: an assigned lead meeting all of these goes back at once, contacted or
    #: not (e.g. ``[{field = "owner_active", op = "eq", value = false}]``: its rep left)
    unassign_when: tuple[Condition, ...] = ()

    def due(self, leads: pd.DataFrame, now) -> pd.Series:
        """Leads to take back from their owner: not contacted in time, or meeting ``unassign_when``."""
        now_col = pd.Series(pd.Timestamp(now), index=leads.index)
        waited = self.calendar.working_hours(leads["assigned_at"], now_col)
        out = leads["first_contact_at"].isna() & (waited > self.max_working_hours)
        if self.unassign_when:
            owned = leads["assigned_at"].notna()
            out = out | (evaluate_all(self.unassign_when, leads) & owned)
        return out.astype(bool)


#: Oldroyd, McElheran & Elkington, "The Short Life of Online Sales Leads", HBR, March 2011: firms
#: that contacted a lead within an hour were nearly 7x as likely to qualify it as those waiting one
#: more hour, and over 60x as likely as those waiting 24 hours or longer.
HBR_2011_RESPONSE = {"hours": (1.0, 2.0, 24.0), "multiplier": (1.0, 1 / 7, 1 / 60)}


class ResponseCurve(Config):
    """How the chance to qualify a lead falls with the time to first contact.

    ``multiplier(hours)`` scales the chance of qualifying at once. Kinds:

    - ``table`` (default, from HBR 2011 above): 1 up to the first point, then interpolated linearly
      in log(hours) and log(multiplier) between the points, flat after the last one;
    - ``exponential``: ``0.5 ** (hours / half_life_hours)``;
    - ``none``: no effect (1 everywhere).

    Examples
    --------
    >>> ResponseCurve().multiplier([0.5, 2, 48]).round(4).tolist()
    [1.0, 0.1429, 0.0167]
    """

    kind: Literal["table", "exponential", "none"] = "table"
    hours: tuple[float, ...] = HBR_2011_RESPONSE["hours"]
    multiplier_: tuple[float, ...] = Field(default=HBR_2011_RESPONSE["multiplier"], alias="multiplier")
    half_life_hours: float = Field(default=4.0, gt=0)

    @model_validator(mode="after")
    def _table(self) -> ResponseCurve:
        if self.kind == "table":
            h, m = self.hours, self.multiplier_
            if len(h) != len(m) or len(h) == 0:
                raise ValueError(f"hours and multiplier need the same, non-zero length: {h}, {m}")
            if any(x <= 0 for x in h) or any(a >= b for a, b in zip(h, h[1:])):
                raise ValueError(f"hours must be > 0 and strictly increasing, got {list(h)}")
            if any(not 0 < x <= 1 for x in m):
                raise ValueError(f"multiplier values must be in (0, 1], got {list(m)}")
        return self

    def multiplier(self, hours) -> np.ndarray:
        h = np.asarray(hours, dtype=float)
        if self.kind == "none":
            return np.ones_like(h)
        if self.kind == "exponential":
            return 0.5 ** (np.maximum(h, 0) / self.half_life_hours)
        lh = np.log(np.maximum(h, 1e-12))
        lm = np.interp(lh, np.log(self.hours), np.log(self.multiplier_))
        return np.where(h <= self.hours[0], self.multiplier_[0], np.exp(lm))


#: Stages of a lead (FEATURES L2C-3): :data:`crmsim.tables.LEAD_STAGES`, the one set of stages.
LIFECYCLE_STAGES = LEAD_STAGES
_TRANSITIONS = {
    "raw": ("mql", "nurture", "invalid"),
    "nurture": ("mql", "invalid"),
    "mql": ("sql", "nurture", "invalid"),
    "sql": ("converted", "nurture", "invalid"),
    "converted": (),
    "invalid": (),
}


class TransitionError(ValueError):
    """A stage change the lifecycle does not allow; names the lead(s) and the stages.

    Examples
    --------
    >>> import pandas as pd
    >>> try:
    ...     Lifecycle().move(pd.DataFrame({"lead_id": ["a"], "stage": ["raw"]}), "converted", 0)
    ... except TransitionError as e:
    ...     print(e)
    not allowed -> 'converted': lead a from 'raw'
    """


class Lifecycle(Config):
    """Allowed stage transitions, entry criteria per stage, and SLAs.

    Parameters
    ----------
    transitions : stage -> stages it may move to.
    entry : stage -> conditions a lead must meet to enter it (rules as data).
    sla_hours : stage -> working hours allowed before the first action (e.g. ``{"mql": 24}``:
        first contact within 24 working hours of becoming an MQL).
    calendar : the working calendar the SLA counts in.

    Examples
    --------
    >>> import pandas as pd
    >>> lc = Lifecycle()
    >>> leads = pd.DataFrame({"lead_id": ["a", "b"], "stage": ["raw", "mql"]})
    >>> after, hist = lc.move(leads, "mql", pd.Timestamp("2025-03-03 09:00"), mask=[True, False])
    >>> after["stage"].tolist(), hist[["lead_id", "from_stage", "to_stage"]].values.tolist()
    (['mql', 'mql'], [['a', 'raw', 'mql']])
    >>> lc.move(leads, "converted", pd.Timestamp("2025-03-03"))
    Traceback (most recent call last):
    ...
    crmsim.leads.lifecycle.TransitionError: not allowed -> 'converted': lead a from 'raw', lead b from 'mql'
    """

    transitions: dict[str, tuple[str, ...]] = _TRANSITIONS
    entry: dict[str, tuple[Condition, ...]] = {}
    sla_hours: dict[str, float] = {"mql": 24.0}
    calendar: WorkCalendar = WorkCalendar()

    def move(self, leads: pd.DataFrame, to_stage: str, t, *, mask=None, id_col: str = "lead_id"
             ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Move leads (all, or where ``mask``) to ``to_stage`` at time ``t``.

        Returns ``(leads_after, history_rows)`` with history columns ``lead_id, t, from_stage,
        to_stage``. Raises :class:`TransitionError` naming the leads and stages if a move is not
        allowed or a lead fails the stage's entry criteria; nothing is moved then.
        """
        if to_stage not in self.transitions:
            raise TransitionError(f"unknown stage '{to_stage}'; stages are {list(self.transitions)}")
        sel = np.ones(len(leads), dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
        cur = leads["stage"].astype(str).to_numpy()
        bad = sel & ~np.isin(cur, [s for s, to in self.transitions.items() if to_stage in to])
        if bad.any():
            pairs = sorted({(i, c) for i, c in zip(leads[id_col].to_numpy()[bad], cur[bad])})[:10]
            raise TransitionError(
                f"not allowed -> '{to_stage}': " + ", ".join(f"lead {i} from '{c}'" for i, c in pairs))
        crit = self.entry.get(to_stage, ())
        if crit:
            fails = sel & ~evaluate_all(crit, leads).to_numpy()
            if fails.any():
                ids = leads[id_col].to_numpy()[fails].tolist()[:10]
                raise TransitionError(f"leads {ids} do not meet the entry criteria of '{to_stage}'")
        out = leads.copy()
        out.loc[sel, "stage"] = to_stage
        hist = pd.DataFrame({"lead_id": leads[id_col].to_numpy()[sel], "t": t,
                             "from_stage": cur[sel], "to_stage": to_stage})
        return out, hist

    def check_history(self, history: pd.DataFrame) -> None:
        """Raise :class:`TransitionError` on the first history rows with a move not allowed."""
        ok = [to in self.transitions.get(fr, ()) for fr, to in zip(history["from_stage"], history["to_stage"])]
        bad = history[~np.array(ok, dtype=bool)]
        if len(bad):
            rows = [f"lead {r.lead_id}: '{r.from_stage}' -> '{r.to_stage}'" for r in bad.head(10).itertuples()]
            raise TransitionError("stage history has moves not allowed: " + "; ".join(rows))

    def sla(self, history: pd.DataFrame, actions: pd.DataFrame, now) -> pd.DataFrame:
        """Per lead and stage with an SLA: when it entered, its first action after entering,
        the working hours taken (or elapsed so far) and ``breach``.

        ``history``: ``lead_id, t, to_stage``; ``actions``: ``lead_id, t`` (calls, emails...).
        """
        now = pd.Timestamp(now)
        rows = []
        for stage, limit in self.sla_hours.items():
            ent = history[history["to_stage"] == stage].groupby("lead_id")["t"].max().rename("entered")
            if ent.empty:
                continue
            a = actions.merge(ent, left_on="lead_id", right_index=True)
            first = a[a["t"] >= a["entered"]].groupby("lead_id")["t"].min().rename("first_action")
            df = ent.to_frame().join(first)
            end = df["first_action"].fillna(now)
            df["working_hours"] = self.calendar.working_hours(df["entered"], end)
            df["breach"] = df["working_hours"] > limit
            df["stage"] = stage
            df["sla_hours"] = limit
            rows.append(df.reset_index())
        cols = ["lead_id", "stage", "entered", "first_action", "working_hours", "sla_hours", "breach"]
        return pd.concat(rows, ignore_index=True)[cols] if rows else pd.DataFrame(columns=cols)


def stage_metrics(history: pd.DataFrame, leads: pd.DataFrame, *, by: str = "channel",
                  cohort_freq: str = "MS") -> pd.DataFrame:
    """Conversion and velocity per ``by`` group and cohort (month created).

    For each group: leads, how many reached each stage, the rate from the previous stage, and the
    median days from creation to reaching it. ``leads`` needs ``lead_id``, ``created_at`` and
    ``by``; ``history`` needs ``lead_id, t, to_stage``.

    Examples
    --------
    >>> import pandas as pd
    >>> leads = pd.DataFrame({"lead_id": ["a", "b", "c"], "channel": "web",
    ...                       "created_at": pd.to_datetime(["2025-03-01", "2025-03-02", "2025-03-05"])})
    >>> hist = pd.DataFrame({"lead_id": ["a", "b", "a"], "to_stage": ["mql", "mql", "sql"],
    ...                      "t": pd.to_datetime(["2025-03-02", "2025-03-04", "2025-03-10"])})
    >>> m = stage_metrics(hist, leads)
    >>> m[["leads", "mql", "mql_rate", "mql_median_days", "sql", "sql_rate"]].round(2).values.tolist()
    [[3.0, 2.0, 0.67, 1.5, 1.0, 0.5]]
    """
    base = leads[["lead_id", "created_at", by]].copy()
    base["cohort"] = pd.to_datetime(base["created_at"]).dt.to_period("M" if cohort_freq in ("MS", "M") else cohort_freq).dt.start_time
    h = history.merge(base, on="lead_id", how="inner")
    first = h.groupby(["lead_id", "to_stage"])["t"].min().rename("t").reset_index().merge(base, on="lead_id")
    first["days"] = (pd.to_datetime(first["t"]) - pd.to_datetime(first["created_at"])) / pd.Timedelta(days=1)
    out = base.groupby([by, "cohort"]).size().rename("leads").to_frame()
    prev = "leads"
    for st in ("mql", "sql", "converted"):
        f = first[first["to_stage"] == st]
        g = f.groupby([by, "cohort"])
        out[st] = g.size()
        out[f"{st}_median_days"] = g["days"].median()
        out[st] = out[st].fillna(0).astype(np.int64)
        out[f"{st}_rate"] = np.where(out[prev] > 0, out[st] / out[prev].where(out[prev] > 0, 1), np.nan)
        prev = st
    return out.reset_index()
