import numpy as np
import pandas as pd
import pytest

from crmsim.conditions import Condition
from crmsim.cpq.pricing import (
    PriceRule,
    PricingPolicy,
    SaleableRule,
    SaleableScope,
    price_lines,
    price_one,
    to_base_units,
)

CAT = pd.DataFrame({"product_id": ["crm", "bi", "chair"], "category": ["software", "software", "furniture"],
                    "form": ["virtual", "virtual", "physical"], "base_price": [10_000, 20_000, 5_000]})
UNITS = pd.DataFrame({"product_id": ["crm", "chair", "chair"], "unit": ["seat", "piece", "box"], "factor": [1, 1, 12]})


def line(**kw):
    base = {"product_id": "crm", "qty": 1, "customer_id": "c1", "customer_grade": "B", "region": "north",
            "date": pd.Timestamp("2025-06-01")}
    base.update(kw)
    return pd.DataFrame([base])


RULES = [
    PriceRule(rule_id="list-crm", product_id=("crm",), value=9_000),
    PriceRule(rule_id="grade-A", product_id=("crm",), customer_grade=("A",), value=8_000),
    PriceRule(rule_id="vip-c9", product_id=("crm",), customer_id=("c9",), customer_grade=("A",), value=7_500),
    PriceRule(rule_id="promo-book", book="promo", priority=10, product_id=("crm",), value=8_500,
              valid_from="2025-06-01", valid_to="2025-06-30"),
    PriceRule(rule_id="tier-10", product_id=("crm",), min_qty=10, max_qty=50, priority=5, value=8_800),
    PriceRule(rule_id="soft-5", kind="discount", category=("software",), value=0.05),
    PriceRule(rule_id="north-10", kind="discount", region=("north",), value=0.10),
]


@pytest.mark.parametrize("kw, rule, unit_price", [
    ({}, "promo-book", 8_500 * 0.95),                                         # higher priority book in its window
    ({"date": pd.Timestamp("2025-07-01")}, "list-crm", 9_000 * 0.95),         # promo window over (inclusive end)
    ({"date": pd.Timestamp("2025-06-30")}, "promo-book", 8_500 * 0.95),
    ({"customer_grade": "A"}, "grade-A", 8_000 * 0.95),                       # more specific beats priority
    ({"customer_grade": "A", "customer_id": "c9"}, "vip-c9", 7_500 * 0.95),
    ({"qty": 10, "date": pd.Timestamp("2025-07-01")}, "tier-10", 8_800 * 0.95),   # tier lower bound inclusive
    ({"qty": 50, "date": pd.Timestamp("2025-07-01")}, "list-crm", 9_000 * 0.95),  # upper bound exclusive
    ({"qty": 49, "date": pd.Timestamp("2025-07-01")}, "tier-10", 8_800 * 0.95),
])
def test_precedence_tiers_and_windows(kw, rule, unit_price):
    out = price_lines(line(**kw), CAT, RULES).iloc[0]
    assert out["price_rule"] == rule
    # discounts stack "best": soft-5 and north-10 are equally specific, so the first listed wins
    assert out["unit_price"] == int(np.floor(unit_price + 0.5))


@pytest.mark.parametrize("stacking, expected", [("best", 9_000 * 0.95), ("additive", 9_000 * 0.85),
                                                ("compounding", 9_000 * 0.95 * 0.90)])
def test_stacking_modes(stacking, expected):
    out = price_lines(line(date=pd.Timestamp("2025-08-01")), CAT, RULES, policy=PricingPolicy(stacking=stacking)).iloc[0]
    assert out["unit_price"] == int(np.floor(expected + 0.5))
    assert "soft-5" in out["discounts"]


def test_tie_policy_floor_ceiling_and_explanation():
    rules = [PriceRule(rule_id="a", product_id=("bi",), value=19_000), PriceRule(rule_id="b", product_id=("bi",), value=18_000),
             PriceRule(rule_id="d", kind="discount", product_id=("bi",), value=0.5, floor=15_000)]
    low = price_lines(line(product_id="bi"), CAT, rules).iloc[0]
    assert low["price_rule"] == "b" and low["unit_price"] == 15_000 and "floor 15000" in low["explanation"]
    first = price_lines(line(product_id="bi"), CAT, rules, policy=PricingPolicy(tie="first_listed")).iloc[0]
    assert first["price_rule"] == "a"


