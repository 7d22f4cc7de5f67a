"""Write the example exports in data/examples/: a marketing export (an MQL table and its
closed-deals table, in the shape of public funnel exports), an ERP's receivables (customers,
invoices, payments) and a CRM's public-pool history (accounts, activities, deals, the owner-change
log). Generated, not real: see crmsim.synth.marketing_export / credit_export / pool_export.
``starter`` writes only the starter project's customers workbook (``crmsim init``), from the CRM
history: the customers as a CRM list view shows them on a day, with two messy rows.

    python tools/make_examples.py [starter]
"""

import sys
from pathlib import Path

import pandas as pd

from crmsim import synth
from crmsim.sim import exports
from crmsim.sim.credit import CreditConfig
from crmsim.sim.pool import PoolConfig


def starter(examples: Path) -> None:
    """``starter/data/customers.xlsx``: the CRM example's customers as its list view shows them at
    the reclaim job of 2025-07-01 (owner, rating, owner since, last activity, last won deal,
    locked), in the export's own column names, with a repeated account and an unreadable date."""
    from crmsim.customers import pool_history, state_at
    from crmsim.errors import read_toml

    crm = {k: pd.read_csv(examples / f"crm_{k}.csv", keep_default_na=False)
           for k in ("accounts", "activities", "deals", "ownership")}
    h = pool_history(crm["accounts"], crm["activities"], crm["deals"], crm["ownership"],
                     columns=read_toml(examples / "crm_map.toml")["columns"], start="2025-01-06")
    day = pd.Timestamp("2025-07-01")
    owned = state_at(h, day)
    view = h.customers[["customer_id"]].merge(owned, on="customer_id", how="left")
    names = crm["accounts"].set_index("Account ID")["Account Name"]
    rng = __import__("numpy").random.default_rng(11)
    t = pd.DataFrame({
        "Account ID": view["customer_id"], "Account Name": view["customer_id"].map(names),
        "Account Owner": view["owner_id"].fillna(""), "Rating": view["grade"], "Territory": view["region"],
        "Owner Since": view["received_at"], "Last Activity": view["last_followup_at"],
        "Last Won Deal": view["last_deal_at"],
        "Locked": ["Yes" if (o == o and o) and rng.random() < 0.03 else "" for o in view["owner_id"]]})
    t = pd.concat([t, t.iloc[[17]]], ignore_index=True)          # the same account twice (a join in the report)
    t["Last Activity"] = t["Last Activity"].astype(object)
    t.loc[40, "Last Activity"] = "n/a"                           # typed by hand
    out = examples / "starter" / "data" / "customers.xlsx"
    out.parent.mkdir(parents=True, exist_ok=True)
    with pd.ExcelWriter(out, engine="openpyxl") as xw:
        t.to_excel(xw, sheet_name="Accounts", index=False)
    print(f"wrote {out} ({len(t)} rows, as at the job of {day.date()})")
    starter_notebook(examples / "starter" / "start_here.ipynb")


STARTER_CELLS = [
    ("markdown", """# Start here: who goes back to the pool tonight, and would another limit do better?

This folder came from `crmsim init`. `data/customers.xlsx` is a CRM's account list (its own column
names; a repeated account and a date typed by hand included, as real exports have), and
`policy.toml` a reclaim rule to try on it, with the mapping of the export's columns. Replace both
with your own export and rule: nothing below depends on crmsim's names.

1. **The rule on the table**: which accounts the rule sends back to the public pool at tonight's
   job, which are close (remind the owner), which are exempt and why, which rows could not be read.
2. **The rule simulated**: the same kind of rule over a year of a pool like this one, a shorter
   and a longer limit against today's, and what a stated objective says to do."""),
    ("code", """import pandas as pd
import plotly.express as px

from crmsim.cli import main

# the same command as `crmsim reclaim data/customers.xlsx --policy policy.toml --out results/reclaim`
code = main(["reclaim", "data/customers.xlsx", "--policy", "policy.toml", "--out", "results/reclaim"])
print("exit code", code)"""),
    ("code", """status = pd.read_csv("results/reclaim/customers.csv")
quarantine = pd.read_csv("results/reclaim/quarantine.csv")
owned = status[status["owner_id"].notna()]
print(f"{len(owned):,} owned accounts: {int(owned['due'].sum())} due tonight, {int(owned['remind'].sum())} to remind, "
      f"{int(owned['exempt'].notna().sum())} exempt; {len(quarantine)} row(s) set aside (results/reclaim/quarantine.csv)")
fig = px.histogram(owned[owned["days_until"].notna()], x="days_until", color="grade", nbins=60,
                   title="Days until each account is reclaimed (< 0: already past the limit)")
fig.update_layout(xaxis_title="days until reclaim", yaxis_title="accounts")
fig.show()"""),
    ("markdown", """The accounts left of zero go back tonight; those just right of it are next week's. Before
switching the rule on, look at who they belong to (`results/reclaim/due.csv`, column `owner_id`)
and at the rows set aside: they are not judged at all until their dates are fixed."""),
    ("code", """from crmsim.experiments import load_scenario, run_experiment
from crmsim.experiments.scenario import scenario_from_dict

sc = load_scenario("scenarios/pool_reclamation.toml")
raw = sc.model_dump(mode="json", by_alias=True, exclude_none=True)
raw["baseline"]["customers"]["count"] = len(status)       # a book the size of this export
raw["baseline"]["reps"].update(count=max(1, owned["owner_id"].nunique()), teams={})
raw["sweep"] = [{"name": "limit", "grid": {"policy.rules.0.limit_days": [21, 45]}}]
raw["run"].update(replications=3)
res = run_experiment(scenario_from_dict(raw, source="start_here"), jobs=1)
rec = res.decide()
print(rec.text())"""),
    ("code", """t = rec.table[rec.table["variant"] != "baseline"]
fig = px.bar(t, x="label", y="diff", error_y=t["diff_ci_high"] - t["diff"], error_y_minus=t["diff"] - t["diff_ci_low"],
             title=f"{rec.decision.name}: change against today's 30 days, a year (95% CI)")
fig.update_layout(xaxis_title="", yaxis_title=sc.currency)
fig.show()"""),
    ("markdown", """The decision above is stated by the scenario's `[decision]` (revenue, less an assumed cost per
customer lost to a competitor): it says which limit to take, what it gains, at what cost and how
sure, or "cannot tell yet" with the replications it would need. The simulated pool runs on the
scenario's illustrative assumptions, sized like this export. To make it a twin of *your* pool, fit
it to your CRM's history (accounts, activities, deals and the owner-change log):

    crmsim calibrate --model pool --customers data/examples/crm_accounts.csv \\
        --activities data/examples/crm_activities.csv --deals data/examples/crm_deals.csv \\
        --ownership data/examples/crm_ownership.csv --map data/examples/crm_map.toml \\
        --start 2025-01-06 --out results/my_pool.toml --validate 5

then run the fitted scenario (`crmsim run results/my_pool.toml`) or replay a limit on the history
itself (`crmsim.customers.replay_reclaim`; see the README)."""),
]


