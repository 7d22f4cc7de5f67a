"""Calibrate the funnel scenario on a user's own lead history, and check it on months it did not see.

:func:`calibrate` fits, per channel (the history's own channel names), what the funnel
simulation needs, each with a 95% confidence interval and the number of observations:

- volume: daily counts as a Poisson log-linear model with a weekday pattern and a trend
  (:func:`~crmsim.experiments.fits.fit_volume`); the trend is used only where its interval
  excludes 0, and ``volume_per_week`` is the level at the date the simulation starts;
- invalid and duplicate shares (statuses ``invalid`` / ``duplicate``);
- qualification (SQL | first contact) and from it the lead intent (bisection on the funnel's
  own scoring and lead attributes), divided by the response-time effect at the observed times to
  first contact *only when the history has times of day*. With dates only, the time to first
  contact reads as 0 h, so no response-time effect can be fitted; the calibrated scenario then
  switches it off (``response.kind = "none"``) and says so;
- SQL -> opportunity and the win rate, when the export has those stages (else they are 1 and the
  conversion to won is carried by the qualification, with a note);
- the cycle time (gamma or lognormal by AIC, fitted on right-truncated durations: a deal is seen
  only when it closed before the end of the history) and the deal amount (lognormal, or the
  observed amounts resampled when many are zero);
- win shares account for leads still open at the end: ``fit_eventual_share`` with the fitted
  time to close, instead of counting open leads as lost;
- the MQL threshold of the base scoring rule that reproduces the observed MQL share.

Channels with fewer than :data:`MIN_LEADS` leads share the pooled estimate of all such thin
channels for their shares and conversion (their own volume is still fitted); per-channel cycle
time and deal amount need :data:`MIN_DEALS` closed deals, else the all-channel fit is used.
Nothing is silent: :class:`Calibration` has an ``estimates`` table and a ``provenance`` table
giving, for every parameter of the calibrated config, whether it was fitted (with its interval
and n), pooled, not fittable (and why), taken from the base scenario, or a crmsim default.

:func:`split_validation` fits on the first part of the history only (later dates hidden: no
look-ahead), simulates the held-out part and compares, per channel, leads, conversion to won
and the median days to close with the history's own 95% intervals.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from crmsim.errors import InputError
from crmsim.experiments.fits import (
    DurationFit,
    fit_eventual_share,
    fit_truncated_duration,
    fit_volume,
    poisson_rate_ci,
    proportion_ci,
)
from crmsim.experiments.lead_history import (
    DATE_FIELDS,
    FIELDS,
    STATUSES,
    DealsMapping,
    LeadHistory,
    LeadHistoryMapping,
    granularity,
    load_lead_history,
    load_mapping,
)
from crmsim.leads.channels import ChannelProfile, lead_attributes
from crmsim.rng import rng_from
from crmsim.sim.funnel import FunnelConfig, simulate_funnel
from crmsim.tables import NOT_MQL_STATUSES

__all__ = ["LeadHistoryMapping", "DealsMapping", "LeadHistory", "STATUSES", "FIELDS", "MIN_LEADS",
           "MIN_DEALS", "Calibration", "load_lead_history", "load_mapping", "as_of", "calibrate",
           "cohort_metrics", "split_validation", "historical_metrics", "validation_table"]

#: Below this many leads a channel's shares and conversion are pooled with other thin channels.
MIN_LEADS = 30
#: Below this many closed deals a channel's cycle time and deal amount are the all-channel fit.
MIN_DEALS = 30
#: A volume trend is fitted only on at least this many days and leads of a channel.
_MIN_TREND_DAYS = 56
_MIN_TREND_LEADS = 200
_REACHED_SQL = ("sql", "opportunity", "won", "lost")
_REACHED_OPP = ("opportunity", "won", "lost")
_DAY = pd.Timedelta(days=1)
#: The name of the all-channels row in validation tables.
ALL = "(all channels)"


def _table(history) -> LeadHistory:
    if isinstance(history, LeadHistory):
        return history
    h = history.copy()
    for f in FIELDS:
        if f not in h:
            h[f] = pd.NaT if f in DATE_FIELDS else np.nan
    return LeadHistory(table=h, granularity={f: granularity(h[f]) for f in DATE_FIELDS}, n_raw=len(h))


def as_of(history, cutoff) -> pd.DataFrame:
    """The lead history as it stood at ``cutoff``: leads created before it, stage dates on or
    after it removed, and a won or lost lead that closed later shown at the last stage it had
    reached (no look-ahead, for fitting on the past and checking on the future).

    >>> h = pd.DataFrame({"created_at": pd.to_datetime(["2025-01-01", "2025-01-02"]),
    ...                   "status": ["won", "won"], "sql_at": pd.to_datetime(["2025-01-01", None]),
    ...                   "closed_at": pd.to_datetime(["2025-01-05", "2025-02-01"])})
    >>> as_of(h, "2025-01-10")["status"].tolist()
    ['won', 'mql']
    """
    h = _table(history).table
    cut = pd.Timestamp(cutoff)
    h = h[h["created_at"] < cut].copy()
    for f in DATE_FIELDS[1:]:
        if f in h:
            h.loc[h[f] >= cut, f] = pd.NaT
    full = _table(history).table.loc[h.index]
    cut_off = {f: full[f].notna() & h[f].isna() for f in ("sql_at", "opportunity_at", "closed_at")}
    reached = np.where(h["opportunity_at"].notna(), "opportunity", np.where(h["sql_at"].notna(), "sql", "mql"))
    late = ((h["status"].isin(["won", "lost"]) & cut_off["closed_at"])
            | (h["status"].eq("opportunity") & cut_off["opportunity_at"])
            | (h["status"].eq("sql") & cut_off["sql_at"])).to_numpy()
    h.loc[late, "status"] = reached[late]
    return h


@dataclass
class Calibration:
    """What :func:`calibrate` returns: the calibrated ``config``, the ``estimates`` (one row per
    fitted quantity: ``parameter, channel, value, ci_low, ci_high, n, source, note, path``), the
    ``provenance`` of every parameter of the config (``path, value, source, ci_low, ci_high, n,
    note``; sources ``fitted``, ``pooled``, ``not fittable``, ``base scenario``, ``default``),
    the ``notes`` to show the user and the ``window`` fitted. Unpacks as ``config, estimates``.

    Examples
    --------
    >>> import pandas as pd
    >>> from importlib.resources import files
    >>> from crmsim.errors import read_toml
    >>> EX = files("crmsim") / "examples"
    >>> from crmsim.experiments.lead_history import load_lead_history, load_mapping
    >>> from crmsim.experiments.scenario import load_scenario
    >>> h = load_lead_history(EX / "lead_history.csv", load_mapping(EX / "lead_history_map.toml"))
    >>> base = load_scenario(files("crmsim") / "scenarios" / "funnel.toml").baseline
    >>> cal = calibrate(h, base)
    >>> config, estimates = cal
    >>> sorted(set(cal.provenance["source"]))
    ['base scenario', 'fitted']
    """

    config: FunnelConfig
    estimates: pd.DataFrame
    provenance: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    window: tuple = (None, None)

    def __iter__(self):
        return iter((self.config, self.estimates))


class _Estimates:
    def __init__(self):
        self.rows: list[dict] = []

    def add(self, parameter, channel, value, ci=(np.nan, np.nan), n=0, *, source="fitted", note="",
            path=None):
        self.rows.append({"parameter": parameter, "channel": channel, "value": value,
                          "ci_low": ci[0], "ci_high": ci[1], "n": int(n), "source": source,
                          "note": note, "path": path})

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=["parameter", "channel", "value", "ci_low", "ci_high", "n",
                                                "source", "note", "path"])


def _mql_share(cfg: FunnelConfig, channels: dict[str, ChannelProfile], threshold: float, seed: int) -> float:
    rng = rng_from(seed)
    names = tuple(channels)
    att = pd.concat([lead_attributes(c, p, max(200, int(p.volume_per_week * 20)), rng, categories=names)
                     for c, p in channels.items()], ignore_index=True)
    rule = type(cfg.scoring).model_validate({**cfg.scoring.model_dump(by_alias=True), "mql_threshold": threshold})
    return float(rule.apply(att)["mql"].mean())


def _mql_intent(cfg: FunnelConfig, ch: str, prof: ChannelProfile, seed: int) -> float:
    att = lead_attributes(ch, prof, 20000, seed)
    mql = cfg.scoring.apply(att)["mql"].to_numpy()
    return float(att["intent"].to_numpy()[mql].mean()) if mql.any() else float(att["intent"].mean())


def _intent_for(cfg: FunnelConfig, ch: str, prof: ChannelProfile, share: float, mult: float, seed: int) -> float:
    """The channel's mean intent whose MQLs qualify at ``share`` given the mean response
    multiplier ``mult`` (bisection; the concentration alpha + beta is kept)."""
    target = min(0.99, share / mult) if mult > 0 else 0.5  # the mean intent of contacted MQLs
    conc = prof.intent_alpha + prof.intent_beta
    lo, hi = 1e-3, 0.999
    for _ in range(16):
        mid = (lo + hi) / 2
        trial = ChannelProfile.model_validate({**prof.model_dump(), "intent_alpha": mid * conc,
                                               "intent_beta": (1 - mid) * conc})
        if _mql_intent(cfg, ch, trial, seed) < target:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def _days(a: pd.Series, b: pd.Series) -> np.ndarray:
    return ((b - a) / _DAY).to_numpy(dtype=float)


def _durations(g: pd.DataFrame, start_col: str, end: pd.Timestamp, gran: dict) -> tuple[np.ndarray, np.ndarray]:
    """Days from ``start_col`` to close of closed deals, and the time each had until ``end``.

    A start given as a date only stands for a time within that day: half a day is taken off a
    duration to a close with a time of day (both dates only: whole days, a same-day close counts
    as half a day)."""
    c = g[g["closed_at"].notna() & g[start_col].notna() & g["status"].isin(["won", "lost"])]
    d = _days(c[start_col], c["closed_at"])
    u = _days(c[start_col], pd.Series(end, index=c.index))
    ok = d >= 0
    d, u = d[ok], u[ok]
    start_dates, end_dates = gran.get(start_col) == "date", gran.get("closed_at") == "date"
    if start_dates and not end_dates:
        d, u = d - 0.5, u - 0.5
    if start_dates and end_dates:
        d = np.where(d == 0, 0.5, d)
    d = np.maximum(d, 1 / 24)
    return d, np.maximum(u, d)


def _fit_cycle(d, u, est: _Estimates, channel: str, path: str, start_col: str) -> DurationFit | None:
    if d.size < 5:
        return None
    f = fit_truncated_duration(d, u)
    note = (f"{f.kind} by AIC ({', '.join(f'{k} {v:.1f}' for k, v in f.aic.items())}), from {start_col} to "
            "close, right-truncated at the end of the history")
    est.add("cycle_days_mean", channel, f.mean, f.mean_ci, f.n, note=note, path=path)
    est.add("cycle_days_median", channel, f.median, f.median_ci, f.n, note=note, path=None)
    return f


def _amount(won: pd.DataFrame, est: _Estimates, channel: str, path: str) -> dict | None:
    a = won["amount"].dropna().to_numpy(dtype=float)
    if a.size < 5:
        return None
    m, sd = float(a.mean()), float(a.std(ddof=1))
    ci = (m - 1.96 * sd / math.sqrt(a.size), m + 1.96 * sd / math.sqrt(a.size))
    zero = float((a <= 0).mean())
    if zero <= 0.05 and m > 0:
        pos = a[a > 0]
        est.add("deal_amount_mean", channel, m, ci, a.size,
                note=f"lognormal with the sample mean and CV of won amounts ({zero:.0%} zero)", path=path)
        return {"kind": "lognormal", "mean": float(pos.mean()), "cv": float(max(pos.std(ddof=1) / pos.mean(), 1e-6))}
    vals = np.quantile(a, (np.arange(min(a.size, 1000)) + 0.5) / min(a.size, 1000))
    est.add("deal_amount_mean", channel, m, ci, a.size,
            note=f"the observed won amounts resampled ({zero:.0%} are zero: no lognormal fits)", path=path)
    return {"kind": "empirical", "values": [round(float(v), 2) for v in vals]}


def _share(k: int, n: int) -> tuple[float, tuple[float, float]]:
    return (k / n if n else np.nan), proportion_ci(k, n)


def calibrate(history, base: FunnelConfig, *, start=None, end=None, observed_until=None, level_at=None,
              seed: int = 0, base_set: set[str] | None = None, min_leads: int = MIN_LEADS,
              min_deals: int = MIN_DEALS) -> Calibration:
    """Fit the funnel's inputs from a lead history; see the module docstring.

    Parameters
    ----------
    history : a :class:`LeadHistory` (from :func:`load_lead_history`) or a DataFrame with
        :data:`FIELDS`.
    base : the scenario baseline whose rules and team are kept.
    start, end : the window fitted, ``[start, end)`` by creation date (default: the whole
        history).
    observed_until : what is known is what happened before this date: later stage and close
        dates are hidden (:func:`as_of`). Default: ``end`` when ``end`` is given (no look-ahead),
        else the day after the last date of any kind in the history (an export's won deals often
        run months past its last lead).
    level_at : the date the simulation starts, where ``volume_per_week`` is stated (default
        ``end``).
    base_set : dotted paths set in the base scenario file (for the provenance; default: the
        fields set on ``base``).
    min_leads, min_deals : the thresholds below which a channel's figures are pooled.

    Examples
    --------
    >>> import pandas as pd
    >>> from importlib.resources import files
    >>> from crmsim.errors import read_toml
    >>> EX = files("crmsim") / "examples"
    >>> from crmsim.experiments.lead_history import load_lead_history, load_mapping
    >>> from crmsim.experiments.scenario import load_scenario
    >>> h = load_lead_history(EX / "lead_history.csv", load_mapping(EX / "lead_history_map.toml"))
    >>> base = load_scenario(files("crmsim") / "scenarios" / "funnel.toml").baseline
    >>> cal = calibrate(h, base)
    >>> sorted(cal.config.channels) == sorted(h.table["channel"].astype(str).unique())
    True
    """
    f = _Fitter(_table(history), base, start, end, observed_until, level_at, seed, min_leads, min_deals)
    f.response()
    f.durations()
    for ch in f.groups:
        f.channel_volume(ch)
    f.mql_threshold()
    f.stage_rates()
    for ch in f.groups:
        f.channel_conversion(ch)
    cfg = f.config()
    cfg, team_note = _sized_team(cfg, f.est, f.mql_obs)
    f.note(team_note)
    estimates = f.est.frame()
    return Calibration(cfg, estimates, provenance(cfg, estimates, base, base_set), f.notes,
                       (f.start, f.created_end))


class _Fitter:
    """The state one calibration shares between its steps (see :func:`calibrate`)."""

    def __init__(self, lh: LeadHistory, base: FunnelConfig, start, end, observed, level_at, seed, min_leads,
                 min_deals):
        full = lh.table
        if full.empty:
            raise InputError("lead history: no leads to calibrate on")
        self.start = pd.Timestamp(start) if start is not None else full["created_at"].min().normalize()
        self.created_end = pd.Timestamp(end) if end is not None else full["created_at"].max().normalize() + _DAY
        #: what is known is what happened before this date (stage dates after it hidden)
        self.end = (pd.Timestamp(observed) if observed is not None else
                    self.created_end if end is not None else _last_date(full) + _DAY)
        if self.end < self.created_end:
            raise InputError(f"calibrate: observed_until {self.end.date()} is before the end of the creation "
                             f"window {self.created_end.date()}")
        self.level_at = pd.Timestamp(level_at) if level_at is not None else self.created_end
        h = as_of(lh, self.end)
        self.h = h = h[(h["created_at"] >= self.start) & (h["created_at"] < self.created_end)]
        if len(h) == 0:
            raise InputError(f"lead history: no lead created in {self.start.date()}..{self.created_end.date()}")
        self.base, self.seed, self.min_leads, self.min_deals = base, seed, min_leads, min_deals
        self.est, self.notes = _Estimates(), []
        if len(full) > len(h):
            self.note(f"{len(full) - len(h)} lead(s) created outside {self.start.date()}.."
                      f"{(self.created_end - _DAY).date()} are not used")
        g = self.gran = lh.granularity
        self.contact_obs = g.get("first_contact_at", "absent") != "absent"
        self.sql_obs = g.get("sql_at", "absent") != "absent" or h["status"].isin(["sql", "disqualified"]).any()
        self.opp_obs = g.get("opportunity_at", "absent") != "absent" or h["status"].eq("opportunity").any()
        self.times = lh.has_times
        # the stage each cycle starts from, in the export's terms
        self.start_col = "sql_at" if g.get("sql_at", "absent") != "absent" else (
            "first_contact_at" if self.contact_obs else "created_at")
        self.groups = {ch: x for ch, x in h.groupby("channel", sort=True)}
        self.thin = sorted(c for c, x in self.groups.items() if len(x) < min_leads)
        if self.thin:
            self.note(f"{len(self.thin)} channel(s) with fewer than {min_leads} leads share pooled shares and "
                      f"conversion: {self.thin}")
        pool = h[h["channel"].isin(self.thin)]
        self.thin_pool = pool if len(pool) >= min_leads else h  # too few even together: all channels
        self.days = pd.date_range(self.start, self.created_end - _DAY, freq="D")
        self.weekday = self.days.day_of_week.to_numpy()
        self.t_years = ((self.days - self.level_at) / _DAY).to_numpy(dtype=float) / 365.25
        self.pooled_weights = fit_volume(self._daily(h), self.weekday, self.t_years, trend=False).weekday_weights
        self.profiles: dict[str, ChannelProfile] = {}
        self.by_channel: dict[str, dict] = {}
        self.source: dict[str, tuple] = {}
        if not self.contact_obs:
            self.note("first contact: the export has no first-contact dates; every MQL is taken as contacted")

    def note(self, text: str) -> None:
        if text:
            self.notes.append(text)

    def _daily(self, g: pd.DataFrame) -> np.ndarray:
        return g["created_at"].dt.normalize().value_counts().reindex(self.days, fill_value=0).to_numpy()

    def response(self) -> None:
        """The response-time effect: kept only where the history has times of day."""
        base = self.base.outcomes.response
        if self.times:
            self.resp = base
            self.resp_note, self.resp_source = ("taken as given; intent is fitted given the observed times to "
                                                "first contact"), None
            return
        self.resp = type(base)(kind="none")
        why = ("the history has dates without times of day" if self.gran.get("created_at") == "date"
               or self.contact_obs else "the history has no first-contact dates")
        self.resp_note = (f"not fittable: {why}, so times to first contact read as 0 h; the response-time "
                          "effect is switched off (kind = none) instead of applying a penalty the data cannot "
                          "support")
        self.resp_source = "not fittable"
        self.note("response time: " + self.resp_note)

    def durations(self) -> None:
        """All-channel cycle time, time from creation to won, and deal amount."""
        h, end, est = self.h, self.end, self.est
        d, u = _durations(h, self.start_col, end, self.gran)
        self.cycle_all = _fit_cycle(d, u, est, "all", "outcomes.cycle_days", self.start_col)
        won = h[h["status"] == "won"]
        d, u = _durations(won, "created_at", end, self.gran)
        self.ttc = fit_truncated_duration(d, u) if d.size >= 5 else None
        if self.ttc is not None and self.start_col != "created_at":
            est.add("days_to_close_median", "all", self.ttc.median, self.ttc.median_ci, self.ttc.n,
                    note=f"created to won, {self.ttc.kind}, right-truncated")
        self.amount_all = _amount(won, est, "all", "outcomes.deal_amount") if h["amount"].notna().any() else None

    def _volume(self, ch: str, g: pd.DataFrame, own: bool):
        """The volume fit with or without a trend, and the weekday weights to use."""
        p, est = f"channels.{ch}", self.est
        daily = self._daily(g)
        if len(g) >= _MIN_TREND_LEADS and len(self.days) >= _MIN_TREND_DAYS:
            vf = fit_volume(daily, self.weekday, self.t_years, trend=True)
            if vf.growth_ci[0] > 0 or vf.growth_ci[1] < 0:
                est.add("growth_per_year", ch, vf.growth_per_year, vf.growth_ci, vf.n,
                        note="log-linear trend of daily leads (Poisson)", path=f"{p}.growth_per_year")
                return vf, vf.growth_per_year, vf.weekday_weights, "fitted", "Poisson, Monday first"
            est.add("growth_per_year", ch, 0.0, vf.growth_ci, vf.n, source="fitted",
                    note=f"trend {vf.growth_per_year:+.3f}/year not significant: no trend used",
                    path=f"{p}.growth_per_year")
            vf = fit_volume(daily, self.weekday, self.t_years, trend=False)
            return vf, 0.0, vf.weekday_weights, "fitted", "Poisson, Monday first"
        vf = fit_volume(daily, self.weekday, self.t_years, trend=False)
        est.add("growth_per_year", ch, 0.0, (np.nan, np.nan), len(g), source="default",
                note=f"no trend fitted on fewer than {_MIN_TREND_LEADS} leads or {_MIN_TREND_DAYS} days",
                path=f"{p}.growth_per_year")
        if own:
            return vf, 0.0, vf.weekday_weights, "fitted", "Poisson, Monday first"
        return vf, 0.0, self.pooled_weights, "pooled", f"all channels' pattern (this channel has {len(g)} leads)"

    def channel_volume(self, ch: str) -> None:
        """Volume, weekday pattern, trend, invalid and duplicate shares and cost of a channel."""
        g, est, p = self.groups[ch], self.est, f"channels.{ch}"
        own = len(g) >= self.min_leads
        src = g if own else self.thin_pool
        how = "fitted" if own else "pooled"
        pnote = "" if own else (f"pooled over the {len(self.thin)} channel(s) with < {self.min_leads} leads"
                                if len(self.thin_pool) < len(self.h) else
                                f"all channels' figure (< {self.min_leads} leads)")
        self.source[ch] = (src, how, pnote, own)
        vf, growth, weights, wsrc, wnote = self._volume(ch, g, own)
        level = vf.level_per_week if vf.n else 0.0
        est.add("volume_per_week", ch, level, vf.level_ci if vf.n else poisson_rate_ci(0, len(self.days) / 7),
                len(g), note=f"level at {self.level_at.date()}", path=f"{p}.volume_per_week")
        est.add("weekday_weights", ch, str([round(w, 3) for w in weights]), n=len(g), source=wsrc, note=wnote,
                path=f"{p}.weekday_weights")
        n, n_inv = len(src), int((src["status"] == "invalid").sum())
        n_dup, valid = int((src["status"] == "duplicate").sum()), n - n_inv
        inv, inv_ci = _share(n_inv, n)
        dup, dup_ci = _share(n_dup, valid)
        est.add("invalid_share", ch, inv, inv_ci, n, source=how, note=pnote, path=f"{p}.invalid_share")
        est.add("duplicate_share", ch, dup if valid else 0.0, dup_ci, valid, source=how, note=pnote,
                path=f"{p}.duplicate_share")
        prior = self.base.channels.get(ch) or ChannelProfile(volume_per_week=1)
        prof = {**prior.model_dump(), "volume_per_week": level, "weekday_weights": tuple(weights),
                "invalid_share": inv, "duplicate_share": min(1.0, dup) if valid else 0.0, "growth_per_year": growth}
        if g["cost"].notna().any():
            c = g["cost"].dropna()
            se = float(c.std(ddof=1) / math.sqrt(c.size)) if c.size > 1 else np.nan
            est.add("cost_per_lead", ch, float(c.mean()), (c.mean() - 1.96 * se, c.mean() + 1.96 * se), c.size,
                    path=f"{p}.cost_per_lead")
            prof["cost_per_lead"] = float(c.mean())
        self.profiles[ch] = ChannelProfile.model_validate(prof)

    def mql_threshold(self) -> None:
        """The base rule's MQL threshold whose share on simulated leads matches the observed one."""
        base, h = self.base, self.h
        primary = h[~h["status"].isin(["invalid", "duplicate"])]
        k = int((~primary["status"].isin(NOT_MQL_STATUSES)).sum())
        self.mql_obs = mql = k / len(primary) if len(primary) else np.nan
        grid = np.arange(0, 101, 5.0)
        shares = np.array([_mql_share(base, self.profiles, t, self.seed) for t in grid])
        thr = float(grid[np.argmin(np.abs(shares - mql))]) if np.isfinite(mql) else base.scoring.mql_threshold
        self.est.add("mql_share", "all", mql, proportion_ci(k, len(primary)), len(primary))
        self.est.add("mql_threshold", "all", thr, n=len(primary), path="scoring.mql_threshold",
                     note=f"the base rule's threshold whose MQL share on simulated leads "
                          f"({shares[grid == thr][0]:.3f}) is nearest the observed {mql:.3f}")
        self.scored = FunnelConfig.model_validate({
            **base.model_dump(by_alias=True),
            "channels": {c: q.model_dump() for c, q in self.profiles.items()},
            "outcomes": {**base.outcomes.model_dump(by_alias=True), "response": self.resp.model_dump(by_alias=True),
                         "by_channel": {}},
            "scoring": {**base.scoring.model_dump(by_alias=True), "mql_threshold": thr}})

    def _eventual(self, g: pd.DataFrame, since: str, fit: DurationFit | None) -> tuple[float, tuple, int]:
        """The share of ``g`` eventually won, open ones weighted by the chance they had to close."""
        yes = int((g["status"] == "won").sum())
        no = int(g["status"].isin(["lost", "disqualified"] if since != "created_at"
                                  else ["lost", "disqualified", "recycled"]).sum())
        rest = g[~g["status"].isin(["won", "lost", "disqualified", "recycled"])]
        age = _days(rest[since].fillna(rest["created_at"]), pd.Series(self.end, index=rest.index))
        reach = fit.cdf(np.maximum(age, 0)) if fit is not None else np.ones(age.size)
        p, ci = fit_eventual_share(yes, no, reach)
        return p, ci, len(g)

    def _reached(self, g: pd.DataFrame, opp: bool) -> pd.DataFrame:
        """Leads of ``g`` that reached an opportunity (``opp``) or SQL."""
        if opp:
            return g[g["status"].isin(_REACHED_OPP) | g["opportunity_at"].notna()]
        return g[g["status"].isin(_REACHED_SQL) | g["sql_at"].notna()]

    def stage_rates(self) -> None:
        """All-channel SQL -> opportunity and win rate, where the export has those stages."""
        h, est = self.h, self.est
        self.s2o_all = self.win_all = None
        if self.sql_obs and self.opp_obs:
            sq = self._reached(h, False)
            self.s2o_all = _share(len(self._reached(sq, True)), len(sq))
            est.add("sql_to_opportunity", "all", self.s2o_all[0], self.s2o_all[1], len(sq),
                    path="outcomes.sql_to_opportunity")
        if self.sql_obs:
            since = "opportunity_at" if self.opp_obs else self.start_col
            p, ci, n = self._eventual(self._reached(h, self.opp_obs), since, self.cycle_all)
            self.win_all = (p, ci)
            est.add("win_rate", "all", p, ci, n, path="outcomes.win_rate",
                    note="eventual share won (open deals weighted by the chance they had to close)")

    def _qualification(self, ch: str, con: pd.DataFrame, own: bool) -> tuple[float, tuple, str]:
        if self.sql_obs:
            q, qci = _share(len(self._reached(con, False)), len(con))
            return q, qci, "SQL among contacted MQLs"
        g = self.groups[ch]
        d, u = _durations(g[g["status"] == "won"], "created_at", self.end, self.gran)
        fit = fit_truncated_duration(d, u) if own and d.size >= self.min_deals else self.ttc
        q, qci, _ = self._eventual(con, "created_at", fit)
        return q, qci, ("the export has no SQL stage: qualification stands for eventually won (open leads weighted "
                        "by the chance they had to close, by the " + ("channel's own" if fit is not self.ttc
                                                                      else "all-channel") + " time to close)")

    def channel_conversion(self, ch: str) -> None:
        """Qualification and intent of a channel, and its own outcome figures where it has enough."""
        src, how, pnote, own = self.source[ch]
        est = self.est
        con = src[src["first_contact_at"].notna()] if self.contact_obs else src[~src["status"].isin(NOT_MQL_STATUSES)]
        q, qci, qnote = self._qualification(ch, con, own) if len(con) else (0.0, (0.0, 1.0), "no contacted lead")
        est.add("qualified_share_of_contacted", ch, q, qci, len(con), source=how,
                note=qnote + (f"; {pnote}" if pnote else ""))
        mult, mult_note = 1.0, ""
        if self.times:
            cg = con[con["first_contact_at"].notna()]
            ttfc = _days(cg["created_at"], cg["first_contact_at"]).clip(min=0) * 24
            mult = float(self.resp.multiplier(ttfc).mean()) if ttfc.size else 1.0
            mult_note = "divided by the mean response multiplier at the observed times to first contact"
        prof = self.scored.channels[ch]
        means = [_intent_for(self.scored, ch, prof, x, mult, self.seed) for x in (q, *qci)]
        conc = prof.intent_alpha + prof.intent_beta
        self.profiles[ch] = ChannelProfile.model_validate({**prof.model_dump(), "intent_alpha": means[0] * conc,
                                                           "intent_beta": (1 - means[0]) * conc})
        est.add("intent_mean", ch, means[0], (means[1], means[2]), len(con), source=how,
                note=f"mean intent of leads whose MQLs qualify at that share {mult_note}; concentration "
                     f"alpha + beta = {conc:g} kept from the base profile", path=f"channels.{ch}.intent_alpha")
        self.by_channel[ch] = self._own_outcomes(ch, src, own)

    def _own_outcomes(self, ch: str, src: pd.DataFrame, own: bool) -> dict:
        est, p, bc = self.est, f"outcomes.by_channel.{ch}", {}
        if self.sql_obs and self.opp_obs and own:
            sq = self._reached(src, False)
            if len(sq) >= self.min_leads:
                v, ci = _share(len(self._reached(sq, True)), len(sq))
                est.add("sql_to_opportunity", ch, v, ci, len(sq), path=f"{p}.sql_to_opportunity")
                bc["sql_to_opportunity"] = v
        if self.sql_obs and own:
            sel = self._reached(src, self.opp_obs)
            if len(sel) >= self.min_leads:
                v, ci, n = self._eventual(sel, "opportunity_at" if self.opp_obs else self.start_col, self.cycle_all)
                est.add("win_rate", ch, v, ci, n, path=f"{p}.win_rate", note="eventual share won")
                bc["win_rate"] = v
        g = self.groups[ch]
        d, u = _durations(g, self.start_col, self.end, self.gran)
        if d.size >= self.min_deals:
            bc["cycle_days"] = _fit_cycle(d, u, est, ch, f"{p}.cycle_days", self.start_col).config()
        won = g[g["status"] == "won"]
        if won["amount"].notna().sum() >= self.min_deals:
            bc["deal_amount"] = _amount(won, est, ch, f"{p}.deal_amount")
        return bc

    def config(self) -> FunnelConfig:
        """The calibrated config; the funnel-wide outcomes where the export has no such stage."""
        est = self.est
        outcomes = {**self.base.outcomes.model_dump(by_alias=True), "response": self.resp.model_dump(by_alias=True),
                    "by_channel": {c: v for c, v in self.by_channel.items() if v},
                    "cycle_from": "created" if self.start_col == "created_at" else "contact"}
        est.add("cycle_from", "all", outcomes["cycle_from"], path="outcomes.cycle_from",
                note=f"cycle times were measured from {self.start_col} (the earliest stage after contact in the export)")
        if not self.sql_obs:
            outcomes["sql_to_opportunity"], outcomes["win_rate"] = 1.0, 1.0
            why = ("not fittable: the export has no SQL or opportunity stage; set to 1 so that conversion to won "
                   "is the channel's qualification share")
            est.add("sql_to_opportunity", "all", 1.0, source="not fittable", note=why, path="outcomes.sql_to_opportunity")
            est.add("win_rate", "all", 1.0, source="not fittable", note=why, path="outcomes.win_rate")
            self.note("stages: " + why)
        else:
            if self.s2o_all is None:
                est.add("sql_to_opportunity", "all", 1.0, source="not fittable", path="outcomes.sql_to_opportunity",
                        note="not fittable: the export has no opportunity stage; set to 1 (win rate from SQL)")
            outcomes["sql_to_opportunity"] = 1.0 if self.s2o_all is None else self.s2o_all[0]
            outcomes["win_rate"] = self.win_all[0]
        if self.cycle_all is not None:
            outcomes["cycle_days"] = self.cycle_all.config()
        if self.amount_all is not None:
            outcomes["deal_amount"] = self.amount_all
        in_base = "outcomes.response" in _set_paths(self.base)
        est.add("response", "all", self.resp.kind, note=self.resp_note, path="outcomes.response",
                source=self.resp_source or ("base scenario" if in_base else "default"))
        return FunnelConfig.model_validate({**self.scored.model_dump(by_alias=True),
                                            "channels": {c: q.model_dump() for c, q in self.profiles.items()},
                                            "outcomes": outcomes})


