"""Units of the metrics people read, and how to show them: money in currency units with thousands
separators, shares as %, counts as whole numbers, durations with their unit. Never scientific
notation.

Each model declares the unit of every metric it returns in its
:class:`~crmsim.sim.registry.ModelSpec` (``units``, metric name or ``fnmatch`` pattern -> unit);
the declaration is also the catalogue that ``[decision]`` metric names are checked against.

=============== ============================================== =============
unit            meaning                                        possible range
=============== ============================================== =============
``count``       a number of things (mean over replications)    >= 0
``number``      a signed count or an index (e.g. net units)    any
``money``       currency units                                 any
``money_minor`` minor units (cents): shown divided by 100      any
``share``       a fraction 0..1, shown as %                    0..1
``pct``         a ratio shown as %, may pass 100% (coverage)   >= 0
``ratio``       a plain ratio (ROI, Gini)                      any
``days``        days                                           >= 0
``hours``       hours                                          >= 0
=============== ============================================== =============

A unit may end in ``>=0`` (``"money_minor>=0"``: an amount that cannot be negative, such as a
credit loss): its intervals are then kept at or above zero too.

>>> fmt(3.759e9, "money_minor", "EUR")
'EUR 37,590,000'
>>> fmt(0.0912, "share"), fmt(1830.4, "count"), fmt(34.77, "days"), fmt(-250.0, "money", "EUR", signed=True)
('9.1%', '1,830', '34.8 d', '-EUR 250')
"""

from __future__ import annotations

import fnmatch
import math
import re

__all__ = ["kind", "in_currency", "MONEY_COLUMNS", "UNITS", "MINOR_PER_MAJOR", "unit_of", "display_value", "bounds", "fmt", "fmt_ci",
           "unit_label", "known_metric"]

UNITS = ("count", "number", "money", "money_minor", "share", "pct", "ratio", "days", "hours")
#: minor units per currency unit for ``money_minor`` metrics (cents per euro or dollar)
MINOR_PER_MAJOR = 100

_BOUNDS = {"count": (0.0, math.inf), "share": (0.0, 1.0), "pct": (0.0, math.inf), "days": (0.0, math.inf),
           "hours": (0.0, math.inf)}


def kind(unit: str) -> str:
    """The unit without its ``>=0`` mark.

    Examples
    --------
    >>> kind("money_minor>=0"), kind("share")
    ('money_minor', 'share')
    """
    return unit[:-3] if unit.endswith(">=0") else unit


def unit_of(units: dict[str, str], metric: str) -> str:
    """The unit a model declares for ``metric`` (exact name first, then the first matching
    pattern); ``"number"`` when it declares none.

    Examples
    --------
    >>> units = {"sales": "money_minor>=0", "ageing.*": "money_minor>=0"}
    >>> unit_of(units, "sales"), unit_of(units, "ageing.1-30"), unit_of(units, "holds")
    ('money_minor>=0', 'money_minor>=0', 'number')
    """
    if metric in units:
        return units[metric]
    for pattern, unit in units.items():
        if fnmatch.fnmatchcase(metric, pattern):
            return unit
    return "number"


def known_metric(units: dict[str, str], metric: str) -> bool:
    """True when the model declares ``metric`` (by name or pattern).

    Examples
    --------
    >>> known_metric({"ageing.*": "money_minor"}, "ageing.121+"), known_metric({"sales": "money"}, "margin")
    (True, False)
    """
    return metric in units or any(fnmatch.fnmatchcase(metric, p) for p in units)


def display_value(x: float, unit: str) -> float:
    """A raw metric value in the unit people read (minor units -> currency units).

    Examples
    --------
    >>> display_value(123_456, "money_minor"), display_value(0.25, "share")
    (1234.56, 0.25)
    """
    return x / MINOR_PER_MAJOR if kind(unit) == "money_minor" else x


def bounds(unit: str) -> tuple[float, float]:
    """The possible range of a metric of this unit (``(-inf, inf)`` when unbounded).

    Examples
    --------
    >>> bounds("share"), bounds("money_minor>=0"), bounds("number")
    ((0.0, 1.0), (0.0, inf), (-inf, inf))
    """
    if unit.endswith(">=0"):
        return (0.0, _BOUNDS.get(kind(unit), (0.0, math.inf))[1])
    return _BOUNDS.get(unit, (-math.inf, math.inf))


def unit_label(unit: str, currency: str = "") -> str:
    """A short label for a column header: ``EUR``, ``%``, ``days``...

    Examples
    --------
    >>> unit_label("money_minor", "EUR"), unit_label("share"), unit_label("days")
    ('EUR', '%', 'days')
    """
    unit = kind(unit)
    return {"money": currency or "currency units", "money_minor": currency or "currency units",
            "share": "%", "pct": "%", "days": "days", "hours": "hours", "count": "count"}.get(unit, "")


def _num(x: float, decimals: int) -> str:
    return f"{x:,.{decimals}f}"


