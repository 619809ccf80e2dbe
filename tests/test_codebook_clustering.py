"""Initial codebook: reducer -> clusterer (UMAP -> HDBSCAN) -> noise assignment -> merge (App. E.4, App. F.1)."""
from typing import get_args

import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.preprocessing import FunctionTransformer

import workbench.codebook.clustering as clustering
from conftest import TEST_SEED
from workbench.config import ClustererName
from workbench.codebook.clustering import (
    CLUSTERERS,
    ClusterPipeline,
    CosineUMAP,
    assign_noise,
    calibrate_threshold,
    centroids,
    configured_clusterer,
    initial_codes,
    merge_similar_codes,
    relabel_consecutive,
    umap_hdbscan,
)
from workbench.config import EMConfig, WorkbenchConfig
from workbench.errors import WorkbenchError

R2 = np.sqrt(0.5)


class Given:
    """A clusterer whose labels are constructed by the test; it keeps what it was given."""

    def __init__(self, labels):
        self.labels, self.seen = np.asarray(labels), None

    def fit_predict(self, X):
        self.seen = X
        return self.labels


class Refuses:
    def fit_transform(self, X):
        raise AssertionError("the reducer ran")


def given(labels) -> ClusterPipeline:
    """The identity reducer and constructed labels: initial codes without UMAP or HDBSCAN."""
    return ClusterPipeline(FunctionTransformer(), Given(labels))


def test_relabel_consecutive_keeps_noise():
    np.testing.assert_array_equal(relabel_consecutive(np.array([5, 5, -1, 2, 9])), [1, 1, -1, 0, 2])


def test_centroids_normalised_mean_and_empty_code():
    emb = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
    cen = centroids(emb, np.array([0, 0, 2]), K=3)
    np.testing.assert_allclose(cen, [[R2, R2], [0.0, 0.0], [1.0, 0.0]])


def test_calibrate_threshold_by_hand():
    emb = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [R2, R2, 0.0]])
    labels = np.array([0, 1, 2])
    # centroid pair cosines (0, 0.7071, 0.7071): median b = 0.7071; 0.7071 + 0.9 * 0.2929 = 0.970711
    assert calibrate_threshold(emb, labels, 0.9) == pytest.approx(0.970711, abs=1e-6)
    # member-to-other-centroid cosines (0, .7071, 0, .7071, .7071, .7071): median .7071
    assert calibrate_threshold(emb, labels, 0.0, reference="members") == pytest.approx(R2)


def test_calibrate_threshold_keeps_paper_value_on_a_spread_embedder():
    assert calibrate_threshold(np.eye(4), np.arange(4), 0.9) == pytest.approx(0.9)
    assert np.isnan(calibrate_threshold(np.eye(4), np.zeros(4, dtype=int), 0.9))


def test_assign_noise_joins_nearest_or_makes_new_code():
    emb = np.array([[1.0, 0, 0], [0.99, 0.1, 0], [0, 1.0, 0], [0.1, 0.99, 0], [0.9, 0.1, 0], [0, 0, 1.0]])
    raw = np.array([0, 0, 1, 1, -1, -1])
    labels, joined, new = assign_noise(emb, raw, new_code_threshold=0.5)
    # point 4 has cos ~0.99 with code 0; point 5 is orthogonal to both codes
    assert labels.tolist() == [0, 0, 1, 1, 0, 2]
    assert (joined, new) == (1, 1)
    labels, joined, new = assign_noise(emb, raw, new_code_threshold=None)
    assert labels.min() == 0 and labels.max() == 1 and (joined, new) == (2, 0)


def test_assign_noise_all_noise_gives_singletons():
    labels, joined, new = assign_noise(np.eye(3), np.full(3, -1), new_code_threshold=None)
    assert sorted(labels.tolist()) == [0, 1, 2] and (joined, new) == (0, 3)


def test_merge_is_transitive_and_order_free():
    # A, B, C in a plane at 0, 18.19, 36.38 degrees: cos(A,B) = cos(B,C) = 0.95, cos(A,C) = 0.805
    a = np.deg2rad([0.0, 18.19, 36.38])
    abc = np.stack([np.cos(a), np.sin(a), np.zeros(3)], axis=1)
    emb = np.vstack([abc, [[0, 0, 1.0]]])
    labels = merge_similar_codes(emb, np.array([0, 1, 2, 3]), threshold=0.9)
    assert labels[0] == labels[1] == labels[2] != labels[3]
    perm = np.array([3, 1, 0, 2])
    relabelled = merge_similar_codes(emb, perm, threshold=0.9)
    assert relabelled[0] == relabelled[1] == relabelled[2] != relabelled[3]
    np.testing.assert_array_equal(merge_similar_codes(emb, np.arange(4), 0.99), np.arange(4))


