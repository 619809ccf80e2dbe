"""UOT objective (Eq. 4/21), solver (Algorithm 2 via POT), debiasing (Eq. 22), score (App. E.4)."""
import math
import warnings

import numpy as np
import pytest

from workbench.alignment.cost import cosine_distance_matrix
from workbench.alignment.uot import (
    UOTConvergenceError,
    alignment_score,
    debiased_uot,
    generalized_kl,
    uot_distance,
    uot_objective,
    uot_plan,
    uot_plans,
)


def algorithm2(a, b, D, eps, tau, T=200000, eps0=1e-12, eps1=1e-13):
    """Algorithm 2 exactly as printed (App. F.3): Jacobi updates, both from the previous
    iterate, stopping on the relative sup-norm change. A reference for POT, tests only."""
    K = np.exp(-D / eps)
    gamma = tau / (tau + eps)
    u = np.ones_like(a)
    v = np.ones_like(b)
    for _ in range(T):
        u_new = (a / (K @ v)) ** gamma
        v_new = (b / (K.T @ u)) ** gamma
        change = max(
            np.max(np.abs(u_new - u)) / (np.max(np.abs(u)) + eps0),
            np.max(np.abs(v_new - v)) / (np.max(np.abs(v)) + eps0),
        )
        u, v = u_new, v_new
        if change <= eps1:
            break
    else:
        raise AssertionError("reference Algorithm 2 did not converge")
    return u[:, None] * K * v[None, :]


# --- the objective at a fixed plan, independent of any solver ---------------------------------


def test_objective_k2_matches_hand_computation():
    a = np.array([0.6, 0.4])
    b = np.array([0.5, 0.5])
    D = np.array([[0.0, 0.3], [0.3, 0.0]])
    plan = np.array([[0.4, 0.1], [0.05, 0.35]])
    eps, tau = 0.1, 1.0
    # transport: 0.3*0.1 + 0.3*0.05 = 0.045
    transport = 0.3 * 0.1 + 0.3 * 0.05
    # entropy: Σ π(ln π − 1)
    #   0.4 (ln 0.4 − 1)  = 0.4  * (−0.916291 − 1) = −0.766516
    #   0.1 (ln 0.1 − 1)  = 0.1  * (−2.302585 − 1) = −0.330259
    #   0.05(ln 0.05 − 1) = 0.05 * (−2.995732 − 1) = −0.199787
    #   0.35(ln 0.35 − 1) = 0.35 * (−1.049822 − 1) = −0.717438   sum = −2.013999
    entropy = sum(p * (math.log(p) - 1) for p in (0.4, 0.1, 0.05, 0.35))
    # rows π1 = (0.5, 0.4) vs a = (0.6, 0.4):
    #   0.5 ln(0.5/0.6) − 0.5 + 0.6 + 0.4 ln 1 − 0.4 + 0.4 = −0.091161 + 0.1 = 0.008839
    row_kl = 0.5 * math.log(0.5 / 0.6) - 0.5 + 0.6
    # columns πᵀ1 = (0.45, 0.45) vs b = (0.5, 0.5):
    #   2 (0.45 ln 0.9 − 0.45 + 0.5) = 2 (−0.047412 + 0.05) = 0.005175
    col_kl = 2 * (0.45 * math.log(0.9) - 0.45 + 0.5)
    expected = transport + eps * entropy + tau * row_kl + tau * col_kl
    # 0.045 − 0.2014 + 0.008839 + 0.005175 = −0.142386
    assert expected == pytest.approx(-0.142386, abs=1e-6)
    assert uot_objective(plan, D, a, b, eps, tau) == pytest.approx(expected, rel=1e-12)


