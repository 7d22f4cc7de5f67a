"""A generated bad-input corpus over the public table functions (the Python API): every column of
each function's input dropped, and one cell of it made wrong (a word, a missing value, a date that
is not one). Each case must either work (the function copes, e.g. a missing optional column) or
raise an error that names the column: a ``KeyError``, ``ValueError``, ``TypeError`` or crmsim
error with the column in its message, never a pandas or numpy internal error that names nothing.

The counts are printed (``pytest -s``) for the hardening issue's closing note.
"""

from __future__ import annotations

import pandas as pd
import pytest

from crmsim import synth
from crmsim.errors import CrmsimError

TODAY = "2025-06-30"
ROW = 3


def _customers():
    return synth.customers(30, n_reps=3, seed=5)


def _policy():
    from crmsim.customers import ReclaimPolicy, ReclaimRule

    return ReclaimPolicy(rules=[ReclaimRule(kind="no_followup", limit_days=30, by_grade={"A": 60}),
                                ReclaimRule(kind="no_deal", limit_days=180)])


def _receivables():
    return pd.DataFrame({"receivable_id": [f"R{k}" for k in range(8)], "customer_id": ["C1", "C1", "C2", "C2", "C3",
                                                                                       "C3", "C4", "C4"],
                         "amount": pd.array([1000, 2000, 500, 700, 900, 100, 50, 60], dtype="int64"),
                         "open": pd.array([1000, 2000, 500, 0, 900, 100, 50, 60], dtype="int64"),
                         "due_at": pd.to_datetime(["2025-03-01", "2025-04-01", "2025-05-01", "2025-05-15",
                                                   "2025-06-01", "2025-06-20", "2025-07-01", "2025-07-10"])})


def _payments():
    return pd.DataFrame({"payment_id": ["P1", "P2", "P3", "P4", "P5"], "customer_id": ["C1", "C2", "C3", "C3", "C4"],
                         "amount": pd.array([1500, 500, 900, 300, 10], dtype="int64"),
                         "ref": [None, "R2", None, None, None],
                         "paid_at": pd.to_datetime(["2025-06-01", "2025-06-02", "2025-06-03", "2025-06-04",
                                                    "2025-06-05"])})


def _pool_call(customers, what):
    from crmsim.customers import Pool, claim

    c = customers.copy()
    if "owner_id" in c.columns and "customer_id" in c.columns:
        c.loc[c.index[:6], "owner_id"] = None     # six in the pool
    reps = synth.reps(3)
    req = pd.DataFrame({"customer_id": customers["customer_id"].iloc[:4].tolist() if "customer_id" in customers
                        else ["C000000"] * 4, "rep_id": ["R000", "R001", "R000", "R002"]})
    return claim(c, reps, [Pool(pool_id="main")], req, TODAY)


def _dunning(r):
    from crmsim.finance.ageing import DunningPolicy, dunning

    return dunning(r, DunningPolicy(), today=TODAY)


def _price(lines):
    from crmsim.cli import _bundled
    from crmsim.cpq import load_cpq, price_lines

    setup = load_cpq(_bundled("examples") / "cpq_setup.toml")
    return price_lines(lines, setup.catalog.frame(), setup.price_rules, policy=setup.pricing)


def _lines():
    return pd.DataFrame({"order_id": ["o1", "o1", "o2", "o3", "o3"], "customer_id": ["A", "A", "B", "C", "C"],
                         "product_id": ["ws", "ws", "ws", "ws", "ws"], "qty": [1.0, 2.0, 3.0, 4.0, 5.0],
                         "date": pd.to_datetime(["2025-05-02"] * 5), "customer_grade": ["A", "B", "C", "A", "B"]})


def _leads():
    return synth.leads(7, seed=2).head(30).reset_index(drop=True)


def _score(leads):
    from crmsim.leads import ScoringRule

    return ScoringRule().apply(leads)


def _assign(leads):
    from crmsim.leads import AssignmentRule

    return AssignmentRule(policy="least_loaded").assign_table(leads, synth.reps(3))


def _dedup(leads):
    from crmsim.leads import LEAD_DEDUP

    return LEAD_DEDUP.groups(leads)


def _ageing(r):
    from crmsim.finance.ageing import ageing

    return ageing(r, today=TODAY)


def _allocate_pay(p):
    from crmsim.finance.writeoff import allocate

    return allocate(p, _receivables())


def _allocate_rec(r):
    from crmsim.finance.writeoff import allocate

    return allocate(_payments(), r)


def _due(c):
    from crmsim.customers import due_for_reclaim

    return due_for_reclaim(c, _policy(), TODAY)


def _days_until(c):
    from crmsim.customers import days_until_reclaim

    return days_until_reclaim(c, _policy(), TODAY)


