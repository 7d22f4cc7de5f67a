"""Lead rules replayed on history: table-driven cases with counts worked out by hand."""

import pandas as pd
import pytest

from crmsim import synth
from crmsim.errors import InputError
from crmsim.experiments import LeadHistoryMapping, load_lead_history
from crmsim.leads.replay import AS_RECORDED, ReplayRules, replay
from crmsim.leads.scoring import ScoringRule

D = pd.Timestamp("2025-03-03")  # a Monday


def _history():
    # lead, channel, created (days from D), status, first contact (days from D or None)
    rows = [("a", "fair", 0, "won", 0.2), ("b", "web", 0, "mql", 1.5), ("c", "fair", 1, "lost", 4.5),
            ("d", "web", 1, "nurture", None), ("e", "fair", 2, "won", 2.1), ("f", "web", 3, "mql", None),
            ("g", "fair", 3, "nurture", None), ("h", "web", 4, "won", 4.3)]
    return pd.DataFrame({
        "lead_id": [r[0] for r in rows], "channel": [r[1] for r in rows],
        "created_at": [D + pd.Timedelta(days=r[2]) for r in rows], "status": [r[3] for r in rows],
        "first_contact_at": [D + pd.Timedelta(days=r[4]) if r[4] is not None else pd.NaT for r in rows]})


FAIR = ScoringRule(rules=[{"points": 50, "when": [{"field": "channel", "op": "==", "value": "fair"}]}],
                   mql_threshold=40)


def test_mql_precision_recall_and_unknown_outcomes():
    res = replay(_history(), {"fair only": ReplayRules(scoring=FAIR, recycle={"max_wait_days": 0})}, reps=2)
    s = res.summary.set_index("rules")
    # as recorded: a b c e f h are MQLs (d, g nurture); won a e h -> precision 3/6, recall 3/3
    assert s.loc[AS_RECORDED, ["mql", "won_in_mql", "precision", "recall"]].tolist() == [6, 3, 0.5, 1.0]
    # fair only: a c e g; g was never worked (nurture, no contact): outcome unknown
    r = s.loc["fair only"]
    assert (r["mql"], r["mql_not_worked"], r["mql_known"], r["won_in_mql"]) == (4, 1, 3, 2)
    assert r["precision"] == pytest.approx(2 / 3) and r["recall"] == pytest.approx(2 / 3)
    assert r["lift"] == pytest.approx((2 / 3) / (3 / 8))


def test_recycle_knows_only_past_contacts():
    rules = ReplayRules(scoring=ScoringRule(rules=[], mql_threshold=0), recycle={"max_wait_days": 1})
    res = replay(_history(), {"all, recycle after 1 day": rules}, reps=2, as_recorded=False)
    per = res.leads.set_index("lead_id")
    # c: created day 1, contacted day 4.5: at the end of day 2 it waited 2 > 1 days -> recycled then
    assert per.loc["c", "recycled_at"] == D + pd.Timedelta(days=3)
    # f: a recorded MQL never contacted -> recycled at the end of day 4 (created day 3)
    assert per.loc["f", "recycled_at"] == D + pd.Timedelta(days=5)
    # b: contacted at day 1.5, before the end of day 1 + 1 day: kept
    assert pd.isna(per.loc["b", "recycled_at"])
    # d, g: nurture in the history, never worked: the rule cannot judge them
    assert pd.isna(per.loc["d", "recycled_at"]) and pd.isna(per.loc["g", "recycled_at"])
    s = res.summary.iloc[0]
    assert (s["recycled"], s["recycle_unknown"]) == (2, 2)
    assert per.loc[["a", "b", "e", "h"], "recycled_at"].isna().all()


def test_load_per_rep_and_week_under_round_robin():
    rules = ReplayRules(scoring=ScoringRule(rules=[], mql_threshold=0))
    res = replay(_history(), {"all": rules}, reps=2, as_recorded=False)
    wk = res.weekly.groupby("owner_id")["mql"].sum()
    assert wk.tolist() == [4, 4]     # 8 leads, in turn
    assert res.summary.iloc[0]["load_max"] == 4


def test_no_look_ahead_decisions_before_a_date_ignore_later_rows():
    mqls, deals = synth.marketing_export(120, seed=9)
    m = LeadHistoryMapping(columns={"mql_id": "lead_id", "first_contact_date": "created_at", "origin": "channel"},
                           default_status="mql", deals={"lead_id": "mql_id", "columns": {"won_date": "closed_at"}})
    h = load_lead_history(mqls, m, deals=deals).table
    rule = {"organic": ReplayRules(scoring=ScoringRule(
        rules=[{"points": 50, "when": [{"field": "channel", "op": "in", "value": ["organic_search", "referral"]}]}],
        mql_threshold=40), assignment={"policy": "least_loaded"}, recycle={"max_wait_days": 3})}
    cut = pd.Timestamp("2024-08-01")
    full = replay(h, rule, reps=3).leads
    part = replay(h[h["created_at"] < cut], rule, reps=3).leads
    before = full[full["lead_id"].isin(part["lead_id"])].reset_index(drop=True)
    pd.testing.assert_frame_equal(before[["rules", "lead_id", "mql", "owner_id"]],
                                  part[["rules", "lead_id", "mql", "owner_id"]])


def test_bad_history_is_a_named_error():
    with pytest.raises(InputError, match=r"lacks column\(s\) \['status'\]"):
        replay(_history().drop(columns="status"), {}, reps=2)
    with pytest.raises(InputError, match="reps must be >= 1"):
        replay(_history(), {}, reps=0)


def test_cli_replay_writes_its_files_and_keeps_the_users(root, tmp_path, capsys):
    args = ["replay", str(root / "data/examples/mql_export.csv"), "--map", str(root / "data/examples/mql_export_map.toml"),
            "--rules", str(root / "data/examples/mql_replay_rules.toml"), "--reps", "6", "--out", str(tmp_path / "r")]
    from crmsim.cli import main

    assert main(args) == 0
    out = capsys.readouterr().out
    assert "search and referral only:" in out and "recall" in out
    s = pd.read_csv(tmp_path / "r/replay_summary.csv").set_index("rules")
    assert s.loc["search and referral only", "mql"] < s.loc[AS_RECORDED, "mql"]
    assert main(args) == 0                       # its own files may be rewritten
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine/replay_leads.csv").write_text("the user's own file")
    assert main(args[:-1] + [str(tmp_path / "mine")]) == 2
    assert "was not written by crmsim" in capsys.readouterr().err
    assert (tmp_path / "mine/replay_leads.csv").read_text() == "the user's own file"
    bad = tmp_path / "bad.toml"
    bad.write_text("[rules.x.scoring]\nmql_threshold = 'high'\n")
    assert main(args[:5] + [str(bad)] + args[6:]) == 2
    assert "rules.x: scoring.mql_threshold" in capsys.readouterr().err
