"""``workbench reliability``: the reliability runs of Sec. 4.3 / Table 12, produced from the project.

- **sampling reliability**: the score table on the full set and on ``splits`` random halves of the
  topics (every document of a chosen topic, human and model alike; documents without a topic are
  in every half) — does the score depend on which topics were sampled?
- **test–retest**: the paper re-generates each model's documents three times. Without an endpoint
  the workbench re-draws each model's stored documents with replacement ``splits`` times (a
  bootstrap *stand-in*, labelled ``test-retest (bootstrap)``): it measures sampling noise of the
  documents at hand, not a model's run-to-run variation.
- **template invariance** needs new generations with paraphrased templates through an endpoint;
  offline it is reported as not run.

Each run is a (group × model) table of r (DOVE, n_boot = 0); Cronbach's α and the mean CV over the
runs come from :func:`workbench.validate.validate`, as for a ``--reliability`` file. Runs are
stored as score rows of method ``dove:<kind>:<run>`` for the codebook version, so
``workbench validate PROJECT`` uses them.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .alignment.scoring import score_table
from .progress import progress_bar
from .score import METHOD, ProjectPosteriors, document_sets, load_posteriors
from .store import Store
from .validate import ValidityReport, validate
from .validity.io import ReliabilityRecord

SAMPLING, RETEST = "sampling", "test-retest (bootstrap)"
PREFIX = f"{METHOD}:"


@dataclass
class ReliabilityRuns:
    version: int
    records: list[ReliabilityRecord]
    report: ValidityReport
    notes: list[str] = field(default_factory=list)


def _model_sources(post: ProjectPosteriors) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    groups, sources, _ = document_sets(post)
    return groups, {s: rows for s, rows in sources.items() if s not in groups}


def reliability_runs(store: Store, version: int | None = None, splits: int = 3, seed: int = 0,
                     show_progress: bool = True, save: bool = True) -> ReliabilityRuns:
    """The sampling and (offline) test–retest runs, their α and CV, stored for ``validate``."""
    post = load_posteriors(store, version, show_progress=show_progress)
    groups, models = _model_sources(post)
    notes = ["template invariance needs generations with three templates through an endpoint: not run offline"]
    if not models:
        notes.insert(0, "the project has no model sources: nothing to rank, no reliability run")
        return ReliabilityRuns(post.codebook.version, [], validate([]), notes)
    cfg = store.config().alignment.model_copy(update={"n_boot": 0, "ceiling_splits": 0, "equal_n": None})
    rng = np.random.default_rng(seed)
    topics = np.array([t or "" for t in post.corpus.doc_topics], dtype=object)
    distinct = sorted(set(topics.tolist()) - {""})
    runs: list[tuple[str, str, dict[str, np.ndarray], dict[str, np.ndarray]]] = [(SAMPLING, "full", groups, models)]
    for k in range(1, splits + 1):
        chosen = set(rng.choice(distinct, size=max(1, len(distinct) // 2), replace=False).tolist()) | {""}
        keep = lambda rows: rows[np.isin(topics[rows], list(chosen))]  # noqa: E731
        runs.append((SAMPLING, f"topics{k}", {g: keep(r) for g, r in groups.items()},
                     {s: keep(r) for s, r in models.items()}))
    for k in range(1, splits + 1):
        runs.append((RETEST, f"draw{k}", groups, {s: rng.choice(r, size=r.size, replace=True)
                                                  for s, r in models.items()}))
    records = []
    with progress_bar("reliability runs", len(runs), show_progress) as advance:
        for kind, item, g_rows, s_rows in runs:
            g_rows = {g: r for g, r in g_rows.items() if r.size}
            s_rows = {s: r for s, r in s_rows.items() if r.size}
            if g_rows and s_rows:
                rows = score_table({g: post.q_docs[r] for g, r in g_rows.items()},
                                   {s: post.q_docs[r] for s, r in s_rows.items()}, post.codebook.centroids, cfg)
                records += [ReliabilityRecord(METHOD, kind, item, r.group, r.source, r.r) for r in rows]
            advance(1)
    if save:
        for kind, item in dict.fromkeys((r.kind, r.item) for r in records):
            store.save_scores(f"{PREFIX}{kind}:{item}", post.codebook.version, [
                {"group_name": r.group, "source": r.source, "value": r.value}
                for r in records if (r.kind, r.item) == (kind, item)], {**cfg.model_dump(), "seed": seed})
    return ReliabilityRuns(post.codebook.version, records, validate([], reliability=records), notes)


def stored_reliability(store: Store, version: int) -> list[ReliabilityRecord]:
    """The runs ``reliability_runs`` stored for a codebook version, as ``validate`` inputs."""
    records = []
    for row in store.load_scores(codebook_version=version):
        kind_item = row["method"][len(PREFIX):] if row["method"].startswith(PREFIX) else ""
        kind, _, item = kind_item.rpartition(":")
        if kind in (SAMPLING, RETEST) and row["value"] is not None:
            records.append(ReliabilityRecord(METHOD, kind, item, row["group_name"], row["source"], row["value"]))
    return records
