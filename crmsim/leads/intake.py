"""Multi-channel lead intake (FEATURES L2C-1): map, normalise, validate; quarantine, never drop.

Each source (a CSV or Parquet export, or a DataFrame) has a :class:`SourceMapping` from its
columns to crmsim's. Intake normalises names, emails (lower-cased), phones (E.164, with the
source's default region, by the ``phonenumbers`` library) and company names (a ``company_norm``
without legal suffixes such as Ltd, GmbH, Inc, 有限公司), then applies :class:`IntakeRules`.

``intake(...)`` returns ``(accepted, quarantine)``: every input row is in exactly one of them;
a quarantined row keeps all its original values plus ``source``, ``source_row`` (1-based data
row; the file line is ``source_row + 1``) and ``reasons``; an accepted row lists what was
cleaned in ``issues``.
"""

from __future__ import annotations

import re
from typing import Literal

import numpy as np
import pandas as pd
import phonenumbers
from pydantic import Field, field_validator, model_validator

from crmsim.categories import map_categories
from crmsim.config import Config, check_known
from crmsim.tables import extra_columns, read_table

__all__ = ["LEGAL_SUFFIXES", "ANONYMISED", "SourceMapping", "IntakeRules", "IntakeResult",
           "normalise_company", "normalise_phone", "intake", "read_source"]

#: Legal-form suffixes stripped from company names (longest first when matching).
LEGAL_SUFFIXES: tuple[str, ...] = (
    "股份有限公司", "有限责任公司", "有限公司", "co., ltd.", "co., ltd", "co.,ltd.", "co.,ltd", "co. ltd.",
    "co. ltd", "limited", "ltd.", "ltd", "gmbh & co. kg", "gmbh", "ag", "inc.", "inc", "llc", "l.l.c.",
    "corporation", "corp.", "corp", "plc", "s.a.", "s.l.", "s.r.l.", "srl", "b.v.", "bv", "pty ltd",
    "pty", "sarl", "kg",
)
_SUFFIX_RE = re.compile(
    r"[\s,]*(?:" + "|".join(re.escape(s) for s in sorted(LEGAL_SUFFIXES, key=len, reverse=True)) + r")\s*$",
    re.IGNORECASE)
#: an address: a local part and a domain of labels, Unicode allowed in both (RFC 6531 / IDN:
#: ``müller@firma.de``, ``anna@münchen.de``); no spaces, one @, a top-level label of 2+ letters
_EMAIL_RE = re.compile(r"^[\w.%+'!#$&*/=?^`{|}~-]+@(?:[^\W_](?:(?:[^\W_]|-)*[^\W_])?\.)+[^\W\d_]{2,}$")
TARGET_COLUMNS = ("lead_id", "created_at", "name", "company", "email", "phone", "city", "campaign",
                  "keywords")
NAME_PARTS = ("first_name", "last_name")
#: Columns intake writes itself (an export column of that name is kept as ``src_<name>``).
OWN_COLUMNS = TARGET_COLUMNS + ("company_norm", "channel", "source", "source_row", "stage", "cost",
                                "issues")


def normalise_company(name) -> str | None:
    """Company name without legal-form suffixes and extra spaces, for matching.

    Examples
    --------
    >>> normalise_company("Acme Trading Co., Ltd."), normalise_company("上海华为技术有限公司")
    ('Acme Trading', '上海华为技术')
    """
    if name is None or (isinstance(name, float) and np.isnan(name)):
        return None
    s = re.sub(r"\s+", " ", str(name)).strip()
    prev = None
    while prev != s:  # "X GmbH & Co. KG", "X Co. Ltd" ...
        prev, s = s, _SUFFIX_RE.sub("", s).strip(" ,")
    return s or None