def test_tiny_input_skips_umap_and_merges_duplicates():
    rng = np.random.default_rng(0)
    base = np.eye(16)[:3]
    jitter = 0.01 * rng.normal(size=(2, 16))
    emb = np.vstack([base[0], base[0] + jitter[0], base[1], base[1] + jitter[1], base[2]])
    never = ClusterPipeline(Refuses(), Given([]))
    labels, info = initial_codes(emb, never)
    assert info["used_umap"] is False
    assert labels[0] == labels[1] and labels[2] == labels[3]
    assert len(set(labels.tolist())) == 3
    assert initial_codes(np.zeros((0, 4)), never)[0].shape == (0,)


def test_noise_and_all_noise_paths():
    emb = np.array([[1.0, 0, 0], [0.99, 0.1, 0], [0, 1.0, 0], [0.1, 0.99, 0], [0.9, 0.1, 0], [0, 0, 1.0]] * 2)
    fake = given([0, 0, 1, 1, -1, -1] * 2)
    labels, info = initial_codes(emb, fake, new_code_threshold=0.5, merge_threshold=0.95)
    np.testing.assert_allclose(fake.clusterer.seen, emb / np.linalg.norm(emb, axis=1, keepdims=True))  # unit rows
    assert info["n_noise"] == 4 and info["n_noise_joined"] == 2 and info["n_new_codes"] == 2
    assert labels.min() == 0
    # the two orthogonal noise points became codes, then merged (cos 1 >= 0.95)
    assert labels[5] == labels[11] and labels[5] not in (labels[0], labels[2])
    assert len(set(labels.tolist())) == 3

    labels, info = initial_codes(emb, given(np.full(12, -1)), merge_threshold=0.95)
    assert info["n_hdbscan_clusters"] == 0 and info["n_new_codes"] == 12
    # rows 0, 1, 4 (cos >= 0.99 chain) and their copies form one code, etc.
    assert labels[0] == labels[1] == labels[6] and labels[5] == labels[11]


def test_any_scikit_learn_pair_plugs_in():
    """PCA and k-means in place of UMAP and HDBSCAN: four clusters, the near-duplicate pair merged,
    every outlier in A (no noise to assign), in milliseconds and without a seed's luck."""
    emb, group = _blobs()
    labels, info = initial_codes(emb, ClusterPipeline(PCA(5, random_state=0), KMeans(4, n_init=4, random_state=0)))
    code = {g: set(labels[group == g].tolist()) for g in range(5)}
    assert all(len(v) == 1 for v in code.values()) and code[2] == code[3] and code[4] == code[0]
    assert (info["n_hdbscan_clusters"], info["n_noise"], info["n_codes_before_merge"], info["n_codes"]) == (4, 0, 4, 3)


def test_the_setting_names_the_papers_pair_with_the_settings_numbers():
    assert set(get_args(ClustererName)) == set(CLUSTERERS)
    pair = configured_clusterer(EMConfig(min_cluster_size=7, umap_dims=4, seed=3))
    assert isinstance(pair.reducer, CosineUMAP)
    assert (pair.reducer.n_components, pair.reducer.n_neighbors, pair.reducer.random_state) == (4, 15, 3)
    assert (pair.clusterer.min_cluster_size, pair.clusterer.core_dist_n_jobs) == (7, 1)
    assert EMConfig().clusterer == "umap-hdbscan"


def test_an_unknown_clusterer_is_one_line_naming_the_choices():
    with pytest.raises(WorkbenchError) as err:
        WorkbenchConfig().with_settings({"em.clusterer": "kmeans"})
    message = str(err.value)
    assert "\n" not in message and "em.clusterer" in message and "'umap-hdbscan'" in message


# --- the real UMAP + HDBSCAN pipeline, run on one synthetic corpus per module ---


