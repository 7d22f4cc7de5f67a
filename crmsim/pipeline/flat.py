"""Pipelines from a flat export (FEATURES L2C-5): one row per opportunity, no stage history.

Most CRM exports hold one row per opportunity (created, closed, final stage, amount), not the
moves between stages. Forecasting from them needs no invented history: :class:`FlatModel` fits,
from deals created before a cut-off, the cumulative incidence of *won* and of *lost* by deal age
(Aalen-Johansen, competing risks; deals still open at the cut-off are right-censored at their
age, not dropped and not counted lost). For a deal open at age ``a`` the chance to close won
within ``h`` days is then ``(CIF_won(a + h) - CIF_won(a)) / S(a)``, with ``S(a)`` the chance to
be still open at ``a``. Ages beyond the oldest observed close add nothing (no extrapolation).

:func:`stage_history_from_flat` writes the one history such an export supports (documented
assumptions: an open deal has been in its exported stage since creation; a closed deal moved
from the first open stage to its outcome on its close date), for the stage tools that need one.
:func:`fill_amounts` gives open deals without an amount a value from a product price list or a
stated fallback, and says how many; :func:`check_products` names product spellings that are not
in a product list, with the nearest listed name. :func:`backtest_flat` scores the forecast at past
cut-offs and warns, instead of reporting ``actual 0``, when a window runs past the data.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from crmsim.pipeline.analytics import _closed_flags
from crmsim.pipeline.history import canonical_text
from crmsim.pipeline.opportunities import SalesProcess

__all__ = ["FlatModel", "kaplan_meier", "km_median", "stage_history_from_flat", "fill_amounts", "check_products", "backtest_flat",
           "CutoffWarning"]

_DAY = pd.Timedelta(days=1)


class CutoffWarning(UserWarning):
    """A backtest cut-off whose window the data cannot score.

    Examples
    --------
    >>> import pandas as pd
    >>> opps = pd.DataFrame({"opportunity_id": ["a", "b", "c", "d", "e"], "owner": ["ann", "ann", "bo", "bo", "bo"],
    ...                      "created_at": pd.to_datetime(["2025-01-05", "2025-01-20", "2025-02-01", "2025-02-10", "2025-03-01"]),
    ...                      "closed_at": pd.to_datetime(["2025-02-04", "2025-03-01", "2025-03-15", None, None]),
    ...                      "expected_close": pd.to_datetime([None, None, None, "2025-04-15", "2025-03-20"]),
    ...                      "stage": ["won", "lost", "won", "propose", "negotiate"],
    ...                      "amount": [10_000.0, 5_000.0, 20_000.0, 8_000.0, 12_000.0]})
    >>> history = pd.DataFrame({"opportunity_id": ["a", "a", "a", "b", "b", "c", "c", "c", "d", "d", "e", "e"],
    ...                         "stage": ["qualify", "propose", "won", "qualify", "lost", "qualify", "negotiate", "won",
    ...                                   "qualify", "propose", "qualify", "negotiate"],
    ...                         "t": pd.to_datetime(["2025-01-05", "2025-01-15", "2025-02-04", "2025-01-20", "2025-03-01",
    ...                                              "2025-02-01", "2025-03-01", "2025-03-15", "2025-02-10", "2025-03-05",
    ...                                              "2025-03-01", "2025-03-10"])})
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as w:
    ...     warnings.simplefilter("always")
    ...     bt = backtest_flat(opps, ["2025-03-20"], horizon_days=30)
    >>> w[0].category.__name__, bt["actual"].isna().tolist()
    ('CutoffWarning', [True])
    """


def _closed(opps: pd.DataFrame, process: SalesProcess) -> tuple[np.ndarray, np.ndarray]:
    """(won, lost) per deal, by the analytics' rule for closed deals."""
    won, closed = _closed_flags(opps.assign(stage=opps["stage"].astype("string").fillna("")), process)
    won, closed = won.to_numpy(bool), closed.to_numpy(bool)
    return won, closed & ~won


