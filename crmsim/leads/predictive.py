"""Predictive lead scoring fitted on history with a known outcome (FEATURES L2C-2).

Two models, both with calibrated probabilities (scikit-learn):

- a naive-Bayes frequency model, as mature CRMs ship: numeric fields binned by quantiles, every
  field treated as categorical (``CategoricalNB`` with Laplace smoothing), calibrated by isotonic
  regression in cross-validation;
- a regularised (L2) logistic regression on one-hot categories and standardised numbers.

:func:`evaluate` gives the report a sales ops analyst reads before switching: AUC, KS, lift by
decile and a calibration table, on a held-out split (:func:`split`, seeded and stratified).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from crmsim.errors import need

# scikit-learn (about 1 s to import) is imported where a model is fitted or evaluated, not here

__all__ = ["PredictiveScorer", "Evaluation", "split", "fit_naive_bayes", "fit_logistic", "evaluate",
           "points_from_logistic", "leakage", "scoring_rule_from_points", "PLACEHOLDERS"]

#: values CRMs put in an unfilled picklist; declare them missing (``missing_values=``)
PLACEHOLDERS = ("Select", "--Select--", "-- None --", "--None--", "Please select", "N/A", "n/a", "-", "")


@dataclass(frozen=True)
class PredictiveScorer:
    """A fitted model: ``predict(df)`` gives the probability of the outcome per row.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> h = pd.DataFrame({"source": rng.choice(["web", "referral", "ads"], 400), "visits": rng.poisson(3, 400)})
    >>> h["converted"] = rng.random(400) < np.where(h["source"] == "referral", 0.5, 0.1) + 0.03 * h["visits"]
    >>> s = fit_logistic(h, "converted", ["source", "visits"])
    >>> s.kind, s.features
    ('logistic', ('source', 'visits'))
    >>> s.predict(pd.DataFrame({"source": ["referral", "ads"], "visits": [3, 3]})).round(2).tolist()
    [0.64, 0.31]
    """

    kind: str
    features: tuple[str, ...]
    model: object
    missing_values: tuple[str, ...] = ()     # placeholders read as missing, when fitted and when scoring

    def predict(self, df: pd.DataFrame) -> pd.Series:
        missing = [f for f in self.features if f not in df.columns]
        if missing:
            raise KeyError(f"{self.kind} scorer: column(s) {missing} missing; it was fitted on {list(self.features)}")
        p = self.model.predict_proba(_features(df, self.features, self.missing_values))[:, 1]
        return pd.Series(p, index=df.index, name="p")


def _features(df: pd.DataFrame, features, missing_values) -> pd.DataFrame:
    X = df[list(features)]
    if not missing_values:
        return X
    return X.apply(lambda c: _missing(c, missing_values))


def _need_features(features) -> list[str]:
    features = list(features)
    if not features:
        from crmsim.errors import InputError

        raise InputError("give at least one feature column to fit on")
    return features


def _target(df: pd.DataFrame, target: str, positive) -> np.ndarray:
    if target not in df.columns:
        raise KeyError(f"target column '{target}' missing; columns are {list(df.columns)}")
    y = df[target]
    if y.isna().any():
        rows = df.index[y.isna()].tolist()[:10]
        raise ValueError(f"target '{target}' has missing values at rows {rows}")
    return (y == positive).to_numpy(dtype=int) if positive is not None else y.to_numpy(dtype=int)


def _split_types(df: pd.DataFrame, features) -> tuple[list[str], list[str]]:
    num = [f for f in features if pd.api.types.is_numeric_dtype(df[f]) and df[f].nunique() > 10]
    cat = [f for f in features if f not in num]
    return num, cat


def split(df: pd.DataFrame, target: str, *, test_size: float = 0.3, seed: int = 0):
    """Seeded, stratified train/test split (``train, test``).

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> h = pd.DataFrame({"source": rng.choice(["web", "referral", "ads"], 400), "visits": rng.poisson(3, 400)})
    >>> h["converted"] = rng.random(400) < np.where(h["source"] == "referral", 0.5, 0.1) + 0.03 * h["visits"]
    >>> train, test = split(h, "converted", test_size=0.25, seed=1)
    >>> len(train), len(test), bool(abs(train["converted"].mean() - test["converted"].mean()) < 0.01)   # stratified
    (300, 100, True)
    """
    need("sklearn", "split (a stratified train/test split)")
    from sklearn.model_selection import train_test_split

    return train_test_split(df, test_size=test_size, random_state=seed, stratify=df[target])


def fit_naive_bayes(history: pd.DataFrame, target: str, features, *, positive=None, bins: int = 5,
                    alpha: float = 1.0, seed: int = 0, missing_values=()) -> PredictiveScorer:
    """Naive-Bayes frequency model (numbers binned into ``bins`` quantiles), calibrated by
    isotonic regression in 5-fold cross-validation (naive Bayes scores are too extreme for Platt
    scaling on probabilities). ``missing_values``: placeholders (e.g. :data:`PLACEHOLDERS`:
    "Select", "N/A") read as missing.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> h = pd.DataFrame({"source": rng.choice(["web", "referral", "ads"], 400), "visits": rng.poisson(3, 400)})
    >>> h["converted"] = rng.random(400) < np.where(h["source"] == "referral", 0.5, 0.1) + 0.03 * h["visits"]
    >>> s = fit_naive_bayes(h, "converted", ["source", "visits"])
    >>> s.predict(pd.DataFrame({"source": ["referral", "ads"], "visits": [3, 3]})).round(2).tolist()
    [0.65, 0.34]
    """
    features = _need_features(features)
    y = _target(history, target, positive)
    history = history.assign(**_features(history, features, missing_values))
    counts = np.bincount(y, minlength=2)
    if counts.min() < 5:   # the calibration's 5-fold cross-validation needs 5 of each class
        from crmsim.errors import InputError

        raise InputError(f"fit_naive_bayes: {len(y)} leads with {int(counts[1])} won and {int(counts[0])} not: "
                         "the calibrated model needs at least 5 of each; with fewer, use "
                         "crmsim.leads.pls.FrequencyTable (Odoo's frequency model, which scores from the first lead)")
    num, cat = _split_types(history, features)
    need("sklearn", "fit_naive_bayes (predictive lead scoring)")
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.compose import ColumnTransformer
    from sklearn.naive_bayes import CategoricalNB
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import KBinsDiscretizer, OrdinalEncoder

    prep = ColumnTransformer(
        [("num", KBinsDiscretizer(n_bins=bins, encode="ordinal", strategy="quantile",
                                  quantile_method="averaged_inverted_cdf"), num),
         ("cat", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1,
                                encoded_missing_value=-1), cat)],
        remainder="drop")
    nb = Pipeline([("prep", prep), ("shift", _Shift()), ("nb", CategoricalNB(alpha=alpha, min_categories=bins + 64))])
    model = CalibratedClassifierCV(nb, method="isotonic", cv=5)
    model.fit(history[features].astype({c: "object" for c in cat}), y)
    return PredictiveScorer("naive_bayes", tuple(features), _CastCat(model, cat), tuple(missing_values))


def fit_logistic(history: pd.DataFrame, target: str, features, *, positive=None, C: float = 1.0,
                 seed: int = 0, missing_values=()) -> PredictiveScorer:
    """L2-regularised logistic regression (one-hot categories, standardised numbers);
    ``missing_values`` as for :func:`fit_naive_bayes`.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> h = pd.DataFrame({"source": rng.choice(["web", "referral", "ads"], 400), "visits": rng.poisson(3, 400)})
    >>> h["converted"] = rng.random(400) < np.where(h["source"] == "referral", 0.5, 0.1) + 0.03 * h["visits"]
    >>> s = fit_logistic(h, "converted", ["source", "visits"], C=0.5)
    >>> p = s.predict(pd.DataFrame({"source": ["referral", "ads"], "visits": [3, 3]}))
    >>> bool(p.iloc[0] > p.iloc[1])
    True
    """
    features = _need_features(features)
    y = _target(history, target, positive)
    history = history.assign(**_features(history, features, missing_values))
    num, cat = _split_types(history, features)
    need("sklearn", "fit_logistic (predictive lead scoring)")
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    prep = ColumnTransformer([("num", StandardScaler(), num),
                              ("cat", OneHotEncoder(handle_unknown="ignore"), cat)])
    model = Pipeline([("prep", prep), ("lr", LogisticRegression(C=C, max_iter=2000, random_state=seed))])
    model.fit(history[features].astype({c: "object" for c in cat}), y)
    return PredictiveScorer("logistic", tuple(features), _CastCat(model, cat), tuple(missing_values))


class _Shift:
    """Map unknown (-1) codes to a spare category so CategoricalNB accepts them."""

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        X = np.asarray(X, dtype=float)
        return np.where(X < 0, 63, X).astype(int)

    def get_params(self, deep=True):
        return {}

    def set_params(self, **params):
        return self


class _CastCat:
    """Cast categorical columns to object before predicting (pandas 3 string dtypes)."""

    def __init__(self, model, cat):
        self.model, self.cat = model, cat

    def predict_proba(self, X: pd.DataFrame):
        return self.model.predict_proba(X.astype({c: "object" for c in self.cat}))


@dataclass(frozen=True)
class Evaluation:
    """How well a scorer ranks and how honest its probabilities are (:func:`evaluate`): ``auc``,
    ``ks``, the ``lift`` and ``calibration`` tables by decile, and per feature the ``leakage``
    check; ``warnings`` says what to look at.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> h = pd.DataFrame({"source": rng.choice(["web", "referral", "ads"], 400), "visits": rng.poisson(3, 400)})
    >>> h["converted"] = rng.random(400) < np.where(h["source"] == "referral", 0.5, 0.1) + 0.03 * h["visits"]
    >>> train, test = split(h, "converted", seed=1)
    >>> s = fit_logistic(train, "converted", ["source", "visits"])
    >>> e = evaluate(test["converted"], s.predict(test))
    >>> round(e.auc, 2), e.lift.columns.tolist()[:3]
    (0.76, ['n', 'events', 'rate'])
    """

    auc: float
    ks: float
    lift: pd.DataFrame          # by decile of predicted probability, best first
    calibration: pd.DataFrame   # mean predicted vs observed rate per decile
    leakage: pd.DataFrame | None = None   # per feature (with ``features=``): see :func:`leakage`

    @property
    def warnings(self) -> list[str]:
        """A line per feature that looks like it leaks the outcome."""
        if self.leakage is None:
            return []
        return [f"feature '{r.feature}' may leak the outcome: {r.why}" for r in self.leakage.itertuples() if r.suspect]

    def summary(self) -> str:
        top = self.lift.iloc[0]
        text = (f"AUC {self.auc:.3f}, KS {self.ks:.3f}, top-decile lift {top['lift']:.2f} "
                f"({top['rate']:.1%} vs {self.lift['events'].sum() / self.lift['n'].sum():.1%})")
        return "\n".join([text, *[f"warning: {w}" for w in self.warnings]])


def _missing(col: pd.Series, missing_values) -> pd.Series:
    """The column with placeholders ("Select", "N/A", blanks...) as missing."""
    if not missing_values:
        return col
    t = col.astype("string").str.strip()
    return col.mask(t.isin(list(missing_values)).fillna(False))


def leakage(history: pd.DataFrame, target: str, features, *, positive=None, missing_values=PLACEHOLDERS,
            auc_limit: float = 0.95, fill_gap: float = 0.9) -> pd.DataFrame:
    """Per feature, signs that it is known only once the outcome is: its univariate AUC (the
    outcome rate of each value as the score, or the value itself for numbers; 0.5 = no signal,
    shown as max(AUC, 1 - AUC)) and how often it is filled for won and for other leads. A feature
    is ``suspect`` when the AUC reaches ``auc_limit`` or the fill rates differ by ``fill_gap``
    (a "reason lost" filled only on lost leads, a "contract number" only on won ones).

    >>> h = pd.DataFrame({"won": [1, 1, 0, 0, 1, 0], "contract": ["K1", "K2", "Select", "", "K3", None],
    ...                   "source": ["web", "fair", "web", "fair", "web", "web"]})
    >>> leakage(h, "won", ["contract", "source"])[["feature", "filled_won", "filled_other", "suspect"]].values.tolist()
    [['contract', 1.0, 0.0, True], ['source', 1.0, 1.0, False]]
    """
    y = _target(history, target, positive)
    from scipy.stats import rankdata

    rows = []
    for f in features:
        if f not in history.columns:
            raise KeyError(f"leakage: feature '{f}' missing; columns are {list(history.columns)}")
        col = _missing(history[f], missing_values)
        filled = col.notna().to_numpy()
        fw = float(filled[y == 1].mean()) if (y == 1).any() else np.nan
        fo = float(filled[y == 0].mean()) if (y == 0).any() else np.nan
        if pd.api.types.is_numeric_dtype(col) and col.nunique() > 10:
            score = col.astype(float).fillna(col.astype(float).median()).to_numpy()
        else:
            key = col.astype("string").fillna("<missing>")
            score = pd.Series(y, index=col.index).groupby(key.to_numpy()).transform("mean").to_numpy(dtype=float)
        n1, n0 = int((y == 1).sum()), int((y == 0).sum())
        if n1 and n0:
            r = rankdata(score)
            auc = float((r[y == 1].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))
            auc = max(auc, 1 - auc)
        else:
            auc = np.nan
        why = []
        if auc == auc and auc >= auc_limit:
            why.append(f"on its own it separates the outcomes (AUC {auc:.3f})")
        if fw == fw and fo == fo and abs(fw - fo) >= fill_gap:
            why.append(f"filled on {fw:.0%} of won and {fo:.0%} of other leads (filled after the outcome?)")
        rows.append({"feature": f, "auc": auc, "filled_won": fw, "filled_other": fo, "suspect": bool(why),
                     "why": "; ".join(why)})
    return pd.DataFrame(rows)


def evaluate(y_true, p, *, deciles: int = 10, features: pd.DataFrame | None = None,
             missing_values=PLACEHOLDERS) -> Evaluation:
    """AUC, KS, lift by decile and a calibration table for probabilities ``p`` of outcome 1; with
    ``features`` (the leads' feature columns, same rows), the :func:`leakage` check, whose suspects
    are in ``warnings`` and the summary.

    Examples
    --------
    >>> e = evaluate([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], deciles=2)
    >>> round(e.auc, 2), round(e.ks, 2)
    (0.75, 0.5)
    """
    y = np.asarray(y_true, dtype=int)
    p = np.asarray(p, dtype=float)
    if y.size != p.size or y.size == 0 or len(np.unique(y)) < 2:
        raise ValueError("evaluate needs equally long y and p with both outcomes present")
    need("sklearn", "evaluate (AUC of a lead score)")
    from sklearn.metrics import roc_auc_score

    auc = float(roc_auc_score(y, p))
    order = np.argsort(-p, kind="stable")
    cum_pos = np.cumsum(y[order]) / y.sum()
    cum_neg = np.cumsum(1 - y[order]) / (1 - y).sum()
    ks = float(np.max(np.abs(cum_pos - cum_neg)))
    dec = np.empty(y.size, dtype=int)
    dec[order] = np.arange(y.size) * deciles // y.size  # 0 = highest scores
    t = pd.DataFrame({"decile": dec + 1, "y": y, "p": p})
    g = t.groupby("decile")
    lift = pd.DataFrame({"n": g.size(), "events": g["y"].sum(), "rate": g["y"].mean()})
    lift["lift"] = lift["rate"] / y.mean()
    lift["cum_capture"] = lift["events"].cumsum() / y.sum()
    cal = pd.DataFrame({"predicted": g["p"].mean(), "observed": g["y"].mean(), "n": g.size()})
    leak = None
    if features is not None:
        if len(features) != y.size:
            raise ValueError(f"evaluate: features has {len(features)} rows for {y.size} outcomes")
        f = features.reset_index(drop=True).assign(_y=y)
        leak = leakage(f, "_y", [c for c in features.columns], missing_values=missing_values)
    return Evaluation(auc, ks, lift, cal, leak)


def points_from_logistic(scorer: PredictiveScorer, *, bands: dict[str, list[float]] | None = None,
                         points_to_double: float = 20.0, offset: float = 0.0):
    """Turn a logistic scorer fitted on **categorical** features into point rules a CRM can run.

    Each category level gets ``round(coef * points_to_double / ln 2)`` points (``points_to_double``
    points double the odds, the scorecard convention); the levels of each feature are shifted so
    the lowest gets 0. A numeric feature must have been fitted as bands: ``bands[field]`` lists
    the band edges used to make the ``<field>_band`` feature, e.g. ``{"engagement": [0, 1, 3, 6]}``
    for the bands [0,1), [1,3), [3,6), [6, inf) labelled by their lower edge.

    Returns a list of :class:`~crmsim.leads.scoring.PointsRule`. The score of a lead is then a
    monotone function of the model's log-odds (``offset`` + sum of points).

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> h = pd.DataFrame({"source": rng.choice(["web", "referral", "ads"], 400), "visits": rng.poisson(3, 400)})
    >>> h["converted"] = rng.random(400) < np.where(h["source"] == "referral", 0.5, 0.1) + 0.03 * h["visits"]
    >>> s = fit_logistic(h, "converted", ["source"])
    >>> [(r.points, r.when[0].value) for r in points_from_logistic(s)]
    [(8.0, 'ads'), (48.0, 'referral')]
    """
    from crmsim.leads.scoring import PointsRule

    if scorer.kind != "logistic":
        raise ValueError("points_from_logistic needs a scorer from fit_logistic")
    pipe = scorer.model.model
    prep, lr = pipe.named_steps["prep"], pipe.named_steps["lr"]
    num = [c for name, _, cols in prep.transformers_ if name == "num" for c in cols]
    if num:
        raise ValueError(f"fit numeric features {num} as bands first (see 'bands')")
    enc = prep.named_transformers_["cat"]
    coef = lr.coef_[0]
    factor = points_to_double / np.log(2)
    rules, k = [], 0
    bands = bands or {}
    for feat, levels in zip(enc.feature_names_in_, enc.categories_):
        w = coef[k:k + len(levels)]
        k += len(levels)
        pts = np.round((w - w.min()) * factor)
        field = feat[:-5] if feat.endswith("_band") and feat[:-5] in bands else feat
        for level, p in zip(levels, pts):
            if p == 0:
                continue
            if field != feat:
                edges = bands[field]
                lo = float(level)
                i = edges.index(lo)
                if i + 1 < len(edges):
                    cond = {"field": field, "op": "between", "value": [lo, edges[i + 1] - 1e-9]}
                else:   # the top band is open
                    cond = {"field": field, "op": ">=", "value": lo}
            else:
                cond = {"field": field, "op": "eq", "value": level}
            rules.append(PointsRule(points=float(p), when=[cond], name=f"{field}={level}"))
    return rules


def scoring_rule_from_points(rules, history: pd.DataFrame, *, grade_shares=(0.1, 0.2, 0.3),
                             mql_share: float = 0.3, grades=("A", "B", "C"), fallback_grade: str = "D"):
    """A :class:`~crmsim.leads.scoring.ScoringRule` of point ``rules`` (e.g. from
    :func:`points_from_logistic`) whose grades and MQL threshold spread the ``history``'s leads:
    the best ``grade_shares[0]`` of them are A, the next ``grade_shares[1]`` B, ..., and about
    ``mql_share`` of them are MQLs (thresholds at those quantiles of the history's scores;
    ties at a threshold go up). A scale fitted on one export is no longer read against the
    default thresholds (70 / 50 / 30, MQL 40) of another.

    >>> from crmsim.leads.scoring import PointsRule
    >>> h = pd.DataFrame({"x": list(range(10))})
    >>> r = scoring_rule_from_points([PointsRule(points=1, when=[{"field": "x", "op": ">=", "value": k}]) for k in range(1, 10)],
    ...                              h, grade_shares=(0.2, 0.3), grades=("A", "B"), fallback_grade="C", mql_share=0.5)
    >>> r.grades, r.mql_threshold, r.apply(h)["grade"].value_counts().sort_index().tolist()
    ({'A': 8.0, 'B': 5.0}, 5.0, [2, 3, 5])
    """
    from crmsim.leads.scoring import ScoringRule

    if len(grade_shares) != len(grades):
        raise ValueError(f"give one share per grade: {len(grades)} grades, {len(grade_shares)} shares")
    if not 0 < sum(grade_shares) <= 1 or not 0 < mql_share <= 1:
        raise ValueError("grade_shares must sum to at most 1 and mql_share be in (0, 1]")
    base = ScoringRule(rules=tuple(rules), grades={}, fallback_grade=fallback_grade, mql_threshold=0)
    score = np.sort(base.score(history).to_numpy())[::-1]
    if not score.size:
        raise ValueError("scoring_rule_from_points: the history has no leads")
    cuts, acc, th = {}, 0.0, []
    for share in grade_shares:
        acc += share
        th.append(float(score[min(score.size - 1, max(0, int(np.ceil(acc * score.size)) - 1))]))
    # strictly decreasing thresholds: a grade whose quantile equals the one above takes the next score
    for g, t in zip(grades, th):
        if cuts and t >= min(cuts.values()):
            lower = score[score < min(cuts.values())]
            if not lower.size:
                break
            t = float(lower[0])
        cuts[g] = t
    mql = float(score[min(score.size - 1, max(0, int(np.ceil(mql_share * score.size)) - 1))])
    return ScoringRule(rules=tuple(rules), grades=cuts, fallback_grade=fallback_grade, mql_threshold=mql)