def test_unit_conversion_saleable_scope_and_errors():
    lines = pd.DataFrame({"product_id": ["chair", "chair"], "qty": [2, 3], "unit": ["box", "piece"],
                          "customer_id": ["c1", "c2"]})
    assert to_base_units(lines, UNITS).tolist() == [24, 3]
    rules = [PriceRule(rule_id="bulk", product_id=("chair",), min_qty=20, value=4_000)]
    out = price_lines(lines, CAT, rules, units=UNITS, saleable=lambda d: d["customer_id"] != "c2")
    assert out["unit_price"].tolist()[0] == 4_000 and out["amount"].tolist()[0] == 96_000
    assert pd.isna(out["unit_price"].tolist()[1]) and out["explanation"].tolist()[1] == "not saleable to this customer"
    with pytest.raises(KeyError, match="unit not defined"):
        to_base_units(lines.assign(unit=["crate", "piece"]), UNITS)
    with pytest.raises(KeyError, match="not in the catalogue"):
        price_lines(line(product_id="zz"), CAT, [])
    with pytest.raises(ValueError, match="a discount is a share"):
        PriceRule(rule_id="x", kind="discount", value=5)


def test_saleable_scope_as_data_and_single_line_pricing():
    cat = CAT.assign(licence=["export-ok", "domestic", "export-ok"])     # a product attribute
    scope = SaleableScope(rules=(
        SaleableRule(rule_id="grades", when=(Condition(field="customer_grade", op="in", value=["A", "B"]),)),
        SaleableRule(rule_id="export-licence", effect="deny",
                     when=(Condition(field="region", op="eq", value="export"),
                           Condition(field="licence", op="eq", value="domestic"))),
    ))
    lines = pd.concat([line(), line(product_id="bi", region="export"), line(product_id="crm", region="export"),
                       line(customer_grade="C")], ignore_index=True)
    out = price_lines(lines, cat, RULES, saleable=scope)
    ex = out["explanation"].tolist()
    assert ex[1] == "not saleable to this customer (denied by export-licence)"
    assert ex[2].startswith("rule promo-book")                       # exported, but its licence allows it
    assert ex[3] == "not saleable to this customer (no allow rule matches)"
    assert out["unit_price"].notna().tolist() == [True, False, True, False]
    one = price_one(line().iloc[0].to_dict(), cat, RULES)
    assert one["unit_price"] == out["unit_price"].iloc[0] and one["price_rule"] == "promo-book"


