"""Offline code names: content words of every language present, never function words or endings,
with the nearest value prototype as a hint."""
from __future__ import annotations

import json
from collections import defaultdict

from conftest import shared_data
from workbench.codebook.naming import OFFLINE_NAMER, ctfidf_keywords, keyword_name
from workbench.codebook.words import content_words, stop_words
from workbench.llm.gateway import Gateway
from workbench.llm.offline import split_sentences
from workbench.pipeline.name_codes import name_groups


def test_korean_petition_codes_are_named_by_content_not_verb_endings():
    by_category = defaultdict(list)
    with open(shared_data("petitions-ko", "petitions_2017-08.jsonl"), encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            by_category[row["category"]].extend(split_sentences(row["content"]))
    categories = sorted(by_category, key=lambda c: -len(by_category[c]))
    keywords = ctfidf_keywords([by_category[c] for c in categories])
    assert all(len(words) == 3 for words in keywords)
    every = {w for words in keywords for w in words}
    assert not every & {"있습니다", "있는", "합니다", "저는", "제가", "정말"}  # the old names' words
    assert not every & stop_words("ko")
    assert "일자리" in keywords[categories.index("일자리")]  # the jobs petitions are about jobs
    assert {"동물", "반려동물"} <= set(keywords[categories.index("반려동물")])


def test_words_skip_function_words_and_endings_in_each_language():
    assert content_words("교사들이 임용절벽 때문에 매우 걱정하고 있습니다.", "ko") == ["교사", "임용절벽", "걱정"]
    assert content_words("We should protect the family and its traditions.", "en") == ["protect", "family",
                                                                                        "traditions"]
    assert content_words("私たちは伝統を守るべきです。家族はとても大切です。", "ja") == ["伝統", "家族", "大切"]
    assert content_words("我们应该尊重传统和家庭。", "zh") == ["尊重", "传统", "家庭"]


def test_a_code_in_two_languages_is_named_in_both():
    codes = [["Respect the tradition of our elders.", "Tradition binds the family.", "효도는 전통입니다.",
              "부모님께 효도하는 전통을 지켜야 합니다."],
             ["Free speech must be protected.", "언론의 자유를 보장해야 합니다.", "Speech should be free.",
              "언론의 자유는 소중합니다."]]
    first, second = ctfidf_keywords(codes)
    assert "tradition" in first and {"효도", "전통"} & set(first)
    assert "speech" in second and {"언론", "자유"} & set(second)
    japanese_and_chinese = ctfidf_keywords([["伝統を守るべきです。", "伝統文化を大切にする。"], ["我们应该尊重传统文化。"]])
    assert "伝統" in japanese_and_chinese[0] and "传统" in japanese_and_chinese[1]


def test_offline_name_carries_the_nearest_value_prototype(project):
    gateway = Gateway(project, project.config())
    texts = ["We must keep the customs and traditions of our ancestors.", "조상의 전통과 관습을 지켜야 합니다.",
             "전통을 존중하는 것이 중요합니다.",
             "Respecting old traditions and religious customs matters."]
    emb = gateway.embed(texts)
    centroid = emb.mean(axis=0) / ((emb.mean(axis=0) ** 2).sum() ** 0.5)
    (name, source, _), = name_groups(gateway, [(texts, emb, centroid)]).values()
    assert name.endswith("(≈ tradition)") and "전통" in name and source == OFFLINE_NAMER
    assert keyword_name([], "a b c d e f g h", "Power") == "a b c d e f… (≈ power)"
