"""Opportunities and the sales process (FEATURES L2C-5): stages as data, stage history, checks."""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from crmsim.conditions import Condition, evaluate_all
from crmsim.config import Config

__all__ = ["Stage", "SalesProcess", "StageError", "stage_at", "check_history", "AutoCloseRule"]


class Stage(Config):
    """One stage: its default win probability, the actions it requires and its exit criteria.

    Examples
    --------
    >>> p = SalesProcess(stages=[Stage(name="lead", probability=0.1), Stage(name="demo", probability=0.35,
    ...                                                                     required_actions=("demo held",))])
    >>> p.names, p.probability("demo")
    (('lead', 'demo', 'won', 'lost'), 0.35)
    """

    name: str
    probability: float = Field(ge=0, le=1)
    required_actions: tuple[str, ...] = ()
    exit_criteria: tuple[Condition, ...] = ()


class SalesProcess(Config):
    """Ordered open stages, then the closed ``won`` and ``lost`` stages.

    Moves forward are allowed; backward moves between open stages only if ``allow_backward``; any
    open stage may close as won or lost; closed stages are final unless ``allow_reopen``.

    Examples
    --------
    >>> p = SalesProcess()
    >>> p.names, p.probability("propose")
    (('qualify', 'discover', 'propose', 'negotiate', 'won', 'lost'), 0.4)
    """

    stages: tuple[Stage, ...] = (
        Stage(name="qualify", probability=0.10, required_actions=("discovery call",)),
        Stage(name="discover", probability=0.20, required_actions=("needs analysis",)),
        Stage(name="propose", probability=0.40, required_actions=("quote sent",)),
        Stage(name="negotiate", probability=0.70, required_actions=("decision maker met",)),
    )
    won: str = "won"
    lost: str = "lost"
    allow_backward: bool = True
    allow_reopen: bool = False

    @model_validator(mode="after")
    def _names(self) -> SalesProcess:
        names = [s.name for s in self.stages]
        if len(set(names)) != len(names) or {self.won, self.lost} & set(names) or self.won == self.lost:
            raise ValueError(f"stage names must be unique and differ from won/lost, got {names}")
        if not self.stages:
            raise ValueError("a sales process needs at least one open stage")
        return self

    @property
    def names(self) -> tuple[str, ...]:
        return (*[s.name for s in self.stages], self.won, self.lost)

    @property
    def open_stages(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.stages)

    def order(self, stage: str) -> int:
        return self.names.index(stage)

    def probability(self, stage: str) -> float:
        if stage == self.won:
            return 1.0
        if stage == self.lost:
            return 0.0
        return next(s.probability for s in self.stages if s.name == stage)

    def allowed(self, frm: str, to: str) -> bool:
        if frm not in self.names or to not in self.names:
            return False
        closed = (self.won, self.lost)
        if frm in closed:
            return self.allow_reopen and to not in closed
        if to in closed or frm == to:
            return True
        return self.order(to) > self.order(frm) or self.allow_backward

    def exit_ok(self, opportunities: pd.DataFrame, stage: str) -> pd.Series:
        """Whether each opportunity meets the exit criteria of ``stage``."""
        st = next(s for s in self.stages if s.name == stage)
        return evaluate_all(st.exit_criteria, opportunities)


class StageError(ValueError):
    """A stage change the sales process does not allow; names the opportunity and stages.

    Examples
    --------
    >>> import pandas as pd
    >>> h = pd.DataFrame({"opportunity_id": ["a", "a"], "stage": ["won", "propose"], "t": pd.to_datetime(["2025-01-01", "2025-01-02"])})
    >>> try:
    ...     check_history(h, SalesProcess())
    ... except StageError as e:
    ...     print(e)
    1 stage change(s) not allowed by the sales process: a: won -> propose
    """


def check_history(history: pd.DataFrame, process: SalesProcess, *, id_col: str = "opportunity_id") -> pd.DataFrame:
    """Validate a stage history (``opportunity_id, t, stage``; one row per stage entered).

    Returns the history sorted, with ``from_stage``. Raises :class:`StageError` listing the first
    offending opportunities and moves (unknown stage or a move the process forbids).

    Examples
    --------
    >>> import pandas as pd
    >>> opps = pd.DataFrame({"opportunity_id": ["a", "b", "c", "d", "e"], "owner": ["ann", "ann", "bo", "bo", "bo"],
    ...                      "created_at": pd.to_datetime(["2025-01-05", "2025-01-20", "2025-02-01", "2025-02-10", "2025-03-01"]),
    ...                      "closed_at": pd.to_datetime(["2025-02-04", "2025-03-01", "2025-03-15", None, None]),
    ...                      "expected_close": pd.to_datetime([None, None, None, "2025-04-15", "2025-03-20"]),
    ...                      "stage": ["won", "lost", "won", "propose", "negotiate"],
    ...                      "amount": [10_000.0, 5_000.0, 20_000.0, 8_000.0, 12_000.0]})
    >>> history = pd.DataFrame({"opportunity_id": ["a", "a", "a", "b", "b", "c", "c", "c", "d", "d", "e", "e"],
    ...                         "stage": ["qualify", "propose", "won", "qualify", "lost", "qualify", "negotiate", "won",
    ...                                   "qualify", "propose", "qualify", "negotiate"],
    ...                         "t": pd.to_datetime(["2025-01-05", "2025-01-15", "2025-02-04", "2025-01-20", "2025-03-01",
    ...                                              "2025-02-01", "2025-03-01", "2025-03-15", "2025-02-10", "2025-03-05",
    ...                                              "2025-03-01", "2025-03-10"])})
    >>> check_history(history, SalesProcess())[["opportunity_id", "from_stage", "stage"]].head(3).values.tolist()
    [['a', nan, 'qualify'], ['a', 'qualify', 'propose'], ['a', 'propose', 'won']]
    """
    for c in (id_col, "t", "stage"):
        if c not in history.columns:
            raise KeyError(f"stage history: column '{c}' missing; columns are {list(history.columns)}")
    h = history.sort_values([id_col, "t"], kind="stable").reset_index(drop=True)
    h["from_stage"] = h.groupby(id_col)["stage"].shift()
    unknown = ~h["stage"].isin(process.names)
    moves = h["from_stage"].notna()
    ok = np.array([process.allowed(f, t) if m else True
                   for f, t, m in zip(h["from_stage"], h["stage"], moves)], dtype=bool)
    bad = h[unknown | ~ok]
    if len(bad):
        rows = [f"{r[id_col]}: {r['from_stage'] if pd.notna(r['from_stage']) else '(start)'} -> {r['stage']}"
                for _, r in bad.head(10).iterrows()]
        raise StageError(f"{len(bad)} stage change(s) not allowed by the sales process: " + "; ".join(rows))
    return h


