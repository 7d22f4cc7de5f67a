"""Activity models against the published CDNOW fit and against data simulated from the model."""

import numpy as np
import pandas as pd
import pytest

from crmsim.customers.activity import (
    BGNBD,
    PAliveRule,
    ParetoNBD,
    fit_bgnbd,
    fit_paretonbd,
    summary_from_transactions,
)


@pytest.fixture(scope="module")
def cdnow():
    from pathlib import Path

    return pd.read_csv(Path(__file__).resolve().parent.parent / "data/cdnow/cdnow_customers_summary.csv")


def test_summary_from_transactions_reproduces_the_cdnow_summary(root):
    t = pd.read_csv(root / "data/cdnow/CDNOW_sample.txt", sep=r"\s+", header=None,
                    names=["customer", "id", "date", "cds", "dollars"], dtype={"date": str})
    t["date"] = pd.to_datetime(t["date"], format="%Y%m%d")
    ours = summary_from_transactions(t, customer="id", date="date", end="1997-09-30")
    ref = pd.read_csv(root / "data/cdnow/cdnow_customers_summary.csv").set_index("ID")
    ours.index = ours.index.astype(int)
    assert len(ours) == len(ref) == 2357
    j = ref.join(ours.add_suffix("_ours"))
    assert (j["frequency"] == j["frequency_ours"]).all()
    assert np.allclose(j["recency"], j["recency_ours"], atol=0.005)
    assert np.allclose(j["T"], j["T_ours"], atol=0.005)


def test_bgnbd_reproduces_fader_hardie_lee_2005(cdnow):
    m = fit_bgnbd(cdnow)
    # published: r=0.243, alpha=4.414, a=0.793, b=2.426, LL=-9582.4 (2 significant digits or better)
    assert (round(m.r, 3), round(m.alpha, 3), round(m.a, 3), round(m.b, 3)) == (0.243, 4.414, 0.793, 2.426)
    assert m.log_likelihood == pytest.approx(-9582.4, abs=0.05)


def test_paretonbd_fits_cdnow_close_to_bgnbd(cdnow):
    p = fit_paretonbd(cdnow)
    b = fit_bgnbd(cdnow)
    # Fader, Hardie & Lee (2005) find the two models fit CDNOW about equally well
    assert abs(p.log_likelihood - b.log_likelihood) < 20
    assert PAliveRule().params == pytest.approx((p.r, p.alpha, p.s, p.beta), rel=1e-3)
    # both predict similar totals for the 39-week holdout
    assert p.expected_purchases(cdnow, 39).sum() == pytest.approx(b.expected_purchases(cdnow, 39).sum(), rel=0.05)


def simulate_bgnbd(params, n, T, t_hold, seed):
    r, alpha, a, b = params
    rng = np.random.default_rng(seed)
    lam = rng.gamma(r, 1 / alpha, n)
    p = rng.beta(a, b, n)
    x = np.zeros(n, int)
    tx = np.zeros(n)
    future = np.zeros(n, int)
    for i in range(n):
        t, alive = 0.0, True
        while alive:
            t += rng.exponential(1 / lam[i])
            if t > T + t_hold:
                break
            if t <= T:
                x[i] += 1
                tx[i] = t
            else:
                future[i] += 1
            alive = rng.random() >= p[i]
    return pd.DataFrame({"frequency": x, "recency": tx, "T": np.full(n, T)}), future


def simulate_paretonbd(params, n, T, t_hold, seed):
    r, alpha, s, beta = params
    rng = np.random.default_rng(seed)
    lam = rng.gamma(r, 1 / alpha, n)
    tau = rng.exponential(1 / rng.gamma(s, 1 / beta, n))
    x = np.zeros(n, int)
    tx = np.zeros(n)
    future = np.zeros(n, int)
    for i in range(n):
        t = 0.0
        while True:
            t += rng.exponential(1 / lam[i])
            if t > min(tau[i], T + t_hold):
                break
            if t <= T:
                x[i] += 1
                tx[i] = t
            else:
                future[i] += 1
    return pd.DataFrame({"frequency": x, "recency": tx, "T": np.full(n, T)}), future


def test_bgnbd_recovers_parameters_and_predicts_the_holdout():
    true = (0.5, 6.0, 0.8, 2.5)
    s, future = simulate_bgnbd(true, 4000, 40.0, 40.0, seed=1)
    m = fit_bgnbd(s)
    assert m.r == pytest.approx(true[0], rel=0.15) and m.alpha == pytest.approx(true[1], rel=0.2)
    pred = BGNBD(*true).expected_purchases(s, 40.0)
    assert pred.sum() == pytest.approx(future.sum(), rel=0.06)


def test_paretonbd_recovers_parameters_and_p_alive_behaves():
    true = (0.6, 8.0, 0.7, 10.0)
    s, future = simulate_paretonbd(true, 4000, 40.0, 40.0, seed=2)
    m = fit_paretonbd(s)
    assert m.r == pytest.approx(true[0], rel=0.15) and m.s == pytest.approx(true[2], rel=0.35)
    pred = ParetoNBD(*true).expected_purchases(s, 40.0)
    assert pred.sum() == pytest.approx(future.sum(), rel=0.08)
    one_timers = pd.DataFrame({"frequency": [0, 0, 0], "recency": [0.0, 0, 0], "T": [5.0, 20, 60]})
    pa = m.p_alive(one_timers)
    assert (np.diff(pa) < 0).all() and ((pa > 0) & (pa <= 1)).all()
    # a customer silent for long after frequent buying is less likely alive than a recent buyer
    two = pd.DataFrame({"frequency": [10, 10], "recency": [10.0, 39.0], "T": [40.0, 40.0]})
    a, b = m.p_alive(two)
    assert a < 0.2 < b


def test_p_alive_rule_and_bad_summary():
    rule = PAliveRule(threshold=0.3)
    s = pd.DataFrame({"frequency": [10, 10], "recency": [10.0, 39.0], "T": [40.0, 40.0]})
    assert rule.fires(s).tolist() == [True, False]
    with pytest.raises(ValueError, match=r"bad rows \(index\) \[1\]"):
        rule.fires(pd.DataFrame({"frequency": [1, 2], "recency": [1.0, 5.0], "T": [2.0, 4.0]}))
    with pytest.raises(KeyError, match="missing column"):
        rule.fires(pd.DataFrame({"frequency": [1]}))
