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
  simulation from the book as it was at the window's start, so that its deals per follow-up match
  the history's; on a sub-book of about :data:`SUB_BOOK` customers for large books) and its multiple per grade
  (``grade_deal_rate``), deal amounts (lognormal mean and cv) and their multiple per grade, and
  the rate at which customers silent for more than ``loss_grace_days`` are lost (losses per
  silent customer-year, where ``lost_at`` is known); a discrete-time deal hazard by days since
  the last follow-up and grade (``deal_hazard`` rows, deals per customer-day with exact CIs);
- the behaviour: whom reps follow up first (``reps.priority``: on sampled rep-days, the share of
  the real follow-ups each priority would have chosen from the rep's book) and whom they claim
  from the pool (``reps.claim_order``, the same on days with claims); a rule is chosen over
  ``random`` only when its share is clearly higher. Claims per rep per working day are reported.

The latent interest model (its beta prior, drift, the boost of a follow-up) is not visible in
any export and keeps the base scenario's values, as the provenance says; so do the reclaim policy
and the claim rules (they are the rules you choose, not facts to fit).

:func:`pool_split_validation` fits on the first part of the history and simulates the rest from
the book as it was at the split (owners, the pool, last follow-ups; the latent interest moved
from its prior by each customer's follow-ups and deals): deals, reclaims, claims and customers
lost per month, and the median interval between follow-ups, against the held-out months.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from crmsim.calendar import SIM_START
from crmsim.customers.replay import PoolHistory
from crmsim.errors import InputError
from crmsim.experiments.fits import (
    Estimates,
    TwinCalibration,
    held_out_table,
    poisson_rate_ci,
    proportion_ci,
    provenance_table,
)
from crmsim.sim.pool import PoolConfig, interest_from_history, simulate_pool
from crmsim.tables import day_number

__all__ = ["PoolCalibration", "calibrate_pool", "pool_split_validation", "pool_window_metrics"]

_YEAR = 365.25


class PoolCalibration(TwinCalibration[PoolConfig]):
    """The pool twin's calibration (:class:`~crmsim.experiments.fits.TwinCalibration`).

    Examples
    --------
    >>> import pandas as pd
    >>> from importlib.resources import files
    >>> from crmsim.errors import read_toml
    >>> EX = files("crmsim") / "examples"
    >>> from crmsim.customers import pool_history
    >>> crm = {k: pd.read_csv(EX / f"crm_{k}.csv", keep_default_na=False) for k in ("accounts", "activities", "deals", "ownership")}
    >>> h = pool_history(crm["accounts"], crm["activities"], crm["deals"], crm["ownership"],
    ...                  columns=read_toml(EX / "crm_map.toml")["columns"], start="2025-01-06")
    >>> from crmsim.experiments.scenario import load_scenario
    >>> cal = calibrate_pool(h, load_scenario(files("crmsim") / "scenarios" / "pool_reclamation.toml").baseline)
    >>> sorted(set(cal.provenance["source"]))
    ['base scenario', 'fitted']
    """


def grade_names(col: pd.Series) -> pd.Series:
    """A customers table's grades as the pool scenario names them (blank: ``(no grade)``)."""
    return col.astype(str).str.strip().replace({"": "(no grade)", "nan": "(no grade)", "None": "(no grade)"})


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
    the history's window); ``base`` gives the rules and what cannot be fitted.

    Examples
    --------
    >>> import pandas as pd
    >>> from importlib.resources import files
    >>> from crmsim.errors import read_toml
    >>> EX = files("crmsim") / "examples"
    >>> from crmsim.customers import pool_history
    >>> crm = {k: pd.read_csv(EX / f"crm_{k}.csv", keep_default_na=False) for k in ("accounts", "activities", "deals", "ownership")}
    >>> h = pool_history(crm["accounts"], crm["activities"], crm["deals"], crm["ownership"],
    ...                  columns=read_toml(EX / "crm_map.toml")["columns"], start="2025-01-06")
    >>> from crmsim.experiments.scenario import load_scenario
    >>> cal = calibrate_pool(h, load_scenario(files("crmsim") / "scenarios" / "pool_reclamation.toml").baseline)
    >>> cal.config.customers.count == len(h.customers)
    True
    """
    h = history
    t0 = float(day_number(start if start is not None else h.start))
    t1 = float(day_number(end) if end is not None else day_number(h.end) + 1)
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
        g = grade_names(cust["grade"])
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
    run_wd = tuple(int((d - SIM_START.day_of_week) % 7) for d in work)   # the run's day 0 is a Monday
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
    # behaviour: whom reps follow up and whom they claim, the chance of a deal per grade, the hazard
    _fit_deal_by_grade(h, fu, dl, c_raw, est, notes)
    _deal_hazard(h, fu, dl, t0, t1, est, notes)
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 31]))
    pick = _fit_priority(h, fu, t0, t1, int(r_raw["min_gap_days"]), rng, est)
    if pick is not None:
        r_raw["priority"] = pick
    else:
        notes.append("too few follow-ups to tell whom reps follow up first: reps.priority is the base scenario's")
    sp = h.spells
    n_claim = int((claimed_spells(sp) & (sp["start"] >= t0) & (sp["start"] < t1)).sum())
    est.add("claims_per_rep_day", n_claim / rep_days, poisson_rate_ci(n_claim, rep_days), n_claim,
            note="claims from the pool per rep per working day (the simulation's reps claim up to "
                 "target_holding; compared in the time-split check)")
    pick = _fit_claim_order(h, t0, t1, rng, est)
    if isinstance(pick, str) and pick in ("best_grade", "oldest_in_pool", "random"):
        r_raw["claim_order"] = pick
    else:
        notes.append(f"{pick}: reps.claim_order (whom reps claim first) is the base scenario's")
    # the simulation's deal_rate: the chance per follow-up scales with a latent interest nobody
    # observes, so set it by simulation to reproduce the history's deals per follow-up
    cfg = PoolConfig.model_validate(raw)
    if n_fu and k_deal:
        d_rate, p_sim = cfg.customers.deal_rate, np.nan
        start = _start_book(h, t0, cfg, seed)
        for _ in range(3):
            p_sim = _deals_per_followup(cfg, seed, start, t0, days=min(365, int(t1 - t0)))
            if not p_sim:
                break
            d_rate = float(min(1.0, d_rate * p_obs / p_sim))
            raw["customers"]["deal_rate"] = d_rate
            cfg = PoolConfig.model_validate(raw)
        lo, hi = proportion_ci(k_deal, n_fu)
        scale = d_rate / p_obs
        est.add("deal_rate", d_rate, (lo * scale, min(1.0, hi * scale)), n_fu, path="customers.deal_rate",
            note=f"set by simulation from the book at the window's start so deals per follow-up match "
                 f"the history's {p_obs:.4f}")
    if base_set is None:
        from crmsim.experiments.calibrate import _set_paths

        base_set = _set_paths(base)
    est = est.frame()
    prov = provenance_table(cfg, est, base_set, _NOT_FITTABLE)
    return PoolCalibration(cfg, est, prov, notes, (pd.Timestamp(np.datetime64(int(t0), "D")),
                                                   pd.Timestamp(np.datetime64(int(t1) - 1, "D"))))


#: days since the last follow-up, for the deal hazard (lower bounds; the last bucket is open)
HAZARD_DAYS = (0, 1, 8, 31, 91)


def _hazard_label(k: int) -> str:
    lo = HAZARD_DAYS[k]
    if k + 1 == len(HAZARD_DAYS):
        return f"{lo}+ d"
    hi = HAZARD_DAYS[k + 1] - 1
    return f"{lo} d" if hi == lo else f"{lo}-{hi} d"


def _fit_deal_by_grade(h: PoolHistory, fu: pd.DataFrame, dl: pd.DataFrame, c_raw: dict, est: Estimates,
                       notes: list[str]) -> None:
    """Deals per follow-up of each grade against all grades': ``customers.grade_deal_rate``."""
    if "grade" not in h.customers.columns or not len(fu) or not len(dl):
        return
    g = grade_names(h.customers["grade"]).set_axis(h.customers["customer_id"])
    n_fu = g.reindex(fu["customer_id"]).value_counts()
    k_dl = g.reindex(dl["customer_id"]).value_counts()
    p_all = len(dl) / len(fu)
    out = {}
    for grade in c_raw.get("grade_shares", {}):
        n, k = int(n_fu.get(grade, 0)), int(k_dl.get(grade, 0))
        if n < 100 or k < 5:
            out[grade] = 1.0
            est.add("grade_deal_rate", 1.0, n=n, group=grade, source="pooled", path=f"customers.grade_deal_rate.{grade}",
                    note=f"{k} deals in {n} follow-ups (< 5 or < 100): the overall rate")
            continue
        lo, hi = proportion_ci(k, n)
        out[grade] = (k / n) / p_all
        est.add("grade_deal_rate", out[grade], (lo / p_all, hi / p_all), n, group=grade,
                path=f"customers.grade_deal_rate.{grade}", note="deals per follow-up of the grade / of all grades")
    c_raw["grade_deal_rate"] = out


def _deal_hazard(h: PoolHistory, fu: pd.DataFrame, dl: pd.DataFrame, t0: float, t1: float, est: Estimates,
                 notes: list[str]) -> None:
    """A discrete-time deal hazard: deals per customer-day by days since the last follow-up
    (:data:`HAZARD_DAYS`) and grade, with exact Poisson 95% CIs (the piecewise-constant hazard
    is the maximum-likelihood fit of a discrete-time hazard model with those cells). Customer-
    days count from a customer's first follow-up in the window to the window's end (a customer
    lost stops counting). Estimates only: the simulation closes deals at follow-ups."""
    if not len(fu):
        return
    codes = pd.Index(h.customers["customer_id"])
    c = codes.get_indexer(fu["customer_id"])
    order = np.lexsort((fu["t"].to_numpy(), c))
    c, t = c[order], fu["t"].to_numpy(float)[order]
    stop = np.full(len(codes), t1)
    if "lost_at" in h.customers.columns:
        from crmsim.tables import day_numbers

        lost = day_numbers(h.customers["lost_at"], "customers")
        stop = np.where(np.isnan(lost), t1, np.clip(lost + 1, t0, t1))
    nxt_same = np.r_[c[1:] == c[:-1], False]
    end = np.minimum(np.where(nxt_same, np.r_[t[1:], 0], stop[c]), stop[c])   # the spell of days [t, end)
    length = np.clip(end - t, 0, None)
    grades = (grade_names(h.customers["grade"]).to_numpy() if "grade" in h.customers.columns
              else np.full(len(codes), ""))
    # each deal: days since the last follow-up on or before its day
    dc = codes.get_indexer(dl["customer_id"])
    dt = dl["t"].to_numpy(float)
    key = c * 1e6 + t
    i = np.searchsorted(key, dc * 1e6 + dt, side="right") - 1
    seen = (i >= 0) & (c[np.maximum(i, 0)] == dc)
    since = np.where(seen, dt - t[np.maximum(i, 0)], np.nan)
    if (~seen).any():
        notes.append(f"deal hazard: {int((~seen).sum())} deal(s) before their customer's first follow-up in the "
                     "window are not in it")
    edges = np.array(HAZARD_DAYS + (np.inf,))
    off = since[seen] > 0
    if seen.any() and off.mean() > 0.2:
        notes.append(f"{off.mean():.0%} of deals were closed on a day without a follow-up; the simulation closes "
                     "deals at follow-ups (deals per follow-up is what it matches)")
    for gname in [""] + (sorted(set(grades)) if "grade" in h.customers.columns else []):
        mask_s = np.ones(c.size, bool) if gname == "" else grades[c] == gname
        mask_d = seen & (np.ones(dc.size, bool) if gname == "" else grades[np.maximum(dc, 0)] == gname)
        for k in range(len(HAZARD_DAYS)):
            lo, hi = edges[k], edges[k + 1]
            days_in = np.clip(np.minimum(length[mask_s], hi) - lo, 0, None).sum()
            n_dl = int(((since[mask_d] >= lo) & (since[mask_d] < hi)).sum())
            if days_in <= 0:
                continue
            grp = _hazard_label(k) if gname == "" else f"{gname} | {_hazard_label(k)}"
            est.add("deal_hazard", n_dl / days_in, poisson_rate_ci(n_dl, float(days_in)), n_dl, group=grp,
                    note=f"deals per customer-day, {days_in:.0f} customer-days (days since the last follow-up)")


def top_k_share(key: np.ndarray, chosen: np.ndarray, k: int) -> float:
    """The expected share of ``chosen`` (a mask) among the ``k`` items with the smallest ``key``,
    ties at the cut broken at random: how much of a real choice a priority rule reproduces."""
    if k <= 0 or key.size == 0:
        return np.nan
    k = min(k, key.size)
    cut = np.partition(key, k - 1)[k - 1]
    less, tied = key < cut, key == cut
    p = np.where(less, 1.0, np.where(tied, (k - less.sum()) / max(tied.sum(), 1), 0.0))
    return float(p[chosen].sum() / chosen.sum()) if chosen.any() else np.nan


def _choose(est: Estimates, parameter: str, path: str, scores: dict[str, list[float]], n: int, what: str):
    """The rule whose choices agree best with the history's (mean top-k share over the sampled
    days, normal 95% CI); ``random`` unless another beats it clearly. Adds one row per rule and
    returns the pick (the last row added is the pick's)."""
    res = {}
    for rule, v in scores.items():
        a = np.asarray(v, float)
        a = a[np.isfinite(a)]
        if a.size < 5:
            return None
        m, se = float(a.mean()), float(a.std(ddof=1) / np.sqrt(a.size))
        res[rule] = (m, m - 1.96 * se, m + 1.96 * se, a.size)
    best = max(res, key=lambda r: res[r][0])
    if best != "random" and res[best][1] <= res["random"][2]:
        best = "random"
    for rule, (m, lo, hi, k) in sorted(res.items(), key=lambda x: x[0] == best):
        est.add(parameter, m, (lo, hi), n, group=rule, source="fitted" if rule == best else "compared",
                note=f"share of the {what} the rule '{rule}' would have made on {k} sampled days" +
                     (" (chosen)" if rule == best else ""))
    est.rows[-1]["path"] = path
    return best


def _fit_priority(h: PoolHistory, fu: pd.DataFrame, t0: float, t1: float, min_gap: int, rng, est: Estimates,
                  days: int = 300):
    """Whom reps follow up: on up to ``days`` sampled rep-days, the share of the day's follow-ups
    each priority (most silent first, best grade first, random) would have chosen from the rep's
    book; ``reps.priority`` is the best, if it clearly beats random."""
    if len(fu) < 50:
        return None
    from crmsim.customers.replay import DayIndex

    sp = h.spells
    codes = pd.Index(h.customers["customer_id"])
    idx = DayIndex(codes.get_indexer(h.followups["customer_id"]), h.followups["t"].to_numpy(float))
    gcode = (pd.factorize(grade_names(h.customers["grade"]), sort=True)[0] if "grade" in h.customers.columns
             else np.zeros(len(codes), int))
    rd = fu.groupby(["rep", "t"]).size()
    rd = rd[rd > 0]
    pick = rd.index[rng.choice(len(rd), size=min(days, len(rd)), replace=False)]
    by_owner = {o: g for o, g in sp.groupby("owner_id")}
    fu_sets = fu.groupby(["rep", "t"])["customer_id"].agg(set)
    scores = {"most_silent": [], "best_grade": [], "random": []}
    for rep, d in pick:
        g = by_owner.get(rep)
        if g is None:
            continue
        on = (g["start"].to_numpy() < d) & ((g["end"].to_numpy() > d) | (g["ended_by"].to_numpy() == "open"))
        chosen_ids = fu_sets[(rep, d)]
        book = pd.unique(np.r_[g["customer_id"].to_numpy()[on], np.array(sorted(chosen_ids), dtype=object)])
        cc = codes.get_indexer(book)
        last = idx.last(cc, d - 1)
        since = d - np.where(np.isnan(last), t0 - 1, last)
        chosen = np.isin(book, list(chosen_ids))
        ok = (since >= min_gap) | chosen
        book, cc, since, chosen = book[ok], cc[ok], since[ok], chosen[ok]
        k = int(chosen.sum())
        if k == 0 or k >= len(book):
            continue
        scores["most_silent"].append(top_k_share(-since, chosen, k))
        scores["best_grade"].append(top_k_share(gcode[cc] * 1e4 - since, chosen, k))
        scores["random"].append(k / len(book))
    return _choose(est, "priority_agreement", "reps.priority", scores, int(rd.loc[pick].sum()), "follow-ups")


def _fit_claim_order(h: PoolHistory, t0: float, t1: float, rng, est: Estimates, days: int = 200) -> str:
    """Whom reps claim: on up to ``days`` sampled days with claims, the share of the day's claims
    each order (best grade, longest in the pool, random) would have taken from what was in the
    pool; returns the best, if it clearly beats random, else why none was chosen."""
    sp = h.spells
    claimed = claimed_spells(sp).to_numpy()
    first = ~sp["customer_id"].duplicated()
    claims = sp[claimed & (sp["start"] >= t0).to_numpy() & (sp["start"] < t1).to_numpy()]
    if len(claims) < 20:
        return f"{len(claims)} claims in the window (fewer than 20)"
    codes = pd.Index(h.customers["customer_id"])
    gcode = (pd.factorize(grade_names(h.customers["grade"]), sort=True)[0] if "grade" in h.customers.columns
             else np.zeros(len(codes), int))
    cust_all = codes.get_indexer(sp["customer_id"])
    s_start, s_end = sp["start"].to_numpy(), sp["end"].to_numpy()
    open_ = sp["ended_by"].to_numpy() == "open"
    days_with = np.unique(claims["start"].to_numpy())
    pick = rng.choice(days_with, size=min(days, days_with.size), replace=False)
    # the day a customer's previous spell ended: when it entered the pool
    ent_day = np.where(~first, np.r_[np.nan, s_end[:-1]], np.nan)
    scores = {"best_grade": [], "oldest_in_pool": [], "random": []}
    n = 0
    for d in pick:
        held = (s_start < d) & ((s_end > d) | open_)
        owned = np.zeros(len(codes), bool)
        owned[cust_all[held]] = True
        today = (s_start == d) & claimed
        chosen_c = cust_all[today]
        # in the pool that afternoon: ended spells not followed by an active one, and today's claims
        ended = (s_end <= d) & ~open_
        in_pool = np.zeros(len(codes), bool)
        in_pool[cust_all[ended]] = True
        in_pool &= ~owned
        in_pool[chosen_c] = True
        cand = np.flatnonzero(in_pool)
        chosen = np.isin(cand, chosen_c)
        k = int(chosen.sum())
        if k == 0 or k >= cand.size:
            continue
        entered = pd.Series(s_end[ended], index=cust_all[ended]).groupby(level=0).max()
        ent = entered.reindex(cand).to_numpy(float)
        nxt = pd.Series(ent_day[today], index=chosen_c).groupby(level=0).max()
        ent = np.where(chosen & ~np.isnan(nxt.reindex(cand).to_numpy(float)), nxt.reindex(cand).to_numpy(float), ent)
        ent = np.where(np.isnan(ent), t0 - 365, ent)
        scores["best_grade"].append(top_k_share(gcode[cand].astype(float), chosen, k))
        scores["oldest_in_pool"].append(top_k_share(ent, chosen, k))
        scores["random"].append(k / cand.size)
        n += k
    pick = _choose(est, "claim_order_agreement", "reps.claim_order", scores, n, "claims")
    return pick if pick is not None else ("on fewer than 5 sampled days did reps leave customers in the pool "
                                          "when they claimed, so their choice cannot be seen")

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


#: the deal rate is set on a sub-book of at most about this many customers (a random subset of
#: the reps with their books, and the pool in proportion: deals per follow-up is a per-follow-up
#: ratio, kept when customers and reps shrink together)
SUB_BOOK = 5000


def _start_book(h: PoolHistory, day: float, cfg: PoolConfig, seed, limit: int = SUB_BOOK) -> pd.DataFrame:
    """The book at ``day`` as the simulation starts from it (every customer, the latent interest
    moved by what each went through before), cut to a sub-book of about ``limit`` customers."""
    from crmsim.customers.replay import state_at

    book = state_at(h, pd.Timestamp(np.datetime64(int(day), "D")), include_pool=True)
    if "grade" in book.columns and "grade" in h.customers.columns:
        book["grade"] = grade_names(book["grade"])
    if len(book) > limit:
        rng = np.random.default_rng(np.random.SeedSequence([int(seed), 37]))
        owners = book["owner_id"].dropna().unique()
        f = limit / len(book)
        keep_reps = set(rng.choice(owners, size=max(1, round(len(owners) * f)), replace=False)) if len(owners) else set()
        mine = book["owner_id"].isin(keep_reps)
        owned = book["owner_id"].notna()
        share = mine.sum() / max(owned.sum(), 1)
        pool = ~owned & (rng.random(len(book)) < share)
        book = book[mine | pool].reset_index(drop=True)
    book["interest"] = _interest_at(h, book, day, cfg, seed)
    return book


def _deals_per_followup(cfg: PoolConfig, seed, start: pd.DataFrame, t0: float, days: int) -> float:
    """Deals per follow-up of the simulation run from the book ``start`` at day ``t0``."""
    owners = start["owner_id"].dropna().nunique()
    c = cfg.model_copy(update={"reps": cfg.reps.model_copy(update={"count": max(1, int(owners)), "teams": {}})})
    r = simulate_pool(c, seed=np.random.SeedSequence([int(seed), 17]), horizon_days=days, start_book=start,
                      start_at=pd.Timestamp(np.datetime64(int(t0), "D")))
    e = r.events
    n_fu = int((e["event"] == "followup").sum())
    return float((e["event"] == "deal").sum() / n_fu) if n_fu else 0.0


_NOT_FITTABLE = {"interest_alpha": "latent interest: not in any export", "interest_beta": "latent interest: not in any export",
                 "interest_drift_sd": "latent interest: not in any export",
                 "followup_boost": "latent interest: not in any export",
                 "after_deal_interest": "latent interest: not in any export",
                 "policy": "the reclaim policy is a rule you choose", "pools": "the pools and claim rules are rules you choose"}


def pool_window_metrics(events: pd.DataFrame, t0: float, t1: float) -> dict[str, float]:
    """Per 30 days of ``[t0, t1)``: ``deals``, ``reclaims``, ``claims``, ``lost``; and the median
    days between follow-ups of a customer (``followup_interval``). ``events``: ``t, event,
    entity_id`` (the simulation's log, or the history's in the same shape).

    Examples
    --------
    >>> import pandas as pd
    >>> ev = pd.DataFrame({"t": [1.0, 5.0, 12.0, 20.0, 40.0], "entity_id": [1, 1, 2, 1, 2],
    ...                    "event": ["followup", "followup", "deal", "followup", "reclaim"]})
    >>> pool_window_metrics(ev, 0.0, 60.0)
    {'deals': 0.5, 'reclaims': 0.5, 'claims': 0.0, 'lost': 0.0, 'followup_interval': 9.5}
    """
    e = events[(events["t"] >= t0) & (events["t"] < t1)]
    per = 30 / (t1 - t0)
    out = {k: float((e["event"] == k).sum() * per) for k in ("deal", "reclaim", "claim", "lost")}
    f = e[e["event"] == "followup"].sort_values(["entity_id", "t"])
    gaps = f.groupby("entity_id")["t"].diff().dropna()
    out["followup_interval"] = float(gaps.median()) if len(gaps) else np.nan
    return {"deals": out["deal"], "reclaims": out["reclaim"], "claims": out["claim"], "lost": out["lost"],
            "followup_interval": out["followup_interval"]}


def _interest_at(h: PoolHistory, book: pd.DataFrame, day: float, cfg: PoolConfig, seed) -> np.ndarray:
    """The latent interest of the book's customers at ``day``, moved from its prior by the
    follow-ups and deals each went through before it (the simulation's own updates)."""
    codes = pd.Index(book["customer_id"])
    fu, dl = h.followups[h.followups["t"] < day], h.deals[h.deals["t"] < day]
    cust = np.r_[codes.get_indexer(fu["customer_id"]), codes.get_indexer(dl["customer_id"])]
    t = np.r_[fu["t"].to_numpy(float), dl["t"].to_numpy(float)]
    deal = np.r_[np.zeros(len(fu), bool), np.ones(len(dl), bool)]
    ok = cust >= 0
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 29]))
    return interest_from_history(cfg.customers, cust[ok], t[ok], deal[ok], day, rng, len(book))


