"""Validity statistics: value priming (App. E.3), MTMM Eqs. 5–6, predictive validity, and
reliability (Cronbach's α, coefficient of variation; App. H.1)."""
import math

import numpy as np
import pytest

from workbench.validity.correlation import pearson_r
from workbench.validity.culture_pairs import relation
from workbench.validity.mtmm import convergent_validity, discriminant_validity
from workbench.validity.predictive import predictive_validity
from workbench.validity.priming import change_ratios, priming_validity
from workbench.validity.reliability import (
    coefficient_of_variation,
    cronbach_alpha,
    mean_coefficient_of_variation,
)

CULTURES = ["KR", "JP", "CN", "US"]

# --- Pearson ----------------------------------------------------------------------------------


def test_pearson_textbook_example():
    # x̄ = 3, ȳ = 4; dx = (−2,−1,0,1,2), dy = (−2,0,1,0,1)
    # Σdxdy = 6, Σdx² = 10, Σdy² = 6 → r = 6/√60 = 0.774597
    assert pearson_r([1, 2, 3, 4, 5], [2, 4, 5, 4, 5]) == pytest.approx(6 / math.sqrt(60))


def test_pearson_drops_incomplete_pairs_and_refuses_undefined_cases():
    assert pearson_r([1, 2, np.nan, 3, 4, 5], [2, 4, 9, 5, 4, 5]) == pytest.approx(6 / math.sqrt(60))
    assert math.isnan(pearson_r([1, 1, 1, 1], [1, 2, 3, 4]))  # constant vector
    assert math.isnan(pearson_r([0.1, 0.1, 0.1], [3, 1, 2]))  # constant, float rounding-prone
    assert math.isnan(pearson_r([1, 2], [2, 1]))  # two points always give ±1


# --- value priming (Table 10a → Table 1) ------------------------------------------------------

# Table 10a, DOVE block (gpt-oss-120b): rows = persona, columns = scored group KR, JP, CN, US.
TABLE_10A_DOVE = {
    "KR": [58.43, 56.42, 48.92, 49.91],  # Korean persona
    "JP": [59.33, 57.99, 47.21, 48.80],  # Japanese
    "CN": [61.61, 54.06, 55.96, 50.03],  # Chinese
    "US": [54.93, 54.04, 44.31, 51.71],  # American
}
CONTROL_10A_DOVE = dict(zip(CULTURES, [57.02, 56.93, 46.54, 52.88]))


def test_priming_reproduces_the_papers_dove_row():
    primed = {(p, g): v for p, row in TABLE_10A_DOVE.items() for g, v in zip(CULTURES, row)}
    result = priming_validity(primed, CONTROL_10A_DOVE)
    # Table 10b, e.g. Korean persona on KR: (58.43 − 57.02)/57.02 = 2.47 % (printed 2.48 %
    # from unrounded scores); tolerance 0.02 percentage points covers the inputs' rounding.
    table_10b = {
        "KR": [2.48, -0.89, 5.12, -5.62],
        "JP": [4.06, 1.88, 1.44, -7.72],
        "CN": [8.06, -5.03, 20.25, -5.39],
        "US": [-3.66, -5.07, -4.80, -2.22],
    }
    for p, row in table_10b.items():
        for g, pct in zip(CULTURES, row):
            assert 100 * result.deltas[(p, g)] == pytest.approx(pct, abs=0.02)
    # Table 1, DOVE: Δ^g = 5.60 %, Δ^{g+} = 2.13 %, Δ^{g−} = −5.38 %
    # by hand from Table 10b: tar = (2.48 + 1.88 + 20.25 − 2.22)/4 = 5.5975
    # rel = (−0.89 + 5.12 + 4.06 + 1.44 + 8.06 − 5.03)/6 = 2.1267
    # conf = (−3.66 − 5.07 − 4.80 − 5.62 − 7.72 − 5.39)/6 = −5.3767
    assert 100 * result.delta_target == pytest.approx(5.60, abs=0.015)
    assert 100 * result.delta_relevant == pytest.approx(2.13, abs=0.015)
    assert 100 * result.delta_conflicting == pytest.approx(-5.38, abs=0.015)


def test_change_ratio_uses_absolute_control():
    # r can be negative; moving from −0.5 to −0.4 is an improvement: (−0.4 + 0.5)/0.5 = +0.2
    assert change_ratios({("KR", "KR"): -0.4}, {"KR": -0.5})[("KR", "KR")] == pytest.approx(0.2)
    assert math.isnan(change_ratios({("KR", "KR"): 0.3}, {"KR": 0.0})[("KR", "KR")])
    with pytest.raises(KeyError):
        change_ratios({("KR", "JP"): 0.3}, {"KR": 0.5})


