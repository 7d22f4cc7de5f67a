"""Table-driven tests of every public-pool semantic (crmsim.customers.pool)."""

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from crmsim.customers.pool import (
    REFUSALS,
    ClaimRules,
    Pool,
    ReclaimPolicy,
    ReclaimRule,
    assign,
    claim,
    days_until_reclaim,
    due_for_reclaim,
    pool_for,
    reclaim,
)

TODAY = pd.Timestamp("2025-06-30")
NO_EXEMPT = dict(exempt_locked=False, reclaim_closed=True, exempt_open_opportunity=False,
                 exempt_followup_plan=False)


def day(n_days_ago):
    return None if n_days_ago is None else TODAY - pd.Timedelta(days=n_days_ago)


def table(rows: list[dict]) -> pd.DataFrame:
    """Customers with defaults; dates given as days before TODAY."""
    base = {"owner_id": "r1", "grade": "B", "region": "north", "received": 100, "followup": None,
            "opportunity": None, "deal": None, "contract_end": None, "locked": False,
            "deal_closed": False, "open_opportunities": 0, "followup_plan_active": False}
    recs = []
    for k, r in enumerate(rows):
        x = {**base, **r}
        recs.append({
            "customer_id": f"c{k}", "owner_id": x["owner_id"], "grade": x["grade"],
            "region": x["region"], "received_at": day(x["received"]),
            "last_followup_at": day(x["followup"]), "last_opportunity_at": day(x["opportunity"]),
            "last_deal_at": day(x["deal"]), "contract_end_at": day(x["contract_end"]),
            "locked": x["locked"], "deal_closed": x["deal_closed"],
            "open_opportunities": x["open_opportunities"],
            "followup_plan_active": x["followup_plan_active"],
        })
    df = pd.DataFrame(recs)
    for c in ("received_at", "last_followup_at", "last_opportunity_at", "last_deal_at", "contract_end_at"):
        df[c] = pd.to_datetime(df[c])
    return df


def policy(*rules, combine="any", **kw):
    return ReclaimPolicy(rules=[ReclaimRule(**r) for r in rules], combine=combine, **{**NO_EXEMPT, **kw})


# (case, customer row, rule, due?)
RULE_CASES = [
    ("boundary 31 silent days > 30: reclaimed", {"received": 200, "followup": 31}, dict(kind="no_followup", limit_days=30), True),
    ("boundary 30 silent days: kept", {"received": 200, "followup": 30}, dict(kind="no_followup", limit_days=30), False),
    ("never followed up, received 31 days ago", {"received": 31}, dict(kind="no_followup", limit_days=30), True),
    ("receive date resets the clock", {"received": 10, "followup": 300}, dict(kind="no_followup", limit_days=30), False),
    ("later follow-up wins over receipt", {"received": 300, "followup": 5}, dict(kind="no_followup", limit_days=30), False),
    ("limit 0 = rule off", {"received": 999, "followup": 999}, dict(kind="no_followup", limit_days=0), False),
    ("no opportunity since receipt, 61 > 60", {"received": 61}, dict(kind="no_opportunity", limit_days=60), True),
    ("opportunity before receipt does not count", {"received": 61, "opportunity": 80}, dict(kind="no_opportunity", limit_days=60), True),
    ("opportunity since receipt: never", {"received": 300, "opportunity": 200}, dict(kind="no_opportunity", limit_days=60), False),
    ("opportunity on the receive day counts", {"received": 300, "opportunity": 300}, dict(kind="no_opportunity", limit_days=60), False),
    ("no deal since receipt, 91 > 90", {"received": 91}, dict(kind="no_deal", limit_days=90), True),
    ("no deal since receipt, 90", {"received": 90}, dict(kind="no_deal", limit_days=90), False),
    ("deal since receipt: never", {"received": 300, "deal": 10}, dict(kind="no_deal", limit_days=90), False),
    ("contract ended 16 days ago > 15", {"contract_end": 16}, dict(kind="contract_end", limit_days=15), True),
    ("contract ended 15 days ago", {"contract_end": 15}, dict(kind="contract_end", limit_days=15), False),
    ("contract still running", {"contract_end": -40}, dict(kind="contract_end", limit_days=15), False),
    ("no contract end date", {}, dict(kind="contract_end", limit_days=15), False),
    ("per-grade limit A=60: 45 days kept", {"grade": "A", "received": 45}, dict(kind="no_followup", limit_days=30, by_grade={"A": 60}), False),
    ("per-grade limit A=60: 61 days reclaimed", {"grade": "A", "received": 61}, dict(kind="no_followup", limit_days=30, by_grade={"A": 60}), True),
    ("other grades use limit_days", {"grade": "C", "received": 31}, dict(kind="no_followup", limit_days=30, by_grade={"A": 60}), True),
    ("per-grade 0 = off for that grade", {"grade": "D", "received": 500}, dict(kind="no_followup", limit_days=30, by_grade={"D": 0}), False),
    ("in the pool: never due", {"owner_id": None, "received": 500}, dict(kind="no_followup", limit_days=30), False),
]


