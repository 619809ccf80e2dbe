"""The codebook score S(C) = -L(C) (DOVE Eq. 3 / 13-16) and its bootstrap CI."""

import numpy as np
import pytest

from workbench.codebook.objective import (
    bootstrap_ci,
    code_usage,
    entropy,
    expected_distortion,
    per_doc_loss,
    score,
    set_weights,
    usage_entropy,
    usage_zscores,
)

LN2 = 0.693147


def test_entropy_by_hand():
    assert entropy(np.array([0.5, 0.5])) == pytest.approx(LN2, abs=1e-6)
    assert entropy(np.array([1.0, 0.0])) == 0.0
    np.testing.assert_allclose(entropy(np.array([[0.5, 0.5], [0.0, 0.0]]), axis=1), [LN2, 0.0], atol=1e-6)


def test_code_usage_sums_document_rows():
    q_docs = np.array([[0.6, 0.4], [0.0, 0.0], [0.3, 0.7]])
    np.testing.assert_allclose(code_usage(q_docs), [0.9, 1.1])


def test_usage_entropy_by_hand():
    # pi = (1/4, 1/4, 1/2): H = 2 * 0.25 * ln 4 + 0.5 * ln 2 = 1.039721
    assert usage_entropy(np.array([1.0, 1.0, 2.0])) == pytest.approx(1.039721, abs=1e-6)


