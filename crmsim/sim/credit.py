"""Credit-risk simulation (FEATURES L2C-6): a year of customers ordering on credit.

Each day customers place orders (Poisson); each order is checked by the credit policy
(:class:`crmsim.finance.credit.CreditPolicy`, the rule of :func:`crmsim.finance.credit.check_order`):
its limit is the customer's own, else its group's, else the policy's default
(:func:`crmsim.finance.credit.credit_limits`), the exposure is what the policy counts at each of its
check points, and an order over the limit (:func:`crmsim.finance.credit.within_limit`) is held and
the sale lost. The simulation has no lead times, so the quote, order and delivery check points all
fall at the order; the invoice one too when each order is billed at once. Nobody overrides a hold.
Receivables fall due after the payment terms and are paid after a delay that depends on the risk
grade. Dunning runs every ``dunning_every_days`` days by the dunning rule
(:func:`crmsim.finance.ageing.dunning` with its :class:`~crmsim.finance.ageing.DunningPolicy`):
the first letter to an invoice cuts the days still to its payment by ``dunning_effect``; each
letter is logged with its level and fee. Defaults follow the one-factor model month by month (on
the first day of each month of :data:`crmsim.calendar.DAYS_PER_MONTH` days,
:func:`crmsim.calendar.month_start_days`, as the credit twin counts months; a monthly PD of ``1 - (1 - annual PD) ** (1/12)``): a common economic factor Z drives correlated defaults (the one-factor rule
:func:`crmsim.finance.portfolio.defaults_given_factor`); a
defaulted customer's open receivables are lost (times LGD) and it stops ordering.

Metrics: sales, sales lost to credit holds, realised credit loss, average exposure, DSO, the
year-end ageing and IFRS 9 allowance (the provision matrix of :mod:`crmsim.finance.ecl`), and the
share of receivables paid late, dunning letters and fees; the event log carries every credit
decision (``credit_release`` / ``credit_hold``, the order amount), every dunning letter, and the exposure and cumulative loss of every
day. Run many replications for the distribution of the annual loss (``crmsim.finance.loss_summary``
on the ``credit_loss`` column). Money in minor units.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from crmsim.calendar import DAYS_PER_MONTH, SIM_START, month_start_days
from crmsim.config import Config
from crmsim.finance.ageing import (
    DEFAULT_BUCKETS,
    DunningPolicy,
    ageing,
    bucket_labels,
    dso,
    dunning,
)
from crmsim.finance.credit import RISK_GRADES, CreditPolicy, credit_limits, within_limit
from crmsim.finance.ecl import provision
from crmsim.finance.portfolio import defaults_given_factor
from crmsim.sim.distributions import Distribution
from crmsim.sim.engine import Result, World
from crmsim.sim.registry import ModelSpec, register

__all__ = ["CreditConfig", "CreditResult", "simulate_credit", "credit_book", "book_customers"]

#: the default risk grades (a scenario or a calibration may use its own names): the credit rules'
GRADES = RISK_GRADES


class CreditConfig(Config):
    """A credit book and its policy. Defaults are illustrative assumptions.

    The risk grades are the keys of ``grade_shares`` (your own grade names, as many as you have);
    ``late_days_mean`` and ``annual_pd`` need the same keys. ``days_to_pay`` (optional, per grade)
    replaces terms + an exponential delay by a distribution of the days from invoice to payment,
    e.g. the empirical one :func:`crmsim.experiments.calibrate_credit` fits (heavy tails kept).
    ``order_rate_sigma`` spreads order rates across customers (lognormal sigma; 0 = equal).

    Limits: a customer with its own limit gets ``limit_multiplier`` x its expected open exposure;
    ``group_share`` of the customers belong to groups of ``group_size`` whose group limit is the
    sum of its members'; a customer without its own limit (``1 - own_limit_share`` of them) falls
    back to its group's limit, else to ``policy.default_limit``, as
    :func:`crmsim.finance.credit.credit_limits` says.

    Examples
    --------
    >>> cfg = CreditConfig(customers=50, group_share=0.4, own_limit_share=0.5, policy={"default_limit": 100_000},
    ...                    dunning_every_days=7)
    >>> r = simulate_credit(cfg, seed=1, horizon_days=90)
    >>> r.customers["limit_source"].value_counts().sort_index().to_dict()
    {'customer': 21, 'default': 18, 'group': 11}
    >>> r.metrics["dunning_letters"] > 0
    True
    """

    customers: int = Field(default=500, ge=1)   # customers in the book
    #: share of customers per risk grade (your grade names)
    grade_shares: dict[str, float] = dict(zip(GRADES, (0.2, 0.3, 0.3, 0.15, 0.05)))
    orders_per_month: float = Field(default=2.0, gt=0)   # mean orders per customer per month (Poisson)
    order_rate_sigma: float = Field(default=0.5, ge=0)   # lognormal spread of order rates across customers
    order_amount_mean: int = Field(default=500_000, gt=0)      # mean order amount, cents
    order_amount_cv: float = Field(default=0.8, ge=0)   # coefficient of variation of order amounts
    terms_days: int = Field(default=30, ge=0)   # payment terms: due this many days after the invoice
    #: 0: each order is invoiced when placed; n: a customer's orders are billed together every n
    #: days (a monthly statement or collective invoice: 30), the days to pay count from that bill
    billing_cycle_days: int = Field(default=0, ge=0)
    limit_multiplier: float = Field(default=1.5, gt=0)          # credit limit = this x the expected open exposure
    #: mean days paid after the due date, per grade (exponential)
    late_days_mean: dict[str, float] = dict(zip(GRADES, (2, 6, 14, 28, 50)))
    #: per grade, days from invoice to payment (replaces terms + late days; calibrate fits it)
    days_to_pay: dict[str, Distribution] = {}
    #: probability of default within a year, per grade
    annual_pd: dict[str, float] = dict(zip(GRADES, (0.003, 0.01, 0.025, 0.06, 0.15)))
    rho: float = Field(default=0.15, gt=0, lt=1)   # asset correlation of the one-factor default model
    lgd: float = Field(default=0.6, ge=0, le=1)   # loss given default: share of the open amount lost
    #: where credit is checked, the default limit, shared group limits, what the exposure counts
    policy: CreditPolicy = CreditPolicy()
    group_share: float = Field(default=0.0, ge=0, le=1)   # share of customers that belong to a customer group
    group_size: int = Field(default=5, ge=1)   # customers per group (the last group may be smaller)
    #: share of customers with their own limit; the others use their group's limit, else the default
    own_limit_share: float = Field(default=1.0, ge=0, le=1)
    dunning_every_days: int = Field(default=0, ge=0)   # days between dunning runs; 0 = no dunning
    #: the dunning levels (days past due) and fees of the dunning rule
    dunning: DunningPolicy = DunningPolicy()
    #: share of the days still to payment that the first dunning letter to an invoice cuts
    dunning_effect: float = Field(default=0.35, ge=0, le=1)
    #: IFRS 9 provision matrix: loss rate per ageing bucket
    loss_rates: dict[str, float] = {"current": 0.003, "1-30": 0.016, "31-60": 0.036, "61-90": 0.066,
                                    "91-120": 0.106, "121+": 0.25}

    @model_validator(mode="after")
    def _grades(self) -> CreditConfig:
        grades = list(self.grade_shares)
        if not grades:
            raise ValueError("grade_shares needs at least one grade")
        for name, d in (("late_days_mean", self.late_days_mean), ("annual_pd", self.annual_pd)):
            if set(d) != set(grades):
                raise ValueError(f"{name} needs the grades of grade_shares {grades}, got {sorted(d)}")
        unknown = sorted(set(self.days_to_pay) - set(grades))
        if unknown:
            raise ValueError(f"days_to_pay names grades {unknown} that grade_shares lacks {grades}")
        if abs(sum(self.grade_shares.values()) - 1) > 1e-6 or any(v < 0 for v in self.grade_shares.values()):
            raise ValueError("grade_shares must be >= 0 and sum to 1")
        if any(not 0 <= v <= 1 for v in self.annual_pd.values()):
            raise ValueError(f"annual_pd must be within [0, 1], got {self.annual_pd}")
        if "invoice" in self.policy.check_points and self.billing_cycle_days:
            raise ValueError("policy.check_points has 'invoice' with billing_cycle_days > 0, which is not simulated: "
                             "the orders of a billing cycle are delivered before their bill is checked, and a held "
                             "bill is not modelled; check at 'order' or 'delivery', or bill each order "
                             "(billing_cycle_days = 0)")
        if set(self.loss_rates) != set(bucket_labels(DEFAULT_BUCKETS)):
            raise ValueError(f"loss_rates needs the buckets {bucket_labels(DEFAULT_BUCKETS)}")
        return self


@dataclass
class CreditResult(Result):
    """One replication of the credit book: the ``receivables`` table (``table``), the event log,
    the metrics, and the ``customers`` with their limits and holds.

    Examples
    --------
    >>> r = simulate_credit(CreditConfig(customers=30), seed=1, horizon_days=60)
    >>> r.receivables.columns.tolist()[:5], r.customers.columns.tolist()[-3:]
    (['customer', 'amount', 'created', 'due', 'paid_at'], ['exposure_of', 'holds', 'lost_sales'])
    """

    #: the book: ``customer_id, grade, group_id, credit_limit, group_limit`` (what the run drew),
    #: the limit the rule gave (``limit, limit_source, exposure_scope, exposure_of``), and per
    #: customer its ``holds`` and ``lost_sales``
    customers: pd.DataFrame | None = None

    @property
    def receivables(self) -> pd.DataFrame:
        return self.table


def credit_book(cfg: CreditConfig, streams) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The book at the start of a run: each customer's grade (index into ``grade_shares``), order
    rate per day and own credit limit (``limit_multiplier`` x the expected open exposure: orders a
    day x days an invoice stays open x the mean amount), from the run's named random streams.

    Examples
    --------
    >>> from crmsim.sim.engine import Streams
    >>> g, rate, limit = credit_book(CreditConfig(customers=4), Streams(np.random.SeedSequence(1)))
    >>> g.tolist(), bool((limit > 0).all())
    ([3, 2, 3, 1], True)
    """
    n = cfg.customers
    grades = list(cfg.grade_shares)
    g = streams.rng("book").choice(len(grades), n, p=[cfg.grade_shares[x] for x in grades])
    size = streams.rng("book.size").lognormal(0, cfg.order_rate_sigma, n)  # some customers buy more than others
    rate = cfg.orders_per_month / DAYS_PER_MONTH * size / size.mean()
    # days an order stays open, on average, per grade: terms + delay, or the fitted days to pay,
    # and half a billing cycle waiting for its bill
    open_days = np.array([cfg.days_to_pay[x].mean() if x in cfg.days_to_pay else cfg.terms_days + cfg.late_days_mean[x]
                          for x in grades]) + cfg.billing_cycle_days / 2
    expected_open = rate * open_days[g] * cfg.order_amount_mean
    limit = np.round(cfg.limit_multiplier * expected_open).astype(np.int64)
    return g, rate, limit


