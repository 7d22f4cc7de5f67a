"""SimPy worlds: the engine and one module per simulation."""

from .credit import CreditConfig, CreditResult, simulate_credit
from .distributions import (
    Constant,
    Distribution,
    Empirical,
    Exponential,
    Gamma,
    LogNormal,
    Triangular,
)
from .engine import EventLog, Result, Streams, WorkCalendar, World
from .field import FieldConfig, FieldCustomers, FieldReps, FieldResult, simulate_field
from .funnel import FunnelConfig, FunnelResult, OutcomeConfig, RepsConfig, simulate_funnel
from .pool import PoolConfig, PoolCustomers, PoolReps, PoolResult, simulate_pool
from .promo import PromoConfig, PromoProduct, PromoResult, Segment, simulate_promo
from .records import RecordsConfig

__all__ = [
    "Constant",
    "CreditConfig",
    "CreditResult",
    "Distribution",
    "Empirical",
    "EventLog",
    "FieldConfig",
    "FieldCustomers",
    "FieldReps",
    "FieldResult",
    "Exponential",
    "FunnelConfig",
    "FunnelResult",
    "Gamma",
    "LogNormal",
    "OutcomeConfig",
    "PoolConfig",
    "PoolCustomers",
    "PoolReps",
    "PoolResult",
    "PromoConfig",
    "PromoProduct",
    "PromoResult",
    "RecordsConfig",
    "RepsConfig",
    "Result",
    "Segment",
    "Streams",
    "Triangular",
    "WorkCalendar",
    "World",
    "simulate_credit",
    "simulate_field",
    "simulate_funnel",
    "simulate_pool",
    "simulate_promo",
]
