"""Scenario files: TOML -> frozen pydantic models, with errors that name the file and key path.

.. code-block:: toml

    schema_version = 1
    name = "funnel"
    description = "..."

    [run]
    replications = 10
    base_seed = 20250101
    horizon_days = 365
    warmup_days = 28

    [baseline]            # a complete world: FunnelConfig (model "funnel") or PoolConfig ("pool")
    reps = { count = 12 }

    [[sweep]]             # each sweep is a grid: the Cartesian product of its lists
    name = "headcount x policy"
    grid = { "reps.count" = [10, 14], "assignment.policy" = ["round_robin", "least_loaded"] }

Variants are built by validating baseline + overrides (never ``model_copy(update=...)``, which
skips validation), so a bad override fails like a bad baseline.
"""

from __future__ import annotations

import copy
import itertools
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import tomli_w
from pydantic import Field, ValidationError, create_model, field_validator, model_validator

from crmsim.config import Config, path_value
from crmsim.errors import CrmsimError, read_toml
from crmsim.experiments.decision import Decision, check_decision
from crmsim.sim.registry import MODELS as _REGISTRY
from crmsim.sim.registry import get_model

__all__ = [
    "SCHEMA_VERSION",
    "RunConfig",
    "Sweep",
    "Scenario",
    "FunnelScenario",
    "PoolScenario",
    "FieldScenario",
    "CreditScenario",
    "PromoScenario",
    "MODELS",
    "Variant",
    "ScenarioError",
    "load_scenario",
    "scenario_from_dict",
    "parse_assignments",
    "variants",
    "variant_labels",
    "describe_baseline",
    "baseline_equivalents",
    "dump_resolved",
]

SCHEMA_VERSION = 1
#: model name -> :class:`~crmsim.sim.registry.ModelSpec` (config class, simulate, table, metrics)
MODELS = _REGISTRY


class ScenarioError(CrmsimError):
    """A scenario file is invalid. The message names the file and every bad key path.

    Examples
    --------
    >>> try:
    ...     scenario_from_dict({"schema_version": 1, "name": "x", "model": "funnel", "run": {"replications": 0}})
    ... except ScenarioError as e:
    ...     print(str(e).splitlines()[0])
    <scenario>: run.replications: Input should be greater than or equal to 1 (got 0)
    """


class RunConfig(Config):
    replications: int = Field(default=10, ge=1)
    base_seed: int = Field(default=20250101, ge=0)
    horizon_days: float = Field(gt=0)
    warmup_days: float = Field(default=0.0, ge=0)
    #: where to run: None (local processes), "local" (a Dask LocalCluster) or a Dask scheduler
    #: address "tcp://host:8786"; results are identical everywhere.
    scheduler: str | None = None

    @model_validator(mode="after")
    def _warmup(self) -> RunConfig:
        if self.warmup_days >= self.horizon_days:
            raise ValueError(
                f"warmup_days ({self.warmup_days}) must be less than horizon_days ({self.horizon_days})"
            )
        return self


class Sweep(Config):
    """A grid of overrides by dotted path into the baseline; every combination is one variant.

    Examples
    --------
    >>> Sweep(name="limits", grid={"limit_multiplier": [1.0, 2.0], "dunning_every_days": [0, 7]}).grid["dunning_every_days"]
    [0, 7]
    """

    name: str | None = None
    grid: dict[str, list[Any]] = Field(min_length=1)
    #: optional names for the values of a path (used in variant names), e.g. for whole tables
    labels: dict[str, list[str]] = {}

    @field_validator("grid")
    @classmethod
    def _non_empty(cls, v: dict[str, list[Any]]) -> dict[str, list[Any]]:
        for path, values in v.items():
            if not values:
                raise ValueError(f"grid path '{path}' has an empty list of values")
        return v

    @model_validator(mode="after")
    def _labels(self) -> Sweep:
        for path, names in self.labels.items():
            if path not in self.grid:
                raise ValueError(f"labels for '{path}', which is not a grid path")
            if len(names) != len(self.grid[path]):
                raise ValueError(f"labels for '{path}': {len(names)} names for {len(self.grid[path])} values")
        return self

    def label(self, path: str, k: int) -> str:
        v = self.grid[path][k]
        if path in self.labels:
            return self.labels[path][k]
        return f"#{k}" if isinstance(v, (dict, list)) else str(v)


