"""Lead assignment policies (FEATURES L2C-3): who gets the next MQL."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from crmsim.config import Config

__all__ = ["AssignmentRule", "Assigner", "SHARED"]

#: Returned by an assigner whose policy keeps one shared queue (no owner until a rep picks it).
SHARED = -1


class Assigner:
    """The stateful side of an :class:`AssignmentRule` for a fixed team of reps."""

    def __init__(self, policy: str, n_reps: int):
        if n_reps <= 0:
            raise ValueError(f"n_reps(={n_reps}) must be > 0.")
        self.policy = policy
        self.n = n_reps
        self._next = 0

    def choose(self, loads: np.ndarray | None = None) -> int:
        """Index of the rep who gets the next lead, given each rep's current load (queued + in work).

        round_robin: strictly in turn. least_loaded: the smallest load; ties go to the next rep in
        turn after the last one chosen. shared_queue: :data:`SHARED`.
        """
        if self.policy == "shared_queue":
            return SHARED
        if self.policy == "round_robin":
            r = self._next
        else:
            order = (np.arange(self.n) + self._next) % self.n
            r = int(order[np.argmin(loads[order])])
        self._next = (r + 1) % self.n
        return r


class AssignmentRule(Config):
    """How MQLs are routed to reps.

    Parameters
    ----------
    policy :
        ``round_robin`` (in turn), ``least_loaded`` (the rep with the fewest open leads) or
        ``shared_queue`` (one queue; the next free rep takes the oldest lead).

    Examples
    --------
    >>> import pandas as pd
    >>> reps = pd.DataFrame({"rep_id": ["r1", "r2"]})
    >>> leads = pd.DataFrame({"lead_id": ["a", "b", "c"]})
    >>> AssignmentRule(policy="least_loaded").assign(leads, reps, open_leads={"r1": 5}).tolist()
    ['r2', 'r2', 'r2']
    """

    policy: Literal["round_robin", "least_loaded", "shared_queue"] = "round_robin"

    def assigner(self, n_reps: int) -> Assigner:
        return Assigner(self.policy, n_reps)

    def assign(self, leads: pd.DataFrame, reps: pd.DataFrame,
               open_leads: dict[str, int] | None = None) -> pd.Series:
        """Owner (``rep_id``) for each lead of a table, in row order; NA under ``shared_queue``.

        ``open_leads`` gives each rep's current open leads (default 0); each assignment adds one.
        """
        rep_ids = reps["rep_id"].tolist()
        loads = np.array([(open_leads or {}).get(r, 0) for r in rep_ids], dtype=float)
        a = self.assigner(len(rep_ids))
        out = []
        for _ in range(len(leads)):
            r = a.choose(loads)
            if r == SHARED:
                out.append(None)
            else:
                loads[r] += 1
                out.append(rep_ids[r])
        return pd.Series(out, index=leads.index, name="owner_id", dtype="str")
