"""``workbench validate PROJECT --known-answer LABELS``: the workbench's own answer to "does the
score track values, not topics?" on the user's data with gold labels.

Pairs of document populations within one topic but with shifted label mixes are drawn
(:func:`workbench.validity.known_answer.draw_pairs`); DOVE, each ablation and a raw-embedding
baseline (RBF-MMD between the populations' document embeddings, no codebook, no lens) measure
every pair, and Spearman ρ between each method's distance and the true divergence of the label
mixes (JS) is reported with a bootstrap interval. An honest low ρ is a result: it says the score, on this data
and this codebook, does not yet rank value differences.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..alignment.clouds import cloud_uot
from ..alignment.scoring import mean_posterior, score_table
from ..codebook.vectors import unit_rows
from ..errors import WorkbenchError
from ..llm.gateway import Gateway
from ..progress import progress_bar
from ..store import Store, open_project
from ..survey.metrics import js_distance
from ..tabular import open_tabular
from ..validity.known_answer import (MIN_TOPIC_DOCUMENTS, Agreement, draw_pairs, label_divergence, median_bandwidth,
                                     rank_agreement, rbf_mmd)
from ..vocabulary import METHOD, ablation_method
from .score import load_posteriors

NO_REFINEMENT, NO_UOT, NO_CODEBOOK = (ablation_method("no-refinement"), ablation_method("no-uot", ours=True),
                                      ablation_method("no-codebook", ours=True))
RAW_EMBEDDING = "raw-embedding"
METHODS = (METHOD, NO_REFINEMENT, NO_UOT, NO_CODEBOOK, RAW_EMBEDDING)


@dataclass
class KnownAnswerReport:
    version: int
    labels_file: str
    label_names: list[str]
    n_documents: int  # labelled documents with value expressions and a topic
    n_topics: int  # topics the pairs are drawn in
    rounds: int  # pairs per topic and strength
    truth_range: tuple[float, float]
    agreement: dict[str, Agreement]
    notes: list[str] = field(default_factory=list)
    representation: str | None = None  # the offline embedder's representation (None: a remote embedder)
    embedder: str = ""  # the vectors' space the codebook was built and scored in: embedder, representation, lens tag

    def as_dict(self) -> dict:
        return {"codebook_version": self.version, "labels_file": self.labels_file, "labels": self.label_names,
                "n_documents": self.n_documents, "topics": self.n_topics, "rounds": self.rounds,
                "representation": self.representation, "embedder": self.embedder,
                "true_js_range": list(self.truth_range),
                "methods": {m: {"rho": a.rho, "ci": [a.low, a.high], "pairs": a.n_pairs}
                            for m, a in self.agreement.items()}, "notes": self.notes}


def read_gold_labels(path: str | Path) -> tuple[list[str], dict[str, np.ndarray]]:
    """(label names, {document id: (L,) 0/1}) from a multi-label file: an id column first (or
    ``id`` / ``Argument ID``), then one 0/1 column per label."""
    reader = open_tabular(path, what="label file", empty_fix="give a header row: id, then one 0/1 column per label")
    rows = reader.rows()
    if not rows:
        raise WorkbenchError(f"{path}: no rows: give a header row and one row per document")
    columns = list(rows[0][1])
    id_column = next((c for c in ("id", "Argument ID") if c in columns), columns[0])
    names = [c for c in columns if c != id_column]
    if not names:
        raise WorkbenchError(f"{path}: no label columns: after {id_column!r} give one 0/1 column per label")
    gold = {}
    for line, row in rows:
        values = []
        for name in names:
            value = str(row.get(name, "")).strip()
            if value not in ("0", "1"):
                raise WorkbenchError(f"{reader.where(line)}: column {name!r} is {value!r}: labels must be 0 or 1")
            values.append(int(value))
        gold[str(row[id_column]).strip()] = np.array(values, dtype=np.float64)
    return names, gold


def project_known_answer(project: str | None, labels_path: str | Path, version: int | None = None, rounds: int = 2,
                         min_documents: int = MIN_TOPIC_DOCUMENTS, show_progress: bool = True) -> KnownAnswerReport:
    """``workbench validate --known-answer``: :func:`known_answer` on PROJECT, whose documents the
    labels are of."""
    if not project:
        raise WorkbenchError("--known-answer needs PROJECT: the labels are of its documents")
    return known_answer(open_project(project), labels_path, version, rounds, min_documents, show_progress=show_progress)


def known_answer(store: Store, labels_path: str | Path, version: int | None = None, rounds: int = 2,
                 min_documents: int = MIN_TOPIC_DOCUMENTS, seed: int = 0,
                 show_progress: bool = True) -> KnownAnswerReport:
    """Spearman ρ of DOVE, each ablation and the raw-embedding baseline with the true label
    divergence over drawn pairs (:func:`workbench.validity.known_answer.draw_pairs`)."""
    names, gold = read_gold_labels(labels_path)
    gateway = Gateway(store, store.config())
    post = load_posteriors(store, version, gateway=gateway, show_progress=show_progress)
    corpus = post.corpus
    rows = [i for i, (d, t) in enumerate(zip(corpus.doc_ids, corpus.doc_topics)) if d in gold and t]
    if not rows:
        raise WorkbenchError(f"{labels_path}: none of its ids is a document of {store.path} with a topic and value "
                             "expressions: the ids must be the project's document ids")
    rows = np.array(rows)
    labels = np.stack([gold[corpus.doc_ids[i]] for i in rows])
    topics = np.array([corpus.doc_topics[i] for i in rows], dtype=object)
    try:
        pairs = draw_pairs(topics, labels, rounds, min_documents=min_documents, seed=seed)
    except ValueError as exc:
        raise WorkbenchError(f"{labels_path}: {exc}; lower --min-documents") from None
    initial, _ = store.initial_version_of(post.codebook.version)
    first = load_posteriors(store, initial, gateway=gateway, show_progress=False, corpus=corpus)
    cfg = store.config().alignment.model_copy(update={"n_boot": 0, "ceiling_splits": 0, "equal_n": None})
    emb = unit_rows(np.asarray(corpus.doc_emb, dtype=np.float64))
    raw = unit_rows(np.asarray(gateway.embed_documents([corpus.doc_texts[i] for i in rows], lens=False),
                               dtype=np.float64))
    bandwidth = median_bandwidth(raw, seed=seed)
    distances: dict[str, list[float]] = {m: [] for m in METHODS}
    truth = []
    with progress_bar("known-answer pairs", len(pairs), show_progress) as advance:
        for pair in pairs:
            a, b = pair.a, pair.b
            ga, gb = rows[a], rows[b]
            truth.append(label_divergence(labels, a, b))
            for method, p in ((METHOD, post), (NO_REFINEMENT, first)):
                distances[method].append(score_table({"A": p.q_docs[ga]}, {"B": p.q_docs[gb]},
                                                     p.codebook.centroids, cfg)[0].D)
            distances[NO_UOT].append(js_distance(mean_posterior(post.q_docs[ga]), mean_posterior(post.q_docs[gb])))
            distances[NO_CODEBOOK].append(cloud_uot(emb, ga, gb, cfg).D)
            distances[RAW_EMBEDDING].append(rbf_mmd(raw[a], raw[b], bandwidth))
            advance(1)
    truth_arr = np.array(truth)
    agreement = {m: rank_agreement(np.array(d), truth_arr, seed=seed) for m, d in distances.items()}
    strengths = sorted({p.strength for p in pairs})
    used = len({p.topic for p in pairs})
    notes = [f"{len(pairs)} pairs of populations, each pair within one topic ({used} topics with ≥ {min_documents} "
             f"labelled documents, {rounds} round(s)): A is half of the topic's documents, drawn without "
             f"replacement with weight 1 + s·y_j towards a value j, s in "
             f"{{{', '.join(f'{s:g}' for s in strengths)}}} (s = 0: an unshifted pair), B the other half; "
             "truth = JS distance (base 2) between the populations' mean gold-label vectors",
             "raw-embedding: unbiased RBF-MMD² between the populations' document embeddings "
             f"({gateway.base_embedder_id}, no codebook, no lens; bandwidth {bandwidth:.3f}, the median distance)",
             "ρ near 0 (or an interval containing 0): the method does not rank value differences on this data"]
    unlabelled = int(np.isnan(truth_arr).sum())
    if unlabelled:
        notes.append(f"{unlabelled} pair(s) left out: a population whose documents carry no label has no label mix")
    return KnownAnswerReport(post.codebook.version, str(labels_path), names, len(rows), used, rounds,
                             (float(np.nanmin(truth_arr)), float(np.nanmax(truth_arr))), agreement, notes,
                             gateway.representation, post.embedder)
