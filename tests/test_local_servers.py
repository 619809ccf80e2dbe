"""Local and private model servers (README, "Local and private models"): the fake server behaves
like vLLM, Ollama or llama.cpp's server where the workbench can tell them apart, and each path
either works or says in one line what the server lacks."""
from __future__ import annotations

import json

import pytest

from conftest import use_llm
from fake_openai import PROFILES, Reply, error_body
from workbench.errors import WorkbenchError
from workbench.pipeline.extract import extract
from workbench.ingest.documents import IngestOptions, ingest_file
from workbench.llm.gateway import Gateway
from workbench.report.terminal import llm_errors

REPLY = ('Final stance: care matters.\n```python\n[{"code_name": "care", '
         '"description": "The author values caring for others."}]\n```')


@pytest.fixture(params=[p for p in PROFILES if p != "openai"])
def local(request, project, fake_openai, tmp_path, monkeypatch):
    """A project whose roles talk to the fake server behaving like one local server family."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    fake_openai.profile = request.param
    use_llm(project, fake_openai.base_url, roles=("extractor", "decoder"), model="local-model")
    path = tmp_path / "docs.jsonl"
    path.write_text("".join(json.dumps({"id": f"d{i}", "text": f"Document {i}: we care for each other."}) + "\n"
                            for i in range(2)), "utf-8")
    ingest_file(project, path, IngestOptions(group="G"))
    return project, fake_openai


def test_extraction_needs_no_json_mode_and_works_on_each(local):
    project, server = local
    server.chat = lambda body: REPLY
    report = extract(project, show_progress=False)
    assert report.failed == 0 and report.expressions == 2
    assert all("response_format" not in r["body"] for r in server.chat_requests())  # plain text, parsed here


def test_prompt_log_probabilities_work_on_vllm_and_are_one_line_elsewhere(local):
    project, server = local
    server.token_logprob = lambda prefix, token: -0.5
    gateway = Gateway(project, project.config())
    job = gateway.text_logprobs("decoder", "document_likelihood", {"values": "- care [1.00]", "topic": "t"}, "we care")
    if server.profile == "vllm":
        assert gateway.run(job).value == [-0.5, -0.5]
        return
    with pytest.raises(WorkbenchError) as error:
        gateway.run(job)
    text = str(error.value)
    assert "\n" not in text and "returned none for model 'local-model'" in text
    assert "set 'roles.decoder.distortion embedding'" in text


def test_a_missing_model_is_one_line_with_the_servers_own_message(local):
    project, server = local
    message = {"vllm": "The model `local-model` does not exist.",
               "ollama": 'model "local-model" not found, try pulling it first',
               "llamacpp": "model not found"}[server.profile]
    server.chat = lambda body: Reply(status=404, error_body=error_body(server.profile, 404, message))
    report = extract(project, show_progress=False)
    assert report.failed == 2
    [line] = llm_errors(report.stats)
    assert "\n" not in line and message in line and "404" in line
