import numpy as np
import pandas as pd
import pytest

from crmsim.customers.grading import (
    Tier,
    TierRules,
    abc_classes,
    potential_value_matrix,
    rfm_scores,
)
from crmsim.customers.profile import customer_profile


def test_abc_pareto_shares():
    v = pd.Series([5.0, 50.0, 1.0, 30.0, 15.0, 0.0], index=list("abcdef"))
    # shares before each (sorted): b 0, d .50, e .79, a .94, c .99, f .99 -> A A A B C C
    assert abc_classes(v).to_dict() == {"a": "B", "b": "A", "c": "C", "d": "A", "e": "A", "f": "C"}
    with pytest.raises(ValueError, match="negative"):
        abc_classes(pd.Series([1.0, -2.0]))


def test_rfm_scores_best_is_5():
    r = rfm_scores(pd.Series([1, 100, 50, 10, 5]), pd.Series([9, 1, 2, 5, 3]),
                   pd.Series([900.0, 10, 20, 500, 30]))
    assert r["R"].tolist() == [5, 1, 2, 3, 4]
    assert r["F"].tolist() == [5, 1, 2, 4, 3]
    assert r.loc[0, "rfm"] == "555"


def test_potential_value_matrix():
    q = potential_value_matrix(pd.Series([1, 9, 9, 1]), pd.Series([9, 9, 1, 1]), potential_cut=5, value_cut=5)
    assert q.tolist() == ["maintain", "key", "develop", "serve"]


def test_tiers_first_match_wins():
    rules = TierRules(tiers=[
        Tier(name="key", when=[{"field": "abc", "op": "eq", "value": "A"}], visit_every_days=14,
             reclaim_limit_days=90),
        Tier(name="growth", when=[{"field": "quadrant", "op": "eq", "value": "develop"}],
             visit_every_days=21, reclaim_limit_days=45),
    ])
    t = rules.assign(pd.DataFrame({"abc": ["A", "B", "A", "C"],
                                   "quadrant": ["develop", "develop", "serve", "serve"]}))
    assert t["tier"].tolist() == ["key", "growth", "key", "standard"]
    assert t["reclaim_limit_days"].tolist() == [90, 45, 90, 30]


def test_profile_from_all_tables():
    today = pd.Timestamp("2025-06-30")
    c = pd.DataFrame({"customer_id": ["c1", "c2", "c3"],
                      "last_followup_at": pd.to_datetime(["2025-06-20", None, None])})
    opp = pd.DataFrame({"opportunity_id": ["o1", "o2", "o3", "o4"], "customer_id": ["c1", "c1", "c2", "x9"],
                        "stage": ["won", "propose", "lost", "won"],
                        "created_at": pd.to_datetime(["2025-01-01", "2025-05-01", "2025-02-01", "2025-01-01"]),
                        "expected_close": pd.to_datetime(["2025-02-01", None, None, None]),
                        "amount": [1000.0, 500.0, 300.0, 1.0]})
    orders = pd.DataFrame({"order_id": ["d1"], "customer_id": ["c3"], "ordered_at": pd.to_datetime(["2025-04-01"]),
                           "amount": [250.0]})
    act = pd.DataFrame({"customer_id": ["c2", "c2", "c1"],
                        "t": pd.to_datetime(["2025-06-25", "2025-04-15", "2025-01-01"])})
    tk = pd.DataFrame({"ticket_id": ["t1", "t2"], "customer_id": ["c1", "c1"],
                       "opened_at": pd.to_datetime(["2025-06-01", "2025-06-02"]),
                       "closed_at": pd.to_datetime(["2025-06-03", None])})
    p = customer_profile(c, today=today, opportunities=opp, orders=orders, activities=act, tickets=tk)
    assert p["revenue"].tolist() == [1000.0, 0.0, 250.0]
    assert p["deals"].tolist() == [1, 0, 1]
    assert p["open_opportunities"].tolist() == [1, 0, 0]
    assert p["last_followup_at"].tolist() == [pd.Timestamp("2025-06-20"), pd.Timestamp("2025-06-25"), pd.NaT]
    assert p["followups_30d"].tolist() == [0, 1, 0] and p["followups_90d"].tolist() == [0, 2, 0]
    assert p["tickets"].tolist() == [2, 0, 0] and p["open_tickets"].tolist() == [1, 0, 0]
    assert p["days_silent"].iloc[0] == 10 and np.isnan(p["days_silent"].iloc[2])
    assert p.attrs["unmatched"] == {"opportunities": 1}
    with pytest.raises(KeyError, match=r"orders: missing column\(s\) \['amount'\]"):
        customer_profile(c, today=today, orders=orders.drop(columns=["amount"]))
