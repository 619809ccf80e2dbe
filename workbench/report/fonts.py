"""The report's CJK font: Noto Sans CJK from the ``cvttf-NotoSansCJK-Regular`` package (PyPI).

Korean, Chinese and Japanese code names and documents need glyphs that DejaVu Sans (matplotlib's
font) and many machines' browsers lack. When the package is installed, the figures fall back to it
glyph by glyph (:mod:`.plots`) and the HTML report carries a subset of it with just the characters
the page uses (a few hundred kB instead of 16 MB). Without it, :func:`missing_font_note` names the
characters that show as boxes and the package that fixes it.
"""
from __future__ import annotations

import functools
from collections.abc import Iterable
from pathlib import Path

from matplotlib import font_manager
from matplotlib.ft2font import FT2Font

CJK_FONT_PACKAGE = "cvttf-NotoSansCJK-Regular==1.0"


def _cjk_font_path() -> str | None:
    try:
        from cvttf_NotoSansCJK_Regular import get_TTF_path
    except ImportError:
        return None
    return get_TTF_path()


CJK_FONT_PATH = _cjk_font_path()


@functools.cache
def _charmap(path: str) -> frozenset[int]:
    return frozenset(FT2Font(path).get_charmap())


def _latin() -> frozenset[int]:
    return _charmap(font_manager.findfont("DejaVu Sans"))


def missing_font_note(texts: Iterable[str]) -> str | None:
    """A sentence for the reader when characters of ``texts`` (code names) have no glyph in the
    figures' fonts and would show as boxes; None when every character can be drawn."""
    covered = _latin() | (_charmap(CJK_FONT_PATH) if CJK_FONT_PATH else frozenset())
    missing = sorted({ch for text in texts for ch in text if not ch.isspace() and ord(ch) not in covered})
    if not missing:
        return None
    fix = ("no installed font has them" if CJK_FONT_PATH else
           f"install a CJK font for the figures with 'pip install {CJK_FONT_PACKAGE}' and write the report again")
    return (f"{len(missing)} characters of code names ({''.join(missing[:12])}{'…' if len(missing) > 12 else ''}) "
            f"have no glyph in the figures' fonts and show as boxes in the PNGs: {fix}")


def unicode_range(chars: str) -> str:
    """A CSS ``unicode-range`` of exactly ``chars``, consecutive code points joined: "U+AC00-AC01, U+D6A8"."""
    spans: list[list[int]] = []
    for code in sorted({ord(ch) for ch in chars}):
        if spans and code == spans[-1][1] + 1:
            spans[-1][1] = code
        else:
            spans.append([code, code])
    return ", ".join(f"U+{a:04X}" if a == b else f"U+{a:04X}-{b:04X}" for a, b in spans)


def write_cjk_subset(text: str, path: Path) -> str:
    """Write the CJK font reduced to the characters of ``text`` that DejaVu Sans lacks and return
    those characters; "" (and nothing written) when there are none or the font is not installed.

    The page must declare the font with their ``unicode_range`` and list it *first* in
    ``font-family``: listed after the system fonts, Chromium fetches it only when its fallback
    reaches a CJK character, and draws the first CJK text on the page with the last-resort font
    (boxes) before the fetch; a ``--screenshot`` keeps the boxes (found in a headless screenshot;
    a data: URI, preloading, font-display: block and --virtual-time-budget do not help)."""
    if not CJK_FONT_PATH:
        return ""
    cjk = _charmap(CJK_FONT_PATH) - _latin()
    chars = "".join(sorted({ch for ch in text if ord(ch) in cjk}))
    if not chars:
        return ""
    from fontTools import subset

    options = subset.Options()
    font = subset.load_font(CJK_FONT_PATH, options)
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=chars)
    subsetter.subset(font)
    subset.save_font(font, str(path), options)
    return chars