def starter_notebook(out: Path) -> None:
    """``starter/start_here.ipynb``: the starter project's notebook (no outputs; it runs where
    ``crmsim init`` put it)."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    for k, (kind, src) in enumerate(STARTER_CELLS):
        cell = nbformat.v4.new_markdown_cell(src) if kind == "markdown" else nbformat.v4.new_code_cell(src)
        cell["id"] = f"start-{k}"
        nb.cells.append(cell)
    nbformat.write(nb, out)
    print(f"wrote {out}")


#: a CRM's lead list view: crmsim's name -> the export's column
LEAD_EXPORT_COLUMNS = {"lead_id": "Lead ID", "name": "Full Name", "company": "Company", "email": "Email",
                       "phone": "Phone", "city": "City", "channel": "Lead Source", "created_at": "Created",
                       "company_size": "Employees", "job_level": "Job Level", "engagement": "Engagement Score"}


def leads(examples: Path) -> None:
    """``crm_leads.csv`` (four weeks of leads with 8% duplicates: typos, upper-cased or missing
    e-mails, phones written another way) and ``crm_reps.csv``, in a CRM's own column names."""
    raw, _ = synth.with_duplicates(synth.leads(28, seed=21), 0.08, seed=22)
    t = raw[list(LEAD_EXPORT_COLUMNS)].rename(columns=LEAD_EXPORT_COLUMNS)
    t["Created"] = pd.to_datetime(t["Created"]).dt.strftime("%d.%m.%Y %H:%M")
    t["Lead ID"] = [f"00Q{k:06d}" for k in range(len(t))]
    t.to_csv(examples / "crm_leads.csv", index=False)
    reps = synth.reps(6, seed=23)[["rep_id", "team", "region"]].assign(capacity=[300, 300, 250, 250, 150, 100])
    reps.rename(columns={"rep_id": "User", "team": "Team", "region": "Region", "capacity": "Capacity"}).to_csv(
        examples / "crm_reps.csv", index=False)
    print(f"wrote {examples / 'crm_leads.csv'} ({len(t)} rows) and {examples / 'crm_reps.csv'}")


if __name__ == "__main__":
    if sys.argv[1:] == ["leads"]:
        leads(Path(__file__).resolve().parent.parent / "data" / "examples")
        sys.exit(0)
    out = Path(__file__).resolve().parent.parent / "data" / "examples"
    if sys.argv[1:] == ["starter"]:
        starter(out)
        sys.exit(0)
    mqls, deals = synth.marketing_export(364, seed=1)
    mqls.to_csv(out / "mql_export.csv", index=False)
    deals.to_csv(out / "closed_deals.csv", index=False)
    print(f"wrote {out / 'mql_export.csv'} ({len(mqls)} rows) and {out / 'closed_deals.csv'} ({len(deals)} rows)")
    book = exports.credit_export(CreditConfig(customers=400, limit_multiplier=3), 365, seed=3)
    for k in ("customers", "invoices", "payments"):
        book[k].to_csv(out / f"erp_{k}.csv", index=False)
    (out / "erp_map.toml").write_text(
        "# crmsim calibrate --model credit: crmsim's name = the export's column\n[columns]\n"
        + "".join(f'{k} = "{v}"\n' for k, v in exports.CREDIT_EXPORT_COLUMNS.items()), encoding="utf-8")
    print(f"wrote {out}/erp_customers.csv, erp_invoices.csv ({len(book['invoices'])} rows), erp_payments.csv, erp_map.toml")
    crm = exports.pool_export(PoolConfig(customers={"count": 1200}, reps={"count": 5, "target_holding": 250}), 240, seed=4)
    for k in ("accounts", "activities", "deals", "ownership"):
        crm[k].to_csv(out / f"crm_{k}.csv", index=False)
    (out / "crm_map.toml").write_text(
        "# crmsim calibrate --model pool: crmsim's name = the export's column\n[columns]\n"
        + "".join(f'{k} = "{v}"\n' for k, v in exports.POOL_EXPORT_COLUMNS.items()), encoding="utf-8")
    print(f"wrote {out}/crm_accounts.csv, crm_activities.csv ({len(crm['activities'])} rows), crm_deals.csv, "
          f"crm_ownership.csv, crm_map.toml")
    starter(out)
    leads(out)
