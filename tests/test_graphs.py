import networkx as nx
import numpy as np
import pandas as pd
import pytest

from crmsim import synth
from crmsim.graphs import (
    AccountPlan,
    AccountTeam,
    Action,
    DecisionModel,
    OrgError,
    SurveyPolicy,
    TeamMember,
    apply_actions,
    available_credit,
    fj_equilibrium,
    friedkin_johnsen,
    group_of,
    independent_cascade,
    nps,
    org_tree,
    plan_vs_activity,
    power_map,
    recommend,
    rollup,
    single_points_of_failure,
    survey_sla,
    who_decides,
)

ENT = pd.DataFrame({"entity_id": ["G", "A", "B", "A1", "A2", "H"],
                    "parent_id": [None, "G", "G", "A", "A", None]})


def test_rollup_on_a_known_tree_and_groups():
    t = org_tree(ENT)
    r = rollup(t, {"G": 1, "A": 10, "B": 100, "A1": 1000, "A2": 10000, "H": 5})
    assert r.to_dict() == {"G": 11111, "A": 11010, "B": 100, "A1": 1000, "A2": 10000, "H": 5}
    assert rollup(t, {"A1": 7, "B": 9}, how="max")["G"] == 9
    assert group_of(t).to_dict() == {"G": "G", "A": "G", "B": "G", "A1": "G", "A2": "G", "H": "H"}


def test_org_errors_name_the_problem():
    cyc = pd.DataFrame({"entity_id": ["x", "y", "z"], "parent_id": ["z", "x", "y"]})
    with pytest.raises(OrgError, match="cycle: x -> y -> z -> x|cycle: y -> z -> x -> y|cycle: z -> x -> y -> z"):
        org_tree(cyc)
    with pytest.raises(OrgError, match=r"unknown parent_id for: \['y -> nope'\]"):
        org_tree(pd.DataFrame({"entity_id": ["x", "y"], "parent_id": [None, "nope"]}))
    with pytest.raises(OrgError, match="duplicate entity_id"):
        org_tree(pd.DataFrame({"entity_id": ["x", "x"], "parent_id": [None, None]}))


def test_group_credit_limit_shared_by_subsidiaries():
    t = org_tree(ENT)
    av = available_credit(t, limits={"G": 1000, "A": 600}, exposure={"A1": 300, "A2": 200, "B": 400})
    # A's own limit leaves 600 - 500 = 100; the group's 1000 - 900 = 100 too: a tie binds at A
    assert av.loc["A1", "headroom"] == 100 and av.loc["A1", "binding"] == "A"
    assert av.loc["B", "headroom"] == 100
    assert av.loc["B", "binding"] == "G" and np.isinf(av.loc["H", "headroom"])


def small_map(seed):
    c, e = synth.buying_centre(10, seed=seed)
    return power_map(c, e)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_friedkin_johnsen_converges_to_its_closed_form(seed):
    g = small_map(seed)
    traj = friedkin_johnsen(g, steps=2000, tol=1e-13)
    eq = fj_equilibrium(g)
    assert np.allclose(traj.iloc[:, -1].to_numpy(), eq.to_numpy(), atol=1e-9)
    # fully stubborn contacts never move
    h = g.copy()
    nx.set_node_attributes(h, 1.0, "stubbornness")
    assert np.allclose(fj_equilibrium(h).to_numpy(), [h.nodes[n]["attitude"] for n in h.nodes])


def test_independent_cascade_seeded_and_extremes():
    g = small_map(5)
    a = independent_cascade(g, ["P00"], runs=300, seed=9)
    b = independent_cascade(g, ["P00"], runs=300, seed=9)
    assert a.equals(b) and a["P00"] == 1.0
    chain = nx.DiGraph()
    chain.add_edge("a", "b", weight=1.0)
    chain.add_edge("b", "c", weight=1.0)
    chain.add_edge("c", "d", weight=0.0)
    p = independent_cascade(chain, ["a"], runs=50, seed=1)
    assert p.to_dict() == {"a": 1.0, "b": 1.0, "c": 1.0, "d": 0.0}


