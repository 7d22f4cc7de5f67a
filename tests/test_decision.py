"""Decisions: the objective and constraints of a scenario's [decision] choose the variant, not the
model's first metric; variants within noise give "cannot tell yet" with the replications that
would tell them apart; readable units and labels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crmsim.experiments import load_scenario
from crmsim.experiments.decision import Constraint, Decision, Term, decide
from crmsim.experiments.scenario import ScenarioError, scenario_from_dict, variants
from crmsim.sim.registry import get_model
from crmsim.units import fmt, fmt_ci


def summary_of(sc, means: dict[str, dict[str, float]], n: int = 20, rel: float = 0.002, seed: int = 0,
               own_noise: float = 0.05) -> pd.DataFrame:
    """Replications of every variant of ``sc``: per metric, the variant's mean + a noise common to
    all variants (common random numbers, sd ``rel`` x the baseline's mean) + a little of its own
    (``own_noise`` x that); variants not in ``means`` are the baseline."""
    rng = np.random.default_rng(seed)
    vs = variants(sc)
    metrics = sorted({m for d in means.values() for m in d})
    sd = {m: rel * abs(means["baseline"][m]) for m in metrics}
    common = {m: rng.normal(0, sd[m], n) for m in metrics}
    rows = []
    for v in vs:
        mv = means.get(v.name, means["baseline"])
        for i in range(n):
            rows.append({"variant": v.name, "replication": i, "seed": f"1/{i}",
                         **{m: mv.get(m, means["baseline"][m]) + common[m][i] + rng.normal(0, own_noise * sd[m])
                            for m in metrics}})
    return pd.DataFrame(rows)


# per model: a bundled scenario, the variant that wins on the first key metric, the one the
# objective prefers, and a decision that counts a cost the first metric ignores
CASES = {
    "funnel": ("funnel", "reps.count=15,assignment.policy=least_loaded",
               "reps.count=12,assignment.policy=least_loaded",
               Decision(objective=(Term(metric="revenue", weight=1), Term(parameter="reps.count", weight=-60_000))),
               lambda top, mid: {"baseline": {"won": 70, "revenue": 800_000},
                                 **{f"reps.count=9,assignment.policy={p}": {"won": 20, "revenue": 250_000}
                                    for p in ("round_robin", "least_loaded")},
                                 top: {"won": 90, "revenue": 1_000_000}, mid: {"won": 80, "revenue": 900_000}}),
    "pool": ("pool_reclamation", "policy.rules.0.limit_days=90", "policy.rules.0.limit_days=45",
             Decision(objective=(Term(metric="revenue", weight=1), Term(metric="lost", weight=-5000))),
             lambda top, mid: {"baseline": {"revenue": 16_000_000, "lost": 180},
                               top: {"revenue": 16_500_000, "lost": 360}, mid: {"revenue": 16_300_000, "lost": 200}}),
    "credit": ("credit_policy", "limit_multiplier=3.0,dunning_every_days=0",
               "limit_multiplier=2.0,dunning_every_days=7",
               Decision(objective=(Term(metric="sales", weight=0.2), Term(metric="credit_loss", weight=-1))),
               # cents: 5.0e9 = EUR 50 M of sales
               lambda top, mid: {"baseline": {"sales": 4.0e9, "credit_loss": 1.0e7},
                                 top: {"sales": 5.0e9, "credit_loss": 2.5e8}, mid: {"sales": 4.6e9, "credit_loss": 2.0e7}}),
    "promo": ("promotions", "promotions=20% off everything", "promotions=buy 3 get 1 free",
              Decision(objective=(Term(metric="gross_margin", weight=1), Term(metric="deals_lost_waiting", weight=-5000))),
              lambda top, mid: {"baseline": {"gross_margin": 2.50e8, "deals_lost_waiting": 40},
                                top: {"gross_margin": 2.70e8, "deals_lost_waiting": 900},
                                mid: {"gross_margin": 2.60e8, "deals_lost_waiting": 40}}),
    "field": ("field_visits", "routing=True,cadence.visits_per_day=11", "cadence.every_days=relaxed",
              Decision(objective=(Term(metric="plan_adherence", weight=1), Term(metric="travel_share", weight=-2))),
              lambda top, mid: {"baseline": {"plan_adherence": 0.90, "travel_share": 0.15},
                                top: {"plan_adherence": 0.95, "travel_share": 0.30},
                                mid: {"plan_adherence": 0.93, "travel_share": 0.12}}),
}


@pytest.mark.parametrize("model", sorted(CASES))
def test_the_objective_wins_over_the_first_metric(root, model):
    scenario, top, mid, decision, means = CASES[model]
    sc = load_scenario(root / f"scenarios/{scenario}.toml")
    assert sc.model == model and {top, mid} <= {v.name for v in variants(sc)}
    first = get_model(model).key_metrics[0]
    s = summary_of(sc, means(top, mid))
    by_first = s.groupby("variant")[first].mean().idxmax()
    assert by_first == top                           # the first metric alone would pick `top`
    rec = decide(s, sc, decision)
    assert rec.status == "change" and rec.choice == mid, rec.text()
    assert not rec.defaulted
    row = rec.table.set_index("variant").loc[top]
    assert row["reason"].startswith("worse than") and row["diff"] < rec.table.set_index("variant").loc[mid, "diff"]
    g, lo, hi = rec.gain()
    assert lo > 0 and lo <= g <= hi
    # without a decision, the model's first key metric ranks, and the text says so
    plain = decide(s, sc.model_copy(update={"decision": None}))
    assert plain.choice == top and plain.defaulted and "no [decision]" in plain.text()


def test_a_parameter_term_costs_what_the_variant_changes(root):
    scenario, top, mid, decision, means = CASES["funnel"]
    sc = load_scenario(root / f"scenarios/{scenario}.toml")
    s = summary_of(sc, means(top, mid), rel=1e-4)
    rec = decide(s, sc, decision)
    t = rec.terms.set_index("name")
    # 12 reps in the baseline and in the choice: no rep cost; 15 reps would cost 3 x 60,000 more
    assert t.loc["reps.count", "change"] == 0 and t.loc["reps.count", "contribution"] == 0
    obj = rec.table.set_index("variant")["mean"]
    assert obj[top] == pytest.approx(1_000_000 - 15 * 60_000, abs=200)
    assert obj[mid] == pytest.approx(900_000 - 12 * 60_000, abs=200)


@pytest.mark.parametrize("model", sorted(CASES))
def test_variants_within_noise_cannot_be_told_apart_yet(root, model):
    scenario, top, mid, decision, means = CASES[model]
    sc = load_scenario(root / f"scenarios/{scenario}.toml")
    m = means(top, mid)
    first = get_model(model).key_metrics[0]
    close = {**m, mid: dict(m[top])}                  # mid is top plus a hair, far inside the noise
    close[mid][first] = m[top][first] + 1e-4 * abs(m[top][first])
    s = summary_of(sc, close, n=6, rel=0.01, own_noise=1.0)
    rec = decide(s, sc, Decision(objective=(Term(metric=first, weight=1),)))
    assert rec.status == "cannot_tell", rec.text()
    assert set(rec.contenders[:2]) == {top, mid}
    assert "Cannot tell yet" in rec.text() and rec.more_replications is not None and rec.more_replications > rec.n
    assert "within noise of" in rec.table.set_index("variant").loc[rec.contenders[1], "reason"]
    # what to do meanwhile: keep the baseline if it is one of them, else change to one of them
    assert ("keep the baseline" in rec.text()) == ("baseline" in rec.contenders)
    assert ("baseline" in rec.contenders) or "The baseline does worse" in rec.text()


def test_constraints_rule_variants_out_and_say_why(root):
    sc = load_scenario(root / "scenarios/pool_reclamation.toml")
    top, mid = "policy.rules.0.limit_days=90", "policy.rules.0.limit_days=45"
    means = {"baseline": {"revenue": 16e6, "owners_3plus_share": 0.20},
             top: {"revenue": 17e6, "owners_3plus_share": 0.05}, mid: {"revenue": 16.5e6, "owners_3plus_share": 0.15}}
    s = summary_of(sc, means, rel=1e-3, own_noise=0.01).assign(
        owners_3plus_share=lambda d: d["owners_3plus_share"].clip(0, 1))
    s.loc[s["variant"] == top, "owners_3plus_share"] = 0.05
    d = Decision(objective=(Term(metric="revenue", weight=1),),
                 constraints=(Constraint(metric="owners_3plus_share", op="ge", value=0.10),))
    rec = decide(s, sc, d)
    assert rec.choice != top and rec.choice in {mid, "baseline"} or rec.status == "cannot_tell"
    reason = rec.table.set_index("variant").loc[top, "reason"]
    assert reason == "breaks owners_3plus_share >= 10.0%: 5.0%"
    assert "Ruled out by a constraint" in rec.text() and "limit 90 d" in rec.text()
    # nothing meets an impossible constraint: said, no choice
    none = decide(s, sc, Decision(objective=d.objective,
                                  constraints=(Constraint(metric="owners_3plus_share", op="gt", value=0.99),)))
    assert none.status == "infeasible" and none.choice is None and "No variant meets" in none.text()


def test_bad_decisions_are_named_errors(root):
    import tomllib

    raw = tomllib.loads((root / "scenarios/funnel_small.toml").read_text())
    raw["decision"] = {"objective": [{"metric": "revenu", "weight": 1}]}
    with pytest.raises(ScenarioError, match=r"decision.objective\[0\].metric: unknown metric 'revenu' "
                                            r"\(did you mean 'revenue'"):
        scenario_from_dict(raw, source="f.toml")
    raw["decision"] = {"objective": [{"parameter": "assignment.policy", "weight": -1}]}
    with pytest.raises(ScenarioError, match="assignment.policy' is 'round_robin'.*needs a number"):
        scenario_from_dict(raw, source="f.toml")
    raw["decision"] = {"objective": [{"parameter": "reps.nope", "weight": -1}]}
    with pytest.raises(ScenarioError, match="'reps.nope' is not a key of the baseline"):
        scenario_from_dict(raw, source="f.toml")
    raw["decision"] = {"objective": [{"metric": "won", "parameter": "reps.count", "weight": 1}]}
    with pytest.raises(ScenarioError, match="exactly one of 'metric' or 'parameter'"):
        scenario_from_dict(raw, source="f.toml")
    raw["decision"] = {"objective": [{"metric": "won", "weight": 1}],
                       "constraints": [{"metric": "won", "op": "at most", "value": 3}]}
    with pytest.raises(ScenarioError, match=r"constraints.0.op"):
        scenario_from_dict(raw, source="f.toml")
    raw["decision"]["constraints"][0]["op"] = "<="
    assert scenario_from_dict(raw, source="f.toml").decision.constraints[0].op == "le"


def test_every_bundled_scenario_has_a_usable_decision_and_declares_its_metrics(root):
    import glob

    for f in sorted(glob.glob(str(root / "scenarios/*.toml"))):
        sc = load_scenario(f)
        assert sc.decision is not None and sc.currency, f
    # every metric a simulation returns has a declared unit (the catalogue [decision] is checked against)
    from crmsim.units import known_metric

    for name in ("funnel_small", "pool_regions", "field_visits"):
        sc = load_scenario(root / f"scenarios/{name}.toml")
        spec = get_model(sc.model)
        cfg = sc.baseline
        if name == "field_visits":
            cfg = cfg.model_copy(update={"customers": cfg.customers.model_copy(update={"count": 200})})
        r = spec.simulate(cfg, np.random.SeedSequence(1), 35, 7, keep_events=False)
        assert [m for m in r.metrics if not known_metric(spec.units, m)] == [], name


def test_units_are_read_as_people_read_them():
    assert fmt(3.759e9, "money_minor", "EUR") == "EUR 37,590,000"        # cents shown in euros
    assert fmt(853_200.0, "money", "USD") == "USD 853,200"
    assert fmt(0.1234, "share") == "12.3%" and fmt(0.02, "share", signed=True) == "+2.0 pp"
    assert fmt(1830.0, "count") == "1,830" and fmt(73.6, "count") == "73.6"
    assert fmt(17.0, "days") == "17.0 d" and fmt(48.2, "hours") == "48.2 h"
    assert fmt(2.5e-7, "ratio") == "0.000000" and "e" not in fmt(1.2e12, "ratio")
    assert fmt(float("nan"), "count") == "-"
    assert fmt_ci(10.0, 8.0, 12.0, "count") == "10 [8, 12]"


def test_intervals_of_counts_and_shares_stay_in_range():
    from crmsim.experiments.stats import compare

    s = pd.DataFrame({"variant": ["baseline"] * 3 + ["b"] * 3, "replication": [0, 1, 2] * 2,
                      "lost": [0.0, 0.0, 3.0, 1.0, 0.0, 0.0], "share": [0.98, 1.0, 1.0, 0.5, 0.6, 0.7]})
    raw = compare(s).set_index(["variant", "metric"])
    assert raw.loc[("baseline", "lost"), "ci_low"] < 0 and raw.loc[("baseline", "share"), "ci_high"] > 1
    c = compare(s, bounds={"lost": (0, np.inf), "share": (0, 1)}).set_index(["variant", "metric"])
    assert c.loc[("baseline", "lost"), "ci_low"] == 0 and c.loc[("baseline", "share"), "ci_high"] == 1
    assert c.loc[("b", "lost"), "diff_ci_low"] == raw.loc[("b", "lost"), "diff_ci_low"]   # differences may be < 0


def test_variant_labels_are_short_and_the_baseline_is_described(root):
    from crmsim.experiments.scenario import baseline_equivalents, describe_baseline, variant_labels

    sc = load_scenario(root / "scenarios/pool_reclamation.toml")
    labels = variant_labels(sc)
    assert labels["policy.rules.0.limit_days=45"] == "limit 45 d"
    assert labels["pools.0.claim.holding_cap=200,pools.0.claim.cooldown_days=30"] == "holding cap 200, cooldown 30 d"
    assert describe_baseline(sc) == "limit 30 d; holding cap 0, cooldown 0 d; reclaim by rules"
    credit = load_scenario(root / "scenarios/credit_policy.toml")
    # the grid point equal to the baseline is not run twice, and is named as the baseline
    assert baseline_equivalents(credit) == ["limit multiplier 1.5, dunning every 0 d"]
    assert "limit_multiplier=1.5,dunning_every_days=0" not in variant_labels(credit)


def test_the_cli_says_when_a_grid_point_is_the_baseline(root, tmp_path, capsys):
    from crmsim.cli import main

    out = tmp_path / "credit"
    assert main(["run", str(root / "scenarios/credit_policy.toml"), "--out", str(out), "--quiet", "--jobs", "1",
                 "--replications", "2", "--set", "baseline.customers=60", "--set", "run.horizon_days=60"]) == 0
    captured = capsys.readouterr()
    assert "limit multiplier 1.5, dunning every 0 d is the baseline itself" in captured.err
    assert "Decision: " in captured.out
    page = (out / "report.html").read_text()
    assert "is the baseline itself" in page or "also a grid point of the sweep" in page


def test_a_choice_whose_interval_crosses_a_limit_says_so(root):
    sc = load_scenario(root / "scenarios/pool_reclamation.toml")
    top = "policy.rules.0.limit_days=90"
    means = {"baseline": {"revenue": 16e6, "owners_3plus_share": 0.30},
             top: {"revenue": 17e6, "owners_3plus_share": 0.099}}
    s = summary_of(sc, means, n=8, rel=1e-3, own_noise=0.01)
    noise = np.random.default_rng(3).normal(0, 0.01, 8)          # its churn varies around the limit
    s.loc[s["variant"] == top, "owners_3plus_share"] = 0.099 + noise - noise.mean()
    rec = decide(s, sc, Decision(objective=(Term(metric="revenue", weight=1),),
                                 constraints=(Constraint(metric="owners_3plus_share", op="le", value=0.10),)))
    assert rec.choice == top
    c = rec.terms.set_index("name").loc["owners_3plus_share"]
    assert c["choice_ci_low"] < 0.10 < c["choice_ci_high"] and not c["certain"]
    assert "It meets owners_3plus_share <= 10.0% on average" in rec.text() and "crosses the limit" in rec.text()
