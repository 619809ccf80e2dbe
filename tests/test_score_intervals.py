"""Intervals, bias, ceilings and equal-n of the score table (issue 11, items 5 and 6; issue 24 §1).

The coverage simulation knows the truth: documents are one-hot posteriors drawn from known code
distributions, so the cost matrix is the cosine distance ρ whatever the sample (no co-occurrence
discount between codes that never share a document) and the true D is Eq. 22 between the two
populations' distributions. The 200 pairs × (100 + 50 half-size + 50 quarter-size) resamples are solved in one
batch by ``debiased_uot_pairs`` (the solver the ceiling uses, checked against POT below). The
coverage over many codes and few documents is bench/intervals.py's (minutes, not a test)."""
from __future__ import annotations

import numpy as np
import pytest

from workbench.config import AlignmentConfig
from workbench.alignment.cost import cost_matrix
from workbench.alignment.intervals import (basic_power_interval, bias_power, bootstrap_interval, clamp_rounding,
                                           power_basic_interval, quadratic_centre, simex_interval)
from workbench.alignment.scoring import (bootstrap_replicates, cell_interval, mean_posterior, noise_level,
                                         resample_size, score_table)
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
    """Shares of PAIRS simulated (group, source) samples whose interval covers the true r: basic,
    basic-power, simex, percentile; and whether any power interval left r ≤ 1."""
    rng = np.random.default_rng(seed)
    p_g = rng.dirichlet(np.full(K, 2.0), size=PAIRS)
    # sources from identical (true r = 1) to unrelated distributions
    w = rng.choice([0.0, 0.3, 0.6, 1.0], size=PAIRS)[:, None]
    p_s = (1 - w) * p_g + w * rng.dirichlet(np.full(K, 2.0), size=PAIRS)
    truth = alignment_score(debiased_uot_pairs(p_g.T, p_s.T, D, CFG.eps, CFG.tau))
    a_hat = rng.multinomial(N_GROUP, p_g) / N_GROUP  # a one-hot sample's mean is its code counts
    b_hat = rng.multinomial(N_SOURCE, p_s) / N_SOURCE
    d_hat = np.maximum(debiased_uot_pairs(a_hat.T, b_hat.T, D, CFG.eps, CFG.tau), 0.0)

    def replicates(n_boot, m_group, m_source):
        # the document bootstrap of a one-hot sample: multinomial counts of its own histogram
        a = rng.multinomial(m_group, np.repeat(a_hat, n_boot, axis=0)) / m_group
        b = rng.multinomial(m_source, np.repeat(b_hat, n_boot, axis=0)) / m_source
        # tol 1e-5 (not 1e-6): the objective is stationary at the optimum, so |ΔD| stays ~1e-10
        d = debiased_uot_pairs(a.T, b.T, D, CFG.eps, CFG.tau, tol=1e-5)
        return np.maximum(d, 0.0).reshape(PAIRS, n_boot)

    d_star = replicates(N_BOOT, N_GROUP, N_SOURCE)
    d_half = replicates(N_BOOT // 2, resample_size(N_GROUP, 2), resample_size(N_SOURCE, 2))
    d_quarter = replicates(N_BOOT // 2, resample_size(N_GROUP, 4), resample_size(N_SOURCE, 4))
    half_level, quarter_level = noise_level(N_GROUP, N_SOURCE, 2), noise_level(N_GROUP, N_SOURCE, 4)
    covered = {"basic": 0, "basic-power": 0, "simex": 0, "percentile": 0}
    inside = True
    for n in range(PAIRS):
        r_star = alignment_score(d_star[n])
        power = basic_power_interval(d_hat[n], d_star[n], d_half[n], half_level)
        simex = simex_interval(d_hat[n], d_star[n], d_half[n], d_quarter[n], half_level, quarter_level)
        q_lo, q_hi = np.quantile(r_star, [0.025, 0.975])
        for name, (lo, hi) in (("basic", bootstrap_interval(alignment_score(d_hat[n]), r_star)),
                               ("basic-power", (power.low, power.high)), ("simex", (simex.low, simex.high)),
                               ("percentile", (q_lo, q_hi))):
            covered[name] += lo - 1e-9 <= truth[n] <= hi + 1e-9
        inside &= power.low <= power.high <= 1.0 and simex.low <= simex.high <= 1.0
    return {k: v / PAIRS for k, v in covered.items()}, inside


def test_interval_covers_the_truth_in_simulation(cost):
    _, D = cost
    coverage, inside = _simulate(D)
    print(f"coverage {coverage}")
    assert coverage["basic"] >= 0.90 and coverage["basic-power"] >= 0.90 and coverage["simex"] >= 0.90 and inside
    # the shifted percentile interval is what the basic interval replaced: it covers less often
    assert coverage["basic"] > coverage["percentile"]


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
    # the pivotal interval alone lies above 0.91: it is widened down to r̂, and its top (1.0175) is cut at 1
    assert 2 * 0.91 - q_lo > 1
    assert bootstrap_interval(0.91, reps, 0.95) == pytest.approx((0.91, 1.0))
    # inside the estimate's reach and r's range the interval is the plain basic interval
    lo, hi = bootstrap_interval(0.85, reps, 0.95)
    assert (lo, hi) == pytest.approx((1.7 - q_hi, 1.7 - q_lo))


def test_interval_contains_its_estimate_even_when_the_bias_carries_it_past():
    reps = np.linspace(0.80, 0.90, 101)
    for estimate in (0.70, 0.85, 0.91, 1.0):
        lo, hi = bootstrap_interval(estimate, reps, 0.95)
        assert lo <= estimate <= hi <= 1.0


def test_rounding_below_zero_is_clamped_and_a_real_negative_is_refused():
    assert clamp_rounding(-3.3e-12, 1e-7) == 0.0  # printed r = 1.0000000000331875 before
    assert alignment_score(clamp_rounding(-3.3e-12, 1e-7)) == 1.0
    assert clamp_rounding(np.array([-1e-9, 0.2]), 1e-7).tolist() == [0.0, 0.2]
    with pytest.raises(ValueError, match="lower alignment.eps"):
        clamp_rounding(np.array([0.1, -7e-5]), 1e-7)


@pytest.mark.parametrize("method", ["basic", "basic-power", "simex"])
def test_no_interval_leaves_r_range_where_the_truth_is_one(cost, method):
    """Group and source from one population (true D = 0): the old basic interval ended above 1 here."""
    emb, _ = cost
    rng = np.random.default_rng(11)
    p = np.array([0.4, 0.3, 0.2, 0.1])
    groups = {"G": _one_hot(rng, 40, p)}
    sources = {f"s{i}": _one_hot(rng, 40, p) for i in range(6)} | {"G": groups["G"]}
    rows = score_table(groups, sources, emb, n_boot=60, ceiling_splits=2, ci_method=method)
    for r in rows:
        assert r.r <= 1.0 and r.ci_low <= r.ci_high <= 1.0 and r.ceiling <= 1.0 and r.D >= 0.0
        assert r.ci_method == method
    assert any(r.ci_high == 1.0 for r in rows)  # the cut is reached, so it is what kept them in range


def test_bias_power_recovers_a_known_scale():
    """Replicates built so that D² grows by c per noise level: the fitted power is 2 and the
    bias-corrected D is the noiseless one."""
    delta, c = 0.01, 0.0004  # noise (√c = 0.02) above the signal: sparse counts
    jitter = np.linspace(-1, 1, 201) * c / 2  # mean 0: the means of D² are exact
    d_hat = np.sqrt(delta ** 2 + c)
    d_star, d_half = np.sqrt(delta ** 2 + 2 * c + jitter), np.sqrt(delta ** 2 + 3 * c + jitter)
    power = bias_power(d_hat, d_star, d_half, 3.0)
    assert power == pytest.approx(2.0, abs=0.01)
    interval = power_basic_interval(d_hat, d_star, power, 0.95)
    assert interval.D_corrected == pytest.approx(delta, rel=0.02)
    assert interval.low <= alignment_score(delta) <= interval.high <= 1.0
    # on D itself the same replicates correct only part of the bias
    assert d_hat - power_basic_interval(d_hat, d_star, 1.0).D_corrected < 0.8 * (d_hat - delta)


def test_bias_correction_moves_a_sparse_estimate_towards_the_truth():
    """60 codes, 25 one-hot documents a side, both from one population: the true r is 1, the
    plug-in r far below it. The corrected r moves up, is shown (the bias exceeds the spread),
    and the interval reaches the truth while the old basic interval does not."""
    rng = np.random.default_rng(4)
    K_sparse = 60
    emb = rng.normal(size=(K_sparse, 16)) * 0.55 + 1.0
    p = rng.dirichlet(np.ones(K_sparse))
    groups = {"G": _one_hot(rng, 25, p)}
    sources = {"same": _one_hot(rng, 25, p)}
    (power,) = score_table(groups, sources, emb, n_boot=100, ceiling_splits=0)
    (basic,) = score_table(groups, sources, emb, n_boot=100, ceiling_splits=0, ci_method="basic")
    assert power.D_bias > 0 and power.r_corrected is not None
    assert power.r < basic.r_corrected < power.r_corrected <= 1.0  # the power scale corrects more
    assert power.ci_high == 1.0 > basic.ci_high


def test_ci_method_is_validated_and_named_in_the_config_error():
    from pydantic import ValidationError

    from workbench.config import parse_config
    from workbench.errors import WorkbenchError

    assert AlignmentConfig().ci_method == "simex"
    assert AlignmentConfig(ci_method="basic").ci_method == "basic"
    with pytest.raises(ValidationError):
        AlignmentConfig(ci_method="bca")
    with pytest.raises(WorkbenchError, match=r"alignment\.ci_method: .*'basic'.*'basic-power'.*'simex'"):
        parse_config('{"alignment": {"ci_method": "percentile"}}')


def test_rows_are_cell_interval_of_the_replicates_the_bench_measures(cost):
    """bench/intervals.py measures ``bootstrap_replicates`` + ``cell_interval``: the rows are those."""
    emb, _ = cost
    rng = np.random.default_rng(6)
    groups = {"G": rng.dirichlet(np.full(K, 0.5), size=30)}
    sources = {"a": rng.dirichlet(np.full(K, 0.5), size=20), "b": rng.dirichlet(np.full(K, 0.3), size=25)}
    rows = score_table(groups, sources, emb, n_boot=40, ceiling_splits=0)
    D, D_star, D_half, D_quarter = bootstrap_replicates(groups, sources, emb, n_boot=40)
    assert D_half["G"].shape == (20, 2) and D_quarter["G"].shape == (20, 2)
    for n, row in enumerate(rows):
        half_level = 1 + (30 / resample_size(30, 2) + row.n_source_docs / resample_size(row.n_source_docs, 2)) / 2
        quarter_level = 1 + (30 / resample_size(30, 4) + row.n_source_docs / resample_size(row.n_source_docs, 4)) / 2
        assert (half_level, quarter_level) == (noise_level(30, row.n_source_docs, 2),
                                               noise_level(30, row.n_source_docs, 4))
        iv = cell_interval(D["G"][n], D_star["G"][:, n], D_half["G"][:, n], CFG, half_level,
                           D_quarter["G"][:, n], quarter_level)
        assert (row.ci_low, row.ci_high, row.D - row.D_bias, row.ci_power) == pytest.approx(
            (iv.low, iv.high, iv.D_corrected, iv.power))


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
        corrected = r.r + 10 * r.D_bias  # r of the bias-corrected D
        assert r.ci_method == "simex" and r.ci_low <= corrected <= r.ci_high <= 1.0
        assert r.D_bias is not None and r.D_bias > 0  # sampling reads as extra distance
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
    rows = {(r.group, r.source): r for r in score_table(groups, sources, emb, n_boot=n_boot, ceiling_splits=0, seed=2,
                                                         ci_method="basic")}
    g_draws = {g: _ResampledMeans([x], 2, "group", g) for g, x in groups.items()}
    s_draws = {s: _ResampledMeans([x], 2, "source", s) for s, x in sources.items()}
    reps = {cell: [] for cell in rows}
    for _ in range(n_boot):
        b = {s: d.next() for s, d in s_draws.items()}
        a = {g: d.next() for g, d in g_draws.items()}
        for g, s in reps:
            reps[(g, s)].append(debiased_uot(a[g], b[s], cost_matrix(emb, groups[g]), CFG.eps, CFG.tau))
    for cell, row in rows.items():
        # the bias-corrected D, 2D − mean(D*), is cut at 0 like D itself
        assert row.D_bias == pytest.approx(row.D - max(2 * row.D - np.mean(reps[cell]), 0.0), abs=1e-9)
        low, high = bootstrap_interval(row.r, alignment_score(np.array(reps[cell])), CFG.ci_level)
        assert (row.ci_low, row.ci_high) == pytest.approx((low, high), abs=1e-8)


def test_interval_mc_error_shrinks_with_more_resamples():
    from workbench.alignment.intervals import interval_mc_error

    rng = np.random.default_rng(0)
    few, many = (np.mean([interval_mc_error(rng.normal(size=n)) for _ in range(100)]) for n in (200, 3200))
    # the 2.5 % quantile of N(0, 1): SE = √(p(1−p)/B) / φ(1.96) ≈ 0.19 at B = 200, a quarter at 16×
    assert 0.19 <= few <= 0.19 * 1.4
    assert many == pytest.approx(few / 4, rel=0.2)
    (row,) = score_table({"G": np.eye(4)[[0, 1, 1, 2, 3, 3]]}, {"s": np.eye(4)[[0, 1, 2, 2, 3]]},
                         np.random.default_rng(1).normal(size=(4, 3)), n_boot=50, ceiling_splits=0)
    assert row.ci_mc_error is not None and 0 < row.ci_mc_error < row.ci_high - row.ci_low


def test_bias_power_without_a_second_noise_level_falls_back_to_the_square():
    from workbench.alignment.intervals import bias_power

    # one document a side: the half-size resample is the full one (level 2), so no p can be fitted
    assert bias_power(0.1, np.full(20, 0.2), np.full(20, 0.2), half_level=2.0) == 2.0


def test_quadratic_centre_reads_a_known_curve_at_level_zero():
    """Replicates whose D² means lie on g(L) = δ² + c·L − e·L² (the noise each level adds shrinks,
    as it does with sparse counts): the quadratic extrapolant returns δ² exactly, the line
    through levels 1 and 2 (2ĝ − ḡ*) stops short of it, and the interval centred by the
    quadratic holds the true r where the line's does not."""
    delta, c, e = 0.02, 0.002, 0.0001
    g = lambda L: delta ** 2 + c * L - e * L ** 2  # noqa: E731
    jitter = np.linspace(-1, 1, 201) * 1e-5  # mean 0: the means of D² are exact
    d_hat = np.sqrt(g(1))
    ladder = [(2.0, np.sqrt(g(2) + jitter)), (3.0, np.sqrt(g(3) + jitter)), (5.0, np.sqrt(g(5) + jitter))]
    assert quadratic_centre(d_hat, ladder, 2.0) == pytest.approx(delta ** 2, rel=1e-9)
    linear = 2 * g(1) - g(2)
    assert linear - delta ** 2 == pytest.approx(2 * e)  # the line leaves 2e of the bias
    quad = power_basic_interval(d_hat, ladder[0][1], 2.0, 0.95, quadratic_centre(d_hat, ladder, 2.0))
    line = power_basic_interval(d_hat, ladder[0][1], 2.0, 0.95)
    assert quad.D_corrected == pytest.approx(delta, rel=1e-6)
    assert quad.low <= alignment_score(delta) <= quad.high and not line.low <= alignment_score(delta) <= line.high


def test_quadratic_centre_needs_three_noise_levels():
    # one document a side: every resample is the sample itself's size (level 2 at every rung)
    reps = np.full(10, 0.2)
    assert quadratic_centre(0.1, [(2.0, reps), (2.0, reps), (2.0, reps)], 2.0) is None
    rising = np.full(10, 0.25)
    assert quadratic_centre(0.1, [(2.0, reps), (3.0, rising), (3.0, rising)], 2.0) is not None
    # and then simex is basic-power
    half = np.full(10, 0.25)
    line, simex = basic_power_interval(0.1, reps, half, 2.0), simex_interval(0.1, reps, half, reps, 2.0, 2.0)
    assert (simex.D_corrected, simex.high, simex.power) == (line.D_corrected, line.high, line.power)


def test_default_centre_is_the_basic_interval_on_the_power_scale():
    rng = np.random.default_rng(2)
    d_star = np.abs(rng.normal(0.1, 0.02, size=200))
    plain = power_basic_interval(0.08, d_star, 2.5)
    centred = power_basic_interval(0.08, d_star, 2.5, centre=2 * 0.08 ** 2.5 - np.mean(d_star ** 2.5))
    assert (plain.low, plain.high, plain.D_corrected) == pytest.approx((centred.low, centred.high, centred.D_corrected))


def test_simex_rows_hold_basic_power_and_draw_the_same_resamples(table_inputs):
    """simex and basic-power share the full and half-size draws (streams by role and name), so
    simex's interval, a hull that includes basic-power's two parts, contains basic-power's; its
    r̃ comes from the quadratic centre."""
    emb, groups, sources = table_inputs
    simex = score_table(groups, sources, emb, n_boot=40, ceiling_splits=0)
    power = score_table(groups, sources, emb, n_boot=40, ceiling_splits=0, ci_method="basic-power")
    D, D_star, D_half, D_quarter = bootstrap_replicates(groups, sources, emb, n_boot=40)
    quadratic = 0
    for n, (s, p) in enumerate(zip(simex, power)):
        assert (s.D, s.ci_power) == (p.D, p.ci_power)
        assert s.ci_low <= p.ci_low <= p.ci_high <= s.ci_high <= 1.0
        ladder = [(2.0, D_star["G"][:, n]), (noise_level(60, s.n_source_docs, 2), D_half["G"][:, n]),
                  (noise_level(60, s.n_source_docs, 4), D_quarter["G"][:, n])]
        centre = quadratic_centre(s.D, ladder, s.ci_power)
        quadratic += centre is not None
        if centre is None:  # means that fall with the level: the line's centre
            centre = 2 * s.D ** s.ci_power - np.mean(D_star["G"][:, n] ** s.ci_power)
        assert s.D - s.D_bias == pytest.approx(max(centre, 0.0) ** (1 / s.ci_power))
    assert quadratic >= 1  # some row is centred by the quadratic
    # basic-power draws no quarter-size resamples
    assert bootstrap_replicates(groups, sources, emb, n_boot=40, ci_method="basic-power")[3] == {}


def test_the_quadratic_centre_never_raises_d():
    """Noise only adds distance: a quadratic through rising means that bends back above the
    plug-in at level 0 is held at D̂ (D̃ ≤ D̂); means that fall as the level rises are noise,
    and the line is kept."""
    means = [0.01, 0.0101, 0.0102, 0.05]  # g = D² at levels 1, 2, 3, 5: flat, then steep
    d_hat, reps = np.sqrt(means[0]), [np.full(10, np.sqrt(m)) for m in means[1:]]
    ladder = list(zip([2.0, 3.0, 5.0], reps))
    assert np.polyval(np.polyfit([1, 2, 3, 5], means, 2), 0.0) > means[0]  # unbounded, D̃ > D̂
    assert quadratic_centre(d_hat, ladder, 2.0) == pytest.approx(means[0])
    assert simex_interval(d_hat, reps[0], reps[1], reps[2]).D_corrected == pytest.approx(d_hat)
    falling = [(2.0, np.full(10, 0.2)), (3.0, np.full(10, 0.12)), (5.0, np.full(10, 0.21))]
    assert quadratic_centre(0.1, falling, 2.0) is None
    line = basic_power_interval(0.1, falling[0][1], falling[1][1], 3.0)
    assert simex_interval(0.1, falling[0][1], falling[1][1], falling[2][1]).D_corrected == line.D_corrected


def test_simex_keeps_the_plug_in_r_where_the_power_intervals_collapse_to_one():
    """Every replicate far above D̂ with little spread: the bias-corrected D is 0 on every scale and
    each power interval is [1, 1] (the demo printed it beside r = 0.9740); simex's reaches r̂."""
    d_hat, d_star = 0.0026, np.linspace(0.0090, 0.0100, 200)
    d_half, d_quarter = np.linspace(0.0130, 0.0140, 100), np.linspace(0.0180, 0.0190, 100)
    line = basic_power_interval(d_hat, d_star, d_half, 3.0)
    assert (line.low, line.high) == (1.0, 1.0)
    simex = simex_interval(d_hat, d_star, d_half, d_quarter)
    assert simex.low == pytest.approx(alignment_score(d_hat)) and simex.high == 1.0 and simex.D_corrected == 0.0
    # an interval that has not collapsed is not stretched to a plug-in r far below it
    d_star = np.linspace(0.068, 0.072, 200)  # bias ≈ 0.02 ≫ spread, D̂ = 0.05 (r̂ = 0.5)
    biased = simex_interval(0.05, d_star, d_star + 0.016, d_star + 0.036)
    assert 1.0 > biased.low > alignment_score(0.05) + 0.2
