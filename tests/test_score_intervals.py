"""Intervals, bias, ceilings and equal-n of the score table (issue 11, items 5 and 6).

The coverage simulation knows the truth: documents are one-hot posteriors drawn from known code
distributions, so the cost matrix is the cosine distance ρ whatever the sample (no co-occurrence
discount between codes that never share a document) and the true D is Eq. 22 between the two
populations' distributions. The 200 pairs × 100 resamples are solved in one batch by
``debiased_uot_pairs`` (the solver the ceiling uses, checked against POT below)."""
from __future__ import annotations

import numpy as np
import pytest

from workbench.alignment.config import AlignmentConfig
from workbench.alignment.cost import cost_matrix
from workbench.alignment.scoring import bootstrap_interval, mean_posterior, score_table
from workbench.alignment.uot import alignment_score, debiased_uot, debiased_uot_pairs

K = 4
PAIRS, N_BOOT, N_GROUP, N_SOURCE = 200, 100, 80, 60
CFG = AlignmentConfig()


def _one_hot(rng, n, p):
    return np.eye(len(p))[rng.choice(len(p), size=n, p=p)]


@pytest.fixture(scope="module")
def cost():
    emb = np.random.default_rng(5).normal(size=(K, 6)) + 0.5
    D = cost_matrix(emb, np.eye(K))
    return emb, D


def _simulate(D, seed=0):
    """Share of PAIRS simulated (group, source) samples whose interval covers the true r, and the
    share of intervals that had to be widened to reach their estimate."""
    rng = np.random.default_rng(seed)
    p_g = rng.dirichlet(np.full(K, 2.0), size=PAIRS)
    # sources from identical (true r = 1) to unrelated distributions
    w = rng.choice([0.0, 0.3, 0.6, 1.0], size=PAIRS)[:, None]
    p_s = (1 - w) * p_g + w * rng.dirichlet(np.full(K, 2.0), size=PAIRS)
    truth = alignment_score(debiased_uot_pairs(p_g.T, p_s.T, D, CFG.eps, CFG.tau))
    a_hat = rng.multinomial(N_GROUP, p_g) / N_GROUP  # a one-hot sample's mean is its code counts
    b_hat = rng.multinomial(N_SOURCE, p_s) / N_SOURCE
    r_hat = alignment_score(debiased_uot_pairs(a_hat.T, b_hat.T, D, CFG.eps, CFG.tau))
    # the document bootstrap of a one-hot sample: multinomial counts of its own histogram
    a_star = rng.multinomial(N_GROUP, np.repeat(a_hat, N_BOOT, axis=0)) / N_GROUP
    b_star = rng.multinomial(N_SOURCE, np.repeat(b_hat, N_BOOT, axis=0)) / N_SOURCE
    # tol 1e-5 (not 1e-6): the objective is stationary at the optimum, so |ΔD| stays ~1e-10
    r_star = alignment_score(debiased_uot_pairs(a_star.T, b_star.T, D, CFG.eps, CFG.tau, tol=1e-5))
    r_star = r_star.reshape(PAIRS, N_BOOT)
    covered = widened = 0
    for n in range(PAIRS):
        lo, hi = bootstrap_interval(r_hat[n], r_star[n], 0.95)
        covered += lo - 1e-9 <= truth[n] <= hi + 1e-9
        q_lo, q_hi = np.quantile(r_star[n], [0.025, 0.975])
        widened += not (2 * r_hat[n] - q_hi <= r_hat[n] <= 2 * r_hat[n] - q_lo)
    percentile = np.mean([(np.quantile(r_star[n], 0.025) <= truth[n] <= np.quantile(r_star[n], 0.975))
                          for n in range(PAIRS)])
    return covered / PAIRS, widened / PAIRS, percentile


def test_interval_covers_the_truth_in_simulation(cost):
    _, D = cost
    coverage, widened, percentile = _simulate(D)
    print(f"basic: coverage {coverage:.3f} (percentile interval {percentile:.3f}), widened {widened:.3f}")
    assert coverage >= 0.90
    # the shifted percentile interval is what this replaces: it covers less often
    assert coverage > percentile


