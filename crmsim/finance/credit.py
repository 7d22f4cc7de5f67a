"""Credit control (FEATURES L2C-6): exposure against limits at configurable check points, with a
fallback to group limits, holds and releases logged; risk grades and early warnings. Money in
minor units."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field

from crmsim.config import Config

__all__ = ["RISK_GRADES", "CreditPolicy", "credit_limits", "exposure", "within_limit", "check_order", "risk_grade", "early_warnings",
           "change_limit", "check_limits"]

#: the default risk grades, safest first: what :func:`risk_grade` answers and the credit
#: simulation's default book uses (a scenario or a calibration may use its own names)
RISK_GRADES: tuple[str, ...] = ("A", "B", "C", "D", "E")

CheckPoint = Literal["quote", "order", "delivery", "invoice"]
ExposurePart = Literal["receivables", "open_orders"]


class CreditPolicy(Config):
    """Where credit is checked and how limits fall back.

    ``check_points``: the steps at which an order is checked. A customer without its own limit
    uses its group's (``group_id`` of the customers table); with neither, ``default_limit``.
    An order is blocked only when exposure *strictly* exceeds the limit.

    Examples
    --------
    >>> p = CreditPolicy(check_points=["order"], default_limit=50_000, exposure_at={"invoice": ["receivables"]})
    >>> p.check_points, p.default_limit, p.group_limits_shared
    (('order',), 50000, True)
    """

    check_points: tuple[CheckPoint, ...] = ("order", "delivery")
    default_limit: int = Field(default=0, ge=0)
    group_limits_shared: bool = True
    #: what the exposure counts at each check point (default: open receivables and unbilled open
    #: orders everywhere); e.g. ``{invoice = ["receivables"]}``: at invoice the order is being billed,
    #: so other open orders are not counted (ERPNext checks the outstanding at the invoice)
    exposure_at: dict[CheckPoint, tuple[ExposurePart, ...]] = {}
    #: a user with this role may pass an order over its limit: the hold becomes a warning, logged
    #: as an override (ERPNext's "role allowed to bypass credit limit"); none = nobody
    controller_role: str | None = "credit_controller"


def within_limit(exposure_after, limit):
    """The credit rule, vectorised: an order passes unless the exposure including it is
    *strictly* greater than the limit (exposure == limit passes; one cent more blocks).

    Examples
    --------
    >>> within_limit([99_999, 100_000, 100_001], 100_000)
    array([ True,  True, False])
    """
    return np.asarray(exposure_after) <= np.asarray(limit)


def exposure(customer_id: str, receivables: pd.DataFrame, open_orders: pd.DataFrame,
             parts=("receivables", "open_orders")) -> int:
    """Open receivables + unbilled open orders of a customer (minor units); ``parts`` says which
    of the two count (:attr:`CreditPolicy.exposure_at`).

    Examples
    --------
    >>> rec = pd.DataFrame({"customer_id": ["a", "a", "b"], "open": [30_000, 20_000, 5_000]})
    >>> orders = pd.DataFrame({"customer_id": ["a"], "unbilled": [10_000]})
    >>> exposure("a", rec, orders)
    60000
    >>> exposure("a", rec, orders, parts=("receivables",))
    50000
    """
    r = int(receivables.loc[receivables["customer_id"] == customer_id, "open"].sum()) if "receivables" in parts else 0
    o = int(open_orders.loc[open_orders["customer_id"] == customer_id, "unbilled"].sum()) \
        if "open_orders" in parts and open_orders is not None and len(open_orders) else 0
    return r + o


def check_order(order: dict, customers: pd.DataFrame, receivables: pd.DataFrame, open_orders: pd.DataFrame,
                policy: CreditPolicy, *, point: CheckPoint = "order", log: list | None = None,
                group_tree=None, tree_limits: dict | pd.Series | None = None, user_roles=()) -> dict:
    """Check one order (``order_id, customer_id, amount``) at a check point.

    Returns ``ok``, ``limit``, ``limit_source`` (customer / group / default), ``exposure``
    (including this order) and ``reason``. With group limits shared, the exposure and limit are
    the group's. Holds and releases are appended to ``log``.

    With ``group_tree`` (a parent -> child forest from :func:`crmsim.graphs.org.org_tree`) and
    ``tree_limits`` (limit per entity: a group, a subsidiary, a customer), limits are shared down
    a multi-level group structure: the order passes only if it fits under the limit of the
    customer and of every ancestor that has one (:func:`crmsim.graphs.org.available_credit`);
    ``limit_source`` names the binding entity.

    The exposure counts what :attr:`CreditPolicy.exposure_at` says for ``point``. A user whose
    ``user_roles`` include the policy's ``controller_role`` passes an order over the limit with a
    ``warning`` (``override`` in the log) instead of a hold.

    Examples
    --------
    >>> cust = pd.DataFrame({"customer_id": ["a"], "credit_limit": [100_000]})
    >>> rec = pd.DataFrame({"customer_id": ["a"], "open": [80_000]})
    >>> none = pd.DataFrame({"customer_id": [], "unbilled": []})
    >>> log = []
    >>> r = check_order({"order_id": "o1", "customer_id": "a", "amount": 30_000}, cust, rec, none, CreditPolicy(), log=log)
    >>> r["ok"], r["limit_source"], r["reason"]
    (False, 'customer', 'exposure 110000 exceeds the customer limit 100000 by 10000')
    >>> log[0]["action"]
    'hold'
    >>> check_order({"order_id": "o1", "customer_id": "a", "amount": 30_000}, cust, rec, none, CreditPolicy(),
    ...             user_roles=["credit_controller"])["warning"]
    'exposure 110000 exceeds the customer limit 100000 by 10000'
    """
    if point not in policy.check_points:
        return {"ok": True, "reason": f"no credit check at '{point}'", "limit": None, "exposure": None,
                "limit_source": None}
    c = customers.set_index("customer_id")
    cid = order["customer_id"]
    if cid not in c.index:
        raise KeyError(f"check_order: unknown customer_id '{cid}'")
    if group_tree is not None:
        return _check_in_tree(order, cid, group_tree, tree_limits, receivables, open_orders, policy, point, log,
                              user_roles)
    lim = credit_limits(customers, policy).loc[cid]
    members = c.index[c["group_id"] == lim["exposure_of"]].tolist() if lim["exposure_scope"] == "group" else [cid]
    limit, source = int(lim["limit"]), lim["limit_source"]
    parts = policy.exposure_at.get(point, ("receivables", "open_orders"))
    exp = sum(exposure(m, receivables, open_orders, parts) for m in members) + int(order["amount"])
    return _decide(order, cid, point, log, exp, limit, source, controller=_controls(policy, user_roles))


def credit_limits(customers: pd.DataFrame, policy: CreditPolicy) -> pd.DataFrame:
    """Each customer's credit limit and where it comes from, vectorised: its own ``credit_limit``;
    else the ``group_limit`` of its ``group_id`` (the first one given in the group); else the
    policy's ``default_limit``.

    Returns, indexed by ``customer_id``: ``limit``, ``limit_source`` (customer / group /
    default), and whose exposure counts against it: ``exposure_scope`` (customer, or group when
    the group limit is shared by its members) and ``exposure_of`` (the customer or group id).
    Under a shared group limit, the exposure is that of every member of the group, those with
    their own limit included (what they owe, the group owes).

    Examples
    --------
    >>> cust = pd.DataFrame({"customer_id": ["a", "b", "c", "d"], "credit_limit": [50_000, None, None, None],
    ...                      "group_id": ["G", "G", None, "H"], "group_limit": [None, 200_000, None, None]})
    >>> credit_limits(cust, CreditPolicy(default_limit=10_000))  # doctest: +NORMALIZE_WHITESPACE
                  limit limit_source exposure_scope exposure_of
    customer_id
    a             50000     customer       customer           a
    b            200000        group          group           G
    c             10000      default       customer           c
    d             10000      default       customer           d
    """
    from crmsim.tables import need_columns

    need_columns(customers, ["customer_id"], "customers")
    ids = customers["customer_id"]
    n = len(customers)
    own = pd.to_numeric(customers["credit_limit"], errors="coerce").to_numpy(float) \
        if "credit_limit" in customers.columns else np.full(n, np.nan)
    group = customers["group_id"].to_numpy(object) if "group_id" in customers.columns else np.full(n, None, object)
    in_group = pd.notna(group)
    glim = np.full(n, np.nan)
    if "group_limit" in customers.columns and in_group.any():
        gl = pd.to_numeric(customers["group_limit"], errors="coerce")
        first = gl[in_group].groupby(group[in_group], sort=False).agg(lambda s: s.dropna().iloc[0] if s.notna().any()
                                                                      else np.nan)
        glim[in_group] = first.reindex(group[in_group]).to_numpy(float)
    has_own, has_group = ~np.isnan(own), np.isnan(own) & ~np.isnan(glim)
    limit = np.where(has_own, own, np.where(has_group, glim, policy.default_limit))
    source = np.where(has_own, "customer", np.where(has_group, "group", "default"))
    shared = has_group & policy.group_limits_shared
    return pd.DataFrame({"limit": np.round(limit).astype(np.int64), "limit_source": source,
                         "exposure_scope": np.where(shared, "group", "customer"),
                         "exposure_of": np.where(shared, group, ids.to_numpy(object))},
                        index=pd.Index(ids, name="customer_id"))


def _controls(policy: CreditPolicy, user_roles) -> bool:
    return policy.controller_role is not None and policy.controller_role in set(user_roles or ())


def _check_in_tree(order, cid, tree, limits, receivables, open_orders, policy, point, log, user_roles=()) -> dict:
    from crmsim.graphs.org import available_credit

    if cid not in tree:
        raise KeyError(f"check_order: customer_id '{cid}' is not in the group tree")
    if limits is None:
        raise ValueError("check_order: group_tree needs tree_limits (limit per entity)")
    # open receivables + unbilled orders per entity, in one pass (what exposure() gives one at a time)
    parts = policy.exposure_at.get(point, ("receivables", "open_orders"))
    r = receivables.groupby("customer_id")["open"].sum() if "receivables" in parts else pd.Series(dtype=float)
    o = open_orders.groupby("customer_id")["unbilled"].sum() if "open_orders" in parts else pd.Series(dtype=float)
    exp = r.add(o, fill_value=0).reindex(list(tree.nodes), fill_value=0).astype(np.int64)
    exp[cid] += int(order["amount"])
    av = available_credit(tree, limits, exp).loc[cid]
    b = av["binding"]
    if b is None or pd.isna(b):   # nobody up the tree has a limit
        return _decide(order, cid, point, log, exp[cid], policy.default_limit, "default",
                       controller=_controls(policy, user_roles))
    limit = int(pd.Series(limits, dtype=float)[b])
    used = int(round(limit - av["headroom"]))      # the binding entity's rolled-up exposure
    return _decide(order, cid, point, log, used, limit, "customer" if b == cid else f"group {b}",
                   controller=_controls(policy, user_roles))


def _decide(order, cid, point, log, exp: int, limit: int, source: str, *, controller: bool = False) -> dict:
    """The credit rule on one exposure and limit, with the hold/release log entry; a credit
    controller's order over the limit passes with a warning (``override``)."""
    within = bool(within_limit(exp, limit))
    over = None if within else f"exposure {exp} exceeds the {source} limit {limit} by {exp - limit}"
    ok = within or controller
    result = {"ok": ok, "limit": limit, "limit_source": source, "exposure": exp,
              "reason": None if ok else over, "warning": over if (ok and over) else None}
    if log is not None:
        log.append({"order_id": order.get("order_id"), "customer_id": cid, "point": point,
                    "action": "release" if within else ("override" if controller else "hold"), "exposure": exp,
                    "limit": limit, "reason": over})
    return result


