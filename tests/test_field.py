import numpy as np
import pandas as pd
import pytest

from crmsim.field.checkin import CheckinRules, check_visits, todo_status
from crmsim.field.plans import Cadence, adjust, coverage, plan_visits
from crmsim.field.routes import (
    distance_matrix,
    plan_route,
    read_tsplib,
    read_tsplib_tour,
    tour_length,
)
from crmsim.field.sop import STORE_VISIT


@pytest.mark.parametrize("name, optimum", [("berlin52", 7542), ("eil51", 426), ("att48", 10628)])
def test_tsplib_routes_within_5_percent_of_optimal(root, name, optimum):
    _, _, d = read_tsplib(root / "data" / "tsplib" / f"{name}.tsp")
    assert tour_length(read_tsplib_tour(root / "data" / "tsplib" / f"{name}.opt.tour"), d) == optimum
    r = plan_route(d, speed_per_hour=60, solutions=150)
    length = tour_length([0, *r.order], d)
    gap = length / optimum - 1
    print(f"{name}: {length:.0f} vs optimal {optimum}: gap {gap:.2%}")
    assert sorted(r.order) == list(range(1, len(d)))
    assert gap <= 0.05


def test_time_windows_are_respected():
    pts = np.array([[0, 0], [1, 0], [2, 0], [3, 0], [4, 0]], float)
    d = distance_matrix(pts, "euclidean")
    windows = [(0, 1000), (85, 95), (70, 80), (55, 65), (40, 50)]   # forces the far stop first
    r = plan_route(d, speed_per_hour=6, service_minutes=5, windows=windows)
    assert r.order == [4, 3, 2, 1]
    for node, t in zip(r.order, r.arrival):
        lo, hi = windows[node]
        assert lo <= t <= hi
    assert plan_route(d, speed_per_hour=6, service_minutes=5).order == [1, 2, 3, 4]
    with pytest.raises(ValueError, match="no feasible route"):
        plan_route(d, speed_per_hour=6, windows=[(0, 1000), (0, 5), (0, 1000), (0, 1000), (0, 1000)])
    r = plan_route(d, speed_per_hour=6, windows=[(0, 1000), (0, 5), (0, 1000), (0, 1000), (0, 1000)],
                   allow_drop=True)
    assert r.dropped == [1] and sorted(r.order) == [2, 3, 4]


def test_haversine_known_distance():
    from crmsim.field.routes import haversine_km
    # Shanghai People's Square to the Bund (~2.0 km); Berlin to Paris (~878 km)
    assert haversine_km(31.2304, 121.4737, 31.2400, 121.4900) == pytest.approx(1.9, abs=0.2)
    assert haversine_km(52.52, 13.405, 48.8566, 2.3522) == pytest.approx(878, rel=0.01)


def test_plans_respect_capacity_workdays_and_report_overflow():
    rng = np.random.default_rng(0)
    c = pd.DataFrame({"customer_id": [f"C{i}" for i in range(300)],
                      "grade": rng.choice(list("ABCD"), 300, p=[0.1, 0.2, 0.4, 0.3]),
                      "owner_id": rng.choice(["R1", "R2", "R3"], 300)})
    cad = Cadence(visits_per_day=8)
    plan, overflow = plan_visits(c, cad, start="2025-03-03", days=28)
    assert plan.groupby(["rep_id", "date"]).size().max() <= 8
    assert plan["date"].dt.day_of_week.isin([0, 1, 2, 3, 4]).all()
    assert len(overflow) > 0  # the plan does not fit: reported, not dropped
    assert (plan["kind"] == "accompanied").sum() == 3 * 2  # 2 a month per rep, grade A
    cov = coverage(plan, c, cad, days=28).set_index("grade")
    assert (cov["coverage"] <= 1.01).all()
    relaxed = adjust(cad, cov.reset_index())
    assert all(relaxed.every_days[g] >= cad.every_days[g] for g in cad.every_days)
    plan2, overflow2 = plan_visits(c, relaxed, start="2025-03-03", days=28)
    assert len(overflow2) < len(overflow)


def steps(visit, rows):
    return pd.DataFrame([{"visit_id": visit, "seq": k, **r} for k, r in enumerate(rows)])


