"""A language-neutral offline value space, fitted and measured on a parallel reference set.

The offline embedder (multilingual-e5-small, 4-bit) places a text and its own translation far
apart: the language is a large part of every vector, so offline codes split by language and a
score between a Korean and an English group measures language before values. The parallel
reference set (``parallel_statements.json``: the same statements in English, Korean, Japanese
and Chinese, written for this project) is the ruler. Its *fit* part estimates what differs
between translations; its *held-back* part (a stable hash of the statement id) is never fitted
on and is what the tests and ``bench/language_neutrality.py`` measure.

Language spaces (``roles.embedder.representation``, offline embedder only):

- ``raw`` — e5 with the ``query:`` prefix, as before;
- ``passage`` — e5 with the ``passage:`` prefix;
- ``language-centered`` — ``query:`` minus the mean offset of the text's language (script-based
  guess of :mod:`workbench.language`), the offsets estimated on the fit part;
- ``language-subspace`` — ``query:`` with the top ``k`` directions of between-translation
  differences projected out (fitted on the fit part: the principal directions of each
  statement's vectors minus the mean over its translations). Needs no language guess.

``value-lens`` (``roles.embedder.representation value-lens``) is ``language-centered`` seen
through the value lens (:mod:`workbench.llm.value_lens`). ``language-centered``, the default, was chosen by
measurement (README, "Languages in offline mode"): on the held-back statements it and
``language-subspace`` both meet the targets, but it keeps ValueEval's label information (macro-F1 equal to raw, where removing more directions costs
F1) and transfers values across languages best. Its limit: a text whose script the guess does not
map to en/ko/ja/zh (``und``) gets no offset.

The fitted parameters ship in ``language_space.npz`` beside this file and the held-back figures
of every representation in ``language_space.json``; ``bench/language_neutrality.py --write``
regenerates both from the parallel set.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np

from ..codebook.vectors import unit_rows
from ..config import DEFAULT_REPRESENTATION, VALUE_LENS, Representation  # noqa: F401 (read here by tests and bench)
from ..language import detect_language

REPRESENTATIONS: tuple[str, ...] = ("raw", "passage", "language-centered", "language-subspace")  # language spaces
LENS_BASE = "language-centered"  # the language space the value lens is fitted on and applied after
SUBSPACE_K = 8  # directions removed by ``language-subspace``: more cost ValueEval F1 (see README)
HELD_BACK_SHARE = 3  # tenths of the statements held back
RATIO_TARGET = 1.5  # D(set, its translation) ≤ 1.5 × D(two halves of the set)
SHARE_TARGET = 0.7  # translation pairs that share their top code


def base_representation(name: str) -> str:
    """The language space under representation ``name`` (the value lens sits on ``LENS_BASE``)."""
    return LENS_BASE if name == VALUE_LENS else name


def is_held_back(statement_id: str) -> bool:
    """The fixed held-back split: about 30 % of statements, by a stable hash of the id."""
    return int(hashlib.sha256(statement_id.encode()).hexdigest(), 16) % 10 < HELD_BACK_SHARE


@dataclass(frozen=True)
class ParallelSet:
    """The parallel reference set: ``texts[lang][i]`` is statement ``ids[i]`` in ``lang``."""

    version: str
    ids: list[str]
    values: list[str | None]  # the Schwartz value a statement was written for; None = neutral
    texts: dict[str, list[str]]
    held_back: np.ndarray  # (n,) bool

    @property
    def languages(self) -> list[str]:
        return list(self.texts)


@cache
def load_parallel_set() -> ParallelSet:
    data = json.loads(resources.files(__package__).joinpath("parallel_statements.json").read_text("utf-8"))
    rows = data["statements"]
    ids = [r["id"] for r in rows]
    return ParallelSet(data["version"], ids, [r["value"] for r in rows],
                       {lang: [r[lang] for r in rows] for lang in data["languages"]},
                       np.array([is_held_back(i) for i in ids]))


def language_offsets(emb: np.ndarray) -> np.ndarray:
    """Mean offset of each language from the mean over languages.

    Args:
        emb: (L, n, d) unit embeddings of n statements in L languages (row i = one statement).

    Returns:
        (L, d) offsets; subtracting row l from a language-l vector removes the mean language shift.
    """
    means = emb.mean(axis=1)
    return means - means.mean(axis=0)


def between_language_basis(emb: np.ndarray, k: int) -> np.ndarray:
    """The top ``k`` directions along which translations of one statement differ.

    Each statement's vectors minus their mean over its translations (so the statement's
    meaning cancels and language remains, mean shift included) are stacked and their top right
    singular vectors returned.

    Args:
        emb: (L, n, d) unit embeddings of n statements in L languages.
        k: directions to return (≤ (L - 1)·n).

    Returns:
        (k, d) orthonormal rows.
    """
    residual = (emb - emb.mean(axis=0, keepdims=True)).reshape(-1, emb.shape[-1])
    _, _, vt = np.linalg.svd(residual, full_matrices=False)
    return vt[:k]


def project_out(x: np.ndarray, basis: np.ndarray) -> np.ndarray:
    """Unit rows of ``x`` (n, d) with the span of ``basis`` (k, d, orthonormal) removed."""
    return unit_rows(x - (x @ basis.T) @ basis)


def subtract_offsets(x: np.ndarray, languages: list[str], offsets: dict[str, np.ndarray]) -> np.ndarray:
    """Unit rows of ``x`` (n, d) minus the offset of each row's language (none when unknown)."""
    shift = np.stack([offsets.get(lang, np.zeros(x.shape[1])) for lang in languages]) if len(x) else 0
    return unit_rows(x - shift)


