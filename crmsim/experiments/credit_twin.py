"""The credit simulation fitted to your own receivables (FEATURES L2C-6): read an ERP's invoices,
payments and customers, fit the parameters of :class:`~crmsim.sim.credit.CreditConfig` with their
confidence intervals, and check the fit on months it did not see.

- :func:`load_credit_history` reads ``customers`` (``customer_id``, ``grade``, optionally
  ``credit_limit`` and ``defaulted_at``, the write-off / default date), ``invoices``
  (``invoice_id``, ``customer_id``, ``amount``, ``issued_at``, optionally ``due_at`` and
  ``paid_at``) and optionally ``payments`` (``invoice_id``, ``paid_at``, ``amount``: an invoice
  is paid on the day its payments reach its amount), in the export's own column names through
  ``columns = {crmsim_name: export_name}``. Every row it cannot use is counted in ``exclusions``.
- :func:`calibrate_credit` fits, on a window: the grades and their shares, orders per customer
  per month (Poisson, exact CI) and their spread across customers, the order amount (mean and cv,
  bootstrap CIs), payment terms, the days from invoice to payment per grade (resampled from the
  observed ones, so heavy tails are kept, with the CI of the mean), the mean days past due per
  grade, the annual default rate per grade (defaults per customer-year, exact Poisson CI; grades
  with fewer than ``min_customers`` customers pooled and flagged) and the limit multiplier where
  the customers table has credit limits. LGD, the default correlation and dunning cannot be
  fitted from one book's receivables: they keep the base scenario's values, said in the
  provenance.
- :func:`credit_split_validation` fits on the first part of the history and simulates the rest:
  DSO, share paid late, sales and exposure at default, each against the held-out months.

Amounts in the export are in currency units; the config is in minor units (``minor_units``, 100).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from crmsim.calendar import DAYS_PER_MONTH
from crmsim.errors import InputError
from crmsim.experiments.fits import (
    Estimates,
    TwinCalibration,
    held_out_table,
    poisson_rate_ci,
    proportion_ci,
)
from crmsim.finance.ageing import dso as dso_rule
from crmsim.rng import rng_from
from crmsim.sim.credit import CreditConfig, simulate_credit
from crmsim.tables import dates_from_days, day_numbers, need_columns

__all__ = ["CreditHistory", "CreditCalibration", "load_credit_history", "card_statement_history", "calibrate_credit",
           "dunning_effect",
           "credit_split_validation", "credit_metrics", "MIN_CUSTOMERS"]

#: fewer customers than this in a grade: its default rate and days to pay are pooled
MIN_CUSTOMERS = 30
_YEAR = 365.25


def _days(col: pd.Series, table: str, names: dict[str, str] | None = None) -> np.ndarray:
    return day_numbers(col, table, names)


def _need(df: pd.DataFrame, cols, table: str, names: dict[str, str]) -> None:
    need_columns(df, cols, table, names)


def _money(col: pd.Series, table: str, names: dict[str, str]) -> np.ndarray:
    txt = col.astype(str).str.replace(r"[^\d\-.,]", "", regex=True).str.replace(",", "", regex=False)
    v = pd.to_numeric(txt, errors="coerce")
    bad = v.isna() & col.notna()
    if bad.any():
        rows = col.index[bad.to_numpy()][:5].tolist()
        raise InputError(f"{table} table: column '{names.get(col.name, col.name)}' expects amounts; rows {rows} "
                         f"have {col[bad].astype(str).head(3).tolist()}")
    return v.to_numpy(dtype=float)


@dataclass
class CreditHistory:
    """Invoices as day numbers (``invoice_id, customer_id, grade, amount`` in minor units,
    ``issued, due, paid``; NaN = not paid), the customers (``customer_id, grade, credit_limit,
    defaulted``), the last date anything is known (``observed_until``), ``exclusions`` and
    ``notes``.

    Examples
    --------
    >>> import pandas as pd
    >>> from importlib.resources import files
    >>> from crmsim.errors import read_toml
    >>> EX = files("crmsim") / "examples"
    >>> h = load_credit_history(*(pd.read_csv(EX / f"erp_{k}.csv") for k in ("customers", "invoices", "payments")),
    ...                         columns=read_toml(EX / "erp_map.toml")["columns"])
    >>> h.invoices.columns.tolist()[:6], int(h.exclusions["rows"].sum())     # the rows left out, counted
    (['invoice_id', 'customer_id', 'grade', 'amount', 'issued', 'due'], 4)
    """

    invoices: pd.DataFrame
    customers: pd.DataFrame
    observed_until: float
    exclusions: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    #: reminders sent (``invoice_id, t``: day numbers), when a dunning log was given
    dunning: pd.DataFrame | None = None

    @property
    def start(self) -> float:
        return float(self.invoices["issued"].min())

    def summary(self) -> str:
        d0 = np.datetime64(int(self.start), "D")
        d1 = np.datetime64(int(self.observed_until), "D")
        lines = [f"{len(self.invoices):,} invoices of {self.customers['customer_id'].nunique():,} customers, "
                 f"{d0}..{d1}; grades {sorted(self.customers['grade'].unique())}"]
        for r in self.exclusions.itertuples():
            lines.append(f"  excluded from {r.table}: {r.rows} row(s), {r.reason} (first: {r.first})")
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)


def load_credit_history(customers: pd.DataFrame, invoices: pd.DataFrame, payments: pd.DataFrame | None = None,
                        *, columns: dict[str, str] | None = None, minor_units: int = 100,
                        observed_until=None, dunning: pd.DataFrame | None = None) -> CreditHistory:
    """Read customers, invoices and payments (see the module docstring).

    Examples
    --------
    >>> c = pd.DataFrame({"Cust": ["k1"], "Risk": ["low"]})
    >>> inv = pd.DataFrame({"No": ["i1"], "Cust": ["k1"], "Date": ["2025-01-02"], "Due": ["2025-02-01"],
    ...                     "Total": ["1,250.00"]})
    >>> pay = pd.DataFrame({"No": ["i1", "i1"], "Paid": ["2025-01-20", "2025-02-03"], "Total": [250, 1000]})
    >>> h = load_credit_history(c, inv, pay, columns={"customer_id": "Cust", "grade": "Risk", "invoice_id": "No",
    ...     "issued_at": "Date", "due_at": "Due", "amount": "Total", "paid_at": "Paid"})
    >>> int(h.invoices["amount"].iloc[0]), int(h.invoices["paid"].iloc[0] - h.invoices["issued"].iloc[0])
    (125000, 32)
    """
    names = dict(columns or {})

    def rename(df):
        back = {v: k for k, v in names.items() if v in df.columns and k not in df.columns}
        return df.rename(columns=back)

    cust, inv = rename(customers), rename(invoices)
    _need(cust, ["customer_id", "grade"], "customers", names)
    _need(inv, ["invoice_id", "customer_id", "amount", "issued_at"], "invoices", names)
    excl: list[dict] = []
    notes: list[str] = []

    def out(table, reason, mask, ids):
        if mask.any():
            excl.append({"table": table, "reason": reason, "rows": int(mask.sum()),
                         "first": ", ".join(pd.Series(ids[mask]).astype(str).unique()[:5])})

    cust = cust.assign(customer_id=cust["customer_id"].astype(str).str.strip())
    if not cust["customer_id"].is_unique:
        dup = cust.loc[cust["customer_id"].duplicated(), "customer_id"].unique()[:5].tolist()
        raise InputError(f"customers table: customer_id must be unique; repeated: {dup}")
    blank = cust["grade"].isna() | (cust["grade"].astype(str).str.strip() == "")
    cust = cust.assign(grade=cust["grade"].astype(str).str.strip().where(~blank, "(no grade)"))
    if blank.any():
        notes.append(f"{int(blank.sum())} customer(s) without a grade are grade '(no grade)'")
    defaulted = _days(cust["defaulted_at"], "customers", names) if "defaulted_at" in cust.columns else np.full(len(cust), np.nan)
    if "defaulted_at" not in cust.columns:
        notes.append("customers: no 'defaulted_at' (write-off) column; default rates cannot be fitted "
                     "(base scenario)")
    limit = _money(cust["credit_limit"], "customers", names) * minor_units if "credit_limit" in cust.columns else np.full(len(cust), np.nan)
    c = pd.DataFrame({"customer_id": cust["customer_id"], "grade": cust["grade"], "credit_limit": limit,
                      "defaulted": defaulted})
    inv = inv.assign(customer_id=inv["customer_id"].astype(str).str.strip(), invoice_id=inv["invoice_id"].astype(str).str.strip())
    unknown = ~inv["customer_id"].isin(set(c["customer_id"])).to_numpy()
    out("invoices", "customer_id not in the customers table", unknown, inv["customer_id"].to_numpy())
    inv = inv[~unknown]
    issued = _days(inv["issued_at"], "invoices", names)
    amount = _money(inv["amount"], "invoices", names) * minor_units
    bad = np.isnan(issued) | np.isnan(amount) | (amount <= 0)
    out("invoices", "no issue date, or an amount that is missing, zero or negative (credit notes)", bad,
        inv["invoice_id"].to_numpy())
    dup = inv["invoice_id"].duplicated().to_numpy() & ~bad
    out("invoices", "invoice_id repeated (the first row is used)", dup, inv["invoice_id"].to_numpy())
    keep = ~bad & ~dup
    inv, issued, amount = inv[keep], issued[keep], amount[keep]
    due = _days(inv["due_at"], "invoices", names) if "due_at" in inv.columns else np.full(len(inv), np.nan)
    if "due_at" not in inv.columns:
        notes.append("invoices: no 'due_at'; payment terms come from the base scenario")
    paid = _days(inv["paid_at"], "invoices", names) if "paid_at" in inv.columns else np.full(len(inv), np.nan)
    if payments is not None:
        pay = rename(payments)
        _need(pay, ["invoice_id", "paid_at", "amount"], "payments", names)
        pay = pay.assign(invoice_id=pay["invoice_id"].astype(str).str.strip())
        pt = _days(pay["paid_at"], "payments", names)
        pa = _money(pay["amount"], "payments", names) * minor_units
        pos = pd.Index(inv["invoice_id"]).get_indexer(pay["invoice_id"])
        nomatch = pos < 0
        out("payments", "invoice_id not in the invoices", nomatch, pay["invoice_id"].to_numpy())
        early = ~nomatch & (pt < issued[np.maximum(pos, 0)])
        out("payments", "dated before their invoice", early, pay["invoice_id"].to_numpy())
        undated = ~nomatch & np.isnan(pt)
        out("payments", "no payment date", undated, pay["invoice_id"].to_numpy())
        ok = ~nomatch & ~early & ~undated
        p = pd.DataFrame({"pos": pos[ok], "t": pt[ok], "a": np.nan_to_num(pa[ok])}).sort_values(["pos", "t"], kind="stable")
        p["cum"] = p.groupby("pos")["a"].cumsum()
        p["need"] = amount[p["pos"].to_numpy()] - 0.5        # paid when the payments reach the amount
        full = p[p["cum"] >= p["need"]].groupby("pos")["t"].min()
        paid = np.full(len(inv), np.nan)
        paid[full.index.to_numpy()] = full.to_numpy()
        part = p.groupby("pos")["cum"].max()
        partial = np.zeros(len(inv), dtype=bool)
        partial[part.index.to_numpy()] = True
        partial &= np.isnan(paid)
        if partial.any():
            notes.append(f"{int(partial.sum())} invoice(s) partly paid: open until paid in full")
    else:
        before = paid < issued
        out("invoices", "paid before their issue date (paid date ignored)", before, inv["invoice_id"].to_numpy())
        paid[before] = np.nan
    g = c.set_index("customer_id")["grade"]
    invoices = pd.DataFrame({"invoice_id": inv["invoice_id"].to_numpy(), "customer_id": inv["customer_id"].to_numpy(),
                             "grade": g.reindex(inv["customer_id"]).to_numpy(), "amount": np.round(amount),
                             "issued": issued, "due": due, "paid": paid})
    known = [invoices["issued"].max(), np.nanmax(paid) if np.isfinite(paid).any() else np.nan,
             np.nanmax(defaulted) if np.isfinite(defaulted).any() else np.nan]
    until = (_days(pd.Series([observed_until]), "observed_until", {})[0] if observed_until is not None
             else float(np.nanmax(known)))
    if not len(invoices):
        raise InputError("invoices table: no usable invoice (see the exclusions)")
    dun = None
    if dunning is not None:
        dn = rename(dunning)
        _need(dn, ["invoice_id", "dunned_at"], "dunning", names)
        dn = dn.assign(invoice_id=dn["invoice_id"].astype(str).str.strip())
        dt = _days(dn["dunned_at"], "dunning", names)
        pos = pd.Index(invoices["invoice_id"]).get_indexer(dn["invoice_id"])
        nomatch = pos < 0
        out("dunning", "invoice_id not in the invoices", nomatch, dn["invoice_id"].to_numpy())
        undated = ~nomatch & np.isnan(dt)
        out("dunning", "no reminder date", undated, dn["invoice_id"].to_numpy())
        due_of = invoices["due"].to_numpy()[np.maximum(pos, 0)]
        early = ~nomatch & ~undated & ~(dt > due_of)
        out("dunning", "sent on or before the due date (or the invoice has none)", early, dn["invoice_id"].to_numpy())
        ok = ~nomatch & ~undated & ~early
        dun = pd.DataFrame({"invoice_id": dn["invoice_id"].to_numpy()[ok], "t": dt[ok]})
    else:
        notes.append("no dunning log: the dunning cadence and effect are the base scenario's")
    return CreditHistory(invoices=invoices, customers=c, observed_until=until,
                         exclusions=pd.DataFrame(excl, columns=["table", "reason", "rows", "first"]), notes=notes,
                         dunning=dun)


#: the Taiwan credit-card default data (Yeh & Lien 2009; ``data/credit/``): statement months
#: April..September 2005, oldest first (``*_6`` .. ``*_1``; the status of September is ``PAY_0``)
TAIWAN_LAYOUT = {
    "id": "ID", "limit": "LIMIT_BAL", "default_next_month": "default.payment.next.month",
    "months": ["2005-04-30", "2005-05-31", "2005-06-30", "2005-07-31", "2005-08-31", "2005-09-30"],
    "bill": ["BILL_AMT6", "BILL_AMT5", "BILL_AMT4", "BILL_AMT3", "BILL_AMT2", "BILL_AMT1"],
    "paid": ["PAY_AMT6", "PAY_AMT5", "PAY_AMT4", "PAY_AMT3", "PAY_AMT2", "PAY_AMT1"],
    "status": ["PAY_6", "PAY_5", "PAY_4", "PAY_3", "PAY_2", "PAY_0"],
}


def card_statement_history(df: pd.DataFrame, layout: dict | None = None, *, due_days: int = 20, grades: int = 5,
                           default_months_late: int = 3, label_defaults: bool = False,
                           minor_units: int = 100) -> CreditHistory:
    """A :class:`CreditHistory` from monthly card statements (one row per client; per month the
    statement balance, the amount paid in the month and the repayment status in months late),
    such as the Taiwan default data (``layout`` default :data:`TAIWAN_LAYOUT`).

    Read as invoices: each statement after the first is an invoice for the charges new since the
    previous one (balance - (previous balance - paid this month), if positive; the first month
    is the opening balance, not a sale), issued on the statement date and due ``due_days``
    later. It was paid on its due date if the next month's status is paid duly or revolving
    (<= 0), and k months late if that status is k; the last month's invoices are open (their
    status is not known). A client defaults at the first statement ``default_months_late``
    or more months late (90 days past due: the Basel II definition, BCBS 2006 paragraph 452);
    with ``label_defaults``, a client the data marks as defaulting next month (and not in default
    already) defaults at the end of that month. Grades: ``grades`` bands of the credit limit, ``A`` the highest limits (the
    issuer sets limits by its own risk view; the data has no grade). Each assumption is in
    ``notes``; months with no new charges are counted in ``exclusions``.

    Examples
    --------
    >>> x = pd.DataFrame({"ID": [1], "LIMIT_BAL": [1000], "default.payment.next.month": [0],
    ...     "BILL_AMT6": [100], "BILL_AMT5": [150], "BILL_AMT4": [0], "BILL_AMT3": [0], "BILL_AMT2": [0], "BILL_AMT1": [0],
    ...     "PAY_AMT6": [0], "PAY_AMT5": [100], "PAY_AMT4": [150], "PAY_AMT3": [0], "PAY_AMT2": [0], "PAY_AMT1": [0],
    ...     "PAY_6": [0], "PAY_5": [0], "PAY_4": [1], "PAY_3": [0], "PAY_2": [0], "PAY_0": [0]})
    >>> h = card_statement_history(x, grades=1)
    >>> h.invoices[["amount", "issued", "due", "paid"]].astype(int).values.tolist()   # 150 - (100 - 100), late 1 month
    [[15000, 12934, 12954, 12984]]
    """
    lay = dict(TAIWAN_LAYOUT if layout is None else layout)
    months = pd.to_datetime(lay["months"])
    k = len(months)
    for key in ("bill", "paid", "status"):
        if len(lay[key]) != k:
            raise InputError(f"statement layout: '{key}' names {len(lay[key])} columns but 'months' has {k}")
    need = [lay["id"], lay["limit"]] + lay["bill"] + lay["paid"] + lay["status"]
    need_columns(df, need, "statements")

    def num(col):
        v = pd.to_numeric(df[col], errors="coerce")
        if v.isna().any():
            rows = df.index[v.isna()][:5].tolist()
            raise InputError(f"statements: column '{col}' expects numbers; rows {rows} are not")
        return v.to_numpy(float)

    bill = np.column_stack([num(c) for c in lay["bill"]])
    paid = np.column_stack([num(c) for c in lay["paid"]])
    status = np.column_stack([num(c) for c in lay["status"]])
    ids = df[lay["id"]].astype(str).to_numpy()
    day = months.values.astype("datetime64[D]").astype(np.int64).astype(float)
    new = np.maximum(bill[:, 1:] - np.maximum(bill[:, :-1] - paid[:, 1:], 0), 0)     # months 2..k
    late = np.full(new.shape, np.nan)
    late[:, :-1] = np.maximum(status[:, 2:], 0)            # the next month's status, in months
    n, m = new.shape
    cust = np.repeat(ids, m)
    issued = np.tile(day[1:], n)
    amount = new.ravel()
    months_late = late.ravel()
    due = issued + due_days
    paid_at = np.where(np.isnan(months_late), np.nan, due + 30 * np.nan_to_num(months_late))
    until = float(day[-1])
    paid_at[paid_at > until] = np.nan
    keep = amount > 0
    # defaults: the first statement at least default_months_late behind, else next month if marked
    hit = status >= default_months_late
    first = np.where(hit.any(axis=1), day[np.argmax(hit, axis=1)], np.nan)
    nxt = float((months[-1] + pd.offsets.MonthEnd(1)).to_datetime64().astype("datetime64[D]").astype(np.int64))
    label_note = "the data marks no default next month"
    if lay.get("default_next_month") in df.columns:
        flag = pd.to_numeric(df[lay["default_next_month"]], errors="coerce").fillna(0).to_numpy() > 0
        if label_defaults:
            first = np.where(np.isnan(first) & flag, nxt, first)
            until = nxt
            label_note = (f"{int(flag.sum())} clients marked as defaulting next month default on "
                          f"{pd.Timestamp(np.datetime64(int(nxt), 'D')).date()} unless already in default")
        else:
            label_note = (f"the data's default-next-month label ({int(flag.sum())} clients) is not a default date: "
                          "it lies a month beyond the statements and is a different definition (label_defaults=True "
                          "adds it at the end of that month)")
    limit = num(lay["limit"])
    labels = [chr(ord("A") + i) for i in range(grades)]
    band = pd.qcut(pd.Series(limit).rank(method="first", ascending=False), grades, labels=labels) if grades > 1 \
        else pd.Series(["A"] * n)
    customers = pd.DataFrame({"customer_id": ids, "grade": band.astype(str).to_numpy(), "credit_limit": limit,
                              "defaulted_at": dates_from_days(first)})
    invoices = pd.DataFrame({"invoice_id": [f"{c}-{int(t)}" for c, t in zip(cust[keep], issued[keep])],
                             "customer_id": cust[keep], "amount": amount[keep], "issued_at": dates_from_days(issued[keep]),
                             "due_at": dates_from_days(due[keep]), "paid_at": dates_from_days(paid_at[keep])})
    h = load_credit_history(customers, invoices, minor_units=minor_units,
                            observed_until=pd.Timestamp(np.datetime64(int(until), "D")))
    h.exclusions = pd.concat([h.exclusions, pd.DataFrame([{
        "table": "statements", "reason": "client-months with no new charges (no invoice)",
        "rows": int((~keep).sum()), "first": ""}])], ignore_index=True)
    h.notes += [
        f"statements read as invoices: the charges new since the previous statement, due {due_days} days after it; "
        f"the first month ({months[0].date()}) is the opening balance, not a sale",
        "paid on the due date when the next month's status is paid duly or revolving (<= 0), k months late "
        "when it is k (30 days each); the last month's invoices are open (their status is not known yet)",
        f"a default is the first statement {default_months_late}+ months late (90 days past due, BCBS 2006 "
        "para. 452)", label_note,
        f"grades: {grades} bands of the credit limit (A: the highest limits); the data has no risk grade",
    ]
    return h


class CreditCalibration(TwinCalibration[CreditConfig]):
    """The credit twin's calibration (:class:`~crmsim.experiments.fits.TwinCalibration`; estimates grouped by ``grade``).

    Examples
    --------
    >>> import pandas as pd
    >>> from importlib.resources import files
    >>> from crmsim.errors import read_toml
    >>> EX = files("crmsim") / "examples"
    >>> h = load_credit_history(*(pd.read_csv(EX / f"erp_{k}.csv") for k in ("customers", "invoices", "payments")),
    ...                         columns=read_toml(EX / "erp_map.toml")["columns"])
    >>> cal = calibrate_credit(h)
    >>> cal.provenance.set_index("path").loc["terms_days", "source"], type(cal.config).__name__
    ('fitted', 'CreditConfig')
    """


def _boot_ci(x: np.ndarray, stat, rng, n: int = 300) -> tuple[float, float]:
    if x.size < 2:
        return np.nan, np.nan
    b = [stat(x[rng.integers(0, x.size, x.size)]) for _ in range(n)]
    return float(np.quantile(b, 0.025)), float(np.quantile(b, 0.975))


def _rate_sigma(counts: np.ndarray) -> float:
    """Lognormal sigma of order rates from counts per customer (method of moments:
    var = mean + mean^2 (e^{sigma^2} - 1))."""
    m = counts.mean()
    v = counts.var(ddof=1) if counts.size > 1 else 0.0
    return float(np.sqrt(np.log1p(max(v - m, 0) / m**2))) if m > 0 else 0.0


def _mean_ci(x: np.ndarray) -> tuple[float, float]:
    if x.size < 2:
        return np.nan, np.nan
    h = 1.959963984540054 * x.std(ddof=1) / np.sqrt(x.size)
    return float(x.mean() - h), float(x.mean() + h)


#: days past due, lower bounds of the bands the dunning effect is compared within
DUNNING_BANDS = (1, 8, 15, 22, 31, 46, 61, 91)


def dunning_effect(invoices: pd.DataFrame, reminders: pd.DataFrame, until: float) -> dict:
    """How much a reminder speeds up payment: the Mantel-Haenszel ratio of payment rates per
    invoice-day past due, reminded against not yet reminded, within bands of days past due
    (:data:`DUNNING_BANDS`), with its 95% CI (Greenland-Robins variance). An invoice is at risk
    from the day after its due date until it is paid or ``until``; ``reminded`` from the day
    after its first reminder. Returns ``ratio, ci, payments, every_days`` (the median gap
    between reminders of one invoice, else the median days past due of the first) and ``why``
    when it cannot be estimated (no reminder, or no band with both kinds of invoice-day).

    Under the simulation's model (delays past due exponential, the days still to payment cut to
    ``cut`` of them by the first letter), the ratio is ``1 / cut``.

    Examples
    --------
    Days 8-14 past due: ``a`` waits 3 days unreminded, is reminded on day 10 and pays 2 days
    later; ``b`` is never reminded and pays after 6 days in the band: 1/2 against 1/9 a day.

    >>> inv = pd.DataFrame({"invoice_id": ["a", "b"], "due": [0.0, 0.0], "paid": [12.0, 13.0]})
    >>> r = dunning_effect(inv, pd.DataFrame({"invoice_id": ["a"], "t": [10.0]}), until=30)
    >>> round(r["ratio"], 2), r["payments"]
    (4.5, 2)
    """
    if reminders is None or not len(reminders):
        return {"ratio": np.nan, "ci": (np.nan, np.nan), "payments": 0, "every_days": np.nan,
                "why": "no reminders in the dunning log"}
    inv = invoices[np.isfinite(invoices["due"].to_numpy(float))]
    first = reminders.groupby("invoice_id")["t"].min()
    r = first.reindex(inv["invoice_id"]).to_numpy(float)
    due = inv["due"].to_numpy(float)
    paid = inv["paid"].to_numpy(float)
    end = np.where(np.isnan(paid), until, np.minimum(paid, until))     # last day at risk
    event = ~np.isnan(paid) & (paid <= until) & (paid > due)
    # days past due at risk: unreminded (0, r - due], reminded (r - due, end - due]
    lo, hi = np.zeros(due.size), end - due
    cut_at = np.where(np.isnan(r), np.inf, r - due)
    edges = np.array(DUNNING_BANDS + (np.inf,), float)
    pay_dpd = paid - due
    rem_at_pay = pay_dpd > cut_at
    num = den = var_num = 0.0
    used = 0
    for b in range(len(DUNNING_BANDS)):
        a_lo, a_hi = edges[b] - 1, edges[b + 1] - 1            # days past due (a_lo, a_hi]
        u_hi = np.minimum(hi, cut_at)
        t0 = np.clip(np.minimum(u_hi, a_hi) - np.maximum(lo, a_lo), 0, None).sum()
        t1 = np.clip(np.minimum(hi, a_hi) - np.maximum(np.maximum(lo, cut_at), a_lo), 0, None).sum()
        inb = event & (pay_dpd > a_lo) & (pay_dpd <= a_hi)
        a1 = float((inb & rem_at_pay).sum())
        c0 = float((inb & ~rem_at_pay).sum())
        if t0 <= 0 or t1 <= 0:
            continue
        T = t0 + t1
        num += a1 * t0 / T
        den += c0 * t1 / T
        var_num += (a1 + c0) * t1 * t0 / T**2
        used += 1
    gaps = reminders.sort_values(["invoice_id", "t"]).groupby("invoice_id")["t"].diff().dropna()
    dpd_first = (first - inv.set_index("invoice_id")["due"].reindex(first.index)).dropna()
    every = float(gaps.median()) if len(gaps) else float(dpd_first.median()) if len(dpd_first) else np.nan
    n_pay = int(event.sum())
    if not used or num <= 0 or den <= 0:
        return {"ratio": np.nan, "ci": (np.nan, np.nan), "payments": n_pay, "every_days": every,
                "why": "no band of days past due holds both reminded and not yet reminded invoices with payments"}
    ratio = num / den
    se = np.sqrt(var_num / (num * den))
    return {"ratio": float(ratio), "ci": (float(ratio * np.exp(-1.96 * se)), float(ratio * np.exp(1.96 * se))),
            "payments": n_pay, "every_days": every, "why": ""}


def _fit_dunning(h: CreditHistory, inv: pd.DataFrame, until: float, terms: int, est: Estimates,
                 notes: list[str]) -> tuple[int, float, float, float] | None:
    """``dunning_every_days`` and ``dunning_effect`` from the reminders of the window's invoices,
    or None (and a note) when the log is missing or cannot tell."""
    if h.dunning is None:
        return None
    rem = h.dunning[h.dunning["invoice_id"].isin(set(inv["invoice_id"]))]
    r = dunning_effect(inv, rem, until)
    if r["why"]:
        notes.append(f"dunning: {r['why']}; the cadence and effect are the base scenario's")
        return None
    every = int(max(1, round(r["every_days"])))
    # the simulation's first letter cuts the days still to payment by the effect: for delays past due
    # exponential that multiplies the payment rate by 1 / (1 - effect), so effect = 1 - 1 / ratio
    effect = float(np.clip(1 - 1 / r["ratio"], 0.0, 1.0))
    cut = 1 - effect
    lo, hi = r["ci"]
    est.add("dunning_rate_ratio", r["ratio"], r["ci"], r["payments"],
            note="payment rate per day past due after a reminder / before one, within bands of days past due "
                 "(Mantel-Haenszel)")
    est.add("dunning_every_days", every, n=len(rem), path="dunning_every_days",
            note="median days between reminders of an invoice (or to the first one past due)")
    est.add("dunning_effect", effect, (float(np.clip(1 - 1 / lo, 0, 1)), float(np.clip(1 - 1 / hi, 0, 1))),
            r["payments"], path="dunning_effect",
            note="share of the days still to payment that the first letter cuts, from the rate ratio "
                 "(effect = 1 - 1 / ratio)")
    notes.append(f"dunning: payments after a reminder come {r['ratio']:.2f}x as fast [{lo:.2f}, {hi:.2f}]; the fitted "
                 "days to pay are those before the cut (the simulation applies it)")
    first = rem.groupby("invoice_id")["t"].min().sub(inv.set_index("invoice_id")["due"]).dropna()
    if first.nunique() == 1:
        notes.append("dunning: every first reminder went out the same number of days past due; the effect rests "
                     "on payments being as likely on each day of a band of days past due")
    return every, effect, cut, float(first.median())


def calibrate_credit(history: CreditHistory, base: CreditConfig | None = None, *, start=None, end=None,
                     min_customers: int = MIN_CUSTOMERS, seed=0, base_set: set[str] | None = None) -> CreditCalibration:
    """Fit a :class:`~crmsim.sim.credit.CreditConfig` to a credit history, on invoices issued in
    ``[start, end)`` (dates; default the whole history), knowing what happened until the
    history's ``observed_until``. ``base`` gives what cannot be fitted (LGD, default
    correlation, dunning). Every parameter's source is in ``provenance``.

    Examples
    --------
    >>> import pandas as pd
    >>> from importlib.resources import files
    >>> from crmsim.errors import read_toml
    >>> EX = files("crmsim") / "examples"
    >>> h = load_credit_history(*(pd.read_csv(EX / f"erp_{k}.csv") for k in ("customers", "invoices", "payments")),
    ...                         columns=read_toml(EX / "erp_map.toml")["columns"])
    >>> cal = calibrate_credit(h)
    >>> cal.config.terms_days, sorted(cal.config.grade_shares)
    (30, ['A', 'B', 'C', 'D', 'E'])
    >>> cal.provenance.set_index("path").loc[["lgd", "rho"], "source"].tolist()     # what receivables cannot tell
    ['default', 'default']
    """
    base = base or CreditConfig()
    rng = rng_from(seed)
    h = history
    def day(x, default: float) -> float:
        return default if x is None else _days(pd.Series([x]), "window", {})[0]

    t0 = day(start, h.start)
    t1 = day(end, h.observed_until + 1)
    obs = h.observed_until + 1
    inv = h.invoices[(h.invoices["issued"] >= t0) & (h.invoices["issued"] < t1)]
    if len(inv) < 30:
        raise InputError(f"only {len(inv)} invoices issued in the window; need at least 30 to fit the credit book")
    est = Estimates("grade")
    notes = list(h.notes)

    cust = h.customers
    alive_from = np.full(len(cust), t0)
    alive_to = np.fmin(np.where(np.isnan(cust["defaulted"]), np.inf, cust["defaulted"]), t1)
    in_book = alive_to > alive_from
    book = cust[in_book]
    exposure_years = float((alive_to - alive_from)[in_book].sum() / _YEAR)
    n_c = len(book)
    est.add("customers", n_c, n=n_c, path="customers", note="customers not in default at the window's start")
    grades = sorted(book["grade"].unique())
    shares = {}
    for gname in grades:
        k = int((book["grade"] == gname).sum())
        shares[gname] = k / n_c
        est.add("grade_share", k / n_c, proportion_ci(k, n_c), n_c, group=gname, path=f"grade_shares.{gname}")
    # billing: invoices on a few dates only (monthly statements, collective invoices) are the bills
    # of a cycle's orders; elsewhere each order has its own invoice
    cycle = _billing_cycle(inv["issued"].to_numpy(float))
    if cycle:
        est.add("billing_cycle_days", cycle, n=int(np.unique(inv["issued"]).size), path="billing_cycle_days",
                note="invoices are issued on a few dates only: the median gap between those dates")
        notes.append(f"invoices fall on {np.unique(inv['issued']).size} dates only: read as bills every {cycle} days "
                     "of the orders placed since the last one (billing_cycle_days)")
    # orders: invoices per customer-month (Poisson) and their spread across customers
    months = exposure_years * 12
    if cycle:
        # the window's bills hold the orders of as many whole cycles, the first one's from before it
        months *= np.unique(inv["issued"]).size * cycle / (t1 - t0)
    lam = len(inv) / months
    est.add("orders_per_month", lam, poisson_rate_ci(len(inv), months), len(inv), path="orders_per_month")
    per = inv.groupby("customer_id").size().reindex(book["customer_id"], fill_value=0).to_numpy(float)
    life = (alive_to - alive_from)[in_book]
    amt = inv["amount"].to_numpy(float)
    amount_cv = float(amt.std(ddof=1) / amt.mean())
    if cycle:
        # one bill a cycle each: customers differ in how much they spend, not how often they are
        # billed; the spread of spend goes into the order rates (so limits follow it, as an
        # issuer's do) and the order amounts keep the spread within a customer
        st = _spend_stats(inv, book["customer_id"])
        sigma, amount_cv = _spend_spread(st)
        ci_sigma, ci_cv = _spend_ci(st, rng)
        est.add("order_rate_sigma", sigma, ci_sigma, len(book),
                path="order_rate_sigma", note="lognormal spread of spend per customer (bills on a cycle: the "
                "spread of how much customers buy, net of the spread within a customer), method of moments")
        est.add("order_amount_cv", amount_cv, ci_cv, amt.size,
                path="order_amount_cv", note="spread of a customer's bills around that customer's mean")
    else:
        sigma = _rate_sigma(per)
        est.add("order_rate_sigma", sigma, _boot_ci(per, _rate_sigma, rng), per.size, path="order_rate_sigma",
            note="lognormal spread of order rates by the method of moments on invoices per customer")
        est.add("order_amount_cv", amount_cv, _boot_ci(amt, lambda x: x.std(ddof=1) / x.mean(), rng),
            amt.size, path="order_amount_cv")
    est.add("order_amount_mean", float(amt.mean()), _mean_ci(amt), amt.size, path="order_amount_mean", note="minor units")
    terms = (inv["due"] - inv["issued"]).dropna().to_numpy()
    if terms.size:
        t = float(np.median(terms))
        est.add("terms_days", t, (float(np.quantile(terms, 0.25)), float(np.quantile(terms, 0.75))), terms.size,
            path="terms_days", note="median days from invoice to due date (interval: quartiles)")
    else:
        t = float(base.terms_days)
    # days from invoice to payment per grade, from invoices whose outcome had time to be seen;
    # invoices of customers who defaulted before paying are the loss, not a payment time
    defaulted_at = cust.set_index("customer_id")["defaulted"]
    d_at = defaulted_at.reindex(inv["customer_id"]).to_numpy()
    lost = np.isnan(inv["paid"].to_numpy()) & ~np.isnan(d_at)
    dtp_all = (inv["paid"] - inv["issued"]).to_numpy()
    settle = max(60.0, 2 * float(np.nanquantile(dtp_all, 0.95))) if np.isfinite(dtp_all).any() else 120.0
    seen = (inv["issued"].to_numpy() <= obs - settle) & ~lost
    if seen.sum() < 30:
        seen = ~lost
        notes.append(f"fewer than 30 invoices issued {settle:.0f}+ days before the end of the history: days to "
                     "pay are fitted on all invoices, and the recent open ones count at their age (a lower bound)")
    open_ = np.isnan(dtp_all) & seen
    values = np.where(open_, obs - inv["issued"].to_numpy(), dtp_all)
    if open_.any():
        notes.append(f"{int(open_.sum())} invoice(s) still open {settle:.0f}+ days after issue (not in default) "
                     "count at their age so far: the tail of days to pay is a lower bound")
    late_all = np.maximum(values - (inv["due"].to_numpy() - inv["issued"].to_numpy()), 0)
    late_all = np.where(np.isnan(late_all), np.maximum(values - t, 0), late_all)
    gcol = inv["grade"].to_numpy()
    counts = book["grade"].value_counts()
    thin = [gname for gname in grades if counts.get(gname, 0) < min_customers]
    if thin:
        notes.append(f"grade(s) {thin} have fewer than {min_customers} customers: their days to pay and default "
                     "rate are pooled over all grades")
    days_to_pay, late_mean, annual_pd = {}, {}, {}
    for gname in grades:
        sel = seen & ((gcol == gname) if gname not in thin else np.ones(len(inv), bool))
        x = values[sel]
        src = "pooled" if gname in thin else "fitted"
        if x.size < 10:
            x = values[seen]
            src = "pooled"
        # resampled: the observed days, or 1,000 evenly spaced quantiles of them (the maximum kept)
        keep_x = x if x.size <= 1000 else np.append(np.quantile(x, (np.arange(999) + 0.5) / 1000), x.max())
        days_to_pay[gname] = {"kind": "empirical", "values": [float(v) for v in np.round(keep_x, 1)]}
        est.add("days_to_pay_mean", float(x.mean()), _mean_ci(x), x.size, group=gname, source=src,
            path=f"days_to_pay.{gname}", note=f"resampled from {x.size} invoices (p50 {np.median(x):.0f}, "
                                              f"p95 {np.quantile(x, 0.95):.0f}, max {x.max():.0f} days)")
        lt = late_all[sel] if src == "fitted" else late_all[seen]
        late_mean[gname] = float(lt.mean())
        est.add("late_days_mean", float(lt.mean()), _mean_ci(lt), lt.size, group=gname, source=src,
            path=f"late_days_mean.{gname}", note="mean days past due (0 when paid by the due date)")
        est.add("paid_late_share", float((lt > 0).mean()), proportion_ci(int((lt > 0).sum()), lt.size), lt.size,
            group=gname, source=src, note="share of invoices paid after their due date")
    # defaults per customer-year; correlated defaults cluster in bad months, so the Poisson
    # interval is widened by the dispersion of the monthly default counts (quasi-Poisson)
    has_defaults = "defaulted" in cust and np.isfinite(cust["defaulted"]).any()
    phi = _dispersion(book["defaulted"].to_numpy(), t0, t1, life) if has_defaults else 1.0
    if phi > 1:
        notes.append(f"defaults cluster in time (dispersion {phi:.1f} x Poisson over months): default-rate "
                     "intervals are widened accordingly")
    for gname in grades:
        sel = (book["grade"] == gname).to_numpy() if gname not in thin else np.ones(n_c, bool)
        d = book["defaulted"].to_numpy()[sel]
        k = int(((d >= t0) & (d < t1)).sum())
        yrs = float(life[sel].sum() / _YEAR)
        if not has_defaults:
            annual_pd[gname] = base.annual_pd.get(gname, float(np.mean(list(base.annual_pd.values()))))
            est.add("annual_pd", annual_pd[gname], group=gname, source="base scenario", path=f"annual_pd.{gname}",
                note="no default dates in the customers table")
            continue
        lo, hi = poisson_rate_ci(int(round(k / phi)), yrs / phi) if phi > 1 else poisson_rate_ci(k, yrs)
        annual_pd[gname] = float(1 - np.exp(-k / yrs))
        est.add("annual_pd", annual_pd[gname], (1 - np.exp(-lo), 1 - np.exp(-hi)), int(sel.sum()), group=gname,
            source="pooled" if gname in thin else "fitted", path=f"annual_pd.{gname}",
            note=f"{k} default(s) in {yrs:.1f} customer-years" + (f", interval widened x{np.sqrt(phi):.2f} "
                                                                 "for clustering" if phi > 1 else ""))
    limit_mult = base.limit_multiplier
    lim = book["credit_limit"].to_numpy()
    if not np.isfinite(lim).any():
        notes.append("customers: no credit limits; the limit multiplier is the base scenario's, so the simulated "
                     "book may hold orders the history shows as invoiced")
    else:
        # limit over the customer's expected open exposure (orders a day x days open x mean amount)
        g_of = book["grade"].to_numpy()
        mean_open = np.array([np.mean(days_to_pay[x]["values"]) for x in g_of]) + cycle / 2
        exp_open = per / np.maximum(life, 1) * mean_open * amt.mean()
        r = lim / np.where(exp_open > 0, exp_open, np.nan)
        r = r[np.isfinite(r)]
        if r.size:
            limit_mult = float(np.median(r))
            est.add("limit_multiplier", limit_mult, _boot_ci(r, np.median, rng), r.size, path="limit_multiplier",
                note="median credit limit / expected open exposure")
    raw = base.model_dump(mode="json", by_alias=True, exclude_none=True)
    dun = _fit_dunning(h, inv, t1, int(round(t)), est, notes)
    if dun is not None:
        # the delays seen were cut by the reminders; the simulation applies the cut itself, so it
        # gets the delays without it (the days after the first letter, typically ``first`` days past
        # due, / cut), and the cadence and effect
        every, effect, cut, first = dun
        notes.append(f"dunning: first reminders went out a median {first:.0f} days past due; the simulation sends its "
                     f"first letter at the first run from dunning.levels[0] = {base.dunning.levels[0]} days past due "
                     "(the base scenario's, not fitted)")
        for gname, d in days_to_pay.items():
            d["values"] = [v if v <= t + first else round(t + first + (v - t - first) / cut, 1) for v in d["values"]]
            late_mean[gname] = late_mean[gname] / cut
        raw.update(dunning_every_days=int(every), dunning_effect=float(effect))
    raw.update(customers=int(n_c), grade_shares=shares, orders_per_month=float(lam), order_rate_sigma=sigma,
               order_amount_mean=int(round(amt.mean())), order_amount_cv=amount_cv,
               terms_days=int(round(t)), limit_multiplier=limit_mult, late_days_mean=late_mean,
               annual_pd=annual_pd, days_to_pay=days_to_pay, billing_cycle_days=int(cycle))
    cfg = CreditConfig.model_validate(raw)
    est = est.frame()
    if base_set is None:
        from crmsim.experiments.calibrate import _set_paths

        base_set = _set_paths(base)      # what the base scenario set (the rest are crmsim defaults)
    prov = _provenance(cfg, est, base_set)
    d0, d1 = np.datetime64(int(t0), "D"), np.datetime64(int(t1) - 1, "D")
    return CreditCalibration(cfg, est, prov, notes, (pd.Timestamp(d0), pd.Timestamp(d1)))


def _spend_stats(inv: pd.DataFrame, customers: pd.Series) -> np.ndarray:
    """Per customer of ``customers``: spend in the window, bills, and the sum of squared relative
    deviations of the bills from the customer's mean (rows of a (n, 3) array)."""
    g = inv.groupby("customer_id")["amount"]
    m = g.transform("mean").to_numpy(float)
    d = pd.Series(((inv["amount"].to_numpy(float) - m) / m) ** 2, index=inv.index).groupby(inv["customer_id"]).sum()
    st = pd.DataFrame({"s": g.sum(), "k": g.size(), "d": d}).reindex(customers, fill_value=0)
    return st.to_numpy(float)


