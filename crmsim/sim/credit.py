"""Credit-risk simulation (FEATURES L2C-6): a year of customers ordering on credit.

Each day customers place orders (Poisson); each order passes the credit rule
(:func:`crmsim.finance.credit.within_limit`) against the customer's limit, or is held and the sale
is lost. Receivables fall due after the payment terms and are paid after a delay that depends on
the risk grade (shortened by dunning). Defaults follow the one-factor model month by month: a
common economic factor Z drives correlated defaults (the one-factor rule
:func:`crmsim.finance.portfolio.defaults_given_factor`); a
defaulted customer's open receivables are lost (times LGD) and it stops ordering.

Metrics: sales, sales lost to credit holds, realised credit loss, average exposure, DSO, the
year-end ageing and IFRS 9 allowance (the provision matrix of :mod:`crmsim.finance.ecl`), and the
share of receivables paid late; the event log carries the exposure and cumulative loss of every
day. Run many replications for the distribution of the annual loss (``crmsim.finance.loss_summary``
on the ``credit_loss`` column). Money in minor units.
"""

from __future__ import annotations

import heapq

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from crmsim.calendar import DAYS_PER_MONTH
from crmsim.config import Config
from crmsim.finance.ageing import DEFAULT_BUCKETS, ageing, bucket_labels, dso
from crmsim.finance.credit import within_limit
from crmsim.finance.ecl import provision
from crmsim.finance.portfolio import defaults_given_factor
from crmsim.sim.distributions import Distribution
from crmsim.sim.engine import Result, World
from crmsim.sim.registry import ModelSpec, register

__all__ = ["CreditConfig", "CreditResult", "simulate_credit", "credit_book"]

#: the default risk grades (a scenario or a calibration may use its own names)
GRADES = ("A", "B", "C", "D", "E")


class CreditConfig(Config):
    """A credit book and its policy. Defaults are illustrative assumptions.

    The risk grades are the keys of ``grade_shares`` (your own grade names, as many as you have);
    ``late_days_mean`` and ``annual_pd`` need the same keys. ``days_to_pay`` (optional, per grade)
    replaces terms + an exponential delay by a distribution of the days from invoice to payment,
    e.g. the empirical one :func:`crmsim.experiments.calibrate_credit` fits (heavy tails kept).
    ``order_rate_sigma`` spreads order rates across customers (lognormal sigma; 0 = equal).
    """

    customers: int = Field(default=500, ge=1)   # customers in the book
    #: share of customers per risk grade (your grade names)
    grade_shares: dict[str, float] = {"A": 0.2, "B": 0.3, "C": 0.3, "D": 0.15, "E": 0.05}
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
    late_days_mean: dict[str, float] = {"A": 2, "B": 6, "C": 14, "D": 28, "E": 50}
    #: per grade, days from invoice to payment (replaces terms + late days; calibrate fits it)
    days_to_pay: dict[str, Distribution] = {}
    #: probability of default within a year, per grade
    annual_pd: dict[str, float] = {"A": 0.003, "B": 0.01, "C": 0.025, "D": 0.06, "E": 0.15}
    rho: float = Field(default=0.15, gt=0, lt=1)   # asset correlation of the one-factor default model
    lgd: float = Field(default=0.6, ge=0, le=1)   # loss given default: share of the open amount lost
    dunning_every_days: int = Field(default=0, ge=0)            # 0 = no dunning
    dunning_effect: float = Field(default=0.35, ge=0, le=1)     # delay cut at a weekly cadence
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
        if set(self.loss_rates) != set(bucket_labels(DEFAULT_BUCKETS)):
            raise ValueError(f"loss_rates needs the buckets {bucket_labels(DEFAULT_BUCKETS)}")
        return self


class CreditResult(Result):
    @property
    def receivables(self) -> pd.DataFrame:
        return self.table


def credit_book(cfg: CreditConfig, streams) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The book at the start of a run: each customer's grade (index into ``grade_shares``), order
    rate per day and credit limit (``limit_multiplier`` x the expected open exposure: orders a
    day x days an invoice stays open x the mean amount), from the run's named random streams."""
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


