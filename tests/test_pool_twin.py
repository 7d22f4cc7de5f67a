"""The pool simulation fitted to a CRM-style export of a simulated pool (crmsim.experiments.pool_twin):
parameters recovered, held-out months reproduced, every parameter's source stated."""

import numpy as np
import pytest

from crmsim.customers import pool_history
from crmsim.errors import InputError
from crmsim.experiments.pool_twin import calibrate_pool, pool_split_validation
from crmsim.sim import exports
from crmsim.sim.pool import HISTORY_START, PoolConfig, PoolCustomers, PoolReps

TRUTH = PoolConfig(customers=PoolCustomers(count=2000), reps=PoolReps(count=8, target_holding=240))
BASE = PoolConfig(customers=PoolCustomers(count=10), reps=PoolReps(count=1))


@pytest.fixture(scope="module")
def export():
    x = exports.pool_export(TRUTH, 270, seed=3)
    h = pool_history(x["accounts"], x["activities"], x["deals"], x["ownership"],
                     columns=exports.POOL_EXPORT_COLUMNS, start=HISTORY_START)
    return x, h


def test_what_the_export_shows_is_recovered(export):
    _, h = export
    cal = calibrate_pool(h, BASE)
    e = cal.estimates.set_index(["parameter", "group"])
    truth = {("grade_share", g): v for g, v in TRUTH.customers.grade_shares.items()}
    truth |= {("followups_per_day", ""): 8, ("initial_pool_share", ""): 0.1,
              ("loss_rate_per_year", ""): 0.6, ("deal_amount_mean", ""): 8000 * 1.0}
    covered = {k: bool(e.loc[k, "ci_low"] <= v <= e.loc[k, "ci_high"]) for k, v in truth.items()
               if k != ("deal_amount_mean", "")}
    assert sum(covered.values()) >= len(covered) - 1, covered      # measured: 7 of 8 (loss rate 0.65 [0.58, 0.73])
    assert cal.config.reps.count == 8 and cal.config.reps.followups_per_day == 8
    assert cal.config.reps.target_holding == 240
    assert cal.config.reps.workdays == (0, 1, 2, 3, 4)
    # deal amounts: lognormal mean x grade multiples; the multiples come out ordered like the truth's
    gv = cal.config.customers.grade_value
    assert gv["A"] > gv["B"] > gv["C"] > gv["D"]
    prov = cal.provenance
    assert set(prov["source"]) <= {"fitted", "pooled", "base scenario", "default"}
    latent = prov[prov["path"].str.contains("interest")]
    assert len(latent) and (latent["source"] != "fitted").all() and latent["note"].str.contains("latent").all()


def test_held_out_months_are_reproduced(export):
    _, h = export
    v = pool_split_validation(h, BASE, replications=3, seed=1)
    t = v["table"].set_index("metric")
    for m in ("deals", "reclaims", "claims"):
        assert abs(t.loc[m, "error_pct"]) <= 10, t          # measured: -3.5%, -0.3%, +1.5% (from the book at the split)
    assert t.loc["followup_interval", "within_10pct"]


def test_thin_or_bad_history_is_named(export):
    x, h = export
    with pytest.raises(InputError, match="4 weeks"):
        calibrate_pool(h, BASE, end=h.start + np.timedelta64(10, "D"))
    no_lost = pool_history(x["accounts"].drop(columns=["Lost Date"]), x["activities"], x["deals"], x["ownership"],
                           columns=exports.POOL_EXPORT_COLUMNS, start=HISTORY_START)
    cal = calibrate_pool(no_lost, BASE)
    assert any("lost_at" in n for n in cal.notes)
    assert cal.config.customers.loss_rate_per_year == BASE.customers.loss_rate_per_year


