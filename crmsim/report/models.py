"""The report figures of each bundled model (named by the model's spec, ``figures =
"crmsim.report.models:<name>_figures"``): ``f(result, comparison, start) -> list[Figure]``."""

from __future__ import annotations

import pandas as pd

from crmsim.report.figures import (
    backlog_figure,
    comparison_figure,
    funnel_figure,
    owners_figure,
    tradeoff_figure,
    ttfc_figure,
)
from crmsim.report.html import series_figure
from crmsim.units import MINOR_PER_MAJOR


def _money(result) -> str:
    return getattr(result.scenario, "currency", "") or "currency units"

__all__ = ["funnel_figures", "credit_figures", "promo_figures", "field_figures", "pool_figures"]


def funnel_figures(result, comparison: pd.DataFrame, start: float) -> list:
    return [
        comparison_figure(comparison, ["won", "ttfc_mean_h", "utilisation"]),
        comparison_figure(comparison, ["won", "revenue", "ttfc_mean_h"], diff=True),
        funnel_figure(result.tables["baseline"], result.events["baseline"], start=start,
                      title="Baseline funnel by channel (replication 0)"),
        ttfc_figure(result.tables, result.events, start=start),
        backlog_figure(result.events),
    ]


def credit_figures(result, comparison: pd.DataFrame, start: float) -> list:
    return [
        tradeoff_figure(comparison, "lost_sales", "credit_loss", size="avg_exposure",
                        title="Credit losses against sales lost to holds (size: exposure)"),
        comparison_figure(comparison, ["sales", "credit_loss", "dso"], diff=True),
        series_figure(result.events, "exposure", "Open exposure over the year (replication 0)", scale=1 / MINOR_PER_MAJOR,
                      yaxis_title=_money(result)),
        series_figure(result.events, "cumulative_loss", "Cumulative credit loss (replication 0)",
                      scale=1 / MINOR_PER_MAJOR, yaxis_title=_money(result)),
    ]


def promo_figures(result, comparison: pd.DataFrame, start: float) -> list:
    return [
        tradeoff_figure(comparison, "promo_cost", "gross_margin", size="units",
                        title="Gross margin against promotion cost (size: units)"),
        comparison_figure(comparison, ["gross_margin", "incremental_units", "promo_cost"], diff=True),
        comparison_figure(comparison, ["promo_roi", "cannibalised_units", "avg_discount"]),  # no ROI without a promotion
        series_figure(result.events, "units", "Units sold per day (replication 0): promotions and dips"),
    ]


def field_figures(result, comparison: pd.DataFrame, start: float) -> list:
    return [
        comparison_figure(comparison, ["plan_adherence", "travel_share", "visits_per_rep_day"]),
        comparison_figure(comparison, ["coverage.A", "coverage.B", "coverage.C"]),
        comparison_figure(comparison, ["travel_share", "missed", "todos_on_time"], diff=True),
    ]


def pool_figures(result, comparison: pd.DataFrame, start: float) -> list:
    return [
        tradeoff_figure(comparison, "lost", "revenue", size="reclaims",
                        title="Revenue against customers lost (size: reclaims)"),
        tradeoff_figure(comparison, "owners_3plus", "lost",
                        title="Customers lost against ownership churn (3+ owners)"),
        comparison_figure(comparison, ["revenue", "lost", "owners_3plus"], diff=True),
        owners_figure(result.tables),
    ]
