"""Terminal tables written to a file or a pipe (`./run demo > log`): full width, every digit kept.
At rich's default 80 columns the build table printed S(C)'s interval as "[1.41… 1.549…"."""
from __future__ import annotations

from types import SimpleNamespace

from workbench.report import terminal


class _Store:
    """The questions print_build_status asks of a project."""

    def __init__(self, rows):
        self.rows = rows

    def iterations(self, thread_id):
        return self.rows

    def build_record(self, thread_id):
        return None

    def versions(self):
        return []

    def build_summary(self, thread_id):
        return {"changes": {"applied": 7}}


def test_piped_build_table_keeps_every_number(capsys):
    rows = [{"iteration": t, "version": t, "K": 11, "S": 1.4841 + t / 100, "S_low": 1.4178 + t / 100,
             "S_high": 1.5499 + t / 100, "distortion": -0.8966, "beta1_term": 1.1273, "beta2_term": -0.5398,
             "sigma": 0.0776, "decoder": "offline-latent-v1"} for t in range(1, 6)]
    status = SimpleNamespace(state="finished", thread_id="build-1", version=5, stop_reason="made T = 4 refinements",
                             llm={})
    terminal.print_build_status(_Store(rows), status)
    out = capsys.readouterr().out
    assert "…" not in out, out
    for r in rows:
        for text in (f"[{r['S_low']:.4f}, {r['S_high']:.4f}]", f"{r['S']:.4f}", "-0.5398", "offline-latent-v1"):
            assert text in out, (text, out)
    assert "build finished: codebook version 5, made T = 4 refinements; changes: 7 applied" in out  # one line
