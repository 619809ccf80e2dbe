"""Coverage of the score table's intervals of r = (0.1 − D)·10 (App. E.4, issue 24).

Simulation. A codebook of K codes (embeddings scattered around a common direction, so costs lie
in ~[0.2, 0.6] like a text embedder's). A population is a distribution p over the codes
(Dirichlet(1)); a document draws its own code mix θ ~ Dirichlet(2·p) and 2 + Poisson(2)
expressions from θ; each expression's posterior is row z of a kernel P — ``sharp``: one-hot
(one code per expression), ``soft``: ½ on its code, ½ over its 5 nearest codes — and the
document's posterior is their mean. Each cell draws 12 group populations, and for each 6 source
populations (1 − w)·p_g + w·p_other, w ∈ {0, 0.2, …, 1} (w = 0: the same population, r = 1),
then n documents a side: 72 (group, source) pairs (12 groups × 6 sources).

Truth: the population r. Its histograms are exact, a = p_g P and b = p_s P (a document's
expected posterior); its cost matrix needs E[min(a_i, a_j)] / E[max(a_i, a_j)] over the group's
document population, taken from 20,000 simulated documents. The same from a second, independent
20,000 gives the truth's own Monte-Carlo error, printed per cell ("truth ±").

Measured: the product's functions — ``bootstrap_replicates`` (what ``score_table`` resamples,
with the default n_boot = 200 and its 100 half-size resamples) and ``cell_interval`` (what
``score_table`` makes of them, per ``ci_method``) — and, on the same replicates, the
alternatives: percentile, basic on D (the old default, now cut at r = 1), basic on D², basic
on the fitted D^p alone. Printed per cell: coverage of the population r at nominal 95 %, the
binomial standard error of basic-power's coverage (± SE; the 6 pairs of a population share its
group sample, so the true error is somewhat larger), its mean width, intervals outside r ≤ 1
(must be 0), the plug-in r's bias (mean r̂ − r), the bias-corrected r's (mean r̃ − r), and the
share of rows whose bias exceeds the bootstrap spread (where ``score`` prints r̃, labelled
bias-corrected).

Run (38 min on 2 cores under a load of ~20, 2026-12-04; ``--quick``: K ∈ {10, 50}, n ∈ {30, 100},
4 populations, about a minute when the machine is idle; ``--populations 36``: 216 pairs a cell,
binomial SE ≈ 0.02 at 0.90):
    nice -n 10 .venv/bin/python bench/intervals.py [--quick] [--populations N] [--docs 30,100]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import summary  # noqa: E402
from workbench.config import AlignmentConfig  # noqa: E402
from workbench.alignment.cost import cosine_distance_matrix, cost_matrix  # noqa: E402
from workbench.alignment.intervals import power_basic_interval  # noqa: E402
from workbench.alignment.scoring import bootstrap_replicates, cell_interval, half_size  # noqa: E402
from workbench.alignment.uot import alignment_score, debiased_uot_pairs  # noqa: E402

WEIGHTS = np.array([0.0, 0.2, 0.4, 0.6, 0.8, 1.0])
POPULATION_DOCS = 20_000
TARGET = 0.90
METHODS = ("percentile", "basic", "basic D²", "fitted p", "basic-power")


def codebook(K: int, rng: np.random.Generator) -> np.ndarray:
    """(K, 32) code embeddings around a shared direction: cosine distances ~0.2–0.6."""
    return rng.normal(size=(K, 32)) * 0.55 + 1.0


def posterior_kernel(emb: np.ndarray, kind: str) -> np.ndarray:
    """(K, K): row z is the posterior of an expression of code z (``sharp``: one-hot)."""
    K = len(emb)
    if kind == "sharp":
        return np.eye(K)
    rho = cosine_distance_matrix(emb)
    P = np.zeros((K, K))
    for i in range(K):
        near = np.argsort(rho[i])[1:6]
        w = np.exp(-rho[i, near] / 0.05)
        P[i, i], P[i, near] = 0.5, 0.5 * w / w.sum()
    return P


def documents(p: np.ndarray, P: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """(n, K) document posteriors of population p (see the module docstring)."""
    theta = rng.gamma(2.0 * p + 1e-9, size=(n, len(p)))
    theta /= theta.sum(axis=1, keepdims=True)
    n_expr = 2 + rng.poisson(2, size=n)
    counts = np.stack([rng.multinomial(m, t / t.sum()) for m, t in zip(n_expr, theta)])
    return counts @ P / n_expr[:, None]


def simulate_cell(K: int, n: int, kind: str, n_pop: int, cfg: AlignmentConfig, seed: int = 0) -> dict:
    """Coverage and bias of every method over n_pop × 6 (group, source) pairs of one cell."""
    rng = np.random.default_rng([seed, K, n, kind == "soft"])
    emb = codebook(K, rng)
    P = posterior_kernel(emb, kind)
    truth, truth_err, r_hat, r_corr, flagged, ends = [], [], [], [], [], {m: [] for m in METHODS}
    for _ in range(n_pop):
        p_g = rng.dirichlet(np.ones(K))
        p_s = [(1 - w) * p_g + w * rng.dirichlet(np.ones(K)) for w in WEIGHTS]
        X_g = documents(p_g, P, n, rng)
        sources = {f"s{j}": documents(p, P, n, rng) for j, p in enumerate(p_s)}
        A = np.repeat((p_g @ P)[:, None], len(WEIGHTS), axis=1)
        B = np.stack([p @ P for p in p_s], axis=1)
        r_true = [alignment_score(np.maximum(debiased_uot_pairs(
            A, B, cost_matrix(emb, documents(p_g, P, POPULATION_DOCS, rng)), cfg.eps, cfg.tau), 0.0))
            for _ in range(2)]
        truth.append(r_true[0])
        truth_err.append(np.abs(r_true[0] - r_true[1]))
        D, D_star, D_half = bootstrap_replicates({"g": X_g}, sources, emb, cfg)
        level = 1.0 + n / half_size(n)  # both sides have n documents
        for j in range(len(WEIGHTS)):
            d, ds, dh = float(D["g"][j]), D_star["g"][:, j], D_half["g"][:, j]
            product = cell_interval(d, ds, dh, cfg, level)
            r_hat.append(alignment_score(d))
            r_corr.append(alignment_score(product.D_corrected))
            flagged.append(d - product.D_corrected > np.std(ds))
            rs = alignment_score(ds)
            q_lo, q_hi = np.quantile(rs, [(1 - cfg.ci_level) / 2, (1 + cfg.ci_level) / 2])
            basic = cell_interval(d, ds, None, cfg.model_copy(update={"ci_method": "basic"}))
            square = power_basic_interval(d, ds, 2.0, cfg.ci_level)
            fitted = power_basic_interval(d, ds, product.power, cfg.ci_level)
            for name, iv in (("percentile", (q_lo, q_hi)), ("basic", (basic.low, basic.high)),
                             ("basic D²", (square.low, square.high)), ("fitted p", (fitted.low, fitted.high)),
                             ("basic-power", (product.low, product.high))):
                ends[name].append(iv)
    truth = np.concatenate(truth)
    out = {"pairs": len(truth), "truth_err": float(np.max(np.concatenate(truth_err))),
           "plugin_bias": float(np.mean(np.array(r_hat) - truth)),
           "corrected_bias": float(np.mean(np.array(r_corr) - truth)), "flagged": float(np.mean(flagged))}
    for name, iv in ends.items():
        lo, hi = np.array(iv).T
        out[name] = float(np.mean((lo - 1e-9 <= truth) & (truth <= hi + 1e-9)))
        out[name + " width"] = float(np.mean(hi - lo))
        out[name + " outside"] = int(np.sum((hi > 1.0) | (lo > hi)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="K ∈ {10, 50}, n ∈ {30, 100}, 4 populations a cell")
    parser.add_argument("--populations", type=int, help="group populations a cell (default 12, --quick 4); "
                        "a larger number extends the same draws (the first 12 are the default run's)")
    parser.add_argument("--docs", help="documents per side to run, comma-separated (default 30,100,300)")
    args = parser.parse_args()
    Ks, ns, n_pop = ((10, 50), (30, 100), 4) if args.quick else ((10, 50, 100, 200), (30, 100, 300), 12)
    n_pop = args.populations or n_pop
    ns = tuple(int(n) for n in args.docs.split(",")) if args.docs else ns
    cfg = AlignmentConfig()  # the product's defaults: n_boot 200, ci_level 0.95, ci_method basic-power
    print(f"coverage of the population r at nominal {cfg.ci_level:.0%}, {cfg.n_boot} resamples "
          f"(+ {cfg.n_boot // 2} half-size), ε = {cfg.eps}, τ = {cfg.tau}; "
          f"{n_pop * len(WEIGHTS)} (group, source) pairs a cell")
    header = (f"{'kind':5} {'K':>4} {'n':>4} | " + " ".join(f"{m:>11}" for m in METHODS)
              + f" | {'± SE':>5} {'width':>6} {'outside':>7} | {'bias r̂':>7} {'bias r̃':>7} {'r̃ shown':>8}"
              + f" | {'truth ±':>7} {'s':>5}")
    print(header)
    print("-" * len(header))
    worst, outside, start = {m: 1.0 for m in METHODS}, 0, time.perf_counter()
    for kind in ("sharp", "soft"):
        for K in Ks:
            for n in ns:
                t0 = time.perf_counter()
                c = simulate_cell(K, n, kind, n_pop, cfg)
                worst = {m: min(worst[m], c[m]) for m in METHODS}
                outside += c["basic-power outside"]
                print(f"{kind:5} {K:>4} {n:>4} | " + " ".join(f"{c[m]:>11.2f}" for m in METHODS)
                      + f" | {np.sqrt(c['basic-power'] * (1 - c['basic-power']) / c['pairs']):>5.2f}"
                        f" {c['basic-power width']:>6.3f} {c['basic-power outside']:>7d} | "
                        f"{c['plugin_bias']:>+7.3f} {c['corrected_bias']:>+7.3f} {c['flagged']:>8.0%} | "
                        f"{c['truth_err']:>7.4f} {time.perf_counter() - t0:>5.0f}", flush=True)
    summary("bench intervals", {"wall (s)": f"{time.perf_counter() - start:.0f}",
                                "lowest coverage of a cell": ", ".join(f"{m} {w:.2f}" for m, w in worst.items()),
                                "basic-power intervals outside r ≤ 1": str(outside)},
            {f"basic-power coverage ≥ {TARGET} in every cell": worst["basic-power"] >= TARGET,
             "no interval outside r ≤ 1": outside == 0})


if __name__ == "__main__":
    main()
