"""The configurator (FEATURES CPQ): multi-level sales BOMs with option groups and constraints.

A :class:`Model` configures one product: option groups (required or optional, how many choices),
options (a catalogue product with a quantity range when chosen, an option price, and optionally a
sub-model that configures the option itself, per unit of it), and constraints between products
(``requires``, ``excludes``, and quantity ``ratio`` s). A *selection* is a dict ``{option: qty}``;
an option with a sub-model takes ``{"qty": n, <its own selection>}`` (an int means its defaults).

- :meth:`Configurator.validate` lists every violated rule in words (empty list: valid);
- :meth:`Configurator.price` breaks the configured price down per option (money in minor units);
- :meth:`Configurator.lines` turns a configuration into order lines for
  :func:`crmsim.cpq.pricing.price_lines`;
- :meth:`Configurator.all_configurations` enumerates every valid configuration of a small model and
  :meth:`Configurator.cheapest` completes a partial one at the lowest price. Both solve the same
  rules as a constraint program with Google OR-Tools CP-SAT (a sub-model's rules hold only when its
  option is chosen); the tests check that CP-SAT and :meth:`~Configurator.validate` agree on every
  combination of a model.
"""

from __future__ import annotations

from collections.abc import Iterable
from fractions import Fraction
from typing import Literal

import pandas as pd
from pydantic import Field, model_validator

from crmsim.config import Config
from crmsim.cpq.catalog import Catalog
from crmsim.errors import need

__all__ = ["Option", "OptionGroup", "Constraint", "Model", "Configurator"]


class Option(Config):
    """A product that may be chosen in a group: ``min_qty..max_qty`` when chosen (0 = not chosen).

    Examples
    --------
    >>> from crmsim.cpq.catalog import Product
    >>> cat = Catalog([Product(product_id="laptop", category="hw", base_price=100_000),
    ...                Product(product_id="ram16", category="hw", base_price=8_000),
    ...                Product(product_id="ram32", category="hw", base_price=15_000),
    ...                Product(product_id="dock", category="hw", base_price=12_000),
    ...                Product(product_id="charger", category="hw", base_price=3_000)])
    >>> m = Model(model_id="laptop", product_id="laptop", groups=[
    ...         OptionGroup(name="memory", required=True, max_choices=1,
    ...                     options=[Option(product_id="ram16", default_qty=1), Option(product_id="ram32")]),
    ...         OptionGroup(name="extras", options=[Option(product_id="dock"), Option(product_id="charger", max_qty=3)])],
    ...       constraints=[Constraint(kind="requires", product="dock", other="charger")])
    >>> conf = Configurator(cat, [m])
    >>> conf.validate("laptop", {"ram16": 1, "charger": 4})
    ["laptop: 'charger' quantity 4 is outside 1..3"]
    """

    product_id: str
    min_qty: int = Field(default=1, ge=1)
    max_qty: int = Field(default=1, ge=1)
    default_qty: int = Field(default=0, ge=0)
    price: int | None = Field(default=None, ge=0)   # per unit; None = the catalogue's base price
    model: str | None = None                         # a sub-model configuring this option

    @model_validator(mode="after")
    def _check(self) -> Option:
        if self.max_qty < self.min_qty:
            raise ValueError(f"option '{self.product_id}': max_qty {self.max_qty} < min_qty {self.min_qty}")
        if self.default_qty and not self.min_qty <= self.default_qty <= self.max_qty:
            raise ValueError(f"option '{self.product_id}': default_qty {self.default_qty} outside "
                             f"{self.min_qty}..{self.max_qty}")
        return self


