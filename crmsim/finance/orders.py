"""The order centre (FEATURES L2C-6): orders from every scenario (a rep ordering for a customer,
a dealer, an order taken on a visit) and every front end (web, mobile, mini-program, H5) in one
table, with order lines carrying their product form; and the fulfilment events each form goes
through (physical, virtual, service, project), checked in order."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["SCENARIOS", "FRONT_ENDS", "FORM_EVENTS", "validate_orders", "check_fulfilment",
           "project_budget", "renewals"]

SCENARIOS = ("rep_on_behalf", "dealer", "visit", "self_service")
FRONT_ENDS = ("web", "mobile", "mini_program", "h5", "crm")
#: Fulfilment events per product form, in their normal order (returns/exchanges may follow).
FORM_EVENTS = {
    "physical": ("order_confirmed", "left_warehouse", "shipped", "signed", "returned", "exchanged"),
    "virtual": ("order_confirmed", "took_effect", "activated", "consumed", "confirmed", "renewed"),
    "service": ("order_confirmed", "booked", "took_effect", "delivered", "consumed", "confirmed", "rated"),
    "project": ("order_confirmed", "milestone_confirmed", "hours_logged", "cost_booked"),
}
_ORDERED = {f: [e for e in ev if e not in ("returned", "exchanged", "renewed", "hours_logged", "cost_booked",
                                             "milestone_confirmed", "rated")] for f, ev in FORM_EVENTS.items()}


def validate_orders(orders: pd.DataFrame, lines: pd.DataFrame) -> pd.DataFrame:
    """Problems of an order centre extract, one row each (``order_id, problem``); empty when all
    is well: unknown scenario / front end / product form, lines of unknown orders, orders without
    lines, non-positive quantities, prices not in integer cents.

    Examples
    --------
    >>> orders = pd.DataFrame({"order_id": ["o1", "o2"], "scenario": ["dealer", "fax"], "front_end": ["web", "web"]})
    >>> lines = pd.DataFrame({"order_id": ["o1"], "line_no": [1], "form": ["physical"], "qty": [2], "unit_price": [1000]})
    >>> validate_orders(orders, lines).values.tolist()
    [['o2', "unknown scenario 'fax'; allowed ['rep_on_behalf', 'dealer', 'visit', 'self_service']"], ['o2', 'order without lines']]
    """
    probs = []
    for col, allowed in (("scenario", SCENARIOS), ("front_end", FRONT_ENDS)):
        bad = orders[~orders[col].isin(allowed)]
        probs += [(o, f"unknown {col} {v!r}; allowed {list(allowed)}") for o, v in zip(bad["order_id"], bad[col])]
    bad = lines[~lines["form"].isin(FORM_EVENTS)]
    probs += [(o, f"line {ln}: unknown product form {v!r}") for o, ln, v in zip(bad["order_id"], bad["line_no"], bad["form"])]
    orphan = lines[~lines["order_id"].isin(orders["order_id"])]
    probs += [(o, f"line {ln}: no such order") for o, ln in zip(orphan["order_id"], orphan["line_no"])]
    empty = orders[~orders["order_id"].isin(lines["order_id"])]
    probs += [(o, "order without lines") for o in empty["order_id"]]
    qty = lines[lines["qty"] <= 0]
    probs += [(o, f"line {ln}: quantity must be > 0") for o, ln in zip(qty["order_id"], qty["line_no"])]
    if not pd.api.types.is_integer_dtype(lines["unit_price"]):
        probs.append((None, f"unit_price must be integer cents, got {lines['unit_price'].dtype}"))
    return pd.DataFrame(probs, columns=["order_id", "problem"])


def check_fulfilment(lines: pd.DataFrame, events: pd.DataFrame) -> pd.DataFrame:
    """Per order line: the events seen, and problems: an event not used by the line's form, or the
    form's main events out of order (e.g. signed before shipped).

    Examples
    --------
    >>> lines = pd.DataFrame({"order_id": ["o1"], "line_no": [1], "form": ["physical"]})
    >>> ev = pd.DataFrame({"order_id": "o1", "line_no": 1, "event": ["order_confirmed", "signed", "shipped"],
    ...                    "t": pd.to_datetime(["2025-01-01", "2025-01-02", "2025-01-04"])})
    >>> check_fulfilment(lines, ev)["problems"].tolist()
    [['events out of order: order_confirmed -> signed -> shipped']]
    """
    ev = events.sort_values("t", kind="stable")
    rows = []
    for (o, ln), g in ev.groupby(["order_id", "line_no"], sort=False):
        line = lines[(lines["order_id"] == o) & (lines["line_no"] == ln)]
        if line.empty:
            rows.append({"order_id": o, "line_no": ln, "events": g["event"].tolist(), "problems": ["no such order line"]})
            continue
        form = line["form"].iloc[0]
        seen = g["event"].tolist()
        problems = [f"event {e!r} is not a {form} event" for e in seen if e not in FORM_EVENTS[form]]
        main = [e for e in seen if e in _ORDERED[form]]
        order = [_ORDERED[form].index(e) for e in main]
        if any(a > b for a, b in zip(order, order[1:])):
            problems.append("events out of order: " + " -> ".join(main))
        rows.append({"order_id": o, "line_no": ln, "events": seen, "problems": problems})
    return pd.DataFrame(rows)


def project_budget(events: pd.DataFrame, budgets: pd.DataFrame) -> pd.DataFrame:
    """Project lines: hours and cost booked against budget (``budgets``: ``order_id, line_no,
    budget_hours, budget_cost``; ``events`` of kind ``hours_logged`` / ``cost_booked`` carry
    ``value``), with the share of the budget used and an over-budget flag.

    Examples
    --------
    >>> ev = pd.DataFrame({"order_id": "o1", "line_no": 1, "event": ["hours_logged", "cost_booked"],
    ...                    "t": pd.to_datetime(["2025-01-02", "2025-01-03"]), "value": [30, 500]})
    >>> b = project_budget(ev, pd.DataFrame({"order_id": ["o1"], "line_no": [1], "budget_hours": [40], "budget_cost": [400]}))
    >>> b[["hours_used", "cost_used", "over_budget"]].values.tolist()
    [[0.75, 1.25, True]]
    """
    e = events[events["event"].isin(["hours_logged", "cost_booked"])]
    act = e.pivot_table(index=["order_id", "line_no"], columns="event", values="value", aggfunc="sum", fill_value=0)
    out = budgets.set_index(["order_id", "line_no"]).join(act).fillna(0)
    out["hours_used"] = out.get("hours_logged", 0) / out["budget_hours"].replace(0, np.nan)
    out["cost_used"] = out.get("cost_booked", 0) / out["budget_cost"].replace(0, np.nan)
    out["over_budget"] = (out["hours_used"] > 1) | (out["cost_used"] > 1)
    return out.reset_index()


def renewals(activated_at, every_months: int, until) -> list[pd.Timestamp]:
    """Renewal dates of a virtual product activated at ``activated_at`` renewed every
    ``every_months`` months, up to ``until`` (each renewal is a fulfilment event that recognises
    a new receivable).

    Examples
    --------
    >>> [str(d.date()) for d in renewals("2025-01-31", 1, "2025-04-30")]
    ['2025-02-28', '2025-03-31', '2025-04-30']
    """
    start, end = pd.Timestamp(activated_at), pd.Timestamp(until)
    out, k = [], 1
    while (d := start + pd.DateOffset(months=every_months * k)) <= end:
        out.append(d)
        k += 1
    return out
