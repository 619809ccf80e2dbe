"""Hyper-parameters of the distributional value metric (Sec. 3.3, App. F.3), validated once."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class AlignmentConfig(BaseModel):
    """Settings for Eq. 4/21 (UOT), Eq. 22 (debiasing) and the bootstrap around them.

    The paper gives no values for ε, τ or ε₂, so these defaults are ours:

    - ``eps = 0.02``. Costs are cosine distances times a co-occurrence discount ≤ 1, so for
      text-embedding codebooks they lie in about [0, 0.5]; a near and a far code differ by
      about 0.1–0.3, i.e. 5–15 ε, so the Gibbs kernel exp(−D/ε) still tells them apart, and
      max(D)/ε ≤ 25 is far from float64 underflow (700), so plain Sinkhorn is exact. Eq. 4's
      entropy is w.r.t. the counting measure, so the blur grows with K: on synthetic
      codebooks with costs in [0.2, 0.42], a plan row spreads over ~3 / 26 / 33 codes at
      K = 10 / 213 / 300 with total mass within 2–5 % of 1, whereas ε = 0.05 spreads it over
      54–70 codes with +10 % mass at K ≥ 213 (drifting towards the uninformative product
      plan) and ε = 0.01 is sharper but needs ~2× the iterations (the contraction factor is
      γ = τ/(τ+ε)). 48 debiased scores at K = 213 take ~0.6 s with ε = 0.02.
    - ``tau = 1.0``. τ is in cost units (one nat of marginal KL costs τ). τ = 1 is 2–10× the
      typical cost, so most mass is transported rather than created or destroyed, yet a code
      one side never uses is not forced onto the other side at any price (balanced OT, τ → ∞).
    - ``eps2 = 1e-8``. Only guards 0/0 in the co-occurrence ratio for codes no human document
      uses; it must stay far below the mean posterior of a used code (≥ 1/N).
    - ``n_boot = 200`` bootstrap resamples (~0.5–1 s each for a 4 × 12 table at K = 213),
      ``ci_level = 0.95``, ``seed = 0``.
    - ``ci_method = "basic-power"``: the paper reports no intervals, so this is ours (the field
      records it in every stored row). The plug-in D is biased upwards by sampling noise, and
      with many codes and few documents by far more than its spread; the basic (pivotal)
      interval on D corrects the bias the resamples show, but they show only part of it (a
      transport distance adds noise in quadrature, and saturates with sparse counts), so it
      covered 0.00–0.96 of simulated truths at K ≥ 50 (half the cells below 0.6).
      ``basic-power`` takes the basic interval on the scale D^p where the bias is additive, p
      fitted per cell from a second set of ``n_boot // 2`` resamples of half the documents
      (:mod:`workbench.alignment.intervals`): ≥ 0.90 in 22 of the 24 cells of
      bench/intervals.py (0.88 and 0.89 in the other two), for ~1.5× the bootstrap's time. ``basic`` is the
      old interval (widened to reach r̂), now cut at r = 1 like every interval.
    - ``ceiling_splits = 10`` random split-halves per (group, size) for the row's ceiling: r
      depends on how many documents each side has, so each row also reports the r two disjoint
      random sets of the group's own documents reach at the source's size (0 = no ceiling).
    - ``equal_n = None``: score every source on its own documents. An integer n subsamples every
      source to n documents ``equal_n_repeats = 10`` times and averages, so r is comparable
      across sources of different sizes.
    - ``cost_from = "group"``: each human group's cost matrix uses that group's own documents
      (the paper's E over p̂^g(x)); ``"pooled"`` uses all human groups' documents together, so
      every group is scored on one geometry.
    - ``max_iter``/``tol`` are the Sinkhorn stopping rule (POT's relative change of the
      scalings u, v per iteration). The objective is stationary at the optimum, so its error
      is second order: tol = 1e-6 leaves |ΔD| ≈ 1e-11 (measured against tol = 1e-12). A run
      that hits ``max_iter`` raises instead of returning a rough plan.
    """

    model_config = ConfigDict(extra="forbid")

    eps: float = Field(0.02, gt=0, description="ε: entropic regularisation of Eq. 4, cost units")
    tau: float = Field(1.0, gt=0, description="τ (γ in Eq. 4): marginal KL penalty, cost units")
    eps2: float = Field(1e-8, gt=0, description="ε₂: guard in the co-occurrence discount of D")
    n_boot: int = Field(200, ge=0, description="bootstrap resamples of documents; 0 = no CI")
    ci_level: float = Field(0.95, gt=0, lt=1, description="two-sided CI level")
    ci_method: Literal["basic", "basic-power"] = Field(
        "basic-power", description="bootstrap interval: basic-power (basic on the D^p scale, p fitted) or basic")
    ceiling_splits: int = Field(10, ge=0, description="random split-halves averaged per ceiling; 0 = none")
    equal_n: int | None = Field(None, ge=2, description="subsample every source to this many documents")
    equal_n_repeats: int = Field(10, ge=1, description="subsamples averaged with equal_n")
    seed: int = Field(0, ge=0, description="bootstrap seed; same inputs and seed give the same CI")
    cost_from: Literal["group", "pooled"] = Field(
        "group", description="human documents that define the cost matrix of a group"
    )
    max_iter: int = Field(20000, ge=1, description="Sinkhorn iteration cap")
    tol: float = Field(1e-6, gt=0, description="Sinkhorn stopping threshold (relative change)")
