"""Re-creating codes after approved splits and merges (Algorithm 1 line 14, App. F.1 "Code
Reconstruction"): touched expressions are re-clustered, untouched codes stay as they are."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .clustering import code_members
from .refine import split_members


@dataclass(frozen=True)
class Origin:
    """Where a code of the new version comes from: ``keep`` (old code), ``split`` (half 0/1 of an
    old code) or ``merge`` (an old code merged into ``target``)."""

    kind: str
    code: int
    half: int | None = None
    target: int | None = None


def apply_changes(labels: np.ndarray, K: int, emb: np.ndarray, splits: Sequence[int],
                  merges: Sequence[tuple[int, int]], seed: int) -> tuple[np.ndarray, list[Origin]]:
    """New memberships after splitting ``splits`` (K-means k = 2 on each code's members, App. E.4)
    and merging each (code, target) pair (the union of their members).

    Args:
        labels: (n,) old code index of each expression; K: number of old codes.
        emb: (n, d) expression embeddings.
        splits: old codes to split; merges: (old code, old target) pairs; no code in two changes.
        seed: K-means seed.

    Returns:
        new labels (n,) in [0, K'), and the origin of each new code: kept codes first, in their
        old order, then split halves, then merged codes.
    """
    touched = list(splits) + [k for pair in merges for k in pair]
    if len(touched) != len(set(touched)):
        raise ValueError("a code appears in more than one change")
    labels = np.asarray(labels)
    members_of = code_members(labels, K)
    new = np.full(labels.shape, -1, dtype=np.int64)
    origins: list[Origin] = []
    untouched = set(range(K)) - set(touched)
    for k in range(K):
        if k in untouched and members_of[k].size:
            new[members_of[k]] = len(origins)
            origins.append(Origin("keep", k))
    for k in splits:
        members = members_of[k]
        halves = split_members(emb[members], seed=seed)
        for half in (0, 1):
            new[members[halves == half]] = len(origins)
            origins.append(Origin("split", k, half=half))
    for k, target in merges:
        new[np.concatenate([members_of[k], members_of[target]])] = len(origins)
        origins.append(Origin("merge", k, target=target))
    return new, origins