def risk_grade(customers: pd.DataFrame, *, days_late_col: str = "avg_days_late",
               score_col: str | None = "external_score") -> pd.Series:
    """A risk grade A-E from payment behaviour (average days paid late) and, if present, an
    external score (0-100, higher is safer): each mapped to 0-1 risk, averaged, then graded.

    Examples
    --------
    >>> c = pd.DataFrame({"avg_days_late": [0, 10, 45, 90], "external_score": [90, 70, None, 10]})
    >>> risk_grade(c).tolist()
    ['A', 'B', 'E', 'E']
    """
    late = np.clip(customers[days_late_col].fillna(0).to_numpy(float) / 60, 0, 1)
    risk = late
    if score_col and score_col in customers.columns:
        ext = 1 - np.clip(customers[score_col].fillna(50).to_numpy(float) / 100, 0, 1)
        risk = (late + ext) / 2
    grade = np.select([risk < 0.15, risk < 0.3, risk < 0.45, risk < 0.6], list(RISK_GRADES[:4]), RISK_GRADES[4])
    return pd.Series(grade, index=customers.index, name="risk_grade")


def early_warnings(history: pd.DataFrame, *, utilisation_alert: float = 0.9) -> pd.DataFrame:
    """Warnings per customer from monthly snapshots (``customer_id, period, days_past_due,
    exposure, credit_limit``): days past due rising three snapshots in a row, and limit
    utilisation above ``utilisation_alert`` in the latest snapshot.

    Examples
    --------
    >>> h = pd.DataFrame({"customer_id": ["a"] * 3 + ["b"] * 3, "period": ["2025-01", "2025-02", "2025-03"] * 2,
    ...                   "days_past_due": [0, 5, 12, 10, 3, 0], "exposure": [50, 60, 95, 20, 20, 20],
    ...                   "credit_limit": [100] * 6})
    >>> early_warnings(h)[["customer_id", "warnings"]].values.tolist()
    [['a', ['days past due rising', 'limit utilisation 95%']], ['b', []]]
    """
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


