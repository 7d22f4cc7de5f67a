"""Table rules from the shell (crmsim.shell): each command answers what the domain rule answers on
the same rows, sets unusable rows aside with their row and reason, and reads and writes Excel."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from crmsim.cli import main

EX = Path(__file__).resolve().parent.parent / "crmsim" / "examples"
STARTER = EX / "starter"


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_reclaim_on_the_starter_workbook_is_the_policy_answer(tmp_path, capsys):
    from crmsim.customers import ReclaimPolicy, due_for_reclaim
    from crmsim.errors import read_toml

    out = tmp_path / "due.xlsx"
    code, text, err = run(capsys, "reclaim", STARTER / "data" / "customers.xlsx", "--policy", STARTER / "policy.toml",
                          "--out", out)
    assert code == 0, err
    assert "reclaim job of 2025-07-01 (the day after the export's last date)" in text
    sheets = pd.read_excel(out, sheet_name=None)
    assert set(sheets) == {"due", "reminders", "customers", "quarantine", "notes"}
    # the same rows through the rule in Python (read as a user would, minus the two messy rows)
    raw = pd.read_excel(STARTER / "data" / "customers.xlsx", dtype=str)
    doc = read_toml(STARTER / "policy.toml")
    c = raw.rename(columns={v: k for k, v in doc["columns"].items()})
    c = c.drop(index=[40, len(c) - 1])
    for col in ("received_at", "last_followup_at", "last_deal_at"):
        c[col] = pd.to_datetime(c[col])
    c["locked"] = c["locked"].eq("Yes")
    c["deal_closed"] = c["last_deal_at"].notna()
    expected = due_for_reclaim(c, ReclaimPolicy.model_validate(doc["policy"]), "2025-07-01")
    assert sorted(sheets["due"]["customer_id"]) == sorted(expected["customer_id"])
    assert len(expected) > 50
    q = sheets["quarantine"]
    assert q["source_row"].tolist() == [42, len(raw) + 1]
    assert "'Last Activity' (last_followup_at): 'n/a' is not a date" in q["reason"].iloc[0]
    assert "also at row 19" in q["reason"].iloc[1]
    assert "set aside from customers: 2 row(s), first row 42" in text
    # every customer is accounted for: evaluated or set aside
    assert len(sheets["customers"]) + len(q) == len(raw)


def test_reclaim_rebuilt_from_the_history_agrees_with_the_reclaims_the_crm_logged(tmp_path, capsys):
    """The CRM example was written by a pool whose rule is 30 silent days: the job rebuilt from its
    export on a day reclaims exactly the customers its owner-change log says it reclaimed."""
    own = pd.read_csv(EX / "crm_ownership.csv")
    logged = own[own["Change Type"] == "Reclaimed to pool"]
    day = logged["Changed On"].value_counts().index[0]       # the busiest reclaim day
    code, text, err = run(capsys, "reclaim", EX / "crm_accounts.csv", "--activities", EX / "crm_activities.csv",
                          "--deals", EX / "crm_deals.csv", "--ownership", EX / "crm_ownership.csv",
                          "--map", EX / "crm_map.toml", "--policy", EX.parent / "scenarios" / "pool_reclamation.toml",
                          "--as-of", day, "--out", tmp_path / "r")
    assert code == 0, err
    due = set(pd.read_csv(tmp_path / "r" / "due.csv")["customer_id"])
    assert due == set(logged.loc[logged["Changed On"] == day, "Account ID"])
    assert "excluded from followups: 3 row(s)" in text


def test_reclaim_variant_of_a_scenario_is_the_simulated_rule(tmp_path, capsys):
    sc = EX.parent / "scenarios" / "pool_reclamation.toml"
    counts = {}
    for variant in ("policy.rules.0.limit_days=15", "policy.rules.0.limit_days=90"):
        code, text, err = run(capsys, "reclaim", STARTER / "data" / "customers.xlsx", "--policy", sc,
                              "--variant", variant, "--map", STARTER / "policy.toml", "--out", tmp_path / variant)
        assert code == 0, err
        counts[variant] = len(pd.read_csv(tmp_path / variant / "due.csv"))
        assert "no_followup>" + variant.split("=")[1] + "d" in text
    assert counts["policy.rules.0.limit_days=15"] > counts["policy.rules.0.limit_days=90"]
    code, _, err = run(capsys, "reclaim", STARTER / "data" / "customers.xlsx", "--policy", sc, "--variant", "nope",
                       "--map", STARTER / "policy.toml")
    assert code == 2 and "no variant 'nope'; variants are" in err


def _erp(tmp_path) -> tuple[Path, Path, Path]:
    """An ERP export in its own shape: German column names, amounts with thousands separators and
    a currency sign, dates day-first, a credit note, a row without a customer, a payment for an
    invoice that does not exist and one without any reference."""
    inv = pd.DataFrame({
        "Beleg": ["R1", "R2", "R3", "R4", "R5", "R6"],
        "Kunde": ["K1", "K1", "K2", "K2", "", "K3"],
        "Betrag": ["1.200,00 €", "300,00 €", "2.500,50 €", "-50,00 €", "99,00 €", "800,00 €"],
        "Fällig": ["15.01.2025", "15.02.2025", "31.03.2025", "31.03.2025", "01.04.2025", "2025-04-30"],
        "Datum": ["2024-12-16", "2025-01-16", "2025-03-01", "2025-03-01", "2025-03-01", "2025-05-20"]})
    pay = pd.DataFrame({
        "Zahlung": ["Z1", "Z2", "Z3", "Z4"], "Beleg": ["R1", "R3", "R999", ""],
        "Betrag": ["1.200,00", "1.000,00", "75,00", "10,00"],
        "Datum": ["2025-01-20", "2025-04-10", "2025-04-11", "2025-06-01"]})
    m = tmp_path / "map.toml"
    m.write_text('[columns]\ninvoice_id = "Beleg"\ncustomer_id = "Kunde"\namount = "Betrag"\ndue_at = "Fällig"\n'
                 'issued_at = "Datum"\npaid_at = "Datum"\npayment_id = "Zahlung"\n', encoding="utf-8")
    ip, pp = tmp_path / "rechnungen.xlsx", tmp_path / "zahlungen.csv"
    with pd.ExcelWriter(ip) as xw:
        inv.to_excel(xw, sheet_name="Offene Posten", index=False)
        pd.DataFrame({"info": ["exported 2025-04-30"]}).to_excel(xw, sheet_name="Info", index=False)
    pay.to_csv(pp, index=False)
    return ip, pp, m


def test_ageing_of_an_erp_workbook_with_payments(tmp_path, capsys):
    ip, pp, m = _erp(tmp_path)
    code, _, err = run(capsys, "ageing", ip, "--payments", pp, "--map", m, "--as-of", "2025-04-30")
    assert code == 2 and "has 2 sheets ['Offene Posten', 'Info']; name the one to read as" in err
    out = tmp_path / "ageing.xlsx"
    code, text, err = run(capsys, "ageing", f"{ip}#Offene Posten", "--payments", pp, "--map", m,
                          "--as-of", "2025-04-30", "--out", out, "--currency", "EUR")
    assert code == 0, err
    sheets = pd.read_excel(out, sheet_name=None)
    items = sheets["open_items"].set_index("invoice_id")
    # R1 paid in full; R2 300 open, 74 days past due (15.02. is 15 February); R3 2,500.50 - 1,000 open, 30 days; R6 issued later
    assert sorted(items.index) == ["R2", "R3"]
    assert items.loc["R2", "open"] == pytest.approx(300.0) and items.loc["R2", "days_past_due"] == 74
    assert items.loc["R3", "open"] == pytest.approx(1500.5) and items.loc["R3", "bucket"] == "1-30"
    assert "1,800.50 EUR open" in text
    reasons = " | ".join(sheets["quarantine"]["reason"])
    assert "'Betrag' (amount): negative (-50,00 €)" in reasons and "'Kunde' (customer_id): blank" in reasons
    notes = " | ".join(sheets["notes"]["note"])
    assert "1 invoice(s) issued after 2025-04-30 left out" in notes
    assert "1 payment(s) dated after 2025-04-30 left out" in notes
    assert "1 payment(s) have no customer id and name no known invoice: unidentified (first: Z3)" in notes
    # the money is formatted with its currency in the workbook
    import openpyxl

    ws = openpyxl.load_workbook(out)["ageing"]
    head = [c.value for c in ws[1]]
    assert ws.cell(2, head.index("open") + 1).number_format == '#,##0.00 "EUR"'


def test_writeoff_conserves_money_and_keeps_what_it_cannot_place(tmp_path, capsys):
    ip, pp, m = _erp(tmp_path)
    code, text, err = run(capsys, "writeoff", pp, "--receivables", f"{ip}#Offene Posten", "--map", m,
                          "--out", tmp_path / "w")
    assert code == 0, err
    t = {k: pd.read_csv(tmp_path / "w" / f"{k}.csv") for k in ("allocations", "payments", "prepayments",
                                                                   "unidentified", "receivables")}
    paid = t["payments"]["amount"].sum()
    assert paid == pytest.approx(t["allocations"]["amount"].sum() + t["prepayments"]["amount"].sum()
                                 + t["unidentified"]["unallocated"].sum())
    assert set(t["unidentified"]["payment_id"]) == {"Z3", "Z4"}
    assert t["allocations"].set_index("payment_id").loc["Z1", "invoice_id"] == "R1"
    assert "reference" in text


def test_score_reads_numbers_from_text_and_explains_every_point(tmp_path, capsys):
    rules = tmp_path / "scoring.toml"
    rules.write_text('[scoring]\nmql_threshold = 40\ngrades = { hot = 60, warm = 30 }\nfallback_grade = "cold"\n'
                     'rules = [{ points = 30, when = [{ field = "Visits", op = ">=", value = 3 }] },\n'
                     '         { points = 25, name = "decision maker", when = [{ field = "Title", op = "in", '
                     'value = ["CEO", "CFO"] }] }]\n', encoding="utf-8")
    leads = tmp_path / "leads.csv"
    pd.DataFrame({"Lead": ["a", "b", "c", "d"], "Visits": ["5", "1", "many", " 3 "],
                  "Title": ["CEO", "CEO", "CTO", ""]}).to_csv(leads, index=False)
    code, text, err = run(capsys, "score", leads, "--rules", rules, "--out", tmp_path / "s")
    assert code == 0, err
    s = pd.read_csv(tmp_path / "s" / "scored.csv").set_index("lead_id", drop=False)
    assert s["score"].tolist() == [55.0, 25.0, 30.0]           # c set aside: 'many' is not a number
    assert s["grade"].tolist() == ["warm", "cold", "warm"] and s["mql"].tolist() == [True, False, False]
    assert s.loc["row 2", "explanation"] == "Visits ge 3 +30; decision maker +25"
    q = pd.read_csv(tmp_path / "s" / "quarantine.csv")
    assert q["source_row"].tolist() == [4] and "'Visits': 'many' is not a number" in q["reason"].iloc[0]
    assert "2 MQL" not in text and "1 MQL" in text


def test_assign_by_a_funnel_scenario_rule_with_capacity(tmp_path, capsys):
    reps = tmp_path / "reps.csv"
    pd.DataFrame({"rep_id": ["r1", "r2", "r3"], "capacity": ["2", "2", "1"]}).to_csv(reps, index=False)
    leads = tmp_path / "mqls.csv"
    pd.DataFrame({"lead_id": [f"L{k}" for k in range(7)]}).to_csv(leads, index=False)
    code, text, err = run(capsys, "assign", leads, "--reps", reps, "--rules", EX.parent / "scenarios" / "funnel.toml",
                          "--out", tmp_path / "a")
    assert code == 0, err
    a = pd.read_csv(tmp_path / "a" / "assignments.csv")
    assert a["owner_id"].value_counts().to_dict() == {"r1": 2, "r2": 2, "r3": 1}
    assert a["reason"].tolist().count("capacity_full") == 2
    assert "5 assigned, 2 unassigned" in text and "capacity_full 2" in text


def test_dedup_merges_and_unmerge_restores_the_rows(tmp_path, capsys):
    src = tmp_path / "leads.csv"
    rows = pd.DataFrame({
        "lead_id": ["L1", "L2", "L3", "L4", "L5"],
        "name": ["Anna Berg", "Anna Berg", "Jörg Müller", "Jorg Muller", "Zed"],
        "email": ["anna.berg@acme.de", "ANNA.BERG@acme.de", "joerg@birch.de", "joerg@birch.de", "zed@x.com"],
        "phone": ["+49 30 1234567", "", "", "0221 555", ""], "company": ["Acme GmbH", "Acme", "Birch AG", "Birch", ""],
        "city": ["Berlin", "Berlin", "Köln", "Köln", ""]})
    rows.to_csv(src, index=False)
    code, text, err = run(capsys, "dedup", src, "--out", tmp_path / "d.xlsx")
    assert code == 0, err
    merged = pd.read_excel(tmp_path / "d.xlsx", sheet_name="merged")
    assert merged["lead_id"].tolist() == ["L1", "L3", "L5"]
    assert merged.set_index("lead_id").loc["L3", "phone"] == "0221 555"     # filled from the absorbed record
    code, text, err = run(capsys, "dedup", "--unmerge", tmp_path / "d.xlsx", "--out", tmp_path / "back")
    assert code == 0, err
    back = pd.read_csv(tmp_path / "back" / "restored.csv", keep_default_na=False, dtype=str)
    pd.testing.assert_frame_equal(back[rows.columns], rows.astype(str), check_dtype=False)


def test_shell_errors_name_the_file_column_and_what_was_expected(tmp_path, capsys):
    c = tmp_path / "c.csv"
    pd.DataFrame({"id": ["1"], "owner": ["r1"]}).to_csv(c, index=False)
    pol = tmp_path / "p.toml"
    pol.write_text('[policy]\nrules = [{ kind = "no_followup", limit_days = -1 }]\n', encoding="utf-8")
    code, _, err = run(capsys, "reclaim", c, "--policy", pol)
    assert code == 2 and "p.toml: [policy]: rules.0.limit_days" in err
    pol.write_text('[policy]\nrules = [{ kind = "no_followup", limit_days = 30 }]\n', encoding="utf-8")
    code, _, err = run(capsys, "reclaim", c, "--policy", pol)
    assert code == 2 and "customers table: column(s) ['customer_id'] are missing" in err
    (tmp_path / "old.xls").write_bytes(b"\xd0\xcf\x11\xe0")
    code, _, err = run(capsys, "reclaim", tmp_path / "old.xls", "--policy", pol)
    assert code == 2 and "old-style .xls workbook; save it as .xlsx" in err
    (tmp_path / "fake.xlsx").write_text("not a workbook", encoding="utf-8")
    sc = tmp_path / "sc.toml"
    sc.write_text("[scoring]\nmql_threshold = 10\n", encoding="utf-8")
    code, _, err = run(capsys, "score", tmp_path / "fake.xlsx", "--rules", sc)
    assert code == 2 and "is not a readable .xlsx workbook" in err
    pd.DataFrame({"customer_id": ["1"], "owner_id": ["r1"], "received_at": ["2024-12-01"],
                  "last_followup_at": [""]}).to_csv(c, index=False)
    mine = tmp_path / "mine.xlsx"
    mine.write_bytes(b"the user's own workbook")
    code, _, err = run(capsys, "reclaim", c, "--policy", pol, "--as-of", "2025-01-01", "--out", mine)
    assert code == 2 and "exists and was not written by crmsim" in err
    assert mine.read_bytes() == b"the user's own workbook"
    code, _, err = run(capsys, "reclaim", c, "--policy", pol, "--as-of", "2025-13-45")
    assert code == 2 and "--as-of '2025-13-45': expected a date" in err


def test_load_export_quarantines_each_bad_row_once_with_every_reason():
    from crmsim.shell import Col, load_export

    raw = pd.DataFrame({"k": ["a", "b", "", "a"], "d": ["2025-01-01", "x", "2025-01-02", "y"], "f": ["yes", "no",
                                                                                                  "maybe", ""]})
    got = load_export(raw, "t", [Col("k", "id", unique=True), Col("d", "date"), Col("f", "flag")])
    assert got.table["k"].tolist() == ["a"] and got.table["f"].tolist() == [True]
    assert got.quarantine["source_row"].tolist() == [3, 4, 5]
    assert got.quarantine["reason"].tolist() == [
        "'d': 'x' is not a date", "'k': blank; 'f': 'maybe' is not yes/no (true/false, 1/0)",
        "'k': a also at row 2; 'd': 'y' is not a date"]
    assert np.array_equal(got.table["d"].to_numpy(), pd.to_datetime(["2025-01-01"]).to_numpy())


FEBRL_TOML = """[columns]
lead_id = "rec_id"