def test_calibrate_command_on_the_bundled_crm_export(tmp_path, root):
    import subprocess
    import sys

    ex = root / "data" / "examples"
    cmd = [sys.executable, "-m", "crmsim.cli", "calibrate", "--model", "pool", "--customers", str(ex / "crm_accounts.csv"),
           "--activities", str(ex / "crm_activities.csv"), "--deals", str(ex / "crm_deals.csv"),
           "--ownership", str(ex / "crm_ownership.csv"), "--map", str(ex / "crm_map.toml"), "--start", "2025-01-06",
           "--out", str(tmp_path / "mine.toml")]
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "excluded from followups" in r.stdout and "where each parameter" in r.stdout
    from crmsim.experiments import load_scenario
    sc = load_scenario(tmp_path / "mine.toml")
    assert sc.model == "pool" and sc.baseline.customers.count == 1200 and sc.baseline.reps.count == 5
    bad = subprocess.run(cmd[:6] + ["--customers", str(ex / "crm_accounts.csv"), "--out", str(tmp_path / "x.toml")],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "--activities" in bad.stderr and "Traceback" not in bad.stderr


def test_how_reps_work_is_recovered_from_the_export():
    """Whom reps follow up and claim, and the deal chance per grade, fitted from a history
    generated with known behaviour (not the defaults)."""
    truth = PoolConfig(customers=PoolCustomers(count=1500, grade_deal_rate={"A": 2.0, "D": 0.5}),
                       reps=PoolReps(count=6, target_holding=240, priority="random", claim_order="oldest_in_pool"))
    x = exports.pool_export(truth, 240, seed=4)
    h = pool_history(x["accounts"], x["activities"], x["deals"], x["ownership"],
                     columns=exports.POOL_EXPORT_COLUMNS, start=HISTORY_START)
    cal = calibrate_pool(h, BASE)
    assert cal.config.reps.priority == "random" and cal.config.reps.claim_order == "oldest_in_pool"
    e = cal.estimates
    g = e[e["parameter"] == "grade_deal_rate"].set_index("group")
    # the multiples are relative to the follow-up-weighted mean of the truth's
    m = {k: truth.customers.grade_deal_rate.get(k, 1.0) for k in g.index}
    mean = sum(g.loc[k, "n"] * m[k] for k in g.index) / g["n"].sum()
    covered = [g.loc[k, "ci_low"] <= m[k] / mean <= g.loc[k, "ci_high"] for k in g.index]
    assert sum(covered) >= 3, g                     # measured: 4 of 4
    assert g.loc["A", "value"] > 1.3 and g.loc["D", "value"] < 0.8
    prov = cal.provenance.set_index("path")
    assert prov.loc["reps.priority", "source"] == "fitted" and prov.loc["reps.claim_order", "source"] == "fitted"
    hz = e[e["parameter"] == "deal_hazard"].set_index("group")
    assert hz.loc["0 d", "value"] > 0 and hz.loc["8-30 d", "value"] == 0   # deals only at follow-ups


def test_priority_agreement_by_hand():
    from crmsim.experiments.pool_twin import top_k_share

    key = np.array([1.0, 2.0, 2.0, 3.0])
    # top 2: item 0 surely, one of the two tied items with chance 1/2
    assert top_k_share(key, np.array([True, True, False, False]), 2) == 0.75
    assert top_k_share(key, np.array([False, False, False, True]), 1) == 0.0


def test_the_simulation_starts_from_the_book_at_the_split(export):
    from crmsim.customers import state_at
    from crmsim.sim.pool import simulate_pool

    _, h = export
    day = h.start + np.timedelta64(100, "D")
    book = state_at(h, day, include_pool=True)
    assert len(book) == len(h.customers) and book["customer_id"].is_unique
    held = book["owner_id"].notna()
    cfg = TRUTH.model_copy(update={"reps": TRUTH.reps.model_copy(update={"count": book["owner_id"].nunique()})})
    r = simulate_pool(cfg, seed=1, horizon_days=1, start_book=book, start_at=day)
    t = r.customers.set_index("customer_id").loc[book["customer_id"]]
    # the night before the first claims: each customer kept its owner unless reclaimed that night
    rec = set(r.events.loc[r.events["event"] == "reclaim", "entity_id"])
    same = (t["owner_id"].to_numpy() == book["owner_id"].to_numpy()) | ~held.to_numpy()
    assert all(same[i] or i in rec for i in range(len(book)))
    assert (t["grade"].to_numpy() == book["grade"].to_numpy()).all()
    with pytest.raises(InputError, match="reps.count"):
        simulate_pool(TRUTH.model_copy(update={"reps": TRUTH.reps.model_copy(update={"count": 2})}), seed=1,
                      horizon_days=1, start_book=book, start_at=day)
    with pytest.raises(InputError, match="'grade'"):
        simulate_pool(cfg, seed=1, horizon_days=1, start_book=book.assign(grade="Gold"), start_at=day)


def test_interest_follows_the_simulation_updates():
    from crmsim.sim.pool import interest_from_history

    c = PoolCustomers(count=2, interest_alpha=1e6, interest_beta=1e6, interest_drift_sd=0.0,
                      followup_boost=0.5, after_deal_interest=0.2)
    rng = np.random.default_rng(0)
    # customer 0: follow-up, then a follow-up with a deal the same day; customer 1: nothing
    x = interest_from_history(c, np.array([0, 0, 0]), np.array([1.0, 5.0, 5.0]), np.array([False, True, False]),
                              10.0, rng, 2)
    assert x[0] == pytest.approx(((0.5 + 0.5 * 0.5) + 0.5 * (1 - 0.75)) * 0.2, abs=1e-3)
    assert x[1] == pytest.approx(0.5, abs=1e-3)


def test_no_ownership_log_still_calibrates_and_says_what_it_cannot_see(export):
    from crmsim.customers import state_at

    x, h = export
    now = state_at(h, h.end).set_index("customer_id")
    acc = x["accounts"]
    key = exports.POOL_EXPORT_COLUMNS["customer_id"]
    acc = acc.assign(owner_id=now["owner_id"].reindex(acc[key]).to_numpy(),
                     received_at=now["received_at"].reindex(acc[key]).astype(str).to_numpy())
    h0 = pool_history(acc, x["activities"], x["deals"], None, columns=exports.POOL_EXPORT_COLUMNS, start=HISTORY_START)
    cal = calibrate_pool(h0, BASE)
    assert any("no ownership log" in n for n in cal.notes)
    assert any("claim_order" in n for n in cal.notes)          # no claims can be seen without the log
    assert cal.config.reps.claim_order == BASE.reps.claim_order
