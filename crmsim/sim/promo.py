"""Discount and promotion simulation (FEATURES CPQ): what a promotion calendar, a rebate scheme and
reps' discount authority do to revenue, volume and margin, before they go live.

Customers belong to segments. Each has purchase occasions (Poisson) and, at each one, a need in
units (1 + Poisson). What they buy depends on the price they see:

- ``elasticity`` segments buy ``need x (1 - d)^e`` units at an effective discount ``d``
  (constant elasticity; default e = -2.62, the mean of Bijmolt, van Heerde & Pieters 2005,
  REFERENCES.md: 20% off lifts volume by 79.4%);
- ``logit`` segments buy their need with probability ``1 / (1 + exp(-(a - b r)))`` at a price
  ``r`` times list (``a`` set so that the probability at list price is ``buy_prob``; own-price
  elasticity ``-b r (1 - P)``).

Promotions are :class:`crmsim.cpq.promotions.Promotion` rules applied by the
:class:`~crmsim.cpq.promotions.PromotionEngine` (budgets run out first come, first served): the
customer sees the benefit the order would get (a dry run), chooses the units, and the order is
then booked through the engine. ``stockpile`` customers forward-buy during a promotion (that share
of an occasion's need again, at the promoted price) and use the stock before buying again, which
makes the post-promotion dip. A share of orders are negotiated deals: the customer asks for a
discount; the rule :func:`crmsim.cpq.quotes.required_level_index` says who may grant it. Within
the rep's authority it is granted at once; above it the request queues for ``approvers`` (a SimPy
resource) and a review time, and the customer walks away if the wait outlasts their patience;
beyond every level the rep counters with the top level's maximum. Quarterly (every 91 days)
volume rebates follow :func:`crmsim.cpq.rebates.tier_amount`.

Every order also records its counterfactual: the same occasion and draws with no promotion and no
stock. ``incremental_units`` = units - counterfactual units (the dip after a promotion counts
against it); ``cannibalised_units``: promoted units the customer would have bought at list price;
``promo_roi`` = (gross margin - counterfactual gross margin) / promotion cost, all within the run
(common random numbers). Money in minor units.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import simpy
from pydantic import Field, model_validator

from crmsim.config import Config
from crmsim.cpq.promotions import Promotion, PromotionEngine, PromotionPolicy
from crmsim.cpq.quotes import ApprovalLevel, ApprovalPolicy, required_level_index
from crmsim.cpq.rebates import RebateTier, tier_amount
from crmsim.sim.engine import Result, World

__all__ = ["Segment", "PromoProduct", "PromoConfig", "PromoResult", "simulate_promo",
           "elasticity_units", "logit_buy_prob"]

#: Mean price elasticity, Bijmolt, van Heerde & Pieters (2005) meta-analysis (REFERENCES.md).
BIJMOLT_ELASTICITY = -2.62


def elasticity_units(need, discount, elasticity: float = BIJMOLT_ELASTICITY):
    """Expected units under constant elasticity: ``need x (1 - discount) ** elasticity``.

    >>> round(float(elasticity_units(1.0, 0.2)) - 1, 3)
    0.794
    """
    return np.asarray(need, dtype=float) * (1 - np.asarray(discount, dtype=float)) ** elasticity


def logit_buy_prob(price_ratio, buy_prob: float, b: float):
    """P(buy) at ``price_ratio`` x list price, with P = ``buy_prob`` at list price."""
    a = np.log(buy_prob / (1 - buy_prob)) + b
    return 1 / (1 + np.exp(-(a - b * np.asarray(price_ratio, dtype=float))))


class Segment(Config):
    name: str
    share: float = Field(gt=0, le=1)
    demand: str = Field(default="elasticity", pattern="^(elasticity|logit)$")
    elasticity: float = Field(default=BIJMOLT_ELASTICITY, lt=0)
    buy_prob: float = Field(default=0.6, gt=0, lt=1)     # logit: P(buy) at list price
    logit_b: float = Field(default=4.0, gt=0)            # logit: price sensitivity
    occasions_per_month: float = Field(default=2.0, gt=0)
    units_mean: float = Field(default=3.0, ge=1)
    stockpile: float = Field(default=0.0, ge=0)          # forward-bought share of an occasion's need
    deal_share: float = Field(default=0.0, ge=0, le=1)   # orders negotiated with a rep
    ask_discount: float = Field(default=0.10, gt=0, lt=1)  # mean discount asked in a deal
    patience_days: float = Field(default=5.0, gt=0)      # mean wait a deal customer accepts


class PromoProduct(Config):
    product_id: str
    category: str = "all"
    list_price: int = Field(gt=0)     # minor units
    unit_cost: int = Field(ge=0)
    weight: float = Field(default=1.0, gt=0)


def _default_approval() -> ApprovalPolicy:
    return ApprovalPolicy(levels=(ApprovalLevel(name="rep", max_discount=0.10),
                                  ApprovalLevel(name="manager", max_discount=0.20),
                                  ApprovalLevel(name="director", max_discount=0.30)))


class PromoConfig(Config):
    """Customers, products, the promotion calendar and the discount policy. Defaults other than
    the elasticity are illustrative assumptions."""

    customers: int = Field(default=1000, ge=1)
    start_date: str = "2025-01-06"
    segments: tuple[Segment, ...] = (
        Segment(name="loyal", share=0.5, elasticity=-1.5, occasions_per_month=2.0),
        Segment(name="deal_seekers", share=0.3, elasticity=-3.5, stockpile=1.0, occasions_per_month=1.5),
        Segment(name="accounts", share=0.2, demand="logit", buy_prob=0.7, logit_b=5.0, units_mean=20,
                occasions_per_month=1.0, deal_share=0.8),
    )
    products: tuple[PromoProduct, ...] = (
        PromoProduct(product_id="standard", list_price=10_000, unit_cost=6_000, weight=3),
        PromoProduct(product_id="premium", list_price=25_000, unit_cost=13_000, weight=1),
    )
    promotions: tuple[Promotion, ...] = ()
    stacking: PromotionPolicy = PromotionPolicy()
    approval: ApprovalPolicy = Field(default_factory=_default_approval)
    approvers: int = Field(default=2, ge=1)
    review_days: float = Field(default=0.5, gt=0)       # mean review time of one request
    counter_accept: float = Field(default=0.5, ge=0, le=1)
    rebate_tiers: tuple[RebateTier, ...] = ()           # quarterly volume rebate, whole-tier
    rebate_period_days: int = Field(default=91, ge=1)

    @model_validator(mode="after")
    def _check(self) -> PromoConfig:
        if abs(sum(s.share for s in self.segments) - 1) > 1e-6:
            raise ValueError(f"segment shares must sum to 1, got {sum(s.share for s in self.segments):g}")
        names = [p.product_id for p in self.products]
        if not names or len(set(names)) != len(names):
            raise ValueError(f"products need distinct ids, got {names}")
        for pr in self.promotions:
            for pid in (*pr.product_id, *pr.bundle, *([pr.free_product] if pr.free_product else [])):
                if pid not in names:
                    raise ValueError(f"promotion {pr.promo_id} names product '{pid}', not one of {names}")
            # simulated orders carry product, category and customer only, one product per order:
            # a promotion that could never apply is an error, not a silent no-op
            unused = [f for f in ("customer_grade", "region", "channel") if getattr(pr, f)]
            if unused:
                raise ValueError(f"promotion {pr.promo_id}: the simulation's orders have no {unused}; "
                                 f"scope promotions by product_id, category or customer_id")
            if len(pr.bundle) > 1:
                raise ValueError(f"promotion {pr.promo_id}: simulated orders hold one product, so a bundle of "
                                 f"{sorted(pr.bundle)} never completes; use a single-product bundle")
        return self


class PromoResult(Result):
    @property
    def orders(self) -> pd.DataFrame:
        return self.table


def simulate_promo(cfg: PromoConfig, seed, horizon_days: float, warmup_days: float = 0.0,
                   *, keep_events: bool = True) -> PromoResult:
    """Simulate one replication (see the module docstring)."""
    world = World(seed, horizon_days, warmup_days)
    env, rng, log = world.env, world.streams.rng, world.log
    n = cfg.customers
    seg = rng("customers").choice(len(cfg.segments), n, p=[s.share for s in cfg.segments])
    S = cfg.segments
    rate = np.array([s.occasions_per_month for s in S])[seg] / 30.4
    units_mean = np.array([s.units_mean for s in S])
    prods = cfg.products
    p_w = np.array([p.weight for p in prods]) / sum(p.weight for p in prods)
    price = np.array([p.list_price for p in prods], dtype=float)
    ucost = np.array([p.unit_cost for p in prods], dtype=float)
    pid = np.array([p.product_id for p in prods], dtype=object)
    pcat = np.array([p.category for p in prods], dtype=object)
    cost_of = {p.product_id: p.unit_cost for p in prods}
    eng = PromotionEngine(list(cfg.promotions), cfg.stacking, cost_of)
    cust_id = np.array([f"C{i}" for i in range(n)], dtype=object)
    seg_name = np.array([s.name for s in S], dtype=object)
    stock = np.zeros(n)
    period_spend = np.zeros(n)
    t0 = pd.Timestamp(cfg.start_date)
    approvers = simpy.Resource(env, capacity=cfg.approvers)
    orders: list[tuple] = []
    st = {"rebate": 0.0, "requests": 0, "lost_waiting": 0, "wait_sum": 0.0, "countered": 0, "counter_lost": 0}
    top = cfg.approval.levels[-1].max_discount

    def book(day, c, k, units, free, list_amt, disc, cf_units, promos, kind, level=-1, wait=np.nan, lost=False):
        net = list_amt - disc
        orders.append((day, c, k, kind, units, free, list_amt, disc, net, cf_units, promos, level, wait, lost))
        if not lost and day >= world.warmup:
            period_spend[c] += net

    def deal(day, c, k, need, ask, r):
        """A negotiated order waiting for approval (a SimPy process)."""
        counted = day >= world.warmup   # approval load is counted from the warm-up on, like orders
        st["requests"] += counted
        patience = r.exponential(S[seg[c]].patience_days)
        review = r.exponential(cfg.review_days)
        start = env.now
        with approvers.request() as req:
            res = yield req | env.timeout(patience)
            if req not in res:
                lost = True
            else:
                left = patience - (env.now - start)
                yield env.timeout(min(review, max(left, 0)))
                lost = review > left
        wait = env.now - start
        st["wait_sum"] += wait * counted
        list_amt = need * price[k]
        if lost:
            st["lost_waiting"] += counted
            log.record(env.now, "customer", c, "lost_waiting", value=wait)
            book(day, c, k, 0, 0, list_amt, 0.0, need, "", "deal", int(required_level_index(ask, list_amt, cfg.approval)[0]),
                 wait, True)
        else:
            log.record(env.now, "customer", c, "approved", value=ask)
            book(day, c, k, need, 0, list_amt, float(np.floor(ask * list_amt + 0.5)), need, "", "deal",
                 int(required_level_index(ask, list_amt, cfg.approval)[0]), wait)

    def pay_rebates(day: int) -> None:
        """The period's volume rebate per customer (whole-tier), then a new period."""
        if not cfg.rebate_tiers:
            return
        reb = tier_amount(period_spend, cfg.rebate_tiers, "whole")
        st["rebate"] += float(reb.sum())
        log.extend(np.full(int((reb > 0).sum()), float(day)), "customer", np.flatnonzero(reb > 0), "rebate",
                   value=reb[reb > 0].astype(float))
        period_spend[:] = 0

    def daily(now: float) -> None:
        day = int(now)
        r = rng(f"day.{day}")
        date = t0 + pd.Timedelta(days=day)
        if day > 0 and day % cfg.rebate_period_days == 0:   # before the new period's first orders
            pay_rebates(day)
        k_occ = r.poisson(rate)
        who = np.repeat(np.arange(n), k_occ)
        promo_on = eng.active(date)
        units_day = cf_day = 0.0
        for c in who.tolist():
            s = S[seg[c]]
            k = int(r.choice(len(prods), p=p_w))
            need = 1 + int(r.poisson(units_mean[seg[c]] - 1))
            u_buy, u_round, u_deal = r.random(3)
            if r.random() < s.deal_share:   # a negotiated order: promotions do not apply
                ask = float(np.clip(r.beta(20 * s.ask_discount, 20 * (1 - s.ask_discount)), 0, 0.95))
                lvl = int(required_level_index(ask, need * price[k], cfg.approval)[0])
                if lvl == 0:
                    book(day, c, k, need, 0, need * price[k], float(np.floor(ask * need * price[k] + 0.5)), need, "",
                         "deal", 0, 0.0)
                elif lvl < 0:
                    st["countered"] += day >= world.warmup
                    if u_deal < cfg.counter_accept:
                        book(day, c, k, need, 0, need * price[k], float(np.floor(top * need * price[k] + 0.5)), need,
                             "", "deal", len(cfg.approval.levels) - 1, 0.0)
                    else:
                        st["counter_lost"] += day >= world.warmup
                        book(day, c, k, 0, 0, need * price[k], 0.0, need, "", "deal", -1, 0.0, True)
                else:
                    log.record(now, "customer", c, "approval_requested", value=ask)
                    env.process(deal(day, c, k, need, ask, r))
                continue
            # the counterfactual: the same occasion with no promotion and no stock
            if s.demand == "logit":
                cf = need if u_buy < logit_buy_prob(1.0, s.buy_prob, s.logit_b) else 0
            else:
                cf = need
            from_stock = min(stock[c], need)
            stock[c] -= from_stock
            rest = need - from_stock
            d, line = 0.0, None
            if promo_on and rest > 0:
                line = {"product_id": np.array([pid[k]]), "category": np.array([pcat[k]]),
                        "customer_id": np.array([cust_id[c]]), "qty": np.array([float(rest)]),
                        "amount": np.array([rest * price[k]])}
                dsc, free, _, _ = eng.apply(line, customer=cust_id[c], date=date, commit=False)
                fv = sum(f["free_value"] for f in free)
                d = (float(dsc.sum()) + fv) / (rest * price[k] + fv)
            if s.demand == "logit":
                units = rest if u_buy < logit_buy_prob(1 - d, s.buy_prob, s.logit_b) else 0
            else:
                x = float(elasticity_units(rest, d, s.elasticity))
                units = int(np.floor(x)) + int(u_round < x - np.floor(x))
            fwd = int(round(s.stockpile * need)) if d > 0 and units > 0 else 0
            units += fwd
            stock[c] += fwd
            units_day += units
            cf_day += cf
            if units == 0:
                if cf:
                    book(day, c, k, 0, 0, 0.0, 0.0, cf, "", "online")
                continue
            disc, nfree, promos = 0.0, 0, ""
            if d > 0:
                line["qty"] = np.array([float(units)])
                line["amount"] = np.array([units * price[k]])
                dsc, free, applied, _ = eng.apply(line, order_id=len(orders), customer=cust_id[c], date=date)
                disc = float(dsc.sum())
                nfree = sum(f["qty"] for f in free)
                promos = "+".join(a["promo_id"] for a in applied)
            book(day, c, k, units, nfree, units * price[k], disc, cf, promos, "online")
        log.record(float(day), "system", 0, "units", value=units_day)
        log.record(float(day), "system", 0, "cf_units", value=cf_day)

    world.every_day(daily, at_hour=9)
    world.run()
    if int(horizon_days) % cfg.rebate_period_days == 0:   # the run ends on a period end: pay it
        pay_rebates(int(horizon_days))
    cols = ["day", "customer", "product", "kind", "units", "free_units", "list_amount", "discount", "net_amount",
            "cf_units", "promotions", "approval_level", "wait_days", "lost"]
    o = pd.DataFrame(orders, columns=cols)
    o["segment"] = seg_name[seg[o["customer"].to_numpy(dtype=int)]] if len(o) else []
    o["product_id"] = pid[o["product"].to_numpy(dtype=int)] if len(o) else []
    m = _metrics(o[o["day"] >= world.warmup], price, ucost, cost_of, st, eng, cfg)
    events = log.to_frame()
    return PromoResult(table=o, events=events if keep_events else events.iloc[:0], metrics=m)


