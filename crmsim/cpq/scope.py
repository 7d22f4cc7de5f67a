"""Which order lines a promotion or rebate applies to: tuple fields on the rule (``product_id =
("a", "b")``), an empty tuple matching every line. One function, used by promotions and rebates."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

__all__ = ["scope_mask", "check_window"]


def scope_mask(rule, lines: Mapping, fields: Iterable[str], n: int, *, missing: str = "never",
               what: str = "rule") -> np.ndarray:
    """Boolean mask of the ``n`` lines (a DataFrame or a dict of arrays) meeting every scope
    field the rule sets. A field the lines lack matches no line (``missing="never"``) or raises
    naming the rule and field (``missing="raise"``).

    >>> from types import SimpleNamespace
    >>> r = SimpleNamespace(product_id=("a",), category=())
    >>> scope_mask(r, {"product_id": np.array(["a", "b"])}, ["product_id", "category"], 2).tolist()
    [True, False]
    """
    ok = np.ones(n, dtype=bool)
    for f in fields:
        vals = getattr(rule, f)
        if not vals:
            continue
        if f not in lines:
            if missing == "raise":
                raise KeyError(f"{what}: conditions on '{f}', which the order lines lack")
            return np.zeros(n, dtype=bool)
        ok &= np.isin(np.asarray(lines[f]), list(vals))
    return ok


def check_window(valid_from: str | None, valid_to: str | None, what: str) -> None:
    """A validity window's dates must be dates (ISO ``YYYY-MM-DD``), and ``valid_to`` (inclusive)
    not before ``valid_from``: raise ``ValueError`` naming the rule otherwise.

    >>> check_window("2025-01-01", "2025-13-45", "rule r1")
    Traceback (most recent call last):
    ...
    ValueError: rule r1: valid_to '2025-13-45' is not a date (YYYY-MM-DD)
    """
    import pandas as pd

    days = {}
    for name, v in (("valid_from", valid_from), ("valid_to", valid_to)):
        if v is None:
            continue
        try:
            days[name] = pd.Timestamp(v)
        except (ValueError, TypeError):
            raise ValueError(f"{what}: {name} {v!r} is not a date (YYYY-MM-DD)") from None
    if len(days) == 2 and days["valid_to"] < days["valid_from"]:
        raise ValueError(f"{what}: valid_to {valid_to} is before valid_from {valid_from}")
