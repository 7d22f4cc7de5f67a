import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from crmsim.conditions import Condition
from crmsim.leads.assignment import SHARED, AssignmentRule
from crmsim.leads.lifecycle import RecycleRule, ResponseCurve
from crmsim.leads.metrics import funnel_metrics
from crmsim.leads.scoring import PointsRule, ScoringRule

DF = pd.DataFrame({"channel": ["ads", "search", None, "events"], "n": [1, 5, 3, np.nan]})


@pytest.mark.parametrize("field, op, value, expected", [
    ("channel", "eq", "ads", [True, False, False, False]),
    ("channel", "ne", "ads", [False, True, False, True]),
    ("channel", "in", ["ads", "events"], [True, False, False, True]),
    ("channel", "not_in", ["ads"], [False, True, False, True]),
    ("channel", "is_null", None, [False, False, True, False]),
    ("n", "gt", 1, [False, True, True, False]),
    ("n", "le", 3, [True, False, True, False]),
    ("n", "between", [2, 5], [False, True, True, False]),
    ("n", "not_null", None, [True, True, True, False]),
])
def test_conditions(field, op, value, expected):
    assert Condition(field=field, op=op, value=value).evaluate(DF).tolist() == expected
    cat = DF.assign(channel=DF["channel"].astype("category"))   # categories: the same answers
    assert Condition(field=field, op=op, value=value).evaluate(cat).tolist() == expected


def test_condition_errors():
    with pytest.raises(ValidationError, match="needs a list"):
        Condition(field="a", op="in", value="x")
    with pytest.raises(ValidationError):
        Condition(field="a", op="like", value="x")
    with pytest.raises(KeyError, match="no such column"):
        Condition(field="zzz", op="eq", value=1).evaluate(DF)


def test_scoring_table():
    rule = ScoringRule(
        rules=(PointsRule(points=30, when=(Condition(field="n", op="ge", value=3),)),
               PointsRule(points=50, when=(Condition(field="channel", op="eq", value="search"),))),
        grades={"A": 60, "B": 30}, mql_threshold=30,
    )
    out = rule.apply(DF)
    assert out["score"].tolist() == [0, 80, 30, 0]
    assert out["grade"].tolist() == ["D", "A", "B", "D"]
    assert out["mql"].tolist() == [False, True, True, False]


def test_scoring_rejects_unordered_grades():
    with pytest.raises(ValidationError, match="strictly decreasing"):
        ScoringRule(grades={"A": 10, "B": 20})


def test_assignment_policies():
    reps = pd.DataFrame({"rep_id": ["a", "b", "c"]})
    leads = pd.DataFrame({"x": range(5)})
    assert AssignmentRule(policy="round_robin").assign(leads, reps).tolist() == ["a", "b", "c", "a", "b"]
    ll = AssignmentRule(policy="least_loaded").assign(leads, reps, open_leads={"a": 2, "b": 0, "c": 1})
    # ties go to the next rep in turn after the last one chosen
    assert ll.tolist() == ["b", "c", "b", "c", "a"]
    assert AssignmentRule(policy="shared_queue").assigner(3).choose(np.zeros(3)) == SHARED


def test_recycle_rule_strictly_greater_and_timestamps():
    df = pd.DataFrame({"assigned_at": pd.to_datetime(["2025-01-01", "2025-01-02", "2025-01-01"]),
                       "first_contact_at": pd.to_datetime([None, None, "2025-01-02"])})
    due = RecycleRule(max_wait_days=3).due(df, pd.Timestamp("2025-01-05"))
    assert due.tolist() == [True, False, False]  # 4 > 3; 3 is not > 3; contacted
    assert not RecycleRule(max_wait_days=0).due(df, pd.Timestamp("2026-01-01")).any()


def test_response_curve_follows_hbr_points_and_is_monotone():
    c = ResponseCurve()
    h = np.linspace(0, 100, 500)
    m = c.multiplier(h)
    assert (np.diff(m) <= 1e-12).all()
    assert c.multiplier([1, 2, 24]) == pytest.approx([1, 1 / 7, 1 / 60])
    assert ResponseCurve(kind="exponential", half_life_hours=3).multiplier([3]) == pytest.approx([0.5])
    with pytest.raises(ValidationError, match="strictly increasing"):
        ResponseCurve(hours=(2, 1), multiplier=(1, 0.5))


def test_funnel_metrics_on_a_crm_like_history():
    leads = pd.DataFrame({"lead_id": [1, 2, 3, 4], "channel": ["ads", "ads", "email", "email"],
                          "created": [0.0, 1.0, 2.0, 9.0], "cost": [10.0, 10.0, 5.0, 5.0]})
    ev = pd.DataFrame({
        "t": [0.0, 0.5, 1.0, 1.0, 2.0, 2.25, 3.0, 30.0],
        "entity_id": [1, 1, 2, 2, 3, 3, 3, 3],
        "event": ["mql", "contacted", "mql", "contacted", "mql", "contacted", "sql", "won"],
        "value": [np.nan] * 7 + [1000.0],
    })
    m = funnel_metrics(leads, ev, start=0, end=5)
    assert (m["leads"], m["mql"], m["sql"], m["won"]) == (3, 3, 1, 1)
    assert m["leads.ads"] == 2 and m["won.email"] == 1
    assert m["ttfc_mean_h"] == pytest.approx((12 + 0 + 6) / 3)
    assert m["p_wait"] == pytest.approx(2 / 3)
    assert m["marketing_cost"] == 25 and m["cost_per_won"] == 25 and m["revenue"] == 1000


