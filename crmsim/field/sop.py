"""The visit SOP (FEATURES SFE): a visit is structured steps with required fields; a visit record
validates against its SOP; form data becomes tidy tables."""

from __future__ import annotations

import pandas as pd
from pydantic import Field, model_validator

from crmsim.config import Config

__all__ = ["Step", "SOP", "STORE_VISIT"]


class Step(Config):
    """One step of a visit's standard operating procedure: its ``name``, whether it is
    ``required``, and the form ``fields`` it must record.

    Examples
    --------
    >>> import pandas as pd
    >>> sop = SOP(steps=[Step(name="check_in"), Step(name="shelf_check", fields=("facings",)), Step(name="order", required=False)])
    >>> steps = pd.DataFrame({"visit_id": ["v1", "v1"], "step": ["shelf_check", "check_in"], "seq": [1, 2], "facings": [6, None]})
    >>> sop.validate_visits(steps)[["ok", "out_of_order"]].values.tolist()
    [[False, True]]
    """

    name: str
    required: bool = True
    fields: tuple[str, ...] = ()


class SOP(Config):
    """Ordered steps. A visit's steps table has ``visit_id, step, seq`` and one column per form
    field (or a ``fields`` dict column).

    Examples
    --------
    >>> import pandas as pd
    >>> sop = SOP(steps=[Step(name="check_in"), Step(name="shelf_check", fields=("facings",))])
    >>> steps = pd.DataFrame({"visit_id": ["v1", "v2"], "step": ["check_in", "check_in"], "seq": [1, 1], "facings": [None, None]})
    >>> sop.validate_visits(steps)[["visit_id", "ok", "missing_steps"]].values.tolist()
    [['v1', False, ['shelf_check']], ['v2', False, ['shelf_check']]]
    """

    name: str = "visit"
    steps: tuple[Step, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> SOP:
        names = [s.name for s in self.steps]
        if len(set(names)) != len(names):
            raise ValueError(f"step names must be unique, got {names}")
        return self

    def validate_visits(self, steps: pd.DataFrame) -> pd.DataFrame:
        """One row per visit: ``ok``, ``missing_steps``, ``missing_fields`` (step.field),
        ``out_of_order`` (steps done in another order than the SOP's), ``unknown_steps``."""
        for c in ("visit_id", "step", "seq"):
            if c not in steps.columns:
                raise KeyError(f"visit steps: column '{c}' missing; columns are {list(steps.columns)}")
        order = {s.name: k for k, s in enumerate(self.steps)}
        rows = []
        for vid, g in steps.groupby("visit_id", sort=False):
            g = g.sort_values("seq")
            done = g["step"].tolist()
            missing = [s.name for s in self.steps if s.required and s.name not in done]
            unknown = [s for s in done if s not in order]
            known = [order[s] for s in done if s in order]
            out_of_order = any(a > b for a, b in zip(known, known[1:]))
            mf = []
            for s in self.steps:
                if s.name not in done:
                    continue
                row = g[g["step"] == s.name].iloc[-1]
                values = row["fields"] if "fields" in g.columns and isinstance(row.get("fields"), dict) else row
                for f in s.fields:
                    v = values.get(f) if isinstance(values, dict) else (values[f] if f in values.index else None)
                    if v is None or (isinstance(v, float) and pd.isna(v)) or v == "":
                        mf.append(f"{s.name}.{f}")
            rows.append({"visit_id": vid, "ok": not (missing or mf or out_of_order or unknown),
                         "missing_steps": missing, "missing_fields": mf, "out_of_order": out_of_order,
                         "unknown_steps": unknown})
        return pd.DataFrame(rows)

    def form_table(self, steps: pd.DataFrame) -> pd.DataFrame:
        """Form data as a tidy table: ``visit_id, step, field, value``."""
        rows = []
        for _, r in steps.iterrows():
            s = next((x for x in self.steps if x.name == r["step"]), None)
            if s is None:
                continue
            src = r["fields"] if "fields" in steps.columns and isinstance(r.get("fields"), dict) else r
            for f in s.fields:
                v = src.get(f) if isinstance(src, dict) else (src[f] if f in src.index else None)
                rows.append({"visit_id": r["visit_id"], "step": s.name, "field": f, "value": v})
        return pd.DataFrame(rows, columns=["visit_id", "step", "field", "value"])


#: A store-check visit for consumer goods: check in, shelf check, order taking, photos, survey,
#: check out.
STORE_VISIT = SOP(name="store visit", steps=(
    Step(name="check_in", fields=("lat", "lon")),
    Step(name="shelf_check", fields=("facings", "out_of_stock")),
    Step(name="order", required=False, fields=("order_value",)),
    Step(name="photos", fields=("photo_count",)),
    Step(name="survey", required=False, fields=("satisfaction",)),
    Step(name="check_out", fields=("lat", "lon")),
))
