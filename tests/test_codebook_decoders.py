"""Distortions d(x|s) and code-level distortion d(c_k) (App. F.1, Alg. 1 line 9)."""

import numpy as np
import pytest

from workbench.codebook.decoders import (
    code_distortion,
    embedding_distortion,
    latent_distortion,
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
    # x^ ∝ (0.75, 0.25) -> (0.948683, 0.316228); cos with (1, 0) = 0.948683
    d = latent_distortion(np.array([1.0, 0.0]), CODES, np.array([0, 1]), q)
    assert d == pytest.approx(-0.948683, abs=1e-6)
    assert latent_distortion(np.array([1.0, 0.0]), CODES, np.array([0]), q) == pytest.approx(-1.0)
    # a better set has a lower distortion
    assert latent_distortion(np.array([1.0, 0.0]), CODES, np.array([1]), q) == pytest.approx(0.0)


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
