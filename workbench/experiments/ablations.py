"""Ablations of the DOVE score (Sec. 4.4, Table 2 bottom, Table 14): what the codebook, its
refinement, the UOT metric and the redundancy terms each add, on the user's own project.
``workbench score --ablation``.

Every ablation scores the same (group, source) cells as DOVE and is stored beside it as method
``dove:<ablation>`` for the codebook version it ablates, in the measure Table 14 names for it
(``measure``). Where ours differs and is kept, it is stored as ``dove:<ablation>:ours`` and shown
in a column after the paper's (``ours_measure``):

- ``no-codebook`` (Table 2 "w/o value codebook"): the Wasserstein distance W₁ (exact, balanced,
  Table 14) between the two clouds of *document embeddings*, each document a point of mass 1/N,
  ground cost = cosine distance (lower = closer). Ours beside it: r of the same debiased entropic
  UOT as DOVE (Eq. 22, the project's ε, τ and bootstrap) on those clouds, which changes only the
  codebook and so isolates what it adds; its r = (0.1 − D)·10 is not on DOVE's scale (compare
  ranks). At most ``MAX_POINTS`` documents a side (a seeded subsample, said in the notes).
- ``no-uot`` ("w/o UOT metric"): cosine similarity of the code marginals a^g and a^θ (Table 14;
  higher = closer). Ours beside it: the Jensen–Shannon distance (base 2), a divergence between
  the two distributions rather than an angle between them, with KL(a^g ‖ a^θ) (ε-smoothed, nats).
- ``no-refinement`` ("w/o codebook polishment"): DOVE's own score on the initial codebook C⁰ of
  the build that made the version. Table 14 calls its measure a Wasserstein distance; the paper
  calls the UOT score one too (Sec. 3.3), and its Table 14 column correlates with downstream
  performance as a closeness, not a distance (tests/test_ablations.py reproduces Table 2's 8.98 %).
- ``no-redundancy`` ("w/o redundancy reduction", β1 = β2 = 0 in Eq. 2): DOVE's score on a
  codebook built again with β1 = β2 = 0, in a copy of the project beside it
  (``PROJECT.ablations/no-redundancy.db``, made once with the project's settings, auto-approved;
  delete it to build again). That build costs what the project's build costs.

``REGISTRY`` is the one list of ablations: the CLI's choices and ``all`` read it.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..alignment.clouds import cloud_uot, cloud_wasserstein
from ..alignment.scoring import mean_posterior
from ..codebook.vectors import unit_rows
from ..config import AlignmentConfig
from ..errors import WorkbenchError
from ..measures.score import (AblationResult, AblationRow, ProjectPosteriors, ScoreResult, document_sets,
                              load_posteriors, score_posteriors, score_project)
from ..store import Store
from ..survey.metrics import KL_EPSILON, js_distance, kl_divergence

MAX_POINTS = 1000  # documents a side in the no-codebook ablation's N × N transport
REDUNDANCY_FREE = {"em.beta1": "0", "em.beta2": "0"}  # Table 2's "w/o redundancy reduction"


@dataclass(frozen=True)
class Ablation:
    """One ablation: its name in the CLI and the store, Table 2's row, and how it is scored."""

    name: str
    paper_row: str
    run: Callable[[Store, ProjectPosteriors, AlignmentConfig, list[str] | None, list[str] | None], AblationResult]


