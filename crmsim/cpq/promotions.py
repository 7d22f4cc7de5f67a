"""Promotions (FEATURES CPQ): rules that give a benefit on an order, with budgets, stacking and
cost/ROI accounting. Money in minor units.

Kinds (:class:`Promotion` ``kind``):

- ``threshold``: an order whose eligible spend reaches ``min_spend`` saves ``amount_off`` (once, or
  once per full ``min_spend`` with ``repeat``) or ``percent_off`` of the eligible spend;
- ``cumulative``: once a customer's eligible spend within the promotion's window (this order
  included) reaches ``min_spend``, eligible lines get ``percent_off``;
- ``item``: eligible lines get ``percent_off`` or ``amount_off`` per unit, from ``min_qty`` units;
- ``bundle``: every complete set of ``bundle`` (product -> units) costs ``bundle_price`` (or gets
  ``percent_off``);
- ``free_goods``: buy ``buy`` get ``get`` free (of ``free_product``, default the same product).
  ``free_mode="added"``: the ordered units are paid and the free units are added; with
  ``recursive`` the free units count towards further free units (buy 3 get 1 on 7 units: 2 free,
  3 recursive). ``free_mode="in_cart"``: the ordered units include the free ones (every
  ``buy + get`` units, ``get`` are free).

Budgets: a promotion's ``budget`` caps its total cost (discounts at price, free goods at unit
cost). When the rest of the budget does not cover an order's benefit, ``on_exhaustion`` decides:
``partial`` gives what is left, ``skip`` gives nothing; either way it is recorded with the reason.

Stacking (:class:`PromotionPolicy`): ``all`` applies every eligible promotion in order of
``priority`` (then listed order), each on the amount left by the previous ones; ``best`` applies
only the one with the largest benefit. An ``exclusive`` promotion never combines: it applies alone
if its benefit beats the combination of the others, else it is left out (recorded).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from crmsim.config import Config
from crmsim.cpq.scope import check_window, scope_mask

__all__ = ["Promotion", "PromotionPolicy", "PromotionEngine", "PromotionResult", "apply_promotions",
           "free_units", "promotion_roi", "break_even_lift", "SCOPE_FIELDS"]

#: Order-line fields a promotion's scope may name.
SCOPE_FIELDS = ("product_id", "category", "customer_id", "customer_grade", "region", "channel")


class Promotion(Config):
    """One promotion: its ``kind`` (below), validity window, scope, condition and benefit, and
    its budget. Every field is commented where it is declared; a promotion whose fields do not fit
    its kind is refused with the reason.

    Examples
    --------
    >>> import pandas as pd
    >>> lines = pd.DataFrame({"order_id": ["o1", "o1", "o2"], "customer_id": ["c1", "c1", "c2"],
    ...                       "product_id": ["p1", "p2", "p1"], "qty": [3, 1, 1], "amount": [30_000, 5_000, 10_000],
    ...                       "date": ["2025-03-01"] * 3})
    >>> promos = [Promotion(promo_id="t100", kind="threshold", min_spend=20_000, amount_off=2_000),
    ...           Promotion(promo_id="b3g1", kind="free_goods", product_id=("p1",), buy=3, get=1)]
    >>> r = apply_promotions(lines, promos, cost={"p1": 6_000})
    >>> r.applied[["order_id", "promo_id", "discount", "free_units", "cost"]].values.tolist()
    [['o1', 't100', 2000, 0, 2000], ['o1', 'b3g1', 0, 1, 6000]]
    """

    promo_id: str
    #: threshold (order spend / units), cumulative (a customer's spend over orders), item (per line),
    #: bundle (a set of products), free_goods (buy N get M)
    kind: Literal["threshold", "cumulative", "item", "bundle", "free_goods"]
    priority: int = 0   # higher first when promotions are stacked
    exclusive: bool = False   # never combined with another promotion
    valid_from: str | None = None   # first day (ISO date)
    valid_to: str | None = None              # last day, inclusive
    product_id: tuple[str, ...] = ()   # scope: these products (empty: any)
    category: tuple[str, ...] = ()   # scope: these categories
    customer_id: tuple[str, ...] = ()   # scope: these customers
    customer_grade: tuple[str, ...] = ()   # scope: these customer grades
    region: tuple[str, ...] = ()   # scope: these regions
    channel: tuple[str, ...] = ()   # scope: these sales channels
    min_spend: int = Field(default=0, ge=0)   # threshold / cumulative: spend in scope needed (cents)
    min_qty: float = Field(default=0, ge=0)   # item: units on a line; threshold: units in scope
    amount_off: int = Field(default=0, ge=0)   # cents off (item: per unit)
    percent_off: float = Field(default=0.0, ge=0, le=1)   # share off
    repeat: bool = False   # threshold: amount_off once per multiple of the threshold
    bundle: dict[str, int] = {}   # bundle: product -> units in one set
    bundle_price: int | None = Field(default=None, ge=0)   # bundle: price of one set (cents)
    buy: int = Field(default=0, ge=0)   # free_goods: units bought
    get: int = Field(default=0, ge=0)   # free_goods: units given for them
    free_product: str | None = None   # free_goods: the product given (default: the one bought)
    #: free_goods: ``added`` (extra units on the order) or ``in_cart`` (units in the order are free)
    free_mode: Literal["added", "in_cart"] = "added"
    #: what each "free" unit costs the customer (minor units; ERPNext's free item rate): 0 = free
    free_item_rate: int = Field(default=0, ge=0)
    recursive: bool = False   # free_goods added: free units count toward more free units
    budget: int | None = Field(default=None, ge=0)   # the promotion's budget (cents of cost)
    on_exhaustion: Literal["partial", "skip"] = "partial"   # when the budget runs out: give what is left, or nothing
    #: threshold / cumulative: the benefit goes to these products or categories instead of the
    #: lines that met the condition ("buy A for 200, get 10% on B")
    benefit_product_id: tuple[str, ...] = ()
    benefit_category: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _check(self) -> Promotion:
        k, p = self.kind, self.promo_id
        check_window(self.valid_from, self.valid_to, f"promotion {p}")
        if k == "threshold" and self.min_spend <= 0 and self.min_qty <= 0:
            raise ValueError(f"promotion {p}: a threshold promotion needs min_spend > 0 or min_qty > 0 (units)")
        if k == "cumulative" and self.min_spend <= 0:
            raise ValueError(f"promotion {p}: a cumulative promotion needs min_spend > 0")
        if (self.benefit_product_id or self.benefit_category) and k not in ("threshold", "cumulative"):
            raise ValueError(f"promotion {p}: benefit_product_id / benefit_category apply to threshold and "
                             f"cumulative promotions, not {k}")
        if k in ("threshold", "item") and not (self.amount_off or self.percent_off):
            raise ValueError(f"promotion {p}: set amount_off or percent_off")
        if k == "cumulative" and not self.percent_off:
            raise ValueError(f"promotion {p}: a cumulative promotion needs percent_off")
        if k == "bundle" and (not self.bundle or (self.bundle_price is None and not self.percent_off)):
            raise ValueError(f"promotion {p}: a bundle needs `bundle` (product -> units) and bundle_price or percent_off")
        if k == "bundle" and any(q <= 0 for q in self.bundle.values()):
            raise ValueError(f"promotion {p}: bundle units must be > 0")
        if k == "free_goods" and (self.buy < 1 or self.get < 1):
            raise ValueError(f"promotion {p}: free goods need buy >= 1 and get >= 1")
        if k == "free_goods" and self.recursive and self.free_mode == "in_cart":
            raise ValueError(f"promotion {p}: recursive applies to free_mode 'added' only")
        return self


class PromotionPolicy(Config):
    """How promotions combine on an order: ``all`` eligible ones stack (by ``priority``, an
    ``exclusive`` one alone), or only the ``best`` for the customer.

    Examples
    --------
    >>> import pandas as pd
    >>> lines = pd.DataFrame({"order_id": ["o1", "o1", "o2"], "customer_id": ["c1", "c1", "c2"],
    ...                       "product_id": ["p1", "p2", "p1"], "qty": [3, 1, 1], "amount": [30_000, 5_000, 10_000],
    ...                       "date": ["2025-03-01"] * 3})
    >>> promos = [Promotion(promo_id="t100", kind="threshold", min_spend=20_000, amount_off=2_000),
    ...           Promotion(promo_id="b3g1", kind="free_goods", product_id=("p1",), buy=3, get=1)]
    >>> r = apply_promotions(lines, promos, policy=PromotionPolicy(stacking="best"), cost={"p1": 6_000})
    >>> r.applied[["order_id", "promo_id"]].values.tolist(), r.skipped[["promo_id", "reason"]].values.tolist()
    ([['o1', 'b3g1']], [['t100', 'not combined (best stacking): b3g1 gave more'], ['t100', 'min_spend not reached: spend 10000 of 20000'], ['b3g1', 'fewer than 3 units of a product (buy 3 get 1)']])
    """

    stacking: Literal["all", "best"] = "all"


def free_units(qty: int, buy: int, get: int, *, mode: str = "added", recursive: bool = False) -> int:
    """Free units for ``qty`` ordered units under buy-``buy``-get-``get``.

    >>> free_units(7, 3, 1), free_units(7, 3, 1, recursive=True), free_units(7, 3, 1, mode="in_cart")
    (2, 3, 1)
    """
    qty = int(qty)
    if mode == "in_cart":
        full, rest = divmod(qty, buy + get)
        return full * get + max(0, rest - buy)
    free = (qty // buy) * get
    if not recursive:
        return free
    total, pool = free, qty % buy + free
    while pool >= buy:           # free units qualify again
        new = (pool // buy) * get
        total += new
        pool = pool % buy + new
    return total


def break_even_lift(discount: float, margin: float) -> float:
    """Volume increase a price cut of ``discount`` needs to keep gross margin at a gross margin
    share ``margin``: d / (m - d) (Nagle & Holden; REFERENCES.md). 20% off at 40% margin: +100%.

    >>> break_even_lift(0.2, 0.4)
    1.0
    """
    if discount >= margin:
        return float("inf")
    return discount / (margin - discount)


def promotion_roi(margin, baseline_margin, cost):
    """ROI of a promotion: (gross margin with it - gross margin without it) / its cost, the
    margins net of the promotion's own discounts and free goods. Works on numbers or Series.

    >>> promotion_roi(130_000, 100_000, 20_000)
    1.5
    """
    return (margin - baseline_margin) / cost


def _whole_cents(x: np.ndarray) -> np.ndarray:
    """Round a discount spread over lines to whole minor units without losing a cent: the lines
    with the largest remainders take the cents left over (largest-remainder rounding)."""
    low = np.floor(x)
    short = int(np.floor(x.sum() + 0.5) - low.sum())
    if short > 0:
        low[np.argsort(-(x - low), kind="stable")[:short]] += 1
    return low


@dataclass
class PromotionResult:
    """``lines``: the order lines with ``promo_discount`` (minor units, allocated to the lines) and
    ``net_amount``, plus one appended line per free good (``promo_id`` set, ``free=True``);
    ``applied``: one row per promotion given on an order (benefit, free units, cost); ``skipped``:
    eligible promotions not given, with the reason; ``budgets``: budget, used and left per promotion.

    Examples
    --------
    >>> import pandas as pd
    >>> lines = pd.DataFrame({"order_id": ["o1", "o1", "o2"], "customer_id": ["c1", "c1", "c2"],
    ...                       "product_id": ["p1", "p2", "p1"], "qty": [3, 1, 1], "amount": [30_000, 5_000, 10_000],
    ...                       "date": ["2025-03-01"] * 3})
    >>> promos = [Promotion(promo_id="t100", kind="threshold", min_spend=20_000, amount_off=2_000),
    ...           Promotion(promo_id="b3g1", kind="free_goods", product_id=("p1",), buy=3, get=1)]
    >>> r = apply_promotions(lines, promos, cost={"p1": 6_000})
    >>> r.lines[["order_id", "product_id", "qty", "net_amount", "free"]].values.tolist()
    [['o1', 'p1', 3, 28286, False], ['o1', 'p2', 1, 4714, False], ['o2', 'p1', 1, 10000, False], ['o1', 'p1', 1, 0, True]]
    >>> r.budgets.columns.tolist()
    ['promo_id', 'budget', 'used', 'left']
    """

    lines: pd.DataFrame
    applied: pd.DataFrame
    skipped: pd.DataFrame
    budgets: pd.DataFrame


@dataclass
class PromotionEngine:
    """Applies promotions order by order, keeping budgets and cumulative spend between orders.

    ``cost`` maps a product to its unit cost (free goods are costed at it; at the line's unit
    price where unknown).

    Examples
    --------
    >>> import pandas as pd
    >>> lines = pd.DataFrame({"order_id": ["o1", "o1", "o2"], "customer_id": ["c1", "c1", "c2"],
    ...                       "product_id": ["p1", "p2", "p1"], "qty": [3, 1, 1], "amount": [30_000, 5_000, 10_000],
    ...                       "date": ["2025-03-01"] * 3})
    >>> promos = [Promotion(promo_id="t100", kind="threshold", min_spend=20_000, amount_off=2_000),
    ...           Promotion(promo_id="b3g1", kind="free_goods", product_id=("p1",), buy=3, get=1)]
    >>> eng = PromotionEngine([Promotion(promo_id="t", kind="threshold", min_spend=20_000, amount_off=2_000, budget=3_000)])
    >>> o1 = lines[lines["order_id"] == "o1"]
    >>> [int(eng.apply(o1, order_id=k, customer="c1", date="2025-03-01")[0].sum()) for k in ("a", "b")]    # the budget runs out
    [2000, 1000]
    """

    promotions: list[Promotion]
    policy: PromotionPolicy = field(default_factory=PromotionPolicy)
    cost: dict[str, int] = field(default_factory=dict)
    used: dict[str, int] = field(default_factory=dict)
    spend: dict[tuple[str, str], int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        ids = [p.promo_id for p in self.promotions]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"promotions listed twice: {dup}")
        self._order = sorted(range(len(self.promotions)), key=lambda k: (-self.promotions[k].priority, k))
        day = lambda x: np.datetime64(pd.Timestamp(x), "D") if x else None  # noqa: E731
        self._window = [(day(p.valid_from), day(p.valid_to)) for p in self.promotions]

    def left(self, p: Promotion) -> float:
        return np.inf if p.budget is None else p.budget - self.used.get(p.promo_id, 0)

    def active(self, date) -> bool:
        """Whether any promotion's window covers ``date`` (a cheap pre-check)."""
        d = np.datetime64(pd.Timestamp(date), "D")
        return any((lo is None or d >= lo) and (hi is None or d <= hi) for lo, hi in self._window)

    def _benefit(self, p: Promotion, L: dict, net: np.ndarray, ok: np.ndarray, customer: str):
        """(discount per line, [(free product, units, unit price)]) before the budget."""
        n = len(net)
        disc = np.zeros(n)
        free: list[tuple[str, int, float]] = []
        qty = L["qty"]
        prod = L["product_id"]
        spend = float(net[ok].sum())
        target = self._target(p, L, ok)
        t_net = float(net[target].sum())
        if p.kind == "threshold":
            if spend >= p.min_spend and float(qty[ok].sum()) >= p.min_qty and t_net > 0:
                times = (spend // p.min_spend if p.min_spend else float(qty[ok].sum()) // p.min_qty) if p.repeat else 1
                total = p.percent_off * t_net + p.amount_off * times
                disc[target] = min(total, t_net) * net[target] / t_net
        elif p.kind == "cumulative":
            before = self.spend.get((p.promo_id, customer), 0)
            if before + spend >= p.min_spend:
                disc[target] = p.percent_off * net[target]
        elif p.kind == "item":
            hit = ok & (qty >= p.min_qty)
            disc[hit] = np.minimum(net[hit], p.percent_off * net[hit] + p.amount_off * qty[hit])
        elif p.kind == "bundle":
            in_b = ok & np.isin(prod, list(p.bundle))
            sets = min(int(qty[in_b & (prod == k)].sum() // v) for k, v in p.bundle.items())
            if sets:
                unit = np.divide(net, qty, out=np.zeros(n), where=qty > 0)
                w = np.zeros(n)
                for k, v in p.bundle.items():
                    m = in_b & (prod == k)
                    w[m] = unit[m] * v * sets * qty[m] / qty[m].sum()
                list_value = float(w.sum())
                saving = (list_value - p.bundle_price * sets) if p.bundle_price is not None else p.percent_off * list_value
                if saving > 0:
                    disc = saving * w / list_value
        elif p.kind == "free_goods":
            for pid in dict.fromkeys(prod[ok].tolist()):
                m = ok & (prod == pid)
                q = qty[m].sum()
                k = free_units(int(q), p.buy, p.get, mode=p.free_mode, recursive=p.recursive)
                if not k:
                    continue
                unit = float(net[m].sum() / q)
                if p.free_mode == "in_cart":  # the free units are in the order: a discount on them
                    disc[m] += k * max(unit - p.free_item_rate, 0.0) * qty[m] / q
                else:
                    free.append((p.free_product or pid, k, unit))
        return np.minimum(disc, net), free

    @staticmethod
    def _target(p: Promotion, L: dict, ok: np.ndarray) -> np.ndarray:
        """The lines a promotion's benefit goes to: its benefit products or categories (within the
        customer scope), or the lines that met its condition."""
        if not (p.benefit_product_id or p.benefit_category):
            return ok
        n = len(ok)
        hit = np.zeros(n, dtype=bool)
        if p.benefit_product_id:
            hit |= np.isin(L["product_id"], list(p.benefit_product_id))
        if p.benefit_category and "category" in L:
            hit |= np.isin(L["category"], list(p.benefit_category))
        return hit & scope_mask(p, L, SCOPE_FIELDS[2:], n)

    def _why_not(self, p: Promotion, L: dict, base: np.ndarray, ok: np.ndarray, customer: str) -> str:
        """Why a promotion in scope and in its window gives nothing on this order."""
        spend, qty, prod = float(base[ok].sum()), L["qty"], L["product_id"]
        target = self._target(p, L, ok)
        if p.kind in ("threshold", "cumulative") and (p.benefit_product_id or p.benefit_category) and not target.any():
            return (f"no line of the benefit products/categories "
                    f"{sorted([*p.benefit_product_id, *p.benefit_category])} in the order")
        if p.kind == "threshold":
            if spend < p.min_spend:
                return f"min_spend not reached: spend {int(spend)} of {p.min_spend}"
            if float(qty[ok].sum()) < p.min_qty:
                return f"min_qty not reached: {float(qty[ok].sum()):g} units of {p.min_qty:g}"
        if p.kind == "cumulative":
            before = self.spend.get((p.promo_id, customer), 0)
            return f"cumulative spend not reached: {int(before + spend)} of {p.min_spend}"
        if p.kind == "item":
            return f"min_qty not reached on any line: at most {float(qty[ok].max()):g} units of {p.min_qty:g}"
        if p.kind == "bundle":
            short = {k: v for k, v in p.bundle.items() if float(qty[ok & (prod == k)].sum()) < v}
            if short:
                return f"bundle incomplete: needs {short}"
            return "the bundle price is not below the lines' price"
        if p.kind == "free_goods":
            return f"fewer than {p.buy} units of a product (buy {p.buy} get {p.get})"
        return "no benefit on this order"

    def apply(self, order, *, order_id=None, customer: str = "", date=None, commit: bool = True,
              explain: bool = True):
        """Apply the promotions to one order's lines (a DataFrame or a dict of arrays:
        ``product_id, qty, amount`` + scope fields). Returns (discount per line, free-good
        lines, applied rows, skipped rows). ``commit=False`` prices the order without using
        budgets or adding to cumulative spend (what a customer sees before ordering);
        ``explain=False`` leaves out the reasons of promotions that gave nothing (a simulation
        that does not read them)."""
        if isinstance(order, pd.DataFrame):
            L = {c: order[c].to_numpy() for c in order.columns}
        else:
            L = {c: np.asarray(v) for c, v in order.items()}
        L["qty"] = L["qty"].astype(float)
        d = None if date is None or pd.isna(date) else (
            date if isinstance(date, np.datetime64) and date.dtype == "datetime64[D]" else np.datetime64(pd.Timestamp(date), "D"))
        base = L["amount"].astype(float)
        cands = []
        for k in self._order:
            p = self.promotions[k]
            lo, hi = self._window[k]
            if d is not None and ((lo is not None and d < lo) or (hi is not None and d > hi)):
                continue
            ok = scope_mask(p, L, SCOPE_FIELDS, len(base))
            if ok.any():
                cands.append((p, ok))
        applied, skipped, free_rows = [], [], []
        disc_total = np.zeros(len(base))

        def run(chosen):
            net = base.copy()
            out = []
            for p, ok in chosen:
                disc, free = self._benefit(p, L, net, ok, customer)
                out.append((p, disc, free))
                net = net - disc
            return out

        def value(res):
            return sum(float(dsc.sum()) + sum(n * max(u - q.free_item_rate, 0) for _, n, u in fr) for q, dsc, fr in res)

        plain = [c for c in cands if not c[0].exclusive]
        excl = [c for c in cands if c[0].exclusive]
        if self.policy.stacking == "best":
            options = [run([c]) for c in cands]
        else:
            options = [run(plain)] + [run([c]) for c in excl]
        options = [o for o in options if value(o) > 0]
        chosen = max(options, key=value) if options else []   # max keeps the first of equals
        chosen_ids = {p.promo_id for p, _, _ in chosen}
        gave = {q.promo_id for o in options for q, dsc, fr in o if dsc.sum() > 0 or fr}
        winners = ", ".join(sorted(chosen_ids))
        for p, ok in cands if explain else ():
            if p.promo_id not in gave:   # in scope and in its window, but nothing to give: say why
                skipped.append({"order_id": order_id, "promo_id": p.promo_id,
                                "reason": self._why_not(p, L, base, ok, customer)})
        for p, _ in cands:
            if p.promo_id in gave and p.promo_id not in chosen_ids:
                why = ("best stacking" if self.policy.stacking == "best"
                       else "exclusive" if p.exclusive else "an exclusive promotion")
                skipped.append({"order_id": order_id, "promo_id": p.promo_id,
                                "reason": f"not combined ({why}): {winners} gave more"})
        for p, disc, free in chosen:
            rate = p.free_item_rate     # what the customer pays for each "free" unit
            cost_free = sum(n * max(self.cost.get(pid, u) - rate, 0) for pid, n, u in free)
            benefit = float(disc.sum())
            want = benefit + cost_free
            if want <= 0:
                continue
            left = self.left(p)
            scale = 1.0
            if want > left:
                if p.on_exhaustion == "skip" or left <= 0:
                    skipped.append({"order_id": order_id, "promo_id": p.promo_id,
                                    "reason": f"budget exhausted ({int(max(left, 0))} left of {p.budget}, needs {int(round(want))})"})
                    continue
                scale = left / want
                skipped.append({"order_id": order_id, "promo_id": p.promo_id,
                                "reason": f"budget partly exhausted: gave {scale:.0%} of the benefit"})
            disc = _whole_cents(disc * scale)
            given = [(pid, int(np.floor(n * scale)), u) for pid, n, u in free]
            given = [(pid, n, u) for pid, n, u in given if n]
            for pid, n, u in given:
                free_rows.append({"order_id": order_id, "customer_id": customer, "product_id": pid, "qty": n,
                                  "amount": n * rate, "promo_id": p.promo_id, "free": True,
                                  "free_value": int(round(n * max(u - rate, 0)))})
            nfree = sum(n for _, n, _ in given)
            cost = int(disc.sum()) + int(round(sum(n * max(self.cost.get(pid, u) - rate, 0) for pid, n, u in given)))
            if commit:
                self.used[p.promo_id] = self.used.get(p.promo_id, 0) + cost
            disc_total += disc
            applied.append({"order_id": order_id, "customer_id": customer, "promo_id": p.promo_id, "kind": p.kind,
                            "discount": int(disc.sum()), "free_units": nfree, "cost": cost})
        for p, ok in cands if commit else ():
            if p.kind == "cumulative":
                key = (p.promo_id, customer)
                self.spend[key] = self.spend.get(key, 0) + int(base[ok].sum())
        return disc_total.astype(np.int64), free_rows, applied, skipped

    def budgets(self) -> pd.DataFrame:
        return pd.DataFrame([{"promo_id": p.promo_id, "budget": p.budget, "used": self.used.get(p.promo_id, 0),
                              "left": None if p.budget is None else p.budget - self.used.get(p.promo_id, 0)}
                             for p in self.promotions])


def apply_promotions(lines: pd.DataFrame, promotions, *, policy: PromotionPolicy | None = None,
                     cost: dict[str, int] | None = None) -> PromotionResult:
    """Apply promotions to a table of order lines (``order_id, customer_id, product_id, qty,
    amount`` + ``date`` and any scope field), order by order in date order (budgets and
    cumulative spend are first come, first served).

    Examples
    --------
    >>> import pandas as pd
    >>> lines = pd.DataFrame({"order_id": ["o1", "o1", "o2"], "customer_id": ["c1", "c1", "c2"],
    ...                       "product_id": ["p1", "p2", "p1"], "qty": [3, 1, 1], "amount": [30_000, 5_000, 10_000],
    ...                       "date": ["2025-03-01"] * 3})
    >>> promos = [Promotion(promo_id="t100", kind="threshold", min_spend=20_000, amount_off=2_000),
    ...           Promotion(promo_id="b3g1", kind="free_goods", product_id=("p1",), buy=3, get=1)]
    >>> r = apply_promotions(lines, promos, cost={"p1": 6_000})
    >>> int(r.lines["promo_discount"].sum()), r.skipped[["order_id", "promo_id"]].values.tolist()
    (2000, [['o2', 't100'], ['o2', 'b3g1']])
    """
    need = [c for c in ("order_id", "customer_id", "product_id", "qty", "amount") if c not in lines.columns]
    if need:
        raise KeyError(f"order lines: missing columns {need}")
    from crmsim.tables import cents_column, date_column, quantity_column

    eng = PromotionEngine(list(promotions), policy or PromotionPolicy(), dict(cost or {}))
    L = lines.reset_index(drop=True)
    L["qty"] = quantity_column(L, "qty", "order lines")
    L["amount"] = cents_column(L, "amount", "order lines")
    if "date" in L.columns:
        L["date"] = date_column(L, "date", "order lines", filled=True)
    codes, oids = pd.factorize(L["order_id"])
    n_orders = len(oids)
    sorter = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[sorter], np.arange(n_orders + 1))
    first_row = sorter[bounds[:-1]]
    has_date = "date" in L.columns
    days = pd.to_datetime(L["date"]).to_numpy().astype("datetime64[D]") if has_date else None
    # orders in date order (then order id), budgets and cumulative spend first come, first served
    order_seq = np.lexsort((oids.astype(str), days[first_row])) if has_date else np.argsort(oids.astype(str), kind="stable")
    cols = {c: L[c].to_numpy() for c in ("product_id", "qty", "amount", *SCOPE_FIELDS) if c in L.columns}
    carry = [c for c in ("date", *SCOPE_FIELDS[2:]) if c in L.columns and c != "customer_id"]
    cust = L["customer_id"].to_numpy()
    disc_all = np.zeros(len(L), dtype=np.int64)
    free_all, applied_all, skipped_all = [], [], []
    for k in order_seq:
        idx = sorter[bounds[k]:bounds[k + 1]]
        r0 = first_row[k]
        disc, free, applied, skipped = eng.apply({c: a[idx] for c, a in cols.items()}, order_id=oids[k],
                                                 customer=cust[r0], date=days[r0] if has_date else None)
        disc_all[idx] = disc
        for f in free:
            f.update({c: L[c].iat[r0] for c in carry})
            if "unit" in L.columns:   # free goods come in the unit the product was ordered in
                same = idx[cols["product_id"][idx] == f["product_id"]]
                f["unit"] = L["unit"].iat[same[0]] if same.size else None
        free_all += free
        applied_all += applied
        skipped_all += skipped
    L = L.assign(promo_discount=disc_all)
    L["net_amount"] = L["amount"] - L["promo_discount"]
    L["free"] = False
    if free_all:
        F = pd.DataFrame(free_all)
        F["net_amount"] = F["amount"]          # 0, or what the customer pays at a free item rate
        F["promo_discount"] = 0
        ints = [c for c in L.columns if pd.api.types.is_integer_dtype(L[c])]
        L = pd.concat([L, F], ignore_index=True)
        for c in [*ints, "free_value"]:   # free lines have no price: keep whole numbers whole
            L[c] = L[c].astype("Int64")
    return PromotionResult(
        lines=L,
        applied=pd.DataFrame(applied_all, columns=["order_id", "customer_id", "promo_id", "kind", "discount",
                                                   "free_units", "cost"]),
        skipped=pd.DataFrame(skipped_all, columns=["order_id", "promo_id", "reason"]),
        budgets=eng.budgets(),
    )
