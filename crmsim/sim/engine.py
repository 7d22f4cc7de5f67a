"""The simulation engine: a SimPy environment with time in days, named random streams, a tidy
event log, scheduled daily jobs, working calendars and a warm-up period.

Simulations built on it stay thin (DESIGN.md principle 2): SimPy models time, waiting and
capacity; every decision calls a domain rule.
"""

from __future__ import annotations

import math
import mmap
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


class _Arena:
    """Small arrays copied side by side into large anonymous memory maps.

    A simulation that logs a few thousand events a day makes thousands of small blocks; in the
    heap, the memory they leave when freed stays with the process (glibc returns only the top of
    the heap), so the log's frame is allocated beside them and the peak is block + frame. Maps are
    returned to the system when the last view of them goes: the log's peak is the frame plus the
    blocks of the one column being written.
    """

    CHUNK = 1 << 20   # bytes per map
    SMALL = 1 << 17   # arrays at least this large keep their own memory

    def __init__(self) -> None:
        self._buf: np.ndarray | None = None
        self._used = 0

    def put(self, a: np.ndarray) -> np.ndarray:
        if a.nbytes >= self.SMALL or a.dtype.hasobject or a.ndim != 1:
            return a
        if self._buf is None or self._used + a.nbytes > self._buf.size:
            self._buf, self._used = np.frombuffer(mmap.mmap(-1, self.CHUNK), dtype=np.uint8), 0
        at = self._used
        self._used = at + -(-a.nbytes // 8) * 8   # every view 8-byte aligned
        view = self._buf[at:at + a.nbytes].view(a.dtype)
        view[:] = a
        return view


class EventLog:
    """A tidy, columnar event log: ``t, entity, entity_id, event, actor, value``.

    Append single events from SimPy processes with :meth:`record`, or whole vectors of events
    computed up front with :meth:`extend`. :meth:`to_frame` returns one DataFrame sorted by time
    (stable, so events at the same time keep the order they were recorded in), with ``entity``
    and ``event`` as categoricals.

    ``only``: the event names to keep (others are not stored; None = all), for runs that need
    only a few kinds of events for their metrics and return no log.

    Examples
    --------
    >>> import numpy as np
    >>> log = EventLog()
    >>> log.record(1.5, "lead", 7, "mql")
    >>> log.extend(np.array([0.5, 2.0]), "lead", np.array([8, 9]), "contacted", actor=3)
    >>> log.to_frame()[["t", "entity_id", "event", "actor"]].values.tolist()
    [[0.5, 8, 'contacted', 3], [1.5, 7, 'mql', -1], [2.0, 9, 'contacted', 3]]
    """

    def __init__(self, only: frozenset[str] | None = None) -> None:
        # a block: (t, entity, entity_id, event, actor, value); entity/event are one str per block
        # (from extend) or an object array (from record)
        self._blocks: list[tuple] = []
        self._rows: list[tuple] = []
        self.only = None if only is None else frozenset(only)
        self._arenas = [_Arena() for _ in EVENT_COLUMNS]   # one per column: each freed with its column

    def record(self, t: float, entity: str, entity_id: int, event: str, actor: int = -1,
               value: float = math.nan) -> None:
        if self.only is None or event in self.only:
            self._rows.append((t, entity, entity_id, event, actor, value))

    def extend(self, t, entity: str, entity_id, event: str, actor=-1, value=math.nan) -> None:
        """Append a vector of events of one ``entity`` kind and ``event`` name. ``t``, ``actor``
        and ``value`` may be one value for all of them (kept as one value until :meth:`to_frame`,
        so a day's thousand follow-ups cost one time, not a thousand)."""
        if self.only is not None and event not in self.only:
            return
        t = np.asarray(t, dtype=float)
        ids, act = _ints(entity_id, small=True), _ints(actor, small=True)
        value = np.asarray(value, dtype=float)
        shape = np.broadcast_shapes(t.shape, ids.shape, act.shape, value.shape)
        n = int(np.prod(shape))
        if n == 0:
            return
        self._flush_rows()
        self._blocks.append(tuple(
            (self._arenas[k].put(x) if x.shape == (n,) else np.broadcast_to(x, n)) if isinstance(x, np.ndarray) else x
            for k, x in enumerate((t, entity, ids, event, act, value))))

    def _flush_rows(self) -> None:
        if self._rows:
            t, ent, eid, ev, actor, value = zip(*self._rows)
            self._blocks.append(tuple(self._arenas[k].put(x) for k, x in enumerate((
                np.asarray(t, dtype=float), np.asarray(ent, dtype=object),
                np.asarray(eid, dtype=np.int64), np.asarray(ev, dtype=object),
                np.asarray(actor, dtype=np.int64), np.asarray(value, dtype=float),
            ))))
            self._rows = []

    def __len__(self) -> int:
        return sum(b[0].size for b in self._blocks) + len(self._rows)

    @staticmethod
    def _categorical(parts: list, sizes: list[int], dest: np.ndarray | None) -> pd.Categorical:
        """The parts' names as one categorical, each part's codes written to its places ``dest``
        (None: in the order given)."""
        def names(p) -> list:
            return [p] if isinstance(p, str) else list(p.categories) if isinstance(p, pd.Categorical) \
                else set(p.tolist())

        cats = sorted({x for p in parts for x in names(p)})
        index = {c: k for k, c in enumerate(cats)}
        small = np.int8 if len(cats) < 128 else np.int32

        def codes_of(p, n: int) -> np.ndarray:
            if isinstance(p, str):
                return np.full(n, index[p], dtype=small)
            if isinstance(p, pd.Categorical):   # the log's own earlier frame
                return np.array([index[c] for c in p.categories], dtype=small)[p.codes]
            return np.fromiter((index[x] for x in p), dtype=small, count=n)

        codes = np.concatenate([codes_of(p, n) for p, n in zip(parts, sizes)])
        if dest is not None:
            placed = np.empty_like(codes)
            placed[dest] = codes
            codes = placed
        return pd.Categorical.from_codes(codes, categories=cats)

    def to_frame(self) -> pd.DataFrame:
        """The events sorted by time, stably (events at one time keep the order they were recorded
        in). ``entity_id`` and ``actor`` are 32-bit integers when every value fits (else 64-bit)."""
        self._flush_rows()
        if not self._blocks:
            return pd.DataFrame({c: pd.Series(dtype=d) for c, d in zip(
                EVENT_COLUMNS, ["float64", "category", "int64", "category", "int64", "float64"])})
        parts = [list(p) for p in zip(*self._blocks)]   # column by column, freed as each is built
        self._blocks = []
        self._arenas = [_Arena() for _ in EVENT_COLUMNS]
        sizes = [p.size for p in parts[0]]
        t = np.concatenate(parts[0])
        parts[0] = None
        # simulations mostly record in time order: then there is nothing to sort
        order = None if (t[1:] >= t[:-1]).all() else np.argsort(t, kind="stable")
        dest = None
        if order is not None:
            t = t[order]
            # where each recorded event goes: every block is written straight to its places (a
            # block of one time or value for all its events is never spelled out)
            dest = np.empty(order.size, dtype=np.int32 if order.size < 2**31 else np.int64)
            dest[order] = np.arange(order.size, dtype=dest.dtype)
            del order
        cuts = np.cumsum([0, *sizes])

        def column(k: int, dtype=None) -> np.ndarray:
            if dest is None:
                x = np.concatenate(parts[k])
                if dtype is not None and x.dtype != dtype:
                    x = x.astype(dtype)
            else:
                x = np.empty(dest.size, dtype=dtype or np.result_type(*parts[k]))
                for b, p in enumerate(parts[k]):
                    x[dest[cuts[b]:cuts[b + 1]]] = p
            parts[k] = None
            return x

        def categorical(k: int) -> pd.Categorical:
            x = self._categorical(parts[k], sizes, dest)
            parts[k] = None
            return x

        ids, actors = (_narrow(parts[k]) for k in (2, 4))
        cols = {"t": t, "entity": categorical(1), "entity_id": column(2, ids),
                "event": categorical(3), "actor": column(4, actors), "value": column(5)}
        frame = pd.DataFrame(cols, copy=False)
        # the frame's columns become the log's one block: the recorded blocks are freed, and
        # events recorded later are appended to it
        self._blocks = [tuple(frame[c].array if c in ("entity", "event") else frame[c].to_numpy()
                              for c in EVENT_COLUMNS)]
        return frame


def _ints(x, small: bool = False) -> np.ndarray:
    """Ids as an integer array: int64, or with ``small`` int32 when every id fits (the log keeps
    4 bytes per id, not 8)."""
    a = np.asarray(x)
    if a.dtype.kind not in "iu":
        a = a.astype(np.int64)
    if small and a.dtype.itemsize > 4 and (a.size == 0 or (-2**31 <= a.min() and a.max() < 2**31)):
        a = a.astype(np.int32)
    return a


def _narrow(parts: list[np.ndarray]) -> type:
    """int32 when every value of ``parts`` fits in it, else int64."""
    lo = min((int(p.min()) for p in parts if p.size), default=0)
    hi = max((int(p.max()) for p in parts if p.size), default=0)
    return np.int32 if -2**31 <= lo and hi < 2**31 else np.int64


class World:
    """A SimPy environment (time in days) with streams, an event log and daily jobs.

    Parameters
    ----------
    seed : the replication's SeedSequence (or int).
    horizon_days : the run stops at this time.
    warmup_days : events before this time are simulated but excluded from metrics.

    Examples
    --------
    >>> w = World(seed=1, horizon_days=3)
    >>> days = []
    >>> w.every_day(lambda now: days.append(now), at_hour=12)
    >>> w.run()
    >>> days
    [0.5, 1.5, 2.5]
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
    customer...), its tidy event log and its metrics.

    Examples
    --------
    >>> from crmsim.sim.registry import get_model
    >>> r = get_model("credit").simulate(get_model("credit").config(customers=20), 1, 30)
    >>> type(r).__name__, len(r.table) > 0, "sales" in r.metrics
    ('CreditResult', True, True)
    """

    table: pd.DataFrame
    events: pd.DataFrame
    metrics: dict[str, float]
