"""Lead-funnel simulation (FEATURES L2C-1, L2C-3 at funnel level).

Leads arrive per channel; a share fails the intake quality gate (quarantined) and a share
duplicates an earlier lead (merged). The scoring rule grades the rest and marks MQLs. MQLs are
assigned to reps by the assignment rule; reps work first contacts within their working calendar,
so contact waits; a lead with a patience (``outcomes.patience_hours``) gives up when its first
contact has not started within it (abandoned: Erlang A, M/M/c+M, when patience and work are
exponential on an always-on calendar). The chance to qualify (SQL) is the lead's intent times the
response curve at its time to first contact. SQLs become opportunities, which close won or lost after a cycle time.
A daily job recycles leads that waited too long (the recycle rule).

Only waiting and capacity go through SimPy; arrivals, attributes, scoring and every outcome draw
are vectorised, and every decision calls a domain rule from :mod:`crmsim.leads`.

Every lead ends in exactly one :data:`STATES` value: a terminal one or an open one at the horizon.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from itertools import compress
from types import SimpleNamespace
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field, field_validator, model_validator

from crmsim.calendar import SIM_START
from crmsim.config import Config
from crmsim.leads.assignment import SHARED, AssignmentRule
from crmsim.leads.channels import (
    COMPANY_SIZES,
    DEFAULT_CHANNELS,
    JOB_LEVELS,
    ChannelProfile,
    arrival_times,
    attribute_draws,
)
from crmsim.leads.lifecycle import RecycleRule, ResponseCurve
from crmsim.leads.metrics import funnel_metrics
from crmsim.leads.scoring import ScoringRule
from crmsim.sim.distributions import Distribution, Gamma, LogNormal
from crmsim.sim.engine import Result, WorkCalendar, World
from crmsim.sim.records import RecordsConfig, draws_per_lead, gate_and_dedup, lead_records
from crmsim.sim.registry import ModelSpec, register
from crmsim.tables import STAGE_OF_STATUS

__all__ = ["FunnelConfig", "RepsConfig", "OutcomeConfig", "ChannelOutcomes", "FunnelResult", "STATES", "EXPORT_STATUS", "export_history",
           "STAGE_OF_STATE", "stage_history",
           "TERMINAL_STATES", "simulate_funnel"]

TERMINAL_STATES = ("quarantined", "merged", "nurture", "recycled", "abandoned", "disqualified",
                   "sql_no_opportunity", "won", "lost")
OPEN_STATES = ("queued", "in_contact", "opportunity_open")
STATES = TERMINAL_STATES + OPEN_STATES


class RepsConfig(Config):
    """The sales team working MQLs.

    ``calendar.hours_per_day`` is the time a rep gives to leads a day (not the whole working day);
    ``contact_hours`` is the work one first contact takes, in hours. ``sql_hours``, when set, is
    the work a lead qualified as SQL then takes from the same rep at once (discovery call,
    proposal), in the same hours: follow-up work competes with first contacts. Unset, only first
    contacts take rep time.

    Examples
    --------
    >>> r = RepsConfig(count=4, contact_hours={"kind": "constant", "value": 0.5})
    >>> r.count, r.contact_hours.mean(), r.calendar.hours_per_day
    (4, 0.5, 4.0)
    """

    count: int = Field(ge=1)
    calendar: WorkCalendar = WorkCalendar(hours_per_day=4.0, start_hour=9.0)
    contact_hours: Distribution = LogNormal(mean=0.75, cv=0.5)
    sql_hours: Distribution | None = None


class ChannelOutcomes(Config):
    """One channel's own outcome parameters; each one left unset takes the funnel-wide value of
    :class:`OutcomeConfig` (a calibrated scenario sets those a channel has enough data for).

    Examples
    --------
    >>> ChannelOutcomes(win_rate=0.4).deal_amount is None
    True
    """

    sql_to_opportunity: float | None = Field(default=None, ge=0, le=1)
    win_rate: float | None = Field(default=None, ge=0, le=1)
    cycle_days: Distribution | None = None
    deal_amount: Distribution | None = None
    patience_hours: Distribution | None = None


class OutcomeConfig(Config):
    """What happens after first contact.

    ``response`` scales each lead's intent by its time to first contact (default: HBR 2011, see
    :data:`crmsim.leads.lifecycle.HBR_2011_RESPONSE`). ``sql_to_opportunity`` and ``win_rate``
    are probabilities; ``cycle_days`` is the time from SQL to close; ``deal_amount`` the value of
    a won deal. ``by_channel`` overrides any of the last four for a channel. ``cycle_from``
    says where the cycle time counts from: the end of first contact (``contact``, default) or the
    lead's creation (``created``: as an export without contact or SQL dates measures it; a deal
    then closes at the later of contact end and creation + cycle). ``patience_hours``, when set,
    is how long an MQL waits for its first contact to start, in clock hours (nights and weekends
    count), before it gives up: it leaves the queue as ``abandoned`` and takes no rep time
    (``by_channel`` may give a channel its own). Unset (default), leads wait until contacted or
    recycled. Defaults are illustrative assumptions, not published figures.

    Examples
    --------
    >>> o = OutcomeConfig(win_rate=0.25, by_channel={"referral": {"win_rate": 0.4}})
    >>> o.win_rate, o.by_channel["referral"].win_rate, o.by_channel["referral"].sql_to_opportunity
    (0.25, 0.4, None)
    """

    response: ResponseCurve = ResponseCurve()
    sql_to_opportunity: float = Field(default=0.6, ge=0, le=1)
    win_rate: float = Field(default=0.25, ge=0, le=1)
    cycle_days: Distribution = Gamma(shape=2.0, scale=22.0)
    deal_amount: Distribution = LogNormal(mean=12000.0, cv=0.8)
    by_channel: dict[str, ChannelOutcomes] = {}
    cycle_from: Literal["contact", "created"] = "contact"
    patience_hours: Distribution | None = None

    def patience_for(self, channel: str) -> Distribution | None:
        """The patience (hours) of one channel's leads: its own, else the funnel-wide one (or None)."""
        own = self.by_channel.get(channel, ChannelOutcomes()).patience_hours
        return self.patience_hours if own is None else own

    def for_channel(self, channel: str) -> tuple[float, float, Distribution, Distribution]:
        """``(sql_to_opportunity, win_rate, cycle_days, deal_amount)`` of one channel."""
        o = self.by_channel.get(channel, ChannelOutcomes())
        pick = lambda own, default: default if own is None else own  # noqa: E731
        return (pick(o.sql_to_opportunity, self.sql_to_opportunity), pick(o.win_rate, self.win_rate),
                pick(o.cycle_days, self.cycle_days), pick(o.deal_amount, self.deal_amount))