@pytest.mark.parametrize("case, row, rule, due", RULE_CASES, ids=[c[0] for c in RULE_CASES])
def test_reclaim_rules(case, row, rule, due):
    c = table([row])
    assert bool(policy(rule).evaluate(c, TODAY)["due"].iloc[0]) is due
    assert len(due_for_reclaim(c, policy(rule), TODAY)) == int(due)


@pytest.mark.parametrize("combine, expected", [("any", [True, True, False]), ("all", [True, False, False])])
def test_rules_combine_with_and_or(combine, expected):
    c = table([{"received": 100, "followup": 40},   # both fire
               {"received": 100, "followup": 5},    # only no_deal fires
               {"received": 20}])                   # neither
    p = policy(dict(kind="no_followup", limit_days=30), dict(kind="no_deal", limit_days=90), combine=combine)
    assert p.evaluate(c, TODAY)["due"].tolist() == expected
    d = due_for_reclaim(c, p, TODAY)
    if combine == "all":
        assert d["rule"].tolist() == ["no_followup>30d & no_deal>90d"]
    else:
        assert d["rule"].tolist() == ["no_followup>30d & no_deal>90d", "no_deal>90d"]


@pytest.mark.parametrize("row, kw, reason", [
    ({"locked": True}, {"exempt_locked": True}, "locked"),
    ({"deal_closed": True}, {"reclaim_closed": False}, "deal_closed"),
    ({"open_opportunities": 2}, {"exempt_open_opportunity": True}, "open_opportunity"),
    ({"followup_plan_active": True}, {"exempt_followup_plan": True}, "followup_plan"),
])
def test_exemptions(row, kw, reason):
    c = table([{**row, "received": 400}])
    rule = dict(kind="no_followup", limit_days=30)
    ev = policy(rule, **kw).evaluate(c, TODAY)
    assert not ev["due"].iloc[0] and ev["exempt"].iloc[0] == reason
    # switched off, the exemption no longer protects the customer
    assert policy(rule).evaluate(c, TODAY)["due"].iloc[0]


def test_closed_customers_reclaimed_when_configured():
    c = table([{"deal_closed": True, "received": 400}])
    p = ReclaimPolicy(rules=[ReclaimRule(kind="no_followup", limit_days=30)], reclaim_closed=True)
    assert p.evaluate(c, TODAY)["due"].iloc[0]


def test_days_until_reclaim_reminder_and_refresh_by_followup():
    c = table([{"received": 200, "followup": 28},   # 3 days left (reclaim on day 31)
               {"received": 200, "followup": 10},   # 21 days left
               {"received": 200, "followup": 31},   # due
               {"received": 200, "locked": True}])  # exempt
    p = policy(dict(kind="no_followup", limit_days=30), exempt_locked=True, remind_days=3)
    d = days_until_reclaim(c, p, TODAY)
    assert d["days_until"].tolist()[:3] == [3, 21, 0]
    assert np.isnan(d["days_until"].iloc[3]) and d["exempt"].iloc[3] == "locked"
    assert d["remind"].tolist() == [True, False, False, False]
    c.loc[0, "last_followup_at"] = TODAY  # a follow-up today resets the clock
    assert days_until_reclaim(c, p, TODAY)["days_until"].iloc[0] == 31


def test_missing_column_is_named():
    c = table([{}]).drop(columns=["contract_end_at"])
    with pytest.raises(KeyError, match=r"\['contract_end_at'\] needed by reclaim rule 'contract_end'"):
        policy(dict(kind="contract_end", limit_days=5)).evaluate(c, TODAY)
    with pytest.raises(KeyError, match="locked"):
        ReclaimPolicy(rules=[ReclaimRule(kind="no_followup", limit_days=5)]).evaluate(
            table([{}]).drop(columns=["locked"]), TODAY)