def _last_date(h: pd.DataFrame) -> pd.Timestamp:
    """The last date of any kind in a lead history (creation, stages, close), as a day."""
    return max(h[f].max() for f in DATE_FIELDS if f in h and h[f].notna().any()).normalize()


def _sized_team(cfg: FunnelConfig, est: _Estimates, mql_share: float) -> tuple[FunnelConfig, str]:
    """The base team, unless it could not contact the fitted MQL volume a year on (utilisation
    above 0.85): then the smallest team at 0.7, stated."""
    share = mql_share if np.isfinite(mql_share) else 1.0
    per_week = sum(p.volume_per_week * math.exp(max(p.growth_per_year, 0.0)) * (1 - p.invalid_share)
                   * (1 - p.duplicate_share) * share for p in cfg.channels.values())
    cal = cfg.reps.calendar
    per_rep = cal.hours_per_day * len(cal.workdays)
    hours = cfg.reps.count * per_rep
    need = per_week * cfg.reps.contact_hours.mean()
    if need / hours <= 0.85:
        return cfg, ""
    count = max(1, math.ceil(need / (0.7 * per_rep)))
    est.add("reps.count", "all", count, source="fitted", path="reps.count",
            note=f"the base team of {cfg.reps.count} could not contact {per_week:.0f} MQLs a week "
                 f"({need:.0f} h of {hours:.0f} h); sized to 70% utilisation")
    out = FunnelConfig.model_validate({**cfg.model_dump(by_alias=True),
                                       "reps": {**cfg.reps.model_dump(by_alias=True), "count": count}})
    return out, f"team: {count} reps instead of the base {cfg.reps.count}, to contact the history's volume"


