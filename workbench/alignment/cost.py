"""The value-aware cost matrix of the UOT metric (Sec. 3.3 below Eq. 4; App. F.3, w_ij)."""
from __future__ import annotations

import numpy as np


def cosine_distance_matrix(code_emb: np.ndarray) -> np.ndarray:
    """ρ(c_i, c_j) = 1 − cos(e_i, e_j), clipped at 0, with an exact-zero diagonal.

    ``code_emb``: (K, d) code embeddings (e.g. centroids of their value expressions).
    Returns (K, K), symmetric, in [0, 2].
    """
    E = np.asarray(code_emb, dtype=np.float64)
    if E.ndim != 2:
        raise ValueError(f"code embeddings must be (K, d), got shape {E.shape}")
    norms = np.linalg.norm(E, axis=1)
    if np.any(norms == 0) or not np.all(np.isfinite(E)):
        raise ValueError("every code embedding must be finite and non-zero")
    U = E / norms[:, None]
    rho = np.clip(1.0 - U @ U.T, 0.0, None)
    rho = 0.5 * (rho + rho.T)  # float rounding can make U@Uᵀ slightly asymmetric
    np.fill_diagonal(rho, 0.0)
    return rho


def cooccurrence_ratio(a_docs: np.ndarray, eps2: float = 1e-8) -> np.ndarray:
    """E_x[min(a_i(x), a_j(x))] / (E_x[max(a_i(x), a_j(x))] + ε₂), a (K, K) matrix in [0, 1].

    ``a_docs``: (N, K), row n is the recogniser's q(z | x_n, C) for human document x_n; the
    expectation is the mean over the N documents. 1 − this ratio is the discount w_ij.

    Only documents where code i has positive probability contribute to Σ min(a_i, a_j), so row
    i is computed on those documents: memory O(N·K) (never N×K×K), and with the sparse
    posteriors a recogniser produces most rows touch a few per cent of the corpus.
    Σ max follows from max = a_i + a_j − min.
    """
    A = np.asarray(a_docs, dtype=np.float64)
    if A.ndim != 2 or A.shape[0] == 0:
        raise ValueError(f"document posteriors must be (N, K) with N ≥ 1, got shape {A.shape}")
    if not np.all(np.isfinite(A)) or np.any(A < 0):
        raise ValueError("document posteriors must be finite and non-negative")
    N, K = A.shape
    sum_min = np.zeros((K, K))
    for i in range(K):
        rows = A[A[:, i] > 0]
        if rows.shape[0]:
            # j ≥ i only; the matrix is symmetric.
            sum_min[i, i:] = np.minimum(rows[:, i, None], rows[:, i:]).sum(axis=0)
    sum_min = np.triu(sum_min) + np.triu(sum_min, 1).T
    col_sum = A.sum(axis=0)
    sum_max = col_sum[:, None] + col_sum[None, :] - sum_min
    return (sum_min / N) / (sum_max / N + eps2)


def cost_matrix(code_emb: np.ndarray, a_docs: np.ndarray, eps2: float = 1e-8) -> np.ndarray:
    """D_ij = ρ(c_i, c_j) · (1 − E[min(a_i, a_j)] / (E[max(a_i, a_j)] + ε₂)) (Sec. 3.3).

    ``code_emb``: (K, d) code embeddings; ``a_docs``: (N, K) per-document posteriors of the
    human group's documents; ρ is the cosine distance of :func:`cosine_distance_matrix`.
    Two codes that are semantically close AND co-occur in human documents are cheap to move
    mass between. Returns (K, K), symmetric, non-negative, zero diagonal, cosine-distance units.
    """
    rho = cosine_distance_matrix(code_emb)
    A = np.asarray(a_docs)
    if A.ndim != 2 or A.shape[1] != rho.shape[0]:
        raise ValueError(
            f"posteriors have shape {A.shape}, expected (N, {rho.shape[0]}) to match the codebook"
        )
    D = rho * (1.0 - cooccurrence_ratio(A, eps2))
    np.fill_diagonal(D, 0.0)
    return D
