"""Simulated survey respondents with the Diversity-Enhanced Framework (Liu et al. 2025).

Each respondent answers the whole questionnaire in one conversation with the ``generator`` role's
model: questions in survey order, each one gateway call (cached, retried, concurrency-limited), so
a re-run makes no new calls and a killed run continues where it stopped. Respondents run
concurrently; within one respondent the questions are sequential because the memory depends on
the earlier answers. The three DEF modifications are switched by :class:`DefConfig`:

- persona: the prompt places the respondent in a city of the country drawn at random;
- configuration: temperature and top_p sampled per request, never above the paper's 1.0 (beam
  search is not available through OpenAI-compatible chat APIs, see :mod:`workbench.survey.config`);
- memory: earlier (request, answer) pairs replayed as chat history, at most ``max_memory``, a
  random one forgotten when full, turns without a valid answer dropped. The remembered answer is
  the chosen option(s) as ``Answer: <option>``: the paper keeps "only request queries and model
  answers", so explanations are not replayed.

Randomness: respondent k of country c draws its city, its generation parameters and its memory
deletions from three independent streams of ``SeedSequence([seed or 0, crc32(c), k])``, so
switching one modification off leaves the other two draws unchanged (a clean ablation) and a
resumed run replays the same conversation. Requests carry no ``seed`` unless the user set one;
then respondent k sends its own seed, from a fourth stream, on each of its requests: one seed for
every respondent would make a seed-honouring server give all of them the same answer. Every
request also carries ``sample = k`` in its cache key, so respondents whose requests are identical
(DEF off) are still separate calls.
"""
from __future__ import annotations

import asyncio
import json
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from pydantic import ValidationError

import prompts

from ..config import RoleConfig, WorkbenchConfig
from ..errors import WorkbenchError
from ..llm.cost import Estimate, estimate_chats
from ..llm.gateway import Gateway
from ..progress import progress_bar
from ..store import Store
from .answers import ParsedAnswer, parse_answer_for
from .config import SEED_BOUND, DefConfig, sample_generation_params
from .importer import load_stored_survey
from .memory import ConversationMemory
from .personas import UnknownCountryError, canonical_country, pick_city
from .prompt_fields import respondent_prompt_fields
from .questionnaire import Question, Survey

PROMPT = "survey_respondent"
ROLE = "generator"
#: Stored respondent number = country slot x RESPONDENT_BLOCK + k (the run's unique index has no
#: country column, so each country of a run gets its own block of numbers).
RESPONDENT_BLOCK = 100_000


@dataclass(frozen=True)
class Respondent:
    country: str  # as the survey names it
    index: int  # k, the respondent's position within its country
    number: int  # as stored in survey_responses.respondent
    city: str | None


@dataclass
class SurveyRunReport:
    run_name: str
    survey_id: int
    survey_name: str
    model: str
    countries: list[str]
    respondents: int
    questions: int
    answered: int = 0  # answers obtained in this invocation (from the endpoint or the cache)
    valid: int = 0
    unparseable: int = 0
    failed: int = 0
    skipped_respondents: int = 0  # complete before this invocation
    stats: dict = field(default_factory=dict)
    scores: object | None = None  # run_scores.RunScores


def default_run_name(model: str, cfg: DefConfig) -> str:
    """``MODEL/DEF``, ``MODEL/no-DEF`` or ``MODEL/DEF-no-memory`` …, with non-default memory and seed."""
    off = [name for name, on in (("persona", cfg.persona), ("config", cfg.sample_generation_config),
                                 ("memory", cfg.memory)) if not on]
    tag = "DEF" if not off else "no-DEF" if len(off) == 3 else "DEF-" + "-".join(f"no-{o}" for o in off)
    if cfg.memory and cfg.max_memory != DefConfig().max_memory:
        tag += f"-mem{cfg.max_memory}"
    if cfg.seed is not None:
        tag += f"-seed{cfg.seed}"
    return f"{model}/{tag}"


