"""Unbalanced optimal transport between value distributions (Sec. 3.3, App. F.3, Eq. 4/21, 22).

Histograms ``a`` (human group, p̂^g(z|C)) and ``b`` (LLM, p_θ(z|C)) are length-K vectors over
the value codes; ``D`` is the (K, K) cost matrix of ``cost.py`` in cosine-distance units; the
plan π is (K, K) with rows indexing ``a``'s codes and columns ``b``'s codes, so π_ij is the mass
moved from human code i to model code j.

The solver is POT's generalised Sinkhorn (``ot.unbalanced.sinkhorn_unbalanced`` with
``method='sinkhorn'``), which is Algorithm 2 with Gauss–Seidel instead of Jacobi updates (same
fixed point). The score is NOT POT's ``returnCost='total'``: that drops the ``+ q`` mass terms
of the generalised KL, which do not cancel in Eq. 22. It is :func:`uot_objective`, Eq. 4 written
out term by term and evaluated at the plan.
"""
from __future__ import annotations

import warnings
from contextlib import nullcontext
from functools import lru_cache
from typing import Literal

import numpy as np
import ot
from scipy.special import kl_div, xlogy

# exp(-x) underflows float64 to 0 near x = 745; keep a margin so every kernel entry is > 0.
_MAX_COST_OVER_EPS = 700.0

OnNonConvergence = Literal["raise", "warn"]
OVERRELAX = 1.6  # ω of the batched solver (uot_values); measured ~4× fewer iterations than ω = 1
CHECK_EVERY = 10  # iterations between the batched solver's stopping tests (a test costs ~ an update)


class UOTConvergenceError(RuntimeError):
    """The unbalanced Sinkhorn iteration stopped before meeting its tolerance."""


def generalized_kl(p: np.ndarray, q: np.ndarray) -> float:
    """KL(p‖q) = Σ p log(p/q) − p + q for non-negative, unnormalised vectors.

    0·log 0 = 0; a positive p_i where q_i = 0 gives +inf. Same shape in, a float out.
    """
    return float(np.sum(kl_div(np.asarray(p, float), np.asarray(q, float))))


def uot_objective(
    plan: np.ndarray, D: np.ndarray, a: np.ndarray, b: np.ndarray, eps: float, tau: float
) -> float:
    """Eq. 4/21 evaluated at a given plan (no minimisation).

    Σ_ij D_ij π_ij + ε Σ_ij π_ij (log π_ij − 1) + τ KL(π1‖a) + τ KL(πᵀ1‖b),
    with the generalised KL of :func:`generalized_kl` (mass terms included) and 0·log 0 = 0.

    Shapes: plan and D (K, K), a and b (K,). Units: those of D (cosine distance). Can be
    negative: the entropy term ε Σ π(log π − 1) is < 0 for entries below e.
    """
    plan = np.asarray(plan, dtype=np.float64)
    D, a, b = _check_inputs(a, b, D)
    if plan.shape != D.shape:
        raise ValueError(f"plan has shape {plan.shape}, cost matrix {D.shape}")
    if np.any(plan < 0) or not np.all(np.isfinite(plan)):
        raise ValueError("plan must be finite and non-negative")
    transport = float(np.sum(D * plan))
    entropy = float(np.sum(xlogy(plan, plan) - plan))
    row_kl = generalized_kl(plan.sum(axis=1), a)
    col_kl = generalized_kl(plan.sum(axis=0), b)
    return transport + eps * entropy + tau * row_kl + tau * col_kl


def uot_plan(
    a: np.ndarray, b: np.ndarray, D: np.ndarray, eps: float, tau: float, **solver
) -> np.ndarray:
    """The entropic UOT plan π* minimising Eq. 4 (Algorithm 2), via POT in float64.

    ``a``, ``b``: (K,) non-negative histograms (not renormalised here); ``D``: (K, K) costs;
    ``eps`` = ε, ``tau`` = τ, both in cost units. Returns π* (K, K). ``solver``: the keyword
    options of :func:`solve_uot` (max_iter, tol, warmstart, on_nonconvergence). Raises
    :class:`UOTConvergenceError` when the iteration cap is hit first (or warns, with
    ``on_nonconvergence='warn'``), and always on numerical breakdown.
    """
    return solve_uot(a, b, D, eps, tau, **solver)[0]


