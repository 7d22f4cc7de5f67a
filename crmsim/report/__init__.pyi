"""Plotly figures and the self-contained HTML report."""

from .figures import (
    backlog_figure,
    comparison_figure,
    funnel_figure,
    owners_figure,
    split_validation_figure,
    tradeoff_figure,
    ttfc_figure,
    validation_figure,
)
from .html import (
    KEY_METRICS,
    decision_block,
    display_comparison,
    render_html,
    write_report,
)

__all__ = [
    "KEY_METRICS",
    "backlog_figure",
    "comparison_figure",
    "decision_block",
    "display_comparison",
    "funnel_figure",
    "owners_figure",
    "render_html",
    "tradeoff_figure",
    "ttfc_figure",
    "split_validation_figure",
    "validation_figure",
    "write_report",
]
