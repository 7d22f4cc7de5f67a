"""Funnel speed and memory: crmsim vs hand-written SimPy models, same run.

One year, 50 reps, at 10k / 100k / 1M leads. The usual-style model (issue 22's peer) is fed the
MQLs crmsim's run queues: one SimPy process per MQL, reps as a ``simpy.Resource``, the same
work-time distribution, clock time. The bare model is the textbook queue of every lead (not only
MQLs; kept for continuity with earlier figures). crmsim runs the full funnel (intake, dedup,
scoring, assignment, working calendars, recycling, outcomes, event log, metrics). Work per
contact is scaled with volume so both run at about 80% utilisation.

Each measurement runs in a fresh process (peak RSS is per process). Prints leads/s, the ratio of
the usual-style model's seconds to crmsim's (target >= 3), crmsim's memory per lead (target
<= 0.3 KB) and peak RSS.

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

    rng = np.random.default_rng(seed)
    lam = n_leads / YEAR  # per day
    mean_work = UTIL * REPS / lam  # days
    wait = _textbook_queue(rng.exponential(1 / lam, n_leads), rng.exponential(mean_work, n_leads))
    return {"leads": n_leads, "mean_wait_h": wait * 24}


def _textbook_queue(gaps, works, until: float | None = None) -> float:
    """The textbook SimPy queue: one process per arrival, reps as a ``simpy.Resource``; returns
    the mean wait (days)."""
    import numpy as np
    import simpy

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
        for gap, work in zip(gaps, works):
            yield env.timeout(gap)
            env.process(lead(work))

    env.process(source())
    env.run(until=until)
    return float(np.mean(waits))


def usual_simpy(n_leads: int, seed: int):
    """The usual-style SimPy model fed the same MQLs crmsim's run queues: one process per MQL,
    reps as a ``simpy.Resource``, the same work-time distribution (drawn from its own stream),
    in clock time stretched by the share of the week reps work (the same load; no working
    calendar, no routing, no patience, no log). Set up untimed by running
    crmsim once to get the MQLs' arrival times."""
    import numpy as np

    cfg = _funnel_config(n_leads, seed)
    from crmsim.sim.funnel import simulate_funnel

    ev = simulate_funnel(cfg, seed=seed, horizon_days=YEAR).events
    t = np.sort(ev.loc[ev["event"] == "mql", "t"].to_numpy())
    cal = cfg.reps.calendar   # clock time at the load of crmsim's working hours (about 80%)
    stretch = 24 * 7 / (cal.hours_per_day * len(cal.workdays))
    work_d = cfg.reps.contact_hours.sample(np.random.default_rng(seed), t.size) / 24 * stretch
    return lambda: _usual_run(t, work_d)


def _usual_run(t, work_d) -> dict:
    import numpy as np

    wait = _textbook_queue(np.diff(t, prepend=0.0), work_d, until=YEAR)
    return {"leads": int(t.size), "mean_wait_h": wait * 24}


def _funnel_config(n_leads: int, seed: int):
    """The funnel of ``n_leads`` a year, its work per contact sized (by a 4-week probe) for about
    80% utilisation."""
    from crmsim.sim.funnel import FunnelConfig, RepsConfig, simulate_funnel
    from crmsim.synth import DEFAULT_CHANNELS

    per_week = sum(c.volume_per_week for c in DEFAULT_CHANNELS.values())
    k = n_leads / (per_week * YEAR / 7)
    channels = {n: c.model_copy(update={"volume_per_week": c.volume_per_week * k})
                for n, c in DEFAULT_CHANNELS.items()}
    probe = FunnelConfig(channels=channels, reps=RepsConfig(count=REPS))
    r0 = simulate_funnel(probe, seed=seed, horizon_days=28, keep_events=False)
    mql_per_day = r0.metrics["mql"] / 28
    cal = probe.reps.calendar
    hours_per_day = REPS * cal.hours_per_day * len(cal.workdays) / 7
    mean_h = UTIL * hours_per_day / mql_per_day
    return FunnelConfig(channels=channels,
                        reps=RepsConfig(count=REPS, contact_hours={"kind": "exponential", "mean": mean_h}))


def crmsim_funnel(n_leads: int, seed: int):
    """Sets up (untimed: a 4-week probe to size the work per contact), returns the run."""
    from crmsim.sim.funnel import simulate_funnel

    cfg = _funnel_config(n_leads, seed)

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

    if fn_name != "bare_simpy":
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
    ap.add_argument("--no-bare", action="store_true", help="skip the every-lead textbook queue")
    args = ap.parse_args()
    print(f"{'leads':>9} {'model':>7} {'seconds':>8} {'leads/s':>9} {'peak MB':>8} {'+MB':>7}  notes")
    for n in args.sizes:
        runs = {} if args.no_bare else {"bare": measure("bare_simpy", n)}
        runs["usual"] = measure("usual_simpy", n)
        runs["crmsim"] = measure("crmsim_funnel", n)
        for name, r in runs.items():
            rate = r["leads"] / r["seconds"]
            r["rate"] = rate
            note = (f"mean wait {r['mean_wait_h']:.2f} h" if name == "bare" else
                    f"{r['leads']} MQLs, mean wait {r['mean_wait_h']:.2f} h" if name == "usual" else
                    f"{r['mql']:.0f} MQL, util {r['utilisation']:.2f}, {r['events']} events, "
                    f"{r['rss_growth_mb'] * 1024 / r['leads']:.2f} KB per lead (target <= 0.3)")
            print(f"{r['leads']:>9} {name:>7} {r['seconds']:>8.2f} {rate:>9.0f} "
                  f"{r['peak_rss_mb']:>8.0f} {r['rss_growth_mb']:>7.0f}  {note}", flush=True)
        print(f"{'':>9} ratio usual-style SimPy seconds / crmsim seconds on the same MQLs: "
              f"{runs['usual']['seconds'] / runs['crmsim']['seconds']:.2f}x (target >= 3)", flush=True)
        if "bare" in runs:
            print(f"{'':>9} ratio crmsim/bare leads per second: {runs['crmsim']['rate'] / runs['bare']['rate']:.2f}x",
                  flush=True)


if __name__ == "__main__":
    main()
