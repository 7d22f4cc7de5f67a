import pandas as pd
import pytest

from crmsim import synth
from crmsim.tables import SCHEMAS, TableError, validate


@pytest.mark.parametrize("name, make", [
    ("leads", lambda: synth.leads(7, seed=1)),
    ("reps", lambda: synth.reps(4, seed=1)),
    ("customers", lambda: synth.customers(30, seed=1)),
])
def test_synthetic_tables_pass_their_schema(name, make):
    df = make()
    assert validate(name, df) is df


def test_missing_column_is_named():
    df = synth.reps(3, seed=1).drop(columns=["region"])
    with pytest.raises(TableError, match=r"(?s)table 'reps' \(reps\.csv\).*column 'region': expected column is required"):
        validate("reps", df, source="reps.csv")


def test_wrong_dtype_names_column_and_found_dtype():
    df = synth.reps(3, seed=1)
    df["max_open_leads"] = df["max_open_leads"].astype(float) + 0.5
    with pytest.raises(TableError) as e:
        validate("reps", df)
    assert "column 'max_open_leads': expected dtype 'int64'; found float64" in str(e.value)


def test_duplicate_id_names_rows():
    df = synth.leads(3, seed=2)
    df.loc[5, "lead_id"] = df.loc[4, "lead_id"]
    dup = df.loc[4, "lead_id"]
    with pytest.raises(TableError) as e:
        validate("leads", df)
    msg = str(e.value)
    assert "column 'lead_id'" in msg and "unique" in msg and dup in msg


def test_bad_values_name_the_offending_row_ids():
    df = synth.leads(3, seed=3)
    df.loc[[2, 7], "stage"] = "hot"
    df.loc[4, "channel"] = "Messe Hannover 2025"   # channels are the user's own names
    df.loc[5, "channel"] = ""                      # ... but not empty
    with pytest.raises(TableError) as e:
        validate("leads", df)
    p = e.value.problems
    row = p[p["column"] == "stage"].iloc[0]
    assert sorted(row["rows"]) == sorted(df.loc[[2, 7], "lead_id"].tolist())
    assert row["values"] == ["hot", "hot"]
    assert "isin" in row["expected"]
    row = p[p["column"] == "channel"].iloc[0]
    assert row["rows"] == [df.loc[5, "lead_id"]] and "non-empty" in row["expected"]


def test_every_schema_has_a_unique_key_first():
    for name, sch in SCHEMAS.items():
        key = next(iter(sch.columns.values()))
        assert key.unique, name


def test_unknown_table():
    with pytest.raises(KeyError, match="unknown table 'deals'"):
        validate("deals", pd.DataFrame())
