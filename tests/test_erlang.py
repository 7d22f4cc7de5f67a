"""The engine against queueing theory: the funnel reduced to an M/M/c queue must match Erlang C."""

import math

import numpy as np
import pytest

from crmsim.experiments.stats import mean_ci
from crmsim.leads.lifecycle import RecycleRule, ResponseCurve
from crmsim.leads.scoring import ScoringRule
from crmsim.sim.distributions import Exponential
from crmsim.sim.engine import WorkCalendar
from crmsim.sim.funnel import FunnelConfig, OutcomeConfig, RepsConfig, simulate_funnel
from crmsim.synth import ChannelProfile


def erlang_c(lam: float, mu: float, c: int) -> tuple[float, float]:
    """(P(wait), Wq) for M/M/c, from REFERENCES.md (Erlang C)."""
    a = lam / mu
    rho = a / c
    assert rho < 1
    top = a**c / math.factorial(c) / (1 - rho)
    p_wait = top / (sum(a**k / math.factorial(k) for k in range(c)) + top)
    return p_wait, p_wait / (c * mu - lam)


def mmc_config(lam_per_day: float, mean_hours: float, c: int) -> FunnelConfig:
    return FunnelConfig(
        channels={"search": ChannelProfile(volume_per_week=7 * lam_per_day, weekday_weights=(1,) * 7,
                                           invalid_share=0, duplicate_share=0)},
        scoring=ScoringRule(mql_threshold=0),  # every lead is an MQL
        assignment={"policy": "shared_queue"},
        recycle=RecycleRule(max_wait_days=0),  # off
        reps=RepsConfig(count=c, calendar=WorkCalendar.always_on(),
                        contact_hours=Exponential(mean=mean_hours)),
        outcomes=OutcomeConfig(response=ResponseCurve(kind="none")),
    )


@pytest.mark.parametrize(
    "lam, mean_hours, c",
    [
        (40.0, 1.0, 2),   # a = 1.67, rho = 0.83
        (100.0, 1.0, 5),  # a = 4.17, rho = 0.83
        (60.0, 2.0, 6),   # a = 5.0,  rho = 0.83
        (30.0, 0.5, 1),   # M/M/1, rho = 0.625
    ],
)
def test_mmc_matches_erlang_c(lam, mean_hours, c):
    mu = 24.0 / mean_hours  # per day
    p_exp, wq_exp = erlang_c(lam, mu, c)
    cfg = mmc_config(lam, mean_hours, c)
    pw, wq = [], []
    for i in range(12):
        m = simulate_funnel(cfg, np.random.SeedSequence(11, spawn_key=(i,)), horizon_days=160,
                            warmup_days=10, keep_events=False).metrics
        pw.append(m["p_wait"])
        wq.append(m["ttfc_mean_h"] / 24)
    _, lo, hi = mean_ci(pw)
    assert lo <= p_exp <= hi, f"P(wait) Erlang C {p_exp:.4f} outside 95% CI [{lo:.4f}, {hi:.4f}]"
    _, lo, hi = mean_ci(wq)
    assert lo <= wq_exp <= hi, f"Wq Erlang C {wq_exp:.5f} d outside 95% CI [{lo:.5f}, {hi:.5f}]"


def erlang_a(lam: float, mu: float, c: int, theta: float, n_max: int = 3000) -> tuple[float, float]:
    """(P(wait), P(abandon)) for M/M/c+M (Erlang A), from its birth-death chain: births lam, deaths
    min(n, c) mu + max(n - c, 0) theta. By PASTA an arrival waits with P(N >= c); abandonments
    per unit time are theta E[(N - c)+], divided by lam."""
    log_p = np.zeros(n_max)
    for n in range(1, n_max):
        log_p[n] = log_p[n - 1] + math.log(lam / (min(n, c) * mu + max(n - c, 0) * theta))
    p = np.exp(log_p - log_p.max())
    p /= p.sum()
    n = np.arange(n_max)
    return float(p[n >= c].sum()), float(theta * (np.maximum(n - c, 0) * p).sum() / lam)