class FunnelConfig(Config):
    """A complete funnel world: channels, rules, team and outcomes.

    Scoring may use any points rule over the lead attributes the funnel draws (``channel``,
    ``company_size``, ``job_level``, ``engagement``); behaviour rules need an events table and are
    not available here.

    ``records`` (:class:`crmsim.sim.records.RecordsConfig`), when set, gives every lead a contact
    record and lets the intake rules and the dedup rule decide what is quarantined and merged
    (else a channel's ``invalid_share`` is quarantined and its ``duplicate_share`` merged, exactly).

    Examples
    --------
    >>> cfg = FunnelConfig(channels={"web": {"volume_per_week": 40}, "Trade Fair 2025": {"volume_per_week": 10}},
    ...                    reps={"count": 2})
    >>> r = simulate_funnel(cfg, seed=1, horizon_days=28)
    >>> sorted(r.table["channel"].astype(str).unique()), r.metrics["leads"] > 0
    (['Trade Fair 2025', 'web'], True)
    """

    channels: dict[str, ChannelProfile] = Field(default_factory=lambda: dict(DEFAULT_CHANNELS))
    scoring: ScoringRule = ScoringRule()
    assignment: AssignmentRule = AssignmentRule()
    recycle: RecycleRule = RecycleRule()
    reps: RepsConfig
    outcomes: OutcomeConfig = OutcomeConfig()
    records: RecordsConfig | None = None

    @field_validator("assignment")
    @classmethod
    def _supported(cls, v: AssignmentRule) -> AssignmentRule:
        if v.policy == "score_tiered" or v.routes or v.tie_break == "random":
            raise ValueError("the funnel simulation supports round_robin, least_loaded and "
                             "shared_queue with rotation tie-breaks and no routes (yet)")
        return v

    @field_validator("channels")
    @classmethod
    def _some_channels(cls, v: dict[str, ChannelProfile]) -> dict[str, ChannelProfile]:
        if not v:
            raise ValueError("at least one channel is needed")
        blank = [k for k in v if not str(k).strip()]
        if blank:
            raise ValueError("a channel name must not be empty")
        return v

    @model_validator(mode="after")
    def _outcome_channels(self) -> FunnelConfig:
        unknown = sorted(set(self.outcomes.by_channel) - set(self.channels))
        if unknown:
            raise ValueError(f"outcomes.by_channel names channel(s) {unknown} that [channels] does "
                             f"not declare; channels are {list(self.channels)}")
        return self


class FunnelResult(Result):
    """Output of one replication: the per-lead table, the event log and the metrics.

    Examples
    --------
    >>> r = simulate_funnel(FunnelConfig(reps={"count": 2}), seed=1, horizon_days=14)
    >>> isinstance(r, FunnelResult), r.leads is r.table
    (True, True)
    """

    @property
    def leads(self) -> pd.DataFrame:
        return self.table


def _draw_leads(cfg: FunnelConfig, world: World) -> dict[str, np.ndarray]:
    """Every lead's attributes and all its random draws, column by column, sorted by arrival
    time (``channel``, ``company_size`` and ``job_level`` as codes into ``names``,
    :data:`COMPANY_SIZES` and :data:`JOB_LEVELS`). Per-channel constants (the stage rates and the
    cost per lead) are not repeated per lead: :func:`_per_channel` spreads them when asked.

    Each channel and each purpose has its own stream, so a lead keeps its draws in every variant
    that keeps its channel profile (common random numbers).
    """
    parts: list[dict[str, np.ndarray]] = []
    names = tuple(cfg.channels)
    for ch, prof in cfg.channels.items():
        rng = world.streams.rng
        _, _, cycle, amount = cfg.outcomes.for_channel(ch)
        t = arrival_times(prof, world.horizon, rng(f"arrivals.{ch}"))
        n = t.size
        att = attribute_draws(prof, n, rng(f"attributes.{ch}"))
        u = rng(f"intake.{ch}").random((2, n))
        v = rng(f"outcomes.{ch}").random((3, n))
        parts.append({
            "t": t,
            "channel": np.full(n, names.index(ch), dtype=np.int8 if len(names) < 128 else np.int32),
            **att,
            "invalid": u[0] < prof.invalid_share,
            "dup_draw": u[1] < prof.duplicate_share,
            "u_pick": rng(f"merge.{ch}").random(n),
            **(draws_per_lead(rng(f"records.{ch}"), n) if cfg.records is not None else {}),
            "u_sql": v[0], "u_opp": v[1], "u_win": v[2],
            "work_h": cfg.reps.contact_hours.sample(rng(f"work.{ch}"), n),
            "cycle_d": cycle.sample(rng(f"cycle.{ch}"), n),
            "amount": amount.sample(rng(f"amount.{ch}"), n),
            "sql_h": (cfg.reps.sql_hours.sample(rng(f"sqlwork.{ch}"), n) if cfg.reps.sql_hours is not None
                      else np.zeros(n)),
            "patience_d": (np.full(n, np.inf) if (pat := cfg.outcomes.patience_for(ch)) is None
                           else pat.sample(rng(f"patience.{ch}"), n) / 24),
        })
        del att, u, v
    # where each channel's leads go in arrival order (stable: channel order breaks ties)
    order = np.argsort(np.concatenate([p["t"] for p in parts]), kind="stable")
    dest = np.empty(order.size, dtype=np.int64)
    dest[order] = np.arange(order.size)
    del order
    cuts = np.cumsum([0] + [p["t"].size for p in parts])
    cols = {}
    for k in list(parts[0]):   # column by column, each channel's draws freed once placed
        out = np.empty(dest.size, dtype=parts[0][k].dtype)
        for c, p in enumerate(parts):
            out[dest[cuts[c]:cuts[c + 1]]] = p.pop(k)
        cols[k] = out
    for k in ("work_h", "cycle_d", "sql_h", "patience_d"):
        if (cols[k] < 0).any():
            raise ValueError("contact_hours, sql_hours, cycle_days and patience_hours must not produce "
                             "negative values")
    return cols


