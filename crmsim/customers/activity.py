"""Customer activity models: BG/NBD and Pareto/NBD, fitted by maximum likelihood (scipy).

From a customer summary (``frequency`` = repeat purchases, ``recency`` = time from the first to
the last purchase, ``T`` = time from the first purchase to the end of the calibration period) they
give P(alive) and the expected purchases in the next t periods. :class:`PAliveRule` turns P(alive)
into a reclaim rule: an alternative to a fixed number of silent days.

References (see ``REFERENCES.md``): Fader, Hardie & Lee (2005), "Counting Your Customers the Easy
Way: An Alternative to the Pareto/NBD Model", Marketing Science 24(2) -- BG/NBD on the CDNOW
sample: r=0.243, alpha=4.414, a=0.793, b=2.426, log-likelihood -9582.4; Schmittlein, Morrison &
Colombo (1987) for Pareto/NBD; the Pareto/NBD likelihood follows Fader & Hardie's note "A Note on
Deriving the Pareto/NBD Model and Related Expressions" (2005).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field

from crmsim._lazy import lazy_module
from crmsim.config import Config

special = lazy_module("scipy.special")

__all__ = [
    "summary_from_transactions",
    "calibration_holdout",
    "holdout_report",
    "BGNBD",
    "ParetoNBD",
    "fit_bgnbd",
    "fit_paretonbd",
    "PAliveRule",
]


def _xs(summary: pd.DataFrame):
    missing = [c for c in ("frequency", "recency", "T") if c not in summary.columns]
    if missing:
        raise KeyError(f"customer summary: missing column(s) {missing}; expected frequency, recency, T")
    x = summary["frequency"].to_numpy(dtype=float)
    tx = summary["recency"].to_numpy(dtype=float)
    T = summary["T"].to_numpy(dtype=float)
    bad = (x < 0) | (tx < 0) | (T < tx) | ((x == 0) & (tx != 0)) | ~np.isfinite(x + tx + T)
    if bad.any():
        rows = summary.index[bad].tolist()[:10]
        raise ValueError("customer summary: need frequency >= 0, 0 <= recency <= T, recency = 0 when "
                         f"frequency = 0; bad rows (index) {rows}")
    return x, tx, T


def summary_from_transactions(transactions: pd.DataFrame, *, customer: str = "customer_id",
                              date: str = "date", end, start=None, unit_days: float = 7.0) -> pd.DataFrame:
    """Frequency / recency / T per customer from a transaction table (one row per purchase).

    Purchases on the same day count once; customers whose first purchase is after ``end`` are
    left out (they were not yet customers); purchases after ``end`` are ignored. Times are in
    ``unit_days`` (weeks by default), as in Fader, Hardie & Lee (2005).

    Examples
    --------
    >>> import pandas as pd
    >>> tx = pd.DataFrame({"customer_id": ["a", "a", "a", "b"],
    ...                    "date": pd.to_datetime(["2025-01-01", "2025-01-15", "2025-01-15", "2025-02-12"])})
    >>> summary_from_transactions(tx, end="2025-03-12").round(2).to_dict("index")
    {'a': {'frequency': 1, 'recency': 2.0, 'T': 10.0}, 'b': {'frequency': 0, 'recency': 0.0, 'T': 4.0}}
    """
    for c in (customer, date):
        if c not in transactions.columns:
            raise KeyError(f"transactions: missing column '{c}'; columns are {list(transactions.columns)}")
    end = pd.Timestamp(end)
    d = pd.to_datetime(transactions[date]).dt.normalize()
    t = pd.DataFrame({"customer": transactions[customer].to_numpy(), "d": d})
    if start is not None:
        t = t[t["d"] >= pd.Timestamp(start)]
    t = t[t["d"] <= end].drop_duplicates()
    g = t.groupby("customer", sort=True)["d"]
    first, last, n = g.min(), g.max(), g.size()
    day = pd.Timedelta(days=unit_days)
    out = pd.DataFrame({"frequency": (n - 1).astype(np.int64), "recency": (last - first) / day,
                        "T": (end - first) / day})
    out.index.name = customer
    return out


def calibration_holdout(transactions: pd.DataFrame, *, customer: str = "customer_id", date: str = "date",
                        calibration_end, observation_end, start=None, unit_days: float = 7.0) -> pd.DataFrame:
    """Split a transaction table at ``calibration_end``: each customer's summary up to it
    (``frequency, recency, T``, as :func:`summary_from_transactions`) and what they did after it
    up to ``observation_end``: ``frequency_holdout`` (distinct purchase days in the holdout) and
    ``duration_holdout`` (its length, in ``unit_days``).

    Customers whose first purchase is after ``calibration_end`` are left out (the model has not
    seen them); the count left out is in ``attrs["left_out"]``.

    Examples
    --------
    >>> t = pd.DataFrame({"customer_id": [1, 1, 1, 2, 3], "date": ["2025-01-01", "2025-01-15",
    ...                   "2025-03-01", "2025-01-08", "2025-02-20"]})
    >>> s = calibration_holdout(t, calibration_end="2025-01-31", observation_end="2025-03-31")
    >>> s[["frequency", "frequency_holdout"]].values.tolist(), s.attrs["left_out"]
    ([[1, 1], [0, 0]], 1)
    """
    cal_end, obs_end = pd.Timestamp(calibration_end), pd.Timestamp(observation_end)
    if obs_end <= cal_end:
        raise ValueError(f"observation_end ({obs_end.date()}) must be after calibration_end ({cal_end.date()})")
    cal = summary_from_transactions(transactions, customer=customer, date=date, end=cal_end, start=start,
                                    unit_days=unit_days)
    d = pd.to_datetime(transactions[date]).dt.normalize()
    after = pd.DataFrame({"customer": transactions[customer].to_numpy(), "d": d})
    after = after[(after["d"] > cal_end) & (after["d"] <= obs_end)].drop_duplicates()
    n_after = after.groupby("customer")["d"].size()
    out = cal.copy()
    out["frequency_holdout"] = n_after.reindex(out.index).fillna(0).astype(np.int64).to_numpy()
    out["duration_holdout"] = (obs_end - cal_end) / pd.Timedelta(days=unit_days)
    firsts = d.groupby(transactions[customer].to_numpy()).min()
    out.attrs["left_out"] = int((firsts > cal_end).sum())
    return out


def holdout_report(model: BGNBD | ParetoNBD, split: pd.DataFrame, *, max_frequency: int = 7) -> pd.DataFrame:
    """Predicted vs actual repeat purchases in the holdout, per group of calibration frequency
    (0, 1, ..., ``max_frequency`` or more; as Fader, Hardie & Lee 2005, fig. 4) and in total.

    ``split`` is :func:`calibration_holdout`'s table. Columns: ``customers``, ``actual`` and
    ``predicted`` (mean repeat purchases per customer), ``error`` (predicted - actual),
    ``relative_error`` (error / actual) and ``mae`` (mean absolute per-customer error).

    Examples
    --------
    >>> s = pd.DataFrame({"frequency": [0, 1, 3], "recency": [0.0, 10, 30], "T": [40.0, 40, 40],
    ...                   "frequency_holdout": [0, 1, 2], "duration_holdout": [20.0] * 3})
    >>> r = holdout_report(BGNBD(0.24, 4.4, 0.79, 2.4), s, max_frequency=1)
    >>> r.index.tolist(), int(r.loc["total", "customers"])
    (['0', '1+', 'total'], 3)
    """
    for c in ("frequency_holdout", "duration_holdout"):
        if c not in split.columns:
            raise KeyError(f"holdout split: missing column '{c}'; make it with calibration_holdout")
    dur = split["duration_holdout"].to_numpy(float)
    if dur.size and not np.allclose(dur, dur[0]):
        raise ValueError("holdout split: duration_holdout differs between customers; report one window at a time")
    pred = model.expected_purchases(split, float(dur[0]) if dur.size else 0.0)
    act = split["frequency_holdout"].to_numpy(float)
    f = split["frequency"].to_numpy()
    labels = np.where(f >= max_frequency, f"{max_frequency}+", f.astype(str))
    df = pd.DataFrame({"group": labels, "predicted": pred, "actual": act, "abs": np.abs(pred - act)})
    order = [str(k) for k in range(max_frequency)] + [f"{max_frequency}+"]
    g = df.groupby("group").agg(customers=("actual", "size"), actual=("actual", "mean"),
                                predicted=("predicted", "mean"), mae=("abs", "mean"))
    g = g.reindex([k for k in order if k in g.index])
    g.loc["total"] = [len(df), act.mean(), pred.mean(), df["abs"].mean()]
    g["customers"] = g["customers"].astype(np.int64)
    g["error"] = g["predicted"] - g["actual"]
    with np.errstate(divide="ignore", invalid="ignore"):
        g["relative_error"] = g["error"] / g["actual"]
    g.index.name = "frequency"
    return g[["customers", "actual", "predicted", "error", "relative_error", "mae"]]


@dataclass(frozen=True)
class BGNBD:
    """A fitted BG/NBD model (parameters r, alpha, a, b; time in the summary's unit).

    Examples
    --------
    >>> import pandas as pd
    >>> m = BGNBD(r=0.243, alpha=4.414, a=0.793, b=2.426)      # Fader, Hardie & Lee (2005), CDNOW, weeks
    >>> s = pd.DataFrame({"frequency": [2, 2], "recency": [30.0, 5.0], "T": [39.0, 39.0]})
    >>> m.p_alive(s).round(3).tolist()     # the same two purchases, the last one recent or long ago
    [0.72, 0.123]
    """

    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float = np.nan

    @staticmethod
    def loglik_terms(params, x, tx, T) -> np.ndarray:
        r, alpha, a, b = params
        A1 = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
        A2 = (special.gammaln(a + b) + special.gammaln(b + x) - special.gammaln(b)
              - special.gammaln(a + b + x))
        A3 = -(r + x) * np.log(alpha + T)
        with np.errstate(divide="ignore", invalid="ignore"):
            A4 = np.where(x > 0, np.log(a) - np.log(np.maximum(b + x - 1, 1e-300))
                          - (r + x) * np.log(alpha + tx), -np.inf)
        return A1 + A2 + np.logaddexp(A3, A4)

    def p_alive(self, summary: pd.DataFrame) -> np.ndarray:
        """P(alive | frequency, recency, T). Customers without a repeat purchase are alive (1)."""
        x, tx, T = _xs(summary)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = self.a / np.maximum(self.b + x - 1, 1e-300) * (
                (self.alpha + T) / (self.alpha + tx)) ** (self.r + x)
        return np.where(x > 0, 1 / (1 + ratio), 1.0)

    def expected_purchases(self, summary: pd.DataFrame, t: float) -> np.ndarray:
        """E[purchases in (T, T + t] | frequency, recency, T] (Fader, Hardie & Lee 2005, eq. 10)."""
        x, tx, T = _xs(summary)
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        z = t / (alpha + T + t)
        hyp = special.hyp2f1(r + x, b + x, a + b + x - 1, z)
        num = (a + b + x - 1) / (a - 1) * (1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp)
        with np.errstate(divide="ignore", invalid="ignore"):
            den = 1 + np.where(x > 0, a / np.maximum(b + x - 1, 1e-300)
                               * ((alpha + T) / (alpha + tx)) ** (r + x), 0.0)
        return num / den


@dataclass(frozen=True)
class ParetoNBD:
    """A fitted Pareto/NBD model (parameters r, alpha, s, beta).

    Examples
    --------
    >>> import pandas as pd
    >>> m = ParetoNBD(r=0.55, alpha=10.58, s=0.61, beta=11.67)   # Fader, Hardie & Lee (2005), CDNOW, weeks
    >>> s = pd.DataFrame({"frequency": [2, 2], "recency": [30.0, 5.0], "T": [39.0, 39.0]})
    >>> m.p_alive(s).round(3).tolist()     # the same two purchases, the last one recent or long ago
    [0.858, 0.128]
    """

    r: float
    alpha: float
    s: float
    beta: float
    log_likelihood: float = np.nan

    @staticmethod
    def _a0_part(r, alpha, s, beta, x, u) -> np.ndarray:
        """log of one of A0's two terms in Fader & Hardie's note, at time ``u`` (tx or T)."""
        rsx = r + s + x
        if alpha >= beta:
            big, c2, z = alpha, s + 1, (alpha - beta) / (alpha + u)
        else:
            big, c2, z = beta, r + x, (beta - alpha) / (beta + u)
        return np.log(special.hyp2f1(rsx, c2, rsx + 1, z)) - rsx * np.log(big + u)

    @staticmethod
    def _combine_a0(l1, l2) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return l1 + np.log1p(-np.exp(l2 - l1))

    @classmethod
    def _log_a0(cls, r, alpha, s, beta, x, tx, T) -> np.ndarray:
        """log of A0 in Fader & Hardie's note (the dropout-before-T term), numerically stable."""
        return cls._combine_a0(cls._a0_part(r, alpha, s, beta, x, tx), cls._a0_part(r, alpha, s, beta, x, T))

    @classmethod
    def loglik_terms(cls, params, x, tx, T) -> np.ndarray:
        r, alpha, s, beta = params
        base = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha) + s * np.log(beta)
        t1 = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
        t2 = np.log(s) - np.log(r + s + x) + cls._log_a0(r, alpha, s, beta, x, tx, T)
        return base + np.logaddexp(t1, t2)

    def p_alive(self, summary: pd.DataFrame) -> np.ndarray:
        """P(alive | frequency, recency, T): falls with T even for one-time buyers."""
        x, tx, T = _xs(summary)
        ll = self.loglik_terms((self.r, self.alpha, self.s, self.beta), x, tx, T)
        alive = (special.gammaln(self.r + x) - special.gammaln(self.r) + self.r * np.log(self.alpha)
                 + self.s * np.log(self.beta) - (self.r + x) * np.log(self.alpha + T)
                 - self.s * np.log(self.beta + T))
        return np.exp(alive - ll)

    def expected_purchases(self, summary: pd.DataFrame, t: float) -> np.ndarray:
        """E[purchases in (T, T + t] | x, tx, T] = P(alive) * E[purchases | alive]."""
        x, tx, T = _xs(summary)
        r, alpha, s, beta = self.r, self.alpha, self.s, self.beta
        cond = (r + x) * (beta + T) / ((alpha + T) * (s - 1)) * (1 - ((beta + T) / (beta + T + t)) ** (s - 1))
        return self.p_alive(summary) * cond


