import math

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from crmsim.experiments.scenario import scenario_from_dict
from crmsim.sim.distributions import Empirical
from crmsim.sim.engine import EventLog, Streams, WorkCalendar, World


def test_streams_depend_on_name_not_order():
    a = Streams(np.random.SeedSequence(3))
    b = Streams(np.random.SeedSequence(3))
    b.rng("other").random(10)
    assert a.rng("x").random() == b.rng("x").random()
    assert a.rng("x").random() != a.rng("y").random()
    assert Streams(np.random.SeedSequence(4)).rng("x").random() != a.rng("x").random()


def test_event_log_mixes_records_and_blocks_sorted_by_time():
    log = EventLog()
    log.record(2.0, "lead", 1, "b")
    log.extend([1.0, 3.0], "lead", [5, 6], "a", actor=2, value=[1.5, 2.5])
    log.record(2.0, "rep", 0, "c", actor=0)
    df = log.to_frame()
    assert df["t"].tolist() == [1.0, 2.0, 2.0, 3.0]
    assert df["event"].astype(str).tolist() == ["a", "b", "c", "a"]
    assert df["actor"].tolist() == [2, -1, 0, 2]
    assert len(log) == 4


# Monday 09:00-13:00 calendar (4 h a day, Mon-Fri). t in days from Monday 00:00.
CAL = WorkCalendar(hours_per_day=4, start_hour=9)
H = 1 / 24


@pytest.mark.parametrize("t, expected", [
    (0.0, 9 * H),             # Monday night -> Monday 9:00
    (10 * H, 10 * H),         # inside hours
    (13 * H, 1 + 9 * H),      # closing time -> Tuesday 9:00
    (4 + 14 * H, 7 + 9 * H),  # Friday afternoon -> next Monday
    (5.5, 7 + 9 * H),         # Saturday -> Monday
])
def test_next_open(t, expected):
    assert CAL.next_open(t) == pytest.approx(expected)


@pytest.mark.parametrize("t, hours, expected", [
    (9 * H, 1, 10 * H),
    (12 * H, 2, 1 + 10 * H),           # 1 h Monday, 1 h Tuesday
    (4 + 12 * H, 3, 7 + 11 * H),       # Friday 12:00 + 3 h -> Monday 11:00
    (0.0, 10, 2 + 11 * H),             # 4 + 4 + 2
])
def test_advance(t, hours, expected):
    assert CAL.advance(t, hours) == pytest.approx(expected)


def test_hours_between_a_week():
    assert CAL.hours_between(0, 7) == pytest.approx(20)
    assert WorkCalendar.always_on().hours_between(0.5, 2) == pytest.approx(36)


@pytest.mark.parametrize("kw", [{}, {"hours_per_day": 4, "start_hour": 9}, {"hours_per_day": 6, "start_hour": 18},
                                {"hours_per_day": 24, "start_hour": 0, "workdays": (0, 2, 4)},
                                {"hours_per_day": 10, "start_hour": 0, "workdays": (5, 6)},
                                {"hours_per_day": 24, "start_hour": 0, "workdays": tuple(range(7))}])
def test_working_time_coordinates_agree_with_the_scalar_calendar(kw):
    """next_open_at is next_open on arrays; advance(t, h) is from_worked(worked(next_open(t)) + h)
    (for h > 0, to rounding), including times exactly at an opening or a close."""
    cal = WorkCalendar(**kw)
    rng = np.random.default_rng(3)
    t = rng.uniform(0, 60, 3000)
    t[:40] = np.floor(t[:40]) + cal.start_hour / 24
    t[40:80] = np.floor(t[40:80]) + (cal.start_hour + cal.hours_per_day) / 24
    h = rng.exponential(5, t.size)
    opened = cal.next_open_at(t)
    assert opened.tolist() == [cal.next_open(x) for x in t]
    ends = cal.from_worked(cal.worked(opened) + h / 24)
    np.testing.assert_allclose(ends, [cal.advance(x, y) for x, y in zip(t, h)], rtol=0, atol=1e-11)
    np.testing.assert_allclose(cal.worked(t) * 24, [cal.hours_between(0, x) for x in t], rtol=0, atol=1e-9)


@pytest.mark.parametrize("kw", [
    {"hours_per_day": 0}, {"hours_per_day": 10, "start_hour": 20}, {"workdays": []},
    {"workdays": [7]}, {"workdays": [1, 1]},
])
def test_calendar_rejects(kw):
    with pytest.raises(ValidationError):
        WorkCalendar(**kw)


def test_daily_job_runs_every_day_at_its_hour():
    w = World(1, horizon_days=3.5)
    seen = []
    w.every_day(seen.append, at_hour=6)
    w.run()
    assert seen == pytest.approx([0.25, 1.25, 2.25, 3.25])


def test_world_rejects_bad_horizon():
    with pytest.raises(ValueError, match=r"warmup_days\(=5\)"):
        World(1, horizon_days=5, warmup_days=5)


