"""What the report's page and folder say beyond the figures: a share prints as the TUI prints it,
and a report that fails leaves nothing behind."""
from __future__ import annotations

from click.testing import CliRunner

from workbench.config import AlignmentConfig
from workbench.cli import main
from workbench.formatting import percent
from workbench.report.html import report_template
from workbench.store import create_project


def test_agreement_share_prints_as_a_percentage_as_in_the_tui():
    """The report printed 0.667 under "% agreement" where the TUI's agreement screen shows 66.7%."""
    agreement = [{"task": "code_quality", "criterion": "meaningful", "version": 3, "carried": "", "n_items": 3,
                  "raters": 2, "kappa": 0.25, "fleiss": 0.2, "alpha": 0.3, "agreement": 2 / 3}]
    page = report_template().render(title="p", version=3, K=1, sigma=0.1, n_docs=1, n_expr=1, embedder="e5",
                                    created="today", trained_on=["human"], panels=[], top_codes=1, views=[], files=[],
                                    alignment=AlignmentConfig(), codes=[], agreement=agreement)
    row = page[page.index("<tr><td>code_quality</td>"):]
    row = row[: row.index("</tr>")]
    assert f'<td class="num">{percent(2 / 3)}</td>' in row and percent(2 / 3) == "66.7%"
    assert "0.667" not in row
    assert "<th>agreement %</th>" in page


def test_a_failed_report_leaves_no_folder_and_no_files(tmp_path):
    """A project without a codebook cannot be reported; the command made --out (and its parents)
    all the same, and they stayed behind empty."""
    project = tmp_path / "p.db"
    create_project(project)
    out = tmp_path / "new" / "report"
    result = CliRunner().invoke(main, ["report", str(project), "--out", str(out), "--quiet"])
    assert result.exit_code == 1 and "no codebook" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "new").exists()

    # a folder of the user's: kept, with its files, and nothing added
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me", "utf-8")
    result = CliRunner().invoke(main, ["report", str(project), "--out", str(mine), "--quiet"])
    assert result.exit_code == 1
    assert [p.name for p in mine.iterdir()] == ["notes.txt"] and (mine / "notes.txt").read_text("utf-8") == "keep me"
