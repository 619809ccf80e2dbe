"""``workbench stability``: builds with several seeds in copies beside the project, compared."""
from __future__ import annotations

import json

from click.testing import CliRunner

from workbench.cli import main
from workbench.experiments.stability import stability


def test_two_seeds_are_built_compared_and_stored(built_project):
    store = built_project
    versions_before = store.latest_version()
    report = stability(store, seeds=2, show_progress=False)
    first = store.config().em.seed  # the project's seed, then the next
    assert [b.seed for b in report.seeds] == [first, first + 1] and all(b.K > 0 for b in report.seeds)
    assert store.latest_version() == versions_before  # the project's own codebook is untouched
    (pair,) = report.pairs
    assert -1 <= pair["ari"] <= 1 and 0 <= pair["matched_share"] <= 1
    assert report.score_spread and all(len(c["r"]) == 2 and c["sd"] >= 0 for c in report.score_spread)
    assert json.loads(store.get_meta("stability"))["summary"]["seeds"] == 2
    # the same seed twice would agree perfectly: seed 0's copy against itself
    from workbench.codebook.clustering import code_members
    from workbench.codebook.stability import assignment_agreement, match_codes
    from workbench.pipeline.corpus import load_corpus
    from workbench.llm.gateway import Gateway
    from workbench.pipeline.posteriors import member_labels
    from workbench.store import open_project

    copy = open_project(report.seeds[0].path)
    codebook = copy.load_codebook(report.seeds[0].version)
    assert assignment_agreement(codebook.expression_ids, codebook.labels, codebook.expression_ids,
                                codebook.labels) == 1.0
    corpus = load_corpus(copy, Gateway(copy, copy.config()), show_progress=False)
    members = [corpus.expr_emb[m] for m in code_members(member_labels(corpus, codebook), codebook.K)]
    # equal members: no axis tells them apart, so every code is matched that has the 2 members the
    # test needs (a one-member code cannot be tested and counts as unmatched; seed 7 builds some)
    testable = sum(len(m) >= 2 for m in members)
    assert testable > 0 and match_codes(members, members).share == testable / len(members)
    copy.close()
    # a second run resumes the finished copies: nothing is built again
    again = CliRunner().invoke(main, ["stability", str(store.path), "--seeds", "2", "--json"])
    assert again.exit_code == 0, again.output
    assert json.loads(again.output)["pairs"] == json.loads(json.dumps(report.pairs))


def test_the_report_shows_reliability_and_stability(built_project, tmp_path):
    from workbench.measures.reliability import reliability_runs

    reliability_runs(built_project, show_progress=False)
    stability(built_project, seeds=2, show_progress=False)
    out = CliRunner().invoke(main, ["report", str(built_project.path), "--out", str(tmp_path / "r"), "--quiet"])
    assert out.exit_code == 0, out.output
    page = (tmp_path / "r" / "index.html").read_text("utf-8")
    assert "Reliability and stability" in page and "test-retest (bootstrap)" in page
    assert "Codebook stability over 2 seeds" in page and "mean adjusted Rand index" in page