def _compress(x, tx, T, weights=None):
    """The distinct ``(x, tx, T)`` rows with their total weight: a summary's likelihood is a sum
    over customers, and customers with the same history add the same term (CDNOW's 2,357
    customers are 1,016 distinct rows)."""
    df = pd.DataFrame({"x": x, "tx": tx, "T": T, "w": 1.0 if weights is None else np.asarray(weights, float)})
    g = df.groupby(["x", "tx", "T"], sort=False)["w"].sum()
    ix = g.index
    return (ix.get_level_values(0).to_numpy(float), ix.get_level_values(1).to_numpy(float),
            ix.get_level_values(2).to_numpy(float), g.to_numpy(float))


class _Rows:
    """A summary's distinct rows (x, tx, T, weight w) with each column's distinct values and codes,
    factorised once per fit."""

    def __init__(self, x, tx, T, w):
        self.x, self.tx, self.T, self.w = x, tx, T, w
        self.ux, self.ix = np.unique(x, return_inverse=True)
        self.ut, self.it = np.unique(T, return_inverse=True)
        self.uy, self.iy = np.unique(tx, return_inverse=True)
        self.wx = np.bincount(self.ix, weights=w, minlength=self.ux.size)

    def pairs(self):
        """Distinct (x, tx) and (x, T) pairs with their codes: A0's two terms depend on one each."""
        if not hasattr(self, "_pairs"):
            out = []
            for u in (self.tx, self.T):
                k, codes = np.unique(np.column_stack([self.x, u]), axis=0, return_inverse=True)
                out.append((k[:, 0], k[:, 1], codes.ravel()))
            self._pairs = out
        return self._pairs


