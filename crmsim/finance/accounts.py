"""Customer accounts (FEATURES L2C-6): prepayment, rebate, cash and credit accounts as a ledger of
movements with balances, in minor units. A movement that would take a balance below zero (or
below minus the credit line of a credit account) is refused with a reason; nothing is lost."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pandas as pd
from pydantic import Field

from crmsim.config import Config

__all__ = ["ACCOUNT_TYPES", "Ledger", "RebateUsage"]

ACCOUNT_TYPES = ("prepayment", "rebate", "cash", "credit")
Kind = Literal["prepayment", "rebate", "cash", "credit"]


class RebateUsage(Config):
    """How much of an order a rebate balance may pay: at most ``max_order_share`` of the order and
    at most ``max_line_share`` of any one line.

    Examples
    --------
    >>> RebateUsage(max_order_share=0.3).max_order_share
    0.3
    """

    max_order_share: float = Field(default=0.10, ge=0, le=1)
    max_line_share: float = Field(default=1.0, ge=0, le=1)

    def usable(self, balance: int, order_lines: list[int]) -> int:
        order = sum(order_lines)
        by_lines = sum(int(x * self.max_line_share) for x in order_lines)
        return int(max(0, min(balance, int(order * self.max_order_share), by_lines)))


@dataclass
class Ledger:
    """Append-only movements ``(t, customer_id, account, amount, ref, note)``; balances derived.

    Examples
    --------
    >>> led = Ledger(credit_lines={"c1": 500})
    >>> led.post("2025-01-01", "c1", "prepayment", 1000, "pay-1")["ok"]
    True
    >>> led.post("2025-01-02", "c1", "prepayment", -1500, "ord-1")["reason"]
    'prepayment balance 1000 cannot go to -500'
    >>> led.post("2025-01-02", "c1", "credit", -400, "ord-2")["ok"], led.balance("c1", "credit")
    (True, -400)
    """

    credit_lines: dict[str, int] = field(default_factory=dict)
    movements: list[dict] = field(default_factory=list)
    refused: list[dict] = field(default_factory=list)
    _bal: dict = field(default_factory=dict)

    def balance(self, customer_id: str, account: Kind) -> int:
        return self._bal.get((customer_id, account), 0)

    def post(self, t, customer_id: str, account: Kind, amount: int, ref: str = "", note: str = "") -> dict:
        if account not in ACCOUNT_TYPES:
            raise ValueError(f"unknown account '{account}'; accounts are {list(ACCOUNT_TYPES)}")
        if not isinstance(amount, int):
            raise TypeError(f"amount must be integer minor units, got {amount!r}")
        cur = self.balance(customer_id, account)
        floor = -self.credit_lines.get(customer_id, 0) if account == "credit" else 0
        new = cur + amount
        rec = {"t": pd.Timestamp(t), "customer_id": customer_id, "account": account, "amount": amount,
               "ref": ref, "note": note}
        if new < floor:
            reason = f"{account} balance {cur} cannot go to {new}"
            self.refused.append({**rec, "reason": reason})
            return {"ok": False, "reason": reason}
        self._bal[(customer_id, account)] = new
        self.movements.append({**rec, "balance": new})
        return {"ok": True, "reason": None, "balance": new}

    def transfer(self, t, customer_id: str, frm: Kind, to: Kind, amount: int, ref: str = "") -> dict:
        """Move money between two accounts of a customer (both legs or neither)."""
        r = self.post(t, customer_id, frm, -amount, ref, f"to {to}")
        if not r["ok"]:
            return r
        return self.post(t, customer_id, to, amount, ref, f"from {frm}")

    def balances(self) -> pd.DataFrame:
        rows = [{"customer_id": c, "account": a, "balance": b} for (c, a), b in sorted(self._bal.items())]
        return pd.DataFrame(rows, columns=["customer_id", "account", "balance"])

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.movements, columns=["t", "customer_id", "account", "amount", "ref", "note", "balance"])