def fmt(x, unit: str, currency: str = "", *, signed: bool = False, compact: bool = False) -> str:
    """One value as a person reads it (``x`` raw, as the metric is recorded); ``-`` for NaN.
    ``compact`` writes large amounts as ``EUR 15.2 M`` / ``EUR 48.5 k`` (for narrow text tables).

    Examples
    --------
    >>> fmt(123_456_789, "money_minor", "EUR"), fmt(123_456_789, "money_minor", "EUR", compact=True), fmt(0.125, "share"), fmt(float("nan"), "days")
    ('EUR 1,234,568', 'EUR 1.23 M', '12.5%', '-')
    """
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    x = float(display_value(float(x), unit))
    unit = kind(unit)
    if math.isinf(x):
        return ("+" if signed and x > 0 else "") + ("inf" if x > 0 else "-inf")
    sign = "-" if x < 0 else ("+" if signed and x > 0 else "")
    a = abs(x)
    if unit in ("money", "money_minor"):
        if compact and a >= 10_000:
            body = f"{a / 1e6:,.3g} M" if a >= 1e6 else f"{a / 1e3:.3g} k"
            if "e" in body:
                body = f"{a / 1e6:,.0f} M"
        else:
            body = _num(a, 0 if a >= 100 or a == int(a) else 2)
        body = f"{currency} {body}" if currency else body
    elif unit in ("share", "pct"):
        pct = a * 100
        body = f"{_num(pct, 1 if pct >= 1 or pct == 0 else 2)}%"
        if signed:
            body = body[:-1] + " pp"   # a difference of shares is in percentage points
    elif unit in ("count", "number"):
        body = _num(a, 0 if a >= 100 or a == int(a) else 1)
    elif unit == "days":
        body = f"{_num(a, 0 if a >= 100 else 1)} d"
    elif unit == "hours":
        body = f"{_num(a, 0 if a >= 100 else 1)} h"
    else:  # ratio and anything undeclared: three significant digits, no exponent
        body = _num(a, 0) if a >= 1000 else f"{a:.3g}" if a >= 0.001 or a == 0 else _num(a, 6)
    if not any(ch in "123456789" for ch in body):   # rounds to zero: no sign
        sign = ""
    return sign + body


def fmt_ci(mean, lo, hi, unit: str, currency: str = "", *, signed: bool = False, compact: bool = False) -> str:
    """``mean [lo, hi]``, the interval left out when it is undefined (one replication).

    Examples
    --------
    >>> fmt_ci(0.25, 0.2, 0.3, "share"), fmt_ci(12.0, float("nan"), float("nan"), "days")
    ('25.0% [20.0%, 30.0%]', '12.0 d')
    """
    kw = {"signed": signed, "compact": compact}
    m = fmt(mean, unit, currency, **kw)
    if lo is None or hi is None or (isinstance(lo, float) and math.isnan(lo)) \
            or (isinstance(hi, float) and math.isnan(hi)):
        return m
    return f"{m} [{fmt(lo, unit, currency, **kw)}, {fmt(hi, unit, currency, **kw)}]"


#: columns of crmsim's tables that hold money in integer minor units (ledgers, receivables,
#: pricing, promotions, exposure); ageing tables add their bucket columns ("current", "1-30"...)
MONEY_COLUMNS = frozenset({
    "amount", "open", "paid", "fee", "interest", "allowance", "exposure", "limit", "credit_limit", "ead", "el",
    "unallocated", "written_off", "balance", "base_price", "unit_price", "list_price", "net_amount",
    "promo_discount", "free_value", "discount", "cost", "rebate", "accrued", "budget"})
_BUCKET = re.compile(r"^(current|\d+-\d+|\d+\+)$")


def in_currency(table, columns=None, *, minor_per_major: int = MINOR_PER_MAJOR):
    """A copy of ``table`` with its money columns in currency units (floats rounded to the minor
    unit) instead of the integer minor units the ledgers keep: for reading, exporting to a
    spreadsheet or printing, never for computing further (sums of floats drift; the ledgers do
    not). ``columns``: which ones (default: the integer columns named in :data:`MONEY_COLUMNS`
    and the bucket columns of an ageing table). ``attrs["money"]`` lists what was converted.

    >>> import pandas as pd
    >>> t = pd.DataFrame({"customer_id": ["C1"], "amount": [123456], "current": [100], "qty": [3]})
    >>> in_currency(t).to_dict("records")
    [{'customer_id': 'C1', 'amount': 1234.56, 'current': 1.0, 'qty': 3}]
    """
    import pandas as pd

    if columns is None:
        columns = [c for c in table.columns if isinstance(c, str) and (c in MONEY_COLUMNS or _BUCKET.match(c))
                   and pd.api.types.is_integer_dtype(table[c])]
    else:
        missing = [c for c in columns if c not in table.columns]
        if missing:
            raise KeyError(f"in_currency: column(s) {missing} not in the table; columns are {list(table.columns)}")
    out = table.copy()
    digits = max(0, round(math.log10(minor_per_major)))
    for c in columns:
        out[c] = (out[c].astype("float64") / minor_per_major).round(digits)
    out.attrs["money"] = list(columns)
    return out