def test_batched_pairs_equal_pot(cost):
    _, D = cost
    rng = np.random.default_rng(1)
    A, B = rng.dirichlet(np.ones(K), size=5).T, rng.dirichlet(np.ones(K), size=5).T
    A[0, 0] = 0.0
    A[:, 0] /= A[:, 0].sum()
    batched = debiased_uot_pairs(A, B, D, CFG.eps, CFG.tau)
    for n in range(5):
        assert batched[n] == pytest.approx(debiased_uot(A[:, n], B[:, n], D, CFG.eps, CFG.tau), abs=1e-10)
    assert debiased_uot_pairs(A, A, D, CFG.eps, CFG.tau) == pytest.approx(np.zeros(5), abs=1e-12)


def test_bootstrap_interval_by_hand():
    reps = np.linspace(0.80, 0.90, 101)  # all below the estimate: a biased statistic
    q_lo, q_hi = np.quantile(reps, [0.025, 0.975])
    assert bootstrap_interval(0.91, reps, 0.95) == pytest.approx((0.91, 2 * 0.91 - q_lo))
    # (the pivotal interval alone lies above 0.91: bootstrap_interval then widens it down to r)
    # inside the estimate's reach the interval is the plain basic interval
    lo, hi = bootstrap_interval(0.85, reps, 0.95)
    assert (lo, hi) == pytest.approx((1.7 - q_hi, 1.7 - q_lo))


def test_interval_contains_its_estimate_even_when_the_bias_carries_it_past():
    reps = np.linspace(0.80, 0.90, 101)
    for estimate in (0.70, 0.85, 0.91, 1.2):
        lo, hi = bootstrap_interval(estimate, reps, 0.95)
        assert lo <= estimate <= hi


@pytest.fixture(scope="module")
def table_inputs(cost):
    emb, _ = cost
    rng = np.random.default_rng(3)
    p = np.array([0.4, 0.3, 0.2, 0.1])
    groups = {"G": _one_hot(rng, 60, p)}
    sources = {"small": _one_hot(rng, 10, p), "large": _one_hot(rng, 50, p), "other": _one_hot(rng, 20, p[::-1])}
    return emb, groups, sources


def test_every_row_has_bias_interval_around_r_and_ceiling(table_inputs):
    emb, groups, sources = table_inputs
    rows = score_table(groups, sources, emb, n_boot=30, ceiling_splits=8)
    for r in rows:
        assert r.ci_method == "basic" and r.ci_low <= r.r <= r.ci_high
        assert r.D_bias is not None and r.D_bias > 0  # resampling reads as extra distance
        assert r.ceiling is not None and r.r_over_ceiling == pytest.approx(r.r / r.ceiling)
    cells = {r.source: r for r in rows}
    # same distribution: a smaller source scores lower, and so does its ceiling
    assert cells["small"].ceiling < cells["large"].ceiling
    assert (cells["small"].ceiling_n, cells["large"].ceiling_n) == (10, 30)  # 60 documents: 30 a half at most
    assert cells["other"].r_over_ceiling < cells["small"].r_over_ceiling


def test_ceiling_is_the_mean_split_half_score(table_inputs):
    emb, groups, sources = table_inputs
    X = groups["G"]
    (row,) = score_table(groups, {"small": sources["small"]}, emb, n_boot=0, ceiling_splits=3, seed=4)
    D = cost_matrix(emb, X)
    # the same three splits, recomputed with POT: the ceiling must be their mean r
    from workbench.alignment.scoring import _stream

    rng = _stream(4, "ceiling", "G\x0010")
    values = []
    for _ in range(3):
        perm = rng.permutation(len(X))
        values.append(debiased_uot(mean_posterior(X[perm[:10]]), mean_posterior(X[perm[10:20]]), D, 0.02, 1.0))
    assert row.ceiling == pytest.approx(float(alignment_score(np.mean(values))), abs=1e-7)  # solvers stop apart
    assert score_table(groups, sources, emb, n_boot=0, ceiling_splits=0)[0].ceiling is None