@pytest.mark.parametrize("rows, ok, missing, fields, order", [
    ([{"step": "check_in", "lat": 1, "lon": 2}, {"step": "shelf_check", "facings": 4, "out_of_stock": 0},
      {"step": "photos", "photo_count": 3}, {"step": "check_out", "lat": 1, "lon": 2}], True, [], [], False),
    ([{"step": "check_in", "lat": 1, "lon": 2}, {"step": "photos", "photo_count": 3},
      {"step": "check_out", "lat": 1, "lon": 2}], False, ["shelf_check"], [], False),
    ([{"step": "check_in", "lat": 1, "lon": 2}, {"step": "shelf_check", "facings": None, "out_of_stock": 0},
      {"step": "photos", "photo_count": 3}, {"step": "check_out", "lat": 1, "lon": 2}], False, [], ["shelf_check.facings"], False),
    ([{"step": "check_in", "lat": 1, "lon": 2}, {"step": "photos", "photo_count": 3},
      {"step": "shelf_check", "facings": 1, "out_of_stock": 0}, {"step": "check_out", "lat": 1, "lon": 2}], False, [], [], True),
])
def test_sop_validation(rows, ok, missing, fields, order):
    res = STORE_VISIT.validate_visits(steps("v1", rows)).iloc[0]
    assert (res["ok"], res["missing_steps"], res["missing_fields"], res["out_of_order"]) == (ok, missing, fields, order)


def test_sop_form_table():
    t = STORE_VISIT.form_table(steps("v1", [{"step": "shelf_check", "facings": 4, "out_of_stock": 1}]))
    assert t[["field", "value"]].values.tolist() == [["facings", 4], ["out_of_stock", 1]]


CUST = pd.DataFrame({"customer_id": ["c1", "c2"], "lat": [31.2304, 31.2400], "lon": [121.4737, 121.4900]})


@pytest.mark.parametrize("visit, flags", [
    ({"customer_id": "c1", "checkin_lat": 31.2305, "checkin_lon": 121.4737, "in": "09:00", "out": "09:20"}, []),
    ({"customer_id": "c1", "checkin_lat": 31.2350, "checkin_lon": 121.4737, "in": "09:00", "out": "09:20"}, ["too_far"]),
    ({"customer_id": "c1", "checkin_lat": 31.2304, "checkin_lon": 121.4737, "in": "09:00", "out": "09:02"}, ["too_short"]),
    ({"customer_id": "c1", "checkin_lat": 31.2304, "checkin_lon": 121.4737, "in": "09:00", "out": "14:00"}, ["too_long"]),
    ({"customer_id": "c1", "checkin_lat": 31.2304, "checkin_lon": 121.4737, "in": "09:00", "out": None}, ["no_checkout"]),
    ({"customer_id": "zz", "checkin_lat": 31.2304, "checkin_lon": 121.4737, "in": "09:00", "out": "09:20"}, ["unknown_customer"]),
])
def test_checkin_flags(visit, flags):
    v = pd.DataFrame([{"visit_id": "v", "rep_id": "r", "customer_id": visit["customer_id"],
                       "checkin_lat": visit["checkin_lat"], "checkin_lon": visit["checkin_lon"],
                       "checkin_at": pd.Timestamp(f"2025-03-03 {visit['in']}"),
                       "checkout_at": pd.Timestamp(f"2025-03-03 {visit['out']}") if visit["out"] else pd.NaT}])
    res = check_visits(v, CUST).iloc[0]
    assert [f for f in res["flags"] if f != "too_far" or "too_far" in flags] == flags


def test_overlap_and_impossible_travel():
    v = pd.DataFrame({
        "visit_id": ["a", "b", "c"], "rep_id": "r", "customer_id": ["c1", "c2", "c1"],
        "checkin_lat": [31.2304, 31.2400, 31.2304], "checkin_lon": [121.4737, 121.4900, 121.4737],
        "checkin_at": pd.to_datetime(["2025-03-03 09:00", "2025-03-03 09:10", "2025-03-03 09:31"]),
        "checkout_at": pd.to_datetime(["2025-03-03 09:20", "2025-03-03 09:30", "2025-03-03 09:50"]),
    })
    res = check_visits(v, CUST, CheckinRules(max_speed_kmh=60)).set_index("visit_id")
    assert "overlap" in res.loc["b", "flags"]
    assert "impossible_travel" in res.loc["c", "flags"]  # ~2 km in 1 minute
    assert not res.loc["a", "suspicious"]


