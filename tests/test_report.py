"""``workbench report``: index.html and its PNGs exist and are not empty, and the page carries the
score table, the flows, the documents' codes and the run's history."""
from __future__ import annotations

import re
import shutil
import subprocess
import warnings
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.ft2font import FT2Font

from conftest import label_a_paused_version
from workbench.annotate.labels import record
from workbench.config import AlignmentConfig
from workbench.cli import main
from workbench.report import fonts, plots
from workbench.measures.score import score_project

PYTHON_REPR = re.compile(r"<built-in method|<bound method|object at 0x|\{'|\[\(|np\.float")

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
                     "codebook trained on source(s) human;", "+β1·M·H(z|x)", "95% simex interval",
                     "r bias-corrected"):
        assert expected in page, expected
    assert "1.0000 there: the estimated bias is as large as D itself" in " ".join(page.split())
    version = built_project.load_codebook().version
    assert f"codebook version {version}" in page
    assert page.count("<tr><td>Harbourside</td><td>") >= 3  # score rows of one group
    # what produced it: the representation the build recorded and the extraction strategy
    representation = built_project.initial_version_of(version)[1]["representation"]
    assert f"representation {representation} ·" in page
    assert re.search(r"extracted by [^\s<·—]", page), "no extraction strategy"


def test_report_without_scores_says_so(built_project, tmp_path):
    # the build's score_alignment node stored a table; a build stopped before it has none
    built_project.db.execute("delete from scores")
    built_project.db.conn.commit()
    result = CliRunner().invoke(main, ["report", str(built_project.path), "--out", str(tmp_path / "r"), "--quiet"])
    assert result.exit_code == 0, result.output
    page = (tmp_path / "r" / "index.html").read_text("utf-8")
    assert "No alignment scores" in page and not (tmp_path / "r" / "scores.csv").exists()


def _unavailable(*args, **kwargs):
    raise AssertionError("the report computed instead of reading what was stored")


