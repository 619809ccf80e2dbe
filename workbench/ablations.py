"""Ablations of the DOVE score (Sec. 4.4, Table 2 bottom, Table 14): what the codebook, its
refinement and the UOT metric each add, on the user's own project. ``workbench score --ablation``.

Every ablation scores the same (group, source) cells as DOVE and is stored beside it as method
``dove:<ablation>`` for the codebook version it ablates:

- ``no-codebook``: the same debiased entropic UOT (Eq. 22, the project's ε, τ and bootstrap), but
  between the two clouds of *document embeddings* themselves — each document is a point of mass
  1/N, the ground cost is the cosine distance between documents (a Sinkhorn divergence on the raw
  embeddings). The paper uses a Wasserstein distance here (Table 14). At most ``MAX_POINTS``
  documents a side (a seeded subsample, said in the notes) keep the N × N solves tractable.
  r = (0.1 − D)·10 is printed for the table's sake; its scale is not DOVE's.
- ``no-uot``: no transport — the Jensen–Shannon distance (base 2) between the two code marginals
  a^g and a^θ (lower = closer), with KL(a^g ‖ a^θ) (ε-smoothed, nats) and the cosine similarity
  of the marginals that Table 14 uses.
- ``no-refinement``: DOVE's own score on the initial codebook C⁰ of the build that made the
  version (Table 2's "w/o polishment").
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from .alignment.config import AlignmentConfig
from .alignment.scoring import ScoreRow, mean_posterior, score_table
from .codebook.vectors import unit_rows
from .score import METHOD, ProjectPosteriors, document_sets, load_posteriors, score_posteriors
from .store import Store
from .survey.metrics import KL_EPSILON, js_distance, kl_divergence

ABLATIONS = ("no-codebook", "no-uot", "no-refinement")
MAX_POINTS = 1000  # documents a side in the no-codebook ablation's N × N transport


@dataclass
class AblationRow:
    """One cell of an ablation: ``value`` is what the ablation reports (r for the UOT ablations,
    the JS distance for no-uot); ``raw`` its D (UOT) or KL (no-uot)."""

    group: str
    source: str
    value: float
    raw: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    extra: dict = field(default_factory=dict)
    n_group_docs: int = 0
    n_source_docs: int = 0


@dataclass
class AblationResult:
    name: str
    version: int  # the codebook version ablated
    rows: list[AblationRow]
    measure: str  # what ``value`` is
    higher_is_closer: bool
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0


def cloud_uot(emb: np.ndarray, gi: np.ndarray, si: np.ndarray, config: AlignmentConfig, g: str = "group",
              s: str = "source") -> ScoreRow:
    """Eq. 22 between two clouds of unit document embeddings (rows ``gi`` and ``si`` of ``emb``),
    each document a point of mass 1/N, ground cost = cosine distance; bootstrap as DOVE's."""
    support = np.union1d(gi, si)  # one point per document; a group scored on itself shares them
    cost = np.clip(1.0 - emb[support] @ emb[support].T, 0.0, 2.0)
    onehot = np.eye(len(support))
    return score_table({g: onehot[np.searchsorted(support, gi)]}, {s: onehot[np.searchsorted(support, si)]},
                       None, config, cost=cost)[0]


def no_uot(post: ProjectPosteriors, groups=None, sources=None) -> AblationResult:
    """JS distance, KL and cosine between code marginals a^g, a^θ (no transport)."""
    g_rows, s_rows, _ = document_sets(post, groups=groups, sources=sources)
    rows = []
    for g, gi in g_rows.items():
        a = mean_posterior(post.q_docs[gi])
        for s, si in s_rows.items():
            b = mean_posterior(post.q_docs[si])
            cosine = float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))
            rows.append(AblationRow(g, s, js_distance(a, b), kl_divergence(a, b), extra={"cosine": cosine},
                                    n_group_docs=len(gi), n_source_docs=len(si)))
    return AblationResult("no-uot", post.codebook.version, rows, "JS distance (base 2; lower = closer)", False,
                          [f"no-uot: raw = KL(a^g ‖ a^θ) in nats, ε = {KL_EPSILON:g}; cosine = Table 14's measure"])


