"""Lead rules replayed on history: what a proposed rule would have done to the leads you had.

:func:`replay` runs one or more rule sets (:class:`ReplayRules`: a scoring rule with its MQL
threshold, an assignment rule, a recycle rule) over historical leads as they arrived, day by day,
with nothing from the future: each day's new leads are scored by the rule (its points rules see
the lead's own columns), the MQLs assigned to the reps with the load they carry that day, and at
the day's end the recycle rule asked about every lead still waiting, knowing only the first
contacts made before then. It reports, per rule set, side by side:

- leads that would have become MQL, and how many of them the history never worked (MQLs only
  under this rule: their outcome is unknown, since nobody followed them up);
- precision (share of MQLs that were won, among those whose outcome the history knows), recall
  (share of the won leads the rule would have passed) and lift over all leads;
- MQLs per rep per week (median and maximum) under the assignment rule;
- leads the recycle rule would have sent back (contacted too late in the history, or worked and
  never contacted), and leads it cannot judge (not worked in the history, or a history without
  first-contact dates: their wait is unknown).

This is the assumption-free complement to the simulation: it says what the rule does to real
leads, but not what the leads would have done under it (a lead passed only by the proposed rule
was never called, so its outcome is unknown; the simulation answers that, with its assumptions).

The history is a table with ``lead_id``, ``created_at``, ``status`` (``won`` marks a won lead),
optionally ``first_contact_at``, and whatever columns the scoring rules read (e.g. ``channel``,
or the export's own columns kept by :func:`crmsim.experiments.load_lead_history`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from crmsim.config import Config
from crmsim.errors import InputError
from crmsim.leads.assignment import AssignmentRule
from crmsim.leads.lifecycle import RecycleRule
from crmsim.leads.scoring import ScoringRule
from crmsim.tables import NOT_MQL_STATUSES

__all__ = ["ReplayRules", "ReplayResult", "replay", "AS_RECORDED"]

#: The name of the rule set that is the history itself (the MQL flag as recorded).
AS_RECORDED = "as recorded"


class ReplayRules(Config):
    """One rule set to replay: scoring (with its MQL threshold), assignment and recycling.

    Examples
    --------
    >>> r = ReplayRules(scoring={"mql_threshold": 50}, assignment={"policy": "least_loaded"}, recycle={"max_wait_days": 5})
    >>> r.scoring.mql_threshold, r.assignment.policy, r.recycle.max_wait_days
    (50.0, 'least_loaded', 5.0)
    """

    scoring: ScoringRule = ScoringRule()
    assignment: AssignmentRule = AssignmentRule()
    recycle: RecycleRule = RecycleRule()


@dataclass
class ReplayResult:
    """``summary`` (one row per rule set), ``weekly`` (MQLs per rep and week: ``rules, week,
    owner_id, mql``) and ``leads`` (per lead and rule set: ``rules, lead_id, score, mql, owner_id,
    recycled_at, worked_in_history, won``).

    Examples
    --------
    >>> import pandas as pd
    >>> h = pd.DataFrame({"lead_id": ["a", "b"], "channel": ["fair", "web"], "created_at": pd.to_datetime(["2025-03-03", "2025-03-04"]),
    ...                   "status": ["won", "mql"]})
    >>> fair = ScoringRule(rules=[{"points": 50, "when": [{"field": "channel", "op": "==", "value": "fair"}]}])
    >>> res = replay(h, {"fair only": ReplayRules(scoring=fair)}, reps=2)
    >>> res.summary["rules"].tolist(), res.leads.columns.tolist()[:4], res.weekly.columns.tolist()
    (['as recorded', 'fair only'], ['rules', 'lead_id', 'score', 'mql'], ['rules', 'week', 'owner_id', 'mql'])
    """

    summary: pd.DataFrame
    weekly: pd.DataFrame
    leads: pd.DataFrame

    def text(self) -> str:
        """The summary as a few plain lines a manager can read."""
        lines = []
        for r in self.summary.itertuples():
            lines.append(
                f"{r.rules}: {r.mql:,} MQLs of {r.leads:,} leads ({r.mql_share:.1%}); precision "
                f"{r.precision:.1%} of {r.mql_known:,} with a known outcome, recall {r.recall:.1%} of "
                f"{r.won_total:,} won leads, lift {r.lift:.2f}; {r.mql_not_worked:,} MQLs never worked "
                f"in the history (outcome unknown); MQLs per rep-week median {r.load_p50:.0f}, max "
                f"{r.load_max:.0f}; recycled {r.recycled:,} (+{r.recycle_unknown:,} not judged: "
                f"no contact in the history)")
        return "\n".join(lines)


def _need(leads: pd.DataFrame, cols) -> None:
    absent = [c for c in cols if c not in leads.columns]
    if absent:
        raise InputError(f"replay: the lead history lacks column(s) {absent}; its columns are "
                         f"{list(leads.columns)}")


def replay(leads: pd.DataFrame, rules: dict[str, ReplayRules], *, reps, start=None, end=None,
           as_recorded: bool = True) -> ReplayResult:
    """Replay rule sets over historical leads, day by day; see the module docstring.

    Parameters
    ----------
    leads : the lead history (``lead_id``, ``created_at``, ``status`` and the columns the rules
        read; ``first_contact_at`` for recycling).
    rules : name -> :class:`ReplayRules` (e.g. ``{"in force": ..., "proposed": ...}``).
    reps : the number of reps, or a reps table with ``rep_id`` (and ``capacity`` per day, ``tier``
        for score-tiered assignment).
    start, end : the creation window replayed (default: all).
    as_recorded : add the history's own MQL flag (status not invalid/duplicate/nurture) as a rule
        set named :data:`AS_RECORDED`.

    Examples
    --------
    >>> h = pd.DataFrame({"lead_id": ["a", "b", "c", "d"], "channel": ["fair", "web", "fair", "web"],
    ...                   "created_at": pd.to_datetime(["2025-03-03", "2025-03-03", "2025-03-04", "2025-03-05"]),
    ...                   "status": ["won", "mql", "mql", "won"]})
    >>> fair = ScoringRule(rules=[{"points": 50, "when": [{"field": "channel", "op": "==", "value": "fair"}]}],
    ...                    mql_threshold=40)
    >>> res = replay(h, {"fair only": ReplayRules(scoring=fair)}, reps=2)
    >>> res.summary[["rules", "mql", "precision", "recall"]].values.tolist()
    [['as recorded', 4, 0.5, 1.0], ['fair only', 2, 0.5, 0.5]]
    """
    _need(leads, ["lead_id", "created_at", "status"])
    h = leads.copy()
    h["created_at"] = pd.to_datetime(h["created_at"])
    if h["created_at"].isna().any():
        raise InputError(f"replay: column 'created_at' has {int(h['created_at'].isna().sum())} empty or "
                         "unreadable dates")
    if start is not None:
        h = h[h["created_at"] >= pd.Timestamp(start)]
    if end is not None:
        h = h[h["created_at"] < pd.Timestamp(end)]
    h = h.sort_values("created_at", kind="stable").reset_index(drop=True)
    if h.empty:
        raise InputError("replay: no lead in the window")
    if isinstance(reps, int | np.integer):
        if reps < 1:
            raise InputError(f"replay: reps must be >= 1, got {reps}")
        reps = pd.DataFrame({"rep_id": [f"rep{k + 1:02d}" for k in range(int(reps))]})
    if "rep_id" not in reps.columns:
        raise InputError("replay: the reps table needs a 'rep_id' column")
    contact = (pd.to_datetime(h["first_contact_at"]) if "first_contact_at" in h.columns
               else pd.Series(pd.NaT, index=h.index, dtype="datetime64[us]"))
    recorded = ~h["status"].isin(NOT_MQL_STATUSES).to_numpy()
    won = (h["status"] == "won").to_numpy()
    worked = contact.notna().to_numpy() | recorded
    has_contact = "first_contact_at" in h.columns and contact.notna().any()
    judge = (contact.notna().to_numpy() | recorded) if has_contact else np.zeros(len(h), dtype=bool)
    day = h["created_at"].dt.normalize()
    last = max(day.max(), contact.max().normalize()) if contact.notna().any() else day.max()
    days = pd.date_range(day.min(), last, freq="D")  # to the last day the history knows
    sets = ({AS_RECORDED: None} if as_recorded else {}) | dict(rules)
    summaries, weekly, per_lead = [], [], []
    for name, rs in sets.items():
        if rs is None:
            score, mql = np.full(len(h), np.nan), recorded
        else:
            scored = rs.scoring.apply(h)
            score, mql = scored["score"].to_numpy(), scored["mql"].to_numpy(dtype=bool)
        owner, recycled_at, not_judged = _assign_and_recycle(
            h, mql, contact, day, days, reps, rs.assignment if rs else AssignmentRule(),
            rs.recycle if rs else RecycleRule(max_wait_days=0), judge)
        per_lead.append(pd.DataFrame({"rules": name, "lead_id": h["lead_id"].to_numpy(), "score": score,
                                      "mql": mql, "owner_id": owner, "recycled_at": recycled_at,
                                      "worked_in_history": worked, "won": won}))
        load = _weekly_load(day[mql], owner[mql], reps["rep_id"].astype(str))
        weekly.append(load.rename("mql").reset_index().assign(rules=name))
        summaries.append(_summary(name, mql, won, worked, load, ~pd.isna(recycled_at), not_judged))
    return ReplayResult(pd.DataFrame(summaries),
                        pd.concat(weekly, ignore_index=True)[["rules", "week", "owner_id", "mql"]],
                        pd.concat(per_lead, ignore_index=True))


def _weekly_load(day: pd.Series, owner: np.ndarray, rep_ids: pd.Series) -> pd.Series:
    """MQLs per (week, rep), every rep listed in every week that had MQLs."""
    wk = pd.DataFrame({"week": day.dt.to_period("W-SUN").dt.start_time.to_numpy(), "owner_id": owner})
    counts = wk.dropna().groupby(["week", "owner_id"]).size()
    grid = pd.MultiIndex.from_product([sorted(set(wk["week"])), rep_ids], names=["week", "owner_id"])
    return counts.reindex(grid, fill_value=0)


def _summary(name: str, mql, won, worked, load: pd.Series, recycled, not_judged) -> dict:
    """One rule set's row of the summary (see :func:`replay`)."""
    known = mql & worked
    n_won = int(won.sum())
    precision = won[mql].sum() / known.sum() if known.any() else np.nan
    return {
        "rules": name, "leads": len(mql), "mql": int(mql.sum()), "mql_share": float(mql.mean()),
        "mql_known": int(known.sum()), "mql_not_worked": int((mql & ~worked).sum()),
        "won_in_mql": int(won[mql].sum()), "won_total": n_won, "precision": float(precision),
        "recall": float(won[mql].sum() / n_won) if n_won else np.nan,
        "lift": float(precision / won.mean()) if n_won else np.nan,
        "load_p50": float(load.median()) if len(load) else 0.0,
        "load_max": float(load.max()) if len(load) else 0.0,
        "recycled": int(recycled.sum()), "recycle_unknown": int(not_judged.sum()),
    }


