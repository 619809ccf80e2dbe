"""``workbench reliability``: the reliability runs of Sec. 4.3 / Table 12, produced from the project.

- **sampling reliability**: the score table on the full set and on ``splits`` random halves of the
  topics (every document of a chosen topic, human and model alike; documents without a topic are
  in every half) — does the score depend on which topics were sampled?
- **test–retest** (``test-retest``): with a generator endpoint (``roles.generator.provider``
  openai), each model source writes on its topics again ``splits`` times, with request seeds
  seed+1 … seed+splits and the prompt it was scored with (the paper's unprimed template, or the
  role-play prompt for a persona). Without an endpoint the workbench re-draws each model's stored
  documents with replacement ``splits`` times (a bootstrap *stand-in*, labelled
  ``test-retest (bootstrap)``): it measures sampling noise of the documents at hand, not a
  model's run-to-run variation.
- **template invariance** (``template``, endpoint only): each unprimed model source writes on its
  topics once with each of the three generation templates (``prompts.GENERATION_TEMPLATES``: the
  paper's and our two paraphrases), all with seed seed+1 — so the paper's template's run is the
  first test–retest run's requests again, answered from the call cache. Persona-primed sources
  are not run: the templates paraphrase the unprimed prompt.

Which model a source is: a source ``workbench generate`` wrote is re-generated with the model it
recorded (and its persona); an imported source only when ``model_sources`` names its model
(``--model-source LABEL=MODEL``, LABEL as in the score table, ``θ`` or ``θ@G``; a group other than
``control`` is taken as that persona). Other sources are left out, with a note.

Re-generated documents are stored as reliability-run documents (``documents.reliability_run``) with
the source's name and group, and are extracted with the project's extractor; they never join the
project's own sources, training or score tables. Generation is keyed by (model, topic, seed or
template), so a re-run makes no new calls. Each run is a (group × model) table of r (DOVE,
n_boot = 0) over the project's human groups; Cronbach's α and the mean CV over the runs come from
:func:`workbench.measures.validate.validate`, as for a ``--reliability`` file. Runs are stored as score rows
of method ``dove:<kind>:<run>`` for the codebook version (replacing the version's earlier
reliability runs), so ``workbench validate PROJECT`` uses them.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

import prompts

from ..alignment.scoring import score_table
from ..errors import WorkbenchError
from ..llm.cost import Estimate, estimate_on_replies, merged
from ..llm.gateway import Gateway
from ..pipeline.corpus import load_corpus
from ..pipeline.extract import estimate_extract, extract
from ..pipeline.generate import estimate_generate, generate
from ..progress import progress_bar
from ..store import Store
from ..validity.io import ReliabilityRecord
from ..vocabulary import (BOOTSTRAP, CONTROL, HUMAN, METHOD, RELIABILITY, RELIABILITY_KINDS, RELIABILITY_PREFIX,
                          RETEST, SAMPLING, TEMPLATE)
from .score import ProjectPosteriors, document_sets, load_posteriors, source_label
from .validate import ValidityReport, validate


Rows = dict[str, np.ndarray]


@dataclass
class ReliabilityRuns:
    version: int
    records: list[ReliabilityRecord]
    report: ValidityReport
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Regeneration:
    """A model source of the project and what writes its documents again."""

    label: str  # the score table's column (θ or θ@G)
    source: str
    group: str
    model: str
    persona: str | None
    topics: tuple[str, ...]


def regeneration_targets(store: Store, labels: list[str], model_sources: dict[str, str]
                         ) -> tuple[list[Regeneration], list[str]]:
    """The model of each model source ``labels`` names (the rule in the module docstring), and
    notes on the sources left out."""
    pairs = {source_label(s, g): (s, g) for g, s, _ in store.document_counts() if s != HUMAN}
    unknown = sorted(set(model_sources) - set(pairs))
    if unknown:
        raise WorkbenchError(f"--model-source names unknown source(s) {unknown}: the project's model sources are "
                             f"{sorted(pairs)}")
    targets, notes = [], []
    for label in labels:
        source, group = pairs[label]
        options = store.generation_options(source, group)
        if label in model_sources:
            model, persona = model_sources[label], None if group == CONTROL else group
        elif options:
            model, persona = options["model"], options.get("persona")
        else:
            notes.append(f"{label} was imported, not generated, so its model is unknown: not re-generated (name it "
                         f"with --model-source '{label}=MODEL')")
            continue
        topics = store.topic_texts(group, source)
        if not topics:
            notes.append(f"{label}: its documents have no topics: not re-generated")
            continue
        targets.append(Regeneration(label, source, group, model, persona, tuple(topics)))
    return targets, notes


def _jobs(target: Regeneration, splits: int, seed: int) -> list[tuple[str, str, int]]:
    """(run, template, seed) of each run generated for ``target``; a run is named ``KIND:ITEM``."""
    jobs = [(f"{RETEST}:seed{seed + k}", prompts.GENERATION_TEMPLATES[0], seed + k) for k in range(1, splits + 1)]
    return jobs if target.persona else jobs + [(f"{TEMPLATE}:{name}", name, seed + 1)
                                               for name in prompts.GENERATION_TEMPLATES]


def generate_runs(store: Store, targets: list[Regeneration], splits: int, seed: int,
                  show_progress: bool = True, parent_run: int | None = None) -> list[str]:
    """Generate (resumably, from the call cache where asked before) every target's test–retest
    and template runs and extract their expressions, as parts of ``parent_run``; returns notes on
    failures and skips."""
    notes = []
    for t in targets:
        if t.persona:
            notes.append(f"{t.label}: persona-primed, so no template run (the templates paraphrase the unprimed "
                         "prompt)")
        for run, template, run_seed in _jobs(t, splits, seed):
            report = generate(store, t.model, list(t.topics), t.persona, group=t.group, source=t.source, run=run,
                              template=template, seed=run_seed, show_progress=show_progress, parent_run=parent_run)
            if report.failed:
                notes.append(f"{t.label}, {run}: {report.failed} of {report.requested} generations failed "
                             f"(run 'workbench reliability' again to retry them): {'; '.join(report.errors[:2])}")
    extracted = extract(store, show_progress=show_progress, runs=True, parent_run=parent_run)
    if extracted.failed:
        notes.append(f"{extracted.failed} re-generated documents failed extraction and are left out of their runs")
    return notes


def estimate_reliability(store: Store, splits: int = 3, seed: int = 0,
                         model_sources: dict[str, str] | None = None) -> Estimate:
    """What the generation runs of :func:`reliability_runs` would cost: every model source's
    test–retest and template runs still to write (see :func:`workbench.pipeline.generate.estimate_generate`)
    and, with an LLM extractor, the extraction of every document they write (each of the length
    the generator's estimate assumes) and of those written before but not extracted."""
    if store.config().role("generator").provider == "offline":
        return Estimate("reliability", note="no generator endpoint: no LLM calls (test-retest is the bootstrap "
                                            "stand-in)")
    labels = sorted({source_label(s, g) for g, s, _ in store.document_counts() if s != HUMAN})
    targets, _ = regeneration_targets(store, labels, model_sources or {})
    roles = []
    for t in targets:
        # the paper's template's run asks the first test-retest run's requests again: from the cache
        jobs = {(template, run_seed): run for run, template, run_seed in reversed(_jobs(t, splits, seed))}
        roles += [role for (template, run_seed), run in jobs.items()
                  for role in estimate_generate(store, t.model, topics=list(t.topics), persona=t.persona,
                                                group=t.group, source=t.source, run=run, template=template,
                                                seed=run_seed).roles]
    written = [r for r in roles if r.calls]
    if store.config().role("extractor").provider == "openai":  # then each document written is extracted
        roles += estimate_extract(store, runs=True).roles  # written before, not extracted yet
        if written:
            roles.append(estimate_on_replies(store.config(), "extractor", "value_identifier", "document", written))
    return Estimate("reliability", merged(roles),
                    note=f"{len(targets)} model source(s) re-generated; their extraction counted with documents "
                         "of the assumed length; cached replies not counted")


def _run_sets(post: ProjectPosteriors, run_of: dict[str, str]) -> tuple[Rows, Rows, dict[str, Rows]]:
    """(human groups, model sources) of the project's own documents, and {run: model sources} of
    the reliability runs' documents, as row indices of ``post``."""
    groups, sources, _ = document_sets(post)
    doc_run = np.array([run_of.get(d, "") for d in post.corpus.doc_ids], dtype=object)
    labels = np.array(post.labels(), dtype=object)
    own = lambda rows: rows[doc_run[rows] == ""]  # noqa: E731
    models = {s: own(r) for s, r in sources.items() if s not in groups and own(r).size}
    runs = {run: {label: np.flatnonzero((doc_run == run) & (labels == label))
                  for label in dict.fromkeys(labels[doc_run == run].tolist())}
            for run in sorted(set(run_of.values()))}
    return {g: own(r) for g, r in groups.items()}, models, runs


def reliability_runs(store: Store, version: int | None = None, splits: int = 3, seed: int = 0,
                     show_progress: bool = True, save: bool = True,
                     model_sources: dict[str, str] | None = None, estimate: Estimate | None = None) -> ReliabilityRuns:
    """The sampling, test–retest and (with an endpoint) template runs, their α and CV, stored
    for ``validate``. ``estimate`` (:func:`estimate_reliability`) is kept with the run, so that
    ``status`` shows it beside what its generations and their extraction used."""
    run_id = store.start_run("reliability", store.config().digest(), estimate.as_dict() if estimate else None)
    gateway = Gateway(store, store.config(), run_id)
    try:
        return _reliability_runs(store, gateway, version, splits, seed, show_progress, save, model_sources)
    finally:
        store.finish_run(run_id, gateway.stats.as_dict())  # its own (embedding) calls; the generations are parts


def _reliability_runs(store: Store, gateway: Gateway, version: int | None, splits: int, seed: int,
                      show_progress: bool, save: bool, model_sources: dict[str, str] | None) -> ReliabilityRuns:
    post = load_posteriors(store, version, gateway, show_progress)
    groups, models, _ = _run_sets(post, {})
    if not models:
        note = "the project has no model sources: nothing to rank, no reliability run"
        return ReliabilityRuns(post.codebook.version, [], validate([]), [note])
    notes: list[str] = []
    targets: list[Regeneration] = []
    if gateway.is_offline("generator"):
        notes.append("no generator endpoint (roles.generator.provider is offline): test-retest is the bootstrap "
                     "stand-in and template invariance is not run; point roles.generator at an OpenAI-compatible "
                     "endpoint to generate them")
    else:
        targets, skipped = regeneration_targets(store, sorted(models), model_sources or {})
        notes += skipped
        if targets:
            notes += generate_runs(store, targets, splits, seed, show_progress, gateway.run_id)
            corpus = load_corpus(store, gateway, show_progress, runs=True)
            post = load_posteriors(store, post.codebook.version, gateway, show_progress, corpus=corpus)
        else:
            notes.append("no model source could be re-generated: test-retest is the bootstrap stand-in and "
                         "template invariance is not run")
    run_of = store.run_documents()
    groups, models, generated = _run_sets(post, run_of)
    wanted = dict.fromkeys(run for t in targets for run, _, _ in _jobs(t, splits, seed))

    cfg = store.config().alignment.model_copy(update={"n_boot": 0, "ceiling_splits": 0, "equal_n": None})
    rng = np.random.default_rng(seed)
    topics = np.array([t or "" for t in post.corpus.doc_topics], dtype=object)
    distinct = sorted(set(topics.tolist()) - {""})
    runs: list[tuple[str, str, Rows, Rows]] = [(SAMPLING, "full", groups, models)]
    for k in range(1, splits + 1):
        chosen = set(rng.choice(distinct, size=max(1, len(distinct) // 2), replace=False).tolist()) | {""}
        keep = lambda rows: rows[np.isin(topics[rows], list(chosen))]  # noqa: E731
        runs.append((SAMPLING, f"topics{k}", {g: keep(r) for g, r in groups.items()},
                     {s: keep(r) for s, r in models.items()}))
    if targets:
        for run in (r for r in wanted if r in generated):
            kind, _, item = run.rpartition(":")
            runs.append((kind, item, groups, generated[run]))
    else:
        for k in range(1, splits + 1):
            runs.append((BOOTSTRAP, f"draw{k}", groups, {s: rng.choice(r, size=r.size, replace=True)
                                                         for s, r in models.items()}))
    records = []
    with progress_bar("reliability runs", len(runs), show_progress) as advance:
        for kind, item, g_rows, s_rows in runs:
            g_rows = {g: r for g, r in g_rows.items() if r.size}
            s_rows = {s: r for s, r in s_rows.items() if r.size}
            if g_rows and s_rows:
                rows = score_table({g: post.q_docs[r] for g, r in g_rows.items()},
                                   {s: post.q_docs[r] for s, r in s_rows.items()}, post.codebook.centroids, cfg)
                records += [ReliabilityRecord(METHOD, kind, item, r.group, r.source, r.r) for r in rows]
            advance(1)
    if save:
        for kind in RELIABILITY_KINDS:
            store.delete_scores(f"{RELIABILITY_PREFIX}{kind}:", post.codebook.version)
        for kind, item in dict.fromkeys((r.kind, r.item) for r in records):
            store.save_scores(f"{RELIABILITY_PREFIX}{kind}:{item}", post.codebook.version, [
                {"group": r.group, "source": r.source, "r": r.value}
                for r in records if (r.kind, r.item) == (kind, item)], {**cfg.model_dump(), "seed": seed})
    report = validate([], reliability=records)
    if save:  # α and CV as the report shows them
        store.save_version_result(post.codebook.version, RELIABILITY, report.reliability)
    return ReliabilityRuns(post.codebook.version, records, report, notes)

