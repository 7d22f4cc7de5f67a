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

from typing import Literal, NamedTuple

import numpy as np
import pandas as pd
from pydantic import Field, field_validator

from crmsim.config import Config

__all__ = [
    "ReclaimRule",
    "ReclaimPolicy",
    "CustomerColumns",
    "ClaimRules",
    "Pool",
    "REFUSALS",
    "AUDIT_COLUMNS",
    "ON_RECLAIM",
    "ON_CLAIM",
    "ClaimOutcome",
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
    "batch",              # all-or-nothing pool: another customer of the same request was refused
)
#: What a reclaim and a claim change on a customer, column by column: the one definition used by
#: :func:`reclaim`, :func:`claim` / :func:`assign` and the pool simulation. Values: ``"clear"``
#: (missing), ``"today"``, ``"rep"`` (the new owner), ``"owner"`` (the owner before the change),
#: ``"pool"`` (the pool the customer goes to, by :func:`pool_for`).
ON_RECLAIM: dict[str, str] = {"previous_owner_id": "owner", "owner_id": "clear", "pool_id": "pool",
                              "entered_pool_at": "today", "left_owner_at": "today"}
ON_CLAIM: dict[str, str] = {"owner_id": "rep", "received_at": "today", "pool_id": "clear",
                            "entered_pool_at": "clear"}
AUDIT_COLUMNS = ("t", "customer_id", "action", "from_owner", "to_owner", "actor", "reason")


def _day(today) -> pd.Timestamp:
    return pd.Timestamp(today).normalize()


def _need(customers: pd.DataFrame, cols, why: str) -> None:
    missing = [c for c in cols if c not in customers.columns]
    if missing:
        raise KeyError(f"customers table: column(s) {missing} needed by {why} are missing; "
                       f"columns are {list(customers.columns)}")


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


class CustomerColumns:
    """A customers table as the reclaim rules read it: day numbers, yes/no flags and text, column
    by column, each read (and checked) once.

    The rules (:class:`ReclaimRule`, :class:`ReclaimPolicy`) take a DataFrame or this view;
    :meth:`of` wraps a DataFrame (each column is parsed when a rule first reads it, so a policy of
    several rules parses ``received_at`` once). A simulation that keeps its book in arrays builds
    the view directly, so the nightly rule runs on its columns without a DataFrame.

    Parameters
    ----------
    n : customers.
    dates : column -> whole days since ``origin`` (float, NaN = missing).
    flags : column -> bool (an array, or one value for every customer).
    text : column -> values (an array, or one value for every customer).
        A value of any of the three may be a function of no arguments returning it: it is called
        when a rule first reads the column.
    owned : whether each customer has an owner (else it is in a pool).
    origin : the day the ``dates`` count from, in days since 1970-01-01 (default 0: 1970-01-01),
        so a simulation counting days from its start passes its own arrays unchanged.

    Examples
    --------
    >>> import numpy as np
    >>> cc = CustomerColumns(2, dates={"received_at": np.array([20089.0, 20089.0]),
    ...                                "last_followup_at": np.array([20098.0, 20097.0])},
    ...                      owned=np.array([True, True]))
    >>> ReclaimRule(kind="no_followup", limit_days=30).fires(cc, "2025-02-09").tolist()
    [False, True]
    """

    def __init__(self, n: int, *, dates=None, flags=None, text=None, owned=None, origin: float = 0.0,
                 index: pd.Index | None = None):
        self._n = int(n)
        self.origin = float(origin)
        self._dates = dict(dates or {})
        self._flags = dict(flags or {})
        self._text = dict(text or {})
        self._owned = None if owned is None else np.asarray(owned, dtype=bool)
        self._table: pd.DataFrame | None = None
        self.index = index if index is not None else pd.RangeIndex(self._n)

    @classmethod
    def of(cls, customers) -> CustomerColumns:
        """``customers`` as a view (itself if it is one already)."""
        if isinstance(customers, cls):
            return customers
        view = cls(len(customers), index=customers.index)
        view._table = customers
        return view

    def __len__(self) -> int:
        return self._n

    @property
    def columns(self) -> list[str]:
        if self._table is not None:
            return list(self._table.columns)
        return [*self._dates, *self._flags, *self._text] + (["owner_id"] if self._owned is not None else [])

    def day(self, today) -> float:
        """``today`` (a date) as a day number of this view (days since :attr:`origin`)."""
        return _day_number(today) - self.origin

    def date(self, col: str) -> np.ndarray:
        """Whole days since :attr:`origin` (NaN where missing); a value that is not a date is an
        error naming the column and rows."""
        if col not in self._dates:
            from crmsim.tables import day_numbers

            self._dates[col] = day_numbers(self._table[col], "customers")
        elif callable(self._dates[col]):
            self._dates[col] = np.asarray(self._dates[col](), dtype=float)
        return self._dates[col]

    def flag(self, col: str) -> np.ndarray:
        """A yes/no column (:func:`crmsim.tables.flag_column`)."""
        if col not in self._flags:
            from crmsim.tables import flag_column

            self._flags[col] = flag_column(self._table[col], "customers table")
        elif callable(self._flags[col]):
            self._flags[col] = self._flags[col]()
        return np.broadcast_to(np.asarray(self._flags[col], dtype=bool), self._n)

    def text(self, col: str) -> np.ndarray:
        if col not in self._text:
            self._text[col] = self._table[col].astype(str).to_numpy()
        elif callable(self._text[col]):
            self._text[col] = self._text[col]()
        return np.broadcast_to(np.asarray(self._text[col]), self._n)

    def owned(self) -> np.ndarray:
        """Whether each customer has an owner."""
        if self._owned is None:
            if self._table is None:
                raise KeyError("customers: the view has no owner_id (pass owned=)")
            self._owned = self._table["owner_id"].notna().to_numpy()
        return self._owned


