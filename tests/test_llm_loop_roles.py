"""The LLM namer and the LLM reconstruction decoder against a loopback fake server."""
from __future__ import annotations

import itertools

import numpy as np

import prompts
from conftest import use_llm
from fake_openai import Reply, hashed_embedding
from workbench.config import EMConfig
from workbench.llm.gateway import Gateway
from workbench.models import Code, Codebook, Corpus
from workbench.pipeline.name_codes import name_group_sets, name_groups
from workbench.pipeline.reconstruct import reconstruct


def _unit(v):
    v = np.asarray(v, dtype=np.float32)
    return v / np.linalg.norm(v)


def test_llm_namer_sends_central_descriptions_and_records_the_model(project, fake_openai):
    use_llm(project, fake_openai.base_url, roles=("namer",), model="namer-x")
    centroid = _unit([1, 0, 0])
    emb = np.stack([_unit([0.2, 1, 0]), _unit([1, 0.1, 0]), _unit([1, 0.5, 0])])
    texts = ["least central", "most central", "middle"]
    fake_openai.chat = lambda body: '{"code_name": "Filial Care"}'

    names = name_groups(Gateway(project, project.config()), [(texts, emb, centroid)])

    assert names == {0: ("Filial Care", "llm:namer-x", "most central")}
    sent = fake_openai.chat_requests()[0]["body"]["messages"][0]["content"]
    assert sent == prompts.render("code_naming", descriptions="1. most central\n2. middle\n3. least central")


def test_llm_namer_failure_falls_back_to_offline_name_and_says_so(project, fake_openai):
    use_llm(project, fake_openai.base_url, roles=("namer",), model="namer-x", validation_retries=0)
    fake_openai.chat = lambda body: "I cannot name this."
    groups = [(["care for elders", "elders need care"], np.stack([_unit([1, 0]), _unit([1, 0.1])]), _unit([1, 0])),
              (["free speech matters"], np.stack([_unit([0, 1])]), _unit([0, 1]))]

    names = name_groups(Gateway(project, project.config()), groups)

    assert names[0][0] == "care · elders"  # c-TF-IDF keywords ("need" is a stop word)
    assert names[0][1] == "offline-ctfidf-v2 (fallback: llm:namer-x failed)"


def test_llm_decoder_prompts_samples_and_distortion_from_embeddings(project, fake_openai):
    use_llm(project, fake_openai.base_url, roles=("decoder", "embedder"), model="dec")
    replies, counter = {}, itertools.count()

    def chat(body):  # the fake server answers from several threads: next() on a count is atomic
        i = next(counter)
        replies[i] = body
        return f"reconstruction {i}"

    fake_openai.chat = chat
    doc_text = "We should look after our parents."
    corpus = Corpus(doc_ids=["d"], doc_groups=["G"], doc_sources=["human"], doc_topics=["family duty"],
                    doc_texts=[doc_text], expr_ids=np.array([1]), expr_doc=np.array([0]), expr_texts=["x"],
                    expr_emb=np.zeros((1, 16), np.float32), doc_emb=np.array([hashed_embedding(doc_text)], np.float32))
    codes = [Code(k, f"u{k}", name, "test", None, 1, _unit(np.eye(16)[k])) for k, name in
             enumerate(["Filial Care", "Tradition", "Freedom"])]
    codebook = Codebook(1, codes, np.array([1]), np.array([0]))
    q = np.array([[0.6, 0.3, 0.1]])
    cfg = EMConfig(n1=1, n2=2, m=2)

    result = reconstruct(corpus, codebook, q, cfg, Gateway(project, project.config()), iteration=1,
                         show_progress=False)

    bodies = [r["body"] for r in fake_openai.chat_requests()]
    assert len(bodies) == 2 * cfg.n1 * cfg.n2  # 2·N1 candidate sets, N2 samples each
    prompts = [b["messages"][0]["content"] for b in bodies]
    assert all(p.startswith("Task: Generate a response based on the prompt below.") for p in prompts)
    assert all("[Topic]\nfamily duty" in p for p in prompts)
    # a sampled set lists each code with its posterior; the most probable code is in most sets
    assert any("- Filial Care [0.60]" in p for p in prompts)
    # distortion of each set = −mean cos(e_x, e_x̂) over its N2 samples; the best set is kept
    doc = np.array(hashed_embedding(doc_text))
    per_set = {}
    for i, body in replies.items():
        values = tuple(line for line in body["messages"][0]["content"].splitlines() if line.startswith("- "))
        per_set.setdefault(values, []).append(-float(doc @ np.array(hashed_embedding(f"reconstruction {i}"))))
    expected = min(np.mean(v) for v in per_set.values())
    assert all(len(v) == cfg.n2 for v in per_set.values())
    assert result.decoder == "llm:dec" and np.isclose(result.distortion_per_doc[0], expected, atol=1e-5)


def test_the_halves_of_several_splits_are_named_in_one_round(project, fake_openai, monkeypatch):
    split_a = [(["care for elders", "elders need care"], np.stack([_unit([1, 0]), _unit([1, 0.1])]), _unit([1, 0])),
               (["free speech matters"], np.stack([_unit([0, 1])]), _unit([0, 1]))]
    split_b = [(["honest work pays", "work with honesty"], np.stack([_unit([1, 1]), _unit([1, 0.9])]), _unit([1, 1])),
               (["faith in god"], np.stack([_unit([-1, 1])]), _unit([-1, 1]))]
    offline = Gateway(project, project.config())
    # offline, each split's keywords contrast its own two halves only, as when named one by one
    assert name_group_sets(offline, [(split_a, None), (split_b, None)]) == [name_groups(offline, split_a),
                                                                         name_groups(offline, split_b)]

    use_llm(project, fake_openai.base_url, roles=("namer",), model="namer-x")
    fake_openai.chat = lambda body: '{"code_name": "Named"}'
    rounds = []
    complete_many = Gateway.complete_many

    async def counted(self, role, prompt_name, items, *args, **kwargs):
        rounds.append(len(items))
        return await complete_many(self, role, prompt_name, items, *args, **kwargs)

    monkeypatch.setattr(Gateway, "complete_many", counted)
    names = name_group_sets(Gateway(project, project.config()), [(split_a, None), (split_b, None)])

    assert rounds == [4]  # one round of calls for both splits, not one per split
    assert [{g: n[:2] for g, n in s.items()} for s in names] == [{0: ("Named", "llm:namer-x"), 1: ("Named", "llm:namer-x")}] * 2