class OptionGroup(Config):
    """Options offered together; ``required`` means at least one choice (or ``min_choices``).

    Examples
    --------
    >>> from crmsim.cpq.catalog import Product
    >>> cat = Catalog([Product(product_id="laptop", category="hw", base_price=100_000),
    ...                Product(product_id="ram16", category="hw", base_price=8_000),
    ...                Product(product_id="ram32", category="hw", base_price=15_000),
    ...                Product(product_id="dock", category="hw", base_price=12_000),
    ...                Product(product_id="charger", category="hw", base_price=3_000)])
    >>> m = Model(model_id="laptop", product_id="laptop", groups=[
    ...         OptionGroup(name="memory", required=True, max_choices=1,
    ...                     options=[Option(product_id="ram16", default_qty=1), Option(product_id="ram32")]),
    ...         OptionGroup(name="extras", options=[Option(product_id="dock"), Option(product_id="charger", max_qty=3)])],
    ...       constraints=[Constraint(kind="requires", product="dock", other="charger")])
    >>> conf = Configurator(cat, [m])
    >>> conf.validate("laptop", {"ram16": 1, "ram32": 1})
    ["laptop: group 'memory' allows at most 1 choice, got 2: ['ram16', 'ram32']"]
    >>> conf.validate("laptop", {})
    ["laptop: group 'memory' is required: choose one of ['ram16', 'ram32']"]
    """

    name: str
    required: bool = False
    min_choices: int = Field(default=0, ge=0)
    max_choices: int | None = Field(default=None, ge=1)
    options: tuple[Option, ...]

    @property
    def lo(self) -> int:
        return max(self.min_choices, 1 if self.required else 0)

    @model_validator(mode="after")
    def _check(self) -> OptionGroup:
        if not self.options:
            raise ValueError(f"group '{self.name}' has no options")
        if self.max_choices is not None and self.max_choices < self.lo:
            raise ValueError(f"group '{self.name}': max_choices {self.max_choices} < min_choices {self.lo}")
        return self


class Constraint(Config):
    """``requires``: choosing ``product`` needs ``other``; ``excludes``: not both; ``ratio``: the
    quantity of ``other`` is ``at_least`` / ``at_most`` / ``exactly`` ``ratio`` x that of ``product``
    (when ``product`` is chosen).

    Examples
    --------
    >>> from crmsim.cpq.catalog import Product
    >>> cat = Catalog([Product(product_id="laptop", category="hw", base_price=100_000),
    ...                Product(product_id="ram16", category="hw", base_price=8_000),
    ...                Product(product_id="ram32", category="hw", base_price=15_000),
    ...                Product(product_id="dock", category="hw", base_price=12_000),
    ...                Product(product_id="charger", category="hw", base_price=3_000)])
    >>> m = Model(model_id="laptop", product_id="laptop", groups=[
    ...         OptionGroup(name="memory", required=True, max_choices=1,
    ...                     options=[Option(product_id="ram16", default_qty=1), Option(product_id="ram32")]),
    ...         OptionGroup(name="extras", options=[Option(product_id="dock"), Option(product_id="charger", max_qty=3)])],
    ...       constraints=[Constraint(kind="requires", product="dock", other="charger")])
    >>> conf = Configurator(cat, [m])
    >>> conf.validate("laptop", {"ram16": 1, "dock": 1})
    ["laptop: 'dock' requires 'charger', which is not chosen"]
    >>> conf.validate("laptop", {"ram16": 1, "dock": 1, "charger": 1})
    []
    """

    kind: Literal["requires", "excludes", "ratio"]
    product: str
    other: str
    ratio: float = Field(default=1.0, gt=0)
    mode: Literal["at_least", "at_most", "exactly"] = "at_least"


