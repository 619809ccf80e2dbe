"""Initial codebook C^0 from value-expression embeddings (App. E.4, App. F.1 "Initialization").

A reducer, then a clusterer (``em.clusterer``; App. E.4: UMAP to 5 dimensions -> HDBSCAN) ->
noise points to the nearest cluster, or a code of their own when no cluster is close
(threshold tau1 of App. F.1) -> merge clusters whose centroids are more similar than a
threshold (0.9 in App. E.4).

Thresholds. The paper's cosines come from another embedder; multilingual-e5's
cosines sit in a narrow band (~0.7-0.9), so 0.9 there means something else.
`calibrate_threshold` rescales cosine so that a typical *unrelated* pair in this
corpus sits at 0 and identity at 1, and applies the paper's value on that scale:
    threshold = b + value * (1 - b),   b = a quantile (median) of the reference sims.
On an embedder whose unrelated pairs are near 0 this returns the paper's value
unchanged; unlike a top-quantile rule it does not force merges when no two
clusters are alike.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from workbench.codebook.vectors import unit_rows
from workbench.config import EMConfig

TINY_N = 10  # below this, UMAP's spectral layout and HDBSCAN have too few points
PAPER_MERGE_COSINE = 0.9  # App. E.4


def relabel_consecutive(labels: np.ndarray) -> np.ndarray:
    """Map non-negative labels to 0..K-1 (by increasing original value); negatives become -1."""
    labels = np.asarray(labels)
    out = np.full(labels.shape, -1, dtype=int)
    keep = labels >= 0
    if keep.any():
        _, inv = np.unique(labels[keep], return_inverse=True)
        out[keep] = inv
    return out


def code_members(labels: np.ndarray, K: int) -> list[np.ndarray]:
    """Indices of each code's members in ascending order, ``[np.flatnonzero(labels == k) for k in
    range(K)]`` in O(n log n) instead of O(n·K) (K grows with the corpus); labels outside [0, K)
    belong to no code."""
    labels = np.asarray(labels)
    order = np.argsort(labels, kind="stable")
    bounds = np.searchsorted(labels[order], np.arange(K + 1))
    return [order[bounds[k]:bounds[k + 1]] for k in range(K)]


def centroids(emb: np.ndarray, labels: np.ndarray, K: int) -> np.ndarray:
    """Code embeddings e_c_k: L2-normalised mean of each code's members (App. F.1).

    Args:
        emb: (n, d) embeddings.
        labels: (n,) ints; labels outside [0, K) are ignored.
        K: number of codes.

    Returns:
        (K, d); a code without members gets a zero row.
    """
    return unit_centroids(unit_rows(emb), labels, K)


def unit_centroids(unit_emb: np.ndarray, labels: np.ndarray, K: int) -> np.ndarray:
    """``centroids`` of rows already scaled by ``unit_rows`` (float64), the same to the bit: a build
    scales its corpus once, and each new version's centroids skip the (n, d) float64 copy and norms
    (``bench/paper_scale.py``: ``apply``'s cost exponent 1.28 before, 0.82 after; issue 16)."""
    from scipy.sparse import csr_matrix

    labels = np.asarray(labels)
    ok = np.flatnonzero((labels >= 0) & (labels < K))
    # A 0/1 membership matrix times the rows adds each code's members in row order, as
    # np.add.at did (same sums to the bit), at a tenth of its time.
    members = csr_matrix((np.ones(ok.size), (labels[ok], ok)), shape=(K, unit_emb.shape[0]))
    return unit_rows(np.asarray(members @ unit_emb))


def calibrate_threshold(
    emb: np.ndarray,
    labels: np.ndarray,
    paper_value: float = PAPER_MERGE_COSINE,
    quantile: float = 0.5,
    reference: str = "centroids",
) -> float:
    """Translate a cosine threshold from the paper to this corpus' embedding scale.

    threshold = b + paper_value * (1 - b), where b is the `quantile` of:
      * reference="centroids": cosines between all pairs of distinct code centroids
        (for the merge threshold, which compares centroids);
      * reference="members": cosines of each member to the centroids of the
        *other* codes (for the new-code threshold, which compares a point with
        centroids).
    With many codes most pairs are unrelated, so the median b is the cosine of
    "unrelated" in this corpus.

    Args:
        emb: (n, d) embeddings.
        labels: (n,) code labels; negatives (noise) are ignored.
        paper_value: the paper's cosine, on a scale where unrelated is 0.
        quantile: which quantile of the reference sims is "unrelated".
        reference: "centroids" or "members".

    Returns:
        The threshold, or NaN when fewer than two codes exist (nothing to compare).
    """
    if reference not in ("centroids", "members"):
        raise ValueError(f"reference must be 'centroids' or 'members', got {reference!r}")
    lab = relabel_consecutive(labels)
    K = int(lab.max()) + 1 if (lab >= 0).any() else 0
    if K < 2:
        return float("nan")
    cen = centroids(emb, lab, K)
    if reference == "centroids":
        b = float(np.quantile((cen @ cen.T)[np.triu_indices(K, k=1)], quantile))
    else:
        keep = lab >= 0
        b = _other_centroid_quantile(unit_rows(emb[keep]), lab[keep], cen, quantile)
    return b + paper_value * (1.0 - b)


def _other_centroid_quantile(x: np.ndarray, own: np.ndarray, cen: np.ndarray, q: float, chunk: int = 4096) -> float:
    """``np.quantile`` (linear) of the cosines of every row of ``x`` to the centroids of the codes
    other than its own, without the (n, K) matrix of them (n·K grows as n², 2.5 GB at paper scale).

    The two order statistics numpy would interpolate are found exactly: a strided sample of rows
    brackets them, one pass over chunks counts the values below the bracket and keeps those inside
    it; when a statistic falls outside (never seen), the pass repeats with an open bracket.
    """
    n, K = x.shape[0], cen.shape[0]
    total = n * (K - 1)
    virtual = total * q + (1 + q * (1 - 1 - 1)) - 1  # numpy's "linear" virtual index, as it computes it
    first = int(min(max(np.floor(virtual), 0), total - 1))
    second = min(first + 1, total - 1)
    gamma = virtual - first

    def others(rows: slice) -> np.ndarray:
        s = x[rows] @ cen.T
        mask = np.ones_like(s, dtype=bool)
        mask[np.arange(s.shape[0]), own[rows]] = False
        return s[mask]

    sample = others(slice(0, n, max(1, n // 2048)))
    bracket = tuple(np.quantile(sample, [max(q - 0.02, 0.0), min(q + 0.02, 1.0)]))
    for low, high in (bracket, (-np.inf, np.inf)):
        below, inside = 0, []
        for start in range(0, n, chunk):
            v = others(slice(start, start + chunk))
            below += int(np.count_nonzero(v < low))
            inside.append(v[(v >= low) & (v <= high)])
        kept = np.sort(np.concatenate(inside))
        if below <= first and second - below < kept.size:
            a, b = kept[first - below], kept[second - below]
            return float(b - (b - a) * (1 - gamma) if gamma >= 0.5 else a + (b - a) * gamma)  # numpy's _lerp
    raise AssertionError("unreachable: the open bracket holds every value")


def assign_noise(
    emb: np.ndarray, labels: np.ndarray, new_code_threshold: float | None
) -> tuple[np.ndarray, int, int]:
    """Give every noise point (label < 0) a code (App. E.4 / F.1).

    A noise point joins the cluster with the most similar centroid (cosine in the
    original space, centroids from the clustered points only), unless that best
    similarity is below `new_code_threshold` (tau1 of App. F.1), in which case it
    becomes a singleton code of its own. Noise points are compared with the
    HDBSCAN clusters only, never with each other, so the result does not depend on
    the order of the points. With no cluster at all, every noise point is a
    singleton. None or NaN threshold: always join (App. E.4).

    Returns:
        labels (n,) consecutive 0..K-1 with no negatives, number joined, number of new codes.
    """
    emb = unit_rows(emb)
    lab = relabel_consecutive(labels)
    noise = np.flatnonzero(lab < 0)
    K0 = int(lab.max()) + 1 if (lab >= 0).any() else 0
    if noise.size == 0:
        return lab, 0, 0
    if K0 == 0:
        lab[noise] = np.arange(noise.size)
        return lab, 0, int(noise.size)
    cen = centroids(emb, lab, K0)
    sims = emb[noise] @ cen.T
    best = sims.argmax(axis=1)
    best_sim = sims[np.arange(noise.size), best]
    if new_code_threshold is None or np.isnan(new_code_threshold):
        join = np.ones(noise.size, dtype=bool)
    else:
        join = best_sim >= new_code_threshold
    lab[noise[join]] = best[join]
    n_new = int((~join).sum())
    lab[noise[~join]] = K0 + np.arange(n_new)
    return lab, int(join.sum()), n_new


def merge_similar_codes(emb: np.ndarray, labels: np.ndarray, threshold: float) -> np.ndarray:
    """Merge codes whose centroid cosine is >= threshold, transitively (App. E.4).

    One pass: the graph "centroid cos >= threshold" is built once from the
    pre-merge centroids and each connected component becomes one code. Being a
    single pass over a fixed graph, the outcome does not depend on code order
    (App. E.4's concern about sequential merging). NaN threshold: no merge.

    Returns:
        (n,) labels 0..K'-1.
    """
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components

    lab = relabel_consecutive(labels)
    K = int(lab.max()) + 1 if (lab >= 0).any() else 0
    if K < 2 or np.isnan(threshold):
        return lab
    cen = centroids(emb, lab, K)
    adj = (cen @ cen.T) >= threshold
    np.fill_diagonal(adj, False)
    _, comp = connected_components(csr_matrix(adj), directed=False)
    out = lab.copy()
    out[lab >= 0] = comp[lab[lab >= 0]]
    return relabel_consecutive(out)


class Reducer(Protocol):
    """scikit-learn's transformer interface: (n, d) → (n, d')."""

    def fit_transform(self, X: np.ndarray) -> np.ndarray: ...


class Labeller(Protocol):
    """scikit-learn's clusterer interface: (n, d') → (n,) labels, negative for noise."""

    def fit_predict(self, X: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class ClusterPipeline:
    """The first step of C⁰: a reducer, then a clusterer on its output (App. E.4), passed as
    objects the way BERTopic takes its ``umap_model`` and ``hdbscan_model``. Anything with
    ``fit_transform`` / ``fit_predict`` will do (a scikit-learn PCA and KMeans, say)."""

    reducer: Reducer
    clusterer: Labeller

    def fit_predict(self, emb: np.ndarray) -> np.ndarray:
        """(n, d) → (n,) cluster labels, negative for noise."""
        return np.asarray(self.clusterer.fit_predict(self.reducer.fit_transform(emb)))


class CosineUMAP:
    """UMAP with the cosine metric (App. E.4), fitted afresh on each call, its size clipped to
    the input: ``n_components`` to n − 2 and ``n_neighbors`` to [2, n − 1], which UMAP needs
    for its spectral layout. One thread, so that ``random_state`` makes it reproducible."""

    def __init__(self, n_components: int = 5, n_neighbors: int = 15, random_state: int = 0):
        self.n_components, self.n_neighbors, self.random_state = n_components, n_neighbors, random_state

    def fit_transform(self, X: np.ndarray) -> np.ndarray:
        import umap  # here: umap's numba compilation costs tens of seconds at first import

        n = X.shape[0]
        with warnings.catch_warnings():
            # umap warns that random_state forces n_jobs=1; that is what we want (reproducible).
            warnings.filterwarnings("ignore", message=".*n_jobs value.*overridden.*")
            return umap.UMAP(
                n_components=min(self.n_components, n - 2),
                n_neighbors=max(2, min(self.n_neighbors, n - 1)),
                metric="cosine",
                random_state=self.random_state,
                n_jobs=1,
            ).fit_transform(X)


def umap_hdbscan(min_cluster_size: int = 5, umap_dims: int = 5, n_neighbors: int = 15, seed: int = 0
                 ) -> ClusterPipeline:
    """App. E.4's pair: UMAP to ``umap_dims`` dimensions (cosine, ``seed`` its random state), then
    HDBSCAN(``min_cluster_size``, at least 2)."""
    import hdbscan

    return ClusterPipeline(CosineUMAP(umap_dims, n_neighbors, seed),
                           hdbscan.HDBSCAN(min_cluster_size=max(2, min_cluster_size), core_dist_n_jobs=1))


# The choices of the setting ``em.clusterer`` (``config.ClustererName``), each a factory of the settings' numbers.
CLUSTERERS: dict[str, Callable[..., ClusterPipeline]] = {"umap-hdbscan": umap_hdbscan}


def configured_clusterer(em: EMConfig) -> ClusterPipeline:
    """The pair ``em.clusterer`` names, with ``em``'s sizes and seed."""
    return CLUSTERERS[em.clusterer](min_cluster_size=em.min_cluster_size, umap_dims=em.umap_dims, seed=em.seed)


def initial_codes(
    emb: np.ndarray,
    clusterer: ClusterPipeline,
    merge_threshold: float | None = None,
    new_code_threshold: float | None = None,
    new_code_value: float = 0.0,
    merge_value: float = PAPER_MERGE_COSINE,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Initial codes C^0 (App. E.4, App. F.1 "Initialization").

    ``clusterer`` (App. E.4: ``umap_hdbscan()``, UMAP to 5 dimensions with the cosine metric,
    then HDBSCAN with min_cluster_size 5) -> `assign_noise` -> `merge_similar_codes`.

    Thresholds left as None are calibrated on this data (`calibrate_threshold`):
      * merge: `merge_value` (the paper's 0.9) on the centroid-pair scale. Pass
        merge_threshold=0.9 for the paper's cosine verbatim (``em.merge_threshold_mode = "paper"``,
        meant for text-embedding-3-large, whose unrelated pairs sit near 0);
      * new code (tau1): the paper gives no value and E.4 assigns every noise
        point; we use `new_code_value` = 0 on the member-to-other-centroid scale,
        i.e. a noise point becomes its own code only when its best cluster is no
        closer than clusters usually are to unrelated expressions.
    Pass new_code_threshold=-1.0 to reproduce E.4 exactly (never a new code).

    Tiny inputs (n < 10) skip the clusterer: every point starts as its own
    code and the merge step groups near-duplicates. An all-noise clustering is
    handled the same way (no cluster to join).

    Args:
        emb: (n, d) expression embeddings, L2-normalised.
        clusterer: the reducer and clusterer pair, fitted on ``emb``.
        merge_threshold, new_code_threshold: cosines; None = calibrate.
        new_code_value: calibrated tau1 on the rescaled scale.

    Returns:
        labels: (n,) ints 0..K-1.
        info: counts and the thresholds used (JSON-serialisable).
    """
    emb = unit_rows(emb)
    n = emb.shape[0]
    # "used_umap" and "n_hdbscan_clusters" keep the default pair's names: every build stores this record.
    info: dict[str, Any] = {
        "n": n,
        "used_umap": False,
        "n_hdbscan_clusters": 0,
        "n_noise": 0,
        "n_noise_joined": 0,
        "n_new_codes": 0,
        "new_code_threshold": None,
        "merge_threshold": None,
        "n_codes_before_merge": 0,
        "n_codes": 0,
    }
    if n == 0:
        return np.zeros(0, dtype=int), info
    if n < TINY_N:
        raw = np.full(n, -1)
    else:
        raw = clusterer.fit_predict(emb)
        info["used_umap"] = True
    raw = relabel_consecutive(raw)
    info["n_hdbscan_clusters"] = int(raw.max()) + 1 if (raw >= 0).any() else 0
    info["n_noise"] = int((raw < 0).sum())

    if new_code_threshold is None:
        new_code_threshold = calibrate_threshold(emb, raw, new_code_value, reference="members")
    labels, joined, n_new = assign_noise(emb, raw, new_code_threshold)
    info["n_noise_joined"] = joined
    info["n_new_codes"] = n_new
    info["new_code_threshold"] = None if np.isnan(new_code_threshold) else float(new_code_threshold)
    info["n_codes_before_merge"] = int(labels.max()) + 1

    if merge_threshold is None:
        merge_threshold = calibrate_threshold(emb, labels, merge_value, reference="centroids")
    labels = merge_similar_codes(emb, labels, merge_threshold)
    info["merge_threshold"] = None if np.isnan(merge_threshold) else float(merge_threshold)
    info["n_codes"] = int(labels.max()) + 1
    return labels, info
