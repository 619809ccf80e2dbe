"""The alignment score of a project (Sec. 3.3, App. E.4, F.3): every human group against every
source, with the debiased UOT of ``workbench.alignment``; what ``workbench score`` and the build
graph's ``score_alignment`` node call.

Documents are mapped to code posteriors q(z|x, C) with Eq. 15 exactly as the codebook loop does
(:mod:`workbench.pipeline.posteriors`: σ as the build measured it on its C⁰), so a score is computed in the
same value space the codebook was learned in. Every document is mapped, whether or not its source
trained the codebook (``em.train_sources``).

Which documents form what:

- a **group** (row) is a culture's human documents: ``source = 'human'`` and ``group_name = G``;
- a **source** (column) is a set of documents to score against every group: each human group
  ``G`` itself, and each model. A model's documents are labelled ``θ`` when their group is
  ``control`` (unprimed; what ``workbench generate`` writes without ``--persona``), and ``θ@G``
  otherwise (written as, or for, group G: a persona-primed run, or imported documents of G);
- with ``halves``, each group's documents are split at random (seeded by the alignment seed)
  into ``G/half1`` and ``G/half2``, added as sources, and the two halves are also scored
  against each other (row ``G/half1``, column ``G/half2``): the score a perfectly aligned
  "model" reaches given this much data.

Only documents with value expressions are scored; the result names how many were left out.
"""
from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field

import numpy as np

from ..alignment.scoring import ScoreRow, score_table
from ..config import AlignmentConfig
from ..errors import WorkbenchError
from ..llm.gateway import Gateway
from ..llm.language_space import RATIO_TARGET, shipped_figures
from ..models import Codebook, Corpus
from ..pipeline.corpus import load_corpus
from ..pipeline.posteriors import build_sigma, code_posteriors
from ..store import Store
from ..vocabulary import CONTROL, HUMAN, METHOD, SCORE_FIGURES, ablation_method
from .language_neutrality import dominant_languages, language_notes, translation_ratio
from .score_figures import score_figures


def source_label(source: str, group: str) -> str:
    """The column name of a (source, group) document set (see the module docstring)."""
    if source == HUMAN:
        return group
    return source if group == CONTROL else f"{source}@{group}"


@dataclass
class ProjectPosteriors:
    """A codebook version with the posteriors of every document that has expressions."""

    codebook: Codebook
    corpus: Corpus
    q_docs: np.ndarray  # (N, K)
    sigma: float
    embedder: str

    def labels(self) -> list[str]:
        """Source label of every document (aligned with ``corpus.doc_ids``)."""
        return [source_label(s, g) for s, g in zip(self.corpus.doc_sources, self.corpus.doc_groups)]

    def human_groups(self) -> list[str]:
        return sorted({g for g, s in zip(self.corpus.doc_groups, self.corpus.doc_sources) if s == HUMAN})


def load_posteriors(store: Store, version: int | None = None, gateway: Gateway | None = None,
                    show_progress: bool = True, corpus: Corpus | None = None) -> ProjectPosteriors:
    """Load a codebook version (default: the latest) and map every extracted document onto it
    (``corpus``: an already loaded corpus of the project, e.g. the build graph's)."""
    codebook = store.load_codebook(version)
    gateway = gateway or Gateway(store, store.config())
    info = store.initial_version_of(codebook.version)[1]
    built_with = info.get("representation", "raw")
    if gateway.representation is not None and built_with != gateway.representation:
        raise WorkbenchError(f"codebook v{codebook.version} was built in the offline representation '{built_with}' and "
                             f"the project now embeds in '{gateway.representation}': rebuild the codebook, or set "
                             f"roles.embedder.representation back to {built_with}")
    if info.get("value_lens") != gateway.lens_id:
        raise WorkbenchError(f"codebook v{codebook.version} was built through value lens {info.get('value_lens')} and "
                             f"the project now embeds through {gateway.lens_id}: rebuild the codebook")
    corpus = corpus or load_corpus(store, gateway, show_progress)
    sigma = build_sigma(store, corpus, codebook, store.config().em.sigma_mode)
    q_docs, _ = code_posteriors(corpus, codebook, sigma)
    return ProjectPosteriors(codebook, corpus, q_docs, sigma, gateway.embedder_id)


