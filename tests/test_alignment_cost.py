"""The cost matrix D_ij = ρ(c_i, c_j)·(1 − E[min]/(E[max] + ε₂)) of Sec. 3.3."""
import math

import numpy as np
import pytest

from workbench.alignment.cost import cooccurrence_ratio, cosine_distance_matrix, cost_matrix


def test_cosine_distance_by_hand():
    emb = np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 1.0], [-1.0, 0.0]])
    rho = cosine_distance_matrix(emb)
    r45 = 1 - 1 / math.sqrt(2)  # 45°: 1 − cos 45° = 0.292893
    expected = np.array(
        [
            [0.0, r45, 1.0, 2.0],
            [r45, 0.0, r45, 1 + 1 / math.sqrt(2)],  # 135°: 1 − cos 135° = 1.707107
            [1.0, r45, 0.0, 1.0],
            [2.0, 1 + 1 / math.sqrt(2), 1.0, 0.0],
        ]
    )
    np.testing.assert_allclose(rho, expected, atol=1e-12)
    np.testing.assert_allclose(cosine_distance_matrix(5 * emb), rho, atol=1e-12)  # scale-free


def test_cosine_distance_refuses_zero_embeddings():
    with pytest.raises(ValueError):
        cosine_distance_matrix(np.array([[1.0, 0.0], [0.0, 0.0]]))


# Four human documents over three codes; codes 0 and 1 co-occur, 1 and 2 never do.
DOCS = np.array(
    [
        [0.5, 0.5, 0.0],
        [0.6, 0.4, 0.0],
        [0.0, 0.0, 1.0],
        [0.7, 0.0, 0.3],
    ]
)
# ρ01 = 1 (90°), ρ02 = 2 (180°), ρ12 = 1 (90°)
EMB = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])


def test_cooccurrence_ratio_by_hand():
    ratio = cooccurrence_ratio(DOCS, eps2=0.0)
    # (0,1): E[min] = (0.5 + 0.4 + 0 + 0)/4 = 0.225; E[max] = (0.5 + 0.6 + 0 + 0.7)/4 = 0.45
    assert ratio[0, 1] == pytest.approx(0.5)
    # (0,2): E[min] = (0 + 0 + 0 + 0.3)/4 = 0.075; E[max] = (0.5 + 0.6 + 1 + 0.7)/4 = 0.7
    assert ratio[0, 2] == pytest.approx(0.075 / 0.7)
    # (1,2): never together → E[min] = 0
    assert ratio[1, 2] == 0.0
    np.testing.assert_allclose(ratio, ratio.T)
    np.testing.assert_allclose(np.diag(ratio), 1.0)


def test_cost_matrix_by_hand_and_discount_lowers_cost():
    D = cost_matrix(EMB, DOCS, eps2=1e-12)
    rho = cosine_distance_matrix(EMB)
    # D01 = 1 · (1 − 0.5) = 0.5: frequent co-occurrence halves the cost
    assert D[0, 1] == pytest.approx(0.5, abs=1e-9)
    # D02 = 2 · (1 − 0.075/0.7) = 2 · 0.892857 = 1.785714
    assert D[0, 2] == pytest.approx(1.785714, abs=1e-6)
    # D12 = 1 · (1 − 0) = 1: codes never seen together keep their semantic distance
    assert D[1, 2] == pytest.approx(rho[1, 2])
    assert D[0, 1] < rho[0, 1] and D[0, 2] < rho[0, 2]
    np.testing.assert_allclose(np.diag(D), 0.0)
    np.testing.assert_allclose(D, D.T)


def test_more_cooccurrence_means_lower_cost():
    # Same embeddings, but in the second corpus codes 0 and 1 co-occur in every document.
    apart = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, 1.0]])
    together = np.array([[0.5, 0.5], [0.5, 0.5], [0.5, 0.5], [0.5, 0.5]])
    emb = np.array([[1.0, 0.0], [0.0, 1.0]])
    # apart: E[min] = 0 → D01 = ρ01 = 1; together: E[min] = E[max] = 0.5 → D01 = 1·(1 − 1) = 0
    assert cost_matrix(emb, apart)[0, 1] == pytest.approx(1.0)
    assert cost_matrix(emb, together)[0, 1] == pytest.approx(0.0, abs=1e-7)


def test_unused_codes_keep_semantic_distance():
    # eps2 guards 0/0: two codes no document uses get ratio 0/(0 + ε₂) = 0, so D = ρ.
    docs = np.array([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    emb = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    D = cost_matrix(emb, docs)
    assert D[1, 2] == pytest.approx(1.0)
    assert np.all(np.isfinite(D))


def test_sparse_rows_path_equals_brute_force():
    rng = np.random.default_rng(0)
    N, K = 60, 7
    A = rng.dirichlet(np.ones(K), size=N)
    A[A < 0.1] = 0.0  # sparse, like a recogniser's posteriors
    brute_min = np.minimum(A[:, :, None], A[:, None, :]).mean(axis=0)
    brute_max = np.maximum(A[:, :, None], A[:, None, :]).mean(axis=0)
    np.testing.assert_allclose(cooccurrence_ratio(A, 1e-8), brute_min / (brute_max + 1e-8), rtol=1e-12)


def test_shape_mismatch_is_refused():
    with pytest.raises(ValueError, match="match the codebook"):
        cost_matrix(EMB, np.ones((4, 5)))
    with pytest.raises(ValueError):
        cooccurrence_ratio(-DOCS)