@dataclass(frozen=True)
class FlatModel:
    """Cumulative incidence of won and lost by deal age (days), fitted at a cut-off.

    ``ages`` are the distinct event ages, ``cif_won`` / ``cif_lost`` the cumulative incidences
    just after each, ``n`` the deals used (``n_won``, ``n_lost``, ``n_open`` censored).

    Examples
    --------
    >>> import pandas as pd
    >>> o = pd.DataFrame({"created_at": pd.to_datetime(["2025-01-01"] * 4),
    ...                   "closed_at": pd.to_datetime(["2025-01-11", "2025-01-21", None, "2025-03-01"]),
    ...                   "stage": ["won", "lost", "propose", "won"]})
    >>> m = FlatModel.fit(o, at="2025-02-01")
    >>> m.ages.tolist(), m.cif_won.tolist(), m.cif_lost.tolist()
    ([10.0, 20.0, 31.0], [0.25, 0.25, 0.25], [0.0, 0.25, 0.25])
    """

    ages: np.ndarray
    cif_won: np.ndarray
    cif_lost: np.ndarray
    n: int
    n_won: int
    n_lost: int
    n_open: int

    @classmethod
    def fit(cls, opps: pd.DataFrame, *, at, process: SalesProcess | None = None) -> FlatModel:
        """Fit on deals created before ``at``, as they stood then (a close after ``at`` is not
        yet known: that deal is open and censored at its age on ``at``).

        Examples
        --------
        >>> o = pd.DataFrame({"created_at": pd.to_datetime(["2025-01-01"] * 4),
        ...                   "closed_at": pd.to_datetime(["2025-01-11", "2025-01-21", None, "2025-03-01"]),
        ...                   "stage": ["won", "lost", "propose", "won"]})
        >>> m = FlatModel.fit(o, at="2025-02-01")
        >>> (m.n_won, m.n_lost, m.n_open), round(float(m.p_won_within(0, 15)), 3)
        ((1, 1, 2), 0.25)
        """
        process = process or SalesProcess()
        at = pd.Timestamp(at)
        o = opps[pd.to_datetime(opps["created_at"]) < at]
        created = pd.to_datetime(o["created_at"])
        closed_at = pd.to_datetime(o["closed_at"])
        won, lost = _closed(o, process)
        known = closed_at.notna().to_numpy() & (closed_at < at).to_numpy() & (won | lost)
        won, lost = won & known, lost & known
        t = np.where(known, ((closed_at - created) / _DAY).to_numpy(float),
                     ((at - created) / _DAY).to_numpy(float))
        t = np.maximum(t, 0.0)
        order = np.argsort(t, kind="stable")
        t, w, lo = t[order], won[order].astype(float), lost[order].astype(float)
        ages, idx = np.unique(t, return_index=True)
        d_w = np.add.reduceat(w, idx) if t.size else np.array([])
        d_l = np.add.reduceat(lo, idx) if t.size else np.array([])
        counts = np.diff(np.append(idx, t.size))
        at_risk = t.size - np.concatenate([[0], np.cumsum(counts)[:-1]]) if t.size else np.array([])
        surv_before = np.cumprod(np.concatenate([[1.0], 1 - (d_w + d_l) / np.maximum(at_risk, 1)]))[:-1]
        cif_w = np.cumsum(surv_before * d_w / np.maximum(at_risk, 1))
        cif_l = np.cumsum(surv_before * d_l / np.maximum(at_risk, 1))
        return cls(ages, cif_w, cif_l, int(t.size), int(won.sum()), int(lost.sum()), int((~known).sum()))

    def _at(self, cif: np.ndarray, age) -> np.ndarray:
        k = np.searchsorted(self.ages, np.asarray(age, dtype=float), side="right") - 1
        return np.where(k >= 0, cif[np.clip(k, 0, None)] if cif.size else 0.0, 0.0)

    def still_open(self, age) -> np.ndarray:
        """P(a deal is still open at ``age`` days)."""
        return 1 - self._at(self.cif_won, age) - self._at(self.cif_lost, age)

    def p_won_within(self, age, days: float) -> np.ndarray:
        """P(won within ``days`` | open at ``age``)."""
        s = self.still_open(age)
        gain = self._at(self.cif_won, np.asarray(age, dtype=float) + days) - self._at(self.cif_won, age)
        return np.where(s > 1e-12, gain / np.where(s > 1e-12, s, 1.0), 0.0)

    def p_won_eventually(self, age) -> np.ndarray:
        """P(won at all | open at ``age``), as far as the observed ages reach."""
        return self.p_won_within(age, np.inf if not self.ages.size else self.ages[-1] + 1)