def _leaves(d, prefix=""):
    if isinstance(d, dict) and d and not ("kind" in d and prefix.endswith(("cycle_days", "deal_amount",
                                                                            "contact_hours", "sql_hours", "patience_hours",
                                                                            "response"))):
        for k, v in d.items():
            yield from _leaves(v, f"{prefix}.{k}" if prefix else str(k))
    else:
        yield prefix, d


def _set_paths(model, prefix="") -> set[str]:
    out = set()
    for name in getattr(model, "model_fields_set", set()):
        v = getattr(model, name)
        alias = type(model).model_fields[name].alias or name
        p = f"{prefix}.{alias}" if prefix else alias
        out.add(p)
        if hasattr(v, "model_fields_set"):
            out |= _set_paths(v, p)
        elif isinstance(v, dict):
            for k, x in v.items():
                out.add(f"{p}.{k}")
                out |= _set_paths(x, f"{p}.{k}")
    return out


def provenance(cfg: FunnelConfig, estimates: pd.DataFrame, base: FunnelConfig,
               base_set: set[str] | None = None) -> pd.DataFrame:
    """Every parameter of ``cfg`` with where it came from: a fitted (or pooled, or not fittable)
    estimate, the base scenario (a path set in it), or a crmsim default."""
    base_set = _set_paths(base) if base_set is None else base_set
    fitted = {r.path: r for r in estimates.itertuples() if isinstance(r.path, str)}
    rows = []
    for path, value in _leaves(cfg.model_dump(mode="json", by_alias=True, exclude_none=True)):
        r = fitted.get(path)
        if r is None and path.endswith(".intent_beta"):
            r = fitted.get(path[: -len("beta")] + "alpha")
        if r is not None:
            rows.append({"path": path, "value": value, "source": r.source, "ci_low": r.ci_low,
                         "ci_high": r.ci_high, "n": r.n, "note": r.note})
            continue
        parts = path.split(".")
        in_base = any(".".join(parts[:k]) in base_set for k in range(len(parts), 0, -1)
                      if not (parts[0] == "channels" and k < 3))
        if parts[0] == "channels" and parts[1] not in base.channels:
            in_base = False
        note = "not in the export" if parts[0] == "channels" else ""
        rows.append({"path": path, "value": value, "source": "base scenario" if in_base else "default",
                     "ci_low": np.nan, "ci_high": np.nan, "n": 0, "note": note})
    df = pd.DataFrame(rows)
    df["value"] = df["value"].map(lambda v: v if isinstance(v, str | int | float | bool) else str(v))
    return df