def test_rule_validation():
    with pytest.raises(ValidationError):
        ReclaimRule(kind="no_followup", limit_days=-1)
    with pytest.raises(ValidationError):
        ReclaimRule(kind="silence", limit_days=3)
    with pytest.raises(ValidationError, match="by_grade"):
        ReclaimRule(kind="no_followup", limit_days=3, by_grade={"A": -2})


POOLS = [Pool(pool_id="north", regions=("north",), teams=("t1",), admins=("boss",),
              claim=ClaimRules(holding_cap=2, daily_claim_cap=2, cooldown_days=7, embargo_days=3)),
         Pool(pool_id="all", admins=("boss",))]
REPS = pd.DataFrame({"rep_id": ["r1", "r2", "r3", "boss"], "team": ["t1", "t1", "t2", "t1"]})


def test_reclaim_moves_to_pool_with_audit_and_pool_for():
    c = table([{"received": 100, "region": "north"}, {"received": 100, "region": "south"},
               {"received": 5}])
    p = policy(dict(kind="no_followup", limit_days=30))
    assert pool_for(c, POOLS).tolist() == ["north", "all", "north"]
    after, audit = reclaim(c, p, TODAY, POOLS)
    assert after["owner_id"].isna().tolist() == [True, True, False]
    assert after["pool_id"].tolist()[:2] == ["north", "all"]
    assert after["previous_owner_id"].tolist()[:2] == ["r1", "r1"]
    assert (after.loc[:1, "entered_pool_at"] == TODAY).all()
    assert audit[["customer_id", "action", "from_owner", "actor"]].values.tolist() == [
        ["c0", "reclaim", "r1", "system"], ["c1", "reclaim", "r1", "system"]]
    assert audit["reason"].tolist() == ["no_followup>30d"] * 2


def pool_table():
    """c0..c5 in pool 'north' (entered 10 days ago, left r1), c6 owned by r2, c7 fresh entry."""
    c = table([{"owner_id": None}] * 6 + [{"owner_id": "r2"}, {"owner_id": None}])
    c["pool_id"] = ["north"] * 6 + [None, "north"]
    c["entered_pool_at"] = [day(10)] * 6 + [None, day(1)]
    c["previous_owner_id"] = ["r1"] * 6 + [None, None]
    c["left_owner_at"] = [day(10)] * 6 + [None, day(1)]
    c["entered_pool_at"] = pd.to_datetime(c["entered_pool_at"])
    c["left_owner_at"] = pd.to_datetime(c["left_owner_at"])
    return c


@pytest.mark.parametrize("requests, reasons", [
    ([("c0", "r2")], [None]),
    ([("zz", "r2")], ["unknown_customer"]),
    ([("c0", "nobody")], ["unknown_rep"]),
    ([("c6", "r1")], ["not_in_pool"]),
    ([("c0", "r3")], ["not_member"]),                 # r3's team t2 is outside the north pool
    ([("c7", "r2")], ["embargo"]),                    # entered 1 day ago, embargo 3 days
    ([("c0", "r1")], ["cooldown"]),                   # r1 lost it 7 days ago (set below): 7 is not > 7
    ([("c0", "r2"), ("c1", "r2")], [None, "holding_cap"]),  # r2 holds c6 already; cap 2
    ([("c0", "r2"), ("c0", "r2")], [None, "not_in_pool"]),
])
def test_claim_refusals(requests, reasons):
    c = pool_table()
    if reasons == ["cooldown"]:
        c["left_owner_at"] = pd.to_datetime([day(7)] * 6 + [None, day(1)])  # 7 days is not > 7
    req = pd.DataFrame(requests, columns=["customer_id", "rep_id"])
    after, res, audit, counts = claim(c, REPS, POOLS, req, TODAY)
    assert [None if pd.isna(r) else r for r in res["reason"]] == reasons
    assert set(res["reason"].dropna()) <= set(REFUSALS)
    ok = res[res["ok"]]
    for cid, rid in zip(ok["customer_id"], ok["rep_id"]):
        row = after[after["customer_id"] == cid].iloc[0]
        assert row["owner_id"] == rid and row["received_at"] == TODAY and pd.isna(row["pool_id"])
    assert len(audit) == len(ok) and (audit["action"] == "claim").all()


def reasons(res):
    return [None if pd.isna(r) else r for r in res["reason"]]


