"""Configure, price, quote (FEATURES CPQ): the catalogue, the configurator (multi-level BOMs with
constraints), price books (a deterministic precedence, stacking, floors, saleable scope),
promotions with budgets and ROI, rebates, and quotes with versions and approval routing."""

from .bom import Configurator, Constraint, Model, Option, OptionGroup
from .catalog import Catalog, Product
from .files import CPQSetup, load_catalog, load_cpq
from .pricing import (
    CONDITION_FIELDS,
    PriceRule,
    PricingPolicy,
    SaleableRule,
    SaleableScope,
    price_lines,
    price_one,
    to_base_units,
)
from .promotions import (
    Promotion,
    PromotionEngine,
    PromotionPolicy,
    PromotionResult,
    apply_promotions,
    break_even_lift,
    free_units,
    promotion_roi,
)
from .quotes import (
    ApprovalLevel,
    ApprovalPolicy,
    Quote,
    QuoteVersion,
    required_level,
    required_level_index,
)
from .rebates import RebateRule, RebateTier, accrue, compute_rebates, redeem, tier_amount

__all__ = [
    "ApprovalLevel", "ApprovalPolicy", "CONDITION_FIELDS", "CPQSetup", "load_cpq", "Catalog", "Configurator", "Constraint", "Model",
    "Option", "OptionGroup", "PriceRule", "PricingPolicy", "SaleableRule", "SaleableScope", "price_one", "Product", "Promotion", "PromotionEngine",
    "PromotionPolicy", "PromotionResult", "Quote", "QuoteVersion", "RebateRule", "RebateTier", "accrue",
    "apply_promotions", "break_even_lift", "compute_rebates", "free_units", "load_catalog", "price_lines",
    "promotion_roi", "redeem", "required_level", "required_level_index", "tier_amount", "to_base_units",
]
