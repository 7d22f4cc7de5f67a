"""Lead lifecycle rules (FEATURES L2C-3): recycling unworked leads, and the response-time effect."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from crmsim.config import Config

__all__ = ["RecycleRule", "ResponseCurve", "HBR_2011_RESPONSE"]


class RecycleRule(Config):
    """Recycle a lead to marketing when it has waited more than ``max_wait_days`` for first contact.

    ``max_wait_days = 0`` switches the rule off. The wait is strictly greater than the limit, as in
    the public-pool reclaim rules.

    Examples
    --------
    >>> import pandas as pd
    >>> leads = pd.DataFrame({"assigned_at": [0.0, 2.5, 1.0], "first_contact_at": [None, None, 1.5]})
    >>> RecycleRule(max_wait_days=3).due(leads, today=4.0).tolist()
    [True, False, False]
    """

    max_wait_days: float = Field(default=5.0, ge=0)

    def due(self, leads: pd.DataFrame, today) -> pd.Series:
        """True for leads assigned, not yet contacted and waiting longer than the limit.

        ``assigned_at``/``first_contact_at`` may be days (float) or timestamps (then ``today`` is too).
        """
        if self.max_wait_days == 0:
            return pd.Series(False, index=leads.index)
        waited = today - leads["assigned_at"]
        if pd.api.types.is_timedelta64_dtype(waited):
            waited = waited / pd.Timedelta(days=1)
        return (leads["first_contact_at"].isna() & (waited > self.max_wait_days)).astype(bool)

    def due_days(self, assigned_at: np.ndarray, today: float) -> np.ndarray:
        """Vector form for waiting leads (none contacted yet): assigned times in days."""
        if self.max_wait_days == 0:
            return np.zeros(len(assigned_at), dtype=bool)
        return (today - np.asarray(assigned_at)) > self.max_wait_days


#: Oldroyd, McElheran & Elkington, "The Short Life of Online Sales Leads", HBR, March 2011: firms
#: that contacted a lead within an hour were nearly 7x as likely to qualify it as those waiting one
#: more hour, and over 60x as likely as those waiting 24 hours or longer.
HBR_2011_RESPONSE = {"hours": (1.0, 2.0, 24.0), "multiplier": (1.0, 1 / 7, 1 / 60)}


class ResponseCurve(Config):
    """How the chance to qualify a lead falls with the time to first contact.

    ``multiplier(hours)`` scales the chance of qualifying at once. Kinds:

    - ``table`` (default, from HBR 2011 above): 1 up to the first point, then interpolated linearly
      in log(hours) and log(multiplier) between the points, flat after the last one;
    - ``exponential``: ``0.5 ** (hours / half_life_hours)``;
    - ``none``: no effect (1 everywhere).

    Examples
    --------
    >>> ResponseCurve().multiplier([0.5, 2, 48]).round(4).tolist()
    [1.0, 0.1429, 0.0167]
    """

    kind: Literal["table", "exponential", "none"] = "table"
    hours: tuple[float, ...] = HBR_2011_RESPONSE["hours"]
    multiplier_: tuple[float, ...] = Field(default=HBR_2011_RESPONSE["multiplier"], alias="multiplier")
    half_life_hours: float = Field(default=4.0, gt=0)

    @model_validator(mode="after")
    def _table(self) -> ResponseCurve:
        if self.kind == "table":
            h, m = self.hours, self.multiplier_
            if len(h) != len(m) or len(h) == 0:
                raise ValueError(f"hours and multiplier need the same, non-zero length: {h}, {m}")
            if any(x <= 0 for x in h) or any(a >= b for a, b in zip(h, h[1:])):
                raise ValueError(f"hours must be > 0 and strictly increasing, got {list(h)}")
            if any(not 0 < x <= 1 for x in m):
                raise ValueError(f"multiplier values must be in (0, 1], got {list(m)}")
        return self

    def multiplier(self, hours) -> np.ndarray:
        h = np.asarray(hours, dtype=float)
        if self.kind == "none":
            return np.ones_like(h)
        if self.kind == "exponential":
            return 0.5 ** (np.maximum(h, 0) / self.half_life_hours)
        lh = np.log(np.maximum(h, 1e-12))
        lm = np.interp(lh, np.log(self.hours), np.log(self.multiplier_))
        return np.where(h <= self.hours[0], self.multiplier_[0], np.exp(lm))
