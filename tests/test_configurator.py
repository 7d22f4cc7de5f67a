import itertools

import pandas as pd
import pytest

from crmsim.cpq.bom import Configurator, Constraint, Model, Option, OptionGroup
from crmsim.cpq.catalog import Catalog, Product
from crmsim.cpq.files import load_catalog


def P(pid, price, **kw):
    return Product(product_id=pid, category=kw.pop("category", "hw"), base_price=price, **kw)


CAT = Catalog([P("server", 100_000), P("cpu4", 20_000), P("cpu8", 35_000), P("ram16", 8_000), P("ram32", 14_000),
               P("disk", 5_000), P("raid", 3_000), P("ssd", 9_000), P("hdd", 4_000), P("gpu", 50_000),
               P("psu_big", 6_000), P("support", 12_000, form="service", category="services")])

STORAGE = Model(model_id="storage", product_id="disk", groups=(
    OptionGroup(name="Media", required=True, max_choices=1,
                options=(Option(product_id="ssd", max_qty=4), Option(product_id="hdd", max_qty=4))),))

SERVER = Model(model_id="server", product_id="server", groups=(
    OptionGroup(name="CPU", required=True, max_choices=1,
                options=(Option(product_id="cpu4", default_qty=1), Option(product_id="cpu8"))),
    OptionGroup(name="Memory", required=True,
                options=(Option(product_id="ram16", max_qty=4, default_qty=2), Option(product_id="ram32", max_qty=4))),
    OptionGroup(name="Storage", options=(Option(product_id="disk", max_qty=2, model="storage"),
                                         Option(product_id="raid", price=0))),
    OptionGroup(name="Extras", options=(Option(product_id="gpu"), Option(product_id="psu_big"),
                                        Option(product_id="support", max_qty=3))),
), constraints=(
    Constraint(kind="requires", product="gpu", other="psu_big"),
    Constraint(kind="excludes", product="gpu", other="cpu4"),
    Constraint(kind="requires", product="raid", other="disk"),
    Constraint(kind="ratio", product="disk", other="raid", ratio=0.5, mode="at_most"),
))

CONF = Configurator(CAT, [SERVER, STORAGE])


def test_catalogue_units_specs_and_tables(tmp_path):
    cat = Catalog([P("cable", 50, base_unit="m", units={"roll": 100, "drum": 500}, specs={"colour": ("red", "blue")},
                     attributes={"gauge": 2.5})])
    assert cat.convert("cable", 2, "drum", to="roll") == 10
    assert cat.skus("cable") == ["cable[colour=red]", "cable[colour=blue]"]
    assert cat.units().sort_values("factor")["factor"].tolist() == [1, 100, 500]
    assert cat.frame().loc[0, "gauge"] == 2.5
    with pytest.raises(KeyError, match="unit 'spool' is not defined; units are \\['m', 'roll', 'drum'\\]"):
        cat.convert("cable", 1, "spool")
    with pytest.raises(ValueError, match="listed twice"):
        Catalog([P("a", 1), P("a", 2)])
    prods = pd.DataFrame({"product_id": ["a", "b"], "category": ["x", "y"], "form": ["physical", "boat"],
                          "base_unit": ["piece"] * 2, "base_price": [100, 200]})
    with pytest.raises(ValueError, match="column 'form'.*rows product_id=\\['b'\\]"):
        Catalog.from_frames(prods, source="products.csv")
    prods.loc[1, "form"] = "virtual"
    with pytest.raises(ValueError, match="column 'base_price' expects whole minor units.*\\['b'\\]"):
        Catalog.from_frames(prods.assign(base_price=["100", "2.5"]))
    units = pd.DataFrame({"product_id": ["a", "c"], "unit": ["box", "box"], "factor": [10, 5]})
    with pytest.raises(ValueError, match="units: products \\['c'\\] are not in the products table"):
        Catalog.from_frames(prods, units)
    cat2 = Catalog.from_frames(prods, units.iloc[:1], pd.DataFrame({"product_id": ["a", "a"], "spec": ["size"] * 2,
                                                                     "value": ["S", "L"]}))
    assert cat2.convert("a", 3, "box") == 30 and cat2.skus("a") == ["a[size=S]", "a[size=L]"]
    f = tmp_path / "cat.toml"
    f.write_text('[[product]]\nproduct_id = "x"\ncategory = "c"\nbase_price = -1\n')
    with pytest.raises(ValueError, match="cat.toml: \\[\\[product\\]\\] #1 \\(x\\): base_price"):
        load_catalog(f)


