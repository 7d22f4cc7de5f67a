"""Credit control (FEATURES L2C-6): exposure against limits at configurable check points, with a
fallback to group limits, holds and releases logged; risk grades and early warnings. Money in
minor units."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field

from crmsim.config import Config

__all__ = ["CreditPolicy", "exposure", "within_limit", "check_order", "risk_grade", "early_warnings"]

CheckPoint = Literal["quote", "order", "delivery", "invoice"]


class CreditPolicy(Config):
    """Where credit is checked and how limits fall back.

    ``check_points``: the steps at which an order is checked. A customer without its own limit
    uses its group's (``group_id`` of the customers table); with neither, ``default_limit``.
    An order is blocked only when exposure *strictly* exceeds the limit.
    """

    check_points: tuple[CheckPoint, ...] = ("order", "delivery")
    default_limit: int = Field(default=0, ge=0)
    group_limits_shared: bool = True


def within_limit(exposure_after, limit):
    """The credit rule, vectorised: an order passes unless the exposure including it is
    *strictly* greater than the limit (exposure == limit passes; one cent more blocks)."""
    return np.asarray(exposure_after) <= np.asarray(limit)


def exposure(customer_id: str, receivables: pd.DataFrame, open_orders: pd.DataFrame) -> int:
    """Open receivables + unbilled open orders of a customer (minor units)."""
    r = int(receivables.loc[receivables["customer_id"] == customer_id, "open"].sum())
    o = int(open_orders.loc[open_orders["customer_id"] == customer_id, "unbilled"].sum())
    return r + o


def check_order(order: dict, customers: pd.DataFrame, receivables: pd.DataFrame, open_orders: pd.DataFrame,
                policy: CreditPolicy, *, point: CheckPoint = "order", log: list | None = None,
                group_tree=None, tree_limits: dict | pd.Series | None = None) -> dict:
    """Check one order (``order_id, customer_id, amount``) at a check point.

    Returns ``ok``, ``limit``, ``limit_source`` (customer / group / default), ``exposure``
    (including this order) and ``reason``. With group limits shared, the exposure and limit are
    the group's. Holds and releases are appended to ``log``.

    With ``group_tree`` (a parent -> child forest from :func:`crmsim.graphs.org.org_tree`) and
    ``tree_limits`` (limit per entity: a group, a subsidiary, a customer), limits are shared down
    a multi-level group structure: the order passes only if it fits under the limit of the
    customer and of every ancestor that has one (:func:`crmsim.graphs.org.available_credit`);
    ``limit_source`` names the binding entity.
    """
    if point not in policy.check_points:
        return {"ok": True, "reason": f"no credit check at '{point}'", "limit": None, "exposure": None,
                "limit_source": None}
    c = customers.set_index("customer_id")
    cid = order["customer_id"]
    if cid not in c.index:
        raise KeyError(f"check_order: unknown customer_id '{cid}'")
    if group_tree is not None:
        return _check_in_tree(order, cid, group_tree, tree_limits, receivables, open_orders, policy, point, log)
    own = c.at[cid, "credit_limit"] if "credit_limit" in c.columns else np.nan
    group = c.at[cid, "group_id"] if "group_id" in c.columns else None
    members = [cid]
    if pd.notna(own):
        limit, source = int(own), "customer"
    elif group is not None and pd.notna(group) and "group_limit" in c.columns and \
            c.loc[c["group_id"] == group, "group_limit"].notna().any():
        limit, source = int(c.loc[c["group_id"] == group, "group_limit"].dropna().iloc[0]), "group"
        if policy.group_limits_shared:
            members = c.index[c["group_id"] == group].tolist()
    else:
        limit, source = policy.default_limit, "default"
    exp = sum(exposure(m, receivables, open_orders) for m in members) + int(order["amount"])
    return _decide(order, cid, point, log, exp, limit, source)


def _check_in_tree(order, cid, tree, limits, receivables, open_orders, policy, point, log) -> dict:
    from crmsim.graphs.org import available_credit

    if cid not in tree:
        raise KeyError(f"check_order: customer_id '{cid}' is not in the group tree")
    if limits is None:
        raise ValueError("check_order: group_tree needs tree_limits (limit per entity)")
    # open receivables + unbilled orders per entity, in one pass (what exposure() gives one at a time)
    exp = (receivables.groupby("customer_id")["open"].sum()
           .add(open_orders.groupby("customer_id")["unbilled"].sum(), fill_value=0)
           .reindex(list(tree.nodes), fill_value=0).astype(np.int64))
    exp[cid] += int(order["amount"])
    av = available_credit(tree, limits, exp).loc[cid]
    b = av["binding"]
    if b is None or pd.isna(b):   # nobody up the tree has a limit
        return _decide(order, cid, point, log, exp[cid], policy.default_limit, "default")
    limit = int(pd.Series(limits, dtype=float)[b])
    used = int(round(limit - av["headroom"]))      # the binding entity's rolled-up exposure
    return _decide(order, cid, point, log, used, limit, "customer" if b == cid else f"group {b}")


def _decide(order, cid, point, log, exp: int, limit: int, source: str) -> dict:
    """The credit rule on one exposure and limit, with the hold/release log entry."""
    ok = bool(within_limit(exp, limit))
    result = {"ok": ok, "limit": limit, "limit_source": source, "exposure": exp,
              "reason": None if ok else f"exposure {exp} exceeds the {source} limit {limit} by {exp - limit}"}
    if log is not None:
        log.append({"order_id": order.get("order_id"), "customer_id": cid, "point": point,
                    "action": "release" if ok else "hold", "exposure": exp, "limit": limit,
                    "reason": result["reason"]})
    return result


def risk_grade(customers: pd.DataFrame, *, days_late_col: str = "avg_days_late",
               score_col: str | None = "external_score") -> pd.Series:
    """A risk grade A-E from payment behaviour (average days paid late) and, if present, an
    external score (0-100, higher is safer): each mapped to 0-1 risk, averaged, then graded."""
    late = np.clip(customers[days_late_col].fillna(0).to_numpy(float) / 60, 0, 1)
    risk = late
    if score_col and score_col in customers.columns:
        ext = 1 - np.clip(customers[score_col].fillna(50).to_numpy(float) / 100, 0, 1)
        risk = (late + ext) / 2
    grade = np.select([risk < 0.15, risk < 0.3, risk < 0.45, risk < 0.6], list("ABCD"), "E")
    return pd.Series(grade, index=customers.index, name="risk_grade")


def early_warnings(history: pd.DataFrame, *, utilisation_alert: float = 0.9) -> pd.DataFrame:
    """Warnings per customer from monthly snapshots (``customer_id, period, days_past_due,
    exposure, credit_limit``): days past due rising three snapshots in a row, and limit
    utilisation above ``utilisation_alert`` in the latest snapshot."""
    h = history.sort_values(["customer_id", "period"])
    rows = []
    for cid, g in h.groupby("customer_id"):
        d = g["days_past_due"].to_numpy(float)
        rising = len(d) >= 3 and d[-1] > d[-2] > d[-3]
        last = g.iloc[-1]
        util = last["exposure"] / last["credit_limit"] if last["credit_limit"] else np.inf
        warn = []
        if rising:
            warn.append("days past due rising")
        if util > utilisation_alert:
            warn.append(f"limit utilisation {util:.0%}")
        rows.append({"customer_id": cid, "utilisation": util, "warnings": warn})
    return pd.DataFrame(rows)