# ----------------------------------------------------------------------------- validation

def cohort_metrics(channel, created, won_at, *, start: float, end: float, observed: float | None = None
                   ) -> pd.DataFrame:
    """Per channel, for leads created in ``[start, end)`` (days): ``leads``, ``won`` (won before
    ``observed``, default ``end``), ``conversion`` (won / leads) and ``days_to_close_median``
    (creation to won). One definition for the history and the simulation.

    >>> cohort_metrics(["a", "a", "b"], [0.0, 1.0, 2.0], [5.0, np.nan, 3.0], start=0, end=10)
    ... # doctest: +NORMALIZE_WHITESPACE
             leads  won  conversion  days_to_close_median
    channel
    a            2    1         0.5                   5.0
    b            1    1         1.0                   1.0
    """
    df = pd.DataFrame({"channel": np.asarray(channel, dtype=object), "created": np.asarray(created, dtype=float),
                       "won_at": np.asarray(won_at, dtype=float)})
    df = df[(df["created"] >= start) & (df["created"] < end)]
    df["won"] = df["won_at"] < (end if observed is None else observed)
    df["days"] = np.where(df["won"], df["won_at"] - df["created"], np.nan)
    g = df.groupby("channel", sort=True)
    out = pd.DataFrame({"leads": g.size(), "won": g["won"].sum().astype(int)})
    out["conversion"] = out["won"] / out["leads"]
    out["days_to_close_median"] = g["days"].median()
    return out