class Model(Config):
    """How one product is configured.

    Examples
    --------
    >>> from crmsim.cpq.catalog import Product
    >>> cat = Catalog([Product(product_id="laptop", category="hw", base_price=100_000),
    ...                Product(product_id="ram16", category="hw", base_price=8_000),
    ...                Product(product_id="ram32", category="hw", base_price=15_000),
    ...                Product(product_id="dock", category="hw", base_price=12_000),
    ...                Product(product_id="charger", category="hw", base_price=3_000)])
    >>> m = Model(model_id="laptop", product_id="laptop", groups=[
    ...         OptionGroup(name="memory", required=True, max_choices=1,
    ...                     options=[Option(product_id="ram16", default_qty=1), Option(product_id="ram32")]),
    ...         OptionGroup(name="extras", options=[Option(product_id="dock"), Option(product_id="charger", max_qty=3)])],
    ...       constraints=[Constraint(kind="requires", product="dock", other="charger")])
    >>> conf = Configurator(cat, [m])
    >>> conf.defaults("laptop")
    {'ram16': 1}
    """

    model_id: str
    product_id: str
    groups: tuple[OptionGroup, ...]
    constraints: tuple[Constraint, ...] = ()

    @model_validator(mode="after")
    def _check(self) -> Model:
        seen: dict[str, str] = {}
        for g in self.groups:
            for o in g.options:
                if o.product_id in seen:
                    raise ValueError(f"model '{self.model_id}': option '{o.product_id}' is in groups "
                                     f"'{seen[o.product_id]}' and '{g.name}'")
                seen[o.product_id] = g.name
        for c in self.constraints:
            for p in (c.product, c.other):
                if p not in seen and p != self.product_id:
                    raise ValueError(f"model '{self.model_id}': constraint {c.kind} names '{p}', which is not "
                                     f"an option of the model")
        return self

    def options(self) -> dict[str, Option]:
        return {o.product_id: o for g in self.groups for o in g.options}


def _fmt(x: float) -> str:
    return f"{x:g}"


