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