def _bgnbd_value_grad(logp, d: _Rows):
    """BG/NBD: the weighted log-likelihood and its analytic gradient in log-parameters.

    The per-customer terms are those of :meth:`BGNBD.loglik_terms`; each derivative follows from
    d lnGamma = digamma and the softmax weights of the two terms under ``logaddexp``. Terms of x,
    tx or T alone are computed once per distinct value (a summary has few: whole purchases,
    days) and gathered, so a row costs two exponentials and a few products.
    """
    r, alpha, a, b = p = np.exp(logp)
    gl, psi = special.gammaln, special.digamma
    x, w, ux, ix, ut, it, uy, iy, wx = d.x, d.w, d.ux, d.ix, d.ut, d.it, d.uy, d.iy, d.wx
    ab = a + b
    pos = ux > 0
    log_bx1 = np.log(np.where(pos, b + ux - 1, 1.0))
    l_T, l_tx = np.log(alpha + ut)[it], np.log(alpha + uy)[iy]
    rx = r + x
    a3 = -rx * l_T
    a4 = np.where(x > 0, np.log(a) - log_bx1[ix] - rx * l_tx, -np.inf)
    m = np.logaddexp(a3, a4)
    w4 = np.exp(a4 - m)
    ww4, ww3 = w * w4, w * (1 - w4)
    n = w.sum()
    ll = (wx @ (gl(r + ux) + gl(b + ux) - gl(ab + ux)) + n * (-gl(r) + r * np.log(alpha) + gl(ab) - gl(b))
          + w @ m)
    psi_abx = wx @ psi(ab + ux)
    g = np.array([
        wx @ psi(r + ux) + n * (np.log(alpha) - psi(r)) - ww3 @ l_T - ww4 @ l_tx,
        n * r / alpha - (ww3 * rx) @ (1 / (alpha + ut))[it] - (ww4 * rx) @ (1 / (alpha + uy))[iy],
        n * psi(ab) - psi_abx + ww4.sum() / a,
        n * (psi(ab) - psi(b)) + wx @ psi(b + ux) - psi_abx - np.bincount(ix, ww4, ux.size) @ np.exp(-log_bx1),
    ])
    return float(ll), g * p


