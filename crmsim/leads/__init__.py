"""Leads (FEATURES L2C-1..3): scoring, assignment, lifecycle rules and funnel metrics."""

from crmsim.leads.assignment import SHARED, UNASSIGNED_REASONS, Assigner, AssignmentRule, Route
from crmsim.leads.dedup import (
    LEAD_DEDUP,
    BlockingKey,
    DedupRule,
    FieldComparator,
    Survivorship,
    merge,
    pair_quality,
    unmerge,
)
from crmsim.leads.intake import (
    ANONYMISED,
    IntakeResult,
    IntakeRules,
    SourceMapping,
    intake,
    normalise_company,
    normalise_phone,
)
from crmsim.leads.lifecycle import (
    HBR_2011_RESPONSE,
    LIFECYCLE_STAGES,
    Lifecycle,
    RecallRule,
    RecycleRule,
    ResponseCurve,
    TransitionError,
    stage_metrics,
)
from crmsim.leads.metrics import MILESTONES, funnel_by_channel, funnel_metrics
from crmsim.leads.pls import FrequencyTable, update_probabilities
from crmsim.leads.predictive import (
    evaluate,
    fit_logistic,
    fit_naive_bayes,
    leakage,
    points_from_logistic,
    scoring_rule_from_points,
    split,
)
from crmsim.leads.profile import lead_profile
from crmsim.leads.scoring import BehaviourRule, PointsRule, ScoringRule, TagRule

__all__ = [
    "HBR_2011_RESPONSE",
    "LEAD_DEDUP",
    "LIFECYCLE_STAGES",
    "MILESTONES",
    "SHARED",
    "UNASSIGNED_REASONS",
    "Assigner",
    "AssignmentRule",
    "BehaviourRule",
    "BlockingKey",
    "DedupRule",
    "FieldComparator",
    "FrequencyTable",
    "leakage",
    "points_from_logistic",
    "scoring_rule_from_points",
    "update_probabilities",
    "IntakeRules",
    "Lifecycle",
    "PointsRule",
    "RecallRule",
    "RecycleRule",
    "ResponseCurve",
    "Route",
    "ScoringRule",
    "SourceMapping",
    "ANONYMISED",
    "IntakeResult",
    "Survivorship",
    "TagRule",
    "TransitionError",
    "evaluate",
    "fit_logistic",
    "fit_naive_bayes",
    "funnel_by_channel",
    "funnel_metrics",
    "intake",
    "lead_profile",
    "merge",
    "normalise_company",
    "normalise_phone",
    "pair_quality",
    "split",
    "stage_metrics",
    "unmerge",
]
