"""Plotly figures for funnel experiments."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from crmsim.leads.metrics import funnel_by_channel

__all__ = ["funnel_figure", "ttfc_figure", "comparison_figure", "backlog_figure", "tradeoff_figure",
           "owners_figure", "validation_figure", "split_validation_figure", "FUNNEL_STAGES"]

FUNNEL_STAGES = ("leads", "mql", "contacted", "sql", "opportunity", "won")


def funnel_figure(leads: pd.DataFrame, events: pd.DataFrame, *, start: float = 0.0,
                  title: str = "Funnel by channel") -> go.Figure:
    """A funnel (leads -> MQL -> contacted -> SQL -> opportunity -> won), one trace per channel.

    Examples
    --------
    >>> from crmsim.sim.funnel import FunnelConfig, simulate_funnel
    >>> r = simulate_funnel(FunnelConfig(reps={"count": 2}), seed=1, horizon_days=14)
    >>> fig = funnel_figure(r.table, r.events)
    >>> len(fig.data) == r.table["channel"].nunique(), fig.data[0].type
    (True, 'funnel')
    """
    by = funnel_by_channel(leads, events, start=start)
    fig = go.Figure()
    for ch, row in by.iterrows():
        fig.add_trace(go.Funnel(name=str(ch), y=list(FUNNEL_STAGES),
                                x=[int(row[s]) for s in FUNNEL_STAGES], textinfo="value"))
    fig.update_layout(title=title, legend_title_text="channel")
    return fig


def ttfc_hours(leads: pd.DataFrame, events: pd.DataFrame, *, start: float = 0.0) -> np.ndarray:
    """Hours from creation to first contact of each contacted lead created at or after ``start``."""
    c = events[events["event"] == "contacted"].groupby("entity_id", observed=True)["t"].min()
    created = leads.set_index("lead_id")["created"]
    c = c[created.loc[c.index].to_numpy() >= start]
    return ((c - created.loc[c.index]) * 24).to_numpy()


def ttfc_figure(leads_by_variant: dict[str, pd.DataFrame], events_by_variant: dict[str, pd.DataFrame],
                *, start: float = 0.0, max_hours: float = 120.0) -> go.Figure:
    """Distribution of the time to first contact (hours) per variant, as overlaid histograms.

    Examples
    --------
    >>> from crmsim.sim.funnel import FunnelConfig, simulate_funnel
    >>> r = simulate_funnel(FunnelConfig(reps={"count": 2}), seed=1, horizon_days=14)
    >>> fig = ttfc_figure({"baseline": r.table}, {"baseline": r.events})
    >>> [t.type for t in fig.data]
    ['histogram']
    """
    fig = go.Figure()
    for name, ev in events_by_variant.items():
        h = ttfc_hours(leads_by_variant[name], ev, start=start)
        fig.add_trace(go.Histogram(x=np.minimum(h, max_hours), name=name, opacity=0.55,
                                   xbins={"start": 0, "end": max_hours, "size": 2},
                                   histnorm="probability"))
    fig.update_layout(barmode="overlay", title="Time to first contact (replication 0)",
                      xaxis_title=f"hours (capped at {max_hours:g})", yaxis_title="share of contacted leads")
    return fig


def comparison_figure(comparison: pd.DataFrame, metrics: list[str], *, diff: bool = False) -> go.Figure:
    """Mean (or paired difference to the baseline) with its 95% CI per variant, a panel per metric.

    Examples
    --------
    >>> from crmsim.experiments import run_experiment
    >>> from crmsim.experiments.scenario import scenario_from_dict
    >>> sc = scenario_from_dict({"schema_version": 1, "name": "tiny", "model": "credit", "currency": "EUR",
    ...     "run": {"replications": 3, "horizon_days": 60},
    ...     "baseline": {"customers": 40}, "sweep": [{"name": "limits", "grid": {"limit_multiplier": [1.0, 3.0]}}],
    ...     "decision": {"objective": [{"metric": "sales", "weight": 0.2}, {"metric": "credit_loss", "weight": -1}]}})
    >>> res = run_experiment(sc)
    >>> comp = res.comparison()
    >>> fig = comparison_figure(comp, ["sales", "lost_sales"], diff=True)
    >>> len(fig.data) >= 2, fig.layout.annotations[0].text
    (True, 'sales')
    """
    from plotly.subplots import make_subplots

    ul = comparison.attrs.get("unit_labels", {})
    titles = [f"{m} ({ul[m]})" if ul.get(m) else m for m in metrics]
    fig = make_subplots(rows=1, cols=len(metrics), subplot_titles=titles, horizontal_spacing=0.08)
    key, lo, hi = ("diff", "diff_ci_low", "diff_ci_high") if diff else ("mean", "ci_low", "ci_high")
    for j, m in enumerate(metrics, start=1):
        c = comparison[comparison["metric"] == m]
        fig.add_trace(
            go.Scatter(
                x=c[key], y=c["variant"], mode="markers", name=m, showlegend=False,
                error_x={"type": "data", "symmetric": False, "array": (c[hi] - c[key]).fillna(0),
                         "arrayminus": (c[key] - c[lo]).fillna(0)},
            ),
            row=1, col=j,
        )
        if j > 1:
            fig.update_yaxes(showticklabels=False, row=1, col=j)
        if ul.get(m) == "%":
            fig.update_xaxes(tickformat=".0%", row=1, col=j)
    what = "difference to baseline" if diff else "mean"
    fig.update_layout(title=f"Metrics by variant: {what} with 95% CI",
                      height=max(300, 60 * comparison["variant"].nunique() + 120))
    return fig


def backlog_figure(events_by_variant: dict[str, pd.DataFrame]) -> go.Figure:
    """Leads waiting for first contact at each nightly job, per variant (replication 0).

    Examples
    --------
    >>> from crmsim.sim.funnel import FunnelConfig, simulate_funnel
    >>> r = simulate_funnel(FunnelConfig(reps={"count": 2}), seed=1, horizon_days=14)
    >>> backlog_figure({"baseline": r.events}).data[0].type
    'scatter'
    """
    fig = go.Figure()
    for name, ev in events_by_variant.items():
        b = ev[ev["event"] == "backlog"]
        fig.add_trace(go.Scatter(x=b["t"], y=b["value"], mode="lines", name=name))
    fig.update_layout(title="Backlog of MQLs awaiting first contact (replication 0)",
                      xaxis_title="day", yaxis_title="leads waiting")
    return fig


def tradeoff_figure(comparison: pd.DataFrame, x: str, y: str, *, size: str | None = None,
                    title: str | None = None) -> go.Figure:
    """Each variant as a point (mean of ``x`` against mean of ``y``) with 95% CI error bars.

    Examples
    --------
    >>> from crmsim.experiments import run_experiment
    >>> from crmsim.experiments.scenario import scenario_from_dict
    >>> sc = scenario_from_dict({"schema_version": 1, "name": "tiny", "model": "credit", "currency": "EUR",
    ...     "run": {"replications": 3, "horizon_days": 60},
    ...     "baseline": {"customers": 40}, "sweep": [{"name": "limits", "grid": {"limit_multiplier": [1.0, 3.0]}}],
    ...     "decision": {"objective": [{"metric": "sales", "weight": 0.2}, {"metric": "credit_loss", "weight": -1}]}})
    >>> res = run_experiment(sc)
    >>> comp = res.comparison()
    >>> fig = tradeoff_figure(comp, "lost_sales", "credit_loss", size="avg_exposure")
    >>> fig.data[0].type, len(fig.data[0].x)
    ('scatter', 3)
    """
    a = comparison[comparison["metric"] == x].set_index("variant")
    b = comparison[comparison["metric"] == y].set_index("variant").reindex(a.index)
    marker = {"size": 12}
    if size is not None:
        s = comparison[comparison["metric"] == size].set_index("variant").reindex(a.index)["mean"]
        marker = {"size": 8 + 30 * (s / s.max()).fillna(0) if s.max() else 12,
                  "sizemode": "diameter"}
    fig = go.Figure(go.Scatter(
        x=a["mean"], y=b["mean"], mode="markers+text", text=list(a.index), textposition="top center",
        marker=marker,
        error_x={"type": "data", "symmetric": False, "array": (a["ci_high"] - a["mean"]).fillna(0),
                 "arrayminus": (a["mean"] - a["ci_low"]).fillna(0)},
        error_y={"type": "data", "symmetric": False, "array": (b["ci_high"] - b["mean"]).fillna(0),
                 "arrayminus": (b["mean"] - b["ci_low"]).fillna(0)},
    ))
    ul = comparison.attrs.get("unit_labels", {})
    fig.update_layout(title=title or f"{y} against {x} by variant (95% CI)",
                      xaxis_title=f"{x} ({ul[x]})" if ul.get(x) else x,
                      yaxis_title=f"{y} ({ul[y]})" if ul.get(y) else y, showlegend=False)
    for axis, m in (("xaxis", x), ("yaxis", y)):
        if ul.get(m) == "%":
            fig.update_layout({axis: {"tickformat": ".0%"}})
    return fig


def owners_figure(tables: dict[str, pd.DataFrame]) -> go.Figure:
    """How many owners each customer had over the run, per variant (replication 0).

    Examples
    --------
    >>> from crmsim.sim.pool import PoolConfig, simulate_pool
    >>> r = simulate_pool(PoolConfig(customers={"count": 60}, reps={"count": 2}), seed=1, horizon_days=60)
    >>> owners_figure({"baseline": r.table}).data[0].type
    'bar'
    """
    fig = go.Figure()
    for name, t in tables.items():
        counts = t["owners"].clip(upper=10).value_counts().sort_index()
        fig.add_trace(go.Bar(x=counts.index.astype(str), y=counts.to_numpy(), name=name))
    fig.update_layout(barmode="group", title="Owners per customer over the run (replication 0; 10 = 10+)",
                      xaxis_title="owners", yaxis_title="customers")
    return fig


def validation_figure(val: pd.DataFrame) -> go.Figure:
    """Simulated / historical ratio per metric with the simulation's 95% CI (a calibration check).

    Examples
    --------
    >>> import pandas as pd
    >>> val = pd.DataFrame({"metric": ["leads", "won"], "historical": [100.0, 10.0], "simulated": [96.0, 11.0],
    ...                     "sim_ci_low": [90.0, 8.0], "sim_ci_high": [102.0, 14.0]})
    >>> fig = validation_figure(val.assign(ratio=val["simulated"] / val["historical"]))
    >>> fig.data[0].type, [round(float(y), 2) for y in fig.data[0].y]
    ('bar', [0.96, 1.1])
    """
    fig = go.Figure(go.Bar(
        x=val["metric"], y=val["ratio"],
        error_y={"type": "data", "symmetric": False,
                 "array": ((val["sim_ci_high"] - val["simulated"]) / val["historical"]).fillna(0),
                 "arrayminus": ((val["simulated"] - val["sim_ci_low"]) / val["historical"]).fillna(0)}))
    fig.add_hline(y=1, line_dash="dot")
    fig.update_layout(title="Calibrated simulation against the history (95% CI over replications)",
                      yaxis_title="simulated / historical")
    return fig


def split_validation_figure(table: pd.DataFrame) -> go.Figure:
    """The time-split check: per channel and metric (leads, conversion to won, median days to
    close), the held-out history with its 95% CI next to the simulation fitted on the earlier part
    (mean and 95% CI over replications); one panel per metric.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"channel": ["web", "fair"], "metric": ["leads", "leads"], "historical": [120.0, 30.0],
    ...                   "hist_ci_low": [100.0, 20.0], "hist_ci_high": [140.0, 41.0], "simulated": [115.0, 33.0],
    ...                   "sim_ci_low": [105.0, 28.0], "sim_ci_high": [125.0, 38.0]})
    >>> fig = split_validation_figure(t)
    >>> [tr.name for tr in fig.data][:2], list(fig.data[0].x)
    (['history (held out)', 'simulation'], ['web', 'fair'])
    """
    from plotly.subplots import make_subplots

    metrics = ["leads", "conversion", "days_to_close_median"]
    names = {"leads": "leads", "conversion": "conversion to won", "days_to_close_median": "median days to close"}
    fig = make_subplots(rows=len(metrics), cols=1, subplot_titles=[names[m] for m in metrics],
                        vertical_spacing=0.08)
    for k, m in enumerate(metrics, start=1):
        t = table[table["metric"] == m]
        for who, col, lo, hi, color in (("history (held out)", "historical", "hist_ci_low", "hist_ci_high", "#636efa"),
                                        ("simulation", "simulated", "sim_ci_low", "sim_ci_high", "#ef553b")):
            fig.add_trace(go.Bar(
                x=t["channel"], y=t[col], name=who, marker_color=color, showlegend=k == 1, legendgroup=who,
                error_y={"type": "data", "symmetric": False, "array": (t[hi] - t[col]).fillna(0),
                         "arrayminus": (t[col] - t[lo]).fillna(0)}), row=k, col=1)
    fig.update_layout(barmode="group", height=300 * len(metrics),
                      title="Fitted on the earlier months only, checked on the held-out months (95% CIs)")
    return fig
