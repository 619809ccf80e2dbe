"""How stable a codebook is across seeds (issue #14): agreement of expression assignments and
one-to-one matching of codes (matched when their members cannot be told apart, the merge criterion
of ``refine.distinguishable``, issue 23). Pure functions over arrays."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import adjusted_rand_score

from .refine import MIN_SEPARATION, distinguishable, held_out_separation
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
    """One-to-one matching of two codebooks' codes: the pairs (index in a, index in b, held-out
    separation) whose members cannot be told apart, and their share of the larger codebook."""

    pairs: list[tuple[int, int, float]]
    share: float
    min_separation: float


def match_codes(members_a: list[np.ndarray], members_b: list[np.ndarray], min_separation: float = MIN_SEPARATION,
                seed: int = 0) -> CodeMatch:
    """Pair each code of a with at most one of b (Hungarian, maximising the total cosine of the
    member centroids); a pair counts as the same code when its two codes' members are not
    `distinguishable` (`held_out_separation` < ``min_separation``, the criterion that holds back a
    merge). share = matched pairs ÷ max(K_a, K_b), so extra codes on either side count as unmatched.

    A cosine threshold cannot do this: embedders put distinct codes' centroids close (on the
    offline demo 55 of 66 pairs of one codebook's distinct codes are above 0.9, issue 23).

    Args:
        members_a, members_b: per code, its (m_k, d) member embeddings (the same expressions may
            appear on both sides: two builds of one corpus).
        min_separation: see `distinguishable`.
        seed: fold assignment of the separation test.
    """
    if not members_a or not members_b:
        return CodeMatch([], 0.0, min_separation)
    a = unit_rows(np.stack([unit_rows(np.atleast_2d(m)).mean(axis=0) for m in members_a]))
    b = unit_rows(np.stack([unit_rows(np.atleast_2d(m)).mean(axis=0) for m in members_b]))
    rows, cols = linear_sum_assignment(-(a @ b.T))
    pairs = []
    for i, j in zip(rows, cols):
        both = np.vstack([members_a[i], members_b[j]])
        r = held_out_separation(both, np.repeat([0, 1], [len(members_a[i]), len(members_b[j])]), seed=seed)
        if np.isfinite(r) and not distinguishable(r, min_separation):  # too few members: untested, unmatched
            pairs.append((int(i), int(j), float(r)))
    return CodeMatch(pairs, len(pairs) / max(len(a), len(b)), min_separation)