def test_relation_of_persona_to_group():
    assert relation("CN", "CN") == "target"
    assert relation("KR", "CN") == relation("CN", "KR") == "relevant"
    assert relation("US", "JP") == relation("JP", "US") == "conflicting"
    assert relation("FR", "KR") is None


# --- MTMM -------------------------------------------------------------------------------------


def test_convergent_validity_by_hand():
    # X: 2 traits × 3 methods × 3 models
    X = np.array(
        [
            [[1, 2, 3], [2, 4, 6], [3, 2, 1]],  # trait 0: r01 = 1, r02 = −1, r12 = −1
            [[1, 2, 3], [1, 3, 2], [1, 2, 3]],  # trait 1: r01 = 0.5, r02 = 1, r12 = 0.5
        ],
        dtype=float,
    )
    # (r for trait 1, methods 0/1: dx = (−1,0,1), dy = (−1,1,0), Σdxdy = 1, norms² 2, 2 → 0.5)
    # A(M0) = mean(trait0: (1 − 1)/2 = 0, trait1: (0.5 + 1)/2 = 0.75) = 0.375
    # A(M1) = mean(trait0: (1 − 1)/2 = 0, trait1: (0.5 + 0.5)/2 = 0.5) = 0.25
    # A(M2) = mean(trait0: (−1 − 1)/2 = −1, trait1: (1 + 0.5)/2 = 0.75) = −0.125
    np.testing.assert_allclose(convergent_validity(X), [0.375, 0.25, -0.125])


def test_discriminant_validity_by_hand():
    traits = ["KR", "JP", "US"]
    X = np.zeros((3, 2, 3))
    X[:, 0] = [[1, 2, 3], [1, 3, 2], [3, 2, 1]]
    # method 0: r(KR,JP) = 0.5, r(KR,US) = −1, r(JP,US): dy = (−1,1,0), dz = (1,0,−1) → −0.5
    # B = 0.5 − (−1 − 0.5)/2 = 1.25
    X[:, 1] = [[1, 2, 3], [2, 4, 6], [5, 5, 5]]
    # method 1: US constant → both S⁻ correlations undefined → B undefined (NaN)
    B = discriminant_validity(X, traits, [("KR", "JP")], [("KR", "US"), ("JP", "US")])
    assert B[0] == pytest.approx(1.25)
    assert math.isnan(B[1])


def test_discriminant_validity_skips_only_the_undefined_pair():
    traits = ["KR", "JP", "CN", "US"]
    X = np.zeros((4, 1, 4))
    X[:, 0] = [[1, 2, 3, 4], [1, 2, 3, 4], [7, 7, 7, 7], [4, 3, 2, 1]]
    # S⁺: (KR,JP) = 1, (KR,CN) and (JP,CN) undefined → mean 1
    # S⁻: (KR,US) = −1, (JP,US) = −1, (CN,US) undefined → mean −1;  B = 1 − (−1) = 2
    assert discriminant_validity(X, traits)[0] == pytest.approx(2.0)


def test_discriminant_validity_matches_papers_goqa_value():
    # Table 8, GlobalOpinionQA scores of the 12 LLMs; Table 1 reports δ_dis(GOQA) = −2.05 %.
    # (The other methods' Table 1 values cannot be recomputed from Table 8 as printed.)
    goqa = np.array(
        [
            [49.92, 63.60, 46.05, 47.86, 44.05, 68.36, 63.50, 46.27, 68.04, 61.38, 48.19, 68.66],
            [52.60, 67.03, 48.70, 48.77, 46.14, 70.14, 67.91, 48.55, 71.95, 63.93, 49.81, 71.16],
            [44.50, 61.22, 48.81, 53.55, 46.64, 62.88, 60.87, 43.20, 64.75, 58.65, 44.35, 65.27],
            [51.24, 67.23, 48.87, 50.19, 47.67, 70.33, 70.40, 48.69, 71.44, 64.70, 49.82, 70.46],
        ]
    )
    B = discriminant_validity(goqa[:, None, :], CULTURES)
    assert 100 * B[0] == pytest.approx(-2.05, abs=0.005)


def test_mtmm_refuses_bad_shapes_and_pairs():
    with pytest.raises(ValueError):
        convergent_validity(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="not in"):
        discriminant_validity(np.zeros((2, 1, 3)), ["KR", "JP"], [("KR", "CN")], [("KR", "JP")])


# --- predictive validity ----------------------------------------------------------------------