def _metrics(o: pd.DataFrame, price, ucost, cost_of, st, eng: PromotionEngine, cfg: PromoConfig) -> dict[str, float]:
    k = o["product"].to_numpy(dtype=int)
    sold = ~o["lost"].to_numpy(dtype=bool)
    units = o["units"].to_numpy(dtype=float) * sold
    free = o["free_units"].to_numpy(dtype=float)
    revenue = float(o["net_amount"].to_numpy(dtype=float)[sold].sum())
    cogs = float(((units + free) * ucost[k]).sum())
    online = (o["kind"] == "online").to_numpy()
    disc = o["discount"].to_numpy(dtype=float)
    promo_cost = float(disc[online].sum() + (free * ucost[k]).sum())
    cf = o["cf_units"].to_numpy(dtype=float)
    # the counterfactual margin: online orders at list price with no stock; deals as they were
    cf_margin = float((cf[online] * (price[k] - ucost[k])[online]).sum())
    margin_online = float((units[online] * price[k][online] - disc[online] - (units + free)[online] * ucost[k][online]).sum())
    promoted = online & (o["promotions"].to_numpy(dtype=object) != "")
    deals = (o["kind"] == "deal").to_numpy()
    list_value = float(((units + free) * price[k]).sum())
    used = eng.budgets()
    m = {
        "revenue": revenue,
        "units": float(units.sum() + free.sum()),
        "gross_margin": revenue - cogs - st["rebate"],
        "promo_cost": promo_cost,
        "rebate_cost": float(st["rebate"]),
        "promo_roi": (margin_online - cf_margin) / promo_cost if promo_cost > 0 else np.nan,
        "incremental_units": float(units[online].sum() + free[online].sum() - cf[online].sum()),
        "cannibalised_units": float(np.minimum(units[promoted], cf[promoted]).sum()),
        "avg_discount": 1 - revenue / list_value if list_value else np.nan,
        "approval_requests": float(st["requests"]),
        "approval_wait_days": st["wait_sum"] / st["requests"] if st["requests"] else 0.0,
        "deals_lost_waiting": float(st["lost_waiting"]),
        "counter_offers": float(st["countered"]),
        "deal_win_rate": float(sold[deals].mean()) if deals.any() else np.nan,
        "promo_orders": float(promoted.sum()),
    }
    for r in used.itertuples(index=False):
        if r.budget is not None and not pd.isna(r.budget):
            m[f"budget_used.{r.promo_id}"] = float(r.used) / float(r.budget) if r.budget else np.nan
    return m
