"""Table schemas (columns, dtypes, keys, allowed values) and ``validate(name, df)``.

Schemas are declared with pandera; :func:`validate` runs every check lazily and turns pandera's
failure cases into one :class:`TableError` that names the table, each failing column, the ids of
the offending rows and what was expected.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from crmsim.errors import InputError

if TYPE_CHECKING:
    import pandera.pandas as pa

__all__ = [
    "LEAD_STAGES",
    "LEAD_STATUSES",
    "STAGE_OF_STATUS",
    "NOT_MQL_STATUSES",
    "ACTIVITY_KINDS",
    "GRADES",
    "LEAD_EVENT_TYPES",
    "OPPORTUNITY_STAGES",
    "PRODUCT_FORMS",
    "SCHEMAS",
    "TableError",
    "columns",
    "extra_columns",
    "read_table",
    "parse_dates",
    "dates_from_days",
    "parse_flags",
    "flag_column",
    "date_column",
    "quantity_column",
    "cents_column",
    "split_sheet",
    "schema",
    "validate",
]

#: Lead lifecycle stages (FEATURES L2C-3), the one set every part of crmsim uses: the ``leads``
#: schema, :class:`crmsim.leads.lifecycle.Lifecycle`, the dedup survivorship rank and the funnel
#: simulation's :data:`crmsim.sim.funnel.STAGE_OF_STATE`. In lifecycle order (``invalid``, bad
#: data, last); ``nurture`` is where marketing keeps leads not ready for sales and recycled ones.
LEAD_STAGES: tuple[str, ...] = ("raw", "nurture", "mql", "sql", "converted", "invalid")
#: A lead's status in an export (its last outcome; map your CRM's labels onto these), and the
#: stage each status is in: a duplicate was merged where it came in (``raw``); a lead disqualified
#: after contact, or recycled unworked, goes back to marketing (``nurture``); from an opportunity
#: on, it is ``converted`` (the deal's own stages are the opportunity's).
LEAD_STATUSES: tuple[str, ...] = ("invalid", "duplicate", "nurture", "recycled", "mql", "disqualified", "sql",
                                  "opportunity", "won", "lost")
STAGE_OF_STATUS: dict[str, str] = {
    "invalid": "invalid", "duplicate": "raw", "nurture": "nurture", "recycled": "nurture", "mql": "mql",
    "disqualified": "nurture", "sql": "sql", "opportunity": "converted", "won": "converted", "lost": "converted"}
#: Statuses of leads that never became MQLs.
NOT_MQL_STATUSES: tuple[str, ...] = ("invalid", "duplicate", "nurture")
GRADES: tuple[str, ...] = ("A", "B", "C", "D")
LEAD_EVENT_TYPES: tuple[str, ...] = (
    "visit", "download", "event_attended", "email_open", "email_click", "form", "call", "meeting",
)
#: Follow-up activities with a customer (calls, visits, meetings...).
ACTIVITY_KINDS: tuple[str, ...] = ("call", "visit", "meeting", "email", "message")
OPPORTUNITY_STAGES: tuple[str, ...] = (
    "qualify", "discover", "propose", "negotiate", "won", "lost",
)
#: Product forms (FEATURES L2C-6, CPQ): each is fulfilled and recognised differently.
PRODUCT_FORMS: tuple[str, ...] = ("physical", "virtual", "service", "project")


class _Schemas(Mapping):
    """The declared schemas (name -> pandera ``DataFrameSchema``; the first column of each is
    its key), built from :mod:`crmsim.schemas` the first time one is asked for."""

    def _all(self) -> dict:
        from crmsim.schemas import SCHEMAS as declared

        return declared

    def __getitem__(self, name: str):
        return self._all()[name]

    def __iter__(self):
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())


#: Declared schemas; the first column of each is its key.
SCHEMAS: Mapping = _Schemas()


class TableError(InputError):
    """A table failed validation. ``problems`` is a DataFrame: column, expected, row ids, values.
    (An :class:`~crmsim.errors.InputError`, so also a ``ValueError``.)

    Examples
    --------
    >>> import pandas as pd
    >>> try:
    ...     validate("leads", pd.DataFrame({"lead_id": [1, 1]}))
    ... except TableError as e:
    ...     print(type(e).__mro__[1].__name__, list(e.problems.columns)[:2])
    InputError ['column', 'expected']
    """

    def __init__(self, message: str, problems: pd.DataFrame):
        super().__init__(message)
        self.problems = problems


def schema(name: str) -> pa.DataFrameSchema:
    """The declared schema of table ``name``.

    Examples
    --------
    >>> sorted(schema("customers").columns)[:4]
    ['annual_revenue', 'contract_end_at', 'created_at', 'customer_id']
    """
    try:
        return SCHEMAS[name]
    except KeyError:
        raise KeyError(f"unknown table '{name}'; known tables: {sorted(SCHEMAS)}") from None


def _expectation(check: str) -> str:
    if check == "column_in_dataframe":
        return "column is required but missing"
    if check == "field_uniqueness":
        return "values must be unique (it is the table's key)"
    if check == "not_nullable":
        return "no missing values allowed"
    if check.startswith("dtype("):
        return f"dtype {check[6:-1]}"
    return check


def _row_ids(df: pd.DataFrame, key: str, index_values: pd.Series) -> list:
    ids = []
    for ix in index_values:
        if ix is None or (isinstance(ix, float) and pd.isna(ix)):
            continue
        ids.append(df.loc[ix, key] if key in df.columns and ix in df.index else ix)
    return ids


def validate(name: str, df: pd.DataFrame, *, source: str | None = None, max_rows: int = 10) -> pd.DataFrame:
    """Check ``df`` against the schema of table ``name``; return it unchanged if it passes.

    Parameters
    ----------
    name : one of ``SCHEMAS`` ("leads", "lead_events", "reps", "customers", "opportunities").
    df : the table.
    source : where the table came from (a file name), repeated in the error.
    max_rows : how many offending row ids to list per problem.

    Raises
    ------
    TableError
        naming the table (and source), each failing column, the expectation and the ids of the
        offending rows (the key column's values; the index where the key itself is missing).

    Examples
    --------
    >>> import pandas as pd
    >>> reps = pd.DataFrame({"rep_id": ["r1"], "team": ["t"], "region": ["north"],
    ...                      "hours_per_day": [8.0], "max_open_leads": [50]})
    >>> validate("reps", reps) is reps
    True
    """
    import pandera.pandas as pa

    sch = schema(name)
    key = next(iter(sch.columns))
    try:
        sch.validate(df, lazy=True)
    except pa.errors.SchemaErrors as err:
        fc = err.failure_cases
        rows = []
        for (column, check), grp in fc.groupby(
            [fc["column"].fillna("<table>"), fc["check"].astype(str)], sort=False, dropna=False
        ):
            if check == "column_in_dataframe":
                column = grp["failure_case"].iloc[0]
            ids = _row_ids(df, key, grp["index"].dropna())
            values = [v for v in grp["failure_case"].tolist()][:max_rows]
            rows.append(
                {"column": column, "expected": _expectation(check), "rows": ids, "values": values}
            )
        problems = pd.DataFrame(rows)
        where = f"table '{name}'" + (f" ({source})" if source else "")
        lines = [f"{where} failed validation:"]
        for p in rows:
            line = f"  - column '{p['column']}': expected {p['expected']}"
            if p["rows"]:
                shown = p["rows"][:max_rows]
                more = f" (+{len(p['rows']) - len(shown)} more)" if len(p["rows"]) > len(shown) else ""
                line += f"; rows {key}={shown}{more}; values {p['values']}"
            elif p["expected"].startswith("dtype"):
                line += f"; found {p['values'][0]}"
            lines.append(line)
        raise TableError("\n".join(lines), problems) from None
    return df


def columns(name: str) -> Mapping[str, pa.Column]:
    """Declared columns of table ``name``.

    Examples
    --------
    >>> list(columns("leads"))[:4]
    ['lead_id', 'created_at', 'channel', 'name']
    """
    return schema(name).columns


EXCEL_SUFFIXES = (".xlsx", ".xlsm")


def split_sheet(src) -> tuple[object, str | None]:
    """``"book.xlsx#Customers"`` -> ``(Path("book.xlsx"), "Customers")``; anything else as it is
    (a file whose own name holds ``#`` is taken whole when it exists).

    >>> split_sheet("exports/book.xlsx#Open items")
    (PosixPath('exports/book.xlsx'), 'Open items')
    >>> split_sheet("a.csv")
    (PosixPath('a.csv'), None)
    """
    from pathlib import Path

    if isinstance(src, pd.DataFrame):
        return src, None
    p = Path(src)
    text = str(src)
    if "#" in text and not p.is_file():
        head, _, sheet = text.rpartition("#")
        if Path(head).suffix.lower() in EXCEL_SUFFIXES:
            return Path(head), sheet
    return p, None


def _read_excel(p, sheet: str | None, what: str, na_values) -> pd.DataFrame:
    from crmsim.errors import InputError

    try:
        book = pd.ExcelFile(p, engine="openpyxl")
    except Exception as e:  # zipfile / openpyxl errors for a file that is not a workbook
        raise InputError(f"{what}: {p} is not a readable .xlsx workbook ({type(e).__name__}: {e})") from None
    with book:
        names = book.sheet_names
        if sheet is None:
            if len(names) != 1:
                raise InputError(f"{what}: {p} has {len(names)} sheets {names}; name the one to read as "
                                 f"{p}#{names[0] if names else 'Sheet1'}")
            sheet = names[0]
        elif sheet not in names:
            raise InputError(f"{what}: {p} has no sheet '{sheet}'; its sheets are {names}")
        df = pd.read_excel(book, sheet_name=sheet, dtype=str, keep_default_na=False, na_values=list(na_values))
    df.columns = [str(c).strip() if not str(c).startswith("Unnamed: ") else str(c) for c in df.columns]
    return df


def read_table(src, *, source: str | None = None, na_values=("",)) -> pd.DataFrame:
    """A DataFrame as it is, or a file by its extension: CSV (read as text, only ``na_values``
    cells missing), Parquet, or an Excel workbook (``.xlsx``/``.xlsm``, read as text; a workbook
    of several sheets needs the sheet named: ``book.xlsx#Customers``). The error for a missing or
    unreadable file names it.

    Examples
    --------
    >>> import pandas as pd
    >>> read_table(pd.DataFrame({"a": [1]}))["a"].tolist()
    [1]
    >>> read_table("no/such/file.csv")
    Traceback (most recent call last):
    ...
    FileNotFoundError: table: no such file no/such/file.csv
    """
    if isinstance(src, pd.DataFrame):
        return src.reset_index(drop=True)
    from crmsim.errors import InputError

    p, sheet = split_sheet(src)
    what = source or "table"
    if not p.is_file():
        raise FileNotFoundError(f"{what}: no such file {p}")
    suffix = p.suffix.lower()
    if suffix in EXCEL_SUFFIXES:
        return _read_excel(p, sheet, what, na_values)
    if suffix == ".xls":
        raise InputError(f"{what}: {p} is an old-style .xls workbook; save it as .xlsx (or CSV) and read that")
    if suffix in (".parquet", ".pq"):
        try:
            return pd.read_parquet(p)
        except Exception as e:  # pyarrow's errors for a file that is not Parquet
            raise InputError(f"{what}: {p} is not a readable Parquet file ({e})") from None
    try:
        df = pd.read_csv(p, dtype=str, keep_default_na=False, na_values=list(na_values))
        # "id, name, city" headers (a space after each comma) are common in hand-made exports
        df.columns = [c.strip() if isinstance(c, str) else c for c in df.columns]
        return df
    except pd.errors.ParserError as e:   # e.g. a row with more fields than the header
        raise InputError(f"{what}: {p}: {str(e).strip().replace('Error tokenizing data. C error: ', '')}; "
                         "every row needs as many fields as the header (quote values with commas)") from None
    except pd.errors.EmptyDataError:
        raise InputError(f"{what}: {p} is empty (no header row)") from None
    except UnicodeDecodeError as e:
        raise InputError(f"{what}: {p} is not UTF-8 text (byte {e.start}); save it as UTF-8 CSV") from None


def extra_columns(columns, used, reserved) -> list[tuple[str, str]]:
    """``(export column, name kept under)`` for each column of an export that no mapping used:
    under its own name, or ``src_<name>`` where crmsim uses that name itself (``reserved``).

    >>> extra_columns(["id", "stage", "page"], used={"id"}, reserved={"stage"})
    [('stage', 'src_stage'), ('page', 'page')]
    """
    return [(c, f"src_{c}" if c in reserved else c) for c in columns if c not in used]


def parse_dates(col: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """``(dates, bad)``: each cell of an export column as a timestamp (NaT where blank or not a
    date) and where a non-blank cell is not a date. ISO dates (with or without a time) are read
    fast; anything else is tried as a mixed-format date, day-first when the column writes dates
    with dots (``03.04.2025`` is 3 April) or has a first number above 12 (``31/01/2025``).

    >>> d, bad = parse_dates(pd.Series(["2025-01-02", "", "soon", "03/01/2025"]))
    >>> d.dt.strftime("%Y-%m-%d").tolist(), bad.tolist()
    (['2025-01-02', nan, nan, '2025-03-01'], [False, False, True, False])
    >>> parse_dates(pd.Series(["03.04.2025", "31/01/2025"]))[0].dt.strftime("%Y-%m-%d").tolist()
    ['2025-04-03', '2025-01-31']
    """
    if pd.api.types.is_datetime64_any_dtype(col):
        return col, np.zeros(len(col), dtype=bool)
    d = pd.to_datetime(col, errors="coerce", format="ISO8601")
    filled = (col.notna() & (col.astype(str).str.strip() != "")).to_numpy()
    retry = d.isna().to_numpy() & filled
    if retry.any():
        d = d.copy()
        rest = col[retry].astype(str).str.strip()
        parts = rest.str.extract(r"^(\d{1,2})([./-])(\d{1,2})\2(\d{2,4})(?:[ T].*)?$")
        dayfirst = False
        if parts[0].notna().any():
            a, b = pd.to_numeric(parts[0]), pd.to_numeric(parts[2])
            # 31.01.2025 is day-first wherever dots are written; with slashes or dashes the
            # column decides: a first number above 12 means day-first (a second above 12: month-first)
            dayfirst = bool((parts[1] == ".").any() or ((a > 12).any() and not (b > 12).any()))
        d[retry] = pd.to_datetime(rest, errors="coerce", format="mixed", dayfirst=dayfirst)
    return d, d.isna().to_numpy() & filled


def day_number(x) -> int:
    """Whole days since 1970-01-01 of one date (a string, a datetime or a Timestamp; its time is
    dropped): the day numbers the twins and :func:`day_numbers` count in.

    >>> day_number("2025-01-02"), day_number(pd.Timestamp("2025-01-02 17:30"))
    (20090, 20090)
    """
    return int(np.datetime64(pd.Timestamp(x).date(), "D").astype(np.int64))


def dates_from_days(days):
    """The dates of day numbers (whole days since 1970-01-01, as :func:`day_numbers` gives):
    a ``DatetimeIndex`` for an array (NaT where NaN), a ``Timestamp`` (or NaT) for a number.

    >>> dates_from_days(np.array([20090.0, np.nan])).strftime("%Y-%m-%d").tolist()[0], dates_from_days(20090)
    ('2025-01-02', Timestamp('2025-01-02 00:00:00'))
    """
    a = np.asarray(days, dtype=float)
    out = np.where(np.isnan(a), np.datetime64("NaT"), np.nan_to_num(a).astype(np.int64).astype("datetime64[D]"))
    if a.ndim:
        return pd.to_datetime(out)
    return pd.NaT if np.isnan(a) else pd.Timestamp(out.item())


def day_numbers(col: pd.Series, table: str, names: Mapping[str, str] | None = None) -> np.ndarray:
    """Whole days since 1970-01-01 of each date in an export column (float; NaN where blank).

    ISO dates (``2025-03-01``, with or without a time) are read fast; anything else is tried as a
    mixed-format date. A value that is not a date is an :class:`~crmsim.errors.InputError` naming
    the table, the export's own column (``names`` maps crmsim's name to it) and the rows.

    Examples
    --------
    >>> day_numbers(pd.Series(["2025-01-02", "", "03/01/2025"], name="d"), "t").tolist()
    [20090.0, nan, 20148.0]
    """
    from crmsim.errors import InputError

    d, bad = parse_dates(col)
    if bad.any():
        name = (names or {}).get(col.name)
        shown = f"'{name}' (read as {col.name})" if name else f"'{col.name}'"
        rows = col.index[bad][:5].tolist()
        raise InputError(f"{table} table: column {shown} expects dates; rows {rows} ({int(bad.sum())} in all) "
                         f"have {col[bad].astype(str).head(3).tolist()}")
    out = pd.to_datetime(d).to_numpy().astype("datetime64[D]")
    num = out.astype(np.int64).astype(float)
    num[np.isnat(out)] = np.nan
    return num


def date_column(df: pd.DataFrame, col: str, table: str, *, filled: bool = False) -> pd.Series:
    """Column ``col`` of ``df`` as timestamps (NaT where missing); a value that is not a date (or,
    with ``filled``, a missing one) is an :class:`~crmsim.errors.InputError` naming the table, the
    column and the rows.

    >>> date_column(pd.DataFrame({"due_at": ["2025-01-31", None]}), "due_at", "receivables").dt.day.tolist()
    [31.0, nan]
    """
    from crmsim.errors import InputError

    d, bad = parse_dates(df[col])
    if filled:
        bad = bad | d.isna().to_numpy()
    if bad.any():
        raise InputError(f"{table}: column '{col}' expects {'a date in every row' if filled else 'dates'}; rows {df.index[bad][:5].tolist()} "
                         f"({int(bad.sum())} in all) have {df.loc[bad, col].astype(str).head(3).tolist()}")
    return pd.to_datetime(d)


_TRUE = {"true", "yes", "y", "1", "x", "t"}
_FALSE = {"false", "no", "n", "0", "", "f", "nan", "none"}


def parse_flags(col: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """``(yes, bad)``: a yes/no column (or a count, > 0 meaning yes) as booleans (``True/False``,
    ``yes/no``, ``1/0``, numbers; missing is no), and where a cell is neither.

    >>> yes, bad = parse_flags(pd.Series(["Yes", "", "0", "maybe", 3]))
    >>> yes.tolist(), bad.tolist()
    ([True, False, False, False, True], [False, False, False, True, False])
    """
    if pd.api.types.is_bool_dtype(col) or pd.api.types.is_numeric_dtype(col):
        return col.fillna(0).to_numpy(dtype=float) > 0, np.zeros(len(col), dtype=bool)
    txt = col.astype("string").str.strip().str.lower().fillna("")
    num = pd.to_numeric(txt, errors="coerce")
    yes = (txt.isin(_TRUE) | (num > 0).fillna(False)).to_numpy(dtype=bool)
    no = (txt.isin(_FALSE) | (num <= 0).fillna(False)).to_numpy(dtype=bool)
    return yes, ~yes & ~no


def flag_column(col: pd.Series, table: str) -> np.ndarray:
    """:func:`parse_flags`, with a cell that is neither yes nor no an
    :class:`~crmsim.errors.InputError` naming the table, the column and the rows.

    Examples
    --------
    >>> import pandas as pd
    >>> flag_column(pd.Series(["yes", "No", "1", "false"]), "customers").tolist()
    [True, False, True, False]
    >>> flag_column(pd.Series(["yes", "maybe"], name="locked"), "customers")
    Traceback (most recent call last):
    ...
    crmsim.errors.InputError: customers: column 'locked' expects yes/no (true/false, 1/0) or a count; rows [1] (1 in all) have ['maybe']
    """
    from crmsim.errors import InputError

    yes, bad = parse_flags(col)
    if bad.any():
        rows = col.index[bad][:5].tolist()
        raise InputError(f"{table}: column '{col.name}' expects yes/no (true/false, 1/0) or a count; rows {rows}"
                         f"{' ...' if bad.sum() > 5 else ''} ({int(bad.sum())} in all) have "
                         f"{col[bad].astype(str).head(3).tolist()}")
    return yes


def quantity_column(df: pd.DataFrame, col: str, table: str) -> pd.Series:
    """Column ``col`` as finite numbers >= 0 (a numeric column as it is, text read as numbers); a
    value that is not one is a ``ValueError`` naming the table, the column and the rows.

    >>> quantity_column(pd.DataFrame({"qty": ["2", "0.5"]}), "qty", "order lines").tolist()
    [2.0, 0.5]
    """
    if col not in df.columns:
        raise KeyError(f"{table}: column '{col}' is missing; columns are {list(df.columns)}")
    q = pd.to_numeric(df[col], errors="coerce")
    bad = (q.isna() | ~np.isfinite(q.fillna(0)) | (q < 0)).to_numpy()
    if bad.any():
        raise ValueError(f"{table}: column '{col}' expects finite numbers >= 0; rows {df.index[bad][:5].tolist()} "
                         f"have {df.loc[bad, col].astype(str).head(3).tolist()}")
    return df[col] if pd.api.types.is_numeric_dtype(df[col]) else q.astype(float)


def cents_column(df: pd.DataFrame, col: str, table: str, *, missing: int | None = None) -> np.ndarray:
    """Column ``col`` as int64 minor units; a value that is not a whole number (or missing, unless
    ``missing`` says what it stands for) is an :class:`~crmsim.errors.InputError` naming the
    table, the column and the rows.

    >>> cents_column(pd.DataFrame({"open": [100, None]}), "open", "receivables", missing=0).tolist()
    [100, 0]
    """
    from crmsim.errors import InputError

    s = df[col]
    if pd.api.types.is_integer_dtype(s) and not s.isna().any():
        return s.to_numpy(np.int64)
    v = pd.to_numeric(s, errors="coerce")
    if missing is not None:
        v = v.where(s.notna(), missing)
    bad = (v.isna() | (v.fillna(0) % 1 != 0)).to_numpy()
    if bad.any():
        raise InputError(f"{table}: column '{col}' expects whole amounts in minor units (cents); rows "
                         f"{df.index[bad][:5].tolist()} ({int(bad.sum())} in all) have "
                         f"{s[bad].astype(str).head(3).tolist()}")
    return v.to_numpy(np.int64)


def need_columns(df: pd.DataFrame, cols, table: str, names: Mapping[str, str] | None = None) -> None:
    """An :class:`~crmsim.errors.InputError` naming the table, the missing crmsim columns, the
    export columns they were mapped to (``names``) and the columns the table has."""
    from crmsim.errors import InputError

    missing = [c for c in cols if c not in df.columns]
    if missing:
        mapped = {c: names[c] for c in missing if names and c in names}
        hint = f"; mapped to {mapped}, which the table lacks" if mapped else ""
        raise InputError(f"{table} table: column(s) {missing} are missing{hint} (map export columns with "
                         f"columns={{crmsim_name: export_name}}); columns are {list(df.columns)}")
