"""``workbench score --ablation``: DOVE beside its ablations (Sec. 4.4, Table 14), each checked
against a computation by hand on the built demo project."""
from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from scipy.spatial.distance import jensenshannon

from workbench import ablations
from workbench.alignment.config import AlignmentConfig
from workbench.alignment.scoring import mean_posterior
from workbench.alignment.uot import debiased_uot
from workbench.cli import main
from workbench.score import document_sets, load_posteriors, score_project

FAST = AlignmentConfig(n_boot=10, ceiling_splits=2)


@pytest.fixture
def post(built_project):
    return load_posteriors(built_project, show_progress=False)


def test_no_uot_is_js_kl_and_cosine_of_the_code_marginals(post):
    result = ablations.no_uot(post)
    g_rows, s_rows, _ = document_sets(post)
    assert len(result.rows) == len(g_rows) * len(s_rows) and not result.higher_is_closer
    for row in result.rows:
        a, b = mean_posterior(post.q_docs[g_rows[row.group]]), mean_posterior(post.q_docs[s_rows[row.source]])
        assert row.value == pytest.approx(jensenshannon(a, b, base=2), abs=1e-9)
        assert row.extra["cosine"] == pytest.approx(a @ b / np.linalg.norm(a) / np.linalg.norm(b))
        if row.group == row.source:
            assert row.value == pytest.approx(0, abs=1e-6) and row.raw == pytest.approx(0, abs=1e-4)
        else:
            assert row.value > 0 and row.raw > 0


def test_no_codebook_is_debiased_uot_between_document_clouds(post):
    result = ablations.no_codebook(post, FAST, groups=["Hillvale"])
    cells = {(r.group, r.source): r for r in result.rows}
    assert cells[("Hillvale", "Hillvale")].raw == pytest.approx(0, abs=1e-9)  # a cloud against itself
    g_rows, s_rows, _ = document_sets(post)
    gi, si = g_rows["Hillvale"], s_rows["example-llm@Harbourside"]
    emb = post.corpus.doc_emb / np.linalg.norm(post.corpus.doc_emb, axis=1, keepdims=True)
    support = np.union1d(gi, si)
    cost = np.clip(1 - emb[support] @ emb[support].T, 0, 2)
    a = np.isin(support, gi) / len(gi)
    b = np.isin(support, si) / len(si)
    by_hand = debiased_uot(a, b, cost, FAST.eps, FAST.tau)
    row = cells[("Hillvale", "example-llm@Harbourside")]
    assert row.raw == pytest.approx(by_hand, rel=1e-4, abs=1e-8) and row.raw > 0
    # the interval is around the bias-corrected r (r + 10·bias), within r ≤ 1 (issue 24)
    assert row.ci_low - 1e-9 <= row.value + 10 * row.extra["D_bias"] <= row.ci_high + 1e-9 <= 1.0 + 1e-9


def test_no_codebook_caps_the_clouds_and_says_so(post, monkeypatch):
    monkeypatch.setattr(ablations, "MAX_POINTS", 10)
    result = ablations.no_codebook(post, FAST.model_copy(update={"n_boot": 0}), groups=["Hillvale"],
                                   sources=["Hillvale"])
    assert result.rows[0].n_group_docs == 10 and any("subsampled to 10 of its 48" in n for n in result.notes)


def test_no_refinement_is_dove_on_the_initial_codebook(built_project, post):
    result = ablations.no_refinement(built_project, post, FAST, groups=["Hillvale"])
    initial = built_project.version_for("build-1", 0, "init")
    assert initial != post.codebook.version
    expected = score_project(built_project, initial, FAST, groups=["Hillvale"], show_progress=False, save=False)
    assert [(r.source, r.value) for r in result.rows] == [(r.source, pytest.approx(r.r)) for r in expected.rows]
    assert f"v{initial}" in result.notes[0]


def test_score_command_shows_stores_and_exports_the_ablations(built_project):
    built_project.save_config(built_project.config().with_settings({"alignment.n_boot": "5",
                                                                    "alignment.ceiling_splits": "2"}))
    out = CliRunner().invoke(main, ["score", str(built_project.path), "--groups", "Hillvale", "--ablation", "all",
                                    "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert {r["method"] for r in data["ablations"]} == {"dove:no-codebook", "dove:no-uot", "dove:no-refinement"}
    version = data["codebook_version"]
    for method in ("dove:no-codebook", "dove:no-uot", "dove:no-refinement"):
        assert len(built_project.load_scores(method, version)) == len(data["rows"])
    table = CliRunner().invoke(main, ["score", str(built_project.path), "--groups", "Hillvale", "--ablation",
                                      "no-uot", "--quiet"])
    assert table.exit_code == 0 and "DOVE and its ablations" in table.output and "JS distance" in table.output
    csv_out = CliRunner().invoke(main, ["score", str(built_project.path), "--groups", "Hillvale", "--ablation",
                                        "no-uot", "--csv"])
    assert sum(line.startswith("dove:no-uot,") for line in csv_out.output.splitlines()) == len(data["rows"])