def uot_plans(
    a: np.ndarray, B: np.ndarray, D: np.ndarray, eps: float, tau: float, **solver
) -> np.ndarray:
    """Plans from one ``a`` (K,) to each column of ``B`` (K, n), solved together; (n, K, K).

    Same problem, options and stopping rule as :func:`uot_plan` (POT's multi-histogram mode
    shares the Gibbs kernel and turns the matrix-vector products into one matrix product); the
    stopping test is on the largest change over all columns.
    """
    return solve_uot_many(a, B, D, eps, tau, **solver)[0]


def uot_distance(
    a: np.ndarray, b: np.ndarray, D: np.ndarray, eps: float, tau: float, **solver
) -> float:
    """D̂_UOT(a, b): Eq. 4 evaluated at the Sinkhorn plan. Units of D; ``solver`` → uot_plan."""
    return uot_objective(uot_plan(a, b, D, eps, tau, **solver), D, a, b, eps, tau)


def debiased_uot(
    a: np.ndarray, b: np.ndarray, D: np.ndarray, eps: float, tau: float, **solver
) -> float:
    """Eq. 22: D̂(a, b) − ½ D̂(a, a) − ½ D̂(b, b). Exactly 0 for a = b; units of D."""
    return (
        uot_distance(a, b, D, eps, tau, **solver)
        - 0.5 * uot_distance(a, a, D, eps, tau, **solver)
        - 0.5 * uot_distance(b, b, D, eps, tau, **solver)
    )


def debiased_uot_pairs(
    A: np.ndarray, B: np.ndarray, D: np.ndarray, eps: float, tau: float, *, max_iter: int = 20000, tol: float = 1e-6
) -> np.ndarray:
    """Eq. 22 for each column pair (A[:, n], B[:, n]) of (K, n) histograms, all solved at once; (n,).

    D̂(a, b), D̂(a, a) and D̂(b, b) of every pair are columns of one :func:`uot_values` solve.
    """
    A, B = np.asarray(A, dtype=np.float64), np.asarray(B, dtype=np.float64)
    if A.shape != B.shape or A.ndim != 2 or A.shape[1] == 0:
        raise ValueError(f"A and B must both be (K, n) with n ≥ 1, got {A.shape} and {B.shape}")
    n = A.shape[1]
    value = uot_values(np.hstack([A, A, B]), np.hstack([B, A, B]), D, eps, tau, max_iter=max_iter, tol=tol)[0]
    return value[:n] - 0.5 * value[n:2 * n] - 0.5 * value[2 * n:]


