"""Pipelines from a flat export (one row per opportunity): forecasts without a stage history."""

import warnings

import numpy as np
import pandas as pd
import pytest

from crmsim import synth
from crmsim.pipeline import (
    CutoffWarning,
    FlatModel,
    HistoryMapping,
    MarkovModel,
    backtest_flat,
    check_products,
    fill_amounts,
    load_history,
    stage_history_from_flat,
)

MAP = HistoryMapping(columns=synth.MESSY_EXPORT_COLUMNS, stages=synth.MESSY_EXPORT_STAGES)


@pytest.fixture(scope="module")
def flat():
    """A stable history (constant arrivals, fixed win rates and stage times) exported flat, the
    way CRMs export it: mixed date formats, currency amounts, some missing, two spellings."""
    opps, _ = synth.opportunities(8000, start="2023-01-01", today="2025-06-30", seed=3)
    out, _ = load_history(synth.messy_export(opps, seed=4), MAP)
    return out


def test_backtest_on_a_flat_export_is_accurate_and_has_no_trend(flat):
    amounts, rep = fill_amounts(flat)
    assert rep["rows"].sum() == len(flat) and rep.iloc[-1]["rows"] > 0   # the missing ones, counted
    cut = pd.date_range("2024-03-01", "2025-03-01", freq="MS")
    bt = backtest_flat(flat, cut, horizon_days=90, amounts=amounts)
    e = bt["pct_error"].to_numpy()
    slope, _ = np.polyfit(np.arange(e.size), e, 1)
    print(bt[["cutoff", "open_deals", "forecast", "actual", "pct_error"]].round({"forecast": 0, "actual": 0, "pct_error": 3}))
    print(f"MAPE {np.abs(e).mean():.3f}, trend {slope:+.4f} per cut-off")
    assert np.abs(e).mean() <= 0.15
    assert abs(slope) * (e.size - 1) < 0.10     # less than 10 points of drift over the year
    assert bt["scored"].all()


def test_censoring_is_not_ignored():
    """Half the deals are still open at the cut-off: counting only the closed ones would say every
    deal closes within 10 days; the censored estimate keeps the open half at risk."""
    created = pd.to_datetime(["2025-01-01"] * 4)
    o = pd.DataFrame({"created_at": created, "closed_at": pd.to_datetime(["2025-01-06", "2025-01-11", None, None]),
                      "stage": ["won", "won", "propose", "negotiate"]})
    m = FlatModel.fit(o, at="2025-02-01")
    assert (m.n_won, m.n_open) == (2, 2)
    assert float(m.still_open(20)) == pytest.approx(0.5)
    assert float(m.p_won_within(0, 10)) == pytest.approx(0.5)
    assert float(m.p_won_within(31, 90)) == 0.0   # beyond the oldest observed close: no invention


def test_windows_past_the_data_warn_instead_of_scoring_zero(flat):
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        bt = backtest_flat(flat, ["2025-05-01"], horizon_days=90)
    assert any(issubclass(x.category, CutoffWarning) and "not scored" in str(x.message) for x in w)
    assert not bt["scored"].item() and np.isnan(bt["actual"].item())


def test_stage_never_left_is_unknown_not_zero(flat):
    hist = stage_history_from_flat(flat)
    assert len(hist) == len(flat) + int(flat["is_closed"].sum())
    with pytest.warns(UserWarning, match="no deal left them"):
        m = MarkovModel.fit(hist)
    assert m.win_probability[["discover", "propose", "negotiate"]].isna().all()
    assert 0 < m.win_probability["qualify"] < 1


def test_products_checked_against_a_list_with_suggestions():
    rep = check_products(pd.Series(["CRM Pro", "CRMPro", "crm pro", "CRM Lite", "Analitycs", None]),
                         ["CRM Pro", "CRM Lite", "Analytics"])
    assert rep[["value", "rows", "suggestion"]].values.tolist() == [["Analitycs", 1, "Analytics"]]


def test_amounts_from_a_price_list_then_a_stated_fallback():
    o = pd.DataFrame({"amount": [1000.0, None, None, None], "product": ["CRM Pro", "crm-pro", "Other", None],
                      "stage": ["won", "propose", "qualify", "qualify"]})
    a, rep = fill_amounts(o, prices={"CRM Pro": 800.0}, fallback=500.0)
    assert a.tolist() == [1000.0, 800.0, 500.0, 500.0]
    assert rep.set_index("source")["rows"].to_dict() == {
        "amount in the export": 1, "product price list": 1, "fallback: a stated amount": 2}
    with pytest.raises(ValueError, match="fallback must be"):
        fill_amounts(o, fallback="mode")


def test_time_to_close_with_open_deals_censored_is_closer_to_the_truth():
    from crmsim.pipeline import time_to_close

    # every deal closed by 2030: the true time to close of the deals created in the first year
    full, _ = synth.opportunities(4000, start="2024-01-01", today="2030-01-01", seed=8)
    full = full[full["created_at"] < "2025-01-01"]
    truth = ((full["closed_at"] - full["created_at"]) / pd.Timedelta(days=1)).median()
    # the same deals as an export on 2025-01-01 shows them: recent ones still open
    cut = pd.Timestamp("2025-01-01")
    now = full.copy()
    late = now["closed_at"] >= cut
    now.loc[late, "closed_at"] = pd.NaT
    now.loc[late, "stage"] = "propose"
    t = time_to_close(now, now=cut).iloc[0]
    assert t["open"] == int(late.sum()) > 0
    assert abs(t["km_median_days"] - truth) < abs(t["median_days"] - truth)
    assert abs(t["km_median_days"] - truth) / truth < 0.10
