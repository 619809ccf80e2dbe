"""``workbench reliability`` with a generator endpoint (the loopback fake server): each model source
writes its topics again with three seeds (test-retest) and with the three generation templates
(template invariance); the runs are extracted, mapped, scored, stored and read by ``validate``,
kept out of the project's own sources, and a re-run asks nothing new.

The project is small and its codebook is written directly (no build, no UMAP)."""
from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

import prompts
from conftest import use_llm
from fake_openai import request_rng
from workbench.cli import main
from workbench.pipeline.corpus import load_corpus
from workbench.errors import WorkbenchError
from workbench.pipeline.extract import extract
from workbench.pipeline.generate import generate
from workbench.ingest.documents import IngestOptions, ingest_file
from workbench.llm.gateway import Gateway
from workbench.models import Code
from workbench.measures.reliability import RETEST, SAMPLING, TEMPLATE, estimate_reliability, reliability_runs
from workbench.measures.validate import stored_reliability
from workbench.report.terminal import run_cost_lines
from workbench.measures.score import score_project

TOPICS = ["the qualities of a good partner", "caring for elderly parents", "the role of money",
          "raising children"]
VALUES = ["Every person deserves equal rights and fair treatment.",
          "We must protect the forests for our grandchildren.",
          "Children should respect their parents and care for them in old age.",
          "I admire people who take a risk and build something of their own.",
          "Honesty matters to me more than any reward.",
          "Our traditions hold the community together and we should keep them.",
          "Everyone should be free to choose their own path in life.",
          "Helping a neighbour in need is the duty of a decent person."]
WORDING = {"Write a piece of writing": 0, "Compose a text": 2, "Please write something": 4}


def _model(body: dict) -> str:
    """A seed-honouring fake model. As the value identifier it codes each known sentence of the
    target text; as the writer, its sentences depend on the model, the template's wording and the seed."""
    prompt = body["messages"][-1]["content"]
    if "Target text:" in prompt:
        return repr([{"code_name": "value", "description": v} for v in VALUES if v in prompt])
    offset = next(v for k, v in WORDING.items() if k in prompt) + (1 if "llama" in body["model"] else 0)
    picks = request_rng(body).choice(len(VALUES), size=2, replace=False)
    return " ".join(VALUES[(i + offset) % len(VALUES)] for i in sorted({0, *picks.tolist()}))


def _writing(server, since: int = 0) -> list[dict]:
    """The bodies of the generation requests (not the value identifier's) from request ``since`` on."""
    bodies = [r["body"] for r in server.chat_requests()[since:]]
    return [b for b in bodies if "Target text:" not in b["messages"][-1]["content"]]


def _project(project, fake_openai, tmp_path):
    """Human documents of KR and US, two generated model sources and an imported one, extracted and
    embedded by the fake server (fast), and a three-code codebook written directly."""
    for group, source, shift in (("KR", "human", 0), ("US", "human", 3), ("control", "imported-llm", 5)):
        path = tmp_path / f"{group}.jsonl"
        path.write_text("".join(json.dumps({"id": f"{group}{i}", "topic": t, "text": " ".join(
            VALUES[(i + j + shift) % len(VALUES)] for j in range(3))}) + "\n" for i, t in enumerate(TOPICS)), "utf-8")
        ingest_file(project, path, IngestOptions(group=group, source=source))
    use_llm(project, fake_openai.base_url, roles=("generator", "extractor", "embedder"))
    fake_openai.chat = _model
    for model in ("qwen-test", "llama-test"):
        generate(project, model, show_progress=False)
    extract(project, show_progress=False)
    gateway = Gateway(project, project.config())
    corpus = load_corpus(project, gateway, show_progress=False)
    labels = np.arange(len(corpus.expr_ids)) % 3
    codes = [Code(k, f"u{k}", f"code {k}", "test", None, int((labels == k).sum()),
                  corpus.expr_emb[labels == k].mean(axis=0)) for k in range(3)]
    project.save_codebook("t", 0, "init", None, codes, corpus.expr_ids, labels,
                          {"sigma": 0.1, "representation": gateway.representation}, "h", gateway.embedder_id)
    return len(fake_openai.chat_requests())


