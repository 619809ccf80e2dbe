"""The report's figures (matplotlib, Agg backend): the codebook map (as Fig. 4), value
distributions per group and source, a document pair in the codebook space (as Fig. 6) and the
run's history. Each function takes arrays, writes one PNG and returns its path.

Code names in Korean, Chinese or Japanese are drawn with the CJK font of :mod:`.fonts`, when
installed, as a per-glyph fallback after DejaVu Sans.
"""
from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib import font_manager  # noqa: E402
from matplotlib.ticker import MaxNLocator, PercentFormatter  # noqa: E402
from matplotlib.transforms import Bbox  # noqa: E402

from .fonts import CJK_FONT_PATH  # noqa: E402

MAP_MAX_POINTS = 6000  # expressions drawn on the map; UMAP cost grows with n
GRAY, BLUE, ORANGE, GREEN = "#b8b8b8", "#2f6db5", "#e08a1e", "#2e9b4f"
if CJK_FONT_PATH:
    font_manager.fontManager.addfont(CJK_FONT_PATH)
    # matplotlib ≥ 3.6 falls back glyph by glyph along this list: Latin from DejaVu, Hangul/Han/Kana from Noto.
    matplotlib.rcParams["font.family"] = ["DejaVu Sans", font_manager.FontProperties(fname=CJK_FONT_PATH).get_name()]


