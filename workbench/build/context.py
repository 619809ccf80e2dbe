"""Run-scoped context of a build (the codebook graph's ``context_schema``): the project, the gateway and caches.

Not checkpointed: everything here is rebuilt from the project when a run resumes, so it may hold
open connections and large arrays (the corpus, posteriors) that the state must not carry.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..codebook.vectors import unit_rows
from ..config import WorkbenchConfig
from ..llm.gateway import Gateway
from ..models import Codebook, Corpus
from ..pipeline.corpus import load_corpus, training_corpus
from ..pipeline.posteriors import build_sigma, code_posteriors, member_labels
from ..store import Store
from .seed import SeedCodebook


@dataclass
class BuildContext:
    store: Store
    gateway: Gateway
    config: WorkbenchConfig
    thread_id: str
    auto_approve: bool = False
    show_progress: bool = True
    seed: SeedCodebook | None = None  # the codebook C⁰ starts from (build --seed-codebook), else clustering
    _all: Corpus | None = field(default=None, repr=False)
    _corpus: Corpus | None = field(default=None, repr=False)
    _posteriors: dict[int, tuple[np.ndarray, float]] = field(default_factory=dict, repr=False)
    _expr_unit: np.ndarray | None = field(default=None, repr=False)

    def all_documents(self) -> Corpus:
        """Every extracted document of the project: what the final score table maps."""
        if self._all is None:
            self._all = load_corpus(self.store, self.gateway, self.show_progress)
        return self._all

    def corpus(self) -> Corpus:
        """The documents that shape the codebook: those of ``em.train_sources`` (default: human)."""
        if self._corpus is None:
            self._corpus = training_corpus(self.all_documents(), self.config.em.train_sources, self.store.path)
        return self._corpus

    def expr_unit(self) -> np.ndarray:
        """The training expressions' embeddings as ``unit_rows`` (float64), made once per build."""
        if self._expr_unit is None:
            self._expr_unit = unit_rows(self.corpus().expr_emb)
        return self._expr_unit

    def member_labels(self, codebook: Codebook) -> np.ndarray:
        """Code index of every training expression (aligned with ``corpus().expr_ids``)."""
        return member_labels(self.corpus(), codebook)

    def posteriors(self, codebook: Codebook) -> tuple[np.ndarray, float]:
        """q(z|x, C) per training document (Eq. 15) and the build's σ (deterministic, cached)."""
        if codebook.version not in self._posteriors:
            sigma = build_sigma(self.store, self.corpus(), codebook, self.config.em.sigma_mode)
            q_docs, _ = code_posteriors(self.corpus(), codebook, sigma)
            self._posteriors[codebook.version] = (q_docs, sigma)
        return self._posteriors[codebook.version]
