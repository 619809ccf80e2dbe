"""``workbench stability``: would another seed give the same codebook, and the same scores?

The codebook is built again with ``--seeds`` seeds (the project's ``em.seed`` and the next ones),
offline decoder and namer, auto-approve, each in its own copy of the project beside it
(``PROJECT.stability/seed-N.db``: the copies keep the project's extractions and cached embeddings,
so nothing is extracted or embedded again, and a build killed half-way resumes there). The
project's own codebook versions are left as they are. Then, for every pair of seeds:

- the adjusted Rand index of their final expression → code assignments;
- the share of codes with a one-to-one match (Hungarian pairing of centroids; a pair matches when
  its two codes' members cannot be told apart, held-out separation < ``min_separation``, the
  criterion that holds back a merge) — :mod:`workbench.codebook.stability`;

and, per (group, source) cell, the spread of the DOVE score r across seeds. The summary is stored
in the project (meta key ``stability``) and shown by the report.
"""
from __future__ import annotations

import json
import statistics
from dataclasses import asdict, dataclass, field
from itertools import combinations
from pathlib import Path

from ..build import run_build
from ..codebook.clustering import code_members
from ..codebook.refine import MIN_SEPARATION
from ..codebook.stability import assignment_agreement, match_codes
from ..llm.gateway import Gateway
from ..pipeline.corpus import load_corpus
from ..pipeline.posteriors import member_labels
from ..store import Store
from ..vocabulary import METHOD, STABILITY
from .variants import variant_project



@dataclass
class SeedBuild:
    seed: int
    path: str
    version: int
    K: int
    stop_reason: str | None


@dataclass
class StabilityReport:
    seeds: list[SeedBuild]
    pairs: list[dict]  # seed a, seed b, ARI, matched share
    score_spread: list[dict]  # group, source, r per seed, sd
    min_separation: float
    summary: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"seeds": [asdict(s) for s in self.seeds], "pairs": self.pairs, "score_spread": self.score_spread,
                "min_separation": self.min_separation, "summary": self.summary}


def _seed_project(store: Store, folder: Path, seed: int) -> tuple[Store, bool]:
    """The seed's copy of the project, and whether its build has been started in it already."""
    return variant_project(store, folder / f"seed-{seed}.db", {
        "em.seed": str(seed), "roles.decoder.provider": "offline", "roles.namer.provider": "offline"},
        "stability_origin")


def stability(store: Store, seeds: int = 3, min_separation: float = MIN_SEPARATION, show_progress: bool = True
              ) -> StabilityReport:
    """Build with ``seeds`` seeds and compare the codebooks and their score tables."""
    folder = Path(f"{store.path}.stability")
    folder.mkdir(exist_ok=True)
    first = store.config().em.seed
    builds, codebooks, scores = [], {}, {}
    for seed in range(first, first + seeds):
        copy, started = _seed_project(store, folder, seed)
        try:
            status = run_build(copy, auto_approve=True, restart=not started, show_progress=show_progress)
            codebook = copy.load_codebook(status.version)
            codebooks[seed] = codebook
            scores[seed] = {(r["group"], r["source"]): r["r"] for r in copy.load_scores(METHOD, status.version)}
            builds.append(SeedBuild(seed, str(copy.path), status.version, codebook.K, status.stop_reason))
        finally:
            copy.close()
    corpus = load_corpus(store, Gateway(store, store.config()), show_progress)
    members = {seed: [corpus.expr_emb[m] for m in code_members(member_labels(corpus, c), c.K)]
               for seed, c in codebooks.items()}
    pairs = []
    for a, b in combinations(sorted(codebooks), 2):
        ca, cb = codebooks[a], codebooks[b]
        match = match_codes(members[a], members[b], min_separation, seed=first)
        pairs.append({"seed_a": a, "seed_b": b,
                      "ari": assignment_agreement(ca.expression_ids, ca.labels, cb.expression_ids, cb.labels),
                      "matched_share": match.share, "matched": len(match.pairs), "K_a": ca.K, "K_b": cb.K})
    cells = sorted(set.intersection(*(set(s) for s in scores.values()))) if scores else []
    spread = []
    for cell in cells:
        values = [scores[s][cell] for s in sorted(scores)]
        spread.append({"group": cell[0], "source": cell[1], "r": values,
                       "sd": statistics.stdev(values) if len(values) > 1 else 0.0})
    summary = {"seeds": len(builds), "K": [b.K for b in builds],
               "mean_ari": statistics.fmean(p["ari"] for p in pairs) if pairs else None,
               "mean_matched_share": statistics.fmean(p["matched_share"] for p in pairs) if pairs else None,
               "max_score_sd": max((c["sd"] for c in spread), default=None)}
    report = StabilityReport(builds, pairs, spread, min_separation, summary)
    store.set_meta(STABILITY, json.dumps(report.as_dict()))
    return report
