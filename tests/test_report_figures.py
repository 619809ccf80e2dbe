"""The report's figures as a reader sees them, measured from matplotlib's artist extents on small
constructed inputs: legends beside the data, not over it; code names inside the plot and with their
value hint whole; K on whole-number ticks."""
from __future__ import annotations

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg

from workbench.report import plots

HINTED = ["good · neighbour · neighbours (≈ benevolence)", "farms · barn · years (≈ tradition)",
          "new · fear · lose (≈ self-direction)", "parents · evening · work (≈ stimulation)",
          "argument · freedom · good (≈ achievement)", "council · say · heard (≈ conformity)"]


@pytest.fixture
def drawn(monkeypatch):
    """The figures the plot functions save, kept open for measuring."""
    figures = []
    save = plots._save
    monkeypatch.setattr(plots, "_save", lambda fig, path: (figures.append(fig), save(fig, path))[1])
    yield figures
    for fig in figures:
        plots.plt.close(fig)


def _extents(fig):
    """A renderer for the saved (and closed) figure, laid out as it was saved."""
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return canvas.get_renderer()


def _corners() -> np.ndarray:
    """Codes at the four corners and the edges' midpoints: where a label or a legend collides."""
    return np.array([[0, 0], [1, 0], [0, 1], [1, 1], [0.5, 1], [1, 0.5]], dtype=float)


def _history_rows() -> list[dict]:
    S = [1.4841, 1.4888, 1.5167, 1.5421, 1.5784]  # the demo's: K 12 → 11, S rising to the top right
    return [{"iteration": t + 1, "S": s, "S_low": s - 0.066, "S_high": s + 0.066, "K": 12 if t == 0 else 11}
            for t, s in enumerate(S)]


def _draw_all(tmp_path) -> None:
    xy = _corners()
    usage = np.array([30.0, 5, 12, 8, 20, 15])
    plots.codebook_map(tmp_path / "map.png", np.random.default_rng(0).random((200, 2)), xy, usage, HINTED)
    plots.document_pair(tmp_path / "pair.png", xy, [{0, 1, 3}, {2, 3, 4, 5}],
                        ["Harbourside", "example-llm@Harbourside"], HINTED)
    plots.history(tmp_path / "history.png", _history_rows())


def test_legends_cover_no_data(drawn, tmp_path):
    """The legends sat inside the axes ("lower right", "best") over points and labels."""
    _draw_all(tmp_path)
    assert len(drawn) == 3
    for fig in drawn:
        renderer = _extents(fig)
        legends = [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None]
        assert legends
        for legend in legends:
            box = legend.get_window_extent(renderer)
            for ax in fig.axes:
                assert not box.overlaps(ax.get_window_extent(renderer)), (fig.axes[0].get_title(), box)


def test_code_names_stay_inside_the_plot(drawn, tmp_path):
    """A name beside a code near the right or top edge ran past the frame."""
    _draw_all(tmp_path)
    for fig in drawn[:2]:
        renderer = _extents(fig)
        ax = fig.axes[0]
        frame = ax.get_window_extent(renderer)
        names = [t for t in ax.texts if t.get_visible()]
        assert len(names) >= 5
        for text in names:
            box = text.get_window_extent(renderer)
            assert frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0 and box.y1 <= frame.y1, \
                (text.get_text(), box, frame)


def test_code_names_never_overprint_each_other(drawn, tmp_path):
    """Names of codes close together on the map overprinted each other (the demo's "money · pay ·
    life" over "fear · jobs · away"): a name goes where it overlaps none placed before it, the
    most used first, and one that fits nowhere is left out."""
    rng = np.random.default_rng(0)
    xy = np.array([[0.0, 0.0], [0.07, 0.01], [0.0, 0.07], [0.08, 0.08], [0.5, 0.5], [0.57, 0.5], [1.0, 1.0]])
    names = [f"{w} · caring · family · neighbours (≈ benevolence)" for w in "abcdefg"]
    usage = np.array([40.0, 30, 20, 10, 25, 15, 5])
    plots.codebook_map(tmp_path / "map.png", rng.random((200, 2)), xy, usage, names, n_labels=7)
    renderer = _extents(drawn[0])
    ax = drawn[0].axes[0]
    shown = [t for t in ax.texts if t.get_visible()]
    boxes = [t.get_window_extent(renderer) for t in shown]
    assert shown[0].get_text().startswith("a · ")  # the most used code keeps its name
    assert len(shown) >= 4, [t.get_text() for t in shown]
    for i, box in enumerate(boxes):
        for j in range(i):
            assert not box.overlaps(boxes[j]), (shown[i].get_text(), shown[j].get_text())


def test_value_hints_are_never_cut(drawn, tmp_path):
    """'(≈ traditi…' named no value: the keywords give way, the hint stays whole."""
    _draw_all(tmp_path)
    plots.distributions(tmp_path / "d.png", {"Harbourside": np.linspace(0.3, 0.05, 6)}, HINTED)
    shown = [t.get_text() for fig in drawn[:2] for t in fig.axes[0].texts]
    shown += [t.get_text() for t in drawn[-1].axes[0].get_yticklabels()]
    assert len(shown) >= 15
    for text in shown:
        assert text.endswith(")") and "(≈ " in text and text.split("(≈ ")[1][:-1] in str(HINTED), text
    assert plots._short("good · neighbour · neighbours (≈ benevolence)", 34) == "good · neighbour … (≈ benevolence)"
    assert plots._short("a name with no hint that is far too long", 20) == "a name with no hint…"
    assert plots._short("short (≈ tradition)", 40) == "short (≈ tradition)"


def test_K_axis_has_whole_number_ticks(drawn, tmp_path):
    """K is a count: the demo's axis read 11.2, 11.4, …"""
    plots.history(tmp_path / "history.png", _history_rows())
    _extents(drawn[0])
    k_axis = drawn[0].axes[1]
    low, high = k_axis.get_ylim()
    ticks = [t for t in k_axis.get_yticks() if low <= t <= high]
    assert ticks and all(float(t).is_integer() for t in ticks), ticks


def test_code_names_keep_off_other_codes_circles_where_there_is_room(drawn, tmp_path):
    """On the demo's map "money · pay · life" ran across another code's ring and "fear · jobs ·
    away" across its: a name goes where it crosses no other circle when such a place exists."""
    xy = np.array([[0.3, 0.5], [0.5, 0.505], [0.9, 0.1], [0.1, 0.9]])  # code 1 sits right of code 0's name
    usage = np.array([40.0, 30, 10, 10])
    names = [f"{w} · caring · family (≈ benevolence)" for w in "abcd"]
    plots.codebook_map(tmp_path / "map.png", np.random.default_rng(0).random((200, 2)), xy, usage, names, n_labels=4)
    renderer = _extents(drawn[0])
    ax = drawn[0].axes[0]
    area = 30 + 3000 * usage / usage.sum()
    from matplotlib.transforms import Bbox

    centres, radii = ax.transData.transform(xy), np.sqrt(area) / 2 * renderer.points_to_pixels(1.0)
    circles = [Bbox([c - r, c + r]) for c, r in zip(centres, radii)]
    shown = {t.get_text()[0]: t.get_window_extent(renderer) for t in ax.texts if t.get_visible()}
    assert set(shown) == set("abcd")
    for k, name in enumerate("abcd"):
        assert not any(shown[name].overlaps(c) for j, c in enumerate(circles) if j != k), name