#: Step (in log-parameters) of the central differences of the Pareto/NBD's A0 term.
_A0_STEP = 1e-5


def _paretonbd_value_grad(logp, d: _Rows):
    """Pareto/NBD: the weighted log-likelihood and its gradient in log-parameters: analytic but
    for the A0 term (a difference of two Gauss hypergeometric functions whose derivatives in
    their parameters have no closed form), which takes central differences of the exact
    function in each log-parameter (error ~1e-10)."""
    p = np.exp(logp)
    r, alpha, s, beta = p
    gl, psi = special.gammaln, special.digamma
    x, T, w = d.x, d.T, d.w
    rx, rsx = r + x, r + s + x
    l_Ta, l_Tb = np.log(alpha + T), np.log(beta + T)
    (x1, u1, c1), (x2, u2, c2) = d.pairs()

    def log_a0(q):
        return ParetoNBD._combine_a0(ParetoNBD._a0_part(*q, x1, u1)[c1], ParetoNBD._a0_part(*q, x2, u2)[c2])

    la0 = log_a0(p)
    t1 = -rx * l_Ta - s * l_Tb
    t2 = np.log(s) - np.log(rsx) + la0
    m = np.logaddexp(t1, t2)
    w2 = np.exp(t2 - m)
    w1 = 1 - w2
    ll = gl(rx) - gl(r) + r * np.log(alpha) + s * np.log(beta) + m
    d = (psi(rx) - psi(r) + np.log(alpha) - w1 * l_Ta - w2 / rsx,
         r / alpha - w1 * rx / (alpha + T),
         np.log(beta) - w1 * l_Tb + w2 * (1 / s - 1 / rsx),
         s / beta - w1 * s / (beta + T))
    g = np.array([w @ di for di in d]) * p
    live = np.isfinite(la0)  # A0 = 0 where the last purchase is at T: no term, no derivative
    wl = (w * w2)[live]
    for k in range(4):
        up, dn = p.copy(), p.copy()
        up[k] *= np.exp(_A0_STEP)
        dn[k] *= np.exp(-_A0_STEP)
        with np.errstate(invalid="ignore"):
            dk = (log_a0(up)[live] - log_a0(dn)[live]) / (2 * _A0_STEP)
        g[k] += wl @ np.nan_to_num(dk)
    return float(w @ ll), g


