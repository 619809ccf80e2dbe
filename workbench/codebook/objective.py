"""The codebook score S(C) = -L(C) of DOVE Eq. 3 / Eq. 13-14, and its pieces.

    L(C) = mean_i [ sum_j q(s_j|x_i) d(x_i|s_j) - beta1 M H(z|x_i, C) ] + beta2 M H^(z|C)

Sign conventions used throughout the package:

* d is a distortion, lower is better: d = -sim for a black-box decoder and
  -log p for an open one (App. F.1 under Eq. 13, footnote 3). Sec. 3.2 writes
  d = (1/N2) sum sim without the minus sign; we follow App. F.1 because Eq. 3 is a
  minimisation and Alg. 1 line 5 keeps the sets with the *lowest* d.
* Entropies are in nats. With beta1 = beta2 = beta the two entropy terms are
  beta M [H(z|C) - H(z|x)] = beta M I(x; z) >= 0, the rate of Eq. 9; so +beta2 on
  the usage entropy is the right sign, not a typo.
* Eq. 3 puts beta2 M H^(z|C) inside the average over documents, Eq. 13 outside; it
  does not depend on i, so the two are the same number.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np


def entropy(p: np.ndarray, axis: int = -1) -> np.ndarray:
    """Shannon entropy -sum p log p in nats along `axis`, with 0 log 0 = 0.

    `p` is used as given (not re-normalised); an all-zero row has entropy 0.
    """
    p = np.asarray(p, dtype=np.float64)
    if np.any(p < 0):
        raise ValueError("probabilities must be non-negative")
    plogp = np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0)
    return -plogp.sum(axis=axis)


def code_usage(q_docs: np.ndarray) -> np.ndarray:
    """Expected activation counts n_k = sum_i q(z=k|x_i, C) (Alg. 1 line 6, App. F.1).

    Args:
        q_docs: (N, K) document posteriors; documents without expressions are zero rows.

    Returns:
        (K,) n_k, in documents (sums to the number of documents with expressions).
    """
    q_docs = np.asarray(q_docs, dtype=np.float64)
    if q_docs.ndim != 2:
        raise ValueError(f"q_docs must be (N, K), got shape {q_docs.shape}")
    return q_docs.sum(axis=0)


def usage_entropy(n_k: np.ndarray) -> float:
    """H^(z|C) = -sum_k pi_k log pi_k with pi_k = n_k / sum_j n_j (App. F.1), in nats.

    The paper writes n_k / N; the two agree when every document has expressions.
    Dividing by sum n_j keeps pi a distribution when some documents have none.
    """
    n_k = np.asarray(n_k, dtype=np.float64)
    total = n_k.sum()
    if total <= 0:
        raise ValueError("code usage is all zero; no document has expressions")
    return float(entropy(n_k / total))


def usage_zscores(n_k: np.ndarray) -> np.ndarray:
    """z_k = (n_k - mean n) / std n over the codes (Eq. 16, App. E.4).

    The std is the population std (ddof=0): the K codes are the whole codebook,
    not a sample of it. If all n_k are equal (std ~ 0, or K = 1) every z is 0.

    Returns:
        (K,) unitless z-scores.
    """
    n_k = np.asarray(n_k, dtype=np.float64)
    if n_k.size == 0:
        return n_k.copy()
    mu = n_k.mean()
    sd = n_k.std()
    if sd <= 1e-12 * max(1.0, abs(mu)):
        return np.zeros_like(n_k)
    return (n_k - mu) / sd


def set_weights(q_row: np.ndarray, sets: Sequence[np.ndarray]) -> np.ndarray:
    """Weights q(s_j|x_i) of the kept code sets in Eq. 3 / Eq. 13.

    Choice: w_j proportional to prod_{k in s_j} q(z=k|x_i), normalised over the
    kept sets so that sum_j w_j = 1. Unnormalised set probabilities shrink like
    q^M and would make the distortion term vanish next to the entropy terms (and
    depend on N1); normalised, sum_j w_j d_j is a self-normalised estimate of
    E_q(s|x)[d] on the scale of d. The product is the i.i.d. probability of the set;
    the exact without-replacement probability of an unordered set sums over M!
    orderings, and for M << K (Prop. 3.1) the two differ little.

    Args:
        q_row: (K,) document posterior q(z|x_i).
        sets: N1 integer index arrays, each of distinct codes.

    Returns:
        (N1,) non-negative weights summing to 1.
    """
    q_row = np.asarray(q_row, dtype=np.float64)
    if len(sets) == 0:
        raise ValueError("no code sets to weigh")
    with np.errstate(divide="ignore"):
        logq = np.log(q_row)
    logw = np.array([logq[np.asarray(s, dtype=int)].sum() for s in sets])
    if not np.any(np.isfinite(logw)):
        raise ValueError("every kept set contains a code with q = 0")
    logw = logw - logw[np.isfinite(logw)].max()
    w = np.exp(logw)
    return w / w.sum()


def expected_distortion(
    q_row: np.ndarray, sets: Sequence[np.ndarray], distortions: np.ndarray
) -> float:
    """sum_j q(s_j|x_i) d(x_i|s_j) over the kept sets (first term of Eq. 3), in units of d."""
    distortions = np.asarray(distortions, dtype=np.float64)
    if distortions.shape != (len(sets),):
        raise ValueError(f"need one distortion per set: {len(sets)} sets, {distortions.shape}")
    return float(set_weights(q_row, sets) @ distortions)


def per_doc_loss(
    distortion_per_doc: np.ndarray, q_docs: np.ndarray, M: int, beta1: float
) -> np.ndarray:
    """Per-document part of Eq. 13: d_i - beta1 M H(z|x_i, C), shape (N,).

    NaN where the document has no distortion (not reconstructed).
    """
    d = np.asarray(distortion_per_doc, dtype=np.float64)
    q_docs = np.asarray(q_docs, dtype=np.float64)
    if d.shape != (q_docs.shape[0],):
        raise ValueError(f"distortion_per_doc must have shape ({q_docs.shape[0]},), got {d.shape}")
    return d - beta1 * M * entropy(q_docs, axis=1)


@dataclass(frozen=True)
class ScoreParts:
    """The pieces of L(C) (Eq. 13-14); S = -L is what Alg. 1 line 8 compares with tau1.

    distortion: mean over used documents of sum_j q(s_j|x_i) d(x_i|s_j), units of d.
    doc_entropy: mean over the same documents of H(z|x_i, C), nats.
    usage_entropy: H^(z|C) from all documents with expressions, nats.
    loss: distortion - beta1 M doc_entropy + beta2 M usage_entropy.
    score: S(C) = -loss.
    n_docs: number of documents in the per-document mean.
    beta1_term, beta2_term: the entropy terms as they enter S, so that
        S = -distortion + beta1_term + beta2_term  (beta1_term = +beta1 M H(z|x) >= 0,
        beta2_term = -beta2 M H^(z|C) <= 0). Printed beside S to show *why* it moved.
    """

    distortion: float
    doc_entropy: float
    usage_entropy: float
    loss: float
    score: float
    n_docs: int
    beta1_term: float = 0.0
    beta2_term: float = 0.0


def score(
    distortion_per_doc: np.ndarray,
    q_docs: np.ndarray,
    M: int,
    beta1: float,
    beta2: float,
    doc_mask: np.ndarray | None = None,
) -> ScoreParts:
    """S(C) = -L(C), Eq. 3 / Eq. 13-14.

    Which documents count: the per-document mean runs over documents that have
    expressions (non-zero q row) and a finite distortion, or over `doc_mask` if
    given. A NaN distortion means "not reconstructed" (a budgeted iteration), so
    distortion and doc entropy are averaged over the same documents. The usage
    entropy H^(z|C) uses n_k from *all* documents with expressions: q is cheap to
    compute for every document, the reconstruction is not.

    Args:
        distortion_per_doc: (N,) expected distortion per document (see
            `expected_distortion`), NaN where not reconstructed.
        q_docs: (N, K) document posteriors (Eq. 15).
        M: codes per set.
        beta1, beta2: weights of the document and usage entropies.
        doc_mask: optional (N,) bool, documents to average over.
    """
    q_docs = np.asarray(q_docs, dtype=np.float64)
    d = np.asarray(distortion_per_doc, dtype=np.float64)
    has_expr = q_docs.sum(axis=1) > 0
    if doc_mask is None:
        mask = has_expr & np.isfinite(d)
    else:
        mask = np.asarray(doc_mask, dtype=bool)
        if np.any(~np.isfinite(d[mask])):
            raise ValueError("doc_mask selects documents whose distortion is not finite")
    if not mask.any():
        raise ValueError("no document has both expressions and a distortion")
    h_docs = entropy(q_docs[mask], axis=1)
    distortion = float(d[mask].mean())
    doc_entropy = float(h_docs.mean())
    h_usage = usage_entropy(code_usage(q_docs))
    beta1_term, beta2_term = beta1 * M * doc_entropy, -beta2 * M * h_usage
    loss = distortion - beta1_term - beta2_term
    return ScoreParts(
        distortion=distortion,
        doc_entropy=doc_entropy,
        usage_entropy=h_usage,
        loss=float(loss),
        score=float(-loss),
        n_docs=int(mask.sum()),
        beta1_term=float(beta1_term),
        beta2_term=float(beta2_term),
    )


def stop_reason(scores: Sequence[float], iterations: int, tau1: float, min_rel_improvement: float = 0.0,
                patience: int = 2, progress: Sequence[float] | None = None, progress_name: str = "S(C)"
                ) -> str | None:
    """Why Algorithm 1 stops after scoring iteration t = len(scores), or None to refine again.

    ``scores`` are S(C^0), ..., S(C^{t-1}), one per iteration so far (iteration t scores C^{t-1}).
    Stop when, in this order:
      * S(C^{t-1}) > tau1 (Alg. 1 line 8, the paper's rule);
      * t - 1 = T refinements have been made (``iterations`` = T of Alg. 1: T refinements, so the
        loop scores T + 1 codebooks, C^T being scored for the record);
      * the relative improvement (p_t - p_{t-1}) / |p_{t-1}| of ``progress`` (default: the scores;
        ``em.objective reconstruction``: −d̄ on held-out documents, named ``progress_name``) stayed
        below ``min_rel_improvement`` for ``patience`` iterations in a row (ours: tau1 = 1.0 is on
        the scale of the paper's embedder and decoder, which another embedder's S may never reach;
        0 turns it off).
    """
    t = len(scores)
    if t == 0:
        return None
    if scores[-1] > tau1:
        return f"S(C) = {scores[-1]:.4f} > τ1 = {tau1}"
    if t - 1 >= iterations:
        return f"made T = {iterations} refinements"
    series = list(scores if progress is None else progress)
    if min_rel_improvement > 0 and len(series) > patience:
        recent = [(b - a) / abs(a) if a else np.inf for a, b in zip(series[-patience - 1:-1], series[-patience:])]
        if all(r < min_rel_improvement for r in recent):
            shown = ", ".join(f"{100 * r:+.2f} %" for r in recent)
            return (f"{progress_name} improved by less than {100 * min_rel_improvement:g} % for {patience} "
                    f"iterations ({shown})")
    return None


def change_kept(held_out_before: float, held_out_after: float) -> bool:
    """Whether a refinement (the splits and merges that made C^t from C^{t-1}) is kept under
    ``em.objective reconstruction``: the reconstruction term −d̄ (Eq. 13's first term, sign of S)
    on held-out documents did not fall, −d̄(C^t) ≥ −d̄(C^{t-1}), both measured on the same
    documents, none of which proposed the change. S(C) is not asked: its β1·M·H(z|x) term rises
    whenever a code is cut into near-duplicate halves, however the reconstruction fares (issue 23)."""
    return bool(held_out_after >= held_out_before)


@dataclass(frozen=True)
class BootstrapCI:
    """Point estimate and percentile interval [low, high] at level 1 - alpha."""

    estimate: float
    low: float
    high: float
    n_boot: int
    alpha: float


def bootstrap_ci(
    per_doc_values: np.ndarray,
    fixed_term: float = 0.0,
    n_boot: int = 2000,
    seed: int = 0,
    alpha: float = 0.05,
    strata: np.ndarray | None = None,
    weights: np.ndarray | None = None,
) -> BootstrapCI:
    """Percentile bootstrap CI of mean(per_doc_values) + fixed_term.

    Use for S(C) when only a budget of documents was reconstructed: pass
    per_doc_values = -per_doc_loss(...) over the reconstructed documents and
    fixed_term = -beta2 * M * usage_entropy(n_k). The usage term comes from every
    document's q and is held fixed; only the per-document part is resampled.

    With `strata`, documents are resampled within each stratum, keeping each
    stratum's count (the stratified design of the budget). With `weights` (e.g.
    inverse inclusion probabilities when strata were sampled unequally) the mean
    is the weighted mean, and weights are resampled with their documents.

    Args:
        per_doc_values: (n,) finite values.
        fixed_term: added to every bootstrap mean.
        n_boot: number of resamples.
        seed: seed of the numpy Generator.
        alpha: 1 - confidence level.
        strata: optional (n,) stratum labels.
        weights: optional (n,) positive weights.
    """
    x = np.asarray(per_doc_values, dtype=np.float64)
    n = x.size
    if n == 0 or not np.all(np.isfinite(x)):
        raise ValueError("per_doc_values must be a non-empty array of finite values")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha}")
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.shape != (n,) or np.any(w <= 0):
        raise ValueError("weights must be (n,) and positive")
    rng = np.random.default_rng(seed)
    if strata is None:
        blocks = [np.arange(n)]
    else:
        strata = np.asarray(strata)
        if strata.shape != (n,):
            raise ValueError(f"strata must have shape ({n},)")
        blocks = [np.flatnonzero(strata == s) for s in np.unique(strata)]
    # Each block's resamples are drawn (the same draws, in the same order, as one index matrix
    # would hold) and summed at once: no n_boot × n matrix of indices and values is kept (issue 16:
    # at 30k documents three of them, ~0.7 GB, made this node grow faster than the data).
    sums, totals = np.zeros(n_boot), np.zeros(n_boot)
    for members in blocks:
        idx = members[rng.integers(0, members.size, size=(n_boot, members.size))]
        if weights is None:
            sums += x[idx].sum(axis=1)
            totals += members.size
        else:
            sums += (x[idx] * w[idx]).sum(axis=1)
            totals += w[idx].sum(axis=1)
    boot = sums / totals + fixed_term
    estimate = float((x * w).sum() / w.sum() + fixed_term)
    low, high = np.quantile(boot, [alpha / 2, 1 - alpha / 2])
    return BootstrapCI(estimate=estimate, low=float(low), high=float(high), n_boot=n_boot, alpha=alpha)
