"""The build's lines as every interface shows them: one per finished graph node (``workbench
build``'s output and the review screen's progress log), and S(C) = −d̄ + β1·M·H(z|x) − β2·M·Ĥ(z|C)
(Eq. 3/13) as its three terms (``workbench status``, the review screen, the report's history), so
that a rise can be read: from better reconstructions (−d̄) or from flatter posteriors (the β1 term).
"""
from __future__ import annotations

from collections.abc import Callable

from ..formatting import NOT_DEFINED, fmt
from .review import proposed_line

TERMS = ("−d̄", "+β1·M·H(z|x)", "−β2·M·Ĥ(z|C)")  # the column heads of :func:`score_terms`


def score_terms(row: dict, missing: str = NOT_DEFINED) -> list[str]:
    """An iteration's S(C) as its three terms as they enter S (the β2 term ≤ 0), formatted;
    ``missing`` where a row has none (iterations stored before schema v6)."""
    return [fmt(v, 4, missing) for v in (-row["distortion"], row.get("beta1_term"), row.get("beta2_term"))]


def held_out_term(row: dict, missing: str = NOT_DEFINED) -> str:
    """−d̄ on the held-out documents that judge a change (absent under ``em.objective paper``)."""
    held_out = row.get("heldout_distortion")
    return fmt(-held_out if held_out is not None else None, 4, missing)


def score_breakdown(row: dict, interval: bool = False) -> str:
    """"S(C) = 0.41 = −d̄ −0.52 + β1·M·H(z|x) 0.98 − β2·M·Ĥ(z|C) 0.05": one iteration's S(C) as a sum
    (with ``interval``, its bootstrap interval after S(C): "S(C) = 0.41 [0.38, 0.44] = …")."""
    beta2 = row.get("beta2_term")
    ci = f" [{fmt(row.get('S_low'), 4)}, {fmt(row.get('S_high'), 4)}]" if interval else ""
    return (f"S(C) = {fmt(row['S'], 4)}{ci} = −d̄ {fmt(-row['distortion'], 4)} + β1·M·H(z|x) {fmt(row.get('beta1_term'), 4)} "
            f"− β2·M·Ĥ(z|C) {fmt(abs(beta2) if beta2 is not None else None, 4)}")


def held_out_clause(h: dict) -> str:
    """", held-out −d̄ = 0.8950 (kept)": an iteration's reconstruction term on held-out documents and
    whether the change it judged was kept (nothing under ``em.objective paper``)."""
    if h.get("heldout_distortion") is None:
        return ""
    verdict = {1: " (change kept)", 0: " (change not kept)"}.get(h.get("kept"), "")
    return f", held-out −d̄ = {-h['heldout_distortion']:.4f}{verdict}"


def _score_line(v: dict) -> str:
    return ("score: " + ", ".join(f"iteration {h['iteration']}, {score_breakdown(h, interval=True)}"
                                  + held_out_clause(h) + f", K = {h['K']}" for h in v["history"])
            + (f" — change undone: version {v['version']} is the last kept codebook again" if "version" in v else "")
            + (f" — stop: {v['stop_reason']}" if v.get("stop_reason") else ""))


_NODE_LINES: dict[str, Callable[[dict], str]] = {
    "extract": lambda v: f"extract: {v['extract_report']['documents']} new documents, "
                         f"{v['extract_report']['expressions']} expressions",
    "embed": lambda v: f"embed: {v['n_documents']} documents, {v['n_expressions']} expressions",
    "init_codebook": lambda v: f"init_codebook: version {v['version']}",
    "name_codes": lambda v: f"name_codes: {v['named']} codes named",
    "recognize": lambda v: f"recognize: K = {v['K']}, σ = {v['sigma']:.4f}",
    "reconstruct": lambda v: f"reconstruct: {len(v['reconstruction']['docs'])} documents "
                             f"({v['reconstruction']['decoder']})",
    "score": _score_line,
    "propose": proposed_line,
    "review": lambda v: "review: " + ", ".join(f"{d['decision']}" for d in v["decisions"].values()),
    "apply": lambda v: f"apply: codebook version {v['version']}",
    "finalize": lambda v: f"finalize: final version {v['summary']['final_version']}",
    "score_alignment": lambda v: f"score_alignment: {v['alignment']['n_rows']} group × source scores "
                                 f"on version {v['alignment']['version']}",
}


def node_line(node: str, values: dict) -> str:
    """One line for a finished graph node and its update (the node's name alone when it has no line
    or its update lacks what the line shows)."""
    line = _NODE_LINES.get(node)
    try:
        return line(values) if line else node
    except (KeyError, TypeError):
        return node
