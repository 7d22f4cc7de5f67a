"""Pricing (FEATURES CPQ): catalogue units, price books as rules, a documented deterministic
precedence, stacking, floors and ceilings, saleable scope; a whole table of order lines priced at
once with an explanation column. Money in integer cents.

Precedence among the rules that match a line (their conditions all hold, the date is in their
validity window, the quantity in base units is in their tier):

1. the more specific rule first (more conditions set; a product condition counts double over a
   category condition);
2. then the higher ``priority`` (the price book's priority among books);
3. then the tie policy: ``lowest_price`` (the customer-friendly default) or ``first_listed``.

The winning ``price`` rule sets the unit price (else the catalogue's base price); ``discount``
rules then apply according to ``stacking``: ``best`` (only the most precedent discount),
``additive`` (discount shares add up) or ``compounding`` (each applies to the result of the
previous). Floors and ceilings clip the result. A line whose customer may not buy the product
(saleable scope) is not priced and says so.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from crmsim.config import Config

__all__ = ["PriceRule", "PricingPolicy", "to_base_units", "price_lines", "CONDITION_FIELDS"]

#: Line fields a rule may condition on.
CONDITION_FIELDS = ("customer_id", "customer_grade", "dealer", "partner", "region", "channel",
                    "product_id", "category", "form")


class PriceRule(Config):
    """One rule of a price book. Unset conditions match everything."""

    rule_id: str
    book: str = "standard"
    priority: int = 0
    kind: Literal["price", "discount"] = "price"
    value: float                              # a unit price in cents, or a discount share (0..1)
    customer_id: tuple[str, ...] = ()
    customer_grade: tuple[str, ...] = ()
    dealer: tuple[str, ...] = ()
    partner: tuple[str, ...] = ()
    region: tuple[str, ...] = ()
    channel: tuple[str, ...] = ()
    product_id: tuple[str, ...] = ()
    category: tuple[str, ...] = ()
    form: tuple[str, ...] = ()
    min_qty: float = Field(default=0, ge=0)   # base units, inclusive
    max_qty: float | None = None              # base units, exclusive
    valid_from: str | None = None
    valid_to: str | None = None               # inclusive
    floor: int | None = None
    ceiling: int | None = None

    @model_validator(mode="after")
    def _check(self) -> PriceRule:
        if self.kind == "discount" and not 0 <= self.value <= 1:
            raise ValueError(f"rule {self.rule_id}: a discount is a share in [0, 1], got {self.value}")
        if self.kind == "price" and self.value < 0:
            raise ValueError(f"rule {self.rule_id}: a price must be >= 0, got {self.value}")
        if self.max_qty is not None and self.max_qty <= self.min_qty:
            raise ValueError(f"rule {self.rule_id}: max_qty must be > min_qty")
        return self

    @property
    def specificity(self) -> int:
        return sum(len(getattr(self, f)) > 0 for f in CONDITION_FIELDS) + (1 if self.product_id else 0)


class PricingPolicy(Config):
    stacking: Literal["best", "additive", "compounding"] = "best"
    tie: Literal["lowest_price", "first_listed"] = "lowest_price"
    max_discount: float = Field(default=1.0, ge=0, le=1)


def to_base_units(lines: pd.DataFrame, units: pd.DataFrame) -> pd.Series:
    """Quantities in each product's base unit: ``units`` has ``product_id, unit, factor`` (base
    units per unit; the base unit has factor 1). Unknown units raise, naming the rows."""
    f = lines.merge(units, on=["product_id", "unit"], how="left")["factor"].to_numpy()
    bad = np.isnan(f)
    if bad.any():
        rows = lines.index[bad].tolist()[:10]
        raise KeyError(f"order lines {rows}: unit not defined for the product (pairs "
                       f"{lines.loc[bad, ['product_id', 'unit']].drop_duplicates().values.tolist()[:5]})")
    return pd.Series(lines["qty"].to_numpy() * f, index=lines.index, name="base_qty")


def _rules_frame(rules) -> pd.DataFrame:
    rows = []
    for k, r in enumerate(rules):
        d = r.model_dump()
        d["order"] = k
        d["specificity"] = r.specificity
        rows.append(d)
    return pd.DataFrame(rows)


def _match(lines: pd.DataFrame, R: pd.DataFrame) -> pd.DataFrame:
    """Candidate (line, rule) pairs whose conditions, window and tier hold. Rules are joined by
    product, by category, or globally, so a line is compared only with rules that could apply."""
    L = lines.reset_index(drop=True)
    L["line"] = np.arange(len(L))
    parts = []
    by_prod = R[R["product_id"].map(len) > 0].explode("product_id")
    if len(by_prod):
        parts.append(L[["line", "product_id"]].merge(by_prod[["rule_idx", "product_id"]], on="product_id")[["line", "rule_idx"]])
    by_cat = R[(R["product_id"].map(len) == 0) & (R["category"].map(len) > 0)].explode("category")
    if len(by_cat):
        parts.append(L[["line", "category"]].merge(by_cat[["rule_idx", "category"]], on="category")[["line", "rule_idx"]])
    glob = R[(R["product_id"].map(len) == 0) & (R["category"].map(len) == 0)]
    if len(glob):
        parts.append(pd.DataFrame({"line": np.repeat(L["line"].to_numpy(), len(glob)),
                                   "rule_idx": np.tile(glob["rule_idx"].to_numpy(), len(L))}))
    if not parts:
        return pd.DataFrame({"line": [], "rule_idx": []}, dtype=np.int64)
    c = pd.concat(parts, ignore_index=True)
    li, ri = c["line"].to_numpy(), c["rule_idx"].to_numpy()
    ok = np.ones(len(c), dtype=bool)
    for f in CONDITION_FIELDS:
        if f in ("product_id", "category") or f not in L.columns:
            need = R[f].map(len).to_numpy()[ri] > 0
            if f not in L.columns:
                ok &= ~need  # a rule on a field the lines do not have never matches
            continue
        need = (R[f].map(len).to_numpy() > 0)[ri]
        if need.any():  # (rule, value) pairs of this field, matched by a join, not a Python loop
            allowed = R.loc[R[f].map(len) > 0, ["rule_idx", f]].explode(f)
            idx = np.flatnonzero(need)
            probe = pd.DataFrame({"k": idx, "rule_idx": ri[idx], f: L[f].to_numpy()[li[idx]]})
            hit = probe.merge(allowed, on=["rule_idx", f], how="inner")["k"].to_numpy()
            good = np.zeros(len(c), dtype=bool)
            good[hit] = True
            ok &= ~need | good
    q = L["base_qty"].to_numpy()[li]
    ok &= q >= R["min_qty"].to_numpy()[ri]
    mx = R["max_qty"].to_numpy(dtype=float)[ri]
    ok &= np.isnan(mx) | (q < mx)
    if "date" in L.columns:
        d = pd.to_datetime(L["date"]).to_numpy()[li]
        vf = pd.to_datetime(R["valid_from"]).to_numpy()[ri]
        vt = pd.to_datetime(R["valid_to"]).to_numpy()[ri]
        ok &= (np.isnat(vf) | (d >= vf)) & (np.isnat(vt) | (d <= vt))
    return c[ok].reset_index(drop=True)


def price_lines(lines: pd.DataFrame, catalog: pd.DataFrame, rules, *, policy: PricingPolicy | None = None,
                units: pd.DataFrame | None = None, saleable=None) -> pd.DataFrame:
    """Price every order line. ``lines``: ``product_id, qty`` (+ ``unit``, ``date`` and any of
    :data:`CONDITION_FIELDS`); ``catalog``: ``product_id, category, form, base_price`` (cents).
    ``saleable``: a function (lines with catalog columns) -> boolean Series of lines allowed.

    Returns the lines with ``base_qty``, ``unit_price`` (cents per base unit), ``amount``
    (cents), ``price_rule``, ``discounts`` and ``explanation``; unpriceable lines have a missing
    price and the reason in ``explanation``.
    """
    policy = policy or PricingPolicy()
    cat = catalog.set_index("product_id")
    unknown = sorted(set(lines["product_id"]) - set(cat.index))
    if unknown:
        raise KeyError(f"order lines name products not in the catalogue: {unknown[:10]}")
    L = lines.copy()
    for col in ("category", "form", "base_price"):
        L[col] = L["product_id"].map(cat[col])
    L["base_qty"] = to_base_units(L, units) if (units is not None and "unit" in L.columns) else L["qty"].astype(float)
    rules = list(rules)
    R = _rules_frame(rules)
    R["rule_idx"] = np.arange(len(R))
    n = len(L)
    price = L["base_price"].to_numpy(dtype=float).copy()
    rule_of = np.full(n, None, dtype=object)
    explain = ("base price " + pd.Series(price.astype(np.int64).astype(str))).to_numpy(dtype=object)
    if len(R):
        m = _match(L, R)
        li, ri = m["line"].to_numpy(), m["rule_idx"].to_numpy()
        spec, prio, kind = R["specificity"].to_numpy()[ri], R["priority"].to_numpy()[ri], R["kind"].to_numpy()[ri]
        val, order = R["value"].to_numpy()[ri], R["order"].to_numpy()[ri]
        tie = val if policy.tie == "lowest_price" else order
        is_price = kind == "price"
        # price rules: best per line by (specificity desc, priority desc, tie asc)
        o = np.lexsort((tie[is_price], -prio[is_price], -spec[is_price], li[is_price]))
        pl, pr = li[is_price][o], ri[is_price][o]
        first = np.r_[True, pl[1:] != pl[:-1]] if pl.size else np.array([], dtype=bool)
        win_l, win_r = pl[first], pr[first]
        rid = R["rule_id"].to_numpy(dtype=object)
        price[win_l] = R["value"].to_numpy(dtype=float)[win_r]
        rule_of[win_l] = rid[win_r]
        explain[win_l] = ("rule " + pd.Series(rid[win_r]) + " (" + pd.Series(R["book"].to_numpy(dtype=object)[win_r])
                          + "): " + pd.Series(price[win_l].astype(np.int64).astype(str))).to_numpy()
        # discount rules: by precedence; best / additive / compounding (vectorised)
        dl, dr = li[~is_price], ri[~is_price]
        o = np.lexsort((order[~is_price], -prio[~is_price], -spec[~is_price], dl))
        dl, dr = dl[o], dr[o]
        v = R["value"].to_numpy(dtype=float)[dr]
        if policy.stacking == "best":
            keep_first = np.r_[True, dl[1:] != dl[:-1]] if dl.size else np.array([], dtype=bool)
            dl, dr, v = dl[keep_first], dr[keep_first], v[keep_first]
            total = np.zeros(n)
            total[dl] = v
        elif policy.stacking == "additive":
            total = np.zeros(n)
            np.add.at(total, dl, v)
        else:
            logkeep = np.zeros(n)
            np.add.at(logkeep, dl, np.log1p(-np.minimum(v, 1 - 1e-12)))
            total = 1 - np.exp(logkeep)
        total = np.minimum(total, policy.max_discount)
        price = price * (1 - total)
        if dl.size:
            names = pd.Series(rid[dr]).groupby(dl).agg("+".join)
            disc = np.full(n, "", dtype=object)
            disc[names.index.to_numpy()] = names.to_numpy()
            has = total > 0
            explain[has] = (pd.Series(explain[has]) + "; -" + pd.Series((total[has] * 100).round(1).astype(str))
                            + "% (" + pd.Series(disc[has]) + ", " + policy.stacking + ")").to_numpy()
        else:
            disc = np.full(n, "", dtype=object)
        # floors and ceilings of every matching rule
        fl = pd.Series(R["floor"].to_numpy(dtype=float)[ri]).groupby(li).max().dropna()
        ce = pd.Series(R["ceiling"].to_numpy(dtype=float)[ri]).groupby(li).min().dropna()
        lo_i, lo_v = fl.index.to_numpy(), fl.to_numpy()
        hit = price[lo_i] < lo_v
        price[lo_i[hit]] = lo_v[hit]
        explain[lo_i[hit]] = (pd.Series(explain[lo_i[hit]]) + "; floor " + pd.Series(lo_v[hit].astype(np.int64).astype(str))).to_numpy()
        hi_i, hi_v = ce.index.to_numpy(), ce.to_numpy()
        hit = price[hi_i] > hi_v
        price[hi_i[hit]] = hi_v[hit]
        explain[hi_i[hit]] = (pd.Series(explain[hi_i[hit]]) + "; ceiling " + pd.Series(hi_v[hit].astype(np.int64).astype(str))).to_numpy()
        disc_col = disc
    else:
        disc_col = np.full(n, "", dtype=object)
    unit_price = np.floor(price + 0.5).astype(np.int64)
    out = L.assign(unit_price=unit_price, amount=np.floor(unit_price * L["base_qty"].to_numpy() + 0.5).astype(np.int64),
                   price_rule=rule_of, discounts=disc_col, explanation=explain)
    if saleable is not None:
        ok = np.asarray(saleable(L), dtype=bool)
        out.loc[~ok, ["unit_price", "amount"]] = pd.NA
        out["unit_price"] = out["unit_price"].astype("Int64")
        out["amount"] = out["amount"].astype("Int64")
        out.loc[~ok, "explanation"] = "not saleable to this customer"
    return out
