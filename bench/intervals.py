"""Coverage of the score table's intervals of r = (0.1 − D)·10 (App. E.4, issue 24).

Simulation. A codebook of K codes (embeddings scattered around a common direction, so costs lie
in ~[0.2, 0.6] like a text embedder's). A population is a distribution p over the codes
(Dirichlet(1)); a document draws its own code mix θ ~ Dirichlet(2·p) and 2 + Poisson(2)
expressions from θ; each expression's posterior is row z of a kernel P — ``sharp``: one-hot
(one code per expression), ``soft``: ½ on its code, ½ over its 5 nearest codes — and the
document's posterior is their mean. Each cell draws 36 group populations, and for each 6 source
populations (1 − w)·p_g + w·p_other, w ∈ {0, 0.2, …, 1} (w = 0: the same population, r = 1),
then n documents a side: 216 (group, source) pairs (36 groups × 6 sources).

``--generator heldout`` is a second document model that no interval method was chosen on:
peakier populations (Dirichlet(0.3)), documents nearer their population (θ ~ Dirichlet(5·p)),
1 + Poisson(4) expressions, and soft posteriors 0.7 on the code, 0.1 on each of its 3 nearest.
A method tuned to the first model's quirks would show it here.

Truth: the population r. Its histograms are exact, a = p_g P and b = p_s P (a document's
expected posterior); its cost matrix needs E[min(a_i, a_j)] / E[max(a_i, a_j)] over the group's
document population, taken from 20,000 simulated documents. The same from a second, independent
20,000 gives the truth's own Monte-Carlo error, printed per cell ("truth ±").

Measured: the product's functions — ``bootstrap_replicates`` (what ``score_table`` resamples,
with the default n_boot = 200, its 100 half-size and 100 quarter-size resamples) and
``cell_interval`` (what ``score_table`` makes of them, per ``ci_method``: ``simex``, the
default, ``basic-power`` and ``basic``) — and, on the same replicates, the alternatives:
percentile, basic on D², basic on the fitted D^p alone. Printed per cell: coverage of the
population r at nominal 95 %, the binomial standard error of simex's coverage (± SE; the 6
pairs of a population share its group sample, so the true error is somewhat larger), its mean
width, intervals outside r ≤ 1 (must be 0), the plug-in r's bias (mean r̂ − r) and the
bias-corrected r's of basic-power (line) and simex (quadratic), with the root-mean-square
error of each r̃ (rmse), and the share of rows whose simex bias exceeds the bootstrap spread
(where ``score`` prints r̃, labelled bias-corrected).

Run (25 min on 2 cores with ``--jobs 2`` when idle, 2026-12-05; ``--quick``: K ∈ {10, 50},
n ∈ {30, 100}, 4 populations, about a minute):
    nice -n 10 .venv/bin/python bench/intervals.py [--quick] [--jobs 2] [--populations N]
        [--docs 30,100] [--generator default|heldout]
"""
from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import summary  # noqa: E402
from workbench.config import AlignmentConfig  # noqa: E402
from workbench.alignment.cost import cosine_distance_matrix, cost_matrix  # noqa: E402
from workbench.alignment.intervals import power_basic_interval  # noqa: E402
from workbench.alignment.scoring import bootstrap_replicates, cell_interval, noise_level, rung_boot  # noqa: E402
from workbench.alignment.uot import alignment_score, debiased_uot_pairs  # noqa: E402

WEIGHTS = np.array([0.0, 0.2, 0.4, 0.6, 0.8, 1.0])
POPULATION_DOCS = 20_000
TARGET = 0.90
METHODS = ("percentile", "basic", "basic D²", "fitted p", "basic-power", "simex")
PRODUCT = "simex"  # AlignmentConfig's default ci_method: the verdict is on it