def _reference(lines, cat, rules, policy):
    """The documented precedence, line by line (the slow, obvious way)."""
    base = dict(zip(cat["product_id"], cat["base_price"]))
    catg = dict(zip(cat["product_id"], cat["category"]))
    out = []
    for r in lines.to_dict("records"):
        r["category"] = catg[r["product_id"]]
        match = []
        for k, rule in enumerate(rules):
            if any(getattr(rule, f) and r.get(f) not in getattr(rule, f) for f in ("product_id", "category", "customer_grade", "region")):
                continue
            if r["qty"] < rule.min_qty or (rule.max_qty is not None and r["qty"] >= rule.max_qty):
                continue
            if (rule.valid_from and r["date"] < pd.Timestamp(rule.valid_from)) or (rule.valid_to and r["date"] > pd.Timestamp(rule.valid_to)):
                continue
            match.append((k, rule))
        prices = sorted((-ru.specificity, -ru.priority, ru.value if policy.tie == "lowest_price" else k, ru.value)
                        for k, ru in match if ru.kind == "price")
        price = prices[0][3] if prices else base[r["product_id"]]
        discs = [ru.value for _, ru in sorted(((-ru.specificity, -ru.priority, k), ru) for k, ru in match if ru.kind == "discount")]
        if policy.stacking == "best":
            d = discs[0] if discs else 0.0
        elif policy.stacking == "additive":
            d = sum(discs)
        else:
            d = 1 - float(np.prod([1 - v for v in discs]))
        price *= 1 - min(d, policy.max_discount)
        floors = [ru.floor for _, ru in match if ru.floor is not None]
        ceils = [ru.ceiling for _, ru in match if ru.ceiling is not None]
        if floors and price < max(floors):
            price = max(floors)
        if ceils and price > min(ceils):
            price = min(ceils)
        out.append(int(np.floor(price + 0.5)))
    return out


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("stacking, tie", [("best", "lowest_price"), ("additive", "first_listed"), ("compounding", "lowest_price")])
def test_vectorised_pricing_equals_the_line_by_line_reference(seed, stacking, tie):
    rng = np.random.default_rng(seed)
    prods = [f"p{i}" for i in range(6)]
    cat = pd.DataFrame({"product_id": prods, "category": ["a", "a", "b", "b", "c", "c"], "form": "physical",
                        "base_price": rng.integers(1_000, 10_000, 6)})
    rules = []
    for k in range(40):
        kw = {}
        if rng.random() < 0.6:
            kw["product_id"] = tuple(rng.choice(prods, rng.integers(1, 3), replace=False))
        if rng.random() < 0.3:
            kw["category"] = (str(rng.choice(["a", "b", "c"])),)
        if rng.random() < 0.4:
            kw["customer_grade"] = tuple(rng.choice(list("ABC"), rng.integers(1, 3), replace=False))
        if rng.random() < 0.3:
            kw["region"] = (str(rng.choice(["n", "s"])),)
        if rng.random() < 0.3:
            lo = float(rng.choice([0, 5, 10]))
            kw.update(min_qty=lo, max_qty=lo + float(rng.choice([5, 20])))
        if rng.random() < 0.3:
            kw.update(valid_from="2025-03-01", valid_to=str(rng.choice(["2025-03-31", "2025-06-30"])))
        if rng.random() < 0.15:
            kw["floor"] = int(rng.integers(500, 3_000))
        if rng.random() < 0.1:
            kw["ceiling"] = int(rng.integers(6_000, 12_000))
        if rng.random() < 0.5:
            rules.append(PriceRule(rule_id=f"r{k}", priority=int(rng.integers(0, 3)), value=float(rng.integers(1_000, 9_000)), **kw))
        else:
            rules.append(PriceRule(rule_id=f"r{k}", kind="discount", priority=int(rng.integers(0, 3)),
                                   value=float(rng.choice([0.02, 0.05, 0.1, 0.3])), **kw))
    n = 300
    lines = pd.DataFrame({"product_id": rng.choice(prods, n), "qty": rng.integers(1, 30, n),
                          "customer_grade": rng.choice(list("ABCD"), n), "region": rng.choice(["n", "s", "e"], n),
                          "date": pd.Timestamp("2025-01-15") + pd.to_timedelta(rng.integers(0, 200, n), unit="D")})
    policy = PricingPolicy(stacking=stacking, tie=tie, max_discount=0.4)
    got = price_lines(lines, cat, rules, policy=policy)["unit_price"].tolist()
    assert got == _reference(lines, cat, rules, policy)


# --- formula rules (Odoo pricelist "formula" semantics) and rules bound to a unit of measure ----

FCAT = pd.DataFrame({"product_id": ["crm", "bi", "chair"], "category": ["software", "software", "furniture"],
                     "form": ["virtual", "virtual", "physical"], "base_price": [4_735, 20_000, 5_000],
                     "base_unit": ["seat", "seat", "piece"], "cost": pd.array([3_000, None, 2_000], dtype="Int64")})


def _lines(*pids, **kw):
    return pd.concat([line(product_id=p, **kw) for p in pids], ignore_index=True)


def test_a_formula_rounds_then_adds_the_surcharge_as_odoo_does():
    # Odoo's documented "prices ending in .99": round to 10.00, then an extra fee of -0.01
    r = PriceRule(rule_id="nines", kind="formula", round_to=1_000, surcharge=-1)
    got = price_lines(_lines("crm", "bi"), FCAT, [r])
    assert got["unit_price"].tolist() == [4_999, 19_999]
    assert got["explanation"].iloc[0] == "rule nines (standard): list 4735 rounded to 1000 -1 = 4999"


