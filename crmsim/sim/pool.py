"""Public-pool simulation (FEATURES L2C-4): a year of owners, follow-ups, reclaims and claims.

Customers have a latent interest that drifts; a customer nobody has followed up for more than
``loss_grace_days`` may be lost to a competitor (a daily hazard). Reps follow up a fixed number of
their own customers each working day, chosen by a priority policy; a follow-up raises interest and
may close a deal. Each night the reclaim policy (:mod:`crmsim.customers.pool`, or the P(alive)
rule of :mod:`crmsim.customers.activity`) sends customers back to the pool that takes their region
(several pools: the first listing the region, else the first catch-all, as
:func:`crmsim.customers.pool.pool_for` routes); each working afternoon reps below their target
claim from the pools their team is a member of, under each pool's claim rules.

The world's state is held in columns (numpy); the rules see it as a customer table with the
columns of the ``customers`` schema. SimPy schedules the daily jobs.
"""

from __future__ import annotations

import gc
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from crmsim.calendar import SIM_START
from crmsim.config import Config
from crmsim.customers.activity import PAliveRule
from crmsim.customers.pool import (
    ON_CLAIM,
    ON_RECLAIM,
    CustomerColumns,
    Pool,
    ReclaimPolicy,
    ReclaimRule,
    pool_for,
)
from crmsim.sim.distributions import Distribution, LogNormal
from crmsim.sim.engine import EventLog, Result, World
from crmsim.sim.registry import ModelSpec, register

__all__ = ["PoolConfig", "PoolCustomers", "PoolReps", "PoolResult", "simulate_pool", "gini", "interest_from_history"]


class PoolCustomers(Config):
    """The customer base. Defaults are illustrative assumptions, not published figures.

    The grades are the keys of ``grade_shares``, your own names, listed best first (the order the
    ``best_grade`` follow-up priority and the claim preference use).

    Examples
    --------
    >>> c = PoolCustomers(count=100, grade_shares={"Gold": 0.2, "Silver": 0.3, "Bronze": 0.5},
    ...                   grade_value={"Gold": 3.0, "Silver": 1.5, "Bronze": 1.0})
    >>> list(c.grade_shares)
    ['Gold', 'Silver', 'Bronze']
    """

    count: int = Field(ge=1)    # customers in the book
    #: share of customers per grade, best first (your grade names)
    grade_shares: dict[str, float] = {"A": 0.1, "B": 0.2, "C": 0.4, "D": 0.3}
    #: deal amount multiple per grade (an A deal is 4x the deal_amount draw)
    grade_value: dict[str, float] = {"A": 4.0, "B": 2.0, "C": 1.0, "D": 0.5}
    #: a customer's latent interest (0-1) at the start is Beta(interest_alpha, interest_beta)
    interest_alpha: float = Field(default=2.0, gt=0)
    interest_beta: float = Field(default=5.0, gt=0)
    interest_drift_sd: float = Field(default=0.01, ge=0)   # daily random change of interest (sd)
    followup_boost: float = Field(default=0.05, ge=0, le=1)   # a follow-up closes this share of the gap to interest 1
    deal_rate: float = Field(default=0.12, ge=0, le=1)   # P(deal | follow-up) = deal_rate x interest
    #: P(deal | follow-up) multiple per grade (a grade not listed: 1), as calibrate_pool fits it
    grade_deal_rate: dict[str, float] = {}
    after_deal_interest: float = Field(default=0.3, ge=0, le=1)   # interest is multiplied by this after a deal
    deal_amount: Distribution = LogNormal(mean=8000.0, cv=0.9)   # currency units, times the grade_value
    loss_grace_days: int = Field(default=30, ge=0)   # silent longer than this: may be lost to a competitor
    loss_rate_per_year: float = Field(default=0.6, ge=0)   # the loss hazard while silent, per year
    initial_pool_share: float = Field(default=0.1, ge=0, le=1)   # share of customers in the pool at the start
    #: customers per region (reclaimed customers go to the pool that takes their region)
    region_shares: dict[str, float] = {"all": 1.0}

    @model_validator(mode="after")
    def _grades(self) -> PoolCustomers:
        if abs(sum(self.region_shares.values()) - 1) > 1e-6 or any(v < 0 for v in self.region_shares.values()):
            raise ValueError(f"region_shares must be >= 0 and sum to 1, got {self.region_shares}")
        if (not self.grade_shares or abs(sum(self.grade_shares.values()) - 1) > 1e-6
                or any(v < 0 for v in self.grade_shares.values())):
            raise ValueError(f"grade_shares (your grades, best first) must be >= 0 and sum to 1, "
                             f"got {self.grade_shares}")
        if set(self.grade_value) != set(self.grade_shares):
            raise ValueError(f"grade_value needs the grades of grade_shares {sorted(self.grade_shares)}")
        unknown = sorted(set(self.grade_deal_rate) - set(self.grade_shares))
        if unknown or any(v < 0 for v in self.grade_deal_rate.values()):
            raise ValueError(f"grade_deal_rate: grades {unknown} are not in grade_shares {sorted(self.grade_shares)}"
                             if unknown else f"grade_deal_rate must be >= 0, got {self.grade_deal_rate}")
        return self


