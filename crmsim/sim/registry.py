"""The model registry: each simulation registers one :class:`ModelSpec` next to its code, and
scenarios, the runner, the CLI and the report find everything about a model there. A new model
is one new module that calls :func:`register`.

    register(ModelSpec(name="toy", config=ToyConfig, simulate=simulate_toy, table="things",
                       key_metrics=("done", "late")))
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from crmsim.config import Config
from crmsim.sim.engine import Result

__all__ = ["Simulate", "ModelSpec", "MODELS", "register", "get_model", "load_bundled"]


class Simulate(Protocol):
    """What every simulation function looks like: one replication of a config.

    Examples
    --------
    >>> spec = get_model("credit")
    >>> spec.simulate.__name__, spec.config.__name__     # simulate_credit(cfg, seed, horizon_days, warmup_days)
    ('simulate_credit', 'CreditConfig')
    """

    def __call__(self, cfg, seed, horizon_days: float, warmup_days: float = 0.0, *,
                 keep_events: bool = True) -> Result: ...


@dataclass(frozen=True)
class ModelSpec:
    """One simulation model.

    ``name`` is the scenario's ``model``; ``config`` the class of its ``[baseline]``; ``simulate``
    runs one replication; ``table`` names the entity table a run writes (``leads.parquet``);
    ``key_metrics`` are shown first (the first one ranks variants when nothing else is said);
    ``figures``, a ``"module:function"`` path, builds the report's model figures as
    ``function(result, comparison, start) -> list[Figure]`` (None: the report shows the key
    metrics only, never another model's figures); ``units`` maps every metric the model returns
    (by name or ``fnmatch`` pattern, e.g. ``"won.*"``) to its unit (:mod:`crmsim.units`): the
    report and the CLI format by it, intervals are kept inside its range, and a scenario's
    ``[decision]`` may name only metrics declared here.

    Examples
    --------
    >>> spec = get_model("pool")
    >>> spec.name, spec.table, spec.key_metrics[:2]
    ('pool', 'customers', ('revenue', 'deals'))
    """

    name: str
    config: type[Config]
    simulate: Simulate
    table: str
    key_metrics: tuple[str, ...]
    figures: str | None = None
    units: dict[str, str] = field(default_factory=dict)
    #: optional packages the simulation imports (checked before a run starts, so that a missing
    #: one is one named error, not a failure in every replication)
    requires: tuple[str, ...] = ()


#: name -> spec of every registered model.
MODELS: dict[str, ModelSpec] = {}


def register(spec: ModelSpec) -> ModelSpec:
    """Add (or replace) a model.

    Examples
    --------
    >>> from crmsim.config import Config
    >>> from crmsim.sim.engine import Result
    >>> import pandas as pd
    >>> class Toy(Config):
    ...     n: int = 1
    >>> def simulate_toy(cfg, seed, horizon_days, warmup_days=0.0, *, keep_events=True):
    ...     return Result(table=pd.DataFrame({"id": range(cfg.n)}), events=pd.DataFrame(), metrics={"n": float(cfg.n)})
    >>> _ = register(ModelSpec(name="toy", config=Toy, simulate=simulate_toy, table="toys", key_metrics=("n",)))
    >>> get_model("toy").simulate(Toy(n=3), 0, 10).metrics
    {'n': 3.0}
    >>> del MODELS["toy"]      # (a sixth model is one file that calls register; here it leaves again)
    """
    if not spec.key_metrics:
        raise ValueError(f"model '{spec.name}': key_metrics must name at least one metric")
    from crmsim.units import UNITS, kind

    bad = {m: u for m, u in spec.units.items() if kind(u) not in UNITS}
    if bad:
        raise ValueError(f"model '{spec.name}': unknown units {bad}; units are {list(UNITS)}")
    MODELS[spec.name] = spec
    return spec


_bundled_loaded = False


def load_bundled() -> None:
    """Register the bundled models: import every module of :mod:`crmsim.sim` once (each model's
    module calls :func:`register`; ``crmsim.sim`` itself loads its modules on first use).

    Examples
    --------
    >>> load_bundled()
    >>> sorted(m for m in ("credit", "field", "funnel", "pool", "promo") if get_model(m))
    ['credit', 'field', 'funnel', 'pool', 'promo']
    """
    global _bundled_loaded
    if _bundled_loaded:
        return
    import importlib
    import pkgutil

    import crmsim.sim

    for m in pkgutil.iter_modules(crmsim.sim.__path__):
        importlib.import_module(f"crmsim.sim.{m.name}")
    _bundled_loaded = True


def get_model(name: str) -> ModelSpec:
    """The spec of a model (the bundled ones are registered on the first call).

    Examples
    --------
    >>> get_model("funnel").table
    'leads'
    >>> try:
    ...     get_model("nope")
    ... except KeyError as e:
    ...     print(e.args[0][:21])
    unknown model 'nope';
    """
    load_bundled()
    try:
        return MODELS[name]
    except KeyError:
        raise KeyError(f"unknown model {name!r}; models are {sorted(MODELS)}") from None