[dedup]
threshold = 0.70
keys = [{ fields = ["soc_sec_id"], transform = "digits" }, { fields = ["date_of_birth"], transform = "digits" },
        { fields = ["surname", "postcode"] }, { fields = ["given_name", "suburb"] },
        { fields = ["surname"], transform = "soundex" }]
fields = [{ field = "given_name", method = "jaro_winkler", weight = 1 }, { field = "surname", method = "jaro_winkler", weight = 1.5 },
          { field = "street_number", method = "exact", weight = 0.5 }, { field = "address_1", method = "token_sort", weight = 1 },
          { field = "suburb", method = "jaro_winkler", weight = 1 }, { field = "postcode", method = "jaro_winkler", weight = 0.7 },
          { field = "date_of_birth", method = "ratio", weight = 1.5 }, { field = "soc_sec_id", method = "ratio", weight = 2 }]
"""


def test_dedup_from_the_shell_on_febrl_matches_the_python_rule(tmp_path, capsys):
    """Real record-linkage data (FEBRL dataset2, headers and values padded with spaces as the file
    has them) through `crmsim dedup`: the same pairs as the Python rule, F1 0.988."""
    root = Path(__file__).resolve().parent.parent
    (tmp_path / "febrl.toml").write_text(FEBRL_TOML, encoding="utf-8")
    code, text, err = run(capsys, "dedup", root / "data" / "febrl" / "dataset2.csv", "--rules", tmp_path / "febrl.toml",
                          "--out", tmp_path / "d")
    assert code == 0, err
    p = pd.read_csv(tmp_path / "d" / "pairs.csv")
    dup = p[p["duplicate"]]
    ent = lambda s: s.str.extract(r"rec-(\d+)-")[0]  # noqa: E731
    tp = int((ent(dup["lead_i"]) == ent(dup["lead_j"])).sum())
    precision, recall = tp / len(dup), tp / 1934
    assert precision >= 0.99 and recall >= 0.97, (precision, recall)
    groups = pd.read_csv(tmp_path / "d" / "groups.csv")
    assert len(groups) == 5000 and groups["lead_id"].str.startswith("rec-").all()   # ids read without their padding


def test_dedup_from_the_shell_with_em_weights_on_febrl(tmp_path, capsys):
    """The same rule with `weights = "em"`: no weights or threshold tuned on labels, the EM fit
    is stated and written as its own table, and F1 reaches 0.995 on FEBRL dataset2."""
    root = Path(__file__).resolve().parent.parent
    toml = FEBRL_TOML.replace("threshold = 0.70", 'threshold = 0.5\nweights = "em"')
    (tmp_path / "febrl.toml").write_text(toml, encoding="utf-8")
    code, text, err = run(capsys, "dedup", root / "data" / "febrl" / "dataset2.csv", "--rules", tmp_path / "febrl.toml",
                          "--out", tmp_path / "d")
    assert code == 0, err
    assert "P(match) >= 0.5" in text and "estimated by EM" in text
    p = pd.read_csv(tmp_path / "d" / "pairs.csv")
    dup = p[p["duplicate"]]
    ent = lambda s: s.str.extract(r"rec-(\d+)-")[0]  # noqa: E731
    tp = int((ent(dup["lead_i"]) == ent(dup["lead_j"])).sum())
    precision, recall = tp / len(dup), tp / 1934
    assert 2 * precision * recall / (precision + recall) >= 0.995, (precision, recall)
    em = pd.read_csv(tmp_path / "d" / "em.csv")
    assert set(em.columns) >= {"field", "level", "m", "u", "weight"} and len(em) == 8 * 4
