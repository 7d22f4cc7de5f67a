"""Run variants x replications through an executor (serial, local processes, or any
``concurrent.futures.Executor``), with the same seeds on every executor."""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from crmsim.experiments.scenario import Scenario, variants
from crmsim.experiments.stats import compare
from crmsim.sim.registry import get_model

__all__ = ["ExperimentResult", "replication_seed", "run_experiment", "fast_mode", "make_executor",
           "run_to_precision"]


def fast_mode() -> bool:
    """True when ``CRMSIM_FAST=1``: CI and notebooks under test shrink their runs.

    Examples
    --------
    >>> import os
    >>> fast_mode() == (os.environ.get("CRMSIM_FAST") == "1")
    True
    """
    return os.environ.get("CRMSIM_FAST", "") not in ("", "0", "false", "False")


def replication_seed(base_seed: int, replication: int) -> np.random.SeedSequence:
    """Replication i's seed: ``SeedSequence(base_seed).spawn(n)[i]``, rebuilt on its own.

    Examples
    --------
    >>> replication_seed(7, 2).generate_state(1).tolist() == np.random.SeedSequence(7).spawn(3)[2].generate_state(1).tolist()
    True
    """
    return np.random.SeedSequence(base_seed, spawn_key=(replication,))


@dataclass
class ExperimentResult:
    """What :func:`run_experiment` returns: the ``scenario``, the ``summary`` (one row of metrics
    per variant and replication), the ``failures``, and replication 0's event log and entity
    table per variant; ``comparison()`` and ``decide()`` turn it into the answer.

    Examples
    --------
    >>> from crmsim.experiments.scenario import scenario_from_dict
    >>> sc = scenario_from_dict({"schema_version": 1, "name": "t", "model": "credit",
    ...     "run": {"replications": 2, "horizon_days": 60}, "baseline": {"customers": 30}})
    >>> res = run_experiment(sc)
    >>> len(res.summary), res.failures, sorted(res.tables)
    (2, [], ['baseline'])
    """

    scenario: Scenario
    summary: pd.DataFrame
    #: replications that raised: variant, replication, seed, traceback
    failures: list = field(default_factory=list)
    #: events and the entity table (leads or customers) of replication 0 of each variant
    events: dict[str, pd.DataFrame] = field(default_factory=dict)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)

    @property
    def leads(self) -> dict[str, pd.DataFrame]:
        """The funnel's per-lead tables (an alias of ``tables``)."""
        return self.tables

    def comparison(self, metrics: list[str] | None = None) -> pd.DataFrame:
        """Per variant and metric: mean [95% CI] and the paired difference to the baseline; each
        interval kept inside its metric's possible range (the model's declared units)."""
        from crmsim.units import bounds, unit_of

        units = get_model(self.scenario.model).units
        cols = [c for c in self.summary.columns if c not in ("variant", "replication", "seed", "run_id")]
        b = {m: bounds(unit_of(units, m)) for m in cols}
        return compare(self.summary, metrics=metrics, bounds=b)

    @property
    def labels(self) -> dict[str, str]:
        """Variant name -> readable label ("limit 45 d, cap 200")."""
        from crmsim.experiments.scenario import variant_labels

        return variant_labels(self.scenario)

    def decide(self, decision=None):
        """The recommendation (:func:`crmsim.experiments.decision.decide`) by the scenario's
        ``[decision]`` or the given :class:`~crmsim.experiments.decision.Decision`."""
        from crmsim.experiments.decision import decide

        return decide(self.summary, self.scenario, decision)


def _run_batch(model: str, cfg, base_seed: int, reps: list[int], horizon: float, warmup: float,
               keep: int) -> list[tuple]:
    """Run replications; a replication that raises returns its traceback instead of metrics."""
    import traceback

    simulate = get_model(model).simulate
    out = []
    for i in reps:
        try:
            r = simulate(cfg, replication_seed(base_seed, i), horizon, warmup, keep_events=(i == keep))
        except Exception:  # recorded with its seed; the other replications go on
            out.append((i, None, None, None, traceback.format_exc()))
            continue
        out.append((i, r.metrics, r.events if i == keep else None, r.table if i == keep else None, None))
    return out


