"""Split / merge proposals (Alg. 1 lines 10-13, App. E.4)."""

import numpy as np
import pytest

from workbench.codebook.refine import history_by_code, propose_changes, split_members


def _angles(*deg):
    """Unit vectors in the plane at the given angles (cosine between a and b = cos(a - b))."""
    r = np.deg2rad(deg)
    return np.stack([np.cos(r), np.sin(r)], axis=1)


# n_k = (10, 10, 10, 10, 60): mean 20, population std 20 -> z = (-0.5, -0.5, -0.5, -0.5, 2.0)
N_SPLIT = np.array([10.0, 10.0, 10.0, 10.0, 60.0])
CEN5 = _angles(0, 40, 80, 120, 160)
OTHERS = [[-0.8], [-0.7], [-0.9], [-0.6]]  # with code 4 at -0.4 the median latest is -0.7


def test_split_overused_high_rising_distortion():
    props = propose_changes(N_SPLIT, OTHERS + [[-0.5, -0.4]], CEN5)
    assert [(p.kind, p.code) for p in props] == [("split", 4)]
    ev = props[0].evidence
    assert ev["z"] == pytest.approx(2.0)
    assert ev["distortion_history"] == [-0.5, -0.4]
    # z = -0.5 is not < -0.5: no merge
    assert all(p.kind != "merge" for p in props)


def test_no_split_when_distortion_falls():
    assert propose_changes(N_SPLIT, OTHERS + [[-0.3, -0.4]], CEN5) == []


def test_falling_within_tolerance_still_splits():
    # -0.39 -> -0.40 is a drop of 2.6 %: within a 5 % tolerance, beyond the paper's ~1 %
    props = propose_changes(N_SPLIT, OTHERS + [[-0.39, -0.4]], CEN5, rel_tolerance=0.05)
    assert [(p.kind, p.code) for p in props] == [("split", 4)]
    assert propose_changes(N_SPLIT, OTHERS + [[-0.39, -0.4]], CEN5, rel_tolerance=0.01) == []


def test_single_observation_splits_only_above_median():
    assert [p.code for p in propose_changes(N_SPLIT, OTHERS + [[-0.4]], CEN5)] == [4]
    assert propose_changes(N_SPLIT, OTHERS + [[-0.95]], CEN5) == []
    assert propose_changes(N_SPLIT, OTHERS + [[]], CEN5) == []


def test_no_split_for_normally_used_code_with_high_distortion():
    # code 0 has the worst distortion but z = -0.5
    hist = [[-0.5, -0.1], [-0.7], [-0.9], [-0.6], [-0.5, -0.4]]
    assert [p.code for p in propose_changes(N_SPLIT, hist, CEN5) if p.kind == "split"] == [4]


def test_merge_underused_into_nearest_neighbour():
    # n_k = (1, 20, 20, 20, 20, 39): z_0 = -1.73, z_5 = +1.73, others 0
    n_k = np.array([1.0, 20, 20, 20, 20, 39])
    cen = _angles(0, 90, 50, 10, 170, 130)  # nearest to code 0 is code 3 (10 degrees)
    props = propose_changes(n_k, [[]] * 6, cen)
    assert [(p.kind, p.code, p.target) for p in props] == [("merge", 0, 3)]
    assert props[0].evidence["target_similarity"] == pytest.approx(np.cos(np.deg2rad(10)))


def test_merge_target_is_never_another_merge_candidate():
    # n_k = (1, 2, 30, 30, 30, 30): z_0 = -1.45, z_1 = -1.38, others +0.71
    n_k = np.array([1.0, 2, 30, 30, 30, 30])
    cen = _angles(0, 1, 20, -25, 100, 200)  # 0 and 1 nearly identical; both next-nearest to 2
    props = propose_changes(n_k, [[]] * 6, cen, max_merges=2)
    merges = {p.code: p.target for p in props if p.kind == "merge"}
    assert merges[0] == 2  # 20 degrees away, code 1 (1 degree) is being merged away
    assert all(t not in (0, 1) for t in merges.values())


def test_busy_target_defers_the_second_merge():
    n_k = np.array([1.0, 2, 30, 30, 30, 30])
    cen = _angles(0, 2, 10, 100, 190, 280)  # both 0 and 1 are nearest to code 2
    props = propose_changes(n_k, [[]] * 6, cen, max_merges=5)
    assert [(p.code, p.target) for p in props] == [(0, 2)]


def test_split_code_is_not_a_merge_target():
    # code 0 under-used, code 4 over-used and split; code 0's nearest is code 4
    hist = [[], [-0.7], [-0.9], [-0.6], [-0.5, -0.4]]
    n_k = np.array([1.0, 20, 20, 20, 60])
    cen = _angles(0, 90, 180, 270, 5)
    props = propose_changes(n_k, hist, cen, max_splits=1, max_merges=1)
    assert [(p.kind, p.code, p.target) for p in props] == [("split", 4, None)]


def test_default_caps_are_a_tenth_of_k():
    K = 20
    n_k = np.full(K, 50.0)
    n_k[:6] = [1, 2, 3, 4, 5, 6]  # six under-used codes
    # under-used code i sits next to its own partner code 10 + i, far from all else
    cen = np.eye(K)
    for i in range(6):
        cen[i] = np.eye(K)[10 + i] + 0.1 * np.eye(K)[i]
    props = propose_changes(n_k, [[]] * K, cen)
    merges = [(p.code, p.target) for p in props if p.kind == "merge"]
    assert merges == [(0, 10), (1, 11)]  # max(1, 20 // 10) merges, smallest n_k first
    assert len(propose_changes(n_k, [[]] * K, cen, max_merges=4)) == 4


def test_no_code_in_two_proposals_random_instances():
    rng = np.random.default_rng(0)
    for _ in range(50):
        K = 15
        n_k = rng.gamma(0.8, 10, size=K)
        hist = [list(rng.uniform(-1, 0, size=rng.integers(0, 3))) for _ in range(K)]
        cen = rng.normal(size=(K, 8))
        props = propose_changes(n_k, hist, cen, max_splits=5, max_merges=5)
        involved = [p.code for p in props] + [p.target for p in props if p.target is not None]
        assert len(involved) == len(set(involved))
        z = (n_k - n_k.mean()) / n_k.std()
        for p in props:
            if p.kind == "split":
                assert z[p.code] > 1.0
            else:
                assert z[p.code] < -0.5 and z[p.target] >= -0.5


def test_history_by_code_drops_nan():
    assert history_by_code([np.array([-0.5, np.nan]), np.array([-0.4, -0.3])]) == [[-0.5, -0.4], [-0.3]]


def test_split_members_separates_two_groups_deterministically():
    rng = np.random.default_rng(0)
    a = np.array([1.0, 0, 0, 0]) + 0.05 * rng.normal(size=(10, 4))
    b = np.array([0, 1.0, 0, 0]) + 0.05 * rng.normal(size=(10, 4))
    x = np.vstack([b[:1], a, b[1:]])  # first member belongs to group b
    labels = split_members(x, seed=3)
    assert labels[0] == 0
    assert np.all(labels[1:11] == 1) and np.all(labels[11:] == 0)
    np.testing.assert_array_equal(split_members(x, seed=3), labels)


def test_split_members_needs_two_distinct_members():
    with pytest.raises(ValueError):
        split_members(np.ones((5, 3)))
