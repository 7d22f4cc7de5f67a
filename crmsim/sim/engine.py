"""The simulation engine: a SimPy environment with time in days, named random streams, a tidy
event log, scheduled daily jobs, working calendars and a warm-up period.

Simulations built on it stay thin (DESIGN.md principle 2): SimPy models time, waiting and
capacity; every decision calls a domain rule.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import simpy

from crmsim.calendar import WorkCalendar

__all__ = ["Streams", "EventLog", "WorkCalendar", "World", "Result", "EVENT_COLUMNS"]

EVENT_COLUMNS = ("t", "entity", "entity_id", "event", "actor", "value")


class Streams:
    """Named, independent random streams derived from one replication seed.

    ``streams.rng("arrivals.ads")`` is the same Generator state for the same replication seed and
    name, whatever other streams exist or in which order they were asked for. That is what makes
    variants share common random numbers: a variant that changes headcount draws the same arrivals.

    Examples
    --------
    >>> s = Streams(np.random.SeedSequence(7))
    >>> a = s.rng("arrivals").random()
    >>> a == Streams(np.random.SeedSequence(7)).rng("arrivals").random()
    True
    """

    def __init__(self, seed: np.random.SeedSequence | int):
        self.root = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)

    def rng(self, name: str) -> np.random.Generator:
        key = zlib.crc32(name.encode("utf-8"))
        ss = np.random.SeedSequence(self.root.entropy, spawn_key=(*self.root.spawn_key, key))
        return np.random.default_rng(ss)


class EventLog:
    """A tidy, columnar event log: ``t, entity, entity_id, event, actor, value``.

    Append single events from SimPy processes with :meth:`record`, or whole vectors of events
    computed up front with :meth:`extend`. :meth:`to_frame` returns one DataFrame sorted by time
    (stable, so events at the same time keep the order they were recorded in), with ``entity``
    and ``event`` as categoricals.
    """

    def __init__(self) -> None:
        # a block: (t, entity, entity_id, event, actor, value); entity/event are one str per block
        # (from extend) or an object array (from record)
        self._blocks: list[tuple] = []
        self._rows: list[tuple] = []

    def record(self, t: float, entity: str, entity_id: int, event: str, actor: int = -1,
               value: float = math.nan) -> None:
        self._rows.append((t, entity, entity_id, event, actor, value))

    def extend(self, t, entity: str, entity_id, event: str, actor=-1, value=math.nan) -> None:
        t = np.asarray(t, dtype=float)
        n = t.size
        if n == 0:
            return
        self._flush_rows()
        self._blocks.append((
            t, entity, np.broadcast_to(np.asarray(entity_id, dtype=np.int64), n), event,
            np.broadcast_to(np.asarray(actor, dtype=np.int64), n),
            np.broadcast_to(np.asarray(value, dtype=float), n),
        ))

    def _flush_rows(self) -> None:
        if self._rows:
            t, ent, eid, ev, actor, value = zip(*self._rows)
            self._blocks.append((
                np.asarray(t, dtype=float), np.asarray(ent, dtype=object),
                np.asarray(eid, dtype=np.int64), np.asarray(ev, dtype=object),
                np.asarray(actor, dtype=np.int64), np.asarray(value, dtype=float),
            ))
            self._rows = []

    def __len__(self) -> int:
        return sum(b[0].size for b in self._blocks) + len(self._rows)

    @staticmethod
    def _categorical(parts: list, sizes: list[int], order: np.ndarray) -> pd.Categorical:
        cats = sorted({x for p in parts for x in ([p] if isinstance(p, str) else set(p.tolist()))})
        index = {c: k for k, c in enumerate(cats)}
        codes = [np.full(n, index[p], dtype=np.int32) if isinstance(p, str)
                 else np.fromiter((index[x] for x in p), dtype=np.int32, count=n)
                 for p, n in zip(parts, sizes)]
        return pd.Categorical.from_codes(np.concatenate(codes)[order], categories=cats)

    def to_frame(self) -> pd.DataFrame:
        self._flush_rows()
        if not self._blocks:
            return pd.DataFrame({c: pd.Series(dtype=d) for c, d in zip(
                EVENT_COLUMNS, ["float64", "category", "int64", "category", "int64", "float64"])})
        t = np.concatenate([b[0] for b in self._blocks])
        order = np.argsort(t, kind="stable")
        sizes = [b[0].size for b in self._blocks]
        cols = {
            "t": t[order],
            "entity": self._categorical([b[1] for b in self._blocks], sizes, order),
            "entity_id": np.concatenate([b[2] for b in self._blocks])[order],
            "event": self._categorical([b[3] for b in self._blocks], sizes, order),
            "actor": np.concatenate([b[4] for b in self._blocks])[order],
            "value": np.concatenate([b[5] for b in self._blocks])[order],
        }
        return pd.DataFrame(cols)


class World:
    """A SimPy environment (time in days) with streams, an event log and daily jobs.

    Parameters
    ----------
    seed : the replication's SeedSequence (or int).
    horizon_days : the run stops at this time.
    warmup_days : events before this time are simulated but excluded from metrics.
    """

    def __init__(self, seed, horizon_days: float, warmup_days: float = 0.0):
        if horizon_days <= 0:
            raise ValueError(f"horizon_days(={horizon_days}) must be > 0.")
        if not 0 <= warmup_days < horizon_days:
            raise ValueError(f"warmup_days(={warmup_days}) must be in [0, horizon_days).")
        self.env = simpy.Environment()
        self.streams = Streams(seed)
        self.log = EventLog()
        self.horizon = float(horizon_days)
        self.warmup = float(warmup_days)

    @property
    def now(self) -> float:
        return self.env.now

    def every_day(self, job: Callable[[float], None], at_hour: float = 0.0) -> None:
        """Run ``job(now)`` every day at ``at_hour`` (a CRM's nightly batch), until the horizon."""
        if not 0 <= at_hour < 24:
            raise ValueError(f"at_hour(={at_hour}) must be in [0, 24).")

        def proc():
            yield self.env.timeout(at_hour / 24)
            while True:
                job(self.env.now)
                yield self.env.timeout(1.0)

        self.env.process(proc())

    def run(self) -> None:
        self.env.run(until=self.horizon)


@dataclass
class Result:
    """Output of one replication of any simulation: its entity table (one row per lead,
    customer...), its tidy event log and its metrics."""

    table: pd.DataFrame
    events: pd.DataFrame
    metrics: dict[str, float]
