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
  A sentence that restates the document's topic (ValueEval's conclusion, a petition's title) is
  not an expression of the author's values but of the question; it would otherwise win, being
  the most "value-laden" sentence of many documents, and codes would follow topics. Such
  sentences are dropped (:func:`restates_topic`).
  Limits: it copies sentences instead of abstracting them, cannot tell endorsed from opposed
  positions (the App. G prompt asks an LLM to), and its code name is only the nearest Schwartz
  value, a hint for reviewers rather than a code.
- **namer** — see ``workbench.codebook`` (keyword / medoid naming); used by the EM loop.

Every output records the strategy label below, and reports print "offline extractive mode".
"""
from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache, cached_property
from importlib import resources

import numpy as np

EXTRACTIVE_STRATEGY = "offline-extractive-v2"

# Sentence ends in Latin, Korean, Japanese and Chinese text; line breaks always end a sentence.
_SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s+|(?<=[。！？])|\n+")
_MIN_CHARS = {"cjk": 6, "other": 12}
# A topic restatement: cosine to the topic at or above this (e5 "query:" space; measured on
# ValueEval: "fast food should be banned." vs "We should ban fast food" 0.98, a paraphrase 0.96,
# a restatement with its reason ≤ 0.945), or most of its words taken from the topic.
RESTATEMENT_COSINE = 0.955
RESTATEMENT_WORDS = 0.8
_WORD = re.compile(r"[^\W\d_]+")
_CJK_RUN = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff]+")


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


def word_units(text: str) -> set[str]:
    """Lower-cased words; Japanese and Chinese runs (no spaces) as character bigrams."""
    units = set()
    for word in _WORD.findall(text.lower()):
        runs = _CJK_RUN.findall(word)
        if not runs:
            units.add(word)
            continue
        for run in runs:
            units.update(run[i:i + 2] for i in range(max(len(run) - 1, 1)))
        units.update(_CJK_RUN.sub(" ", word).split())
    return units


def restates_topic(sentence: str, topic: str, cosine: float) -> bool:
    """Whether ``sentence`` only restates ``topic``: a near-duplicate in embedding (``cosine`` of the
    two, ≥ RESTATEMENT_COSINE) or in words (≥ RESTATEMENT_WORDS of the sentence's words occur in
    the topic). A sentence that restates the topic and gives a reason keeps its other words."""
    if cosine >= RESTATEMENT_COSINE:
        return True
    words = word_units(sentence)
    return bool(words) and len(words & word_units(topic)) >= RESTATEMENT_WORDS * len(words)


@dataclass(frozen=True)
class ValuePrototypes:
    value_names: list[str]  # the Schwartz value of each prototype statement
    value_texts: list[str]
    neutral_texts: list[str]
    version: str


@cache
def load_value_prototypes() -> ValuePrototypes:
    """The prototype statements of ``value_prototypes.json``, flattened."""
    data = json.loads(resources.files(__package__).joinpath("value_prototypes.json").read_text("utf-8"))
    return ValuePrototypes([name for name, texts in data["values"].items() for _ in texts],
                           [t for texts in data["values"].values() for t in texts], data["neutral"], data["version"])


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
        prototypes = load_value_prototypes()
        self.value_names, self.value_texts = prototypes.value_names, prototypes.value_texts
        self.neutral_texts, self.version = prototypes.neutral_texts, prototypes.version

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

    def _without_restatements(self, per_doc: list[list[str]], topics: Sequence[str | None]) -> list[list[str]]:
        """Each document's candidates minus the sentences restating its topic."""
        pairs = [(d, s) for d, (sentences, topic) in enumerate(zip(per_doc, topics)) if topic for s in sentences]
        if not pairs:
            return per_doc
        unique_topics = sorted({topics[d] for d, _ in pairs})
        topic_emb = dict(zip(unique_topics, self.embed(unique_topics)))
        sentence_emb = self.embed([s for _, s in pairs])
        drop = {(d, s) for (d, s), e in zip(pairs, sentence_emb)
                if restates_topic(s, topics[d], float(e @ topic_emb[topics[d]]))}
        return [[s for s in sentences if (d, s) not in drop] for d, sentences in enumerate(per_doc)]

    def extract_many(self, texts: list[str], topics: Sequence[str | None] | None = None
                     ) -> list[list[ExtractedExpression]]:
        """Expressions for each document. A document keeps the sentences with a positive contrast
        (closer to a value than to neutral prose), at most M', and always its best sentence;
        sentences restating the document's topic (``topics``, one per text or None) are never
        kept, and a document that only restates its topic has no expressions."""
        per_doc = [self._candidates(t) for t in texts]
        if topics is not None:
            per_doc = self._without_restatements(per_doc, topics)
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
