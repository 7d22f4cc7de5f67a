"""Bookings forecasts (FEATURES L2C-5): weighted pipeline, Monte Carlo, a stage-transition
(Markov) model fitted from stage history, and a backtest at past cut-off dates."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from crmsim._lazy import lazy_module
from crmsim.pipeline.flat import kaplan_meier
from crmsim.pipeline.opportunities import SalesProcess, stage_at

special = lazy_module("scipy.special")

__all__ = ["weighted_pipeline", "monte_carlo", "Forecast", "MarkovModel", "backtest", "open_at"]


def _open(opps: pd.DataFrame, process: SalesProcess) -> pd.DataFrame:
    return opps[opps["stage"].isin(process.open_stages)]


def weighted_pipeline(opps: pd.DataFrame, *, process: SalesProcess | None = None, until=None,
                      probability: pd.Series | None = None) -> float:
    """Sum of amount x win probability of open deals (expected to close by ``until``, if given).
    ``probability`` per opportunity overrides the stage defaults of the process.

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
    >>> weighted_pipeline(opps)          # 8,000 x 0.4 (propose) + 12,000 x 0.7 (negotiate)
    11600.0
    """
    process = process or SalesProcess()
    o = _open(opps, process)
    if until is not None:
        o = o[pd.to_datetime(o["expected_close"]) <= pd.Timestamp(until)]
    p = probability.reindex(o.index) if probability is not None else o["stage"].map(process.probability)
    return float((o["amount"].fillna(0) * p).sum())


@dataclass(frozen=True)
class Forecast:
    """What :func:`monte_carlo` forecasts: the simulated bookings of the period, their analytic
    expectation and the 10th, 50th and 90th percentiles.

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
    >>> f = monte_carlo(opps, start="2025-04-01", end="2025-06-30", n=2000, seed=1)
    >>> f.samples.shape, sorted(set(f.samples.tolist()))
    ((2000,), [0.0, 8000.0, 12000.0, 20000.0])
    """

    samples: np.ndarray          # simulated bookings in the period
    expected: float              # analytic expectation
    p10: float
    p50: float
    p90: float

    def summary(self) -> str:
        return (f"expected {self.expected:,.0f}; P10 {self.p10:,.0f} / P50 {self.p50:,.0f} / "
                f"P90 {self.p90:,.0f}")


def monte_carlo(opps: pd.DataFrame, *, start, end, process: SalesProcess | None = None,
                probability: pd.Series | None = None, close_sd_days: float = 14.0,
                default_cycle_days: float = 30.0, n: int = 10_000, seed=None) -> Forecast:
    """Bookings closing in [start, end]: each open deal is won with its probability and closes at
    its expected close date + Normal(0, ``close_sd_days``) (deals without one: ``start`` +
    ``default_cycle_days``). ``expected`` is the analytic mean: sum of amount x p x P(close in
    the period).

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
    >>> f = monte_carlo(opps, start="2025-04-01", end="2025-06-30", n=2000, seed=1)
    >>> round(f.expected), f.p10 <= f.p50 <= f.p90
    (4336, True)
    """
    process = process or SalesProcess()
    rng = np.random.default_rng(seed)
    o = _open(opps, process)
    p = (probability.reindex(o.index) if probability is not None else o["stage"].map(process.probability)).to_numpy(float)
    amt = o["amount"].fillna(0).to_numpy(float)
    s, e = pd.Timestamp(start), pd.Timestamp(end)
    exp = pd.to_datetime(o["expected_close"]).fillna(s + pd.Timedelta(days=default_cycle_days))
    mu = ((exp - s) / pd.Timedelta(days=1)).to_numpy(float)
    span = (e - s) / pd.Timedelta(days=1)
    if close_sd_days > 0:
        p_in = special.ndtr((span - mu) / close_sd_days) - special.ndtr((0 - mu) / close_sd_days)
    else:
        p_in = ((mu >= 0) & (mu <= span)).astype(float)
    expected = float((amt * p * p_in).sum())
    out = np.empty(n)
    chunk = max(1, 2_000_000 // max(1, len(o)))
    for k in range(0, n, chunk):
        m = min(chunk, n - k)
        win = rng.random((m, len(o))) < p
        t = mu + rng.normal(0, close_sd_days, (m, len(o))) if close_sd_days > 0 else np.broadcast_to(mu, (m, len(o)))
        inside = (t >= 0) & (t <= span)
        out[k:k + m] = (win & inside) @ amt
    q = np.percentile(out, [10, 50, 90])
    return Forecast(out, expected, float(q[0]), float(q[1]), float(q[2]))


@dataclass(frozen=True)
class MarkovModel:
    """An absorbing Markov chain over stages fitted from stage history: transition
    probabilities, mean days in each open stage, the probability of ending won from each stage,
    and the distribution of the remaining days to close from each stage (Kaplan-Meier: deals
    still open at the fit date count as censored, not as never closing or as dropped).

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
    >>> m = MarkovModel.fit(history, before="2025-04-01")
    >>> m.win_probability.round(2).to_dict()
    {'qualify': 0.8, 'discover': nan, 'propose': 1.0, 'negotiate': 1.0}
    """

    transitions: pd.DataFrame      # from stage (rows) -> to stage (cols), probabilities
    mean_days: pd.Series           # mean days spent in each open stage
    win_probability: pd.Series     # P(won | now in stage)
    remaining_days: dict           # stage -> array of observed days from entering it to close
    remaining_km: dict = None      # stage -> (times, Kaplan-Meier survival) of the days to close

    @classmethod
    def fit(cls, history: pd.DataFrame, *, process: SalesProcess | None = None, before=None) -> MarkovModel:
        """Fit on moves completed before ``before`` (all moves if None)."""
        process = process or SalesProcess()
        h = history.sort_values(["opportunity_id", "t"], kind="stable")
        h = h.assign(nxt=h.groupby("opportunity_id")["stage"].shift(-1),
                     t_next=h.groupby("opportunity_id")["t"].shift(-1))
        if before is not None:
            h = h[pd.to_datetime(h["t_next"]) <= pd.Timestamp(before)]
        moves = h.dropna(subset=["nxt"])
        moves = moves[moves["stage"].isin(process.open_stages)]
        names = list(process.names)
        counts = pd.crosstab(moves["stage"], moves["nxt"]).reindex(index=process.open_stages, columns=names, fill_value=0)
        P = counts.div(counts.sum(axis=1).replace(0, np.nan), axis=0).fillna(0.0)
        days = ((pd.to_datetime(moves["t_next"]) - pd.to_datetime(moves["t"])) / pd.Timedelta(days=1))
        mean_days = days.groupby(moves["stage"]).mean().reindex(process.open_stages)
        # absorption: B = (I - Q)^-1 R, Q open->open, R open->{won, lost}
        Q = P[list(process.open_stages)].to_numpy()
        R = P[[process.won, process.lost]].to_numpy()
        try:
            B = np.linalg.solve(np.eye(len(Q)) - Q, R)
        except np.linalg.LinAlgError:
            B = np.full((len(Q), 2), np.nan)
        win = pd.Series(B[:, 0], index=process.open_stages, name="p_win")
        never_left = counts.sum(axis=1) == 0
        if never_left.any():  # no move out of it was seen: its chance is unknown, not zero
            win[never_left.to_numpy()] = np.nan
            import warnings

            warnings.warn(f"stage(s) {list(counts.index[never_left])}: no deal left them in the stage history, "
                          "so their win probability is unknown (NaN); a flat export's deals are better "
                          "forecast by crmsim.pipeline.flat.FlatModel", UserWarning, stacklevel=2)
        # remaining days to close, measured from each stage entry of deals that closed
        closes = h[h["stage"].isin([process.won, process.lost])].groupby("opportunity_id")["t"].first() \
            if before is None else history[history["stage"].isin([process.won, process.lost]) &
                                           (pd.to_datetime(history["t"]) <= pd.Timestamp(before))] \
            .groupby("opportunity_id")["t"].first()
        ent = history[history["stage"].isin(process.open_stages)]
        if before is not None:
            ent = ent[pd.to_datetime(ent["t"]) <= pd.Timestamp(before)]
        end = pd.Timestamp(before) if before is not None else pd.to_datetime(history["t"]).max()
        done = ent["opportunity_id"].isin(closes.index).to_numpy()
        close_t = pd.to_datetime(ent["opportunity_id"].map(closes))
        rem = ((close_t - pd.to_datetime(ent["t"])) / pd.Timedelta(days=1)).to_numpy(float)
        cens = ((end - pd.to_datetime(ent["t"])) / pd.Timedelta(days=1)).to_numpy(float)
        remaining = {s: rem[(ent["stage"] == s).to_numpy() & done] for s in process.open_stages}
        # deals still open at the end are censored at their time so far (Kaplan-Meier), not dropped
        km = {s: kaplan_meier(np.where(done, rem, cens)[(ent["stage"] == s).to_numpy()],
                               done[(ent["stage"] == s).to_numpy()]) for s in process.open_stages}
        return cls(P, mean_days, win, remaining, km)

    def p_close_within(self, stage: str, days: float) -> float:
        """P(a deal that entered ``stage`` closes within ``days``), Kaplan-Meier over the deals that
        entered it (open ones censored)."""
        t, surv = self.remaining_km.get(stage, (np.array([]), np.array([])))
        if not t.size:
            return np.nan
        k = np.searchsorted(t, days, side="right") - 1
        return float(1 - (surv[k] if k >= 0 else 1.0))


def open_at(opps: pd.DataFrame, history: pd.DataFrame, when, *, process: SalesProcess | None = None) -> pd.DataFrame:
    """The pipeline as it stood at ``when``: deals created by then and not yet closed, with the
    stage they were in.

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
    >>> open_at(opps, history, "2025-02-15")[["opportunity_id", "stage_then", "stage"]].values.tolist()   # the stage then, and now
    [['b', 'qualify', 'lost'], ['c', 'qualify', 'won'], ['d', 'qualify', 'propose']]
    """
    process = process or SalesProcess()
    when = pd.Timestamp(when)
    st = stage_at(history, when)
    o = opps[pd.to_datetime(opps["created_at"]) <= when].copy()
    o["stage_then"] = o["opportunity_id"].map(st)
    return o[o["stage_then"].isin(process.open_stages)]


def backtest(opps: pd.DataFrame, history: pd.DataFrame, cutoffs, *, horizon_days: int = 90,
             process: SalesProcess | None = None) -> pd.DataFrame:
    """Replay history: at each cut-off, fit the Markov model on what was known then, forecast the
    won amount of the open pipeline closing within ``horizon_days``, and compare with what
    actually closed won in that window. Returns one row per cut-off with ``forecast``,
    ``actual``, ``error`` (forecast - actual) and ``pct_error``. A stage no deal ever left has no
    fitted win probability: its default from the process is used. For a flat export (one row
    per deal, no stage history) use :func:`crmsim.pipeline.flat.backtest_flat`.

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
    >>> bt = backtest(opps, history, ["2025-02-15"], horizon_days=30)
    >>> bt[["forecast", "actual"]].round(0).values.tolist()
    [[33000.0, 20000.0]]
    """
    process = process or SalesProcess()
    rows = []
    for c in cutoffs:
        c = pd.Timestamp(c)
        model = MarkovModel.fit(history, process=process, before=c)
        o = open_at(opps, history, c, process=process)
        p = o["stage_then"].map(model.win_probability)
        p = p.fillna(o["stage_then"].map(process.probability))  # unknown: the stage's default
        within = {s: model.p_close_within(s, horizon_days) for s in process.open_stages}
        q = o["stage_then"].map(within)
        forecast = float((o["amount"].fillna(0) * p * q).sum())
        won_in = (o["stage"] == process.won) & (pd.to_datetime(o["closed_at"]) > c) & \
                 (pd.to_datetime(o["closed_at"]) <= c + pd.Timedelta(days=horizon_days))
        actual = float(o.loc[won_in, "amount"].fillna(0).sum())
        rows.append({"cutoff": c, "open_deals": len(o), "forecast": forecast, "actual": actual,
                     "error": forecast - actual, "pct_error": (forecast - actual) / actual if actual else np.nan})
    return pd.DataFrame(rows)