def test_cooldown_passes_after_the_limit_and_daily_cap_counts_earlier_claims():
    c = pool_table()
    req = pd.DataFrame([("c0", "r1")], columns=["customer_id", "rep_id"])
    _, res, _, _ = claim(c, REPS, POOLS, req, TODAY)  # left r1 10 days ago: 10 > 7
    assert res["ok"].tolist() == [True]
    c.loc[6, "owner_id"] = "r3"  # r1 holds nothing, cap 2 is not the limit here
    req = pd.DataFrame([("c0", "r1"), ("c1", "r1")], columns=["customer_id", "rep_id"])
    _, res, _, counts = claim(c, REPS, POOLS, req, TODAY, claimed_today={"r1": 1})
    assert reasons(res) == [None, "daily_cap"]
    assert counts["r1"] == 2


def test_daily_cap_distinct_from_holding_cap():
    pools = [Pool(pool_id="north", claim=ClaimRules(daily_claim_cap=1))]
    c = pool_table()
    req = pd.DataFrame([("c0", "r2"), ("c1", "r2")], columns=["customer_id", "rep_id"])
    _, res, _, _ = claim(c, REPS, pools, req, TODAY)
    assert reasons(res) == [None, "daily_cap"]


def test_holding_cap_can_ignore_closed_customers():
    c = pool_table()
    c.loc[6, "deal_closed"] = True  # r2's customer has a deal
    strict = [Pool(pool_id="north", claim=ClaimRules(holding_cap=1))]
    loose = [Pool(pool_id="north", claim=ClaimRules(holding_cap=1, cap_counts_closed=False))]
    req = pd.DataFrame([("c0", "r2")], columns=["customer_id", "rep_id"])
    assert claim(c, REPS, strict, req, TODAY)[1]["reason"].tolist() == ["holding_cap"]
    assert claim(c, REPS, loose, req, TODAY)[1]["ok"].tolist() == [True]


def test_admin_assign_skips_embargo_and_caps_but_needs_admin():
    c = pool_table()
    req = pd.DataFrame([("c7", "r3", "boss"), ("c0", "r2", "r1"), ("c6", "r1", "boss")],
                       columns=["customer_id", "rep_id", "admin_id"])
    after, res, audit = assign(c, REPS, POOLS, req, TODAY)
    assert [None if pd.isna(r) else r for r in res["reason"]] == [None, "not_admin", "not_in_pool"]
    assert after.loc[7, "owner_id"] == "r3"
    assert audit[["customer_id", "action", "to_owner", "actor"]].values.tolist() == [["c7", "assign", "r3", "boss"]]


# --- batch claims, claims per calendar day, refusal details, per-rule exemptions (issue 20) ---
# All-or-nothing follows yudao-cloud / ruoyi-vue-pro CrmCustomerServiceImpl.receiveCustomer: every
# customer of the request is checked, then `nowCount + newCount > maxCount` refuses the request as
# a whole (one transaction). r2 holds c6; cap 2 leaves room for 1.
AON = [Pool(pool_id="north", claim=ClaimRules(holding_cap=2, batch="all_or_nothing"))]


@pytest.mark.parametrize("requests, pools, reasons", [
    # per customer: the first fits, the second reaches the cap
    ([("c0", "r2"), ("c1", "r2")], [Pool(pool_id="north", claim=ClaimRules(holding_cap=2))], [None, "holding_cap"]),
    # all or nothing: 1 held + 2 asked > 2 -> the whole request is refused
    ([("c0", "r2"), ("c1", "r2")], AON, ["batch", "holding_cap"]),
    # all or nothing, 1 held + 1 asked = 2: granted
    ([("c0", "r2")], AON, [None]),
    # all or nothing: one customer not in the pool refuses the others of the request
    ([("c0", "r2"), ("c6", "r2")], AON, ["batch", "not_in_pool"]),
    # batches are per rep: r1's request (holding nothing) is not refused with r2's
    ([("c0", "r2"), ("c1", "r2"), ("c2", "r1"), ("c3", "r1")], AON, ["batch", "holding_cap", None, None]),
    # an unknown rep's request does not use up another's room, nor a known rep's
    ([("c0", "nobody"), ("c1", "r2")], [Pool(pool_id="north", claim=ClaimRules(holding_cap=2))], ["unknown_rep", None]),
])
def test_batch_claims(requests, pools, reasons):
    req = pd.DataFrame(requests, columns=["customer_id", "rep_id"])
    out = claim(pool_table(), REPS, pools, req, TODAY)
    assert [None if pd.isna(r) else r for r in out.results["reason"]] == reasons
    assert out.results["ok"].sum() == len(out.audit)