def check_limits(limits: pd.DataFrame) -> None:
    """One credit limit per customer and company (``customer_id``, ``company`` where several
    companies share customers, ``credit_limit`` >= 0): an error naming the repeated pairs, as
    ERPNext refuses a second limit for the same company.

    Examples
    --------
    >>> check_limits(pd.DataFrame({"customer_id": ["a", "b"], "credit_limit": [100_000, 50_000]}))
    >>> check_limits(pd.DataFrame({"customer_id": ["a", "a"], "credit_limit": [100_000, 50_000]}))
    Traceback (most recent call last):
    ...
    crmsim.errors.InputError: credit limits: more than one limit for customer_id ['a']; one per customer
    """
    from crmsim.errors import InputError

    keys = ["customer_id", *(["company"] if "company" in limits.columns else [])]
    miss = [c for c in [*keys, "credit_limit"] if c not in limits.columns]
    if miss:
        raise InputError(f"credit limits: column(s) {miss} missing; columns are {list(limits.columns)}")
    dup = limits[limits.duplicated(keys, keep=False)]
    if len(dup):
        pairs = dup[keys].drop_duplicates().astype(str).agg(" / ".join, axis=1).tolist()
        raise InputError(f"credit limits: more than one limit for {' / '.join(keys)} {pairs[:5]}; one per "
                         f"{'customer and company' if 'company' in keys else 'customer'}")
    neg = limits.index[pd.to_numeric(limits["credit_limit"], errors="coerce").fillna(-1) < 0].tolist()
    if neg:
        raise InputError(f"credit limits: rows {neg[:5]} have a credit_limit that is not an amount >= 0")


