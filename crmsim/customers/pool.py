"""Public ("high-seas") pool rules (FEATURES L2C-4): reclaim, claim and assign, as config objects
that run on a real customer table and drive the pool simulation.

The semantics follow the open-source CRMs that implement public pools:

- A customer is reclaimed from its owner back to a pool when the reclaim policy fires: rules of
  kind ``no_followup`` (whole days since the later of the last follow-up and the date the owner
  received the customer are **strictly greater** than the limit), ``no_opportunity`` (no new
  opportunity since receipt, for more than the limit), ``no_deal`` (no deal since receipt, for more
  than the limit) and ``contract_end`` (more than the limit days after the contract end date).
  Rules combine with ``any`` (OR) or ``all`` (AND); ``limit_days = 0`` switches a rule off; a rule
  can have a limit per customer grade.
- Exempt: locked customers, customers with a deal (``deal_closed``) unless configured, customers
  with an open opportunity, customers with a follow-up plan in progress.
- Claiming from a pool obeys a holding cap per rep (optionally not counting customers with a
  deal), a daily claim cap, a cooldown for the former owner and an embargo on fresh pool entries
  for non-admins. Pool admins may assign directly. Every refusal has its own reason.

Dates are whole days: ``today`` and every date column are normalised to midnight.

Customer table columns used (schema ``customers`` in :mod:`crmsim.tables`): ``customer_id``,
``owner_id`` (missing = in a pool), ``grade``, ``region``, ``received_at``, ``last_followup_at``,
``last_opportunity_at``, ``last_deal_at``, ``contract_end_at``, ``locked``, ``deal_closed``,
``open_opportunities``, ``followup_plan_active``, ``pool_id``, ``entered_pool_at``,
``previous_owner_id``, ``left_owner_at``. A column is needed only by the rule that reads it; a
missing one raises an error naming it.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field, field_validator

from crmsim.config import Config

__all__ = [
    "ReclaimRule",
    "ReclaimPolicy",
    "ClaimRules",
    "Pool",
    "REFUSALS",
    "AUDIT_COLUMNS",
    "due_for_reclaim",
    "days_until_reclaim",
    "reclaim",
    "claim",
    "assign",
    "pool_for",
]

RuleKind = Literal["no_followup", "no_opportunity", "no_deal", "contract_end"]
_NEEDS: dict[str, tuple[str, ...]] = {
    "no_followup": ("received_at", "last_followup_at"),
    "no_opportunity": ("received_at", "last_opportunity_at"),
    "no_deal": ("received_at", "last_deal_at"),
    "contract_end": ("contract_end_at",),
}
#: Every reason a claim or an assignment can be refused, in the order they are checked.
REFUSALS: tuple[str, ...] = (
    "unknown_customer",   # no such customer_id
    "unknown_rep",        # no such rep_id
    "not_in_pool",        # the customer has an owner
    "not_admin",          # assign(): the actor is not an admin of the customer's pool
    "not_member",         # the rep's team is outside the pool's member scope
    "embargo",            # entered the pool fewer than embargo_days ago (non-admins)
    "cooldown",           # the rep is the former owner and cooldown_days have not passed
    "holding_cap",        # the rep already holds holding_cap customers
    "daily_cap",          # the rep already claimed daily_claim_cap customers today
)
AUDIT_COLUMNS = ("t", "customer_id", "action", "from_owner", "to_owner", "actor", "reason")


def _day(today) -> pd.Timestamp:
    return pd.Timestamp(today).normalize()


def _need(customers: pd.DataFrame, cols, why: str) -> None:
    missing = [c for c in cols if c not in customers.columns]
    if missing:
        raise KeyError(f"customers table: column(s) {missing} needed by {why} are missing; "
                       f"columns are {list(customers.columns)}")


def _rows_named(col: pd.Series, bad: np.ndarray) -> str:
    ids = col.index[bad][:5].tolist()
    return f"rows {ids}{' ...' if bad.sum() > 5 else ''} ({int(bad.sum())} in all) have {col[bad].astype(str).head(3).tolist()}"


def _day_numbers(col: pd.Series) -> np.ndarray:
    """Whole days since 1970-01-01 of each date (time of day dropped); NaN where missing. A value
    that is not a date is an error naming the column and rows."""
    d = pd.to_datetime(col, errors="coerce", format="mixed") if not pd.api.types.is_datetime64_any_dtype(col) else col
    bad = (d.isna() & col.notna() & (col.astype(str).str.strip() != "")).to_numpy()
    if bad.any():
        from crmsim.errors import InputError

        raise InputError(f"customers table: column '{col.name}' expects dates; {_rows_named(col, bad)}")
    d = pd.to_datetime(d).to_numpy().astype("datetime64[D]")
    out = d.astype(np.int64).astype(float)
    out[np.isnat(d)] = np.nan
    return out


_TRUE = {"true", "yes", "y", "1", "x", "t"}
_FALSE = {"false", "no", "n", "0", "", "f", "nan", "none"}


def _flag(col: pd.Series) -> np.ndarray:
    """A yes/no column (or a count, > 0 meaning yes) as booleans: ``True/False``, ``yes/no``,
    ``1/0``, numbers; missing is no. Anything else is an error naming the column and rows."""
    if pd.api.types.is_bool_dtype(col) or pd.api.types.is_numeric_dtype(col):
        return col.fillna(0).to_numpy(dtype=float) > 0
    txt = col.astype("string").str.strip().str.lower().fillna("")
    num = pd.to_numeric(txt, errors="coerce")
    yes = txt.isin(_TRUE) | (num > 0).fillna(False)
    no = txt.isin(_FALSE) | (num <= 0).fillna(False)
    bad = (~yes & ~no).to_numpy(dtype=bool)
    if bad.any():
        from crmsim.errors import InputError

        raise InputError(f"customers table: column '{col.name}' expects yes/no (true/false, 1/0) or a count; "
                         f"{_rows_named(col, bad)}")
    return yes.to_numpy(dtype=bool)


def _days_since(col: pd.Series, today: pd.Timestamp) -> pd.Series:
    """Whole days from each date (normalised) to today; NaN where the date is missing."""
    t = float(np.datetime64(today.date(), "D").astype(np.int64))
    return pd.Series(t - _day_numbers(col), index=col.index)


def _first_reason(hits: list[np.ndarray], names: list[str], index: pd.Index) -> pd.Series:
    """The name of the first true check per row; missing (None) where none is true."""
    n = len(index)
    code = np.select(hits, list(range(1, len(hits) + 1)), 0) if hits else np.zeros(n, dtype=int)
    labels = np.array([None, *names], dtype=object)
    return pd.Series(labels[np.broadcast_to(code, n)], index=index, dtype="object")


def _fired_names(fired: np.ndarray, names: list[str], show: np.ndarray) -> np.ndarray:
    """``"a & b"`` naming the fired rules per row where ``show``; None elsewhere (vectorised by
    the bit pattern of fired rules)."""
    out = np.full(fired.shape[0], None, dtype=object)
    if not names:
        return out
    bits = fired.astype(np.int64) @ (1 << np.arange(len(names), dtype=np.int64))
    for b in np.unique(bits[show]):
        out[show & (bits == b)] = " & ".join(n for j, n in enumerate(names) if b >> j & 1)
    return out


class ReclaimRule(Config):
    """One reclaim rule.

    Parameters
    ----------
    kind : ``no_followup``, ``no_opportunity``, ``no_deal`` or ``contract_end``.
    limit_days : the rule fires when the days counted are strictly greater than this; 0 = off.
    by_grade : a limit per customer grade, overriding ``limit_days`` (0 = off for that grade).

    Examples
    --------
    >>> import pandas as pd
    >>> c = pd.DataFrame({"received_at": pd.to_datetime(["2025-01-01"] * 2),
    ...                   "last_followup_at": pd.to_datetime(["2025-01-10", "2025-01-09"]),
    ...                   "grade": ["B", "B"]})
    >>> ReclaimRule(kind="no_followup", limit_days=30).fires(c, "2025-02-09").tolist()
    [False, True]
    """

    kind: RuleKind
    limit_days: int = Field(ge=0)
    by_grade: dict[str, int] = {}

    @field_validator("by_grade")
    @classmethod
    def _non_negative(cls, v: dict[str, int]) -> dict[str, int]:
        bad = {g: d for g, d in v.items() if d < 0}
        if bad:
            raise ValueError(f"by_grade limits must be >= 0, got {bad}")
        return v

    @property
    def name(self) -> str:
        grades = ",".join(f"{g}:{d}" for g, d in self.by_grade.items())
        return f"{self.kind}>{self.limit_days}d" + (f" ({grades})" if grades else "")

    def limits(self, customers: pd.DataFrame) -> np.ndarray:
        """The limit for each customer (0 = off)."""
        lim = np.full(len(customers), self.limit_days, dtype=float)
        if self.by_grade:
            _need(customers, ["grade"], f"rule '{self.kind}' with by_grade")
            g = customers["grade"].astype(str)
            for grade, days in self.by_grade.items():
                lim[(g == grade).to_numpy()] = days
        return lim

    def elapsed(self, customers: pd.DataFrame, today) -> pd.Series:
        """Whole days counted by this rule; NaN where the rule cannot fire (e.g. an opportunity
        was created since receipt, or there is no contract end date)."""
        _need(customers, _NEEDS[self.kind], f"reclaim rule '{self.kind}'")
        today = _day(today)
        if self.kind == "contract_end":
            return _days_since(customers["contract_end_at"], today)
        t = float(np.datetime64(today.date(), "D").astype(np.int64))
        received = _day_numbers(customers["received_at"])
        if self.kind == "no_followup":
            last = _day_numbers(customers["last_followup_at"])
            ref = np.fmax(received, last)  # the later of the two; NaN only if both are missing
            return pd.Series(t - ref, index=customers.index)
        col = "last_opportunity_at" if self.kind == "no_opportunity" else "last_deal_at"
        happened = _day_numbers(customers[col]) >= received  # False where either is missing
        return pd.Series(np.where(happened, np.nan, t - received), index=customers.index)

    def fires(self, customers: pd.DataFrame, today) -> pd.Series:
        lim = self.limits(customers)
        e = self.elapsed(customers, today).to_numpy()
        return pd.Series((lim > 0) & (np.nan_to_num(e, nan=-np.inf) > lim), index=customers.index)

    def days_until(self, customers: pd.DataFrame, today) -> pd.Series:
        """Days until the rule fires (<= 0: due now); NaN where it is off or cannot fire."""
        lim = self.limits(customers)
        e = self.elapsed(customers, today).to_numpy()
        out = np.where(lim > 0, lim + 1 - e, np.nan)
        return pd.Series(out, index=customers.index)


class ReclaimPolicy(Config):
    """Reclaim rules, how they combine, the exemptions and the reminder.

    Examples
    --------
    >>> p = ReclaimPolicy(rules=[{"kind": "no_followup", "limit_days": 30},
    ...                          {"kind": "no_deal", "limit_days": 90}], combine="any")
    >>> [r.name for r in p.active_rules]
    ['no_followup>30d', 'no_deal>90d']
    """

    rules: tuple[ReclaimRule, ...] = Field(min_length=1)
    combine: Literal["any", "all"] = "any"
    exempt_locked: bool = True
    reclaim_closed: bool = False
    exempt_open_opportunity: bool = True
    exempt_followup_plan: bool = True
    remind_days: int = Field(default=3, ge=0)

    @property
    def active_rules(self) -> tuple[ReclaimRule, ...]:
        """Rules that can fire for some grade (limit > 0 somewhere)."""
        return tuple(r for r in self.rules if r.limit_days > 0 or any(d > 0 for d in r.by_grade.values()))

    def exempt_reason(self, customers: pd.DataFrame) -> pd.Series:
        """Why each customer is exempt from reclaim (missing = not exempt)."""
        checks = []
        if self.exempt_locked:
            checks.append(("locked", "locked"))
        if not self.reclaim_closed:
            checks.append(("deal_closed", "deal_closed"))
        if self.exempt_open_opportunity:
            checks.append(("open_opportunities", "open_opportunity"))
        if self.exempt_followup_plan:
            checks.append(("followup_plan_active", "followup_plan"))
        _need(customers, [c for c, _ in checks],
              "the reclaim exemptions (switch an exemption off in ReclaimPolicy if you lack it)")
        hits = [_flag(customers[col]) for col, _ in checks]
        return _first_reason(hits, [why for _, why in checks], customers.index)

    def evaluate(self, customers: pd.DataFrame, today) -> pd.DataFrame:
        """Per customer: ``due``, ``rule`` (the rule(s) that fired), ``days_until``, ``remind``,
        ``exempt`` (reason). Customers without an owner are never due."""
        rules = self.active_rules
        owned = customers["owner_id"].notna().to_numpy()
        exempt = self.exempt_reason(customers)
        fired = np.column_stack([r.fires(customers, today).to_numpy() for r in rules]) if rules \
            else np.zeros((len(customers), 0), dtype=bool)
        until = np.column_stack([r.days_until(customers, today).to_numpy() for r in rules]) if rules \
            else np.zeros((len(customers), 0))
        if not rules:
            hit, d = np.zeros(len(customers), dtype=bool), np.full(len(customers), np.nan)
        elif self.combine == "any":  # the first rule to fire decides
            hit = fired.any(axis=1)
            d = np.where(np.isnan(until), np.inf, until).min(axis=1)
            d[np.isinf(d)] = np.nan
        else:  # every rule must fire: the last one decides (NaN if one never can)
            hit = fired.all(axis=1)
            d = until.max(axis=1)
        ok = owned & exempt.isna().to_numpy()
        rule = _fired_names(fired, [r.name for r in rules], hit & ok)
        days = np.where(ok, d, np.nan)
        return pd.DataFrame({
            "due": hit & ok,
            "rule": pd.Series(rule, index=customers.index, dtype="object"),
            "days_until": days,
            "remind": ok & ~(hit) & (days <= self.remind_days),
            "exempt": exempt.where(owned, None),
        }, index=customers.index)


class ClaimRules(Config):
    """Who may take a customer from a pool.

    Parameters
    ----------
    holding_cap : most customers a rep may hold (0 = no cap).
    cap_counts_closed : whether customers with a deal count towards the holding cap.
    daily_claim_cap : most claims per rep per day (0 = no cap).
    cooldown_days : the former owner may claim a customer back only when the days since it left
        them are strictly greater than this.
    embargo_days : a customer that entered the pool fewer than this many days ago can't be claimed
        by non-admins.
    """

    holding_cap: int = Field(default=0, ge=0)
    cap_counts_closed: bool = True
    daily_claim_cap: int = Field(default=0, ge=0)
    cooldown_days: int = Field(default=0, ge=0)
    embargo_days: int = Field(default=0, ge=0)

    def refusal(self, c: pd.DataFrame | dict, *, admin: bool = False) -> pd.Series:
        """First refusal reason per candidate claim (missing = allowed), vectorised.

        ``c`` (a DataFrame, or a dict of equal-length arrays/scalars) has one row per (customer, rep) candidate with columns ``in_pool``, ``member``,
        ``days_in_pool``, ``former_owner``, ``days_since_left``, ``held`` (counting per
        ``cap_counts_closed``) and ``claimed_today``. Admin assignments skip embargo, cooldown and
        the caps.
        """
        n = len(next(iter(c.values()))) if isinstance(c, dict) else len(c)

        def col(name: str, fill: float = 0.0) -> np.ndarray:
            v = np.broadcast_to(np.asarray(c[name], dtype=float), n)
            return np.where(np.isnan(v), fill, v)

        checks = [("not_in_pool", col("in_pool") == 0)]
        if not admin:
            checks += [
                ("not_member", col("member") == 0),
                ("embargo", col("days_in_pool", np.inf) < self.embargo_days),
                ("cooldown", (col("former_owner") != 0)
                 & (col("days_since_left", np.inf) <= self.cooldown_days)),
            ]
            if self.holding_cap:
                checks.append(("holding_cap", col("held") >= self.holding_cap))
            if self.daily_claim_cap:
                checks.append(("daily_cap", col("claimed_today") >= self.daily_claim_cap))
        index = c.index if isinstance(c, pd.DataFrame) else pd.RangeIndex(n)
        return _first_reason([h for _, h in checks], [w for w, _ in checks], index)


class Pool(Config):
    """A public pool.

    Parameters
    ----------
    pool_id : its id (the ``pool_id`` column of customers in it).
    teams : member scope: reps of these teams may claim (empty = every rep).
    regions : customers of these regions go to this pool when reclaimed (empty = catch-all).
    admins : rep ids who may assign customers directly.
    claim : the claim rules.
    """

    pool_id: str = Field(min_length=1)
    name: str = ""
    teams: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    admins: tuple[str, ...] = ()
    claim: ClaimRules = ClaimRules()


def _check_pools(pools) -> tuple[Pool, ...]:
    pools = (pools,) if isinstance(pools, Pool) else tuple(pools)
    if not pools:
        raise ValueError("at least one Pool is needed")
    ids = [p.pool_id for p in pools]
    if len(set(ids)) != len(ids):
        raise ValueError(f"pool ids must be unique, got {ids}")
    return pools


def pool_for(customers: pd.DataFrame, pools) -> pd.Series:
    """The pool each customer goes to when reclaimed: the first pool listing its region, else the
    first catch-all pool (no regions)."""
    pools = _check_pools(pools)
    _need(customers, ["region"], "pool_for")
    out = pd.Series(pd.NA, index=customers.index, dtype="object")
    region = customers["region"].astype(str)
    for p in reversed(pools):
        if not p.regions:
            out[:] = p.pool_id
    for p in reversed(pools):
        if p.regions:
            out[region.isin(p.regions).to_numpy()] = p.pool_id
    if out.isna().any():
        bad = customers.loc[out.isna(), "customer_id"].tolist()[:10]
        raise ValueError(f"no pool takes customers of these regions (add a catch-all pool): "
                         f"customer_id {bad}")
    return out


def due_for_reclaim(customers: pd.DataFrame, policy: ReclaimPolicy, today) -> pd.DataFrame:
    """The owned customers the policy would reclaim today, with the rule(s) that fired.

    Examples
    --------
    >>> import pandas as pd
    >>> c = pd.DataFrame({"customer_id": ["c1", "c2"], "owner_id": ["r1", "r1"],
    ...     "received_at": pd.to_datetime(["2025-01-01"] * 2),
    ...     "last_followup_at": pd.to_datetime(["2025-01-01", "2025-03-01"])})
    >>> p = ReclaimPolicy(rules=[{"kind": "no_followup", "limit_days": 30}], exempt_locked=False,
    ...     reclaim_closed=True, exempt_open_opportunity=False, exempt_followup_plan=False)
    >>> due_for_reclaim(c, p, "2025-03-10")[["customer_id", "rule"]].values.tolist()
    [['c1', 'no_followup>30d']]
    """
    ev = policy.evaluate(customers, today)
    cols = [c for c in ("customer_id", "owner_id", "grade") if c in customers.columns]
    out = customers.loc[ev["due"].to_numpy(), cols].copy()
    out["rule"] = ev.loc[ev["due"], "rule"]
    out["days_until"] = ev.loc[ev["due"], "days_until"]
    return out


def days_until_reclaim(customers: pd.DataFrame, policy: ReclaimPolicy, today) -> pd.DataFrame:
    """Per customer: days until reclaim (<= 0: due; NaN: exempt, in a pool, or no rule can fire),
    whether to remind the owner (within ``remind_days``), and the exemption reason."""
    ev = policy.evaluate(customers, today)
    out = customers[["customer_id", "owner_id"]].copy()
    return out.join(ev[["days_until", "remind", "exempt", "due"]])


def _audit(rows: list[dict]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=list(AUDIT_COLUMNS))
    return df.astype({"customer_id": "str", "action": "str"}) if len(df) else df


def reclaim(customers: pd.DataFrame, policy: ReclaimPolicy, today, pools) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run the nightly reclaim: due customers go back to their pool.

    Returns ``(customers_after, audit)``: the owner is cleared; ``pool_id``, ``entered_pool_at``,
    ``previous_owner_id`` and ``left_owner_at`` are set; the audit has one row per change.
    """
    today = _day(today)
    due = due_for_reclaim(customers, policy, today)
    out = customers.copy()
    idx = due.index
    target = pool_for(customers.loc[idx], pools)
    for col in ("pool_id", "previous_owner_id"):
        if col not in out.columns:
            out[col] = pd.Series(pd.NA, index=out.index, dtype="str")
    for col in ("entered_pool_at", "left_owner_at"):
        if col not in out.columns:
            out[col] = pd.Series(pd.NaT, index=out.index, dtype="datetime64[us]")
    out.loc[idx, "previous_owner_id"] = customers.loc[idx, "owner_id"]
    out.loc[idx, "owner_id"] = pd.NA
    out.loc[idx, "pool_id"] = target
    out.loc[idx, "entered_pool_at"] = today
    out.loc[idx, "left_owner_at"] = today
    audit = _audit([
        {"t": today, "customer_id": cid, "action": "reclaim", "from_owner": own, "to_owner": None,
         "actor": "system", "reason": rule}
        for cid, own, rule in zip(due["customer_id"], due["owner_id"], due["rule"])
    ])
    return out, audit


