"""Reliability of scores across splits, repeated runs or prompt templates (Sec. 4.3, App. H.1,
Table 12): Cronbach's α and the coefficient of variation.

Both take a (n, k) array: rows are the examinee models, columns the k "items" — the scores of
the same models from k topic splits (sampling reliability), k independent runs (test–retest) or
k prompt templates (template invariance).
"""
from __future__ import annotations

import numpy as np


def cronbach_alpha(X: np.ndarray) -> float:
    """α = k/(k−1) · (1 − Σ_i s²_i / s²_total), s² with ddof = 1 (Cronbach, 1951).

    s²_i is the variance of column i over the models, s²_total that of the row sums. Rows with
    any NaN are dropped (listwise deletion). NaN if fewer than 2 models remain or the row sums
    are constant (α undefined). Can be negative when items disagree.
    """
    X = _check(X)
    if X.shape[1] < 2:
        raise ValueError("Cronbach's alpha needs at least two items (columns)")
    X = X[~np.isnan(X).any(axis=1)]
    if X.shape[0] < 2:
        return float("nan")
    k = X.shape[1]
    total_var = X.sum(axis=1).var(ddof=1)
    if total_var == 0:
        return float("nan")
    return float(k / (k - 1) * (1.0 - X.var(axis=0, ddof=1).sum() / total_var))


def coefficient_of_variation(X: np.ndarray, ddof: int = 1) -> np.ndarray:
    """Per model: CV = s / |mean| of its k scores (s with ``ddof``); (n,), a ratio (0.05 = 5 %).

    NaN for a model whose mean is 0 or with fewer than ddof + 1 non-NaN scores.
    """
    X = _check(X)
    out = np.full(X.shape[0], np.nan)
    for n, row in enumerate(X):
        row = row[~np.isnan(row)]
        if row.size <= ddof or row.mean() == 0:
            continue
        out[n] = row.std(ddof=ddof) / abs(row.mean())
    return out


def mean_coefficient_of_variation(X: np.ndarray, ddof: int = 1) -> float:
    """The CV of Table 12: the mean over models of :func:`coefficient_of_variation` (NaN skipped)."""
    cv = coefficient_of_variation(X, ddof)
    cv = cv[~np.isnan(cv)]
    return float(cv.mean()) if cv.size else float("nan")


def _check(X: np.ndarray) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"expected (models, items), got shape {X.shape}")
    return X
