"""Field-visit simulation (FEATURES SFE): reps execute their visit plans day by day.

Each working day a rep takes the day's planned visits (some cancelled, some ad-hoc visits added),
orders them (the route planner of :mod:`crmsim.field.routes`, or the plan's order), drives
(travel time from distance and speed, with noise), waits for a customer's opening time when early,
spends a drawn time on site, and stops when the day ends: the visits left are missed. A visit
creates a follow-up to-do with some probability, done at the next visit to that customer; or,
with ``todo_rules``, the visit form's yes/no fields are drawn (``form_fields``: the chance each is
yes) and the :class:`crmsim.field.checkin.TodoRule` s that the form meets create the to-dos, each
due after its own ``due_days``.

Metrics: plan adherence (planned visits done), coverage by grade (visits done / visits the
cadence requires), visits per rep-day, travel share of the working time, to-dos done on time.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from crmsim.calendar import SIM_START
from crmsim.conditions import evaluate_all
from crmsim.config import Config
from crmsim.errors import InputError
from crmsim.field.checkin import TodoRule
from crmsim.field.plans import Cadence, plan_visits
from crmsim.field.routes import distance_matrix, plan_route
from crmsim.sim.distributions import Distribution, LogNormal
from crmsim.sim.engine import Result, World
from crmsim.sim.registry import ModelSpec, register

__all__ = ["FieldConfig", "FieldCustomers", "FieldReps", "FieldResult", "VisitType", "simulate_field", "field_world",
           "given_world"]

_T0 = SIM_START  # a Monday


class VisitType(Config):
    """A kind of visit (a routine call, an audit, a new listing...): its ``share`` of visits and the
    time it takes on site.

    Examples
    --------
    >>> VisitType(share=0.1, service_minutes={"kind": "lognormal", "mean": 45, "cv": 0.3}).service_minutes.mean()
    45.0
    """

    share: float = Field(gt=0)
    service_minutes: Distribution


class FieldCustomers(Config):
    """Stores in a city: position, grade, opening hours. Illustrative defaults (Shanghai).

    ``visit_types`` (optional): each visit is of one type, drawn with the types' shares, and takes
    that type's ``service_minutes``; without types every visit takes ``service_minutes``.

    Examples
    --------
    >>> c = FieldCustomers(count=40, visit_types={"routine": {"share": 0.8, "service_minutes": {"kind": "constant", "value": 20}},
    ...                                        "audit": {"share": 0.2, "service_minutes": {"kind": "constant", "value": 60}}})
    >>> sorted(c.visit_types), c.visit_types["audit"].service_minutes.mean()
    (['audit', 'routine'], 60.0)
    """

    count: int = Field(ge=1)
    center: tuple[float, float] = (31.2304, 121.4737)
    radius_km: float = Field(default=12.0, gt=0)
    grade_shares: dict[str, float] = {"A": 0.1, "B": 0.25, "C": 0.4, "D": 0.25}
    open_minute: int = Field(default=540, ge=0, lt=1440)      # 09:00
    close_minute: int = Field(default=1080, gt=0, le=1440)    # 18:00
    service_minutes: Distribution = LogNormal(mean=25.0, cv=0.4)
    visit_types: dict[str, VisitType] = {}
    #: shorthand without todo_rules: the share of visits that create a "follow-up" to-do, due
    #: todo_due_days later (run as one form field and one TodoRule, see todo_model)
    todo_share: float = Field(default=0.3, ge=0, le=1)
    todo_due_days: int = Field(default=14, ge=1)
    #: yes/no fields of the visit form and the chance each is yes (read by ``todo_rules``)
    form_fields: dict[str, float] = {}
    todo_rules: tuple[TodoRule, ...] = ()

    @model_validator(mode="after")
    def _form(self) -> FieldCustomers:
        if any(not 0 <= p <= 1 for p in self.form_fields.values()):
            raise ValueError(f"form_fields are chances in [0, 1], got {self.form_fields}")
        if len(self.form_fields) > 12:
            raise ValueError(f"at most 12 form_fields, got {len(self.form_fields)}")
        for r in self.todo_rules:
            unknown = sorted({c.field for c in r.when} - set(self.form_fields))
            if unknown:
                raise ValueError(f"todo rule '{r.title}' reads {unknown}, not among form_fields {sorted(self.form_fields)}")
        return self

    def service_mean(self) -> float:
        """Mean minutes on site over all visits (the types' means weighted by their shares)."""
        if not self.visit_types:
            return self.service_minutes.mean()
        w = np.array([t.share for t in self.visit_types.values()])
        return float(np.dot(w / w.sum(), [t.service_minutes.mean() for t in self.visit_types.values()]))

    def todo_model(self) -> tuple[dict[str, float], tuple[TodoRule, ...], bool]:
        """The visit form and the to-do rules the simulation runs: ``form_fields`` and
        ``todo_rules`` as given, or, without rules, the shorthand ``todo_share`` written as one
        form field (``follow_up_needed``, yes with that chance) and one
        :class:`~crmsim.field.checkin.TodoRule` ("follow-up", due ``todo_due_days`` later): one
        mechanism either way. The third value says the shorthand was used."""
        if self.todo_rules:
            return dict(self.form_fields), tuple(self.todo_rules), False
        if not self.todo_share:
            return {}, (), True
        from crmsim.conditions import Condition

        rule = TodoRule(title="follow-up", when=(Condition(field="follow_up_needed", op="eq", value=True),),
                        due_days=self.todo_due_days)
        return {"follow_up_needed": self.todo_share}, (rule,), True

    def todo_table(self) -> list[list[tuple[str, int]]]:
        """For every combination of form answers (bit k = field k is yes), the to-dos the rules
        create: the rules are evaluated once on all combinations, then looked up per visit."""
        fields, rules, _ = self.todo_model()
        names = list(fields)
        combos = np.arange(2 ** len(names))
        forms = pd.DataFrame({f: (combos >> k & 1).astype(bool) for k, f in enumerate(names)})
        hits = [evaluate_all(r.when, forms).to_numpy() for r in rules]
        return [[(r.title, r.due_days) for r, h in zip(rules, hits) if h[i]] for i in combos]


class FieldReps(Config):
    count: int = Field(ge=1)
    day_start: int = Field(default=510, ge=0, lt=1440)       # 08:30
    day_end: int = Field(default=1050, gt=0, le=1440)        # 17:30
    speed_kmh: float = Field(default=22.0, gt=0)
    travel_noise_cv: float = Field(default=0.3, ge=0)
    road_factor: float = Field(default=1.35, ge=1)           # road distance / straight line
    #: fixed minutes of every trip on top of the driving (parking, walking in)
    trip_minutes: float = Field(default=0.0, ge=0)


class FieldConfig(Config):
    customers: FieldCustomers
    reps: FieldReps
    cadence: Cadence = Cadence()
    routing: bool = True
    cancellation_share: float = Field(default=0.08, ge=0, le=1)
    adhoc_per_day: float = Field(default=0.5, ge=0)


class FieldResult(Result):
    @property
    def visits(self) -> pd.DataFrame:
        return self.table


def field_world(cfg: FieldConfig, seed) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Customers (``customer_id, lat, lon, grade, owner_id``) and reps (``rep_id, lat, lon``):
    stores uniform in a disc, each owned by the rep whose office (spread on a ring) is nearest.

    Examples
    --------
    >>> stores, reps = field_world(FieldConfig(customers={"count": 30}, reps={"count": 3}), seed=1)
    >>> stores.columns.tolist(), len(reps), stores["owner_id"].nunique()
    (['customer_id', 'lat', 'lon', 'grade', 'owner_id'], 3, 3)
    """
    rng = np.random.default_rng(seed)
    c = cfg.customers
    n, R = c.count, cfg.reps.count
    r = c.radius_km * np.sqrt(rng.random(n))
    a = rng.random(n) * 2 * np.pi
    lat = c.center[0] + r * np.cos(a) / 111.2
    lon = c.center[1] + r * np.sin(a) / (111.2 * np.cos(np.radians(c.center[0])))
    ra = np.arange(R) * 2 * np.pi / R
    rlat = c.center[0] + c.radius_km * 0.5 * np.cos(ra) / 111.2
    rlon = c.center[1] + c.radius_km * 0.5 * np.sin(ra) / (111.2 * np.cos(np.radians(c.center[0])))
    grades = list(c.grade_shares)
    g = rng.choice(len(grades), n, p=np.array(list(c.grade_shares.values())) / sum(c.grade_shares.values()))
    d = (lat[:, None] - rlat[None, :]) ** 2 + ((lon[:, None] - rlon[None, :]) * np.cos(np.radians(c.center[0]))) ** 2
    owner = d.argmin(axis=1)
    reps = pd.DataFrame({"rep_id": [f"R{i:02d}" for i in range(R)], "lat": rlat, "lon": rlon})
    cust = pd.DataFrame({"customer_id": [f"S{i:05d}" for i in range(n)], "lat": lat, "lon": lon,
                         "grade": np.array(grades)[g], "owner_id": reps["rep_id"].to_numpy()[owner]})
    return cust, reps


def given_world(stores: pd.DataFrame, rep_homes: pd.DataFrame | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The simulation's world from your own stores (``customer_id, lat, lon, grade, owner_id``, and
    optionally ``last_visit``, the date of each store's last visit) and the reps' homes
    (``rep_id, lat, lon``; default: the centre of each rep's stores). Stores without an owner are
    not visited (as :func:`~crmsim.field.plans.plan_visits` leaves them).

    Examples
    --------
    >>> import pandas as pd
    >>> stores = pd.DataFrame({"customer_id": ["s1", "s2", "s3"], "lat": [31.23, 31.24, 31.20], "lon": [121.47, 121.50, 121.45],
    ...                        "grade": ["A", "B", "A"], "owner_id": ["r1", "r1", None]})
    >>> s, homes = given_world(stores)
    >>> len(s), homes[["rep_id"]].values.tolist()
    (3, [['r1']])
    """
    need = [c for c in ("customer_id", "lat", "lon", "grade", "owner_id") if c not in stores.columns]
    if need:
        raise InputError(f"stores: columns {need} missing; columns are {list(stores.columns)}")
    cust = stores.reset_index(drop=True).copy()
    cust["customer_id"] = cust["customer_id"].astype(str)
    owned = cust[cust["owner_id"].notna()]
    if rep_homes is None:
        rep_homes = owned.groupby("owner_id", sort=True)[["lat", "lon"]].mean().reset_index().rename(columns={"owner_id": "rep_id"})
    else:
        need = [c for c in ("rep_id", "lat", "lon") if c not in rep_homes.columns]
        if need:
            raise InputError(f"rep homes: columns {need} missing; columns are {list(rep_homes.columns)}")
        unknown = sorted(set(owned["owner_id"].astype(str)) - set(rep_homes["rep_id"].astype(str)))
        if unknown:
            raise InputError(f"stores: owner_id {unknown[:5]} not among the reps' homes")
    reps = rep_homes[["rep_id", "lat", "lon"]].reset_index(drop=True)
    return cust, reps


def _weekdays(start: pd.Timestamp, days: int) -> np.ndarray:
    return (start.weekday() + np.arange(days)) % 7


class _FieldRun:
    """One replication's state: the stores, reps, visit plan, visit form and the visits and
    to-dos recorded so far. :meth:`rep_proc` is a rep's SimPy process, one working day at a time;
    the plan is :func:`~crmsim.field.plans.plan_visits`', the route
    :func:`~crmsim.field.routes.plan_route`'s and the to-dos the form's :class:`TodoRule` s."""

    def __init__(self, cfg: FieldConfig, world: World, cust: pd.DataFrame, reps: pd.DataFrame, t0: pd.Timestamp):
        self.cfg, self.world, self.env, self.cust, self.reps = cfg, world, world.env, cust, reps
        self.days = int(np.ceil(world.horizon))
        self.plan, self.overflow = plan_visits(cust, cfg.cadence, start=t0, days=self.days)
        self.plan["day"] = ((self.plan["date"] - t0) / pd.Timedelta(days=1)).astype(int)
        self.weekday = _weekdays(t0, self.days)
        self.pos = {cid: k for k, cid in enumerate(cust["customer_id"])}
        self.latlon = cust[["lat", "lon"]].to_numpy(float)
        self.grade = cust["grade"].to_numpy()
        self.owner = cust["owner_id"].to_numpy()
        rc = cfg.customers
        self.visits: list[tuple] = []
        self.todos: list[list] = []
        self.open_todo: dict[int, list[int]] = {}
        self.travel_total = np.zeros(len(reps))
        self.worked_total = np.zeros(len(reps))
        form, self.todo_rules, self.shorthand = rc.todo_model()   # to-dos: the TodoRules of the visit form, always
        self.rules_on = bool(self.todo_rules)
        if self.rules_on:
            self.todo_of = rc.todo_table()
            self.p_yes = np.array(list(form.values()))
            self.bits = 1 << np.arange(self.p_yes.size)
        self.type_names = list(rc.visit_types) or [""]
        type_p = np.array([t.share for t in rc.visit_types.values()]) if rc.visit_types else np.ones(1)
        self.type_p = type_p / type_p.sum()
        self.type_dist = [t.service_minutes for t in rc.visit_types.values()] or [rc.service_minutes]
        self.svc_mean = rc.service_mean()

    def rep_proc(self, r: int):
        """Rep ``r``'s working days: the day's stops, their route, then each visit in order."""
        cfg, env, rr = self.cfg, self.env, self.cfg.reps
        rid = self.reps["rep_id"].iloc[r]
        rngs = (self.world.streams.rng(f"rep.{rid}"), self.world.streams.rng(f"form.{rid}"),
                self.world.streams.rng(f"type.{rid}"))
        home = self.reps[["lat", "lon"]].to_numpy(float)[r]
        mine = np.flatnonzero(self.owner == rid)
        by_day = {d: g for d, g in self.plan[self.plan["rep_id"] == rid].groupby("day")}
        for day in range(self.days):
            if self.weekday[day] not in cfg.cadence.workdays:
                continue
            start = day * 1440 + rr.day_start
            if env.now * 1440 < start:  # the clock is in days; the day is planned in minutes
                yield env.timeout((start - env.now * 1440) / 1440)
            stops, kinds, types = self._stops(rid, day, by_day.get(day), mine, rngs[0], rngs[2])
            if not stops:
                continue
            dist = distance_matrix(np.vstack([home, self.latlon[stops]])) * rr.road_factor
            here = 0
            for node in self._route(dist, len(stops)):
                done = yield from self._visit(r, rid, day, dist[here, node], stops[node - 1], kinds[node - 1],
                                              types[node - 1], rngs)
                if done:
                    here = node
            self.travel_total[r] += dist[here, 0] / rr.speed_kmh * 60 + (rr.trip_minutes if here else 0.0)
            self.worked_total[r] += rr.day_end - rr.day_start

    def _stops(self, rid, day: int, g, mine: np.ndarray, rng, type_rng) -> tuple[list, list, list]:
        """The day's stops: the plan's visits not cancelled, then ad-hoc ones, each with its kind
        and visit type; cancellations are recorded."""
        cfg, rc = self.cfg, self.cfg.customers
        planned = [self.pos[c] for c in g["customer_id"]] if g is not None else []
        keep = rng.random(len(planned)) >= cfg.cancellation_share
        n_adhoc = rng.poisson(cfg.adhoc_per_day) if len(mine) else 0
        adhoc = [int(c) for c in rng.choice(mine, size=min(n_adhoc, len(mine)), replace=False)] if n_adhoc else []
        vt = (type_rng.choice(len(self.type_names), len(planned) + len(adhoc), p=self.type_p) if rc.visit_types
              else np.zeros(len(planned) + len(adhoc), dtype=int))
        for k in np.flatnonzero(~keep):
            self.visits.append((rid, int(planned[k]), day, np.nan, np.nan, "cancelled", self.type_names[vt[k]], False))
        stops = [p for p, ok in zip(planned, keep) if ok] + adhoc
        kinds = ["planned"] * int(keep.sum()) + ["adhoc"] * len(adhoc)
        types = list(vt[:len(planned)][keep]) + list(vt[len(planned):])
        return stops, kinds, types

    def _route(self, dist: np.ndarray, n: int) -> list[int]:
        """The order of the day's stops (nodes 1..n; 0 is home): the route rule's, dropped stops last."""
        cfg, rc, rr = self.cfg, self.cfg.customers, self.cfg.reps
        if not (cfg.routing and n > 1):
            return list(range(1, n + 1))
        windows = [(rr.day_start, rr.day_end)] + [(rc.open_minute, rc.close_minute)] * n
        route = plan_route(dist, speed_per_hour=rr.speed_kmh, service_minutes=self.svc_mean, windows=windows,
                           start_minute=rr.day_start, allow_drop=True, solutions=50, return_to_start=True)
        return route.order + route.dropped  # dropped stops are attempted last

    def _visit(self, r: int, rid, day: int, km: float, c: int, kind: str, vtype: int, rngs):
        """Travel to store ``c`` and visit it, or record it missed when the day or the store's
        hours end first; a visit closes the store's open to-dos and files the form's new ones.
        Returns whether the visit took place."""
        rc, rr, env = self.cfg.customers, self.cfg.reps, self.env
        rng, form_rng, _ = rngs
        trav = km / rr.speed_kmh * 60 * rng.lognormal(-rr.travel_noise_cv**2 / 2, rr.travel_noise_cv) + rr.trip_minutes
        svc = float(self.type_dist[vtype].sample(rng, 1)[0])
        begin = max(env.now * 1440 + trav, day * 1440 + rc.open_minute)
        name = self.type_names[vtype]
        if begin + svc > min(day * 1440 + rr.day_end, day * 1440 + rc.close_minute):
            self.visits.append((rid, c, day, np.nan, np.nan, "missed", name, kind == "adhoc"))
            return False
        yield env.timeout((begin + svc - env.now * 1440) / 1440)
        self.travel_total[r] += trav
        self.visits.append((rid, c, day, begin, begin + svc, kind, name, kind == "adhoc"))
        for t_id in self.open_todo.pop(c, []):
            self.todos[t_id][3] = begin
        u = rng.random()   # one draw per visit on the rep's stream, whichever form (common random numbers)
        if self.rules_on:   # the form's answers, then the to-do rules they meet
            # the todo_share shorthand answers its one field with the rep's draw; a form of the
            # user's own fields has its own stream
            yes = np.array([u < self.p_yes[0]]) if self.shorthand else form_rng.random(self.p_yes.size) < self.p_yes
            for title, due_days in self.todo_of[int(self.bits[yes].sum())]:
                self.todos.append([len(self.todos), c, begin, None, begin + due_days * 1440, title])
                self.open_todo.setdefault(c, []).append(len(self.todos) - 1)
        return True

    def result(self, keep_events: bool) -> FieldResult:
        world = self.world
        v = pd.DataFrame(self.visits, columns=["rep_id", "c", "day", "start_min", "end_min", "status", "visit_type",
                                               "adhoc"])
        v["customer_id"] = self.cust["customer_id"].to_numpy()[v["c"]]
        v["grade"] = self.grade[v["c"]]
        v = v.drop(columns="c")
        done = v[v["status"].isin(["planned", "adhoc"])]
        m = self._metrics(v, done[done["day"] >= world.warmup])
        world.log.extend(done["start_min"].to_numpy() / 1440, "visit", np.arange(len(done)), "visit",
                         value=(done["end_min"] - done["start_min"]).to_numpy())
        events = world.log.to_frame()
        return FieldResult(table=v, events=events if keep_events else events.iloc[:0], metrics=m)

    def _metrics(self, v: pd.DataFrame, after: pd.DataFrame) -> dict[str, float]:
        world, cfg, grade = self.world, self.cfg, self.grade
        planned_n = int(((self.plan["day"] >= world.warmup)).sum())
        span = self.days - world.warmup
        rep_days = len(self.reps) * int(np.isin(self.weekday[int(world.warmup):], cfg.cadence.workdays).sum())
        m = {
            "planned": float(planned_n),
            "overflow": float(len(self.overflow)),
            "visits": float(len(after)),
            "plan_adherence": float((after["status"] == "planned").sum() / planned_n) if planned_n else np.nan,
            "missed": float(((v["status"] == "missed") & (v["day"] >= world.warmup)).sum()),
            "cancelled": float(((v["status"] == "cancelled") & (v["day"] >= world.warmup)).sum()),
            "visits_per_rep_day": float(len(after) / max(1, rep_days)),
            "travel_share": (float(self.travel_total.sum() / self.worked_total.sum()) if self.worked_total.sum()
                             else np.nan),
        }
        for g_name, every in cfg.cadence.every_days.items():
            req = int((grade == g_name).sum()) * span / every
            m[f"coverage.{g_name}"] = float((after["grade"] == g_name).sum() / req) if req else np.nan
        td = pd.DataFrame(self.todos, columns=["todo", "c", "created", "done", "due", "title"])
        due_in = td[td["due"] <= world.horizon * 1440]
        m["todos_on_time"] = (float((due_in["done"].notna() & (due_in["done"] <= due_in["due"])).mean()) if len(due_in)
                              else np.nan)
        if self.rules_on:
            after_wu = td[td["created"] >= world.warmup * 1440]
            m["todos"] = float(len(after_wu))
            for title in dict.fromkeys(r.title for r in self.todo_rules):
                m[f"todos.{title}"] = float((after_wu["title"] == title).sum())
        return m


def simulate_field(cfg: FieldConfig, seed, horizon_days: float, warmup_days: float = 0.0,
                   *, keep_events: bool = True, stores: pd.DataFrame | None = None,
                   rep_homes: pd.DataFrame | None = None, start_at=None) -> FieldResult:
    """Simulate the field team for one replication (see the module docstring).

    ``stores`` (and ``rep_homes``): run on your own stores and reps (:func:`given_world`) instead
    of the stores the config draws; ``start_at``: the date of the first day (default a Monday,
    2025-01-06), which sets the weekdays and, with a ``last_visit`` column, when each store is due.

    Examples
    --------
    >>> cfg = FieldConfig(customers={"count": 40}, reps={"count": 2})
    >>> m = simulate_field(cfg, seed=1, horizon_days=14).metrics
    >>> m["planned"] > 0, sorted(k for k in m if k.startswith("coverage."))
    (True, ['coverage.A', 'coverage.B', 'coverage.C', 'coverage.D'])
    """
    world = World(seed, horizon_days, warmup_days)
    t0 = _T0 if start_at is None else pd.Timestamp(start_at).normalize()
    if stores is None:
        cust, reps = field_world(cfg, world.streams.rng("world"))
    else:
        cust, reps = given_world(stores, rep_homes)
    run = _FieldRun(cfg, world, cust, reps, t0)
    for r in range(len(reps)):
        world.env.process(run.rep_proc(r))
    world.run()
    return run.result(keep_events)


register(ModelSpec(name="field", config=FieldConfig, simulate=simulate_field, table="visits",
                   key_metrics=("plan_adherence", "travel_share", "visits_per_rep_day", "missed", "coverage.A", "coverage.B", "coverage.C", "todos_on_time"),
                   figures="crmsim.report.models:field_figures",
                   requires=("ortools",),
                   units={"planned": "count", "overflow": "count", "visits": "count", "missed": "count", "cancelled": "count",
                          "plan_adherence": "share", "visits_per_rep_day": "number", "travel_share": "share",
                          "coverage.*": "pct", "todos_on_time": "share", "todos": "count", "todos.*": "count"}))