def _days_since(col: pd.Series, today: pd.Timestamp) -> pd.Series:
    """Whole days from each date (normalised) to today; NaN where the date is missing."""
    from crmsim.tables import day_numbers

    return pd.Series(_day_number(today) - day_numbers(col, "customers"), index=col.index)


def _day_number(today) -> float:
    return float(np.datetime64(_day(today).date(), "D").astype(np.int64))


class ReclaimRule(Config):
    """One reclaim rule.

    Parameters
    ----------
    kind : ``no_followup``, ``no_opportunity``, ``no_deal`` or ``contract_end``.
    limit_days : the rule fires when the days counted are strictly greater than this; 0 = off.
    by_grade : a limit per customer grade, overriding ``limit_days`` (0 = off for that grade).
    skip_if : this rule does not fire for customers that have ``any_opportunity`` (an opportunity
        of any status, open, won or lost: a ``last_opportunity_at`` date or ``open_opportunities``
        > 0), an ``open_opportunity``, or a ``deal_closed`` (the per-rule-type "customers with an
        opportunity / a deal do not enter the pool" switches of WukongCRM and CordysCRM); on top of
        the policy-wide exemptions, which apply to every rule.

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
    skip_if: tuple[Literal["any_opportunity", "open_opportunity", "deal_closed"], ...] = ()

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

    def limits(self, customers) -> np.ndarray:
        """The limit for each customer (0 = off). ``customers``: a DataFrame or a
        :class:`CustomerColumns` view, as in every method of the rules."""
        cc = CustomerColumns.of(customers)
        lim = np.full(len(cc), self.limit_days, dtype=float)
        if self.by_grade:
            _need(cc, ["grade"], f"rule '{self.kind}' with by_grade")
            g = cc.text("grade")
            for grade, days in self.by_grade.items():
                lim[g == grade] = days
        return lim

    def elapsed(self, customers, today) -> pd.Series:
        """Whole days counted by this rule; NaN where the rule cannot fire (e.g. an opportunity
        was created since receipt, or there is no contract end date)."""
        cc = CustomerColumns.of(customers)
        return pd.Series(self._elapsed(cc, today), index=cc.index)

    def _elapsed(self, cc: CustomerColumns, today) -> np.ndarray:
        _need(cc, _NEEDS[self.kind], f"reclaim rule '{self.kind}'")
        t = cc.day(today)
        if self.kind == "contract_end":
            return t - cc.date("contract_end_at")
        received = cc.date("received_at")
        if self.kind == "no_followup":
            return t - np.fmax(received, cc.date("last_followup_at"))  # the later; NaN only if both are missing
        col = "last_opportunity_at" if self.kind == "no_opportunity" else "last_deal_at"
        happened = cc.date(col) >= received  # False where either is missing
        return np.where(happened, np.nan, t - received)

    def skipped(self, customers) -> np.ndarray:
        """Customers this rule does not apply to, by ``skip_if``."""
        cc = CustomerColumns.of(customers)
        out = np.zeros(len(cc), dtype=bool)
        for what in self.skip_if:
            if what == "any_opportunity":
                have = [c for c in ("last_opportunity_at", "open_opportunities") if c in cc.columns]
                if not have:
                    _need(cc, ["last_opportunity_at"], f"rule '{self.kind}' with skip_if any_opportunity")
                if "last_opportunity_at" in have:
                    out |= ~np.isnan(cc.date("last_opportunity_at"))
                if "open_opportunities" in have:
                    out |= cc.flag("open_opportunities")
            else:
                col = "open_opportunities" if what == "open_opportunity" else "deal_closed"
                _need(cc, [col], f"rule '{self.kind}' with skip_if {what}")
                out |= cc.flag(col)
        return out

    def fires(self, customers, today) -> pd.Series:
        """Whether the rule fires for each customer today."""
        cc = CustomerColumns.of(customers)
        return pd.Series(self._fires(cc, today), index=cc.index)

    def _fires(self, cc: CustomerColumns, today) -> np.ndarray:
        lim = self.limits(cc)
        hit = (lim > 0) & (self._elapsed(cc, today) > lim)   # NaN (cannot fire) compares False
        return hit & ~self.skipped(cc) if self.skip_if else hit

    def days_until(self, customers, today) -> pd.Series:
        """Days until the rule fires, counted from ``today``: 1 = it fires at the first run after
        today (tomorrow's nightly job), 0 or less = due at today's run (``limit + 1 - elapsed``,
        since a rule fires when the days counted are strictly greater than the limit). NaN where
        it is off, cannot fire (e.g. no contract end date) or is skipped (``skip_if``)."""
        cc = CustomerColumns.of(customers)
        lim = self.limits(cc)
        out = np.where((lim > 0) & ~self.skipped(cc), lim + 1 - self._elapsed(cc, today), np.nan)
        return pd.Series(out, index=cc.index)


class ReclaimPolicy(Config):
    """Reclaim rules, how they combine, the exemptions and the reminder.

    Examples
    --------
    >>> p = ReclaimPolicy(rules=[{"kind": "no_followup", "limit_days": 30},
    ...                          {"kind": "no_deal", "limit_days": 90}], combine="any")
    >>> [r.name for r in p.active_rules]
    ['no_followup>30d', 'no_deal>90d']
    """

    rules: tuple[ReclaimRule, ...] = Field(min_length=1)   # the reclaim rules (see ReclaimRule)
    combine: Literal["any", "all"] = "any"   # any rule firing reclaims, or all of them must fire
    exempt_locked: bool = True   # a locked customer stays with its owner
    reclaim_closed: bool = False   # false: a customer with a closed deal stays with its owner
    exempt_open_opportunity: bool = True   # a customer with an open opportunity stays
    exempt_followup_plan: bool = True   # a customer with an active follow-up plan stays
    remind_days: int = Field(default=3, ge=0)   # remind the owner this many days before the reclaim

    @property
    def active_rules(self) -> tuple[ReclaimRule, ...]:
        """Rules that can fire for some grade (limit > 0 somewhere)."""
        return tuple(r for r in self.rules if r.limit_days > 0 or any(d > 0 for d in r.by_grade.values()))

    def _exempt_hits(self, cc: CustomerColumns) -> tuple[list[np.ndarray], list[str]]:
        checks = []
        if self.exempt_locked:
            checks.append(("locked", "locked"))
        if not self.reclaim_closed:
            checks.append(("deal_closed", "deal_closed"))
        if self.exempt_open_opportunity:
            checks.append(("open_opportunities", "open_opportunity"))
        if self.exempt_followup_plan:
            checks.append(("followup_plan_active", "followup_plan"))
        _need(cc, [c for c, _ in checks],
              "the reclaim exemptions (switch an exemption off in ReclaimPolicy if you lack it)")
        return [cc.flag(col) for col, _ in checks], [why for _, why in checks]

    def exempt_reason(self, customers) -> pd.Series:
        """Why each customer is exempt from reclaim (missing = not exempt)."""
        cc = CustomerColumns.of(customers)
        hits, names = self._exempt_hits(cc)
        return _first_reason(hits, names, cc.index)

    def _fired(self, cc: CustomerColumns, today) -> np.ndarray:
        rules = self.active_rules
        return (np.column_stack([r._fires(cc, today) for r in rules]) if rules
                else np.zeros((len(cc), 0), dtype=bool))

    def _hit(self, fired: np.ndarray) -> np.ndarray:
        if not fired.shape[1]:
            return np.zeros(fired.shape[0], dtype=bool)
        return fired.any(axis=1) if self.combine == "any" else fired.all(axis=1)

    def due(self, customers, today) -> np.ndarray:
        """Whether each customer is due today (the ``due`` column of :meth:`evaluate`, without
        the explanations): what the pool simulation's nightly job asks."""
        cc = CustomerColumns.of(customers)
        hits, _ = self._exempt_hits(cc)
        exempt = np.logical_or.reduce(hits) if hits else False
        return self._hit(self._fired(cc, today)) & cc.owned() & ~exempt

    def evaluate(self, customers, today) -> pd.DataFrame:
        """Per customer: ``due``, ``rule`` (the rule(s) that fired), ``days_until``, ``remind``,
        ``exempt`` (reason). Customers without an owner are never due."""
        cc = CustomerColumns.of(customers)
        rules = self.active_rules
        owned = cc.owned()
        exempt = self.exempt_reason(cc)
        fired = self._fired(cc, today)
        until = np.column_stack([r.days_until(cc, today).to_numpy() for r in rules]) if rules \
            else np.zeros((len(cc), 0))
        hit = self._hit(fired)
        if not rules:
            d = np.full(len(cc), np.nan)
        elif self.combine == "any":  # the first rule to fire decides
            d = np.where(np.isnan(until), np.inf, until).min(axis=1)
            d[np.isinf(d)] = np.nan
        else:  # every rule must fire: the last one decides (NaN if one never can)
            d = until.max(axis=1)
        ok = owned & exempt.isna().to_numpy()
        rule = _fired_names(fired, [r.name for r in rules], hit & ok)
        days = np.where(ok, d, np.nan)
        return pd.DataFrame({
            "due": hit & ok,
            "rule": pd.Series(rule, index=cc.index, dtype="object"),
            "days_until": days,
            "remind": ok & ~(hit) & (days <= self.remind_days),
            "exempt": exempt.where(owned, None),
        }, index=cc.index)


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
    batch : ``"per_customer"`` (each customer of a request is granted or refused on its own, in
        order, until a cap is reached) or ``"all_or_nothing"`` (a request of several customers is
        refused as a whole when any of them would be refused, e.g. when it would take the rep past
        the holding cap: WukongCRM / CordysCRM / yudao-cloud ``receiveCustomer`` behaviour).

    Examples
    --------
    >>> rules = ClaimRules(holding_cap=3)
    >>> cand = {"in_pool": [1, 1, 1], "member": 1, "days_in_pool": 9, "former_owner": 0,
    ...         "days_since_left": 9}
    >>> rules.grant(cand, held=1).tolist()
    [None, None, 'holding_cap']
    >>> ClaimRules(holding_cap=3, batch="all_or_nothing").grant(cand, held=1).tolist()
    ['batch', 'batch', 'holding_cap']
    """

    holding_cap: int = Field(default=0, ge=0)
    cap_counts_closed: bool = True
    daily_claim_cap: int = Field(default=0, ge=0)
    cooldown_days: int = Field(default=0, ge=0)
    embargo_days: int = Field(default=0, ge=0)
    batch: Literal["per_customer", "all_or_nothing"] = "per_customer"

    def grant(self, c: pd.DataFrame | dict, *, held: int = 0, claimed_today: int = 0,
              admin: bool = False, batch: Literal["per_customer", "all_or_nothing"] | None = None) -> pd.Series:
        """The refusal reason of each customer of one request by one rep (missing = granted).

        The batch form of :meth:`refusal`: ``c`` lists distinct customers in the order the rep asks
        for them (the columns of :meth:`refusal` except ``held`` and ``claimed_today``, which are
        the rep's counts before the request). The caps apply in order: customer *j* is refused
        ``holding_cap`` once the rep holds ``holding_cap`` with the ones granted before it, and
        ``daily_cap`` likewise. In an ``all_or_nothing`` pool one refusal refuses every customer of
        the request (reason ``batch`` for those that would have passed); ``batch`` overrides the
        pool's setting (e.g. to list what a rep could claim one by one).
        """
        codes = self.grant_codes(c, held=held, claimed_today=claimed_today, admin=admin, batch=batch)
        return _reasons(codes, c)

    def grant_codes(self, c: pd.DataFrame | dict, *, held: int = 0, claimed_today: int = 0,
                    admin: bool = False, batch: Literal["per_customer", "all_or_nothing"] | None = None) -> np.ndarray:
        """:meth:`grant` as codes: 0 = granted, ``k`` = refused for ``REFUSALS[k - 1]`` (what the
        pool simulation asks, once per rep and day, without building a Series).

        >>> cand = {"in_pool": [1, 1], "member": 1, "days_in_pool": 9, "former_owner": 0, "days_since_left": 9}
        >>> ClaimRules(holding_cap=2).grant_codes(cand, held=1).tolist()
        [0, 8]
        """
        n = _rows(c)
        base = dict(c) if isinstance(c, dict) else {k: c[k].to_numpy() for k in c.columns}
        base["held"], base["claimed_today"] = 0, 0
        out = self.refusal_codes(base, admin=admin)
        if not admin:
            ok = out == 0
            before = np.cumsum(ok) - ok     # customers granted before this one, if all were granted
            caps = []
            if self.holding_cap:
                caps.append(("holding_cap", self.holding_cap - held))
            if self.daily_claim_cap:
                caps.append(("daily_cap", self.daily_claim_cap - claimed_today))
            room = min([r for _, r in caps], default=n)
            granted_before = np.minimum(before, max(room, 0))
            for name, r in caps:    # the first cap that binds, in the order of REFUSALS
                out[(out == 0) & (granted_before >= r)] = _CODE[name]
        if (batch or self.batch) == "all_or_nothing" and not admin and (out != 0).any():
            out[out == 0] = _CODE["batch"]
        return out

    def refusal(self, c: pd.DataFrame | dict, *, admin: bool = False) -> pd.Series:
        """First refusal reason per candidate claim (missing = allowed), vectorised.

        ``c`` (a DataFrame, or a dict of equal-length arrays/scalars) has one row per (customer, rep) candidate with columns ``in_pool``, ``member``,
        ``days_in_pool``, ``former_owner``, ``days_since_left``, ``held`` (counting per
        ``cap_counts_closed``) and ``claimed_today``. Admin assignments skip embargo, cooldown and
        the caps.
        """
        return _reasons(self.refusal_codes(c, admin=admin), c)

    def refusal_codes(self, c: pd.DataFrame | dict, *, admin: bool = False) -> np.ndarray:
        """:meth:`refusal` as codes (0 = allowed, ``k`` = ``REFUSALS[k - 1]``)."""
        n = _rows(c)

        def col(name: str, fill: float = 0.0) -> np.ndarray:
            v = np.asarray(c[name], dtype=float)
            if v.ndim == 0:     # one value for every candidate
                return np.full(n, fill if np.isnan(v) else v)
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
        out = np.zeros(n, dtype=np.int8)
        for name, hit in reversed(checks):   # the first check that is true wins
            out[hit] = _CODE[name]
        return out


#: refusal reason -> its code in :meth:`ClaimRules.grant_codes` (0 = granted)
_CODE = {r: k + 1 for k, r in enumerate(REFUSALS)}
_LABELS = np.array([None, *REFUSALS], dtype=object)


def _rows(c: pd.DataFrame | dict) -> int:
    return len(next(iter(c.values()))) if isinstance(c, dict) else len(c)


def _reasons(codes: np.ndarray, c: pd.DataFrame | dict) -> pd.Series:
    """Codes as refusal reasons (None = granted), on the index of ``c``."""
    index = c.index if isinstance(c, pd.DataFrame) else pd.RangeIndex(codes.size)
    return pd.Series(_LABELS[codes], index=index, dtype="object")


class Pool(Config):
    """A public pool.

    Parameters
    ----------
    pool_id : its id (the ``pool_id`` column of customers in it).
    teams : member scope: reps of these teams may claim (empty = every rep).
    regions : customers of these regions go to this pool when reclaimed (empty = catch-all).
    admins : rep ids who may assign customers directly.
    claim : the claim rules.

    Examples
    --------
    >>> pool = Pool(pool_id="north", regions=["north"], teams=["t1"], claim=ClaimRules(holding_cap=50))
    >>> pool.claim.holding_cap, pool.regions
    (50, ('north',))
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
    first catch-all pool (no regions).

    Examples
    --------
    >>> import pandas as pd
    >>> pools = [Pool(pool_id="north", regions=["north"]), Pool(pool_id="rest")]
    >>> pool_for(pd.DataFrame({"region": ["north", "south", None]}), pools).tolist()
    ['north', 'rest', 'rest']
    """
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
    whether to remind the owner (within ``remind_days``), and the exemption reason.

    Examples
    --------
    >>> import pandas as pd
    >>> c = pd.DataFrame({"customer_id": ["c1", "c2"], "owner_id": ["r1", "r1"], "region": ["north", "south"],
    ...     "received_at": pd.to_datetime(["2025-01-01"] * 2),
    ...     "last_followup_at": pd.to_datetime(["2025-01-01", "2025-03-01"])})
    >>> p = ReclaimPolicy(rules=[{"kind": "no_followup", "limit_days": 30}], exempt_locked=False,
    ...     reclaim_closed=True, exempt_open_opportunity=False, exempt_followup_plan=False, remind_days=7)
    >>> days_until_reclaim(c, p, "2025-02-25")[["days_until", "remind"]].values.tolist()
    [[-24.0, False], [35.0, False]]
    """
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

    Examples
    --------
    >>> import pandas as pd
    >>> c = pd.DataFrame({"customer_id": ["c1", "c2"], "owner_id": ["r1", "r1"], "region": ["north", "south"],
    ...     "received_at": pd.to_datetime(["2025-01-01"] * 2),
    ...     "last_followup_at": pd.to_datetime(["2025-01-01", "2025-03-01"])})
    >>> p = ReclaimPolicy(rules=[{"kind": "no_followup", "limit_days": 30}], exempt_locked=False,
    ...     reclaim_closed=True, exempt_open_opportunity=False, exempt_followup_plan=False, remind_days=7)
    >>> after, audit = reclaim(c, p, "2025-03-10", [Pool(pool_id="main")])
    >>> after.loc[0, ["owner_id", "pool_id", "previous_owner_id"]].tolist()     # c1: silent since January
    [nan, 'main', 'r1']
    >>> bool(after.loc[1, "owner_id"] == "r1")                                     # c2: followed up on 1 March
    True
    >>> len(audit) > 0
    True
    """
    today = _day(today)
    due = due_for_reclaim(customers, policy, today)
    out = customers.copy()
    rows = customers.index.get_indexer(due.index)
    target = pool_for(customers.loc[due.index], pools).to_numpy()
    _apply(out, rows, ON_RECLAIM, {"today": today, "owner": customers["owner_id"].to_numpy()[rows],
                                   "pool": target})
    audit = _audit([
        {"t": today, "customer_id": cid, "action": "reclaim", "from_owner": own, "to_owner": None,
         "actor": "system", "reason": rule}
        for cid, own, rule in zip(due["customer_id"], due["owner_id"], due["rule"])
    ])
    return out, audit


class ClaimOutcome(NamedTuple):
    """What :func:`claim` returns (it also unpacks as a 4-tuple).

    ``customers``: the table after the claims; ``results``: one row per request with ``ok``,
    ``reason`` (one of :data:`REFUSALS`), ``detail`` (the reason in words, with the date an
    embargo or a cooldown ends in ``available_from``); ``audit``: the audit log given in plus one
    row per change; ``claimed_today``: claims per rep on ``today``, this call included.

    Examples
    --------
    >>> import pandas as pd
    >>> c = pd.DataFrame({"customer_id": ["c1"], "owner_id": [None], "pool_id": ["main"]})
    >>> out = claim(c, pd.DataFrame({"rep_id": ["r1"], "team": ["t1"]}), [Pool(pool_id="main")],
    ...             pd.DataFrame({"customer_id": ["c1"], "rep_id": ["r1"]}), "2025-03-03")
    >>> out.customers["owner_id"].tolist(), out.results["ok"].tolist(), out.claimed_today
    (['r1'], [True], {'r1': 1})
    >>> customers, results, audit, claimed_today = out
    """

    customers: pd.DataFrame
    results: pd.DataFrame
    audit: pd.DataFrame
    claimed_today: dict[str, int]


def _apply(out: pd.DataFrame, rows: np.ndarray, spec: dict[str, str], values: dict[str, object]) -> None:
    """Set the columns of ``spec`` (:data:`ON_CLAIM` / :data:`ON_RECLAIM`) on ``rows`` (positions)."""
    for col, what in spec.items():
        if col not in out.columns:
            if col == "received_at":
                continue        # a table without receive dates stays without them
            dt = col.endswith("_at")
            out[col] = pd.Series(pd.NaT if dt else pd.NA, index=out.index,
                                 dtype="datetime64[us]" if dt else "object")
        v = pd.NaT if (what == "clear" and out[col].dtype.kind == "M") else (
            pd.NA if what == "clear" else values[what])
        j = out.columns.get_loc(col)
        if out[col].dtype.kind == "M" and not isinstance(v, type(pd.NaT)):
            v = pd.Timestamp(v) if np.ndim(v) == 0 else pd.to_datetime(v)
        if out[col].dtype.kind not in "MO" and what != "today":
            out[col] = out[col].astype("object")
        out.iloc[rows, j] = v


def _claims_on(audit: pd.DataFrame | None, today: pd.Timestamp) -> dict[str, int]:
    """Claims per rep on the calendar day of ``today`` in an audit log."""
    if audit is None or not len(audit):
        return {}
    missing = [c for c in ("t", "action", "to_owner") if c not in audit.columns]
    if missing:
        raise KeyError(f"audit log: column(s) {missing} are missing; an audit log has {list(AUDIT_COLUMNS)}")
    a = audit[(audit["action"] == "claim") & (pd.to_datetime(audit["t"]).dt.normalize() == today)]
    return a["to_owner"].astype(str).value_counts().to_dict()


def _request_state(customers, reps, pools, requests, today, admin_col):
    """Per request: the customer's row (-1 unknown), the pool index (-1 none), rep known, and the
    columns :meth:`ClaimRules.refusal` reads, from the table before any request is applied."""
    cid = requests["customer_id"].astype(str).to_numpy()
    rid = requests["rep_id"].astype(str).to_numpy()
    pos = pd.Index(customers["customer_id"].astype(str))
    if not pos.is_unique:
        dup = pos[pos.duplicated()].unique()[:5].tolist()
        raise ValueError(f"customers table: customer_id must be unique; repeated: {dup}")
    k = pos.get_indexer(cid)
    rep_team = reps.set_index(reps["rep_id"].astype(str))["team"].astype(str) if "team" in reps else \
        pd.Series("", index=reps["rep_id"].astype(str))
    known_rep = np.isin(rid, rep_team.index.to_numpy())
    pid = customers["pool_id"].astype("object").to_numpy() if "pool_id" in customers else np.full(len(customers), None)
    index = {p.pool_id: j for j, p in enumerate(pools)}
    row = np.maximum(k, 0)
    pool = np.array([index.get(p, -1) if isinstance(p, str) else -1 for p in pid[row]], dtype=np.int64)
    pool[k < 0] = -1
    team = rep_team.reindex(rid).to_numpy()
    member = np.array([j >= 0 and (not pools[j].teams or t in pools[j].teams) for j, t in zip(pool, team)], dtype=bool)
    prev = (customers["previous_owner_id"].astype("object").to_numpy()[row] if "previous_owner_id" in customers
            else np.full(len(rid), None))

    def since(col):
        return _days_since(customers[col], today).to_numpy()[row] if col in customers else np.full(len(rid), np.nan)

    state = {
        "in_pool": customers["owner_id"].isna().to_numpy()[row] & (k >= 0),
        "member": member,
        "days_in_pool": since("entered_pool_at"),
        "former_owner": prev.astype(str) == rid,
        "days_since_left": since("left_owner_at"),
    }
    actor = requests[admin_col].astype(str).to_numpy() if admin_col else rid
    return cid, rid, k, pool, known_rep, actor, state


def _detail(reason, rules: ClaimRules, held, claimed, days_in_pool, days_since_left, today):
    """The refusal in words, and when an embargo or a cooldown ends."""
    if reason == "embargo":
        until = today + pd.Timedelta(days=int(rules.embargo_days - days_in_pool))
        return f"entered the pool {int(days_in_pool)} days ago; embargo {rules.embargo_days} days, claimable from {until.date()}", until
    if reason == "cooldown":
        until = today + pd.Timedelta(days=int(rules.cooldown_days + 1 - days_since_left))
        return (f"left this rep {int(days_since_left)} days ago; cooldown {rules.cooldown_days} days, "
                f"claimable by them from {until.date()}"), until
    if reason == "holding_cap":
        return f"the rep holds {held} customers; holding cap {rules.holding_cap}", pd.NaT
    if reason == "daily_cap":
        return f"the rep claimed {claimed} today; daily cap {rules.daily_claim_cap}", pd.NaT
    words = {"unknown_customer": "no such customer_id", "unknown_rep": "no such rep_id",
             "not_in_pool": "the customer has an owner (or was taken by an earlier request)",
             "not_admin": "the actor is not an admin of the customer's pool",
             "not_member": "the rep's team is outside the pool's member scope",
             "batch": "refused with its request: another customer of it was refused (all-or-nothing pool)"}
    return words.get(reason), pd.NaT


def _take(customers, reps, pools, requests, today, claimed_today, *, admin_col: str | None,
          audit_in: pd.DataFrame | None = None):
    pools = _check_pools(pools)
    today = _day(today)
    need = ["customer_id", "rep_id"] + ([admin_col] if admin_col else [])
    missing = [c for c in need if c not in requests.columns]
    if missing:
        raise KeyError(f"requests table: column(s) {missing} are missing; columns are {list(requests.columns)}")
    out = customers.copy()
    cid, rid, k, pool, known_rep, actor, st = _request_state(customers, reps, pools, requests, today, admin_col)
    n = len(cid)
    claimed = {**_claims_on(audit_in, today), **{str(r): int(v) for r, v in (claimed_today or {}).items()}}
    closed = CustomerColumns.of(customers).flag("deal_closed") if "deal_closed" in customers else np.zeros(len(customers), bool)
    own = customers["owner_id"].astype("object").where(customers["owner_id"].notna(), None).to_numpy()
    held_all = pd.Series(own).dropna().astype(str).value_counts().to_dict()
    held_open = pd.Series(own[~closed]).dropna().astype(str).value_counts().to_dict()
    reason = np.full(n, None, dtype=object)
    reason[k < 0] = "unknown_customer"
    reason[(k >= 0) & ~known_rep] = "unknown_rep"
    if admin_col:
        reason[pd.isna(reason) & ~st["in_pool"]] = "not_in_pool"
        is_admin = np.array([j >= 0 and a in pools[j].admins for j, a in zip(pool, actor)], dtype=bool)
        reason[pd.isna(reason) & ~is_admin] = "not_admin"
    rules_of = [pools[j].claim if j >= 0 else ClaimRules() for j in pool]
    aon = np.array([r.batch == "all_or_nothing" for r in rules_of]) & (admin_col is None)
    # batches, processed in the order of their first request: an all-or-nothing pool's requests by
    # one rep (or one batch_id) form one batch; otherwise each request stands alone, and runs of
    # them by one rep in one pool are decided together (the same answer, vectorised)
    bkey = np.array([f"b:{b}" for b in requests["batch_id"].astype(str)] if "batch_id" in requests
                    else [f"r:{r}" for r in rid], dtype=object)
    # a batch with a request to an all-or-nothing pool is all-or-nothing as a whole (a customer of
    # it that is in no pool, or unknown, refuses it too)
    aon = pd.Series(aon).groupby(bkey).transform("any").to_numpy(dtype=bool) if n else aon
    dup_free = pd.Series(cid[k >= 0]).is_unique
    one_pool_per_rep = pd.DataFrame({"r": rid, "p": pool}).groupby("r")["p"].nunique().max() <= 1 if n else True
    if not (dup_free and one_pool_per_rep):
        bkey = np.where(aon, bkey, np.array([f"i:{i}" for i in range(n)], dtype=object))
    else:
        bkey = np.where(aon, bkey, np.array([f"s:{r}:{p}" for r, p in zip(rid, pool)], dtype=object))
    taken = np.zeros(len(customers), dtype=bool)
    detail = np.full(n, None, dtype=object)
    available = np.full(n, pd.NaT, dtype=object)
    granted = np.zeros(n, dtype=bool)
    for key in pd.unique(bkey):
        batch_rows = np.flatnonzero(bkey == key)
        for j in pd.unique(pool[batch_rows]):
            grp = batch_rows[pool[batch_rows] == j]
            rules = rules_of[grp[0]]
            r = rid[grp[0]]
            kk = np.maximum(k[grp], 0)
            first = ~pd.Series(kk).duplicated().to_numpy()
            cand = {name: v[grp] for name, v in st.items()}
            pre = ~pd.isna(reason[grp])       # refused before the pool's rules are asked
            cand["in_pool"] = cand["in_pool"] & ~taken[kk] & first & ~pre
            held = (held_all if rules.cap_counts_closed else held_open).get(r, 0)
            ans = rules.grant(cand, held=held, claimed_today=claimed.get(r, 0),
                              admin=admin_col is not None, batch="per_customer").to_numpy().copy()
            ans[pre] = reason[grp][pre]
            reason[grp] = ans
            ok = pd.isna(ans)
            g = grp[ok]
            granted[g] = True
            taken[k[g]] = True
            before = np.cumsum(ok) - ok      # granted earlier in this group
            for m in np.flatnonzero(~ok):
                i = grp[m]
                detail[i], available[i] = _detail(reason[i], rules, held + before[m],
                                                  claimed.get(r, 0) + before[m],
                                                  st["days_in_pool"][i], st["days_since_left"][i], today)
            if admin_col is None:
                claimed[r] = claimed.get(r, 0) + g.size
            held_all[r] = held_all.get(r, 0) + g.size
            held_open[r] = held_open.get(r, 0) + int((~closed[k[g]]).sum())
        if aon[batch_rows[0]] and not pd.isna(reason[batch_rows]).all():     # one refusal refuses the whole batch
            back = batch_rows[granted[batch_rows]]
            for i in back:     # undo what this batch was granted
                claimed[rid[i]] -= 1
                held_all[rid[i]] -= 1
                held_open[rid[i]] -= int(not closed[k[i]])
            granted[back], taken[k[back]] = False, False
            reason[back] = "batch"
            reason[batch_rows[pd.isna(reason[batch_rows])]] = "batch"
            detail[back] = _detail("batch", ClaimRules(), 0, 0, 0, 0, today)[0]
    rows = k[granted]
    _apply(out, rows, ON_CLAIM, {"today": today, "rep": rid[granted]})
    results = pd.DataFrame({"customer_id": cid, "rep_id": rid, "ok": granted,
                            "reason": pd.Series(reason, dtype="object"),
                            "detail": pd.Series(detail, dtype="object"),
                            "available_from": pd.to_datetime(pd.Series(available, dtype="object"))})
    new = _audit([{"t": today, "customer_id": c, "action": "assign" if admin_col else "claim",
                   "from_owner": None, "to_owner": r, "actor": a, "reason": None}
                  for c, r, a in zip(cid[granted], rid[granted], actor[granted])])
    audit = new if audit_in is None or not len(audit_in) else pd.concat([audit_in, new], ignore_index=True)
    return ClaimOutcome(out, results, audit, claimed)


def claim(customers: pd.DataFrame, reps: pd.DataFrame, pools, requests: pd.DataFrame, today,
          claimed_today: dict[str, int] | None = None, *, audit: pd.DataFrame | None = None) -> ClaimOutcome:
    """Process claim requests (``customer_id``, ``rep_id``, optional ``batch_id``) in order.

    Each customer's pool's :class:`ClaimRules` decide (:meth:`ClaimRules.grant`). In a
    ``per_customer`` pool every request is granted or refused on its own, in order; in an
    ``all_or_nothing`` pool the requests of one rep in this call (or of one ``batch_id``) are one
    batch, granted or refused as a whole. A successful claim sets the owner, ``received_at =
    today`` and clears ``pool_id`` and ``entered_pool_at`` (:data:`ON_CLAIM`).

    Claims per rep per calendar day are counted from ``audit`` (the audit log of earlier calls,
    as this function returns it) or from ``claimed_today`` (claims per rep today before this call).

    Returns
    -------
    ClaimOutcome
        ``(customers, results, audit, claimed_today)``; ``results`` has ``ok``, ``reason`` (one of
        :data:`REFUSALS`), ``detail`` and ``available_from`` per request.

    Examples
    --------
    >>> import pandas as pd
    >>> c = pd.DataFrame({"customer_id": ["c1", "c2"], "owner_id": [None, None],
    ...                   "pool_id": ["main", "main"]})
    >>> reps = pd.DataFrame({"rep_id": ["r1"], "team": ["t1"]})
    >>> pools = [Pool(pool_id="main", claim=ClaimRules(daily_claim_cap=1))]
    >>> req = pd.DataFrame({"customer_id": ["c1"], "rep_id": ["r1"]})
    >>> first = claim(c, reps, pools, req, "2025-03-03")
    >>> again = claim(first.customers, reps, pools, req.assign(customer_id="c2"), "2025-03-03",
    ...               audit=first.audit)
    >>> again.results["reason"].tolist(), again.claimed_today
    (['daily_cap'], {'r1': 1})
    """
    return _take(customers, reps, pools, requests, today, claimed_today, admin_col=None, audit_in=audit)


def assign(customers: pd.DataFrame, reps: pd.DataFrame, pools, requests: pd.DataFrame, today):
    """Pool admins assign customers directly (``customer_id``, ``rep_id``, ``admin_id``), skipping
    the embargo, the cooldown and the caps; refused with ``not_admin`` unless ``admin_id`` is an
    admin of the customer's pool. Returns ``(customers_after, results, audit)``.

    Examples
    --------
    >>> import pandas as pd
    >>> c = pd.DataFrame({"customer_id": ["c1", "c2"], "owner_id": [None, None], "pool_id": ["main", "main"]})
    >>> reps = pd.DataFrame({"rep_id": ["r1", "boss"], "team": ["t1", "t1"]})
    >>> req = pd.DataFrame({"customer_id": ["c1", "c2"], "rep_id": ["r1", "r1"], "admin_id": ["boss", "r1"]})
    >>> after, results, audit = assign(c, reps, [Pool(pool_id="main", admins=["boss"])], req, "2025-03-03")
    >>> results[["ok", "reason"]].values.tolist(), after["owner_id"].tolist()
    ([[True, None], [False, 'not_admin']], ['r1', None])
    """
    out, res, audit, _ = _take(customers, reps, pools, requests, today, None, admin_col="admin_id")
    return out, res, audit