def test_predictive_validity_by_hand():
    X = np.zeros((2, 2, 4))  # traits KR, US × 2 methods × 4 models
    X[0, 0] = [1, 2, 3, 4]
    X[1, 0] = [1, 2, 3, 4]
    X[0, 1] = [3, 3, 3, 3]  # method 1 constant on KR: r undefined
    X[1, 1] = [4, 3, 2, 1]
    perf = {
        ("KOLD", "KR"): np.array([2, 4, 6, 8]),  # r(method 0) = 1
        ("D3CODE", "KR"): np.array([4, 3, 2, 1]),  # r(method 0) = −1
        ("HateXPlain", "US"): np.array([1, 3, 2, 4]),
        # method 0 on US: dx = (−1.5,−.5,.5,1.5), dy = (−1.5,.5,−.5,1.5): Σ = 4, Σdx² = Σdy² = 5 → 0.8
        # method 1 on US: −0.8
    }
    res = predictive_validity(X, ["KR", "US"], perf)
    np.testing.assert_allclose(res.per_benchmark[("KOLD", "KR")], [1.0, np.nan])
    np.testing.assert_allclose(res.per_benchmark[("HateXPlain", "US")], [0.8, -0.8])
    np.testing.assert_allclose(res.per_group["KR"], [0.0, np.nan])  # (1 − 1)/2
    np.testing.assert_allclose(res.per_group["US"], [0.8, -0.8])
    # average over the three (benchmark, group) entries: (1 − 1 + 0.8)/3; method 1: only US
    np.testing.assert_allclose(res.average, [0.8 / 3, -0.8])


def test_predictive_validity_refuses_mismatched_models():
    with pytest.raises(ValueError, match="models"):
        predictive_validity(np.zeros((1, 1, 4)), ["KR"], {("KOLD", "KR"): np.ones(3)})


# --- reliability ------------------------------------------------------------------------------


def test_cronbach_alpha_by_hand():
    # 5 models × 3 items
    X = np.array([[2, 3, 3], [4, 4, 5], [3, 5, 4], [5, 4, 5], [1, 2, 2]], dtype=float)
    # item variances (ddof 1): (10/4, 5.2/4, 6.8/4) = (2.5, 1.3, 1.7), Σ = 5.5
    # row sums (8, 13, 12, 14, 5): mean 10.4, Σdev² = 57.2 → variance 14.3
    # α = 3/2 · (1 − 5.5/14.3) = 13.2/14.3 = 0.923077
    assert cronbach_alpha(X) == pytest.approx(13.2 / 14.3)


def test_cronbach_alpha_equals_mean_covariance_form():
    # Textbook identity: α = k c̄ / (v̄ + (k − 1) c̄), c̄ = mean inter-item covariance,
    # v̄ = mean item variance.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(12, 4)) + rng.normal(size=(12, 1))
    C = np.cov(X, rowvar=False)
    k = X.shape[1]
    c_bar = (C.sum() - np.trace(C)) / (k * (k - 1))
    v_bar = np.trace(C) / k
    assert cronbach_alpha(X) == pytest.approx(k * c_bar / (v_bar + (k - 1) * c_bar))


def test_cronbach_alpha_edge_cases():
    parallel = np.array([[1, 2, 3], [2, 3, 4], [3, 4, 5], [4, 5, 6]], dtype=float)
    assert cronbach_alpha(parallel) == pytest.approx(1.0)  # items differ by a constant only
    with_missing = np.vstack([parallel, [np.nan, 1, 1]])
    assert cronbach_alpha(with_missing) == pytest.approx(1.0)  # listwise deletion
    assert math.isnan(cronbach_alpha(np.array([[1.0, 2.0], [2.0, 1.0]])))  # constant row sums
    with pytest.raises(ValueError):
        cronbach_alpha(np.ones((4, 1)))


def test_coefficient_of_variation_by_hand():
    X = np.array([[10.0, 12.0, 14.0], [5.0, 5.0, 5.0], [-1.0, 0.0, 1.0]])
    # row 1: mean 12, s = √((4 + 0 + 4)/2) = 2 → 1/6; row 2: s = 0 → 0; row 3: mean 0 → NaN
    cv = coefficient_of_variation(X)
    assert cv[0] == pytest.approx(1 / 6)
    assert cv[1] == 0.0
    assert math.isnan(cv[2])
    assert mean_coefficient_of_variation(X) == pytest.approx((1 / 6 + 0) / 2)
    # population s (ddof 0): √(8/3) / 12
    assert coefficient_of_variation(X, ddof=0)[0] == pytest.approx(math.sqrt(8 / 3) / 12)