def stage_at(history: pd.DataFrame, when, *, id_col: str = "opportunity_id") -> pd.Series:
    """The stage of each opportunity at time ``when`` (its last stage entered at or before).

    Examples
    --------
    >>> import pandas as pd
    >>> opps = pd.DataFrame({"opportunity_id": ["a", "b", "c", "d", "e"], "owner": ["ann", "ann", "bo", "bo", "bo"],
    ...                      "created_at": pd.to_datetime(["2025-01-05", "2025-01-20", "2025-02-01", "2025-02-10", "2025-03-01"]),
    ...                      "closed_at": pd.to_datetime(["2025-02-04", "2025-03-01", "2025-03-15", None, None]),
    ...                      "expected_close": pd.to_datetime([None, None, None, "2025-04-15", "2025-03-20"]),
    ...                      "stage": ["won", "lost", "won", "propose", "negotiate"],
    ...                      "amount": [10_000.0, 5_000.0, 20_000.0, 8_000.0, 12_000.0]})
    >>> history = pd.DataFrame({"opportunity_id": ["a", "a", "a", "b", "b", "c", "c", "c", "d", "d", "e", "e"],
    ...                         "stage": ["qualify", "propose", "won", "qualify", "lost", "qualify", "negotiate", "won",
    ...                                   "qualify", "propose", "qualify", "negotiate"],
    ...                         "t": pd.to_datetime(["2025-01-05", "2025-01-15", "2025-02-04", "2025-01-20", "2025-03-01",
    ...                                              "2025-02-01", "2025-03-01", "2025-03-15", "2025-02-10", "2025-03-05",
    ...                                              "2025-03-01", "2025-03-10"])})
    >>> stage_at(history, "2025-03-05").to_dict()
    {'a': 'won', 'b': 'lost', 'c': 'negotiate', 'd': 'propose', 'e': 'qualify'}
    """
    h = history[pd.to_datetime(history["t"]) <= pd.Timestamp(when)]
    return h.sort_values("t", kind="stable").groupby(id_col)["stage"].last()


class AutoCloseRule(Config):
    """Close opportunities left in a status without any change for ``after_days`` days, as
    ERPNext's nightly ``auto_close_opportunity`` (CRM Settings "close opportunity after days",
    default 15, status ``Replied``): an opportunity whose last change is *before* ``today`` minus
    ``after_days`` days (at the same time of day) moves to ``to``.

    Examples
    --------
    >>> opps = pd.DataFrame({"opportunity_id": ["O1", "O2", "O3"], "status": ["Replied", "Replied", "Open"],
    ...                      "modified_at": pd.to_datetime(["2025-05-31 10:00", "2025-06-01 10:00", "2025-01-01 00:00"])})
    >>> after, log = AutoCloseRule().apply(opps, "2025-06-16 10:00")
    >>> after["status"].tolist(), log["opportunity_id"].tolist()
    (['Closed', 'Replied', 'Open'], ['O1'])
    """

    after_days: float = Field(default=15, gt=0)
    statuses: tuple[str, ...] = ("Replied",)
    to: str = "Closed"
    status_col: str = "status"
    changed_col: str = "modified_at"

    def due(self, opps: pd.DataFrame, now) -> pd.Series:
        """Which opportunities the rule closes at ``now`` (a date or a date and time)."""
        from crmsim.tables import date_column, need_columns

        need_columns(opps, [self.status_col, self.changed_col], "opportunities")
        if self.to in self.statuses:
            raise ValueError(f"auto close: the status it closes to ('{self.to}') is one it closes from")
        changed = date_column(opps, self.changed_col, "opportunities", filled=True)
        cut = pd.Timestamp(now) - pd.Timedelta(days=self.after_days)
        return (opps[self.status_col].isin(self.statuses) & (changed < cut)).rename("due")

    def apply(self, opps: pd.DataFrame, now) -> tuple[pd.DataFrame, pd.DataFrame]:
        """``(opportunities after, log)``: the due ones set to ``to`` with ``modified_at = now``; the
        log has ``opportunity_id`` (where present), the status before and after, and the last change."""
        d = self.due(opps, now).to_numpy()
        out = opps.copy()
        log = opps.loc[d, [c for c in ("opportunity_id", self.status_col, self.changed_col) if c in opps.columns]].rename(
            columns={self.status_col: "from", self.changed_col: "last_change"}).assign(to=self.to, at=pd.Timestamp(now))
        out.loc[d, self.status_col] = self.to
        from crmsim.tables import date_column

        out[self.changed_col] = date_column(opps, self.changed_col, "opportunities").astype("datetime64[ns]")
        out.loc[d, self.changed_col] = pd.Timestamp(now)
        return out, log.reset_index(drop=True)