def _spend_spread(st: np.ndarray) -> tuple[float, float]:
    """For bills on a cycle (``st`` from :func:`_spend_stats`): the lognormal sigma of spend
    across customers and the cv of a customer's bills around their own mean. Spend ``S`` sums
    Poisson orders of amounts with mean ``mu`` and cv ``c``: ``Var S = E[S] mu (1 + c^2) + E[S]^2
    (e^{sigma^2} - 1)`` (method of moments)."""
    s, k, d = st[:, 0], st[:, 1], st[:, 2]
    rep = k > 1
    c2 = float(d[rep].sum() / max(k[rep].sum() - rep.sum(), 1))
    m, v = s.mean(), s.var(ddof=1)
    mu = s.sum() / max(k.sum(), 1)
    ratio = max(v - m * mu * (1 + c2), 0) / m**2 if m > 0 else 0.0
    return float(np.sqrt(np.log1p(ratio))), float(np.sqrt(c2))


def _spend_ci(st: np.ndarray, rng, n: int = 200) -> tuple[tuple[float, float], tuple[float, float]]:
    """Bootstrap 95% intervals (resampling customers) of both values of :func:`_spend_spread`."""
    out = np.array([_spend_spread(st[rng.integers(0, len(st), len(st))]) for _ in range(n)])
    q = np.quantile(out, [0.025, 0.975], axis=0)
    return (float(q[0, 0]), float(q[1, 0])), (float(q[0, 1]), float(q[1, 1]))