def test_todo_status():
    t = pd.DataFrame({"todo_id": [1, 2, 3, 4], "due_at": pd.to_datetime(["2025-03-05"] * 4),
                      "done_at": pd.to_datetime(["2025-03-04", "2025-03-07", None, None])})
    assert todo_status(t, now="2025-03-06")["status"].tolist() == ["done_on_time", "done_late", "overdue", "overdue"]
    assert todo_status(t, now="2025-03-04")["status"].tolist()[2] == "open"


def field_cfg(**kw):
    from crmsim.sim.field import FieldConfig, FieldCustomers, FieldReps

    base = {"customers": FieldCustomers(count=500), "reps": FieldReps(count=4)}
    base.update(kw)
    return FieldConfig(**base)


def test_field_simulation_is_seeded_and_routing_cuts_travel():
    from crmsim.sim.field import simulate_field

    a = simulate_field(field_cfg(), seed=3, horizon_days=21)
    b = simulate_field(field_cfg(), seed=3, horizon_days=21)
    pd.testing.assert_frame_equal(a.visits, b.visits)
    off = simulate_field(field_cfg(routing=False), seed=3, horizon_days=21)
    assert a.metrics["travel_share"] < 0.8 * off.metrics["travel_share"]
    # the same plan, cancellations and ad-hoc visits with or without routing (common random numbers)
    assert a.metrics["cancelled"] == off.metrics["cancelled"] and a.metrics["planned"] == off.metrics["planned"]
    assert a.metrics["plan_adherence"] == pytest.approx(1 - 0.08, abs=0.04)


def test_overloaded_days_miss_visits_and_visits_respect_opening_hours():
    from crmsim.field.plans import Cadence
    from crmsim.sim.field import FieldCustomers, simulate_field

    r = simulate_field(field_cfg(routing=False, cadence=Cadence(visits_per_day=14),
                                 customers=FieldCustomers(count=500, todo_due_days=5)), seed=4, horizon_days=14)
    assert r.metrics["missed"] > 0
    done = r.visits[r.visits["status"].isin(["planned", "adhoc"])]
    minute = done["start_min"] - done["day"] * 1440
    end_minute = done["end_min"] - done["day"] * 1440
    assert (minute >= 540).all() and (end_minute <= 1050 + 1e-9).all()  # opens 09:00, day ends 17:30
    assert set(r.visits["status"]) <= {"planned", "adhoc", "missed", "cancelled"}
    assert 0 <= r.metrics["todos_on_time"] <= 1


def test_todos_from_visits_and_account_timeline():
    from crmsim.field.checkin import TodoRule, account_timeline, todos_from_visits

    v = pd.DataFrame({"visit_id": ["v1", "v2"], "customer_id": ["c1", "c2"], "rep_id": ["r1", "r1"],
                      "checkin_at": pd.to_datetime(["2025-03-03 09:00", "2025-03-03 11:00"]),
                      "checkout_at": pd.to_datetime(["2025-03-03 09:30", "2025-03-03 11:20"]),
                      "out_of_stock": [3, 0]})
    todos = todos_from_visits(v, [TodoRule(title="restock", when=[{"field": "out_of_stock", "op": ">", "value": 0}],
                                           due_days=2)])
    assert todos[["visit_id", "title"]].values.tolist() == [["v1", "restock"]]
    assert todos["due_at"].item() == pd.Timestamp("2025-03-05 09:30")
    feed = account_timeline(v, todos)
    assert feed[feed["customer_id"] == "c1"]["kind"].tolist() == ["visit", "todo"]
    assert "restock (due 2025-03-05)" in feed["detail"].tolist()


