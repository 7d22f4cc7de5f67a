import pandas as pd
import pytest

from crmsim.cpq import apply_promotions, compute_rebates, load_cpq, price_lines, required_level


def test_example_setup_loads_and_prices(root):
    s = load_cpq(root / "data/examples/cpq_setup.toml")
    assert len(s.catalog) == 7 and s.pricing.stacking == "compounding" and s.approval.levels[1].name == "manager"
    conf = s.configurator
    assert conf.validate("ws", {"cpu16": 1, "ram16": 1}) == [
        "ws: 'ram16' quantity 1 must be at least 2 x 'cpu16' quantity 1 = 2"]
    lines = conf.lines("ws", {"cpu16": 1, "ram16": 2, "monitor": 1}, qty=4)[["product_id", "qty"]].assign(
        order_id="o1", customer_id="c1", customer_grade="A", date=pd.Timestamp("2025-05-02"))
    priced = price_lines(lines, s.catalog.frame(), s.price_rules, policy=s.pricing, units=s.catalog.units())
    p = priced.set_index("product_id")["unit_price"]
    assert p["ws"] == round(85_000 * 0.93) and p["monitor"] == round(25_000 * 0.93 * 0.90)
    res = apply_promotions(priced, s.promotions, policy=s.promotion_policy)   # 6,119.40 of hardware >= 5,000
    assert res.applied["promo_id"].tolist() == ["q2-hardware"] and res.applied["discount"].item() == 20_000
    booked = res.lines.assign(amount=res.lines["net_amount"])
    assert compute_rebates(booked, s.rebates).empty                       # 5,919.40 is below the first tier
    two = pd.concat([booked, booked.assign(order_id="o2")])               # 11,838.80 in the quarter: 1%
    assert compute_rebates(two, s.rebates)["amount"].tolist() == [int(two["amount"].sum() * 0.01 + 0.5)]
    assert required_level(0.15, 100_000, s.approval) == "manager"


@pytest.mark.parametrize("text, message", [
    ('[[product]]\nproduct_id = "a"\ncategory = "x"\nbase_price = "free"\n',
     r"\[\[product\]\] #1 \(a\): base_price: Input should be a valid integer"),
    ('[[product]]\nproduct_id = "a"\ncategory = "x"\nbase_price = 1\n[[price_rule]]\nrule_id = "r"\nproduct_id = ["b"]\nvalue = 1\n',
     r"\[\[price_rule\]\] names products not in the catalogue: \['b'\]"),
    ('[[promotion]]\npromo_id = "p"\nkind = "threshold"\namount_off = 5\n',
     r"\[\[promotion\]\] #1 \(p\): .*needs min_spend > 0"),
    ('[pricing]\nstacking = "sideways"\n', r"\[pricing\]: stacking: Input should be 'best', 'additive' or 'compounding'"),
    ('[prices]\nx = 1\n', r"unknown sections \['prices'\]"),
    ('[[product]]\nproduct_id = "a"\ncategory = "x"\nbase_price = 1\n[[product]]\nproduct_id = "a"\ncategory = "y"\nbase_price = 2\n',
     r"product_id listed twice: \['a'\]"),
    ('[[model]]\nmodel_id = "m"\nproduct_id = "zz"\ngroups = []\n', r"product 'zz' is not in the catalogue"),
    ('[[product]\n', r"not valid TOML"),
])
def test_errors_name_the_file_section_item_and_field(tmp_path, text, message):
    f = tmp_path / "setup.toml"
    f.write_text(text)
    with pytest.raises(ValueError, match=message) as e:
        load_cpq(f)
    assert "setup.toml" in str(e.value)