def _assign_and_recycle(h, mql, contact, day, days, reps, assignment: AssignmentRule, recycle: RecycleRule,
                        judge: np.ndarray):
    """Day by day: assign the day's MQLs with the open load each rep carries, then recycle at
    the day's end the waiting leads the rule finds due (first contacts known up to that day).
    ``judge`` marks the leads whose contact the history knows (contacted, or worked and never
    contacted); a due lead outside it is counted as not judged, not as recycled."""
    n = len(h)
    unknown = np.zeros(n, dtype=bool)
    owner = np.full(n, None, dtype=object)
    assigned = pd.Series(pd.NaT, index=h.index, dtype="datetime64[us]")
    recycled_at = pd.Series(pd.NaT, index=h.index, dtype="datetime64[us]")
    open_idx: list[int] = []
    carried: dict[str, int] = {}
    by_day = {d: g.index.to_numpy() for d, g in h[mql].groupby(day[mql])}
    shared = assignment.policy == "shared_queue"
    replay_rule = assignment.model_copy(update={"skip_stages": (), "reassign_owned": True})
    ids = reps["rep_id"].astype(str).tolist()
    turn = 0
    for d in days:
        new = by_day.get(d, np.array([], dtype=np.int64))
        if new.size:
            load: dict[str, int] = {}
            for i in open_idx:
                if owner[i] is not None:
                    load[owner[i]] = load.get(owner[i], 0) + 1
            if shared:  # one queue: the history does not say who took a lead; spread in turn
                res_owner = [ids[k % len(ids)] for k in range(len(new))]
            else:  # the rotation goes on from yesterday's last rep: the table starts at the next one
                order = [(turn + k) % len(ids) for k in range(len(ids))]
                # a replay assigns every MQL of the history as it came, whatever became of it later
                res, carried = replay_rule.assign_table(h.loc[new].drop(columns=["active"], errors="ignore"),
                                                        reps.iloc[order], open_leads=load, carried=carried)
                res_owner = res["owner_id"].tolist()
                given = [o for o in res_owner if isinstance(o, str)]
                if given:
                    turn = (ids.index(given[-1]) + 1) % len(ids)
            for i, o in zip(new, res_owner):
                owner[i] = o if isinstance(o, str) else None
            assigned.loc[new] = h.loc[new, "created_at"].to_numpy()
            open_idx.extend(new.tolist())
        day_end = d + pd.Timedelta(days=1)
        if open_idx:
            idx = np.array(open_idx)
            seen = contact.iloc[idx].where(contact.iloc[idx] < day_end)
            still = seen.isna().to_numpy().copy()
            if recycle.max_wait_days > 0:
                frame = pd.DataFrame({"assigned_at": assigned.iloc[idx].to_numpy(), "first_contact_at": seen.to_numpy()})
                due = recycle.due(frame, day_end).to_numpy()
                recycled_at.iloc[idx[due & judge[idx]]] = day_end
                unknown[idx[due & ~judge[idx]]] = True
                still &= ~due
            open_idx = idx[still].tolist()
    return owner, recycled_at.to_numpy(), unknown
