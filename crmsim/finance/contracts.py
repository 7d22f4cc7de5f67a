"""Contracts (FEATURES L2C-6): payment terms, frame agreements and order contracts. Money in
minor units (cents)."""

from __future__ import annotations

from typing import Literal

import pandas as pd
from pydantic import Field, model_validator

from crmsim.config import Config

__all__ = ["PaymentTerms", "FrameAgreement", "OrderContract"]


class PaymentTerms(Config):
    """When money is due.

    ``net``: ``days`` after the invoice date; ``eom``: ``days`` after the end of the invoice's
    month, or with ``months`` = k after the end of the k-th month after it ("end of the month
    after the invoice month + 10 days": ``kind = "eom", months = 1, days = 10``; month ends follow
    the calendar, 29 February included); ``instalments``: ``parts`` = [(share, days after invoice), ...]; ``milestones``:
    ``parts`` = [(share, days after the milestone is confirmed), ...] (the milestone date is the
    invoice date passed in).

    Examples
    --------
    >>> PaymentTerms(kind="eom", days=30).due_dates("2025-01-20", 10_000)
    [(Timestamp('2025-03-02 00:00:00'), 10000)]
    >>> PaymentTerms(kind="eom", months=1, days=0).due_dates("2024-01-31", 500)[0][0].date()
    datetime.date(2024, 2, 29)
    >>> [a for _, a in PaymentTerms(kind="instalments", parts=[(0.3, 0), (0.7, 60)]).due_dates("2025-01-01", 1001)]
    [300, 701]
    """

    kind: Literal["net", "eom", "instalments", "milestones"] = "net"
    days: int = Field(default=30, ge=0)
    months: int = Field(default=0, ge=0)
    parts: tuple[tuple[float, int], ...] = ()

    @model_validator(mode="after")
    def _parts(self) -> PaymentTerms:
        if self.kind in ("instalments", "milestones"):
            if not self.parts:
                raise ValueError(f"{self.kind} terms need parts = [(share, days), ...]")
            total = sum(p for p, _ in self.parts)
            if abs(total - 1) > 1e-9 or any(p <= 0 for p, _ in self.parts):
                raise ValueError(f"part shares must be > 0 and sum to 1, got {[p for p, _ in self.parts]}")
        return self

    def due_dates(self, invoice_date, amount: int) -> list[tuple[pd.Timestamp, int]]:
        """Due dates and amounts (cents, summing exactly to ``amount``; the last part absorbs the
        rounding)."""
        d = pd.Timestamp(invoice_date).normalize()
        if self.kind == "net":
            return [(d + pd.Timedelta(days=self.days), int(amount))]
        if self.kind == "eom":
            end = d + pd.offsets.MonthEnd(0) + pd.offsets.MonthEnd(self.months)
            return [(end + pd.Timedelta(days=self.days), int(amount))]
        out, left = [], int(amount)
        for k, (share, days) in enumerate(self.parts):
            a = left if k == len(self.parts) - 1 else int(round(amount * share))
            left -= a
            out.append((d + pd.Timedelta(days=days), a))
        return out


class FrameAgreement(Config):
    """A periodic trade agreement: validity period, product scope, agreed unit prices (cents) and
    a rebate share earned on purchases within it.

    Examples
    --------
    >>> f = FrameAgreement(agreement_id="F1", customer_id="c1", start="2025-01-01", end="2025-12-31",
    ...                    products=["p1"], prices={"p1": 9_000}, rebate_share=0.02)
    >>> lines = pd.DataFrame({"order_id": ["o1", "o2"], "customer_id": "c1", "ordered_at": ["2025-03-01", "2026-02-01"],
    ...                       "product": "p1", "unit_price": 9_000})
    >>> f.check(lines)[["ok", "reason"]].values.tolist()
    [[True, nan], [False, 'ordered 2026-02-01 outside 2025-01-01..2025-12-31']]
    """

    agreement_id: str
    customer_id: str
    start: str
    end: str
    products: tuple[str, ...] = Field(min_length=1)
    prices: dict[str, int] = {}
    rebate_share: float = Field(default=0.0, ge=0, le=1)

    def check(self, lines: pd.DataFrame) -> pd.DataFrame:
        """Each order line (``order_id, customer_id, ordered_at, product, unit_price``) with
        ``ok`` and ``reason``: another customer's, outside the period, product not in scope, or a
        price other than the agreed one."""
        s, e = pd.Timestamp(self.start), pd.Timestamp(self.end)
        t = pd.to_datetime(lines["ordered_at"])
        reasons = []
        for cust, when, prod, price in zip(lines["customer_id"], t, lines["product"], lines["unit_price"]):
            r = []
            if cust != self.customer_id:
                r.append(f"customer {cust} is not party to {self.agreement_id}")
            if not s <= when <= e:
                r.append(f"ordered {when.date()} outside {self.start}..{self.end}")
            if prod not in self.products:
                r.append(f"product {prod} not in the agreement's scope")
            elif prod in self.prices and int(price) != self.prices[prod]:
                r.append(f"price {int(price)} differs from the agreed {self.prices[prod]}")
            reasons.append("; ".join(r) or None)
        return lines.assign(ok=[x is None for x in reasons], reason=reasons)


class OrderContract(Config):
    """An order contract: who, which frame agreement (if any) and the payment terms.

    Examples
    --------
    >>> OrderContract(contract_id="K1", customer_id="c1", terms=PaymentTerms(kind="net", days=45)).terms.days
    45
    """

    contract_id: str
    customer_id: str
    frame_agreement: str | None = None
    terms: PaymentTerms = PaymentTerms()
