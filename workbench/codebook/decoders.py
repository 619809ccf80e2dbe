"""Distortions d(x|s) of a reconstruction from a code set, and code-level distortion d(c_k).

All distortions are "lower is better" (App. F.1 under Eq. 13): d = -cos for
similarity-based decoders, d = -log p(x|s) for an open decoder (footnote 3), summed over the
document's tokens or their mean (``roles.decoder.logprob_reduce``).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from workbench.codebook.vectors import unit_rows


def latent_reconstruction(code_emb: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Offline decoder: x^ = normalise(sum_k w_k e_c_k).

    A decoder that needs no LLM: the document is "reconstructed" as the weighted
    mean direction of its codes' embeddings. Used to run the EM loop offline and
    in tests; the LLM decoder of Alg. 1 line 4 replaces it in production.

    Args:
        code_emb: (K, d) code embeddings, or a stack (..., K, d) of them.
        weights: (K,) non-negative weights, zero outside the set (e.g. q(z|x) on s); or
            (..., K), one row per stacked set.

    Returns:
        (d,) unit vector, or (..., d).
    """
    code_emb = np.asarray(code_emb, dtype=np.float64)
    weights = np.asarray(weights, dtype=np.float64)
    if weights.shape != code_emb.shape[:-1] or np.any(weights < 0) or np.any(weights.sum(axis=-1) <= 0):
        raise ValueError("weights must be (..., K), non-negative and not all zero")
    mix = np.einsum("...k,...kd->...d", weights, unit_rows(code_emb, "code_emb", allow_zero=False))
    return unit_rows(mix, "reconstruction", allow_zero=False)


def latent_distortions(
    doc_emb: np.ndarray, code_emb: np.ndarray, sets: np.ndarray, q_row: np.ndarray
) -> np.ndarray:
    """d(x|s) = -cos(e_x, x^) for each code set s of one document, x^ = latent_reconstruction
    over s with weights q(z|x) on s.

    Args:
        doc_emb: (d,) document embedding.
        code_emb: (K, d) code embeddings.
        sets: (n_sets, M) code indices (a document's sets share M).
        q_row: (K,) document posterior.

    Returns:
        (n_sets,) distortions in [-1, 1], unitless.
    """
    sets = np.asarray(sets, dtype=int)
    if sets.ndim != 2:
        raise ValueError(f"sets must be (n_sets, M), got shape {sets.shape}")
    w = np.asarray(q_row, dtype=np.float64)[sets]
    # A set of codes all at q = 0 still reconstructs something: weigh them equally.
    w[w.sum(axis=1) <= 0] = 1.0
    # Only the sets' rows: normalising all K code embeddings per set made the offline decoder
    # the slowest node of a paper-scale build; all sets of a document go through at once.
    x_hat = latent_reconstruction(np.asarray(code_emb)[sets], w)
    return -(x_hat @ unit_rows(doc_emb, "doc_emb", allow_zero=False))


def embedding_distortion(doc_emb: np.ndarray, recon_embs: np.ndarray) -> float:
    """LLM decoder: d(x|s) = -(1/N2) sum_n cos(embed(x), embed(x^_n)) (App. F.1 under Eq. 13).

    Args:
        doc_emb: (d,) embedding of the document.
        recon_embs: (N2, d) embeddings of the N2 reconstructions.

    Returns:
        Distortion in [-1, 1], unitless.
    """
    recon = np.atleast_2d(np.asarray(recon_embs, dtype=np.float64))
    if recon.shape[0] == 0:
        raise ValueError("no reconstruction to compare with")
    recon = unit_rows(recon, "recon_embs", allow_zero=False)
    return float(-np.mean(recon @ unit_rows(doc_emb, "doc_emb", allow_zero=False)))


def logprob_distortion(token_logprobs: np.ndarray, reduce: str = "mean") -> float:
    """Open decoder: d(x|s) = −log p(x|s) (footnote 3) from the log-probabilities of x's tokens.

    Args:
        token_logprobs: (n,) natural-log probabilities of the document's tokens given the prompt.
        reduce: "sum" is footnote 3's −log p(x|s), nats per document; "mean" divides it by the
            token count n, nats per token, so that long and short documents are on one scale.

    Returns:
        The distortion, lower is better.
    """
    lp = np.asarray(token_logprobs, dtype=np.float64)
    if lp.size == 0:
        raise ValueError("no token log-probabilities")
    if reduce not in ("sum", "mean"):
        raise ValueError(f"reduce must be 'sum' or 'mean', got {reduce!r}")
    total = -lp.sum()
    return float(total / lp.size if reduce == "mean" else total)


def code_distortion(
    sets_per_doc: Sequence[Sequence[np.ndarray]],
    distortions_per_doc: Sequence[np.ndarray],
    K: int,
) -> np.ndarray:
    """d(c_k) = mean of d(x|s) over the kept (x, s) pairs with k in s (Alg. 1 line 9).

    Args:
        sets_per_doc: for each document, its kept code sets (index arrays).
        distortions_per_doc: for each document, (N1,) distortions of those sets.
        K: number of codes.

    Returns:
        (K,) code distortions; NaN for codes in no kept set.
    """
    if len(sets_per_doc) != len(distortions_per_doc):
        raise ValueError("sets_per_doc and distortions_per_doc differ in length")
    total = np.zeros(K)
    count = np.zeros(K)
    for sets, dists in zip(sets_per_doc, distortions_per_doc):
        dists = np.asarray(dists, dtype=np.float64)
        if dists.shape != (len(sets),):
            raise ValueError("need one distortion per kept set")
        for s, dist in zip(sets, dists):
            idx = np.unique(np.asarray(s, dtype=int))
            total[idx] += dist
            count[idx] += 1
    out = np.full(K, np.nan)
    used = count > 0
    out[used] = total[used] / count[used]
    return out
