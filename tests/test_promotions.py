import pandas as pd
import pytest

from crmsim.cpq.promotions import (
    Promotion,
    PromotionPolicy,
    apply_promotions,
    break_even_lift,
    free_units,
    promotion_roi,
)


def order(*items, order_id="o1", customer="c1", date="2025-06-10", **kw):
    """items: (product, qty, unit price)."""
    rows = [{"order_id": order_id, "customer_id": customer, "date": pd.Timestamp(date), "product_id": p, "qty": q,
             "amount": q * u, "category": "pens" if p.startswith("pen") else "paper", **kw} for p, q, u in items]
    return pd.DataFrame(rows)


@pytest.mark.parametrize("qty, buy, get, mode, recursive, free", [
    (7, 3, 1, "added", False, 2), (7, 3, 1, "added", True, 3), (2, 3, 1, "added", True, 0),
    (3, 3, 1, "added", False, 1), (9, 3, 1, "added", True, 4), (10, 2, 1, "added", True, 9),
    (7, 3, 1, "in_cart", False, 1), (8, 3, 1, "in_cart", False, 2), (4, 3, 1, "in_cart", False, 1),
    (3, 3, 1, "in_cart", False, 0), (5, 2, 2, "in_cart", False, 2), (6, 2, 2, "in_cart", False, 2), (7, 2, 2, "in_cart", False, 3),
])
def test_free_goods_recursion(qty, buy, get, mode, recursive, free):
    assert free_units(qty, buy, get, mode=mode, recursive=recursive) == free


def test_free_goods_lines_are_added_and_costed():
    p = Promotion(promo_id="b3g1", kind="free_goods", product_id=("pen",), buy=3, get=1, recursive=True)
    r = apply_promotions(order(("pen", 7, 100), ("paper", 2, 500)), [p], cost={"pen": 40})
    free = r.lines[r.lines["free"]]
    assert free[["product_id", "qty", "amount", "promo_id"]].values.tolist() == [["pen", 3, 0, "b3g1"]]
    assert r.applied[["free_units", "cost", "discount"]].values.tolist() == [[3, 120, 0]]
    assert r.lines["net_amount"].sum() == 700 + 1000


@pytest.mark.parametrize("spend_units, repeat, discount", [
    (9, False, 0), (10, False, 150), (19, False, 150), (20, True, 300), (29, True, 300),
])
def test_threshold_boundaries(spend_units, repeat, discount):
    p = Promotion(promo_id="t", kind="threshold", min_spend=1_000, amount_off=150, repeat=repeat)
    r = apply_promotions(order(("pen", spend_units, 100)), [p])
    assert int(r.lines["promo_discount"].sum()) == discount


def test_item_bundle_cumulative_and_windows():
    item = Promotion(promo_id="i", kind="item", category=("pens",), min_qty=5, percent_off=0.1)
    r = apply_promotions(order(("pen", 5, 100), ("pencil", 4, 50), ("paper", 5, 500)), [item])
    assert r.lines["promo_discount"].tolist() == [50, 0, 0]
    bundle = Promotion(promo_id="set", kind="bundle", bundle={"pen": 2, "paper": 1}, bundle_price=600)
    r = apply_promotions(order(("pen", 5, 100), ("paper", 3, 500)), [bundle])  # 2 sets of 700 -> 600
    assert r.lines["promo_discount"].sum() == 200 and r.applied["discount"].item() == 200
    cum = Promotion(promo_id="loyal", kind="cumulative", min_spend=2_000, percent_off=0.05,
                    valid_from="2025-06-01", valid_to="2025-06-30")
    orders = pd.concat([order(("paper", 2, 500), order_id="a", date="2025-06-02"),
                        order(("paper", 2, 500), order_id="b", date="2025-06-10"),   # reaches 2,000 here
                        order(("paper", 2, 500), order_id="c", date="2025-06-20"),
                        order(("paper", 2, 500), order_id="d", date="2025-07-01")])  # window over
    r = apply_promotions(orders, [cum])
    assert r.lines.groupby("order_id")["promo_discount"].sum().to_dict() == {"a": 0, "b": 50, "c": 50, "d": 0}


@pytest.mark.parametrize("on_exhaustion, discounts, reasons", [
    ("partial", [100, 100, 50, 0], ["budget partly exhausted: gave 50% of the benefit",
                                    "budget exhausted (0 left of 250, needs 100)"]),
    ("skip", [100, 100, 0, 0], ["budget exhausted (50 left of 250, needs 100)",
                                "budget exhausted (50 left of 250, needs 100)"]),
])
def test_budget_exhaustion(on_exhaustion, discounts, reasons):
    p = Promotion(promo_id="p", kind="item", percent_off=0.1, budget=250, on_exhaustion=on_exhaustion)
    orders = pd.concat([order(("pen", 10, 100), order_id=f"o{k}", date=f"2025-06-1{k}") for k in range(4)])
    r = apply_promotions(orders, [p])
    assert r.lines["promo_discount"].tolist() == discounts
    assert r.skipped["reason"].tolist() == reasons
    b = r.budgets.iloc[0]
    assert b["used"] == sum(discounts) and b["used"] <= 250


