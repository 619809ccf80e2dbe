"""Sampling code index sets s = (z_1..z_M), z_j ~ q(z|x, C) without replacement (Sec. 3.2, Alg. 1 line 3)."""

from __future__ import annotations

import numpy as np


def sample_code_sets(
    q_row: np.ndarray,
    M: int,
    n_sets: int,
    rng: np.random.Generator,
    min_p: float = 0.01,
    max_draws: int | None = None,
) -> list[np.ndarray]:
    """Draw up to `n_sets` distinct sets of M codes from one document's q(z|x, C).

    Codes with q < min_p are never drawn (App. E.4: "we do not sample value codes
    with very low initial probabilities (below 0.01)"); the draw is from q
    renormalised over the remaining codes, without replacement within a set.

    Edge cases (choices):
      * fewer than M codes pass min_p: every set is the passing codes, so one set
        is returned (repeating it would only repeat the same decoder call);
      * no code passes: one set of the M most probable codes, App. F.1's
        s = argtop q(z|x) rule, so a document with a flat posterior still gets
        reconstructed;
      * q_row all zero (a document without expressions): [].
    Sets are distinct: draws repeat until n_sets different sets are found or
    `max_draws` (default 20 * n_sets) draws were made.

    Args:
        q_row: (K,) non-negative, sums to 1 (not re-checked beyond non-negativity).
        M: codes per set, >= 1.
        n_sets: number of sets wanted.
        rng: numpy Generator; the same state gives the same sets.
        min_p: probability floor.
        max_draws: cap on draws.

    Returns:
        List of 1-D int arrays, each of distinct code indices sorted ascending.
    """
    q = np.asarray(q_row, dtype=np.float64)
    if q.ndim != 1 or np.any(q < 0):
        raise ValueError("q_row must be a 1-D non-negative array")
    if M < 1 or n_sets < 1:
        raise ValueError(f"M and n_sets must be >= 1, got M={M}, n_sets={n_sets}")
    if q.sum() <= 0:
        return []
    passing = np.flatnonzero(q >= min_p)
    if passing.size == 0:
        top = np.argsort(-q, kind="stable")[:M]
        return [np.sort(top)]
    if passing.size <= M:
        return [passing.copy()]
    p = q[passing] / q[passing].sum()
    max_draws = 20 * n_sets if max_draws is None else max_draws
    seen: set[tuple[int, ...]] = set()
    sets: list[np.ndarray] = []
    for _ in range(max_draws):
        s = np.sort(rng.choice(passing, size=M, replace=False, p=p))
        key = tuple(int(i) for i in s)
        if key in seen:
            continue
        seen.add(key)
        sets.append(s)
        if len(sets) == n_sets:
            break
    return sets