class _ScenarioBase(Config):
    schema_version: Literal[1]
    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    description: str = ""
    run: RunConfig
    sweep: tuple[Sweep, ...] = ()
    #: the currency of money metrics (an ISO code such as "EUR"), shown with every amount
    currency: str = Field(default="", max_length=12)
    #: what the user optimises and what must not happen (:mod:`crmsim.experiments.decision`)
    decision: Decision | None = None


_CLASSES: dict[str, type[_ScenarioBase]] = {}


def scenario_class(model: str) -> type[_ScenarioBase]:
    """The scenario class of a registered model: ``model`` and a ``baseline`` of its config."""
    spec = get_model(model)
    cls = _CLASSES.get(model)
    if cls is None or cls.model_fields["baseline"].annotation is not spec.config:
        cls = create_model(f"{model.title()}Scenario", __base__=_ScenarioBase,
                           model=(Literal[model], model), baseline=(spec.config, ...))
        _CLASSES[model] = cls
    return cls


FunnelScenario = scenario_class("funnel")
PoolScenario = scenario_class("pool")
FieldScenario = scenario_class("field")
CreditScenario = scenario_class("credit")
PromoScenario = scenario_class("promo")
#: a scenario of any registered model
Scenario = _ScenarioBase


@dataclass(frozen=True)
class Variant:
    """One variant: ``name`` identifies it (config paths, stable across runs and in stores),
    ``label`` is what people read ("limit 45 d, cap 200").

    Examples
    --------
    >>> from importlib.resources import files
    >>> path = files("crmsim") / "scenarios" / "funnel_small.toml"
    >>> sc = load_scenario(path, {"run.replications": 2})
    >>> vs = variants(sc)
    >>> [(v.name, v.label) for v in vs][:2]
    [('baseline', 'baseline'), ('assignment.policy=least_loaded', 'least loaded')]
    """

    name: str
    overrides: dict[str, Any]
    config: Config
    label: str = ""


def _fmt_errors(err: ValidationError, source: str, prefix: tuple = ()) -> str:
    lines = []
    for e in err.errors():
        loc = ".".join(str(x) for x in (*prefix, *e["loc"])) or "<top>"
        got = e.get("input")
        shown = "" if isinstance(got, dict) else f" (got {got!r})"
        lines.append(f"{source}: {loc}: {e['msg']}{shown}")
    return "\n".join(lines)


def _step(node: Any, part: str) -> tuple[bool, Any]:
    """One dotted-path step into a dict (by key) or a list (by index, e.g. ``rules.0``)."""
    if isinstance(node, dict) and part in node:
        return True, part
    if isinstance(node, list) and part.isdigit() and int(part) < len(node):
        return True, int(part)
    return False, None


def _get_path(d: dict, path: str, source: str, what: str) -> None:
    node: Any = d
    for part in path.split("."):
        ok, key = _step(node, part)
        if not ok:
            raise ScenarioError(f"{source}: {what}: unknown override path '{path}' (no key '{part}')")
        node = node[key]


def _set_path(d: dict, path: str, value: Any) -> None:
    parts = path.split(".")
    for p in parts[:-1]:
        d = d[_step(d, p)[1]]
    d[_step(d, parts[-1])[1]] = value


