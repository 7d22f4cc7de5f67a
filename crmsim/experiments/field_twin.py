"""The field-visit simulation fitted to your own visit and check-in log (FEATURES SFE).

:func:`load_visit_history` reads a stores table (``customer_id, lat, lon`` [, ``grade``,
``owner_id``]) and a visit log (``rep_id, customer_id`` and any of ``visit_type, planned_at,
status, checkin_at, checkout_at``) as a field-sales app or a CRM exports them: column names
through a mapping, statuses in the export's own words (:data:`STATUS_WORDS`, or your own
``statuses``), dates with times. Every row it cannot use is counted in ``exclusions`` with the
reason; every reading it has to make is in ``notes``.

:func:`calibrate_field` fits the parameters of :class:`~crmsim.sim.field.FieldConfig` the log
shows, each with its 95% CI and n:

- the stores: count, grade shares, the territory (centre and radius of a disc holding 95% of
  them, for the drawn world; the time-split check runs on your own stores);
- the plan: days between planned visits per grade (``cadence.every_days``), the most visits
  planned on one rep-day (``cadence.visits_per_day``), the working weekdays;
- the day: the share of planned visits cancelled, ad-hoc visits (done without a plan) per rep
  per working day, the share and the time on site of each visit type (lognormal, exact CIs for
  the log-mean and log-variance);
- the travel: minutes between the check-out of one visit and the check-in of the next on the same
  rep-day against the straight-line km between the two stores, ``gap = trip_minutes + km x
  minutes_per_km x noise`` (least squares, rep-day clustered CIs; gaps the trip cannot explain,
  such as lunch breaks, are left out and counted). The road factor and the speed enter only as
  their ratio: the speed is fitted at the base scenario's road factor;
- the routes: whether the team plans its day routes today (``routing``): each sampled rep-day's
  loop through its stores in check-in order against the shortest loop through the same stores;
  a median within 10% reads as planned routes (the excess is reported with its CI).

Working hours and opening hours are kept from the base scenario (a log shows them only where the
day was full) and widened when more than 5% of rep-days start before or end after them.

:func:`field_split_validation` fits on the first part of the log and simulates the rest on your
own stores and reps (each store next due ``every_days`` after its last visit before the split):
visits per rep-day, the cancelled share, plan adherence and minutes on site against the held-out
weeks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from crmsim.errors import InputError
from crmsim.experiments.fits import (
    Estimates,
    TwinCalibration,
    held_out_table,
    poisson_rate_ci,
    proportion_ci,
    provenance_table,
)
from crmsim.sim.field import FieldConfig, simulate_field
from crmsim.tables import day_number

__all__ = ["STATUS_WORDS", "VisitHistory", "FieldCalibration", "load_visit_history", "calibrate_field",
           "field_window_metrics", "field_split_validation", "FIELD_FIELDS"]

#: The export's status words (lower case) read as each of crmsim's visit statuses; pass
#: ``statuses`` (export word -> status) for other words. ``planned`` visits dated before the
#: log's last day were never done: they are read as ``missed``.
STATUS_WORDS = {
    "done": ("done", "completed", "complete", "visited", "checked out", "checked-out", "finished", "closed",
             "executed", "successful"),
    "cancelled": ("cancelled", "canceled", "cancel", "called off", "rescheduled"),
    "missed": ("missed", "not visited", "no show", "no-show", "not done", "skipped", "overdue", "expired", "failed"),
    "planned": ("planned", "scheduled", "open", "pending", "not started", "to do", "todo"),
}
#: crmsim's names for the columns the readers use (map your export's names to them).
FIELD_FIELDS = {"stores": ("customer_id", "lat", "lon", "grade", "owner_id"),
                "visits": ("visit_id", "rep_id", "customer_id", "visit_type", "planned_at", "status", "checkin_at",
                           "checkout_at")}
#: Below this many timed visits a visit type's time on site is the all-types fit.
MIN_TIMED = 30
#: A store further than this many times the 90th-percentile distance from the stores' centre is
#: outside the territory.
FAR = 3.0
_MAX_SERVICE = 12 * 60


@dataclass
class VisitHistory:
    """A read visit log: ``stores`` (``customer_id, lat, lon, grade, owner_id, located``),
    ``visits`` (``rep_id, customer_id, visit_type, status`` (done / cancelled / missed),
    ``planned`` (a planned visit, not ad hoc), ``day`` (days since 1970), ``checkin`` and
    ``checkout`` (minutes since 1970, NaN when not known), ``service`` (minutes on site, NaN when
    not timed)), ``exclusions`` (``table, reason, rows, first``), ``notes`` and what the export
    has (``has``: type, planned, status).

    Examples
    --------
    >>> import pandas as pd
    >>> from importlib.resources import files
    >>> from crmsim.errors import read_toml
    >>> EX = files("crmsim") / "examples"
    >>> fmap = read_toml(EX / "field_map.toml")
    >>> h = load_visit_history(pd.read_csv(EX / "field_stores.csv", keep_default_na=False),
    ...                        pd.read_csv(EX / "field_visits.csv", keep_default_na=False),
    ...                        columns=fmap["columns"], statuses=fmap["statuses"])
    >>> sorted(h.has), h.visits["status"].value_counts().index.tolist()[:2]
    (['checkin_at', 'checkout_at', 'planned_at', 'status', 'visit_type'], ['done', 'cancelled'])
    """

    stores: pd.DataFrame
    visits: pd.DataFrame
    exclusions: pd.DataFrame
    notes: list[str]
    has: dict[str, bool]

    @property
    def start(self) -> pd.Timestamp:
        return pd.Timestamp(int(self.visits["day"].min()), unit="D")

    @property
    def end(self) -> pd.Timestamp:
        """The log's last day."""
        return pd.Timestamp(int(self.visits["day"].max()), unit="D")

    def summary(self) -> str:
        v = self.visits
        lines = [f"{len(self.stores):,} stores, {v['rep_id'].nunique():,} reps, {len(v):,} visits "
                 f"({int((v['status'] == 'done').sum()):,} done, {int((v['status'] == 'cancelled').sum()):,} cancelled, "
                 f"{int((v['status'] == 'missed').sum()):,} missed), {self.start.date()}..{self.end.date()}"]
        lines += [f"  excluded from {r.table}: {r.rows:,} row(s), {r.reason} (first: {r.first})"
                  for r in self.exclusions.itertuples()]
        return "\n".join(lines)