def simulate_credit(cfg: CreditConfig, seed, horizon_days: float, warmup_days: float = 0.0,
                    *, keep_events: bool = True) -> CreditResult:
    """Simulate the credit book for one replication (see the module docstring)."""
    world = World(seed, horizon_days, warmup_days)
    rng = world.streams.rng
    n = cfg.customers
    grades = list(cfg.grade_shares)
    g, rate, limit = credit_book(cfg, world.streams)
    dtp = [cfg.days_to_pay.get(x) for x in grades]
    late = np.array([cfg.late_days_mean[x] for x in grades])[g]
    cut = 1.0
    if cfg.dunning_every_days:
        cut = 1 - cfg.dunning_effect * min(1.0, 7 / cfg.dunning_every_days)
        late = late * cut
    pd_month = 1 - (1 - np.array([cfg.annual_pd[x] for x in grades])[g]) ** (1 / 12)
    s2 = np.log1p(cfg.order_amount_cv**2)
    defaulted = np.zeros(n, dtype=bool)
    open_amt = np.zeros(n, dtype=np.int64)
    recs: list[tuple] = []          # (customer, amount, created, due, paid_at or nan)
    pay_heap: list = []
    state = {"sales": 0, "lost_sales": 0, "loss": 0, "exposure_sum": 0.0, "days": 0, "holds": 0}
    log = world.log

    cycle = cfg.billing_cycle_days
    unbilled = np.zeros(n, dtype=np.int64)

    def invoice(c: int, a: int, day: int, r: np.random.Generator) -> None:
        """An invoice of ``a`` to customer ``c`` on ``day``, and the day it will be paid."""
        due = day + cfg.terms_days
        d = dtp[g[c]]
        if d is None:
            pay_day = due + int(round(r.exponential(late[c])))
        else:   # fitted days from invoice to payment; dunning cuts the days past due
            days = float(d.sample(r, 1)[0])
            pay_day = day + int(round(days if days <= cfg.terms_days else
                                      cfg.terms_days + (days - cfg.terms_days) * cut))
        heapq.heappush(pay_heap, (pay_day, len(recs)))
        recs.append((c, a, day, due, np.nan))

    def daily(now: float) -> None:
        day = int(now)
        r = rng(f"day.{day}")
        # payments due today
        while pay_heap and pay_heap[0][0] <= day:
            t, k = heapq.heappop(pay_heap)
            c, amt = recs[k][0], recs[k][1]
            if not defaulted[c] and np.isnan(recs[k][4]):
                open_amt[c] -= amt
                recs[k] = (*recs[k][:4], float(t))
        # monthly defaults: one common factor
        if day % 30 == 0 and day > 0:
            z = r.standard_normal()
            e = r.standard_normal(n)
            new = ~defaulted & defaults_given_factor(pd_month, cfg.rho, z, e)
            if new.any():
                loss = int(np.round(open_amt[new].sum() * cfg.lgd))
                if day >= world.warmup:
                    state["loss"] += loss
                defaulted[new] = True
                log.extend(np.full(int(new.sum()), float(day)), "customer", np.flatnonzero(new), "default",
                           value=open_amt[new].astype(float))
        # orders
        k = r.poisson(rate * ~defaulted)
        who = np.repeat(np.arange(n), k)
        if who.size:
            amt = np.round(r.lognormal(np.log(cfg.order_amount_mean) - s2 / 2, np.sqrt(s2), who.size)).astype(np.int64)
            for c, a in zip(who.tolist(), amt.tolist()):
                ok = bool(within_limit(open_amt[c] + a, limit[c]))
                if not ok:
                    if day >= world.warmup:
                        state["lost_sales"] += a
                        state["holds"] += 1
                    continue
                if day >= world.warmup:
                    state["sales"] += a
                open_amt[c] += a
                if cycle:
                    unbilled[c] += a
                else:
                    invoice(c, a, day, r)
        if cycle and day % cycle == cycle - 1:   # the bill of the cycle's orders (defaulted: nothing)
            for c in np.flatnonzero((unbilled > 0) & ~defaulted).tolist():
                invoice(c, int(unbilled[c]), day, r)
            unbilled[:] = 0
        if day >= world.warmup:
            state["exposure_sum"] += float(open_amt[~defaulted].sum())
            state["days"] += 1
        # the book over time: exposure and cumulative credit loss, one system event a day
        log.record(float(day), "system", 0, "exposure", value=float(open_amt[~defaulted].sum()))
        log.record(float(day), "system", 0, "cumulative_loss", value=float(state["loss"]))

    world.every_day(daily, at_hour=12)
    world.run()
    rc = pd.DataFrame(recs, columns=["customer", "amount", "created", "due", "paid_at"])
    t0 = pd.Timestamp("2025-01-06")
    end = t0 + pd.Timedelta(days=int(horizon_days))
    is_open = rc["paid_at"].isna() & ~defaulted[rc["customer"]]
    rc["customer_id"] = "C" + rc["customer"].astype(str)
    rc["grade"] = np.array(grades, dtype=object)[g[rc["customer"]]]
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
    }
    for b in ag.columns:
        m[f"ageing.{b}"] = float(ag[b].iloc[0])
    events = log.to_frame()
    return CreditResult(table=rc, events=events if keep_events else events.iloc[:0], metrics=m)


register(ModelSpec(name="credit", config=CreditConfig, simulate=simulate_credit, table="receivables",
                   key_metrics=("sales", "lost_sales", "credit_loss", "dso", "avg_exposure", "allowance", "holds", "paid_late_share"),
                   figures="crmsim.report.models:credit_figures",
                   units={"sales": "money_minor>=0", "lost_sales": "money_minor>=0", "credit_loss": "money_minor>=0",
                          "avg_exposure": "money_minor>=0", "allowance": "money_minor>=0", "ageing.*": "money_minor>=0",
                          "dso": "days", "holds": "count", "defaults": "count", "paid_late_share": "share",
                          "loss_rate": "share"}))
