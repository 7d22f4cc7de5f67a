"""The product catalogue (FEATURES CPQ): products with a category, a product form, a base unit and
other units with their conversion, specs (a product sold in several variants: colour, size,
edition) and free attributes, a base price and a unit cost. Money in minor units per base unit.

A :class:`Catalog` is built from :class:`Product` objects, from tables
(:meth:`Catalog.from_frames`: products, units, specs) or from a TOML file
(:func:`crmsim.cpq.files.load_catalog`); every error names the product, field and what was expected. Its
:meth:`~Catalog.frame` and :meth:`~Catalog.units` are the ``catalog`` and ``units`` tables that
:func:`crmsim.cpq.pricing.price_lines` reads.

Examples
--------
>>> cat = Catalog([Product(product_id="paper", category="office", base_unit="sheet", base_price=2,
...                        units={"ream": 500, "box": 2500}, specs={"size": ("A4", "A3")})])
>>> cat.convert("paper", 3, "ream")
1500.0
>>> cat.convert("paper", 5000, "sheet", to="box")
2.0
>>> cat.sku("paper", size="A3")
'paper[size=A3]'
>>> cat.sku("paper", size="A5")
Traceback (most recent call last):
...
ValueError: product 'paper': spec 'size' has no value 'A5'; allowed: ['A4', 'A3']
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from typing import Literal

import pandas as pd
from pydantic import Field, ValidationError, model_validator

from crmsim.config import Config
from crmsim.errors import validation_message
from crmsim.tables import read_table, validate

__all__ = ["Product", "Catalog"]


class Product(Config):
    """One product of the catalogue. ``units`` maps a unit to the base units it holds (the base
    unit itself is 1 and need not be listed); ``specs`` maps a spec to its allowed values.

    Examples
    --------
    >>> p = Product(product_id="paper", category="office", base_unit="sheet", base_price=2, units={"ream": 500},
    ...             specs={"size": ("A4", "A3")})
    >>> Catalog([p]).convert("paper", 2, "ream")
    1000.0
    """

    product_id: str
    name: str = ""
    category: str
    form: Literal["physical", "virtual", "service", "project"] = "physical"
    base_unit: str = "piece"
    base_price: int = Field(ge=0)              # minor units per base unit
    cost: int | None = Field(default=None, ge=0)
    units: dict[str, float] = {}
    specs: dict[str, tuple[str, ...]] = {}
    attributes: dict[str, str | int | float | bool] = {}

    @model_validator(mode="after")
    def _check(self) -> Product:
        for u, f in self.units.items():
            if not f > 0:
                raise ValueError(f"product '{self.product_id}': unit '{u}' needs a factor > 0 base units, got {f}")
        if self.base_unit in self.units and self.units[self.base_unit] != 1:
            raise ValueError(f"product '{self.product_id}': the base unit '{self.base_unit}' has factor 1, "
                             f"got {self.units[self.base_unit]}")
        for s, vals in self.specs.items():
            if not vals or len(set(vals)) != len(vals):
                raise ValueError(f"product '{self.product_id}': spec '{s}' needs distinct values, got {list(vals)}")
        return self

    def factor(self, unit: str) -> float:
        """Base units per ``unit``."""
        if unit == self.base_unit:
            return 1.0
        try:
            return float(self.units[unit])
        except KeyError:
            raise KeyError(f"product '{self.product_id}': unit '{unit}' is not defined; units are "
                           f"{[self.base_unit, *self.units]}") from None


class Catalog:
    """Products by id, with unit conversion, SKUs and the tables pricing reads.

    Examples
    --------
    >>> cat = Catalog([Product(product_id="ink", category="office", base_price=1_500, units={"box": 10})])
    >>> cat.convert("ink", 25, "piece", to="box"), cat.frame()[["product_id", "base_price"]].values.tolist()
    (2.5, [['ink', 1500]])
    """

    def __init__(self, products: Iterable[Product]):
        self.products: dict[str, Product] = {}
        for p in products:
            if p.product_id in self.products:
                raise ValueError(f"product '{p.product_id}' is listed twice in the catalogue")
            self.products[p.product_id] = p

    def __getitem__(self, product_id: str) -> Product:
        try:
            return self.products[product_id]
        except KeyError:
            raise KeyError(f"product '{product_id}' is not in the catalogue") from None

    def __contains__(self, product_id: object) -> bool:
        return product_id in self.products

    def __len__(self) -> int:
        return len(self.products)

    def __iter__(self):
        return iter(self.products.values())

    def convert(self, product_id: str, qty: float, unit: str, to: str | None = None) -> float:
        """``qty`` of ``unit`` in ``to`` (default: the product's base unit)."""
        p = self[product_id]
        return float(qty) * p.factor(unit) / p.factor(to or p.base_unit)

    def sku(self, product_id: str, **spec: str) -> str:
        """The SKU code of a product variant; every spec must be given, with an allowed value."""
        p = self[product_id]
        missing = sorted(set(p.specs) - set(spec))
        extra = sorted(set(spec) - set(p.specs))
        if missing or extra:
            raise ValueError(f"product '{product_id}': specs needed {sorted(p.specs)}, missing {missing}, "
                             f"unknown {extra}")
        for k, v in spec.items():
            if v not in p.specs[k]:
                raise ValueError(f"product '{product_id}': spec '{k}' has no value '{v}'; allowed: {list(p.specs[k])}")
        if not p.specs:
            return product_id
        return product_id + "[" + ",".join(f"{k}={spec[k]}" for k in p.specs) + "]"

    def skus(self, product_id: str) -> list[str]:
        """Every variant of a product (the product of its specs' values)."""
        p = self[product_id]
        names = list(p.specs)
        return [self.sku(product_id, **dict(zip(names, combo)))
                for combo in itertools.product(*(p.specs[k] for k in names))]

    def frame(self) -> pd.DataFrame:
        """One row per product: id, name, category, form, base unit, base price, cost and the
        attributes as columns (missing where a product lacks one)."""
        rows = []
        for p in self:
            d = {"product_id": p.product_id, "name": p.name or p.product_id, "category": p.category,
                 "form": p.form, "base_unit": p.base_unit, "base_price": p.base_price,
                 "cost": pd.NA if p.cost is None else p.cost}
            d.update(p.attributes)
            rows.append(d)
        df = pd.DataFrame(rows)
        df["cost"] = df["cost"].astype("Int64")
        return df

    def units(self) -> pd.DataFrame:
        """``product_id, unit, factor``: every unit of every product, the base unit with factor 1."""
        rows = [(p.product_id, p.base_unit, 1.0) for p in self]
        rows += [(p.product_id, u, float(f)) for p in self for u, f in p.units.items() if u != p.base_unit]
        return pd.DataFrame(rows, columns=["product_id", "unit", "factor"])

    @classmethod
    def from_frames(cls, products, units=None, specs=None, *, source: str = "catalogue") -> Catalog:
        """Build from tables (DataFrames or CSV/Parquet paths): ``products`` with ``product_id,
        category, form, base_unit, base_price`` (+ ``name``, ``cost``, and any other column as an
        attribute); ``units`` with ``product_id, unit, factor``; ``specs`` with ``product_id, spec,
        value``. Errors name the table, the column and the rows."""
        df = read_table(products, source=source)
        for col in ("base_price", "cost"):
            if col in df.columns:
                num = pd.to_numeric(df[col], errors="coerce")
                bad = num.isna() & df[col].notna() | (num.notna() & (num % 1 != 0))
                if bad.any():
                    raise ValueError(f"{source}: column '{col}' expects whole minor units (cents); rows "
                                     f"{df.loc[bad, 'product_id'].tolist()[:10]} have {df.loc[bad, col].tolist()[:10]}")
                df[col] = num.astype("Int64") if col == "cost" else num.astype("int64")
        validate("products", df.drop(columns=["cost"], errors="ignore"), source=source)
        u = read_table(units, source=f"{source} units") if units is not None else pd.DataFrame(columns=["product_id", "unit", "factor"])
        s = read_table(specs, source=f"{source} specs") if specs is not None else pd.DataFrame(columns=["product_id", "spec", "value"])
        for name, t, cols in (("units", u, ("product_id", "unit", "factor")), ("specs", s, ("product_id", "spec", "value"))):
            miss = [c for c in cols if c not in t.columns]
            if miss:
                raise ValueError(f"{source} {name}: missing columns {miss}; expected {list(cols)}")
            orphan = sorted(set(t["product_id"]) - set(df["product_id"]))
            if orphan:
                raise ValueError(f"{source} {name}: products {orphan[:10]} are not in the products table")
        core = {"product_id", "name", "category", "form", "base_unit", "base_price", "cost"}
        out = []
        for i, r in df.iterrows():
            pid = r["product_id"]
            pu = u[u["product_id"] == pid]
            ps = s[s["product_id"] == pid]
            try:
                out.append(Product(
                    product_id=pid, name=str(r.get("name") or ""), category=r["category"], form=r["form"],
                    base_unit=r["base_unit"], base_price=int(r["base_price"]),
                    cost=None if "cost" not in df.columns or pd.isna(r["cost"]) else int(r["cost"]),
                    units={k: float(f) for k, f in zip(pu["unit"], pu["factor"])},
                    specs={k: tuple(g["value"]) for k, g in ps.groupby("spec", sort=False)},
                    attributes={k: v for k, v in r.items() if k not in core and not pd.isna(v)},
                ))
            except ValidationError as e:
                raise ValueError(f"{source}: row {i} (product '{pid}'): {validation_message(e)}") from None
        return cls(out)
