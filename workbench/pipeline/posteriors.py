"""q(z|x, C) of Eq. 15 for a codebook version: the one place the build loop, the score table, the
report and the annotation screens get document posteriors from.

σ, the mean within-code spread of App. F.1 (under Eq. 16), is measured once per build on its initial
codebook C⁰ (recorded in C⁰'s info) and held for every later version of that build and for every
document mapped onto them (``em.sigma_mode = "initial"``, the default). Re-measuring σ on each
version lets S(C) rise only because merged, broader codes flatten every posterior (β1·M·H(z|x)
grows) while reconstruction did not improve; with σ fixed, two versions' S are comparable. The
paper does not say which; ``"per-version"`` keeps the other reading selectable.
"""
from __future__ import annotations

import numpy as np

from ..codebook.assignment import code_spread, document_posteriors_chunked
from ..errors import WorkbenchError
from ..models import Codebook, Corpus
from ..store import Store


def member_labels(corpus: Corpus, codebook: Codebook) -> np.ndarray:
    """Code index of every corpus expression under ``codebook``; −1 for non-members (n,)."""
    ids, order = np.asarray(codebook.expression_ids), np.argsort(codebook.expression_ids, kind="stable")
    if ids.size == 0:
        return np.full(len(corpus.expr_ids), -1, dtype=np.int64)
    at = np.minimum(np.searchsorted(ids[order], corpus.expr_ids), ids.size - 1)
    found = ids[order][at] == corpus.expr_ids
    return np.where(found, np.asarray(codebook.labels)[order][at], -1).astype(np.int64)


def spread(corpus: Corpus, codebook: Codebook) -> float:
    """σ measured on ``codebook``'s own members (App. F.1)."""
    return code_spread(corpus.expr_emb, member_labels(corpus, codebook), codebook.centroids)


def build_sigma(store: Store, corpus: Corpus, codebook: Codebook, mode: str = "initial") -> float:
    """σ for mapping documents onto ``codebook``: the value its build recorded on C⁰ (mode
    "initial"; measured on C⁰ when a project from before this rule has none recorded), or the
    version's own spread (mode "per-version")."""
    if mode == "per-version":
        return spread(corpus, codebook)
    init_version, info = store.initial_version_of(codebook.version)
    if info.get("sigma") is not None:
        return float(info["sigma"])
    return spread(corpus, codebook if init_version == codebook.version else store.load_codebook(init_version))


def code_posteriors(corpus: Corpus, codebook: Codebook, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """q(z | x, C) for every corpus document (Eq. 15): (q_docs (N, K), has_expressions (N,))."""
    if codebook.K == 0:
        raise WorkbenchError(f"codebook version {codebook.version} has no codes: run 'workbench build' again")
    return document_posteriors_chunked(corpus.expr_emb, corpus.expr_doc, len(corpus.doc_ids), codebook.centroids,
                                       sigma)