def _billing_cycle(issued: np.ndarray) -> int:
    """Days between bills when invoices are issued on a few dates only (at most one date in
    20 days of the window), else 0 (each order invoiced on its own)."""
    ud = np.unique(issued[np.isfinite(issued)])
    if ud.size < 2 or ud.size > (ud[-1] - ud[0]) / 20 + 1:
        return 0
    return int(round(float(np.median(np.diff(ud)))))


def _dispersion(defaulted: np.ndarray, t0: float, t1: float, life: np.ndarray) -> float:
    """Pearson dispersion of monthly default counts against a constant rate (>= 1; 1 with fewer
    than 6 months)."""
    edges = np.arange(t0, t1 + 1, DAYS_PER_MONTH)
    if edges.size < 7:
        return 1.0
    d = defaulted[np.isfinite(defaulted)]
    counts = np.histogram(d, bins=edges)[0].astype(float)
    if counts.sum() < 5:
        return 1.0
    e = counts.mean()
    return float(max(1.0, ((counts - e) ** 2 / e).sum() / (counts.size - 1)))


_NOT_FITTABLE = {"lgd": "loss given default: needs recoveries, which receivables do not show",
                 "rho": "default correlation: needs many years of default rates",
                 "dunning_every_days": "dunning: not fitted (needs a dunning log: invoice_id, dunned_at)",
                 "dunning_effect": "dunning: not fitted (needs a dunning log: invoice_id, dunned_at)",
                 "loss_rates": "provision matrix: from the base scenario (crmsim.finance.ecl fits it from ageing history)"}


