"""Write notebooks/09_your_funnel.ipynb (cells only); then run tools/build_notebooks.py on it."""

import nbformat as nbf

nb = nbf.v4.new_notebook()
def md(s):
    return nbf.v4.new_markdown_cell(s)
def code(s):
    return nbf.v4.new_code_cell(s)
cells = []
cells.append(md("""# 09 · Your funnel: from a messy export to a decision

**The question.** Sales says it drowns in marketing-qualified leads. Marketing proposes to pass
only the MQLs from search and referrals. What would that rule have done to the leads we had, what
will it do next year, and should we make the change?

The data is an export as marketing tools write it, not in crmsim's own shape: an MQL table with
the company's own channel labels (ten of them, some blank, one with a handful of leads), dates
without times, and the won deals in a table of their own, joined by an id that does not always
match (`data/examples/mql_export.csv`, `closed_deals.csv`, mapped by `mql_export_map.toml`;
generated in the shape of public funnel exports by `tools/make_examples.py`).

The path: **load** (what was read, what was left out) → **calibrate** (every parameter with its
source) → **check on held-out months** → **replay** the proposed rule on the history →
**simulate** it → **decide**."""))
cells.append(code("""from pathlib import Path

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import plotly.io as pio

from crmsim.experiments import (calibrate, fast_mode, load_lead_history, load_mapping, load_scenario,
                                run_experiment, split_validation)
from crmsim.experiments.calibrate import ALL
from crmsim.experiments.scenario import scenario_from_dict
from crmsim.leads.replay import AS_RECORDED, ReplayRules, replay
from crmsim.report.figures import split_validation_figure

pio.renderers.default = "plotly_mimetype"
ROOT = Path.cwd() if (Path.cwd() / "scenarios").is_dir() else Path.cwd().parent
EX = ROOT / "data" / "examples\""""))
cells.append(md("""## 1. Load the export as it is

The mapping names the export's columns and says that every row reached MQL and a lead with a
deal row is won. Nothing is dropped silently: the summary lists every row left out and every
channel value the mapping did not name (kept under its own name here)."""))
cells.append(code("""# NBVAL_CHECK_OUTPUT
history = load_lead_history(EX / "mql_export.csv", load_mapping(EX / "mql_export_map.toml"))
print(history.summary().replace(str(ROOT) + "/", ""))"""))
cells.append(code("""h = history.table
weekly = (h.assign(week=h["created_at"].dt.to_period("W-SUN").dt.start_time)
           .groupby(["week", "channel"]).size().rename("mqls").reset_index())
px.area(weekly, x="week", y="mqls", color="channel", title="MQLs per week and channel (the export's own names)")"""))
cells.append(md("""## 2. Calibrate: every parameter says where it came from

`calibrate` fits per channel the volume (weekday pattern, trend), the share eventually won (open
leads weighted by the chance they had to close) and the time to close (right-truncated: a deal
is seen only if it closed before the export date). The export has **dates without times**, so the
time to first contact reads as zero: crmsim does not fit a response-time effect it cannot see and
switches it off, saying so. Channels with fewer than 30 leads share a pooled estimate."""))
cells.append(code("""base = load_scenario(ROOT / "scenarios" / "funnel.toml")
cal = calibrate(history, base.baseline, seed=1)
for note in cal.notes:
    print("note:", note)
cal.provenance["source"].value_counts()"""))
cells.append(code("""e = cal.estimates[cal.estimates["parameter"] == "qualified_share_of_contacted"].sort_values("value")
fig = go.Figure(go.Bar(x=e["value"], y=e["channel"], orientation="h",
                       marker_color=np.where(e["source"] == "pooled", "#bbbbbb", "#636efa"),
                       error_x={"type": "data", "symmetric": False, "array": e["ci_high"] - e["value"],
                                "arrayminus": e["value"] - e["ci_low"]}))
fig.update_layout(title="Share of MQLs eventually won, per channel (95% CI; grey = pooled, too few leads)",
                  xaxis_tickformat=".0%")
fig"""))
cells.append(md("""## 3. Does the calibrated funnel reproduce months it did not see?

`split_validation` fits on the first two thirds of the history only (later dates are hidden)
and simulates the last third. Each metric passes when the simulated mean lies inside the held-out
history's own 95% interval."""))
cells.append(code("""val = split_validation(history, base.baseline, replications=3 if fast_mode() else 10, seed=1)
table = val["table"]
split_validation_figure(table)"""))
cells.append(code("""# NBVAL_CHECK_OUTPUT
big = table[(table["channel"] == ALL) | (table["n_leads"] >= 300)]
print(f"fitted on {cal.window[0].date()}..{val['split'].date()}, checked on {val['split'].date()}..{val['end'].date()}")
for r in big.itertuples():
    print(f"{'PASS' if r.passed else 'FAIL'} {r.channel:16s} {r.metric:22s} history {r.historical:8.3f} "
          f"simulated {r.simulated:8.3f} ({r.rel_error:+.0%})")"""))