class Configurator:
    """Models checked against a catalogue (every product known, sub-models known, no cycles).

    Examples
    --------
    >>> from crmsim.cpq.catalog import Product
    >>> cat = Catalog([Product(product_id="laptop", category="hw", base_price=100_000),
    ...                Product(product_id="ram16", category="hw", base_price=8_000),
    ...                Product(product_id="ram32", category="hw", base_price=15_000),
    ...                Product(product_id="dock", category="hw", base_price=12_000),
    ...                Product(product_id="charger", category="hw", base_price=3_000)])
    >>> m = Model(model_id="laptop", product_id="laptop", groups=[
    ...         OptionGroup(name="memory", required=True, max_choices=1,
    ...                     options=[Option(product_id="ram16", default_qty=1), Option(product_id="ram32")]),
    ...         OptionGroup(name="extras", options=[Option(product_id="dock"), Option(product_id="charger", max_qty=3)])],
    ...       constraints=[Constraint(kind="requires", product="dock", other="charger")])
    >>> conf = Configurator(cat, [m])
    >>> p = conf.price("laptop", {"ram32": 1, "dock": 1, "charger": 1}, qty=2)
    >>> p[["product_id", "qty", "amount"]].values.tolist()
    [['laptop', 2, 200000], ['ram32', 2, 30000], ['dock', 2, 24000], ['charger', 2, 6000]]
    """

    def __init__(self, catalog: Catalog, models: Iterable[Model]):
        self.catalog = catalog
        self.models: dict[str, Model] = {}
        for m in models:
            if m.model_id in self.models:
                raise ValueError(f"model '{m.model_id}' is defined twice")
            self.models[m.model_id] = m
        for m in self.models.values():
            for pid in (m.product_id, *m.options()):
                if pid not in catalog:
                    raise ValueError(f"model '{m.model_id}': product '{pid}' is not in the catalogue")
            for o in m.options().values():
                if o.model is not None and o.model not in self.models:
                    raise ValueError(f"model '{m.model_id}': option '{o.product_id}' uses unknown sub-model '{o.model}'")
        for m in self.models:
            self._check_cycle(m, ())

    def _check_cycle(self, model_id: str, path: tuple) -> None:
        if model_id in path:
            raise ValueError(f"sub-models form a cycle: {' > '.join((*path, model_id))}")
        for o in self.models[model_id].options().values():
            if o.model:
                self._check_cycle(o.model, (*path, model_id))

    def model(self, model_id: str) -> Model:
        try:
            return self.models[model_id]
        except KeyError:
            raise KeyError(f"unknown model '{model_id}'; models are {sorted(self.models)}") from None

    # -- selections ----------------------------------------------------------------------------
    def defaults(self, model_id: str) -> dict:
        """The selection of every option's ``default_qty`` (sub-models at their defaults)."""
        m = self.model(model_id)
        out: dict = {}
        for pid, o in m.options().items():
            if o.default_qty:
                out[pid] = {"qty": o.default_qty, **self.defaults(o.model)} if o.model else o.default_qty
        return out

    def _split(self, model_id: str, selection: dict) -> dict[str, tuple[int, dict | None]]:
        """option -> (qty, sub-selection or None)."""
        m = self.model(model_id)
        out = {}
        for pid, v in selection.items():
            if isinstance(v, dict):
                sub = {k: x for k, x in v.items() if k != "qty"}
                out[pid] = (int(v.get("qty", 1)), sub)
            else:
                o = m.options().get(pid)
                out[pid] = (int(v), self.defaults(o.model) if o is not None and o.model else None)
        return out

    def validate(self, model_id: str, selection: dict) -> list[str]:
        """Every violated rule of the configuration, in words (an empty list: it is valid)."""
        return self._validate(model_id, selection, self.model(model_id).model_id)

    def _validate(self, model_id: str, selection: dict, where: str) -> list[str]:
        m = self.model(model_id)
        opts = m.options()
        sel = self._split(model_id, selection)
        errs = []
        for pid, (q, _) in sel.items():
            if pid not in opts:
                errs.append(f"{where}: '{pid}' is not an option of this model; options are {sorted(opts)}")
            elif q < 0:
                errs.append(f"{where}: '{pid}' quantity {q} is negative")
            elif q and not opts[pid].min_qty <= q <= opts[pid].max_qty:
                errs.append(f"{where}: '{pid}' quantity {q} is outside {opts[pid].min_qty}..{opts[pid].max_qty}")
        qty = {pid: q for pid, (q, _) in sel.items() if pid in opts and q > 0}
        qty[m.product_id] = 1
        for g in m.groups:
            chosen = [o.product_id for o in g.options if qty.get(o.product_id, 0) > 0]
            names = [o.product_id for o in g.options]
            if len(chosen) < g.lo:
                need = "choose one of" if g.lo == 1 else f"choose at least {g.lo} of"
                what = "is required" if g.required else f"needs {g.lo} choices"
                errs.append(f"{where}: group '{g.name}' {what}: {need} {names}"
                            + (f" (chosen: {chosen})" if chosen else ""))
            if g.max_choices is not None and len(chosen) > g.max_choices:
                errs.append(f"{where}: group '{g.name}' allows at most {g.max_choices} choice"
                            f"{'s' if g.max_choices > 1 else ''}, got {len(chosen)}: {chosen}")
        for c in m.constraints:
            a, b = qty.get(c.product, 0), qty.get(c.other, 0)
            if c.kind == "requires" and a and not b:
                errs.append(f"{where}: '{c.product}' requires '{c.other}', which is not chosen")
            elif c.kind == "excludes" and a and b:
                errs.append(f"{where}: '{c.product}' and '{c.other}' exclude each other; choose one")
            elif c.kind == "ratio" and a:
                need = c.ratio * a
                bad = {"at_least": b < need - 1e-9, "at_most": b > need + 1e-9, "exactly": abs(b - need) > 1e-9}[c.mode]
                if bad:
                    errs.append(f"{where}: '{c.other}' quantity {b} must be {c.mode.replace('_', ' ')} "
                                f"{_fmt(c.ratio)} x '{c.product}' quantity {a} = {_fmt(need)}")
        for pid, (q, sub) in sel.items():
            if pid in opts and q > 0 and opts[pid].model:
                errs += self._validate(opts[pid].model, sub or {}, f"{where} > {pid}")
        return errs

    # -- price and order lines -----------------------------------------------------------------
    def price(self, model_id: str, selection: dict, qty: int = 1) -> pd.DataFrame:
        """The configured price, one row per priced item (``path, product_id, qty, unit_price,
        amount``; quantities multiplied down the levels); raises if the selection is invalid.
        The total is ``.amount.sum()``."""
        errs = self.validate(model_id, selection)
        if errs:
            raise ValueError("invalid configuration:\n  " + "\n  ".join(errs))
        m = self.model(model_id)
        rows = [(m.model_id, m.product_id, qty, self.catalog[m.product_id].base_price)]
        rows += self._rows(model_id, selection, qty, m.model_id)
        df = pd.DataFrame(rows, columns=["path", "product_id", "qty", "unit_price"])
        df["amount"] = df["qty"] * df["unit_price"]
        return df

    def _rows(self, model_id: str, selection: dict, mult: int, path: str) -> list[tuple]:
        opts = self.model(model_id).options()
        rows = []
        for pid, (q, sub) in self._split(model_id, selection).items():
            if q <= 0:
                continue
            o = opts[pid]
            unit = self.catalog[pid].base_price if o.price is None else o.price
            rows.append((path, pid, q * mult, unit))
            if o.model:
                rows += self._rows(o.model, sub or {}, q * mult, f"{path} > {pid}")
        return rows

    def lines(self, model_id: str, selection: dict, qty: int = 1) -> pd.DataFrame:
        """Order lines (``product_id, qty, bom_price``) of the configured product, for the price
        books (:func:`crmsim.cpq.pricing.price_lines`); ``bom_price`` is the configured unit price."""
        b = self.price(model_id, selection, qty)
        return (b.groupby("product_id", sort=False, as_index=False)
                 .agg(qty=("qty", "sum"), bom_price=("unit_price", "first")))

    # -- the constraint program ----------------------------------------------------------------
    def _program(self, model_id: str, fixed: dict | None = None):
        need("ortools", "the configurator's solver (CP-SAT)")
        from ortools.sat.python import cp_model

        cp = cp_model.CpModel()
        tree: dict = {}

        def build(mid: str, on, path: tuple, fix: dict | None) -> dict:
            m = self.model(mid)
            node: dict = {}
            qv, sv = {}, {}
            for pid, o in m.options().items():
                name = "/".join((*path, pid))
                q = cp.NewIntVarFromDomain(cp_model.Domain.FromIntervals([[0, 0], [o.min_qty, o.max_qty]]), name)
                s = cp.NewBoolVar(name + "?")
                cp.Add(q >= 1).OnlyEnforceIf(s)
                cp.Add(q == 0).OnlyEnforceIf(s.Not())
                if on is not None:
                    cp.AddImplication(s, on)   # nothing below an option that is not chosen
                qv[pid], sv[pid] = q, s
            for g in m.groups:
                n = sum(sv[o.product_id] for o in g.options)
                for ct in ([n >= g.lo] if g.lo else []) + ([n <= g.max_choices] if g.max_choices is not None else []):
                    c = cp.Add(ct)
                    if on is not None:
                        c.OnlyEnforceIf(on)
            one = 1 if on is None else on
            for c in m.constraints:
                sa = one if c.product == m.product_id else sv[c.product]
                sb = one if c.other == m.product_id else sv[c.other]
                if c.kind == "requires":
                    if isinstance(sb, int):
                        continue  # the configured product itself is always there
                    if isinstance(sa, int):
                        cp.Add(sb == 1)
                    else:
                        cp.AddImplication(sa, sb)
                elif c.kind == "excludes":
                    cp.Add(sa + sb <= 1)
                else:
                    qa = one if c.product == m.product_id else qv[c.product]
                    qb = one if c.other == m.product_id else qv[c.other]
                    r = Fraction(c.ratio).limit_denominator(1000)
                    expr = {"at_least": qb * r.denominator >= qa * r.numerator,
                            "at_most": qb * r.denominator <= qa * r.numerator,
                            "exactly": qb * r.denominator == qa * r.numerator}[c.mode]
                    ct = cp.Add(expr)
                    if not isinstance(sa, int):
                        ct.OnlyEnforceIf(sa)
            for pid, (q, _sub) in (self._split(mid, fix).items() if fix else []):
                if pid in qv:
                    cp.Add(qv[pid] == q)
            for pid, o in m.options().items():
                sub_fix = None
                if fix and pid in fix and isinstance(fix[pid], dict):
                    sub_fix = {k: x for k, x in fix[pid].items() if k != "qty"}
                node[pid] = (qv[pid], build(o.model, sv[pid], (*path, pid), sub_fix) if o.model else None)
            return node

        tree = build(model_id, None, (), fixed)
        return cp, tree

    def _read(self, solver, node: dict) -> dict:
        out: dict = {}
        for pid, (q, sub) in node.items():
            v = int(solver.Value(q))
            if v:
                out[pid] = {"qty": v, **self._read(solver, sub)} if sub is not None else v
        return out

    def _max_cost(self, model_id: str) -> int:
        """An upper bound of a model's option cost per unit (every option at its maximum)."""
        tot = 0
        for pid, o in self.model(model_id).options().items():
            unit = self.catalog[pid].base_price if o.price is None else o.price
            tot += o.max_qty * (unit + (self._max_cost(o.model) if o.model else 0))
        return tot

    def all_configurations(self, model_id: str, limit: int = 10_000) -> list[dict]:
        """Every valid configuration (solved with CP-SAT); raises if there are more than ``limit``."""
        need("ortools", "the configurator's solver (CP-SAT)")
        from ortools.sat.python import cp_model

        cp, tree = self._program(model_id)
        found: list[dict] = []
        conf = self

        class Collect(cp_model.CpSolverSolutionCallback):
            def on_solution_callback(self) -> None:
                found.append(conf._read(self, tree))
                if len(found) > limit:
                    self.StopSearch()

        solver = cp_model.CpSolver()
        solver.parameters.enumerate_all_solutions = True
        solver.parameters.num_workers = 1
        solver.Solve(cp, Collect())
        if len(found) > limit:
            raise ValueError(f"model '{model_id}' has more than {limit} valid configurations; raise `limit` "
                             f"or fix more options")
        return found

    def cheapest(self, model_id: str, partial: dict | None = None) -> dict:
        """The lowest-priced valid configuration that keeps the quantities in ``partial``; raises
        naming the model when no configuration can satisfy the rules."""
        need("ortools", "the configurator's solver (CP-SAT)")
        from ortools.sat.python import cp_model

        unknown = sorted(set(partial or {}) - set(self.model(model_id).options()))
        if unknown:
            raise ValueError(f"model '{model_id}': {unknown} are not options of the model")
        cp, tree = self._program(model_id, partial or {})

        def cost(mid: str, node: dict):
            opts = self.model(mid).options()
            terms = []
            for pid, (q, sub) in node.items():
                o = opts[pid]
                terms.append(q * (self.catalog[pid].base_price if o.price is None else o.price))
                if sub is not None:  # the sub-model's options count once per unit of the option
                    hi = self._max_cost(o.model)
                    per_unit = cp.NewIntVar(0, hi, f"cost/{pid}")
                    cp.Add(per_unit == cost(o.model, sub))
                    total = cp.NewIntVar(0, hi * o.max_qty, f"cost*{pid}")
                    cp.AddMultiplicationEquality(total, [q, per_unit])
                    terms.append(total)
            return sum(terms)

        cp.Minimize(cost(model_id, tree))
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = 1
        status = solver.Solve(cp)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            raise ValueError(f"model '{model_id}': no valid configuration keeps {partial}")
        return self._read(solver, tree)
