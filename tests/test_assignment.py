import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmsim.conditions import Condition
from crmsim.leads.assignment import AssignmentRule, Route

REPS = pd.DataFrame({"rep_id": ["r1", "r2", "r3"], "region": ["north", "south", "north"],
                     "tier": [1, 2, 2], "capacity": [2, 2, 1]})


def leads(n, **cols):
    return pd.DataFrame({"lead_id": [f"L{k}" for k in range(n)], **cols})


def test_capacity_with_carry_over_and_unassigned_reason():
    rule = AssignmentRule(policy="least_loaded")
    res, left = rule.assign_table(leads(7), REPS, seed=1)
    assert res["owner_id"].value_counts().to_dict() == {"r1": 2, "r2": 2, "r3": 1}
    assert res["reason"].tolist().count("capacity_full") == 2
    assert left == {"r1": 0, "r2": 0, "r3": 0}
    res, left = rule.assign_table(leads(2), REPS, seed=1)
    assert left == {"r1": 1, "r2": 1, "r3": 1}
    res2, left2 = rule.assign_table(leads(8), REPS, carried=left, seed=1)
    assert res2["owner_id"].notna().sum() == 5 + sum(left.values())  # capacity plus carry-over
    _, none_left = AssignmentRule(policy="least_loaded", carry_over=False).assign_table(leads(1), REPS)
    assert none_left == {}


def test_territory_routes_and_preferred_accounts():
    rule = AssignmentRule(policy="least_loaded", routes=[
        Route(when=[{"field": "vip", "op": "eq", "value": True}], reps=["r2"]),
        Route(when=[{"field": "region", "op": "not_null"}], match=["region"]),
    ])
    ld = leads(4, region=["south", "north", "east", None], vip=[False, False, False, True],
               company_norm=["Acme", "Foo", "Bar", "Baz"])
    res, _ = rule.assign_table(ld, REPS.drop(columns="capacity"), accounts={"Foo": "r2"}, seed=3)
    assert res["owner_id"].tolist()[0] == "r2" and res["reason"].tolist()[0] == "route:1"
    assert res["owner_id"].tolist()[1] == "r2" and res["reason"].tolist()[1] == "preferred_account"
    assert pd.isna(res["owner_id"].tolist()[2]) and res["reason"].tolist()[2] == "no_eligible_rep"
    assert res["owner_id"].tolist()[3] == "r2" and res["reason"].tolist()[3] == "route:0"


def test_score_tiered_sends_best_leads_to_best_reps():
    ld = leads(6, score=[90, 10, 80, 20, 70, 30])
    res, _ = AssignmentRule(policy="score_tiered").assign_table(ld, REPS.drop(columns="capacity"), seed=0)
    assert res.loc[[0, 2, 4], "owner_id"].tolist() == ["r1", "r1", "r1"]
    assert set(res.loc[[1, 3, 5], "owner_id"]) <= {"r2", "r3"}


def test_seeded_tie_breaks():
    rule = AssignmentRule(policy="least_loaded", tie_break="random")
    a = rule.assign_table(leads(1), REPS, seed=5)[0]
    b = rule.assign_table(leads(1), REPS, seed=5)[0]
    assert a.equals(b)
    owners = {rule.assign_table(leads(1), REPS, seed=s)[0]["owner_id"].item() for s in range(20)}
    assert len(owners) > 1  # ties are not always broken the same way


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(0, 4), min_size=1, max_size=6), st.integers(0, 30),
       st.sampled_from(["round_robin", "least_loaded", "score_tiered"]), st.integers(0, 99))
def test_never_exceeds_capacity(caps, n_leads, policy, seed):
    reps = pd.DataFrame({"rep_id": [f"r{k}" for k in range(len(caps))], "capacity": caps,
                         "tier": [1 + k % 2 for k in range(len(caps))]})
    ld = leads(n_leads, score=np.arange(n_leads, dtype=float))
    res, left = AssignmentRule(policy=policy).assign_table(ld, reps, seed=seed)
    got = res["owner_id"].value_counts()
    for r, c in zip(reps["rep_id"], caps):
        assert got.get(r, 0) <= c
    assert res["owner_id"].notna().sum() == min(n_leads, sum(caps))
    assert (res.loc[res["owner_id"].isna(), "reason"] == "capacity_full").all()


def test_recall_then_reassign_to_another_rep():
    from crmsim.leads.lifecycle import RecallRule

    ld = pd.DataFrame({"lead_id": ["a", "b"], "owner_id": ["r1", "r2"],
                       "assigned_at": pd.to_datetime(["2025-03-03 09:00", "2025-03-04 09:00"]),
                       "first_contact_at": pd.to_datetime([None, None])})
    due = RecallRule(max_working_hours=8, calendar={"hours_per_day": 8, "start_hour": 9}).due(ld, "2025-03-04 10:00")
    assert due.tolist() == [True, False]  # a waited 9 working hours, b 1
    recalled = ld[due].rename(columns={"owner_id": "previous_owner"})
    res, _ = AssignmentRule(policy="least_loaded").assign_table(recalled, REPS.drop(columns="capacity"),
                                                               open_leads={"r2": 5, "r3": 5})
    assert res["owner_id"].tolist() == ["r2"]  # r1 is the least loaded but lost this lead