def _median_ci(x: np.ndarray) -> tuple[float, float]:
    x = np.sort(x[np.isfinite(x)])
    n = x.size
    if n < 3:
        return np.nan, np.nan
    h = 1.96 * math.sqrt(n) / 2
    lo, hi = int(max(0, math.floor(n / 2 - h))), int(min(n - 1, math.ceil(n / 2 + h)))
    return float(x[lo]), float(x[hi])


def split_validation(history, base: FunnelConfig, *, split: float = 2 / 3, replications: int = 5,
                     seed: int = 0, warmup_days: int = 14, base_set=None, progress=None) -> dict:
    """Fit on the first ``split`` of the history (by creation date; later dates hidden), simulate
    the rest from the split (after ``warmup_days`` of simulated run-in) and compare per channel:
    leads created from the split to the last lead, their outcomes up to the last date the
    history knows (won deals often run past the last lead).

    Returns ``{"table", "calibration", "split", "end", "replications"}``; the table has one row per
    channel and metric (``leads``, ``conversion``, ``days_to_close_median``) with the historical
    value and its 95% interval, the simulated mean and its 95% interval over replications, the
    relative error, and ``passed`` (the simulated mean inside the historical interval).

    Examples
    --------
    >>> import pandas as pd
    >>> from importlib.resources import files
    >>> from crmsim.errors import read_toml
    >>> EX = files("crmsim") / "examples"
    >>> from crmsim.experiments.lead_history import load_lead_history, load_mapping
    >>> from crmsim.experiments.scenario import load_scenario
    >>> h = load_lead_history(EX / "lead_history.csv", load_mapping(EX / "lead_history_map.toml"))
    >>> base = load_scenario(files("crmsim") / "scenarios" / "funnel.toml").baseline
    >>> val = split_validation(h, base, replications=2, seed=1)
    >>> sorted(val["table"]["metric"].unique())
    ['conversion', 'days_to_close_median', 'leads']
    """
    lh = _table(history)
    h = lh.table
    first = h["created_at"].min().normalize()
    end = h["created_at"].max().normalize() + _DAY        # leads arrive until here
    observed = _last_date(h) + _DAY                        # outcomes are known until here
    cut = first + (end - first) * split
    cut = (cut - pd.Timedelta(days=int(cut.day_of_week))).normalize()  # a Monday: weekday weights line up
    sim_start = cut - pd.Timedelta(days=warmup_days)
    if sim_start <= first:
        raise InputError(f"lead history: {first.date()}..{end.date()} is too short for a time split")
    cal = calibrate(lh, base, start=first, end=cut, level_at=sim_start, seed=seed, base_set=base_set)
    window = (float(warmup_days), float((end - sim_start) / _DAY), float((observed - sim_start) / _DAY))
    sim = _simulated_cohorts(cal.config, seed, replications, window, lh.granularity.get("created_at") == "date",
                             progress)
    t = h[h["created_at"] >= cut]
    zero = pd.Series(sim_start, index=t.index)
    won_at = np.where(t["status"] == "won", _days(zero, t["closed_at"]), np.nan)
    table = _compare(_historical_values(t["channel"].to_numpy(), _days(zero, t["created_at"]), won_at, window),
                     sim, replications)
    return {"table": table, "calibration": cal, "split": cut, "end": end, "observed": observed,
            "replications": replications}


