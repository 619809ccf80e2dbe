"""Bootstrap intervals and bias correction of the alignment score r = (0.1 − D)·10 (App. E.4).

D is the debiased UOT of Eq. 22 (cost units), ≥ 0 unless the costs lie far below ε (see
:func:`clamp_rounding`), so r ≤ 1: every interval here is computed for D ≥ 0 and reported within
r ≤ 1. Three methods (``alignment.ci_method``):

- ``basic``: the pivotal interval [2r̂ − q_hi, 2r̂ − q_lo] of the replicates r*, widened to reach
  r̂ (the behaviour before issue 24), now cut at r = 1.
- ``basic-power`` (the default before ``simex``): the same pivotal interval on the scale D^p, with p fitted per cell
  so that the bootstrap's bias is additive on that scale (joined with the one at p = 2, see
  :func:`basic_power_interval`). Why: with the paper's ε small beside the costs, debiased UOT
  behaves like a transport *distance*, homogeneous of degree ~1 in the histograms' difference;
  sampling noise then adds to it in quadrature (D̂² ≈ D² + noise), not linearly, and with
  sparse counts (many codes, few documents) it saturates (p > 2). A bootstrap on the D scale
  sees only part of the bias (resampling noise on top of noise adds less than noise on top of
  the truth), so the basic interval centred on the wrong point: it covered 0.00–0.95 of
  simulated truths at K ≥ 50, half the cells below 0.6 (bench/intervals.py). Resamples at two
  sizes give the bias at two noise levels — n documents add the sample's own noise once more,
  n/2 documents twice more — and p is the power for which D̂^p, mean(D*^p) and mean(D_half^p)
  lie on a line in the noise level (SIMEX's idea: extrapolate the noise back to zero).
- ``simex`` (default): ``basic-power`` plus a third level, resamples of n/4 documents (level 5),
  so that the bias-corrected D^p comes from SIMEX's quadratic extrapolant instead of the line
  (Cook & Stefanski 1994), and the interval is also taken around it: with sparse counts the
  resamples see less new noise per level than the sample did (a resample never leaves the
  sample's codes), so the line through levels 1–3 under-corrects; the quadratic through levels
  1, 2, 3 and 5 bends with it (see :func:`quadratic_centre`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy.optimize import brentq

from .uot import alignment_score

# p is searched in this range: 1 = bias additive on D itself (quadratic-like statistic), 2 = a
# norm-like distance, larger = saturating sparse counts (the bench's K = 200, 30 documents: p ≈ 3).
POWER_RANGE = (0.5, 8.0)


@dataclass(frozen=True)
class Interval:
    """An interval of r with the bias-corrected D it is built around.

    ``D_corrected``: the method's bias-corrected D (cost units, ≥ 0); ``low``/``high``: the
    interval of r (≤ 1); ``power``: the scale D^p of ``basic-power`` (None for ``basic``);
    ``mc_error``: Monte-Carlo error of the ends (r units, :func:`interval_mc_error`).
    """

    D_corrected: float
    low: float
    high: float
    power: float | None
    mc_error: float


def clamp_rounding(D: float | np.ndarray, tolerance: float) -> float | np.ndarray:
    """D with negatives down to −``tolerance`` set to 0: the Sinkhorn solve stops ~1e-9 (cost
    units, at tol = 1e-6) from its fixed point, so such values are rounding (they printed
    r = 1.0000000000331875). A value further below 0 raises: it is no rounding — measured when
    every cost lay below ε/3 (max 0.0056 at ε = 0.02: D = −7e-5 at tol = 1e-13 too), where the
    entropic term outweighs the transport in Eq. 4 — and the fix is a smaller ``alignment.eps``."""
    x = np.asarray(D, dtype=np.float64)
    if np.any(x < -tolerance):
        raise ValueError(f"debiased UOT came out at {float(x.min()):.3g}, below 0 by more than solver rounding "
                         f"({tolerance:.0e}): the costs are too small beside ε for Eq. 22; lower alignment.eps")
    out = np.maximum(x, 0.0)
    return float(out) if np.ndim(D) == 0 else out


def bootstrap_interval(estimate: float, replicates: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """Two-sided ``level`` basic (pivotal) bootstrap interval of r, widened to its estimate, cut at 1.

    [2r̂ − q_hi, 2r̂ − q_lo] with q the quantiles of the ``replicates`` (B,) of r: valid when r̂ − r
    and r* − r̂ have about the same distribution, so it subtracts the bootstrap bias instead of
    inheriting it as the percentile interval [q_lo, q_hi] does. When the bias exceeds the
    spread the interval lies wholly on the far side of r̂; it is then widened to reach r̂. Ends
    above r's maximum, 1, are cut to 1 (they were the bias correction overshooting D = 0).
    """
    q_lo, q_hi = np.quantile(np.asarray(replicates, dtype=np.float64), [(1 - level) / 2, (1 + level) / 2])
    low, high = min(2 * estimate - q_hi, estimate), max(2 * estimate - q_lo, estimate)
    return float(min(low, 1.0)), float(min(high, 1.0))


def bias_power(D_hat: float, D_star: np.ndarray, D_half: np.ndarray, half_level: float = 2.0) -> float:
    """The power p for which the bootstrap bias of D^p is additive in the noise level.

    ``D_hat``: the plug-in D (noise level 1: the sample's own); ``D_star`` (B,): replicates that
    resample n of n documents (level 2); ``D_half`` (B′,): replicates that resample m < n
    documents (level ``half_level`` = 1 + n/m, 3 for m = n/2). p solves
    (mean D_half^p − mean D*^p)/(half_level − 2) = mean D*^p − D̂^p, searched in
    :data:`POWER_RANGE` (first sign change from below; the nearer end when there is none).
    All D ≥ 0, cost units.
    """
    if half_level <= 2:  # the half resample is the full one (a single document a side): no second level
        return 2.0
    d, ds, dh = float(D_hat), np.asarray(D_star, dtype=np.float64), np.asarray(D_half, dtype=np.float64)

    def curvature(p: float) -> float:
        g0, g1, g2 = d ** p, np.mean(ds ** p), np.mean(dh ** p)
        scale = max(g0, g1, g2)
        return 0.0 if scale == 0 else ((g2 - g1) / (half_level - 2) - (g1 - g0)) / scale

    grid = np.linspace(*POWER_RANGE, 31)
    values = np.array([curvature(p) for p in grid])
    if not np.any(values):
        return 1.0
    for i in range(len(grid) - 1):
        if values[i] == 0:
            return float(grid[i])
        if np.sign(values[i]) != np.sign(values[i + 1]):
            return float(brentq(curvature, grid[i], grid[i + 1], xtol=1e-11))
    # concave at every p (saturated: noise barely adds) → the largest power; convex at every p → the smallest
    return float(grid[-1] if values[0] < 0 else grid[0])


def power_basic_interval(D_hat: float, D_star: np.ndarray, power: float, level: float = 0.95,
                         centre: float | None = None) -> Interval:
    """The basic bootstrap interval on the scale g = D^p, back to r (``basic-power``).

    ``centre``: the bias-corrected g̃; by default 2ĝ − mean(g*) (linear extrapolation of the
    noise level back to 0). The interval is the replicates' spread about their mean, reflected
    about g̃: [g̃ − (q_hi − ḡ*), g̃ + (ḡ* − q_lo)] (with the default centre, the basic interval
    [2ĝ − q_hi, 2ĝ − q_lo]), cut at g ≥ 0, then D = g^(1/p) and r = (0.1 − D)·10 — so r ≤ 1
    always. ``D_hat`` ≥ 0 and ``D_star`` (B,) ≥ 0, cost units.
    """
    g0, gs = float(D_hat) ** power, np.asarray(D_star, dtype=np.float64) ** power
    mean = float(gs.mean())
    centre = 2 * g0 - mean if centre is None else float(centre)
    back = lambda g: float(alignment_score(max(g, 0.0) ** (1 / power)))  # noqa: E731  g → r, decreasing
    q_lo, q_hi = np.quantile(gs, [(1 - level) / 2, (1 + level) / 2])
    return Interval(max(centre, 0.0) ** (1 / power), back(centre + mean - q_lo), back(centre + mean - q_hi), power,
                    interval_mc_error(gs, level, lambda q: back(centre + mean - q)))


def quadratic_centre(D_hat: float, ladder: list[tuple[float, np.ndarray]], power: float) -> float | None:
    """The bias-corrected g̃ = D^p at noise level 0 by SIMEX's quadratic extrapolant.

    ``ladder``: (noise level, replicates of D) pairs beyond the sample's own level 1 — the full
    resample (level 2), half-size (1 + n/m, 3 at m = n/2) and quarter-size (5 at m = n/4). A
    quadratic in the level is fitted by least squares through (1, D̂^p) and (level, mean D*^p)
    of each rung, and read at level 0 (Cook & Stefanski 1994; the linear extrapolant is
    2ĝ − mean(g*)). Why: on bench/intervals.py's simulation it lowered the bias-corrected r's
    mean error and root-mean-square error in every one of the 24 cells (the sparsest, K = 200
    with 30 documents a side: bias −0.172 → −0.071), and on a second simulation with another
    document model that no method was chosen on (``--generator heldout``), in every cell too.

    Noise only adds distance, so: the centre is at most D̂^p (the correction never raises D);
    and means that fall as the level rises are their own
    noise (few resamples, or a power at the edge of its range where D^p is one replicate's: a
    test's 15 quarter-size resamples at p = 8 put the unbounded D̃ twenty times above D̂), so
    then None is returned and the caller keeps the line, as it does when the rungs give fewer
    than three distinct levels (a single document a side). D ≥ 0, cost units; g in cost units
    to the power p.
    """
    levels = np.array([1.0] + [lv for lv, _ in ladder])
    if len(np.unique(np.round(levels, 12))) < 3:
        return None
    means = np.array([float(D_hat) ** power] + [float(np.mean(np.asarray(d, dtype=np.float64) ** power))
                                                  for _, d in ladder])
    if np.any(np.diff(means[np.argsort(levels, kind="stable")]) < 0):
        return None
    return float(min(np.polyval(np.polyfit(levels, means, 2), 0.0), means[0]))


def basic_power_interval(D_hat: float, D_star: np.ndarray, D_half: np.ndarray, half_level: float = 3.0,
                         level: float = 0.95) -> Interval:
    """``basic-power``: the hull of :func:`power_basic_interval` at the fitted p (:func:`bias_power`)
    and at p = 2, both centred by the line, around the fitted p's bias-corrected D.

    The fitted p is itself an estimate (a second difference of replicate means); p = 2 is the
    scale of a distance whose noise adds in quadrature. Taking both ends keeps the coverage where
    the fit errs (bench/intervals.py, 216 pairs a cell: the fitted p alone covered 0.83–0.99,
    p = 2 alone 0.56–1.00, the hull 0.90–1.00 with the sparsest cell at 0.898). Arguments as in
    :func:`bias_power`.
    """
    power = bias_power(D_hat, D_star, D_half, half_level)
    fitted = power_basic_interval(D_hat, D_star, power, level)
    square = power_basic_interval(D_hat, D_star, 2.0, level)
    return Interval(fitted.D_corrected, min(fitted.low, square.low), max(fitted.high, square.high), power,
                    max(fitted.mc_error, square.mc_error))


def simex_interval(D_hat: float, D_star: np.ndarray, D_half: np.ndarray, D_quarter: np.ndarray,
                   half_level: float = 3.0, quarter_level: float = 5.0, level: float = 0.95) -> Interval:
    """``simex``: :func:`basic_power_interval` joined with :func:`power_basic_interval` at the
    fitted p centred by :func:`quadratic_centre` — around the quadratic's bias-corrected D (the
    line's where no quadratic is fitted).

    The quadratic centre corrects more where counts are sparse (bench/intervals.py: 0.93–1.00,
    the sparsest cell 0.96, table in docs/deviations.md). Where the estimated bias exceeds D by
    more than the replicates' spread, every power interval collapses to r = 1 exactly — the demo
    printed [1.0000, 1.0000] beside r = 0.9740 — which claims a certainty about a correction that
    is itself an estimate; such an interval is stretched down to the plug-in r. Only then: kept
    in every interval, the plug-in r (0.67 below the truth at K = 200 with 30 documents a side)
    widened the sparse cells' intervals for no coverage (bench/intervals.py on that version:
    0.847 against 0.802 there).
    ``D_quarter`` (B″,) at ``quarter_level`` (1 + n/m, 5 at m = n/4); other arguments as in
    :func:`bias_power`.
    """
    line = basic_power_interval(D_hat, D_star, D_half, half_level, level)
    parts = [line]
    centre = quadratic_centre(D_hat, [(2.0, D_star), (half_level, D_half), (quarter_level, D_quarter)], line.power)
    if centre is not None:
        parts.insert(0, power_basic_interval(D_hat, D_star, line.power, level, centre))
    low = min(p.low for p in parts)
    if low >= 1.0:  # collapsed at r = 1
        low = min(float(alignment_score(D_hat)), 1.0)
    return Interval(parts[0].D_corrected, low, max(p.high for p in parts), line.power, max(p.mc_error for p in parts))


def basic_interval(D_hat: float, D_star: np.ndarray, level: float = 0.95) -> Interval:
    """:func:`bootstrap_interval` (``basic``) as an :class:`Interval`; D̃ = 2D̂ − mean(D*), cut at 0."""
    r_hat, r_star = float(alignment_score(D_hat)), alignment_score(np.asarray(D_star, dtype=np.float64))
    low, high = bootstrap_interval(r_hat, r_star, level)
    corrected = max(2 * float(D_hat) - float(np.mean(D_star)), 0.0)
    return Interval(corrected, low, high, None, interval_mc_error(r_star, level))


def interval_mc_error(replicates: np.ndarray, level: float = 0.95,
                      end: Callable[[float], float] | None = None) -> float:
    """Monte-Carlo standard error of an interval's ends (the larger of the two).

    An end is a monotone function ``end`` of a sample quantile q_p of the B replicates (for the
    basic interval of r, 2r̂ − q_p: the default, identity, has the same error). The share of
    replicates below q_p is binomial, with standard deviation s = √(p (1 − p) / B), so the
    quantiles at p ± s are about one standard error of q_p either side of it (the order-statistic
    bracket of Maritz–Jarrett); the end's error is half the distance between their images. On
    normal replicates this reads ~1.2× the true error: a conservative figure. Units of ``end``'s
    values (of the replicates by default).
    """
    x = np.asarray(replicates, dtype=np.float64)
    end = end or float
    errors = []
    for p in ((1 - level) / 2, (1 + level) / 2):
        s = np.sqrt(p * (1 - p) / x.size)
        low, high = np.quantile(x, [max(p - s, 0.0), min(p + s, 1.0)])
        errors.append(abs(end(high) - end(low)) / 2)
    return float(max(errors))
