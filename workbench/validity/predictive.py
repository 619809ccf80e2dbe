"""Predictive validity: do a method's alignment scores predict downstream task performance
across models? (Sec. 4.2 "Predictive Validity", App. E.3, Table 1 last column.)"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from .correlation import nanmean, pearson_r


@dataclass(frozen=True)
class PredictiveValidity:
    """Pearson r between scores and performance, over the M models.

    ``per_benchmark``: (benchmark, group) → (m,) r per method; ``per_group``: group → (m,)
    mean over that group's benchmarks; ``average``: (m,) mean over all (benchmark, group)
    entries (the paper's "average correlation"). Undefined r (constant vectors, < 3 models) are
    NaN and skipped in the means.
    """

    per_benchmark: dict[tuple[str, str], np.ndarray]
    per_group: dict[str, np.ndarray]
    average: np.ndarray


def predictive_validity(
    X: np.ndarray,
    traits: Sequence[str],
    performance: Mapping[tuple[str, str], np.ndarray],
) -> PredictiveValidity:
    """Correlate each method's scores for a group with a benchmark's performance for it.

    ``X``: (L traits, m methods, M models) alignment scores, rows named by ``traits``.
    ``performance``: (benchmark, group) → (M,) task performance of the same M models in the
    same order, e.g. ("KOLD", "KR"), ("HateXPlain", "US"), and one entry per culture for a
    multi-culture benchmark such as D3CODE. Models missing a value may be NaN.
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 3:
        raise ValueError(f"X must be (traits, methods, models), got shape {X.shape}")
    index = {name: i for i, name in enumerate(traits)}
    if len(index) != X.shape[0]:
        raise ValueError(f"{X.shape[0]} traits in X but {len(traits)} distinct trait names")
    if not performance:
        raise ValueError("no downstream performance given")
    per_benchmark = {}
    for (bench, group), perf in performance.items():
        if group not in index:
            raise ValueError(f"benchmark {bench!r} is for {group!r}, not one of {list(index)}")
        perf = np.asarray(perf, dtype=np.float64)
        if perf.shape != (X.shape[2],):
            raise ValueError(f"{bench!r}/{group}: {perf.shape[0]} models, scores have {X.shape[2]}")
        i = index[group]
        per_benchmark[(bench, group)] = np.array([pearson_r(X[i, j], perf) for j in range(X.shape[1])])
    m = X.shape[1]
    groups = dict.fromkeys(g for _, g in per_benchmark)
    per_group = {
        g: np.array([nanmean(r[j] for (_, gg), r in per_benchmark.items() if gg == g) for j in range(m)])
        for g in groups
    }
    average = np.array([nanmean(r[j] for r in per_benchmark.values()) for j in range(m)])
    return PredictiveValidity(per_benchmark, per_group, average)
