import numpy as np
import pandas as pd
import pytest

from crmsim import synth
from crmsim.pipeline import (
    HistoryMapping,
    SalesProcess,
    StageError,
    check_history,
    load_history,
    stage_at,
)

MAP = HistoryMapping(columns=synth.MESSY_EXPORT_COLUMNS, stages=synth.MESSY_EXPORT_STAGES)


@pytest.fixture(scope="module")
def world():
    return synth.opportunities(1500, seed=3)


def test_messy_export_loads_with_report_and_same_totals(world, tmp_path):
    opps, _ = world
    raw = synth.messy_export(opps, seed=4)
    f = tmp_path / "export.csv"
    raw.to_csv(f, index=False)
    o, rep = load_history(f, MAP)
    assert len(o) == len(raw)                                   # nothing dropped
    # the same totals as the raw file: every readable amount, summed independently
    raw_text = pd.read_csv(f, dtype=str, keep_default_na=False)["Amount"]
    readable = pd.to_numeric(raw_text.str.replace(r"[$,]", "", regex=True), errors="coerce")
    assert o["amount"].sum() == pytest.approx(readable.sum())
    assert (o["created_at"] == opps["created_at"].dt.normalize()).all()   # three date formats
    assert o["stage"].tolist() == opps["stage"].tolist()
    assert sorted(o["product"].unique()) == ["Analytics", "CRM Lite", "CRM Pro"]
    assert o["owner"].str.startswith("R").all()
    actions = set(zip(rep["field"], rep["action"]))
    assert ("amount", "currency sign / separators removed") in actions
    assert ("amount", "missing") in actions
    assert ("product", "spelling unified") in actions
    assert ("closed_at", "open deal (no close date)") in actions
    assert ("created_at", "unreadable date (left missing)") not in actions
    assert rep.loc[(rep["field"] == "amount") & (rep["action"] == "missing"), "rows"].item() == raw_text.eq("").sum()


def test_unreadable_values_are_reported_not_dropped():
    raw = pd.DataFrame({"id": ["a", "b", None], "c": ["2025-01-01", "yesterday", "02/03/2025"],
                        "s": ["Won", "open", "Lost"], "amt": ["1.234,50 €", "n/a", "12k"]})
    m = HistoryMapping(columns={"id": "opportunity_id", "c": "created_at", "s": "stage", "amt": "amount"},
                       stages={"Won": "won", "open": "qualify", "Lost": "lost"}, dayfirst=True)
    o, rep = load_history(raw, m, source="crm.csv")
    assert o["amount"].tolist()[0] == 1234.5 and np.isnan(o["amount"].tolist()[1]) and o["amount"].tolist()[2] == 12000
    assert o["created_at"].tolist()[2] == pd.Timestamp("2025-03-02")
    assert pd.isna(o["created_at"].tolist()[1])
    assert o["opportunity_id"].tolist()[2] == "crm.csv:3"
    acts = dict(zip(zip(rep["field"], rep["action"]), rep["rows"]))
    assert acts[("created_at", "unreadable date (left missing)")] == 1
    assert acts[("amount", "unreadable amount (left missing)")] == 1
    assert acts[("opportunity_id", "missing (kept, id from row number)")] == 1
    with pytest.raises(KeyError, match=r"crm.csv: mapped column\(s\) \['zz'\] not in the export"):
        load_history(raw, HistoryMapping(columns={"zz": "amount", "id": "opportunity_id", "c": "created_at",
                                                  "s": "stage"}), source="crm.csv")


def test_stage_history_checks_and_stage_at(world):
    _, hist = world
    h = check_history(hist, SalesProcess())
    assert len(h) == len(hist)
    bad = pd.DataFrame({"opportunity_id": ["x", "x", "y", "y"], "stage": ["qualify", "won", "won", "propose"],
                        "t": pd.to_datetime(["2025-01-01", "2025-01-05", "2025-01-01", "2025-01-02"])})
    with pytest.raises(StageError, match="y: won -> propose"):
        check_history(bad, SalesProcess())
    strict = SalesProcess(allow_backward=False)
    back = pd.DataFrame({"opportunity_id": ["z", "z"], "stage": ["propose", "qualify"],
                         "t": pd.to_datetime(["2025-01-01", "2025-01-02"])})
    with pytest.raises(StageError, match="z: propose -> qualify"):
        check_history(back, strict)
    check_history(back, SalesProcess())
    assert stage_at(bad.iloc[:2], "2025-01-03").to_dict() == {"x": "qualify"}


def test_markov_recovers_known_win_rate_and_stage_times():
    from crmsim.pipeline.forecast import MarkovModel

    opps, hist = synth.opportunities(6000, seed=11, win_rate={"search": 0.3}, stage_days=(7, 14, 14, 10),
                                     start="2022-01-01", today="2025-06-30")
    m = MarkovModel.fit(hist)
    closed = opps["stage"].isin(["won", "lost"]).sum()
    se = np.sqrt(0.3 * 0.7 / closed)
    assert abs(m.win_probability["qualify"] - 0.3) < 3 * se + 0.01
    # lost deals stop at a uniformly drawn stage: P(qualify -> lost) = (1 - 0.3) / 4
    assert m.transitions.loc["qualify", "lost"] == pytest.approx(0.7 / 4, abs=0.02)
    assert m.mean_days.to_numpy() == pytest.approx([7, 14, 14, 10], rel=0.08)
    assert (np.diff(m.win_probability.to_numpy()) > 0).all()  # later stages are likelier to win