def kaplan_meier(t: np.ndarray, event: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct event times and the survival just after each, from right-censored data
    (``event`` False: still open at ``t``).

    >>> kaplan_meier(np.array([1.0, 2.0, 2.0, 3.0]), np.array([True, True, False, True]))
    (array([1., 2., 3.]), array([0.75, 0.5 , 0.  ]))
    """
    t = np.asarray(t, dtype=float)
    event = np.asarray(event, dtype=bool)
    ok = np.isfinite(t)
    t, event = np.maximum(t[ok], 0.0), event[ok]
    if not t.size:
        return np.array([]), np.array([])
    times = np.unique(t[event])
    if not times.size:
        return np.array([0.0]), np.array([1.0])
    at_risk = (t.size - np.searchsorted(np.sort(t), times, side="left")).astype(float)
    d = np.bincount(np.searchsorted(times, t[event]), minlength=times.size).astype(float)
    return times, np.cumprod(1 - d / at_risk)


def km_median(t, event) -> float:
    """The Kaplan-Meier median (NaN if survival never falls to one half).

    >>> km_median(np.array([1.0, 2.0, 3.0, 10.0]), np.array([True, False, False, False]))
    nan
    >>> km_median(np.array([1.0, 2.0, 3.0, 10.0]), np.array([True, True, False, False]))
    2.0
    """
    times, surv = kaplan_meier(t, event)
    k = np.flatnonzero(surv <= 0.5)
    return float(times[k[0]]) if k.size else float("nan")


def stage_history_from_flat(opps: pd.DataFrame, *, process: SalesProcess | None = None) -> pd.DataFrame:
    """A stage history (``opportunity_id, t, stage``) from a flat export, under stated
    assumptions: an open deal is in its exported stage since creation; a closed deal entered the
    first open stage at creation and its outcome on its close date (no stage in between is
    invented). Use :class:`FlatModel` for forecasts; this history serves the stage tools.

    >>> o = pd.DataFrame({"opportunity_id": ["a", "b"], "created_at": pd.to_datetime(["2025-01-01", "2025-01-02"]),
    ...                   "closed_at": pd.to_datetime(["2025-02-01", None]), "stage": ["won", "propose"]})
    >>> stage_history_from_flat(o)["stage"].tolist()
    ['qualify', 'won', 'propose']
    """
    process = process or SalesProcess()
    first = process.open_stages[0]
    won, lost = _closed(opps, process)
    closed = (won | lost) & pd.to_datetime(opps["closed_at"]).notna().to_numpy()
    start = pd.DataFrame({"opportunity_id": opps["opportunity_id"].to_numpy(),
                          "t": pd.to_datetime(opps["created_at"]).to_numpy(),
                          "stage": np.where(closed, first, opps["stage"].astype(str).to_numpy())})
    end = pd.DataFrame({"opportunity_id": opps["opportunity_id"].to_numpy()[closed],
                        "t": pd.to_datetime(opps["closed_at"]).to_numpy()[closed],
                        "stage": opps["stage"].astype(str).to_numpy()[closed]})
    h = pd.concat([start, end], ignore_index=True)
    return h.sort_values(["opportunity_id", "t"], kind="stable").reset_index(drop=True)


def fill_amounts(opps: pd.DataFrame, *, prices: dict[str, float] | None = None,
                 fallback: str | float = "median_won") -> tuple[pd.Series, pd.DataFrame]:
    """Amounts with the missing ones filled: from ``prices`` (product -> amount) where the deal
    has a listed product, else ``fallback`` (a number, ``"median_won"`` or ``"mean_won"`` of the
    won deals' amounts). Returns ``(amounts, report)``; the report counts each source.

    >>> o = pd.DataFrame({"amount": [100.0, None, None], "product": ["A", "B", "C"], "stage": ["won", "propose", "propose"]})
    >>> a, rep = fill_amounts(o, prices={"B": 250.0})
    >>> a.tolist(), rep["rows"].tolist()
    ([100.0, 250.0, 100.0], [1, 1, 1])
    """
    amt = pd.to_numeric(opps["amount"], errors="coerce").astype(float)
    missing = amt.isna()
    out = amt.copy()
    rows = [{"source": "amount in the export", "rows": int((~missing).sum()), "value": np.nan}]
    if prices and "product" in opps.columns:
        canon = {canonical_text(k): float(v) for k, v in prices.items()}
        listed = opps["product"].map(canonical_text).map(canon)
        use = missing & listed.notna()
        out[use] = listed[use]
        rows.append({"source": "product price list", "rows": int(use.sum()), "value": np.nan})
        missing = missing & ~use
    won = opps["stage"].astype("string").eq("won").fillna(False).to_numpy(bool)
    if isinstance(fallback, str):
        ref = amt[won].dropna()
        if fallback not in ("median_won", "mean_won"):
            raise ValueError(f"fallback must be a number, 'median_won' or 'mean_won', got {fallback!r}")
        value = float(ref.median() if fallback == "median_won" else ref.mean()) if len(ref) else 0.0
        label = f"fallback: {fallback.replace('_', ' of ')} deals"
    else:
        value, label = float(fallback), "fallback: a stated amount"
    out[missing] = value
    rows.append({"source": label, "rows": int(missing.sum()), "value": value})
    return out, pd.DataFrame(rows)


def check_products(names: pd.Series, products) -> pd.DataFrame:
    """Product names not in ``products`` (after case, punctuation and spaces are ignored), with
    the nearest listed name (rapidfuzz) and the rows: ``value, rows, suggestion, score``.

    >>> rep = check_products(pd.Series(["CRM Pro", "CRMPro", "crm-lite", "Analitics"]), ["CRM Pro", "CRM Lite", "Analytics"])
    >>> rep.values.tolist()
    [['Analitics', 1, 'Analytics', 88.9]]
    """
    from rapidfuzz import fuzz, process

    key = lambda s: (canonical_text(s) or "").replace(" ", "")  # noqa: E731
    listed = {key(p): p for p in products}
    vals = names.dropna().astype(str)
    unknown = vals[~vals.map(key).isin(listed)]
    rows = []
    for v, n in unknown.value_counts().sort_index().items():
        best = process.extractOne(key(v), list(listed), scorer=fuzz.ratio)
        rows.append({"value": v, "rows": int(n), "suggestion": listed[best[0]] if best else None,
                     "score": round(float(best[1]), 1) if best else np.nan})
    return pd.DataFrame(rows, columns=["value", "rows", "suggestion", "score"])


def backtest_flat(opps: pd.DataFrame, cutoffs, *, horizon_days: int = 90, process: SalesProcess | None = None,
                  amounts: pd.Series | None = None) -> pd.DataFrame:
    """At each cut-off, fit :class:`FlatModel` on what was known then and forecast the won amount
    of the deals open then that closes within ``horizon_days``; compare with what did. A cut-off
    whose window runs past the last date in the data is reported with ``actual`` missing and a
    :class:`CutoffWarning`, not as a zero.

    Returns one row per cut-off: ``cutoff, open_deals, forecast, actual, error, pct_error,
    scored``.

    Examples
    --------
    >>> import pandas as pd
    >>> opps = pd.DataFrame({"opportunity_id": ["a", "b", "c", "d", "e"], "owner": ["ann", "ann", "bo", "bo", "bo"],
    ...                      "created_at": pd.to_datetime(["2025-01-05", "2025-01-20", "2025-02-01", "2025-02-10", "2025-03-01"]),
    ...                      "closed_at": pd.to_datetime(["2025-02-04", "2025-03-01", "2025-03-15", None, None]),
    ...                      "expected_close": pd.to_datetime([None, None, None, "2025-04-15", "2025-03-20"]),
    ...                      "stage": ["won", "lost", "won", "propose", "negotiate"],
    ...                      "amount": [10_000.0, 5_000.0, 20_000.0, 8_000.0, 12_000.0]})
    >>> history = pd.DataFrame({"opportunity_id": ["a", "a", "a", "b", "b", "c", "c", "c", "d", "d", "e", "e"],
    ...                         "stage": ["qualify", "propose", "won", "qualify", "lost", "qualify", "negotiate", "won",
    ...                                   "qualify", "propose", "qualify", "negotiate"],
    ...                         "t": pd.to_datetime(["2025-01-05", "2025-01-15", "2025-02-04", "2025-01-20", "2025-03-01",
    ...                                              "2025-02-01", "2025-03-01", "2025-03-15", "2025-02-10", "2025-03-05",
    ...                                              "2025-03-01", "2025-03-10"])})
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore", CutoffWarning)
    ...     bt = backtest_flat(opps, ["2025-02-15", "2025-03-01"], horizon_days=14)
    >>> bt[["open_deals", "forecast", "actual", "scored"]].round(0).values.tolist()    # the data end on 15 March
    [[3, 5000.0, 0.0, True], [3, 14000.0, 0.0, True]]
    """
    process = process or SalesProcess()
    amt = (pd.to_numeric(opps["amount"], errors="coerce").fillna(0.0) if amounts is None
           else amounts.reindex(opps.index).fillna(0.0))
    created = pd.to_datetime(opps["created_at"])
    closed_at = pd.to_datetime(opps["closed_at"])
    last = max(created.max(), closed_at.max())
    won, _ = _closed(opps, process)
    rows = []
    for c in cutoffs:
        c = pd.Timestamp(c)
        model = FlatModel.fit(opps, at=c, process=process)
        open_then = (created < c).to_numpy() & ~(closed_at.notna() & (closed_at < c)).to_numpy()
        age = ((c - created[open_then]) / _DAY).to_numpy(float)
        forecast = float((amt[open_then].to_numpy() * model.p_won_within(age, horizon_days)).sum())
        end = c + pd.Timedelta(days=horizon_days)
        scored = end <= last
        if scored:
            hit = open_then & won & (closed_at >= c).to_numpy() & (closed_at < end).to_numpy()
            actual = float(amt[hit].sum())
        else:
            warnings.warn(f"cut-off {c.date()}: its {horizon_days}-day window ends {end.date()}, after the "
                          f"last date in the data ({last.date()}); not scored", CutoffWarning, stacklevel=2)
            actual = np.nan
        rows.append({"cutoff": c, "open_deals": int(open_then.sum()), "forecast": forecast, "actual": actual,
                     "error": forecast - actual, "pct_error": (forecast - actual) / actual if actual else np.nan,
                     "scored": scored})
    return pd.DataFrame(rows)
