"""A lead history read from a user's own CRM or marketing export, as it comes.

The history is one row per lead with the fields :data:`FIELDS`. It is read from a lead (or MQL)
table and, optionally, a deals table joined by the lead id (exports often keep won deals in a
table of their own, without a status on the lead), described by a :class:`LeadHistoryMapping`
(TOML). Channel names are the export's own, optionally renamed by ``channel_map``.

Nothing is dropped silently: :func:`load_lead_history` returns a :class:`LeadHistory` with the
table, the ``exclusions`` (rows left out, with the reason, count and first rows: an unreadable
creation date, a deal whose lead id matches no lead, a second deal for one lead, a negative
amount, a close before creation) and the ``channels`` report (values the map did not name).
``granularity`` says, per date field, whether the export has times of day (``time``), dates only
(``date``), or no such column (``absent``): a response-time effect cannot be fitted from dates.

Errors for what the user must fix (a mapped column the file lacks, an unmapped status, a date
column with no readable date, a deals table none of whose ids match a lead) are
:class:`~crmsim.errors.InputError`, naming the file, column and rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import field_validator, model_validator

from crmsim.categories import map_categories
from crmsim.config import Config, check_known
from crmsim.errors import InputError, read_toml, validation_message
from crmsim.pipeline.history import canonical_text, parse_amount
from crmsim.tables import LEAD_STATUSES, extra_columns, read_table

__all__ = ["FIELDS", "STATUSES", "DATE_FIELDS", "DealsMapping", "LeadHistoryMapping", "LeadHistory",
           "load_lead_history", "load_mapping"]

FIELDS = ("lead_id", "created_at", "channel", "status", "cost", "first_contact_at", "sql_at",
          "opportunity_at", "closed_at", "amount")
#: Lead statuses crmsim understands (map your CRM's labels onto these).
STATUSES = LEAD_STATUSES   # the one list, in crmsim.tables
DATE_FIELDS = ("created_at", "first_contact_at", "sql_at", "opportunity_at", "closed_at")
_DEAL_FIELDS = ("status", "sql_at", "opportunity_at", "closed_at", "amount")


class DealsMapping(Config):
    """A deals table joined to the leads by a lead id.

    ``file`` (relative to the mapping file) may instead be given on the command line
    (``--deals``). ``lead_id`` is the deals column holding the lead's id; ``columns`` maps deal
    columns onto ``status``, ``sql_at``, ``opportunity_at``, ``closed_at``, ``amount``. Without a
    status column every deal row has ``status`` (default ``won``: a table of closed-won deals).
    A deal field fills the lead's field (the deal's value wins where both have one).

    Examples
    --------
    >>> d = DealsMapping(lead_id="Lead", columns={"Won on": "closed_at", "Value": "amount"})
    >>> d.status, d.columns["Value"]
    ('won', 'amount')
    """

    file: str | None = None
    lead_id: str
    columns: dict[str, str] = {}
    status: str = "won"

    @field_validator("columns")
    @classmethod
    def _fields(cls, v: dict[str, str]) -> dict[str, str]:
        check_known(v.values(), _DEAL_FIELDS, "deal field(s)")
        return v


class LeadHistoryMapping(Config):
    """Export column -> field, export status label -> crmsim status, channel names.

    ``columns`` must map ``created_at`` and ``channel``; a ``status`` column or a
    ``default_status`` (the status every row without a deal has reached, e.g. ``mql`` for an
    export of marketing-qualified leads) is needed. ``channel_map`` renames channel values
    (optional); ``unmapped_channels`` keeps a value the map does not name under its own name
    (default) or quarantines the row (counted in the exclusions).

    Examples
    --------
    >>> m = LeadHistoryMapping(columns={"Created": "created_at", "Source": "channel"}, default_status="mql",
    ...                        channel_map={"Google Ads": "search"})
    >>> m.default_status, m.unmapped_channels
    ('mql', 'keep')
    """

    columns: dict[str, str]
    statuses: dict[str, str] = {s: s for s in STATUSES}
    default_status: str | None = None
    channel_map: dict[str, str] = {}
    unmapped_channels: Literal["keep", "quarantine"] = "keep"
    dayfirst: bool = False
    deals: DealsMapping | None = None

    @field_validator("columns")
    @classmethod
    def _fields(cls, v: dict[str, str]) -> dict[str, str]:
        check_known(v.values(), FIELDS, "field(s)")
        for need in ("created_at", "channel"):
            if need not in v.values():
                raise ValueError(f"no column is mapped to the required field '{need}'")
        dup = sorted({t for t in v.values() if list(v.values()).count(t) > 1})
        if dup:
            raise ValueError(f"several columns map to {dup}; map one column to each field")
        return v

    @field_validator("statuses")
    @classmethod
    def _statuses(cls, v: dict[str, str]) -> dict[str, str]:
        check_known(v.values(), STATUSES, "status(es)")
        return v

    @model_validator(mode="after")
    def _status_source(self) -> LeadHistoryMapping:
        if "status" not in self.columns.values() and self.default_status is None:
            raise ValueError("no column is mapped to the required field 'status': map one, or set "
                             "default_status (what every row reached, e.g. 'mql')")
        if self.default_status is not None:
            check_known([self.default_status], STATUSES, "default_status")
        if self.deals is not None:
            check_known([self.deals.status], STATUSES, "deals.status")
        return self


def load_mapping(path) -> LeadHistoryMapping:
    """Read a mapping TOML; a relative ``[deals] file`` is resolved against the mapping's folder.
    Errors name the file.

    Examples
    --------
    >>> import pandas as pd
    >>> from importlib.resources import files
    >>> from crmsim.errors import read_toml
    >>> EX = files("crmsim") / "examples"
    >>> m = load_mapping(EX / "lead_history_map.toml")
    >>> "created_at" in m.columns.values()
    True
    """
    p = Path(path)
    raw = read_toml(p, "mapping file")
    deals = raw.get("deals")
    if isinstance(deals, dict) and deals.get("file") and not Path(deals["file"]).is_absolute():
        raw = {**raw, "deals": {**deals, "file": str(p.parent / deals["file"])}}
    from pydantic import ValidationError

    try:
        return LeadHistoryMapping.model_validate(raw)
    except ValidationError as e:
        raise InputError(f"{p}: {validation_message(e)}") from None


@dataclass
class LeadHistory:
    """A loaded lead history: ``table`` (one row per lead, :data:`FIELDS`, then the export's
    other columns under their own names, ``src_<name>`` where a name is a field), ``exclusions`` (rows
    left out: ``table, reason, rows, first_rows``), ``channels`` (channel values not named by the
    map, and what was done with them), ``granularity`` per date field, ``n_raw`` rows read and
    ``source`` (the file or 'DataFrame').

    Examples
    --------
    >>> import pandas as pd
    >>> from importlib.resources import files
    >>> from crmsim.errors import read_toml
    >>> EX = files("crmsim") / "examples"
    >>> h = load_lead_history(EX / "lead_history.csv", load_mapping(EX / "lead_history_map.toml"))
    >>> len(h.table) > 0, h.exclusions.columns.tolist(), h.source.endswith("lead_history.csv")
    (True, ['table', 'reason', 'rows', 'first_rows'], True)
    """

    table: pd.DataFrame
    exclusions: pd.DataFrame = field(default_factory=lambda: _exclusions([]))
    channels: pd.DataFrame = field(default_factory=pd.DataFrame)
    granularity: dict = field(default_factory=dict)
    n_raw: int = 0
    source: str = "DataFrame"

    @property
    def has_times(self) -> bool:
        """True when creation and first contact both carry times of day (a response-time
        effect can then be fitted)."""
        return self.granularity.get("created_at") == "time" and self.granularity.get("first_contact_at") == "time"

    def summary(self) -> str:
        """A few plain lines: rows read and used, exclusions, channels, granularity."""
        lines = [f"{self.source}: {self.n_raw} rows read, {len(self.table)} leads used, "
                 f"{self.table['channel'].nunique()} channels"]
        for r in self.exclusions.itertuples():
            lines.append(f"  excluded {r.rows} {r.table} row(s): {r.reason} (first rows {r.first_rows})")
        for r in self.channels.itertuples():
            lines.append(f"  channel value {r.value!r} not in channel_map: {r.rows} row(s) {r.action}")
        g = ", ".join(f"{k}={v}" for k, v in self.granularity.items() if v != "absent")
        lines.append(f"  timestamps: {g}")
        return "\n".join(lines)


def _exclusions(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["table", "reason", "rows", "first_rows"])


def _rows(mask: np.ndarray) -> list[int]:
    return (np.flatnonzero(mask)[:5] + 1).tolist()


def granularity(s: pd.Series) -> str:
    """``time`` if any value has a time of day, ``date`` if all are midnight, ``absent`` if none.

    >>> granularity(pd.Series(pd.to_datetime(["2018-02-01", "2018-02-03"])))
    'date'
    """
    d = s.dropna()
    if d.empty:
        return "absent"
    return "time" if bool((d != d.dt.normalize()).any()) else "date"


def _dates(raw: pd.DataFrame, col: str, what: str, dayfirst: bool) -> pd.Series:
    txt = raw[col]
    d = pd.to_datetime(txt, errors="coerce", format="mixed", dayfirst=dayfirst)
    if getattr(d.dt, "tz", None) is not None:
        d = d.dt.tz_convert(None)
    given = txt.notna() & (txt.astype(str).str.strip() != "")
    if given.any() and d[given].isna().all():
        raise InputError(f"{what}: column '{col}' has no readable date (first values "
                         f"{txt[given].astype(str).head(3).tolist()}, rows {_rows(given.to_numpy())})")
    return d


def _numbers(raw: pd.DataFrame, col: str, what: str) -> pd.Series:
    """Amounts as exports write them ("$1,234.50", "1.234,50 €", "12k": the pipeline loader's
    :func:`~crmsim.pipeline.history.parse_amount`); an unreadable one is an error naming rows."""
    txt = raw[col]
    x = txt.map(parse_amount).astype(float)
    bad = txt.notna() & (txt.astype(str).str.strip() != "") & x.isna()
    if bad.any():
        raise InputError(f"{what}: column '{col}' expects numbers; rows {_rows(bad.to_numpy())} have "
                         f"{txt[bad].astype(str).head(5).tolist()}")
    return x.where(txt.notna())


def _check_columns(raw: pd.DataFrame, cols, what: str) -> None:
    absent = [c for c in cols if c not in raw.columns]
    if absent:
        raise InputError(f"{what}: mapped column(s) {absent} not in the file; its columns are "
                         f"{list(raw.columns)}")


def _statuses(values: pd.Series, mapping: LeadHistoryMapping, what: str, col: str) -> pd.Series:
    labels = {canonical_text(k): v for k, v in mapping.statuses.items()}
    st = values.map(canonical_text, na_action="ignore").map(labels)
    bad = st.isna() & values.notna()
    if bad.any():
        vals = values[bad].astype(str).unique()[:10].tolist()
        raise InputError(f"{what}: status value(s) {vals} in column '{col}' are not mapped (rows "
                         f"{_rows(bad.to_numpy())}); add them to [statuses] mapping to one of {list(STATUSES)}")
    return st


def _fields(raw: pd.DataFrame, mapping: LeadHistoryMapping, inv: dict, what: str) -> pd.DataFrame:
    """The export's mapped columns as :data:`FIELDS` (dates, numbers and statuses read), with the
    file row of each lead in ``_row``."""
    n_raw = len(raw)
    h = pd.DataFrame({"_row": np.arange(1, n_raw + 1)}, index=raw.index)
    for f in FIELDS:
        h[f] = raw[inv[f]] if f in inv else pd.Series(pd.NA, index=raw.index, dtype=object)
    for f in DATE_FIELDS:
        h[f] = (_dates(raw, inv[f], what, mapping.dayfirst) if f in inv
                else pd.Series(pd.NaT, index=raw.index, dtype="datetime64[us]"))
    for f in ("cost", "amount"):
        h[f] = _numbers(raw, inv[f], what) if f in inv else np.nan
    h["status"] = (_statuses(raw[inv["status"]], mapping, what, inv["status"]) if "status" in inv
                   else pd.Series(mapping.default_status, index=raw.index, dtype=object))
    if "status" in inv and mapping.default_status is not None:
        h["status"] = h["status"].fillna(mapping.default_status)
    if "lead_id" in inv:
        h["lead_id"] = raw[inv["lead_id"]].astype("string").str.strip()
    else:
        h["lead_id"] = pd.Series([f"row{k + 1}" for k in range(n_raw)], index=raw.index)
    return h


def _keep_extra(h: pd.DataFrame, raw: pd.DataFrame, mapping: LeadHistoryMapping) -> pd.DataFrame:
    """:data:`FIELDS`, then the export's other columns (``src_<name>`` where a name is a field)."""
    extra = extra_columns(raw.columns, set(mapping.columns), {*FIELDS, "_row"})
    for c, name in extra:   # for scoring rules and replay
        h[name] = raw[c].to_numpy()[h["_row"].to_numpy() - 1]
    return h.reset_index(drop=True)[[*FIELDS, *(name for _, name in extra)]]


