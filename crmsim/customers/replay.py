"""A reclaim policy replayed on the customer history you have (FEATURES L2C-4).

:func:`replay_reclaim` applies one or more reclaim policies (:class:`~crmsim.customers.pool.ReclaimPolicy`)
day by day to the actual history of who owned which customer, what follow-ups and deals happened,
with nothing from the future: at the end of each day the policy sees each owned customer as the
table rules would (``received_at`` = when the current owner got it, ``last_followup_at`` and
``last_deal_at`` = the latest up to that day, ``deal_closed`` = a won deal on or before that day,
``open_opportunities`` / ``last_opportunity_at`` where an opportunities table is given) and
:meth:`ReclaimPolicy.evaluate` decides. For every ownership spell (one owner holding one customer
from a start to an end) it records the first day the policy would have reclaimed it, and then
reads off the history what happened after that day while the owner kept the customer:

- ``deal_30`` / ``deal_90``: the owner closed a won deal within 30 / 90 days (a deal the proposed
  rule would have taken away from that owner; the amount is summed where the deals table has one);
- ``silent``: no follow-up and no deal in the 90 days after (or until the history ends), and
  ``silent_lost``: silent, then lost (``lost_at`` in the customers table), where losses are known;
- ``days_earlier``: how many days before the rule in force ended the spell (its actual end).

And the other side: spells the history ended by a reclaim that the policy would *not* have
reclaimed by then (``kept``: the policy keeps them with their owner longer), with whether the
customer closed a deal within 90 days after that reclaim. The first policy is usually the rule in force: its replay
against the actual reclaims (``agreement``) says whether the history is read right.

This is the assumption-free complement to the pool simulation: it says what the rule would have
done to real customers, not what they would have done next (a customer reclaimed earlier might
have been claimed by a better rep, or lost anyway; the simulation answers that, with its
assumptions).

Input tables (:func:`pool_history`; any export column names through ``columns``):

- ``customers``: ``customer_id`` and whatever the policy reads (``grade``, ``region``,
  ``locked``, ``contract_end_at``, ``followup_plan_active``), optionally ``lost_at``;
- ``followups``: ``customer_id``, ``followup_at`` (activities: calls, visits, e-mails);
- ``deals``: ``customer_id``, ``deal_at``, optionally ``amount`` and ``won`` (all won if absent);
- ``ownership``: who owned the customer from when. Either change events (``customer_id``,
  ``changed_at``, ``owner_id``; an empty owner = into the pool; an optional ``action`` column with
  ``reclaim`` marks pool entries made by the nightly job, as crmsim's audit log writes it) or
  intervals (``customer_id``, ``owner_id``, ``owned_from``, ``owned_to``). Without it, the
  customers table's ``owner_id`` and ``received_at`` give one spell per customer (said in notes);
- optionally ``opportunities``: ``customer_id``, ``opportunity_at``, ``closed_at``.

Dates are whole days. The nightly job of day *d* runs at its start, as the pool simulation's
does: it sees the follow-ups and deals dated before *d*; a reclaim recorded on *d* was made by it;
a spell that starts on *d* (a claim during the day) is first judged on *d + 1*. Deals "within 30
days" of a reclaim on *d* are those dated *d* .. *d* + 29 while the owner still held the customer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from crmsim.customers.pool import ReclaimPolicy
from crmsim.errors import InputError
from crmsim.tables import dates_from_days, day_numbers, need_columns

__all__ = ["PoolHistory", "ReclaimReplay", "pool_history", "replay_reclaim", "state_at", "fill_exemptions", "HORIZONS",
           "DayIndex"]

#: days after the proposed reclaim within which deals are counted
HORIZONS = (30, 90)
_DAY = np.timedelta64(1, "D")


def _days(col: pd.Series, table: str, names: dict[str, str] | None = None) -> np.ndarray:
    return day_numbers(col, table, names)


_date = dates_from_days


def _need(df: pd.DataFrame, cols, table: str, names: dict[str, str] | None = None) -> None:
    need_columns(df, cols, table, names)


@dataclass
class PoolHistory:
    """The history read for a replay: ownership ``spells`` (``customer_id, owner_id, start, end,
    ended_by``: ``reclaim``, ``pool`` (put back by hand), ``transfer``, or ``open`` at the end of
    the history), ``followups``, ``deals`` and ``opportunities`` as day numbers, the ``customers``
    table, the history's ``start`` and ``end``, ``exclusions`` (reason, rows, first ids) and
    ``notes`` (every fallback).

    Examples
    --------
    >>> import pandas as pd
    >>> c = pd.DataFrame({"customer_id": ["c1", "c2"]})
    >>> fu = pd.DataFrame({"customer_id": ["c1"], "followup_at": ["2025-01-20"]})
    >>> own = pd.DataFrame({"customer_id": ["c1", "c2"], "changed_at": ["2025-01-01", "2025-01-02"], "owner_id": ["r1", "r2"]})
    >>> h = pool_history(c, fu, pd.DataFrame(columns=["customer_id", "deal_at"]), own, end="2025-03-31")
    >>> h.spells[["customer_id", "owner_id", "ended_by"]].values.tolist(), str(h.start.date()), str(h.end.date())
    ([['c1', 'r1', 'open'], ['c2', 'r2', 'open']], '2025-01-20', '2025-03-31')
    """

    customers: pd.DataFrame
    spells: pd.DataFrame
    followups: pd.DataFrame
    deals: pd.DataFrame
    opportunities: pd.DataFrame | None
    start: pd.Timestamp
    end: pd.Timestamp
    exclusions: pd.DataFrame
    notes: list[str] = field(default_factory=list)


def _rename(df: pd.DataFrame | None, columns: dict[str, str]) -> pd.DataFrame | None:
    if df is None:
        return None
    back = {v: k for k, v in columns.items() if v in df.columns and k not in df.columns}
    return df.rename(columns=back)


def _spells_from_changes(own: pd.DataFrame, end_day: float, names=None) -> tuple[pd.DataFrame, int]:
    """Ownership change events to spells: each change with an owner starts a spell that the
    customer's next change ends."""
    own = own.assign(_t=_days(own["changed_at"], "ownership", names)).sort_values(["customer_id", "_t"], kind="stable")
    nxt_t = own.groupby("customer_id")["_t"].shift(-1)
    action = own["action"].astype(str).str.lower() if "action" in own.columns else pd.Series("", index=own.index)
    nxt_action = action.groupby(own["customer_id"]).shift(-1)
    nxt_owner = own.groupby("customer_id")["owner_id"].shift(-1)
    has = own["owner_id"].notna() & (own["owner_id"].astype(str).str.strip() != "")
    ended = np.where(nxt_t.isna(), "open",
                     np.where(nxt_owner.isna() | (nxt_owner.astype(str).str.strip() == ""),
                              np.where(nxt_action.str.contains("reclaim", na=False), "reclaim", "pool"), "transfer"))
    sp = pd.DataFrame({"customer_id": own["customer_id"], "owner_id": own["owner_id"].astype(str),
                       "start": own["_t"], "end": nxt_t.fillna(end_day), "ended_by": ended})[has.to_numpy()]
    same = sp["end"] <= sp["start"]            # changed again the same day: the later change holds
    return sp[~same].reset_index(drop=True), int(same.sum())


