"""Customers (FEATURES L2C-4): public-pool rules, profile, grading and activity models."""

from crmsim.customers.activity import (
    BGNBD,
    PAliveRule,
    ParetoNBD,
    fit_bgnbd,
    fit_paretonbd,
    summary_from_transactions,
)
from crmsim.customers.grading import (
    Tier,
    TierRules,
    abc_classes,
    potential_value_matrix,
    rfm_scores,
)
from crmsim.customers.pool import (
    AUDIT_COLUMNS,
    REFUSALS,
    ClaimRules,
    Pool,
    ReclaimPolicy,
    ReclaimRule,
    assign,
    claim,
    days_until_reclaim,
    due_for_reclaim,
    pool_for,
    reclaim,
)
from crmsim.customers.profile import customer_profile

__all__ = [
    "AUDIT_COLUMNS",
    "BGNBD",
    "PAliveRule",
    "ParetoNBD",
    "fit_bgnbd",
    "fit_paretonbd",
    "summary_from_transactions",
    "Tier",
    "TierRules",
    "abc_classes",
    "customer_profile",
    "potential_value_matrix",
    "rfm_scores",
    "REFUSALS",
    "ClaimRules",
    "Pool",
    "ReclaimPolicy",
    "ReclaimRule",
    "assign",
    "claim",
    "days_until_reclaim",
    "due_for_reclaim",
    "pool_for",
    "reclaim",
]
