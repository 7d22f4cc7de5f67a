"""Write the example marketing export in data/examples/ (an MQL table and its closed-deals table,
in the shape of public funnel exports; generated, not real: see crmsim.synth.marketing_export).

    python tools/make_examples.py
"""

from pathlib import Path

from crmsim import synth

if __name__ == "__main__":
    out = Path(__file__).resolve().parent.parent / "data" / "examples"
    mqls, deals = synth.marketing_export(364, seed=1)
    mqls.to_csv(out / "mql_export.csv", index=False)
    deals.to_csv(out / "closed_deals.csv", index=False)
    print(f"wrote {out / 'mql_export.csv'} ({len(mqls)} rows) and {out / 'closed_deals.csv'} ({len(deals)} rows)")
