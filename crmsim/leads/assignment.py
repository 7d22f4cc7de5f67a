"""Lead assignment policies (FEATURES L2C-3): who gets the next MQL."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from crmsim.conditions import Condition, evaluate_all
from crmsim.config import Config

__all__ = ["AssignmentRule", "Assigner", "Route", "SHARED", "UNASSIGNED_REASONS", "daily_quota"]

#: Why a lead stayed unassigned.
UNASSIGNED_REASONS = ("no_eligible_rep", "capacity_full", "quota_reached", "shared_queue", "not_eligible")


def daily_quota(monthly: np.ndarray, received_24h: np.ndarray | None = None, *, force: bool = False) -> np.ndarray:
    """Odoo's daily assignment quota per rep: the monthly capacity / 30, rounded half up, less the
    leads the rep received in the last 24 hours (``force``: the whole daily quota).

    >>> daily_quota(np.array([30, 45, 100, 10]), np.array([0, 1, 5, 0])).tolist()
    [1, 1, -2, 0]
    """
    q = np.floor(np.asarray(monthly, dtype=float) / 30.0 + 0.5)
    if force or received_24h is None:
        return q.astype(int)
    return (q - np.asarray(received_24h, dtype=float)).astype(int)

#: Returned by an assigner whose policy keeps one shared queue (no owner until a rep picks it).
SHARED = -1


class Assigner:
    """The stateful side of an :class:`AssignmentRule` for a fixed team of reps.

    Examples
    --------
    >>> import numpy as np
    >>> a = Assigner("round_robin", 3)
    >>> [a.choose() for _ in range(4)]
    [0, 1, 2, 0]
    >>> a.choose(candidates=np.array([True, False, False]))      # only rep 0 may take this lead
    0
    """

    def __init__(self, policy: str, n_reps: int, *, tie_break: str = "rotation",
                 rng: np.random.Generator | None = None, start: int = 0):
        if n_reps <= 0:
            raise ValueError(f"n_reps(={n_reps}) must be > 0.")
        self.policy = policy
        self.n = n_reps
        self.tie_break = tie_break
        self.rng = rng
        self._next = start % n_reps

    def choose(self, loads: np.ndarray | None = None, candidates: np.ndarray | None = None, *,
               policy: str | None = None) -> int:
        """Index of the rep who gets the next lead, given each rep's current load (queued + in work),
        among ``candidates`` (a mask; default every rep), by ``policy`` (default the assigner's).

        round_robin: strictly in turn (the next candidate after the last one chosen). least_loaded:
        the smallest load; ties go to the next rep in turn after the last one chosen (or, with
        ``tie_break = "random"``, a draw from ``rng``). shared_queue: :data:`SHARED`.

        Examples
        --------
        >>> a = Assigner("least_loaded", 3)
        >>> a.choose(np.array([2, 0, 0])), a.choose(np.array([2, 1, 0])), a.choose(np.array([0, 1, 1]))
        (1, 2, 0)
        """
        policy = policy or self.policy
        if policy == "shared_queue":
            return SHARED
        cand = np.arange(self.n) if candidates is None else np.flatnonzero(candidates)
        if policy == "round_robin":
            r = int(cand[np.argmin((cand - self._next) % self.n)])
        else:
            mins = cand[loads[cand] == loads[cand].min()]
            if self.tie_break == "random":
                r = int(self.rng.choice(mins))
            else:
                r = int(mins[np.argmin((mins - self._next) % self.n)])
        self._next = (r + 1) % self.n
        return r

    def in_turn(self, count: int) -> np.ndarray:
        """The reps of the next ``count`` leads under ``round_robin`` with every rep a candidate:
        ``count`` calls of :meth:`choose` at once (the assigner moves on as they would).

        >>> a = Assigner("round_robin", 3, start=2)
        >>> a.in_turn(4).tolist(), a.choose()
        ([2, 0, 1, 2], 0)
        """
        if self.policy != "round_robin":
            raise ValueError(f"in_turn is the round_robin policy's; this assigner's is {self.policy}")
        out = (self._next + np.arange(count, dtype=np.int64)) % self.n
        self._next = int((self._next + count) % self.n)
        return out


class Route(Config):
    """Territory / field-based routing: leads meeting ``when`` go only to ``reps`` (ids) and/or to
    reps whose ``match`` fields equal the lead's (e.g. ``["region"]``). A ``preferred`` route is
    soft: its reps get those leads first, and a lead overflows to every eligible rep when they
    have no room (Odoo's preferred assignment domain).

    Examples
    --------
    >>> import pandas as pd
    >>> rule = AssignmentRule(policy="round_robin", routes=[Route(when=[{"field": "region", "op": "eq", "value": "north"}],
    ...                                                           match=["region"])])
    >>> reps = pd.DataFrame({"rep_id": ["r1", "r2", "r3"], "region": ["north", "south", "north"]})
    >>> leads = pd.DataFrame({"lead_id": ["a", "b", "c"], "region": ["north", "north", "south"]})
    >>> rule.assign(leads, reps).tolist()
    ['r1', 'r3', 'r1']
    """

    when: tuple[Condition, ...] = ()
    reps: tuple[str, ...] = ()
    match: tuple[str, ...] = ()
    preferred: bool = False


class AssignmentRule(Config):
    """How MQLs are routed to reps.

    Parameters
    ----------
    policy :
        ``round_robin`` (in turn), ``least_loaded`` (the rep with the fewest open leads),
        ``shared_queue`` (one queue; the next free rep takes the oldest lead) or ``score_tiered``
        (best leads to best reps: reps' ``tier`` column, 1 = best; leads split into as many
        score bands as there are tiers; least-loaded within a tier).
    routes : the first route whose ``when`` a lead meets restricts the eligible reps.
    preferred_accounts : a lead whose ``company_norm`` (or ``company``) is an account of a rep
        (``accounts`` argument of :meth:`assign_table`) goes to that rep.
    carry_over : unused capacity (reps' ``capacity`` column, leads per period) carries over.
    tie_break : among equally loaded reps, ``rotation`` takes the next rep in turn after the last
        one chosen; ``random`` draws one with the ``seed`` given to :meth:`assign_table`.

    Examples
    --------
    >>> import pandas as pd
    >>> reps = pd.DataFrame({"rep_id": ["r1", "r2"]})
    >>> leads = pd.DataFrame({"lead_id": ["a", "b", "c"]})
    >>> AssignmentRule(policy="least_loaded").assign(leads, reps, open_leads={"r1": 5}).tolist()
    ['r2', 'r2', 'r2']
    """

    policy: Literal["round_robin", "least_loaded", "shared_queue", "score_tiered"] = "round_robin"
    tie_break: Literal["rotation", "random"] = "rotation"
    routes: tuple[Route, ...] = ()
    preferred_accounts: bool = True
    carry_over: bool = True
    #: Odoo's daily quota: reps' ``monthly_capacity`` / 30 (half up) less ``received_24h``
    #: (``force_quota``: not less); ``none`` uses the ``capacity`` column only
    quota: Literal["none", "daily"] = "none"
    force_quota: bool = False
    #: leads not to assign: won, lost or archived ones (``stage`` in these, ``active`` false) and,
    #: unless ``reassign_owned``, leads that already have an ``owner_id``
    skip_stages: tuple[str, ...] = ("won", "lost")
    reassign_owned: bool = False

    def assigner(self, n_reps: int) -> Assigner:
        policy = "least_loaded" if self.policy == "score_tiered" else self.policy
        return Assigner(policy, n_reps)

    def assign(self, leads: pd.DataFrame, reps: pd.DataFrame,
               open_leads: dict[str, int] | None = None) -> pd.Series:
        """Owner (``rep_id``) for each lead of a table, in row order; NA when unassigned."""
        out, _ = self.assign_table(leads, reps, open_leads=open_leads)
        return out["owner_id"].rename("owner_id")

    def assign_table(self, leads: pd.DataFrame, reps: pd.DataFrame, *,
                     open_leads: dict[str, int] | None = None, accounts: dict[str, str] | None = None,
                     carried: dict[str, int] | None = None, seed=None,
                     start_after: str | None = None) -> tuple[pd.DataFrame, dict[str, int]]:
        """Assign a period's leads. Returns ``(result, carried_next)``.

        ``result`` has, per lead (same index): ``owner_id`` (missing if unassigned) and
        ``reason``: ``preferred_account``, ``route:<k>``, ``policy`` when assigned, else one of
        :data:`UNASSIGNED_REASONS`. Reps' ``capacity`` (if the column exists) caps the leads each
        gets this period, plus what ``carried`` brings from the last period; ``carried_next`` is
        the capacity left (if ``carry_over``). A lead with a ``previous_owner`` (recalled, see
        :class:`~crmsim.leads.lifecycle.RecallRule`) is never given back to that rep. With
        ``quota = "daily"`` reps' ``monthly_capacity`` gives Odoo's daily quota (:func:`daily_quota`,
        less ``received_24h``), which caps the leads each gets in this call. Leads that are won,
        lost, archived or (unless ``reassign_owned``) owned are ``not_eligible``. The rotation
        continues across calls: ``start_after`` is the rep who got the last lead of the previous
        call (``result.attrs["last_rep"]``). Reps with ``assignment_optout`` get no lead.
        """
        if "rep_id" not in reps.columns:
            raise KeyError("reps table: column 'rep_id' missing")
        rng = np.random.default_rng(seed)
        ids = reps["rep_id"].astype(str).tolist()
        n = len(ids)
        load = np.array([(open_leads or {}).get(r, 0) for r in ids], dtype=float)
        if "capacity" in reps.columns:
            cap = reps["capacity"].to_numpy(dtype=float) + np.array([(carried or {}).get(r, 0) for r in ids])
        else:
            cap = np.full(n, np.inf)
        quota_bound = np.zeros(n, dtype=bool)
        if self.quota == "daily":
            if "monthly_capacity" not in reps.columns:
                raise KeyError("reps table: quota = 'daily' needs a 'monthly_capacity' column (leads a month)")
            recv = reps["received_24h"].to_numpy(dtype=float) if "received_24h" in reps.columns else None
            q = daily_quota(reps["monthly_capacity"].to_numpy(dtype=float), recv, force=self.force_quota)
            quota_bound = q < cap
            cap = np.minimum(cap, np.maximum(q, 0))
        given = np.zeros(n)  # leads assigned this period, against capacity
        owner = [None] * len(leads)
        reason = [None] * len(leads)
        if self.policy == "shared_queue":
            res = pd.DataFrame({"owner_id": pd.Series(owner, index=leads.index, dtype="str"),
                                "reason": "shared_queue"}, index=leads.index)
            return res, {}
        route_rows = [evaluate_all(r.when, leads).to_numpy() for r in self.routes]
        company = None
        if self.preferred_accounts and accounts:
            col = "company_norm" if "company_norm" in leads.columns else "company"
            company = leads[col].tolist() if col in leads.columns else None
        prev = leads["previous_owner"].tolist() if "previous_owner" in leads.columns else None
        order = np.arange(len(leads))
        skip = np.zeros(len(leads), dtype=bool)
        why_skip = np.full(len(leads), "", dtype=object)
        if "stage" in leads.columns and self.skip_stages:
            m = leads["stage"].astype("string").isin(self.skip_stages).fillna(False).to_numpy()
            why_skip[m & ~skip] = "not_eligible: " + leads["stage"].astype(str).to_numpy()[m & ~skip]
            skip |= m
        if "active" in leads.columns:
            from crmsim.tables import flag_column

            m = ~flag_column(leads["active"].fillna(True), "leads")
            why_skip[m & ~skip] = "not_eligible: archived"
            skip |= m
        if "owner_id" in leads.columns and not self.reassign_owned:
            m = leads["owner_id"].notna().to_numpy() & (leads["owner_id"].astype(str).str.strip() != "").to_numpy()
            why_skip[m & ~skip] = "not_eligible: owned"
            skip |= m
        if start_after is not None and start_after in ids:
            turn = (ids.index(start_after) + 1) % n
        last = None
        band = np.zeros(len(leads), dtype=int)
        if self.policy == "score_tiered":
            for c in ("score",):
                if c not in leads.columns:
                    raise KeyError("score_tiered needs a 'score' column on leads")
            if "tier" not in reps.columns:
                raise KeyError("score_tiered needs a 'tier' column on reps (1 = best)")
            tiers = np.sort(reps["tier"].unique())
            order = np.argsort(-leads["score"].to_numpy(dtype=float), kind="stable")
            band_of = np.empty(len(leads), dtype=int)
            band_of[order] = np.arange(len(leads)) * len(tiers) // max(len(leads), 1)
            band = tiers[band_of]
            rep_tier = reps["tier"].to_numpy()
        if start_after is None or start_after not in ids:
            turn = 0
        chooser = Assigner(self.policy, n, tie_break=self.tie_break, rng=rng, start=turn)
        available = np.ones(n, dtype=bool)
        if "assignment_optout" in reps.columns:   # Odoo: a member who skips auto-assignment
            from crmsim.tables import flag_column

            available = ~flag_column(reps["assignment_optout"], "reps table")
        for k in order:
            if skip[k]:
                reason[k] = why_skip[k]
                continue
            eligible = available.copy()
            why = "policy"
            for ri, (route, hit) in enumerate(zip(self.routes, route_rows)):
                if hit[k]:
                    sel = np.zeros(n, dtype=bool)
                    if route.reps:
                        sel |= np.isin(ids, route.reps)
                    if route.match:
                        m = np.ones(n, dtype=bool)
                        for f in route.match:
                            m &= (reps[f].to_numpy() == leads[f].iloc[k])
                        sel = (sel | m) if route.reps else m
                    if route.preferred and not (sel & (given < cap)).any():
                        why = f"overflow:{ri}"      # the preferred reps have no room: everyone eligible
                        break
                    eligible = sel
                    why = f"route:{ri}"
                    break
            if company is not None and isinstance(company[k], str) and company[k] in accounts:
                acct = accounts[company[k]]
                if acct in ids:
                    eligible = np.array([r == acct for r in ids])
                    why = "preferred_account"
            if prev is not None and isinstance(prev[k], str):  # recalled: not back to the same rep
                eligible &= np.array([r != prev[k] for r in ids])
            if self.policy == "score_tiered" and why == "policy":
                in_tier = eligible & (rep_tier == band[k])
                if (in_tier & (given < cap)).any():
                    eligible = in_tier
            if not eligible.any():
                reason[k] = "no_eligible_rep"
                continue
            free = eligible & (given < cap)
            if not free.any():
                reason[k] = "quota_reached" if (eligible & quota_bound).any() else "capacity_full"
                continue
            # in turn for the round robin; least loaded for routes and tiers (ties by rotation or a draw)
            r = chooser.choose(load, free, policy="round_robin" if self.policy == "round_robin" and why == "policy"
                               else "least_loaded")
            owner[k] = ids[r]
            reason[k] = why
            load[r] += 1
            given[r] += 1
            last = ids[r]
        left = {}
        if "capacity" in reps.columns and self.carry_over:
            left = {r: int(max(0, c - g)) for r, c, g in zip(ids, cap, given)}
        res = pd.DataFrame({"owner_id": pd.Series(owner, index=leads.index, dtype="str"),
                            "reason": pd.Series(reason, index=leads.index, dtype="str")})
        res.attrs["last_rep"] = last if last is not None else start_after
        return res, left
