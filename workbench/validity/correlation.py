"""Pearson correlation that says "undefined" instead of guessing (used by Eqs. 5, 6 and the
predictive-validity analysis)."""
from __future__ import annotations

import numpy as np

MIN_PAIRS = 3


def pearson_r(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson r of two (n,) vectors over their complete pairs.

    NaN-safe: pairs where either value is NaN are dropped (a model a method could not score).
    Returns NaN — never a number — when r is undefined or meaningless: fewer than
    ``MIN_PAIRS`` = 3 complete pairs (two points always give ±1), or either vector constant
    over those pairs (zero variance; e.g. a method that gives every model the same score).
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"pearson_r needs two vectors of one length, got {x.shape} and {y.shape}")
    keep = ~(np.isnan(x) | np.isnan(y))
    x, y = x[keep], y[keep]
    if x.size < MIN_PAIRS or np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan")
    xc, yc = x - x.mean(), y - y.mean()
    r = float(np.dot(xc, yc) / np.sqrt(np.dot(xc, xc) * np.dot(yc, yc)))
    return max(-1.0, min(1.0, r))


def nanmean(values) -> float:
    """Mean of the defined (non-NaN) values; NaN if there are none (no RuntimeWarning)."""
    v = np.asarray(list(values), dtype=np.float64)
    v = v[~np.isnan(v)]
    return float(v.mean()) if v.size else float("nan")
