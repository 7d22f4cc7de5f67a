"""A self-contained HTML report: plotly.js inlined once, every figure after it."""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go

from crmsim.report.figures import backlog_figure, comparison_figure, funnel_figure, ttfc_figure

__all__ = ["KEY_METRICS", "write_report", "render_html"]

KEY_METRICS = ["won", "revenue", "ttfc_mean_h", "utilisation", "cost_per_won", "recycled"]


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
    base_ev, base_leads = result.events["baseline"], result.leads["baseline"]
    table = comparison[comparison["metric"].isin(KEY_METRICS)].pivot(
        index="variant", columns="metric", values="mean").reindex(columns=KEY_METRICS)
    table = table.reindex(list(dict.fromkeys(comparison["variant"])))
    blocks: list[str | go.Figure] = [
        f"<p>{html.escape(sc.description)}</p>",
        f"<p>{len(table)} variants x {sc.run.replications} replications, horizon "
        f"{sc.run.horizon_days:g} days, warm-up {sc.run.warmup_days:g} days, base seed "
        f"{sc.run.base_seed}. Means over replications; CIs are 95% Student-t; differences are "
        "paired by replication (common random numbers).</p>",
        table.round(3).to_html(),
        comparison_figure(comparison, ["won", "ttfc_mean_h", "utilisation"]),
        comparison_figure(comparison, ["won", "revenue", "ttfc_mean_h"], diff=True),
        funnel_figure(base_leads, base_ev, start=start, title="Baseline funnel by channel (replication 0)"),
        ttfc_figure(result.leads, result.events, start=start),
        backlog_figure(result.events),
    ]
    path = Path(path)
    path.write_text(render_html(f"crmsim: {sc.name}", blocks), encoding="utf-8")
    return path
