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

MAP = HistoryMapping(
    columns={"Opportunity ID": "opportunity_id", "Created": "created_at", "Close Date": "closed_at",
             "Expected Close": "expected_close", "Stage": "stage", "Amount": "amount", "Owner": "owner",
             "Lead Source": "channel", "Product": "product", "Account": "account"},
    stages={"Qualification": "qualify", "Needs Analysis": "discover", "Proposal/Price Quote": "propose",
            "Negotiation/Review": "negotiate", "Closed Won": "won", "Closed Lost": "lost"})


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
