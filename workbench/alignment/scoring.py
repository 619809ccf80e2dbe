"""Alignment score tables: debiased UOT (Eq. 22) between human groups and document sources,
rescaled to r (App. E.4), with document-bootstrap confidence intervals.

Inputs are per-document posteriors q(z | x, C): an (N, K) array per human group (e.g. KR, JP,
CN, US) and per source (an LLM, or a held-out human split). Rows are documents, columns the K
codes of one codebook, in the order of ``code_emb``.
"""
from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from ..config import AlignmentConfig
from .cost import cost_matrix
from .intervals import Interval, basic_interval, basic_power_interval, clamp_rounding, simex_interval
from .uot import alignment_score, debiased_uot_pairs, solve_uot, solve_uot_many, uot_objective, uot_values



@dataclass(frozen=True)
class ScoreRow:
    """One (group, source) cell.

    ``D``: debiased UOT (cost units, ≥ 0: rounding below 0 is clamped; the mean over subsamples
    with ``equal_n``); ``r = (0.1 − D)·10`` ≤ 1, the plug-in score. ``D_bias``: the estimated bias
    of that D, D − D̃ with D̃ the ``ci_method``'s bias-corrected D (positive: the plug-in D
    overstates the distance by about this much); ``r_corrected``: r of D̃, given only where the
    bias exceeds the bootstrap spread (the standard deviation of the replicates), i.e. where
    the plug-in r is off by more than its own noise. ``ci_low``/``ci_high``: the ``ci_method``
    interval of r, within r ≤ 1 (:mod:`workbench.alignment.intervals`); ``ci_power``: the scale
    D^p of ``basic-power`` (None for ``basic``). ``ceiling``: the split-half r of the group's own
    documents at ``ceiling_n`` documents per half (the source's size, or fewer when the group
    has under twice that many: ``ceiling_n < n_source_docs``); ``r_over_ceiling``: r / ceiling
    (None unless ceiling > 0). Bootstrap fields are None when ``n_boot = 0``, ceiling fields
    when ``ceiling_splits = 0`` or the group has a single document. ``ci_mc_error``: the
    Monte-Carlo error of the interval ends from using ``n_boot`` resamples (r units), which
    says whether fewer resamples would do.
    """

    group: str
    source: str
    D: float
    D_bias: float | None
    r: float
    ci_low: float | None
    ci_high: float | None
    ci_method: str | None
    ceiling: float | None
    ceiling_n: int | None
    r_over_ceiling: float | None
    n_group_docs: int
    n_source_docs: int
    ci_mc_error: float | None = None
    r_corrected: float | None = None
    ci_power: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Flow:
    """Mass ``mass`` moved from human code ``i`` (``source_code``) to model code ``j``."""

    source_code: str
    target_code: str
    mass: float
    i: int
    j: int


def mean_posterior(doc_posteriors: np.ndarray) -> np.ndarray:
    """a = E_x[q(z | x, C)] over the documents, renormalised to ‖a‖₁ = 1 (Sec. 3.3).

    (N, K) → (K,). The renormalisation is a no-op when every row is a distribution; it makes
    documents with no recognised value (all-zero rows) drop out instead of shrinking the mass,
    which UOT would otherwise score as misalignment.
    """
    X = _check_docs(doc_posteriors, "document posteriors")
    return _normalise(X.mean(axis=0))


