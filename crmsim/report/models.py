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
    """The funnel report's figures: won, time to first contact and rep utilisation per variant,
    the changes, the baseline's funnel by channel, time to first contact and the backlog.

    Examples
    --------
    >>> from crmsim.experiments import run_experiment
    >>> from crmsim.experiments.scenario import scenario_from_dict
    >>> sc = scenario_from_dict({"schema_version": 1, "name": "t", "model": "funnel", "run": {"replications": 2,
    ...     "horizon_days": 14}, "baseline": {"reps": {"count": 2}}, "sweep": [{"name": "s", "grid": {"reps.count": [3]}}]})
    >>> res = run_experiment(sc)
    >>> figs = funnel_figures(res, res.comparison(), 0.0)
    >>> len(figs), figs[0].data[0].type
    (5, 'scatter')
    """
    return [
        comparison_figure(comparison, ["won", "ttfc_mean_h", "utilisation"]),
        comparison_figure(comparison, ["won", "revenue", "ttfc_mean_h"], diff=True),
        funnel_figure(result.tables["baseline"], result.events["baseline"], start=start,
                      title="Baseline funnel by channel (replication 0)"),
        ttfc_figure(result.tables, result.events, start=start),
        backlog_figure(result.events),
    ]


def credit_figures(result, comparison: pd.DataFrame, start: float) -> list:
    """The credit report's figures: credit losses against sales lost to holds, the changes in
    sales, losses and DSO, and replication 0's exposure and cumulative loss over the run.

    Examples
    --------
    >>> from crmsim.experiments import run_experiment
    >>> from crmsim.experiments.scenario import scenario_from_dict
    >>> sc = scenario_from_dict({"schema_version": 1, "name": "t", "model": "credit", "run": {"replications": 2,
    ...     "horizon_days": 60}, "baseline": {"customers": 40}, "sweep": [{"name": "s", "grid": {"limit_multiplier": [3.0]}}]})
    >>> res = run_experiment(sc)
    >>> figs = credit_figures(res, res.comparison(), 0.0)
    >>> len(figs), figs[0].data[0].type
    (4, 'scatter')
    """
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
    """The promotion report's figures: margin against promotion cost, the changes, ROI and
    cannibalisation, and replication 0's units per day.

    Examples
    --------
    >>> from crmsim.experiments import run_experiment
    >>> from crmsim.experiments.scenario import scenario_from_dict
    >>> sc = scenario_from_dict({"schema_version": 1, "name": "t", "model": "promo", "run": {"replications": 2,
    ...     "horizon_days": 28}, "baseline": {}, "sweep": [{"name": "s", "grid": {"customers": [500]}}]})
    >>> res = run_experiment(sc)
    >>> figs = promo_figures(res, res.comparison(), 0.0)
    >>> len(figs), figs[0].data[0].type
    (4, 'scatter')
    """
    return [
        tradeoff_figure(comparison, "promo_cost", "gross_margin", size="units",
                        title="Gross margin against promotion cost (size: units)"),
        comparison_figure(comparison, ["gross_margin", "incremental_units", "promo_cost"], diff=True),
        comparison_figure(comparison, ["promo_roi", "cannibalised_units", "avg_discount"]),  # no ROI without a promotion
        series_figure(result.events, "units", "Units sold per day (replication 0): promotions and dips"),
    ]


def field_figures(result, comparison: pd.DataFrame, start: float) -> list:
    """The field report's figures: plan adherence, travel share and visits per rep-day, coverage
    per grade, and the changes.

    Examples
    --------
    >>> from crmsim.experiments import run_experiment
    >>> from crmsim.experiments.scenario import scenario_from_dict
    >>> sc = scenario_from_dict({"schema_version": 1, "name": "t", "model": "field", "run": {"replications": 2,
    ...     "horizon_days": 14}, "baseline": {"customers": {"count": 30}, "reps": {"count": 2}}, "sweep": [{"name": "s", "grid": {"routing": [False]}}]})
    >>> res = run_experiment(sc)
    >>> figs = field_figures(res, res.comparison(), 0.0)
    >>> len(figs), figs[0].data[0].type
    (3, 'scatter')
    """
    return [
        comparison_figure(comparison, ["plan_adherence", "travel_share", "visits_per_rep_day"]),
        comparison_figure(comparison, ["coverage.A", "coverage.B", "coverage.C"]),
        comparison_figure(comparison, ["travel_share", "missed", "todos_on_time"], diff=True),
    ]


def pool_figures(result, comparison: pd.DataFrame, start: float) -> list:
    """The pool report's figures: revenue against customers lost, losses against ownership churn,
    the changes, and how many owners each customer had.

    Examples
    --------
    >>> from crmsim.experiments import run_experiment
    >>> from crmsim.experiments.scenario import scenario_from_dict
    >>> sc = scenario_from_dict({"schema_version": 1, "name": "t", "model": "pool", "run": {"replications": 2,
    ...     "horizon_days": 60}, "baseline": {"customers": {"count": 60}, "reps": {"count": 2}}, "sweep": [{"name": "s", "grid": {"reps.followups_per_day": [10]}}]})
    >>> res = run_experiment(sc)
    >>> figs = pool_figures(res, res.comparison(), 0.0)
    >>> len(figs), figs[0].data[0].type
    (4, 'scatter')
    """
    return [
        tradeoff_figure(comparison, "lost", "revenue", size="reclaims",
                        title="Revenue against customers lost (size: reclaims)"),
        tradeoff_figure(comparison, "owners_3plus", "lost",
                        title="Customers lost against ownership churn (3+ owners)"),
        comparison_figure(comparison, ["revenue", "lost", "owners_3plus"], diff=True),
        owners_figure(result.tables),
    ]
