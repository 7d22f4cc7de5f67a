"""The promotion simulation fitted to your own order lines (FEATURES CPQ promotions).

:func:`load_order_history` reads order lines as an ERP or a shop exports them (``order_date,
customer_id, product_id, qty`` and a price: ``list_price`` per unit with ``discount_pct``,
``discount_amount`` or ``net_amount``; optionally ``order_id, segment, category, promo_id``
(the pricing rule or coupon), ``free`` (a free-goods line), ``unit_cost``), column names through a
mapping, dates without times. Every line it cannot use is counted in ``exclusions`` with the
reason, every reading it has to make is in ``notes``. Each line is one of: ``list`` (no
discount), ``promo`` (a promotion applied), ``free`` (free goods) or ``deal`` (a discount with no
promotion: negotiated). The promotion calendar is read from the lines: each promotion's days run
from its first line to its last, its depth on a product is ``1 - net / list`` of its lines
(free goods at their list value).

:func:`calibrate_promo` fits :class:`~crmsim.sim.promo.PromoConfig` with a 95% CI and n on each
parameter:

- **price elasticity** per segment (or per product group, ``elasticity_by``): daily units of each
  segment and product regressed on the log of the price ratio offered that day, ``log(1 - depth)``
  (log-log), with a fixed effect per segment and product, weekday effects and, on a log of at
  least 300 days, an annual cycle: Poisson pseudo-maximum likelihood (zero days kept, robust to
  over-dispersion), standard errors clustered by segment, product and week
  (:func:`~crmsim.experiments.fits.fit_poisson_fe`);
- **stockpiling**: the same regression measures the dip in units in the weeks after a promotion
  on the product; where it is visible (its CI below 0) the forward-bought share ``stockpile`` and
  the elasticity are set so that the simulation, run on the log's own calendar, shows the dip and
  the lift the log shows (indirect inference, 3 rounds); where not, ``stockpile = 0``, stated;
- **baseline demand**: purchase occasions per customer and month, the weekday and month pattern,
  units per line, products per order, per segment, on days with no promotion effect;
- **negotiated deals**: their share of orders and the mean discount granted, per segment;
- **products**: list price (median), group, share of lines, unit cost (a ``unit_cost`` column,
  else the base scenario's product of that id, else the base's mean cost ratio, stated).

:func:`promo_split_validation` holds out a past promotion: it fits on the log before the 4 weeks
that precede it, simulates those weeks and the promotion on the fitted config with the log's own
promotion, and compares the uplift per product group (units during the promotion over the
weekday-weighted daily units of the 4 weeks before, minus 1; the same measure on the log and on
the simulation).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from crmsim.calendar import DAYS_PER_MONTH
from crmsim.errors import InputError
from crmsim.experiments.fits import (
    Estimates,
    TwinCalibration,
    fit_poisson_fe,
    held_out_table,
    proportion_ci,
    provenance_table,
)
from crmsim.sim.promo import BIJMOLT_ELASTICITY, PromoConfig, simulate_promo
from crmsim.tables import day_number

__all__ = ["ORDER_FIELDS", "OrderHistory", "PromoCalibration", "load_order_history", "calibrate_promo",
           "promo_uplift", "promo_split_validation", "history_promotions", "replan", "replan_sweeps"]

#: crmsim's names for the columns the reader uses (map your export's names to them).
ORDER_FIELDS = ("order_id", "order_date", "customer_id", "segment", "product_id", "category", "qty", "list_price",
                "discount_pct", "discount_amount", "net_amount", "unit_cost", "promo_id", "free")
#: A discount below this share of the list amount is rounding, not a discount.
MIN_DISCOUNT = 0.005
#: Fewer order lines than this on a product: it is simulated, and its thin baseline is stated.
THIN_PRODUCT = 20
#: The days after a promotion ends in which its dip is looked for: twice the mean days between a
#: customer's purchases of the product, within these bounds.
POST_DAYS = (7, 91)
#: Days of the log before a held-out promotion used as its baseline.
PRE_DAYS = 28
#: The stockpiling correction simulates this many customers of the segments with a dip (the
#: simulation's noise adds to the log's: the CIs of what it sets are widened by that).
SIM_CUSTOMERS_MAX = 3_000


@dataclass
class OrderHistory:
    """Read order lines: ``lines`` (``order_id, day`` (days since 1970), ``customer_id, segment,
    product_id, category, qty, list_amount, net`` (minor units), ``unit_price`` (list, minor
    units), ``unit_cost`` (minor units or NaN), ``promo_id`` ('' for none), ``kind`` (list /
    promo / free / deal)), ``promotions`` (``promo_id, product_id, category, first_day, last_day,
    depth, lines``), ``exclusions`` (``table, reason, rows, first``), ``notes`` and what the
    export has (``has``).

    Examples
    --------
    >>> import pandas as pd
    >>> from importlib.resources import files
    >>> from crmsim.errors import read_toml
    >>> EX = files("crmsim") / "examples"
    >>> h = load_order_history(pd.read_csv(EX / "shop_order_lines.csv", keep_default_na=False),
    ...                        columns=read_toml(EX / "shop_map.toml")["columns"])
    >>> h.lines.columns.tolist()[:5], h.promotions["promo_id"].nunique() > 0
    (['order_id', 'day', 'customer_id', 'segment', 'product_id'], True)
    """

    lines: pd.DataFrame
    promotions: pd.DataFrame
    exclusions: pd.DataFrame
    notes: list[str]
    has: dict[str, bool]

    @property
    def start(self) -> pd.Timestamp:
        return pd.Timestamp(int(self.lines["day"].min()), unit="D")

    @property
    def end(self) -> pd.Timestamp:
        """The log's last day."""
        return pd.Timestamp(int(self.lines["day"].max()), unit="D")

    def summary(self) -> str:
        ln = self.lines
        kinds = ln["kind"].value_counts()
        lines = [f"{len(ln):,} order lines ({', '.join(f'{int(kinds.get(k, 0)):,} {k}' for k in ('list', 'promo', 'free', 'deal'))}), "
                 f"{ln['order_id'].nunique():,} orders, {ln['customer_id'].nunique():,} customers, "
                 f"{ln['product_id'].nunique():,} products, {self.promotions['promo_id'].nunique():,} promotions, "
                 f"{self.start.date()}..{self.end.date()}"]
        lines += [f"  excluded from {r.table}: {r.rows:,} row(s), {r.reason} (first: {r.first})"
                  for r in self.exclusions.itertuples()]
        return "\n".join(lines)


class PromoCalibration(TwinCalibration[PromoConfig]):
    """The promotion twin's calibration (:class:`~crmsim.experiments.fits.TwinCalibration`).

    Examples
    --------
    >>> import pandas as pd
    >>> from importlib.resources import files
    >>> from crmsim.errors import read_toml
    >>> EX = files("crmsim") / "examples"
    >>> h = load_order_history(pd.read_csv(EX / "shop_order_lines.csv", keep_default_na=False),
    ...                        columns=read_toml(EX / "shop_map.toml")["columns"])
    >>> from crmsim.experiments.scenario import load_scenario
    >>> base = load_scenario(files("crmsim") / "scenarios" / "promotions.toml").baseline
    >>> cal = calibrate_promo(h, base, start="2025-06-01", end="2025-09-30")     # four months of the log
    >>> type(cal.config).__name__, sorted(set(cal.provenance["source"]))
    ('PromoConfig', ['base scenario', 'default', 'fitted', 'observed'])
    """


# ----------------------------------------------------------------------------- reading

