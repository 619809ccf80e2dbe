"""Offline code naming: c-TF-IDF keywords over a code's expressions, and central expressions.

The offline namer cannot write a value name the way the App. G naming prompt asks an LLM to; it
labels a code by the words that set its expressions apart from every other code's (class-based
TF-IDF, as BERTopic does: term frequency within the code × log(1 + average words per code ÷ the
term's frequency across codes)), e.g. "family · elders · care". Annotators audit and rename these.
"""
from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer

OFFLINE_NAMER = "offline-ctfidf-v1"
# Words of the App. G description template and generic argument words carry no value content.
_EXTRA_STOP = {"author", "authors", "believes", "values", "value", "should", "people", "think", "favor", "favour",
               "against", "important", "importance", "need", "needs", "like", "make", "just", "really", "want",
               # fragments of contractions ("isn't", "don't") left by the tokenizer
               "isn", "aren", "wasn", "weren", "don", "doesn", "didn", "won", "wouldn", "shouldn", "couldn", "ll", "ve", "re"}
_TOKEN = r"(?u)\b[^\W\d_][^\W\d_]+\b"


def central_order(member_emb: np.ndarray, centroid: np.ndarray) -> np.ndarray:
    """Indices of a code's members from most to least central (cosine to the centroid)."""
    return np.argsort(-(member_emb @ centroid), kind="stable")


def ctfidf_keywords(texts_per_code: Sequence[Sequence[str]], top_n: int = 3) -> list[list[str]]:
    """Top ``top_n`` c-TF-IDF terms per code; codes with no usable words get ``[]``."""
    docs = [" ".join(texts) for texts in texts_per_code]
    stop = sorted(ENGLISH_STOP_WORDS | _EXTRA_STOP)
    vectorizer = CountVectorizer(token_pattern=_TOKEN, stop_words=stop, lowercase=True)
    try:
        counts = vectorizer.fit_transform(docs).toarray().astype(float)
    except ValueError:  # no words at all
        return [[] for _ in docs]
    vocab = vectorizer.get_feature_names_out()
    tf = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    avg_words = counts.sum() / max(len(docs), 1)
    idf = np.log1p(avg_words / np.maximum(counts.sum(axis=0), 1))
    scores = tf * idf
    keywords = []
    for row, count_row in zip(scores, counts):
        order = [i for i in np.argsort(-row, kind="stable") if count_row[i] > 0][:top_n]
        keywords.append([str(vocab[i]) for i in order])
    return keywords


def keyword_name(keywords: Sequence[str], central_text: str) -> str:
    """A display name from keywords, or the start of the most central expression."""
    if keywords:
        return " · ".join(keywords)
    words = re.sub(r"\s+", " ", central_text).strip().split(" ")
    return " ".join(words[:6]) + ("…" if len(words) > 6 else "")
