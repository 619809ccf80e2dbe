"""UOT benchmark: 48 debiased scores (4 groups × 12 sources) at K = 213, the paper's codebook size.

Target: ≤ 1 s for the 48 scores (no bootstrap). ``--bootstrap N``: also times the same table with
N resamples under each ``alignment.ci_method`` in this one run and prints the ratios (``simex``
solves n/2- and n/4-document resamples beside the N, ``basic-power`` only the n/2 ones).
Run: ./run workbench … is not needed:
    .venv/bin/python bench/uot.py [--bootstrap 40]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import summary, synthetic_posteriors  # noqa: E402
from workbench.config import AlignmentConfig  # noqa: E402
from workbench.alignment.scoring import score_table  # noqa: E402

K, GROUPS, SOURCES, DOCS = 213, 4, 12, 800


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", type=int, default=0, help="also time N resamples under each ci_method")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    code_emb = rng.normal(size=(K, 384))
    groups = {f"G{g}": synthetic_posteriors(DOCS, K, rng) for g in range(GROUPS)}
    sources = {f"M{s}": synthetic_posteriors(DOCS, K, rng) for s in range(SOURCES)}
    config = AlignmentConfig(n_boot=0)
    score_table(groups, {"warm-up": sources["M0"]}, code_emb, config)  # imports and first-call costs
    start = time.perf_counter()
    rows = score_table(groups, sources, code_emb, config)
    elapsed = time.perf_counter() - start
    assert len(rows) == GROUPS * SOURCES
    figures = {"scores": str(len(rows)), "K": str(K), "wall (s)": f"{elapsed:.3f}",
               "per score (ms)": f"{1000 * elapsed / len(rows):.1f}",
               "D range": f"{min(r.D for r in rows):.4f} … {max(r.D for r in rows):.4f}"}
    if args.bootstrap:
        walls = {}
        for method in ("basic", "basic-power", "simex"):
            start = time.perf_counter()
            score_table(groups, sources, code_emb, AlignmentConfig(n_boot=args.bootstrap, ceiling_splits=0,
                                                                   ci_method=method))
            walls[method] = time.perf_counter() - start
        figures[f"table with {args.bootstrap} resamples (s)"] = ", ".join(f"{m} {w:.1f}" for m, w in walls.items())
        figures["simex ÷ basic-power, ÷ basic"] = (f"{walls['simex'] / walls['basic-power']:.2f}, "
                                                   f"{walls['simex'] / walls['basic']:.2f}")
    summary("bench uot", figures, {"48 debiased scores ≤ 1 s": elapsed <= 1.0})


if __name__ == "__main__":
    main()
