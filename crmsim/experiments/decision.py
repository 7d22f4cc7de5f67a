"""From replications to a decision: the variant that maximises the scenario's objective subject to
its constraints, its gain over the baseline with a 95% CI, and what the data cannot tell yet.

A scenario says what matters in a ``[decision]`` table (data, never code)::

    [decision]
    name = "margin after credit losses"
    objective = [{ metric = "sales", weight = 0.2 }, { metric = "credit_loss", weight = -1 }]
    constraints = [{ metric = "dso", op = "le", value = 45 }]

* The **objective** is a weighted sum of metrics and of parameters of the variant (a parameter is a
  dotted path into the baseline, e.g. ``{ parameter = "reps.count", weight = -65000 }``: what a
  variant changes can have a cost). Money metrics enter in currency units (minor units are
  converted first), shares as fractions; a parameter's weight is per unit of the parameter.
* A **constraint** is ``metric op value`` (``le``, ``lt``, ``ge``, ``gt``) on the variant's mean
  over replications, ``value`` in the same units; a variant whose mean breaks one is not
  recommended, whatever its objective. When the 95% CI of a recommended variant's metric crosses the
  limit, the recommendation says so.

:func:`decide` then picks the best variant that meets every constraint, screens which variants
the replications cannot separate from it (multiple comparisons with the best: paired t-tests on
common random numbers, Bonferroni over the other variants that meet the constraints), and says how many replications would separate the
top two when they are within noise. Every other variant gets its reason (a broken constraint, or
worse by how much).
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field, field_validator, model_validator

from crmsim.config import Config, path_value
from crmsim.experiments.stats import mean_ci, replications_needed
from crmsim.units import display_value, fmt, fmt_ci, kind, known_metric, unit_of

__all__ = ["Term", "Constraint", "Decision", "Recommendation", "decide", "check_decision",
           "objective_values"]

_OPS = {"le": ("<=", np.less_equal), "lt": ("<", np.less), "ge": (">=", np.greater_equal),
        "gt": (">", np.greater)}


class Term(Config):
    """One part of the objective: ``weight`` x a metric, or ``weight`` x a parameter's value.

    Examples
    --------
    >>> Term(metric="sales", weight=0.2, label="margin (20%)").label, Term(parameter="reps.count", weight=-60_000).parameter
    ('margin (20%)', 'reps.count')
    """

    metric: str | None = None
    parameter: str | None = None
    weight: float
    #: how the term reads in the decision ("rep cost"); default: the metric or parameter
    label: str | None = None

    @model_validator(mode="after")
    def _one(self) -> Term:
        if (self.metric is None) == (self.parameter is None):
            raise ValueError("a term names exactly one of 'metric' or 'parameter'")
        if self.weight == 0:
            raise ValueError("weight = 0 counts nothing; leave the term out")
        return self

    @property
    def name(self) -> str:
        return self.label or self.metric or self.parameter


class Constraint(Config):
    """``metric op value`` on the variant's mean (e.g. ``owners_3plus_share le 0.10``); ``op``
    is ``le``, ``lt``, ``ge`` or ``gt`` (or ``<=``, ``<``, ``>=``, ``>``).

    Examples
    --------
    >>> c = Constraint(metric="dso", op="<=", value=45)
    >>> c.op
    'le'
    """

    metric: str
    op: Literal["le", "lt", "ge", "gt"]
    value: float

    @field_validator("op", mode="before")
    @classmethod
    def _symbol(cls, v):
        return {"<=": "le", "<": "lt", ">=": "ge", ">": "gt"}.get(v, v)

    def text(self, unit: str, currency: str = "") -> str:
        return f"{self.metric} {_OPS[self.op][0]} {fmt(self.value * _scale(unit), unit, currency)}"

    def holds(self, x: float, unit: str) -> bool:
        return bool(_OPS[self.op][1](display_value(x, unit), self.value))


def _scale(unit: str) -> float:
    """Constraint values are in display units; ``fmt`` takes raw values."""
    return 1 / display_value(1.0, unit)


class Decision(Config):
    """What the user optimises and what must not happen (a scenario's ``[decision]``).

    Examples
    --------
    >>> d = Decision(objective=[{"metric": "sales", "weight": 0.2}, {"metric": "credit_loss", "weight": -1}],
    ...              constraints=[{"metric": "dso", "op": "le", "value": 45}])
    >>> len(d.objective), d.level
    (2, 0.95)
    """

    #: what the objective means, in the user's words ("margin after credit losses")
    name: str = "objective"
    objective: tuple[Term, ...] = Field(min_length=1)
    constraints: tuple[Constraint, ...] = ()
    #: the confidence of every interval and of the screening
    level: float = Field(default=0.95, gt=0.5, lt=1)
    #: the objective's unit; ``"money"`` when the weights put a price on counts or hours (EUR 30 a
    #: lost lead). Default: money when any metric term is money, else the first metric's unit
    unit: Literal["money", "count", "number", "hours", "days", "share"] | None = None


def _unit_of_objective(decision: Decision, units: dict[str, str]) -> str:
    """``decision.unit`` if set; else money (in currency units) when any metric term is money or
    there is none, else the first metric's unit."""
    if decision.unit is not None:
        return decision.unit
    kinds = [kind(unit_of(units, t.metric)) for t in decision.objective if t.metric]
    return "money" if not kinds or any(k.startswith("money") for k in kinds) else kinds[0]


def check_decision(decision: Decision, units: dict[str, str], variants, source: str = "<scenario>") -> list[str]:
    """Problems with a ``[decision]`` (unknown metrics, parameters that are not numbers in every
    variant), each naming the key; empty when it is usable.

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
    >>> from crmsim.experiments.scenario import variants
    >>> from crmsim.sim.registry import get_model
    >>> check_decision(Decision(objective=[{"metric": "salez", "weight": 1}]), get_model("credit").units, variants(sc))
    ["<scenario>: decision.objective[0].metric: unknown metric 'salez' (did you mean 'sales'?); the model's metrics are ['ageing.*', 'allowance', 'avg_exposure', 'credit_loss', 'defaults', 'dso', 'dunning_fees', 'dunning_letters', 'holds', 'loss_rate', 'lost_sales', 'paid_late_share', 'sales']"]
    """
    errors = []
    names = sorted(units)
    for where, metric in ([(f"decision.objective[{k}].metric", t.metric) for k, t in enumerate(decision.objective)
                           if t.metric] +
                          [(f"decision.constraints[{k}].metric", c.metric) for k, c in enumerate(decision.constraints)]):
        if units and not known_metric(units, metric):   # a model that declares no units is checked at decide()
            close = difflib.get_close_matches(metric, names, n=3)
            errors.append(f"{source}: {where}: unknown metric {metric!r}"
                          + (f" (did you mean {' or '.join(map(repr, close))}?)" if close else "")
                          + f"; the model's metrics are {names}")
    for k, t in enumerate(decision.objective):
        if t.parameter is None:
            continue
        for v in variants:
            d = v.config.model_dump(mode="json", by_alias=True)
            try:
                x = path_value(d, t.parameter)
            except (KeyError, IndexError, ValueError, TypeError):
                errors.append(f"{source}: decision.objective[{k}].parameter: {t.parameter!r} is not a key of "
                              f"the baseline (variant {v.name!r})")
                break
            if isinstance(x, bool) or not isinstance(x, (int, float)):
                errors.append(f"{source}: decision.objective[{k}].parameter: {t.parameter!r} is {x!r} in variant "
                              f"{v.name!r}; a parameter term needs a number")
                break
    return errors


def objective_values(summary: pd.DataFrame, variants, decision: Decision, units: dict[str, str]) -> pd.DataFrame:
    """Per variant and replication: each term's value (weight x metric in display units, or
    weight x parameter) and their sum, ``objective``.

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
    >>> from crmsim.experiments.scenario import variants
    >>> from crmsim.sim.registry import get_model
    >>> v = objective_values(res.summary, variants(sc), sc.decision, get_model("credit").units)
    >>> v.columns.tolist()[-1], len(v) == len(res.summary)
    ('objective', True)
    """
    params = {v.name: v.config.model_dump(mode="json", by_alias=True) for v in variants}
    out = summary[["variant", "replication"]].copy()
    for k, t in enumerate(decision.objective):
        col = f"term{k}"
        if t.metric is not None:
            out[col] = t.weight * display_value(summary[t.metric].astype(float), unit_of(units, t.metric))
        else:
            out[col] = [t.weight * float(path_value(params[v], t.parameter)) for v in summary["variant"]]
    out["objective"] = out[[f"term{k}" for k in range(len(decision.objective))]].sum(axis=1, skipna=False)
    return out


@dataclass
class Recommendation:
    """What :func:`decide` concludes; ``text()`` is the plain-language paragraph.

    ``status`` is ``"change"`` (one variant beats the rest, the baseline included, at the stated
    confidence), ``"keep"`` (the baseline does), ``"cannot_tell"`` (the best estimate has rivals
    the replications cannot separate from it: ``contenders``, and ``more_replications`` would)
    or ``"infeasible"`` (no variant meets every constraint).

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
    >>> rec = res.decide()
    >>> rec.status in ("change", "keep", "cannot_tell", "infeasible"), rec.text().split(".")[0] != ""
    (True, True)
    """

    status: Literal["change", "keep", "cannot_tell", "infeasible"]
    choice: str | None
    labels: dict[str, str]
    decision: Decision
    defaulted: bool
    unit: str
    currency: str
    n: int
    #: per variant: objective mean and CI, paired difference to the baseline and CI, feasible, reason
    table: pd.DataFrame
    #: per objective term and constraint: baseline, the choice, the paired change with its CI
    terms: pd.DataFrame
    contenders: list[str] = field(default_factory=list)
    more_replications: int | None = None
    notes: list[str] = field(default_factory=list)

    def label(self, v: str | None) -> str:
        return self.labels.get(v, v) if v else "-"

    def _row(self, v: str) -> pd.Series:
        return self.table.set_index("variant").loc[v]

    def gain(self) -> tuple[float, float, float]:
        """The choice's objective minus the baseline's: mean and CI (paired)."""
        if self.choice is None:
            return (math.nan,) * 3
        r = self._row(self.choice)
        return float(r["diff"]), float(r["diff_ci_low"]), float(r["diff_ci_high"])

    def headline(self) -> str:
        """One line: what to do."""
        c = self.label(self.choice)
        return {"change": f"Change to {c}.", "keep": "Keep the baseline.",
                "cannot_tell": f"Cannot tell yet: {c} looks best, but {_n(len(self.contenders) - 1, 'other variant')} "
                               f"{'is' if len(self.contenders) == 2 else 'are'} within noise of it.",
                "infeasible": "No variant meets every constraint."}[self.status]

    def text(self, *, headline: bool = True) -> str:
        """The decision in plain language: what to do, what it gains, at what cost, how sure
        (``headline=False``: without the first sentence, for a page that shows it as a title)."""
        u, cur, lvl = self.unit, self.currency, f"{self.decision.level:.0%}"
        name = self.decision.name
        out = [self.headline()] if headline else []
        if self.defaulted:
            out.append(f"(The scenario has no [decision]: variants are ranked by {self.decision.objective[0].metric} "
                       "alone, and nothing else, no cost and no risk, counts. Add a [decision] table to say what "
                       "matters.)")
        if self.choice is not None:
            g, lo, hi = self.gain()
            if self.choice != "baseline":
                out.append(f"Against the baseline it changes {name} by {fmt_ci(g, lo, hi, u, cur, signed=True)} "
                           f"({lvl} CI, paired over {self.n} replications).")
                parts = []
                tiny = 1e-9 * max(1.0, abs(g))
                for r in self.terms.itertuples():
                    if r.kind == "term" and r.contribution == r.contribution and abs(r.contribution) > tiny:
                        change, contrib = fmt(r.change, r.unit, cur, signed=True), fmt(r.contribution, u, cur, signed=True)
                        parts.append(f"{r.name} {change}" + ("" if change == contrib else f" ({contrib})"))
                if parts:
                    out.append("Where it comes from: " + "; ".join(parts) + ".")
                costs = [r for r in self.terms.itertuples() if r.kind == "term" and r.contribution < -tiny]
                if costs:
                    out.append("Its cost: " + "; ".join(
                        f"{r.name} {fmt(r.contribution, u, cur, signed=True)}" for r in costs) + ".")
            for c in self.decision.constraints:
                r = self.terms[(self.terms["kind"] == "constraint") & (self.terms["name"] == c.metric)]
                if len(r) and not r["certain"].iloc[0]:
                    rr = r.iloc[0]
                    out.append(f"It meets {c.text(rr['unit'], cur)} on average "
                               f"({fmt_ci(rr['choice'], rr['choice_ci_low'], rr['choice_ci_high'], rr['unit'], cur)}), but the {lvl} interval crosses the limit.")
        if self.status == "cannot_tell" and len(self.contenders) > 1:
            rival = self.contenders[1]
            out.append(f"Within noise of it: {'; '.join(self.label(v) for v in self.contenders[1:])}.")
            if self.more_replications:
                out.append(f"About {self.more_replications:,} replications in all (now {self.n}) would tell "
                           f"{self.label(self.choice)} from {self.label(rival)}, if the difference is what it seems.")
            else:
                out.append(f"{self.label(self.choice)} and {self.label(rival)} give the same {name} on these "
                           "replications: more replications will not separate them.")
            if "baseline" in self.contenders:
                out.append("Until then, keep the baseline: no change is shown to do better than it.")
            else:
                out.append(f"The baseline does worse than {self.label(self.choice)} with {lvl} confidence: change to one "
                           "of these, choosing on what the objective leaves out, or run more replications first.")
        if self.status in ("change", "keep"):
            k = int(self.table["feasible"].sum())
            if k > 1:
                out.append(f"How sure: with {lvl} confidence, no other variant that meets the constraints does better "
                           f"({k - 1} compared on the same seeds: paired, Bonferroni).")
        if self.status == "keep":
            others = self.table[(self.table["variant"] != "baseline") & self.table["feasible"]]
            if len(others):
                nxt = others.sort_values("mean", ascending=False).iloc[0]
                out.append(f"The best alternative, {self.label(nxt['variant'])}, changes {name} by "
                           f"{fmt_ci(nxt['diff'], nxt['diff_ci_low'], nxt['diff_ci_high'], u, cur, signed=True)}.")
        rejected = self.table[self.table["variant"] != self.choice]
        broken = rejected[~rejected["feasible"]]
        if len(broken):
            out.append("Ruled out by a constraint: " + "; ".join(
                f"{self.label(r.variant)} ({r.reason})" for r in broken.itertuples()) + ".")
        out.extend(self.notes)
        return " ".join(out)


def _n(k: int, noun: str) -> str:
    return f"{k} {noun}" + ("" if k == 1 else "s")


def _default_decision(model_key: str) -> Decision:
    return Decision(name=model_key, objective=(Term(metric=model_key, weight=1.0),))


def _paired(a: pd.Series, b: pd.Series, level: float) -> tuple[float, float, float]:
    common = a.index.intersection(b.index)
    return mean_ci(a.loc[common] - b.loc[common], level)


def decide(summary: pd.DataFrame, scenario, decision: Decision | None = None, *, variants=None,
           labels: dict[str, str] | None = None) -> Recommendation:
    """The recommendation for ``scenario``'s replications ``summary`` (one row per variant and
    replication), by ``decision`` (default: the scenario's ``[decision]``, else its model's first
    key metric, said so in the text).

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
    >>> rec = decide(res.summary, sc)
    >>> rec.choice in [v for v in res.summary["variant"].unique()] or rec.choice is None, rec.n
    (True, 3)
    """
    from crmsim.experiments.scenario import ScenarioError, variant_labels
    from crmsim.experiments.scenario import variants as all_variants
    from crmsim.sim.registry import get_model

    spec = get_model(scenario.model)
    vs = variants if variants is not None else all_variants(scenario)
    labels = labels if labels is not None else variant_labels(scenario, vs)
    defaulted = decision is None and getattr(scenario, "decision", None) is None
    decision = decision or getattr(scenario, "decision", None) or _default_decision(spec.key_metrics[0])
    errors = check_decision(decision, spec.units, vs, source=scenario.name)
    missing = [t.metric for t in decision.objective if t.metric and t.metric not in summary.columns] + \
              [c.metric for c in decision.constraints if c.metric not in summary.columns]
    if missing:
        errors.append(f"{scenario.name}: the replications have no metric {sorted(set(missing))}")
    if errors:
        raise ScenarioError("\n".join(errors))
    present = [v for v in vs if v.name in set(summary["variant"])]
    if not any(v.name == "baseline" for v in present):
        raise ScenarioError(f"{scenario.name}: decide needs the baseline's replications; the summary has none")
    level = decision.level
    units = spec.units
    unit = _unit_of_objective(decision, units)
    currency = getattr(scenario, "currency", "") or ""
    obj = objective_values(summary, present, decision, units)
    by = {v: g.set_index("replication") for v, g in obj.groupby("variant", sort=False)}
    raw = {v: g.set_index("replication") for v, g in summary.groupby("variant", sort=False)}
    n = int(summary.groupby("variant").size().min())
    notes = []
    rows = []
    for v in present:
        o = by[v.name]["objective"]
        m, lo, hi = mean_ci(o, level)
        d, dlo, dhi = _paired(o, by["baseline"]["objective"], level)
        broken = []
        for c in decision.constraints:
            cu = unit_of(units, c.metric)
            cm = mean_ci(raw[v.name][c.metric], level)[0]
            if not (cm == cm) or not c.holds(cm, cu):
                broken.append(f"breaks {c.text(cu, currency)}: {fmt(cm, cu, currency)}")
        rows.append({"variant": v.name, "label": labels.get(v.name, v.name), "mean": m, "ci_low": lo, "ci_high": hi,
                     "diff": d, "diff_ci_low": dlo, "diff_ci_high": dhi, "feasible": not broken and m == m,
                     "reason": "; ".join(broken) if broken else ("" if m == m else "objective undefined (NaN)")})
    table = pd.DataFrame(rows)
    nan_obj = obj["objective"].isna().sum()
    if nan_obj:
        notes.append(f"{_n(nan_obj, 'replication')} have an undefined objective (a metric is NaN) and are left out "
                     "of the means.")
    feas = table[table["feasible"]]
    #: the two-sided level whose bounds are the one-sided Bonferroni tests against the best
    sim_level = 1 - 2 * (1 - level) / max(1, len(feas) - 1)
    status: str
    choice = None
    contenders: list[str] = []
    more = None
    if feas.empty:
        status = "infeasible"
    else:
        choice = str(feas.sort_values("mean", ascending=False)["variant"].iloc[0])
        if len(feas) == 1:
            contenders = [choice]
        elif n < 2:
            contenders = list(feas.sort_values("mean", ascending=False)["variant"])
            notes.append("With one replication there is no interval: run at least 2 (10 or more to decide).")
        else:
            # multiple comparisons with the best (Bonferroni over the k - 1 others): a variant the
            # replications cannot tell from the best stays a contender
            means = feas.set_index("variant")["mean"]
            contenders = [choice] + sorted(
                (v for v in feas["variant"] if v != choice and
                 _paired(by[v]["objective"], by[choice]["objective"], sim_level)[2] >= 0),
                key=lambda v: -means[v])
        if len(contenders) > 1:
            status = "cannot_tell"
            if n >= 2:
                d = (by[choice]["objective"] - by[contenders[1]]["objective"]).dropna()
                if abs(d.mean()) > 0 and d.std(ddof=1) > 0:
                    more = replications_needed(d, abs(float(d.mean())), level=sim_level, max_n=1_000_000)
        else:
            status = "keep" if choice == "baseline" else "change"
    best = choice
    reasons = []
    for r in table.itertuples():
        if not r.feasible:
            reasons.append(r.reason)
        elif r.variant == best:
            reasons.append("recommended" if status in ("change", "keep") else "best estimate")
        else:
            d, dlo, dhi = _paired(by[r.variant]["objective"], by[best]["objective"], sim_level)
            within = r.variant in contenders
            reasons.append(("within noise of " if within else "worse than ") +
                           f"{labels.get(best, best)}: {fmt_ci(d, dlo, dhi, unit, currency, signed=True)}")
    table["reason"] = reasons
    table["unit"] = unit
    terms = _terms(decision, by, raw, best, units, unit, level) if best else pd.DataFrame(
        columns=["kind", "name", "unit", "baseline", "choice", "change", "change_ci_low", "change_ci_high",
                 "contribution", "certain"])
    return Recommendation(status=status, choice=choice, labels=labels, decision=decision, defaulted=defaulted,
                          unit=unit, currency=currency, n=n, table=table, terms=terms, contenders=contenders,
                          more_replications=more, notes=notes)


def _terms(decision: Decision, by, raw, best: str, units, unit: str, level: float) -> pd.DataFrame:
    rows = []
    for k, t in enumerate(decision.objective):
        col = f"term{k}"
        if t.metric is not None:
            mu = unit_of(units, t.metric)
            b, c = raw["baseline"][t.metric], raw[best][t.metric]
        else:
            mu = "number"
            b, c = by["baseline"][col] / t.weight, by[best][col] / t.weight
        ch, lo, hi = _paired(c, b, level)
        contrib = _paired(by[best][col], by["baseline"][col], level)[0]
        rows.append({"kind": "term", "name": t.name, "unit": mu, "baseline": mean_ci(b, level)[0],
                     "choice": mean_ci(c, level)[0], "change": ch, "change_ci_low": lo, "change_ci_high": hi,
                     "contribution": contrib, "certain": True})
    for c in decision.constraints:
        cu = unit_of(units, c.metric)
        b, x = raw["baseline"][c.metric], raw[best][c.metric]
        m, lo, hi = mean_ci(x, level)
        ch, clo, chi = _paired(x, b, level)
        certain = lo != lo or (c.holds(lo, cu) and c.holds(hi, cu))
        rows.append({"kind": "constraint", "name": c.metric, "unit": cu, "baseline": mean_ci(b, level)[0],
                     "choice": m, "change": ch, "change_ci_low": clo, "change_ci_high": chi,
                     "contribution": math.nan, "certain": bool(certain), "choice_ci_low": lo, "choice_ci_high": hi})
    return pd.DataFrame(rows)