@pytest.mark.parametrize("stacking, exclusive, expected", [
    ("all", False, {"ten": 100, "five": 45}),        # five applies on what ten left (900)
    ("best", False, {"ten": 100}),
    ("all", True, {"ten": 100, "five": 45}),         # exclusive flat 120 < 145 of the combination
])
def test_stacking(stacking, exclusive, expected):
    promos = [Promotion(promo_id="five", kind="item", percent_off=0.05),
              Promotion(promo_id="ten", kind="item", percent_off=0.10, priority=5),
              Promotion(promo_id="flat", kind="threshold", min_spend=500, amount_off=120, exclusive=exclusive)]
    if not exclusive:
        promos = promos[:2]
    r = apply_promotions(order(("pen", 10, 100)), promos, policy=PromotionPolicy(stacking=stacking))
    assert r.applied.set_index("promo_id")["discount"].to_dict() == expected
    if exclusive:
        assert r.skipped.set_index("promo_id").loc["flat", "reason"].startswith("not combined (exclusive)")


def test_exclusive_wins_when_larger_and_errors():
    promos = [Promotion(promo_id="five", kind="item", percent_off=0.05),
              Promotion(promo_id="flat", kind="threshold", min_spend=500, amount_off=300, exclusive=True)]
    r = apply_promotions(order(("pen", 10, 100)), promos)
    assert r.applied["promo_id"].tolist() == ["flat"] and r.lines["promo_discount"].sum() == 300
    with pytest.raises(ValueError, match="needs min_spend > 0"):
        Promotion(promo_id="x", kind="threshold", amount_off=1)
    with pytest.raises(ValueError, match="listed twice"):
        apply_promotions(order(("pen", 1, 1)), [promos[0], promos[0]])
    with pytest.raises(KeyError, match="missing columns \\['qty'\\]"):
        apply_promotions(order(("pen", 1, 1)).drop(columns="qty"), promos)


def test_roi_and_break_even():
    assert break_even_lift(0.2, 0.4) == pytest.approx(1.0)   # Nagle & Holden (REFERENCES.md)
    assert break_even_lift(0.1, 0.3) == pytest.approx(0.5)
    assert break_even_lift(0.4, 0.4) == float("inf")
    assert promotion_roi(90, 100, 20) == pytest.approx(-0.5)


