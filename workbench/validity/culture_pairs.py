"""Which cultures count as similar or contrasting in the validity analyses (App. E.3).

Following Gupta et al. (2002) and the World Values Survey maps, KR, JP and CN form a Confucian
cluster and US an English-speaking one. Pairs are unordered: Corr is symmetric and a persona
"related" to a group is related either way round.
"""
from __future__ import annotations

from typing import Iterable, Literal

Pair = tuple[str, str]

# S⁺ of Eq. 6: {(i, k) | i ≠ k, i, k ∈ {KR, JP, CN}} (each unordered pair once).
SIMILAR_PAIRS: tuple[Pair, ...] = (("KR", "JP"), ("KR", "CN"), ("JP", "CN"))
# S⁻ of Eq. 6: {(i, US) | i ∈ {KR, JP, CN}}.
CONTRASTING_PAIRS: tuple[Pair, ...] = (("KR", "US"), ("JP", "US"), ("CN", "US"))

Relation = Literal["target", "relevant", "conflicting"]


def relation(
    persona: str,
    group: str,
    similar_pairs: Iterable[Pair] = SIMILAR_PAIRS,
    contrasting_pairs: Iterable[Pair] = CONTRASTING_PAIRS,
) -> Relation | None:
    """How a primed ``persona`` relates to the scored ``group``; None if the pairs say nothing."""
    if persona == group:
        return "target"
    pair = frozenset((persona, group))
    if pair in {frozenset(p) for p in similar_pairs}:
        return "relevant"
    if pair in {frozenset(p) for p in contrasting_pairs}:
        return "conflicting"
    return None
