"""A self-contained HTML report: plotly.js inlined once, every figure after it."""

from __future__ import annotations

import html
import importlib
from collections.abc import Mapping
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go

from crmsim.report.figures import comparison_figure
from crmsim.sim.registry import MODELS, get_model

__all__ = ["KEY_METRICS", "write_report", "render_html", "response_figures", "model_figures"]

class _KeyMetrics(Mapping):
    """Model name -> the metrics shown first (from each model's registered spec)."""

    def __getitem__(self, model: str) -> list[str]:
        return list(get_model(model).key_metrics)

    def __iter__(self):
        get_model("funnel")
        return iter(MODELS)

    def __len__(self) -> int:
        get_model("funnel")
        return len(MODELS)


#: the metrics shown first, per model
KEY_METRICS = _KeyMetrics()


def model_figures(result, comparison: pd.DataFrame, keys: list[str], start: float) -> list:
    """The figures the model's spec names, or, for a model that names none, its first key
    metrics compared (never another model's figures)."""
    spec = get_model(result.scenario.model)
    if spec.figures is None:
        return [comparison_figure(comparison, keys[:3]), comparison_figure(comparison, keys[:3], diff=True)]
    module, _, name = spec.figures.partition(":")
    return getattr(importlib.import_module(module), name)(result, comparison, start)


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
    blocks += model_figures(result, comparison, keys, start)
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
