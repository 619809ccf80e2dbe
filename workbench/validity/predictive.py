"""Predictive validity: do a method's alignment scores predict downstream task performance
across models? (Sec. 4.2 "Predictive Validity", App. E.3, Table 1 last column.)

The paper says only "the Pearson correlations between each method's scores r(g_i, m_j) and
downstream task performance, on five benchmarks", averaged. Two choices are left open; both are
selectable and the defaults are the readings that reproduce Table 1 from Tables 8 and 11:

- ``pooling="benchmark"`` (default): one r per benchmark over all of its rows. A benchmark of one
  culture (KOLD: KR) correlates over the M models; a benchmark spanning several cultures (D3CODE:
  KR, JP, CN, US) over all model × culture points (4 × 12 = 48), each point pairing the method's
  score of a model for a culture with the model's performance for that culture. The average is
  over the five benchmarks. ``pooling="cell"``: one r per (benchmark, culture) over the models,
  averaged over the cells (8 in the paper: D3CODE counts four times). On the paper's tables this
  gives DOVE 11.8 % and WVS 20.3 % instead of the printed 31.56 % and 16.20 %.
- ``undefined="zero"`` (default): a benchmark whose r is undefined for a method (e.g. NaVAB, which
  has no KR or JP scores, on KOLD and JOLFCC; or a constant score vector) counts as r = 0 in the
  average, which stays over all benchmarks; this gives NaVAB's −20.77 % (= (15.47 − 42.90 −
  76.43 + 0 + 0)/5). ``undefined="skip"`` leaves such benchmarks out of that method's average
  (NaVAB: −34.62 %).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Mapping, Sequence

import numpy as np

from .correlation import nanmean, pearson_r

Pooling = Literal["benchmark", "cell"]
Undefined = Literal["zero", "skip"]
POOLINGS: tuple[Pooling, ...] = ("benchmark", "cell")
UNDEFINED: tuple[Undefined, ...] = ("zero", "skip")


@dataclass(frozen=True)
class PredictiveValidity:
    """Pearson r between scores and performance, and their average.

    ``per_benchmark``: entry → (m,) r per method, NaN where undefined; an entry is a benchmark
    (``pooling="benchmark"``) or ``"benchmark/culture"`` (``pooling="cell"``). ``points``: entry →
    how many (model, culture) rows it correlates over. ``average``: (m,) mean over the entries,
    undefined r counted as 0 or skipped (``undefined``); NaN for a method with no defined r
    at all. Ratios, not percentages.
    """

    per_benchmark: dict[str, np.ndarray]
    points: dict[str, int]
    average: np.ndarray
    pooling: Pooling
    undefined: Undefined


def predictive_validity(
    X: np.ndarray,
    traits: Sequence[str],
    performance: Mapping[tuple[str, str], np.ndarray],
    pooling: Pooling = "benchmark",
    undefined: Undefined = "zero",
) -> PredictiveValidity:
    """Correlate each method's scores with each benchmark's performance (see the module docstring).

    ``X``: (L traits, m methods, M models) alignment scores, rows named by ``traits``.
    ``performance``: (benchmark, culture) → (M,) task performance of the same M models in the
    same order, e.g. ("KOLD", "KR"), ("HateXPlain", "US"), and one entry per culture for a
    multi-culture benchmark such as ("D3CODE", "KR") … ("D3CODE", "US"). NaN = not measured;
    (model, culture) points with a NaN score or performance are dropped from that r.
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 3:
        raise ValueError(f"X must be (traits, methods, models), got shape {X.shape}")
    if pooling not in POOLINGS:
        raise ValueError(f"pooling must be one of {POOLINGS}, not {pooling!r}")
    if undefined not in UNDEFINED:
        raise ValueError(f"undefined must be one of {UNDEFINED}, not {undefined!r}")
    index = {name: i for i, name in enumerate(traits)}
    if len(index) != X.shape[0]:
        raise ValueError(f"{X.shape[0]} traits in X but {len(traits)} distinct trait names")
    if not performance:
        raise ValueError("no downstream performance given")
    entries: dict[str, list[tuple[int, np.ndarray]]] = {}
    for (bench, group), perf in performance.items():
        if group not in index:
            raise ValueError(f"benchmark {bench!r} is for {group!r}, not one of {list(index)}")
        perf = np.asarray(perf, dtype=np.float64)
        if perf.shape != (X.shape[2],):
            raise ValueError(f"{bench!r}/{group}: {perf.shape[0]} models, scores have {X.shape[2]}")
        key = bench if pooling == "benchmark" else f"{bench}/{group}"
        entries.setdefault(key, []).append((index[group], perf))
    m = X.shape[1]
    per_benchmark, points = {}, {}
    for key, rows in entries.items():
        perf = np.concatenate([p for _, p in rows])
        per_benchmark[key] = np.array([pearson_r(np.concatenate([X[i, j] for i, _ in rows]), perf) for j in range(m)])
        points[key] = perf.size
    average = np.array([_average([r[j] for r in per_benchmark.values()], undefined) for j in range(m)])
    return PredictiveValidity(per_benchmark, points, average, pooling, undefined)


def _average(rs: list[float], undefined: Undefined) -> float:
    """Mean of one method's r over the entries; NaN when none is defined (nothing to count as 0)."""
    defined = [r for r in rs if not np.isnan(r)]
    if not defined:
        return float("nan")
    return sum(defined) / len(rs) if undefined == "zero" else nanmean(defined)
