"""How stable a codebook is across seeds (issue #14): agreement of expression assignments and
one-to-one matching of codes. Pure functions over arrays."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import adjusted_rand_score

from .vectors import unit_rows


def assignment_agreement(ids_a: np.ndarray, labels_a: np.ndarray, ids_b: np.ndarray, labels_b: np.ndarray) -> float:
    """Adjusted Rand index of two codebooks' expression → code assignments, over the expressions
    both assign (1 = the same partition, ≈ 0 = chance)."""
    b_of = dict(zip(np.asarray(ids_b).tolist(), np.asarray(labels_b).tolist()))
    common = [(la, b_of[e]) for e, la in zip(np.asarray(ids_a).tolist(), np.asarray(labels_a).tolist()) if e in b_of]
    if len(common) < 2:
        return float("nan")
    first, second = zip(*common)
    return float(adjusted_rand_score(first, second))


@dataclass(frozen=True)
class CodeMatch:
    """Hungarian matching of two codebooks' centroids by cosine: the matched pairs (index in a,
    index in b, cosine) at or above ``threshold``, and their share of the larger codebook."""

    pairs: list[tuple[int, int, float]]
    share: float
    threshold: float


def match_codes(centroids_a: np.ndarray, centroids_b: np.ndarray, threshold: float = 0.9) -> CodeMatch:
    """One-to-one matching maximising total cosine (Hungarian); a pair counts when its cosine is
    ≥ ``threshold``. share = matched pairs ÷ max(K_a, K_b), so extra codes on either side count
    as unmatched."""
    a, b = unit_rows(np.asarray(centroids_a, dtype=np.float64)), unit_rows(np.asarray(centroids_b, dtype=np.float64))
    if len(a) == 0 or len(b) == 0:
        return CodeMatch([], 0.0, threshold)
    sims = a @ b.T
    rows, cols = linear_sum_assignment(-sims)
    pairs = [(int(i), int(j), float(sims[i, j])) for i, j in zip(rows, cols) if sims[i, j] >= threshold]
    return CodeMatch(pairs, len(pairs) / max(len(a), len(b)), threshold)