def _with_all(channel, created, won_at, window) -> pd.DataFrame:
    """:func:`cohort_metrics` per channel and for all channels together (row ``ALL``)."""
    per = cohort_metrics(channel, created, won_at, start=window[0], end=window[1], observed=window[2])
    tot = cohort_metrics(np.full(len(created), ALL), created, won_at, start=window[0], end=window[1],
                         observed=window[2])
    return pd.concat([tot, per])


def _simulated_cohorts(cfg: FunnelConfig, seed, replications: int, window, date_only: bool, progress
                       ) -> pd.DataFrame:
    """The cohort metrics of each replication (``rep`` column), measured as the export measures
    them: from the creation date when the export has no times."""
    out = []
    for i, s in enumerate(np.random.SeedSequence(seed).spawn(replications)):
        r = simulate_funnel(cfg, s, window[2], window[0], keep_events=True)
        ev = r.events
        won = r.leads["lead_id"].map(ev[ev["event"] == "won"].groupby("entity_id")["t"].min())
        shown = np.floor(r.leads["created"]) if date_only else r.leads["created"]
        out.append(_with_all(r.leads["channel"].astype(str), shown, won, window).assign(rep=i))
        if progress:
            progress(i + 1, replications)
    return pd.concat(out).rename_axis("channel").reset_index()


