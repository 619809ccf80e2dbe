"""Issue #11's build rules: σ fixed per build, S(C) as three terms, the stop rules (T refinements,
τ1, too little improvement), the training sources, the decoder's temperature and the embedder's
input window."""
from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from workbench.build import run_build
from workbench.cli import main
from workbench.codebook.objective import score, stop_reason
from workbench.config import WorkbenchConfig
from workbench.pipeline.corpus import load_corpus, training_corpus
from workbench.errors import WorkbenchError
from workbench.llm.gateway import Gateway
from workbench.models import Codebook
from workbench.pipeline.posteriors import build_sigma, code_posteriors, spread


# ------------------------------------------------------------------ the stop rules (pure)

def test_T_ten_means_ten_refinements():
    scores = list(np.linspace(0.1, 0.5, 20))  # rising fast: only T stops it
    stops = [t for t in range(1, 21) if stop_reason(scores[:t], 10, tau1=100.0, min_rel_improvement=0.005)]
    # iteration t scores C^{t-1}; the first stop is at t = 11, after refinements 1..10
    assert stops[0] == 11 and stop_reason(scores[:11], 10, 100.0) == "made T = 10 refinements"


def test_tau1_is_the_papers_rule_and_comes_first():
    assert stop_reason([0.2, 1.5], 10, tau1=1.0) == "S(C) = 1.5000 > τ1 = 1.0"
    assert stop_reason([0.2, 0.9], 10, tau1=1.0) is None


def test_too_little_improvement_for_two_iterations_stops():
    flat = [0.50, 0.60, 0.601, 0.6015]  # +20 %, then +0.17 % and +0.08 %
    assert stop_reason(flat[:3], 10, 100.0, 0.005, patience=2) is None  # one slow step is not enough
    reason = stop_reason(flat, 10, 100.0, 0.005, patience=2)
    assert reason.startswith("S(C) improved by less than 0.5 % for 2 iterations")
    assert stop_reason(flat, 10, 100.0, 0.0) is None  # 0 turns the rule off
    assert stop_reason([0.5, 0.4, 0.3], 10, 100.0, 0.005) .startswith("S(C) improved")  # falling counts too


def test_score_terms_add_up_to_S():
    rng = np.random.default_rng(0)
    q = rng.dirichlet(np.ones(6), size=40)
    parts = score(rng.normal(-0.8, 0.05, 40), q, M=3, beta1=0.3, beta2=0.08)
    assert parts.beta1_term > 0 > parts.beta2_term
    assert -parts.distortion + parts.beta1_term + parts.beta2_term == pytest.approx(parts.score, abs=1e-12)


# ------------------------------------------------------------------ σ fixed for the build

def test_a_change_that_only_flattens_posteriors_no_longer_raises_S(built_project):
    store = built_project
    corpus = training_corpus(load_corpus(store, Gateway(store, store.config()), False), ["human"], store.path)
    init = store.load_codebook(store.version_for("build-1", 0, "init"))
    record = store.build_record("build-1")
    recorded = record["sigma"]
    em = store.config().em  # the record says which strategy made the codebook
    assert (record["init"]["clusterer"], record["objective"]) == (em.clusterer, em.objective)
    assert recorded == pytest.approx(spread(corpus, init)) and build_sigma(store, corpus, init) == recorded
    # the same codes, members shuffled among them: only the within-code spread grows
    shuffled = Codebook(init.version, init.codes, init.expression_ids,
                        np.random.default_rng(0).permutation(init.labels))
    assert spread(corpus, shuffled) > 1.2 * recorded
    distortion = np.full(len(corpus.doc_ids), -0.8)

    def S(codebook, sigma):
        q, _ = code_posteriors(corpus, codebook, sigma)
        return score(distortion, q, 3, 0.3, 0.08).score

    before = S(init, recorded)
    assert S(shuffled, build_sigma(store, corpus, shuffled, "per-version")) > before + 0.01  # the old rule
    assert S(shuffled, build_sigma(store, corpus, shuffled)) == pytest.approx(before)  # σ fixed on C⁰