class Generator:
    """The document model (module docstring): ``default`` or ``heldout``."""

    def __init__(self, name: str):
        heldout = name == "heldout"
        self.name, self.concentration = name, 0.3 if heldout else 1.0
        self.closeness, self.expressions = (5.0, (1, 4)) if heldout else (2.0, (2, 2))
        self.own, self.near = (0.7, 3) if heldout else (0.5, 5)

    def codebook(self, K: int, rng: np.random.Generator) -> np.ndarray:
        """(K, 32) code embeddings around a shared direction: cosine distances ~0.2–0.6."""
        return rng.normal(size=(K, 32)) * 0.55 + 1.0

    def population(self, K: int, rng: np.random.Generator) -> np.ndarray:
        return rng.dirichlet(np.full(K, self.concentration))

    def posterior_kernel(self, emb: np.ndarray, kind: str) -> np.ndarray:
        """(K, K): row z is the posterior of an expression of code z (``sharp``: one-hot)."""
        K = len(emb)
        if kind == "sharp":
            return np.eye(K)
        rho = cosine_distance_matrix(emb)
        P = np.zeros((K, K))
        for i in range(K):
            near = np.argsort(rho[i])[1:1 + self.near]
            w = np.exp(-rho[i, near] / 0.05) if self.name == "default" else np.ones(self.near)
            P[i, i], P[i, near] = self.own, (1 - self.own) * w / w.sum()
        return P

    def documents(self, p: np.ndarray, P: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
        """(n, K) document posteriors of population p (see the module docstring)."""
        theta = rng.gamma(self.closeness * p + 1e-9, size=(n, len(p)))
        theta /= theta.sum(axis=1, keepdims=True)
        base, extra = self.expressions
        n_expr = base + rng.poisson(extra, size=n)
        counts = np.stack([rng.multinomial(m, t / t.sum()) for m, t in zip(n_expr, theta)])
        return counts @ P / n_expr[:, None]


def simulate_cell(K: int, n: int, kind: str, n_pop: int, generator: str = "default", seed: int = 0) -> dict:
    """Coverage and bias of every method over n_pop × 6 (group, source) pairs of one cell."""
    cfg, gen = AlignmentConfig(), Generator(generator)
    rng = np.random.default_rng([seed, K, n, kind == "soft"] + ([99] if generator == "heldout" else []))
    emb = gen.codebook(K, rng)
    P = gen.posterior_kernel(emb, kind)
    truth, truth_err, flagged, ends = [], [], [], {m: [] for m in METHODS}
    estimates = {"plug-in": [], "basic-power": [], "simex": []}
    configs = {m: cfg.model_copy(update={"ci_method": m}) for m in ("basic", "basic-power", "simex")}
    half_level, quarter_level = noise_level(n, n, 2), noise_level(n, n, 4)
    for _ in range(n_pop):
        p_g = gen.population(K, rng)
        p_s = [(1 - w) * p_g + w * gen.population(K, rng) for w in WEIGHTS]
        X_g = gen.documents(p_g, P, n, rng)
        sources = {f"s{j}": gen.documents(p, P, n, rng) for j, p in enumerate(p_s)}
        A = np.repeat((p_g @ P)[:, None], len(WEIGHTS), axis=1)
        B = np.stack([p @ P for p in p_s], axis=1)
        r_true = [alignment_score(np.maximum(debiased_uot_pairs(
            A, B, cost_matrix(emb, gen.documents(p_g, P, POPULATION_DOCS, rng)), cfg.eps, cfg.tau), 0.0))
            for _ in range(2)]
        truth.append(r_true[0])
        truth_err.append(np.abs(r_true[0] - r_true[1]))
        D, D_star, D_half, D_quarter = bootstrap_replicates({"g": X_g}, sources, emb, cfg)
        for j in range(len(WEIGHTS)):
            d, ds, dh, dq = float(D["g"][j]), D_star["g"][:, j], D_half["g"][:, j], D_quarter["g"][:, j]
            product = {m: cell_interval(d, ds, dh, c, half_level, dq, quarter_level) for m, c in configs.items()}
            estimates["plug-in"].append(alignment_score(d))
            for m in ("basic-power", "simex"):
                estimates[m].append(alignment_score(product[m].D_corrected))
            flagged.append(d - product[PRODUCT].D_corrected > np.std(ds))
            rs = alignment_score(ds)
            q_lo, q_hi = np.quantile(rs, [(1 - cfg.ci_level) / 2, (1 + cfg.ci_level) / 2])
            square = power_basic_interval(d, ds, 2.0, cfg.ci_level)
            fitted = power_basic_interval(d, ds, product["basic-power"].power, cfg.ci_level)
            for name, iv in (("percentile", (q_lo, q_hi)), ("basic D²", (square.low, square.high)),
                             ("fitted p", (fitted.low, fitted.high)),
                             *((m, (product[m].low, product[m].high)) for m in configs)):
                ends[name].append(iv)
    truth = np.concatenate(truth)
    out = {"pairs": len(truth), "truth_err": float(np.max(np.concatenate(truth_err))),
           "flagged": float(np.mean(flagged))}
    for name, values in estimates.items():
        error = np.array(values) - truth
        out[f"bias {name}"], out[f"rmse {name}"] = float(error.mean()), float(np.sqrt(np.mean(error ** 2)))
    for name, iv in ends.items():
        lo, hi = np.array(iv).T
        out[name] = float(np.mean((lo - 1e-9 <= truth) & (truth <= hi + 1e-9)))
        out[name + " width"] = float(np.mean(hi - lo))
        out[name + " outside"] = int(np.sum((hi > 1.0) | (lo > hi)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="K ∈ {10, 50}, n ∈ {30, 100}, 4 populations a cell")
    parser.add_argument("--populations", type=int, help="group populations a cell (default 36, --quick 4); "
                        "a larger number extends the same draws (the first 36 are the default run's)")
    parser.add_argument("--docs", help="documents per side to run, comma-separated (default 30,100,300)")
    parser.add_argument("--generator", choices=("default", "heldout"), default="default",
                        help="the document model (heldout: one no interval method was chosen on)")
    parser.add_argument("--jobs", type=int, default=1, help="cells simulated at once (processes)")
    args = parser.parse_args()
    Ks, ns, n_pop = ((10, 50), (30, 100), 4) if args.quick else ((10, 50, 100, 200), (30, 100, 300), 36)
    n_pop = args.populations or n_pop
    ns = tuple(int(n) for n in args.docs.split(",")) if args.docs else ns
    cfg = AlignmentConfig()  # the product's defaults: n_boot 200, ci_level 0.95, ci_method simex
    print(f"coverage of the population r at nominal {cfg.ci_level:.0%}, {cfg.n_boot} resamples "
          f"(+ {rung_boot(cfg.n_boot)} half-size, {rung_boot(cfg.n_boot)} quarter-size), ε = {cfg.eps}, τ = {cfg.tau}; "
          f"{n_pop * len(WEIGHTS)} (group, source) pairs a cell; {args.generator} document model")
    header = (f"{'kind':5} {'K':>4} {'n':>4} | " + " ".join(f"{m:>11}" for m in METHODS)
              + f" | {'± SE':>5} {'width':>6} {'bp width':>8} {'outside':>7} | {'bias r̂':>7} {'r̃ line':>7} {'r̃ quad':>7}"
              + f" {'rmse line':>9} {'rmse quad':>9} {'r̃ shown':>8} | {'truth ±':>7} {'s':>5}")
    print(header)
    print("-" * len(header))
    cells = [(kind, K, n) for kind in ("sharp", "soft") for K in Ks for n in ns]
    worst, outside, start = {m: 1.0 for m in METHODS}, 0, time.perf_counter()
    quad_better = 0
    with ProcessPoolExecutor(max_workers=max(args.jobs, 1)) as pool:
        futures = [pool.submit(_timed_cell, K, n, kind, n_pop, args.generator) for kind, K, n in cells]
        for (kind, K, n), future in zip(cells, futures):
            c, seconds = future.result()
            worst = {m: min(worst[m], c[m]) for m in METHODS}
            outside += c[PRODUCT + " outside"]
            quad_better += c["rmse simex"] <= c["rmse basic-power"]
            print(f"{kind:5} {K:>4} {n:>4} | " + " ".join(f"{c[m]:>11.3f}" for m in METHODS)
                  + f" | {np.sqrt(c[PRODUCT] * (1 - c[PRODUCT]) / c['pairs']):>5.2f}"
                    f" {c[PRODUCT + ' width']:>6.3f} {c['basic-power width']:>8.3f} {c[PRODUCT + ' outside']:>7d} | "
                    f"{c['bias plug-in']:>+7.3f} {c['bias basic-power']:>+7.3f} {c['bias simex']:>+7.3f}"
                    f" {c['rmse basic-power']:>9.3f} {c['rmse simex']:>9.3f} {c['flagged']:>8.0%} | "
                    f"{c['truth_err']:>7.4f} {seconds:>5.0f}", flush=True)
    summary("bench intervals", {"wall (s)": f"{time.perf_counter() - start:.0f}",
                                "lowest coverage of a cell": ", ".join(f"{m} {w:.3f}" for m, w in worst.items()),
                                f"{PRODUCT} intervals outside r ≤ 1": str(outside),
                                "cells where the quadratic r̃'s rmse ≤ the line's": f"{quad_better} of {len(cells)}"},
            {f"{PRODUCT} coverage ≥ {TARGET} in every cell": worst[PRODUCT] >= TARGET,
             "no interval outside r ≤ 1": outside == 0})


def _timed_cell(K: int, n: int, kind: str, n_pop: int, generator: str) -> tuple[dict, float]:
    start = time.perf_counter()
    return simulate_cell(K, n, kind, n_pop, generator), time.perf_counter() - start


if __name__ == "__main__":
    main()
