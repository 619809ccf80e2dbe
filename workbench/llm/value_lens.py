"""The value lens: an offline representation that keeps what an embedding says about values.

The codebook organises whatever varies most among the embeddings, and in a text embedding that is
the topic: codes followed topics and the known-answer check saw no value shift (issue 23). The
lens is learned from public labelled data, the training split of Touché23-ValueEval (Kiesel et
al. 2022/2023, https://doi.org/10.5281/zenodo.6814563, CC BY-SA 4.0; the validation split is never
fitted on, it is what the checks use): one balanced logistic probe per value category over the
embedder's document vectors. A vector x becomes its value features beside what is left of it:

    z(x) = unit((W x + b − μ_z) / s_z)              the standardised probe logits (L values)
    r(x) = unit((I − QᵀQ)(x − μ))                   the rest, with the probes' span Q removed
    lens(x) = [√α · z(x), √(1 − α) · r(x)],  α = ½   (unit length, L + d dimensions)

so half of a cosine similarity is the correlation of two texts' value profiles and half their
similarity in everything else. The codebook stays open-ended: codes are clusters in this space
(combinations of values and what they are about, finer or other than the categories, as many as
the data gives) and are named from their own expressions; the categories only fix the axes.
Chosen on the training split only (``bench/value_lens.py``: three folds by topic, the known-answer
draw): the probe logits alone, their span, the space with the span amplified, and this mix with
α = ½ and 0.8 were measured; this one had the best mean (README, "The value lens"), the amplified
metric is as good within the proxy's noise.

It composes with the language centering: the probes are fitted on ``language-centered`` vectors
(:mod:`workbench.llm.language_space`), and every text is centred for its own language before the
lens, so a Korean, Japanese or Chinese text lands on the same value directions as its English
translation. Embeddings are cached before the lens (the gateway applies it on reading), so turning
it on or off re-embeds nothing.

The shipped lens (``value_lens.npz``, fitted for the offline embedder) is reproduced by
``tools/fit_value_lens.py`` from ``../shared/data/valueeval23``; another embedder gets its own with
``workbench lens fit`` (stored in the project).
"""
from __future__ import annotations

import base64
import hashlib
import io
from dataclasses import dataclass
from functools import cache, cached_property
from importlib import resources

import numpy as np

from ..codebook.vectors import unit_rows
from ..errors import WorkbenchError
from ..store import Store
from .language_space import LENS_BASE, VALUE_LENS

__all__ = ["LENS_BASE", "VALUE_LENS", "ValueLens", "fit_value_lens", "project_value_lens", "shipped_value_lens"]
LENS_FILE = "value_lens.npz"
PROBE_C = 1.0  # inverse L2 strength of each probe (scikit-learn's default)
VALUE_SHARE = 0.5  # α: the share of a squared unit vector given to the value features
SOURCE_FILES = ("arguments-training.tsv", "labels-training.tsv")


@dataclass(frozen=True)
class ValueLens:
    """Per-value probe directions and the standardisation of their logits."""

    directions: np.ndarray  # (L, d) probe weights W
    intercepts: np.ndarray  # (L,)
    z_mean: np.ndarray  # (L,)
    z_scale: np.ndarray  # (L,)
    mean: np.ndarray  # (d,) μ, the training documents' mean vector
    basis: np.ndarray  # (L, d) Q, orthonormal rows spanning W
    label_names: tuple[str, ...]
    embedder: str  # the base embedder id the probes were fitted for
    source: str  # what it was fitted on (file names, rows, sha256)

    @cached_property
    def tag(self) -> str:
        """Part of the embedder id of every vector seen through this lens."""
        digest = hashlib.sha256(b"".join(np.ascontiguousarray(a, dtype=np.float64).tobytes() for a in (
            self.directions, self.intercepts, self.z_mean, self.z_scale, self.mean, self.basis))).hexdigest()[:10]
        return f"|{VALUE_LENS}-{digest}"

    def apply(self, x: np.ndarray) -> np.ndarray:
        """(n, d) base vectors → (n, L + d) unit vectors: value features beside the rest."""
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.directions.shape[1]:
            raise WorkbenchError(f"the value lens was fitted on {self.directions.shape[1]}-d vectors of "
                                 f"{self.embedder} and got {x.shape[-1]}-d ones: fit it for this embedder with "
                                 "'workbench lens fit'")
        z = unit_rows((x @ self.directions.T + self.intercepts - self.z_mean) / self.z_scale)
        centred = x - self.mean
        rest = unit_rows(centred - (centred @ self.basis.T) @ self.basis)
        return np.hstack([np.sqrt(VALUE_SHARE) * z, np.sqrt(1 - VALUE_SHARE) * rest])

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        np.savez_compressed(buffer, directions=self.directions, intercepts=self.intercepts, z_mean=self.z_mean,
                            z_scale=self.z_scale, mean=self.mean, basis=self.basis,
                            label_names=np.array(self.label_names), embedder=np.array(self.embedder),
                            source=np.array(self.source))
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> "ValueLens":
        with np.load(io.BytesIO(data)) as f:
            return cls(f["directions"], f["intercepts"], f["z_mean"], f["z_scale"], f["mean"], f["basis"],
                       tuple(str(x) for x in f["label_names"]), str(f["embedder"]), str(f["source"]))