def normalise_phone(raw, region: str) -> tuple[str | None, bool]:
    """(E.164 number or None, valid?). A number with ``+`` or ``00`` keeps its country code.

    Examples
    --------
    >>> normalise_phone("021 6888 8888", "CN"), normalise_phone("0049 30 1234567", "CN")
    (('+862168888888', True), ('+49301234567', True))
    """
    if raw is None or (isinstance(raw, float) and np.isnan(raw)) or not str(raw).strip():
        return None, False
    s = str(raw).strip()
    if s.startswith("00"):
        s = "+" + s[2:]
    try:
        p = phonenumbers.parse(s, region)
    except phonenumbers.NumberParseException:
        return None, False
    if not phonenumbers.is_valid_number(p):
        return None, False
    return phonenumbers.format_number(p, phonenumbers.PhoneNumberFormat.E164), True


class SourceMapping(Config):
    """How one source's export maps onto a leads table.

    ``columns`` maps the source's column names to crmsim's (``lead_id``, ``created_at``, ``name``,
    ``first_name``, ``last_name``, ``company``, ``email``, ``phone``, ``city``, ``campaign``,
    ``keywords``); unmapped crmsim columns are left empty. ``first_name`` and ``last_name`` are
    joined into ``name`` when no column maps to ``name``. ``default_region`` is the ISO country
    for phones without a prefix.

    The channel is either a constant (``channel = "fair"``) or a column of the export
    (``channel_column = "Lead Source"``), with an optional value map (``channel_map =
    {"Organic Search" = "organic"}``). Channel names are the user's own: any text. A value the map
    does not name, or a blank one, is counted in the intake report and either kept under its own
    name (``unmapped_channels = "keep"``, the default; blanks become ``"(blank)"``) or quarantined
    (``"quarantine"``, reason ``channel_unmapped``).

    ``keep_extra`` (default on) keeps the export's other columns on the accepted rows under their
    own names (prefixed ``src_`` where a name is one of crmsim's), so scoring rules and models
    can use them.

    Examples
    --------
    >>> import pandas as pd
    >>> export = pd.DataFrame({"Lead ID": ["L1", "L2"], "Full Name": ["Anna Berg", "Li Wang"],
    ...                        "E-mail": ["anna@acme.com", "li@corp.cn"], "Lead Source": ["Web Form", "Trade Show"]})
    >>> m = SourceMapping(source="crm", columns={"Lead ID": "lead_id", "Full Name": "name", "E-mail": "email"},
    ...                   channel_column="Lead Source", channel_map={"Web Form": "web", "Trade Show": "fair"})
    >>> intake({"crm": export}, [m]).accepted[["lead_id", "name", "channel"]].values.tolist()
    [['L1', 'Anna Berg', 'web'], ['L2', 'Li Wang', 'fair']]
    """

    source: str = Field(min_length=1)
    channel: str | None = Field(default=None, min_length=1)
    channel_column: str | None = Field(default=None, min_length=1)
    channel_map: dict[str, str] = {}
    unmapped_channels: Literal["keep", "quarantine"] = "keep"
    columns: dict[str, str]
    keep_extra: bool = True
    default_region: str = "CN"
    cost_per_lead: float = Field(default=0.0, ge=0)

    @model_validator(mode="after")
    def _one_channel(self) -> SourceMapping:
        if (self.channel is None) == (self.channel_column is None):
            raise ValueError(f"source '{self.source}': give either channel (one channel for every "
                             "row) or channel_column (a column of the export), not both or neither")
        if self.channel_map and self.channel_column is None:
            raise ValueError(f"source '{self.source}': channel_map needs channel_column")
        return self

    @field_validator("columns")
    @classmethod
    def _targets(cls, v: dict[str, str]) -> dict[str, str]:
        check_known(v.values(), TARGET_COLUMNS + NAME_PARTS, "target column(s)")
        dup = sorted({t for t in v.values() if list(v.values()).count(t) > 1})
        if dup:
            raise ValueError(f"several columns map to {dup}; map one column to each")
        return v