def test_objective_k3_with_zero_entries_uses_0log0_and_mass_terms():
    a = np.array([0.5, 0.3, 0.2])
    b = np.array([0.2, 0.3, 0.5])
    D = np.array([[0.0, 0.1, 0.4], [0.1, 0.0, 0.2], [0.4, 0.2, 0.0]])
    plan = np.array([[0.2, 0.0, 0.3], [0.0, 0.3, 0.0], [0.0, 0.0, 0.1]])
    eps, tau = 0.05, 2.0
    # transport: 0.4*0.3 = 0.12 (zero entries contribute nothing)
    # entropy over the non-zero entries only (0 log 0 = 0):
    #   0.2(ln0.2−1) + 0.3(ln0.3−1) + 0.3(ln0.3−1) + 0.1(ln0.1−1)
    #   = −0.521888 − 0.661191 − 0.661191 − 0.330259 = −2.174529
    entropy = 0.2 * (math.log(0.2) - 1) + 2 * 0.3 * (math.log(0.3) - 1) + 0.1 * (math.log(0.1) - 1)
    # rows (0.5, 0.3, 0.1) vs a (0.5, 0.3, 0.2): only code 3 differs:
    #   0.1 ln(0.1/0.2) − 0.1 + 0.2 = −0.069315 + 0.1 = 0.030685
    row_kl = 0.1 * math.log(0.5) - 0.1 + 0.2
    # columns (0.2, 0.3, 0.4) vs b (0.2, 0.3, 0.5): 0.4 ln 0.8 − 0.4 + 0.5 = 0.010743
    col_kl = 0.4 * math.log(0.8) - 0.4 + 0.5
    expected = 0.12 + eps * entropy + tau * (row_kl + col_kl)
    assert expected == pytest.approx(0.12 - 0.108726 + 2 * 0.041428, abs=1e-6)
    assert uot_objective(plan, D, a, b, eps, tau) == pytest.approx(expected, rel=1e-12)


def test_empty_plan_pays_the_full_mass_terms():
    # π = 0: every term but the KL mass terms vanishes; KL(0‖a) = Σ a = 1, so τ(1 + 1) = 2τ.
    # A KL without the "+ q" terms (POT's returnCost='total' style) would give 0 here.
    a = np.array([0.7, 0.3])
    b = np.array([0.5, 0.5])
    D = np.array([[0.0, 0.2], [0.2, 0.0]])
    assert uot_objective(np.zeros((2, 2)), D, a, b, eps=0.1, tau=1.5) == pytest.approx(3.0)


def test_generalized_kl_by_hand():
    # 0.2 ln 2 − 0.2 + 0.1 + 0.3 ln 0.5 − 0.3 + 0.6 = 0.138629 − 0.1 − 0.207944 + 0.3 = 0.130685
    assert generalized_kl([0.2, 0.3], [0.1, 0.6]) == pytest.approx(0.130685, abs=1e-6)
    assert generalized_kl([0.0, 0.5], [0.25, 0.5]) == pytest.approx(0.25)  # 0 log 0 = 0, + q
    assert generalized_kl([0.1, 0.5], [0.0, 0.5]) == math.inf


def test_objective_rejects_bad_plans():
    D = np.zeros((2, 2))
    a = b = np.array([0.5, 0.5])
    with pytest.raises(ValueError):
        uot_objective(-np.ones((2, 2)), D, a, b, 0.1, 1.0)
    with pytest.raises(ValueError):
        uot_objective(np.ones((3, 3)), D, a, b, 0.1, 1.0)


# --- the minimum of Eq. 4 in a case with a closed form ----------------------------------------


def _decoupled_value(x, y, eps, tau):
    """min_p ε p(ln p − 1) + τ(p ln(p/x) − p + x) + τ(p ln(p/y) − p + y).

    Setting the derivative ε ln p + τ ln(p/x) + τ ln(p/y) to 0 gives
    p* = (x y)^(τ / (ε + 2τ)).
    """
    p = (x * y) ** (tau / (eps + 2 * tau))
    return (
        eps * p * (math.log(p) - 1)
        + tau * (p * math.log(p / x) - p + x)
        + tau * (p * math.log(p / y) - p + y)
    )


@pytest.mark.parametrize(
    "a, b",
    [
        ([0.8, 0.2], [0.2, 0.8]),  # K = 2
        ([0.5, 0.3, 0.2], [0.2, 0.3, 0.5]),  # K = 3
    ],
)
def test_uot_and_debiased_equal_closed_form_when_moves_are_prohibitive(a, b):
    # Off-diagonal cost 30 with ε = 0.5: kernel entries e^−60 ≈ 1e−26, so no mass moves and
    # Eq. 4 splits into one 1-D problem per code, solved in closed form by _decoupled_value.
    a, b = np.array(a), np.array(b)
    K = len(a)
    D = np.full((K, K), 30.0)
    np.fill_diagonal(D, 0.0)
    eps, tau = 0.5, 1.0
    s = tau / (eps + 2 * tau)  # = 0.4
    plan = uot_plan(a, b, D, eps, tau, tol=1e-12)
    np.testing.assert_allclose(np.diag(plan), (a * b) ** s, rtol=1e-9)
    # e.g. code 1 of the K = 3 case: (0.5 * 0.2)^0.4 = 0.1^0.4 = e^(−0.921034) = 0.398107
    if K == 3:
        assert plan[0, 0] == pytest.approx(0.398107, abs=1e-6)
    d_ab = sum(_decoupled_value(x, y, eps, tau) for x, y in zip(a, b))
    d_aa = sum(_decoupled_value(x, x, eps, tau) for x in a)
    d_bb = sum(_decoupled_value(y, y, eps, tau) for y in b)
    assert uot_distance(a, b, D, eps, tau, tol=1e-12) == pytest.approx(d_ab, abs=1e-10)
    expected = d_ab - 0.5 * d_aa - 0.5 * d_bb  # Eq. 22
    assert debiased_uot(a, b, D, eps, tau, tol=1e-12) == pytest.approx(expected, abs=1e-10)
    assert expected > 0