def test_seeds_and_templates_are_generated_scored_and_kept_apart(project, fake_openai, tmp_path):
    before = _project(project, fake_openai, tmp_path)
    own_counts = project.document_counts()

    runs = reliability_runs(project, splits=3, seed=10, show_progress=False)

    bodies = _writing(fake_openai, before)
    assert {b["model"] for b in bodies} == {"qwen-test", "llama-test"}  # the imported source has no known model
    assert {b["seed"] for b in bodies} == {11, 12, 13}  # three test-retest seeds; templates at seed 11
    texts = {b["messages"][-1]["content"] for b in bodies}
    for name in prompts.GENERATION_TEMPLATES:  # each template's own wording is sent, for every topic
        assert {prompts.render(name, topic=t) for t in TOPICS} <= texts
    # 2 models × 4 topics × (3 seeds + 2 paraphrases); the paper's template at seed 11 is seed 11's run
    assert len(bodies) == 2 * 4 * 5

    items = {(r.kind, r.item) for r in runs.records}
    assert items == {(SAMPLING, "full"), *((SAMPLING, f"topics{k}") for k in (1, 2, 3)),
                     *((RETEST, f"seed{s}") for s in (11, 12, 13)),
                     *((TEMPLATE, name) for name in prompts.GENERATION_TEMPLATES)}
    assert {r.source for r in runs.records if r.kind in (RETEST, TEMPLATE)} == {"qwen-test", "llama-test"}
    assert {r.source for r in runs.records if r.kind == SAMPLING} == {"qwen-test", "llama-test", "imported-llm"}
    by_run = {}
    for r in runs.records:
        by_run.setdefault((r.kind, r.item), {})[(r.group, r.source)] = r.value
    assert by_run[(TEMPLATE, "topic_writing")] == pytest.approx(by_run[(RETEST, "seed11")])  # same requests
    assert by_run[(TEMPLATE, "topic_writing_paraphrase1")] != by_run[(TEMPLATE, "topic_writing")]
    summary = {(r["kind"], r["group"]): r for r in runs.report.reliability}
    for kind in (SAMPLING, RETEST, TEMPLATE):
        assert summary[(kind, "mean")]["n_items"] == (4 if kind == SAMPLING else 3)
        assert summary[(kind, "KR")]["n_models"] >= 2 and np.isfinite(summary[(kind, "KR")]["cv"])
    assert np.isfinite(summary[(RETEST, "KR")]["alpha"])
    assert any("imported-llm" in n and "--model-source" in n for n in runs.notes)
    assert sorted(stored_reliability(project, runs.version), key=repr) == sorted(runs.records, key=repr)

    # the runs' documents record seed and template, and stay out of the project's own sources
    stored = project.db.execute("select reliability_run, template, seed, count(*) from documents "
                                "where reliability_run is not null group by 1, 2, 3 order by 1").fetchall()
    assert ("test-retest:seed12", "topic_writing", 12, 8) in stored
    assert ("template:topic_writing_paraphrase2", "topic_writing_paraphrase2", 11, 8) in stored
    assert project.document_counts() == own_counts
    docs, exprs = project.corpus_rows()
    assert all(not d[0].count("run=") for d in docs) and {e[1] for e in exprs} <= {d[0] for d in docs}
    assert sorted(project.topic_texts(None, "qwen-test")) == sorted(TOPICS)

    sent = len(fake_openai.chat_requests())
    again = reliability_runs(project, splits=3, seed=10, show_progress=False)
    assert len(fake_openai.chat_requests()) == sent  # nothing generated or extracted again
    assert sorted(again.records, key=repr) == sorted(runs.records, key=repr)


