"""The scenario format reference, generated from the pydantic models a scenario is checked by: every
key of every registered model, its type, its range and its default (the documentation site's
"Scenario format" page; ``python -m crmsim.experiments.reference`` prints it as Markdown).

Nothing here is written by hand: a key added to a config class appears in the reference.
"""

from __future__ import annotations

import inspect
import types
import typing
from typing import Any

from pydantic import BaseModel

__all__ = ["field_rows", "scenario_reference"]


def _type_name(t: Any) -> str:
    """A readable type: ``int``, ``list of float``, ``"a" | "b"``, ``Gamma | LogNormal``."""
    origin = typing.get_origin(t)
    args = typing.get_args(t)
    if t is type(None):
        return "none"
    if origin is typing.Literal:
        return " \\| ".join(f'`"{a}"`' if isinstance(a, str) else f"`{a}`" for a in args)
    if origin is typing.Annotated:
        return _type_name(args[0])
    if origin in (typing.Union, types.UnionType):
        return " \\| ".join(dict.fromkeys(_type_name(a) for a in args))
    if origin in (tuple, list):
        inner = [a for a in args if a is not Ellipsis]
        return "list of " + (_type_name(inner[0]) if inner else "values")
    if origin is dict:
        return f"table of {_type_name(args[1])}" if len(args) == 2 else "table"
    if isinstance(t, type):
        return t.__name__
    return str(t).replace("typing.", "")


def _range(info) -> str:
    parts = []
    for m in info.metadata:
        for key, sym in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<"), ("min_length", "length >="),
                         ("max_length", "length <=")):
            v = getattr(m, key, None)
            if v is not None:
                parts.append(f"{sym} {v}")
    return ", ".join(parts)


def _default(info) -> str:
    if info.is_required():
        return "required"
    d = info.get_default(call_default_factory=True)
    if isinstance(d, BaseModel):
        return "(see below)"
    if isinstance(d, tuple) and d and isinstance(d[0], BaseModel):
        return f"{len(d)} item(s) (see below)"
    text = repr(d) if not isinstance(d, str) else f'"{d}"'
    return f"`{text if len(text) <= 60 else text[:57] + '...'}`"


def _models_in(t: Any) -> list[type[BaseModel]]:
    """The pydantic models a field's type refers to (inside lists, tables, unions)."""
    if isinstance(t, type) and issubclass(t, BaseModel):
        return [t]
    out = []
    for a in typing.get_args(t):
        out += _models_in(a)
    return out


def field_rows(model: type[BaseModel], prefix: str = "") -> list[tuple[type[BaseModel], str, list[dict]]]:
    """``(class, key path, rows)`` for ``model`` and every model it contains, depth first; a row per
    field: ``key, type, range, default, meaning`` (from the class's numpydoc Parameters).

    >>> from crmsim.customers.pool import ReclaimRule
    >>> cls, path, rows = field_rows(ReclaimRule, "policy.rules[].")[0]
    >>> [(r["key"], r["range"], r["default"]) for r in rows][:2]
    [('kind', '', 'required'), ('limit_days', '>= 0', 'required')]
    """
    seen: set[tuple[type, str]] = set()
    out: list[tuple[type[BaseModel], str, list[dict]]] = []

    def walk(cls: type[BaseModel], path: str) -> None:
        if (cls, path) in seen:
            return
        seen.add((cls, path))
        rows, nested = [], []
        desc = {**_commented(cls), **_described(cls)}
        for name, info in cls.model_fields.items():
            key = info.alias or name
            rows.append({"key": key, "type": _type_name(info.annotation), "range": _range(info),
                         "default": _default(info), "meaning": desc.get(name) or info.description or ""})
            for sub in _models_in(info.annotation):
                many = typing.get_origin(info.annotation) in (tuple, list, dict)
                nested.append((sub, f"{path}{key}" + ("[]" if many else "")))
        out.append((cls, path.rstrip("."), rows))
        for sub, p in nested:
            walk(sub, p + ".")

    walk(model, prefix)
    return out