def test_equal_n_subsamples_every_source(table_inputs):
    emb, groups, sources = table_inputs
    plain = {r.source: r for r in score_table(groups, sources, emb, n_boot=0, ceiling_splits=4)}
    equal = {r.source: r for r in score_table(groups, sources, emb, n_boot=10, ceiling_splits=4, equal_n=10,
                                              equal_n_repeats=6)}
    assert {r.n_source_docs for r in equal.values()} == {10}
    assert equal["small"].D == pytest.approx(plain["small"].D)  # already 10 documents: unchanged
    assert equal["large"].D != pytest.approx(plain["large"].D)
    # at one size, the same distribution scores about the same, and shares one ceiling
    assert equal["large"].ceiling == equal["small"].ceiling == plain["small"].ceiling
    assert abs(equal["large"].r - equal["small"].r) < abs(plain["large"].r - plain["small"].r) + 0.05
    with pytest.raises(ValueError, match="fewer than equal_n"):
        score_table(groups, sources, emb, n_boot=0, equal_n=11)


def test_batched_bootstrap_equals_one_solve_per_resample():
    """The bootstrap solves all replicates in one batch per cost matrix; replicate by replicate,
    with the same draws and POT from a cold start, the bias and the interval ends are the same
    (the solves stop within tol = 1e-6 of the same fixed point: |ΔD| ~ 1e-11)."""
    from workbench.alignment.scoring import _ResampledMeans

    rng = np.random.default_rng(8)
    emb = rng.normal(size=(6, 5)) + 0.7
    groups = {"G1": rng.dirichlet(np.full(6, 0.4), size=40), "G2": rng.dirichlet(np.full(6, 0.4), size=30)}
    sources = {"m": rng.dirichlet(np.full(6, 0.3), size=25), "G1": groups["G1"],
               "n": rng.dirichlet(np.ones(6), size=12)}
    n_boot = 20
    rows = {(r.group, r.source): r for r in score_table(groups, sources, emb, n_boot=n_boot, ceiling_splits=0, seed=2)}
    g_draws = {g: _ResampledMeans([x], 2, "group", g) for g, x in groups.items()}
    s_draws = {s: _ResampledMeans([x], 2, "source", s) for s, x in sources.items()}
    reps = {cell: [] for cell in rows}
    for _ in range(n_boot):
        b = {s: d.next() for s, d in s_draws.items()}
        a = {g: d.next() for g, d in g_draws.items()}
        for g, s in reps:
            reps[(g, s)].append(debiased_uot(a[g], b[s], cost_matrix(emb, groups[g]), CFG.eps, CFG.tau))
    for cell, row in rows.items():
        assert row.D_bias == pytest.approx(np.mean(reps[cell]) - row.D, abs=1e-9)
        low, high = bootstrap_interval(row.r, alignment_score(np.array(reps[cell])), CFG.ci_level)
        assert (row.ci_low, row.ci_high) == pytest.approx((low, high), abs=1e-8)


def test_interval_mc_error_shrinks_with_more_resamples():
    from workbench.alignment.scoring import interval_mc_error

    rng = np.random.default_rng(0)
    few, many = (np.mean([interval_mc_error(rng.normal(size=n)) for _ in range(100)]) for n in (200, 3200))
    # the 2.5 % quantile of N(0, 1): SE = √(p(1−p)/B) / φ(1.96) ≈ 0.19 at B = 200, a quarter at 16×
    assert 0.19 <= few <= 0.19 * 1.4
    assert many == pytest.approx(few / 4, rel=0.2)
    (row,) = score_table({"G": np.eye(4)[[0, 1, 1, 2, 3, 3]]}, {"s": np.eye(4)[[0, 1, 2, 2, 3]]},
                         np.random.default_rng(1).normal(size=(4, 3)), n_boot=50, ceiling_splits=0)
    assert row.ci_mc_error is not None and 0 < row.ci_mc_error < row.ci_high - row.ci_low