def claimed_spells(spells: pd.DataFrame) -> pd.Series:
    """Which ownership spells began with a claim: right after the customer was in the pool
    (its previous spell ended by a reclaim or was put back). ``spells`` sorted by customer, start."""
    return spells.groupby("customer_id")["ended_by"].shift(1).isin(["reclaim", "pool"])


def _history_events(h: PoolHistory) -> pd.DataFrame:
    sp = h.spells
    parts = [pd.DataFrame({"t": h.followups["t"], "event": "followup", "entity_id": h.followups["customer_id"]}),
             pd.DataFrame({"t": h.deals["t"], "event": "deal", "entity_id": h.deals["customer_id"]}),
             pd.DataFrame({"t": sp.loc[sp["ended_by"] == "reclaim", "end"], "event": "reclaim",
                           "entity_id": sp.loc[sp["ended_by"] == "reclaim", "customer_id"]})]
    claimed = claimed_spells(sp)
    parts.append(pd.DataFrame({"t": sp.loc[claimed, "start"], "event": "claim", "entity_id": sp.loc[claimed, "customer_id"]}))
    if "lost_at" in h.customers.columns:
        from crmsim.tables import day_numbers

        lost = day_numbers(h.customers["lost_at"], "customers")
        ok = ~np.isnan(lost)
        parts.append(pd.DataFrame({"t": lost[ok], "event": "lost", "entity_id": h.customers["customer_id"].to_numpy()[ok]}))
    return pd.concat(parts, ignore_index=True)