def test_field_simulation_creates_todos_by_rule_from_drawn_forms():
    from crmsim.conditions import Condition
    from crmsim.field.checkin import TodoRule
    from crmsim.sim.field import FieldCustomers, simulate_field

    rules = (TodoRule(title="restock", when=(Condition(field="stock_low", op="eq", value=True),), due_days=3),
             TodoRule(title="escalate", when=(Condition(field="complaint", op="eq", value=True),
                                              Condition(field="stock_low", op="eq", value=True)), due_days=1))
    cust = FieldCustomers(count=200, form_fields={"stock_low": 0.4, "complaint": 0.25}, todo_rules=rules)
    r = simulate_field(field_cfg(customers=cust), seed=5, horizon_days=42)
    visits = r.metrics["visits"]
    m = r.metrics
    # each visit: restock with P(stock_low) = 0.4, escalate with P(both) = 0.1
    assert m["todos.restock"] == pytest.approx(0.4 * visits, rel=0.15)
    assert m["todos.escalate"] == pytest.approx(0.1 * visits, rel=0.3)
    assert m["todos"] == m["todos.restock"] + m["todos.escalate"]
    base = simulate_field(field_cfg(customers=FieldCustomers(count=200)), seed=5, horizon_days=42)
    assert base.metrics["visits"] == visits             # the forms are drawn from their own stream
    with pytest.raises(ValueError, match="todo rule 'x' reads \\['mood'\\], not among form_fields"):
        FieldCustomers(count=5, form_fields={"stock_low": 0.5},
                       todo_rules=(TodoRule(title="x", when=(Condition(field="mood", op="eq", value="bad"),)),))


def test_the_todo_share_is_one_todo_rule_on_the_visit_form():
    """One mechanism (issue: one rule, two uses): the todo_share shorthand runs as a form field and a
    TodoRule, so the to-dos a simulated visit creates are the rule's answers; with the shorthand
    the share of visits creating one is todo_share."""
    from crmsim.field.checkin import TodoRule
    from crmsim.sim.field import FieldConfig, FieldCustomers, simulate_field

    c = FieldCustomers(count=200, todo_share=0.3, todo_due_days=9)
    form, rules, shorthand = c.todo_model()
    assert shorthand and form == {"follow_up_needed": 0.3}
    assert rules == (TodoRule(title="follow-up", when=[{"field": "follow_up_needed", "op": "eq", "value": True}],
                              due_days=9),)
    assert c.todo_table() == [[], [("follow-up", 9)]]          # no -> nothing; yes -> the rule's to-do
    res = simulate_field(FieldConfig(customers=c, reps={"count": 2}), seed=2, horizon_days=14)
    visits = res.metrics["visits"]
    assert res.metrics["todos"] == res.metrics["todos.follow-up"]
    assert abs(res.metrics["todos"] / visits - 0.3) < 0.1
    assert FieldCustomers(count=10, todo_share=0).todo_model() == ({}, (), True)


def test_route_quality_clock_and_determinism():
    """'fast' stops at the first local optimum, 'better' is deterministic for a solution budget and
    no longer than 'fast'; a clock in ms is kept (+10%, with a little slack for a busy CI machine)
    and a clock too short for any route is a named error."""
    import time

    rng = np.random.default_rng(3)
    d = distance_matrix(rng.random((60, 2)) * 100, "euclidean")
    fast = plan_route(d, speed_per_hour=60, quality="fast")
    b1 = plan_route(d, speed_per_hour=60, solutions=80)
    b2 = plan_route(d, speed_per_hour=60, solutions=80)
    assert b1.order == b2.order and b1.distance <= fast.distance
    assert sorted(fast.order) == list(range(1, 60))
    t = time.perf_counter()
    r = plan_route(d, speed_per_hour=60, solutions=10**6, time_limit_ms=150)
    el = (time.perf_counter() - t) * 1000
    assert el <= 150 * 1.1 + 20, el
    assert r.distance <= fast.distance and sorted(r.order) == list(range(1, 60))
    big = distance_matrix(rng.random((600, 2)) * 100, "euclidean")
    with pytest.raises(ValueError, match="time_limit_ms=1 ran out before a first route"):
        plan_route(big, speed_per_hour=60, time_limit_ms=1)
    with pytest.raises(ValueError, match="quality must be one of"):
        plan_route(d, quality="best")