def fit_probes(x: np.ndarray, labels: np.ndarray, c: float = PROBE_C) -> tuple[np.ndarray, np.ndarray]:
    """One balanced L2 logistic regression per label column.

    Args:
        x: (n, d) base vectors of the training documents.
        labels: (n, L) 0/1 gold labels; every column needs both classes.

    Returns:
        (L, d) weights, (L,) intercepts.
    """
    from sklearn.linear_model import LogisticRegression

    weights, intercepts = [], []
    for j, y in enumerate(np.asarray(labels).T):
        if y.min() == y.max():
            raise ValueError(f"label column {j} has one class only")
        model = LogisticRegression(C=c, max_iter=2000, class_weight="balanced").fit(x, y)
        weights.append(model.coef_[0])
        intercepts.append(model.intercept_[0])
    return np.array(weights), np.array(intercepts)


def fit_value_lens(x: np.ndarray, labels: np.ndarray, label_names: list[str], embedder: str, source: str,
                   c: float = PROBE_C) -> ValueLens:
    """The lens of (n, d) training vectors ``x`` with (n, L) gold ``labels``: probes, the mean and
    spread of their logits over the training documents, the documents' mean and the probes' span."""
    x = np.asarray(x, dtype=np.float64)
    weights, intercepts = fit_probes(x, labels, c)
    logits = x @ weights.T + intercepts
    basis = np.linalg.qr(weights.T)[0].T
    return ValueLens(weights, intercepts, logits.mean(axis=0), logits.std(axis=0), x.mean(axis=0), basis,
                     tuple(label_names), embedder, source)


@cache
def shipped_value_lens() -> ValueLens:
    """The lens shipped for the offline embedder (``value_lens.npz``)."""
    return ValueLens.from_bytes(resources.files(__package__).joinpath(LENS_FILE).read_bytes())


def encode_lens(lens: ValueLens) -> str:
    """Text form of a lens, as the project stores one (``workbench lens fit``)."""
    return base64.b64encode(lens.to_bytes()).decode("ascii")


def decode_lens(text: str) -> ValueLens:
    return ValueLens.from_bytes(base64.b64decode(text))


PROJECT_KEY = "value_lens"  # meta key of a project's own lens (``workbench lens fit``)


def project_value_lens(store: Store, base_embedder_id: str) -> ValueLens:
    """The lens ``workbench lens fit`` stored in the project for its (non-default) embedder, or
    a one-line refusal saying how to get one."""
    text = store.get_meta(PROJECT_KEY)
    how = (f"run 'workbench lens fit {store.path} --data ../shared/data/valueeval23' (fits it on ValueEval's "
           "training split with this embedder), or set roles.embedder.representation language-centered")
    if text is None:
        raise WorkbenchError(f"roles.embedder.representation {VALUE_LENS}: the shipped lens is for the offline "
                             f"embedder, and {base_embedder_id} has none in this project: {how}")
    lens = decode_lens(text)
    if lens.embedder != base_embedder_id:
        raise WorkbenchError(f"the project's value lens was fitted for {lens.embedder}, and the project now embeds "
                             f"with {base_embedder_id}: {how}")
    return lens