def split_halves(n: int, seed: int, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Two disjoint random halves of range(n) (sizes ⌈n/2⌉, ⌊n/2⌋), seeded by (seed, name)."""
    digest = hashlib.sha256(f"halves\x00{name}".encode()).digest()
    perm = np.random.default_rng([seed, int.from_bytes(digest[:8], "little")]).permutation(n)
    cut = (n + 1) // 2
    return np.sort(perm[:cut]), np.sort(perm[cut:])


@dataclass
class ScoreResult:
    """A scored table: rows in (group, source) order, the settings, and what was left out."""

    version: int
    rows: list[ScoreRow]
    config: AlignmentConfig
    K: int
    sigma: float
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def as_dicts(self) -> list[dict]:
        return [{"codebook_version": self.version, **r.as_dict()} for r in self.rows]


@dataclass
class AblationRow:
    """One cell of an ablation: ``value`` in the paper's measure, with its ``raw`` (D for a UOT
    score) and interval where it has them; ``ours`` in ours (``extra`` holds its raw figure)."""

    group: str
    source: str
    value: float
    raw: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    extra: dict = field(default_factory=dict)
    n_group_docs: int = 0
    n_source_docs: int = 0
    ours: float | None = None
    ours_ci: tuple[float, float] | None = None


@dataclass
class AblationResult:
    name: str
    version: int  # the codebook version ablated
    rows: list[AblationRow]
    measure: str  # the paper's measure: what ``value`` is
    higher_is_closer: bool
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    ours_measure: str | None = None  # what ``ours`` is, when kept beside the paper's

    def score_rows(self) -> list[tuple[str, str, list[dict]]]:
        """(method, measure, rows) as stored and written to a score CSV: the paper's measure as
        ``dove:NAME`` (``value`` as r, ``raw`` as D, and D_bias where DOVE's score is the measure),
        then ours where kept as ``dove:NAME:ours`` (its raw D or KL as D); rows carry the fields of
        ``vocabulary.SCORE_COLUMNS``."""
        cells = [{"group": r.group, "source": r.source, "n_group_docs": r.n_group_docs,
                  "n_source_docs": r.n_source_docs} for r in self.rows]
        paper = [{**cell, "r": r.value, "D": r.raw, "D_bias": r.extra.get("D_bias"), "ci_low": r.ci_low,
                  "ci_high": r.ci_high} for cell, r in zip(cells, self.rows)]
        found = [(ablation_method(self.name), self.measure, paper)]
        if self.ours_measure:
            found.append((ablation_method(self.name, ours=True), self.ours_measure, [
                {**cell, "r": r.ours, "D": r.extra.get("ours_D", r.extra.get("ours_KL")),
                 "ci_low": (r.ours_ci or (None, None))[0], "ci_high": (r.ours_ci or (None, None))[1]}
                for cell, r in zip(cells, self.rows)]))
        return found


def document_sets(post: ProjectPosteriors, halves: bool = False, seed: int = 0,
                  groups: list[str] | None = None, sources: list[str] | None = None
                  ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], list[tuple[str, str]]]:
    """Row indices of each group and each source (see the module docstring).

    Returns (groups, sources, half_pairs); ``half_pairs`` lists ("G/half1", "G/half2") pairs to
    score against each other. Unknown names raise a :class:`WorkbenchError` listing the known ones.
    """
    labels = np.array(post.labels(), dtype=object)
    human = post.human_groups()
    if not human:
        raise WorkbenchError("no human documents with value expressions: import human documents "
                             f"(source '{HUMAN}') and run 'workbench extract'")
    all_groups = {g: np.flatnonzero(labels == g) for g in human}
    all_sources = {label: np.flatnonzero(labels == label) for label in dict.fromkeys(sorted(set(labels.tolist()),
                   key=lambda x: (x not in all_groups, x)))}
    half_pairs: list[tuple[str, str]] = []
    if halves:
        for g in human:
            rows = all_groups[g]
            if rows.size < 2:
                continue
            first, second = split_halves(rows.size, seed, g)
            all_sources[f"{g}/half1"], all_sources[f"{g}/half2"] = rows[first], rows[second]
            half_pairs.append((f"{g}/half1", f"{g}/half2"))
    chosen_groups = _choose(all_groups, groups, "group")
    chosen_sources = _choose(all_sources, sources, "source")
    if groups is not None:
        half_pairs = [p for p in half_pairs if p[0].rsplit("/", 1)[0] in chosen_groups]
    return chosen_groups, chosen_sources, half_pairs


def _choose(available: dict[str, np.ndarray], wanted: list[str] | None, what: str) -> dict[str, np.ndarray]:
    if wanted is None:
        return available
    unknown = [w for w in wanted if w not in available]
    if unknown:
        raise WorkbenchError(f"unknown {what}(s) {unknown}: the project has {what}s {sorted(available)}")
    return {w: available[w] for w in wanted}


def score_posteriors(post: ProjectPosteriors, config: AlignmentConfig | None = None,
                     groups: list[str] | None = None, sources: list[str] | None = None,
                     halves: bool = False, equal_n: int | str | None = None) -> ScoreResult:
    """The score table of already-mapped documents (no I/O).

    ``equal_n``: subsample every source to this many documents (``"min"``: the smallest
    source's count), ``config.equal_n_repeats`` times, and average (default: ``config.equal_n``).
    """
    cfg = config or AlignmentConfig()
    started = time.perf_counter()
    g_rows, s_rows, half_pairs = document_sets(post, halves, cfg.seed, groups, sources)
    if equal_n is not None:
        cfg = cfg.model_copy(update={"equal_n": _equal_n(equal_n, s_rows)})
    if cfg.equal_n is not None:
        small = {s: len(i) for s, i in s_rows.items() if len(i) < cfg.equal_n}
        if small:
            raise WorkbenchError(f"--equal-n {cfg.equal_n} is more documents than source(s) {small} have: "
                                 f"use at most {min(small.values())} or --equal-n min")
    emb = post.codebook.centroids
    q = post.q_docs
    rows = score_table({g: q[i] for g, i in g_rows.items()}, {s: q[i] for s, i in s_rows.items()}, emb, cfg)
    for first, second in half_pairs:
        rows += score_table({first: q[s_rows[first]]}, {second: q[s_rows[second]]}, emb, cfg)
    notes = [f"ceiling of {r.group} × {r.source} uses {r.ceiling_n} documents per half, not {r.n_source_docs}: "
             f"{r.group} has {r.n_group_docs} documents, fewer than twice the source's"
             for r in rows if r.ceiling_n is not None and r.ceiling_n < r.n_source_docs]
    return ScoreResult(post.codebook.version, rows, cfg, post.codebook.K, post.sigma, notes,
                       seconds=time.perf_counter() - started)


def _equal_n(value: int | str, s_rows: dict[str, np.ndarray]) -> int:
    if value == "min":
        return min(len(i) for i in s_rows.values())
    try:
        n = int(value)
    except ValueError:
        n = 0
    if n < 2:
        raise WorkbenchError(f"--equal-n must be a document count ≥ 2 or 'min', not {value!r}")
    return n


def score_project(store: Store, version: int | None = None, config: AlignmentConfig | None = None,
                  groups: list[str] | None = None, sources: list[str] | None = None, halves: bool = False,
                  show_progress: bool = True, save: bool = True, corpus: Corpus | None = None,
                  equal_n: int | str | None = None) -> ScoreResult:
    """Score every human group against every source on a codebook version; store the rows.

    ``config`` defaults to the project's ``alignment`` settings. ``groups``/``sources`` restrict
    the table to those names (default: all); ``equal_n`` as in :func:`score_posteriors`. Rows
    are stored as method ``dove`` for the version, replacing earlier rows of the same cells, with
    what the report shows of the version (:mod:`.score_figures`).
    Same inputs and settings give the same table.
    """
    cfg = config or store.config().alignment
    post = load_posteriors(store, version, show_progress=show_progress, corpus=corpus)
    result = score_posteriors(post, cfg, groups, sources, halves, equal_n)
    trained = store.initial_version_of(result.version)[1].get("train_sources", [HUMAN])
    result.notes.insert(0, f"codebook v{result.version} trained on source(s) {', '.join(trained)}; every other "
                           f"source is only mapped onto it; vectors: {post.embedder}")
    languages = language_check(store, {r.source for r in result.rows} | {r.group for r in result.rows})
    result.notes += languages["language_notes"] + _left_out(store, post)
    if save:
        store.save_scores(METHOD, result.version, [r.as_dict() for r in result.rows], {
            **result.config.model_dump(), "halves": halves, "K": result.K, "sigma": result.sigma,
            "embedder": post.embedder, "train_sources": trained, **languages})
        store.save_version_result(result.version, SCORE_FIGURES, score_figures(post, cfg))
    return result


def language_check(store: Store, labels: set[str]) -> dict:
    """The offline representation, its measured translation ratio and the notes on the table's languages."""
    config = store.config()
    embedder = config.role("embedder")
    representation = embedder.representation_in_use() if embedder.provider == "offline" else None
    ratio = translation_ratio(shipped_figures(), representation) if representation else None
    counts = [(source_label(source, group), language, n) for group, source, language, n in store.language_counts()
              if source_label(source, group) in labels]
    notes = language_notes(dominant_languages(counts), config.role("extractor").provider == "offline",
                           representation, ratio, RATIO_TARGET)
    return {"representation": representation, "translation_ratio": ratio, "language_notes": notes}


def _left_out(store: Store, post: ProjectPosteriors) -> list[str]:
    have: dict[str, int] = {}
    for label in post.labels():
        have[label] = have.get(label, 0) + 1
    notes = []
    for group, source, n in store.document_counts():
        label = source_label(source, group)
        missing = n - have.get(label, 0)
        if missing:
            notes.append(f"{label}: {missing:,} of {n:,} documents have no value expressions and are not scored "
                         f"(run 'workbench extract {store.path}' to extract the rest)")
    return notes
