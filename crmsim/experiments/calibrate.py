"""Calibrate the funnel scenario from a real lead history, then compare simulated and historical.

A lead history is one row per lead (``lead_id, created_at, channel, status, cost,
first_contact_at, sql_at, opportunity_at, closed_at, amount``), mapped from any CRM export by a
:class:`LeadHistoryMapping`. :func:`calibrate` fits, per channel, the arrival rate and weekday
pattern, the invalid and duplicate shares, the cost per lead and the lead intent; globally, the
MQL threshold, SQL -> opportunity and win rates, the cycle-time distribution and deal sizes. It
returns the fitted :class:`~crmsim.sim.funnel.FunnelConfig` and a table of every estimate with its
95% confidence interval and the number of observations behind it.

How each estimate is made (and where it is approximate):

- volume: leads per week (Poisson CI); weekday weights: counts per weekday;
- invalid share: leads with status ``invalid``; duplicate share: ``duplicate`` among the valid
  ones (the simulation draws invalid first);
- win rate, SQL -> opportunity, cycle time: only from *mature* opportunities (opened at least the
  95th percentile of the cycle time before the end of the history), which removes most of the
  right-censoring bias of "win rate on closed deals";
- cycle time: gamma fitted by maximum likelihood (scipy) on days from opportunity to close;
- deal amount: lognormal with the sample mean and coefficient of variation of won amounts;
- MQL threshold: the threshold of the baseline scoring rule whose MQL share on leads drawn from
  the fitted channels matches the observed share (the scoring rule's points are kept);
- intent: per channel, the mean intent whose MQLs, weighted by the response curve at the observed
  times to first contact, qualify at the observed rate (bisection on simulated attributes).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import field_validator
from scipy import stats

from crmsim.config import Config, check_known
from crmsim.pipeline.history import canonical_text
from crmsim.sim.distributions import Gamma, LogNormal
from crmsim.sim.funnel import FunnelConfig
from crmsim.synth import ChannelProfile, lead_attributes, rng_from
from crmsim.tables import read_table

__all__ = ["LeadHistoryMapping", "STATUSES", "load_lead_history", "calibrate", "historical_metrics",
           "validation_table"]

FIELDS = ("lead_id", "created_at", "channel", "status", "cost", "first_contact_at", "sql_at",
          "opportunity_at", "closed_at", "amount")
#: Lead statuses crmsim understands (map your CRM's labels onto these).
STATUSES = ("invalid", "duplicate", "nurture", "recycled", "mql", "disqualified", "sql",
            "opportunity", "won", "lost")
_DATES = ("created_at", "first_contact_at", "sql_at", "opportunity_at", "closed_at")


class LeadHistoryMapping(Config):
    """Export column -> field, and export status label -> crmsim status."""

    columns: dict[str, str]
    statuses: dict[str, str] = {s: s for s in STATUSES}
    dayfirst: bool = False

    @field_validator("columns")
    @classmethod
    def _fields(cls, v: dict[str, str]) -> dict[str, str]:
        check_known(v.values(), FIELDS, "field(s)")
        for need in ("created_at", "channel", "status"):
            if need not in v.values():
                raise ValueError(f"no column is mapped to the required field '{need}'")
        return v

    @field_validator("statuses")
    @classmethod
    def _statuses(cls, v: dict[str, str]) -> dict[str, str]:
        check_known(v.values(), STATUSES, "status(es)")
        return v


def load_lead_history(src, mapping: LeadHistoryMapping) -> pd.DataFrame:
    """Read a lead export (CSV, Parquet or DataFrame) into a lead history; unknown status labels
    raise an error naming them and their rows."""
    raw = read_table(src, source="lead history")
    absent = sorted(set(mapping.columns) - set(raw.columns))
    if absent:
        raise KeyError(f"lead history: mapped column(s) {absent} not in the export; columns are {list(raw.columns)}")
    inv = {v: k for k, v in mapping.columns.items()}
    h = pd.DataFrame({f: raw[inv[f]] if f in inv else pd.NA for f in FIELDS})
    for f in _DATES:
        h[f] = pd.to_datetime(h[f], errors="coerce", format="mixed", dayfirst=mapping.dayfirst)
    for f in ("cost", "amount"):
        h[f] = pd.to_numeric(h[f], errors="coerce")
    labels = {canonical_text(k): v for k, v in mapping.statuses.items()}
    st = h["status"].map(canonical_text)
    h["status"] = st.map(labels)
    bad = h["status"].isna()
    if bad.any():
        vals = raw.loc[bad.to_numpy(), inv["status"]].astype(str).unique()[:10].tolist()
        rows = (np.flatnonzero(bad.to_numpy()) + 1).tolist()[:10]
        raise ValueError(f"lead history: status value(s) {vals} are not mapped (rows {rows}); "
                         f"add them to [statuses] mapping to one of {list(STATUSES)}")
    h["channel"] = h["channel"].astype(str)
    return h


def _poisson_ci(n: int, exposure: float) -> tuple[float, float]:
    lo = stats.chi2.ppf(0.025, 2 * n) / 2 if n else 0.0
    hi = stats.chi2.ppf(0.975, 2 * n + 2) / 2
    return lo / exposure, hi / exposure


def _prop_ci(k: int, n: int) -> tuple[float, float]:
    if n == 0:
        return np.nan, np.nan
    p, z = k / n, 1.96
    c = (p + z * z / (2 * n)) / (1 + z * z / n)
    h = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return c - h, c + h


def _mql_share(cfg: FunnelConfig, channels: dict[str, ChannelProfile], threshold: float, seed: int) -> float:
    rng = rng_from(seed)
    att = pd.concat([lead_attributes(c, p, max(200, int(p.volume_per_week * 20)), rng)
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


def calibrate(history: pd.DataFrame, base: FunnelConfig, *, start=None, end=None, seed: int = 0
              ) -> tuple[FunnelConfig, pd.DataFrame]:
    """Fit the funnel's inputs from a lead history; see the module docstring.

    Returns ``(config, estimates)``: the fitted config (rules and team from ``base``) and one row
    per estimate: ``parameter, channel, value, ci_low, ci_high, n``.
    """
    h = history.copy()
    start = pd.Timestamp(start) if start is not None else h["created_at"].min().normalize()
    end = pd.Timestamp(end) if end is not None else h["created_at"].max().normalize() + pd.Timedelta(days=1)
    h = h[(h["created_at"] >= start) & (h["created_at"] < end)]
    weeks = (end - start) / pd.Timedelta(days=7)
    rows = []

    def est(param, ch, value, ci, n):
        rows.append({"parameter": param, "channel": ch, "value": value, "ci_low": ci[0], "ci_high": ci[1], "n": n})

    # opportunity outcomes, from mature opportunities only
    opp = h[h["opportunity_at"].notna()]
    closed = opp[opp["closed_at"].notna()]
    cycle = ((closed["closed_at"] - closed["opportunity_at"]) / pd.Timedelta(days=1)).to_numpy()
    mature_cut = end - pd.Timedelta(days=float(np.percentile(cycle, 95)) if cycle.size else 0.0)
    mopp = opp[opp["opportunity_at"] <= mature_cut]
    mclosed = mopp[mopp["closed_at"].notna()]
    nwon = int((mclosed["status"] == "won").sum())
    win = nwon / len(mclosed) if len(mclosed) else base.outcomes.win_rate
    est("win_rate", "all", win, _prop_ci(nwon, len(mclosed)), len(mclosed))
    sql = h[h["sql_at"].notna() & (h["sql_at"] <= mature_cut)]
    k = int(sql["opportunity_at"].notna().sum())
    s2o = k / len(sql) if len(sql) else base.outcomes.sql_to_opportunity
    est("sql_to_opportunity", "all", s2o, _prop_ci(k, len(sql)), len(sql))
    mcycle = ((mclosed["closed_at"] - mclosed["opportunity_at"]) / pd.Timedelta(days=1)).to_numpy()
    mcycle = mcycle[mcycle > 0]
    if mcycle.size >= 10:
        shape, _, scale = stats.gamma.fit(mcycle, floc=0)
        cyc = Gamma(shape=float(shape), scale=float(scale))
        se = mcycle.std(ddof=1) / np.sqrt(mcycle.size)
        est("cycle_days_mean", "all", float(mcycle.mean()), (mcycle.mean() - 1.96 * se, mcycle.mean() + 1.96 * se), mcycle.size)
    else:
        cyc = base.outcomes.cycle_days
    amounts = h.loc[h["status"] == "won", "amount"].dropna().to_numpy()
    if amounts.size >= 5:
        m, sd = amounts.mean(), amounts.std(ddof=1)
        amount = LogNormal(mean=float(m), cv=float(sd / m))
        est("deal_amount_mean", "all", float(m), (m - 1.96 * sd / np.sqrt(amounts.size), m + 1.96 * sd / np.sqrt(amounts.size)), amounts.size)
    else:
        amount = base.outcomes.deal_amount

    # channels: volume, weekday pattern, shares, cost
    channels: dict[str, ChannelProfile] = {}
    for ch, g in h.groupby("channel"):
        n = len(g)
        vol = n / weeks
        est("volume_per_week", ch, vol, tuple(x for x in _poisson_ci(n, weeks)), n)
        wd = g["created_at"].dt.day_of_week.value_counts().reindex(range(7), fill_value=0).to_numpy(float)
        weights = tuple(float(x) for x in (wd / wd.mean() if wd.mean() else np.ones(7)))
        n_inv = int((g["status"] == "invalid").sum())
        valid = n - n_inv
        n_dup = int((g["status"] == "duplicate").sum())
        est("invalid_share", ch, n_inv / n, _prop_ci(n_inv, n), n)
        est("duplicate_share", ch, n_dup / valid if valid else 0.0, _prop_ci(n_dup, valid), valid)
        cost = float(g["cost"].mean()) if g["cost"].notna().any() else base.channels.get(ch, ChannelProfile(volume_per_week=1)).cost_per_lead
        prior = base.channels.get(ch, next(iter(base.channels.values())))
        channels[ch] = ChannelProfile.model_validate({
            **prior.model_dump(), "volume_per_week": vol, "weekday_weights": weights,
            "invalid_share": n_inv / n, "duplicate_share": min(1.0, n_dup / valid) if valid else 0.0,
            "cost_per_lead": cost})

    # MQL threshold: match the observed MQL share of primary leads
    primary = h[~h["status"].isin(["invalid", "duplicate"])]
    mql_obs = float((primary["status"] != "nurture").mean()) if len(primary) else np.nan
    grid = np.arange(0, 101, 5.0)
    shares = np.array([_mql_share(base, channels, t, seed) for t in grid])
    thr = float(grid[np.argmin(np.abs(shares - mql_obs))]) if np.isfinite(mql_obs) else base.scoring.mql_threshold
    est("mql_share", "all", mql_obs, _prop_ci(int((primary["status"] != "nurture").sum()), len(primary)), len(primary))
    est("mql_threshold", "all", thr, (np.nan, np.nan), len(primary))
    cfg = FunnelConfig.model_validate({**base.model_dump(by_alias=True),
                                       "channels": {c: p.model_dump() for c, p in channels.items()},
                                       "scoring": {**base.scoring.model_dump(by_alias=True), "mql_threshold": thr}})

    # intent per channel: qualified share of contacted MQLs / E[response multiplier]
    contacted = h[h["first_contact_at"].notna()]
    for ch, g in contacted.groupby("channel"):
        ttfc = ((g["first_contact_at"] - g["created_at"]) / pd.Timedelta(hours=1)).clip(lower=0).to_numpy()
        mult = float(cfg.outcomes.response.multiplier(ttfc).mean())
        k = int(g["sql_at"].notna().sum())
        q = k / len(g)
        prof = cfg.channels[ch]
        means = [_intent_for(cfg, ch, prof, share, mult, seed) for share in (q, *_prop_ci(k, len(g)))]
        conc = prof.intent_alpha + prof.intent_beta
        channels[ch] = ChannelProfile.model_validate({**prof.model_dump(), "intent_alpha": means[0] * conc,
                                                      "intent_beta": (1 - means[0]) * conc})
        est("qualified_share_of_contacted", ch, q, _prop_ci(k, len(g)), len(g))
        est("intent_mean", ch, means[0], (means[1], means[2]), len(g))
    cfg = FunnelConfig.model_validate({
        **cfg.model_dump(by_alias=True),
        "channels": {c: p.model_dump() for c, p in channels.items()},
        "outcomes": {**cfg.outcomes.model_dump(by_alias=True), "win_rate": win, "sql_to_opportunity": s2o,
                     "cycle_days": cyc.model_dump(by_alias=True), "deal_amount": amount.model_dump(by_alias=True)},
    })
    return cfg, pd.DataFrame(rows)


def historical_metrics(history: pd.DataFrame, *, start, end, warmup_days: float = 0.0) -> dict[str, float]:
    """The funnel metrics of a lead history over [start + warm-up, end), named as the simulation
    names them (``leads``, ``mql``, ``contacted``, ``sql``, ``opportunity``, ``won``, per channel
    ``leads.<channel>``..., ``ttfc_p50_h``, ``revenue``)."""
    s = pd.Timestamp(start) + pd.Timedelta(days=warmup_days)
    h = history[(history["created_at"] >= s) & (history["created_at"] < pd.Timestamp(end))]
    flags = {
        "leads": np.ones(len(h), dtype=bool),
        "mql": ~h["status"].isin(["invalid", "duplicate", "nurture"]).to_numpy(),
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


def validation_table(history: pd.DataFrame, summary: pd.DataFrame, *, start, end, warmup_days: float = 0.0,
                     metrics: list[str] | None = None) -> pd.DataFrame:
    """Historical metrics next to the simulated ones (mean and 95% CI over replications of the
    calibrated baseline), with the ratio simulated / historical."""
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