def parse_assignments(items: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """``["run.replications=3", "baseline.assignment.policy=least_loaded"]`` -> dict.

    Values are read as TOML values (numbers, booleans, lists, quoted strings); anything else is a
    string.

    Examples
    --------
    >>> parse_assignments(["run.replications=3", "baseline.assignment.policy=least_loaded", "baseline.x=[1, 2]"])
    {'run.replications': 3, 'baseline.assignment.policy': 'least_loaded', 'baseline.x': [1, 2]}
    """
    out: dict[str, Any] = {}
    for item in items:
        if "=" not in item:
            raise ScenarioError(f"--set {item!r}: expected PATH=VALUE, e.g. baseline.reps.count=12")
        path, raw = item.split("=", 1)
        try:
            value = tomllib.loads(f"v = {raw}")["v"]
        except tomllib.TOMLDecodeError:
            value = raw
        out[path.strip()] = value
    return out


#: Limits a scenario must stay within unless the caller allows a large run (``--allow-large``).
LIMITS = {"variants": 2_000, "runs": 100_000, "horizon_days": 3_660.0}


def check_size(raw: dict, source: str = "<scenario>", allow_large: bool = False) -> None:
    """Refuse a scenario whose variant count, run count or horizon exceeds :data:`LIMITS` (counted
    from the file, before any variant is built), naming the estimate and the flag that allows it."""
    if allow_large or not isinstance(raw, dict):
        return
    n = 1
    for sw in raw.get("sweep", []) or []:
        grid = sw.get("grid", {}) if isinstance(sw, dict) else {}
        k = 1
        for values in grid.values():
            k *= len(values) if isinstance(values, list) else 1
        n += k
    run = raw.get("run", {}) if isinstance(raw.get("run"), dict) else {}
    reps = run.get("replications", 10)
    horizon = run.get("horizon_days", 0)
    checks = [("variants", n, f"{n:,} variants"),
              ("runs", n * reps if isinstance(reps, int) else 0, f"{n:,} variants x {reps:,} replications" if
               isinstance(reps, int) else ""),
              ("horizon_days", horizon if isinstance(horizon, int | float) else 0, f"horizon_days = {horizon}")]
    for key, value, what in checks:
        if value > LIMITS[key] and value != float("inf"):   # inf is the validator's to name
            raise ScenarioError(f"{source}: {what} exceeds the limit of {LIMITS[key]:,} {key.replace('_', ' ')}; "
                                "check the file, or pass --allow-large to run it anyway")


def load_scenario(path: str | Path, overrides: dict[str, Any] | None = None, *,
                  allow_large: bool = False) -> Scenario:
    """Read, override (dotted paths from the file's top, e.g. ``run.replications``) and validate;
    a scenario beyond :data:`LIMITS` is refused unless ``allow_large``.

    Examples
    --------
    >>> from importlib.resources import files
    >>> path = files("crmsim") / "scenarios" / "funnel_small.toml"
    >>> sc = load_scenario(path, {"run.replications": 2})
    >>> sc.name, sc.model, sc.run.replications
    ('funnel_small', 'funnel', 2)
    """
    path = Path(path)
    source = str(path)
    raw = read_toml(path, "scenario file", ScenarioError)
    if overrides:
        # Overrides may name any key of the resolved scenario, defaults included.
        full = scenario_from_dict(raw, source=source, base_dir=path.parent, allow_large=allow_large).model_dump(
            mode="json", by_alias=True)  # None-valued keys too: they may be set
        for key, value in overrides.items():
            _get_path(full, key, source, "--set")
            _set_path(full, key, value)
        raw = full
    return scenario_from_dict(raw, source=source, base_dir=path.parent, allow_large=allow_large)


def scenario_from_dict(raw: dict, *, source: str = "<scenario>", base_dir: Path | None = None,
                       allow_large: bool = False) -> Scenario:
    """A scenario from a dict (a TOML file's content, or one built in code), validated as
    :func:`load_scenario` does; ``base_dir`` resolves relative paths (empirical distributions'
    tables).

    Examples
    --------
    >>> sc = scenario_from_dict({"schema_version": 1, "name": "tiny", "model": "credit",
    ...                          "run": {"replications": 2, "horizon_days": 60}, "baseline": {"customers": 50},
    ...                          "sweep": [{"name": "limits", "grid": {"limit_multiplier": [1.0, 2.0]}}]})
    >>> sc.baseline.customers, len(variants(sc))
    (50, 3)
    """
    check_size(raw, source, allow_large)
    ctx = {"base_dir": base_dir, "source": source}
    model = raw.get("model", "funnel")
    try:
        cls = scenario_class(model) if isinstance(model, str) else None
    except KeyError:
        cls = None
    if cls is None:
        raise ScenarioError(f"{source}: model: unknown model {model!r}; models are {sorted(MODELS)}")
    try:
        sc = cls.model_validate(raw, context=ctx)
    except ValidationError as e:
        raise ScenarioError(_fmt_errors(e, source)) from None
    vs = variants(sc, source=source, base_dir=base_dir)  # every variant must validate too
    if sc.decision is not None:
        errors = check_decision(sc.decision, get_model(sc.model).units, vs, source=source)
        if errors:
            raise ScenarioError("\n".join(errors))
    return sc


def _baseline_dict(sc: Scenario) -> dict:
    return sc.baseline.model_dump(mode="json", by_alias=True, exclude_none=True)


def _same(a: Config, b: Config) -> bool:
    """Equal configs, compared by their canonical dump (``==`` on models would compare cached
    numpy arrays, e.g. an empirical distribution's data, and fail)."""
    return a.model_dump(mode="json", by_alias=True) == b.model_dump(mode="json", by_alias=True)


_GENERIC = {"count", "value", "values", "n"}


def _words(part: str) -> str:
    return part.replace("_", " ")


def path_label(path: str) -> tuple[str, str]:
    """``(name, unit suffix)`` of a grid path as people say it: ``policy.rules.0.limit_days`` ->
    ``("limit", " d")``, ``reps.count`` -> ``("reps", "")``."""
    parts = [p for p in path.split(".") if not p.isdigit()]
    last = parts[-1] if parts else path
    if last in _GENERIC and len(parts) > 1:
        last = parts[-2]
    for end, unit in (("_days", " d"), ("_hours", " h"), ("_h", " h")):
        if last.endswith(end) and last != end[1:]:
            return _words(last[: -len(end)]), unit
    return _words(last), ""


def value_label(path: str, value: Any, given: str | None = None) -> str:
    """A short readable label for one grid value: ``policy.rules.0.limit_days`` = 45 ->
    ``limit 45 d``, ``reps.count`` = 12 -> ``reps 12``, ``routing`` = false -> ``no routing``,
    ``approval.levels.0.max_discount`` = 0.05 -> ``max discount 5%``; ``given`` (a sweep's label)
    wins.

    >>> value_label("pools.0.claim.cooldown_days", 30), value_label("assignment.policy", "least_loaded")
    ('cooldown 30 d', 'least loaded')
    """
    if given is not None:
        return given
    name, suffix = path_label(path)
    last = path.split(".")[-1]
    if isinstance(value, bool):
        return name if value else f"no {name}"
    if isinstance(value, str):
        return _words(value) if last in ("policy", "kind", "mode") else f"{name} {_words(value)}"
    if isinstance(value, (int, float)):
        if suffix == "" and 0 <= value <= 1 and any(last.endswith(w) for w in ("discount", "share", "rate")):
            return f"{name} {value * 100:g}%"
        return f"{name} {value:g}{suffix}"
    return name


def _grid_points(sc: Scenario, source: str, base_dir: Path | None):
    """Every grid point of every sweep, validated: ``(name, label, overrides, config)``."""
    base = _baseline_dict(sc)
    for k, sw in enumerate(sc.sweep):
        paths = list(sw.grid)
        for p in paths:
            _get_path(base, p, source, f"sweep[{k}].grid")
        for combo_ix in itertools.product(*(range(len(sw.grid[p])) for p in paths)):
            ov = {p: sw.grid[p][i] for p, i in zip(paths, combo_ix)}
            name = ",".join(f"{p}={sw.label(p, i)}" for p, i in zip(paths, combo_ix))
            label = ", ".join(value_label(p, sw.grid[p][i], sw.labels[p][i] if p in sw.labels else
                                          (f"{sw.name or _words(p)} #{i + 1}" if isinstance(sw.grid[p][i], (dict, list))
                                           else None))
                              for p, i in zip(paths, combo_ix))
            d = copy.deepcopy(base)
            for p, v in ov.items():
                _set_path(d, p, v)
            try:
                cfg = type(sc.baseline).model_validate(d, context={"base_dir": base_dir})
            except ValidationError as e:
                raise ScenarioError(
                    f"{source}: sweep[{k}] variant '{name}':\n" + _fmt_errors(e, source, ("baseline",))
                ) from None
            yield name, label, ov, cfg


def variants(sc: Scenario, *, source: str = "<scenario>", base_dir: Path | None = None) -> list[Variant]:
    """The baseline, then every grid point of every sweep, each validated. A grid point equal to
    the baseline is the baseline (run once; :func:`baseline_equivalents` names it); labels that
    two variants would share are made unique with the variant's name.

    Examples
    --------
    >>> from importlib.resources import files
    >>> path = files("crmsim") / "scenarios" / "funnel_small.toml"
    >>> sc = load_scenario(path, {"run.replications": 2})
    >>> [v.name for v in variants(sc)]
    ['baseline', 'assignment.policy=least_loaded', 'assignment.policy=shared_queue']
    """
    out = [Variant("baseline", {}, sc.baseline, "baseline")]
    seen = {"baseline"}
    for name, label, ov, cfg in _grid_points(sc, source, base_dir):
        if name in seen or _same(cfg, sc.baseline):
            continue
        seen.add(name)
        out.append(Variant(name, ov, cfg, label))
    counts: dict[str, int] = {}
    for v in out:
        counts[v.label] = counts.get(v.label, 0) + 1
    return [v if counts[v.label] == 1 else Variant(v.name, v.overrides, v.config, f"{v.label} ({v.name})")
            for v in out]


def variant_labels(sc: Scenario, vs: list[Variant] | None = None) -> dict[str, str]:
    """Variant name -> readable label.

    Examples
    --------
    >>> from importlib.resources import files
    >>> path = files("crmsim") / "scenarios" / "funnel_small.toml"
    >>> sc = load_scenario(path, {"run.replications": 2})
    >>> variant_labels(sc)
    {'baseline': 'baseline', 'assignment.policy=least_loaded': 'least loaded', 'assignment.policy=shared_queue': 'shared queue'}
    """
    return {v.name: v.label or v.name for v in (vs if vs is not None else variants(sc))}


def baseline_equivalents(sc: Scenario) -> list[str]:
    """Labels of the grid points that are the baseline itself (shown as the baseline).

    Examples
    --------
    >>> from importlib.resources import files
    >>> path = files("crmsim") / "scenarios" / "funnel_small.toml"
    >>> sc = load_scenario(path, {"run.replications": 2})
    >>> baseline_equivalents(sc)
    []
    """
    return list(dict.fromkeys(label for _, label, _, cfg in _grid_points(sc, "<scenario>", None)
                              if _same(cfg, sc.baseline)))


def describe_baseline(sc: Scenario) -> str:
    """The baseline in words, at the paths the sweeps change: ``limit 30 d; holding cap 0,
    cooldown 0 d; reclaim by rules``.

    Examples
    --------
    >>> from importlib.resources import files
    >>> path = files("crmsim") / "scenarios" / "funnel_small.toml"
    >>> sc = load_scenario(path, {"run.replications": 2})
    >>> describe_baseline(sc)
    'round robin'
    """
    full = sc.baseline.model_dump(mode="json", by_alias=True)   # defaults included
    parts = []
    for sw in sc.sweep:
        items = []
        for p in sw.grid:
            try:
                v = path_value(full, p)
            except (KeyError, IndexError, TypeError):
                v = None
            given = None
            for i, g in enumerate(sw.grid[p]):
                if g == v and p in sw.labels:
                    given = sw.labels[p][i]
            if isinstance(v, (dict, list)) and given is None:
                given = f"{_words(p)} as in [baseline]"
            items.append(value_label(p, v, given) if v is not None else f"{_words(p)} (default)")
        parts.append(", ".join(items))
    return "; ".join(dict.fromkeys(parts))


def dump_resolved(sc: Scenario) -> str:
    """The scenario with every default filled in, as TOML (what was actually run).

    Examples
    --------
    >>> from importlib.resources import files
    >>> path = files("crmsim") / "scenarios" / "funnel_small.toml"
    >>> sc = load_scenario(path, {"run.replications": 2})
    >>> import tomllib
    >>> again = scenario_from_dict(tomllib.loads(dump_resolved(sc)))
    >>> again.baseline == sc.baseline
    True
    """
    d = sc.model_dump(mode="json", by_alias=True, exclude_none=True)
    return tomli_w.dumps(d)
