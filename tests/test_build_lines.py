"""The build's lines are written once (``workbench/build/lines.py``): the terminal and the TUI's
progress log print the same line for a node, and S(C) reads as the sum of its three terms."""
from __future__ import annotations

import re

from workbench.build import lines
from workbench.report import terminal
from workbench.tui import review_screen

ROW = {"iteration": 2, "version": 5, "K": 7, "S": 0.4125, "S_low": 0.3801, "S_high": 0.4402, "distortion": 0.52,
       "beta1_term": 0.98, "beta2_term": -0.0475, "heldout_distortion": 0.61, "kept": 1}


def test_score_breakdown_adds_up():
    text = lines.score_breakdown(ROW, interval=True)
    assert text.startswith("S(C) = 0.4125 [0.3801, 0.4402] = ")
    d, b1, b2 = (float(x) for x in re.findall(r"(?:−d̄|β1·M·H\(z\|x\)|β2·M·Ĥ\(z\|C\)) (−?-?[\d.]+)", text))
    assert round(d + b1 - b2, 4) == ROW["S"]
    assert lines.score_terms(ROW) == ["-0.5200", "0.9800", "-0.0475"]  # as they enter S: the table's columns
    assert lines.score_terms({"distortion": 0.5}, "—") == ["-0.5000", "—", "—"]  # stored before schema v6


def test_terminal_and_tui_print_one_line(capsys):
    values = {"history": [ROW], "stop_reason": "K stable"}
    line = lines.node_line("score", values)
    assert line == ("score: iteration 2, S(C) = 0.4125 [0.3801, 0.4402] = −d̄ -0.5200 + β1·M·H(z|x) 0.9800 "
                    "− β2·M·Ĥ(z|C) 0.0475, held-out −d̄ = -0.6100 (change kept), K = 7 — stop: K stable")
    terminal.print_node_update("score", values)
    assert capsys.readouterr().out.strip() == f"▸ {line}"
    assert review_screen.node_line is lines.node_line
    assert lines.node_line("recognize", {"K": 3}) == "recognize"  # an update without σ: the node's name
    assert lines.node_line("apply", {"version": 4}) == "apply: codebook version 4"
