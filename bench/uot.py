"""UOT benchmark: 48 debiased scores (4 groups × 12 sources) at K = 213, the paper's codebook size.

Target: ≤ 1 s for the 48 scores (no bootstrap). Run: ./run workbench … is not needed:
    .venv/bin/python bench/uot.py
"""
from __future__ import annotations

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
    summary("bench uot", {"scores": str(len(rows)), "K": str(K), "wall (s)": f"{elapsed:.3f}",
                          "per score (ms)": f"{1000 * elapsed / len(rows):.1f}",
                          "D range": f"{min(r.D for r in rows):.4f} … {max(r.D for r in rows):.4f}"},
            {"48 debiased scores ≤ 1 s": elapsed <= 1.0})


if __name__ == "__main__":
    main()
