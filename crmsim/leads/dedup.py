"""Duplicate detection and non-destructive merge (FEATURES L2C-1).

Pipeline: **blocking** (records sharing a blocking key become candidate pairs; a key value shared by
more than ``max_block`` records, e.g. a switchboard number, is ignored) -> **comparison** (a
similarity in [0, 1] per field from rapidfuzz, weighted) -> **threshold** -> **groups** (connected
components, networkx) -> **merge** (a survivorship policy per field; the survivor keeps every
absorbed id and the values it overrode; :func:`unmerge` restores the input exactly).

Examples
--------
>>> import pandas as pd
>>> df = pd.DataFrame({"lead_id": ["a", "b", "c"], "name": ["Anna Berg", "Ana Berg", "Li Wang"],
...                    "email": ["anna@x.com", "anna@x.com", "li@y.com"]})
>>> rule = DedupRule(keys=[{"fields": ["email"]}],
...                  fields=[{"field": "name", "method": "jaro_winkler", "weight": 1},
...                          {"field": "email", "method": "exact", "weight": 1}], threshold=0.8)
>>> rule.groups(df).tolist()
[0, 0, 2]
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field, field_validator, model_validator
from rapidfuzz import fuzz, process
from rapidfuzz.distance import JaroWinkler

from crmsim.config import Config
from crmsim.tables import LEAD_STAGES

__all__ = [
    "FREE_MAIL",
    "BlockingKey",
    "FieldComparator",
    "DedupRule",
    "LEAD_DEDUP",
    "PERSON_DEDUP",
    "fellegi_sunter_em",
    "Survivorship",
    "merge",
    "unmerge",
    "pair_quality",
]

#: Free-mail domains: an email domain is a company blocking key only outside these.
FREE_MAIL = frozenset({
    "gmail.com", "googlemail.com", "yahoo.com", "hotmail.com", "outlook.com", "live.com", "msn.com",
    "icloud.com", "me.com", "aol.com", "gmx.de", "gmx.net", "web.de", "mail.ru", "yandex.ru",
    "qq.com", "163.com", "126.com", "sina.com", "sohu.com", "foxmail.com", "proton.me",
    "protonmail.com",
})

Transform = Literal["exact", "lower", "digits", "prefix3", "email_domain", "company_domain", "soundex",
                    "company"]


def _soundex(s: str) -> str:
    codes = {**dict.fromkeys("bfpv", "1"), **dict.fromkeys("cgjkqsxz", "2"), **dict.fromkeys("dt", "3"),
             "l": "4", **dict.fromkeys("mn", "5"), "r": "6"}
    s = "".join(ch for ch in s.lower() if ch.isalpha())
    if not s:
        return ""
    out, last = s[0].upper(), codes.get(s[0], "")
    for ch in s[1:]:
        c = codes.get(ch, "")
        if c and c != last:
            out += c
        if ch not in "hw":
            last = c
    return (out + "000")[:4]


def _transform(col: pd.Series, how: str) -> pd.Series:
    s = col.astype("string").str.strip()
    s = s.mask(s == "")
    if how == "exact":
        return s
    if how == "lower":
        return s.str.lower()
    if how == "digits":  # the last 10 digits: country prefixes (+86, 0086) do not matter
        d = s.str.replace(r"\D", "", regex=True).str[-10:]
        return d.mask(d.str.len() < 5)
    if how == "prefix3":
        return s.str.lower().str[:3]
    if how == "company":  # without legal suffixes (Ltd, GmbH, 有限公司...), lower-cased
        from crmsim.leads.intake import normalise_company

        uniq = {v: (normalise_company(v) or "").lower() or None for v in s.dropna().unique()}
        return s.map(uniq).astype("string")
    if how == "soundex":
        return s.map(lambda v: _soundex(v) if isinstance(v, str) else pd.NA, na_action="ignore")
    dom = s.str.lower().str.extract(r"@([^@\s]+)$", expand=False)
    if how == "company_domain":
        return dom.mask(dom.isin(FREE_MAIL))
    return dom  # email_domain


class BlockingKey(Config):
    """Records whose transformed ``fields`` are all equal (and present) are compared.

    ``max_block``: a key value shared by more records than this is ignored (and reported), so a
    switchboard number or a shared inbox does not pull unrelated records together.

    Examples
    --------
    >>> BlockingKey(fields=["phone"], transform="digits", max_block=20).transform
    'digits'
    """

    fields: tuple[str, ...] = Field(min_length=1)
    transform: Transform = "lower"
    max_block: int = Field(default=50, ge=2)

    @property
    def name(self) -> str:
        return "+".join(self.fields) + ("" if self.transform == "lower" else f":{self.transform}")

    def values(self, df: pd.DataFrame) -> pd.Series:
        parts = [_transform(df[f], self.transform) for f in self.fields]
        key = parts[0]
        for p in parts[1:]:
            key = key + "|" + p  # missing if any part is missing
        return key


class FieldComparator(Config):
    """Similarity in [0, 1] of one field; a pair missing the field on either side is skipped
    (its weight leaves the average) unless ``missing = "zero"``.

    Examples
    --------
    >>> FieldComparator(field="company", method="company", weight=2.0).method
    'company'
    """

    field: str
    method: Literal["exact", "jaro_winkler", "ratio", "token_sort", "partial", "numeric", "phone",
                    "company"] = "jaro_winkler"
    weight: float = Field(default=1.0, gt=0)
    missing: Literal["skip", "zero"] = "skip"


#: string similarities computed pair by pair in rapidfuzz's C++ (``process.cpdist``), scaled to [0, 1]
_CPDIST = {"jaro_winkler": (JaroWinkler.normalized_similarity, 1.0), "ratio": (fuzz.ratio, 100.0),
           "token_sort": (fuzz.token_sort_ratio, 100.0), "company": (fuzz.token_sort_ratio, 100.0),
           "partial": (fuzz.partial_ratio, 100.0)}


def _similarity(method: str, a: list, b: list) -> np.ndarray:
    n = len(a)
    out = np.full(n, np.nan)
    if method == "phone":   # the same last 8 digits whatever the prefix or formatting (5 digits at least)
        digits = {v: "".join(ch for ch in v if ch.isdigit()) for v in set(a) | set(b) if isinstance(v, str)}
        last8 = {v: d[-8:] if len(d) >= 5 else None for v, d in digits.items()}
        a = [last8.get(x) if isinstance(x, str) else None for x in a]
        b = [last8.get(y) if isinstance(y, str) else None for y in b]
    have = np.array([not (x is None or y is None or x != x or y != y) for x, y in zip(a, b)], dtype=bool)
    if method in _CPDIST or method in ("exact", "phone"):
        k = np.flatnonzero(have)
        if not k.size:
            return out
        x, y = [a[q] for q in k], [b[q] for q in k]
        same = np.array([p == q for p, q in zip(x, y)], dtype=bool)
        if method == "exact":
            out[k] = same
        elif method == "phone":
            out[k] = np.where(same, 1.0, process.cpdist(x, y, scorer=JaroWinkler.normalized_similarity,
                                                        dtype=np.float64, workers=1))
        else:   # company: legal suffixes already stripped in score(); sorted tokens
            scorer, scale = _CPDIST[method]
            out[k] = process.cpdist(x, y, scorer=scorer, dtype=np.float64, workers=1) / scale
        return out
    for k in np.flatnonzero(have):  # numeric: 1 at equality, 0 at a 100% relative difference
        fx, fy = float(a[k]), float(b[k])
        den = max(abs(fx), abs(fy))
        out[k] = 1.0 if den == 0 else max(0.0, 1 - abs(fx - fy) / den)
    return out


def fellegi_sunter_em(levels: np.ndarray, n_levels: int, *, max_iter: int = 500, tol: float = 1e-9,
                      prior: float = 0.1) -> dict:
    """Unsupervised Fellegi-Sunter weights by EM (Fellegi & Sunter 1969; Winkler 1988's EM).

    ``levels`` is a (pairs x fields) array of agreement levels, 0 = best agreement ... n_levels-1,
    -1 = missing (the field leaves that pair's likelihood). A pair is a match (M) or not (U); its
    fields agree independently given the class, with level probabilities ``m`` and ``u`` per
    field. EM from a 10% prior, M concentrated on agreement and U on the levels' overall shares,
    until no probability moves by ``tol``. Returns ``p_match`` per pair, ``weight`` (log2 m/u per
    field and level), ``m``, ``u``, ``prior`` (the share of matches among the pairs),
    ``iterations`` and ``converged``.

    Examples
    --------
    >>> g = np.array([[0, 0], [0, 0], [0, 1], [1, 1], [1, 1], [1, 1], [1, 0], [1, 1]])
    >>> r = fellegi_sunter_em(g, 2)
    >>> bool(r["p_match"][0] > 0.5 > r["p_match"][3])
    True
    """
    G = np.asarray(levels, dtype=np.int64)
    P, K = G.shape
    have = G >= 0
    Gc = np.maximum(G, 0)
    u = np.array([np.bincount(Gc[have[:, k], k], minlength=n_levels) + 1.0 for k in range(K)])
    u /= u.sum(axis=1, keepdims=True)
    m = np.tile(np.r_[0.9, np.full(n_levels - 1, 0.1 / max(n_levels - 1, 1))], (K, 1))
    lam, w, converged, iterations = prior, np.zeros(P), False, 0
    cols = np.arange(K)
    while iterations < max_iter:
        iterations += 1
        lm = np.log(lam) + np.where(have, np.log(m[cols, Gc]), 0.0).sum(axis=1)
        lu = np.log1p(-lam) + np.where(have, np.log(u[cols, Gc]), 0.0).sum(axis=1)
        w = 1 / (1 + np.exp(np.clip(lu - lm, -700, 700)))
        lam2 = float(np.clip(w.mean(), 1e-9, 1 - 1e-9))
        m2 = np.array([np.bincount(Gc[:, k], weights=w * have[:, k], minlength=n_levels) for k in range(K)]) + 1e-9
        u2 = np.array([np.bincount(Gc[:, k], weights=(1 - w) * have[:, k], minlength=n_levels)
                       for k in range(K)]) + 1e-9
        m2 /= m2.sum(axis=1, keepdims=True)
        u2 /= u2.sum(axis=1, keepdims=True)
        step = max(abs(lam2 - lam), float(np.abs(m2 - m).max()), float(np.abs(u2 - u).max()))
        lam, m, u = lam2, m2, u2
        if step < tol:
            converged = True
            break
    if (m[:, 0] - u[:, 0]).mean() < 0:  # the classes came out swapped: M is the agreeing one
        m, u, lam, w = u, m, 1 - lam, 1 - w
    return {"p_match": w, "weight": np.log2(m / u), "m": m, "u": u, "prior": lam, "iterations": iterations,
            "converged": converged}


class DedupRule(Config):
    """Blocking keys, field comparators and a threshold.

    ``weights = "fixed"`` (default): a pair's ``score`` is the comparators' weighted mean
    similarity. ``weights = "em"``: each similarity is cut into agreement ``levels`` (descending
    cut points: >= 0.999, >= 0.9, >= 0.7, below) and Fellegi-Sunter weights are estimated by EM
    on the candidate pairs themselves, without labels (:func:`fellegi_sunter_em`); ``score`` is
    then the pair's probability of being a match, ``match_weight`` its log2 odds, and the
    comparators' ``weight`` is not used. Either way a pair is a duplicate when ``score >=
    threshold``; the EM fit (prior, m and u per field and level, iterations) is in the scored
    table's ``attrs["em"]``.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"lead_id": ["a", "b", "c"], "name": ["Anna Berg", "Ana Berg", "Li Wang"],
    ...                    "email": ["anna@acme.com", "anna@acme.com", "li@corp.cn"], "score": [10, 30, 5]})
    >>> rule = DedupRule(keys=[{"fields": ["email"]}], fields=[{"field": "name"}], threshold=0.8)
    >>> found = rule.find(df)
    >>> found.round(3).to_dict("records")
    [{'i': 0, 'j': 1, 'key': 'email', 'sim.name': 0.97, 'score': 0.97, 'duplicate': True}]
    >>> rule.groups(df).tolist()
    [0, 0, 2]
    """

    keys: tuple[BlockingKey, ...] = Field(min_length=1)
    fields: tuple[FieldComparator, ...] = Field(min_length=1)
    threshold: float = Field(default=0.85, gt=0, le=1)
    weights: Literal["fixed", "em"] = "fixed"
    levels: tuple[float, ...] = (0.999, 0.9, 0.7)

    @field_validator("levels")
    @classmethod
    def _levels(cls, v: tuple[float, ...]) -> tuple[float, ...]:
        if not v or any(not 0 < x <= 1 for x in v) or any(a <= b for a, b in zip(v, v[1:])):
            raise ValueError(f"levels must be similarity cut points in (0, 1], strictly descending; got {list(v)}")
        return v

    @model_validator(mode="after")
    def _unique_fields(self) -> DedupRule:
        names = [f.field for f in self.fields]
        if len(set(names)) != len(names):
            raise ValueError(f"each field is compared once; got {names}")
        return self

    def _need(self, df: pd.DataFrame) -> None:
        cols = {f for k in self.keys for f in k.fields} | {f.field for f in self.fields}
        missing = sorted(cols - set(df.columns))
        if missing:
            raise KeyError(f"dedup: column(s) {missing} missing; columns are {list(df.columns)}")

    def for_columns(self, columns) -> tuple[DedupRule, list[str]]:
        """This rule without the blocking keys and comparators that name a column not in
        ``columns``, and a note for each one dropped. Raises ``KeyError`` if no key or no
        comparator is left."""
        have = set(columns)
        keys = [k for k in self.keys if set(k.fields) <= have]
        fields = [f for f in self.fields if f.field in have]
        notes = [f"blocking key {k.name}: not used (column(s) {sorted(set(k.fields) - have)} not in the table)"
                 for k in self.keys if k not in keys]
        notes += [f"field {f.field}: not compared (not in the table)" for f in self.fields if f not in fields]
        if not keys or not fields:
            need = sorted({x for k in self.keys for x in k.fields} | {f.field for f in self.fields})
            raise KeyError(f"dedup: the table has none of the rule's {'blocking keys' if not keys else 'fields'}; "
                           f"the rule uses columns {need}; columns are {sorted(have)}")
        return self.model_copy(update={"keys": tuple(keys), "fields": tuple(fields)}), notes

    def candidate_pairs(self, df: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        """``(pairs, skipped)``: pairs (positions ``i < j``) sharing at least one key, with the
        keys they share; ``skipped`` lists key values ignored for exceeding ``max_block``."""
        self._need(df)
        found, skipped = [], []
        pos = np.arange(len(df))
        for bit, key in enumerate(self.keys):
            v = key.values(df)
            t = pd.DataFrame({"pos": pos, "v": v.to_numpy()}).dropna()
            size = t.groupby("v")["pos"].transform("size")
            big = t[size > key.max_block]
            if len(big):
                skipped.append(big.groupby("v").size().rename("records").reset_index()
                               .assign(key=key.name))
            t = t[(size > 1) & (size <= key.max_block)]
            p = t.merge(t, on="v", suffixes=("_i", "_j"))
            p = p[p["pos_i"] < p["pos_j"]]
            # a record has one value per key, so a pair comes once per key: its keys are a bit set
            found.append(pd.DataFrame({"i": p["pos_i"].to_numpy(np.int64), "j": p["pos_j"].to_numpy(np.int64),
                                       "bits": np.int64(1) << bit}))
        allp = (pd.concat(found, ignore_index=True) if found
                else pd.DataFrame({"i": np.zeros(0, np.int64), "j": np.zeros(0, np.int64), "bits": np.zeros(0, np.int64)}))
        pairs = allp.groupby(["i", "j"], sort=True)["bits"].sum().reset_index()
        names = {b: ",".join(sorted({k.name for q, k in enumerate(self.keys) if b >> q & 1}))
                 for b in pairs["bits"].unique().tolist()}
        pairs["key"] = pairs.pop("bits").map(names).astype(object)
        sk = pd.concat(skipped, ignore_index=True) if skipped else pd.DataFrame(columns=["v", "records", "key"])
        return pairs, sk.rename(columns={"v": "value"})

    def score(self, df: pd.DataFrame, pairs: pd.DataFrame) -> pd.DataFrame:
        """Per pair: the similarity of each field (``sim.<field>``), the weighted ``score`` and
        ``duplicate`` (score >= threshold): the explanation of every decision."""
        out = pairs.copy()
        i, j = pairs["i"].to_numpy(), pairs["j"].to_numpy()
        num = np.zeros(len(pairs))
        den = np.zeros(len(pairs))
        for f in self.fields:
            col = df[f.field].astype("object").where(df[f.field].notna(), None).to_numpy()
            if f.method == "company":
                from crmsim.leads.intake import normalise_company

                uniq = {v: (normalise_company(v) or "").lower() or None
                        for v in set(col.tolist()) if v is not None}
                col = np.array([None if v is None else uniq[v] for v in col], dtype=object)
            elif f.method not in ("numeric", "phone"):
                col = np.array([None if v is None else " ".join(str(v).lower().split()) or None
                                for v in col], dtype=object)
            sim = _similarity(f.method, col[i].tolist(), col[j].tolist())
            out[f"sim.{f.field}"] = sim
            have = ~np.isnan(sim)
            num += np.where(have, sim, 0.0) * f.weight
            den += np.where(have | (f.missing == "zero"), f.weight, 0.0)
        out["score"] = np.where(den > 0, num / np.where(den > 0, den, 1), 0.0)
        if self.weights == "em" and len(out):
            sims = out[[f"sim.{f.field}" for f in self.fields]].to_numpy(float)
            lv = np.where(np.isnan(sims), -1, sum((sims < c).astype(np.int64) for c in self.levels))
            fit = fellegi_sunter_em(lv, len(self.levels) + 1)
            out["score"] = fit["p_match"]
            out["match_weight"] = np.log2(np.clip(fit["p_match"], 1e-300, None)) - np.log2(
                np.clip(1 - fit["p_match"], 1e-300, None))
            names = [f">= {self.levels[0]:g}"] + [f"[{b:g}, {a:g})" for a, b in zip(self.levels, self.levels[1:])] \
                + [f"< {self.levels[-1]:g}"]
            table = pd.DataFrame([{"field": f.field, "level": names[k], "m": fit["m"][q, k], "u": fit["u"][q, k],
                                   "weight": fit["weight"][q, k]} for q, f in enumerate(self.fields)
                                  for k in range(len(names))])
            out.attrs["em"] = {"prior": fit["prior"], "iterations": fit["iterations"],
                               "converged": fit["converged"], "pairs": len(out), "table": table}
        out["duplicate"] = out["score"] >= self.threshold
        return out

    def find(self, df: pd.DataFrame) -> pd.DataFrame:
        """All scored candidate pairs (positions ``i``, ``j``), duplicates and not."""
        pairs, _ = self.candidate_pairs(df)
        return self.score(df, pairs)

    def match_existing(self, new: pd.DataFrame, existing: pd.DataFrame) -> pd.DataFrame:
        """Scored pairs between a new batch and existing records (leads or customers): ``i`` is a
        position in ``new``, ``j`` a position in ``existing``; pairs within either table are left
        out. Columns missing from one side are treated as missing values."""
        both = pd.concat([new.reset_index(drop=True), existing.reset_index(drop=True)],
                         ignore_index=True)
        n = len(new)
        pairs, _ = self.candidate_pairs(both)
        cross = pairs[(pairs["i"] < n) & (pairs["j"] >= n)].reset_index(drop=True)
        out = self.score(both, cross)
        out["j"] = out["j"] - n
        return out

    def groups(self, df: pd.DataFrame, scored: pd.DataFrame | None = None) -> pd.Series:
        """A group id per record (the position of its group's first record; a record without
        duplicates is its own group), from the connected components of duplicate pairs."""
        scored = self.find(df) if scored is None else scored
        d = scored[scored["duplicate"]]
        import networkx as nx  # loaded when groups are formed, not when crmsim.leads is imported

        g = nx.Graph()
        g.add_nodes_from(range(len(df)))
        g.add_edges_from(zip(d["i"].tolist(), d["j"].tolist()))
        gid = np.arange(len(df))
        for comp in nx.connected_components(g):
            c = sorted(comp)
            gid[c] = c[0]
        return pd.Series(gid, index=df.index, name="group")


#: A default rule for lead exports (after intake normalisation, or raw): blocking on email, phone
#: digits, company email domain (not free-mail) and company + city; names compared with
#: Jaro-Winkler, companies by sorted tokens.
LEAD_DEDUP = DedupRule(
    keys=(BlockingKey(fields=("email",), transform="lower"),
          BlockingKey(fields=("phone",), transform="digits"),
          BlockingKey(fields=("email",), transform="company_domain"),
          BlockingKey(fields=("company", "city"), transform="company")),
    fields=(FieldComparator(field="name", method="jaro_winkler", weight=2.0),
            FieldComparator(field="email", method="exact", weight=2.0),
            FieldComparator(field="phone", method="phone", weight=1.0),
            FieldComparator(field="company", method="company", weight=1.0),
            FieldComparator(field="city", method="exact", weight=0.5)),
    threshold=0.85,
)


#: A ready rule for person / address records (customers, patients, members) without email or
#: phone: map your columns onto ``given_name, surname, date_of_birth, street_number, street,
#: city, postcode, national_id`` (:meth:`DedupRule.for_columns` drops what your table lacks).
#: Blocking on the id's digits, the birth date, surname + postcode, given name + city and the
#: surname's Soundex; weights estimated by EM on your own pairs (no labels).
PERSON_DEDUP = DedupRule(
    keys=(BlockingKey(fields=("national_id",), transform="digits"),
          BlockingKey(fields=("date_of_birth",), transform="digits"),
          BlockingKey(fields=("surname", "postcode")),
          BlockingKey(fields=("given_name", "city")),
          BlockingKey(fields=("surname",), transform="soundex")),
    fields=(FieldComparator(field="given_name", method="jaro_winkler"),
            FieldComparator(field="surname", method="jaro_winkler"),
            FieldComparator(field="street_number", method="exact"),
            FieldComparator(field="street", method="token_sort"),
            FieldComparator(field="city", method="jaro_winkler"),
            FieldComparator(field="postcode", method="jaro_winkler"),
            FieldComparator(field="date_of_birth", method="ratio"),
            FieldComparator(field="national_id", method="ratio")),
    threshold=0.5, weights="em",
)


def pair_quality(found: set[tuple], truth: set[tuple], candidates: set[tuple] | None = None) -> dict[str, float]:
    """Precision, recall, F1 of found duplicate pairs against true pairs (unordered), and the
    blocking recall (share of true pairs among the candidates) when ``candidates`` is given.

    Examples
    --------
    >>> q = pair_quality({("a", "b"), ("c", "d")}, {("b", "a"), ("e", "f")})
    >>> q["precision"], q["recall"], q["f1"]
    (0.5, 0.5, 0.5)
    """
    norm = lambda s: {tuple(sorted(p)) for p in s}  # noqa: E731
    found, truth = norm(found), norm(truth)
    tp = len(found & truth)
    p = tp / len(found) if found else 0.0
    r = tp / len(truth) if truth else 0.0
    out = {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0,
           "found": len(found), "true": len(truth)}
    if candidates is not None:
        out["blocking_recall"] = len(norm(candidates) & truth) / len(truth) if truth else 0.0
        out["candidates"] = len(candidates)
    return out


Policy = Literal["first_non_empty", "newest", "most_complete", "longest", "concat", "union_tags"]
#: survivorship rank of a stage: lifecycle order, bad data (``invalid``) lowest
_STAGE_ORDER = {s: k + 1 for k, s in enumerate(x for x in LEAD_STAGES if x != "invalid")} | {"invalid": 0}


class Survivorship(Config):
    """Which record survives a merge and where each field's value comes from.

    ``rank``: columns to sort a group by, best first: each ``(column, "asc"|"desc")``; a column
    missing from the table is skipped; ``stage`` sorts by lifecycle order (converted > sql > mql >
    nurture > raw > invalid). Default: not lost, furthest stage, highest score, oldest.
    ``fields``: a policy per field (default ``first_non_empty`` by rank): ``newest`` (by
    ``date``), ``most_complete`` (from the record with the most non-empty fields), ``longest``,
    ``concat``, ``union_tags``.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"lead_id": ["a", "b", "c"], "name": ["Anna Berg", "Ana Berg", "Li Wang"],
    ...                    "email": ["anna@acme.com", "anna@acme.com", "li@corp.cn"], "score": [10, 30, 5]})
    >>> rule = DedupRule(keys=[{"fields": ["email"]}], fields=[{"field": "name"}], threshold=0.8)
    >>> merged, archive = merge(df, rule.groups(df), Survivorship(rank=[("score", "desc")]))
    >>> merged[["lead_id", "absorbed_ids"]].values.tolist()
    [['b', ('a',)], ['c', ()]]
    """

    rank: tuple[tuple[str, Literal["asc", "desc"]], ...] = (
        ("lost", "asc"), ("stage", "desc"), ("score", "desc"), ("created_at", "asc"))
    fields: dict[str, Policy] = {}
    date: str = "created_at"
    default: Policy = "first_non_empty"


def _blank(v) -> bool:
    """Missing (None, NaN, NA, NaT) or the empty string."""
    if isinstance(v, (list, tuple, dict, set)):
        return False
    return bool(pd.isna(v)) or (isinstance(v, str) and v == "")


def _pick(values: list, policy: str, dates: list):
    present = [v for v in values if not _blank(v)]
    if not present:
        return values[0]
    if policy == "first_non_empty":
        return present[0]
    if policy == "newest":
        cands = [(d, k) for k, (v, d) in enumerate(zip(values, dates)) if not _blank(v)]
        return values[max(cands)[1]] if not any(_blank(d) for d, _ in cands) else present[0]
    if policy == "longest":
        return max(present, key=lambda v: len(str(v)))
    if policy == "concat":
        return " | ".join(dict.fromkeys(str(v) for v in present))
    tags = []  # union_tags: comma-separated tags
    for v in present:
        tags += [t.strip() for t in str(v).split(",") if t.strip()]
    return ",".join(dict.fromkeys(tags))


def merge(df: pd.DataFrame, groups: pd.Series, policy: Survivorship | None = None, *,
          id_col: str = "lead_id") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Merge each group into its survivor; returns ``(merged, archive)``.

    ``merged`` has one row per group, the survivor's index and id, fields filled by the policy,
    plus ``absorbed_ids`` (tuple of merged-in ids) and ``overridden`` (dict field -> the
    survivor's own value where the policy replaced it). ``archive`` keeps every original row of
    every merged group (with its ``group``), so nothing is lost and :func:`unmerge` can restore it.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"lead_id": ["a", "b", "c"], "name": ["Anna Berg", "Ana Berg", "Li Wang"],
    ...                    "email": ["anna@acme.com", "anna@acme.com", "li@corp.cn"], "score": [10, 30, 5]})
    >>> rule = DedupRule(keys=[{"fields": ["email"]}], fields=[{"field": "name"}], threshold=0.8)
    >>> merged, archive = merge(df, rule.groups(df))
    >>> merged["lead_id"].tolist(), len(archive)
    (['b', 'c'], 2)
    """
    policy = Survivorship() if policy is None else policy
    if id_col not in df.columns:
        raise KeyError(f"merge: id column '{id_col}' missing")
    if not groups.index.equals(df.index):
        raise ValueError("merge: groups must have the same index as the table")
    if not df.index.is_unique:
        raise ValueError("merge: the table's index must be unique (reset_index first)")
    multi = groups.map(groups.value_counts()) > 1
    archive = df[multi.to_numpy()].assign(group=groups[multi].to_numpy())
    rank_cols = [(c, d) for c, d in policy.rank if c in df.columns]
    keep = df[~multi.to_numpy()].copy()
    keep["absorbed_ids"] = [() for _ in range(len(keep))]
    keep["overridden"] = [{} for _ in range(len(keep))]
    rows = []
    data_cols = list(df.columns)
    for _, g in archive.groupby("group", sort=False):
        if rank_cols:
            keys = g[[c for c, _ in rank_cols]].copy()
            if "stage" in keys.columns:
                keys["stage"] = keys["stage"].map(_STAGE_ORDER)
            order = keys.sort_values(list(keys.columns), ascending=[d == "asc" for _, d in rank_cols],
                                     kind="stable", na_position="last").index
            g = g.loc[order]
        surv = g.iloc[0]
        filled = [sum(not _blank(v) for v in row) for row in g[data_cols].itertuples(index=False)]
        fullest = int(np.argmax(filled))
        dates = g[policy.date].tolist() if policy.date in g.columns else [None] * len(g)
        new = {}
        over = {}
        for c in data_cols:
            if c == id_col:
                new[c] = surv[c]
                continue
            pol = policy.fields.get(c, policy.default)
            vals = g[c].tolist()
            if pol == "most_complete":  # the most complete record's value, else by rank
                v = vals[fullest] if not _blank(vals[fullest]) else _pick(vals, "first_non_empty", dates)
            else:
                v = _pick(vals, pol, dates)
            new[c] = v
            sv = surv[c]
            same = (_blank(v) and _blank(sv) and type(v) is type(sv)) or (
                not _blank(v) and not _blank(sv) and bool(v == sv))
            if not same:
                over[c] = sv
        new["absorbed_ids"] = tuple(g[id_col].iloc[1:].tolist())
        new["overridden"] = over
        rows.append((g.index[0], new))
    merged_rows = pd.DataFrame([r for _, r in rows], index=[i for i, _ in rows], columns=[*data_cols, "absorbed_ids", "overridden"])
    merged = pd.concat([keep, merged_rows.astype({c: df[c].dtype for c in data_cols}, errors="ignore")])
    merged = merged.loc[[i for i in df.index if i in merged.index]]
    archive.attrs["order"] = list(df.index)
    return merged, archive


def unmerge(merged: pd.DataFrame, archive: pd.DataFrame, *, id_col: str = "lead_id") -> pd.DataFrame:
    """Undo :func:`merge`: the original rows, in their original order and dtypes.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"lead_id": ["a", "b", "c"], "name": ["Anna Berg", "Ana Berg", "Li Wang"],
    ...                    "email": ["anna@acme.com", "anna@acme.com", "li@corp.cn"], "score": [10, 30, 5]})
    >>> rule = DedupRule(keys=[{"fields": ["email"]}], fields=[{"field": "name"}], threshold=0.8)
    >>> merged, archive = merge(df, rule.groups(df))
    >>> unmerge(merged, archive).equals(df)
    True
    """
    kept = merged[merged["absorbed_ids"].map(len) == 0].drop(columns=["absorbed_ids", "overridden"])
    back = archive.drop(columns=["group"])
    out = pd.concat([kept, back])
    order = archive.attrs.get("order")
    out = out.loc[order] if order is not None else out.sort_index(kind="stable")
    return out.astype(back.dtypes.to_dict() if len(back) else {}, errors="ignore")