def test_margins_bound_the_formula_over_its_base():
    # 20% off a 20,000 list with at most 3,000 off: Odoo's price_min_margin = -3000 keeps 17,000
    r = PriceRule(rule_id="sale", kind="formula", discount=0.2, min_margin=-3_000)
    assert price_lines(_lines("bi"), FCAT, [r])["unit_price"].tolist() == [17_000]
    # 25% mark-up on cost, at most 1,000 over it
    m = PriceRule(rule_id="cost+", kind="formula", base="cost", markup=0.25, max_margin=1_000)
    assert price_lines(_lines("crm", "chair"), FCAT, [m])["unit_price"].tolist() == [3_750, 2_500]
    m2 = PriceRule(rule_id="cost+", kind="formula", base="cost", markup=0.5, max_margin=1_000)
    assert price_lines(_lines("crm"), FCAT, [m2])["unit_price"].tolist() == [4_000]


def test_a_cost_formula_does_not_apply_to_a_product_without_a_cost():
    m = PriceRule(rule_id="cost+", kind="formula", base="cost", markup=0.25)
    got = price_lines(_lines("bi", "crm"), FCAT, [m])
    assert got["unit_price"].tolist() == [20_000, 3_750]                 # bi has no cost: its base price
    assert got["explanation"].iloc[0] == "base price 20000"


def test_formulas_compete_with_fixed_prices_by_the_same_precedence():
    fixed = PriceRule(rule_id="list", product_id=("crm",), value=4_500)
    formula = PriceRule(rule_id="minus5", kind="formula", product_id=("crm",), discount=0.05)   # 4,498.25
    got = price_lines(_lines("crm"), FCAT, [fixed, formula])
    assert got["price_rule"].tolist() == ["minus5"] and got["unit_price"].tolist() == [4_498]   # the lower price
    first = price_lines(_lines("crm"), FCAT, [fixed, formula], policy=PricingPolicy(tie="first_listed"))
    assert first["price_rule"].tolist() == ["list"]
    specific = PriceRule(rule_id="grade-B", kind="formula", product_id=("crm",), customer_grade=("B",), markup=0.1)
    assert price_lines(_lines("crm"), FCAT, [fixed, specific])["price_rule"].tolist() == ["grade-B"]
    # discount rules stack on the formula's price as on any price
    off = PriceRule(rule_id="north-10", kind="discount", region=("north",), value=0.10)
    assert price_lines(_lines("crm"), FCAT, [formula, off])["unit_price"].tolist() == [4_048]


def test_a_rule_bound_to_a_unit_skips_lines_in_other_units():
    box = PriceRule(rule_id="box-price", product_id=("chair",), unit="box", value=4_000)
    lines = pd.concat([line(product_id="chair", unit="box", qty=1), line(product_id="chair", unit="piece", qty=12)],
                      ignore_index=True)
    got = price_lines(lines, FCAT, [box], units=UNITS)
    assert [r if isinstance(r, str) else None for r in got["price_rule"]] == ["box-price", None]
    assert got["unit_price"].tolist() == [4_000, 5_000]
    # without a unit column a line is in the product's base unit
    piece = PriceRule(rule_id="piece-price", product_id=("chair",), unit="piece", value=4_500)
    assert price_lines(_lines("chair"), FCAT, [box, piece])["price_rule"].tolist() == ["piece-price"]


@pytest.mark.parametrize("kw, msg", [
    ({"kind": "formula", "value": 10}, "a formula has no value"),
    ({"kind": "formula", "discount": 0.1, "markup": 0.2}, "discount or markup, not both"),
    ({"kind": "formula", "min_margin": 100, "max_margin": 50}, "max_margin (50) is below min_margin (100)"),
    ({"kind": "price", "value": 100, "round_to": 10}, "['round_to'] belong to kind = \"formula\""),
    ({"kind": "discount"}, "needs a value"),
])
def test_formula_rules_are_checked_when_read(kw, msg):
    with pytest.raises(ValueError, match=msg.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")
                       .replace("]", r"\]")):
        PriceRule(rule_id="r", **kw)


# --- currencies and rules that apply alone ------------------------------------------------------

EUR = PricingPolicy(currency="EUR")