def no_codebook(post: ProjectPosteriors, config: AlignmentConfig, groups=None, sources=None) -> AblationResult:
    """Debiased UOT between document-embedding clouds (cost = cosine distance between documents)."""
    g_rows, s_rows, _ = document_sets(post, groups=groups, sources=sources)
    emb = unit_rows(np.asarray(post.corpus.doc_emb, dtype=np.float64))
    rng = np.random.default_rng(config.seed)
    notes = []

    def capped(name: str, rows: np.ndarray) -> np.ndarray:
        if len(rows) <= MAX_POINTS:
            return rows
        notes.append(f"no-codebook: {name} subsampled to {MAX_POINTS} of its {len(rows)} documents (seed "
                     f"{config.seed})")
        return np.sort(rng.choice(rows, size=MAX_POINTS, replace=False))

    g_rows = {g: capped(g, i) for g, i in g_rows.items()}
    s_rows = {s: capped(s, i) for s, i in s_rows.items()}
    rows = []
    for g, gi in g_rows.items():
        for s, si in s_rows.items():
            row = cloud_uot(emb, gi, si, config, g, s)
            rows.append(AblationRow(g, s, row.r, row.D, row.ci_low, row.ci_high, {"D_bias": row.D_bias},
                                    len(gi), len(si)))
    notes.append("no-codebook: r = (0.1 − D)·10 on document-embedding clouds; its scale is not DOVE's, compare ranks")
    return AblationResult("no-codebook", post.codebook.version, rows, "r on raw document embeddings", True, notes)


def no_refinement(store: Store, post: ProjectPosteriors, config: AlignmentConfig, groups=None,
                  sources=None) -> AblationResult:
    """DOVE's score on C⁰ of the build that made ``post.codebook``."""
    initial, _ = store.initial_version_of(post.codebook.version)
    result = score_posteriors(load_posteriors(store, initial, show_progress=False, corpus=post.corpus), config,
                              groups, sources)
    rows = [AblationRow(r.group, r.source, r.r, r.D, r.ci_low, r.ci_high, {"D_bias": r.D_bias, "K": result.K},
                        r.n_group_docs, r.n_source_docs) for r in result.rows]
    return AblationResult("no-refinement", post.codebook.version, rows, f"r on C⁰ (version {initial}, "
                          f"K = {result.K})", True, [f"no-refinement: scored on the initial codebook v{initial}"])


def score_ablations(store: Store, names: list[str], version: int | None = None, config: AlignmentConfig | None = None,
                    groups: list[str] | None = None, sources: list[str] | None = None, show_progress: bool = True,
                    save: bool = True, post: ProjectPosteriors | None = None) -> list[AblationResult]:
    """Score each named ablation of ``version`` (default: the latest) and store its rows as
    method ``dove:<name>`` for that version."""
    cfg = config or store.config().alignment
    post = post or load_posteriors(store, version, show_progress=show_progress)
    results = []
    for name in dict.fromkeys(names):
        started = time.perf_counter()
        if name == "no-uot":
            result = no_uot(post, groups, sources)
        elif name == "no-codebook":
            result = no_codebook(post, cfg, groups, sources)
        elif name == "no-refinement":
            result = no_refinement(store, post, cfg, groups, sources)
        else:
            raise ValueError(f"unknown ablation {name!r}; known: {', '.join(ABLATIONS)}")
        result.seconds = time.perf_counter() - started
        if save:
            store.save_scores(f"{METHOD}:{name}", result.version, [
                {"group_name": r.group, "source": r.source, "value": r.value, "raw": r.raw, "ci_low": r.ci_low,
                 "ci_high": r.ci_high, "n_group": r.n_group_docs, "n_source": r.n_source_docs} for r in result.rows
            ], {**cfg.model_dump(), "ablation": name, "measure": result.measure, "notes": result.notes})
        results.append(result)
    return results
