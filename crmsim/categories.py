"""Category names from the user's own tables: channels, sources, regions, products, teams.

crmsim has no fixed list of channel (or region, product, team) names: they are whatever the
user's export says. :func:`map_categories` is the one place where an export's raw values become
the names crmsim works with, through an optional value map (``{"Organic Search": "organic"}``).
A value the map does not name is never a crash and never silent: it is counted and listed in a
report, and either kept under its own (trimmed) name or flagged for quarantine, as the caller
chooses. Blank values are named ``BLANK`` ("(blank)") or flagged the same way.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

__all__ = ["BLANK", "REPORT_COLUMNS", "map_categories"]

#: The name given to a blank value kept under ``unmapped="keep"``.
BLANK = "(blank)"


#: Columns of the report :func:`map_categories` returns: one row per raw value the map did not
#: name (``action`` is ``kept`` or ``quarantined``); empty when every value was mapped.
REPORT_COLUMNS = ("field", "value", "rows", "first_rows", "action")


def map_categories(values: pd.Series, mapping: dict[str, str] | None = None, *,
                   unmapped: Literal["keep", "quarantine"] = "keep", field: str = "channel"
                   ) -> tuple[pd.Series, np.ndarray, pd.DataFrame]:
    """Map an export's raw category values onto names.

    Parameters
    ----------
    values : the export's column (any dtype; compared as trimmed text).
    mapping : raw value -> name. Empty or None: every value is its own name (trimmed).
    unmapped : what happens to a value the (non-empty) mapping does not name, and to blanks:
        ``keep`` it under its own name (``BLANK`` for blanks) or ``quarantine`` it.
    field : the field's name, for the report.

    Returns
    -------
    (names, quarantine mask, report): names as a ``str`` Series (NaN where quarantined); the
    mask of rows to quarantine; a report (:data:`REPORT_COLUMNS`) of every value not mapped.

    Examples
    --------
    >>> s = pd.Series(["Organic Search", "paid_search", "Organic Search", None, "fax "])
    >>> names, bad, rep = map_categories(s, {"Organic Search": "organic", "paid_search": "paid"})
    >>> names.tolist(), bad.tolist()
    (['organic', 'paid', 'organic', '(blank)', 'fax'], [False, False, False, False, False])
    >>> rep[["value", "rows", "action"]].values.tolist()
    [['fax', 1, 'kept'], ['(blank)', 1, 'kept']]
    """
    if unmapped not in ("keep", "quarantine"):
        raise ValueError(f"unmapped must be 'keep' or 'quarantine', got {unmapped!r}")
    raw = values.astype("string").str.strip()
    blank = (raw.isna() | (raw == "")).to_numpy(dtype=bool)
    mapping = {str(k).strip(): str(v) for k, v in (mapping or {}).items()}
    if mapping:
        mapped = raw.map(mapping)
        missed = ~blank & mapped.isna().to_numpy(dtype=bool)
    else:
        mapped = raw
        missed = np.zeros(len(raw), dtype=bool)
    flagged = blank | missed
    rows = []
    for what, mask in ((None, missed), (BLANK, blank)):
        if not mask.any():
            continue
        keys = raw[mask] if what is None else pd.Series(BLANK, index=raw.index[mask])
        pos = np.flatnonzero(mask)
        for v, idx in pd.Series(pos, index=keys.to_numpy()).groupby(level=0, sort=True):
            rows.append({"field": field, "value": str(v), "rows": int(idx.size),
                         "first_rows": (idx.to_numpy()[:5] + 1).tolist(),
                         "action": "kept" if unmapped == "keep" else "quarantined"})
    bad = flagged if unmapped == "quarantine" else np.zeros(len(raw), dtype=bool)
    out = np.where(blank, BLANK, mapped.fillna(raw).fillna(BLANK).to_numpy(dtype=object))
    out[bad] = None
    names = pd.Series(out, index=values.index, dtype="str")
    report = pd.DataFrame(rows, columns=list(REPORT_COLUMNS))
    return names, bad, report
