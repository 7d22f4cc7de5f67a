"""CPQ set-up as one TOML file: the catalogue, configurable models, price books, promotions,
rebates and the approval policy, so a pricing manager keeps them next to the scenario files.

.. code-block:: toml

    [pricing]                     # PricingPolicy
    stacking = "compounding"

    [[product]]                   # crmsim.cpq.Product
    product_id = "crm"
    category = "software"
    form = "virtual"
    base_unit = "seat"
    base_price = 10000

    [[model]]                     # crmsim.cpq.Model (option groups, constraints)
    [[price_rule]]                # crmsim.cpq.PriceRule
    [[promotion]]                 # crmsim.cpq.Promotion
    [[rebate]]                    # crmsim.cpq.RebateRule
    [[saleable]]                  # crmsim.cpq.SaleableRule (allow / deny, when = [conditions])
    [approval]                    # crmsim.cpq.ApprovalPolicy (levels = [...])

Every error names the file, the section, the item (number and id) and the field.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ValidationError

from crmsim.cpq.bom import Configurator, Model
from crmsim.cpq.catalog import Catalog, Product
from crmsim.cpq.pricing import PriceRule, PricingPolicy, SaleableRule, SaleableScope
from crmsim.cpq.promotions import Promotion, PromotionPolicy
from crmsim.cpq.quotes import ApprovalPolicy
from crmsim.cpq.rebates import RebateRule
from crmsim.errors import validation_message

__all__ = ["CPQSetup", "load_cpq", "load_catalog"]

_LISTS = {"product": (Product, "product_id"), "model": (Model, "model_id"), "price_rule": (PriceRule, "rule_id"),
          "promotion": (Promotion, "promo_id"), "rebate": (RebateRule, "rebate_id"),
          "saleable": (SaleableRule, "rule_id")}
_TABLES = {"pricing": PricingPolicy, "promotions": PromotionPolicy, "approval": ApprovalPolicy}


@dataclass
class CPQSetup:
    """What a CPQ set-up file declares (:func:`load_cpq`): the catalogue, the configurator, the
    price rules and policy, promotions, rebates, the approval policy and the saleable scope.

    Examples
    --------
    >>> from importlib.resources import files
    >>> setup = str(files("crmsim") / "examples" / "cpq_setup.toml")
    >>> s = load_cpq(setup)
    >>> len(s.catalog.products) > 0, len(s.price_rules) > 0, s.approval is not None
    (True, True, True)
    """

    catalog: Catalog
    configurator: Configurator | None
    price_rules: list[PriceRule] = field(default_factory=list)
    pricing: PricingPolicy = field(default_factory=PricingPolicy)
    promotions: list[Promotion] = field(default_factory=list)
    promotion_policy: PromotionPolicy = field(default_factory=PromotionPolicy)
    rebates: list[RebateRule] = field(default_factory=list)
    approval: ApprovalPolicy | None = None
    saleable: SaleableScope | None = None


def _build(cls: type[BaseModel], data, where: str):
    if not isinstance(data, dict):
        raise ValueError(f"{where}: expected a table, got {data!r}")
    try:
        return cls(**data)
    except ValidationError as e:
        raise ValueError(f"{where}: {validation_message(e)}") from None


def load_cpq(path: str | Path) -> CPQSetup:
    """Read a CPQ set-up file (see the module docstring); products, models, rules and promotions
    are validated, and the models are checked against the catalogue.

    Examples
    --------
    >>> from importlib.resources import files
    >>> setup = str(files("crmsim") / "examples" / "cpq_setup.toml")
    >>> s = load_cpq(setup)
    >>> type(s.pricing).__name__, sorted(s.configurator.models)[:2] if s.configurator else None
    ('PricingPolicy', ['ws'])
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"CPQ set-up: no such file {path}")
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as e:
        raise ValueError(f"{path}: not valid TOML: {e}") from None
    unknown = sorted(set(data) - set(_LISTS) - set(_TABLES))
    if unknown:
        raise ValueError(f"{path}: unknown sections {unknown}; sections are {sorted([*_LISTS, *_TABLES])}")
    items: dict[str, list] = {}
    for key, (cls, id_field) in _LISTS.items():
        raw = data.get(key, [])
        if not isinstance(raw, list):
            raise ValueError(f"{path}: '{key}' must be an array of tables ([[{key}]])")
        items[key] = [_build(cls, d, f"{path}: [[{key}]] #{k + 1} ({d.get(id_field, '?') if isinstance(d, dict) else '?'})")
                      for k, d in enumerate(raw)]
        ids = [getattr(x, id_field) for x in items[key]]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"{path}: [[{key}]] {id_field} listed twice: {dup}")
    tables = {k: _build(cls, data[k], f"{path}: [{k}]") for k, cls in _TABLES.items() if k in data}
    try:
        catalog = Catalog(items["product"])
        conf = Configurator(catalog, items["model"]) if items["model"] else None
    except ValueError as e:
        raise ValueError(f"{path}: {e}") from None
    unknown_products = sorted({p for r in items["price_rule"] for p in r.product_id} - set(catalog.products))
    if unknown_products:
        raise ValueError(f"{path}: [[price_rule]] names products not in the catalogue: {unknown_products}")
    return CPQSetup(catalog=catalog, configurator=conf, price_rules=items["price_rule"],
                    pricing=tables.get("pricing", PricingPolicy()), promotions=items["promotion"],
                    promotion_policy=tables.get("promotions", PromotionPolicy()), rebates=items["rebate"],
                    approval=tables.get("approval"),
                    saleable=SaleableScope(rules=tuple(items["saleable"])) if items["saleable"] else None)


def load_catalog(path: str | Path) -> Catalog:
    """Only the catalogue of a set-up file (its ``[[product]]`` tables; other sections are
    validated too).

    Examples
    --------
    >>> from importlib.resources import files
    >>> setup = str(files("crmsim") / "examples" / "cpq_setup.toml")
    >>> sorted(load_catalog(setup).products)[:3]
    ['care', 'cpu16', 'cpu8']
    """
    return load_cpq(path).catalog
