"""Lead dedup speed and quality: crmsim's blocked dedup vs naive all-pairs, same data, same run.

Synthetic leads (crmsim.synth.leads) with 10% messy duplicates (crmsim.synth.with_duplicates) at
10k, 100k and 1M rows. crmsim: LEAD_DEDUP (blocking, rapidfuzz field scores, groups). Naive: every
pair compared on one concatenated string with rapidfuzz.process.cdist (C++, all cores), at the
sizes where that still finishes. Target: 1M leads in under 2 minutes on a 2-core machine.

    python benchmarks/bench_dedup.py [--sizes 10000 100000 1000000] [--naive-max 20000]
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np


def data(n: int, seed: int = 1):
    from crmsim import synth

    days = max(1, int(np.ceil(n / 1.1 / 100)))  # ~100 leads a day by default
    leads = synth.leads(days, seed=seed).iloc[: int(n / 1.1)].reset_index(drop=True)
    return synth.with_duplicates(leads, 0.1, seed=seed + 1)


def ours(df, truth):
    from crmsim.leads.dedup import LEAD_DEDUP, pair_quality

    t0 = time.perf_counter()
    pairs, _ = LEAD_DEDUP.candidate_pairs(df)
    scored = LEAD_DEDUP.score(df, pairs)
    groups = LEAD_DEDUP.groups(df, scored)
    el = time.perf_counter() - t0
    d = scored[scored["duplicate"]]
    q = pair_quality(set(zip(d["i"].tolist(), d["j"].tolist())), truth,
                     set(zip(pairs["i"].tolist(), pairs["j"].tolist())))
    return el, q, int(groups.nunique())


def naive(df, truth, threshold: float = 0.9):
    from rapidfuzz import process
    from rapidfuzz.distance import JaroWinkler

    from crmsim.leads.dedup import pair_quality

    s = (df["name"].fillna("") + " " + df["email"].fillna("").str.lower() + " "
         + df["company"].fillna("") + " " + df["city"].fillna("")).str.lower().tolist()
    t0 = time.perf_counter()
    m = process.cdist(s, s, scorer=JaroWinkler.normalized_similarity, score_cutoff=threshold,
                      dtype=np.float32, workers=-1)
    i, j = np.nonzero(np.triu(m, 1))
    el = time.perf_counter() - t0
    return el, pair_quality(set(zip(i.tolist(), j.tolist())), truth)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--naive-max", type=int, default=20_000)
    args = ap.parse_args()
    print(f"{'rows':>9} {'method':>7} {'seconds':>8} {'rows/s':>9} {'F1':>6} {'prec':>6} {'recall':>6} {'block rec':>9}")
    for n in args.sizes:
        df, truth = data(n)
        el, q, g = ours(df, truth)
        print(f"{len(df):>9} {'crmsim':>7} {el:>8.2f} {len(df) / el:>9.0f} {q['f1']:>6.3f} "
              f"{q['precision']:>6.3f} {q['recall']:>6.3f} {q['blocking_recall']:>9.3f}", flush=True)
        if len(df) <= args.naive_max:
            el2, q2 = naive(df, truth)
            print(f"{len(df):>9} {'naive':>7} {el2:>8.2f} {len(df) / el2:>9.0f} {q2['f1']:>6.3f} "
                  f"{q2['precision']:>6.3f} {q2['recall']:>6.3f} {'-':>9}   ratio crmsim/naive speed "
                  f"{el2 / el:.1f}x", flush=True)
        else:
            print(f"{len(df):>9} {'naive':>7} {'skipped':>8}  ({len(df) ** 2 / 2:.1e} pairs)")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