def score_table(
    groups: Mapping[str, np.ndarray],
    sources: Mapping[str, np.ndarray],
    code_emb: np.ndarray | None,
    config: AlignmentConfig | None = None,
    cost: np.ndarray | None = None,
    **overrides: Any,
) -> list[ScoreRow]:
    """Debiased UOT and r for every (group, source) pair, with bootstrap CIs and ceilings.

    ``cost``: a fixed (K, K) ground cost used for every group instead of one built from
    ``code_emb`` (which may then be None) — e.g. the no-codebook ablation, whose "codes" are
    the documents themselves and whose cost is their cosine distance.

    ``groups``: name → (N_g, K) posteriors of the human group's documents, which give both the
    reference histogram a^g and the cost matrix (``cost_from='group'``: that group's documents;
    ``'pooled'``: all groups' documents). ``sources``: name → (N_s, K) posteriors of the
    documents to score. ``code_emb``: (K, d). ``config`` (or keyword ``overrides`` of its fields:
    eps, tau, eps2, n_boot, ci_level, ci_method, seed, cost_from, ceiling_splits, equal_n,
    equal_n_repeats, max_iter, tol).

    Bootstrap: each replicate resamples, with replacement, the documents of the group and of
    the source, recomputes a and b and the full Eq. 22 (self-terms included) — but keeps the
    cost matrix fixed at the one from the full human documents, so the CI reflects which
    documents were sampled, not a changed geometry. The draws of a group or source depend only
    on (seed, its role and name), so a cell's CI does not change when other groups or sources
    are added to the table. Sampling adds histogram noise, which UOT reads as extra distance;
    the power intervals also resample half (and ``simex`` a quarter) of the documents
    (:func:`rung_boot` replicates each, their own streams) to see how that distance grows with
    the noise, and extrapolate it back to none (:func:`cell_interval`); ``D_bias`` is the
    resulting estimate of the plug-in D's bias.

    ``equal_n``: every source is scored on ``equal_n_repeats`` random subsets of ``equal_n``
    documents (drawn per source from (seed, name)) and D is their mean; bootstrap replicate k
    resamples subset k mod repeats, so the interval is
    that of a source of ``equal_n`` documents. A source with fewer documents is refused.

    Ceiling of row (g, θ): the mean over ``ceiling_splits`` random splits of D between two
    disjoint random sets of n_θ of g's documents (⌊N_g/2⌋ each if N_g < 2 n_θ), under g's cost
    matrix, as r. It is computed once per (group, n) and its draws depend on (seed, g, n) only.
    Rows come in ``groups`` × ``sources`` order.
    """
    fit = _fit(groups, sources, code_emb, _resolve_config(config, overrides), cost)
    cfg, G, costs, cost_of, subsets = fit.cfg, fit.G, fit.costs, fit.cost_of, fit.subsets
    group_names, source_names = list(G), list(subsets)
    ceilings: dict[tuple[str, int], tuple[float | None, int]] = {}
    rows = []
    for g in group_names:
        for n, s in enumerate(source_names):
            d = float(fit.D[g][n])
            r = float(alignment_score(d))
            size = len(subsets[s][0])
            bias = ci_low = ci_high = method = mc_error = corrected = power = None
            if cfg.n_boot:
                d_half, d_quarter = (fit.rungs[k][g][:, n] if g in fit.rungs[k] else None for k in (2, 4))
                ci = cell_interval(d, fit.boot[g][:, n], d_half, cfg, noise_level(len(G[g]), size, 2),
                                   d_quarter, noise_level(len(G[g]), size, 4))
                bias, method, ci_low, ci_high = d - ci.D_corrected, cfg.ci_method, ci.low, ci.high
                mc_error, power = ci.mc_error, ci.power
                if abs(bias) > float(np.std(fit.boot[g][:, n])):
                    corrected = float(alignment_score(ci.D_corrected))
            if (g, size) not in ceilings:
                ceilings[(g, size)] = _ceiling(G[g], size, costs[cost_of[g]], cfg, g)
            ceiling, half = ceilings[(g, size)]
            rows.append(ScoreRow(
                group=g, source=s, D=d, D_bias=bias, r=r, ci_low=ci_low, ci_high=ci_high, ci_method=method,
                ceiling=ceiling, ceiling_n=half if ceiling is not None else None,
                r_over_ceiling=r / ceiling if ceiling is not None and ceiling > 0 else None,
                n_group_docs=len(G[g]), n_source_docs=size, ci_mc_error=mc_error, r_corrected=corrected,
                ci_power=power))
    return rows