def test_batch_id_groups_requests_and_is_refused_whole():
    req = pd.DataFrame([("c0", "r1", "a"), ("c1", "r1", "b"), ("c2", "r1", "b")],
                       columns=["customer_id", "rep_id", "batch_id"])
    pools = [Pool(pool_id="north", claim=ClaimRules(holding_cap=2, batch="all_or_nothing"))]
    out = claim(pool_table(), REPS, pools, req, TODAY)   # r1 holds 0: batch a (1) fits, batch b (+2 = 3) not
    assert reasons(out.results) == [None, "batch", "holding_cap"]


def test_daily_cap_counts_claims_of_the_calendar_day_from_the_audit_log():
    pools = [Pool(pool_id="north", claim=ClaimRules(daily_claim_cap=2))]
    c = pool_table()
    one = lambda cid: pd.DataFrame({"customer_id": [cid], "rep_id": ["r1"]})  # noqa: E731
    a = claim(c, REPS, pools, one("c0"), TODAY)
    b = claim(a.customers, REPS, pools, one("c1"), TODAY + pd.Timedelta(hours=15), audit=a.audit)
    cc = claim(b.customers, REPS, pools, one("c2"), TODAY, audit=b.audit)
    assert reasons(b.results) == [None] and reasons(cc.results) == ["daily_cap"]
    assert cc.claimed_today == {"r1": 2} and len(cc.audit) == 2
    # the next day the count starts again
    d = claim(b.customers, REPS, pools, one("c2"), TODAY + pd.Timedelta(days=1), audit=b.audit)
    assert reasons(d.results) == [None] and d.claimed_today == {"r1": 1}


def test_refusals_say_when_the_embargo_and_the_cooldown_end():
    c = pool_table()    # c7 entered 1 day ago (embargo 3 days); r1 left c0..c5 7 days ago (cooldown 7)
    c["left_owner_at"] = pd.to_datetime([day(7)] * 6 + [None, day(1)])
    req = pd.DataFrame([("c7", "r2"), ("c0", "r1")], columns=["customer_id", "rep_id"])
    res = claim(c, REPS, POOLS, req, TODAY).results
    assert reasons(res) == ["embargo", "cooldown"]
    # embargo: claimable once 3 days in the pool, i.e. 2 days from today; cooldown: 7 is not > 7,
    # 8 is -> 1 day from today
    assert res["available_from"].tolist() == [TODAY + pd.Timedelta(days=2), TODAY + pd.Timedelta(days=1)]
    assert "2025-07-02" in res["detail"].iloc[0] and "2025-07-01" in res["detail"].iloc[1]
    later = claim(c, REPS, POOLS, req, res["available_from"].max()).results
    assert later["ok"].tolist() == [True, True]


def test_claim_clears_the_pool_entry_and_reclaim_sets_it():
    c = pool_table()
    out = claim(c, REPS, POOLS, pd.DataFrame({"customer_id": ["c0"], "rep_id": ["r2"]}), TODAY).customers
    row = out.loc[0]
    assert row["owner_id"] == "r2" and pd.isna(row["pool_id"]) and pd.isna(row["entered_pool_at"])
    assert row["previous_owner_id"] == "r1"      # kept: the cooldown reads it
    p = policy(dict(kind="no_followup", limit_days=30))
    back, _ = reclaim(out, p, TODAY + pd.Timedelta(days=40), POOLS)
    assert back.loc[0, "entered_pool_at"] == TODAY + pd.Timedelta(days=40)
    assert back.loc[0, "previous_owner_id"] == "r2" and back.loc[0, "pool_id"] == "north"


def test_interleaved_requests_of_one_customer_first_come_first_served():
    req = pd.DataFrame([("c0", "r2"), ("c0", "r1"), ("c1", "r1")], columns=["customer_id", "rep_id"])
    c = pool_table()
    c["left_owner_at"] = pd.to_datetime([day(20)] * 6 + [None, day(1)])
    res = claim(c, REPS, [Pool(pool_id="north", claim=ClaimRules(holding_cap=1))], req, TODAY).results
    # r2 holds c6 already (cap 1): refused; so c0 is still free for r1, who then reaches the cap
    assert reasons(res) == ["holding_cap", None, "holding_cap"]


