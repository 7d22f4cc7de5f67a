"""Expected credit loss under IFRS 9's simplified approach for trade receivables (IFRS 9 5.5.15,
B5.5.35): a provision matrix of loss rates by ageing bucket, estimated from history by roll rates
(a Markov chain over buckets with absorbing paid and written-off states), with an optional
forward-looking adjustment."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["provision", "roll_rate_matrix", "loss_rates_from_roll_rates"]


def provision(ageing_table: pd.DataFrame, loss_rates: dict[str, float] | pd.Series) -> pd.DataFrame:
    """Allowance = gross carrying amount x loss rate, per bucket (and per row of the ageing
    table, e.g. per customer), with totals. Amounts stay in the table's units.

    Examples
    --------
    IFRS 9 Illustrative Examples, Example 12 (provision matrix), in currency units:

    >>> gross = pd.DataFrame([[15_000_000, 7_500_000, 4_000_000, 2_500_000, 1_000_000]],
    ...                      columns=["current", "1-30", "31-60", "61-90", "90+"])
    >>> rates = {"current": 0.003, "1-30": 0.016, "31-60": 0.036, "61-90": 0.066, "90+": 0.106}
    >>> provision(gross, rates).loc["total"].tolist()
    [45000.0, 120000.0, 144000.0, 165000.0, 106000.0, 580000.0]
    """
    r = pd.Series(loss_rates, dtype=float)
    miss = [c for c in ageing_table.columns if c not in r.index]
    if miss:
        raise KeyError(f"no loss rate for bucket(s) {miss}")
    gross = ageing_table.apply(pd.to_numeric, errors="coerce")
    bad = [c for c in gross.columns if (gross[c].isna() & ageing_table[c].notna()).any()]
    if bad:
        c = bad[0]
        rows = ageing_table.index[(gross[c].isna() & ageing_table[c].notna()).to_numpy()][:5].tolist()
        raise ValueError(f"ageing table: bucket column(s) {bad} expect amounts; column '{c}' rows {rows} have "
                         f"{ageing_table.loc[rows, c].astype(str).tolist()[:3]}")
    allow = gross.astype(float) * r.reindex(ageing_table.columns).to_numpy()
    allow = allow.round(2)
    allow["allowance"] = allow.sum(axis=1)
    allow.loc["total"] = allow.sum(axis=0)
    return allow


def roll_rate_matrix(snapshots: pd.DataFrame, buckets: list[str]) -> pd.DataFrame:
    """Transition probabilities between ageing buckets from one month-end to the next, weighted by
    amount. ``snapshots``: ``receivable_id, period, bucket, amount``; a receivable absent from the
    next period counts as ``paid``, a bucket value ``written_off`` as written off.

    Examples
    --------
    >>> s = pd.DataFrame({"receivable_id": ["r1", "r2", "r1", "r2"], "period": ["2025-01", "2025-01", "2025-02", "2025-02"],
    ...                   "bucket": ["current", "current", "1-30", "current"], "amount": [100, 300, 100, 300]})
    >>> roll_rate_matrix(s, ["current", "1-30"]).loc["current"].round(2).to_dict()
    {'current': 0.75, '1-30': 0.25, 'paid': 0.0, 'written_off': 0.0}
    """
    s = snapshots.sort_values(["receivable_id", "period"])
    nxt = s.groupby("receivable_id")[["period", "bucket"]].shift(-1)
    periods = sorted(s["period"].unique())
    last = periods[-1]
    s = s.assign(to=nxt["bucket"].fillna("paid"))
    s = s[s["period"] != last]  # no next period to see yet
    states = [*buckets, "paid", "written_off"]
    m = s.pivot_table(index="bucket", columns="to", values="amount", aggfunc="sum", fill_value=0)
    m = m.reindex(index=buckets, columns=states, fill_value=0)
    return m.div(m.sum(axis=1).replace(0, np.nan), axis=0).fillna(0.0)


def loss_rates_from_roll_rates(P: pd.DataFrame, *, forward_looking: float = 0.0) -> pd.Series:
    """Lifetime loss rate per bucket = probability of ending written off, from the absorbing
    chain (I - Q)^-1 R; ``forward_looking`` scales the rates (e.g. +0.1 for a worsening outlook).

    Examples
    --------
    >>> P = pd.DataFrame({"current": [0.5, 0.1], "1-30": [0.2, 0.3], "paid": [0.3, 0.4], "written_off": [0.0, 0.2]},
    ...                  index=["current", "1-30"])
    >>> loss_rates_from_roll_rates(P).round(4).to_dict()
    {'current': 0.1212, '1-30': 0.303}
    """
    buckets = list(P.index)
    Q = P[buckets].to_numpy()
    R = P[["paid", "written_off"]].to_numpy()
    B = np.linalg.solve(np.eye(len(buckets)) - Q, R)
    return pd.Series(np.clip(B[:, 1] * (1 + forward_looking), 0, 1), index=buckets, name="loss_rate")