@pytest.mark.parametrize("seed", range(5))
def test_invariants_on_random_orders(seed):
    """Nothing lost, no line discounted below zero, no budget overspent, costs add up."""
    import numpy as np

    rng = np.random.default_rng(seed)
    n = 400
    oid = np.sort(rng.integers(0, 120, n))
    L = pd.DataFrame({"order_id": [f"o{i:03d}" for i in oid], "customer_id": [f"c{i % 15}" for i in oid],
                      "date": pd.Timestamp("2025-03-01") + pd.to_timedelta(oid // 4, unit="D"),
                      "product_id": rng.choice(["pen", "pencil", "paper", "ink"], n), "qty": rng.integers(1, 12, n)})
    L["amount"] = L["qty"] * L["product_id"].map({"pen": 120, "pencil": 40, "paper": 500, "ink": 900})
    L["category"] = np.where(L["product_id"].isin(["pen", "pencil"]), "pens", "paper")
    promos = [Promotion(promo_id="t", kind="threshold", min_spend=3_000, amount_off=400, repeat=True, budget=20_000),
              Promotion(promo_id="i", kind="item", category=("pens",), percent_off=0.15, min_qty=3, priority=2),
              Promotion(promo_id="b", kind="bundle", bundle={"paper": 2, "ink": 1}, bundle_price=1_500, budget=5_000,
                        on_exhaustion="skip"),
              Promotion(promo_id="f", kind="free_goods", product_id=("ink",), buy=2, get=1, recursive=True, budget=30_000),
              Promotion(promo_id="x", kind="threshold", min_spend=8_000, percent_off=0.2, exclusive=True),
              Promotion(promo_id="cum", kind="cumulative", min_spend=10_000, percent_off=0.03)]
    r = apply_promotions(L, promos, policy=PromotionPolicy(stacking=["all", "best"][seed % 2]), cost={"ink": 500})
    paid = r.lines[~r.lines["free"]]
    assert len(paid) == n and paid["amount"].sum() == L["amount"].sum()
    assert (paid["promo_discount"] >= 0).all() and (paid["promo_discount"] <= paid["amount"]).all()
    b = r.budgets.set_index("promo_id")
    for pid in ("t", "b", "f"):
        assert b.loc[pid, "used"] <= b.loc[pid, "budget"]
    assert r.applied.groupby("promo_id")["cost"].sum().reindex(b.index, fill_value=0).tolist() == b["used"].tolist()
    assert r.applied["discount"].sum() == paid["promo_discount"].sum()
    assert r.lines.loc[r.lines["free"], "qty"].sum() == r.applied["free_units"].sum()
    assert not (r.applied.groupby("order_id")["promo_id"].apply(set).map(lambda s: "x" in s and len(s) > 1)).any()


# --- promotions as the leading systems run them (issue: rules as CRMs/ERPs run them) -----------

def test_a_promotion_in_scope_that_gives_nothing_says_why():
    # the case of the issue: a threshold at 20,000 on an order of 16,400 was neither given nor skipped
    t = Promotion(promo_id="t200", kind="threshold", min_spend=20_000, percent_off=0.05)
    r = apply_promotions(order(("pen", 164, 100)), [t])
    assert r.applied.empty
    assert r.skipped[["promo_id", "reason"]].values.tolist() == [["t200", "min_spend not reached: spend 16400 of 20000"]]
    b = Promotion(promo_id="set", kind="bundle", bundle={"pen": 2, "paper": 1}, bundle_price=500)
    i = Promotion(promo_id="bulk", kind="item", category=("pens",), min_qty=10, percent_off=0.1)
    g = Promotion(promo_id="b3g1", kind="free_goods", product_id=("pen",), buy=3, get=1)
    r = apply_promotions(order(("pen", 2, 100)), [b, i, g])
    assert dict(r.skipped[["promo_id", "reason"]].values.tolist()) == {
        "set": "bundle incomplete: needs {'paper': 1}",
        "bulk": "min_qty not reached on any line: at most 2 units of 10",
        "b3g1": "fewer than 3 units of a product (buy 3 get 1)"}


def test_the_condition_on_some_products_and_the_benefit_on_others():
    # Odoo loyalty "discount on specific products" with a condition on others: buy pens for 200.00,
    # get 10% on paper: 10% of the paper lines (2 x 500 = 1,000 -> 100), nothing off the pens
    p = Promotion(promo_id="pens-paper", kind="threshold", product_id=("pen",), min_spend=20_000, percent_off=0.10,
                  benefit_product_id=("paper",))
    r = apply_promotions(order(("pen", 200, 100), ("paper", 2, 500)), [p])
    assert r.lines.set_index("product_id")["promo_discount"].to_dict() == {"pen": 0, "paper": 100}
    r = apply_promotions(order(("pen", 200, 100)), [p])
    assert r.skipped["reason"].tolist() == ["no line of the benefit products/categories ['paper'] in the order"]
    r = apply_promotions(order(("pen", 150, 100), ("paper", 2, 500)), [p])
    assert r.skipped["reason"].tolist() == ["min_spend not reached: spend 15000 of 20000"]
    with pytest.raises(ValueError, match="benefit_product_id / benefit_category apply to threshold and cumulative"):
        Promotion(promo_id="x", kind="item", percent_off=0.1, benefit_product_id=("paper",))


def test_a_threshold_on_the_orders_total_quantity():
    # ERPNext's transaction-level pricing rule: min_qty on the total quantity of the order's lines
    # in scope (6 + 5 pens = 11 >= 10: 5% off all of them; 6 alone is not enough)
    p = Promotion(promo_id="ten-pens", kind="threshold", category=("pens",), min_qty=10, percent_off=0.05)
    r = apply_promotions(order(("pen-a", 6, 100), ("pen-b", 5, 200), ("paper", 3, 500)), [p])
    assert r.lines.set_index("product_id")["promo_discount"].to_dict() == {"pen-a": 30, "pen-b": 50, "paper": 0}
    r = apply_promotions(order(("pen-a", 6, 100)), [p])
    assert r.skipped["reason"].tolist() == ["min_qty not reached: 6 units of 10"]
    with pytest.raises(ValueError, match="needs min_spend > 0 or min_qty > 0"):
        Promotion(promo_id="y", kind="threshold", percent_off=0.1)


@pytest.mark.parametrize("mode, qty, lines_net, free_line", [
    # buy 3 get 1 at 30 instead of 100 (ERPNext's free item rate): added, the 4th unit is a line of 30
    ("added", 3, 300, (1, 30, 70)),
    # in the cart: 4 pens ordered, the 4th is charged 30: 400 - 70 = 330
    ("in_cart", 4, 330, None),
])
def test_free_goods_at_a_stated_rate(mode, qty, lines_net, free_line):
    p = Promotion(promo_id="b3g1", kind="free_goods", product_id=("pen",), buy=3, get=1, free_mode=mode,
                  free_item_rate=30)
    r = apply_promotions(order(("pen", qty, 100)), [p], cost={"pen": 40})
    paid = r.lines[~r.lines["free"]]
    assert int(paid["net_amount"].sum()) == lines_net
    free = r.lines[r.lines["free"]]
    if free_line:
        assert free[["qty", "net_amount", "free_value"]].astype(int).values.tolist() == [list(free_line)]
        assert r.applied["cost"].tolist() == [10]           # the unit cost 40 less the 30 paid
    else:
        assert free.empty and r.applied["discount"].tolist() == [70]
