"""Sampling code sets without replacement from q(z|x) (Sec. 3.2, App. E.4)."""

import numpy as np

from workbench.codebook.sampling import sample_code_sets


def _q(K=12, seed=0):
    return np.random.default_rng(seed).dirichlet(np.full(K, 0.7))


def test_sets_have_m_distinct_codes_above_floor_and_are_distinct():
    q = _q()
    sets = sample_code_sets(q, M=3, n_sets=10, rng=np.random.default_rng(0), min_p=0.01)
    assert 1 <= len(sets) <= 10
    keys = {tuple(s) for s in sets}
    assert len(keys) == len(sets)
    for s in sets:
        assert len(s) == 3 and len(set(s.tolist())) == 3
        assert np.all(q[s] >= 0.01)


def test_same_seed_same_sets():
    q = _q()
    a = sample_code_sets(q, 3, 8, np.random.default_rng(42))
    b = sample_code_sets(q, 3, 8, np.random.default_rng(42))
    assert [s.tolist() for s in a] == [s.tolist() for s in b]


def test_fewer_passing_than_m_uses_all_passing():
    q = np.array([0.5, 0.495, 0.003, 0.002])
    sets = sample_code_sets(q, M=3, n_sets=5, rng=np.random.default_rng(0))
    assert [s.tolist() for s in sets] == [[0, 1]]


def test_no_code_passes_falls_back_to_top_m():
    q = np.full(200, 1 / 200)
    q[17] += 0.001
    q[3] += 0.0005
    q /= q.sum()
    sets = sample_code_sets(q, M=2, n_sets=5, rng=np.random.default_rng(0))
    assert [s.tolist() for s in sets] == [[3, 17]]


def test_zero_row_gives_no_sets():
    assert sample_code_sets(np.zeros(5), 2, 3, np.random.default_rng(0)) == []


def test_draw_frequencies_follow_renormalised_q():
    q = np.array([0.6, 0.3, 0.095, 0.005])
    rng = np.random.default_rng(0)
    draws = np.array([sample_code_sets(q, 1, 1, rng)[0][0] for _ in range(4000)])
    assert not np.any(draws == 3)  # below min_p
    # code 0: 0.6 / 0.995 = 0.603; binomial sd ~ 0.008
    assert abs(np.mean(draws == 0) - 0.603) < 0.03
    assert abs(np.mean(draws == 2) - 0.0955) < 0.02


def test_stops_when_fewer_distinct_sets_exist():
    q = np.array([0.4, 0.3, 0.3])
    sets = sample_code_sets(q, M=2, n_sets=10, rng=np.random.default_rng(0))
    # only C(3,2) = 3 distinct sets exist
    assert sorted(tuple(s) for s in sets) == [(0, 1), (0, 2), (1, 2)]
