"""Write the example exports in data/examples/: a marketing export (an MQL table and its
closed-deals table, in the shape of public funnel exports), an ERP's receivables (customers,
invoices, payments) and a CRM's public-pool history (accounts, activities, deals, the owner-change
log), a shop's order lines with past promotions and a field team's visit log. Generated, not real: see crmsim.synth.marketing_export / credit_export / pool_export.
``starter`` writes only the starter project's customers workbook (``crmsim init``), from the CRM
history: the customers as a CRM list view shows them on a day, with two messy rows.

    python tools/make_examples.py [starter | leads | twins]
"""

import sys
from pathlib import Path

import pandas as pd

from crmsim import synth
from crmsim.sim import exports
from crmsim.sim.credit import CreditConfig
from crmsim.sim.pool import PoolConfig


def write_map(path: Path, model: str, columns: dict[str, str], extra: str = "") -> None:
    """A mapping file for ``crmsim calibrate --model MODEL``: ``[columns]`` (crmsim's name = the
    export's column) and any ``extra`` sections."""
    path.write_text(f"# crmsim calibrate --model {model}: crmsim's name = the export's column\n[columns]\n"
                    + "".join(f'{k} = "{v}"\n' for k, v in columns.items()) + extra, encoding="utf-8")


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


#: the example shop's truth (``shop_order_lines.csv``): three customer groups, six items in three
#: item groups, seven past promotions over 2025, a weekly and a yearly pattern; online customers
#: buy ahead on promotion. Generated, not real: what the calibration should find is written here.
SHOP = {
    "customers": 1500, "start_date": "2025-01-06",
    "segments": [
        {"name": "Retail", "share": 0.55, "elasticity": -1.8, "occasions_per_month": 2.0, "units_mean": 2,
         "lines_mean": 1.6},
        {"name": "Online", "share": 0.30, "elasticity": -3.0, "stockpile": 0.5, "occasions_per_month": 1.5,
         "units_mean": 2},
        {"name": "Wholesale", "share": 0.15, "elasticity": -1.0, "occasions_per_month": 1.0, "units_mean": 12, "lines_mean": 3,
         "deal_share": 0.4, "ask_discount": 0.08}],
    "products": [
        {"product_id": "BEV-1001", "category": "Beverages", "list_price": 2400, "unit_cost": 1500, "weight": 3},
        {"product_id": "BEV-1002", "category": "Beverages", "list_price": 3600, "unit_cost": 2100, "weight": 2},
        {"product_id": "SNK-2001", "category": "Snacks", "list_price": 1800, "unit_cost": 1000, "weight": 3},
        {"product_id": "SNK-2002", "category": "Snacks", "list_price": 2900, "unit_cost": 1700, "weight": 1},
        {"product_id": "HOM-3001", "category": "Household", "list_price": 5400, "unit_cost": 3000, "weight": 2},
        {"product_id": "HOM-3002", "category": "Household", "list_price": 8900, "unit_cost": 5200, "weight": 1}],
    "promotions": [
        {"promo_id": "NEWYEAR-SNK15", "kind": "item", "category": ["Snacks"], "percent_off": 0.15,
         "valid_from": "2025-02-03", "valid_to": "2025-02-16"},
        {"promo_id": "SPRING-HOM20", "kind": "item", "category": ["Household"], "percent_off": 0.20,
         "valid_from": "2025-03-17", "valid_to": "2025-03-30"},
        {"promo_id": "MAY-BEV10", "kind": "item", "category": ["Beverages"], "percent_off": 0.10,
         "valid_from": "2025-05-05", "valid_to": "2025-05-18"},
        {"promo_id": "SUMMER-BEV25", "kind": "item", "category": ["Beverages"], "percent_off": 0.25,
         "valid_from": "2025-06-23", "valid_to": "2025-07-06"},
        {"promo_id": "AUG-SNK20", "kind": "item", "category": ["Snacks"], "percent_off": 0.20,
         "valid_from": "2025-08-18", "valid_to": "2025-08-31"},
        {"promo_id": "AUTUMN-HOM15", "kind": "item", "category": ["Household"], "percent_off": 0.15,
         "valid_from": "2025-10-06", "valid_to": "2025-10-19"},
        {"promo_id": "BLACKFRI-BEV30", "kind": "item", "category": ["Beverages"], "percent_off": 0.30,
         "valid_from": "2025-11-24", "valid_to": "2025-12-07"}],
    "weekday_weights": [1.15, 1.05, 1.0, 1.05, 1.25, 0.85, 0.65],
    "month_weights": [0.85, 0.85, 0.95, 1.0, 1.05, 1.15, 1.2, 1.15, 1.0, 0.95, 0.9, 0.95],
}

