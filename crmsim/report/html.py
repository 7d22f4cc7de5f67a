"""A self-contained HTML report: plotly.js inlined once, every figure after it."""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go

from crmsim.report.figures import (
    backlog_figure,
    comparison_figure,
    funnel_figure,
    owners_figure,
    tradeoff_figure,
    ttfc_figure,
)

__all__ = ["KEY_METRICS", "write_report", "render_html", "response_figures"]

#: the metrics shown first, per model
KEY_METRICS = {
    "funnel": ["won", "revenue", "ttfc_mean_h", "utilisation", "cost_per_won", "recycled"],
    "pool": ["revenue", "deals", "lost", "reclaims", "owners_3plus", "median_silent_days",
             "utilisation", "gini_holding"],
    "field": ["plan_adherence", "travel_share", "visits_per_rep_day", "missed", "coverage.A",
              "coverage.B", "coverage.C", "todos_on_time"],
    "credit": ["sales", "lost_sales", "credit_loss", "dso", "avg_exposure", "allowance", "holds",
               "paid_late_share"],
    "promo": ["gross_margin", "revenue", "units", "promo_cost", "promo_roi", "incremental_units",
              "avg_discount", "deals_lost_waiting"],
}


def render_html(title: str, blocks: list[str | go.Figure]) -> str:
    """One page: strings are HTML paragraphs/tables, figures are embedded (plotly.js once)."""
    parts, first = [], True
    for b in blocks:
        if isinstance(b, go.Figure):
            parts.append(b.to_html(full_html=False, include_plotlyjs="inline" if first else False))
            first = False
        else:
            parts.append(b)
    body = "\n".join(parts)
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title>"
        "<style>body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px}"
        "table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:3px 6px;"
        "text-align:right}</style></head><body>"
        f"<h1>{html.escape(title)}</h1>{body}</body></html>"
    )


def write_report(path: str | Path, result, comparison: pd.DataFrame) -> Path:
    """Write ``report.html`` for an :class:`~crmsim.experiments.ExperimentResult`."""
    sc = result.scenario
    start = sc.run.warmup_days
    keys = KEY_METRICS[sc.model]
    c = comparison[comparison["metric"].isin(keys)].copy()
    c["cell"] = [f"{m:.4g} [{lo:.4g}, {hi:.4g}]" if hi == hi else f"{m:.4g}"
                 for m, lo, hi in zip(c["mean"], c["ci_low"], c["ci_high"])]
    table = c.pivot(index="variant", columns="metric", values="cell").reindex(columns=keys)
    table = table.reindex(list(dict.fromkeys(comparison["variant"])))
    table.columns.name = None  # one header row: the metrics
    blocks: list[str | go.Figure] = [
        f"<p>{html.escape(sc.description)}</p>",
        f"<p>{len(table)} variants x {sc.run.replications} replications, horizon "
        f"{sc.run.horizon_days:g} days, warm-up {sc.run.warmup_days:g} days, base seed "
        f"{sc.run.base_seed}. Means over replications; CIs are 95% Student-t; differences are "
        "paired by replication (common random numbers).</p>",
        "<h2>Comparison (mean [95% CI] over replications)</h2>",
        table.to_html(),
    ]
    curves = response_figures(result, keys[:3])
    if curves:
        blocks += ["<h2>Sweep response curves</h2>", *curves]
    if sc.model == "funnel":
        blocks += [
            comparison_figure(comparison, ["won", "ttfc_mean_h", "utilisation"]),
            comparison_figure(comparison, ["won", "revenue", "ttfc_mean_h"], diff=True),
            funnel_figure(result.tables["baseline"], result.events["baseline"], start=start,
                          title="Baseline funnel by channel (replication 0)"),
            ttfc_figure(result.tables, result.events, start=start),
            backlog_figure(result.events),
        ]
    elif sc.model == "credit":
        blocks += [
            tradeoff_figure(comparison, "lost_sales", "credit_loss", size="avg_exposure",
                            title="Credit losses against sales lost to holds (size: exposure)"),
            comparison_figure(comparison, ["sales", "credit_loss", "dso"], diff=True),
            series_figure(result.events, "exposure", "Open exposure over the year (replication 0, cents)"),
            series_figure(result.events, "cumulative_loss", "Cumulative credit loss (replication 0, cents)"),
        ]
    elif sc.model == "promo":
        blocks += [
            tradeoff_figure(comparison, "promo_cost", "gross_margin", size="units",
                            title="Gross margin against promotion cost (size: units)"),
            comparison_figure(comparison, ["gross_margin", "incremental_units", "promo_cost"], diff=True),
            comparison_figure(comparison, ["promo_roi", "cannibalised_units", "avg_discount"]),   # no ROI without a promotion
            series_figure(result.events, "units", "Units sold per day (replication 0): promotions and dips"),
        ]
    elif sc.model == "field":
        blocks += [
            comparison_figure(comparison, ["plan_adherence", "travel_share", "visits_per_rep_day"]),
            comparison_figure(comparison, ["coverage.A", "coverage.B", "coverage.C"]),
            comparison_figure(comparison, ["travel_share", "missed", "todos_on_time"], diff=True),
        ]
    else:
        blocks += [
            tradeoff_figure(comparison, "lost", "revenue", size="reclaims",
                            title="Revenue against customers lost (size: reclaims)"),
            tradeoff_figure(comparison, "owners_3plus", "lost",
                            title="Customers lost against ownership churn (3+ owners)"),
            comparison_figure(comparison, ["revenue", "lost", "owners_3plus"], diff=True),
            owners_figure(result.tables),
        ]
    from crmsim.experiments.scenario import dump_resolved

    blocks += ["<h2>Scenario</h2>", f"<pre>{html.escape(dump_resolved(sc))}</pre>"]
    path = Path(path)
    path.write_text(render_html(f"crmsim: {sc.name}", blocks), encoding="utf-8")
    return path