def _invoices():
    return pd.DataFrame({"invoice_id": [f"I{k}" for k in range(6)], "grade": ["A", "A", "B", "B", "C", "C"],
                         "issued_at": pd.to_datetime(["2025-01-01", "2025-01-05", "2025-02-01", "2025-02-03",
                                                      "2025-03-01", "2025-03-02"]),
                         "due_at": pd.to_datetime(["2025-01-31", "2025-02-04", "2025-03-03", "2025-03-05",
                                                   "2025-03-31", "2025-04-01"]),
                         "paid_at": pd.to_datetime(["2025-02-10", None, "2025-03-01", None, "2025-04-20", None]),
                         "amount": pd.array([100, 200, 300, 400, 500, 600], dtype="int64")})


def _late(inv):
    from crmsim.finance.ageing import late_payments

    return late_payments(inv, by="grade", today="2025-05-01")


def _open_as_of(inv):
    from crmsim.finance.ageing import open_as_of

    return open_as_of(inv, "2025-03-15")


def _ageing_table():
    from crmsim.finance.ageing import ageing

    return ageing(_receivables(), today=TODAY).reset_index()


def _provision(t):
    from crmsim.finance.ecl import provision

    return provision(t.set_index("customer_id") if "customer_id" in t.columns else t,
                     {"current": 0.003, "1-30": 0.016, "31-60": 0.036, "61-90": 0.066, "91-120": 0.1, "121+": 0.2})


def _opps():
    return synth.opportunities(40, seed=3)[0].head(30).reset_index(drop=True)


def _win_rates(o):
    from crmsim.pipeline import win_rates

    return win_rates(o, "channel")


def _promo_lines():
    return _price(_lines()).assign(amount=lambda t: t["amount"].astype("int64"))


def _promotions(lines):
    from crmsim.cli import _bundled
    from crmsim.cpq import apply_promotions, load_cpq

    setup = load_cpq(_bundled("examples") / "cpq_setup.toml")
    return apply_promotions(lines, setup.promotions, policy=setup.promotion_policy)


def _field_customers():
    return pd.DataFrame({"customer_id": [f"K{k}" for k in range(12)], "grade": list("AABBCCDDAABC"),
                         "owner_id": ["r1", "r2"] * 6})


def _plan(c):
    from crmsim.field.plans import Cadence, plan_visits

    return plan_visits(c, Cadence(), start="2025-03-03", days=28)


def _coverage(c):
    from crmsim.field.plans import Cadence, coverage, plan_visits

    plan, _ = plan_visits(_field_customers(), Cadence(), start="2025-03-03", days=28)
    return coverage(plan, c, Cadence(), days=28)


#: function name -> (a valid input table, the call)
FUNCTIONS = {
    "due_for_reclaim": (_customers, _due),
    "days_until_reclaim": (_customers, _days_until),
    "claim": (_customers, lambda c: _pool_call(c, "claim")),
    "allocate(payments)": (_payments, _allocate_pay),
    "allocate(receivables)": (_receivables, _allocate_rec),
    "ageing": (_receivables, _ageing),
    "dunning": (_receivables, _dunning),
    "price_lines": (_lines, _price),
    "ScoringRule.apply": (_leads, _score),
    "AssignmentRule.assign_table": (_leads, _assign),
    "DedupRule.groups": (_leads, _dedup),
    "late_payments": (_invoices, _late),
    "open_as_of": (_invoices, _open_as_of),
    "provision": (_ageing_table, _provision),
    "win_rates": (_opps, _win_rates),
    "apply_promotions": (_promo_lines, _promotions),
    "plan_visits": (_field_customers, _plan),
    "coverage": (_field_customers, _coverage),
}


def _mutations(df: pd.DataFrame):
    out = []
    for col in df.columns:
        out.append((col, "dropped"))
        out.append((col, "a word"))
        out.append((col, "missing"))
        if pd.api.types.is_datetime64_any_dtype(df[col]):
            out.append((col, "not a date"))
    return out


def _cases():
    return [pytest.param(fn, col, how, id=f"{fn}:{col}:{how}") for fn, (make, _) in FUNCTIONS.items()
            for col, how in _mutations(make())]


def _mutate(df: pd.DataFrame, col: str, how: str) -> pd.DataFrame:
    df = df.copy()
    if how == "dropped":
        return df.drop(columns=[col])
    df[col] = df[col].astype(object)
    df.loc[ROW, col] = {"a word": "no", "missing": None, "not a date": "2025-13-45"}[how]
    return df


@pytest.mark.parametrize("fn,col,how", _cases())
def test_a_bad_column_works_or_is_named(fn, col, how):
    make, call = FUNCTIONS[fn]
    df = _mutate(make(), col, how)
    try:
        call(df)
    except (KeyError, ValueError, TypeError, CrmsimError) as e:
        msg = str(e.args[0]) if isinstance(e, KeyError) and e.args else str(e)
        assert col in msg, f"{type(e).__name__} does not name the column '{col}': {msg[:300]}"
    # anything else (AttributeError, IndexError, pandas / numpy internals) fails the test as raised


def test_zz_function_corpus_size(capsys):
    n = len(_cases())
    with capsys.disabled():
        print(f"\nfunction bad-input corpus: {n} cases over {len(FUNCTIONS)} public table functions")
    assert n >= 200