class IntakeRules(Config):
    """The quality gate. Reasons a row is quarantined (a row may have several):

    ``missing:<field>`` (a ``required`` field is empty), ``no_contact`` (no valid email or phone,
    when ``contact_required``), ``email_invalid`` / ``phone_invalid`` (malformed; only with
    ``strict_formats``, else the bad value is cleared and noted in ``issues``),
    ``blocked_domain``, ``fake`` (test names, throw-away values, 1111111 phones), and
    ``created_at_invalid``.

    Examples
    --------
    >>> import pandas as pd
    >>> leads = pd.DataFrame({"lead_id": ["a", "b", "c"], "name": ["Anna Berg", "test", "Li Wang"],
    ...                       "email": ["anna@acme.com", "x@corp.cn", "li@mailinator.com"]})
    >>> res = intake({"f": leads}, [SourceMapping(source="f", channel="web", columns={"lead_id": "lead_id", "name": "name", "email": "email"})], IntakeRules())
    >>> res.accepted["lead_id"].tolist(), res.quarantine[["lead_id", "reasons"]].values.tolist()
    (['a'], [['b', 'fake'], ['c', 'blocked_domain']])
    """

    required: tuple[str, ...] = ("name",)
    contact_required: bool = True
    strict_formats: bool = False
    blocked_domains: tuple[str, ...] = ("example.com", "example.org", "test.com", "mailinator.com",
                                        "guerrillamail.com", "10minutemail.com")
    fake_values: tuple[str, ...] = ("test", "testing", "asdf", "qwerty", "xxx", "n/a", "na", "none",
                                    "null", "abc", "aaa", "fake", "测试")


#: The quality gate for anonymised exports (public data sets, privacy-filtered CRM extracts):
#: no name and no contact are required, so rows are not quarantined for lacking what the
#: export never has; formats, blocked domains, fakes and dates are still checked where present.
ANONYMISED = IntakeRules(required=(), contact_required=False)


def _fake_number(national: str) -> bool:
    """One digit repeated, or a run like 12345678 / 87654321, as the whole national number."""
    return len(set(national)) == 1 or national in "1234567890" or national in "9876543210"


def read_source(src, name: str) -> pd.DataFrame:
    """A DataFrame, or a CSV / Parquet file (by extension), read as text.

    Examples
    --------
    >>> import pandas as pd
    >>> read_source(pd.DataFrame({"phone": ["0049 30 1234567"]}), "fair")["phone"].tolist()
    ['0049 30 1234567']
    """
    return read_table(src, source=f"source '{name}'")


def _clean_text(s: pd.Series) -> pd.Series:
    t = s.astype("string").str.replace(r"\s+", " ", regex=True).str.strip()
    return t.mask(t == "")


class IntakeResult(tuple):
    """``(accepted, quarantine)``, as a pair that unpacks as before, plus ``report``: what intake
    did not take as given (channel values the map did not name, blank channels, with their counts,
    first rows and whether they were kept or quarantined; extra columns kept).

    Examples
    --------
    >>> import pandas as pd
    >>> res = intake({"f": pd.DataFrame({"lead_id": ["a"], "name": ["Anna Berg"], "email": ["anna@acme.com"]})},
    ...              [SourceMapping(source="f", channel="web", columns={"lead_id": "lead_id", "name": "name", "email": "email"})])
    >>> accepted, quarantine = res
    >>> len(accepted), len(quarantine), list(res.report.columns)[:3]
    (1, 0, ['source', 'column', 'field'])
    """

    def __new__(cls, accepted: pd.DataFrame, quarantine: pd.DataFrame, report: pd.DataFrame):
        obj = super().__new__(cls, (accepted, quarantine))
        obj.report = report
        return obj

    @property
    def accepted(self) -> pd.DataFrame:
        return self[0]

    @property
    def quarantine(self) -> pd.DataFrame:
        return self[1]


