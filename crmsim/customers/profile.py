"""Customer profile (FEATURES L2C-4): one row per customer, master data plus CRM facts."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["customer_profile"]


def _per_customer(df: pd.DataFrame | None, table: str, need: tuple[str, ...]) -> pd.DataFrame | None:
    if df is None:
        return None
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise KeyError(f"{table}: missing column(s) {missing}; columns are {list(df.columns)}")
    return df


def customer_profile(customers: pd.DataFrame, *, today, opportunities: pd.DataFrame | None = None,
                     orders: pd.DataFrame | None = None, activities: pd.DataFrame | None = None,
                     tickets: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per customer (same order as ``customers``) with facts from the other tables.

    Adds: ``first_deal_at``, ``last_deal_at``, ``deals`` and ``revenue`` (won opportunities, plus
    orders), ``open_opportunities``, ``last_opportunity_at``, ``last_followup_at`` (the later of
    the master field and the activities), ``followups_30d``, ``followups_90d``, ``tickets``,
    ``open_tickets``, ``days_silent``. Rows of the other tables whose customer is unknown are
    reported in ``profile.attrs["unmatched"]`` (table -> count), never silently dropped.

    Examples
    --------
    >>> import pandas as pd
    >>> c = pd.DataFrame({"customer_id": ["c1", "c2"], "last_followup_at": pd.to_datetime([None, None])})
    >>> act = pd.DataFrame({"customer_id": ["c1", "c1", "zz"], "t": pd.to_datetime(["2025-06-01", "2025-03-01", "2025-06-01"])})
    >>> p = customer_profile(c, today="2025-06-30", activities=act)
    >>> p["followups_30d"].tolist(), p["followups_90d"].tolist(), p["days_silent"].tolist()
    ([1, 0], [1, 0], [29.0, nan])
    >>> p.attrs["unmatched"]
    {'activities': 1}
    """
    today = pd.Timestamp(today).normalize()
    ids = customers["customer_id"]
    out = customers.copy()
    known = set(ids)
    unmatched: dict[str, int] = {}

    def count_unknown(df, name):
        n = int((~df["customer_id"].isin(known)).sum())
        if n:
            unmatched[name] = n

    deals = pd.DataFrame(columns=["customer_id", "t", "amount"])
    opp = _per_customer(opportunities, "opportunities", ("customer_id", "stage", "created_at", "amount"))
    if opp is not None:
        count_unknown(opp, "opportunities")
        won = opp[opp["stage"] == "won"]
        close = won["expected_close"] if "expected_close" in won else won["created_at"]
        deals = pd.concat([deals, pd.DataFrame({"customer_id": won["customer_id"], "t": close,
                                                "amount": won["amount"]})])
        open_ = opp[~opp["stage"].isin(["won", "lost"])]
        out["open_opportunities"] = ids.map(open_.groupby("customer_id").size()).fillna(0).astype(np.int64).to_numpy()
        out["last_opportunity_at"] = ids.map(opp.groupby("customer_id")["created_at"].max()).to_numpy()
    ordr = _per_customer(orders, "orders", ("customer_id", "ordered_at", "amount"))
    if ordr is not None:
        count_unknown(ordr, "orders")
        deals = pd.concat([deals, pd.DataFrame({"customer_id": ordr["customer_id"],
                                                "t": ordr["ordered_at"], "amount": ordr["amount"]})])
    if len(deals):
        deals["t"] = pd.to_datetime(deals["t"])
        g = deals.groupby("customer_id")
        out["first_deal_at"] = ids.map(g["t"].min()).to_numpy()
        out["last_deal_at"] = ids.map(g["t"].max()).to_numpy()
        out["deals"] = ids.map(g.size()).fillna(0).astype(np.int64).to_numpy()
        out["revenue"] = ids.map(g["amount"].sum()).fillna(0.0).to_numpy()
    act = _per_customer(activities, "activities", ("customer_id", "t"))
    last = pd.to_datetime(customers["last_followup_at"]) if "last_followup_at" in customers else \
        pd.Series(pd.NaT, index=customers.index)
    if act is not None:
        count_unknown(act, "activities")
        t = pd.to_datetime(act["t"]).dt.normalize()
        age = (today - t).dt.days
        g = act.assign(t=t, age=age).groupby("customer_id")
        last = pd.concat([last, ids.map(g["t"].max())], axis=1).max(axis=1)
        for days in (30, 90):
            n = act.assign(age=age)[age.between(0, days - 1)].groupby("customer_id").size()
            out[f"followups_{days}d"] = ids.map(n).fillna(0).astype(np.int64).to_numpy()
    out["last_followup_at"] = pd.to_datetime(last).to_numpy()
    tk = _per_customer(tickets, "tickets", ("customer_id", "opened_at"))
    if tk is not None:
        count_unknown(tk, "tickets")
        out["tickets"] = ids.map(tk.groupby("customer_id").size()).fillna(0).astype(np.int64).to_numpy()
        open_tk = tk[tk["closed_at"].isna()] if "closed_at" in tk else tk
        out["open_tickets"] = ids.map(open_tk.groupby("customer_id").size()).fillna(0).astype(np.int64).to_numpy()
    out["days_silent"] = (today - pd.to_datetime(out["last_followup_at"]).dt.normalize()).dt.days.astype(float)
    out.attrs["unmatched"] = unmatched
    return out
