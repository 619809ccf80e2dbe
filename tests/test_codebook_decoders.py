"""Distortions d(x|s) and code-level distortion d(c_k) (App. F.1, Alg. 1 line 9)."""

import numpy as np
import pytest

from workbench.codebook.decoders import (
    code_distortion,
    embedding_distortion,
    latent_distortions,
    latent_reconstruction,
    logprob_distortion,
)

CODES = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])


def test_latent_reconstruction_is_normalised_weighted_mean():
    x = latent_reconstruction(CODES, np.array([1.0, 1.0, 0.0]))
    np.testing.assert_allclose(x, [np.sqrt(0.5), np.sqrt(0.5)])
    with pytest.raises(ValueError):
        latent_reconstruction(CODES, np.zeros(3))


def test_latent_distortion_by_hand():
    q = np.array([0.75, 0.25, 0.0])
    doc = np.array([1.0, 0.0])
    # x^ ∝ (0.75, 0.25) -> (0.948683, 0.316228); cos with (1, 0) = 0.948683
    assert latent_distortions(doc, CODES, np.array([[0, 1]]), q) == pytest.approx([-0.948683], abs=1e-6)
    # a better set has a lower distortion
    d = latent_distortions(doc, CODES, np.array([[0, 1], [0, 2], [1, 2]]), q)
    assert d == pytest.approx([-0.948683, -1.0, 0.0], abs=1e-6)
    # a set of codes all at q = 0 (code 2) still reconstructs: its codes weigh equally
    assert latent_distortions(doc, CODES, np.array([[0], [1], [2]]), q) == pytest.approx([-1.0, 0.0, 1.0])


def test_stacked_reconstructions_equal_one_at_a_time():
    rng = np.random.default_rng(0)
    codes, w = rng.normal(size=(4, 3, 5)), rng.random((4, 3))
    stacked = latent_reconstruction(codes, w)
    for n in range(4):
        np.testing.assert_allclose(stacked[n], latent_reconstruction(codes[n], w[n]), atol=1e-15)


def test_embedding_distortion_mean_negative_cosine():
    recon = np.array([[2.0, 0.0], [0.0, 1.0]])  # not normalised on purpose
    assert embedding_distortion(np.array([1.0, 0.0]), recon) == pytest.approx(-0.5)


def test_logprob_distortion_per_token():
    assert logprob_distortion(np.array([-1.0, -2.0, -3.0])) == pytest.approx(2.0)


def test_code_distortion_by_hand():
    sets = [[np.array([0, 1]), np.array([1, 2])], [np.array([1])]]
    dists = [np.array([-0.8, -0.4]), np.array([-0.6])]
    out = code_distortion(sets, dists, K=4)
    # code 0: -0.8; code 1: mean(-0.8, -0.4, -0.6) = -0.6; code 2: -0.4; code 3: unused
    np.testing.assert_allclose(out[:3], [-0.8, -0.6, -0.4])
    assert np.isnan(out[3])
