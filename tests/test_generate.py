"""``workbench generate`` against the loopback fake server: the App. G prompts are sent (the
role-play prompt with the persona's adjective), K samples per topic, documents stored with
source = the model, and a re-run makes zero new calls and adds nothing."""
from __future__ import annotations

import json

from click.testing import CliRunner

import prompts
from conftest import use_llm
from fake_openai import Reply
from workbench.cli import main
from workbench.pipeline.generate import country_adjective, document_id, generate
from workbench.ingest.documents import IngestOptions, ingest_file
from workbench.measures.score import source_label

TOPICS = ["the qualities of a good partner", "caring for elderly parents"]


def _human_docs(store, tmp_path):
    path = tmp_path / "human.jsonl"
    path.write_text("".join(json.dumps({"id": f"h{i}", "text": f"A human text on {t}.", "topic": t}) + "\n"
                            for i, t in enumerate(TOPICS)), "utf-8")
    ingest_file(store, path, IngestOptions(group="KR"))


def _reply(body):
    prompt = body["messages"][0]["content"]
    return f"An essay written for: {prompt.splitlines()[-1]} (sample request {len(prompt)})"


def test_role_play_prompt_samples_and_resume(project, fake_openai, tmp_path):
    use_llm(project, fake_openai.base_url, roles=("generator",), model="configured-model")
    fake_openai.chat = _reply
    _human_docs(project, tmp_path)

    report = generate(project, "qwen-test", persona="KR", samples=2, show_progress=False)

    assert (report.requested, report.existing, report.generated, report.failed) == (4, 0, 4, 0)
    sent = fake_openai.chat_requests()
    assert len(sent) == 4  # 2 topics × 2 samples: the sample index makes distinct requests
    assert {r["body"]["model"] for r in sent} == {"qwen-test"}
    expected = {prompts.render("cultural_role_play", country_adjective="Korean", topic=t) for t in TOPICS}
    assert {r["body"]["messages"][0]["content"] for r in sent} == expected
    rows = project.db.execute("select id, group_name, source, text from documents where source = 'qwen-test' "
                              "order by id").fetchall()
    assert [r[0] for r in rows] == sorted(document_id("qwen-test", t, "KR", k) for t in TOPICS for k in (0, 1))
    assert {r[1] for r in rows} == {"KR"} and all(r[3].startswith("An essay written for") for r in rows)
    assert source_label("qwen-test", "KR") == "qwen-test@KR"

    again = generate(project, "qwen-test", persona="KR", samples=2, show_progress=False)
    assert (again.existing, again.generated) == (4, 0)
    assert len(fake_openai.chat_requests()) == 4  # zero new calls
    assert project.count("documents", "source = 'qwen-test'") == 4


def test_control_prompt_cli_and_failures(project, fake_openai, tmp_path):
    use_llm(project, fake_openai.base_url, roles=("generator",))
    topics = tmp_path / "topics.txt"
    topics.write_text("freedom of speech\n\nfreedom of speech\nthe meaning of work\n", "utf-8")
    fake_openai.chat = lambda body: Reply(status=500) if "work" in body["messages"][0]["content"] else "An essay."
    project.save_config(project.config().with_settings({"roles.generator.max_retries": "0"}))

    result = CliRunner().invoke(main, ["generate", str(project.path), "--model", "llama-test", "--topics", str(topics),
                                       "--quiet"])

    assert result.exit_code == 0, result.output
    assert "2 documents wanted, 0 already in the project, 1 generated, 1 failed (group control)" in result.output
    (body,) = [r["body"] for r in fake_openai.chat_requests() if "speech" in r["body"]["messages"][0]["content"]]
    assert body["messages"][0]["content"] == prompts.render("topic_writing", topic="freedom of speech")
    assert project.db.execute("select group_name, source from documents").fetchall() == [("control", "llama-test")]
    assert source_label("llama-test", "control") == "llama-test"
    # the failed topic is retried on the next run; the stored one is not asked again
    fake_openai.chat = lambda body: "An essay on work."
    again = generate(project, "llama-test", topics=["freedom of speech", "the meaning of work"], show_progress=False)
    assert (again.existing, again.generated, again.failed) == (1, 1, 0)


def test_country_adjectives():
    assert [country_adjective(c) for c in ("US", "kr", "JP", "CN", "Indian")] == \
        ["American", "Korean", "Japanese", "Chinese", "Indian"]