def _per_channel(cfg: FunnelConfig, channel: np.ndarray, what: str) -> np.ndarray:
    """A per-channel constant for every lead (``channel`` are codes into ``cfg.channels``):
    ``p_opp`` and ``p_win`` (the outcomes' stage rates) or ``cost`` (the cost per lead)."""
    def value(ch: str, prof: ChannelProfile) -> float:
        s2o, win, _, _ = cfg.outcomes.for_channel(ch)
        return float({"p_opp": s2o, "p_win": win, "cost": prof.cost_per_lead}[what])

    return np.asarray([value(ch, prof) for ch, prof in cfg.channels.items()], dtype=float)[channel]


def _intake(d: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(invalid, duplicate, survivor index) per lead; a duplicate merges into an earlier lead."""
    invalid = d["invalid"]
    cand = ~invalid & d["dup_draw"]
    primary = ~invalid & ~cand
    prim_idx = np.flatnonzero(primary)
    before = np.cumsum(primary) - primary  # primaries strictly before each lead
    dup = cand & (before > 0)
    survivor = np.full(invalid.size, -1, dtype=np.int64)
    k = np.flatnonzero(dup)
    survivor[k] = prim_idx[(d["u_pick"][k] * before[k]).astype(np.int64)]
    return invalid, dup, survivor


def _records_through_the_rules(d: dict[str, np.ndarray], invalid: np.ndarray, dup: np.ndarray,
                               survivor: np.ndarray, cfg: RecordsConfig):
    """The leads' records judged by the scenario's intake and dedup rules: ``(quarantined,
    merged, merged_into, records)``. A lead with bad data that passes the gate, or a second record
    of a person that is not merged, is worked like any lead but cannot become a deal (its intent
    is 0); a lead merged into another person's record is lost. ``records`` has each lead's record,
    the intake's ``reasons``, its ``person`` (the first lead of the same person), which of the
    rules' answers were wrong (``duplicate_missed``, ``merged_wrongly``, ``bad_data_accepted``) and
    the dedup rule's skipped blocks in ``attrs``."""
    rec = lead_records(d, invalid, dup, survivor, cfg)
    for k in [k for k in d if k.startswith("rec.")]:
        del d[k]
    g = gate_and_dedup(rec, cfg)
    n = invalid.size
    person = np.where(dup, survivor, np.arange(n))
    merged = g.merged_into >= 0
    wrong = merged & (person != person[np.where(merged, g.merged_into, 0)])
    missed = dup & ~g.quarantined & ~merged & ~g.quarantined[np.where(dup, survivor, 0)]
    d["intent"][(invalid & ~g.quarantined) | missed] = 0.0
    rec["reasons"] = g.reasons
    rec["person"] = person
    rec["merged_into"] = g.merged_into
    rec["duplicate_missed"], rec["merged_wrongly"], rec["bad_data_accepted"] = missed, wrong, invalid & ~g.quarantined
    rec.attrs["skipped_blocks"] = g.skipped_blocks
    return g.quarantined, merged, g.merged_into, rec


def _record_metrics(records: pd.DataFrame | None, counted: np.ndarray, contacted: np.ndarray) -> dict[str, float]:
    """What the intake and dedup rules got wrong, over the counted leads (0 without records:
    the shares are then quarantined and merged exactly): ``duplicate_hours`` is the rep time
    first contacts of unmerged second records took."""
    if records is None:
        return {"duplicates_missed": 0.0, "merged_wrongly": 0.0, "bad_data_accepted": 0.0, "dedup_skipped_blocks": 0.0,
                "duplicate_hours": 0.0}
    return {"duplicates_missed": float(records["duplicate_missed"].to_numpy()[counted].sum()),
            "duplicate_hours": float(records["duplicate_work_h"].to_numpy()[counted & contacted].sum()),
            "merged_wrongly": float(records["merged_wrongly"].to_numpy()[counted].sum()),
            "bad_data_accepted": float(records["bad_data_accepted"].to_numpy()[counted].sum()),
            "dedup_skipped_blocks": float(records.attrs["skipped_blocks"])}


def _p_sql(intent: np.ndarray, ttfc_h: np.ndarray, response: ResponseCurve) -> np.ndarray:
    """The chance a contacted lead qualifies: its intent times the response curve at its time to
    first contact (hours), clipped to [0, 1]."""
    return np.clip(intent * response.multiplier(np.nan_to_num(ttfc_h)), 0, 1)


#: Round-robin desks run each rep's queue in turn (one SimPy event per rep and working day);
#: False runs them event by event like the other policies (the reference the tests compare to).
_IN_TURN = True


class _Desk:
    """Queues, reps and their SimPy processes: the only part of the funnel that needs SimPy."""

    def __init__(self, world: World, cfg: FunnelConfig, t: np.ndarray, work_h: np.ndarray,
                 leads: dict[str, np.ndarray] | None = None, patience_d: np.ndarray | None = None):
        self.w, self.env = world, world.env
        self.cal = cfg.reps.calendar
        self.recycle = cfg.recycle
        self.n = cfg.reps.count
        self.assigner = cfg.assignment.assigner(self.n)
        self.shared = cfg.assignment.policy == "shared_queue"
        self.in_turn = _IN_TURN and cfg.assignment.policy == "round_robin"
        self.queues = [deque()] if self.shared else [deque() for _ in range(self.n)]
        self.idle: deque[tuple[int, object]] = deque()
        self.idle_by_rep: dict[int, object] = {}
        self.load = np.zeros(self.n)
        # Per-lead records are Python lists while SimPy runs lead by lead (scalar access to lists
        # is several times faster than to numpy arrays); finish() turns them into arrays. A
        # round-robin desk without SQL work runs on arrays (_rep_batched).
        N = t.size
        batched = self.in_turn and not (cfg.reps.sql_hours is not None and leads is not None)
        if batched:
            self.t, self.work_h = t, work_h
            self._owner, self._assigned = np.full(N, -1, dtype=np.int64), np.full(N, np.nan)
            self._start, self._end = np.full(N, np.nan), np.full(N, np.nan)
        else:
            self.t, self.work_h = t.tolist(), work_h.tolist()
            self._owner, self._assigned = [-1] * N, [np.nan] * N
            self._start, self._end = [np.nan] * N, [np.nan] * N
        self.recycled_at = np.full(N, np.nan)
        # Patience: a queued lead abandons at assignment + patience. Who is abandoned is exact
        # (a rep skips a lead whose deadline has passed); loads drop at the deadline's first
        # decision point (an assignment, a rep taking work, the nightly job) through a heap.
        self.patient = patience_d is not None and bool(np.isfinite(patience_d).any())
        self.patience = (None if not self.patient else patience_d if batched else patience_d.tolist())
        self._deadline = np.full(N, np.inf) if batched else [math.inf] * N
        self._expiry: list[tuple[float, int]] = []
        self.abandoned_at = np.full(N, np.nan)
        self.backlog: list[tuple[float, int]] = []
        # SQL follow-up work (optional): qualified at contact end by the same rule as the outcomes
        self.sql_work = cfg.reps.sql_hours is not None and leads is not None
        self._sql_start = [np.nan] * N if self.sql_work else np.full(N, np.nan)
        self._sql_end = [np.nan] * N if self.sql_work else np.full(N, np.nan)
        if self.sql_work:
            self.response = cfg.outcomes.response
            self.intent = leads["intent"].tolist()
            self.u_sql = leads["u_sql"].tolist()
            self.sql_h = leads["sql_h"].tolist()

    def _wake(self, rep: int | None) -> None:
        if rep is None:  # shared queue: wake the longest-idle rep
            while self.idle:
                r, ev = self.idle.popleft()
                if self.idle_by_rep.get(r) is ev:
                    del self.idle_by_rep[r]
                    ev.succeed()
                    return
        else:
            ev = self.idle_by_rep.pop(rep, None)
            if ev is not None:
                ev.succeed()

    def arrivals(self, mql_idx: np.ndarray):
        env, t = self.env, self.t
        for i in mql_idx:
            dt = t[i] - env.now
            if dt > 0:
                yield env.timeout(dt)
            self._assigned[i] = env.now
            if self.patient:
                self._expire(env.now)
                d = self._deadline[i] = env.now + self.patience[i]
                if d < math.inf:
                    heapq.heappush(self._expiry, (d, i))
            r = self.assigner.choose(self.load)
            if r == SHARED:
                self.queues[0].append(i)
                self._wake(None)
            else:
                self._owner[i] = r
                self.load[r] += 1
                self.queues[r].append(i)
                self._wake(r)

    def rep(self, r: int):
        env, cal = self.env, self.cal
        q = self.queues[0] if self.shared else self.queues[r]
        while True:
            t_open = cal.next_open(env.now)
            if t_open > env.now:
                yield env.timeout(t_open - env.now)
            if self.patient:
                self._drop_gone(q, env.now)
            if not q:
                ev = env.event()
                self.idle_by_rep[r] = ev
                if self.shared:
                    self.idle.append((r, ev))
                yield ev
                continue
            i = q.popleft()
            if self.shared:
                self._owner[i] = r
                self.load[r] += 1
            self._start[i] = now = env.now
            yield env.timeout(cal.advance(now, self.work_h[i]) - now)
            self._end[i] = env.now
            if self.sql_work and self._qualifies(i):
                self._sql_start[i] = env.now
                yield env.timeout(cal.advance(env.now, self.sql_h[i]) - env.now)
                self._sql_end[i] = env.now
            self.load[r] -= 1

    def _abandon(self, i: int) -> None:
        """Lead ``i`` gave up at its deadline (once; its rep's load drops)."""
        if self.abandoned_at[i] != self.abandoned_at[i] and self._start[i] != self._start[i] \
                and self.recycled_at[i] != self.recycled_at[i]:
            self.abandoned_at[i] = self._deadline[i]
            if self._owner[i] >= 0:
                self.load[self._owner[i]] -= 1

    def _expire(self, now: float) -> None:
        """Every queued lead whose patience ran out by ``now`` abandons (at its deadline)."""
        h = self._expiry
        while h and h[0][0] <= now:
            self._abandon(heapq.heappop(h)[1])

    def _drop_gone(self, q: deque, now: float) -> None:
        """Leads at the head of ``q`` that abandoned by ``now`` leave it."""
        while q and (self.abandoned_at[q[0]] == self.abandoned_at[q[0]] or self._deadline[q[0]] <= now):
            self._abandon(q.popleft())

    def _qualifies(self, i: int) -> bool:
        """The SQL rule of the outcomes (:func:`_p_sql`), for one lead at its contact end."""
        ttfc_h = np.array([(self._start[i] - self.t[i]) * 24])
        return bool(self.u_sql[i] < _p_sql(np.array([self.intent[i]]), ttfc_h, self.response)[0])

    def nightly(self, now: float) -> None:
        """The daily batch job: recycle leads waiting too long, then record the backlog.

        Queues are FIFO by assignment time, so the recycle rule is asked first about each
        queue's oldest lead, and about the whole queue only where that one is due.
        """
        if self.patient:  # abandoned leads leave every queue before the recycle rule is asked
            self._expire(now)
            for q in self.queues:
                if q and any(self.abandoned_at[i] == self.abandoned_at[i] for i in q):
                    keep = [i for i in q if self.abandoned_at[i] != self.abandoned_at[i]]
                    q.clear()
                    q.extend(keep)
        busy = [q for q in self.queues if q]
        if busy and self.recycle.max_wait_days > 0:
            heads = np.array([self._assigned[q[0]] for q in busy])
            for q in compress(busy, self.recycle.due_days(heads, now)):
                items = np.fromiter(q, dtype=np.int64, count=len(q))
                due = self.recycle.due_days(np.array([self._assigned[i] for i in q]), now)
                gone = items[due]
                self.recycled_at[gone] = now
                if not self.shared:
                    np.subtract.at(self.load, [self._owner[i] for i in gone], 1)
                q.clear()
                q.extend(items[~due].tolist())
        self.backlog.append((now, sum(len(q) for q in busy) if busy else 0))

    def finish(self) -> None:
        """After the run: leads whose patience ran out by the horizon abandon; per-lead records
        as arrays."""
        if self.in_turn:
            self._backlog_in_turn()
        elif self.patient:
            self._expire(self.env.now)
        self.owner = np.asarray(self._owner, dtype=np.int64)
        self.assigned_at = np.asarray(self._assigned, dtype=float)
        self.c_start = np.asarray(self._start, dtype=float)
        self.c_end = np.asarray(self._end, dtype=float)
        self.work_h = np.asarray(self.work_h, dtype=float)
        self.sql_start = np.asarray(self._sql_start, dtype=float)
        self.sql_end = np.asarray(self._sql_end, dtype=float)
        self._owner = self._assigned = self._start = self._end = self._sql_start = self._sql_end = None
        self.t = self.patience = self._deadline = self._recycle_night = None

    def per_lead(self, n: int, idx: np.ndarray) -> SimpleNamespace:
        """The desk's records of its leads (lead ``k`` is lead ``idx[k]`` of ``n``) over all ``n``
        leads: missing (NaN, owner -1) for the leads that never reached it."""
        def spread(x: np.ndarray, missing) -> np.ndarray:
            out = np.full(n, missing, dtype=x.dtype)
            out[idx] = x
            return out

        return SimpleNamespace(
            owner=spread(self.owner, -1), assigned_at=spread(self.assigned_at, np.nan),
            c_start=spread(self.c_start, np.nan), c_end=spread(self.c_end, np.nan),
            recycled_at=spread(self.recycled_at, np.nan), abandoned_at=spread(self.abandoned_at, np.nan))

    def start(self, mql_idx: np.ndarray) -> None:
        if self.in_turn:
            return self._start_in_turn(mql_idx)
        for r in range(self.n):
            self.env.process(self.rep(r))
        self.env.process(self.arrivals(mql_idx.tolist()))
        self.w.every_day(self.nightly, at_hour=0.0)

    # --- Assignment in turn (round robin): who gets a lead does not depend on the desk's state, so
    # each rep's queue is known when the lead arrives, and a rep works it as a FIFO queue: the
    # rep takes the oldest waiting lead when free and open, skipping one that the nightly recycle
    # rule (RecycleRule.first_due_night) has sent back or whose patience has run out. A rep is one
    # SimPy process: one event per batch of its queue (_rep_batched), or, with SQL follow-up work,
    # one per working day it works (_rep_in_turn); not two per lead. What each lead went through
    # is the same as the event-by-event desk's (tested).

    def _start_in_turn(self, mql_idx: np.ndarray) -> None:
        owners = self.assigner.in_turn(len(mql_idx))   # the rule, in arrival order
        idx = np.asarray(mql_idx, dtype=np.int64)
        own = np.full(len(self._owner), -1, dtype=np.int64)
        own[idx] = owners
        t = np.asarray(self.t, dtype=float)
        night = self.recycle.first_due_night(t)
        dead = t + np.asarray(self.patience) if self.patient else np.full(t.size, np.inf)
        assigned = np.full(t.size, np.nan)   # a lead is assigned on arrival
        assigned[idx] = t[idx]
        if self.sql_work:   # follow-up work after a contact depends on its start: lead by lead
            self._owner, self._assigned = own.tolist(), assigned.tolist()
            self._recycle_night, self._deadline = night.tolist(), dead.tolist()
            for r in range(self.n):
                self.env.process(self._rep_in_turn(idx[owners == r].tolist()))
            return
        self._owner, self._assigned, self._deadline = own, assigned, dead
        work_d = np.asarray(self.work_h, dtype=float) / 24
        for r in range(self.n):
            self.env.process(self._rep_batched(idx[owners == r], t, work_d, night, dead))

    def _rep_in_turn(self, leads: list[int]):
        env, cal, H = self.env, self.cal, self.w.horizon
        t, work, night, dead = self.t, self.work_h, self._recycle_night, self._deadline
        start, end = self._start, self._end
        now, k, n = 0.0, 0, len(leads)
        while k < n:
            i = leads[k]
            o = cal.next_open(now)
            if o > now:
                now = now + (o - now)
            if now >= H:
                break
            if t[i] > now:      # nothing waiting: idle until it arrives
                now = t[i]
                continue
            k += 1
            if night[i] < now and night[i] < dead[i]:   # recycled at that night, still waiting
                self.recycled_at[i] = night[i]
                continue
            if dead[i] <= now:   # gave up before the rep came to it
                self.abandoned_at[i] = dead[i]
                continue
            if math.floor(now) > math.floor(env.now):   # SimPy: the rep's next working day
                yield env.timeout(now - env.now)
            start[i] = now
            e = now + (cal.advance(now, work[i]) - now)
            if e >= H:
                break
            end[i] = now = e
            if self.sql_work and self._qualifies(i):
                self._sql_start[i] = now
                e = now + (cal.advance(now, self.sql_h[i]) - now)
                if e >= H:
                    break
                self._sql_end[i] = now = e
        for i in leads[k:]:   # never reached by the horizon: recycled or abandoned while waiting
            if night[i] < H and night[i] < dead[i]:
                self.recycled_at[i] = night[i]
            elif dead[i] <= H:
                self.abandoned_at[i] = dead[i]

    def _rep_batched(self, leads: np.ndarray, t_all: np.ndarray, work_d: np.ndarray,
                     night_all: np.ndarray, dead_all: np.ndarray):
        """One rep's FIFO queue (``leads``, in arrival order) solved in batches: in working-time
        coordinates (:meth:`WorkCalendar.worked`) a contact ends at its start plus its work, and
        starts at the later of its arrival and the previous contact's end, so a batch's ends are
        a cumulative sum and a running maximum (Lindley's recursion). A batch is kept up to the
        first lead that the recycle rule sent back or whose patience ran out before the rep came
        to it, or that the horizon cuts; that lead is decided as in :meth:`_rep_in_turn` (what
        each lead goes through is the same, to floating-point rounding: tested) and the next batch
        starts after it. SimPy moves the rep's clock once per batch."""
        env, cal, H = self.env, self.cal, self.w.horizon
        t, s, night, dead = t_all[leads], work_d[leads], night_all[leads], dead_all[leads]
        a = cal.worked(t)
        n = leads.size
        start, end = np.full(n, np.nan), np.full(n, np.nan)
        rec, gone = np.full(n, np.nan), np.full(n, np.nan)
        k, ew, er, size = 0, 0.0, 0.0, 1024   # next lead; the last contact's end (worked, clock)
        while k < n:
            b = min(n, k + size)
            sk = s[k:b]
            cs = np.cumsum(sk)
            e_w = cs + np.maximum(np.maximum.accumulate(a[k:b] - (cs - sk)), ew)
            e_r = cal.from_worked(e_w)
            prev = np.concatenate(([er], e_r[:-1]))
            d = cal.next_open_at(np.maximum(t[k:b], prev))   # when the rep comes to each lead
            ni, de = night[k:b], dead[k:b]
            stop = (d >= H) | ((ni < d) & (ni < de)) | (de <= d) | (e_r >= H)
            j = int(stop.argmax()) if stop.any() else b - k
            if j:
                start[k:k + j] = d[:j]
                end[k:k + j] = np.where(sk[:j] == 0, d[:j], e_r[:j])
                ew, er = float(e_w[j - 1]), float(end[k + j - 1])
            k += j
            if k < b:
                if d[j] >= H:
                    break
                if not ((ni[j] < d[j]) & (ni[j] < de[j]) | (de[j] <= d[j])):   # started, not finished by the horizon
                    start[k] = d[j]
                    k += 1
                    break
                # a run of leads that left before the rep came to them (the rep's state is unchanged)
                dd = cal.next_open_at(np.maximum(t[k:b], er))
                ni, de = night[k:b], dead[k:b]
                left = (dd < H) & (((ni < dd) & (ni < de)) | (de <= dd))
                m = int((~left).argmax()) if not left.all() else b - k
                r_ = (ni[:m] < dd[:m]) & (ni[:m] < de[:m])
                rec[k:k + m] = np.where(r_, ni[:m], np.nan)
                gone[k:k + m] = np.where(r_, np.nan, de[:m])
                k += m
                size = max(16, 2 * (j + 1))
            else:
                size = min(2 * size, 8192)
            if er > env.now:
                yield env.timeout(er - env.now)
        tail = slice(k, n)   # never reached by the horizon: recycled or abandoned while waiting
        r_ = (night[tail] < H) & (night[tail] < dead[tail])
        rec[tail] = np.where(r_, night[tail], np.nan)
        gone[tail] = np.where(~r_ & (dead[tail] <= H), dead[tail], np.nan)
        self._start[leads], self._end[leads] = start, end
        done = ~np.isnan(rec)
        self.recycled_at[leads[done]] = rec[done]
        done = ~np.isnan(gone)
        self.abandoned_at[leads[done]] = gone[done]

    def _backlog_in_turn(self) -> None:
        """Queued leads at each nightly run (after its recycling), from each lead's times: waiting
        from its arrival until it is contacted, recycled or gives up."""
        t = np.asarray(self.t)
        start = np.asarray(self._start, dtype=float)
        leave = np.fmin(np.fmin(start, self.recycled_at), self.abandoned_at)
        nights = np.arange(0.0, math.ceil(self.w.horizon))
        nights = nights[nights < self.w.horizon]
        came = np.searchsorted(np.sort(t), nights, side="right")
        left = np.searchsorted(np.sort(leave[~np.isnan(leave)]), nights, side="right")
        self.backlog = list(zip(nights.tolist(), (came - left).tolist()))


def simulate_funnel(cfg: FunnelConfig, seed, horizon_days: float, warmup_days: float = 0.0,
                    *, keep_events: bool = True) -> FunnelResult:
    """Simulate the funnel for one replication.

    Parameters
    ----------
    cfg : the world and its rules.
    seed : the replication's ``numpy.random.SeedSequence`` (or an int).
    horizon_days, warmup_days : leads created before ``warmup_days`` are simulated but not counted.
    keep_events : return the event log (else an empty one; metrics are computed either way).

    Examples
    --------
    >>> cfg = FunnelConfig(reps=RepsConfig(count=5))
    >>> r = simulate_funnel(cfg, seed=1, horizon_days=14)
    >>> int(r.leads["state"].value_counts().sum()) == len(r.leads)
    True
    """
    world = World(seed, horizon_days, warmup_days)
    H = world.horizon
    d = _draw_leads(cfg, world)   # columns are dropped (freed) once used: a run's memory is its output
    t = d.pop("t")
    N = t.size
    invalid, dup, survivor = _intake(d)
    for k in ("invalid", "dup_draw", "u_pick"):
        del d[k]
    records = None
    if cfg.records is not None:
        invalid, dup, survivor, records = _records_through_the_rules(d, invalid, dup, survivor, cfg.records)
    primary = ~invalid & ~dup
    if cfg.scoring.behaviour:
        raise ValueError("the funnel simulation has no behaviour events: remove scoring.behaviour")
    cats = {"channel": tuple(cfg.channels), "company_size": COMPANY_SIZES, "job_level": JOB_LEVELS}
    attr = {k: pd.Categorical.from_codes(d.pop(k), categories=c) for k, c in cats.items()}
    attr["engagement"] = d.pop("engagement")
    scored = cfg.scoring.apply(pd.DataFrame({k: v[primary] for k, v in attr.items()}, copy=False))
    score = np.full(N, np.nan)
    score[primary] = scored["score"].to_numpy()
    gcodes = np.full(N, -1, dtype=np.int8)
    gcodes[primary] = scored["grade"].cat.codes.to_numpy()
    grade = pd.Categorical.from_codes(gcodes, categories=scored["grade"].cat.categories)
    mql = np.zeros(N, dtype=bool)
    mql[primary] = scored["mql"].to_numpy()
    del scored

    # the desk holds the MQLs only (its lead k is lead mql_idx[k]); its records are then spread
    # back over every lead
    mql_idx = np.flatnonzero(mql)
    sql_inputs = ({k: d[k][mql_idx] for k in ("intent", "u_sql", "sql_h")} if cfg.reps.sql_hours is not None
                  else None)
    if records is not None:   # the first-contact work a second record of a person takes, if contacted
        records["duplicate_work_h"] = np.where(records["duplicate_missed"].to_numpy(), d["work_h"], 0.0)
    desk = _Desk(world, cfg, t[mql_idx], d.pop("work_h")[mql_idx], sql_inputs, d.pop("patience_d")[mql_idx])
    del sql_inputs, d["sql_h"]
    desk.start(np.arange(mql_idx.size))
    world.run()
    desk.finish()
    per_lead = desk.per_lead(N, mql_idx)
    team, backlog = _team_metrics(desk, world, cfg), desk.backlog
    del desk, mql_idx

    # Outcomes of finished first contacts, vectorised.
    channel = attr["channel"].codes
    done = ~np.isnan(per_lead.c_end)
    ttfc_h = (per_lead.c_start - t) * 24
    sql = np.zeros(N, dtype=bool)   # asked of the leads whose first contact ended only
    k = np.flatnonzero(done)
    sql[k] = d.pop("u_sql")[k] < _p_sql(d["intent"][k], ttfc_h[k], cfg.outcomes.response)
    del k
    opp = sql & (d.pop("u_opp") < _per_channel(cfg, channel, "p_opp"))
    cycle = d.pop("cycle_d")
    close_t = (per_lead.c_end + cycle if cfg.outcomes.cycle_from == "contact"
               else np.fmax(per_lead.c_end, t + cycle) + np.where(np.isnan(per_lead.c_end), np.nan, 0.0))
    del cycle
    closed = opp & (close_t <= H)
    won = closed & (d.pop("u_win") < _per_channel(cfg, channel, "p_win"))
    lost = closed & ~won
    recycled = ~np.isnan(per_lead.recycled_at)
    abandoned = ~np.isnan(per_lead.abandoned_at)
    in_contact = ~np.isnan(per_lead.c_start) & ~done
    queued = mql & np.isnan(per_lead.c_start) & ~recycled & ~abandoned

    conds = {"quarantined": invalid, "merged": dup, "nurture": primary & ~mql,
             "recycled": recycled, "abandoned": abandoned, "queued": queued, "in_contact": in_contact,
             "disqualified": done & ~sql, "sql_no_opportunity": sql & ~opp, "won": won,
             "lost": lost, "opportunity_open": opp & ~closed}
    codes = np.select(list(conds.values()), [np.int8(STATES.index(k)) for k in conds], default=np.int8(-1))
    if (codes < 0).any():  # pragma: no cover - a bug, not an input problem
        raise AssertionError(f"{int((codes < 0).sum())} leads without a state")
    del conds, queued, in_contact
    state = pd.Categorical.from_codes(codes, categories=STATES)
    cost = _per_channel(cfg, channel, "cost")

    ids = np.arange(N, dtype=np.int64)
    log = world.log
    log.extend(t, "lead", ids, "created", value=cost)
    log.extend(t[invalid], "lead", ids[invalid], "quarantined")
    log.extend(t[dup], "lead", ids[dup], "merged", value=survivor[dup].astype(float))
    del survivor
    log.extend(t[primary], "lead", ids[primary], "scored", value=score[primary])
    log.extend(t[mql], "lead", ids[mql], "mql")
    nurture = primary & ~mql
    log.extend(t[nurture], "lead", ids[nurture], "nurture")
    asg = ~np.isnan(per_lead.assigned_at)
    log.extend(per_lead.assigned_at[asg], "lead", ids[asg], "assigned", actor=per_lead.owner[asg])
    st = ~np.isnan(per_lead.c_start)
    log.extend(per_lead.c_start[st], "lead", ids[st], "contacted", actor=per_lead.owner[st])
    log.extend(per_lead.recycled_at[recycled], "lead", ids[recycled], "recycled")
    log.extend(per_lead.abandoned_at[abandoned], "lead", ids[abandoned], "abandoned", actor=per_lead.owner[abandoned])
    log.extend(per_lead.c_end[sql], "lead", ids[sql], "sql", actor=per_lead.owner[sql])
    dq = done & ~sql
    log.extend(per_lead.c_end[dq], "lead", ids[dq], "disqualified", actor=per_lead.owner[dq])
    log.extend(per_lead.c_end[opp], "lead", ids[opp], "opportunity", actor=per_lead.owner[opp])
    log.extend(close_t[won], "lead", ids[won], "won", actor=per_lead.owner[won], value=d.pop("amount")[won])
    log.extend(close_t[lost], "lead", ids[lost], "lost", actor=per_lead.owner[lost])
    if backlog:
        bt, bn = zip(*backlog)
        log.extend(np.array(bt), "system", 0, "backlog", value=np.array(bn, dtype=float))
    owner = per_lead.owner
    contacted = None if records is None else ~np.isnan(per_lead.c_end)   # kept only with records
    del per_lead, close_t, asg, st, dq, nurture, done, sql, opp, closed, won, lost, recycled, abandoned
    events = log.to_frame()

    leads = pd.DataFrame(
        {
            "lead_id": ids, "channel": attr["channel"], "created": t, "cost": cost,
            "company_size": attr["company_size"], "job_level": attr["job_level"],
            "engagement": attr["engagement"], "intent": d.pop("intent"), "score": score,
            "grade": grade, "owner": owner, "ttfc_h": ttfc_h, "state": state,
        }, copy=False,
    )
    counted_lead = t >= world.warmup
    if records is not None:
        for c in ("name", "company", "email", "phone", "city", "reasons", "person", "merged_into"):
            leads[c] = records[c].to_numpy()
    m = funnel_metrics(leads, events, start=world.warmup, end=H)
    m.update(team)
    m.update(_record_metrics(records, counted_lead, contacted))
    counted = np.bincount(codes[counted_lead], minlength=len(STATES))
    for k, s in enumerate(STATES):
        m[f"state.{s}"] = float(counted[k])
    return FunnelResult(table=leads, events=events if keep_events else events.iloc[:0], metrics=m)


def _team_metrics(desk: _Desk, world: World, cfg: FunnelConfig) -> dict[str, float]:
    """Rep utilisation over [warmup, horizon] and backlog, from the desk's own records."""
    a, b, cal = world.warmup, world.horizon, desk.cal
    s = desk.c_start
    e = np.where(np.isnan(desk.c_end), b, desk.c_end)
    started = ~np.isnan(s)
    inside = started & (s >= a) & ~np.isnan(desk.c_end)
    busy = float(desk.work_h[inside].sum())
    for i in np.flatnonzero(started & ~inside):  # straddles warm-up or horizon: clip exactly
        busy += cal.hours_between(max(s[i], a), min(e[i], b))
    if desk.sql_work:   # SQL follow-up work, counted like first contacts
        ss, se = desk.sql_start, desk.sql_end
        whole = ~np.isnan(ss) & (ss >= a) & ~np.isnan(se)
        busy += float(np.asarray(desk.sql_h)[whole].sum())
        for i in np.flatnonzero(~np.isnan(ss) & ~whole):
            busy += cal.hours_between(max(ss[i], a), min(b if np.isnan(se[i]) else se[i], b))
    available = desk.n * cal.hours_between(a, b)
    bl = np.array([n for tt, n in desk.backlog if tt >= a], dtype=float)
    return {
        "reps": float(desk.n),
        "utilisation": busy / available if available else np.nan,
        # assigned, never contacted, recycled or given up: waiting at the horizon
        "backlog_end": float((~np.isnan(desk.assigned_at) & np.isnan(desk.c_start) & np.isnan(desk.recycled_at)
                              & np.isnan(desk.abandoned_at)).sum()),
        "backlog_mean": float(bl.mean()) if bl.size else np.nan,
    }


#: The status a CRM export would show for each final state of a simulated lead (a lead that gave
#: up waiting was never contacted: a CRM shows it returned to marketing, like a recycled one).
EXPORT_STATUS = {
    "quarantined": "invalid", "merged": "duplicate", "nurture": "nurture", "recycled": "recycled",
    "abandoned": "recycled", "queued": "mql", "in_contact": "mql", "disqualified": "disqualified",
    "sql_no_opportunity": "sql", "opportunity_open": "opportunity", "won": "won", "lost": "lost",
}


#: The lead stage (:data:`crmsim.tables.LEAD_STAGES`) of each final state: the stage of the
#: status a CRM export shows for it (:data:`crmsim.tables.STAGE_OF_STATUS`).
STAGE_OF_STATE = {state: STAGE_OF_STATUS[status] for state, status in EXPORT_STATUS.items()}
#: The stage a lead enters with each logged event (events not listed change no stage): the stage
#: of the status the event leaves it in (an event named as a final state takes that state's status).
_STAGE_OF_EVENT = {e: STAGE_OF_STATUS[EXPORT_STATUS.get(e, e)] for e in
                   ("quarantined", "nurture", "mql", "recycled", "abandoned", "disqualified", "sql", "opportunity")}


def stage_history(result: FunnelResult, *, start=SIM_START) -> pd.DataFrame:
    """Every stage change of every simulated lead, as :class:`crmsim.leads.lifecycle.Lifecycle`
    records them (``lead_id, t, from_stage, to_stage``; ``t`` from ``start`` as day 0): what
    :meth:`~crmsim.leads.lifecycle.Lifecycle.check_history`, ``Lifecycle.sla`` and
    :func:`~crmsim.leads.lifecycle.stage_metrics` take. A lead is created ``raw``; it then moves
    with its events (:data:`STAGE_OF_STATE` is where each final state leaves it).

    Examples
    --------
    >>> from crmsim.leads.lifecycle import Lifecycle
    >>> r = simulate_funnel(FunnelConfig(reps={"count": 2}), seed=1, horizon_days=14)
    >>> h = stage_history(r)
    >>> Lifecycle().check_history(h)    # every simulated move is one the lifecycle allows
    >>> sorted(h["to_stage"].unique())
    ['converted', 'invalid', 'mql', 'nurture', 'sql']
    """
    ev = result.events
    ev = ev[(ev["entity"] == "lead") & ev["event"].isin(list(_STAGE_OF_EVENT))]
    ev = ev.sort_values(["entity_id", "t"], kind="stable")
    to = ev["event"].astype(str).map(_STAGE_OF_EVENT).to_numpy()
    ids = ev["entity_id"].to_numpy()
    first = np.r_[True, ids[1:] != ids[:-1]] if ids.size else np.zeros(0, dtype=bool)
    frm = np.where(first, "raw", np.r_[np.array([""], dtype=object), to[:-1]])
    return pd.DataFrame({"lead_id": ids, "t": pd.Timestamp(start) + pd.to_timedelta(ev["t"].to_numpy(), unit="D"),
                         "from_stage": frm, "to_stage": to}).reset_index(drop=True)


def export_history(result: FunnelResult, *, start=SIM_START) -> pd.DataFrame:
    """A simulated run as a CRM's lead export: one row per lead with ``lead_id, created_at,
    channel, status, cost, first_contact_at, sql_at, opportunity_at, closed_at, amount`` (dates
    from ``start``, a Monday, as day 0). What a real export would hold, for calibration tests.

    Examples
    --------
    >>> r = simulate_funnel(FunnelConfig(reps={"count": 2}), seed=1, horizon_days=14)
    >>> export_history(r).columns.tolist()
    ['lead_id', 'created_at', 'channel', 'status', 'cost', 'first_contact_at', 'sql_at', 'opportunity_at', 'closed_at', 'amount']
    """
    t0 = pd.Timestamp(start)
    ev = result.events[result.events["entity"] == "lead"]

    def first(event: str) -> pd.Series:
        e = ev[ev["event"] == event].groupby("entity_id")["t"].min()
        return t0 + pd.to_timedelta(result.leads["lead_id"].map(e), unit="D")

    won = ev[ev["event"] == "won"].set_index("entity_id")["value"]
    closed = pd.concat([ev[ev["event"] == "won"], ev[ev["event"] == "lost"]]).groupby("entity_id")["t"].min()
    leads = result.leads
    return pd.DataFrame({
        "lead_id": [f"L{i:07d}" for i in leads["lead_id"]],
        "created_at": (t0 + pd.to_timedelta(leads["created"], unit="D")).dt.round("s"),
        "channel": leads["channel"].astype(str),
        "status": leads["state"].astype(str).map(EXPORT_STATUS),
        "cost": leads["cost"],
        "first_contact_at": first("contacted").dt.round("s"),
        "sql_at": first("sql").dt.round("s"),
        "opportunity_at": first("opportunity").dt.round("s"),
        "closed_at": (t0 + pd.to_timedelta(leads["lead_id"].map(closed), unit="D")).dt.round("s"),
        "amount": leads["lead_id"].map(won).round(2),
    })


register(ModelSpec(name="funnel", config=FunnelConfig, simulate=simulate_funnel, table="leads",
                   key_metrics=("won", "revenue", "ttfc_mean_h", "utilisation", "cost_per_won", "recycled"),
                   figures="crmsim.report.models:funnel_figures",
                   units={**{s: "count" for s in ("leads", "quarantined", "merged", "duplicates_missed", "merged_wrongly",
                                                 "bad_data_accepted", "dedup_skipped_blocks", "mql", "contacted", "recycled", "abandoned", "sql",
                                            "opportunity", "won", "lost", "reps", "backlog_end", "backlog_mean")},
                          **{f"{s}.*": "count" for s in ("leads", "quarantined", "merged", "mql", "contacted", "recycled",
                                                          "abandoned", "sql", "opportunity", "won", "lost", "state")},
                          "ttfc_*": "hours", "duplicate_hours": "hours", "p_wait": "share", "p_abandon": "share", "win_rate": "share", "mql_to_sql": "share",
                          "utilisation": "share", "marketing_cost": "money>=0", "revenue": "money>=0", "cost_per_won": "money>=0"}))
