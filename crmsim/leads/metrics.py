"""Funnel metrics from a leads table and a tidy event log (FEATURES L2C-3).

The same function reads a simulation's output and a real CRM's lead history, as long as the
history has a leads table (``lead_id``, ``channel``, ``created``, ``cost``) and an event log with
``t, entity_id, event, value`` whose events include ``mql``, ``contacted``, ``sql``,
``opportunity``, ``won`` (value = amount), ``lost``, ``recycled``, ``quarantined``, ``merged``
(and ``abandoned``: an MQL that gave up waiting for its first contact, where the history has one).
Times are in days.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["MILESTONES", "funnel_metrics", "funnel_by_channel"]

#: Events counted once per lead, in funnel order.
MILESTONES: tuple[str, ...] = (
    "quarantined", "merged", "mql", "contacted", "recycled", "abandoned", "sql", "opportunity", "won", "lost",
)


def _first_times(events: pd.DataFrame, event: str) -> pd.Series:
    e = events[events["event"] == event]
    return e.groupby("entity_id", sort=False, observed=True)["t"].min()


def _cohort(leads: pd.DataFrame, start: float, end: float, column: str) -> pd.Series:
    """``column`` of the leads created in [start, end), indexed by ``lead_id`` (no copy of the
    rest of the table)."""
    created = leads["created"].to_numpy()
    keep = (created >= start) & (created < end)
    out = leads[column][keep]   # keeps its dtype (a categorical channel keeps its empty channels)
    out.index = leads["lead_id"].to_numpy()[keep]
    return out


def funnel_by_channel(leads: pd.DataFrame, events: pd.DataFrame, *, start: float = 0.0,
                      end: float = np.inf) -> pd.DataFrame:
    """Counts per channel (rows) of leads created in [start, end) reaching each milestone (columns).

    Examples
    --------
    >>> leads = pd.DataFrame({"lead_id": [1, 2], "channel": ["ads", "ads"], "created": [0.0, 1.0],
    ...                       "cost": [10.0, 10.0]})
    >>> ev = pd.DataFrame({"t": [0.0, 0.1], "entity_id": [1, 1], "event": ["mql", "contacted"],
    ...                    "value": [np.nan, np.nan]})
    >>> funnel_by_channel(leads, ev)[["leads", "mql", "contacted", "won"]].values.tolist()
    [[2, 1, 1, 0]]
    """
    ids = _cohort(leads, start, end, "channel")
    ev = events.loc[events["event"].isin(MILESTONES) & events["entity_id"].isin(ids.index),
                    ["entity_id", "event"]].drop_duplicates()
    # event names stay categorical codes (a text copy per event would cost ~60 bytes each)
    reached = pd.DataFrame({"channel": ids.reindex(ev["entity_id"]).to_numpy(),
                            "event": pd.Categorical(ev["event"])}, copy=False)
    counts = reached.groupby(["channel", "event"], observed=True).size().unstack("event")
    counts.columns = counts.columns.astype(str)
    df = pd.concat([ids.value_counts().rename("leads"), counts], axis=1)
    df = df.reindex(columns=["leads", *MILESTONES]).fillna(0).astype(np.int64)
    df.index = df.index.astype(str)
    df.index.name = "channel"
    return df.sort_index()


def funnel_metrics(leads: pd.DataFrame, events: pd.DataFrame, *, start: float = 0.0,
                   end: float = np.inf) -> dict[str, float]:
    """One flat dict of funnel metrics for leads created in [start, end).

    Keys: ``leads`` and each milestone overall and per channel (``mql.ads``...), time to first
    contact in hours (``ttfc_mean_h``, ``ttfc_p50_h``, ``ttfc_p90_h``; contacted leads only),
    ``p_wait`` (share of contacted leads not contacted at the instant they arrived),
    ``marketing_cost``, ``revenue`` (sum of ``won`` values), ``cost_per_won``, ``win_rate``
    (won / (won + lost)), ``mql_to_sql`` and ``p_abandon`` (abandoned / MQL).
    """
    by_ch = funnel_by_channel(leads, events, start=start, end=end)
    m: dict[str, float] = {}
    for col in by_ch.columns:
        m[col] = float(by_ch[col].sum())
    for ch, row in by_ch.iterrows():
        for col in by_ch.columns:
            m[f"{col}.{ch}"] = float(row[col])
    created = _cohort(leads, start, end, "created")
    contact = _first_times(events, "contacted")
    contact = contact[contact.index.isin(created.index)]
    wait_h = (contact - created.loc[contact.index]).to_numpy() * 24
    if wait_h.size:
        m["ttfc_mean_h"] = float(wait_h.mean())
        m["ttfc_p50_h"] = float(np.percentile(wait_h, 50))
        m["ttfc_p90_h"] = float(np.percentile(wait_h, 90))
        m["p_wait"] = float((wait_h > 1e-9).mean())
    else:
        m.update(ttfc_mean_h=np.nan, ttfc_p50_h=np.nan, ttfc_p90_h=np.nan, p_wait=np.nan)
    won = events[(events["event"] == "won") & events["entity_id"].isin(created.index)]
    m["marketing_cost"] = float(_cohort(leads, start, end, "cost").sum())
    m["revenue"] = float(won["value"].sum())
    m["cost_per_won"] = m["marketing_cost"] / m["won"] if m["won"] else np.nan
    closed = m["won"] + m["lost"]
    m["win_rate"] = m["won"] / closed if closed else np.nan
    m["mql_to_sql"] = m["sql"] / m["mql"] if m["mql"] else np.nan
    m["p_abandon"] = m["abandoned"] / m["mql"] if m["mql"] else np.nan
    return m