def codebook_layout(expr_emb: np.ndarray, centroids: np.ndarray, seed: int = 0,
                    max_points: int = MAP_MAX_POINTS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """2-D UMAP (cosine, seeded) of expression embeddings and code centroids, fitted together so
    that a centroid lands among its members. Expressions beyond ``max_points`` are subsampled.

    Returns (sampled expression indices (n,), their 2-D points (n, 2), centroid points (K, 2)).
    """
    import umap  # numba compiles on first import: only when a map is drawn

    n, K = expr_emb.shape[0], centroids.shape[0]
    rng = np.random.default_rng(seed)
    idx = np.sort(rng.choice(n, size=max_points, replace=False)) if n > max_points else np.arange(n)
    data = np.vstack([expr_emb[idx], centroids]).astype(np.float32)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*n_jobs value.*overridden.*")
        xy = umap.UMAP(n_components=2, metric="cosine", n_neighbors=max(2, min(15, len(data) - 1)),
                       random_state=seed, n_jobs=1, init="spectral" if len(data) > K + 10 else "random"
                       ).fit_transform(data)
    return idx, xy[: len(idx)], xy[len(idx):]


HINT = re.compile(r"^(?P<head>.*\S)\s+(?P<hint>\([^()]*\))$")  # a name's trailing "(≈ tradition)"


def _cut(text: str, width: int) -> str:
    """``text`` in ``width`` characters: whole " · "-separated keywords while they fit, else cut."""
    if len(text) <= width:
        return text
    words = text.split(" · ")
    while len(words) > 1 and len(" · ".join(words)) + 2 > width:
        words.pop()
    kept = " · ".join(words)
    if len(kept) + 2 <= width:
        return kept + " …"
    cut = text[: width - 1]
    if text[width - 1] != " " and " " in cut[width // 2:]:  # mid-word: back to the last space if one is near
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip() + "…"


def _short(text: str, width: int) -> str:
    """A code name in about ``width`` characters. A trailing hint such as "(≈ tradition)" is kept
    whole (the keywords before it are shortened), since a cut hint ("(≈ traditi…") names no value."""
    if len(text) <= width:
        return text
    m = HINT.match(text)
    if m is None or len(m["hint"]) + 7 > width:
        return _cut(text, width)
    return f"{_cut(m['head'], max(width - len(m['hint']) - 1, 6))} {m['hint']}"


def _save(fig, path: Path) -> Path:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*missing from font.*")  # said once, by fonts.missing_font_note
        fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return path


def _spread_labels(xy: np.ndarray, usage: np.ndarray, n: int, min_gap: float = 0.06) -> list[int]:
    """The most used codes to name, skipping any closer than ``min_gap`` (a fraction of the
    plot's extent) to one already named, so that names in a dense region do not overprint."""
    extent = np.ptp(xy, axis=0).max() if len(xy) > 1 else 1.0
    chosen: list[int] = []
    for k in np.argsort(-usage, kind="stable"):
        if all(np.linalg.norm(xy[k] - xy[j]) >= min_gap * extent for j in chosen):
            chosen.append(int(k))
        if len(chosen) == n:
            break
    return chosen


def _labels_inside(ax, labels: Sequence, obstacles: Sequence = ()) -> None:
    """Place each annotation, in the order given (the most used code first), beside its point where
    it stays inside the axes and overprints no name placed before it: right of the point, else
    left, else the same below the point, else above or under it, centred. ``obstacles``: one
    display-space box per label's own mark followed by other marks (the code circles); a place
    that crosses no mark but the label's own is taken first, else one that crosses only marks
    (a name across another code's ring was hard to read on the demo's map). A name that fits
    nowhere is left out (the report lists every code by name under the map). Names are
    shortened to at most 40 characters, under half these plots' width, so one side always has
    room at an edge."""
    fig = ax.figure
    fig.canvas.draw()  # settles the limits and the layout the extents are measured in
    renderer = fig.canvas.get_renderer()
    frame = ax.get_window_extent(renderer)
    boxes = [box(renderer) for box in obstacles]
    placed: list = []
    for i, label in enumerate(labels):
        dx, dy = (abs(v) for v in label.xyann)
        others = [b for j, b in enumerate(boxes) if j != i]
        fallback = None
        for ha, va, offset in (("left", "bottom", (dx, dy)), ("right", "bottom", (-dx, dy)),
                               ("left", "top", (dx, -dy)), ("right", "top", (-dx, -dy)),
                               ("center", "bottom", (0, dx)), ("center", "top", (0, -dx))):
            label.set_horizontalalignment(ha)
            label.set_verticalalignment(va)
            label.xyann = offset
            box = label.get_window_extent(renderer)
            inside = frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0 and box.y1 <= frame.y1
            if not inside or any(box.overlaps(other) for other in placed):
                continue
            if not any(box.overlaps(other) for other in others):
                fallback = None
                break
            fallback = fallback or (ha, va, offset)
        else:
            if fallback is None:
                label.set_visible(False)
                continue
            ha, va, label.xyann = fallback
            label.set_horizontalalignment(ha)
            label.set_verticalalignment(va)
        placed.append(label.get_window_extent(renderer))


def _legend_below(ax, handles: Sequence, ncol: int = 2) -> None:
    """The legend under the axes, where it cannot cover a point or a label."""
    ax.legend(handles=handles, fontsize=8, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.02), ncol=ncol)


def _ring(colour: str, label: str, size: float = 7) -> plt.Line2D:
    return plt.Line2D([], [], marker="o", ls="", mfc="none", mec=colour, ms=size, label=label)


def codebook_map(path: Path, expr_xy: np.ndarray, code_xy: np.ndarray, usage: np.ndarray,
                 names: Sequence[str], n_labels: int = 12, title: str = "") -> Path:
    """Gray points: value expressions; blue circles: codes, area ∝ usage n_k; up to ``n_labels``
    of the most used codes are named, spread apart (Fig. 4)."""
    fig, ax = plt.subplots(figsize=(9, 7))
    ax.scatter(expr_xy[:, 0], expr_xy[:, 1], s=4, c=GRAY, alpha=0.5, linewidths=0)
    share = usage / usage.sum() if usage.sum() > 0 else np.full(len(usage), 1 / max(len(usage), 1))
    area = 30 + 3000 * share  # points²
    ax.scatter(code_xy[:, 0], code_xy[:, 1], s=area, facecolors="none", edgecolors=BLUE, linewidths=1.2)
    named = _spread_labels(code_xy, usage, n_labels)
    labels = [ax.annotate(_short(names[k], 40), code_xy[k], fontsize=8, color="#1c3f6e",
                          xytext=(np.sqrt(area[k]) / 2 + 2, 2), textcoords="offset points")  # beside the circle
              for k in named]
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title or f"codebook map: {len(names)} codes, {len(expr_xy):,} expressions (2-D UMAP)")
    _legend_below(ax, [plt.Line2D([], [], marker="o", ls="", mfc=GRAY, mec="none", ms=3, label="value expressions"),
                       _ring(BLUE, "value codes (area ∝ usage)")])
    circles = [_circle_box(ax, code_xy[k], area[k]) for k in [*named, *(k for k in range(len(names)) if k not in named)]]
    _labels_inside(ax, labels, circles)
    return _save(fig, path)


def _circle_box(ax, xy: np.ndarray, area: float):
    """The display-space box of a scatter circle of ``area`` points² at data point ``xy``, measured
    when called with a renderer (after the layout has settled)."""

    def box(renderer):
        x, y = ax.transData.transform(xy)
        radius = np.sqrt(area) / 2 * renderer.points_to_pixels(1.0)
        return Bbox([[x - radius, y - radius], [x + radius, y + radius]])
    return box


