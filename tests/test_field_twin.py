"""The field twin: a visit log generated from known parameters is recovered, the held-out weeks
are reproduced, bad or thin logs are named (issue: twins part 2)."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from crmsim.errors import InputError
from crmsim.experiments.field_twin import (
    calibrate_field,
    field_split_validation,
    load_visit_history,
)
from crmsim.sim.exports import FIELD_EXPORT_COLUMNS, field_export
from crmsim.sim.field import FieldConfig

TYPES = {"Routine": {"share": 0.7, "service_minutes": {"kind": "lognormal", "mean": 22, "cv": 0.35}},
         "Audit": {"share": 0.3, "service_minutes": {"kind": "lognormal", "mean": 45, "cv": 0.3}}}
TRUTH = FieldConfig(customers={"count": 600, "visit_types": TYPES},
                    reps={"count": 6, "trip_minutes": 6.0, "speed_kmh": 20.0, "travel_noise_cv": 0.3},
                    cancellation_share=0.1, adhoc_per_day=0.8, routing=False)
BASE = FieldConfig(customers={"count": 10}, reps={"count": 2}, routing=False)


@pytest.fixture(scope="module")
def export():
    return field_export(TRUTH, 84, seed=2)


@pytest.fixture(scope="module")
def history(export):
    return load_visit_history(export["stores"], export["visits"], columns=FIELD_EXPORT_COLUMNS)


def _truths(cfg: FieldConfig) -> dict[tuple[str, str], float]:
    t = {("grade_share", g): v for g, v in cfg.customers.grade_shares.items()}
    t |= {("every_days", g): v for g, v in cfg.cadence.every_days.items()}
    t |= {("visit_type_share", k): v.share for k, v in cfg.customers.visit_types.items()}
    t |= {("service_minutes_mean", k): v.service_minutes.mean() for k, v in cfg.customers.visit_types.items()}
    t |= {("service_minutes_cv", k): v.service_minutes.cv for k, v in cfg.customers.visit_types.items()}
    t |= {("cancellation_share", ""): cfg.cancellation_share, ("adhoc_per_day", ""): cfg.adhoc_per_day,
          ("speed_kmh", ""): cfg.reps.speed_kmh, ("trip_minutes", ""): cfg.reps.trip_minutes,
          ("travel_noise_cv", ""): cfg.reps.travel_noise_cv, ("radius_km", ""): cfg.customers.radius_km}
    return t


def test_what_the_log_shows_is_recovered(history):
    cal = calibrate_field(history, BASE)
    e = cal.estimates.set_index(["parameter", "group"])
    covered = {k: bool(e.loc[k, "ci_low"] <= v <= e.loc[k, "ci_high"]) for k, v in _truths(TRUTH).items()}
    assert len(covered) == 20
    assert sum(covered.values()) >= 0.9 * len(covered), {k: v for k, v in covered.items() if not v}
    c = cal.config
    assert (c.customers.count, c.reps.count, c.cadence.workdays) == (600, 6, (0, 1, 2, 3, 4))
    every = c.cadence.every_days
    assert {g: every[g] for g in "ABC"} == {"A": 7, "B": 14, "C": 30} and abs(every["D"] - 60) <= 6   # whole days
    assert set(c.customers.visit_types) == {"Routine", "Audit"}
    # where every parameter came from
    prov = cal.provenance.set_index("path")
    assert prov.loc["reps.speed_kmh", "source"] == "fitted" and prov.loc["reps.speed_kmh", "n"] > 1000
    assert prov.loc["reps.road_factor", "source"] == "base scenario"
    assert "minutes per straight-line km" in prov.loc["reps.road_factor", "note"]
    # the team does not plan routes: its day loops are far longer than the shortest through the same stores
    assert prov.loc["routing", "source"] == "fitted" and c.routing is False and "longer than the shortest" in \
        prov.loc["routing", "note"]
    assert e.loc[("route_excess", ""), "ci_low"] > 0.2


def test_a_team_that_plans_its_routes_is_recognised():
    cfg = FieldConfig(customers={"count": 300}, reps={"count": 3}, routing=True)
    x = field_export(cfg, 28, seed=3)
    cal = calibrate_field(load_visit_history(x["stores"], x["visits"], columns=FIELD_EXPORT_COLUMNS), BASE)
    assert cal.config.routing is True          # BASE says False: the log decides
    e = cal.estimates.set_index("parameter")
    assert e.loc["route_excess", "value"] <= 0.05 and e.loc["route_excess", "n"] >= 20


def test_held_out_weeks_are_reproduced(history):
    val = field_split_validation(history, BASE, replications=3)
    t = val["table"].set_index("metric")
    assert abs(t.loc["visits_per_rep_day", "error_pct"]) <= 10, t
    assert t.drop(index="cancelled_share")["within_10pct"].all(), t
    assert abs(t.loc["cancelled_share", "error_pct"]) <= 20, t      # about 250 cancellations held out
    assert val["split"] == pd.Timestamp("2025-03-02")


def test_the_log_is_read_with_its_mess_counted(export, history):
    ex = history.exclusions.set_index("reason")["rows"]
    assert ex["store not in the stores table"] == 1
    assert ex["no check-out: counted as done, not timed"] == 1
    assert ex["check-out not after check-in: counted as done, not timed"] == 1
    assert any(r.startswith("no usable coordinates") for r in ex.index)
    # nothing lost: every row of the log is a visit or an exclusion
    assert len(history.visits) + int(history.exclusions.query("table == 'visits' and not reason.str.contains('counted')")
                                     ["rows"].sum()) == len(export["visits"])
    # a store far outside the territory is set aside from the map and counted
    st = export["stores"].copy()
    st.loc[3, ["Latitude", "Longitude"]] = [39.9, 116.4]          # Beijing, not Shanghai
    h = load_visit_history(st, export["visits"], columns=FIELD_EXPORT_COLUMNS)
    far = h.exclusions[h.exclusions["reason"].str.startswith("outside the territory")]
    assert far["rows"].tolist() == [1] and far["first"].tolist() == [st.loc[3, "Store Code"]]
    assert not h.stores.set_index("customer_id").loc[st.loc[3, "Store Code"], "located"]


def test_bad_or_thin_logs_are_named(export):
    st, vi = export["stores"], export["visits"]
    odd = vi.assign(Status=vi["Status"].replace({"Completed": "Erledigt"}))
    with pytest.raises(InputError, match=r"'Status' has statuses crmsim cannot read: 'erledigt'.*\[statuses\]"):
        load_visit_history(st, odd, columns=FIELD_EXPORT_COLUMNS)
    h = load_visit_history(st, odd, columns=FIELD_EXPORT_COLUMNS, statuses={"Erledigt": "done"})
    assert (h.visits["status"] == "done").sum() > 2000
    with pytest.raises(InputError, match="'Sales Rep'"):
        load_visit_history(st, vi.drop(columns=["Sales Rep"]), columns=FIELD_EXPORT_COLUMNS)
    with pytest.raises(InputError, match="no done visit"):
        load_visit_history(st, vi[vi["Status"] == "Cancelled"], columns=FIELD_EXPORT_COLUMNS)
    h = load_visit_history(st, vi, columns=FIELD_EXPORT_COLUMNS)
    with pytest.raises(InputError, match="at least 2 weeks"):
        calibrate_field(h, BASE, start="2025-01-06", end="2025-01-13")
    # no planned date: ad-hoc visits cannot be told apart, and the estimates say so
    h = load_visit_history(st, vi.drop(columns=["Planned Date"]), columns=FIELD_EXPORT_COLUMNS)
    assert any("no planned date" in n for n in h.notes)
    cal = calibrate_field(h, BASE)
    row = cal.estimates.set_index("parameter").loc["adhoc_per_day"]
    assert row["source"] == "not fittable" and cal.config.adhoc_per_day == 0
    # no status: visits without a check-in are read as cancelled, with a note
    h = load_visit_history(st, vi.drop(columns=["Status"]), columns=FIELD_EXPORT_COLUMNS)
    assert any("no status column" in n for n in h.notes)
    # a thin visit type takes the all-types time on site, and says so
    thin = vi.copy()
    thin.loc[thin.index[:10], "Visit Type"] = "Listing"
    cal = calibrate_field(load_visit_history(st, thin, columns=FIELD_EXPORT_COLUMNS), BASE)
    e = cal.estimates.set_index(["parameter", "group"])
    assert e.loc[("service_minutes_mean", "Listing"), "source"] == "pooled"
    assert "timed visits of this type" in e.loc[("service_minutes_mean", "Listing"), "note"]


def test_plans_follow_each_stores_last_visit():
    from crmsim.field.plans import Cadence, plan_visits

    c = pd.DataFrame({"customer_id": ["a", "b", "c"], "grade": ["A", "A", "B"], "owner_id": "R1",
                      "last_visit": pd.to_datetime(["2025-03-01", "2025-01-01", None])})
    plan, _ = plan_visits(c, Cadence(every_days={"A": 7, "B": 14}, workdays=tuple(range(7))), start="2025-03-03",
                          days=14)
    first = plan.groupby("customer_id")["date"].min().dt.strftime("%Y-%m-%d").to_dict()
    # a: 7 days after 1 March; b: long overdue, at once; c: no last visit, staggered by its position
    assert first == {"a": "2025-03-08", "b": "2025-03-03", "c": "2025-03-05"}


def test_the_simulation_runs_on_your_stores_from_a_given_day():
    from crmsim.sim.field import simulate_field

    stores = pd.DataFrame({"customer_id": [f"S{i}" for i in range(20)], "lat": 31.2 + np.arange(20) * 0.001,
                           "lon": 121.4, "grade": "A", "owner_id": ["R1", "R2"] * 10})
    cfg = FieldConfig(customers={"count": 1}, reps={"count": 1}, cadence={"every_days": {"A": 7}}, routing=False)
    res = simulate_field(cfg, 1, horizon_days=9, stores=stores, start_at="2025-03-01")     # a Saturday
    t = res.table
    assert set(t["rep_id"]) == {"R1", "R2"} and set(t["customer_id"]) <= set(stores["customer_id"])
    assert not (t["day"] < 2).any()                    # Saturday and Sunday are not worked
    with pytest.raises(InputError, match=r"stores: columns \['owner_id'\] missing"):
        simulate_field(cfg, 1, horizon_days=3, stores=stores.drop(columns=["owner_id"]))


def test_calibrate_command_writes_a_runnable_scenario(tmp_path, export):
    export["stores"].to_csv(tmp_path / "stores.csv", index=False)
    export["visits"].to_csv(tmp_path / "visits.csv", index=False)
    (tmp_path / "map.toml").write_text("[columns]\n" + "".join(f'{k} = "{v}"\n' for k, v in FIELD_EXPORT_COLUMNS.items()))
    out = tmp_path / "my_field.toml"
    cmd = [sys.executable, "-m", "crmsim.cli", "calibrate", "--model", "field", "--stores", str(tmp_path / "stores.csv"),
           "--visits", str(tmp_path / "visits.csv"), "--map", str(tmp_path / "map.toml"), "--out", str(out),
           "--validate", "2"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "visits_per_rep_day" in r.stdout and "excluded from visits" in r.stdout
    assert {p.name for p in tmp_path.iterdir()} >= {"my_field.toml", "my_field.estimates.csv", "my_field.provenance.csv",
                                                    "my_field.exclusions.csv", "my_field.validation.csv"}
    v = subprocess.run([sys.executable, "-m", "crmsim.cli", "validate", str(out)], capture_output=True, text=True)
    assert v.returncode == 0, v.stdout + v.stderr
    bad = subprocess.run(cmd[:6] + ["--out", str(tmp_path / "x.toml")], capture_output=True, text=True)
    assert bad.returncode != 0 and "needs --stores" in bad.stderr and "Traceback" not in bad.stderr