class FieldCalibration(TwinCalibration[FieldConfig]):
    """The field twin's calibration (:class:`~crmsim.experiments.fits.TwinCalibration`).

    Examples
    --------
    >>> import pandas as pd
    >>> from importlib.resources import files
    >>> from crmsim.errors import read_toml
    >>> EX = files("crmsim") / "examples"
    >>> fmap = read_toml(EX / "field_map.toml")
    >>> h = load_visit_history(pd.read_csv(EX / "field_stores.csv", keep_default_na=False),
    ...                        pd.read_csv(EX / "field_visits.csv", keep_default_na=False),
    ...                        columns=fmap["columns"], statuses=fmap["statuses"])
    >>> from crmsim.experiments.scenario import load_scenario
    >>> cal = calibrate_field(h, load_scenario(files("crmsim") / "scenarios" / "field_visits.toml").baseline)
    >>> type(cal.config).__name__, "fitted" in set(cal.provenance["source"])
    ('FieldConfig', True)
    """


# ----------------------------------------------------------------------------- reading

def _status(raw: pd.Series, statuses: dict[str, str] | None, shown: str) -> pd.Series:
    words = {w: k for k, ws in STATUS_WORDS.items() for w in ws}
    for w, k in (statuses or {}).items():
        if k not in STATUS_WORDS:
            raise InputError(f"statuses: '{w}' = '{k}': a visit status is one of {sorted(STATUS_WORDS)}")
        words[str(w).strip().lower()] = k
    low = raw.astype("string").str.strip().str.lower()
    st = low.map(words)
    unknown = low[st.isna() & low.notna() & (low != "")]
    if len(unknown):
        top = unknown.value_counts().head(8)
        raise InputError(f"visits: column {shown} has statuses crmsim cannot read: "
                         + ", ".join(f"'{w}' ({n} rows)" for w, n in top.items())
                         + f"; map them in [statuses] (export word = one of {sorted(STATUS_WORDS)})")
    return st.astype("object")


def _minutes(ts: pd.Series) -> np.ndarray:
    t = pd.to_datetime(ts)
    out = ((t - pd.Timestamp("1970-01-01")) / pd.Timedelta(minutes=1)).to_numpy(dtype=float)
    return out


def _located(stores: pd.DataFrame, excl: list) -> np.ndarray:
    """Stores with usable coordinates: numbers in range, not (0, 0), inside the territory."""
    from crmsim.field.routes import haversine_km

    lat, lon = stores["lat"].to_numpy(float), stores["lon"].to_numpy(float)
    ok = np.isfinite(lat) & np.isfinite(lon) & (np.abs(lat) <= 90) & (np.abs(lon) <= 180) & ~((lat == 0) & (lon == 0))
    ids = stores["customer_id"].to_numpy()
    if (~ok).any():
        excl.append(("stores", "no usable coordinates (blank, out of range or 0, 0): kept, but not placed on "
                     "the map (their trips are not timed; the check places them at their rep's centre)",
                     int((~ok).sum()), ids[~ok][0]))
    if ok.sum() >= 5:
        c = np.median(lat[ok]), np.median(lon[ok])
        d = haversine_km(lat, lon, c[0], c[1])
        lim = max(FAR * float(np.quantile(d[ok], 0.9)), 1.0)
        far = ok & (d > lim)
        if far.any():
            excl.append(("stores", f"outside the territory (more than {lim:,.1f} km from the stores' centre, "
                         f"{FAR:g}x the 90th-percentile distance): kept, not placed on the map",
                         int(far.sum()), ids[far][0]))
            ok &= ~far
    return ok