def uot_values(
    left: np.ndarray,
    right: np.ndarray,
    D: np.ndarray,
    eps: float,
    tau: float,
    *,
    max_iter: int = 20000,
    tol: float = 1e-6,
    warmstart: tuple[np.ndarray, np.ndarray] | None = None,
    max_columns: int = 2048,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """D̂_UOT (Eq. 4 at the Sinkhorn plan) of each column pair (left[:, n], right[:, n]) of (K, n)
    histograms under one cost matrix, solved together: (values (n,), log u (K, n), log v (K, n)).

    Each column is the problem :func:`solve_uot` hands to POT — the fixed point of
    u = (a / K v)^(τ/(τ+ε)), v = (b / Kᵀ u)^(τ/(τ+ε)), from all ones or ``warmstart`` = (log u,
    log v), each (K, n) — iterated with over-relaxation (:func:`_sinkhorn_columns`) and stopped by
    POT's rule applied to that column alone. Stopped at a relative change of ``tol``, a plain
    Sinkhorn is still ~tol/(1 − fi) from its fixed point: at tol = 1e-6 POT's own value is off by
    up to ~1e-9 (cost units), the over-relaxed one by less; the two agree to that, and to 1e-12 at
    tol = 1e-10. Many problems share one loop of matrix products, which is what makes hundreds of
    bootstrap resamples cheap; ``max_columns`` bounds the columns in flight (memory
    O(K · max_columns)).

    Eq. 4 at π = diag(u) K diag(v) needs no (K, K) plan: Σ D π + ε Σ π(log π − 1) =
    ε (Σ_i r_i log u_i + Σ_j c_j log v_j − Σ r) with r, c its row and column sums, so the value is
    that plus τ KL(r‖a) + τ KL(c‖b). Raises :class:`UOTConvergenceError` when a column is not
    done after ``max_iter`` iterations, or the scalings stop being finite.
    """
    left, right = np.asarray(left, dtype=np.float64), np.asarray(right, dtype=np.float64)
    if left.shape != right.shape or left.ndim != 2 or left.shape[1] == 0:
        raise ValueError(f"left and right must both be (K, n) with n ≥ 1, got {left.shape} and {right.shape}")
    D, _, _ = _check_inputs(left[:, 0], right[:, 0], D)
    if not (np.all(np.isfinite(left)) and np.all(np.isfinite(right))) or np.any(left < 0) or np.any(right < 0):
        raise ValueError("histograms must be finite and non-negative")
    if np.any(left.sum(axis=0) <= 0) or np.any(right.sum(axis=0) <= 0):
        raise ValueError("every histogram must have positive total mass")
    _check_params(D, eps, tau)
    kernel = np.exp(-D / eps)
    fi = tau / (tau + eps)
    n = left.shape[1]
    log_u, log_v = (np.zeros_like(left), np.zeros_like(right)) if warmstart is None else (
        np.array(np.broadcast_to(warmstart[0], left.shape)), np.array(np.broadcast_to(warmstart[1], right.shape)))
    u, v, value = np.empty_like(left), np.empty_like(right), np.empty(n)
    with _single_threaded_blas(), np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for start in range(0, n, max_columns):
            cols = slice(start, min(n, start + max_columns))
            a, b = left[:, cols], right[:, cols]
            uc, vc = _sinkhorn_columns(a, b, kernel, fi, log_u[:, cols], log_v[:, cols], max_iter, tol, eps, tau)
            rows, col_sums = uc * (kernel @ vc), vc * (kernel.T @ uc)
            value[cols] = (eps * (xlogy(rows, uc).sum(axis=0) + xlogy(col_sums, vc).sum(axis=0) - rows.sum(axis=0))
                           + tau * kl_div(rows, a).sum(axis=0) + tau * kl_div(col_sums, b).sum(axis=0))
            u[:, cols], v[:, cols] = uc, vc
    return value, np.log(u + 1e-300), np.log(v + 1e-300)


def _sinkhorn_columns(a, b, kernel, fi, log_u, log_v, max_iter, tol, eps, tau) -> tuple[np.ndarray, np.ndarray]:
    """The over-relaxed Sinkhorn loop of :func:`uot_values`; (u, v) (K, n) at the end.

    log u ← (1 − ω) log u + ω · fi · (log a − log K v), and likewise v: with ω = 1 this is
    Algorithm 2; with ω = OVERRELAX it reaches the same fixed point in ~4× fewer iterations (in
    the log domain the relaxation costs no extra power). Every CHECK_EVERY iterations each column
    takes POT's stopping test (½ of the relative one-iteration changes of u and of v below
    ``tol``) and is frozen once it passes; a column whose change grew since the last test (or
    overflowed) goes back to its state at that test and on with ω = 1, whose convergence is
    guaranteed (a contraction by fi = τ/(τ+ε)).
    """
    n = a.shape[1]
    out_u, out_v = np.empty_like(a), np.empty_like(b)
    idx = np.arange(n)
    la, lb = np.log(a), np.log(b)
    zero_a, zero_b = a == 0, b == 0
    lu, lv = log_u.copy(), log_v.copy()
    lu[zero_a], lv[zero_b] = -np.inf, -np.inf
    u, v = np.exp(lu), np.exp(lv)
    omega, previous = np.full(n, OVERRELAX), np.full(n, np.inf)
    saved = lu.copy(), lv.copy()
    for it in range(1, max_iter + 1):
        u_prev, v_prev = u, v
        lu = (1 - omega) * lu + (omega * fi) * (la - np.log(kernel @ v))
        lu[zero_a] = -np.inf
        u = np.exp(lu)
        lv = (1 - omega) * lv + (omega * fi) * (lb - np.log(kernel.T @ u))
        lv[zero_b] = -np.inf
        v = np.exp(lv)
        if it % CHECK_EVERY and it != max_iter:
            continue
        finite = np.isfinite(u).all(axis=0) & np.isfinite(v).all(axis=0)
        err = np.where(finite, 0.5 * (_column_change(u_prev, u) + _column_change(v_prev, v)), np.inf)
        if np.any(~finite & (omega == 1.0)):
            raise UOTConvergenceError(f"unbalanced Sinkhorn broke down numerically (eps={eps}, tau={tau}); "
                                      "increase eps")
        bad = (~finite | (err > previous)) & (omega > 1.0)  # plain Sinkhorn (ω = 1) goes on regardless
        if bad.any():
            lu[:, bad], lv[:, bad] = saved[0][:, bad], saved[1][:, bad]
            u[:, bad], v[:, bad] = np.exp(lu[:, bad]), np.exp(lv[:, bad])
            omega[bad] = 1.0
        done, previous = (err < tol) & ~bad, np.where(bad, previous, err)
        out_u[:, idx[done]], out_v[:, idx[done]] = u[:, done], v[:, done]
        if done.all():
            return out_u, out_v
        keep = ~done
        idx, la, lb, zero_a, zero_b = idx[keep], la[:, keep], lb[:, keep], zero_a[:, keep], zero_b[:, keep]
        lu, lv, u, v, omega, previous = lu[:, keep], lv[:, keep], u[:, keep], v[:, keep], omega[keep], previous[keep]
        saved = lu.copy(), lv.copy()
    raise UOTConvergenceError(f"unbalanced Sinkhorn did not converge in {max_iter} iterations "
                              f"(eps={eps}, tau={tau}); raise max_iter or eps")


def _column_change(old: np.ndarray, new: np.ndarray) -> np.ndarray:
    """POT's relative change per column: max |new − old| / max(max |new|, max |old|, 1)."""
    scale = np.maximum(np.maximum(np.abs(new).max(axis=0), np.abs(old).max(axis=0)), 1.0)
    return np.abs(new - old).max(axis=0) / scale


def alignment_score(D: float | np.ndarray) -> float | np.ndarray:
    """App. E.4 rescaling of a debiased UOT value: r = (0.1 − D)·10 (D = 0 → r = 1, higher = closer).

    The paper's tables print r as a percentage (e.g. 55.11 for r = 0.5511).
    """
    return (0.1 - D) * 10.0


def solve_uot(
    a: np.ndarray,
    b: np.ndarray,
    D: np.ndarray,
    eps: float,
    tau: float,
    *,
    max_iter: int = 20000,
    tol: float = 1e-6,
    warmstart: tuple[np.ndarray, np.ndarray] | None = None,
    on_nonconvergence: OnNonConvergence = "raise",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`uot_plan` that also returns the log-scalings: (plan (K, K), log u (K,), log v (K,)).

    ``max_iter``/``tol``: POT's stopping rule (relative change of the scalings u, v per
    iteration). ``warmstart`` = (log u, log v) of an earlier, similar solve. Not converging
    raises :class:`UOTConvergenceError`, or warns with ``on_nonconvergence='warn'``.
    """
    D, a, b = _check_inputs(a, b, D)
    _check_params(D, eps, tau)
    # reg_type='kl' with c = 1 is the plain entropy of Eq. 4 (kernel exp(−D/ε), no a·bᵀ
    # factor) without POT's 'entropy' warning; it differs from Eq. 4's entropy by a constant
    # that changes neither the plan nor our objective (computed separately).
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        plan, log = ot.unbalanced.sinkhorn_unbalanced(
            a, b, D, reg=eps, reg_m=tau, method="sinkhorn", reg_type="kl", c=np.ones_like(D),
            warmstart=warmstart, numItermax=max_iter, stopThr=tol, log=True,
        )
    _check_log(log, caught, max_iter, tol, eps, tau, on_nonconvergence)
    return np.asarray(plan, dtype=np.float64), log["logu"], log["logv"]


def solve_uot_many(
    a: np.ndarray,
    B: np.ndarray,
    D: np.ndarray,
    eps: float,
    tau: float,
    *,
    max_iter: int = 20000,
    tol: float = 1e-6,
    warmstart: tuple[np.ndarray, np.ndarray] | None = None,
    on_nonconvergence: OnNonConvergence = "raise",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`uot_plans` that also returns the log-scalings: (plans (n, K, K), log u, log v (K, n)).

    Options as in :func:`solve_uot`; ``warmstart`` scalings are (K, n).
    """
    B = np.asarray(B, dtype=np.float64)
    if B.ndim != 2 or B.shape[1] == 0:
        raise ValueError(f"B must be (K, n) with n ≥ 1, got shape {B.shape}")
    D, a, _ = _check_inputs(a, B[:, 0], D)
    if B.shape[0] != D.shape[0]:
        raise ValueError(f"B must have {D.shape[0]} rows to match the cost matrix, got {B.shape}")
    if not np.all(np.isfinite(B)) or np.any(B < 0) or np.any(B.sum(axis=0) <= 0):
        raise ValueError("every column of B must be finite, non-negative, with positive mass")
    _check_params(D, eps, tau)
    with warnings.catch_warnings(record=True) as caught, _single_threaded_blas():
        warnings.simplefilter("always")
        # a as (K, 1): POT reshapes it only when not warm-started (POT 0.9.7).
        _, log = ot.unbalanced.sinkhorn_unbalanced(
            a[:, None], B, D, reg=eps, reg_m=tau, method="sinkhorn",
            warmstart=warmstart, numItermax=max_iter, stopThr=tol, log=True,
        )
    _check_log(log, caught, max_iter, tol, eps, tau, on_nonconvergence)
    # POT logs log(u + 1e-300); zero marginals have exactly zero scalings.
    u = np.where(a[:, None] > 0, np.exp(log["logu"]), 0.0)
    v = np.where(B > 0, np.exp(log["logv"]), 0.0)
    kernel = np.exp(-D / eps)  # the kernel POT uses in this mode (entropy, no a·bᵀ factor)
    plans = u.T[:, :, None] * kernel[None, :, :] * v.T[:, None, :]
    return plans, log["logu"], log["logv"]


@lru_cache(maxsize=1)
def _blas_controller():
    try:
        from threadpoolctl import ThreadpoolController  # installed with scikit-learn
    except ImportError:
        return None
    return ThreadpoolController()


def _single_threaded_blas():
    """A context that runs BLAS on one thread.

    A (K, K) @ (K, n) product with K ~ 200 is ~30 µs on one thread but can take ~1.5 ms with
    OpenBLAS's thread pool (hand-off overhead), which made the multi-histogram solve 50× slower.
    """
    controller = _blas_controller()
    return nullcontext() if controller is None else controller.limit(limits=1, user_api="blas")


def _check_log(log, caught, max_iter, tol, eps, tau, on_nonconvergence) -> None:
    # Only POT's breakdown warning matters; the others come from the log-cost POT computes
    # (0/0 inside its KL for empty codes), which we neither use nor trust.
    for w in caught:
        if "Numerical errors" in str(w.message):
            raise UOTConvergenceError(
                f"unbalanced Sinkhorn broke down numerically (eps={eps}, tau={tau}): "
                f"{w.message}; increase eps"
            )
    errs = log["err"]
    last = float(errs[-1]) if len(errs) else float("inf")
    if last >= tol:
        msg = (
            f"unbalanced Sinkhorn did not converge in {max_iter} iterations "
            f"(relative change {last:.2e} ≥ tol {tol:.0e}, eps={eps}, tau={tau}); "
            "raise max_iter or eps"
        )
        if on_nonconvergence == "raise":
            raise UOTConvergenceError(msg)
        warnings.warn(msg, RuntimeWarning, stacklevel=3)


def _check_params(D: np.ndarray, eps: float, tau: float) -> None:
    if not eps > 0 or not tau > 0:
        raise ValueError(f"eps and tau must be positive, got eps={eps}, tau={tau}")
    if D.size and D.max() / eps > _MAX_COST_OVER_EPS:
        raise ValueError(
            f"eps={eps} is too small for costs up to {D.max():.3g}: exp(-D/eps) underflows; "
            f"use eps ≥ {D.max() / _MAX_COST_OVER_EPS:.2g}"
        )


def _check_inputs(a, b, D) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    D = np.asarray(D, dtype=np.float64)
    if D.ndim != 2 or D.shape[0] != D.shape[1]:
        raise ValueError(f"cost matrix must be square (K, K), got shape {D.shape}")
    K = D.shape[0]
    if a.shape != (K,) or b.shape != (K,):
        raise ValueError(f"a and b must have shape ({K},), got {a.shape} and {b.shape}")
    for name, x in (("a", a), ("b", b), ("D", D)):
        if not np.all(np.isfinite(x)) or np.any(x < 0):
            raise ValueError(f"{name} must be finite and non-negative")
    if a.sum() <= 0 or b.sum() <= 0:
        raise ValueError("a and b must each have positive total mass")
    return D, a, b