def book_customers(cfg: CreditConfig, streams, g: np.ndarray, limit: np.ndarray) -> pd.DataFrame:
    """The book as a customers table the credit rule reads: ``customer_id`` (``C0``, ``C1``...),
    ``grade``, ``group_id`` (``G0``... for the ``group_share`` in groups of ``group_size``, else
    missing), ``credit_limit`` (own limit, missing for the ``1 - own_limit_share`` without one) and
    ``group_limit`` (the sum of the members' limits of :func:`credit_book`).

    Examples
    --------
    >>> from crmsim.sim.engine import Streams
    >>> cfg = CreditConfig(customers=6, group_share=1.0, group_size=3, own_limit_share=0.0)
    >>> s = Streams(np.random.SeedSequence(1))
    >>> g, _, limit = credit_book(cfg, s)
    >>> c = book_customers(cfg, s, g, limit)
    >>> c["group_id"].tolist(), bool(c["credit_limit"].isna().all()), bool(c["group_limit"].iloc[0] == limit[:3].sum())
    (['G0', 'G0', 'G0', 'G1', 'G1', 'G1'], True, True)
    """
    n = cfg.customers
    in_group = streams.rng("book.groups").random(n) < cfg.group_share
    gid = np.full(n, None, dtype=object)
    gid[in_group] = np.char.add("G", (np.arange(int(in_group.sum())) // cfg.group_size).astype(str)).astype(object)
    own = streams.rng("book.own_limit").random(n) < cfg.own_limit_share
    cust = pd.DataFrame({"customer_id": np.char.add("C", np.arange(n).astype(str)).astype(object),
                         "grade": np.array(list(cfg.grade_shares), dtype=object)[g], "group_id": gid,
                         "credit_limit": np.where(own, limit, np.nan)})
    sums = pd.Series(limit[in_group], dtype=float).groupby(gid[in_group]).sum()
    cust["group_limit"] = pd.Series(gid).map(sums).to_numpy(float)
    return cust


class _Book:
    """The open amounts of a run, per customer and per customer group, split into billed (open
    receivables) and unbilled (open orders), and the credit check of an order on them: the
    limits and exposure scope of :func:`crmsim.finance.credit.credit_limits`, the exposure parts
    of the policy at each check point, the decision of :func:`crmsim.finance.credit.within_limit`."""

    def __init__(self, cfg: CreditConfig, customers: pd.DataFrame):
        lim = credit_limits(customers, cfg.policy)
        n = len(customers)
        self.limit = lim["limit"].to_numpy(np.int64)
        self.source = lim["limit_source"].to_numpy(object)
        self.by_group = (lim["exposure_scope"] == "group").to_numpy()
        gkey, self.groups = pd.factorize(customers["group_id"])
        self.group = gkey                                   # -1: in no group
        self.open = np.zeros(n, dtype=np.int64)             # billed and unbilled, per customer
        self.unbilled = np.zeros(n, dtype=np.int64)
        self.g_open = np.zeros(len(self.groups) + 1, dtype=np.int64)   # per group; the last: no group
        self.g_unbilled = np.zeros(len(self.groups) + 1, dtype=np.int64)
        points = [p for p in cfg.policy.check_points if p != "invoice" or not cfg.billing_cycle_days]
        parts = {tuple(sorted(cfg.policy.exposure_at.get(p, ("receivables", "open_orders")))) for p in points}
        self.parts = sorted(parts)       # one check per distinct exposure (points at the same moment)

    def add(self, c: int, amount: int, *, unbilled: bool = False) -> None:
        self.open[c] += amount
        self.g_open[self.group[c]] += amount
        if unbilled:
            self.unbilled[c] += amount
            self.g_unbilled[self.group[c]] += amount

    def bill(self, c: int, amount: int) -> None:
        self.unbilled[c] -= amount
        self.g_unbilled[self.group[c]] -= amount

    def write_off(self, who: np.ndarray) -> None:
        """Defaulted customers: what they owe leaves their group's exposure."""
        np.subtract.at(self.g_open, self.group[who], self.open[who])
        np.subtract.at(self.g_unbilled, self.group[who], self.unbilled[who])

    def passes(self, c: int, amount: int) -> bool:
        if self.by_group[c]:
            o, u = self.g_open[self.group[c]], self.g_unbilled[self.group[c]]
        else:
            o, u = self.open[c], self.unbilled[c]
        for parts in self.parts:
            exp = (o - u if "receivables" in parts else 0) + (u if "open_orders" in parts else 0) + amount
            if not within_limit(exp, self.limit[c]):
                return False
        return True


def _dunning_run(cfg: CreditConfig, day: int, t0: pd.Timestamp, recs: list, sched: list, sent: dict,
                 pay_heap: list, log, counted: bool) -> tuple[int, int]:
    """One dunning run on the open receivables past due, by :func:`crmsim.finance.ageing.dunning`:
    letters go out, each logged; an invoice's first letter cuts the days still to its payment by
    ``dunning_effect`` (rescheduled). Returns the letters and fees (counted only after warm-up)."""
    ks = [k for k in sent if recs[k][3] < day]
    if not ks:
        return 0, 0
    last = np.array([sent[k][0] for k in ks])
    at = np.array([sent[k][1] for k in ks], dtype=float)
    frame = pd.DataFrame({"due_at": t0 + pd.to_timedelta([recs[k][3] for k in ks], unit="D"),
                          "open": [recs[k][1] for k in ks], "last_level": last,
                          "last_sent_at": t0 + pd.to_timedelta(at, unit="D")})
    d = dunning(frame, cfg.dunning, today=t0 + pd.Timedelta(days=day))
    send = d["send"].to_numpy()
    lv, fee = d["level"].to_numpy(), d["fee"].to_numpy(np.int64)
    for i in np.flatnonzero(send).tolist():
        k = ks[i]
        sent[k] = (int(lv[i]), float(day))
        if last[i] == 0 and cfg.dunning_effect > 0:        # the first letter: the rest of the wait shrinks
            left = sched[k] - day
            if left > 0:
                sched[k] = day + int(np.ceil(left * (1 - cfg.dunning_effect)))
                heapq.heappush(pay_heap, (sched[k], k))
    who = [recs[ks[i]][0] for i in np.flatnonzero(send)]
    log.extend(float(day), "customer", np.asarray(who, dtype=np.int64), "dunning_letter", value=lv[send].astype(float))
    return (int(send.sum()), int(fee[send].sum())) if counted else (0, 0)


class _CreditRun:
    """One replication's state: the book (:class:`_Book`), the invoices and when each will be
    paid, the dunning levels sent, defaults and the running totals. :meth:`daily` is the day's
    step: payments, the month's defaults, orders through the credit rule, bills, dunning."""

    def __init__(self, cfg: CreditConfig, world: World):
        self.cfg, self.world, self.log = cfg, world, world.log
        n = self.n = cfg.customers
        grades = list(cfg.grade_shares)
        self.g, self.rate, limit = credit_book(cfg, world.streams)
        self.customers = book_customers(cfg, world.streams, self.g, limit)
        self.book = _Book(cfg, self.customers)
        self.dtp = [cfg.days_to_pay.get(x) for x in grades]
        self.late = np.array([cfg.late_days_mean[x] for x in grades])[self.g]
        self.pd_month = 1 - (1 - np.array([cfg.annual_pd[x] for x in grades])[self.g]) ** (1 / 12)
        self.s2 = np.log1p(cfg.order_amount_cv**2)
        self.defaulted = np.zeros(n, dtype=bool)
        self.recs: list[tuple] = []          # (customer, amount, created, due, paid_at or nan)
        self.sched: list[int] = []           # the day each invoice will be paid
        self.sent: dict[int, tuple[int, float]] = {}   # open invoices: (dunning level sent, day sent)
        self.pay_heap: list = []
        self.state = {"sales": 0, "lost_sales": 0, "loss": 0, "exposure_sum": 0.0, "days": 0, "holds": 0,
                      "letters": 0, "fees": 0}
        self.holds, self.lost = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64)
        self.t0 = SIM_START
        self.cycle = cfg.billing_cycle_days
        self.month_starts = set(month_start_days(world.horizon).tolist())

    def invoice(self, c: int, a: int, day: int, r: np.random.Generator) -> None:
        """An invoice of ``a`` to customer ``c`` on ``day``, and the day it will be paid."""
        due = day + self.cfg.terms_days
        d = self.dtp[self.g[c]]
        pay_day = (due + int(round(r.exponential(self.late[c]))) if d is None
                   else day + int(round(float(d.sample(r, 1)[0]))))
        heapq.heappush(self.pay_heap, (pay_day, len(self.recs)))
        self.sent[len(self.recs)] = (0, np.nan)
        self.sched.append(pay_day)
        self.recs.append((c, a, day, due, np.nan))

    def payments(self, day: int) -> None:
        recs = self.recs
        while self.pay_heap and self.pay_heap[0][0] <= day:
            t, k = heapq.heappop(self.pay_heap)
            c, amt = recs[k][0], recs[k][1]
            if not self.defaulted[c] and np.isnan(recs[k][4]) and t == self.sched[k]:
                self.book.add(c, -amt)
                recs[k] = (*recs[k][:4], float(t))
                self.sent.pop(k, None)

    def defaults(self, day: int, r: np.random.Generator) -> None:
        """Monthly defaults by one common factor; a defaulted customer's open amount is lost."""
        z = r.standard_normal()
        e = r.standard_normal(self.n)
        new = ~self.defaulted & defaults_given_factor(self.pd_month, self.cfg.rho, z, e)
        if new.any():
            loss = int(np.round(self.book.open[new].sum() * self.cfg.lgd))
            if day >= self.world.warmup:
                self.state["loss"] += loss
            self.defaulted[new] = True
            self.book.write_off(np.flatnonzero(new))
            for k in [k for k in self.sent if self.defaulted[self.recs[k][0]]]:
                del self.sent[k]
            self.log.extend(np.full(int(new.sum()), float(day)), "customer", np.flatnonzero(new), "default",
                            value=self.book.open[new].astype(float))

    def orders(self, day: int, r: np.random.Generator) -> None:
        """The day's orders, each released or held by the credit rule (:meth:`_Book.passes`)."""
        cfg, state, log = self.cfg, self.state, self.log
        who = np.repeat(np.arange(self.n), r.poisson(self.rate * ~self.defaulted))
        if not who.size:
            return
        amt = np.round(r.lognormal(np.log(cfg.order_amount_mean) - self.s2 / 2, np.sqrt(self.s2), who.size)
                       ).astype(np.int64)
        counted = day >= self.world.warmup
        for c, a in zip(who.tolist(), amt.tolist()):
            if not self.book.passes(c, a):
                log.record(float(day), "customer", c, "credit_hold", value=float(a))
                if counted:
                    state["lost_sales"] += a
                    state["holds"] += 1
                    self.holds[c] += 1
                    self.lost[c] += a
                continue
            log.record(float(day), "customer", c, "credit_release", value=float(a))
            if counted:
                state["sales"] += a
            self.book.add(c, a, unbilled=bool(self.cycle))
            if not self.cycle:
                self.invoice(c, a, day, r)

    def daily(self, now: float) -> None:
        cfg, book, state, cycle = self.cfg, self.book, self.state, self.cycle
        day = int(now)
        r = self.world.streams.rng(f"day.{day}")
        self.payments(day)
        if day in self.month_starts:
            self.defaults(day, r)
        self.orders(day, r)
        if cycle and day % cycle == cycle - 1:   # the bill of the cycle's orders (defaulted: nothing)
            for c in np.flatnonzero((book.unbilled > 0) & ~self.defaulted).tolist():
                a = int(book.unbilled[c])
                book.bill(c, a)
                self.invoice(c, a, day, r)
        if cfg.dunning_every_days and day % cfg.dunning_every_days == 0:
            letters, fees = _dunning_run(cfg, day, self.t0, self.recs, self.sched, self.sent, self.pay_heap, self.log,
                                         day >= self.world.warmup)
            state["letters"] += letters
            state["fees"] += fees
        exposure = float(book.open[~self.defaulted].sum())
        if day >= self.world.warmup:
            state["exposure_sum"] += exposure
            state["days"] += 1
        # the book over time: exposure and cumulative credit loss, one system event a day
        self.log.record(float(day), "system", 0, "exposure", value=exposure)
        self.log.record(float(day), "system", 0, "cumulative_loss", value=float(state["loss"]))


def simulate_credit(cfg: CreditConfig, seed, horizon_days: float, warmup_days: float = 0.0,
                    *, keep_events: bool = True) -> CreditResult:
    """Simulate the credit book for one replication (see the module docstring).

    Examples
    --------
    >>> tight = simulate_credit(CreditConfig(customers=200, limit_multiplier=1.0), seed=3, horizon_days=180).metrics
    >>> loose = simulate_credit(CreditConfig(customers=200, limit_multiplier=3.0), seed=3, horizon_days=180).metrics
    >>> tight["lost_sales"] > loose["lost_sales"], tight["holds"] > loose["holds"]
    (True, True)
    """
    world = World(seed, horizon_days, warmup_days)
    run = _CreditRun(cfg, world)
    world.every_day(run.daily, at_hour=12)
    world.run()
    customers = run.customers.join(credit_limits(run.customers, cfg.policy), on="customer_id").assign(
        holds=run.holds, lost_sales=run.lost)
    return _credit_result(cfg, world, run.recs, run.defaulted, run.state, run.t0, customers,
                          world.log.to_frame() if keep_events else None)


def _credit_result(cfg: CreditConfig, world: World, recs: list, defaulted: np.ndarray, state: dict,
                   t0: pd.Timestamp, customers: pd.DataFrame, events: pd.DataFrame | None) -> CreditResult:
    """The receivables table, the year-end ageing and allowance, and the metrics of a run."""
    grades = np.array(list(cfg.grade_shares), dtype=object)
    rc = pd.DataFrame(recs, columns=["customer", "amount", "created", "due", "paid_at"])
    end = t0 + pd.Timedelta(days=int(world.horizon))
    is_open = rc["paid_at"].isna() & ~defaulted[rc["customer"]]
    rc["customer_id"] = "C" + rc["customer"].astype(str)
    rc["grade"] = customers["grade"].to_numpy(object)[rc["customer"]] if len(rc) else grades[:0]
    rc["due_at"] = t0 + pd.to_timedelta(rc["due"], unit="D")
    rc["open"] = np.where(is_open, rc["amount"], 0).astype(np.int64)
    ag = ageing(rc[is_open], today=end, by=None) if is_open.any() else pd.DataFrame(
        [[0] * len(cfg.loss_rates)], columns=bucket_labels(DEFAULT_BUCKETS), index=["all"])
    allowance = float(provision(ag, cfg.loss_rates).loc["total", "allowance"])
    paid = rc[rc["paid_at"].notna() & (rc["created"] >= world.warmup)]
    days = max(1, state["days"])
    avg_exposure = state["exposure_sum"] / days
    m = {
        "sales": float(state["sales"]), "lost_sales": float(state["lost_sales"]), "holds": float(state["holds"]),
        "credit_loss": float(state["loss"]), "avg_exposure": avg_exposure,
        "dso": dso(avg_exposure, state["sales"], days),   # the finance rule: open / sales x days
        "allowance": allowance, "defaults": float(defaulted.sum()),
        "paid_late_share": float((paid["paid_at"] > paid["due"]).mean()) if len(paid) else np.nan,
        "loss_rate": float(state["loss"] / state["sales"]) if state["sales"] else np.nan,
        "dunning_letters": float(state["letters"]), "dunning_fees": float(state["fees"]),
    }
    for b in ag.columns:
        m[f"ageing.{b}"] = float(ag[b].iloc[0])
    ev = events if events is not None else world.log.to_frame().iloc[:0]
    return CreditResult(table=rc, events=ev, metrics=m, customers=customers)


register(ModelSpec(name="credit", config=CreditConfig, simulate=simulate_credit, table="receivables",
                   key_metrics=("sales", "lost_sales", "credit_loss", "dso", "avg_exposure", "allowance", "holds", "paid_late_share",
                                "dunning_letters", "dunning_fees"),
                   figures="crmsim.report.models:credit_figures",
                   units={"sales": "money_minor>=0", "lost_sales": "money_minor>=0", "credit_loss": "money_minor>=0",
                          "avg_exposure": "money_minor>=0", "allowance": "money_minor>=0", "ageing.*": "money_minor>=0",
                          "dso": "days", "holds": "count", "defaults": "count", "dunning_letters": "count",
                          "dunning_fees": "money_minor>=0", "paid_late_share": "share",
                          "loss_rate": "share"}))