def test_a_line_in_another_currency_is_priced_only_by_rules_of_its_currency():
    rules = [PriceRule(rule_id="list-crm", product_id=("crm",), value=9_000),                 # EUR, the catalogue's
             PriceRule(rule_id="usd-crm", product_id=("crm",), currency="USD", value=9_900),
             PriceRule(rule_id="ten", kind="discount", value=0.10),                             # a share: any currency
             PriceRule(rule_id="usd-five", kind="discount", currency="USD", value=0.05, priority=-1),
             PriceRule(rule_id="nines", kind="formula", product_id=("bi",), round_to=1_000, surcharge=-1)]
    lines = pd.concat([line(currency="EUR"), line(currency="USD"), line(product_id="bi", currency="USD"),
                       line(product_id="bi", currency="EUR")], ignore_index=True)
    got = price_lines(lines, CAT, rules, policy=EUR)
    assert got["unit_price"].tolist() == [8_100, 8_910, pd.NA, 17_999]
    assert got["price_rule"].iloc[1] == "usd-crm" and got["currency"].tolist() == ["EUR", "USD", "USD", "EUR"]
    # bi in USD: the EUR formula does not convert, and no USD rule prices it
    assert got["explanation"].iloc[2] == "no price rule in USD; the catalogue's prices are in EUR and are not converted"
    with pytest.raises(KeyError, match="give the catalogue's currency"):
        price_lines(lines, CAT, rules)


@pytest.mark.parametrize("stacking, alone, unit_price", [
    ("additive", None, 7_020),          # 9,000 x (1 - 0.10 - 0.10 - 0.02)
    ("additive", "net", 9_000),         # a net price that applies alone: no discount with it
    ("additive", "grade", 8_100),       # a discount that applies alone: only it (the best-ranked such)
    ("best", "grade", 8_100),
])
def test_rules_that_apply_alone(stacking, alone, unit_price):
    rules = [PriceRule(rule_id="net", product_id=("crm",), value=9_000, apply_alone=alone == "net"),
             PriceRule(rule_id="grade", kind="discount", customer_grade=("B",), value=0.10, apply_alone=alone == "grade"),
             PriceRule(rule_id="north", kind="discount", region=("north",), value=0.10),
             PriceRule(rule_id="soft", kind="discount", category=("software",), value=0.02)]
    got = price_lines(line(), CAT, rules, policy=PricingPolicy(stacking=stacking))
    assert got["unit_price"].tolist() == [unit_price]


def test_conditions_on_any_line_column_and_the_stated_max_qty_bound():
    spring = PriceRule(rule_id="spring", product_id=("crm",), value=8_000,
                       when=(Condition(field="campaign", op="eq", value="spring"),))
    no_returns = PriceRule(rule_id="returns", kind="discount", value=0.5,
                           when=(Condition(field="is_return", op="eq", value=False),), priority=-5)
    lines = pd.concat([line(campaign="spring", is_return=False), line(campaign="", is_return=False),
                       line(campaign="spring", is_return=True)], ignore_index=True)
    got = price_lines(lines, CAT, [PriceRule(rule_id="list", product_id=("crm",), value=9_000), spring, no_returns])
    assert got["price_rule"].tolist() == ["spring", "list", "spring"]       # a condition makes a rule more specific
    assert got["unit_price"].tolist() == [4_000, 4_500, 8_000]               # no discount on the return
    # a condition on a column the lines lack is a named error
    with pytest.raises(KeyError, match="condition on field 'campaign'"):
        price_lines(line(), CAT, [spring])
    # price tiers: max_qty is exclusive unless stated inclusive (Odoo / ERPNext "up to 10")
    excl = PriceRule(rule_id="t", product_id=("crm",), max_qty=10, value=8_000)
    incl = PriceRule(rule_id="t", product_id=("crm",), max_qty=10, max_qty_inclusive=True, value=8_000)
    assert price_lines(line(qty=10), CAT, [excl])["unit_price"].tolist() == [10_000]
    assert price_lines(line(qty=10), CAT, [incl])["unit_price"].tolist() == [8_000]
    assert price_lines(line(qty=10.5), CAT, [incl])["unit_price"].tolist() == [10_000]
