"""The known-answer check: does a distance track value differences rather than topics?

Pairs of document populations are drawn with the *same topic mix* but shifted gold-label mixes;
a method that measures values should rank the pairs as the label mixes' divergence does. Pure
functions over arrays; the service (:mod:`workbench.known_answer`) feeds them a project.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial.distance import jensenshannon
from scipy.stats import spearmanr


def draw_pairs(topics: np.ndarray, labels: np.ndarray, n_pairs: int = 100, n_topics: int = 40,
               max_tilt: float = 3.0, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """``n_pairs`` pairs (A, B) of document index arrays with one document from each of
    ``n_topics`` topics in both A and B (the same topic mix), and label mixes pushed apart.

    Per pair: a random direction w over the L labels and a strength λ ~ U(0, max_tilt); in each
    chosen topic, A takes a document with probability ∝ exp(λ w·y_d), then B one of the others
    with probability ∝ exp(−λ w·y_d). λ = 0 gives two random draws; larger λ, larger shifts.

    Args:
        topics: (N,) topic of each document (any hashable).
        labels: (N, L) 0/1 gold labels.
    """
    topics = np.asarray(topics, dtype=object)
    labels = np.asarray(labels, dtype=np.float64)
    by_topic: dict[object, np.ndarray] = {}
    for t in dict.fromkeys(topics.tolist()):
        members = np.flatnonzero(topics == t)
        if members.size >= 2:
            by_topic[t] = members
    if len(by_topic) < n_topics:
        raise ValueError(f"need {n_topics} topics with at least two labelled documents each, have {len(by_topic)}")
    rng = np.random.default_rng(seed)
    names = list(by_topic)
    pairs = []
    for _ in range(n_pairs):
        w = rng.normal(size=labels.shape[1])
        w /= np.linalg.norm(w) or 1.0
        lam = rng.uniform(0.0, max_tilt)
        a, b = [], []
        for t in rng.choice(len(names), size=n_topics, replace=False):
            members = by_topic[names[t]]
            s = labels[members] @ w
            p = np.exp(lam * (s - s.max()))
            first = rng.choice(members.size, p=p / p.sum())
            rest = np.delete(np.arange(members.size), first)
            q = np.exp(-lam * (s[rest] - s[rest].min()))
            a.append(members[first])
            b.append(members[rest[rng.choice(rest.size, p=q / q.sum())]])
        pairs.append((np.array(a), np.array(b)))
    return pairs


def label_divergence(labels: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    """JS distance (base 2) between the label mixes of populations a and b: each mix is the
    populations' label counts, normalised. The ground truth of the check."""
    pa, pb = labels[a].sum(axis=0), labels[b].sum(axis=0)
    if pa.sum() == 0 or pb.sum() == 0:
        return float("nan")
    return float(jensenshannon(pa / pa.sum(), pb / pb.sum(), base=2))


@dataclass(frozen=True)
class Agreement:
    """Spearman ρ between a method's distances and the true divergences over the pairs, with a
    percentile bootstrap interval over pairs."""

    rho: float
    low: float
    high: float
    n_pairs: int


def rank_agreement(distances: np.ndarray, truth: np.ndarray, n_boot: int = 1000, level: float = 0.95,
                   seed: int = 0) -> Agreement:
    """Spearman ρ(distances, truth) and its bootstrap interval (pairs resampled)."""
    d, t = np.asarray(distances, dtype=np.float64), np.asarray(truth, dtype=np.float64)
    keep = np.isfinite(d) & np.isfinite(t)
    d, t = d[keep], t[keep]
    if d.size < 3:
        raise ValueError("need at least three pairs with finite distances")
    rho = float(spearmanr(d, t).statistic)
    rng = np.random.default_rng(seed)
    boot = []
    for _ in range(n_boot):
        i = rng.integers(0, d.size, size=d.size)
        if np.ptp(d[i]) > 0 and np.ptp(t[i]) > 0:
            boot.append(spearmanr(d[i], t[i]).statistic)
    low, high = np.quantile(boot, [(1 - level) / 2, (1 + level) / 2]) if boot else (np.nan, np.nan)
    return Agreement(rho, float(low), float(high), int(d.size))