def _historical_values(channel, created, won_at, window) -> dict:
    """Per channel (and ``ALL``): each metric's value and 95% interval in the held-out history."""
    m = _with_all(channel, created, won_at, window)
    inside = (created >= window[0]) & (created < window[1])
    days = np.where(inside & (won_at < window[2]), won_at - created, np.nan)
    out = {}
    for ch, r in m.iterrows():
        n, k = int(r["leads"]), int(r["won"])
        d = days[np.isfinite(days) & ((channel == ch) | (ch == ALL))]
        out[ch] = {"leads": (n, poisson_rate_ci(n, 1.0)), "conversion": (k / n if n else np.nan, proportion_ci(k, n)),
                   "days_to_close_median": (float(np.median(d)) if d.size else np.nan, _median_ci(d))}
    return out


def _compare(hist: dict, sim: pd.DataFrame, replications: int) -> pd.DataFrame:
    """One row per channel and metric: the history with its interval, the simulation's mean and
    interval over replications (a replication without the channel counts 0 leads and 0 won),
    the relative error and whether the simulated mean lies inside the historical interval."""
    from crmsim.experiments.stats import mean_ci

    rows = []
    names = [ALL, *sorted((set(hist) | set(sim["channel"])) - {ALL})]
    for ch in names:
        s = sim[sim["channel"] == ch]
        h = hist.get(ch, {"leads": (0, poisson_rate_ci(0, 1.0)), "conversion": (np.nan, proportion_ci(0, 0)),
                          "days_to_close_median": (np.nan, (np.nan, np.nan))})
        for metric, (hv, hci) in h.items():
            vals = s[metric].to_numpy(dtype=float) if len(s) else np.array([np.nan])
            if metric != "days_to_close_median" and len(vals) < replications:
                vals = np.concatenate([vals, np.zeros(replications - len(vals))])
            m, lo, hi = mean_ci(vals)
            lo, hi = max(lo, 0.0), (min(hi, 1.0) if metric == "conversion" else hi)  # inside the range
            rel = (m - hv) / hv if hv and np.isfinite(hv) else np.nan
            ok = bool(np.isfinite(m) and hci[0] <= m <= hci[1]) if np.all(np.isfinite(hci)) else False
            rows.append({"channel": ch, "metric": metric, "n_leads": h["leads"][0], "historical": hv,
                         "hist_ci_low": hci[0], "hist_ci_high": hci[1], "simulated": m, "sim_ci_low": lo,
                         "sim_ci_high": hi, "rel_error": rel, "passed": ok})
    return pd.DataFrame(rows)


