"""Customers (FEATURES L2C-4): public-pool rules, profile, grading and activity models."""

from crmsim.customers.activity import (
    BGNBD,
    PAliveRule,
    ParetoNBD,
    fit_bgnbd,
    fit_paretonbd,
    summary_from_transactions,
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

__all__ = [
    "AUDIT_COLUMNS",
    "BGNBD",
    "PAliveRule",
    "ParetoNBD",
    "fit_bgnbd",
    "fit_paretonbd",
    "summary_from_transactions",
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
