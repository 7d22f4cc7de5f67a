"""Working calendars: when reps work, in days from a Monday 00:00 (the simulations' clock) or
on timestamps (for SLA checks on real tables)."""

from __future__ import annotations

import math
from functools import cached_property

import numpy as np
import pandas as pd
from pydantic import Field, field_validator, model_validator

from crmsim.config import Config

__all__ = ["WorkCalendar", "DAYS_PER_MONTH", "SIM_START", "month_start_days"]

#: Days in a month where a monthly rate becomes a daily one (orders or occasions per month), in
#: every simulation and fit: the mean month, 365 / 12 = 30.42, to one decimal as the models
#: have always used it.
DAYS_PER_MONTH = 30.4
#: Day 0 of a simulation that has no date of its own (a Monday): the pool, field, credit and
#: funnel simulations and their exports count their days from it (the promotion simulation
#: from its ``start_date``, a field or pool run on your own tables from ``start_at``).
SIM_START = pd.Timestamp("2025-01-06")


def month_start_days(horizon_days: float) -> np.ndarray:
    """The days (integers in ``[1, horizon_days)``) on which a new month of
    :data:`DAYS_PER_MONTH` days starts: where monthly events (defaults, statements) happen.

    Examples
    --------
    >>> month_start_days(365).tolist()
    [31, 61, 92, 122, 152, 183, 213, 244, 274, 304, 335]
    """
    d = np.arange(1, int(np.ceil(horizon_days)), dtype=np.int64)
    d = d[d < horizon_days]
    return d[(d // DAYS_PER_MONTH).astype(np.int64) > ((d - 1) // DAYS_PER_MONTH).astype(np.int64)]


class WorkCalendar(Config):
    """When a rep works. Time is in days from a Monday 00:00.

    Parameters
    ----------
    hours_per_day : working hours a day available for this work (0 < h <= 24).
    start_hour : hour the working day starts.
    workdays : weekdays worked, 0 = Monday.

    Examples
    --------
    >>> cal = WorkCalendar(hours_per_day=8, start_hour=9, workdays=(0, 1, 2, 3, 4))
    >>> cal.next_open(4.9)             # Friday 21:36 -> Monday 09:00 (day 7.375)
    7.375
    >>> round(cal.advance(0.375, 10), 4)   # 10 working hours from Monday 09:00: Tuesday 11:00
    1.4583
    >>> round(cal.hours_between(0.0, 2.0), 6)   # Monday and Tuesday, 8 hours each
    16.0
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

    # --- Arrays: working time as a coordinate. ``worked(t)`` is the working time (days) from day 0
    # to ``t``; work done between two times is the difference of their coordinates, so a FIFO
    # queue of working time is solved by Lindley's recursion on them (``sim.funnel``).

    @cached_property
    def _week(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(is a workday, working time before each weekday 0..7, days to the next workday,
        the workdays) of one week."""
        _, o, c = self._spec
        isw = np.array([d in self.workdays for d in range(7)])
        before = np.concatenate([[0.0], np.cumsum(isw * (c - o))])
        nxt = np.array([next(k for k in range(1, 8) if (d + k) % 7 in self.workdays) for d in range(7)], dtype=float)
        return isw, before, nxt, np.array(self.workdays, dtype=float)

    def worked(self, t: np.ndarray) -> np.ndarray:
        """Working time (in days) from day 0 to each time in ``t``: what :meth:`advance` moves.

        >>> cal = WorkCalendar(hours_per_day=8, start_hour=9)
        >>> (cal.worked(np.array([0.5, 1.0, 7.5])) * 24).round(6).tolist()  # Mon 12:00, Tue 0:00, next Mon 12:00
        [3.0, 8.0, 43.0]
        """
        t = np.asarray(t, dtype=float)
        if self.is_always_on:
            return t.copy()
        isw, before, _, _ = self._week
        _, o, c = self._spec
        day = np.floor(t)
        wd = (day % 7).astype(np.int64)
        return (day - wd) / 7 * before[7] + before[wd] + np.where(isw[wd], np.clip(t - day - o, 0.0, c - o), 0.0)

    def from_worked(self, w: np.ndarray) -> np.ndarray:
        """The earliest time at which the working time from day 0 reaches each ``w`` (the inverse
        of :meth:`worked`; at a day's close rather than the next opening).

        >>> cal = WorkCalendar(hours_per_day=8, start_hour=9)
        >>> (cal.from_worked(np.array([3.0, 8.0, 43.0]) / 24) * 24).round(6).tolist()  # Mon 12:00, Mon 17:00, Mon 12:00
        [12.0, 17.0, 180.0]
        """
        w = np.asarray(w, dtype=float)
        if self.is_always_on:
            return w.copy()
        _, before, _, wdays = self._week
        _, o, c = self._spec
        L, nw = c - o, wdays.size
        week = np.floor(w / before[7])
        r = w - week * before[7]
        k = np.clip(r / L, 0, nw - 1).astype(np.int64)    # the working day of the week (floor)
        rem = np.clip(r - k * L, 0.0, L)
        t = week * 7 + (wdays + o)[k] + rem
        at = np.flatnonzero(rem <= 0)
        if at.size:   # exactly at a working day's start: the earliest such time is the previous working day's close
            kk, ww = k[at], week[at]
            prev = np.where(kk > 0, ww * 7 + wdays[kk - 1] + c, (ww - 1) * 7 + wdays[-1] + c)
            t[at] = np.where(w[at] > 0, prev, t[at])
        return t

    def next_open_at(self, t: np.ndarray) -> np.ndarray:
        """:meth:`next_open` of every time in ``t``.

        >>> WorkCalendar(hours_per_day=8, start_hour=9).next_open_at(np.array([0.1, 0.5, 0.9, 4.9])).tolist()
        [0.375, 0.5, 1.375, 7.375]
        """
        t = np.asarray(t, dtype=float)
        if self.is_always_on:
            return t.copy()
        isw, _, nxt, _ = self._week
        _, o, c = self._spec
        day = np.floor(t)
        wd = (day % 7).astype(np.int64)
        return np.where(isw[wd] & (day + o <= t) & (t < day + c), t,   # compared as next_open does
                        np.where(isw[wd] & (t < day + o), day + o, day + nxt[wd] + o))

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
