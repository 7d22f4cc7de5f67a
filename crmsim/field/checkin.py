"""Field check-in (FEATURES SFE): geofence and time-on-site checks, suspicious records, and the
follow-up to-dos created from visits."""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import Field

from crmsim.conditions import Condition, evaluate_all
from crmsim.config import Config
from crmsim.field.routes import haversine_km

__all__ = ["CheckinRules", "check_visits", "todo_status", "TodoRule", "todos_from_visits", "account_timeline"]


class CheckinRules(Config):
    """Flags a visit record when:

    ``too_far`` (check-in more than ``geofence_m`` from the customer), ``checkout_far`` (the same
    at check-out), ``too_short`` (less than ``min_minutes`` on site), ``too_long`` (more than
    ``max_minutes``), ``no_checkout``, ``overlap`` (the rep's previous visit had not ended),
    ``impossible_travel`` (faster than ``max_speed_kmh`` from the previous visit).

    Examples
    --------
    >>> import pandas as pd
    >>> cust = pd.DataFrame({"customer_id": ["s1"], "lat": [52.5200], "lon": [13.4050]})
    >>> v = pd.DataFrame({"visit_id": ["v1", "v2"], "rep_id": "r1", "customer_id": "s1",
    ...                   "checkin_at": pd.to_datetime(["2025-03-03 09:00", "2025-03-03 11:00"]),
    ...                   "checkout_at": pd.to_datetime(["2025-03-03 09:30", "2025-03-03 11:02"]),
    ...                   "checkin_lat": [52.5201, 52.5300], "checkin_lon": [13.4051, 13.4050]})
    >>> check_visits(v, cust, CheckinRules(geofence_m=200, min_minutes=5))["flags"].tolist()
    [[], ['too_far', 'too_short']]
    """

    geofence_m: float = Field(default=200.0, gt=0)
    min_minutes: float = Field(default=5.0, ge=0)
    max_minutes: float = Field(default=240.0, gt=0)
    max_speed_kmh: float = Field(default=120.0, gt=0)


def check_visits(visits: pd.DataFrame, customers: pd.DataFrame, rules: CheckinRules | None = None) -> pd.DataFrame:
    """``visits``: ``visit_id, rep_id, customer_id, checkin_at, checkout_at, checkin_lat,
    checkin_lon`` (and optionally ``checkout_lat, checkout_lon``); ``customers``: ``customer_id,
    lat, lon``. Returns the visits with ``distance_m``, ``minutes``, ``flags`` (list) and
    ``suspicious``. A visit of an unknown customer is flagged ``unknown_customer``.

    Examples
    --------
    >>> import pandas as pd
    >>> cust = pd.DataFrame({"customer_id": ["s1"], "lat": [52.52], "lon": [13.405]})
    >>> v = pd.DataFrame({"visit_id": ["v1", "v2"], "rep_id": "r1", "customer_id": ["s1", "s9"],
    ...                   "checkin_at": pd.to_datetime(["2025-03-03 09:00", "2025-03-03 11:00"]),
    ...                   "checkout_at": pd.to_datetime(["2025-03-03 09:40", None]),
    ...                   "checkin_lat": [52.52, 52.52], "checkin_lon": [13.405, 13.405]})
    >>> out = check_visits(v, cust)
    >>> out[["visit_id", "minutes", "suspicious"]].values.tolist(), out["flags"].tolist()
    ([['v1', 40.0, False], ['v2', nan, True]], [[], ['unknown_customer', 'no_checkout']])
    """
    rules = rules or CheckinRules()
    v = visits.copy()
    loc = customers.set_index("customer_id")[["lat", "lon"]]
    clat = v["customer_id"].map(loc["lat"]).to_numpy(float)
    clon = v["customer_id"].map(loc["lon"]).to_numpy(float)
    v["distance_m"] = haversine_km(v["checkin_lat"].to_numpy(float), v["checkin_lon"].to_numpy(float), clat, clon) * 1000
    out_m = (haversine_km(v["checkout_lat"].to_numpy(float), v["checkout_lon"].to_numpy(float), clat, clon) * 1000
             if "checkout_lat" in v.columns else np.full(len(v), np.nan))
    cin, cout = pd.to_datetime(v["checkin_at"]), pd.to_datetime(v["checkout_at"])
    v["minutes"] = ((cout - cin) / pd.Timedelta(minutes=1)).to_numpy()
    v = v.sort_values(["rep_id", "checkin_at"], kind="stable")
    prev_out = pd.to_datetime(v.groupby("rep_id")["checkout_at"].shift())
    prev_lat = v.groupby("rep_id")["checkin_lat"].shift().to_numpy(float)
    prev_lon = v.groupby("rep_id")["checkin_lon"].shift().to_numpy(float)
    gap_h = ((pd.to_datetime(v["checkin_at"]) - prev_out) / pd.Timedelta(hours=1)).to_numpy()
    km = haversine_km(prev_lat, prev_lon, v["checkin_lat"].to_numpy(float), v["checkin_lon"].to_numpy(float))
    speed = np.where(gap_h > 0, km / np.where(gap_h > 0, gap_h, 1), np.where(km > 0.5, np.inf, 0))
    tests = {
        "unknown_customer": ~v["customer_id"].isin(loc.index).to_numpy(),
        "too_far": v["distance_m"].to_numpy() > rules.geofence_m,
        "checkout_far": pd.Series(out_m, index=visits.index).reindex(v.index).to_numpy() > rules.geofence_m,
        "no_checkout": pd.to_datetime(v["checkout_at"]).isna().to_numpy(),
        "too_short": v["minutes"].to_numpy() < rules.min_minutes,
        "too_long": v["minutes"].to_numpy() > rules.max_minutes,
        "overlap": (gap_h < 0),
        "impossible_travel": np.nan_to_num(speed, nan=0.0) > rules.max_speed_kmh,
    }
    flags = [[name for name, hit in tests.items() if hit[k]] for k in range(len(v))]
    v["flags"] = flags
    v["suspicious"] = [bool(f) for f in flags]
    return v.sort_index()


