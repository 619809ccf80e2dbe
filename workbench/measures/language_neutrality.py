"""How far the value space puts a text from its own translation (issue 13), on parallel sets.

The figures use the project's own scoring path: a codebook clustered from the pooled
statements of every language, code posteriors by Eq. 15 (``soft_assign`` with the codes'
spread σ), and the debiased UOT of Eq. 22 (``score_table``) between sets of statements.

- ``ratio``: D between a set of statements and the same statements in another language, over D
  between two disjoint halves of the statements in one language, at the same size (each random
  split into halves A, B gives D(A in l₁, A in l₂) and D(A in l, B in l)). Near 0 when
  translations land on the same codes; ≫ 1 when language, not content, decides the codes.
- ``share``: translation pairs (every pair of languages) whose top codes agree.
- ``retrieval``: a statement's nearest neighbour among the other language's statements is its
  translation (cosine, before clustering).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from itertools import combinations
from typing import Literal

import numpy as np

from ..alignment.scoring import score_table
from ..codebook.assignment import code_spread, soft_assign
from ..codebook.clustering import centroids, initial_codes, umap_hdbscan
from ..codebook.vectors import unit_rows
from ..config import AlignmentConfig

Clustering = Literal["kmeans", "initial_codes"]


@dataclass(frozen=True)
class NeutralityFigures:
    ratio: float
    share: float
    retrieval: float
    D_translation: float
    D_halves: float
    K: int
    clustering: str

    def as_dict(self) -> dict:
        return asdict(self)


def pooled_codes(pooled: np.ndarray, clustering: Clustering, n_codes: int, seed: int) -> np.ndarray:
    """Code labels (n,) of pooled unit embeddings: k-means with ``n_codes`` codes, or the
    codebook initialisation of App. E.4 (``initial_codes``: UMAP + HDBSCAN, K found by it)."""
    if clustering == "initial_codes":
        return initial_codes(pooled, umap_hdbscan(seed=seed))[0]
    from sklearn.cluster import KMeans

    return KMeans(n_clusters=n_codes, n_init=4, random_state=seed).fit_predict(pooled)


def translation_figures(emb: np.ndarray, clustering: Clustering = "kmeans", n_codes: int = 12,
                        splits: int = 5, seed: int = 0) -> NeutralityFigures:
    """Language-neutrality figures of (L, n, d) embeddings of n statements in L languages."""
    L, n, d = emb.shape
    pooled = unit_rows(emb.reshape(L * n, d))
    labels = pooled_codes(pooled, clustering, n_codes, seed)
    K = int(labels.max()) + 1
    cents = centroids(pooled, labels, K)
    q = soft_assign(pooled, cents, code_spread(pooled, labels, cents)).reshape(L, n, K)
    top = q.argmax(axis=2)
    pairs = list(combinations(range(L), 2))
    share = float(np.mean([np.mean(top[a] == top[b]) for a, b in pairs]))
    units = unit_rows(emb.reshape(L * n, d)).reshape(L, n, d)
    retrieval = float(np.mean([np.mean((units[a] @ units[b].T).argmax(axis=1) == np.arange(n))
                               for a in range(L) for b in range(L) if a != b]))
    cfg = AlignmentConfig(n_boot=0, ceiling_splits=0, seed=seed)
    rng = np.random.default_rng(seed)
    translated, halves = [], []
    for _ in range(splits):
        perm = rng.permutation(n)
        first, second = perm[: n // 2], perm[n // 2: 2 * (n // 2)]
        for lang in range(L):
            halves.append(_D(q[lang, first], q[lang, second], cents, cfg))
        for a, b in pairs:
            translated.append(_D(q[a, first], q[b, first], cents, cfg))
    D_tr, D_half = float(np.mean(translated)), float(np.mean(halves))
    return NeutralityFigures(D_tr / D_half, share, retrieval, D_tr, D_half, K, clustering)


def _D(group: np.ndarray, source: np.ndarray, code_emb: np.ndarray, cfg: AlignmentConfig) -> float:
    return score_table({"g": group}, {"s": source}, code_emb, cfg)[0].D


def dominant_languages(counts: list[tuple[str, str, int]]) -> dict[str, tuple[str, float]]:
    """Each document set's most frequent language and its share, from (label, language, n) rows."""
    totals: dict[str, dict[str, int]] = {}
    for label, language, n in counts:
        totals.setdefault(label, {})
        totals[label][language] = totals[label].get(language, 0) + n
    return {label: (max(langs, key=langs.get), max(langs.values()) / sum(langs.values()))
            for label, langs in totals.items()}


def translation_ratio(figures: dict, representation: str) -> float:
    """The representation's held-back translation ratio, the worse of the two clusterings."""
    measured = figures["representations"][representation]
    return max(measured["held_back_kmeans"]["ratio"], measured["held_back_initial_codes"]["ratio"])


def language_notes(dominant: dict[str, tuple[str, float]], extractor_offline: bool, representation: str | None,
                   ratio: float | None, target: float) -> list[str]:
    """What a score table should say when its groups and sources write in different languages.

    ``representation``/``ratio``: the offline embedder's representation and its measured
    translation ratio (None for a remote embedder, whose ratio is not measured here)."""
    languages = {lang for lang, _ in dominant.values()}
    if len(languages) < 2:
        return []
    listed = ", ".join(f"{label}: {lang} ({share:.0%})" for label, (lang, share) in sorted(dominant.items()))
    notes = [f"groups and sources differ in dominant language ({listed})"]
    if not extractor_offline:
        return notes + ["the extractor is an LLM: its value descriptions are written in one language (App. G), so "
                        "the offline translation-ratio warning does not apply"]
    if representation is None:
        return notes + ["offline extraction with a remote embedder: how far it puts a text from its translation is "
                        "not measured; differences between languages may be language, not values"]
    notes.append(f"offline value space '{representation}': a set of statements and its own translation are "
                 f"{ratio:.2f}× as far apart (debiased D) as two halves of one language's set (held-back parallel "
                 f"statements; target ≤ {target})")
    if ratio > target:
        notes.append(f"warning: above target, so differences between groups in different languages are partly "
                     f"language, not values (set roles.embedder.representation to language-centered, or use an "
                     f"LLM extractor)")
    return notes
