"""Public-pool speed: ``due_for_reclaim`` on 1M customers (target < 1 s) and a simulated year of
100k customers and 200 reps (seconds and peak memory).

    python benchmarks/bench_pool.py [--customers 1000000] [--sim-customers 100000 --reps 200]

The baseline measured in the same run is a plain pandas computation of the single no-follow-up
rule (no grades, no exemptions, no explanations): the ratio shows what the full rule engine costs.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
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
    from crmsim.sim.pool import PoolConfig, PoolCustomers, PoolReps

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--sim-customers", type=int, default=100_000)
    ap.add_argument("--reps", type=int, default=200)
    ap.add_argument("--one-run", choices=["keep", "drop"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one_run:
        return one_run(args)

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
    for keep in (False, True):   # each in its own process, so that its peak memory is its own
        cmd = [sys.executable, __file__, "--one-run", "keep" if keep else "drop",
               "--sim-customers", str(args.sim_customers), "--reps", str(args.reps)]
        print(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout, end="")
    nightly(cfg)


def peak_mb() -> float:
    """This process's peak resident memory in MB (Linux's VmHWM, which starts afresh in a new
    program; ``ru_maxrss`` would carry the parent's peak over ``exec``)."""
    try:
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmHWM")) / 1024
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def one_run(args) -> None:
    """One simulated year in this process: seconds and peak memory beyond the imports."""
    from crmsim.sim.pool import PoolConfig, PoolCustomers, PoolReps, simulate_pool

    keep = args.one_run == "keep"
    cfg = PoolConfig(customers=PoolCustomers(count=args.sim_customers),
                     reps=PoolReps(count=args.reps, target_holding=int(1.1 * args.sim_customers / args.reps)))
    simulate_pool(PoolConfig(customers=PoolCustomers(count=200), reps=PoolReps(count=2, target_holding=110)),
                  seed=1, horizon_days=30)   # first-call costs out of the measurement
    rss0 = peak_mb()
    t0 = time.perf_counter()
    r = simulate_pool(cfg, seed=1, horizon_days=364, warmup_days=28, keep_events=keep)
    el = time.perf_counter() - t0
    grew = peak_mb() - rss0
    m = r.metrics
    print(f"pool simulation, one year, {args.sim_customers:,} customers, {args.reps} reps, "
          f"{'with' if keep else 'without'} the event log: {el:.2f} s (target < 5 s), peak RSS +{grew:.0f} MB "
          f"= {grew * 1024 / args.sim_customers:.2f} KB per customer (target < 1); {len(r.events):,} events "
          f"returned, {m['reclaims']:.0f} reclaims, {m['claims']:.0f} claims, {m['deals']:.0f} deals")


def nightly(cfg) -> None:
    """The nightly rule on the simulation's column view vs on the customers table a simulation
    would otherwise rebuild every night (the same rule, the same book, the same answer)."""
    from crmsim.sim.engine import World
    from crmsim.sim.pool import _Book

    book = _Book(cfg, World(1, 30))
    today = book.t0 + pd.Timedelta(days=20)
    times = {}
    for how in ("table", "columns"):
        best = np.inf
        for _ in range(5):
            t0 = time.perf_counter()
            view = book.frame(np.arange(book.n)) if how == "table" else book.rule_view()
            due = cfg.policy.due(view, today)
            best = min(best, time.perf_counter() - t0)
        times[how] = (best, due)
    assert (times["table"][1] == times["columns"][1]).all()
    print(f"  nightly reclaim rule, {book.n:,} customers: on a rebuilt customers table {times['table'][0] * 1e3:.1f} ms, "
          f"on the column view {times['columns'][0] * 1e3:.1f} ms (ratio {times['table'][0] / times['columns'][0]:.1f}x, "
          f"{int(due.sum()):,} due either way)")


if __name__ == "__main__":
    main()