def _fit(value_grad, terms, x, tx, T, start, weights=None):
    """Maximum likelihood: L-BFGS-B on the mean negative log-likelihood in log-parameters with
    its gradient, over distinct rows; Nelder-Mead (no gradient) only if that fails."""
    from scipy import optimize  # loaded when a model is fitted (it takes a part of a second)

    if weights is not None:
        wt = np.asarray(weights, dtype=float)
        if wt.shape != x.shape or not np.isfinite(wt).all() or (wt < 0).any() or wt.sum() <= 0:
            raise ValueError(f"weights: need one finite weight >= 0 per summary row ({x.size} rows), "
                             f"not all zero; got shape {wt.shape}")
    x, tx, T, w = _compress(x, tx, T, weights)
    rows = _Rows(x, tx, T, w)
    n = w.sum()

    best = [np.inf, None]  # the best finite point seen: a step into overflow must not end the fit there

    def f(logp):
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            v, g = value_grad(logp, rows)
        if not (np.isfinite(v) and np.isfinite(g).all()):
            return 1e300, np.zeros(len(logp))
        if -v / n < best[0]:
            best[:] = [-v / n, np.array(logp)]
        return -v / n, -g / n

    bounds = [(-30.0, 30.0)] * len(start)
    res = optimize.minimize(f, np.log(start), jac=True, method="L-BFGS-B", bounds=bounds,
                            options={"ftol": 1e-15, "gtol": 1e-10, "maxiter": 2000})
    if res.fun >= 1e299 or np.abs(f(res.x)[1]).max() > 1e-6:
        def nll(logp):
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                v = -(w * terms(np.exp(logp), x, tx, T)).sum() / n
            return v if np.isfinite(v) else 1e300

        res = optimize.minimize(nll, np.log(start), method="Nelder-Mead",
                                options={"xatol": 1e-9, "fatol": 1e-12, "maxiter": 20000, "maxfev": 40000})
        res = optimize.minimize(f, res.x, jac=True, method="L-BFGS-B", bounds=bounds,
                                options={"ftol": 1e-15, "gtol": 1e-10})
    if best[1] is None:
        raise RuntimeError(f"maximum likelihood did not converge: {res.message}")
    return np.exp(best[1]), -best[0] * n