@pytest.mark.parametrize("selection, problems", [
    ({"cpu4": 1, "ram16": 2}, []),
    ({"ram16": 2}, ["server: group 'CPU' is required: choose one of ['cpu4', 'cpu8']"]),
    ({"cpu4": 1, "cpu8": 1, "ram16": 1}, ["server: group 'CPU' allows at most 1 choice, got 2: ['cpu4', 'cpu8']"]),
    ({"cpu8": 1, "ram16": 5}, ["server: 'ram16' quantity 5 is outside 1..4"]),
    ({"cpu8": 1, "ram16": 1, "gpu": 1}, ["server: 'gpu' requires 'psu_big', which is not chosen"]),
    ({"cpu4": 1, "ram16": 1, "gpu": 1, "psu_big": 1}, ["server: 'gpu' and 'cpu4' exclude each other; choose one"]),
    ({"cpu4": 1, "ram16": 1, "raid": 1}, ["server: 'raid' requires 'disk', which is not chosen"]),
    ({"cpu4": 1, "ram16": 1, "disk": {"qty": 1, "ssd": 2}, "raid": 1},
     ["server: 'raid' quantity 1 must be at most 0.5 x 'disk' quantity 1 = 0.5"]),
    ({"cpu4": 1, "ram16": 1, "disk": {"qty": 2, "ssd": 2}, "raid": 1}, []),
    ({"cpu4": 1, "ram16": 1, "disk": {"qty": 1, "ssd": 1, "hdd": 1}},
     ["server > disk: group 'Media' allows at most 1 choice, got 2: ['ssd', 'hdd']"]),
    ({"cpu4": 1, "ram16": 1, "disk": 1}, ["server > disk: group 'Media' is required: choose one of ['ssd', 'hdd']"]),
    ({"cpu4": 1, "ram16": 1, "fan": 2}, ["server: 'fan' is not an option of this model; options are "
                                         "['cpu4', 'cpu8', 'disk', 'gpu', 'psu_big', 'raid', 'ram16', 'ram32', 'support']"]),
])
def test_validate_names_every_violation(selection, problems):
    assert CONF.validate("server", selection) == problems


def test_configured_price_is_multiplied_down_the_levels():
    sel = {"cpu8": 1, "ram32": 2, "disk": {"qty": 2, "ssd": 3}, "raid": 1, "support": 3}
    b = CONF.price("server", sel, qty=2)
    assert b.set_index("product_id")["qty"].to_dict() == {"server": 2, "cpu8": 2, "ram32": 4, "disk": 4, "ssd": 12,
                                                          "raid": 2, "support": 6}
    assert b.loc[b["product_id"] == "ssd", "path"].item() == "server > disk"
    expected = 2 * (100_000 + 35_000 + 2 * 14_000 + 2 * (5_000 + 3 * 9_000) + 0 + 3 * 12_000)
    assert b["amount"].sum() == expected
    assert CONF.lines("server", sel)["qty"].sum() == 1 + 1 + 2 + 2 + 6 + 1 + 3
    with pytest.raises(ValueError, match="invalid configuration:\n  server: group 'CPU' is required"):
        CONF.price("server", {"ram16": 1})
    assert CONF.defaults("server") == {"cpu4": 1, "ram16": 2}


def _brute_force(conf, model_id):
    """Every selection of a flat model by itertools, kept where validate() finds no problem."""
    opts = conf.model(model_id).options()
    ranges = [[0, *range(o.min_qty, o.max_qty + 1)] for o in opts.values()]
    valid = []
    for combo in itertools.product(*ranges):
        sel = {pid: q for pid, q in zip(opts, combo) if q}
        if not conf.validate(model_id, sel):
            valid.append(sel)
    return valid


def test_cp_sat_enumeration_agrees_with_validate():
    flat = Model(model_id="flat", product_id="server", groups=SERVER.groups[:2] + SERVER.groups[3:] + (
        OptionGroup(name="Disk", options=(Option(product_id="disk", max_qty=2), Option(product_id="raid", price=0))),),
        constraints=SERVER.constraints)
    conf = Configurator(CAT, [flat])
    key = lambda s: tuple(sorted(s.items()))  # noqa: E731
    got = sorted(map(key, conf.all_configurations("flat")))
    want = sorted(map(key, _brute_force(conf, "flat")))
    assert got == want and len(got) > 100
    assert all(conf.validate("flat", dict(s)) == [] for s in got)
    with pytest.raises(ValueError, match="more than 10 valid configurations"):
        conf.all_configurations("flat", limit=10)


def test_multi_level_enumeration_and_cheapest_completion():
    configs = CONF.all_configurations("server", limit=100_000)
    assert configs and all(CONF.validate("server", s) == [] for s in configs)
    assert any(isinstance(s.get("disk"), dict) for s in configs)
    best = CONF.cheapest("server", {"gpu": 1})
    assert CONF.validate("server", best) == []
    assert best["gpu"] == 1 and best["psu_big"] == 1 and best["cpu8"] == 1 and best["ram16"] == 1
    price = CONF.price("server", best)["amount"].sum()
    assert price == min(CONF.price("server", s)["amount"].sum() for s in configs if s.get("gpu"))
    deep = CONF.cheapest("server", {"disk": {"qty": 2}})
    assert deep["disk"] == {"qty": 2, "hdd": 1}
    with pytest.raises(ValueError, match="no valid configuration keeps"):
        CONF.cheapest("server", {"gpu": 1, "cpu4": 1})


def test_model_errors():
    with pytest.raises(ValueError, match="not an option of the model"):
        Model(model_id="m", product_id="server", groups=SERVER.groups[:1],
              constraints=(Constraint(kind="requires", product="cpu4", other="gpu"),))
    with pytest.raises(ValueError, match="product 'nope' is not in the catalogue"):
        Configurator(CAT, [Model(model_id="m", product_id="server",
                                 groups=(OptionGroup(name="g", options=(Option(product_id="nope"),)),))])
    loop = Model(model_id="a", product_id="disk", groups=(OptionGroup(name="g", options=(Option(product_id="ssd", model="b"),)),))
    loop_b = Model(model_id="b", product_id="ssd", groups=(OptionGroup(name="g", options=(Option(product_id="disk", model="a"),)),))
    with pytest.raises(ValueError, match="cycle: a > b > a"):
        Configurator(CAT, [loop, loop_b])