def load_order_history(lines, *, columns: dict[str, str] | None = None) -> OrderHistory:
    """Read order lines (a DataFrame or a file) into an :class:`OrderHistory` (see the module
    docstring); ``columns`` maps crmsim's names (:data:`ORDER_FIELDS`) to the export's.

    Examples
    --------
    >>> raw = pd.DataFrame({"Date": ["2025-03-01", "2025-03-02", "2025-03-02", "2025-03-03"],
    ...                     "Cust": ["C1", "C2", "C1", "C3"], "Item": ["A", "A", "B", "A"], "Qty": [2, 3, -1, 4],
    ...                     "Price": [10, 10, 20, 10], "Disc %": [0, 20, 0, 10], "Rule": ["", "SPRING", "", ""]})
    >>> h = load_order_history(raw, columns={"order_date": "Date", "customer_id": "Cust", "product_id": "Item",
    ...                                      "qty": "Qty", "list_price": "Price", "discount_pct": "Disc %",
    ...                                      "promo_id": "Rule"})
    >>> h.lines[["product_id", "kind", "net"]].values.tolist()
    [['A', 'list', 2000.0], ['A', 'promo', 2400.0], ['A', 'deal', 3600.0]]
    >>> h.exclusions[["reason", "rows"]].values.tolist()
    [['quantity 0 or below (a return or a correction)', 1]]
    """
    from crmsim.shell import Col, load_export

    columns = columns or {}
    cols = [Col("order_id", "text"), Col("order_date", "date", required=True, filled=True),
            Col("customer_id", "id", required=True), Col("segment", "text"), Col("product_id", "id", required=True),
            Col("category", "text"), Col("qty", "number", required=True, filled=True), Col("list_price", "money"),
            Col("discount_pct", "number"), Col("discount_amount", "money"), Col("net_amount", "money"),
            Col("unit_cost", "money"), Col("promo_id", "text"), Col("free", "flag")]
    ld = load_export(lines, "order lines", cols, columns)
    excl = [("order lines", reason, len(g), int(g["source_row"].iloc[0]))
            for reason, g in ld.quarantine.groupby("reason", sort=False)]
    t = ld.table
    notes: list[str] = []
    has = {c: c in t.columns for c in ORDER_FIELDS}
    shown = lambda c: f"'{columns.get(c, c)}'"  # noqa: E731
    if not has["list_price"] and not (has["net_amount"] and has["discount_pct"]):
        raise InputError("order lines: need the list price per unit (list_price), or the net amount with the "
                         f"discount % (net_amount and discount_pct); columns are {list(t.columns)}")
    if not len(t):
        raise InputError("order lines: no usable rows (every row was set aside; see the exclusions)")
    qty = t["qty"].to_numpy(float)
    bad = qty <= 0
    if bad.any():
        excl.append(("order lines", "quantity 0 or below (a return or a correction)", int(bad.sum()),
                     int(t["source_row"].to_numpy()[bad][0])))
        t, qty = t[~bad].reset_index(drop=True), qty[~bad]
    pct = None
    if has["discount_pct"]:
        pct = t["discount_pct"].fillna(0).to_numpy(float)
        if np.nanmax(pct, initial=0) > 1:
            pct = pct / 100
        else:
            notes.append(f"order lines: {shown('discount_pct')} has no value above 1; read as a share (0.2 = 20% off)")
        if (pct < 0).any() or (pct > 1).any():
            k = int(np.flatnonzero((pct < 0) | (pct > 1))[0])
            raise InputError(f"order lines: {shown('discount_pct')} at row {int(t['source_row'].iloc[k])} is "
                             f"{t['discount_pct'].iloc[k]}; a discount is between 0% and 100%")
    if has["list_price"]:
        unit = t["list_price"].astype("float64").to_numpy()
        list_amt = unit * qty
    else:
        net0 = t["net_amount"].astype("float64").to_numpy()
        list_amt = np.divide(net0, 1 - pct, out=np.full(len(t), np.nan), where=pct < 1)
        unit = list_amt / qty
    if has["net_amount"]:
        net = t["net_amount"].astype("float64").to_numpy()
    elif has["discount_amount"]:
        net = list_amt - t["discount_amount"].astype("float64").fillna(0).to_numpy()
    elif pct is not None:
        net = np.round(list_amt * (1 - pct))
    else:
        net = list_amt.copy()
        notes.append("order lines: no discount, net amount or discount amount column; every line is read at list price")
    nolist = ~np.isfinite(list_amt) | ~np.isfinite(net) | (list_amt <= 0)
    if nolist.any():
        excl.append(("order lines", "no list price (blank, 0, or a 100% discount with no list price)",
                     int(nolist.sum()), int(t["source_row"].to_numpy()[nolist][0])))
    free = t["free"].to_numpy(bool) if has["free"] else np.zeros(len(t), bool)
    disc = 1 - np.divide(net, list_amt, out=np.ones(len(t)), where=list_amt > 0)
    if not has["free"]:
        free = disc >= 1 - 1e-9
        if free.any():
            notes.append(f"order lines: no free-item column; {int(free.sum()):,} lines at 100% off are read as free goods")
    promo = (t["promo_id"].astype("string").str.strip().fillna("").to_numpy(str) if has["promo_id"]
             else np.full(len(t), "", dtype=object))
    if not has["promo_id"]:
        notes.append("order lines: no promotion column; a discount cannot be told from a negotiated one, so every "
                     "discounted line is read as a promotion (one per product and run of discounted days)")
    kind = np.where(free, "free", np.where(promo != "", "promo", np.where(disc > MIN_DISCOUNT, "deal", "list")))
    if not has["promo_id"]:
        kind = np.where(kind == "deal", "promo", kind)
    over = (kind == "promo") & (disc <= MIN_DISCOUNT)
    if over.any():
        notes.append(f"order lines: {int(over.sum()):,} lines name a promotion but carry no discount (the promotion "
                     "did not apply to them); read as at list price")
        kind = np.where(over, "list", kind)
        promo = np.where(over, "", promo)
    day = (t["order_date"].to_numpy("datetime64[D]").astype(np.int64))
    seg = (t["segment"].astype("string").str.strip().fillna("(no segment)").replace("", "(no segment)").to_numpy(str)
           if has["segment"] else np.full(len(t), "(all)", dtype=object))
    if not has["segment"]:
        notes.append("order lines: no segment column; the customers are one segment, '(all)'")
    cat = (t["category"].astype("string").str.strip().fillna("(no group)").replace("", "(no group)").to_numpy(str)
           if has["category"] else np.full(len(t), "all", dtype=object))
    oid = (t["order_id"].astype("string").fillna("").to_numpy(str) if has["order_id"] else
           (t["customer_id"].astype(str) + "|" + pd.Series(day).astype(str)).to_numpy())
    if not has["order_id"]:
        notes.append("order lines: no order number; a customer's lines of one day are read as one order")
    out = pd.DataFrame({"order_id": oid, "day": day, "customer_id": t["customer_id"].astype(str).to_numpy(),
                        "segment": seg, "product_id": t["product_id"].astype(str).to_numpy(), "category": cat,
                        "qty": qty, "list_amount": list_amt, "net": net, "unit_price": unit,
                        "unit_cost": t["unit_cost"].astype("float64").to_numpy() if has["unit_cost"] else np.nan,
                        "promo_id": promo, "kind": kind})[~nolist].reset_index(drop=True)
    if not len(out):
        raise InputError("order lines: no line with a list price; nothing to fit")
    if not has["promo_id"]:
        out = _runs_as_promotions(out)
    # each customer's most frequent segment (ties: the first seen)
    c = out.groupby(["customer_id", "segment"], sort=False).size().reset_index(name="n")
    seg_of = c.sort_values("n", ascending=False, kind="stable").drop_duplicates("customer_id").set_index(
        "customer_id")["segment"]
    moved = out["segment"] != out["customer_id"].map(seg_of)
    if moved.any():
        notes.append(f"order lines: {int(out.loc[moved, 'customer_id'].nunique()):,} customers appear in more than one "
                     "segment; each is read in the segment of most of its lines")
        out["segment"] = out["customer_id"].map(seg_of)
    promos, pnotes = _promotions(out)
    notes += pnotes
    ex = pd.DataFrame(excl, columns=["table", "reason", "rows", "first"])
    return OrderHistory(lines=out, promotions=promos, exclusions=ex, notes=notes, has=has)


