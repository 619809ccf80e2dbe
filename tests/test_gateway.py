"""The LLM path against a loopback fake OpenAI-compatible server: the App. G prompt is sent,
replies are parsed, bad output is retried then recorded, 429/500 are retried, the cache prevents
repeat calls, and the API key never reaches the database."""
from __future__ import annotations

import gc
import itertools
import json
import socket

import numpy as np
import pytest

import prompts
from conftest import use_llm
from fake_openai import Reply
from workbench.pipeline.extract import extract
from workbench.ingest.documents import IngestOptions, ingest_file
from workbench.llm import gateway as gateway_module
from workbench.llm.gateway import Gateway

GOOD_REPLY = """The author's final stance: families should look after their elders.

```python
[
 {"code_name": "filial duty", "description": "The author values caring for one's parents in old age."},
 {"code_name": "family solidarity", "description": "The author believes relatives should support each other."}
]
```"""


def _docs(store, tmp_path, n=3):
    path = tmp_path / "docs.jsonl"
    path.write_text("".join(json.dumps({"id": f"d{i}", "text": f"Document {i}: we must care for our parents."}) + "\n"
                            for i in range(n)))
    ingest_file(store, path, IngestOptions(group="G"))


def test_extractor_sends_app_g_prompt_and_stores_descriptions(project, fake_openai, tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-SECRET-123456789")
    use_llm(project, fake_openai.base_url, roles=("extractor", "embedder"), max_tokens=321)
    fake_openai.chat = lambda body: GOOD_REPLY
    _docs(project, tmp_path)

    report = extract(project, show_progress=False)

    assert report.documents == 3 and report.expressions == 6 and report.failed == 0
    sent = fake_openai.chat_requests()
    assert len(sent) == 3
    body = sent[0]["body"]
    expected = {prompts.render("value_identifier", document=f"Document {i}: we must care for our parents.")
                for i in range(3)}
    assert {r["body"]["messages"][0]["content"] for r in sent} == expected
    assert body["model"] == "fake-model"
    assert body["max_tokens"] == 321 and body["max_completion_tokens"] == 321
    rows = project.db.execute("select text, code_name, strategy from expressions where document_id='d0' "
                              "order by position").fetchall()
    assert rows == [("The author values caring for one's parents in old age.", "filial duty", "llm:fake-model"),
                    ("The author believes relatives should support each other.", "family solidarity", "llm:fake-model")]
    # the descriptions were embedded through the endpoint and cached
    assert project.count("embeddings") == 2


def test_malformed_output_is_retried_with_the_error_then_recorded(project, fake_openai, tmp_path):
    use_llm(project, fake_openai.base_url, roles=("extractor",))
    replies = {"n": 0}

    def chat(body):
        replies["n"] += 1
        if body["messages"][0]["content"].endswith('"Author of the text"\n') and "d1" in body["messages"][0]["content"]:
            return "[{'code_name': 'honesty', 'description': 'The author values honesty.'}]"  # Python literal: fine
        return "[{'code_name': 'broken'"  # truncated: never valid

    fake_openai.chat = chat
    path = tmp_path / "docs.jsonl"
    path.write_text('{"id": "d0", "text": "Text d0 about duty."}\n{"id": "d1", "text": "Text d1 about honesty."}\n')
    ingest_file(project, path, IngestOptions(group="G"))

    report = extract(project, show_progress=False)

    assert report.failed == 1 and report.expressions == 1
    retry = [r for r in fake_openai.chat_requests() if len(r["body"]["messages"]) == 3]
    assert len(retry) == 1
    assert retry[0]["body"]["messages"][1] == {"role": "assistant", "content": "[{'code_name': 'broken'"}
    assert "could not be read" in retry[0]["body"]["messages"][2]["content"]
    status, error = project.db.execute("select status, error from extractions where document_id='d0'").fetchone()
    assert status == "failed" and "invalid output after 2 attempt(s)" in error
    assert report.stats["invalid_outputs"] == 2 and report.stats["failures"] == 1

    # re-running retries the failed document from the cache: zero new calls
    before = len(fake_openai.chat_requests())
    again = extract(project, show_progress=False)
    assert len(fake_openai.chat_requests()) == before
    assert again.documents == 1 and again.stats["calls"] == 0 and again.stats["cache_hits"] == 2


def test_429_and_500_are_retried(project, fake_openai, tmp_path):
    use_llm(project, fake_openai.base_url, roles=("extractor",), max_retries=3)
    script = iter([Reply(status=429, headers={"Retry-After": "0"}), Reply(status=500), Reply(GOOD_REPLY)])
    fake_openai.chat = lambda body: next(script)
    _docs(project, tmp_path, n=1)

    report = extract(project, show_progress=False)

    assert report.expressions == 2 and report.failed == 0
    assert len(fake_openai.chat_requests()) == 3
    assert report.stats["http_retries"] == 2 and report.stats["calls"] == 1


def test_endpoint_that_keeps_failing_is_recorded_and_run_goes_on(project, fake_openai, tmp_path):
    use_llm(project, fake_openai.base_url, roles=("extractor",), max_retries=1)
    fake_openai.chat = lambda body: Reply(status=500)
    _docs(project, tmp_path, n=2)

    report = extract(project, show_progress=False)

    assert report.failed == 2 and report.stats["failures"] == 2
    errors = [r[0] for r in project.db.execute("select error from llm_calls where error is not null")]
    assert len(errors) == 2 and all("500" in e for e in errors)


def test_cache_prevents_repeat_calls(project, fake_openai, tmp_path):
    use_llm(project, fake_openai.base_url, roles=("extractor",))
    fake_openai.chat = lambda body: GOOD_REPLY
    _docs(project, tmp_path, n=4)
    extract(project, show_progress=False)
    assert len(fake_openai.chat_requests()) == 4
    project.db.execute("delete from extractions")  # force a full re-run of the step
    project.db.execute("delete from expressions")

    again = extract(project, show_progress=False)

    assert len(fake_openai.chat_requests()) == 4
    assert again.documents == 4 and again.expressions == 8
    assert again.stats["calls"] == 0 and again.stats["cache_hits"] == 4


@pytest.mark.parametrize("limit", [1, 3])
def test_concurrency_limit_bounds_calls_in_flight(project, fake_openai, tmp_path, limit):
    use_llm(project, fake_openai.base_url, roles=("extractor",), concurrency=limit)
    fake_openai.chat = lambda body: Reply(GOOD_REPLY, delay=0.2)
    _docs(project, tmp_path, n=6)

    report = extract(project, show_progress=False)

    assert report.stats["calls"] == 6
    assert fake_openai.max_in_flight == limit  # overlapping up to the limit, never beyond
    # the logged latency is the request's time on the wire, not its wait for a free slot
    latencies = [r[0] for r in project.db.execute("select latency_ms from llm_calls")]
    assert len(latencies) == 6 and all(200 <= ms < 2 * 200 for ms in latencies)


def test_a_refused_connection_is_reported_as_one_not_as_a_timeout(project, tmp_path):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    use_llm(project, f"http://127.0.0.1:{port}/v1", roles=("extractor",), max_retries=0)
    _docs(project, tmp_path, n=1)

    report = extract(project, show_progress=False)

    assert report.stats["failures"] == 1 and report.stats["timeouts"] == 0
    (error,) = report.stats["errors"].values()
    assert "Connection" in error["first"] and "timed out" not in error["first"]


def test_identical_requests_of_one_batch_get_one_call_and_one_reply(project, fake_openai):
    use_llm(project, fake_openai.base_url, roles=("decoder",), concurrency=4)
    replies = itertools.count()
    fake_openai.chat = lambda body: Reply(f"reconstruction {next(replies)}", delay=0.1)
    items = [{"values": "- care (0.5)", "topic": "t"}] * 5 + [{"values": "- duty (0.5)", "topic": "t"}]

    def batch():
        gateway = Gateway(project, project.config())
        results = gateway.run(gateway.complete_many("decoder", "document_reconstruction", items, lambda text: text))
        return [r.value for r in results], gateway.stats

    first, stats = batch()

    assert len(fake_openai.chat_requests()) == 2
    assert len(set(first[:5])) == 1 and first[5] != first[0]  # twins share the reply of their one call
    assert (stats.calls, stats.cache_hits) == (2, 4)
    again, stats = batch()
    assert again == first and stats.calls == 0  # a re-run gives each item what the first run gave it


def test_each_request_leaves_once_built_and_at_most_c_wait_built(project, fake_openai, monkeypatch):
    use_llm(project, fake_openai.base_url, roles=("decoder",), concurrency=3)
    fake_openai.chat = lambda body: Reply("a reconstruction", delay=0.1)
    events = []
    render = prompts.render
    monkeypatch.setattr(prompts, "render", lambda name, **v: events.append("built") or render(name, **v))
    wire = gateway_module.DefaultAioHttpClient.send

    async def on_wire(client, request, **kwargs):
        events.append("sent")
        return await wire(client, request, **kwargs)

    monkeypatch.setattr(gateway_module.DefaultAioHttpClient, "send", on_wire)
    items = [{"values": f"- care ({i})", "topic": "t"} for i in range(12)]
    gateway = Gateway(project, project.config())

    gateway.run(gateway.complete_many("decoder", "document_reconstruction", items, str))

    # the first c go out one by one as each is built (langchain's task per call made every
    # worker build its request before the first left)
    assert events[:6] == ["built", "sent"] * 3
    ahead = list(itertools.accumulate(1 if e == "built" else -1 for e in events))
    assert max(ahead) <= 3 and events.count("sent") == 12  # never more than c built and waiting


def test_items_waiting_for_a_twins_reply_leave_the_slots_to_others(project, fake_openai):
    use_llm(project, fake_openai.base_url, roles=("decoder",), concurrency=3)
    fake_openai.chat = lambda body: Reply("a reconstruction", delay=0.3)
    items = [{"values": "- care (0.5)", "topic": "t"}] * 6 + [{"values": f"- duty ({i})", "topic": "t"} for i in range(2)]
    gateway = Gateway(project, project.config())

    gateway.run(gateway.complete_many("decoder", "document_reconstruction", items, str))

    # the five twins wait for the first one's reply without holding places: the other two
    # requests go out beside it (before, 2c workers all waited on the twin and they went after)
    assert len(fake_openai.chat_requests()) == 3 and fake_openai.max_in_flight == 3


def test_a_run_keeps_earlier_objects_out_of_collections_while_it_lasts(project):
    gateway = Gateway(project, project.config())

    async def frozen_now() -> int:
        return gc.get_freeze_count()

    assert gateway.run(frozen_now()) > 1000  # the loop's replies never wait for a scan of the whole process
    assert gc.get_freeze_count() == 0  # and afterwards they are collected as before


def test_a_run_closes_the_http_clients_it_opened_and_a_session_at_its_end(project, fake_openai):
    use_llm(project, fake_openai.base_url, roles=("namer",))
    gateway = Gateway(project, project.config())

    async def call_and_keep_client():
        await gateway.complete("namer", "code_naming", {"descriptions": "1. care"}, str)
        return gateway._chat_model("namer").http_async_client

    alone = gateway.run(call_and_keep_client())
    assert alone.is_closed and not gateway._open_clients and not gateway._chat_models
    with gateway.session():
        client = gateway.run(call_and_keep_client())
        assert gateway.run(call_and_keep_client()) is client and not client.is_closed  # one client for every run
    assert client.is_closed and client is not alone
    assert not gateway._open_clients and not gateway._chat_models  # a later run opens its own


def test_calls_reuse_their_connection_across_the_runs_of_a_session(project, fake_openai, tmp_path):
    use_llm(project, fake_openai.base_url, roles=("extractor", "decoder"), concurrency=1)
    fake_openai.chat = lambda body: GOOD_REPLY
    _docs(project, tmp_path, n=4)

    extract(project, show_progress=False)
    gateway = Gateway(project, project.config())
    with gateway.session():
        for topic in ("a", "b"):  # two batches, as a build's naming and reconstruction rounds
            gateway.run(gateway.complete_many("decoder", "document_reconstruction",
                                              [{"values": "- care (0.5)", "topic": topic}], str))

    # one connection kept alive, as against a real endpoint, not a new one per call or per
    # batch of a build (a TLS handshake each against a hosted endpoint)
    clients = [r["client"] for r in fake_openai.chat_requests()]
    assert len(clients) == 6 and len(set(clients[:4])) == 1 and len(set(clients[4:])) == 1


def test_clients_of_every_run_share_one_tls_context(project, fake_openai):
    use_llm(project, fake_openai.base_url, roles=("namer", "decoder"))
    gateway = Gateway(project, project.config())

    async def tls_context(role):
        model = gateway._chat_model(role)
        return model.http_async_client._transport.ssl_context

    contexts = [gateway.run(tls_context(role)) for role in ("namer", "namer", "decoder")]
    # a new client per role per run, each without loading the CA bundle again
    assert len({id(c) for c in contexts}) == 1


def test_api_key_never_reaches_the_database(project, fake_openai, tmp_path, monkeypatch):
    key = "sk-live-DO-NOT-STORE-abcdef123456"
    monkeypatch.setenv("OPENAI_API_KEY", key)
    use_llm(project, fake_openai.base_url, roles=("extractor",), max_retries=0)
    fake_openai.chat = lambda body: Reply(status=401, error_body={"error": {"message": f"Incorrect API key provided: {key}"}})
    _docs(project, tmp_path, n=1)
    extract(project, show_progress=False)
    fake_openai.chat = lambda body: GOOD_REPLY
    extract(project, show_progress=False)

    headers = {k.lower(): v for k, v in fake_openai.chat_requests()[0]["headers"].items()}
    assert headers["authorization"] == f"Bearer {key}"
    project.db.conn.execute("PRAGMA wal_checkpoint(FULL)")
    raw = project.path.read_bytes()
    assert key.encode() not in raw and b"DO-NOT-STORE" not in raw
    errors = [r[0] for r in project.db.execute("select error from llm_calls where error is not null")]
    assert errors and all(key not in e for e in errors)


def test_a_run_killed_between_embedding_batches_counts_exactly_what_it_stored(project, monkeypatch):
    """A build killed mid-node (kill -9) never reaches the node's stats update: the run's count of
    computed embeddings is written with each stored batch, in its transaction."""
    run_id = project.start_run("build", "x")
    gateway = Gateway(project, project.config(), run_id)
    calls = []

    def backend(texts):
        calls.append(len(texts))
        if len(calls) == 2:
            raise KeyboardInterrupt  # the process dies inside the second batch
        return np.ones((len(texts), 4), dtype=np.float32)

    monkeypatch.setattr(gateway, "_embed_backend", lambda: backend)
    with pytest.raises(KeyboardInterrupt):
        gateway.embed([f"text {i}" for i in range(gateway_module.EMBED_BATCH + 3)])
    stats = json.loads(project.db.execute("select stats from runs where id = ?", [run_id]).fetchone()[0])
    assert stats["embeddings_computed"] == project.count("embeddings") == gateway_module.EMBED_BATCH
