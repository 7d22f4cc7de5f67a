"""Pipeline (FEATURES L2C-5): opportunities, the sales process, history loading, analytics and
forecasting."""

from crmsim.pipeline.history import HistoryMapping, canonical_text, load_history, parse_amount
from crmsim.pipeline.opportunities import SalesProcess, Stage, StageError, check_history, stage_at

__all__ = [
    "HistoryMapping",
    "SalesProcess",
    "Stage",
    "StageError",
    "canonical_text",
    "check_history",
    "load_history",
    "parse_amount",
    "stage_at",
]