def fit_bgnbd(summary: pd.DataFrame, *, start=(1.0, 1.0, 1.0, 1.0), weights=None) -> BGNBD:
    """Fit BG/NBD by maximum likelihood on a customer summary (``frequency, recency, T``).

    L-BFGS with the likelihood's analytic gradient over the summary's distinct rows; ``weights``
    (one per row, e.g. a count of customers with that history) weight the rows.

    Examples
    --------
    >>> import pandas as pd
    >>> s = pd.read_csv("data/cdnow/cdnow_customers_summary.csv")  # doctest: +SKIP
    >>> m = fit_bgnbd(s)                                              # doctest: +SKIP
    >>> round(m.r, 3), round(m.alpha, 3), round(m.a, 3), round(m.b, 3)  # doctest: +SKIP
    (0.243, 4.414, 0.793, 2.426)
    """
    x, tx, T = _xs(summary)
    p, ll = _fit(_bgnbd_value_grad, BGNBD.loglik_terms, x, tx, T, start, weights)
    return BGNBD(*map(float, p), log_likelihood=float(ll))


def fit_paretonbd(summary: pd.DataFrame, *, start=(0.5, 10.0, 0.5, 10.0), weights=None) -> ParetoNBD:
    """Fit Pareto/NBD by maximum likelihood on a customer summary (as :func:`fit_bgnbd`; the
    gradient is analytic but for the A0 term's central differences).

    Examples
    --------
    >>> s = pd.DataFrame({"frequency": [0, 1, 2, 0, 5, 1], "recency": [0.0, 3, 20, 0, 30, 8],
    ...                   "T": [40.0, 40, 40, 30, 35, 20]})
    >>> m = fit_paretonbd(s)
    >>> bool(m.log_likelihood < 0 and (m.p_alive(s) <= 1).all())
    True
    """
    x, tx, T = _xs(summary)
    p, ll = _fit(_paretonbd_value_grad, ParetoNBD.loglik_terms, x, tx, T, start, weights)
    return ParetoNBD(*map(float, p), log_likelihood=float(ll))


class PAliveRule(Config):
    """Reclaim when a customer's probability of still being active falls below ``threshold``.

    An alternative to a fixed silent-days limit: a customer who used to buy every week and has
    been silent for a month is likelier gone than one who buys twice a year. ``model`` names the
    activity model; its parameters come from a fit on your history (defaults: the published
    CDNOW data, in weeks).

    Examples
    --------
    >>> PAliveRule(threshold=0.3).model
    'paretonbd'
    """

    threshold: float = Field(default=0.3, gt=0, lt=1)
    model: Literal["bgnbd", "paretonbd"] = "paretonbd"
    #: Pareto/NBD fitted by crmsim on the CDNOW summary (r, alpha, s, beta; weeks), see tests.
    params: tuple[float, float, float, float] = (0.5533, 10.5776, 0.6062, 11.6679)

    def fitted(self) -> BGNBD | ParetoNBD:
        return BGNBD(*self.params) if self.model == "bgnbd" else ParetoNBD(*self.params)

    def p_alive(self, summary: pd.DataFrame) -> pd.Series:
        return pd.Series(self.fitted().p_alive(summary), index=summary.index, name="p_alive")

    def fires(self, summary: pd.DataFrame) -> pd.Series:
        return self.p_alive(summary) < self.threshold
