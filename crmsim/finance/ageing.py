"""Receivable ageing, DSO, reminders and dunning (FEATURES L2C-6). Money in minor units."""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import Field

from crmsim.config import Config

__all__ = ["DEFAULT_BUCKETS", "bucket_labels", "ageing", "dso", "DunningPolicy", "dunning"]

#: Days past due: current (not yet due), 1-30, 31-60, 61-90, 91-120, 121+.
DEFAULT_BUCKETS = (0, 30, 60, 90, 120)


def bucket_labels(edges=DEFAULT_BUCKETS) -> list[str]:
    labels = ["current"]
    for a, b in zip(edges, edges[1:]):
        labels.append(f"{a + 1}-{b}")
    labels.append(f"{edges[-1] + 1}+")
    return labels


def _bucket(days_past_due: np.ndarray, edges) -> np.ndarray:
    return np.searchsorted(np.asarray(edges), days_past_due, side="left")


def ageing(receivables: pd.DataFrame, *, today, edges=DEFAULT_BUCKETS, by: str | None = "customer_id") -> pd.DataFrame:
    """Open amounts by days past due (``today - due_at``) in buckets; vectorised (10M rows in a
    few seconds). ``receivables``: ``due_at``, ``open`` (or ``amount``), and ``by``."""
    col = "open" if "open" in receivables.columns else "amount"
    dpd = ((pd.Timestamp(today) - pd.to_datetime(receivables["due_at"])) / pd.Timedelta(days=1)).to_numpy()
    b = _bucket(np.ceil(dpd), edges)
    labels = bucket_labels(edges)
    amt = receivables[col].to_numpy(np.int64)
    if by is None:
        out = np.bincount(b, weights=amt, minlength=len(labels)).astype(np.int64)
        return pd.DataFrame([out], columns=labels, index=["all"])
    key, names = pd.factorize(receivables[by])
    grid = np.zeros((len(names), len(labels)), dtype=np.int64)
    np.add.at(grid, (key, b), amt)
    return pd.DataFrame(grid, index=pd.Index(names, name=by), columns=labels)


def dso(receivables_open_total: float, credit_sales: float, days: int = 90) -> float:
    """Days sales outstanding: open receivables / credit sales of the period x its days."""
    return float(receivables_open_total / credit_sales * days) if credit_sales else float("nan")


class DunningPolicy(Config):
    """Reminders ``remind_days`` before due; dunning levels after due (``levels`` days past due),
    each with a fee (minor units), and interest at ``annual_rate`` on a 365-day basis."""

    remind_days: int = Field(default=5, ge=0)
    levels: tuple[int, ...] = (7, 30, 60)
    fees: tuple[int, ...] = (0, 1500, 4000)
    annual_rate: float = Field(default=0.08, ge=0)


def dunning(receivables: pd.DataFrame, policy: DunningPolicy, *, today) -> pd.DataFrame:
    """Per open receivable: ``remind`` (due within ``remind_days``), ``level`` (0 = none),
    ``fee`` and ``interest`` (minor units, on the open amount for the days past due)."""
    t = pd.Timestamp(today)
    dpd = np.floor(((t - pd.to_datetime(receivables["due_at"])) / pd.Timedelta(days=1)).to_numpy())
    level = np.searchsorted(np.asarray(policy.levels), dpd, side="right")
    fees = np.concatenate([[0], policy.fees])[level]
    openamt = receivables["open"].to_numpy(np.int64)
    interest = np.floor(openamt * policy.annual_rate * np.maximum(dpd, 0) / 365 + 0.5).astype(np.int64)
    return receivables.assign(days_past_due=dpd, remind=(dpd < 0) & (dpd >= -policy.remind_days) & (openamt > 0),
                              level=np.where(openamt > 0, level, 0), fee=np.where(openamt > 0, fees, 0),
                              interest=np.where(openamt > 0, interest, 0))
