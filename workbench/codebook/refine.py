"""Split / merge proposals for the codebook refinement step (Alg. 1 lines 10-13, App. E.4, App. F.1).

The rules only *propose*; producing the new codes (names, centroids) is the
"re-creation" step and happens elsewhere, after review.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from workbench.codebook.objective import usage_zscores
from workbench.codebook.vectors import unit_rows


@dataclass(frozen=True)
class Proposal:
    """One refinement action.

    kind: "split" or "merge".
    code: index of the code to split, or to merge away.
    target: for a merge, the code it is merged into; None for a split.
    evidence: the numbers behind the proposal (n_k, z, distortion history, ...).
    """

    kind: str
    code: int
    target: int | None = None
    evidence: dict[str, Any] = field(default_factory=dict)


def history_by_code(rounds: Sequence[np.ndarray]) -> list[list[float]]:
    """Turn per-iteration (K,) code distortions (oldest first) into per-code histories.

    NaN entries (code in no kept set that iteration) are dropped, so each list
    holds the code's observed d(c_k) values, oldest first. All rounds must be
    indexed by the current codes; remapping after a split or merge is the caller's.
    """
    arr = np.asarray(rounds, dtype=np.float64)
    if arr.ndim != 2:
        raise ValueError("rounds must be a sequence of equal-length (K,) arrays")
    return [[float(v) for v in arr[:, k] if np.isfinite(v)] for k in range(arr.shape[1])]


def propose_changes(
    n_k: np.ndarray,
    distortion_history: Sequence[Sequence[float]],
    centroids: np.ndarray,
    z_split: float = 1.0,
    z_merge: float = -0.5,
    max_splits: int | None = None,
    max_merges: int | None = None,
    rel_tolerance: float = 0.0,
) -> list[Proposal]:
    """Propose splits of over-used, badly reconstructed codes and merges of under-used ones.

    Split code k (Alg. 1 line 10, App. E.4) when all of:
      * z_k > z_split, z the usage z-score of Eq. 16 (App. E.4: 1.0);
      * its latest distortion d^{t-1}(c_k) is above the median latest distortion
        over the codes that have one ("high d(c_k)");
      * it is not falling: d^{t-1} >= d^{t-2} - rel_tolerance |d^{t-2}|, i.e. it did not drop
        by more than rel_tolerance (App. E.4: ~1 %, ``em.split_tolerance``). With a single observed
        value there is no trend; we treat it as not falling, which given the
        previous condition means "at least the median". A code with no observed
        distortion is never split (no evidence of poor reconstruction).
    Merge code k (Alg. 1 line 12) when z_k < z_merge (App. E.4: -0.5), into the
    code with the most similar centroid (cosine) among codes that are not merge
    candidates themselves (every code with z < z_merge counts as "being merged
    away", capped or not, so the outcome does not depend on processing order).

    A code is in at most one proposal: a split code is never a merge target, and
    a code receives at most one merge per iteration. If a merge's nearest
    neighbour is already taken, the merge is deferred to the next iteration
    rather than sent to a farther code. Splits are taken by z descending, merges by
    n_k ascending, up to the caps; both kinds may occur in one iteration (App. E.4
    and F.1 describe them as separate sub-steps; Alg. 1's "else if" would only
    delay merges).

    Args:
        n_k: (K,) code usage (Alg. 1 line 6).
        distortion_history: K per-code lists of d(c_k), oldest first, finite
            values only (see `history_by_code`).
        centroids: (K, d) code embeddings.
        z_split, z_merge: z-score thresholds.
        max_splits, max_merges: caps per iteration; None means max(1, K // 10).
        rel_tolerance: allowed relative drop of distortion that still counts as "not falling".

    Returns:
        Proposals, splits first.
    """
    n_k = np.asarray(n_k, dtype=np.float64)
    K = n_k.size
    if len(distortion_history) != K:
        raise ValueError(f"need a distortion history per code: K={K}, got {len(distortion_history)}")
    cen = unit_rows(centroids)
    if cen.shape[0] != K:
        raise ValueError(f"centroids must have {K} rows, got {cen.shape[0]}")
    default_cap = max(1, K // 10)
    max_splits = default_cap if max_splits is None else max_splits
    max_merges = default_cap if max_merges is None else max_merges

    z = usage_zscores(n_k)
    hist = [[float(v) for v in h] for h in distortion_history]
    latest = np.array([h[-1] if h else np.nan for h in hist])
    median = float(np.nanmedian(latest)) if np.any(np.isfinite(latest)) else np.nan

    busy: set[int] = set()
    proposals: list[Proposal] = []

    split_order = sorted(range(K), key=lambda k: (-z[k], k))
    for k in split_order:
        if len([p for p in proposals if p.kind == "split"]) >= max_splits:
            break
        if not z[k] > z_split or not np.isfinite(latest[k]) or not latest[k] > median:
            continue
        h = hist[k]
        not_falling = h[-1] >= h[-2] - rel_tolerance * abs(h[-2]) if len(h) >= 2 else True
        if not not_falling:
            continue
        busy.add(k)
        proposals.append(
            Proposal(
                kind="split",
                code=k,
                evidence={
                    "n_k": float(n_k[k]),
                    "z": float(z[k]),
                    "distortion_history": list(h),
                    "median_distortion": median,
                },
            )
        )

    merging = np.flatnonzero(z < z_merge)
    sims = cen @ cen.T
    eligible = np.ones(K, dtype=bool)
    eligible[merging] = False
    n_merges = 0
    for k in sorted(merging.tolist(), key=lambda k: (n_k[k], k)):
        if n_merges >= max_merges:
            break
        cand = eligible.copy()
        cand[k] = False
        if not cand.any():
            continue
        s = np.where(cand, sims[k], -np.inf)
        target = int(np.argmax(s))
        if target in busy:
            continue
        busy.update((k, target))
        n_merges += 1
        proposals.append(
            Proposal(
                kind="merge",
                code=k,
                target=target,
                evidence={
                    "n_k": float(n_k[k]),
                    "z": float(z[k]),
                    "distortion_history": list(hist[k]),
                    "target_similarity": float(sims[k, target]),
                    "target_n_k": float(n_k[target]),
                },
            )
        )
    return proposals


def split_members(member_emb: np.ndarray, seed: int = 0, n_init: int = 10) -> np.ndarray:
    """Split one code's members in two with K-means, k = 2 (App. E.4).

    Rows are L2-normalised first so that K-means' Euclidean distance ranks like
    cosine. Labels are oriented so that the first member is in group 0, which
    makes the output independent of K-means' arbitrary label order.

    Args:
        member_emb: (m, d) embeddings of the code's value expressions, m >= 2.
        seed: K-means random_state.
        n_init: K-means restarts (fixed for reproducibility).

    Returns:
        (m,) labels in {0, 1}, both present.
    """
    from sklearn.cluster import KMeans

    x = unit_rows(np.atleast_2d(np.asarray(member_emb, dtype=np.float64)))
    if np.unique(np.round(x, 12), axis=0).shape[0] < 2:
        raise ValueError("a code needs at least two distinct members to be split")
    labels = KMeans(n_clusters=2, n_init=n_init, random_state=seed).fit_predict(x)
    if labels[0] == 1:
        labels = 1 - labels
    return labels.astype(int)