def resolve_countries(survey: Survey, requested: Sequence[str]) -> list[str]:
    """The survey's names for ``requested`` countries (exact, ignoring case, or through the aliases of
    the city lists: ``US`` -> ``United States``, ``UK`` -> ``Britain``)."""
    if not requested:
        raise WorkbenchError("name at least one country with --country (e.g. --country US --country JP)")
    by_fold = {c.casefold(): c for c in survey.countries}
    by_canonical: dict[str, str] = {}
    for c in survey.countries:
        try:
            by_canonical.setdefault(canonical_country(c), c)
        except UnknownCountryError:
            pass
    out: list[str] = []
    for name in requested:
        found = by_fold.get(name.strip().casefold())
        if found is None:
            try:
                found = by_canonical.get(canonical_country(name))
            except UnknownCountryError:
                found = None
        if found is None:
            shown = ", ".join(survey.countries[:8]) + (" …" if len(survey.countries) > 8 else "")
            raise WorkbenchError(f"the survey has no human answers for country {name!r} — choose one of: {shown}")
        if found not in out:
            out.append(found)
    return out


def _respondent_streams(cfg: DefConfig, country: str, index: int) -> list[np.random.SeedSequence]:
    """(persona, configuration, memory, request seed) streams of one respondent."""
    seq = np.random.SeedSequence([cfg.seed or 0, zlib.crc32(country.encode("utf-8")), index])
    return seq.spawn(4)


def respondent_rngs(cfg: DefConfig, country: str, index: int) -> tuple[np.random.Generator, ...]:
    """(persona, configuration, memory) generators of one respondent, independent of each other."""
    return tuple(np.random.default_rng(s) for s in _respondent_streams(cfg, country, index)[:3])


def respondent_seed(cfg: DefConfig, country: str, index: int) -> int | None:
    """The ``seed`` respondent ``index`` of ``country`` sends with each request: ``None`` (no seed
    sent, the server samples) unless the user set ``cfg.seed``."""
    if cfg.seed is None:
        return None
    return int(np.random.default_rng(_respondent_streams(cfg, country, index)[3]).integers(0, SEED_BOUND))


def remembered_answer(parsed: ParsedAnswer) -> str:
    """What the memory keeps of a valid reply: the answer without the explanation."""
    return "Answer: " + ", ".join(parsed.options or [])


def _run_config(store: Store, model: str | None, base_url: str | None):
    config = store.config()
    gen = config.role(ROLE)
    updates: dict[str, object] = {}
    if model:
        updates["model"] = model
    if base_url:
        updates["base_url"] = base_url
    if updates:
        updates["provider"] = "openai"
    elif gen.provider == "offline":
        raise WorkbenchError("the generator role is offline: give --model NAME (and --base-url for a local server), "
                             "or set roles.generator.provider/model/base_url with 'workbench config'")
    try:
        role = RoleConfig.model_validate({**gen.model_dump(), **updates})
    except ValidationError as exc:  # one line, not pydantic's report
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise WorkbenchError(f"generator settings: {where + ': ' if where else ''}"
                             f"{first['msg'].removeprefix('Value error, ')} (give --model NAME)") from None
    return config.model_copy(update={"roles": config.roles.model_copy(update={ROLE: role})}), role


def _settings(survey_id: int, survey: Survey, role: RoleConfig, cfg: DefConfig) -> dict:
    return {"survey_id": survey_id, "survey": survey.name, "model": role.model, "base_url": role.base_url or "",
            "def": cfg.model_dump(mode="json"), "prompt": prompts.version(PROMPT)}


def _check_same_settings(run_name: str, before: dict, now: dict) -> None:
    """A run continues only with the settings it was started with."""
    def flat(d: dict) -> dict:
        return {**{k: v for k, v in d.items() if k != "def"}, **{f"def.{k}": v for k, v in d.get("def", {}).items()}}

    old, new = flat(before), flat(now)
    for key in new:
        if key != "countries" and json.dumps(old.get(key)) != json.dumps(new[key]):
            raise WorkbenchError(f"run {run_name!r} was made with {key} {json.dumps(old.get(key))}, not "
                                 f"{json.dumps(new[key])} — give this run another --run-name")