def cell_interval(D_hat: float, D_star: np.ndarray, D_half: np.ndarray | None, config: AlignmentConfig,
                  half_level: float = 3.0, D_quarter: np.ndarray | None = None,
                  quarter_level: float = 5.0) -> Interval:
    """The ``config.ci_method`` interval of one cell from its plug-in D (≥ 0), its replicates D*
    (B,) and, for ``basic-power``, its half-size replicates (B′,) at noise level ``half_level``
    and quarter-size ones (B″,) at ``quarter_level`` (:func:`noise_level`: 3 and 5 when m = n/2
    and n/4 on both sides). See :mod:`workbench.alignment.intervals`."""
    if config.ci_method == "basic":
        return basic_interval(D_hat, D_star, config.ci_level)
    if config.ci_method == "basic-power":
        return basic_power_interval(D_hat, D_star, D_half, half_level, config.ci_level)
    return simex_interval(D_hat, D_star, D_half, D_quarter, half_level, quarter_level, config.ci_level)


def noise_level(n_group: int, n_source: int, divisor: int) -> float:
    """The noise level of a resample of n/``divisor`` documents a side: the sample's own noise is
    level 1, and resampling m of n documents adds n/m more (averaged over the two sides)."""
    return 1.0 + (n_group / resample_size(n_group, divisor) + n_source / resample_size(n_source, divisor)) / 2


