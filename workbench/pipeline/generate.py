"""Documents from the models under evaluation (Sec. 3.3, App. G): a model on an OpenAI-compatible
endpoint writes on each topic, and its documents are stored with ``source`` = the model's name.

Without a persona the App. G topic-writing prompt is sent (the unprimed control); with
``persona`` the cultural role-play prompt of Bulté & Rigouts Terryn (2025) primes the model with a
country's perspective (the value-priming experiment of App. E.3). Calls go through the gateway
(``generator`` role: cached, concurrent, retried), so a re-run makes zero new calls; documents
already in the project are skipped, so an interrupted run resumes where it stopped.

The unprimed prompt is one of three generation templates (``template``): the paper's
``topic_writing`` and two paraphrases of ours (``topic_writing_paraphrase1``/``2``), for the
template-invariance run of ``workbench reliability``. ``seed`` is sent with every request. Each
document records the template and seed it came from.

Document ids are ``MODEL:TOPIC:PERSONA:K`` with TOPIC a short hash of the topic text (known before
the topic is in the project, and the same in every project), PERSONA the country code or
``control``, K the sample index; a non-default template, a seed, a reliability run and a stored
source other than the model are appended (``:template=…:seed=…:run=…:source=…``) so that each
variant is generated once and kept. The documents' group is ``group`` if given, else the persona,
else ``control`` — which is how the scorer labels them (``θ`` for control, ``θ@KR`` for KR-primed).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import prompts

from ..config import WorkbenchConfig
from ..errors import WorkbenchError
from ..language import detect_language
from ..llm.cost import Estimate, estimate_chats
from ..llm.gateway import CallResult, Gateway, OutputError
from ..progress import progress_bar
from ..store import MAX_DOCUMENT_CHARS, DocumentRow, Store
from ..vocabulary import CONTROL

BATCH = 50  # documents per write transaction

TEMPLATES = prompts.GENERATION_TEMPLATES
ROLE_PLAY = "cultural_role_play"

# Country code → adjective for "from the perspective of an {adjective} person" (App. G).
COUNTRY_ADJECTIVES = {"US": "American", "KR": "Korean", "JP": "Japanese", "CN": "Chinese"}


def country_adjective(country: str) -> str:
    """``US`` → ``American`` etc.; any other value is used as written (e.g. ``Indian``)."""
    return COUNTRY_ADJECTIVES.get(country.strip().upper(), country.strip())


def topic_key(topic: str) -> str:
    return hashlib.sha256(topic.encode("utf-8")).hexdigest()[:10]


def document_id(model: str, topic: str, persona: str | None, sample: int, variant: str = "") -> str:
    return f"{model}:{topic_key(topic)}:{persona or CONTROL}:{sample}{variant}"


def _variant(model: str, template: str, seed: int | None, run: str | None, source: str) -> str:
    """The id suffix of a variant of the default generation (see the module docstring)."""
    parts = {"template": template if template != TEMPLATES[0] else None, "seed": seed, "run": run,
             "source": source if source != model else None}
    return "".join(f":{k}={v}" for k, v in parts.items() if v is not None)


def read_topics(path: str | Path) -> list[str]:
    """Topics from a text file, one per line (blank lines and duplicates dropped)."""
    path = Path(path)
    try:
        lines = path.read_text("utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise WorkbenchError(f"{path.resolve()}: cannot read the topics file ({exc}): give a UTF-8 text file, "
                             "one topic per line") from None
    topics = list(dict.fromkeys(line.strip() for line in lines if line.strip()))
    if not topics:
        raise WorkbenchError(f"{path}: no topics in the file: write one topic per line")
    return topics


@dataclass
class GenerateReport:
    model: str
    group: str
    persona: str | None
    requested: int
    existing: int
    generated: int
    failed: int
    stats: dict = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        s = self.stats
        persona = f", persona {self.persona} ({country_adjective(self.persona)})" if self.persona else ""
        line = (f"generate {self.model}{persona}: {self.requested} documents wanted, {self.existing} already in "
                f"the project, {self.generated} generated, {self.failed} failed (group {self.group}); "
                f"LLM calls {s.get('calls', 0)} (cache hits {s.get('cache_hits', 0)}), "
                f"tokens {s.get('tokens_in', 0)}+{s.get('tokens_out', 0)}")
        return line + (f"; first errors: {'; '.join(self.errors)}" if self.errors else "")


def _parse_document(text: str) -> str:
    text = text.replace("\r\n", "\n").strip()
    if not text:
        raise OutputError("the reply is empty: write the piece of writing")
    return text


@dataclass
class GeneratePlan:
    """What a ``generate`` run would send: the settings, the documents still to write, and per
    call the prompt's variables and parameters."""

    config: object
    model: str
    group: str
    persona: str | None
    source: str
    prompt: str
    todo: list[tuple[str, str, int]]  # (document id, topic, sample)
    variables: list[dict]
    params: list[dict]
    wanted: int
    existing: int