def _provenance(cfg: CreditConfig, est: pd.DataFrame, base_set: set[str]) -> pd.DataFrame:
    fitted = {r.path: r for r in est.itertuples() if isinstance(r.path, str)}
    rows = []
    for name in type(cfg).model_fields:
        v = getattr(cfg, name)
        leaves = [(f"{name}.{k}", x) for k, x in v.items()] if isinstance(v, dict) else [(name, v)]
        for path, x in leaves:
            r = fitted.get(path)
            value = x.mean() if hasattr(x, "mean") and callable(x.mean) else x
            if r is not None:
                rows.append({"path": path, "value": value, "source": r.source, "ci_low": r.ci_low,
                             "ci_high": r.ci_high, "n": r.n, "note": r.note})
            else:
                src = "base scenario" if (path in base_set or name in base_set) else "default"
                rows.append({"path": path, "value": value, "source": src, "ci_low": np.nan, "ci_high": np.nan,
                             "n": 0, "note": _NOT_FITTABLE.get(name, "")})
    return pd.DataFrame(rows)


def credit_metrics(invoices: pd.DataFrame, defaults: pd.DataFrame, t0: float, t1: float) -> dict[str, float]:
    """The validation's metrics of a window ``[t0, t1)`` (days), computed the same way on the
    history and on a simulated book: ``sales`` (invoiced), ``dso`` (mean open receivables of
    customers not in default / sales x days, :func:`crmsim.finance.ageing.dso`),
    ``paid_late_share`` (of the window's invoices paid by its end), ``exposure_at_default``
    (open receivables of customers defaulting in the window, at their default) and ``defaults``.

    ``invoices``: ``customer_id, amount, issued, due, paid`` (NaN = unpaid); ``defaults``:
    ``customer_id, t, exposure``.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> inv = pd.DataFrame({"customer_id": ["a", "a", "b"], "amount": [100, 200, 300],
    ...                     "issued": [0.0, 10.0, 20.0], "due": [30.0, 40.0, 50.0], "paid": [25.0, 45.0, np.nan]})
    >>> m = credit_metrics(inv, pd.DataFrame({"customer_id": ["b"], "t": [55.0], "exposure": [300.0]}), 0, 60)
    >>> m["sales"], m["paid_late_share"], m["defaults"], m["exposure_at_default"]
    (600.0, 0.5, 1.0, 300.0)
    """
    days = np.arange(t0, t1)
    iss, paid, amt = invoices["issued"].to_numpy(), invoices["paid"].to_numpy(), invoices["amount"].to_numpy(float)
    dflt = defaults.set_index("customer_id")["t"] if len(defaults) else pd.Series(dtype=float)
    d_at = dflt.reindex(invoices["customer_id"]).to_numpy(dtype=float) if len(defaults) else np.full(len(invoices), np.nan)
    closes = np.fmin(np.where(np.isnan(paid), np.inf, paid), np.where(np.isnan(d_at), np.inf, d_at))
    # open at the end of day d: issued on or before d, not yet paid nor in default
    def by(t: np.ndarray, x: np.ndarray) -> np.ndarray:
        o = np.argsort(t)
        c = np.concatenate([[0.0], np.cumsum(x[o])])
        return c[np.searchsorted(t[o], days, side="right")]

    fin = np.isfinite(closes)
    open_amt = by(iss, amt) - by(closes[fin], amt[fin])
    w = (iss >= t0) & (iss < t1)
    sales = float(amt[w].sum())
    pw = w & (paid < t1)
    late = float((paid[pw] > invoices["due"].to_numpy()[pw]).mean()) if pw.any() else np.nan
    dw = defaults[(defaults["t"] >= t0) & (defaults["t"] < t1)] if len(defaults) else defaults
    return {"sales": sales, "dso": dso_rule(float(np.mean(open_amt)), sales, len(days)),
            "paid_late_share": late, "exposure_at_default": float(dw["exposure"].sum()) if len(dw) else 0.0,
            "defaults": float(len(dw))}


