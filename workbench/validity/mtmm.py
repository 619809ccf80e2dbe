"""Multitrait–multimethod construct validity (Campbell & Fiske, 1959; App. E.3, Eqs. 5 and 6).

``X`` is an array (L traits, m methods, M models): X[i, j] is the vector of alignment scores to
culture (trait) T_i that method M_j gives the M examinee LLMs; Corr is Pearson over the models.
Undefined correlations (a constant or too-short score vector, see ``pearson_r``) are left out
of every average; an average with nothing defined is NaN.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from .correlation import nanmean, pearson_r
from .culture_pairs import CONTRASTING_PAIRS, SIMILAR_PAIRS, Pair


def convergent_validity(X: np.ndarray) -> np.ndarray:
    """Eq. 5: A(M_j) = 1/L Σ_i [1/(m−1) Σ_{j'≠j} Corr(X_ij, X_ij')], for every method; (m,).

    How well method j agrees with the other methods on the same trait; should be positive.
    With undefined correlations skipped, the inner mean is over the defined j' only.
    """
    X = _check(X)
    L, m, _ = X.shape
    if m < 2:
        raise ValueError("convergent validity needs at least two methods")
    out = np.empty(m)
    for j in range(m):
        per_trait = [
            nanmean(pearson_r(X[i, j], X[i, jj]) for jj in range(m) if jj != j) for i in range(L)
        ]
        out[j] = nanmean(per_trait)
    return out


def discriminant_validity(
    X: np.ndarray,
    traits: Sequence[str],
    similar_pairs: Sequence[Pair] = SIMILAR_PAIRS,
    contrasting_pairs: Sequence[Pair] = CONTRASTING_PAIRS,
) -> np.ndarray:
    """Eq. 6: B(M_j) = mean_{(i,k)∈S⁺} Corr(X_ij, X_kj) − mean_{(i,k)∈S⁻} Corr(X_ij, X_kj); (m,).

    ``traits`` names the L rows of ``X`` (e.g. ["KR", "JP", "CN", "US"]); the pairs name
    traits. The paper's S⁺ lists ordered pairs (i, k) and (k, i); Corr is symmetric, so each
    unordered pair once gives the same mean. Higher = scores of similar cultures move together
    more than those of contrasting ones.
    """
    X = _check(X)
    index = {name: i for i, name in enumerate(traits)}
    if len(index) != X.shape[0]:
        raise ValueError(f"{X.shape[0]} traits in X but {len(traits)} distinct trait names")
    plus = _indices(similar_pairs, index, "similar")
    minus = _indices(contrasting_pairs, index, "contrasting")
    out = np.empty(X.shape[1])
    for j in range(X.shape[1]):
        out[j] = nanmean(pearson_r(X[i, j], X[k, j]) for i, k in plus) - nanmean(
            pearson_r(X[i, j], X[k, j]) for i, k in minus
        )
    return out


def _indices(pairs: Sequence[Pair], index: dict[str, int], what: str) -> list[tuple[int, int]]:
    if not pairs:
        raise ValueError(f"no {what} pairs given")
    out = []
    for a, b in pairs:
        if a not in index or b not in index:
            raise ValueError(f"{what} pair ({a}, {b}) names a trait not in {list(index)}")
        if a == b:
            raise ValueError(f"{what} pair ({a}, {b}) pairs a trait with itself")
        out.append((index[a], index[b]))
    return out


def _check(X: np.ndarray) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 3:
        raise ValueError(f"X must be (traits, methods, models), got shape {X.shape}")
    return X