@pytest.mark.parametrize("row, skip, due", [
    ({"received": 100, "opportunity": 150}, ("any_opportunity",), False),   # a lost/old opportunity
    ({"received": 100, "opportunity": 150}, (), True),
    ({"received": 100, "open_opportunities": 1}, ("any_opportunity",), False),
    ({"received": 100, "open_opportunities": 1}, ("open_opportunity",), False),
    ({"received": 100, "opportunity": 150}, ("open_opportunity",), True),
    ({"received": 100, "deal_closed": True}, ("deal_closed",), False),
])
def test_a_rule_can_skip_customers_with_an_opportunity_of_any_status(row, skip, due):
    c = table([row])
    p = policy(dict(kind="no_followup", limit_days=30, skip_if=skip), dict(kind="no_deal", limit_days=0))
    ev = p.evaluate(c, TODAY)
    assert bool(ev["due"].iloc[0]) is due
    assert bool(np.isnan(ev["days_until"].iloc[0])) is (not due)


def test_skip_if_applies_to_its_rule_only():
    c = table([{"received": 100, "opportunity": 150}])
    p = policy(dict(kind="no_followup", limit_days=30, skip_if=("any_opportunity",)),
               dict(kind="no_deal", limit_days=90))
    assert due_for_reclaim(c, p, TODAY)["rule"].tolist() == ["no_deal>90d"]


def test_days_until_convention_one_means_tomorrow():
    c = table([{"received": 200, "followup": 30}])          # 30 days silent, limit 30: not yet
    p = policy(dict(kind="no_followup", limit_days=30))
    assert days_until_reclaim(c, p, TODAY)["days_until"].iloc[0] == 1
    assert due_for_reclaim(c, p, TODAY + pd.Timedelta(days=1))["customer_id"].tolist() == ["c0"]


def test_claim_names_missing_request_columns_and_repeated_ids():
    with pytest.raises(KeyError, match="rep_id"):
        claim(pool_table(), REPS, POOLS, pd.DataFrame({"customer_id": ["c0"]}), TODAY)
    c = pool_table()
    c.loc[1, "customer_id"] = "c0"
    with pytest.raises(ValueError, match="unique"):
        claim(c, REPS, POOLS, pd.DataFrame({"customer_id": ["c0"], "rep_id": ["r2"]}), TODAY)


def test_grant_codes_are_the_grant_reasons():
    from crmsim.customers.pool import REFUSALS

    rng = np.random.default_rng(2)
    for trial in range(40):
        n = int(rng.integers(1, 25))
        rules = ClaimRules(holding_cap=int(rng.integers(0, 6)), daily_claim_cap=int(rng.integers(0, 4)),
                           cooldown_days=int(rng.integers(0, 5)), embargo_days=int(rng.integers(0, 4)),
                           batch=("per_customer", "all_or_nothing")[trial % 2])
        cand = {"in_pool": rng.random(n) < 0.9, "member": float(rng.random() < 0.9),
                "days_in_pool": np.where(rng.random(n) < 0.1, np.nan, rng.integers(0, 6, n)),
                "former_owner": rng.random(n) < 0.3, "days_since_left": rng.integers(0, 8, n).astype(float)}
        kw = {"held": int(rng.integers(0, 5)), "claimed_today": int(rng.integers(0, 3)), "admin": trial % 5 == 0}
        codes = rules.grant_codes(cand, **kw)
        labels = [None if c == 0 else REFUSALS[c - 1] for c in codes]
        assert rules.grant(cand, **kw).tolist() == labels


def test_reclaim_rules_read_a_column_view_with_its_own_day_zero():
    """A simulation passes its day numbers (days since its start) with origin = its start day."""
    from crmsim.customers.pool import CustomerColumns
    from crmsim.tables import day_number

    start = day_number("2025-01-06")
    received, last = np.array([0.0, 0.0, np.nan]), np.array([10.0, 3.0, np.nan])
    view = CustomerColumns(3, dates={"received_at": received, "last_followup_at": last},
                           owned=[True, True, True], origin=start)
    table = pd.DataFrame({"owner_id": ["r"] * 3, "received_at": pd.to_datetime(["2025-01-06", "2025-01-06", None]),
                          "last_followup_at": pd.to_datetime(["2025-01-16", "2025-01-09", None])})
    rule = ReclaimRule(kind="no_followup", limit_days=20)
    for today in ("2025-02-03", "2025-02-06"):
        assert rule.fires(view, today).tolist() == rule.fires(table, today).tolist()
        assert rule.days_until(view, today).fillna(-99).tolist() == rule.days_until(table, today).fillna(-99).tolist()
    assert rule.fires(view, "2025-02-06").tolist() == [True, True, False]
