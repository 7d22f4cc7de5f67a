"""A generated bad-input corpus for the table commands (crmsim reclaim | ageing | writeoff | score |
assign | dedup), on small exports cut from the bundled examples in their own column names:

* every column a command needs, dropped: a named error (exit 2) naming the column;
* every column it converts, one cell made unreadable (a date that is not one, an amount that is
  text, negative or infinite, a flag that is neither yes nor no, a blank or repeated id): the run
  goes on (exit 0) and that row, and only that row, is in the quarantine with the export's column
  named;
* the file itself wrong (missing, empty, a folder, not UTF-8, an unknown sheet, a rule file that is
  not TOML or has an unknown key): a named error.

Never a traceback. The counts are printed (``pytest -s``) for the hardening issue's closing note.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from crmsim.cli import main

EX = Path(__file__).resolve().parent.parent / "crmsim" / "examples"
ROW = 3                       # the mutated row (its number in the file: ROW + 2)

BAD = {"date": ["2025-13-45", "soon"], "money": ["abc", "-5", "inf"], "number": ["many", "inf"],
       "flag": ["maybe"], "id": ["", "<dup>"], "key": [""]}    # key: an id that may repeat (a customer)


def _starter_customers() -> pd.DataFrame:
    t = pd.read_excel(EX / "starter" / "data" / "customers.xlsx", dtype=str, keep_default_na=False).head(40)
    return t.drop_duplicates("Account ID").reset_index(drop=True)


#: command -> (the table mutated, its source, argv with {t} for it and {d} for the folder, converted
#: columns {export column: kind}, columns it cannot do without)
COMMANDS = {
    "reclaim": ("customers", _starter_customers,
                ["reclaim", "{t}", "--policy", str(EX / "starter" / "policy.toml"), "--as-of", "2025-07-01"],
                {"Account ID": "id", "Owner Since": "date", "Last Activity": "date", "Last Won Deal": "date",
                 "Locked": "flag"},
                ["Account ID", "Account Owner", "Owner Since", "Last Activity"]),
    "ageing": ("invoices", lambda: pd.read_csv(EX / "erp_invoices.csv", dtype=str, keep_default_na=False).head(40),
               ["ageing", "{t}", "--map", str(EX / "erp_map.toml"), "--as-of", "2025-03-31"],
               {"Invoice No": "id", "Customer No": "key", "Amount": "money", "Due Date": "date", "Invoice Date": "date"},
               ["Invoice No", "Customer No", "Amount"]),
    "writeoff": ("payments", lambda: pd.read_csv(EX / "erp_payments.csv", dtype=str, keep_default_na=False).head(40),
                 ["writeoff", "{t}", "--receivables", str(EX / "erp_invoices.csv"), "--map", str(EX / "erp_map.toml")],
                 {"Amount": "money", "Payment Date": "date"}, ["Amount"]),
    "score": ("leads", lambda: pd.read_csv(EX / "crm_leads.csv", dtype=str, keep_default_na=False).head(40),
              ["score", "{t}", "--rules", str(EX / "crm_leads_rules.toml")],
              {"Lead ID": "id", "Engagement Score": "number"}, ["Engagement Score", "Lead Source"]),
    "assign": ("reps", lambda: pd.read_csv(EX / "crm_reps.csv", dtype=str, keep_default_na=False),
               ["assign", str(EX / "crm_leads.csv"), "--reps", "{t}", "--rules", str(EX / "crm_leads_rules.toml")],
               {"User": "id", "Capacity": "number"}, ["User"]),
    "dedup": ("leads", lambda: pd.read_csv(EX / "crm_leads.csv", dtype=str, keep_default_na=False).head(40),
              ["dedup", "{t}", "--rules", str(EX / "crm_leads_rules.toml")],
              {"Lead ID": "id"}, ["Email", "Full Name"]),
}


def _cell_cases():
    return [pytest.param(cmd, col, bad, id=f"{cmd}:{col}={bad or 'blank'}")
            for cmd, (_, _, _, conv, _) in COMMANDS.items() for col, kind in conv.items() for bad in BAD[kind]]


def _column_cases():
    return [pytest.param(cmd, col, id=f"{cmd}:-{col}") for cmd, (*_, need) in COMMANDS.items() for col in need]


def _argv(cmd: str, table: Path, out: Path) -> list[str]:
    return [a.replace("{t}", str(table)) for a in COMMANDS[cmd][2]] + ["--out", str(out)]


def _run(capsys, argv) -> tuple[int, str]:
    try:
        rc = main(argv)
    except SystemExit as e:
        rc = e.code
    got = capsys.readouterr()
    text = got.out + got.err
    assert "Traceback" not in text, text[-2000:]
    return rc, text


@pytest.mark.parametrize("cmd,col,bad", _cell_cases())
def test_an_unreadable_cell_sets_its_row_aside_and_names_the_column(tmp_path, capsys, cmd, col, bad):
    what, source, *_ = COMMANDS[cmd]
    t = source()
    t[col] = t[col].astype(object)
    t.loc[ROW, col] = t.loc[0, col] if bad == "<dup>" else bad
    path = tmp_path / f"{what}.csv"
    t.to_csv(path, index=False)
    rc, text = _run(capsys, _argv(cmd, path, tmp_path / "out"))
    assert rc == 0, text[-600:]
    q = pd.read_csv(tmp_path / "out" / "quarantine.csv", dtype=str, keep_default_na=False)
    mine = q[q["input"] == what]
    assert mine["source_row"].tolist() == [str(ROW + 2)], (mine.to_string(), text[-400:])
    assert f"'{col}'" in mine["reason"].iloc[0]
    assert f"set aside from {what}: 1 row(s), first row {ROW + 2}" in text


@pytest.mark.parametrize("cmd,col", _column_cases())
def test_a_missing_column_is_a_named_error(tmp_path, capsys, cmd, col):
    what, source, *_ = COMMANDS[cmd]
    path = tmp_path / f"{what}.csv"
    source().drop(columns=[col]).to_csv(path, index=False)
    rc, text = _run(capsys, _argv(cmd, path, tmp_path / "out"))
    assert rc == 2 and text.startswith("error: "), text[-600:]
    # named by the export's column or by crmsim's name for it
    from crmsim.errors import read_toml

    maps = {**read_toml(EX / "erp_map.toml")["columns"], **read_toml(EX / "crm_leads_rules.toml")["columns"],
            **read_toml(EX / "starter" / "policy.toml")["columns"]}
    crm = [k for k, v in maps.items() if v == col]
    assert col in text or any(f"'{k}'" in text for k in crm), text


def _file_cases(tmp: Path):
    (tmp / "empty.csv").write_text("", encoding="utf-8")
    (tmp / "latin1.csv").write_bytes("Account ID,Account Owner\nK\xf6ln,r1\n".encode("latin-1"))
    (tmp / "a_folder").mkdir(exist_ok=True)
    (tmp / "bad.toml").write_text("[policy\nrules = 3", encoding="utf-8")
    (tmp / "unknown_key.toml").write_text('[policy]\nrules = [{ kind = "no_followup", limit_days = 30 }]\nspeed = 3\n',
                                          encoding="utf-8")
    (tmp / "wrong_kind.toml").write_text('[policy]\nrules = [{ kind = "no_lunch", limit_days = 30 }]\n', encoding="utf-8")
    book = tmp / "book.xlsx"
    if not book.exists():
        _starter_customers().to_excel(book, sheet_name="Accounts", index=False)
    pol = str(EX / "starter" / "policy.toml")
    return [
        ("no such file", ["reclaim", str(tmp / "nope.csv"), "--policy", pol], "nope.csv"),
        ("empty file", ["reclaim", str(tmp / "empty.csv"), "--policy", pol], "is empty"),
        ("a folder", ["ageing", str(tmp / "a_folder"), "--map", str(EX / "erp_map.toml")], "a_folder"),
        ("not UTF-8", ["reclaim", str(tmp / "latin1.csv"), "--policy", pol], "not UTF-8"),
        ("unknown sheet", ["reclaim", f"{book}#Kunden", "--policy", pol], "no sheet 'Kunden'"),
        ("rule file not TOML", ["reclaim", f"{book}#Accounts", "--policy", str(tmp / "bad.toml")], "bad.toml"),
        ("unknown rule key", ["reclaim", f"{book}#Accounts", "--policy", str(tmp / "unknown_key.toml"),
                              "--map", pol], "speed"),
        ("unknown rule kind", ["reclaim", f"{book}#Accounts", "--policy", str(tmp / "wrong_kind.toml"),
                               "--map", pol], "kind"),
        ("no such rule file", ["score", str(EX / "crm_leads.csv"), "--rules", str(tmp / "nope.toml")], "nope.toml"),
        ("scenario without the rule", ["score", str(EX / "crm_leads.csv"), "--rules",
                                       str(EX.parent / "scenarios" / "credit_policy.toml")], "no scoring rule"),
        ("bad passes", ["writeoff", str(EX / "erp_payments.csv"), "--receivables", str(EX / "erp_invoices.csv"),
                        "--map", str(EX / "erp_map.toml"), "--passes", "fifo"], "--passes"),
        ("bad buckets", ["ageing", str(EX / "erp_invoices.csv"), "--map", str(EX / "erp_map.toml"), "--buckets",
                         "30,0"], "--buckets"),
        ("assign without reps rows", ["assign", str(EX / "crm_leads.csv"), "--reps", str(tmp / "empty.csv"),
                                      "--rules", str(EX / "crm_leads_rules.toml")], "empty"),
        ("mql-only without scoring", ["assign", str(EX / "crm_leads.csv"), "--reps", str(EX / "crm_reps.csv"),
                                      "--rules", str(EX.parent / "scenarios" / "credit_policy.toml"), "--mql-only"],
         "assignment"),
        ("unmerge of something else", ["dedup", "--unmerge", str(tmp / "a_folder")], "merged"),
    ]


def _file_case_names() -> list[str]:
    import tempfile

    return [c for c, _, _ in _file_cases(Path(tempfile.mkdtemp()))]


@pytest.mark.parametrize("what", _file_case_names())
def test_a_bad_file_or_argument_is_a_named_error(tmp_path, capsys, what):
    argv, word = next((a, w) for c, a, w in _file_cases(tmp_path) if c == what)
    rc, text = _run(capsys, argv + ["--out", str(tmp_path / "out")] if argv[0] != "dedup" else argv)
    assert rc == 2, text[-600:]
    assert word in text, text[-600:]


def test_zz_shell_corpus_size(capsys):
    n = len(_cell_cases()), len(_column_cases()), len(_file_case_names())
    with capsys.disabled():
        print(f"\nshell bad-input corpus: {n[0]} unreadable cells, {n[1]} missing columns, {n[2]} bad files or "
              f"arguments = {sum(n)} cases")
    assert sum(n) >= 40
