"""Receivable recognition (FEATURES L2C-6): which fulfilment event creates the receivable, per
product form, with due dates from the payment terms. Money in minor units."""

from __future__ import annotations

from typing import Literal

import pandas as pd

from crmsim.config import Config
from crmsim.finance.contracts import PaymentTerms
from crmsim.tables import PRODUCT_FORMS

__all__ = ["FORMS", "EVENTS", "RecognitionRule", "recognise", "load_erp_receivables"]

FORMS = PRODUCT_FORMS
#: The fulfilment events each product form can recognise on.
EVENTS = {
    "physical": ("order_confirmed", "shipped", "left_warehouse", "signed"),
    "virtual": ("took_effect", "consumed", "confirmed"),
    "service": ("took_effect", "consumed", "confirmed"),
    "project": ("milestone_confirmed",),
}


class RecognitionRule(Config):
    """The event per product form that creates the receivable (defaults: physical on sign-off,
    virtual when it takes effect, service when delivery is confirmed, project on each
    customer-confirmed milestone, for the milestone's share).

    Examples
    --------
    >>> RecognitionRule().physical, RecognitionRule(physical="shipped").physical
    ('signed', 'shipped')
    """

    physical: Literal["order_confirmed", "shipped", "left_warehouse", "signed"] = "signed"
    virtual: Literal["took_effect", "consumed", "confirmed"] = "took_effect"
    service: Literal["took_effect", "consumed", "confirmed"] = "confirmed"
    project: Literal["milestone_confirmed"] = "milestone_confirmed"


def recognise(lines: pd.DataFrame, events: pd.DataFrame, rule: RecognitionRule | None = None,
              terms: dict[str, PaymentTerms] | PaymentTerms | None = None) -> pd.DataFrame:
    """Receivables from order lines (``order_id, line_no, customer_id, form, amount`` in cents,
    optional ``contract_id``) and fulfilment events (``order_id, line_no, event, t``, and
    ``share`` for project milestones). A line is recognised once, at its form's event (projects:
    once per confirmed milestone, for its share); due dates follow the terms (per contract id, or
    one for all). Returns ``receivable_id, order_id, line_no, customer_id, form, amount,
    recognised_at, due_at``.

    Examples
    --------
    >>> lines = pd.DataFrame({"order_id": ["o1", "o2"], "line_no": 1, "customer_id": "c1", "form": ["physical", "service"],
    ...                       "amount": [100_000, 40_000]})
    >>> ev = pd.DataFrame({"order_id": ["o1", "o2"], "line_no": 1, "event": ["signed", "confirmed"],
    ...                    "t": pd.to_datetime(["2025-03-04", "2025-03-10"])})
    >>> r = recognise(lines, ev, terms=PaymentTerms(kind="net", days=30))
    >>> r[["order_id", "amount"]].values.tolist(), [str(d.date()) for d in r["due_at"]]
    ([['o1', 100000], ['o2', 40000]], ['2025-04-03', '2025-04-09'])
    """
    rule = rule or RecognitionRule()
    bad = sorted(set(lines["form"]) - set(FORMS))
    if bad:
        raise ValueError(f"order lines: unknown product form(s) {bad}; forms are {list(FORMS)}")
    ev = events.copy()
    ev["t"] = pd.to_datetime(ev["t"])
    rows = []
    m = lines.merge(ev, on=["order_id", "line_no"], how="inner")
    for form in FORMS:
        want = getattr(rule, form)
        sub = m[(m["form"] == form) & (m["event"] == want)]
        if form != "project":
            sub = sub.sort_values("t").groupby(["order_id", "line_no"], as_index=False).first()
        for r in sub.itertuples(index=False):
            share = getattr(r, "share", 1.0) if form == "project" else 1.0
            amount = int(round(r.amount * (share if share == share else 1.0)))
            t = terms.get(getattr(r, "contract_id", None), PaymentTerms()) if isinstance(terms, dict) \
                else (terms or PaymentTerms())
            for k, (due, a) in enumerate(t.due_dates(r.t, amount)):
                rows.append({"order_id": r.order_id, "line_no": r.line_no, "customer_id": r.customer_id,
                             "form": form, "amount": a, "recognised_at": r.t, "due_at": due, "part": k})
    out = pd.DataFrame(rows, columns=["order_id", "line_no", "customer_id", "form", "amount",
                                      "recognised_at", "due_at", "part"])
    out.insert(0, "receivable_id", [f"{o}-{ln}-{k}-{i}" for i, (o, ln, k) in
                                    enumerate(zip(out["order_id"], out["line_no"], out["part"]))])
    return out.drop(columns="part").astype({"amount": "int64"})


def load_erp_receivables(df: pd.DataFrame, *, source: str = "ERP") -> pd.DataFrame:
    """Receivables pushed from an ERP, as they are: checked for the columns and integer amounts
    the write-off needs, with an error naming the column and rows.

    Examples
    --------
    >>> r = load_erp_receivables(pd.DataFrame({"receivable_id": ["R1"], "customer_id": ["c1"], "amount": [12_500],
    ...                                        "due_at": ["2025-02-01"]}))
    >>> r["amount"].tolist()
    [12500]
    """
    need = ("receivable_id", "customer_id", "amount", "due_at")
    miss = [c for c in need if c not in df.columns]
    if miss:
        raise KeyError(f"{source} receivables: column(s) {miss} missing")
    if not pd.api.types.is_integer_dtype(df["amount"]):
        raise TypeError(f"{source} receivables: 'amount' must be integer minor units, got {df['amount'].dtype}")
    neg = df.index[df["amount"] < 0].tolist()[:10]
    if neg:
        raise ValueError(f"{source} receivables: negative amount at rows {neg}")
    return df.assign(due_at=pd.to_datetime(df["due_at"]))