@pytest.mark.parametrize("ids", [[1, 2, 3, 4], [10**12, 7, 3 * 10**9, 5], ["L1", "L2", "L3", "L4"]])
def test_funnel_metrics_read_any_kind_of_lead_id(ids):
    """Dense integer ids (looked up in an array), sparse ones and text ids (hashed) give the same
    metrics; events of leads not in the table are not counted; a repeated lead_id is named."""
    leads = pd.DataFrame({"lead_id": ids, "channel": ["ads", "ads", "email", None],
                          "created": [0.0, 1.0, 2.0, 3.0], "cost": [10.0, 10.0, 5.0, 5.0]})
    stranger = -99 if isinstance(ids[0], int) else "X9"
    ev = pd.DataFrame({"t": [0.0, 0.5, 1.0, 2.0, 2.25, 3.0, 0.1],
                       "entity_id": [ids[0], ids[0], ids[1], ids[2], ids[2], ids[3], stranger],
                       "event": ["mql", "contacted", "mql", "mql", "contacted", "mql", "mql"]})
    m = funnel_metrics(leads, ev)
    assert (m["leads"], m["mql"], m["contacted"], m["mql.ads"], m["mql.email"]) == (3, 3, 2, 2, 1)
    assert m["ttfc_mean_h"] == pytest.approx(9.0)   # 12 h and 6 h
    with pytest.raises(ValueError, match="lead_id.*unique"):
        funnel_metrics(pd.concat([leads, leads.iloc[:1]]), ev)


def test_and_or_points_contains_tags_and_explanation():
    from crmsim.leads.scoring import TagRule

    leads = pd.DataFrame({"lead_id": ["a", "b", "c"], "title": ["Head of IT", "Intern", "CTO"],
                          "channel": ["events", "ads", "search"], "size": [500, 20, 80]})
    rule = ScoringRule(
        rules=[PointsRule(name="decision maker", points=30,
                          any_of=[{"field": "title", "op": "contains", "value": "Head"},
                                  {"field": "title", "op": "==", "value": "CTO"}]),
               PointsRule(points=10, when=[{"field": "size", "op": ">=", "value": 50}],
                          any_of=[{"field": "channel", "op": "in", "value": ["events", "search"]}])],
        tags=[TagRule(tag="enterprise", when=[{"field": "size", "op": ">", "value": 100}])],
        grades={"A": 40, "B": 20}, mql_threshold=30)
    out = rule.apply(leads)
    assert out["score"].tolist() == [40, 0, 40]
    assert out["tags"].tolist() == ["enterprise", "", ""]
    ex = rule.explain(leads)
    assert ex[ex["lead"] == 0]["rule"].tolist() == ["decision maker", "size ge 50 and (channel in ['events', 'search'])"]


def test_behaviour_rules_decay_period_and_cap():
    from crmsim.leads.scoring import BehaviourRule

    now = pd.Timestamp("2025-03-31")
    ev = pd.DataFrame({"lead_id": ["a", "a", "a", "b", "b"],
                       "event": ["visit", "visit", "download", "visit", "visit"],
                       "t": pd.to_datetime(["2025-03-31", "2025-03-24", "2025-03-30", "2025-01-01", "2025-03-31"])})
    leads = pd.DataFrame({"lead_id": ["a", "b", "c"]})
    visits = BehaviourRule(event="visit", points=10, half_life_days=7, period_days=30, cap=12)
    # a: 10 today + 5 (one half-life ago) = 15 -> capped at 12; b: the January visit is out of period
    assert visits.score(leads["lead_id"], ev, now).tolist() == [12.0, 10.0, 0.0]
    rule = ScoringRule(rules=[PointsRule(points=1, when=[{"field": "lead_id", "op": "eq", "value": "c"}])],
                       behaviour=[visits, BehaviourRule(event="download", points=20)])
    assert rule.score(leads, ev, now).tolist() == [32.0, 10.0, 1.0]
    with pytest.raises(ValueError, match="need the lead events table"):
        rule.score(leads)
    with pytest.raises(ValidationError, match="needs 'when' and/or 'any_of'"):
        PointsRule(points=3)


def test_lead_profile_counts_recency_and_tags():
    from crmsim.leads.profile import lead_profile
    from crmsim.leads.scoring import TagRule

    leads = pd.DataFrame({"lead_id": ["a", "b"], "channel": ["search", "ads"],
                          "keywords": ["crm software", None], "campaign": [None, "spring"]})
    ev = pd.DataFrame({"lead_id": ["a", "a", "a", "b"],
                       "event": ["visit", "visit", "email_open", "event_attended"],
                       "t": pd.to_datetime(["2025-03-01", "2025-03-05", "2025-03-06", "2025-02-01"]),
                       "campaign": ["c1", "c1", "c2", None]})
    p = lead_profile(leads, ev, now="2025-03-11",
                     tags=[TagRule(tag="engaged", when=[{"field": "touches", "op": ">=", "value": 3}])])
    assert p["n_visit"].tolist() == [2, 0] and p["n_event_attended"].tolist() == [0, 1]
    assert p["days_since_visit"].iloc[0] == 6 and p["days_since_last_touch"].tolist() == [5.0, 38.0]
    assert p["campaigns"].tolist() == ["c1,c2", "spring"]
    assert p["tags"].tolist() == ["engaged", ""]
    assert p["keywords"].iloc[0] == "crm software"
    with pytest.raises(KeyError, match="events: column 't' missing"):
        lead_profile(leads, ev.drop(columns="t"), now="2025-03-11")
