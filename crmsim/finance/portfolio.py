"""Credit-portfolio losses (FEATURES L2C-6): a vectorised one-factor Monte Carlo and the Vasicek
large-portfolio distribution it converges to (Vasicek 2002: P(L <= x) = Phi((sqrt(1 - rho)
Phi^-1(x) - Phi^-1(PD)) / sqrt(rho))), and the Basel II IRB corporate correlation."""

from __future__ import annotations

import numpy as np
import pandas as pd

from crmsim._lazy import lazy_module

special = lazy_module("scipy.special")  # ndtr / ndtri: the normal CDF and quantile


__all__ = ["vasicek_cdf", "vasicek_quantile", "basel_correlation", "portfolio_loss_mc", "loss_summary",
           "expected_loss", "irb_capital"]


def vasicek_cdf(x, pd_: float, rho: float):
    x = np.clip(np.asarray(x, dtype=float), 1e-15, 1 - 1e-15)
    return special.ndtr((np.sqrt(1 - rho) * special.ndtri(x) - special.ndtri(pd_)) / np.sqrt(rho))


def vasicek_quantile(q, pd_: float, rho: float):
    """The q-quantile of the default fraction of a large homogeneous portfolio."""
    return special.ndtr((special.ndtri(pd_) + np.sqrt(rho) * special.ndtri(q)) / np.sqrt(1 - rho))


def basel_correlation(pd_):
    """Basel II IRB corporate asset correlation R = 0.12 w + 0.24 (1 - w), w = (1 - e^{-50 PD}) /
    (1 - e^{-50}) (BCBS explanatory note, 2005)."""
    w = (1 - np.exp(-50 * np.asarray(pd_))) / (1 - np.exp(-50))
    return 0.12 * w + 0.24 * (1 - w)