def plan_generate(store: Store, model: str, topics: list[str] | None = None, persona: str | None = None,
                  samples: int = 1, group: str | None = None, topic_group: str | None = None,
                  base_url: str | None = None, limit: int | None = None, template: str = TEMPLATES[0],
                  seed: int | None = None, source: str | None = None, run: str | None = None) -> GeneratePlan:
    """Check the arguments of :func:`generate` and list the calls it would make, calling nothing."""
    if samples < 1:
        raise WorkbenchError("--samples must be at least 1")
    if not model.strip():
        raise WorkbenchError("--model is empty: name the model to generate with")
    if template not in TEMPLATES:
        raise WorkbenchError(f"--template {template!r} is not a generation template: use one of {', '.join(TEMPLATES)}")
    persona = persona.strip() if persona else None
    if persona and template != TEMPLATES[0]:
        raise WorkbenchError(f"--template {template} paraphrases the unprimed prompt: with --persona the role-play "
                             "prompt is sent; drop one of the two")
    source = source or model
    group = (group or persona or CONTROL).strip()
    topics = list(dict.fromkeys(topics)) if topics else store.topic_texts(topic_group)
    if limit is not None:
        topics = topics[:limit]
    if not topics:
        where = f" of group {topic_group!r}" if topic_group else ""
        raise WorkbenchError(f"no topics{where} in {store.path}: import human documents with topics, "
                             "or pass --topics FILE (one topic per line)")
    settings = {"roles.generator.provider": "openai", "roles.generator.model": model}
    if base_url:
        settings["roles.generator.base_url"] = base_url
    config = store.config().with_settings(settings)

    wanted = [(t, k) for t in topics for k in range(samples)]
    variant = _variant(model, template, seed, run, source)
    ids = [document_id(model, t, persona, k, variant) for t, k in wanted]
    existing = store.existing_document_ids(ids)
    todo = [(i, t, k) for i, (t, k) in zip(ids, wanted) if i not in existing]
    prompt = ROLE_PLAY if persona else template
    variables = [{"topic": t, **({"country_adjective": country_adjective(persona)} if persona else {})}
                 for _, t, _ in todo]
    params = [{"sample": k, "seed": seed} for _, _, k in todo]
    return GeneratePlan(config, model, group, persona, source, prompt, todo, variables, params, len(wanted),
                        len(existing))


def samples_may_repeat(config: WorkbenchConfig, samples: int) -> bool:
    """Several samples of a topic at the generator's temperature 0 may be one document repeated."""
    return samples > 1 and config.role("generator").sampling_temperature("generator") == 0


def estimate_generate(store: Store, model: str, **arguments) -> Estimate:
    """What :func:`generate` with these arguments would cost (see :mod:`workbench.llm.cost`)."""
    plan = plan_generate(store, model, **arguments)
    requests = [[("user", prompts.render(plan.prompt, **v))] for v in plan.variables]
    return Estimate("generate", [estimate_chats(plan.config, "generator", plan.prompt, requests)],
                    note=f"{plan.existing:,} of {plan.wanted:,} documents already written; cached replies and "
                         "retries not counted")


def generate(store: Store, model: str, topics: list[str] | None = None, persona: str | None = None,
             samples: int = 1, group: str | None = None, topic_group: str | None = None,
             base_url: str | None = None, limit: int | None = None, show_progress: bool = True,
             template: str = TEMPLATES[0], seed: int | None = None, source: str | None = None,
             run: str | None = None, estimate: Estimate | None = None,
             parent_run: int | None = None) -> GenerateReport:
    """Ask ``model`` (through the ``generator`` role) to write on each topic, ``samples`` times.

    ``topics`` default to the topics of the project's human documents (of ``topic_group`` if
    given), the first ``limit`` of them if given. ``base_url`` overrides the generator role's
    endpoint for this run; the project's settings are not changed. ``template`` names the
    unprimed prompt (one of :data:`TEMPLATES`), ``seed`` the request seed. ``source`` is the
    documents' stored source (default: the model); ``run`` marks them as a reliability run's,
    kept apart from the project's own documents. ``estimate`` is kept with the run (``status``);
    ``parent_run``: the run (a reliability run's) this generation is part of.
    """
    plan = plan_generate(store, model, topics, persona, samples, group, topic_group, base_url, limit, template,
                         seed, source, run)
    config, group, persona, source, prompt = plan.config, plan.group, plan.persona, plan.source, plan.prompt
    todo, variables, params = plan.todo, plan.variables, plan.params
    report = GenerateReport(model, group, persona, plan.wanted, plan.existing, 0, 0)
    if not todo:
        return report

    run_id = store.start_run("generate", config.digest(), estimate.as_dict() if estimate else None, parent_run)
    gateway = Gateway(store, config, run_id)
    pending: list[DocumentRow] = []

    def flush() -> None:
        if pending:
            digest = hashlib.sha256("\n".join(d.id for d in pending).encode()).hexdigest()
            store.import_documents(f"generate:{model}", digest, {"model": model, "persona": persona, "group": group,
                                                                 "prompt": prompt, "samples": samples, "seed": seed,
                                                                 "run": run}, pending)
            report.generated += len(pending)
            pending.clear()

    with progress_bar(f"generate ({model}{f', {run}' if run else ''})", len(todo), show_progress) as advance:
        def on_done(n: int, result: CallResult[str]) -> None:
            doc_id, topic, _ = todo[n]
            if result.value is None:
                report.failed += 1
                if len(report.errors) < 5:
                    report.errors.append(f"{doc_id}: {result.error}")
            else:
                text = result.value[:MAX_DOCUMENT_CHARS]
                pending.append(DocumentRow(doc_id, group, topic, source, detect_language(text), text,
                                           len(result.value) > MAX_DOCUMENT_CHARS, prompt, seed, run))
                if len(pending) >= BATCH:
                    flush()
            advance(1)

        try:
            gateway.run(gateway.complete_many("generator", prompt, variables, _parse_document, params, on_done))
        finally:
            flush()  # what arrived before an interruption is kept; a re-run skips it
            report.stats = gateway.stats.as_dict()
            store.finish_run(run_id, {**report.stats, "generated": report.generated, "failed": report.failed,
                                      "model": model, "persona": persona, "template": prompt, "seed": seed,
                                      "run": run})
    return report
