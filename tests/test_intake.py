import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmsim.leads.intake import (
    ANONYMISED,
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


def test_addresses_with_non_ascii_characters_are_valid():
    df = pd.DataFrame({"n": ["Jörg Müller", "Anna", "Bo", "Cy"],
                       "e": ["jörg.müller@firma.de", "anna@münchen.de", "bo@ex_ample.com", "cy@@x.de"]})
    m = SourceMapping(source="s", channel="ads", columns={"n": "name", "e": "email"})
    acc, quar = intake({"s": df}, [m], IntakeRules(strict_formats=True, contact_required=False))
    assert acc["email"].tolist() == ["jörg.müller@firma.de", "anna@münchen.de"]
    assert quar["reasons"].tolist() == ["email_invalid", "email_invalid"]   # no _ in a host name, one @


def test_errors_name_source_and_column(tmp_path):
    with pytest.raises(KeyError, match=r"source 'fair': mapped column\(s\) \['Datum'\] not in the file"):
        intake({"fair": pd.DataFrame({"Full name": ["x"], "Firma": ["y"], "E-Mail": ["a@b.cn"],
                                      "Telefon": ["1"]})}, [FAIR])
    with pytest.raises(KeyError, match="no SourceMapping"):
        intake({"other": pd.DataFrame()}, [FAIR])
    assert SourceMapping(source="x", channel="Trade fair Hannover", columns={}).channel == "Trade fair Hannover"
    with pytest.raises(ValueError, match="either channel .* or channel_column"):
        SourceMapping(source="x", columns={})
    with pytest.raises(ValueError, match="either channel .* or channel_column"):
        SourceMapping(source="x", channel="a", channel_column="b", columns={})
    with pytest.raises(ValueError, match="channel_map needs channel_column"):
        SourceMapping(source="x", channel="a", channel_map={"x": "y"}, columns={})
    with pytest.raises(KeyError, match=r"mapped column\(s\) \['Quelle'\]"):
        intake({"s": pd.DataFrame({"a": [1]})}, [SourceMapping(source="s", channel_column="Quelle", columns={})])


def _olist_like():
    """An anonymised marketing-qualified-lead export as public data sets ship them: no names or
    contacts, date-only timestamps, the company's own channel labels, blanks and an odd column."""
    return pd.DataFrame({
        "mql_id": ["m1", "m2", "m3", "m4", "m5", "m6"],
        "first_contact_date": ["2018-02-01", "2018-02-01", "2018-02-03", "2018-02-05", "2018-02-05",
                               "2018-02-06"],
        "landing_page_id": ["p1", "p2", "p1", "p3", "p1", "p2"],
        "origin": ["organic_search", "paid_search", "Organic Search", None, "referral", "organic_search"],
        "stage": ["x", "y", "x", "x", "y", "x"],   # a column named like one of crmsim's
    })


def test_channels_from_a_column_with_a_value_map_and_a_report():
    m = SourceMapping(source="mql", channel_column="origin", columns={"mql_id": "lead_id",
                                                                      "first_contact_date": "created_at"},
                      channel_map={"organic_search": "organic", "Organic Search": "organic",
                                   "paid_search": "paid"})
    res = intake({"mql": _olist_like()}, [m], ANONYMISED)
    acc, quar = res
    assert len(quar) == 0 and len(acc) == 6          # the default rules would need names and contacts
    assert acc["channel"].tolist() == ["organic", "paid", "organic", "(blank)", "referral", "organic"]
    assert acc["landing_page_id"].tolist() == ["p1", "p2", "p1", "p3", "p1", "p2"]   # extras kept
    assert acc["src_stage"].tolist() == ["x", "y", "x", "x", "y", "x"] and (acc["stage"] == "raw").all()
    rep = res.report.set_index("value")
    assert rep.loc["referral", ["rows", "action"]].tolist() == [1, "kept"]
    assert rep.loc["(blank)", "first_rows"] == [4]
    assert rep.loc["landing_page_id", "action"] == "kept as extra column"
    # the same export with unmapped values quarantined: counted, with the reason, nothing lost
    q = m.model_copy(update={"unmapped_channels": "quarantine"})
    acc, quar = intake({"mql": _olist_like()}, [SourceMapping.model_validate(q.model_dump())], ANONYMISED)
    assert len(acc) + len(quar) == 6
    assert dict(zip(quar["mql_id"], quar["reasons"])) == {"m4": "channel_unmapped", "m5": "channel_unmapped"}
    # the default rules on an anonymised export quarantine every row, with the reasons named
    acc, quar = intake({"mql": _olist_like()}, [m])
    assert len(acc) == 0 and set(quar["reasons"]) == {"missing:name;no_contact"}


def test_first_and_last_name_columns_are_joined():
    df = pd.DataFrame({"Vorname": ["anna", None, "li"], "Nachname": ["berg", "ng", None],
                       "Mail": ["a@acme.de", "n@acme.de", "l@acme.de"]})
    m = SourceMapping(source="s", channel="fair", columns={"Vorname": "first_name", "Nachname": "last_name",
                                                           "Mail": "email"})
    acc, quar = intake({"s": df}, [m])
    assert acc["name"].tolist() == ["Anna Berg", "Ng", "Li"] and len(quar) == 0
    assert "Vorname" not in acc.columns   # mapped columns are not repeated as extras


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