def _candidates(customers: pd.DataFrame, reps: pd.DataFrame, pools: tuple[Pool, ...],
                cust_idx: np.ndarray, rep_ids: list[str], today: pd.Timestamp,
                held: dict[str, int], claimed_today: dict[str, int]) -> pd.DataFrame:
    pool_by_id = {p.pool_id: p for p in pools}
    team = reps.set_index("rep_id")["team"].astype(str).to_dict()
    sub = customers.iloc[cust_idx]
    pid = sub["pool_id"].astype("object") if "pool_id" in sub else pd.Series([None] * len(sub))
    members = []
    for p, r in zip(pid.tolist(), rep_ids):
        pool = pool_by_id.get(p) if isinstance(p, str) else None
        members.append(pool is not None and (not pool.teams or team.get(r) in pool.teams))
    prev = sub["previous_owner_id"].astype("object").tolist() if "previous_owner_id" in sub else [None] * len(sub)
    return pd.DataFrame({
        "in_pool": sub["owner_id"].isna().to_numpy(),
        "member": members,
        "days_in_pool": _days_since(sub["entered_pool_at"], today).to_numpy() if "entered_pool_at" in sub else np.nan,
        "former_owner": [p == r for p, r in zip(prev, rep_ids)],
        "days_since_left": _days_since(sub["left_owner_at"], today).to_numpy() if "left_owner_at" in sub else np.nan,
        "held": [held.get(r, 0) for r in rep_ids],
        "claimed_today": [claimed_today.get(r, 0) for r in rep_ids],
    })


