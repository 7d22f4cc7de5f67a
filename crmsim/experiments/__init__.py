"""Scenario files, variants x replications, executors and statistics."""

from crmsim.experiments.calibrate import (
    Calibration,
    DealsMapping,
    LeadHistory,
    LeadHistoryMapping,
    calibrate,
    historical_metrics,
    load_lead_history,
    load_mapping,
    split_validation,
    validation_table,
)
from crmsim.experiments.credit_twin import (
    CreditCalibration,
    CreditHistory,
    calibrate_credit,
    card_statement_history,
    credit_split_validation,
    load_credit_history,
)
from crmsim.experiments.decision import Constraint, Decision, Recommendation, Term, decide
from crmsim.experiments.pool_twin import PoolCalibration, calibrate_pool, pool_split_validation
from crmsim.experiments.runner import (
    ExperimentResult,
    fast_mode,
    make_executor,
    replication_seed,
    run_experiment,
    run_to_precision,
)
from crmsim.experiments.scenario import (
    Scenario,
    ScenarioError,
    dump_resolved,
    load_scenario,
    parse_assignments,
    variants,
)
from crmsim.experiments.stats import compare, mean_ci, replications_needed, select_best
from crmsim.experiments.store import RunStore, query

__all__ = [
    "Constraint",
    "Decision",
    "Recommendation",
    "Term",
    "decide",
    "PoolCalibration",
    "calibrate_pool",
    "pool_split_validation",
    "CreditCalibration",
    "CreditHistory",
    "calibrate_credit",
    "card_statement_history",
    "credit_split_validation",
    "load_credit_history",
    "ExperimentResult",
    "LeadHistoryMapping",
    "DealsMapping",
    "LeadHistory",
    "Calibration",
    "load_mapping",
    "split_validation",
    "calibrate",
    "historical_metrics",
    "load_lead_history",
    "validation_table",
    "Scenario",
    "ScenarioError",
    "compare",
    "dump_resolved",
    "fast_mode",
    "load_scenario",
    "make_executor",
    "query",
    "replications_needed",
    "run_to_precision",
    "select_best",
    "RunStore",
    "mean_ci",
    "parse_assignments",
    "replication_seed",
    "run_experiment",
    "variants",
]