def test_usage_zscores_population_std():
    # mean 2, population std sqrt(2/3) = 0.816497
    z = usage_zscores(np.array([1.0, 2.0, 3.0]))
    np.testing.assert_allclose(z, [-1.224745, 0.0, 1.224745], atol=1e-6)
    np.testing.assert_array_equal(usage_zscores(np.array([4.0, 4.0, 4.0])), [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(usage_zscores(np.array([7.0])), [0.0])


def test_set_weights_normalised_product():
    q = np.array([0.5, 0.3, 0.2])
    sets = [np.array([0, 1]), np.array([0, 2]), np.array([1, 2])]
    # products 0.15, 0.10, 0.06; total 0.31
    np.testing.assert_allclose(set_weights(q, sets), [0.15 / 0.31, 0.10 / 0.31, 0.06 / 0.31])
    # (-0.135 - 0.06 - 0.018) / 0.31
    d = np.array([-0.9, -0.6, -0.3])
    assert expected_distortion(q, sets, d) == pytest.approx(-0.213 / 0.31)


def test_set_weights_zero_probability_code_gets_no_weight():
    w = set_weights(np.array([0.6, 0.4, 0.0]), [np.array([0, 1]), np.array([1, 2])])
    np.testing.assert_allclose(w, [1.0, 0.0])
    with pytest.raises(ValueError):
        set_weights(np.array([0.6, 0.4, 0.0]), [np.array([2])])


def test_score_by_hand():
    q_docs = np.array([[0.5, 0.5], [1.0, 0.0]])
    d = np.array([-0.8, -0.6])
    parts = score(d, q_docs, M=2, beta1=0.1, beta2=0.2)
    # doc entropies ln2, 0 -> mean 0.346574; n_k = (1.5, 0.5) -> H(0.75, 0.25) = 0.562335
    # L = -0.7 - 0.1*2*0.346574 + 0.2*2*0.562335 = -0.544381
    assert parts.distortion == pytest.approx(-0.7)
    assert parts.doc_entropy == pytest.approx(0.346574, abs=1e-6)
    assert parts.usage_entropy == pytest.approx(0.562335, abs=1e-6)
    assert parts.loss == pytest.approx(-0.544381, abs=1e-6)
    assert parts.score == pytest.approx(0.544381, abs=1e-6)
    assert parts.n_docs == 2


def test_score_unreconstructed_doc_counts_only_in_usage():
    q_docs = np.array([[0.5, 0.5], [1.0, 0.0], [0.0, 1.0], [0.0, 0.0]])
    d = np.array([-0.8, -0.6, np.nan, -0.1])  # doc 3 has no expressions: ignored
    parts = score(d, q_docs, M=2, beta1=0.1, beta2=0.2)
    # per-doc part as above; n_k = (1.5, 1.5) -> ln 2
    # L = -0.7 - 0.069315 + 0.4 * 0.693147 = -0.492056
    assert parts.n_docs == 2
    assert parts.loss == pytest.approx(-0.492056, abs=1e-6)


def test_equal_betas_give_non_negative_rate():
    # beta M [H(z|C) - mean H(z|x)] = beta M I(x; z) >= 0 (entropy is concave)
    rng = np.random.default_rng(1)
    for _ in range(20):
        q = rng.dirichlet(np.full(6, 0.3), size=15)
        d = rng.uniform(-1, 0, size=15)
        parts = score(d, q, M=3, beta1=0.5, beta2=0.5)
        assert parts.loss - parts.distortion >= -1e-12


def test_per_doc_loss_matches_score():
    rng = np.random.default_rng(2)
    q = rng.dirichlet(np.ones(4), size=10)
    d = rng.uniform(-1, 0, size=10)
    parts = score(d, q, M=2, beta1=0.3, beta2=0.7)
    per_doc = per_doc_loss(d, q, M=2, beta1=0.3)
    assert per_doc.mean() + 0.7 * 2 * parts.usage_entropy == pytest.approx(parts.loss)


def test_bootstrap_constant_values_collapse():
    ci = bootstrap_ci(np.full(30, 0.25), fixed_term=-0.05, n_boot=200, seed=0)
    assert ci.estimate == pytest.approx(0.2)
    assert ci.low == pytest.approx(0.2)
    assert ci.high == pytest.approx(0.2)


def test_bootstrap_width_and_reproducibility():
    x = np.random.default_rng(3).normal(size=400)
    a = bootstrap_ci(x, n_boot=1000, seed=7)
    b = bootstrap_ci(x, n_boot=1000, seed=7)
    assert (a.low, a.high) == (b.low, b.high)
    assert a.low < a.estimate < a.high
    # normal theory: 2 * 1.96 / sqrt(400) = 0.196
    assert 0.14 < a.high - a.low < 0.26


def test_bootstrap_strata_keep_their_counts():
    x = np.array([0.0] * 50 + [10.0] * 50)
    strata = np.array([0] * 50 + [1] * 50)
    stratified = bootstrap_ci(x, n_boot=500, seed=0, strata=strata)
    assert stratified.low == pytest.approx(5.0) and stratified.high == pytest.approx(5.0)
    plain = bootstrap_ci(x, n_boot=500, seed=0)
    assert plain.high - plain.low > 1.0


@pytest.mark.parametrize("stratified, weighted", [(False, False), (True, False), (True, True), (False, True)])
def test_bootstrap_draws_what_one_index_matrix_would(stratified, weighted):
    """The resamples are summed block by block (issue 16), and are still the seed's resamples: the
    interval equals the one from the whole n_boot × n matrix of resampled indices."""
    rng = np.random.default_rng(11)
    x, w = rng.normal(size=300), rng.uniform(0.5, 2.0, size=300)
    strata = rng.choice(["KR|human", "KR|model", "US|human"], size=300) if stratified else None
    draw = np.random.default_rng(5)
    if strata is None:
        idx = draw.integers(0, 300, size=(400, 300))
    else:
        blocks = [np.flatnonzero(strata == s) for s in np.unique(strata)]
        idx = np.concatenate([b[draw.integers(0, b.size, size=(400, b.size))] for b in blocks], axis=1)
    weights = w if weighted else np.ones(300)
    boot = (x[idx] * weights[idx]).sum(axis=1) / weights[idx].sum(axis=1) - 0.1

    ci = bootstrap_ci(x, fixed_term=-0.1, n_boot=400, seed=5, strata=strata, weights=w if weighted else None)

    assert (ci.low, ci.high) == pytest.approx(tuple(np.quantile(boot, [0.025, 0.975])), abs=1e-12)


def test_bootstrap_weighted_mean():
    ci = bootstrap_ci(np.array([0.0, 10.0]), n_boot=50, seed=0, weights=np.array([3.0, 1.0]))
    assert ci.estimate == pytest.approx(2.5)