def _held(customers: pd.DataFrame, rules: ClaimRules) -> dict[str, int]:
    own = customers["owner_id"]
    if not rules.cap_counts_closed and "deal_closed" in customers.columns:
        own = own[~customers["deal_closed"].fillna(False).astype(bool)]
    return own.dropna().astype(str).value_counts().to_dict()


def _take(customers, reps, pools, requests, today, claimed_today, *, admin_col: str | None):
    pools = _check_pools(pools)
    today = _day(today)
    out = customers.copy()
    pos = {cid: k for k, cid in enumerate(out["customer_id"].astype(str))}
    rep_set = set(reps["rep_id"].astype(str))
    pool_by_id = {p.pool_id: p for p in pools}
    claimed = dict(claimed_today or {})
    results, audit = [], []
    for _, req in requests.iterrows():
        cid, rid = str(req["customer_id"]), str(req["rep_id"])
        actor = str(req[admin_col]) if admin_col else rid
        reason = None
        if cid not in pos:
            reason = "unknown_customer"
        elif rid not in rep_set:
            reason = "unknown_rep"
        else:
            k = pos[cid]
            pid = out["pool_id"].iloc[k] if "pool_id" in out.columns else None
            pool = pool_by_id.get(pid) if isinstance(pid, str) else None
            rules = pool.claim if pool else ClaimRules()
            if admin_col and pd.notna(out["owner_id"].iloc[k]):
                reason = "not_in_pool"
            elif admin_col and (pool is None or actor not in pool.admins):
                reason = "not_admin"
            else:
                cand = _candidates(out, reps, pools, np.array([k]), [rid], today, _held(out, rules), claimed)
                r = rules.refusal(cand, admin=admin_col is not None).iloc[0]
                reason = None if pd.isna(r) else r
        ok = reason is None
        results.append({"customer_id": cid, "rep_id": rid, "ok": ok, "reason": reason})
        if ok:
            k = pos[cid]
            out.iloc[k, out.columns.get_loc("owner_id")] = rid
            if "received_at" in out.columns:
                out.iloc[k, out.columns.get_loc("received_at")] = today
            if "pool_id" in out.columns:
                out.iloc[k, out.columns.get_loc("pool_id")] = pd.NA
            claimed[rid] = claimed.get(rid, 0) + 1
            audit.append({"t": today, "customer_id": cid, "action": "assign" if admin_col else "claim",
                          "from_owner": None, "to_owner": rid, "actor": actor, "reason": None})
    return out, pd.DataFrame(results), _audit(audit), claimed


def claim(customers: pd.DataFrame, reps: pd.DataFrame, pools, requests: pd.DataFrame, today,
          claimed_today: dict[str, int] | None = None):
    """Process claim requests (``customer_id``, ``rep_id``) in order.

    Returns ``(customers_after, results, audit, claimed_today)``: ``results`` has ``ok`` and the
    refusal ``reason`` (one of :data:`REFUSALS`) per request; a successful claim sets the owner,
    ``received_at = today`` and clears ``pool_id``. ``claimed_today`` counts claims per rep today
    (pass it back in for further requests on the same day).
    """
    return _take(customers, reps, pools, requests, today, claimed_today, admin_col=None)


def assign(customers: pd.DataFrame, reps: pd.DataFrame, pools, requests: pd.DataFrame, today):
    """Pool admins assign customers directly (``customer_id``, ``rep_id``, ``admin_id``), skipping
    the embargo, the cooldown and the caps; refused with ``not_admin`` unless ``admin_id`` is an
    admin of the customer's pool. Returns ``(customers_after, results, audit)``."""
    out, res, audit, _ = _take(customers, reps, pools, requests, today, None, admin_col="admin_id")
    return out, res, audit
