"""Distributions declared in scenario files, each validated, each sampled from a passed Generator.

```toml
contact_hours = { kind = "lognormal", mean = 0.75, cv = 0.6 }
cycle_days    = { kind = "gamma", shape = 2.0, scale = 20.0 }
deal_amount   = { kind = "empirical", csv = "deals.csv", column = "amount" }
```
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
import pandas as pd
from pydantic import Field, ValidationInfo, field_validator, model_validator

from crmsim.config import Config

__all__ = [
    "Constant",
    "Exponential",
    "Gamma",
    "LogNormal",
    "Triangular",
    "Empirical",
    "Distribution",
]


class Constant(Config):
    """One value every time. Every distribution in crmsim draws a duration, an amount or a count,
    so the value must be >= 0.

    Examples
    --------
    >>> import numpy as np
    >>> Constant(value=3).sample(np.random.default_rng(0), 2).tolist(), Constant(value=3).mean()
    ([3.0, 3.0], 3.0)
    """

    kind: Literal["constant"] = "constant"
    value: float = Field(ge=0)

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return np.full(size, float(self.value))

    def mean(self) -> float:
        return float(self.value)


class Exponential(Config):
    """Exponential with the given ``mean`` (memoryless: waiting times, delays past due).

    Examples
    --------
    >>> import numpy as np
    >>> d = Exponential(mean=4.0)
    >>> round(float(d.sample(np.random.default_rng(0), 100_000).mean()), 1), d.mean()
    (4.0, 4.0)
    """

    kind: Literal["exponential"] = "exponential"
    mean_: float = Field(alias="mean", gt=0)

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return rng.exponential(self.mean_, size)

    def mean(self) -> float:
        return self.mean_


class Gamma(Config):
    """Gamma with ``shape`` k and ``scale`` theta (mean k theta; k = 1 is the exponential).

    Examples
    --------
    >>> import numpy as np
    >>> d = Gamma(shape=2.0, scale=1.5)
    >>> d.mean(), round(float(d.sample(np.random.default_rng(0), 100_000).mean()), 1)
    (3.0, 3.0)
    """

    kind: Literal["gamma"] = "gamma"
    shape: float = Field(gt=0)
    scale: float = Field(gt=0)

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return rng.gamma(self.shape, self.scale, size)

    def mean(self) -> float:
        return self.shape * self.scale


class LogNormal(Config):
    """Lognormal given its own ``mean`` and coefficient of variation ``cv`` (std / mean).

    Examples
    --------
    >>> import numpy as np
    >>> x = LogNormal(mean=10.0, cv=0.5).sample(np.random.default_rng(0), 200_000)
    >>> round(float(x.mean()), 1), round(float(x.std() / x.mean()), 2)
    (10.0, 0.5)
    """

    kind: Literal["lognormal"] = "lognormal"
    mean_: float = Field(alias="mean", gt=0)
    cv: float = Field(gt=0)

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        s2 = np.log1p(self.cv**2)
        return rng.lognormal(np.log(self.mean_) - s2 / 2, np.sqrt(s2), size)

    def mean(self) -> float:
        return self.mean_


class Triangular(Config):
    """Triangular between ``low`` and ``high`` with its peak at ``mode`` (an expert's guess:
    least, likeliest, most).

    Examples
    --------
    >>> Triangular(low=1, mode=2, high=6).mean()
    3.0
    """

    kind: Literal["triangular"] = "triangular"
    low: float
    mode: float
    high: float

    @model_validator(mode="after")
    def _order(self) -> Triangular:
        if not (self.low <= self.mode <= self.high and self.low < self.high):
            raise ValueError(
                f"triangular needs low <= mode <= high and low < high, got "
                f"low={self.low}, mode={self.mode}, high={self.high}"
            )
        return self

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return rng.triangular(self.low, self.mode, self.high, size)

    def mean(self) -> float:
        return (self.low + self.mode + self.high) / 3


class Empirical(Config):
    """Resample observed values: a list (``values``) or a table's column (``csv`` + ``column``; a
    CSV, Parquet or Excel file, ``book.xlsx#Sheet`` for one sheet of several).

    A relative ``csv`` path is resolved against the scenario file's folder.

    Examples
    --------
    >>> import numpy as np
    >>> d = Empirical(values=[12, 30, 31, 45, 90])
    >>> d.mean(), sorted(set(d.sample(np.random.default_rng(0), 50).tolist())) <= [12, 30, 31, 45, 90]
    (41.6, True)
    """

    kind: Literal["empirical"] = "empirical"
    values: tuple[float, ...] | None = None
    csv: str | None = None
    column: str | None = None

    @field_validator("csv")
    @classmethod
    def _resolve(cls, v: str | None, info: ValidationInfo) -> str | None:
        if v is None:
            return v
        from crmsim.tables import split_sheet

        base = (info.context or {}).get("base_dir")
        p = Path(v)
        if not p.is_absolute() and base is not None:
            p = Path(base) / p
        f, sheet = split_sheet(p)
        if not f.is_file():
            raise ValueError(f"empirical csv file not found: {f}")
        return str(f) + (f"#{sheet}" if sheet is not None else "")

    @model_validator(mode="after")
    def _source(self) -> Empirical:
        if (self.values is None) == (self.csv is None):
            raise ValueError("empirical needs exactly one of 'values' or 'csv' (+ 'column')")
        if self.values is not None and len(self.values) == 0:
            raise ValueError("empirical 'values' is empty")
        if self.csv is not None:
            if not self.column:
                raise ValueError("empirical 'csv' needs 'column'")
            data = self.data  # loads and checks
            if data.size == 0:
                raise ValueError(f"empirical column '{self.column}' in {self.csv} has no values")
        bad = ~np.isfinite(self.data) | (self.data < 0)
        if bad.any():
            where = f"column '{self.column}' in {self.csv}" if self.csv else "values"
            raise ValueError(f"empirical {where}: {int(bad.sum())} value(s) are negative or not finite "
                             f"(first {self.data[bad][:3].tolist()}); durations and amounts are >= 0")
        return self

    @cached_property
    def data(self) -> np.ndarray:
        if self.values is not None:
            return np.asarray(self.values, dtype=float)
        from crmsim.tables import read_table

        try:
            df = read_table(self.csv, source="empirical distribution")   # CSV, Parquet or book.xlsx#Sheet
        except FileNotFoundError as e:
            raise ValueError(str(e)) from None
        if self.column not in df.columns:
            raise ValueError(
                f"empirical: column '{self.column}' not in {self.csv}; columns are {list(df.columns)}"
            )
        col = pd.to_numeric(df[self.column], errors="coerce")
        bad = col.isna() & df[self.column].notna() & (df[self.column].astype(str).str.strip() != "")
        if bad.any():
            rows = (np.flatnonzero(bad.to_numpy()) + 2).tolist()[:10]
            raise ValueError(
                f"empirical: column '{self.column}' in {self.csv} has non-numeric values at lines {rows}"
            )
        return col.dropna().to_numpy(dtype=float)

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return rng.choice(self.data, size=size, replace=True)

    def mean(self) -> float:
        return float(self.data.mean())


Distribution = Annotated[
    Constant | Exponential | Gamma | LogNormal | Triangular | Empirical,
    Field(discriminator="kind"),
]