def load_visit_history(stores, visits, *, columns: dict[str, str] | None = None,
                       statuses: dict[str, str] | None = None) -> VisitHistory:
    """Read a stores table and a visit log (DataFrames or files) into a :class:`VisitHistory`.

    ``columns`` maps crmsim's names (:data:`FIELD_FIELDS`) to the export's; ``statuses`` maps the
    export's status words to ``done / cancelled / missed / planned`` beyond :data:`STATUS_WORDS`.

    Examples
    --------
    >>> st = pd.DataFrame({"Store": ["S1", "S2"], "Lat": [31.20, 31.21], "Lng": [121.40, 121.41]})
    >>> vi = pd.DataFrame({"Rep": ["R1", "R1", "R1"], "Store": ["S1", "S2", "S9"],
    ...                    "In": ["2025-03-03 09:05", "2025-03-03 09:50", "2025-03-03 11:00"],
    ...                    "Out": ["2025-03-03 09:30", "", "2025-03-03 11:20"]})
    >>> h = load_visit_history(st, vi, columns={"customer_id": "Store", "lat": "Lat", "lon": "Lng", "rep_id": "Rep",
    ...                                         "checkin_at": "In", "checkout_at": "Out"})
    >>> h.visits[["customer_id", "status", "service"]].values.tolist()
    [['S1', 'done', 25.0], ['S2', 'done', nan]]
    >>> h.exclusions[["reason", "rows"]].values.tolist()
    [['store not in the stores table', 1], ['no check-out: counted as done, not timed', 1]]
    """
    from crmsim.shell import Col, load_export

    columns = columns or {}
    s_cols = [Col("customer_id", "id", required=True, unique=True), Col("lat", "number", required=True),
              Col("lon", "number", required=True), Col("grade", "text"), Col("owner_id", "text")]
    v_cols = [Col("visit_id", "text", unique=True), Col("rep_id", "id", required=True),
              Col("customer_id", "id", required=True), Col("visit_type", "text"), Col("planned_at", "date"),
              Col("status", "text"), Col("checkin_at", "datetime"), Col("checkout_at", "datetime")]
    excl: list[tuple] = []
    notes: list[str] = []
    # coordinates are checked here (blank or wrong ones are kept as stores without a place)
    s_load = load_export(stores, "stores", [c if c.name not in ("lat", "lon") else Col(c.name, "text", required=True)
                                            for c in s_cols], columns)
    v_load = load_export(visits, "visits", v_cols, columns)
    for name, ld in (("stores", s_load), ("visits", v_load)):
        for reason, g in ld.quarantine.groupby("reason", sort=False):
            excl.append((name, reason, len(g), int(g["source_row"].iloc[0])))
    st = s_load.table
    if not len(st):
        raise InputError("stores: no usable rows (every row was set aside; see the exclusions)")
    st["lat"] = pd.to_numeric(st["lat"], errors="coerce")
    st["lon"] = pd.to_numeric(st["lon"], errors="coerce")
    st["located"] = _located(st, excl)
    from crmsim.experiments.pool_twin import grade_names

    st["grade"] = grade_names(st["grade"]) if "grade" in st.columns else "(no grade)"
    if "grade" not in s_load.table.columns:
        notes.append("stores: no grade column; every store is of one grade, '(no grade)'")

    v = v_load.table
    shown = lambda c: f"'{columns.get(c, c)}'" if c in v.columns else c  # noqa: E731
    has = {k: k in v.columns for k in ("visit_type", "planned_at", "status", "checkin_at", "checkout_at")}
    if not (has["checkin_at"] or has["status"]):
        raise InputError("visits: needs a check-in time (checkin_at) or a status column to tell done visits; "
                         f"columns are {list(v.columns)}")
    known = v["customer_id"].isin(set(st["customer_id"]))
    if (~known).any():
        excl.append(("visits", "store not in the stores table", int((~known).sum()), v.loc[~known, "customer_id"].iloc[0]))
        v = v[known].reset_index(drop=True)
    cin = _minutes(v["checkin_at"]) if has["checkin_at"] else np.full(len(v), np.nan)
    cout = _minutes(v["checkout_at"]) if has["checkout_at"] else np.full(len(v), np.nan)
    planned_day = (_minutes(v["planned_at"]) / 1440 if has["planned_at"] else np.full(len(v), np.nan))
    if has["status"]:
        status = _status(v["status"], statuses, shown("status")).to_numpy()
        blank = pd.isna(status)
        status = np.where(blank, np.where(np.isfinite(cin), "done", None), status)
        if (blank & ~np.isfinite(cin)).any():
            k = blank & ~np.isfinite(cin)
            excl.append(("visits", "no status and no check-in", int(k.sum()), v.loc[k, "customer_id"].iloc[0]))
    else:
        status = np.where(np.isfinite(cin), "done", "cancelled").astype(object)
        if (~np.isfinite(cin)).any():
            notes.append("visits: no status column; visits without a check-in are read as cancelled (cancelled and "
                         "missed cannot be told apart)")
    day = np.where(np.isfinite(cin), np.floor(cin / 1440), np.floor(planned_day))
    nodate = ~np.isfinite(day) & (status != None)  # noqa: E711
    if nodate.any():
        excl.append(("visits", "no date (neither a check-in nor a planned date)", int(nodate.sum()),
                     v.loc[nodate, "customer_id"].iloc[0]))
    usable = (status != None) & np.isfinite(day)  # noqa: E711
    last = np.nanmax(np.where(usable & np.isfinite(cin), day, np.nan)) if (usable & np.isfinite(cin)).any() else \
        np.nanmax(np.where(usable, day, np.nan)) if usable.any() else np.nan
    future = usable & (status == "planned") & (day > last)
    if future.any():
        excl.append(("visits", "planned after the log's last visit (future plans)", int(future.sum()),
                     v.loc[future, "customer_id"].iloc[0]))
    usable &= ~future
    past_planned = usable & (status == "planned")
    if past_planned.any():
        notes.append(f"visits: {int(past_planned.sum()):,} visits still 'planned' on or before the log's last day are "
                     "read as missed")
        status = np.where(past_planned, "missed", status)
    done = status == "done"
    no_in = usable & done & ~np.isfinite(cin)
    if no_in.any():
        excl.append(("visits", "done without a check-in time: counted as done, not timed", int(no_in.sum()),
                     v.loc[no_in, "customer_id"].iloc[0]))
    service = cout - cin
    for bad, reason in ((usable & done & np.isfinite(cin) & ~np.isfinite(cout), "no check-out: counted as done, not timed"),
                        (usable & done & (service <= 0), "check-out not after check-in: counted as done, not timed"),
                        (usable & done & (service > _MAX_SERVICE), "more than 12 hours on site: counted as done, not timed")):
        if bad.any():
            excl.append(("visits", reason, int(bad.sum()), v.loc[bad, "customer_id"].iloc[0]))
    timed = done & np.isfinite(service) & (service > 0) & (service <= _MAX_SERVICE)
    vt = (v["visit_type"].astype("string").str.strip().fillna("(no type)").replace("", "(no type)").astype(str)
          if has["visit_type"] else pd.Series("", index=v.index))
    out = pd.DataFrame({"rep_id": v["rep_id"].astype(str), "customer_id": v["customer_id"].astype(str),
                        "visit_type": vt.to_numpy(), "status": status,
                        "planned": np.isfinite(planned_day) if has["planned_at"] else True,
                        "day": day, "checkin": np.where(done, cin, np.nan), "checkout": np.where(timed, cout, np.nan),
                        "service": np.where(timed, service, np.nan)})[usable].reset_index(drop=True)
    if not (out["status"] == "done").any():
        raise InputError("visits: no done visit (no check-in, no 'done' status) in the log; nothing to fit")
    if not has["planned_at"]:
        notes.append("visits: no planned date; every visit is read as planned (ad-hoc visits cannot be told apart)")
    out["day"] = out["day"].astype(int)
    if "owner_id" not in st.columns or st["owner_id"].isna().all():
        top = (out[out["status"] == "done"].groupby(["customer_id", "rep_id"]).size().rename("n").reset_index()
               .sort_values(["customer_id", "n", "rep_id"], ascending=[True, False, True]).drop_duplicates("customer_id"))
        st["owner_id"] = st["customer_id"].map(top.set_index("customer_id")["rep_id"])
        notes.append("stores: no owner column; each store's owner is the rep with most done visits to it")
    unowned = st["owner_id"].isna()
    if unowned.any():
        notes.append(f"stores: {int(unowned.sum()):,} stores have no owner (and no visits to read one from); "
                     "the simulation does not plan visits to them")
    ex = pd.DataFrame(excl, columns=["table", "reason", "rows", "first"])
    return VisitHistory(stores=st.drop(columns=["source_row"], errors="ignore").reset_index(drop=True), visits=out,
                        exclusions=ex, notes=notes, has=has)


