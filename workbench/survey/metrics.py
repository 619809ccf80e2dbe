"""Distances between model and human answer distributions, and response diversity.

Liu et al. (2025) measure alignment as the Kullback-Leibler divergence between the human and the
model preference distribution of each question, averaged per value dimension and per country, and
report response diversity. Here:

- ``kl_divergence(h, m) = sum_i h_i ln(h_i / m~_i)`` in nats, KL(human || model): the human
  distribution is the reference. A model that never chose an option a human chose would give an
  infinite KL, so the *model* distribution is smoothed additively over the k options:
  ``m~_i = (m_i + epsilon) / (1 + k * epsilon)`` with ``epsilon = KL_EPSILON`` (1e-6,
  :mod:`workbench.survey.config`) by default. The human side is not smoothed; its zero shares
  contribute 0 (0 ln 0 = 0). With 1e-6, an option the model never chose but humans did with share
  h costs about h ln(h / 1e-6) nats (h = 0.1: 0.1 ln 1e5 = 1.15), so a run with no answer
  diversity has a KL dominated by epsilon; every KL is therefore labelled with its epsilon
  (:func:`kl_label`).
- ``js_distance``: the Jensen-Shannon distance (square root of the JS divergence) with base-2
  logarithms, so it lies in [0, 1] and needs no smoothing.
- diversity: the Shannon entropy (bits) of the model's answer distribution and the number of
  distinct answers given to a question.

Array inputs are 1-D shares or counts over a question's options, shape (k,); they are normalised
here. No I/O.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.spatial.distance import jensenshannon

from workbench.survey.answers import ParsedAnswer
from workbench.survey.config import KL_EPSILON
from workbench.survey.questionnaire import Survey
from workbench.vocabulary import SURVEY_METHODS


def _distribution(p: Sequence[float] | np.ndarray, name: str) -> np.ndarray:
    a = np.asarray(p, dtype=float)
    if a.ndim != 1 or a.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array, got shape {a.shape}")
    if not np.all(np.isfinite(a)) or np.any(a < 0):
        raise ValueError(f"{name} must be finite and non-negative")
    total = a.sum()
    if total <= 0:
        raise ValueError(f"{name} has no mass (all zeros)")
    return a / total


def smooth(p: Sequence[float] | np.ndarray, epsilon: float = KL_EPSILON) -> np.ndarray:
    """Additive smoothing ``(p_i + epsilon) / (1 + k epsilon)`` of a normalised distribution."""
    if epsilon < 0:
        raise ValueError(f"epsilon must be >= 0, got {epsilon}")
    a = _distribution(p, "p")
    return (a + epsilon) / (1.0 + a.size * epsilon)


def kl_label(epsilon: float = KL_EPSILON) -> str:
    """The name a KL value is shown and stored under, with its smoothing: ``KL (ε = 1e-6)``."""
    mantissa, _, exponent = f"{epsilon:g}".partition("e")
    return f"KL (ε = {mantissa}e{int(exponent)})" if exponent else f"KL (ε = {mantissa})"


def kl_divergence(human: Sequence[float] | np.ndarray, model: Sequence[float] | np.ndarray,
                  epsilon: float = KL_EPSILON) -> float:
    """KL(human || smoothed model) in nats; shapes (k,) and (k,)."""
    h = _distribution(human, "human")
    m = smooth(model, epsilon)
    if h.shape != m.shape:
        raise ValueError(f"human has {h.size} options but model has {m.size}")
    mask = h > 0
    if np.any(m[mask] == 0):
        return math.inf  # only reachable with epsilon = 0
    return float(np.sum(h[mask] * np.log(h[mask] / m[mask])))


def js_distance(human: Sequence[float] | np.ndarray, model: Sequence[float] | np.ndarray) -> float:
    """Jensen-Shannon distance, base 2, in [0, 1]; symmetric; shapes (k,) and (k,)."""
    h = _distribution(human, "human")
    m = _distribution(model, "model")
    if h.shape != m.shape:
        raise ValueError(f"human has {h.size} options but model has {m.size}")
    with np.errstate(invalid="ignore"):  # near-equal distributions: sqrt of a rounding-negative divergence
        js = jensenshannon(h, m, base=2)
    return float(min(1.0, max(0.0, 0.0 if np.isnan(js) else js)))


def entropy(p: Sequence[float] | np.ndarray, base: float = 2.0) -> float:
    """Shannon entropy of a distribution (bits by default), 0 log 0 = 0."""
    a = _distribution(p, "p")
    nz = a[a > 0]
    return float(-np.sum(nz * np.log(nz)) / math.log(base))


@dataclass(frozen=True)
class AnswerDistribution:
    """Model answers to one question: ``counts`` of mentions per option, ``shares`` = counts / sum.

    A multiple-choice answer adds 1 to each option it names, so shares are shares of mentions (the
    same as a human "% choosing each option" table renormalised to sum 1). ``shares`` is all zeros
    when no answer was valid.
    """

    counts: np.ndarray
    shares: np.ndarray
    n_valid: int
    n_invalid: int


def answers_to_distribution(answers: Iterable[ParsedAnswer], options: Sequence[str]) -> AnswerDistribution:
    """Count valid parsed answers over ``options`` (in that order); invalid ones are only counted."""
    index = {o: i for i, o in enumerate(options)}
    counts = np.zeros(len(options), dtype=float)
    valid = invalid = 0
    for a in answers:
        if not a.valid or not a.options:
            invalid += 1
            continue
        valid += 1
        for o in set(a.options):
            if o not in index:
                raise ValueError(f"answer option {o!r} is not one of {list(options)!r}")
            counts[index[o]] += 1
    total = counts.sum()
    shares = counts / total if total > 0 else np.zeros_like(counts)
    return AnswerDistribution(counts=counts, shares=shares, n_valid=valid, n_invalid=invalid)


def distinct_answers(answers: Iterable[ParsedAnswer]) -> int:
    """How many different valid answers (option sets, for multiple choice) were given."""
    return len({frozenset(a.options) for a in answers if a.valid and a.options})


@dataclass(frozen=True)
class QuestionScore:
    """One country x question comparison; ``kl``/``js``/``entropy`` are NaN when ``n`` is 0."""

    country: str
    question_id: str
    dimension: str | None
    kl: float
    js: float
    entropy: float
    distinct: int
    n: int
    n_invalid: int


def score_questions(
    survey: Survey,
    model_answers: Mapping[str, Mapping[str, Sequence[ParsedAnswer]]],
    *,
    group: str | None = None,
    epsilon: float = KL_EPSILON,
) -> list[QuestionScore]:
    """Compare ``model_answers[country][question_id]`` with the survey's human distributions.

    ``group`` compares against that demographic group's distributions instead of the country's.
    Country x question pairs without a human distribution are skipped (nothing to compare with);
    an unknown question id raises ``KeyError``.
    """
    scores = []
    for country, by_question in model_answers.items():
        human = survey.human.get(country, {}) if group is None \
            else survey.groups.get(country, {}).get(group, {})
        for qid, answers in by_question.items():
            question = survey.question(qid)
            if qid not in human:
                continue
            dist = answers_to_distribution(answers, question.options)
            if dist.n_valid:
                h = survey.distribution(country, qid, group)
                kl = kl_divergence(h, dist.shares, epsilon)
                js = js_distance(h, dist.shares)
                ent = entropy(dist.shares)
            else:
                kl = js = ent = math.nan
            scores.append(QuestionScore(
                country=country, question_id=qid, dimension=question.dimension, kl=kl, js=js,
                entropy=ent, distinct=distinct_answers(answers), n=dist.n_valid,
                n_invalid=dist.n_invalid,
            ))
    return scores


@dataclass(frozen=True)
class ScoreSummary:
    """Means over the questions with at least one valid answer (``n`` of them)."""

    kl: float
    js: float
    entropy: float
    distinct: float
    n: int
    n_unanswered: int


def average_scores(
    scores: Iterable[QuestionScore], by: Literal["question", "dimension", "country"]
) -> dict[str, ScoreSummary]:
    """Average per question id, per value dimension or per country, each question weighted equally.

    Questions without a dimension are left out of the per-dimension averages.
    """
    key = {"question": lambda s: s.question_id, "dimension": lambda s: s.dimension,
           "country": lambda s: s.country}[by]
    buckets: dict[str, list[QuestionScore]] = {}
    for s in scores:
        k = key(s)
        if k is not None:
            buckets.setdefault(k, []).append(s)
    out = {}
    for k, items in buckets.items():
        answered = [s for s in items if s.n > 0]
        mean = (lambda xs: float(np.mean(xs)) if xs else math.nan)
        out[k] = ScoreSummary(
            kl=mean([s.kl for s in answered]), js=mean([s.js for s in answered]),
            entropy=mean([s.entropy for s in answered]),
            distinct=mean([s.distinct for s in answered]),
            n=len(answered), n_unanswered=len(items) - len(answered),
        )
    return out


def score_rows(scores: Iterable[QuestionScore], source: str,
               metric: Literal["kl", "js"] = "kl") -> list[dict]:
    """Rows shaped like DOVE's score table: ``{group, source, method, value, n}``, one per country.

    ``group`` is the country, ``source`` the model, ``method`` ``survey-KL`` (or ``survey-JS``),
    ``value`` the mean over answered questions and ``n`` the number of those questions.
    """
    rows = []
    for country, summary in average_scores(scores, "country").items():
        rows.append({
            "group": country, "source": source, "method": SURVEY_METHODS[metric],
            "value": getattr(summary, metric), "n": summary.n,
        })
    return rows