def change_limit(limits: pd.DataFrame, customer_id: str, new_limit: int, receivables: pd.DataFrame,
                 open_orders: pd.DataFrame | None = None, *, company: str | None = None,
                 parts=("receivables", "open_orders")) -> pd.DataFrame:
    """The limits table with one customer's limit changed, refused (a named error) when the new
    limit is below what the customer already owes and has on order (``parts``), as ERPNext
    validates it ("credit limit has to be at least the outstanding amount"); a customer without a
    row gets one.

    >>> lim = pd.DataFrame({"customer_id": ["C1"], "credit_limit": [100_000]})
    >>> rec = pd.DataFrame({"customer_id": ["C1"], "open": [60_000]})
    >>> change_limit(lim, "C1", 70_000, rec)["credit_limit"].tolist()
    [70000]
    >>> change_limit(lim, "C1", 50_000, rec)
    Traceback (most recent call last):
    ...
    crmsim.errors.InputError: credit limit of C1: 50000 is below its outstanding 60000 (receivables 60000, open orders 0); the limit has to be at least 60000
    """
    from crmsim.errors import InputError

    check_limits(limits)
    if int(new_limit) < 0:
        raise InputError(f"credit limit of {customer_id}: {new_limit} is not an amount >= 0")
    r = exposure(customer_id, receivables, None, ("receivables",)) if "receivables" in parts else 0
    o = exposure(customer_id, receivables.iloc[:0], open_orders, ("open_orders",)) \
        if open_orders is not None and "open_orders" in parts else 0
    if int(new_limit) < r + o:
        raise InputError(f"credit limit of {customer_id}: {int(new_limit)} is below its outstanding {r + o} "
                         f"(receivables {r}, open orders {o}); the limit has to be at least {r + o}")
    out = limits.copy()
    hit = out["customer_id"] == customer_id
    if "company" in out.columns:
        hit &= out["company"] == company
    if hit.any():
        out.loc[hit, "credit_limit"] = int(new_limit)
        return out
    row = {"customer_id": customer_id, "credit_limit": int(new_limit), **({"company": company} if "company" in out.columns else {})}
    return pd.concat([out, pd.DataFrame([row])], ignore_index=True)
