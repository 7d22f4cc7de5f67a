"""Working calendars: when reps work, in days from a Monday 00:00 (the simulations' clock) or
on timestamps (for SLA checks on real tables)."""

from __future__ import annotations

import math
from functools import cached_property

import numpy as np
import pandas as pd
from pydantic import Field, field_validator, model_validator

from crmsim.config import Config

__all__ = ["WorkCalendar"]


class WorkCalendar(Config):
    """When a rep works. Time is in days from a Monday 00:00.

    Parameters
    ----------
    hours_per_day : working hours a day available for this work (0 < h <= 24).
    start_hour : hour the working day starts.
    workdays : weekdays worked, 0 = Monday.
    """

    hours_per_day: float = Field(default=8.0, gt=0, le=24)
    start_hour: float = Field(default=9.0, ge=0, lt=24)
    workdays: tuple[int, ...] = (0, 1, 2, 3, 4)

    @field_validator("workdays")
    @classmethod
    def _days(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        if not v or any(d < 0 or d > 6 for d in v) or len(set(v)) != len(v):
            raise ValueError(f"workdays must be distinct weekdays 0..6 (0 = Monday), got {list(v)}")
        return tuple(sorted(v))

    @model_validator(mode="after")
    def _fits(self) -> WorkCalendar:
        if self.start_hour + self.hours_per_day > 24 + 1e-9:
            raise ValueError(
                f"start_hour + hours_per_day must be <= 24, got {self.start_hour} + {self.hours_per_day}"
            )
        return self

    @classmethod
    def always_on(cls) -> WorkCalendar:
        """Around the clock, every day (an M/M/c server)."""
        return cls(hours_per_day=24, start_hour=0, workdays=tuple(range(7)))

    @cached_property
    def is_always_on(self) -> bool:
        return self.hours_per_day >= 24 and len(self.workdays) == 7

    @cached_property
    def _spec(self) -> tuple[frozenset[int], float, float]:
        """(workdays, open, close) with open/close as fractions of a day; computed once."""
        return (frozenset(self.workdays), self.start_hour / 24,
                (self.start_hour + self.hours_per_day) / 24)

    def _open_close(self, day: int) -> tuple[float, float]:
        _, o, c = self._spec
        return day + o, day + c

    def next_open(self, t: float) -> float:
        """The earliest time >= t at which the calendar is open."""
        if self.is_always_on:
            return t
        days, o, c = self._spec
        day = math.floor(t)
        if day % 7 in days and day + o <= t < day + c:  # fast path: already open
            return t
        for d in range(day, day + 8):
            if d % 7 in days and t < d + c:
                return max(t, d + o)
        raise AssertionError("unreachable: a calendar has a working day every week")

    def advance(self, t: float, hours: float) -> float:
        """The time at which ``hours`` of work started at ``t`` is done, pausing outside hours."""
        if self.is_always_on:
            return t + hours / 24
        _, _, c = self._spec
        left = hours / 24
        t = self.next_open(t)
        while True:
            close = math.floor(t) + c
            if t + left <= close:
                return t + left
            left -= close - t
            t = self.next_open(close)

    def hours_between(self, a: float, b: float) -> float:
        """Working hours in [a, b)."""
        if b <= a:
            return 0.0
        if self.is_always_on:
            return (b - a) * 24
        total = 0.0
        for d in range(math.floor(a), math.ceil(b)):
            if d % 7 in self.workdays:
                o, c = self._open_close(d)
                total += max(0.0, min(b, c) - max(a, o))
        return total * 24

    def working_hours(self, start: pd.Series, end: pd.Series) -> pd.Series:
        """Working hours between two timestamp columns (NaN where either is missing), by the
        same rules as :meth:`hours_between`, with day 0 the Monday of the week of ``start``."""
        s, e = pd.to_datetime(start), pd.to_datetime(end)
        monday = s.dt.normalize() - pd.to_timedelta(s.dt.day_of_week, unit="D")
        a = (s - monday) / pd.Timedelta(days=1)
        b = (e - monday) / pd.Timedelta(days=1)
        out = [self.hours_between(x, y) if x == x and y == y else np.nan for x, y in zip(a, b)]
        return pd.Series(out, index=start.index, dtype=float)
