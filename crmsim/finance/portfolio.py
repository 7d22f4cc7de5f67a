"""Credit-portfolio losses (FEATURES L2C-6): a vectorised one-factor Monte Carlo and the Vasicek
large-portfolio distribution it converges to (Vasicek 2002: P(L <= x) = Phi((sqrt(1 - rho)
Phi^-1(x) - Phi^-1(PD)) / sqrt(rho))), and the Basel II IRB corporate correlation."""

from __future__ import annotations

import numpy as np
from scipy import stats

__all__ = ["vasicek_cdf", "vasicek_quantile", "basel_correlation", "portfolio_loss_mc", "loss_summary"]


def vasicek_cdf(x, pd_: float, rho: float):
    x = np.clip(np.asarray(x, dtype=float), 1e-15, 1 - 1e-15)
    return stats.norm.cdf((np.sqrt(1 - rho) * stats.norm.ppf(x) - stats.norm.ppf(pd_)) / np.sqrt(rho))


def vasicek_quantile(q, pd_: float, rho: float):
    """The q-quantile of the default fraction of a large homogeneous portfolio."""
    return stats.norm.cdf((stats.norm.ppf(pd_) + np.sqrt(rho) * stats.norm.ppf(q)) / np.sqrt(1 - rho))


def basel_correlation(pd_):
    """Basel II IRB corporate asset correlation R = 0.12 w + 0.24 (1 - w), w = (1 - e^{-50 PD}) /
    (1 - e^{-50}) (BCBS explanatory note, 2005)."""
    w = (1 - np.exp(-50 * np.asarray(pd_))) / (1 - np.exp(-50))
    return 0.12 * w + 0.24 * (1 - w)


def portfolio_loss_mc(exposure, pd_, lgd, rho, *, scenarios: int = 100_000, seed=None,
                      chunk: int = 2000) -> np.ndarray:
    """Losses per scenario of a portfolio under the one-factor Gaussian model: obligor i defaults
    when sqrt(rho) Z + sqrt(1 - rho) e_i < Phi^-1(PD_i), Z common to all. Vectorised in chunks of
    scenarios; returns the loss of each scenario (exposure x LGD summed over defaulters)."""
    rng = np.random.default_rng(seed)
    ead = np.asarray(exposure, dtype=float)
    n = ead.size
    thr = stats.norm.ppf(np.broadcast_to(np.asarray(pd_, dtype=float), n))
    w = ead * np.broadcast_to(np.asarray(lgd, dtype=float), n)
    r = np.broadcast_to(np.asarray(rho, dtype=float), n)
    a, b = np.sqrt(r), np.sqrt(1 - r)
    out = np.empty(scenarios)
    for k in range(0, scenarios, chunk):
        m = min(chunk, scenarios - k)
        z = rng.standard_normal(m)
        # conditional on Z, defaults are independent with p_i(Z) = Phi((thr - a Z) / b)
        p = stats.norm.cdf((thr[None, :] - a[None, :] * z[:, None]) / b[None, :])
        out[k:k + m] = (rng.random((m, n), dtype=np.float32) < p) @ w
    return out


def loss_summary(losses: np.ndarray) -> dict[str, float]:
    """Mean, 95/99/99.9% quantiles and the 99% expected shortfall of a loss distribution."""
    q95, q99, q999 = np.quantile(losses, [0.95, 0.99, 0.999])
    return {"mean": float(losses.mean()), "q95": float(q95), "q99": float(q99), "q999": float(q999),
            "es99": float(losses[losses >= q99].mean())}
