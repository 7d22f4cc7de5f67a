"""The pool simulation fitted to your own customer history (FEATURES L2C-4).

:func:`calibrate_pool` reads a :class:`~crmsim.customers.replay.PoolHistory` (customers,
follow-ups, deals and the ownership log, as :func:`crmsim.customers.pool_history` loads them from
a CRM export) and fits the parameters of :class:`~crmsim.sim.pool.PoolConfig` it can see, each
with its 95% CI and n:

- the book: customers, grade and region shares, the share in the pool at the start, reps, how
  uneven their books are (``book_skew``: the spread of log holdings) and how many they hold;
- the work: follow-ups per rep per working day, the working weekdays, the shortest gap between two
  follow-ups of a customer;
- the outcomes: the chance a follow-up closes a deal (the simulation's ``deal_rate`` is set by
  simulation so that its deals per follow-up match the history's; on a proportional sub-book of
  at most :data:`SUB_BOOK` customers for large books), deal amounts (lognormal mean
  and cv) and their multiple per grade, and the rate at which customers silent for more than
  ``loss_grace_days`` are lost (losses per silent customer-year, where ``lost_at`` is known).

The latent interest model (its beta prior, drift, the boost of a follow-up) is not visible in
any export and keeps the base scenario's values, as the provenance says; so do the reclaim policy
and the claim rules (they are the rules you choose, not facts to fit).

:func:`pool_split_validation` fits on the first part of the history and simulates the rest:
deals, reclaims, claims and customers lost per month, and the median interval between
follow-ups, against the held-out months.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from crmsim.customers.replay import PoolHistory
from crmsim.errors import InputError
from crmsim.experiments.fits import Estimates, held_out_table, poisson_rate_ci, proportion_ci
from crmsim.sim.pool import PoolConfig, simulate_pool

__all__ = ["PoolCalibration", "calibrate_pool", "pool_split_validation", "pool_window_metrics"]

_YEAR = 365.25


@dataclass
class PoolCalibration:
    """The calibrated ``config``, ``estimates`` (``parameter, group, value, ci_low, ci_high, n,
    source, note, path``), ``provenance`` of every parameter, ``notes`` and the ``window``."""

    config: PoolConfig
    estimates: pd.DataFrame
    provenance: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    window: tuple = (None, None)


def _day(x) -> float:
    return float(np.datetime64(pd.Timestamp(x).date(), "D").astype(np.int64))


def _owner_at(h: PoolHistory, cust: pd.Series, t: np.ndarray) -> np.ndarray:
    """The owner of each (customer, day) by the ownership spells; None outside every spell."""
    sp = h.spells
    codes = pd.Index(pd.unique(pd.concat([sp["customer_id"], cust], ignore_index=True)))
    sc = codes.get_indexer(sp["customer_id"]).astype(float)
    order = np.lexsort((sp["start"].to_numpy(), sc))
    key = sc[order] * 1e6 + sp["start"].to_numpy()[order]
    q = codes.get_indexer(cust).astype(float) * 1e6 + t
    i = np.searchsorted(key, q, side="right") - 1
    ok = i >= 0
    j = order[np.maximum(i, 0)]
    ok &= (sc[j] == codes.get_indexer(cust)) & (t <= sp["end"].to_numpy()[j])
    return np.where(ok, sp["owner_id"].to_numpy()[j], None)


def _holdings(h: PoolHistory, d: float) -> pd.Series:
    """Customers held per rep when day ``d``'s nightly job runs (spells that started before ``d``
    and had not ended before it; a spell still open at the end of the history never ends)."""
    sp = h.spells
    on = (sp["start"] < d) & ((sp["end"] >= d) | (sp["ended_by"] == "open"))
    return sp.loc[on, "owner_id"].value_counts()


def calibrate_pool(history: PoolHistory, base: PoolConfig, *, start=None, end=None, seed=0,
                   base_set: set[str] | None = None) -> PoolCalibration:
    """Fit a :class:`~crmsim.sim.pool.PoolConfig` to a pool history on ``[start, end)`` (default:
    the history's window); ``base`` gives the rules and what cannot be fitted."""
    h = history
    t0 = _day(start) if start is not None else _day(h.start)
    t1 = _day(end) if end is not None else _day(h.end) + 1
    if t1 - t0 < 28:
        raise InputError(f"the window has {t1 - t0:.0f} days; fitting the pool needs at least 4 weeks")
    est = Estimates("group")
    notes = list(h.notes)

    cust = h.customers
    n = len(cust)
    est.add("customers", n, n=n, path="customers.count")
    raw = base.model_dump(mode="json", by_alias=True, exclude_none=True)
    c_raw, r_raw = raw["customers"], raw["reps"]
    c_raw["count"] = n
    if "grade" in cust.columns:
        g = cust["grade"].astype(str).str.strip().replace("", "(no grade)")
        shares = g.value_counts(sort=False).sort_index()
        c_raw["grade_shares"] = {k: v / n for k, v in shares.items()}
        for k, v in shares.items():
            est.add("grade_share", v / n, proportion_ci(int(v), n), n, group=k, path=f"customers.grade_shares.{k}")
        notes.append(f"grades {list(shares.index)} are taken as listed best first (alphabetical); reorder "
                     "grade_shares in the scenario if your best grade sorts later")
    else:
        notes.append("customers: no 'grade' column; the base scenario's grades are used")
    if "region" in cust.columns:
        reg = cust["region"].astype(str).value_counts(sort=False).sort_index()
        c_raw["region_shares"] = {k: v / n for k, v in reg.items()}
        for k, v in reg.items():
            est.add("region_share", v / n, proportion_ci(int(v), n), n, group=k, path=f"customers.region_shares.{k}")
    held0 = _holdings(h, t0)
    in_pool0 = n - int(held0.sum())
    c_raw["initial_pool_share"] = in_pool0 / n
    est.add("initial_pool_share", in_pool0 / n, proportion_ci(in_pool0, n), n, path="customers.initial_pool_share",
        note="customers with no owner at the window's start")
    # reps and their work
    fu = h.followups[(h.followups["t"] >= t0) & (h.followups["t"] < t1)]
    owner = _owner_at(h, fu["customer_id"], fu["t"].to_numpy())
    unowned = pd.isna(owner)
    if unowned.any():
        notes.append(f"{int(unowned.sum())} follow-up(s) of customers nobody owned that day are not counted as "
                     "a rep's work")
    fu = fu[~unowned].assign(rep=owner[~unowned])
    reps = sorted(set(h.spells.loc[(h.spells["start"] < t1) & (h.spells["end"] > t0), "owner_id"]))
    R = len(reps)
    if R == 0:
        raise InputError("no rep owns a customer in the window (ownership log)")
    r_raw["count"] = R
    r_raw["teams"] = {}
    est.add("reps", R, n=R, path="reps.count", note="owners of a customer in the window")
    wd = pd.to_datetime(fu["t"].to_numpy().astype("int64"), unit="D").day_of_week
    share = np.bincount(wd, minlength=7) / max(len(fu), 1)
    work = tuple(int(d) for d in np.flatnonzero(share >= 0.02))
    run_wd = tuple(int((d - pd.Timestamp("2025-01-06").day_of_week) % 7) for d in work)   # the run's day 0 is a Monday
    r_raw["workdays"] = sorted(run_wd)
    est.add("workdays", ",".join(map(str, sorted(run_wd))), n=len(fu), path="reps.workdays",
        note="weekdays (0 = Monday) with at least 2% of follow-ups")
    days = np.arange(t0, t1)
    n_work = int(np.isin(pd.to_datetime(days.astype("int64"), unit="D").day_of_week, work).sum())
    rep_days = R * n_work
    lam = len(fu) / rep_days
    est.add("followups_per_day", lam, poisson_rate_ci(len(fu), rep_days), len(fu), path="reps.followups_per_day",
        note=f"follow-ups per rep per working day (set to {max(1, round(lam))}: the simulation takes whole follow-ups)")
    r_raw["followups_per_day"] = max(1, int(round(lam)))
    gaps = fu.sort_values(["customer_id", "t"]).groupby("customer_id")["t"].diff().dropna().to_numpy()
    if gaps.size and gaps.min() < r_raw["min_gap_days"]:
        # reps who follow up the most silent first rarely meet the gap rule, so the gaps seen only
        # bound it from above: lowered to the shortest gap seen, never raised
        r_raw["min_gap_days"] = int(gaps.min())
        est.add("min_gap_days", float(gaps.min()), n=gaps.size, path="reps.min_gap_days",
            note="the shortest gap between two follow-ups of a customer (below the base scenario's)")
    held_end = _holdings(h, t1 - 1).reindex(reps, fill_value=0)
    target = float(np.quantile(held_end, 0.9)) if len(held_end) else float(r_raw["target_holding"])
    r_raw["target_holding"] = int(round(target))
    est.add("target_holding", target, n=R, path="reps.target_holding",
        note="90th percentile of customers held per rep at the window's end (reps claim up to it)")
    h0 = held0.reindex(reps, fill_value=0).to_numpy(float)
    h0 = h0[h0 > 0]
    if h0.size >= 2:
        r_raw["book_skew"] = float(np.std(np.log(h0), ddof=1))
        est.add("book_skew", r_raw["book_skew"], n=h0.size, path="reps.book_skew",
            note="standard deviation of log customers held per rep at the window's start")
    # deals
    dl = h.deals[(h.deals["t"] >= t0) & (h.deals["t"] < t1)]
    k_deal, n_fu = len(dl), len(fu)
    p_obs = k_deal / n_fu if n_fu else np.nan
    est.add("deals_per_followup", p_obs, proportion_ci(k_deal, n_fu), n_fu, note="deals in the window / follow-ups")
    amt = dl["amount"].dropna().to_numpy(float)
    amt = amt[amt > 0]
    if amt.size >= 30:
        gmap = cust.set_index("customer_id")["grade"].astype(str) if "grade" in cust.columns else None
        mean_all = float(amt.mean())
        c_raw["deal_amount"] = {"kind": "lognormal", "mean": mean_all, "cv": float(amt.std(ddof=1) / mean_all)}
        h_ = 1.96 * amt.std(ddof=1) / np.sqrt(amt.size)
        est.add("deal_amount_mean", mean_all, (mean_all - h_, mean_all + h_), amt.size, path="customers.deal_amount")
        if gmap is not None:
            d2 = dl.assign(grade=gmap.reindex(dl["customer_id"]).to_numpy())
            by = d2[d2["amount"] > 0].groupby("grade")["amount"]
            gv = {}
            for gname in c_raw["grade_shares"]:
                if gname in by.groups and by.get_group(gname).size >= 10:
                    x = by.get_group(gname).to_numpy(float)
                    gv[gname] = float(x.mean() / mean_all)
                    est.add("grade_value", gv[gname], n=x.size, group=gname, path=f"customers.grade_value.{gname}",
                        note="mean deal amount of the grade / of all deals")
                else:
                    gv[gname] = 1.0
                    est.add("grade_value", 1.0, group=gname, source="pooled", path=f"customers.grade_value.{gname}",
                        note="fewer than 10 deals: the overall mean")
            c_raw["grade_value"] = gv
    else:
        notes.append(f"only {amt.size} deal amounts: the deal amount distribution is the base scenario's")
        if "grade_shares" in c_raw and set(c_raw["grade_value"]) != set(c_raw["grade_shares"]):
            c_raw["grade_value"] = dict.fromkeys(c_raw["grade_shares"], 1.0)
    # losses: customers silent for more than the grace period, per silent customer-year
    grace = float(c_raw["loss_grace_days"])
    if "lost_at" in cust.columns:
        from crmsim.tables import day_numbers

        lost = day_numbers(cust["lost_at"], "customers")
        silent_days, losses = _silent_exposure(h, t0, t1, grace, lost)
        yrs = silent_days / _YEAR
        if yrs > 0:
            c_raw["loss_rate_per_year"] = losses / yrs
            est.add("loss_rate_per_year", losses / yrs, poisson_rate_ci(losses, yrs), losses,
                path="customers.loss_rate_per_year",
                note=f"{losses} customers lost in {yrs:.1f} customer-years silent > {grace:.0f} days")
    else:
        notes.append("customers: no 'lost_at'; the loss rate is the base scenario's")
    # the simulation's deal_rate: the chance per follow-up scales with a latent interest nobody
    # observes, so set it by simulation to reproduce the history's deals per follow-up
    cfg = PoolConfig.model_validate(raw)
    if n_fu and k_deal:
        d_rate, p_sim = cfg.customers.deal_rate, np.nan
        for _ in range(3):
            p_sim = _deals_per_followup(cfg, seed, days=min(120, int(t1 - t0)))
            if not p_sim:
                break
            d_rate = float(min(1.0, d_rate * p_obs / p_sim))
            raw["customers"]["deal_rate"] = d_rate
            cfg = PoolConfig.model_validate(raw)
        lo, hi = proportion_ci(k_deal, n_fu)
        scale = d_rate / p_obs
        est.add("deal_rate", d_rate, (lo * scale, min(1.0, hi * scale)), n_fu, path="customers.deal_rate",
            note=f"set by simulation so deals per follow-up match the history's {p_obs:.4f}")
    if base_set is None:
        from crmsim.experiments.calibrate import _set_paths

        base_set = _set_paths(base)
    est = est.frame()
    prov = _provenance(cfg, est, base_set)
    return PoolCalibration(cfg, est, prov, notes, (pd.Timestamp(np.datetime64(int(t0), "D")),
                                                   pd.Timestamp(np.datetime64(int(t1) - 1, "D"))))


def _silent_exposure(h: PoolHistory, t0: float, t1: float, grace: float, lost: np.ndarray) -> tuple[float, int]:
    """Customer-days in ``[t0, t1)`` spent silent for more than ``grace`` days (since the last
    follow-up), up to the day a customer was lost, and the losses among them."""
    cust = h.customers["customer_id"]
    codes = pd.Index(cust)
    fu = h.followups[h.followups["t"] < t1]
    c = codes.get_indexer(fu["customer_id"])
    order = np.lexsort((fu["t"].to_numpy(), c))
    c, t = c[order], fu["t"].to_numpy()[order]
    stop = np.where(np.isnan(lost), t1, np.minimum(lost + 1, t1))
    total, nxt_c = 0.0, np.r_[c[1:], -1]
    # per follow-up: the interval to the next follow-up of the customer (or the stop day)
    # nights at risk: from grace + 1 days after a follow-up up to the night of the next one (the
    # nightly job runs before that day's work) or the last night before the customer was lost
    last = stop[c] - 1
    nxt = np.minimum(np.where(nxt_c == c, np.r_[t[1:], 0], last), last)
    lo = np.maximum(t + grace + 1, t0)
    total += float(np.clip(nxt - lo + 1, 0, None).sum())
    # customers never followed up (in the data) are silent from the start
    never = np.setdiff1d(np.arange(len(codes)), c)
    total += float(np.clip(stop[never] - t0, 0, None).sum())
    k = int(((lost >= t0) & (lost < t1)).sum())
    return total, k


#: the deal rate is set on a proportional sub-book of at most this many customers (deals per
#: follow-up is a per-follow-up ratio: it keeps when customers and reps shrink together)
SUB_BOOK = 5000


def _sub_book(cfg: PoolConfig) -> PoolConfig:
    n = cfg.customers.count
    if n <= SUB_BOOK:
        return cfg
    f = SUB_BOOK / n
    raw = cfg.model_dump(mode="json", by_alias=True, exclude_none=True)
    raw["customers"]["count"] = SUB_BOOK
    teams = {t: max(1, round(k * f)) for t, k in cfg.reps.teams.items()}
    raw["reps"]["teams"] = teams
    raw["reps"]["count"] = sum(teams.values()) if teams else max(1, round(cfg.reps.count * f))
    return PoolConfig.model_validate(raw)


def _deals_per_followup(cfg: PoolConfig, seed, days: int) -> float:
    r = simulate_pool(_sub_book(cfg), seed=np.random.SeedSequence([int(seed), 17]), horizon_days=days,
                      warmup_days=min(30, days // 4))
    e = r.events[r.events["t"] >= min(30, days // 4)]
    n_fu = int((e["event"] == "followup").sum())
    return float((e["event"] == "deal").sum() / n_fu) if n_fu else 0.0


_NOT_FITTABLE = {"interest_alpha": "latent interest: not in any export", "interest_beta": "latent interest: not in any export",
                 "interest_drift_sd": "latent interest: not in any export",
                 "followup_boost": "latent interest: not in any export",
                 "after_deal_interest": "latent interest: not in any export",
                 "priority": "how reps choose whom to follow up: not fitted",
                 "policy": "the reclaim policy is a rule you choose", "pools": "the pools and claim rules are rules you choose"}


def _provenance(cfg: PoolConfig, est: pd.DataFrame, base_set: set[str]) -> pd.DataFrame:
    from crmsim.experiments.calibrate import _leaves

    fitted = {r.path: r for r in est.itertuples() if isinstance(r.path, str)}
    rows = []
    for path, value in _leaves(cfg.model_dump(mode="json", by_alias=True, exclude_none=True)):
        r = next((fitted[p] for p in fitted if path == p or path.startswith(p + ".")), None)
        if r is not None:
            rows.append({"path": path, "value": value, "source": r.source, "ci_low": r.ci_low, "ci_high": r.ci_high,
                         "n": r.n, "note": r.note})
            continue
        parts = path.split(".")
        in_base = any(".".join(parts[:k]) in base_set for k in range(len(parts), 0, -1))
        key = parts[1] if len(parts) > 1 and parts[0] in ("customers", "reps") else parts[0]
        rows.append({"path": path, "value": value if isinstance(value, str | int | float | bool) else str(value),
                     "source": "base scenario" if in_base else "default", "ci_low": np.nan, "ci_high": np.nan,
                     "n": 0, "note": _NOT_FITTABLE.get(key, "")})
    return pd.DataFrame(rows)


def pool_window_metrics(events: pd.DataFrame, t0: float, t1: float) -> dict[str, float]:
    """Per 30 days of ``[t0, t1)``: ``deals``, ``reclaims``, ``claims``, ``lost``; and the median
    days between follow-ups of a customer (``followup_interval``). ``events``: ``t, event,
    entity_id`` (the simulation's log, or the history's in the same shape)."""
    e = events[(events["t"] >= t0) & (events["t"] < t1)]
    per = 30 / (t1 - t0)
    out = {k: float((e["event"] == k).sum() * per) for k in ("deal", "reclaim", "claim", "lost")}
    f = e[e["event"] == "followup"].sort_values(["entity_id", "t"])
    gaps = f.groupby("entity_id")["t"].diff().dropna()
    out["followup_interval"] = float(gaps.median()) if len(gaps) else np.nan
    return {"deals": out["deal"], "reclaims": out["reclaim"], "claims": out["claim"], "lost": out["lost"],
            "followup_interval": out["followup_interval"]}


def _history_events(h: PoolHistory) -> pd.DataFrame:
    sp = h.spells
    parts = [pd.DataFrame({"t": h.followups["t"], "event": "followup", "entity_id": h.followups["customer_id"]}),
             pd.DataFrame({"t": h.deals["t"], "event": "deal", "entity_id": h.deals["customer_id"]}),
             pd.DataFrame({"t": sp.loc[sp["ended_by"] == "reclaim", "end"], "event": "reclaim",
                           "entity_id": sp.loc[sp["ended_by"] == "reclaim", "customer_id"]})]
    # a claim: a spell that starts right after the customer was in the pool (reclaimed or put back)
    prev_end = sp.groupby("customer_id")["ended_by"].shift(1)
    claimed = prev_end.isin(["reclaim", "pool"])
    parts.append(pd.DataFrame({"t": sp.loc[claimed, "start"], "event": "claim", "entity_id": sp.loc[claimed, "customer_id"]}))
    if "lost_at" in h.customers.columns:
        from crmsim.tables import day_numbers

        lost = day_numbers(h.customers["lost_at"], "customers")
        ok = ~np.isnan(lost)
        parts.append(pd.DataFrame({"t": lost[ok], "event": "lost", "entity_id": h.customers["customer_id"].to_numpy()[ok]}))
    return pd.concat(parts, ignore_index=True)


def pool_split_validation(history: PoolHistory, base: PoolConfig, *, split: float = 2 / 3, replications: int = 5,
                          warmup_days: int | None = None, seed=0) -> dict:
    """Fit on the first ``split`` of the history, simulate the rest (after a run-in of
    ``warmup_days``, default the fitted part's length, so the simulated book is as old as the
    history's at the split) ``replications`` times, and compare per-month deals, reclaims,
    claims, losses and the follow-up interval with the held-out months. Returns ``{"table",
    "calibration", "split"}``; the table has ``metric, observed, simulated, sim_low, sim_high,
    error_pct, within_10pct, within_range``."""
    t_start, t_end = _day(history.start), _day(history.end) + 1
    t_split = float(np.floor(t_start + split * (t_end - t_start)))
    if t_end - t_split < 28:
        raise InputError("the held-out part of the history is shorter than 4 weeks")
    cal = calibrate_pool(history, base, end=pd.Timestamp(np.datetime64(int(t_split), "D")), seed=seed)
    warmup_days = int(t_split - t_start) if warmup_days is None else warmup_days
    obs = pool_window_metrics(_history_events(history), t_split, t_end)
    horizon = t_end - t_split
    sims = []
    for k in range(replications):
        r = simulate_pool(cal.config, seed=np.random.SeedSequence([int(seed), k]), horizon_days=warmup_days + horizon)
        sims.append(pool_window_metrics(r.events, warmup_days, warmup_days + horizon))
    table = held_out_table(obs, pd.DataFrame(sims))
    return {"table": table, "calibration": cal, "split": pd.Timestamp(np.datetime64(int(t_split), "D"))}
