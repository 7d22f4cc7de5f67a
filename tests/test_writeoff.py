import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmsim.finance.writeoff import allocate, to_cents, unallocate


def test_fifo_oldest_due_first_with_partial_payments():
    rec = pd.DataFrame({"receivable_id": ["r1", "r2", "r3"], "customer_id": "a", "amount": [300, 500, 200],
                        "due_at": pd.to_datetime(["2025-03-01", "2025-01-01", "2025-02-01"])})
    pay = pd.DataFrame({"payment_id": ["p1", "p2"], "customer_id": "a", "amount": [600, 250],
                        "paid_at": pd.to_datetime(["2025-03-05", "2025-03-06"])})
    r = allocate(pay, rec, passes=("oldest",))
    got = r["allocations"][["payment_id", "receivable_id", "amount"]].sort_values(["payment_id", "receivable_id"])
    assert got.values.tolist() == [["p1", "r2", 500], ["p1", "r3", 100], ["p2", "r1", 150], ["p2", "r3", 100]]
    assert r["receivables"]["open"].tolist() == [150, 0, 0]
    assert r["prepayments"].empty


def test_pass_order_is_configurable_and_unallocate_restores():
    rec = pd.DataFrame({"receivable_id": ["r1", "r2"], "customer_id": "a", "amount": [400, 250],
                        "due_at": pd.to_datetime(["2025-01-01", "2025-02-01"])})
    pay = pd.DataFrame({"payment_id": ["p1"], "customer_id": "a", "amount": [250]})
    assert allocate(pay, rec)["allocations"]["receivable_id"].tolist() == ["r2"]             # exact first
    assert allocate(pay, rec, passes=("oldest",))["allocations"]["receivable_id"].tolist() == ["r1"]
    r = allocate(pay, rec)
    u = unallocate(r, ["p1"])
    assert u["receivables"]["open"].tolist() == [400, 250] and u["allocations"].empty
    assert u["prepayments"]["prepayment"].tolist() == [250]


def test_bad_input_is_named():
    rec = pd.DataFrame({"receivable_id": ["r1"], "customer_id": "a", "amount": [10.5]})
    pay = pd.DataFrame({"payment_id": ["p1"], "customer_id": "a", "amount": [1]})
    with pytest.raises(TypeError, match="integer minor units"):
        allocate(pay, rec)
    with pytest.raises(ValueError, match="negative amount at rows"):
        allocate(pay.assign(amount=[-5]), rec.assign(amount=[10]))
    assert to_cents([10.005, 1.234, -2.5]).tolist() == [1001, 123, -250]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("abc"), st.integers(0, 1000), st.integers(0, 60)), min_size=0, max_size=12),
       st.lists(st.tuples(st.sampled_from("abc"), st.integers(0, 1500), st.integers(-1, 11)), min_size=0, max_size=10),
       st.permutations(["reference", "exact", "oldest"]))
def test_writeoff_invariants(recs, pays, order):
    rec = pd.DataFrame({"receivable_id": [f"r{k}" for k in range(len(recs))],
                        "customer_id": [r[0] for r in recs], "amount": np.array([r[1] for r in recs], dtype=np.int64),
                        "due_at": pd.Timestamp("2025-01-01") + pd.to_timedelta([r[2] for r in recs], unit="D")})
    pay = pd.DataFrame({"payment_id": [f"p{k}" for k in range(len(pays))],
                        "customer_id": [p[0] for p in pays], "amount": np.array([p[1] for p in pays], dtype=np.int64),
                        "ref": [f"r{p[2]}" if p[2] >= 0 else None for p in pays]})
    r = allocate(pay, rec, passes=order)
    al, R, P = r["allocations"], r["receivables"], r["payments"]
    assert (al["amount"] > 0).all()
    per_pay = al.groupby("payment_id")["amount"].sum().reindex(P["payment_id"]).fillna(0)
    per_rec = al.groupby("receivable_id")["amount"].sum().reindex(R["receivable_id"]).fillna(0)
    assert (per_pay.to_numpy() <= P["amount"].to_numpy()).all()
    assert (per_rec.to_numpy() <= R["amount"].to_numpy()).all()
    assert (R["open"] >= 0).all() and (P["unallocated"] >= 0).all()
    # money conserved: payments = allocated + prepayment; receivables = allocated + open
    assert P["amount"].sum() == al["amount"].sum() + r["prepayments"]["prepayment"].sum()
    assert R["amount"].sum() == al["amount"].sum() + R["open"].sum()
    # nothing both open and payable: a customer with money left has no open receivable
    left = P[P["unallocated"] > 0]["customer_id"].unique()
    assert R[R["customer_id"].isin(left)]["open"].sum() == 0
    # allocations only within a customer
    cust_p = dict(zip(P["payment_id"], P["customer_id"]))
    cust_r = dict(zip(R["receivable_id"], R["customer_id"]))
    assert all(cust_p[a] == cust_r[b] for a, b in zip(al["payment_id"], al["receivable_id"]))
