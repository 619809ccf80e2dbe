"""``workbench score`` on the session's built demo project: a row per human group × source, the
same table for the same settings, rows stored per codebook version, a group against itself at
D = 0 and r = 1, random halves, and the graph's scoring node."""
from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from workbench.config import AlignmentConfig
from workbench.cli import main
from workbench.errors import WorkbenchError
from workbench.llm.gateway import Gateway
from workbench.pipeline.posteriors import build_sigma, code_posteriors
from workbench.measures.score import load_posteriors, score_posteriors, score_project, split_halves
from workbench.vocabulary import SCORE_COLUMNS

FAST = AlignmentConfig(n_boot=10)  # the bootstrap is what costs; 10 resamples still exercise it


@pytest.fixture(scope="module")
def posteriors(built_project_template):
    from workbench.store import open_project

    store = open_project(built_project_template)  # read only
    post = load_posteriors(store, show_progress=False)
    yield post
    store.close()


def test_table_rows_for_groups_by_sources(built_project):
    result = score_project(built_project, config=FAST, show_progress=False)
    groups = ["Harbourside", "Hillvale"]
    sources = ["Harbourside", "Hillvale", "example-llm@Harbourside"]  # the model's documents sit in Harbourside
    assert [(r.group, r.source) for r in result.rows] == [(g, s) for g in groups for s in sources]
    cells = {(r.group, r.source): r for r in result.rows}
    for g in groups:
        same = cells[(g, g)]
        assert 0 <= same.D < 1e-9 and same.r == pytest.approx(1.0, abs=1e-8)
        # the replicates (all ≤ 1) reflected about r = 1 would pass 1: the interval stops there
        assert same.ci_high == 1.0
    for r in result.rows:
        assert r.r == pytest.approx((0.1 - r.D) * 10) and r.r <= 1.0
        # the interval is around the bias-corrected r (which the plug-in r may lie below), within r ≤ 1
        assert r.ci_low - 1e-9 <= r.r + 10 * r.D_bias <= r.ci_high + 1e-9 and r.ci_high <= 1.0
        assert r.n_group_docs == 48
        assert r.D_bias is not None and r.ceiling is not None and r.r_over_ceiling == pytest.approx(r.r / r.ceiling)
        assert r.ceiling_n == min(r.n_source_docs, 24)  # 48 documents: at most 24 a half
    assert cells[("Harbourside", "example-llm@Harbourside")].n_source_docs == 24
    # the provenance of the codebook first; every demo document has expressions, so the other
    # notes are the ceilings capped at 24 a half
    assert result.notes[0].startswith(f"codebook v{result.version} trained on source(s) human;")
    assert result.notes[0].endswith(f"vectors: {Gateway(built_project, built_project.config()).embedder_id}")  # lens included
    assert len(result.notes) == 5 and all(n.startswith("ceiling of ") for n in result.notes[1:])


def test_deterministic_and_stored_per_version(built_project):
    versions = [v["version"] for v in built_project.versions()]
    latest = score_project(built_project, config=FAST, show_progress=False)
    again = score_project(built_project, config=FAST, show_progress=False)
    assert [r.as_dict() for r in latest.rows] == [r.as_dict() for r in again.rows]
    first = score_project(built_project, version=versions[0], config=FAST, show_progress=False)
    assert latest.version == versions[-1] and first.version == versions[0]
    assert built_project.scored_versions() == [versions[0], versions[-1]]
    stored = built_project.load_scores("dove", versions[-1])
    assert len(stored) == len(latest.rows)  # re-scoring replaced the cells, it did not add rows
    assert [{k: s[k] for k in SCORE_COLUMNS} for s in stored] == \
        [{k: getattr(r, k) for k in SCORE_COLUMNS} for r in latest.rows]
    assert json.loads(stored[0]["config"])["n_boot"] == 10
    assert len(built_project.load_scores("dove", versions[0])) == len(first.rows)
    # another seed moves the intervals, not the point estimates
    other = score_project(built_project, config=FAST.model_copy(update={"seed": 1}), show_progress=False, save=False)
    assert [r.D for r in other.rows] == [r.D for r in latest.rows]
    assert [r.ci_low for r in other.rows] != [r.ci_low for r in latest.rows]


