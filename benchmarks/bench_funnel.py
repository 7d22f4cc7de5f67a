"""Funnel speed and memory: crmsim vs a minimal hand-written SimPy model, same lead count, same run.

One year, 50 reps, at 10k / 100k / 1M leads. The bare model is the textbook SimPy queue: one
process per lead, reps as a ``simpy.Resource``, exponential work. crmsim runs the full funnel
(intake, dedup, scoring, assignment, working calendars, recycling, outcomes, event log, metrics).
Work per contact is scaled with volume so both run at about 80% utilisation.

Each measurement runs in a fresh process (peak RSS is per process). Prints leads/s, the ratio
crmsim / bare (target >= 1) and peak RSS.

    python benchmarks/bench_funnel.py [--sizes 10000 100000 1000000]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import time

YEAR = 365.0
REPS = 50
UTIL = 0.8


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bare_simpy(n_leads: int, seed: int):
    """Returns the run as a callable (nothing to set up)."""
    return lambda: _bare_run(n_leads, seed)


def _bare_run(n_leads: int, seed: int) -> dict:
    import numpy as np
    import simpy

    rng = np.random.default_rng(seed)
    lam = n_leads / YEAR  # per day
    mean_work = UTIL * REPS / lam  # days
    env = simpy.Environment()
    reps = simpy.Resource(env, capacity=REPS)
    waits = []

    def lead(work):
        arrive = env.now
        with reps.request() as req:
            yield req
            waits.append(env.now - arrive)
            yield env.timeout(work)

    def source():
        for gap, work in zip(rng.exponential(1 / lam, n_leads), rng.exponential(mean_work, n_leads)):
            yield env.timeout(gap)
            env.process(lead(work))

    env.process(source())
    env.run()
    return {"leads": n_leads, "mean_wait_h": float(np.mean(waits) * 24)}


def crmsim_funnel(n_leads: int, seed: int):
    """Sets up (untimed: a 4-week probe to size the work per contact), returns the run."""
    from crmsim.sim.funnel import FunnelConfig, RepsConfig, simulate_funnel
    from crmsim.synth import DEFAULT_CHANNELS

    per_week = sum(c.volume_per_week for c in DEFAULT_CHANNELS.values())
    k = n_leads / (per_week * YEAR / 7)
    channels = {n: c.model_copy(update={"volume_per_week": c.volume_per_week * k})
                for n, c in DEFAULT_CHANNELS.items()}
    probe = FunnelConfig(channels=channels, reps=RepsConfig(count=REPS))
    # MQL share and working hours decide the work per contact that gives ~80% utilisation.
    r0 = simulate_funnel(probe, seed=seed, horizon_days=28, keep_events=False)
    mql_per_day = r0.metrics["mql"] / 28
    cal = probe.reps.calendar
    hours_per_day = REPS * cal.hours_per_day * len(cal.workdays) / 7
    mean_h = UTIL * hours_per_day / mql_per_day
    cfg = FunnelConfig(channels=channels,
                       reps=RepsConfig(count=REPS, contact_hours={"kind": "exponential", "mean": mean_h}))

    def run() -> dict:
        r = simulate_funnel(cfg, seed=seed, horizon_days=YEAR)
        return {"leads": len(r.leads), "mql": r.metrics["mql"],
                "utilisation": r.metrics["utilisation"], "events": len(r.events)}

    return run


def _child(fn_name: str, n: int, q) -> None:
    fn = globals()[fn_name]
    import numpy  # noqa: F401  (import cost is not part of the measurement)
    import pandas  # noqa: F401
    import simpy  # noqa: F401

    if fn_name == "crmsim_funnel":
        import crmsim.sim.funnel  # noqa: F401
    run = fn(n, 1)
    base = _rss_mb()
    t0 = time.perf_counter()
    out = run()
    out["seconds"] = time.perf_counter() - t0
    out["peak_rss_mb"] = _rss_mb()
    out["rss_growth_mb"] = out["peak_rss_mb"] - base
    q.put(out)


def measure(fn_name: str, n: int) -> dict:
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=_child, args=(fn_name, n, q))
    p.start()
    out = q.get()
    p.join()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    args = ap.parse_args()
    print(f"{'leads':>9} {'model':>7} {'seconds':>8} {'leads/s':>9} {'peak MB':>8} {'+MB':>7}  notes")
    for n in args.sizes:
        bare = measure("bare_simpy", n)
        ours = measure("crmsim_funnel", n)
        for name, r in (("bare", bare), ("crmsim", ours)):
            rate = r["leads"] / r["seconds"]
            r["rate"] = rate
            note = (f"mean wait {r['mean_wait_h']:.2f} h" if name == "bare" else
                    f"{r['mql']:.0f} MQL, util {r['utilisation']:.2f}, {r['events']} events")
            print(f"{r['leads']:>9} {name:>7} {r['seconds']:>8.2f} {rate:>9.0f} "
                  f"{r['peak_rss_mb']:>8.0f} {r['rss_growth_mb']:>7.0f}  {note}", flush=True)
        print(f"{'':>9} ratio crmsim/bare leads per second: {ours['rate'] / bare['rate']:.2f}x", flush=True)


if __name__ == "__main__":
    main()