def _join_names(df: pd.DataFrame, raw: pd.DataFrame, m: SourceMapping) -> pd.Series:
    parts = [_clean_text(raw[k]) for t in NAME_PARTS for k, v in m.columns.items() if v == t]
    if not parts:
        return df["name"]
    joined = parts[0].fillna("")
    for q in parts[1:]:
        joined = (joined + " " + q.fillna("")).str.strip()
    return _clean_text(joined)


def intake(sources: dict, mappings, rules: IntakeRules | None = None) -> IntakeResult:
    """Read, map, normalise and validate every source; see the module docstring.

    Parameters
    ----------
    sources : source name -> DataFrame or file path.
    mappings : one :class:`SourceMapping` per source.
    rules : the quality gate (default :class:`IntakeRules`; :data:`ANONYMISED` for exports
        without names or contacts).

    Returns
    -------
    :class:`IntakeResult`: ``accepted, quarantine = intake(...)``; ``.report`` lists the channel
    values that were not mapped and the extra columns kept.

    Examples
    --------
    >>> export = pd.DataFrame({"origin": ["Organic Search", "paid_search", None],
    ...                        "first_contact_date": ["2018-02-01", "2018-02-01", "2018-02-02"],
    ...                        "landing_page_id": ["p1", "p2", "p1"]})
    >>> m = SourceMapping(source="mql", channel_column="origin",
    ...                   channel_map={"Organic Search": "organic"},
    ...                   columns={"first_contact_date": "created_at"})
    >>> res = intake({"mql": export}, [m], ANONYMISED)
    >>> res.accepted[["channel", "landing_page_id"]].values.tolist()
    [['organic', 'p1'], ['paid_search', 'p2'], ['(blank)', 'p1']]
    >>> res.report[["value", "rows", "action"]].values.tolist()
    [['paid_search', 1, 'kept'], ['(blank)', 1, 'kept'], ['landing_page_id', 3, 'kept as extra column']]
    """
    rules = IntakeRules() if rules is None else rules
    maps = {m.source: m for m in mappings}
    missing = sorted(set(sources) - set(maps))
    if missing:
        raise KeyError(f"no SourceMapping for source(s) {missing}")
    acc, quar, reports = [], [], []
    for name, src in sources.items():
        m = maps[name]
        raw = read_source(src, name)
        need = set(m.columns) | ({m.channel_column} if m.channel_column else set())
        absent = sorted(need - set(raw.columns))
        if absent:
            raise KeyError(f"source '{name}': mapped column(s) {absent} not in the file; "
                           f"its columns are {list(raw.columns)}")
        n = len(raw)
        df = pd.DataFrame(index=raw.index)
        for c in TARGET_COLUMNS:
            srcs = [k for k, v in m.columns.items() if v == c]
            df[c] = _clean_text(raw[srcs[0]]) if srcs else pd.Series(pd.NA, index=raw.index, dtype="string")
        if "name" not in m.columns.values():
            df["name"] = _join_names(df, raw, m)
        reasons = [[] for _ in range(n)]
        issues = [[] for _ in range(n)]

        def flag(mask, why, where=reasons):
            for k in np.flatnonzero(np.asarray(mask, dtype=bool)):
                where[k].append(why)

        if m.channel_column is not None:
            channel, bad_channel, rep = map_categories(raw[m.channel_column], m.channel_map,
                                                       unmapped=m.unmapped_channels)
            flag(bad_channel, "channel_unmapped")
            reports.append(rep.assign(source=name, column=m.channel_column))
        else:
            channel = pd.Series(m.channel, index=raw.index, dtype="str")
        df["name"] = df["name"].str.title() if df["name"].notna().any() else df["name"]
        email = df["email"].str.lower()
        ok_email = email.fillna("").map(lambda e: bool(_EMAIL_RE.match(e))).to_numpy(dtype=bool)
        bad_email = email.notna().to_numpy() & ~ok_email
        phones = [normalise_phone(v if pd.notna(v) else None, m.default_region) for v in df["phone"]]
        e164 = pd.Series([p for p, _ in phones], index=df.index, dtype="string")
        ok_phone = np.array([ok for _, ok in phones], dtype=bool)
        bad_phone = df["phone"].notna().to_numpy() & ~ok_phone
        if rules.strict_formats:
            flag(bad_email, "email_invalid")
            flag(bad_phone, "phone_invalid")
        for k in np.flatnonzero(bad_email):
            issues[k].append(f"email_invalid:{df['email'].iloc[k]}")
        for k in np.flatnonzero(bad_phone):
            issues[k].append(f"phone_invalid:{df['phone'].iloc[k]}")
        df["email"] = email.where(ok_email)
        df["phone"] = e164
        for f in rules.required:
            if f not in df.columns:
                raise KeyError(f"IntakeRules.required names '{f}', not a lead column {list(TARGET_COLUMNS)}")
            flag(df[f].isna(), f"missing:{f}")
        if rules.contact_required:
            flag(~ok_email & ~ok_phone, "no_contact")
        domain = df["email"].str.extract(r"@(.+)$", expand=False)
        flag(domain.isin(rules.blocked_domains).fillna(False), "blocked_domain")
        fake = set(rules.fake_values)
        local = df["email"].str.extract(r"^([^@]+)@", expand=False).str.lower()
        fake_phone = np.array([isinstance(v, str) and _fake_number(str(phonenumbers.parse(v).national_number))
                               for v in df["phone"].tolist()], dtype=bool)
        is_fake = (df["name"].str.lower().isin(fake).fillna(False).to_numpy(dtype=bool)
                   | local.isin(fake).fillna(False).to_numpy(dtype=bool) | fake_phone)
        flag(is_fake, "fake")
        created = pd.to_datetime(df["created_at"], errors="coerce", format="mixed")
        flag(df["created_at"].notna() & created.isna(), "created_at_invalid")
        for k in np.flatnonzero(df["created_at"].notna() & created.isna()):
            issues[k].append(f"created_at_invalid:{df['created_at'].iloc[k]}")
        df["created_at"] = created
        df["company_norm"] = df["company"].map(normalise_company, na_action="ignore").astype("string")
        df["lead_id"] = df["lead_id"].fillna(pd.Series([f"{name}:{k + 1}" for k in range(n)], index=df.index))
        df["channel"] = channel
        df["source"] = name
        df["source_row"] = np.arange(1, n + 1)
        df["stage"] = "raw"
        df["cost"] = float(m.cost_per_lead)
        df["issues"] = [";".join(i) for i in issues]
        if m.keep_extra:
            extra = extra_columns(raw.columns, need, OWN_COLUMNS)
            for c, kept in extra:
                df[kept] = raw[c]
            if extra:
                cols = [c for c, _ in extra]
                reports.append(pd.DataFrame({"field": "column", "value": cols, "rows": n,
                                             "first_rows": [[] for _ in cols], "action": "kept as extra column",
                                             "source": name, "column": cols}))
        bad = np.array([bool(r) for r in reasons], dtype=bool)
        acc.append(df[~bad])
        q = raw[bad].copy()
        q.insert(0, "source_row", np.arange(1, n + 1)[bad])
        q.insert(0, "source", name)
        q["reasons"] = [";".join(r) for r, b in zip(reasons, bad) if b]
        quar.append(q)
    accepted = pd.concat(acc, ignore_index=True) if acc else pd.DataFrame()
    quarantine = pd.concat(quar, ignore_index=True) if quar else pd.DataFrame()
    cols = ["source", "column", "field", "value", "rows", "first_rows", "action"]
    report = (pd.concat([r for r in reports if len(r)], ignore_index=True)[cols]
              if any(len(r) for r in reports) else pd.DataFrame(columns=cols))
    return IntakeResult(accepted, quarantine, report)