def pool_history(customers: pd.DataFrame, followups: pd.DataFrame, deals: pd.DataFrame,
                 ownership: pd.DataFrame | None = None, *, opportunities: pd.DataFrame | None = None,
                 columns: dict[str, str] | None = None, start=None, end=None) -> PoolHistory:
    """Read the tables of a customer history for :func:`replay_reclaim`.

    Rows that cannot be used are counted in ``exclusions`` (never dropped silently): follow-ups,
    deals and ownership rows of customer ids not in the customers table, rows without a date,
    lost deals, ownership spells that overlap another spell of the same customer (the customer is
    left out: who owned it is ambiguous). ``start`` / ``end`` default to the first and last date
    in the tables (``start``: the first follow-up, since ownership logs reach further back).

    Examples
    --------
    >>> c = pd.DataFrame({"customer_id": ["c1"], "grade": ["B"]})
    >>> fu = pd.DataFrame({"customer_id": ["c1"], "followup_at": ["2025-01-10"]})
    >>> own = pd.DataFrame({"customer_id": ["c1"], "changed_at": ["2025-01-01"], "owner_id": ["r1"]})
    >>> h = pool_history(c, fu, pd.DataFrame(columns=["customer_id", "deal_at"]), own, end="2025-03-01")
    >>> h.spells[["customer_id", "owner_id", "ended_by"]].values.tolist()
    [['c1', 'r1', 'open']]
    """
    columns = columns or {}
    cust, fu, dl, own, opp = (_rename(t, columns) for t in (customers, followups, deals, ownership, opportunities))
    _need(cust, ["customer_id"], "customers", columns)
    _need(fu, ["customer_id", "followup_at"], "followups", columns)
    _need(dl, ["customer_id", "deal_at"], "deals", columns)
    cust = cust.assign(customer_id=cust["customer_id"].astype(str))
    if not cust["customer_id"].is_unique:
        dup = cust.loc[cust["customer_id"].duplicated(), "customer_id"].unique()[:5].tolist()
        raise InputError(f"customers table: customer_id must be unique; repeated: {dup}")
    known = set(cust["customer_id"])
    excl: list[dict] = []
    notes: list[str] = []

    def keep(df: pd.DataFrame, table: str, date_col: str | None) -> pd.DataFrame:
        df = df.assign(customer_id=df["customer_id"].astype(str))
        bad = ~df["customer_id"].isin(known)
        if bad.any():
            excl.append({"table": table, "reason": "customer_id not in the customers table", "rows": int(bad.sum()),
                         "first": ", ".join(df.loc[bad, "customer_id"].unique()[:5])})
        df = df[~bad]
        if date_col:
            t = _days(df[date_col], table, columns)
            miss = np.isnan(t)
            if miss.any():
                excl.append({"table": table, "reason": f"no {date_col}", "rows": int(miss.sum()),
                             "first": ", ".join(df.loc[miss, "customer_id"].unique()[:5])})
            df = df.assign(t=t)[~miss]
        return df

    fu = keep(fu, "followups", "followup_at")
    dl = keep(dl, "deals", "deal_at")
    if "won" in dl.columns:
        won = dl["won"].astype(str).str.strip().str.lower().isin(["true", "1", "yes", "won", "y", "closed won"])
        if (~won).any():
            excl.append({"table": "deals", "reason": "not won (won column)", "rows": int((~won).sum()), "first": ""})
        dl = dl[won.to_numpy()]
    else:
        notes.append("deals: no 'won' column; every deal row is taken as won")
    amount = pd.to_numeric(dl["amount"], errors="coerce") if "amount" in dl.columns else pd.Series(np.nan, index=dl.index)
    dl = dl.assign(amount=amount)
    if opp is not None:
        _need(opp, ["customer_id", "opportunity_at"], "opportunities")
        opp = keep(opp, "opportunities", "opportunity_at")
        opp = opp.assign(closed=_days(opp["closed_at"], "opportunities", columns) if "closed_at" in opp.columns else np.nan)
    dates = [fu["t"], dl["t"]]
    if own is not None:
        dates.append(pd.Series(_days(own[[c for c in ("changed_at", "owned_from") if c in own.columns][0]], "ownership", columns)
                               if any(c in own.columns for c in ("changed_at", "owned_from")) else []))
    alld = pd.concat([d for d in dates if len(d)], ignore_index=True).dropna() if any(len(d) for d in dates) else pd.Series([], dtype=float)
    if start is None and not len(alld) or end is None and not len(alld):
        raise InputError("the history has no dated follow-ups, deals or ownership changes; give start and end")
    if start is not None:
        t0 = _days(pd.Series([start]), "start", columns)[0]
    elif len(fu):
        # ownership logs reach back to when accounts were first assigned; the history that can be
        # replayed starts when follow-ups are recorded
        t0 = float(fu["t"].min())
        if len(alld) and alld.min() < t0:
            notes.append(f"the history starts at the first follow-up, {_date(t0).date()} (earlier ownership "
                         "changes set who owned what then); pass start= if the activity export begins later")
    else:
        t0 = float(alld.min())
    t1 = _days(pd.Series([end]), "end", columns)[0] if end is not None else float(alld.max())
    if t1 < t0:
        raise InputError(f"end {_date(t1).date()} is before start {_date(t0).date()}")
    if own is None:
        _need(cust, ["owner_id", "received_at"], "customers (no ownership log given)")
        rec = _days(cust["received_at"], "customers", columns)
        has = cust["owner_id"].notna().to_numpy() & ~np.isnan(rec)
        spells = pd.DataFrame({"customer_id": cust["customer_id"][has], "owner_id": cust["owner_id"][has].astype(str),
                               "start": rec[has], "end": t1, "ended_by": "open"})
        notes.append("no ownership log: one spell per customer from the customers table's owner_id and "
                     "received_at to the end of the history; past reclaims and claims are not visible")
    else:
        own = own.assign(customer_id=own["customer_id"].astype(str))
        bad = ~own["customer_id"].isin(known)
        if bad.any():
            excl.append({"table": "ownership", "reason": "customer_id not in the customers table", "rows": int(bad.sum()),
                         "first": ", ".join(own.loc[bad, "customer_id"].unique()[:5])})
        own = own[~bad]
        _need(own, ["owner_id"], "ownership")
        if "changed_at" in own.columns:
            spells, same_day = _spells_from_changes(own, t1, columns)
            if same_day:
                notes.append(f"ownership: {same_day} change(s) superseded by another change the same day (the later holds)")
        else:
            _need(own, ["owned_from", "owned_to"], "ownership (intervals)")
            a, b = _days(own["owned_from"], "ownership", columns), _days(own["owned_to"], "ownership", columns)
            ended = own["ended_by"].astype(str) if "ended_by" in own.columns else pd.Series(
                np.where(np.isnan(b), "open", "pool"), index=own.index)
            spells = pd.DataFrame({"customer_id": own["customer_id"], "owner_id": own["owner_id"].astype(str),
                                   "start": a, "end": np.where(np.isnan(b), t1, b),
                                   "ended_by": np.where(np.isnan(b), "open", ended)}).dropna(subset=["start"])
            if "ended_by" not in own.columns:
                notes.append("ownership intervals without 'ended_by': an ended spell is counted as put back to "
                             "the pool, not as a reclaim, so the agreement with the rule in force is not measured")
        spells = spells.sort_values(["customer_id", "start"], kind="stable").reset_index(drop=True)
        overlap = spells["start"].to_numpy()[1:] < spells["end"].to_numpy()[:-1]
        overlap &= spells["customer_id"].to_numpy()[1:] == spells["customer_id"].to_numpy()[:-1]
        if overlap.any():
            bad_c = set(spells["customer_id"].to_numpy()[1:][overlap])
            excl.append({"table": "ownership", "reason": "spells of one customer overlap (customer left out)",
                         "rows": int(spells["customer_id"].isin(bad_c).sum()), "first": ", ".join(sorted(bad_c)[:5])})
            spells = spells[~spells["customer_id"].isin(bad_c)].reset_index(drop=True)
    # spells the history window can judge: ended at or after its first nightly job
    spells = spells[(spells["end"] >= t0) & (spells["start"] <= t1)].reset_index(drop=True)
    if "lost_at" not in cust.columns:
        notes.append("customers: no 'lost_at' column; customers lost to competitors cannot be counted (silent_lost is empty)")
    return PoolHistory(customers=cust, spells=spells, followups=fu[["customer_id", "t"]].reset_index(drop=True),
                       deals=dl[["customer_id", "t", "amount"]].reset_index(drop=True), opportunities=opp,
                       start=_date(t0), end=_date(t1),
                       exclusions=pd.DataFrame(excl, columns=["table", "reason", "rows", "first"]), notes=notes)


