"""Transport between two clouds of unit document embeddings, with no codebook between them: the
"w/o value codebook" row of Table 14 (W₁) and the raw-embedding baseline of the known-answer check
(Eq. 22's debiased UOT on the documents themselves)."""
from __future__ import annotations

import numpy as np
import ot

from ..config import AlignmentConfig
from .scoring import ScoreRow, score_table


def cloud_uot(emb: np.ndarray, gi: np.ndarray, si: np.ndarray, config: AlignmentConfig, g: str = "group",
              s: str = "source") -> ScoreRow:
    """Eq. 22 between two clouds of unit document embeddings (rows ``gi`` and ``si`` of ``emb``),
    each document a point of mass 1/N, ground cost = cosine distance; bootstrap as DOVE's."""
    support, cost, onehot = _cloud(emb, gi, si)
    return score_table({g: onehot[np.searchsorted(support, gi)]}, {s: onehot[np.searchsorted(support, si)]},
                       None, config, cost=cost)[0]


def cloud_wasserstein(emb: np.ndarray, gi: np.ndarray, si: np.ndarray) -> float:
    """W₁ between two clouds of unit document embeddings (Table 14, "w/o value codebook"): exact
    balanced optimal transport, each document a point of mass 1/N, ground cost = cosine distance."""
    support, cost, _ = _cloud(emb, gi, si)
    a = np.isin(support, gi) / len(gi)
    b = np.isin(support, si) / len(si)
    return max(float(ot.emd2(a, b, cost)), 0.0)


def _cloud(emb: np.ndarray, gi: np.ndarray, si: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The union of two clouds' documents (a group scored on itself shares them), their cosine
    distances and one indicator row per document."""
    support = np.union1d(gi, si)
    cost = np.clip(1.0 - emb[support] @ emb[support].T, 0.0, 2.0)
    return support, cost, np.eye(len(support))