def bootstrap_replicates(
    groups: Mapping[str, np.ndarray],
    sources: Mapping[str, np.ndarray],
    code_emb: np.ndarray | None,
    config: AlignmentConfig | None = None,
    cost: np.ndarray | None = None,
    **overrides: Any,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The plug-in D and the bootstrap replicates that :func:`score_table` builds its rows from.

    Same arguments as :func:`score_table`. Returns (D, D*, D_half, D_quarter): group →
    (n_sources,) Eq. 22 values (clamped at 0, in source order), group → (n_boot, n_sources)
    replicates resampling n of n documents, and group → (:func:`rung_boot`, n_sources)
    replicates resampling half and a quarter of them (the ones :data:`RUNGS_OF` names for the
    ``ci_method``; else empty, as all are when ``n_boot = 0``). For studying interval methods
    on the product's own resamples (bench/intervals.py).
    """
    fit = _fit(groups, sources, code_emb, _resolve_config(config, overrides), cost)
    return fit.D, fit.boot, fit.rungs[2], fit.rungs[4]


@dataclass
class _Fit:
    cfg: AlignmentConfig
    G: dict[str, np.ndarray]
    costs: dict[str, np.ndarray]
    cost_of: dict[str, str]
    subsets: dict[str, list[np.ndarray]]
    D: dict[str, np.ndarray]
    boot: dict[str, np.ndarray]
    rungs: dict[int, dict[str, np.ndarray]]  # divisor (2: half, 4: quarter) → group → replicates


def _fit(groups, sources, code_emb, cfg: AlignmentConfig, cost) -> _Fit:
    """Checked inputs, cost matrices, the point estimates of Eq. 22 and their bootstrap replicates."""
    emb = np.asarray(code_emb if cost is None else np.zeros((len(cost), 1)), dtype=np.float64)
    if emb.ndim != 2:
        raise ValueError(f"code embeddings must be (K, d), got shape {emb.shape}")
    K = emb.shape[0]
    if not groups or not sources:
        raise ValueError("need at least one group and one source")
    G = {name: _check_docs(x, f"group {name!r}", K) for name, x in groups.items()}
    S = {name: _check_docs(x, f"source {name!r}", K) for name, x in sources.items()}
    for name, x in {**G, **S}.items():
        if x.sum() <= 0:
            raise ValueError(f"{name!r} has no value mass: every document posterior is zero")

    # One cost matrix per group, or one shared by all; source self-terms D̂(b, b) depend only
    # on (source, cost matrix), so they are solved once per matrix.
    if cost is not None:
        cost_of = {g: "fixed" for g in G}
        costs = {"fixed": np.asarray(cost, dtype=np.float64)}
    elif cfg.cost_from == "pooled":
        cost_of = {g: "pooled" for g in G}
        costs = {"pooled": cost_matrix(emb, np.concatenate(list(G.values())), cfg.eps2)}
    else:
        cost_of = {g: g for g in G}
        costs = {g: cost_matrix(emb, x, cfg.eps2) for g, x in G.items()}
    terms = {key: _Terms(D, cfg) for key, D in costs.items()}

    group_names, source_names = list(G), list(S)
    subsets = {s: _source_subsets(S[s], cfg, s) for s in source_names}
    a_full = {g: mean_posterior(G[g]) for g in group_names}
    values, warm = _mean_over_subsets(terms, cost_of, a_full, subsets, source_names)

    values = {g: clamp_rounding(v, _rounding(cfg)) for g, v in values.items()}
    boot, rungs = {}, {divisor: {} for divisor in RUNGS}
    if cfg.n_boot:
        boot = _bootstrap(costs, cost_of, G, subsets, cfg, warm, cfg.n_boot)
        rungs.update({divisor: _bootstrap(costs, cost_of, G, subsets, cfg, warm, rung_boot(cfg.n_boot), divisor)
                      for divisor in RUNGS_OF[cfg.ci_method]})
    # replicates are cut at D = 0 like the estimates (r ≤ 1); the estimates' check already tested
    # the configuration (costs against ε), so a replicate does not fail the table
    return _Fit(cfg, G, costs, cost_of, subsets, values, {g: np.maximum(b, 0.0) for g, b in boot.items()},
                {k: {g: np.maximum(b, 0.0) for g, b in r.items()} for k, r in rungs.items()})


# The extra noise levels of the power intervals: resamples of n/divisor documents, named for
# their streams, and the ones each ``ci_method`` draws
RUNGS = {2: "half", 4: "quarter"}
RUNGS_OF = {"basic": (), "basic-power": (2,), "simex": (2, 4)}


def rung_boot(n_boot: int) -> int:
    """Resamples of n/2 and of n/4 documents the power intervals draw beside ``n_boot`` full
    ones: only their mean is used (to fit the power and the quadratic centre), so half as many
    do (a quarter as many at n/4 left the bias-corrected r noisier with 10 codes, in a comparison
    not kept in the repository)."""
    return max(n_boot // 2, 1)


def _rounding(cfg: AlignmentConfig) -> float:
    """How far below 0 a solved D may fall from rounding: a tenth of the Sinkhorn tolerance (the
    solves stop ~1e-9 cost units from the fixed point at tol = 1e-6)."""
    return 0.1 * cfg.tol


def top_flows(
    plan: np.ndarray, code_names: Sequence[str], k: int = 10, *, include_diagonal: bool = True
) -> list[Flow]:
    """The ``k`` largest entries of a (K, K) plan as flows i → j, largest first.

    Rows of the plan are the human group's codes, columns the model's (``uot_plan(a, b, …)``).
    ``include_diagonal=False`` keeps only mass that changes code, which is where misalignment
    shows. Ties are broken by (i, j) so the order is deterministic.
    """
    P = np.asarray(plan, dtype=np.float64)
    if P.ndim != 2 or P.shape[0] != P.shape[1] or P.shape[0] != len(code_names):
        raise ValueError(f"plan {P.shape} does not match {len(code_names)} code names")
    if k < 0:
        raise ValueError("k must be ≥ 0")
    masses = P.copy()
    if not include_diagonal:
        np.fill_diagonal(masses, -np.inf)
    flat = masses.ravel()
    order = np.lexsort((np.arange(flat.size), -flat))[: min(k, flat.size)]
    flows = []
    for idx in order:
        if not np.isfinite(flat[idx]):
            break
        i, j = divmod(int(idx), P.shape[1])
        flows.append(Flow(code_names[i], code_names[j], float(P[i, j]), i, j))
    return flows


@dataclass
class _Debiased:
    by_group: dict[str, np.ndarray]  # group → (n_sources,) Eq. 22 values
    warm: dict[tuple, tuple]  # potentials of the solves, to warm-start similar problems


def _debiased(terms, cost_of, a_by_group, B, warm, keep_warm) -> _Debiased:
    """Eq. 22 for every group against every column of B (K, n_sources).

    D̂(a_g, b_s) for all s is one multi-histogram solve per group; D̂(a_g, a_g) one solve per
    group; D̂(b_s, b_s) one solve per source and cost matrix. ``warm`` holds the potentials of
    the full-data solves, which start a bootstrap replicate close to its fixed point.
    """
    warm = warm or {}
    new_warm: dict[tuple, tuple] = {}
    self_b = {}
    previous = None
    for key in dict.fromkeys(cost_of[g] for g in a_by_group):
        vals = []
        for n in range(B.shape[1]):
            # Without its own warm start, start from the same source under the previous cost
            # matrix: the groups' matrices differ only by the co-occurrence discount.
            start = warm.get(("b", key, n)) or new_warm.get(("b", previous, n))
            value, pot = terms[key].self_term(B[:, n], start)
            vals.append(value)
            new_warm[("b", key, n)] = pot
        self_b[key] = np.asarray(vals)
        previous = key
    by_group = {}
    for g, a in a_by_group.items():
        key = cost_of[g]
        self_a, pot_a = terms[key].self_term(a, warm.get(("a", g)))
        cross, pot_x = terms[key].cross(a, B, warm.get(("x", g)))
        new_warm[("a", g)], new_warm[("x", g)] = pot_a, pot_x
        by_group[g] = cross - 0.5 * self_a - 0.5 * self_b[key]
    return _Debiased(by_group, new_warm if keep_warm else {})


class _Terms:
    """The UOT terms D̂(·, ·) of Eq. 22 under one cost matrix and config."""

    def __init__(self, D: np.ndarray, cfg: AlignmentConfig):
        self.D, self.cfg = D, cfg

    def self_term(self, x, warm):
        c = self.cfg
        plan, logu, logv = solve_uot(
            x, x, self.D, c.eps, c.tau, max_iter=c.max_iter, tol=c.tol, warmstart=warm
        )
        return uot_objective(plan, self.D, x, x, c.eps, c.tau), (logu, logv)

    def cross(self, a, B, warm):
        c = self.cfg
        plans, logu, logv = solve_uot_many(
            a, B, self.D, c.eps, c.tau, max_iter=c.max_iter, tol=c.tol, warmstart=warm
        )
        values = np.array(
            [uot_objective(plans[n], self.D, a, B[:, n], c.eps, c.tau) for n in range(B.shape[1])]
        )
        return values, (logu, logv)


def _bootstrap(costs, cost_of, G, subsets, cfg: AlignmentConfig, warm, n_boot: int,
               divisor: int = 1) -> dict[str, np.ndarray]:
    """Eq. 22 of every bootstrap replicate: group → (n_boot, n_sources).

    ``divisor``: resample :func:`resample_size` (n/divisor) of n documents instead of n (from
    their own streams), for ``basic-power``'s further noise levels (:data:`RUNGS`).

    Replicate k draws, per source and then per group, the same documents as one replicate at a
    time would (the streams of :class:`_ResampledMeans`); every term of every replicate under a
    cost matrix is one column of a single :func:`uot_values` solve — the cross terms D̂(a*, b*),
    the group self-terms D̂(a*, a*) and the source self-terms D̂(b*, b*), the last shared by the
    groups of that matrix — each warm-started from the potentials of its point-estimate solve.
    Each column stops by the single solve's own rule, so the statistic is unchanged.
    """
    source_names = list(subsets)
    n_src, K = len(source_names), next(iter(G.values())).shape[1]
    g_draws = {g: _ResampledMeans([G[g]], cfg.seed, "group", g, divisor) for g in G}
    s_draws = {s: _ResampledMeans(subsets[s], cfg.seed, "source", s, divisor) for s in source_names}
    A, B = {g: np.empty((K, n_boot)) for g in G}, np.empty((K, n_src, n_boot))
    for k in range(n_boot):
        for n, s in enumerate(source_names):
            B[:, n, k] = s_draws[s].next()
        for g in G:
            A[g][:, k] = g_draws[g].next()
    B_cols = B.reshape(K, n_src * n_boot)  # column n·n_boot + k: source n, replicate k
    per_source = lambda x: np.repeat(x, n_boot, axis=1)  # noqa: E731  (K, n_src) → one column per replicate
    boot = {}
    for key in dict.fromkeys(cost_of.values()):
        groups = [g for g in G if cost_of[g] == key]
        left = [B_cols] + [np.tile(A[g], n_src) for g in groups] + [A[g] for g in groups]
        right = [B_cols] + [B_cols for _ in groups] + [A[g] for g in groups]
        b_warm = [np.stack([warm[("b", key, n)][i] for n in range(n_src)], axis=1) for i in (0, 1)]
        logu = [per_source(b_warm[0])] + [per_source(warm[("x", g)][0]) for g in groups] + [
            np.repeat(warm[("a", g)][0][:, None], n_boot, axis=1) for g in groups]
        logv = [per_source(b_warm[1])] + [per_source(warm[("x", g)][1]) for g in groups] + [
            np.repeat(warm[("a", g)][1][:, None], n_boot, axis=1) for g in groups]
        values = uot_values(np.hstack(left), np.hstack(right), costs[key], cfg.eps, cfg.tau, max_iter=cfg.max_iter,
                            tol=cfg.tol, warmstart=(np.hstack(logu), np.hstack(logv)))[0]
        cells = n_src * n_boot
        self_b = values[:cells].reshape(n_src, n_boot)
        for i, g in enumerate(groups):
            cross = values[cells * (i + 1):cells * (i + 2)].reshape(n_src, n_boot)
            self_a = values[cells * (len(groups) + 1) + i * n_boot:cells * (len(groups) + 1) + (i + 1) * n_boot]
            boot[g] = (cross - 0.5 * self_a[None, :] - 0.5 * self_b).T
    return boot


def _mean_over_subsets(terms, cost_of, a_by_group, subsets, source_names):
    """Eq. 22 per group × source averaged over the sources' subsets (one each without
    ``equal_n``); also the potentials of the first solve, to warm-start the bootstrap."""
    repeats = max(len(subsets[s]) for s in source_names)
    total: dict[str, np.ndarray] = {}
    warm = None
    for k in range(repeats):
        B = np.stack([mean_posterior(subsets[s][k % len(subsets[s])]) for s in source_names], axis=1)
        result = _debiased(terms, cost_of, a_by_group, B, warm=warm, keep_warm=warm is None)
        warm = warm or result.warm
        for g, v in result.by_group.items():
            total[g] = total.get(g, 0.0) + v
    return {g: v / repeats for g, v in total.items()}, warm


def _source_subsets(X: np.ndarray, cfg: AlignmentConfig, name: str) -> list[np.ndarray]:
    """The document sets a source is scored on: itself, or ``equal_n_repeats`` random subsets
    of ``equal_n`` documents (one when that is all of them)."""
    n = cfg.equal_n
    if n is None or n == len(X):
        return [X]
    if n > len(X):
        raise ValueError(f"source {name!r} has {len(X)} documents, fewer than equal_n = {n}")
    rng = _stream(cfg.seed, "equal-n", name)
    return [X[np.sort(rng.choice(len(X), size=n, replace=False))] for _ in range(cfg.equal_n_repeats)]


def _ceiling(X: np.ndarray, n: int, D: np.ndarray, cfg: AlignmentConfig, name: str) -> tuple[float | None, int]:
    """(r of the group against itself at n documents a side, documents per half); see
    :func:`score_table`. None when there are no splits to average. All splits are solved in
    one batch."""
    half = min(n, len(X) // 2)
    if not cfg.ceiling_splits or half < 1:
        return None, half
    rng = _stream(cfg.seed, "ceiling", f"{name}\x00{half}")
    firsts, seconds = [], []
    for _ in range(cfg.ceiling_splits):
        perm = rng.permutation(len(X))
        first, second = X[perm[:half]].sum(axis=0), X[perm[half:2 * half]].sum(axis=0)
        if first.sum() > 0 and second.sum() > 0:  # a half of only empty documents has no histogram
            firsts.append(first / first.sum())
            seconds.append(second / second.sum())
    if not firsts:
        return None, half
    values = clamp_rounding(debiased_uot_pairs(np.stack(firsts, axis=1), np.stack(seconds, axis=1), D, cfg.eps,
                                               cfg.tau, max_iter=cfg.max_iter, tol=cfg.tol), _rounding(cfg))
    return float(alignment_score(values.mean())), half


class _ResampledMeans:
    """Bootstrap means of document sets, from a stream seeded by (seed, role, name): draw k
    resamples set k mod len(sets) (one set, or a source's equal-n subsets)."""

    def __init__(self, sets: list[np.ndarray], seed: int, role: str, name: str, divisor: int = 1):
        self.sets, self.k, self.divisor = sets, 0, divisor
        self.rng = _stream(seed, f"{role}-{RUNGS[divisor]}" if divisor > 1 else role, name)

    def next(self) -> np.ndarray:
        X = self.sets[self.k % len(self.sets)]
        self.k += 1
        N = X.shape[0]
        m = resample_size(N, self.divisor)
        while True:  # ends: at least one document has mass (checked in score_table)
            counts = np.bincount(self.rng.integers(0, N, size=m), minlength=N)
            mean = counts @ X / m
            # A replicate of only empty documents has no histogram; redraw (conditioning on
            # ≥ 1 non-empty document) rather than substitute the full-sample mean.
            if mean.sum() > 0:
                return _normalise(mean)


def resample_size(n: int, divisor: int) -> int:
    """Documents a resample of n/``divisor`` of n draws (n itself at divisor 1)."""
    return max(1, round(n / divisor))


def _stream(seed: int, role: str, name: str) -> np.random.Generator:
    """A random stream that depends only on (seed, role, name)."""
    digest = hashlib.sha256(f"{role}\x00{name}".encode()).digest()
    return np.random.default_rng([seed, int.from_bytes(digest[:8], "little")])


def _resolve_config(config: AlignmentConfig | None, overrides: dict[str, Any]) -> AlignmentConfig:
    base = config or AlignmentConfig()
    if not overrides:
        return base
    return AlignmentConfig.model_validate({**base.model_dump(), **overrides})


def _check_docs(x: np.ndarray, what: str, K: int | None = None) -> np.ndarray:
    X = np.asarray(x, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] == 0:
        raise ValueError(f"{what} must be (N, K) with N ≥ 1, got shape {X.shape}")
    if K is not None and X.shape[1] != K:
        raise ValueError(f"{what} has {X.shape[1]} codes, the codebook has {K}")
    if not np.all(np.isfinite(X)) or np.any(X < 0):
        raise ValueError(f"{what} must be finite and non-negative")
    return X


def _normalise(x: np.ndarray) -> np.ndarray:
    total = x.sum()
    if total <= 0:
        raise ValueError("a histogram with zero total mass cannot be scored")
    return x / total