def test_model_source_option_cli_and_validate(project, fake_openai, tmp_path):
    before = _project(project, fake_openai, tmp_path)
    path = str(project.path)
    bad = CliRunner().invoke(main, ["reliability", path, "--model-source", "nobody=gpt", "--quiet"])
    assert bad.exit_code != 0 and "unknown source(s) ['nobody']" in bad.output and "Traceback" not in bad.output
    malformed = CliRunner().invoke(main, ["reliability", path, "--model-source", "imported-llm", "--quiet"])
    assert malformed.exit_code != 0 and "LABEL=MODEL" in malformed.output

    out = CliRunner().invoke(main, ["reliability", path, "--model-source", "imported-llm=gpt-test", "--splits", "2",
                                    "--json"])
    assert out.exit_code == 0, out.output
    models = {b["model"] for b in _writing(fake_openai, before)}
    assert models == {"qwen-test", "llama-test", "gpt-test"}
    data = json.loads(out.output)
    assert {r["kind"] for r in data["reliability"]} == {SAMPLING, RETEST, TEMPLATE}
    project.save_config(project.config().with_settings({"alignment.n_boot": "0", "alignment.ceiling_splits": "0"}))
    score_project(project, show_progress=False)  # validate needs the project's own score table
    validated = CliRunner().invoke(main, ["validate", path, "--json"])
    assert validated.exit_code == 0, validated.output
    assert {r["kind"] for r in json.loads(validated.output)["reliability"]} == {SAMPLING, RETEST, TEMPLATE}
    # the imported source's runs are stored under its own name
    runs = project.db.execute("select distinct source from documents where reliability_run is not null").fetchall()
    assert {r[0] for r in runs} == {"qwen-test", "llama-test", "imported-llm"}


def test_offline_generator_keeps_the_bootstrap_stand_in(project, fake_openai, tmp_path):
    before = _project(project, fake_openai, tmp_path)
    project.save_config(project.config().with_settings({"roles.generator.provider": "offline"}))
    runs = reliability_runs(project, show_progress=False)
    assert {r.kind for r in runs.records} == {SAMPLING, "test-retest (bootstrap)"}
    assert any("template invariance is not run" in n for n in runs.notes)
    assert len(fake_openai.chat_requests()) == before


def test_generate_template_and_seed(project, fake_openai):
    use_llm(project, fake_openai.base_url, roles=("generator",))
    fake_openai.chat = _model
    generate(project, "qwen-test", topics=TOPICS[:1], template="topic_writing_paraphrase1", seed=7,
             show_progress=False)
    (body,) = _writing(fake_openai)
    assert body["messages"][-1]["content"] == prompts.render("topic_writing_paraphrase1", topic=TOPICS[0])
    assert body["seed"] == 7
    assert project.db.execute("select template, seed, reliability_run from documents").fetchall() == [
        ("topic_writing_paraphrase1", 7, None)]
    with pytest.raises(WorkbenchError, match="role-play"):
        generate(project, "qwen-test", topics=TOPICS[:1], persona="KR", template="topic_writing_paraphrase2")


def test_status_shows_what_a_reliability_run_used_beside_its_estimate(project, fake_openai, tmp_path):
    """The generations and their extraction are parts of the reliability run: status adds them up
    beside the estimate, which counts both (each document extracted at the writing's assumed length)."""
    before = _project(project, fake_openai, tmp_path)
    estimate = estimate_reliability(project, splits=2, seed=10)
    assert fake_openai.chat_requests()[before:] == []
    reliability_runs(project, splits=2, seed=10, show_progress=False, estimate=estimate)
    writing, sent = len(_writing(fake_openai, before)), len(fake_openai.chat_requests()) - before
    generators = [r for r in estimate.roles if r.role == "generator"]
    [extractor] = [r for r in estimate.roles if r.role == "extractor"]
    assert sorted(r.model for r in generators) == ["llama-test", "qwen-test"]
    # two models: 2 seeds + 3 templates each, the paper's template at the first seed asked once
    assert writing == sum(r.calls for r in generators) == extractor.calls == 2 * (2 + 3 - 1) * len(TOPICS)
    total, *roles = run_cost_lines(project, ("reliability",))
    print(total, *roles, sep="\n")
    # the fake writes documents of 2-3 sentences, so some are alike and their extraction cached
    assert total.startswith(f"last reliability: {sent} calls (estimate {2 * writing})") and sent - writing <= writing
    for model in ("qwen-test", "llama-test"):
        assert f"  generator {model}: {writing // 2} calls (estimate {writing // 2})," in "\n".join(roles)
    assert f"  extractor fake-model: {sent - writing} calls (estimate {writing})," in "\n".join(roles)
