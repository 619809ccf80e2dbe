"""DOVE's codebook loop (Sec. 3.2, Algorithm 1) as a LangGraph state machine:

extract → embed → init_codebook → name_codes →
    [recognize → reconstruct → score → propose → review → apply → name_codes]* → finalize →
    score_alignment (Sec. 3.3: the group × source alignment table of the final codebook)
"""
from __future__ import annotations

from langgraph.graph import END, START, StateGraph

from workbench.build.context import BuildContext

from . import nodes
from .state import BuildState


def _after_score(state: BuildState) -> str:
    return "finalize" if state.get("stop_reason") else "propose"


def _after_propose(state: BuildState) -> str:
    return "review" if state.get("proposal_ids") else "finalize"


def build_graph() -> StateGraph:
    g = StateGraph(BuildState, context_schema=BuildContext)
    for name, node in nodes.NODES.items():
        g.add_node(name, node)
    g.add_edge(START, "extract")
    g.add_edge("extract", "embed")
    g.add_edge("embed", "init_codebook")
    g.add_edge("init_codebook", "name_codes")
    g.add_edge("name_codes", "recognize")
    g.add_edge("recognize", "reconstruct")
    g.add_edge("reconstruct", "score")
    g.add_conditional_edges("score", _after_score, ["propose", "finalize"])
    g.add_conditional_edges("propose", _after_propose, ["review", "finalize"])
    g.add_edge("review", "apply")
    g.add_edge("apply", "name_codes")
    g.add_edge("finalize", "score_alignment")
    g.add_edge("score_alignment", END)
    return g


# For LangGraph Studio (langgraph.json); the CLI compiles with the project's checkpointer.
graph = build_graph().compile()
