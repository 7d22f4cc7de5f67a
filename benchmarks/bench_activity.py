"""BG/NBD and Pareto/NBD fitting: crmsim vs lifetimes (the library a user would otherwise pick),
same summaries, same run.

Data: the CDNOW sample's 39-week summary (2,357 customers; Fader, Hardie & Lee 2005) and a
1M-customer summary drawn from a BG/NBD (cohorts over 78 weeks, recency at day resolution, as a
real export has it). Each fit runs twice; the faster time is shown. Prints seconds, the ratio
lifetimes / crmsim (target >= 1), the parameters' largest relative difference and both
log-likelihoods (computed by crmsim's likelihood at each tool's parameters).

    pip install lifetimes          # the peer; not a crmsim dependency
    python benchmarks/bench_activity.py [--n 1000000]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent


def bgnbd_summary(n: int, params=(0.5, 6.0, 0.8, 2.5), seed: int = 1) -> pd.DataFrame:
    """A summary drawn from a BG/NBD: x = min(Poisson(lambda T), Geometric(p)) repeat purchases,
    the last at the x-th of the Poisson arrivals (a Beta order statistic), rounded to days."""
    r, alpha, a, b = params
    rng = np.random.default_rng(seed)
    T = rng.integers(1, 78 * 7, n) / 7
    lam = rng.gamma(r, 1 / alpha, n)
    p = rng.beta(a, b, n)
    n_T = rng.poisson(lam * T)
    x = np.minimum(n_T, rng.geometric(p))
    tx = np.where(x > 0, T * rng.beta(np.maximum(x, 1), np.maximum(n_T - x + 1, 1)), 0.0)
    tx = np.minimum(np.round(tx * 7) / 7, T)
    tx = np.where((x > 0) & (tx == 0), 1 / 7, tx)
    tx = np.minimum(tx, T)
    return pd.DataFrame({"frequency": x, "recency": tx, "T": T})


def _best(fn, repeat=2):
    best, out = np.inf, None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def compare(name: str, s: pd.DataFrame) -> None:
    import lifetimes

    from crmsim.customers import activity as act

    x, tx, T = (s[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    for model, ours, peer, terms in (
        ("BG/NBD", act.fit_bgnbd, lifetimes.BetaGeoFitter, act.BGNBD.loglik_terms),
        ("Pareto/NBD", act.fit_paretonbd, lifetimes.ParetoNBDFitter, act.ParetoNBD.loglik_terms),
    ):
        t_ours, m = _best(lambda ours=ours: ours(s))
        t_peer, f = _best(lambda peer=peer: peer().fit(s["frequency"], s["recency"], s["T"]))
        p_ours = np.array(list(vars(m).values())[:4])
        p_peer = f.params_.to_numpy(float)
        ll_ours = terms(p_ours, x, tx, T).sum()
        ll_peer = terms(p_peer, x, tx, T).sum()
        diff = np.max(np.abs(p_ours / p_peer - 1))
        print(f"{name:>10} {model:<10} crmsim {t_ours:7.3f} s  lifetimes {t_peer:7.3f} s  "
              f"ratio {t_peer / t_ours:5.1f}x  max rel. param diff {diff:.1e}  "
              f"LL crmsim {ll_ours:.6f} (lifetimes {ll_peer - ll_ours:+.2e})")
        print(f"{'':>10} {'':<10} crmsim {np.round(p_ours, 6).tolist()}  lifetimes {np.round(p_peer, 6).tolist()}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000, help="customers in the drawn summary")
    args = ap.parse_args()
    try:
        import lifetimes  # noqa: F401
    except ImportError:
        raise SystemExit("the peer is missing: pip install lifetimes") from None
    compare("CDNOW", pd.read_csv(ROOT / "data/cdnow/cdnow_customers_summary.csv"))
    s = bgnbd_summary(args.n)
    print(f"drawn summary: {len(s):,} customers, {len(s.drop_duplicates()):,} distinct rows")
    compare(f"{args.n // 1000}k", s)


if __name__ == "__main__":
    main()