# --- solver -----------------------------------------------------------------------------------


def test_pot_plan_matches_hand_rolled_algorithm2():
    rng = np.random.default_rng(3)
    K = 5
    emb = rng.normal(size=(K, 4))
    D = cosine_distance_matrix(emb)
    a = rng.dirichlet(np.ones(K))
    b = rng.dirichlet(np.ones(K))
    eps, tau = 0.05, 1.0
    reference = algorithm2(a, b, D, eps, tau)
    plan = uot_plan(a, b, D, eps, tau, tol=1e-13, max_iter=200000)
    np.testing.assert_allclose(plan, reference, rtol=1e-8, atol=1e-14)


def test_batched_plans_equal_single_plans():
    rng = np.random.default_rng(4)
    K = 6
    D = cosine_distance_matrix(rng.normal(size=(K, 3)))
    a = rng.dirichlet(np.ones(K))
    B = rng.dirichlet(np.ones(K), size=3).T
    B[2, 1] = 0.0  # a code one source never uses
    B[:, 1] /= B[:, 1].sum()
    plans = uot_plans(a, B, D, 0.05, 1.0, tol=1e-12)
    for n in range(3):
        single = uot_plan(a, B[:, n], D, 0.05, 1.0, tol=1e-12)
        np.testing.assert_allclose(plans[n], single, rtol=1e-8, atol=1e-15)
    assert np.all(plans[1][:, 2] == 0.0)


def test_zero_marginal_gets_no_mass_and_finite_objective():
    a = np.array([0.5, 0.5, 0.0])
    b = np.array([0.3, 0.3, 0.4])
    D = cosine_distance_matrix(np.array([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0]]))
    plan = uot_plan(a, b, D, 0.05, 1.0)
    assert np.all(plan[2] == 0.0)
    assert math.isfinite(uot_objective(plan, D, a, b, 0.05, 1.0))


def test_non_convergence_raises_or_warns():
    rng = np.random.default_rng(5)
    D = cosine_distance_matrix(rng.normal(size=(4, 3)))
    a = rng.dirichlet(np.ones(4))
    b = rng.dirichlet(np.ones(4))
    with pytest.raises(UOTConvergenceError, match="did not converge in 3 iterations"):
        uot_plan(a, b, D, 0.01, 1.0, max_iter=3)
    with pytest.warns(RuntimeWarning, match="did not converge"):
        uot_plan(a, b, D, 0.01, 1.0, max_iter=3, on_nonconvergence="warn")


def test_too_small_eps_is_refused_before_underflow():
    D = np.array([[0.0, 1.0], [1.0, 0.0]])
    a = b = np.array([0.5, 0.5])
    with pytest.raises(ValueError, match="too small"):
        uot_plan(a, b, D, eps=1e-3, tau=1.0)


def test_invalid_histograms_are_refused():
    D = np.zeros((2, 2))
    with pytest.raises(ValueError):
        uot_plan(np.array([0.5, -0.5]), np.array([0.5, 0.5]), D, 0.1, 1.0)
    with pytest.raises(ValueError):
        uot_plan(np.zeros(2), np.array([0.5, 0.5]), D, 0.1, 1.0)
    with pytest.raises(ValueError):
        uot_plan(np.array([0.5, 0.5]), np.array([1.0]), D, 0.1, 1.0)


