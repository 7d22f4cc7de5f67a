"""Run variants x replications through an executor (serial, local processes, or any
``concurrent.futures.Executor``), with the same seeds on every executor."""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from crmsim.experiments.scenario import MODELS, Scenario, variants
from crmsim.experiments.stats import compare

__all__ = ["ExperimentResult", "replication_seed", "run_experiment", "fast_mode"]


def fast_mode() -> bool:
    """True when ``CRMSIM_FAST=1``: CI and notebooks under test shrink their runs."""
    return os.environ.get("CRMSIM_FAST", "") not in ("", "0", "false", "False")


def replication_seed(base_seed: int, replication: int) -> np.random.SeedSequence:
    """Replication i's seed: ``SeedSequence(base_seed).spawn(n)[i]``, rebuilt on its own."""
    return np.random.SeedSequence(base_seed, spawn_key=(replication,))


@dataclass
class ExperimentResult:
    scenario: Scenario
    summary: pd.DataFrame
    #: events and the entity table (leads or customers) of replication 0 of each variant
    events: dict[str, pd.DataFrame] = field(default_factory=dict)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)

    @property
    def leads(self) -> dict[str, pd.DataFrame]:
        """The funnel's per-lead tables (an alias of ``tables``)."""
        return self.tables

    def comparison(self, metrics: list[str] | None = None) -> pd.DataFrame:
        return compare(self.summary, metrics=metrics)


def _run_batch(model: str, cfg, base_seed: int, reps: list[int], horizon: float, warmup: float,
               keep: int) -> list[tuple[int, dict, pd.DataFrame | None, pd.DataFrame | None]]:
    simulate = MODELS[model][1]
    out = []
    for i in reps:
        r = simulate(cfg, replication_seed(base_seed, i), horizon, warmup, keep_events=(i == keep))
        out.append((i, r.metrics, r.events if i == keep else None, r.table if i == keep else None))
    return out


def run_experiment(
    scenario: Scenario,
    *,
    jobs: int = 1,
    executor: Executor | None = None,
    progress: Callable[[int, int], None] | None = None,
    batch_size: int | None = None,
) -> ExperimentResult:
    """Run every variant of ``scenario`` for ``scenario.run.replications`` replications.

    Parameters
    ----------
    jobs : worker processes when no ``executor`` is given (1 = serial, in this process).
    executor : any ``concurrent.futures.Executor`` (e.g. a dask client's ``get_executor()``).
    progress : called as ``progress(done_runs, total_runs)`` after each batch.
    batch_size : replications per task (default: spread evenly over the workers).

    Replication i of every variant uses :func:`replication_seed` (base_seed, i), so results are
    identical whatever the executor, and variants are compared on common random numbers.
    """
    run = scenario.run
    vs = variants(scenario)
    n = run.replications
    total = len(vs) * n
    if batch_size is None:
        workers = 1 if (executor is None and jobs <= 1) else max(jobs, 2)
        batch_size = max(1, min(n, -(-total // (4 * workers)) if workers > 1 else n))
    tasks = [(vi, list(range(s, min(n, s + batch_size))))
             for vi in range(len(vs)) for s in range(0, n, batch_size)]
    results: dict[tuple[int, int], dict] = {}
    events: dict[str, pd.DataFrame] = {}
    leads: dict[str, pd.DataFrame] = {}
    done = 0

    def collect(vi: int, batch) -> None:
        nonlocal done
        for i, metrics, ev, ld in batch:
            results[(vi, i)] = metrics
            if ev is not None:
                events[vs[vi].name], leads[vs[vi].name] = ev, ld
        done += len(batch)
        if progress:
            progress(done, total)

    args = (run.base_seed,)
    if executor is None and jobs <= 1:
        for vi, reps in tasks:
            collect(vi, _run_batch(scenario.model, vs[vi].config, *args, reps, run.horizon_days,
                                   run.warmup_days, 0))
    else:
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
            rows.append({"variant": v.name, "replication": i, "seed": f"{run.base_seed}/{i}",
                         **results[(vi, i)]})
    summary = pd.DataFrame(rows)
    return ExperimentResult(scenario, summary, {v.name: events[v.name] for v in vs},
                            {v.name: leads[v.name] for v in vs})
