"""Load an opportunity history exported from any CRM, clean it, and report what was cleaned.

Real exports are messy: mixed date formats, the same product spelled two ways, stage labels in
the CRM's own words, amounts with currency signs and thousands separators, missing values, open
deals without a close date. :func:`load_history` maps and cleans them and returns a cleaning
report; no row is dropped (a value it cannot read is left missing and listed in the report).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from pydantic import Field, field_validator

from crmsim.config import Config, check_known
from crmsim.tables import read_table

__all__ = ["HistoryMapping", "load_history", "canonical_text", "parse_amount"]

FIELDS = ("opportunity_id", "created_at", "closed_at", "expected_close", "stage", "amount",
          "owner", "channel", "product", "account")


def canonical_text(s) -> str | None:
    """Lower-case, punctuation to spaces, spaces collapsed: "CRM-Pro " and "crm pro" match.

    Examples
    --------
    >>> canonical_text("CRM-Pro "), canonical_text("  crm pro"), canonical_text(None)
    ('crm pro', 'crm pro', None)
    """
    if s is None or (isinstance(s, float) and np.isnan(s)) or s is pd.NA:
        return None
    t = re.sub(r"[^\w]+", " ", str(s).lower()).strip()
    return t or None


def parse_amount(s) -> float:
    """``"$1,234.50"``, ``"1.234,50 €"``, ``"12k"``, ``" 900 "`` -> float (NaN if unreadable).

    Examples
    --------
    >>> [parse_amount(x) for x in ["$1,234.50", "1.234,50 EUR", "12k", "-", None]]
    [1234.5, 1234.5, 12000.0, nan, nan]
    """
    if s is None or s is pd.NA or (isinstance(s, float) and np.isnan(s)):
        return np.nan
    if isinstance(s, (int, float, np.number)):
        return float(s)
    t = str(s).strip().lower()
    mult = 1.0
    if t.endswith("k"):
        mult, t = 1e3, t[:-1]
    elif t.endswith("m"):
        mult, t = 1e6, t[:-1]
    t = re.sub(r"[^\d,.\-]", "", t)
    if not re.search(r"\d", t):
        return np.nan
    if "," in t and "." in t:  # the later one is the decimal mark
        t = t.replace(".", "").replace(",", ".") if t.rfind(",") > t.rfind(".") else t.replace(",", "")
    elif "," in t:
        parts = t.split(",")
        t = t.replace(",", "") if all(len(p) == 3 for p in parts[1:]) else t.replace(",", ".")
    try:
        return float(t) * mult
    except ValueError:
        return np.nan


class HistoryMapping(Config):
    """How a CRM export maps onto crmsim's opportunity history.

    Parameters
    ----------
    columns : export column -> crmsim field
        (``opportunity_id``, ``created_at``, ``closed_at``, ``expected_close``, ``stage``, ``amount``,
        ``owner``, ``channel``, ``product``, ``account``).
    stages : export stage label -> crmsim stage (``qualify``... ``won``, ``lost``); labels are
        matched after :func:`canonical_text`.
    products : alias -> canonical product name (after :func:`canonical_text`); unlisted
        spellings that canonicalise alike are merged into their most frequent spelling.
    dayfirst : read ambiguous dates such as 03/04/2025 as 3 April.

    Examples
    --------
    >>> import pandas as pd
    >>> export = pd.DataFrame({"Deal": ["D1", "D2"], "Created": ["03/01/2025", "15/01/2025"], "Closed": ["10/02/2025", ""],
    ...                        "Phase": ["Closed Won", "Proposal Sent"], "Value": ["$1,200.00", "950"]})
    >>> m = HistoryMapping(columns={"Deal": "opportunity_id", "Created": "created_at", "Closed": "closed_at",
    ...                             "Phase": "stage", "Value": "amount"},
    ...                    stages={"Closed Won": "won", "Proposal Sent": "propose"}, dayfirst=True)
    >>> opps, report = load_history(export, m)
    >>> opps[["opportunity_id", "stage", "amount", "is_won"]].values.tolist(), str(opps["created_at"].iloc[1].date())
    ([['D1', 'won', 1200.0, True], ['D2', 'propose', 950.0, False]], '2025-01-15')
    """

    columns: dict[str, str]
    stages: dict[str, str] = {}
    products: dict[str, str] = {}
    dayfirst: bool = False
    required: tuple[str, ...] = Field(default=("opportunity_id", "created_at", "stage"))

    @field_validator("columns")
    @classmethod
    def _targets(cls, v: dict[str, str]) -> dict[str, str]:
        check_known(v.values(), FIELDS, "target field(s)")
        return v


def load_history(src, mapping: HistoryMapping, *, source: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read (CSV, Parquet or DataFrame), map and clean an opportunity export.

    Returns ``(opportunities, report)``. ``report`` has one row per field and kind of cleaning:
    ``field, action, rows, examples``, including values that could not be read (left missing).
    Closed deals get ``is_closed``/``is_won``; open deals keep a missing ``closed_at``.

    Examples
    --------
    >>> import pandas as pd
    >>> export = pd.DataFrame({"id": ["D1", "D2"], "created": ["2025-01-03", "2025-01-15"], "closed": ["2025-02-10", None],
    ...                        "stage": ["won", "Qualification"], "amount": ["1,200", "n/a"]})
    >>> m = HistoryMapping(columns={"id": "opportunity_id", "created": "created_at", "closed": "closed_at",
    ...                             "stage": "stage", "amount": "amount"}, stages={"qualification": "qualify"})
    >>> opps, report = load_history(export, m)
    >>> opps["stage"].tolist(), opps["amount"].tolist()
    (['won', 'qualify'], [1200.0, nan])
    >>> report[["field", "action", "rows"]].values.tolist()
    [['amount', 'currency sign / separators removed', 1], ['amount', 'unreadable amount (left missing)', 1], ['stage', "mapped from the CRM's label", 1], ['closed_at', 'open deal (no close date)', 1]]
    """
    name = source or (str(src) if not isinstance(src, pd.DataFrame) else "<DataFrame>")
    raw = read_table(src, source=name, na_values=("", "NA", "N/A", "null", "NULL", "-"))
    absent = sorted(set(mapping.columns) - set(raw.columns))
    if absent:
        raise KeyError(f"{name}: mapped column(s) {absent} not in the export; its columns are {list(raw.columns)}")
    inv = {v: k for k, v in mapping.columns.items()}
    missing_req = [f for f in mapping.required if f not in inv]
    if missing_req:
        raise KeyError(f"{name}: no column mapped to required field(s) {missing_req}")
    out = pd.DataFrame(index=raw.index)
    report = []

    def note(field, action, mask, values):
        n = int(np.asarray(mask, dtype=bool).sum())
        if n:
            ex = pd.Series(values)[np.asarray(mask, dtype=bool)].astype(str).unique()[:3].tolist()
            report.append({"field": field, "action": action, "rows": n, "examples": ex})

    for f in FIELDS:
        col = raw[inv[f]] if f in inv else pd.Series(pd.NA, index=raw.index, dtype="object")
        if col.dtype == object or pd.api.types.is_string_dtype(col):
            blank = col.astype("string").str.strip() == ""
            col = col.mask(blank.fillna(False).astype(bool))  # blank cells are missing values
        out[f] = col
    ids = out["opportunity_id"].astype("string").str.strip()
    note("opportunity_id", "missing (kept, id from row number)", ids.isna(), ids)
    out["opportunity_id"] = ids.fillna(pd.Series([f"{name}:{k + 1}" for k in range(len(out))], index=out.index))
    dup = out["opportunity_id"].duplicated(keep=False)
    note("opportunity_id", "duplicated id (kept both)", dup, out["opportunity_id"])
    for f in ("created_at", "closed_at", "expected_close"):
        rawv = out[f]
        txt = rawv.astype("string").str.strip()
        parsed = pd.to_datetime(txt, errors="coerce", format="mixed", dayfirst=mapping.dayfirst)
        note(f, "unreadable date (left missing)", txt.notna() & parsed.isna(), rawv)
        iso = txt.str.fullmatch(r"\d{4}-\d{2}-\d{2}( .*)?").fillna(True).astype(bool)
        note(f, "non-ISO date format parsed", txt.notna() & parsed.notna() & ~iso, rawv)
        out[f] = parsed
    amt_raw = out["amount"]
    amt = amt_raw.map(parse_amount).astype(float)
    plain = amt_raw.astype("string").str.fullmatch(r"-?\d+(\.\d+)?").fillna(False).astype(bool)
    note("amount", "currency sign / separators removed", amt_raw.notna() & amt.notna() & ~plain, amt_raw)
    note("amount", "unreadable amount (left missing)", amt_raw.notna() & amt.isna(), amt_raw)
    note("amount", "missing", amt_raw.isna(), amt_raw)
    out["amount"] = amt
    st_raw = out["stage"]
    canon = {canonical_text(k): v for k, v in mapping.stages.items()}
    st_c = st_raw.map(canonical_text)
    st = st_c.map(lambda s: canon.get(s, s) if s is not None else None)
    note("stage", "mapped from the CRM's label", st_c.notna() & st_c.isin(list(canon)), st_raw)
    out["stage"] = st
    if out["product"].notna().any():
        p_c = out["product"].map(canonical_text)
        alias = {canonical_text(k): v for k, v in mapping.products.items()}
        spelled = pd.DataFrame({"c": p_c, "raw": out["product"].astype("string").str.strip()}).dropna()
        usual = spelled.groupby("c")["raw"].agg(lambda v: v.value_counts().index[0]).to_dict()
        prod = p_c.map(lambda c: alias.get(c, usual.get(c)) if c is not None else None)
        note("product", "spelling unified", out["product"].notna() & (prod != out["product"].astype("string").str.strip()).fillna(False), out["product"])
        out["product"] = prod
    for f in ("owner", "channel", "account"):
        out[f] = out[f].astype("string").str.strip()
    for f in mapping.required:
        note(f, "missing required value (kept)", out[f].isna(), out[f])
    out["is_won"] = out["stage"] == "won"
    out["is_closed"] = out["stage"].isin(["won", "lost"])
    no_close = out["is_closed"] & out["closed_at"].isna()
    note("closed_at", "closed deal without close date (kept)", no_close, out["stage"])
    note("closed_at", "open deal (no close date)", ~out["is_closed"] & out["closed_at"].isna(), out["stage"])
    rep = pd.DataFrame(report, columns=["field", "action", "rows", "examples"])
    out.attrs["source"] = name
    return out, rep
