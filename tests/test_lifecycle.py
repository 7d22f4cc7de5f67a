import numpy as np
import pandas as pd
import pytest

from crmsim.leads.lifecycle import Lifecycle, TransitionError, stage_metrics


def leads(stages):
    return pd.DataFrame({"lead_id": [f"L{k}" for k in range(len(stages))], "stage": stages,
                         "score": [10, 60, 80, 30][: len(stages)]})


@pytest.mark.parametrize("frm, to, ok", [
    ("raw", "mql", True), ("raw", "sql", False), ("mql", "sql", True), ("sql", "converted", True),
    ("sql", "nurture", True), ("nurture", "mql", True), ("converted", "mql", False),
    ("invalid", "raw", False), ("mql", "converted", False),
])
def test_transitions(frm, to, ok):
    lc = Lifecycle()
    if ok:
        after, hist = lc.move(leads([frm]), to, pd.Timestamp("2025-03-03"))
        assert after["stage"].item() == to and hist[["from_stage", "to_stage"]].values.tolist() == [[frm, to]]
    else:
        with pytest.raises(TransitionError, match=f"lead L0 from '{frm}'"):
            lc.move(leads([frm]), to, pd.Timestamp("2025-03-03"))


def test_entry_criteria_and_mask():
    lc = Lifecycle(entry={"mql": [{"field": "score", "op": "ge", "value": 50}]})
    ld = leads(["raw", "raw", "raw"])
    with pytest.raises(TransitionError, match=r"leads \['L0'\] do not meet the entry criteria of 'mql'"):
        lc.move(ld, "mql", "2025-03-03")
    after, hist = lc.move(ld, "mql", "2025-03-03", mask=ld["score"] >= 50)
    assert after["stage"].tolist() == ["raw", "mql", "mql"] and len(hist) == 2
    with pytest.raises(TransitionError, match="'raw' -> 'converted'"):
        lc.check_history(pd.DataFrame({"lead_id": ["x"], "from_stage": ["raw"], "to_stage": ["converted"]}))


def test_sla_in_working_hours():
    # Mon-Fri 9-17 calendar; SLA 8 working hours from becoming an MQL
    lc = Lifecycle(sla_hours={"mql": 8}, calendar={"hours_per_day": 8, "start_hour": 9})
    hist = pd.DataFrame({"lead_id": ["a", "b", "c"], "to_stage": "mql",
                         "t": pd.to_datetime(["2025-03-07 16:00", "2025-03-07 16:00", "2025-03-03 10:00"])})
    act = pd.DataFrame({"lead_id": ["a", "b"], "t": pd.to_datetime(["2025-03-10 15:00", "2025-03-10 17:30"])})
    s = lc.sla(hist, act, now="2025-03-04 09:00").set_index("lead_id")
    # a: Fri 16-17 (1 h) + Mon 9-15 (6 h) = 7 h; b: 1 + 8 = 9 h; c: no action, Mon 10-17 = 7 h so far
    assert s["working_hours"].round(6).to_dict() == {"a": 7.0, "b": 9.0, "c": 7.0}
    assert s["breach"].to_dict() == {"a": False, "b": True, "c": False}


def test_stage_metrics_conversion_and_velocity():
    ld = pd.DataFrame({"lead_id": list("abcd"), "channel": ["ads", "ads", "ads", "email"],
                       "created_at": pd.to_datetime(["2025-01-05", "2025-01-10", "2025-01-20", "2025-02-01"])})
    hist = pd.DataFrame({"lead_id": ["a", "a", "b", "d"], "to_stage": ["mql", "sql", "mql", "mql"],
                         "t": pd.to_datetime(["2025-01-06", "2025-01-15", "2025-01-12", "2025-02-03"])})
    m = stage_metrics(hist, ld).set_index("channel")
    assert m.loc["ads", "leads"] == 3 and m.loc["ads", "mql"] == 2 and m.loc["ads", "sql"] == 1
    assert m.loc["ads", "mql_rate"] == pytest.approx(2 / 3) and m.loc["ads", "sql_rate"] == 0.5
    assert m.loc["ads", "mql_median_days"] == 1.5 and m.loc["ads", "sql_median_days"] == 10
    assert m.loc["email", "mql"] == 1 and np.isnan(m.loc["email", "sql_median_days"])


def test_an_unassign_condition_takes_a_lead_back_whatever_its_contact_timer():
    from crmsim.conditions import Condition
    from crmsim.leads import RecallRule

    leads = pd.DataFrame({"assigned_at": pd.to_datetime(["2025-03-10 09:00", "2025-03-10 09:00", None]),
                          "first_contact_at": pd.to_datetime(["2025-03-10 09:30", None, None]),
                          "owner_active": [False, True, False]})
    rule = RecallRule(max_working_hours=24, unassign_when=(Condition(field="owner_active", op="eq", value=False),))
    # contacted, but its rep left: back; within its timer: kept; never assigned: nothing to take back
    assert rule.due(leads, "2025-03-10 12:00").tolist() == [True, False, False]
    assert RecallRule(max_working_hours=24).due(leads, "2025-03-10 12:00").tolist() == [False, False, False]