def with_patience(cfg: FunnelConfig, patience: dict) -> FunnelConfig:
    d = cfg.model_dump(by_alias=True)
    d["outcomes"] = {**d["outcomes"], **patience}
    return FunnelConfig.model_validate(d)


@pytest.mark.parametrize(
    "lam, mean_hours, c, patience_hours",
    [
        (100.0, 1.0, 5, 0.5),   # rho = 0.83, impatient leads
        (40.0, 1.0, 2, 2.0),    # rho = 0.83, patient leads
        (60.0, 1.0, 2, 1.0),    # rho = 1.25: overloaded, stable only through abandonment
        (30.0, 0.5, 1, 0.25),   # M/M/1+M
    ],
)
def test_patience_matches_erlang_a(lam, mean_hours, c, patience_hours):
    mu, theta = 24.0 / mean_hours, 24.0 / patience_hours
    pw_exp, pa_exp = erlang_a(lam, mu, c, theta)
    cfg = with_patience(mmc_config(lam, mean_hours, c),
                        {"patience_hours": {"kind": "exponential", "mean": patience_hours}})
    pw, pa = [], []
    for i in range(8):
        r = simulate_funnel(cfg, np.random.SeedSequence(11, spawn_key=(i,)), horizon_days=90,
                            warmup_days=5, keep_events=False)
        leads = r.leads[r.leads["created"] >= 5]
        gone = leads["state"] == "abandoned"
        waited = gone | (leads["ttfc_h"] > 1e-9)  # every lead is an MQL here
        pw.append(float(waited.mean()))
        pa.append(r.metrics["p_abandon"])
        assert r.metrics["abandoned"] == gone.sum()
    _, lo, hi = mean_ci(pw)
    assert lo <= pw_exp <= hi, f"P(wait) Erlang A {pw_exp:.4f} outside 95% CI [{lo:.4f}, {hi:.4f}]"
    _, lo, hi = mean_ci(pa)
    assert lo <= pa_exp <= hi, f"P(abandon) Erlang A {pa_exp:.4f} outside 95% CI [{lo:.4f}, {hi:.4f}]"


def test_patience_per_channel_and_rep_queues():
    """A channel's own patience overrides the funnel's; per-rep queues (least loaded) keep their
    loads exact when leads abandon; leads without patience never abandon."""

    base = mmc_config(60.0, 1.0, 3)
    d = base.model_dump(by_alias=True)
    d["channels"]["events"] = {**d["channels"]["search"]}
    d["assignment"] = {"policy": "least_loaded"}
    d["outcomes"] = {**d["outcomes"], "patience_hours": {"kind": "exponential", "mean": 0.5},
                     "by_channel": {"events": {"patience_hours": {"kind": "constant", "value": 1e9}}}}
    cfg = FunnelConfig.model_validate(d)
    r = simulate_funnel(cfg, 5, horizon_days=30)
    by = r.leads.groupby("channel", observed=True)["state"].apply(lambda s: int((s == "abandoned").sum()))
    assert by["events"] == 0 and by["search"] > 50
    ab = r.events[r.events["event"] == "abandoned"]
    created = r.leads.set_index("lead_id")["created"]
    assigned = r.events[r.events["event"] == "assigned"].set_index("entity_id")["t"]
    # abandoned after assignment, never contacted, each by its own rep's queue
    assert (ab["t"].to_numpy() >= assigned.loc[ab["entity_id"]].to_numpy()).all()
    assert not r.events[(r.events["event"] == "contacted") & r.events["entity_id"].isin(ab["entity_id"])].size
    assert (created.loc[ab["entity_id"]].to_numpy() <= ab["t"].to_numpy()).all()
    assert r.metrics["state.abandoned"] == by.sum()


def test_no_patience_changes_nothing():
    """Unset patience: the same seed gives the same leads as before patience existed (no draw)."""
    cfg = mmc_config(40.0, 1.0, 2)
    a = simulate_funnel(cfg, 9, horizon_days=20).leads
    b = simulate_funnel(with_patience(cfg, {"patience_hours": None}), 9, horizon_days=20).leads
    assert a.equals(b) and not (a["state"] == "abandoned").any()
