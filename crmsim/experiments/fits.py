"""Small maximum-likelihood fits used by calibration, each with a 95% confidence interval.

- :func:`proportion_ci`: Wilson interval of k successes in n;
- :func:`poisson_rate_ci`: exact (chi-square) interval of a Poisson rate;
- :func:`fit_volume`: daily counts as a Poisson log-linear model with a weekday pattern and an
  optional trend (Newton-Raphson; Wald intervals from the Fisher information);
- :func:`fit_poisson_fe`: counts as a Poisson log-linear model with one fixed effect per group,
  concentrated out (the conditional, multinomial likelihood of Hausman, Hall & Griliches 1984), and
  standard errors clustered by any key (robust to over-dispersion and serial correlation);
- :func:`fit_truncated_duration`: gamma or lognormal durations observed only when they end before
  the end of the history (right-truncated: each deal's likelihood is ``f(d) / F(u)``, where ``u``
  is the time it had to close), chosen by AIC, with delta-method intervals of mean and median;
- :func:`fit_eventual_share`: the share of cases that *eventually* reach an outcome, when cases
  still open at the end may yet reach it: ``L = p^won (1-p)^lost prod(1 - p F(age))`` over open
  cases, with a profile-likelihood interval.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import numpy as np
import pandas as pd

__all__ = ["proportion_ci", "poisson_rate_ci", "VolumeFit", "fit_volume", "fit_poisson_fe", "DurationFit",
           "fit_truncated_duration", "fit_eventual_share"]

from crmsim.intervals import _Z, poisson_rate_ci, proportion_ci  # noqa: F401  (re-exported)

_CHI = 3.841458820694124 / 2  # half the chi-square(1) 95% quantile, for profile intervals


@dataclass(frozen=True)
class VolumeFit:
    """Leads per week at ``t = 0`` (the level, summed over the weekdays), the weekday weights
    (Monday first, mean 1) and the growth per year, each with a 95% interval; ``n`` leads over
    ``days`` days.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> days = np.arange(364)
    >>> f = fit_volume(rng.poisson(np.where(days % 7 < 5, 12, 3)), days % 7, days / 365.25)
    >>> round(f.level_per_week), [round(w, 1) for w in f.weekday_weights]
    (71, [1.3, 1.3, 1.3, 1.2, 1.3, 0.3, 0.3])
    """

    level_per_week: float
    level_ci: tuple[float, float]
    weekday_weights: tuple[float, ...]
    growth_per_year: float
    growth_ci: tuple[float, float]
    n: int
    days: int


def _poisson_newton(X: np.ndarray, y: np.ndarray, k: int, iters: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """Newton-Raphson with step halving for a Poisson log-linear model whose first ``k`` columns
    are indicator columns (started at the log mean) and the rest covariates (started at 0)."""
    beta = np.zeros(X.shape[1])
    beta[:k] = np.log(max(y.mean(), 1e-9))

    def ll(b):
        eta = X @ b
        return float(y @ eta - np.exp(eta).sum())

    cur = ll(beta)
    for _ in range(iters):
        lam = np.exp(X @ beta)
        info = X.T @ (X * lam[:, None])
        step = np.linalg.solve(info + 1e-12 * np.eye(len(beta)), X.T @ (y - lam))
        t = 1.0
        while t > 1e-6 and ll(beta + t * step) < cur - 1e-12:
            t /= 2
        beta = beta + t * step
        cur = ll(beta)
        if np.max(np.abs(t * step)) < 1e-10:
            break
    lam = np.exp(X @ beta)
    cov = np.linalg.inv(X.T @ (X * lam[:, None]) + 1e-12 * np.eye(len(beta)))
    return beta, cov


def fit_poisson_fe(y, X, group, cluster=None, *, iters: int = 50) -> tuple[np.ndarray, np.ndarray]:
    """Coefficients and clustered standard errors of ``E[y] = exp(a[group] + X b)``, the group
    effects ``a`` concentrated out (Poisson pseudo-maximum likelihood: consistent whatever the
    count's dispersion, so the standard errors are the sandwich, CR1 by ``cluster``; default: by
    group). Groups with no count carry no information and are dropped.

    >>> rng = np.random.default_rng(3)
    >>> g = np.repeat(np.arange(200), 30)
    >>> x = rng.normal(size=g.size)
    >>> y = rng.poisson(np.exp(rng.normal(size=200)[g] + 0.5 * x))
    >>> b, se = fit_poisson_fe(y, x[:, None], g)
    >>> bool(abs(b[0] - 0.5) < 3 * se[0])
    True
    """
    y = np.asarray(y, dtype=float)
    X = np.asarray(X, dtype=float).reshape(len(y), -1)
    _, g = np.unique(np.asarray(group), return_inverse=True)
    n_g = np.bincount(g, weights=y)
    keep = n_g[g] > 0
    y, X, g = y[keep], X[keep], np.unique(g[keep], return_inverse=True)[1]
    cl = np.asarray(cluster)[keep] if cluster is not None else g
    n_g = np.bincount(g, weights=y)
    G, k = n_g.size, X.shape[1]
    beta = np.zeros(k)

    def parts(b):
        eta = X @ b
        eta -= np.bincount(g, weights=eta)[g] / np.bincount(g)[g]      # numerically safe per group
        w = np.exp(eta)
        p = w / np.bincount(g, weights=w)[g]
        xbar = np.column_stack([np.bincount(g, weights=p * X[:, j], minlength=G) for j in range(k)])
        ll = float((y * np.log(np.maximum(p, 1e-300))).sum())
        return p, xbar, ll

    p, xbar, cur = parts(beta)
    for _ in range(iters):
        xc = X - xbar[g]
        score = xc.T @ (y - n_g[g] * p)
        info = xc.T @ (xc * (n_g[g] * p)[:, None])
        step = np.linalg.solve(info + 1e-9 * np.eye(k), score)
        t = 1.0
        while True:
            p2, xbar2, ll2 = parts(beta + t * step)
            if ll2 >= cur - 1e-9 or t < 1e-6:
                break
            t /= 2
        beta, p, xbar, cur = beta + t * step, p2, xbar2, ll2
        if np.max(np.abs(t * step)) < 1e-9:
            break
    xc = X - xbar[g]
    info = xc.T @ (xc * (n_g[g] * p)[:, None])
    bread = np.linalg.pinv(info)
    sc = xc * (y - n_g[g] * p)[:, None]
    codes, c = np.unique(cl, return_inverse=True)
    S = np.zeros((codes.size, k))
    np.add.at(S, c, sc)
    C = codes.size
    V = bread @ (S.T @ S) @ bread * (C / max(C - 1, 1))
    return beta, np.sqrt(np.maximum(np.diag(V), 0))


def fit_volume(counts: np.ndarray, weekday: np.ndarray, t_years: np.ndarray, *, trend: bool = True
               ) -> VolumeFit:
    """Fit daily counts ``y_d ~ Poisson(exp(b[weekday_d] + g * t_d))``.

    ``t_years`` is each day's time in years from the date the level is stated at (0 there).
    Weekdays with no leads at all get weight 0. ``trend=False`` fixes ``g = 0``.

    >>> rng = np.random.default_rng(1)
    >>> d = np.arange(364); wd = d % 7
    >>> y = rng.poisson(np.where(wd < 5, 20.0, 5.0))
    >>> f = fit_volume(y, wd, (d - 364) / 365.25, trend=False)
    >>> round(f.level_per_week), [round(w, 1) for w in f.weekday_weights]
    (111, [1.3, 1.3, 1.3, 1.3, 1.2, 0.3, 0.3])
    """
    y = np.asarray(counts, dtype=float)
    wd = np.asarray(weekday, dtype=np.int64)
    t = np.asarray(t_years, dtype=float)
    n, days = int(y.sum()), int(y.size)
    seen = np.array([y[wd == k].sum() > 0 for k in range(7)])
    cols = [np.flatnonzero(seen)]
    rows = seen[wd]  # days of a weekday without any lead have rate 0 and say nothing about the trend
    y, wd, t = y[rows], wd[rows], t[rows]
    X = (wd[:, None] == cols[0][None, :]).astype(float)
    if trend:
        X = np.column_stack([X, t])
    if n == 0:
        return VolumeFit(0.0, poisson_rate_ci(0, days / 7), tuple([1.0] * 7), 0.0, (0.0, 0.0), 0, days)
    k = cols[0].size
    beta, cov = _poisson_newton(X, y, k)
    rates = np.zeros(7)
    rates[cols[0]] = np.exp(beta[:k])
    level = float(rates.sum())
    grad = np.concatenate([np.exp(beta[:k]) / level, np.zeros(len(beta) - k)])  # d log(level)
    se = float(np.sqrt(grad @ cov @ grad))
    level_ci = (level * math.exp(-_Z * se), level * math.exp(_Z * se))
    weights = tuple(float(x) for x in rates / rates.mean())
    if trend:
        g, sg = float(beta[-1]), float(np.sqrt(cov[-1, -1]))
        gci = (g - _Z * sg, g + _Z * sg)
    else:
        g, gci = 0.0, (0.0, 0.0)
    return VolumeFit(level, level_ci, weights, g, gci, n, days)


@dataclass(frozen=True)
class DurationFit:
    """A fitted duration distribution: ``kind`` ``gamma`` (``a`` shape, ``b`` scale) or
    ``lognormal`` (``a`` mu, ``b`` sigma of the log), its mean and median in days with 95%
    intervals, the AIC of both candidates and ``n`` durations.

    Examples
    --------
    >>> import numpy as np
    >>> f = fit_truncated_duration(np.random.default_rng(0).gamma(2.0, 5.0, 2000))
    >>> f.kind, round(f.mean, 1), f.n
    ('gamma', 10.1, 2000)
    """

    kind: str
    a: float
    b: float
    mean: float
    mean_ci: tuple[float, float]
    median: float
    median_ci: tuple[float, float]
    aic: dict
    n: int

    def dist(self):
        """The scipy distribution."""
        from scipy import stats

        if self.kind == "gamma":
            return stats.gamma(self.a, scale=self.b)
        return stats.lognorm(self.b, scale=math.exp(self.a))

    def cdf(self, x) -> np.ndarray:
        return self.dist().cdf(np.asarray(x, dtype=float))

    def config(self) -> dict:
        """As a crmsim distribution (``Gamma`` or ``LogNormal``) dict."""
        if self.kind == "gamma":
            return {"kind": "gamma", "shape": self.a, "scale": self.b}
        return {"kind": "lognormal", "mean": self.mean, "cv": math.sqrt(math.exp(self.b ** 2) - 1)}


def _frozen(kind: str, th: np.ndarray):
    from scipy import stats

    if kind == "gamma":
        return stats.gamma(math.exp(th[0]), scale=math.exp(th[1]))
    return stats.lognorm(math.exp(th[1]), scale=math.exp(th[0]))


def _summaries(kind: str, th: np.ndarray) -> tuple[float, float]:
    from scipy import stats

    if kind == "gamma":
        a, b = math.exp(th[0]), math.exp(th[1])
        return a * b, float(stats.gamma.median(a, scale=b))
    mu, s = th[0], math.exp(th[1])
    return math.exp(mu + s * s / 2), math.exp(mu)


def _hessian(f, x: np.ndarray, h: float = 1e-4) -> np.ndarray:
    n = x.size
    H = np.empty((n, n))
    for i in range(n):
        for j in range(n):
            e_i, e_j = np.eye(n)[i] * h, np.eye(n)[j] * h
            H[i, j] = (f(x + e_i + e_j) - f(x + e_i - e_j) - f(x - e_i + e_j) + f(x - e_i - e_j)) / (4 * h * h)
    return H


def fit_truncated_duration(d: np.ndarray, bound: np.ndarray | None = None) -> DurationFit:
    """Fit gamma and lognormal to durations ``d`` (> 0), each observed only because it ended
    within ``bound`` (the time the case had until the end of the history; None: no truncation);
    return the one with the lower AIC.

    >>> rng = np.random.default_rng(3)
    >>> d = rng.gamma(2.0, 20.0, 3000); u = rng.uniform(10, 200, 3000); keep = d <= u
    >>> f = fit_truncated_duration(d[keep], u[keep])
    >>> f.kind, f.mean_ci[0] < 40 < f.mean_ci[1]
    ('gamma', True)
    """
    from scipy import optimize, stats  # loaded when a fit runs (scipy.stats takes ~0.5 s to import)

    d = np.asarray(d, dtype=float)
    if d.size < 2 or np.any(d <= 0):
        raise ValueError(f"durations must be > 0 and at least 2 of them (got {d.size})")
    u = np.full(d.size, np.inf) if bound is None else np.maximum(np.asarray(bound, dtype=float), d)
    fits = {}
    for kind in ("gamma", "lognormal"):
        if kind == "gamma":
            a0, _, s0 = stats.gamma.fit(d, floc=0)
            th0 = np.log([a0, s0])
        else:
            ld = np.log(d)
            th0 = np.array([ld.mean(), math.log(max(ld.std(), 1e-3))])

        def nll(th, kind=kind):
            if np.any(np.abs(th) > 30):
                return 1e300
            f = _frozen(kind, th)
            ll = f.logpdf(d) - np.where(np.isinf(u), 0.0, f.logcdf(np.where(np.isinf(u), 1.0, u)))
            v = -float(ll.sum())
            return v if math.isfinite(v) else 1e300

        r = optimize.minimize(nll, th0, method="Nelder-Mead", options={"xatol": 1e-8, "fatol": 1e-8,
                                                                      "maxiter": 4000})
        fits[kind] = (r.x, r.fun, nll)
    aic = {k: 2 * 2 + 2 * v[1] for k, v in fits.items()}
    kind = min(aic, key=aic.get)
    th, _, nll = fits[kind]
    try:
        cov = np.linalg.inv(_hessian(nll, th))
        if not np.all(np.isfinite(cov)) or np.any(np.diag(cov) < 0):
            raise np.linalg.LinAlgError
    except np.linalg.LinAlgError:
        cov = np.full((2, 2), np.nan)
    mean, median = _summaries(kind, th)
    cis = []
    for idx in (0, 1):
        def g(x, idx=idx):
            return math.log(_summaries(kind, x)[idx])
        grad = np.array([(g(th + np.eye(2)[i] * 1e-6) - g(th - np.eye(2)[i] * 1e-6)) / 2e-6 for i in range(2)])
        se = float(np.sqrt(grad @ cov @ grad))
        v = (mean, median)[idx]
        cis.append((v * math.exp(-_Z * se), v * math.exp(_Z * se)))
    if kind == "gamma":
        a, b = math.exp(th[0]), math.exp(th[1])
    else:
        a, b = float(th[0]), math.exp(th[1])
    return DurationFit(kind, a, b, mean, cis[0], median, cis[1], aic, int(d.size))


def fit_eventual_share(n_yes: int, n_no: int, open_reach: np.ndarray) -> tuple[float, tuple[float, float]]:
    """The share of cases that eventually say yes, when ``n_yes`` did, ``n_no`` surely will not,
    and open cases had each a chance ``open_reach[i]`` (the CDF of the time to yes at its age) to
    have said yes by now if they ever will. Profile-likelihood 95% interval.

    With no open cases this is the plain share:

    >>> p, ci = fit_eventual_share(30, 70, np.array([]))
    >>> round(p, 3), [round(x, 3) for x in ci]
    (0.3, [0.216, 0.394])
    >>> p, _ = fit_eventual_share(30, 0, np.full(70, 0.5))   # the open ones had half the time
    >>> round(p, 3)
    0.6
    """
    from scipy import optimize

    F = np.clip(np.asarray(open_reach, dtype=float), 0.0, 1.0)
    n = n_yes + n_no + F.size
    if n == 0:
        return math.nan, (math.nan, math.nan)

    def ll(p):
        p = min(max(p, 1e-12), 1 - 1e-12)
        return n_yes * math.log(p) + n_no * math.log(1 - p) + float(np.log1p(-p * F).sum())

    if n_yes == 0:
        phat = 0.0
    elif n_no == 0 and np.all(F == 0):
        phat = 1.0
    else:
        r = optimize.minimize_scalar(lambda p: -ll(p), bounds=(1e-12, 1 - 1e-12), method="bounded",
                                     options={"xatol": 1e-10})
        phat = float(r.x)
    top = ll(phat) - _CHI

    def root(a, b):
        try:
            return float(optimize.brentq(lambda p: ll(p) - top, a, b, xtol=1e-10))
        except ValueError:
            return a if ll(a) >= top else b

    lo = 0.0 if phat <= 1e-12 or ll(1e-12) >= top else root(1e-12, phat)
    hi = 1.0 if phat >= 1 - 1e-12 or ll(1 - 1e-12) >= top else root(phat, 1 - 1e-12)
    return phat, (lo, hi)


C = TypeVar("C")


@dataclass
class TwinCalibration(Generic[C]):
    """What a ``calibrate_<model>`` returns: the calibrated ``config``, the ``estimates``
    (``parameter, <group>, value, ci_low, ci_high, n, source, note, path``), the ``provenance``
    of every parameter of the config (:func:`provenance_table`), ``notes`` and the ``window``
    (first day fitted and the day after the last)."""

    config: C
    estimates: pd.DataFrame
    provenance: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    window: tuple = (None, None)


class Estimates:
    """Fitted quantities with their interval, n and source, one row each, grouped by ``group``
    (a grade, a channel, ...): the ``estimates`` table of every calibration.

    >>> e = Estimates("grade")
    >>> e.add("annual_pd", 0.02, (0.01, 0.04), 120, group="B", path="annual_pd.B")
    >>> e.frame()[["parameter", "grade", "value", "n"]].values.tolist()
    [['annual_pd', 'B', 0.02, 120]]
    """

    def __init__(self, group: str = "group"):
        self.group, self.rows = group, []

    def add(self, parameter, value, ci=(math.nan, math.nan), n=0, *, group="", source="fitted", note="",
            path=None) -> None:
        self.rows.append({"parameter": parameter, self.group: group, "value": value, "ci_low": ci[0],
                          "ci_high": ci[1], "n": int(n), "source": source, "note": note, "path": path})

    def frame(self):
        return pd.DataFrame(self.rows, columns=["parameter", self.group, "value", "ci_low", "ci_high", "n",
                                                "source", "note", "path"])


def provenance_table(cfg, est: pd.DataFrame, base_set: set[str], not_fittable: dict[str, str] | None = None
                     ) -> pd.DataFrame:
    """Every parameter of a calibrated config ``cfg`` with where it came from: the estimate whose
    ``path`` is the parameter or a section above it (fitted, pooled, observed...), else the base
    scenario (a path set in it, ``base_set``) or a crmsim default, with the reason it was not
    fitted from ``not_fittable`` (keyed by the parameter's name under ``customers`` / ``reps``,
    else by its first part).

    >>> from crmsim.sim.field import FieldConfig
    >>> cfg = FieldConfig(customers={"count": 40}, reps={"count": 2})
    >>> e = Estimates()
    >>> e.add("stores", 40, n=40, path="customers.count")
    >>> t = provenance_table(cfg, e.frame(), {"reps"}, {"speed_kmh": "not in the log"})
    >>> t.set_index("path").loc[["customers.count", "reps.speed_kmh", "routing"], "source"].tolist()
    ['fitted', 'base scenario', 'default']
    """
    from crmsim.experiments.calibrate import _leaves

    not_fittable = not_fittable or {}
    fitted = {r.path: r for r in est.itertuples() if isinstance(r.path, str)}
    rows = []
    for path, value in _leaves(cfg.model_dump(mode="json", by_alias=True, exclude_none=True)):
        r = next((fitted[p] for p in fitted if path == p or path.startswith(p + ".")), None)
        below = [fitted[p] for p in fitted if p.startswith(path + ".")]
        if r is None and below:     # a list (segments, products): its items' estimates
            srcs = pd.Series([b.source for b in below]).value_counts()
            rows.append({"path": path, "value": str(value), "source": srcs.index[0], "ci_low": np.nan, "ci_high": np.nan,
                         "n": max(b.n for b in below), "note": f"{len(below)} estimates under it ("
                         + ", ".join(f"{k}: {v}" for k, v in srcs.items()) + "); see the estimates table"})
            continue
        if r is not None:
            rows.append({"path": path, "value": value, "source": r.source, "ci_low": r.ci_low, "ci_high": r.ci_high,
                         "n": r.n, "note": r.note})
            continue
        parts = path.split(".")
        in_base = any(".".join(parts[:k]) in base_set for k in range(len(parts), 0, -1))
        key = parts[1] if len(parts) > 1 and parts[0] in ("customers", "reps") else parts[0]
        rows.append({"path": path, "value": value if isinstance(value, str | int | float | bool) else str(value),
                     "source": "base scenario" if in_base else "default", "ci_low": np.nan, "ci_high": np.nan,
                     "n": 0, "note": not_fittable.get(key, "")})
    return pd.DataFrame(rows)


def held_out_table(observed: dict, simulated: pd.DataFrame) -> pd.DataFrame:
    """A time-split check's table: per metric the ``observed`` value of the held-out months, the
    ``simulated`` mean over replications and their 95% range (``sim_low``, ``sim_high``),
    ``error_pct``, ``within_10pct`` and ``within_range`` (the observed value inside the range).

    >>> t = held_out_table({"deals": 100.0}, pd.DataFrame({"deals": [95.0, 104.0, 99.0]}))
    >>> t[["metric", "simulated", "within_10pct"]].values.tolist()
    [['deals', 99.33333333333333, True]]
    """
    rows = []
    for metric, o in observed.items():
        s = simulated[metric].to_numpy(float)
        s = s[np.isfinite(s)]
        lo, hi, mean = ((float(np.quantile(s, 0.025)), float(np.quantile(s, 0.975)), float(s.mean()))
                        if s.size else (math.nan, math.nan, math.nan))
        err = (mean - o) / o * 100 if o else math.nan
        rows.append({"metric": metric, "observed": o, "simulated": mean, "sim_low": lo, "sim_high": hi,
                     "error_pct": err, "within_10pct": bool(abs(err) <= 10) if np.isfinite(err) else None,
                     "within_range": bool(lo <= o <= hi)})
    return pd.DataFrame(rows)