def portfolio_loss_mc(exposure, pd_, lgd, rho, *, scenarios: int = 100_000, seed=None,
                      chunk: int = 2000) -> np.ndarray:
    """Losses per scenario of a portfolio under the one-factor Gaussian model: obligor i defaults
    when sqrt(rho) Z + sqrt(1 - rho) e_i < Phi^-1(PD_i), Z common to all.

    Obligors sharing (PD, rho, exposure x LGD) form a group whose default count given Z is
    Binomial(size, p(Z)), p(Z) = Phi((Phi^-1(PD) - sqrt(rho) Z) / sqrt(1 - rho)); when there are
    few such groups (a homogeneous or bucketed book) that is all that is drawn. Otherwise every
    obligor's latent variable is drawn (float32, in chunks of scenarios). Returns the loss of
    each scenario (exposure x LGD summed over defaulters)."""
    rng = np.random.default_rng(seed)
    ead = np.asarray(exposure, dtype=float)
    n = ead.size
    pdv = np.broadcast_to(np.asarray(pd_, dtype=float), n)
    w = ead * np.broadcast_to(np.asarray(lgd, dtype=float), n)
    r = np.broadcast_to(np.asarray(rho, dtype=float), n)
    keys, counts = np.unique(np.stack([pdv, r, w], axis=1), axis=0, return_counts=True)
    z = rng.standard_normal(scenarios)
    if len(keys) <= max(1, n // 4):
        out = np.zeros(scenarios)
        for (p, rr, ww), c in zip(keys, counts):
            pz = special.ndtr((special.ndtri(p) - np.sqrt(rr) * z) / np.sqrt(1 - rr))
            out += ww * rng.binomial(int(c), pz)
        return out
    thr = special.ndtri(pdv).astype(np.float32)
    a, b = np.sqrt(r).astype(np.float32), np.sqrt(1 - r).astype(np.float32)
    w32 = w.astype(np.float32)
    out = np.empty(scenarios)
    for k in range(0, scenarios, chunk):
        m = min(chunk, scenarios - k)
        e = rng.standard_normal((m, n), dtype=np.float32)
        x = a[None, :] * z[k:k + m, None].astype(np.float32) + b[None, :] * e
        out[k:k + m] = (x < thr[None, :]).astype(np.float32) @ w32
    return out


def loss_summary(losses: np.ndarray) -> dict[str, float]:
    """Mean, 95/99/99.9% quantiles and the 99% expected shortfall of a loss distribution."""
    q95, q99, q999 = np.quantile(losses, [0.95, 0.99, 0.999])
    return {"mean": float(losses.mean()), "q95": float(q95), "q99": float(q99), "q999": float(q999),
            "es99": float(losses[losses >= q99].mean())}


def expected_loss(exposures: pd.DataFrame, pd_: dict | float, lgd: dict | float = 0.45, *,
                  by: str = "grade") -> pd.DataFrame:
    """Expected loss per customer, PD x LGD x EAD, and the book's total in the last row.

    ``exposures``: ``customer_id``, ``ead`` (exposure at default: the open receivables and
    drawn credit a default would leave, minor units) and ``by`` (the grade) when ``pd_`` / ``lgd``
    are given per grade (a dict); a single number applies to every customer. A grade missing from
    a dict is an error naming it. ``lgd`` defaults to 45%, the Basel II foundation-IRB value for
    senior unsecured claims on corporates (BCBS 2006, paragraph 287; the Basel III framework,
    CRE32.6, lowers it to 40% for non-financial corporates).

    Examples
    --------
    >>> e = pd.DataFrame({"customer_id": ["a", "b"], "grade": ["A", "B"], "ead": [10_000, 20_000]})
    >>> expected_loss(e, {"A": 0.01, "B": 0.05}, 0.5)[["customer_id", "el"]].values.tolist()
    [['a', 50.0], ['b', 500.0], ['book', 550.0]]
    """
    out = exposures[[c for c in ("customer_id", by, "ead") if c in exposures.columns]].copy()

    def per(v, name):
        if isinstance(v, dict):
            missing = sorted(set(out[by].astype(str)) - set(map(str, v)))
            if missing:
                raise KeyError(f"expected_loss: {name} has no value for grade(s) {missing}")
            return out[by].astype(str).map({str(k): x for k, x in v.items()}).to_numpy(float)
        return np.full(len(out), float(v))

    out["pd"], out["lgd"] = per(pd_, "pd"), per(lgd, "lgd")
    out["el"] = out["pd"] * out["lgd"] * out["ead"].to_numpy(float)
    total = {"customer_id": "book", "ead": float(out["ead"].sum()), "el": float(out["el"].sum()),
             "pd": float(np.average(out["pd"], weights=out["ead"])) if out["ead"].sum() else np.nan,
             "lgd": float(np.average(out["lgd"], weights=out["ead"])) if out["ead"].sum() else np.nan}
    return pd.concat([out, pd.DataFrame([total])], ignore_index=True)


def irb_capital(pd_, lgd=0.45, maturity=2.5, *, pd_floor: float = 0.0003) -> pd.DataFrame:
    """Basel II IRB capital for corporate exposures, per unit of EAD: the asset ``correlation``
    (:func:`basel_correlation`), the maturity adjustment's ``b = (0.11852 - 0.05478 ln PD)^2``,
    the capital requirement ``K = LGD x [N((G(PD) + sqrt(R) G(0.999)) / sqrt(1 - R)) - PD] x
    (1 + (M - 2.5) b) / (1 - 1.5 b)`` and the ``risk_weight = 12.5 K`` (BCBS, *An Explanatory Note
    on the Basel II IRB Risk Weight Functions*, 2005; Basel II paragraphs 272 and 285). PD is
    floored at 0.03% (paragraph 285); M is clipped to [1, 5] years (paragraph 320).

    Examples
    --------
    >>> irb_capital([0.01, 0.2])["risk_weight"].round(4).tolist()     # LGD 45%, M 2.5: 92.32%, 238.23%
    [0.9232, 2.3823]
    """
    p = np.maximum(np.atleast_1d(np.asarray(pd_, dtype=float)), pd_floor)
    if np.any((p > 1) | np.isnan(p)):
        raise ValueError("irb_capital: PD must be within [0, 1]")
    m = np.clip(np.broadcast_to(np.asarray(maturity, dtype=float), p.shape), 1.0, 5.0)
    lg = np.broadcast_to(np.asarray(lgd, dtype=float), p.shape)
    r = basel_correlation(p)
    b = (0.11852 - 0.05478 * np.log(p)) ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        cond = special.ndtr((special.ndtri(p) + np.sqrt(r) * special.ndtri(0.999)) / np.sqrt(1 - r))
    k = np.where(p >= 1, 0.0, lg * (cond - p) * (1 + (m - 2.5) * b) / (1 - 1.5 * b))
    return pd.DataFrame({"pd": p, "lgd": lg, "maturity": m, "correlation": r, "b": b, "k": k,
                         "risk_weight": 12.5 * k})