def _history_defaults(h: CreditHistory) -> pd.DataFrame:
    """Each defaulted customer's default day and open receivables then (exposure at default)."""
    c = h.customers.loc[np.isfinite(h.customers["defaulted"]), ["customer_id", "defaulted"]]
    inv = h.invoices.merge(c, on="customer_id")
    open_ = (inv["issued"] <= inv["defaulted"]) & ~(inv["paid"] <= inv["defaulted"])
    ead = inv[open_].groupby("customer_id")["amount"].sum()
    return pd.DataFrame({"customer_id": c["customer_id"].to_numpy(), "t": c["defaulted"].to_numpy(),
                         "exposure": ead.reindex(c["customer_id"]).fillna(0).to_numpy(float)})


def _sim_tables(res) -> tuple[pd.DataFrame, pd.DataFrame]:
    rc = res.table
    inv = pd.DataFrame({"customer_id": rc["customer_id"], "amount": rc["amount"], "issued": rc["created"],
                        "due": rc["due"], "paid": rc["paid_at"]})
    ev = res.events[res.events["event"] == "default"]
    d = pd.DataFrame({"customer_id": "C" + ev["entity_id"].astype(int).astype(str), "t": ev["t"].to_numpy(),
                      "exposure": ev["value"].to_numpy()})
    return inv, d