def test_report_reads_stored_results_only(built_project, tmp_path, monkeypatch):
    """With the posteriors, the flows and the validity figures unavailable, every section is still
    written from what the build's scoring and 'workbench reliability' stored."""
    import workbench.measures.score as score
    import workbench.measures.score_figures as score_figures
    import workbench.measures.validate as validate
    import workbench.pipeline.posteriors as posteriors
    from workbench.codebook import assignment
    from workbench.vocabulary import RELIABILITY

    version = built_project.load_codebook().version
    built_project.save_version_result(version, RELIABILITY, [
        {"method": "dove", "kind": "sampling", "group": "mean", "alpha": 0.8125, "cv": 0.0421, "n_models": 1,
         "n_items": 4}])
    for module, names in ((posteriors, ("code_posteriors", "build_sigma")), (score, ("load_posteriors", "code_posteriors",
                          "build_sigma", "score_posteriors")), (score_figures, ("score_figures", "transport_flows",
                          "document_codes")), (validate, ("validate",)), (assignment, ("soft_assign",))):
        for name in names:
            monkeypatch.setattr(module, name, _unavailable)
    out = tmp_path / "report"
    result = CliRunner().invoke(main, ["report", str(built_project.path), "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    for name in ("codebook_map.png", "distributions.png", "document_codes.png", "history.png", "scores.csv"):
        assert (out / name).is_file(), name
    page = (out / "index.html").read_text("utf-8")
    flows = page[page.index('id="flows"'):page.index('id="documents"')]
    assert "<td>Harbourside</td><td>example-llm@Harbourside</td>" in flows
    assert "<mark" in page and "Run history" in page and "0.812" in page  # the stored α
    assert "no stored figures" not in page and "σ = —" not in page


def test_report_of_a_version_scored_before_figures_were_stored(built_project, tmp_path):
    """Nothing stored: one line says what is missing and which command stores it; nothing is computed."""
    from workbench.vocabulary import RELIABILITY_RUNS

    version = built_project.load_codebook().version
    built_project.db.execute("delete from version_results")
    built_project.save_scores(RELIABILITY_RUNS + "full", version, [{"group": "Harbourside", "source": "x", "r": 0.5}],
                              {})
    built_project.db.conn.commit()
    out = tmp_path / "r"
    result = CliRunner().invoke(main, ["report", str(built_project.path), "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    page = (out / "index.html").read_text("utf-8")
    assert page.count("has no stored figures") == 1
    assert f"run <code>workbench score {built_project.path}</code> to store them" in page
    assert f"run <code>workbench reliability {built_project.path}</code> again" in page
    assert not (out / "codebook_map.png").exists() and (out / "scores.csv").exists()


def _label_two_annotators(store) -> None:
    version = store.latest_version()
    for uid, (ana, bob) in zip([c.uid for c in store.load_codebook(version).codes], [(1, 1), (0, 1), (1, 1)]):
        record(store, "code_quality", uid, "meaningful", ana, "ana", version)
        record(store, "code_quality", uid, "meaningful", bob, "bob", version)


def test_report_reads_without_python_reprs(built_project, tmp_path):
    """The agreement table shows its numbers (``a.items`` was dict.items), the distributions
    note names the number of codes drawn, and the build summary is words."""
    _label_two_annotators(built_project)
    out = tmp_path / "report"
    result = CliRunner().invoke(main, ["report", str(built_project.path), "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    page = (out / "index.html").read_text("utf-8")
    assert not PYTHON_REPR.search(page), PYTHON_REPR.search(page)
    row = re.search(r"<tr><td>code_quality</td><td>meaningful</td>.*?</tr>", page, re.S).group(0)
    assert f'<td class="num">v{built_project.latest_version()}</td>' in row
    assert re.findall(r'<td class="num">(\d+)</td>', row)[:2] == ["3", "2"]
    K = built_project.load_codebook().K
    assert f"its {min(8, K)} largest codes shown" in page

    status = CliRunner().invoke(main, ["status", str(built_project.path)])
    assert re.search(r"changes: \d+\s+applied,\s+\d+\s+rejected,\s+\d+\s+reverted,\s+\d+\s+pending",
                     status.output), status.output
    assert not PYTHON_REPR.search(status.output), status.output


def test_distribution_panels_share_one_x_scale(tmp_path, monkeypatch):
    drawn = []
    save = plots._save
    monkeypatch.setattr(plots, "_save", lambda fig, path: (drawn.append(fig), save(fig, path))[1])
    histograms = {"KR": np.array([0.6, 0.3, 0.1]), "US": np.array([0.2, 0.3, 0.5])}
    plots.distributions(tmp_path / "d.png", histograms, ["a", "b", "c"], top=8)
    limits = {ax.get_xlim() for ax in drawn[0].axes if ax.has_data()}
    assert len(limits) == 1 and limits.pop()[1] >= 0.6


def test_distribution_panels_x_labels_do_not_run_together(tmp_path, monkeypatch):
    drawn = []
    save = plots._save
    monkeypatch.setattr(plots, "_save", lambda fig, path: (drawn.append(fig), save(fig, path))[1])
    shares = np.random.default_rng(0).dirichlet(np.ones(20))
    shares = shares / shares.max() * 0.21  # the demo's largest share; its ticks read "0.0000.0250.050…"
    names = [f"mother · family · business (≈ stimulation {k})" for k in range(20)]
    plots.distributions(tmp_path / "d.png", {"Harbourside": shares, "Hillvale": shares[::-1],
                                             "example-llm@Harbourside": np.roll(shares, 3)}, names)
    fig = drawn[0]
    renderer = FigureCanvasAgg(fig).get_renderer()
    for ax in (ax for ax in fig.axes if ax.has_data()):
        left, right = ax.get_xlim()
        boxes = sorted((t.get_window_extent(renderer) for t in ax.get_xticklabels()
                        if t.get_text() and left <= t.get_position()[0] <= right), key=lambda b: b.x0)
        assert len(boxes) >= 3
        # apart by at least a label's width: a gap of one character reads as one number
        assert all(b.x0 - a.x1 >= a.width for a, b in zip(boxes, boxes[1:])), \
            [t.get_text() for t in ax.get_xticklabels()]


def test_missing_cjk_font_is_one_note_naming_the_package(monkeypatch):
    monkeypatch.setattr(fonts, "CJK_FONT_PATH", None)
    note = fonts.missing_font_note(["가족 부양", "filial duty", "孝"])
    assert note.startswith("5 characters of code names (") and "가" in note and "孝" in note
    assert f"pip install {fonts.CJK_FONT_PACKAGE}" in note
    assert fonts.missing_font_note(["filial duty", "Ünïcödé — fine"]) is None
    assert not fonts.write_cjk_subset("가족 부양", Path("never-written.otf"))


def test_korean_names_are_drawn_with_the_cjk_font(tmp_path):
    if fonts.CJK_FONT_PATH is None:
        pytest.skip(f"the CJK font package is not installed (pip install {fonts.CJK_FONT_PACKAGE})")
    names = ["가족 부양 의무", "孝道と家族", "honesty"]
    assert fonts.missing_font_note(names) is None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig, ax = plots.plt.subplots()
        ax.barh(range(3), [1, 2, 3])
        ax.set_yticks(range(3), names)
        fig.savefig(tmp_path / "ko.png")
        plots.plt.close(fig)
    assert not [w for w in caught if "missing from font" in str(w.message)]
    # the HTML's font: only the characters the page uses
    assert fonts.write_cjk_subset("<p>가족 부양 honesty 孝</p>", tmp_path / "cjk.otf")
    charmap = FT2Font(str(tmp_path / "cjk.otf")).get_charmap()
    assert {ord(c) for c in "가족부양孝"} <= set(charmap) and ord("의") not in charmap
    assert (tmp_path / "cjk.otf").stat().st_size < 100_000
    assert not fonts.write_cjk_subset("<p>honesty</p>", tmp_path / "none.otf")


def test_report_in_headless_chromium_has_no_python_reprs(built_project, tmp_path):
    """The page as a browser lays it out (the DOM after rendering), not just the file."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if not browser:
        pytest.skip("needs chromium (apt-get install chromium) for the headless browser check")
    _label_two_annotators(built_project)
    out = tmp_path / "report"
    CliRunner().invoke(main, ["report", str(built_project.path), "--out", str(out), "--quiet"])
    dom = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                          "--disable-component-update", "--disable-sync", "--no-first-run",
                          f"--user-data-dir={tmp_path / 'chromium'}", "--dump-dom", (out / "index.html").as_uri()],
                         capture_output=True, text=True, timeout=120).stdout
    assert "Annotators' agreement" in dom and "code_quality" in dom
    assert not PYTHON_REPR.search(dom), PYTHON_REPR.search(dom)


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
    record(built_project, "mapping", pair, "appropriate", "yes", "ann", final)
    assert CliRunner().invoke(main, ["report", str(built_project.path), "--out", str(tmp_path / "s"),
                                     "--quiet"]).exit_code == 0
    page = (tmp_path / "s" / "index.html").read_text("utf-8")
    assert "Agreement below is on codebook" not in page
    assert f'<td class="num">v{final} ({2 * len(kept) - 1} labels carried from v{paused})</td>' in page
