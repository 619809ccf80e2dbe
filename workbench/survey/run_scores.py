"""Scores of a simulated survey run, from its stored responses.

Per country x question: KL(human || smoothed model) and the Jensen-Shannon distance
(:mod:`workbench.survey.metrics`, smoothing epsilon = ``KL_EPSILON`` on the model side, named in
the KL label), the answer entropy (bits) and the number of distinct answers; averaged per country
and per value dimension (Liu et al. 2025). A country whose respondents all gave the same answer to
every question (zero diversity) is flagged: its KL measures one answer, mostly through epsilon, not
a distribution. The per-country means go to the ``scores`` table in DOVE's format, so that the validity
checks treat the baseline as one more method:

    method = survey-KL | survey-JS, group_name = country, source = the model (for a run with all
    three DEF modifications on; an ablation run's source is its run name, e.g. ``M/no-DEF``, so
    that it neither overwrites nor poses as the model's DEF score), value = mean over the
    country's answered questions, ci_low/ci_high = percentile bootstrap over respondents,
    n_group = questions compared, n_source = valid answers, config = {run, survey, DEF settings, ...}

Unparseable replies and failed calls are counted and excluded from every distribution.
"""
from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from ..errors import WorkbenchError
from ..store import Store
from .answers import ParsedAnswer
from .importer import load_stored_survey
from .config import KL_EPSILON
from .metrics import (SURVEY_METHODS, QuestionScore, ScoreSummary, average_scores, js_distance, kl_divergence,
                      kl_label, score_questions)
from .questionnaire import Survey

N_BOOT = 200
CI_LEVEL = 0.95


@dataclass(frozen=True)
class CountryScore:
    country: str
    kl: float
    js: float
    kl_ci: tuple[float, float]
    js_ci: tuple[float, float]
    questions: int  # compared (at least one valid answer and a human distribution)
    respondents: int
    valid: int
    unparseable: int
    failed: int
    entropy: float  # mean over the compared questions, bits
    distinct: float  # mean distinct answers per compared question


@dataclass
class RunScores:
    run_name: str
    model: str
    survey_id: int
    survey: str
    settings: dict
    countries: list[CountryScore]
    dimensions: dict[str, ScoreSummary]
    questions: list[QuestionScore] = field(default_factory=list)
    epsilon: float = KL_EPSILON  # the KL smoothing the scores were computed with

    @property
    def kl_label(self) -> str:
        return kl_label(self.epsilon)

    @property
    def zero_diversity_countries(self) -> list[str]:
        """Countries where at least one question had two or more valid answers and every such
        question got a single distinct answer from all respondents."""
        distinct: dict[str, set[int]] = {}
        for q in self.questions:
            if q.n >= 2:  # a single answer has no diversity to measure
                distinct.setdefault(q.country, set()).add(q.distinct)
        return [c.country for c in self.countries if distinct.get(c.country) == {1}]

    def warnings(self) -> list[str]:
        """One sentence per problem a reader of the scores must know about."""
        zero = self.zero_diversity_countries
        if not zero:
            return []
        return [f"run {self.run_name!r} has zero answer diversity in {', '.join(zero)}: every respondent gave "
                f"the same answer to each question, so its {self.kl_label} compares one answer with the human "
                "distribution (is the server deterministic, or did every request carry the same seed?)"]

    @property
    def diversity(self) -> dict[str, float]:
        """Mean entropy (bits) and distinct answers over every compared country x question."""
        answered = [q for q in self.questions if q.n > 0]
        return {"entropy": _mean([q.entropy for q in answered]), "distinct": _mean([q.distinct for q in answered]),
                "questions": len(answered)}

    def as_dict(self) -> dict:
        return jsonable({
            "run": self.run_name, "model": self.model, "survey_id": self.survey_id, "survey": self.survey,
            "def": self.settings.get("def", {}),
            "countries": {c.country: {k: v for k, v in asdict(c).items() if k != "country"} for c in self.countries},
            "dimensions": {d: asdict(s) for d, s in self.dimensions.items()},
            "questions": [asdict(q) for q in self.questions],
            "diversity": self.diversity, "epsilon": self.epsilon, "kl_label": self.kl_label,
            "warnings": self.warnings(),
        })


def _mean(xs: Sequence[float]) -> float:
    return float(np.mean(xs)) if len(xs) else math.nan


