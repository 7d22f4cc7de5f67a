"""Quotes (FEATURES CPQ): versions with a diff, approval routing by discount and amount, an audit
trail, expiry. Money in minor units.

The approval rule is one function, :func:`required_level`, used by :class:`Quote` and by the
discount simulation (:mod:`crmsim.sim.promo`): the approver needed is the *lowest* level of the
:class:`ApprovalPolicy` whose authority covers both the quote's discount and its amount; beyond
every level the quote cannot be approved. The discount is the largest line discount
(``basis="max_line"``, the strict default) or the discount of the whole quote (``"quote"``).

Examples
--------
>>> pol = ApprovalPolicy(levels=(ApprovalLevel(name="rep", max_discount=0.10),
...                              ApprovalLevel(name="manager", max_discount=0.20, max_amount=5_000_000),
...                              ApprovalLevel(name="director", max_discount=0.35)))
>>> required_level(0.10, 100_000, pol), required_level(0.15, 100_000, pol), required_level(0.15, 9_000_000, pol)
('rep', 'manager', 'director')
>>> required_level(0.5, 1, pol) is None
True
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from crmsim.config import Config

__all__ = ["ApprovalLevel", "ApprovalPolicy", "required_level", "required_level_index", "counter_offer", "Quote",
           "QuoteVersion"]


class ApprovalLevel(Config):
    """One level of authority: who (``name``) may approve a discount up to ``max_discount`` (a
    share) on up to ``max_amount`` (minor units; none: any amount).

    Examples
    --------
    >>> pol = ApprovalPolicy(levels=[ApprovalLevel(name="rep", max_discount=0.1),
    ...                              ApprovalLevel(name="manager", max_discount=0.25, max_amount=1_000_000)])
    >>> required_level(0.2, 500_000, pol), required_level(0.2, 2_000_000, pol)
    ('manager', None)
    """

    name: str
    max_discount: float = Field(ge=0, le=1)
    max_amount: int | None = Field(default=None, ge=0)    # None: any amount


class ApprovalPolicy(Config):
    """Levels from the least to the most authority (``rep`` first).

    Examples
    --------
    >>> pol = ApprovalPolicy(levels=[{"name": "rep", "max_discount": 0.1}, {"name": "boss", "max_discount": 0.3}])
    >>> pol.rank("boss"), required_level(0.05, 1, pol)
    (1, 'rep')
    """

    levels: tuple[ApprovalLevel, ...]
    basis: Literal["max_line", "quote"] = "max_line"

    @model_validator(mode="after")
    def _check(self) -> ApprovalPolicy:
        names = [lv.name for lv in self.levels]
        if not names or len(set(names)) != len(names):
            raise ValueError(f"approval levels need distinct names, got {names}")
        d = [lv.max_discount for lv in self.levels]
        if d != sorted(d):
            raise ValueError(f"approval levels must not lose authority going up: max_discount {d}")
        return self

    def rank(self, name: str) -> int:
        for k, lv in enumerate(self.levels):
            if lv.name == name:
                return k
        raise KeyError(f"unknown approver level '{name}'; levels are {[lv.name for lv in self.levels]}")


def required_level_index(discount, amount, policy: ApprovalPolicy) -> np.ndarray:
    """Vectorised :func:`required_level`: the index of the level needed, -1 beyond every level.

    Examples
    --------
    >>> pol = ApprovalPolicy(levels=[{"name": "rep", "max_discount": 0.1}, {"name": "boss", "max_discount": 0.3}])
    >>> required_level_index([0.05, 0.2, 0.5], [1_000, 1_000, 1_000], pol).tolist()
    [0, 1, -1]
    """
    d = np.atleast_1d(np.asarray(discount, dtype=float))
    a = np.atleast_1d(np.asarray(amount, dtype=float))
    out = np.full(np.broadcast(d, a).shape, -1, dtype=np.int64)
    for k in range(len(policy.levels) - 1, -1, -1):   # the lowest covering level wins
        lv = policy.levels[k]
        ok = (d <= lv.max_discount + 1e-12) & (a <= (np.inf if lv.max_amount is None else lv.max_amount))
        out[ok] = k
    return out


def counter_offer(discount: float, amount: float, policy: ApprovalPolicy) -> tuple[int, float, bool]:
    """The negotiation rule: ``(level index, discount offered, countered)``. A discount some level
    may grant is offered as asked, at the lowest such level; beyond every level the rep counters
    with the top level's maximum discount (the top level's authority).

    >>> pol = ApprovalPolicy(levels=[{"name": "rep", "max_discount": 0.1}, {"name": "boss", "max_discount": 0.25}])
    >>> counter_offer(0.05, 1000, pol), counter_offer(0.2, 1000, pol), counter_offer(0.4, 1000, pol)
    ((0, 0.05, False), (1, 0.2, False), (1, 0.25, True))
    """
    k = int(required_level_index(discount, amount, policy)[0])
    if k >= 0:
        return k, float(discount), False
    return len(policy.levels) - 1, float(policy.levels[-1].max_discount), True


def required_level(discount: float, amount: float, policy: ApprovalPolicy) -> str | None:
    """The lowest level whose authority covers ``discount`` and ``amount`` (None: nobody may).

    Examples
    --------
    >>> pol = ApprovalPolicy(levels=[{"name": "rep", "max_discount": 0.1}, {"name": "boss", "max_discount": 0.3}])
    >>> required_level(0.1, 1_000, pol), required_level(0.11, 1_000, pol), required_level(0.4, 1_000, pol)
    ('rep', 'boss', None)
    """
    k = int(required_level_index(discount, amount, policy)[0])
    return policy.levels[k].name if k >= 0 else None


@dataclass
class QuoteVersion:
    """One version of a quote: its lines, when it was made and until when it is valid.

    Examples
    --------
    >>> import pandas as pd
    >>> q = Quote("Q1", "c1", ApprovalPolicy(levels=[{"name": "rep", "max_discount": 0.1}]), validity_days=14)
    >>> v = q.revise(pd.DataFrame({"product_id": ["p1"], "qty": [2], "list_price": [10_000], "unit_price": [9_500]}),
    ...              "2025-03-03", by="rep1")
    >>> v.version, str(v.valid_until.date()), v.total, round(v.discount("quote"), 4)
    (1, '2025-03-17', 19000, 0.05)
    """

    version: int
    lines: pd.DataFrame          # product_id, qty, list_price, unit_price (minor units per unit)
    created_at: pd.Timestamp
    valid_until: pd.Timestamp
    note: str = ""

    @property
    def list_total(self) -> int:
        return int((self.lines["qty"] * self.lines["list_price"]).sum())

    @property
    def total(self) -> int:
        return int((self.lines["qty"] * self.lines["unit_price"]).sum())

    def discount(self, basis: str) -> float:
        if basis == "quote":
            return 1 - self.total / self.list_total if self.list_total else 0.0
        lp = self.lines["list_price"].to_numpy(dtype=float)
        up = self.lines["unit_price"].to_numpy(dtype=float)
        return float(np.max(np.where(lp > 0, 1 - up / np.where(lp > 0, lp, 1), 0.0))) if len(lp) else 0.0


@dataclass
class Quote:
    """A quote and its history. Every action is appended to ``audit`` (``t, by, action, version,
    detail``); a refused action is audited too and raises with the reason.

    Status: ``draft`` -> ``pending`` (submitted above the rep's authority) -> ``approved`` /
    ``rejected``; ``accepted`` by the customer while valid; ``expired`` after ``valid_until``.
    A revision starts a new version as a draft (earlier approvals do not carry over).

    Examples
    --------
    >>> import pandas as pd
    >>> pol = ApprovalPolicy(levels=[{"name": "rep", "max_discount": 0.1}, {"name": "manager", "max_discount": 0.3}])
    >>> q = Quote("Q1", "c1", pol)
    >>> lines = pd.DataFrame({"product_id": ["p1"], "qty": [10], "list_price": [10_000], "unit_price": [8_500]})
    >>> _ = q.revise(lines, "2025-03-03", by="rep1")
    >>> q.submit("2025-03-03", by="rep1"), q.needed
    ('pending', 'manager')
    >>> q.approve("2025-03-04", by="mgr", level="manager")
    >>> q.accept("2025-03-10", by="c1")
    >>> q.status, q.audit_frame()["action"].tolist()
    ('accepted', ['created', 'submitted', 'approved', 'accepted'])
    """

    quote_id: str
    customer_id: str
    policy: ApprovalPolicy
    validity_days: int = 30
    versions: list[QuoteVersion] = field(default_factory=list)
    audit: list[dict] = field(default_factory=list)
    status: str = "draft"
    needed: str | None = None

    _COLS = ("product_id", "qty", "list_price", "unit_price")

    def _log(self, t, by: str, action: str, detail: str = "") -> None:
        self.audit.append({"t": pd.Timestamp(t), "by": by, "action": action,
                           "version": self.current.version if self.versions else 0, "detail": detail})

    def _refuse(self, t, by: str, action: str, reason: str):
        self._log(t, by, f"{action} refused", reason)
        raise ValueError(f"quote {self.quote_id}: {action} refused: {reason}")

    @property
    def current(self) -> QuoteVersion:
        return self.versions[-1]

    def revise(self, lines: pd.DataFrame, t, by: str, note: str = "") -> QuoteVersion:
        """A new version (the first one creates the quote)."""
        miss = [c for c in self._COLS if c not in lines.columns]
        if miss:
            raise KeyError(f"quote {self.quote_id}: lines miss columns {miss}; expected {list(self._COLS)}")
        if lines["product_id"].duplicated().any():
            raise ValueError(f"quote {self.quote_id}: a product appears on two lines: "
                             f"{lines.loc[lines['product_id'].duplicated(), 'product_id'].tolist()}")
        if self.status in ("accepted",):
            self._refuse(t, by, "revise", "the customer accepted this quote")
        t = pd.Timestamp(t)
        v = QuoteVersion(len(self.versions) + 1, lines[list(self._COLS)].reset_index(drop=True), t,
                         t + pd.Timedelta(days=self.validity_days), note)
        self.versions.append(v)
        self.status, self.needed = "draft", None
        self._log(t, by, "created" if v.version == 1 else "revised",
                  f"total {v.total}, discount {v.discount(self.policy.basis):.1%}" + (f"; {note}" if note else ""))
        return v

    def diff(self, a: int, b: int) -> pd.DataFrame:
        """What changed from version ``a`` to ``b``: one row per product added, removed or changed
        (quantity or price), with the change of the line amount."""
        va, vb = self.versions[a - 1], self.versions[b - 1]
        m = va.lines.merge(vb.lines, on="product_id", how="outer", suffixes=(f"_v{a}", f"_v{b}"), indicator=True)
        for c in ("qty", "unit_price"):   # a missing side stays missing, the others stay whole numbers
            for v in (a, b):
                m[f"{c}_v{v}"] = m[f"{c}_v{v}"].astype("Int64") if (m[f"{c}_v{v}"].dropna() % 1 == 0).all() else m[f"{c}_v{v}"]
        m["change"] = np.select([m["_merge"] == "left_only", m["_merge"] == "right_only"], ["removed", "added"], "changed")
        amt_a = (m[f"qty_v{a}"] * m[f"unit_price_v{a}"]).fillna(0)
        amt_b = (m[f"qty_v{b}"] * m[f"unit_price_v{b}"]).fillna(0)
        m["amount_change"] = (amt_b - amt_a).astype(np.int64)
        same = (m["change"] == "changed") & (m[f"qty_v{a}"] == m[f"qty_v{b}"]) & (m[f"unit_price_v{a}"] == m[f"unit_price_v{b}"])
        cols = ["product_id", "change", f"qty_v{a}", f"qty_v{b}", f"unit_price_v{a}", f"unit_price_v{b}", "amount_change"]
        return m.loc[~same, cols].reset_index(drop=True)

    def state(self, t) -> str:
        """The status at ``t`` (a quote not accepted by ``valid_until`` has expired)."""
        if self.status not in ("accepted", "rejected") and pd.Timestamp(t) > self.current.valid_until:
            return "expired"
        return self.status

    def submit(self, t, by: str) -> str:
        """Route the current version: approved at once within the rep's own authority (the first
        level), else pending for the level needed; refused beyond every level."""
        if self.state(t) == "expired":
            self._refuse(t, by, "submit", f"version {self.current.version} expired on {self.current.valid_until.date()}")
        v = self.current
        d = v.discount(self.policy.basis)
        need = required_level(d, v.total, self.policy)
        if need is None:
            self._refuse(t, by, "submit", f"discount {d:.1%} on {v.total} is beyond every approval level")
        self.needed = need
        if self.policy.rank(need) == 0:
            self.status = "approved"
            self._log(t, by, "approved", f"within {need} authority (discount {d:.1%})")
        else:
            self.status = "pending"
            self._log(t, by, "submitted", f"needs {need} approval (discount {d:.1%}, total {v.total})")
        return self.status

    def approve(self, t, by: str, level: str) -> None:
        if self.status != "pending":
            self._refuse(t, by, "approve", f"status is {self.state(t)}, not pending")
        if self.state(t) == "expired":
            self._refuse(t, by, "approve", "the quote expired")
        if self.policy.rank(level) < self.policy.rank(self.needed):
            self._refuse(t, by, "approve", f"{level} may not approve; needs {self.needed} or above")
        self.status = "approved"
        self._log(t, by, "approved", f"as {level}")

    def reject(self, t, by: str, reason: str) -> None:
        if self.status != "pending":
            self._refuse(t, by, "reject", f"status is {self.state(t)}, not pending")
        self.status = "rejected"
        self._log(t, by, "rejected", reason)

    def accept(self, t, by: str) -> None:
        st = self.state(t)
        if st != "approved":
            self._refuse(t, by, "accept", f"status is {st}" + (f" (valid until {self.current.valid_until.date()})"
                                                               if st == "expired" else ", not approved"))
        self.status = "accepted"
        self._log(t, by, "accepted", f"total {self.current.total}")

    def audit_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.audit, columns=["t", "by", "action", "version", "detail"])
