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

from crmsim.calendar import DAYS_PER_MONTH, SIM_START
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
    start_date: str = str(SIM_START.date())   # day 0 (crmsim.calendar.SIM_START unless set)
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


class _PromoRun:
    """One replication's state: customers and their stock, the catalogue, the promotion engine,
    the approvers and the order lines booked so far. :meth:`daily` is the day's SimPy step; every
    decision calls the rule (``PromotionEngine``, ``counter_offer``, ``required_level_index``,
    ``tier_amount``)."""

    def __init__(self, cfg: PromoConfig, world: World):
        self.cfg, self.world = cfg, world
        self.env, self.rng, self.log = world.env, world.streams.rng, world.log
        n = self.n = cfg.customers
        S = self.S = cfg.segments
        self.seg = self.rng("customers").choice(len(S), n, p=[s.share for s in S])
        self.rate = np.array([s.occasions_per_month for s in S])[self.seg] / DAYS_PER_MONTH
        self.units_mean = np.array([s.units_mean for s in S])
        prods = cfg.products
        self.p_w = np.array([p.weight for p in prods]) / sum(p.weight for p in prods)
        self.price = np.array([p.list_price for p in prods], dtype=float)
        self.ucost = np.array([p.unit_cost for p in prods], dtype=float)
        self.pid = np.array([p.product_id for p in prods], dtype=object)
        self.pcat = np.array([p.category for p in prods], dtype=object)
        self.p_el = np.array([np.nan if p.elasticity is None else p.elasticity for p in prods])
        self.prod_index = {p.product_id: j for j, p in enumerate(prods)}
        self.eng = PromotionEngine(list(cfg.promotions), cfg.stacking, {p.product_id: p.unit_cost for p in prods})
        self.cust_id = np.array([f"C{i}" for i in range(n)], dtype=object)
        self.seg_name = np.array([s.name for s in S], dtype=object)
        self.P = len(prods)
        self.stock = np.zeros((n, self.P))
        self.period_spend = np.zeros(n)
        self.t0 = pd.Timestamp(cfg.start_date)
        self.approvers = simpy.Resource(self.env, capacity=cfg.approvers)
        self.orders: list[tuple] = []
        self.next_order = 0
        self.st = {"rebate": 0.0, "requests": 0, "lost_waiting": 0, "wait_sum": 0.0, "countered": 0}

    def book(self, oid, day, c, k, units, free, list_amt, disc, cf_units, promos, kind, level=-1, wait=np.nan,
             lost=False) -> None:
        net = list_amt - disc
        self.orders.append((oid, day, c, k, kind, units, free, list_amt, disc, net, cf_units, promos, level, wait, lost))
        if not lost and day >= self.world.warmup:
            self.period_spend[c] += net

    def deal(self, oid, day, c, ks, needs, ask, r):
        """A negotiated order waiting for approval (a SimPy process)."""
        env, st, price = self.env, self.st, self.price
        counted = day >= self.world.warmup   # approval load is counted from the warm-up on, like orders
        st["requests"] += counted
        patience = r.exponential(self.S[self.seg[c]].patience_days)
        review = r.exponential(self.cfg.review_days)
        start = env.now
        with self.approvers.request() as req:
            res = yield req | env.timeout(patience)
            if req not in res:
                lost = True
            else:
                left = patience - (env.now - start)
                yield env.timeout(min(review, max(left, 0)))
                lost = review > left
        wait = env.now - start
        st["wait_sum"] += wait * counted
        level = int(required_level_index(ask, sum(q * price[k] for k, q in zip(ks, needs)), self.cfg.approval)[0])
        if lost:
            st["lost_waiting"] += counted
            self.log.record(env.now, "customer", c, "lost_waiting", value=wait)
        else:
            self.log.record(env.now, "customer", c, "approved", value=ask)
        for k, q in zip(ks, needs):
            la = q * price[k]
            self.book(oid, day, c, k, 0 if lost else q, 0, la, 0.0 if lost else float(np.floor(ask * la + 0.5)), q, "",
                      "deal", level, wait, lost)

    def pay_rebates(self, day: int) -> None:
        """The period's volume rebate per customer (whole-tier), then a new period."""
        if not self.cfg.rebate_tiers:
            return
        reb = tier_amount(self.period_spend, self.cfg.rebate_tiers, "whole")
        self.st["rebate"] += float(reb.sum())
        self.log.extend(np.full(int((reb > 0).sum()), float(day)), "customer", np.flatnonzero(reb > 0), "rebate",
                        value=reb[reb > 0].astype(float))
        self.period_spend[:] = 0

    def daily(self, now: float) -> None:
        """The day's buying occasions, each a negotiated deal or an online basket."""
        cfg = self.cfg
        day = int(now)
        r = self.rng(f"day.{day}")
        date = self.t0 + pd.Timedelta(days=day)
        if day > 0 and day % cfg.rebate_period_days == 0:   # before the new period's first orders
            self.pay_rebates(day)
        f = cfg.weekday_weights[date.weekday()] * cfg.month_weights[date.month - 1]
        k_occ = r.poisson(self.rate if f == 1.0 else self.rate * f)
        who = np.repeat(np.arange(self.n), k_occ)
        promo_on = self.eng.active(date)
        units_day = cf_day = 0.0
        for c in who.tolist():
            ks, needs, u_buy, u_rounds, u_deal, is_deal = self._occasion(c, r)
            oid = self.next_order
            self.next_order += 1
            if is_deal:   # a negotiated order: promotions do not apply
                self._negotiated(now, day, oid, c, ks, needs, u_deal, r)
                continue
            units, cf = self._online(day, date, oid, c, np.array(ks), np.array(needs, dtype=float), u_buy,
                                     np.array(u_rounds), promo_on)
            units_day += units
            cf_day += cf
        self.log.record(float(day), "system", 0, "units", value=units_day)
        self.log.record(float(day), "system", 0, "cf_units", value=cf_day)

    def _occasion(self, c: int, r: np.random.Generator):
        """One buying occasion's draws: the products and units needed (a basket when the segment
        buys several lines), the buy / rounding / deal draws and whether it is negotiated."""
        s, p_w = self.S[self.seg[c]], self.p_w
        k = int(r.choice(self.P, p=p_w))
        need = 1 + int(r.poisson(self.units_mean[self.seg[c]] - 1))
        u_buy, u_round, u_deal = r.random(3)
        is_deal = r.random() < s.deal_share
        ks, needs, u_rounds = [k], [need], [u_round]
        if s.lines_mean > 1:   # a basket: more products, each with its own need
            extra = min(self.P - 1, int(r.poisson(s.lines_mean - 1)))
            if extra:
                others = np.array([j for j in range(self.P) if j != k])
                more = r.choice(others, size=extra, replace=False, p=p_w[others] / p_w[others].sum())
                ks += [int(j) for j in more]
                needs += [1 + int(x) for x in r.poisson(self.units_mean[self.seg[c]] - 1, extra)]
                u_rounds += r.random(extra).tolist()
        return ks, needs, u_buy, u_rounds, u_deal, is_deal

    def _negotiated(self, now: float, day: int, oid: int, c: int, ks: list, needs: list, u_deal: float, r) -> None:
        """A deal: the customer's ask, the counter-offer rule, an approver's queue above the rep's
        authority."""
        s, cfg, price = self.S[self.seg[c]], self.cfg, self.price
        ask = float(np.clip(r.beta(20 * s.ask_discount, 20 * (1 - s.ask_discount)), 0, 0.95))
        total = sum(q * price[j] for j, q in zip(ks, needs))
        lvl, give, countered = counter_offer(ask, total, cfg.approval)   # the negotiation rule (cpq)
        if lvl > 0 and not countered:   # above the rep's authority: wait for an approver
            self.log.record(now, "customer", c, "approval_requested", value=ask)
            self.env.process(self.deal(oid, day, c, ks, needs, ask, r))
            return
        # within the rep's authority, or beyond every level: the rep counters with the top level's maximum
        self.st["countered"] += countered and day >= self.world.warmup
        won = not countered or u_deal < cfg.counter_accept
        for j, q in zip(ks, needs):
            self.book(oid, day, c, j, q if won else 0, 0, q * price[j],
                      float(np.floor(give * q * price[j] + 0.5)) if won else 0.0, q, "", "deal",
                      lvl if won else -1, 0.0, not won)

    def _online(self, day, date, oid, c, ka, need_a, u_buy, u_rounds, promo_on) -> tuple[float, float]:
        """An online basket: units bought from stock, the promotions' price (a quote, not
        committed), demand at that price, forward buying; then the promotions applied to what is
        bought and the lines booked. Returns (units, counterfactual units)."""
        s, price, m = self.S[self.seg[c]], self.price, ka.size
        # the counterfactual: the same occasion with no promotion and no stock
        buys_cf = s.demand != "logit" or u_buy < logit_buy_prob(1.0, s.buy_prob, s.logit_b)
        cf = need_a if buys_cf else np.zeros(m)
        from_stock = np.minimum(self.stock[c, ka], need_a)
        self.stock[c, ka] -= from_stock
        rest = need_a - from_stock
        d = np.zeros(m)
        basket = None
        if promo_on and rest.sum() > 0:
            basket = {"product_id": self.pid[ka], "category": self.pcat[ka], "customer_id": np.full(m, self.cust_id[c]),
                      "qty": rest.copy(), "amount": rest * price[ka]}
            dsc, free, _, _ = self.eng.apply(basket, customer=self.cust_id[c], date=date, commit=False, explain=False)
            fv = _attribute_free(free, self.pid[ka], basket["amount"])
            d = np.divide(dsc + fv, basket["amount"] + fv, out=np.zeros(m), where=basket["amount"] + fv > 0)
        if s.demand == "logit":   # one decision for the basket, at its value-weighted price
            lv = rest * price[ka]
            d_basket = float((d * lv).sum() / lv.sum()) if lv.sum() else 0.0
            units = np.where(u_buy < logit_buy_prob(1 - d_basket, s.buy_prob, s.logit_b), rest, 0).astype(int)
        else:
            x = elasticity_units(rest, d, np.where(np.isnan(self.p_el[ka]), s.elasticity, self.p_el[ka]))
            units = (np.floor(x) + (u_rounds < x - np.floor(x))).astype(int)
        # forward buying, rounded at random with the occasion's rounding draw (its mean is stockpile x need)
        fwd = np.where((d > 0) & (units > 0), np.floor(s.stockpile * need_a + u_rounds), 0).astype(int)
        units = units + fwd
        self.stock[c, ka] += fwd
        self._book_online(day, date, oid, c, ka, units, cf, basket if d.any() else None)
        return float(units.sum()), float(cf.sum())

    def _book_online(self, day, date, oid, c, ka, units, cf, basket) -> None:
        """The promotions committed on what the basket bought (budgets, free goods), and its lines."""
        m, price = ka.size, self.price
        disc = np.zeros(m)
        free_of: dict[int, int] = {}
        promos = [""] * m
        tag = ""
        if basket is not None and units.sum() > 0:
            keep = units > 0
            basket = {f: v[keep] for f, v in basket.items()}
            basket["qty"] = units[keep].astype(float)
            basket["amount"] = units[keep] * price[ka[keep]]
            dsc, free, applied, _ = self.eng.apply(basket, order_id=oid, customer=self.cust_id[c], date=date, explain=False)
            disc[keep] = dsc
            tag = "+".join(a["promo_id"] for a in applied)
            for f in free:
                j = self.prod_index[f["product_id"]]
                free_of[j] = free_of.get(j, 0) + int(f["qty"])
            for i in range(m):
                if disc[i] > 0 or ka[i] in free_of:
                    promos[i] = tag
        for i in range(m):
            if units[i] == 0 and cf[i] == 0 and ka[i] not in free_of:
                continue
            self.book(oid, day, c, int(ka[i]), int(units[i]), free_of.pop(int(ka[i]), 0), units[i] * price[ka[i]],
                      float(disc[i]), float(cf[i]), promos[i], "online")
        for j, q in free_of.items():   # free goods of a product not in the basket
            self.book(oid, day, c, j, 0, q, 0.0, 0.0, 0.0, tag, "online")

    def result(self, keep_events: bool) -> PromoResult:
        cols = ["order_id", "day", "customer", "product", "kind", "units", "free_units", "list_amount", "discount",
                "net_amount", "cf_units", "promotions", "approval_level", "wait_days", "lost"]
        o = pd.DataFrame(self.orders, columns=cols)
        o["segment"] = self.seg_name[self.seg[o["customer"].to_numpy(dtype=int)]] if len(o) else []
        o["product_id"] = self.pid[o["product"].to_numpy(dtype=int)] if len(o) else []
        m = _metrics(o[o["day"] >= self.world.warmup], self.price, self.ucost, self.st, self.eng)
        events = self.log.to_frame()
        return PromoResult(table=o, events=events if keep_events else events.iloc[:0], metrics=m)


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
    run = _PromoRun(cfg, world)
    world.every_day(run.daily, at_hour=9)
    world.run()
    if int(horizon_days) % cfg.rebate_period_days == 0:   # the run ends on a period end: pay it
        run.pay_rebates(int(horizon_days))
    return run.result(keep_events)


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