def _runs_as_promotions(ln: pd.DataFrame) -> pd.DataFrame:
    """Without a promotion column: each product's run of days with discounted lines (gaps of at
    most 2 days) is one promotion, named after the product and its first day."""
    p = ln[ln["kind"] == "promo"]
    names = pd.Series("", index=ln.index, dtype=object)
    for pid, g in p.groupby("product_id", sort=False):
        days = np.unique(g["day"].to_numpy())
        run = np.r_[0, np.cumsum(np.diff(days) > 3)]
        first = {d: days[run == r][0] for d, r in zip(days, run)}
        names[g.index] = [f"{pid}@{pd.Timestamp(int(first[d]), unit='D').date()}" for d in g["day"].to_numpy()]
    return ln.assign(promo_id=np.where(ln["kind"] == "promo", names, ln["promo_id"]))


def _promotions(ln: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """The promotion calendar the lines show, and notes on overlaps."""
    p = ln[ln["promo_id"] != ""]
    notes = []
    if not len(p):
        return pd.DataFrame(columns=["promo_id", "product_id", "category", "first_day", "last_day", "depth", "lines"]), notes
    span = p.groupby("promo_id")["day"].agg(["min", "max"])
    g = p.groupby(["promo_id", "product_id"], sort=True)
    t = g.agg(category=("category", "first"), net=("net", "sum"), list_amount=("list_amount", "sum"),
              lines=("net", "size")).reset_index()
    t["first_day"] = t["promo_id"].map(span["min"]).astype(int)
    t["last_day"] = t["promo_id"].map(span["max"]).astype(int)
    t["depth"] = (1 - t["net"] / t["list_amount"]).clip(0, 1)
    t = t[["promo_id", "product_id", "category", "first_day", "last_day", "depth", "lines"]]
    for pid, q in t.groupby("product_id", sort=False):
        q = q.sort_values("first_day")
        a, b = q["first_day"].to_numpy(), q["last_day"].to_numpy()
        clash = np.flatnonzero(a[1:] <= np.maximum.accumulate(b)[:-1])
        if clash.size:
            k = clash[0] + 1
            notes.append(f"promotions: '{q['promo_id'].iloc[k]}' overlaps an earlier promotion on product {pid} "
                         f"({pd.Timestamp(int(a[k]), unit='D').date()}); on days both run the deeper discount is "
                         "taken as the one offered")
    return t.reset_index(drop=True), notes


# ----------------------------------------------------------------------------- the panel

def _calendar(h: OrderHistory, products: list[str], t0: int, t1: int) -> tuple[np.ndarray, np.ndarray]:
    """Per product and day of ``[t0, t1)``: the discount offered (the deepest active promotion's
    depth) and the days since the last promotion on it ended (inf: none)."""
    idx = {p: i for i, p in enumerate(products)}
    T = t1 - t0
    depth = np.zeros((len(products), T))
    since = np.full((len(products), T), np.inf)
    for r in h.promotions.itertuples(index=False):
        i = idx.get(r.product_id)
        if i is None:
            continue
        a, b = max(r.first_day - t0, 0), min(r.last_day - t0 + 1, T)
        if a < b:
            depth[i, a:b] = np.maximum(depth[i, a:b], r.depth)
        after = np.arange(max(r.last_day + 1 - t0, 0), T)
        if after.size:
            since[i, after] = np.minimum(since[i, after], after + t0 - r.last_day)
    return depth, since


def _panel(h: OrderHistory, w: pd.DataFrame, t0: int, t1: int, post_days: dict) -> tuple[pd.DataFrame, list, list]:
    """Daily paid units of promotions and list-price lines per segment and product (zero days
    kept), with the discount offered and whether the day is in a product's post-promotion weeks."""
    products = sorted(w["product_id"].unique())
    depth, since = _calendar(h, products, t0, t1)
    T = t1 - t0
    b = w[w["kind"].isin(["list", "promo"])]
    segs = sorted(w["segment"].unique())
    si = {s: i for i, s in enumerate(segs)}
    pi = {p: i for i, p in enumerate(products)}
    y = np.zeros((len(segs), len(products), T))
    np.add.at(y, (b["segment"].map(si).to_numpy(), b["product_id"].map(pi).to_numpy(), b["day"].to_numpy() - t0),
              b["qty"].to_numpy(float))
    S, P = len(segs), len(products)
    ss, pp, dd = np.meshgrid(np.arange(S), np.arange(P), np.arange(T), indexing="ij")
    pw = np.array([[post_days[(s, p)] for p in products] for s in segs])
    sn = since[pp, dd]
    return pd.DataFrame({"s": ss.ravel(), "p": pp.ravel(), "t": dd.ravel() + t0, "y": y.ravel(),
                         "depth": depth[pp, dd].ravel(), "post": ((sn <= pw[ss, pp]) & (depth[pp, dd] == 0)).ravel()}), segs, products


def _post_days(w: pd.DataFrame, days: int) -> dict:
    """Per segment and product: twice the mean days between a customer's purchases of it."""
    cust = w.groupby("segment")["customer_id"].nunique()
    n = w[w["kind"] != "deal"].groupby(["segment", "product_id"]).size()
    out = {}
    for s in w["segment"].unique():
        for p in w["product_id"].unique():
            k = n.get((s, p), 0)
            gap = cust[s] * days / k if k else POST_DAYS[1]
            out[(s, p)] = int(np.clip(round(2 * gap), *POST_DAYS))
    return out


def _reduced_form(panel: pd.DataFrame, segs, products, cats, by: str, seasonal: bool) -> dict:
    """The log-log Poisson regression (see the module docstring): per elasticity group its
    elasticity, per segment its post-promotion dip, each with its clustered standard error."""
    t = panel["t"].to_numpy()
    wd = (t + 3) % 7                                   # 1970-01-01 was a Thursday
    X = [(wd == k).astype(float) for k in range(1, 7)]  # Tuesday..Sunday against Monday
    names = [f"weekday{k}" for k in range(1, 7)]
    if seasonal:
        ang = 2 * np.pi * t / 365.25
        X += [np.sin(ang), np.cos(ang)]
        names += ["sin", "cos"]
    lp = np.log1p(-np.minimum(panel["depth"].to_numpy(), 0.99))
    grp = panel["s"].to_numpy() if by == "segment" else np.array([cats[products[p]] for p in panel["p"].to_numpy()])
    groups = sorted(set(grp.tolist()))
    el = {}
    for g in groups:
        m = grp == g
        if (lp[m] != 0).any():
            el[g] = len(X)
            X.append(np.where(m, lp, 0.0))
            names.append(f"e:{g}")
    dip = {}
    post = panel["post"].to_numpy()
    s_arr = panel["s"].to_numpy()
    for s in range(len(segs)):
        m = (s_arr == s) & post
        if m.sum() >= 14:
            dip[s] = len(X)
            X.append(m.astype(float))
            names.append(f"dip:{segs[s]}")
    Xm = np.column_stack(X)
    cell = panel["s"].to_numpy() * len(products) + panel["p"].to_numpy()
    beta, se = fit_poisson_fe(panel["y"].to_numpy(), Xm, cell, cell * 10_000 + t // 7)
    return {"beta": beta, "se": se, "names": names, "el": el, "dip": dip, "groups": groups, "n_rows": len(panel)}


# ----------------------------------------------------------------------------- fitting

_NOT_FITTABLE = {"promotions": "the promotions to simulate are your plan (the base scenario's)",
                 "stacking": "how promotions combine is a rule you choose", "approval": "a rule you choose",
                 "approvers": "approvals are not in order lines", "review_days": "approvals are not in order lines",
                 "counter_accept": "counter-offers are not in order lines", "rebate_tiers": "a rule you choose",
                 "rebate_period_days": "a rule you choose"}


def _mean_ci(x: np.ndarray) -> tuple[float, tuple[float, float]]:
    m = float(x.mean())
    s = float(x.std(ddof=1) / math.sqrt(x.size)) if x.size > 1 else math.nan
    return m, (m - 1.96 * s, m + 1.96 * s)


def calibrate_promo(history: OrderHistory, base: PromoConfig | None = None, *, start=None, end=None, seed=0,
                    elasticity_by: str = "auto", base_set: set[str] | None = None) -> PromoCalibration:
    """Fit a :class:`~crmsim.sim.promo.PromoConfig` to order lines on ``[start, end)`` (default:
    the log's window); ``base`` gives the rules and what cannot be fitted (see the module
    docstring). ``elasticity_by``: ``segment``, ``category`` (product group) or ``auto`` (segments
    when the lines have more than one, else product groups when there is more than one).

    Examples
    --------
    >>> from crmsim.sim.exports import promo_export, PROMO_EXPORT_COLUMNS
    >>> from crmsim.cpq.promotions import Promotion
    >>> base = PromoConfig(customers=300, promotions=(Promotion(promo_id="p", kind="item", percent_off=0.2,
    ...                    valid_from="2025-02-03", valid_to="2025-02-16"),))
    >>> x = promo_export(base, 70, seed=1)
    >>> h = load_order_history(x["lines"], columns=PROMO_EXPORT_COLUMNS)
    >>> cal = calibrate_promo(h, base)
    >>> [s.name for s in cal.config.segments]
    ['accounts', 'deal_seekers', 'loyal']
    """
    base = base or PromoConfig()
    h = history
    t0 = day_number(start) if start is not None else int(h.lines["day"].min())
    t1 = day_number(end) if end is not None else int(h.lines["day"].max()) + 1
    if t1 - t0 < 28:
        raise InputError(f"the window has {t1 - t0} days; fitting demand needs at least 4 weeks")
    w = h.lines[(h.lines["day"] >= t0) & (h.lines["day"] < t1)]
    if len(w) < 50:
        raise InputError(f"the window has {len(w)} order lines; fitting demand needs at least 50")
    T = t1 - t0
    est = Estimates("group")
    notes = list(h.notes)
    segs_all = sorted(w["segment"].unique())
    cats_of = w.groupby("product_id")["category"].agg(lambda s: s.value_counts().index[0]).to_dict()
    n_cat = len(set(cats_of.values()))
    by = elasticity_by
    if by == "auto":
        by = "segment" if len(segs_all) > 1 or n_cat <= 1 else "category"
    if by not in ("segment", "category"):
        raise InputError(f"elasticity_by is '{elasticity_by}'; use segment, category or auto")
    post = _post_days(w, T)
    panel, segs, products = _panel(h, w, t0, t1, post)
    seasonal = T >= 300
    if not seasonal:
        notes.append(f"baseline: the window has {T} days (300 needed for an annual cycle); month weights stay 1")
    any_price = (panel["depth"] > 0).any()
    rf = _reduced_form(panel, segs, products, cats_of, by, seasonal) if len(panel) else None
    beta, se = rf["beta"], rf["se"]

    # weekday and month pattern (shared by every segment)
    wk = np.r_[0.0, beta[:6]]
    ww = np.exp(wk) / np.exp(wk).mean()
    for k in range(7):
        lo = np.exp(wk[k] - 1.96 * (se[k - 1] if k else 0)) / np.exp(wk).mean()
        hi = np.exp(wk[k] + 1.96 * (se[k - 1] if k else 0)) / np.exp(wk).mean()
        est.add("weekday_weight", float(ww[k]), (float(lo), float(hi)) if k else (math.nan, math.nan), rf["n_rows"],
                group=("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")[k], path=f"weekday_weights.{k}",
                note="units per weekday over the mean (Monday the reference); Poisson FE regression")
    mw = np.ones(12)
    if seasonal:
        a, b = beta[6], beta[7]
        mid = np.array([pd.Timestamp(2001, m, 15).day_of_year for m in range(1, 13)])
        # the annual cycle at each month's middle, against the calendar (days since 1970)
        ref = day_number("2001-01-01")
        ang = 2 * np.pi * (ref + mid - 1) / 365.25
        mw = np.exp(a * np.sin(ang) + b * np.cos(ang))
        mw = mw / mw.mean()
        amp = math.hypot(a, b)
        est.add("season_amplitude", amp, n=rf["n_rows"], note="the annual cycle's log amplitude")
        for m in range(12):
            est.add("month_weight", float(mw[m]), n=rf["n_rows"], group=pd.Timestamp(2001, m + 1, 1).strftime("%b"),
                    path=f"month_weights.{m}", note="the fitted annual cycle at mid-month, over the year's mean")
    wfac = ww[(np.arange(t0, t1) + 3) % 7] * mw[pd.to_datetime(np.arange(t0, t1), unit="D").month.to_numpy() - 1]

    # elasticity and the dip
    base_seg = {s.name: s for s in base.segments}
    fallback_e = (float(np.mean([s.elasticity for s in base.segments if s.demand == "elasticity"]))
                  if any(s.demand == "elasticity" for s in base.segments) else BIJMOLT_ELASTICITY)
    e_fit, e_ci, dips = {}, {}, {}
    for g in rf["groups"]:
        name = segs[g] if by == "segment" else g
        if g in rf["el"]:
            j = rf["el"][g]
            e_fit[name] = float(beta[j])
            e_ci[name] = (float(beta[j] - 1.96 * se[j]), float(beta[j] + 1.96 * se[j]))
    for s, j in rf["dip"].items():
        dips[segs[s]] = (float(beta[j]), float(se[j]))
    if not any_price:
        notes.append("elasticity: no price ever changed in the window (no promotion, no discount); the elasticity "
                     f"is the base scenario's ({fallback_e:g}), not fitted")

    # the baseline: days with no promotion effect on any product
    depth_any = panel.groupby("t")["depth"].max().reindex(range(t0, t1), fill_value=0).to_numpy()
    post_any = panel.groupby("t")["post"].any().reindex(range(t0, t1), fill_value=False).to_numpy()
    clean = (depth_any == 0) & ~post_any
    if clean.sum() < 28:
        notes.append(f"baseline: {int(clean.sum())} days with no promotion or post-promotion weeks (28 needed); "
                     "occasions, units and products per order are read on every day")
        clean = np.ones(T, bool)
    wc = w[clean[w["day"].to_numpy() - t0]]
    cust = w.groupby("segment")["customer_id"].nunique()
    n_cust = int(cust.sum())
    weight_days = float(wfac[clean].sum())
    orders = wc.drop_duplicates("order_id")
    raw = base.model_dump(mode="json", by_alias=True, exclude_none=True)
    raw["customers"] = n_cust
    est.add("customers", n_cust, n=n_cust, path="customers", note="customers with at least one order line in the window")
    seg_rows = []
    for i, s in enumerate(segs_all):
        ws, os_ = w[w["segment"] == s], orders[orders["segment"] == s]
        b0 = base_seg.get(s)
        row = {"name": s, "share": cust[s] / n_cust, "demand": "elasticity"}
        if b0 is not None:
            row.update(patience_days=b0.patience_days)
            if b0.demand == "logit":
                notes.append(f"segment {s}: the base scenario's logit demand is replaced by constant elasticity (the "
                             "form order lines can fit)")
        est.add("segment_share", row["share"], proportion_ci(int(cust[s]), n_cust), n_cust, group=s,
                path=f"segments.{i}.share")
        occ = len(os_) / (cust[s] * weight_days) * DAYS_PER_MONTH
        lo, hi = (np.array(_poisson_ci(len(os_))) / (cust[s] * weight_days) * DAYS_PER_MONTH)
        row["occasions_per_month"] = occ
        est.add("occasions_per_month", occ, (lo, hi), len(os_), group=s, path=f"segments.{i}.occasions_per_month",
                note="orders per customer and month at the weekday and month weights, on days with no promotion effect")
        nd = wc[(wc["segment"] == s) & (wc["kind"] == "list")]
        if len(nd):
            m, ci = _mean_ci(nd["qty"].to_numpy(float))
            row["units_mean"] = max(m, 1.0)
            est.add("units_mean", m, ci, len(nd), group=s, path=f"segments.{i}.units_mean",
                    note="units per line at list price")
            per = nd.groupby("order_id").size().to_numpy(float)
            m, ci = _mean_ci(per)
            row["lines_mean"] = max(m, 1.0)
            est.add("lines_mean", m, ci, per.size, group=s, path=f"segments.{i}.lines_mean",
                    note="products per order at list price")
        ords = ws.drop_duplicates("order_id")
        deal_orders = ws.loc[ws["kind"] == "deal", "order_id"].nunique()
        row["deal_share"] = deal_orders / len(ords) if len(ords) else 0.0
        est.add("deal_share", row["deal_share"], proportion_ci(int(deal_orders), len(ords)), len(ords), group=s,
                path=f"segments.{i}.deal_share",
                note="orders with a discount and no promotion (negotiated); deals lost before an order are in no log")
        if deal_orders:
            d = ws[ws["kind"] == "deal"].groupby("order_id")[["net", "list_amount"]].sum()
            m, ci = _mean_ci((1 - d["net"] / d["list_amount"]).to_numpy(float))
            row["ask_discount"] = float(np.clip(m, 0.001, 0.95))
            est.add("ask_discount", m, ci, len(d), group=s, path=f"segments.{i}.ask_discount",
                    note="the mean discount granted on negotiated orders (what was asked is not in the log)")
        el_key = s if by == "segment" else None
        if el_key is not None:
            if el_key in e_fit:
                row["elasticity"] = min(e_fit[el_key], -0.01)
                est.add("elasticity", e_fit[el_key], e_ci[el_key], int(panel["y"][panel["s"] == segs.index(s)].sum()),
                        group=s, path=f"segments.{i}.elasticity",
                        note="log-log Poisson regression with segment x product fixed effects and weekday effects")
            else:
                v = b0.elasticity if b0 is not None and b0.demand == "elasticity" else fallback_e
                row["elasticity"] = v
                est.add("elasticity", v, n=0, group=s, source="base scenario" if b0 is not None else "default",
                        path=f"segments.{i}.elasticity", note="no price change for this segment in the window")
        else:
            row["elasticity"] = fallback_e
        row["stockpile"] = 0.0
        seg_rows.append(row)
    raw["segments"] = seg_rows
    raw["products"] = _products(w, wc, base, est, notes, cats_of, e_fit if by == "category" else None,
                                e_ci, fallback_e)
    if by == "category":
        for i in range(len(seg_rows)):
            est.add("elasticity", fallback_e, n=0, group=segs_all[i], source="not fittable", path=f"segments.{i}.elasticity",
                    note="the elasticity is fitted per product group (products.elasticity)")
    raw["weekday_weights"] = [round(float(x), 6) for x in ww]
    raw["month_weights"] = [round(float(x), 6) for x in mw]
    raw["start_date"] = str(pd.Timestamp(t1, unit="D").date())
    est.add("start_date", t1, n=len(w), source="observed", path="start_date",
            note="the day after the fitted window (days since 1970): the simulation continues your log")
    raw["promotions"], moved = replan(raw.get("promotions", []), base.start_date, raw["start_date"],
                                      {p["product_id"]: p["category"] for p in raw["products"]})
    notes += moved
    if base.promotions:
        notes.append(f"plan: the base scenario's {len(base.promotions)} promotion(s) moved to start as long after "
                     f"{raw['start_date']} as they started after {base.start_date}")
    cfg = PromoConfig.model_validate(raw)
    cfg = _stockpiling(cfg, h, w, t0, t1, rf, dips, (panel, segs, products), est, notes, seed, by, e_fit, e_ci)
    estimates = est.frame()
    from crmsim.experiments.calibrate import _set_paths

    prov = provenance_table(cfg, estimates, _set_paths(base) if base_set is None else base_set, _NOT_FITTABLE)
    return PromoCalibration(config=cfg, estimates=estimates, provenance=prov, notes=notes,
                            window=(pd.Timestamp(t0, unit="D"), pd.Timestamp(t1, unit="D")))


def _poisson_ci(k: int) -> tuple[float, float]:
    from scipy import stats

    return (float(stats.chi2.ppf(0.025, 2 * k) / 2) if k else 0.0, float(stats.chi2.ppf(0.975, 2 * k + 2) / 2))


def _products(w, wc, base: PromoConfig, est: Estimates, notes: list[str], cats_of: dict, e_cat, e_ci, fallback_e):
    base_p = {p.product_id: p for p in base.products}
    ratio = (float(np.mean([p.unit_cost / p.list_price for p in base.products])) if base.products else 0.6)
    nd = wc[wc["kind"] == "list"]
    share = nd["product_id"].value_counts()
    n_all = w["product_id"].value_counts()
    out, no_cost = [], []
    for j, pid in enumerate(sorted(w["product_id"].unique())):
        lines = w[w["product_id"] == pid]
        price = int(round(float(np.median(lines["unit_price"]))))
        row = {"product_id": pid, "category": cats_of[pid], "list_price": max(price, 1)}
        est.add("list_price", price, n=len(lines), group=pid, source="observed", path=f"products.{j}.list_price",
                note="median list price per unit (minor units)")
        uc = lines["unit_cost"].dropna()
        if len(uc):
            row["unit_cost"] = int(round(float(np.median(uc))))
            est.add("unit_cost", row["unit_cost"], n=len(uc), group=pid, source="observed", path=f"products.{j}.unit_cost")
        elif pid in base_p:
            row["unit_cost"] = base_p[pid].unit_cost
            est.add("unit_cost", row["unit_cost"], n=0, group=pid, source="base scenario", path=f"products.{j}.unit_cost",
                    note="no unit cost in the lines: the base scenario's product of this id")
        else:
            row["unit_cost"] = int(round(price * ratio))
            no_cost.append(pid)
            est.add("unit_cost", row["unit_cost"], n=0, group=pid, source="default", path=f"products.{j}.unit_cost",
                    note=f"no unit cost in the lines or the base scenario: {ratio:.0%} of the list price (the base's mean)")
        k = int(share.get(pid, 0))
        row["weight"] = max(k, 0.5) / max(len(nd), 1)
        est.add("product_weight", row["weight"], proportion_ci(k, max(len(nd), 1)), len(nd), group=pid,
                path=f"products.{j}.weight", note="share of list-price lines")
        if n_all.get(pid, 0) < THIN_PRODUCT:
            notes.append(f"product {pid}: {int(n_all.get(pid, 0))} order lines (fewer than {THIN_PRODUCT}); simulated "
                         "with its share of lines, but its baseline and its response to promotions are thin")
        if e_cat is not None:
            c = cats_of[pid]
            if c in e_cat:
                row["elasticity"] = min(e_cat[c], -0.01)
                est.add("elasticity", e_cat[c], e_ci[c], len(lines), group=c, path=f"products.{j}.elasticity",
                        note=f"product group {c}: log-log Poisson regression with product fixed effects")
            else:
                row["elasticity"] = fallback_e
                est.add("elasticity", fallback_e, n=0, group=c, source="default", path=f"products.{j}.elasticity",
                        note=f"product group {c}: no price change in the window")
        out.append(row)
    if no_cost:
        notes.append(f"products: {len(no_cost)} products have no unit cost in the lines or the base scenario; their cost "
                     f"is {ratio:.0%} of the list price: margins of them are assumptions")
    return out


def _stockpiling(cfg, h, w, t0, t1, rf, dips, pan, est, notes, seed, by, e_fit, e_ci) -> PromoConfig:
    """Forward buying where the dip after promotions is visible: set ``stockpile`` and the
    elasticity so that the simulation on the log's calendar shows the log's lift and dip (both
    measured by the same regression on the segments with a dip only, in the log and in the
    simulation of those segments' customers)."""
    panel, segs, products = pan
    names = [s.name for s in cfg.segments]
    visible = {s: d for s, d in dips.items() if d[0] + 1.96 * d[1] < 0}
    for s, (b, se_) in dips.items():
        i = names.index(s)
        if s not in visible:
            est.add("stockpile", 0.0, n=int(panel["post"].sum()), group=s, source="fitted",
                    path=f"segments.{i}.stockpile",
                    note=f"no dip visible after promotions (units {100 * math.expm1(b):+.1f}%, CI to "
                         f"{100 * math.expm1(b + 1.96 * se_):+.1f}%): no forward buying")
    for s in names:
        if s not in dips:
            est.add("stockpile", 0.0, n=0, group=s, source="not fittable", path=f"segments.{names.index(s)}.stockpile",
                    note="too few days after promotions to look for a dip (14 needed)")
    if not visible or by != "segment":
        if visible:
            notes.append("stockpiling: a dip after promotions is visible, but the elasticity is fitted per product "
                         "group; forward buying is not set (fit by segment to set it)")
        return cfg
    # start: the dip's units bought ahead during the promotions
    promo_days = panel.groupby("s")["depth"].apply(lambda d: float((d > 0).sum()))
    post_days = panel.groupby("s")["post"].sum()
    theta = {}
    for s, (b, _se) in visible.items():
        k = segs.index(s)
        q = -math.expm1(b)
        s0 = float(np.clip(q * post_days[k] / max(promo_days[k], 1), 0.05, 3.0))
        theta[s] = [e_fit.get(s, cfg.segments[names.index(s)].elasticity), s0]
    vis_idx = [segs.index(s) for s in visible]
    rv = _reduced_form(panel[panel["s"].isin(vis_idx)], segs, products, {}, by, t1 - t0 >= 300)
    target = {segs[g]: (float(rv["beta"][j]), np.nan) for g, j in rv["el"].items()}
    for g, j in rv["dip"].items():
        target.setdefault(segs[g], (np.nan, np.nan))
        target[segs[g]] = (target[segs[g]][0], -math.expm1(float(rv["beta"][j])))
    promos = history_promotions(h, t0, t1)
    n_vis = sum(s.share for s in cfg.segments if s.name in visible) * cfg.customers
    sub = SIM_CUSTOMERS_MAX     # the regression is scale-free: more simulated customers, less simulation noise
    start_date = str(pd.Timestamp(t0, unit="D").date())

    def sim(th: dict) -> dict:
        """The reduced form of the log's calendar simulated for the visible segments' customers only
        (segments do not interact in the simulation but through approvers, whom promotions spare)."""
        c = _with(cfg, th)
        segs = [x for x in c.segments if x.name in visible]
        tot = sum(x.share for x in segs)
        segs = tuple(x.model_copy(update={"share": x.share / tot}) for x in segs)
        return _sim_reduced(c.model_copy(update={"customers": sub, "segments": segs, "start_date": start_date,
                                                 "promotions": promos}), t0, t1, h, w, seed, by)

    for _round in range(3):
        got = sim(theta)
        for s in visible:
            e_s, q_s = got.get(s, (np.nan, np.nan))
            if np.isfinite(e_s) and np.isfinite(target[s][0]):
                theta[s][0] = min(theta[s][0] + (target[s][0] - e_s), -0.01)
            if np.isfinite(q_s) and q_s > 0:
                theta[s][1] = float(np.clip(theta[s][1] * target[s][1] / q_s, 0.0, 5.0))
    cfg = _with(cfg, theta)
    # how much the lift the regression sees moves with forward buying (common random numbers):
    # the stockpile's uncertainty is part of the elasticity's net of it (delta method)
    bumped = {s: [e, sp + max(0.25, 0.25 * sp)] for s, (e, sp) in theta.items()}
    lo_sim, hi_sim = sim(theta), sim(bumped)
    widen = math.sqrt(1 + n_vis / sub)     # indirect inference: the simulation's noise adds to the log's
    for s, (e_s, s_s) in theta.items():
        i = names.index(s)
        b, se_ = visible[s]
        q, q_lo, q_hi = -math.expm1(b), -math.expm1(b + 1.96 * se_), -math.expm1(b - 1.96 * se_)
        f = s_s / q if q > 0 else 0.0
        slope = ((hi_sim.get(s, (np.nan,))[0] - lo_sim.get(s, (np.nan,))[0]) / (bumped[s][1] - s_s))
        slope = slope if np.isfinite(slope) else 0.0
        sp_half = (q_hi - q_lo) * f / 2
        row = next(r for r in est.rows if r["parameter"] == "elasticity" and r["group"] == s)
        shift = e_s - row["value"]
        half = widen * math.hypot((row["ci_high"] - row["ci_low"]) / 2, slope * sp_half)
        row.update(value=e_s, ci_low=e_s - half, ci_high=min(e_s + half, 0.0),
                   note=row["note"] + f"; net of forward buying ({shift:+.2f} from the promotion lift, by simulation "
                   f"of {sub:,} customers; CI with the forward buying's uncertainty and widened x{widen:.2f} for "
                   "the simulation's noise)")
        est.add("stockpile", s_s, (s_s - widen * (s_s - q_lo * f), s_s + widen * (q_hi * f - s_s)),
                int(post_days[segs.index(s)]), group=s,
                path=f"segments.{i}.stockpile",
                note=f"forward-bought share of an occasion's need: units {-100 * q:.1f}% in the weeks after promotions; "
                     "set by simulation on the log's calendar")
    notes.append(f"stockpiling: a dip after promotions is visible for {', '.join(sorted(visible))}; forward buying and "
                 "the elasticity net of it are set by simulating the log's own promotions (3 rounds)")
    return cfg


def _with(cfg: PromoConfig, theta: dict) -> PromoConfig:
    segs = [s.model_copy(update={"elasticity": theta[s.name][0], "stockpile": theta[s.name][1]})
            if s.name in theta else s for s in cfg.segments]
    return cfg.model_copy(update={"segments": tuple(segs)})


def _sim_reduced(cfg: PromoConfig, t0: int, t1: int, h: OrderHistory, w: pd.DataFrame, seed, by) -> dict:
    """The reduced form of a simulation of ``[t0, t1)``: per segment its elasticity and dip share."""
    res = simulate_promo(cfg, np.random.SeedSequence([int(seed), 31]), horizon_days=t1 - t0, keep_events=False)
    sl = sim_lines(res.table, cfg, t0)
    hs = OrderHistory(lines=sl, promotions=h.promotions, exclusions=h.exclusions, notes=[], has=h.has)
    post = _post_days(sl, t1 - t0)
    panel, segs, products = _panel(hs, sl, t0, t1, post)
    cats = {p.product_id: p.category for p in cfg.products}
    rf = _reduced_form(panel, segs, products, cats, by, t1 - t0 >= 300)
    out = {}
    for g, j in rf["el"].items():
        out[segs[g]] = [float(rf["beta"][j]), np.nan]
    for s, j in rf["dip"].items():
        out.setdefault(segs[s], [np.nan, np.nan])[1] = -math.expm1(float(rf["beta"][j]))
    return {k: tuple(v) for k, v in out.items()}


def sim_lines(table: pd.DataFrame, cfg: PromoConfig, t0: int) -> pd.DataFrame:
    """A simulation's orders as :func:`load_order_history` reads an export (lost deals and lines
    of no unit are in no log; free goods are lines of their own)."""
    o = table[~table["lost"].to_numpy(bool)]
    price = {p.product_id: p.list_price for p in cfg.products}
    cat = {p.product_id: p.category for p in cfg.products}
    unit = o["product_id"].map(price).to_numpy(float)
    paid = o[o["units"] > 0]
    fr = o[o["free_units"] > 0]
    disc = paid["discount"].to_numpy(float) / paid["list_amount"].to_numpy(float)
    kind = np.where(paid["promotions"].to_numpy(object) != "", "promo",
                    np.where(disc > MIN_DISCOUNT, "deal", "list"))
    a = pd.DataFrame({"order_id": paid["order_id"].to_numpy(), "day": paid["day"].to_numpy() + t0,
                      "customer_id": paid["customer"].to_numpy(), "segment": paid["segment"].to_numpy(),
                      "product_id": paid["product_id"].to_numpy(), "qty": paid["units"].to_numpy(float),
                      "list_amount": paid["list_amount"].to_numpy(float), "net": paid["net_amount"].to_numpy(float),
                      "unit_price": unit[(o["units"] > 0).to_numpy()], "promo_id": paid["promotions"].to_numpy(), "kind": kind})
    f_unit = unit[(o["free_units"] > 0).to_numpy()]
    b = pd.DataFrame({"order_id": fr["order_id"].to_numpy(), "day": fr["day"].to_numpy() + t0,
                      "customer_id": fr["customer"].to_numpy(), "segment": fr["segment"].to_numpy(),
                      "product_id": fr["product_id"].to_numpy(), "qty": fr["free_units"].to_numpy(float),
                      "list_amount": fr["free_units"].to_numpy(float) * f_unit, "net": 0.0, "unit_price": f_unit,
                      "promo_id": fr["promotions"].to_numpy(), "kind": "free"})
    out = pd.concat([a, b], ignore_index=True)
    out["category"] = out["product_id"].map(cat)
    out["unit_cost"] = np.nan
    return out


def history_promotions(h: OrderHistory, t0: int, t1: int) -> tuple:
    """The log's promotions that run in ``[t0, t1)`` as :class:`~crmsim.cpq.promotions.Promotion`
    rules: each an item discount of its depth per product (free goods at their value).

    Examples
    --------
    >>> import pandas as pd
    >>> from importlib.resources import files
    >>> from crmsim.errors import read_toml
    >>> EX = files("crmsim") / "examples"
    >>> h = load_order_history(pd.read_csv(EX / "shop_order_lines.csv", keep_default_na=False),
    ...                        columns=read_toml(EX / "shop_map.toml")["columns"])
    >>> rules = history_promotions(h, int(h.lines["day"].min()), int(h.lines["day"].max()) + 1)
    >>> len(rules) > 0, rules[0].kind
    (True, 'item')
    """
    from crmsim.cpq.promotions import Promotion

    out = []
    p = h.promotions[(h.promotions["last_day"] >= t0) & (h.promotions["first_day"] < t1)]
    for (pid, depth), g in p.groupby(["promo_id", p["depth"].round(3)], sort=True):
        out.append(Promotion(promo_id=f"{pid}" if len(p[p["promo_id"] == pid]["depth"].round(3).unique()) == 1
                             else f"{pid}:{depth:g}", kind="item", percent_off=float(depth),
                             product_id=tuple(sorted(g["product_id"])),
                             valid_from=str(pd.Timestamp(int(g["first_day"].iloc[0]), unit="D").date()),
                             valid_to=str(pd.Timestamp(int(g["last_day"].iloc[0]), unit="D").date())))
    return tuple(out)


def replan(promotions, base_start, start, products: dict[str, str]) -> tuple[tuple, list[str]]:
    """The base scenario's promotion plan moved to a calibrated scenario: each promotion's days
    moved by whole weeks so that it starts as many days after ``start`` as it started after
    ``base_start`` (on the same weekday), and a promotion that names a product or a product group
    not in ``products`` (``product_id -> category``, your catalog) left out, stated. Returns the
    promotions (dicts or :class:`~crmsim.cpq.promotions.Promotion`, as given) and the notes.

    Examples
    --------
    >>> plan = [{"promo_id": "spring", "kind": "item", "percent_off": 0.2, "category": ["core"],
    ...          "valid_from": "2025-03-03", "valid_to": "2025-03-30"},
    ...         {"promo_id": "prem", "kind": "item", "percent_off": 0.15, "product_id": ["premium"]}]
    >>> kept, notes = replan(plan, "2025-01-06", "2025-08-18", {"A": "core"})
    >>> kept[0]["valid_from"], kept[0]["valid_to"], len(kept)
    ('2025-10-13', '2025-11-09', 1)
    >>> notes[0]
    "promotion prem: left out of the plan; it names product 'premium', not in your order lines"
    """
    shift = int(round((day_number(start) - day_number(base_start)) / 7)) * 7
    cats = set(products.values())
    kept, notes = [], []
    for pr in promotions:
        d = pr.model_dump() if hasattr(pr, "model_dump") else dict(pr)
        named = [("product", x) for f in ("product_id", "bundle", "benefit_product_id") for x in (d.get(f) or ())]
        named += [("product", d["free_product"])] if d.get("free_product") else []
        named += [("product group", x) for f in ("category", "benefit_category") for x in (d.get(f) or ())]
        missing = [(k, x) for k, x in named if x not in (products if k == "product" else cats)]
        if missing:
            k, x = missing[0]
            notes.append(f"promotion {d['promo_id']}: left out of the plan; it names {k} '{x}', not in your order lines")
            continue
        for f in ("valid_from", "valid_to"):
            if d.get(f):
                d[f] = str((pd.Timestamp(d[f]) + pd.Timedelta(days=shift)).date())
        kept.append(type(pr).model_validate(d) if hasattr(pr, "model_dump") else d)
    return tuple(kept), notes


def replan_sweeps(sweeps: list[dict], base_start, cal: PromoCalibration, history: OrderHistory) -> tuple[list[dict], list[str]]:
    """The base scenario's sweeps (as dicts) for a calibrated scenario: every ``promotions``
    variant moved and filtered by :func:`replan` (a variant left with none of its promotions is
    left out, stated) and, beside them, the log's last promotion run again at the plan's first
    promotion's place (``as last time: ID``), so the plan is compared with what you did.

    Examples
    --------
    >>> import pandas as pd
    >>> from importlib.resources import files
    >>> from crmsim.errors import read_toml
    >>> from crmsim.experiments.scenario import load_scenario
    >>> EX = files("crmsim") / "examples"
    >>> h = load_order_history(pd.read_csv(EX / "shop_order_lines.csv", keep_default_na=False),
    ...                        columns=read_toml(EX / "shop_map.toml")["columns"])
    >>> sc = load_scenario(files("crmsim") / "scenarios" / "promotions.toml")
    >>> cal = PromoCalibration(config=sc.baseline, estimates=pd.DataFrame(), provenance=pd.DataFrame())
    >>> sweeps, notes = replan_sweeps([s.model_dump(mode="json") for s in sc.sweep], sc.baseline.start_date, cal, h)
    >>> len(sweeps) >= 1, isinstance(notes, list)
    (True, True)
    """
    cfg = cal.config
    products = {p.product_id: p.category for p in cfg.products}
    out, notes = [], []
    for sw in sweeps:
        sw = {**sw, "grid": dict(sw["grid"]), "labels": dict(sw.get("labels", {}))}
        if "promotions" in sw["grid"]:
            values, labels = [], []
            names = sw["labels"].get("promotions") or [f"#{k}" for k in range(len(sw["grid"]["promotions"]))]
            first = []
            for v, name in zip(sw["grid"]["promotions"], names):
                kept, n = replan(v, base_start, cfg.start_date, products)
                notes += n
                if v and not kept:
                    notes.append(f"sweep '{sw.get('name') or 'promotions'}': variant '{name}' left out (none of its "
                                 "promotions applies to your catalog)")
                    continue
                values.append(list(kept))
                labels.append(name)
                first += [pd.Timestamp(p["valid_from"]) for p in kept if p.get("valid_from")]
            notes += _threshold_notes(values, history)
            entry, label = _last_time(history, cfg.start_date, min(first) if first else None)
            if entry is not None:
                values.append([entry])
                labels.append(label)
            elif label:
                notes.append(label)
            if not values:
                notes.append(f"sweep '{sw.get('name') or 'promotions'}': left out (no variant applies)")
                continue
            sw["grid"]["promotions"], sw["labels"]["promotions"] = values, labels
        out.append(sw)
    return out, notes


def _threshold_notes(values: list, h: OrderHistory) -> list[str]:
    """For every spend threshold in the plan, the share of your orders that reach it (a threshold
    written for another catalog's prices may be reached by nobody)."""
    orders = h.lines.groupby("order_id")["list_amount"].sum().to_numpy(float)
    out = []
    for v in values:
        for p in v:
            if p.get("kind") in ("threshold", "cumulative") and p.get("min_spend") and len(orders):
                share = float((orders >= p["min_spend"]).mean())
                out.append(f"promotion {p['promo_id']}: {share:.1%} of your orders reach its spend of "
                           f"{p['min_spend'] / 100:,.2f} (median order {np.median(orders) / 100:,.2f})")
    return out


def _last_time(h: OrderHistory, start, at) -> tuple[dict | None, str]:
    """The log's last promotion as a plan entry, starting at ``at`` (default: 8 weeks after
    ``start``), as long as it ran, with its label; or ``None`` and why it is not added ('' when
    the log has no promotion)."""
    if not len(h.promotions):
        return None, ""
    pr = h.promotions.sort_values(["first_day", "promo_id"])
    pid = pr["promo_id"].iloc[-1]
    rows = pr[pr["promo_id"] == pid]
    a, b = int(rows["first_day"].min()), int(rows["last_day"].max())
    rules = history_promotions(h, a, b + 1)
    rules = [r for r in rules if r.promo_id.split(":")[0] == str(pid)]
    if len(rules) != 1:
        return None, (f"plan: your last promotion {pid} is not added as 'as last time': it gave {len(rules)} "
                      "different depths on its items, which is not one plan entry")
    at = pd.Timestamp(at) if at is not None else pd.Timestamp(start) + pd.Timedelta(days=56)
    d = rules[0].model_dump(exclude_defaults=True)
    d.update(promo_id=f"{pid}_again", valid_from=str(at.date()), valid_to=str((at + pd.Timedelta(days=b - a)).date()))
    what = ", ".join(sorted(rows["category"].astype(str).unique()))
    return d, f"as last time: {pid} ({rules[0].percent_off:.0%} off {what}, {b - a + 1} days)"


# ----------------------------------------------------------------------------- validation

def promo_uplift(lines: pd.DataFrame, promo: pd.DataFrame, weekday_weights, pre_days: int = PRE_DAYS) -> dict[str, float]:
    """Uplift per product group of one promotion (``promo``: its rows of
    :attr:`OrderHistory.promotions`): paid units (list and promotion lines of every segment) of
    its products during it, over the units the ``pre_days`` before it would give on its days at
    the weekday weights, minus 1; ``(all)`` for its products together.

    Examples
    --------
    >>> import pandas as pd
    >>> from importlib.resources import files
    >>> from crmsim.errors import read_toml
    >>> EX = files("crmsim") / "examples"
    >>> h = load_order_history(pd.read_csv(EX / "shop_order_lines.csv", keep_default_na=False),
    ...                        columns=read_toml(EX / "shop_map.toml")["columns"])
    >>> pid = h.promotions["promo_id"].iloc[0]
    >>> u = promo_uplift(h.lines, h.promotions[h.promotions["promo_id"] == pid], [1.0] * 7)
    >>> pid, {k: round(float(v), 2) for k, v in u.items()}       # 20% off snacks: about a third more units
    ('AUG-SNK20', {'uplift.Snacks': 0.36, 'uplift.(all)': 0.36})
    """
    a, b = int(promo["first_day"].iloc[0]), int(promo["last_day"].iloc[0])
    ww = np.asarray(weekday_weights, float)
    wd = lambda d: ww[(np.asarray(d) + 3) % 7]  # noqa: E731
    pre_w = wd(np.arange(a - pre_days, a)).sum()
    on_w = wd(np.arange(a, b + 1)).sum()
    x = lines[lines["kind"].isin(["list", "promo"]) & lines["product_id"].isin(set(promo["product_id"]))]
    out = {}
    cats = sorted(promo["category"].unique())
    for c in [*cats, "(all)"]:
        q = x if c == "(all)" else x[x["category"] == c]
        pre = float(q.loc[(q["day"] >= a - pre_days) & (q["day"] < a), "qty"].sum())
        on = float(q.loc[(q["day"] >= a) & (q["day"] <= b), "qty"].sum())
        out[f"uplift.{c}"] = on / (pre / pre_w * on_w) - 1 if pre > 0 else np.nan
    return out


def promo_split_validation(history: OrderHistory, base: PromoConfig | None = None, *, holdout: str | None = None,
                           replications: int = 5, seed=0, progress=None) -> dict:
    """Hold out a past promotion (``holdout``: its id; default: the last one with at least 8
    weeks of the log before its baseline weeks), fit on the log before its 4 baseline weeks,
    simulate those weeks and the promotion ``replications`` times on the fitted config with the
    log's own promotions, and compare :func:`promo_uplift`. Returns ``table``, ``promotion``,
    ``split`` (the first day not fitted), ``calibration``, ``simulated`` and ``observed``.

    Examples
    --------
    >>> import pandas as pd
    >>> from importlib.resources import files
    >>> from crmsim.errors import read_toml
    >>> EX = files("crmsim") / "examples"
    >>> h = load_order_history(pd.read_csv(EX / "shop_order_lines.csv", keep_default_na=False),
    ...                        columns=read_toml(EX / "shop_map.toml")["columns"])
    >>> from crmsim.experiments.scenario import load_scenario
    >>> val = promo_split_validation(h, load_scenario(files("crmsim") / "scenarios" / "promotions.toml").baseline,
    ...                              replications=2, seed=1)
    >>> sorted(val)[:4]
    ['calibration', 'observed', 'promotion', 'simulated']
    """
    h = history
    t0 = int(h.lines["day"].min())
    pr = h.promotions
    if not len(pr):
        raise InputError("order lines: no promotion in the log; there is no promotion to hold out")
    firsts = pr.groupby("promo_id")["first_day"].min().sort_values()
    if holdout is None:
        ok = firsts[firsts - PRE_DAYS - t0 >= 56]
        if not len(ok):
            raise InputError(f"no promotion starts {56 + PRE_DAYS} days or more after the log's first day; the check "
                             "needs 8 weeks to fit and 4 weeks of baseline before the promotion it holds out")
        holdout = str(ok.index[-1])
    if holdout not in firsts.index:
        raise InputError(f"holdout: no promotion '{holdout}' in the log (it has {', '.join(map(str, firsts.index[:10]))})")
    p = pr[pr["promo_id"] == holdout]
    a, b = int(p["first_day"].iloc[0]), int(p["last_day"].iloc[0])
    ts = a - PRE_DAYS
    if ts - t0 < 56:
        raise InputError(f"promotion {holdout} starts {a - t0} days into the log; the check needs 8 weeks to fit "
                         f"and {PRE_DAYS} days of baseline before it")
    cal = calibrate_promo(h, base, start=pd.Timestamp(t0, unit="D"), end=pd.Timestamp(ts, unit="D"), seed=seed)
    cfg = cal.config.model_copy(update={"start_date": str(pd.Timestamp(ts, unit="D").date()),
                                        "promotions": history_promotions(h, ts, b + 1)})
    obs = promo_uplift(h.lines, p, cfg.weekday_weights)
    rows = []
    for r in range(replications):
        res = simulate_promo(cfg, np.random.SeedSequence([int(seed), r]), horizon_days=b + 1 - ts, keep_events=False)
        rows.append(promo_uplift(sim_lines(res.table, cfg, ts), p, cfg.weekday_weights))
        if progress:
            progress(r + 1, replications)
    sim = pd.DataFrame(rows)
    return {"table": held_out_table(obs, sim), "promotion": holdout, "split": pd.Timestamp(ts, unit="D"),
            "calibration": cal, "simulated": sim, "observed": obs}
