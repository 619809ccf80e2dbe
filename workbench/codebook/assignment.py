"""Soft assignment of value expressions to codes (DOVE Eq. 15, App. F.1).

A document's code posterior q(z|x, C) is the average, over the document's M'
value expressions, of a softmax over codes of sim(e_v, e_c) / sigma^2, with
sigma the mean within-code spread.
"""

from __future__ import annotations

import numpy as np

from workbench.codebook.clustering import code_members
from workbench.codebook.clustering import code_members
from workbench.codebook.vectors import unit_rows


def _unit_matrix(x: np.ndarray, name: str) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"{name} must be 2-D, got shape {x.shape}")
    return unit_rows(x, name, allow_zero=False)


def code_spread(
    embeddings: np.ndarray,
    labels: np.ndarray,
    centroids: np.ndarray,
    metric: str = "cosine",
) -> float:
    """Mean within-code spread sigma = (1/K') sum_k sigma_k (App. F.1, under Eq. 16).

    sigma_k is the root-mean-square distance of code k's members to its centroid:
    with metric="cosine" the distance is 1 - cos(e_v, e_c) (default); with
    metric="euclidean" it is ||e_v - e_c|| between unit vectors (= sqrt(2 - 2 cos)).

    Choice (the paper does not define sigma_k): cosine distance is the default
    because Eq. 15 divides a cosine *similarity* by sigma^2, so sigma is measured in
    the same unit. The Euclidean radius gives sigma^2 = 2 * mean(1 - cos), an order of
    magnitude larger for tight clusters, which flattens q(z|x) towards uniform once K
    is in the hundreds and then no code passes the 0.01 sampling floor of App. E.4.

    Codes with fewer than two members have no spread and are left out of the
    mean (K' <= K counts the codes with >= 2 members); so are empty codes.

    Args:
        embeddings: (n, d) expression embeddings, L2-normalised (re-normalised here).
        labels: (n,) ints in [0, K); negative labels (noise) are ignored.
        centroids: (K, d) code embeddings (re-normalised here).
        metric: "cosine" or "euclidean".

    Returns:
        sigma, a non-negative float in the unit of `metric`.

    Raises:
        ValueError: if no code has two or more members.
    """
    if metric not in ("cosine", "euclidean"):
        raise ValueError(f"metric must be 'cosine' or 'euclidean', got {metric!r}")
    emb = _unit_matrix(embeddings, "embeddings")
    cen = _unit_matrix(centroids, "centroids")
    labels = np.asarray(labels)
    if labels.shape != (emb.shape[0],):
        raise ValueError(f"labels must have shape ({emb.shape[0]},), got {labels.shape}")
    spreads = []
    for k, idx in enumerate(code_members(labels, cen.shape[0])):
        members = emb[idx]
        if members.shape[0] < 2:
            continue
        cos = np.clip(members @ cen[k], -1.0, 1.0)
        dist = 1.0 - cos if metric == "cosine" else np.sqrt(np.maximum(2.0 - 2.0 * cos, 0.0))
        spreads.append(np.sqrt(np.mean(dist**2)))
    if not spreads:
        raise ValueError("no code has two or more members, so the code spread sigma is undefined")
    return float(np.mean(spreads))