def load_lead_history(src, mapping: LeadHistoryMapping, deals=None) -> LeadHistory:
    """Read a lead export (CSV, Parquet or DataFrame), join its deals table (``deals``, or
    ``mapping.deals.file``) and return a :class:`LeadHistory`; see the module docstring.

    Examples
    --------
    >>> mqls = pd.DataFrame({"mql_id": ["a", "b", "c"], "origin": ["organic_search", "paid", None],
    ...                      "first_contact_date": ["2018-02-01", "2018-02-01", "bad date"]})
    >>> won = pd.DataFrame({"mql_id": ["a", "zz"], "won_date": ["2018-02-20 10:01:00", "2018-03-01"]})
    >>> m = LeadHistoryMapping(columns={"mql_id": "lead_id", "first_contact_date": "created_at",
    ...                                 "origin": "channel"}, default_status="mql",
    ...                        deals={"lead_id": "mql_id", "columns": {"won_date": "closed_at"}})
    >>> h = load_lead_history(mqls, m, deals=won)
    >>> h.table[["lead_id", "channel", "status"]].values.tolist()
    [['a', 'organic_search', 'won'], ['b', 'paid', 'mql']]
    >>> h.exclusions[["table", "reason", "rows"]].values.tolist()
    [['leads', 'created_at unreadable or empty', 1], ['deals', 'lead id matches no lead', 1]]
    """
    what = f"lead history {src}" if not isinstance(src, pd.DataFrame) else "lead history"
    try:
        raw = read_table(src, source="lead history")
    except FileNotFoundError as e:
        raise InputError(str(e)) from None
    _check_columns(raw, mapping.columns, what)
    inv = {v: k for k, v in mapping.columns.items()}
    n_raw = len(raw)
    h = _fields(raw, mapping, inv, what)
    names, bad_ch, ch_report = map_categories(raw[inv["channel"]], mapping.channel_map,
                                              unmapped=mapping.unmapped_channels)
    h["channel"] = names
    excl: list[dict] = []
    keep = np.ones(n_raw, dtype=bool)

    def exclude(mask, table, reason):
        mask = np.asarray(mask, dtype=bool) & keep if table == "leads" else np.asarray(mask, dtype=bool)
        if mask.any():
            excl.append({"table": table, "reason": reason, "rows": int(mask.sum()), "first_rows": _rows(mask)})
        return mask

    keep &= ~exclude(h["created_at"].isna().to_numpy(), "leads", "created_at unreadable or empty")
    keep &= ~exclude(bad_ch, "leads", "channel not in channel_map (unmapped_channels = 'quarantine')")
    keep &= ~exclude((h["status"].isna()).to_numpy(), "leads", "status empty")
    dup_id = h["lead_id"].notna().to_numpy() & h["lead_id"].duplicated(keep="first").to_numpy()
    keep &= ~exclude(dup_id, "leads", "lead id repeats an earlier row")
    h = h[keep].copy()

    deal_src = deals if deals is not None else (mapping.deals.file if mapping.deals is not None else None)
    if deal_src is not None:
        if mapping.deals is None:
            raise InputError(f"{what}: a deals table was given but the mapping has no [deals] section "
                             "(lead_id and columns)")
        h = _join_deals(h, deal_src, mapping, exclude)
    for mask, reason, f, empty in (
            ((h["amount"] < 0).to_numpy(), "negative amount (amount ignored, lead kept)", "amount", np.nan),
            ((h["closed_at"] < h["created_at"].dt.normalize()).to_numpy(),
             "closed before created (close date ignored, lead kept)", "closed_at", pd.NaT)):
        if mask.any():
            excl.append({"table": "leads", "reason": reason, "rows": int(mask.sum()),
                         "first_rows": h["_row"].to_numpy()[mask][:5].tolist()})
            h.loc[mask, f] = empty
    h["channel"] = h["channel"].astype(str)
    h = _keep_extra(h, raw, mapping)
    gran = {f: granularity(h[f]) for f in DATE_FIELDS}
    return LeadHistory(table=h, exclusions=_exclusions(excl), channels=ch_report, granularity=gran,
                       n_raw=n_raw, source=str(src) if not isinstance(src, pd.DataFrame) else "DataFrame")