def pool_split_validation(history: PoolHistory, base: PoolConfig, *, split: float = 2 / 3, replications: int = 5,
                          warmup_days: int | None = None, seed=0, from_state: bool = True) -> dict:
    """Fit on the first ``split`` of the history, simulate the rest ``replications`` times, and
    compare per-month deals, reclaims, claims, losses and the follow-up interval with the held-out
    months. The simulation starts from the book as it was at the split (``from_state``: owners,
    the pool, last follow-ups and deals, read by :func:`crmsim.customers.replay.state_at`); with
    ``from_state=False`` it starts from a book drawn from the fitted shares after a run-in of
    ``warmup_days`` (default the fitted part's length). Returns ``{"table", "calibration",
    "split", "start"}``; the table has ``metric, observed, simulated, sim_low, sim_high,
    error_pct, within_10pct, within_range``.

    Examples
    --------
    >>> import pandas as pd
    >>> from importlib.resources import files
    >>> from crmsim.errors import read_toml
    >>> EX = files("crmsim") / "examples"
    >>> from crmsim.customers import pool_history
    >>> crm = {k: pd.read_csv(EX / f"crm_{k}.csv", keep_default_na=False) for k in ("accounts", "activities", "deals", "ownership")}
    >>> h = pool_history(crm["accounts"], crm["activities"], crm["deals"], crm["ownership"],
    ...                  columns=read_toml(EX / "crm_map.toml")["columns"], start="2025-01-06")
    >>> from crmsim.experiments.scenario import load_scenario
    >>> val = pool_split_validation(h, load_scenario(files("crmsim") / "scenarios" / "pool_reclamation.toml").baseline,
    ...                             replications=2, seed=1)
    >>> val["table"]["metric"].tolist()
    ['deals', 'reclaims', 'claims', 'lost', 'followup_interval']
    """
    t_start, t_end = float(day_number(history.start)), float(day_number(history.end) + 1)
    t_split = float(np.floor(t_start + split * (t_end - t_start)))
    if t_end - t_split < 28:
        raise InputError("the held-out part of the history is shorter than 4 weeks")
    split_at = pd.Timestamp(np.datetime64(int(t_split), "D"))
    cal = calibrate_pool(history, base, end=split_at, seed=seed)
    obs = pool_window_metrics(_history_events(history), t_split, t_end)
    horizon = t_end - t_split
    cfg, kw, w = cal.config, {}, 0
    if from_state:
        book = _start_book(history, t_split, cfg, seed, limit=len(history.customers))
        owners = book["owner_id"].dropna().nunique()
        if owners > cfg.reps.count:
            cfg = cfg.model_copy(update={"reps": cfg.reps.model_copy(update={"count": int(owners), "teams": {}})})
        kw = {"start_book": book, "start_at": split_at}
    else:
        w = int(t_split - t_start) if warmup_days is None else warmup_days
    sims = []
    for k in range(replications):
        r = simulate_pool(cfg, seed=np.random.SeedSequence([int(seed), k]), horizon_days=w + horizon, **kw)
        sims.append(pool_window_metrics(r.events, w, w + horizon))
    table = held_out_table(obs, pd.DataFrame(sims))
    return {"table": table, "calibration": cal, "split": split_at,
            "start": "the book at the split" if from_state else f"a drawn book after a {w}-day run-in"}
