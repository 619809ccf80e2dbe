"""The log-probability decoder (footnote 3): d(x|s) = mean token −log p of the document given the
code set, from /v1/completions with echo and logprobs (the fake server answers with known values)."""
from __future__ import annotations


import numpy as np
import pytest

from conftest import use_llm
from workbench.build import run_build
from workbench.errors import WorkbenchError
from workbench.llm.gateway import Gateway


def _by_length(prefix: str, token: str) -> float:
    return -len(token.strip()) / 10


def test_document_tokens_only_and_cached(project, fake_openai):
    fake_openai.token_logprob = _by_length
    use_llm(project, fake_openai.base_url, roles=("decoder",))
    gateway = Gateway(project, project.config())
    variables = {"values": "- care [0.70]\n- duty [0.30]", "topic": "elderly parents"}
    result = gateway.run(gateway.text_logprobs("decoder", "document_likelihood", variables, "care for parents daily"))
    assert result.value == pytest.approx([-0.4, -0.3, -0.7, -0.5])  # the prompt's own tokens are not counted
    from workbench.codebook.decoders import logprob_distortion

    assert logprob_distortion(np.array(result.value)) == pytest.approx(0.475)
    body = [r["body"] for r in fake_openai.requests if r["path"].endswith("/v1/completions")][0]
    assert body["echo"] is True and body["logprobs"] == 0 and body["prompt"].endswith("\ncare for parents daily")
    again = gateway.run(gateway.text_logprobs("decoder", "document_likelihood", variables, "care for parents daily"))
    assert again.cached and again.value == result.value
    assert len([r for r in fake_openai.requests if r["path"].endswith("/v1/completions")]) == 1


def test_an_endpoint_without_logprobs_is_a_one_line_setting_error(project, fake_openai):
    use_llm(project, fake_openai.base_url, roles=("decoder",))
    gateway = Gateway(project, project.config())
    with pytest.raises(WorkbenchError, match=r"roles.decoder.distortion = logprob needs prompt log-probabilities.*"
                                             r"set 'roles.decoder.distortion embedding'"):
        gateway.run(gateway.text_logprobs("decoder", "document_likelihood", {"values": "-", "topic": "t"}, "text"))


def test_a_build_with_the_logprob_decoder(built_project, fake_openai):
    # a text is likelier when the prompt names a code whose words it uses
    def likelihood(prefix: str, token: str) -> float:
        return -0.5 if token.strip().lower() in prefix.lower() else -3.0

    fake_openai.token_logprob = likelihood
    use_llm(built_project, fake_openai.base_url, roles=("decoder",))
    built_project.save_config(built_project.config().with_settings({"roles.decoder.distortion": "logprob",
                                                                    "em.doc_budget": "20"}))
    status = run_build(built_project, auto_approve=True, iterations=1, restart=True, show_progress=False)
    assert status.state == "finished"
    rows = built_project.iterations(status.thread_id)
    assert rows and all(r["decoder"] == "logprob:fake-model" for r in rows)
    assert all(0.5 <= r["distortion"] <= 3.0 and r["n_reconstructed"] > 0 for r in rows)  # nats per token
    assert not [r for r in fake_openai.requests if r["path"].endswith("/chat/completions")]  # no sampling


def test_the_endpoint_decoder_honours_logprob_reduce(project, fake_openai):
    from test_offline_lm_decoder import TEXTS, Q, _codebook, _corpus

    from workbench.config import EMConfig
    from workbench.pipeline.reconstruct import reconstruct

    fake_openai.token_logprob = _by_length
    d = {}
    for reduce in ("mean", "sum"):
        use_llm(project, fake_openai.base_url, roles=("decoder",), distortion="logprob", logprob_reduce=reduce)
        gateway = Gateway(project, project.config())
        d[reduce] = reconstruct(_corpus(), _codebook(), Q, EMConfig(m=1, n1=1, doc_budget=3), gateway, 1,
                                False).distortion_per_doc
    calls = [r for r in fake_openai.requests if r["path"].endswith("/v1/completions")]
    assert len(calls) == 3 * 2  # the sum came from the cache: the same token log-probabilities
    gateway = Gateway(project, project.config())
    tokens = [len(gateway.run(gateway.text_logprobs("decoder", "document_likelihood", {"values": "-", "topic": "t"},
                                                     text)).value) for text in TEXTS]
    assert d["sum"] == pytest.approx(d["mean"] * np.array(tokens))