def _join_deals(h: pd.DataFrame, src, mapping: LeadHistoryMapping, exclude) -> pd.DataFrame:
    dm = mapping.deals
    what = f"deals table {src}" if not isinstance(src, pd.DataFrame) else "deals table"
    try:
        d = read_table(src, source="deals table")
    except FileNotFoundError as e:
        raise InputError(str(e)) from None
    _check_columns(d, [dm.lead_id, *dm.columns], what)
    inv = {v: k for k, v in dm.columns.items()}
    ids = d[dm.lead_id].astype("string").str.strip()
    known = ids.isin(set(h["lead_id"].dropna())).fillna(False).to_numpy(dtype=bool)
    if len(d) and not known.any():
        raise InputError(f"{what}: none of its {len(d)} lead ids in column '{dm.lead_id}' matches a lead id "
                         f"(first deal ids {ids.head(3).tolist()}, first lead ids "
                         f"{h['lead_id'].head(3).tolist()}); check the [deals] lead_id column")
    exclude(~known, "deals", "lead id matches no lead")
    again = known & ids.duplicated(keep="first").to_numpy()
    exclude(again, "deals", "a second deal for the same lead (the first is used)")
    use = known & ~again
    sel = d[use]
    out = pd.DataFrame({"lead_id": ids[use].to_numpy()})
    for f in ("sql_at", "opportunity_at", "closed_at"):
        if f in inv:
            out[f] = _dates(sel, inv[f], what, mapping.dayfirst).to_numpy()
    if "amount" in inv:
        out["amount"] = _numbers(sel, inv["amount"], what).to_numpy()
    out["status"] = (_statuses(sel[inv["status"]], mapping, what, inv["status"]).to_numpy()
                     if "status" in inv else dm.status)
    merged = h.merge(out, on="lead_id", how="left", suffixes=("", "_deal"), validate="one_to_one")
    for f in out.columns.drop("lead_id"):
        merged[f] = merged[f + "_deal"].combine_first(merged[f]) if f in h.columns else merged[f + "_deal"]
        merged = merged.drop(columns=f + "_deal")
    return merged
