"""Content words of an expression, per language, for offline code names.

A name made of function words ("있습니다 · 있는 · 합니다") says nothing about a code, so each language
has its own way to words and its own stop list, shipped in ``stopwords/{lang}.txt``:

- **en** (and any other space-separated Latin text): words of two letters or more, minus
  scikit-learn's English stop words and ``en.txt``;
- **ko**: Hangul words with their trailing particles and copula stripped (교사들이 → 교사,
  전통입니다 → 전통), the noun of noun + 하다/되다 verbs (효도하는 → 효도), minus other words ending in
  a verb or adjective ending (있습니다, 많은) and ``ko.txt``;
- **ja**: runs of kanji or katakana (hiragana is mostly grammar), minus ``ja.txt``;
- **zh**: Han runs cut at the words and single function characters of ``zh.txt``, read as
  two-character words (Chinese has no spaces).

No morphological analyser can be installed offline for all four, so these are rules, not parsing:
a Korean noun that ends like a particle may lose its last syllable, and a Chinese pair may
straddle two words (c-TF-IDF favours the frequent, real words).
"""
from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from importlib import resources

from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

_LATIN_WORD = re.compile(r"(?u)\b[^\W\d_][^\W\d_]+\b")
_HANGUL_WORD = re.compile(r"[가-힣]+")
_JA_WORD = re.compile(r"[\u4e00-\u9fff々]{2,}|[\u30a1-\u30faー]{2,}")
_HAN_RUN = re.compile(r"[\u4e00-\u9fff]+")
# Particles stripped from the end of a Korean word (longest first), at most twice (교사들이 → 교사).
_KO_PARTICLES = sorted("에서는 에게서 으로서 으로써 으로는 에서 에게 한테 께서 까지 부터 으로 처럼 보다 라도 이나 에는 "
                       "과는 와는 로서 로써 은 는 이 가 을 를 의 에 께 로 와 과 도 만 들 "
                       # the copula written onto its noun (전통입니다 → 전통)
                       "입니다 이었습니다 였습니다 이었다 이라는 이라고 이며 이고 인데 이다".split(), key=len, reverse=True)
# Noun + 하다/되다 verbs (효도하는 → 효도, 보장해야 → 보장): the noun is the content word.
_KO_VERB_OF_NOUN = re.compile(r"^(.{2,}?)(하는|하고|합니다|해야|하여|해서|했다|한다|하게|하기|하면|하지|했습니다|하며|할|한|"
                              r"해|하다|해주세요|하겠습니다|됩니다|되는|된다|되어|되고|되지|되었습니다|시키는|시켜야)$")
# A Korean word ending so is a predicate (verb, adjective or copula), not a noun.
_KO_PREDICATE = re.compile(r"(습니다|니다|는데|지만|면서|도록|으며|하고|하는|하여|해서|해야|하게|하기|하면|하지|한다|했다|"
                           r"된다|되는|되어|되고|되지|있는|없는|있고|없고|있다|없다|였다|었다|았다|겠다|이다|네요|어요|"
                           r"아요|세요|시오|는지|라고|다고|다는|라는|려고|으려|겠습|적인|스러운|스럽게)$")


@cache
def stop_words(language: str) -> frozenset[str]:
    """The shipped stop list of ``language`` (empty for a language without one)."""
    path = resources.files(__package__).joinpath("stopwords", f"{language}.txt")
    if not path.is_file():
        return frozenset()
    words = {w.strip() for w in path.read_text("utf-8").splitlines() if w.strip() and not w.startswith("#")}
    return frozenset(words | (ENGLISH_STOP_WORDS if language == "en" else set()))


def _latin_words(text: str, stop: frozenset[str]) -> list[str]:
    return [w for w in _LATIN_WORD.findall(text.lower()) if w not in stop]


def _korean_stem(word: str) -> str:
    for _ in range(2):
        particle = next((p for p in _KO_PARTICLES if word.endswith(p) and len(word) - len(p) >= 2), None)
        if particle is None:
            break
        word = word[: -len(particle)]
    return word


def _korean_words(text: str, stop: frozenset[str]) -> list[str]:
    words = []
    for word in _HANGUL_WORD.findall(text):
        if word in stop:
            continue
        verb = _KO_VERB_OF_NOUN.match(word)
        if verb:
            stem = verb.group(1)
        elif _KO_PREDICATE.search(word):
            continue
        else:
            stem = _korean_stem(word)
        if len(stem) >= 2 and stem not in stop:
            words.append(stem)
    return words


def _japanese_words(text: str, stop: frozenset[str]) -> list[str]:
    return [w for w in _JA_WORD.findall(text) if w not in stop]


def _chinese_words(text: str, stop: frozenset[str]) -> list[str]:
    """Han runs cut at stop words; a segment of three characters is a word, one of even length is
    read as two-character words, a longer odd one as overlapping bigrams."""
    cut = re.compile("|".join(sorted(map(re.escape, stop), key=len, reverse=True)) or "$^")
    words = []
    for segment in (s for run in _HAN_RUN.findall(text) for s in cut.split(run) if len(s) >= 2):
        step = 2 if len(segment) % 2 == 0 else 1
        words += [segment] if len(segment) == 3 else [segment[i:i + 2] for i in range(0, len(segment) - 1, step)]
    return words


_ANALYSERS: dict[str, Callable[[str, frozenset[str]], list[str]]] = {
    "ko": _korean_words, "ja": _japanese_words, "zh": _chinese_words}


def content_words(text: str, language: str) -> list[str]:
    """The content words of ``text`` written in ``language`` (ISO code; others read as Latin)."""
    return _ANALYSERS.get(language, _latin_words)(text, stop_words(language))