def test_halves(posteriors):
    result = score_posteriors(posteriors, AlignmentConfig(n_boot=0), halves=True)
    pairs = [(r.group, r.source) for r in result.rows]
    assert ("Hillvale", "Hillvale/half1") in pairs and ("Hillvale", "Harbourside/half2") in pairs
    assert pairs[-2:] == [("Harbourside/half1", "Harbourside/half2"), ("Hillvale/half1", "Hillvale/half2")]
    half = {(r.group, r.source): r for r in result.rows}
    assert half[("Hillvale/half1", "Hillvale/half2")].n_group_docs == 24
    assert half[("Hillvale/half1", "Hillvale/half2")].n_source_docs == 24
    # the halves of a group are closer to it than the other group is
    assert half[("Hillvale", "Hillvale/half1")].r > half[("Hillvale", "Harbourside")].r
    first, second = split_halves(9, 0, "G")
    assert len(first) == 5 and len(second) == 4 and not set(first) & set(second)
    assert np.array_equal(split_halves(9, 0, "G")[0], first)


def test_posteriors_match_the_codebook_loop(posteriors, built_project):
    sigma = build_sigma(built_project, posteriors.corpus, posteriors.codebook)
    assert sigma == built_project.build_record("build-1")["sigma"]  # the build's σ, fixed on C⁰
    q, has = code_posteriors(posteriors.corpus, posteriors.codebook, sigma)
    assert has.all() and np.allclose(q.sum(axis=1), 1.0) and sigma == posteriors.sigma > 0


def test_unknown_names_and_cli(built_project):
    with pytest.raises(WorkbenchError, match="unknown group"):
        score_project(built_project, config=FAST, groups=["Atlantis"], show_progress=False)
    built_project.save_config(built_project.config().with_settings({"alignment.n_boot": "5"}))
    result = CliRunner().invoke(main, ["score", str(built_project.path), "--groups", "Hillvale", "--sources",
                                       "Hillvale,Harbourside", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["config"]["n_boot"] == 5
    assert [(r["group"], r["source"]) for r in data["rows"]] == [("Hillvale", "Hillvale"), ("Hillvale", "Harbourside")]
    table = CliRunner().invoke(main, ["score", str(built_project.path), "--quiet"])
    assert table.exit_code == 0 and "example-llm@Harbourside" in table.output
    csv_out = CliRunner().invoke(main, ["score", str(built_project.path), "--csv"])
    assert csv_out.output.splitlines()[0] == ("method,codebook_version,group,source,D,D_bias,r,r_corrected,ci_low,"
                                              "ci_high,ci_method,ceiling,ceiling_n,r_over_ceiling,"
                                              "n_group_docs,n_source_docs")  # ci_power: JSON only (not stored)
    assert "r/ceiling" in table.output and "bias" in table.output
    # the interval column names its method, and no r or interval end exceeds r's maximum
    assert "95% simex CI" in table.output and "r bias-corrected" in table.output
    # a bias-corrected r of 1 is a bound, not a finding: the legend says how to read it
    assert "1.0000 there: the estimated bias is as large as D itself" in " ".join(table.output.split())
    rows = json.loads(result.output)["rows"]
    assert all(r["r"] <= 1.0 and r["ci_high"] <= 1.0 for r in rows) and rows[0]["r"] == pytest.approx(1.0)  # itself
    equal = CliRunner().invoke(main, ["score", str(built_project.path), "--equal-n", "min", "--json"])
    assert equal.exit_code == 0, equal.output
    assert {r["n_source_docs"] for r in json.loads(equal.output)["rows"]} == {24}
    too_many = CliRunner().invoke(main, ["score", str(built_project.path), "--equal-n", "25"])
    assert too_many.exit_code != 0 and "--equal-n min" in too_many.output and "Traceback" not in too_many.output


def test_graph_node_scores_the_final_version(built_project):
    from workbench.build.context import BuildContext
    from workbench.build.steps import score_alignment
    from workbench.llm.gateway import Gateway

    config = built_project.config().with_settings({"alignment.n_boot": "0"})
    ctx = BuildContext(built_project, Gateway(built_project, config), config, "build-1", show_progress=False)
    version = built_project.latest_version()
    update = score_alignment(ctx, {"version": version})
    assert update["alignment"]["version"] == version and update["alignment"]["n_rows"] == 6
    assert len(built_project.load_scores("dove", version)) == 6


def test_json_text_writes_undefined_figures_as_null():
    from workbench.formatting import json_text

    text = json_text({"alpha": float("nan"), "rows": [1.5, float("inf"), (2, float("-inf"))]})
    assert json.loads(text, parse_constant=lambda c: pytest.fail(c)) == {"alpha": None, "rows": [1.5, None, [2, None]]}
