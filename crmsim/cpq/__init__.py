"""Configure, price, quote (FEATURES CPQ). So far: the pricing engine (price books as rules with a
deterministic precedence, stacking, floors and ceilings, saleable scope, unit conversion)."""

from crmsim.cpq.pricing import (
    CONDITION_FIELDS,
    PriceRule,
    PricingPolicy,
    price_lines,
    to_base_units,
)

__all__ = ["CONDITION_FIELDS", "PriceRule", "PricingPolicy", "price_lines", "to_base_units"]