@pytest.mark.parametrize("dist, mean", [
    ({"kind": "constant", "value": 2.0}, 2.0),
    ({"kind": "exponential", "mean": 3.0}, 3.0),
    ({"kind": "gamma", "shape": 2.0, "scale": 1.5}, 3.0),
    ({"kind": "lognormal", "mean": 5.0, "cv": 0.5}, 5.0),
    ({"kind": "triangular", "low": 1.0, "mode": 2.0, "high": 6.0}, 3.0),
    ({"kind": "empirical", "values": [1.0, 2.0, 6.0]}, 3.0),
])
def test_distributions_sample_their_mean(dist, mean):
    sc = scenario_from_dict({"schema_version": 1, "name": "d", "run": {"horizon_days": 10},
                             "baseline": {"reps": {"count": 1, "contact_hours": dist}}})
    d = sc.baseline.reps.contact_hours
    x = d.sample(np.random.default_rng(0), 200_000)
    assert d.mean() == pytest.approx(mean)
    assert x.mean() == pytest.approx(mean, rel=0.02)


def test_empirical_from_csv(tmp_path):
    (tmp_path / "d.csv").write_text("amount\n10\n20\n")
    d = Empirical.model_validate({"csv": "d.csv", "column": "amount"}, context={"base_dir": tmp_path})
    assert set(d.sample(np.random.default_rng(0), 50)) == {10.0, 20.0}
    (tmp_path / "bad.csv").write_text("amount\n10\nabc\n")
    with pytest.raises(ValidationError, match=r"non-numeric values at lines \[3\]"):
        Empirical.model_validate({"csv": "bad.csv", "column": "amount"}, context={"base_dir": tmp_path})
    with pytest.raises(ValidationError, match="column 'x' not in"):
        Empirical.model_validate({"csv": "d.csv", "column": "x"}, context={"base_dir": tmp_path})
    assert math.isfinite(d.mean())


def test_event_log_keeps_one_time_per_block_and_returns_the_same_frame_twice():
    log = EventLog()
    log.extend(1.0, "customer", np.array([3, 1, 2]), "followup", actor=np.array([0, 0, 1]))
    log.extend(2.0, "customer", [4], "deal", actor=1, value=9.5)
    df = log.to_frame()
    assert df["t"].tolist() == [1.0, 1.0, 1.0, 2.0] and df["entity_id"].tolist() == [3, 1, 2, 4]
    assert df["entity_id"].dtype == np.int32 and df["actor"].tolist() == [0, 0, 1, 1]
    assert math.isnan(df["value"].iloc[0]) and df["value"].iloc[3] == 9.5
    # the frame becomes the log's one block: asked again, or after more events, nothing is lost
    log.extend(0.5, "customer", [7], "lost")
    again = log.to_frame()
    assert again["t"].tolist() == [0.5, 1.0, 1.0, 1.0, 2.0]
    assert again["event"].astype(str).tolist() == ["lost", "followup", "followup", "followup", "deal"]
    assert again["entity_id"].tolist() == [7, 3, 1, 2, 4] and len(log) == 5


def test_event_log_blocks_across_many_memory_maps_come_back_whole():
    # thousands of small blocks of mixed widths are copied side by side into 1 MiB maps: every
    # event comes back, in place, and changing an array after logging it does not change the log
    rng = np.random.default_rng(5)
    log, want = EventLog(), []
    for day in range(3000):
        n = int(rng.integers(1, 120))
        ids = rng.integers(0, 2**40 if day % 7 == 0 else 1000, n)
        t = day + rng.random(n) if day % 3 else float(day)
        value = rng.random(n) if day % 5 == 0 else np.nan
        log.extend(t, "customer", ids, "deal" if day % 5 == 0 else "followup", actor=ids % 9, value=value)
        want.append(pd.DataFrame({"t": np.broadcast_to(t, n), "entity_id": ids.copy(), "actor": ids % 9,
                                  "value": np.broadcast_to(value, n)}))
        ids[:] = -1
    got = log.to_frame()
    want = pd.concat(want, ignore_index=True).sort_values("t", kind="stable")   # the log's order
    assert len(got) == len(want) > 150_000
    for c in ("t", "entity_id", "actor", "value"):
        np.testing.assert_array_equal(got[c].to_numpy(), want[c].to_numpy())


def test_event_log_only_keeps_the_named_events():
    log = EventLog(only=frozenset({"deal"}))
    log.extend(1.0, "customer", [1, 2], "followup")
    log.record(1.5, "customer", 2, "deal", value=3.0)
    log.extend(2.0, "customer", [5], "deal", value=4.0)
    assert log.to_frame()["entity_id"].tolist() == [2, 5]
    big = EventLog()
    big.extend(0.0, "lead", [2**40], "a")
    assert big.to_frame()["entity_id"].dtype == np.int64