def jsonable(x):
    if isinstance(x, float):
        return None if math.isnan(x) or math.isinf(x) else x
    if isinstance(x, dict):
        return {k: jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    return x


def bootstrap_mean_ci(
    human: Sequence[np.ndarray],
    counts: Sequence[np.ndarray],
    metric: Callable[[np.ndarray, np.ndarray], float],
    *,
    n_boot: int = N_BOOT,
    level: float = CI_LEVEL,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap CI of the mean over questions of ``metric(human_q, model_q)``, resampling
    respondents with replacement.

    ``human[q]`` has shape (k_q,); ``counts[q]`` has shape (R, k_q): respondent r's mentions of each
    option (a zero row for an invalid or missing answer); R is the same for every question. A
    resample in which a question has no valid answer leaves that question out of its mean. Returns
    (NaN, NaN) when there is nothing to resample.
    """
    if not counts or counts[0].shape[0] == 0:
        return math.nan, math.nan
    n_resp = counts[0].shape[0]
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n_resp, size=(n_boot, n_resp))
    per_q = []
    for h, c in zip(human, counts):
        sums = c[idx].sum(axis=1)  # (n_boot, k)
        vals = np.full(n_boot, np.nan)
        with np.errstate(invalid="ignore"):  # scipy's JS takes sqrt(-1e-17) for equal distributions
            for b in np.flatnonzero(sums.sum(axis=1) > 0):
                vals[b] = metric(h, sums[b])
        per_q.append(vals)
    means = np.array(per_q)
    answered = ~np.isnan(means)
    with np.errstate(invalid="ignore"):
        boot = np.where(answered.any(axis=0), np.nansum(means, axis=0) / np.maximum(answered.sum(axis=0), 1), np.nan)
    boot = boot[~np.isnan(boot)]
    if boot.size == 0:
        return math.nan, math.nan
    alpha = (1 - level) / 2
    return float(np.quantile(boot, alpha)), float(np.quantile(boot, 1 - alpha))


def _parsed(row: dict) -> ParsedAnswer:
    data = json.loads(row["parsed"]) if row["parsed"] else {}
    return ParsedAnswer(data.get("options"), bool(row["valid"]), data.get("reason", ""))


def score_run(store: Store, run_name: str, *, epsilon: float = KL_EPSILON, n_boot: int = N_BOOT,
              save: bool = True) -> RunScores:
    """Score one run from its stored responses; with ``save`` replace its rows in ``scores``."""
    settings = store.survey_run_settings(run_name)
    if settings is None:
        known = ", ".join(repr(n) for n, _ in store.survey_runs()) or "none yet"
        raise WorkbenchError(f"no survey run named {run_name!r} (runs: {known})")
    survey_id, survey = load_stored_survey(store, settings["survey_id"])
    rows = store.survey_responses(run_name)
    model = settings["model"]

    # country -> respondent -> question id -> parsed answer
    by_country: dict[str, dict[int, dict[str, ParsedAnswer]]] = {}
    failed: dict[str, int] = {}
    for row in rows:
        if row["raw"] is None:
            failed[row["country"]] = failed.get(row["country"], 0) + 1
            by_country.setdefault(row["country"], {}).setdefault(row["respondent"], {})
            continue
        by_country.setdefault(row["country"], {}).setdefault(row["respondent"], {})[row["question_id"]] = _parsed(row)

    model_answers = {
        country: {q.id: [a[q.id] for a in people.values() if q.id in a] for q in survey.questions
                  if any(q.id in a for a in people.values())}
        for country, people in by_country.items()
    }
    # scipy's jensenshannon takes sqrt of a -1e-17 for identical distributions; js_distance clamps it.
    with np.errstate(invalid="ignore"):
        question_scores = score_questions(survey, model_answers, epsilon=epsilon)
    summaries = average_scores(question_scores, "country")
    countries = []
    for country in sorted(by_country, key=lambda c: (settings.get("countries", []) + [c]).index(c)):
        people = by_country[country]
        summary = summaries.get(country)
        kl_ci, js_ci = _country_cis(survey, country, people, epsilon, n_boot)
        answers = [a for person in people.values() for a in person.values()]
        countries.append(CountryScore(
            country=country, kl=summary.kl if summary else math.nan, js=summary.js if summary else math.nan,
            kl_ci=kl_ci, js_ci=js_ci, questions=summary.n if summary else 0, respondents=len(people),
            valid=sum(a.valid for a in answers), unparseable=sum(not a.valid for a in answers),
            failed=failed.get(country, 0), entropy=summary.entropy if summary else math.nan,
            distinct=summary.distinct if summary else math.nan,
        ))
    result = RunScores(run_name=run_name, model=model, survey_id=survey_id, survey=survey.name, settings=settings,
                       countries=countries, dimensions=average_scores(question_scores, "dimension"),
                       questions=question_scores, epsilon=epsilon)
    if save:
        store.replace_survey_scores(run_name, score_table_rows(result))
    return result


def _country_cis(survey: Survey, country: str, people: dict[int, dict[str, ParsedAnswer]], epsilon: float,
                 n_boot: int) -> tuple[tuple[float, float], tuple[float, float]]:
    human, counts = [], []
    respondents = sorted(people)
    for q in survey.questions:
        if q.id not in survey.human.get(country, {}):
            continue
        c = np.zeros((len(respondents), len(q.options)))
        for r, respondent in enumerate(respondents):
            answer = people[respondent].get(q.id)
            if answer is not None and answer.valid and answer.options:
                for option in set(answer.options):
                    c[r, q.index(option)] += 1
        if c.sum() > 0:
            human.append(survey.distribution(country, q.id))
            counts.append(c)
    kl = bootstrap_mean_ci(human, counts, lambda h, m: kl_divergence(h, m, epsilon), n_boot=n_boot)
    js = bootstrap_mean_ci(human, counts, js_distance, n_boot=n_boot)
    return kl, js


def score_source(scores: RunScores) -> str:
    """The ``source`` of a run's rows: the model for a full-DEF run, else the run's name."""
    d = scores.settings.get("def", {})
    full = all(d.get(k, False) for k in ("persona", "sample_generation_config", "memory"))
    return scores.model if full else scores.run_name


def score_table_rows(scores: RunScores) -> list[dict]:
    """The run's per-country rows for the ``scores`` table (methods survey-KL and survey-JS)."""
    config = {"run": scores.run_name, "survey_id": scores.survey_id, "survey": scores.survey,
              "def": scores.settings.get("def", {}), "base_url": scores.settings.get("base_url", ""),
              "epsilon": scores.epsilon, "kl": f"{scores.kl_label}: KL(human || smoothed model), nats",
              "js": "Jensen-Shannon distance, base 2", "zero_diversity": scores.zero_diversity_countries,
              "ci": f"{CI_LEVEL:.0%} percentile bootstrap over respondents, {N_BOOT} resamples",
              "n_group": "questions compared", "n_source": "valid answers"}
    rows = []
    for c in scores.countries:
        if c.questions == 0:
            continue
        for metric, value, ci in (("kl", c.kl, c.kl_ci), ("js", c.js, c.js_ci)):
            rows.append({"method": SURVEY_METHODS[metric], "group_name": c.country, "source": score_source(scores),
                         "value": value, "raw": None, "ci_low": jsonable(ci[0]), "ci_high": jsonable(ci[1]),
                         "n_group": c.questions, "n_source": c.valid, "config": config})
    return rows


def score_runs(store: Store, run_names: Sequence[str] | None = None, **kwargs) -> list[RunScores]:
    """Score the named runs (default: every survey run of the project)."""
    names = list(run_names) if run_names else [n for n, _ in store.survey_runs()]
    if not names:
        raise WorkbenchError("no survey run yet: start one with 'workbench survey run PROJECT --model NAME --country C'")
    return [score_run(store, n, **kwargs) for n in names]


@dataclass(frozen=True)
class DiversityRow:
    run_name: str
    persona: bool
    config: bool
    memory: bool
    max_memory: int
    entropy: float
    distinct: float
    questions: int
    baseline: str | None  # the run without DEF it is compared with
    entropy_gain: float  # bits above the baseline
    distinct_gain: float  # relative increase of distinct answers over the baseline, 0.5 = +50%


def diversity_table(runs: Sequence[RunScores]) -> list[DiversityRow]:
    """Diversity of each run beside the run without DEF (same survey and model) on the countries both
    answered, as in the paper's diversity ablation."""
    rows = []
    for run in runs:
        d = run.settings.get("def", {})
        baseline = next((b for b in runs if b.survey_id == run.survey_id and b.model == run.model
                         and not any(b.settings.get("def", {}).get(k, True)
                                     for k in ("persona", "sample_generation_config", "memory"))), None)
        entropy_gain = distinct_gain = math.nan
        if baseline is not None:
            common = {c.country for c in run.countries} & {c.country for c in baseline.countries}
            mine = [q for q in run.questions if q.country in common and q.n > 0]
            theirs = [q for q in baseline.questions if q.country in common and q.n > 0]
            if mine and theirs:
                entropy_gain = _mean([q.entropy for q in mine]) - _mean([q.entropy for q in theirs])
                base = _mean([q.distinct for q in theirs])
                distinct_gain = _mean([q.distinct for q in mine]) / base - 1 if base else math.nan
        div = run.diversity
        rows.append(DiversityRow(
            run_name=run.run_name, persona=bool(d.get("persona")), config=bool(d.get("sample_generation_config")),
            memory=bool(d.get("memory")), max_memory=int(d.get("max_memory", 0)), entropy=div["entropy"],
            distinct=div["distinct"], questions=div["questions"], baseline=baseline.run_name if baseline else None,
            entropy_gain=entropy_gain, distinct_gain=distinct_gain))
    return rows