def cosine_similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity of two code marginals (Table 14, "w/o UOT metric")."""
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def no_uot(post: ProjectPosteriors, groups=None, sources=None) -> AblationResult:
    """Cosine similarity (the paper's) and JS distance with KL (ours) between code marginals."""
    g_rows, s_rows, _ = document_sets(post, groups=groups, sources=sources)
    rows = []
    for g, gi in g_rows.items():
        a = mean_posterior(post.q_docs[gi])
        for s, si in s_rows.items():
            b = mean_posterior(post.q_docs[si])
            rows.append(AblationRow(g, s, cosine_similarity(a, b), extra={"ours_KL": kl_divergence(a, b)},
                                    n_group_docs=len(gi), n_source_docs=len(si), ours=js_distance(a, b)))
    return AblationResult("no-uot", post.codebook.version, rows, "cosine of code marginals (Table 14; higher = "
                          "closer)", True, [f"no-uot (ours): JS distance, base 2, lower = closer; its raw = KL(a^g ‖ "
                                            f"a^θ) in nats, ε = {KL_EPSILON:g}"],
                          ours_measure="JS distance (ours; lower = closer)")


def no_codebook(post: ProjectPosteriors, config: AlignmentConfig, groups=None, sources=None) -> AblationResult:
    """W₁ (the paper's) and debiased UOT (ours) between document-embedding clouds."""
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
            ours = cloud_uot(emb, gi, si, config, g, s)
            rows.append(AblationRow(g, s, cloud_wasserstein(emb, gi, si), extra={"ours_D": ours.D,
                                                                                 "ours_D_bias": ours.D_bias},
                                    n_group_docs=len(gi), n_source_docs=len(si), ours=ours.r,
                                    ours_ci=(ours.ci_low, ours.ci_high)))
    notes.append("no-codebook: W₁ in cosine-distance units (0–2), lower = closer; ours = r = (0.1 − D)·10 of "
                 "debiased UOT on the same clouds, not on DOVE's scale: compare ranks")
    return AblationResult("no-codebook", post.codebook.version, rows, "W₁ on document embeddings (Table 14; lower = "
                          "closer)", False, notes, ours_measure="r, debiased UOT on document embeddings (ours)")


def _dove_rows(result: ScoreResult) -> list[AblationRow]:
    return [AblationRow(r.group, r.source, r.r, r.D, r.ci_low, r.ci_high, {"D_bias": r.D_bias, "K": result.K},
                        r.n_group_docs, r.n_source_docs) for r in result.rows]


def no_refinement(store: Store, post: ProjectPosteriors, config: AlignmentConfig, groups=None,
                  sources=None) -> AblationResult:
    """DOVE's score on C⁰ of the build that made ``post.codebook``."""
    initial, _ = store.initial_version_of(post.codebook.version)
    result = score_posteriors(load_posteriors(store, initial, show_progress=False, corpus=post.corpus), config,
                              groups, sources)
    return AblationResult("no-refinement", post.codebook.version, _dove_rows(result), f"r on C⁰ (version {initial}, "
                          f"K = {result.K})", True, [f"no-refinement: scored on the initial codebook v{initial}"])


def no_redundancy(store: Store, post: ProjectPosteriors, config: AlignmentConfig, groups=None,
                  sources=None) -> AblationResult:
    """DOVE's score on a codebook built with β1 = β2 = 0 (Eq. 2 without its R2 terms), in a copy
    of the project beside it; a copy already built is scored as it is."""
    from ..build import run_build
    from .variants import variant_project

    folder = Path(f"{store.path}.ablations")
    folder.mkdir(exist_ok=True)
    copy, started = variant_project(store, folder / "no-redundancy.db", REDUNDANCY_FREE, "ablation_origin")
    try:
        status = run_build(copy, auto_approve=True, restart=not started, show_progress=False)
        if status.version is None or status.state != "finished":
            raise WorkbenchError(f"the no-redundancy build in {copy.path} stopped ({status.state}): run "
                                 f"'workbench build {copy.path} --auto-approve' to finish it, then score again")
        result = score_posteriors(load_posteriors(copy, status.version, show_progress=False, corpus=post.corpus),
                                  config, groups, sources)
    finally:
        copy.close()
    return AblationResult("no-redundancy", post.codebook.version, _dove_rows(result),
                          f"r with β1 = β2 = 0 (K = {result.K})", True,
                          [f"no-redundancy: codebook v{status.version} of {copy.path}, built with β1 = β2 = 0 from "
                           "the project's settings when the copy was made, every change auto-approved (delete the "
                           "copy to build it again)"])


REGISTRY: dict[str, Ablation] = {a.name: a for a in (
    Ablation("no-codebook", "w/o value codebook", lambda store, post, cfg, g, s: no_codebook(post, cfg, g, s)),
    Ablation("no-refinement", "w/o codebook polishment", no_refinement),
    Ablation("no-uot", "w/o UOT metric", lambda store, post, cfg, g, s: no_uot(post, g, s)),
    Ablation("no-redundancy", "w/o redundancy reduction", no_redundancy),
)}
ABLATIONS = tuple(REGISTRY)  # Table 2's order


def score_with_ablations(store: Store, version: int | None = None, ablations: list[str] | tuple[str, ...] = (),
                         groups: list[str] | None = None, sources: list[str] | None = None, halves: bool = False,
                         equal_n: int | str | None = None, show_progress: bool = True
                         ) -> tuple[ScoreResult, list[AblationResult]]:
    """``workbench score``: DOVE's score table of ``version`` (:func:`score_project`) and, beside it,
    the named ablations' (``all``: every one), each stored."""
    result = score_project(store, version, groups=groups, sources=sources, halves=halves,
                           show_progress=show_progress, equal_n=equal_n)
    names = list(ABLATIONS) if "all" in ablations else list(ablations)
    extra = score_ablations(store, names, result.version, groups=groups, sources=sources,
                            show_progress=False) if names else []
    return result, extra


def score_ablations(store: Store, names: list[str], version: int | None = None, config: AlignmentConfig | None = None,
                    groups: list[str] | None = None, sources: list[str] | None = None, show_progress: bool = True,
                    save: bool = True, post: ProjectPosteriors | None = None) -> list[AblationResult]:
    """Score each named ablation of ``version`` (default: the latest) and store its rows as
    method ``dove:<name>`` (the paper's measure) and ``dove:<name>:ours`` (ours, where kept)."""
    unknown = [n for n in names if n not in REGISTRY]
    if unknown:
        raise ValueError(f"unknown ablation {unknown[0]!r}; known: {', '.join(ABLATIONS)}")
    cfg = config or store.config().alignment
    post = post or load_posteriors(store, version, show_progress=show_progress)
    results = []
    for name in dict.fromkeys(names):
        started = time.perf_counter()
        result = REGISTRY[name].run(store, post, cfg, groups, sources)
        result.seconds = time.perf_counter() - started
        if save:
            _save(store, result, cfg)
        results.append(result)
    return results


def _save(store: Store, result: AblationResult, cfg: AlignmentConfig) -> None:
    config = {**cfg.model_dump(), "ablation": result.name, "notes": result.notes}
    for method, measure, rows in result.score_rows():
        store.save_scores(method, result.version, rows, {**config, "measure": measure})
