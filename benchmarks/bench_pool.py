"""Public-pool speed: ``due_for_reclaim`` on 1M customers (target < 1 s) and a simulated year of
100k customers and 200 reps (seconds and peak memory).

    python benchmarks/bench_pool.py [--customers 1000000] [--sim-customers 100000 --reps 200]

The baseline measured in the same run is a plain pandas computation of the single no-follow-up
rule (no grades, no exemptions, no explanations): the ratio shows what the full rule engine costs.
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np
import pandas as pd


def table(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    today = pd.Timestamp("2025-06-30")
    days = lambda hi: pd.to_timedelta(rng.integers(0, hi, n), unit="D")  # noqa: E731
    return pd.DataFrame({
        "customer_id": np.char.add("C", np.arange(n).astype(str)),
        "owner_id": pd.Series(np.where(rng.random(n) < 0.9, "R001", None), dtype="str"),
        "grade": rng.choice(list("ABCD"), n),
        "received_at": today - days(400),
        "last_followup_at": today - days(100),
        "last_deal_at": (today - days(400)).where(rng.random(n) < 0.3),
        "locked": rng.random(n) < 0.01,
        "deal_closed": rng.random(n) < 0.2,
        "open_opportunities": rng.integers(0, 2, n),
        "followup_plan_active": rng.random(n) < 0.05,
    })


def main() -> None:
    from crmsim.customers.pool import ReclaimPolicy, ReclaimRule, due_for_reclaim
    from crmsim.sim.pool import PoolConfig, PoolCustomers, PoolReps, simulate_pool

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--sim-customers", type=int, default=100_000)
    ap.add_argument("--reps", type=int, default=200)
    args = ap.parse_args()

    c = table(args.customers)
    today = pd.Timestamp("2025-06-30")
    policy = ReclaimPolicy(rules=[ReclaimRule(kind="no_followup", limit_days=30, by_grade={"A": 60}),
                                  ReclaimRule(kind="no_deal", limit_days=90)])
    t0 = time.perf_counter()
    base = c["owner_id"].notna() & ((today - c[["received_at", "last_followup_at"]].max(axis=1)).dt.days > 30)
    t_base = time.perf_counter() - t0
    best = np.inf
    for _ in range(3):
        t0 = time.perf_counter()
        due = due_for_reclaim(c, policy, today)
        best = min(best, time.perf_counter() - t0)
    print(f"due_for_reclaim, {args.customers:,} customers, 2 rules + per-grade limit + 4 exemptions: "
          f"{best:.3f} s (target < 1 s), {len(due):,} due")
    print(f"  baseline (one rule in plain pandas, {int(base.sum()):,} due): {t_base:.3f} s; "
          f"ratio full engine / baseline: {best / t_base:.2f}x")

    cfg = PoolConfig(customers=PoolCustomers(count=args.sim_customers),
                     reps=PoolReps(count=args.reps, target_holding=int(1.1 * args.sim_customers / args.reps)))
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0 = time.perf_counter()
    r = simulate_pool(cfg, seed=1, horizon_days=364, warmup_days=28)
    el = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    m = r.metrics
    print(f"pool simulation, one year, {args.sim_customers:,} customers, {args.reps} reps: {el:.1f} s, "
          f"peak RSS {rss:.0f} MB (was {rss0:.0f} MB before), {len(r.events):,} events, "
          f"{m['reclaims']:.0f} reclaims, {m['claims']:.0f} claims, {m['deals']:.0f} deals")


if __name__ == "__main__":
    main()
