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


def _cohort(leads: pd.DataFrame, start: float, end: float, column: str) -> pd.Series:
    """``column`` of the leads created in [start, end), indexed by ``lead_id`` (no copy of the
    rest of the table)."""
    created = leads["created"].to_numpy()
    keep = (created >= start) & (created < end)
    out = leads[column][keep]   # keeps its dtype (a categorical channel keeps its empty channels)
    out.index = leads["lead_id"].to_numpy()[keep]
    return out


def _reached(events: pd.DataFrame, lead_ids: pd.Index) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(position of each event's lead in ``lead_ids`` or -1, its milestone's index in
    :data:`MILESTONES` or -1, a leads x milestones table of who reached what): integer codes,
    not text (a text copy per event would cost ~60 bytes each)."""
    if not lead_ids.is_unique:
        dup = lead_ids[lead_ids.duplicated()][:3].tolist()
        raise ValueError(f"leads: column 'lead_id' must be unique; repeated ids include {dup}")
    names = events["event"]
    ev = names.array if isinstance(names.dtype, pd.CategoricalDtype) else pd.Categorical(names)
    lut = np.array([MILESTONES.index(c) if c in MILESTONES else -1 for c in ev.categories] + [-1], dtype=np.int8)
    mi = lut[ev.codes]   # code -1 (a missing event name) reads the trailing -1
    ent = events["entity_id"].to_numpy()
    find = _finder(ent.dtype, lead_ids)
    pos = np.empty(ent.size, dtype=np.int32 if len(lead_ids) < 2**31 else np.int64)
    table = np.zeros((len(MILESTONES), len(lead_ids)), dtype=bool)   # milestone x lead
    step = 1 << 16   # a slice of events at a time: small temporaries
    for a in range(0, ent.size, step):
        p, m = find(ent[a:a + step]), mi[a:a + step]
        keep = (p >= 0) & (m >= 0)
        table[m[keep], p[keep]] = True
        pos[a:a + step] = p
    return pos, mi, table


def _finder(dtype: np.dtype, lead_ids: pd.Index):
    """A function giving the position of each id (of ``dtype``) in the unique ``lead_ids`` (-1:
    not there). Integer ids that are dense (most exports' and every simulation's) are looked up
    in an array, others hashed."""
    ids = lead_ids.to_numpy()
    if ids.dtype.kind in "iu" and dtype.kind in "iu" and ids.size:
        lo, hi = int(ids.min()), int(ids.max())
        fits = np.iinfo(dtype).min <= lo and hi <= np.iinfo(dtype).max
        if fits and hi - lo < 4 * ids.size + 1024:
            small = np.int32 if ids.size < 2**31 else np.int64
            lut = np.full(hi - lo + 1, -1, dtype=small)
            lut[ids - lo] = np.arange(ids.size, dtype=small)

            def dense(x: np.ndarray) -> np.ndarray:
                inside = (x >= lo) & (x <= hi)
                return np.where(inside, lut[np.where(inside, x - lo, 0)], small(-1))
            return dense
    return lead_ids.get_indexer


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
    return _by_channel(ids, _reached(events, ids.index)[2])


def _by_channel(ids: pd.Series, table: np.ndarray) -> pd.DataFrame:
    ch = pd.Categorical(ids)   # a categorical channel keeps its categories (empty channels too)
    k, codes = len(ch.categories), ch.codes
    has = codes >= 0           # a lead without a channel is counted in no row
    counts = np.stack([np.bincount(codes[row & has], minlength=k) for row in table], axis=1)
    df = pd.DataFrame(counts, columns=list(MILESTONES), index=ch.categories.astype(str))
    df.insert(0, "leads", np.bincount(codes[has], minlength=k))
    df = df.astype(np.int64)
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

    Examples
    --------
    >>> leads = pd.DataFrame({"lead_id": [1, 2], "channel": ["ads", "fair"], "created": [0.0, 1.0], "cost": [30.0, 80.0]})
    >>> ev = pd.DataFrame({"t": [0.0, 0.25, 3.0], "entity_id": [1, 1, 1], "event": ["mql", "contacted", "won"],
    ...                    "value": [np.nan, np.nan, 5_000.0]})
    >>> m = funnel_metrics(leads, ev)
    >>> m["leads"], m["mql.ads"], m["ttfc_mean_h"], m["revenue"], m["cost_per_won"]
    (2.0, 1.0, 6.0, 5000.0, 110.0)
    """
    ids = _cohort(leads, start, end, "channel")
    pos, mi, table = _reached(events, ids.index)
    by_ch = _by_channel(ids, table)
    del table
    m: dict[str, float] = {}
    for col in by_ch.columns:
        m[col] = float(by_ch[col].sum())
    for ch, row in zip(by_ch.index, by_ch.to_numpy().tolist()):
        for col, v in zip(by_ch.columns, row):
            m[f"{col}.{ch}"] = float(v)
    # events of the cohort's leads (positions into the events): first contacts and wins
    at = np.flatnonzero((mi == MILESTONES.index("contacted")) & (pos >= 0))
    won = np.flatnonzero((mi == MILESTONES.index("won")) & (pos >= 0))
    first = np.full(len(ids), np.inf)
    np.minimum.at(first, pos[at], events["t"].to_numpy(dtype=float)[at])   # each lead's first contact
    del pos, mi, at
    created = leads["created"].to_numpy()
    cohort = (created >= start) & (created < end)
    hit = np.isfinite(first)
    wait_h = (first[hit] - created[cohort][hit]) * 24
    if wait_h.size:
        m["ttfc_mean_h"] = float(wait_h.mean())
        m["ttfc_p50_h"] = float(np.percentile(wait_h, 50))
        m["ttfc_p90_h"] = float(np.percentile(wait_h, 90))
        m["p_wait"] = float((wait_h > 1e-9).mean())
    else:
        m.update(ttfc_mean_h=np.nan, ttfc_p50_h=np.nan, ttfc_p90_h=np.nan, p_wait=np.nan)
    m["marketing_cost"] = float(leads["cost"][cohort].sum())
    if "value" in events.columns:
        m["revenue"] = float(np.nansum(events["value"].to_numpy(dtype=float)[won]))
    elif won.size:
        raise ValueError("events: 'won' events need a 'value' column (the amount won)")
    else:
        m["revenue"] = 0.0
    m["cost_per_won"] = m["marketing_cost"] / m["won"] if m["won"] else np.nan
    closed = m["won"] + m["lost"]
    m["win_rate"] = m["won"] / closed if closed else np.nan
    m["mql_to_sql"] = m["sql"] / m["mql"] if m["mql"] else np.nan
    m["p_abandon"] = m["abandoned"] / m["mql"] if m["mql"] else np.nan
    return m