# ------------------------------------------------------------- in-sample comparison (kept)

def historical_metrics(history, *, start, end, warmup_days: float = 0.0) -> dict[str, float]:
    """The funnel metrics of a lead history over [start + warm-up, end), named as the simulation
    names them (``leads``, ``mql``, ``contacted``, ``sql``, ``opportunity``, ``won``, per channel
    ``leads.<channel>``..., ``ttfc_p50_h``, ``revenue``).

    Examples
    --------
    >>> import pandas as pd
    >>> from importlib.resources import files
    >>> from crmsim.errors import read_toml
    >>> EX = files("crmsim") / "examples"
    >>> from crmsim.experiments.lead_history import load_lead_history, load_mapping
    >>> from crmsim.experiments.scenario import load_scenario
    >>> h = load_lead_history(EX / "lead_history.csv", load_mapping(EX / "lead_history_map.toml"))
    >>> base = load_scenario(files("crmsim") / "scenarios" / "funnel.toml").baseline
    >>> m = historical_metrics(h, start=pd.Timestamp("2025-01-06"), end=pd.Timestamp("2025-07-07"))
    >>> m["leads"] > 0, "won" in m
    (True, True)
    """
    history = _table(history).table
    s = pd.Timestamp(start) + pd.Timedelta(days=warmup_days)
    h = history[(history["created_at"] >= s) & (history["created_at"] < pd.Timestamp(end))]
    flags = {
        "leads": np.ones(len(h), dtype=bool),
        "mql": ~h["status"].isin(NOT_MQL_STATUSES).to_numpy(),
        "contacted": h["first_contact_at"].notna().to_numpy(),
        "sql": h["sql_at"].notna().to_numpy(),
        "opportunity": h["opportunity_at"].notna().to_numpy(),
        "won": (h["status"] == "won").to_numpy(),
    }
    m: dict[str, float] = {}
    for k, f in flags.items():
        m[k] = float(f.sum())
        for ch in sorted(h["channel"].unique()):
            m[f"{k}.{ch}"] = float((f & (h["channel"] == ch).to_numpy()).sum())
    ttfc = ((h["first_contact_at"] - h["created_at"]) / pd.Timedelta(hours=1)).dropna()
    m["ttfc_p50_h"] = float(ttfc.median()) if len(ttfc) else np.nan
    m["revenue"] = float(h.loc[h["status"] == "won", "amount"].sum())
    return m


def validation_table(history, summary: pd.DataFrame, *, start, end, warmup_days: float = 0.0,
                     metrics: list[str] | None = None) -> pd.DataFrame:
    """Historical metrics next to the simulated ones (mean and 95% CI over replications of the
    calibrated baseline), with the ratio simulated / historical (an in-sample check; the
    out-of-sample one is :func:`split_validation`).

    Examples
    --------
    >>> import pandas as pd
    >>> from importlib.resources import files
    >>> from crmsim.errors import read_toml
    >>> EX = files("crmsim") / "examples"
    >>> from crmsim.experiments.lead_history import load_lead_history, load_mapping
    >>> from crmsim.experiments.scenario import load_scenario
    >>> h = load_lead_history(EX / "lead_history.csv", load_mapping(EX / "lead_history_map.toml"))
    >>> base = load_scenario(files("crmsim") / "scenarios" / "funnel.toml").baseline
    >>> start, end = pd.Timestamp("2025-01-06"), pd.Timestamp("2025-07-07")
    >>> obs = historical_metrics(h, start=start, end=end)
    >>> summary = pd.DataFrame({"variant": "baseline", "replication": [0, 1, 2], "leads": obs["leads"] * pd.Series([0.95, 1.0, 1.05])})
    >>> t = validation_table(h, summary, start=start, end=end, metrics=["leads"])
    >>> t.columns.tolist()[:4], round(float(t["ratio"].iloc[0]), 2)
    (['metric', 'historical', 'simulated', 'sim_ci_low'], 1.0)
    """
    from crmsim.experiments.stats import mean_ci

    hist = historical_metrics(history, start=start, end=end, warmup_days=warmup_days)
    base = summary[summary["variant"] == "baseline"]
    metrics = metrics or [k for k in hist if k in base.columns]
    rows = []
    for k in metrics:
        m, lo, hi = mean_ci(base[k]) if k in base.columns else (np.nan, np.nan, np.nan)
        rows.append({"metric": k, "historical": hist.get(k, np.nan), "simulated": m, "sim_ci_low": lo,
                     "sim_ci_high": hi, "ratio": m / hist[k] if hist.get(k) else np.nan})
    return pd.DataFrame(rows)