def test_monte_carlo_p50_matches_the_analytic_expectation():
    from crmsim.pipeline.forecast import monte_carlo, weighted_pipeline

    opps, _ = synth.opportunities(20000, seed=5, start="2025-01-01", today="2025-06-30")
    f = monte_carlo(opps, start="2025-07-01", end="2025-09-30", close_sd_days=10, n=20000, seed=1)
    sd = f.samples.std()
    assert abs(f.samples.mean() - f.expected) < 4 * sd / np.sqrt(len(f.samples))
    assert f.p50 == pytest.approx(f.expected, rel=0.01)
    assert f.p10 < f.p50 < f.p90
    # with no close-date uncertainty and a window covering every expected close, the expectation is
    # the weighted pipeline
    g = monte_carlo(opps, start="2024-01-01", end="2026-12-31", close_sd_days=0, n=200, seed=1)
    assert g.expected == pytest.approx(weighted_pipeline(opps))


def test_backtest_errors_are_moderate_on_a_stable_history():
    from crmsim.pipeline.forecast import backtest

    opps, hist = synth.opportunities(5000, seed=2, start="2023-01-01", today="2025-06-30")
    bt = backtest(opps, hist, pd.date_range("2024-01-01", "2025-01-01", freq="3MS"), horizon_days=90)
    assert len(bt) == 5 and (bt["open_deals"] > 50).all()
    assert bt["pct_error"].abs().mean() < 0.25
    assert abs(bt["pct_error"].mean()) < 0.15  # no large bias


def test_analytics_tables():
    from crmsim.pipeline.analytics import (
        ageing,
        cohort_curves,
        pipeline_velocity,
        stage_conversion,
        time_to_close,
        win_rates,
    )

    opps, hist = synth.opportunities(3000, seed=1)
    conv = stage_conversion(hist)
    assert conv["reached"].iloc[0] == 3000 and conv["reached"].is_monotonic_decreasing
    assert conv["reached"].iloc[-1] == (opps["stage"] == "won").sum()
    wr = win_rates(opps, "channel").set_index("channel")
    assert (wr["ci_low"] < wr["win_rate"]).all() and wr.loc["search", "win_rate"] > wr.loc["ads", "win_rate"]
    assert set(win_rates(opps, "cohort")["cohort"].dt.day) == {1}
    t = time_to_close(opps)
    assert 0 < t["median_days"].item() < t["p90_days"].item()
    # without a grouping: one row and no group column
    assert t.columns[0] == "closed" and win_rates(opps).columns.tolist() == ["closed", "won", "win_rate", "ci_low", "ci_high"]
    v = pipeline_velocity(opps, now="2025-06-30")
    assert v["velocity_per_day"] == pytest.approx(v["open_deals"] * v["win_rate"] * v["avg_won_size"] / v["cycle_days"])
    a = ageing(opps, hist, now="2025-06-30")
    assert len(a) == (~opps["stage"].isin(["won", "lost"])).sum() and (a["days_in_stage"] <= a["days_open"] + 1e-9).all()
    c = cohort_curves(opps)
    assert (c.groupby("cohort")["won_share"].apply(lambda s: s.is_monotonic_increasing)).all()


def test_stage_conversion_by_group():
    from crmsim.pipeline.analytics import stage_conversion

    opps, hist = synth.opportunities(2000, seed=4)
    by = stage_conversion(hist, opps=opps, by="channel")
    assert set(by["channel"]) == set(opps["channel"])
    first = by[by["stage"] == "qualify"].set_index("channel")["reached"]
    assert first.sum() == 2000
    won = by[by["stage"] == "won"].set_index("channel")["reached"]
    assert won.to_dict() == (opps[opps["stage"] == "won"].groupby("channel").size()).to_dict()
    with pytest.raises(ValueError, match="needs the opportunities table"):
        stage_conversion(hist, by="channel")


def test_erpnext_auto_close_of_replied_opportunities():
    from crmsim.pipeline import AutoCloseRule

    # ERPNext auto_close_opportunity: status Replied and modified < now - 15 days -> Closed
    now = pd.Timestamp("2025-06-16 09:00")
    opps = pd.DataFrame({"opportunity_id": ["O1", "O2", "O3", "O4"],
                         "status": ["Replied", "Replied", "Replied", "Quotation"],
                         "modified_at": ["2025-06-01 08:59", "2025-06-01 09:00", "2025-06-10", "2025-01-01"]})
    after, log = AutoCloseRule().apply(opps, now)
    assert after["status"].tolist() == ["Closed", "Replied", "Replied", "Quotation"]   # exactly 15 days: not yet
    assert log[["opportunity_id", "from", "to"]].values.tolist() == [["O1", "Replied", "Closed"]]
    assert after.loc[0, "modified_at"] == now
    r = AutoCloseRule(after_days=30, statuses=("Replied", "Quotation"), to="Lost")
    assert r.due(opps, now).tolist() == [False, False, False, True]
    with pytest.raises(Exception, match="column 'modified_at' expects a date in every row"):
        AutoCloseRule().due(opps.assign(modified_at=["2025-06-01", "soon", None, "2025-01-01"]), now)
