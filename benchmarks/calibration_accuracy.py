"""How close a calibrated funnel comes to months it did not see, over many generated exports.

Each seed generates an MQL export in the shape of public marketing-funnel data (ten channel
names of the company's own, dates without times, won deals in their own table; 18 months, see
``crmsim.synth.marketing_export``), fits on the first two thirds with ``split_validation`` and
simulates the rest. Printed: per metric, the mean and mean absolute relative error of the
simulation against the held-out history, and the share of seeds within 10%, for all channels
together and for every channel with >= 300 held-out leads.

    python benchmarks/calibration_accuracy.py [n_seeds [table.csv]]     # about 10 s a seed
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd

from crmsim import synth
from crmsim.experiments.calibrate import (
    ALL,
    LeadHistoryMapping,
    load_lead_history,
    split_validation,
)
from crmsim.sim.funnel import FunnelConfig, RepsConfig

MAP = LeadHistoryMapping(
    columns={"mql_id": "lead_id", "first_contact_date": "created_at", "origin": "channel"},
    default_status="mql",
    deals={"lead_id": "mql_id", "columns": {"won_date": "closed_at", "declared_monthly_revenue": "amount"}})


def main(n: int) -> None:
    rows = []
    for seed in range(n):
        mqls, deals = synth.marketing_export(546, seed=100 + seed)
        h = load_lead_history(mqls, MAP, deals=deals)
        t = split_validation(h, FunnelConfig(reps=RepsConfig(count=12)), replications=5, seed=1)["table"]
        rows.append(t.assign(seed=seed))
        a = t[t["channel"] == ALL].set_index("metric")["rel_error"]
        print(f"seed {seed}: conversion {a['conversion']:+.1%}, median days to close "
              f"{a['days_to_close_median']:+.1%}, leads {a['leads']:+.1%}", flush=True)
    df = pd.concat(rows)
    if len(sys.argv) > 2:
        df.to_csv(sys.argv[2], index=False)
    for label, sel in (("all channels", df["channel"] == ALL),
                       ("channels with >= 300 held-out leads", (df["channel"] != ALL) & (df["n_leads"] >= 300))):
        print(f"\n{label} ({int(sel.sum() / 3)} channel-seeds):")
        for metric in ("leads", "conversion", "days_to_close_median"):
            e = df.loc[sel & (df["metric"] == metric), "rel_error"].to_numpy(dtype=float)
            e = e[np.isfinite(e)]
            print(f"  {metric:22s} mean {e.mean():+.1%}  mean |error| {np.abs(e).mean():.1%}  "
                  f"within 10%: {(np.abs(e) <= 0.10).mean():.0%}  within the history's 95% CI: "
                  f"{df.loc[sel & (df['metric'] == metric), 'passed'].mean():.0%}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10)