class PoolReps(Config):
    """The sales team working the customer base.

    Each working day a rep follows up ``followups_per_day`` of their own customers (none followed
    up in the last ``min_gap_days``), chosen by ``priority``. Reps holding fewer than
    ``target_holding`` customers claim from the pool. Initial books are uneven: each rep's share is
    lognormal with sigma ``book_skew`` (0 = equal books), as when senior reps hoard accounts.

    Examples
    --------
    >>> PoolReps(count=5, followups_per_day=8, book_skew=0.0).followups_per_day
    8
    """

    count: int = Field(ge=1)    # reps
    followups_per_day: int = Field(default=8, ge=0)   # follow-ups per rep per working day
    workdays: tuple[int, ...] = (0, 1, 2, 3, 4)   # working weekdays (0 = Monday)
    priority: Literal["most_silent", "best_grade", "random"] = "most_silent"   # whom a rep follows up first
    min_gap_days: int = Field(default=7, ge=0)   # no follow-up of a customer followed up fewer days ago
    target_holding: int = Field(default=250, ge=0)   # a rep holding fewer claims from the pool
    #: which pool customers a rep claims first: the best grade, those longest in the pool, or any
    claim_order: Literal["best_grade", "oldest_in_pool", "random"] = "best_grade"
    book_skew: float = Field(default=0.8, ge=0)   # lognormal sigma of initial book shares (0 = equal)
    team: str = "t1"   # the team of every rep when teams is empty
    #: reps per team (must add up to ``count``); empty: every rep is in ``team``
    teams: dict[str, int] = {}

    @model_validator(mode="after")
    def _teams(self) -> PoolReps:
        if self.teams and sum(self.teams.values()) != self.count:
            raise ValueError(f"teams {self.teams} hold {sum(self.teams.values())} reps, but count is {self.count}")
        return self

    def team_of(self) -> list[str]:
        """The team of each rep, in rep order."""
        if not self.teams:
            return [self.team] * self.count
        return [t for t, k in self.teams.items() for _ in range(k)]


class PoolConfig(Config):
    """A complete public-pool world: customers, reps, pools and the reclaim policy.

    Examples
    --------
    >>> cfg = PoolConfig(customers={"count": 200}, reps={"count": 4})
    >>> r = simulate_pool(cfg, seed=1, horizon_days=60)
    >>> r.metrics["reclaims"] >= 0, len(r.table)
    (True, 200)
    """

    customers: PoolCustomers
    reps: PoolReps
    pools: tuple[Pool, ...] = (Pool(pool_id="main"),)
    policy: ReclaimPolicy = ReclaimPolicy(rules=(ReclaimRule(kind="no_followup", limit_days=30),),
                                          exempt_open_opportunity=False, exempt_followup_plan=False)
    reclaim_by: Literal["rules", "p_alive"] = "rules"
    p_alive: PAliveRule = PAliveRule()

    @model_validator(mode="after")
    def _pools(self) -> PoolConfig:
        ids = [p.pool_id for p in self.pools]
        if not ids or len(set(ids)) != len(ids):
            raise ValueError(f"pools need distinct pool_ids, got {ids}")
        self.region_pool()   # every region goes somewhere
        teams = set(self.reps.team_of())
        for p in self.pools:
            unknown = sorted(set(p.teams) - teams)
            if unknown:
                raise ValueError(f"pool '{p.pool_id}' names teams {unknown} that no rep is in; teams are {sorted(teams)}")
        return self

    def region_pool(self) -> dict[str, int]:
        """Region -> index of the pool its reclaimed customers go to, by the pools' own routing
        rule (:func:`crmsim.customers.pool.pool_for`)."""
        index = {p.pool_id: k for k, p in enumerate(self.pools)}
        out, unrouted = {}, []
        for r in self.customers.region_shares:
            try:
                out[r] = index[pool_for(pd.DataFrame({"customer_id": [r], "region": [r]}), self.pools).iloc[0]]
            except ValueError:
                unrouted.append(r)
        if unrouted:
            raise ValueError(f"no pool takes customers of regions {unrouted} (add a catch-all pool or list them)")
        return out


class PoolResult(Result):
    """Output of one replication: the per-customer table, the event log and the metrics.

    Examples
    --------
    >>> r = simulate_pool(PoolConfig(customers={"count": 50}, reps={"count": 2}), seed=1, horizon_days=30)
    >>> isinstance(r, PoolResult), "customer_id" in r.table.columns
    (True, True)
    """

    @property
    def customers(self) -> pd.DataFrame:
        return self.table


