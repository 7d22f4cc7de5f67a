"""A self-contained HTML report: plotly.js inlined once, every figure after it."""

from __future__ import annotations

import html
import importlib
from collections.abc import Mapping
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go

from crmsim.config import path_value
from crmsim.report.figures import comparison_figure
from crmsim.sim.registry import MODELS, get_model

__all__ = ["KEY_METRICS", "write_report", "render_html", "response_figures", "model_figures", "decision_block",
           "metrics_table", "display_comparison", "split_varying"]

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
    metrics compared (never another model's figures).

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
    >>> len(model_figures(res, comp, ["sales"], 0.0)) > 0
    True
    """
    spec = get_model(result.scenario.model)
    if spec.figures is None:
        return [comparison_figure(comparison, keys[:3]), comparison_figure(comparison, keys[:3], diff=True)]
    module, _, name = spec.figures.partition(":")
    return getattr(importlib.import_module(module), name)(result, comparison, start)


_CSS = ("body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px}"
        "table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:3px 6px;"
        "text-align:right}td:first-child,th:first-child{text-align:left}"
        ".decision{border:2px solid #2a7;background:#f3fbf6;padding:0.6em 1.2em;margin:1em 0}"
        ".decision.cannot_tell{border-color:#c90;background:#fffaf0}"
        ".decision.infeasible{border-color:#c33;background:#fff4f4}"
        ".decision h2{margin-top:0.3em}.note{color:#555;font-size:13px}")


def render_html(title: str, blocks: list[str | go.Figure]) -> str:
    """One page: strings are HTML paragraphs/tables, figures are embedded (plotly.js once).

    Examples
    --------
    >>> import plotly.graph_objects as go
    >>> page = render_html("Pool check", ["<p>Two customers reclaimed.</p>", go.Figure(go.Bar(x=["a"], y=[2]))])
    >>> page.startswith("<!DOCTYPE html>") or page.startswith("<html"), page.count("plotly") > 0
    (True, True)
    """
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
        f"<style>{_CSS}</style></head><body>"
        f"<h1>{html.escape(title)}</h1>{body}</body></html>"
    )


def _table(rows: list[list[str]], head: list[str]) -> str:
    e = html.escape
    th = "".join(f"<th>{e(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{e(str(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def decision_block(rec) -> str:
    """The decision box: what to do, what it gains, at what cost, how sure.

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
    >>> "<" in decision_block(res.decide())
    True
    """
    from crmsim.units import fmt, fmt_ci

    e, cur, u = html.escape, rec.currency, rec.unit
    rows = []
    for r in rec.terms.itertuples():
        if r.kind == "term":
            rows.append([r.name, fmt(r.baseline, r.unit, cur), fmt(r.choice, r.unit, cur),
                         fmt_ci(r.change, r.change_ci_low, r.change_ci_high, r.unit, cur, signed=True), fmt(r.contribution, u, cur, signed=True)])
        else:
            rows.append([f"{r.name} (constraint)", fmt(r.baseline, r.unit, cur), fmt(r.choice, r.unit, cur),
                         fmt_ci(r.change, r.change_ci_low, r.change_ci_high, r.unit, cur, signed=True), "meets it" if r.certain else "meets it on average"])
    who = rec.label(rec.choice)
    parts = [f"<div class='decision {e(rec.status)}' id='decision'><h2>Decision: {e(rec.headline())}</h2>",
             f"<p>{e(rec.text(headline=False))}</p>"]
    if rows and rec.choice is not None:
        parts.append(_table(rows, ["", "baseline", who, f"change ({rec.decision.level:.0%} CI)",
                                   f"to {rec.decision.name}"]))
    parts.append("</div>")
    vt = [[r.label, fmt_ci(r.mean, r.ci_low, r.ci_high, u, cur),
           fmt_ci(r.diff, r.diff_ci_low, r.diff_ci_high, u, cur, signed=True) if r.variant != "baseline" else "",
           r.reason] for r in rec.table.sort_values("mean", ascending=False).itertuples()]
    parts += [f"<h2>Every variant by {e(rec.decision.name)}</h2>",
              _table(vt, ["variant", f"{rec.decision.name} ({rec.decision.level:.0%} CI)",
                          "against the baseline (paired)", "verdict"])]
    return "\n".join(parts)


def split_varying(comparison: pd.DataFrame, metrics: list[str]) -> tuple[list[str], list[str]]:
    """``(varying, constant)``: the ``metrics`` present in ``comparison`` whose means differ
    across its variants, and those equal in every variant (no information for the choice). With
    one variant every metric counts as varying.

    Examples
    --------
    >>> import pandas as pd
    >>> comp = pd.DataFrame({"variant": ["baseline", "b", "baseline", "b"], "metric": ["sales", "sales", "defaults", "defaults"],
    ...                      "mean": [10.0, 12.0, 0.0, 0.0]})
    >>> split_varying(comp, ["sales", "defaults", "holds"])
    (['sales'], ['defaults'])
    """
    varying, constant = [], []
    one = comparison["variant"].nunique() <= 1
    for m in metrics:
        mean = comparison.loc[comparison["metric"] == m, "mean"].dropna()
        if comparison["metric"].eq(m).any():
            same = len(mean) > 0 and float(mean.max() - mean.min()) <= 1e-9 * max(1.0, float(mean.abs().max()))
            (constant if same and not one else varying).append(m)
    return varying, constant


def metrics_table(comparison: pd.DataFrame, shown: list[str], labels: dict[str, str], units: dict,
                  currency: str) -> str:
    """The comparison of the ``shown`` metrics as people read it (units, labels; baseline: mean
    [CI]; others: mean and the paired change).

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
    >>> from crmsim.sim.registry import get_model
    >>> html = metrics_table(comp, ["sales", "holds"], res.labels, get_model("credit").units, "EUR")
    >>> html.count("<tr") >= 3, "EUR" in html
    (True, True)
    """
    from crmsim.units import fmt, fmt_ci, unit_label, unit_of

    head = ["variant"] + [f"{m} ({unit_label(unit_of(units, m), currency)})" if unit_label(unit_of(units, m), currency)
                          else m for m in shown]
    idx = comparison.set_index(["variant", "metric"])
    rows = []
    for v in dict.fromkeys(comparison["variant"]):
        cells = [labels.get(v, v)]
        for m in shown:
            r, u = idx.loc[(v, m)], unit_of(units, m)
            if v == "baseline":   # the header names the currency: the cells do not repeat it
                cells.append(fmt_ci(r["mean"], r["ci_low"], r["ci_high"], u))
            else:
                sig = r["diff_ci_low"] > 0 or r["diff_ci_high"] < 0
                cells.append(f"{fmt(r['mean'], u)} ({fmt(r['diff'], u, signed=True)}{'*' if sig else ''})")
        rows.append(cells)
    return _table(rows, head)


def display_comparison(comparison: pd.DataFrame, labels: dict[str, str], units: dict, currency: str) -> pd.DataFrame:
    """A copy for figures: variants by label, money in currency units; ``attrs["unit_labels"]``.

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
    >>> from crmsim.sim.registry import get_model
    >>> d = display_comparison(comp, res.labels, get_model("credit").units, "EUR")
    >>> sorted(d["variant"].unique())[:2], d.attrs["unit_labels"]["sales"]
    (['baseline', 'limit multiplier 1'], 'EUR')
    """
    from crmsim.units import display_value, kind, unit_label, unit_of

    c = comparison.copy()
    for m in c["metric"].unique():
        u = unit_of(units, m)
        if kind(u) == "money_minor":
            sel = c["metric"] == m
            for col in ("mean", "ci_low", "ci_high", "diff", "diff_ci_low", "diff_ci_high"):
                c.loc[sel, col] = display_value(c.loc[sel, col], u)
    c["variant"] = c["variant"].map(lambda v: labels.get(v, v))
    c.attrs["unit_labels"] = {m: unit_label(unit_of(units, m), currency) for m in c["metric"].unique()}
    return c


def write_report(path: str | Path, result, comparison: pd.DataFrame) -> Path:
    """Write ``report.html`` for an :class:`~crmsim.experiments.ExperimentResult`: the decision
    first, then the comparison in readable units, the figures and the scenario as run.

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
    >>> import tempfile
    >>> import pathlib
    >>> p = write_report(pathlib.Path(tempfile.mkdtemp()) / "report.html", res, comp)
    >>> p.name, "Change to" in p.read_text() or "Keep" in p.read_text()
    ('report.html', True)
    """
    import dataclasses

    from crmsim.experiments.scenario import (
        baseline_equivalents,
        describe_baseline,
        dump_resolved,
        variants,
    )

    sc = result.scenario
    start = sc.run.warmup_days
    spec = get_model(sc.model)
    keys = KEY_METRICS[sc.model]
    cur = getattr(sc, "currency", "")
    vs = variants(sc)
    labels = {v.name: v.label for v in vs}
    blocks: list[str | go.Figure] = [f"<p>{html.escape(sc.description)}</p>"]
    multi = result.summary["variant"].nunique() > 1
    if multi:
        blocks.append(decision_block(result.decide()))
    same = baseline_equivalents(sc)
    base_words = describe_baseline(sc)
    also = [x for x in same if x != base_words]
    blocks.append(
        f"<p><b>Baseline</b>: {html.escape(base_words or 'the [baseline] of the scenario')}"
        + (" (also a grid point of the sweep: run once, as the baseline)" if same and not also else "")
        + (f" (the grid point{'s' if len(also) > 1 else ''} {html.escape('; '.join(also))} "
           f"{'are' if len(also) > 1 else 'is'} the baseline itself: run once, as the baseline)" if also else "")
        + ".</p>")
    blocks.append(
        f"<p class='note'>{len(vs)} variants x {sc.run.replications} replications, horizon "
        f"{sc.run.horizon_days:g} days, warm-up {sc.run.warmup_days:g} days (metrics count the "
        f"{sc.run.horizon_days - sc.run.warmup_days:g} days after it), base seed {sc.run.base_seed}. Means over "
        "replications; CIs are 95% Student-t, kept inside each metric's possible range; differences are paired by "
        "replication (common random numbers)" + (f"; money in {html.escape(cur)}" if cur else "") + ".</p>")
    shown, constant = split_varying(comparison, list(dict.fromkeys([*keys, *_decision_metrics(sc)])))
    blocks += ["<h2>Comparison</h2>",
               "<p class='note'>baseline: mean [95% CI]; other variants: mean (paired change against the "
               "baseline; * = its 95% CI excludes 0)</p>", metrics_table(comparison, shown, labels, spec.units, cur)]
    if constant:
        from crmsim.units import fmt, unit_of

        first = comparison.drop_duplicates("metric").set_index("metric")["mean"]
        flat = "; ".join(f"{m} {fmt(first[m], unit_of(spec.units, m), cur)}" for m in constant)
        blocks.append(f"<p class='note'>The same in every variant, so not shown: {html.escape(flat)}.</p>")
    disp = display_comparison(comparison, labels, spec.units, cur)
    view = dataclasses.replace(
        result, summary=result.summary.assign(variant=result.summary["variant"].map(lambda v: labels.get(v, v))),
        events={labels.get(k, k): v for k, v in result.events.items()},
        tables={labels.get(k, k): v for k, v in result.tables.items()})
    curves = response_figures(result, [m for m in keys[:3] if m not in constant])
    if curves:
        blocks += ["<h2>Sweep response curves</h2>", *curves]
    blocks += model_figures(view, disp, keys, start)
    blocks += ["<h2>Scenario</h2>", f"<pre>{html.escape(dump_resolved(sc))}</pre>"]
    path = Path(path)
    path.write_text(render_html(f"crmsim: {sc.name}", blocks), encoding="utf-8")
    return path


def _decision_metrics(sc) -> list[str]:
    d = getattr(sc, "decision", None)
    if d is None:
        return []
    return [t.metric for t in d.objective if t.metric] + [c.metric for c in d.constraints]


def series_figure(events_by_variant: dict, event: str, title: str, *, scale: float = 1.0,
                  yaxis_title: str | None = None) -> go.Figure:
    """A daily system series (e.g. exposure) per variant from the event logs; values x ``scale``
    (0.01: minor units shown in currency units)."""
    fig = go.Figure()
    for name, ev in events_by_variant.items():
        e = ev[ev["event"] == event]
        fig.add_trace(go.Scatter(x=e["t"], y=e["value"] * scale, mode="lines", name=name))
    fig.update_layout(title=title, xaxis_title="day", yaxis_title=yaxis_title)
    return fig


def response_figures(result, metrics: list[str]) -> list[go.Figure]:
    """For each sweep with a numeric grid path: each metric's mean and 95% CI against that value
    (one line per combination of the sweep's other paths).

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
    >>> figs = response_figures(res, ["sales"])
    >>> len(figs), figs[0].layout.xaxis.title.text
    (1, 'limit_multiplier')
    """
    from crmsim.experiments.scenario import path_label, value_label, variants
    from crmsim.experiments.stats import mean_ci
    from crmsim.units import bounds, display_value, kind, unit_label, unit_of

    sc = result.scenario
    vs = variants(sc)
    units = get_model(sc.model).units
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
                    vals = {p: path_value(d, p) for p in sw.grid}
                    if v.overrides and set(v.overrides) != set(sw.grid):
                        continue  # a variant of another sweep
                    others = ", ".join(value_label(p, vals[p]) for p in sw.grid if p != path) or m
                    u = unit_of(units, m)
                    mean, lo, hi = mean_ci(result.summary.loc[result.summary["variant"] == v.name, m])
                    if lo == lo:   # the interval stays inside the metric's possible range
                        lo, hi = max(lo, bounds(u)[0]), min(hi, bounds(u)[1])
                    mean, lo, hi = (display_value(x, u) for x in (mean, lo, hi))
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
                ul = unit_label(unit_of(units, m), getattr(sc, "currency", ""))
                fig.update_layout(title=f"{m} against {path_label(path)[0]}", xaxis_title=path,
                                  yaxis_title=f"{m} ({ul})" if ul and ul != "%" else m)
                if kind(unit_of(units, m)) in ("share", "pct"):
                    fig.update_yaxes(tickformat=".0%")
                figs.append(fig)
    return figs