@dataclass
class SurveyPlan:
    """What a survey run would ask, worked out without writing or calling anything."""

    config: WorkbenchConfig
    role: RoleConfig
    def_config: DefConfig
    survey_id: int
    survey: Survey
    run_name: str
    countries: list[str]
    respondents: int
    settings: dict  # the run's settings with its countries' slots, stored when it runs
    plan: list[Respondent]
    todo: list[Respondent]  # not complete yet
    answered: dict[int, set[str]]  # respondent number -> questions answered before


def plan_survey(store: Store, survey: int | str | None = None, model: str | None = None,
                countries: Sequence[str] = (), respondents: int = 20, def_config: DefConfig | None = None,
                run_name: str | None = None, base_url: str | None = None) -> SurveyPlan:
    """The respondents :func:`run_survey` with these arguments would simulate (see there); reads only."""
    cfg = def_config or DefConfig()
    if not 1 <= respondents < RESPONDENT_BLOCK:
        raise WorkbenchError(f"--respondents must be between 1 and {RESPONDENT_BLOCK - 1}, got {respondents}")
    survey_id, survey_obj = load_stored_survey(store, survey)
    chosen = resolve_countries(survey_obj, countries)
    config, role = _run_config(store, model, base_url)
    run_name = run_name or default_run_name(role.model, cfg)

    cities: dict[tuple[str, int], str | None] = {}
    for country in chosen:
        for k in range(respondents):
            try:
                cities[country, k] = pick_city(country, respondent_rngs(cfg, country, k)[0]) if cfg.persona else None
            except UnknownCountryError as exc:
                raise WorkbenchError(f"{exc} (or run without the persona modification: --no-persona)") from None

    settings = _settings(survey_id, survey_obj, role, cfg)
    before = store.survey_run_settings(run_name)
    if before is not None:
        _check_same_settings(run_name, before, settings)
    slots = list(before.get("countries", [])) if before else []
    slots += [c for c in chosen if c not in slots]
    plan = [Respondent(country, k, slots.index(country) * RESPONDENT_BLOCK + k, cities[country, k])
            for country in chosen for k in range(respondents)]
    question_ids = {q.id for q in survey_obj.questions}
    answered = store.answered_questions(run_name)
    todo = [r for r in plan if not question_ids <= answered.get(r.number, set())]
    return SurveyPlan(config, role, cfg, survey_id, survey_obj, run_name, chosen, respondents,
                      {**settings, "countries": slots}, plan, todo, answered)


class Conversation:
    """One respondent's way through the questionnaire: each question's prompt fields, request
    parameters and memory, drawn from the respondent's own streams (:func:`respondent_rngs`)."""

    def __init__(self, cfg: DefConfig, who: Respondent):
        _, self._config_rng, memory_rng = respondent_rngs(cfg, who.country, who.index)
        self.memory = ConversationMemory(cfg.max_memory, memory_rng, enabled=cfg.memory)
        self._seed = respondent_seed(cfg, who.country, who.index)
        self._cfg, self._who = cfg, who

    def ask(self, question: Question) -> tuple[dict, str, dict, list[tuple[str, str]]]:
        """(prompt fields, rendered prompt, request parameters, history) of the next question."""
        fields = respondent_prompt_fields(question, self._who.country, self._who.city)
        params = {**sample_generation_params(self._cfg, self._config_rng), "sample": self._who.index}
        if self._seed is not None:
            params["seed"] = self._seed
        return fields, prompts.render(PROMPT, **fields), params, self.memory.messages()


def estimate_survey(store: Store, survey: int | str | None = None, model: str | None = None,
                    countries: Sequence[str] = (), respondents: int = 20, def_config: DefConfig | None = None,
                    run_name: str | None = None, base_url: str | None = None) -> Estimate:
    """What :func:`run_survey` with these arguments would send, without sending it: each question
    a respondent has not answered yet, with the memory it would carry if every answer were valid
    (the first option, as the memory keeps it), so the memory is at its fullest: a ceiling of the
    history's tokens, counted as :mod:`workbench.llm.cost` says."""
    plan = plan_survey(store, survey, model, countries, respondents, def_config, run_name, base_url)
    requests = []
    for who in plan.todo:
        conversation = Conversation(plan.def_config, who)
        done = plan.answered.get(who.number, set())
        for question in plan.survey.questions:
            _, prompt, _, history = conversation.ask(question)
            if question.id not in done:
                requests.append([*history, ("user", prompt)])
            conversation.memory.add(prompt, remembered_answer(ParsedAnswer([question.options[0]], True, "")), True)
    return Estimate("survey run", [estimate_chats(plan.config, ROLE, PROMPT, requests)],
                    note=f"{len(plan.plan) - len(plan.todo):,} of {len(plan.plan):,} respondents already complete; "
                         "memory as if every answer were valid; cached replies, retries and scoring not counted")