def make_executor(scheduler: str | None, jobs: int):
    """``(executor, close)``: a Dask executor for ``scheduler`` (an address, or ``"local"`` for a
    LocalCluster with ``jobs`` workers), else None. Dask is imported only here.

    Examples
    --------
    >>> executor, close = make_executor(None, 2)     # no scheduler: run in this process
    >>> executor is None
    True
    """
    if not scheduler:
        return None, lambda: None
    from dask.distributed import Client, LocalCluster

    if scheduler == "local":
        cluster = LocalCluster(n_workers=max(1, jobs), threads_per_worker=1, processes=True,
                               dashboard_address=None)
        client = Client(cluster)

        def close():
            client.close()
            cluster.close()
    else:
        client = Client(scheduler)
        close = client.close
    return client.get_executor(), close


def run_experiment(
    scenario: Scenario,
    *,
    jobs: int = 1,
    executor: Executor | None = None,
    progress: Callable[[int, int], None] | None = None,
    batch_size: int | None = None,
    store=None,
    resume: bool = False,
) -> ExperimentResult:
    """Run every variant of ``scenario`` for ``scenario.run.replications`` replications.

    Parameters
    ----------
    jobs : worker processes when no ``executor`` is given (1 = serial, in this process).
    executor : any ``concurrent.futures.Executor`` (e.g. a dask client's ``get_executor()``).
    progress : called as ``progress(done_runs, total_runs)`` after each batch.
    batch_size : replications per task (default: spread evenly over the workers).
    store : a :class:`~crmsim.experiments.store.RunStore`: each replication is written the
        moment it finishes; with ``resume`` the stored ones are not run again.

    Replication i of every variant uses :func:`replication_seed` (base_seed, i), so results are
    identical whatever the executor, and variants are compared on common random numbers. A
    replication that raises is recorded (in ``ExperimentResult.failures`` and the store) with its
    seed and traceback, and does not stop the others.

    Examples
    --------
    >>> from crmsim.experiments import run_experiment
    >>> from crmsim.experiments.scenario import scenario_from_dict
    >>> sc = scenario_from_dict({"schema_version": 1, "name": "tiny", "model": "credit", "currency": "EUR",
    ...     "run": {"replications": 3, "horizon_days": 60},
    ...     "baseline": {"customers": 40}, "sweep": [{"name": "limits", "grid": {"limit_multiplier": [1.0, 3.0]}}],
    ...     "decision": {"objective": [{"metric": "sales", "weight": 0.2}, {"metric": "credit_loss", "weight": -1}]}})
    >>> res = run_experiment(sc)
    >>> comp = res.comparison()
    >>> a = run_experiment(sc).summary
    >>> b = run_experiment(sc, jobs=1, batch_size=1).summary
    >>> a.equals(b)                   # the same seeds, however the runs are batched
    True
    """
    from crmsim.errors import need

    for module in get_model(scenario.model).requires:
        need(module, f"the {scenario.model} simulation")
    run = scenario.run
    vs = variants(scenario)
    n = run.replications
    todo = {(vi, i) for vi in range(len(vs)) for i in range(n)}
    results: dict[tuple[int, int], dict] = {}
    events: dict[str, pd.DataFrame] = {}
    tables: dict[str, pd.DataFrame] = {}
    if store is not None and resume:
        stored = store.summary()
        for rec in stored.to_dict("records") if len(stored) else []:
            vi = next((k for k, v in enumerate(vs) if v.name == rec["variant"]), None)
            if vi is not None and rec["replication"] < n:
                results[(vi, int(rec["replication"]))] = {k: v for k, v in rec.items()
                                                          if k not in ("run_id", "variant", "replication", "seed")}
                todo.discard((vi, int(rec["replication"])))
        for vi, v in enumerate(vs):
            ev, tb = store.read_frames(v.name)
            if ev is not None and (vi, 0) not in todo:
                events[v.name], tables[v.name] = ev, tb
    total = len(vs) * n
    pending = sorted(todo)
    if batch_size is None:
        workers = 1 if (executor is None and jobs <= 1) else max(jobs, 2)
        batch_size = max(1, min(n, -(-len(pending) // (4 * workers)) if workers > 1 else n))
    by_variant: dict[int, list[int]] = {}
    for vi, i in pending:
        by_variant.setdefault(vi, []).append(i)
    tasks = [(vi, reps[k:k + batch_size]) for vi, reps in by_variant.items()
             for k in range(0, len(reps), batch_size)]
    failures: list[dict] = []
    done = total - len(pending)
    if progress and done:
        progress(done, total)

    def collect(vi: int, batch) -> None:
        nonlocal done
        v = vs[vi]
        for i, metrics, ev, tb, err in batch:
            seed = f"{run.base_seed}/{i}"
            if err is not None:
                failures.append({"variant": v.name, "replication": i, "seed": seed, "traceback": err})
                if store is not None:
                    store.write_failure(v.name, i, seed, err)
                continue
            results[(vi, i)] = metrics
            if store is not None:
                store.write_replication(v.name, i, seed, metrics)
            if ev is not None:
                events[v.name], tables[v.name] = ev, tb
                if store is not None:
                    store.write_frames(v.name, ev, tb)
        done += len(batch)
        if progress:
            progress(done, total)

    args = (run.base_seed,)
    if executor is None and jobs <= 1:
        for vi, reps in tasks:
            collect(vi, _run_batch(scenario.model, vs[vi].config, *args, reps, run.horizon_days,
                                   run.warmup_days, 0))
    elif tasks:
        own = executor is None
        ex = executor or ProcessPoolExecutor(max_workers=jobs)
        try:
            futs = {ex.submit(_run_batch, scenario.model, vs[vi].config, *args, reps, run.horizon_days,
                              run.warmup_days, 0): vi for vi, reps in tasks}
            from concurrent.futures import as_completed

            for f in as_completed(futs):
                collect(futs[f], f.result())
        finally:
            if own:
                ex.shutdown()
    rows = []
    for vi, v in enumerate(vs):
        for i in range(n):
            if (vi, i) in results:
                rows.append({"variant": v.name, "replication": i, "seed": f"{run.base_seed}/{i}",
                             **results[(vi, i)]})
    summary = pd.DataFrame(rows)
    return ExperimentResult(scenario, summary, failures,
                            {v.name: events[v.name] for v in vs if v.name in events},
                            {v.name: tables[v.name] for v in vs if v.name in tables})


def run_to_precision(scenario: Scenario, metric: str, half_width: float, *, n0: int = 5,
                     max_n: int = 200, store=None, **kw) -> ExperimentResult:
    """Sequential procedure: run ``n0`` replications, estimate how many each variant needs for a
    95% CI of ``metric`` no wider than +/- ``half_width``, run the missing ones, re-estimate, and
    stop when every variant is precise enough (or at ``max_n``). Stored replications are reused
    (a temporary store is used when none is given).

    Examples
    --------
    >>> from crmsim.experiments import run_experiment
    >>> from crmsim.experiments.scenario import scenario_from_dict
    >>> sc = scenario_from_dict({"schema_version": 1, "name": "tiny", "model": "credit", "currency": "EUR",
    ...     "run": {"replications": 3, "horizon_days": 60},
    ...     "baseline": {"customers": 40}, "sweep": [{"name": "limits", "grid": {"limit_multiplier": [1.0, 3.0]}}],
    ...     "decision": {"objective": [{"metric": "sales", "weight": 0.2}, {"metric": "credit_loss", "weight": -1}]}})
    >>> res = run_experiment(sc)
    >>> comp = res.comparison()
    >>> r = run_to_precision(sc, "sales", half_width=5e8, n0=3, max_n=6)
    >>> bool(r.summary.groupby("variant").size().min() >= 3)
    True
    """
    import tempfile

    from crmsim.experiments.scenario import scenario_from_dict
    from crmsim.experiments.stats import replications_needed
    from crmsim.experiments.store import RunStore

    tmp = None
    if store is None:
        tmp = tempfile.TemporaryDirectory()
        store = RunStore(tmp.name, scenario_name=scenario.name, rid="sequential", model=scenario.model)
    raw = scenario.model_dump(mode="json", by_alias=True, exclude_none=True)
    n = max(2, n0)
    try:
        while True:
            raw["run"]["replications"] = n
            sc = scenario_from_dict(raw)
            res = run_experiment(sc, store=store, resume=True, **kw)
            if metric not in res.summary.columns:
                from crmsim.experiments.scenario import ScenarioError

                known = [c for c in res.summary.columns if c not in ("run_id", "variant", "replication", "seed")]
                raise ScenarioError(f"--target-ci: unknown metric '{metric}'; the {sc.model} model's metrics "
                                    f"are {known[:40]}{' ...' if len(known) > 40 else ''}")
            need = max(replications_needed(g[metric], half_width, max_n=max_n)
                       for _, g in res.summary.groupby("variant"))
            if need <= n or n >= max_n:
                return res
            n = min(need, max_n)
    finally:
        if tmp is not None:
            tmp.cleanup()