#: the example field team's truth (``field_stores.csv``, ``field_visits.csv``): 500 stores around
#: Guangzhou, 6 reps, 12 weeks; slower roads, longer visits and more cancellations than the
#: bundled scenario assumes.
FIELD_TEAM = {
    "customers": {"count": 500, "center": [23.1291, 113.2644], "radius_km": 14.0,
                  "grade_shares": {"A": 0.15, "B": 0.3, "C": 0.35, "D": 0.2},
                  "service_minutes": {"kind": "lognormal", "mean": 32.0, "cv": 0.5}},
    "reps": {"count": 6, "speed_kmh": 18.0, "road_factor": 1.5, "travel_noise_cv": 0.35},
    "cadence": {"every_days": {"A": 7, "B": 14, "C": 28, "D": 56}, "visits_per_day": 8},
    "routing": False, "cancellation_share": 0.12, "adhoc_per_day": 0.8,
}


def twins(examples: Path) -> None:
    """The promotion and field twins' example logs: ``shop_order_lines.csv`` (a year of an ERP's
    sales-order items, :data:`SHOP`) with ``shop_map.toml``, and ``field_stores.csv`` /
    ``field_visits.csv`` (a field-sales app's stores and visit log, :data:`FIELD_TEAM`) with
    ``field_map.toml``; each with the export's noise (a return, a blank item code, a bad date; a
    visit without check-out, a store without coordinates, a visit of an unknown store)."""
    from crmsim.sim.field import FieldConfig
    from crmsim.sim.promo import PromoConfig

    shop = exports.promo_export(PromoConfig.model_validate(SHOP), 364, seed=5)
    shop["lines"].to_csv(examples / "shop_order_lines.csv", index=False)
    write_map(examples / "shop_map.toml", "promo", exports.PROMO_EXPORT_COLUMNS)
    print(f"wrote {examples / 'shop_order_lines.csv'} ({len(shop['lines'])} rows) and shop_map.toml")
    team = exports.field_export(FieldConfig.model_validate(FIELD_TEAM), 84, seed=6)
    team["stores"].to_csv(examples / "field_stores.csv", index=False)
    team["visits"].to_csv(examples / "field_visits.csv", index=False)
    write_map(examples / "field_map.toml", "field", exports.FIELD_EXPORT_COLUMNS, '\n[statuses]\nCompleted = "done"\nCancelled = "cancelled"\n"Not Visited" = "missed"\n')
    print(f"wrote {examples / 'field_stores.csv'}, field_visits.csv ({len(team['visits'])} rows) and field_map.toml")


if __name__ == "__main__":
    if sys.argv[1:] == ["twins"]:
        twins(Path(__file__).resolve().parent.parent / "data" / "examples")
        sys.exit(0)
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
    write_map(out / "erp_map.toml", "credit", exports.CREDIT_EXPORT_COLUMNS)
    print(f"wrote {out}/erp_customers.csv, erp_invoices.csv ({len(book['invoices'])} rows), erp_payments.csv, erp_map.toml")
    crm = exports.pool_export(PoolConfig(customers={"count": 1200}, reps={"count": 5, "target_holding": 250}), 240, seed=4)
    for k in ("accounts", "activities", "deals", "ownership"):
        crm[k].to_csv(out / f"crm_{k}.csv", index=False)
    write_map(out / "crm_map.toml", "pool", exports.POOL_EXPORT_COLUMNS)
    print(f"wrote {out}/crm_accounts.csv, crm_activities.csv ({len(crm['activities'])} rows), crm_deals.csv, "
          f"crm_ownership.csv, crm_map.toml")
    starter(out)
    leads(out)
    twins(out)
