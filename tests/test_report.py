"""``workbench report``: index.html and its PNGs exist and are not empty, and the page carries the
score table, the flows, the documents' codes and the run's history."""
from __future__ import annotations

from click.testing import CliRunner

from conftest import label_a_paused_version
from workbench import annotate as A
from workbench.alignment.config import AlignmentConfig
from workbench.cli import main
from workbench.scoring import score_project

PNG = b"\x89PNG\r\n\x1a\n"


def test_report_files_and_contents(built_project, tmp_path):
    score_project(built_project, config=AlignmentConfig(n_boot=5), show_progress=False)
    out = tmp_path / "report"
    result = CliRunner().invoke(main, ["report", str(built_project.path), "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    for name in ("index.html", "codebook_map.png", "distributions.png", "document_codes.png", "history.png",
                 "scores.csv", "scores.json"):
        path = out / name
        assert path.is_file() and path.stat().st_size > 0, name
        assert name in result.output
        if name.endswith(".png"):
            assert path.read_bytes()[:8] == PNG and path.stat().st_size > 5000
    page = (out / "index.html").read_text("utf-8")
    for expected in ('src="codebook_map.png"', 'src="distributions.png"', "Alignment scores", "example-llm@Harbourside",
                     "Largest transport flows", "<mark", "Run history", "Changes proposed", "Offline extractive mode"):
        assert expected in page, expected
    version = built_project.load_codebook().version
    assert f"codebook version {version}" in page
    assert page.count("<tr><td>Harbourside</td><td>") >= 3  # score rows of one group


def test_report_without_scores_says_so(built_project, tmp_path):
    # the build's score_alignment node stored a table; a build stopped before it has none
    built_project.db.execute("delete from scores")
    built_project.db.conn.commit()
    result = CliRunner().invoke(main, ["report", str(built_project.path), "--out", str(tmp_path / "r"), "--quiet"])
    assert result.exit_code == 0, result.output
    page = (tmp_path / "r" / "index.html").read_text("utf-8")
    assert "No alignment scores" in page and not (tmp_path / "r" / "scores.csv").exists()


def test_report_labels_every_section_with_its_codebook_version_and_says_when_agreement_is_on_another(
        built_project, tmp_path):
    paused, final, _, _, kept = label_a_paused_version(built_project)
    result = CliRunner().invoke(main, ["report", str(built_project.path), "--out", str(tmp_path / "r"), "--quiet"])
    assert result.exit_code == 0, result.output
    page = (tmp_path / "r" / "index.html").read_text("utf-8")
    for section in ("Codebook map", "Value distributions", "Alignment scores", "Largest transport flows",
                    "Documents and their codes"):
        assert f"{section} · codebook v{final}</h2>" in page, section
    assert f"Agreement below is on codebook v{paused},\n  not on v{final} of the scores" in page
    assert f'<td class="num">v{paused}</td>' in page  # the mapping rows of the agreement table

    # labelled on the final version too: agreement there counts the carried labels and says so
    pair = sorted(kept)[0]
    A.record(built_project, "mapping", pair, "appropriate", "yes", "ann", final)
    assert CliRunner().invoke(main, ["report", str(built_project.path), "--out", str(tmp_path / "s"),
                                     "--quiet"]).exit_code == 0
    page = (tmp_path / "s" / "index.html").read_text("utf-8")
    assert "Agreement below is on codebook" not in page
    assert f'<td class="num">v{final} ({2 * len(kept) - 1} labels carried from v{paused})</td>' in page