cells.append(md("""## 4. Replay the proposed rule on the history

The replay runs the rule over the MQLs as they arrived, day by day, and compares it with the
history as recorded (every MQL went to sales). It needs no assumption: it is what the rule would
have done to last year's leads. What it cannot say is what the leads it holds back would have done
if they had been worked; here every lead was worked, so every outcome is known."""))
cells.append(code("""tight = {"rules": [{"points": 50, "when": [{"field": "channel", "op": "in",
                                          "value": ["organic search", "paid search", "referral"]}]}],
         "mql_threshold": 40}
reps = cal.config.reps.count
# no first-contact dates in this export: the recycle rule cannot be judged, so it is left out
rep = replay(h, {"search and referral only": ReplayRules(scoring=tight, recycle={"max_wait_days": 0})}, reps=reps)
print(rep.text())"""))
cells.append(code("""# NBVAL_CHECK_OUTPUT
s = rep.summary.set_index("rules")
kept_mql = s.loc["search and referral only", "mql"] / s.loc[AS_RECORDED, "mql"]
kept_won = s.loc["search and referral only", "recall"]
print(f"replay: the rule keeps {kept_mql:.1%} of the MQLs and {kept_won:.1%} of the won deals")"""))
cells.append(code("""load = rep.weekly.groupby(["rules", "week"])["mql"].mean().rename("MQLs per rep").reset_index()
px.line(load, x="week", y="MQLs per rep", color="rules", title=f"Replay: new MQLs per rep and week ({reps} reps)")"""))
cells.append(md("""## 5. Simulate the same change for next year

The calibrated scenario starts where the history ends and carries each channel's trend forward.
The same rule, written the same way, is the variant."""))
cells.append(code("""raw = base.model_dump(mode="json", by_alias=True, exclude_none=True)
raw.update(name="your_funnel", baseline=cal.config.model_dump(mode="json", by_alias=True, exclude_none=True))
raw["baseline"]["scoring"]["rules"] = []          # the rule in force: every MQL to sales
raw["run"].update(horizon_days=364, warmup_days=28, replications=5 if fast_mode() else 20)
raw["sweep"] = [{"name": "MQL rule", "grid": {"scoring.rules": [tight["rules"]], "scoring.mql_threshold": [40]},
                 "labels": {"scoring.rules": ["search and referral only"]}}]
res = run_experiment(scenario_from_dict(raw), jobs=2)
cmp = res.comparison(["mql", "won", "revenue", "utilisation"]).set_index(["variant", "metric"])
new = [v for v in cmp.index.get_level_values(0).unique() if v != "baseline"][0]"""))
cells.append(code("""# NBVAL_CHECK_OUTPUT
b, v = cmp.loc["baseline"], cmp.loc[new]
sim_mql, sim_won = v.loc["mql", "mean"] / b.loc["mql", "mean"], v.loc["won", "mean"] / b.loc["won", "mean"]
print(f"simulation: the rule keeps {sim_mql:.1%} of the MQLs and {sim_won:.1%} of the won deals")
for m in ("won", "revenue", "utilisation"):
    r = v.loc[m]
    print(f"  {m:11s} {r['diff']:+14,.3f}  95% CI [{r['diff_ci_low']:,.3f}, {r['diff_ci_high']:,.3f}]")"""))
cells.append(code("""both = pd.DataFrame({"share kept": [kept_mql, kept_won, sim_mql, sim_won],
                     "what": ["MQLs", "won deals"] * 2, "answer": ["replay (last year)"] * 2 + ["simulation (next year)"] * 2})
px.bar(both, x="what", y="share kept", color="answer", barmode="group",
       title="What the tighter rule keeps: replay on history vs simulation").update_yaxes(tickformat=".0%")"""))
cells.append(md("""**Where replay and simulation agree, and where they cannot.** Both say the rule keeps a larger
share of the won deals than of the MQLs (search and referral convert better than the rest). They
differ in size because they answer for different years: the replay is last year's mix, the
simulation next year's, where the growing search channels make up more of the MQLs, so the rule
keeps more. Neither can say whether faster first contact would win back deals: the export has
dates only, so no response-time effect could be fitted (an export with times of day would let
the simulation answer that). The replay cannot say what the held-back leads would do if marketing
nurtured them; the simulation counts them as not worked."""))
cells.append(md("""## 6. Decide

The rule frees rep time and loses revenue. The objective, stated as data: revenue minus the cost
of the rep capacity used, with a rep-year at 65,000 (an assumption of this notebook: set your own).
Adopt the rule only if the capacity it frees is worth more than the revenue it loses, and the 95%
interval of the difference says so."""))
cells.append(code("""# NBVAL_CHECK_OUTPUT
REP_YEAR = 65_000.0
freed_fte = -v.loc["utilisation", "diff"] * cal.config.reps.count
lost = v.loc["revenue", ["diff", "diff_ci_low", "diff_ci_high"]].to_numpy()
net = lost + freed_fte * REP_YEAR
verdict = ("adopt the rule" if (net > 0).all() else
           "keep passing every MQL to sales" if (net < 0).all() else "cannot tell yet: run more replications")
print(f"the rule frees {freed_fte:.1f} rep-years ({freed_fte * REP_YEAR:,.0f}) and changes revenue by "
      f"{lost[0]:,.0f} [{lost[1]:,.0f}, {lost[2]:,.0f}] a year")
print(f"net {net[0]:,.0f} [{net[1]:,.0f}, {net[2]:,.0f}]: {verdict}")
print(f"break-even: a rep-year would have to cost {-lost[0] / freed_fte:,.0f}")"""))
cells.append(md("""**Decision.** The numbers above say it: the capacity the rule frees is worth far less than the
revenue it gives up, so sales should keep taking every MQL; if the team is overloaded, adding
capacity costs less than dropping the display, social and email MQLs. How sure: the whole 95%
interval of the net effect is on one side. What would change the answer: a rep-year costing
the break-even figure above (several times the assumption), or evidence (an export with times of day) that slower contact loses deals,
which this export cannot show."""))
nb["cells"] = cells
nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
nbf.write(nb, str(__import__("pathlib").Path(__file__).resolve().parent.parent / "notebooks" / "09_your_funnel.ipynb"))
