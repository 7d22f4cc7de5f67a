"""Discount and promotion simulation (FEATURES CPQ): what a promotion calendar, a rebate scheme and
reps' discount authority do to revenue, volume and margin, before they go live.

Customers belong to segments. Each has purchase occasions (Poisson, at ``occasions_per_month``
times the day's ``weekday_weights`` and ``month_weights``); an order holds
``1 + Poisson(lines_mean - 1)`` distinct products, each with a need in units (1 + Poisson). What
they buy depends on the price they see:

- ``elasticity`` segments buy ``need x (1 - d)^e`` units at an effective discount ``d``
  (constant elasticity; default e = -2.62, the mean of Bijmolt, van Heerde & Pieters 2005,
  REFERENCES.md: 20% off lifts volume by 79.4%; a product's own ``elasticity``, when set, is
  used instead for every elasticity segment);
- ``logit`` segments buy their need with probability ``1 / (1 + exp(-(a - b r)))`` at a price
  ``r`` times list (``a`` set so that the probability at list price is ``buy_prob``; own-price
  elasticity ``-b r (1 - P)``).

Promotions are :class:`crmsim.cpq.promotions.Promotion` rules applied by the
:class:`~crmsim.cpq.promotions.PromotionEngine` (budgets run out first come, first served): the
customer sees the benefit the order would get (a dry run), chooses the units, and the order is
then booked through the engine (thresholds and bundles are met by the whole basket). ``stockpile``
customers forward-buy a product during a promotion (that share of an occasion's need again, at
the promoted price, rounded at random to whole units so that its mean is that share) and use that stock before buying it again, which makes the post-promotion dip. A share of orders are negotiated deals: the customer asks for a
discount; the rule :func:`crmsim.cpq.quotes.required_level_index` says who may grant it and
:func:`crmsim.cpq.quotes.counter_offer` what is offered. Within
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

from crmsim.calendar import DAYS_PER_MONTH
from crmsim.config import Config
from crmsim.cpq.promotions import Promotion, PromotionEngine, PromotionPolicy
from crmsim.cpq.quotes import ApprovalLevel, ApprovalPolicy, counter_offer, required_level_index
from crmsim.cpq.rebates import RebateTier, tier_amount
from crmsim.sim.engine import Result, World
from crmsim.sim.registry import ModelSpec, register

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
    """P(buy) at ``price_ratio`` x list price, with P = ``buy_prob`` at list price.

    Examples
    --------
    >>> [round(float(p), 3) for p in logit_buy_prob(np.array([0.8, 1.0, 1.2]), 0.3, 3.0)]
    [0.438, 0.3, 0.19]
    """
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
    lines_mean: float = Field(default=1.0, ge=1)         # products per order (1 + Poisson), each with its need
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
    elasticity: float | None = Field(default=None, lt=0)   # this product's, over its buyers' segments'


def _default_approval() -> ApprovalPolicy:
    return ApprovalPolicy(levels=(ApprovalLevel(name="rep", max_discount=0.10),
                                  ApprovalLevel(name="manager", max_discount=0.20),
                                  ApprovalLevel(name="director", max_discount=0.30)))


class PromoConfig(Config):
    """Customers, products, the promotion calendar and the discount policy. Defaults other than
    the elasticity are illustrative assumptions.

    Examples
    --------
    >>> cfg = PromoConfig()
    >>> m = simulate_promo(cfg, seed=1, horizon_days=28).metrics
    >>> sorted(m)[:4]
    ['approval_requests', 'approval_wait_days', 'avg_discount', 'cannibalised_units']
    """

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
    # purchase occasions per weekday (Monday first) and per calendar month, as multipliers of
    # ``occasions_per_month`` (the promotion twin fits them from order lines)
    weekday_weights: tuple[float, ...] = (1.0,) * 7
    month_weights: tuple[float, ...] = (1.0,) * 12

    @model_validator(mode="after")
    def _check(self) -> PromoConfig:
        for f, k in (("weekday_weights", 7), ("month_weights", 12)):
            w = getattr(self, f)
            if len(w) != k or min(w) < 0 or max(w) <= 0:
                raise ValueError(f"{f} needs {k} multipliers >= 0, not all 0; got {list(w)}")
        if abs(sum(s.share for s in self.segments) - 1) > 1e-6:
            raise ValueError(f"segment shares must sum to 1, got {sum(s.share for s in self.segments):g}")
        names = [p.product_id for p in self.products]
        if not names or len(set(names)) != len(names):
            raise ValueError(f"products need distinct ids, got {names}")
        for pr in self.promotions:
            for pid in (*pr.product_id, *pr.bundle, *([pr.free_product] if pr.free_product else [])):
                if pid not in names:
                    raise ValueError(f"promotion {pr.promo_id} names product '{pid}', not one of {names}")
            # simulated orders carry product, category and customer only: a promotion that could
            # never apply is an error, not a silent no-op
            if pr.free_item_rate:
                raise ValueError(f"promotion {pr.promo_id}: the simulation gives free goods free; a free_item_rate "
                                 "(goods at a reduced price) is not simulated yet")
            unused = [f for f in ("customer_grade", "region", "channel") if getattr(pr, f)]
            if unused:
                raise ValueError(f"promotion {pr.promo_id}: the simulation's orders have no {unused}; "
                                 f"scope promotions by product_id, category or customer_id")
            if len(pr.bundle) > 1 and all(sg.lines_mean == 1 for sg in self.segments):
                raise ValueError(f"promotion {pr.promo_id}: every segment orders one product at a time "
                                 f"(lines_mean = 1), so a bundle of {sorted(pr.bundle)} never completes")
        return self


class PromoResult(Result):
    @property
    def orders(self) -> pd.DataFrame:
        return self.table


def simulate_promo(cfg: PromoConfig, seed, horizon_days: float, warmup_days: float = 0.0,
                   *, keep_events: bool = True) -> PromoResult:
    """Simulate one replication (see the module docstring).

    Examples
    --------
    >>> a = simulate_promo(PromoConfig(), seed=1, horizon_days=28).metrics
    >>> b = simulate_promo(PromoConfig(), seed=1, horizon_days=28).metrics
    >>> a == b      # the same seed, the same run
    True
    """
    world = World(seed, horizon_days, warmup_days)
    env, rng, log = world.env, world.streams.rng, world.log
    n = cfg.customers
    seg = rng("customers").choice(len(cfg.segments), n, p=[s.share for s in cfg.segments])
    S = cfg.segments
    rate = np.array([s.occasions_per_month for s in S])[seg] / DAYS_PER_MONTH
    units_mean = np.array([s.units_mean for s in S])
    prods = cfg.products
    p_w = np.array([p.weight for p in prods]) / sum(p.weight for p in prods)
    price = np.array([p.list_price for p in prods], dtype=float)
    ucost = np.array([p.unit_cost for p in prods], dtype=float)
    pid = np.array([p.product_id for p in prods], dtype=object)
    pcat = np.array([p.category for p in prods], dtype=object)
    p_el = np.array([np.nan if p.elasticity is None else p.elasticity for p in prods])
    cost_of = {p.product_id: p.unit_cost for p in prods}
    prod_index = {p.product_id: j for j, p in enumerate(prods)}
    eng = PromotionEngine(list(cfg.promotions), cfg.stacking, cost_of)
    cust_id = np.array([f"C{i}" for i in range(n)], dtype=object)
    seg_name = np.array([s.name for s in S], dtype=object)
    P = len(prods)
    stock = np.zeros((n, P))
    period_spend = np.zeros(n)
    t0 = pd.Timestamp(cfg.start_date)
    approvers = simpy.Resource(env, capacity=cfg.approvers)
    orders: list[tuple] = []
    next_order = [0]
    st = {"rebate": 0.0, "requests": 0, "lost_waiting": 0, "wait_sum": 0.0, "countered": 0}

    def book(oid, day, c, k, units, free, list_amt, disc, cf_units, promos, kind, level=-1, wait=np.nan, lost=False):
        net = list_amt - disc
        orders.append((oid, day, c, k, kind, units, free, list_amt, disc, net, cf_units, promos, level, wait, lost))
        if not lost and day >= world.warmup:
            period_spend[c] += net

    def deal(oid, day, c, ks, needs, ask, r):
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
        level = int(required_level_index(ask, sum(q * price[k] for k, q in zip(ks, needs)), cfg.approval)[0])
        if lost:
            st["lost_waiting"] += counted
            log.record(env.now, "customer", c, "lost_waiting", value=wait)
        else:
            log.record(env.now, "customer", c, "approved", value=ask)
        for k, q in zip(ks, needs):
            la = q * price[k]
            book(oid, day, c, k, 0 if lost else q, 0, la, 0.0 if lost else float(np.floor(ask * la + 0.5)), q, "",
                 "deal", level, wait, lost)

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
        f = cfg.weekday_weights[date.weekday()] * cfg.month_weights[date.month - 1]
        k_occ = r.poisson(rate if f == 1.0 else rate * f)
        who = np.repeat(np.arange(n), k_occ)
        promo_on = eng.active(date)
        units_day = cf_day = 0.0
        for c in who.tolist():
            s = S[seg[c]]
            k = int(r.choice(P, p=p_w))
            need = 1 + int(r.poisson(units_mean[seg[c]] - 1))
            u_buy, u_round, u_deal = r.random(3)
            is_deal = r.random() < s.deal_share
            ks, needs, u_rounds = [k], [need], [u_round]
            if s.lines_mean > 1:   # a basket: more products, each with its own need
                extra = min(P - 1, int(r.poisson(s.lines_mean - 1)))
                if extra:
                    others = np.array([j for j in range(P) if j != k])
                    more = r.choice(others, size=extra, replace=False, p=p_w[others] / p_w[others].sum())
                    ks += [int(j) for j in more]
                    needs += [1 + int(x) for x in r.poisson(units_mean[seg[c]] - 1, extra)]
                    u_rounds += r.random(extra).tolist()
            oid = next_order[0]
            next_order[0] += 1
            if is_deal:   # a negotiated order: promotions do not apply
                ask = float(np.clip(r.beta(20 * s.ask_discount, 20 * (1 - s.ask_discount)), 0, 0.95))
                total = sum(q * price[j] for j, q in zip(ks, needs))
                lvl, give, countered = counter_offer(ask, total, cfg.approval)   # the negotiation rule (cpq)
                if lvl > 0 and not countered:   # above the rep's authority: wait for an approver
                    log.record(now, "customer", c, "approval_requested", value=ask)
                    env.process(deal(oid, day, c, ks, needs, ask, r))
                    continue
                # within the rep's authority, or beyond every level: the rep counters with the top level's maximum
                st["countered"] += countered and day >= world.warmup
                won = not countered or u_deal < cfg.counter_accept
                for j, q in zip(ks, needs):
                    book(oid, day, c, j, q if won else 0, 0, q * price[j],
                         float(np.floor(give * q * price[j] + 0.5)) if won else 0.0, q, "", "deal",
                         lvl if won else -1, 0.0, not won)
                continue
            m = len(ks)
            ka = np.array(ks)
            need_a = np.array(needs, dtype=float)
            # the counterfactual: the same occasion with no promotion and no stock
            buys_cf = s.demand != "logit" or u_buy < logit_buy_prob(1.0, s.buy_prob, s.logit_b)
            cf = need_a if buys_cf else np.zeros(m)
            from_stock = np.minimum(stock[c, ka], need_a)
            stock[c, ka] -= from_stock
            rest = need_a - from_stock
            d = np.zeros(m)
            basket = None
            if promo_on and rest.sum() > 0:
                basket = {"product_id": pid[ka], "category": pcat[ka], "customer_id": np.full(m, cust_id[c]),
                          "qty": rest.copy(), "amount": rest * price[ka]}
                dsc, free, _, _ = eng.apply(basket, customer=cust_id[c], date=date, commit=False, explain=False)
                fv = _attribute_free(free, pid[ka], basket["amount"])
                d = np.divide(dsc + fv, basket["amount"] + fv, out=np.zeros(m), where=basket["amount"] + fv > 0)
            if s.demand == "logit":   # one decision for the basket, at its value-weighted price
                lv = rest * price[ka]
                d_basket = float((d * lv).sum() / lv.sum()) if lv.sum() else 0.0
                units = np.where(u_buy < logit_buy_prob(1 - d_basket, s.buy_prob, s.logit_b), rest, 0).astype(int)
            else:
                x = elasticity_units(rest, d, np.where(np.isnan(p_el[ka]), s.elasticity, p_el[ka]))
                units = (np.floor(x) + (np.array(u_rounds) < x - np.floor(x))).astype(int)
            # forward buying, rounded at random with the occasion's rounding draw (its mean is stockpile x need)
            fwd = np.where((d > 0) & (units > 0), np.floor(s.stockpile * need_a + np.array(u_rounds)), 0).astype(int)
            units = units + fwd
            stock[c, ka] += fwd
            units_day += float(units.sum())
            cf_day += float(cf.sum())
            disc = np.zeros(m)
            free_of: dict[int, int] = {}
            promos = [""] * m
            if basket is not None and d.any() and units.sum() > 0:
                keep = units > 0
                basket = {f: v[keep] for f, v in basket.items()}
                basket["qty"] = units[keep].astype(float)
                basket["amount"] = units[keep] * price[ka[keep]]
                dsc, free, applied, _ = eng.apply(basket, order_id=oid, customer=cust_id[c], date=date, explain=False)
                disc[keep] = dsc
                tag = "+".join(a["promo_id"] for a in applied)
                for f in free:
                    j = prod_index[f["product_id"]]
                    free_of[j] = free_of.get(j, 0) + int(f["qty"])
                for i in range(m):
                    if disc[i] > 0 or ka[i] in free_of:
                        promos[i] = tag
            for i in range(m):
                if units[i] == 0 and cf[i] == 0 and ka[i] not in free_of:
                    continue
                book(oid, day, c, int(ka[i]), int(units[i]), free_of.pop(int(ka[i]), 0), units[i] * price[ka[i]],
                     float(disc[i]), float(cf[i]), promos[i], "online")
            for j, q in free_of.items():   # free goods of a product not in the basket
                book(oid, day, c, j, 0, q, 0.0, 0.0, 0.0, tag, "online")
        log.record(float(day), "system", 0, "units", value=units_day)
        log.record(float(day), "system", 0, "cf_units", value=cf_day)

    world.every_day(daily, at_hour=9)
    world.run()
    if int(horizon_days) % cfg.rebate_period_days == 0:   # the run ends on a period end: pay it
        pay_rebates(int(horizon_days))
    cols = ["order_id", "day", "customer", "product", "kind", "units", "free_units", "list_amount", "discount", "net_amount",
            "cf_units", "promotions", "approval_level", "wait_days", "lost"]
    o = pd.DataFrame(orders, columns=cols)
    o["segment"] = seg_name[seg[o["customer"].to_numpy(dtype=int)]] if len(o) else []
    o["product_id"] = pid[o["product"].to_numpy(dtype=int)] if len(o) else []
    m = _metrics(o[o["day"] >= world.warmup], price, ucost, st, eng)
    events = log.to_frame()
    return PromoResult(table=o, events=events if keep_events else events.iloc[:0], metrics=m)


def _attribute_free(free: list[dict], products: np.ndarray, amount: np.ndarray) -> np.ndarray:
    """The value of free goods per basket line: to the line of the same product, else pro rata."""
    fv = np.zeros(len(products))
    for f in free:
        same = products == f["product_id"]
        if same.any():
            fv[same] += f["free_value"] / same.sum()
        elif amount.sum():
            fv += f["free_value"] * amount / amount.sum()
    return fv


def _metrics(o: pd.DataFrame, price, ucost, st, eng: PromotionEngine) -> dict[str, float]:
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
        "promo_orders": float(o.loc[promoted, "order_id"].nunique()),
    }
    for r in used.itertuples(index=False):
        if r.budget is not None and not pd.isna(r.budget):
            m[f"budget_used.{r.promo_id}"] = float(r.used) / float(r.budget) if r.budget else np.nan
    return m


register(ModelSpec(name="promo", config=PromoConfig, simulate=simulate_promo, table="orders",
                   key_metrics=("gross_margin", "revenue", "units", "promo_cost", "promo_roi", "incremental_units", "avg_discount", "deals_lost_waiting"),
                   figures="crmsim.report.models:promo_figures",
                   units={"revenue": "money_minor>=0", "gross_margin": "money_minor", "promo_cost": "money_minor>=0",
                          "rebate_cost": "money_minor>=0", "units": "count", "promo_roi": "ratio",
                          "incremental_units": "number", "cannibalised_units": "count", "avg_discount": "share",
                          "approval_requests": "count", "approval_wait_days": "days", "deals_lost_waiting": "count",
                          "counter_offers": "count", "deal_win_rate": "share", "promo_orders": "count"}))