def series_figure(events_by_variant: dict, event: str, title: str) -> go.Figure:
    """A daily system series (e.g. exposure) per variant from the event logs."""
    fig = go.Figure()
    for name, ev in events_by_variant.items():
        e = ev[ev["event"] == event]
        fig.add_trace(go.Scatter(x=e["t"], y=e["value"], mode="lines", name=name))
    fig.update_layout(title=title, xaxis_title="day")
    return fig


def _at(d, path: str):
    for part in path.split("."):
        d = d[int(part)] if isinstance(d, list) else d[part]
    return d


def response_figures(result, metrics: list[str]) -> list[go.Figure]:
    """For each sweep with a numeric grid path: each metric's mean and 95% CI against that value
    (one line per combination of the sweep's other paths)."""
    from crmsim.experiments.scenario import variants
    from crmsim.experiments.stats import mean_ci

    sc = result.scenario
    vs = variants(sc)
    figs = []
    for sw in sc.sweep:
        for path, values in sw.grid.items():
            if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
                continue
            for m in metrics:
                if m not in result.summary.columns:
                    continue
                lines: dict[str, list] = {}
                for v in vs:  # every variant, the baseline included, read at the sweep's paths
                    d = v.config.model_dump(mode="json", by_alias=True)
                    vals = {p: _at(d, p) for p in sw.grid}
                    if v.overrides and set(v.overrides) != set(sw.grid):
                        continue  # a variant of another sweep
                    others = ",".join(f"{p}={vals[p]}" for p in sw.grid if p != path) or m
                    mean, lo, hi = mean_ci(result.summary.loc[result.summary["variant"] == v.name, m])
                    lines.setdefault(others, []).append((vals[path], mean, lo, hi))
                if not lines:
                    continue
                fig = go.Figure()
                for name, pts in lines.items():
                    pts.sort()
                    x, y, lo, hi = zip(*pts)
                    fig.add_trace(go.Scatter(x=x, y=y, mode="lines+markers", name=name, error_y={
                        "type": "data", "symmetric": False,
                        "array": [b - a if b == b else 0 for a, b in zip(y, hi)],
                        "arrayminus": [a - b if b == b else 0 for a, b in zip(y, lo)]}))
                fig.update_layout(title=f"{m} against {path}", xaxis_title=path, yaxis_title=m)
                figs.append(fig)
    return figs