def credit_split_validation(history: CreditHistory, base: CreditConfig | None = None, *, split: float = 2 / 3,
                            replications: int = 10, warmup_days: int = 180, seed=0) -> dict:
    """Fit on the first ``split`` of the history's days, simulate the rest ``replications``
    times (after a ``warmup_days`` run-in that builds the open book), and compare with what the
    held-out months show. Returns ``{"table": metric, observed, simulated (mean), sim_low /
    sim_high (the replications' 95% range), error_pct, within_10pct, within_range;
    "calibration": the fit; "split": the split date}``. Defaults are rare: exposure at default
    is judged by whether the observed value lies in the simulated range, not by a 10% error.

    Examples
    --------
    >>> import pandas as pd
    >>> from importlib.resources import files
    >>> from crmsim.errors import read_toml
    >>> EX = files("crmsim") / "examples"
    >>> h = load_credit_history(*(pd.read_csv(EX / f"erp_{k}.csv") for k in ("customers", "invoices", "payments")),
    ...                         columns=read_toml(EX / "erp_map.toml")["columns"])
    >>> val = credit_split_validation(h, replications=2, seed=1)
    >>> val["table"]["metric"].tolist()
    ['sales', 'dso', 'paid_late_share', 'exposure_at_default', 'defaults']
    """
    h = history
    t_start, t_end = h.start, h.observed_until + 1
    t_split = float(np.floor(t_start + split * (t_end - t_start)))
    bills = np.unique(h.invoices["issued"].to_numpy(float))
    cycle = _billing_cycle(bills)
    if cycle:
        # bills on a few dates: the split falls the day after a bill and the held-out part ends
        # the day after the last one, so both parts hold whole cycles (as the simulation bills)
        before = bills[bills < t_split]
        t_split = float((before[-1] if before.size else bills[0]) + 1)
        t_end = float(bills[-1] + 1)
        warmup_days = int(np.ceil(warmup_days / cycle) * cycle)
    if t_end - t_split < 30:
        raise InputError("the held-out part of the history is shorter than 30 days; use a longer history or a smaller split")
    cal = calibrate_credit(h, base, end=pd.Timestamp(np.datetime64(int(t_split), "D")), seed=seed)
    obs = credit_metrics(h.invoices, _history_defaults(h), t_split, t_end)
    horizon = float(t_end - t_split)
    sims = []
    for k in range(replications):
        res = simulate_credit(cal.config, seed=np.random.SeedSequence([int(seed), k]), horizon_days=warmup_days + horizon,
                              warmup_days=warmup_days)
        inv, d = _sim_tables(res)
        sims.append(credit_metrics(inv, d, warmup_days, warmup_days + horizon))
    table = held_out_table(obs, pd.DataFrame(sims))
    return {"table": table, "calibration": cal, "split": pd.Timestamp(np.datetime64(int(t_split), "D"))}