def test_funnel_rejects_rules_it_cannot_simulate():
    from pydantic import ValidationError

    from crmsim.sim.funnel import FunnelConfig

    with pytest.raises(ValidationError, match="supports round_robin"):
        FunnelConfig(reps={"count": 2}, assignment={"policy": "score_tiered"})


# --- assignment as Odoo runs it: daily quota, soft preferences, eligibility, a rotation that goes on

def test_odoo_daily_quota_caps_each_rep():
    from crmsim.leads.assignment import daily_quota

    # Odoo crm.team.member._get_assignment_quota: float_round(assignment_max / 30, HALF-UP) - leads of the last 24 h
    assert daily_quota(np.array([30, 45, 44, 100]), np.array([0, 0, 0, 2])).tolist() == [1, 2, 1, 1]
    assert daily_quota(np.array([100]), np.array([2]), force=True).tolist() == [3]
    reps = pd.DataFrame({"rep_id": ["r1", "r2"], "monthly_capacity": [60, 30], "received_24h": [0, 1]})
    leads = pd.DataFrame({"lead_id": list("abcd")})
    res, _ = AssignmentRule(policy="round_robin", quota="daily").assign_table(leads, reps)
    assert res["owner_id"].tolist()[:2] == ["r1", "r1"] and res["reason"].tolist()[2:] == ["quota_reached"] * 2
    forced, _ = AssignmentRule(policy="round_robin", quota="daily", force_quota=True).assign_table(leads, reps)
    assert forced["owner_id"].tolist()[:3] == ["r1", "r2", "r1"]


def test_a_preferred_route_is_soft_and_overflows():
    reps = pd.DataFrame({"rep_id": ["r1", "r2", "r3"], "capacity": [1, 5, 5]})
    leads = pd.DataFrame({"lead_id": list("abc"), "country": ["BE", "BE", "FR"]})
    route = Route(when=(Condition(field="country", op="eq", value="BE"),), reps=("r1",), preferred=True)
    res, _ = AssignmentRule(policy="least_loaded", routes=(route,)).assign_table(leads, reps)
    assert res["owner_id"].tolist() == ["r1", "r2", "r3"]
    assert res["reason"].tolist() == ["route:0", "overflow:0", "policy"]
    hard = Route(when=route.when, reps=("r1",))
    res, _ = AssignmentRule(policy="least_loaded", routes=(hard,)).assign_table(leads, reps)
    assert res["reason"].tolist() == ["route:0", "capacity_full", "policy"]


def test_won_lost_archived_and_owned_leads_are_not_eligible_unless_asked():
    reps = pd.DataFrame({"rep_id": ["r1", "r2"]})
    leads = pd.DataFrame({"lead_id": list("abcde"), "stage": ["new", "won", "lost", "new", "new"],
                          "active": [True, True, True, False, True], "owner_id": [None, None, None, None, "r9"]})
    res, _ = AssignmentRule().assign_table(leads, reps)
    assert res["reason"].tolist() == ["policy", "not_eligible: won", "not_eligible: lost", "not_eligible: archived",
                                      "not_eligible: owned"]
    res, _ = AssignmentRule(reassign_owned=True, skip_stages=()).assign_table(leads, reps)
    assert res["reason"].tolist().count("policy") == 4         # the archived lead stays out


def test_the_round_robin_goes_on_across_calls():
    reps = pd.DataFrame({"rep_id": ["r1", "r2", "r3"]})
    rule = AssignmentRule(policy="round_robin")
    first, _ = rule.assign_table(pd.DataFrame({"lead_id": ["a", "b"]}), reps)
    assert first["owner_id"].tolist() == ["r1", "r2"] and first.attrs["last_rep"] == "r2"
    second, _ = rule.assign_table(pd.DataFrame({"lead_id": ["c", "d"]}), reps, start_after=first.attrs["last_rep"])
    assert second["owner_id"].tolist() == ["r3", "r1"]


def test_a_rep_who_opted_out_gets_no_lead():
    reps = pd.DataFrame({"rep_id": ["r1", "r2"], "assignment_optout": ["yes", ""]})
    res, _ = AssignmentRule(policy="round_robin").assign_table(pd.DataFrame({"lead_id": list("abc")}), reps)
    assert res["owner_id"].tolist() == ["r2", "r2", "r2"]
    res, _ = AssignmentRule().assign_table(pd.DataFrame({"lead_id": ["a"]}), reps.assign(assignment_optout=True))
    assert res["reason"].tolist() == ["no_eligible_rep"]
