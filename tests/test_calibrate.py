"""Calibration recovers known parameters from a generated history, and the calibrated simulation
reproduces the history."""

import pandas as pd
import pytest

from crmsim.cli import main
from crmsim.experiments.calibrate import LeadHistoryMapping, calibrate, load_lead_history
from crmsim.sim.funnel import FunnelConfig, RepsConfig, export_history, simulate_funnel

START = pd.Timestamp("2025-01-06")


@pytest.fixture(scope="module")
def fitted():
    true = FunnelConfig(reps=RepsConfig(count=12))
    hist = export_history(simulate_funnel(true, seed=7, horizon_days=364))
    base = FunnelConfig(reps=RepsConfig(count=12), scoring={"mql_threshold": 60},
                        outcomes={"win_rate": 0.5, "sql_to_opportunity": 0.3})
    cfg, est = calibrate(hist, base, start=START, end=START + pd.Timedelta(days=364))
    return true, cfg, est


def test_rates_recovered_within_their_confidence_intervals(fitted):
    true, cfg, est = fitted
    e = est.set_index(["parameter", "channel"])
    inside, total = 0, 0
    for ch, p in true.channels.items():
        for param, value in (("volume_per_week", p.volume_per_week), ("invalid_share", p.invalid_share),
                             ("duplicate_share", p.duplicate_share)):
            lo, hi = e.loc[(param, ch), ["ci_low", "ci_high"]]
            inside += lo <= value <= hi
            total += 1
    print(f"{inside}/{total} channel rates inside their 95% CI")
    assert inside >= total - 2  # 95% intervals: about one miss in 18 is expected
    for param, value in (("win_rate", 0.25), ("sql_to_opportunity", 0.6), ("deal_amount_mean", 12000.0),
                         ("cycle_days_mean", 44.0)):
        lo, hi = e.loc[(param, "all"), ["ci_low", "ci_high"]]
        assert lo <= value <= hi, (param, value, lo, hi)
    intent_in = sum(e.loc[("intent_mean", ch), "ci_low"] <= p.mean_intent <= e.loc[("intent_mean", ch), "ci_high"]
                    for ch, p in true.channels.items())
    assert intent_in >= 5
    assert cfg.scoring.mql_threshold == true.scoring.mql_threshold  # 60 in the base, 40 recovered


def test_cli_calibrate_then_validate(root, tmp_path):
    out = tmp_path / "calibrated.toml"
    assert main(["calibrate", str(root / "data/examples/lead_history.csv"),
                 "--map", str(root / "data/examples/lead_history_map.toml"), "--out", str(out),
                 "--base", str(root / "scenarios/funnel.toml"), "--validate", "2", "--jobs", "1"]) == 0
    val = pd.read_csv(tmp_path / "calibrated.validation.csv").set_index("metric")
    for m in ("leads", "mql", "contacted", "opportunity"):
        assert val.loc[m, "ratio"] == pytest.approx(1.0, abs=0.05), m
    assert main(["validate", str(out)]) == 0
    assert "Calibrated simulation against the history" in (tmp_path / "calibrated.validation.html").read_text()


def test_unmapped_status_is_named(tmp_path):
    raw = pd.DataFrame({"c": ["2025-01-01", "2025-01-02"], "ch": ["ads", "ads"], "s": ["Won", "Maybe"]})
    m = LeadHistoryMapping(columns={"c": "created_at", "ch": "channel", "s": "status"},
                           statuses={"Won": "won"})
    with pytest.raises(ValueError, match=r"status value\(s\) \['Maybe'\] are not mapped \(rows \[2\]\)"):
        load_lead_history(raw, m)
    with pytest.raises(ValueError, match="required field 'status'"):
        LeadHistoryMapping(columns={"c": "created_at", "ch": "channel"})