def _summary(cls: type) -> str:
    """The first paragraph of the class's own docstring (not one it inherits)."""
    doc = inspect.cleandoc(cls.__dict__.get("__doc__") or "")
    return doc.split("\n\n")[0].replace("\n", " ").strip()


def _commented(cls: type) -> dict[str, str]:
    """Field meanings written as comments in the class body: ``#:`` lines above a field, or a
    ``# ...`` at the end of its line."""
    import re

    try:
        src = inspect.getsource(cls)
    except (OSError, TypeError):
        return {}
    out, above = {}, []
    for line in src.split("\n"):
        m = re.match(r"^\s+#:\s?(.*)$", line)
        if m:
            above.append(m.group(1).strip())
            continue
        f = re.match(r"^\s{4}(\w+)\s*:[^#]*?(?:#\s*(.*))?$", line)
        if f and not f.group(1).startswith("_"):
            text = " ".join([*above, f.group(2) or ""]).strip()
            if text and "noqa" not in text:
                out[f.group(1)] = text
        above = []
    return out


def _described(cls: type) -> dict[str, str]:
    """Field descriptions from the class's numpydoc ``Parameters`` section (read by numpydoc's
    own parser where it is installed, as it is for the documentation build)."""
    doc = cls.__dict__.get("__doc__")
    if not doc:
        return {}
    try:
        from numpydoc.docscrape import NumpyDocString
    except ImportError:
        return {}
    try:
        params = NumpyDocString(inspect.cleandoc(doc))["Parameters"]
    except Exception:   # a docstring numpydoc cannot read: no descriptions, never a failed build
        return {}
    out = {}
    for p in params:
        for name in p.name.split(","):
            # crmsim's docstrings often write the meaning on the name line ("kind : ``a`` or ``b``"),
            # which numpydoc reads as the type
            out[name.strip()] = " ".join([p.type, *p.desc] if p.desc and p.type else (p.desc or [p.type])).strip()
    return out


def scenario_reference() -> str:
    """The reference as Markdown: the keys every scenario has, then each model's ``[baseline]``.

    Examples
    --------
    >>> text = scenario_reference()
    >>> "credit" in text and "| `customers` |" in text
    True
    """
    from crmsim.experiments.scenario import MODELS, _ScenarioBase, scenario_class

    lines = ["# Scenario format reference", "",
             "Generated from the models `crmsim validate` checks a scenario with "
             "(`crmsim.experiments.reference`): every key, its type, its range and its default. "
             "A key that is not listed is an error naming it and the closest known keys.", ""]

    def table(rows: list[dict]) -> list[str]:
        t = ["| key | type | range | default | meaning |", "|---|---|---|---|---|"]
        t += [f"| `{r['key']}` | {r['type']} | {r['range']} | {r['default']} | {r['meaning'].replace('|', chr(92) + '|')} |"
              for r in rows]
        return t

    lines += ["## Every scenario", ""]
    for cls, path, rows in field_rows(_ScenarioBase):
        rows = [r for r in rows if r["key"] not in ("model", "baseline")]
        lines += [f"### `{path or 'top level'}` ({cls.__name__})", "", _summary(cls), "", *table(rows), ""]
    for model in sorted(MODELS):
        spec = MODELS[model]
        base = scenario_class(model).model_fields["baseline"].annotation
        lines += [f"## `model = \"{model}\"`", "", spec.description if getattr(spec, "description", "") else
                  _summary(base), ""]
        for cls, path, rows in field_rows(base, "baseline."):
            lines += [f"### `[{path}]` ({cls.__name__})", "", _summary(cls), "", *table(rows), ""]
    return "\n".join(lines).rstrip() + "\n"


if __name__ == "__main__":  # pragma: no cover
    print(scenario_reference())
