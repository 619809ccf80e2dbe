"""``workbench report``: index.html and its PNGs exist and are not empty, and the page carries the
score table, the flows, the documents' codes and the run's history."""
from __future__ import annotations

from click.testing import CliRunner

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
                     "Largest transport flows", "<mark", "Run history", "Changes proposed", "Offline extractive mode",
                     "codebook trained on source(s) human;", "+β1·M·H(z|x)"):
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
