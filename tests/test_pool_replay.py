"""Reclaim policies replayed on a customer history (crmsim.customers.replay), with counts derived
by hand, and on a simulated pool exported the way a CRM exports it."""

import numpy as np
import pandas as pd
import pytest

from crmsim.customers.pool import ReclaimPolicy, ReclaimRule
from crmsim.customers.replay import pool_history, replay_reclaim
from crmsim.errors import InputError
from crmsim.sim import exports
from crmsim.sim.pool import HISTORY_START, PoolConfig, PoolCustomers, PoolReps

COLS = {"customer_id": "Account", "followup_at": "Date", "deal_at": "Closed", "amount": "Value",
        "changed_at": "When", "owner_id": "To", "action": "What", "lost_at": "Lost"}


def tables():
    """Four customers, 2025-01-01 .. 2025-06-30; the rule in force: no follow-up for > 30 days."""
    accounts = pd.DataFrame({"Account": ["c1", "c2", "c3", "c4"], "Rating": ["B"] * 4,
                             "Lost": ["", "", "2025-03-01", ""], "Industry": ["x"] * 4})
    fu = pd.DataFrame([("c1", "2024-12-20"), ("c1", "2025-01-10"), ("c1", "2025-02-20"), ("c1", "2025-03-05"),
                       ("c2", "2025-01-05"), ("c3", "2024-12-15"), ("c4", "2025-03-10"), ("c4", "2025-03-20")],
                      columns=["Account", "Date"])
    deals = pd.DataFrame([("c1", "2025-03-01", 1000), ("c2", "2025-01-28", 500), ("c4", "2025-05-10", 300)],
                         columns=["Account", "Closed", "Value"])
    own = pd.DataFrame([("c1", "2024-12-01", "r1", "assigned"), ("c1", "2025-02-10", "", "reclaim"),
                        ("c1", "2025-02-12", "r2", "claim"), ("c2", "2025-01-01", "r1", "assigned"),
                        ("c3", "2024-11-01", "r2", "assigned"), ("c3", "2025-01-15", "", "reclaim"),
                        ("c4", "2025-03-01", "r3", "claim"), ("c4", "2025-04-20", "", "reclaim"),
                        ("c4", "2025-04-21", "r1", "claim")], columns=["Account", "When", "To", "What"])
    return accounts, fu, deals, own


def policy(days):
    return ReclaimPolicy(rules=[ReclaimRule(kind="no_followup", limit_days=days)], exempt_locked=False,
                         exempt_open_opportunity=False, exempt_followup_plan=False)   # deal_closed exempts


@pytest.fixture
def replay():
    h = pool_history(*tables(), columns=COLS, start="2025-01-01", end="2025-06-30")
    return replay_reclaim(h, {"in force": policy(30), "14 days": policy(14), "60 days": policy(60)})


def test_replay_counts_derived_by_hand(replay):
    s = replay.summary.set_index("policy")
    # in force: c3 on Jan 15 (Dec 15 + 31), c1/r1 on Feb 10 (Jan 10 + 31), c4/r3 on Apr 20 (Mar 20 + 31)
    # c2 and the later spells have a deal (exempt) before 31 silent days
    assert s.loc["in force", ["reclaims", "matches_actual", "actual_reclaims"]].tolist() == [3, 3, 3]
    assert s.loc["in force", "agreement"] == 1.0
    assert s.loc["in force", ["deals_within_30", "silent", "silent_lost"]].tolist() == [0, 1, 1]   # c3
    # 14 days: c3 at the history's first job (Jan 1: Dec 15 + 15 is before it), c1/r1 Jan 4 (Dec 20 + 15,
    # before the Jan 10 follow-up), c2 Jan 20, c4/r3 Apr 4, c4/r1 May 6 (claimed Apr 21); c2's deal
    # (Jan 28) and c4/r1's (May 10) come after
    b = s.loc["14 days"]
    assert [b["reclaims"], b["deals_within_30"], b["deals_within_90"], b["amount_within_90"]] == [5, 2, 2, 800.0]
    assert [b["silent"], b["silent_lost"], b["matches_actual"], b["actual_not_reclaimed"]] == [1, 1, 0, 0]
    rec = replay.reclaims[replay.reclaims["policy"] == "14 days"].set_index(["customer_id", "owner_id"])
    assert rec["reclaimed_at"].dt.strftime("%m-%d").to_dict() == {
        ("c1", "r1"): "01-04", ("c2", "r1"): "01-20", ("c3", "r2"): "01-01", ("c4", "r3"): "04-04", ("c4", "r1"): "05-06"}
    # days before the rule in force ended the spell: c3 14, c4/r3 16, c1/r1 37 (c2 and c4/r1 are still owned)
    assert rec["days_earlier"].dropna().sort_values().tolist() == [14, 16, 37]
    assert b["median_days_earlier"] == 16
    # 60 days reclaims nobody in this history and keeps the three customers the rule in force
    # reclaimed; c1 (deal Mar 1) and c4 (deal May 10) then closed within 90 days, c3 did not
    c = s.loc["60 days"]
    assert c["reclaims"] == 0 and c["actual_not_reclaimed"] == 3
    kept = replay.kept[replay.kept["policy"] == "60 days"].set_index("customer_id")["deal_90_after"]
    assert kept.to_dict() == {"c1": True, "c3": False, "c4": True}