def gini(x) -> float:
    """Gini coefficient of non-negative values (0 = equal, -> 1 = concentrated).

    Examples
    --------
    >>> gini([1, 1, 1, 1]), round(gini([0, 0, 0, 4]), 2)
    (0.0, 0.75)
    """
    a = np.sort(np.asarray(x, dtype=float))
    if a.size == 0 or a.sum() == 0:
        return 0.0
    n = a.size
    return float((2 * np.arange(1, n + 1) - n - 1).dot(a) / (n * a.sum()))


_T0 = SIM_START  # day 0 of every run: a Monday
#: the date of day 0 of every pool run (what the run's event days count from)
HISTORY_START = _T0


class _Book:
    """The customer base as columns, with the table view the rules read."""

    def __init__(self, cfg: PoolConfig, world: World, start_book: pd.DataFrame | None = None,
                 start_at: pd.Timestamp = None):
        c, self.cfg, self.w = cfg.customers, cfg, world
        self.t0 = pd.Timestamp(start_at) if start_at is not None else _T0
        self.day0 = float(np.datetime64(self.t0.date(), "D").astype(np.int64))   # day 0 as days since 1970
        rng = world.streams.rng("init")
        R = cfg.reps.count
        grades, regions = list(c.grade_shares), list(c.region_shares)
        self.grade_names = np.array(grades)
        self.region_names = np.array(regions, dtype=object)
        route = cfg.region_pool()
        self.region_pool = np.array([route[r] for r in regions], dtype=np.int64)
        self.pool_ids = np.array([p.pool_id for p in cfg.pools], dtype=object)
        self.rep_team = np.array(cfg.reps.team_of(), dtype=object)
        self.claims_by_pool = np.zeros(len(cfg.pools), dtype=np.int64)
        self.rep_ids = np.array([f"R{i:03d}" for i in range(R)], dtype=object)
        self.R = R
        if start_book is not None:
            self._from_table(start_book, rng)
        else:
            n = c.count
            self.n = n
            self.grade = rng.choice(len(grades), size=n, p=np.array(list(c.grade_shares.values())))
            self.interest = rng.beta(c.interest_alpha, c.interest_beta, n)
            in_pool = rng.random(n) < c.initial_pool_share
            self.region = (world.streams.rng("init.region").choice(len(regions), size=n, p=list(c.region_shares.values()))
                           if len(regions) > 1 else np.zeros(n, dtype=np.int64))
            self.pool = np.where(in_pool, self.region_pool[self.region], -1)
            share = rng.lognormal(0.0, cfg.reps.book_skew, R)
            self.owner = np.where(in_pool, -1, rng.choice(R, size=n, p=share / share.sum()))
            self.received = np.where(in_pool, np.nan, -rng.integers(0, 365, n).astype(float))
            since = rng.integers(1, 46, n).astype(float)   # days since the last follow-up before day 0
            self.last_fu = np.where(in_pool, -since - 30, np.maximum(self.received, -since))
            self.last_deal = np.full(n, np.nan)
            self.deal_closed = np.zeros(n, dtype=bool)
            self.lost = np.zeros(n, dtype=bool)
            self.entered_pool = np.where(in_pool, -since - 1, np.nan)
            self.prev_owner = np.full(n, -1)
            self.left_owner = np.where(in_pool, -since - 1, np.nan)
            self.ids_in = None
        n = self.n
        self.value_mult = np.array([c.grade_value[g] for g in grades])[self.grade]
        self.deal_mult = np.array([c.grade_deal_rate.get(g, 1.0) for g in grades])[self.grade]
        self.deals = np.zeros(n, dtype=np.int64)
        self._never = np.full(n, np.nan)   # dates the simulated book never has (opportunities, contract ends)
        self.deals_since_received = np.zeros(n, dtype=np.int64)
        # (customer, rep) ownerships as customer * R + rep (32-bit when every pair fits): the
        # initial owners, then one per claim
        self._key_type = np.int32 if self.n * R < 2**31 else np.int64
        self._ownerships = [(np.flatnonzero(self.owner >= 0) * R + self.owner[self.owner >= 0]).astype(self._key_type)]
        self._pending = 0
        self.followups_by_rep = np.zeros(R, dtype=np.int64)
        self.capacity_by_rep = np.zeros(R, dtype=np.int64)
        self.reclaims = 0
        self.claims = 0

    def _from_table(self, t: pd.DataFrame, rng: np.random.Generator) -> None:
        """The book as a customers table says it is at day 0 (every customer, the pool's with no
        ``owner_id``): :func:`crmsim.customers.replay.state_at` with ``include_pool=True``."""
        from crmsim.errors import InputError
        from crmsim.tables import day_numbers, flag_column

        c = self.cfg.customers
        if "customer_id" not in t.columns or "owner_id" not in t.columns:
            raise InputError("start_book: needs the columns customer_id and owner_id (empty = in the pool)")
        n = len(t)
        if n == 0:
            raise InputError("start_book: the table has no customers")
        self.n = n
        self.ids_in = t["customer_id"].astype(str).to_numpy()

        def codes(col: str, names: np.ndarray, shares: dict) -> np.ndarray:
            if col not in t.columns:
                return (rng.choice(len(names), size=n, p=list(shares.values())) if len(names) > 1
                        else np.zeros(n, dtype=np.int64))
            v = t[col].astype(str).str.strip()
            idx = pd.Index(names).get_indexer(v)
            if (idx < 0).any():
                bad = sorted(set(v[idx < 0]))[:5]
                raise InputError(f"start_book: column '{col}' has values {bad} that are not the scenario's "
                                 f"{col}s {list(names)}")
            return idx.astype(np.int64)

        self.grade = codes("grade", self.grade_names, c.grade_shares)
        self.region = codes("region", self.region_names, c.region_shares)
        day0 = self.day0

        def days(col: str) -> np.ndarray:
            if col not in t.columns:
                return np.full(n, np.nan)
            return day_numbers(t[col], "start_book") - day0

        own = t["owner_id"]
        owned = own.notna().to_numpy() & (own.astype(str).str.strip() != "").to_numpy()
        names = sorted(set(own[owned].astype(str)))
        if len(names) > self.R:
            raise InputError(f"start_book: {len(names)} owners hold customers but the scenario has reps.count = "
                             f"{self.R}; set reps.count to at least {len(names)}")
        self.rep_ids[: len(names)] = names
        rep = pd.Index(self.rep_ids)
        self.owner = np.where(owned, rep.get_indexer(own.astype(str)), -1)
        prev = t["previous_owner_id"].astype(str) if "previous_owner_id" in t.columns else pd.Series([""] * n)
        self.prev_owner = rep.get_indexer(prev)     # -1 for an owner who holds nothing now
        pool_col = t["pool_id"].astype(str) if "pool_id" in t.columns else pd.Series([""] * n)
        pk = pd.Index(self.pool_ids).get_indexer(pool_col)
        self.pool = np.where(owned, -1, np.where(pk >= 0, pk, self.region_pool[self.region]))
        self.received = np.where(owned, days("received_at"), np.nan)
        self.received[owned & np.isnan(self.received)] = -365.0
        fu = days("last_followup_at")
        self.last_fu = np.where(np.isnan(fu), np.where(owned, self.received, -365.0), fu)
        self.last_deal = days("last_deal_at")
        self.deal_closed = (flag_column(t["deal_closed"], "start_book") if "deal_closed" in t.columns
                            else ~np.isnan(self.last_deal))
        self.deal_closed = np.asarray(self.deal_closed, dtype=bool)
        self.lost = (np.asarray(flag_column(t["lost"], "start_book"), dtype=bool) if "lost" in t.columns
                     else np.zeros(n, dtype=bool))
        self.entered_pool = np.where(owned, np.nan, days("entered_pool_at"))
        self.entered_pool[~owned & np.isnan(self.entered_pool)] = -365.0
        self.left_owner = np.where(owned, np.nan, days("left_owner_at"))
        if "interest" in t.columns:
            self.interest = pd.to_numeric(t["interest"], errors="coerce").to_numpy(float)
            bad = ~((self.interest >= 0) & (self.interest <= 1))
            if bad.any():
                raise InputError(f"start_book: column 'interest' must be a number in [0, 1]; rows "
                                 f"{np.flatnonzero(bad)[:5].tolist()} are not")
        else:
            self.interest = rng.beta(c.interest_alpha, c.interest_beta, n)

    #: the book's array behind each column the claim and reclaim changes set, and its missing value
    _COLUMNS = {"owner_id": ("owner", -1), "previous_owner_id": ("prev_owner", -1), "pool_id": ("pool", -1),
                "received_at": ("received", np.nan), "entered_pool_at": ("entered_pool", np.nan),
                "left_owner_at": ("left_owner", np.nan)}

    def change(self, idx: np.ndarray, spec: dict[str, str], values: dict) -> None:
        """Apply a claim or reclaim (:data:`crmsim.customers.pool.ON_CLAIM` / ``ON_RECLAIM``) to
        customers ``idx``: the same column changes the table functions make."""
        for col, what in spec.items():
            attr, missing = self._COLUMNS[col]
            getattr(self, attr)[idx] = missing if what == "clear" else values[what]

    def ids(self, codes: np.ndarray, names: np.ndarray) -> pd.Series:
        """Codes (-1 = missing) as names."""
        return pd.Series(np.where(codes >= 0, names[np.maximum(codes, 0)], None), dtype="object")

    def _dates(self, days: np.ndarray) -> np.ndarray:
        """Day numbers of the run (float, NaN = missing) as datetime64 dates."""
        d = np.datetime64(self.t0.date(), "D") + np.nan_to_num(days).astype("timedelta64[D]")
        d[np.isnan(days)] = np.datetime64("NaT")
        return d.astype("datetime64[us]")

    def owned_by(self, idx: np.ndarray, rep: int) -> None:
        """Note that customers ``idx`` have been owned by ``rep`` (for the owners count)."""
        self._ownerships.append((idx * self.R + rep).astype(self._key_type))
        self._pending += idx.size
        if self._pending > 2 * self.n:   # keep the list about as long as the distinct pairs
            self.owners()

    def owners(self) -> np.ndarray:
        """Distinct owners each customer has had in the run (its initial owner included)."""
        keys = np.sort(np.concatenate(self._ownerships))
        keys = keys[np.r_[True, keys[1:] != keys[:-1]]] if keys.size else keys
        self._ownerships, self._pending = [keys], 0
        return np.bincount(keys // self.R, minlength=self.n)

    def rule_view(self) -> CustomerColumns:
        """The whole book as the reclaim rules read it (:class:`~crmsim.customers.pool.CustomerColumns`):
        the same columns as :meth:`frame`, without building a table."""
        never = self._never
        return CustomerColumns(self.n, owned=self.owner >= 0, origin=self.day0, dates={
            "received_at": self.received, "last_followup_at": self.last_fu, "last_deal_at": self.last_deal,
            "entered_pool_at": self.entered_pool, "left_owner_at": self.left_owner,
            "last_opportunity_at": never, "contract_end_at": never,
        }, flags={"locked": False, "deal_closed": self.deal_closed, "open_opportunities": False,
                  "followup_plan_active": False},
            text={"grade": lambda: self.grade_names[self.grade], "region": lambda: self.region_names[self.region]})

    def frame(self, idx: np.ndarray) -> pd.DataFrame:
        """Rows ``idx`` as a customers table (schema ``customers``, pool columns)."""
        return pd.DataFrame({
            "customer_id": idx,
            "owner_id": self.ids(self.owner[idx], self.rep_ids),
            "grade": self.grade_names[self.grade[idx]],
            "region": self.region_names[self.region[idx]],
            "pool_id": self.ids(self.pool[idx], self.pool_ids),
            "entered_pool_at": self._dates(self.entered_pool[idx]),
            "previous_owner_id": self.ids(self.prev_owner[idx], self.rep_ids),
            "left_owner_at": self._dates(self.left_owner[idx]),
            "received_at": self._dates(self.received[idx]),
            "last_followup_at": self._dates(self.last_fu[idx]),
            "last_deal_at": self._dates(self.last_deal[idx]),
            "last_opportunity_at": self._dates(np.full(idx.size, np.nan)),
            "contract_end_at": self._dates(np.full(idx.size, np.nan)),
            "locked": False,
            "deal_closed": self.deal_closed[idx],
            "open_opportunities": 0,
            "followup_plan_active": False,
        }, copy=False)


def _boosted(c: PoolCustomers, interest: np.ndarray) -> np.ndarray:
    """Interest after a follow-up: it closes ``followup_boost`` of the gap to 1."""
    return interest + c.followup_boost * (1 - interest)


def _after_deal(c: PoolCustomers, interest: np.ndarray) -> np.ndarray:
    return interest * c.after_deal_interest


def interest_from_history(c: PoolCustomers, customer: np.ndarray, t: np.ndarray, is_deal: np.ndarray,
                          until: float, rng: np.random.Generator, n: int) -> np.ndarray:
    """The latent interest of ``n`` customers at day ``until`` given what they went through: a
    draw from the prior, then each customer's follow-ups (``is_deal`` False) and deals (True), at
    days ``t``, in order, moved by the same updates the simulation makes, and the daily drift for
    the days since the first of them. ``customer``: row numbers ``0..n-1``. What a history shows
    of the unobserved interest: the start of a simulation from a real book.

    Examples
    --------
    >>> import numpy as np
    >>> c = PoolCustomers(count=3)
    >>> x = interest_from_history(c, np.array([0, 0, 1]), np.array([1.0, 5.0, 2.0]), np.array([False, True, False]),
    ...                           until=10.0, rng=np.random.default_rng(0), n=3)
    >>> x.shape, bool(((x >= 0) & (x <= 1)).all())
    ((3,), True)
    """
    x = rng.beta(c.interest_alpha, c.interest_beta, n)
    order = np.lexsort((is_deal, t, customer))   # a deal is closed on the follow-up of its day
    cu, dl = customer[order], is_deal[order]
    first = np.full(n, np.nan)
    if cu.size:
        start = np.searchsorted(cu, cu, side="left")
        rank = np.arange(cu.size) - start
        np.fmin.at(first, cu, t[order])
        for k in range(int(rank.max()) + 1):
            sel = rank == k
            f, d = cu[sel & ~dl], cu[sel & dl]
            x[f] = _boosted(c, x[f])
            x[d] = _after_deal(c, x[d])
    days = np.where(np.isnan(first), 0.0, np.maximum(until - first, 0.0))
    return np.clip(x + rng.normal(0, 1, n) * c.interest_drift_sd * np.sqrt(days), 0, 1)


def _first_k(group: np.ndarray, key: np.ndarray, k: int, groups: int) -> np.ndarray:
    """Positions of the ``k`` smallest keys in each group (ties: the earlier position first), in
    order of group then key: the first ``k`` per group of ``np.lexsort((key, group))``.

    Whole-number keys of a small range are cut first to a superset of each group's first ``k``
    by a histogram per group (linear time), so only a few per group are sorted."""
    sub = np.arange(group.size)
    if key.size and np.array_equal(key, np.floor(key)):
        span = int(key.max() - key.min()) + 1
        if span * groups <= 4 * group.size + 100_000:
            kk = (key - key.min()).astype(np.int64)
            count = np.bincount(group * span + kk, minlength=groups * span).reshape(groups, span)
            cut = (np.cumsum(count, axis=1) < k).sum(axis=1)   # the k-th smallest key of each group
            sub = np.flatnonzero(kk <= cut[group])
    order = sub[np.lexsort((key[sub], group[sub]))]
    g = group[order]
    start = np.r_[0, np.flatnonzero(g[1:] != g[:-1]) + 1] if g.size else np.zeros(0, dtype=np.int64)
    rank = np.arange(g.size) - np.repeat(start, np.diff(np.r_[start, g.size]))
    return order[rank < k]


def _work(book: _Book, day: float, cfg: PoolConfig, world: World) -> None:
    """Each rep follows up ``followups_per_day`` own customers, by the priority policy."""
    c, reps = cfg.customers, cfg.reps
    k = reps.followups_per_day
    book.capacity_by_rep += k
    owned = np.flatnonzero((book.owner >= 0) & (day - book.last_fu >= reps.min_gap_days))
    rng = world.streams.rng(f"work.{int(day)}")
    if owned.size == 0 or k == 0:
        return
    last = book.last_fu[owned]
    if reps.priority == "most_silent":   # the longest silent first: the earliest last follow-up
        key = last
    elif reps.priority == "best_grade":   # the best grade first, then the longest silent
        key = book.grade[owned] * (np.ptp(last) + 1) + (last - last.min())
    else:
        key = rng.random(owned.size)
    chosen = owned[_first_k(book.owner[owned], key, k, book.R)]
    book.last_fu[chosen] = day
    np.add.at(book.followups_by_rep, book.owner[chosen], 1)
    alive = chosen[~book.lost[chosen]]
    book.interest[alive] = _boosted(c, book.interest[alive])
    deal = alive[rng.random(alive.size) < np.minimum(1.0, c.deal_rate * book.deal_mult[alive]) * book.interest[alive]]
    amount = c.deal_amount.sample(rng, deal.size) * book.value_mult[deal]
    book.deals[deal] += 1
    book.deals_since_received[deal] += 1
    book.last_deal[deal] = day
    book.deal_closed[deal] = True
    book.interest[deal] = _after_deal(c, book.interest[deal])
    world.log.extend(day, "customer", chosen, "followup", actor=book.owner[chosen])
    world.log.extend(day, "customer", deal, "deal", actor=book.owner[deal], value=amount)


def _nightly(book: _Book, day: float, cfg: PoolConfig, world: World) -> None:
    """Interest drifts, silent customers may be lost, then the reclaim job runs."""
    c = cfg.customers
    rng = world.streams.rng(f"night.{int(day)}")
    book.interest = np.clip(book.interest + rng.normal(0, c.interest_drift_sd, book.n), 0, 1)
    silent = (day - book.last_fu) > c.loss_grace_days
    p = 1 - np.exp(-c.loss_rate_per_year / 365)
    newly = np.flatnonzero(silent & ~book.lost & (rng.random(book.n) < p))
    book.lost[newly] = True
    world.log.extend(day, "customer", newly, "lost")
    owned = book.owner >= 0
    if not owned.any():
        return
    today = book.t0 + pd.Timedelta(days=day)
    view = book.rule_view()
    if cfg.reclaim_by == "rules":
        due = cfg.policy.due(view, today)
    else:
        idx = np.flatnonzero(owned)
        summary = _activity_summary(book, idx, day)
        exempt = cfg.policy.exempt_reason(view).notna().to_numpy()[idx]
        due = np.zeros(book.n, dtype=bool)
        due[idx] = cfg.p_alive.fires(summary).to_numpy() & ~exempt
    gone = np.flatnonzero(due)
    world.log.extend(day, "customer", gone, "reclaim", actor=book.owner[gone])
    book.change(gone, ON_RECLAIM, {"today": day, "owner": book.owner[gone],
                                   "pool": book.region_pool[book.region[gone]]})
    book.reclaims += gone.size


def _activity_summary(book: _Book, idx: np.ndarray, day: float) -> pd.DataFrame:
    """Frequency / recency / T in weeks per customer over the current ownership: receipt counts
    as the first transaction, deals since then as repeat transactions."""
    start = book.received[idx]
    x = book.deals_since_received[idx]
    last = np.where(x > 0, book.last_deal[idx], start)
    return pd.DataFrame({"frequency": x, "recency": (last - start) / 7, "T": (day - start) / 7})


def _claims(book: _Book, day: float, cfg: PoolConfig, world: World,
            claimed_today: np.ndarray) -> None:
    """Reps below their target claim from the pools they are members of (in pool order), in
    their ``claim_order`` (best grade first by default), under each pool's claim rules."""
    if not (book.owner < 0).any():
        return
    reps = cfg.reps
    rng = world.streams.rng(f"claims.{int(day)}")
    for k, pool in enumerate(cfg.pools):
        rules = pool.claim
        pool_idx = np.flatnonzero((book.owner < 0) & (book.pool == k))
        if pool_idx.size == 0:
            continue
        counted = (book.owner >= 0) & (True if rules.cap_counts_closed else ~book.deal_closed)
        held = np.bincount(book.owner[counted], minlength=book.R)   # after claims from earlier pools
        taken = np.zeros(book.n, dtype=bool)
        # reps see grade and time in the pool, not the latent interest or whether a customer is lost
        tie = rng.random(pool_idx.size)
        if reps.claim_order == "best_grade":
            pref = np.lexsort((tie, book.grade[pool_idx]))
        elif reps.claim_order == "oldest_in_pool":
            pref = np.lexsort((tie, book.entered_pool[pool_idx]))
        else:
            pref = np.argsort(tie, kind="stable")
        candidates = pool_idx[pref]
        got_by, rep_by = [], []
        for r in rng.permutation(book.R):
            want = reps.target_holding - held[r]
            if want <= 0:
                continue
            free = candidates[~taken[candidates]][: 3 * want + 10]
            if free.size == 0:
                break
            cand = {
                "in_pool": np.ones(free.size, dtype=bool),
                "member": float(not pool.teams or book.rep_team[r] in pool.teams),
                "days_in_pool": day - book.entered_pool[free],
                "former_owner": book.prev_owner[free] == r,
                "days_since_left": day - book.left_owner[free],
                "held": held[r],
                "claimed_today": claimed_today[r],
            }
            # the rep sees which customers they may claim (one by one) and asks for those they want
            # (so an all-or-nothing pool never refuses their request)
            ok = rules.grant_codes(cand, held=int(held[r]), claimed_today=int(claimed_today[r]),
                                   batch="per_customer") == 0
            got = free[ok][:want]
            taken[got] = True
            book.change(got, ON_CLAIM, {"today": day, "rep": r})
            book.deals_since_received[got] = 0
            held[r] += got.size
            claimed_today[r] += got.size
            book.owned_by(got, r)
            book.claims += got.size
            book.claims_by_pool[k] += got.size
            got_by.append(got)
            rep_by.append(np.full(got.size, r, dtype=np.int64))
        if got_by:   # one block per pool and day, in the order the claims were made
            world.log.extend(day, "customer", np.concatenate(got_by), "claim", actor=np.concatenate(rep_by))


def simulate_pool(cfg: PoolConfig, seed, horizon_days: float, warmup_days: float = 0.0,
                  *, keep_events: bool = True, start_book: pd.DataFrame | None = None,
                  start_at=None) -> PoolResult:
    """Simulate the public pool for one replication.

    The book at day 0 is drawn from ``cfg.customers`` unless ``start_book`` gives it: a customers
    table of every customer (``customer_id``, ``owner_id`` empty for the pool's, and where known
    ``grade``, ``region``, ``pool_id``, ``received_at``, ``last_followup_at``, ``last_deal_at``,
    ``deal_closed``, ``previous_owner_id``, ``left_owner_at``, ``entered_pool_at``, ``lost``), as
    :func:`crmsim.customers.replay.state_at` (``include_pool=True``) reads it from your history.
    Its dates count from ``start_at`` (the date of day 0, default :data:`HISTORY_START`), and so do
    the weekdays; ``customers.count`` and the grade/region shares are then the table's, the latent
    interest is the table's ``interest`` column (see :func:`interest_from_history`) or a draw from
    its prior, and the events' ``entity_id`` is the row of ``start_book``.

    ``keep_events=False`` returns an empty event log and stores only the deals and losses the
    metrics need while running (a sweep's replications: about a third of the memory).

    Metrics (over [warmup, horizon]): ``deals``, ``revenue``, ``conversion`` (share of customers
    with a deal), ``lost`` (to competitors), ``median_silent_days`` (customers not lost, at the
    horizon), ``reclaims``, ``claims``, ``owners_3plus`` (customers touched by 3+ owners; ``owners_3plus_share`` of all customers),
    ``utilisation`` (follow-ups done / capacity) and ``gini_holding`` (Gini of customers held per
    rep at the horizon).

    Examples
    --------
    >>> cfg = PoolConfig(customers=PoolCustomers(count=300), reps=PoolReps(count=3, target_holding=90))
    >>> r = simulate_pool(cfg, seed=1, horizon_days=60)
    >>> r.metrics["reclaims"] > 0 and r.metrics["claims"] > 0
    True
    """
    world, book, counters = _run(cfg, seed, horizon_days, warmup_days, keep_events, start_book, start_at)
    m, table = _book_summary(book, cfg, world, counters)
    # the book's arrays are freed before the log becomes a frame, so that the two are never held
    # at once (a year of 100k customers: about 20 MB of book beside a 60 MB log)
    log, warmup, n = world.log, world.warmup, book.n
    del world, book
    gc.collect()   # the world, its processes and the book refer to each other
    events = log.to_frame()
    e = events.iloc[int(np.searchsorted(events["t"].to_numpy(), warmup, side="left")):]   # sorted by t
    deals = e[e["event"] == "deal"]
    m = {"customers": float(n), "deals": float(len(deals)), "revenue": float(deals["value"].sum()),
         "conversion": float(deals["entity_id"].nunique() / n), "lost": float((e["event"] == "lost").sum()),
         **m}
    return PoolResult(table=table, events=events if keep_events else events.iloc[:0], metrics=m)


def _run(cfg: PoolConfig, seed, horizon_days: float, warmup_days: float, keep_events: bool,
         start_book: pd.DataFrame | None, start_at) -> tuple[World, _Book, dict]:
    """One replication run to its horizon: the world (with its log), the book at the horizon and
    the counters at the end of the warm-up."""
    world = World(seed, horizon_days, warmup_days)
    if not keep_events:   # the metrics need only deals and losses
        world.log = EventLog(only=frozenset({"deal", "lost"}))
    book = _Book(cfg, world, start_book, start_at)
    workdays = set(cfg.reps.workdays)
    wd0 = book.t0.day_of_week
    claimed = np.zeros(book.R, dtype=np.int64)
    counters = {}

    def work(now: float) -> None:
        d = float(np.floor(now))
        if d == world.warmup and "start" not in counters:
            counters["start"] = (book.reclaims, book.claims, book.followups_by_rep.copy(),
                                 book.capacity_by_rep.copy(), book.claims_by_pool.copy())
        if (int(d) + wd0) % 7 in workdays:
            _work(book, d, cfg, world)

    def afternoon(now: float) -> None:
        d = float(np.floor(now))
        claimed[:] = 0
        if (int(d) + wd0) % 7 in workdays:
            _claims(book, d, cfg, world, claimed)

    world.every_day(work, at_hour=9)
    world.every_day(afternoon, at_hour=16)
    world.every_day(lambda now: _nightly(book, float(np.floor(now)), cfg, world), at_hour=0)
    world.run()
    return world, book, counters


def _book_summary(book: _Book, cfg: PoolConfig, world: World, counters: dict) -> tuple[dict, pd.DataFrame]:
    """The metrics read from the book at the horizon (all but the deals and losses, which the log
    has) and the per-customer table."""
    reclaims0, claims0, fu0, cap0, pool0 = counters.get(
        "start", (0, 0, np.zeros(book.R), np.zeros(book.R), np.zeros(len(cfg.pools))))
    horizon_day = np.floor(world.horizon - 1e-9)
    alive = ~book.lost
    held = np.bincount(book.owner[book.owner >= 0], minlength=book.R)
    owners = book.owners()
    fu = book.followups_by_rep - fu0
    cap = book.capacity_by_rep - cap0
    m = {
        "median_silent_days": float(np.median(horizon_day - book.last_fu[alive])) if alive.any() else np.nan,
        "reclaims": float(book.reclaims - reclaims0),
        "claims": float(book.claims - claims0),
        "owners_3plus": float((owners >= 3).sum()),
        "owners_3plus_share": float((owners >= 3).sum() / book.n),
        "in_pool_end": float((book.owner < 0).sum()),
        "utilisation": float(fu.sum() / cap.sum()) if cap.sum() else np.nan,
        "gini_holding": gini(held),
    }
    if len(cfg.pools) > 1:   # per pool: what is left in it, and how much was claimed from it
        for k, pid in enumerate(book.pool_ids):
            m[f"in_pool_end.{pid}"] = float(((book.owner < 0) & (book.pool == k)).sum())
            m[f"claims.{pid}"] = float(book.claims_by_pool[k] - pool0[k])
    table = book.frame(np.arange(book.n))
    if book.ids_in is not None:
        table["customer_id"] = book.ids_in
    table = table.assign(lost=book.lost, deals=book.deals, interest=book.interest, owners=owners)
    return m, table


register(ModelSpec(name="pool", config=PoolConfig, simulate=simulate_pool, table="customers",
                   key_metrics=("revenue", "deals", "lost", "reclaims", "owners_3plus", "median_silent_days", "utilisation", "gini_holding"),
                   figures="crmsim.report.models:pool_figures",
                   units={"customers": "count", "deals": "count", "revenue": "money>=0", "conversion": "share", "lost": "count",
                          "median_silent_days": "days", "reclaims": "count", "claims": "count", "owners_3plus": "count",
                          "owners_3plus_share": "share", "in_pool_end": "count", "utilisation": "share",
                          "gini_holding": "ratio", "in_pool_end.*": "count", "claims.*": "count"}))
