"""SimPy worlds: the engine and one module per simulation."""

from crmsim.sim.credit import CreditConfig, CreditResult, simulate_credit
from crmsim.sim.distributions import (
    Constant,
    Distribution,
    Empirical,
    Exponential,
    Gamma,
    LogNormal,
    Triangular,
)
from crmsim.sim.engine import EventLog, Result, Streams, WorkCalendar, World
from crmsim.sim.field import FieldConfig, FieldCustomers, FieldReps, FieldResult, simulate_field
from crmsim.sim.funnel import FunnelConfig, FunnelResult, OutcomeConfig, RepsConfig, simulate_funnel
from crmsim.sim.pool import PoolConfig, PoolCustomers, PoolReps, PoolResult, simulate_pool
from crmsim.sim.promo import PromoConfig, PromoProduct, PromoResult, Segment, simulate_promo

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
