"""Honest non-LLM strategies for the LLM roles, used when no endpoint is configured.

No instruction-following LLM can be installed from the package registries this workbench relies
on, so the offline default does not pretend to be one. Each strategy says what it does:

- **extractor** — :class:`ExtractiveRecognizer`, an *extractive* value recognizer. It splits a
  document into sentences and keeps the M' sentences most value-laden, verbatim ("in vivo" codes in
  qualitative coding). Value-ladenness is the contrast ``max cos(sentence, value prototypes) −
  max cos(sentence, neutral prototypes)`` in the multilingual-e5 space, against prototype
  statements of Schwartz's ten basic values written for this project
  (``value_prototypes.json``). The contrast calibrates itself: e5's cosines sit in a narrow band
  (≈0.7–0.9) and an absolute threshold would not transfer across languages or corpora.
  Limits: it copies sentences instead of abstracting them, cannot tell endorsed from opposed
  positions (the App. G prompt asks an LLM to), and its code name is only the nearest Schwartz
  value, a hint for reviewers rather than a code.
- **namer** — see ``workbench.codebook`` (keyword / medoid naming); used by the EM loop.

Every output records the strategy label below, and reports print "offline extractive mode".
"""
from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from importlib import resources

import numpy as np

EXTRACTIVE_STRATEGY = "offline-extractive-v1"

# Sentence ends in Latin, Korean, Japanese and Chinese text; line breaks always end a sentence.
_SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s+|(?<=[。！？])|\n+")
_MIN_CHARS = {"cjk": 6, "other": 12}


def split_sentences(text: str, max_chars: int = 400) -> list[str]:
    """Split a document into sentences; fragments too short to carry a value are dropped and
    very long sentences are cut at ``max_chars``."""
    sentences = []
    for raw in _SENTENCE_END.split(text):
        sentence = " ".join(raw.split())
        if not sentence:
            continue
        cjk = sum(1 for ch in sentence if ord(ch) >= 0x1100)
        floor = _MIN_CHARS["cjk"] if cjk > len(sentence) / 3 else _MIN_CHARS["other"]
        if len(sentence) < floor or (not cjk and len(sentence.split()) < 3):
            continue
        sentences.append(sentence[:max_chars])
    return sentences


@dataclass(frozen=True)
class ExtractedExpression:
    text: str
    code_name: str
    score: float


class ExtractiveRecognizer:
    """Offline extractor: top-M' value-laden sentences of a document (see module docstring)."""

    strategy = EXTRACTIVE_STRATEGY

    def __init__(self, embed, max_expressions: int = 5, max_sentence_chars: int = 400,
                 exclude: Callable[[str], bool] | None = None):
        self.embed = embed
        self.exclude = exclude  # sentences never kept (e.g. text addressed to a model)
        self.max_expressions = max_expressions
        self.max_sentence_chars = max_sentence_chars
        data = json.loads(resources.files(__package__).joinpath("value_prototypes.json").read_text("utf-8"))
        self.value_names = [name for name, texts in data["values"].items() for _ in texts]
        self.value_texts = [t for texts in data["values"].values() for t in texts]
        self.neutral_texts = data["neutral"]
        self.version = data["version"]

    @cached_property
    def _prototypes(self) -> tuple[np.ndarray, np.ndarray]:
        return self.embed(self.value_texts), self.embed(self.neutral_texts)

    def value_ladenness(self, sentence_emb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Contrast score per sentence (n,) and index of the nearest value prototype (n,)."""
        values, neutral = self._prototypes
        sim_v = sentence_emb @ values.T
        sim_n = sentence_emb @ neutral.T
        return sim_v.max(axis=1) - sim_n.max(axis=1), sim_v.argmax(axis=1)

    def _candidates(self, text: str) -> list[str]:
        sentences = split_sentences(text, self.max_sentence_chars) or [" ".join(text.split())[: self.max_sentence_chars]]
        return [s for s in sentences if not (self.exclude and self.exclude(s))]

    def extract_many(self, texts: list[str]) -> list[list[ExtractedExpression]]:
        """Expressions for each document. A document keeps the sentences with a positive contrast
        (closer to a value than to neutral prose), at most M', and always its best sentence."""
        per_doc = [self._candidates(t) for t in texts]
        flat = [s for sentences in per_doc for s in sentences]
        emb = self.embed(flat) if flat else np.zeros((0, 0), np.float32)
        scores, nearest = self.value_ladenness(emb) if flat else (np.zeros(0), np.zeros(0, int))
        results, offset = [], 0
        for sentences in per_doc:
            if not sentences:
                results.append([])
                continue
            idx = np.arange(offset, offset + len(sentences))
            offset += len(sentences)
            order = idx[np.argsort(-scores[idx], kind="stable")]
            keep = [i for i in order[: self.max_expressions] if scores[i] > 0] or [order[0]]
            keep.sort()  # document order
            results.append([ExtractedExpression(flat[i], self.value_names[nearest[i]], float(scores[i]))
                            for i in keep])
        return results
