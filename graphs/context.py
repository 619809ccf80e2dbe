"""Run-scoped context of the codebook graph: the project, the gateway and caches.

Not checkpointed: everything here is rebuilt from the project when a run resumes, so it may hold
open connections and large arrays (the corpus, posteriors) that the state must not carry.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from workbench.codebook.assignment import code_spread, document_posteriors_chunked
from workbench.config import WorkbenchConfig
from workbench.corpus import load_corpus
from workbench.llm.gateway import Gateway
from workbench.models import Codebook, Corpus
from workbench.store import Store


@dataclass
class BuildContext:
    store: Store
    gateway: Gateway
    config: WorkbenchConfig
    thread_id: str
    auto_approve: bool = False
    show_progress: bool = True
    _corpus: Corpus | None = field(default=None, repr=False)
    _posteriors: dict[int, tuple[np.ndarray, float]] = field(default_factory=dict, repr=False)

    def corpus(self) -> Corpus:
        if self._corpus is None:
            self._corpus = load_corpus(self.store, self.gateway, self.show_progress)
        return self._corpus

    def member_labels(self, codebook: Codebook) -> np.ndarray:
        """Code index of every corpus expression (aligned with ``corpus().expr_ids``)."""
        corpus = self.corpus()
        lookup = dict(zip(codebook.expression_ids.tolist(), codebook.labels.tolist()))
        return np.array([lookup.get(int(e), -1) for e in corpus.expr_ids], dtype=np.int64)

    def posteriors(self, codebook: Codebook) -> tuple[np.ndarray, float]:
        """q(z|x, C) per document (Eq. 15) and σ for a codebook version (deterministic, cached)."""
        if codebook.version not in self._posteriors:
            corpus = self.corpus()
            centroids = codebook.centroids
            sigma = code_spread(corpus.expr_emb, self.member_labels(codebook), centroids)
            q_docs, _ = document_posteriors_chunked(corpus.expr_emb, corpus.expr_doc, len(corpus.doc_ids),
                                                    centroids, sigma)
            self._posteriors[codebook.version] = (q_docs, sigma)
        return self._posteriors[codebook.version]