def test_status_prints_S_as_three_terms_with_sigma_fixed(built_project, monkeypatch):
    from workbench.report import terminal

    monkeypatch.setattr(terminal.console, "width", 200)
    rows = built_project.iterations("build-1")
    assert len({r["sigma"] for r in rows}) == 1 and rows[0]["sigma"] > 0
    for r in rows:
        assert -r["distortion"] + r["beta1_term"] + r["beta2_term"] == pytest.approx(r["S"], abs=1e-9)
    out = CliRunner().invoke(main, ["status", str(built_project.path)])
    assert out.exit_code == 0, out.output
    assert "−β2·M·Ĥ(z|C)" in out.output and f"{-rows[0]['distortion']:.4f}" in out.output
    assert f"{rows[0]['beta1_term']:.4f}" in out.output and f"{rows[0]['sigma']:.4f}" in out.output
    assert "trained on source(s): human (96 documents)" in " ".join(out.output.split())


# ------------------------------------------------------------------ training sources

def test_only_human_documents_shape_the_codebook(built_project):
    store = built_project
    init = store.load_codebook(store.version_for("build-1", 0, "init"))
    human_exprs = store.db.execute("select count(*) from expressions e join documents d on d.id = e.document_id "
                                   "where d.source = 'human'").fetchone()[0]
    all_exprs = store.count("expressions")
    assert human_exprs < all_exprs  # the demo has example-llm documents too
    assert init.expression_ids.size == human_exprs  # the clustering input: human expressions only
    assert store.build_record("build-1")["train_sources"] == ["human"]
    # the final score table still maps the model's documents
    scored = {r["source"] for r in store.load_scores("dove", store.latest_version())}
    assert any(s.startswith("example-llm") for s in scored)


def test_train_source_adds_a_model_and_is_checked(built_project):
    store = built_project
    with pytest.raises(WorkbenchError, match="no such source"):
        run_build(store, train_sources=["gpt-9"], show_progress=False)
    with pytest.raises(WorkbenchError, match="start a new build with --restart"):
        run_build(store, train_sources=["example-llm"], show_progress=False)
    corpus = load_corpus(store, Gateway(store, store.config()), False)
    both = training_corpus(corpus, ["human", "example-llm"], store.path)
    assert both is corpus  # every document trains
    human = training_corpus(corpus, ["human"], store.path)
    assert len(human.doc_ids) == 96 and human.expr_emb.shape[0] == human.expr_ids.size < corpus.expr_ids.size
    assert set(human.expr_doc.tolist()) == set(range(96))
    with pytest.raises(WorkbenchError, match="no extracted document comes from the training source"):
        training_corpus(corpus, ["nobody"], store.path)


# ------------------------------------------------------------------ decoder temperature, embedder window

def test_decoder_samples_at_one_and_other_roles_keep_zero():
    cfg = WorkbenchConfig()
    assert cfg.role("decoder").sampling_temperature("decoder") == 1.0
    assert cfg.role("namer").sampling_temperature("namer") == 0.0
    assert cfg.warnings() == []
    cold = cfg.with_settings({"roles.decoder.provider": "openai", "roles.decoder.model": "m",
                              "roles.decoder.temperature": "0"})
    assert "roles.decoder.temperature is 0" in cold.warnings()[0]


def test_llm_decoder_requests_carry_temperature_one(project, fake_openai):
    from conftest import use_llm

    use_llm(project, fake_openai.base_url, roles=("decoder",))
    gateway = Gateway(project, project.config())

    gateway.run(gateway.complete("decoder", "document_reconstruction", {"values": "- care (0.5)", "topic": "t"},
                                 lambda text: text))
    bodies = [r["body"] for r in fake_openai.chat_requests()]
    assert bodies and all(b["temperature"] == 1.0 for b in bodies)


def test_documents_and_reconstructions_are_cut_by_the_embedders_tokens(project):
    gateway = Gateway(project, project.config())
    long_text = "모든 사람은 자유롭고 평등하다. " * 400 + "The end."
    cut = gateway.fit_to_embedder(long_text)
    tokens = gateway._e5().token_count(cut, True)
    assert 500 <= tokens <= 512 and long_text.startswith(cut)
    assert gateway._e5().token_count(long_text[:len(cut) + 5], True) > 512  # as long as fits, no shorter
    short = "A short text."
    assert gateway.fit_to_embedder(short) == short
    same = gateway.embed_documents([long_text])[0] @ gateway.embed([cut])[0]
    assert same == pytest.approx(1.0, abs=1e-6)
    assert "512 tokens" in gateway.document_input
