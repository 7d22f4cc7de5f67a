"""Lead profile (FEATURES L2C-2): one row per lead with source, campaigns, keywords, touches and
behaviour counts and recency."""

from __future__ import annotations

import numpy as np
import pandas as pd

from crmsim.conditions import evaluate_all
from crmsim.tables import LEAD_EVENT_TYPES

__all__ = ["lead_profile"]


def lead_profile(leads: pd.DataFrame, events: pd.DataFrame, *, now, kinds=LEAD_EVENT_TYPES,
                 tags=()) -> pd.DataFrame:
    """One row per lead (same order as ``leads``).

    Adds ``first_touch``, ``last_touch``, ``touches``, ``days_since_last_touch``, per event kind
    ``n_<kind>`` and ``days_since_<kind>``, ``campaigns`` (distinct campaigns of its events,
    plus the lead's own ``campaign``), and ``tags`` from :class:`~crmsim.leads.scoring.TagRule`
    objects. Events of unknown leads are counted in ``profile.attrs["unmatched_events"]``.

    Examples
    --------
    >>> leads = pd.DataFrame({"lead_id": ["a", "b"], "campaign": ["spring", None]})
    >>> ev = pd.DataFrame({"lead_id": ["a", "a", "z"], "event": ["visit", "download", "visit"],
    ...                    "t": pd.to_datetime(["2025-03-01", "2025-03-10", "2025-03-10"]),
    ...                    "campaign": ["webinar", None, None]})
    >>> p = lead_profile(leads, ev, now="2025-03-11", kinds=("visit", "download"))
    >>> p[["touches", "n_visit", "days_since_last_touch", "campaigns"]].values.tolist()
    [[2, 1, 1.0, 'spring,webinar'], [0, 0, nan, '']]
    >>> p.attrs["unmatched_events"]
    1
    """
    for c, t in (("lead_id", "leads"), ("lead_id", "events"), ("t", "events"), ("event", "events")):
        df = leads if t == "leads" else events
        if c not in df.columns:
            raise KeyError(f"{t}: column '{c}' missing; columns are {list(df.columns)}")
    now = pd.Timestamp(now)
    ids = leads["lead_id"]
    out = leads.copy()
    ev = events[events["lead_id"].isin(set(ids))].copy()
    ev["t"] = pd.to_datetime(ev["t"])
    g = ev.groupby("lead_id")["t"]
    out["first_touch"] = ids.map(g.min()).to_numpy()
    out["last_touch"] = ids.map(g.max()).to_numpy()
    out["touches"] = ids.map(g.size()).fillna(0).astype(np.int64).to_numpy()
    out["days_since_last_touch"] = ((now - pd.to_datetime(out["last_touch"])) / pd.Timedelta(days=1)).to_numpy()
    for k in kinds:
        e = ev[ev["event"] == k].groupby("lead_id")["t"]
        out[f"n_{k}"] = e.size().reindex(ids).fillna(0).astype(np.int64).to_numpy()
        last = pd.to_datetime(e.max().reindex(ids))
        out[f"days_since_{k}"] = ((now - last) / pd.Timedelta(days=1)).to_numpy()
    camp = {}
    if "campaign" in ev.columns:
        camp = ev.dropna(subset=["campaign"]).groupby("lead_id")["campaign"].agg(lambda s: list(dict.fromkeys(s)))
    own = leads["campaign"] if "campaign" in leads.columns else pd.Series([None] * len(leads), index=leads.index)
    out["campaigns"] = [",".join(dict.fromkeys(([o] if isinstance(o, str) else []) + list(camp.get(i, []))))
                        for i, o in zip(ids, own)]
    if tags:
        hits = [(t.tag, evaluate_all(t.when, out).to_numpy()) for t in tags]
        out["tags"] = [",".join(tag for tag, h in hits if h[k]) for k in range(len(out))]
    out.attrs["unmatched_events"] = int((~events["lead_id"].isin(set(ids))).sum())
    return out