def test_history_reading_counts_every_exclusion():
    accounts, fu, deals, own = tables()
    fu = pd.concat([fu, pd.DataFrame([("zz", "2025-01-03"), ("c1", "")], columns=["Account", "Date"])])
    deals = deals.assign(Stage="Won")
    deals.loc[len(deals)] = ("c2", "2025-02-01", 50, "Lost")
    h = pool_history(accounts, fu, deals.rename(columns={"Stage": "won"}), own, columns=COLS, start="2025-01-01")
    ex = h.exclusions.set_index(["table", "reason"])["rows"].to_dict()
    assert ex[("followups", "customer_id not in the customers table")] == 1
    assert ex[("followups", "no followup_at")] == 1
    assert ex[("deals", "not won (won column)")] == 1
    assert h.end == pd.Timestamp("2025-05-10")       # the last date in the tables


def test_overlapping_ownership_is_counted_and_the_customer_left_out():
    accounts, fu, deals, own = tables()
    iv = pd.DataFrame({"Account": ["c1", "c1", "c2"], "To": ["r1", "r2", "r1"],
                       "owned_from": ["2025-01-01", "2025-01-20", "2025-01-01"],
                       "owned_to": ["2025-02-01", "", ""]})
    h = pool_history(accounts, fu, deals, iv, columns=COLS, end="2025-06-30")
    assert h.exclusions["reason"].str.contains("overlap").any()
    assert set(h.spells["customer_id"]) == {"c2"}
    assert any("ended_by" in n for n in h.notes)


def test_no_ownership_log_falls_back_to_the_current_owner_and_says_so():
    accounts, fu, deals, _ = tables()
    accounts = accounts.assign(owner_id=["r1", "r1", None, "r2"], received_at=["2025-01-01"] * 4)
    h = pool_history(accounts, fu, deals, None, columns=COLS)
    assert len(h.spells) == 3 and any("no ownership log" in n for n in h.notes)


@pytest.mark.parametrize("change, match", [
    (lambda a, f, d, o: (a, f.assign(Date=["2025-13-45"] + f["Date"].tolist()[1:]), d, o), "Date.*expects dates"),
    (lambda a, f, d, o: (a, f.drop(columns=["Date"]), d, o), r"followups table: column\(s\) \['followup_at'\]"),
    (lambda a, f, d, o: (pd.concat([a, a.head(1)]), f, d, o), "unique"),
])
def test_bad_history_gets_a_named_error(change, match):
    with pytest.raises(InputError, match=match):
        pool_history(*change(*tables()), columns=COLS)


def test_a_rule_the_history_cannot_feed_is_a_named_error():
    h = pool_history(*tables(), columns=COLS)
    p = ReclaimPolicy(rules=[ReclaimRule(kind="no_opportunity", limit_days=30)], exempt_locked=False,
                      exempt_open_opportunity=False, exempt_followup_plan=False)
    with pytest.raises(InputError, match="opportunities table"):
        replay_reclaim(h, p)


def test_the_rule_in_force_replayed_on_a_simulated_crm_export_reproduces_every_reclaim():
    cfg = PoolConfig(customers=PoolCustomers(count=400), reps=PoolReps(count=3, target_holding=120),
                     policy=ReclaimPolicy(rules=(ReclaimRule(kind="no_followup", limit_days=20),
                                                 ReclaimRule(kind="no_deal", limit_days=50)),
                                          exempt_open_opportunity=False, exempt_followup_plan=False))
    x = exports.pool_export(cfg, 90, seed=4)
    h = pool_history(x["accounts"], x["activities"], x["deals"], x["ownership"],
                     columns=exports.POOL_EXPORT_COLUMNS, start=HISTORY_START)
    assert h.exclusions["rows"].sum() >= 5               # the export's noise is counted, not dropped
    r = replay_reclaim(h, {"in force": cfg.policy, "10 days": policy(10)})
    s = r.summary.set_index("policy")
    ev = x["truth"].events
    truth = int((ev["event"] == "reclaim").sum())      # every reclaim of the run, day 0's job included
    assert truth > 50
    assert s.loc["in force", "actual_reclaims"] == truth
    assert s.loc["in force", "matches_actual"] == truth and s.loc["in force", "reclaims"] == truth
    assert s.loc["10 days", "reclaims"] > truth and s.loc["10 days", "median_days_earlier"] > 0
    assert np.isfinite(s.loc["in force", "silent_lost"])
