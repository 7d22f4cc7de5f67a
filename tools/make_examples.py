"""Write the example exports in data/examples/: a marketing export (an MQL table and its
closed-deals table, in the shape of public funnel exports), an ERP's receivables (customers,
invoices, payments) and a CRM's public-pool history (accounts, activities, deals, the owner-change
log). Generated, not real: see crmsim.synth.marketing_export / credit_export / pool_export.

    python tools/make_examples.py
"""

from pathlib import Path

from crmsim import synth
from crmsim.sim import exports
from crmsim.sim.credit import CreditConfig
from crmsim.sim.pool import PoolConfig

if __name__ == "__main__":
    out = Path(__file__).resolve().parent.parent / "data" / "examples"
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
