"""Offline code naming: c-TF-IDF keywords over a code's expressions in each language present, the
nearest value prototype as a hint, and central expressions.

The offline namer cannot write a value name the way the App. G naming prompt asks an LLM to; it
labels a code by the words that set its expressions apart from every other code's (class-based
TF-IDF, as BERTopic does: term frequency within the code × log(1 + average words per code ÷ the
term's frequency across codes)). Words are read per language (``workbench.codebook.words``: stop
lists and endings of en/ko/ja/zh) and c-TF-IDF is computed across codes within each language, so a
code written in Korean and English is named by both, e.g. "tradition · 전통 · 효도 (≈ tradition)".
The hint in brackets is the Schwartz value whose prototype statements lie nearest the centroid.
Annotators audit and rename these.
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

import numpy as np
from sklearn.feature_extraction.text import CountVectorizer

from ..language import detect_language
from .words import content_words

OFFLINE_NAMER = "offline-ctfidf-v2"
MIN_LANGUAGE_SHARE = 0.2  # a language names a code when it writes at least this share of its expressions


def central_order(member_emb: np.ndarray, centroid: np.ndarray) -> np.ndarray:
    """Indices of a code's members from most to least central (cosine to the centroid)."""
    return np.argsort(-(member_emb @ centroid), kind="stable")


def _ctfidf(words_per_code: Sequence[list[str]], top_n: int) -> list[list[str]]:
    """Top ``top_n`` c-TF-IDF terms per code from its words (codes without words: [])."""
    vectorizer = CountVectorizer(analyzer=lambda words: words)
    try:
        counts = vectorizer.fit_transform(words_per_code).toarray().astype(float)
    except ValueError:  # no words at all
        return [[] for _ in words_per_code]
    vocab = vectorizer.get_feature_names_out()
    tf = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    avg_words = counts.sum() / max(len(words_per_code), 1)
    scores = tf * np.log1p(avg_words / np.maximum(counts.sum(axis=0), 1))
    return [[str(vocab[i]) for i in np.argsort(-row, kind="stable") if count_row[i] > 0][:top_n]
            for row, count_row in zip(scores, counts)]


def ctfidf_keywords(texts_per_code: Sequence[Sequence[str]], top_n: int = 3) -> list[list[str]]:
    """Top ``top_n`` keywords per code: c-TF-IDF across codes within each language, taken in turn
    from the code's languages (those writing ≥ MIN_LANGUAGE_SHARE of it, most used first);
    codes with no usable words get ``[]``."""
    languages = [[detect_language(t) for t in texts] for texts in texts_per_code]
    per_language = {
        lang: _ctfidf([[w for t, tl in zip(texts, langs) if tl == lang for w in content_words(t, lang)]
                       for texts, langs in zip(texts_per_code, languages)], top_n)
        for lang in sorted({lang for langs in languages for lang in langs})}
    keywords = []
    for code, langs in enumerate(languages):
        ranked = Counter(langs).most_common()
        lists = [per_language[lang][code] for lang, n in ranked
                 if n >= MIN_LANGUAGE_SHARE * len(langs) or lang == ranked[0][0]]
        merged: list[str] = []
        for rank in range(top_n):
            merged += [words[rank] for words in lists if rank < len(words) and words[rank] not in merged]
        keywords.append(merged[:top_n])
    return keywords


def nearest_value(centroid: np.ndarray, prototype_emb: np.ndarray, prototype_values: Sequence[str]) -> str | None:
    """The value whose nearest prototype statement is closest to ``centroid`` (cosine), or None when
    the centroid is not in the prototypes' embedding space (another dimension)."""
    if prototype_emb.ndim != 2 or centroid.shape[-1] != prototype_emb.shape[1]:
        return None
    return prototype_values[int(np.argmax(prototype_emb @ centroid))]


def keyword_name(keywords: Sequence[str], central_text: str, hint: str | None = None) -> str:
    """A display name from keywords (or the start of the most central expression) and the nearest
    value as a hint: "tradition · 전통 · 효도 (≈ tradition)"."""
    if keywords:
        name = " · ".join(keywords)
    else:
        words = re.sub(r"\s+", " ", central_text).strip().split(" ")
        name = " ".join(words[:6]) + ("…" if len(words) > 6 else "")
    return f"{name} (≈ {hint.lower()})" if hint else name