class DayIndex:
    """Per-customer sorted event days, for 'latest on or before day d' and 'how many by d'.

    Examples
    --------
    >>> import numpy as np
    >>> ix = DayIndex(np.array([0, 0, 1]), np.array([3.0, 10.0, 5.0]))
    >>> ix.last(np.array([0, 1]), 9.0).tolist()        # customer 0's latest by day 9; customer 1's
    [3.0, 5.0]
    >>> ix.count(np.array([0, 1]), np.array([0.0, 0.0]), np.array([10.0, 4.0])).tolist()
    [2, 0]
    """

    def __init__(self, codes: np.ndarray, days: np.ndarray):
        order = np.lexsort((days, codes))
        self.c, self.t = codes[order], days[order]
        self.key = self.c * 1e6 + self.t

    def last(self, cust: np.ndarray, d: float) -> np.ndarray:
        i = np.searchsorted(self.key, cust * 1e6 + d, side="right") - 1
        ok = (i >= 0) & (self.c[np.maximum(i, 0)] == cust) if self.c.size else np.zeros(cust.size, bool)
        return np.where(ok, self.t[np.maximum(i, 0)] if self.c.size else np.nan, np.nan)

    def count(self, cust: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """Events in (lo, hi] per row."""
        return (np.searchsorted(self.key, cust * 1e6 + hi, side="right")
                - np.searchsorted(self.key, cust * 1e6 + lo, side="right"))


@dataclass
class ReclaimReplay:
    """``summary``: one row per policy; ``reclaims``: per spell each policy would have reclaimed
    (``policy, customer_id, owner_id, spell_start, reclaimed_at, rule, actual_end, ended_by,
    days_earlier, deal_30, deal_90, amount_90, silent, silent_lost``); ``kept``: per spell the
    history ended by a reclaim that the policy had not reclaimed by then (``policy, customer_id,
    owner_id, actual_reclaim, deal_90_after``: the customer closed a deal, with whoever took it,
    within 90 days of that reclaim); and the ``history`` read.

    Examples
    --------
    >>> import pandas as pd
    >>> c = pd.DataFrame({"customer_id": ["c1", "c2"]})
    >>> fu = pd.DataFrame({"customer_id": ["c1"], "followup_at": ["2025-01-20"]})
    >>> own = pd.DataFrame({"customer_id": ["c1", "c2"], "changed_at": ["2025-01-01", "2025-01-02"], "owner_id": ["r1", "r2"]})
    >>> h = pool_history(c, fu, pd.DataFrame(columns=["customer_id", "deal_at"]), own, end="2025-03-31")
    >>> r = replay_reclaim(h, {"30 days silent": ReclaimPolicy(rules=[{"kind": "no_followup", "limit_days": 30}])})
    >>> r.reclaims[["policy", "customer_id", "rule"]].values.tolist()
    [['30 days silent', 'c1', 'no_followup>30d'], ['30 days silent', 'c2', 'no_followup>30d']]
    """

    summary: pd.DataFrame
    reclaims: pd.DataFrame
    kept: pd.DataFrame
    history: PoolHistory


def _frame(h: PoolHistory, sp: pd.DataFrame, code: np.ndarray, d: float, idx: dict) -> pd.DataFrame:
    """The owned customers of spells ``sp`` as a customers table at the end of day ``d``."""
    c = h.customers.iloc[code]
    fu = idx["fu"].last(code, d - 1)     # the job runs at the start of day d: events before it
    deal = idx["deal"].last(code, d - 1)
    out = {"customer_id": sp["customer_id"].to_numpy(), "owner_id": sp["owner_id"].to_numpy(),
           "received_at": _date(sp["start"].to_numpy()), "last_followup_at": _date(fu),
           "last_deal_at": _date(deal), "deal_closed": ~np.isnan(deal)}
    if idx["opp"] is not None:
        out["last_opportunity_at"] = _date(idx["opp"].last(code, d - 1))
        closed = idx["opp_closed"].count(code, np.full(code.size, -1e9), np.full(code.size, d - 1))
        opened = idx["opp"].count(code, np.full(code.size, -1e9), np.full(code.size, d - 1))
        out["open_opportunities"] = opened - closed
    for col in c.columns:
        if col not in out and col not in ("owner_id", "received_at"):
            out[col] = c[col].to_numpy()
    return pd.DataFrame(out)


def state_at(history: PoolHistory, day, *, include_pool: bool = False) -> pd.DataFrame:
    """The owned customers at the reclaim job of ``day`` (it sees what happened before that day),
    as a customers table (``customer_id, owner_id, received_at, last_followup_at, last_deal_at,
    deal_closed`` and, with opportunities, ``last_opportunity_at, open_opportunities``, plus the
    customers table's own columns): the state :func:`replay_reclaim` judges each night, for one
    night. A spell still open at the end of the history is taken to last. ``include_pool=True``
    adds the customers nobody owned then (no ``owner_id``; ``previous_owner_id``,
    ``left_owner_at`` and ``entered_pool_at`` from their last spell) and, where ``lost_at`` is
    known, ``lost``: the whole book, as :func:`crmsim.sim.pool.simulate_pool` starts from it.

    Examples
    --------
    >>> c = pd.DataFrame({"customer_id": ["c1", "c2"]})
    >>> fu = pd.DataFrame({"customer_id": ["c1"], "followup_at": ["2025-01-20"]})
    >>> own = pd.DataFrame({"customer_id": ["c1", "c2"], "changed_at": ["2025-01-01"] * 2, "owner_id": ["r1", ""]})
    >>> h = pool_history(c, fu, pd.DataFrame(columns=["customer_id", "deal_at"]), own, end="2025-01-31")
    >>> state_at(h, "2025-02-01")[["customer_id", "owner_id", "last_followup_at"]].astype(str).values.tolist()
    [['c1', 'r1', '2025-01-20']]
    """
    d = float(np.datetime64(pd.Timestamp(day).date(), "D").astype(np.int64))
    sp = history.spells
    open_ = sp["ended_by"].to_numpy() == "open"
    active = (sp["start"].to_numpy() < d) & ((d <= sp["end"].to_numpy()) | open_)
    codes = pd.Index(history.customers["customer_id"])
    idx = _indexes(history, codes)
    sel = sp[active]
    owned = _frame(history, sel, codes.get_indexer(sel["customer_id"]), d, idx).reset_index(drop=True)
    if not include_pool:
        return owned
    book = pd.concat([owned, _pool_frame(history, sp[~active], set(owned["customer_id"]), codes, d, idx)],
                     ignore_index=True)
    if "lost_at" in book.columns:
        book["lost"] = day_numbers(book["lost_at"], "customers") < d
    return book


def _pool_frame(h: PoolHistory, ended: pd.DataFrame, owned: set, codes: pd.Index, d: float, idx: dict) -> pd.DataFrame:
    """The customers nobody owns at the job of day ``d``: each with its last owner and the day
    that spell ended (``previous_owner_id``, ``left_owner_at``, ``entered_pool_at``); a customer
    no spell of the history reaches was in the pool from before it (dates unknown, left empty).
    ``lost``: ``lost_at`` before ``d``, where the customers table has it."""
    c = h.customers[~h.customers["customer_id"].isin(owned)]
    past = ended[ended["end"].to_numpy() < d].sort_values(["customer_id", "end"])
    last = past.groupby("customer_id").tail(1).set_index("customer_id")
    code = codes.get_indexer(c["customer_id"])
    left = last["end"].reindex(c["customer_id"]).to_numpy(float)
    out = {"customer_id": c["customer_id"].to_numpy(), "owner_id": None,
           "previous_owner_id": last["owner_id"].reindex(c["customer_id"]).to_numpy(object),
           "left_owner_at": _date(left), "entered_pool_at": _date(left),
           "last_followup_at": _date(idx["fu"].last(code, d - 1)), "last_deal_at": _date(idx["deal"].last(code, d - 1))}
    out["deal_closed"] = ~pd.isna(out["last_deal_at"])
    for col in c.columns:
        if col not in out and col != "received_at":
            out[col] = c[col].to_numpy()
    return pd.DataFrame(out)


def _indexes(h: PoolHistory, codes: pd.Index) -> dict:
    """Per-customer sorted event days (follow-ups, deals, opportunities) for :func:`_frame`."""
    idx = {"fu": DayIndex(codes.get_indexer(h.followups["customer_id"]), h.followups["t"].to_numpy(float)),
           "deal": DayIndex(codes.get_indexer(h.deals["customer_id"]), h.deals["t"].to_numpy(float)),
           "opp": None}
    if h.opportunities is not None:
        oc = codes.get_indexer(h.opportunities["customer_id"])
        idx["opp"] = DayIndex(oc, h.opportunities["t"].to_numpy(float))
        cl = h.opportunities["closed"].to_numpy(float)
        idx["opp_closed"] = DayIndex(oc[~np.isnan(cl)], cl[~np.isnan(cl)])
    return idx


def fill_exemptions(frame: pd.DataFrame, policy: ReclaimPolicy, notes: set[str]) -> pd.DataFrame:
    """A column an exemption reads but the table lacks: nobody has it (said in ``notes``).

    Examples
    --------
    >>> import pandas as pd
    >>> p = ReclaimPolicy(rules=[{"kind": "no_followup", "limit_days": 30}])
    >>> notes = set()
    >>> out = fill_exemptions(pd.DataFrame({"customer_id": ["c1"]}), p, notes)
    >>> out.columns.tolist()
    ['customer_id', 'locked', 'open_opportunities', 'followup_plan_active']
    >>> sorted(notes)
    ["no 'followup_plan_active' in the history: no customer is treated as having it", "no 'locked' in the history: no customer is treated as having it", "no 'open_opportunities' in the history: no customer is treated as having it"]
    """
    need = {"locked": policy.exempt_locked, "open_opportunities": policy.exempt_open_opportunity,
            "followup_plan_active": policy.exempt_followup_plan}
    for col, used in need.items():
        if used and col not in frame.columns:
            frame[col] = False
            notes.add(f"no '{col}' in the history: no customer is treated as having it")
    if any("any_opportunity" in r.skip_if or "open_opportunity" in r.skip_if for r in policy.rules):
        for col in ("open_opportunities", "last_opportunity_at"):
            if col not in frame.columns:
                frame[col] = 0 if col == "open_opportunities" else pd.NaT
                notes.add(f"no opportunities table: '{col}' is empty for everyone")
    if any(r.kind == "no_opportunity" for r in policy.active_rules) and "last_opportunity_at" not in frame.columns:
        raise InputError("rule 'no_opportunity' needs an opportunities table (opportunities=...) in pool_history")
    if any(r.kind == "contract_end" for r in policy.active_rules) and "contract_end_at" not in frame.columns:
        raise InputError("rule 'contract_end' needs a contract_end_at column in the customers table")
    return frame


def replay_reclaim(history: PoolHistory, policies: dict[str, ReclaimPolicy] | ReclaimPolicy, *,
                   in_force: str | None = None, progress: bool = False) -> ReclaimReplay:
    """Replay reclaim policies day by day on a customer history (see the module docstring).

    Parameters
    ----------
    history : from :func:`pool_history`.
    policies : name -> policy (or one policy, named ``"proposed"``).
    in_force : the name of the rule in force (default: the first policy); its replay is compared
        with the reclaims the history records.

    Examples
    --------
    >>> from crmsim.customers.pool import ReclaimPolicy
    >>> c = pd.DataFrame({"customer_id": ["c1", "c2"]})
    >>> fu = pd.DataFrame({"customer_id": ["c1", "c2"], "followup_at": ["2025-01-02", "2025-02-20"]})
    >>> dl = pd.DataFrame({"customer_id": ["c1"], "deal_at": ["2025-02-25"], "amount": [500]})
    >>> own = pd.DataFrame({"customer_id": ["c1", "c2"], "changed_at": ["2025-01-01"] * 2, "owner_id": ["r1", "r2"]})
    >>> h = pool_history(c, fu, dl, own, end="2025-04-30")
    >>> p = ReclaimPolicy(rules=[{"kind": "no_followup", "limit_days": 30}], exempt_locked=False,
    ...                   exempt_open_opportunity=False, exempt_followup_plan=False)
    >>> r = replay_reclaim(h, {"30 days": p})
    >>> r.reclaims[["customer_id", "reclaimed_at", "deal_30"]].astype(str).values.tolist()
    [['c1', '2025-02-02', 'True'], ['c2', '2025-02-01', 'False']]
    """
    if isinstance(policies, ReclaimPolicy):
        policies = {"proposed": policies}
    if not policies:
        raise ValueError("give at least one policy")
    in_force = in_force or next(iter(policies))
    if in_force not in policies:
        raise ValueError(f"in_force '{in_force}' is not one of the policies {list(policies)}")
    h = history
    codes = pd.Index(h.customers["customer_id"])
    idx = _indexes(h, codes)
    sp = h.spells
    code = codes.get_indexer(sp["customer_id"])
    t0 = float(np.datetime64(h.start.date(), "D").astype(np.int64))
    t1 = float(np.datetime64(h.end.date(), "D").astype(np.int64))
    notes: set[str] = set()
    rows, kept_rows, summary = [], [], []
    deal_amt = h.deals["amount"].to_numpy(float)
    deal_key = idx["deal"].key
    amt_sorted = deal_amt[np.lexsort((h.deals["t"].to_numpy(float), codes.get_indexer(h.deals["customer_id"])))]
    amt_cum = np.concatenate([[0.0], np.cumsum(np.nan_to_num(amt_sorted))])
    lost = _days(h.customers["lost_at"], "customers") if "lost_at" in h.customers.columns else None
    days = np.arange(t0, t1 + 1)
    it = days
    if progress:
        from tqdm.auto import tqdm
        it = tqdm(days, desc="replaying days", unit="day")
    fired_at = {name: np.full(len(sp), np.nan) for name in policies}
    fired_rule = {name: np.full(len(sp), None, dtype=object) for name in policies}
    for d in it:
        # a spell is judged from the first job after it started up to the job that ended it
        active = np.flatnonzero((sp["start"].to_numpy() < d) & (d <= sp["end"].to_numpy()))
        if not active.size:
            continue
        base = _frame(h, sp.iloc[active], code[active], d, idx)
        today = _date(d)
        for name, policy in policies.items():
            todo = np.isnan(fired_at[name][active])
            if not todo.any():
                continue
            f = fill_exemptions(base[todo].reset_index(drop=True), policy, notes)
            ev = policy.evaluate(f, today)
            hit = active[todo][ev["due"].to_numpy()]
            fired_at[name][hit] = d
            fired_rule[name][hit] = ev.loc[ev["due"], "rule"].to_numpy()
    for name in policies:
        f = ~np.isnan(fired_at[name])
        at, s = fired_at[name][f], sp[f]
        c = code[f]
        end = s["end"].to_numpy()
        out = {"policy": name, "customer_id": s["customer_id"].to_numpy(), "owner_id": s["owner_id"].to_numpy(),
               "spell_start": _date(s["start"].to_numpy()), "reclaimed_at": _date(at), "rule": fired_rule[name][f],
               "actual_end": _date(np.where(s["ended_by"].to_numpy() == "open", np.nan, end)),
               "ended_by": s["ended_by"].to_numpy(), "days_earlier": np.where(s["ended_by"].to_numpy() == "open", np.nan, end - at)}
        # days at .. at+hz-1 while the owner still held it (a spell ended by a reclaim on day
        # `end` was no longer theirs that day): events in (at - 1, min(at + hz, end) - 1]
        for hz in HORIZONS:
            out[f"deal_{hz}"] = idx["deal"].count(c, at - 1, np.minimum(at + hz, end) - 1) > 0
        hi = np.minimum(at + HORIZONS[-1], end) - 1
        lo_i = np.searchsorted(deal_key, c * 1e6 + at - 1, side="right")
        hi_i = np.searchsorted(deal_key, c * 1e6 + hi, side="right")
        out[f"amount_{HORIZONS[-1]}"] = amt_cum[hi_i] - amt_cum[lo_i]
        quiet_to = np.minimum(at + HORIZONS[-1] - 1, t1)
        silent = (idx["fu"].count(c, at - 1, quiet_to) == 0) & (idx["deal"].count(c, at - 1, quiet_to) == 0)
        out["silent"] = silent
        out["silent_lost"] = (silent & (lost[c] >= at)) if lost is not None else np.full(c.size, np.nan)
        rows.append(pd.DataFrame(out))
        # the other side: reclaims in the history this policy had not made by then
        was = (sp["ended_by"].to_numpy() == "reclaim") & np.isnan(fired_at[name])
        ks = sp[was]
        kc = code[was]
        k_end = ks["end"].to_numpy()
        kept_rows.append(pd.DataFrame({"policy": name, "customer_id": ks["customer_id"].to_numpy(),
                                       "owner_id": ks["owner_id"].to_numpy(), "actual_reclaim": _date(k_end),
                                       "deal_90_after": idx["deal"].count(kc, k_end - 1, np.minimum(k_end + 89, t1)) > 0}))
        r = rows[-1]
        actual = sp["ended_by"].to_numpy() == "reclaim"
        same = actual & f & (fired_at[name] == sp["end"].to_numpy())
        summary.append({
            "policy": name, "in_force": name == in_force, "spells": len(sp), "reclaims": int(f.sum()),
            "customers": int(r["customer_id"].nunique()),
            **{f"deals_within_{hz}": int(r[f"deal_{hz}"].sum()) for hz in HORIZONS},
            f"amount_within_{HORIZONS[-1]}": float(r[f"amount_{HORIZONS[-1]}"].sum()),
            "silent": int(r["silent"].sum()),
            "silent_lost": int(r["silent_lost"].sum()) if lost is not None else np.nan,
            "median_days_earlier": float(np.nanmedian(r["days_earlier"])) if r["days_earlier"].notna().any() else np.nan,
            "actual_reclaims": int(actual.sum()),
            "actual_not_reclaimed": int(was.sum()),
            "matches_actual": int(same.sum()),
            "agreement": float(same.sum() / actual.sum()) if actual.sum() else np.nan,
        })
    h.notes.extend(sorted(notes - set(h.notes)))
    return ReclaimReplay(summary=pd.DataFrame(summary), reclaims=pd.concat(rows, ignore_index=True),
                         kept=pd.concat(kept_rows, ignore_index=True), history=h)