def todo_status(todos: pd.DataFrame, *, now) -> pd.DataFrame:
    """To-dos created from visits (``todo_id, visit_id, customer_id, due_at, done_at``): status
    ``done_on_time``, ``done_late``, ``open`` or ``overdue`` at ``now``.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"todo_id": ["t1", "t2", "t3", "t4"], "visit_id": "v1", "customer_id": "s1",
    ...                   "due_at": pd.to_datetime(["2025-03-05"] * 4),
    ...                   "done_at": pd.to_datetime(["2025-03-04", "2025-03-07", None, None])})
    >>> todo_status(t, now="2025-03-04 12:00")["status"].tolist(), todo_status(t, now="2025-03-10")["status"].tolist()
    (['done_on_time', 'done_late', 'open', 'open'], ['done_on_time', 'done_late', 'overdue', 'overdue'])
    """
    now = pd.Timestamp(now)
    due, done = pd.to_datetime(todos["due_at"]), pd.to_datetime(todos["done_at"])
    status = np.select([done.notna() & (done <= due), done.notna(), due < now],
                       ["done_on_time", "done_late", "overdue"], "open")
    return todos.assign(status=status)


class TodoRule(Config):
    """Create a follow-up to-do ``title`` from every visit meeting ``when`` (conditions on the
    visit's form fields), due ``due_days`` after the visit.

    Examples
    --------
    >>> import pandas as pd
    >>> v = pd.DataFrame({"visit_id": ["v1", "v2"], "customer_id": ["s1", "s2"], "rep_id": "r1",
    ...                   "checkout_at": pd.to_datetime(["2025-03-03 10:00", "2025-03-03 12:00"]), "shelf_gap": [True, False]})
    >>> rule = TodoRule(title="restock", when=[{"field": "shelf_gap", "op": "eq", "value": True}], due_days=2)
    >>> todos_from_visits(v, [rule])[["visit_id", "title", "due_at"]].values.tolist()
    [['v1', 'restock', Timestamp('2025-03-05 10:00:00')]]
    """

    title: str
    when: tuple[Condition, ...] = Field(min_length=1)
    due_days: int = Field(default=7, ge=0)


def todos_from_visits(visits: pd.DataFrame, rules) -> pd.DataFrame:
    """To-dos (``todo_id, visit_id, customer_id, rep_id, title, created_at, due_at, done_at``)
    from visit records with form fields as columns and a ``checkout_at`` time.

    Examples
    --------
    >>> import pandas as pd
    >>> v = pd.DataFrame({"visit_id": ["v1"], "customer_id": ["s1"], "rep_id": "r1",
    ...                   "checkout_at": pd.to_datetime(["2025-03-03 10:00"]), "competitor_promo": ["yes"]})
    >>> t = todos_from_visits(v, [TodoRule(title="report the promotion", when=[{"field": "competitor_promo", "op": "eq", "value": "yes"}])])
    >>> t.columns.tolist()
    ['todo_id', 'visit_id', 'customer_id', 'rep_id', 'title', 'created_at', 'due_at', 'done_at']
    """
    parts = []
    for r in rules:
        hit = visits[evaluate_all(r.when, visits).to_numpy()]
        created = pd.to_datetime(hit["checkout_at"])
        parts.append(pd.DataFrame({"visit_id": hit["visit_id"], "customer_id": hit["customer_id"],
                                   "rep_id": hit["rep_id"], "title": r.title, "created_at": created,
                                   "due_at": created + pd.Timedelta(days=r.due_days), "done_at": pd.NaT}))
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
        columns=["visit_id", "customer_id", "rep_id", "title", "created_at", "due_at", "done_at"])
    out.insert(0, "todo_id", [f"T{k:06d}" for k in range(len(out))])
    return out


def account_timeline(visits: pd.DataFrame, todos: pd.DataFrame | None = None) -> pd.DataFrame:
    """Visit records shared to the account: one time-ordered feed per customer of visits (who,
    when, how long, flags) and the to-dos they created.

    Examples
    --------
    >>> import pandas as pd
    >>> v = pd.DataFrame({"visit_id": ["v1", "v2"], "customer_id": "s1", "rep_id": ["r1", "r2"],
    ...                   "checkin_at": pd.to_datetime(["2025-03-03 09:00", "2025-03-10 09:00"]),
    ...                   "checkout_at": pd.to_datetime(["2025-03-03 09:30", "2025-03-10 10:00"])})
    >>> account_timeline(v)[["customer_id", "kind", "who"]].values.tolist()
    [['s1', 'visit', 'r1'], ['s1', 'visit', 'r2']]
    """
    v = pd.DataFrame({"customer_id": visits["customer_id"], "t": pd.to_datetime(visits["checkin_at"]),
                      "kind": "visit", "who": visits["rep_id"],
                      "detail": visits.get("flags", pd.Series([[]] * len(visits), index=visits.index))
                      .map(lambda f: "suspicious: " + ",".join(f) if f else "ok")})
    parts = [v]
    if todos is not None and len(todos):
        parts.append(pd.DataFrame({"customer_id": todos["customer_id"], "t": pd.to_datetime(todos["created_at"]),
                                   "kind": "todo", "who": todos["rep_id"],
                                   "detail": todos["title"] + " (due " + pd.to_datetime(todos["due_at"]).dt.strftime("%Y-%m-%d") + ")"}))
    return pd.concat(parts, ignore_index=True).sort_values(["customer_id", "t"], kind="stable").reset_index(drop=True)
