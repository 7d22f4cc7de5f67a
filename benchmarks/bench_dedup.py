"""Lead dedup speed and quality: crmsim's blocked dedup vs naive all-pairs, same data, same run.

Synthetic leads (crmsim.synth.leads) with 10% messy duplicates (crmsim.synth.with_duplicates) at
10k, 100k and 1M rows. crmsim: LEAD_DEDUP (blocking, rapidfuzz field scores, groups). Naive: every
pair compared on one concatenated string with rapidfuzz.process.cdist (C++, all cores), at the
sizes where that still finishes. Target: 1M leads in under 2 minutes on a 2-core machine.

    python benchmarks/bench_dedup.py [--sizes 10000 100000 1000000] [--naive-max 20000]
    python benchmarks/bench_dedup.py --febrl   # person records: fixed vs EM-estimated weights
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


def febrl() -> None:
    """FEBRL dataset2 (5,000 person records): the ready person rule with fixed equal weights at
    the threshold chosen on dataset1 vs the same rule with EM-estimated Fellegi-Sunter weights
    (no labels, P(match) >= 0.5): F1 and time, same run."""
    import itertools
    from pathlib import Path

    import pandas as pd

    from crmsim.leads.dedup import PERSON_DEDUP, pair_quality

    root = Path(__file__).resolve().parent.parent / "data" / "febrl"
    cols = {"address_1": "street", "suburb": "city", "soc_sec_id": "national_id"}

    def load(name):
        d = pd.read_csv(root / name, skipinitialspace=True, dtype=str).rename(columns=cols)
        ent = d["rec_id"].str.extract(r"rec-(\d+)-")[0]
        truth = {p for _, g in d.groupby(ent) for p in itertools.combinations(sorted(g.index), 2)}
        return d, truth

    def f1(rule, d, truth):
        t = time.perf_counter()
        s = rule.find(d)
        el = time.perf_counter() - t
        f = s[s["duplicate"]]
        return el, pair_quality(set(zip(f["i"], f["j"])), truth)["f1"]

    fixed = PERSON_DEDUP.model_copy(update={"weights": "fixed"})
    d1, t1 = load("dataset1.csv")
    best = max((f1(fixed.model_copy(update={"threshold": th}), d1, t1)[1], th) for th in np.arange(0.5, 0.96, 0.05))
    fixed = fixed.model_copy(update={"threshold": float(best[1])})
    d2, t2 = load("dataset2.csv")
    for name, rule in (("fixed weights", fixed), ("EM weights", PERSON_DEDUP)):
        el, f = min(f1(rule, d2, t2) for _ in range(3))
        print(f"FEBRL dataset2 {name:<13} (threshold {rule.threshold:.2f}): F1 {f:.4f}  {el:.2f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--naive-max", type=int, default=20_000)
    ap.add_argument("--febrl", action="store_true", help="only the FEBRL person-record comparison")
    args = ap.parse_args()
    if args.febrl:
        febrl()
        return
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