def nearest_codes(expr_emb: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """Each expression's code of highest q(z|x) (Eq. 15, inner term): the largest cosine to a
    centroid, whatever sigma. A seeded C⁰ takes its members this way.

    Args:
        expr_emb: (n, d) expression embeddings (re-normalised here).
        centroids: (K, d) code embeddings, no zero rows (re-normalised here).

    Returns:
        (n,) int64 code indices in [0, K).
    """
    v = _unit_matrix(expr_emb, "expr_emb")
    c = _unit_matrix(centroids, "centroids")
    if v.shape[1] != c.shape[1]:
        raise ValueError(f"dimension mismatch: expressions d={v.shape[1]}, centroids d={c.shape[1]}")
    return (v @ c.T).argmax(axis=1).astype(np.int64)


def soft_assign(expr_emb: np.ndarray, centroids: np.ndarray, sigma: float) -> np.ndarray:
    """Per-expression code posteriors softmax_k[cos(e_v, e_c_k) / sigma^2] (Eq. 15, inner term).

    For unit vectors -||e_v - e_c||^2 / (2 sigma^2) = (cos - 1) / sigma^2, so this is the
    posterior of the isotropic Gaussian mixture N(e_c_k, sigma^2 I) with equal weights
    that App. F.1 assumes. The max logit is subtracted before exponentiating.

    Args:
        expr_emb: (n, d) expression embeddings (re-normalised here).
        centroids: (K, d) code embeddings, no zero rows (re-normalised here).
        sigma: code spread from `code_spread`, > 0.

    Returns:
        (n, K) array; each row is a probability distribution over codes.
    """
    if not np.isfinite(sigma) or sigma <= 0:
        raise ValueError(f"sigma must be a positive finite number, got {sigma}")
    v = _unit_matrix(expr_emb, "expr_emb")
    c = _unit_matrix(centroids, "centroids")
    if v.shape[1] != c.shape[1]:
        raise ValueError(f"dimension mismatch: expressions d={v.shape[1]}, centroids d={c.shape[1]}")
    logits = (v @ c.T) / sigma**2
    logits -= logits.max(axis=1, keepdims=True)
    w = np.exp(logits)
    return w / w.sum(axis=1, keepdims=True)


def document_posteriors(
    expr_q: np.ndarray, doc_index: np.ndarray, n_docs: int
) -> tuple[np.ndarray, np.ndarray]:
    """Document posteriors q(z|x_i, C) = (1/M'_i) sum_j q(z|v_ij) (Eq. 15).

    Choice: a document with no extracted expression gets a row of zeros and
    has_expressions[i] = False, not a uniform row. A uniform row would invent
    evidence: it would add 1/K to every n_k (Alg. 1 line 6) and the maximal
    entropy log K to the mean of H(z|x_i). With zero rows n_k = q_docs.sum(0) only
    counts documents that express values, and `objective.score` leaves the masked
    documents out of its per-document mean.

    Args:
        expr_q: (n, K) per-expression posteriors from `soft_assign`.
        doc_index: (n,) ints in [0, n_docs), the document of each expression.
        n_docs: N, number of documents.

    Returns:
        q_docs: (N, K); rows of documents with expressions sum to 1, others are 0.
        has_expressions: (N,) bool.
    """
    expr_q = np.asarray(expr_q, dtype=np.float64)
    doc_index = np.asarray(doc_index)
    if expr_q.ndim != 2 or doc_index.shape != (expr_q.shape[0],):
        raise ValueError(f"expr_q (n, K) and doc_index (n,) disagree: {expr_q.shape}, {doc_index.shape}")
    if doc_index.size and (doc_index.min() < 0 or doc_index.max() >= n_docs):
        raise ValueError(f"doc_index must lie in [0, {n_docs})")
    sums = np.zeros((n_docs, expr_q.shape[1]))
    np.add.at(sums, doc_index, expr_q)
    counts = np.bincount(doc_index, minlength=n_docs).astype(np.float64)
    has = counts > 0
    q_docs = np.zeros_like(sums)
    q_docs[has] = sums[has] / counts[has, None]
    return q_docs, has


def document_posteriors_chunked(
    expr_emb: np.ndarray, doc_index: np.ndarray, n_docs: int, centroids: np.ndarray, sigma: float,
    chunk: int = 8192,
) -> tuple[np.ndarray, np.ndarray]:
    """`document_posteriors(soft_assign(...))` (Eq. 15) without holding the (n, K) expression
    posteriors at once: expressions are assigned ``chunk`` rows at a time, so memory stays
    O(chunk·K + N·K) at paper scale (120,000 expressions × 1,300 initial codes).

    Returns the same (q_docs (N, K), has_expressions (N,)) as `document_posteriors`.
    """
    from scipy.sparse import csr_matrix

    doc_index = np.asarray(doc_index)
    sums = np.zeros((n_docs, np.asarray(centroids).shape[0]))
    seen = np.zeros(n_docs, dtype=bool)
    for start in range(0, doc_index.size, chunk):
        rows, q = doc_index[start:start + chunk], soft_assign(expr_emb[start:start + chunk], centroids, sigma)
        # Each document's sum is its expressions added in order, as np.add.at alone did (to the
        # bit): a document begun in an earlier chunk is added onto its sum row by row; the others
        # through a 0/1 matrix product (each sum starts at 0), which is ~10× faster than add.at.
        again = seen[rows]
        np.add.at(sums, rows[again], q[again])
        fresh = np.flatnonzero(~again)
        sums += csr_matrix((np.ones(fresh.size), (rows[fresh], fresh)), shape=(n_docs, rows.size)) @ q
        seen[rows] = True
    counts = np.bincount(doc_index, minlength=n_docs).astype(np.float64)
    has = counts > 0
    q_docs = np.zeros_like(sums)
    q_docs[has] = sums[has] / counts[has, None]
    return q_docs, has
