"""The report's CJK font in a real browser: headless Chromium draws the page's first Korean string
with the font the page carries, not as boxes."""
from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

from workbench.config import AlignmentConfig
from workbench.report import fonts
from workbench.report.html import CJK_FONT_FILE, report_template


def test_unicode_range_joins_consecutive_code_points():
    assert fonts.unicode_range("각가힣가") == "U+AC00-AC01, U+D7A3"


def _glyphs(row_band: np.ndarray) -> list[np.ndarray]:
    """Ink of each glyph (columns of ink separated by blank columns, cropped to its rows) in a band
    of text rows."""
    ink = row_band < 128
    edges = np.flatnonzero(np.diff(np.r_[0, ink.any(axis=0).astype(int), 0]))
    glyphs = []
    for a, b in zip(edges[::2], edges[1::2]):
        rows = np.flatnonzero(ink[:, a:b].any(axis=1))
        glyphs.append(ink[rows[0]:rows[-1] + 1, a:b])
    return glyphs


def _is_box(glyph: np.ndarray) -> bool:
    """The last-resort glyph: a hollow rectangle (every edge inked, the inside empty)."""
    edges = glyph[0].all() and glyph[-1].all() and glyph[:, 0].all() and glyph[:, -1].all()
    return bool(edges and glyph.shape[0] > 4 and glyph[2:-2, 2:-2].mean() < 0.05)


def test_first_korean_string_is_drawn_with_the_page_font_in_a_headless_screenshot(tmp_path):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None or fonts.CJK_FONT_PATH is None:
        pytest.skip("needs chromium and the CJK font package")
    from PIL import Image

    # The title is the page's first Korean text; it ends in two syllables.
    context = dict(title="DOVE 전효", version=1, K=1, sigma=0.1, n_docs=1, n_expr=1, embedder="e5",
                   created="today", trained_on=["human"], panels=[], top_codes=1, views=[], files=[],
                   alignment=AlignmentConfig(),
                   codes=[{"name": "전통 · 효도", "usage": 1.0, "size": 1, "named_by": "offline"}])
    chars = fonts.write_cjk_subset(report_template().render(**context, cjk_font=None), tmp_path / CJK_FONT_FILE)
    assert chars
    page = report_template().render(**context, cjk_font=CJK_FONT_FILE, cjk_range=fonts.unicode_range(chars))
    (tmp_path / "index.html").write_text(page, encoding="utf-8")
    shot = tmp_path / "shot.png"
    subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", f"--screenshot={shot}",
                    "--window-size=900,120", (tmp_path / "index.html").as_uri()],
                   cwd=tmp_path, capture_output=True, timeout=120, check=True)
    gray = np.asarray(Image.open(shot).convert("L"))
    rows = np.flatnonzero((gray < 128).any(axis=1))
    title = gray[rows[0]:rows[0] + 40]  # the h1 is the first line of ink
    syllables = _glyphs(title)[-2:]
    assert len(syllables) == 2 and not any(_is_box(g) for g in syllables), "the first Korean text shows boxes"
