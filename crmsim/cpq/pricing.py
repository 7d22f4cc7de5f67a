"""Pricing (FEATURES CPQ): catalogue units, price books as rules, a documented deterministic
precedence, stacking, floors and ceilings, saleable scope; a whole table of order lines priced at
once with an explanation column. Money in integer cents.

Precedence among the rules that match a line (their conditions all hold, the date is in their
validity window, the quantity in base units is in their tier):

1. the more specific rule first (more conditions set; a product condition counts double over a
   category condition);
2. then the higher ``priority`` (the price book's priority among books);
3. then the tie policy: ``lowest_price`` (the customer-friendly default) or ``first_listed``.

The winning ``price`` rule sets the unit price (else the catalogue's base price); ``discount``
rules then apply according to ``stacking``: ``best`` (only the most precedent discount),
``additive`` (discount shares add up) or ``compounding`` (each applies to the result of the
previous). Floors and ceilings clip the result. A line whose customer may not buy the product
(saleable scope) is not priced and says so.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from crmsim.conditions import Condition, evaluate_all
from crmsim.config import Config
from crmsim.cpq.scope import check_window

__all__ = ["PriceRule", "PricingPolicy", "SaleableRule", "SaleableScope", "to_base_units", "price_lines",
           "price_one", "CONDITION_FIELDS"]

#: Line fields a rule may condition on.
CONDITION_FIELDS = ("customer_id", "customer_grade", "dealer", "partner", "region", "channel",
                    "product_id", "category", "form")


class PriceRule(Config):
    """One rule of a price book. Unset conditions match everything.

    ``kind``: ``price`` (``value`` is the unit price in cents), ``discount`` (``value`` is a share
    taken off, stacked by the policy) or ``formula``, Odoo's pricelist formula over a ``base``
    (``list``: the catalogue's base price; ``cost``: its unit cost): the base less ``discount``
    (a share; negative raises it) or plus ``markup`` (a share on the base, Odoo 17's mark-up on
    cost), rounded half up to a multiple of ``round_to`` cents, plus ``surcharge`` cents, then
    kept between base + ``min_margin`` and base + ``max_margin`` cents (in that order, as Odoo's
    ``_compute_price``). A formula competes with the price rules by the same precedence; where a
    product has no cost, a cost formula does not apply to it. ``unit``: the rule applies only to
    lines ordered in that unit of measure (lines without a ``unit`` column are in the product's
    base unit); its price stays per base unit, as every price here. ``currency``: with a
    ``currency`` column on the lines, a price, formula or floor rule prices only lines in its
    currency (none: the catalogue's, ``PricingPolicy.currency``), a discount rule without one
    applies in every currency; nothing is converted. ``apply_alone``: a price rule that wins a line
    takes no discount rule with it; a discount rule marked so applies alone (the best-ranked such
    rule), as ERPNext's pricing rules without "apply multiple".

    Examples
    --------
    >>> r = PriceRule(rule_id="tier", kind="price", value=9_000, product_id=("p1",), min_qty=10, max_qty=50,
    ...               max_qty_inclusive=True)
    >>> r.kind, r.value, r.max_qty_inclusive
    ('price', 9000.0, True)
    """

    rule_id: str
    book: str = "standard"
    priority: int = 0
    kind: Literal["price", "discount", "formula"] = "price"
    value: float | None = None                # a unit price in cents, or a discount share (0..1)
    base: Literal["list", "cost"] = "list"    # formula: what it starts from
    discount: float = Field(default=0.0, le=1)       # formula: share off the base (negative: added)
    markup: float = Field(default=0.0, ge=0)         # formula: share added to the base
    round_to: int | None = Field(default=None, gt=0)  # formula: round half up to a multiple (cents)
    surcharge: int = 0                                # formula: cents added after rounding
    min_margin: int | None = None                     # formula: at least base + this (cents)
    max_margin: int | None = None                     # formula: at most base + this (cents)
    unit: str | None = None                   # only lines ordered in this unit of measure
    currency: str | None = None               # only lines in this currency (none: the catalogue's)
    apply_alone: bool = False                 # no other discount rule with it (ERPNext: not apply-multiple)
    customer_id: tuple[str, ...] = ()
    customer_grade: tuple[str, ...] = ()
    dealer: tuple[str, ...] = ()
    partner: tuple[str, ...] = ()
    region: tuple[str, ...] = ()
    channel: tuple[str, ...] = ()
    product_id: tuple[str, ...] = ()
    category: tuple[str, ...] = ()
    form: tuple[str, ...] = ()
    min_qty: float = Field(default=0, ge=0)   # base units, inclusive
    max_qty: float | None = None              # base units, exclusive unless max_qty_inclusive
    max_qty_inclusive: bool = False           # Odoo and ERPNext price tiers are "up to and including"
    when: tuple[Condition, ...] = ()          # conditions on any line column (a return flag, a campaign)
    valid_from: str | None = None
    valid_to: str | None = None               # inclusive
    floor: int | None = None
    ceiling: int | None = None

    @model_validator(mode="after")
    def _check(self) -> PriceRule:
        formula_keys = [k for k in ("discount", "markup", "round_to", "surcharge", "min_margin", "max_margin")
                        if getattr(self, k) not in (None, 0, 0.0)] + (["base"] if self.base != "list" else [])
        if self.kind == "formula":
            if self.value is not None:
                raise ValueError(f"rule {self.rule_id}: a formula has no value (it computes the price from its base)")
            if self.discount and self.markup:
                raise ValueError(f"rule {self.rule_id}: give discount or markup, not both")
            if self.min_margin is not None and self.max_margin is not None and self.max_margin < self.min_margin:
                raise ValueError(f"rule {self.rule_id}: max_margin ({self.max_margin}) is below min_margin "
                                 f"({self.min_margin})")
            return self._common()
        if formula_keys:
            raise ValueError(f"rule {self.rule_id}: {formula_keys} belong to kind = \"formula\", not \"{self.kind}\"")
        if self.value is None:
            raise ValueError(f"rule {self.rule_id}: kind \"{self.kind}\" needs a value")
        if self.kind == "discount" and not 0 <= self.value <= 1:
            raise ValueError(f"rule {self.rule_id}: a discount is a share in [0, 1], got {self.value}")
        if self.kind == "price" and self.value < 0:
            raise ValueError(f"rule {self.rule_id}: a price must be >= 0, got {self.value}")
        return self._common()

    def _common(self) -> PriceRule:
        if self.max_qty is not None and self.max_qty <= self.min_qty:
            raise ValueError(f"rule {self.rule_id}: max_qty must be > min_qty")
        check_window(self.valid_from, self.valid_to, f"rule {self.rule_id}")
        return self

    def formula_price(self, base: np.ndarray) -> np.ndarray:
        """The formula's unit price (cents, float) from each line's base, step by step as Odoo's
        ``_compute_price``; NaN where the base is missing.

        >>> r = PriceRule(rule_id="f", kind="formula", discount=0.1, round_to=100, surcharge=-1, min_margin=-2000)
        >>> r.formula_price(np.array([10_000.0, 30_000.0, np.nan])).tolist()
        [8999.0, 28000.0, nan]
        >>> PriceRule(rule_id="m", kind="formula", base="cost", markup=0.25).formula_price(np.array([6000.0])).tolist()
        [7500.0]
        """
        base = np.asarray(base, dtype=float)
        price = base * (1 - self.discount) if not self.markup else base * (1 + self.markup)
        if self.round_to:
            price = np.floor(price / self.round_to + 0.5) * self.round_to
        price = price + self.surcharge
        if self.min_margin is not None:
            price = np.fmax(price, base + self.min_margin)
        if self.max_margin is not None:
            price = np.fmin(price, base + self.max_margin)
        return np.where(np.isnan(base), np.nan, price)

    def formula_text(self, base: float) -> str:
        """The formula's steps for one base, in words."""
        parts = [f"{self.base} {int(base)}"]
        if self.markup:
            parts.append(f"+{self.markup * 100:g}%")
        elif self.discount:
            parts.append(f"{-self.discount * 100:+g}%")
        if self.round_to:
            parts.append(f"rounded to {self.round_to}")
        if self.surcharge:
            parts.append(f"{self.surcharge:+d}")
        if self.min_margin is not None:
            parts.append(f"at least {self.base} {self.min_margin:+d}")
        if self.max_margin is not None:
            parts.append(f"at most {self.base} {self.max_margin:+d}")
        return " ".join(parts) + f" = {int(np.floor(self.formula_price(np.array([base]))[0] + 0.5))}"

    @property
    def specificity(self) -> int:
        return (sum(len(getattr(self, f)) > 0 for f in CONDITION_FIELDS) + (1 if self.product_id else 0)
                + len(self.when))


class PricingPolicy(Config):
    """How discount rules stack (``best``: one, the best-ranked, as ERPNext's default;
    ``additive``: their shares added, ERPNext's apply-multiple; ``compounding``: each on the price
    the previous left, ERPNext's "apply discount on discounted rate"), how equal rules are broken,
    the largest total discount, and the catalogue's ``currency`` (needed when lines carry one).

    Examples
    --------
    >>> import pandas as pd
    >>> catalog = pd.DataFrame({"product_id": ["p1", "p2"], "category": ["hw", "sw"], "form": ["physical", "virtual"],
    ...                         "base_price": [10_000, 5_000]})
    >>> rules = [PriceRule(rule_id="vol", kind="discount", value=0.1, category=("hw",), min_qty=10),
    ...          PriceRule(rule_id="vip", kind="discount", value=0.05, customer_grade=("A",))]
    >>> lines = pd.DataFrame({"product_id": ["p1"], "qty": [10], "customer_grade": ["A"]})
    >>> for stacking in ("best", "additive", "compounding"):
    ...     print(stacking, price_lines(lines, catalog, rules, policy=PricingPolicy(stacking=stacking))["unit_price"].item())
    best 9000
    additive 8500
    compounding 8550
    """

    stacking: Literal["best", "additive", "compounding"] = "best"
    tie: Literal["lowest_price", "first_listed"] = "lowest_price"
    max_discount: float = Field(default=1.0, ge=0, le=1)
    currency: str | None = None


class SaleableRule(Config):
    """Who may buy what: ``allow`` or ``deny`` the lines meeting every condition in ``when``
    (conditions on any line or catalogue column: customer, grade, dealer, partner, product,
    category, form, a product attribute...).

    Examples
    --------
    >>> import pandas as pd
    >>> scope = SaleableScope(rules=[SaleableRule(rule_id="no-export-sw", effect="deny",
    ...                                           when=[{"field": "region", "op": "eq", "value": "export"},
    ...                                                 {"field": "category", "op": "eq", "value": "sw"}])])
    >>> ok, why = scope.check(pd.DataFrame({"category": ["sw", "sw"], "region": ["export", "north"]}))
    >>> ok.tolist()
    [False, True]
    """

    rule_id: str
    effect: Literal["allow", "deny"] = "allow"
    when: tuple[Condition, ...] = ()


class SaleableScope(Config):
    """A line is saleable when no ``deny`` rule matches it and, if there are ``allow`` rules, at
    least one of them does.

    >>> scope = SaleableScope(rules=(
    ...     SaleableRule(rule_id="dealers-hw", when=(Condition(field="category", op="eq", value="hw"),)),
    ...     SaleableRule(rule_id="no-export", effect="deny", when=(Condition(field="region", op="eq", value="export"),))))
    >>> ok, why = scope.check(pd.DataFrame({"category": ["hw", "hw", "sw"], "region": ["north", "export", "north"]}))
    >>> ok.tolist(), why.tolist()
    ([True, False, False], ['', 'denied by no-export', 'no allow rule matches'])
    """

    rules: tuple[SaleableRule, ...]

    def check(self, df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """(saleable per row, the reason where not). A rule on a column the lines do not carry
        matches no line (as a price rule would not)."""
        n = len(df)
        why = np.full(n, "", dtype=object)

        def hits(r: SaleableRule) -> np.ndarray:
            if any(c.field not in df.columns for c in r.when):
                return np.zeros(n, dtype=bool)
            return evaluate_all(r.when, df).to_numpy()

        allows = [r for r in self.rules if r.effect == "allow"]
        if allows:
            hit = np.zeros(n, dtype=bool)
            for r in allows:
                hit |= hits(r)
            why[~hit] = "no allow rule matches"
        for r in self.rules:
            if r.effect == "deny":
                why[hits(r) & (why == "")] = f"denied by {r.rule_id}"
        return why == "", why


def to_base_units(lines: pd.DataFrame, units: pd.DataFrame) -> pd.Series:
    """Quantities in each product's base unit: ``units`` has ``product_id, unit, factor`` (base
    units per unit; the base unit has factor 1). Unknown units raise, naming the rows.

    Examples
    --------
    >>> import pandas as pd
    >>> units = pd.DataFrame({"product_id": ["paper", "paper"], "unit": ["sheet", "ream"], "factor": [1, 500]})
    >>> to_base_units(pd.DataFrame({"product_id": ["paper", "paper"], "qty": [2, 30], "unit": ["ream", "sheet"]}), units).tolist()
    [1000, 30]
    """
    f = lines.merge(units, on=["product_id", "unit"], how="left")["factor"].to_numpy()
    bad = np.isnan(f)
    if bad.any():
        rows = lines.index[bad].tolist()[:10]
        raise KeyError(f"order lines {rows}: unit not defined for the product (pairs "
                       f"{lines.loc[bad, ['product_id', 'unit']].drop_duplicates().values.tolist()[:5]})")
    return pd.Series(lines["qty"].to_numpy() * f, index=lines.index, name="base_qty")


def _rules_frame(rules) -> pd.DataFrame:
    rows = []
    for k, r in enumerate(rules):
        d = r.model_dump()
        d["order"] = k
        d["specificity"] = r.specificity
        rows.append(d)
    return pd.DataFrame(rows)


def _line_codes(L: pd.DataFrame, f: str, cache: dict) -> tuple[np.ndarray, pd.Index]:
    """Integer codes of a line field and its distinct values, computed once per field."""
    if f not in cache:
        codes, uniq = pd.factorize(L[f])
        cache[f] = (codes.astype(np.int64), pd.Index(uniq))
    return cache[f]


def _join(L: pd.DataFrame, keys: pd.DataFrame, fields: list[str], cache: dict) -> tuple[np.ndarray, np.ndarray]:
    """Many-to-many equi-join of lines and rule key rows on ``fields``, on integer codes with
    numpy (sort + searchsorted), returning (line, rule) index pairs. A rule value no line has
    never matches."""
    lk = np.zeros(len(L), dtype=np.int64)
    kk = np.zeros(len(keys), dtype=np.int64)
    ok = np.ones(len(keys), dtype=bool)
    for f in fields:
        codes, uniq = _line_codes(L, f, cache)
        kc = uniq.get_indexer(keys[f].to_numpy())
        ok &= kc >= 0
        lk = lk * (len(uniq) + 1) + codes
        kk = kk * (len(uniq) + 1) + kc
    kk, rules = kk[ok], keys["rule_idx"].to_numpy(np.int64)[ok]
    o = np.argsort(kk, kind="stable")
    kk_s, rules = kk[o], rules[o]
    space = int(np.prod([len(_line_codes(L, f, cache)[1]) + 1 for f in fields], dtype=float))
    if space <= 16 * len(L) + 1_000_000:   # a dense table of the key space: gathers, no binary search
        cnt_k = np.bincount(kk_s, minlength=space)
        lo = (np.cumsum(cnt_k) - cnt_k)[lk]
        cnt = cnt_k[lk]
    else:
        lo = np.searchsorted(kk_s, lk, side="left")
        cnt = np.searchsorted(kk_s, lk, side="right") - lo
    total = int(cnt.sum())
    it = _index_type(max(len(L), len(kk_s), total))
    li = np.repeat(np.arange(len(L), dtype=it), cnt)
    at = np.repeat((lo - (np.cumsum(cnt) - cnt)).astype(it), cnt)   # the key row of each pair: lo + its rank
    at += np.arange(total, dtype=it)
    return li, rules.astype(it)[at]


def _index_type(n: int) -> type:
    """32-bit positions where they fit (the pair arrays of a big pricing run are tens of millions
    long), else 64-bit."""
    return np.int32 if n < 2**31 else np.int64


def _shared_codes(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes of two object arrays over their joint values (equal values, equal codes;
    a missing value gets its own code on each side, so it equals nothing), for comparing
    millions of pairs without a Python comparison each."""
    codes, _ = pd.factorize(np.concatenate([a, b]), use_na_sentinel=True)
    ca, cb = codes[: a.size].astype(np.int64), codes[a.size:].astype(np.int64)
    return np.where(ca < 0, -1, ca), np.where(cb < 0, -2, cb)


def _match(lines: pd.DataFrame, R: pd.DataFrame) -> pd.DataFrame:
    """Candidate (line, rule) pairs whose conditions, window and tier hold.

    Rules are grouped by the set of fields they condition on; each group's allowed values are
    exploded into key rows and joined with the lines on exactly those fields, so every joined
    pair already meets every condition (no line is compared with a rule that cannot apply)."""
    L = lines.reset_index(drop=True)
    cache: dict = {}
    has = np.column_stack([R[f].map(len).to_numpy() > 0 for f in CONDITION_FIELDS])
    sig = has.astype(np.int64) @ (1 << np.arange(len(CONDITION_FIELDS), dtype=np.int64))
    checked = _checked_rules(L, R)
    parts = []
    for bits, grp in R.groupby(sig, sort=False):
        fields = [f for j, f in enumerate(CONDITION_FIELDS) if bits >> j & 1]
        if any(f not in L.columns for f in fields):
            continue  # a rule on a field the lines do not carry never matches
        if not fields:
            it = _index_type(len(L) * len(grp))
            li, ri = (np.repeat(np.arange(len(L), dtype=it), len(grp)), np.tile(grp["rule_idx"].to_numpy(it), len(L)))
        else:
            keys = grp[["rule_idx", *fields]]
            for f in fields:
                keys = keys.explode(f)
            li, ri = _join(L, keys, fields, cache)
        if checked[grp["rule_idx"].to_numpy()].any():   # a group with no tier, window... is kept whole
            ok = _pairs_hold(L, R, li, ri)
            li, ri = li[ok], ri[ok]
        parts.append((li, ri))
    if not parts:
        return np.array([], dtype=np.int64), np.array([], dtype=np.int64)
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def _checked_rules(L: pd.DataFrame, R: pd.DataFrame) -> np.ndarray:
    """The rules whose pairs :func:`_pairs_hold` must check beyond the join's equal fields."""
    need = (R["min_qty"].to_numpy() > 0) | R["max_qty"].notna().to_numpy()
    need |= np.isin(np.arange(len(R)), list(R.attrs.get("when") or {}))
    if "_cur" in L.columns:
        need |= (R["kind"] != "discount").to_numpy() | R["currency"].notna().to_numpy()
    if "unit" in R.columns:
        need |= R["unit"].notna().to_numpy()
    if "date" in L.columns:
        need |= (R["valid_from"].notna() | R["valid_to"].notna()).to_numpy()
    return need


def _pairs_hold(L: pd.DataFrame, R: pd.DataFrame, li: np.ndarray, ri: np.ndarray) -> np.ndarray:
    """Which (line, rule) pairs meet their rule's tier, conditions, currency, unit and validity
    window (each checked only on the pairs whose rule has one; integer days)."""
    ok = np.ones(li.size, dtype=bool)
    tiered = ((R["min_qty"].to_numpy() > 0) | R["max_qty"].notna().to_numpy())[ri]
    if tiered.any():
        k = np.flatnonzero(tiered)
        q = L["base_qty"].to_numpy()[li[k]]
        mx = R["max_qty"].to_numpy(dtype=float)[ri[k]]
        incl = R["max_qty_inclusive"].to_numpy(dtype=bool)[ri[k]]
        ok[k] = (q >= R["min_qty"].to_numpy()[ri[k]]) & (np.isnan(mx) | (q < mx) | (incl & (q == mx)))
    conditioned = R.attrs.get("when") or {}
    for idx, conds in conditioned.items():   # conditions on any line column, in the one condition language
        k = np.flatnonzero(ri == idx)
        if k.size:
            ok[k] &= evaluate_all(conds, L).to_numpy()[li[k]]
    if "_cur" in L.columns:     # fixed amounts are in one currency; a formula starts from the catalogue's
        fixed_amount = (R["kind"] != "discount").to_numpy() | R["currency"].notna().to_numpy()
        k = np.flatnonzero(fixed_amount[ri])
        if k.size:
            base_cur = R.attrs.get("base_currency")
            rc = R["currency"].to_numpy(dtype=object)
            own = np.where(pd.isna(rc), base_cur, rc)
            lc, rcodes = _shared_codes(L["_cur"].to_numpy(dtype=object), own)
            ok[k] &= lc[li[k]] == rcodes[ri[k]]
            formula_foreign = (R["kind"] == "formula").to_numpy() & (own != base_cur)
            ok[k] &= ~formula_foreign[ri[k]]
    if "unit" in R.columns and R["unit"].notna().any():
        bound = R["unit"].notna().to_numpy()[ri]
        k = np.flatnonzero(bound)
        lu, ru = _shared_codes(L["_unit"].to_numpy(dtype=object), R["unit"].to_numpy(dtype=object))
        ok[k] &= lu[li[k]] == ru[ri[k]]
    windowed = (R["valid_from"].notna() | R["valid_to"].notna()).to_numpy()[ri]
    if windowed.any() and "date" in L.columns:
        k = np.flatnonzero(windowed)
        day = pd.to_datetime(L["date"]).to_numpy().astype("datetime64[D]").astype(np.int64)
        vf = pd.to_datetime(R["valid_from"]).to_numpy().astype("datetime64[D]")
        vt = pd.to_datetime(R["valid_to"]).to_numpy().astype("datetime64[D]")
        lo = np.where(np.isnat(vf), np.iinfo(np.int64).min, vf.astype(np.int64))
        hi = np.where(np.isnat(vt), np.iinfo(np.int64).max, vt.astype(np.int64))
        d = day[li[k]]
        ok[k] &= (d >= lo[ri[k]]) & (d <= hi[ri[k]])
    return ok


def _texts(names, codes: np.ndarray):
    """``names[codes]`` as a text column (code -1: missing), spread without a Python string per
    line: one per distinct text."""
    return pd.array(np.asarray(names, dtype=object), dtype="str").take(codes, allow_fill=True)


def _explanations(win, R, base_price, disc, total, floor_v, ceil_v, stacking, *, rules=(), fbase=None):
    """One explanation per line, formatted once per distinct combination (rule, its base,
    discounts, floor, ceiling) and then spread to the lines. ``disc``: each line's discounts as
    (code, distinct texts), code -1 for none."""
    dcodes, dnames = disc
    fbase = np.zeros(len(win)) if fbase is None else fbase
    cols = [win, np.where(win < 0, base_price, np.round(fbase)).astype(np.int64), dcodes,
            np.round(total * 1e6).astype(np.int64),
            np.nan_to_num(floor_v, nan=-1).astype(np.int64),
            np.nan_to_num(ceil_v, nan=-1).astype(np.int64)]
    codes = np.zeros(len(win), dtype=np.int64)
    n = 1
    for c in cols:   # combine column by column, re-coding each time so the key never overflows
        cc, cu = pd.factorize(c)
        codes, uk = pd.factorize(codes * len(cu) + cc)
        n = len(uk)
    first = np.full(n, -1, dtype=np.int64)
    first[codes[::-1]] = np.arange(len(codes))[::-1]   # a representative line per combination
    ukeys = np.column_stack([c[first] for c in cols]) if n else np.empty((0, len(cols)), dtype=np.int64)
    uniq = [(w, b, dnames[dc] if dc >= 0 else "", t / 1e6, np.nan if f < 0 else f, np.nan if c < 0 else c)
            for w, b, dc, t, f, c in ukeys]
    rid = R["rule_id"].to_numpy(dtype=object) if len(R) else np.array([], dtype=object)
    book = R["book"].to_numpy(dtype=object) if len(R) else np.array([], dtype=object)
    val = R["value"].to_numpy(dtype=float) if len(R) else np.array([])
    texts = []
    for w, b, d, t, f, c in uniq:
        if w < 0:
            s = f"base price {int(b)}"
        elif rules and rules[w].kind == "formula":
            s = f"rule {rid[w]} ({book[w]}): {rules[w].formula_text(float(b))}"
        else:
            s = f"rule {rid[w]} ({book[w]}): {int(val[w])}"
        if t > 0:
            s += f"; -{t * 100:.1f}% ({d}, {stacking})"
        if f == f:
            s += f"; floor {int(f)}"
        if c == c:
            s += f"; ceiling {int(c)}"
        texts.append(s)
    return _texts(texts, codes)


def price_lines(lines: pd.DataFrame, catalog: pd.DataFrame, rules, *, policy: PricingPolicy | None = None,
                units: pd.DataFrame | None = None, saleable=None) -> pd.DataFrame:
    """Price every order line. ``lines``: ``product_id, qty`` (+ ``unit``, ``date`` and any of
    :data:`CONDITION_FIELDS`); ``catalog``: ``product_id, category, form, base_price`` (cents).
    ``saleable``: a :class:`SaleableScope` (conditions on line and catalogue columns) or a
    function (lines with catalogue columns) -> boolean Series of lines allowed.

    Returns the lines with ``base_qty``, ``unit_price`` (cents per base unit), ``amount``
    (cents), ``price_rule``, ``discounts`` and ``explanation``; unpriceable lines have a missing
    price and the reason in ``explanation``.

    Examples
    --------
    >>> import pandas as pd
    >>> catalog = pd.DataFrame({"product_id": ["p1", "p2"], "category": ["hw", "sw"], "form": ["physical", "virtual"],
    ...                         "base_price": [10_000, 5_000]})
    >>> rules = [PriceRule(rule_id="vol", kind="discount", value=0.1, category=("hw",), min_qty=10),
    ...          PriceRule(rule_id="vip", kind="discount", value=0.05, customer_grade=("A",))]
    >>> lines = pd.DataFrame({"product_id": ["p1", "p1", "p2"], "qty": [12, 2, 1], "customer_grade": ["B", "A", "B"]})
    >>> p = price_lines(lines, catalog, rules)
    >>> p[["unit_price", "amount"]].values.tolist()
    [[9000, 108000], [9500, 19000], [5000, 5000]]
    >>> p["explanation"].tolist()
    ['base price 10000; -10.0% (vol, best)', 'base price 10000; -5.0% (vip, best)', 'base price 5000']
    """
    policy = policy or PricingPolicy()
    rules = list(rules)
    L, at = _priced_lines(lines, catalog, units)
    foreign = _line_context(L, catalog, at, rules, policy)
    R = _rules_frame(rules)
    R["rule_idx"] = np.arange(len(R))
    R.attrs["base_currency"] = policy.currency
    R.attrs["when"] = {k: r.when for k, r in enumerate(rules) if r.when}
    formulas = [k for k, r in enumerate(rules) if r.kind == "formula"]
    n = len(L)
    price = L["base_price"].to_numpy(dtype=float).copy()
    price[foreign] = np.nan        # the catalogue's prices are in its currency: never converted
    win = np.full(n, -1, dtype=np.int64)       # winning price rule per line (-1: base price)
    floor_v, ceil_v, total = np.full(n, np.nan), np.full(n, np.nan), np.zeros(n)
    dcodes, dnames = np.full(n, -1, dtype=np.int64), np.array([], dtype=object)
    if len(R):
        li, ri = _match(L, R)
        li, ri, pair_price = _formula_pairs(L, rules, formulas, R, li, ri)
        rank, is_p = _precedence(R, policy)
        pair_p = is_p[ri]
        win_l, win_r, price[win_l] = _winners(n, li, ri, pair_p, pair_price, R, rank, is_p, policy)
        win[win_l] = win_r
        dl, dr, total = _discounts(n, li[~pair_p], ri[~pair_p], R, rank, is_p, win_l, win_r, policy)
        price = price * (1 - total)
        dcodes, dnames = _discount_names(n, dl, dr, R["rule_id"].to_numpy(dtype=object), policy)
        _bounds(R, li, ri, price, floor_v, ceil_v)
    fbase = np.zeros(n)
    for k in formulas:
        m = win == k
        if m.any():
            fbase[m] = L["_cost" if rules[k].base == "cost" else "base_price"].to_numpy(dtype=float)[m]
    explain = _explanations(win, R, L["base_price"].to_numpy(), (dcodes, np.asarray(dnames, dtype=object)), total,
                            floor_v, ceil_v, policy.stacking, rules=rules, fbase=fbase)
    if foreign.any():   # a line in another currency that no rule of its currency priced
        unpriced = foreign & (win < 0)
        explain = np.where(unpriced, [f"no price rule in {c}; the catalogue's prices are in {policy.currency} and are "
                                      "not converted" for c in L["_cur"].to_numpy(dtype=object)], explain)
    L = L.drop(columns=[c for c in ("_unit", "_cost", "_cur") if c in L.columns])
    unit_price, amount = _money(price, L["base_qty"].to_numpy())
    out = L.assign(unit_price=unit_price, amount=amount, price_rule=_texts(R["rule_id"].to_numpy(dtype=object), win)
                   if len(R) else np.full(n, None, dtype=object),
                   discounts=_texts([*dnames, ""], np.where(dcodes < 0, len(dnames), dcodes)), explanation=explain)
    return out if saleable is None else _not_saleable(out, L, catalog, at, saleable)


#: larger than any rank: "no rule" in the per-line minima
_BIG = np.iinfo(np.int64).max


def _priced_lines(lines: pd.DataFrame, catalog: pd.DataFrame, units) -> tuple[pd.DataFrame, np.ndarray]:
    """The lines with their product's catalogue columns and ``base_qty``, and each line's row in
    the catalogue. A product not in the catalogue is a named error."""
    codes, uniq = pd.factorize(lines["product_id"])
    pos = pd.Index(catalog["product_id"]).get_indexer(uniq)
    if (pos < 0).any():
        raise KeyError(f"order lines: column 'product_id' names products not in the catalogue: "
                       f"{sorted(map(str, uniq[pos < 0]))[:10]}")
    from crmsim.tables import quantity_column

    L = lines.copy()
    L["qty"] = quantity_column(L, "qty", "order lines")
    at = pos[codes]
    for col in ("category", "form", "base_price"):
        c = catalog[col]   # a text column is spread as text (not one Python string per line)
        L[col] = c.array.take(at) if isinstance(c.dtype, pd.StringDtype) else c.to_numpy()[at]
    L["base_qty"] = to_base_units(L, units) if (units is not None and "unit" in L.columns) else L["qty"].astype(float)
    return L, at


def _line_context(L: pd.DataFrame, catalog: pd.DataFrame, at: np.ndarray, rules: list, policy: PricingPolicy
                  ) -> np.ndarray:
    """Adds what the rules need to ``L`` (the line's currency ``_cur``, unit ``_unit``, cost
    ``_cost``); returns which lines are in a currency other than the catalogue's."""
    foreign = np.zeros(len(L), dtype=bool)
    if "currency" in L.columns:
        if policy.currency is None:
            raise KeyError("order lines have a 'currency' column: give the catalogue's currency "
                           "(PricingPolicy.currency, [pricing] currency in a set-up file); nothing is converted")
        L["_cur"] = L["currency"].astype(object).where(L["currency"].notna(), policy.currency)
        foreign = (L["_cur"] != policy.currency).to_numpy()
    elif any(r.currency not in (None, policy.currency) for r in rules):
        L["_cur"] = policy.currency
    if any(r.unit for r in rules):   # the unit each line is ordered in (its base unit without a unit column)
        base_unit = catalog["base_unit"].to_numpy()[at] if "base_unit" in catalog.columns else None
        if "unit" in L.columns:
            L["_unit"] = L["unit"].where(L["unit"].notna(), base_unit if base_unit is not None else None)
        elif base_unit is not None:
            L["_unit"] = base_unit
        else:
            raise KeyError("price rules bound to a unit need the lines' 'unit' column or the catalogue's 'base_unit'")
    if any(r.kind == "formula" and r.base == "cost" for r in rules):
        if "cost" not in catalog.columns:
            raise KeyError("a formula on cost needs the catalogue's 'cost' column")
        L["_cost"] = pd.to_numeric(pd.Series(catalog["cost"].to_numpy()[at], index=L.index), errors="coerce").astype(float)
    return foreign


def _formula_pairs(L, rules, formulas, R, li, ri):
    """A formula's price depends on the line: computed per matching (line, rule) pair; a formula
    on cost does not apply to a line without a cost. ``pair_price`` is None without formulas."""
    if not formulas:
        return li, ri, None
    pair_price = R["value"].to_numpy(dtype=float)[ri].copy()
    for k in formulas:
        m = ri == k
        if m.any():
            col = "_cost" if rules[k].base == "cost" else "base_price"
            pair_price[m] = rules[k].formula_price(L[col].to_numpy(dtype=float)[li[m]])
    keep = ~(np.isin(ri, formulas) & np.isnan(pair_price))
    return li[keep], ri[keep], pair_price[keep]


def _precedence(R: pd.DataFrame, policy: PricingPolicy) -> tuple[np.ndarray, np.ndarray]:
    """Each rule's rank among the price rules or among the discount rules (specificity desc,
    priority desc, the tie key asc), and which rules set a price."""
    tie_key = R["value"].to_numpy(dtype=float) if policy.tie == "lowest_price" else R["order"].to_numpy(dtype=float)
    is_p = R["kind"].isin(["price", "formula"]).to_numpy()
    rank = np.empty(len(R), dtype=np.int64)
    for mask, tk in ((is_p, tie_key), (~is_p, R["order"].to_numpy(dtype=float))):
        idx = np.flatnonzero(mask)
        o = np.lexsort((tk[idx], -R["priority"].to_numpy()[idx], -R["specificity"].to_numpy()[idx]))
        rank[idx[o]] = np.arange(idx.size)
    return rank, is_p


def _winners(n, li, ri, pair_p, pair_price, R, rank, is_p, policy) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(lines, rules, prices)``: the winning price rule of every line a price rule matches: its
    matching rule of lowest rank (found without sorting the pairs), or with formulas the same
    precedence with the formula's own price as the tie key."""
    if pair_price is None:
        best_p = np.full(n, _BIG)
        np.minimum.at(best_p, li[pair_p], rank[ri[pair_p]])
        price_rules = np.flatnonzero(is_p)
        by_rank = np.empty(len(R), dtype=np.int64)
        by_rank[rank[price_rules]] = price_rules
        win_l = np.flatnonzero(best_p < _BIG)
        win_r = by_rank[best_p[win_l]]
        return win_l, win_r, R["value"].to_numpy(dtype=float)[win_r]
    pk = np.flatnonzero(pair_p)
    order = R["order"].to_numpy(dtype=float)[ri[pk]]
    tie = pair_price[pk] if policy.tie == "lowest_price" else order
    o = np.lexsort((order, tie, -R["priority"].to_numpy()[ri[pk]], -R["specificity"].to_numpy()[ri[pk]], li[pk]))
    pk = pk[o]
    first = np.r_[True, li[pk][1:] != li[pk][:-1]] if pk.size else np.zeros(0, dtype=bool)
    return li[pk][first], ri[pk][first], pair_price[pk][first]


def _discounts(n, dl, dr, R, rank, is_p, win_l, win_r, policy) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The discount rules applied to each line (pairs ``dl, dr``, sorted by line then rank unless
    ``best``) and each line's total discount share: ``apply_alone`` first (a price rule that applies
    alone takes no discount; a discount rule that does is the only one), then the stacking policy,
    capped at ``max_discount``."""
    v_all = R["value"].to_numpy(dtype=float)
    alone = R["apply_alone"].to_numpy(dtype=bool)
    if alone.any():
        solo = np.zeros(n, dtype=bool)
        solo[win_l] = alone[win_r]
        keep = ~solo[dl]
        dl, dr = dl[keep], dr[keep]
        a = alone[dr]
        if a.any():
            best_a = np.full(n, _BIG)
            np.minimum.at(best_a, dl[a], rank[dr[a]])
            keep = ~(best_a < _BIG)[dl] | (alone[dr] & (rank[dr] == best_a[dl]))
            dl, dr = dl[keep], dr[keep]
    total = np.zeros(n)
    if policy.stacking == "best":
        best_d = np.full(n, _BIG)
        np.minimum.at(best_d, dl, rank[dr])
        disc_rules = np.flatnonzero(~is_p)
        by_rank_d = np.empty(len(R), dtype=np.int64)
        by_rank_d[rank[disc_rules]] = disc_rules
        dl = np.flatnonzero(best_d < _BIG)
        dr = by_rank_d[best_d[dl]]
        total[dl] = v_all[dr]
    else:
        o = np.lexsort((rank[dr], dl))
        dl, dr = dl[o], dr[o]
        if policy.stacking == "additive":
            np.add.at(total, dl, v_all[dr])
        else:
            logkeep = np.zeros(n)
            np.add.at(logkeep, dl, np.log1p(-np.minimum(v_all[dr], 1 - 1e-12)))
            total = 1 - np.exp(logkeep)
    return dl, dr, np.minimum(total, policy.max_discount)


def _discount_names(n, dl, dr, rid, policy) -> tuple[np.ndarray, np.ndarray]:
    """Each line's discounts as a code into distinct texts (-1: none), and the texts."""
    dcodes = np.full(n, -1, dtype=np.int64)
    if dl.size and policy.stacking == "best":   # one discount per line
        dcodes[dl] = dr
        return dcodes, rid
    if not dl.size:
        return dcodes, np.array([], dtype=object)
    cuts = np.flatnonzero(np.r_[True, dl[1:] != dl[:-1]])   # dl is sorted: join each line's run of rule ids
    jc, dnames = pd.factorize(np.array(["+".join(c) for c in np.split(rid[dr], cuts[1:])], dtype=object))
    dcodes[dl[cuts]] = jc
    return dcodes, dnames


def _bounds(R, li, ri, price, floor_v, ceil_v) -> None:
    """Floors and ceilings of every matching rule, applied to ``price`` in place; the bound that
    bit is kept in ``floor_v`` / ``ceil_v``."""
    n = price.size
    for col, pick, out_v in (("floor", np.fmax, floor_v), ("ceiling", np.fmin, ceil_v)):
        rv = R[col].to_numpy(dtype=float)
        k = ~np.isnan(rv[ri])
        if not k.any():
            continue
        bound = np.full(n, np.nan)
        pick.at(bound, li[k], rv[ri[k]])
        hit = (price < bound) if col == "floor" else (price > bound)
        price[hit] = bound[hit]
        out_v[hit] = bound[hit]


def _money(price: np.ndarray, base_qty: np.ndarray):
    """Unit prices and amounts in whole cents, rounded half up (missing where the price is)."""
    if not np.isnan(price).any():
        unit_price = np.floor(price + 0.5).astype(np.int64)
        return unit_price, np.floor(unit_price * base_qty + 0.5).astype(np.int64)
    unit_price = pd.array([None if x != x else int(np.floor(x + 0.5)) for x in price], dtype="Int64")
    amount = pd.array([None if x != x else int(np.floor(x * q + 0.5)) for x, q in
                       zip(unit_price.to_numpy(dtype=float, na_value=np.nan), base_qty)], dtype="Int64")
    return unit_price, amount


def _not_saleable(out: pd.DataFrame, L: pd.DataFrame, catalog: pd.DataFrame, at: np.ndarray, saleable) -> pd.DataFrame:
    """Lines outside the saleable scope lose their price, with the reason."""
    extra = [c for c in catalog.columns if c not in L.columns]   # product attributes
    full = L.assign(**{c: catalog[c].to_numpy()[at] for c in extra}) if extra else L
    if isinstance(saleable, SaleableScope):
        ok, why = saleable.check(full)
    else:
        ok = np.asarray(saleable(full), dtype=bool)
        why = np.full(len(L), "", dtype=object)
    out.loc[~ok, ["unit_price", "amount"]] = pd.NA
    out["unit_price"] = out["unit_price"].astype("Int64")
    out["amount"] = out["amount"].astype("Int64")
    out.loc[~ok, "explanation"] = ["not saleable to this customer" + (f" ({w})" if w else "") for w in why[~ok]]
    return out


def price_one(line: dict, catalog: pd.DataFrame, rules, **kw) -> dict:
    """Price a single line (a dict of its fields) with the same code as :func:`price_lines`.

    Examples
    --------
    >>> import pandas as pd
    >>> catalog = pd.DataFrame({"product_id": ["p1", "p2"], "category": ["hw", "sw"], "form": ["physical", "virtual"],
    ...                         "base_price": [10_000, 5_000]})
    >>> rules = [PriceRule(rule_id="vol", kind="discount", value=0.1, category=("hw",), min_qty=10),
    ...          PriceRule(rule_id="vip", kind="discount", value=0.05, customer_grade=("A",))]
    >>> price_one({"product_id": "p1", "qty": 12}, catalog, rules)["amount"]
    108000
    """
    return price_lines(pd.DataFrame([line]), catalog, rules, **kw).iloc[0].to_dict()