# ----------------------------------------------------------------------------- fitting

_NOT_FITTABLE = {"open_minute": "opening hours: not in a visit log (widened with the working day if needed)",
                 "close_minute": "opening hours: not in a visit log (widened with the working day if needed)",
                 "todo_share": "to-dos: not in a visit log", "todo_due_days": "to-dos: not in a visit log",
                 "form_fields": "to-dos: not in a visit log", "todo_rules": "to-dos are rules you choose",
                 "road_factor": "only minutes per straight-line km can be seen; the speed is fitted at this road factor",
                 "accompany_grade": "accompanied visits: not in a visit log",
                 "accompany_per_month": "accompanied visits: not in a visit log"}


def _lognormal_fit(x: np.ndarray) -> dict:
    """Mean and cv of a lognormal fitted to ``x`` (minutes), with exact 95% intervals: the
    log-variance by chi-square, the mean by Cox's method."""
    from scipy import stats

    lx = np.log(x)
    n = lx.size
    mu, s2 = float(lx.mean()), float(lx.var(ddof=1)) if n > 1 else 0.0
    mean = math.exp(mu + s2 / 2)
    se = math.sqrt(s2 / n + s2 * s2 / (2 * max(n - 1, 1)))
    s2_lo = (n - 1) * s2 / stats.chi2.ppf(0.975, n - 1) if n > 1 else math.nan
    s2_hi = (n - 1) * s2 / stats.chi2.ppf(0.025, n - 1) if n > 1 else math.nan
    return {"mean": mean, "mean_ci": (mean * math.exp(-1.96 * se), mean * math.exp(1.96 * se)),
            "cv": math.sqrt(math.expm1(s2)), "cv_ci": (math.sqrt(math.expm1(s2_lo)), math.sqrt(math.expm1(s2_hi))), "n": n}


def _add_service(est: Estimates, fit: dict, group: str, path: str, source: str = "fitted", note: str = "") -> dict:
    est.add("service_minutes_mean", fit["mean"], fit["mean_ci"], fit["n"], group=group, source=source, note=note,
            path=f"{path}.mean")
    est.add("service_minutes_cv", fit["cv"], fit["cv_ci"], fit["n"], group=group, source=source, note=note,
            path=f"{path}.cv")
    return {"kind": "lognormal", "mean": round(fit["mean"], 3), "cv": round(max(fit["cv"], 1e-3), 4)}


def _trips(h: VisitHistory, w: pd.DataFrame) -> pd.DataFrame:
    """Consecutive done visits of a rep on one day, both stores placed and the first timed: the
    gap from one check-out to the next check-in (minutes) and the straight-line km."""
    from crmsim.field.routes import haversine_km

    d = w[(w["status"] == "done") & w["checkin"].notna()].sort_values(["rep_id", "checkin"], kind="stable")
    loc = h.stores.set_index("customer_id")
    lat = d["customer_id"].map(loc["lat"].where(loc["located"])).to_numpy(float)
    lon = d["customer_id"].map(loc["lon"].where(loc["located"])).to_numpy(float)
    rep, day = d["rep_id"].to_numpy(), d["day"].to_numpy()
    same = np.r_[False, (rep[1:] == rep[:-1]) & (day[1:] == day[:-1])]
    prev_out = np.r_[np.nan, d["checkout"].to_numpy()[:-1]]
    gap = d["checkin"].to_numpy() - prev_out
    km = haversine_km(np.r_[np.nan, lat[:-1]], np.r_[np.nan, lon[:-1]], lat, lon)
    ok = same & np.isfinite(gap) & np.isfinite(km)
    return pd.DataFrame({"cluster": (pd.Series(rep).astype(str) + "|" + pd.Series(day).astype(str)).to_numpy()[ok],
                         "gap": gap[ok], "km": km[ok]})


