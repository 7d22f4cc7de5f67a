import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmsim.leads.intake import (
    IntakeRules,
    SourceMapping,
    intake,
    normalise_company,
    normalise_phone,
)

FAIR = SourceMapping(source="fair", channel="events", default_region="DE",
                     columns={"Full name": "name", "Firma": "company", "E-Mail": "email",
                              "Telefon": "phone", "Datum": "created_at"})


@pytest.mark.parametrize("raw, expected", [
    ("Acme GmbH", "Acme"), ("Acme Trading Co., Ltd.", "Acme Trading"), ("Foo Inc.", "Foo"),
    ("Bar Holdings Limited", "Bar Holdings"), ("北京字节跳动科技有限公司", "北京字节跳动科技"),
    ("Baz GmbH & Co. KG", "Baz"), ("  Spaced   Name  LLC ", "Spaced Name"), (None, None),
])
def test_company_suffixes(raw, expected):
    assert normalise_company(raw) == expected


@pytest.mark.parametrize("raw, region, expected", [
    ("030 1234567", "DE", ("+49301234567", True)),
    ("+86 138 0013 8000", "DE", ("+8613800138000", True)),
    ("0086 13800138000", "DE", ("+8613800138000", True)),
    ("138-0013-8000", "CN", ("+8613800138000", True)),
    ("12", "CN", (None, False)),
    ("call me", "CN", (None, False)),
    ("", "CN", (None, False)),
])
def test_phones_to_e164(raw, region, expected):
    assert normalise_phone(raw, region) == expected


def test_intake_accepts_cleans_and_quarantines_with_reasons(tmp_path):
    f = tmp_path / "fair.csv"
    f.write_text(
        "Full name,Firma,E-Mail,Telefon,Datum\n"
        "anna  berg,Acme GmbH,Anna.Berg@Acme.DE,030 1234567,2025-03-01\n"    # clean
        ",Foo Inc,foo@foo.com,,2025-03-01\n"                                   # no name
        "Test,Bar,test@bar.com,,2025-03-02\n"                                  # fake
        "Li Wang,Baz,li@mailinator.com,,2025-03-02\n"                          # blocked domain
        "Eva Lind,Qux,not-an-email,+49 30 1234568,yesterday\n"                 # bad email + date
        "Tom Ng,Quux,,12,2025-03-03\n"                                         # no valid contact
    )
    acc, quar = intake({"fair": f}, [FAIR])
    assert len(acc) + len(quar) == 6
    assert acc["name"].tolist() == ["Anna Berg"]
    row = acc.iloc[0]
    assert (row["email"], row["phone"], row["company_norm"], row["channel"]) == (
        "anna.berg@acme.de", "+49301234567", "Acme", "events")
    assert row["lead_id"] == "fair:1" and row["source_row"] == 1
    reasons = dict(zip(quar["source_row"], quar["reasons"]))
    assert reasons == {2: "missing:name", 3: "fake", 4: "blocked_domain",
                       5: "created_at_invalid", 6: "no_contact"}
    assert quar.loc[quar["source_row"] == 5, "Full name"].item() == "Eva Lind"  # original values kept


def test_lenient_and_strict_formats():
    df = pd.DataFrame({"n": ["Eva Lind"], "e": ["eva@lind"], "p": ["+49 30 1234568"]})
    m = SourceMapping(source="s", channel="ads", columns={"n": "name", "e": "email", "p": "phone"})
    acc, quar = intake({"s": df}, [m])
    assert len(quar) == 0 and acc["issues"].item() == "email_invalid:eva@lind"
    assert pd.isna(acc["email"].item()) and acc["phone"].item() == "+49301234568"
    acc, quar = intake({"s": df}, [m], IntakeRules(strict_formats=True))
    assert len(acc) == 0 and quar["reasons"].item() == "email_invalid"


def test_errors_name_source_and_column(tmp_path):
    with pytest.raises(KeyError, match=r"source 'fair': mapped column\(s\) \['Datum'\] not in the file"):
        intake({"fair": pd.DataFrame({"Full name": ["x"], "Firma": ["y"], "E-Mail": ["a@b.cn"],
                                      "Telefon": ["1"]})}, [FAIR])
    with pytest.raises(KeyError, match="no SourceMapping"):
        intake({"other": pd.DataFrame()}, [FAIR])
    with pytest.raises(ValueError, match="unknown channel"):
        SourceMapping(source="x", channel="fax", columns={})


TEXT = st.one_of(st.none(), st.text(max_size=12),
                 st.sampled_from(["test", "a@b.com", "x@mailinator.com", "030 1234567", "2025-01-01", ""]))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(TEXT, TEXT, TEXT, TEXT), min_size=0, max_size=15))
def test_intake_never_loses_a_row(rows):
    df = pd.DataFrame(rows, columns=["n", "e", "p", "d"])
    m = SourceMapping(source="s", channel="social", columns={"n": "name", "e": "email", "p": "phone", "d": "created_at"})
    acc, quar = intake({"s": df}, [m])
    assert len(acc) + len(quar) == len(df)
    seen = sorted(list(acc.get("source_row", [])) + list(quar.get("source_row", [])))
    assert seen == list(range(1, len(df) + 1))
    assert (quar.get("reasons", pd.Series(dtype=str)) != "").all()