def run_survey(
    store: Store,
    survey: int | str | None = None,
    model: str | None = None,
    countries: Sequence[str] = (),
    respondents: int = 20,
    def_config: DefConfig | None = None,
    run_name: str | None = None,
    show_progress: bool = True,
    base_url: str | None = None,
    estimate: Estimate | None = None,
) -> SurveyRunReport:
    """Simulate ``respondents`` respondents per country answering a stored survey, store every answer
    (upserted, so the run resumes), then score the run (``run_scores.score_run``).

    ``survey`` is an id, a name, or ``None`` for the latest import; ``model``/``base_url`` override
    the generator role for this run only. ``estimate`` (:func:`estimate_survey`) is kept with the
    run, so that ``status`` shows it beside what the run used.
    """
    from .run_scores import score_run

    plan = plan_survey(store, survey, model, countries, respondents, def_config, run_name, base_url)
    config, run_name = plan.config, plan.run_name
    Gateway(store, config)._api_key(plan.role)  # a missing key stops here, not as one failure per call
    # The slots are recorded before any call, so a killed run keeps its respondents' numbers.
    store.save_survey_run_settings(run_name, plan.settings)
    report = SurveyRunReport(run_name=run_name, survey_id=plan.survey_id, survey_name=plan.survey.name,
                             model=plan.role.model, countries=plan.countries, respondents=plan.respondents,
                             questions=len(plan.survey.questions), skipped_respondents=len(plan.plan) - len(plan.todo))
    if plan.todo:
        run_id = store.start_run("survey run", config.digest(), estimate.as_dict() if estimate else None)
        gateway = Gateway(store, config, run_id)
        gateway.run(_simulate(store, gateway, plan.survey_id, plan.survey, run_name, plan.def_config, plan.todo,
                              report, show_progress))
        report.stats = gateway.stats.as_dict()
        store.finish_run(run_id, {**report.stats, "run_name": run_name, "answered": report.answered,
                                  "valid": report.valid, "unparseable": report.unparseable, "failed": report.failed})
    report.scores = score_run(store, run_name)
    return report


async def _simulate(store: Store, gateway: Gateway, survey_id: int, survey: Survey, run_name: str, cfg: DefConfig,
                    todo: list[Respondent], report: SurveyRunReport, show: bool) -> None:
    label = f"survey {run_name}"
    with progress_bar(label, len(todo) * len(survey.questions), show) as advance:

        async def respond(who: Respondent) -> None:
            conversation = Conversation(cfg, who)
            memory = conversation.memory
            for question in survey.questions:
                fields, prompt, params, history = conversation.ask(question)
                result = await gateway.complete(ROLE, PROMPT, fields, parse=str, params=params, history=history)
                if result.text is None:
                    parsed = ParsedAnswer(None, False, f"call failed: {result.error}")
                    report.failed += 1
                else:
                    parsed = parse_answer_for(question, result.text)
                    if parsed.valid:
                        report.valid += 1
                        memory.add(prompt, remembered_answer(parsed), True)
                    else:
                        report.unparseable += 1
                    report.answered += 1
                store.save_survey_response({
                    "survey_id": survey_id, "run_name": run_name, "model": report.model, "country": who.country,
                    "respondent": who.number, "question_id": question.id, "city": who.city,
                    "params": json.dumps({**params, "memory_pairs": len(history) // 2}),
                    "prompt": prompt, "raw": result.text,
                    "parsed": json.dumps({"options": parsed.options, "reason": parsed.reason}, ensure_ascii=False),
                    "valid": int(parsed.valid),
                })
                advance(1)

        await asyncio.gather(*(respond(who) for who in todo))
