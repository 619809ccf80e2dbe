"""The known-answer check: does a distance track value differences rather than topics?

Pairs of document populations are drawn *within one topic*, so the topic is held fixed: A takes
half of the topic's documents, drawn without replacement with weight 1 + s·y_j (y_j = 1 when a
document carries value j), so that A leans towards value j with strength s, and B is the other
half; s = 0 gives the unshifted (null) pairs. Both halves hold distinct documents and are the same
size, so a distance cannot rank the pairs by how concentrated a population is (drawn with
replacement, the strong pairs' repeated documents alone ranked them at ρ ≈ 0.7 on ValueEval).
A method that measures values should rank the pairs as the divergence of their mean gold-label
vectors does. Pure functions over arrays; the service (:mod:`workbench.measures.known_answer`) feeds them
a project.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial.distance import jensenshannon, pdist
from scipy.stats import spearmanr
from sklearn.metrics.pairwise import rbf_kernel

STRENGTHS = (3.0, 30.0, 300.0)  # s of the shifted pairs; the null pairs have s = 0
MIN_TOPIC_DOCUMENTS = 6  # a topic with fewer labelled documents gives no pairs


@dataclass(frozen=True)
class PopulationPair:
    """Two disjoint populations (document index arrays) of one topic; A drawn towards
    ``value`` with ``strength`` (0 and value −1: an unshifted pair)."""

    a: np.ndarray
    b: np.ndarray
    topic: object
    value: int
    strength: float


def draw_pairs(topics: np.ndarray, labels: np.ndarray, rounds: int = 2, strengths: tuple[float, ...] = STRENGTHS,
               min_documents: int = MIN_TOPIC_DOCUMENTS, seed: int = 0) -> list[PopulationPair]:
    """Per round and per topic with at least ``min_documents`` documents: one unshifted pair and
    one pair per strength s, each with a value j drawn among the labels the topic's documents
    carry. A is half of the topic's documents (rounded down) drawn without replacement with
    weight 1 + s·y_j, B the rest.

    Args:
        topics: (N,) topic of each document (any hashable).
        labels: (N, L) 0/1 gold labels.
    """
    topics = np.asarray(topics, dtype=object)
    labels = np.asarray(labels, dtype=np.float64)
    by_topic = {t: np.flatnonzero(topics == t) for t in dict.fromkeys(topics.tolist())}
    by_topic = {t: m for t, m in by_topic.items() if m.size >= min_documents and labels[m].sum() > 0}
    if len(by_topic) < 2:
        raise ValueError(f"need 2 topics with at least {min_documents} labelled documents each, have {len(by_topic)}")
    rng = np.random.default_rng(seed)
    pairs = []
    for _ in range(rounds):
        for topic, members in by_topic.items():
            carried = np.flatnonzero(labels[members].sum(axis=0) > 0)
            for s in (0.0,) + tuple(strengths):
                j = int(rng.choice(carried)) if s > 0 else -1
                w = 1.0 + s * labels[members, j] if s > 0 else np.ones(members.size)
                a = rng.choice(members, size=members.size // 2, replace=False, p=w / w.sum())
                pairs.append(PopulationPair(np.sort(a), np.setdiff1d(members, a), topic, j, s))
    return pairs


def label_divergence(labels: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    """JS distance (base 2) between the mean gold-label vectors of populations a and b, each
    normalised to sum 1. The ground truth of the check."""
    pa, pb = labels[a].mean(axis=0), labels[b].mean(axis=0)
    if pa.sum() == 0 or pb.sum() == 0:
        return float("nan")
    return float(jensenshannon(pa / pa.sum(), pb / pb.sum(), base=2))


def median_bandwidth(x: np.ndarray, max_rows: int = 1000, seed: int = 0) -> float:
    """The median Euclidean distance between distinct rows of ``x`` (n, d) (on a seeded sample of
    ``max_rows``): the RBF bandwidth of :func:`rbf_mmd`, fixed once for every pair."""
    x = np.asarray(x, dtype=np.float64)
    if len(x) > max_rows:
        x = x[np.random.default_rng(seed).choice(len(x), size=max_rows, replace=False)]
    off = pdist(x)
    return float(np.median(off)) if off.size else 1.0


def rbf_mmd(x: np.ndarray, y: np.ndarray, bandwidth: float) -> float:
    """Unbiased MMD² (Gretton et al. 2012) between samples x (n, d) and y (m, d) under the RBF
    kernel exp(−‖u − v‖² / 2h²): the raw-embedding baseline, no codebook, no transport."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if len(x) < 2 or len(y) < 2:
        raise ValueError("MMD needs at least two points a side")
    gamma = 1.0 / (2 * bandwidth ** 2)
    kxx, kyy, kxy = rbf_kernel(x, gamma=gamma), rbf_kernel(y, gamma=gamma), rbf_kernel(x, y, gamma=gamma)
    n, m = len(x), len(y)
    return float((kxx.sum() - np.trace(kxx)) / (n * (n - 1)) + (kyy.sum() - np.trace(kyy)) / (m * (m - 1))
                 - 2 * kxy.mean())


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