def test_no_solver_warnings_leak_for_sparse_histograms():
    a = np.array([0.5, 0.5, 0.0, 0.0])
    b = np.array([0.0, 0.5, 0.5, 0.0])
    D = cosine_distance_matrix(np.eye(4) + 0.1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        debiased_uot(a, b, D, 0.02, 1.0)


# --- debiasing and geometry -------------------------------------------------------------------


def test_identical_distributions_score_zero():
    rng = np.random.default_rng(6)
    D = cosine_distance_matrix(rng.normal(size=(8, 5)))
    a = rng.dirichlet(np.ones(8))
    assert debiased_uot(a, a.copy(), D, 0.02, 1.0) == pytest.approx(0.0, abs=1e-12)


def test_debiased_is_symmetric_for_symmetric_costs():
    rng = np.random.default_rng(7)
    D = cosine_distance_matrix(rng.normal(size=(6, 5)))
    a, b = rng.dirichlet(np.ones(6)), rng.dirichlet(np.ones(6))
    assert debiased_uot(a, b, D, 0.02, 1.0) == pytest.approx(debiased_uot(b, a, D, 0.02, 1.0), abs=1e-10)


def test_moving_mass_to_a_far_code_costs_more_than_to_a_near_one():
    # c1 is 20° from c0, c2 is 90° from c0: ρ01 = 1 − cos 20° = 0.0603, ρ02 = 1.
    deg = np.deg2rad([0.0, 20.0, 90.0])
    D = cosine_distance_matrix(np.stack([np.cos(deg), np.sin(deg)], axis=1))
    assert D[0, 1] == pytest.approx(1 - math.cos(math.radians(20)))
    a = np.array([0.6, 0.2, 0.2])
    near = np.array([0.4, 0.4, 0.2])  # 0.2 moved c0 → c1
    far = np.array([0.4, 0.2, 0.4])  # 0.2 moved c0 → c2
    d_near = debiased_uot(a, near, D, 0.02, 1.0)
    d_far = debiased_uot(a, far, D, 0.02, 1.0)
    assert 0 < d_near < d_far


# --- App. E.4 rescaling -----------------------------------------------------------------------


def test_alignment_score_rescaling():
    assert alignment_score(0.0) == pytest.approx(1.0)
    assert alignment_score(0.1) == pytest.approx(0.0)
    assert alignment_score(0.045) == pytest.approx(0.55)  # (0.1 − 0.045)·10
    np.testing.assert_allclose(alignment_score(np.array([0.02, 0.12])), [0.8, -0.2])


def test_uot_values_equal_one_pot_solve_per_column():
    """Columns solved together (over-relaxed, in chunks, warm-started or not) reach POT's fixed
    point: equal to ~1e-9 at the default tol (POT's own stopping error), to 1e-12 when tight."""
    from workbench.alignment.uot import solve_uot, uot_values

    rng = np.random.default_rng(4)
    emb = rng.normal(size=(15, 4))
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    D = np.clip(1 - emb @ emb.T, 0, None) * 0.4
    L, R = rng.dirichlet(np.full(15, 0.3), size=9).T, rng.dirichlet(np.full(15, 0.3), size=9).T
    L[:4, 0] = 0.0
    L[:, 0] /= L[:, 0].sum()
    values, logu, logv = uot_values(L, R, D, 0.02, 1.0, max_columns=4)
    tight = uot_values(L, R, D, 0.02, 1.0, tol=1e-10)[0]
    R2 = np.abs(R + rng.normal(scale=0.003, size=R.shape))
    warm = uot_values(L, R2, D, 0.02, 1.0, warmstart=(logu, logv))[0]
    for n in range(9):
        plan = solve_uot(L[:, n], R[:, n], D, 0.02, 1.0)[0]
        assert values[n] == pytest.approx(uot_objective(plan, D, L[:, n], R[:, n], 0.02, 1.0), abs=2e-9)
        plan = solve_uot(L[:, n], R[:, n], D, 0.02, 1.0, tol=1e-10)[0]
        assert tight[n] == pytest.approx(uot_objective(plan, D, L[:, n], R[:, n], 0.02, 1.0), abs=1e-12)
        plan = solve_uot(L[:, n], R2[:, n], D, 0.02, 1.0, warmstart=(logu[:, n], logv[:, n]))[0]
        assert warm[n] == pytest.approx(uot_objective(plan, D, L[:, n], R2[:, n], 0.02, 1.0), abs=2e-9)
    with pytest.raises(UOTConvergenceError):
        uot_values(L, R, D, 0.02, 1.0, max_iter=3)
