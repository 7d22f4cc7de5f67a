"""Rebates (FEATURES CPQ): money or goods back per order or on the spend accumulated over a period,
by tiers, accrued into the customer's rebate account (:class:`crmsim.finance.accounts.Ledger`) and
used on later orders within the usage conditions (:class:`crmsim.finance.accounts.RebateUsage`:
a share of an order, of one line). Money in minor units.

Tiers: ``whole`` gives the rate of the highest tier reached on the whole spend (the usual "retro"
rebate); ``marginal`` gives each band of spend its own rate (like tax brackets).

Examples
--------
>>> rule = RebateRule(rebate_id="vol", basis="period", period="Q",
...                   tiers=(RebateTier(min_amount=100_000, rate=0.02), RebateTier(min_amount=500_000, rate=0.04)))
>>> tier_amount(600_000, rule.tiers, "whole"), tier_amount(600_000, rule.tiers, "marginal")
(24000, 12000)
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from crmsim.config import Config
from crmsim.cpq.scope import scope_mask
from crmsim.finance.accounts import Ledger, RebateUsage

__all__ = ["RebateTier", "RebateRule", "tier_amount", "compute_rebates", "accrue", "redeem"]


class RebateTier(Config):
    """From ``min_amount`` of spend (minor units, inclusive), the rebate ``rate`` (a share).

    Examples
    --------
    >>> tiers = [RebateTier(min_amount=100_000, rate=0.02), RebateTier(min_amount=500_000, rate=0.05)]
    >>> tier_amount([50_000, 200_000, 600_000], tiers).tolist()
    [0, 4000, 30000]
    """

    min_amount: int = Field(ge=0)      # spend from which the tier applies (inclusive)
    rate: float = Field(ge=0, le=1)


class RebateRule(Config):
    """A rebate: spend in scope (products, categories, customers, grades; empty: any) summed per
    order or per ``period`` (month, quarter, year), rated by its ``tiers`` (``whole``: the tier
    reached applies to all the spend; ``marginal``: each tier's rate to the spend within it) and
    paid in money to the rebate account, or in ``goods`` (units of ``goods_product`` worth
    ``goods_unit_value`` each).

    Examples
    --------
    >>> import pandas as pd
    >>> r = RebateRule(rebate_id="q-hw", period="Q", category=("hw",),
    ...                tiers=[{"min_amount": 100_000, "rate": 0.02}, {"min_amount": 500_000, "rate": 0.05}])
    >>> lines = pd.DataFrame({"order_id": ["o1", "o2", "o3"], "customer_id": "c1", "product_id": "p1", "category": "hw",
    ...                       "date": ["2025-01-10", "2025-02-10", "2025-04-01"], "amount": [300_000, 250_000, 120_000]})
    >>> compute_rebates(lines, [r])[["key", "spend", "rate", "amount"]].values.tolist()
    [['2025Q1', 550000, 0.05, 27500], ['2025Q2', 120000, 0.02, 2400]]
    """

    rebate_id: str
    basis: Literal["order", "period"] = "period"
    period: Literal["M", "Q", "Y"] = "Q"
    tiers: tuple[RebateTier, ...]
    tier_mode: Literal["whole", "marginal"] = "whole"
    form: Literal["money", "goods"] = "money"
    goods_product: str | None = None
    goods_unit_value: int | None = Field(default=None, gt=0)   # minor units per unit of the goods
    product_id: tuple[str, ...] = ()
    category: tuple[str, ...] = ()
    customer_id: tuple[str, ...] = ()
    customer_grade: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _check(self) -> RebateRule:
        if not self.tiers:
            raise ValueError(f"rebate {self.rebate_id}: needs at least one tier")
        lows = [t.min_amount for t in self.tiers]
        if lows != sorted(set(lows)):
            raise ValueError(f"rebate {self.rebate_id}: tiers need strictly increasing min_amount, got {lows}")
        if self.form == "goods" and (self.goods_product is None or self.goods_unit_value is None):
            raise ValueError(f"rebate {self.rebate_id}: a goods rebate needs goods_product and goods_unit_value")
        return self


def tier_amount(spend, tiers, mode: str = "whole"):
    """The rebate on ``spend`` (a number or an array) under ``tiers``, rounded to minor units.

    Examples
    --------
    >>> tiers = [RebateTier(min_amount=100_000, rate=0.02), RebateTier(min_amount=500_000, rate=0.05)]
    >>> tier_amount(600_000, tiers), tier_amount(600_000, tiers, mode="marginal")    # 5% of all, or 2% of 400k + 5% of 100k
    (30000, 13000)
    """
    s = np.asarray(spend, dtype=float)
    lows = np.array([t.min_amount for t in tiers], dtype=float)
    rates = np.array([t.rate for t in tiers])
    if mode == "whole":
        k = np.searchsorted(lows, s, side="right") - 1
        out = np.where(k >= 0, s * rates[np.maximum(k, 0)], 0.0)
    else:
        highs = np.r_[lows[1:], np.inf]
        band = np.clip(s[..., None] - lows, 0, highs - lows)
        out = (band * rates).sum(axis=-1)
    out = np.floor(out + 0.5).astype(np.int64)
    return int(out) if out.ndim == 0 else out


def compute_rebates(lines: pd.DataFrame, rules) -> pd.DataFrame:
    """Rebates earned on order lines (``order_id, customer_id, date, product_id, amount`` + scope
    fields), one row per customer and order (``basis="order"``) or period: ``customer_id,
    rebate_id, key`` (order id or period), ``spend, rate, amount`` (money value), ``form``,
    ``goods_product, goods_qty``. Spend below every tier earns nothing and has no row.

    Examples
    --------
    >>> import pandas as pd
    >>> r = RebateRule(rebate_id="per-order", basis="order", tiers=[{"min_amount": 100_000, "rate": 0.03}])
    >>> lines = pd.DataFrame({"order_id": ["o1", "o2"], "customer_id": "c1", "product_id": "p1",
    ...                       "date": ["2025-01-10", "2025-01-11"], "amount": [150_000, 50_000]})
    >>> compute_rebates(lines, [r])[["key", "spend", "amount"]].values.tolist()     # o2 is below every tier
    [['o1', 150000, 4500]]
    """
    need = [c for c in ("order_id", "customer_id", "date", "product_id", "amount") if c not in lines.columns]
    if need:
        raise KeyError(f"order lines: missing columns {need}")
    out = []
    for r in rules:
        ok = scope_mask(r, lines, ("product_id", "category", "customer_id", "customer_grade"), len(lines),
                        missing="raise", what=f"rebate {r.rebate_id}")
        L = lines[ok]
        if L.empty:
            continue
        key = L["order_id"].astype(str) if r.basis == "order" else pd.to_datetime(L["date"]).dt.to_period(r.period).astype(str)
        g = L.groupby([L["customer_id"], key.rename("key")])["amount"].sum().reset_index(name="spend")
        g["amount"] = tier_amount(g["spend"].to_numpy(), r.tiers, r.tier_mode)
        g = g[g["amount"] > 0].copy()
        g["rate"] = g["amount"] / g["spend"]
        g["rebate_id"] = r.rebate_id
        g["form"] = r.form
        g["goods_product"] = r.goods_product
        g["goods_qty"] = (g["amount"] // r.goods_unit_value).astype("int64") if r.form == "goods" else 0
        out.append(g)
    cols = ["customer_id", "rebate_id", "key", "spend", "rate", "amount", "form", "goods_product", "goods_qty"]
    return pd.concat(out, ignore_index=True)[cols] if out else pd.DataFrame(columns=cols)


def accrue(rebates: pd.DataFrame, ledger: Ledger, t) -> pd.DataFrame:
    """Post money rebates to each customer's rebate account; return the goods entitlements
    (goods are not money and stay a table: customer, product, units, value).

    Examples
    --------
    >>> import pandas as pd
    >>> reb = compute_rebates(pd.DataFrame({"order_id": ["o1"], "customer_id": "c1", "product_id": "p1",
    ...                                     "date": ["2025-01-10"], "amount": [150_000]}),
    ...                       [RebateRule(rebate_id="r", basis="order", tiers=[{"min_amount": 0, "rate": 0.02}])])
    >>> led = Ledger()
    >>> goods = accrue(reb, led, "2025-01-31")
    >>> led.balance("c1", "rebate"), len(goods)
    (3000, 0)
    """
    for r in rebates[rebates["form"] == "money"].itertuples(index=False):
        res = ledger.post(t, r.customer_id, "rebate", int(r.amount), f"{r.rebate_id}:{r.key}", "rebate accrued")
        if not res["ok"]:  # cannot happen for a credit to the account, but never lose it silently
            raise RuntimeError(f"rebate {r.rebate_id} for {r.customer_id}: {res['reason']}")
    g = rebates[rebates["form"] == "goods"]
    return g[["customer_id", "rebate_id", "key", "goods_product", "goods_qty", "amount"]].reset_index(drop=True)


def redeem(ledger: Ledger, customer_id: str, line_amounts: list[int], usage: RebateUsage, t, ref: str) -> int:
    """Pay part of an order from the rebate balance, within ``usage``; returns the amount used
    (posted to the ledger as a debit of the rebate account).

    Examples
    --------
    >>> led = Ledger()
    >>> _ = led.post("2025-01-31", "c1", "rebate", 5_000, "q1-rebate")
    >>> redeem(led, "c1", [10_000, 2_000], RebateUsage(max_order_share=0.3), "2025-02-01", "o9"), led.balance("c1", "rebate")
    (3600, 1400)
    """
    use = usage.usable(ledger.balance(customer_id, "rebate"), [int(x) for x in line_amounts])
    if use:
        ledger.post(t, customer_id, "rebate", -use, ref, "rebate used on order")
    return use
