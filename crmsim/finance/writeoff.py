"""Write-off (FEATURES L2C-6): allocate payments to receivables item by item.

Money is integer minor units (cents, int64) everywhere (DESIGN.md principle 6). Allocation runs
in passes, in a configurable order:

1. ``reference``: a payment that names a receivable (``ref``) pays it first;
2. ``exact``: a payment equal to an open receivable of the same customer pays it (oldest due
   first among equal amounts);
3. ``oldest``: what is left of each payment pays the customer's open receivables oldest due
   first (FIFO), partial payments included.

What no receivable absorbs is over-payment: it goes to the customer's prepayment account.
Invariants (property-tested): allocated per payment <= payment, allocated per receivable <=
amount, open amounts never negative, money conserved (payments = allocated + prepayment).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["to_cents", "allocate", "unallocate", "PASSES"]

PASSES = ("reference", "exact", "oldest")


def to_cents(amount) -> np.ndarray:
    """Decimal amounts to int64 minor units, rounding half away from zero.

    Examples
    --------
    >>> to_cents([12.345, -0.005, 3]).tolist()
    [1235, -1, 300]
    """
    a = np.asarray(amount, dtype=float)
    return (np.sign(a) * np.floor(np.abs(a) * 100 + 0.5)).astype(np.int64)


def _check(df: pd.DataFrame, name: str, cols) -> None:
    miss = [c for c in cols if c not in df.columns]
    if miss:
        raise KeyError(f"{name}: column(s) {miss} missing; columns are {list(df.columns)}")
    amt = df["amount"]
    if not pd.api.types.is_integer_dtype(amt):
        raise TypeError(f"{name}: 'amount' must be integer minor units (cents), got {amt.dtype}; "
                        "convert with crmsim.finance.to_cents")
    bad = df.index[amt.to_numpy() < 0].tolist()[:10]
    if bad:
        raise ValueError(f"{name}: negative amount at rows {bad}")
    dup = df[df.columns[0]][df[df.columns[0]].duplicated()].tolist()[:10]
    if dup:
        raise ValueError(f"{name}: duplicate {df.columns[0]} {dup}")


def _fifo(p_cust, p_left, r_cust, r_left):
    """Vectorised FIFO within each customer: payments (in order) against receivables (in order).
    ``p_cust``, ``r_cust``: integer customer codes. Returns (payment index,
    receivable index, amount) of every non-zero overlap, ordered by payment then receivable."""
    if p_cust.size == 0 or r_cust.size == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    lo = min(int(p_cust.min()), int(r_cust.min()))   # codes from 0 (a missing customer may be -1)
    p_cust, r_cust = p_cust - lo, r_cust - lo
    # customer-local cumulative intervals, made globally monotone with a per-customer offset
    k = int(max(p_cust.max(), r_cust.max())) + 1
    tot_p = np.bincount(p_cust, weights=p_left, minlength=k).astype(np.int64)
    tot_r = np.bincount(r_cust, weights=r_left, minlength=k).astype(np.int64)
    span = np.maximum(tot_p, tot_r) + 1
    base = np.concatenate([[0], np.cumsum(span)[:-1]])

    def intervals(ci, left):
        order = np.argsort(ci, kind="stable")
        s, c = ci[order], np.cumsum(left[order])
        starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])   # each customer's first row
        before = c[starts] - left[order][starts]                 # the cumulative sum before it
        hi = base[s] + c - np.repeat(before, np.diff(np.r_[starts, s.size]))
        return order, hi - left[order], hi

    po, plo, phi = intervals(p_cust, p_left)
    ro, rlo, rhi = intervals(r_cust, r_left)
    # merge breakpoints: every overlap of a payment interval with a receivable interval. Each
    # side's (lo, hi) pairs interleaved are sorted already, so a stable sort merges two runs
    pts = np.sort(np.concatenate([np.column_stack([plo, phi]).ravel(), np.column_stack([rlo, rhi]).ravel()]),
                  kind="stable")
    if pts.size:   # distinct values
        pts = pts[np.r_[True, pts[1:] != pts[:-1]]]
    mids_lo, mids_hi = pts[:-1], pts[1:]
    pi = np.searchsorted(phi, mids_lo, side="right")
    ri = np.searchsorted(rhi, mids_lo, side="right")
    ok = (pi < po.size) & (ri < ro.size)
    pi, ri, lo, hi = pi[ok], ri[ok], mids_lo[ok], mids_hi[ok]
    ok = (plo[pi] <= lo) & (phi[pi] >= hi) & (rlo[ri] <= lo) & (rhi[ri] >= hi) & (hi > lo)
    pi, ri, amt = po[pi[ok]], ro[ri[ok]], (hi - lo)[ok]
    if amt.size == 0:
        return pi, ri, amt
    # order by (payment, receivable), merging pieces of one pair (intervals are contiguous and
    # disjoint on each side, so a pair's overlap is normally one piece)
    key = pi.astype(np.int64) * (ro.size + 1) + ri
    order = np.argsort(key, kind="stable")
    sk = key[order]
    first = np.r_[True, sk[1:] != sk[:-1]]
    if first.all():
        total = amt[order].astype(np.int64)
    else:
        total = np.bincount(np.cumsum(first) - 1, weights=amt[order]).astype(np.int64)
    uniq = sk[first]
    return (uniq // (ro.size + 1)).astype(np.int64), (uniq % (ro.size + 1)).astype(np.int64), total


def allocate(payments: pd.DataFrame, receivables: pd.DataFrame, *, passes=PASSES,
             manual: pd.DataFrame | None = None) -> dict:
    """Allocate ``payments`` (``payment_id, customer_id, amount``, optional ``ref`` and
    ``paid_at``) to ``receivables`` (``receivable_id, customer_id, amount``, optional ``open``
    and ``due_at``).

    ``manual`` (``payment_id, receivable_id, amount``) allocates by hand first (pass
    ``manual``), as a payment reconciliation screen does: 400 of an advance of 1,000 to one
    invoice leaves 600 as an advance. A payment named there is left out of the automatic passes
    (what it has left stays unallocated, on the prepayment account). A manual row for more than
    the payment has left or the receivable has open, or across customers, is an error naming it
    (ERPNext refuses an allocation above the outstanding amount the same way).

    Returns a dict of tables: ``allocations`` (``payment_id, receivable_id, amount, pass``),
    ``receivables`` (with ``allocated`` and ``open``), ``payments`` (with ``allocated`` and
    ``unallocated``), ``prepayments`` (per customer: the over-payment credited to the
    prepayment account) and ``unidentified`` (payments without a customer id, unallocated and
    held in suspense: listed, not dropped).

    Examples
    --------
    >>> pay = pd.DataFrame({"payment_id": ["P1"], "customer_id": ["c1"], "amount": [150]})
    >>> rec = pd.DataFrame({"receivable_id": ["R1", "R2"], "customer_id": "c1", "amount": [100, 100],
    ...                     "due_at": pd.to_datetime(["2025-01-01", "2025-02-01"])})
    >>> w = allocate(pay, rec)
    >>> w["allocations"][["receivable_id", "amount", "pass"]].values.tolist()
    [['R1', 100, 'oldest'], ['R2', 50, 'oldest']]
    >>> w["receivables"]["open"].tolist()
    [0, 50]
    """
    _check(payments, "payments", ("payment_id", "customer_id", "amount"))
    _check(receivables, "receivables", ("receivable_id", "customer_id", "amount"))
    unknown = [p for p in passes if p not in PASSES]
    if unknown:
        raise ValueError(f"unknown pass(es) {unknown}; passes are {list(PASSES)}")
    pay = payments.reset_index(drop=True)
    rec = receivables.reset_index(drop=True)
    from crmsim.tables import cents_column, date_column

    if "paid_at" in pay.columns:
        pay = pay.assign(paid_at=date_column(pay, "paid_at", "payments")).sort_values(
            "paid_at", kind="stable").reset_index(drop=True)
    due = date_column(rec, "due_at", "receivables") if "due_at" in rec.columns else pd.Series(np.arange(len(rec)))
    r_order = np.lexsort((np.arange(len(rec)), due.to_numpy()))  # oldest due first
    p_left = pay["amount"].to_numpy(np.int64).copy()
    r_left = cents_column(rec, "open" if "open" in rec.columns else "amount", "receivables").copy()
    if (r_left > rec["amount"].to_numpy()).any():
        raise ValueError("receivables: 'open' exceeds 'amount'")
    r_open0 = r_left.copy()
    p_cust = pd.factorize(pd.concat([pay["customer_id"], rec["customer_id"]]).astype(str))[0]
    pc, rc = p_cust[: len(pay)], p_cust[len(pay):]
    parts = []

    def book(pi, ri, amt, name):
        if len(amt):
            np.subtract.at(p_left, pi, amt)
            np.subtract.at(r_left, ri, amt)
            parts.append(pd.DataFrame({"p": pi, "r": ri, "amount": amt, "pass": name}))

    held = np.zeros(len(pay), dtype=bool)
    if manual is not None and len(manual):
        held = _manual(manual, pay, rec, pc, rc, p_left, r_left, parts)
    for name in passes:
        if held.any():            # payments allocated by hand take no part in the automatic passes
            p_keep = p_left.copy()
            p_left[held] = 0
        if name == "reference" and "ref" in pay.columns:
            ids = pd.Index(rec["receivable_id"].astype(str).to_numpy(object))
            ref = pay["ref"]
            named = ref.notna().to_numpy()
            at = np.full(len(pay), -1, dtype=np.int64)   # position of the receivable each payment names
            at[named] = ids.get_indexer(ref[named].astype(str).to_numpy(object))
            pi = np.flatnonzero((at >= 0) & (p_left > 0))
            ri = at[pi]
            same = pc[pi] == rc[ri]
            pi, ri = pi[same], ri[same]
            # several payments may name one receivable: pay it in payment order
            amt = np.zeros(pi.size, dtype=np.int64)
            for k in range(pi.size):  # sequential: later payments see what earlier ones took
                amt[k] = min(p_left[pi[k]], r_left[ri[k]])
                r_left[ri[k]] -= amt[k]
                p_left[pi[k]] -= amt[k]
            if amt.any():
                parts.append(pd.DataFrame({"p": pi[amt > 0], "r": ri[amt > 0], "amount": amt[amt > 0],
                                           "pass": name}))
        elif name == "exact":
            pi = np.flatnonzero(p_left > 0)
            ri = r_order[r_left[r_order] > 0]
            P = pd.DataFrame({"c": pc[pi], "a": p_left[pi], "p": pi})
            R = pd.DataFrame({"c": rc[ri], "a": r_left[ri], "r": ri})
            P["k"] = P.groupby(["c", "a"]).cumcount()
            R["k"] = R.groupby(["c", "a"]).cumcount()
            m = P.merge(R, on=["c", "a", "k"])
            book(m["p"].to_numpy(), m["r"].to_numpy(), m["a"].to_numpy(np.int64), name)
        elif name == "oldest":
            pi = np.flatnonzero(p_left > 0)
            ri = r_order[r_left[r_order] > 0]
            a_p, a_r, amt = _fifo(pc[pi], p_left[pi], rc[ri], r_left[ri])
            book(pi[a_p], ri[a_r], amt, name)
        if held.any():
            p_left[held] = p_keep[held]
    al = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame({"p": [], "r": [], "amount": [], "pass": []})
    allocations = pd.DataFrame({
        # take on the column's own array: string ids stay Arrow strings (no Python object each)
        "payment_id": pay["payment_id"].array.take(al["p"].to_numpy(np.int64)),
        "receivable_id": rec["receivable_id"].array.take(al["r"].to_numpy(np.int64)),
        "amount": al["amount"].to_numpy(np.int64), "pass": al["pass"].to_numpy(object)})
    rec_out = rec.assign(allocated=r_open0 - r_left, open=r_left)
    pay_out = pay.assign(allocated=pay["amount"].to_numpy() - p_left, unallocated=p_left)
    return {"allocations": allocations, "receivables": rec_out, "payments": pay_out, **_unapplied(pay_out)}


def _manual(manual, pay, rec, pc, rc, p_left, r_left, parts) -> np.ndarray:
    """Apply hand allocations in their order; returns which payments they name."""
    _check(manual, "manual allocations", ("payment_id", "receivable_id", "amount"))
    ppos = pd.Series(np.arange(len(pay)), index=pay["payment_id"].astype(str))
    rpos = pd.Series(np.arange(len(rec)), index=rec["receivable_id"].astype(str))
    amt = manual["amount"].to_numpy()
    if not np.issubdtype(amt.dtype, np.integer) or (amt <= 0).any():
        raise ValueError("manual allocations: 'amount' must be positive integer minor units")
    rows = []
    for k, (pid, rid, a) in enumerate(zip(manual["payment_id"].astype(str), manual["receivable_id"].astype(str), amt)):
        if pid not in ppos.index or rid not in rpos.index:
            raise KeyError(f"manual allocations row {k}: unknown {'payment_id ' + pid if pid not in ppos.index else 'receivable_id ' + rid}")
        i, j = int(ppos[pid]), int(rpos[rid])
        if pc[i] != rc[j]:
            raise ValueError(f"manual allocations row {k}: payment {pid} and receivable {rid} belong to different customers")
        if a > p_left[i] or a > r_left[j]:
            raise ValueError(f"manual allocations row {k}: {a} is more than payment {pid} has left ({p_left[i]}) "
                             f"or receivable {rid} has open ({r_left[j]})")
        p_left[i] -= a
        r_left[j] -= a
        rows.append((i, j, int(a)))
    parts.append(pd.DataFrame(rows, columns=["p", "r", "amount"]).assign(**{"pass": "manual"}))
    held = np.zeros(len(pay), dtype=bool)
    held[[i for i, _, _ in rows]] = True
    return held


def _unapplied(pay: pd.DataFrame) -> dict:
    """What payments left unallocated: per customer, the ``prepayments``; payments without a
    customer id, ``unidentified`` (held in suspense until someone says whose they are: never
    dropped, never credited to a customer)."""
    known = pay["customer_id"].notna() & (pay["customer_id"].astype("string").str.strip() != "").fillna(False)
    prepay = (pay[known].groupby("customer_id", as_index=False)["unallocated"].sum()
              .rename(columns={"unallocated": "prepayment"}))
    unidentified = pay.loc[~known & (pay["unallocated"] > 0), ["payment_id", "amount", "unallocated"]]
    return {"prepayments": prepay[prepay["prepayment"] > 0].reset_index(drop=True),
            "unidentified": unidentified.reset_index(drop=True)}


def unallocate(result: dict, payment_ids) -> dict:
    """Undo the allocations of some payments: their receivables reopen by what they had taken and
    the payments' amounts become unallocated again (credited to prepayment until re-allocated).

    Examples
    --------
    >>> pay = pd.DataFrame({"payment_id": ["P1"], "customer_id": ["c1"], "amount": [100]})
    >>> rec = pd.DataFrame({"receivable_id": ["R1"], "customer_id": ["c1"], "amount": [100]})
    >>> w = unallocate(allocate(pay, rec), ["P1"])
    >>> w["receivables"]["open"].tolist(), len(w["allocations"])
    ([100], 0)
    """
    ids = set(payment_ids)
    al = result["allocations"]
    gone = al[al["payment_id"].isin(ids)]
    rec = result["receivables"].copy()
    back = gone.groupby("receivable_id")["amount"].sum()
    add = rec["receivable_id"].map(back).fillna(0).astype(np.int64).to_numpy()
    rec["open"] = rec["open"].to_numpy() + add
    rec["allocated"] = rec["allocated"].to_numpy() - add
    pay = result["payments"].copy()
    undo = pay["payment_id"].map(gone.groupby("payment_id")["amount"].sum()).fillna(0).astype(np.int64).to_numpy()
    pay["allocated"] = pay["allocated"].to_numpy() - undo
    pay["unallocated"] = pay["unallocated"].to_numpy() + undo
    return {"allocations": al[~al["payment_id"].isin(ids)].reset_index(drop=True), "receivables": rec,
            "payments": pay, **_unapplied(pay)}