def test_recommendation_beats_random_plans():
    rng = np.random.default_rng(0)
    model = DecisionModel()
    wins = 0
    for seed in range(8):
        g = small_map(100 + seed)
        rec = recommend(g, 3, model=model)
        assert rec.p_win[-1] >= rec.p_win[0] and len(rec.plan) == 3
        randoms = [model.p_win(apply_actions(g, [Action(kind="meeting", contact=str(n))
                                                 for n in rng.choice(list(g.nodes), 3)])) for _ in range(20)]
        assert rec.p_win[-1] >= max(randoms) - 1e-9
        wins += rec.p_win[-1] > np.mean(randoms)
    assert wins == 8


def test_who_decides_spof_and_validation():
    c = pd.DataFrame({"contact_id": ["boss", "eval", "coach", "user"],
                      "role": ["decision_maker", "technical_evaluator", "coach", "user"],
                      "power": [1.0, 0.5, 0.3, 0.1], "attitude": [0.0, 0.2, 0.8, -0.2],
                      "relationship": [0.1, 0.2, 0.9, 0.1]})
    e = pd.DataFrame({"source": ["eval", "coach", "user", "boss"], "target": ["boss", "eval", "eval", "eval"],
                      "weight": [0.4, 0.5, 0.2, 0.5]})
    g = power_map(c, e)
    assert who_decides(g).index[0] == "boss"
    spof = single_points_of_failure(g)
    assert spof.loc[0, "through"] == ["eval", "coach"]  # our only line: coach -> eval -> boss
    with pytest.raises(ValueError, match="attitude must be in"):
        power_map(c.assign(attitude=[0, 0, 2, 0]), e)
    with pytest.raises(ValueError, match="unknown role"):
        power_map(c.assign(role=["ceo", "user", "user", "user"]), e)
    h = apply_actions(g, [Action(kind="sponsor", contact="coach")])
    assert h.has_edge("coach", "boss")


def test_account_team_plan_and_voice_of_customer():
    team = AccountTeam(account_id="G", members=[TeamMember(person="ann", role="account_manager"),
                                                 TeamMember(person="bo", role="solution_manager"),
                                                 TeamMember(person="cy", role="solution_manager")])
    assert team.gaps() == ["missing role: fulfilment_manager", "missing customer sponsor",
                           "role held twice: solution_manager"]
    assert team.owner_at("won") == "fulfilment_manager" and team.owner_at("qualify") == "solution_manager"
    assert team.owner_at("propose") == "solution_manager" and team.owner_at("negotiate") == "account_manager"
    acts = pd.DataFrame({"account_id": ["G", "G", "G", "H"], "kind": ["visit", "visit", "executive", "visit"],
                         "t": pd.to_datetime(["2025-01-05", "2025-01-20", "2025-02-01", "2025-03-01"])})
    pv = plan_vs_activity([AccountPlan(account_id="G", visit_every_days=14, executive_every_days=90),
                           AccountPlan(account_id="H")], acts, start="2025-01-01", end="2025-03-01").set_index("account_id")
    assert pv.loc["G", "visits_done"] == 2 and pv.loc["G", "visit_gap"] == pytest.approx(59 / 14 - 2)
    assert not pv.loc["G", "on_plan"] and pv.loc["G", "days_since_contact"] == 28
    s = pd.DataFrame({"account_id": ["G", "G", "H"],
                      "sent_at": pd.to_datetime(["2025-01-01", "2025-03-01", "2024-06-01"]),
                      "answered_at": pd.to_datetime(["2025-01-05", None, "2024-06-05"]),
                      "score": [4, None, 10], "followed_up_at": pd.to_datetime([None, None, None])})
    sla = survey_sla(s, SurveyPolicy(), accounts=["G", "H"], now="2025-03-31").set_index("account_id")
    assert sla.loc["G", "breaches"] == ["unanswered", "low_score_no_follow_up"]
    assert sla.loc["H", "breaches"] == ["not_sent"]
    n = nps(s).set_index("account_id")
    assert n.loc["G", "nps"] == -100 and n.loc["H", "nps"] == 100