def _blobs(seed=0, n=60, d=384, noise=0.01, offset=0.3):
    """Blobs A and B (n points each) and C1, C2 (n/2 each) whose centres are 17 degrees apart.

    Noise 0.01 per dimension puts members at ~0.98 cosine from their centre, so C1 and
    C2 are separable point-wise while their centroid cosine is ~0.96 (a near-duplicate
    code). Four loose points around A (noise 0.05) play outliers.
    """
    rng = np.random.default_rng(seed)
    c = rng.normal(size=(3, d))
    c /= np.linalg.norm(c, axis=1, keepdims=True)
    u = rng.normal(size=d)
    u -= (u @ c[2]) * c[2]
    u /= np.linalg.norm(u)
    centres = [c[0], c[1], c[2], c[2] + offset * u]
    sizes = [n, n, n // 2, n // 2]
    parts = [ctr + noise * rng.normal(size=(m, d)) for ctr, m in zip(centres, sizes)]
    parts.append(c[0] + 0.05 * rng.normal(size=(4, d)))
    emb = np.vstack(parts)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    group = np.repeat([0, 1, 2, 3, 4], sizes + [4])
    return emb, group


@pytest.fixture(scope="module")
def blobs():
    emb, group = _blobs()
    labels, info = initial_codes(emb, umap_hdbscan(seed=TEST_SEED))  # the blobs force the outcome for any seed
    return emb, group, labels, info


@pytest.mark.slow
def test_three_codes_from_three_blobs(blobs):
    emb, group, labels, info = blobs
    assert info["used_umap"] is True
    assert info["n_codes"] == 3 and labels.max() == 2 and labels.min() == 0
    code = {g: set(labels[group == g].tolist()) for g in range(5)}
    assert all(len(v) == 1 for v in code.values())  # each blob is one code
    assert code[2] == code[3]  # C1 and C2 merged
    assert len(code[0] | code[1] | code[2]) == 3
    assert code[4] == code[0]  # outliers end in A
    assert info["n_noise_joined"] + info["n_new_codes"] == info["n_noise"]


@pytest.mark.slow
def test_merge_step_is_what_joins_the_near_duplicates(blobs):
    emb, group, _, info = blobs
    assert info["n_codes_before_merge"] == 4
    labels, info_nomerge = initial_codes(emb, umap_hdbscan(seed=TEST_SEED), merge_threshold=1.01)
    assert info_nomerge["n_codes"] == 4
    assert set(labels[group == 2].tolist()).isdisjoint(labels[group == 3].tolist())


@pytest.mark.slow
def test_same_seed_same_codes(blobs):
    emb, _, labels, _ = blobs
    again, _ = initial_codes(emb, umap_hdbscan(seed=TEST_SEED))
    np.testing.assert_array_equal(again, labels)


def test_code_members_equal_one_scan_per_code():
    from workbench.codebook.clustering import code_members

    labels = np.random.default_rng(1).integers(-1, 9, size=500)  # -1 noise, 8 out of range
    members = code_members(labels, 8)
    assert len(members) == 8
    for k in range(8):
        np.testing.assert_array_equal(members[k], np.flatnonzero(labels == k))
    assert [m.size for m in code_members(np.array([], dtype=int), 2)] == [0, 0]


def test_centroids_sum_members_in_order_to_the_bit():
    """The sparse membership product adds each code's members as np.add.at did: the same
    centroids to the bit, so the same initial codebook for a seed."""
    from workbench.codebook.vectors import unit_rows

    rng = np.random.default_rng(3)
    emb, labels = rng.normal(size=(400, 7)), rng.integers(-1, 12, size=400)
    sums = np.zeros((11, 7))
    ok = (labels >= 0) & (labels < 11)
    np.add.at(sums, labels[ok], unit_rows(emb)[ok])
    assert np.array_equal(clustering.centroids(emb, labels, 11), unit_rows(sums))
    # a build's corpus scaled once gives each later version the same centroids to the bit
    assert np.array_equal(clustering.unit_centroids(unit_rows(emb.astype(np.float32)), labels, 11),
                          clustering.centroids(emb.astype(np.float32), labels, 11))


@pytest.mark.parametrize("q", [0.5, 0.1, 0.97])
def test_member_threshold_equals_the_quantile_of_the_full_matrix(q):
    """Chunked with a bracket, the quantile of member-to-other-centroid cosines is numpy's own."""
    from workbench.codebook.vectors import unit_rows

    rng = np.random.default_rng(7)
    emb, labels = rng.normal(size=(900, 5)) + 0.3, rng.integers(0, 13, size=900)
    cen = clustering.centroids(emb, labels, 13)
    s = unit_rows(emb) @ cen.T
    other = np.ones_like(s, dtype=bool)
    other[np.arange(900), labels] = False
    want = float(np.quantile(s[other], q))
    chunked = clustering._other_centroid_quantile(unit_rows(emb), labels, cen, q, chunk=64)
    assert chunked == pytest.approx(want, abs=1e-15)
    assert clustering.calibrate_threshold(emb, labels, 0.0, quantile=q, reference="members") == pytest.approx(
        want, abs=1e-15)