def distributions(path: Path, histograms: dict[str, np.ndarray], names: Sequence[str], top: int = 8) -> Path:
    """One panel per group/source: its ``top`` codes by share of the value distribution a (Sec. 3.3),
    every panel on the same x-scale so that bars compare across panels."""
    labels = list(histograms)
    top = min(top, len(names))
    xmax = max(float(np.max(a)) for a in histograms.values()) * 1.05 or 1.0
    ncols = min(3, len(labels))
    nrows = int(np.ceil(len(labels) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(5.2 * ncols, 0.32 * top * nrows + 1.2 * nrows), squeeze=False)
    for ax, label in zip(axes.ravel(), labels):
        a = histograms[label]
        order = np.argsort(-a, kind="stable")[:top][::-1]
        ax.barh(range(len(order)), a[order], color=BLUE)
        ax.set_yticks(range(len(order)), [_short(names[k], 40) for k in order], fontsize=8)
        ax.set_title(label, fontsize=10)
        ax.set_xlim(0, xmax)
        ax.set_xlabel("share of value mass", fontsize=8)
        # a few ticks, as percentages: a narrow panel's "0.000 0.025 …" ran together
        ax.xaxis.set_major_locator(MaxNLocator(nbins=4))
        ax.xaxis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=None))
        ax.tick_params(axis="x", labelsize=7)
    for ax in axes.ravel()[len(labels):]:
        ax.axis("off")
    fig.suptitle(f"value distributions: top {top} codes of each group and source", fontsize=11)
    fig.tight_layout()
    return _save(fig, path)


def document_pair(path: Path, code_xy: np.ndarray, active: Sequence[set[int]], titles: Sequence[str],
                  names: Sequence[str]) -> Path:
    """Codes two documents activate in the codebook space (Fig. 6): gray = not activated,
    blue / orange = only the first / second document, green = both."""
    fig, ax = plt.subplots(figsize=(7, 6))
    first, second = (set(active[0]), set(active[1]) if len(active) > 1 else set())
    both = first & second
    colour = [GREEN if k in both else BLUE if k in first else ORANGE if k in second else GRAY
              for k in range(len(code_xy))]
    size = [90 if c != GRAY else 25 for c in colour]
    ax.scatter(code_xy[:, 0], code_xy[:, 1], s=size, facecolors="none", edgecolors=colour, linewidths=1.5)
    labels = [ax.annotate(_short(names[k], 36), code_xy[k], fontsize=7, xytext=(4, 3), textcoords="offset points")
              for k in sorted(first | second)]
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title("value codes activated by two documents", fontsize=10)
    _legend_below(ax, [_ring(c, t) for c, t in
                       [(BLUE, f"only {titles[0]}"), (ORANGE, f"only {titles[1] if len(titles) > 1 else '—'}"),
                        (GREEN, "both (matched)"), (GRAY, "not activated")]])
    _labels_inside(ax, labels)
    return _save(fig, path)


def history(path: Path, iterations: Sequence[dict]) -> Path:
    """S(C) with its bootstrap interval and K per iteration of Algorithm 1."""
    t = [r["iteration"] for r in iterations]
    fig, ax = plt.subplots(figsize=(7, 3.6))
    ax.plot(t, [r["S"] for r in iterations], "o-", color=BLUE, label="S(C)")
    ax.fill_between(t, [r["S_low"] for r in iterations], [r["S_high"] for r in iterations], color=BLUE, alpha=0.2,
                    label="95% CI")
    ax.set_xlabel("iteration t")
    ax.set_ylabel("S(C)")
    ax2 = ax.twinx()
    ax2.plot(t, [r["K"] for r in iterations], "s--", color=ORANGE, label="K")
    ax2.set_ylabel("K (codes)")
    ax2.yaxis.set_major_locator(MaxNLocator(integer=True))  # K is a count: no 11.2 codes
    ax.set_xticks(t)
    ax.set_title("codebook score and size per iteration", fontsize=10)
    # below the x label: "best" inside the axes still covered the first points of S and K
    handles, labels = (a + b for a, b in zip(ax.get_legend_handles_labels(), ax2.get_legend_handles_labels()))
    ax.legend(handles, labels, fontsize=8, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=3)
    fig.tight_layout()
    return _save(fig, path)
