"""Split / merge proposals for the codebook refinement step (Alg. 1 lines 10-13, App. E.4, App. F.1).

The rules only *propose*; producing the new codes (names, centroids) is the
"re-creation" step and happens elsewhere, after review.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Collection, Sequence

import numpy as np

from workbench.codebook.objective import usage_zscores
from workbench.codebook.vectors import unit_rows
from workbench.config import MIN_SEPARATION

# Relative change of a usage or distortion figure that counts as new evidence for a change the
# annotators rejected (code sizes count on any change): day-to-day drift of n_k as other codes
# move stays well under it, so a rejected change is not put back on every iteration.
EVIDENCE_CHANGE = 0.10

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
    excluded: Collection[tuple[int, int | None]] = (),
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
        excluded: changes not to propose, as (code, None) for a split and (code, target) for a
            merge (a code that cannot be split, a change already rejected on the same evidence);
            the next candidates take their places under the caps.

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
        if not z[k] > z_split or not np.isfinite(latest[k]) or not latest[k] > median or (k, None) in excluded:
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
        if target in busy or (k, target) in excluded:
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
    if distinct_members(x) < 2:
        raise ValueError("a code needs at least two distinct members to be split")
    labels = KMeans(n_clusters=2, n_init=n_init, random_state=seed).fit_predict(x)
    if labels[0] == 1:
        labels = 1 - labels
    return labels.astype(int)


def distinct_members(member_emb: np.ndarray) -> int:
    """How many different directions a code's (m, d) member embeddings hold: a code whose members
    are all one sentence (a restated topic) has 1 and cannot be split in two."""
    x = unit_rows(np.atleast_2d(np.asarray(member_emb, dtype=np.float64)))
    return int(np.unique(np.round(x, 12), axis=0).shape[0]) if x.size else 0


def evidence_changes(rejected: dict[str, Any], now: dict[str, Any],
                     rel_tolerance: float = EVIDENCE_CHANGE) -> dict[str, list[float]]:
    """What changed in a proposal's evidence since the same change was rejected: {figure: [then,
    now]} for the code sizes (any change), and usage n_k, the target's usage and the latest
    distortion d(c_k) when they moved by more than ``rel_tolerance`` of their earlier value.
    Empty: the same evidence, so the change is not proposed again."""
    changed: dict[str, list[float]] = {}
    then_d, now_d = rejected.get("distortion_history") or [], now.get("distortion_history") or []
    figures = {k: (rejected.get(k), now.get(k)) for k in ("size", "target_size", "n_k", "target_n_k")}
    figures["distortion"] = (then_d[-1] if then_d else None, now_d[-1] if now_d else None)
    for key, (a, b) in figures.items():
        if a is None or b is None:
            continue
        exact = key in ("size", "target_size")
        if (a != b) if exact else abs(b - a) > rel_tolerance * abs(a):
            changed[key] = [a, b]
    return changed


def two_mode_share(delta: float) -> float:
    """Share of variance that a cut at the middle explains for two equal Gaussian modes at ±delta
    standard deviations (unit variance each): (δ(2Φ(δ) − 1) + 2φ(δ))² / (1 + δ²). At δ = 0 (one
    Gaussian) it is 2/π ≈ 0.637, the most any cut of a single Gaussian explains; δ = 1.5 (modes
    3 sd apart) gives 0.747; it tends to 1 as the modes separate."""
    from scipy.stats import norm

    half_mean = delta * (2 * norm.cdf(delta) - 1) + 2 * norm.pdf(delta)
    return float(half_mean ** 2 / (1 + delta ** 2))


# Members below which separation is not measured: two folds of at least two members per side.
MIN_TESTED = 8


def held_out_separation(member_emb: np.ndarray, labels: np.ndarray | None = None, seed: int = 0,
                        folds: int = 5) -> float:
    """How far a code's two halves (a split) or two codes (a merge) can be told apart on members not
    used to find them: the cross-validated share of variance the cut explains along its axis.

    The members are dealt into ``folds`` folds (stratified by ``labels`` when given; fewer folds
    when a group has fewer members; equal rows in one fold). On all folds but one the two groups are found: K-means,
    k = 2 (the split of App. E.4) when ``labels`` is None, else the given labels (two codes); their
    centroids c0, c1 give the unit axis w ∝ c1 − c0 and the cut at (c0 + c1)/2. Each held-out
    member x gets t = (x − (c0 + c1)/2)·w from the fold that did not see it, and over all members
    R = 1 − (within-side sum of squares of t) / (total sum of squares of t), the sides being
    t > 0 and t ≤ 0 (R = 0 when every member falls on one side).

    Why it separates distinct from redundant: the projection of one Gaussian cloud on any axis is
    Gaussian, and no cut of a Gaussian explains more than 2/π ≈ 0.64 of its variance (less on
    held-out members, as the axis is partly fitted noise); two modes k standard deviations apart
    give `two_mode_share`(k/2), → 1. K-means halves are always linearly separable on the members
    they were fitted on, which is why R is measured on held-out members.

    Args:
        member_emb: (m, d) member embeddings (rows L2-normalised here).
        labels: (m,) in {0, 1} (two codes' members), or None to split by K-means.
        seed: fold assignment and K-means seed.
        folds: number of folds, ≥ 2.

    Returns:
        R in [0, 1], unitless; NaN when there are too few members to measure it (fewer than
        ``MIN_TESTED`` members for a split, fewer than 2 distinct rows in a group for two codes, or
        no fold could be measured). Members of a fold whose training rows lack a group are left out.
    """
    x = unit_rows(np.atleast_2d(np.asarray(member_emb, dtype=np.float64)))
    m = x.shape[0]
    if labels is None:
        if m < MIN_TESTED or distinct_members(x) < 2:
            return float("nan")
    else:
        labels = np.asarray(labels, dtype=int)
        if labels.shape != (m,):
            raise ValueError(f"labels must have shape ({m},)")
        # distinct rows, as equal rows share a fold: a code that is one sentence twice cannot be held out
        smallest = min(distinct_members(x[labels == side]) for side in (0, 1))
        if smallest < 2:
            return float("nan")
        folds = min(folds, smallest)
    # Equal rows (one sentence twice, or one expression in both codes) share a fold: a held-out
    # member's copy must not help find the axis it is measured on.
    _, first, inverse = np.unique(np.round(x, 12), axis=0, return_index=True, return_inverse=True)
    order = np.random.default_rng(seed).permutation(first.size)
    if labels is not None:  # stratified: each code's rows dealt round the folds in turn
        order = order[np.argsort(labels[first[order]], kind="stable")]
    unique_fold = np.empty(first.size, dtype=int)
    unique_fold[order] = np.arange(first.size) % folds
    fold = unique_fold[inverse.ravel()]
    t = np.full(m, np.nan)  # a fold whose training rows lack a group measures nothing (not t = 0)
    for f in range(folds):
        train = fold != f
        if labels is None:
            if distinct_members(x[train]) < 2:
                continue
            groups = split_members(x[train], seed=seed)
        else:
            groups = labels[train]
            if not (groups == 0).any() or not (groups == 1).any():
                continue
        c0, c1 = x[train][groups == 0].mean(axis=0), x[train][groups == 1].mean(axis=0)
        norm_w = float(np.linalg.norm(c1 - c0))
        t[~train] = (x[~train] - (c0 + c1) / 2) @ ((c1 - c0) / norm_w) if norm_w > 0 else 0.0
    t = t[np.isfinite(t)]
    if t.size < 2:
        return float("nan")
    side = t > 0
    total = float(((t - t.mean()) ** 2).sum())
    if side.all() or not side.any() or total <= 0:
        return 0.0
    within = sum(float(((t[s] - t[s].mean()) ** 2).sum()) for s in (side, ~side))
    return 1.0 - within / total


def distinguishable(separation: float, min_separation: float = MIN_SEPARATION) -> bool:
    """Whether two groups of members count as distinct codes: their `held_out_separation` is at
    least ``min_separation`` (default: two equal modes 3 standard deviations apart, 0.747; one
    Gaussian cut in two reaches at most 2/π ≈ 0.637). NaN (too few members) is not distinguishable.
    The same test holds back a split (its halves must be distinguishable), a merge (the two codes
    must not be) and decides a match of two codebooks' codes (not distinguishable)."""
    return bool(np.isfinite(separation) and separation >= min_separation)