def _ols_clustered(X: np.ndarray, y: np.ndarray, cluster: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least squares with standard errors clustered by ``cluster`` (CR1)."""
    bread = np.linalg.pinv(X.T @ X)
    beta = bread @ X.T @ y
    e = y - X @ beta
    codes, g = np.unique(cluster, return_inverse=True)
    s = np.zeros((codes.size, X.shape[1]))
    np.add.at(s, g, X * e[:, None])
    G, n, k = codes.size, len(y), X.shape[1]
    adj = G / max(G - 1, 1) * (n - 1) / max(n - k, 1)
    V = bread @ (s.T @ s) @ bread * adj
    return beta, np.sqrt(np.maximum(np.diag(V), 0))


def _fit_travel(trips: pd.DataFrame, est: Estimates, notes: list[str], base: FieldConfig, r_raw: dict, rng) -> None:
    rr = base.reps
    neg = trips["gap"] < 0
    if neg.any():
        notes.append(f"travel: {int(neg.sum()):,} of {len(trips):,} trips start before the previous visit ended "
                     "(overlapping visits); left out of the travel fit")
    t = trips[~neg]
    if len(t) < 30:
        notes.append(f"travel: {len(t)} timed trips between placed stores (30 needed); speed, trip minutes and "
                     "travel noise are the base scenario's")
        return
    y, km, cl = t["gap"].to_numpy(float), t["km"].to_numpy(float), t["cluster"].to_numpy()
    keep = np.ones(len(y), bool)
    for _ in range(5):    # leave out gaps the trip cannot explain (breaks, errands, waiting)
        X = np.column_stack([np.ones(keep.sum()), km[keep]])
        beta, _se = _ols_clustered(X, y[keep], cl[keep])
        pred = np.maximum(beta[0] + beta[1] * km, 1.0)
        rel = y / pred - 1
        scale = 1.4826 * np.median(np.abs(rel[keep] - np.median(rel[keep])))
        new = rel <= max(6 * scale, 2.0)
        if (new == keep).all():
            break
        keep = new
    X = np.column_stack([np.ones(keep.sum()), km[keep]])
    beta, se = _ols_clustered(X, y[keep], cl[keep])
    dropped = int((~keep).sum())
    if dropped:
        notes.append(f"travel: {dropped:,} of {len(y):,} gaps between visits are much longer than their trip "
                     "(breaks, errands, waiting) and are left out of the travel fit; the simulation has no breaks")
    n = int(keep.sum())
    a, b = float(beta[0]), float(beta[1])
    if b <= 0:
        notes.append("travel: minutes between visits do not grow with the distance; speed is the base scenario's")
        return
    if a < 0:
        b = float((y[keep] * km[keep]).sum() / (km[keep] ** 2).sum())
        a, se = 0.0, np.array([0.0, se[1]])
        notes.append("travel: the fitted minutes per trip were below 0; refitted through the origin (trip_minutes = 0)")
    a_ci = (max(0.0, a - 1.96 * se[0]), a + 1.96 * se[0])
    b_ci = (max(b - 1.96 * se[1], 1e-9), b + 1.96 * se[1])
    est.add("minutes_per_km", b, b_ci, n, note="straight-line km; rep-day clustered CI")
    speed = rr.road_factor * 60 / b
    est.add("speed_kmh", speed, (rr.road_factor * 60 / b_ci[1], rr.road_factor * 60 / b_ci[0]), n,
            note=f"at the base road factor {rr.road_factor:g} (only their ratio is seen)", path="reps.speed_kmh")
    est.add("trip_minutes", a, a_ci, n, note="minutes of every trip on top of the driving", path="reps.trip_minutes")
    r_raw["speed_kmh"], r_raw["trip_minutes"] = round(speed, 4), round(a, 3)
    far = keep & (km >= max(0.5, float(np.median(km[keep]))))
    if far.sum() >= 30:
        eps = (y[far] - a) / (b * km[far])
        cv = float(eps.std(ddof=1) / eps.mean())
        boot = []
        idx = np.flatnonzero(far)
        for _ in range(200):
            s = eps[rng.integers(0, eps.size, min(eps.size, 100_000))]
            boot.append(s.std(ddof=1) / s.mean())
        est.add("travel_noise_cv", cv, tuple(np.quantile(boot, [0.025, 0.975])), int(idx.size),
                note="spread of trip times around the fit, on trips of at least the median distance",
                path="reps.travel_noise_cv")
        r_raw["travel_noise_cv"] = round(cv, 4)


def _fit_day(w: pd.DataFrame, trips: pd.DataFrame, base: FieldConfig, est: Estimates, notes: list[str],
             r_raw: dict, c_raw: dict) -> None:
    d = w[(w["status"] == "done") & w["checkin"].notna()]
    if not len(d):
        return
    g = d.groupby(["rep_id", "day"])
    first = (g["checkin"].min() - g["day"].first() * 1440).to_numpy()
    last = (g["checkout"].max() - g["day"].first() * 1440).dropna().to_numpy()
    rr = base.reps
    est.add("first_checkin_median", float(np.median(first)), n=first.size, source="observed",
            note="minute of the day (the base scenario's working hours are kept unless the log lies outside them)")
    if last.size:
        est.add("last_checkout_p95", float(np.quantile(last, 0.95)), n=last.size, source="observed",
                note="minute of the day")
    trip = float(np.median(trips["gap"].clip(lower=0))) if len(trips) else 0.0
    if (first < rr.day_start).mean() > 0.05:
        v = int(max(0, np.floor(np.quantile(first, 0.05) - trip)))
        est.add("day_start", v, n=first.size, source="fitted", path="reps.day_start",
                note=f"widened: {100 * (first < rr.day_start).mean():.0f}% of rep-days start before the base's "
                     f"{rr.day_start}")
        r_raw["day_start"] = v
        c_raw["open_minute"] = min(c_raw.get("open_minute", base.customers.open_minute), v)
    if last.size and (last > rr.day_end).mean() > 0.05:
        v = int(min(1440, np.ceil(np.quantile(last, 0.95))))
        est.add("day_end", v, n=last.size, source="fitted", path="reps.day_end",
                note=f"widened: {100 * (last > rr.day_end).mean():.0f}% of rep-days end after the base's {rr.day_end}")
        r_raw["day_end"] = v
        c_raw["close_minute"] = max(c_raw.get("close_minute", base.customers.close_minute), v)
    if "day_start" in r_raw and "day_end" in r_raw and r_raw["day_start"] >= r_raw["day_end"]:
        raise InputError("visits: the working day read from the check-ins is empty; check the check-in and "
                         "check-out columns")


def _territory(st: pd.DataFrame, est: Estimates, c_raw: dict, rng) -> None:
    from crmsim.field.routes import haversine_km

    p = st[st["located"]]
    if len(p) < 5:
        return
    lat, lon = p["lat"].to_numpy(float), p["lon"].to_numpy(float)
    c = float(np.median(lat)), float(np.median(lon))
    d = haversine_km(lat, lon, c[0], c[1])
    r = float(np.quantile(d, 0.95) / math.sqrt(0.95))
    boot = [np.quantile(d[rng.integers(0, d.size, d.size)], 0.95) / math.sqrt(0.95) for _ in range(200)]
    c_raw["center"] = [round(c[0], 6), round(c[1], 6)]
    c_raw["radius_km"] = round(r, 3)
    est.add("center", f"{c[0]:.5f}, {c[1]:.5f}", n=len(p), source="fitted", note="median of the stores' positions",
            path="customers.center")
    est.add("radius_km", r, tuple(np.quantile(boot, [0.025, 0.975])), len(p),
            note="a disc holding 95% of the stores (the drawn world); the check runs on your own stores",
            path="customers.radius_km")


def _workdays(w: pd.DataFrame, est: Estimates) -> tuple[int, ...]:
    d = w[w["status"] == "done"].drop_duplicates(["rep_id", "day"])
    wd = ((d["day"].to_numpy() + 3) % 7)          # 1970-01-01 was a Thursday
    counts = np.bincount(wd, minlength=7)
    days = tuple(int(k) for k in np.flatnonzero(counts >= 0.2 * counts.max()))
    est.add("workdays", " ".join(map(str, days)), n=len(d), source="fitted",
            note="weekdays (0 = Monday) with at least 20% of the busiest weekday's rep-days", path="cadence.workdays")
    return days


def _n_workdays(t0: int, t1: int, workdays) -> int:
    return int(np.isin((np.arange(t0, t1) + 3) % 7, workdays).sum())


def calibrate_field(history: VisitHistory, base: FieldConfig, *, start=None, end=None, seed=0,
                    base_set: set[str] | None = None) -> FieldCalibration:
    """Fit a :class:`~crmsim.sim.field.FieldConfig` to a visit log on ``[start, end)`` (default:
    the log's window); ``base`` gives the rules and what cannot be fitted (see the module
    docstring).

    Examples
    --------
    >>> from crmsim.sim.exports import field_export, FIELD_EXPORT_COLUMNS
    >>> base = FieldConfig(customers={"count": 60}, reps={"count": 2}, routing=False)
    >>> x = field_export(base, 28, seed=1)
    >>> h = load_visit_history(x["stores"], x["visits"], columns=FIELD_EXPORT_COLUMNS)
    >>> cal = calibrate_field(h, base)
    >>> cal.config.customers.count, cal.config.reps.count
    (60, 2)
    """
    from crmsim.rng import rng_from

    h = history
    rng = rng_from(np.random.SeedSequence([int(seed), 4242]))
    t0 = day_number(start) if start is not None else int(h.visits["day"].min())
    t1 = day_number(end) if end is not None else int(h.visits["day"].max()) + 1
    if t1 - t0 < 14:
        raise InputError(f"the window has {t1 - t0} days; fitting the field team needs at least 2 weeks")
    w = h.visits[(h.visits["day"] >= t0) & (h.visits["day"] < t1)]
    if not (w["status"] == "done").any():
        raise InputError(f"no done visit between {pd.Timestamp(t0, unit='D').date()} and "
                         f"{pd.Timestamp(t1 - 1, unit='D').date()}")
    est = Estimates("group")
    notes = list(h.notes)
    raw = base.model_dump(mode="json", by_alias=True, exclude_none=True)
    c_raw, r_raw, k_raw = raw["customers"], raw["reps"], raw["cadence"]
    st = h.stores
    owned = st[st["owner_id"].notna()]
    n = len(st)
    c_raw["count"] = n
    est.add("stores", n, n=n, path="customers.count")
    shares = st["grade"].value_counts(sort=False).sort_index()
    c_raw["grade_shares"] = {k: v / n for k, v in shares.items()}
    for k, v in shares.items():
        est.add("grade_share", v / n, proportion_ci(int(v), n), n, group=k, path=f"customers.grade_shares.{k}")
    _territory(st, est, c_raw, rng)
    reps = int(owned["owner_id"].nunique())
    r_raw["count"] = max(reps, 1)
    est.add("reps", reps, n=reps, note="reps owning stores", path="reps.count")
    workdays = _workdays(w, est)
    k_raw["workdays"] = list(workdays)
    D = t1 - t0
    wdays = _n_workdays(t0, t1, workdays)
    rep_days = max(reps, 1) * max(wdays, 1)

    planned = w[w["planned"]]
    grade_of = st.set_index("customer_id")["grade"]
    pg = planned["customer_id"].map(grade_of).value_counts()
    every = {}
    for g, n_g in owned["grade"].value_counts().sort_index().items():
        k = int(pg.get(g, 0))
        if k == 0:
            every[g] = 2 * D
            est.add("every_days", 2 * D, n=0, group=g, source="not fittable", path=f"cadence.every_days.{g}",
                    note="no planned visit in the window: set to twice the window")
            continue
        lo, hi = poisson_rate_ci(k, n_g * D)
        v = n_g * D / k
        every[g] = max(1, int(round(v)))
        est.add("every_days", v, (1 / hi, 1 / lo if lo > 0 else math.inf), k, group=g, path=f"cadence.every_days.{g}",
                note="store-days per planned visit (rounded to whole days in the scenario)")
    k_raw["every_days"] = every
    if len(planned):
        most = int(planned.groupby(["rep_id", "day"]).size().max())
        k_raw["visits_per_day"] = most
        est.add("visits_per_day", most, n=len(planned), source="observed", path="cadence.visits_per_day",
                note="the most visits planned on one rep-day (the plan's cap, if it never bound, is at least this)")
    cancelled = int((planned["status"] == "cancelled").sum())
    raw["cancellation_share"] = cancelled / len(planned) if len(planned) else 0.0
    est.add("cancellation_share", raw["cancellation_share"], proportion_ci(cancelled, len(planned)), len(planned),
            path="cancellation_share")
    if h.has["planned_at"]:
        adhoc = int(((~w["planned"]) & (w["status"] == "done")).sum())
        went = planned[planned["status"] != "cancelled"]
        made = float((went["status"] == "done").mean()) if len(went) else 1.0
        made = made if made > 0 else 1.0
        lo, hi = poisson_rate_ci(adhoc, rep_days)
        raw["adhoc_per_day"] = adhoc / rep_days
        est.add("adhoc_per_day", adhoc / rep_days, (lo, hi), adhoc, path="adhoc_per_day",
                note="done visits without a planned date per rep per working day (scaled below by simulation)")
    else:
        raw["adhoc_per_day"] = 0.0
        est.add("adhoc_per_day", 0.0, n=0, source="not fittable", path="adhoc_per_day",
                note="no planned date: ad-hoc visits cannot be told from planned ones (all read as planned)")
    done = w[w["status"] == "done"]
    est.add("visits_per_rep_day", len(done) / rep_days, poisson_rate_ci(len(done), rep_days), len(done),
            source="observed", note="done visits per rep per working day (the check's headline)")
    _fit_service(w, est, notes, c_raw, h.has["visit_type"])
    trips = _trips(h, w)
    _fit_travel(trips, est, notes, base, r_raw, rng)
    _fit_day(w, trips, base, est, notes, r_raw, c_raw)
    _fit_routing(h, w, est, raw, rng)
    cfg = FieldConfig.model_validate(raw)
    if raw["adhoc_per_day"] > 0:
        cfg = _adhoc_by_simulation(cfg, h, t0, t1, est, seed)
    estimates = est.frame()
    from crmsim.experiments.calibrate import _set_paths

    prov = provenance_table(cfg, estimates, _set_paths(base) if base_set is None else base_set, _NOT_FITTABLE)
    return FieldCalibration(config=cfg, estimates=estimates, provenance=prov, notes=notes,
                            window=(pd.Timestamp(t0, unit="D"), pd.Timestamp(t1, unit="D")))


#: Day routes at most this much longer than the shortest order of their stops read as planned routes.
ROUTED_WITHIN = 0.10
#: The routing check orders at most this many rep-days (a sample, drawn with the calibration's seed).
ROUTE_SAMPLE = 200


def _fit_routing(h: VisitHistory, w: pd.DataFrame, est: Estimates, raw: dict, rng) -> None:
    """Does the team plan its routes today? Each rep-day of 4 or more done, placed, timed visits:
    its loop in check-in order against the shortest loop through the same stores
    (:func:`~crmsim.field.routes.plan_route`); routes within :data:`ROUTED_WITHIN` of the
    shortest (median) read as planned. Sets ``routing``, stated; too few days keep the base's."""
    from crmsim.field.routes import distance_matrix, plan_route, tour_length

    d = w[(w["status"] == "done") & w["checkin"].notna()].sort_values(["rep_id", "day", "checkin"], kind="stable")
    loc = h.stores[h.stores["located"]].set_index("customer_id")[["lat", "lon"]]
    d = d[d["customer_id"].isin(loc.index)]
    days = [g for _, g in d.groupby(["rep_id", "day"], sort=False) if len(g) >= 4]
    if len(days) < 20:
        est.add("routing", float(raw.get("routing", True)), n=len(days), source="base scenario", path="routing",
                note=f"{len(days)} rep-days with 4 or more placed, timed visits (20 needed to tell planned routes)")
        return
    pick = rng.choice(len(days), size=min(ROUTE_SAMPLE, len(days)), replace=False)
    ratios = []
    for k in sorted(pick):
        dist = distance_matrix(loc.loc[days[k]["customer_id"]].to_numpy(float))
        walked = tour_length(range(len(dist)), dist)               # the day's loop in check-in order
        best = tour_length([0, *plan_route(dist, solutions=50).order], dist)
        if best > 0:
            ratios.append(walked / best)
    r = np.array(ratios)
    med = float(np.median(r))
    boot = np.median(rng.choice(r, size=(200, r.size)), axis=1)
    routed = med - 1 <= ROUTED_WITHIN
    raw["routing"] = bool(routed)
    est.add("routing", float(routed), n=r.size, path="routing",
            note=f"the log's day routes are {med - 1:+.0%} longer than the shortest order of their stops (median of "
                 f"{r.size} rep-days, 95% CI {np.quantile(boot, 0.025) - 1:+.0%}..{np.quantile(boot, 0.975) - 1:+.0%}); "
                 f"planned routes are within {ROUTED_WITHIN:.0%}: routing = {routed}")
    est.add("route_excess", med - 1, (float(np.quantile(boot, 0.025) - 1), float(np.quantile(boot, 0.975) - 1)), r.size,
            note="day route length in check-in order over the shortest order of the same stores, minus 1 (median)")


#: The ad-hoc rate is set by simulating at most this many reps' stores over at most 4 weeks.
SUB_REPS = 12


def _adhoc_by_simulation(cfg: FieldConfig, h: VisitHistory, t0: int, t1: int, est: Estimates, seed) -> FieldConfig:
    """A log shows the ad-hoc visits made, the simulation draws the ad-hoc visits a rep sets out
    to make (those the day has no room for are not made): scale ``adhoc_per_day`` so that a run
    from the stores at the window's start makes the log's ad-hoc visits per rep-day (on at most
    :data:`SUB_REPS` reps over at most 28 days)."""
    row = next(r for r in est.rows if r["parameter"] == "adhoc_per_day")
    days = min(t1 - t0, 28)
    stores = _stores_at(h, t0, cfg, t0)
    reps = sorted(stores["owner_id"].dropna().unique())[:SUB_REPS]
    stores = stores[stores["owner_id"].isin(reps)]
    res = simulate_field(cfg, np.random.SeedSequence([int(seed), 77]), horizon_days=days, stores=stores,
                         start_at=pd.Timestamp(t0, unit="D"), keep_events=False)
    t = res.table
    made = int((t["adhoc"] & (t["status"] == "adhoc")).sum())
    drawn = int(t["adhoc"].sum())
    if not made:
        return cfg
    f = drawn / made
    row["value"], row["ci_low"], row["ci_high"] = row["value"] * f, row["ci_low"] * f, row["ci_high"] * f
    row["note"] = (f"done visits without a planned date per rep per working day, over the {1 / f:.1%} of ad-hoc "
                   f"visits a simulation from the window's start made ({len(reps)} reps, {days} days): an ad-hoc "
                   "visit not made is in no log")
    return cfg.model_copy(update={"adhoc_per_day": row["value"]})


def _fit_service(w: pd.DataFrame, est: Estimates, notes: list[str], c_raw: dict, has_type: bool) -> None:
    timed = w[w["service"].notna()]
    if len(timed) < 5:
        notes.append(f"time on site: {len(timed)} timed visits (5 needed); the base scenario's is kept")
        return
    allfit = _lognormal_fit(timed["service"].to_numpy(float))
    c_raw["service_minutes"] = _add_service(est, allfit, "(all)", "customers.service_minutes")
    if not has_type:
        c_raw["visit_types"] = {}
        return
    counts = w["visit_type"].value_counts().sort_index()
    total = int(counts.sum())
    types = {}
    for t, k in counts.items():
        x = timed.loc[timed["visit_type"] == t, "service"].to_numpy(float)
        est.add("visit_type_share", k / total, proportion_ci(int(k), total), total, group=t,
                path=f"customers.visit_types.{t}.share")
        if x.size >= MIN_TIMED:
            dist = _add_service(est, _lognormal_fit(x), t, f"customers.visit_types.{t}.service_minutes")
        else:
            dist = _add_service(est, allfit, t, f"customers.visit_types.{t}.service_minutes", source="pooled",
                                note=f"{x.size} timed visits of this type ({MIN_TIMED} needed): the all-types fit")
        types[t] = {"share": k / total, "service_minutes": dist}
    c_raw["visit_types"] = types


# ----------------------------------------------------------------------------- validation

def field_window_metrics(visits: pd.DataFrame, t0: int, t1: int, reps: int, workdays) -> dict[str, float]:
    """The check's metrics of ``[t0, t1)`` (days): ``visits_per_rep_day`` (done visits per rep per
    working day), ``planned_per_rep_day``, ``cancelled_share`` and ``adherence`` (of planned
    visits: cancelled, done) and ``service_minutes`` (mean of timed visits). ``visits``: a
    :class:`VisitHistory`'s visits, or a simulation's in that shape.

    Examples
    --------
    >>> import pandas as pd
    >>> from importlib.resources import files
    >>> from crmsim.errors import read_toml
    >>> EX = files("crmsim") / "examples"
    >>> fmap = read_toml(EX / "field_map.toml")
    >>> h = load_visit_history(pd.read_csv(EX / "field_stores.csv", keep_default_na=False),
    ...                        pd.read_csv(EX / "field_visits.csv", keep_default_na=False),
    ...                        columns=fmap["columns"], statuses=fmap["statuses"])
    >>> t0, t1 = int(h.visits["day"].min()), int(h.visits["day"].max()) + 1
    >>> m = field_window_metrics(h.visits, t0, t1, reps=h.visits["rep_id"].nunique(), workdays=(0, 1, 2, 3, 4))
    >>> sorted(m)
    ['adherence', 'cancelled_share', 'planned_per_rep_day', 'service_minutes', 'visits_per_rep_day']
    """
    v = visits[(visits["day"] >= t0) & (visits["day"] < t1)]
    rd = max(1, reps * _n_workdays(t0, t1, workdays))
    p = v[v["planned"]]
    done = v["status"] == "done"
    return {"visits_per_rep_day": float(done.sum() / rd), "planned_per_rep_day": float(len(p) / rd),
            "cancelled_share": float((p["status"] == "cancelled").mean()) if len(p) else np.nan,
            "adherence": float((p["status"] == "done").mean()) if len(p) else np.nan,
            "service_minutes": float(v["service"].mean()) if v["service"].notna().any() else np.nan}


def _sim_visits(table: pd.DataFrame, t0: int) -> pd.DataFrame:
    """A simulation's visits as a log shows them (an ad-hoc visit not made is in no log)."""
    table = table[~(table["adhoc"] & (table["status"] == "missed"))]
    s = table["status"].to_numpy()
    return pd.DataFrame({"rep_id": table["rep_id"], "customer_id": table["customer_id"],
                         "status": np.where(np.isin(s, ["planned", "adhoc"]), "done", s), "planned": ~table["adhoc"],
                         "day": table["day"].to_numpy() + t0, "service": (table["end_min"] - table["start_min"]).to_numpy()})


def _stores_at(h: VisitHistory, day: int, cfg: FieldConfig, since: int) -> pd.DataFrame:
    """The stores as the simulation takes them at ``day``: placed ones where they are, the others
    at their owner's centre, each with its last done visit before ``day``. A store not visited
    since the log began (``since``) is due within what is left of its interval, spread evenly
    (its last visit is before the log), or at once when its interval has already passed."""
    st = h.stores[h.stores["owner_id"].notna()].copy()
    placed = st[st["located"]]
    centre = placed.groupby("owner_id")[["lat", "lon"]].mean()
    for c in ("lat", "lon"):
        fill = st["owner_id"].map(centre[c]).fillna(placed[c].median() if len(placed) else 0.0)
        st[c] = st[c].where(st["located"], fill)
    v = h.visits
    before = v[(v["day"] < day) & (v["status"] == "done")].groupby("customer_id")["day"].max()
    last = st["customer_id"].map(before).to_numpy(float)
    step = st["grade"].map(cfg.cadence.every_days).to_numpy(float)
    left = np.maximum(step - (day - since), 1)
    unseen = ~np.isfinite(last)
    spread = np.arange(len(st)) % left           # the first due day of an unseen store, spread evenly
    last = np.where(unseen, np.where(step > day - since, day - step + spread, day - step), last)
    st["last_visit"] = pd.to_datetime(last, unit="D")
    return st[["customer_id", "lat", "lon", "grade", "owner_id", "last_visit"]]


def field_split_validation(history: VisitHistory, base: FieldConfig, *, split: float = 2 / 3, replications: int = 5,
                           seed=0, progress=None) -> dict:
    """Fit on the first ``split`` of the log, simulate the rest on your own stores ``replications``
    times, and compare (:func:`field_window_metrics`, :func:`~crmsim.experiments.fits.held_out_table`).
    Returns ``table``, ``split`` (the first held-out day), ``calibration``, ``simulated`` (one row
    of metrics per replication) and ``observed``.

    Examples
    --------
    >>> import pandas as pd
    >>> from importlib.resources import files
    >>> from crmsim.errors import read_toml
    >>> EX = files("crmsim") / "examples"
    >>> fmap = read_toml(EX / "field_map.toml")
    >>> h = load_visit_history(pd.read_csv(EX / "field_stores.csv", keep_default_na=False),
    ...                        pd.read_csv(EX / "field_visits.csv", keep_default_na=False),
    ...                        columns=fmap["columns"], statuses=fmap["statuses"])
    >>> from crmsim.experiments.scenario import load_scenario
    >>> val = field_split_validation(h, load_scenario(files("crmsim") / "scenarios" / "field_visits.toml").baseline,
    ...                              replications=2, seed=1)
    >>> val["table"]["metric"].tolist()
    ['visits_per_rep_day', 'planned_per_rep_day', 'cancelled_share', 'adherence', 'service_minutes']
    """
    h = history
    t0, t1 = int(h.visits["day"].min()), int(h.visits["day"].max()) + 1
    ts = t0 + int(round(split * (t1 - t0)))
    if t1 - ts < 7 or ts - t0 < 14:
        raise InputError(f"the log has {t1 - t0} days; a time split needs at least 2 weeks to fit and 1 to check")
    cal = calibrate_field(h, base, start=pd.Timestamp(t0, unit="D"), end=pd.Timestamp(ts, unit="D"), seed=seed)
    cfg = cal.config
    stores = _stores_at(h, ts, cfg, t0)
    reps = int(stores["owner_id"].nunique())
    obs = field_window_metrics(h.visits, ts, t1, reps, cfg.cadence.workdays)
    rows = []
    for r in range(replications):
        res = simulate_field(cfg, np.random.SeedSequence([int(seed), r]), horizon_days=t1 - ts, stores=stores,
                             start_at=pd.Timestamp(ts, unit="D"), keep_events=False)
        rows.append(field_window_metrics(_sim_visits(res.table, ts), ts, t1, reps, cfg.cadence.workdays))
        if progress:
            progress(r + 1, replications)
    sim = pd.DataFrame(rows)
    return {"table": held_out_table(obs, sim), "split": pd.Timestamp(ts, unit="D"), "calibration": cal,
            "simulated": sim, "observed": obs}
