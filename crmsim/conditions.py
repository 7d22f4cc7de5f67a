"""Rule conditions as data: ``{field = "channel", op = "in", value = ["search", "ads"]}``.

A condition is evaluated vectorised over a DataFrame and returns a boolean Series. Strings are
never evaluated as code (DESIGN.md principle 5).
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import field_validator, model_validator

from crmsim.config import Config

__all__ = ["Condition", "evaluate_all"]

Op = Literal["eq", "ne", "in", "not_in", "gt", "ge", "lt", "le", "between", "is_null", "not_null",
             "contains"]
#: Symbols accepted for the operators (``op = ">="`` is ``op = "ge"``).
OP_ALIASES = {"==": "eq", "=": "eq", "!=": "ne", "<>": "ne", ">": "gt", ">=": "ge", "<": "lt", "<=": "le"}


class Condition(Config):
    """One test on one column.

    Examples
    --------
    >>> import pandas as pd
    >>> c = Condition(field="channel", op="in", value=["search", "ads"])
    >>> c.evaluate(pd.DataFrame({"channel": ["ads", "email"]})).tolist()
    [True, False]
    >>> Condition(field="n", op=">=", value=2).op
    'ge'
    """

    field: str
    op: Op
    value: Any = None

    @field_validator("op", mode="before")
    @classmethod
    def _alias(cls, v):
        return OP_ALIASES.get(v, v)

    @model_validator(mode="after")
    def _check_value(self) -> Condition:
        if self.op in ("in", "not_in") and not isinstance(self.value, (list, tuple)):
            raise ValueError(f"op '{self.op}' needs a list value, got {self.value!r}")
        if self.op == "between" and not (
            isinstance(self.value, (list, tuple)) and len(self.value) == 2
        ):
            raise ValueError(f"op 'between' needs a [low, high] value, got {self.value!r}")
        if self.op not in ("is_null", "not_null", "in", "not_in", "between") and self.value is None:
            raise ValueError(f"op '{self.op}' needs a value")
        return self

    def evaluate(self, df: pd.DataFrame) -> pd.Series:
        """Boolean Series, True where the row meets the condition (missing values never match)."""
        if self.field not in df.columns:
            raise KeyError(
                f"condition on field '{self.field}': no such column; columns are {list(df.columns)}"
            )
        try:
            return self._evaluate(df[self.field])
        except TypeError:   # a text column compared with a number (or the reverse)
            raise TypeError(f"condition on field '{self.field}' ({self.op} {self.value!r}): the column holds "
                            f"{df[self.field].dtype} values that cannot be compared with it (e.g. "
                            f"{df[self.field].dropna().astype(str).head(3).tolist()}); convert the column "
                            "to numbers first") from None

    def _evaluate(self, col: pd.Series) -> pd.Series:
        op, v = self.op, self.value
        if op == "is_null":
            out = col.isna()
        elif op == "not_null":
            out = col.notna()
        elif op == "eq":
            out = col == v
        elif op == "ne":
            out = (col != v) & col.notna()
        elif op in ("in", "not_in") and isinstance(col.dtype, pd.CategoricalDtype):
            # on the categories, then spread by code (a missing value, code -1, never matches)
            hit = col.cat.categories.isin(list(v))
            lut = np.append(hit if op == "in" else ~hit, False)
            return pd.Series(lut[col.cat.codes.to_numpy()], index=col.index)
        elif op == "in":
            out = col.isin(list(v))
        elif op == "not_in":
            out = ~col.isin(list(v)) & col.notna()
        elif op == "gt":
            out = col > v
        elif op == "ge":
            out = col >= v
        elif op == "lt":
            out = col < v
        elif op == "le":
            out = col <= v
        elif op == "contains":  # substring of text, or an element of a comma-separated tag list
            text = col.astype("string")
            out = text.str.contains(str(v), regex=False)
        else:  # between, inclusive
            out = (col >= v[0]) & (col <= v[1])
        return out if out.dtype == bool else out.fillna(False).astype(bool)


def evaluate_all(conditions: tuple[Condition, ...] | list[Condition], df: pd.DataFrame) -> pd.Series:
    """AND of all conditions (True for every row when there are none).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"grade": ["A", "B", "A"], "revenue": [10, 50, 90]})
    >>> evaluate_all([Condition(field="grade", op="eq", value="A"), Condition(field="revenue", op="ge", value=50)], df).tolist()
    [False, False, True]
    >>> evaluate_all([], df).tolist()
    [True, True, True]
    """
    out = np.ones(len(df), dtype=bool)
    for c in conditions:
        out &= c.evaluate(df).to_numpy()
    return pd.Series(out, index=df.index)
