"""Sweep throughput: the same 200 funnel runs serially, with 2 local processes, and on a 2-worker
Dask LocalCluster, in one process run; prints runs per second and the scaling ratio against
serial, and checks the three give the same summary.

    python benchmarks/bench_sweep.py [--runs 200] [--horizon 91]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    from crmsim.experiments import load_scenario, make_executor, run_experiment, variants

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--horizon", type=float, default=91)
    args = ap.parse_args()
    base = load_scenario(ROOT / "scenarios/funnel.toml", {"run.horizon_days": args.horizon, "run.warmup_days": 7})
    nv = len(variants(base))
    reps = max(1, args.runs // nv)
    sc = load_scenario(ROOT / "scenarios/funnel.toml", {"run.horizon_days": args.horizon, "run.warmup_days": 7,
                                                        "run.replications": reps})
    n = nv * reps
    out = {}
    t0 = time.perf_counter()
    out["serial"] = (run_experiment(sc, jobs=1).summary, time.perf_counter() - t0)
    t0 = time.perf_counter()
    out["2 processes"] = (run_experiment(sc, jobs=2).summary, time.perf_counter() - t0)
    t0 = time.perf_counter()
    ex, close = make_executor("local", 2)
    started = time.perf_counter() - t0
    try:
        t1 = time.perf_counter()
        s = run_experiment(sc, executor=ex, jobs=2).summary
        out["dask 2 workers"] = (s, time.perf_counter() - t1)
    finally:
        close()
    base_t = out["serial"][1]
    print(f"{n} runs ({nv} variants x {reps}), {args.horizon:g}-day funnel each")
    for name, (summary, t) in out.items():
        same = summary.equals(out["serial"][0])
        print(f"{name:>15}: {t:6.1f} s  {n / t:6.2f} runs/s  speed-up {base_t / t:4.2f}x  identical={same}")
    print(f"(Dask LocalCluster start-up, not counted above: {started:.1f} s)")


if __name__ == "__main__":
    main()