@dataclass(frozen=True)
class LanguageSpace:
    """A representation with its fitted parameters: what the gateway applies to e5 vectors."""

    name: str
    offsets: dict[str, np.ndarray]
    basis: np.ndarray  # (k, d)

    @property
    def prefix(self) -> str:
        return "passage" if self.name == "passage" else "query"

    @property
    def tag(self) -> str:
        """Part of the embedding cache key: vectors of two representations are never mixed."""
        k = f"-k{len(self.basis)}" if self.name == "language-subspace" else ""
        return "" if self.name == "raw" else f"|{self.name}{k}|parallel-v{load_parallel_set().version}"

    def apply(self, texts: list[str], vectors: np.ndarray) -> np.ndarray:
        if self.name == "language-centered":
            return subtract_offsets(vectors, [detect_language(t) for t in texts], self.offsets)
        if self.name == "language-subspace":
            return project_out(vectors, self.basis)
        return vectors


def fit_language_space(name: str, query_emb: np.ndarray, languages: list[str], k: int = SUBSPACE_K) -> LanguageSpace:
    """Fit representation ``name`` on (L, n, d) ``query:`` embeddings of the fit statements."""
    if name not in REPRESENTATIONS:
        raise ValueError(f"unknown representation {name!r}; known: {', '.join(REPRESENTATIONS)}")
    offsets = dict(zip(languages, language_offsets(query_emb))) if name == "language-centered" else {}
    basis = between_language_basis(query_emb, k) if name == "language-subspace" else np.zeros((0, query_emb.shape[-1]))
    return LanguageSpace(name, offsets, basis)


PARAMETERS_FILE = "language_space.npz"
FIGURES_FILE = "language_space.json"


@cache
def shipped_language_space(name: str) -> LanguageSpace:
    """Representation ``name`` with the parameters shipped in ``language_space.npz``."""
    if name not in REPRESENTATIONS:
        raise ValueError(f"unknown representation {name!r}; known: {', '.join(REPRESENTATIONS)}")
    with resources.files(__package__).joinpath(PARAMETERS_FILE).open("rb") as fh:
        data = np.load(fh)
        languages = [str(x) for x in data["languages"]]
        offsets = dict(zip(languages, data["offsets"])) if name == "language-centered" else {}
        basis = data["basis"] if name == "language-subspace" else np.zeros((0, data["basis"].shape[1]))
    return LanguageSpace(name, offsets, basis)


def shipped_figures() -> dict[str, dict]:
    """Held-back figures of every representation as the bench measured them (``language_space.json``)."""
    return json.loads(resources.files(__package__).joinpath(FIGURES_FILE).read_text("utf-8"))
