"""Leads (FEATURES L2C-1..3): scoring, assignment, lifecycle rules and funnel metrics."""

from crmsim.leads.assignment import SHARED, Assigner, AssignmentRule
from crmsim.leads.lifecycle import HBR_2011_RESPONSE, RecycleRule, ResponseCurve
from crmsim.leads.metrics import MILESTONES, funnel_by_channel, funnel_metrics
from crmsim.leads.scoring import PointsRule, ScoringRule

__all__ = [
    "HBR_2011_RESPONSE",
    "MILESTONES",
    "SHARED",
    "Assigner",
    "AssignmentRule",
    "PointsRule",
    "RecycleRule",
    "ResponseCurve",
    "ScoringRule",
    "funnel_by_channel",
    "funnel_metrics",
]
