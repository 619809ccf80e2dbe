"""Soft assignment of expressions to codes (DOVE Eq. 15)."""

import numpy as np
import pytest

from workbench.codebook.assignment import code_spread, document_posteriors, soft_assign

R2 = np.sqrt(0.5)


def _toy_codes():
    # code 0: e1 and e2, centroid (1,1)/sqrt2, each member at cos 1/sqrt2
    # code 1: two copies of e1, centroid e1, spread 0
    # code 2: a single member, no spread -> left out of the mean
    emb = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 0.0], [0.0, -1.0]])
    labels = np.array([0, 0, 1, 1, 2])
    cen = np.array([[R2, R2], [1.0, 0.0], [0.0, -1.0]])
    return emb, labels, cen


def test_code_spread_cosine_by_hand():
    emb, labels, cen = _toy_codes()
    # sigma_0 = 1 - 1/sqrt2 = 0.292893, sigma_1 = 0; mean over the two codes with >= 2 members
    assert code_spread(emb, labels, cen) == pytest.approx(0.292893 / 2, abs=1e-6)


def test_code_spread_euclidean_by_hand():
    emb, labels, cen = _toy_codes()
    # ||e1 - (1,1)/sqrt2|| = sqrt(2 - 2/sqrt2) = 0.765367
    assert code_spread(emb, labels, cen, metric="euclidean") == pytest.approx(0.765367 / 2, abs=1e-6)


def test_code_spread_ignores_empty_and_noise_and_needs_two_members():
    emb, labels, cen = _toy_codes()
    cen4 = np.vstack([cen, [[0.0, 1.0]]])  # code 3 has no member
    labels_noise = np.append(labels, -1)
    emb_noise = np.vstack([emb, [[-1.0, 0.0]]])
    assert code_spread(emb_noise, labels_noise, cen4) == pytest.approx(0.292893 / 2, abs=1e-6)
    with pytest.raises(ValueError):
        code_spread(emb[[0, 4]], np.array([0, 2]), cen)


def test_soft_assign_by_hand():
    cen = np.array([[1.0, 0.0], [0.0, 1.0]])
    q = soft_assign(np.array([[1.0, 0.0]]), cen, sigma=1.0)
    # logits (1, 0): e / (e + 1) = 0.731059
    np.testing.assert_allclose(q, [[0.731059, 0.268941]], atol=1e-6)
    q = soft_assign(np.array([[1.0, 0.0]]), cen, sigma=0.5)
    # logits (4, 0): 1 / (1 + e^-4) = 0.982014
    np.testing.assert_allclose(q, [[0.982014, 0.017986]], atol=1e-6)


def test_soft_assign_rows_sum_to_one_and_scale_invariant():
    rng = np.random.default_rng(0)
    v = rng.normal(size=(20, 8))
    c = rng.normal(size=(5, 8))
    q = soft_assign(v, c, sigma=0.3)
    np.testing.assert_allclose(q.sum(axis=1), 1.0)
    assert np.all(q >= 0)
    np.testing.assert_allclose(soft_assign(3.0 * v, 0.5 * c, sigma=0.3), q)


def test_soft_assign_stable_for_tiny_sigma():
    cen = np.array([[1.0, 0.0], [0.0, 1.0]])
    q = soft_assign(np.array([[1.0, 0.0], [0.0, 1.0]]), cen, sigma=1e-4)
    assert np.all(np.isfinite(q))
    np.testing.assert_allclose(q, np.eye(2), atol=1e-12)


def test_soft_assign_rejects_bad_sigma_and_zero_centroid():
    cen = np.array([[1.0, 0.0], [0.0, 1.0]])
    with pytest.raises(ValueError):
        soft_assign(np.ones((1, 2)), cen, sigma=0.0)
    with pytest.raises(ValueError):
        soft_assign(np.ones((1, 2)), np.array([[1.0, 0.0], [0.0, 0.0]]), sigma=1.0)


def test_document_posteriors_average_and_mask():
    expr_q = np.array([[0.8, 0.2], [0.4, 0.6], [0.3, 0.7]])
    q_docs, has = document_posteriors(expr_q, np.array([0, 0, 2]), n_docs=3)
    # doc 0 = mean of the first two rows; doc 1 has no expression; doc 2 = third row
    np.testing.assert_allclose(q_docs, [[0.6, 0.4], [0.0, 0.0], [0.3, 0.7]])
    assert has.tolist() == [True, False, True]


def test_document_posteriors_rejects_out_of_range_index():
    with pytest.raises(ValueError):
        document_posteriors(np.ones((2, 2)) / 2, np.array([0, 3]), n_docs=3)


def test_chunked_document_posteriors_equal_the_direct_ones():
    from workbench.codebook.assignment import document_posteriors, document_posteriors_chunked, soft_assign

    rng = np.random.default_rng(3)
    emb = rng.normal(size=(50, 8))
    cents = rng.normal(size=(4, 8))
    doc = rng.integers(0, 12, size=50)
    direct, has = document_posteriors(soft_assign(emb, cents, 0.3), doc, 13)
    chunked, has_c = document_posteriors_chunked(emb, doc, 13, cents, 0.3, chunk=7)
    assert np.allclose(direct, chunked) and (has == has_c).all() and not has[12]


def test_chunked_posteriors_add_each_documents_expressions_in_order():
    """Chunks through a 0/1 matrix product give the sums of adding every expression in order
    (np.add.at), to the bit, also for documents whose expressions fall in several chunks."""
    from workbench.codebook.assignment import document_posteriors_chunked, soft_assign

    rng = np.random.default_rng(2)
    emb, cen = rng.normal(size=(700, 6)), rng.normal(size=(9, 6))
    docs = rng.integers(0, 120, size=700)  # not grouped by document: every chunk continues some
    q, has = document_posteriors_chunked(emb, docs, 125, cen, 0.4, chunk=64)
    sums = np.zeros((125, 9))
    for start in range(0, 700, 64):
        np.add.at(sums, docs[start:start + 64], soft_assign(emb[start:start + 64], cen, 0.4))
    counts = np.bincount(docs, minlength=125)
    assert np.array_equal(has, counts > 0)
    assert np.array_equal(q[has], sums[has] / counts[has, None]) and not q[~has].any()


def test_code_spread_equals_one_scan_per_code_to_the_bit():
    from workbench.codebook.assignment import code_spread
    from workbench.codebook.clustering import centroids

    rng = np.random.default_rng(5)
    emb, labels = rng.normal(size=(300, 6)), rng.integers(-1, 9, size=300)
    cen = centroids(emb, labels, 9)
    unit, spreads = emb / np.linalg.norm(emb, axis=1, keepdims=True), []
    for k in range(9):
        cos = np.clip(unit[labels == k] @ (cen[k] / np.linalg.norm(cen[k])), -1.0, 1.0)
        spreads.append(np.sqrt(np.mean((1.0 - cos) ** 2)))
    assert code_spread(emb, labels, cen) == float(np.mean(spreads))
