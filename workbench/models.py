"""Records passed between the store, the graph nodes and the screens."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Code:
    idx: int
    uid: str
    name: str | None
    name_source: str | None
    description: str | None
    size: int
    centroid: np.ndarray


@dataclass
class Codebook:
    """One version of the codebook: codes and the expression → code memberships."""

    version: int
    codes: list[Code]
    expression_ids: np.ndarray  # (n,) ids of member expressions
    labels: np.ndarray  # (n,) code index of each

    @property
    def K(self) -> int:
        return len(self.codes)

    @property
    def centroids(self) -> np.ndarray:
        return np.stack([c.centroid for c in self.codes]) if self.codes else np.zeros((0, 0), np.float32)

    def by_uid(self) -> dict[str, Code]:
        return {c.uid: c for c in self.codes}


@dataclass
class Corpus:
    """Documents and their expressions with embeddings, aligned by position."""

    doc_ids: list[str]
    doc_groups: list[str]
    doc_sources: list[str]
    doc_topics: list[str | None]
    doc_texts: list[str]
    expr_ids: np.ndarray  # (n,)
    expr_doc: np.ndarray  # (n,) index into doc_ids
    expr_texts: list[str]
    expr_emb: np.ndarray = field(repr=False)  # (n, d)
    doc_emb: np.ndarray | None = field(default=None, repr=False)  # (N, d)
