"""Contact records for simulated leads, so the funnel's quality gate and duplicate detection are
the rules themselves (FEATURES L2C-1; DESIGN principle 1).

With ``[baseline.records]`` set, every simulated lead gets the record a web form or a list import
writes into a CRM: ``name, company, email, phone, city``. A lead of a channel's ``invalid_share``
has one defect (no name, a test entry, a throw-away domain, no contact, a malformed address with
no phone); a lead of its ``duplicate_share`` is a second record of an earlier person, copied with
the variation second records have (a typo in the name, a private address instead of the company
one, a missing phone or company, other formatting). Then :func:`crmsim.leads.intake.intake` with
the scenario's :class:`~crmsim.leads.intake.IntakeRules` decides what is quarantined, and the
scenario's :class:`~crmsim.leads.dedup.DedupRule` which accepted leads are merged and into which:
what a change of the gate or of the dedup threshold costs can be simulated. The record mix
(companies, private addresses, phones, how duplicates vary) is an illustrative assumption, not a
published figure; set it from a look at your own CRM's duplicates.

The rules are applied to the whole run's records at once: a lead is merged into the first lead of
its connected group of matches, as matching each new lead against every earlier one would, except
that a chain of matches may also pass through a later lead.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field, field_validator, model_validator

from crmsim.config import Config
from crmsim.leads.dedup import LEAD_DEDUP, DedupRule
from crmsim.leads.intake import IntakeRules, SourceMapping, intake

__all__ = ["DEFECTS", "DuplicateVariation", "RecordsConfig", "draws_per_lead", "lead_records", "gate_and_dedup",
           "typo"]

#: What is wrong with a lead of a channel's ``invalid_share`` (one each, drawn by ``defects``).
DEFECTS = ("no_name", "fake", "blocked_domain", "no_contact", "bad_email")
_FIRST = ("Anna", "Jonas", "Maria", "Paul", "Sofia", "Liam", "Clara", "Mateo", "Lena", "Noah", "Emma", "Lucas",
          "Sara", "Ivan", "Elif", "Omar", "Nina", "Ravi", "Yuki", "Aiko", "Wei", "Li", "Chen", "Fang", "Jing",
          "Hao", "Ming", "Tao", "Zara", "Felix", "Mia", "Leon", "Hannah", "David", "Julia", "Marco", "Laura",
          "Tom", "Eva", "Ali")
_LAST = ("Wang", "Zhang", "Muller", "Smith", "Garcia", "Tanaka", "Rossi", "Kim", "Ng", "Berg", "Liu", "Chen",
         "Yang", "Huang", "Zhao", "Schmidt", "Weber", "Martin", "Silva", "Lopez", "Novak", "Kowalski", "Sato",
         "Singh", "Cohen", "Fischer", "Wagner", "Becker", "Hoffmann", "Schulz", "Koch", "Richter", "Klein",
         "Wolf", "Neumann", "Braun", "Jensen", "Larsen", "Moreau", "Dubois")
_CO_A = ("Blue", "North", "Silver", "Green", "Alpine", "Harbor", "Red", "Golden", "East", "Stone", "Bright",
         "Iron", "River", "Oak", "Summit", "Coastal", "Prime", "Urban", "Nova", "Delta", "Maple", "Falcon", "Cedar",
         "Polar", "Amber", "Crystal", "Royal", "Swift", "Lake", "West")
_CO_B = ("Harbor", "Bridge", "Peak", "Field", "Gate", "Line", "Works", "Point", "Wave", "Forge", "Crest",
         "Path", "Leaf", "Rock", "Star", "Valley", "Port", "Bay", "Hill", "Mill", "Ridge", "Spring", "Tower",
         "Yard", "Grove")
_CO_C = ("Logistics", "Foods", "Systems", "Medical", "Energy", "Retail", "Textiles", "Software", "Machines",
         "Consulting", "Chemicals", "Media", "Pharma", "Finance", "Robotics", "Packaging")
_SUFFIX = ("GmbH", "AG", "Ltd", "Inc", "SE", "KG")
_TLD = (".de", ".com", ".com", ".eu")
_CITIES = ("Berlin", "Hamburg", "Munich", "Cologne", "Frankfurt", "Stuttgart", "Leipzig", "Dresden",
           "Hanover", "Nuremberg", "Bremen", "Essen")
_FREE_MAIL = ("gmail.com", "outlook.com", "web.de", "gmx.de", "yahoo.com")
#: uniform draws per lead (columns of :func:`draws_per_lead`)
_U = ("first", "last", "company", "free", "phone", "digits", "pattern", "defect", "typo", "typo_at",
      "email", "phone_v", "company_v", "fmt")


class DuplicateVariation(Config):
    """How a second record of a person differs from the first (shares of duplicates): a typo in
    the name, a private address instead of the first one, no email, no phone, no company. Other
    differences (case, phone format, legal suffix) are always possible and normalised by intake.

    Examples
    --------
    >>> DuplicateVariation(free_mail=0.4).free_mail + DuplicateVariation().email_missing
    0.55
    """

    name_typo: float = Field(default=0.3, ge=0, le=1)
    free_mail: float = Field(default=0.25, ge=0, le=1)
    email_missing: float = Field(default=0.15, ge=0, le=1)
    phone_missing: float = Field(default=0.3, ge=0, le=1)
    company_missing: float = Field(default=0.2, ge=0, le=1)

    @model_validator(mode="after")
    def _email(self) -> DuplicateVariation:
        if self.free_mail + self.email_missing > 1:
            raise ValueError(f"free_mail + email_missing must not exceed 1; got {self.free_mail + self.email_missing:g}")
        return self


class RecordsConfig(Config):
    """Contact records for the simulated leads, and the rules that judge them.

    ``intake`` is the quality gate, ``dedup`` the duplicate rule (default
    :data:`crmsim.leads.dedup.LEAD_DEDUP`; a ``dedup`` table without ``keys`` and ``fields`` changes
    only the settings it names). Leads come from ``companies`` companies (colleagues
    share a company's name, email domain and city); ``free_mail_share`` give a private address
    (and then no company), ``phone_share`` a phone. ``defects`` weighs the kinds of
    :data:`DEFECTS` of an invalid lead; ``duplicates`` how second records vary.

    Examples
    --------
    >>> r = RecordsConfig(dedup={"threshold": 0.7})    # LEAD_DEDUP with another threshold
    >>> r.dedup.threshold, r.dedup.keys == LEAD_DEDUP.keys, r.intake.contact_required, r.companies
    (0.7, True, True, 5000)
    """

    intake: IntakeRules = IntakeRules()
    dedup: DedupRule = LEAD_DEDUP
    companies: int = Field(default=5000, ge=1, le=len(_CO_A) * len(_CO_B) * len(_CO_C))
    free_mail_share: float = Field(default=0.2, ge=0, le=1)
    phone_share: float = Field(default=0.6, ge=0, le=1)
    defects: dict[Literal[DEFECTS], float] = {d: 1.0 for d in DEFECTS}
    duplicates: DuplicateVariation = DuplicateVariation()

    @field_validator("dedup", mode="before")
    @classmethod
    def _dedup_from_default(cls, v):
        """A table without blocking keys or comparators (``dedup = { threshold = 0.7 }``) changes
        those settings of :data:`~crmsim.leads.dedup.LEAD_DEDUP`."""
        if isinstance(v, dict) and not {"keys", "fields"} <= set(v):
            return {**LEAD_DEDUP.model_dump(), **v}
        return v

    @model_validator(mode="after")
    def _weights(self) -> RecordsConfig:
        if any(w < 0 for w in self.defects.values()) or sum(self.defects.values()) <= 0:
            raise ValueError(f"defects are weights >= 0 with a positive sum; got {self.defects}")
        return self


def draws_per_lead(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """The uniform draws one lead's record takes (from the channel's own ``records`` stream).

    Examples
    --------
    >>> sorted(draws_per_lead(np.random.default_rng(1), 3))[:3]
    ['rec.company', 'rec.company_v', 'rec.defect']
    """
    u = rng.random((len(_U), n))
    return {f"rec.{k}": u[i] for i, k in enumerate(_U)}


def typo(s: str, at: float, kind: float) -> str:
    """``s`` with one typing error at relative position ``at`` in [0, 1): two letters swapped
    (``kind`` < 1/3), one dropped (< 2/3) or one doubled; strings under 3 letters unchanged.

    Examples
    --------
    >>> [typo("Anna Berg", 0.8, kind) for kind in (0.1, 0.5, 0.9)]
    ['Anna eBrg', 'Anna Brg', 'Anna Beerg']
    """
    if len(s) < 3:
        return s
    k = 1 + int(at * (len(s) - 2))
    if kind < 1 / 3:
        return s[:k - 1] + s[k] + s[k - 1] + s[k + 1:]
    if kind < 2 / 3:
        return s[:k] + s[k + 1:]
    return s[:k] + s[k] + s[k:]


def _pick(pool: tuple[str, ...], u: np.ndarray) -> np.ndarray:
    return np.asarray(pool, dtype=object)[np.minimum((u * len(pool)).astype(np.int64), len(pool) - 1)]


def _company(k: int) -> tuple[str, str, str]:
    """Company ``k``'s name, email domain and city (a fixed mixed-radix name per index)."""
    a, b, c = k % len(_CO_A), (k // len(_CO_A)) % len(_CO_B), (k // (len(_CO_A) * len(_CO_B))) % len(_CO_C)
    words = f"{_CO_A[a]} {_CO_B[b]} {_CO_C[c]}"
    h = (k * 2654435761) % 2**32
    return (f"{words} {_SUFFIX[h % len(_SUFFIX)]}", words.replace(" ", "").lower() + _TLD[(h >> 8) % len(_TLD)],
            _CITIES[(h >> 16) % len(_CITIES)])


def lead_records(d: dict[str, np.ndarray], invalid: np.ndarray, dup: np.ndarray, survivor: np.ndarray,
                 cfg: RecordsConfig) -> pd.DataFrame:
    """Every lead's record as a form would send it (``lead_id, name, company, email, phone,
    city``, text or missing), from its draws ``d`` (``rec.*``): a person's own record, a defect
    for ``invalid`` leads, a varied copy of the record of lead ``survivor`` for ``dup`` leads.

    Examples
    --------
    >>> d = draws_per_lead(np.random.default_rng(3), 3)
    >>> r = lead_records(d, np.array([False, False, False]), np.array([False, False, True]),
    ...                  np.array([-1, -1, 0]), RecordsConfig())
    >>> r.columns.tolist(), r.loc[2, "name"] == r.loc[0, "name"] or r.loc[2, "name"][0] == r.loc[0, "name"][0]
    (['lead_id', 'name', 'company', 'email', 'phone', 'city'], True)
    """
    n = invalid.size
    first, last = _pick(_FIRST, d["rec.first"]), _pick(_LAST, d["rec.last"])
    comp = np.minimum((d["rec.company"] * cfg.companies).astype(np.int64), cfg.companies - 1)
    table = [_company(int(k)) for k in range(cfg.companies)] if n else []
    free = d["rec.free"] < cfg.free_mail_share
    name = first + " " + last
    company = np.array([None if f else table[k][0] for k, f in zip(comp.tolist(), free.tolist())], dtype=object)
    city = np.array([table[k][2] for k in comp.tolist()], dtype=object)
    city[free] = None
    pattern = (d["rec.pattern"] * 3).astype(np.int64)
    local = np.array([(f"{a}.{b}" if p == 0 else f"{a[0]}.{b}" if p == 1 else f"{a}{b[0]}").lower()
                      for a, b, p in zip(first.tolist(), last.tolist(), pattern.tolist())], dtype=object)
    private = np.array([f"{a.lower()}.{b.lower()}{int(u * 90) + 10}@{_FREE_MAIL[int(u * 997) % len(_FREE_MAIL)]}"
                        for a, b, u in zip(first.tolist(), last.tolist(), d["rec.digits"].tolist())], dtype=object)
    email = np.where(free, private, local + "@" + np.array([table[k][1] for k in comp.tolist()], dtype=object))
    digits = (d["rec.digits"] * 1e8).astype(np.int64)
    phone = np.array([f"+49 30 {x:08d}" if p else None
                      for x, p in zip(digits.tolist(), (d["rec.phone"] < cfg.phone_share).tolist())], dtype=object)

    # invalid leads: one defect each
    kinds = [k for k in DEFECTS if cfg.defects.get(k, 0) > 0]
    w = np.cumsum([cfg.defects[k] for k in kinds]) / sum(cfg.defects[k] for k in kinds)
    kind = np.asarray(kinds, dtype=object)[np.minimum(np.searchsorted(w, d["rec.defect"], side="right"), len(kinds) - 1)]
    kind = np.where(invalid, kind, None)
    name[kind == "no_name"] = None
    fake = kind == "fake"
    name[fake] = "Test"
    email[fake] = ["test@" + e.split("@")[1] for e in email[fake].tolist()]
    email[kind == "blocked_domain"] = [loc + "@mailinator.com" for loc in local[kind == "blocked_domain"].tolist()]
    email[kind == "no_contact"] = None
    email[kind == "bad_email"] = [e.rsplit(".", 1)[0] for e in email[kind == "bad_email"].tolist()]
    phone[np.isin(kind, ["blocked_domain", "no_contact", "bad_email"])] = None

    # duplicates: the survivor's record, varied
    k = np.flatnonzero(dup)
    s = survivor[k]
    v = cfg.duplicates
    u = {c: d[f"rec.{c}"][k] for c in ("typo", "typo_at", "email", "phone_v", "company_v", "fmt")}
    nm = name[s].copy()
    t = u["typo"] < v.name_typo
    nm[t] = [typo(x, a, b) for x, a, b in zip(nm[t].tolist(), u["typo_at"][t].tolist(), u["fmt"][t].tolist())]
    em = np.where(u["email"] < v.email_missing, None,
                  np.where(u["email"] < v.email_missing + v.free_mail, private[k], email[s]))
    upper = (u["fmt"] < 0.2) & (em != None)  # noqa: E711 - elementwise on an object array
    em[upper] = [e.upper() for e in em[upper].tolist()]
    ph = phone[s].copy()
    has = ph != None  # noqa: E711
    ph[has & (u["phone_v"] < v.phone_missing)] = None
    national = has & (u["phone_v"] >= v.phone_missing) & (u["fmt"] >= 0.5)
    ph[national] = ["0" + p[4:] for p in ph[national].tolist()]     # +49 30 ... -> 030 ...
    co = company[s].copy()
    co[u["company_v"] < v.company_missing] = None
    bare = (co != None) & (u["fmt"] >= 0.6)  # noqa: E711
    co[bare] = [c.rsplit(" ", 1)[0] for c in co[bare].tolist()]
    name[k], email[k], phone[k], company[k] = nm, em, ph, co
    city[k] = city[s]
    return pd.DataFrame({"lead_id": np.arange(n).astype(str), "name": name, "company": company, "email": email,
                         "phone": phone, "city": city})


def gate_and_dedup(records: pd.DataFrame, cfg: RecordsConfig) -> SimpleNamespace:
    """The scenario's rules on the records: ``quarantined`` (bool per lead) with ``reasons`` (the
    intake's, ``""`` for accepted leads), ``merged_into`` (the position of the lead each accepted
    lead is merged into, -1 for none; the first of its group of matches by the dedup rule) and
    ``skipped_blocks`` (blocking key values the rule ignored for exceeding ``max_block``).

    Examples
    --------
    >>> recs = pd.DataFrame({"lead_id": ["0", "1", "2"], "name": ["Anna Berg", "Ana Berg", "Test"],
    ...                      "company": ["Acme GmbH", "Acme", None], "email": ["anna.berg@acme.de", "ANNA.BERG@acme.de", "test@x.de"],
    ...                      "phone": [None, None, None], "city": ["Berlin", "Berlin", None]})
    >>> g = gate_and_dedup(recs, RecordsConfig())
    >>> g.quarantined.tolist(), g.reasons.tolist(), g.merged_into.tolist()
    ([False, False, True], ['', '', 'fake'], [-1, 0, -1])
    """
    n = len(records)
    cols = ("lead_id", "name", "company", "email", "phone", "city")
    m = SourceMapping(source="simulated", channel="simulated", columns={c: c for c in cols}, default_region="DE",
                      keep_extra=False)
    res = intake({"simulated": records[list(cols)]}, [m], cfg.intake)
    quarantined = np.zeros(n, dtype=bool)
    reasons = np.full(n, "", dtype=object)
    if len(res.quarantine):
        q = res.quarantine["source_row"].to_numpy(np.int64) - 1
        quarantined[q] = True
        reasons[q] = res.quarantine["reasons"].to_numpy(object)
    acc = res.accepted.reset_index(drop=True)
    pos = acc["source_row"].to_numpy(np.int64) - 1
    merged_into = np.full(n, -1, dtype=np.int64)
    skipped = 0
    if len(acc) > 1:
        pairs, sk = cfg.dedup.candidate_pairs(acc)
        group = cfg.dedup.groups(acc, cfg.dedup.score(acc, pairs)).to_numpy()
        into = group != np.arange(len(acc))
        merged_into[pos[into]] = pos[group[into]]
        skipped = len(sk)
    return SimpleNamespace(quarantined=quarantined, reasons=reasons, merged_into=merged_into,
                           skipped_blocks=skipped)
